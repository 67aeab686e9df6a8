/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk device model (virtio 1.2, section 5.2) and the memory backend.
 *
 * Every request chain was validated by the ring (segments inside the windows, readable before
 * writable). The request bytes themselves are driver-controlled shared memory: the header and
 * every discard/write-zeroes segment are gathered into local memory once, validated, and only
 * the local copies are used. Data bytes are never interpreted, only copied by the backend.
 */
#include "xcvirtio/dev_blk.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "iov.h"

/* Most discard / write-zeroes segments accepted in one request (copied to the stack). */
#define XCV_BLK_DEV_MAX_DWZ_SEG 16u

static bool blk_negotiated(const struct xcv_blk_dev *b, unsigned bit)
{
    return (xcv_vdev_features(&b->vdev) & XCV_FEATURE(bit)) != 0u;
}

/* Write the config space from the model's private, trusted values. */
static void blk_render_config(struct xcv_blk_dev *b, uint32_t blk_size, uint32_t size_max,
                              uint32_t seg_max)
{
    uint8_t *c = b->config;
    xcv_memset(c, 0, sizeof(b->config));
    xcv_le64_store(c + XCV_VIRTIO_BLK_CFG_CAPACITY, b->capacity);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_SIZE_MAX, size_max);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_SEG_MAX, seg_max);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_BLK_SIZE, blk_size);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, b->max_discard_sectors);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_MAX_DISCARD_SEG, b->max_discard_seg);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_DISCARD_ALIGN, 1u);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_MAX_WZ_SECTORS, b->max_wz_sectors);
    xcv_le32_store(c + XCV_VIRTIO_BLK_CFG_MAX_WZ_SEG, b->max_wz_seg);
    c[XCV_VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 0u;
}

/* Where the status byte goes: the last byte of the last non-empty writable segment. */
static uint8_t *blk_status_ptr(const struct xcv_chain *c)
{
    for (unsigned i = (unsigned)c->n_out + c->n_in; i > c->n_out; i--) {
        const struct xcv_iov *v = &c->iov[i - 1u];
        if (v->len != 0u)
            return (uint8_t *)v->base + v->len - 1u;
    }
    return NULL;
}

/* sector + nsec <= capacity, without overflow. */
static bool blk_range_ok(const struct xcv_blk_dev *b, uint64_t sector, uint64_t nsec)
{
    return sector <= b->capacity && nsec <= b->capacity - sector;
}

static uint8_t blk_backend_status(int r)
{
    if (r == XCV_OK)
        return XCV_VIRTIO_BLK_S_OK;
    return r == XCV_ENOTSUP ? (uint8_t)XCV_VIRTIO_BLK_S_UNSUPP : (uint8_t)XCV_VIRTIO_BLK_S_IOERR;
}

/* IN and OUT: data is exactly the writable bytes before the status (IN) or the readable bytes
 * after the header (OUT); the other direction must be empty (5.2.6). */
static uint8_t blk_rw(struct xcv_blk_dev *b, const struct xcv_chain *c, bool write, uint64_t sector)
{
    uint32_t data_out = c->out_len - XCV_VIRTIO_BLK_HDR_SIZE;
    uint32_t data_in = c->in_len - 1u;
    uint32_t len = write ? data_out : data_in;
    if ((write ? data_in : data_out) != 0u)
        return XCV_VIRTIO_BLK_S_IOERR; /* readable/writable mismatch */
    if (write && b->read_only)
        return XCV_VIRTIO_BLK_S_IOERR; /* 5.2.6.2: RO offered: IOERR, no data written */
    if (len % XCV_VIRTIO_BLK_SECTOR_SIZE != 0u)
        return XCV_VIRTIO_BLK_S_IOERR;
    uint32_t nsec = len / XCV_VIRTIO_BLK_SECTOR_SIZE;
    if (!blk_range_ok(b, sector, nsec))
        return XCV_VIRTIO_BLK_S_IOERR;
    if (nsec == 0u)
        return XCV_VIRTIO_BLK_S_OK;
    int n = write
                ? xcv_iov_slice(c->iov, c->n_out, XCV_VIRTIO_BLK_HDR_SIZE, len, b->data,
                                XCV_BLK_DEV_MAX_CHAIN)
                : xcv_iov_slice(c->iov + c->n_out, c->n_in, 0, len, b->data, XCV_BLK_DEV_MAX_CHAIN);
    if (n < 0)
        return XCV_VIRTIO_BLK_S_IOERR; /* cannot happen for a validated chain; be safe */
    int r = write ? b->ops->write(b->backend_ctx, sector, nsec, b->data, (unsigned)n)
                  : b->ops->read(b->backend_ctx, sector, nsec, b->data, (unsigned)n);
    return blk_backend_status(r);
}

