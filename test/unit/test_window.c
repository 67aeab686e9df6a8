/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for window.h: window description and the bounds-checked translations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/error.h"
#include "xcvirtio/window.h"

#define BASE UINT64_C(0x40000000)
#define SIZE 4096u

static _Alignas(64) uint8_t mem_a[SIZE];
static _Alignas(64) uint8_t mem_b[SIZE];

static struct xcv_window make(uint8_t *local, uint64_t bus)
{
    struct xcv_window w;
    assert_int_equal(xcv_window_init(&w, local, bus, SIZE), XCV_OK);
    return w;
}

/* ---- xcv_window_init ---- */

static void init_fills_the_window(void **state)
{
    struct xcv_window w;
    (void)state;
    memset(&w, 0xFF, sizeof(w));
    assert_int_equal(xcv_window_init(&w, mem_a, BASE, SIZE), XCV_OK);
    assert_ptr_equal(w.local, mem_a);
    assert_int_equal(w.bus_base, BASE);
    assert_int_equal(w.size, SIZE);
}

static void init_rejects_null_object_and_null_local(void **state)
{
    struct xcv_window w;
    (void)state;
    assert_int_equal(xcv_window_init(NULL, mem_a, BASE, SIZE), XCV_EINVAL);
    assert_int_equal(xcv_window_init(&w, NULL, BASE, SIZE), XCV_EINVAL);
}

static void init_rejects_zero_size(void **state)
{
    struct xcv_window w;
    (void)state;
    assert_int_equal(xcv_window_init(&w, mem_a, BASE, 0), XCV_EINVAL);
}

static void init_rejects_bus_range_wrapping_2_64(void **state)
{
    struct xcv_window w;
    (void)state;
    assert_int_equal(xcv_window_init(&w, mem_a, UINT64_MAX - 100u, SIZE), XCV_EINVAL);
    assert_int_equal(xcv_window_init(&w, mem_a, 1, UINT64_MAX), XCV_EINVAL);
}

static void init_rejects_local_range_wrapping(void **state)
{
    struct xcv_window w;
    (void)state;
    /* The pointer is never dereferenced: init must reject it on arithmetic alone. */
    void *top = (void *)(UINTPTR_MAX - 100u);
    assert_int_equal(xcv_window_init(&w, top, BASE, SIZE), XCV_EINVAL);
}

static void init_accepts_window_at_bus_zero(void **state)
{
    struct xcv_window w;
    (void)state;
    assert_int_equal(xcv_window_init(&w, mem_a, 0, SIZE), XCV_OK);
    assert_int_equal(w.bus_base, 0);
}

/* ---- xcv_window_translate ---- */

static void translate_inside_returns_local_pointer(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = NULL;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, BASE + 100u, 16, &p), XCV_OK);
    assert_ptr_equal(p, mem_a + 100);
    assert_int_equal(xcv_window_translate(&w, BASE, SIZE, &p), XCV_OK);
    assert_ptr_equal(p, mem_a);
    assert_int_equal(xcv_window_translate(&w, BASE + SIZE - 1u, 1, &p), XCV_OK);
    assert_ptr_equal(p, mem_a + SIZE - 1);
}

static void translate_zero_length_at_start_and_end_is_valid(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = NULL;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, BASE, 0, &p), XCV_OK);
    assert_ptr_equal(p, mem_a);
    assert_int_equal(xcv_window_translate(&w, BASE + SIZE, 0, &p), XCV_OK);
    assert_ptr_equal(p, mem_a + SIZE);
}

static void translate_zero_length_past_end_is_outside(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = mem_b;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, BASE + SIZE + 1u, 0, &p), XCV_EPROTO_WINDOW);
    assert_int_equal(xcv_window_translate(&w, BASE - 1u, 0, &p), XCV_EPROTO_WINDOW);
    assert_ptr_equal(p, mem_b);
}

