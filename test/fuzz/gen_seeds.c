/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpus of the fuzz harnesses (committed under test/fuzz/corpus/).
 *
 *   cc -std=c11 -Iinclude -Itest/fuzz test/fuzz/gen_seeds.c -o gen_seeds
 *   ./gen_seeds test/fuzz/corpus
 *
 * The seeds are small, valid-looking inputs in each harness's format (described at the top of
 * the harness): a few well-formed rings and scripts, plus a few classic attacks (a descriptor
 * loop, a nested indirect table, a used id that was never posted), so fuzzing starts deep in
 * the code instead of at the format parser. Only the header virtio.h/vring.h macros are used:
 * the seeds do not depend on the library implementation.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xcvirtio/virtio.h"
#include "xcvirtio/vring.h"

#include "fuzz_common.h"

#define WIN1 2048u /* must match FZ_WIN1 of the *_device_pop.c harnesses (fuzz_ring.h) */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put8(struct buf *o, unsigned v)
{
    o->b[o->n++] = (uint8_t)v;
}
static void put16(struct buf *o, unsigned v)
{
    put8(o, v & 0xffu);
    put8(o, (v >> 8) & 0xffu);
}
static void put32(struct buf *o, uint32_t v)
{
    put16(o, v & 0xffffu);
    put16(o, v >> 16);
}

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* ---- fuzz_vq_device_pop ---- */

struct dev_seed {
    uint8_t cfg, log2num, max_chain;
    struct buf script;
    uint8_t win[WIN1 + 512];
    uint16_t num;
};

static void desc(struct dev_seed *s, size_t table_off, unsigned i, uint64_t addr, uint32_t len,
                 unsigned flags, unsigned next)
{
    uint8_t *d = s->win + table_off + (size_t)i * XCV_VRING_DESC_SIZE;
    xcv_le64_store(d, addr);
    xcv_le32_store(d + 8, len);
    xcv_le16_store(d + 12, (uint16_t)flags);
    xcv_le16_store(d + 14, (uint16_t)next);
}

/* Standard layout at offset 0: publish @p heads (count @p n) in the available ring. */
static void avail(struct dev_seed *s, const unsigned *heads, unsigned n)
{
    uint8_t *a = s->win + XCV_VRING_AVAIL_OFFSET(s->num);
    for (unsigned i = 0; i < n; i++)
        xcv_le16_store(a + 4 + 2 * i, (uint16_t)heads[i]);
    xcv_le16_store(a + 2, (uint16_t)n);
}

/* A DEV_OP_DESC step: @p sel bit0 picks the indirect area, the rest the index. */
static void script_desc(struct dev_seed *s, unsigned sel, unsigned flags, unsigned off,
                        unsigned len, unsigned next)
{
    put8(&s->script, DEV_OP_DESC);
    put8(&s->script, sel);
    put8(&s->script, flags);
    put16(&s->script, off);
    put16(&s->script, len);
    put8(&s->script, next);
}

static int dev_emit(const char *dir, const char *name, struct dev_seed *s)
{
    struct buf o = {.n = 0};
    put8(&o, s->cfg);
    put8(&o, s->log2num);
    put8(&o, s->max_chain);
    put16(&o, (unsigned)s->script.n);
    memcpy(o.b + o.n, s->script.b, s->script.n);
    o.n += s->script.n;
    size_t img = sizeof s->win;
    while (img > 0 && s->win[img - 1] == 0)
        img--; /* trailing zeros are implied */
    memcpy(o.b + o.n, s->win, img);
    o.n += img;
    return write_file(dir, name, o.b, o.n);
}

static void dev_init(struct dev_seed *s, uint8_t cfg, uint8_t log2num, uint8_t max_chain)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->log2num = log2num;
    s->max_chain = max_chain;
    s->num = (uint16_t)(1u << log2num);
}

