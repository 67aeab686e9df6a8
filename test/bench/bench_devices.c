/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device benchmarks, both roles in one process over one window (no doorbell cost): virtio-blk
 * over the memory backend, 4 KiB random reads (IOPS) and 128 KiB sequential reads and writes
 * (MB/s) at queue depth 16; virtio-net 64-byte frames in bursts of 32, driver -> device (into
 * a counting backend), device -> driver, and a forwarding loop (the device reflects every
 * transmitted frame into a receive buffer with one copy, the driver forwards every received
 * frame in place); ns per frame, both roles on one thread: the instruction cost of the path,
 * without any cache-line transfer. Prints figures; never fails on time.
 *
 * Instruction counts per frame: valgrind --tool=callgrind bench_devices --net-only (per role:
 * the inclusive costs of xcv_net_dev_run and of the xcv_net_drv_* calls, divided by the frames)
 */
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include <xcvirtio/dev_blk.h>
#include <xcvirtio/dev_net.h>

#include "devices/dev_fixture.h"

#define DISK_BYTES (64u << 20)
#define QD 16u

static uint8_t disk[DISK_BYTES];
static struct xcv_blk_mem mem = {disk, DISK_BYTES};
static struct xcv_blk_dev bdev;
static struct xcv_blk_drv bdrv;
static struct xcv_net_dev ndev;
static struct xcv_net_drv ndrv;
static struct xcv_net_dev nloop;
static struct xcv_net_drv nloop_drv;
static uint64_t net_sunk;

#define NET_BURST 32u
#define NET_FRAME 64u
#define NET_LOOP_FRAMES 64u /* circulating in the loop; fewer than the receive buffers posted */

static double secs(uint64_t a, uint64_t b)
{
    return (double)(b - a) / 1e9;
}

/* Run @total requests of @segs 4 KiB segments each at depth QD; returns elapsed ns. */
static uint64_t run(uint32_t type, unsigned total, unsigned segs, int random)
{
    static struct xcv_blk_req req[QD];
    static struct xcv_sg sg[QD][32];
    for (unsigned i = 0; i < QD; i++) {
        for (unsigned s = 0; s < segs; s++) {
            if (xcv_pool_alloc(&fx.pool, &sg[i][s].addr) == NULL)
                abort();
            sg[i][s].len = 4096;
        }
        req[i].user = (void *)(uintptr_t)i;
    }
    uint64_t cap_units = xcv_blk_drv_capacity(&bdrv) / (8u * segs);
    uint64_t seq = 0;
    uint32_t rnd = 12345;
    unsigned issued = 0, done = 0;
    uint64_t t0 = fx_now(NULL);
    for (unsigned i = 0; i < QD && issued < total; i++, issued++) {
        uint64_t unit = random ? (rnd = rnd * 1103515245u + 12345u) % cap_units : seq++ % cap_units;
        if (xcv_blk_drv_submit(&bdrv, &req[i], type, unit * 8u * segs, sg[i], segs) != XCV_OK)
            abort();
    }
    (void)xcv_blk_drv_kick(&bdrv);
    while (done < total) {
        (void)xcv_channel_poll(&fx.vch, 64);
        struct xcv_blk_req *r;
        unsigned resubmitted = 0;
        while (xcv_blk_drv_complete(&bdrv, &r) == XCV_OK) {
            if (r->result != XCV_OK)
                abort();
            done++;
            if (issued < total) {
                unsigned i = (unsigned)(uintptr_t)r->user;
                uint64_t unit =
                    random ? (rnd = rnd * 1103515245u + 12345u) % cap_units : seq++ % cap_units;
                if (xcv_blk_drv_submit(&bdrv, r, type, unit * 8u * segs, sg[i], segs) != XCV_OK)
                    abort();
                issued++;
                resubmitted++;
            }
        }
        if (resubmitted != 0u)
            (void)xcv_blk_drv_kick(&bdrv);
    }
    uint64_t t1 = fx_now(NULL);
    for (unsigned i = 0; i < QD; i++)
        for (unsigned s = 0; s < segs; s++)
            (void)xcv_pool_free(&fx.pool, xcv_pool_local(&fx.pool, sg[i][s].addr));
    return t1 - t0;
}

static int net_count(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                     unsigned n, uint32_t len)
{
    (void)ctx;
    (void)hdr;
    if (n == 0u || iov[0].len < 14u || len != NET_FRAME)
        abort();
    net_sunk++;
    return XCV_OK;
}

