/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net driver (virtio 1.2, section 5.1), driver role.
 *
 * Receive buffers are whole pool buffers posted device-writable, one per chain; the token is
 * the buffer's local address. A transmit takes one pool buffer holding the header and the
 * frame. What the device wrote is read once, after the used entry was taken (acquire): the
 * header is copied into local memory before num_buffers is validated, and the used lengths
 * were checked by the ring against the bytes posted.
 *
 * Every buffer posted is lent in the pool (pool_state.h) and taken back when its chain is used
 * or cancelled, so a buffer the device holds is refused by xcv_net_drv_release() and
 * xcv_net_drv_send_zc(), and a buffer sent twice in one call is caught before anything is
 * posted.
 */
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/prefetch.h"
#include "../common/shm.h"
#include "../platform/pool_state.h"
#include "net_hdr.h"

#define NET_DRV_KNOWN                                                                              \
    (XCV_FEATURE(XCV_VIRTIO_NET_F_MAC) | XCV_FEATURE(XCV_VIRTIO_NET_F_STATUS) |                    \
     XCV_FEATURE(XCV_VIRTIO_NET_F_MTU) | XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF) |                 \
     XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) |               \
     XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER) |                  \
     XCV_FEATURE(XCV_VIRTIO_F_VERSION_1))

/* Buffers moved per ring call when sending, reclaiming and reposting. */
#define NET_DRV_BURST 32u

/* How many used receive buffers ahead of the one being copied are prefetched. */
#define NET_RX_PREFETCH 4u

static bool has(const struct xcv_net_drv *d, unsigned bit)
{
    return (xcv_vdrv_features(&d->vdrv) & XCV_FEATURE(bit)) != 0u;
}

/* Return a buffer taken back from the device to the pool. Its token came from this side's own
 * slot table: a buffer this driver lent, or an owned one that other code posted on the queue
 * directly (not lent: returned as it is). */
static void net_put_lent(struct xcv_net_drv *d, void *buf)
{
    if (xcv_pool_put(d->pool, buf, XCV_POOL_LENT) != XCV_OK)
        (void)xcv_pool_put(d->pool, buf, 0u);
}

/* Partial-frame buffers are owned: they were taken back (unlent) when taken from the ring. */
static void net_free_held(struct xcv_net_drv *d)
{
    for (unsigned i = 0; i < d->n_held; i++)
        (void)xcv_pool_put(d->pool, d->held[i], 0u);
    d->n_held = 0;
    d->want = 0;
}

static void net_drv_cancel(void *ctx, struct xcv_vdrv *v, uint16_t q, void *token, int err)
{
    struct xcv_net_drv *d = (struct xcv_net_drv *)ctx;
    (void)v;
    (void)err;
    if (q == XCV_NET_RXQ && d->rx_posted > 0u)
        d->rx_posted--;
    net_put_lent(d, token); /* tokens are the pool buffers posted */
    net_free_held(d);       /* a partial frame is gone with the device state */
}

static const struct xcv_vdrv_ops net_drv_ops = {.cancel = net_drv_cancel};

int xcv_net_drv_open(struct xcv_net_drv *d, struct xcv_channel *ch,
                     const struct xcv_net_drv_config *cfg)
{
    if (ch == NULL)
        return XCV_EINVAL;
    struct xcv_vdrv_transport t;
    xcv_vdrv_channel_transport(ch, &t);
    return xcv_net_drv_open_on(d, &t, cfg);
}