static int dev_seeds(const char *dir)
{
    struct dev_seed s;
    int rc = 0;

    /* 1: EVENT_IDX + INDIRECT, 16 entries: a 2-segment chain, an indirect chain, a single. */
    dev_init(&s, 0x03, 4, 0);
    desc(&s, 0, 0, 0x400, 32, XCV_VRING_DESC_F_NEXT, 1);
    desc(&s, 0, 1, 0x500, 64, XCV_VRING_DESC_F_WRITE, 0);
    desc(&s, 0, 2, 0x600, 48, XCV_VRING_DESC_F_INDIRECT, 0);
    desc(&s, 0x600, 0, 0x440, 16, XCV_VRING_DESC_F_NEXT, 1);
    desc(&s, 0x600, 1, 0x540, 32, XCV_VRING_DESC_F_WRITE | XCV_VRING_DESC_F_NEXT, 2);
    desc(&s, 0x600, 2, 0x580, 32, XCV_VRING_DESC_F_WRITE, 0);
    desc(&s, 0, 5, 0x480, 8, 0, 0);
    avail(&s, (const unsigned[]){0, 2, 5}, 3);
    memset(s.win + 0x400, 0x41, 32);
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 255);
    put8(&s.script, DEV_OP_FLUSH);
    put8(&s.script, DEV_OP_PROCESS), put8(&s.script, 4), put8(&s.script, 0);
    put8(&s.script, DEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 128);
    put8(&s.script, DEV_OP_PUBLISH);
    put8(&s.script, DEV_OP_SHOULD_NOTIFY);
    put8(&s.script, DEV_OP_ENABLE_NOTIFY);
    put8(&s.script, DEV_OP_AVAIL_BUMP), put8(&s.script, 1);
    put8(&s.script, DEV_OP_POP);
    rc |= dev_emit(dir, "ring16_event_indirect.bin", &s);

    /* 2: no features, 8 entries, max_chain 4: chains of 1 and 3, then a reset and replay. */
    dev_init(&s, 0x00, 3, 4);
    desc(&s, 0, 0, 0x300, 100, 0, 0);
    desc(&s, 0, 1, 0x380, 20, XCV_VRING_DESC_F_NEXT, 2);
    desc(&s, 0, 2, 0x3a0, 20, XCV_VRING_DESC_F_NEXT, 3);
    desc(&s, 0, 3, 0x3c0, 40, XCV_VRING_DESC_F_WRITE, 0);
    avail(&s, (const unsigned[]){0, 1}, 2);
    put8(&s.script, DEV_OP_PROCESS), put8(&s.script, 7), put8(&s.script, 1);
    put8(&s.script, 2);
    put8(&s.script, DEV_OP_PUSH_ANY), put16(&s.script, 1), put32(&s.script, 40);
    put8(&s.script, DEV_OP_FLUSH);
    put8(&s.script, DEV_OP_RESET);
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_DISABLE_NOTIFY);
    rc |= dev_emit(dir, "ring8_plain_maxchain4.bin", &s);

    /* 3: a descriptor loop (0 -> 1 -> 0) and a nested indirect table: both must be refused. */
    dev_init(&s, 0x02, 2, 0);
    desc(&s, 0, 0, 0x200, 8, XCV_VRING_DESC_F_NEXT, 1);
    desc(&s, 0, 1, 0x208, 8, XCV_VRING_DESC_F_NEXT, 0);
    desc(&s, 0, 2, 0x300, 32, XCV_VRING_DESC_F_INDIRECT, 0);
    desc(&s, 0x300, 0, 0x340, 16, XCV_VRING_DESC_F_INDIRECT, 0);
    avail(&s, (const unsigned[]){2, 0}, 2);
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_RESET);
    put8(&s.script, DEV_OP_PATCH), put16(&s.script, 0x20 + 12); /* desc 2 flags := 0 */
    put8(&s.script, 1), put8(&s.script, 0);
    put8(&s.script, DEV_OP_POP);
    rc |= dev_emit(dir, "loop_nested_indirect.bin", &s);

    /* 4: two windows (window 2 at bus 0x100000), one chain with a buffer in each. */
    dev_init(&s, 0x04 | 0x01, 1, 0);
    desc(&s, 0, 0, 0x100, 16, XCV_VRING_DESC_F_NEXT, 1);
    desc(&s, 0, 1, 0x100000 + 0x10, 64, XCV_VRING_DESC_F_WRITE, 0);
    avail(&s, (const unsigned[]){0}, 1);
    s.win[WIN1 + 0x10] = 0x5a;
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 255);
    put8(&s.script, DEV_OP_FLUSH);
    put8(&s.script, DEV_OP_ENABLE_NOTIFY);
    rc |= dev_emit(dir, "two_windows.bin", &s);

    /* 5: an empty window; the script builds an indirect chain descriptor by descriptor. */
    dev_init(&s, 0x03, 3, 0);
    script_desc(&s, 0 << 1, XCV_VRING_DESC_F_INDIRECT, 0x600, 48, 0);
    script_desc(&s, (0 << 1) | 1, XCV_VRING_DESC_F_NEXT, 0x400, 16, 1);
    script_desc(&s, (1 << 1) | 1, XCV_VRING_DESC_F_NEXT | XCV_VRING_DESC_F_WRITE, 0x500, 32, 2);
    script_desc(&s, (2 << 1) | 1, XCV_VRING_DESC_F_WRITE, 0x540, 8, 0);
    put8(&s.script, DEV_OP_AVAIL_BUMP), put8(&s.script, 1);
    put8(&s.script, DEV_OP_POP);
    put8(&s.script, DEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 200);
    put8(&s.script, DEV_OP_FLUSH);
    rc |= dev_emit(dir, "script_built_indirect.bin", &s);
    return rc;
}

/* ---- fuzz_vq_driver_used ---- */