static const struct xcv_net_backend_ops net_count_ops = {.transmit = net_count};

/* The loop's reflector: keeps each transmitted frame's pointer (valid until transmit_done) and
 * delivers the burst back into the driver's receive buffers at its end. */
static struct xcv_net_frame loop_inflight[NET_BURST];
static unsigned loop_n;

static int loop_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                         unsigned n, uint32_t len)
{
    (void)ctx;
    (void)hdr;
    if (n != 1u || len != NET_FRAME || loop_n == NET_BURST)
        abort();
    loop_inflight[loop_n++] = (struct xcv_net_frame){.data = iov[0].base, .len = len};
    return XCV_OK;
}

static void loop_done(void *ctx)
{
    (void)ctx;
    unsigned k = loop_n;
    loop_n = 0;
    if (k != 0u && xcv_net_dev_deliver_burst(&nloop, loop_inflight, k) != (int)k)
        abort(); /* the driver keeps more receive buffers posted than frames circulate */
}

static const struct xcv_net_backend_ops net_loop_ops = {.transmit = loop_transmit,
                                                        .transmit_done = loop_done};

/* @frames 64-byte frames driver -> device in bursts; returns elapsed ns. */
static uint64_t net_tx(uint64_t frames)
{
    static uint8_t f[NET_BURST][NET_FRAME];
    struct xcv_net_frame fr[NET_BURST];
    for (unsigned i = 0; i < NET_BURST; i++)
        fr[i] = (struct xcv_net_frame){.data = f[i], .len = NET_FRAME};
    uint64_t sent = 0;
    net_sunk = 0;
    uint64_t t0 = fx_now(NULL);
    while (sent < frames) {
        int r = xcv_net_drv_send_burst(&ndrv, fr, NET_BURST);
        if (r <= 0)
            abort();
        sent += (uint64_t)r;
        if (xcv_net_dev_run(&ndev, NET_BURST) < 0)
            abort();
    }
    uint64_t t1 = fx_now(NULL);
    if (net_sunk != sent)
        abort();
    return t1 - t0;
}

/* @frames 64-byte frames device -> driver in bursts; returns elapsed ns. */
static uint64_t net_rx(uint64_t frames)
{
    static uint8_t f[NET_BURST][NET_FRAME];
    static uint8_t in[NET_BURST][2048];
    struct xcv_net_frame fr[NET_BURST];
    struct xcv_net_rxbuf b[NET_BURST];
    for (unsigned i = 0; i < NET_BURST; i++) {
        fr[i] = (struct xcv_net_frame){.data = f[i], .len = NET_FRAME};
        b[i] = (struct xcv_net_rxbuf){.buf = in[i], .cap = sizeof(in[i])};
    }
    uint64_t got = 0;
    uint64_t t0 = fx_now(NULL);
    while (got < frames) {
        if (xcv_net_dev_deliver_burst(&ndev, fr, NET_BURST) != (int)NET_BURST)
            abort();
        int r = xcv_net_drv_receive_burst(&ndrv, b, NET_BURST);
        if (r != (int)NET_BURST)
            abort();
        got += (uint64_t)r;
    }
    return fx_now(NULL) - t0;
}

/* @frames 64-byte frames forwarded: device run (reflect), driver receive_zc, send_zc. */
static uint64_t net_loop(uint64_t frames)
{
    static uint8_t f[NET_BURST][NET_FRAME];
    struct xcv_net_frame fr[NET_BURST];
    struct xcv_net_rxref b[NET_BURST];
    struct xcv_net_txref t[NET_BURST];
    for (unsigned i = 0; i < NET_BURST; i++)
        fr[i] = (struct xcv_net_frame){.data = f[i], .len = NET_FRAME};
    for (unsigned s = 0; s < NET_LOOP_FRAMES; s += NET_BURST) {
        if (xcv_net_drv_send_burst(&nloop_drv, fr, NET_BURST) != (int)NET_BURST)
            abort();
    }
    uint64_t fwd = 0;
    uint64_t t0 = fx_now(NULL);
    while (fwd < frames) {
        if (xcv_net_dev_run(&nloop, NET_BURST) <= 0)
            abort();
        int r = xcv_net_drv_receive_zc(&nloop_drv, b, NET_BURST);
        if (r <= 0)
            abort();
        for (int i = 0; i < r; i++)
            t[i] = (struct xcv_net_txref){.buf = b[i].buf, .len = b[i].len};
        if (xcv_net_drv_send_zc(&nloop_drv, t, (unsigned)r) != r)
            abort();
        fwd += (uint64_t)r;
    }
    uint64_t ns = fx_now(NULL) - t0;
    if (xcv_net_drv_reset(&nloop_drv) != XCV_OK)
        abort();
    return ns;
}

