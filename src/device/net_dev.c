/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net device model (virtio 1.2, section 5.1), device role.
 *
 * Every chain was validated by the ring (segments inside the windows, readable before
 * writable). The header bytes of a transmit chain are driver-controlled shared memory: they are
 * gathered into local memory once and only the local copy is used. Frame bytes are never
 * interpreted, only handed to the backend; checksum and GSO fields are passed through.
 */
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "iov.h"
#include "net_hdr.h"

static bool net_negotiated(const struct xcv_net_dev *n, unsigned bit)
{
    return (xcv_vdev_features(&n->vdev) & XCV_FEATURE(bit)) != 0u;
}

/* 5.1.6: the header in its little-endian wire form. */
/* ---- transmitq ---- */

static int net_tx_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    struct xcv_net_dev *n = (struct xcv_net_dev *)ctx;
    /* Transmit buffers are device-readable only: nothing is ever written (5.1.6.2). */
    *written = 0;
    if (c->n_in != 0u || c->out_len < XCV_VIRTIO_NET_HDR_SIZE ||
        c->out_len - XCV_VIRTIO_NET_HDR_SIZE > n->max_frame) {
        n->stats.tx_dropped++; /* writable segment, short header, or oversize frame */
        return 0;
    }
    /* The header is driver-written shared memory: copy it once, use only the copy. */
    uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE] = {0};
    uint32_t flen = c->out_len - XCV_VIRTIO_NET_HDR_SIZE;
    int k = 0;
    if (c->n_out == 1u) {
        /* One segment holds header and frame (what most drivers post): no list walk. */
        uint8_t *seg = (uint8_t *)c->iov[0].base;
        xcv_memcpy(wire, seg, sizeof(wire));
        if (flen != 0u) {
            n->frame_iov[0].base = seg + XCV_VIRTIO_NET_HDR_SIZE;
            n->frame_iov[0].len = flen;
            k = 1;
        }
    } else {
        (void)xcv_iov_gather(c->iov, c->n_out, 0, wire, sizeof(wire));
    }
    struct xcv_net_hdr h;
    xcv_net_hdr_decode(&h, wire);
    if (flen != 0u && k == 0) {
        k = xcv_iov_slice(c->iov, c->n_out, XCV_VIRTIO_NET_HDR_SIZE, flen, n->frame_iov,
                          XCV_NET_DEV_MAX_CHAIN);
        if (k < 0) {
            n->stats.tx_dropped++; /* cannot happen for a validated chain; be safe */
            return 0;
        }
    }
    n->tx_calls++;
    int r = n->ops->transmit(n->backend_ctx, &h, n->frame_iov, (unsigned)k, flen);
    if (r < 0) {
        n->stats.tx_errors++;
    } else {
        n->stats.tx_frames++;
        n->stats.tx_bytes += flen;
    }
    return 0;
}

/*
 * Complete @k popped chains, in pop order, with one ring call. Should the ring refuse one (it
 * cannot for chains just popped), that one and the rest are still offered one by one with
 * length 0, so no buffer is kept from the driver; the refusal is returned.
 */
static int net_complete(struct xcv_vq_device *q, const struct xcv_chain_done *fin, unsigned k,
                        int *staged)
{
    int pr = xcv_vq_device_push_burst(q, fin, k);
    *staged = pr > 0 ? pr : 0;
    if (pr == (int)k)
        return XCV_OK;
    for (unsigned i = (unsigned)*staged; i < k; i++)
        (void)xcv_vq_device_push(q, fin[i].head, 0);
    return pr < 0 ? pr : XCV_EINVAL;
}

