/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark suite (xcv_bench): shared helpers and the benchmark entry points.
 *
 * Every benchmark is a function that does a given number of buffers, tokens or round trips (the
 * runner picks it so that a run lasts about 0.2 s) and returns one figure in nanoseconds (per
 * buffer, per token or per round trip), or a negative value when it failed. The runner
 * (bench_main.c) interleaves them with the peers and with a cache-line probe, and prints the
 * medians and ratios.
 *
 * Placement: the two CPUs used are BENCH_CPU_A (driver, producer, "guest") and BENCH_CPU_B
 * (device, consumer, "host").
 */
#ifndef XCV_BENCH_H
#define XCV_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BENCH_CPU_A 0
#define BENCH_CPU_B 1
#define BENCH_LINE 64u

/* ---- helpers (bench_util.c) ---- */

/* CLOCK_MONOTONIC in ns. */
uint64_t bench_now_ns(void);

/* Pin the calling thread to @p cpu; 0 or -1. */
int bench_pin_self(int cpu);

/* Spin-loop body: a compiler barrier, or a pause instruction when bench_relax is set. */
extern bool bench_relax;
static inline void bench_spin(void)
{
    if (bench_relax) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield" ::: "memory");
#else
        __asm__ __volatile__("" ::: "memory");
#endif
    } else {
        __asm__ __volatile__("" ::: "memory");
    }
}

/*
 * Run @p a on BENCH_CPU_A and @p b on BENCH_CPU_B (threads created pinned), both with @p arg,
 * and wait for both. Returns 0, or -1 when a thread could not be created.
 */
int bench_run_pair(void *(*a)(void *), void *(*b)(void *), void *arg);

/* Both threads of a pair call this once; it returns when both arrived. */
void bench_barrier(_Atomic unsigned *count);

/* Median of @p n values (the array is sorted in place); 0 for n == 0. */
double bench_median(double *v, unsigned n);

/* ---- B0 floors (bench_floor.c) ---- */

/*
 * Cache-line round trip between two pinned threads: each round trip moves one line there and
 * back. @p rounds in batches of @p batch; returns the median batch mean, ns per round trip.
 */
double bench_cacheline_threads(unsigned rounds, unsigned batch);

/* The probe: a short bench_cacheline_threads (about 1 ms to 5 ms). */
double bench_probe(void);

/* Ideal SPSC ring of 8-byte tokens, 256 slots, indices published every @p batch: ns/token. */
double bench_spsc(uint64_t tokens, unsigned batch);

/* ---- B1/B2 ours (bench_ring.c) ---- */

/* The ring under test: split, split with VIRTIO_F_IN_ORDER, or packed. */
enum bench_ring {
    BENCH_RING_SPLIT,
    BENCH_RING_IN_ORDER,
    BENCH_RING_PACKED
};

/* Polled throughput: ring of @p qsize, 1-segment buffers, publish every @p batch: ns/buffer. */
double bench_vring_stream(uint64_t buffers, unsigned qsize, unsigned batch, enum bench_ring ring);

/* Polled round trip with one buffer in flight: ns per round trip (median of batches). */
double bench_vring_rtt(unsigned rounds, unsigned batch, enum bench_ring ring);

/* Both roles in one thread (no sharing, instruction cost only), publish every @p batch. */
double bench_vring_single(uint64_t buffers, unsigned batch);

/* ---- two processes (bench_proc.c) ---- */

/* Fork the helper process (device side, pinned to BENCH_CPU_B) and connect to it. */
int bench_proc_start(void);
/* Stop the helper process. */
void bench_proc_stop(void);
/* Cache-line round trip between this process and the helper (shared memory). */
double bench_proc_cacheline(unsigned rounds, unsigned batch);
/* Raw eventfd round trip (write, poll, read on each side): median ns. */
double bench_proc_eventfd(unsigned rounds);
/* Notified round trip through the channel and a virtqueue with EVENT_IDX: median ns. */
double bench_proc_notified(unsigned rounds);
/* Doorbells rung by each side during the last bench_proc_notified call (per round trip). */
void bench_proc_notified_stats(double *driver_kicks, double *device_calls);

#endif /* XCV_BENCH_H */
