/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device traffic across two compartments, driver compartment (CPU1 / hart 1, started by
 * devices_dev.c with its device tree's address as the entry argument: x0 on ARMv8, a1 on
 * RISC-V). Configuration from that device tree. Over the
 * channel it drives:
 *   device 0  virtio-blk: writes every sector of the disk with a pattern of its own (8 sectors
 *             per request), flushes, reads the disk back and checks every byte;
 *   device 1  virtio-net: sends an ARP request for 10.0.2.2 (QEMU's user-mode gateway), which
 *             the device compartment puts on a real NIC, and checks the gateway's ARP reply
 *             that comes back the same way.
 * The result goes to the mailbox; the device compartment reports it.
 */
#include <stdatomic.h>

#include "demo.h"
#include "devices.h"
#include "xcvirtio/dev_blk.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/xcvirtio.h"

#define BUF_SIZE 2048u
#define MAX_BUFS 512u
#define CHUNK 4096u /* bytes per block request */
#define STEP_NS 1000000u
#define ARP_TIMEOUT_NS 5000000000ull
#define ARP_RESEND_NS 500000000ull
#define ETH_ARP 0x0806u

static struct demo_port dp;
static struct xcv_channel_config ch_cfg;
static struct xcv_channel ch;
static struct xcv_pool pool;
static uint32_t free_list[MAX_BUFS];
static struct xcv_blk_drv blk;
static struct xcv_net_drv net;
static uint8_t chunk[CHUNK];
static uint8_t frame[2048];
static uint32_t checks;

static const uint8_t my_ip[4] = {10, 0, 2, 15};
static const uint8_t gw_ip[4] = {10, 0, 2, 2};

_Noreturn static void fail(int32_t step, int err)
{
    demo_say("failed at step", step);
    demo_say("error", err);
    demo_puts("drv: ");
    demo_puts(xcv_strerror(err));
    demo_puts("\n");
    demo_say("doorbells received", (int64_t)demo_hw_doorbells_received());
    demo_say("doorbells rung", (int64_t)dp.notifies);
    demo_driver_finish(step, checks);
}

static int poll_and_wait(uint64_t deadline)
{
    int r = xcv_channel_poll(&ch, 64);
    if (r < 0)
        return r;
    uint64_t now = demo_now_ns();
    if (now >= deadline)
        return XCV_ETIMEDOUT;
    uint64_t step = now + STEP_NS;
    (void)dp.port.ops->wait(dp.port.ctx, step < deadline ? step : deadline);
    return XCV_OK;
}

static int blk_flush(void)
{
    struct xcv_blk_req req = {0};
    int r = xcv_blk_drv_submit(&blk, &req, XCV_VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
    if (r == XCV_OK)
        r = xcv_blk_drv_kick(&blk);
    if (r < 0)
        return r;
    uint64_t deadline = demo_now_ns() + DEMO_CHANNEL_TIMEOUT_NS;
    for (;;) {
        struct xcv_blk_req *done = NULL;
        r = xcv_blk_drv_complete(&blk, &done);
        if (r == XCV_OK)
            return done == &req ? req.result : XCV_EPROTO_DEVICE;
        if (r != XCV_EAGAIN)
            return r;
        r = poll_and_wait(deadline);
        if (r < 0)
            return r;
    }
}

static int blk_test(void)
{
    const struct xcv_blk_drv_config c = {.dev_num = DEVICES_BLK_NUM, .pool = &pool};
    int r = xcv_blk_drv_open(&blk, &ch, &c);
    if (r != XCV_OK)
        return r;
    uint64_t bytes = xcv_blk_drv_capacity(&blk) * 512u;
    demo_say("blk capacity (sectors)", (int64_t)xcv_blk_drv_capacity(&blk));
    if (bytes < CHUNK || bytes > 0x10000000u)
        return XCV_EPROTO_DEVICE;
    bytes -= bytes % CHUNK;
    for (uint64_t off = 0; off < bytes; off += CHUNK) {
        for (uint32_t i = 0; i < CHUNK; i++)
            chunk[i] = devices_pattern(off + i);
        r = xcv_blk_drv_rw_sync(&blk, true, off / 512u, chunk, CHUNK);
        if (r != XCV_OK)
            return r;
    }
    if ((r = blk_flush()) != XCV_OK)
        return r;
    for (uint64_t off = 0; off < bytes; off += CHUNK) {
        for (uint32_t i = 0; i < CHUNK; i++)
            chunk[i] = 0;
        r = xcv_blk_drv_rw_sync(&blk, false, off / 512u, chunk, CHUNK);
        if (r != XCV_OK)
            return r;
        for (uint32_t i = 0; i < CHUNK; i++) {
            if (chunk[i] != devices_pattern(off + i)) {
                demo_say("blk mismatch at byte", (int64_t)(off + i));
                return XCV_EIO;
            }
        }
    }
    demo_say("blk sectors written, flushed, read back and checked", (int64_t)(bytes / 512u));
    checks++;
    return XCV_OK;
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

/* "Who has 10.0.2.2? Tell 10.0.2.15", 60 bytes. */
static uint32_t build_arp(uint8_t *e, const uint8_t mac[6])
{
    for (unsigned i = 0; i < 60u; i++)
        e[i] = 0;
    for (unsigned i = 0; i < 6u; i++) {
        e[i] = 0xff;
        e[6 + i] = mac[i];
    }
    put16be(e + 12, ETH_ARP);
    uint8_t *a = e + 14;
    put16be(a, 1);
    put16be(a + 2, 0x0800u);
    a[4] = 6;
    a[5] = 4;
    put16be(a + 6, 1);
    for (unsigned i = 0; i < 6u; i++)
        a[8 + i] = mac[i];
    for (unsigned i = 0; i < 4u; i++) {
        a[14 + i] = my_ip[i];
        a[24 + i] = gw_ip[i];
    }
    return 60u;
}

static bool is_arp_reply(const uint8_t *f, uint32_t len, const uint8_t mac[6])
{
    if (len < 42u || get16be(f + 12) != ETH_ARP || !same(f, mac, 6))
        return false;
    const uint8_t *a = f + 14;
    return get16be(a + 6) == 2u && same(a + 14, gw_ip, 4) && same(a + 18, mac, 6) &&
           same(a + 24, my_ip, 4);
}

static int net_test(void)
{
    const struct xcv_net_drv_config c = {
        .dev_num = DEVICES_NET_NUM, .pool = &pool, .queue_size = 64};
    int r = xcv_net_drv_open(&net, &ch, &c);
    if (r != XCV_OK)
        return r;
    uint8_t mac[6];
    const uint8_t *m = xcv_net_drv_mac(&net);
    for (unsigned i = 0; i < 6u; i++)
        mac[i] = m[i];
    uint64_t deadline = demo_now_ns() + ARP_TIMEOUT_NS;
    uint64_t resend = 0;
    unsigned sent = 0;
    unsigned frames = 0;
    for (;;) {
        if (demo_now_ns() >= resend) {
            uint8_t req[60];
            uint32_t len = build_arp(req, mac);
            r = xcv_net_drv_send(&net, NULL, req, len);
            if (r != XCV_OK && r != XCV_ENOSPC && r != XCV_ENOMEM)
                return r;
            sent++;
            resend = demo_now_ns() + ARP_RESEND_NS;
        }
        uint32_t len = 0;
        r = xcv_net_drv_receive(&net, NULL, frame, sizeof(frame), &len);
        if (r == XCV_OK) {
            frames++;
            if (is_arp_reply(frame, len, mac)) {
                demo_say("ARP reply from the gateway, frame bytes", len);
                demo_say("ARP requests sent", sent);
                checks++;
                return XCV_OK;
            }
            continue;
        }
        if (r != XCV_EAGAIN) {
            demo_say("frames received", frames);
            return r;
        }
        r = poll_and_wait(deadline);
        if (r < 0) {
            demo_say("frames received", frames);
            return r;
        }
    }
}

int demo_main(uint64_t boot_arg)
{
    (void)boot_arg;
    if (demo_platform_init(false, "drv") != 0)
        demo_driver_finish(-1, 0);
    demo_port_init(&dp, false, false, "drv");
    atomic_store_explicit(&demo_mailbox()->drv_magic, DEMO_MAGIC, memory_order_release);

    int r = demo_channel_config(&ch_cfg, false, &dp.port);
    if (r == XCV_OK)
        r = xcv_channel_connect(&ch, &ch_cfg);
    if (r != XCV_OK)
        fail(-2, r);
    uint32_t mask = 0;
    r = xcv_channel_get_devices(&ch, &mask);
    if (r != XCV_OK || (mask & 3u) != 3u)
        fail(-3, r != XCV_OK ? r : XCV_ENODEV);
    const struct xcv_window *pa = xcv_channel_pool_area(&ch);
    struct xcv_window area = {0};
    if (pa != NULL)
        area = *pa;
    if (area.size == 0u)
        fail(-4, XCV_ENODEV);
    uint32_t nbufs = XCV_POOL_COUNT(area.size, BUF_SIZE);
    if (nbufs > MAX_BUFS) {
        nbufs = MAX_BUFS;
        area.size = (uint64_t)nbufs * BUF_SIZE;
    }
    if ((r = xcv_pool_init(&pool, &area, BUF_SIZE, free_list, nbufs)) != XCV_OK)
        fail(-5, r);
    if ((r = blk_test()) != XCV_OK)
        fail(-10, r);
    if ((r = net_test()) != XCV_OK)
        fail(-20, r);
    xcv_channel_detach(&ch);
    demo_driver_finish(0, checks);
}
