/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two-thread stress test of the split virtqueue (driver role and device role).
 *
 * One window (a static, aligned buffer) holds a ring of 256 entries, an indirect-table area and a
 * data area carved into one slot per token. The driver thread posts chains of random shape
 * (1..8 segments, readable first, random lengths), in random batches per publish; the device
 * thread pops them, checks every readable byte, writes a pattern into the writable segments and
 * pushes each chain with a random valid length, in random order and random publish batches.
 *
 * How corruption is detected:
 * - The driver numbers chains 0, 1, 2, ... in the order it adds them; the device pops them in
 *   the same order (the available ring is FIFO), so it keeps its own counter and the two must
 *   agree. A chain with readable bytes carries its number in a 16-byte header, and every other
 *   readable byte is a pattern derived from that number: a lost, duplicated, reordered or stale
 *   buffer fails the check.
 * - The device writes a pattern derived from the same number into the first `len` writable
 *   bytes; the driver checks them, checks that its readable bytes were not touched, and checks
 *   that each token comes back exactly once (a busy flag per token and a bitmap per number).
 * - Each side waits for work in two phases: a bounded busy poll, then it arms notifications
 *   (enable_notify) and waits for the peer's doorbell only, spinning with sched_yield. If work
 *   is pending while no doorbell arrives for a long time, the notification was lost: failure.
 *
 * Usage: xcv_stress_vring [--buffers N] [--seed S] [--no-event-idx] [--no-indirect]
 *                         [--prefer-indirect]
 * The buffer count defaults to the environment variable XCV_STRESS_BUFFERS, else 10,000,000.
 * Exit status 0 when every check passed, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xcvirtio/xcvirtio.h"

#define QSIZE 256u
#define LINE 64u
#define MAX_SEGS 8u
#define CELL 64u                     /* bytes reserved for one segment */
#define SLOT_BYTES (MAX_SEGS * CELL) /* bytes reserved for one token */
#define NTOKENS QSIZE
#define HDR_BYTES 16u

#define RING_BYTES XCV_VRING_BYTES(QSIZE, LINE)
#define IND_OFF XCV_ALIGN_UP(RING_BYTES, LINE)
#define IND_BYTES XCV_VQ_INDIRECT_BYTES(QSIZE, MAX_SEGS)
#define DATA_OFF XCV_ALIGN_UP(IND_OFF + IND_BYTES, LINE)
#define WIN_BYTES (DATA_OFF + (size_t)NTOKENS * SLOT_BYTES)
#define BUS_BASE UINT64_C(0x80000000) /* not 0, so bus and local offsets really differ */

#define DEFAULT_BUFFERS 10000000ull
#define POLL_SPINS 128u              /* busy polls before arming notifications */
#define YIELD_EVERY 64u              /* spins between sched_yield while waiting for a doorbell */
#define LOST_WAKEUP_NS 5000000000ull /* pending work without a doorbell for this long: lost */
#define STALL_NS 30000000000ull      /* no progress at all for this long: deadlock */

static _Alignas(4096) uint8_t g_window[WIN_BYTES];

/* Doorbells: one counter per direction, bumped by the port's notify. */
struct doorbells {
    _Atomic uint64_t to_device;
    _Atomic uint64_t to_driver;
};

enum {
    DB_TO_DEVICE = 0,
    DB_TO_DRIVER = 1
};

static struct doorbells g_db;
static atomic_bool g_stop;
static atomic_bool g_failed;
static _Atomic uint64_t g_progress; /* bumped by both sides, for the deadlock watchdog */

struct options {
    uint64_t buffers;
    uint64_t seed;
    bool event_idx;
    bool indirect;
    bool prefer_indirect;
};

static struct options g_opt;

/* ---- helpers ---- */

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fail_at(__FILE__, __LINE__);                                                               \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
    } while (0)

static void fail_at(const char *file, int line)
{
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    atomic_store(&g_failed, true);
    atomic_store(&g_stop, true);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ volatile("yield" ::: "memory");
#endif
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* xorshift64*: a per-thread generator, seeded from the run seed. */
static inline uint32_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * UINT64_C(0x2545f4914f6cdd1d)) >> 32);
}

/* Byte @p i of the pattern with key @p key. */
static inline uint8_t pat(uint64_t key, uint32_t i)
{
    return (uint8_t)((uint8_t)(key >> ((i & 7u) * 8u)) + (uint8_t)(i >> 3) * 0x1du + (uint8_t)i);
}

