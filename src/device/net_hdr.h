/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private: the virtio_net_hdr wire format (virtio 1.2, 5.1.6) as inline code for the net
 * models' per-frame paths; xcv_net_hdr_load() / xcv_net_hdr_store() (net_hdr.c) are the public
 * forms of the same code. Decoding reads local memory only: a header in shared memory is copied
 * out once first and only the copy is decoded. Encoding may write straight into a buffer this
 * side owns (one the driver has not posted yet, or a device-writable chain not yet pushed).
 */
#ifndef XCV_SRC_DEVICE_NET_HDR_H
#define XCV_SRC_DEVICE_NET_HDR_H

#include <stdint.h>

#include "xcvirtio/dev_net.h"
#include "xcvirtio/virtio.h"

static inline void xcv_net_hdr_decode(struct xcv_net_hdr *h,
                                      const uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE])
{
    h->flags = wire[0];
    h->gso_type = wire[1];
    h->hdr_len = xcv_le16_load(wire + 2);
    h->gso_size = xcv_le16_load(wire + 4);
    h->csum_start = xcv_le16_load(wire + 6);
    h->csum_offset = xcv_le16_load(wire + 8);
    h->num_buffers = xcv_le16_load(wire + 10);
}

static inline void xcv_net_hdr_encode(uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE],
                                      const struct xcv_net_hdr *h)
{
    wire[0] = h->flags;
    wire[1] = h->gso_type;
    xcv_le16_store(wire + 2, h->hdr_len);
    xcv_le16_store(wire + 4, h->gso_size);
    xcv_le16_store(wire + 6, h->csum_start);
    xcv_le16_store(wire + 8, h->csum_offset);
    xcv_le16_store(wire + 10, h->num_buffers);
}

#endif /* XCV_SRC_DEVICE_NET_HDR_H */