static uint8_t blk_dwz(struct xcv_blk_dev *b, const struct xcv_chain *c, bool discard)
{
    if (!blk_negotiated(b, discard ? XCV_VIRTIO_BLK_F_DISCARD : XCV_VIRTIO_BLK_F_WRITE_ZEROES))
        return XCV_VIRTIO_BLK_S_UNSUPP;
    if (b->read_only)
        return XCV_VIRTIO_BLK_S_IOERR;
    uint32_t data_out = c->out_len - XCV_VIRTIO_BLK_HDR_SIZE;
    uint32_t max_seg = discard ? b->max_discard_seg : b->max_wz_seg;
    uint32_t max_sec = discard ? b->max_discard_sectors : b->max_wz_sectors;
    if (c->in_len != 1u || data_out == 0u || data_out % XCV_VIRTIO_BLK_DWZ_SEG_SIZE != 0u ||
        data_out / XCV_VIRTIO_BLK_DWZ_SEG_SIZE > max_seg)
        return XCV_VIRTIO_BLK_S_IOERR;
    uint32_t nseg = data_out / XCV_VIRTIO_BLK_DWZ_SEG_SIZE;
    /* Copy every segment once, validate all of them, then act on the local copies. */
    uint8_t segs[XCV_BLK_DEV_MAX_DWZ_SEG * XCV_VIRTIO_BLK_DWZ_SEG_SIZE];
    if (xcv_iov_gather(c->iov, c->n_out, XCV_VIRTIO_BLK_HDR_SIZE, segs, data_out) != data_out)
        return XCV_VIRTIO_BLK_S_IOERR;
    for (uint32_t i = 0; i < nseg; i++) {
        const uint8_t *s = segs + (size_t)i * XCV_VIRTIO_BLK_DWZ_SEG_SIZE;
        uint64_t sector = xcv_le64_load(s);
        uint32_t num = xcv_le32_load(s + 8);
        uint32_t flags = xcv_le32_load(s + 12);
        /* 5.2.6.2: unknown flags, or unmap on a discard, get UNSUPP. */
        if ((flags & ~XCV_VIRTIO_BLK_WZ_F_UNMAP) != 0u ||
            (discard && (flags & XCV_VIRTIO_BLK_WZ_F_UNMAP) != 0u))
            return XCV_VIRTIO_BLK_S_UNSUPP;
        if (num > max_sec || !blk_range_ok(b, sector, num))
            return XCV_VIRTIO_BLK_S_IOERR;
    }
    for (uint32_t i = 0; i < nseg; i++) {
        const uint8_t *s = segs + (size_t)i * XCV_VIRTIO_BLK_DWZ_SEG_SIZE;
        uint64_t sector = xcv_le64_load(s);
        uint32_t num = xcv_le32_load(s + 8);
        bool unmap = (xcv_le32_load(s + 12) & XCV_VIRTIO_BLK_WZ_F_UNMAP) != 0u;
        int r = discard ? b->ops->discard(b->backend_ctx, sector, num)
                        : b->ops->write_zeroes(b->backend_ctx, sector, num, unmap);
        if (r != XCV_OK)
            return blk_backend_status(r);
    }
    return XCV_VIRTIO_BLK_S_OK;
}

