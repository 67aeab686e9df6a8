/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio driver transport against a simulated register block (mmio_sim.h, through the
 * ::xcv_mmio_regs_ops accessors): the exact register sequences of the modern and legacy
 * initialisation, queue placement, QueueNotify, config space widths and the generation
 * counter, InterruptStatus handling, reset and reopen, the rng driver end to end, and a
 * hostile device (identity, status, reset, features, queue registers, interrupt bits, used
 * ring) that must be refused with the documented errors, bounded in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/dev_rng.h"
#include "xcvirtio/error.h"
#include "xcvirtio/mmio.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/virtio.h"

#define NQ 4u /* the simulated device's queues */
#define MMIO_SIM_QUEUES NQ
#include "mmio_sim.h"

/* ---- the simulated device: an rng behind the register file of mmio_sim.h ---- */

struct sim {
    struct mmio_sim regs;
    uint32_t magic, device_id, vendor;
    uint64_t dev_features;
    uint32_t num_max[NQ];    /* QueueNumMax of each queue */
    uint16_t last_avail[NQ]; /* the next available ring entry the device takes, per queue */
    uint8_t config[XCV_MMIO_CONFIG_MAX];
    uint32_t notifies[NQ];
    uint32_t status_writes[16];
    unsigned n_status_writes;
    unsigned widths[XCV_MMIO_CONFIG_MAX]; /* width of the last config access at each offset */
    bool fill;                            /* complete rng requests on notify */
    /* hostility */
    bool reset_stuck;
    bool status_garbage;
    bool refuse_features_ok;
    bool drop_driver_bit;
    unsigned gen_changes; /* the generation moves on this many reads (UINT32_MAX: always) */
    bool queue_busy;
    bool ready_stuck_zero;
    uint32_t isr_extra;
    uint32_t id_after_probe; /* DeviceID changes to this once non-zero and armed */
    bool id_armed;
};

static struct sim S;

/* The rng test's pool, seen by the device at MMIO_SIM_POOL_BUS. */
#define POOL_BYTES (8u * 256u)

static _Alignas(64) uint8_t pool_mem[POOL_BYTES];

static uint8_t *ptr(uint64_t bus)
{
    if (bus >= MMIO_SIM_DMA_BUS && bus < MMIO_SIM_DMA_BUS + MMIO_SIM_DMA_BYTES)
        return mmio_sim_dma + (bus - MMIO_SIM_DMA_BUS);
    if (bus >= MMIO_SIM_POOL_BUS && bus < MMIO_SIM_POOL_BUS + POOL_BYTES)
        return pool_mem + (bus - MMIO_SIM_POOL_BUS);
    fail_msg("device access outside the DMA area and the pool: 0x%llx", (unsigned long long)bus);
    return NULL;
}

static void sim_reset_device(void)
{
    S.regs.status = 0;
    S.regs.isr = 0;
    for (unsigned i = 0; i < NQ; i++) {
        S.regs.q[i].ready = 0;
        S.regs.q[i].pfn = 0;
        S.last_avail[i] = 0;
    }
    S.regs.drv_features = 0;
}

/* Where the three areas of queue @qi are, for either register layout. */
static void sim_rings(const struct mmio_sim_queue *q, uint8_t **desc, uint8_t **avail,
                      uint8_t **used)
{
    uint64_t d = q->desc;
    uint64_t a = q->avail;
    uint64_t u = q->used;
    if (S.regs.version == 1u)
        mmio_sim_legacy_rings(&S.regs, q, &d, &a, &u);
    *desc = ptr(d);
    *avail = ptr(a);
    *used = ptr(u);
}

