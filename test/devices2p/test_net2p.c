/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net between two processes over the Linux port: the forked device process runs the net
 * model with a reflecting backend (every transmitted frame comes back on the receive queue with
 * its MAC addresses swapped and its header carried through); this process sends 20000 frames
 * of 60..1514 bytes with up to 64 in flight and checks every received frame: order, length,
 * bytes, header. Event and busy-poll modes, and receive buffers smaller than a frame
 * (MRG_RXBUF: the reflector sends back each frame repeated to three times its length, so a
 * frame spans several 512-byte buffers).
 */
#define _GNU_SOURCE /* before any system header: POLLRDHUP, ... */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "d2p.h"

#define FRAMES 20000u
#define WINDOW 64u
#define FIFO 256u /* frames the reflector holds while the driver has no receive buffer posted */
#define FRAME_MAX 1514u

enum {
    C_TX,
    C_RX,
    C_TX_DROPPED,
    C_RX_DROPPED,
    C_RX_BAD,
    C_FIFO_FULL,
    C_TX_ERRORS
};

static const uint8_t dev_mac[6] = {0x02, 0x78, 0x63, 0x76, 0x00, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0x78, 0x63, 0x76, 0x00, 0x02};

struct slot {
    struct xcv_net_hdr hdr;
    uint32_t len;
    uint8_t frame[FRAME_MAX];
};

struct net_side {
    struct d2p_shared *sh;
    struct xcv_net_dev dev;
    bool mrg;
    unsigned expand; /* received frame = transmitted frame repeated to this many times */
    struct slot fifo[FIFO];
    uint32_t head, tail; /* free-running */
    uint64_t fifo_full;
};

/* The frame the reflector returns for @p in (@p len bytes): @p in repeated up to @p expand
 * times its length (at most FRAME_MAX), then the two MAC addresses swapped. */
static uint32_t reflect(uint8_t *out, const uint8_t *in, uint32_t len, unsigned expand)
{
    uint32_t rl = len * expand < FRAME_MAX ? len * expand : FRAME_MAX;
    for (uint32_t i = 0; i < rl; i++)
        out[i] = in[i % len];
    if (rl >= 12u) {
        uint8_t t[6];
        memcpy(t, out, 6);
        memcpy(out, out + 6, 6);
        memcpy(out + 6, t, 6);
    }
    return rl;
}

/* Transmitted frame: copied out of the window, reflected into the FIFO. */
static int net_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    struct net_side *s = ctx;
    if (s->tail - s->head == FIFO || len > FRAME_MAX) {
        s->fifo_full++;
        return XCV_ENOMEM;
    }
    struct slot *f = &s->fifo[s->tail % FIFO];
    uint8_t in[FRAME_MAX];
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(in + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    f->hdr = *hdr;
    f->len = len != 0u ? reflect(f->frame, in, len, s->expand) : 0u;
    s->tail++;
    return XCV_OK;
}

static const struct xcv_net_backend_ops net_ops = {.transmit = net_transmit};

