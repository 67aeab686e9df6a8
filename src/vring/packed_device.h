/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private: the packed virtqueue, device role (packed_device.c). The public functions of
 * vq_device.h dispatch here when the queue is packed; they have already checked the arguments
 * they share with the split ring (NULL pointers, chain storage) and that the queue is not broken,
 * so these functions check only what is particular to the packed ring.
 */
#ifndef XCV_SRC_VRING_PACKED_DEVICE_H
#define XCV_SRC_VRING_PACKED_DEVICE_H

#include <stdint.h>

#include "xcvirtio/vq_device.h"

/* Init for a config whose features contain VIRTIO_F_RING_PACKED (cfg and its pointers checked). */
int xcv_pdev_init(struct xcv_vq_device *q, const struct xcv_vq_device_config *cfg);

/* Forget all state, as xcv_vq_device_reset(). */
void xcv_pdev_reset(struct xcv_vq_device *q);

/* Pop one chain; the queue is healthy and the chain storage checked. */
int xcv_pdev_pop_one(struct xcv_vq_device *q, struct xcv_chain *chain);

/* Pop a run of one-descriptor chains (up to @p n) without the chain walk; stops where
 * xcv_pdev_pop_one() must look. Returns the chains taken; the queue is healthy. */
unsigned xcv_pdev_pop_run(struct xcv_vq_device *q, struct xcv_chain *chains, unsigned n);

/* Stage the used descriptors of @p n completions in order, up to the first one refused (not a
 * buffer in flight, or a length above its writable bytes); returns how many were staged. The
 * queue is healthy. */
int xcv_pdev_push_burst(struct xcv_vq_device *q, const struct xcv_chain_done *done, unsigned n);

/* Store the deferred flags of the first staged used descriptor; the queue is healthy. */
int xcv_pdev_publish(struct xcv_vq_device *q);

/* Decide on a used buffer notification; the queue is healthy. */
int xcv_pdev_should_notify(struct xcv_vq_device *q);

/* Ask for available buffer notifications and look for a chain that raced; the queue is healthy. */
int xcv_pdev_enable_notify(struct xcv_vq_device *q);

/* Write DISABLE in the device event suppression area; the queue is healthy. */
void xcv_pdev_disable_notify(struct xcv_vq_device *q);

/* The next position to pop with the expected driver wrap counter in bit 15. */
uint16_t xcv_pdev_next_avail(const struct xcv_vq_device *q);

#endif /* XCV_SRC_VRING_PACKED_DEVICE_H */
