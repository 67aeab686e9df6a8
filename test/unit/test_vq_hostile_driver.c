/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device role against a hostile driver: the test writes raw descriptors and ring entries,
 * and every malformed input must be rejected with its exact code, break the queue for good
 * (until reset), and be reported to the port's log. Nothing outside the window is ever
 * returned to the caller.
 */
#include "ring_fixture.h"

static struct ring_fixture F;
static struct test_port TP;

#define QI 2u
#define IND XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)
#define F_NEXT XCV_VRING_DESC_F_NEXT
#define F_WRITE XCV_VRING_DESC_F_WRITE
#define F_IND XCV_VRING_DESC_F_INDIRECT

static void setup_hostile(uint16_t num, uint64_t features, uint16_t max_chain)
{
    struct rf_opts o = {
        .num = num, .features = features, .max_chain = max_chain, .queue_index = QI};
    rf_setup_ports(&F, &o, NULL, &TP, false);
}

/* A descriptor pointing at data buffer @p buf. */
static void good(uint16_t i, unsigned buf, uint32_t len, uint16_t flags, uint16_t next)
{
    rf_desc_write(&F, i, rf_buf_bus(&F, buf), len, flags, next);
}

/* Entry @p i of a raw indirect table placed at offset @p table of the indirect area. */
static uint8_t *ind_entry(unsigned table, unsigned i)
{
    return rf_ind_local(&F) + table * 0x100u + i * XCV_VRING_DESC_SIZE;
}

static uint64_t ind_bus(unsigned table)
{
    return rf_bus(RF_IND_OFF + table * 0x100u);
}

/* The queue is broken with @p code: sticky for every entry point, and reported once. */
static void assert_broken_with(int code)
{
    struct xcv_chain c = F.chain;
    assert_int_equal(xcv_vq_device_broken(&F.dev), code);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &c), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &c), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 0), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_publish(&F.dev), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_should_notify(&F.dev), XCV_EBROKEN);
    assert_true(xcv_vq_device_flush(&F.dev) < 0);
    assert_int_equal(xcv_vq_device_broken(&F.dev), code);
    tp_assert_logged_once(&TP, code, QI);
    /* The device never told the driver anything. */
    assert_int_equal(rf_used_idx(&F), 0);
}

static void pop_fails_with(int code)
{
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), code);
    assert_broken_with(code);
}

/* The driver makes @p head available; popping it breaks the queue with @p code. */
static void push_fails_with(uint16_t head, int code)
{
    rf_avail_push(&F, head);
    pop_fails_with(code);
}

/* ---- available index (virtio 1.2, 2.7.6 and 2.7.13.3) ---- */

static void avail_idx_jump_beyond_num_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, 0, 0);
    rf_set_avail_idx(&F, 9);
    pop_fails_with(XCV_EPROTO_AVAIL_IDX);
}

static void avail_idx_jump_backwards_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, 0, 0);
    rf_set_avail_idx(&F, 0xFFFF); /* 65535 chains "available" */
    pop_fails_with(XCV_EPROTO_AVAIL_IDX);
}

static void avail_idx_jump_of_exactly_num_is_accepted(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    for (uint16_t i = 0; i < 8; i++) {
        good(i, i, 16, 0, 0);
        rf_avail_push(&F, i);
    }
    for (uint16_t i = 0; i < 8; i++) {
        rf_pop_ok(&F);
        assert_int_equal(F.chain.head, i);
    }
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EAGAIN);
}

static void avail_idx_jump_detected_by_enable_notify(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    rf_set_avail_idx(&F, 100);
    assert_int_equal(xcv_vq_device_enable_notify(&F.dev), XCV_EPROTO_AVAIL_IDX);
    assert_broken_with(XCV_EPROTO_AVAIL_IDX);
}

/* ---- heads ---- */

static void head_out_of_range_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    push_fails_with(8, XCV_EPROTO_HEAD);
}

static void head_far_out_of_range_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    push_fails_with(0xFFFF, XCV_EPROTO_HEAD);
}