int xcv_net_dev_run(struct xcv_net_dev *n, unsigned budget)
{
    if (n == NULL)
        return XCV_EINVAL;
    struct xcv_vq_device *q = xcv_vdev_queue(&n->vdev, XCV_NET_TXQ);
    if (q == NULL) {
        n->pending = false;
        return XCV_ENODEV;
    }
    unsigned done = 0;
    int err = 0;
    while (done < budget && err == 0) {
        unsigned want = budget - done < XCV_NET_DEV_BURST ? budget - done : XCV_NET_DEV_BURST;
        /* Take a burst of validated chains first (the ring starts fetching the first lines of
         * each, the header and the start of the frame), so that those line transfers overlap
         * instead of stalling one frame at a time. */
        int r = xcv_vq_device_pop_burst(q, n->tx_chain, want); /* re-arms when dry */
        if (r < 0) {
            err = r;
            break;
        }
        unsigned k = (unsigned)r;
        /* Then hand each to the backend, tell it the burst is over (its segments stay valid
         * until then), and complete them all: every popped chain is pushed. */
        n->tx_calls = 0;
        struct xcv_chain_done fin[XCV_NET_DEV_BURST];
        for (unsigned i = 0; i < k; i++) {
            uint32_t written;
            (void)net_tx_chain(n, &n->tx_chain[i], &written);
            fin[i].head = n->tx_chain[i].head;
            fin[i].len = 0;
        }
        if (n->tx_calls != 0u && n->ops->transmit_done != NULL)
            n->ops->transmit_done(n->backend_ctx);
        int staged;
        int pr = net_complete(q, fin, k, &staged);
        if (pr != XCV_OK && err == 0)
            err = pr;
        done += k;
        if (k < want)
            break;
    }
    int fr = xcv_vq_device_flush(q); /* one publish, at most one notification */
    n->pending = err == 0 && done == budget && budget != 0u;
    if (xcv_vq_device_broken(q) != 0)
        (void)xcv_vdev_needs_reset(&n->vdev);
    if (err != 0)
        return err;
    if (fr < 0 && fr != XCV_EBROKEN)
        return fr;
    return (int)done;
}

bool xcv_net_dev_pending(const struct xcv_net_dev *n)
{
    return n != NULL && n->pending;
}

/* ---- receiveq ---- */

/* Segment storage of the @k-th chain taken for a frame. */
static struct xcv_iov *net_rx_iov(struct xcv_net_dev *n, unsigned k)
{
    return &n->rx_iov[(size_t)k * XCV_NET_DEV_MAX_CHAIN];
}

/* Store the header of a frame that takes one buffer straight into @dst (device-writable memory
 * of the chain; the driver reads it after the used entry is published). Never assembled in a
 * local array and copied: the copy's load of bytes written by several narrower stores cannot be
 * forwarded from them, so it would wait until every older store, the previous frames' stores
 * into buffers still on their way from the driver's core included, had reached the cache. */
static inline void net_rx_store_hdr(uint8_t *dst, const struct xcv_net_hdr *hdr)
{
    if (hdr != NULL) {
        struct xcv_net_hdr h = *hdr;
        h.num_buffers = 1; /* 5.1.6.4: one buffer */
        xcv_net_hdr_encode(dst, &h);
    } else {
        /* No offloads (the common case): every field 0 but num_buffers (bytes 10-11), 1. */
        xcv_le64_store(dst, 0u);
        xcv_le32_store(dst + 8, UINT32_C(1) << 16);
    }
}

/* Complete the @k chains taken for a frame with used length 0 (the frame is dropped). */
static int net_rx_return(struct xcv_vq_device *q, const struct xcv_net_dev *n, unsigned k)
{
    int err = 0;
    for (unsigned i = 0; i < k; i++) {
        int r = xcv_vq_device_push(q, n->rx_head[i], 0);
        if (r < 0 && err == 0)
            err = r;
    }
    return err;
}

/* Deliver one frame into receive chains, staging the used entries without publishing them.
 * Returns XCV_OK, XCV_EAGAIN (nothing taken), XCV_ENOMEM (dropped; the chains taken are
 * completed empty) or a ring error. */
