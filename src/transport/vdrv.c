/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver-role plumbing: the virtio initialisation sequence over control messages, queue
 * placement in the channel's queue area, config access with the generation counter, and
 * reclaiming every posted buffer when the device is reset or the device side restarts.
 * Every value in a response is validated before it is used.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "chan_internal.h"
#include "vdrv_internal.h"

#define XCV_CONFIG_RETRIES 8u

/* ---- the port the driver queues use: doorbells become event bits or EVENT_AVAIL messages ---- */

static int vdrv_send_avail(struct xcv_vdrv *d, uint16_t q)
{
    struct xcv_msg m;
    xcv_msg_init(&m, 0, XCV_MSG_EVENT_AVAIL, d->cfg.dev_num, 4);
    xcv_pl32_set(&m, 0, q);
    int r = xcv_chan_send(d->ch, &m);
    if (r == XCV_ENOSPC) {
        d->pending_avail |= 1u << q; /* sent by the next poll: never lost */
        return XCV_OK;
    }
    return r;
}

static int vdrv_qport_notify(void *ctx, uint32_t q)
{
    struct xcv_vdrv *d = (struct xcv_vdrv *)ctx;
    int r = vdrv_send_avail(d, (uint16_t)q);
    if (r < 0)
        return r;
    return xcv_chan_ring(d->ch);
}

/* Coherent ports: the queue's bit in the driver-to-device event word. */
static int vdrv_qport_notify_word(void *ctx, uint32_t q)
{
    const struct xcv_vdrv *d = (const struct xcv_vdrv *)ctx;
    return xcv_chan_post_event(d->ch, d->cfg.dev_num, q);
}

static void vdrv_qport_clean(void *ctx, const void *p, size_t len)
{
    const struct xcv_port *up = ((struct xcv_vdrv *)ctx)->ch->port;
    if (up->ops->cache_clean != NULL)
        up->ops->cache_clean(up->ctx, p, len);
}

static void vdrv_qport_invalidate(void *ctx, const void *p, size_t len)
{
    const struct xcv_port *up = ((struct xcv_vdrv *)ctx)->ch->port;
    if (up->ops->cache_invalidate != NULL)
        up->ops->cache_invalidate(up->ctx, p, len);
}

static void vdrv_qport_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id,
                           int err)
{
    xcv_report(((struct xcv_vdrv *)ctx)->ch->port, level, what, id, err);
}

static const struct xcv_port_ops vdrv_qport_ops_coherent = {
    .notify = vdrv_qport_notify_word,
    .log = vdrv_qport_log,
};

static const struct xcv_port_ops vdrv_qport_ops_noncoherent = {
    .notify = vdrv_qport_notify,
    .cache_clean = vdrv_qport_clean,
    .cache_invalidate = vdrv_qport_invalidate,
    .log = vdrv_qport_log,
};

/* ---- events ---- */

/* A used notification for queue @q (EVENT_USED or an event word bit); any @q is safe. */
void xcv_vdrv_record_used(struct xcv_vdrv *d, uint32_t q)
{
    if (q < d->cfg.num_queues)
        d->pending_used |= 1u << q;
    /* an event for a queue not open here is stale: ignored */
}

void xcv_vdrv_record_event(struct xcv_channel *ch, const struct xcv_msg *m)
{
    if (m->type & XCV_MSG_TYPE_BUS) {
        (void)xcv_chan_break(ch, XCV_EPROTO_MSG); /* no bus requests go to the driver */
        return;
    }
    struct xcv_vdrv *d = m->dev_num < XCV_CHANNEL_MAX_DEVICES ? ch->vdrvs[m->dev_num] : NULL;
    if (m->id == XCV_MSG_EVENT_USED) {
        if (d != NULL)
            xcv_vdrv_record_used(d, xcv_pl32(m, 0));
        return; /* an event for a device not open here is stale: ignored */
    }
    if (m->id == XCV_MSG_EVENT_CONFIG) {
        if (d != NULL)
            d->pending_config = true;
        return;
    }
    (void)xcv_chan_break(ch, XCV_EPROTO_MSG); /* a request sent to the driver side */
}

