/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk between two processes over the Linux port, backed by a file (the port's file
 * backend): a forked device process serves an 8 MiB sparse image; this process drives it with
 * writes, reads, flush, discard, write-zeroes and GET_ID, checks every byte read back, then
 * checks the image file itself after the device process exited. Backend errors (a file that
 * shrank under the device) must reach the driver as IOERR. Event and busy-poll modes.
 *
 * Also, in one process: the file backend's own checks (open arguments, range, segment sums,
 * read-only) and the getrandom() entropy source.
 */
#define _GNU_SOURCE /* before any system header: POLLRDHUP, memfd, ... */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <xcvirtio/linux_backends.h>

#include "d2p.h"

#define DISK_BYTES (8u << 20)
#define DISK_SECTORS (DISK_BYTES / 512u)
#define BUF 4096u
#define ID "xcv-2p-disk"

/* Device-side counters in d2p_shared::c. */
enum {
    C_REQUESTS,
    C_IOERR,
    C_UNSUPP,
    C_READS,
    C_WRITES,
    C_FLUSHES,
    C_PUNCHED,
    C_ZRANGE,
    C_ZWRITE,
    C_FERRORS
};

struct blk_side {
    const char *path;
    struct d2p_shared *sh;
    struct xcv_linux_blk_file file;
    struct xcv_blk_dev dev;
};

static int blk_setup(void *ctx, struct xcv_channel *ch, struct d2p_shared *sh)
{
    struct blk_side *s = ctx;
    s->sh = sh;
    int r = xcv_linux_blk_file_open(&s->file, s->path, DISK_BYTES, XCV_LINUX_BLK_CREATE);
    if (r != XCV_OK)
        return r;
    struct xcv_blk_dev_config bc = {
        .capacity = s->file.capacity,
        .ops = &xcv_linux_blk_file_ops,
        .backend_ctx = &s->file,
        .queue_size = 128,
        .blk_size = 4096,
        .flush = true,
        .max_discard_seg = 4,
        .max_write_zeroes_seg = 4,
        .id = ID,
        .ring_features =
            XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
    };
    r = xcv_blk_dev_init(&s->dev, ch, &bc);
    return r < 0 ? r : XCV_OK;
}

static bool blk_tick(void *ctx)
{
    struct blk_side *s = ctx;
    if (xcv_blk_dev_pending(&s->dev))
        (void)xcv_blk_dev_run(&s->dev, 64);
    return xcv_blk_dev_pending(&s->dev);
}

static void blk_finish(void *ctx)
{
    struct blk_side *s = ctx;
    const struct xcv_blk_dev_stats *b = xcv_blk_dev_stats(&s->dev);
    const struct xcv_linux_blk_file_stats *f = &s->file.stats;
    uint64_t *c = s->sh->c;
    c[C_REQUESTS] = b->requests;
    c[C_IOERR] = b->ioerr;
    c[C_UNSUPP] = b->unsupp;
    c[C_READS] = f->reads;
    c[C_WRITES] = f->writes;
    c[C_FLUSHES] = f->flushes;
    c[C_PUNCHED] = f->punched;
    c[C_ZRANGE] = f->zero_ranged;
    c[C_ZWRITE] = f->zero_written;
    c[C_FERRORS] = f->errors;
    xcv_linux_blk_file_close(&s->file);
}

/* ---- driver helpers ---- */

static struct d2p_driver drv;
static struct xcv_blk_drv blk;

static void pattern(uint8_t *p, uint32_t len, uint64_t sector, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++) {
        uint64_t pos = sector * 512u + i;
        p[i] = (uint8_t)((pos * 2654435761u) >> 13) ^ (uint8_t)(pos >> 9) ^ (uint8_t)seed;
    }
}

