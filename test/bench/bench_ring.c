/* SPDX-License-Identifier: Apache-2.0 */
/*
 * B1 and B2, ours: the split (in order or not) or packed virtqueue polled by two pinned threads
 * over one window, with every check of both roles in place (the device validates each chain and
 * translates its address through the window; the driver validates each used entry against its
 * shadow).
 *
 * The driver thread (BENCH_CPU_A) posts 1-segment device-writable buffers of 64 bytes and
 * publishes every `batch` adds (or when the ring is full); it reclaims every used buffer. The
 * device thread (BENCH_CPU_B) pops, pushes with length 0 and publishes every `batch` pushes
 * (or when the ring runs dry). Neither side touches the data bytes (nor does ringtest).
 */
#include <stdio.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "bench.h"

#define QMAX 1024u
#define BUF_BYTES 64u
#define BUS_BASE UINT64_C(0x100000)
#define RING_AREA XCV_VRING_BYTES(QMAX, BENCH_LINE)
#define DATA_OFF XCV_ALIGN_UP(RING_AREA, 4096u)
#define WIN_BYTES (DATA_OFF + (size_t)QMAX * BUF_BYTES)

static _Alignas(4096) uint8_t g_win[WIN_BYTES];

struct vr_ctx {
    _Alignas(BENCH_LINE) struct xcv_vq_driver drv; /* driver thread only */
    struct xcv_vq_drv_slot dslots[QMAX];
    uint64_t t0, t1;
    double *samples;
    _Alignas(BENCH_LINE) struct xcv_vq_device dev; /* device thread only */
    struct xcv_vq_dev_slot vslots[QMAX];
    struct xcv_iov iov[4];
    struct xcv_chain chain;
    struct xcv_window win;
    struct xcv_memmap mm;
    _Alignas(BENCH_LINE) _Atomic unsigned ready;
    _Atomic bool stop; /* set on an unexpected error so the other side does not spin forever */
    int err;
    uint64_t count;
    unsigned qsize;
    unsigned batch;  /* publish batch of both sides */
    unsigned tbatch; /* round trips per timing sample */
    unsigned mask;
};

static struct vr_ctx g_vr;
static char g_token; /* every buffer carries this non-NULL token */

static void vr_fail(struct vr_ctx *c, int err)
{
    if (c->err == 0)
        c->err = err;
    atomic_store(&c->stop, true);
}

static bool vr_stopped(struct vr_ctx *c)
{
    return atomic_load_explicit(&c->stop, memory_order_relaxed);
}

static int vr_setup(struct vr_ctx *c, unsigned qsize, unsigned batch, uint64_t count,
                    enum bench_ring ring)
{
    bool packed = ring == BENCH_RING_PACKED;
    struct xcv_vring_layout lay;
    memset(g_win, 0, DATA_OFF);
    int r = packed ? xcv_vring_packed_layout(g_win, BUS_BASE, qsize, BENCH_LINE, &lay)
                   : xcv_vring_layout(g_win, BUS_BASE, qsize, BENCH_LINE, &lay);
    if (r != XCV_OK)
        return r;
    uint64_t feat =
        XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
        (packed ? XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) : UINT64_C(0)) |
        (ring == BENCH_RING_IN_ORDER ? XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER) : UINT64_C(0));
    struct xcv_vq_driver_config dc = {.ring = &lay, .slots = c->dslots, .features = feat};
    r = xcv_vq_driver_init(&c->drv, &dc);
    if (r != XCV_OK)
        return r;
    r = xcv_window_init(&c->win, g_win, BUS_BASE, WIN_BYTES);
    if (r != XCV_OK)
        return r;
    c->mm.windows = &c->win;
    c->mm.count = 1;
    struct xcv_vq_device_config vc = {.mem = &c->mm,
                                      .num = (uint16_t)qsize,
                                      .desc_bus = lay.desc_bus,
                                      .avail_bus = lay.avail_bus,
                                      .used_bus = lay.used_bus,
                                      .features = feat,
                                      .max_chain = 4,
                                      .slots = c->vslots};
    r = xcv_vq_device_init(&c->dev, &vc);
    if (r != XCV_OK)
        return r;
    c->chain.iov = c->iov;
    c->chain.cap = 4;
    atomic_store(&c->ready, 0u);
    atomic_store(&c->stop, false);
    c->err = 0;
    c->count = count;
    c->qsize = qsize;
    c->batch = batch;
    c->mask = qsize - 1u;
    return XCV_OK;
}

static inline int vr_add(struct vr_ctx *c, uint64_t seq)
{
    struct xcv_sg sg = {BUS_BASE + DATA_OFF + (uint64_t)(seq & c->mask) * BUF_BYTES, BUF_BYTES};
    return xcv_vq_driver_add(&c->drv, &sg, 0, 1, &g_token);
}

/* Reclaim every used buffer; returns how many, or -1 on an error. */
static inline long vr_reap(struct vr_ctx *c)
{
    long n = 0;
    for (;;) {
        void *tok;
        uint32_t len;
        int r = xcv_vq_driver_get_used(&c->drv, &tok, &len);
        if (r == XCV_EAGAIN)
            return n;
        if (r != XCV_OK || tok != &g_token) {
            vr_fail(c, r != XCV_OK ? r : XCV_EPROTO_USED_ID);
            return -1;
        }
        n++;
    }
}

