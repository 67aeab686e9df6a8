/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vq_driver.h: the driver role of a split virtqueue against a correct device. */
#include "ring_fixture.h"

static struct ring_fixture F;
static int tokens[RF_MAX_NUM * 2];

#define TOK(i) ((void *)&tokens[(i)])

static void setup_num(uint16_t num)
{
    struct rf_opts o = {.num = num};
    rf_setup(&F, &o);
}

/* ---- init ---- */

static void init_rejects_null_and_inconsistent_config(void **state)
{
    struct xcv_vq_driver_config cfg;
    struct xcv_vq_driver q;
    struct xcv_vring_layout bad_ring;
    (void)state;
    setup_num(8);

    rf_drv_config(&F, &cfg);
    assert_int_equal(xcv_vq_driver_init(NULL, &cfg), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_init(&q, NULL), XCV_EINVAL);

    rf_drv_config(&F, &cfg);
    cfg.ring = NULL;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);

    rf_drv_config(&F, &cfg);
    cfg.slots = NULL;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);

    /* A layout whose size is not a power of two. */
    bad_ring = F.ring;
    bad_ring.num = 6;
    rf_drv_config(&F, &cfg);
    cfg.ring = &bad_ring;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);

    bad_ring = F.ring;
    bad_ring.num = 0;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
}

static void init_rejects_indirect_area_with_max_below_2(void **state)
{
    struct xcv_vq_driver_config cfg;
    struct xcv_vq_driver q;
    (void)state;
    setup_num(8);
    rf_drv_config(&F, &cfg);
    cfg.features = XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    cfg.indirect_local = rf_ind_local(&F);
    cfg.indirect_bus = rf_bus(RF_IND_OFF);
    cfg.indirect_max = 1;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
    cfg.indirect_max = 0;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
}

static void init_rejects_misaligned_indirect_area(void **state)
{
    struct xcv_vq_driver_config cfg;
    struct xcv_vq_driver q;
    (void)state;
    setup_num(8);
    rf_drv_config(&F, &cfg);
    cfg.features = XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    cfg.indirect_local = rf_ind_local(&F) + 8;
    cfg.indirect_bus = rf_bus(RF_IND_OFF + 8u);
    cfg.indirect_max = 4;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
}

static void init_zeroes_ring_memory(void **state)
{
    size_t bytes;
    (void)state;
    setup_num(16); /* rf_setup poisons the window before init */
    bytes = (size_t)((uint8_t *)F.ring.used - (uint8_t *)F.ring.desc) + XCV_VRING_USED_BYTES(16);
    for (size_t i = 0; i < bytes; i++) {
        if (i >= XCV_VRING_DESC_BYTES(16) + XCV_VRING_AVAIL_BYTES(16) &&
            (uint8_t *)F.ring.desc + i < (uint8_t *)F.ring.used) {
            continue; /* padding between the areas */
        }
        assert_int_equal(((uint8_t *)F.ring.desc)[i], 0);
    }
}

static void fresh_queue_is_empty_and_healthy(void **state)
{
    void *tok = TOK(0);
    uint32_t len = 77;
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EAGAIN);
    assert_ptr_equal(tok, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 0);
    assert_int_equal(rf_avail_idx(&F), 0);
}

/* ---- add: argument validation ---- */

static void add_rejects_null_token(void **state)
{
    struct xcv_sg sg = {rf_buf_bus(&F, 0), 16};
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, &sg, 1, 0, NULL), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
}

