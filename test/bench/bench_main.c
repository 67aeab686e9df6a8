/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_bench: the benchmark suite, side by side with the peers and the hardware floor.
 *
 *   B0  floor: cache-line round trip (threads, processes), raw eventfd round trip between two
 *       processes, an ideal SPSC ring of 8-byte tokens (batch 1 and 32)
 *   B1  polled ring throughput, ns per buffer: ours vs Linux tools/virtio/ringtest
 *   B2  polled round trip, one buffer in flight: ours vs ringtest and vs the cache-line probe
 *   B3  notified round trip between two processes (eventfd doorbells, channel, EVENT_IDX) vs
 *       the raw eventfd round trip over the same eventfds
 *
 * Method (the host moves the vCPUs between placements every few seconds): every run is short
 * (about 0.2 s: its length follows the speed of the previous run of the same benchmark, since
 * the slowest placement is ten times slower than the fastest), all benchmarks and peers run in
 * one interleaved sequence per round
 * (reversed on odd rounds so each pair alternates A B / B A), and a cache-line probe runs before
 * and after every run. A run whose two probes fall in the same placement bucket is "stable";
 * ratios are formed only between runs of the same round that are stable in the same bucket, and
 * the table reports medians of those paired ratios, per bucket and over all buckets.
 *
 * ringtest is optional: pass the folder where scripts/bench.sh built it (--ringtest DIR). It
 * prints nothing, so it is timed from outside with a fixed number of buffers (--run-cycles)
 * minus the time of a 1-buffer run (process start, thread creation).
 *
 * Usage: xcv_bench [--rounds N] [--scale F] [--ringtest DIR] [--relax] [--raw FILE]
 *                  [--buckets LO,HI] [--only LIST] [--quick] [--single N] [--row TEXT]...
 *                  [--probe]
 * Prints figures; the exit status reports only whether every run completed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define MAX_ROUNDS 64
#define NBUCKETS 3

enum job_kind {
    JOB_CL_THREADS,
    JOB_CL_PROC,
    JOB_EFD,
    JOB_SPSC,
    JOB_STREAM,
    JOB_RTT,
    JOB_STREAM_PACKED,
    JOB_RTT_PACKED,
    JOB_STREAM_IN_ORDER,
    JOB_RTT_IN_ORDER,
    JOB_NOTIFIED,
    JOB_RINGTEST
};

struct job {
    const char *id;
    const char *what;
    const char *unit;
    enum job_kind kind;
    uint64_t count;   /* buffers, tokens or round trips (before --scale) */
    unsigned batch;   /* publish batch (stream, spsc) or timing batch (round trips) */
    const char *prog; /* ringtest binary */
    bool outstanding1;
    bool enabled;
    double overhead_ns; /* ringtest: time of a 1-buffer run */
    double last;        /* figure of the last successful run (sets the next run's length) */
    double val[MAX_ROUNDS];
    double pb[MAX_ROUNDS], pa[MAX_ROUNDS]; /* probes before and after */
    bool ok[MAX_ROUNDS];
};

/* A benchmark of ours or a floor; a ringtest binary (ns per buffer, or per RTT with o1). */
#define JOB(i, w, u, k, n, b)                                                                      \
    {                                                                                              \
        .id = (i), .what = (w), .unit = (u), .kind = (k), .count = (n), .batch = (b)               \
    }
#define RT(i, w, u, n, p, o1)                                                                      \
    {                                                                                              \
        .id = (i), .what = (w), .unit = (u), .kind = JOB_RINGTEST, .count = (n), .prog = (p),      \
        .outstanding1 = (o1)                                                                       \
    }

