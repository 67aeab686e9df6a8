/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_vnf: a virtual network function in the driver compartment, fed through two virtio-net
 * devices served by the device compartment (two processes over the Linux port).
 *
 *   driver compartment (the VNF)  opens net device 0 ("in") and net device 1 ("out"), receives
 *                                 V2X-like frames (UDP messages carrying a station id) on "in",
 *                                 drops blacklisted stations, expired TTLs and anything that is
 *                                 not a well-formed V2X message, rewrites the rest (IPv4 TTL - 1
 *                                 with the checksum updated, hop counter + 1) and forwards them
 *                                 on "out". Prints packets/s in, out and dropped every second.
 *   device compartment            serves both devices. Default: a built-in traffic generator
 *                                 feeds "in" and a sink checks every frame that comes out of
 *                                 "out" byte for byte against the generator's schedule (order,
 *                                 rewrite, nothing missing, nothing extra). With --tap the two
 *                                 devices are bridged to TAP interfaces instead (xcv-vnf-in,
 *                                 xcv-vnf-out; needs /dev/net/tun and CAP_NET_ADMIN), and the
 *                                 generator and the sink send and receive through the kernel
 *                                 with packet sockets on those interfaces.
 *
 * The run ends with an end-of-run message that the VNF forwards like any other; when the sink
 * sees it, the device compartment takes the "out" link down, which tells the VNF (a config
 * change) that every frame was checked.
 *
 * Usage: xcv_vnf [--mode event|poll] [--seconds S] [--rate PPS] [--tap] [--socket PATH]
 * Exit status 0 only when every forwarded frame checked and none is missing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compartment.h"
#include "v2x.h"
#include "vnf_tap.h"

#define NET_BUF 2048u
#define QSIZE 256u
#define RX_BUFFERS 128u
#define BATCH 64u

struct opts {
    bool poll_mode;
    double seconds;
    uint64_t rate; /* frames/s from the generator; 0 = as fast as the VNF takes them */
    bool tap;
    char socket[108];
};

static void usage(void)
{
    fprintf(stderr, "usage: xcv_vnf [--mode event|poll] [--seconds S] [--rate PPS] [--tap] "
                    "[--socket PATH]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.seconds = 2.0};
    snprintf(o->socket, sizeof(o->socket), "/tmp/xcv-vnf-%ld.sock", (long)getpid());
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        }
        if (strcmp(a, "--tap") == 0) {
            o->tap = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            usage();
            return -1;
        }
        if (strcmp(a, "--mode") == 0 && strcmp(v, "poll") == 0) {
            o->poll_mode = true;
        } else if (strcmp(a, "--mode") == 0 && strcmp(v, "event") == 0) {
            o->poll_mode = false;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = atof(v);
        } else if (strcmp(a, "--rate") == 0) {
            o->rate = strtoull(v, NULL, 0);
        } else if (strcmp(a, "--socket") == 0) {
            snprintf(o->socket, sizeof(o->socket), "%s", v);
        } else {
            usage();
            return -1;
        }
    }
    if (o->seconds <= 0.0 || o->seconds > 60.0) {
        fprintf(stderr, "xcv_vnf: --seconds must be in (0, 60]\n");
        return -1;
    }
    return 0;
}

/* ==================================== device compartment ==================================== */

/* The sink: checks what comes out of the VNF against the generator's schedule. */
struct sink {
    uint32_t next;    /* the next sequence number the VNF must forward */
    uint64_t checked; /* frames equal byte for byte to the expected rewrite */
    uint64_t bad;     /* wrong bytes, out of order, or duplicated */
    uint64_t missing; /* frames the VNF should have forwarded but did not */
    uint64_t foreign; /* frames that are no V2X message (TAP: the kernel's own traffic) */
    bool end;         /* the end-of-run message arrived */
};

static uint32_t next_forward(uint32_t from, uint32_t limit)
{
    while (from < limit && !v2x_should_forward(from))
        from++;
    return from;
}