/* A one-descriptor-per-request rng: fill each writable buffer with a counter pattern. */
static void sim_process(uint32_t qi)
{
    struct mmio_sim_queue *q = &S.regs.q[qi];
    uint16_t *last_avail = &S.last_avail[qi];
    uint8_t *desc, *avail, *used;
    sim_rings(q, &desc, &avail, &used);
    uint16_t idx = xcv_le16_load(avail + 2);
    while (*last_avail != idx) {
        uint16_t head = xcv_le16_load(avail + 4 + 2u * (*last_avail % q->num));
        const uint8_t *d = desc + 16u * head;
        uint8_t *buf = ptr(xcv_le64_load(d));
        uint32_t len = xcv_le32_load(d + 8);
        for (uint32_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(i * 7u + *last_avail);
        uint16_t u = xcv_le16_load(used + 2);
        xcv_le32_store(used + 4 + 8u * (u % q->num), head);
        xcv_le32_store(used + 8 + 8u * (u % q->num), len);
        xcv_le16_store(used + 2, (uint16_t)(u + 1u));
        (*last_avail)++;
        S.regs.isr |= XCV_MMIO_INT_VRING;
    }
    xcv_le16_store(used + 4 + 8u * q->num, *last_avail); /* avail_event: notify on the next */
}

static uint32_t sim_read(void *ctx, uint32_t off, unsigned width)
{
    (void)ctx;
    struct mmio_sim_queue *q = mmio_sim_selected_queue(&S.regs);
    if (off >= XCV_MMIO_CONFIG) {
        uint32_t o = off - XCV_MMIO_CONFIG;
        assert_true(o + width <= XCV_MMIO_CONFIG_MAX);
        assert_int_equal(o % width, 0); /* naturally aligned */
        S.widths[o] = width;
        return mmio_sim_config_load(S.config + o, width);
    }
    assert_int_equal(width, 4);
    switch (off) {
    case XCV_MMIO_MAGIC_VALUE:
        return S.magic;
    case XCV_MMIO_DEVICE_ID:
        return S.id_armed ? S.id_after_probe : S.device_id;
    case XCV_MMIO_VENDOR_ID:
        return S.vendor;
    case XCV_MMIO_DEVICE_FEATURES:
        return mmio_sim_device_features(&S.regs, S.dev_features);
    case XCV_MMIO_QUEUE_NUM_MAX:
        return S.regs.queue_sel < NQ ? S.num_max[S.regs.queue_sel] : 0u;
    case XCV_MMIO_QUEUE_READY:
        return S.queue_busy ? 1u : S.ready_stuck_zero ? 0u : q->ready;
    case XCV_MMIO_QUEUE_PFN:
        return S.queue_busy ? 5u : q->pfn;
    case XCV_MMIO_INTERRUPT_STATUS:
        return S.regs.isr | S.isr_extra;
    case XCV_MMIO_STATUS:
        if (S.status_garbage)
            return 0x1ffu;
        if (S.reset_stuck)
            return S.regs.status | XCV_VIRTIO_STATUS_ACKNOWLEDGE;
        return S.regs.status;
    case XCV_MMIO_CONFIG_GENERATION:
        if (S.gen_changes != 0u) {
            if (S.gen_changes != UINT32_MAX)
                S.gen_changes--;
            S.regs.gen++;
        }
        return S.regs.gen;
    default:
        return mmio_sim_read_register(&S.regs, off);
    }
}

static void sim_write(void *ctx, uint32_t off, uint32_t v, unsigned width)
{
    (void)ctx;
    struct mmio_sim_queue *q = mmio_sim_selected_queue(&S.regs);
    if (off >= XCV_MMIO_CONFIG) {
        uint32_t o = off - XCV_MMIO_CONFIG;
        assert_true(o + width <= XCV_MMIO_CONFIG_MAX);
        S.widths[o] = width;
        mmio_sim_config_store(S.config + o, v, width);
        return;
    }
    assert_int_equal(width, 4);
    switch (off) {
    case XCV_MMIO_QUEUE_PFN:
        assert_int_equal(S.regs.version, 1);
        q->pfn = v;
        break;
    case XCV_MMIO_QUEUE_READY:
        assert_int_equal(S.regs.version, 2);
        q->ready = v;
        break;
    case XCV_MMIO_QUEUE_NOTIFY:
        assert_true(v < NQ);
        S.notifies[v]++;
        if (S.fill)
            sim_process(v);
        break;
    case XCV_MMIO_STATUS:
        if (S.n_status_writes < 16u)
            S.status_writes[S.n_status_writes++] = v;
        if (v == 0u) {
            sim_reset_device();
            break;
        }
        if (S.refuse_features_ok)
            v &= ~(uint32_t)XCV_VIRTIO_STATUS_FEATURES_OK;
        if (S.drop_driver_bit)
            v &= ~(uint32_t)XCV_VIRTIO_STATUS_DRIVER;
        S.regs.status = v;
        break;
    default:
        mmio_sim_write_register(&S.regs, off, v);
    }
}

static const struct xcv_mmio_regs_ops sim_regs = {.read = sim_read, .write = sim_write};

/* ---- fixture ---- */

static struct xcv_mmio M;
static struct xcv_vdrv D;
static struct xcv_vdrv_queue Q[NQ];
static struct xcv_vq_drv_slot slots[NQ][256];
static unsigned cancels;
static unsigned used_calls[NQ];
static unsigned config_calls;

static void cb_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)q;
    (void)token;
    assert_int_equal(err, XCV_ECANCELED);
    cancels++;
}

