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
 *   rest       the initial contents of window 1 (FZ_WIN1 bytes), then window 2 (FZ_WIN2 bytes)
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
#include "fuzz_ring.h"

struct popped {
    uint16_t head;
    uint32_t in_len;
};

struct ctx {
    struct xcv_vq_device q;
    struct fz_wins m;
    struct fz_port port;
    uint16_t num;
    uint16_t max_chain; /* effective */
    size_t desc_off;
    size_t avail_off;
    size_t used_off;
    bool indirect;
    uint16_t last_avail; /* model: chains popped since reset */
    struct popped pop[FZ_MAXNUM];
    unsigned n_pop;
    unsigned unpublished;
    int broken; /* the protocol error seen, or 0 */
    struct fuzz_in *script;
};

static int find_popped(const struct ctx *x, uint16_t head)
{
    int found = -1;
    for (unsigned i = 0; i < x->n_pop; i++)
        if (x->pop[i].head == head)
            found = (int)i;
    return found;
}

/*
 * Reference check of a chain, written from the rules in vq_device.h and the virtio spec
 * (2.7.5 and 2.7.5.3), independently of the library: the harness's oracle.
 * Returns true and fills @p w when the chain at @p head is valid.
 */
static bool ref_walk(const struct ctx *x, uint32_t head, struct fz_walk *w)
{
    uint16_t nring;
    if (head >= x->num)
        return false;
    if (find_popped(x, (uint16_t)head) >= 0)
        return false; /* still in flight on the device */
    return fz_split_walk(&x->m, x->desc_off, x->num, x->indirect, x->max_chain, (uint16_t)head, w,
                         &nring);
}

static uint16_t avail_idx(const struct ctx *x)
{
    return xcv_le16_load(x->m.w1 + x->avail_off + 2u);
}

/* The library's pop result must agree with the reference for the next available slot. */
static void expect_pop(struct ctx *x, int r, const struct xcv_chain *c)
{
    struct fz_walk w;
    if (r == XCV_EPROTO_AVAIL_IDX) {
        FUZZ_CHECK((uint16_t)(avail_idx(x) - x->last_avail) > x->num);
        return;
    }
    uint16_t head = xcv_le16_load(x->m.w1 + fz_avail_slot_off(x->avail_off, x->num, x->last_avail));
    bool ok = ref_walk(x, head, &w);
    if (r != XCV_OK) {
        FUZZ_CHECK(!ok); /* refused a chain the rules accept */
        return;
    }
    FUZZ_CHECK(ok); /* accepted a chain the rules refuse */
    fz_same_chain(c, head, &w);
    x->last_avail++;
}

/* Check a chain the device role handed out, then use it the way a device model would. */
static void check_chain(struct ctx *x, const struct xcv_chain *c)
{
    fz_use_chain(&x->m, c, x->max_chain, x->num);
    FUZZ_CHECK(find_popped(x, c->head) < 0); /* popped twice without a push */
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
    fz_broke(&x->broken, r, xcv_vq_device_broken(&x->q), &x->port, logs_before);
}

static int handler(void *c, const struct xcv_chain *chain, uint32_t *written)
{
    struct ctx *x = c;
    expect_pop(x, XCV_OK, chain);
    check_chain(x, chain);
    int ret = fz_handler_answer(x->script, chain, written);
    if (ret == 1)
        add_popped(x, chain); /* kept: pushed later by DEV_OP_PUSH */
    return ret;
}

