/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_net_bench: virtio-net packets per second between two processes over the Linux port, with
 * 64-byte and 1500-byte frames, in both directions, in event mode (eventfd doorbells) and in
 * busy-poll mode. Prints figures; it never fails on time (exit status 1 only when the devices
 * cannot be set up or a frame arrives wrong).
 *
 *   device compartment  net 0: a sink that counts what the driver transmits; net 1 and net 2:
 *                       sources that deliver 64-byte and 1500-byte frames as fast as the
 *                       driver's receive buffers allow.
 *   driver compartment  transmits on net 0 for the time asked, then receives from net 1 and
 *                       net 2 in turn (a reset of the device stops its source).
 *
 * Usage: xcv_net_bench [--mode event|poll] [--seconds S]   (default: both modes, 1 s each)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compartment.h"

#define NET_BUF 2048u
#define QSIZE 256u
#define RX_BUFFERS 192u
#define BATCH 64u
#define N_SIZES 2u

static const uint32_t sizes[N_SIZES] = {64u, 1500u};

struct opts {
    int mode; /* -1 both, 0 event, 1 poll */
    double seconds;
    char socket[108];
    bool poll_mode; /* the run in progress */
};

static void frame(uint8_t *f, uint32_t len, uint32_t seq)
{
    static const uint8_t mac[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
    memcpy(f, mac, 12);
    f[12] = 0x88; /* local experimental ethertype */
    f[13] = 0xb5;
    memcpy(f + 14, &seq, 4);
    for (uint32_t i = 18; i < len; i++)
        f[i] = (uint8_t)i;
}

/* ---- device compartment ---- */

struct dev_side {
    struct cpt_device cd;
    struct xcv_net_dev net[1u + N_SIZES];
    uint64_t sunk, bad;
    uint32_t seq[N_SIZES];
};

static int sink_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                         unsigned n, uint32_t len)
{
    struct dev_side *d = ctx;
    (void)hdr;
    /* Count, and look at the frame's first bytes (as a forwarding device would). */
    if (n == 0u || iov[0].len < 14u || len > NET_BUF)
        d->bad++;
    else
        d->sunk++;
    return XCV_OK;
}

static const struct xcv_net_backend_ops sink_ops = {.transmit = sink_transmit};

