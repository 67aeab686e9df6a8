/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio_net_hdr wire format (virtio 1.2, 5.1.6), shared by both roles. */
#include "xcvirtio/dev_net.h"

#include "net_hdr.h"

void xcv_net_hdr_load(struct xcv_net_hdr *h, const uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE])
{
    xcv_net_hdr_decode(h, wire);
}

void xcv_net_hdr_store(uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE], const struct xcv_net_hdr *h)
{
    xcv_net_hdr_encode(wire, h);
}