void xcv_vdrv_dispatch_pending(struct xcv_channel *ch)
{
    for (unsigned i = 0; i < XCV_CHANNEL_MAX_DEVICES; i++) {
        struct xcv_vdrv *d = ch->vdrvs[i];
        if (d == NULL || !d->open)
            continue;
        if (d->pending_config) {
            d->pending_config = false;
            if (d->cfg.ops->config != NULL)
                d->cfg.ops->config(d->cfg.ctx, d);
        }
        uint32_t pend = d->pending_used;
        d->pending_used = 0;
        for (uint16_t q = 0; pend != 0u; q++, pend >>= 1) {
            if ((pend & 1u) && d->cfg.ops->used != NULL)
                d->cfg.ops->used(d->cfg.ctx, d, q);
        }
    }
}

void xcv_vdrv_flush_events(struct xcv_channel *ch)
{
    for (unsigned i = 0; i < XCV_CHANNEL_MAX_DEVICES; i++) {
        struct xcv_vdrv *d = ch->vdrvs[i];
        if (d == NULL)
            continue;
        uint32_t pend = d->pending_avail;
        d->pending_avail = 0;
        for (uint16_t q = 0; pend != 0u; q++, pend >>= 1) {
            if (pend & 1u)
                (void)vdrv_send_avail(d, q);
        }
    }
}

/* Take back every buffer still posted and complete it through ops->cancel with @err. */
void xcv_vdrv_reclaim(struct xcv_vdrv *d, int err)
{
    for (uint16_t qi = 0; qi < d->cfg.num_queues; qi++) {
        struct xcv_vdrv_queue *q = &d->cfg.queues[qi];
        if (!q->ready)
            continue;
        void *token;
        while (xcv_vq_driver_detach_unused(&q->vq, &token) == XCV_OK)
            d->cfg.ops->cancel(d->cfg.ctx, d, qi, token, err);
        (void)xcv_vq_driver_reset(&q->vq);
        q->ready = false;
    }
    d->open = false;
    d->pending_used = 0;
    d->pending_avail = 0;
    d->pending_config = false;
}

void xcv_vdrv_peer_reset_all(struct xcv_channel *ch)
{
    for (unsigned i = 0; i < XCV_CHANNEL_MAX_DEVICES; i++) {
        if (ch->vdrvs[i] != NULL)
            xcv_vdrv_reclaim(ch->vdrvs[i], XCV_EPEERRESET);
    }
}

/* ---- requests ---- */

static int req_status(struct xcv_vdrv *d, uint8_t id, uint32_t value, uint32_t *status)
{
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, 0, id, d->cfg.dev_num, id == XCV_MSG_SET_DEVICE_STATUS ? 4u : 0u);
    xcv_pl32_set(&req, 0, value);
    int r = xcv_chan_request(d->ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    uint32_t s = xcv_pl32(&resp, 0);
    if (s > 0xffu)
        return XCV_EPROTO_DEVICE;
    *status = s;
    return XCV_OK;
}

static int set_status(struct xcv_vdrv *d, uint32_t value)
{
    uint32_t got;
    int r = req_status(d, XCV_MSG_SET_DEVICE_STATUS, value, &got);
    if (r != XCV_OK)
        return r;
    /* The device may drop FEATURES_OK (refusal) and add NEEDS_RESET; anything else is bogus. */
    uint32_t allowed = XCV_VIRTIO_STATUS_FEATURES_OK | XCV_VIRTIO_STATUS_NEEDS_RESET;
    if (((got ^ value) & ~allowed) != 0u)
        return XCV_EPROTO_DEVICE;
    return XCV_OK;
}

static int req_device_info(struct xcv_vdrv *d)
{
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, 0, XCV_MSG_DEVICE_INFO, d->cfg.dev_num, 0);
    int r = xcv_chan_request(d->ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    d->device_id = xcv_pl32(&resp, 0);
    d->config_size = xcv_pl32(&resp, 12);
    d->max_queues = xcv_pl32(&resp, 16);
    if (d->device_id == 0u || d->max_queues > 32u)
        return XCV_EPROTO_DEVICE;
    return XCV_OK;
}

