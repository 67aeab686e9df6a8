/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device traffic across two compartments, device compartment (CPU0 / hart 0). Configuration
 * (window, doorbells, role) from this compartment's device tree. It serves, over the channel:
 *   device 0  virtio-blk, backed by a RAM disk in this image (xcv_blk_mem_ops), with FLUSH;
 *   device 1  virtio-net, whose backend is QEMU's virtio-net-device on the user-mode network,
 *             driven by this compartment through the virtio-mmio transport (modern, 12-byte
 *             header; found and polled through the port's tests/mmio_common.c, reachable
 *             after demo_hw_map_devices()): frames the driver compartment transmits leave through
 * the NIC; frames the NIC receives are delivered into the driver compartment's receive buffers. The
 * driver compartment (devices_drv.c) checks every byte of the disk it wrote and the ARP reply of
 * QEMU's gateway; this side checks the counters of both models.
 */
#include <stdatomic.h>

#include "demo.h"
#include "devices.h"
#include "mmio_common.h"
#include "xcvirtio/dev_blk.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/xcvirtio.h"

#define RUN_TIMEOUT_NS 20000000000ull
#define POLL_NS 200000u
#define BUDGET 64u
#define DISK_BYTES 0x100000u
#define NIC_Q 16u
#define NIC_RX 8u
#define NIC_TX 8u
#define NIC_BUF 2048u

static struct demo_port dp;
static struct xcv_channel ch;
static struct xcv_blk_dev blk;
static struct xcv_blk_mem disk_mem;
static uint8_t disk[DISK_BYTES] __attribute__((aligned(64)));
static struct xcv_net_dev net;

/* The NIC (virtio-mmio), driven directly through its two queues. */
static uint8_t nic_dma[64u * 1024u] __attribute__((aligned(4096)));
static uint8_t nic_rx[NIC_RX][NIC_BUF] __attribute__((aligned(64)));
static uint8_t nic_tx[NIC_TX][NIC_BUF] __attribute__((aligned(64)));
static bool nic_tx_busy[NIC_TX];
static struct xcv_mmio mmio;
static struct xcv_vdrv nic;
static struct xcv_vdrv_queue nic_queues[2];
static struct xcv_vq_drv_slot nic_rx_slots[NIC_Q];
static struct xcv_vq_drv_slot nic_tx_slots[NIC_Q];
static uint8_t nic_mac[6];
static void *held_tok; /* a NIC frame waiting for a receive buffer of the driver compartment */
static uint32_t held_len;
static uint64_t nic_frames_out;
static uint64_t nic_frames_in;

/* A reset of the NIC hands back its buffers: nothing to free, they are static. */
static void nic_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)q;
    (void)token;
    (void)err;
}

static const struct xcv_vdrv_ops nic_ops = {.cancel = nic_cancel};

static int nic_open(void)
{
    int slot = mmio_find(&mmio, XCV_VIRTIO_ID_NET, nic_dma, sizeof(nic_dma));
    if (slot < 0)
        return slot;
    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&mmio, &t);
    nic_queues[0] = (struct xcv_vdrv_queue){.slots = nic_rx_slots, .size = NIC_Q};
    nic_queues[1] = (struct xcv_vdrv_queue){.slots = nic_tx_slots, .size = NIC_Q};
    const struct xcv_vdrv_config c = {
        .device_id = XCV_VIRTIO_ID_NET,
        .features = XCV_FEATURE(XCV_VIRTIO_NET_F_MAC) | XCV_FEATURE(XCV_VIRTIO_F_VERSION_1),
        .queues = nic_queues,
        .num_queues = 2,
        .ops = &nic_ops,
    };
    int r = xcv_vdrv_open_on(&t, &nic, &c);
    if (r != XCV_OK)
        return r;
    if ((xcv_vdrv_features(&nic) & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) == 0u)
        return XCV_ENOTSUP; /* the 12-byte header is passed through unchanged */
    for (uint32_t i = 0; i < 6u; i++) {
        r = xcv_vdrv_read_config(&nic, XCV_VIRTIO_NET_CFG_MAC + i, &nic_mac[i], 1);
        if (r != XCV_OK)
            return r;
    }
    struct xcv_vq_driver *rx = xcv_vdrv_queue(&nic, 0);
    if (rx == NULL)
        return XCV_ENODEV;
    for (unsigned i = 0; i < NIC_RX; i++) {
        const struct xcv_sg sg = {(uint64_t)(uintptr_t)nic_rx[i], NIC_BUF};
        r = xcv_vq_driver_add(rx, &sg, 0, 1, nic_rx[i]);
        if (r != XCV_OK)
            return r;
    }
    r = xcv_vq_driver_kick(rx);
    return r < 0 ? r : XCV_OK;
}

