/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_net_bench: virtio-net packets per second between two processes over the Linux port, with
 * 64-byte and 1500-byte frames, in event mode (eventfd doorbells) and in busy-poll mode. Frames
 * move in bursts, without copies where the API allows: the driver sends with
 * xcv_net_drv_send_burst (one copy into a pool buffer), receives with xcv_net_drv_receive_zc
 * (frames lent in place) and forwards with xcv_net_drv_send_zc (no copy); the device delivers
 * with xcv_net_dev_deliver_burst (one copy into the receive buffer). Prints figures; it never fails
 * on time (exit status 1 only when the devices cannot be set up or a frame arrives wrong).
 *
 *   device compartment  net 0: a sink that counts what the driver transmits; net 1 and net 2:
 *                       sources that deliver 64-byte and 1500-byte frames as fast as the
 *                       driver's receive buffers allow; net 3: a reflector that delivers every
 *                       transmitted frame back into the driver's receive buffers.
 *   driver compartment  transmits on net 0 (driver -> device), receives from net 1 and net 2
 *                       (device -> driver; a reset of the device stops its source), then keeps
 *                       a fixed number of frames circulating through net 3 and forwards every
 *                       frame it receives back (loop: driver -> device -> driver).
 *
 * The driver runs on CPU 0 and the device on CPU 1 (when the machine has two).
 *
 * Usage: xcv_net_bench [--mode event|poll] [--seconds S] [--ring split|packed]
 *                      [--in-order yes|no] [--test all|tx|rx|loop]
 *        (default: both modes, 1 s each, split rings, in order, every test; packed: the devices
 *        offer VIRTIO_F_RING_PACKED and the driver takes it; in order: the devices offer
 *        VIRTIO_F_IN_ORDER, which the driver takes with split rings; --test runs one direction
 *        only, for profiling)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compartment.h"

#define NET_BUF 2048u
#define QSIZE 256u
#define RX_BUFFERS 192u
#define BURST 32u
#define TX_BURST 128u    /* driver -> device: frames per send call and per device run */
#define LOOP_FRAMES 128u /* frames kept circulating in the loop test */
#define N_SIZES 2u
#define NET_SINK 0u
#define NET_SOURCE 1u /* net 1 and net 2 */
#define NET_LOOP 3u
#define N_NETS 4u
#define TEST_TX 1u
#define TEST_RX 2u
#define TEST_LOOP 4u

static const uint32_t sizes[N_SIZES] = {64u, 1500u};

struct opts {
    int mode; /* -1 both, 0 event, 1 poll */
    double seconds;
    bool packed;      /* offer packed rings */
    bool no_in_order; /* do not offer VIRTIO_F_IN_ORDER */
    unsigned tests;   /* TEST_* bits */
    char socket[108];
    bool poll_mode; /* the run in progress */
};

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sysconf(_SC_NPROCESSORS_ONLN) > cpu)
        (void)sched_setaffinity(0, sizeof(set), &set);
}

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
    struct xcv_net_dev net[N_NETS];
    uint64_t sunk, bad;
    uint32_t seq[N_SIZES];
    /* The reflector's frames: pointed to in the transmit chains during a burst and delivered
     * back from there at its end (transmit_done); those the driver has no buffers for yet are
     * copied here and delivered later. */
    struct xcv_net_frame inflight[BURST];
    unsigned n_inflight;
    uint8_t stage[BURST][NET_BUF];
    struct xcv_net_frame staged[BURST];
    unsigned n_staged;
    uint64_t reflect_dropped;
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

/* Deliver the staged frames back to the driver; keep those it has no buffers for yet. */
static void reflect_flush(struct dev_side *d)
{
    if (d->n_staged == 0u)
        return;
    int r = xcv_net_dev_deliver_burst(&d->net[NET_LOOP], d->staged, d->n_staged);
    unsigned done = r > 0 ? (unsigned)r : 0u;
    if (r < 0 && r != XCV_EAGAIN) {
        d->reflect_dropped++; /* the first frame could not be delivered at all */
        done = 1;
    }
    for (unsigned i = done; i < d->n_staged; i++) {
        memcpy(d->stage[i - done], d->stage[i], d->staged[i].len);
        d->staged[i - done].len = d->staged[i].len;
    }
    d->n_staged -= done;
}

