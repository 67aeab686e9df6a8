/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the device role of a split virtqueue facing a hostile driver.
 *
 * The input is the whole shared memory the driver controls (descriptor table, available ring,
 * indirect tables, data) plus a script of device-side calls interleaved with further driver
 * writes. Input format (see gen_seeds.c, which writes the seed corpus):
 *
 *   byte 0     config: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 a second window,
 *              bit3 ring areas at offsets given below (else the standard layout at offset 0),
 *              bits4-5 bus base of window 1 (0, 0x1000, 0x80000000, near the top of 2^64)
 *   byte 1     queue size: 1 << (byte % 6)
 *   byte 2     max_chain: byte % (size + 1)   (0 means the queue size)
 *   bytes 3-4  L, the length of the script (le16)
 *   [6 bytes]  with bit3: le16 offsets of desc, avail and used inside window 1
 *   L bytes    the script: one opcode byte per step plus its arguments
 *              (enum dev_op in fuzz_common.h)
 *   rest       the initial contents of window 1 (WIN1 bytes), then window 2 (WIN2 bytes)
 *
 * Invariants checked after every step:
 * - every iov of a popped chain lies inside a window, n_out + n_in <= max_chain, the totals
 *   match, and the head is not already popped (the buffers are read and written, so an iov
 *   outside the heap-allocated windows is caught by AddressSanitizer too);
 * - return values are from the documented set, and push/publish agree with a model;
 * - after a protocol error the queue reports it, the log hook saw it, and every later call
 *   returns XCV_EBROKEN until reset;
 * - the device role writes nothing in the windows outside the used ring.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define WIN1 2048u
#define WIN2 512u
#define MAXNUM 32u
#define IND_AREA 0x600u /* where DEV_OP_DESC places indirect descriptors */

struct popped {
    uint16_t head;
    uint32_t in_len;
};

struct ctx {
    struct xcv_vq_device q;
    struct xcv_window win[2];
    struct xcv_memmap mem;
    uint8_t *w1;
    uint8_t *w2;
    uint8_t *shadow1;
    uint8_t *shadow2;
    bool two_windows;
    uint16_t num;
    uint16_t max_chain; /* effective */
    size_t desc_off;
    size_t avail_off;
    size_t used_off;
    bool indirect;
    uint16_t last_avail; /* model: chains popped since reset */
    struct popped pop[MAXNUM];
    unsigned n_pop;
    unsigned unpublished;
    int broken; /* the protocol error seen, or 0 */
    unsigned notifies;
    unsigned logs;
    int last_log_err;
    struct fuzz_in *script;
};

static int port_notify(void *c, uint32_t doorbell)
{
    struct ctx *x = c;
    (void)doorbell;
    x->notifies++;
    return XCV_OK;
}

static void port_log(void *c, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    struct ctx *x = c;
    (void)level;
    (void)id;
    FUZZ_CHECK(what != NULL);
    x->logs++;
    x->last_log_err = err;
}

static const struct xcv_port_ops g_ops = {.notify = port_notify, .log = port_log};

static bool in_window(const struct ctx *x, const void *p, uint32_t len)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t b1 = (uintptr_t)x->w1;
    if (a >= b1 && a <= b1 + WIN1 && len <= b1 + WIN1 - a)
        return true;
    if (x->two_windows) {
        uintptr_t b2 = (uintptr_t)x->w2;
        if (a >= b2 && a <= b2 + WIN2 && len <= b2 + WIN2 - a)
            return true;
    }
    return false;
}

/* Mirror a harness write into the shadow copy of the window that holds it. */
static void shadow_write(struct ctx *x, uint8_t *p, const uint8_t *src, size_t len)
{
    memcpy(p, src, len);
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)x->w1 && a < (uintptr_t)x->w1 + WIN1)
        memcpy(x->shadow1 + (a - (uintptr_t)x->w1), src, len);
    else
        memcpy(x->shadow2 + (a - (uintptr_t)x->w2), src, len);
}

