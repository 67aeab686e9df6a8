/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk driver (virtio 1.2, section 5.2), driver role.
 *
 * Each request takes one pool buffer ("meta") in the window: the 16-byte header at offset 0
 * (device-readable), the status byte at offset 16 and, for GET_ID, the 20 id bytes at offset
 * 32 (device-writable). The status byte is pre-set to an invalid value, so a device that
 * completes a request without writing it is detected. What the device wrote is read once,
 * after the used entry was taken (acquire), and validated.
 */
#include "xcvirtio/dev_blk.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"

#define BLK_META_STATUS 16u
#define BLK_META_ID 32u
#define BLK_STATUS_UNSET 0xffu
#define BLK_DRV_MAX_DATA (XCV_BLK_DEV_MAX_CHAIN - 3u)

#define BLK_DRV_KNOWN                                                                              \
    (XCV_FEATURE(XCV_VIRTIO_BLK_F_SIZE_MAX) | XCV_FEATURE(XCV_VIRTIO_BLK_F_SEG_MAX) |              \
     XCV_FEATURE(XCV_VIRTIO_BLK_F_RO) | XCV_FEATURE(XCV_VIRTIO_BLK_F_BLK_SIZE) |                   \
     XCV_FEATURE(XCV_VIRTIO_BLK_F_FLUSH) | XCV_FEATURE(XCV_VIRTIO_BLK_F_DISCARD) |                 \
     XCV_FEATURE(XCV_VIRTIO_BLK_F_WRITE_ZEROES) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |            \
     XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) | XCV_FEATURE(XCV_VIRTIO_F_VERSION_1))

static void blk_drv_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    struct xcv_blk_drv *b = (struct xcv_blk_drv *)ctx;
    struct xcv_blk_req *req = (struct xcv_blk_req *)token;
    (void)d;
    (void)q;
    (void)xcv_pool_free(b->pool, req->meta);
    req->meta = NULL;
    req->result = err;
    req->used_len = 0;
    /* Kept in submission-independent order; xcv_blk_drv_complete() hands each back once. */
    req->next = b->cancelled;
    b->cancelled = req;
}

static const struct xcv_vdrv_ops blk_drv_ops = {
    .cancel = blk_drv_cancel,
};

static bool has(const struct xcv_blk_drv *b, unsigned bit)
{
    return (xcv_vdrv_features(&b->vdrv) & XCV_FEATURE(bit)) != 0u;
}

int xcv_blk_drv_open(struct xcv_blk_drv *b, struct xcv_channel *ch,
                     const struct xcv_blk_drv_config *cfg)
{
    if (ch == NULL)
        return XCV_EINVAL;
    struct xcv_vdrv_transport t;
    xcv_vdrv_channel_transport(ch, &t);
    return xcv_blk_drv_open_on(b, &t, cfg);
}

