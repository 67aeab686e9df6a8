/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (virtio 1.2, section 5.4): device model and driver.
 *
 * Device role: a request is a chain of device-writable buffers. The entropy callback writes
 * straight into them (the bytes are output only: nothing read back from shared memory is
 * interpreted). A chain with device-readable parts violates 5.4.6.1 and is returned with a
 * used length of 0.
 */
#include "xcvirtio/dev_rng.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "drv_wait.h"

/* ---- device role ---- */

static int rng_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    struct xcv_rng_dev *r = (struct xcv_rng_dev *)ctx;
    *written = 0;
    if (c->n_out != 0u) {
        r->stats.rejected++; /* 5.4.6.1: device-readable buffers are not allowed */
        return 0;
    }
    uint32_t limit = c->in_len < r->max_bytes ? c->in_len : r->max_bytes;
    uint32_t done = 0;
    for (unsigned i = 0; i < c->n_in && done < limit; i++) {
        const struct xcv_iov *v = &c->iov[i];
        uint32_t want = v->len < limit - done ? v->len : limit - done;
        if (want == 0u)
            continue;
        /* Device-writable memory of this chain; the driver reads it after the used entry. */
        int got = r->entropy(r->ctx, v->base, want);
        if (got <= 0)
            break;
        uint32_t g = (uint32_t)got > want ? want : (uint32_t)got;
        done += g;
        if (g < want)
            break; /* the source ran dry: 5.4.6.2 allows fewer bytes than the buffer holds */
    }
    r->stats.requests++;
    r->stats.bytes += done;
    if (done == 0u)
        r->stats.starved++;
    *written = done;
    return 0;
}

int xcv_rng_dev_run(struct xcv_rng_dev *r, unsigned budget)
{
    if (r == NULL)
        return XCV_EINVAL;
    struct xcv_vq_device *q = xcv_vdev_queue(&r->vdev, 0);
    if (q == NULL) {
        r->pending = false;
        return XCV_ENODEV;
    }
    struct xcv_chain scratch = {.iov = r->iov, .cap = XCV_RNG_DEV_MAX_CHAIN};
    int n = xcv_vq_device_process(q, budget, &scratch, rng_chain, r);
    r->pending = n >= 0 && (unsigned)n == budget && budget != 0u;
    if (xcv_vq_device_broken(q) != 0)
        (void)xcv_vdev_needs_reset(&r->vdev);
    return n;
}

static void rng_notify(void *ctx, struct xcv_vdev *dev, uint16_t q)
{
    struct xcv_rng_dev *r = (struct xcv_rng_dev *)ctx;
    (void)dev;
    if (q == 0u)
        (void)xcv_rng_dev_run(r, r->budget);
}

static void rng_reset(void *ctx, struct xcv_vdev *dev)
{
    (void)dev;
    ((struct xcv_rng_dev *)ctx)->pending = false; /* no chain is kept across calls */
}

static const struct xcv_vdev_ops rng_vdev_ops = {.notify = rng_notify, .reset = rng_reset};

int xcv_rng_dev_init(struct xcv_rng_dev *r, struct xcv_channel *ch,
                     const struct xcv_rng_dev_config *cfg)
{
    if (r == NULL || cfg == NULL || cfg->entropy == NULL)
        return XCV_EINVAL;
    uint16_t qs = cfg->queue_size != 0u ? cfg->queue_size : (uint16_t)XCV_RNG_MAX_QUEUE;
    if (!xcv_is_pow2(qs) || qs > XCV_RNG_MAX_QUEUE)
        return XCV_EINVAL;
    xcv_memset(r, 0, sizeof(*r));
    r->entropy = cfg->entropy;
    r->ctx = cfg->ctx;
    r->budget = cfg->budget != 0u ? cfg->budget : qs;
    r->max_bytes = cfg->max_bytes != 0u ? cfg->max_bytes : UINT32_MAX;
    r->queue.slots = r->slots;
    r->queue.max_size = qs;
    struct xcv_vdev_config vc = {
        .device_id = XCV_VIRTIO_ID_RNG,
        .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .queues = &r->queue,
        .num_queues = 1,
        .max_chain = qs < XCV_RNG_DEV_MAX_CHAIN ? qs : (uint16_t)XCV_RNG_DEV_MAX_CHAIN,
        .ops = &rng_vdev_ops,
        .ctx = r,
    };
    return xcv_vdev_register(ch, &r->vdev, &vc);
}

