/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_blk_demo: virtio-blk between two processes over the Linux port, backed by a file.
 *
 *   device process  creates a sparse disk image (a temporary file, 64 MiB by default, removed
 *                   when the process ends), serves it as virtio-blk device 0 with the Linux
 *                   port's file backend (preadv/pwritev, fdatasync for FLUSH, fallocate for
 *                   DISCARD and WRITE_ZEROES), and hands the window and eventfds to the driver.
 *   driver process  opens the disk with the virtio-blk driver and runs, with many requests in
 *                   flight: a sequential write of the whole disk, random 4 KiB writes, a flush,
 *                   discards and write-zeroes, random 4 KiB reads, and a sequential read of the
 *                   whole disk. Every byte read is checked against what the driver last wrote
 *                   there (a per-sector pattern, or zeroes). Prints IOPS and MB/s per phase.
 *
 * Data buffers are the driver's own, in the shared window (zero copy): the device's backend
 * reads and writes the file straight into them.
 *
 * Usage: xcv_blk_demo [--mode event|poll] [--disk-mb N] [--disk PATH] [--random N] [--qd N]
 *                     [--socket PATH]
 * Exit status 0 only when every request succeeded and every byte checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xcvirtio/linux_backends.h"
#include "xcvirtio/port_linux.h"
#include "xcvirtio/xcvirtio.h"

#define WINDOW_BYTES (16u << 20)
#define QUEUE_AREA (256u << 10)
#define META_REGION (64u << 10) /* pool area: request headers first, then data buffers */
#define DATA_BUF (64u << 10)    /* one data buffer: the largest request */
#define SEQ_BYTES (64u << 10)   /* sequential phases: 64 KiB requests */
#define RAND_BYTES 4096u        /* random phases: 4 KiB requests, 4 KiB aligned */
#define QUEUE_SIZE 256u
#define QD_MAX 64u
#define DWZ_RANGES 8u /* discard and write-zeroes: ranges of one request each */
#define DWZ_SECTORS 512u
#define SECTOR XCV_VIRTIO_BLK_SECTOR_SIZE
#define WAIT_MS 100
#define STALL_NS 5000000000ull /* no completion for this long: give up */

struct opts {
    bool poll_mode;
    uint64_t disk_bytes;
    const char *disk; /* NULL: a temporary file */
    unsigned random;
    unsigned qd;
    char socket[108];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: xcv_blk_demo [--mode event|poll] [--disk-mb N] [--disk PATH] "
                    "[--random N] [--qd N] [--socket PATH]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.disk_bytes = 64ull << 20, .random = 20000, .qd = 32};
    snprintf(o->socket, sizeof(o->socket), "/tmp/xcv-blk-%ld.sock", (long)getpid());
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            usage();
            return -1;
        }
        if (strcmp(a, "--mode") == 0 && strcmp(v, "poll") == 0) {
            o->poll_mode = true;
        } else if (strcmp(a, "--mode") == 0 && strcmp(v, "event") == 0) {
            o->poll_mode = false;
        } else if (strcmp(a, "--disk-mb") == 0) {
            o->disk_bytes = strtoull(v, NULL, 0) << 20;
        } else if (strcmp(a, "--disk") == 0) {
            o->disk = v;
        } else if (strcmp(a, "--random") == 0) {
            o->random = (unsigned)strtoul(v, NULL, 0);
        } else if (strcmp(a, "--qd") == 0) {
            o->qd = (unsigned)strtoul(v, NULL, 0);
        } else if (strcmp(a, "--socket") == 0) {
            snprintf(o->socket, sizeof(o->socket), "%s", v);
        } else {
            usage();
            return -1;
        }
    }
    if (o->disk_bytes < (4ull << 20) || o->disk_bytes > (4ull << 30) || o->qd == 0u ||
        o->qd > QD_MAX) {
        fprintf(stderr, "xcv_blk_demo: --disk-mb must be 4..4096, --qd 1..%u\n", QD_MAX);
        return -1;
    }
    return 0;
}