int xcv_blk_drv_open_on(struct xcv_blk_drv *b, const struct xcv_vdrv_transport *t,
                        const struct xcv_blk_drv_config *cfg)
{
    if (b == NULL || t == NULL || cfg == NULL || cfg->pool == NULL ||
        xcv_pool_buf_size(cfg->pool) < XCV_BLK_DRV_META_BYTES)
        return XCV_EINVAL;
    uint16_t qs = cfg->queue_size != 0u ? cfg->queue_size : 128u;
    if (!xcv_is_pow2(qs) || qs > XCV_BLK_DEV_MAX_QUEUE)
        return XCV_EINVAL;
    b->pool = cfg->pool;
    b->cancelled = NULL;
    b->queue.slots = b->slots;
    b->queue.size = qs;
    b->queue.indirect_max = cfg->indirect_max;
    uint64_t want = cfg->features != 0u ? cfg->features : BLK_DRV_KNOWN;
    struct xcv_vdrv_config vc = {
        .dev_num = cfg->dev_num,
        .device_id = XCV_VIRTIO_ID_BLOCK,
        .features = (want & BLK_DRV_KNOWN) | XCV_FEATURE(XCV_VIRTIO_F_VERSION_1),
        .queues = &b->queue,
        .num_queues = 1,
        .ops = &blk_drv_ops,
        .ctx = b,
    };
    int r = xcv_vdrv_open_on(t, &b->vdrv, &vc);
    if (r != XCV_OK)
        return r;
    /* capacity, size_max and seg_max (64- and 32-bit fields), then blk_size: the geometry's 8-
     * and 16-bit fields between them are not read with wider accesses (virtio-mmio, 4.2.2.2). */
    uint8_t c[XCV_VIRTIO_BLK_CFG_BLK_SIZE + 4u] = {0};
    r = xcv_vdrv_read_config(&b->vdrv, 0, c, XCV_VIRTIO_BLK_CFG_SEG_MAX + 4u);
    if (r == XCV_OK)
        r = xcv_vdrv_read_config(&b->vdrv, XCV_VIRTIO_BLK_CFG_BLK_SIZE,
                                 c + XCV_VIRTIO_BLK_CFG_BLK_SIZE, 4);
    if (r != XCV_OK)
        return r;
    b->capacity = xcv_le64_load(c + XCV_VIRTIO_BLK_CFG_CAPACITY);
    b->size_max = has(b, XCV_VIRTIO_BLK_F_SIZE_MAX) ? xcv_le32_load(c + XCV_VIRTIO_BLK_CFG_SIZE_MAX)
                                                    : UINT32_MAX;
    b->seg_max = has(b, XCV_VIRTIO_BLK_F_SEG_MAX) ? xcv_le32_load(c + XCV_VIRTIO_BLK_CFG_SEG_MAX)
                                                  : BLK_DRV_MAX_DATA;
    b->blk_size = has(b, XCV_VIRTIO_BLK_F_BLK_SIZE) ? xcv_le32_load(c + XCV_VIRTIO_BLK_CFG_BLK_SIZE)
                                                    : XCV_VIRTIO_BLK_SECTOR_SIZE;
    if (b->seg_max > BLK_DRV_MAX_DATA)
        b->seg_max = BLK_DRV_MAX_DATA;
    /* A device with no sectors, or a zero segment limit, cannot be used. */
    if (b->capacity == 0u || b->capacity > UINT64_MAX / XCV_VIRTIO_BLK_SECTOR_SIZE ||
        b->seg_max == 0u || b->size_max == 0u) {
        (void)xcv_vdrv_reset(&b->vdrv);
        return XCV_EPROTO_DEVICE;
    }
    return XCV_OK;
}

uint64_t xcv_blk_drv_capacity(const struct xcv_blk_drv *b)
{
    return b->capacity;
}

uint64_t xcv_blk_drv_features(const struct xcv_blk_drv *b)
{
    return xcv_vdrv_features(&b->vdrv);
}