/* Backend of the net model: a frame of the driver compartment goes out through the NIC. */
static int net_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    (void)ctx;
    struct xcv_vq_driver *tx = xcv_vdrv_queue(&nic, 1);
    if (tx == NULL)
        return XCV_ENODEV;
    if (len > NIC_BUF - XCV_VIRTIO_NET_HDR_SIZE)
        return XCV_EINVAL;
    unsigned b = 0;
    while (b < NIC_TX && nic_tx_busy[b])
        b++;
    if (b == NIC_TX)
        return XCV_ENOSPC;
    uint8_t *buf = nic_tx[b];
    /* No checksum or GSO offload was negotiated with the NIC: its header stays all zero,
     * whatever flags the driver compartment set. */
    const struct xcv_net_hdr plain = {.flags = 0};
    (void)hdr;
    xcv_net_hdr_store(buf, &plain);
    uint32_t off = XCV_VIRTIO_NET_HDR_SIZE;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *src = iov[i].base;
        if (iov[i].len > NIC_BUF - off)
            return XCV_EINVAL; /* the segments add up to len; never trust that blindly */
        for (uint32_t k = 0; k < iov[i].len; k++)
            buf[off + k] = src[k];
        off += iov[i].len;
    }
    const struct xcv_sg sg = {(uint64_t)(uintptr_t)buf, off};
    int r = xcv_vq_driver_add(tx, &sg, 1, 0, buf);
    if (r != XCV_OK)
        return r;
    nic_tx_busy[b] = true;
    nic_frames_out++;
    r = xcv_vq_driver_kick(tx);
    return r < 0 ? r : XCV_OK;
}

static const struct xcv_net_backend_ops net_backend = {.transmit = net_transmit};

/* Reclaim sent NIC buffers; move received NIC frames into the driver compartment. */
static int nic_service(void)
{
    struct xcv_vq_driver *rx = xcv_vdrv_queue(&nic, 0);
    struct xcv_vq_driver *tx = xcv_vdrv_queue(&nic, 1);
    if (rx == NULL || tx == NULL)
        return XCV_ENODEV;
    int r = xcv_vdrv_poll(&nic, 16);
    if (r < 0)
        return r;
    void *tok = NULL;
    uint32_t used = 0;
    while ((r = xcv_vq_driver_get_used(tx, &tok, &used)) == XCV_OK) {
        unsigned b = (unsigned)(((uint8_t(*)[NIC_BUF])tok) - nic_tx);
        if (b >= NIC_TX)
            return XCV_EPROTO_DEVICE;
        nic_tx_busy[b] = false;
    }
    if (r != XCV_EAGAIN)
        return r;
    for (;;) {
        if (held_tok == NULL) {
            r = xcv_vq_driver_get_used(rx, &tok, &used);
            if (r == XCV_EAGAIN)
                return XCV_OK;
            if (r != XCV_OK)
                return r;
            held_tok = tok;
            held_len = used;
        }
        uint8_t *f = held_tok;
        if (held_len > XCV_VIRTIO_NET_HDR_SIZE && held_len <= NIC_BUF) {
            struct xcv_net_hdr h;
            xcv_net_hdr_load(&h, f);
            h.num_buffers = 0;
            r = xcv_net_dev_deliver(&net, &h, f + XCV_VIRTIO_NET_HDR_SIZE,
                                    held_len - XCV_VIRTIO_NET_HDR_SIZE);
            if (r == XCV_EAGAIN || r == XCV_ENODEV)
                return XCV_OK; /* no receive buffer (yet): keep the frame */
            if (r == XCV_OK)
                nic_frames_in++;
        }
        const struct xcv_sg sg = {(uint64_t)(uintptr_t)held_tok, NIC_BUF};
        held_tok = NULL;
        r = xcv_vq_driver_add(rx, &sg, 0, 1, f);
        if (r == XCV_OK)
            r = xcv_vq_driver_kick(rx);
        if (r < 0)
            return r;
    }
}

/* The tree must describe what this compartment serves: device@0 block, device@1 network. */
static bool tree_lists_devices(void)
{
    const struct xcv_fdt_channel *c = demo_dtb_channel();
    if (c == NULL || c->num_devices != 2u)
        return false;
    /* Sorted by device number. */
    return c->devices[0].num == DEVICES_BLK_NUM && c->devices[0].device_id == XCV_VIRTIO_ID_BLOCK &&
           c->devices[1].num == DEVICES_NET_NUM && c->devices[1].device_id == XCV_VIRTIO_ID_NET;
}

