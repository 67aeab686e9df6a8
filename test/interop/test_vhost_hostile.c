/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user backend against frontends written by the test: a correct one (the library's
 * driver-role ring on a memfd the test shares, moving real virtio-blk requests), and hostile
 * ones: bad memory tables, ring addresses outside the regions, bad indices, malformed messages.
 * Each hostile case must end with the connection dropped, a clear reason in the backend's
 * stats, and the backend accepting the next connection and serving it.
 *
 * One thread plays both sides: the test sends on its socket, then pumps the backend
 * (xcv_vhost_user_run) and reads what came back. No external peer, all bounded.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vu_frontend.h"
#include "xcvirtio/vhost_user.h"
#include "xcvirtio/xcvirtio.h"

#define MEM_SIZE (1u << 20)
#define GPA_BASE UINT64_C(0x100000000)
#define UVA_BASE UINT64_C(0x7f1200000000) /* the frontend's (claimed) virtual address */
#define RING_OFF 0x1000u
#define DATA_OFF 0x10000u
#define QNUM 64u
#define DISK_BYTES (256u * 1024u)
#define TIMEOUT_MS 2000

struct fx {
    char dir[64];
    char path[96];
    struct xcv_blk_dev blk;
    struct xcv_blk_mem mem;
    uint8_t *disk;
    struct xcv_vhost_user vu;
    /* the frontend */
    int sock;
    int memfd;
    uint8_t *mem_local;
    int kick, call, err;
    struct xcv_vring_layout lay;
    struct xcv_vq_driver drv;
    struct xcv_vq_drv_slot slots[QNUM];
    unsigned log_errors;
    int fds_at_start;
};

/* Open descriptors of this process: every test must end with as many as it started with. */
static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void quiet_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    struct fx *f = (struct fx *)ctx;
    (void)what;
    (void)id;
    (void)err;
    if (level == XCV_LOG_ERROR)
        f->log_errors++;
}

