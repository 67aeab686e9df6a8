/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio_net_hdr wire format (virtio 1.2, 5.1.6), shared by both roles. */
#include "xcvirtio/dev_net.h"
#include "xcvirtio/virtio.h"

void xcv_net_hdr_load(struct xcv_net_hdr *h, const uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE])
{
    h->flags = wire[0];
    h->gso_type = wire[1];
    h->hdr_len = xcv_le16_load(wire + 2);
    h->gso_size = xcv_le16_load(wire + 4);
    h->csum_start = xcv_le16_load(wire + 6);
    h->csum_offset = xcv_le16_load(wire + 8);
    h->num_buffers = xcv_le16_load(wire + 10);
}

void xcv_net_hdr_store(uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE], const struct xcv_net_hdr *h)
{
    wire[0] = h->flags;
    wire[1] = h->gso_type;
    xcv_le16_store(wire + 2, h->hdr_len);
    xcv_le16_store(wire + 4, h->gso_size);
    xcv_le16_store(wire + 6, h->csum_start);
    xcv_le16_store(wire + 8, h->csum_offset);
    xcv_le16_store(wire + 10, h->num_buffers);
}
