/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helper of the synchronous driver calls: take one used chain from @q, polling the
 * channel and waiting through the port in between, bounded by the channel's timeout.
 */
#ifndef XCV_SRC_DEVICE_DRV_WAIT_H
#define XCV_SRC_DEVICE_DRV_WAIT_H

#include "xcvirtio/channel.h"
#include "xcvirtio/error.h"
#include "xcvirtio/vq_driver.h"

static inline int xcv_drv_wait_used(struct xcv_channel *ch, struct xcv_vq_driver *q,
                                    void **token, uint32_t *len)
{
    const struct xcv_port *port = ch->port;
    uint64_t deadline = port->ops->now_ns(port->ctx) + ch->timeout_ns;
    for (;;) {
        int r = xcv_vq_driver_get_used(q, token, len);
        if (r != XCV_EAGAIN)
            return r;
        r = xcv_channel_poll(ch, 16);
        if (r < 0)
            return r; /* a peer restart reclaimed the buffers through the cancel callback */
        if (port->ops->now_ns(port->ctx) > deadline)
            return XCV_ETIMEDOUT;
        if (port->ops->wait != NULL)
            (void)port->ops->wait(port->ctx, deadline);
    }
}

#endif /* XCV_SRC_DEVICE_DRV_WAIT_H */
