/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio driver transport (virtio 1.2, section 4.2, and the legacy interface of
 * 4.2.4): probe, the initialisation sequence, queue setup for both register layouts, config
 * space with the generation counter, QueueNotify as the queues' doorbell, InterruptStatus and
 * InterruptACK, reset. Every register value read is validated before it is used; every wait is
 * bounded by the port's clock.
 */
#include "xcvirtio/mmio.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "vdrv_internal.h"

#define MMIO_CONFIG_RETRIES 8u
#define MMIO_LEGACY_PAGE_SHIFT 12u
#define MMIO_INT_KNOWN (XCV_MMIO_INT_VRING | XCV_MMIO_INT_CONFIG)

/* ---- register access ---- */

/* Order earlier memory writes (rings, buffers) before the following register write. */
static inline void mmio_wmb(void)
{
#if defined(__aarch64__)
    __asm__ volatile("dmb oshst" : : : "memory");
#elif defined(__riscv)
    __asm__ volatile("fence w,o" : : : "memory");
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* Complete a register read before later memory reads (used rings after InterruptStatus). */
static inline void mmio_rmb(void)
{
#if defined(__aarch64__)
    __asm__ volatile("dmb oshld" : : : "memory");
#elif defined(__riscv)
    __asm__ volatile("fence i,r" : : : "memory");
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

static uint32_t rd(const struct xcv_mmio *m, uint32_t off, unsigned width)
{
    uint32_t v;
    if (m->regs != NULL) {
        v = m->regs->read(m->regs_ctx, off, width);
        if (width == 1u)
            v &= 0xffu;
        else if (width == 2u)
            v &= 0xffffu;
    } else if (width == 1u) {
        v = *(const volatile uint8_t *)(m->base + off);
    } else if (width == 2u) {
        v = *(const volatile uint16_t *)(m->base + off);
    } else {
        v = *(const volatile uint32_t *)(m->base + off);
    }
    mmio_rmb();
    return v;
}

static void wr(const struct xcv_mmio *m, uint32_t off, uint32_t v, unsigned width)
{
    mmio_wmb();
    if (m->regs != NULL)
        m->regs->write(m->regs_ctx, off, v, width);
    else if (width == 1u)
        *(volatile uint8_t *)(m->base + off) = (uint8_t)v;
    else if (width == 2u)
        *(volatile uint16_t *)(m->base + off) = (uint16_t)v;
    else
        *(volatile uint32_t *)(m->base + off) = v;
}

static uint32_t rd32(const struct xcv_mmio *m, uint32_t off)
{
    return rd(m, off, 4u);
}

static void wr32(const struct xcv_mmio *m, uint32_t off, uint32_t v)
{
    wr(m, off, v, 4u);
}

static void mmio_lock(const struct xcv_mmio *m)
{
    if (m->port->ops->lock != NULL)
        m->port->ops->lock(m->port->ctx);
}

static void mmio_unlock(const struct xcv_mmio *m)
{
    if (m->port->ops->unlock != NULL)
        m->port->ops->unlock(m->port->ctx);
}

static uint64_t mmio_now(const struct xcv_mmio *m)
{
    return m->port->ops->now_ns(m->port->ctx);
}

/* Record a protocol error (sticky) and report it once; returns @err. */
static int mmio_break(struct xcv_mmio *m, int err, const char *what)
{
    if (m->broken == 0) {
        m->broken = err;
        xcv_report(m->port, XCV_LOG_ERROR, what, m->device_id, err);
    }
    return err;
}

/* ---- the port the driver queues use: a doorbell is a write of the queue index ---- */

static int qport_notify(void *ctx, uint32_t q)
{
    const struct xcv_mmio *m = (const struct xcv_mmio *)((struct xcv_vdrv *)ctx)->tctx;
    wr32(m, XCV_MMIO_QUEUE_NOTIFY, q); /* the barrier in wr() publishes the ring first */
    return XCV_OK;
}

static void qport_clean(void *ctx, const void *p, size_t len)
{
    xcv_cache_clean(((struct xcv_vdrv *)ctx)->port, p, len);
}

static void qport_invalidate(void *ctx, const void *p, size_t len)
{
    xcv_cache_invalidate(((struct xcv_vdrv *)ctx)->port, p, len);
}

static void qport_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    xcv_report(((struct xcv_vdrv *)ctx)->port, level, what, id, err);
}

static const struct xcv_port_ops qport_ops_coherent = {
    .notify = qport_notify,
    .log = qport_log,
};

static const struct xcv_port_ops qport_ops_noncoherent = {
    .notify = qport_notify,
    .cache_clean = qport_clean,
    .cache_invalidate = qport_invalidate,
    .log = qport_log,
};

/* ---- status and reset ---- */

/* Read Status; a value above 8 bits is not a status byte. */
static int read_status(struct xcv_mmio *m, uint32_t *status)
{
    uint32_t s = rd32(m, XCV_MMIO_STATUS);
    if (s > 0xffu)
        return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: status out of range");
    *status = s;
    return XCV_OK;
}

/* Write Status and check what the device kept: it may drop FEATURES_OK (a refusal) and add
 * NEEDS_RESET; any other difference is a device fault. */
static int set_status(struct xcv_mmio *m, uint32_t value)
{
    wr32(m, XCV_MMIO_STATUS, value);
    uint32_t got;
    int r = read_status(m, &got);
    if (r != XCV_OK)
        return r;
    uint32_t allowed = XCV_VIRTIO_STATUS_FEATURES_OK | XCV_VIRTIO_STATUS_NEEDS_RESET;
    if (((got ^ value) & ~allowed) != 0u)
        return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: status not kept");
    return XCV_OK;
}

/* Write 0 to Status and wait (bounded) until the device reads back 0 (virtio 1.2, 2.4.2).
 * A completed reset clears the broken state. */
static int device_reset(struct xcv_mmio *m)
{
    wr32(m, XCV_MMIO_STATUS, 0);
    uint64_t deadline = mmio_now(m) + m->timeout_ns;
    for (;;) {
        uint32_t s = rd32(m, XCV_MMIO_STATUS);
        if (s == 0u) {
            m->broken = 0;
            return XCV_OK;
        }
        if (s > 0xffu)
            return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: status out of range");
        if (mmio_now(m) > deadline) {
            xcv_report(m->port, XCV_LOG_ERROR, "mmio: reset did not complete", m->device_id,
                       XCV_ETIMEDOUT);
            return XCV_ETIMEDOUT;
        }
    }
}

/* ---- feature negotiation ---- */

static int negotiate(struct xcv_mmio *m, struct xcv_vdrv *d)
{
    uint64_t offered;
    wr32(m, XCV_MMIO_DEVICE_FEATURES_SEL, 0);
    offered = rd32(m, XCV_MMIO_DEVICE_FEATURES);
    if (m->version == 2u) {
        wr32(m, XCV_MMIO_DEVICE_FEATURES_SEL, 1);
        offered |= (uint64_t)rd32(m, XCV_MMIO_DEVICE_FEATURES) << 32;
    }
    /* This transport places split rings only: never accept the packed layout. */
    uint64_t f = offered & d->cfg.features & ~XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED);
    if (m->version == 2u) {
        /* A modern device is a virtio 1.x device: VERSION_1 on both sides. */
        if (!(f & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)))
            return XCV_ENOTSUP;
    } else {
        f &= UINT64_C(0xffffffff); /* legacy: one feature word, no VERSION_1 */
    }
    wr32(m, XCV_MMIO_DRIVER_FEATURES_SEL, 0);
    wr32(m, XCV_MMIO_DRIVER_FEATURES, (uint32_t)f);
    if (m->version == 2u) {
        wr32(m, XCV_MMIO_DRIVER_FEATURES_SEL, 1);
        wr32(m, XCV_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
    }
    d->features = f;
    return XCV_OK;
}