/* One frame out of the VNF; @p generated frames have been generated so far. */
static void sink_frame(struct sink *s, const uint8_t *f, uint32_t len, uint32_t generated)
{
    uint32_t seq;
    bool end;
    if (!v2x_peek(f, len, &seq, &end)) {
        s->foreign++;
        return;
    }
    /* Nothing may follow the end message; the end carries the number of frames generated;
     * a frame must have been generated, and come after the last one forwarded. */
    if (s->end || (end && seq != generated) || (!end && (seq >= generated || seq < s->next))) {
        s->bad++;
        return;
    }
    for (uint32_t j = s->next; j < seq; j++) /* skipped: the VNF lost or dropped them */
        s->missing += v2x_should_forward(j) ? 1u : 0u;
    uint8_t want[V2X_FRAME_MAX];
    uint32_t wl = v2x_expected(want, seq, end);
    if (wl == len && memcmp(want, f, len) == 0)
        s->checked++;
    else
        s->bad++;
    s->next = end ? seq : next_forward(seq + 1u, UINT32_MAX);
    s->end = end;
}

struct dev_side {
    const struct opts *o;
    struct cpt_device cd;
    struct xcv_net_dev in, out;
    struct sink sink;
    uint32_t seq; /* generator: next sequence number */
    uint64_t delivered;
    uint64_t unexpected; /* frames the VNF transmitted on "in" */
    bool end_sent;
    bool blocked; /* no receive buffer on "in" (or, with TAP, too many frames in flight) */
    struct vnf_tap tap;
};

/* With TAP the kernel's queues drop what overflows them: keep at most this many frames between
 * the generator and the sink. */
#define TAP_WINDOW 256u

static int out_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    struct dev_side *d = ctx;
    (void)hdr;
    uint8_t f[V2X_FRAME_MAX];
    if (len > sizeof(f)) {
        d->sink.bad++;
        return XCV_OK;
    }
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) { /* copied out of the window once */
        memcpy(f + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    bool was_end = d->sink.end;
    sink_frame(&d->sink, f, len, d->seq);
    if (!was_end && d->sink.end)
        (void)xcv_net_dev_set_link(&d->out, false); /* tells the VNF: all checked */
    return XCV_OK;
}

static int in_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                       unsigned n, uint32_t len)
{
    (void)hdr;
    (void)iov;
    (void)n;
    (void)len;
    ((struct dev_side *)ctx)->unexpected++;
    return XCV_OK;
}

static const struct xcv_net_backend_ops in_ops = {.transmit = in_transmit};
static const struct xcv_net_backend_ops out_ops = {.transmit = out_transmit};

/* Generator into "in": as fast as the VNF's receive buffers allow, or at the rate asked. */
static void generate(struct dev_side *d, uint64_t t0, uint64_t now)
{
    uint64_t gen_end = t0 + (uint64_t)(d->o->seconds * 1e9);
    uint8_t f[V2X_FRAME_MAX];
    for (unsigned i = 0; i < BATCH && !d->end_sent; i++) {
        bool end = now >= gen_end;
        if (!end && d->o->rate != 0u && d->seq >= (now - t0) * d->o->rate / 1000000000u)
            return; /* ahead of the rate */
        if (d->o->tap && d->seq > d->sink.next && d->seq - d->sink.next >= TAP_WINDOW) {
            d->blocked = true; /* wait for the sink to catch up */
            return;
        }
        uint32_t len = v2x_build(f, d->seq, end);
        int r =
            d->o->tap ? vnf_tap_send(&d->tap, f, len) : xcv_net_dev_deliver(&d->in, NULL, f, len);
        if (r == XCV_EAGAIN) {
            d->blocked = true; /* the VNF's refill kicks the receive queue */
            return;
        }
        d->blocked = false;
        if (r != XCV_OK)
            return; /* dropped by the model (counted) or the link is gone */
        d->delivered++;
        if (end)
            d->end_sent = true;
        else
            d->seq++;
    }
}