static uint8_t blk_request(struct xcv_blk_dev *b, const struct xcv_chain *c)
{
    if (c->out_len < XCV_VIRTIO_BLK_HDR_SIZE)
        return XCV_VIRTIO_BLK_S_IOERR; /* short header */
    /* The header is driver-written shared memory: copy it once, use only the copy. */
    uint8_t hdr[XCV_VIRTIO_BLK_HDR_SIZE];
    if (xcv_iov_gather(c->iov, c->n_out, 0, hdr, sizeof(hdr)) != sizeof(hdr))
        return XCV_VIRTIO_BLK_S_IOERR;
    uint32_t type = xcv_le32_load(hdr);
    uint64_t sector = xcv_le64_load(hdr + 8);
    uint32_t data_out = c->out_len - XCV_VIRTIO_BLK_HDR_SIZE;
    uint32_t data_in = c->in_len - 1u;

    switch (type) {
    case XCV_VIRTIO_BLK_T_IN:
        return blk_rw(b, c, false, sector);
    case XCV_VIRTIO_BLK_T_OUT:
        return blk_rw(b, c, true, sector);
    case XCV_VIRTIO_BLK_T_FLUSH:
        if (!blk_negotiated(b, XCV_VIRTIO_BLK_F_FLUSH))
            return XCV_VIRTIO_BLK_S_UNSUPP;
        if (data_out != 0u || data_in != 0u)
            return XCV_VIRTIO_BLK_S_IOERR;
        return b->ops->flush != NULL ? blk_backend_status(b->ops->flush(b->backend_ctx))
                                     : (uint8_t)XCV_VIRTIO_BLK_S_OK;
    case XCV_VIRTIO_BLK_T_GET_ID:
        if (data_out != 0u || data_in < XCV_VIRTIO_BLK_ID_BYTES)
            return XCV_VIRTIO_BLK_S_IOERR;
        (void)xcv_iov_scatter(c->iov + c->n_out, c->n_in, 0, b->id, XCV_VIRTIO_BLK_ID_BYTES);
        return XCV_VIRTIO_BLK_S_OK;
    case XCV_VIRTIO_BLK_T_DISCARD:
        return blk_dwz(b, c, true);
    case XCV_VIRTIO_BLK_T_WRITE_ZEROES:
        return blk_dwz(b, c, false);
    default:
        return XCV_VIRTIO_BLK_S_UNSUPP;
    }
}

static int blk_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    struct xcv_blk_dev *b = (struct xcv_blk_dev *)ctx;
    uint8_t *st = blk_status_ptr(c);
    if (st == NULL) {
        /* No writable byte: nowhere to put a status. Return the chain with nothing written. */
        b->stats.dropped++;
        *written = 0;
        return 0;
    }
    uint8_t s = blk_request(b, c);
    /* The status byte is device-writable memory of this chain; the driver reads it only after
     * the used entry is published (release store of the used index). */
    *st = s;
    b->stats.requests++;
    if (s == XCV_VIRTIO_BLK_S_IOERR)
        b->stats.ioerr++;
    else if (s == XCV_VIRTIO_BLK_S_UNSUPP)
        b->stats.unsupp++;
    /* Report every writable byte: the status is the last one (as virtio-blk devices do). */
    *written = c->in_len;
    return 0;
}

int xcv_blk_dev_run(struct xcv_blk_dev *b, unsigned budget)
{
    if (b == NULL)
        return XCV_EINVAL;
    struct xcv_vq_device *q = xcv_vdev_queue(&b->vdev, 0);
    if (q == NULL) {
        b->pending = false;
        return XCV_ENODEV;
    }
    struct xcv_chain scratch = {.iov = b->iov, .cap = XCV_BLK_DEV_MAX_CHAIN};
    int r = xcv_vq_device_process(q, budget, &scratch, blk_chain, b);
    b->pending = r >= 0 && (unsigned)r == budget && budget != 0u;
    if (xcv_vq_device_broken(q) != 0)
        (void)xcv_vdev_needs_reset(&b->vdev);
    return r;
}

