/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device-role plumbing: serves the transport requests of one device and turns queue
 * notifications into event word bits (coherent ports) or EVENT_USED messages. Every request field
 * is checked before use; a bad request gets an error response and never changes device state.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "chan_internal.h"

#define XCV_VDEV_MAX_QUEUES 32u

/* ---- the port the device queues use: doorbells become event bits or EVENT_USED messages ---- */

static int vdev_send_used(struct xcv_vdev *dev, uint16_t q)
{
    struct xcv_msg m;
    xcv_msg_init(&m, 0, XCV_MSG_EVENT_USED, dev->dev_num, 4);
    xcv_pl32_set(&m, 0, q);
    int r = xcv_chan_send(dev->ch, &m);
    if (r == XCV_ENOSPC) {
        dev->pending_used |= 1u << q; /* sent by the next poll: never lost */
        return XCV_OK;
    }
    return r;
}

static int vdev_qport_notify(void *ctx, uint32_t q)
{
    struct xcv_vdev *dev = (struct xcv_vdev *)ctx;
    int r = vdev_send_used(dev, (uint16_t)q);
    if (r < 0)
        return r;
    return xcv_chan_ring(dev->ch);
}

/* Coherent ports: the queue's bit in the device-to-driver event word. */
static int vdev_qport_notify_word(void *ctx, uint32_t q)
{
    const struct xcv_vdev *dev = (const struct xcv_vdev *)ctx;
    return xcv_chan_post_event(dev->ch, dev->dev_num, q);
}

static void vdev_qport_clean(void *ctx, const void *p, size_t len)
{
    const struct xcv_port *up = ((struct xcv_vdev *)ctx)->ch->port;
    if (up->ops->cache_clean != NULL)
        up->ops->cache_clean(up->ctx, p, len);
}

static void vdev_qport_invalidate(void *ctx, const void *p, size_t len)
{
    const struct xcv_port *up = ((struct xcv_vdev *)ctx)->ch->port;
    if (up->ops->cache_invalidate != NULL)
        up->ops->cache_invalidate(up->ctx, p, len);
}

static void vdev_qport_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id,
                           int err)
{
    xcv_report(((struct xcv_vdev *)ctx)->ch->port, level, what, id, err);
}

static const struct xcv_port_ops vdev_qport_ops_coherent = {
    .notify = vdev_qport_notify_word,
    .log = vdev_qport_log,
};

static const struct xcv_port_ops vdev_qport_ops_noncoherent = {
    .notify = vdev_qport_notify,
    .cache_clean = vdev_qport_clean,
    .cache_invalidate = vdev_qport_invalidate,
    .log = vdev_qport_log,
};

/* ---- registration and state ---- */

int xcv_vdev_register(struct xcv_channel *ch, struct xcv_vdev *dev,
                      const struct xcv_vdev_config *cfg)
{
    if (dev == NULL || cfg == NULL || (ch != NULL && ch->role != XCV_ROLE_DEVICE) ||
        cfg->ops == NULL || cfg->ops->notify == NULL || cfg->ops->reset == NULL ||
        cfg->queues == NULL || cfg->num_queues == 0u || cfg->num_queues > XCV_VDEV_MAX_QUEUES ||
        (cfg->config == NULL && cfg->config_size != 0u) || cfg->config_wr_off > cfg->config_size ||
        cfg->config_wr_len > cfg->config_size - cfg->config_wr_off)
        return XCV_EINVAL;
    for (uint16_t i = 0; i < cfg->num_queues; i++) {
        const struct xcv_vdev_queue *q = &cfg->queues[i];
        if (q->slots == NULL || !xcv_is_pow2(q->max_size) || q->max_size > XCV_VRING_MAX_NUM ||
            cfg->max_chain > q->max_size)
            return XCV_EINVAL;
    }
    if (ch == NULL) {
        /* Detached: a host transport drives it after xcv_vdev_host_attach(). */
        xcv_memset(dev, 0, sizeof(*dev));
        dev->cfg = *cfg;
        dev->cfg.features |= XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
        for (uint16_t i = 0; i < cfg->num_queues; i++)
            dev->cfg.queues[i].ready = false;
        return 0;
    }
    uint16_t n = 0;
    while (n < XCV_CHANNEL_MAX_DEVICES && ch->vdevs[n] != NULL)
        n++;
    if (n == XCV_CHANNEL_MAX_DEVICES)
        return XCV_ENOSPC;

    xcv_memset(dev, 0, sizeof(*dev));
    dev->ch = ch;
    dev->cfg = *cfg;
    dev->cfg.features |= XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
    dev->dev_num = n;
    dev->qport.ops = (ch->port->ops->cache_clean != NULL || ch->port->ops->cache_invalidate != NULL)
                         ? &vdev_qport_ops_noncoherent
                         : &vdev_qport_ops_coherent;
    dev->qport.ctx = dev;
    for (uint16_t i = 0; i < cfg->num_queues; i++)
        dev->cfg.queues[i].ready = false;
    ch->vdevs[n] = dev;
    return n;
}