static void cb_used(void *ctx, struct xcv_vdrv *d, uint16_t q)
{
    (void)ctx;
    (void)d;
    used_calls[q]++;
}

static void cb_config(void *ctx, struct xcv_vdrv *d)
{
    (void)ctx;
    (void)d;
    config_calls++;
}

static const struct xcv_vdrv_ops cb_ops = {
    .used = cb_used, .config = cb_config, .cancel = cb_cancel};

static struct xcv_mmio_config mcfg(void)
{
    return mmio_sim_transport_config(&sim_regs);
}

static void sim_init(uint32_t version)
{
    memset(&S, 0, sizeof(S));
    S.magic = XCV_MMIO_MAGIC;
    S.regs.version = version;
    S.device_id = XCV_VIRTIO_ID_RNG;
    S.vendor = 0x554d4551u;
    S.dev_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) |
                     XCV_FEATURE(3) | (version == 2u ? XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) : 0u);
    for (unsigned i = 0; i < NQ; i++)
        S.num_max[i] = 256;
    for (unsigned i = 0; i < XCV_MMIO_CONFIG_MAX; i++)
        S.config[i] = (uint8_t)(0xa0u + i);
    memset(mmio_sim_dma, 0, sizeof(mmio_sim_dma));
    memset(&D, 0, sizeof(D));
    cancels = 0;
    config_calls = 0;
    memset(used_calls, 0, sizeof(used_calls));
    mmio_sim_log_calls = 0;
    mmio_sim_last_log_err = 0;
}

static void queues_init(uint16_t size)
{
    for (unsigned i = 0; i < NQ; i++)
        Q[i] = (struct xcv_vdrv_queue){.slots = slots[i], .size = size};
}

static struct xcv_vdrv_config dcfg(uint16_t nq)
{
    struct xcv_vdrv_config c = {
        .device_id = XCV_VIRTIO_ID_RNG,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                    XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
        .queues = Q,
        .num_queues = nq,
        .ops = &cb_ops,
    };
    return c;
}

static int open_dev(uint16_t nq, uint16_t size)
{
    struct xcv_mmio_config c = mcfg();
    int r = xcv_mmio_probe(&M, &c);
    if (r != XCV_OK)
        return r;
    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&M, &t);
    queues_init(size);
    struct xcv_vdrv_config dc = dcfg(nq);
    return xcv_vdrv_open_on(&t, &D, &dc);
}

/* ---- probe ---- */

static void test_probe(void **state)
{
    (void)state;
    struct xcv_mmio_config c = mcfg();
    sim_init(2);
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_OK);
    assert_int_equal(xcv_mmio_version(&M), 2);
    assert_int_equal(xcv_mmio_device_id(&M), XCV_VIRTIO_ID_RNG);
    assert_int_equal(xcv_mmio_vendor_id(&M), 0x554d4551u);
    assert_int_equal(S.n_status_writes, 0); /* probing changes nothing */

    S.device_id = 0;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_ENODEV); /* empty slot */
    S.device_id = XCV_VIRTIO_ID_RNG;
    S.magic = 0x12345678u;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_ENODEV);
    S.magic = XCV_MMIO_MAGIC;
    S.regs.version = 3;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_ENOTSUP);
    S.regs.version = 1;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_OK);
    c.modern_only = true;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_ENOTSUP);

    c = mcfg();
    c.line = 8;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_EINVAL);
    c = mcfg();
    c.port = NULL;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_EINVAL);
    c = mcfg();
    c.regs = NULL;
    c.base = 0x1002;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_EINVAL);
    c = mcfg();
    c.dma.size = 0;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_EINVAL);
    assert_int_equal(xcv_mmio_probe(NULL, &c), XCV_EINVAL);
}

/* ---- the modern sequence ---- */