static inline uint64_t key_readable(uint64_t seq)
{
    return mix64(seq * 2u + 1u);
}
static inline uint64_t key_writable(uint64_t seq)
{
    return mix64(seq * 2u + 2u) ^ 0xa5u;
}

static uint8_t *data_area(void)
{
    return g_window + DATA_OFF;
}

/* The 16-byte header at the start of the first readable segment. */
struct hdr {
    uint64_t seq;
    uint16_t slot;
    uint8_t n_out;
    uint8_t n_in;
    uint16_t out_len;
    uint16_t in_len;
};

static void hdr_store(uint8_t *p, const struct hdr *h)
{
    xcv_le64_store(p, h->seq);
    xcv_le16_store(p + 8, h->slot);
    p[10] = h->n_out;
    p[11] = h->n_in;
    xcv_le16_store(p + 12, h->out_len);
    xcv_le16_store(p + 14, h->in_len);
}

static void hdr_load(const uint8_t *p, struct hdr *h)
{
    h->seq = xcv_le64_load(p);
    h->slot = xcv_le16_load(p + 8);
    h->n_out = p[10];
    h->n_in = p[11];
    h->out_len = xcv_le16_load(p + 12);
    h->in_len = xcv_le16_load(p + 14);
}

/* ---- the port: doorbells are counters ---- */

static int port_notify(void *ctx, uint32_t doorbell)
{
    struct doorbells *db = ctx;
    if (doorbell == DB_TO_DEVICE)
        atomic_fetch_add_explicit(&db->to_device, 1, memory_order_release);
    else
        atomic_fetch_add_explicit(&db->to_driver, 1, memory_order_release);
    return XCV_OK;
}

static uint64_t port_now(void *ctx)
{
    (void)ctx;
    return now_ns();
}

static const struct xcv_port_ops g_port_ops = {
    .notify = port_notify,
    .now_ns = port_now,
};

static const struct xcv_port g_port = {.ops = &g_port_ops, .ctx = &g_db};

/*
 * Wait for a doorbell after arming notifications. @p arm calls the side's enable_notify;
 * returns 1 when work is pending (or the run stops), 0 on doorbell, -1 on a failure.
 */
typedef int (*arm_fn)(void *q);

static int wait_doorbell(_Atomic uint64_t *db, arm_fn arm, void *q, const char *who,
                         uint64_t *armed_waits)
{
    uint64_t snap = atomic_load_explicit(db, memory_order_acquire);
    int r = arm(q);
    if (r < 0) {
        FAIL("%s: enable_notify returned %d (%s)", who, r, xcv_strerror(r));
        return -1;
    }
    if (r == 1)
        return 1; /* work raced in: drain again */
    (*armed_waits)++;
    uint64_t start = now_ns();
    uint64_t pending_since = 0;
    uint64_t last_progress = atomic_load_explicit(&g_progress, memory_order_relaxed);
    uint64_t progress_at = start;
    for (uint32_t spin = 1;; spin++) {
        if (atomic_load_explicit(db, memory_order_acquire) != snap)
            return 0;
        if (atomic_load_explicit(&g_stop, memory_order_acquire))
            return 1;
        cpu_relax();
        if (spin % YIELD_EVERY)
            continue;
        sched_yield();
        if (spin % (YIELD_EVERY * 64u))
            continue;
        uint64_t t = now_ns();
        uint64_t p = atomic_load_explicit(&g_progress, memory_order_relaxed);
        if (p != last_progress) {
            last_progress = p;
            progress_at = t;
        } else if (t - progress_at > STALL_NS) {
            FAIL("%s: no progress for %llu s (deadlock)", who,
                 (unsigned long long)(STALL_NS / 1000000000ull));
            return -1;
        }
        if (t - start < LOST_WAKEUP_NS)
            continue;
        /* Long wait: is work pending although no doorbell came? enable_notify tells us. */
        r = arm(q);
        if (r < 0) {
            FAIL("%s: enable_notify returned %d (%s)", who, r, xcv_strerror(r));
            return -1;
        }
        if (r == 0) {
            pending_since = 0;
            start = t;
            continue;
        }
        if (pending_since == 0) {
            pending_since = t; /* the peer may be between publish and notify: wait more */
        } else if (t - pending_since > LOST_WAKEUP_NS) {
            FAIL("%s: work pending for %llu ms but no doorbell arrived (lost notification)", who,
                 (unsigned long long)((t - pending_since) / 1000000ull));
            return -1;
        }
    }
}

/* ---- shared objects ---- */