static int device_main(void *arg)
{
    static struct dev_side d;
    d.o = arg;
    int r = d.o->tap ? vnf_tap_open(&d.tap) : XCV_OK;
    if (r != XCV_OK) {
        fprintf(stderr, "device: TAP interfaces: %s (%s)\n", xcv_strerror(r), strerror(errno));
        return 1;
    }
    r = cpt_device_listen(&d.cd, d.o->socket, d.o->poll_mode);
    struct xcv_net_dev_config nc = {
        .mtu = 1500, .queue_size = QSIZE, .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    const uint8_t mac_in[6] = {0x02, 0x78, 0x63, 0x76, 0x00, 0x10};
    const uint8_t mac_out[6] = {0x02, 0x78, 0x63, 0x76, 0x00, 0x11};
    if (r == XCV_OK) {
        nc.ops = &in_ops;
        nc.backend_ctx = &d;
        memcpy(nc.mac, mac_in, 6);
        r = xcv_net_dev_init(&d.in, &d.cd.ch, &nc);
    }
    if (r >= 0) {
        /* "out": into the sink, or with TAP onto xcv-vnf-out (the sink listens there). */
        nc.ops = d.o->tap ? &xcv_linux_tap_ops : &out_ops;
        nc.backend_ctx = d.o->tap ? (void *)&d.tap.out : (void *)&d;
        memcpy(nc.mac, mac_out, 6);
        r = xcv_net_dev_init(&d.out, &d.cd.ch, &nc);
    }
    if (r >= 0)
        r = cpt_device_accept(&d.cd, 10000);
    if (r != XCV_OK) {
        fprintf(stderr, "device: setup: %s\n", xcv_strerror(r));
        cpt_device_close(&d.cd);
        vnf_tap_close(&d.tap);
        return 1;
    }
    uint64_t t0 = 0;
    uint64_t limit = cpt_now_ns() + (uint64_t)(d.o->seconds * 1e9) + 60000000000ull;
    for (;;) {
        uint64_t now = cpt_now_ns();
        if (now > limit) {
            r = XCV_ETIMEDOUT;
            break;
        }
        /* Sleep on the doorbell only when nothing else can make progress: the generator is
         * blocked or done (or paced by --rate), and no TAP fd is to be watched. */
        bool busy = !d.end_sent && !d.blocked && t0 != 0u && d.o->rate == 0u;
        int pr = cpt_device_pass(&d.cd, busy || d.o->tap, d.o->rate != 0u ? 1 : 50);
        if (pr != 0) {
            r = pr > 0 ? XCV_OK : pr;
            break;
        }
        /* Generate once the VNF has both devices up (its receive buffers are posted). */
        if (t0 == 0u && xcv_net_dev_stats(&d.out)->tx_frames == 0u &&
            (xcv_vdev_status(xcv_net_dev_vdev(&d.out)) & XCV_VIRTIO_STATUS_DRIVER_OK) != 0u)
            t0 = now;
        if (t0 != 0u && !d.end_sent)
            generate(&d, t0, now);
        if (d.o->tap) {
            /* xcv-vnf-in feeds the VNF; what the VNF sent reaches the sink on xcv-vnf-out. */
            (void)xcv_linux_tap_pump(&d.tap.in, &d.in, BATCH);
            uint8_t f[V2X_FRAME_MAX];
            uint32_t len;
            bool was_end = d.sink.end;
            while (vnf_tap_recv(&d.tap, f, sizeof(f), &len) == XCV_OK)
                sink_frame(&d.sink, f, len, d.seq);
            if (!was_end && d.sink.end)
                (void)xcv_net_dev_set_link(&d.out, false);
        }
        if (xcv_net_dev_pending(&d.in))
            (void)xcv_net_dev_run(&d.in, BATCH);
        if (xcv_net_dev_pending(&d.out))
            (void)xcv_net_dev_run(&d.out, BATCH);
    }
    const struct xcv_net_dev_stats *in = xcv_net_dev_stats(&d.in);
    const struct xcv_net_dev_stats *out = xcv_net_dev_stats(&d.out);
    printf("device: generator %" PRIu64 " frames (%" PRIu64 " dropped by the model: no room); "
           "%s\n",
           d.delivered, in->rx_dropped, d.o->tap ? "through TAP xcv-vnf-in" : "into net 0");
    printf("device: sink %" PRIu64 " frames from net 1%s, %" PRIu64 " checked byte for byte, "
           "%" PRIu64 " bad, %" PRIu64 " missing, %" PRIu64 " not V2X; end message %s\n",
           out->tx_frames, d.o->tap ? " through TAP xcv-vnf-out" : "", d.sink.checked, d.sink.bad,
           d.sink.missing, d.sink.foreign, d.sink.end ? "seen" : "NOT seen");
    if (d.o->tap)
        printf("device: TAP xcv-vnf-in %" PRIu64 " frames to the VNF (%" PRIu64
               " dropped); xcv-vnf-out %" PRIu64 " frames from the VNF (%" PRIu64 " dropped)\n",
               d.tap.in.stats.from_kernel, d.tap.in.stats.from_kernel_drops,
               d.tap.out.stats.to_kernel, d.tap.out.stats.to_kernel_drops);
    cpt_device_close(&d.cd);
    vnf_tap_close(&d.tap);
    bool ok = r == XCV_OK && d.sink.end && d.sink.bad == 0u && d.sink.missing == 0u &&
              d.unexpected == 0u && d.sink.checked > 0u;
    return ok ? 0 : 1;
}

/* ==================================== driver compartment ==================================== */

struct vnf_stats {
    uint64_t in, out, blacklist, ttl, other;
};

static uint64_t dropped(const struct vnf_stats *s)
{
    return s->blacklist + s->ttl + s->other;
}

static int driver_main(const struct opts *o, pid_t child)
{
    static struct cpt_driver d;
    static struct xcv_net_drv in, out;
    int r = cpt_driver_attach(&d, o->socket, NET_BUF);
    struct xcv_net_drv_config nc = {.pool = &d.pool, .queue_size = QSIZE, .rx_buffers = RX_BUFFERS};
    if (r == XCV_OK) {
        nc.dev_num = 0;
        r = xcv_net_drv_open(&in, &d.ch, &nc);
    }
    if (r == XCV_OK) {
        nc.dev_num = 1;
        r = xcv_net_drv_open(&out, &d.ch, &nc);
    }
    if (r != XCV_OK) {
        fprintf(stderr, "vnf: setup: %s\n", xcv_strerror(r));
        cpt_reap(child, 100);
        return 1;
    }
    printf("vnf: net 0 (in) and net 1 (out) open, MTU %u; dropping stations", xcv_net_drv_mtu(&in));
    for (unsigned i = 0; i < v2x_blacklist_len; i++)
        printf(" %u", v2x_blacklist[i]);
    printf("; rewriting TTL and hop counter\n");

    /* The drivers have no call to arm used notifications: reach their queues (event mode
     * sleeps on the doorbell until frames arrive or transmit buffers come back). */
    struct xcv_vq_driver *arm[2] = {xcv_vdrv_queue(&in.vdrv, XCV_NET_RXQ),
                                    xcv_vdrv_queue(&out.vdrv, XCV_NET_TXQ)};
    struct vnf_stats st = {0}, last = {0};
    uint64_t t0 = cpt_now_ns(), tick = t0 + 1000000000u;
    uint64_t deadline = t0 + (uint64_t)(o->seconds * 1e9) + 30000000000ull;
    uint64_t first = 0, end_at = 0;
    bool end = false;
    uint8_t f[V2X_FRAME_MAX];
    while (!end && r == XCV_OK) {
        uint64_t now = cpt_now_ns();
        if (now > deadline) {
            r = XCV_ETIMEDOUT;
            break;
        }
        if (now >= tick) {
            printf("vnf: %5.1f s  in %8" PRIu64 " pps  out %8" PRIu64 " pps  dropped %7" PRIu64
                   " pps\n",
                   (double)(now - t0) / 1e9, st.in - last.in, st.out - last.out,
                   dropped(&st) - dropped(&last));
            last = st;
            tick += 1000000000u;
        }
        unsigned n = 0;
        for (; n < BATCH && !end; n++) {
            struct xcv_net_hdr h;
            uint32_t len;
            r = xcv_net_drv_receive(&in, &h, f, sizeof(f), &len);
            if (r == XCV_EAGAIN) {
                r = XCV_OK;
                break;
            }
            if (r == XCV_ENOMEM || r == XCV_EPROTO_DEVICE) {
                st.in++;
                st.other++; /* too big or malformed: dropped by the driver */
                r = XCV_OK;
                continue;
            }
            if (r != XCV_OK)
                break;
            if (first == 0u)
                first = cpt_now_ns();
            st.in++;
            uint32_t seq;
            bool is_end = false;
            switch (v2x_process(f, len, &seq, &is_end)) {
            case V2X_DROP_BLACKLIST:
                st.blacklist++;
                continue;
            case V2X_DROP_TTL:
                st.ttl++;
                continue;
            case V2X_DROP_OTHER:
                st.other++;
                continue;
            case V2X_FORWARD:
                break;
            }
            /* Forward; wait for transmit room when the ring or the pool is full (bounded). */
            while ((r = xcv_net_drv_send(&out, &h, f, len)) == XCV_ENOSPC || r == XCV_ENOMEM) {
                if (cpt_now_ns() > deadline)
                    break;
                r = cpt_driver_wait(&d, &arm[1], 1, 10);
                if (r != XCV_OK)
                    break;
            }
            if (r != XCV_OK)
                break;
            st.out++;
            if (is_end) {
                end = true;
                end_at = cpt_now_ns();
            }
        }
        if (n == 0u && r == XCV_OK)
            r = cpt_driver_wait(&d, arm, 2, 50);
    }
    /* The device compartment takes the "out" link down once its sink saw the end message. */
    int link = 1;
    while (r == XCV_OK && (link = xcv_net_drv_link_up(&out)) == 1 && cpt_now_ns() < deadline)
        r = cpt_driver_wait(&d, &arm[1], 1, 10);
    if (r == XCV_OK && link != 0)
        r = link < 0 ? link : XCV_ETIMEDOUT;

    cpt_driver_close(&d);
    int dev_rc = cpt_reap(child, 5000);
    double secs = first != 0u && end_at > first ? (double)(end_at - first) / 1e9 : 0.0;
    printf("== xcv_vnf --mode %s%s: V2X filter between two virtio-net devices, two processes\n",
           o->poll_mode ? "poll" : "event", o->tap ? " --tap" : "");
    if (secs > 0.0) {
        printf("  in          %" PRIu64 " frames, %.0f pps\n", st.in, (double)st.in / secs);
        printf("  out         %" PRIu64 " frames, %.0f pps (rewritten: TTL - 1, hops + 1)\n",
               st.out, (double)st.out / secs);
        printf("  dropped     %" PRIu64 " frames, %.0f pps: %" PRIu64 " blacklisted, %" PRIu64
               " TTL expired, %" PRIu64 " not V2X\n",
               dropped(&st), (double)dropped(&st) / secs, st.blacklist, st.ttl, st.other);
    }
    printf("  checked     by the device compartment's sink: %s\n",
           dev_rc == 0 ? "every forwarded frame, none missing" : "FAILED (see its lines above)");
    uint64_t errors = (r != XCV_OK) + (dev_rc != 0) + (st.in != st.out + dropped(&st));
    printf("  errors      %" PRIu64 "%s%s\n", errors, r != XCV_OK ? ": " : "",
           r != XCV_OK ? xcv_strerror(r) : "");
    return errors == 0u ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct opts o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o.tap && !vnf_tap_available()) {
        fprintf(stderr, "xcv_vnf: --tap needs /dev/net/tun and CAP_NET_ADMIN\n");
        return 2;
    }
    pid_t pid = cpt_fork(device_main, &o, 120);
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    return driver_main(&o, pid);
}