int xcv_blk_drv_submit(struct xcv_blk_drv *b, struct xcv_blk_req *req, uint32_t type,
                       uint64_t sector, const struct xcv_sg *data, unsigned n_data)
{
    if (b == NULL || req == NULL || (data == NULL && n_data != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&b->vdrv, 0);
    if (q == NULL)
        return XCV_ENODEV;
    if (n_data > b->seg_max)
        return XCV_EINVAL;
    uint64_t total = 0;
    for (unsigned i = 0; i < n_data; i++) {
        if (data[i].len > b->size_max)
            return XCV_EINVAL;
        total += data[i].len;
    }
    bool readable = false;
    switch (type) {
    case XCV_VIRTIO_BLK_T_OUT:
        if (has(b, XCV_VIRTIO_BLK_F_RO))
            return XCV_ENOTSUP;
        readable = true;
        /* fall through */
    case XCV_VIRTIO_BLK_T_IN:
        /* 5.2.6.1: data a multiple of 512; no access beyond the capacity. */
        if (total % XCV_VIRTIO_BLK_SECTOR_SIZE != 0u || total == 0u || total > UINT32_MAX ||
            sector > b->capacity || total / XCV_VIRTIO_BLK_SECTOR_SIZE > b->capacity - sector)
            return XCV_EINVAL;
        break;
    case XCV_VIRTIO_BLK_T_FLUSH:
        if (!has(b, XCV_VIRTIO_BLK_F_FLUSH))
            return XCV_ENOTSUP;
        if (n_data != 0u)
            return XCV_EINVAL;
        sector = 0; /* 5.2.6.1: sector 0 for a flush */
        break;
    case XCV_VIRTIO_BLK_T_GET_ID:
        if (n_data != 0u)
            return XCV_EINVAL;
        sector = 0;
        break;
    case XCV_VIRTIO_BLK_T_DISCARD:
    case XCV_VIRTIO_BLK_T_WRITE_ZEROES:
        if (!has(b, type == XCV_VIRTIO_BLK_T_DISCARD ? XCV_VIRTIO_BLK_F_DISCARD
                                                     : XCV_VIRTIO_BLK_F_WRITE_ZEROES))
            return XCV_ENOTSUP;
        /* 5.2.6.1: data is an array of 16-byte segments. */
        if (total == 0u || total % XCV_VIRTIO_BLK_DWZ_SEG_SIZE != 0u)
            return XCV_EINVAL;
        readable = true;
        sector = 0;
        break;
    default:
        return XCV_EINVAL;
    }

    uint64_t mbus;
    uint8_t *meta = (uint8_t *)xcv_pool_alloc(b->pool, &mbus);
    if (meta == NULL)
        return XCV_ENOMEM;
    /* The meta buffer belongs to the driver until it is posted: plain stores. */
    xcv_le32_store(meta, type);
    xcv_le32_store(meta + 4, 0);
    xcv_le64_store(meta + 8, sector);
    meta[BLK_META_STATUS] = BLK_STATUS_UNSET;

    struct xcv_sg sg[XCV_BLK_DEV_MAX_CHAIN];
    unsigned n = 0;
    sg[n++] = (struct xcv_sg){mbus, XCV_VIRTIO_BLK_HDR_SIZE};
    for (unsigned i = 0; i < n_data; i++)
        sg[n++] = data[i];
    unsigned n_out = readable ? n : 1u;
    if (type == XCV_VIRTIO_BLK_T_GET_ID)
        sg[n++] = (struct xcv_sg){mbus + BLK_META_ID, XCV_VIRTIO_BLK_ID_BYTES};
    sg[n++] = (struct xcv_sg){mbus + BLK_META_STATUS, 1u};

    req->type = type;
    req->meta = meta;
    req->meta_bus = mbus;
    req->result = XCV_EAGAIN;
    req->used_len = 0;
    req->next = NULL;
    int r = xcv_vq_driver_add(q, sg, n_out, n - n_out, req);
    if (r != XCV_OK) {
        (void)xcv_pool_free(b->pool, meta);
        req->meta = NULL;
        return r;
    }
    return XCV_OK;
}

int xcv_blk_drv_kick(struct xcv_blk_drv *b)
{
    struct xcv_vq_driver *q = b != NULL ? xcv_vdrv_queue(&b->vdrv, 0) : NULL;
    if (q == NULL)
        return XCV_ENODEV;
    int r = xcv_vq_driver_kick(q);
    return r < 0 ? r : XCV_OK;
}

int xcv_blk_drv_reset(struct xcv_blk_drv *b)
{
    if (b == NULL)
        return XCV_EINVAL;
    return xcv_vdrv_reset(&b->vdrv); /* requests in flight go to the cancelled list */
}

int xcv_blk_drv_complete(struct xcv_blk_drv *b, struct xcv_blk_req **out)
{
    if (b == NULL || out == NULL)
        return XCV_EINVAL;
    if (b->cancelled != NULL) {
        struct xcv_blk_req *c = b->cancelled;
        b->cancelled = c->next;
        c->next = NULL;
        *out = c;
        return XCV_OK;
    }
    struct xcv_vq_driver *q = xcv_vdrv_queue(&b->vdrv, 0);
    if (q == NULL)
        return XCV_EAGAIN;
    void *token;
    uint32_t len;
    int r = xcv_vq_driver_get_used(q, &token, &len);
    if (r != XCV_OK)
        return r;
    struct xcv_blk_req *req = (struct xcv_blk_req *)token;
    /* The status byte is device-written; the used entry was read with acquire, so the byte is
     * visible. Read it once. */
    uint8_t st = req->meta[BLK_META_STATUS];
    req->used_len = len;
    /* No status (nothing written, or the byte still unset) or an undefined one: a device fault. */
    req->result = XCV_EPROTO_DEVICE;
    if (len != 0u && st == XCV_VIRTIO_BLK_S_OK)
        req->result = XCV_OK;
    else if (len != 0u && st == XCV_VIRTIO_BLK_S_IOERR)
        req->result = XCV_EIO;
    else if (len != 0u && st == XCV_VIRTIO_BLK_S_UNSUPP)
        req->result = XCV_ENOTSUP;
    if (req->type == XCV_VIRTIO_BLK_T_GET_ID && req->result == XCV_OK)
        xcv_memcpy(req->id, req->meta + BLK_META_ID, XCV_VIRTIO_BLK_ID_BYTES);
    (void)xcv_pool_free(b->pool, req->meta);
    req->meta = NULL;
    *out = req;
    return XCV_OK;
}

/* Remove @req from the cancelled list (after a reset done by the sync helper). */
static void blk_drv_unlink(struct xcv_blk_drv *b, const struct xcv_blk_req *req)
{
    for (struct xcv_blk_req **pp = &b->cancelled; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == req) {
            *pp = req->next;
            return;
        }
    }
}

