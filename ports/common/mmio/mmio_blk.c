/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio driver test: QEMU's virtio-blk-device (a raw 1 MiB image made by mmio_disk.py
 * with a known pattern per sector, serial "xcvdisk0") driven by the library's blk driver over
 * the virtio-mmio transport:
 *   - capacity from config space, the GET_ID string;
 *   - every sector read (16 sectors per request, two data segments) and its pattern checked;
 *   - sector 1000 written, then sectors 999..1001 read back (mmio_disk.py check verifies the
 *     image file afterwards);
 *   - FLUSH when negotiated;
 *   - a batch of single-sector reads in flight at once (published with one kick) that fills
 *     the ring, the last one through an indirect table, each checked;
 *   - a request past the end refused by the driver.
 */
#include "mmio_common.h"

#include "xcvirtio/dev_blk.h"
#include "xcvirtio/error.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/virtio.h"

#define SECTOR XCV_VIRTIO_BLK_SECTOR_SIZE
#define DISK_SECTORS 2048u
#define WRITTEN_SECTOR 1000u
#define CHUNK_SECTORS 16u
#define POOL_BUF 4096u
#define POOL_N 32u
#define BATCH_MAX 24u

static uint8_t dma_area[256u * 1024u] __attribute__((aligned(4096)));
static uint8_t pool_mem[POOL_N * POOL_BUF] __attribute__((aligned(4096)));
static uint32_t pool_free[POOL_N];
static struct xcv_mmio mmio;
static struct xcv_pool pool;
static struct xcv_blk_drv blk;
static uint8_t buf[CHUNK_SECTORS * SECTOR];
static struct xcv_blk_req reqs[BATCH_MAX];
static uint8_t batch_data[BATCH_MAX][SECTOR] __attribute__((aligned(64)));

/* Expected bytes of a sector (see mmio_disk.py). */
static uint8_t pattern_byte(uint32_t s, uint32_t j)
{
    static const uint8_t tag[4] = {'X', 'C', 'V', 'B'};
    if (j < 4u)
        return (uint8_t)(s >> (8u * j));
    if (j < 8u)
        return tag[j - 4u];
    return (uint8_t)(s * 37u + j * 11u);
}

static uint8_t written_byte(uint32_t j)
{
    return (uint8_t)(j * 3u + 0x5au);
}

static int check_sector(const uint8_t *p, uint32_t s, bool written)
{
    for (uint32_t j = 0; j < SECTOR; j++) {
        uint8_t want = written ? written_byte(j) : pattern_byte(s, j);
        if (p[j] != want) {
            mmio_say("FAIL: sector", s);
            mmio_say("  byte", j);
            mmio_say("  got", p[j]);
            mmio_say("  want", want);
            return 1;
        }
    }
    return 0;
}

/* Take one completed request, polling the transport; bounded by the test timeout. */
static int wait_complete(struct xcv_blk_req **done)
{
    uint64_t deadline = mmio_now_ns() + MMIO_TEST_TIMEOUT_NS;
    for (;;) {
        int r = xcv_blk_drv_complete(&blk, done);
        if (r != XCV_EAGAIN)
            return r;
        r = xcv_vdrv_poll(&blk.vdrv, 16);
        if (r < 0)
            return r;
        if (mmio_now_ns() > deadline)
            return XCV_ETIMEDOUT;
    }
}

static int sync_request(struct xcv_blk_req *req, uint32_t type)
{
    int r = xcv_blk_drv_submit(&blk, req, type, 0, NULL, 0);
    if (r == XCV_OK)
        r = xcv_blk_drv_kick(&blk);
    struct xcv_blk_req *done = NULL;
    if (r == XCV_OK)
        r = wait_complete(&done);
    if (r == XCV_OK && done != req)
        r = XCV_EPROTO_DEVICE;
    return r == XCV_OK ? req->result : r;
}

static int read_whole_disk(void)
{
    for (uint32_t s = 0; s < DISK_SECTORS; s += CHUNK_SECTORS) {
        int r = xcv_blk_drv_rw_sync(&blk, false, s, buf, sizeof(buf));
        if (mmio_check("read chunk", r, XCV_OK)) {
            mmio_say("  at sector", s);
            return 1;
        }
        for (uint32_t i = 0; i < CHUNK_SECTORS; i++) {
            if (check_sector(buf + (size_t)i * SECTOR, s + i, false))
                return 1;
        }
    }
    return 0;
}

static int write_and_read_back(void)
{
    for (uint32_t j = 0; j < SECTOR; j++)
        buf[j] = written_byte(j);
    if (mmio_check("write sector", xcv_blk_drv_rw_sync(&blk, true, WRITTEN_SECTOR, buf, SECTOR),
                   XCV_OK))
        return 1;
    for (uint32_t j = 0; j < 3u * SECTOR; j++)
        buf[j] = 0;
    if (mmio_check("read back",
                   xcv_blk_drv_rw_sync(&blk, false, WRITTEN_SECTOR - 1u, buf, 3u * SECTOR), XCV_OK))
        return 1;
    return check_sector(buf, WRITTEN_SECTOR - 1u, false) ||
           check_sector(buf + SECTOR, WRITTEN_SECTOR, true) ||
           check_sector(buf + (size_t)2u * SECTOR, WRITTEN_SECTOR + 1u, false);
}