int xcv_net_drv_open_on(struct xcv_net_drv *d, const struct xcv_vdrv_transport *t,
                        const struct xcv_net_drv_config *cfg)
{
    if (d == NULL || t == NULL || cfg == NULL || cfg->pool == NULL ||
        xcv_pool_buf_size(cfg->pool) <= XCV_VIRTIO_NET_HDR_SIZE)
        return XCV_EINVAL;
    uint16_t qs = cfg->queue_size != 0u ? cfg->queue_size : 64u;
    if (!xcv_is_pow2(qs) || qs > XCV_NET_MAX_QUEUE || cfg->rx_buffers > qs)
        return XCV_EINVAL;
    /* Not zeroed as a whole: the queues keep their placement in the queue area across a
     * reopen. Buffers of an earlier open were returned by xcv_net_drv_reset(). */
    d->n_held = 0;
    d->want = 0;
    d->rx_posted = 0;
    d->rx_err = 0;
    xcv_memset(d->mac, 0, sizeof(d->mac));
    xcv_memset(&d->stats, 0, sizeof(d->stats));
    d->pool = cfg->pool;
    d->rx_target = cfg->rx_buffers != 0u ? cfg->rx_buffers : qs / 2u;
    d->queues[XCV_NET_RXQ].slots = d->rx_slots;
    d->queues[XCV_NET_RXQ].size = qs;
    d->queues[XCV_NET_TXQ].slots = d->tx_slots;
    d->queues[XCV_NET_TXQ].size = qs;
    uint64_t want = cfg->features != 0u ? cfg->features : NET_DRV_KNOWN;
    struct xcv_vdrv_config vc = {
        .dev_num = cfg->dev_num,
        .device_id = XCV_VIRTIO_ID_NET,
        .features = (want & NET_DRV_KNOWN) | XCV_FEATURE(XCV_VIRTIO_F_VERSION_1),
        .queues = d->queues,
        .num_queues = 2,
        .ops = &net_drv_ops,
        .ctx = d,
    };
    int r = xcv_vdrv_open_on(t, &d->vdrv, &vc);
    if (r != XCV_OK)
        return r;
    /* Every buffer carries the 12-byte VERSION_1 header. A legacy virtio-mmio device, which
     * cannot offer VERSION_1, expects the 10-byte legacy one (without MRG_RXBUF) and its own
     * framing: not driven here. No buffer is posted yet; the reset leaves the device free. */
    if (!has(d, XCV_VIRTIO_F_VERSION_1)) {
        (void)xcv_vdrv_reset(&d->vdrv);
        return XCV_ENOTSUP;
    }
    /* Config fields one by one, each with its own width (virtio-mmio, 4.2.2.2: byte accesses for
     * the MAC's bytes, 16-bit ones for mtu); a channel carries each read as one request. */
    uint8_t c[XCV_VIRTIO_NET_CFG_SIZE] = {0};
    for (unsigned i = 0; i < 6u && r == XCV_OK && has(d, XCV_VIRTIO_NET_F_MAC); i++)
        r = xcv_vdrv_read_config(&d->vdrv, XCV_VIRTIO_NET_CFG_MAC + i,
                                 c + XCV_VIRTIO_NET_CFG_MAC + i, 1);
    if (r == XCV_OK && has(d, XCV_VIRTIO_NET_F_MTU))
        r = xcv_vdrv_read_config(&d->vdrv, XCV_VIRTIO_NET_CFG_MTU, c + XCV_VIRTIO_NET_CFG_MTU, 2);
    if (r != XCV_OK) {
        (void)xcv_vdrv_reset(&d->vdrv);
        return r;
    }
    if (has(d, XCV_VIRTIO_NET_F_MAC))
        xcv_memcpy(d->mac, c + XCV_VIRTIO_NET_CFG_MAC, 6);
    d->mrg = has(d, XCV_VIRTIO_NET_F_MRG_RXBUF);
    d->mtu = XCV_NET_DEFAULT_MTU;
    if (has(d, XCV_VIRTIO_NET_F_MTU)) {
        d->mtu = xcv_le16_load(c + XCV_VIRTIO_NET_CFG_MTU);
        if (d->mtu < 68u) { /* 5.1.4.1: the device MUST NOT set mtu below 68 */
            (void)xcv_vdrv_reset(&d->vdrv);
            return XCV_EPROTO_DEVICE;
        }
    }
    d->polled = cfg->polled;
    d->rx_hint_age = 0;
    d->tx_hint_age = 0;
    if (cfg->polled) {
        /* Used buffers are found by polling: ask the device not to notify (a hint). */
        xcv_vq_driver_disable_notify(xcv_vdrv_queue(&d->vdrv, XCV_NET_RXQ));
        xcv_vq_driver_disable_notify(xcv_vdrv_queue(&d->vdrv, XCV_NET_TXQ));
    }
    r = xcv_net_drv_refill(d);
    return r < 0 ? r : XCV_OK;
}

