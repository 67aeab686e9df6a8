/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device benchmarks, both roles in one process over one window (no doorbell cost): virtio-blk
 * over the memory backend, 4 KiB random reads (IOPS) and 128 KiB sequential reads and writes
 * (MB/s) at queue depth 16. Prints figures; never fails on time.
 */
#include <stdio.h>
#include <stdlib.h>

#include <xcvirtio/dev_blk.h>

#include "devices/dev_fixture.h"

#define DISK_BYTES (64u << 20)
#define QD 16u

static uint8_t disk[DISK_BYTES];
static struct xcv_blk_mem mem = {disk, DISK_BYTES};
static struct xcv_blk_dev bdev;
static struct xcv_blk_drv bdrv;

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

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (fx_device_up() != XCV_OK)
        return 1;
    struct xcv_blk_dev_config cfg = {.capacity = DISK_BYTES / 512u,
                                     .ops = &xcv_blk_mem_ops,
                                     .backend_ctx = &mem,
                                     .queue_size = 256};
    cfg.ring_features =
        XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    if (xcv_blk_dev_init(&bdev, &fx.vch, &cfg) != 0 || fx_driver_up(4096) != XCV_OK)
        return 1;
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
    return 0;
}
