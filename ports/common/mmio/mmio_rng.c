/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio driver test: QEMU's virtio-rng-device driven by the library's rng driver over
 * the virtio-mmio transport. Checks that random bytes arrive (several requests, since QEMU's
 * queue holds 8 entries and each request is one pool buffer), that they are not all equal and
 * look random enough (many distinct byte values, two reads differ), that the transport keeps
 * one open device object, and that the device status is DRIVER_OK. With MMIO_USE_IRQ the
 * device's interrupt is routed to this CPU (ARMv8: GIC SPI 16 + slot; RISC-V: PLIC source 1 +
 * slot): first 16 requests each completed by the interrupt alone (InterruptStatus read and
 * acknowledged), then the driver's synchronous reads sleep until the interrupt instead of busy
 * polling (and none of those sleeps may last until its deadline).
 *
 * Shared by the bare-metal ports: each provides mmio_common.h (mmio_now_ns, mmio_puts,
 * MMIO_MAIN and the probe/interrupt helpers).
 */
#include "mmio_common.h"

#include "xcvirtio/dev_rng.h"
#include "xcvirtio/error.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/virtio.h"

#define RNG_BYTES 4096u
#define POOL_BUF 512u
#define POOL_BYTES ((size_t)16u * POOL_BUF)

static uint8_t dma_area[64u * 1024u] __attribute__((aligned(4096)));
static uint8_t pool_mem[POOL_BYTES] __attribute__((aligned(64)));
static uint32_t pool_free[XCV_POOL_COUNT(POOL_BYTES, POOL_BUF)];
static struct xcv_mmio mmio;
static struct xcv_pool pool;
static struct xcv_rng_drv rng;
static struct xcv_vdrv other;
static struct xcv_vdrv_queue other_q;
static struct xcv_vq_drv_slot other_slots[8];
static uint8_t out1[RNG_BYTES];
static uint8_t out2[RNG_BYTES];

static void other_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)q;
    (void)token;
    (void)err;
}

static const struct xcv_vdrv_ops other_ops = {.cancel = other_cancel};

#ifdef MMIO_USE_IRQ
/* Requests completed by the interrupt alone: arm the used notification, post, kick, sleep in
 * WFI until the device's interrupt (no polling of the ring), then acknowledge it through
 * xcv_vdrv_poll() (InterruptStatus must say VRING) and take the used buffer. */
static int irq_round_trips(unsigned rounds)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&rng.vdrv, 0);
    for (unsigned i = 0; i < rounds; i++) {
        struct xcv_sg sg = {.len = 64};
        void *b = xcv_pool_alloc(&pool, &sg.addr);
        if (mmio_check("irq: buffer", b != NULL, true) ||
            mmio_check("irq: arm", xcv_vq_driver_enable_notify(q), 0) ||
            mmio_check("irq: add", xcv_vq_driver_add(q, &sg, 0, 1, b), XCV_OK) ||
            mmio_check("irq: kick", xcv_vq_driver_kick(q) >= 0, true))
            return 1;
        uint64_t before = xcv_mmio_interrupts(&mmio);
        if (mmio_check("irq: interrupt fired", mmio_irq_wait(mmio_now_ns() + MMIO_TEST_TIMEOUT_NS),
                       true) ||
            mmio_check("irq: poll", xcv_vdrv_poll(&rng.vdrv, 16), 1) ||
            mmio_check("irq: status read", (int)(xcv_mmio_interrupts(&mmio) - before), 1))
            return 1;
        void *tok = NULL;
        uint32_t len = 0;
        if (mmio_check("irq: used", xcv_vq_driver_get_used(q, &tok, &len), XCV_OK) ||
            mmio_check("irq: token", tok == b, true) ||
            mmio_check("irq: bytes", len > 0u && len <= sg.len, true))
            return 1;
        (void)xcv_pool_free(&pool, b);
    }
    return 0;
}
#endif