static void run(struct ctx *x, struct fuzz_in *s)
{
    struct xcv_iov *iov = fz_iov_alloc(x->max_chain);
    x->script = s;
    while (s->n > 0) {
        uint8_t op = (uint8_t)(fin_u8(s) % DEV_OP_COUNT);
        unsigned logs = x->port.logs;
        bool was_broken = x->broken != 0;
        int r;
        switch (op) {
        case DEV_OP_POP: {
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            r = xcv_vq_device_pop(&x->q, &c);
            if (fz_stays_broken(was_broken, r))
                break;
            if (r == XCV_OK) {
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
            uint32_t len = fz_part(x->pop[i].in_len, frac);
            if (frac & 1u) {
                /* Through push_burst, with a second entry that is refused (pushed already):
                 * the first is staged, the burst stops at the second. */
                struct xcv_chain_done d[2] = {{x->pop[i].head, len}, {x->pop[i].head, 0}};
                r = xcv_vq_device_push_burst(&x->q, d, 2);
                if (fz_stays_broken(was_broken, r))
                    break;
                FUZZ_CHECK(r == 1);
            } else {
                r = xcv_vq_device_push(&x->q, x->pop[i].head, len);
                if (fz_stays_broken(was_broken, r))
                    break;
                FUZZ_CHECK(r == XCV_OK);
            }
            remove_popped(x, i);
            x->unpublished++;
            break;
        }
        case DEV_OP_PUSH_ANY: {
            uint16_t head = fin_u16(s);
            uint32_t len = fin_u32(s);
            r = xcv_vq_device_push(&x->q, head, len);
            int found = find_popped(x, head);
            if (fz_stays_broken(was_broken, r))
                break;
            if (found >= 0 && len <= x->pop[found].in_len) {
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
            if (fz_stays_broken(was_broken, r))
                break;
            FUZZ_CHECK(r == (int)x->unpublished);
            x->unpublished = 0;
            break;
        case DEV_OP_SHOULD_NOTIFY:
            r = xcv_vq_device_should_notify(&x->q);
            if (!fz_stays_broken(was_broken, r))
                FUZZ_CHECK(r == 0 || r == 1);
            break;
        case DEV_OP_FLUSH: {
            unsigned before = x->port.notifies;
            r = xcv_vq_device_flush(&x->q);
            if (fz_stays_broken(was_broken, r))
                break;
            FUZZ_CHECK(r == 0 || r == 1);
            FUZZ_CHECK(x->port.notifies == before + (unsigned)r);
            x->unpublished = 0;
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
            if (fz_stays_broken(was_broken, r))
                break;
            if (r == 0 || r == 1) {
                FUZZ_CHECK(r == (avail_idx(x) != x->last_avail));
            } else {
                FUZZ_CHECK(r == XCV_EPROTO_AVAIL_IDX);
                FUZZ_CHECK((uint16_t)(avail_idx(x) - x->last_avail) > x->num);
                saw_error(x, r, logs);
            }
            break;
        case DEV_OP_DISABLE_NOTIFY:
            xcv_vq_device_disable_notify(&x->q);
            break;
        case DEV_OP_PATCH:
            fz_patch(&x->m, s);
            break;
        case DEV_OP_AVAIL_BUMP:
            fz_avail_bump(&x->m, s, x->avail_off, x->num);
            break;
        case DEV_OP_DESC:
            /* Structured write: ring table or the indirect area at FZ_IND_AREA in window 1. */
            fz_split_any_desc(&x->m, s, x->desc_off, x->num, 0);
            break;
        case DEV_OP_RESET:
            fz_dev_reset(&x->q);
            x->broken = 0;
            x->n_pop = 0;
            x->unpublished = 0;
            x->last_avail = 0;
            break;
        default:
            break;
        }
        /* After every step: */
        FUZZ_CHECK(xcv_vq_device_broken(&x->q) == x->broken);
        if (x->broken == 0)
            FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == x->n_pop);
        /* The device wrote nothing outside the used ring. */
        size_t used_end = x->used_off + XCV_VRING_USED_BYTES(x->num);
        FUZZ_CHECK(memcmp(x->m.w1, x->m.shadow1, x->used_off) == 0);
        FUZZ_CHECK(memcmp(x->m.w1 + used_end, x->m.shadow1 + used_end, FZ_WIN1 - used_end) == 0);
        if (x->m.two)
            FUZZ_CHECK(memcmp(x->m.w2, x->m.shadow2, FZ_WIN2) == 0);
        memcpy(x->m.shadow1 + x->used_off, x->m.w1 + x->used_off, used_end - x->used_off);
    }
    free(iov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    struct fz_dev_input h;
    fz_dev_input(&in, fz_pow2_sizes, 6, false, &h, &x.m);
    x.num = h.num;
    x.max_chain = h.max_chain;
    x.indirect = (h.cfg & 2u) != 0;
    x.avail_off = h.off[1];
    x.used_off = h.off[2];

    struct xcv_vq_dev_slot *slots;
    uint64_t features = fz_features(0, (h.cfg & 1u) != 0, x.indirect);
    if (fz_dev_open(&x.q, &x.port, &x.m, &h, features, false, false, &slots)) {
        x.desc_off = h.off[0];
        run(&x, &h.script);
    }
    free(slots);
    fz_wins_close(&x.m);
    return 0;
}