static void test_open_modern(void **state)
{
    (void)state;
    sim_init(2);
    S.num_max[1] = 200; /* not a power of two: the driver uses 128 */
    assert_int_equal(open_dev(2, 256), XCV_OK);
    static const uint32_t seq[] = {0, 1, 3, 11, 15};
    assert_int_equal(S.n_status_writes, 5);
    for (unsigned i = 0; i < 5u; i++)
        assert_int_equal(S.status_writes[i], seq[i]);
    /* Accepted: offered & wanted, bit 3 (offered, not wanted) dropped. */
    assert_true(S.regs.drv_features ==
                (XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                 XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)));
    assert_true(xcv_vdrv_features(&D) == S.regs.drv_features);
    assert_int_equal(S.regs.q[0].num, 256);
    assert_int_equal(S.regs.q[1].num, 128);
    for (unsigned i = 0; i < 2u; i++) {
        struct mmio_sim_queue *q = &S.regs.q[i];
        assert_int_equal(q->ready, 1);
        assert_true(q->desc >= MMIO_SIM_DMA_BUS && q->used < MMIO_SIM_DMA_BUS + MMIO_SIM_DMA_BYTES);
        assert_int_equal(q->desc % 64u, 0);
        assert_true(q->avail == q->desc + 16u * q->num);
        assert_int_equal(q->used % 64u, 0); /* the used ring on its own cache line */
        assert_true(q->used >= q->avail + 6u + 2u * q->num);
    }
    assert_true(S.regs.q[1].desc > S.regs.q[0].used); /* no overlap */
    assert_int_equal(S.regs.q[2].ready, 0);
    assert_non_null(xcv_vdrv_queue(&D, 1));
    assert_null(xcv_vdrv_queue(&D, 2));
    assert_int_equal(xcv_vdrv_get_status(&D), 15);
    assert_ptr_equal(xcv_vdrv_port(&D), &mmio_sim_port);
}

/* ---- the legacy sequence ---- */

static void test_open_legacy(void **state)
{
    (void)state;
    sim_init(1);
    assert_int_equal(open_dev(2, 64), XCV_OK);
    /* No FEATURES_OK on a legacy device. */
    static const uint32_t seq[] = {0, 1, 3, 7};
    assert_int_equal(S.n_status_writes, 4);
    for (unsigned i = 0; i < 4u; i++)
        assert_int_equal(S.status_writes[i], seq[i]);
    /* One feature word: VERSION_1 does not exist. */
    assert_true(xcv_vdrv_features(&D) ==
                (XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)));
    assert_int_equal(S.regs.guest_page, 4096);
    for (unsigned i = 0; i < 2u; i++) {
        struct mmio_sim_queue *q = &S.regs.q[i];
        assert_int_equal(q->num, 64);
        assert_int_equal(q->align, 4096);
        assert_int_not_equal(q->pfn, 0);
        uint8_t *desc, *avail, *used;
        sim_rings(q, &desc, &avail, &used);
        /* The device's idea of the legacy layout is the driver's ring. */
        assert_ptr_equal(desc, Q[i].ring.desc);
        assert_ptr_equal(avail, Q[i].ring.avail);
        assert_ptr_equal(used, Q[i].ring.used);
    }
}

/* ---- notify, interrupts ---- */

static void test_notify_and_interrupts(void **state)
{
    (void)state;
    for (uint32_t v = 1; v <= 2u; v++) {
        sim_init(v);
        assert_int_equal(open_dev(2, 16), XCV_OK);
        struct xcv_vq_driver *q1 = xcv_vdrv_queue(&D, 1);
        struct xcv_sg sg = {MMIO_SIM_DMA_BUS + MMIO_SIM_DMA_BYTES - 64u, 64};
        assert_int_equal(xcv_vq_driver_add(q1, &sg, 0, 1, &sg), XCV_OK);
        assert_int_equal(xcv_vq_driver_kick(q1), 1);
        assert_int_equal(S.notifies[1], 1); /* QueueNotify carried the queue index */
        assert_int_equal(S.notifies[0], 0);

        assert_int_equal(xcv_vdrv_poll(&D, 16), 0); /* nothing pending: no ACK */
        assert_int_equal(S.regs.acks, 0);
        sim_process(1);
        assert_int_equal(xcv_vdrv_poll(&D, 16), 1);
        assert_int_equal(S.regs.isr, 0); /* acknowledged */
        assert_int_equal(used_calls[0], 1);
        assert_int_equal(used_calls[1], 1);
        void *tok;
        uint32_t len;
        assert_int_equal(xcv_vq_driver_get_used(q1, &tok, &len), XCV_OK);
        assert_ptr_equal(tok, &sg);
        assert_int_equal(len, 64);

        /* A config change with NEEDS_RESET: config callback, warning logged. */
        S.regs.status |= XCV_VIRTIO_STATUS_NEEDS_RESET;
        S.regs.isr = XCV_MMIO_INT_CONFIG;
        assert_int_equal(xcv_vdrv_poll(&D, 16), 1);
        assert_int_equal(config_calls, 1);
        assert_int_equal(mmio_sim_log_calls, 1);
        assert_true(xcv_vdrv_get_status(&D) & XCV_VIRTIO_STATUS_NEEDS_RESET);
        assert_int_equal(xcv_mmio_interrupts(&M), 2);
    }
}