int MMIO_MAIN(uint64_t boot_arg)
{
    (void)boot_arg;
    if (mmio_platform_init("mmio-rng") != 0)
        return 2;
    int slot = mmio_find(&mmio, XCV_VIRTIO_ID_RNG, dma_area, sizeof(dma_area));
    if (mmio_check("find virtio-rng", slot < 0 ? slot : 0, 0))
        return 3;
#ifdef MMIO_USE_IRQ
    if (mmio_check("irq enable", mmio_irq_enable(slot), 0))
        return 3;
#endif
    struct xcv_window pw;
    if (mmio_check("pool window",
                   xcv_window_init(&pw, pool_mem, (uint64_t)(uintptr_t)pool_mem, POOL_BYTES),
                   XCV_OK) ||
        mmio_check("pool", xcv_pool_init(&pool, &pw, POOL_BUF, pool_free, 16u), XCV_OK))
        return 4;

    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&mmio, &t);
    struct xcv_rng_drv_config rc = {.pool = &pool};
    if (mmio_check("rng open", xcv_rng_drv_open_on(&rng, &t, &rc), XCV_OK))
        return 5;
    mmio_say("features lo", (int64_t)(uint32_t)xcv_vdrv_features(&rng.vdrv));
    mmio_say("features hi", (int64_t)(xcv_vdrv_features(&rng.vdrv) >> 32));
    bool v1 = (xcv_vdrv_features(&rng.vdrv) & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) != 0u;
    if (mmio_check("VERSION_1 negotiated iff modern", v1, MMIO_EXPECT_VERSION == 2))
        return 6;
    int st = xcv_vdrv_get_status(&rng.vdrv);
    if (mmio_check("status has DRIVER_OK",
                   st >= 0 && ((unsigned)st & XCV_VIRTIO_STATUS_DRIVER_OK) != 0u, 1))
        return 7;

    /* A second device object on the same transport is refused while the first is open. */
    other_q.slots = other_slots;
    other_q.size = 8;
    struct xcv_vdrv_config oc = {.features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1),
                                 .queues = &other_q,
                                 .num_queues = 1,
                                 .ops = &other_ops};
    if (mmio_check("second open", xcv_vdrv_open_on(&t, &other, &oc), XCV_ESTATE))
        return 8;

#ifdef MMIO_USE_IRQ
    if (irq_round_trips(16) != 0)
        return 12;
#endif
    uint64_t t0 = mmio_now_ns();
    if (mmio_check("rng read 1", xcv_rng_drv_read(&rng, out1, RNG_BYTES), XCV_OK) ||
        mmio_check("rng read 2", xcv_rng_drv_read(&rng, out2, RNG_BYTES), XCV_OK))
        return 9;
    uint64_t took_ns = mmio_now_ns() - t0;
    mmio_say("two reads of 4096 bytes took us", (int64_t)(took_ns / 1000u));
#ifdef MMIO_USE_IRQ
    /* A sleep of the synchronous reads (when the device was not done yet) ends by the
     * interrupt, never by the deadline: a lost wake-up costs a whole timeout. */
    if (mmio_check("no read waited for its deadline", took_ns < MMIO_TEST_TIMEOUT_NS / 2u, true))
        return 13;
#endif

    bool seen[256] = {false};
    unsigned distinct = 0;
    bool all_equal = true;
    unsigned same = 0;
    for (unsigned i = 0; i < RNG_BYTES; i++) {
        if (!seen[out1[i]]) {
            seen[out1[i]] = true;
            distinct++;
        }
        if (out1[i] != out1[0])
            all_equal = false;
        if (out1[i] == out2[i])
            same++;
    }
    mmio_say("distinct byte values", distinct);
    mmio_say("equal bytes between the two reads", same);
    if (mmio_check("bytes not all equal", all_equal, false) ||
        mmio_check("many distinct values", distinct >= 200u, true) ||
        mmio_check("two reads differ", same < RNG_BYTES / 16u, true))
        return 10;
    if (mmio_check("pool buffers all returned", (int)xcv_pool_available(&pool), 16))
        return 11;
    mmio_say("interrupt status reads", (int64_t)xcv_mmio_interrupts(&mmio));
#ifdef MMIO_USE_IRQ
    mmio_say("interrupts taken", (int64_t)mmio_irq_count());
#endif
    mmio_puts("mmio-rng: PASS\n");
    return 0;
}