static struct xcv_window g_win;
static struct xcv_memmap g_mem;
static struct xcv_vring_layout g_lay;
static struct xcv_vq_drv_slot g_drv_slots[QSIZE];
static struct xcv_vq_dev_slot g_dev_slots[QSIZE];
static struct xcv_vq_driver g_drv; /* used by the driver thread only */
static struct xcv_vq_device g_dev; /* used by the device thread only */

/* ---- driver thread ---- */

struct token {
    uint64_t seq;
    uint32_t in_len;
    uint16_t out_len;
    uint16_t slot;
    uint8_t n_out;
    uint8_t n_in;
    uint8_t busy;
    uint16_t seg_off[MAX_SEGS]; /* offset of segment k inside the token's slot */
    uint16_t seg_len[MAX_SEGS];
};

static struct token g_tokens[NTOKENS];

struct drv_stats {
    uint64_t posted;
    uint64_t completed;
    uint64_t enospc;
    uint64_t indirect;
    uint64_t kicks;
    uint64_t publishes;
    uint64_t armed_waits;
    uint64_t bytes_in;  /* readable bytes posted */
    uint64_t bytes_out; /* written bytes checked */
};

static struct drv_stats g_ds;
static uint8_t *g_done_bitmap;

static int drv_arm(void *q)
{
    return xcv_vq_driver_enable_notify(q);
}
static int dev_arm(void *q)
{
    return xcv_vq_device_enable_notify(q);
}

static void build_chain(struct token *t, uint64_t *rs, struct xcv_sg *sg)
{
    unsigned n = 1u + rnd(rs) % MAX_SEGS;
    unsigned n_out = rnd(rs) % (n + 1u);
    /* Make the extreme shapes (all readable, all writable) as likely as the mixed ones. */
    switch (rnd(rs) % 4u) {
    case 0:
        n_out = n;
        break;
    case 1:
        n_out = 0;
        break;
    default:
        break;
    }
    t->n_out = (uint8_t)n_out;
    t->n_in = (uint8_t)(n - n_out);
    t->out_len = 0;
    t->in_len = 0;
    uint8_t *slot = data_area() + (size_t)t->slot * SLOT_BYTES;
    for (unsigned k = 0; k < n; k++) {
        uint32_t min = (k == 0 && n_out > 0) ? HDR_BYTES : 1u;
        uint32_t len = min + rnd(rs) % (CELL - min + 1u);
        uint32_t off = k * CELL + rnd(rs) % (CELL - len + 1u);
        t->seg_off[k] = (uint16_t)off;
        t->seg_len[k] = (uint16_t)len;
        sg[k].addr = BUS_BASE + DATA_OFF + (uint64_t)t->slot * SLOT_BYTES + off;
        sg[k].len = len;
        if (k < n_out)
            t->out_len = (uint16_t)(t->out_len + len);
        else
            t->in_len += len;
    }
    /* Fill the readable stream: pattern everywhere, then the header over its first bytes. */
    uint64_t key = key_readable(t->seq);
    uint32_t pos = 0;
    for (unsigned k = 0; k < n_out; k++) {
        uint8_t *p = slot + t->seg_off[k];
        for (uint32_t j = 0; j < t->seg_len[k]; j++, pos++)
            p[j] = pat(key, pos);
    }
    if (n_out > 0) {
        struct hdr h = {t->seq, t->slot, t->n_out, t->n_in, t->out_len, (uint16_t)t->in_len};
        hdr_store(slot + t->seg_off[0], &h);
    }
}