/*
 * Reference check of a chain, written from the rules in vq_device.h and the virtio spec
 * (2.7.5 and 2.7.5.3), independently of the library: the harness's oracle.
 * Returns true and fills @p seg when the chain at @p head is valid.
 */
struct ref_seg {
    void *base;
    uint32_t len;
    bool write;
};

static bool ref_translate(const struct ctx *x, uint64_t bus, uint64_t len, uint8_t **p)
{
    for (unsigned i = 0; i < x->mem.count; i++) {
        const struct xcv_window *w = &x->win[i];
        if (bus >= w->bus_base && bus - w->bus_base <= w->size &&
            len <= w->size - (bus - w->bus_base)) {
            *p = w->local + (bus - w->bus_base);
            return true;
        }
    }
    return false;
}

static bool ref_walk(const struct ctx *x, uint32_t head, struct ref_seg *seg, unsigned *nseg)
{
    if (head >= x->num)
        return false;
    for (unsigned i = 0; i < x->n_pop; i++)
        if (x->pop[i].head == head)
            return false; /* still in flight on the device */
    const uint8_t *table = x->w1 + x->desc_off;
    uint32_t table_len = x->num;
    uint32_t idx = head;
    bool in_indirect = false;
    bool seen_write = false;
    uint64_t out_len = 0, in_len = 0;
    unsigned n = 0;
    for (;;) {
        const uint8_t *d = table + (size_t)idx * XCV_VRING_DESC_SIZE;
        uint64_t addr = xcv_le64_load(d);
        uint32_t len = xcv_le32_load(d + 8);
        uint16_t flags = xcv_le16_load(d + 12);
        uint16_t next = xcv_le16_load(d + 14);
        uint8_t *p;
        if (flags & XCV_VRING_DESC_F_INDIRECT) {
            if (!x->indirect || in_indirect || (flags & XCV_VRING_DESC_F_NEXT) || len == 0 ||
                len % XCV_VRING_DESC_SIZE != 0 || !ref_translate(x, addr, len, &p))
                return false;
            table = p;
            table_len = len / XCV_VRING_DESC_SIZE;
            idx = 0;
            in_indirect = true;
            continue;
        }
        if (n >= x->max_chain || !ref_translate(x, addr, len, &p))
            return false;
        if (flags & XCV_VRING_DESC_F_WRITE) {
            seen_write = true;
            in_len += len;
        } else {
            if (seen_write)
                return false;
            out_len += len;
        }
        if (in_len > UINT32_MAX || out_len > UINT32_MAX)
            return false;
        seg[n].base = p;
        seg[n].len = len;
        seg[n].write = (flags & XCV_VRING_DESC_F_WRITE) != 0;
        n++;
        if (!(flags & XCV_VRING_DESC_F_NEXT))
            break;
        if (next >= table_len)
            return false;
        idx = next;
    }
    *nseg = n;
    return true;
}

static uint16_t avail_slot(const struct ctx *x, uint16_t pos)
{
    return xcv_le16_load(x->w1 + x->avail_off + 4u + 2u * (size_t)(pos & (x->num - 1u)));
}

static uint16_t avail_idx(const struct ctx *x)
{
    return xcv_le16_load(x->w1 + x->avail_off + 2u);
}

/* The library's pop result must agree with the reference for the next available slot. */
static void expect_pop(struct ctx *x, int r, const struct xcv_chain *c)
{
    struct ref_seg seg[MAXNUM];
    unsigned n = 0;
    if (r == XCV_EPROTO_AVAIL_IDX) {
        FUZZ_CHECK((uint16_t)(avail_idx(x) - x->last_avail) > x->num);
        return;
    }
    uint16_t head = avail_slot(x, x->last_avail);
    bool ok = ref_walk(x, head, seg, &n);
    if (r != XCV_OK) {
        FUZZ_CHECK(!ok); /* refused a chain the rules accept */
        return;
    }
    FUZZ_CHECK(ok); /* accepted a chain the rules refuse */
    FUZZ_CHECK(c->head == head);
    FUZZ_CHECK((unsigned)c->n_out + c->n_in == n);
    for (unsigned k = 0; k < n; k++) {
        FUZZ_CHECK(c->iov[k].base == seg[k].base && c->iov[k].len == seg[k].len);
        FUZZ_CHECK(seg[k].write == (k >= c->n_out));
    }
    x->last_avail++;
}