/* Let the backend handle what is pending (accept, messages, kicks). */
static void pump(struct fx *f)
{
    /* Whatever the test sent is already in the socket or eventfd: no need to wait. */
    for (int i = 0; i < 16; i++) {
        if (xcv_vhost_user_run(&f->vu, 0) == 0 && i > 0)
            break;
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->fds_at_start = count_fds();
    strcpy(f->dir, "/tmp/xcv-vu-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/vu.sock", f->dir);
    f->disk = calloc(1, DISK_BYTES);
    assert_non_null(f->disk);
    f->mem.base = f->disk;
    f->mem.size = DISK_BYTES;
    struct xcv_blk_dev_config bc = {
        .capacity = DISK_BYTES / 512u,
        .ops = &xcv_blk_mem_ops,
        .backend_ctx = &f->mem,
        .queue_size = QNUM,
        .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
    };
    assert_int_equal(xcv_blk_dev_init(&f->blk, NULL, &bc), 0);
    struct xcv_vhost_user_config vc = {
        .path = f->path,
        .dev = xcv_blk_dev_vdev(&f->blk),
        .io_timeout_ms = 200,
        .log = quiet_log,
        .log_ctx = f,
    };
    assert_int_equal(xcv_vhost_user_listen(&f->vu, &vc), XCV_OK);
    f->sock = f->memfd = f->kick = f->call = f->err = -1;
    f->memfd = memfd_create("xcv-vu-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(f->memfd >= 0);
    assert_int_equal(ftruncate(f->memfd, MEM_SIZE), 0);
    f->mem_local = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
    assert_true(f->mem_local != MAP_FAILED);
    *state = f;
    return 0;
}

static void fe_close(struct fx *f)
{
    if (f->sock >= 0)
        close(f->sock);
    if (f->kick >= 0)
        close(f->kick);
    if (f->call >= 0)
        close(f->call);
    if (f->err >= 0)
        close(f->err);
    f->sock = f->kick = f->call = f->err = -1;
}

static int teardown(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_close(f);
    xcv_vhost_user_close(&f->vu);
    munmap(f->mem_local, MEM_SIZE);
    close(f->memfd);
    rmdir(f->dir);
    free(f->disk);
    /* Nothing the backend received (memory, kick, call, err descriptors) is left open. */
    int leaked = count_fds() - f->fds_at_start;
    free(f);
    if (leaked != 0)
        fprintf(stderr, "descriptor leak: %d\n", leaked);
    return leaked != 0 ? -1 : 0;
}

/* ---- frontend steps ---- */

static void fe_connect(struct fx *f)
{
    f->sock = vu_fe_connect(f->path);
    assert_true(f->sock >= 0);
    pump(f);
    assert_true(xcv_vhost_user_connected(&f->vu));
}

static uint64_t fe_get_u64(struct fx *f, uint32_t req)
{
    assert_int_equal(vu_fe_send(f->sock, req, NULL, 0, NULL, 0, false), 0);
    pump(f);
    struct xcv_vhost_user_hdr h;
    uint64_t v = 0;
    assert_int_equal(vu_fe_recv(f->sock, &h, &v, sizeof(v), TIMEOUT_MS), 1);
    assert_int_equal(h.request, req);
    assert_int_equal(h.flags, XCV_VHOST_USER_VERSION | XCV_VHOST_USER_FLAG_REPLY);
    assert_int_equal(h.size, 8);
    return v;
}

/* Send a request that has no reply of its own; with REPLY_ACK ask for the ack and check it. */
static void fe_set(struct fx *f, uint32_t req, const void *p, uint32_t len, const int *fds,
                   unsigned nfds)
{
    assert_int_equal(vu_fe_send(f->sock, req, p, len, fds, nfds, true), 0);
    pump(f);
    struct xcv_vhost_user_hdr h;
    uint64_t v = 99;
    assert_int_equal(vu_fe_recv(f->sock, &h, &v, sizeof(v), TIMEOUT_MS), 1);
    assert_int_equal(h.request, req);
    assert_int_equal(v, 0);
}

static void fe_set_u64(struct fx *f, uint32_t req, uint64_t v)
{
    fe_set(f, req, &v, sizeof(v), NULL, 0);
}

static void fe_state(struct fx *f, uint32_t req, uint32_t index, uint32_t num)
{
    struct xcv_vhost_user_vring_state st = {index, num};
    fe_set(f, req, &st, sizeof(st), NULL, 0);
}

/* Negotiate: features (VERSION_1, EVENT_IDX, protocol features), protocol features with
 * REPLY_ACK and CONFIG, owner. */
static void fe_negotiate(struct fx *f)
{
    uint64_t feat = fe_get_u64(f, XCV_VHOST_USER_GET_FEATURES);
    assert_true(feat & XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES));
    assert_true(feat & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1));
    uint64_t pf = fe_get_u64(f, XCV_VHOST_USER_GET_PROTOCOL_FEATURES);
    uint64_t want = XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                    XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_CONFIG) |
                    XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_MQ);
    assert_int_equal(pf & want, want);
    uint64_t v = want;
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0, false), 0);
    pump(f);
    assert_int_equal(fe_get_u64(f, XCV_VHOST_USER_GET_QUEUE_NUM), 1);
    fe_set(f, XCV_VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    fe_set_u64(f, XCV_VHOST_USER_SET_FEATURES,
               XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                   XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES));
}

static void fe_mem_table(struct fx *f)
{
    struct xcv_vhost_user_mem_table mt = {.nregions = 1};
    mt.regions[0] = (struct xcv_vhost_user_region){GPA_BASE, MEM_SIZE, UVA_BASE, 0};
    fe_set(f, XCV_VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, &f->memfd, 1);
}

