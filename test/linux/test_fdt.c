/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xcvirtio,channel device-tree binding: valid trees parse to the expected values, every
 * hostile node is rejected with XCV_EINVAL and leaves the output untouched, and the channel
 * configuration is filled from a parsed node. The trees are built with dtc at build time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "xcvirtio/error.h"
#include "xcvirtio/fdt.h"

#ifndef XCV_TEST_DTB_DIR
#error "XCV_TEST_DTB_DIR must name the directory holding the compiled test trees"
#endif

struct blob {
    void *data;
    size_t size;
};

static struct blob load(const char *name)
{
    char path[512];
    struct blob b = {NULL, 0};
    FILE *f;
    long n;

    (void)snprintf(path, sizeof(path), "%s/%s", XCV_TEST_DTB_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    b.data = malloc((size_t)n);
    assert_non_null(b.data);
    assert_int_equal(fread(b.data, 1, (size_t)n, f), (size_t)n);
    (void)fclose(f);
    b.size = (size_t)n;
    assert_int_equal(xcv_fdt_check(b.data, b.size), XCV_OK);
    return b;
}

static int node(const struct blob *b, const char *path)
{
    int off = fdt_path_offset(b->data, path);

    if (off < 0)
        fail_msg("node %s not in the tree: %s", path, fdt_strerror(off));
    return off;
}

static void test_find_channels(void **state)
{
    struct blob b = load("valid.dtb");
    int offs[4] = {-1, -1, -1, -1};
    int one[1] = {-1};

    (void)state;
    /* Two enabled channels, in tree order; the disabled one is skipped. */
    assert_int_equal(xcv_fdt_find_channels(b.data, offs, 4), 2);
    assert_int_equal(offs[0], node(&b, "/channel-a"));
    assert_int_equal(offs[1], node(&b, "/bus64/channel@100000000"));
    assert_int_equal(offs[2], -1);
    /* Counting only, and a short array: the total is still reported. */
    assert_int_equal(xcv_fdt_find_channels(b.data, NULL, 0), 2);
    assert_int_equal(xcv_fdt_find_channels(b.data, one, 1), 2);
    assert_int_equal(one[0], offs[0]);
    /* Bad arguments. */
    assert_int_equal(xcv_fdt_find_channels(b.data, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_fdt_find_channels(b.data, offs, -1), XCV_EINVAL);
    assert_int_equal(xcv_fdt_find_channels(NULL, offs, 4), XCV_EINVAL);
    free(b.data);
}

static void test_channel_a(void **state)
{
    struct blob b = load("valid.dtb");
    struct xcv_fdt_channel c;

    (void)state;
    memset(&c, 0xa5, sizeof(c));
    assert_int_equal(xcv_fdt_channel_config(b.data, node(&b, "/channel-a"), &c), XCV_OK);
    assert_int_equal(c.role, XCV_ROLE_DEVICE);
    /* memory-region through /reserved-memory with 1-cell addresses and sizes. */
    assert_true(c.window_base == 0x80000000u);
    assert_true(c.window_size == 0x400000u);
    assert_int_equal(c.doorbell_tx, 7);
    assert_int_equal(c.doorbell_rx, 9);
    assert_int_equal(c.msg_slots, 64);
    assert_true(c.queue_area_size == 0x100000u);
    assert_int_equal(c.cache_line, 128);
    assert_true(c.timeout_us == 500000u);
    /* Sorted by device number; the disabled device@5 and the non-device child are skipped. */
    assert_int_equal(c.num_devices, 2);
    assert_int_equal(c.devices[0].num, 0);
    assert_int_equal(c.devices[0].device_id, 4);
    assert_int_equal(c.devices[0].num_queues, 0);
    assert_int_equal(c.devices[0].queue_size, 0);
    assert_int_equal(c.devices[1].num, 2);
    assert_int_equal(c.devices[1].device_id, 1);
    assert_int_equal(c.devices[1].num_queues, 2);
    assert_int_equal(c.devices[1].queue_size, 256);
    free(b.data);
}

static void test_channel_defaults_and_64bit_reg(void **state)
{
    struct blob b = load("valid.dtb");
    struct xcv_fdt_channel c;

    (void)state;
    assert_int_equal(xcv_fdt_channel_config(b.data, node(&b, "/bus64/channel@100000000"), &c),
                     XCV_OK);
    assert_int_equal(c.role, XCV_ROLE_DRIVER);
    assert_true(c.window_base == 0x100000000ull);
    assert_true(c.window_size == 0x200000u);
    assert_int_equal(c.doorbell_tx, 3);
    assert_int_equal(c.doorbell_rx, 4);
    assert_int_equal(c.msg_slots, XCV_FDT_DEFAULT_MSG_SLOTS);
    assert_int_equal(c.cache_line, XCV_FDT_DEFAULT_CACHE_LINE);
    assert_true(c.queue_area_size == 0x200000u / 4u); /* default: a quarter of the window */
    assert_true(c.timeout_us == 0x100000000ull);      /* two-cell timeout */
    assert_int_equal(c.num_devices, 0);
    free(b.data);
}

static void test_demo_trees(void **state)
{
    static const char *const names[] = {"demo-driver.dtb", "demo-device.dtb"};
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        struct blob b = load(names[i]);
        int off = -1;
        struct xcv_fdt_channel c;

        assert_int_equal(xcv_fdt_find_channels(b.data, &off, 1), 1);
        assert_int_equal(xcv_fdt_channel_config(b.data, off, &c), XCV_OK);
        assert_int_equal(c.role, i == 0 ? XCV_ROLE_DRIVER : XCV_ROLE_DEVICE);
        assert_true(c.window_base == 0u);
        assert_true(c.window_size == 4u * 1024u * 1024u);
        assert_int_equal(c.num_devices, 2);
        assert_int_equal(c.devices[0].device_id, 4);
        assert_int_equal(c.devices[1].device_id, 3);
        free(b.data);
    }
}

static void test_not_a_channel(void **state)
{
    struct blob b = load("valid.dtb");
    struct xcv_fdt_channel c;

    (void)state;
    assert_int_equal(xcv_fdt_channel_config(b.data, node(&b, "/reserved-memory"), &c), XCV_EINVAL);
    assert_int_equal(xcv_fdt_channel_config(b.data, -1, &c), XCV_EINVAL);
    assert_int_equal(xcv_fdt_channel_config(b.data, 0x7ffffff0, &c), XCV_EINVAL);
    assert_int_equal(xcv_fdt_channel_config(NULL, 0, &c), XCV_EINVAL);
    assert_int_equal(xcv_fdt_channel_config(b.data, node(&b, "/channel-a"), NULL), XCV_EINVAL);
    free(b.data);
}

static void test_hostile_nodes(void **state)
{
    static const char *const bad[] = {
        "/missing-role",
        "/bad-role",
        "/role-not-string",
        "/role-unterminated",
        "/region-reg-short",
        "/region-reg-odd-bytes",
        "/region-no-reg",
        "/region-nowhere",
        "/region-phandle-short",
        "/region-zero-size",
        "/direct-reg-bad-length",
        "/direct-reg-wraps",
        "/no-window",
        "/window-not-line-multiple",
        "/missing-doorbells",
        "/one-doorbell",
        "/slots-not-power-of-two",
        "/slots-too-few",
        "/slots-too-many",
        "/slots-16-bit",
        "/line-not-power-of-two",
        "/line-too-small",
        "/queue-area-whole-window",
        "/queue-area-unaligned",
        "/queue-area-zero",
        "/timeout-three-cells",
        "/timeout-overflows",
        "/device-reg-16",
        "/device-reg-two-cells",
        "/device-no-reg",
        "/device-no-id",
        "/device-id-zero",
        "/device-duplicate",
        "/device-queue-size-not-power-of-two",
        "/device-too-many-queues",
        "/threecells/three-cells-bus",
    };
    struct blob b = load("hostile.dtb");
    struct xcv_fdt_channel c;
    struct xcv_fdt_channel pattern;
    size_t i;

    (void)state;
    /* The baseline node is valid, so each rejection below is caused by its one defect. */
    assert_int_equal(xcv_fdt_channel_config(b.data, node(&b, "/baseline"), &c), XCV_OK);
    assert_int_equal(c.num_devices, 1);

    memset(&pattern, 0x5a, sizeof(pattern));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;

        memcpy(&c, &pattern, sizeof(c));
        rc = xcv_fdt_channel_config(b.data, node(&b, bad[i]), &c);
        if (rc != XCV_EINVAL)
            fail_msg("%s: expected XCV_EINVAL, got %d", bad[i], rc);
        /* No partial output. */
        if (memcmp(&c, &pattern, sizeof(c)) != 0)
            fail_msg("%s: output written on failure", bad[i]);
    }
    free(b.data);
}

