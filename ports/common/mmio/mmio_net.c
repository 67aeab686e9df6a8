/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio driver test: QEMU's virtio-net-device on its user-mode network (slirp).
 *
 * Modern device (version 2): the net driver, xcv_net_drv_open_on() on the virtio-mmio
 * transport with a pool of receive and transmit buffers:
 *   - VERSION_1 and MAC negotiated, the MAC read at open equals the one given to QEMU, link up;
 *   - an ARP request for the gateway 10.0.2.2 sent with xcv_net_drv_send(), the gateway's ARP
 *     reply taken with xcv_net_drv_receive() and checked (the 12-byte header is the driver's);
 *   - xcv_net_drv_reset() returns every pool buffer, the same driver object opens again.
 *
 * Legacy device (version 1): the net driver, which carries the 12-byte VERSION_1 header only,
 * must refuse it with XCV_ENOTSUP and leave the transport free; the device is then driven
 * through the transport-neutral ::xcv_vdrv and two driver queues (receiveq 0, transmitq 1)
 * with the 10-byte legacy header (no MRG_RXBUF):
 *   - the MAC from config space (byte accesses) equals the one given to QEMU, link status up;
 *   - receive buffers posted, the ARP request sent, the gateway's reply received and checked;
 *   - a reset takes every posted receive buffer back through the cancel callback, and the same
 *     device object opens again.
 */
#include "mmio_common.h"

#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/virtio.h"

#define RX_N 8u
#define RX_BUF 2048u
#define QSIZE 16u
#define POOL_N 16u     /* net driver: 8 receive buffers posted, the rest for transmit */
#define LEGACY_HDR 10u /* struct virtio_net_hdr without num_buffers */
#define ETH_ARP 0x0806u
#define ARP_FRAME 60u

static const uint8_t want_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t my_ip[4] = {10, 0, 2, 15};
static const uint8_t gw_ip[4] = {10, 0, 2, 2};

static uint8_t dma_area[64u * 1024u] __attribute__((aligned(4096)));
static uint8_t rx_bufs[RX_N][RX_BUF] __attribute__((aligned(64)));
static uint8_t tx_buf[128] __attribute__((aligned(64)));
static uint8_t pool_mem[POOL_N * RX_BUF] __attribute__((aligned(4096)));
static uint32_t pool_free[POOL_N];
static struct xcv_pool pool;
static struct xcv_net_drv nd;
static uint8_t rx_frame[RX_BUF];
static struct xcv_mmio mmio;
static struct xcv_vdrv net;
static struct xcv_vdrv_queue queues[2];
static struct xcv_vq_drv_slot rx_slots[QSIZE];
static struct xcv_vq_drv_slot tx_slots[QSIZE];
static unsigned cancelled;
static unsigned config_events;

static void net_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)token;
    if (q == 0u && err == XCV_ECANCELED)
        cancelled++;
}

static void net_config(void *ctx, struct xcv_vdrv *d)
{
    (void)ctx;
    (void)d;
    config_events++;
}

static const struct xcv_vdrv_ops net_ops = {.config = net_config, .cancel = net_cancel};

static int open_net(const struct xcv_vdrv_transport *t)
{
    queues[0] = (struct xcv_vdrv_queue){.slots = rx_slots, .size = QSIZE};
    queues[1] = (struct xcv_vdrv_queue){.slots = tx_slots, .size = QSIZE};
    struct xcv_vdrv_config c = {
        .device_id = XCV_VIRTIO_ID_NET,
        .features = XCV_FEATURE(XCV_VIRTIO_NET_F_MAC) | XCV_FEATURE(XCV_VIRTIO_NET_F_STATUS) |
                    XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .queues = queues,
        .num_queues = 2,
        .ops = &net_ops,
    };
    return xcv_vdrv_open_on(t, &net, &c);
}

