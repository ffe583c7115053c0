// How long one cache line takes to go from CPU 0 to CPU 1 and back: two threads, pinned one to each,
// hand a flag back and forth 200,000 times; prints the mean round trip. On a virtual machine it tells
// whether the host has put the two virtual cores on one chiplet (~120 ns on the Zen 5 host of
// docs/performance.md) or on two (~500 ns) — which decides how well blasnet's two-thread step scales.
// It can read normal while bulk transfers are slow: scripts/core_to_core_transfer.c times those.
//   gcc -O2 -pthread scripts/cache_line_round_trip.c -o /tmp/round-trip && /tmp/round-trip
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static _Atomic int flag __attribute__((aligned(64)));
enum { rounds = 200000 };

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *unused) {
    (void)unused;
    pin(1);
    for (int i = 0; i < rounds; i++) {
        while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {}
        atomic_store_explicit(&flag, 0, memory_order_release);
    }
    return NULL;
}

int main(void) {
    pin(0);
    pthread_t thread;
    pthread_create(&thread, NULL, answer, NULL);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < rounds; i++) {
        atomic_store_explicit(&flag, 1, memory_order_release);
        while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {}
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    pthread_join(thread, NULL);
    double nanoseconds = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("cache line round trip CPU 0 <-> CPU 1: %.0f ns\n", nanoseconds / rounds);
    return 0;
}