static void head_made_available_twice_while_in_flight_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(3, 0, 16, 0, 0);
    rf_avail_push(&F, 3);
    rf_avail_push(&F, 3);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 3);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EPROTO_HEAD);
    assert_int_equal(xcv_vq_device_broken(&F.dev), XCV_EPROTO_HEAD);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EBROKEN);
    assert_int_equal(TP.last_log_err, XCV_EPROTO_HEAD);
}

static void head_reused_after_push_is_accepted(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(3, 0, 16, F_WRITE, 0);
    rf_avail_push(&F, 3);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, 3, 16), XCV_OK);
    rf_avail_push(&F, 3);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 3);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

/* A head that is the middle of a chain in flight is also a descriptor the device holds. */
static void head_inside_chain_in_flight_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, F_NEXT, 1);
    good(1, 1, 16, 0, 0);
    rf_avail_push(&F, 0);
    rf_pop_ok(&F);
    rf_avail_push(&F, 1);
    /* The spec forbids it; a device may either reject it or serve it, but must stay sane. */
    int rc = xcv_vq_device_pop(&F.dev, &F.chain);
    if (rc != XCV_OK) {
        assert_int_equal(rc, XCV_EPROTO_HEAD);
        assert_int_equal(xcv_vq_device_broken(&F.dev), XCV_EPROTO_HEAD);
    } else {
        assert_true(rf_in_window(&F, F.chain.iov[0].base, F.chain.iov[0].len));
    }
}

/* ---- next, loops and length (virtio 1.2, 2.7.5.2) ---- */

static void next_out_of_range_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, F_NEXT, 8);
    push_fails_with(0, XCV_EPROTO_NEXT);
}

static void loop_of_two_descriptors_breaks_queue_2_7_5_2(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, F_NEXT, 1);
    good(1, 1, 16, F_NEXT, 0);
    push_fails_with(0, XCV_EPROTO_CHAIN_LEN);
}

static void self_loop_breaks_queue_2_7_5_2(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(5, 0, 16, F_NEXT, 5);
    push_fails_with(5, XCV_EPROTO_CHAIN_LEN);
}

static void chain_longer_than_max_chain_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 4);
    for (uint16_t i = 0; i < 5; i++) {
        good(i, i, 16, i < 4 ? F_NEXT : 0, (uint16_t)(i + 1u));
    }
    push_fails_with(0, XCV_EPROTO_CHAIN_LEN);
}

static void chain_of_exactly_max_chain_is_accepted(void **state)
{
    (void)state;
    setup_hostile(8, 0, 4);
    for (uint16_t i = 0; i < 4; i++) {
        good(i, i, 16, i < 3 ? F_NEXT : 0, (uint16_t)(i + 1u));
    }
    rf_avail_push(&F, 0);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.n_out, 4);
    assert_int_equal(F.chain.out_len, 64);
}

/* ---- indirect tables (virtio 1.2, 2.7.5.3) ---- */

static void valid_indirect_chain_pops_with_right_segments_2_7_5_3(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 11, F_NEXT, 1);
    rf_desc_store(ind_entry(0, 1), rf_buf_bus(&F, 2), 22, F_NEXT | F_WRITE, 2);
    rf_desc_store(ind_entry(0, 2), rf_buf_bus(&F, 3), 33, F_WRITE, 0);
    rf_desc_write(&F, 6, ind_bus(0), 48, F_IND, 0);
    rf_avail_push(&F, 6);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 6);
    assert_int_equal(F.chain.n_out, 1);
    assert_int_equal(F.chain.n_in, 2);
    assert_int_equal(F.chain.out_len, 11);
    assert_int_equal(F.chain.in_len, 55);
    rf_assert_seg(&F.chain, 0, rf_buf(&F, 1), 11);
    rf_assert_seg(&F.chain, 1, rf_buf(&F, 2), 22);
    rf_assert_seg(&F.chain, 2, rf_buf(&F, 3), 33);
    assert_int_equal(xcv_vq_device_push(&F.dev, 6, 55), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    assert_int_equal(rf_used_id(&F, 0), 6);
}