static bool drv_check_returned(struct token *t, uint32_t len)
{
    uintptr_t base = (uintptr_t)g_tokens;
    uintptr_t p = (uintptr_t)t;
    if (p < base || p >= base + sizeof g_tokens || (p - base) % sizeof(struct token) != 0) {
        FAIL("driver: get_used returned a token %p that was never posted", (void *)t);
        return false;
    }
    if (!t->busy) {
        FAIL("driver: token %u (seq %" PRIu64 ") returned while not outstanding", t->slot, t->seq);
        return false;
    }
    if (len > t->in_len) {
        FAIL("driver: seq %" PRIu64 " returned len %u > %u writable", t->seq, len, t->in_len);
        return false;
    }
    if (g_done_bitmap[t->seq >> 3] & (1u << (t->seq & 7u))) {
        FAIL("driver: seq %" PRIu64 " completed twice", t->seq);
        return false;
    }
    g_done_bitmap[t->seq >> 3] |= (uint8_t)(1u << (t->seq & 7u));
    const uint8_t *slot = data_area() + (size_t)t->slot * SLOT_BYTES;
    /* The readable bytes must be as the driver left them. */
    if (t->n_out > 0) {
        uint64_t key = key_readable(t->seq);
        uint32_t pos = 0;
        for (unsigned k = 0; k < t->n_out; k++) {
            const uint8_t *q = slot + t->seg_off[k];
            for (uint32_t j = 0; j < t->seg_len[k]; j++, pos++) {
                if (pos >= HDR_BYTES && q[j] != pat(key, pos)) {
                    FAIL("driver: seq %" PRIu64 " readable byte %u changed by the device", t->seq,
                         pos);
                    return false;
                }
            }
        }
        struct hdr h;
        hdr_load(slot + t->seg_off[0], &h);
        if (h.seq != t->seq || h.slot != t->slot) {
            FAIL("driver: seq %" PRIu64 " header changed by the device", t->seq);
            return false;
        }
    }
    /* The first len writable bytes carry the device's pattern for this chain. */
    uint64_t key = key_writable(t->seq);
    uint32_t pos = 0;
    for (unsigned k = t->n_out; k < (unsigned)t->n_out + t->n_in && pos < len; k++) {
        const uint8_t *q = slot + t->seg_off[k];
        for (uint32_t j = 0; j < t->seg_len[k] && pos < len; j++, pos++) {
            if (q[j] != pat(key, pos)) {
                FAIL("driver: seq %" PRIu64 " written byte %u is 0x%02x, expected 0x%02x", t->seq,
                     pos, q[j], pat(key, pos));
                return false;
            }
        }
    }
    g_ds.bytes_out += len;
    t->busy = 0;
    return true;
}

static void *driver_thread(void *arg)
{
    (void)arg;
    uint64_t rs = mix64(g_opt.seed ^ 0x1234u) | 1u;
    uint16_t free_list[NTOKENS];
    unsigned n_free = NTOKENS;
    for (unsigned i = 0; i < NTOKENS; i++) {
        g_tokens[i].slot = (uint16_t)i;
        free_list[i] = (uint16_t)(NTOKENS - 1u - i);
    }
    const uint64_t total = g_opt.buffers;
    bool need_kick = false;
    unsigned unpublished = 0; /* chains added since the last publish */
    unsigned idle = 0;
    struct xcv_sg sg[MAX_SEGS];

    while (g_ds.completed < total && !atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        unsigned progress = 0;

        /* Post a random batch of chains, then publish once. */
        if (g_ds.posted < total) {
            unsigned want = 1u + rnd(&rs) % 48u;
            unsigned added = 0;
            while (added < want && g_ds.posted < total && n_free > 0) {
                struct token *t = &g_tokens[free_list[n_free - 1u]];
                t->seq = g_ds.posted;
                build_chain(t, &rs, sg);
                unsigned before = xcv_vq_driver_num_free(&g_drv);
                int r = xcv_vq_driver_add(&g_drv, sg, t->n_out, t->n_in, t);
                if (r == XCV_ENOSPC) {
                    g_ds.enospc++;
                    if (xcv_vq_driver_num_free(&g_drv) != before) {
                        FAIL("driver: add returned ENOSPC but consumed descriptors");
                        return NULL;
                    }
                    break;
                }
                if (r != XCV_OK) {
                    FAIL("driver: add returned %d (%s)", r, xcv_strerror(r));
                    return NULL;
                }
                unsigned used = before - xcv_vq_driver_num_free(&g_drv);
                unsigned n = (unsigned)t->n_out + t->n_in;
                if (used == 1u && n > 1u && g_opt.indirect) {
                    g_ds.indirect++;
                } else if (used != n) {
                    FAIL("driver: a %u-segment chain took %u descriptors", n, used);
                    return NULL;
                }
                t->busy = 1;
                n_free--;
                g_ds.posted++;
                g_ds.bytes_in += t->out_len;
                added++;
            }
            if (added > 0) {
                progress += added;
                unpublished += added;
                need_kick = true;
                if (rnd(&rs) % 8u == 0) {
                    /* Publish now, decide about the doorbell later (batched kick). */
                    int r = xcv_vq_driver_publish(&g_drv);
                    if (r != (int)unpublished) {
                        FAIL("driver: publish returned %d, expected %u", r, unpublished);
                        return NULL;
                    }
                    g_ds.publishes++;
                    unpublished = 0;
                }
            }
        }
        if (need_kick && (rnd(&rs) % 8u != 0 || g_ds.posted == total || n_free == 0)) {
            int r = xcv_vq_driver_kick_prepare(&g_drv);
            if (r < 0) {
                FAIL("driver: kick_prepare returned %d (%s)", r, xcv_strerror(r));
                return NULL;
            }
            g_ds.publishes++;
            unpublished = 0;
            if (r == 1) {
                r = xcv_vq_driver_notify(&g_drv);
                if (r != XCV_OK) {
                    FAIL("driver: notify returned %d", r);
                    return NULL;
                }
                g_ds.kicks++;
            }
            need_kick = false;
        }

        /* Reclaim: sometimes everything, sometimes a few. */
        unsigned reap_max = (rnd(&rs) & 1u) ? ~0u : 1u + rnd(&rs) % 64u;
        for (unsigned k = 0; k < reap_max; k++) {
            void *tok = NULL;
            uint32_t len = 0;
            int r = xcv_vq_driver_get_used(&g_drv, &tok, &len);
            if (r == XCV_EAGAIN)
                break;
            if (r != XCV_OK) {
                FAIL("driver: get_used returned %d (%s)", r, xcv_strerror(r));
                return NULL;
            }
            struct token *t = tok;
            if (!drv_check_returned(t, len))
                return NULL;
            free_list[n_free++] = t->slot;
            g_ds.completed++;
            progress++;
        }

        if (progress > 0) {
            idle = 0;
            atomic_fetch_add_explicit(&g_progress, 1, memory_order_relaxed);
            continue;
        }
        if (need_kick)
            continue; /* never wait with an unkicked batch */
        if (++idle < POLL_SPINS) {
            cpu_relax();
            continue;
        }
        idle = 0;
        if (xcv_vq_driver_in_flight(&g_drv) == 0) {
            FAIL("driver: nothing in flight and nothing to post, but not done");
            return NULL;
        }
        int w = wait_doorbell(&g_db.to_driver, drv_arm, &g_drv, "driver", &g_ds.armed_waits);
        if (w < 0)
            return NULL;
        xcv_vq_driver_disable_notify(&g_drv);
    }
    atomic_store_explicit(&g_stop, true, memory_order_release);
    return NULL;
}

