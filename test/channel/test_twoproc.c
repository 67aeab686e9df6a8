/* SPDX-License-Identifier: Apache-2.0 */
/* Two processes over the Linux port: a forked device process serves the echo device, this
 * process drives it; 100k requests per mode, every response byte checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "twoproc.h"

static void run_mode(bool poll_mode)
{
    struct tp_paths p;
    tp_paths_init(&p, poll_mode ? "tp-poll" : "tp-event");
    struct echo_dev_stats *st = tp_shared_stats();
    assert_non_null(st);
    pid_t dev = tp_spawn_device(&p, false, poll_mode, true, st);
    assert_true(dev > 0);
    static struct tp_driver d;
    int r = tp_driver_attach(&d, &p, poll_mode, 100);
    if (r != XCV_OK) {
        kill(dev, SIGKILL);
        tp_reap(dev, 1000);
        fail_msg("attach: %s", xcv_strerror(r));
    }
    uint32_t full = d.c.pool_count;
    r = tp_run(&d.c, 100000, 32, 20000000000ull);
    assert_int_equal(r, 0);
    assert_int_equal(d.c.completed, 100000);
    assert_int_equal(d.c.bad, 0);
    assert_int_equal(xcv_vdrv_reset(&d.c.drv), XCV_OK);
    assert_int_equal(xcv_pool_available(&d.c.pool), full);
    assert_int_equal(d.c.cancelled, 0);
    xcv_channel_detach(&d.ch);
    xcv_linux_link_close(&d.l);
    assert_int_equal(tp_reap(dev, 5000), 0);
    assert_int_equal(st->served, 100000);
    assert_int_equal(st->malformed, 0);
    assert_int_equal(st->peer_resets, 0);
    echo_client_fini(&d.c);
    tp_paths_cleanup(&p);
    munmap(st, 4096);
}

static void test_event_100k(void **state)
{
    (void)state;
    run_mode(false);
}

static void test_poll_100k(void **state)
{
    (void)state;
    run_mode(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_100k),
        cmocka_unit_test(test_poll_100k),
    };
    return cmocka_run_group_tests_name("channel_twoproc", tests, NULL, NULL);
}