/* ---- the device process ------------------------------------------------------------------ */

static int device_main(const struct opts *o)
{
    char path[256];
    if (o->disk != NULL) {
        snprintf(path, sizeof(path), "%s", o->disk);
    } else {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/xcv-blk-disk-XXXXXX", dir != NULL ? dir : "/tmp");
        int fd = mkstemp(path);
        if (fd < 0) {
            perror("device: mkstemp");
            return 1;
        }
        close(fd);
    }
    static struct xcv_linux_blk_file disk;
    int r = xcv_linux_blk_file_open(&disk, path, o->disk != NULL ? 0 : o->disk_bytes,
                                    XCV_LINUX_BLK_CREATE);
    if (r == XCV_EINVAL && o->disk != NULL) /* a new or empty file: give it the size asked */
        r = xcv_linux_blk_file_open(&disk, path, o->disk_bytes, XCV_LINUX_BLK_CREATE);
    if (o->disk == NULL)
        unlink(path); /* the open file keeps the disk alive until this process ends */
    if (r != XCV_OK) {
        fprintf(stderr, "device: disk %s: %s (%s)\n", path, xcv_strerror(r), strerror(errno));
        return 1;
    }

    struct xcv_linux_link l;
    struct xcv_linux_link_config lc = {.window_size = WINDOW_BYTES, .busy_poll = o->poll_mode};
    r = xcv_linux_link_listen(&l, o->socket, &lc);
    if (r != XCV_OK) {
        fprintf(stderr, "device: listen %s: %s\n", o->socket, xcv_strerror(r));
        return 1;
    }
    struct xcv_port port;
    xcv_linux_port_init(&l, &port);
    struct xcv_channel ch;
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DEVICE, .port = &port, .queue_area_size = QUEUE_AREA, .msg_slots = 64};
    xcv_linux_link_window(&l, &cc.window);
    static struct xcv_blk_dev blk;
    struct xcv_blk_dev_config bc = {
        .capacity = disk.capacity,
        .ops = &xcv_linux_blk_file_ops,
        .backend_ctx = &disk,
        .queue_size = QUEUE_SIZE,
        .blk_size = 4096,
        .flush = true,
        .max_discard_seg = DWZ_RANGES,
        .max_write_zeroes_seg = DWZ_RANGES,
        .id = "xcv-blk-demo",
        .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
    };
    r = xcv_channel_init(&ch, &cc);
    if (r == XCV_OK)
        r = xcv_blk_dev_init(&blk, &ch, &bc);
    if (r >= 0)
        r = xcv_linux_link_accept(&l, 10000);
    if (r != XCV_OK) {
        fprintf(stderr, "device: setup: %s\n", xcv_strerror(r));
        xcv_linux_link_close(&l);
        return 1;
    }

    /* Serve until the driver hangs up: doorbells (event mode) or busy polling. */
    uint64_t start = now_ns();
    unsigned idle = 0;
    for (;;) {
        if (now_ns() - start > 120ull * 1000000000u) {
            r = XCV_ETIMEDOUT;
            break;
        }
        struct pollfd p[2] = {{.fd = l.sock, .events = POLLRDHUP},
                              {.fd = l.efd_rx, .events = POLLIN}};
        bool busy = o->poll_mode || xcv_blk_dev_pending(&blk);
        if (!o->poll_mode || ++idle >= 1024u) {
            idle = 0;
            int pr = poll(p, o->poll_mode ? 1u : 2u, busy ? 0 : WAIT_MS);
            if (pr < 0 && errno != EINTR) {
                r = XCV_EPORT;
                break;
            }
            if (pr > 0 && (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0) {
                r = XCV_OK;
                break;
            }
            if (pr > 0 && !o->poll_mode && (p[1].revents & POLLIN) != 0)
                (void)xcv_linux_link_ack(&l);
        }
        int n = xcv_channel_poll(&ch, 64); /* kicks run the model (its notify callback) */
        if (n < 0 && n != XCV_EPEERRESET) {
            r = n;
            break;
        }
        if (xcv_blk_dev_pending(&blk))
            (void)xcv_blk_dev_run(&blk, 64);
        else if (o->poll_mode && n == 0 && idle % 64u == 63u)
            sched_yield(); /* busy polling on a loaded machine: let the peer run */
    }

    const struct xcv_blk_dev_stats *bs = xcv_blk_dev_stats(&blk);
    const struct xcv_linux_blk_file_stats *fs = &disk.stats;
    struct stat st;
    double alloc_mb = fstat(disk.fd, &st) == 0 ? (double)st.st_blocks * 512.0 / 1048576.0 : -1.0;
    printf("device: %" PRIu64 " requests, %" PRIu64 " IOERR, %" PRIu64 " UNSUPP; %s\n",
           bs->requests, bs->ioerr, bs->unsupp, r == XCV_OK ? "exit ok" : xcv_strerror(r));
    printf("device: file backend: %" PRIu64 " preadv, %" PRIu64 " pwritev, %" PRIu64
           " fdatasync; %" PRIu64 " sectors punched, %" PRIu64 " zeroed in place, %" PRIu64
           " written as zeroes; %.1f of %.0f MiB allocated\n",
           fs->reads, fs->writes, fs->flushes, fs->punched, fs->zero_ranged, fs->zero_written,
           alloc_mb, (double)disk.capacity * SECTOR / 1048576.0);
    fflush(stdout);
    xcv_channel_detach(&ch);
    xcv_linux_link_close(&l);
    xcv_linux_blk_file_close(&disk);
    return r == XCV_OK && bs->ioerr == 0u && bs->unsupp == 0u ? 0 : 1;
}