static void vdev_reset(struct xcv_vdev *dev)
{
    for (uint16_t i = 0; i < dev->cfg.num_queues; i++) {
        struct xcv_vdev_queue *q = &dev->cfg.queues[i];
        if (q->ready)
            xcv_vq_device_reset(&q->vq);
        q->ready = false;
        q->size = 0;
    }
    dev->status = 0;
    dev->driver_features = 0;
    dev->pending_used = 0;
    dev->config_event_pending = false;
    dev->cfg.ops->reset(dev->cfg.ctx, dev);
}

void xcv_vdev_reset_all(struct xcv_channel *ch)
{
    ch->resp_held = false; /* an answer for the previous driver instance */
    for (unsigned i = 0; i < XCV_CHANNEL_MAX_DEVICES; i++) {
        if (ch->vdevs[i] != NULL)
            vdev_reset(ch->vdevs[i]);
    }
}

struct xcv_vq_device *xcv_vdev_queue(struct xcv_vdev *dev, uint16_t q)
{
    if (dev == NULL || q >= dev->cfg.num_queues || !dev->cfg.queues[q].ready)
        return NULL;
    return &dev->cfg.queues[q].vq;
}

uint64_t xcv_vdev_features(const struct xcv_vdev *dev)
{
    return dev != NULL ? dev->driver_features : 0u;
}

uint8_t xcv_vdev_status(const struct xcv_vdev *dev)
{
    return dev != NULL ? dev->status : 0u;
}

static int vdev_send_config_event(struct xcv_vdev *dev)
{
    struct xcv_msg m;
    xcv_msg_init(&m, 0, XCV_MSG_EVENT_CONFIG, dev->dev_num, 16);
    xcv_pl32_set(&m, 0, dev->status);
    xcv_pl32_set(&m, 4, dev->generation);
    int r = xcv_chan_send(dev->ch, &m);
    if (r == XCV_ENOSPC) {
        dev->config_event_pending = true;
        return XCV_OK;
    }
    dev->config_event_pending = false;
    return r;
}

/* A detached device tells its host transport (if any) through the config doorbell. */
static int vdev_host_config_event(const struct xcv_vdev *dev)
{
    if (dev->host == NULL)
        return XCV_OK;
    return dev->host->ops->notify(dev->host->ctx, XCV_VDEV_DOORBELL_CONFIG);
}

int xcv_vdev_config_changed(struct xcv_vdev *dev)
{
    if (dev == NULL)
        return XCV_EINVAL;
    dev->generation++;
    if (dev->ch == NULL)
        return vdev_host_config_event(dev);
    int r = vdev_send_config_event(dev);
    return r < 0 ? r : xcv_chan_ring(dev->ch);
}

int xcv_vdev_needs_reset(struct xcv_vdev *dev)
{
    if (dev == NULL)
        return XCV_EINVAL;
    if (dev->status & XCV_VIRTIO_STATUS_NEEDS_RESET)
        return XCV_OK;
    dev->status = (uint8_t)(dev->status | XCV_VIRTIO_STATUS_NEEDS_RESET);
    if (dev->ch == NULL) {
        xcv_report(dev->host, XCV_LOG_WARN, "device needs reset", dev->cfg.device_id, 0);
        return vdev_host_config_event(dev);
    }
    xcv_report(dev->ch->port, XCV_LOG_WARN, "device needs reset", dev->dev_num, 0);
    int r = vdev_send_config_event(dev);
    return r < 0 ? r : xcv_chan_ring(dev->ch);
}

