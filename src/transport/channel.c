/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel core: window layout (format and validated attach), epochs and peer-restart
 * detection, the poll loop, and the driver's bounded request/response wait.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "chan_internal.h"

#define XCV_MIN_SLOTS 4u
#define XCV_MAX_SLOTS 1024u
#define XCV_DEFAULT_SLOTS 32u

static uint8_t *side_line(const struct xcv_channel *ch, enum xcv_role role)
{
    return ch->hdr + (size_t)ch->line * (role == XCV_ROLE_DEVICE ? 1u : 2u);
}

static uint64_t hdr_bytes(uint32_t line)
{
    return (uint64_t)line * XCV_HDR_LINES;
}

/* Point the private ring handles at their shared areas. d2v follows the header, v2d follows.
 * The event words are at the start of the header's two event lines. */
static void map_rings(struct xcv_channel *ch, uint32_t slots)
{
    uint8_t *evt_d2v = ch->hdr + (size_t)ch->line * XCV_HDR_EVT_D2V_LINE;
    uint8_t *evt_v2d = ch->hdr + (size_t)ch->line * XCV_HDR_EVT_V2D_LINE;
    ch->evt_tx = ch->role == XCV_ROLE_DRIVER ? evt_d2v : evt_v2d;
    ch->evt_rx = ch->role == XCV_ROLE_DRIVER ? evt_v2d : evt_d2v;
    uint8_t *d2v = ch->hdr + hdr_bytes(ch->line);
    uint8_t *v2d = d2v + XCV_MSGRING_BYTES(slots, ch->line);
    uint8_t *txb = ch->role == XCV_ROLE_DRIVER ? d2v : v2d;
    uint8_t *rxb = ch->role == XCV_ROLE_DRIVER ? v2d : d2v;
    ch->tx.prod = txb;
    ch->tx.cons = txb + ch->line;
    ch->tx.slots = txb + (size_t)2u * ch->line;
    ch->tx.count = slots;
    ch->rx.prod = rxb;
    ch->rx.cons = rxb + ch->line;
    ch->rx.slots = rxb + (size_t)2u * ch->line;
    ch->rx.count = slots;
}

/*
 * Make both rings empty from this side's point of view, starting from the peer's indices:
 * our producer index takes the peer's consumer index and our consumer index takes the peer's
 * producer index. Messages of a previous session are dropped, never half-read, and so are the
 * queue notifications waiting in the event words.
 */
XCV_INLINE_ATOMICS static void resync_rings(struct xcv_channel *ch)
{
    /* Peer-written indices: any value is acceptable as a new starting point. */
    ch->tx.idx = xcv_shm_load_acquire32(ch->tx.cons);
    xcv_shm_store_release32(ch->tx.prod, ch->tx.idx);
    ch->rx.idx = xcv_shm_load_acquire32(ch->rx.prod);
    xcv_shm_store_release32(ch->rx.cons, ch->rx.idx);
    xcv_cache_clean(ch->port, ch->tx.prod, 4u);
    xcv_cache_clean(ch->port, ch->rx.cons, 4u);
    /* Event words, emptied as the rings are. Inbound: the peer sets bits and this side is its
     * only taker, so this drops nothing but notifications of the previous session. Outbound:
     * bits a previous instance of this side set and the peer has not taken (stale, like the
     * messages dropped above); left there, they would keep this side from ringing. */
    if (ch->evt_words) {
        (void)xcv_evt_take(ch->evt_rx);
        (void)xcv_evt_take(ch->evt_tx);
    }
    ch->tx_pending = false;
}

static void bump_epoch(struct xcv_channel *ch)
{
    uint8_t *mine = side_line(ch, ch->role);
    /* Own epoch: only this side writes it; the old value may be from a previous instance. */
    uint32_t e = xcv_shm_load_acquire32(mine + XCV_SIDE_EPOCH) + 1u;
    if (e == 0u)
        e = 1u;
    ch->my_epoch = e;
    xcv_le32_store(mine + XCV_SIDE_STATE, 1u);
    xcv_shm_store_release32(mine + XCV_SIDE_EPOCH, e);
    xcv_cache_clean(ch->port, mine, 8u);
}