/* Place the ring in the shared memory, tell the backend, start and enable it. */
static void fe_ring(struct fx *f, uint16_t base)
{
    memset(f->mem_local, 0, MEM_SIZE);
    assert_int_equal(
        xcv_vring_layout(f->mem_local + RING_OFF, GPA_BASE + RING_OFF, QNUM, 64, &f->lay), XCV_OK);
    struct xcv_vq_driver_config dc = {
        .ring = &f->lay,
        .slots = f->slots,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
    };
    assert_int_equal(xcv_vq_driver_init(&f->drv, &dc), XCV_OK);
    fe_state(f, XCV_VHOST_USER_SET_VRING_NUM, 0, QNUM);
    fe_state(f, XCV_VHOST_USER_SET_VRING_BASE, 0, base);
    struct xcv_vhost_user_vring_addr a = {
        .index = 0,
        .desc = UVA_BASE + (f->lay.desc_bus - GPA_BASE),
        .used = UVA_BASE + (f->lay.used_bus - GPA_BASE),
        .avail = UVA_BASE + (f->lay.avail_bus - GPA_BASE),
    };
    fe_set(f, XCV_VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t idx = 0;
    fe_set(f, XCV_VHOST_USER_SET_VRING_CALL, &idx, 8, &f->call, 1);
    fe_set(f, XCV_VHOST_USER_SET_VRING_ERR, &idx, 8, &f->err, 1);
    fe_set(f, XCV_VHOST_USER_SET_VRING_KICK, &idx, 8, &f->kick, 1);
    assert_false(xcv_vhost_user_queue_running(&f->vu, 0)); /* protocol features: disabled */
    fe_state(f, XCV_VHOST_USER_SET_VRING_ENABLE, 0, 1);
    assert_true(xcv_vhost_user_queue_running(&f->vu, 0));
}

static uint64_t read_efd(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return 0;
    return v;
}

/* One blk request through the ring: write (or read) one sector. Returns the status byte. */
static uint8_t fe_blk(struct fx *f, bool wr, uint64_t sector, uint8_t *data512)
{
    uint8_t *buf = f->mem_local + DATA_OFF;
    uint64_t bus = GPA_BASE + DATA_OFF;
    memset(buf, 0, 1024);
    xcv_le32_store(buf, wr ? XCV_VIRTIO_BLK_T_OUT : XCV_VIRTIO_BLK_T_IN);
    xcv_le64_store(buf + 8, sector);
    if (wr)
        memcpy(buf + 16, data512, 512);
    buf[600] = 0xee;
    struct xcv_sg sg[3] = {{bus, 16}, {bus + 16, 512}, {bus + 600, 1}};
    assert_int_equal(xcv_vq_driver_add(&f->drv, sg, wr ? 2 : 1, wr ? 1 : 2, buf), XCV_OK);
    if (xcv_vq_driver_kick_prepare(&f->drv) == 1) {
        uint64_t one = 1;
        assert_int_equal(write(f->kick, &one, 8), 8);
    }
    pump(f);
    void *tok = NULL;
    uint32_t len = 0;
    assert_int_equal(xcv_vq_driver_get_used(&f->drv, &tok, &len), XCV_OK);
    assert_ptr_equal(tok, buf);
    if (!wr)
        memcpy(data512, buf + 16, 512);
    return buf[600];
}

/* The whole correct session, up to a running ring. */
static void fe_session(struct fx *f)
{
    fe_connect(f);
    fe_negotiate(f);
    fe_mem_table(f);
    fe_ring(f, 0);
}

/* After a hostile step: the connection is gone with @reason, and a new frontend is served. */
static void expect_dropped(struct fx *f, const char *reason)
{
    pump(f);
    assert_true(vu_fe_wait_closed(f->sock, TIMEOUT_MS));
    assert_false(xcv_vhost_user_connected(&f->vu));
    const struct xcv_vhost_user_stats *st = xcv_vhost_user_stats(&f->vu);
    assert_non_null(st->last_reason);
    if (strstr(st->last_reason, reason) == NULL)
        fail_msg("dropped for '%s', expected '%s'", st->last_reason, reason);
    assert_true(st->errors >= 1u);
    assert_true(f->log_errors >= 1u);
    fe_close(f);
    /* The backend accepts and serves the next frontend, from a clean state. */
    fe_session(f);
    uint8_t d[512];
    memset(d, 0x5a, sizeof(d));
    assert_int_equal(fe_blk(f, true, 7, d), XCV_VIRTIO_BLK_S_OK);
    assert_int_equal(f->disk[7 * 512 + 100], 0x5a);
}

/* ---- the correct frontend ---- */

static void test_session_io(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_session(f);
    /* GET_CONFIG: capacity, and the part past the model's config reads as zero. */
    struct xcv_vhost_user_config_msg c = {.offset = 0, .size = 72};
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_GET_CONFIG, &c, 12 + 72, NULL, 0, false),
                     0);
    pump(f);
    struct xcv_vhost_user_hdr h;
    struct xcv_vhost_user_config_msg r;
    memset(&r, 0xff, sizeof(r));
    assert_int_equal(vu_fe_recv(f->sock, &h, &r, sizeof(r), TIMEOUT_MS), 1);
    assert_int_equal(h.size, 12 + 72);
    assert_int_equal(r.size, 72);
    assert_int_equal(xcv_le64_load(r.region), DISK_BYTES / 512u);
    assert_int_equal(r.region[71], 0);

    uint8_t d[512], back[512];
    for (unsigned i = 0; i < 512; i++)
        d[i] = (uint8_t)(i * 7u + 1u);
    assert_int_equal(fe_blk(f, true, 3, d), XCV_VIRTIO_BLK_S_OK);
    assert_memory_equal(f->disk + 3 * 512, d, 512);
    assert_true(read_efd(f->call) >= 1u); /* the used notification */
    memset(back, 0, sizeof(back));
    assert_int_equal(fe_blk(f, false, 3, back), XCV_VIRTIO_BLK_S_OK);
    assert_memory_equal(back, d, 512);
    /* Out of range: IOERR from the model, the session goes on. */
    assert_int_equal(fe_blk(f, false, DISK_BYTES / 512u, back), XCV_VIRTIO_BLK_S_IOERR);

    /* Stop: GET_VRING_BASE returns the next available index; resume there. */
    struct xcv_vhost_user_vring_state st = {0, 0};
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, false), 0);
    pump(f);
    assert_int_equal(vu_fe_recv(f->sock, &h, &st, sizeof(st), TIMEOUT_MS), 1);
    assert_int_equal(h.request, XCV_VHOST_USER_GET_VRING_BASE);
    assert_int_equal(st.num, 3);
    assert_false(xcv_vhost_user_queue_running(&f->vu, 0));
    fe_state(f, XCV_VHOST_USER_SET_VRING_BASE, 0, 3);
    close(f->kick);
    f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t idx = 0;
    fe_set(f, XCV_VHOST_USER_SET_VRING_KICK, &idx, 8, &f->kick, 1);
    assert_true(xcv_vhost_user_queue_running(&f->vu, 0));
    memset(back, 0, sizeof(back));
    assert_int_equal(fe_blk(f, false, 3, back), XCV_VIRTIO_BLK_S_OK);
    assert_memory_equal(back, d, 512);

    /* A new memory table while the ring runs: the ring continues on the new mapping. */
    fe_mem_table(f);
    assert_true(xcv_vhost_user_queue_running(&f->vu, 0));
    assert_int_equal(fe_blk(f, true, 4, d), XCV_VIRTIO_BLK_S_OK);
    assert_memory_equal(f->disk + 4 * 512, d, 512);

    /* The frontend goes away with the ring running; the next one is served. */
    const struct xcv_vhost_user_stats *s = xcv_vhost_user_stats(&f->vu);
    fe_close(f);
    pump(f);
    assert_false(xcv_vhost_user_connected(&f->vu));
    assert_int_equal(s->errors, 0);
    assert_int_equal(s->disconnects, 1);
    fe_session(f);
    assert_int_equal(fe_blk(f, false, 4, back), XCV_VIRTIO_BLK_S_OK);
    assert_memory_equal(back, d, 512);
    assert_int_equal(s->connections, 2);
    assert_int_equal(f->log_errors, 0);
}

