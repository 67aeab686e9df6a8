/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark helpers: clock, pinning, thread pairs, medians. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

bool bench_relax;

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0 ? 0 : -1;
}

static int start_pinned(pthread_t *t, int cpu, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_attr_init(&attr) != 0)
        return -1;
    (void)pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    int r = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return r == 0 ? 0 : -1;
}

int bench_run_pair(void *(*a)(void *), void *(*b)(void *), void *arg)
{
    pthread_t ta, tb;
    if (start_pinned(&tb, BENCH_CPU_B, b, arg) != 0)
        return -1;
    if (start_pinned(&ta, BENCH_CPU_A, a, arg) != 0) {
        pthread_cancel(tb);
        pthread_join(tb, NULL);
        return -1;
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    return 0;
}

void bench_barrier(_Atomic unsigned *count)
{
    atomic_fetch_add(count, 1u);
    while (atomic_load_explicit(count, memory_order_acquire) < 2u)
        bench_spin();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, unsigned n)
{
    if (n == 0u)
        return 0.0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2u ? v[n / 2u] : (v[n / 2u - 1u] + v[n / 2u]) / 2.0;
}