/* Check one area against the window; offsets and sizes come from the (untrusted) header. */
static bool area_ok(uint64_t off, uint64_t size, uint64_t min_off, uint64_t win, uint32_t line)
{
    return off >= min_off && (off & (line - 1u)) == 0u && off <= win && size <= win - off;
}

static int set_areas(struct xcv_channel *ch, uint64_t qoff, uint64_t qsize, uint64_t poff,
                     uint64_t psize)
{
    int r =
        xcv_window_init(&ch->areas[0], ch->window.local + qoff, ch->window.bus_base + qoff, qsize);
    if (r == XCV_OK && psize != 0u)
        r = xcv_window_init(&ch->areas[1], ch->window.local + poff, ch->window.bus_base + poff,
                            psize);
    if (r != XCV_OK)
        return XCV_EPROTO_LAYOUT;
    ch->devmap.windows = ch->areas;
    ch->devmap.count = psize != 0u ? 2u : 1u;
    return XCV_OK;
}

static int format_window(struct xcv_channel *ch, const struct xcv_channel_config *cfg)
{
    uint32_t slots = cfg->msg_slots != 0u ? cfg->msg_slots : XCV_DEFAULT_SLOTS;
    if (!xcv_is_pow2(slots) || slots < XCV_MIN_SLOTS || slots > XCV_MAX_SLOTS)
        return XCV_EINVAL;
    uint64_t win = ch->window.size;
    uint64_t qoff = hdr_bytes(ch->line) + 2u * XCV_MSGRING_BYTES(slots, ch->line);
    uint64_t qsize = cfg->queue_area_size & ~(uint64_t)(ch->line - 1u);
    if (qsize == 0u || qoff > win || qsize > win - qoff)
        return XCV_EINVAL;
    uint64_t poff = qoff + qsize;
    uint64_t psize = (win - poff) & ~(uint64_t)(ch->line - 1u);

    uint8_t layout[XCV_HDR_LAYOUT_BYTES];
    xcv_memset(layout, 0, sizeof(layout));
    xcv_le32_store(layout + XCV_HDR_MAGIC, XCV_CHANNEL_MAGIC);
    xcv_le16_store(layout + XCV_HDR_VERSION, XCV_CHANNEL_VERSION);
    xcv_le16_store(layout + XCV_HDR_LINE, (uint16_t)ch->line);
    xcv_le64_store(layout + XCV_HDR_WINDOW_SIZE, win);
    xcv_le32_store(layout + XCV_HDR_MSG_SLOTS, slots);
    xcv_le64_store(layout + XCV_HDR_QUEUE_OFF, qoff);
    xcv_le64_store(layout + XCV_HDR_QUEUE_SIZE, qsize);
    xcv_le64_store(layout + XCV_HDR_POOL_OFF, poff);
    xcv_le64_store(layout + XCV_HDR_POOL_SIZE, psize);

    map_rings(ch, slots);
    /* Layout line: device-written. The same layout already there means this is a restart of
     * the device side: keep the rings' positions (resync below) and the driver's areas. */
    if (__builtin_memcmp(ch->hdr, layout, sizeof(layout)) != 0) {
        xcv_shm_store_release32(ch->hdr + XCV_HDR_MAGIC, 0u);
        xcv_memcpy(ch->hdr + 4, layout + 4, sizeof(layout) - 4u);
        /* Fresh event lines and rings: the driver line is left alone (driver-written). No
         * driver can be using a layout that is not there yet, so plain stores are enough. */
        size_t evt_off = (size_t)ch->line * XCV_HDR_EVT_D2V_LINE;
        xcv_memset(ch->hdr + evt_off, 0, (size_t)(qoff - evt_off));
        xcv_cache_clean(ch->port, ch->hdr, (size_t)qoff);
        xcv_shm_store_release32(ch->hdr + XCV_HDR_MAGIC, XCV_CHANNEL_MAGIC);
        xcv_cache_clean(ch->port, ch->hdr, 4u);
    }
    return set_areas(ch, qoff, qsize, poff, psize);
}