static int negotiate(struct xcv_vdrv *d)
{
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, 0, XCV_MSG_GET_DEV_FEATURES, d->cfg.dev_num, 8);
    xcv_pl32_set(&req, 0, 0);
    xcv_pl32_set(&req, 4, 2);
    int r = xcv_chan_request(d->ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    if (xcv_pl32(&resp, 0) != 0u || xcv_pl32(&resp, 4) != 2u || resp.size < XCV_MSG_HDR_SIZE + 16u)
        return XCV_EPROTO_DEVICE;
    uint64_t offered = (uint64_t)xcv_pl32(&resp, 8) | ((uint64_t)xcv_pl32(&resp, 12) << 32);
    uint64_t f = offered & d->cfg.features;
    if (!(f & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)))
        return XCV_ENOTSUP;
    /* Packed rings: both sides write the descriptor lines, which cache maintenance by lines
     * cannot share safely, so only coherent ports take them; and here they have no indirect
     * tables. */
    if (d->ch->port->ops->cache_clean != NULL || d->ch->port->ops->cache_invalidate != NULL)
        f &= ~XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED);
    if (f & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED))
        f &= ~(XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER));

    xcv_msg_init(&req, 0, XCV_MSG_SET_DRV_FEATURES, d->cfg.dev_num, 16);
    xcv_pl32_set(&req, 0, 0);
    xcv_pl32_set(&req, 4, 2);
    xcv_pl32_set(&req, 8, (uint32_t)f);
    xcv_pl32_set(&req, 12, (uint32_t)(f >> 32));
    r = xcv_chan_request(d->ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    d->features = f;
    return XCV_OK;
}

static int setup_queue(struct xcv_vdrv *d, uint16_t qi)
{
    struct xcv_vdrv_queue *q = &d->cfg.queues[qi];
    struct xcv_channel *ch = d->ch;
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, 0, XCV_MSG_GET_VQUEUE, d->cfg.dev_num, 4);
    xcv_pl32_set(&req, 0, qi);
    int r = xcv_chan_request(ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    uint32_t max = xcv_pl32(&resp, 4);
    if (xcv_pl32(&resp, 0) != qi || !xcv_is_pow2(max) || max > XCV_VRING_MAX_NUM)
        return XCV_EPROTO_DEVICE;
    uint16_t size = q->size < max ? q->size : (uint16_t)max;

    /* Place the ring (and indirect tables) once per size and layout; reopening reuses the
     * place. */
    bool packed = (d->features & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) != 0u;
    bool ind = q->indirect_max >= 2u && (d->features & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC));
    if (q->placed_size != size || q->placed_packed != packed) {
        const struct xcv_window *qa = &ch->areas[0];
        uint64_t ring_bytes =
            packed ? XCV_VRING_PACKED_BYTES(size, ch->line) : XCV_VRING_BYTES(size, ch->line);
        uint64_t ind_bytes =
            ind ? XCV_ALIGN_UP(XCV_VQ_INDIRECT_BYTES(size, q->indirect_max), (size_t)ch->line) : 0u;
        if (ch->queue_alloc > qa->size || ring_bytes + ind_bytes > qa->size - ch->queue_alloc)
            return XCV_ENOSPC;
        q->ring_off = ch->queue_alloc;
        q->ind_off = ch->queue_alloc + ring_bytes;
        ch->queue_alloc += ring_bytes + ind_bytes;
        q->placed_size = size;
        q->placed_packed = packed;
    }
    const struct xcv_window *qa = &ch->areas[0];
    r = packed ? xcv_vring_packed_layout(qa->local + q->ring_off, qa->bus_base + q->ring_off, size,
                                         ch->line, &q->ring)
               : xcv_vring_layout(qa->local + q->ring_off, qa->bus_base + q->ring_off, size,
                                  ch->line, &q->ring);
    if (r != XCV_OK)
        return r;
    struct xcv_vq_driver_config vc = {
        .ring = &q->ring,
        .slots = q->slots,
        .features = d->features,
        .indirect_local = ind ? qa->local + q->ind_off : NULL,
        .indirect_bus = ind ? qa->bus_base + q->ind_off : 0u,
        .indirect_max = ind ? q->indirect_max : 0u,
        .port = &d->qport,
        .doorbell = qi,
        .queue_index = qi,
    };
    r = xcv_vq_driver_init(&q->vq, &vc);
    if (r != XCV_OK)
        return r;

    xcv_msg_init(&req, 0, XCV_MSG_SET_VQUEUE, d->cfg.dev_num, 40);
    xcv_pl32_set(&req, 0, qi);
    xcv_pl32_set(&req, 8, size);
    xcv_pl64_set(&req, 16, q->ring.desc_bus);
    xcv_pl64_set(&req, 24, q->ring.avail_bus);
    xcv_pl64_set(&req, 32, q->ring.used_bus);
    r = xcv_chan_request(ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    q->ready = true;
    return XCV_OK;
}

