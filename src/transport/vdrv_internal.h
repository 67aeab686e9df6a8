/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces shared by the driver-role transports (channel: vdrv.c, virtio-mmio: mmio.c).
 */
#ifndef XCV_SRC_TRANSPORT_VDRV_INTERNAL_H
#define XCV_SRC_TRANSPORT_VDRV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/vdrv.h"

/* Check a driver configuration the same way on every transport: XCV_OK or XCV_EINVAL. */
int xcv_vdrv_config_check(const struct xcv_vdrv_config *cfg);

/* Take back every buffer still posted on @d's queues, complete each through ops->cancel with
 * @err, reset the queues and mark @d closed. Only once the device no longer uses the rings. */
void xcv_vdrv_reclaim(struct xcv_vdrv *d, int err);

/* Bind @d to a transport for an open: a new object (@fresh) starts from zero and its queues
 * are placed again; a reopen keeps the queues' places. Sets the transport fields and @cfg. */
void xcv_vdrv_bind(struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg, bool fresh,
                   const struct xcv_vdrv_transport_ops *tops, void *tctx,
                   const struct xcv_port *port, uint64_t timeout_ns);

#endif /* XCV_SRC_TRANSPORT_VDRV_INTERNAL_H */