static void add_rejects_empty_chain_and_null_sg(void **state)
{
    struct xcv_sg sg = {rf_buf_bus(&F, 0), 16};
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, &sg, 0, 0, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_add(&F.drv, NULL, 1, 0, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
}

static void add_rejects_chain_longer_than_queue(void **state)
{
    struct xcv_sg sg[9];
    (void)state;
    setup_num(8);
    rf_sg_bufs(&F, sg, 9, 0, 8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 4, 5, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    /* Exactly the queue size is allowed. */
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 4, 4, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 0);
}

/* virtio 1.2, 2.7.5.2: a chain's total length must fit in 32 bits. */
static void add_rejects_writable_bytes_overflowing_32_bits_2_7_5_2(void **state)
{
    struct xcv_sg sg[3] = {
        {rf_buf_bus(&F, 0), 16},
        {rf_buf_bus(&F, 1), 0x80000000u},
        {rf_buf_bus(&F, 2), 0x80000000u},
    };
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    sg[2].len = 0x7FFFFFFFu;
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(0)), XCV_OK);
}

static void add_returns_enospc_and_posts_nothing_when_full(void **state)
{
    struct xcv_sg sg[3];
    (void)state;
    setup_num(4);
    rf_sg_bufs(&F, sg, 3, 0, 32);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 1, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 2);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(1)), XCV_ENOSPC);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 2);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    assert_int_equal(rf_avail_idx(&F), 1);
}

/* ---- add / publish: what reaches shared memory ---- */

/* virtio 1.2, 2.7.5 and 2.7.13.1: readable first, NEXT on all but the last, WRITE on writable. */
static void add_writes_descriptors_as_the_spec_lays_them_out_2_7_13_1(void **state)
{
    struct xcv_sg sg[3] = {
        {rf_buf_bus(&F, 0), 12},
        {rf_buf_bus(&F, 1), 200},
        {rf_buf_bus(&F, 2), 1},
    };
    uint16_t head;
    struct rf_desc d;
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    head = rf_avail_ring(&F, 0);
    assert_true(head < 8);

    d = rf_desc_read(&F, head);
    assert_int_equal(d.addr, sg[0].addr);
    assert_int_equal(d.len, 12);
    assert_int_equal(d.flags, XCV_VRING_DESC_F_NEXT);
    assert_true(d.next < 8);

    d = rf_desc_read(&F, d.next);
    assert_int_equal(d.addr, sg[1].addr);
    assert_int_equal(d.len, 200);
    assert_int_equal(d.flags, XCV_VRING_DESC_F_NEXT | XCV_VRING_DESC_F_WRITE);
    assert_true(d.next < 8);

    d = rf_desc_read(&F, d.next);
    assert_int_equal(d.addr, sg[2].addr);
    assert_int_equal(d.len, 1);
    assert_int_equal(d.flags, XCV_VRING_DESC_F_WRITE);
}

/* virtio 1.2, 2.7.13.3: the device sees new entries only once idx is updated. */
static void add_is_invisible_until_publish_2_7_13_3(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    rf_post_in(&F, 1, 64, TOK(1));
    assert_int_equal(rf_avail_idx(&F), 0);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    assert_int_equal(rf_avail_idx(&F), 2);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 0);
    assert_int_equal(rf_avail_idx(&F), 2);
}

static void kick_prepare_publishes(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_true(xcv_vq_driver_kick_prepare(&F.drv) >= 0);
    assert_int_equal(rf_avail_idx(&F), 1);
}

/* ---- accounting ---- */

static void num_free_and_in_flight_track_chains(void **state)
{
    struct xcv_sg sg[3];
    void *tok;
    uint32_t len;
    (void)state;
    setup_num(8);
    rf_sg_bufs(&F, sg, 3, 0, 32);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 5);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 1);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 2, 0, TOK(1)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 3);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 2);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);

    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 10), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(0), 10);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 6);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 1);

    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(1), 0);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EAGAIN);
}