int xcv_net_drv_refill(struct xcv_net_drv *d)
{
    struct xcv_vq_driver *q = d != NULL ? xcv_vdrv_queue(&d->vdrv, XCV_NET_RXQ) : NULL;
    if (q == NULL)
        return XCV_ENODEV;
    int posted = 0;
    int err = 0;
    while (d->rx_posted < d->rx_target && err == 0) {
        /* In bursts: take buffers from the pool, post them together. */
        struct xcv_sg sg[NET_DRV_BURST];
        void *buf[NET_DRV_BURST];
        const uint32_t bs = d->pool->buf_size;
        unsigned want = d->rx_target - d->rx_posted;
        unsigned k = 0;
        if (want > NET_DRV_BURST)
            want = NET_DRV_BURST;
        for (; k < want; k++) {
            buf[k] = xcv_pool_get(d->pool, &sg[k].addr, XCV_POOL_LENT);
            if (buf[k] == NULL)
                break;
            sg[k].len = bs; /* 5.1.6.3.1: all device-writable */
        }
        int r = k != 0u ? xcv_vq_driver_add_burst(q, sg, k, true, buf) : 0;
        unsigned added = r > 0 ? (unsigned)r : 0u;
        for (unsigned i = added; i < k; i++)
            net_put_lent(d, buf[i]); /* the ring is full: back to the pool */
        if (r < 0 && r != XCV_ENOSPC)
            err = r;
        d->rx_posted += added;
        posted += (int)added;
        if (added < want)
            break;
    }
    if (posted > 0) {
        int r = xcv_vq_driver_kick(q);
        if (r < 0 && err == 0)
            err = r;
    }
    return err != 0 ? err : posted;
}

/* Polled: renew "do not notify" every 16384 chains, long before the device's used index could
 * come round to the event index written last (EVENT_IDX compares 16-bit indices). */
static void net_renew_hint(struct xcv_net_drv *d, struct xcv_vq_driver *q, uint16_t *age,
                           unsigned n)
{
    if (!d->polled)
        return;
    if ((unsigned)*age + n >= 0x4000u) {
        xcv_vq_driver_disable_notify(q);
        *age = 0;
    } else {
        *age = (uint16_t)(*age + n);
    }
}

/* The longest frame a transmit buffer takes: the pool buffer, and MTU + 14 when negotiated. */
static uint32_t net_tx_max(const struct xcv_net_drv *d)
{
    uint32_t max = xcv_pool_buf_size(d->pool) - XCV_VIRTIO_NET_HDR_SIZE;
    if (has(d, XCV_VIRTIO_NET_F_MTU) && (uint32_t)d->mtu + XCV_NET_ETH_HLEN < max)
        max = (uint32_t)d->mtu + XCV_NET_ETH_HLEN;
    return max;
}

/* Write a transmit header at the start of a buffer the driver owns (plain stores). */
static void net_tx_header(void *buf, const struct xcv_net_hdr *hdr)
{
    if (hdr != NULL) {
        struct xcv_net_hdr h = *hdr;
        h.num_buffers = 0; /* 5.1.6.2.1: the driver sets num_buffers to 0 on transmit */
        xcv_net_hdr_encode((uint8_t *)buf, &h);
    } else {
        xcv_le64_store(buf, 0u); /* no offloads: all 12 bytes 0, in two stores */
        xcv_le32_store((uint8_t *)buf + 8, 0u);
    }
}

/* Publish @done posted frames with at most one notification; returns @done, or XCV_EBROKEN when
 * the queue broke before the publish (every chain then comes back at reset). A failed doorbell
 * after the publish is counted, never reported as frames not sent. */