static int attach_window(struct xcv_channel *ch)
{
    xcv_cache_invalidate(ch->port, ch->hdr, hdr_bytes(ch->line));
    /* Layout: device-written; magic acquired first, then the line copied once and validated. */
    if (xcv_shm_load_acquire32(ch->hdr + XCV_HDR_MAGIC) != XCV_CHANNEL_MAGIC)
        return XCV_EAGAIN;
    if (xcv_shm_load_acquire32(side_line(ch, XCV_ROLE_DEVICE) + XCV_SIDE_EPOCH) == 0u)
        return XCV_EAGAIN;
    uint8_t l[XCV_HDR_LAYOUT_BYTES];
    xcv_memcpy(l, ch->hdr, sizeof(l));
    uint64_t win = ch->window.size;
    uint32_t slots = xcv_le32_load(l + XCV_HDR_MSG_SLOTS);
    uint64_t qoff = xcv_le64_load(l + XCV_HDR_QUEUE_OFF);
    uint64_t qsize = xcv_le64_load(l + XCV_HDR_QUEUE_SIZE);
    uint64_t poff = xcv_le64_load(l + XCV_HDR_POOL_OFF);
    uint64_t psize = xcv_le64_load(l + XCV_HDR_POOL_SIZE);
    if (xcv_le32_load(l + XCV_HDR_MAGIC) != XCV_CHANNEL_MAGIC ||
        xcv_le16_load(l + XCV_HDR_VERSION) != XCV_CHANNEL_VERSION ||
        xcv_le16_load(l + XCV_HDR_LINE) != ch->line ||
        xcv_le64_load(l + XCV_HDR_WINDOW_SIZE) != win || !xcv_is_pow2(slots) ||
        slots < XCV_MIN_SLOTS || slots > XCV_MAX_SLOTS)
        return XCV_EPROTO_LAYOUT;
    uint64_t rings_end = hdr_bytes(ch->line) + 2u * XCV_MSGRING_BYTES(slots, ch->line);
    if (rings_end > win || qsize == 0u || !area_ok(qoff, qsize, rings_end, win, ch->line) ||
        !area_ok(poff, psize, qoff + qsize, win, ch->line))
        return XCV_EPROTO_LAYOUT;
    map_rings(ch, slots);
    return set_areas(ch, qoff, qsize, poff, psize);
}

int xcv_channel_init(struct xcv_channel *ch, const struct xcv_channel_config *cfg)
{
    if (ch == NULL || cfg == NULL || cfg->port == NULL || cfg->port->ops == NULL ||
        cfg->port->ops->notify == NULL || cfg->port->ops->now_ns == NULL ||
        cfg->window.local == NULL || cfg->window.size == 0u ||
        (cfg->role != XCV_ROLE_DRIVER && cfg->role != XCV_ROLE_DEVICE))
        return XCV_EINVAL;
    uint32_t line = cfg->cache_line != 0u ? cfg->cache_line : XCV_CACHE_LINE_DEFAULT;
    if (!xcv_is_pow2(line) || line < XCV_HDR_LAYOUT_BYTES || line > 4096u ||
        ((uintptr_t)cfg->window.local & (line - 1u)) != 0u ||
        (cfg->window.bus_base & (line - 1u)) != 0u || cfg->window.size < hdr_bytes(line))
        return XCV_EINVAL;

    xcv_memset(ch, 0, sizeof(*ch));
    ch->role = cfg->role;
    ch->window = cfg->window;
    ch->port = cfg->port;
    ch->doorbell = cfg->doorbell;
    ch->line = line;
    ch->timeout_ns = cfg->timeout_ns != 0u ? cfg->timeout_ns : XCV_CHANNEL_DEFAULT_TIMEOUT_NS;
    ch->hdr = cfg->window.local;
    ch->evt_words = cfg->port->ops->cache_clean == NULL && cfg->port->ops->cache_invalidate == NULL;

    int r = cfg->role == XCV_ROLE_DEVICE ? format_window(ch, cfg) : attach_window(ch);
    if (r != XCV_OK)
        return r;
    resync_rings(ch);
    /* The peer's epoch as of now; a later change means it restarted. */
    ch->peer_epoch = xcv_shm_load_acquire32(
        side_line(ch, cfg->role == XCV_ROLE_DEVICE ? XCV_ROLE_DRIVER : XCV_ROLE_DEVICE) +
        XCV_SIDE_EPOCH);
    bump_epoch(ch);
    ch->attached = true;
    return XCV_OK;
}

