/* SPDX-License-Identifier: Apache-2.0 */
/*
 * B0, the hardware floor between two pinned threads: the cache-line round trip (also used as
 * the placement probe) and an ideal single-producer single-consumer ring of 8-byte tokens.
 */
#include <stdlib.h>

#include "bench.h"

/* ---- cache-line round trip ---- */

struct cl_ctx {
    _Alignas(BENCH_LINE) _Atomic uint64_t line; /* the only shared line */
    _Alignas(BENCH_LINE) _Atomic unsigned ready;
    unsigned rounds;
    unsigned batch;
    double *samples; /* ns per round trip, one per batch */
};

/* Thread A starts each round trip (odd values) and times it. */
static void *cl_a(void *arg)
{
    struct cl_ctx *c = arg;
    bench_barrier(&c->ready);
    uint64_t v = 0;
    for (unsigned b = 0; b < c->rounds / c->batch; b++) {
        uint64_t t0 = bench_now_ns();
        for (unsigned i = 0; i < c->batch; i++) {
            atomic_store_explicit(&c->line, ++v, memory_order_release);
            ++v;
            while (atomic_load_explicit(&c->line, memory_order_acquire) != v)
                bench_spin();
        }
        c->samples[b] = (double)(bench_now_ns() - t0) / c->batch;
    }
    return NULL;
}

/* Thread B answers each odd value with the next even one. */
static void *cl_b(void *arg)
{
    struct cl_ctx *c = arg;
    bench_barrier(&c->ready);
    uint64_t v = 0;
    uint64_t n = (uint64_t)(c->rounds / c->batch) * c->batch;
    for (uint64_t i = 0; i < n; i++) {
        ++v;
        while (atomic_load_explicit(&c->line, memory_order_acquire) != v)
            bench_spin();
        atomic_store_explicit(&c->line, ++v, memory_order_release);
    }
    return NULL;
}

double bench_cacheline_threads(unsigned rounds, unsigned batch)
{
    static struct cl_ctx c; /* aligned; one pair at a time */
    unsigned nb = rounds / batch;
    if (batch == 0u || nb == 0u)
        return -1.0;
    c.samples = calloc(nb, sizeof(double));
    if (c.samples == NULL)
        return -1.0;
    atomic_store(&c.line, 0);
    atomic_store(&c.ready, 0u);
    c.rounds = rounds;
    c.batch = batch;
    double r = -1.0;
    if (bench_run_pair(cl_a, cl_b, &c) == 0)
        r = bench_median(c.samples, nb);
    free(c.samples);
    return r;
}

double bench_probe(void)
{
    return bench_cacheline_threads(4000, 200);
}

/* ---- ideal SPSC ring of 8-byte tokens ---- */

#define SPSC_SLOTS 256u

struct spsc_ctx {
    _Alignas(BENCH_LINE) _Atomic uint64_t prod; /* producer writes */
    _Alignas(BENCH_LINE) _Atomic uint64_t cons; /* consumer writes */
    _Alignas(BENCH_LINE) uint64_t slot[SPSC_SLOTS];
    _Alignas(BENCH_LINE) _Atomic unsigned ready;
    uint64_t tokens;
    unsigned batch;
    uint64_t t0, t1;
    uint64_t sum;
};

/* Producer: caches the consumer index; publishes every batch, or when the ring is full. */
static void *spsc_prod(void *arg)
{
    struct spsc_ctx *c = arg;
    bench_barrier(&c->ready);
    c->t0 = bench_now_ns();
    uint64_t head = 0, tail_cache = 0, pub = 0;
    while (head < c->tokens) {
        if (head - tail_cache == SPSC_SLOTS) {
            if (pub != head) {
                atomic_store_explicit(&c->prod, head, memory_order_release);
                pub = head;
            }
            while ((tail_cache = atomic_load_explicit(&c->cons, memory_order_acquire)) +
                       SPSC_SLOTS ==
                   head)
                bench_spin();
        }
        c->slot[head % SPSC_SLOTS] = head + 1u;
        head++;
        if (head - pub >= c->batch || head == c->tokens) {
            atomic_store_explicit(&c->prod, head, memory_order_release);
            pub = head;
        }
    }
    return NULL;
}

/* Consumer: caches the producer index; publishes every batch, or when it runs dry. */
static void *spsc_cons(void *arg)
{
    struct spsc_ctx *c = arg;
    bench_barrier(&c->ready);
    uint64_t tail = 0, head_cache = 0, pub = 0, sum = 0;
    while (tail < c->tokens) {
        if (tail == head_cache) {
            if (pub != tail) {
                atomic_store_explicit(&c->cons, tail, memory_order_release);
                pub = tail;
            }
            while ((head_cache = atomic_load_explicit(&c->prod, memory_order_acquire)) == tail)
                bench_spin();
        }
        sum += c->slot[tail % SPSC_SLOTS];
        tail++;
        if (tail - pub >= c->batch) {
            atomic_store_explicit(&c->cons, tail, memory_order_release);
            pub = tail;
        }
    }
    c->t1 = bench_now_ns();
    c->sum = sum;
    return NULL;
}

double bench_spsc(uint64_t tokens, unsigned batch)
{
    static struct spsc_ctx c;
    if (tokens == 0u || batch == 0u || batch > SPSC_SLOTS)
        return -1.0;
    atomic_store(&c.prod, 0);
    atomic_store(&c.cons, 0);
    atomic_store(&c.ready, 0u);
    c.tokens = tokens;
    c.batch = batch;
    if (bench_run_pair(spsc_prod, spsc_cons, &c) != 0)
        return -1.0;
    if (c.sum != tokens * (tokens + 1u) / 2u)
        return -1.0; /* lost or duplicated token */
    return (double)(c.t1 - c.t0) / (double)tokens;
}