static int net_tx_publish(struct xcv_net_drv *d, struct xcv_vq_driver *q, unsigned done)
{
    int r = xcv_vq_driver_kick(q);
    if (r == XCV_EBROKEN)
        return r;
    if (r < 0)
        d->stats.doorbell_errors++;
    net_renew_hint(d, q, &d->tx_hint_age, done);
    return (int)done;
}

/* Take back transmit buffers the device has used. */
static int net_reclaim_tx(struct xcv_net_drv *d, struct xcv_vq_driver *q)
{
    for (;;) {
        void *tok[NET_DRV_BURST];
        uint32_t len[NET_DRV_BURST];
        int r = xcv_vq_driver_get_used_burst(q, tok, len, NET_DRV_BURST);
        if (r < 0)
            return r;
        for (int i = 0; i < r; i++)
            net_put_lent(d, tok[i]);
        if (r < (int)NET_DRV_BURST)
            return XCV_OK;
    }
}

int xcv_net_drv_send_burst(struct xcv_net_drv *d, const struct xcv_net_frame *frames,
                           unsigned count)
{
    if (d == NULL || (frames == NULL && count != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_NET_TXQ);
    if (q == NULL)
        return XCV_ENODEV;
    uint32_t max = net_tx_max(d);
    for (unsigned i = 0; i < count; i++) {
        if ((frames[i].data == NULL && frames[i].len != 0u) || frames[i].len > max)
            return XCV_EINVAL; /* nothing is posted */
    }
    if (count == 0u)
        return 0;
    int r = net_reclaim_tx(d, q);
    if (r != XCV_OK)
        return r;
    unsigned done = 0;
    int err = XCV_OK;
    for (; done < count; done++) {
        /* Frame by frame: fill a pool buffer, then post it. (Measured: writing each frame's
         * descriptor right after its bytes beats filling the whole burst first, and so does
         * not prefetching the next pool buffer for writing: the device may still be reading
         * it.) The avail index is published once, below. */
        const struct xcv_net_frame *f = &frames[done];
        struct xcv_sg sg;
        uint8_t *buf = (uint8_t *)xcv_pool_get(d->pool, &sg.addr, XCV_POOL_LENT);
        if (buf == NULL) {
            err = XCV_ENOMEM;
            break;
        }
        /* The buffer belongs to the driver until it is posted: plain stores. */
        net_tx_header(buf, f->hdr);
        if (f->len != 0u)
            xcv_memcpy(buf + XCV_VIRTIO_NET_HDR_SIZE, f->data, f->len);
        sg.len = XCV_VIRTIO_NET_HDR_SIZE + f->len;
        r = xcv_vq_driver_add(q, &sg, 1, 0, buf);
        if (r != XCV_OK) {
            net_put_lent(d, buf);
            err = r;
            break;
        }
    }
    return done == 0u ? err : net_tx_publish(d, q, done);
}

int xcv_net_drv_send(struct xcv_net_drv *d, const struct xcv_net_hdr *hdr, const void *frame,
                     uint32_t len)
{
    struct xcv_net_frame f = {.hdr = hdr, .data = frame, .len = len};
    int r = xcv_net_drv_send_burst(d, &f, 1);
    return r == 1 ? XCV_OK : r;
}

/* Take one frame into @p b without reposting. @p first: a frame that does not fit is dropped;
 * otherwise it stays held and XCV_ENOMEM stops the burst. Returns XCV_OK, XCV_EAGAIN,
 * XCV_ENOMEM, XCV_EPROTO_DEVICE (dropped) or a ring error. */
static int net_rx_take(struct xcv_net_drv *d, struct xcv_vq_driver *q, struct xcv_net_rxbuf *b,
                       bool first)
{
    void *tok;
    uint32_t ul;
    while (d->n_held == 0u) {
        int r = xcv_vq_driver_get_used(q, &tok, &ul);
        if (r != XCV_OK)
            return r;
        if (d->rx_posted > 0u)
            d->rx_posted--;
        if (ul < XCV_VIRTIO_NET_HDR_SIZE) {
            /* Returned without a frame (the device dropped one): reposted by the refill. */
            d->stats.rx_empty++;
            net_put_lent(d, tok);
            continue;
        }
        (void)xcv_pool_move(d->pool, tok, XCV_POOL_LENT, 0u, NULL); /* held: this driver's */
        /* Device-written bytes: copy the header once, validate the copy. */
        uint8_t w[XCV_VIRTIO_NET_HDR_SIZE];
        xcv_memcpy(w, tok, sizeof(w));
        struct xcv_net_hdr *h = &d->cur_hdr;
        xcv_net_hdr_decode(h, w);
        unsigned nb = d->mrg ? h->num_buffers : 1u;
        d->held[0] = tok;
        d->held_len[0] = ul;
        d->n_held = 1;
        if (nb == 0u || nb > XCV_NET_MAX_MRG) {
            d->stats.rx_dropped++;
            net_free_held(d);
            return XCV_EPROTO_DEVICE;
        }
        d->want = nb;
    }
    /* With MRG_RXBUF the rest of the frame follows in the next used buffers (5.1.6.4). */
    while (d->n_held < d->want) {
        int r = xcv_vq_driver_get_used(q, &tok, &ul);
        if (r != XCV_OK)
            return r; /* EAGAIN: the partial frame stays held until the rest arrives */
        if (d->rx_posted > 0u)
            d->rx_posted--;
        (void)xcv_pool_move(d->pool, tok, XCV_POOL_LENT, 0u, NULL); /* held: this driver's */
        d->held[d->n_held] = tok;
        d->held_len[d->n_held] = ul;
        d->n_held++;
    }
    uint64_t total = d->held_len[0] - XCV_VIRTIO_NET_HDR_SIZE;
    for (unsigned i = 1; i < d->n_held; i++)
        total += d->held_len[i];
    if (total > b->cap) {
        if (!first)
            return XCV_ENOMEM; /* held: the next call takes it first, or drops it */
        d->stats.rx_dropped++;
        net_free_held(d);
        return XCV_ENOMEM;
    }
    uint8_t *dst = (uint8_t *)b->buf;
    uint32_t off = 0;
    for (unsigned i = 0; i < d->n_held; i++) {
        uint32_t skip = i == 0u ? XCV_VIRTIO_NET_HDR_SIZE : 0u;
        uint32_t c = d->held_len[i] - skip;
        if (c != 0u && dst != NULL)
            xcv_memcpy(dst + off, (const uint8_t *)d->held[i] + skip, c);
        off += c;
    }
    b->hdr = d->cur_hdr;
    b->len = off;
    net_free_held(d);
    return XCV_OK;
}

int xcv_net_drv_receive_burst(struct xcv_net_drv *d, struct xcv_net_rxbuf *bufs, unsigned count)
{
    if (d == NULL || (bufs == NULL && count != 0u))
        return XCV_EINVAL;
    for (unsigned i = 0; i < count; i++) {
        if (bufs[i].buf == NULL && bufs[i].cap != 0u)
            return XCV_EINVAL;
    }
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_NET_RXQ);
    if (q == NULL) {
        net_free_held(d);
        return XCV_ENODEV;
    }
    if (d->rx_err != 0) {
        int e = d->rx_err; /* the malformed frame that ended the last burst */
        d->rx_err = 0;
        return e;
    }
    unsigned done = 0;
    int err = XCV_OK;
    for (; done < count; done++) {
        /* Start fetching the buffers of the frames a few entries ahead, so their transfers
         * overlap this frame's copy (tokens are the buffers' local addresses; a hint only).
         * The used index is read by the first take, so the window is filled after it. */
        for (unsigned a = done <= 1u ? 0u : NET_RX_PREFETCH - 1u; a < NET_RX_PREFETCH; a++) {
            const uint8_t *nb = (const uint8_t *)xcv_vq_driver_peek_used(q, a);
            if (nb != NULL) {
                xcv_prefetch_read(nb);
                xcv_prefetch_read(nb + 64);
            }
        }
        err = net_rx_take(d, q, &bufs[done], done == 0u);
        if (err != XCV_OK)
            break;
    }
    if (done > 0u && err == XCV_EPROTO_DEVICE)
        d->rx_err = err;
    net_renew_hint(d, q, &d->rx_hint_age, done);
    /* Buffers taken (or dropped) are reposted together: one publish, at most one kick. */
    int rr = xcv_net_drv_refill(d);
    if (done > 0u)
        return (int)done;
    if (err == XCV_EAGAIN && rr < 0)
        return rr;
    return err;
}