/* ---- queues ---- */

static uint32_t pow2_floor(uint32_t v)
{
    uint32_t p = 1;
    while (p <= v / 2u)
        p *= 2u;
    return p;
}

/* Reserve @bytes at a bus address aligned to @align in the DMA area; offset through @off. */
static int dma_reserve(struct xcv_mmio *m, uint64_t bytes, uint32_t align, uint64_t *off)
{
    const struct xcv_window *w = &m->dma;
    uint64_t start = w->bus_base + m->dma_alloc;
    uint64_t aligned = (start + (align - 1u)) & ~(uint64_t)(align - 1u);
    if (aligned < start)
        return XCV_ENOSPC;
    uint64_t o = aligned - w->bus_base;
    if (o > w->size || bytes > w->size - o)
        return XCV_ENOSPC;
    *off = o;
    m->dma_alloc = o + bytes;
    return XCV_OK;
}

static int setup_queue(struct xcv_mmio *m, struct xcv_vdrv *d, uint16_t qi)
{
    struct xcv_vdrv_queue *q = &d->cfg.queues[qi];
    bool legacy = m->version == 1u;
    wr32(m, XCV_MMIO_QUEUE_SEL, qi);
    /* After the reset the queue must be unused (4.2.3.2). */
    uint32_t in_use = rd32(m, legacy ? XCV_MMIO_QUEUE_PFN : XCV_MMIO_QUEUE_READY);
    if (in_use != 0u)
        return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: queue in use after reset");
    uint32_t max = rd32(m, XCV_MMIO_QUEUE_NUM_MAX);
    if (max == 0u)
        return XCV_ENODEV; /* the device has no such queue */
    if (max > XCV_VRING_MAX_NUM)
        return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: queue size above 32768");
    uint32_t cap = pow2_floor(max); /* split rings are a power of two in size */
    uint16_t size = q->size < cap ? q->size : (uint16_t)cap;

    uint32_t line = legacy ? XCV_MMIO_LEGACY_ALIGN : m->line;
    bool ind = q->indirect_max >= 2u && (d->features & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC));
    if (q->placed_size != size) {
        uint64_t ring_bytes = XCV_VRING_BYTES(size, line);
        uint64_t ind_bytes =
            ind ? XCV_ALIGN_UP(XCV_VQ_INDIRECT_BYTES(size, q->indirect_max), (size_t)m->line) : 0u;
        uint64_t off;
        int r = dma_reserve(m, ring_bytes + ind_bytes, line, &off);
        if (r != XCV_OK)
            return r;
        q->ring_off = off;
        q->ind_off = off + ring_bytes;
        q->placed_size = size;
    }
    int r = xcv_vring_layout(m->dma.local + q->ring_off, m->dma.bus_base + q->ring_off, size, line,
                             &q->ring);
    if (r != XCV_OK)
        return r;
    if (legacy && (q->ring.desc_bus >> MMIO_LEGACY_PAGE_SHIFT) > UINT32_MAX)
        return XCV_EINVAL; /* QueuePFN is 32 bits of 4 KiB pages */
    struct xcv_vq_driver_config vc = {
        .ring = &q->ring,
        .slots = q->slots,
        .features = d->features,
        .indirect_local = ind ? m->dma.local + q->ind_off : NULL,
        .indirect_bus = ind ? m->dma.bus_base + q->ind_off : 0u,
        .indirect_max = ind ? q->indirect_max : 0u,
        .port = &d->qport,
        .doorbell = qi,
        .queue_index = qi,
    };
    r = xcv_vq_driver_init(&q->vq, &vc);
    if (r != XCV_OK)
        return r;
    /* The zeroed ring reaches memory before the device is told where it is. */
    xcv_cache_clean(m->port, q->ring.desc, XCV_VRING_BYTES(size, line));

    wr32(m, XCV_MMIO_QUEUE_NUM, size);
    if (legacy) {
        wr32(m, XCV_MMIO_QUEUE_ALIGN, XCV_MMIO_LEGACY_ALIGN);
        wr32(m, XCV_MMIO_QUEUE_PFN, (uint32_t)(q->ring.desc_bus >> MMIO_LEGACY_PAGE_SHIFT));
    } else {
        wr32(m, XCV_MMIO_QUEUE_DESC_LOW, (uint32_t)q->ring.desc_bus);
        wr32(m, XCV_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->ring.desc_bus >> 32));
        wr32(m, XCV_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->ring.avail_bus);
        wr32(m, XCV_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->ring.avail_bus >> 32));
        wr32(m, XCV_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->ring.used_bus);
        wr32(m, XCV_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->ring.used_bus >> 32));
        wr32(m, XCV_MMIO_QUEUE_READY, 1);
        if (rd32(m, XCV_MMIO_QUEUE_READY) != 1u)
            return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: queue not ready");
    }
    q->ready = true;
    return XCV_OK;
}