static int net_setup(void *ctx, struct xcv_channel *ch, struct d2p_shared *sh)
{
    struct net_side *s = ctx;
    s->sh = sh;
    s->head = s->tail = 0;
    struct xcv_net_dev_config nc = {.ops = &net_ops,
                                    .backend_ctx = s,
                                    .mtu = 1500,
                                    .mrg_rxbuf = s->mrg,
                                    .queue_size = 256,
                                    .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    memcpy(nc.mac, dev_mac, 6);
    int r = xcv_net_dev_init(&s->dev, ch, &nc);
    return r < 0 ? r : XCV_OK;
}

/* Deliver what the driver's receive buffers can take; keep the rest. */
static bool net_tick(void *ctx)
{
    struct net_side *s = ctx;
    while (s->head != s->tail) {
        struct slot *f = &s->fifo[s->head % FIFO];
        int r = xcv_net_dev_deliver(&s->dev, &f->hdr, f->frame, f->len);
        if (r == XCV_EAGAIN)
            break; /* no receive buffer: the driver's refill kicks us */
        s->head++; /* delivered, or dropped (counted by the model) */
    }
    if (xcv_net_dev_pending(&s->dev))
        (void)xcv_net_dev_run(&s->dev, 64);
    return xcv_net_dev_pending(&s->dev);
}

static void net_finish(void *ctx)
{
    struct net_side *s = ctx;
    const struct xcv_net_dev_stats *st = xcv_net_dev_stats(&s->dev);
    uint64_t *c = s->sh->c;
    c[C_TX] = st->tx_frames;
    c[C_RX] = st->rx_frames;
    c[C_TX_DROPPED] = st->tx_dropped;
    c[C_RX_DROPPED] = st->rx_dropped;
    c[C_RX_BAD] = st->rx_bad_chain;
    c[C_FIFO_FULL] = s->fifo_full;
    c[C_TX_ERRORS] = st->tx_errors;
}

static uint32_t frame_len(uint32_t seq)
{
    return 60u + (seq * 7919u) % (FRAME_MAX - 60u + 1u);
}

static void build(uint8_t *p, uint32_t seq, uint32_t len)
{
    memcpy(p, dev_mac, 6);
    memcpy(p + 6, peer_mac, 6);
    p[12] = 0x88; /* local experimental ethertype */
    p[13] = 0xb5;
    memcpy(p + 14, &seq, 4);
    for (uint32_t i = 18; i < len; i++)
        p[i] = (uint8_t)(seq * 31u + i);
}

static void run(bool poll_mode, bool mrg)
{
    char sock[108];
    d2p_sock_path(sock, sizeof(sock), poll_mode ? "net-poll" : mrg ? "net-mrg" : "net-event");
    struct d2p_shared *sh = d2p_shared_map();
    assert_non_null(sh);
    static struct net_side side;
    side.mrg = mrg;
    side.expand = mrg ? 3u : 1u;
    struct d2p_device dv = {
        .setup = net_setup, .tick = net_tick, .finish = net_finish, .ctx = &side};
    pid_t pid = d2p_spawn(sock, poll_mode, &dv, sh);
    assert_true(pid > 0);
    static struct d2p_driver drv;
    static struct xcv_net_drv net;
    /* Plain: one 2 KiB buffer holds any frame. MRG_RXBUF: 512-byte buffers, up to 4 a frame. */
    int r = d2p_attach(&drv, sock, poll_mode, mrg ? 512u : 2048u);
    uint32_t pool_full = xcv_pool_available(&drv.pool);
    struct xcv_net_drv_config nc = {
        .dev_num = 0, .pool = &drv.pool, .queue_size = 256, .rx_buffers = 128};
    if (r == XCV_OK)
        r = xcv_net_drv_open(&net, &drv.ch, &nc);
    if (r != XCV_OK) {
        d2p_reap(pid, 100);
        fail_msg("attach/open: %s", xcv_strerror(r));
    }
    assert_memory_equal(xcv_net_drv_mac(&net), dev_mac, 6);
    assert_int_equal(xcv_net_drv_mtu(&net), 1500);
    assert_int_equal(xcv_net_drv_link_up(&net), 1);
    assert_int_equal((xcv_net_drv_features(&net) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF)) != 0u,
                     mrg);
    /* A transmit takes one pool buffer: the MRG run sends frames of at most 500 bytes and gets
     * them back up to three times longer. */
    uint32_t max_len = mrg ? 512u - XCV_VIRTIO_NET_HDR_SIZE : FRAME_MAX;
    /* The model drops a frame the posted buffers cannot hold (no back-pressure on receive):
     * keep the frames in flight within the 128 receive buffers (up to 3 per frame with MRG). */
    uint32_t window = mrg ? WINDOW / 2u : WINDOW;

    /* The net driver has no call to arm used notifications: use its receive queue. */
    struct xcv_vq_driver *rxq = xcv_vdrv_queue(&net.vdrv, XCV_NET_RXQ);
    assert_non_null(rxq);
    uint32_t sent = 0, got = 0;
    uint64_t deadline = d2p_now() + 30000000000ull;
    static uint8_t tx[FRAME_MAX], rx[FRAME_MAX + 64u], want[FRAME_MAX];
    while (got < FRAMES) {
        assert_true(d2p_now() < deadline);
        bool progress = false;
        while (sent < FRAMES && sent - got < window) {
            uint32_t len = frame_len(sent) % (max_len + 1u);
            if (len < 60u)
                len = 60u;
            build(tx, sent, len);
            struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                    .csum_start = (uint16_t)(sent & 0xffffu),
                                    .csum_offset = 6};
            r = xcv_net_drv_send(&net, &h, tx, len);
            if (r == XCV_ENOMEM || r == XCV_ENOSPC)
                break; /* pool or ring full: receive first */
            assert_int_equal(r, XCV_OK);
            sent++;
            progress = true;
        }
        struct xcv_net_hdr h;
        uint32_t len = 0;
        while ((r = xcv_net_drv_receive(&net, &h, rx, sizeof(rx), &len)) == XCV_OK) {
            uint32_t seq;
            memcpy(&seq, rx + 14, 4);
            assert_int_equal(seq, got); /* in order, none lost */
            uint32_t tl = frame_len(got) % (max_len + 1u);
            if (tl < 60u)
                tl = 60u;
            build(tx, got, tl);
            uint32_t wl = reflect(want, tx, tl, side.expand);
            assert_int_equal(len, wl);
            assert_memory_equal(rx, peer_mac, 6); /* swapped by the reflector */
            assert_memory_equal(rx + 6, dev_mac, 6);
            assert_memory_equal(rx, want, wl);
            assert_int_equal(h.flags, XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM);
            assert_int_equal(h.csum_start, got & 0xffffu);
            assert_int_equal(h.csum_offset, 6);
            got++;
            progress = true;
        }
        assert_int_equal(r, XCV_EAGAIN);
        if (!progress)
            assert_int_equal(d2p_wait(&drv, rxq, 20), XCV_OK);
    }
    assert_int_equal(xcv_net_drv_stats(&net)->rx_dropped, 0);
    /* Every pool buffer comes back on a reset (posted receive buffers, finished transmits). */
    assert_int_equal(xcv_net_drv_reset(&net), XCV_OK);
    assert_int_equal(xcv_pool_available(&drv.pool), pool_full);
    d2p_detach(&drv);
    assert_int_equal(d2p_reap(pid, 5000), 0);
    assert_int_equal(sh->setup_rc, 0);
    assert_int_equal(sh->c[C_TX], FRAMES);
    assert_int_equal(sh->c[C_RX], FRAMES);
    assert_int_equal(sh->c[C_TX_DROPPED], 0);
    assert_int_equal(sh->c[C_RX_DROPPED], 0);
    assert_int_equal(sh->c[C_RX_BAD], 0);
    assert_int_equal(sh->c[C_FIFO_FULL], 0);
    assert_int_equal(sh->c[C_TX_ERRORS], 0);
    d2p_shared_unmap(sh);
}

static void test_net_event(void **state)
{
    (void)state;
    run(false, false);
}

static void test_net_poll(void **state)
{
    (void)state;
    run(true, false);
}

static void test_net_mrg_event(void **state)
{
    (void)state;
    run(false, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_net_event, d2p_teardown),
        cmocka_unit_test_teardown(test_net_poll, d2p_teardown),
        cmocka_unit_test_teardown(test_net_mrg_event, d2p_teardown),
    };
    return cmocka_run_group_tests_name("devices2p_net", tests, NULL, NULL);
}
