/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: control messages from a hostile driver, parsed and dispatched by a
 * device-role channel with one registered device.
 *
 * Input format: a sequence of records of 49 bytes, one control byte then one 48-byte message.
 * Control byte: 0xff makes the record a producer-index jump instead (the message bytes' first
 * le32 is added to the producer index); otherwise the message is written into the next slot
 * of the driver-to-device ring, the producer index is bumped, and the channel is polled with a
 * budget of (control & 7) + 1. Between records the harness consumes every response (as a
 * driver would) so the device never sees a full ring.
 *
 * Invariants:
 * - xcv_msg_parse() either accepts a message or returns XCV_EPROTO_MSG, and an accepted
 *   message re-encodes to the same header and declared payload bytes;
 * - a message xcv_msg_parse() refuses breaks the channel with XCV_EPROTO_MSG when polled;
 * - once xcv_channel_poll() reported a protocol error, xcv_channel_broken() keeps reporting it
 *   and every later poll returns XCV_EBROKEN (sticky);
 * - the device never writes the driver's line of the window header;
 * - no crash and no sanitizer report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define WIN_BYTES 65536u
#define LINE 64u
#define SLOTS 8u
#define QAREA 16384u
#define REC (1u + XCV_MSG_SIZE)

static _Alignas(4096) uint8_t win[WIN_BYTES];
static uint8_t cfgspace[40];
static struct xcv_channel ch;
static struct xcv_vdev dev;
static struct xcv_vq_dev_slot slots[16];
static struct xcv_vdev_queue queues[2] = {{.slots = slots, .max_size = 8},
                                          {.slots = slots + 8, .max_size = 8}};

static uint64_t fz_now(void *c)
{
    (void)c;
    static uint64_t t;
    return t += 1000u;
}

static int fz_notify(void *c, uint32_t d)
{
    (void)c;
    (void)d;
    return 0;
}

static const struct xcv_port_ops ops = {.notify = fz_notify, .now_ns = fz_now};
static const struct xcv_port port = {&ops, NULL};

static int fz_chain(void *ctx, const struct xcv_chain *c, uint32_t *w)
{
    (void)ctx;
    uint32_t n = 0;
    for (uint16_t i = 0; i < c->n_in; i++) {
        memset(c->iov[c->n_out + i].base, 0x5a, c->iov[c->n_out + i].len);
        n += c->iov[c->n_out + i].len;
    }
    *w = n;
    return 0;
}

static void dev_notify(void *ctx, struct xcv_vdev *d, uint16_t q)
{
    (void)ctx;
    struct xcv_iov iov[16];
    struct xcv_chain c = {.iov = iov, .cap = 16};
    (void)xcv_vq_device_process(xcv_vdev_queue(d, q), 4, &c, fz_chain, NULL);
}

static void dev_reset(void *ctx, struct xcv_vdev *d)
{
    (void)ctx;
    (void)d;
}

static const struct xcv_vdev_ops dev_ops = {.notify = dev_notify, .reset = dev_reset};

static uint8_t *d2v(void)
{
    return win + 5u * LINE; /* after the layout, two side and two event lines */
}

static uint8_t *v2d(void)
{
    return d2v() + XCV_MSGRING_BYTES(SLOTS, LINE);
}

static uint32_t ld32(const uint8_t *p)
{
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static void st32(uint8_t *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELEASE);
}

static void check_parse(const uint8_t raw[XCV_MSG_SIZE], int *parse_ok)
{
    struct xcv_msg m;
    int r = xcv_msg_parse(raw, &m);
    FUZZ_CHECK(r == XCV_OK || r == XCV_EPROTO_MSG);
    *parse_ok = r == XCV_OK;
    if (r != XCV_OK)
        return;
    FUZZ_CHECK(m.size >= XCV_MSG_HDR_SIZE && m.size <= XCV_MSG_SIZE);
    uint8_t back[XCV_MSG_SIZE];
    FUZZ_CHECK(xcv_msg_encode(&m, back) == XCV_OK);
    FUZZ_CHECK(memcmp(back, raw, m.size) == 0);
    for (unsigned i = m.size; i < XCV_MSG_SIZE; i++)
        FUZZ_CHECK(back[i] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(win, 0, sizeof(win));
    struct xcv_channel_config cc = {.role = XCV_ROLE_DEVICE,
                                    .port = &port,
                                    .msg_slots = SLOTS,
                                    .queue_area_size = QAREA,
                                    .timeout_ns = 1000000u};
    FUZZ_CHECK(xcv_window_init(&cc.window, win, 0, sizeof(win)) == XCV_OK);
    FUZZ_CHECK(xcv_channel_init(&ch, &cc) == XCV_OK);
    for (unsigned i = 0; i < sizeof(cfgspace); i++)
        cfgspace[i] = (uint8_t)i;
    struct xcv_vdev_config dc = {.device_id = 3,
                                 .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                                             XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
                                 .config = cfgspace,
                                 .config_size = sizeof(cfgspace),
                                 .queues = queues,
                                 .num_queues = 2,
                                 .ops = &dev_ops};
    FUZZ_CHECK(xcv_vdev_register(&ch, &dev, &dc) == 0);
    /* The driver's header line: the device must never write it. */
    uint8_t drv_line[LINE];
    memcpy(drv_line, win + 2u * LINE, LINE);

    int sticky = 0;
    for (size_t off = 0; off + REC <= size; off += REC) {
        uint8_t ctl = data[off];
        const uint8_t *raw = data + off + 1u;
        bool expect_break = false;
        if (ctl == 0xffu) {
            uint32_t jump = xcv_le32_load(raw);
            uint32_t prod = ld32(d2v()) + jump;
            st32(d2v(), prod);
            expect_break = prod - ld32(d2v() + LINE) > SLOTS;
        } else {
            int parse_ok;
            check_parse(raw, &parse_ok);
            uint32_t prod = ld32(d2v());
            uint32_t cons = ld32(d2v() + LINE);
            if (prod - cons >= SLOTS)
                continue; /* full (only after a jump); the channel decides below */
            memcpy(d2v() + 2u * LINE + (size_t)(prod & (SLOTS - 1u)) * XCV_MSGRING_SLOT_SIZE, raw,
                   XCV_MSG_SIZE);
            st32(d2v(), prod + 1u);
            /* the message is the next one the device reads only when nothing was queued */
            expect_break = !parse_ok && prod == cons;
        }
        int r = xcv_channel_poll(&ch, (ctl & 7u) + 1u);
        if (sticky != 0) {
            FUZZ_CHECK(r == XCV_EBROKEN);
            FUZZ_CHECK(xcv_channel_broken(&ch) == sticky);
        } else if (r < 0) {
            FUZZ_CHECK(xcv_err_is_protocol(r));
            FUZZ_CHECK(xcv_channel_broken(&ch) == r);
            sticky = r;
        } else {
            FUZZ_CHECK(!expect_break);
            FUZZ_CHECK(xcv_channel_broken(&ch) == 0);
        }
        if (expect_break)
            FUZZ_CHECK(sticky == XCV_EPROTO_MSG);
        /* Consume the responses and events, as a driver would. */
        st32(v2d() + LINE, ld32(v2d()));
        FUZZ_CHECK(memcmp(drv_line, win + 2u * LINE, LINE) == 0);
    }
    if (sticky != 0) {
        FUZZ_CHECK(xcv_channel_poll(&ch, 8) == XCV_EBROKEN);
        FUZZ_CHECK(xcv_channel_broken(&ch) == sticky);
    }
    return 0;
}
