/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces between the channel core, the device-role and the driver-role plumbing. */
#ifndef XCV_SRC_TRANSPORT_CHAN_INTERNAL_H
#define XCV_SRC_TRANSPORT_CHAN_INTERNAL_H

#include "xcvirtio/channel.h"
#include "xcvirtio/msg.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/virtio.h"

/* Window header: line 0 is the layout (device-written at format), then one line per side. */
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

/* Put one message in the outgoing ring; XCV_ENOSPC when full. Marks the doorbell pending. */
int xcv_chan_send(struct xcv_channel *ch, const struct xcv_msg *m);
/* Take one message from the incoming ring; XCV_EAGAIN when empty; breaks on bad input. */
int xcv_chan_recv(struct xcv_channel *ch, struct xcv_msg *m);
/* Ring the peer's doorbell if messages were sent since the last ring. */
int xcv_chan_ring(struct xcv_channel *ch);
/* Driver role: send @req and wait for its response (bounded by the channel timeout). */
int xcv_chan_request(struct xcv_channel *ch, struct xcv_msg *req, struct xcv_msg *resp);
/* Record a protocol error on the channel (sticky) and return it. */
int xcv_chan_break(struct xcv_channel *ch, int err);
/* Detect a peer restart; on one, reset this side's devices and return XCV_EPEERRESET. */
int xcv_chan_check_peer(struct xcv_channel *ch);

/* Device-role plumbing (vdev.c). */
void xcv_vdev_dispatch(struct xcv_channel *ch, const struct xcv_msg *m);
void xcv_vdev_reset_all(struct xcv_channel *ch);
void xcv_vdev_flush_events(struct xcv_channel *ch);

/* Driver-role plumbing (vdrv.c). */
void xcv_vdrv_record_event(struct xcv_channel *ch, const struct xcv_msg *m);
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