/* ---- open, reset ---- */

static int open_locked(struct xcv_mmio *m, struct xcv_vdrv *d)
{
    /* The block must still be the device probed (a vanished device reads differently). */
    if (rd32(m, XCV_MMIO_MAGIC_VALUE) != XCV_MMIO_MAGIC ||
        rd32(m, XCV_MMIO_VERSION) != m->version || rd32(m, XCV_MMIO_DEVICE_ID) != m->device_id)
        return mmio_break(m, XCV_EPROTO_DEVICE, "mmio: device identity changed");
    if (d->cfg.device_id != 0u && d->cfg.device_id != m->device_id)
        return XCV_ENODEV;

    /* virtio 1.2, 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, check, queues. */
    int r = device_reset(m);
    if (r != XCV_OK)
        return r;
    uint32_t s = XCV_VIRTIO_STATUS_ACKNOWLEDGE;
    r = set_status(m, s);
    if (r == XCV_OK)
        r = set_status(m, s |= XCV_VIRTIO_STATUS_DRIVER);
    if (r == XCV_OK)
        r = negotiate(m, d);
    if (r != XCV_OK)
        return r;
    if (m->version == 2u) {
        r = set_status(m, s |= XCV_VIRTIO_STATUS_FEATURES_OK);
        if (r != XCV_OK)
            return r;
        uint32_t got = 0;
        r = read_status(m, &got);
        if (r != XCV_OK)
            return r;
        if (!(got & XCV_VIRTIO_STATUS_FEATURES_OK))
            return XCV_ENOTSUP; /* the device refused the subset */
    } else {
        /* Legacy devices have no FEATURES_OK (3.1.2); they take the page size first. */
        wr32(m, XCV_MMIO_GUEST_PAGE_SIZE, XCV_MMIO_LEGACY_ALIGN);
    }
    for (uint16_t qi = 0; qi < d->cfg.num_queues; qi++) {
        r = setup_queue(m, d, qi);
        if (r != XCV_OK)
            return r;
    }
    r = set_status(m, s | XCV_VIRTIO_STATUS_DRIVER_OK);
    if (r != XCV_OK)
        return r;
    d->open = true;
    return XCV_OK;
}