static struct job g_jobs[] = {
    /* B0 */
    JOB("b0.cl_thr", "cache-line RTT, 2 threads", "ns/RTT", JOB_CL_THREADS, 100000, 500),
    JOB("b0.cl_proc", "cache-line RTT, 2 processes", "ns/RTT", JOB_CL_PROC, 100000, 500),
    JOB("b0.spsc1", "ideal SPSC ring, batch 1", "ns/token", JOB_SPSC, 4000000, 1),
    JOB("b0.spsc32", "ideal SPSC ring, batch 32", "ns/token", JOB_SPSC, 8000000, 32),
    /* B1: ours next to each peer */
    JOB("b1.ours32", "ours, batch 32", "ns/buf", JOB_STREAM, 1000000, 32),
    RT("b1.rt09", "ringtest virtio_ring_0_9", "ns/buf", 1000000, "virtio_ring_0_9", false),
    JOB("b1.ours1", "ours, batch 1", "ns/buf", JOB_STREAM, 1000000, 1),
    RT("b1.rtinorder", "ringtest virtio_ring_inorder", "ns/buf", 1000000, "virtio_ring_inorder",
       false),
    RT("b1.rtring", "ringtest ring", "ns/buf", 1000000, "ring", false),
    JOB("b1.oursp32", "ours packed, batch 32", "ns/buf", JOB_STREAM_PACKED, 1000000, 32),
    JOB("b1.oursio32", "ours in order, batch 32", "ns/buf", JOB_STREAM_IN_ORDER, 1000000, 32),
    /* B2 */
    JOB("b2.ours", "ours, 1 in flight", "ns/RTT", JOB_RTT, 200000, 500),
    RT("b2.rt09", "ringtest virtio_ring_0_9 --outstanding 1", "ns/RTT", 200000, "virtio_ring_0_9",
       true),
    RT("b2.rtinorder", "ringtest virtio_ring_inorder --outstanding 1", "ns/RTT", 200000,
       "virtio_ring_inorder", true),
    RT("b2.rtring", "ringtest ring --outstanding 1", "ns/RTT", 200000, "ring", true),
    JOB("b2.oursp", "ours packed, 1 in flight", "ns/RTT", JOB_RTT_PACKED, 200000, 500),
    JOB("b2.oursio", "ours in order, 1 in flight", "ns/RTT", JOB_RTT_IN_ORDER, 200000, 500),
    /* B3 */
    JOB("b3.ours", "ours, notified RTT (channel, EVENT_IDX)", "ns/RTT", JOB_NOTIFIED, 2000, 0),
    JOB("b0.efd", "raw eventfd RTT, 2 processes", "ns/RTT", JOB_EFD, 2000, 0),
};
#define NJOBS (sizeof(g_jobs) / sizeof(g_jobs[0]))

/* A comparison: ours / peer, or ours / the probe when peer is NULL. */
struct cmp {
    const char *group;
    const char *what;
    const char *ours;
    const char *peer; /* NULL: the cache-line probe around the same run */
    double target;    /* 0: none */
};

static const struct cmp g_cmps[] = {
    {"B1", "polled stream, ring 256: ours batch 32 / ringtest 0_9", "b1.ours32", "b1.rt09", 0.5},
    {"B1", "ours batch 1 / ringtest 0_9", "b1.ours1", "b1.rt09", 0.0},
    {"B1", "ours batch 32 / ringtest inorder", "b1.ours32", "b1.rtinorder", 0.0},
    {"B1", "ours batch 32 / ringtest ring", "b1.ours32", "b1.rtring", 0.0},
    {"B1", "ours batch 32 / ideal SPSC batch 32", "b1.ours32", "b0.spsc32", 0.0},
    {"B1", "ours packed batch 32 / ringtest 0_9", "b1.oursp32", "b1.rt09", 0.5},
    {"B1", "ours packed batch 32 / ringtest ring", "b1.oursp32", "b1.rtring", 0.0},
    {"B1", "ours in order batch 32 / ringtest 0_9", "b1.oursio32", "b1.rt09", 0.5},
    {"B1", "ours in order batch 32 / ringtest inorder", "b1.oursio32", "b1.rtinorder", 0.0},
    {"B2", "1 in flight: ours / cache-line probe", "b2.ours", NULL, 2.5},
    {"B2", "ours / ringtest 0_9 --outstanding 1", "b2.ours", "b2.rt09", 0.0},
    {"B2", "ours / ringtest inorder --outstanding 1", "b2.ours", "b2.rtinorder", 0.0},
    {"B2", "ours / ringtest ring --outstanding 1", "b2.ours", "b2.rtring", 0.0},
    {"B2", "packed, 1 in flight: ours / cache-line probe", "b2.oursp", NULL, 2.5},
    {"B2", "ours packed / ringtest ring --outstanding 1", "b2.oursp", "b2.rtring", 0.0},
    {"B2", "in order, 1 in flight: ours / cache-line probe", "b2.oursio", NULL, 2.5},
    {"B2", "ours in order / ringtest inorder --outstanding 1", "b2.oursio", "b2.rtinorder", 0.0},
    {"B3", "notified RTT: ours / raw eventfd", "b3.ours", "b0.efd", 1.1},
    {"B0", "cache-line RTT: processes / threads", "b0.cl_proc", "b0.cl_thr", 0.0},
};
#define NCMPS (sizeof(g_cmps) / sizeof(g_cmps[0]))