/* ---- device thread ---- */

struct pending {
    uint16_t head;
    uint32_t len;
};

struct dev_stats {
    uint64_t popped;
    uint64_t pushed;
    uint64_t publishes;
    uint64_t notifies;
    uint64_t armed_waits;
    uint64_t bytes_checked;
};

static struct dev_stats g_vs;

static bool dev_handle(const struct xcv_chain *c, uint64_t seq, uint64_t *rs, uint32_t *len_out)
{
    unsigned n = (unsigned)c->n_out + c->n_in;
    if (n == 0 || n > MAX_SEGS) {
        FAIL("device: chain %" PRIu64 " has %u segments", seq, n);
        return false;
    }
    uint8_t *data = data_area();
    uintptr_t d0 = (uintptr_t)data;
    uintptr_t b0 = (uintptr_t)c->iov[0].base;
    if (b0 < d0 || b0 >= d0 + (uintptr_t)NTOKENS * SLOT_BYTES) {
        FAIL("device: chain %" PRIu64 " segment 0 lies outside the data area", seq);
        return false;
    }
    unsigned slot = (unsigned)((b0 - d0) / SLOT_BYTES);
    uint32_t out_len = 0, in_len = 0;
    for (unsigned k = 0; k < n; k++) {
        uintptr_t cell = d0 + (uintptr_t)slot * SLOT_BYTES + (uintptr_t)k * CELL;
        uintptr_t b = (uintptr_t)c->iov[k].base;
        if (c->iov[k].len == 0 || b < cell || b + c->iov[k].len > cell + CELL) {
            FAIL("device: chain %" PRIu64 " segment %u is not in its cell", seq, k);
            return false;
        }
        if (k < c->n_out)
            out_len += c->iov[k].len;
        else
            in_len += c->iov[k].len;
    }
    if (out_len != c->out_len || in_len != c->in_len) {
        FAIL("device: chain %" PRIu64 " totals %u/%u do not match the segments %u/%u", seq,
             c->out_len, c->in_len, out_len, in_len);
        return false;
    }
    if (c->n_out > 0) {
        if (c->iov[0].len < HDR_BYTES) {
            FAIL("device: chain %" PRIu64 " first readable segment too short", seq);
            return false;
        }
        struct hdr h;
        hdr_load(c->iov[0].base, &h);
        if (h.seq != seq || h.slot != slot || h.n_out != c->n_out || h.n_in != c->n_in ||
            h.out_len != out_len || h.in_len != in_len) {
            FAIL("device: chain %" PRIu64 " header (seq %" PRIu64 " slot %u shape %u+%u len "
                 "%u/%u) does not match the chain (slot %u shape %u+%u len %u/%u)",
                 seq, h.seq, h.slot, h.n_out, h.n_in, h.out_len, h.in_len, slot, c->n_out, c->n_in,
                 out_len, in_len);
            return false;
        }
        uint64_t key = key_readable(seq);
        uint32_t pos = 0;
        for (unsigned k = 0; k < c->n_out; k++) {
            const uint8_t *p = c->iov[k].base;
            for (uint32_t j = 0; j < c->iov[k].len; j++, pos++) {
                if (pos >= HDR_BYTES && p[j] != pat(key, pos)) {
                    FAIL("device: chain %" PRIu64 " readable byte %u is 0x%02x, expected "
                         "0x%02x",
                         seq, pos, p[j], pat(key, pos));
                    return false;
                }
            }
        }
        g_vs.bytes_checked += out_len;
    }
    /* Write a random valid amount: often all, sometimes a part, sometimes nothing. */
    uint32_t len = 0;
    if (in_len > 0)
        len = (rnd(rs) & 1u) ? in_len : rnd(rs) % (in_len + 1u);
    uint64_t key = key_writable(seq);
    uint32_t pos = 0;
    for (unsigned k = c->n_out; k < n && pos < len; k++) {
        uint8_t *p = c->iov[k].base;
        for (uint32_t j = 0; j < c->iov[k].len && pos < len; j++, pos++)
            p[j] = pat(key, pos);
    }
    *len_out = len;
    return true;
}