/* Submit one request, kick, wait for it (bounded). Returns the request's result. */
static int blk_do(uint32_t type, uint64_t sector, const struct xcv_sg *sg, unsigned n,
                  struct xcv_blk_req *out)
{
    struct xcv_blk_req req = {0};
    int r = xcv_blk_drv_submit(&blk, &req, type, sector, sg, n);
    if (r != XCV_OK)
        return r;
    r = xcv_blk_drv_kick(&blk);
    if (r != XCV_OK)
        return r;
    uint64_t deadline = d2p_now() + 5000000000ull;
    struct xcv_blk_req *done = NULL;
    while ((r = xcv_blk_drv_complete(&blk, &done)) == XCV_EAGAIN) {
        if (d2p_now() > deadline)
            fail_msg("blk request type %u did not complete", type);
        /* The blk driver has no call to arm used notifications: use its queue. */
        r = d2p_wait(&drv, xcv_vdrv_queue(&blk.vdrv, 0), 20);
        if (r != XCV_OK)
            return r;
    }
    if (r != XCV_OK)
        return r;
    assert_ptr_equal(done, &req);
    if (out != NULL)
        *out = req;
    return req.result;
}

static uint8_t *buf_alloc(struct xcv_sg *sg, uint32_t len)
{
    uint8_t *p = xcv_pool_alloc(&drv.pool, &sg->addr);
    assert_non_null(p);
    sg->len = len;
    return p;
}

static void buf_free(uint8_t *p)
{
    assert_int_equal(xcv_pool_free(&drv.pool, p), XCV_OK);
}

/* Write [sector, sector + len/512) with the pattern of @p seed (one segment). */
static void write_pattern(uint64_t sector, uint32_t len, uint32_t seed)
{
    struct xcv_sg sg;
    uint8_t *p = buf_alloc(&sg, len);
    pattern(p, len, sector, seed);
    assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_OUT, sector, &sg, 1, NULL), XCV_OK);
    buf_free(p);
}

/* Read [sector, sector + len/512) and compare with the pattern of @p seed, or zeroes when
 * @p seed is negative. */
static void expect(uint64_t sector, uint32_t len, int64_t seed)
{
    struct xcv_sg sg;
    uint8_t *p = buf_alloc(&sg, len);
    memset(p, 0x5a, len);
    assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_IN, sector, &sg, 1, NULL), XCV_OK);
    uint8_t want[BUF];
    assert_true(len <= sizeof(want));
    if (seed < 0)
        memset(want, 0, len);
    else
        pattern(want, len, sector, (uint32_t)seed);
    assert_memory_equal(p, want, len);
    buf_free(p);
}

/* One discard or write-zeroes request with up to 4 ranges of (sector, count, flags). */
static int dwz(uint32_t type, const uint64_t (*ranges)[3], unsigned n)
{
    struct xcv_sg sg;
    uint8_t *p = buf_alloc(&sg, n * XCV_VIRTIO_BLK_DWZ_SEG_SIZE);
    for (unsigned i = 0; i < n; i++) {
        xcv_le64_store(p + 16u * i, ranges[i][0]);
        xcv_le32_store(p + 16u * i + 8u, (uint32_t)ranges[i][1]);
        xcv_le32_store(p + 16u * i + 12u, (uint32_t)ranges[i][2]);
    }
    int r = blk_do(type, 0, &sg, 1, NULL);
    buf_free(p);
    return r;
}

/* ---- the two-process test ---- */

/* The image of the running test (removed by blk_teardown() when a test failed). */
static char img[64];

static int blk_teardown(void **state)
{
    (void)d2p_teardown(state);
    if (img[0] != '\0')
        unlink(img);
    img[0] = '\0';
    return 0;
}