bool xcv_rng_dev_pending(const struct xcv_rng_dev *r)
{
    return r != NULL && r->pending;
}

const struct xcv_rng_dev_stats *xcv_rng_dev_stats(const struct xcv_rng_dev *r)
{
    return &r->stats;
}

/* ---- driver role ---- */

static void rng_drv_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    struct xcv_rng_drv *r = (struct xcv_rng_drv *)ctx;
    (void)d;
    (void)q;
    (void)err;
    (void)xcv_pool_free(r->pool, token); /* tokens are the pool buffers posted */
}

static const struct xcv_vdrv_ops rng_drv_ops = {.cancel = rng_drv_cancel};

int xcv_rng_drv_open(struct xcv_rng_drv *d, struct xcv_channel *ch,
                     const struct xcv_rng_drv_config *cfg)
{
    if (ch == NULL)
        return XCV_EINVAL;
    struct xcv_vdrv_transport t;
    xcv_vdrv_channel_transport(ch, &t);
    return xcv_rng_drv_open_on(d, &t, cfg);
}

int xcv_rng_drv_open_on(struct xcv_rng_drv *d, const struct xcv_vdrv_transport *t,
                        const struct xcv_rng_drv_config *cfg)
{
    if (d == NULL || t == NULL || cfg == NULL || cfg->pool == NULL)
        return XCV_EINVAL;
    d->pool = cfg->pool;
    d->queue.slots = d->slots;
    d->queue.size = XCV_RNG_MAX_QUEUE;
    d->queue.indirect_max = 0;
    struct xcv_vdrv_config vc = {
        .dev_num = cfg->dev_num,
        .device_id = XCV_VIRTIO_ID_RNG,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .queues = &d->queue,
        .num_queues = 1,
        .ops = &rng_drv_ops,
        .ctx = d,
    };
    return xcv_vdrv_open_on(t, &d->vdrv, &vc);
}

int xcv_rng_drv_read(struct xcv_rng_drv *d, void *buf, uint32_t len)
{
    if (d == NULL || (buf == NULL && len != 0u))
        return XCV_EINVAL;
    uint32_t done = 0;
    while (done < len) {
        struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, 0);
        if (q == NULL)
            return XCV_ENODEV;
        struct xcv_sg sg;
        uint8_t *b = (uint8_t *)xcv_pool_alloc(d->pool, &sg.addr);
        if (b == NULL)
            return XCV_ENOMEM;
        uint32_t bs = xcv_pool_buf_size(d->pool);
        sg.len = len - done < bs ? len - done : bs;
        int r = xcv_vq_driver_add(q, &sg, 0, 1, b);
        if (r != XCV_OK) {
            (void)xcv_pool_free(d->pool, b);
            return r;
        }
        r = xcv_vq_driver_kick(q);
        void *tok = NULL;
        uint32_t got = 0;
        if (r >= 0)
            r = xcv_drv_wait_used(&d->vdrv, q, &tok, &got);
        if (r == XCV_EPEERRESET)
            return r; /* the buffer was reclaimed by the cancel callback */
        if (r != XCV_OK) {
            (void)xcv_vdrv_reset(&d->vdrv); /* reclaims the buffer through cancel */
            return r;
        }
        /* tok is the buffer posted (the ring checked the id); got <= sg.len (ring-checked).
         * The bytes are device-written: copy them out once. */
        if (got != 0u)
            xcv_memcpy((uint8_t *)buf + done, tok, got);
        (void)xcv_pool_free(d->pool, tok);
        if (got == 0u)
            return XCV_EPROTO_DEVICE; /* 5.4.6.2: the device MUST give one or more bytes */
        done += got;
    }
    return XCV_OK;
}

int xcv_rng_drv_reset(struct xcv_rng_drv *d)
{
    if (d == NULL)
        return XCV_EINVAL;
    return xcv_vdrv_reset(&d->vdrv); /* nothing is posted between reads */
}