static void test_corrupt_blob(void **state)
{
    struct blob b = load("valid.dtb");
    uint8_t *copy = malloc(b.size);
    int offs[4];

    (void)state;
    assert_non_null(copy);
    /* Truncated: the header claims more than the buffer holds. */
    assert_int_equal(xcv_fdt_check(b.data, b.size / 2u), XCV_EINVAL);
    assert_int_equal(xcv_fdt_check(NULL, b.size), XCV_EINVAL);
    /* Bad magic: every entry point refuses it. */
    memcpy(copy, b.data, b.size);
    copy[0] ^= 0xffu;
    assert_int_equal(xcv_fdt_check(copy, b.size), XCV_EINVAL);
    assert_int_equal(xcv_fdt_find_channels(copy, offs, 4), XCV_EINVAL);
    free(copy);
    free(b.data);
}

static void test_to_channel_config(void **state)
{
    struct blob b = load("valid.dtb");
    struct xcv_fdt_channel c;
    struct xcv_channel_config cfg;
    struct xcv_channel_config pattern;
    struct xcv_port port = {NULL, NULL};
    static uint8_t window[64];

    (void)state;
    assert_int_equal(xcv_fdt_channel_config(b.data, node(&b, "/channel-a"), &c), XCV_OK);
    assert_int_equal(xcv_fdt_to_channel_config(&c, window, &port, &cfg), XCV_OK);
    assert_int_equal(cfg.role, XCV_ROLE_DEVICE);
    assert_ptr_equal(cfg.window.local, window);
    assert_true(cfg.window.bus_base == 0x80000000u);
    assert_true(cfg.window.size == 0x400000u);
    assert_ptr_equal(cfg.port, &port);
    assert_int_equal(cfg.doorbell, 7); /* the doorbell rung on the peer */
    assert_true(cfg.timeout_ns == 500000000ull);
    assert_int_equal(cfg.cache_line, 128);
    assert_int_equal(cfg.msg_slots, 64);
    assert_true(cfg.queue_area_size == 0x100000u);

    memset(&pattern, 0x3c, sizeof(pattern));
    memcpy(&cfg, &pattern, sizeof(cfg));
    assert_int_equal(xcv_fdt_to_channel_config(&c, NULL, &port, &cfg), XCV_EINVAL);
    assert_int_equal(xcv_fdt_to_channel_config(&c, window, NULL, &cfg), XCV_EINVAL);
    assert_int_equal(xcv_fdt_to_channel_config(NULL, window, &port, &cfg), XCV_EINVAL);
    c.timeout_us = UINT64_MAX;
    assert_int_equal(xcv_fdt_to_channel_config(&c, window, &port, &cfg), XCV_EINVAL);
    c.timeout_us = 0;
    c.window_size = 0;
    assert_int_equal(xcv_fdt_to_channel_config(&c, window, &port, &cfg), XCV_EINVAL);
    assert_memory_equal(&cfg, &pattern, sizeof(cfg));
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_channels),
        cmocka_unit_test(test_channel_a),
        cmocka_unit_test(test_channel_defaults_and_64bit_reg),
        cmocka_unit_test(test_demo_trees),
        cmocka_unit_test(test_not_a_channel),
        cmocka_unit_test(test_hostile_nodes),
        cmocka_unit_test(test_corrupt_blob),
        cmocka_unit_test(test_to_channel_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
