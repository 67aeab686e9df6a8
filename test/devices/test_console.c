/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-console, port 0: model with a capture backend and the driver, both roles in one
 * process; a hostile driver posting chains in the wrong direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <xcvirtio/dev_console.h>

#include "dev_fixture.h"

static struct xcv_console_dev cdev;
static struct xcv_console_drv cdrv;
static uint8_t out[8192];
static uint32_t out_len;
static unsigned rx_ready_calls;
static unsigned config_events;

static int cap_write(void *ctx, const uint8_t *buf, uint32_t len)
{
    (void)ctx;
    if (len > sizeof(out) - out_len)
        return XCV_ENOMEM;
    memcpy(out + out_len, buf, len);
    out_len += len;
    return 0;
}

static void cap_rx_ready(void *ctx)
{
    (void)ctx;
    rx_ready_calls++;
}

static const struct xcv_console_backend_ops cap_ops = {.write = cap_write,
                                                       .rx_ready = cap_rx_ready};

static int setup(void **state)
{
    (void)state;
    out_len = 0;
    rx_ready_calls = 0;
    config_events = 0;
    if (fx_device_up() != XCV_OK)
        return -1;
    struct xcv_console_dev_config cfg = {.ops = &cap_ops, .cols = 80, .rows = 25};
    if (xcv_console_dev_init(&cdev, &fx.vch, &cfg) != 0)
        return -1;
    if (fx_driver_up(64) != XCV_OK)
        return -1;
    struct xcv_console_drv_config dc = {.dev_num = 0, .pool = &fx.pool, .rx_buffers = 8};
    return xcv_console_drv_open(&cdrv, &fx.dch, &dc);
}

static void test_tx(void **state)
{
    (void)state;
    const char msg[] = "hello, console: this line is longer than one 64-byte pool buffer!!";
    int n = xcv_console_drv_write(&cdrv, msg, sizeof(msg) - 1);
    assert_int_equal(n, sizeof(msg) - 1);
    fx_pump();
    assert_int_equal(out_len, sizeof(msg) - 1);
    assert_memory_equal(out, msg, sizeof(msg) - 1);
    assert_int_equal(xcv_console_dev_stats(&cdev)->tx_bytes, sizeof(msg) - 1);
    /* Used transmit buffers go back to the pool on the next write. */
    uint32_t avail = xcv_pool_available(&fx.pool);
    assert_int_equal(xcv_console_drv_write(&cdrv, "x", 1), 1);
    assert_int_equal(xcv_pool_available(&fx.pool), avail + 2 - 1);
}

static void test_rx(void **state)
{
    (void)state;
    fx_pump();
    uint8_t in[300];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 3u);
    /* 8 buffers of 64 bytes: 300 bytes fit in 5 of them. */
    assert_int_equal(xcv_console_dev_feed(&cdev, in, sizeof(in)), 300);
    uint8_t got[300];
    uint32_t have = 0;
    /* Read in odd-sized pieces across buffer boundaries. */
    while (have < sizeof(got)) {
        int n = xcv_console_drv_read(&cdrv, got + have, have + 7 <= 300 ? 7 : 300 - have);
        assert_true(n > 0);
        have += (uint32_t)n;
    }
    assert_memory_equal(got, in, sizeof(in));
    assert_int_equal(xcv_console_drv_read(&cdrv, got, 10), 0);
    /* More than the posted buffers hold: the feed takes what fits, the rest is left. */
    fx_pump();
    uint8_t big[1000] = {0};
    assert_int_equal(xcv_console_dev_feed(&cdev, big, sizeof(big)), 8 * 64);
    assert_int_equal(xcv_console_dev_feed(&cdev, big, sizeof(big)), 0);
    /* Draining reposts buffers; the kick reaches the model's rx_ready. */
    uint8_t sink[1000];
    assert_int_equal(xcv_console_drv_read(&cdrv, sink, sizeof(sink)), 8 * 64);
    fx_pump();
    assert_true(rx_ready_calls > 0);
    assert_int_equal(xcv_console_dev_feed(&cdev, big, 10), 10);
}

/* A reset returns every buffer: the posted ones, the transmit ones in flight and the receive
 * buffer being read; the bytes not read yet are dropped, and a reopened driver starts clean. */
