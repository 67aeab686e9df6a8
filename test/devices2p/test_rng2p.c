/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng between two processes over the Linux port: a forked device process serves the rng
 * model fed by the port's getrandom() source; this process reads entropy with the rng driver
 * (one request, then many), checks that bytes arrived and look random, and that the device
 * counted exactly what was delivered. Event and busy-poll modes.
 */
#define _GNU_SOURCE /* before any system header: POLLRDHUP, ... */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <xcvirtio/linux_backends.h>

#include "d2p.h"

#define BUF 512u   /* pool buffer: the most one request asks for */
#define BIG 16384u /* a read that takes BIG / BUF requests */

enum {
    C_REQUESTS,
    C_BYTES,
    C_REJECTED,
    C_STARVED
};

struct rng_side {
    struct d2p_shared *sh;
    struct xcv_rng_dev dev;
};

static int rng_setup(void *ctx, struct xcv_channel *ch, struct d2p_shared *sh)
{
    struct rng_side *s = ctx;
    s->sh = sh;
    struct xcv_rng_dev_config rc = {.entropy = xcv_linux_rng_entropy};
    int r = xcv_rng_dev_init(&s->dev, ch, &rc);
    return r < 0 ? r : XCV_OK;
}

static bool rng_tick(void *ctx)
{
    struct rng_side *s = ctx;
    if (xcv_rng_dev_pending(&s->dev))
        (void)xcv_rng_dev_run(&s->dev, XCV_RNG_MAX_QUEUE);
    return xcv_rng_dev_pending(&s->dev);
}

static void rng_finish(void *ctx)
{
    struct rng_side *s = ctx;
    const struct xcv_rng_dev_stats *st = xcv_rng_dev_stats(&s->dev);
    s->sh->c[C_REQUESTS] = st->requests;
    s->sh->c[C_BYTES] = st->bytes;
    s->sh->c[C_REJECTED] = st->rejected;
    s->sh->c[C_STARVED] = st->starved;
}

static unsigned distinct(const uint8_t *p, uint32_t n)
{
    bool seen[256] = {false};
    unsigned d = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!seen[p[i]])
            d++;
        seen[p[i]] = true;
    }
    return d;
}

static void run(bool poll_mode)
{
    char sock[108];
    d2p_sock_path(sock, sizeof(sock), poll_mode ? "rng-poll" : "rng-event");
    struct d2p_shared *sh = d2p_shared_map();
    assert_non_null(sh);
    static struct rng_side side;
    struct d2p_device dv = {
        .setup = rng_setup, .tick = rng_tick, .finish = rng_finish, .ctx = &side};
    pid_t pid = d2p_spawn(sock, poll_mode, &dv, sh);
    assert_true(pid > 0);
    static struct d2p_driver drv;
    static struct xcv_rng_drv rng;
    int r = d2p_attach(&drv, sock, poll_mode, BUF);
    struct xcv_rng_drv_config rc = {.dev_num = 0, .pool = &drv.pool};
    if (r == XCV_OK)
        r = xcv_rng_drv_open(&rng, &drv.ch, &rc);
    if (r != XCV_OK) {
        d2p_reap(pid, 100);
        fail_msg("attach/open: %s", xcv_strerror(r));
    }
    uint32_t pool_full = xcv_pool_available(&drv.pool);

    /* One request: 64 bytes, not all zero. */
    uint8_t small[64] = {0};
    uint64_t t0 = d2p_now();
    assert_int_equal(xcv_rng_drv_read(&rng, small, sizeof(small)), XCV_OK);
    uint8_t zero[64] = {0};
    assert_memory_not_equal(small, zero, sizeof(small));

    /* Many requests (BIG / BUF): every byte arrives; 16 KiB of good entropy shows all 256 byte
     * values, and two reads differ. */
    static uint8_t a[BIG], b[BIG];
    assert_int_equal(xcv_rng_drv_read(&rng, a, BIG), XCV_OK);
    assert_int_equal(xcv_rng_drv_read(&rng, b, BIG), XCV_OK);
    assert_int_equal(distinct(a, BIG), 256);
    assert_memory_not_equal(a, b, BIG);
    uint64_t elapsed = d2p_now() - t0;
    print_message("    %s mode: %u requests in %.1f ms\n", poll_mode ? "poll" : "event",
                  1u + 2u * BIG / BUF, (double)elapsed / 1e6);

    assert_int_equal(xcv_pool_available(&drv.pool), pool_full);
    d2p_detach(&drv);
    assert_int_equal(d2p_reap(pid, 5000), 0);
    assert_int_equal(sh->setup_rc, 0);
    assert_int_equal(sh->c[C_BYTES], sizeof(small) + 2u * BIG);
    assert_int_equal(sh->c[C_REQUESTS], 1u + 2u * BIG / BUF);
    assert_int_equal(sh->c[C_REJECTED], 0);
    assert_int_equal(sh->c[C_STARVED], 0);
    d2p_shared_unmap(sh);
}

static void test_rng_event(void **state)
{
    (void)state;
    run(false);
}

static void test_rng_poll(void **state)
{
    (void)state;
    run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rng_event, d2p_teardown),
        cmocka_unit_test_teardown(test_rng_poll, d2p_teardown),
    };
    return cmocka_run_group_tests_name("devices2p_rng", tests, NULL, NULL);
}