static void blk_notify(void *ctx, struct xcv_vdev *dev, uint16_t q)
{
    struct xcv_blk_dev *b = (struct xcv_blk_dev *)ctx;
    (void)dev;
    if (q == 0u)
        (void)xcv_blk_dev_run(b, b->budget);
}

static void blk_reset(void *ctx, struct xcv_vdev *dev)
{
    (void)dev;
    ((struct xcv_blk_dev *)ctx)->pending = false; /* no request is ever kept across calls */
}

static const struct xcv_vdev_ops blk_vdev_ops = {
    .notify = blk_notify,
    .reset = blk_reset,
};

int xcv_blk_dev_init(struct xcv_blk_dev *b, struct xcv_channel *ch,
                     const struct xcv_blk_dev_config *cfg)
{
    if (b == NULL || cfg == NULL || cfg->ops == NULL || cfg->ops->read == NULL ||
        (cfg->ops->write == NULL && !cfg->read_only) || cfg->capacity == 0u ||
        cfg->capacity > UINT64_MAX / XCV_VIRTIO_BLK_SECTOR_SIZE ||
        cfg->max_discard_seg > XCV_BLK_DEV_MAX_DWZ_SEG ||
        cfg->max_write_zeroes_seg > XCV_BLK_DEV_MAX_DWZ_SEG)
        return XCV_EINVAL;
    uint16_t qsize = cfg->queue_size != 0u ? cfg->queue_size : (uint16_t)XCV_BLK_DEV_MAX_QUEUE;
    if (!xcv_is_pow2(qsize) || qsize > XCV_BLK_DEV_MAX_QUEUE || qsize < 4u)
        return XCV_EINVAL;

    xcv_memset(b, 0, sizeof(*b));
    b->ops = cfg->ops;
    b->backend_ctx = cfg->backend_ctx;
    b->capacity = cfg->capacity;
    b->read_only = cfg->read_only;
    b->budget = cfg->budget != 0u ? cfg->budget : qsize;
    b->max_discard_sectors = cfg->max_discard_sectors != 0u ? cfg->max_discard_sectors : UINT32_MAX;
    b->max_discard_seg = cfg->max_discard_seg != 0u ? cfg->max_discard_seg : 1u;
    b->max_wz_sectors =
        cfg->max_write_zeroes_sectors != 0u ? cfg->max_write_zeroes_sectors : UINT32_MAX;
    b->max_wz_seg = cfg->max_write_zeroes_seg != 0u ? cfg->max_write_zeroes_seg : 1u;
    if (cfg->id != NULL) {
        for (unsigned i = 0; i < XCV_VIRTIO_BLK_ID_BYTES && cfg->id[i] != '\0'; i++)
            b->id[i] = (uint8_t)cfg->id[i];
    }
    uint16_t max_chain = qsize < XCV_BLK_DEV_MAX_CHAIN ? qsize : (uint16_t)XCV_BLK_DEV_MAX_CHAIN;
    blk_render_config(b, cfg->blk_size, cfg->size_max, (uint32_t)max_chain - 2u);

    uint64_t f = XCV_FEATURE(XCV_VIRTIO_BLK_F_SEG_MAX) |
                 (cfg->ring_features &
                  (XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)));
    if (cfg->blk_size != 0u)
        f |= XCV_FEATURE(XCV_VIRTIO_BLK_F_BLK_SIZE);
    if (cfg->size_max != 0u)
        f |= XCV_FEATURE(XCV_VIRTIO_BLK_F_SIZE_MAX);
    if (cfg->read_only)
        f |= XCV_FEATURE(XCV_VIRTIO_BLK_F_RO);
    if (cfg->flush)
        f |= XCV_FEATURE(XCV_VIRTIO_BLK_F_FLUSH);
    if (cfg->ops->discard != NULL && !cfg->read_only)
        f |= XCV_FEATURE(XCV_VIRTIO_BLK_F_DISCARD);
    if (cfg->ops->write_zeroes != NULL && !cfg->read_only)
        f |= XCV_FEATURE(XCV_VIRTIO_BLK_F_WRITE_ZEROES);

    b->queue.slots = b->slots;
    b->queue.max_size = qsize;
    struct xcv_vdev_config vc = {
        .device_id = XCV_VIRTIO_ID_BLOCK,
        .vendor_id = 0,
        .features = f,
        .config = b->config,
        .config_size = XCV_VIRTIO_BLK_CFG_SIZE,
        .queues = &b->queue,
        .num_queues = 1,
        .max_chain = max_chain,
        .ops = &blk_vdev_ops,
        .ctx = b,
    };
    return xcv_vdev_register(ch, &b->vdev, &vc);
}