/* virtio 1.2, 2.7.5.3.2: the device ignores WRITE on the descriptor naming a table. */
static void write_flag_on_indirect_descriptor_is_ignored_2_7_5_3_2(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, F_NEXT, 1);
    rf_desc_store(ind_entry(0, 1), rf_buf_bus(&F, 2), 8, F_WRITE, 0);
    rf_desc_write(&F, 0, ind_bus(0), 32, F_IND | F_WRITE, 0);
    rf_avail_push(&F, 0);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.n_out, 1);
    assert_int_equal(F.chain.n_in, 1);
}

/* virtio 1.2, 2.7.5.3.2: direct descriptors may precede one indirect descriptor. */
static void direct_descriptors_before_indirect_are_accepted_2_7_5_3_2(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 2), 20, F_WRITE, 0);
    good(0, 1, 10, F_NEXT, 1);
    rf_desc_write(&F, 1, ind_bus(0), 16, F_IND, 0);
    rf_avail_push(&F, 0);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.n_out, 1);
    assert_int_equal(F.chain.n_in, 1);
    assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, 1));
    assert_ptr_equal(F.chain.iov[1].base, rf_buf(&F, 2));
    assert_int_equal(F.chain.in_len, 20);
}

static void nested_indirect_table_breaks_queue_2_7_5_3_1(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(1, 0), rf_buf_bus(&F, 1), 8, 0, 0);
    rf_desc_store(ind_entry(0, 0), ind_bus(1), 16, F_IND, 0);
    rf_desc_write(&F, 0, ind_bus(0), 16, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_INDIRECT);
}

static void indirect_with_next_set_breaks_queue_2_7_5_3_1(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, 0, 0);
    rf_desc_write(&F, 0, ind_bus(0), 16, F_IND | F_NEXT, 1);
    good(1, 2, 8, 0, 0);
    push_fails_with(0, XCV_EPROTO_INDIRECT);
}

static void indirect_table_length_zero_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_write(&F, 0, ind_bus(0), 0, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_INDIRECT_LEN);
}

static void indirect_table_length_not_multiple_of_16_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, F_NEXT, 1);
    rf_desc_store(ind_entry(0, 1), rf_buf_bus(&F, 1), 8, 0, 0);
    rf_desc_write(&F, 0, ind_bus(0), 24, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_INDIRECT_LEN);
}

static void indirect_not_negotiated_breaks_queue_2_7_5_3_1(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, 0, 0);
    rf_desc_write(&F, 0, ind_bus(0), 16, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_FEATURE);
}

static void indirect_next_out_of_table_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, F_NEXT, 2);
    rf_desc_store(ind_entry(0, 1), rf_buf_bus(&F, 1), 8, 0, 0);
    rf_desc_write(&F, 0, ind_bus(0), 32, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_NEXT);
}

static void indirect_loop_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, F_NEXT, 1);
    rf_desc_store(ind_entry(0, 1), rf_buf_bus(&F, 2), 8, F_NEXT, 0);
    rf_desc_write(&F, 0, ind_bus(0), 32, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_CHAIN_LEN);
}

static void indirect_table_longer_than_max_chain_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 4);
    for (unsigned i = 0; i < 5; i++) {
        rf_desc_store(ind_entry(0, i), rf_buf_bus(&F, i), 8, i < 4 ? F_NEXT : 0,
                      (uint16_t)(i + 1u));
    }
    rf_desc_write(&F, 0, ind_bus(0), 80, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_CHAIN_LEN);
}

static void indirect_table_outside_window_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_write(&F, 0, RF_BUS_BASE + RF_WINDOW_SIZE, 16, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_WINDOW);
}

static void indirect_table_wrapping_2_64_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_write(&F, 0, UINT64_MAX - 15u, 32, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_OVERFLOW);
}

/* ---- write order (virtio 1.2, 2.7.4.2 / 2.7.5.2) ---- */

static void readable_after_writable_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, F_NEXT, 1);
    good(1, 1, 16, F_NEXT | F_WRITE, 2);
    good(2, 2, 16, 0, 0);
    push_fails_with(0, XCV_EPROTO_WRITE_ORDER);
}