static const struct xcv_vdrv_transport_ops mmio_tops;

static int mmio_open(void *tctx, struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg)
{
    struct xcv_mmio *m = (struct xcv_mmio *)tctx;
    if (m == NULL || m->port == NULL || d == NULL || xcv_vdrv_config_check(cfg) != XCV_OK)
        return XCV_EINVAL;
    if (m->vdrv != NULL && m->vdrv->open)
        return XCV_ESTATE; /* one open device object per transport */
    xcv_vdrv_bind(d, cfg, m->vdrv != d, &mmio_tops, m, m->port, m->timeout_ns);
    d->ch = NULL;
    d->device_id = m->device_id;
    d->config_size = XCV_MMIO_CONFIG_MAX;
    d->max_queues = 0; /* not discoverable: QueueNumMax says per queue */
    bool nc = m->port->ops->cache_clean != NULL || m->port->ops->cache_invalidate != NULL;
    d->qport.ops = nc ? &qport_ops_noncoherent : &qport_ops_coherent;
    d->qport.ctx = d;
    m->vdrv = d;

    mmio_lock(m);
    int r = open_locked(m, d);
    if (r != XCV_OK) {
        /* Tell the device we gave up (3.1.1 step 8), then take every buffer back. */
        uint32_t cur = 0;
        if (r != XCV_ETIMEDOUT && m->broken == 0 && read_status(m, &cur) == XCV_OK)
            wr32(m, XCV_MMIO_STATUS,
                 (cur | XCV_VIRTIO_STATUS_FAILED) & ~(uint32_t)XCV_VIRTIO_STATUS_NEEDS_RESET);
        xcv_vdrv_reclaim(d, XCV_ECANCELED);
    }
    mmio_unlock(m);
    return r;
}

static int mmio_reset(struct xcv_vdrv *d)
{
    struct xcv_mmio *m = (struct xcv_mmio *)d->tctx;
    mmio_lock(m);
    int r = device_reset(m);
    /* As on a channel, the buffers are reclaimed even when the reset timed out: the caller
     * sees the error and must not reuse them while the device may still write them. */
    xcv_vdrv_reclaim(d, XCV_ECANCELED);
    mmio_unlock(m);
    return r;
}

/* ---- config space ---- */

/* Copy config bytes [off, off + len) with the widest naturally aligned access that fits:
 * 32-bit and 64-bit fields get 32-bit accesses, 16-bit fields 16-bit ones, bytes 8-bit ones
 * (4.2.2.2), provided the caller reads whole fields. */