static void run(bool poll_mode)
{
    char sock[108];
    char path[] = "/tmp/xcv-d2p-blk-XXXXXX";
    d2p_sock_path(sock, sizeof(sock), poll_mode ? "blk-poll" : "blk-event");
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    snprintf(img, sizeof(img), "%s", path);
    struct d2p_shared *sh = d2p_shared_map();
    assert_non_null(sh);
    static struct blk_side side;
    side.path = path;
    struct d2p_device dv = {
        .setup = blk_setup, .tick = blk_tick, .finish = blk_finish, .ctx = &side};
    pid_t pid = d2p_spawn(sock, poll_mode, &dv, sh);
    assert_true(pid > 0);
    int r = d2p_attach(&drv, sock, poll_mode, BUF);
    struct xcv_blk_drv_config bc = {.dev_num = 0, .pool = &drv.pool, .queue_size = 128};
    if (r == XCV_OK)
        r = xcv_blk_drv_open(&blk, &drv.ch, &bc);
    if (r != XCV_OK) {
        d2p_reap(pid, 100);
        unlink(path);
        fail_msg("attach/open: %s", xcv_strerror(r));
    }
    uint32_t pool_full = xcv_pool_available(&drv.pool);

    /* Config and id. */
    assert_int_equal(xcv_blk_drv_capacity(&blk), DISK_SECTORS);
    uint64_t f = xcv_blk_drv_features(&blk);
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_FLUSH));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_DISCARD));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_BLK_F_WRITE_ZEROES));
    struct xcv_blk_req idreq;
    assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_GET_ID, 0, NULL, 0, &idreq), XCV_OK);
    assert_memory_equal(idreq.id, ID, sizeof(ID) - 1u);
    assert_int_equal(idreq.id[sizeof(ID) - 1u], 0);

    /* A fresh sparse image reads as zeroes. */
    expect(0, BUF, -1);
    expect(DISK_SECTORS - 8u, BUF, -1);

    /* Writes at the start, at an odd sector, at the very end; read back. */
    write_pattern(0, BUF, 1);
    write_pattern(7, BUF, 2);
    write_pattern(DISK_SECTORS - 8u, BUF, 3);
    write_pattern(DISK_SECTORS - 1u, 512, 4);
    expect(0, 7u * 512u, 1);
    expect(7, BUF, 2);
    expect(DISK_SECTORS - 8u, 7u * 512u, 3);
    expect(DISK_SECTORS - 1u, 512, 4);

    /* Multi-segment: written as 4096 + 512 + 1536 bytes, read back as 2048 + 4096. */
    {
        struct xcv_sg w[3], rd[2];
        uint8_t *wp[3] = {buf_alloc(&w[0], 4096), buf_alloc(&w[1], 512), buf_alloc(&w[2], 1536)};
        uint8_t all[6144];
        pattern(all, sizeof(all), 1000, 9);
        memcpy(wp[0], all, 4096);
        memcpy(wp[1], all + 4096, 512);
        memcpy(wp[2], all + 4608, 1536);
        assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_OUT, 1000, w, 3, NULL), XCV_OK);
        uint8_t *rp[2] = {buf_alloc(&rd[0], 2048), buf_alloc(&rd[1], 4096)};
        assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_IN, 1000, rd, 2, NULL), XCV_OK);
        assert_memory_equal(rp[0], all, 2048);
        assert_memory_equal(rp[1], all + 2048, 4096);
        for (unsigned i = 0; i < 3; i++)
            buf_free(wp[i]);
        buf_free(rp[0]);
        buf_free(rp[1]);
    }

    /* Many requests in flight: 32 writes of 4 KiB, then 32 reads, all checked. */
    {
        enum {
            N = 32
        };
        static struct xcv_blk_req req[N];
        struct xcv_sg sg[N];
        uint8_t *p[N];
        for (unsigned i = 0; i < N; i++) {
            p[i] = buf_alloc(&sg[i], BUF);
            pattern(p[i], BUF, 2048u + 8u * i, 20u + i);
            req[i].user = (void *)(uintptr_t)i;
            assert_int_equal(
                xcv_blk_drv_submit(&blk, &req[i], XCV_VIRTIO_BLK_T_OUT, 2048u + 8u * i, &sg[i], 1),
                XCV_OK);
        }
        for (int pass = 0; pass < 2; pass++) {
            assert_int_equal(xcv_blk_drv_kick(&blk), XCV_OK);
            unsigned done = 0;
            uint64_t deadline = d2p_now() + 5000000000ull;
            while (done < N) {
                struct xcv_blk_req *c;
                r = xcv_blk_drv_complete(&blk, &c);
                if (r == XCV_EAGAIN) {
                    assert_true(d2p_now() < deadline);
                    assert_int_equal(d2p_wait(&drv, xcv_vdrv_queue(&blk.vdrv, 0), 20), XCV_OK);
                    continue;
                }
                assert_int_equal(r, XCV_OK);
                assert_int_equal(c->result, XCV_OK);
                unsigned i = (unsigned)(uintptr_t)c->user;
                if (pass == 1) {
                    uint8_t want[BUF];
                    pattern(want, BUF, 2048u + 8u * i, 20u + i);
                    assert_memory_equal(p[i], want, BUF);
                }
                done++;
            }
            if (pass == 0) {
                for (unsigned i = 0; i < N; i++) {
                    memset(p[i], 0, BUF);
                    assert_int_equal(xcv_blk_drv_submit(&blk, &req[i], XCV_VIRTIO_BLK_T_IN,
                                                        2048u + 8u * i, &sg[i], 1),
                                     XCV_OK);
                }
            }
        }
        for (unsigned i = 0; i < N; i++)
            buf_free(p[i]);
    }

    /* Flush. */
    assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), XCV_OK);

    /* Discard: two ranges inside written data; neighbours keep their bytes. */
    for (unsigned i = 0; i < 8; i++)
        write_pattern(4096u + 8u * i, BUF, 40u + i);
    const uint64_t disc[2][3] = {{4096u + 8u, 8, 0}, {4096u + 40u, 16, 0}};
    assert_int_equal(dwz(XCV_VIRTIO_BLK_T_DISCARD, disc, 2), XCV_OK);
    for (unsigned i = 0; i < 8; i++)
        expect(4096u + 8u * i, BUF, (i == 1u || i == 5u || i == 6u) ? -1 : (int64_t)(40u + i));

    /* Write zeroes, without and with unmap, in one request. */
    for (unsigned i = 0; i < 4; i++)
        write_pattern(5000u + 8u * i, BUF, 60u + i);
    const uint64_t wz[2][3] = {{5000u + 8u, 8, 0}, {5000u + 24u, 8, XCV_VIRTIO_BLK_WZ_F_UNMAP}};
    assert_int_equal(dwz(XCV_VIRTIO_BLK_T_WRITE_ZEROES, wz, 2), XCV_OK);
    expect(5000u, BUF, 60);
    expect(5008u, BUF, -1);
    expect(5016u, BUF, 62);
    expect(5024u, BUF, -1);

    /* Refused before reaching the device: past the end, and unmap on a discard (UNSUPP). */
    {
        struct xcv_sg sg;
        uint8_t *p = buf_alloc(&sg, 1024);
        struct xcv_blk_req req;
        assert_int_equal(
            xcv_blk_drv_submit(&blk, &req, XCV_VIRTIO_BLK_T_IN, DISK_SECTORS - 1u, &sg, 1),
            XCV_EINVAL);
        buf_free(p);
        const uint64_t bad[1][3] = {{0, 8, XCV_VIRTIO_BLK_WZ_F_UNMAP}};
        assert_int_equal(dwz(XCV_VIRTIO_BLK_T_DISCARD, bad, 1), XCV_ENOTSUP);
        const uint64_t past[1][3] = {{DISK_SECTORS - 4u, 8, 0}};
        assert_int_equal(dwz(XCV_VIRTIO_BLK_T_WRITE_ZEROES, past, 1), XCV_EIO);
    }

    /* The image shrinks under the device: reads past the new end fail with IOERR, reads before
     * it still work; once the size is back, the lost range reads as zeroes. */
    write_pattern(12000, BUF, 77);
    assert_int_equal(truncate(path, DISK_BYTES / 2u), 0);
    {
        struct xcv_sg sg;
        uint8_t *p = buf_alloc(&sg, BUF);
        assert_int_equal(blk_do(XCV_VIRTIO_BLK_T_IN, 12000, &sg, 1, NULL), XCV_EIO);
        buf_free(p);
    }
    expect(0, 7u * 512u, 1);
    assert_int_equal(truncate(path, DISK_BYTES), 0);
    expect(12000, BUF, -1);

    /* Every pool buffer is back (headers and data). */
    assert_int_equal(xcv_pool_available(&drv.pool), pool_full);
    d2p_detach(&drv);
    assert_int_equal(d2p_reap(pid, 5000), 0);

    /* The device's counters: one IOERR from the backend, one from the model (range), one
     * UNSUPP; the file backend deallocated or zeroed the discarded ranges. */
    assert_int_equal(sh->setup_rc, 0);
    assert_int_equal(sh->c[C_IOERR], 2);
    assert_int_equal(sh->c[C_UNSUPP], 1);
    assert_int_equal(sh->c[C_FERRORS], 1);
    assert_true(sh->c[C_FLUSHES] >= 1u);
    assert_int_equal(sh->c[C_PUNCHED] + sh->c[C_ZRANGE] + sh->c[C_ZWRITE], 24u + 16u);
    assert_true(sh->c[C_REQUESTS] > 100u);

    /* The image file itself holds what the driver wrote. */
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t got[BUF], want[BUF];
    assert_int_equal(pread(fd, got, BUF, 7 * 512), BUF);
    pattern(want, BUF, 7, 2);
    assert_memory_equal(got, want, BUF);
    assert_int_equal(pread(fd, got, BUF, 1000 * 512), BUF); /* the multi-segment write */
    pattern(want, BUF, 1000, 9);
    assert_memory_equal(got, want, BUF);
    assert_int_equal(pread(fd, got, BUF, (2048u + 8u * 31u) * 512u), BUF); /* the last async one */
    pattern(want, BUF, 2048u + 8u * 31u, 20u + 31u);
    assert_memory_equal(got, want, BUF);
    /* The end of the image was cut by the truncation and came back as a hole. */
    assert_int_equal(pread(fd, got, BUF, (DISK_SECTORS - 8u) * 512u), BUF);
    memset(want, 0, BUF);
    assert_memory_equal(got, want, BUF);
    assert_int_equal(pread(fd, got, BUF, (4096u + 8u) * 512u), BUF);
    memset(want, 0, BUF);
    assert_memory_equal(got, want, BUF);
    close(fd);
    unlink(path);
    d2p_shared_unmap(sh);
}

