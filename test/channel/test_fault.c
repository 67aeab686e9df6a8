/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection over the Linux port (label 'fault'): a device process or a driver process
 * is killed with SIGKILL mid-stream and a new one started. The survivor must notice, account
 * for every in-flight buffer, never hang, and carry traffic through the new peer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "twoproc.h"

#define WIN 32u

static void test_device_killed(void **state)
{
    (void)state;
    uint64_t t_start = echo_now_ns();
    struct tp_paths p;
    tp_paths_init(&p, "fault-dev");
    struct echo_dev_stats *st1 = tp_shared_stats(), *st2 = tp_shared_stats();
    assert_non_null(st1);
    assert_non_null(st2);
    /* File-backed window: the restarted device process reopens the same memory. */
    pid_t d1 = tp_spawn_device(&p, true, false, false, st1);
    assert_true(d1 > 0);
    static struct tp_driver d;
    assert_int_equal(tp_driver_attach(&d, &p, false, 256), XCV_OK);
    uint32_t full = d.c.pool_count;
    assert_int_equal(tp_run(&d.c, 20000, WIN, 10000000000ull), 0);
    assert_int_equal(d.c.bad, 0);

    /* A full window in flight, then the device process dies. */
    assert_int_equal(echo_client_post(&d.c, WIN), (int)WIN);
    uint64_t posted_before = d.c.completed;
    kill(d1, SIGKILL);
    assert_int_equal(tp_reap(d1, 5000), 128 + SIGKILL);

    /* Requests to a dead device time out, bounded by the channel timeout. */
    uint64_t t0 = echo_now_ns();
    assert_int_equal(xcv_channel_ping(&d.ch, 42), XCV_ETIMEDOUT);
    uint64_t el = echo_now_ns() - t0;
    assert_true(el >= d.cc.timeout_ns && el < d.cc.timeout_ns + 200000000u);
    assert_int_equal(xcv_linux_link_check_peer(&d.l), XCV_EPEERRESET);
    uint64_t used_before = (uint64_t)echo_client_reap(&d.c);
    assert_int_equal(d.c.completed, posted_before + used_before);

    /* A new device process on the same window and socket path. */
    pid_t d2 = tp_spawn_device(&p, true, false, false, st2);
    assert_true(d2 > 0);
    assert_int_equal(xcv_linux_link_reconnect(&d.l, 10000), XCV_OK); /* same memory */
    int r = 0;
    uint64_t deadline = echo_now_ns() + 5000000000ull;
    while ((r = xcv_channel_poll(&d.ch, 64)) >= 0 && echo_now_ns() < deadline)
        usleep(1000);
    assert_int_equal(r, XCV_EPEERRESET);
    assert_true(xcv_channel_poll(&d.ch, 64) >= 0); /* reported once */

    /* Every buffer in flight came back exactly once: used before the kill, or cancelled. */
    assert_int_equal(used_before + d.c.cancelled_peer, WIN);
    assert_int_equal(d.c.cancelled, d.c.cancelled_peer);
    assert_int_equal(xcv_pool_available(&d.c.pool), full);
    assert_int_equal(d.c.bad, 0);

    /* Traffic resumes through the new process. */
    assert_int_equal(echo_client_open(&d.c), XCV_OK);
    assert_int_equal(tp_run(&d.c, 20000, WIN, 10000000000ull), 0);
    assert_int_equal(d.c.bad, 0);
    assert_true(st2->served >= 20000u);
    assert_int_equal(xcv_vdrv_reset(&d.c.drv), XCV_OK);
    assert_int_equal(xcv_pool_available(&d.c.pool), full);

    xcv_channel_detach(&d.ch);
    xcv_linux_link_close(&d.l);
    kill(d2, SIGKILL);
    tp_reap(d2, 5000);
    echo_client_fini(&d.c);
    tp_paths_cleanup(&p);
    assert_true(echo_now_ns() - t_start < 30000000000ull);
}

/* The second driver process: attach, run, check, exit 0 when all is well. */
static int driver_child(const struct tp_paths *p, uint64_t n)
{
    alarm(30);
    static struct tp_driver d;
    if (tp_driver_attach(&d, p, false, 128) != XCV_OK)
        return 2;
    uint32_t full = d.c.pool_count;
    if (tp_run(&d.c, n, WIN, 20000000000ull) != 0)
        return 3;
    if (d.c.bad != 0u || d.c.cancelled != 0u)
        return 4;
    if (xcv_vdrv_reset(&d.c.drv) != XCV_OK || xcv_pool_available(&d.c.pool) != full)
        return 5;
    xcv_channel_detach(&d.ch);
    xcv_linux_link_close(&d.l);
    return 0;
}

static void test_driver_killed(void **state)
{
    (void)state;
    uint64_t t_start = echo_now_ns();
    struct tp_paths p;
    tp_paths_init(&p, "fault-drv");
    struct echo_dev_stats *st = tp_shared_stats();
    assert_non_null(st);
    pid_t dev = tp_spawn_device(&p, false, false, false, st); /* memfd window */
    assert_true(dev > 0);

    pid_t b1 = fork();
    assert_true(b1 >= 0);
    if (b1 == 0)
        _exit(driver_child(&p, UINT64_C(1) << 40)); /* runs until killed */
    uint64_t deadline = echo_now_ns() + 10000000000ull;
    while (__atomic_load_n(&st->served, __ATOMIC_RELAXED) < 20000u && echo_now_ns() < deadline)
        usleep(1000);
    assert_true(st->served >= 20000u);
    kill(b1, SIGKILL);
    assert_int_equal(tp_reap(b1, 5000), 128 + SIGKILL);
    uint32_t resets0 = st->resets, peer0 = st->peer_resets;
    uint64_t served0 = st->served;
    assert_int_equal(peer0, 0);

    pid_t b2 = fork();
    assert_true(b2 >= 0);
    if (b2 == 0)
        _exit(driver_child(&p, 20000));
    assert_int_equal(tp_reap(b2, 20000), 0);
    assert_int_equal(st->accepts, 2);
    assert_int_equal(st->peer_resets, peer0 + 1u); /* the restart was detected */
    assert_true(st->resets > resets0);             /* and the device was reset */
    assert_true(st->served >= served0 + 20000u);
    assert_int_equal(st->malformed, 0);
    kill(dev, SIGKILL);
    tp_reap(dev, 5000);
    tp_paths_cleanup(&p);
    assert_true(echo_now_ns() - t_start < 30000000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_killed),
        cmocka_unit_test(test_driver_killed),
    };
    return cmocka_run_group_tests_name("channel_fault", tests, NULL, NULL);
}
