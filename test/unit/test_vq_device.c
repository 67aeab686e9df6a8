/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vq_device.h: the device role of a split virtqueue against a correct driver. */
#include "ring_fixture.h"

static struct ring_fixture F;
static int tokens[RF_MAX_NUM];

#define TOK(i) ((void *)&tokens[(i)])

static void setup_num(uint16_t num)
{
    struct rf_opts o = {.num = num};
    rf_setup(&F, &o);
}

/* ---- init: caller errors ---- */

static void init_rejects_null_arguments(void **state)
{
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    (void)state;
    setup_num(8);
    rf_dev_config(&F, &cfg);
    assert_int_equal(xcv_vq_device_init(NULL, &cfg), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_init(&q, NULL), XCV_EINVAL);
    cfg.mem = NULL;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
    rf_dev_config(&F, &cfg);
    cfg.slots = NULL;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
}

static void init_rejects_num_not_a_power_of_two(void **state)
{
    static const uint16_t bad[] = {0, 3, 6, 7, 12, 65535};
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    (void)state;
    setup_num(8);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rf_dev_config(&F, &cfg);
        cfg.num = bad[i];
        assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
    }
}

static void init_rejects_max_chain_above_num(void **state)
{
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    (void)state;
    setup_num(8);
    rf_dev_config(&F, &cfg);
    cfg.max_chain = 9;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
    cfg.max_chain = 8;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_OK);
    cfg.max_chain = 1;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_OK);
}

static void init_writes_nothing_to_shared_memory(void **state)
{
    static uint8_t before[RF_IND_OFF];
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    (void)state;
    setup_num(8);
    memset(F.mem, 0x5A, RF_IND_OFF);
    memcpy(before, F.mem, sizeof(before));
    rf_dev_config(&F, &cfg);
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_OK);
    assert_memory_equal(before, F.mem, sizeof(before));
}

static void fresh_queue_is_empty_and_healthy(void **state)
{
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 0);
    assert_int_equal(rf_used_idx(&F), 0);
}

/* ---- pop ---- */

/* 2.7.10: an empty pop_or_arm leaves avail_event at the next index to pop, so the driver's
 * next publish notifies; a pending chain is popped without touching avail_event. */
static void pop_or_arm_arms_only_when_empty(void **state)
{
    (void)state;
    struct rf_opts o = {.num = 8, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    rf_setup(&F, &o);
    rf_set_avail_event(&F, 0x1234);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_OK);
    assert_int_equal(rf_avail_event(&F), 0x1234);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(rf_avail_event(&F), 1);
    rf_post_in(&F, 1, 64, TOK(1));
    assert_int_equal(xcv_vq_driver_kick_prepare(&F.drv), 1);
}

/* Without EVENT_IDX the re-arm clears NO_NOTIFY (2.7.7). */
static void pop_or_arm_clears_no_notify(void **state)
{
    (void)state;
    setup_num(8);
    xcv_vq_device_disable_notify(&F.dev);
    assert_int_equal(rf_used_flags(&F), XCV_VRING_USED_F_NO_NOTIFY);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(rf_used_flags(&F), 0);
}

static void pop_rejects_null_chain_and_small_cap(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    assert_int_equal(xcv_vq_device_pop(&F.dev, NULL), XCV_EINVAL);
    F.chain.cap = 7; /* max_chain is num == 8 */
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EINVAL);
    F.chain.iov = NULL;
    F.chain.cap = 8;
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EINVAL);
    /* Caller errors do not break the queue and consume nothing. */
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    F.chain.iov = F.iov;
    rf_pop_ok(&F);
    assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, 0));
}