bool xcv_blk_dev_pending(const struct xcv_blk_dev *b)
{
    return b != NULL && b->pending;
}

const struct xcv_blk_dev_stats *xcv_blk_dev_stats(const struct xcv_blk_dev *b)
{
    return &b->stats;
}

struct xcv_vdev *xcv_blk_dev_vdev(struct xcv_blk_dev *b)
{
    return &b->vdev;
}

/* ---- memory backend ---- */

static bool mem_range(const struct xcv_blk_mem *m, uint64_t sector, uint32_t nsec, uint64_t *off)
{
    uint64_t cap = m->size / XCV_VIRTIO_BLK_SECTOR_SIZE;
    if (m->base == NULL || sector > cap || nsec > cap - sector)
        return false;
    *off = sector * XCV_VIRTIO_BLK_SECTOR_SIZE;
    return true;
}

/* Copy between the disk and the segments, never past the @nsec sectors checked. */
static int mem_copy(const struct xcv_blk_mem *m, uint64_t sector, uint32_t nsec,
                    const struct xcv_iov *iov, unsigned n, bool to_disk)
{
    uint64_t off;
    if (!mem_range(m, sector, nsec, &off))
        return XCV_EIO;
    uint64_t end = off + (uint64_t)nsec * XCV_VIRTIO_BLK_SECTOR_SIZE;
    for (unsigned i = 0; i < n; i++) {
        if (iov[i].len > end - off)
            return XCV_EIO;
        if (to_disk)
            xcv_memcpy(m->base + off, iov[i].base, iov[i].len);
        else
            xcv_memcpy(iov[i].base, m->base + off, iov[i].len);
        off += iov[i].len;
    }
    return XCV_OK;
}

static int mem_read(void *ctx, uint64_t sector, uint32_t nsec, const struct xcv_iov *iov,
                    unsigned n)
{
    return mem_copy((const struct xcv_blk_mem *)ctx, sector, nsec, iov, n, false);
}

static int mem_write(void *ctx, uint64_t sector, uint32_t nsec, const struct xcv_iov *iov,
                     unsigned n)
{
    return mem_copy((const struct xcv_blk_mem *)ctx, sector, nsec, iov, n, true);
}

static int mem_zero(void *ctx, uint64_t sector, uint32_t nsec, bool unmap)
{
    const struct xcv_blk_mem *m = (const struct xcv_blk_mem *)ctx;
    uint64_t off;
    (void)unmap;
    if (!mem_range(m, sector, nsec, &off))
        return XCV_EIO;
    xcv_memset(m->base + off, 0, (size_t)nsec * XCV_VIRTIO_BLK_SECTOR_SIZE);
    return XCV_OK;
}

static int mem_discard(void *ctx, uint64_t sector, uint32_t nsec)
{
    return mem_zero(ctx, sector, nsec, true);
}

const struct xcv_blk_backend_ops xcv_blk_mem_ops = {
    .read = mem_read,
    .write = mem_write,
    .flush = NULL,
    .discard = mem_discard,
    .write_zeroes = mem_zero,
};