static int drv_seeds(const char *dir)
{
    struct buf o;
    int rc = 0;

    /* 1: EVENT_IDX, 8 entries: post 3 chains, complete them properly, drain, post again. */
    o.n = 0;
    put8(&o, 0x01), put8(&o, 3);
    put8(&o, DRV_OP_ADD), put8(&o, 1 | (1 << 3)), put8(&o, 31), put8(&o, 63);
    put8(&o, DRV_OP_ADD), put8(&o, 2 | (2 << 3)), put8(&o, 7), put8(&o, 7), put8(&o, 15),
        put8(&o, 15);
    put8(&o, DRV_OP_ADD), put8(&o, 0 | (1 << 3)), put8(&o, 127);
    put8(&o, DRV_OP_KICK_PREPARE);
    put8(&o, DRV_OP_COMPLETE), put8(&o, 3), put32(&o, 10), put32(&o, 20), put32(&o, 30);
    put8(&o, DRV_OP_GET_USED), put8(&o, 4);
    put8(&o, DRV_OP_ENABLE_NOTIFY);
    put8(&o, DRV_OP_ADD), put8(&o, 1), put8(&o, 9);
    put8(&o, DRV_OP_PUBLISH);
    put8(&o, DRV_OP_USED_MISC), put16(&o, 1), put16(&o, 4);
    put8(&o, DRV_OP_KICK_PREPARE);
    put8(&o, DRV_OP_DISABLE_NOTIFY);
    rc |= write_file(dir, "event_idx_roundtrip.bin", o.b, o.n);

    /* 2: INDIRECT + prefer, 4 entries: post, then a used id that was never a head. */
    o.n = 0;
    put8(&o, 0x06), put8(&o, 2);
    put8(&o, DRV_OP_ADD), put8(&o, 3 | (3 << 3)), put8(&o, 1), put8(&o, 2), put8(&o, 3),
        put8(&o, 4), put8(&o, 5), put8(&o, 6);
    put8(&o, DRV_OP_ADD), put8(&o, 1 | (1 << 3)), put8(&o, 10), put8(&o, 20);
    put8(&o, DRV_OP_KICK_PREPARE);
    put8(&o, DRV_OP_USED_ENTRY), put8(&o, 0), put8(&o, 0), put8(&o, 3), put32(&o, 0);
    put8(&o, DRV_OP_USED_IDX_ADD), put8(&o, 1);
    put8(&o, DRV_OP_GET_USED), put8(&o, 1);
    put8(&o, DRV_OP_RECOVER);
    put8(&o, DRV_OP_ADD), put8(&o, 1), put8(&o, 1);
    rc |= write_file(dir, "indirect_bad_id.bin", o.b, o.n);

    /* 3: no features, 2 entries: fill the ring, over-long used length, used index jump. */
    o.n = 0;
    put8(&o, 0x00), put8(&o, 1);
    put8(&o, DRV_OP_ADD), put8(&o, 0 | (1 << 3)), put8(&o, 15);
    put8(&o, DRV_OP_ADD), put8(&o, 1), put8(&o, 15);
    put8(&o, DRV_OP_ADD), put8(&o, 1), put8(&o, 15);
    put8(&o, DRV_OP_KICK_PREPARE);
    put8(&o, DRV_OP_COMPLETE), put8(&o, 1), put32(&o, 16);
    put8(&o, DRV_OP_GET_USED), put8(&o, 0);
    put8(&o, DRV_OP_USED_ENTRY), put8(&o, 0), put8(&o, 0), put8(&o, 0), put32(&o, 1000);
    put8(&o, DRV_OP_USED_IDX_SET), put16(&o, 9);
    put8(&o, DRV_OP_ENABLE_NOTIFY);
    put8(&o, DRV_OP_GET_USED), put8(&o, 0);
    rc |= write_file(dir, "plain_bad_len_idx.bin", o.b, o.n);
    return rc;
}

/* ---- fuzz_vq_packed_device_pop ---- */

/* Size selectors of fuzz_vq_packed_device_pop (its SIZES table): 0 -> 8, 1 -> 6, 2 -> 1,
 * 3 -> 2, 4 -> 3, 5 -> 5, 6 -> 16, 7 -> 32. */
static void pdev_init(struct dev_seed *s, uint8_t cfg, uint8_t size_sel, uint16_t num,
                      uint8_t max_chain)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->log2num = size_sel; /* the same byte of the input */
    s->max_chain = max_chain;
    s->num = num;
}

/* A packed descriptor at ring position @p pos (standard layout: the ring at offset 0). */
static void pdesc(struct dev_seed *s, unsigned pos, uint64_t addr, uint32_t len, unsigned id,
                  unsigned flags)
{
    uint8_t *d = s->win + (size_t)pos * XCV_VRING_DESC_SIZE;
    xcv_le64_store(d, addr);
    xcv_le32_store(d + 8, len);
    xcv_le16_store(d + 12, (uint16_t)id);
    xcv_le16_store(d + 14, (uint16_t)flags);
}

/* A PDEV_OP_OFFER step: @p shape is n_out | n_in << 3 (| 0x40 hold | 0x80 resync). */
static void script_offer(struct dev_seed *s, unsigned shape, unsigned idb, unsigned n, unsigned len)
{
    put8(&s->script, PDEV_OP_OFFER);
    put8(&s->script, shape);
    put8(&s->script, idb);
    for (unsigned k = 0; k < n; k++)
        put8(&s->script, len + k);
}