static int net_rx_one(struct xcv_net_dev *n, struct xcv_vq_device *q, bool mrg,
                      const struct xcv_net_frame *f)
{
    unsigned max_chains = mrg ? XCV_NET_MAX_MRG : 1u;
    uint32_t len = f->len;
    uint64_t need = (uint64_t)XCV_VIRTIO_NET_HDR_SIZE + len;
    uint64_t have = 0;
    unsigned k = 0;
    /* Bounded: a driver that keeps posting bad chains cannot hold the caller here. */
    for (unsigned tries = 0; have < need && k < max_chains && tries < 2u * XCV_NET_MAX_QUEUE;
         tries++) {
        struct xcv_chain c = {.iov = net_rx_iov(n, k), .cap = XCV_NET_DEV_MAX_CHAIN};
        int r = xcv_vq_device_pop_or_arm(q, &c); /* rx_ready tells the backend to retry */
        if (r == XCV_EAGAIN)
            break;
        if (r < 0) {
            (void)net_rx_return(q, n, k);
            return r;
        }
        /* 5.1.6.3.1: receive buffers are device-writable only; the first must hold the
         * header. Anything else is returned unused. */
        if (c.n_out != 0u || c.in_len == 0u || (k == 0u && c.in_len < XCV_VIRTIO_NET_HDR_SIZE)) {
            n->stats.rx_bad_chain++;
            if (k != 0u && net_negotiated(n, XCV_VIRTIO_F_IN_ORDER)) {
                /* In order, the chains already taken must come back before this one: the
                 * frame is dropped and all of them are returned empty, oldest first. */
                n->stats.rx_dropped++;
                int er = net_rx_return(q, n, k);
                r = xcv_vq_device_push(q, c.head, 0);
                return er < 0 ? er : r < 0 ? r : XCV_ENOMEM;
            }
            r = xcv_vq_device_push(q, c.head, 0);
            if (r < 0) {
                (void)net_rx_return(q, n, k);
                return r;
            }
            continue;
        }
        n->rx_head[k] = c.head;
        n->rx_nin[k] = c.n_in;
        n->rx_cap[k] = c.in_len;
        have += c.in_len;
        k++;
    }
    if (have < need) {
        if (k == 0u)
            return XCV_EAGAIN; /* nothing taken */
        /* Without MRG_RXBUF the one chain is too small; with it, the driver has not posted
         * enough. Either way the frame is dropped and the chains come back empty. */
        n->stats.rx_dropped++;
        int r = net_rx_return(q, n, k);
        return r < 0 ? r : XCV_ENOMEM;
    }
    const uint8_t *src = (const uint8_t *)f->data;
    if (k == 1u && n->rx_iov[0].len >= need) {
        /* One segment holds it all (the common case): the header stored in place and the
         * frame copied after it. Device-writable memory; the driver reads it after the used
         * entry is published. */
        uint8_t *dst = (uint8_t *)n->rx_iov[0].base;
        net_rx_store_hdr(dst, f->hdr);
        if (len != 0u)
            xcv_memcpy(dst + XCV_VIRTIO_NET_HDR_SIZE, src, len);
        int r = xcv_vq_device_push(q, n->rx_head[0], (uint32_t)need);
        if (r == XCV_OK) {
            n->stats.rx_frames++;
            n->stats.rx_bytes += len;
        }
        return r;
    }
    struct xcv_net_hdr h = {0};
    if (f->hdr != NULL)
        h = *f->hdr;
    /* 5.1.6.4: num_buffers is the number of buffers used (1 without MRG_RXBUF). */
    h.num_buffers = (uint16_t)k;
    uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE];
    xcv_net_hdr_encode(wire, &h);
    /* Every chain before the last is filled; the last gets the rest. Device-writable memory of
     * these chains; the driver reads it after the used entries are published. */
    uint32_t off = 0;
    uint32_t used[XCV_NET_MAX_MRG];
    for (unsigned i = 0; i < k; i++) {
        uint32_t skip = i == 0u ? XCV_VIRTIO_NET_HDR_SIZE : 0u;
        uint32_t room = n->rx_cap[i] - skip;
        uint32_t c = room < len - off ? room : len - off;
        uint32_t done =
            c == 0u ? 0u : xcv_iov_scatter(net_rx_iov(n, i), n->rx_nin[i], skip, src + off, c);
        used[i] = skip + done;
        off += done;
    }
    (void)xcv_iov_scatter(n->rx_iov, n->rx_nin[0], 0, wire, sizeof(wire));
    int ret = XCV_OK;
    for (unsigned i = 0; i < k; i++) {
        int r = xcv_vq_device_push(q, n->rx_head[i], used[i]);
        if (r < 0 && ret == XCV_OK)
            ret = r;
    }
    if (ret == XCV_OK) {
        n->stats.rx_frames++;
        n->stats.rx_bytes += len;
    }
    return ret;
}