static void test_reset_returns_partly_read_buffer(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t avail0 = xcv_pool_available(&fx.pool); /* 8 receive buffers posted */
    uint8_t in[100];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i + 1u);
    assert_int_equal(xcv_console_dev_feed(&cdev, in, sizeof(in)), 100); /* 64 + 36 bytes */
    uint8_t got[10];
    assert_int_equal(xcv_console_drv_read(&cdrv, got, sizeof(got)), 10); /* first buffer: 10 */
    assert_memory_equal(got, in, 10);
    assert_int_equal(xcv_console_drv_write(&cdrv, "abc", 3), 3); /* one in flight */
    assert_int_equal(xcv_pool_available(&fx.pool), avail0 - 1u);
    assert_int_equal(xcv_console_drv_reset(&cdrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), avail0 + 8u);
    assert_int_equal(xcv_console_drv_read(&cdrv, got, sizeof(got)), XCV_ENODEV);
    assert_int_equal(xcv_console_drv_reset(NULL), XCV_EINVAL);
    /* Open again: new bytes only. */
    fx_pump();
    struct xcv_console_drv_config dc = {.dev_num = 0, .pool = &fx.pool, .rx_buffers = 8};
    assert_int_equal(xcv_console_drv_open(&cdrv, &fx.dch, &dc), XCV_OK);
    fx_pump();
    assert_int_equal(xcv_pool_available(&fx.pool), avail0);
    assert_int_equal(xcv_console_dev_feed(&cdev, "xyz", 3), 3);
    assert_int_equal(xcv_console_drv_read(&cdrv, got, sizeof(got)), 3);
    assert_memory_equal(got, "xyz", 3);
}

static void test_size(void **state)
{
    (void)state;
    uint16_t cols = 0, rows = 0;
    assert_int_equal(xcv_console_drv_get_size(&cdrv, &cols, &rows), XCV_OK);
    assert_int_equal(cols, 80);
    assert_int_equal(rows, 25);
    assert_int_equal(xcv_console_dev_set_size(&cdev, 132, 50), XCV_OK);
    assert_int_equal(xcv_console_drv_get_size(&cdrv, &cols, &rows), XCV_OK);
    assert_int_equal(cols, 132);
    assert_int_equal(rows, 50);
    /* The driver cannot resize the console: config writes are refused. */
    uint8_t c[2] = {1, 0};
    assert_int_equal(xcv_vdrv_write_config(&cdrv.vdrv, 0, c, 2), XCV_EINVAL);
    assert_int_equal(xcv_console_drv_get_size(&cdrv, &cols, &rows), XCV_OK);
    assert_int_equal(cols, 132);
}

/* 5.3.6.1: the driver MUST NOT put a device-writable buffer in a transmitq, nor a
 * device-readable one in a receiveq. The model returns such chains unused (length 0). */
static void test_hostile_direction(void **state)
{
    (void)state;
    uint64_t bus;
    uint8_t *b = xcv_pool_alloc(&fx.pool, &bus);
    memset(b, 'Z', 64);
    struct xcv_vq_driver *tx = xcv_vdrv_queue(&cdrv.vdrv, XCV_CONSOLE_TXQ);
    struct xcv_sg sg[2] = {{bus, 8}, {bus + 8, 8}};
    assert_int_equal(xcv_vq_driver_add(tx, sg, 1, 1, b), XCV_OK);
    assert_true(xcv_vq_driver_kick(tx) >= 0);
    fx_pump();
    void *tok;
    uint32_t len = 99;
    assert_int_equal(xcv_vq_driver_get_used(tx, &tok, &len), XCV_OK);
    assert_int_equal(len, 0);
    assert_int_equal(out_len, 0); /* nothing of it reached the backend */
    assert_int_equal(xcv_console_dev_stats(&cdev)->rejected, 1);

    /* Receive queue: take every posted buffer first so the hostile chain is the next one. */
    uint8_t big[8 * 64];
    assert_int_equal(xcv_console_dev_feed(&cdev, big, sizeof(big)), sizeof(big));
    struct xcv_vq_driver *rx = xcv_vdrv_queue(&cdrv.vdrv, XCV_CONSOLE_RXQ);
    struct xcv_sg rs[1] = {{bus, 64}};
    assert_int_equal(xcv_vq_driver_add(rx, rs, 1, 0, b), XCV_OK);
    assert_true(xcv_vq_driver_kick(rx) >= 0);
    fx_pump();
    assert_int_equal(xcv_console_dev_feed(&cdev, "abc", 3), 0);
    assert_int_equal(b[0], 'Z');
    assert_int_equal(xcv_console_dev_stats(&cdev)->rejected, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tx, setup),
        cmocka_unit_test_setup(test_rx, setup),
        cmocka_unit_test_setup(test_reset_returns_partly_read_buffer, setup),
        cmocka_unit_test_setup(test_size, setup),
        cmocka_unit_test_setup(test_hostile_direction, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