static void readable_after_writable_inside_indirect_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 1), 8, F_NEXT | F_WRITE, 1);
    rf_desc_store(ind_entry(0, 1), rf_buf_bus(&F, 2), 8, 0, 0);
    rf_desc_write(&F, 0, ind_bus(0), 32, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_WRITE_ORDER);
}

static void readable_in_indirect_after_writable_direct_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, IND, 0);
    rf_desc_store(ind_entry(0, 0), rf_buf_bus(&F, 2), 8, 0, 0);
    good(0, 1, 8, F_NEXT | F_WRITE, 1);
    rf_desc_write(&F, 1, ind_bus(0), 16, F_IND, 0);
    push_fails_with(0, XCV_EPROTO_WRITE_ORDER);
}

/* ---- addresses and lengths ---- */

static void address_range_wrapping_2_64_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    rf_desc_write(&F, 0, UINT64_MAX - 7u, 16, 0, 0);
    push_fails_with(0, XCV_EPROTO_OVERFLOW);
}

static void address_outside_window_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    rf_desc_write(&F, 0, RF_BUS_BASE + RF_WINDOW_SIZE + 0x1000u, 16, F_WRITE, 0);
    push_fails_with(0, XCV_EPROTO_WINDOW);
}

static void address_below_window_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    rf_desc_write(&F, 0, RF_BUS_BASE - 16u, 16, 0, 0);
    push_fails_with(0, XCV_EPROTO_WINDOW);
}

static void address_straddling_window_end_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, F_NEXT, 1);
    rf_desc_write(&F, 1, RF_BUS_BASE + RF_WINDOW_SIZE - 8u, 16, F_WRITE, 0);
    push_fails_with(0, XCV_EPROTO_WINDOW);
}

static void buffer_ending_exactly_at_window_end_is_accepted(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    rf_desc_write(&F, 0, RF_BUS_BASE + RF_WINDOW_SIZE - 16u, 16, F_WRITE, 0);
    rf_avail_push(&F, 0);
    rf_pop_ok(&F);
    assert_ptr_equal(F.chain.iov[0].base, F.mem + RF_WINDOW_SIZE - 16);
}

/* A window large enough that per-descriptor checks pass and only the sum overflows. */
#define HUGE_BUS UINT64_C(0x10000000000)
#define HUGE_SIZE UINT64_C(0x200000000)
static uint8_t huge_backing[16];

static void setup_huge_window(struct xcv_window ws[2], struct xcv_memmap *map)
{
    struct xcv_vq_device_config cfg;
    ws[0] = F.win;
    /* Never dereferenced by pop: it only translates. */
    assert_int_equal(xcv_window_init(&ws[1], huge_backing, HUGE_BUS, HUGE_SIZE), XCV_OK);
    map->windows = ws;
    map->count = 2;
    rf_dev_config(&F, &cfg);
    cfg.mem = map;
    assert_int_equal(xcv_vq_device_init(&F.dev, &cfg), XCV_OK);
}

/* virtio 1.2, 2.7.5.2: a chain's total length fits in 32 bits. */
static void total_writable_length_overflowing_32_bits_breaks_queue_2_7_5_2(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap map;
    (void)state;
    setup_hostile(8, 0, 0);
    setup_huge_window(ws, &map);
    rf_desc_write(&F, 0, HUGE_BUS, 0x80000000u, F_WRITE | F_NEXT, 1);
    rf_desc_write(&F, 1, HUGE_BUS + 0x80000000u, 0x80000000u, F_WRITE, 0);
    push_fails_with(0, XCV_EPROTO_OVERFLOW);
}

static void total_readable_length_overflowing_32_bits_breaks_queue_2_7_5_2(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap map;
    (void)state;
    setup_hostile(8, 0, 0);
    setup_huge_window(ws, &map);
    rf_desc_write(&F, 0, HUGE_BUS, 0xFFFFFFFFu, F_NEXT, 1);
    rf_desc_write(&F, 1, HUGE_BUS, 1, 0, 0);
    push_fails_with(0, XCV_EPROTO_OVERFLOW);
}