/* The device side of both benchmarks: pop, push, publish every batch or when dry. */
static void *vr_device(void *arg)
{
    struct vr_ctx *c = arg;
    bench_barrier(&c->ready);
    uint64_t done = 0;
    while (done < c->count && !vr_stopped(c)) {
        unsigned k = 0;
        for (;;) {
            int r = xcv_vq_device_pop(&c->dev, &c->chain);
            if (r == XCV_EAGAIN)
                break;
            if (r == XCV_OK)
                r = xcv_vq_device_push(&c->dev, c->chain.head, 0);
            if (r != XCV_OK) {
                vr_fail(c, r);
                return NULL;
            }
            done++;
            if (++k == c->batch) {
                (void)xcv_vq_device_publish(&c->dev);
                k = 0;
            }
        }
        if (k != 0u)
            (void)xcv_vq_device_publish(&c->dev);
        else
            bench_spin();
    }
    return NULL;
}

static void *vr_driver_stream(void *arg)
{
    struct vr_ctx *c = arg;
    bench_barrier(&c->ready);
    c->t0 = bench_now_ns();
    uint64_t sent = 0, done = 0;
    while (done < c->count && !vr_stopped(c)) {
        unsigned n = 0;
        while (sent < c->count && n < c->batch) {
            int r = vr_add(c, sent);
            if (r == XCV_ENOSPC)
                break;
            if (r != XCV_OK) {
                vr_fail(c, r);
                return NULL;
            }
            sent++;
            n++;
        }
        if (n != 0u)
            (void)xcv_vq_driver_publish(&c->drv);
        long got = vr_reap(c);
        if (got < 0)
            return NULL;
        done += (uint64_t)got;
        if (n == 0u && got == 0)
            bench_spin();
    }
    c->t1 = bench_now_ns();
    return NULL;
}

double bench_vring_stream(uint64_t buffers, unsigned qsize, unsigned batch, enum bench_ring ring)
{
    struct vr_ctx *c = &g_vr;
    if (qsize > QMAX || batch == 0u || vr_setup(c, qsize, batch, buffers, ring) != XCV_OK)
        return -1.0;
    if (bench_run_pair(vr_driver_stream, vr_device, c) != 0 || c->err != 0) {
        fprintf(stderr, "bench_vring_stream: %s\n", xcv_strerror(c->err));
        return -1.0;
    }
    return (double)(c->t1 - c->t0) / (double)buffers;
}

/* One buffer in flight: add, publish, spin on the used ring. Timed in batches. */
static void *vr_driver_rtt(void *arg)
{
    struct vr_ctx *c = arg;
    bench_barrier(&c->ready);
    uint64_t seq = 0;
    for (uint64_t b = 0; b < c->count / c->tbatch && !vr_stopped(c); b++) {
        uint64_t t0 = bench_now_ns();
        for (unsigned i = 0; i < c->tbatch; i++) {
            int r = vr_add(c, seq++);
            if (r != XCV_OK) {
                vr_fail(c, r);
                return NULL;
            }
            (void)xcv_vq_driver_publish(&c->drv);
            long got;
            while ((got = vr_reap(c)) == 0 && !vr_stopped(c))
                bench_spin();
            if (got != 1) {
                vr_fail(c, got < 0 ? c->err : XCV_EPROTO_USED_IDX);
                return NULL;
            }
        }
        c->samples[b] = (double)(bench_now_ns() - t0) / c->tbatch;
    }
    return NULL;
}

double bench_vring_rtt(unsigned rounds, unsigned batch, enum bench_ring ring)
{
    static double samples[4096];
    struct vr_ctx *c = &g_vr;
    unsigned nb = batch != 0u ? rounds / batch : 0u;
    if (nb == 0u || nb > 4096u || vr_setup(c, 256, 1, (uint64_t)nb * batch, ring) != XCV_OK)
        return -1.0;
    c->tbatch = batch;
    c->samples = samples;
    if (bench_run_pair(vr_driver_rtt, vr_device, c) != 0 || c->err != 0) {
        fprintf(stderr, "bench_vring_rtt: %s\n", xcv_strerror(c->err));
        return -1.0;
    }
    return bench_median(samples, nb);
}

double bench_vring_single(uint64_t buffers, unsigned batch)
{
    struct vr_ctx *c = &g_vr;
    if (batch == 0u || vr_setup(c, 256, batch, buffers, false) != XCV_OK)
        return -1.0;
    uint64_t t0 = bench_now_ns();
    uint64_t sent = 0, done = 0;
    while (done < buffers) {
        unsigned n = 0;
        while (sent < buffers && n < batch && vr_add(c, sent) == XCV_OK) {
            sent++;
            n++;
        }
        (void)xcv_vq_driver_publish(&c->drv);
        while (xcv_vq_device_pop(&c->dev, &c->chain) == XCV_OK)
            if (xcv_vq_device_push(&c->dev, c->chain.head, 0) != XCV_OK)
                return -1.0;
        (void)xcv_vq_device_publish(&c->dev);
        long got = vr_reap(c);
        if (got <= 0)
            return -1.0;
        done += (uint64_t)got;
    }
    return (double)(bench_now_ns() - t0) / (double)buffers;
}