static bool dev_publish(uint64_t *rs)
{
    if (rnd(rs) & 1u) {
        int r = xcv_vq_device_flush(&g_dev);
        if (r < 0) {
            FAIL("device: flush returned %d (%s)", r, xcv_strerror(r));
            return false;
        }
        g_vs.notifies += (uint64_t)r;
    } else {
        int r = xcv_vq_device_publish(&g_dev);
        if (r < 0) {
            FAIL("device: publish returned %d (%s)", r, xcv_strerror(r));
            return false;
        }
        r = xcv_vq_device_should_notify(&g_dev);
        if (r < 0) {
            FAIL("device: should_notify returned %d (%s)", r, xcv_strerror(r));
            return false;
        }
        if (r == 1) {
            port_notify(&g_db, DB_TO_DRIVER);
            g_vs.notifies++;
        }
    }
    g_vs.publishes++;
    return true;
}

static void *device_thread(void *arg)
{
    (void)arg;
    uint64_t rs = mix64(g_opt.seed ^ 0x5678u) | 1u;
    struct xcv_iov iov[MAX_SEGS];
    struct pending pend[QSIZE];
    unsigned idle = 0;

    while (!atomic_load_explicit(&g_stop, memory_order_acquire)) {
        unsigned want = 1u + rnd(&rs) % 32u;
        unsigned np = 0;
        while (np < want) {
            struct xcv_chain c = {.iov = iov, .cap = MAX_SEGS};
            int r = xcv_vq_device_pop(&g_dev, &c);
            if (r == XCV_EAGAIN)
                break;
            if (r != XCV_OK) {
                FAIL("device: pop returned %d (%s)", r, xcv_strerror(r));
                return NULL;
            }
            if (!dev_handle(&c, g_vs.popped, &rs, &pend[np].len))
                return NULL;
            pend[np].head = c.head;
            g_vs.popped++;
            np++;
        }
        if (np == 0) {
            if (++idle < POLL_SPINS) {
                cpu_relax();
                continue;
            }
            idle = 0;
            int w = wait_doorbell(&g_db.to_device, dev_arm, &g_dev, "device", &g_vs.armed_waits);
            if (w < 0)
                return NULL;
            xcv_vq_device_disable_notify(&g_dev);
            continue;
        }
        idle = 0;
        /* Push in random order, publishing every few pushes. */
        unsigned batch = 1u + rnd(&rs) % 16u;
        unsigned since = 0;
        while (np > 0) {
            unsigned i = rnd(&rs) % np;
            int r = xcv_vq_device_push(&g_dev, pend[i].head, pend[i].len);
            if (r != XCV_OK) {
                FAIL("device: push(%u, %u) returned %d (%s)", pend[i].head, pend[i].len, r,
                     xcv_strerror(r));
                return NULL;
            }
            g_vs.pushed++;
            pend[i] = pend[--np];
            if (++since == batch) {
                since = 0;
                if (!dev_publish(&rs))
                    return NULL;
            }
        }
        if (since > 0 && !dev_publish(&rs))
            return NULL;
        atomic_fetch_add_explicit(&g_progress, 1, memory_order_relaxed);
    }
    return NULL;
}