/* Post single-sector reads (3 descriptors each) until the 64-entry ring is full, publish them
 * with one kick, then collect and check every one. 21 requests fill 63 descriptors; with
 * INDIRECT_DESC negotiated the 22nd goes out as an indirect table in the last descriptor. */
static int batch_reads(bool indirect)
{
    unsigned n = 0;
    while (n < BATCH_MAX) {
        struct xcv_sg sg = {.addr = (uint64_t)(uintptr_t)batch_data[n], .len = SECTOR};
        reqs[n].user = batch_data[n];
        int r = xcv_blk_drv_submit(&blk, &reqs[n], XCV_VIRTIO_BLK_T_IN, 7u * n + 3u, &sg, 1);
        if (r == XCV_ENOSPC)
            break;
        if (mmio_check("batch submit", r, XCV_OK))
            return 1;
        n++;
    }
    mmio_say("requests in one batch", n);
    if (mmio_check("batch size (21 direct, +1 indirect)", (int)n, indirect ? 22 : 21) ||
        mmio_check("batch kick", xcv_blk_drv_kick(&blk), XCV_OK))
        return 1;
    unsigned seen = 0;
    int bad = 0;
    for (unsigned k = 0; k < n; k++) {
        struct xcv_blk_req *done = NULL;
        int r = wait_complete(&done);
        if (mmio_check("batch complete", r, XCV_OK))
            return 1;
        unsigned i = (unsigned)(done - reqs);
        if (i >= n || (seen & (1u << i)) != 0u)
            return mmio_check("batch request identity", (int)i, -1);
        seen |= 1u << i;
        bad |= mmio_check("batch result", done->result, XCV_OK);
        bad |= check_sector((const uint8_t *)done->user, 7u * i + 3u, false);
    }
    return bad;
}

int MMIO_MAIN(uint64_t boot_arg)
{
    (void)boot_arg;
    if (mmio_platform_init("mmio-blk") != 0)
        return 2;
    int slot = mmio_find(&mmio, XCV_VIRTIO_ID_BLOCK, dma_area, sizeof(dma_area));
    if (mmio_check("find virtio-blk", slot < 0 ? slot : 0, 0))
        return 3;
    struct xcv_window pw;
    if (mmio_check("pool window",
                   xcv_window_init(&pw, pool_mem, (uint64_t)(uintptr_t)pool_mem, sizeof(pool_mem)),
                   XCV_OK) ||
        mmio_check("pool", xcv_pool_init(&pool, &pw, POOL_BUF, pool_free, POOL_N), XCV_OK))
        return 4;

    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&mmio, &t);
    struct xcv_blk_drv_config bc = {.pool = &pool, .queue_size = 64, .indirect_max = 8};
    if (mmio_check("blk open", xcv_blk_drv_open_on(&blk, &t, &bc), XCV_OK))
        return 5;
    uint64_t f = xcv_blk_drv_features(&blk);
    mmio_say("features lo", (int64_t)(uint32_t)f);
    mmio_say("features hi", (int64_t)(f >> 32));
    mmio_say("capacity (sectors)", (int64_t)xcv_blk_drv_capacity(&blk));
    bool v1 = (f & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) != 0u;
    if (mmio_check("VERSION_1 negotiated iff modern", v1, MMIO_EXPECT_VERSION == 2) ||
        mmio_check("capacity", (int)xcv_blk_drv_capacity(&blk), (int)DISK_SECTORS))
        return 6;

    struct xcv_blk_req idreq = {0};
    if (mmio_check("GET_ID", sync_request(&idreq, XCV_VIRTIO_BLK_T_GET_ID), XCV_OK))
        return 7;
    static const char serial[] = "xcvdisk0";
    for (unsigned i = 0; i < sizeof(serial); i++) {
        uint8_t want = i + 1u < sizeof(serial) ? (uint8_t)serial[i] : 0u;
        if (idreq.id[i] != want)
            return 7 + mmio_check("GET_ID string byte", idreq.id[i], want);
    }

    uint64_t t0 = mmio_now_ns();
    if (read_whole_disk() != 0)
        return 8;
    mmio_say("whole disk read and checked, us", (int64_t)((mmio_now_ns() - t0) / 1000u));
    if (write_and_read_back() != 0)
        return 9;
    if (f & XCV_FEATURE(XCV_VIRTIO_BLK_F_FLUSH)) {
        struct xcv_blk_req fl = {0};
        if (mmio_check("FLUSH", sync_request(&fl, XCV_VIRTIO_BLK_T_FLUSH), XCV_OK))
            return 10;
        mmio_say("flush ok", 1);
    }
    if (batch_reads((f & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)) != 0u) != 0)
        return 11;

    struct xcv_sg past = {.addr = (uint64_t)(uintptr_t)pool_mem, .len = SECTOR};
    struct xcv_blk_req pr = {0};
    if (mmio_check("read past the end",
                   xcv_blk_drv_submit(&blk, &pr, XCV_VIRTIO_BLK_T_IN, DISK_SECTORS, &past, 1),
                   XCV_EINVAL) ||
        mmio_check("pool buffers all returned", (int)xcv_pool_available(&pool), (int)POOL_N) ||
        mmio_check("transport healthy", xcv_mmio_broken(&mmio), 0))
        return 12;
    mmio_puts("mmio-blk: PASS\n");
    return 0;
}