static int check_config(uint8_t mac[6])
{
    /* Byte fields read one byte at a time (4.2.2.2: accesses as wide as the field). */
    for (uint32_t i = 0; i < 6u; i++) {
        int r = xcv_vdrv_read_config(&net, XCV_VIRTIO_NET_CFG_MAC + i, &mac[i], 1);
        if (mmio_check("read mac", r, XCV_OK))
            return 1;
        if (mac[i] != want_mac[i])
            return mmio_check("mac byte", mac[i], want_mac[i]);
    }
    if (xcv_vdrv_features(&net) & XCV_FEATURE(XCV_VIRTIO_NET_F_STATUS)) {
        uint8_t st[2];
        if (mmio_check("read status", xcv_vdrv_read_config(&net, XCV_VIRTIO_NET_CFG_STATUS, st, 2),
                       XCV_OK) ||
            mmio_check("link up", st[0] & XCV_VIRTIO_NET_S_LINK_UP, XCV_VIRTIO_NET_S_LINK_UP))
            return 1;
    }
    return 0;
}

static int post_rx(struct xcv_vq_driver *rx, unsigned i)
{
    struct xcv_sg sg = {.addr = (uint64_t)(uintptr_t)rx_bufs[i], .len = RX_BUF};
    return xcv_vq_driver_add(rx, &sg, 0, 1, rx_bufs[i]);
}

