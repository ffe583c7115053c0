// How long a sleeping thread takes to wake: a thread pinned to CPU 1 waits on a condition variable; a
// thread on CPU 0 signals it after an idle spell of 0, 1, 5, 20 and 100 ms and spins until the sleeper
// has written the time it woke; prints each of 15 wake-ups per spell in µs. On a quiet machine they are
// tens of µs. On a virtual machine whose host gives an idle virtual core's time away, many take
// milliseconds — which is why blasnet's workers spin through the short gaps of training instead of
// sleeping (docs/performance.md, 2026-12-04).
//   gcc -O2 -pthread scripts/wake_latency.c -o /tmp/wake-latency && /tmp/wake-latency
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t condition = PTHREAD_COND_INITIALIZER;
static int generation = 0;
static atomic_long woke;

static long nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *sleeper(void *unused) {
    (void)unused;
    pin(1);
    int seen = 0;
    for (;;) {
        pthread_mutex_lock(&mutex);
        while (generation == seen) pthread_cond_wait(&condition, &mutex);
        seen = generation;
        pthread_mutex_unlock(&mutex);
        atomic_store(&woke, nanoseconds());
    }
    return NULL;
}

int main(void) {
    pin(0);
    pthread_t thread;
    pthread_create(&thread, NULL, sleeper, NULL);
    const int spells[] = {0, 1, 5, 20, 100};
    for (int s = 0; s < 5; s++) {
        printf("idle %3d ms, wake-up µs:", spells[s]);
        for (int round = 0; round < 15; round++) {
            usleep(spells[s] * 1000);
            atomic_store(&woke, 0);
            long signalled = nanoseconds();
            pthread_mutex_lock(&mutex);
            generation++;
            pthread_cond_signal(&condition);
            pthread_mutex_unlock(&mutex);
            while (atomic_load(&woke) == 0) {}
            printf(" %ld", (atomic_load(&woke) - signalled) / 1000);
        }
        printf("\n");
    }
    return 0;
}