static void total_length_just_below_2_32_is_accepted(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap map;
    (void)state;
    setup_hostile(8, 0, 0);
    setup_huge_window(ws, &map);
    rf_desc_write(&F, 0, HUGE_BUS, 0x80000000u, F_WRITE | F_NEXT, 1);
    rf_desc_write(&F, 1, HUGE_BUS + 0x80000000u, 0x7FFFFFFFu, F_WRITE, 0);
    rf_avail_push(&F, 0);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.in_len, 0xFFFFFFFFu);
    assert_ptr_equal(F.chain.iov[0].base, huge_backing);
}

/* ---- ring placement at init (virtio 1.2, 2.7: alignment 16 / 2 / 4) ---- */

static void init_fails_with(uint64_t desc, uint64_t avail, uint64_t used, int code)
{
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    rf_dev_config(&F, &cfg);
    cfg.desc_bus = desc;
    cfg.avail_bus = avail;
    cfg.used_bus = used;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), code);
}

static void init_rejects_misaligned_ring_areas_2_7(void **state)
{
    uint64_t d, a, u;
    (void)state;
    setup_hostile(8, 0, 0);
    d = F.ring.desc_bus;
    a = F.ring.avail_bus;
    u = F.ring.used_bus;
    init_fails_with(d + 8u, a, u, XCV_EPROTO_LAYOUT);
    init_fails_with(d + 1u, a, u, XCV_EPROTO_LAYOUT);
    init_fails_with(d, a + 1u, u, XCV_EPROTO_LAYOUT);
    init_fails_with(d, a, u + 2u, XCV_EPROTO_LAYOUT);
    init_fails_with(d, a, u + 1u, XCV_EPROTO_LAYOUT);
    /* Minimal spec alignment is enough. */
    init_fails_with(d, a + 2u, u + 4u, XCV_OK);
}

static void init_rejects_overlapping_ring_areas(void **state)
{
    uint64_t d, a, u;
    (void)state;
    setup_hostile(8, 0, 0);
    d = F.ring.desc_bus;
    a = F.ring.avail_bus;
    u = F.ring.used_bus;
    init_fails_with(d + 16u, a, u, XCV_EPROTO_LAYOUT); /* the table runs into the avail ring */
    init_fails_with(d, a, a, XCV_EPROTO_LAYOUT);       /* used ring over the avail ring */
    init_fails_with(d, a, d + 64u, XCV_EPROTO_LAYOUT); /* used ring inside the table */
    init_fails_with(d, d, u, XCV_EPROTO_LAYOUT);       /* avail ring at the table */
    init_fails_with(d, a, u, XCV_OK);
}

static void init_rejects_ring_areas_outside_window(void **state)
{
    uint64_t d, a, u, end = RF_BUS_BASE + RF_WINDOW_SIZE;
    (void)state;
    setup_hostile(8, 0, 0);
    d = F.ring.desc_bus;
    a = F.ring.avail_bus;
    u = F.ring.used_bus;
    init_fails_with(RF_BUS_BASE - 0x1000u, a, u, XCV_EPROTO_WINDOW);
    init_fails_with(end, a, u, XCV_EPROTO_WINDOW);
    init_fails_with(d, end - 8u, u, XCV_EPROTO_WINDOW);  /* avail straddles the end */
    init_fails_with(d, a, end - 8u, XCV_EPROTO_WINDOW);  /* used straddles the end */
    init_fails_with(end - 64u, a, u, XCV_EPROTO_WINDOW); /* desc straddles the end */
}

static void init_rejects_ring_areas_wrapping_2_64(void **state)
{
    uint64_t d, a, u;
    (void)state;
    setup_hostile(8, 0, 0);
    d = F.ring.desc_bus;
    a = F.ring.avail_bus;
    u = F.ring.used_bus;
    init_fails_with(UINT64_MAX - 15u, a, u, XCV_EPROTO_OVERFLOW);
    init_fails_with(d, UINT64_MAX - 1u, u, XCV_EPROTO_OVERFLOW);
    init_fails_with(d, a, UINT64_MAX - 3u, XCV_EPROTO_OVERFLOW);
}

/* ---- recovery ---- */

