/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk: device model over the memory backend and the driver, both roles in one process.
 * Hostile-driver tests post raw chains on the driver queue; hostile-device tests put a rogue
 * device model behind the real driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <xcvirtio/dev_blk.h>

#include "dev_fixture.h"

#define DISK_SECTORS 256u
static uint8_t disk[DISK_SECTORS * 512u];
static struct xcv_blk_mem mem;
static struct xcv_blk_dev bdev;
static struct xcv_blk_drv bdrv;

static int setup_cfg(const struct xcv_blk_dev_config *cfg)
{
    if (fx_device_up() != XCV_OK)
        return -1;
    if (xcv_blk_dev_init(&bdev, &fx.vch, cfg) != 0)
        return -1;
    if (fx_driver_up(4096) != XCV_OK)
        return -1;
    struct xcv_blk_drv_config dc = {.dev_num = 0, .pool = &fx.pool, .queue_size = 64};
    return xcv_blk_drv_open(&bdrv, &fx.dch, &dc);
}

static struct xcv_blk_dev_config base_cfg(void)
{
    for (unsigned i = 0; i < sizeof(disk); i++)
        disk[i] = (uint8_t)(i * 7u + 3u);
    mem = (struct xcv_blk_mem){disk, sizeof(disk)};
    return (struct xcv_blk_dev_config){
        .capacity = DISK_SECTORS,
        .ops = &xcv_blk_mem_ops,
        .backend_ctx = &mem,
        .queue_size = 64,
        .blk_size = 4096,
        .flush = true,
        .max_discard_seg = 4,
        .max_write_zeroes_seg = 4,
        .id = "xcv-disk-0",
        .ring_features =
            XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
    };
}

static int setup(void **state)
{
    (void)state;
    struct xcv_blk_dev_config cfg = base_cfg();
    return setup_cfg(&cfg);
}

/* Wait for one completion, pumping the device side. */
static struct xcv_blk_req *wait_one(void)
{
    struct xcv_blk_req *r = NULL;
    for (int i = 0; i < 100; i++) {
        int rc = xcv_blk_drv_complete(&bdrv, &r);
        if (rc == XCV_OK)
            return r;
        assert_int_equal(rc, XCV_EAGAIN);
        fx_pump();
    }
    fail_msg("no completion");
    return NULL;
}

/* ---- driver + model over the memory backend ---- */

static void test_config_and_features(void **state)
{
    (void)state;
    assert_int_equal(xcv_blk_drv_capacity(&bdrv), DISK_SECTORS);
    uint64_t f = xcv_blk_drv_features(&bdrv);
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_FLUSH));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_DISCARD));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_WRITE_ZEROES));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_BLK_SIZE));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_SEG_MAX));
    assert_false(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_RO));
    uint8_t c[XCV_VIRTIO_BLK_CFG_SIZE];
    assert_int_equal(xcv_vdrv_read_config(&bdrv.vdrv, 0, c, sizeof(c)), XCV_OK);
    assert_int_equal(xcv_le64_load(c + XCV_VIRTIO_BLK_CFG_CAPACITY), DISK_SECTORS);
    assert_int_equal(xcv_le32_load(c + XCV_VIRTIO_BLK_CFG_BLK_SIZE), 4096);
    assert_int_equal(xcv_le32_load(c + XCV_VIRTIO_BLK_CFG_SEG_MAX), 62);
    assert_int_equal(xcv_le32_load(c + XCV_VIRTIO_BLK_CFG_MAX_DISCARD_SEG), 4);
    /* The driver cannot change the capacity behind the model's back (no field is writable). */
    uint8_t big[8];
    xcv_le64_store(big, 1ull << 40);
    assert_int_equal(xcv_vdrv_write_config(&bdrv.vdrv, 0, big, 8), XCV_EINVAL);
    assert_int_equal(xcv_vdrv_read_config(&bdrv.vdrv, 0, c, 8), XCV_OK);
    assert_int_equal(xcv_le64_load(c), DISK_SECTORS);
}