/* ---- config space ---- */

static void test_config(void **state)
{
    (void)state;
    sim_init(2);
    assert_int_equal(open_dev(1, 16), XCV_OK);
    uint8_t b[16];
    /* Widest naturally aligned accesses: 1 at 1, 2 at 2, 4 at 4, 4 at 8, 1 at 12. */
    assert_int_equal(xcv_vdrv_read_config(&D, 1, b, 12), XCV_OK);
    for (unsigned i = 0; i < 12u; i++)
        assert_int_equal(b[i], 0xa1u + i);
    assert_int_equal(S.widths[1], 1);
    assert_int_equal(S.widths[2], 2);
    assert_int_equal(S.widths[4], 4);
    assert_int_equal(S.widths[8], 4);
    assert_int_equal(S.widths[12], 1);

    /* The generation moves twice: the read is repeated until it is stable. */
    S.gen_changes = 2;
    assert_int_equal(xcv_vdrv_read_config(&D, 0, b, 8), XCV_OK);
    /* It always moves: bounded, XCV_EAGAIN. */
    S.gen_changes = UINT32_MAX;
    assert_int_equal(xcv_vdrv_read_config(&D, 0, b, 8), XCV_EAGAIN);
    S.gen_changes = 0;

    const uint8_t w[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(xcv_vdrv_write_config(&D, 6, w, 6), XCV_OK);
    assert_int_equal(S.widths[6], 2);
    assert_int_equal(S.widths[8], 4);
    assert_memory_equal(S.config + 6, w, 6);

    assert_int_equal(xcv_vdrv_read_config(&D, 250, b, 7), XCV_EINVAL);
    assert_int_equal(xcv_vdrv_read_config(&D, 256, b, 0), XCV_OK);
    assert_int_equal(xcv_vdrv_write_config(&D, 255, w, 2), XCV_EINVAL);

    /* Legacy: no generation register is touched (the simulator would count it). */
    sim_init(1);
    assert_int_equal(open_dev(1, 16), XCV_OK);
    S.gen_changes = UINT32_MAX;
    assert_int_equal(xcv_vdrv_read_config(&D, 0, b, 8), XCV_OK);
    assert_int_equal(S.regs.gen, 0);
}

/* ---- reset, reopen ---- */

static void test_reset_reopen(void **state)
{
    (void)state;
    sim_init(2);
    assert_int_equal(open_dev(1, 16), XCV_OK);
    uint64_t desc = S.regs.q[0].desc;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&D, 0);
    struct xcv_sg sg = {MMIO_SIM_DMA_BUS + MMIO_SIM_DMA_BYTES - 64u, 32};
    assert_int_equal(xcv_vq_driver_add(q, &sg, 0, 1, &sg), XCV_OK);
    assert_int_equal(xcv_vq_driver_add(q, &sg, 0, 1, &cancels), XCV_OK);
    assert_int_equal(xcv_vq_driver_kick(q), 1);
    assert_int_equal(xcv_vdrv_reset(&D), XCV_OK);
    assert_int_equal(cancels, 2); /* every posted buffer came back */
    assert_int_equal(S.regs.status, 0);
    assert_int_equal(S.regs.q[0].ready, 0);
    assert_null(xcv_vdrv_queue(&D, 0));

    /* Reopen: same object, same place for the ring. */
    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&M, &t);
    struct xcv_vdrv_config dc = dcfg(1); /* Q keeps the placement */
    assert_int_equal(xcv_vdrv_open_on(&t, &D, &dc), XCV_OK);
    assert_true(S.regs.q[0].desc == desc);

    /* A second object is refused while the first is open, accepted after a reset. */
    static struct xcv_vdrv other;
    static struct xcv_vdrv_queue oq;
    oq = (struct xcv_vdrv_queue){.slots = slots[3], .size = 16};
    struct xcv_vdrv_config oc = dcfg(1);
    oc.queues = &oq;
    assert_int_equal(xcv_vdrv_open_on(&t, &other, &oc), XCV_ESTATE);
    assert_int_equal(xcv_vdrv_reset(&D), XCV_OK);
    assert_int_equal(xcv_vdrv_open_on(&t, &other, &oc), XCV_OK);
    assert_int_equal(xcv_vdrv_reset(&other), XCV_OK);
}