static void reset_after_breakage_makes_queue_work_again(void **state)
{
    (void)state;
    setup_hostile(8, 0, 0);
    good(0, 0, 16, F_NEXT, 1);
    good(1, 1, 16, F_NEXT, 0);
    push_fails_with(0, XCV_EPROTO_CHAIN_LEN);

    /* The transport resets both sides; the driver starts over with a fresh ring. */
    xcv_vq_device_reset(&F.dev);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    memset(F.ring.desc, 0, XCV_VRING_BYTES(8, 64));
    F.raw_avail_idx = 0;
    good(2, 4, 64, F_WRITE, 0);
    rf_avail_push(&F, 2);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 2);
    assert_ptr_equal(F.chain.iov[0].base, rf_buf(&F, 4));
    assert_int_equal(xcv_vq_device_push(&F.dev, 2, 64), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    assert_int_equal(rf_used_idx(&F), 1);
    rf_assert_used(&F, 0, 2, 64);
}

/* ---- property: whatever the driver writes, no iov leaves the window ---- */

static uint64_t random_addr(uint32_t *rs)
{
    uint32_t r = rf_rand(rs);
    switch (r % 8u) {
    case 0:
        return RF_BUS_BASE + (rf_rand(rs) % RF_WINDOW_SIZE);
    case 1:
        return RF_BUS_BASE + RF_WINDOW_SIZE - (rf_rand(rs) % 64u);
    case 2:
        return RF_BUS_BASE - (rf_rand(rs) % 64u);
    case 3:
        return UINT64_MAX - (rf_rand(rs) % 64u);
    case 4:
        return rf_rand(rs);
    case 5:
        return rf_bus(RF_IND_OFF) + 16u * (rf_rand(rs) % 32u);
    default:
        return rf_buf_bus(&F, rf_rand(rs) % RF_NUM_BUFS);
    }
}

static uint32_t random_len(uint32_t *rs)
{
    static const uint32_t lens[] = {0,  1,   15,     16,          32,          48,
                                    64, 256, 0x1000, 0x80000000u, 0xFFFFFFFFu, 24};
    return lens[rf_rand(rs) % (sizeof(lens) / sizeof(lens[0]))];
}

static void random_descriptor(uint8_t *d, uint32_t *rs, uint16_t num)
{
    uint16_t next = (uint16_t)(rf_rand(rs) % (num + 2u));
    rf_desc_store(d, random_addr(rs), random_len(rs), (uint16_t)(rf_rand(rs) % 8u), next);
}