/* The ring's messages before the memory table: it waits, and runs once the table arrives. */
static void test_ring_before_mem_table(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    fe_negotiate(f);
    memset(f->mem_local, 0, MEM_SIZE);
    assert_int_equal(
        xcv_vring_layout(f->mem_local + RING_OFF, GPA_BASE + RING_OFF, QNUM, 64, &f->lay), XCV_OK);
    struct xcv_vq_driver_config dc = {
        .ring = &f->lay,
        .slots = f->slots,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
    };
    assert_int_equal(xcv_vq_driver_init(&f->drv, &dc), XCV_OK);
    f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t idx = 0;
    fe_set(f, XCV_VHOST_USER_SET_VRING_KICK, &idx, 8, &f->kick, 1);
    fe_state(f, XCV_VHOST_USER_SET_VRING_ENABLE, 0, 1);
    fe_state(f, XCV_VHOST_USER_SET_VRING_NUM, 0, QNUM);
    struct xcv_vhost_user_vring_addr a = {
        .index = 0,
        .desc = UVA_BASE + (f->lay.desc_bus - GPA_BASE),
        .used = UVA_BASE + (f->lay.used_bus - GPA_BASE),
        .avail = UVA_BASE + (f->lay.avail_bus - GPA_BASE),
    };
    fe_set(f, XCV_VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    assert_false(xcv_vhost_user_queue_running(&f->vu, 0));
    fe_mem_table(f);
    assert_true(xcv_vhost_user_queue_running(&f->vu, 0));
    uint8_t d[512];
    memset(d, 0x3c, sizeof(d));
    assert_int_equal(fe_blk(f, true, 9, d), XCV_VIRTIO_BLK_S_OK);
    assert_int_equal(f->disk[9 * 512], 0x3c);
    assert_int_equal(xcv_vhost_user_stats(&f->vu)->errors, 0);
}

/* ---- bad memory tables ---- */

static void send_table(struct fx *f, const struct xcv_vhost_user_region *r, uint32_t n,
                       const int *fds, unsigned nfds)
{
    struct xcv_vhost_user_mem_table mt = {.nregions = n};
    memcpy(mt.regions, r, sizeof(*r) * (n < 8u ? n : 8u));
    uint32_t size = 8u + 32u * (n < 8u ? n : 8u);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_MEM_TABLE, &mt, size, fds, nfds, false),
                     0);
}

