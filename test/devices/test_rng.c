/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng: model fed by a deterministic source, the driver, a hostile driver and a hostile
 * device, both roles in one process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <xcvirtio/dev_rng.h>

#include "dev_fixture.h"

static struct xcv_rng_dev rdev;
static struct xcv_rng_drv rdrv;
static uint8_t next_byte;
static uint32_t src_limit; /* most bytes the source gives per call; 0 = none at all */

/* Deterministic source: 0, 1, 2, ... */
static int counter_source(void *ctx, void *buf, uint32_t len)
{
    (void)ctx;
    if (src_limit == 0u)
        return 0;
    uint32_t n = len < src_limit ? len : src_limit;
    for (uint32_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = next_byte++;
    return (int)n;
}

static int setup_with(uint32_t max_bytes)
{
    next_byte = 0;
    src_limit = UINT32_MAX;
    if (fx_device_up() != XCV_OK)
        return -1;
    struct xcv_rng_dev_config cfg = {.entropy = counter_source, .max_bytes = max_bytes};
    if (xcv_rng_dev_init(&rdev, &fx.vch, &cfg) != 0)
        return -1;
    if (fx_driver_up(256) != XCV_OK)
        return -1;
    struct xcv_rng_drv_config dc = {.dev_num = 0, .pool = &fx.pool};
    return xcv_rng_drv_open(&rdrv, &fx.dch, &dc);
}

static int setup(void **state)
{
    (void)state;
    return setup_with(0);
}

static void test_read_bytes(void **state)
{
    (void)state;
    uint8_t buf[1000];
    uint32_t avail = xcv_pool_available(&fx.pool);
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, sizeof(buf)), XCV_OK);
    for (unsigned i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], (uint8_t)i);
    assert_int_equal(xcv_rng_dev_stats(&rdev)->bytes, 1000);
    assert_int_equal(xcv_rng_dev_stats(&rdev)->requests, 4); /* 256-byte pool buffers */
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    /* Reset: not open any more, nothing lost; open again and read on. */
    assert_int_equal(xcv_rng_drv_reset(&rdrv), XCV_OK);
    assert_int_equal(xcv_rng_drv_reset(NULL), XCV_EINVAL);
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, 1), XCV_ENODEV);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    fx_pump();
    struct xcv_rng_drv_config dc = {.dev_num = 0, .pool = &fx.pool};
    assert_int_equal(xcv_rng_drv_open(&rdrv, &fx.dch, &dc), XCV_OK);
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, 3), XCV_OK);
    assert_int_equal(buf[0], (uint8_t)1000u);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
}

/* 5.4.6.2: the device MAY use less than the whole buffer; 5.4.6.1: the driver MUST examine the
 * length written. The driver asks again until it has every byte. */
static void test_partial_requests(void **state)
{
    (void)state;
    assert_int_equal(setup_with(10), XCV_OK);
    uint8_t buf[95];
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, sizeof(buf)), XCV_OK);
    for (unsigned i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], (uint8_t)i);
    assert_int_equal(xcv_rng_dev_stats(&rdev)->requests, 10);
    /* A source that gives 3 bytes per call still fills the request to its limit. */
    src_limit = 3;
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, 10), XCV_OK);
    assert_int_equal(buf[0], 95);
    assert_int_equal(buf[9], 104);
}

/* A source with nothing to give: the chain comes back empty, and the driver reports the device
 * broke 5.4.6.2 instead of spinning. */
static void test_starved_source(void **state)
{
    (void)state;
    src_limit = 0;
    uint8_t buf[4];
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, sizeof(buf)), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_rng_dev_stats(&rdev)->starved, 1);
}

/* Hostile driver: 5.4.6.1 forbids device-readable buffers; such a chain gets used length 0 and
 * no byte of it is written. */
static void test_hostile_readable(void **state)
{
    (void)state;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&rdrv.vdrv, 0);
    uint64_t bus;
    uint8_t *b = xcv_pool_alloc(&fx.pool, &bus);
    memset(b, 0xee, 256);
    struct xcv_sg sg[2] = {{bus, 16}, {bus + 16, 64}};
    assert_int_equal(xcv_vq_driver_add(q, sg, 1, 1, b), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
    fx_pump();
    void *tok;
    uint32_t len = 99;
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_OK);
    assert_ptr_equal(tok, b);
    assert_int_equal(len, 0);
    assert_int_equal(b[16], 0xee);
    assert_int_equal(xcv_rng_dev_stats(&rdev)->rejected, 1);
    /* A writable chain of several segments is filled across them. */
    struct xcv_sg sg2[3] = {{bus, 5}, {bus + 100, 7}, {bus + 200, 0}};
    assert_int_equal(xcv_vq_driver_add(q, sg2, 0, 3, b), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
    fx_pump();
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_OK);
    assert_int_equal(len, 12);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[4], 4);
    assert_int_equal(b[100], 5);
    assert_int_equal(b[106], 11);
    assert_int_equal(b[107], 0xee);
    assert_int_equal(xcv_pool_free(&fx.pool, b), XCV_OK);
}