int xcv_channel_connect(struct xcv_channel *ch, const struct xcv_channel_config *cfg)
{
    if (cfg == NULL || cfg->port == NULL || cfg->port->ops == NULL ||
        cfg->port->ops->now_ns == NULL)
        return XCV_EINVAL;
    const struct xcv_port *p = cfg->port;
    uint64_t t = cfg->timeout_ns != 0u ? cfg->timeout_ns : XCV_CHANNEL_DEFAULT_TIMEOUT_NS;
    uint64_t deadline = p->ops->now_ns(p->ctx) + t;
    for (;;) {
        int r = xcv_channel_init(ch, cfg);
        if (r != XCV_EAGAIN)
            return r;
        uint64_t now = p->ops->now_ns(p->ctx);
        if (now >= deadline)
            return XCV_ETIMEDOUT;
        if (p->ops->wait != NULL) {
            /* Re-check at least every millisecond: formatting rings no doorbell. */
            uint64_t step = now + 1000000u < deadline ? now + 1000000u : deadline;
            (void)p->ops->wait(p->ctx, step);
        }
    }
}

XCV_INLINE_ATOMICS int xcv_chan_check_peer(struct xcv_channel *ch)
{
    enum xcv_role peer = ch->role == XCV_ROLE_DEVICE ? XCV_ROLE_DRIVER : XCV_ROLE_DEVICE;
    uint8_t *line = side_line(ch, peer);
    xcv_cache_invalidate(ch->port, line, 8u);
    /* Peer epoch: peer-written; only compared for equality. */
    uint32_t e = xcv_shm_load_acquire32(line + XCV_SIDE_EPOCH);
    if (e == ch->peer_epoch)
        return XCV_OK;
    uint32_t old = ch->peer_epoch;
    ch->peer_epoch = e;
    if (old == 0u)
        return XCV_OK; /* the peer attached for the first time: nothing to reset */
    /* The restarted peer resynchronised both rings when it attached; our indices stay. */
    xcv_report(ch->port, XCV_LOG_INFO, "peer restarted", e, XCV_EPEERRESET);
    /* Inbound event word: the restarted peer emptied it when it attached and cannot have
     * notified a queue since (none is set up again yet): what is there is stale. Dropped, so
     * that the peer's first notification rings. */
    if (ch->evt_words)
        (void)xcv_evt_take(ch->evt_rx);
    if (ch->role == XCV_ROLE_DEVICE)
        xcv_vdev_reset_all(ch);
    else
        xcv_vdrv_peer_reset_all(ch);
    return XCV_EPEERRESET;
}

/* ---- queue notifications through the event words (coherent ports) ---- */

XCV_INLINE_ATOMICS int xcv_chan_post_event(struct xcv_channel *ch, uint32_t dev_num, uint32_t q)
{
    /* Outbound event word: this side sets bits, the peer takes them; both only through atomic
     * read-modify-writes. A word that was not empty has a doorbell on its way already (rung by
     * whoever set its first bit), and the peer takes the word, our bit with it, after that
     * doorbell: ring only for the first bit, or when messages wait for a ring anyway. */
    uint64_t old = xcv_evt_or(ch->evt_tx, (uint64_t)1u << xcv_evt_bit(dev_num, q));
    if (old == 0u)
        ch->tx_pending = true;
    return xcv_chan_ring(ch);
}