static void test_mem_overlap(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    fe_negotiate(f);
    struct xcv_vhost_user_region r[2] = {{GPA_BASE, 0x80000, UVA_BASE, 0},
                                         {GPA_BASE + 0x40000, 0x80000, UVA_BASE + 0x100000, 0}};
    int fds[2] = {f->memfd, f->memfd};
    send_table(f, r, 2, fds, 2);
    expect_dropped(f, "overlap");
}

static void test_mem_overlap_uva(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r[2] = {{GPA_BASE, 0x80000, UVA_BASE, 0},
                                         {GPA_BASE + 0x80000, 0x80000, UVA_BASE + 0x7f000, 0}};
    int fds[2] = {f->memfd, f->memfd};
    send_table(f, r, 2, fds, 2);
    expect_dropped(f, "overlap");
}

static void test_mem_zero_size(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r = {GPA_BASE, 0, UVA_BASE, 0};
    send_table(f, &r, 1, &f->memfd, 1);
    expect_dropped(f, "size zero");
}

static void test_mem_wrap(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r = {UINT64_MAX - 0xfff, 0x2000, UVA_BASE, 0};
    send_table(f, &r, 1, &f->memfd, 1);
    expect_dropped(f, "wraps");
}

static void test_mem_fd_count(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r[2] = {
        {GPA_BASE, 0x80000, UVA_BASE, 0},
        {GPA_BASE + 0x80000, 0x80000, UVA_BASE + 0x80000, 0x80000}};
    send_table(f, r, 2, &f->memfd, 1);
    expect_dropped(f, "fd count");
}