static int open_locked(struct xcv_channel *ch, struct xcv_vdrv *d)
{
    int r = req_device_info(d);
    if (r == XCV_ENODEV ||
        (r == XCV_OK && d->cfg.device_id != 0u && d->device_id != d->cfg.device_id))
        return XCV_ENODEV;
    if (r != XCV_OK)
        return r;
    if (d->cfg.num_queues > d->max_queues)
        return XCV_ENODEV;

    /* virtio 1.2, 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, check, queues. */
    uint32_t s = 0;
    r = set_status(d, 0);
    if (r == XCV_OK)
        r = set_status(d, s = XCV_VIRTIO_STATUS_ACKNOWLEDGE);
    if (r == XCV_OK)
        r = set_status(d, s |= XCV_VIRTIO_STATUS_DRIVER);
    if (r == XCV_OK)
        r = negotiate(d);
    if (r == XCV_OK)
        r = set_status(d, s |= XCV_VIRTIO_STATUS_FEATURES_OK);
    if (r != XCV_OK)
        return r;
    uint32_t got;
    r = req_status(d, XCV_MSG_GET_DEVICE_STATUS, 0, &got);
    if (r != XCV_OK)
        return r;
    if (!(got & XCV_VIRTIO_STATUS_FEATURES_OK))
        return XCV_ENOTSUP;
    for (uint16_t qi = 0; qi < d->cfg.num_queues; qi++) {
        r = setup_queue(d, qi);
        if (r != XCV_OK)
            return r;
    }
    r = set_status(d, s | XCV_VIRTIO_STATUS_DRIVER_OK);
    if (r != XCV_OK)
        return r;
    d->open = true;
    (void)ch;
    return XCV_OK;
}

int xcv_vdrv_config_check(const struct xcv_vdrv_config *cfg)
{
    if (cfg == NULL || cfg->ops == NULL || cfg->ops->cancel == NULL ||
        (cfg->num_queues != 0u && cfg->queues == NULL) || cfg->num_queues > 32u)
        return XCV_EINVAL;
    for (uint16_t i = 0; i < cfg->num_queues; i++) {
        if (cfg->queues[i].slots == NULL || !xcv_is_pow2(cfg->queues[i].size) ||
            cfg->queues[i].size > XCV_VRING_MAX_NUM)
            return XCV_EINVAL;
    }
    return XCV_OK;
}

static const struct xcv_vdrv_transport_ops chan_tops;

static int chan_open(void *tctx, struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg)
{
    struct xcv_channel *ch = (struct xcv_channel *)tctx;
    if (ch == NULL || d == NULL || xcv_vdrv_config_check(cfg) != XCV_OK ||
        ch->role != XCV_ROLE_DRIVER || cfg->dev_num >= XCV_CHANNEL_MAX_DEVICES)
        return XCV_EINVAL;
    if (ch->vdrvs[cfg->dev_num] != NULL && ch->vdrvs[cfg->dev_num] != d)
        return XCV_ESTATE;
    if (ch->vdrvs[cfg->dev_num] == d && d->open)
        return XCV_ESTATE;
    xcv_vdrv_bind(d, cfg, ch->vdrvs[cfg->dev_num] != d, &chan_tops, ch, ch->port, ch->timeout_ns);
    d->ch = ch;
    d->qport.ops = (ch->port->ops->cache_clean != NULL || ch->port->ops->cache_invalidate != NULL)
                       ? &vdrv_qport_ops_noncoherent
                       : &vdrv_qport_ops_coherent;
    d->qport.ctx = d;
    ch->vdrvs[cfg->dev_num] = d;

    xcv_chan_lock(ch);
    int r = open_locked(ch, d);
    if (r != XCV_OK) {
        /* Tell the device we gave up: FAILED is added to the status it has (3.1.1 step 8). */
        uint32_t cur;
        if (r != XCV_EPEERRESET && r != XCV_ETIMEDOUT && xcv_channel_broken(ch) == 0 &&
            req_status(d, XCV_MSG_GET_DEVICE_STATUS, 0, &cur) == XCV_OK)
            (void)req_status(
                d, XCV_MSG_SET_DEVICE_STATUS,
                (cur | XCV_VIRTIO_STATUS_FAILED) & ~(uint32_t)XCV_VIRTIO_STATUS_NEEDS_RESET, &cur);
        xcv_vdrv_reclaim(d, XCV_ECANCELED);
    }
    xcv_chan_unlock(ch);
    return r;
}