static void translate_below_base_is_outside(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = mem_b;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, BASE - 16u, 16, &p), XCV_EPROTO_WINDOW);
    assert_int_equal(xcv_window_translate(&w, BASE - 8u, 16, &p), XCV_EPROTO_WINDOW);
    assert_int_equal(xcv_window_translate(&w, 0, 1, &p), XCV_EPROTO_WINDOW);
    assert_ptr_equal(p, mem_b);
}

static void translate_straddling_end_is_outside(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = mem_b;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, BASE + SIZE - 8u, 16, &p), XCV_EPROTO_WINDOW);
    assert_int_equal(xcv_window_translate(&w, BASE, SIZE + 1u, &p), XCV_EPROTO_WINDOW);
    assert_int_equal(xcv_window_translate(&w, BASE + SIZE, 1, &p), XCV_EPROTO_WINDOW);
    assert_ptr_equal(p, mem_b);
}

static void translate_far_above_is_outside(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = mem_b;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, BASE + 0x100000u, 16, &p), XCV_EPROTO_WINDOW);
    assert_ptr_equal(p, mem_b);
}

static void translate_wrapping_range_is_overflow(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = mem_b;
    (void)state;
    assert_int_equal(xcv_window_translate(&w, UINT64_MAX - 7u, 16, &p), XCV_EPROTO_OVERFLOW);
    /* A length that wraps back into the window must not be accepted either. */
    assert_int_equal(xcv_window_translate(&w, BASE + 16u, UINT64_MAX, &p), XCV_EPROTO_OVERFLOW);
    assert_int_equal(xcv_window_translate(&w, BASE + 16u, UINT64_MAX - 15u, &p),
                     XCV_EPROTO_OVERFLOW);
    assert_ptr_equal(p, mem_b);
}

static void translate_huge_length_not_wrapping_is_outside(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    void *p = mem_b;
    (void)state;
    /* BASE + (UINT64_MAX - BASE) == UINT64_MAX: no wrap, but far outside. */
    assert_int_equal(xcv_window_translate(&w, BASE, UINT64_MAX - BASE, &p), XCV_EPROTO_WINDOW);
    assert_ptr_equal(p, mem_b);
}

static void translate_window_at_top_of_bus_space(void **state)
{
    struct xcv_window w;
    void *p = NULL;
    uint64_t top = UINT64_MAX - 2u * SIZE;
    (void)state;
    assert_int_equal(xcv_window_init(&w, mem_a, top, SIZE), XCV_OK);
    assert_int_equal(xcv_window_translate(&w, top + 8u, 8, &p), XCV_OK);
    assert_ptr_equal(p, mem_a + 8);
    assert_int_equal(xcv_window_translate(&w, top + 8u, UINT64_MAX - 4u, &p), XCV_EPROTO_OVERFLOW);
    assert_int_equal(xcv_window_translate(&w, top + SIZE, SIZE, &p), XCV_EPROTO_WINDOW);
}

/* ---- xcv_window_to_bus ---- */

static void to_bus_inside_returns_bus_address(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    uint64_t bus = 0;
    (void)state;
    assert_int_equal(xcv_window_to_bus(&w, mem_a + 200, 56, &bus), XCV_OK);
    assert_int_equal(bus, BASE + 200u);
    assert_int_equal(xcv_window_to_bus(&w, mem_a, SIZE, &bus), XCV_OK);
    assert_int_equal(bus, BASE);
}

static void to_bus_round_trips_with_translate(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    (void)state;
    for (size_t off = 0; off < SIZE; off += 97u) {
        uint64_t bus = 0;
        void *p = NULL;
        assert_int_equal(xcv_window_to_bus(&w, mem_a + off, 1, &bus), XCV_OK);
        assert_int_equal(xcv_window_translate(&w, bus, 1, &p), XCV_OK);
        assert_ptr_equal(p, mem_a + off);
    }
}