/* Copy a frame into the local stage (delivered by a later reflect_flush()). */
static void reflect_stage(struct dev_side *d, const struct xcv_iov *iov, unsigned n)
{
    if (d->n_staged == BURST) {
        d->reflect_dropped++; /* the driver posts no receive buffers: a forwarder drops */
        return;
    }
    uint8_t *dst = d->stage[d->n_staged];
    uint32_t off = 0;
    for (unsigned i = 0; i < n && off + iov[i].len <= NET_BUF; i++) {
        memcpy(dst + off, iov[i].base, iov[i].len);
        off += (uint32_t)iov[i].len;
    }
    d->staged[d->n_staged].len = off;
    d->n_staged++;
}

static int reflect_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                            unsigned n, uint32_t len)
{
    struct dev_side *d = ctx;
    (void)hdr;
    if (n == 1u && d->n_staged == 0u && d->n_inflight < BURST) {
        /* Keep the pointer: valid until transmit_done returns. */
        d->inflight[d->n_inflight++] = (struct xcv_net_frame){.data = iov[0].base, .len = len};
        return XCV_OK;
    }
    reflect_flush(d); /* keep the order: staged frames go first */
    reflect_stage(d, iov, n);
    return XCV_OK;
}

/* The burst is over: deliver its frames straight from the transmit buffers into the receive
 * buffers (one copy); copy those that do not fit yet into the stage. */
static void reflect_done(void *ctx)
{
    struct dev_side *d = ctx;
    unsigned k = d->n_inflight;
    d->n_inflight = 0;
    if (k == 0u)
        return;
    int r = xcv_net_dev_deliver_burst(&d->net[NET_LOOP], d->inflight, k);
    unsigned done = r > 0 ? (unsigned)r : 0u;
    for (unsigned i = done; i < k; i++) {
        struct xcv_iov v = {.base = (void *)(uintptr_t)d->inflight[i].data,
                            .len = d->inflight[i].len};
        reflect_stage(d, &v, 1);
    }
}

static const struct xcv_net_backend_ops sink_ops = {.transmit = sink_transmit};
static const struct xcv_net_backend_ops reflect_ops = {.transmit = reflect_transmit,
                                                       .transmit_done = reflect_done};