/* ---- setup, run, final checks ---- */

static int setup(void)
{
    int r = xcv_window_init(&g_win, g_window, BUS_BASE, WIN_BYTES);
    if (r != XCV_OK) {
        FAIL("window_init: %s", xcv_strerror(r));
        return -1;
    }
    g_mem.windows = &g_win;
    g_mem.count = 1;
    r = xcv_vring_layout(g_window, BUS_BASE, QSIZE, LINE, &g_lay);
    if (r != XCV_OK) {
        FAIL("vring_layout: %s", xcv_strerror(r));
        return -1;
    }
    uint64_t ind_bus = 0;
    r = xcv_window_to_bus(&g_win, g_window + IND_OFF, IND_BYTES, &ind_bus);
    if (r != XCV_OK || ind_bus != BUS_BASE + IND_OFF) {
        FAIL("window_to_bus: %s", xcv_strerror(r));
        return -1;
    }
    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
    if (g_opt.event_idx)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (g_opt.indirect)
        features |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);

    struct xcv_vq_driver_config dc = {
        .ring = &g_lay,
        .slots = g_drv_slots,
        .features = features,
        .indirect_local = g_opt.indirect ? g_window + IND_OFF : NULL,
        .indirect_bus = g_opt.indirect ? ind_bus : 0,
        .indirect_max = g_opt.indirect ? MAX_SEGS : 0,
        .prefer_indirect = g_opt.prefer_indirect,
        .port = &g_port,
        .doorbell = DB_TO_DEVICE,
        .queue_index = 0,
    };
    r = xcv_vq_driver_init(&g_drv, &dc);
    if (r != XCV_OK) {
        FAIL("vq_driver_init: %s", xcv_strerror(r));
        return -1;
    }
    struct xcv_vq_device_config vc = {
        .mem = &g_mem,
        .num = QSIZE,
        .desc_bus = g_lay.desc_bus,
        .avail_bus = g_lay.avail_bus,
        .used_bus = g_lay.used_bus,
        .features = features,
        .max_chain = MAX_SEGS,
        .slots = g_dev_slots,
        .port = &g_port,
        .doorbell = DB_TO_DRIVER,
        .queue_index = 0,
    };
    r = xcv_vq_device_init(&g_dev, &vc);
    if (r != XCV_OK) {
        FAIL("vq_device_init: %s", xcv_strerror(r));
        return -1;
    }
    return 0;
}

static void final_checks(void)
{
    uint64_t total = g_opt.buffers;
    if (g_ds.completed != total || g_ds.posted != total)
        FAIL("posted %" PRIu64 ", completed %" PRIu64 ", expected %" PRIu64, g_ds.posted,
             g_ds.completed, total);
    if (g_vs.popped != total || g_vs.pushed != total)
        FAIL("device popped %" PRIu64 ", pushed %" PRIu64 ", expected %" PRIu64, g_vs.popped,
             g_vs.pushed, total);
    for (uint64_t s = 0; s < total; s++) {
        if (!(g_done_bitmap[s >> 3] & (1u << (s & 7u)))) {
            FAIL("seq %" PRIu64 " never completed", s);
            break;
        }
    }
    for (unsigned i = 0; i < NTOKENS; i++) {
        if (g_tokens[i].busy) {
            FAIL("token %u still outstanding", i);
            break;
        }
    }
    if (xcv_vq_driver_broken(&g_drv) != 0)
        FAIL("driver queue broken: %s", xcv_strerror(xcv_vq_driver_broken(&g_drv)));
    if (xcv_vq_device_broken(&g_dev) != 0)
        FAIL("device queue broken: %s", xcv_strerror(xcv_vq_device_broken(&g_dev)));
    if (xcv_vq_driver_in_flight(&g_drv) != 0)
        FAIL("driver in_flight %u", xcv_vq_driver_in_flight(&g_drv));
    if (xcv_vq_device_in_flight(&g_dev) != 0)
        FAIL("device in_flight %u", xcv_vq_device_in_flight(&g_dev));
    if (xcv_vq_driver_num_free(&g_drv) != QSIZE)
        FAIL("driver num_free %u, expected %u", xcv_vq_driver_num_free(&g_drv), QSIZE);
    void *tok = NULL;
    uint32_t len = 0;
    int r = xcv_vq_driver_get_used(&g_drv, &tok, &len);
    if (r != XCV_EAGAIN)
        FAIL("get_used after the run returned %d, expected EAGAIN", r);
    r = xcv_vq_driver_detach_unused(&g_drv, &tok);
    if (r != XCV_EAGAIN)
        FAIL("detach_unused after the run returned %d, expected EAGAIN", r);
    struct xcv_iov iov[MAX_SEGS];
    struct xcv_chain c = {.iov = iov, .cap = MAX_SEGS};
    r = xcv_vq_device_pop(&g_dev, &c);
    if (r != XCV_EAGAIN)
        FAIL("pop after the run returned %d, expected EAGAIN", r);
    if (g_opt.indirect && g_ds.indirect == 0)
        FAIL("indirect descriptors negotiated but never used");
    if (!g_opt.indirect && g_ds.indirect != 0)
        FAIL("indirect descriptors used without the feature");
}