static void test_sync_read_write(void **state)
{
    (void)state;
    uint8_t buf[8192];
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 10, buf, sizeof(buf)), XCV_OK);
    assert_memory_equal(buf, disk + 10 * 512, sizeof(buf));
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(0xa5u ^ i);
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, true, 100, buf, sizeof(buf)), XCV_OK);
    assert_memory_equal(disk + 100 * 512, buf, sizeof(buf));
    /* Last sectors of the disk are reachable; one past is refused by the driver (5.2.6.1). */
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, DISK_SECTORS - 1, buf, 512), XCV_OK);
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, DISK_SECTORS - 1, buf, 1024), XCV_EINVAL);
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 0, buf, 100), XCV_EINVAL);
    assert_int_equal(xcv_blk_dev_stats(&bdev)->ioerr, 0);
}

static void test_async_many(void **state)
{
    (void)state;
    enum {
        N = 20
    }; /* 3 descriptors each on a 64-entry ring */
    struct xcv_blk_req req[N];
    uint8_t *bufs[N];
    for (unsigned i = 0; i < N; i++) {
        struct xcv_sg sg;
        bufs[i] = xcv_pool_alloc(&fx.pool, &sg.addr);
        assert_non_null(bufs[i]);
        sg.len = 1024;
        req[i].user = (void *)(uintptr_t)i;
        assert_int_equal(xcv_blk_drv_submit(&bdrv, &req[i], XCV_VIRTIO_BLK_T_IN, 2u * i, &sg, 1),
                         XCV_OK);
    }
    assert_int_equal(xcv_blk_drv_kick(&bdrv), XCV_OK);
    unsigned seen = 0;
    for (unsigned k = 0; k < N; k++) {
        struct xcv_blk_req *r = wait_one();
        unsigned i = (unsigned)(uintptr_t)r->user;
        assert_int_equal(r->result, XCV_OK);
        assert_int_equal(r->used_len, 1025); /* data + status */
        assert_memory_equal(bufs[i], disk + 2u * i * 512u, 1024);
        seen |= 0u;
        seen++;
    }
    assert_int_equal(seen, N);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(xcv_pool_free(&fx.pool, bufs[i]), XCV_OK);
}

static void test_flush_getid(void **state)
{
    (void)state;
    struct xcv_blk_req req;
    assert_int_equal(xcv_blk_drv_submit(&bdrv, &req, XCV_VIRTIO_BLK_T_FLUSH, 0, NULL, 0), XCV_OK);
    assert_int_equal(xcv_blk_drv_kick(&bdrv), XCV_OK);
    assert_ptr_equal(wait_one(), &req);
    assert_int_equal(req.result, XCV_OK);
    assert_int_equal(xcv_blk_drv_submit(&bdrv, &req, XCV_VIRTIO_BLK_T_GET_ID, 0, NULL, 0), XCV_OK);
    assert_int_equal(xcv_blk_drv_kick(&bdrv), XCV_OK);
    assert_ptr_equal(wait_one(), &req);
    assert_int_equal(req.result, XCV_OK);
    assert_memory_equal(req.id, "xcv-disk-0\0\0\0\0\0\0\0\0\0", 20);
}

static void submit_dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags,
                       struct xcv_blk_req *req)
{
    struct xcv_sg sg;
    uint8_t *seg = xcv_pool_alloc(&fx.pool, &sg.addr);
    assert_non_null(seg);
    xcv_le64_store(seg, sector);
    xcv_le32_store(seg + 8, num);
    xcv_le32_store(seg + 12, flags);
    sg.len = 16;
    assert_int_equal(xcv_blk_drv_submit(&bdrv, req, type, 0, &sg, 1), XCV_OK);
    assert_int_equal(xcv_blk_drv_kick(&bdrv), XCV_OK);
    assert_ptr_equal(wait_one(), req);
    assert_int_equal(xcv_pool_free(&fx.pool, seg), XCV_OK);
}