/*
 * Send a response, or hold it until the ring has room: a ring filled with events (which are
 * coalesced and retried) must never cost a request its answer. One response is held at most:
 * the driver asks one thing at a time, and a newer request means it gave up on the older one.
 */
static void vdev_send_resp(struct xcv_channel *ch, const struct xcv_msg *resp)
{
    if (xcv_chan_send(ch, resp) == XCV_ENOSPC) {
        ch->held_resp = *resp;
        ch->resp_held = true;
    }
}

void xcv_vdev_flush_events(struct xcv_channel *ch)
{
    if (ch->resp_held) {
        ch->resp_held = false;
        vdev_send_resp(ch, &ch->held_resp); /* answers go before events */
    }
    for (unsigned i = 0; i < XCV_CHANNEL_MAX_DEVICES; i++) {
        struct xcv_vdev *dev = ch->vdevs[i];
        if (dev == NULL)
            continue;
        if (dev->config_event_pending)
            (void)vdev_send_config_event(dev);
        uint32_t pend = dev->pending_used;
        dev->pending_used = 0;
        for (uint16_t q = 0; pend != 0u; q++, pend >>= 1) {
            if (pend & 1u)
                (void)vdev_send_used(dev, q);
        }
    }
}

/* Feature combinations the rings here do not implement: packed rings with indirect tables, or
 * on a non-coherent port (both sides write the descriptor lines). Refused at FEATURES_OK
 * (virtio 1.2, 3.1.1: the driver then sees it unset). */
static bool vdev_unsupported_combination(const struct xcv_vdev *dev, uint64_t f)
{
    if ((f & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) == 0u)
        return false;
    const struct xcv_port_ops *ops = dev->ch->port->ops;
    return (f & (XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER))) !=
               0u ||
           ops->cache_clean != NULL || ops->cache_invalidate != NULL;
}

/* ---- request handlers: each fills @resp or returns a negative error ---- */

static int h_device_info(struct xcv_vdev *dev, struct xcv_msg *resp)
{
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_DEVICE_INFO, dev->dev_num, 24);
    xcv_pl32_set(resp, 0, dev->cfg.device_id);
    xcv_pl32_set(resp, 4, dev->cfg.vendor_id);
    xcv_pl32_set(resp, 8, 64u);
    xcv_pl32_set(resp, 12, dev->cfg.config_size);
    xcv_pl32_set(resp, 16, dev->cfg.num_queues);
    return XCV_OK;
}

static int h_get_features(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t index = xcv_pl32(m, 0);
    uint32_t num = xcv_pl32(m, 4);
    if (num > (XCV_MSG_PAYLOAD_MAX - 8u) / 4u || index > 0xffffu)
        return XCV_EINVAL;
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_GET_DEV_FEATURES, dev->dev_num,
                 (uint16_t)(8u + 4u * num));
    xcv_pl32_set(resp, 0, index);
    xcv_pl32_set(resp, 4, num);
    for (uint32_t i = 0; i < num; i++) {
        uint32_t blk = index + i;
        uint32_t v = blk < 2u ? (uint32_t)(dev->cfg.features >> (32u * blk)) : 0u;
        xcv_pl32_set(resp, 8u + 4u * i, v);
    }
    return XCV_OK;
}

static int h_set_features(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t index = xcv_pl32(m, 0);
    uint32_t num = xcv_pl32(m, 4);
    /* The blocks must be inside the message as received. */
    if (num > (uint32_t)(m->size - XCV_MSG_HDR_SIZE - 8u) / 4u || index > 0xffffu)
        return XCV_EINVAL;
    if (!(dev->status & XCV_VIRTIO_STATUS_DRIVER) || (dev->status & XCV_VIRTIO_STATUS_FEATURES_OK))
        return XCV_ESTATE;
    for (uint32_t i = 0; i < num; i++) {
        uint32_t blk = index + i;
        uint32_t v = xcv_pl32(m, 8u + 4u * i);
        if (blk >= 2u) {
            if (v != 0u)
                return XCV_ENOTSUP;
            continue;
        }
        uint64_t mask = (uint64_t)UINT32_MAX << (32u * blk);
        dev->driver_features = (dev->driver_features & ~mask) | ((uint64_t)v << (32u * blk));
    }
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_SET_DRV_FEATURES, dev->dev_num, 0);
    return XCV_OK;
}