/* ---- the rng driver end to end over both layouts ---- */

static void test_rng_driver(void **state)
{
    (void)state;
    static uint32_t free_list[8];
    static struct xcv_pool pool;
    static struct xcv_rng_drv rng;
    for (uint32_t v = 1; v <= 2u; v++) {
        sim_init(v);
        S.fill = true;
        S.num_max[0] = 8;
        struct xcv_window w;
        assert_int_equal(xcv_window_init(&w, pool_mem, MMIO_SIM_POOL_BUS, sizeof(pool_mem)),
                         XCV_OK);
        assert_int_equal(xcv_pool_init(&pool, &w, 256, free_list, 8), XCV_OK);
        struct xcv_mmio_config c = mcfg();
        assert_int_equal(xcv_mmio_probe(&M, &c), XCV_OK);
        struct xcv_vdrv_transport t;
        xcv_mmio_transport(&M, &t);
        struct xcv_rng_drv_config rc = {.pool = &pool};
        memset(&rng, 0, sizeof(rng));
        assert_int_equal(xcv_rng_drv_open_on(&rng, &t, &rc), XCV_OK);
        assert_int_equal(S.regs.q[0].num, 8); /* capped by QueueNumMax */
        uint8_t out[1000];
        assert_int_equal(xcv_rng_drv_read(&rng, out, sizeof(out)), XCV_OK);
        /* 256 bytes per request: four requests, each filled with its own pattern. */
        for (unsigned i = 0; i < sizeof(out); i++)
            assert_int_equal(out[i], (uint8_t)((i % 256u) * 7u + i / 256u));
        assert_int_equal(S.notifies[0], 4);
        assert_int_equal(xcv_pool_available(&pool), 8);
    }
}

/* ---- a hostile device ---- */

