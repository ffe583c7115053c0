// How much multiply-add throughput the host gives two threads at once, against one: each round runs
// one thread on CPU 0 for 0.1 s, then one on CPU 0 and one on CPU 1 together for 0.1 s, every thread
// issuing independent fused multiply-adds as fast as the cores take them, and prints the one-thread
// GFLOP/s and (both threads' sum) ÷ (one thread's). On a quiet two-core machine that ratio is ~2; on a
// virtual machine whose host runs the two virtual cores on one physical core's two hyperthreads, or
// lends their time to other guests, it falls towards 1 — and so does any two-thread speed-up of work
// that keeps the multiply-add units busy, as blasnet's products at batch 256 do. Rounds differ when the
// host changes its placement between them (docs/performance.md, 2026-12-04).
//   gcc -O2 -pthread scripts/two_core_fma_throughput.c -o /tmp/fma-throughput && /tmp/fma-throughput 20
// Needs AVX-512 F (the whole 512-bit width in use); the argument is the number of rounds (default 10).
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { chains = 24 };  // independent accumulators: enough to cover the FMA latency on both pipes

static atomic_int start;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

struct worker { int cpu; double gflops; };

__attribute__((target("avx512f"))) static void *multiply_add(void *argument) {
    struct worker *worker = argument;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(worker->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    while (!atomic_load(&start)) {}
    __m512 accumulators[chains];
    for (int i = 0; i < chains; i++) accumulators[i] = _mm512_set1_ps(i * 0.001f);
    const __m512 factor = _mm512_set1_ps(0.9999f), term = _mm512_set1_ps(1e-5f);
    double began = now();
    long rounds = 0;
    while (now() - began < 0.1) {
        for (int r = 0; r < 10000; r++) {
#pragma GCC unroll 24
            for (int i = 0; i < chains; i++) accumulators[i] = _mm512_fmadd_ps(accumulators[i], factor, term);
        }
        rounds += 10000;
    }
    double seconds = now() - began;
    float sink = 0;
    for (int i = 0; i < chains; i++) sink += _mm512_reduce_add_ps(accumulators[i]);
    worker->gflops = rounds * chains * 16 * 2 / seconds / 1e9 + (sink == 12345.0f ? 1e-9 : 0);  // keeps the sums live
    return NULL;
}

static void run(struct worker *workers, int count) {
    pthread_t threads[2];
    atomic_store(&start, 0);
    for (int i = 0; i < count; i++) pthread_create(&threads[i], NULL, multiply_add, &workers[i]);
    atomic_store(&start, 1);
    for (int i = 0; i < count; i++) pthread_join(threads[i], NULL);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "two_core_fma_throughput: this CPU has no AVX-512 F\n");
        return 1;
    }
    printf("round  one thread GFLOP/s  two threads / one\n");
    for (int round = 1; round <= rounds; round++) {
        struct worker one[1] = {{0, 0}}, two[2] = {{0, 0}, {1, 0}};
        run(one, 1);
        run(two, 2);
        printf("%5d  %18.0f  %17.2f\n", round, one[0].gflops, (two[0].gflops + two[1].gflops) / one[0].gflops);
    }
    return 0;
}