static void test_mem_offset_beyond_file(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r = {GPA_BASE, 0x2000, UVA_BASE, MEM_SIZE - 0x1000};
    send_table(f, &r, 1, &f->memfd, 1);
    expect_dropped(f, "beyond its file");
}

static void test_mem_not_a_file(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    int efd = eventfd(0, EFD_CLOEXEC);
    struct xcv_vhost_user_region r = {GPA_BASE, 0x1000, UVA_BASE, 0};
    send_table(f, &r, 1, &efd, 1);
    close(efd);
    expect_dropped(f, "not a regular file");
}

static void test_mem_too_many_regions(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r[8];
    for (unsigned i = 0; i < 8; i++)
        r[i] = (struct xcv_vhost_user_region){GPA_BASE + i * 0x1000u, 0x1000,
                                              UVA_BASE + i * 0x1000u, i * 0x1000u};
    int fds[8];
    for (unsigned i = 0; i < 8; i++)
        fds[i] = f->memfd;
    send_table(f, r, 9, fds, 8); /* claims 9 regions */
    expect_dropped(f, "region count");
}

static void test_mem_too_many_fds(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_region r = {GPA_BASE, 0x1000, UVA_BASE, 0};
    int fds[12];
    for (unsigned i = 0; i < 12; i++)
        fds[i] = f->memfd;
    send_table(f, &r, 1, fds, 12);
    expect_dropped(f, "too many file descriptors");
}

/* ---- bad rings ---- */

static void ring_prefix(struct fx *f)
{
    fe_connect(f);
    fe_negotiate(f);
    fe_mem_table(f);
}

static void send_addr_and_kick(struct fx *f, uint64_t desc, uint64_t avail, uint64_t used)
{
    fe_state(f, XCV_VHOST_USER_SET_VRING_NUM, 0, QNUM);
    struct xcv_vhost_user_vring_addr a = {.index = 0, .desc = desc, .used = used, .avail = avail};
    fe_set(f, XCV_VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t idx = 0;
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_KICK, &idx, 8, &f->kick, 1, false), 0);
    pump(f);
    struct xcv_vhost_user_vring_state st = {0, 1};
    (void)vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, false);
}

static void test_ring_outside_regions(void **state)
{
    struct fx *f = (struct fx *)*state;
    ring_prefix(f);
    send_addr_and_kick(f, UVA_BASE + RING_OFF, UVA_BASE + MEM_SIZE - 64u, UVA_BASE + 0x8000);
    expect_dropped(f, "ring address outside");
}

static void test_ring_gpa_not_uva(void **state)
{
    struct fx *f = (struct fx *)*state;
    ring_prefix(f);
    /* Guest-physical addresses where frontend virtual ones are due: not inside any region. */
    send_addr_and_kick(f, GPA_BASE + RING_OFF, GPA_BASE + 0x4000, GPA_BASE + 0x8000);
    expect_dropped(f, "ring address outside");
}

static void test_ring_misaligned(void **state)
{
    struct fx *f = (struct fx *)*state;
    ring_prefix(f);
    send_addr_and_kick(f, UVA_BASE + RING_OFF + 8u, UVA_BASE + 0x4000, UVA_BASE + 0x8000);
    expect_dropped(f, "misaligned");
}