static void status_resp(struct xcv_vdev *dev, uint8_t id, struct xcv_msg *resp)
{
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, id, dev->dev_num, 4);
    xcv_pl32_set(resp, 0, dev->status);
}

static int h_set_status(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t v = xcv_pl32(m, 0);
    if (v > 0xffu)
        return XCV_EINVAL;
    uint8_t want = (uint8_t)v;
    if (want == 0u) {
        vdev_reset(dev);
        status_resp(dev, XCV_MSG_SET_DEVICE_STATUS, resp);
        return XCV_OK;
    }
    uint8_t keep = (uint8_t)(dev->status & ~XCV_VIRTIO_STATUS_NEEDS_RESET);
    if ((want & keep) != keep || (want & XCV_VIRTIO_STATUS_NEEDS_RESET))
        return XCV_ESTATE; /* bits are only cleared by a reset (virtio 1.2, 2.1.1) */
    uint8_t added = (uint8_t)(want & ~keep);
    if (added & XCV_VIRTIO_STATUS_FEATURES_OK) {
        uint64_t f = dev->driver_features;
        bool ok = (f & ~dev->cfg.features) == 0u && (f & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) &&
                  !vdev_unsupported_combination(dev, f);
        if (ok && dev->cfg.ops->features_ok != NULL)
            ok = dev->cfg.ops->features_ok(dev->cfg.ctx, dev, f) == 0;
        if (!ok)
            want = (uint8_t)(want & ~XCV_VIRTIO_STATUS_FEATURES_OK);
    }
    dev->status = (uint8_t)(want | (dev->status & XCV_VIRTIO_STATUS_NEEDS_RESET));
    if (added != 0u && dev->cfg.ops->status != NULL)
        dev->cfg.ops->status(dev->cfg.ctx, dev, dev->status);
    status_resp(dev, XCV_MSG_SET_DEVICE_STATUS, resp);
    return XCV_OK;
}

static int h_get_config(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t off = xcv_pl32(m, 0);
    uint32_t size = xcv_pl32(m, 4);
    if (size > XCV_MSG_CONFIG_CHUNK || off > dev->cfg.config_size ||
        size > dev->cfg.config_size - off)
        return XCV_EINVAL;
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_GET_CONFIG, dev->dev_num,
                 (uint16_t)(12u + size));
    xcv_pl32_set(resp, 0, dev->generation);
    xcv_pl32_set(resp, 4, off);
    xcv_pl32_set(resp, 8, size);
    if (size != 0u)
        xcv_memcpy(resp->payload + 12, (const uint8_t *)dev->cfg.config + off, size);
    return XCV_OK;
}

static int h_set_config(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t gen = xcv_pl32(m, 0);
    uint32_t off = xcv_pl32(m, 4);
    uint32_t size = xcv_pl32(m, 8);
    if (size > (uint32_t)(m->size - XCV_MSG_HDR_SIZE - 12u) || off > dev->cfg.config_size ||
        size > dev->cfg.config_size - off)
        return XCV_EINVAL;
    /* Only the declared writable part may change; read-only fields stay the model's. */
    if (size != 0u &&
        (off < dev->cfg.config_wr_off || off - dev->cfg.config_wr_off > dev->cfg.config_wr_len ||
         size > dev->cfg.config_wr_len - (off - dev->cfg.config_wr_off)))
        return XCV_EINVAL;
    if (gen != dev->generation)
        return XCV_EAGAIN; /* the driver read stale config: it re-reads and retries */
    if (size != 0u) {
        xcv_memcpy((uint8_t *)dev->cfg.config + off, m->payload + 12, size);
        if (dev->cfg.ops->config_write != NULL)
            dev->cfg.ops->config_write(dev->cfg.ctx, dev, off, size);
    }
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_SET_CONFIG, dev->dev_num, 12);
    xcv_pl32_set(resp, 0, dev->generation);
    xcv_pl32_set(resp, 4, off);
    xcv_pl32_set(resp, 8, size);
    return XCV_OK;
}