/* Fill one receive chain that holds the whole frame (header and data); returns the bytes
 * written, the chain's used length. */
static uint32_t net_rx_fill(const struct xcv_chain *c, const struct xcv_net_frame *f)
{
    if (c->iov[0].len >= XCV_VIRTIO_NET_HDR_SIZE + f->len) {
        uint8_t *dst = (uint8_t *)c->iov[0].base; /* one segment holds it all */
        net_rx_store_hdr(dst, f->hdr);
        if (f->len != 0u)
            xcv_memcpy(dst + XCV_VIRTIO_NET_HDR_SIZE, f->data, f->len);
    } else {
        uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE];
        struct xcv_net_hdr h = {0};
        if (f->hdr != NULL)
            h = *f->hdr;
        h.num_buffers = 1; /* 5.1.6.4: one buffer without MRG_RXBUF */
        xcv_net_hdr_encode(wire, &h);
        (void)xcv_iov_scatter(c->iov, c->n_in, 0, wire, sizeof(wire));
        (void)xcv_iov_scatter(c->iov, c->n_in, XCV_VIRTIO_NET_HDR_SIZE, f->data, f->len);
    }
    return XCV_VIRTIO_NET_HDR_SIZE + f->len;
}

/*
 * Without MRG_RXBUF every frame takes one chain: pop the chains for a burst of frames in one
 * ring call (the ring starts fetching each next buffer for writing while this one is filled),
 * fill them in order, then stage all their used entries in one ring call. Stops at the first
 * frame that is not delivered, as net_rx_one() would; chains taken for frames after it go back
 * empty. Bounded: every pass takes a chain or stops, and passes are counted.
 */
static int net_rx_staged(struct xcv_net_dev *n, struct xcv_vq_device *q,
                         const struct xcv_net_frame *frames, unsigned count, unsigned *done)
{
    struct xcv_chain ch[XCV_NET_MAX_MRG];
    struct xcv_chain_done fin[XCV_NET_MAX_MRG];
    for (unsigned i = 0; i < XCV_NET_MAX_MRG; i++) {
        ch[i].iov = net_rx_iov(n, i);
        ch[i].cap = XCV_NET_DEV_MAX_CHAIN;
    }
    unsigned d = 0;
    int ret = XCV_OK;
    for (unsigned pass = 0; d < count && ret == XCV_OK && pass <= 2u * count; pass++) {
        unsigned want = count - d < XCV_NET_MAX_MRG ? count - d : XCV_NET_MAX_MRG;
        for (unsigned i = 0; i < want; i++) {
            const struct xcv_net_frame *f = &frames[d + i];
            if ((f->data == NULL && f->len != 0u) || f->len > n->max_frame) {
                want = i; /* deliver up to the bad frame, then report it */
                ret = XCV_EINVAL;
                break;
            }
        }
        if (want == 0u)
            break;
        int r = xcv_vq_device_pop_burst(q, ch, want);
        if (r <= 0) {
            ret = r == 0 ? XCV_EAGAIN : r;
            break;
        }
        unsigned k = (unsigned)r;
        unsigned filled = 0;
        uint64_t bytes = 0;
        unsigned i = 0;
        for (; i < k; i++) {
            const struct xcv_chain *c = &ch[i];
            const struct xcv_net_frame *f = &frames[d + filled];
            fin[i].head = c->head;
            fin[i].len = 0;
            if (c->n_out != 0u || c->in_len < XCV_VIRTIO_NET_HDR_SIZE) {
                /* 5.1.6.3.1: device-writable only, room for the header: else returned unused */
                n->stats.rx_bad_chain++;
            } else if (c->in_len < XCV_VIRTIO_NET_HDR_SIZE + f->len) {
                n->stats.rx_dropped++; /* the one chain is too small: the frame is dropped */
                ret = XCV_ENOMEM;
                i++;
                break;
            } else {
                fin[i].len = net_rx_fill(c, f);
                bytes += f->len;
                filled++;
            }
        }
        for (; i < k; i++) {
            fin[i].head = ch[i].head; /* taken for frames not delivered: returned empty */
            fin[i].len = 0;
        }
        int staged;
        int pr = net_complete(q, fin, k, &staged);
        if (pr != XCV_OK) {
            /* Only the frames staged with their length were delivered. */
            filled = 0;
            bytes = 0;
            for (unsigned j = 0; j < (unsigned)staged; j++) {
                if (fin[j].len != 0u) {
                    filled++;
                    bytes += fin[j].len - XCV_VIRTIO_NET_HDR_SIZE;
                }
            }
            ret = pr;
        }
        n->stats.rx_frames += filled;
        n->stats.rx_bytes += bytes;
        d += filled;
        if (k < want && ret == XCV_OK)
            ret = XCV_EAGAIN; /* the driver posted no more buffers */
    }
    *done = d;
    if (d == 0u)
        return ret;
    return ret == XCV_OK || ret == XCV_EAGAIN || ret == XCV_EINVAL || ret == XCV_ENOMEM ? XCV_OK
                                                                                        : ret;
}