/* Hostile driver: a flood is handled in budget-sized slices. */
static void test_budget(void **state)
{
    (void)state;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&rdrv.vdrv, 0);
    uint64_t bus;
    uint8_t *b = xcv_pool_alloc(&fx.pool, &bus);
    rdev.budget = 8;
    for (unsigned i = 0; i < 20; i++) {
        struct xcv_sg sg = {bus + i, 1};
        assert_int_equal(xcv_vq_driver_add(q, &sg, 0, 1, b + i), XCV_OK);
    }
    assert_true(xcv_vq_driver_kick(q) >= 0);
    (void)xcv_channel_poll(&fx.vch, 64);
    assert_int_equal(xcv_rng_dev_stats(&rdev)->requests, 8);
    assert_true(xcv_rng_dev_pending(&rdev));
    assert_int_equal(xcv_rng_dev_run(&rdev, 64), 12);
    assert_false(xcv_rng_dev_pending(&rdev));
}

/* ---- hostile device: claims more bytes than posted; completes empty ---- */

static struct xcv_vdev rogue;
static struct xcv_vq_dev_slot rogue_slots[64];
static struct xcv_vdev_queue rogue_q = {.slots = rogue_slots, .max_size = 64};
static int rogue_mode;

static void rogue_notify(void *ctx, struct xcv_vdev *d, uint16_t qi)
{
    (void)ctx;
    struct xcv_vq_device *q = xcv_vdev_queue(d, qi);
    struct xcv_iov iov[64];
    struct xcv_chain ch = {.iov = iov, .cap = 64};
    while (xcv_vq_device_pop(q, &ch) == XCV_OK) {
        if (rogue_mode == 0) {
            /* Write past the posted length in the used entry: the device-role ring refuses,
             * so forge it in the used ring directly (what a hostile peer can do). */
            uint8_t *used = q->used;
            uint16_t idx = q->used_idx;
            uint8_t *e = used + 4 + 8u * (idx & q->mask);
            xcv_le32_store(e, ch.head);
            xcv_le32_store(e + 4, ch.in_len + 100u);
            xcv_le16_store(used + 2, (uint16_t)(idx + 1u));
        } else {
            (void)xcv_vq_device_push(q, ch.head, 0);
            (void)xcv_vq_device_flush(q);
        }
    }
}

static void rogue_reset(void *ctx, struct xcv_vdev *d)
{
    (void)ctx;
    (void)d;
}

static const struct xcv_vdev_ops rogue_ops = {.notify = rogue_notify, .reset = rogue_reset};

static void test_hostile_device(void **state)
{
    (void)state;
    assert_int_equal(fx_device_up(), XCV_OK);
    struct xcv_vdev_config vc = {
        .device_id = XCV_VIRTIO_ID_RNG, .queues = &rogue_q, .num_queues = 1, .ops = &rogue_ops};
    assert_int_equal(xcv_vdev_register(&fx.vch, &rogue, &vc), 0);
    assert_int_equal(fx_driver_up(256), XCV_OK);
    struct xcv_rng_drv_config dc = {.dev_num = 0, .pool = &fx.pool};
    assert_int_equal(xcv_rng_drv_open(&rdrv, &fx.dch, &dc), XCV_OK);
    uint32_t avail = xcv_pool_available(&fx.pool);
    uint8_t buf[300];
    memset(buf, 0x11, sizeof(buf));
    /* A used length above what was posted is a protocol error; nothing is copied past the
     * caller's buffer, and the reset gives the pool buffer back. */
    rogue_mode = 0;
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, 16), XCV_EPROTO_USED_LEN);
    assert_int_equal(buf[16], 0x11);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    /* Reopen; an empty completion is reported, not spun on. */
    assert_int_equal(xcv_rng_drv_open(&rdrv, &fx.dch, &dc), XCV_OK);
    rogue_mode = 1;
    assert_int_equal(xcv_rng_drv_read(&rdrv, buf, 16), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_read_bytes, setup),
        cmocka_unit_test(test_partial_requests),
        cmocka_unit_test_setup(test_starved_source, setup),
        cmocka_unit_test_setup(test_hostile_readable, setup),
        cmocka_unit_test_setup(test_budget, setup),
        cmocka_unit_test(test_hostile_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