int xcv_blk_drv_rw_sync(struct xcv_blk_drv *b, bool write, uint64_t sector, void *buf, uint32_t len)
{
    if (b == NULL || (buf == NULL && len != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&b->vdrv, 0);
    if (q == NULL)
        return XCV_ENODEV;
    if (xcv_vq_driver_in_flight(q) != 0u || b->cancelled != NULL)
        return XCV_ESTATE;
    uint32_t bs = xcv_pool_buf_size(b->pool);
    uint32_t nbuf = len / bs + (len % bs != 0u ? 1u : 0u);
    if (nbuf > b->seg_max || nbuf > BLK_DRV_MAX_DATA || nbuf == 0u)
        return XCV_EINVAL;
    struct xcv_sg sg[BLK_DRV_MAX_DATA];
    uint8_t *loc[BLK_DRV_MAX_DATA];
    for (uint32_t i = 0; i < nbuf; i++) {
        loc[i] = (uint8_t *)xcv_pool_alloc(b->pool, &sg[i].addr);
        if (loc[i] == NULL) {
            for (uint32_t j = 0; j < i; j++)
                (void)xcv_pool_free(b->pool, loc[j]);
            return XCV_ENOMEM;
        }
        sg[i].len = len - i * bs < bs ? len - i * bs : bs;
        if (write)
            xcv_memcpy(loc[i], (const uint8_t *)buf + (size_t)i * bs, sg[i].len);
    }
    struct xcv_blk_req req = {0};
    int r = xcv_blk_drv_submit(b, &req, write ? XCV_VIRTIO_BLK_T_OUT : XCV_VIRTIO_BLK_T_IN, sector,
                               sg, nbuf);
    if (r == XCV_OK)
        r = xcv_blk_drv_kick(b);
    if (r == XCV_OK) {
        const struct xcv_port *port = xcv_vdrv_port(&b->vdrv);
        uint64_t deadline = port->ops->now_ns(port->ctx) + xcv_vdrv_timeout_ns(&b->vdrv);
        struct xcv_blk_req *done = NULL;
        for (;;) {
            r = xcv_blk_drv_complete(b, &done);
            if (r != XCV_EAGAIN)
                break;
            int pr = xcv_vdrv_poll(&b->vdrv, 16);
            if (pr < 0 && pr != XCV_EPEERRESET) {
                r = pr;
                break;
            }
            if (port->ops->now_ns(port->ctx) > deadline) {
                r = XCV_ETIMEDOUT;
                break;
            }
            /* Ask for a used notification before sleeping; a completion that raced in is
             * taken at once. */
            int en = xcv_vq_driver_enable_notify(q);
            if (en < 0) {
                r = en;
                break;
            }
            if (en == 0 && port->ops->wait != NULL)
                (void)port->ops->wait(port->ctx, deadline);
        }
        if (r == XCV_OK) {
            r = done->result;
        } else {
            /* Timed out or the queue broke: reset so the request and buffers come back. */
            (void)xcv_vdrv_reset(&b->vdrv);
            blk_drv_unlink(b, &req);
        }
        if (r == XCV_OK && !write) {
            for (uint32_t i = 0; i < nbuf; i++)
                xcv_memcpy((uint8_t *)buf + (size_t)i * bs, loc[i], sg[i].len);
        }
    }
    for (uint32_t i = 0; i < nbuf; i++)
        (void)xcv_pool_free(b->pool, loc[i]);
    return r;
}
