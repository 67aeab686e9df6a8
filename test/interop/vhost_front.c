/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_vhost_front: the library's vhost-user frontend (driver-role rings) against an existing
 * backend, for the interop tests.
 *
 *   xcv_vhost_front --blk SOCK [--mib N] [--pattern FILE]
 *       virtio-blk (qemu-storage-daemon's vhost-user-blk export): read the capacity (GET_CONFIG),
 *       write N MiB of a pseudo-random pattern from sector 0 with 16 requests of 64 KiB in flight
 *       (header, two data segments, status), read it back and compare; the pattern is also
 *       written to FILE so the test can compare it with the backend's image.
 *   xcv_vhost_front --net SOCK [--frames N] [--seconds S]
 *       virtio-net (DPDK's net_vhost0 with testpmd in macswap mode): send N frames (60..1514
 *       bytes, sequence number and payload pattern) with up to 128 in flight, receive them back,
 *       check each one (MACs swapped, payload intact), report frames per second.
 *
 * Prints key=value results; exits 0 when every check passed, 1 otherwise, 77 when the backend
 * is not there.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xcvirtio/dev_blk.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/vhost_user.h"
#include "xcvirtio/virtio.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t xorshift(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Reap used chains; returns how many, or a negative error. */
typedef void (*done_fn)(void *ctx, void *token, uint32_t len);

static int reap(struct xcv_vq_driver *q, done_fn fn, void *ctx)
{
    int n = 0;
    void *tok;
    uint32_t len;
    int r;
    while ((r = xcv_vq_driver_get_used(q, &tok, &len)) == XCV_OK) {
        fn(ctx, tok, len);
        n++;
    }
    return r == XCV_EAGAIN ? n : r;
}

/* ---- blk ---- */

#define BLK_REQ_BYTES (64u * 1024u)
#define BLK_INFLIGHT 16u

struct blk_req {
    uint8_t *hdr; /* header (16) + status (1), in the shared memory */
    uint64_t hdr_bus;
    uint8_t *data;
    uint64_t data_bus;
    size_t off; /* byte offset on the disk (local bookkeeping) */
    bool busy;
};

struct blk_ctx {
    struct blk_req req[BLK_INFLIGHT];
    uint8_t *buf; /* a read pass copies completed data here */
    bool reading;
    unsigned done, bad;
};

static void blk_done(void *ctx, void *token, uint32_t len)
{
    struct blk_ctx *c = (struct blk_ctx *)ctx;
    struct blk_req *r = (struct blk_req *)token;
    (void)len;
    r->busy = false;
    if (r->hdr[16] != XCV_VIRTIO_BLK_S_OK)
        c->bad++;
    else if (c->reading)
        memcpy(c->buf + r->off, r->data, BLK_REQ_BYTES);
    c->done++;
}

/* Move @total bytes from sector 0 with up to BLK_INFLIGHT requests in flight. */
static int blk_pass(struct xcv_vhost_user_front *f, struct blk_ctx *c, bool wr, uint8_t *buf,
                    size_t total)
{
    struct xcv_vq_driver *q = xcv_vhost_user_front_queue(f, 0);
    size_t next = 0;
    unsigned issued = 0, want = (unsigned)(total / BLK_REQ_BYTES);
    c->done = 0;
    c->bad = 0;
    c->buf = buf;
    c->reading = !wr;
    double deadline = now_s() + 60.0;
    while (c->done < want) {
        bool posted = false;
        for (unsigned i = 0; i < BLK_INFLIGHT && issued < want; i++) {
            struct blk_req *r = &c->req[i];
            if (r->busy)
                continue;
            r->off = next;
            xcv_le32_store(r->hdr, wr ? XCV_VIRTIO_BLK_T_OUT : XCV_VIRTIO_BLK_T_IN);
            xcv_le32_store(r->hdr + 4, 0);
            xcv_le64_store(r->hdr + 8, r->off / 512u);
            r->hdr[16] = 0xff;
            if (wr)
                memcpy(r->data, buf + r->off, BLK_REQ_BYTES);
            /* Two data segments: the request is a real scatter-gather list. */
            struct xcv_sg sg[4] = {{r->hdr_bus, 16},
                                   {r->data_bus, BLK_REQ_BYTES / 2u},
                                   {r->data_bus + BLK_REQ_BYTES / 2u, BLK_REQ_BYTES / 2u},
                                   {r->hdr_bus + 16, 1}};
            int e = xcv_vq_driver_add(q, sg, wr ? 3 : 1, wr ? 1 : 3, r);
            if (e == XCV_ENOSPC)
                break;
            if (e != XCV_OK)
                return e;
            r->busy = true;
            next += BLK_REQ_BYTES;
            issued++;
            posted = true;
        }
        if (posted) {
            int e = xcv_vq_driver_kick(q);
            if (e < 0)
                return e;
        }
        unsigned before = c->done;
        int n = reap(q, blk_done, c);
        if (n < 0)
            return n;
        if (c->done == before) {
            if (xcv_vq_driver_enable_notify(q) == 0)
                (void)xcv_vhost_user_front_wait(f, 0, 100);
            if (now_s() > deadline)
                return XCV_ETIMEDOUT;
        }
    }
    return c->bad == 0 ? XCV_OK : XCV_EIO;
}

static int run_blk(const char *sock, unsigned mib, const char *pattern_path)
{
    static struct xcv_vhost_user_front f;
    struct xcv_vhost_user_front_config cfg = {
        .path = sock,
        .timeout_ms = 5000,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                    XCV_FEATURE(XCV_VIRTIO_BLK_F_SEG_MAX) | XCV_FEATURE(XCV_VIRTIO_BLK_F_FLUSH),
        .num_queues = 1,
        .queue_size = 128,
        .mem_size = 4u << 20,
        .bus_base = 0x100000000ull,
    };
    int r = xcv_vhost_user_front_connect(&f, &cfg);
    if (r != XCV_OK) {
        printf("front_connect=%s\n", xcv_strerror(r));
        return r == XCV_ETIMEDOUT ? 77 : 1;
    }
    uint8_t cap[8];
    r = xcv_vhost_user_front_get_config(&f, XCV_VIRTIO_BLK_CFG_CAPACITY, cap, sizeof(cap));
    uint64_t sectors = r == XCV_OK ? xcv_le64_load(cap) : 0;
    printf("front_features=0x%llx\nfront_capacity_sectors=%llu\n",
           (unsigned long long)xcv_vhost_user_front_features(&f), (unsigned long long)sectors);
    size_t total = (size_t)mib << 20;
    if (sectors * 512u < total) {
        printf("front_error=disk smaller than the pattern\n");
        xcv_vhost_user_front_close(&f);
        return 1;
    }
    uint8_t *local;
    uint64_t bus;
    size_t avail = xcv_vhost_user_front_data(&f, &local, &bus);
    static struct blk_ctx c;
    if (avail < BLK_INFLIGHT * (BLK_REQ_BYTES + 64u)) {
        xcv_vhost_user_front_close(&f);
        return 1;
    }
    for (unsigned i = 0; i < BLK_INFLIGHT; i++) {
        c.req[i].hdr = local + i * 64u;
        c.req[i].hdr_bus = bus + i * 64u;
        c.req[i].data = local + 4096u + (size_t)i * BLK_REQ_BYTES;
        c.req[i].data_bus = bus + 4096u + (uint64_t)i * BLK_REQ_BYTES;
    }
    uint8_t *pat = malloc(total), *back = malloc(total);
    if (pat == NULL || back == NULL)
        return 1;
    for (size_t i = 0; i < total; i += 8) {
        uint64_t v = xorshift();
        memcpy(pat + i, &v, 8);
    }
    double t0 = now_s();
    r = blk_pass(&f, &c, true, pat, total);
    double t1 = now_s();
    int r2 = r == XCV_OK ? blk_pass(&f, &c, false, back, total) : r;
    double t2 = now_s();
    bool same = r2 == XCV_OK && memcmp(pat, back, total) == 0;
    printf("front_write=%s\nfront_read=%s\nfront_readback_equal=%d\n", xcv_strerror(r),
           xcv_strerror(r2), same ? 1 : 0);
    printf("front_write_MBps=%.1f\nfront_read_MBps=%.1f\n", (double)total / 1e6 / (t1 - t0),
           (double)total / 1e6 / (t2 - t1));
    if (pattern_path != NULL) {
        FILE *pf = fopen(pattern_path, "wb");
        if (pf == NULL || fwrite(pat, 1, total, pf) != total)
            same = false;
        if (pf != NULL)
            fclose(pf);
    }
    xcv_vhost_user_front_close(&f);
    free(pat);
    free(back);
    return same ? 0 : 1;
}

/* ---- net ---- */

#define NET_BUF 2048u
#define NET_RX_BUFS 128u
#define NET_TX_BUFS 128u

struct net_ctx {
    uint8_t *rx_local;
    uint64_t rx_bus;
    uint8_t *tx_local;
    uint64_t tx_bus;
    unsigned tx_free[NET_TX_BUFS];
    unsigned n_tx_free;
    uint64_t sent, received, bad, tx_done;
    struct xcv_vq_driver *rxq;
    uint8_t mac[6];
};

static const uint8_t k_peer[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static uint32_t frame_len(uint64_t seq)
{
    return 60u + (uint32_t)((seq * 97u) % (1514u - 60u + 1u));
}

static void fill_frame(uint8_t *fr, uint64_t seq, const uint8_t *src)
{
    uint32_t len = frame_len(seq);
    memcpy(fr, k_peer, 6);
    memcpy(fr + 6, src, 6);
    fr[12] = 0x88;
    fr[13] = 0xb5;
    memcpy(fr + 14, "XCVF", 4);
    xcv_le64_store(fr + 18, seq);
    for (uint32_t i = 26; i < len; i++)
        fr[i] = (uint8_t)(seq + i);
}

static bool check_frame(const uint8_t *fr, uint32_t len, const uint8_t *our)
{
    if (len < 26u || memcmp(fr + 14, "XCVF", 4) != 0)
        return false;
    uint64_t seq = xcv_le64_load(fr + 18);
    if (len != frame_len(seq))
        return false;
    /* macswap: the destination is now our address, the source the peer's. */
    if (memcmp(fr, our, 6) != 0 || memcmp(fr + 6, k_peer, 6) != 0)
        return false;
    for (uint32_t i = 26; i < len; i++) {
        if (fr[i] != (uint8_t)(seq + i))
            return false;
    }
    return true;
}

static void tx_done(void *ctx, void *token, uint32_t len)
{
    struct net_ctx *c = (struct net_ctx *)ctx;
    (void)len;
    c->tx_free[c->n_tx_free++] = (unsigned)(uintptr_t)token - 1u;
    c->tx_done++;
}

static void rx_post(struct net_ctx *c, unsigned i)
{
    struct xcv_sg sg = {c->rx_bus + (uint64_t)i * NET_BUF, NET_BUF};
    (void)xcv_vq_driver_add(c->rxq, &sg, 0, 1, (void *)(uintptr_t)(i + 1u));
}

static void rx_done(void *ctx, void *token, uint32_t len)
{
    struct net_ctx *c = (struct net_ctx *)ctx;
    unsigned i = (unsigned)(uintptr_t)token - 1u;
    const uint8_t *b = c->rx_local + (size_t)i * NET_BUF;
    if (len > XCV_VIRTIO_NET_HDR_SIZE &&
        check_frame(b + XCV_VIRTIO_NET_HDR_SIZE, len - XCV_VIRTIO_NET_HDR_SIZE, c->mac))
        c->received++;
    else
        c->bad++;
    rx_post(c, i);
}

static int run_net(const char *sock, uint64_t frames, double seconds)
{
    static struct xcv_vhost_user_front f;
    struct xcv_vhost_user_front_config cfg = {
        .path = sock,
        .timeout_ms = 5000,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .num_queues = 2,
        .queue_size = 256,
        .mem_size = 2u << 20,
        .bus_base = 0x200000000ull,
    };
    int r = xcv_vhost_user_front_connect(&f, &cfg);
    if (r != XCV_OK) {
        printf("front_connect=%s\n", xcv_strerror(r));
        return r == XCV_ETIMEDOUT ? 77 : 1;
    }
    static struct net_ctx c;
    uint8_t *local;
    uint64_t bus;
    size_t avail = xcv_vhost_user_front_data(&f, &local, &bus);
    if (avail < (NET_RX_BUFS + NET_TX_BUFS) * NET_BUF) {
        xcv_vhost_user_front_close(&f);
        return 1;
    }
    const uint8_t our[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
    memcpy(c.mac, our, 6);
    c.rx_local = local;
    c.rx_bus = bus;
    c.tx_local = local + NET_RX_BUFS * NET_BUF;
    c.tx_bus = bus + NET_RX_BUFS * NET_BUF;
    c.rxq = xcv_vhost_user_front_queue(&f, XCV_NET_RXQ);
    struct xcv_vq_driver *txq = xcv_vhost_user_front_queue(&f, XCV_NET_TXQ);
    for (unsigned i = 0; i < NET_TX_BUFS; i++)
        c.tx_free[c.n_tx_free++] = i;
    for (unsigned i = 0; i < NET_RX_BUFS; i++)
        rx_post(&c, i);
    (void)xcv_vq_driver_kick(c.rxq);
    /* Busy-poll both rings; notifications are not needed. */
    xcv_vq_driver_disable_notify(c.rxq);
    xcv_vq_driver_disable_notify(txq);

    double t0 = now_s(), last_progress = t0;
    while (c.received + c.bad < frames && now_s() - t0 < seconds) {
        unsigned posted = 0;
        while (c.sent < frames && c.n_tx_free > 0 && c.sent - c.received - c.bad < 128u) {
            unsigned i = c.tx_free[--c.n_tx_free];
            uint8_t *b = c.tx_local + (size_t)i * NET_BUF;
            memset(b, 0, XCV_VIRTIO_NET_HDR_SIZE);
            fill_frame(b + XCV_VIRTIO_NET_HDR_SIZE, c.sent, our);
            struct xcv_sg sg = {c.tx_bus + (uint64_t)i * NET_BUF,
                                XCV_VIRTIO_NET_HDR_SIZE + frame_len(c.sent)};
            if (xcv_vq_driver_add(txq, &sg, 1, 0, (void *)(uintptr_t)(i + 1u)) != XCV_OK) {
                c.tx_free[c.n_tx_free++] = i;
                break;
            }
            c.sent++;
            posted++;
        }
        if (posted != 0u)
            (void)xcv_vq_driver_kick(txq);
        int a = reap(txq, tx_done, &c);
        int b = reap(c.rxq, rx_done, &c);
        if (a < 0 || b < 0) {
            printf("front_ring_error=%s\n", xcv_strerror(a < 0 ? a : b));
            break;
        }
        if (b > 0)
            (void)xcv_vq_driver_kick(c.rxq); /* reposted buffers */
        if (a > 0 || b > 0)
            last_progress = now_s();
        else if (now_s() - last_progress > 1.0 && c.sent - c.received - c.bad >= 128u) {
            /* Frames lost (e.g. sent before the peer forwarded): let the window move on. */
            c.sent = c.received + c.bad;
            last_progress = now_s();
        }
    }
    double dt = now_s() - t0;
    printf("front_features=0x%llx\nfront_sent=%llu\nfront_received=%llu\nfront_bad=%llu\n"
           "front_seconds=%.3f\nfront_pps=%.0f\n",
           (unsigned long long)xcv_vhost_user_front_features(&f), (unsigned long long)c.sent,
           (unsigned long long)c.received, (unsigned long long)c.bad, dt, (double)c.received / dt);
    xcv_vhost_user_front_close(&f);
    return c.bad == 0 && c.received > 0 && c.received * 100u >= frames * 95u ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *blk = NULL, *net = NULL, *pattern = NULL;
    unsigned mib = 8;
    uint64_t frames = 200000;
    double seconds = 20.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--blk") == 0)
            blk = argv[i + 1];
        else if (strcmp(argv[i], "--net") == 0)
            net = argv[i + 1];
        else if (strcmp(argv[i], "--mib") == 0)
            mib = (unsigned)strtoul(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--pattern") == 0)
            pattern = argv[i + 1];
        else if (strcmp(argv[i], "--frames") == 0)
            frames = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = strtod(argv[i + 1], NULL);
        else
            break;
    }
    if ((blk == NULL) == (net == NULL) || mib == 0u || frames == 0u) {
        fprintf(stderr, "usage: xcv_vhost_front (--blk SOCK [--mib N] [--pattern FILE] | "
                        "--net SOCK [--frames N] [--seconds S])\n");
        return 2;
    }
    return blk != NULL ? run_blk(blk, mib, pattern) : run_net(net, frames, seconds);
}
