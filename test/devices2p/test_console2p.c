/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console between two processes over the Linux port, both directions at once: the
 * driver writes 64 KiB that the forked device process captures, while the device feeds 64 KiB
 * that the driver reads; both streams are checked byte for byte, and the console size comes
 * from config space. Event and busy-poll modes.
 */
#define _GNU_SOURCE /* before any system header: POLLRDHUP, ... */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "d2p.h"

#define BUF 256u
#define STREAM (64u << 10)
#define RX_BUFFERS 16u

enum {
    C_TX_BYTES,
    C_RX_BYTES,
    C_REJECTED,
    C_FED
};

static void stream(uint8_t *p, uint32_t off, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++) {
        uint32_t k = off + i;
        p[i] = (uint8_t)((k * 2654435761u) >> 11) ^ (uint8_t)(k >> 8) ^ seed;
    }
}

struct con_side {
    struct d2p_shared *sh;
    struct xcv_console_dev dev;
    uint8_t feed[STREAM];
    uint32_t fed;
    int feed_err;
};

/* The driver's bytes: copied out of the window into the harness's shared memory. */
static int con_write(void *ctx, const uint8_t *buf, uint32_t len)
{
    struct con_side *s = ctx;
    if (len > D2P_DATA_MAX - s->sh->data_len)
        return XCV_ENOMEM;
    memcpy(s->sh->data + s->sh->data_len, buf, len);
    s->sh->data_len += len;
    return XCV_OK;
}

static const struct xcv_console_backend_ops con_ops = {.write = con_write};

static int con_setup(void *ctx, struct xcv_channel *ch, struct d2p_shared *sh)
{
    struct con_side *s = ctx;
    s->sh = sh;
    s->fed = 0;
    s->feed_err = 0;
    stream(s->feed, 0, STREAM, 0x3c);
    struct xcv_console_dev_config cc = {.ops = &con_ops, .ctx = s, .cols = 132, .rows = 43};
    int r = xcv_console_dev_init(&s->dev, ch, &cc);
    return r < 0 ? r : XCV_OK;
}

/* Feed what the driver's posted receive buffers can take (never blocks). */
static bool con_tick(void *ctx)
{
    struct con_side *s = ctx;
    if (s->fed < STREAM) {
        int n = xcv_console_dev_feed(&s->dev, s->feed + s->fed, STREAM - s->fed);
        if (n > 0)
            s->fed += (uint32_t)n;
        else if (n < 0 && s->feed_err == 0)
            s->feed_err = n;
    }
    if (xcv_console_dev_pending(&s->dev))
        (void)xcv_console_dev_run(&s->dev, XCV_CONSOLE_QUEUE);
    return xcv_console_dev_pending(&s->dev);
}

static void con_finish(void *ctx)
{
    struct con_side *s = ctx;
    const struct xcv_console_dev_stats *st = xcv_console_dev_stats(&s->dev);
    s->sh->c[C_TX_BYTES] = st->tx_bytes;
    s->sh->c[C_RX_BYTES] = st->rx_bytes;
    s->sh->c[C_REJECTED] = st->rejected;
    s->sh->c[C_FED] = s->fed;
    if (s->feed_err != 0)
        s->sh->exit_rc = s->feed_err;
}

static void run(bool poll_mode)
{
    char sock[108];
    d2p_sock_path(sock, sizeof(sock), poll_mode ? "con-poll" : "con-event");
    struct d2p_shared *sh = d2p_shared_map();
    assert_non_null(sh);
    static struct con_side side;
    struct d2p_device dv = {
        .setup = con_setup, .tick = con_tick, .finish = con_finish, .ctx = &side};
    pid_t pid = d2p_spawn(sock, poll_mode, &dv, sh);
    assert_true(pid > 0);
    static struct d2p_driver drv;
    static struct xcv_console_drv con;
    int r = d2p_attach(&drv, sock, poll_mode, BUF);
    uint32_t pool_full = xcv_pool_available(&drv.pool);
    struct xcv_console_drv_config cc = {.dev_num = 0, .pool = &drv.pool, .rx_buffers = RX_BUFFERS};
    if (r == XCV_OK)
        r = xcv_console_drv_open(&con, &drv.ch, &cc);
    if (r != XCV_OK) {
        d2p_reap(pid, 100);
        fail_msg("attach/open: %s", xcv_strerror(r));
    }
    uint16_t cols = 0, rows = 0;
    assert_int_equal(xcv_console_drv_get_size(&con, &cols, &rows), XCV_OK);
    assert_int_equal(cols, 132);
    assert_int_equal(rows, 43);

    /* Both directions at once, bounded. */
    static uint8_t out[STREAM], in[STREAM], want[STREAM];
    stream(out, 0, STREAM, 0xa7);
    stream(want, 0, STREAM, 0x3c);
    uint32_t sent = 0, got = 0;
    uint64_t deadline = d2p_now() + 20000000000ull;
    /* The console driver has no call to arm used notifications: use its receive queue. */
    struct xcv_vq_driver *rxq = xcv_vdrv_queue(&con.vdrv, XCV_CONSOLE_RXQ);
    assert_non_null(rxq);
    while (sent < STREAM || got < STREAM) {
        assert_true(d2p_now() < deadline);
        bool progress = false;
        if (sent < STREAM) {
            /* Odd chunk sizes: buffers are filled partially and across pool buffers. */
            uint32_t chunk = 1000u + (sent % 777u);
            if (chunk > STREAM - sent)
                chunk = STREAM - sent;
            r = xcv_console_drv_write(&con, out + sent, chunk);
            assert_true(r >= 0);
            sent += (uint32_t)r;
            progress |= r > 0;
        }
        r = xcv_console_drv_read(&con, in + got, STREAM - got);
        assert_true(r >= 0);
        got += (uint32_t)r;
        progress |= r > 0;
        if (!progress)
            assert_int_equal(d2p_wait(&drv, rxq, 20), XCV_OK);
    }
    assert_memory_equal(in, want, STREAM);

    /* Wait until the device has taken every transmit buffer (they come back to the pool). */
    uint32_t rx_held = pool_full - RX_BUFFERS;
    while (xcv_pool_available(&drv.pool) != rx_held) {
        assert_true(d2p_now() < deadline);
        assert_int_equal(xcv_console_drv_write(&con, NULL, 0), 0); /* reclaims */
        if (xcv_pool_available(&drv.pool) != rx_held)
            assert_int_equal(d2p_wait(&drv, NULL, 5), XCV_OK);
    }
    d2p_detach(&drv);
    assert_int_equal(d2p_reap(pid, 5000), 0);
    assert_int_equal(sh->setup_rc, 0);
    assert_int_equal(sh->exit_rc, 0);
    assert_int_equal(sh->data_len, STREAM);
    assert_memory_equal(sh->data, out, STREAM);
    assert_int_equal(sh->c[C_TX_BYTES], STREAM);
    assert_int_equal(sh->c[C_RX_BYTES], STREAM);
    assert_int_equal(sh->c[C_FED], STREAM);
    assert_int_equal(sh->c[C_REJECTED], 0);
    d2p_shared_unmap(sh);
}

static void test_console_event(void **state)
{
    (void)state;
    run(false);
}

static void test_console_poll(void **state)
{
    (void)state;
    run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_console_event, d2p_teardown),
        cmocka_unit_test_teardown(test_console_poll, d2p_teardown),
    };
    return cmocka_run_group_tests_name("devices2p_console", tests, NULL, NULL);
}
