/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host-transport API of vdev.h (a device model served without a channel, as vhost-user
 * does) and the ring base of vq_device.h (xcv_vq_device_set_base / next_avail).
 *
 * A virtio-blk model on a memory disk is prepared with a NULL channel and driven by the test:
 * features, queue start at a given ring position, kicks, stop (returns where it stopped),
 * restart at that position, reset, config access. The driver side is the library's own
 * driver-role ring over a static window whose bus base differs from its local address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/xcvirtio.h"

#define BUS_BASE UINT64_C(0x40000000)
#define WIN_SIZE 0x20000u
#define RING_OFF 0x0000u
#define DATA_OFF 0x10000u
#define QNUM 16u
#define DISK_BYTES (64u * 1024u)

static _Alignas(64) uint8_t g_win[WIN_SIZE];
static uint8_t g_disk[DISK_BYTES];

struct host {
    struct xcv_blk_dev blk;
    struct xcv_blk_mem mem;
    struct xcv_port port;
    struct xcv_port_ops ops;
    unsigned notifies;
    unsigned config_notifies;
    struct xcv_window win;
    struct xcv_memmap map;
    struct xcv_vring_layout lay;
    struct xcv_vq_driver drv;
    struct xcv_vq_drv_slot dslots[QNUM];
};

static int host_notify(void *ctx, uint32_t doorbell)
{
    struct host *h = (struct host *)ctx;
    if (doorbell == XCV_VDEV_DOORBELL_CONFIG)
        h->config_notifies++;
    else
        h->notifies++;
    return XCV_OK;
}

static const uint64_t k_features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);

static int setup(void **state)
{
    static struct host h;
    memset(&h, 0, sizeof(h));
    memset(g_win, 0, sizeof(g_win));
    memset(g_disk, 0, sizeof(g_disk));
    h.mem.base = g_disk;
    h.mem.size = sizeof(g_disk);
    struct xcv_blk_dev_config bc = {
        .capacity = DISK_BYTES / 512u,
        .ops = &xcv_blk_mem_ops,
        .backend_ctx = &h.mem,
        .queue_size = QNUM,
    };
    assert_int_equal(xcv_blk_dev_init(&h.blk, NULL, &bc), 0);
    h.ops.notify = host_notify;
    h.port.ops = &h.ops;
    h.port.ctx = &h;
    assert_int_equal(xcv_window_init(&h.win, g_win, BUS_BASE, sizeof(g_win)), XCV_OK);
    h.map.windows = &h.win;
    h.map.count = 1;
    assert_int_equal(xcv_vring_layout(g_win + RING_OFF, BUS_BASE + RING_OFF, QNUM, 64, &h.lay),
                     XCV_OK);
    *state = &h;
    return 0;
}

static void driver_init(struct host *h)
{
    struct xcv_vq_driver_config dc = {.ring = &h->lay, .slots = h->dslots, .features = k_features};
    assert_int_equal(xcv_vq_driver_init(&h->drv, &dc), XCV_OK);
}

static struct xcv_vdev_host_queue ring_at(struct host *h, uint16_t next_avail, uint16_t next_used)
{
    struct xcv_vdev_host_queue hq = {
        .mem = &h->map,
        .num = QNUM,
        .desc_bus = h->lay.desc_bus,
        .avail_bus = h->lay.avail_bus,
        .used_bus = h->lay.used_bus,
        .next_avail = next_avail,
        .next_used = next_used,
    };
    return hq;
}

/* Post one write request of one sector at @sector filled with @fill; returns its token. */
static void post_write(struct host *h, unsigned slot, uint64_t sector, uint8_t fill)
{
    uint8_t *buf = g_win + DATA_OFF + slot * 1024u;
    uint64_t bus = BUS_BASE + DATA_OFF + slot * 1024u;
    memset(buf, 0, 1024);
    xcv_le32_store(buf, XCV_VIRTIO_BLK_T_OUT);
    xcv_le64_store(buf + 8, sector);
    memset(buf + 16, fill, 512);
    buf[600] = 0xff; /* status */
    struct xcv_sg sg[3] = {{bus, 16}, {bus + 16, 512}, {bus + 600, 1}};
    assert_int_equal(xcv_vq_driver_add(&h->drv, sg, 2, 1, buf), XCV_OK);
    assert_true(xcv_vq_driver_kick_prepare(&h->drv) >= 0);
}

