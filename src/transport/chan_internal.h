/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces between the channel core, the device-role and the driver-role plumbing. */
#ifndef XCV_SRC_TRANSPORT_CHAN_INTERNAL_H
#define XCV_SRC_TRANSPORT_CHAN_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/msg.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/virtio.h"

/* Window header: line 0 is the layout (device-written at format), then one line per side, then
 * one event line per direction. */
#define XCV_HDR_MAGIC 0u
#define XCV_HDR_VERSION 4u
#define XCV_HDR_LINE 6u
#define XCV_HDR_WINDOW_SIZE 8u
#define XCV_HDR_MSG_SLOTS 16u
#define XCV_HDR_QUEUE_OFF 24u
#define XCV_HDR_QUEUE_SIZE 32u
#define XCV_HDR_POOL_OFF 40u
#define XCV_HDR_POOL_SIZE 48u
#define XCV_HDR_LAYOUT_BYTES 64u
/* In each side's line: */
#define XCV_SIDE_EPOCH 0u
#define XCV_SIDE_STATE 4u
/* Header lines: layout, device side, driver side, d2v event line, v2d event line. */
#define XCV_HDR_LINES 5u
#define XCV_HDR_EVT_D2V_LINE 3u
#define XCV_HDR_EVT_V2D_LINE 4u

/*
 * Event words: one 64-bit little-endian word at the start of each event line, a bit per
 * (device, queue) with pending notifications. The sender sets bits (atomic OR), the receiver
 * takes them all (atomic exchange with 0); both sides write the word, only through these
 * read-modify-write operations, so no update is lost. Used on coherent ports only.
 */
#define XCV_EVT_BITS 64u

/* AArch64 GCC turns atomic read-modify-writes into calls to libgcc helpers that pick LSE or
 * LL/SC at run time (through getauxval); the event word code is compiled with them inline. */
#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
#define XCV_INLINE_ATOMICS __attribute__((target("no-outline-atomics")))
#else
#define XCV_INLINE_ATOMICS
#endif

/* The event word bit of queue @q of device @dev_num. Bits alias: the receiver takes a bit as a
 * notification of every (device, queue) that maps to it. */
static inline uint32_t xcv_evt_bit(uint32_t dev_num, uint32_t q)
{
    return (dev_num * 32u + q) % XCV_EVT_BITS;
}

/* Set @bits in an event word; returns the word before (0: this sender must ring). Sequentially
 * consistent: the ring index stores before it are visible to whoever takes the bits. */
XCV_INLINE_ATOMICS static inline uint64_t xcv_evt_or(void *word, uint64_t bits)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    bits = __builtin_bswap64(bits);
#endif
    uint64_t old = atomic_fetch_or_explicit((_Atomic uint64_t *)word, bits, memory_order_seq_cst);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    old = __builtin_bswap64(old);
#endif
    return old;
}

/* Take every bit of an event word, leaving it 0. A plain acquire load first: an unchanged
 * (zero) word stays shared in both caches and costs no line transfer. Acquire: the ring index
 * stores the sender made before setting a bit are visible after this. */
XCV_INLINE_ATOMICS static inline uint64_t xcv_evt_take(void *word)
{
    if (atomic_load_explicit((_Atomic uint64_t *)word, memory_order_acquire) == 0u)
        return 0u;
    uint64_t v = atomic_exchange_explicit((_Atomic uint64_t *)word, 0u, memory_order_acquire);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Put one message in the outgoing ring; XCV_ENOSPC when full. Marks the doorbell pending. */
int xcv_chan_send(struct xcv_channel *ch, const struct xcv_msg *m);
/* Take one message from the incoming ring; XCV_EAGAIN when empty; breaks on bad input. */
int xcv_chan_recv(struct xcv_channel *ch, struct xcv_msg *m);
/* Ring the peer's doorbell if messages were sent since the last ring. */
int xcv_chan_ring(struct xcv_channel *ch);
/* Coherent ports: notify queue @q of device @dev_num through the outbound event word, ringing
 * the doorbell only when the word was empty (or messages are waiting for a ring). */
int xcv_chan_post_event(struct xcv_channel *ch, uint32_t dev_num, uint32_t q);
/* Coherent ports: take the inbound event word and hand its queue notifications to this side's
 * devices (device role: the model's notify at once; driver role: recorded as pending, for
 * xcv_vdrv_dispatch_pending). Returns the number of bits taken. */
unsigned xcv_chan_take_events(struct xcv_channel *ch);
/* Driver role: send @req and wait for its response (bounded by the channel timeout). */
int xcv_chan_request(struct xcv_channel *ch, struct xcv_msg *req, struct xcv_msg *resp);
/* Record a protocol error on the channel (sticky) and return it. */
int xcv_chan_break(struct xcv_channel *ch, int err);
/* Detect a peer restart; on one, reset this side's devices and return XCV_EPEERRESET. */
int xcv_chan_check_peer(struct xcv_channel *ch);

/* Device-role plumbing (vdev.c). */
void xcv_vdev_dispatch(struct xcv_channel *ch, const struct xcv_msg *m);
void xcv_vdev_kick(struct xcv_vdev *dev, uint32_t q);
void xcv_vdev_reset_all(struct xcv_channel *ch);
void xcv_vdev_flush_events(struct xcv_channel *ch);

/* Driver-role plumbing (vdrv.c). */
void xcv_vdrv_record_event(struct xcv_channel *ch, const struct xcv_msg *m);
void xcv_vdrv_record_used(struct xcv_vdrv *d, uint32_t q);
void xcv_vdrv_dispatch_pending(struct xcv_channel *ch);
void xcv_vdrv_peer_reset_all(struct xcv_channel *ch);
void xcv_vdrv_flush_events(struct xcv_channel *ch);

/* Payload field accessors (little-endian at byte offsets). */
static inline uint32_t xcv_pl32(const struct xcv_msg *m, unsigned off)
{
    return xcv_le32_load(m->payload + off);
}
static inline uint64_t xcv_pl64(const struct xcv_msg *m, unsigned off)
{
    return xcv_le64_load(m->payload + off);
}
static inline void xcv_pl32_set(struct xcv_msg *m, unsigned off, uint32_t v)
{
    xcv_le32_store(m->payload + off, v);
}
static inline void xcv_pl64_set(struct xcv_msg *m, unsigned off, uint64_t v)
{
    xcv_le64_store(m->payload + off, v);
}

static inline void xcv_chan_lock(const struct xcv_channel *ch)
{
    if (ch->port->ops->lock != NULL)
        ch->port->ops->lock(ch->port->ctx);
}
static inline void xcv_chan_unlock(const struct xcv_channel *ch)
{
    if (ch->port->ops->unlock != NULL)
        ch->port->ops->unlock(ch->port->ctx);
}

#endif /* XCV_SRC_TRANSPORT_CHAN_INTERNAL_H */