static struct {
    unsigned rounds;
    double scale;
    const char *ringtest;
    const char *raw;
    const char *only;
    double lo, hi; /* bucket limits of the probe, ns */
    uint64_t single;
    bool probe_only;
    const char *rows[24]; /* --row: lines printed at the end of the table (e.g. code size) */
    unsigned nrows;
} g_opt = {.rounds = 12, .scale = 1.0, .lo = 60.0, .hi = 200.0};

static bool g_proc_up;

/* ---- ringtest ---- */

/* Run one ringtest binary; returns the wall time in ns, or -1. */
static double rt_spawn(const struct job *j, uint64_t cycles)
{
    char path[4096], cyc[32];
    snprintf(path, sizeof(path), "%s/%s", g_opt.ringtest, j->prog);
    snprintf(cyc, sizeof(cyc), "%llu", (unsigned long long)cycles);
    char *argv[12];
    int n = 0;
    argv[n++] = path;
    argv[n++] = "--guest-affinity";
    argv[n++] = "0";
    argv[n++] = "--host-affinity";
    argv[n++] = "1";
    argv[n++] = "--run-cycles";
    argv[n++] = cyc;
    if (j->outstanding1) {
        argv[n++] = "--outstanding";
        argv[n++] = "1";
    }
    if (bench_relax)
        argv[n++] = "--relax";
    argv[n] = NULL;
    pid_t pid;
    uint64_t t0 = bench_now_ns();
    if (posix_spawn(&pid, path, NULL, NULL, argv, environ) != 0)
        return -1.0;
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1.0;
    uint64_t t1 = bench_now_ns();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1.0;
    return (double)(t1 - t0);
}

/*
 * How many buffers, tokens or round trips the next run of @p j does: enough for about
 * RUN_NS * scale at the speed of its previous run, so that a run stays well under a second in
 * every placement (the slowest placement is ten times slower than the fastest). The first run
 * uses the job's default count, shortened in proportion when the probe is slower than 100 ns.
 */
#define RUN_NS 200e6

static uint64_t run_count(const struct job *j, double probe)
{
    double n;
    if (j->last > 0.0)
        n = RUN_NS * g_opt.scale / j->last;
    else
        n = (double)j->count * g_opt.scale * (probe > 100.0 ? 100.0 / probe : 1.0);
    double lo = 10000.0, hi = 50e6;
    switch (j->kind) {
    case JOB_CL_THREADS:
    case JOB_CL_PROC:
    case JOB_RTT:
    case JOB_RTT_PACKED:
    case JOB_RTT_IN_ORDER:
        lo = 8.0 * j->batch;
        hi = 4096.0 * j->batch; /* samples kept per run */
        break;
    case JOB_EFD:
    case JOB_NOTIFIED:
        lo = 200.0;
        hi = 65536.0;
        break;
    default:
        break;
    }
    if (n < lo)
        n = lo;
    if (n > hi)
        n = hi;
    return (uint64_t)n;
}

static double run_job(struct job *j, uint64_t n)
{
    switch (j->kind) {
    case JOB_CL_THREADS:
        return bench_cacheline_threads((unsigned)n, j->batch);
    case JOB_CL_PROC:
        return bench_proc_cacheline((unsigned)n, j->batch);
    case JOB_EFD:
        return bench_proc_eventfd((unsigned)n);
    case JOB_NOTIFIED:
        return bench_proc_notified((unsigned)n);
    case JOB_SPSC:
        return bench_spsc(n, j->batch);
    case JOB_STREAM:
        return bench_vring_stream(n, 256, j->batch, BENCH_RING_SPLIT);
    case JOB_RTT:
        return bench_vring_rtt((unsigned)n, j->batch, BENCH_RING_SPLIT);
    case JOB_STREAM_PACKED:
        return bench_vring_stream(n, 256, j->batch, BENCH_RING_PACKED);
    case JOB_RTT_PACKED:
        return bench_vring_rtt((unsigned)n, j->batch, BENCH_RING_PACKED);
    case JOB_STREAM_IN_ORDER:
        return bench_vring_stream(n, 256, j->batch, BENCH_RING_IN_ORDER);
    case JOB_RTT_IN_ORDER:
        return bench_vring_rtt((unsigned)n, j->batch, BENCH_RING_IN_ORDER);
    case JOB_RINGTEST: {
        double t = rt_spawn(j, n);
        if (t < 0.0)
            return -1.0;
        return (t - j->overhead_ns) / (double)n;
    }
    }
    return -1.0;
}