static unsigned reap(struct host *h)
{
    unsigned n = 0;
    void *tok;
    uint32_t len;
    while (xcv_vq_driver_get_used(&h->drv, &tok, &len) == XCV_OK) {
        assert_int_equal(((uint8_t *)tok)[600], XCV_VIRTIO_BLK_S_OK);
        n++;
    }
    return n;
}

static void test_detached_info(void **state)
{
    struct host *h = (struct host *)*state;
    struct xcv_vdev *d = xcv_blk_dev_vdev(&h->blk);
    assert_int_equal(xcv_vdev_device_id(d), XCV_VIRTIO_ID_BLOCK);
    assert_int_equal(xcv_vdev_num_queues(d), 1);
    assert_int_equal(xcv_vdev_queue_max_size(d, 0), QNUM);
    assert_int_equal(xcv_vdev_queue_max_size(d, 1), 0);
    assert_true(xcv_vdev_device_features(d) & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1));
    assert_int_equal(xcv_vdev_config_size(d), XCV_VIRTIO_BLK_CFG_SIZE);
    /* Not attached yet: nothing can be negotiated. */
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_ESTATE);
    assert_int_equal(xcv_vdev_host_attach(NULL, &h->port), XCV_EINVAL);
    assert_int_equal(xcv_vdev_host_attach(d, NULL), XCV_EINVAL);
    assert_int_equal(xcv_vdev_host_attach(d, &h->port), XCV_OK);
    assert_null(xcv_vdev_queue(d, 0));
}

static void test_features(void **state)
{
    struct host *h = (struct host *)*state;
    struct xcv_vdev *d = xcv_blk_dev_vdev(&h->blk);
    assert_int_equal(xcv_vdev_host_attach(d, &h->port), XCV_OK);
    struct xcv_vdev_host_queue hq = ring_at(h, 0, 0);
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_ESTATE); /* before features */
    assert_int_equal(xcv_vdev_host_set_features(d, 0), XCV_ENOTSUP);    /* no VERSION_1 */
    assert_int_equal(xcv_vdev_host_set_features(d, k_features | XCV_FEATURE(40)), XCV_ENOTSUP);
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_OK);
    assert_int_equal(xcv_vdev_features(d), k_features);
    uint8_t st = xcv_vdev_status(d);
    assert_true(st & XCV_VIRTIO_STATUS_FEATURES_OK);
    assert_false(st & XCV_VIRTIO_STATUS_DRIVER_OK);
}

static void test_start_checks(void **state)
{
    struct host *h = (struct host *)*state;
    struct xcv_vdev *d = xcv_blk_dev_vdev(&h->blk);
    assert_int_equal(xcv_vdev_host_attach(d, &h->port), XCV_OK);
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_OK);
    struct xcv_vdev_host_queue hq = ring_at(h, 0, 0);
    assert_int_equal(xcv_vdev_host_start_queue(d, 1, &hq), XCV_ENODEV);
    hq.num = 12;
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_EINVAL);
    hq.num = QNUM * 2u;
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_EINVAL);
    hq = ring_at(h, 0, 0);
    hq.desc_bus += 8; /* misaligned */
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_EPROTO_LAYOUT);
    hq = ring_at(h, 0, 0);
    hq.used_bus = BUS_BASE + WIN_SIZE - 8u; /* runs off the window */
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_EPROTO_WINDOW);
    assert_null(xcv_vdev_queue(d, 0));
    uint16_t base = 0;
    assert_int_equal(xcv_vdev_host_stop_queue(d, 0, &base), XCV_ESTATE); /* not running */
    assert_int_equal(xcv_vdev_host_kick(d, 0), XCV_ENODEV);
    /* Features cannot change once a queue runs; the same set is accepted. */
    hq = ring_at(h, 0, 0);
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_OK);
    assert_true(xcv_vdev_status(d) & XCV_VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_ESTATE);
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_OK);
    assert_int_equal(
        xcv_vdev_host_set_features(d, k_features | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)),
        XCV_ESTATE);
}

