/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for pool.h: carving, the free list, and the per-buffer states (free, owned, lent)
 * that refuse a double free, the free of a lent buffer and a second lend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/error.h"
#include "xcvirtio/pool.h"

#define BASE UINT64_C(0x80000000)
#define BUF 256u
#define N 16u

static _Alignas(64) uint8_t mem[N * BUF + 100u]; /* 100 spare bytes: no 17th buffer */
static uint32_t states[N];
static struct xcv_pool pool;

static int setup(void **state)
{
    (void)state;
    struct xcv_window w;
    assert_int_equal(xcv_window_init(&w, mem, BASE, sizeof(mem)), XCV_OK);
    assert_int_equal(xcv_pool_init(&pool, &w, BUF, states, N), XCV_OK);
    return 0;
}

static uint8_t *buf_at(unsigned i)
{
    return mem + (size_t)i * BUF;
}

/* ---- init ---- */

static void init_checks_its_arguments(void **state)
{
    (void)state;
    struct xcv_pool p;
    struct xcv_window w;
    assert_int_equal(xcv_window_init(&w, mem, BASE, sizeof(mem)), XCV_OK);
    assert_int_equal(xcv_pool_init(NULL, &w, BUF, states, N), XCV_EINVAL);
    assert_int_equal(xcv_pool_init(&p, NULL, BUF, states, N), XCV_EINVAL);
    assert_int_equal(xcv_pool_init(&p, &w, BUF, NULL, N), XCV_EINVAL);
    assert_int_equal(xcv_pool_init(&p, &w, 8, states, N), XCV_EINVAL);       /* < 16 */
    assert_int_equal(xcv_pool_init(&p, &w, 100, states, N), XCV_EINVAL);     /* not 16n */
    assert_int_equal(xcv_pool_init(&p, &w, BUF, states, N - 1), XCV_EINVAL); /* too short */
    assert_int_equal(xcv_pool_init(&p, &w, sizeof(mem) + 16u, states, N), XCV_EINVAL);
    /* 2^30 - 1 buffers or more do not fit the state word's link field. */
    struct xcv_window big = {.local = mem, .bus_base = BASE, .size = UINT64_C(0x3fffffff) * 16u};
    assert_int_equal(xcv_pool_init(&p, &big, 16, states, UINT32_MAX), XCV_EINVAL);
    /* A size that is not a power of two works (one division per lookup). */
    assert_int_equal(xcv_pool_init(&p, &w, 272, states, N), XCV_OK);
    assert_int_equal(xcv_pool_available(&p), sizeof(mem) / 272u);
    uint64_t bus;
    assert_ptr_equal(xcv_pool_alloc(&p, &bus), mem);
    assert_ptr_equal(xcv_pool_alloc(&p, &bus), mem + 272);
    assert_int_equal(bus, BASE + 272u);
    assert_int_equal(xcv_pool_free(&p, mem + 272), XCV_OK);
    assert_int_equal(xcv_pool_free(&p, mem + 256), XCV_EINVAL); /* not a buffer start */
}

static void init_hands_out_low_addresses_first(void **state)
{
    (void)state;
    assert_int_equal(xcv_pool_available(&pool), N);
    assert_int_equal(xcv_pool_buf_size(&pool), BUF);
    for (unsigned i = 0; i < N; i++) {
        uint64_t bus = 0;
        assert_ptr_equal(xcv_pool_alloc(&pool, &bus), buf_at(i));
        assert_int_equal(bus, BASE + (uint64_t)i * BUF);
    }
    uint64_t bus;
    assert_null(xcv_pool_alloc(&pool, &bus)); /* empty */
    assert_int_equal(xcv_pool_available(&pool), 0);
    assert_null(xcv_pool_alloc(&pool, NULL));
    assert_null(xcv_pool_alloc(NULL, &bus));
}

/* ---- alloc and free ---- */