static void test_blk_event(void **state)
{
    (void)state;
    run(false);
}

static void test_blk_poll(void **state)
{
    (void)state;
    run(true);
}

/* ---- the backend alone (one process) ---- */

static void test_backend_checks(void **state)
{
    (void)state;
    char path[] = "/tmp/xcv-d2p-bk-XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    snprintf(img, sizeof(img), "%s", path);
    struct xcv_linux_blk_file f;

    /* Arguments. */
    assert_int_equal(xcv_linux_blk_file_open(NULL, path, 4096, 0), XCV_EINVAL);
    assert_int_equal(xcv_linux_blk_file_open(&f, NULL, 4096, 0), XCV_EINVAL);
    assert_int_equal(f.fd, -1);
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 1000, XCV_LINUX_BLK_CREATE), XCV_EINVAL);
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 4096, 0x80u), XCV_EINVAL);
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 0, XCV_LINUX_BLK_CREATE), XCV_EINVAL);
    assert_int_equal(xcv_linux_blk_file_open(&f, "/tmp", 0, XCV_LINUX_BLK_READ_ONLY), XCV_EINVAL);
    assert_int_equal(xcv_linux_blk_file_open(&f, "/nonexistent/x.img", 4096, 0), XCV_EPORT);

    /* Created sparse at the size asked; never resized afterwards. */
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 64u * 512u, XCV_LINUX_BLK_CREATE), XCV_OK);
    assert_int_equal(f.capacity, 64);
    xcv_linux_blk_file_close(&f);
    xcv_linux_blk_file_close(&f); /* idempotent */
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 128u * 512u, XCV_LINUX_BLK_CREATE),
                     XCV_EINVAL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 64 * 512);

    /* Range and segment checks. */
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 0, XCV_LINUX_BLK_NO_PUNCH), XCV_OK);
    const struct xcv_blk_backend_ops *ops = &xcv_linux_blk_file_ops;
    uint8_t a[1024], b[1024];
    for (unsigned i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(i * 31u + 7u);
    struct xcv_iov v[2] = {{a, 512}, {a + 512, 512}};
    assert_int_equal(ops->write(&f, 62, 2, v, 2), XCV_OK);
    assert_int_equal(ops->write(&f, 63, 2, v, 2), XCV_EIO);         /* past the end */
    assert_int_equal(ops->write(&f, UINT64_MAX, 1, v, 1), XCV_EIO); /* overflow */
    assert_int_equal(ops->write(&f, 0, 1, v, 2), XCV_EIO);          /* 1024 bytes for 512 */
    struct xcv_iov rv[3] = {{b, 100}, {b + 100, 0}, {b + 100, 924}};
    assert_int_equal(ops->read(&f, 62, 2, rv, 3), XCV_OK);
    assert_memory_equal(a, b, sizeof(a));
    assert_int_equal(f.stats.errors, 3);
    /* NO_PUNCH: a discard zeroes without deallocating. */
    assert_int_equal(ops->discard(&f, 63, 1), XCV_OK);
    assert_int_equal(f.stats.punched, 0);
    assert_int_equal(f.stats.zero_ranged + f.stats.zero_written, 1);
    assert_int_equal(ops->read(&f, 62, 2, rv, 3), XCV_OK);
    assert_memory_equal(a, b, 512);
    memset(a, 0, 512);
    assert_memory_equal(a, b + 512, 512);
    assert_int_equal(ops->flush(&f), XCV_OK);
    xcv_linux_blk_file_close(&f);
    assert_int_equal(ops->read(&f, 0, 1, rv, 3), XCV_EIO); /* closed */

    /* Read-only: reads work, every change fails. */
    assert_int_equal(xcv_linux_blk_file_open(&f, path, 0, XCV_LINUX_BLK_READ_ONLY), XCV_OK);
    assert_true(f.read_only);
    assert_int_equal(ops->read(&f, 62, 2, rv, 3), XCV_OK);
    assert_int_equal(ops->write(&f, 0, 1, v, 1), XCV_EIO);
    assert_int_equal(ops->discard(&f, 0, 1), XCV_EIO);
    assert_int_equal(ops->write_zeroes(&f, 0, 1, false), XCV_EIO);
    assert_int_equal(f.stats.errors, 3);
    assert_int_equal(f.stats.last_errno, EROFS);
    xcv_linux_blk_file_close(&f);
    unlink(path);
}

static void test_entropy(void **state)
{
    (void)state;
    uint8_t a[256], b[256];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    assert_int_equal(xcv_linux_rng_entropy(NULL, a, sizeof(a)), (int)sizeof(a));
    assert_int_equal(xcv_linux_rng_entropy(NULL, b, sizeof(b)), (int)sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(xcv_linux_rng_entropy(NULL, NULL, 4), XCV_EINVAL);
    assert_int_equal(xcv_linux_rng_entropy(NULL, a, 0), XCV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_backend_checks, blk_teardown),
        cmocka_unit_test(test_entropy),
        cmocka_unit_test_teardown(test_blk_event, blk_teardown),
        cmocka_unit_test_teardown(test_blk_poll, blk_teardown),
    };
    return cmocka_run_group_tests_name("devices2p_blk", tests, NULL, NULL);
}