static int channel_up(void)
{
    struct xcv_channel_config cfg;
    int r = demo_channel_config(&cfg, true, &dp.port);
    if (r == XCV_OK)
        r = xcv_channel_init(&ch, &cfg);
    if (r != XCV_OK)
        return r;
    disk_mem = (struct xcv_blk_mem){.base = disk, .size = sizeof(disk)};
    const struct xcv_blk_dev_config bc = {
        .capacity = sizeof(disk) / 512u,
        .ops = &xcv_blk_mem_ops,
        .backend_ctx = &disk_mem,
        .flush = true,
        .id = "xcv-ramdisk",
    };
    r = xcv_blk_dev_init(&blk, &ch, &bc);
    if (r != (int)DEVICES_BLK_NUM)
        return r < 0 ? r : XCV_EPROTO_DEVICE;
    struct xcv_net_dev_config nc = {
        .ops = &net_backend,
        .backend_ctx = NULL,
        .queue_size = 64,
    };
    for (unsigned i = 0; i < 6u; i++)
        nc.mac[i] = nic_mac[i];
    r = xcv_net_dev_init(&net, &ch, &nc);
    if (r != (int)DEVICES_NET_NUM)
        return r < 0 ? r : XCV_EPROTO_DEVICE;
    return XCV_OK;
}

int demo_main(uint64_t boot_arg)
{
    (void)boot_arg;
    /* The platform's virtio-mmio transports (the NIC) join this compartment's memory map. */
    if (demo_hw_map_devices() != 0)
        return 2;
    int pr = demo_platform_init(true, "dev");
    if (pr != 0)
        return pr == DEMO_ERR_CONFIG ? DEMO_EXIT_BAD_CONFIG : 2;
    demo_port_init(&dp, true, false, "dev");
    if (!tree_lists_devices()) {
        demo_puts("dtb: the channel node does not list device@0 (block) and device@1 (net)\n");
        return DEMO_EXIT_BAD_CONFIG;
    }
    int r = nic_open();
    if (r != XCV_OK) {
        demo_say("NIC open failed", r);
        return 3;
    }
    r = channel_up();
    if (r != XCV_OK) {
        demo_say("channel init failed", r);
        return 4;
    }
    if (demo_start_driver() != 0)
        return 5;

    struct demo_mailbox *mb = demo_mailbox();
    uint64_t deadline = demo_now_ns() + RUN_TIMEOUT_NS;
    for (;;) {
        r = xcv_channel_poll(&ch, BUDGET);
        if (r < 0 && r != XCV_EPEERRESET) {
            demo_say("channel broken", r);
            return 6;
        }
        if (xcv_blk_dev_pending(&blk))
            (void)xcv_blk_dev_run(&blk, BUDGET);
        if (xcv_net_dev_pending(&net))
            (void)xcv_net_dev_run(&net, BUDGET);
        r = nic_service();
        if (r != XCV_OK) {
            demo_say("NIC failed", r);
            return 7;
        }
        if (atomic_load_explicit(&mb->drv_done, memory_order_acquire) != 0u)
            break;
        uint64_t now = demo_now_ns();
        if (now >= deadline) {
            demo_say("timeout", -1);
            return 8;
        }
        (void)dp.port.ops->wait(dp.port.ctx, now + POLL_NS < deadline ? now + POLL_NS : deadline);
    }

    int32_t res = atomic_load(&mb->drv_result);
    const struct xcv_blk_dev_stats *bs = xcv_blk_dev_stats(&blk);
    const struct xcv_net_dev_stats *ns = xcv_net_dev_stats(&net);
    demo_say("driver result", res);
    demo_say("driver checks passed", atomic_load(&mb->drv_rounds));
    demo_say("blk requests", (int64_t)bs->requests);
    demo_say("blk errors", (int64_t)(bs->ioerr + bs->unsupp + bs->dropped));
    demo_say("net frames from the driver", (int64_t)ns->tx_frames);
    demo_say("net frames to the driver", (int64_t)ns->rx_frames);
    demo_say("NIC frames sent", (int64_t)nic_frames_out);
    demo_say("NIC frames delivered", (int64_t)nic_frames_in);
    demo_say("doorbells received", (int64_t)demo_hw_doorbells_received());
    demo_say("doorbells rung", (int64_t)dp.notifies);
    if (res != 0)
        return 9;
    /* The other end of the blk check: the bytes are in this compartment's RAM disk. */
    for (uint64_t i = 0; i < sizeof(disk); i++) {
        if (disk[i] != devices_pattern(i)) {
            demo_say("RAM disk differs from what the driver wrote, at byte", (int64_t)i);
            return 12;
        }
    }
    demo_say("RAM disk bytes checked on the device side", (int64_t)sizeof(disk));
    if (bs->requests == 0u || bs->ioerr + bs->unsupp + bs->dropped != 0u || ns->tx_frames == 0u ||
        ns->rx_frames == 0u || nic_frames_out == 0u || nic_frames_in == 0u)
        return 11;
    demo_puts("devices: PASS (blk on RAM, net through the NIC)\n");
    return 0;
}