/* Check a chain the device role handed out, then use it the way a device model would. */
static void check_chain(struct ctx *x, const struct xcv_chain *c)
{
    unsigned n = (unsigned)c->n_out + c->n_in;
    FUZZ_CHECK(n >= 1u);
    FUZZ_CHECK(n <= x->max_chain);
    FUZZ_CHECK(n <= c->cap);
    FUZZ_CHECK(c->head < x->num);
    for (unsigned i = 0; i < x->n_pop; i++)
        FUZZ_CHECK(x->pop[i].head != c->head); /* popped twice without a push */
    uint64_t out = 0, in = 0;
    volatile uint8_t sink = 0;
    for (unsigned k = 0; k < n; k++) {
        FUZZ_CHECK(c->iov[k].base != NULL);
        FUZZ_CHECK(in_window(x, c->iov[k].base, c->iov[k].len));
        if (k < c->n_out) {
            out += c->iov[k].len;
            const uint8_t *p = c->iov[k].base;
            for (uint32_t j = 0; j < c->iov[k].len; j++)
                sink ^= p[j];
        } else {
            in += c->iov[k].len;
            uint8_t fill[64];
            memset(fill, (int)(0xd0u + k), sizeof fill);
            uint8_t *p = c->iov[k].base;
            for (uint32_t j = 0; j < c->iov[k].len; j += (uint32_t)sizeof fill) {
                uint32_t m = c->iov[k].len - j < sizeof fill ? c->iov[k].len - j : sizeof fill;
                shadow_write(x, p + j, fill, m);
            }
        }
    }
    (void)sink;
    FUZZ_CHECK(out == c->out_len);
    FUZZ_CHECK(in == c->in_len);
}

static void add_popped(struct ctx *x, const struct xcv_chain *c)
{
    FUZZ_CHECK(x->n_pop < x->num);
    x->pop[x->n_pop].head = c->head;
    x->pop[x->n_pop].in_len = c->in_len;
    x->n_pop++;
}

static void remove_popped(struct ctx *x, unsigned i)
{
    x->pop[i] = x->pop[--x->n_pop];
}

/* A protocol error: it must be sticky, and reported once through the log hook. */
static void saw_error(struct ctx *x, int r, unsigned logs_before)
{
    FUZZ_CHECK(xcv_err_is_protocol(r));
    FUZZ_CHECK(x->broken == 0);
    x->broken = r;
    FUZZ_CHECK(xcv_vq_device_broken(&x->q) == r);
    FUZZ_CHECK(x->logs == logs_before + 1u && x->last_log_err == r);
}

static int handler(void *c, const struct xcv_chain *chain, uint32_t *written)
{
    struct ctx *x = c;
    expect_pop(x, XCV_OK, chain);
    check_chain(x, chain);
    uint8_t mode = fin_u8(x->script);
    switch (mode % 4u) {
    case 0:
    case 1:
        *written = chain->in_len == 0 ? 0 : (uint32_t)(((uint64_t)chain->in_len * mode) / 255u);
        return 0;
    case 2:
        add_popped(x, chain); /* kept: pushed later by DEV_OP_PUSH */
        return 1;
    default:
        return XCV_EIO;
    }
}