static void free_returns_last_in_first_out(void **state)
{
    (void)state;
    uint64_t bus;
    uint8_t *a = xcv_pool_alloc(&pool, &bus);
    uint8_t *b = xcv_pool_alloc(&pool, &bus);
    uint8_t *c = xcv_pool_alloc(&pool, &bus);
    assert_int_equal(xcv_pool_free(&pool, a), XCV_OK);
    assert_int_equal(xcv_pool_free(&pool, c), XCV_OK);
    assert_int_equal(xcv_pool_available(&pool), N - 1u);
    assert_ptr_equal(xcv_pool_alloc(&pool, &bus), c);
    assert_ptr_equal(xcv_pool_alloc(&pool, &bus), a);
    assert_ptr_equal(xcv_pool_alloc(&pool, &bus), buf_at(3)); /* then the untouched ones */
    (void)b;
}

static void free_refuses_a_double_free_at_any_fill(void **state)
{
    (void)state;
    uint64_t bus;
    uint8_t *a = xcv_pool_alloc(&pool, &bus);
    uint8_t *b = xcv_pool_alloc(&pool, &bus);
    assert_int_equal(xcv_pool_free(&pool, a), XCV_OK);
    /* The pool is far from full: the state word still sees it. */
    assert_int_equal(xcv_pool_free(&pool, a), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&pool), N - 1u);
    /* Never allocated: free already. */
    assert_int_equal(xcv_pool_free(&pool, buf_at(9)), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&pool), N - 1u);
    /* So no buffer is handed out twice: drain the pool, every buffer distinct. */
    uint8_t seen[N] = {0};
    seen[(b - mem) / BUF] = 1;
    for (unsigned i = 0; i < N - 1u; i++) {
        uint8_t *p = xcv_pool_alloc(&pool, &bus);
        assert_non_null(p);
        assert_int_equal(seen[(p - mem) / BUF], 0);
        seen[(p - mem) / BUF] = 1;
    }
    assert_null(xcv_pool_alloc(&pool, &bus));
}

static void free_refuses_what_is_not_a_buffer_start(void **state)
{
    (void)state;
    uint64_t bus;
    uint8_t *a = xcv_pool_alloc(&pool, &bus);
    uint8_t stack_byte;
    assert_int_equal(xcv_pool_free(&pool, a + 1), XCV_EINVAL);
    assert_int_equal(xcv_pool_free(&pool, mem + N * BUF), XCV_EINVAL); /* the spare tail */
    assert_int_equal(xcv_pool_free(&pool, &stack_byte), XCV_EINVAL);
    assert_int_equal(xcv_pool_free(&pool, NULL), XCV_EINVAL);
    assert_int_equal(xcv_pool_free(NULL, a), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&pool), N - 1u);
    assert_int_equal(xcv_pool_free(&pool, a), XCV_OK);
}

/* ---- lend and unlend ---- */

static void lend_moves_owned_to_lent_and_back(void **state)
{
    (void)state;
    uint64_t bus, lbus = 0;
    uint8_t *a = xcv_pool_alloc(&pool, &bus);
    assert_int_equal(xcv_pool_lend(&pool, a, &lbus), XCV_OK);
    assert_int_equal(lbus, bus);
    /* Lent: neither freed, nor lent again. */
    assert_int_equal(xcv_pool_free(&pool, a), XCV_EINVAL);
    assert_int_equal(xcv_pool_lend(&pool, a, NULL), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&pool), N - 1u);
    /* Back: owned again, so it can be freed (once) but not unlent twice. */
    assert_int_equal(xcv_pool_unlend(&pool, a), XCV_OK);
    assert_int_equal(xcv_pool_unlend(&pool, a), XCV_EINVAL);
    assert_int_equal(xcv_pool_free(&pool, a), XCV_OK);
    assert_int_equal(xcv_pool_available(&pool), N);
}