static void pop_returns_validated_segments_in_order(void **state)
{
    struct xcv_sg sg[4] = {
        {rf_buf_bus(&F, 3), 10},
        {rf_buf_bus(&F, 4) + 5u, 20},
        {rf_buf_bus(&F, 5), 256},
        {rf_buf_bus(&F, 6), 1},
    };
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 2, 2, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, rf_avail_ring(&F, 0));
    assert_int_equal(F.chain.n_out, 2);
    assert_int_equal(F.chain.n_in, 2);
    assert_int_equal(F.chain.out_len, 30);
    assert_int_equal(F.chain.in_len, 257);
    rf_assert_seg(&F.chain, 0, rf_buf(&F, 3), 10);
    rf_assert_seg(&F.chain, 1, (uint8_t *)rf_buf(&F, 4) + 5, 20);
    rf_assert_seg(&F.chain, 2, rf_buf(&F, 5), 256);
    rf_assert_seg(&F.chain, 3, rf_buf(&F, 6), 1);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 1);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EAGAIN);
}

static void pop_follows_avail_ring_order(void **state)
{
    uint16_t heads[5];
    (void)state;
    setup_num(8);
    for (unsigned i = 0; i < 5; i++) {
        rf_post_in(&F, i, 16, TOK(i));
    }
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 5);
    for (uint16_t i = 0; i < 5; i++) {
        rf_pop_ok(&F);
        heads[i] = F.chain.head;
        assert_int_equal(heads[i], rf_avail_ring(&F, i));
        assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, i));
    }
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 5);
}

/* ---- push / publish ---- */

static void push_of_head_not_popped_is_einval(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    /* Available but not popped. */
    assert_int_equal(xcv_vq_device_push(&F.dev, rf_avail_ring(&F, 0), 0), XCV_EINVAL);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, (uint16_t)((F.chain.head + 1u) % 8u), 0),
                     XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, 8, 0), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0xFFFF, 0), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 1);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 0);
}

static void push_twice_is_einval(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    assert_int_equal(rf_used_idx(&F), 1);
}

/* virtio 1.2, 2.7.8.1: len is the number of bytes written, at most the writable size. */
static void push_len_above_writable_is_einval_2_7_8_1(void **state)
{
    struct xcv_sg sg[2] = {{rf_buf_bus(&F, 0), 100}, {rf_buf_bus(&F, 1), 64}};
    (void)state;
    setup_num(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 1, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 0, TOK(1)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 65), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 64), XCV_OK);
    rf_pop_ok(&F); /* read-only chain */
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

static void publish_writes_used_entries_and_index(void **state)
{
    uint16_t heads[3];
    (void)state;
    setup_num(8);
    for (unsigned i = 0; i < 3; i++) {
        rf_post_in(&F, i, 64, TOK(i));
    }
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 3);
    for (unsigned i = 0; i < 3; i++) {
        rf_pop_ok(&F);
        heads[i] = F.chain.head;
    }
    /* Completion out of order is allowed (no IN_ORDER). */
    assert_int_equal(xcv_vq_device_push(&F.dev, heads[2], 30), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, heads[0], 10), XCV_OK);
    assert_int_equal(rf_used_idx(&F), 0);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 2);
    assert_int_equal(rf_used_idx(&F), 2);
    rf_assert_used(&F, 0, heads[2], 30);
    rf_assert_used(&F, 1, heads[0], 10);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 1);
    assert_int_equal(xcv_vq_device_push(&F.dev, heads[1], 64), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 0);
    assert_int_equal(rf_used_idx(&F), 3);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
}

static void head_can_be_reused_after_push(void **state)
{
    void *tok;
    uint32_t len;
    (void)state;
    setup_num(1);
    for (unsigned i = 0; i < 300; i++) {
        rf_post_in(&F, i % 4u, 64, TOK(i % 4u));
        assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
        rf_pop_ok(&F);
        assert_int_equal(F.chain.head, 0);
        assert_int_equal(xcv_vq_device_push(&F.dev, 0, 64), XCV_OK);
        assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
        assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_OK);
        assert_ptr_equal(tok, TOK(i % 4u));
    }
}

/* ---- reset ---- */

static void reset_drops_in_flight_and_queue_works_again(void **state)
{
    void *tok;
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    rf_post_in(&F, 1, 64, TOK(1));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 1);

    xcv_vq_device_reset(&F.dev);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    while (xcv_vq_driver_detach_unused(&F.drv, &tok) == XCV_OK) {
    }
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);

    rf_post_in(&F, 2, 64, TOK(2));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, 2));
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 5), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    assert_int_equal(rf_used_idx(&F), 1);
    rf_get_used_ok(&F.drv, TOK(2), 5);
}