static int h_get_vqueue(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t qi = xcv_pl32(m, 0);
    if (qi >= dev->cfg.num_queues)
        return XCV_ENODEV;
    const struct xcv_vdev_queue *q = &dev->cfg.queues[qi];
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_GET_VQUEUE, dev->dev_num, 40);
    xcv_pl32_set(resp, 0, qi);
    xcv_pl32_set(resp, 4, q->max_size);
    xcv_pl32_set(resp, 8, q->ready ? q->size : 0u);
    xcv_pl64_set(resp, 16, q->ready ? q->desc_bus : 0u);
    xcv_pl64_set(resp, 24, q->ready ? q->avail_bus : 0u);
    xcv_pl64_set(resp, 32, q->ready ? q->used_bus : 0u);
    return XCV_OK;
}

static int h_set_vqueue(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t qi = xcv_pl32(m, 0);
    uint32_t size = xcv_pl32(m, 8);
    if (qi >= dev->cfg.num_queues)
        return XCV_ENODEV;
    struct xcv_vdev_queue *q = &dev->cfg.queues[qi];
    if (!(dev->status & XCV_VIRTIO_STATUS_FEATURES_OK) ||
        (dev->status & XCV_VIRTIO_STATUS_DRIVER_OK) || q->ready)
        return XCV_ESTATE;
    if (!xcv_is_pow2(size) || size > q->max_size)
        return XCV_EINVAL;
    struct xcv_vq_device_config vc = {
        .mem = &dev->ch->devmap,
        .num = (uint16_t)size,
        .desc_bus = xcv_pl64(m, 16),
        .avail_bus = xcv_pl64(m, 24),
        .used_bus = xcv_pl64(m, 32),
        .features = dev->driver_features,
        .max_chain = dev->cfg.max_chain < size ? dev->cfg.max_chain : 0u,
        .slots = q->slots,
        .port = &dev->qport,
        .doorbell = qi,
        .queue_index = (uint16_t)qi,
        .polled = dev->cfg.polled,
    };
    int r = xcv_vq_device_init(&q->vq, &vc);
    if (r != XCV_OK)
        return r < XCV_EPORT ? XCV_EINVAL : r; /* report the refusal; the device stays up */
    q->size = (uint16_t)size;
    q->desc_bus = vc.desc_bus;
    q->avail_bus = vc.avail_bus;
    q->used_bus = vc.used_bus;
    q->ready = true;
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_SET_VQUEUE, dev->dev_num, 0);
    return XCV_OK;
}

static int h_reset_vqueue(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    uint32_t qi = xcv_pl32(m, 0);
    if (qi >= dev->cfg.num_queues)
        return XCV_ENODEV;
    struct xcv_vdev_queue *q = &dev->cfg.queues[qi];
    if (q->ready)
        xcv_vq_device_reset(&q->vq);
    q->ready = false;
    q->size = 0;
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE, XCV_MSG_RESET_VQUEUE, dev->dev_num, 0);
    return XCV_OK;
}

/* A driver notification for queue @qi (EVENT_AVAIL or an event word bit); any @qi is safe. */
void xcv_vdev_kick(struct xcv_vdev *dev, uint32_t qi)
{
    if (qi >= dev->cfg.num_queues || !dev->cfg.queues[qi].ready ||
        !(dev->status & XCV_VIRTIO_STATUS_DRIVER_OK))
        return; /* a stale or early kick: nothing to do, nothing to break */
    struct xcv_vdev_queue *q = &dev->cfg.queues[qi];
    dev->cfg.ops->notify(dev->cfg.ctx, dev, (uint16_t)qi);
    if (xcv_vq_device_broken(&q->vq) != 0)
        (void)xcv_vdev_needs_reset(dev);
}