static void test_hostile_open(void **state)
{
    (void)state;
    /* Reset never completes: bounded by the timeout. */
    sim_init(2);
    S.reset_stuck = true;
    uint64_t t0 = mmio_sim_clock_ns;
    assert_int_equal(open_dev(1, 16), XCV_ETIMEDOUT);
    assert_true(mmio_sim_clock_ns - t0 < 1000000000u);

    /* Status beyond 8 bits: protocol error, sticky until a reset completes. */
    sim_init(2);
    S.status_garbage = true;
    assert_int_equal(open_dev(1, 16), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_mmio_broken(&M), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_vdrv_get_status(&D), XCV_EBROKEN);
    assert_int_equal(xcv_vdrv_poll(&D, 1), XCV_EBROKEN);
    assert_int_equal(mmio_sim_last_log_err, XCV_EPROTO_DEVICE);
    S.status_garbage = false;
    assert_int_equal(xcv_vdrv_reset(&D), XCV_OK);
    assert_int_equal(xcv_mmio_broken(&M), 0);

    /* The device drops a status bit it must keep. */
    sim_init(2);
    S.drop_driver_bit = true;
    assert_int_equal(open_dev(1, 16), XCV_EPROTO_DEVICE);

    /* FEATURES_OK refused: not supported, FAILED written last. */
    sim_init(2);
    S.refuse_features_ok = true;
    assert_int_equal(open_dev(1, 16), XCV_ENOTSUP);
    assert_true(S.status_writes[S.n_status_writes - 1u] & XCV_VIRTIO_STATUS_FAILED);
    assert_null(xcv_vdrv_queue(&D, 0));

    /* A modern device that does not offer VERSION_1. */
    sim_init(2);
    S.dev_features &= ~XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
    assert_int_equal(open_dev(1, 16), XCV_ENOTSUP);

    /* Queue registers: in use after reset, no such queue, absurd size, never ready. */
    for (uint32_t v = 1; v <= 2u; v++) {
        sim_init(v);
        S.queue_busy = true;
        assert_int_equal(open_dev(1, 16), XCV_EPROTO_DEVICE);
    }
    sim_init(2);
    S.num_max[1] = 0;
    assert_int_equal(open_dev(2, 16), XCV_ENODEV);
    sim_init(2);
    S.num_max[0] = 65536;
    assert_int_equal(open_dev(1, 16), XCV_EPROTO_DEVICE);
    sim_init(2);
    S.ready_stuck_zero = true;
    assert_int_equal(open_dev(1, 16), XCV_EPROTO_DEVICE);

    /* The device changed identity between probe and open; the wrong device type. */
    sim_init(2);
    struct xcv_mmio_config c = mcfg();
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_OK);
    S.id_armed = true;
    S.id_after_probe = XCV_VIRTIO_ID_NET;
    struct xcv_vdrv_transport t;
    xcv_mmio_transport(&M, &t);
    queues_init(16);
    struct xcv_vdrv_config dc = dcfg(1);
    assert_int_equal(xcv_vdrv_open_on(&t, &D, &dc), XCV_EPROTO_DEVICE);
    sim_init(2);
    S.device_id = XCV_VIRTIO_ID_NET;
    assert_int_equal(open_dev(1, 16), XCV_ENODEV);

    /* DMA area too small for the ring. */
    sim_init(2);
    c = mcfg();
    c.dma.size = 1024;
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_OK);
    xcv_mmio_transport(&M, &t);
    queues_init(256);
    dc = dcfg(1);
    assert_int_equal(xcv_vdrv_open_on(&t, &D, &dc), XCV_ENOSPC);
}

static void test_hostile_running(void **state)
{
    (void)state;
    /* Reserved InterruptStatus bits: protocol error, sticky. */
    sim_init(2);
    assert_int_equal(open_dev(1, 16), XCV_OK);
    S.isr_extra = 0x10;
    assert_int_equal(xcv_vdrv_poll(&D, 1), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_vdrv_poll(&D, 1), XCV_EBROKEN);
    uint8_t b[4];
    assert_int_equal(xcv_vdrv_read_config(&D, 0, b, 4), XCV_EBROKEN);
    S.isr_extra = 0;
    assert_int_equal(xcv_vdrv_reset(&D), XCV_OK);

    /* A used ring entry for a buffer never posted: the queue breaks, the buffer comes back
     * through the reset exactly once. */
    sim_init(2);
    assert_int_equal(open_dev(1, 16), XCV_OK);
    struct xcv_vq_driver *q = xcv_vdrv_queue(&D, 0);
    struct xcv_sg sg = {MMIO_SIM_DMA_BUS + MMIO_SIM_DMA_BYTES - 64u, 32};
    assert_int_equal(xcv_vq_driver_add(q, &sg, 0, 1, &sg), XCV_OK);
    assert_int_equal(xcv_vq_driver_kick(q), 1);
    uint8_t *used = ptr(S.regs.q[0].used);
    xcv_le32_store(used + 4, 9); /* id 9: not a posted head */
    xcv_le32_store(used + 8, 4);
    xcv_le16_store(used + 2, 1);
    S.regs.isr = XCV_MMIO_INT_VRING;
    assert_int_equal(xcv_vdrv_poll(&D, 1), 1);
    void *tok;
    uint32_t len;
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_EPROTO_USED_ID);
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_EBROKEN);
    assert_int_equal(xcv_vdrv_reset(&D), XCV_OK);
    assert_int_equal(cancels, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),           cmocka_unit_test(test_open_modern),
        cmocka_unit_test(test_open_legacy),     cmocka_unit_test(test_notify_and_interrupts),
        cmocka_unit_test(test_config),          cmocka_unit_test(test_reset_reopen),
        cmocka_unit_test(test_rng_driver),      cmocka_unit_test(test_hostile_open),
        cmocka_unit_test(test_hostile_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