static void test_discard_write_zeroes(void **state)
{
    (void)state;
    struct xcv_blk_req req;
    static const uint8_t zero[1024];
    submit_dwz(XCV_VIRTIO_BLK_T_WRITE_ZEROES, 20, 2, XCV_VIRTIO_BLK_WZ_F_UNMAP, &req);
    assert_int_equal(req.result, XCV_OK);
    assert_memory_equal(disk + 20 * 512, zero, 1024);
    assert_int_not_equal(disk[22 * 512], 0);
    submit_dwz(XCV_VIRTIO_BLK_T_DISCARD, 30, 2, 0, &req);
    assert_int_equal(req.result, XCV_OK);
    /* 5.2.6.2: unmap on a discard, or an unknown flag, is UNSUPP. */
    submit_dwz(XCV_VIRTIO_BLK_T_DISCARD, 30, 2, XCV_VIRTIO_BLK_WZ_F_UNMAP, &req);
    assert_int_equal(req.result, XCV_ENOTSUP);
    submit_dwz(XCV_VIRTIO_BLK_T_WRITE_ZEROES, 30, 2, 0x80, &req);
    assert_int_equal(req.result, XCV_ENOTSUP);
    /* Out of range (and an overflowing range) is IOERR, nothing touched. */
    disk[sizeof(disk) - 1] = 0x77;
    submit_dwz(XCV_VIRTIO_BLK_T_WRITE_ZEROES, DISK_SECTORS - 1, 2, 0, &req);
    assert_int_equal(req.result, XCV_EIO);
    submit_dwz(XCV_VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX, 2, 0, &req);
    assert_int_equal(req.result, XCV_EIO);
    assert_int_equal(disk[sizeof(disk) - 1], 0x77);
}

static void test_read_only(void **state)
{
    (void)state;
    struct xcv_blk_dev_config cfg = base_cfg();
    cfg.read_only = true;
    assert_int_equal(setup_cfg(&cfg), XCV_OK);
    assert_true(xcv_blk_drv_features(&bdrv) & XCV_FEATURE(XCV_VIRTIO_BLK_F_RO));
    assert_false(xcv_blk_drv_features(&bdrv) & XCV_FEATURE(XCV_VIRTIO_BLK_F_DISCARD));
    uint8_t buf[512] = {0};
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, true, 0, buf, 512), XCV_ENOTSUP);
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 0, buf, 512), XCV_OK);
}

/* ---- hostile driver: raw chains on the request queue ---- */

struct raw {
    uint8_t *p;
    uint64_t bus;
};

static struct raw raw_buf(void)
{
    struct raw r;
    r.p = xcv_pool_alloc(&fx.pool, &r.bus);
    assert_non_null(r.p);
    memset(r.p, 0xee, 4096);
    return r;
}

static void hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
    xcv_le32_store(p, type);
    xcv_le32_store(p + 4, 0);
    xcv_le64_store(p + 8, sector);
}

/* Raw chains carry a request object as token, so a reset can hand them back like any other. */
static struct xcv_blk_req rawreq;

/* Post a raw chain, run the device, return the used length. */
static uint32_t raw_post(const struct xcv_sg *sg, unsigned n_out, unsigned n_in)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&bdrv.vdrv, 0);
    assert_non_null(q);
    assert_int_equal(xcv_vq_driver_add(q, sg, n_out, n_in, &rawreq), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
    void *tok;
    uint32_t len;
    for (int i = 0; i < 50; i++) {
        fx_pump();
        int r = xcv_vq_driver_get_used(q, &tok, &len);
        if (r == XCV_OK) {
            assert_ptr_equal(tok, &rawreq);
            return len;
        }
        assert_int_equal(r, XCV_EAGAIN);
    }
    fail_msg("chain not used");
    return 0;
}

static void test_hostile_short_header(void **state)
{
    (void)state;
    struct raw b = raw_buf();
    hdr(b.p, XCV_VIRTIO_BLK_T_IN, 0);
    /* 8 readable bytes, then 512 writable + status. */
    struct xcv_sg sg[3] = {{b.bus, 8}, {b.bus + 512, 512}, {b.bus + 2048, 1}};
    assert_int_equal(raw_post(sg, 1, 2), 513);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(b.p[512], 0xee); /* no data read into the buffer */
    /* Header split over two readable segments is fine (2.6.4: no framing assumptions). */
    hdr(b.p, XCV_VIRTIO_BLK_T_IN, 3);
    struct xcv_sg sg2[4] = {{b.bus, 5}, {b.bus + 5, 11}, {b.bus + 512, 512}, {b.bus + 2048, 1}};
    assert_int_equal(raw_post(sg2, 2, 2), 513);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_OK);
    assert_memory_equal(b.p + 512, disk + 3 * 512, 512);
}

