/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private: the packed-ring half of the driver role (packed_driver.c). driver.c checks the
 * arguments and the queue's state exactly as for a split ring (NULL pointers, a broken queue,
 * empty or over-long chains, NULL tokens) and then calls these when q->packed is set, so each
 * public function keeps one set of documented error codes for both layouts.
 */
#ifndef XCV_SRC_VRING_PACKED_DRIVER_H
#define XCV_SRC_VRING_PACKED_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/vq_driver.h"
#include "xcvirtio/vring.h"

/* Is @r a packed layout this role can drive: a power-of-two size, the descriptor ring 16-byte
 * aligned, then the driver and the device event suppression areas, 4-byte aligned, in that
 * order and not overlapping (what xcv_vring_packed_layout() produces)? */
bool xcv_pdrv_ring_ok(const struct xcv_vring_layout *r);

/* Bytes from the descriptor ring to the end of the device event suppression area. */
size_t xcv_pdrv_ring_bytes(const struct xcv_vq_driver *q);

/* Post one chain of n_out + n_in > 0 elements (at most num); the caller checked sg and token.
 * XCV_OK, XCV_ENOSPC or XCV_EINVAL (writable bytes overflow 32 bits). */
int xcv_pdrv_add(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n_out, unsigned n_in,
                 void *token);

/* Post up to @n one-descriptor chains; the caller checked the arrays, the tokens and that at
 * least one position is free. Returns the chains posted. */
int xcv_pdrv_add_burst(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n,
                       bool device_writable, void *const *tokens);

/* Release-store the deferred flags of the batch; the chains published. Queue healthy. */
int xcv_pdrv_publish(struct xcv_vq_driver *q);

/* After a publish: should the device be notified (1) or not (0)? Queue healthy. */
int xcv_pdrv_kick_decide(struct xcv_vq_driver *q);

/* Take one used chain: XCV_OK, XCV_EAGAIN or a protocol error (queue now broken). */
int xcv_pdrv_get_one(struct xcv_vq_driver *q, void **token, uint32_t *len);

/* A hint: the token of the used chain @ahead after the next one, or NULL. Any queue state. */
void *xcv_pdrv_peek_used(const struct xcv_vq_driver *q, unsigned ahead);

/* Arm the driver event suppression area, then look for a race: 0, 1 or a protocol error. */
int xcv_pdrv_enable_notify(struct xcv_vq_driver *q);

/* Write DISABLE to the driver event suppression area. Queue healthy. */
void xcv_pdrv_disable_notify(struct xcv_vq_driver *q);

/* Give back the id of an outstanding chain without a used descriptor (detach): the token is
 * dropped and the id freed; the chain's ring positions stay taken until the queue restarts. */
void xcv_pdrv_detach(struct xcv_vq_driver *q, uint16_t id);

#endif /* XCV_SRC_VRING_PACKED_DRIVER_H */
