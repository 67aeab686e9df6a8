/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two single-producer single-consumer message rings of a channel.
 *
 * Shared layout of one ring: line 0 holds the producer index (written only by the producer),
 * line 1 the consumer index (written only by the consumer), then the slots (written only by the
 * producer). Indices are free-running 32-bit counters. The slot count is kept privately by each
 * side and never re-read from shared memory; an index from the peer that claims more than that
 * many outstanding messages is a protocol error.
 */
#include "xcvirtio/error.h"

#include "../common/shm.h"
#include "chan_internal.h"

int xcv_chan_break(struct xcv_channel *ch, int err)
{
    if (ch->broken == 0) {
        ch->broken = err;
        xcv_report(ch->port, XCV_LOG_ERROR, "channel broken", ch->role, err);
    }
    return err;
}

int xcv_chan_send(struct xcv_channel *ch, const struct xcv_msg *m)
{
    struct xcv_msgring *r = &ch->tx;
    xcv_cache_invalidate(ch->port, r->cons, 4u);
    /* Consumer index: peer-written; acquire orders our slot reuse after its reads. */
    uint32_t cons = xcv_shm_load_acquire32(r->cons);
    uint32_t used = r->idx - cons;
    if (used > r->count)
        return xcv_chan_break(ch, XCV_EPROTO_MSG);
    if (used == r->count)
        return XCV_ENOSPC;
    uint8_t *slot = r->slots + (size_t)(r->idx & (r->count - 1u)) * XCV_MSGRING_SLOT_SIZE;
    /* Slot: written only by this side while it is free (not between cons and prod). */
    int err = xcv_msg_encode(m, slot);
    if (err != XCV_OK)
        return err;
    xcv_cache_clean(ch->port, slot, XCV_MSG_SIZE);
    r->idx++;
    /* Producer index: this side writes; release publishes the slot. */
    xcv_shm_store_release32(r->prod, r->idx);
    xcv_cache_clean(ch->port, r->prod, 4u);
    ch->tx_pending = true;
    return XCV_OK;
}

int xcv_chan_recv(struct xcv_channel *ch, struct xcv_msg *m)
{
    struct xcv_msgring *r = &ch->rx;
    xcv_cache_invalidate(ch->port, r->prod, 4u);
    /* Producer index: peer-written; acquire orders the slot read after it. */
    uint32_t prod = xcv_shm_load_acquire32(r->prod);
    uint32_t avail = prod - r->idx;
    if (avail > r->count)
        return xcv_chan_break(ch, XCV_EPROTO_MSG);
    if (avail == 0u)
        return XCV_EAGAIN;
    const uint8_t *slot = r->slots + (size_t)(r->idx & (r->count - 1u)) * XCV_MSGRING_SLOT_SIZE;
    uint8_t raw[XCV_MSG_SIZE];
    xcv_cache_invalidate(ch->port, slot, XCV_MSG_SIZE);
    /* Slot: peer-written before the index we acquired; copied once, then parsed privately. */
    xcv_memcpy(raw, slot, sizeof(raw));
    r->idx++;
    /* Consumer index: this side writes; release hands the slot back after our copy. */
    xcv_shm_store_release32(r->cons, r->idx);
    xcv_cache_clean(ch->port, r->cons, 4u);
    if (xcv_msg_parse(raw, m) != XCV_OK)
        return xcv_chan_break(ch, XCV_EPROTO_MSG);
    return XCV_OK;
}

int xcv_chan_ring(struct xcv_channel *ch)
{
    if (!ch->tx_pending)
        return XCV_OK;
    ch->tx_pending = false;
    return ch->port->ops->notify(ch->port->ctx, ch->doorbell);
}