static void run(struct ctx *x, struct fuzz_in *s)
{
    struct xcv_iov *iov = malloc(sizeof(struct xcv_iov) * x->max_chain); /* exact: ASan */
    FUZZ_CHECK(iov != NULL);
    x->script = s;
    while (s->n > 0) {
        uint8_t op = (uint8_t)(fin_u8(s) % DEV_OP_COUNT);
        unsigned logs = x->logs;
        bool was_broken = x->broken != 0;
        int r;
        switch (op) {
        case DEV_OP_POP: {
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            r = xcv_vq_device_pop(&x->q, &c);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else if (r == XCV_OK) {
                expect_pop(x, r, &c);
                check_chain(x, &c);
                add_popped(x, &c);
            } else if (r != XCV_EAGAIN) {
                expect_pop(x, r, &c);
                saw_error(x, r, logs);
            }
            break;
        }
        case DEV_OP_PUSH: {
            uint8_t which = fin_u8(s);
            uint8_t frac = fin_u8(s);
            if (x->n_pop == 0)
                break;
            unsigned i = which % x->n_pop;
            uint32_t len = (uint32_t)(((uint64_t)x->pop[i].in_len * frac) / 255u);
            r = xcv_vq_device_push(&x->q, x->pop[i].head, len);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                FUZZ_CHECK(r == XCV_OK);
                remove_popped(x, i);
                x->unpublished++;
            }
            break;
        }
        case DEV_OP_PUSH_ANY: {
            uint16_t head = fin_u16(s);
            uint32_t len = fin_u32(s);
            r = xcv_vq_device_push(&x->q, head, len);
            int found = -1;
            for (unsigned i = 0; i < x->n_pop; i++)
                if (x->pop[i].head == head)
                    found = (int)i;
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else if (found >= 0 && len <= x->pop[found].in_len) {
                FUZZ_CHECK(r == XCV_OK);
                remove_popped(x, (unsigned)found);
                x->unpublished++;
            } else {
                FUZZ_CHECK(r == XCV_EINVAL); /* a caller error never breaks the queue */
                FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
            }
            break;
        }
        case DEV_OP_PUBLISH:
            r = xcv_vq_device_publish(&x->q);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                FUZZ_CHECK(r == (int)x->unpublished);
                x->unpublished = 0;
            }
            break;
        case DEV_OP_SHOULD_NOTIFY:
            r = xcv_vq_device_should_notify(&x->q);
            FUZZ_CHECK(was_broken ? r == XCV_EBROKEN : (r == 0 || r == 1));
            break;
        case DEV_OP_FLUSH: {
            unsigned before = x->notifies;
            r = xcv_vq_device_flush(&x->q);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                FUZZ_CHECK(r == 0 || r == 1);
                FUZZ_CHECK(x->notifies == before + (unsigned)r);
                x->unpublished = 0;
            }
            break;
        }
        case DEV_OP_PROCESS: {
            unsigned budget = fin_u8(s) % 8u;
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            unsigned before = x->n_pop;
            r = xcv_vq_device_process(&x->q, budget, &c, handler, x);
            if (was_broken) {
                /* With a zero budget nothing is popped; the library then returns 0. */
                FUZZ_CHECK(r == XCV_EBROKEN || (budget == 0 && r == 0));
            } else if (r >= 0) {
                FUZZ_CHECK((unsigned)r <= budget);
                FUZZ_CHECK(x->n_pop >= before);
            } else if (r == XCV_EIO) {
                FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0); /* handler stop, not broken */
            } else {
                saw_error(x, r, logs);
            }
            if (x->broken == 0)
                x->unpublished = 0; /* process ends with a flush */
            break;
        }
        case DEV_OP_ENABLE_NOTIFY:
            r = xcv_vq_device_enable_notify(&x->q);
            if (was_broken)
                FUZZ_CHECK(r == XCV_EBROKEN);
            else if (r == 0 || r == 1)
                FUZZ_CHECK(r == (avail_idx(x) != x->last_avail));
            else {
                FUZZ_CHECK(r == XCV_EPROTO_AVAIL_IDX);
                FUZZ_CHECK((uint16_t)(avail_idx(x) - x->last_avail) > x->num);
                saw_error(x, r, logs);
            }
            break;
        case DEV_OP_DISABLE_NOTIFY:
            xcv_vq_device_disable_notify(&x->q);
            break;
        case DEV_OP_PATCH: {
            uint16_t off = fin_u16(s);
            uint8_t len = fin_u8(s) % 17u;
            uint8_t buf[16];
            for (unsigned k = 0; k < len; k++)
                buf[k] = fin_u8(s);
            uint32_t total = WIN1 + (x->two_windows ? WIN2 : 0u);
            uint32_t o = off % total;
            if (len > total - o)
                len = (uint8_t)(total - o);
            if (o < WIN1) {
                if (len > WIN1 - o)
                    len = (uint8_t)(WIN1 - o);
                shadow_write(x, x->w1 + o, buf, len);
            } else {
                shadow_write(x, x->w2 + (o - WIN1), buf, len);
            }
            break;
        }
        case DEV_OP_AVAIL_BUMP: {
            uint8_t by = fin_u8(s);
            uint8_t *p = x->w1 + x->avail_off + 2u;
            uint8_t v[2];
            xcv_le16_store(v, (uint16_t)(xcv_le16_load(p) + by % (x->num + 2u)));
            shadow_write(x, p, v, 2);
            break;
        }
        case DEV_OP_DESC: {
            /* Structured write: ring table or the indirect area at IND_AREA in window 1. */
            uint8_t sel = fin_u8(s);
            uint8_t fl = fin_u8(s);
            uint16_t off = fin_u16(s);
            uint16_t len = fin_u16(s);
            uint8_t next = fin_u8(s);
            uint8_t d[XCV_VRING_DESC_SIZE];
            uint64_t base = (fl & 8u) && x->two_windows ? x->win[1].bus_base : x->win[0].bus_base;
            xcv_le64_store(d, base + off);
            xcv_le32_store(d + 8, len);
            xcv_le16_store(d + 12, (uint16_t)(fl & 7u));
            xcv_le16_store(d + 14, next);
            size_t at = (sel & 1u)
                            ? IND_AREA + ((size_t)(sel >> 1) % 32u) * XCV_VRING_DESC_SIZE
                            : x->desc_off + ((size_t)(sel >> 1) % x->num) * XCV_VRING_DESC_SIZE;
            if (at + sizeof d <= WIN1)
                shadow_write(x, x->w1 + at, d, sizeof d);
            break;
        }
        case DEV_OP_RESET:
            xcv_vq_device_reset(&x->q);
            FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
            FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == 0);
            x->broken = 0;
            x->n_pop = 0;
            x->unpublished = 0;
            x->last_avail = 0;
            break;
        default:
            break;
        }
        /* After every step: */
        if (x->broken != 0)
            FUZZ_CHECK(xcv_vq_device_broken(&x->q) == x->broken);
        else
            FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
        if (x->broken == 0)
            FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == x->n_pop);
        /* The device wrote nothing outside the used ring. */
        size_t used_end = x->used_off + XCV_VRING_USED_BYTES(x->num);
        FUZZ_CHECK(memcmp(x->w1, x->shadow1, x->used_off) == 0);
        FUZZ_CHECK(memcmp(x->w1 + used_end, x->shadow1 + used_end, WIN1 - used_end) == 0);
        if (x->two_windows)
            FUZZ_CHECK(memcmp(x->w2, x->shadow2, WIN2) == 0);
        memcpy(x->shadow1 + x->used_off, x->w1 + x->used_off, used_end - x->used_off);
    }
    free(iov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    uint8_t cfg = fin_u8(&in);
    x.num = (uint16_t)(1u << (fin_u8(&in) % 6u));
    uint16_t mc = (uint16_t)(fin_u8(&in) % (x.num + 1u));
    x.max_chain = mc != 0 ? mc : x.num;
    uint16_t script_len = fin_u16(&in);
    x.two_windows = (cfg & 4u) != 0;

    size_t desc_off = 0;
    x.indirect = (cfg & 2u) != 0;
    x.avail_off = XCV_VRING_AVAIL_OFFSET(x.num);
    x.used_off = XCV_VRING_USED_OFFSET(x.num, XCV_CACHE_LINE_DEFAULT);
    if (cfg & 8u) {
        desc_off = fin_u16(&in) % WIN1;
        x.avail_off = fin_u16(&in) % WIN1;
        x.used_off = fin_u16(&in) % WIN1;
    }
    static const uint64_t bases[4] = {0, 0x1000, 0x80000000u,
                                      (UINT64_MAX - WIN1) & ~(uint64_t)0xfff};
    uint64_t bus1 = bases[(cfg >> 4) & 3u];
    uint64_t bus2 = bus1 >= 0x100000u ? bus1 - 0x100000u : bus1 + 0x100000u;

    struct fuzz_in script = fin_take(&in, script_len);

    x.w1 = malloc(WIN1); /* exact sizes, so AddressSanitizer sees any access past the end */
    x.w2 = malloc(WIN2);
    x.shadow1 = malloc(WIN1);
    x.shadow2 = malloc(WIN2);
    FUZZ_CHECK(x.w1 && x.w2 && x.shadow1 && x.shadow2);
    memset(x.w1, 0, WIN1);
    memset(x.w2, 0, WIN2);
    struct fuzz_in img1 = fin_take(&in, WIN1);
    memcpy(x.w1, img1.p, img1.n);
    struct fuzz_in img2 = fin_take(&in, WIN2);
    memcpy(x.w2, img2.p, img2.n);
    memcpy(x.shadow1, x.w1, WIN1);
    memcpy(x.shadow2, x.w2, WIN2);

    FUZZ_CHECK(xcv_window_init(&x.win[0], x.w1, bus1, WIN1) == XCV_OK);
    FUZZ_CHECK(xcv_window_init(&x.win[1], x.w2, bus2, WIN2) == XCV_OK);
    x.mem.windows = x.win;
    x.mem.count = x.two_windows ? 2u : 1u;

    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
    if (cfg & 1u)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (cfg & 2u)
        features |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    struct xcv_vq_dev_slot *slots = malloc(XCV_VQ_DEVICE_SLOTS_BYTES(x.num));
    FUZZ_CHECK(slots != NULL);
    const struct xcv_port port = {.ops = &g_ops, .ctx = &x};
    const struct xcv_vq_device_config vc = {
        .mem = &x.mem,
        .num = x.num,
        .desc_bus = bus1 + desc_off,
        .avail_bus = bus1 + x.avail_off,
        .used_bus = bus1 + x.used_off,
        .features = features,
        .max_chain = mc,
        .slots = slots,
        .port = &port,
        .doorbell = 7,
    };
    int r = xcv_vq_device_init(&x.q, &vc);
    bool placed = x.used_off + XCV_VRING_USED_BYTES(x.num) <= WIN1 &&
                  x.avail_off + XCV_VRING_AVAIL_BYTES(x.num) <= WIN1 &&
                  desc_off + XCV_VRING_DESC_BYTES(x.num) <= WIN1;
    bool aligned = (desc_off % 16u) == 0 && (x.avail_off % 2u) == 0 && (x.used_off % 4u) == 0;
    if (placed && aligned) {
        FUZZ_CHECK(r == XCV_OK);
        x.desc_off = desc_off;
        run(&x, &script);
    } else {
        FUZZ_CHECK(r == XCV_EPROTO_LAYOUT || r == XCV_EPROTO_WINDOW || r == XCV_EPROTO_OVERFLOW);
        /* Init wrote nothing. */
        FUZZ_CHECK(memcmp(x.w1, x.shadow1, WIN1) == 0);
    }
    free(slots);
    free(x.w1);
    free(x.w2);
    free(x.shadow1);
    free(x.shadow2);
    return 0;
}