static void test_ring_num(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_vring_state st = {0, 48};
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0, false), 0);
    expect_dropped(f, "power of two");
    fe_close(f);
    fe_connect(f);
    st = (struct xcv_vhost_user_vring_state){0, QNUM * 2u};
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0, false), 0);
    expect_dropped(f, "above the maximum");
}

static void test_ring_index(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_vring_state st = {1, 16}; /* blk has one queue */
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0, false), 0);
    expect_dropped(f, "ring index out of range");
    fe_close(f);
    fe_connect(f);
    uint64_t v = 200; /* kick for ring 200 */
    int efd = eventfd(0, EFD_CLOEXEC);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_KICK, &v, 8, &efd, 1, false), 0);
    close(efd);
    expect_dropped(f, "ring index out of range");
    fe_close(f);
    fe_connect(f);
    v = 0x10000; /* unknown bit */
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_CALL, &v, 8, NULL, 0, false), 0);
    expect_dropped(f, "unknown bits");
}

static void test_ring_base_too_big(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    struct xcv_vhost_user_vring_state st = {0, 0x10000};
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0, false), 0);
    expect_dropped(f, "ring base");
}

/* The available index jumps by more than the ring size: the ring breaks, the error eventfd is
 * signalled, the frontend is dropped. */
static void test_avail_jump(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_session(f);
    xcv_le16_store((uint8_t *)f->lay.avail + 2, QNUM + 5u);
    uint64_t one = 1;
    assert_int_equal(write(f->kick, &one, 8), 8);
    int err = f->err;
    f->err = -1; /* keep it across expect_dropped's session */
    pump(f);
    assert_true(read_efd(err) >= 1u);
    close(err);
    assert_int_equal(xcv_vhost_user_stats(&f->vu)->last_error, XCV_EPROTO_AVAIL_IDX);
    expect_dropped(f, "ring broken");
}

static void test_bad_head_and_descriptor(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_session(f);
    /* An available entry naming a head beyond the ring. */
    xcv_le16_store((uint8_t *)f->lay.avail + 4, 999);
    xcv_le16_store((uint8_t *)f->lay.avail + 2, 1);
    uint64_t one = 1;
    assert_int_equal(write(f->kick, &one, 8), 8);
    pump(f);
    assert_int_equal(xcv_vhost_user_stats(&f->vu)->last_error, XCV_EPROTO_HEAD);
    expect_dropped(f, "ring broken");
    /* (expect_dropped left a fresh session) A descriptor pointing outside the regions. */
    uint8_t *d = (uint8_t *)f->lay.desc;
    xcv_le64_store(d, GPA_BASE + MEM_SIZE - 8u);
    xcv_le32_store(d + 8, 64);
    xcv_le16_store(d + 12, XCV_VRING_DESC_F_WRITE);
    uint16_t ai = xcv_le16_load((uint8_t *)f->lay.avail + 2);
    xcv_le16_store((uint8_t *)f->lay.avail + 4 + 2u * (ai % QNUM), 0);
    xcv_le16_store((uint8_t *)f->lay.avail + 2, (uint16_t)(ai + 1u));
    assert_int_equal(write(f->kick, &one, 8), 8);
    pump(f);
    assert_int_equal(xcv_vhost_user_stats(&f->vu)->last_error, XCV_EPROTO_WINDOW);
    expect_dropped(f, "ring broken");
}

/* ---- malformed messages ---- */

static void test_size_too_large(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    uint8_t junk[64] = {0};
    assert_int_equal(vu_fe_send_raw(f->sock, XCV_VHOST_USER_SET_MEM_TABLE, XCV_VHOST_USER_VERSION,
                                    0x100000, junk, sizeof(junk), NULL, 0),
                     0);
    expect_dropped(f, "size field too large");
}

static void test_unknown_request(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    assert_int_equal(vu_fe_send(f->sock, 99, NULL, 0, NULL, 0, false), 0);
    expect_dropped(f, "unknown");
    fe_close(f);
    fe_connect(f);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_LOG_BASE, NULL, 0, NULL, 0, false), 0);
    expect_dropped(f, "unsupported");
}