static int chan_reset(struct xcv_vdrv *d)
{
    xcv_chan_lock(d->ch);
    uint32_t got = 0;
    int r = req_status(d, XCV_MSG_SET_DEVICE_STATUS, 0, &got);
    if (r == XCV_OK && got != 0u)
        r = XCV_EPROTO_DEVICE;
    xcv_vdrv_reclaim(d, XCV_ECANCELED);
    xcv_chan_unlock(d->ch);
    return r;
}

struct xcv_vq_driver *xcv_vdrv_queue(struct xcv_vdrv *d, uint16_t q)
{
    if (d == NULL || !d->open || q >= d->cfg.num_queues || !d->cfg.queues[q].ready)
        return NULL;
    return &d->cfg.queues[q].vq;
}

uint64_t xcv_vdrv_features(const struct xcv_vdrv *d)
{
    return d != NULL ? d->features : 0u;
}

/* One GET_CONFIG chunk; returns the generation through @gen. */
static int get_config_chunk(struct xcv_vdrv *d, uint32_t off, uint8_t *buf, uint32_t len,
                            uint32_t *gen)
{
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, 0, XCV_MSG_GET_CONFIG, d->cfg.dev_num, 8);
    xcv_pl32_set(&req, 0, off);
    xcv_pl32_set(&req, 4, len);
    int r = xcv_chan_request(d->ch, &req, &resp);
    if (r != XCV_OK)
        return r;
    if (xcv_pl32(&resp, 4) != off || xcv_pl32(&resp, 8) != len ||
        resp.size < XCV_MSG_HDR_SIZE + 12u + len)
        return XCV_EPROTO_DEVICE;
    *gen = xcv_pl32(&resp, 0);
    if (len != 0u)
        xcv_memcpy(buf, resp.payload + 12, len);
    return XCV_OK;
}

static int config_range_ok(const struct xcv_vdrv *d, uint32_t off, uint32_t len)
{
    return off <= d->config_size && len <= d->config_size - off;
}

static int chan_read_config(struct xcv_vdrv *d, uint32_t off, void *buf, uint32_t len)
{
    if (!config_range_ok(d, off, len))
        return XCV_EINVAL;
    xcv_chan_lock(d->ch);
    int r = XCV_EAGAIN;
    for (unsigned attempt = 0; attempt < XCV_CONFIG_RETRIES && r == XCV_EAGAIN; attempt++) {
        uint32_t first = 0;
        uint32_t gen = 0;
        r = XCV_OK;
        for (uint32_t done = 0; r == XCV_OK && (done < len || done == 0u);) {
            uint32_t n = len - done < XCV_MSG_CONFIG_CHUNK ? len - done : XCV_MSG_CONFIG_CHUNK;
            r = get_config_chunk(d, off + done, (uint8_t *)buf + done, n, &gen);
            if (r == XCV_OK && done == 0u)
                first = gen;
            else if (r == XCV_OK && gen != first)
                r = XCV_EAGAIN; /* changed while reading (virtio 1.2, 2.5.1): read again */
            done += n;
            if (n == 0u)
                break;
        }
    }
    xcv_chan_unlock(d->ch);
    return r;
}