static int pdev_seeds(const char *dir)
{
    struct dev_seed s;
    int rc = 0;
    const unsigned AV = XCV_VRING_PACKED_DESC_F_AVAIL; /* available in lap 0 */
    const unsigned NX = XCV_VRING_DESC_F_NEXT;
    const unsigned WR = XCV_VRING_DESC_F_WRITE;

    /* 1: EVENT_IDX, 8 entries: three chains in the ring (2, 1 and 3 descriptors), popped one
     * by one and in a burst, used out of order, published, notified on a DESC event; then the
     * driver offers more chains until the ring has wrapped. */
    pdev_init(&s, 0x01, 0, 8, 0);
    pdesc(&s, 0, 0x400, 32, 0, AV | NX);
    pdesc(&s, 1, 0x440, 64, 0, AV | WR);
    pdesc(&s, 2, 0x480, 16, 1, AV);
    pdesc(&s, 3, 0x4c0, 16, 2, AV | NX);
    pdesc(&s, 4, 0x500, 32, 2, AV | WR | NX);
    pdesc(&s, 5, 0x540, 32, 2, AV | WR);
    memset(s.win + 0x400, 0x41, 32);
    put8(&s.script, PDEV_OP_POP);
    put8(&s.script, PDEV_OP_POP_BURST), put8(&s.script, 3);
    put8(&s.script, PDEV_OP_PUSH), put8(&s.script, 2), put8(&s.script, 200);
    put8(&s.script, PDEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 255);
    put8(&s.script, PDEV_OP_EVENT), put8(&s.script, 2), put16(&s.script, 9);
    put8(&s.script, PDEV_OP_PUBLISH);
    put8(&s.script, PDEV_OP_SHOULD_NOTIFY);
    put8(&s.script, PDEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 0);
    put8(&s.script, PDEV_OP_FLUSH);
    script_offer(&s, 0x80 | 1 | (1 << 3), 0, 2, 8);
    script_offer(&s, 1, 0, 1, 4);
    script_offer(&s, 2 | (1 << 3), 0, 3, 12);
    put8(&s.script, PDEV_OP_PROCESS), put8(&s.script, 7);
    put8(&s.script, 0), put8(&s.script, 0x80), put8(&s.script, 0x81);
    script_offer(&s, 1 | (2 << 3), 0, 3, 20);
    put8(&s.script, PDEV_OP_ENABLE_NOTIFY);
    put8(&s.script, PDEV_OP_POP_OR_ARM);
    put8(&s.script, PDEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 100);
    put8(&s.script, PDEV_OP_FLUSH);
    put8(&s.script, PDEV_OP_POP_OR_ARM);
    rc |= dev_emit(dir, "ring8_event_burst_wrap.bin", &s);

    /* 2: 6 entries (not a power of two), no features: the driver offers chains of 1 to 3
     * descriptors, the device processes them, round and round for several laps. */
    pdev_init(&s, 0x00, 1, 6, 0);
    for (unsigned lap = 0; lap < 5; lap++) {
        script_offer(&s, 1, 0, 1, 10);
        script_offer(&s, 1 | (1 << 3), 0, 2, 20);
        script_offer(&s, 1 | (2 << 3), 0, 3, 30);
        put8(&s.script, PDEV_OP_PROCESS), put8(&s.script, 4);
        put8(&s.script, 0), put8(&s.script, 0x80), put8(&s.script, 0x41);
        put8(&s.script, PDEV_OP_DISABLE_NOTIFY);
    }
    put8(&s.script, PDEV_OP_RESET), put8(&s.script, 1);
    script_offer(&s, 2, 0, 2, 5);
    put8(&s.script, PDEV_OP_POP);
    rc |= dev_emit(dir, "ring6_laps.bin", &s);

    /* 3: INDIRECT_DESC negotiated, 8 entries, max_chain 4: an indirect descriptor, a NEXT
     * into a descriptor that is not available, a chain longer than max_chain, an id already
     * in flight, a readable after a writable: each must break the queue (reset in between). */
    pdev_init(&s, 0x40, 0, 8, 4);
    pdesc(&s, 0, 0x400, 48, 0, AV | XCV_VRING_DESC_F_INDIRECT);
    put8(&s.script, PDEV_OP_POP);
    put8(&s.script, PDEV_OP_RESET), put8(&s.script, 1);
    script_offer(&s, 2, 0, 2, 8);    /* positions 0-1: a good chain, id 0 */
    put8(&s.script, PDEV_OP_POP);    /* in flight: id 0 */
    script_offer(&s, 1, 0x80, 1, 8); /* position 2: id 0 again */
    put8(&s.script, PDEV_OP_POP);    /* refused: id in flight */
    put8(&s.script, PDEV_OP_RESET), put8(&s.script, 1);
    put8(&s.script, PDEV_OP_DESC), put8(&s.script, 0), put8(&s.script, NX); /* avail, NEXT */
    put16(&s.script, 0x400), put16(&s.script, 16), put8(&s.script, 1);
    put8(&s.script, PDEV_OP_POP); /* refused: position 1 is not available */
    put8(&s.script, PDEV_OP_RESET), put8(&s.script, 1);
    script_offer(&s, 5, 0, 5, 8); /* five descriptors, max_chain 4 */
    put8(&s.script, PDEV_OP_POP);
    put8(&s.script, PDEV_OP_RESET), put8(&s.script, 1);
    put8(&s.script, PDEV_OP_DESC), put8(&s.script, 0), put8(&s.script, NX | WR);
    put16(&s.script, 0x400), put16(&s.script, 16), put8(&s.script, 1);
    put8(&s.script, PDEV_OP_DESC), put8(&s.script, 1), put8(&s.script, 0);
    put16(&s.script, 0x440), put16(&s.script, 16), put8(&s.script, 1);
    put8(&s.script, PDEV_OP_POP); /* refused: readable after writable */
    put8(&s.script, PDEV_OP_POP); /* broken */
    rc |= dev_emit(dir, "attacks_indirect_next_len_id.bin", &s);

    /* 4: polled, two windows (window 2 at bus 0x100000), 5 entries: a chain with a buffer in
     * each window; a batch whose first flags the driver stores last; a whole ring in flight
     * and one more offered (more than the ring holds). */
    pdev_init(&s, 0x02 | 0x04, 5, 5, 0);
    pdesc(&s, 0, 0x100, 16, 3, AV | NX);
    pdesc(&s, 1, 0x100000 + 0x10, 64, 3, AV | WR);
    s.win[WIN1 + 0x10] = 0x5a;
    put8(&s.script, PDEV_OP_POP);
    put8(&s.script, PDEV_OP_PUSH), put8(&s.script, 0), put8(&s.script, 255);
    put8(&s.script, PDEV_OP_FLUSH);
    put8(&s.script, PDEV_OP_OFFER), put8(&s.script, 0x80 | 0x40 | 1), put8(&s.script, 0);
    put8(&s.script, 8);
    script_offer(&s, 1, 0, 1, 8);
    put8(&s.script, PDEV_OP_POP); /* nothing yet: the first flags are held */
    put8(&s.script, PDEV_OP_RELEASE);
    put8(&s.script, PDEV_OP_POP_BURST), put8(&s.script, 4);
    script_offer(&s, 3, 0, 3, 8);
    script_offer(&s, 1, 0, 1, 8);
    put8(&s.script, PDEV_OP_POP_BURST), put8(&s.script, 4);
    put8(&s.script, PDEV_OP_POP);
    rc |= dev_emit(dir, "polled_two_windows_held_full.bin", &s);
    return rc;
}