static void test_hostile_sector_range(void **state)
{
    (void)state;
    struct raw b = raw_buf();
    const uint64_t bad[] = {DISK_SECTORS, DISK_SECTORS - 1u, UINT64_MAX, UINT64_MAX / 512u + 1u};
    for (unsigned i = 0; i < 4; i++) {
        hdr(b.p, XCV_VIRTIO_BLK_T_IN, bad[i]);
        b.p[2048] = 0xee;
        struct xcv_sg sg[3] = {{b.bus, 16}, {b.bus + 512, 1024}, {b.bus + 2048, 1}};
        assert_int_equal(raw_post(sg, 1, 2), 1025);
        assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
        hdr(b.p, XCV_VIRTIO_BLK_T_OUT, bad[i]);
        struct xcv_sg so[3] = {{b.bus, 16}, {b.bus + 512, 1024}, {b.bus + 2048, 1}};
        assert_int_equal(raw_post(so, 2, 1), 1);
        assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    }
    assert_int_equal(xcv_blk_dev_stats(&bdev)->ioerr, 8);
}

static void test_hostile_mismatch(void **state)
{
    (void)state;
    struct raw b = raw_buf();
    uint8_t before[512];
    memcpy(before, disk, 512);
    /* IN with readable data after the header. */
    hdr(b.p, XCV_VIRTIO_BLK_T_IN, 0);
    struct xcv_sg s1[3] = {{b.bus, 16 + 512}, {b.bus + 1024, 512}, {b.bus + 2048, 1}};
    raw_post(s1, 1, 2);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    /* OUT whose data is device-writable (wrong direction): no write happens. */
    hdr(b.p, XCV_VIRTIO_BLK_T_OUT, 0);
    struct xcv_sg s2[3] = {{b.bus, 16}, {b.bus + 1024, 512}, {b.bus + 2048, 1}};
    raw_post(s2, 1, 2);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    assert_memory_equal(disk, before, 512);
    /* IN with a data length that is not a multiple of 512 (5.2.6.1). */
    hdr(b.p, XCV_VIRTIO_BLK_T_IN, 0);
    struct xcv_sg s3[3] = {{b.bus, 16}, {b.bus + 1024, 500}, {b.bus + 2048, 1}};
    raw_post(s3, 1, 2);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    /* OUT with a partial sector. */
    hdr(b.p, XCV_VIRTIO_BLK_T_OUT, 0);
    struct xcv_sg s4[2] = {{b.bus, 16 + 100}, {b.bus + 2048, 1}};
    raw_post(s4, 1, 1);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    assert_memory_equal(disk, before, 512);
    /* GET_ID with too small a buffer. */
    hdr(b.p, XCV_VIRTIO_BLK_T_GET_ID, 0);
    struct xcv_sg s5[2] = {{b.bus, 16}, {b.bus + 1024, 10}};
    raw_post(s5, 1, 1);
    assert_int_equal(b.p[1024 + 9], XCV_VIRTIO_BLK_S_IOERR);
    /* Unknown type: UNSUPP. */
    hdr(b.p, 0x1234, 0);
    struct xcv_sg s6[2] = {{b.bus, 16}, {b.bus + 2048, 1}};
    raw_post(s6, 1, 1);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_UNSUPP);
}

static void test_hostile_status_placement(void **state)
{
    (void)state;
    struct raw b = raw_buf();
    /* No writable byte at all: nowhere to put a status: used length 0, chain returned. */
    hdr(b.p, XCV_VIRTIO_BLK_T_OUT, 0);
    struct xcv_sg s1[1] = {{b.bus, 16 + 512}};
    assert_int_equal(raw_post(s1, 1, 0), 0);
    assert_int_equal(xcv_blk_dev_stats(&bdev)->dropped, 1);
    /* Status shares the last writable segment with the data: it is its last byte. */
    hdr(b.p, XCV_VIRTIO_BLK_T_IN, 4);
    struct xcv_sg s2[2] = {{b.bus, 16}, {b.bus + 512, 513}};
    assert_int_equal(raw_post(s2, 1, 1), 513);
    assert_memory_equal(b.p + 512, disk + 4 * 512, 512);
    assert_int_equal(b.p[1024], XCV_VIRTIO_BLK_S_OK);
    /* A trailing zero-length writable segment: the status goes in the last non-empty one. */
    hdr(b.p, XCV_VIRTIO_BLK_T_FLUSH, 0);
    struct xcv_sg s3[3] = {{b.bus, 16}, {b.bus + 2048, 1}, {b.bus + 3000, 0}};
    raw_post(s3, 1, 2);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_OK);
    /* The queue is still healthy and the driver still works. */
    uint8_t buf[512];
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 0, buf, 512), XCV_OK);
}

