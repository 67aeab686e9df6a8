/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helper of the synchronous driver calls: take one used chain from @q, polling the
 * device's transport and waiting through its port in between, bounded by the transport's
 * timeout. Works the same on a channel and on virtio-mmio.
 */
#ifndef XCV_SRC_DEVICE_DRV_WAIT_H
#define XCV_SRC_DEVICE_DRV_WAIT_H

#include "xcvirtio/error.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/vq_driver.h"

static inline int xcv_drv_wait_used(struct xcv_vdrv *d, struct xcv_vq_driver *q, void **token,
                                    uint32_t *len)
{
    const struct xcv_port *port = xcv_vdrv_port(d);
    if (port == NULL)
        return XCV_ENODEV;
    uint64_t deadline = port->ops->now_ns(port->ctx) + xcv_vdrv_timeout_ns(d);
    for (;;) {
        int r = xcv_vq_driver_get_used(q, token, len);
        if (r != XCV_EAGAIN)
            return r;
        r = xcv_vdrv_poll(d, 16);
        if (r < 0)
            return r; /* a peer restart reclaimed the buffers through the cancel callback */
        if (port->ops->now_ns(port->ctx) > deadline)
            return XCV_ETIMEDOUT;
        /* Ask for a used notification before sleeping (with EVENT_IDX, used_event); a chain
         * that raced in is taken at once. */
        r = xcv_vq_driver_enable_notify(q);
        if (r < 0)
            return r;
        if (r == 0 && port->ops->wait != NULL)
            (void)port->ops->wait(port->ctx, deadline);
    }
}

#endif /* XCV_SRC_DEVICE_DRV_WAIT_H */