static int chan_write_config(struct xcv_vdrv *d, uint32_t off, const void *buf, uint32_t len)
{
    if (!config_range_ok(d, off, len))
        return XCV_EINVAL;
    xcv_chan_lock(d->ch);
    uint32_t gen = 0;
    int r = get_config_chunk(d, off, NULL, 0, &gen);
    for (uint32_t done = 0; r == XCV_OK && done < len;) {
        uint32_t n = len - done < XCV_MSG_CONFIG_CHUNK ? len - done : XCV_MSG_CONFIG_CHUNK;
        struct xcv_msg req;
        struct xcv_msg resp;
        xcv_msg_init(&req, 0, XCV_MSG_SET_CONFIG, d->cfg.dev_num, (uint16_t)(12u + n));
        xcv_pl32_set(&req, 0, gen);
        xcv_pl32_set(&req, 4, off + done);
        xcv_pl32_set(&req, 8, n);
        xcv_memcpy(req.payload + 12, (const uint8_t *)buf + done, n);
        r = xcv_chan_request(d->ch, &req, &resp);
        done += n;
    }
    xcv_chan_unlock(d->ch);
    return r;
}

static int chan_get_status(struct xcv_vdrv *d)
{
    xcv_chan_lock(d->ch);
    uint32_t s = 0;
    int r = req_status(d, XCV_MSG_GET_DEVICE_STATUS, 0, &s);
    xcv_chan_unlock(d->ch);
    return r != XCV_OK ? r : (int)s;
}

static int chan_poll(struct xcv_vdrv *d, unsigned budget)
{
    return xcv_channel_poll(d->ch, budget);
}

static const struct xcv_vdrv_transport_ops chan_tops = {
    .open = chan_open,
    .reset = chan_reset,
    .read_config = chan_read_config,
    .write_config = chan_write_config,
    .get_status = chan_get_status,
    .poll = chan_poll,
};

/* ---- the transport-neutral entry points ---- */

void xcv_vdrv_channel_transport(struct xcv_channel *ch, struct xcv_vdrv_transport *t)
{
    if (t != NULL) {
        t->ops = &chan_tops;
        t->ctx = ch;
    }
}

int xcv_vdrv_open_on(const struct xcv_vdrv_transport *t, struct xcv_vdrv *d,
                     const struct xcv_vdrv_config *cfg)
{
    if (t == NULL || t->ops == NULL || t->ops->open == NULL)
        return XCV_EINVAL;
    return t->ops->open(t->ctx, d, cfg);
}

void xcv_vdrv_bind(struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg, bool fresh,
                   const struct xcv_vdrv_transport_ops *tops, void *tctx,
                   const struct xcv_port *port, uint64_t timeout_ns)
{
    if (fresh) {
        xcv_memset(d, 0, sizeof(*d));
        for (uint16_t i = 0; i < cfg->num_queues; i++) {
            cfg->queues[i].placed_size = 0;
            cfg->queues[i].placed_packed = false;
            cfg->queues[i].ready = false;
        }
    }
    d->tops = tops;
    d->tctx = tctx;
    d->port = port;
    d->timeout_ns = timeout_ns;
    d->cfg = *cfg;
}

int xcv_vdrv_open(struct xcv_channel *ch, struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg)
{
    return chan_open(ch, d, cfg);
}

int xcv_vdrv_reset(struct xcv_vdrv *d)
{
    if (d == NULL || d->tops == NULL)
        return XCV_EINVAL;
    return d->tops->reset(d);
}

int xcv_vdrv_read_config(struct xcv_vdrv *d, uint32_t off, void *buf, uint32_t len)
{
    if (d == NULL || d->tops == NULL || (buf == NULL && len != 0u))
        return XCV_EINVAL;
    return d->tops->read_config(d, off, buf, len);
}

int xcv_vdrv_write_config(struct xcv_vdrv *d, uint32_t off, const void *buf, uint32_t len)
{
    if (d == NULL || d->tops == NULL || (buf == NULL && len != 0u))
        return XCV_EINVAL;
    return d->tops->write_config(d, off, buf, len);
}

int xcv_vdrv_get_status(struct xcv_vdrv *d)
{
    if (d == NULL || d->tops == NULL)
        return XCV_EINVAL;
    return d->tops->get_status(d);
}

int xcv_vdrv_poll(struct xcv_vdrv *d, unsigned budget)
{
    if (d == NULL || d->tops == NULL)
        return XCV_EINVAL;
    return d->tops->poll(d, budget);
}

const struct xcv_port *xcv_vdrv_port(const struct xcv_vdrv *d)
{
    return d != NULL ? d->port : NULL;
}

uint64_t xcv_vdrv_timeout_ns(const struct xcv_vdrv *d)
{
    return d != NULL ? d->timeout_ns : 0u;
}