/* Requests flow, the queue stops where it was, and resumes there (vhost-user's ring base). */
static void test_stop_resume(void **state)
{
    struct host *h = (struct host *)*state;
    struct xcv_vdev *d = xcv_blk_dev_vdev(&h->blk);
    assert_int_equal(xcv_vdev_host_attach(d, &h->port), XCV_OK);
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_OK);
    driver_init(h);
    struct xcv_vdev_host_queue hq = ring_at(h, 0, 0);
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_OK);
    for (unsigned i = 0; i < 3; i++)
        post_write(h, i, i, (uint8_t)(0xa0 + i));
    assert_int_equal(xcv_vdev_host_kick(d, 0), XCV_OK);
    assert_int_equal(reap(h), 3);
    assert_true(h->notifies >= 1u);
    assert_int_equal(g_disk[0], 0xa0);
    assert_int_equal(g_disk[1024], 0xa2);

    uint16_t base = 0;
    assert_int_equal(xcv_vdev_host_stop_queue(d, 0, &base), XCV_OK);
    assert_int_equal(base, 3);
    assert_null(xcv_vdev_queue(d, 0));
    assert_int_equal(xcv_vdev_host_kick(d, 0), XCV_ENODEV); /* a stale kick */

    /* Work queued while stopped is found after the restart at the returned position. */
    post_write(h, 3, 5, 0xb5);
    hq = ring_at(h, base, base);
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_OK);
    assert_int_equal(xcv_vdev_host_kick(d, 0), XCV_OK);
    assert_int_equal(reap(h), 1);
    assert_int_equal(g_disk[5u * 512u], 0xb5);
    assert_int_equal(xcv_vq_device_next_avail(xcv_vdev_queue(d, 0)), 4);
}

/* A ring resumed at a position far from the driver's index is refused at the first pop. */
static void test_resume_bad_base(void **state)
{
    struct host *h = (struct host *)*state;
    struct xcv_vdev *d = xcv_blk_dev_vdev(&h->blk);
    assert_int_equal(xcv_vdev_host_attach(d, &h->port), XCV_OK);
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_OK);
    driver_init(h);
    post_write(h, 0, 0, 0x11);
    struct xcv_vdev_host_queue hq = ring_at(h, 0x8000, 0x8000); /* avail idx is 1 */
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_OK);
    assert_int_equal(xcv_vdev_host_kick(d, 0), XCV_EPROTO_AVAIL_IDX);
    assert_true(xcv_vdev_status(d) & XCV_VIRTIO_STATUS_NEEDS_RESET);
    assert_true(h->config_notifies >= 1u);
    assert_int_equal(g_disk[0], 0); /* nothing done */
    /* A reset recovers: status cleared, queue stopped, serving again after a restart. */
    xcv_vdev_host_reset(d);
    assert_int_equal(xcv_vdev_status(d), 0);
    assert_null(xcv_vdev_queue(d, 0));
    assert_int_equal(xcv_vdev_host_set_features(d, k_features), XCV_OK);
    hq = ring_at(h, 0, 0);
    assert_int_equal(xcv_vdev_host_start_queue(d, 0, &hq), XCV_OK);
    assert_int_equal(xcv_vdev_host_kick(d, 0), XCV_OK);
    assert_int_equal(reap(h), 1);
    assert_int_equal(g_disk[0], 0x11);
}

static void test_config(void **state)
{
    struct host *h = (struct host *)*state;
    struct xcv_vdev *d = xcv_blk_dev_vdev(&h->blk);
    uint8_t c[XCV_VIRTIO_BLK_CFG_SIZE];
    assert_int_equal(xcv_vdev_host_read_config(d, 0, c, sizeof(c)), XCV_OK);
    assert_int_equal(xcv_le64_load(c), DISK_BYTES / 512u);
    assert_int_equal(xcv_vdev_host_read_config(d, 8, c, XCV_VIRTIO_BLK_CFG_SIZE), XCV_EINVAL);
    assert_int_equal(xcv_vdev_host_read_config(d, XCV_VIRTIO_BLK_CFG_SIZE + 1u, c, 0), XCV_EINVAL);
    assert_int_equal(xcv_vdev_host_read_config(d, 4, NULL, 4), XCV_EINVAL);
    assert_int_equal(xcv_vdev_host_attach(d, &h->port), XCV_OK);
    /* blk declares no driver-writable config: a write is refused and changes nothing. */
    uint8_t z[8] = {0};
    assert_int_equal(xcv_vdev_host_write_config(d, 0, z, sizeof(z)), XCV_EINVAL);
    assert_int_equal(xcv_vdev_host_read_config(d, 0, c, 8), XCV_OK);
    assert_int_equal(xcv_le64_load(c), DISK_BYTES / 512u);
    assert_int_equal(xcv_vdev_host_write_config(d, 0, z, 0), XCV_OK);
}