static void test_bad_version_and_flags(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    assert_int_equal(vu_fe_send_raw(f->sock, XCV_VHOST_USER_GET_FEATURES, 2, 0, NULL, 0, NULL, 0),
                     0);
    expect_dropped(f, "version");
    fe_close(f);
    fe_connect(f);
    assert_int_equal(vu_fe_send_raw(f->sock, XCV_VHOST_USER_GET_FEATURES,
                                    XCV_VHOST_USER_VERSION | XCV_VHOST_USER_FLAG_REPLY, 0, NULL, 0,
                                    NULL, 0),
                     0);
    expect_dropped(f, "reply flag");
}

static void test_wrong_payload_size(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    uint32_t four = 1;
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_FEATURES, &four, 4, NULL, 0, false), 0);
    expect_dropped(f, "payload size");
    fe_close(f);
    fe_connect(f);
    /* Descriptors on a request that takes none. */
    int efd = eventfd(0, EFD_CLOEXEC);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_GET_FEATURES, NULL, 0, &efd, 1, false), 0);
    close(efd);
    expect_dropped(f, "takes none");
}

static void test_truncated_message(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    uint32_t half = 0;
    /* The header announces 8 bytes; only 4 arrive, then nothing (the I/O timeout is 200 ms). */
    assert_int_equal(vu_fe_send_raw(f->sock, XCV_VHOST_USER_SET_FEATURES, XCV_VHOST_USER_VERSION, 8,
                                    &half, 4, NULL, 0),
                     0);
    expect_dropped(f, "timed out");
}

static void test_features_refused(void **state)
{
    struct fx *f = (struct fx *)*state;
    fe_connect(f);
    uint64_t v = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(50);
    /* With REPLY_ACK negotiated and NEED_REPLY set, a refusal is acked as a failure first. */
    uint64_t pf = XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK);
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, true), 0);
    pump(f);
    struct xcv_vhost_user_hdr h;
    uint64_t ack = 0;
    assert_int_equal(vu_fe_recv(f->sock, &h, &ack, sizeof(ack), TIMEOUT_MS), 1);
    assert_int_equal(h.request, XCV_VHOST_USER_SET_FEATURES);
    assert_int_not_equal(ack, 0);
    expect_dropped(f, "not offered");
    fe_close(f);
    fe_connect(f);
    v = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX); /* no VERSION_1 */
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
    expect_dropped(f, "VERSION_1");
}

static void test_ring_fd_not_eventfd(void **state)
{
    struct fx *f = (struct fx *)*state;
    ring_prefix(f);
    fe_state(f, XCV_VHOST_USER_SET_VRING_NUM, 0, QNUM);
    /* A memfd as the kick descriptor. */
    uint64_t idx = 0;
    assert_int_equal(
        vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_KICK, &idx, 8, &f->memfd, 1, false), 0);
    expect_dropped(f, "not an eventfd");
    /* A pipe with no reader as the call descriptor (writing it would raise SIGPIPE). */
    fe_close(f);
    fe_connect(f);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_CALL, &idx, 8, &p[1], 1, false),
                     0);
    close(p[1]);
    expect_dropped(f, "not an eventfd");
    /* The connection socket itself as the error descriptor. */
    fe_close(f);
    fe_connect(f);
    assert_int_equal(vu_fe_send(f->sock, XCV_VHOST_USER_SET_VRING_ERR, &idx, 8, &f->sock, 1, false),
                     0);
    expect_dropped(f, "not an eventfd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_before_mem_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_overlap_uva, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_zero_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_fd_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_offset_beyond_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_not_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_too_many_regions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_too_many_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_outside_regions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_gpa_not_uva, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_misaligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_num, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_base_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_head_and_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_version_and_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_payload_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_fd_not_eventfd, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