XCV_INLINE_ATOMICS unsigned xcv_chan_take_events(struct xcv_channel *ch)
{
    /* Inbound event word: peer-set bits, taken at once. Any value is acceptable: a bit is a
     * notification for every queue here that maps to it, and a spurious one is harmless. At
     * most 64 bits, each for at most one queue per device number: bounded. */
    uint64_t bits = xcv_evt_take(ch->evt_rx);
    unsigned taken = 0;
    for (uint32_t b = 0; bits != 0u; b++, bits >>= 1) {
        if ((bits & 1u) == 0u)
            continue;
        taken++;
        for (uint32_t n = 0; n < XCV_CHANNEL_MAX_DEVICES; n++) {
            /* The queue of device n whose bit is b; out of range for most n, then ignored. */
            uint32_t q = (b + XCV_EVT_BITS - xcv_evt_bit(n, 0)) % XCV_EVT_BITS;
            if (ch->role == XCV_ROLE_DEVICE) {
                if (ch->vdevs[n] != NULL)
                    xcv_vdev_kick(ch->vdevs[n], q);
            } else if (ch->vdrvs[n] != NULL) {
                xcv_vdrv_record_used(ch->vdrvs[n], q);
            }
        }
    }
    return taken;
}

static int poll_locked(struct xcv_channel *ch, unsigned budget)
{
    if (ch->broken != 0)
        return XCV_EBROKEN;
    if (!ch->attached)
        return XCV_ESTATE;
    int r = xcv_chan_check_peer(ch);
    if (r != XCV_OK)
        return r;
    /* Queue notifications first: each bit taken counts as the message it stands for, but only
     * messages count against the budget (the word's work is bounded on its own). */
    unsigned events = ch->evt_words ? xcv_chan_take_events(ch) : 0u;
    if (ch->role == XCV_ROLE_DRIVER)
        xcv_vdrv_dispatch_pending(ch);
    unsigned handled = 0;
    while (handled < budget) {
        struct xcv_msg m;
        r = xcv_chan_recv(ch, &m);
        if (r == XCV_EAGAIN)
            break;
        if (r < 0)
            return r;
        handled++;
        if (ch->role == XCV_ROLE_DEVICE) {
            xcv_vdev_dispatch(ch, &m);
        } else if (m.type & XCV_MSG_TYPE_RESPONSE) {
            ch->stale_responses++; /* a late answer to a request that already timed out */
        } else {
            xcv_vdrv_record_event(ch, &m);
            xcv_vdrv_dispatch_pending(ch);
        }
        if (ch->broken != 0)
            return ch->broken;
    }
    if (ch->role == XCV_ROLE_DEVICE)
        xcv_vdev_flush_events(ch);
    else
        xcv_vdrv_flush_events(ch);
    r = xcv_chan_ring(ch);
    if (r < 0)
        return r;
    return (int)(handled + events);
}

int xcv_channel_poll(struct xcv_channel *ch, unsigned budget)
{
    if (ch == NULL || ch->port == NULL)
        return XCV_EINVAL;
    xcv_chan_lock(ch);
    int r = poll_locked(ch, budget);
    xcv_chan_unlock(ch);
    return r;
}

/* Wait for the next event or until @deadline; false once the deadline has passed. */
static bool wait_until(struct xcv_channel *ch, uint64_t deadline)
{
    const struct xcv_port *p = ch->port;
    if (p->ops->now_ns(p->ctx) >= deadline)
        return false;
    if (p->ops->wait != NULL)
        (void)p->ops->wait(p->ctx, deadline);
    return true;
}