/* ---- the driver process ------------------------------------------------------------------ */

/* The content of sector @p s after write generation @p g (0: never written, or zeroed). */
static void fill_sector(uint8_t *p, uint64_t s, uint32_t g)
{
    if (g == 0u) {
        memset(p, 0, SECTOR);
        return;
    }
    uint64_t x = (s * UINT64_C(0x9e3779b97f4a7c15)) ^ ((uint64_t)g << 32) ^ 0x5851f42d4c957f2dull;
    for (unsigned i = 0; i < SECTOR; i += 8u) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

static bool check_sector(const uint8_t *p, uint64_t s, uint32_t g)
{
    uint8_t want[SECTOR];
    fill_sector(want, s, g);
    return memcmp(p, want, SECTOR) == 0;
}

struct slot {
    struct xcv_blk_req req;
    uint8_t *buf; /* data buffer in the window (pool) */
    struct xcv_sg sg;
    uint32_t type;
    uint64_t sector;
    uint32_t nsec;
    bool busy;
};

struct drv {
    struct xcv_linux_link l;
    struct xcv_port port;
    struct xcv_channel ch;
    struct xcv_pool meta_pool, data_pool;
    uint32_t meta_free[META_REGION / XCV_BLK_DRV_META_BYTES];
    uint32_t *data_free;
    struct xcv_blk_drv blk;
    struct xcv_vq_driver *q;
    bool poll_mode;
    unsigned idle; /* poll mode: empty polls since the last yield */
    uint64_t sectors;
    uint32_t *gen;     /* per sector: the generation last written (0 = zeroes) */
    uint8_t *inflight; /* per 4 KiB block: a request covers it */
    uint32_t next_gen;
    struct slot slots[QD_MAX];
    unsigned qd;
    uint64_t errors, bad_bytes_sectors, checked_bytes;
    int first_err;
};

static void note_err(struct drv *d, int err)
{
    d->errors++;
    if (d->first_err == 0)
        d->first_err = err;
}

/* Wait for completions: event mode arms the used notification and sleeps on the doorbell;
 * poll mode polls the channel once. */
static int drv_wait(struct drv *d)
{
    if (!d->poll_mode) {
        int armed = xcv_vq_driver_enable_notify(d->q);
        if (armed < 0)
            return armed;
        if (armed == 0) {
            struct pollfd p = {.fd = xcv_linux_link_event_fd(&d->l), .events = POLLIN};
            int pr = poll(&p, 1, WAIT_MS);
            if (pr < 0 && errno != EINTR)
                return XCV_EPORT;
            if (pr > 0)
                (void)xcv_linux_link_ack(&d->l);
        }
    }
    int r = xcv_channel_poll(&d->ch, 64);
    if (d->poll_mode && r == 0 && ++d->idle >= 64u) {
        d->idle = 0;
        sched_yield(); /* busy polling on a loaded machine: let the device process run */
    }
    return r < 0 ? r : 0;
}

/* Post one request from slot @p s (its fields set); marks the 4 KiB blocks it covers. */
static int submit(struct drv *d, struct slot *s)
{
    s->req.user = s;
    unsigned n = s->type == XCV_VIRTIO_BLK_T_FLUSH ? 0u : 1u;
    int r = xcv_blk_drv_submit(&d->blk, &s->req, s->type, s->sector, &s->sg, n);
    if (r != XCV_OK)
        return r;
    s->busy = true;
    if (s->type == XCV_VIRTIO_BLK_T_IN || s->type == XCV_VIRTIO_BLK_T_OUT) {
        for (uint64_t b = s->sector / 8u; b < (s->sector + s->nsec + 7u) / 8u; b++)
            d->inflight[b] = 1;
    }
    return XCV_OK;
}

static void complete(struct drv *d, struct slot *s)
{
    s->busy = false;
    if (s->req.result != XCV_OK) {
        note_err(d, s->req.result);
    } else if (s->type == XCV_VIRTIO_BLK_T_IN) {
        for (uint32_t i = 0; i < s->nsec; i++) {
            uint64_t sec = s->sector + i;
            if (!check_sector(s->buf + (size_t)i * SECTOR, sec, d->gen[sec])) {
                d->bad_bytes_sectors++;
                note_err(d, XCV_EIO);
            }
        }
        d->checked_bytes += (uint64_t)s->nsec * SECTOR;
    }
    if (s->type == XCV_VIRTIO_BLK_T_IN || s->type == XCV_VIRTIO_BLK_T_OUT) {
        for (uint64_t b = s->sector / 8u; b < (s->sector + s->nsec + 7u) / 8u; b++)
            d->inflight[b] = 0;
    }
}

/* One phase's request generator: fills the slot (type, sector, nsec, data) or returns false
 * when the phase has issued everything. */
typedef bool (*next_fn)(struct drv *d, struct slot *s, uint64_t i, void *ctx);

struct result {
    uint64_t requests, bytes, ns;
};

static int run_phase(struct drv *d, uint64_t total, next_fn next, void *ctx, struct result *res)
{
    uint64_t issued = 0, done = 0, bytes = 0;
    uint64_t t0 = now_ns(), last = t0;
    while (done < total) {
        bool posted = false;
        for (unsigned i = 0; i < d->qd && issued < total; i++) {
            struct slot *s = &d->slots[i];
            if (s->busy)
                continue;
            if (!next(d, s, issued, ctx))
                break;
            /* The ring (3 descriptors per request) and the header pool are sized for QD_MAX
             * requests: a refusal here is an error, not back-pressure. */
            int r = submit(d, s);
            if (r != XCV_OK)
                return r;
            bytes += s->sg.len;
            issued++;
            posted = true;
        }
        if (posted) {
            int r = xcv_blk_drv_kick(&d->blk);
            if (r != XCV_OK)
                return r;
        }
        unsigned got = 0;
        struct xcv_blk_req *req;
        int r;
        while ((r = xcv_blk_drv_complete(&d->blk, &req)) == XCV_OK) {
            complete(d, (struct slot *)req->user);
            done++;
            got++;
        }
        if (r != XCV_EAGAIN)
            return r;
        uint64_t now = now_ns();
        if (got != 0u) {
            last = now;
            continue;
        }
        if (now - last > STALL_NS)
            return XCV_ETIMEDOUT;
        r = drv_wait(d);
        if (r < 0)
            return r;
    }
    res->requests = total;
    res->bytes = bytes;
    res->ns = now_ns() - t0;
    return XCV_OK;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Sequential write or read over the whole disk, in SEQ_BYTES requests. */
static bool next_seq(struct drv *d, struct slot *s, uint64_t i, void *ctx)
{
    bool write = ctx != NULL;
    uint64_t per = SEQ_BYTES / SECTOR;
    s->type = write ? XCV_VIRTIO_BLK_T_OUT : XCV_VIRTIO_BLK_T_IN;
    s->sector = i * per;
    s->nsec = (uint32_t)(d->sectors - s->sector < per ? d->sectors - s->sector : per);
    s->sg.len = s->nsec * SECTOR;
    if (write) {
        uint32_t g = d->next_gen;
        for (uint32_t k = 0; k < s->nsec; k++) {
            d->gen[s->sector + k] = g;
            fill_sector(s->buf + (size_t)k * SECTOR, s->sector + k, g);
        }
    }
    return true;
}

/* Random 4 KiB write or read at a 4 KiB block no other request in flight covers. */
static bool next_rand(struct drv *d, struct slot *s, uint64_t i, void *ctx)
{
    bool write = ctx != NULL;
    uint64_t blocks = d->sectors / 8u;
    uint64_t b = rnd() % blocks;
    while (d->inflight[b])
        b = (b + 1u) % blocks;
    s->type = write ? XCV_VIRTIO_BLK_T_OUT : XCV_VIRTIO_BLK_T_IN;
    s->sector = b * 8u;
    s->nsec = RAND_BYTES / SECTOR;
    s->sg.len = RAND_BYTES;
    if (write) {
        uint32_t g = d->next_gen + 1u + (uint32_t)i; /* a new generation per write */
        for (uint32_t k = 0; k < s->nsec; k++) {
            d->gen[s->sector + k] = g;
            fill_sector(s->buf + (size_t)k * SECTOR, s->sector + k, g);
        }
    }
    return true;
}

static bool next_flush(struct drv *d, struct slot *s, uint64_t i, void *ctx)
{
    (void)d;
    (void)i;
    (void)ctx;
    s->type = XCV_VIRTIO_BLK_T_FLUSH;
    s->sector = 0;
    s->nsec = 0;
    s->sg.len = 0;
    return true;
}

/* One discard (i == 0) and one write-zeroes (i == 1) request, DWZ_RANGES ranges each, at
 * random places; the ranges read back as zeroes afterwards. */
static bool next_dwz(struct drv *d, struct slot *s, uint64_t i, void *ctx)
{
    (void)ctx;
    s->type = i == 0u ? XCV_VIRTIO_BLK_T_DISCARD : XCV_VIRTIO_BLK_T_WRITE_ZEROES;
    s->sector = 0;
    s->nsec = 0;
    s->sg.len = DWZ_RANGES * XCV_VIRTIO_BLK_DWZ_SEG_SIZE;
    uint64_t slots = d->sectors / DWZ_SECTORS / 2u; /* discard: even slots, zeroes: odd */
    for (unsigned k = 0; k < DWZ_RANGES; k++) {
        uint64_t sec = ((rnd() % slots) * 2u + i) * DWZ_SECTORS;
        uint8_t *seg = s->buf + (size_t)k * XCV_VIRTIO_BLK_DWZ_SEG_SIZE;
        xcv_le64_store(seg, sec);
        xcv_le32_store(seg + 8, DWZ_SECTORS);
        xcv_le32_store(seg + 12, 0);
        for (uint32_t j = 0; j < DWZ_SECTORS; j++)
            d->gen[sec + j] = 0;
    }
    return true;
}

static void print_phase(const char *name, const char *what, const struct result *r)
{
    double s = (double)r->ns / 1e9;
    printf("  %-11s %-32s %7.3f s %9.0f IOPS %8.1f MB/s\n", name, what, s, (double)r->requests / s,
           (double)r->bytes / s / 1e6);
}

static int driver_setup(struct drv *d, const struct opts *o)
{
    int r = xcv_linux_link_connect(&d->l, o->socket, 10000);
    if (r != XCV_OK)
        return r;
    xcv_linux_port_init(&d->l, &d->port);
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DRIVER, .port = &d->port, .timeout_ns = 2000000000u};
    xcv_linux_link_window(&d->l, &cc.window);
    r = xcv_channel_connect(&d->ch, &cc);
    if (r != XCV_OK)
        return r;
    /* The pool area: request headers (64-byte buffers) first, then 64 KiB data buffers. */
    const struct xcv_window *pa = xcv_channel_pool_area(&d->ch);
    if (pa == NULL || pa->size < META_REGION + (uint64_t)QD_MAX * DATA_BUF)
        return XCV_ENOSPC;
    struct xcv_window meta, data;
    xcv_window_init(&meta, pa->local, pa->bus_base, META_REGION);
    xcv_window_init(&data, (uint8_t *)pa->local + META_REGION, pa->bus_base + META_REGION,
                    pa->size - META_REGION);
    uint32_t ndata = XCV_POOL_COUNT(data.size, DATA_BUF);
    d->data_free = calloc(ndata, sizeof(*d->data_free));
    if (d->data_free == NULL)
        return XCV_ENOMEM;
    r = xcv_pool_init(&d->meta_pool, &meta, XCV_BLK_DRV_META_BYTES, d->meta_free,
                      META_REGION / XCV_BLK_DRV_META_BYTES);
    if (r == XCV_OK)
        r = xcv_pool_init(&d->data_pool, &data, DATA_BUF, d->data_free, ndata);
    if (r != XCV_OK)
        return r;
    struct xcv_blk_drv_config bc = {.dev_num = 0, .pool = &d->meta_pool, .queue_size = QUEUE_SIZE};
    r = xcv_blk_drv_open(&d->blk, &d->ch, &bc);
    if (r != XCV_OK)
        return r;
    /* The blk driver has no call of its own to arm used notifications: reach its queue through
     * the embedded device object (event mode sleeps on the doorbell between completions). */
    d->q = xcv_vdrv_queue(&d->blk.vdrv, 0);
    if (d->q == NULL)
        return XCV_ENODEV;
    if (d->poll_mode)
        xcv_vq_driver_disable_notify(d->q);
    for (unsigned i = 0; i < d->qd; i++) {
        d->slots[i].buf = xcv_pool_alloc(&d->data_pool, &d->slots[i].sg.addr);
        if (d->slots[i].buf == NULL)
            return XCV_ENOMEM;
    }
    d->sectors = xcv_blk_drv_capacity(&d->blk);
    d->gen = calloc(d->sectors, sizeof(*d->gen));
    d->inflight = calloc(d->sectors / 8u + 1u, 1);
    return d->gen != NULL && d->inflight != NULL ? XCV_OK : XCV_ENOMEM;
}

/* GET_ID, synchronously (one request, bounded). */
static int get_id(struct drv *d, char *id, size_t cap)
{
    struct slot *s = &d->slots[0];
    s->type = XCV_VIRTIO_BLK_T_GET_ID;
    s->req.user = s;
    int r = xcv_blk_drv_submit(&d->blk, &s->req, XCV_VIRTIO_BLK_T_GET_ID, 0, NULL, 0);
    if (r == XCV_OK)
        r = xcv_blk_drv_kick(&d->blk);
    uint64_t deadline = now_ns() + STALL_NS;
    struct xcv_blk_req *done = NULL;
    while (r == XCV_OK && (r = xcv_blk_drv_complete(&d->blk, &done)) == XCV_EAGAIN) {
        r = now_ns() > deadline ? XCV_ETIMEDOUT : drv_wait(d);
    }
    if (r == XCV_OK)
        r = done->result;
    if (r != XCV_OK)
        return r;
    size_t n = 0;
    for (; n < XCV_VIRTIO_BLK_ID_BYTES && n + 1u < cap && done->id[n] != 0u; n++)
        id[n] = done->id[n] >= 0x20u && done->id[n] < 0x7fu ? (char)done->id[n] : '.';
    id[n] = '\0';
    return XCV_OK;
}

static int driver_main(const struct opts *o, pid_t child)
{
    static struct drv d;
    d.poll_mode = o->poll_mode;
    d.qd = o->qd;
    d.next_gen = 1;
    int r = driver_setup(&d, o);
    char id[XCV_VIRTIO_BLK_ID_BYTES + 1u] = "";
    if (r == XCV_OK)
        r = get_id(&d, id, sizeof(id));
    struct result seq_w = {0}, rand_w = {0}, flush = {0}, dwz = {0}, rand_r = {0}, seq_r = {0};
    uint64_t seq_n = (d.sectors * SECTOR + SEQ_BYTES - 1u) / SEQ_BYTES;
    if (r == XCV_OK)
        r = run_phase(&d, seq_n, next_seq, &d, &seq_w);
    d.next_gen = 2;
    if (r == XCV_OK)
        r = run_phase(&d, o->random, next_rand, &d, &rand_w);
    d.next_gen += o->random + 1u;
    if (r == XCV_OK)
        r = run_phase(&d, 1, next_flush, NULL, &flush);
    if (r == XCV_OK)
        r = run_phase(&d, 2, next_dwz, NULL, &dwz);
    if (r == XCV_OK)
        r = run_phase(&d, o->random, next_rand, NULL, &rand_r);
    if (r == XCV_OK)
        r = run_phase(&d, seq_n, next_seq, NULL, &seq_r);
    if (r != XCV_OK)
        note_err(&d, r);

    xcv_channel_detach(&d.ch);
    xcv_linux_link_close(&d.l); /* the device sees the hangup and exits */
    if (child > 0) {
        int status = 0;
        int i = 0;
        for (; i < 500 && waitpid(child, &status, WNOHANG) == 0; i++)
            usleep(10000);
        if (i == 500) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            note_err(&d, XCV_ETIMEDOUT);
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            note_err(&d, XCV_EIO);
        }
    }

    printf("== xcv_blk_demo --mode %s: virtio-blk over a file-backed disk, two processes\n",
           o->poll_mode ? "poll" : "event");
    printf("  disk        %" PRIu64 " sectors (%" PRIu64 " MiB), id \"%s\", queue depth %u\n",
           d.sectors, d.sectors * SECTOR >> 20, id, o->qd);
    if (seq_w.ns != 0u) {
        char what[64];
        snprintf(what, sizeof(what), "%" PRIu64 " x 64 KiB", seq_n);
        print_phase("seq write", what, &seq_w);
        snprintf(what, sizeof(what), "%u x 4 KiB, random offsets", o->random);
        print_phase("rand write", what, &rand_w);
        printf("  %-11s %-32s %7.3f s\n", "flush", "1 request (fdatasync)", (double)flush.ns / 1e9);
        printf("  %-11s %-32s %7.3f s\n", "discard", "8 ranges of 256 KiB, + 8 zeroed",
               (double)dwz.ns / 1e9);
        print_phase("rand read", what, &rand_r);
        snprintf(what, sizeof(what), "%" PRIu64 " x 64 KiB", seq_n);
        print_phase("seq read", what, &seq_r);
    }
    printf("  checked     %.1f MiB read back byte for byte (pattern or zeroes), %" PRIu64
           " bad sectors\n",
           (double)d.checked_bytes / 1048576.0, d.bad_bytes_sectors);
    printf("  errors      %" PRIu64 "%s%s\n", d.errors, d.first_err != 0 ? ": first " : "",
           d.first_err != 0 ? xcv_strerror(d.first_err) : "");
    free(d.gen);
    free(d.inflight);
    free(d.data_free);
    return d.errors == 0u ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        alarm(180); /* last resort: never outlive a stuck demo */
        _exit(device_main(&o));
    }
    return driver_main(&o, pid);
}