static void net_bench(uint64_t frames)
{
    struct xcv_net_drv_config dc = {
        .dev_num = 1, .pool = &fx.pool, .queue_size = 256, .rx_buffers = 128, .polled = true};
    if (xcv_net_drv_open(&ndrv, &fx.dch, &dc) != XCV_OK)
        abort();
    (void)net_tx(frames / 10u); /* warm up */
    uint64_t ns = net_tx(frames);
    printf("net 64 B driver -> device, bursts of %u: %.1f ns per frame (%.2f Mpps, one thread)\n",
           NET_BURST, (double)ns / (double)frames, (double)frames / ((double)ns / 1e3));
    (void)net_rx(frames / 10u);
    ns = net_rx(frames);
    printf("net 64 B device -> driver, bursts of %u: %.1f ns per frame (%.2f Mpps, one thread)\n",
           NET_BURST, (double)ns / (double)frames, (double)frames / ((double)ns / 1e3));
    if (xcv_net_drv_reset(&ndrv) != XCV_OK)
        abort();
    struct xcv_net_drv_config lc = {
        .dev_num = 2, .pool = &fx.pool, .queue_size = 256, .rx_buffers = 128, .polled = true};
    if (xcv_net_drv_open(&nloop_drv, &fx.dch, &lc) != XCV_OK)
        abort();
    (void)net_loop(frames / 10u); /* warm up; resets the driver */
    if (xcv_net_drv_open(&nloop_drv, &fx.dch, &lc) != XCV_OK)
        abort();
    ns = net_loop(frames);
    printf("net 64 B loop, driver forwards in place, device reflects (one copy): %.1f ns per "
           "frame (%.2f Mpps, one thread)\n",
           (double)ns / (double)frames, (double)frames / ((double)ns / 1e3));
}

int main(int argc, char **argv)
{
    bool net_only = argc > 1 && strcmp(argv[1], "--net-only") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (fx_device_up() != XCV_OK)
        return 1;
    struct xcv_blk_dev_config cfg = {.capacity = DISK_BYTES / 512u,
                                     .ops = &xcv_blk_mem_ops,
                                     .backend_ctx = &mem,
                                     .queue_size = 256};
    cfg.ring_features =
        XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    struct xcv_net_dev_config nc = {.ops = &net_count_ops,
                                    .queue_size = 256,
                                    .budget = NET_BURST,
                                    .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                                                     XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER),
                                    .polled = true};
    struct xcv_net_dev_config lc = nc;
    lc.ops = &net_loop_ops;
    if (xcv_blk_dev_init(&bdev, &fx.vch, &cfg) != 0 || xcv_net_dev_init(&ndev, &fx.vch, &nc) != 1 ||
        xcv_net_dev_init(&nloop, &fx.vch, &lc) != 2 || fx_driver_up(4096) != XCV_OK)
        return 1;
    if (net_only) {
        net_bench(200000);
        return 0;
    }
    struct xcv_blk_drv_config dc = {
        .dev_num = 0, .pool = &fx.pool, .queue_size = 128, .indirect_max = 40};
    if (xcv_blk_drv_open(&bdrv, &fx.dch, &dc) != XCV_OK)
        return 1;

    const unsigned n4k = 200000;
    uint64_t ns = run(XCV_VIRTIO_BLK_T_IN, n4k, 1, 1);
    printf("blk 4KiB random read  QD%u: %.0f IOPS (%.1f MB/s)\n", QD, n4k / secs(0, ns),
           n4k * 4096.0 / 1e6 / secs(0, ns));
    const unsigned n128 = 20000;
    ns = run(XCV_VIRTIO_BLK_T_IN, n128, 32, 0);
    printf("blk 128KiB seq read   QD%u: %.0f MB/s (%.0f IOPS)\n", QD,
           n128 * 131072.0 / 1e6 / secs(0, ns), n128 / secs(0, ns));
    ns = run(XCV_VIRTIO_BLK_T_OUT, n128, 32, 0);
    printf("blk 128KiB seq write  QD%u: %.0f MB/s (%.0f IOPS)\n", QD,
           n128 * 131072.0 / 1e6 / secs(0, ns), n128 / secs(0, ns));
    net_bench(2000000);
    return 0;
}