int xcv_net_dev_deliver_burst(struct xcv_net_dev *n, const struct xcv_net_frame *frames,
                              unsigned count)
{
    if (n == NULL || (frames == NULL && count != 0u))
        return XCV_EINVAL;
    struct xcv_vq_device *q = xcv_vdev_queue(&n->vdev, XCV_NET_RXQ);
    if (q == NULL)
        return XCV_ENODEV;
    bool mrg = net_negotiated(n, XCV_VIRTIO_NET_F_MRG_RXBUF);
    unsigned done = 0;
    int ret = XCV_OK;
    if (!mrg) {
        ret = net_rx_staged(n, q, frames, count, &done);
    } else {
        for (; done < count; done++) {
            const struct xcv_net_frame *f = &frames[done];
            if ((f->data == NULL && f->len != 0u) || f->len > n->max_frame) {
                ret = XCV_EINVAL;
                break;
            }
            ret = net_rx_one(n, q, mrg, f);
            if (ret != XCV_OK)
                break;
        }
    }
    /* One publish and at most one notification for the whole burst. */
    int fr = xcv_vq_device_flush(q);
    if (xcv_vq_device_broken(q) != 0) {
        (void)xcv_vdev_needs_reset(&n->vdev);
        return ret < 0 && ret != XCV_EAGAIN && ret != XCV_ENOMEM && ret != XCV_EINVAL ? ret
                                                                                      : XCV_EBROKEN;
    }
    if (fr < 0) {
        if (done > 0u) {
            n->stats.doorbell_errors++; /* published: never report them as not delivered */
            return (int)done;
        }
        return fr;
    }
    return done > 0u ? (int)done : ret;
}

int xcv_net_dev_deliver(struct xcv_net_dev *n, const struct xcv_net_hdr *hdr, const void *frame,
                        uint32_t len)
{
    struct xcv_net_frame f = {.hdr = hdr, .data = frame, .len = len};
    int r = xcv_net_dev_deliver_burst(n, &f, 1);
    return r == 1 ? XCV_OK : r;
}

/* ---- control plane ---- */

static void net_notify(void *ctx, struct xcv_vdev *dev, uint16_t q)
{
    struct xcv_net_dev *n = (struct xcv_net_dev *)ctx;
    (void)dev;
    if (q == XCV_NET_TXQ && !n->vdev.cfg.polled) /* polled: the owner runs it */
        (void)xcv_net_dev_run(n, n->budget);
    else if (q == XCV_NET_RXQ && n->ops->rx_ready != NULL)
        n->ops->rx_ready(n->backend_ctx);
}

static void net_reset(void *ctx, struct xcv_vdev *dev)
{
    (void)dev;
    ((struct xcv_net_dev *)ctx)->pending = false; /* no chain is kept across calls */
}

static const struct xcv_vdev_ops net_vdev_ops = {
    .notify = net_notify,
    .reset = net_reset,
};