static void test_hostile_dwz(void **state)
{
    (void)state;
    struct raw b = raw_buf();
    /* Discard segment array not a multiple of 16 bytes; too many segments; writable data. */
    hdr(b.p, XCV_VIRTIO_BLK_T_DISCARD, 0);
    struct xcv_sg s1[2] = {{b.bus, 16 + 15}, {b.bus + 2048, 1}};
    raw_post(s1, 1, 1);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    memset(b.p + 16, 0, 16 * 5);
    struct xcv_sg s2[2] = {{b.bus, 16 + 16 * 5}, {b.bus + 2048, 1}};
    raw_post(s2, 1, 1);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    struct xcv_sg s3[3] = {{b.bus, 16 + 16}, {b.bus + 1024, 16}, {b.bus + 2048, 1}};
    raw_post(s3, 1, 2);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    /* One good segment and one out of range: nothing is done (all validated first). */
    disk[40 * 512] = 0x5a;
    xcv_le64_store(b.p + 16, 40);
    xcv_le32_store(b.p + 24, 1);
    xcv_le32_store(b.p + 28, 0);
    xcv_le64_store(b.p + 32, DISK_SECTORS);
    xcv_le32_store(b.p + 40, 1);
    xcv_le32_store(b.p + 44, 0);
    hdr(b.p, XCV_VIRTIO_BLK_T_WRITE_ZEROES, 0);
    struct xcv_sg s4[2] = {{b.bus, 16 + 32}, {b.bus + 2048, 1}};
    raw_post(s4, 1, 1);
    assert_int_equal(b.p[2048], XCV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(disk[40 * 512], 0x5a);
}

/* A chain outside the window breaks the queue; the device raises NEEDS_RESET and serves again
 * after the driver's reset. */
static void test_hostile_window_then_reset(void **state)
{
    (void)state;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&bdrv.vdrv, 0);
    struct xcv_sg sg[2] = {{0x1000, 16}, {0x2000, 1}};
    memset(&rawreq, 0, sizeof(rawreq));
    assert_int_equal(xcv_vq_driver_add(q, sg, 1, 1, &rawreq), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
    fx_pump();
    int st = xcv_vdrv_get_status(&bdrv.vdrv);
    assert_true(st >= 0);
    assert_true(st & XCV_VIRTIO_STATUS_NEEDS_RESET);
    /* The driver's reset reclaims the chain; reopen and use the device again. */
    assert_int_equal(xcv_blk_drv_reset(NULL), XCV_EINVAL);
    assert_int_equal(xcv_blk_drv_reset(&bdrv), XCV_OK);
    struct xcv_blk_req *r;
    assert_int_equal(xcv_blk_drv_complete(&bdrv, &r), XCV_OK);
    assert_ptr_equal(r, &rawreq);
    assert_int_equal(r->result, XCV_ECANCELED);
    assert_int_equal(xcv_blk_drv_complete(&bdrv, &r), XCV_EAGAIN);
    struct xcv_blk_drv_config dc = {.dev_num = 0, .pool = &fx.pool, .queue_size = 64};
    assert_int_equal(xcv_blk_drv_open(&bdrv, &fx.dch, &dc), XCV_OK);
    uint8_t buf[512];
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 1, buf, 512), XCV_OK);
    assert_memory_equal(buf, disk + 512, 512);
}

