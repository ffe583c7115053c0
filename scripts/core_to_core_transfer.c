// How long 32 KB takes to cross between CPU 0 and CPU 1, the way blasnet's two-thread step moves its data:
// two threads, pinned one to each CPU, take turns; on its turn a thread reads the 32 KB the other just wrote
// and writes 32 KB of its own, then hands the turn over. Prints the mean time of a round (both turns) and
// that of the same reads and writes done by one thread alone, where nothing crosses. The difference is what
// moving 2 × 32 KB between the cores costs. On the Zen 4 host of docs/performance.md (2026-12-04, evening)
// a round took ~16 µs in most minutes and ~32 µs in the host's slow spells, while the single cache line of
// scripts/cache_line_round_trip.c still read 60–80 ns; the spells are when blasnet's two threads gain least.
//   gcc -O2 -pthread scripts/core_to_core_transfer.c -o /tmp/core-transfer && /tmp/core-transfer
// The argument is the number of rounds (default 20000, a fifth of a second or more).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { floats = 8192 };  // 32 KB per buffer

static float buffers[2][floats] __attribute__((aligned(64)));
static _Atomic int turn __attribute__((aligned(64)));
static _Atomic int ready;
static double started;
static int rounds = 20000;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// One turn: read what the other side wrote, write this side's buffer.
static void work(int side) {
    const float *other = buffers[1 - side];
    float *own = buffers[side];
    for (int i = 0; i < floats; i++) own[i] = other[i] * 0.5f + 1.0f;
}

static void *take_turns(void *argument) {
    int side = (int)(long)argument;
    pin(side);
    // Both threads up and pinned before the clock starts: thread creation is not part of a round.
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < 2) {}
    if (side == 0) started = now();
    for (int round = 0; round < rounds; round++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != side) __builtin_ia32_pause();
        work(side);
        atomic_store_explicit(&turn, 1 - side, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]);
    if (rounds < 1) rounds = 1;
    pthread_t threads[2];
    for (long side = 0; side < 2; side++) pthread_create(&threads[side], NULL, take_turns, (void *)side);
    for (int side = 0; side < 2; side++) pthread_join(threads[side], NULL);
    double crossing = (now() - started) / rounds;
    pin(0);
    double start = now();
    for (int round = 0; round < rounds; round++) {
        work(0);
        work(1);
    }
    double alone = (now() - start) / rounds;
    float check = buffers[0][floats - 1] + buffers[1][floats - 1];  // keeps the loops from being dropped
    printf("32 KB hand-off CPU 0 <-> CPU 1: %.1f us per round (both turns); one thread, same work: %.1f us%s\n",
           crossing * 1e6, alone * 1e6, check == check ? "" : " (nan)");
    return 0;
}