static void put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16be(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static bool same(const uint8_t *a, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

/* An ARP request "who has 10.0.2.2, tell 10.0.2.15" after a zeroed virtio-net header. */
static uint32_t build_arp(const uint8_t mac[6], uint32_t hdr)
{
    for (unsigned i = 0; i < sizeof(tx_buf); i++)
        tx_buf[i] = 0;
    uint8_t *e = tx_buf + hdr;
    for (unsigned i = 0; i < 6u; i++) {
        e[i] = 0xff;       /* broadcast */
        e[6 + i] = mac[i]; /* source */
    }
    put16be(e + 12, ETH_ARP);
    uint8_t *a = e + 14;
    put16be(a, 1);           /* Ethernet */
    put16be(a + 2, 0x0800u); /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    put16be(a + 6, 1); /* request */
    for (unsigned i = 0; i < 6u; i++)
        a[8 + i] = mac[i];
    for (unsigned i = 0; i < 4u; i++) {
        a[14 + i] = my_ip[i];
        a[24 + i] = gw_ip[i];
    }
    return hdr + ARP_FRAME;
}

/* Is this received frame the gateway's ARP reply to us? */
static bool is_arp_reply(const uint8_t *f, uint32_t len, const uint8_t mac[6])
{
    if (len < 42u || get16be(f + 12) != ETH_ARP || !same(f, mac, 6))
        return false;
    const uint8_t *a = f + 14;
    return get16be(a + 6) == 2u && same(a + 14, gw_ip, 4) && same(a + 18, mac, 6) &&
           same(a + 24, my_ip, 4);
}

static int arp_exchange(const uint8_t mac[6], uint32_t hdr)
{
    struct xcv_vq_driver *rx = xcv_vdrv_queue(&net, 0);
    struct xcv_vq_driver *tx = xcv_vdrv_queue(&net, 1);
    if (rx == NULL || tx == NULL)
        return mmio_check("queues", -1, 0);
    for (unsigned i = 0; i < RX_N; i++) {
        if (mmio_check("post rx", post_rx(rx, i), XCV_OK))
            return 1;
    }
    if (xcv_vq_driver_kick(rx) < 0)
        return mmio_check("kick rx", -1, 0);
    uint32_t len = build_arp(mac, hdr);
    struct xcv_sg sg[2] = {{(uint64_t)(uintptr_t)tx_buf, hdr},
                           {(uint64_t)(uintptr_t)tx_buf + hdr, len - hdr}};
    if (mmio_check("post tx", xcv_vq_driver_add(tx, sg, 2, 0, tx_buf), XCV_OK) ||
        mmio_check("kick tx", xcv_vq_driver_kick(tx) >= 0, true))
        return 1;

    bool sent = false;
    bool replied = false;
    unsigned frames = 0;
    uint64_t deadline = mmio_now_ns() + MMIO_TEST_TIMEOUT_NS;
    while (!(sent && replied)) {
        if (mmio_now_ns() > deadline) {
            mmio_say("FAIL: timeout; sent", sent);
            mmio_say("  frames received", frames);
            return 1;
        }
        int r = xcv_vdrv_poll(&net, 16);
        if (mmio_check("poll", r < 0 ? r : 0, 0))
            return 1;
        void *tok;
        uint32_t used;
        r = xcv_vq_driver_get_used(tx, &tok, &used);
        if (r == XCV_OK) {
            if (mmio_check("tx token", tok == tx_buf, true))
                return 1;
            sent = true;
        } else if (r != XCV_EAGAIN) {
            return mmio_check("tx used", r, XCV_OK);
        }
        r = xcv_vq_driver_get_used(rx, &tok, &used);
        if (r == XCV_EAGAIN)
            continue;
        if (mmio_check("rx used", r, XCV_OK))
            return 1;
        unsigned i = (unsigned)(((uint8_t(*)[RX_BUF])tok) - rx_bufs);
        frames++;
        if (used > hdr && is_arp_reply(rx_bufs[i] + hdr, used - hdr, mac)) {
            mmio_say("ARP reply from the gateway, frame bytes", used - hdr);
            replied = true;
        }
        if (mmio_check("repost rx", post_rx(rx, i), XCV_OK) || xcv_vq_driver_kick(rx) < 0)
            return 1;
    }
    return 0;
}

/* ---- modern: the net driver ---- */

static int drv_open(const struct xcv_vdrv_transport *t)
{
    /* Every feature the driver knows that the device offers (packed rings never on mmio). */
    struct xcv_net_drv_config c = {.pool = &pool, .queue_size = QSIZE, .rx_buffers = RX_N};
    return xcv_net_drv_open_on(&nd, t, &c);
}

static int drv_check_config(void)
{
    uint64_t f = xcv_net_drv_features(&nd);
    mmio_say("features lo", (int64_t)(uint32_t)f);
    mmio_say("features hi", (int64_t)(f >> 32));
    if (mmio_check("VERSION_1 negotiated", (f & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) != 0u, true) ||
        mmio_check("MAC negotiated", (f & XCV_FEATURE(XCV_VIRTIO_NET_F_MAC)) != 0u, true) ||
        mmio_check("no packed ring on mmio", (f & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) != 0u,
                   false) ||
        mmio_check("mac", same(xcv_net_drv_mac(&nd), want_mac, 6), true) ||
        mmio_check("link up", xcv_net_drv_link_up(&nd), 1))
        return 1;
    return 0;
}

static int drv_arp_exchange(void)
{
    /* The frame without a header: the driver writes the 12-byte header in front of it. */
    uint32_t len = build_arp(want_mac, 0);
    if (mmio_check("send", xcv_net_drv_send(&nd, NULL, tx_buf, len), XCV_OK))
        return 1;
    unsigned frames = 0;
    uint64_t deadline = mmio_now_ns() + MMIO_TEST_TIMEOUT_NS;
    for (;;) {
        if (mmio_now_ns() > deadline) {
            mmio_say("FAIL: timeout; frames received", frames);
            return 1;
        }
        /* Acknowledge the device's interrupts (InterruptStatus); the driver never blocks. */
        int r = xcv_vdrv_poll(&nd.vdrv, 16);
        if (mmio_check("poll", r < 0 ? r : 0, 0))
            return 1;
        struct xcv_net_hdr h;
        uint32_t got = 0;
        r = xcv_net_drv_receive(&nd, &h, rx_frame, sizeof(rx_frame), &got);
        if (r == XCV_EAGAIN)
            continue;
        if (mmio_check("receive", r, XCV_OK))
            return 1;
        frames++;
        if (is_arp_reply(rx_frame, got, want_mac)) {
            mmio_say("ARP reply from the gateway, frame bytes", got);
            mmio_say("  header num_buffers", h.num_buffers);
            return 0;
        }
    }
}

static int run_driver(const struct xcv_vdrv_transport *t)
{
    if (mmio_check("net driver open", drv_open(t), XCV_OK) || drv_check_config() != 0)
        return 5;
    if (drv_arp_exchange() != 0)
        return 7;
    /* Reset: the posted receive buffers and the transmit buffer come back to the pool. */
    if (mmio_check("reset", xcv_net_drv_reset(&nd), XCV_OK) ||
        mmio_check("pool buffers all returned", (int)xcv_pool_available(&pool), (int)POOL_N) ||
        mmio_check("no queue after reset", xcv_net_drv_send(&nd, NULL, tx_buf, ARP_FRAME),
                   XCV_ENODEV))
        return 8;
    if (mmio_check("reopen", drv_open(t), XCV_OK) || drv_check_config() != 0)
        return 9;
    int st = xcv_vdrv_get_status(&nd.vdrv);
    if (mmio_check("DRIVER_OK after reopen",
                   st >= 0 && ((unsigned)st & XCV_VIRTIO_STATUS_DRIVER_OK) != 0u, 1) ||
        mmio_check("final reset", xcv_net_drv_reset(&nd), XCV_OK) ||
        mmio_check("status 0 after reset", xcv_vdrv_get_status(&nd.vdrv), 0) ||
        mmio_check("pool buffers all returned", (int)xcv_pool_available(&pool), (int)POOL_N))
        return 10;
    return 0;
}

/* ---- legacy: the caller's own queues with the 10-byte header ---- */

static int run_raw(const struct xcv_vdrv_transport *t)
{
    if (mmio_check("net open", open_net(t), XCV_OK))
        return 4;
    uint64_t f = xcv_vdrv_features(&net);
    mmio_say("features lo", (int64_t)(uint32_t)f);
    mmio_say("features hi", (int64_t)(f >> 32));
    if (mmio_check("no VERSION_1 on a legacy device",
                   (f & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) != 0u, false) ||
        mmio_check("MAC negotiated", (f & XCV_FEATURE(XCV_VIRTIO_NET_F_MAC)) != 0u, true))
        return 5;
    uint8_t mac[6];
    if (check_config(mac) != 0)
        return 6;
    if (arp_exchange(mac, LEGACY_HDR) != 0)
        return 7;

    /* Reset: every receive buffer still posted comes back through cancel. */
    unsigned posted = xcv_vq_driver_in_flight(xcv_vdrv_queue(&net, 0));
    if (mmio_check("reset", xcv_vdrv_reset(&net), XCV_OK) ||
        mmio_check("cancelled rx buffers", (int)cancelled, (int)posted) ||
        mmio_check("queue gone after reset", xcv_vdrv_queue(&net, 0) == NULL, true))
        return 8;
    mmio_say("rx buffers cancelled by the reset", cancelled);
    if (mmio_check("reopen", open_net(t), XCV_OK) || check_config(mac) != 0)
        return 9;
    int st = xcv_vdrv_get_status(&net);
    if (mmio_check("DRIVER_OK after reopen",
                   st >= 0 && ((unsigned)st & XCV_VIRTIO_STATUS_DRIVER_OK) != 0u, 1) ||
        mmio_check("final reset", xcv_vdrv_reset(&net), XCV_OK) ||
        mmio_check("status 0 after reset", xcv_vdrv_get_status(&net), 0))
        return 10;
    mmio_say("config interrupts", config_events);
    return 0;
}

int MMIO_MAIN(uint64_t boot_arg)
{
    (void)boot_arg;
    if (mmio_platform_init("mmio-net") != 0)
        return 2;
    int slot = mmio_find(&mmio, XCV_VIRTIO_ID_NET, dma_area, sizeof(dma_area));
    if (mmio_check("find virtio-net", slot < 0 ? slot : 0, 0))
        return 3;
    struct xcv_window pw;
    if (mmio_check("pool window",
                   xcv_window_init(&pw, pool_mem, (uint64_t)(uintptr_t)pool_mem, sizeof(pool_mem)),
                   XCV_OK) ||
        mmio_check("pool", xcv_pool_init(&pool, &pw, RX_BUF, pool_free, POOL_N), XCV_OK))
        return 3;
    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&mmio, &t);
    int r;
    if (xcv_mmio_version(&mmio) == 2u) {
        r = run_driver(&t);
    } else {
        /* The net driver refuses a device without VERSION_1, resets it, posts nothing. */
        if (mmio_check("net driver on a legacy device", drv_open(&t), XCV_ENOTSUP) ||
            mmio_check("status 0 after the refusal", xcv_vdrv_get_status(&nd.vdrv), 0) ||
            mmio_check("pool untouched", (int)xcv_pool_available(&pool), (int)POOL_N))
            return 4;
        mmio_say("net driver refused the legacy device, error", XCV_ENOTSUP);
        r = run_raw(&t);
    }
    if (r != 0)
        return r;
    mmio_puts("mmio-net: PASS\n");
    return 0;
}