static int bus_request(struct xcv_channel *ch, const struct xcv_msg *m, struct xcv_msg *resp)
{
    if (m->id == XCV_BUS_MSG_PING) {
        xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE | XCV_MSG_TYPE_BUS, XCV_BUS_MSG_PING, 0, 4);
        xcv_pl32_set(resp, 0, xcv_pl32(m, 0));
        return XCV_OK;
    }
    /* GET_DEVICES: one 32-bit bitmap block of present device numbers. */
    uint32_t mask = 0;
    for (unsigned i = 0; i < XCV_CHANNEL_MAX_DEVICES; i++) {
        if (ch->vdevs[i] != NULL)
            mask |= 1u << i;
    }
    xcv_msg_init(resp, XCV_MSG_TYPE_RESPONSE | XCV_MSG_TYPE_BUS, XCV_BUS_MSG_GET_DEVICES, 0, 8);
    xcv_le16_store(resp->payload + 2, XCV_CHANNEL_MAX_DEVICES);
    xcv_pl32_set(resp, 4, mask);
    return XCV_OK;
}

static int vdev_request(struct xcv_vdev *dev, const struct xcv_msg *m, struct xcv_msg *resp)
{
    switch (m->id) {
    case XCV_MSG_DEVICE_INFO:
        return h_device_info(dev, resp);
    case XCV_MSG_GET_DEV_FEATURES:
        return h_get_features(dev, m, resp);
    case XCV_MSG_SET_DRV_FEATURES:
        return h_set_features(dev, m, resp);
    case XCV_MSG_GET_CONFIG:
        return h_get_config(dev, m, resp);
    case XCV_MSG_SET_CONFIG:
        return h_set_config(dev, m, resp);
    case XCV_MSG_GET_DEVICE_STATUS:
        status_resp(dev, XCV_MSG_GET_DEVICE_STATUS, resp);
        return XCV_OK;
    case XCV_MSG_SET_DEVICE_STATUS:
        return h_set_status(dev, m, resp);
    case XCV_MSG_GET_VQUEUE:
        return h_get_vqueue(dev, m, resp);
    case XCV_MSG_SET_VQUEUE:
        return h_set_vqueue(dev, m, resp);
    case XCV_MSG_RESET_VQUEUE:
        return h_reset_vqueue(dev, m, resp);
    default:
        return XCV_EINVAL;
    }
}

void xcv_vdev_dispatch(struct xcv_channel *ch, const struct xcv_msg *m)
{
    if (m->type & XCV_MSG_TYPE_RESPONSE) {
        (void)xcv_chan_break(ch, XCV_EPROTO_MSG); /* the device side never asks anything */
        return;
    }
    struct xcv_vdev *dev = m->dev_num < XCV_CHANNEL_MAX_DEVICES ? ch->vdevs[m->dev_num] : NULL;
    if (!(m->type & XCV_MSG_TYPE_BUS) && m->id == XCV_MSG_EVENT_AVAIL) {
        if (dev != NULL)
            xcv_vdev_kick(dev, xcv_pl32(m, 0));
        return;
    }
    if (!(m->type & XCV_MSG_TYPE_BUS) &&
        (m->id == XCV_MSG_EVENT_USED || m->id == XCV_MSG_EVENT_CONFIG)) {
        (void)xcv_chan_break(ch, XCV_EPROTO_MSG); /* device-to-driver events only */
        return;
    }

    struct xcv_msg resp;
    int r;
    if (m->type & XCV_MSG_TYPE_BUS)
        r = bus_request(ch, m, &resp);
    else
        r = dev != NULL ? vdev_request(dev, m, &resp) : XCV_ENODEV;
    if (r != XCV_OK) {
        xcv_msg_init(&resp,
                     XCV_MSG_TYPE_RESPONSE | XCV_MSG_TYPE_ERROR | (m->type & XCV_MSG_TYPE_BUS),
                     m->id, m->dev_num, 4);
        xcv_pl32_set(&resp, 0, (uint32_t)r);
    }
    resp.token = m->token;
    ch->resp_held = false; /* a new request supersedes an answer still waiting */
    vdev_send_resp(ch, &resp);
}

/* ---- host transports: the same device, driven without a channel ---- */