static void fill_ring_then_enospc_then_reclaim_makes_room(void **state)
{
    struct xcv_sg sg = {rf_buf_bus(&F, 0), 16};
    (void)state;
    setup_num(4);
    for (unsigned round = 0; round < 40; round++) {
        for (unsigned i = 0; i < 4; i++) {
            sg.addr = rf_buf_bus(&F, i);
            assert_int_equal(xcv_vq_driver_add(&F.drv, &sg, 0, 1, TOK(i)), XCV_OK);
        }
        assert_int_equal(xcv_vq_driver_num_free(&F.drv), 0);
        assert_int_equal(xcv_vq_driver_add(&F.drv, &sg, 0, 1, TOK(4)), XCV_ENOSPC);
        assert_int_equal(xcv_vq_driver_publish(&F.drv), 4);
        for (unsigned i = 0; i < 4; i++) {
            rf_pop_ok(&F);
            assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, i));
            assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, i), XCV_OK);
        }
        assert_int_equal(xcv_vq_device_publish(&F.dev), 4);
        for (unsigned i = 0; i < 4; i++) {
            rf_get_used_ok(&F.drv, TOK(i), i);
        }
        assert_int_equal(xcv_vq_driver_num_free(&F.drv), 4);
    }
}

/* ---- indirect descriptors (virtio 1.2, 2.7.5.3) ---- */

static void setup_indirect(uint16_t num, bool prefer)
{
    struct rf_opts o = {
        .num = num,
        .features = XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
        .indirect_area = true,
        .prefer_indirect = prefer,
    };
    rf_setup(&F, &o);
}

static void check_indirect_chain(uint16_t head, const struct xcv_sg *sg, unsigned n_out, unsigned n)
{
    struct rf_desc d = rf_desc_read(&F, head);
    uint8_t *table;
    assert_int_equal(d.flags, XCV_VRING_DESC_F_INDIRECT);
    assert_int_equal(d.len, n * XCV_VRING_DESC_SIZE);
    /* The table lies in the configured indirect area. */
    assert_true(d.addr >= rf_bus(RF_IND_OFF));
    assert_true(d.addr + d.len <=
                rf_bus(RF_IND_OFF) + XCV_VQ_INDIRECT_BYTES(RF_MAX_NUM, RF_IND_MAX));
    assert_int_equal(d.addr % 16u, 0);
    table = F.mem + (d.addr - RF_BUS_BASE);
    for (unsigned i = 0; i < n; i++) {
        struct rf_desc e = rf_desc_load(table + i * XCV_VRING_DESC_SIZE);
        uint16_t flags = (uint16_t)((i + 1 < n ? XCV_VRING_DESC_F_NEXT : 0) |
                                    (i >= n_out ? XCV_VRING_DESC_F_WRITE : 0));
        assert_int_equal(e.addr, sg[i].addr);
        assert_int_equal(e.len, sg[i].len);
        assert_int_equal(e.flags, flags);
        if (i + 1 < n) {
            assert_int_equal(e.next, i + 1);
        }
    }
}

static void prefer_indirect_uses_one_ring_descriptor_2_7_5_3(void **state)
{
    struct xcv_sg sg[3] = {
        {rf_buf_bus(&F, 0), 10},
        {rf_buf_bus(&F, 1), 20},
        {rf_buf_bus(&F, 2), 30},
    };
    (void)state;
    setup_indirect(8, true);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 7);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    check_indirect_chain(rf_avail_ring(&F, 0), sg, 1, 3);

    /* The device sees the same chain, and reclaim frees the one descriptor. */
    rf_pop_ok(&F);
    assert_int_equal(F.chain.n_out, 1);
    assert_int_equal(F.chain.n_in, 2);
    assert_int_equal(F.chain.in_len, 50);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 50), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(0), 50);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
}

static void single_segment_chain_does_not_use_indirect(void **state)
{
    (void)state;
    setup_indirect(8, true);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    assert_int_equal(rf_desc_read(&F, rf_avail_ring(&F, 0)).flags, XCV_VRING_DESC_F_WRITE);
}

