/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vring.h: split-ring layout (virtio 1.2, 2.7) and its sizing macros. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vring.h"

#define BUS UINT64_C(0x80001000)

static _Alignas(128) uint8_t ring_mem[XCV_VRING_BYTES(XCV_VRING_MAX_NUM, 128)];

static void check_layout(uint32_t num, uint32_t line)
{
    struct xcv_vring_layout l;
    size_t eff = line == 0 ? XCV_CACHE_LINE_DEFAULT : line;
    size_t used_off = XCV_VRING_USED_OFFSET(num, eff);

    memset(&l, 0, sizeof(l));
    assert_int_equal(xcv_vring_layout(ring_mem, BUS, num, line, &l), XCV_OK);
    assert_int_equal(l.num, num);
    assert_ptr_equal(l.desc, ring_mem);
    assert_ptr_equal(l.avail, ring_mem + XCV_VRING_AVAIL_OFFSET(num));
    assert_ptr_equal(l.used, ring_mem + used_off);
    assert_int_equal(l.desc_bus, BUS);
    assert_int_equal(l.avail_bus, BUS + XCV_VRING_AVAIL_OFFSET(num));
    assert_int_equal(l.used_bus, BUS + used_off);
}

static void layout_places_areas_as_the_macros_say_for_every_num(void **state)
{
    (void)state;
    for (uint32_t num = 1; num <= XCV_VRING_MAX_NUM; num *= 2u) {
        check_layout(num, 0);
        check_layout(num, 64);
        check_layout(num, 128);
        check_layout(num, 16);
    }
}

/* virtio 1.2, 2.7: descriptor table 16-aligned, available ring 2, used ring 4. */
static void layout_meets_spec_alignment_2_7(void **state)
{
    (void)state;
    for (uint32_t num = 1; num <= XCV_VRING_MAX_NUM; num *= 2u) {
        struct xcv_vring_layout l;
        assert_int_equal(xcv_vring_layout(ring_mem, BUS, num, 64, &l), XCV_OK);
        assert_int_equal(l.desc_bus % 16u, 0);
        assert_int_equal(l.avail_bus % 2u, 0);
        assert_int_equal(l.used_bus % 4u, 0);
    }
}

static void used_ring_is_on_its_own_cache_line(void **state)
{
    static const uint32_t lines[] = {16, 32, 64, 128};
    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        for (uint32_t num = 1; num <= 1024; num *= 2u) {
            struct xcv_vring_layout l;
            uint32_t line = lines[i];
            size_t avail_end = XCV_VRING_AVAIL_OFFSET(num) + XCV_VRING_AVAIL_BYTES(num);
            size_t used_off;
            assert_int_equal(xcv_vring_layout(ring_mem, BUS, num, line, &l), XCV_OK);
            used_off = (size_t)((uint8_t *)l.used - ring_mem);
            assert_int_equal(used_off % line, 0);
            /* The line holding the end of the avail ring is not the used ring's first line. */
            assert_true((avail_end - 1u) / line < used_off / line);
            assert_int_equal(XCV_VRING_BYTES(num, line) % line, 0);
            assert_true(XCV_VRING_BYTES(num, line) >= used_off + XCV_VRING_USED_BYTES(num));
        }
    }
}

static void sizing_macros_match_hand_computed_values(void **state)
{
    (void)state;
    assert_int_equal(XCV_VRING_DESC_BYTES(256), 4096);
    assert_int_equal(XCV_VRING_AVAIL_BYTES(256), 518);
    assert_int_equal(XCV_VRING_USED_BYTES(256), 2054);
    assert_int_equal(XCV_VRING_USED_OFFSET(256, 64), 4672);
    assert_int_equal(XCV_VRING_BYTES(256, 64), 6784);
    assert_int_equal(XCV_VRING_USED_OFFSET(1, 64), 64);
    assert_int_equal(XCV_VRING_BYTES(1, 64), 128);
    assert_int_equal(XCV_ALIGN_UP(65, 64), 128);
    assert_int_equal(XCV_ALIGN_UP(64, 64), 64);
}

static void layout_rejects_null_pointers(void **state)
{
    struct xcv_vring_layout l;
    (void)state;
    assert_int_equal(xcv_vring_layout(NULL, BUS, 8, 64, &l), XCV_EINVAL);
    assert_int_equal(xcv_vring_layout(ring_mem, BUS, 8, 64, NULL), XCV_EINVAL);
}

static void layout_rejects_num_not_a_power_of_two_or_out_of_range(void **state)
{
    static const uint32_t bad[] = {
        0, 3, 6, 100, 32767, 65535, 65536, 2u * XCV_VRING_MAX_NUM, UINT32_MAX};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xcv_vring_layout l;
        assert_int_equal(xcv_vring_layout(ring_mem, BUS, bad[i], 64, &l), XCV_EINVAL);
    }
}

static void layout_rejects_bad_cache_line(void **state)
{
    static const uint32_t bad[] = {1, 2, 8, 24, 48, 100, 3};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xcv_vring_layout l;
        assert_int_equal(xcv_vring_layout(ring_mem, BUS, 8, bad[i], &l), XCV_EINVAL);
    }
}

static void layout_rejects_base_misaligned_to_line(void **state)
{
    struct xcv_vring_layout l;
    (void)state;
    assert_int_equal(xcv_vring_layout(ring_mem + 16, BUS, 8, 64, &l), XCV_EINVAL);
    assert_int_equal(xcv_vring_layout(ring_mem + 1, BUS, 8, 0, &l), XCV_EINVAL);
    assert_int_equal(xcv_vring_layout(ring_mem + 64, BUS, 8, 128, &l), XCV_EINVAL);
    /* The same offset is fine for a smaller line. */
    assert_int_equal(xcv_vring_layout(ring_mem + 64, BUS, 8, 64, &l), XCV_OK);
    assert_ptr_equal(l.desc, ring_mem + 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_places_areas_as_the_macros_say_for_every_num),
        cmocka_unit_test(layout_meets_spec_alignment_2_7),
        cmocka_unit_test(used_ring_is_on_its_own_cache_line),
        cmocka_unit_test(sizing_macros_match_hand_computed_values),
        cmocka_unit_test(layout_rejects_null_pointers),
        cmocka_unit_test(layout_rejects_num_not_a_power_of_two_or_out_of_range),
        cmocka_unit_test(layout_rejects_bad_cache_line),
        cmocka_unit_test(layout_rejects_base_misaligned_to_line),
    };
    return cmocka_run_group_tests_name("vring_layout", tests, NULL, NULL);
}