int xcv_vdev_host_attach(struct xcv_vdev *dev, const struct xcv_port *port)
{
    if (dev == NULL || port == NULL || port->ops == NULL || port->ops->notify == NULL)
        return XCV_EINVAL;
    if (dev->ch != NULL)
        return XCV_ESTATE;
    dev->host = port;
    vdev_reset(dev);
    return XCV_OK;
}

uint32_t xcv_vdev_device_id(const struct xcv_vdev *dev)
{
    return dev != NULL ? dev->cfg.device_id : 0u;
}

uint16_t xcv_vdev_num_queues(const struct xcv_vdev *dev)
{
    return dev != NULL ? dev->cfg.num_queues : 0u;
}

uint16_t xcv_vdev_queue_max_size(const struct xcv_vdev *dev, uint16_t q)
{
    if (dev == NULL || q >= dev->cfg.num_queues)
        return 0u;
    return dev->cfg.queues[q].max_size;
}

uint64_t xcv_vdev_device_features(const struct xcv_vdev *dev)
{
    return dev != NULL ? dev->cfg.features : 0u;
}

uint32_t xcv_vdev_config_size(const struct xcv_vdev *dev)
{
    return dev != NULL ? dev->cfg.config_size : 0u;
}

static bool vdev_host_ok(const struct xcv_vdev *dev)
{
    return dev->ch == NULL && dev->host != NULL;
}

static bool vdev_any_ready(const struct xcv_vdev *dev)
{
    for (uint16_t i = 0; i < dev->cfg.num_queues; i++) {
        if (dev->cfg.queues[i].ready)
            return true;
    }
    return false;
}

int xcv_vdev_host_set_features(struct xcv_vdev *dev, uint64_t features)
{
    if (dev == NULL)
        return XCV_EINVAL;
    if (!vdev_host_ok(dev))
        return XCV_ESTATE;
    if (vdev_any_ready(dev))
        return features == dev->driver_features ? XCV_OK : XCV_ESTATE;
    if ((features & ~dev->cfg.features) != 0u ||
        (features & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) == 0u ||
        (features & XCV_VDEV_HOST_UNSUPPORTED) != 0u)
        return XCV_ENOTSUP;
    if (dev->cfg.ops->features_ok != NULL &&
        dev->cfg.ops->features_ok(dev->cfg.ctx, dev, features) != 0)
        return XCV_ENOTSUP;
    dev->driver_features = features;
    /* A renegotiation (the driver restarted its rings) starts again before DRIVER_OK. */
    uint8_t want = (uint8_t)(XCV_VIRTIO_STATUS_ACKNOWLEDGE | XCV_VIRTIO_STATUS_DRIVER |
                             XCV_VIRTIO_STATUS_FEATURES_OK);
    uint8_t added = (uint8_t)(want & ~dev->status);
    dev->status = (uint8_t)(want | (dev->status & XCV_VIRTIO_STATUS_NEEDS_RESET));
    if (added != 0u && dev->cfg.ops->status != NULL)
        dev->cfg.ops->status(dev->cfg.ctx, dev, dev->status);
    return XCV_OK;
}