/* ---- fuzz_vq_packed_driver_used ---- */

static void pdrv_add(struct buf *o, unsigned n_out, unsigned n_in, unsigned len)
{
    put8(o, PDRV_OP_ADD), put8(o, n_out | (n_in << 3));
    for (unsigned k = 0; k < n_out + n_in; k++)
        put8(o, len + k);
}

static int pdrv_seeds(const char *dir)
{
    struct buf o;
    int rc = 0;

    /* 1: EVENT_IDX, 8 entries: post chains of 2, 3 and 1 descriptors, kick, the device uses
     * them out of order, take them in a burst and by peeking; repeat until the ring wrapped. */
    o.n = 0;
    put8(&o, 0x01), put8(&o, 3);
    for (unsigned round = 0; round < 4; round++) {
        pdrv_add(&o, 1, 1, 31);
        pdrv_add(&o, 1, 2, 7);
        pdrv_add(&o, 0, 1, 100);
        put8(&o, PDRV_OP_KICK_PREPARE), put8(&o, round & 1u);
        put8(&o, PDRV_OP_COMPLETE), put8(&o, 3);
        put8(&o, 1), put32(&o, 10);
        put8(&o, 0), put32(&o, 20);
        put8(&o, 0), put32(&o, 1000);
        put8(&o, PDRV_OP_PEEK_USED), put8(&o, 0);
        put8(&o, PDRV_OP_GET_USED_BURST), put8(&o, 8);
        put8(&o, PDRV_OP_ENABLE_NOTIFY);
        put8(&o, PDRV_OP_DEV_EVENT), put8(&o, 2), put16(&o, 9);
    }
    /* Four writable one-segment chains in a burst (0x82 % 9 == 4, bit 7: writable). */
    put8(&o, PDRV_OP_ADD_BURST), put8(&o, 0x82);
    put8(&o, 1), put8(&o, 2), put8(&o, 3), put8(&o, 4);
    put8(&o, PDRV_OP_KICK_PREPARE), put8(&o, 1);
    put8(&o, PDRV_OP_DISABLE_NOTIFY);
    put8(&o, PDRV_OP_COMPLETE), put8(&o, 2), put8(&o, 0), put32(&o, 1), put8(&o, 0), put32(&o, 2);
    put8(&o, PDRV_OP_PEEK_USED), put8(&o, 1);
    put8(&o, PDRV_OP_GET_USED), put8(&o, 3);
    rc |= write_file(dir, "event_idx_out_of_order_wrap.bin", o.b, o.n);

    /* 2: 4 entries: a used descriptor naming a chain not yet published, one with too long a
     * length, one at a position with nothing published; recovery in between. */
    o.n = 0;
    put8(&o, 0x00), put8(&o, 2);
    pdrv_add(&o, 1, 1, 15);
    put8(&o, PDRV_OP_PUBLISH);
    pdrv_add(&o, 1, 0, 15); /* not published */
    put8(&o, PDRV_OP_USED_DESC), put8(&o, 0), put8(&o, 0), put8(&o, 1), put8(&o, 0);
    put8(&o, PDRV_OP_GET_USED), put8(&o, 0);
    put8(&o, PDRV_OP_RECOVER), put8(&o, 1);
    pdrv_add(&o, 0, 1, 15);
    put8(&o, PDRV_OP_KICK_PREPARE), put8(&o, 0);
    put8(&o, PDRV_OP_USED_DESC), put8(&o, 0), put8(&o, 4), put8(&o, 0), put8(&o, 0x40);
    put8(&o, PDRV_OP_PEEK_USED), put8(&o, 0);
    put8(&o, PDRV_OP_RECOVER), put8(&o, 0);
    put8(&o, PDRV_OP_USED_DESC), put8(&o, 0), put8(&o, 0), put8(&o, 0x80), put16(&o, 0),
        put8(&o, 0);
    put8(&o, PDRV_OP_ENABLE_NOTIFY);
    put8(&o, PDRV_OP_GET_USED), put8(&o, 0);
    rc |= write_file(dir, "bad_id_len_idx.bin", o.b, o.n);

    /* 3: 1 entry: every chain takes the whole ring, so the wrap counter flips each time. */
    o.n = 0;
    put8(&o, 0x01), put8(&o, 0);
    for (unsigned round = 0; round < 6; round++) {
        pdrv_add(&o, 0, 1, 50);
        put8(&o, PDRV_OP_KICK_PREPARE), put8(&o, 1);
        put8(&o, PDRV_OP_COMPLETE), put8(&o, 1), put8(&o, 0), put32(&o, 25);
        put8(&o, PDRV_OP_GET_USED), put8(&o, 0);
        put8(&o, PDRV_OP_ENABLE_NOTIFY);
    }
    rc |= write_file(dir, "ring1_flip.bin", o.b, o.n);
    return rc;
}

/* ---- fuzz_vq_in_order_device_pop ---- */