static int parse_args(int argc, char **argv)
{
    g_opt.buffers = DEFAULT_BUFFERS;
    g_opt.seed = 1;
    g_opt.event_idx = true;
    g_opt.indirect = true;
    const char *env = getenv("XCV_STRESS_BUFFERS");
    if (env && *env)
        g_opt.buffers = strtoull(env, NULL, 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--buffers") && i + 1 < argc) {
            g_opt.buffers = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            g_opt.seed = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--no-event-idx")) {
            g_opt.event_idx = false;
        } else if (!strcmp(argv[i], "--no-indirect")) {
            g_opt.indirect = false;
        } else if (!strcmp(argv[i], "--prefer-indirect")) {
            g_opt.prefer_indirect = true;
        } else {
            fprintf(stderr,
                    "usage: %s [--buffers N] [--seed S] [--no-event-idx] [--no-indirect] "
                    "[--prefer-indirect]\n",
                    argv[0]);
            return -1;
        }
    }
    if (g_opt.buffers == 0) {
        fprintf(stderr, "buffer count must be > 0\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 2;
    g_done_bitmap = calloc((size_t)(g_opt.buffers / 8u + 1u), 1);
    if (!g_done_bitmap) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    printf("stress_vring: %" PRIu64 " buffers, seed %" PRIu64 ", ring %u, features:%s%s%s\n",
           g_opt.buffers, g_opt.seed, QSIZE, g_opt.event_idx ? " EVENT_IDX" : "",
           g_opt.indirect ? " INDIRECT_DESC" : "", g_opt.prefer_indirect ? " (prefer)" : "");
    if (setup() != 0)
        return 1;

    pthread_t drv, dev;
    uint64_t t0 = now_ns();
    if (pthread_create(&dev, NULL, device_thread, NULL) != 0 ||
        pthread_create(&drv, NULL, driver_thread, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    pthread_join(drv, NULL);
    atomic_store(&g_stop, true);
    pthread_join(dev, NULL);
    uint64_t t1 = now_ns();

    if (!atomic_load(&g_failed))
        final_checks();
    double secs = (double)(t1 - t0) / 1e9;
    printf("driver: posted %" PRIu64 " completed %" PRIu64 " (indirect %" PRIu64
           ", ENOSPC retries %" PRIu64 "), publishes %" PRIu64 ", kicks %" PRIu64
           ", armed waits %" PRIu64 "\n",
           g_ds.posted, g_ds.completed, g_ds.indirect, g_ds.enospc, g_ds.publishes, g_ds.kicks,
           g_ds.armed_waits);
    printf("device: popped %" PRIu64 " pushed %" PRIu64 ", publishes %" PRIu64 ", notifies %" PRIu64
           ", armed waits %" PRIu64 "\n",
           g_vs.popped, g_vs.pushed, g_vs.publishes, g_vs.notifies, g_vs.armed_waits);
    printf("bytes: %" PRIu64 " readable posted, %" PRIu64 " checked by the device, %" PRIu64
           " written and checked\n",
           g_ds.bytes_in, g_vs.bytes_checked, g_ds.bytes_out);
    printf("time: %.3f s, %.0f buffers/s\n", secs, secs > 0 ? (double)g_ds.completed / secs : 0.0);
    free(g_done_bitmap);
    if (atomic_load(&g_failed)) {
        printf("stress_vring: FAILED\n");
        return 1;
    }
    printf("stress_vring: PASSED\n");
    return 0;
}