static int bucket_of(double probe)
{
    return probe < g_opt.lo ? 0 : probe < g_opt.hi ? 1 : 2;
}

static bool stable(const struct job *j, unsigned r, int *b)
{
    if (!j->ok[r])
        return false;
    int b0 = bucket_of(j->pb[r]), b1 = bucket_of(j->pa[r]);
    *b = b0;
    return b0 == b1;
}

static struct job *find_job(const char *id)
{
    for (size_t i = 0; i < NJOBS; i++)
        if (strcmp(g_jobs[i].id, id) == 0)
            return &g_jobs[i];
    return NULL;
}

static bool selected(const char *id)
{
    if (g_opt.only == NULL)
        return true;
    /* --only takes a comma-separated list of id prefixes, e.g. "b0,b1.ours" */
    const char *p = g_opt.only;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (len != 0u && strncmp(id, p, len) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

/* ---- the table ---- */

static void fmt_val(char *buf, size_t n, double v)
{
    if (v <= 0.0)
        snprintf(buf, n, "-");
    else if (v >= 10000.0)
        snprintf(buf, n, "%.2f us", v / 1000.0);
    else
        snprintf(buf, n, "%.1f ns", v);
}

static const char *g_bucket_name[NBUCKETS] = {"near", "mid", "far"};
static double g_bucket_probe[NBUCKETS]; /* median probe seen in each bucket */

static void print_row(const char *grp, const char *what, const char *place, unsigned n, double a,
                      double b, double ratio, double target)
{
    char va[32], vb[32], vr[32], vt[32];
    fmt_val(va, sizeof(va), a);
    fmt_val(vb, sizeof(vb), b);
    if (ratio > 0.0)
        snprintf(vr, sizeof(vr), "%.2fx", ratio);
    else
        snprintf(vr, sizeof(vr), "-");
    if (target > 0.0 && ratio > 0.0)
        snprintf(vt, sizeof(vt), "<=%.2gx %s", target, ratio <= target ? "met" : "MISSED");
    else if (target > 0.0)
        snprintf(vt, sizeof(vt), "<=%.2gx", target);
    else
        vt[0] = '\0';
    printf("%-3s %-54s %-12s %3u %11s %11s %7s  %s\n", grp, what, place, n, va, vb, vr, vt);
}

static void place_name(char *buf, size_t n, int b)
{
    if (b < 0)
        snprintf(buf, n, "all");
    else
        snprintf(buf, n, "%s~%.0fns", g_bucket_name[b], g_bucket_probe[b]);
}

/* One comparison, per bucket and over all buckets. */
static void report_cmp(const struct cmp *c)
{
    struct job *a = find_job(c->ours);
    struct job *p = c->peer != NULL ? find_job(c->peer) : NULL;
    if (a == NULL || !a->enabled || (c->peer != NULL && (p == NULL || !p->enabled)))
        return;
    for (int bsel = -1; bsel < NBUCKETS; bsel++) {
        double ra[MAX_ROUNDS], va[MAX_ROUNDS], vp[MAX_ROUNDS];
        unsigned n = 0;
        for (unsigned r = 0; r < g_opt.rounds; r++) {
            int ba, bp;
            if (!stable(a, r, &ba) || (bsel >= 0 && ba != bsel))
                continue;
            double peer;
            if (p != NULL) {
                if (!stable(p, r, &bp) || bp != ba)
                    continue;
                peer = p->val[r];
            } else {
                peer = (a->pb[r] + a->pa[r]) / 2.0;
            }
            if (peer <= 0.0)
                continue;
            va[n] = a->val[r];
            vp[n] = peer;
            ra[n] = a->val[r] / peer;
            n++;
        }
        if (n == 0u)
            continue;
        char pl[32];
        place_name(pl, sizeof(pl), bsel);
        print_row(bsel < 0 ? c->group : "", bsel < 0 ? c->what : "", pl, n, bench_median(va, n),
                  bench_median(vp, n), bench_median(ra, n), c->target);
    }
}

/* A single figure (floors and information rows), per bucket and over all. */
static void report_single(const char *grp, struct job *j)
{
    if (!j->enabled)
        return;
    for (int bsel = -1; bsel < NBUCKETS; bsel++) {
        double v[MAX_ROUNDS];
        unsigned n = 0;
        for (unsigned r = 0; r < g_opt.rounds; r++) {
            int b;
            if (stable(j, r, &b) && (bsel < 0 || b == bsel))
                v[n++] = j->val[r];
        }
        if (n == 0u)
            continue;
        char pl[32], what[80];
        place_name(pl, sizeof(pl), bsel);
        snprintf(what, sizeof(what), "%s (%s)", j->what, j->unit);
        print_row(bsel < 0 ? grp : "", bsel < 0 ? what : "", pl, n, bench_median(v, n), 0.0, 0.0,
                  0.0);
    }
}

static void report(void)
{
    /* Name the buckets by the median probe seen in each. */
    for (int b = 0; b < NBUCKETS; b++) {
        double v[2 * MAX_ROUNDS * NJOBS];
        unsigned n = 0;
        for (size_t i = 0; i < NJOBS; i++)
            for (unsigned r = 0; r < g_opt.rounds; r++)
                if (g_jobs[i].ok[r]) {
                    if (bucket_of(g_jobs[i].pb[r]) == b)
                        v[n++] = g_jobs[i].pb[r];
                    if (bucket_of(g_jobs[i].pa[r]) == b)
                        v[n++] = g_jobs[i].pa[r];
                }
        g_bucket_probe[b] = bench_median(v, n);
    }
    printf("\n%-3s %-54s %-12s %3s %11s %11s %7s  %s\n", "", "benchmark", "placement", "n", "ours",
           "peer", "ratio", "target");
    printf("%s\n", "----------------------------------------------------------------------"
                   "-----------------------------------------------------");
    report_single("B0", find_job("b0.cl_thr"));
    report_single("", find_job("b0.cl_proc"));
    report_single("", find_job("b0.efd"));
    report_single("", find_job("b0.spsc1"));
    report_single("", find_job("b0.spsc32"));
    for (size_t i = 0; i < NCMPS; i++)
        report_cmp(&g_cmps[i]);
    for (unsigned i = 0; i < g_opt.nrows; i++)
        printf("%s\n", g_opt.rows[i]);
    printf("\nours/peer columns: medians over the n rounds where both runs were stable in that "
           "placement;\nratio: median of the per-round ratios (paired), not the ratio of the "
           "medians.\nplacement: bucket of the cache-line probe (thread RTT) taken before and "
           "after each run\n(near < %.0f ns <= mid < %.0f ns <= far).\n",
           g_opt.lo, g_opt.hi);
}

static void usage(void)
{
    fprintf(stderr, "usage: xcv_bench [--rounds N] [--scale F] [--ringtest DIR] [--relax] "
                    "[--raw FILE] [--buckets LO,HI] [--only ID,...] [--quick] [--single N] "
                    "[--row TEXT]... [--probe]\n");
}

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--relax") == 0) {
            bench_relax = true;
            continue;
        }
        if (strcmp(a, "--probe") == 0) {
            g_opt.probe_only = true;
            continue;
        }
        if (strcmp(a, "--quick") == 0) {
            g_opt.rounds = 2;
            g_opt.scale = 0.05;
            continue;
        }
        if (strcmp(a, "--help") == 0 || v == NULL) {
            usage();
            return -1;
        }
        i++;
        if (strcmp(a, "--rounds") == 0)
            g_opt.rounds = (unsigned)strtoul(v, NULL, 0);
        else if (strcmp(a, "--scale") == 0)
            g_opt.scale = atof(v);
        else if (strcmp(a, "--ringtest") == 0)
            g_opt.ringtest = v;
        else if (strcmp(a, "--raw") == 0)
            g_opt.raw = v;
        else if (strcmp(a, "--only") == 0)
            g_opt.only = v;
        else if (strcmp(a, "--row") == 0 && g_opt.nrows < 24u)
            g_opt.rows[g_opt.nrows++] = v;
        else if (strcmp(a, "--single") == 0)
            g_opt.single = strtoull(v, NULL, 0);
        else if (strcmp(a, "--buckets") == 0) {
            if (sscanf(v, "%lf,%lf", &g_opt.lo, &g_opt.hi) != 2 || g_opt.lo >= g_opt.hi)
                return -1;
        } else {
            usage();
            return -1;
        }
    }
    if (g_opt.rounds == 0u || g_opt.rounds > MAX_ROUNDS || !(g_opt.scale > 0.0)) {
        fprintf(stderr, "xcv_bench: rounds 1..%d, scale > 0\n", MAX_ROUNDS);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse(argc, argv) != 0)
        return 2;

    /* For scripts timing other programs: one probe (ns per cache-line round trip), then exit. */
    if (g_opt.probe_only) {
        double p = bench_probe();
        printf("%.1f\n", p);
        return p > 0.0 ? 0 : 1;
    }
    /* For profiling (e.g. valgrind --tool=callgrind): both roles in one thread, then exit. */
    if (g_opt.single != 0u) {
        double v1 = bench_vring_single(g_opt.single, 1);
        double v32 = bench_vring_single(g_opt.single, 32);
        printf("single thread, both roles: %.1f ns/buf (batch 1), %.1f ns/buf (batch 32)\n", v1,
               v32);
        return v1 > 0.0 && v32 > 0.0 ? 0 : 1;
    }

    bool need_proc = false;
    for (size_t i = 0; i < NJOBS; i++) {
        struct job *j = &g_jobs[i];
        j->enabled = selected(j->id) && (j->kind != JOB_RINGTEST || g_opt.ringtest != NULL);
        if (j->enabled && (j->kind == JOB_CL_PROC || j->kind == JOB_EFD || j->kind == JOB_NOTIFIED))
            need_proc = true;
    }
    /* The helper process is forked before any thread exists. */
    if (need_proc) {
        if (bench_proc_start() != 0) {
            fprintf(stderr, "xcv_bench: two-process benchmarks unavailable\n");
            bench_proc_stop();
            for (size_t i = 0; i < NJOBS; i++)
                if (g_jobs[i].kind == JOB_CL_PROC || g_jobs[i].kind == JOB_EFD ||
                    g_jobs[i].kind == JOB_NOTIFIED)
                    g_jobs[i].enabled = false;
        } else {
            g_proc_up = true;
        }
    } else {
        (void)bench_pin_self(BENCH_CPU_A);
    }

    printf("xcv_bench: %u rounds, scale %.3g, spin %s, CPUs %d and %d, ringtest %s\n", g_opt.rounds,
           g_opt.scale, bench_relax ? "pause" : "barrier", BENCH_CPU_A, BENCH_CPU_B,
           g_opt.ringtest != NULL ? g_opt.ringtest : "(not given: skipped)");

    /* ringtest: the fixed cost of a run (process start, threads), median of 7 1-buffer runs. */
    for (size_t i = 0; i < NJOBS; i++) {
        struct job *j = &g_jobs[i];
        if (!j->enabled || j->kind != JOB_RINGTEST)
            continue;
        double t[7];
        unsigned k = 0;
        for (; k < 7u; k++) {
            t[k] = rt_spawn(j, 1);
            if (t[k] < 0.0)
                break;
        }
        if (k < 7u) {
            fprintf(stderr, "xcv_bench: cannot run %s/%s; skipped\n", g_opt.ringtest, j->prog);
            j->enabled = false;
            continue;
        }
        j->overhead_ns = bench_median(t, 7);
    }

    FILE *raw = NULL;
    if (g_opt.raw != NULL) {
        raw = fopen(g_opt.raw, "w");
        if (raw != NULL)
            fprintf(raw, "round,job,count,value_ns,probe_before_ns,probe_after_ns\n");
    }
    int failures = 0;
    for (unsigned r = 0; r < g_opt.rounds; r++) {
        double probe = bench_probe();
        for (size_t k = 0; k < NJOBS; k++) {
            size_t i = (r % 2u) ? NJOBS - 1u - k : k; /* A B ... / ... B A */
            struct job *j = &g_jobs[i];
            if (!j->enabled)
                continue;
            j->pb[r] = probe;
            uint64_t n = run_count(j, probe);
            double v = run_job(j, n);
            probe = bench_probe();
            j->pa[r] = probe;
            j->val[r] = v;
            j->ok[r] = v > 0.0 && j->pb[r] > 0.0 && probe > 0.0;
            if (v > 0.0)
                j->last = v;
            if (!j->ok[r]) {
                failures++;
                fprintf(stderr, "xcv_bench: round %u: %s failed\n", r, j->id);
            }
            if (raw != NULL)
                fprintf(raw, "%u,%s,%llu,%.2f,%.2f,%.2f\n", r, j->id, (unsigned long long)n, v,
                        j->pb[r], j->pa[r]);
        }
        fprintf(stderr, "round %u/%u done\n", r + 1u, g_opt.rounds);
    }
    if (raw != NULL)
        fclose(raw);
    if (g_proc_up) {
        double kicks, calls;
        bench_proc_notified_stats(&kicks, &calls);
        printf("B3 doorbells per round trip (last run): driver %.2f, device %.2f\n", kicks, calls);
        bench_proc_stop();
    }
    report();
    return failures == 0 ? 0 : 1;
}