static void lend_refuses_free_and_foreign_buffers(void **state)
{
    (void)state;
    uint64_t bus;
    assert_int_equal(xcv_pool_lend(&pool, buf_at(0), &bus), XCV_EINVAL); /* free */
    assert_int_equal(xcv_pool_unlend(&pool, buf_at(0)), XCV_EINVAL);
    uint8_t *a = xcv_pool_alloc(&pool, &bus);
    assert_int_equal(xcv_pool_lend(&pool, a + 16, &bus), XCV_EINVAL);
    assert_int_equal(xcv_pool_lend(&pool, NULL, &bus), XCV_EINVAL);
    assert_int_equal(xcv_pool_lend(NULL, a, &bus), XCV_EINVAL);
    assert_int_equal(xcv_pool_unlend(&pool, a), XCV_EINVAL); /* owned, not lent */
    assert_int_equal(xcv_pool_unlend(NULL, a), XCV_EINVAL);
    assert_int_equal(xcv_pool_unlend(&pool, NULL), XCV_EINVAL);
    /* The refusals changed nothing: the first free buffer is still the next one. */
    assert_ptr_equal(xcv_pool_alloc(&pool, &bus), buf_at(1));
}

/* ---- lookups and copies ---- */

static void bus_and_local_translate_buffer_starts_only(void **state)
{
    (void)state;
    uint64_t bus = 0;
    assert_int_equal(xcv_pool_bus(&pool, buf_at(5), &bus), XCV_OK); /* any state */
    assert_int_equal(bus, BASE + 5u * BUF);
    assert_ptr_equal(xcv_pool_local(&pool, bus), buf_at(5));
    assert_int_equal(xcv_pool_bus(&pool, buf_at(5) + 4, &bus), XCV_EINVAL);
    assert_int_equal(xcv_pool_bus(&pool, mem + N * BUF, &bus), XCV_EINVAL);
    assert_int_equal(xcv_pool_bus(&pool, buf_at(5), NULL), XCV_EINVAL);
    assert_null(xcv_pool_local(&pool, BASE + 5u * BUF + 4u));
    assert_null(xcv_pool_local(&pool, BASE - BUF));
    assert_null(xcv_pool_local(&pool, BASE + (uint64_t)N * BUF));
    assert_null(xcv_pool_local(&pool, UINT64_MAX));
    assert_null(xcv_pool_local(NULL, BASE));
}

static void copies_stay_inside_the_buffer(void **state)
{
    (void)state;
    uint8_t src[BUF], dst[BUF];
    for (unsigned i = 0; i < BUF; i++)
        src[i] = (uint8_t)(i * 7u);
    uint8_t *b = buf_at(2);
    assert_int_equal(xcv_pool_copy_in(&pool, b, 0, src, BUF), XCV_OK);
    assert_int_equal(xcv_pool_copy_in(&pool, b, 1, src, BUF), XCV_EINVAL);
    assert_int_equal(xcv_pool_copy_in(&pool, b, BUF + 1u, src, 0), XCV_EINVAL);
    assert_int_equal(xcv_pool_copy_in(&pool, b + 1, 0, src, 1), XCV_EINVAL);
    assert_int_equal(xcv_pool_copy_in(&pool, b, 0, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_pool_copy_out(&pool, b, 16, dst, BUF - 16u), XCV_OK);
    assert_memory_equal(dst, src + 16, BUF - 16u);
    assert_int_equal(xcv_pool_copy_out(&pool, b, 16, dst, BUF - 15u), XCV_EINVAL);
    assert_int_equal(xcv_pool_copy_out(&pool, b, 0, NULL, 4), XCV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_checks_its_arguments),
        cmocka_unit_test_setup(init_hands_out_low_addresses_first, setup),
        cmocka_unit_test_setup(free_returns_last_in_first_out, setup),
        cmocka_unit_test_setup(free_refuses_a_double_free_at_any_fill, setup),
        cmocka_unit_test_setup(free_refuses_what_is_not_a_buffer_start, setup),
        cmocka_unit_test_setup(lend_moves_owned_to_lent_and_back, setup),
        cmocka_unit_test_setup(lend_refuses_free_and_foreign_buffers, setup),
        cmocka_unit_test_setup(bus_and_local_translate_buffer_starts_only, setup),
        cmocka_unit_test_setup(copies_stay_inside_the_buffer, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
