/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture for the device tests: both roles in one process over one window. The device
 * side's channel is polled from the driver port's wait(), so synchronous driver calls make
 * progress; tests can also poll explicitly with fx_pump(). Each side's port counts the doorbells
 * it rings (fx.drv_rings, fx.dev_rings).
 */
#ifndef XCV_TEST_DEV_FIXTURE_H
#define XCV_TEST_DEV_FIXTURE_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <xcvirtio/xcvirtio.h>

#define FX_WINDOW_BYTES (4u << 20)
#define FX_QUEUE_AREA (512u * 1024u)

struct fx {
    struct xcv_channel dch; /* driver role */
    struct xcv_channel vch; /* device role */
    struct xcv_port dport;
    struct xcv_port vport;
    struct xcv_channel_config dcfg;
    struct xcv_channel_config vcfg;
    struct xcv_pool pool;
    uint32_t free_list[FX_WINDOW_BYTES / 64u];
    int in_wait;
    unsigned drv_rings; /* doorbells of the driver side (EVENT_AVAIL and requests) */
    unsigned dev_rings; /* doorbells of the device side (EVENT_USED and responses) */
};

static _Alignas(4096) unsigned char fx_window[FX_WINDOW_BYTES];
static struct fx fx;

static uint64_t fx_now(void *c)
{
    (void)c;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int fx_drv_notify(void *c, uint32_t d)
{
    (void)c;
    (void)d;
    fx.drv_rings++;
    return 0;
}

static int fx_dev_notify(void *c, uint32_t d)
{
    (void)c;
    (void)d;
    fx.dev_rings++;
    return 0;
}

/* The driver waits: let the device side run (once, not recursively). */
static int fx_dwait(void *c, uint64_t dl)
{
    (void)c;
    (void)dl;
    if (!fx.in_wait) {
        fx.in_wait = 1;
        (void)xcv_channel_poll(&fx.vch, 64);
        fx.in_wait = 0;
    }
    return 0;
}

static const struct xcv_port_ops fx_dops = {
    .notify = fx_drv_notify, .now_ns = fx_now, .wait = fx_dwait};
static const struct xcv_port_ops fx_vops = {.notify = fx_dev_notify, .now_ns = fx_now};

/* Step 1: format the window on the device side (register device models after this). */
static inline int fx_device_up(void)
{
    memset(&fx, 0, sizeof(fx));
    memset(fx_window, 0, sizeof(fx_window));
    fx.dport = (struct xcv_port){&fx_dops, NULL};
    fx.vport = (struct xcv_port){&fx_vops, NULL};
    fx.vcfg = (struct xcv_channel_config){.role = XCV_ROLE_DEVICE,
                                          .port = &fx.vport,
                                          .queue_area_size = FX_QUEUE_AREA,
                                          .timeout_ns = 200000000ull};
    xcv_window_init(&fx.vcfg.window, fx_window, 0x10000000ull, sizeof(fx_window));
    return xcv_channel_init(&fx.vch, &fx.vcfg);
}

/* Step 2: attach the driver side and make a pool of @buf_size buffers over the pool area. */
static inline int fx_driver_up(uint32_t buf_size)
{
    fx.dcfg = (struct xcv_channel_config){
        .role = XCV_ROLE_DRIVER, .port = &fx.dport, .timeout_ns = 200000000ull};
    xcv_window_init(&fx.dcfg.window, fx_window, 0x10000000ull, sizeof(fx_window));
    int r = xcv_channel_init(&fx.dch, &fx.dcfg);
    if (r != XCV_OK)
        return r;
    const struct xcv_window *pa = xcv_channel_pool_area(&fx.dch);
    uint32_t n = XCV_POOL_COUNT(pa->size, buf_size);
    if (n > sizeof(fx.free_list) / sizeof(fx.free_list[0]))
        n = sizeof(fx.free_list) / sizeof(fx.free_list[0]);
    return xcv_pool_init(&fx.pool, pa, buf_size, fx.free_list, n);
}

/* Run both sides' control planes a few times. */
static inline void fx_pump(void)
{
    for (int i = 0; i < 4; i++) {
        (void)xcv_channel_poll(&fx.vch, 64);
        (void)xcv_channel_poll(&fx.dch, 64);
    }
}

#endif /* XCV_TEST_DEV_FIXTURE_H */