int xcv_vdev_host_start_queue(struct xcv_vdev *dev, uint16_t q,
                              const struct xcv_vdev_host_queue *hq)
{
    if (dev == NULL || hq == NULL)
        return XCV_EINVAL;
    if (q >= dev->cfg.num_queues)
        return XCV_ENODEV;
    struct xcv_vdev_queue *vq = &dev->cfg.queues[q];
    if (!vdev_host_ok(dev) || !(dev->status & XCV_VIRTIO_STATUS_FEATURES_OK) || vq->ready)
        return XCV_ESTATE;
    if (!xcv_is_pow2(hq->num) || hq->num > vq->max_size)
        return XCV_EINVAL;
    struct xcv_vq_device_config vc = {
        .mem = hq->mem,
        .num = hq->num,
        .desc_bus = hq->desc_bus,
        .avail_bus = hq->avail_bus,
        .used_bus = hq->used_bus,
        .features = dev->driver_features,
        .max_chain = dev->cfg.max_chain < hq->num ? dev->cfg.max_chain : 0u,
        .slots = vq->slots,
        .port = dev->host,
        .doorbell = q,
        .queue_index = q,
        .polled = dev->cfg.polled,
    };
    int r = xcv_vq_device_init(&vq->vq, &vc);
    if (r == XCV_OK)
        r = xcv_vq_device_set_base(&vq->vq, hq->next_avail, hq->next_used);
    if (r != XCV_OK)
        return r;
    vq->size = hq->num;
    vq->desc_bus = hq->desc_bus;
    vq->avail_bus = hq->avail_bus;
    vq->used_bus = hq->used_bus;
    vq->ready = true;
    if (!(dev->status & XCV_VIRTIO_STATUS_DRIVER_OK)) {
        dev->status = (uint8_t)(dev->status | XCV_VIRTIO_STATUS_DRIVER_OK);
        if (dev->cfg.ops->status != NULL)
            dev->cfg.ops->status(dev->cfg.ctx, dev, dev->status);
    }
    return XCV_OK;
}

int xcv_vdev_host_stop_queue(struct xcv_vdev *dev, uint16_t q, uint16_t *next_avail)
{
    if (dev == NULL)
        return XCV_EINVAL;
    if (q >= dev->cfg.num_queues)
        return XCV_ENODEV;
    struct xcv_vdev_queue *vq = &dev->cfg.queues[q];
    if (dev->ch != NULL || !vq->ready)
        return XCV_ESTATE;
    if (next_avail != NULL)
        *next_avail = xcv_vq_device_next_avail(&vq->vq);
    xcv_vq_device_reset(&vq->vq);
    vq->ready = false;
    vq->size = 0;
    return XCV_OK;
}

int xcv_vdev_host_kick(struct xcv_vdev *dev, uint16_t q)
{
    if (dev == NULL)
        return XCV_EINVAL;
    if (dev->ch != NULL || q >= dev->cfg.num_queues || !dev->cfg.queues[q].ready)
        return XCV_ENODEV;
    struct xcv_vq_device *vq = &dev->cfg.queues[q].vq;
    if (xcv_vq_device_broken(vq) == 0)
        dev->cfg.ops->notify(dev->cfg.ctx, dev, q);
    int b = xcv_vq_device_broken(vq);
    if (b != 0) {
        (void)xcv_vdev_needs_reset(dev);
        return b;
    }
    return XCV_OK;
}

void xcv_vdev_host_reset(struct xcv_vdev *dev)
{
    if (dev == NULL || dev->ch != NULL)
        return;
    vdev_reset(dev);
}

static bool vdev_config_range(const struct xcv_vdev *dev, uint32_t off, uint32_t len)
{
    return off <= dev->cfg.config_size && len <= dev->cfg.config_size - off;
}

int xcv_vdev_host_read_config(const struct xcv_vdev *dev, uint32_t off, void *buf, uint32_t len)
{
    if (dev == NULL || (buf == NULL && len != 0u) || !vdev_config_range(dev, off, len))
        return XCV_EINVAL;
    if (len != 0u)
        xcv_memcpy(buf, (const uint8_t *)dev->cfg.config + off, len);
    return XCV_OK;
}

int xcv_vdev_host_write_config(struct xcv_vdev *dev, uint32_t off, const void *buf, uint32_t len)
{
    if (dev == NULL || (buf == NULL && len != 0u) || !vdev_config_range(dev, off, len))
        return XCV_EINVAL;
    /* Only the declared writable part may change, as on a channel. */
    if (len != 0u &&
        (off < dev->cfg.config_wr_off || off - dev->cfg.config_wr_off > dev->cfg.config_wr_len ||
         len > dev->cfg.config_wr_len - (off - dev->cfg.config_wr_off)))
        return XCV_EINVAL;
    if (!vdev_host_ok(dev))
        return XCV_ESTATE;
    if (len != 0u) {
        xcv_memcpy((uint8_t *)dev->cfg.config + off, buf, len);
        if (dev->cfg.ops->config_write != NULL)
            dev->cfg.ops->config_write(dev->cfg.ctx, dev, off, len);
    }
    return XCV_OK;
}