static void indirect_used_when_ring_lacks_descriptors(void **state)
{
    struct xcv_sg sg[3] = {
        {rf_buf_bus(&F, 0), 10},
        {rf_buf_bus(&F, 1), 20},
        {rf_buf_bus(&F, 2), 30},
    };
    (void)state;
    setup_indirect(4, false);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 2, 0, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 2); /* direct while room */
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 2, TOK(1)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    check_indirect_chain(rf_avail_ring(&F, 1), sg, 1, 3);
}

static void indirect_area_ignored_without_the_feature(void **state)
{
    struct rf_opts o = {.num = 8, .indirect_area = true, .prefer_indirect = true};
    struct xcv_sg sg[2] = {{rf_buf_bus(&F, 0), 10}, {rf_buf_bus(&F, 1), 20}};
    (void)state;
    rf_setup(&F, &o);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 1, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 6);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    assert_int_equal(rf_desc_read(&F, rf_avail_ring(&F, 0)).flags, XCV_VRING_DESC_F_NEXT);
}

/* ---- notify ---- */

static void notify_without_port_is_enotsup(void **state)
{
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_notify(&F.drv), XCV_ENOTSUP);
}

static void notify_rings_configured_doorbell(void **state)
{
    struct test_port tp;
    struct rf_opts o = {.num = 8, .queue_index = 3};
    (void)state;
    tp_init(&tp, false);
    o.drv_port = &tp.port;
    rf_setup(&F, &o);
    assert_int_equal(xcv_vq_driver_notify(&F.drv), XCV_OK);
    assert_int_equal(tp.notify_calls, 1);
    assert_int_equal(tp.last_doorbell, 0x103);
}

static void notify_propagates_port_error(void **state)
{
    struct test_port tp;
    struct rf_opts o = {.num = 8};
    (void)state;
    tp_init(&tp, false);
    tp.notify_ret = XCV_EPORT;
    o.drv_port = &tp.port;
    rf_setup(&F, &o);
    assert_int_equal(xcv_vq_driver_notify(&F.drv), XCV_EPORT);
    rf_post_in(&F, 0, 16, TOK(0));
    assert_int_equal(xcv_vq_driver_kick(&F.drv), XCV_EPORT);
    assert_int_equal(tp.notify_calls, 2);
}

/* ---- reset and detach ---- */

static void reset_with_chains_outstanding_is_estate_and_changes_nothing(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 16, TOK(0));
    rf_post_in(&F, 1, 16, TOK(1));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_ESTATE);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 2);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 6);
    assert_int_equal(rf_avail_idx(&F), 2);
}

static void detach_unused_returns_every_outstanding_token_once(void **state)
{
    bool seen[8] = {false};
    void *tok;
    uint32_t len;
    struct xcv_sg sg[2];
    unsigned got = 0;
    (void)state;
    setup_num(16);
    /* Mixed lengths, one chain already returned, two never published. */
    for (unsigned i = 0; i < 8; i++) {
        sg[0].addr = rf_buf_bus(&F, 2 * i);
        sg[0].len = 8;
        sg[1].addr = rf_buf_bus(&F, 2 * i + 1);
        sg[1].len = 8;
        assert_int_equal(xcv_vq_driver_add(&F.drv, sg, i % 2u, 1, TOK(i)), XCV_OK);
        if (i == 5) {
            assert_int_equal(xcv_vq_driver_publish(&F.drv), 6);
        }
    }
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_OK);
    assert_ptr_equal(tok, TOK(0));
    seen[0] = true;

    while (xcv_vq_driver_detach_unused(&F.drv, &tok) == XCV_OK) {
        ptrdiff_t i = (int *)tok - tokens;
        assert_true(i >= 0 && i < 8);
        assert_false(seen[i]);
        seen[i] = true;
        got++;
        assert_true(got <= 7);
    }
    assert_int_equal(got, 7);
    for (unsigned i = 0; i < 8; i++) {
        assert_true(seen[i]);
    }
    assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_EAGAIN);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 16);
}

static void detach_unused_on_empty_queue_is_eagain(void **state)
{
    void *tok = TOK(3);
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_EAGAIN);
    assert_ptr_equal(tok, TOK(3));
}