static void config_in(const struct xcv_mmio *m, uint32_t off, uint8_t *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len;) {
        uint32_t a = off + i;
        uint32_t left = len - i;
        if ((a & 3u) == 0u && left >= 4u) {
            xcv_le32_store(buf + i, rd(m, XCV_MMIO_CONFIG + a, 4u));
            i += 4u;
        } else if ((a & 1u) == 0u && left >= 2u) {
            xcv_le16_store(buf + i, (uint16_t)rd(m, XCV_MMIO_CONFIG + a, 2u));
            i += 2u;
        } else {
            buf[i] = (uint8_t)rd(m, XCV_MMIO_CONFIG + a, 1u);
            i += 1u;
        }
    }
}

static void config_out(const struct xcv_mmio *m, uint32_t off, const uint8_t *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len;) {
        uint32_t a = off + i;
        uint32_t left = len - i;
        if ((a & 3u) == 0u && left >= 4u) {
            wr(m, XCV_MMIO_CONFIG + a, xcv_le32_load(buf + i), 4u);
            i += 4u;
        } else if ((a & 1u) == 0u && left >= 2u) {
            wr(m, XCV_MMIO_CONFIG + a, xcv_le16_load(buf + i), 2u);
            i += 2u;
        } else {
            wr(m, XCV_MMIO_CONFIG + a, buf[i], 1u);
            i += 1u;
        }
    }
}

static bool config_range_ok(uint32_t off, uint32_t len)
{
    return off <= XCV_MMIO_CONFIG_MAX && len <= XCV_MMIO_CONFIG_MAX - off;
}

static int mmio_read_config(struct xcv_vdrv *d, uint32_t off, void *buf, uint32_t len)
{
    struct xcv_mmio *m = (struct xcv_mmio *)d->tctx;
    if (!config_range_ok(off, len))
        return XCV_EINVAL;
    if (m->broken != 0)
        return XCV_EBROKEN;
    mmio_lock(m);
    int r = XCV_OK;
    if (m->version == 1u) {
        config_in(m, off, (uint8_t *)buf, len); /* legacy: no generation counter */
    } else {
        r = XCV_EAGAIN;
        /* Re-read while the generation changes under us (2.5.1), a bounded number of times. */
        for (unsigned i = 0; i < MMIO_CONFIG_RETRIES && r == XCV_EAGAIN; i++) {
            uint32_t g0 = rd32(m, XCV_MMIO_CONFIG_GENERATION);
            config_in(m, off, (uint8_t *)buf, len);
            uint32_t g1 = rd32(m, XCV_MMIO_CONFIG_GENERATION);
            r = g0 == g1 ? XCV_OK : XCV_EAGAIN;
        }
    }
    mmio_unlock(m);
    return r;
}

static int mmio_write_config(struct xcv_vdrv *d, uint32_t off, const void *buf, uint32_t len)
{
    struct xcv_mmio *m = (struct xcv_mmio *)d->tctx;
    if (!config_range_ok(off, len))
        return XCV_EINVAL;
    if (m->broken != 0)
        return XCV_EBROKEN;
    mmio_lock(m);
    config_out(m, off, (const uint8_t *)buf, len);
    mmio_unlock(m);
    return XCV_OK;
}

static int mmio_get_status(struct xcv_vdrv *d)
{
    struct xcv_mmio *m = (struct xcv_mmio *)d->tctx;
    if (m->broken != 0)
        return XCV_EBROKEN;
    mmio_lock(m);
    uint32_t s = 0;
    int r = read_status(m, &s);
    mmio_unlock(m);
    return r != XCV_OK ? r : (int)s;
}

/* ---- interrupts ---- */