int xcv_chan_request(struct xcv_channel *ch, struct xcv_msg *req, struct xcv_msg *resp)
{
    if (ch->broken != 0)
        return XCV_EBROKEN;
    if (!ch->attached || ch->role != XCV_ROLE_DRIVER)
        return XCV_ESTATE;
    xcv_memset(resp, 0, sizeof(*resp));
    const struct xcv_port *p = ch->port;
    uint64_t deadline = p->ops->now_ns(p->ctx) + ch->timeout_ns;
    int r = xcv_chan_check_peer(ch);
    if (r != XCV_OK)
        return r;

    ch->next_token = (uint16_t)(ch->next_token + 1u);
    if (ch->next_token == 0u)
        ch->next_token = 1u;
    req->token = ch->next_token;
    while ((r = xcv_chan_send(ch, req)) == XCV_ENOSPC) {
        if (!wait_until(ch, deadline))
            return XCV_ETIMEDOUT;
        r = xcv_chan_check_peer(ch);
        if (r != XCV_OK)
            return r;
    }
    if (r < 0)
        return r;
    r = xcv_chan_ring(ch);
    if (r < 0)
        return r;

    /* Every pass either consumes a message or waits; the deadline bounds both. */
    for (;;) {
        r = xcv_chan_check_peer(ch);
        if (r != XCV_OK)
            return r;
        /* A wait below may have taken the doorbell of used notifications: keep them as pending
         * (as EVENT_USED messages are) and empty the word so that the next one rings again. */
        if (ch->evt_words)
            (void)xcv_chan_take_events(ch);
        struct xcv_msg in;
        r = xcv_chan_recv(ch, &in);
        if (r == XCV_OK) {
            bool is_resp = (in.type & XCV_MSG_TYPE_RESPONSE) != 0u;
            if (is_resp && in.token == req->token && in.id == req->id &&
                (in.type & XCV_MSG_TYPE_BUS) == (req->type & XCV_MSG_TYPE_BUS)) {
                if (in.type & XCV_MSG_TYPE_ERROR) {
                    int32_t e = (int32_t)xcv_pl32(&in, 0);
                    /* Only a caller-class error code is a valid answer from a device. */
                    if (e >= 0 || e < XCV_EPORT)
                        return xcv_chan_break(ch, XCV_EPROTO_MSG);
                    return e;
                }
                *resp = in;
                return XCV_OK;
            }
            if (is_resp)
                ch->stale_responses++;
            else
                xcv_vdrv_record_event(ch, &in);
        } else if (r != XCV_EAGAIN) {
            return r;
        }
        if (r == XCV_EAGAIN && !wait_until(ch, deadline))
            return XCV_ETIMEDOUT;
        if (r == XCV_OK && p->ops->now_ns(p->ctx) >= deadline)
            return XCV_ETIMEDOUT;
    }
}

int xcv_channel_ping(struct xcv_channel *ch, uint32_t value)
{
    if (ch == NULL)
        return XCV_EINVAL;
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, XCV_MSG_TYPE_BUS, XCV_BUS_MSG_PING, 0, 4);
    xcv_pl32_set(&req, 0, value);
    xcv_chan_lock(ch);
    int r = xcv_chan_request(ch, &req, &resp);
    xcv_chan_unlock(ch);
    if (r != XCV_OK)
        return r;
    return xcv_pl32(&resp, 0) == value ? XCV_OK : XCV_EPROTO_MSG;
}

int xcv_channel_get_devices(struct xcv_channel *ch, uint32_t *mask)
{
    if (ch == NULL || mask == NULL)
        return XCV_EINVAL;
    struct xcv_msg req;
    struct xcv_msg resp;
    xcv_msg_init(&req, XCV_MSG_TYPE_BUS, XCV_BUS_MSG_GET_DEVICES, 0, 4);
    xcv_le16_store(req.payload + 2, XCV_CHANNEL_MAX_DEVICES);
    xcv_chan_lock(ch);
    int r = xcv_chan_request(ch, &req, &resp);
    xcv_chan_unlock(ch);
    if (r != XCV_OK)
        return r;
    uint32_t m = xcv_pl32(&resp, 4);
    if (XCV_CHANNEL_MAX_DEVICES < 32u && (m >> XCV_CHANNEL_MAX_DEVICES) != 0u)
        return XCV_EPROTO_DEVICE;
    *mask = m;
    return XCV_OK;
}

const struct xcv_window *xcv_channel_pool_area(const struct xcv_channel *ch)
{
    if (ch == NULL || !ch->attached || ch->devmap.count < 2u)
        return NULL;
    return &ch->areas[1];
}

int xcv_channel_broken(const struct xcv_channel *ch)
{
    return ch != NULL ? ch->broken : XCV_EINVAL;
}

void xcv_channel_detach(struct xcv_channel *ch)
{
    if (ch == NULL || !ch->attached)
        return;
    uint8_t *mine = side_line(ch, ch->role);
    /* Own state word: only this side writes it. */
    xcv_shm_store_release32(mine + XCV_SIDE_STATE, 0u);
    xcv_cache_clean(ch->port, mine, 8u);
    ch->attached = false;
}