static void reset_after_detach_restores_initial_state(void **state)
{
    void *tok;
    (void)state;
    setup_num(8);
    for (unsigned i = 0; i < 5; i++) {
        rf_post_in(&F, i, 16, TOK(i));
    }
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 5);
    while (xcv_vq_driver_detach_unused(&F.drv, &tok) == XCV_OK) {
    }
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    assert_int_equal(rf_avail_idx(&F), 0);
    assert_int_equal(rf_used_idx(&F), 0);

    /* Both sides reset: a round trip starts again at index 0. */
    xcv_vq_device_reset(&F.dev);
    rf_post_in(&F, 7, 16, TOK(7));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    assert_int_equal(rf_avail_idx(&F), 1);
    rf_pop_ok(&F);
    assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, 7));
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 3), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(7), 3);
}

/* ---- long run: indexes wrap and tokens come back in order ---- */

static void round_trips_across_16_bit_index_wrap(void **state)
{
    struct xcv_sg sg[2];
    (void)state;
    setup_num(4);
    for (uint32_t i = 0; i < 70000u; i++) {
        unsigned b = i % 8u;
        sg[0].addr = rf_buf_bus(&F, b);
        sg[0].len = 4;
        sg[1].addr = rf_buf_bus(&F, b + 8);
        sg[1].len = 100;
        assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 1, TOK(b)), XCV_OK);
        assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
        assert_int_equal(rf_avail_idx(&F), (uint16_t)(i + 1u));
        rf_pop_ok(&F);
        assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, i % 101u), XCV_OK);
        assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
        rf_get_used_ok(&F.drv, TOK(b), i % 101u);
    }
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 4);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_null_and_inconsistent_config),
        cmocka_unit_test(init_rejects_indirect_area_with_max_below_2),
        cmocka_unit_test(init_rejects_misaligned_indirect_area),
        cmocka_unit_test(init_zeroes_ring_memory),
        cmocka_unit_test(fresh_queue_is_empty_and_healthy),
        cmocka_unit_test(add_rejects_null_token),
        cmocka_unit_test(add_rejects_empty_chain_and_null_sg),
        cmocka_unit_test(add_rejects_chain_longer_than_queue),
        cmocka_unit_test(add_rejects_writable_bytes_overflowing_32_bits_2_7_5_2),
        cmocka_unit_test(add_returns_enospc_and_posts_nothing_when_full),
        cmocka_unit_test(add_writes_descriptors_as_the_spec_lays_them_out_2_7_13_1),
        cmocka_unit_test(add_is_invisible_until_publish_2_7_13_3),
        cmocka_unit_test(kick_prepare_publishes),
        cmocka_unit_test(num_free_and_in_flight_track_chains),
        cmocka_unit_test(fill_ring_then_enospc_then_reclaim_makes_room),
        cmocka_unit_test(prefer_indirect_uses_one_ring_descriptor_2_7_5_3),
        cmocka_unit_test(single_segment_chain_does_not_use_indirect),
        cmocka_unit_test(indirect_used_when_ring_lacks_descriptors),
        cmocka_unit_test(indirect_area_ignored_without_the_feature),
        cmocka_unit_test(notify_without_port_is_enotsup),
        cmocka_unit_test(notify_rings_configured_doorbell),
        cmocka_unit_test(notify_propagates_port_error),
        cmocka_unit_test(reset_with_chains_outstanding_is_estate_and_changes_nothing),
        cmocka_unit_test(detach_unused_returns_every_outstanding_token_once),
        cmocka_unit_test(detach_unused_on_empty_queue_is_eagain),
        cmocka_unit_test(reset_after_detach_restores_initial_state),
        cmocka_unit_test(round_trips_across_16_bit_index_wrap),
    };
    return cmocka_run_group_tests_name("vq_driver", tests, NULL, NULL);
}