static void to_bus_rejects_ranges_not_inside(void **state)
{
    struct xcv_window w = make(mem_a, BASE);
    uint64_t bus = 12345;
    (void)state;
    assert_int_equal(xcv_window_to_bus(&w, mem_b, 16, &bus), XCV_EINVAL);
    assert_int_equal(xcv_window_to_bus(&w, mem_a + SIZE - 8, 16, &bus), XCV_EINVAL);
    assert_int_equal(xcv_window_to_bus(&w, mem_a, SIZE + 1u, &bus), XCV_EINVAL);
    assert_int_equal(xcv_window_to_bus(&w, mem_a + 1, UINT64_MAX, &bus), XCV_EINVAL);
    assert_int_equal(bus, 12345);
}

/* ---- xcv_memmap_translate ---- */

static void memmap_translates_through_the_right_window(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap m = {ws, 2};
    void *p = NULL;
    (void)state;
    ws[0] = make(mem_a, BASE);
    ws[1] = make(mem_b, BASE + 0x100000u);
    assert_int_equal(xcv_memmap_translate(&m, BASE + 10u, 10, &p), XCV_OK);
    assert_ptr_equal(p, mem_a + 10);
    assert_int_equal(xcv_memmap_translate(&m, BASE + 0x100000u + 20u, 10, &p), XCV_OK);
    assert_ptr_equal(p, mem_b + 20);
}

static void memmap_rejects_range_spanning_two_adjacent_windows(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap m = {ws, 2};
    void *p = mem_a;
    (void)state;
    /* Bus-adjacent windows that are not adjacent locally: a range must lie in one. */
    ws[0] = make(mem_a, BASE);
    ws[1] = make(mem_b, BASE + SIZE);
    assert_int_equal(xcv_memmap_translate(&m, BASE + SIZE - 8u, 16, &p), XCV_EPROTO_WINDOW);
    assert_ptr_equal(p, mem_a);
    assert_int_equal(xcv_memmap_translate(&m, BASE + SIZE, 16, &p), XCV_OK);
    assert_ptr_equal(p, mem_b);
}

static void memmap_rejects_outside_and_overflow(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap m = {ws, 2};
    void *p = mem_a;
    (void)state;
    ws[0] = make(mem_a, BASE);
    ws[1] = make(mem_b, BASE + 0x100000u);
    assert_int_equal(xcv_memmap_translate(&m, BASE + SIZE, 16, &p), XCV_EPROTO_WINDOW);
    assert_int_equal(xcv_memmap_translate(&m, UINT64_MAX - 3u, 8, &p), XCV_EPROTO_OVERFLOW);
    assert_ptr_equal(p, mem_a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_fills_the_window),
        cmocka_unit_test(init_rejects_null_object_and_null_local),
        cmocka_unit_test(init_rejects_zero_size),
        cmocka_unit_test(init_rejects_bus_range_wrapping_2_64),
        cmocka_unit_test(init_rejects_local_range_wrapping),
        cmocka_unit_test(init_accepts_window_at_bus_zero),
        cmocka_unit_test(translate_inside_returns_local_pointer),
        cmocka_unit_test(translate_zero_length_at_start_and_end_is_valid),
        cmocka_unit_test(translate_zero_length_past_end_is_outside),
        cmocka_unit_test(translate_below_base_is_outside),
        cmocka_unit_test(translate_straddling_end_is_outside),
        cmocka_unit_test(translate_far_above_is_outside),
        cmocka_unit_test(translate_wrapping_range_is_overflow),
        cmocka_unit_test(translate_huge_length_not_wrapping_is_outside),
        cmocka_unit_test(translate_window_at_top_of_bus_space),
        cmocka_unit_test(to_bus_inside_returns_bus_address),
        cmocka_unit_test(to_bus_round_trips_with_translate),
        cmocka_unit_test(to_bus_rejects_ranges_not_inside),
        cmocka_unit_test(memmap_translates_through_the_right_window),
        cmocka_unit_test(memmap_rejects_range_spanning_two_adjacent_windows),
        cmocka_unit_test(memmap_rejects_outside_and_overflow),
    };
    return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