int xcv_net_drv_receive_zc(struct xcv_net_drv *d, struct xcv_net_rxref *refs, unsigned count)
{
    if (d == NULL || (refs == NULL && count != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_NET_RXQ);
    if (q == NULL)
        return XCV_ENODEV;
    if (d->mrg)
        return XCV_ENOTSUP;
    if (d->n_held != 0u)
        return XCV_ESTATE;
    if (d->rx_err != 0) {
        int e = d->rx_err;
        d->rx_err = 0;
        return e;
    }
    unsigned done = 0;
    int err = XCV_OK;
    while (done < count) {
        void *tok[NET_DRV_BURST];
        uint32_t ul[NET_DRV_BURST];
        unsigned want = count - done < NET_DRV_BURST ? count - done : NET_DRV_BURST;
        int r = xcv_vq_driver_get_used_burst(q, tok, ul, want);
        if (r <= 0) {
            err = r == 0 ? XCV_EAGAIN : r;
            break;
        }
        for (int i = 0; i < r; i++) {
            if (d->rx_posted > 0u)
                d->rx_posted--;
            if (ul[i] < XCV_VIRTIO_NET_HDR_SIZE) {
                d->stats.rx_empty++; /* returned without a frame: reposted by the refill */
                net_put_lent(d, tok[i]);
                continue;
            }
            (void)xcv_pool_move(d->pool, tok[i], XCV_POOL_LENT, 0u, NULL); /* the caller's */
            /* Device-written bytes, published before the used entry: the header is copied
             * once into the reference; the frame bytes are lent as they are. */
            struct xcv_net_rxref *f = &refs[done++];
            uint8_t w[XCV_VIRTIO_NET_HDR_SIZE];
            xcv_memcpy(w, tok[i], sizeof(w));
            xcv_net_hdr_decode(&f->hdr, w);
            f->buf = tok[i];
            f->data = (uint8_t *)tok[i] + XCV_VIRTIO_NET_HDR_SIZE;
            f->len = ul[i] - XCV_VIRTIO_NET_HDR_SIZE;
        }
        if (r < (int)want)
            break;
    }
    net_renew_hint(d, q, &d->rx_hint_age, done);
    /* Reposted together: one publish, at most one kick. */
    int rr = xcv_net_drv_refill(d);
    if (done > 0u)
        return (int)done;
    if (err == XCV_EAGAIN && rr < 0)
        return rr;
    return err;
}

int xcv_net_drv_release(struct xcv_net_drv *d, void *buf)
{
    if (d == NULL || buf == NULL)
        return XCV_EINVAL;
    return xcv_pool_put(d->pool, buf, 0u); /* refuses a free or a lent (posted) buffer */
}

/* Give @p n references' buffers back to the caller (lent by the check, not posted). */
static void net_unlend_refs(struct xcv_net_drv *d, const struct xcv_net_txref *refs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        (void)xcv_pool_move(d->pool, refs[i].buf, XCV_POOL_LENT, 0u, NULL);
}

int xcv_net_drv_send_zc(struct xcv_net_drv *d, const struct xcv_net_txref *refs, unsigned count)
{
    if (d == NULL || (refs == NULL && count != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_NET_TXQ);
    if (q == NULL)
        return XCV_ENODEV;
    uint32_t max = net_tx_max(d);
    /* Every reference is checked, and its buffer lent, before anything is posted: a buffer
     * that is not the caller's (free, posted, or twice in this call) fails the call and the
     * buffers lent so far go back to the caller. The bus addresses of the first burst are kept
     * from the check (a larger count translates the rest again). */
    struct xcv_sg sg[NET_DRV_BURST];
    for (unsigned i = 0; i < count; i++) {
        uint64_t bus;
        if (refs[i].len > max ||
            xcv_pool_move(d->pool, refs[i].buf, 0u, XCV_POOL_LENT, &bus) != XCV_OK) {
            net_unlend_refs(d, refs, i);
            return XCV_EINVAL; /* nothing is posted */
        }
        if (i < NET_DRV_BURST) {
            sg[i].addr = bus;
            sg[i].len = XCV_VIRTIO_NET_HDR_SIZE + refs[i].len;
        }
    }
    if (count == 0u)
        return 0;
    int r = net_reclaim_tx(d, q);
    if (r != XCV_OK) {
        net_unlend_refs(d, refs, count);
        return r;
    }
    unsigned done = 0;
    int err = XCV_OK;
    while (done < count) {
        unsigned m = count - done < NET_DRV_BURST ? count - done : NET_DRV_BURST;
        void *tok[NET_DRV_BURST];
        for (unsigned j = 0; j < m; j++) {
            const struct xcv_net_txref *f = &refs[done + j];
            if (done != 0u) {
                (void)xcv_pool_bus(d->pool, f->buf, &sg[j].addr); /* checked above */
                sg[j].len = XCV_VIRTIO_NET_HDR_SIZE + f->len;
            }
            /* Lent but not posted yet: the device cannot see it, plain stores of the header. */
            net_tx_header(f->buf, f->hdr);
            tok[j] = f->buf;
        }
        r = xcv_vq_driver_add_burst(q, sg, m, false, tok);
        if (r < 0) {
            err = r;
            break;
        }
        done += (unsigned)r;
        if ((unsigned)r < m) {
            err = XCV_ENOSPC; /* the ring is full */
            break;
        }
    }
    net_unlend_refs(d, refs + done, count - done); /* not sent: the caller's again */
    return done == 0u ? err : net_tx_publish(d, q, done);
}

int xcv_net_drv_receive(struct xcv_net_drv *d, struct xcv_net_hdr *hdr, void *buf, uint32_t cap,
                        uint32_t *len)
{
    if (len == NULL)
        return XCV_EINVAL;
    struct xcv_net_rxbuf b = {.buf = buf, .cap = cap};
    int r = xcv_net_drv_receive_burst(d, &b, 1);
    if (r != 1)
        return r;
    if (hdr != NULL)
        *hdr = b.hdr;
    *len = b.len;
    return XCV_OK;
}

int xcv_net_drv_reset(struct xcv_net_drv *d)
{
    if (d == NULL)
        return XCV_EINVAL;
    int r = xcv_vdrv_reset(&d->vdrv); /* reclaims posted buffers through the cancel callback */
    net_free_held(d);
    d->rx_posted = 0;
    d->rx_err = 0;
    return r;
}

const uint8_t *xcv_net_drv_mac(const struct xcv_net_drv *d)
{
    return d->mac;
}

uint16_t xcv_net_drv_mtu(const struct xcv_net_drv *d)
{
    return d->mtu;
}

uint64_t xcv_net_drv_features(const struct xcv_net_drv *d)
{
    return xcv_vdrv_features(&d->vdrv);
}

int xcv_net_drv_link_up(struct xcv_net_drv *d)
{
    if (d == NULL)
        return XCV_EINVAL;
    if (!has(d, XCV_VIRTIO_NET_F_STATUS))
        return 1; /* 5.1.4.2: without STATUS the link is assumed up */
    uint8_t s[2];
    int r = xcv_vdrv_read_config(&d->vdrv, XCV_VIRTIO_NET_CFG_STATUS, s, sizeof(s));
    if (r != XCV_OK)
        return r;
    return (xcv_le16_load(s) & XCV_VIRTIO_NET_S_LINK_UP) != 0u ? 1 : 0;
}

const struct xcv_net_drv_stats *xcv_net_drv_stats(const struct xcv_net_drv *d)
{
    return &d->stats;
}