/* An IODEV_OP_OFFER step: @p shape is (n - 1) | n_in << 2 (| 0x10 indirect, 0x20 hold the
 * index, 0x40 resync, 0x80 force); one length byte per descriptor. */
static void io_offer(struct dev_seed *s, unsigned shape, unsigned n, unsigned len)
{
    put8(&s->script, IODEV_OP_OFFER);
    put8(&s->script, shape);
    for (unsigned k = 0; k < n; k++)
        put8(&s->script, len + 8u * k);
}

/* An IODEV_OP_PUSH step: the @p k oldest chains, with the given length fractions. */
static void io_push(struct dev_seed *s, unsigned k, const unsigned *frac)
{
    put8(&s->script, IODEV_OP_PUSH);
    put8(&s->script, k - 1u);
    for (unsigned i = 0; i < k; i++)
        put8(&s->script, frac[i]);
}

static int iodev_seeds(const char *dir)
{
    struct dev_seed s;
    int rc = 0;
    const unsigned NX = XCV_VRING_DESC_F_NEXT;
    const unsigned WR = XCV_VRING_DESC_F_WRITE;

    /* 1: EVENT_IDX, 8 entries: chains of 1, 2 and 3 descriptors in table order, popped one by
     * one and in bursts; transmit-like runs of length-0 pushes ending in a written one, so one
     * used entry covers several chains; published, notified; round the table several times. */
    dev_init(&s, 0x01, 3, 0);
    for (unsigned lap = 0; lap < 4; lap++) {
        io_offer(&s, 0, 1, 16);            /* 1 readable */
        io_offer(&s, 1 | (1 << 2), 2, 20); /* readable + writable */
        io_offer(&s, 2 | (1 << 2), 3, 12); /* 2 readable + writable */
        io_offer(&s, 0, 1, 40);            /* 1 readable */
        put8(&s.script, IODEV_OP_POP);
        put8(&s.script, IODEV_OP_POP_BURST), put8(&s.script, 3);
        io_push(&s, 3, (const unsigned[]){0, 0, 200});
        put8(&s.script, IODEV_OP_PUBLISH);
        put8(&s.script, IODEV_OP_SHOULD_NOTIFY);
        io_push(&s, 1, (const unsigned[]){0});
        put8(&s.script, IODEV_OP_EVENT), put16(&s.script, 3 * lap + 2), put16(&s.script, 0);
        put8(&s.script, IODEV_OP_FLUSH);
        put8(&s.script, IODEV_OP_ENABLE_NOTIFY);
    }
    put8(&s.script, IODEV_OP_POP_OR_ARM);
    rc |= dev_emit(dir, "ring8_event_runs_laps.bin", &s);

    /* 2: INDIRECT + two windows, 4 entries: an indirect chain and direct ones, the available
     * slots full of garbage (an in-order device never reads them), handled by process with
     * lengths 0 and not; then a chain with a buffer in window 2, written descriptor by
     * descriptor at the device's next head. */
    dev_init(&s, 0x02 | 0x04, 2, 0);
    io_offer(&s, 0x10 | 2 | (2 << 2), 3, 24); /* indirect: readable + 2 writable */
    io_offer(&s, 1 << 2, 1, 64);              /* 1 writable */
    io_offer(&s, 0, 1, 8);
    put8(&s.script, IODEV_OP_SLOTS), put8(&s.script, 3);
    for (unsigned i = 0; i < 4; i++)
        put8(&s.script, i), put16(&s.script, 0xbeef + i);
    put8(&s.script, IODEV_OP_PROCESS), put8(&s.script, 7);
    put8(&s.script, 0), put8(&s.script, 0), put8(&s.script, 0x81);
    put8(&s.script, IODEV_OP_DESC), put8(&s.script, 0 << 1), put8(&s.script, NX);
    put16(&s.script, 0x410), put16(&s.script, 16), put8(&s.script, 0);
    put8(&s.script, IODEV_OP_DESC), put8(&s.script, 1 << 1), put8(&s.script, WR | 8);
    put16(&s.script, 0x20), put16(&s.script, 64), put8(&s.script, 0);
    put8(&s.script, IODEV_OP_AVAIL_BUMP), put8(&s.script, 1);
    put8(&s.script, IODEV_OP_POP);
    io_push(&s, 1, (const unsigned[]){255});
    put8(&s.script, IODEV_OP_FLUSH);
    rc |= dev_emit(dir, "indirect_two_windows_garbage_slots.bin", &s);

    /* 3: max_chain 3, 4 entries: pushes out of pop order (refused, not broken), a handler that
     * keeps a chain so process's next push is out of order, then a chain of three after which
     * the next head is one still in flight, an available index jump, and a descriptor loop. */
    dev_init(&s, 0x00, 2, 3);
    io_offer(&s, 0, 1, 8);
    io_offer(&s, 0, 1, 8);
    io_offer(&s, 1 << 2, 1, 8);
    put8(&s.script, IODEV_OP_POP_BURST), put8(&s.script, 3);
    put8(&s.script, IODEV_OP_PUSH_ANY), put8(&s.script, 1 | (1 << 1)), put16(&s.script, 0),
        put32(&s.script, 0); /* the second oldest */
    put8(&s.script, IODEV_OP_PUSH_ANY), put8(&s.script, 0x85), put16(&s.script, 0),
        put32(&s.script, 0); /* the oldest, one byte too long */
    io_push(&s, 3, (const unsigned[]){0, 0, 255});
    put8(&s.script, IODEV_OP_PUBLISH);
    io_offer(&s, 0, 1, 8);
    io_offer(&s, 0, 1, 8);
    put8(&s.script, IODEV_OP_PROCESS), put8(&s.script, 3), put8(&s.script, 2), put8(&s.script, 0);
    put8(&s.script, IODEV_OP_RESET), put8(&s.script, 3);
    io_offer(&s, 0, 1, 8); /* head 0, kept in flight */
    put8(&s.script, IODEV_OP_POP);
    put8(&s.script, IODEV_OP_DESC), put8(&s.script, 0 << 1), put8(&s.script, NX);
    put16(&s.script, 0x400), put16(&s.script, 8), put8(&s.script, 2);
    put8(&s.script, IODEV_OP_DESC), put8(&s.script, 1 << 1), put8(&s.script, NX);
    put16(&s.script, 0x408), put16(&s.script, 8), put8(&s.script, 3);
    put8(&s.script, IODEV_OP_DESC), put8(&s.script, 2 << 1), put8(&s.script, 0);
    put16(&s.script, 0x410), put16(&s.script, 8), put8(&s.script, 0);
    put8(&s.script, IODEV_OP_AVAIL_BUMP), put8(&s.script, 2);
    put8(&s.script, IODEV_OP_POP); /* 1 -> 2 -> 3: the next head is 0, still in flight */
    put8(&s.script, IODEV_OP_POP); /* refused */
    put8(&s.script, IODEV_OP_RESET), put8(&s.script, 1);
    put8(&s.script, IODEV_OP_PATCH), put16(&s.script, 16 * 4 + 2), put8(&s.script, 2),
        put8(&s.script, 9), put8(&s.script, 0); /* avail idx 9 */
    put8(&s.script, IODEV_OP_POP);
    put8(&s.script, IODEV_OP_RESET), put8(&s.script, 1);
    put8(&s.script, IODEV_OP_DESC), put8(&s.script, 0 << 1), put8(&s.script, NX);
    put16(&s.script, 0x400), put16(&s.script, 8), put8(&s.script, 0); /* 0 -> 0 */
    put8(&s.script, IODEV_OP_AVAIL_BUMP), put8(&s.script, 1);
    put8(&s.script, IODEV_OP_POP);
    put8(&s.script, IODEV_OP_PUSH_ANY), put8(&s.script, 0), put16(&s.script, 0),
        put32(&s.script, 0); /* broken */
    rc |= dev_emit(dir, "order_head_idx_loop.bin", &s);

    /* 4: polled with EVENT_IDX, 1 entry: every chain takes the whole table; chains ready
     * before the device looks, taken in a burst that runs dry, one-at-a-time laps. */
    dev_init(&s, 0x40 | 0x01, 0, 0);
    for (unsigned lap = 0; lap < 6; lap++) {
        io_offer(&s, (lap & 1u) << 2, 1, 30 + lap);
        put8(&s.script, IODEV_OP_POP_BURST), put8(&s.script, 2);
        io_push(&s, 1, (const unsigned[]){lap * 40u});
        put8(&s.script, IODEV_OP_FLUSH);
    }
    put8(&s.script, IODEV_OP_POP_OR_ARM);
    rc |= dev_emit(dir, "polled_ring1_laps.bin", &s);
    return rc;
}