int xcv_net_dev_init(struct xcv_net_dev *n, struct xcv_channel *ch,
                     const struct xcv_net_dev_config *cfg)
{
    if (n == NULL || cfg == NULL || cfg->ops == NULL || cfg->ops->transmit == NULL ||
        (cfg->mtu != 0u && cfg->mtu < 68u))
        return XCV_EINVAL;
    uint16_t qsize = cfg->queue_size != 0u ? cfg->queue_size : (uint16_t)XCV_NET_MAX_QUEUE;
    if (!xcv_is_pow2(qsize) || qsize > XCV_NET_MAX_QUEUE || qsize < 4u)
        return XCV_EINVAL;

    xcv_memset(n, 0, sizeof(*n));
    n->ops = cfg->ops;
    n->backend_ctx = cfg->backend_ctx;
    n->budget = cfg->budget != 0u ? cfg->budget : qsize;
    uint32_t mtu = cfg->mtu != 0u ? cfg->mtu : XCV_NET_DEFAULT_MTU;
    n->max_frame = cfg->max_frame != 0u ? cfg->max_frame : mtu + XCV_NET_ETH_HLEN;

    uint8_t *c = n->config;
    xcv_memcpy(c + XCV_VIRTIO_NET_CFG_MAC, cfg->mac, 6);
    xcv_le16_store(c + XCV_VIRTIO_NET_CFG_STATUS,
                   cfg->link_down ? (uint16_t)0u : (uint16_t)XCV_VIRTIO_NET_S_LINK_UP);
    xcv_le16_store(c + XCV_VIRTIO_NET_CFG_MAX_VQ_PAIRS, 1u);
    xcv_le16_store(c + XCV_VIRTIO_NET_CFG_MTU, cfg->mtu);

    uint64_t f = XCV_FEATURE(XCV_VIRTIO_NET_F_MAC) | XCV_FEATURE(XCV_VIRTIO_NET_F_STATUS) |
                 (cfg->ring_features &
                  (XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) |
                   XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)));
    if (cfg->mtu != 0u)
        f |= XCV_FEATURE(XCV_VIRTIO_NET_F_MTU);
    if (cfg->mrg_rxbuf)
        f |= XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF);

    for (unsigned i = 0; i < XCV_NET_DEV_BURST; i++) {
        n->tx_chain[i].iov = &n->tx_iov[(size_t)i * XCV_NET_DEV_MAX_CHAIN];
        n->tx_chain[i].cap = XCV_NET_DEV_MAX_CHAIN;
    }
    n->queues[XCV_NET_RXQ].slots = n->rx_slots;
    n->queues[XCV_NET_RXQ].max_size = qsize;
    n->queues[XCV_NET_TXQ].slots = n->tx_slots;
    n->queues[XCV_NET_TXQ].max_size = qsize;
    struct xcv_vdev_config vc = {
        .device_id = XCV_VIRTIO_ID_NET,
        .vendor_id = 0,
        .features = f,
        .config = n->config,
        .config_size = XCV_VIRTIO_NET_CFG_SIZE,
        .queues = n->queues,
        .num_queues = 2,
        .max_chain = qsize < XCV_NET_DEV_MAX_CHAIN ? qsize : (uint16_t)XCV_NET_DEV_MAX_CHAIN,
        .polled = cfg->polled,
        .ops = &net_vdev_ops,
        .ctx = n,
    };
    return xcv_vdev_register(ch, &n->vdev, &vc);
}

int xcv_net_dev_set_link(struct xcv_net_dev *n, bool up)
{
    if (n == NULL)
        return XCV_EINVAL;
    uint16_t s = up ? (uint16_t)XCV_VIRTIO_NET_S_LINK_UP : (uint16_t)0u;
    xcv_le16_store(n->config + XCV_VIRTIO_NET_CFG_STATUS, s);
    return xcv_vdev_config_changed(&n->vdev);
}

const struct xcv_net_dev_stats *xcv_net_dev_stats(const struct xcv_net_dev *n)
{
    return &n->stats;
}

struct xcv_vdev *xcv_net_dev_vdev(struct xcv_net_dev *n)
{
    return &n->vdev;
}