static int mmio_poll(struct xcv_vdrv *d, unsigned budget)
{
    struct xcv_mmio *m = (struct xcv_mmio *)d->tctx;
    (void)budget;
    if (m->broken != 0)
        return XCV_EBROKEN;
    mmio_lock(m);
    uint32_t isr = rd32(m, XCV_MMIO_INTERRUPT_STATUS);
    int r = XCV_OK;
    if ((isr & ~(uint32_t)MMIO_INT_KNOWN) != 0u)
        r = mmio_break(m, XCV_EPROTO_DEVICE, "mmio: reserved interrupt status bits");
    else if (isr != 0u)
        wr32(m, XCV_MMIO_INTERRUPT_ACK, isr); /* deasserts the interrupt line */
    uint32_t status = 0;
    if (r == XCV_OK && (isr & XCV_MMIO_INT_CONFIG) != 0u)
        r = read_status(m, &status);
    mmio_unlock(m);
    if (r != XCV_OK)
        return r;
    if (isr == 0u || !d->open)
        return 0;
    m->interrupts++;
    int n = 0;
    if (isr & XCV_MMIO_INT_CONFIG) {
        if (status & XCV_VIRTIO_STATUS_NEEDS_RESET)
            xcv_report(m->port, XCV_LOG_WARN, "mmio: device needs reset", m->device_id, 0);
        if (d->cfg.ops->config != NULL)
            d->cfg.ops->config(d->cfg.ctx, d);
        n++;
    }
    /* The interrupt does not say which queue: every ready queue may have used buffers. */
    if (isr & XCV_MMIO_INT_VRING) {
        for (uint16_t q = 0; q < d->cfg.num_queues; q++) {
            if (d->cfg.queues[q].ready && d->cfg.ops->used != NULL)
                d->cfg.ops->used(d->cfg.ctx, d, q);
        }
        n++;
    }
    return n;
}

static const struct xcv_vdrv_transport_ops mmio_tops = {
    .open = mmio_open,
    .reset = mmio_reset,
    .read_config = mmio_read_config,
    .write_config = mmio_write_config,
    .get_status = mmio_get_status,
    .poll = mmio_poll,
};

/* ---- probe and accessors ---- */

int xcv_mmio_probe(struct xcv_mmio *m, const struct xcv_mmio_config *cfg)
{
    if (m == NULL || cfg == NULL || cfg->port == NULL || cfg->port->ops == NULL ||
        cfg->port->ops->now_ns == NULL || (cfg->regs == NULL && cfg->base == 0u) ||
        (cfg->base & 3u) != 0u ||
        (cfg->regs != NULL && (cfg->regs->read == NULL || cfg->regs->write == NULL)) ||
        cfg->dma.local == NULL || cfg->dma.size == 0u ||
        cfg->dma.bus_base + cfg->dma.size < cfg->dma.bus_base)
        return XCV_EINVAL;
    uint32_t line = cfg->line != 0u ? cfg->line : XCV_CACHE_LINE_DEFAULT;
    if (!xcv_is_pow2(line) || line < 16u || line > XCV_MMIO_LEGACY_ALIGN)
        return XCV_EINVAL;
    xcv_memset(m, 0, sizeof(*m));
    m->base = cfg->base;
    m->regs = cfg->regs;
    m->regs_ctx = cfg->regs_ctx;
    m->dma = cfg->dma;
    m->port = cfg->port;
    m->timeout_ns = cfg->timeout_ns != 0u ? cfg->timeout_ns : XCV_MMIO_DEFAULT_TIMEOUT_NS;
    m->line = line;
    if (rd32(m, XCV_MMIO_MAGIC_VALUE) != XCV_MMIO_MAGIC)
        return XCV_ENODEV;
    uint32_t version = rd32(m, XCV_MMIO_VERSION);
    if (version != 1u && version != 2u)
        return XCV_ENOTSUP;
    if (version == 1u && cfg->modern_only)
        return XCV_ENOTSUP;
    m->version = version;
    m->device_id = rd32(m, XCV_MMIO_DEVICE_ID);
    m->vendor_id = rd32(m, XCV_MMIO_VENDOR_ID);
    if (m->device_id == 0u)
        return XCV_ENODEV; /* an empty slot (4.2.3.1.1) */
    return XCV_OK;
}

void xcv_mmio_transport(struct xcv_mmio *m, struct xcv_vdrv_transport *t)
{
    if (t != NULL) {
        t->ops = &mmio_tops;
        t->ctx = m;
    }
}

uint32_t xcv_mmio_device_id(const struct xcv_mmio *m)
{
    return m->device_id;
}

uint32_t xcv_mmio_vendor_id(const struct xcv_mmio *m)
{
    return m->vendor_id;
}

uint32_t xcv_mmio_version(const struct xcv_mmio *m)
{
    return m->version;
}

int xcv_mmio_broken(const struct xcv_mmio *m)
{
    return m->broken;
}

uint64_t xcv_mmio_interrupts(const struct xcv_mmio *m)
{
    return m->interrupts;
}