/* ---- fuzz_vq_in_order_driver_used ---- */

/* An IODRV_OP_ADD step: n (1..3) segments, the last @p n_in device-writable. */
static void io_add(struct buf *o, unsigned n, unsigned n_in, unsigned len)
{
    put8(o, IODRV_OP_ADD), put8(o, (n - 1u) | (n_in << 2));
    for (unsigned k = 0; k < n; k++)
        put8(o, len + k);
}

/* An IODRV_OP_COMPLETE step: batches of the given sizes, each with a length. */
static void io_complete(struct buf *o, unsigned k, const unsigned *sizes, const uint32_t *lens)
{
    put8(o, IODRV_OP_COMPLETE), put8(o, k);
    for (unsigned i = 0; i < k; i++)
        put8(o, sizes[i] - 1u), put32(o, lens[i]);
}

static int iodrv_seeds(const char *dir)
{
    struct buf o;
    int rc = 0;

    /* 1: EVENT_IDX, 8 entries: chains of 1, 2 and 3 segments; the device answers them in
     * batches (one entry for several chains), the driver takes them one by one, in a burst and
     * by peeking; round the table several times. */
    o.n = 0;
    put8(&o, 0x01), put8(&o, 3);
    for (unsigned round = 0; round < 4; round++) {
        io_add(&o, 1, 0, 31);
        io_add(&o, 2, 1, 7);
        io_add(&o, 3, 2, 100);
        io_add(&o, 1, 1, 50);
        put8(&o, IODRV_OP_KICK_PREPARE), put8(&o, round & 1u);
        io_complete(&o, 2, (const unsigned[]){3, 1}, (const uint32_t[]){1000, 20});
        put8(&o, IODRV_OP_PEEK_USED), put8(&o, 1);
        put8(&o, IODRV_OP_GET_USED_BURST), put8(&o, 8);
        put8(&o, IODRV_OP_ENABLE_NOTIFY);
        put8(&o, IODRV_OP_USED_MISC), put16(&o, 0), put16(&o, 4 * round + 5);
    }
    put8(&o, IODRV_OP_ADD_BURST), put8(&o, 0x81); /* 3, writable */
    put8(&o, 1), put8(&o, 2), put8(&o, 3);
    put8(&o, IODRV_OP_PUBLISH);
    io_complete(&o, 1, (const unsigned[]){3}, (const uint32_t[]){2});
    put8(&o, IODRV_OP_GET_USED), put8(&o, 3);
    put8(&o, IODRV_OP_DISABLE_NOTIFY);
    rc |= write_file(dir, "event_idx_batches_wrap.bin", o.b, o.n);

    /* 2: INDIRECT + prefer, 4 entries: multi-segment chains through indirect tables take one
     * descriptor each; a batch of four, then a ring full of them and one more that does not
     * fit, answered in two batches. */
    o.n = 0;
    put8(&o, 0x06), put8(&o, 2);
    for (unsigned i = 0; i < 4; i++)
        io_add(&o, 1 + i % 3u, i % 2u, 10 + i);
    put8(&o, IODRV_OP_KICK_PREPARE), put8(&o, 1);
    io_complete(&o, 1, (const unsigned[]){4}, (const uint32_t[]){9});
    put8(&o, IODRV_OP_GET_USED), put8(&o, 4);
    io_add(&o, 3, 3, 1);
    io_add(&o, 3, 0, 2);
    io_add(&o, 1, 1, 3);
    io_add(&o, 2, 1, 4);
    io_add(&o, 1, 0, 5);
    put8(&o, IODRV_OP_PUBLISH);
    io_complete(&o, 2, (const unsigned[]){2, 2}, (const uint32_t[]){0, 7});
    put8(&o, IODRV_OP_GET_USED_BURST), put8(&o, 3);
    put8(&o, IODRV_OP_RECOVER), put8(&o, 1);
    rc |= write_file(dir, "indirect_prefer_batch.bin", o.b, o.n);

    /* 3: no features, 4 entries: an entry naming a chain beyond the index's reach, one with
     * too long a length, an index ahead of the chains in flight; recovery in between. */
    o.n = 0;
    put8(&o, 0x00), put8(&o, 2);
    io_add(&o, 1, 1, 15);
    io_add(&o, 1, 1, 15);
    io_add(&o, 1, 1, 15);
    put8(&o, IODRV_OP_PUBLISH);
    put8(&o, IODRV_OP_USED_ENTRY), put8(&o, 0), put8(&o, 2), put8(&o, 0); /* names the 3rd */
    put8(&o, IODRV_OP_USED_IDX_ADD), put8(&o, 2);                         /* covers two */
    put8(&o, IODRV_OP_GET_USED), put8(&o, 0);
    put8(&o, IODRV_OP_RECOVER), put8(&o, 0);
    io_add(&o, 1, 1, 15);
    io_add(&o, 2, 1, 15);
    put8(&o, IODRV_OP_KICK_PREPARE), put8(&o, 0);
    put8(&o, IODRV_OP_USED_ENTRY), put8(&o, 0), put8(&o, 1), put8(&o, 0x40); /* wlen + 1 */
    put8(&o, IODRV_OP_USED_IDX_ADD), put8(&o, 2);
    put8(&o, IODRV_OP_PEEK_USED), put8(&o, 0);
    put8(&o, IODRV_OP_RECOVER), put8(&o, 1);
    io_add(&o, 1, 0, 15);
    put8(&o, IODRV_OP_USED_IDX_SET), put16(&o, 3);
    put8(&o, IODRV_OP_ENABLE_NOTIFY);
    put8(&o, IODRV_OP_GET_USED), put8(&o, 0);
    rc |= write_file(dir, "bad_id_len_idx.bin", o.b, o.n);

    /* 4: 1 entry: every chain takes the whole table, one used entry each. */
    o.n = 0;
    put8(&o, 0x00), put8(&o, 0);
    for (unsigned round = 0; round < 6; round++) {
        io_add(&o, 1, round & 1u, 50);
        put8(&o, IODRV_OP_KICK_PREPARE), put8(&o, 1);
        io_complete(&o, 1, (const unsigned[]){1}, (const uint32_t[]){25});
        put8(&o, IODRV_OP_GET_USED), put8(&o, 0);
        put8(&o, IODRV_OP_ENABLE_NOTIFY);
    }
    rc |= write_file(dir, "ring1.bin", o.b, o.n);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr,
                "usage: %s <corpus-dir> (with fuzz_vq_device_pop/, fuzz_vq_driver_used/, "
                "fuzz_vq_packed_device_pop/, fuzz_vq_packed_driver_used/, "
                "fuzz_vq_in_order_device_pop/ and fuzz_vq_in_order_driver_used/ in it)\n",
                argv[0]);
        return 2;
    }
    char d1[400], d2[400], d3[400], d4[400], d5[400], d6[400];
    snprintf(d1, sizeof d1, "%s/fuzz_vq_device_pop", argv[1]);
    snprintf(d2, sizeof d2, "%s/fuzz_vq_driver_used", argv[1]);
    snprintf(d3, sizeof d3, "%s/fuzz_vq_packed_device_pop", argv[1]);
    snprintf(d4, sizeof d4, "%s/fuzz_vq_packed_driver_used", argv[1]);
    snprintf(d5, sizeof d5, "%s/fuzz_vq_in_order_device_pop", argv[1]);
    snprintf(d6, sizeof d6, "%s/fuzz_vq_in_order_driver_used", argv[1]);
    int rc = dev_seeds(d1) | drv_seeds(d2) | pdev_seeds(d3) | pdrv_seeds(d4) | iodev_seeds(d5) |
             iodrv_seeds(d6);
    return rc == 0 ? 0 : 1;
}