static void max_chain_limits_cap_requirement(void **state)
{
    struct rf_opts o = {.num = 8, .max_chain = 2};
    struct xcv_sg sg[2] = {{rf_buf_bus(&F, 0), 4}, {rf_buf_bus(&F, 1), 4}};
    (void)state;
    rf_setup(&F, &o);
    assert_int_equal(xcv_vq_driver_add(&F.drv, sg, 1, 1, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    F.chain.cap = 1;
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EINVAL);
    F.chain.cap = 2;
    rf_pop_ok(&F);
    assert_int_equal(F.chain.n_out + F.chain.n_in, 2);
}

/* push_burst stages entries in array order, each checked as push checks it; it stops at the
 * first refused entry and reports how many it staged. */
static void push_burst_stages_in_order_and_stops_at_a_refused_entry(void **state)
{
    uint16_t heads[4];
    (void)state;
    setup_num(8);
    for (unsigned i = 0; i < 4; i++) {
        rf_post_in(&F, i, 64, TOK(i));
    }
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 4);
    for (unsigned i = 0; i < 4; i++) {
        rf_pop_ok(&F);
        heads[i] = F.chain.head;
    }
    assert_int_equal(xcv_vq_device_push_burst(NULL, NULL, 0), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, NULL, 0), 0);
    /* Out of order is fine without IN_ORDER; the third entry is too long: two are staged. */
    struct xcv_chain_done d[4] = {{heads[3], 7}, {heads[1], 0}, {heads[0], 65}, {heads[2], 1}};
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, d, 4), 2);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 2);
    /* The first entry refused: nothing staged, the reason push gives. */
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, &d[1], 1), XCV_EINVAL); /* pushed */
    d[2].len = 64;
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, &d[2], 2), 2);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
    assert_int_equal(rf_used_idx(&F), 0);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 4);
    rf_assert_used(&F, 0, heads[3], 7);
    rf_assert_used(&F, 1, heads[1], 0);
    rf_assert_used(&F, 2, heads[0], 64);
    rf_assert_used(&F, 3, heads[2], 1);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

static void push_burst_on_broken_queue_is_ebroken(void **state)
{
    (void)state;
    setup_num(8);
    rf_post_in(&F, 0, 64, TOK(0));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    struct xcv_chain_done d = {F.chain.head, 0};
    rf_set_avail_idx(&F, (uint16_t)(rf_avail_idx(&F) + 100u)); /* moved by more than num */
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EPROTO_AVAIL_IDX);
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, &d, 1), XCV_EBROKEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_null_arguments),
        cmocka_unit_test(init_rejects_num_not_a_power_of_two),
        cmocka_unit_test(init_rejects_max_chain_above_num),
        cmocka_unit_test(init_writes_nothing_to_shared_memory),
        cmocka_unit_test(fresh_queue_is_empty_and_healthy),
        cmocka_unit_test(pop_rejects_null_chain_and_small_cap),
        cmocka_unit_test(pop_or_arm_arms_only_when_empty),
        cmocka_unit_test(pop_or_arm_clears_no_notify),
        cmocka_unit_test(pop_returns_validated_segments_in_order),
        cmocka_unit_test(pop_follows_avail_ring_order),
        cmocka_unit_test(push_of_head_not_popped_is_einval),
        cmocka_unit_test(push_twice_is_einval),
        cmocka_unit_test(push_len_above_writable_is_einval_2_7_8_1),
        cmocka_unit_test(publish_writes_used_entries_and_index),
        cmocka_unit_test(head_can_be_reused_after_push),
        cmocka_unit_test(reset_drops_in_flight_and_queue_works_again),
        cmocka_unit_test(max_chain_limits_cap_requirement),
        cmocka_unit_test(push_burst_stages_in_order_and_stops_at_a_refused_entry),
        cmocka_unit_test(push_burst_on_broken_queue_is_ebroken),
    };
    return cmocka_run_group_tests_name("vq_device", tests, NULL, NULL);
}