static int device_main(void *arg)
{
    const struct opts *o = arg;
    static struct dev_side d;
    memset(&d, 0, sizeof(d));
    int r = cpt_device_listen(&d.cd, o->socket, o->poll_mode);
    for (unsigned i = 0; i < 1u + N_SIZES && r >= 0; i++) {
        struct xcv_net_dev_config nc = {.ops = &sink_ops,
                                        .backend_ctx = &d,
                                        .mtu = 1500,
                                        .queue_size = QSIZE,
                                        .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
        nc.mac[0] = 0x02;
        nc.mac[5] = (uint8_t)i;
        r = xcv_net_dev_init(&d.net[i], &d.cd.ch, &nc);
    }
    if (r >= 0)
        r = cpt_device_accept(&d.cd, 10000);
    if (r != XCV_OK) {
        fprintf(stderr, "bench device: setup: %s\n", xcv_strerror(r));
        cpt_device_close(&d.cd);
        return 1;
    }
    static uint8_t f[N_SIZES][NET_BUF];
    for (unsigned k = 0; k < N_SIZES; k++)
        frame(f[k], sizes[k], 0);
    uint64_t limit = cpt_now_ns() + 300000000000ull;
    bool busy = false;
    while (cpt_now_ns() < limit) {
        int pr = cpt_device_pass(&d.cd, busy, 50);
        if (pr != 0) {
            r = pr > 0 ? XCV_OK : pr;
            break;
        }
        busy = false;
        for (unsigned k = 0; k < N_SIZES; k++) {
            /* A source runs while its driver keeps receive buffers posted. */
            for (unsigned i = 0; i < BATCH; i++) {
                memcpy(f[k] + 14, &d.seq[k], 4);
                int dr = xcv_net_dev_deliver(&d.net[1u + k], NULL, f[k], sizes[k]);
                if (dr != XCV_OK)
                    break;
                d.seq[k]++;
                busy = true;
            }
        }
        if (xcv_net_dev_pending(&d.net[0])) {
            (void)xcv_net_dev_run(&d.net[0], BATCH);
            busy = true;
        }
    }
    cpt_device_close(&d.cd);
    return r == XCV_OK && d.bad == 0u ? 0 : 1;
}

/* ---- driver compartment ---- */

struct figure {
    double pps;
    double gbps;
};

static struct figure fig(uint64_t frames, uint32_t size, uint64_t ns)
{
    double s = (double)ns / 1e9;
    return (struct figure){(double)frames / s, (double)frames * size * 8.0 / s / 1e9};
}

static int bench_tx(struct cpt_driver *d, struct xcv_net_drv *n, uint32_t size, double seconds,
                    struct figure *out)
{
    static uint8_t f[NET_BUF];
    frame(f, size, 0);
    struct xcv_vq_driver *txq = xcv_vdrv_queue(&n->vdrv, XCV_NET_TXQ); /* to arm (event mode) */
    uint64_t sent = 0;
    uint64_t t0 = cpt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    while (cpt_now_ns() < end) {
        int r = xcv_net_drv_send(n, NULL, f, size);
        if (r == XCV_OK) {
            sent++;
            continue;
        }
        if (r != XCV_ENOSPC && r != XCV_ENOMEM)
            return r;
        r = cpt_driver_wait(d, &txq, 1, 10); /* the ring is full: let the device take some */
        if (r != XCV_OK)
            return r;
    }
    *out = fig(sent, size, cpt_now_ns() - t0);
    return XCV_OK;
}

static int bench_rx(struct cpt_driver *d, uint16_t dev_num, uint32_t size, double seconds,
                    struct figure *out)
{
    static struct xcv_net_drv n;
    struct xcv_net_drv_config nc = {
        .dev_num = dev_num, .pool = &d->pool, .queue_size = QSIZE, .rx_buffers = RX_BUFFERS};
    int r = xcv_net_drv_open(&n, &d->ch, &nc);
    if (r != XCV_OK)
        return r;
    struct xcv_vq_driver *rxq = xcv_vdrv_queue(&n.vdrv, XCV_NET_RXQ); /* to arm (event mode) */
    static uint8_t f[NET_BUF];
    uint64_t got = 0, bad = 0;
    uint32_t expect = 0;
    uint64_t t0 = cpt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    while (cpt_now_ns() < end) {
        uint32_t len;
        r = xcv_net_drv_receive(&n, NULL, f, sizeof(f), &len);
        if (r == XCV_OK) {
            uint32_t seq;
            memcpy(&seq, f + 14, 4);
            bad += len != size || (got != 0u && seq != expect);
            expect = seq + 1u;
            got++;
            continue;
        }
        if (r != XCV_EAGAIN)
            return r;
        r = cpt_driver_wait(d, &rxq, 1, 10);
        if (r != XCV_OK)
            return r;
    }
    *out = fig(got, size, cpt_now_ns() - t0);
    r = xcv_net_drv_reset(&n); /* stops the source; every buffer comes back */
    return r == XCV_OK && bad != 0u ? XCV_EPROTO_DEVICE : r;
}

static int run_mode(struct opts *o)
{
    snprintf(o->socket, sizeof(o->socket), "/tmp/xcv-net-bench-%ld-%d.sock", (long)getpid(),
             o->poll_mode ? 1 : 0);
    fflush(stdout);
    pid_t pid = cpt_fork(device_main, o, 300);
    if (pid < 0)
        return 1;
    static struct cpt_driver d;
    static struct xcv_net_drv tx;
    int r = cpt_driver_attach(&d, o->socket, NET_BUF);
    struct xcv_net_drv_config nc = {
        .dev_num = 0, .pool = &d.pool, .queue_size = QSIZE, .rx_buffers = 4};
    if (r == XCV_OK)
        r = xcv_net_drv_open(&tx, &d.ch, &nc);
    struct figure ftx[N_SIZES] = {{0}}, frx[N_SIZES] = {{0}};
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK; k++)
        r = bench_tx(&d, &tx, sizes[k], o->seconds, &ftx[k]);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK; k++)
        r = bench_rx(&d, (uint16_t)(1u + k), sizes[k], o->seconds, &frx[k]);
    if (r == XCV_OK)
        r = xcv_net_drv_reset(&tx);
    cpt_driver_close(&d);
    int dev_rc = cpt_reap(pid, 5000);
    printf("== xcv_net_bench --mode %s: virtio-net between two processes, %.1f s per figure\n",
           o->poll_mode ? "poll" : "event", o->seconds);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK; k++)
        printf("  driver -> device  %4u-byte frames  %9.0f pps  %6.2f Gbit/s\n", sizes[k],
               ftx[k].pps, ftx[k].gbps);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK; k++)
        printf("  device -> driver  %4u-byte frames  %9.0f pps  %6.2f Gbit/s\n", sizes[k],
               frx[k].pps, frx[k].gbps);
    if (r != XCV_OK || dev_rc != 0)
        printf("  failed: %s (device exit %d)\n", xcv_strerror(r), dev_rc);
    return r == XCV_OK && dev_rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct opts o = {.mode = -1, .seconds = 1.0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mode") == 0)
            o.mode = strcmp(argv[i + 1], "poll") == 0 ? 1 : 0;
        else if (strcmp(argv[i], "--seconds") == 0)
            o.seconds = atof(argv[i + 1]);
    }
    if (argc % 2 == 0 || o.seconds <= 0.0 || o.seconds > 30.0) {
        fprintf(stderr, "usage: xcv_net_bench [--mode event|poll] [--seconds S]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = 0;
    for (int m = 0; m < 2; m++) {
        if (o.mode >= 0 && o.mode != m)
            continue;
        o.poll_mode = m == 1;
        rc |= run_mode(&o);
    }
    return rc;
}