/* Budget: a flood of requests is handled in bounded slices; pending says to call again. */
static void test_budget(void **state)
{
    (void)state;
    struct xcv_blk_dev_config cfg = base_cfg();
    cfg.budget = 4;
    assert_int_equal(setup_cfg(&cfg), XCV_OK);
    struct xcv_blk_req req[10];
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(xcv_blk_drv_submit(&bdrv, &req[i], XCV_VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
                         XCV_OK);
    assert_int_equal(xcv_blk_drv_kick(&bdrv), XCV_OK);
    (void)xcv_channel_poll(&fx.vch, 64); /* one kick: one slice of 4 */
    assert_int_equal(xcv_blk_dev_stats(&bdev)->requests, 4);
    assert_true(xcv_blk_dev_pending(&bdev));
    assert_int_equal(xcv_blk_dev_run(&bdev, 100), 6);
    assert_false(xcv_blk_dev_pending(&bdev));
    for (unsigned i = 0; i < 10; i++) {
        struct xcv_blk_req *r = wait_one();
        assert_int_equal(r->result, XCV_OK);
    }
}

/* ---- hostile device behind the real driver ---- */

static struct xcv_vdev rogue;
static struct xcv_vq_dev_slot rogue_slots[64];
static struct xcv_vdev_queue rogue_q = {.slots = rogue_slots, .max_size = 64};
static uint8_t rogue_cfg[XCV_VIRTIO_BLK_CFG_SIZE];
static int rogue_mode;

static int rogue_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    (void)ctx;
    const struct xcv_iov *last = &c->iov[c->n_out + c->n_in - 1];
    if (rogue_mode == 0) {
        *(uint8_t *)last->base = 7; /* not a status value */
        *written = c->in_len;
    } else {
        *written = 0; /* completes without writing the status */
    }
    return 0;
}

static void rogue_notify(void *ctx, struct xcv_vdev *d, uint16_t q)
{
    (void)ctx;
    struct xcv_iov iov[64];
    struct xcv_chain ch = {.iov = iov, .cap = 64};
    (void)xcv_vq_device_process(xcv_vdev_queue(d, q), 64, &ch, rogue_chain, NULL);
}

static void rogue_reset(void *ctx, struct xcv_vdev *d)
{
    (void)ctx;
    (void)d;
}

static const struct xcv_vdev_ops rogue_ops = {.notify = rogue_notify, .reset = rogue_reset};

static void test_hostile_device(void **state)
{
    (void)state;
    assert_int_equal(fx_device_up(), XCV_OK);
    xcv_le64_store(rogue_cfg, 8);
    struct xcv_vdev_config vc = {.device_id = XCV_VIRTIO_ID_BLOCK,
                                 .config = rogue_cfg,
                                 .config_size = sizeof(rogue_cfg),
                                 .queues = &rogue_q,
                                 .num_queues = 1,
                                 .ops = &rogue_ops};
    assert_int_equal(xcv_vdev_register(&fx.vch, &rogue, &vc), 0);
    assert_int_equal(fx_driver_up(4096), XCV_OK);
    struct xcv_blk_drv_config dc = {.dev_num = 0, .pool = &fx.pool, .queue_size = 64};
    assert_int_equal(xcv_blk_drv_open(&bdrv, &fx.dch, &dc), XCV_OK);
    uint32_t avail = xcv_pool_available(&fx.pool);
    uint8_t buf[512];
    rogue_mode = 0;
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 0, buf, 512), XCV_EPROTO_DEVICE);
    rogue_mode = 1;
    assert_int_equal(xcv_blk_drv_rw_sync(&bdrv, false, 0, buf, 512), XCV_EPROTO_DEVICE);
    /* Every pool buffer came back. */
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    /* A device that never answers: the sync call times out, resets, and loses nothing. */
    rogue_q.max_size = 64;
    struct xcv_blk_req pending;
    assert_int_equal(xcv_blk_drv_submit(&bdrv, &pending, XCV_VIRTIO_BLK_T_GET_ID, 0, NULL, 0),
                     XCV_OK);
    /* Not kicked: the device never sees it. Reset reclaims it with ECANCELED. */
    assert_int_equal(xcv_blk_drv_reset(&bdrv), XCV_OK);
    struct xcv_blk_req *r;
    assert_int_equal(xcv_blk_drv_complete(&bdrv, &r), XCV_OK);
    assert_ptr_equal(r, &pending);
    assert_int_equal(r->result, XCV_ECANCELED);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_and_features, setup),
        cmocka_unit_test_setup(test_sync_read_write, setup),
        cmocka_unit_test_setup(test_async_many, setup),
        cmocka_unit_test_setup(test_flush_getid, setup),
        cmocka_unit_test_setup(test_discard_write_zeroes, setup),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test_setup(test_hostile_short_header, setup),
        cmocka_unit_test_setup(test_hostile_sector_range, setup),
        cmocka_unit_test_setup(test_hostile_mismatch, setup),
        cmocka_unit_test_setup(test_hostile_status_placement, setup),
        cmocka_unit_test_setup(test_hostile_dwz, setup),
        cmocka_unit_test_setup(test_hostile_window_then_reset, setup),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_hostile_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