/* The ring base on the device role alone. */
static void test_vq_set_base(void **state)
{
    struct host *h = (struct host *)*state;
    static struct xcv_vq_dev_slot slots[QNUM];
    struct xcv_vq_device q;
    struct xcv_vq_device_config vc = {
        .mem = &h->map,
        .num = QNUM,
        .desc_bus = h->lay.desc_bus,
        .avail_bus = h->lay.avail_bus,
        .used_bus = h->lay.used_bus,
        .features = k_features,
        .slots = slots,
    };
    assert_int_equal(xcv_vq_device_init(&q, &vc), XCV_OK);
    assert_int_equal(xcv_vq_device_set_base(NULL, 0, 0), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_next_avail(NULL), 0);
    assert_int_equal(xcv_vq_device_next_avail(&q), 0);
    /* Driver at avail index 0xfffe + 2 (wraps), device resumed at 0xfffe. */
    xcv_le16_store((uint8_t *)h->lay.avail + 2, 0);
    for (unsigned i = 0; i < 2; i++) {
        uint8_t *dsc = (uint8_t *)h->lay.desc + i * 16u;
        xcv_le64_store(dsc, BUS_BASE + DATA_OFF);
        xcv_le32_store(dsc + 8, 64);
        xcv_le16_store(dsc + 12, XCV_VRING_DESC_F_WRITE);
        xcv_le16_store((uint8_t *)h->lay.avail + 4 + 2u * ((0xfffeu + i) % QNUM), (uint16_t)i);
    }
    assert_int_equal(xcv_vq_device_set_base(&q, 0xfffe, 0x1234), XCV_OK);
    assert_int_equal(xcv_vq_device_next_avail(&q), 0xfffe);
    struct xcv_iov iov[QNUM];
    struct xcv_chain c = {.iov = iov, .cap = QNUM};
    assert_int_equal(xcv_vq_device_pop(&q, &c), XCV_OK);
    assert_int_equal(c.head, 0);
    /* In flight: the base cannot move. */
    assert_int_equal(xcv_vq_device_set_base(&q, 0, 0), XCV_ESTATE);
    assert_int_equal(xcv_vq_device_pop(&q, &c), XCV_OK);
    assert_int_equal(c.head, 1);
    assert_int_equal(xcv_vq_device_pop(&q, &c), XCV_EAGAIN);
    assert_int_equal(xcv_vq_device_next_avail(&q), 0);
    assert_int_equal(xcv_vq_device_push(&q, 0, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&q, 1, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&q), 2);
    /* The used ring continued from the given index. */
    assert_int_equal(xcv_le16_load((uint8_t *)h->lay.used + 2), 0x1236);
    assert_int_equal(xcv_le32_load((uint8_t *)h->lay.used + 4 + 8u * (0x1234u % QNUM)), 0);
    /* A base more than the ring size behind the driver's index breaks the queue at pop. */
    assert_int_equal(xcv_vq_device_set_base(&q, 0x100, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_pop(&q, &c), XCV_EPROTO_AVAIL_IDX);
    assert_int_equal(xcv_vq_device_set_base(&q, 0, 0), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_next_avail(&q), 0x100); /* where it stopped */
    xcv_vq_device_reset(&q);
    assert_int_equal(xcv_vq_device_set_base(&q, 0, 0), XCV_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_detached_info, setup),
        cmocka_unit_test_setup(test_features, setup),
        cmocka_unit_test_setup(test_start_checks, setup),
        cmocka_unit_test_setup(test_stop_resume, setup),
        cmocka_unit_test_setup(test_resume_bad_base, setup),
        cmocka_unit_test_setup(test_config, setup),
        cmocka_unit_test_setup(test_vq_set_base, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