static void random_rings_never_yield_an_iov_outside_the_window(void **state)
{
    uint32_t rs = 0x12345u;
    unsigned ok = 0, rejected = 0;
    (void)state;
    setup_hostile(8, IND, 0);
    for (unsigned iter = 0; iter < 4000; iter++) {
        uint16_t navail = (uint16_t)(1u + rf_rand(&rs) % 10u);
        xcv_vq_device_reset(&F.dev);
        TP.log_error_calls = 0;
        for (uint16_t i = 0; i < 8; i++) {
            random_descriptor(rf_desc_ptr(&F, i), &rs, 8);
        }
        for (unsigned i = 0; i < 32; i++) {
            random_descriptor(rf_ind_local(&F) + 16u * i, &rs, 8);
        }
        for (uint16_t i = 0; i < 8; i++) {
            rf_set_avail_ring(&F, i, (uint16_t)(rf_rand(&rs) % 10u));
        }
        rf_set_avail_idx(&F, navail);
        for (;;) {
            int rc = xcv_vq_device_pop(&F.dev, &F.chain);
            if (rc == XCV_EAGAIN) {
                break;
            }
            if (rc != XCV_OK) {
                assert_true(xcv_err_is_protocol(rc));
                assert_int_equal(xcv_vq_device_broken(&F.dev), rc);
                assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EBROKEN);
                assert_int_equal(TP.log_error_calls, 1);
                rejected++;
                break;
            }
            ok++;
            uint32_t out = 0, in = 0;
            assert_true(F.chain.n_out + F.chain.n_in <= F.chain.cap);
            for (unsigned s = 0; s < (unsigned)F.chain.n_out + F.chain.n_in; s++) {
                assert_true(rf_in_window(&F, F.chain.iov[s].base, F.chain.iov[s].len));
                if (s < F.chain.n_out) {
                    out += F.chain.iov[s].len;
                } else {
                    in += F.chain.iov[s].len;
                }
            }
            assert_int_equal(out, F.chain.out_len);
            assert_int_equal(in, F.chain.in_len);
        }
    }
    /* Both outcomes must actually have been exercised. */
    assert_true(ok > 100);
    assert_true(rejected > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(avail_idx_jump_beyond_num_breaks_queue),
        cmocka_unit_test(avail_idx_jump_backwards_breaks_queue),
        cmocka_unit_test(avail_idx_jump_of_exactly_num_is_accepted),
        cmocka_unit_test(avail_idx_jump_detected_by_enable_notify),
        cmocka_unit_test(head_out_of_range_breaks_queue),
        cmocka_unit_test(head_far_out_of_range_breaks_queue),
        cmocka_unit_test(head_made_available_twice_while_in_flight_breaks_queue),
        cmocka_unit_test(head_reused_after_push_is_accepted),
        cmocka_unit_test(head_inside_chain_in_flight_breaks_queue),
        cmocka_unit_test(next_out_of_range_breaks_queue),
        cmocka_unit_test(loop_of_two_descriptors_breaks_queue_2_7_5_2),
        cmocka_unit_test(self_loop_breaks_queue_2_7_5_2),
        cmocka_unit_test(chain_longer_than_max_chain_breaks_queue),
        cmocka_unit_test(chain_of_exactly_max_chain_is_accepted),
        cmocka_unit_test(valid_indirect_chain_pops_with_right_segments_2_7_5_3),
        cmocka_unit_test(write_flag_on_indirect_descriptor_is_ignored_2_7_5_3_2),
        cmocka_unit_test(direct_descriptors_before_indirect_are_accepted_2_7_5_3_2),
        cmocka_unit_test(nested_indirect_table_breaks_queue_2_7_5_3_1),
        cmocka_unit_test(indirect_with_next_set_breaks_queue_2_7_5_3_1),
        cmocka_unit_test(indirect_table_length_zero_breaks_queue),
        cmocka_unit_test(indirect_table_length_not_multiple_of_16_breaks_queue),
        cmocka_unit_test(indirect_not_negotiated_breaks_queue_2_7_5_3_1),
        cmocka_unit_test(indirect_next_out_of_table_breaks_queue),
        cmocka_unit_test(indirect_loop_breaks_queue),
        cmocka_unit_test(indirect_table_longer_than_max_chain_breaks_queue),
        cmocka_unit_test(indirect_table_outside_window_breaks_queue),
        cmocka_unit_test(indirect_table_wrapping_2_64_breaks_queue),
        cmocka_unit_test(readable_after_writable_breaks_queue),
        cmocka_unit_test(readable_after_writable_inside_indirect_breaks_queue),
        cmocka_unit_test(readable_in_indirect_after_writable_direct_breaks_queue),
        cmocka_unit_test(address_range_wrapping_2_64_breaks_queue),
        cmocka_unit_test(address_outside_window_breaks_queue),
        cmocka_unit_test(address_below_window_breaks_queue),
        cmocka_unit_test(address_straddling_window_end_breaks_queue),
        cmocka_unit_test(buffer_ending_exactly_at_window_end_is_accepted),
        cmocka_unit_test(total_writable_length_overflowing_32_bits_breaks_queue_2_7_5_2),
        cmocka_unit_test(total_readable_length_overflowing_32_bits_breaks_queue_2_7_5_2),
        cmocka_unit_test(total_length_just_below_2_32_is_accepted),
        cmocka_unit_test(init_rejects_misaligned_ring_areas_2_7),
        cmocka_unit_test(init_rejects_overlapping_ring_areas),
        cmocka_unit_test(init_rejects_ring_areas_outside_window),
        cmocka_unit_test(init_rejects_ring_areas_wrapping_2_64),
        cmocka_unit_test(reset_after_breakage_makes_queue_work_again),
        cmocka_unit_test(random_rings_never_yield_an_iov_outside_the_window),
    };
    return cmocka_run_group_tests_name("vq_hostile_driver", tests, NULL, NULL);
}