static int device_main(void *arg)
{
    const struct opts *o = arg;
    static struct dev_side d;
    memset(&d, 0, sizeof(d));
    pin(1);
    for (unsigned i = 0; i < BURST; i++)
        d.staged[i].data = d.stage[i];
    int r = cpt_device_listen(&d.cd, o->socket, o->poll_mode);
    for (unsigned i = 0; i < N_NETS && r >= 0; i++) {
        struct xcv_net_dev_config nc = {
            .ops = i == NET_LOOP ? &reflect_ops : &sink_ops,
            .backend_ctx = &d,
            .mtu = 1500,
            .queue_size = QSIZE,
            .budget = BURST,
            .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                             (o->packed ? XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) : UINT64_C(0)) |
                             (o->no_in_order ? UINT64_C(0) : XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)),
            .polled = o->poll_mode};
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
    static uint8_t f[N_SIZES][BURST][NET_BUF];
    struct xcv_net_frame src[N_SIZES][BURST];
    for (unsigned k = 0; k < N_SIZES; k++) {
        for (unsigned i = 0; i < BURST; i++) {
            frame(f[k][i], sizes[k], 0);
            src[k][i] = (struct xcv_net_frame){.data = f[k][i], .len = sizes[k]};
        }
    }
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
            for (unsigned i = 0; i < BURST; i++)
                memcpy(f[k][i] + 14, &(uint32_t){d.seq[k] + i}, 4);
            int dr = xcv_net_dev_deliver_burst(&d.net[NET_SOURCE + k], src[k], BURST);
            if (dr > 0) {
                d.seq[k] += (uint32_t)dr;
                busy = true;
            }
        }
        reflect_flush(&d);
        if (o->poll_mode || xcv_net_dev_pending(&d.net[NET_SINK])) {
            if (xcv_net_dev_run(&d.net[NET_SINK], TX_BURST) > 0)
                busy = true;
        }
        if (o->poll_mode || xcv_net_dev_pending(&d.net[NET_LOOP])) {
            if (xcv_net_dev_run(&d.net[NET_LOOP], BURST - d.n_staged) > 0)
                busy = true;
            reflect_flush(&d);
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

static int open_net(struct cpt_driver *d, struct xcv_net_drv *n, uint16_t dev_num,
                    uint16_t rx_buffers)
{
    struct xcv_net_drv_config nc = {.dev_num = dev_num,
                                    .pool = &d->pool,
                                    .queue_size = QSIZE,
                                    .rx_buffers = rx_buffers,
                                    .polled = d->poll_mode};
    return xcv_net_drv_open(n, &d->ch, &nc);
}

static int bench_tx(struct cpt_driver *d, struct xcv_net_drv *n, uint32_t size, double seconds,
                    struct figure *out)
{
    static uint8_t f[TX_BURST][NET_BUF];
    struct xcv_net_frame fr[TX_BURST];
    for (unsigned i = 0; i < TX_BURST; i++) {
        frame(f[i], size, i);
        fr[i] = (struct xcv_net_frame){.data = f[i], .len = size};
    }
    struct xcv_vq_driver *txq = xcv_vdrv_queue(&n->vdrv, XCV_NET_TXQ); /* to arm (event mode) */
    uint64_t sent = 0;
    uint64_t t0 = cpt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    while (cpt_now_ns() < end) {
        int r = xcv_net_drv_send_burst(n, fr, TX_BURST);
        if (r > 0) {
            sent += (uint64_t)r;
            if (r == (int)TX_BURST)
                continue;
        } else if (r != XCV_ENOSPC && r != XCV_ENOMEM) {
            return r;
        }
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
    int r = open_net(d, &n, dev_num, RX_BUFFERS);
    if (r != XCV_OK)
        return r;
    struct xcv_vq_driver *rxq = xcv_vdrv_queue(&n.vdrv, XCV_NET_RXQ); /* to arm (event mode) */
    struct xcv_net_rxref b[BURST];
    uint64_t got = 0, bad = 0;
    uint32_t expect = 0;
    uint64_t t0 = cpt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    while (cpt_now_ns() < end) {
        r = xcv_net_drv_receive_zc(&n, b, BURST);
        if (r > 0) {
            for (int i = 0; i < r; i++) {
                uint32_t seq;
                memcpy(&seq, b[i].data + 14, 4); /* look at the frame in place */
                bad += b[i].len != size || (got != 0u && seq != expect);
                expect = seq + 1u;
                got++;
                (void)xcv_net_drv_release(&n, b[i].buf);
            }
            if (r == (int)BURST)
                continue;
        } else if (r != XCV_EAGAIN) {
            return r;
        }
        r = cpt_driver_wait(d, &rxq, 1, 10);
        if (r != XCV_OK)
            return r;
    }
    *out = fig(got, size, cpt_now_ns() - t0);
    r = xcv_net_drv_reset(&n); /* stops the source; every buffer comes back */
    return r == XCV_OK && bad != 0u ? XCV_EPROTO_DEVICE : r;
}

/* Keep LOOP_FRAMES frames circulating: every frame received is sent straight back. */
static int bench_loop(struct cpt_driver *d, uint32_t size, double seconds, struct figure *out)
{
    static struct xcv_net_drv n;
    int r = open_net(d, &n, NET_LOOP, RX_BUFFERS);
    if (r != XCV_OK)
        return r;
    struct xcv_vq_driver *rxq = xcv_vdrv_queue(&n.vdrv, XCV_NET_RXQ); /* to arm (event mode) */
    static uint8_t f[BURST][NET_BUF];
    struct xcv_net_rxref b[BURST];
    struct xcv_net_frame fr[BURST];
    struct xcv_net_txref tr[BURST];
    for (unsigned i = 0; i < BURST; i++) {
        frame(f[i], size, i);
        fr[i] = (struct xcv_net_frame){.data = f[i], .len = size};
    }
    for (unsigned s = 0; s < LOOP_FRAMES; s += BURST) {
        r = xcv_net_drv_send_burst(&n, fr, BURST);
        if (r != (int)BURST)
            return r < 0 ? r : XCV_ENOSPC;
    }
    uint64_t got = 0, bad = 0;
    uint64_t t0 = cpt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    while (cpt_now_ns() < end) {
        r = xcv_net_drv_receive_zc(&n, b, BURST);
        if (r > 0) {
            for (int i = 0; i < r; i++) {
                bad += b[i].len != size;
                tr[i] = (struct xcv_net_txref){.buf = b[i].buf, .len = b[i].len};
            }
            got += (uint64_t)r;
            int sent = 0;
            while (sent < r) { /* forwarded in place: the transmitq has room for them all */
                int s = xcv_net_drv_send_zc(&n, tr + sent, (unsigned)(r - sent));
                if (s < 0 && s != XCV_ENOSPC && s != XCV_ENOMEM)
                    return s;
                if (s > 0)
                    sent += s;
                else if ((s = cpt_driver_wait(d, NULL, 0, 1)) != XCV_OK)
                    return s;
            }
            continue;
        }
        if (r != XCV_EAGAIN)
            return r;
        r = cpt_driver_wait(d, &rxq, 1, 10);
        if (r != XCV_OK)
            return r;
    }
    *out = fig(got, size, cpt_now_ns() - t0);
    r = xcv_net_drv_reset(&n);
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
    pin(0);
    static struct cpt_driver d;
    static struct xcv_net_drv tx;
    int r = cpt_driver_attach(&d, o->socket, NET_BUF);
    if (r == XCV_OK)
        r = open_net(&d, &tx, NET_SINK, 4);
    uint64_t feat = r == XCV_OK ? xcv_net_drv_features(&tx) : 0u;
    bool packed = (feat & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) != 0u;
    bool in_order = (feat & XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)) != 0u;
    struct figure ftx[N_SIZES] = {{0}}, frx[N_SIZES] = {{0}}, flp[N_SIZES] = {{0}};
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK && (o->tests & TEST_TX) != 0u; k++)
        r = bench_tx(&d, &tx, sizes[k], o->seconds, &ftx[k]);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK && (o->tests & TEST_RX) != 0u; k++)
        r = bench_rx(&d, (uint16_t)(NET_SOURCE + k), sizes[k], o->seconds, &frx[k]);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK && (o->tests & TEST_LOOP) != 0u; k++)
        r = bench_loop(&d, sizes[k], o->seconds, &flp[k]);
    if (r == XCV_OK)
        r = xcv_net_drv_reset(&tx);
    cpt_driver_close(&d);
    int dev_rc = cpt_reap(pid, 5000);
    printf("== xcv_net_bench --mode %s --ring %s --in-order %s: virtio-net between two "
           "processes, %.1f s per figure\n",
           o->poll_mode ? "poll" : "event", packed ? "packed" : "split", in_order ? "yes" : "no",
           o->seconds);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK && (o->tests & TEST_TX) != 0u; k++)
        printf("  driver -> device  %4u-byte frames  %9.0f pps  %6.2f Gbit/s\n", sizes[k],
               ftx[k].pps, ftx[k].gbps);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK && (o->tests & TEST_RX) != 0u; k++)
        printf("  device -> driver  %4u-byte frames  %9.0f pps  %6.2f Gbit/s\n", sizes[k],
               frx[k].pps, frx[k].gbps);
    for (unsigned k = 0; k < N_SIZES && r == XCV_OK && (o->tests & TEST_LOOP) != 0u; k++)
        printf("  loop (forwarded)  %4u-byte frames  %9.0f pps  %6.2f Gbit/s\n", sizes[k],
               flp[k].pps, flp[k].gbps);
    if (r != XCV_OK || dev_rc != 0)
        printf("  failed: %s (device exit %d)\n", xcv_strerror(r), dev_rc);
    return r == XCV_OK && dev_rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct opts o = {.mode = -1, .seconds = 1.0, .tests = TEST_TX | TEST_RX | TEST_LOOP};
    bool bad = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mode") == 0)
            o.mode = strcmp(argv[i + 1], "poll") == 0 ? 1 : 0;
        else if (strcmp(argv[i], "--seconds") == 0)
            o.seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--ring") == 0)
            o.packed = strcmp(argv[i + 1], "packed") == 0;
        else if (strcmp(argv[i], "--in-order") == 0)
            o.no_in_order = strcmp(argv[i + 1], "no") == 0;
        else if (strcmp(argv[i], "--test") == 0)
            o.tests = strcmp(argv[i + 1], "tx") == 0     ? TEST_TX
                      : strcmp(argv[i + 1], "rx") == 0   ? TEST_RX
                      : strcmp(argv[i + 1], "loop") == 0 ? TEST_LOOP
                      : strcmp(argv[i + 1], "all") == 0  ? TEST_TX | TEST_RX | TEST_LOOP
                                                         : 0u;
        else
            bad = true;
    }
    if (bad || argc % 2 == 0 || o.seconds <= 0.0 || o.seconds > 30.0 || o.tests == 0u) {
        fprintf(stderr, "usage: xcv_net_bench [--mode event|poll] [--seconds S] "
                        "[--ring split|packed] [--in-order yes|no] [--test all|tx|rx|loop]\n");
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
