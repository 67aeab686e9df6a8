/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control message encoding and validation. Parsing works on a private copy of the wire bytes:
 * the caller has already copied the slot out of shared memory, so nothing here can be changed
 * underneath by the peer.
 */
#include "xcvirtio/msg.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"

/* Smallest payload each message needs, by kind. 0xff: the id does not exist for that kind. */
static uint8_t msg_min_payload(uint8_t type, uint8_t id)
{
    bool resp = (type & XCV_MSG_TYPE_RESPONSE) != 0u;
    if (type & XCV_MSG_TYPE_ERROR)
        return resp ? 4u : 0xffu; /* le32 error code */
    if (type & XCV_MSG_TYPE_BUS) {
        switch (id) {
        case XCV_BUS_MSG_GET_DEVICES:
            return resp ? 8u : 4u; /* resp: offset, num, next_offset, pad, le32 bitmap */
        case XCV_BUS_MSG_PING:
            return 4u;
        default:
            return 0xffu;
        }
    }
    switch (id) {
    case XCV_MSG_DEVICE_INFO:
        return resp ? 24u : 0u;
    case XCV_MSG_GET_DEV_FEATURES:
        return 8u; /* index, num (+ blocks in the response) */
    case XCV_MSG_SET_DRV_FEATURES:
        return resp ? 0u : 8u;
    case XCV_MSG_GET_CONFIG:
        return resp ? 12u : 8u;
    case XCV_MSG_SET_CONFIG:
        return 12u;
    case XCV_MSG_GET_DEVICE_STATUS:
        return resp ? 4u : 0u;
    case XCV_MSG_SET_DEVICE_STATUS:
        return 4u;
    case XCV_MSG_GET_VQUEUE:
        return resp ? 40u : 4u;
    case XCV_MSG_SET_VQUEUE:
        return resp ? 0u : 40u;
    case XCV_MSG_RESET_VQUEUE:
        return resp ? 0u : 4u;
    case XCV_MSG_EVENT_CONFIG:
        return resp ? 0xffu : 16u;
    case XCV_MSG_EVENT_AVAIL:
    case XCV_MSG_EVENT_USED:
        return resp ? 0xffu : 4u;
    default:
        return 0xffu;
    }
}

int xcv_msg_parse(const uint8_t raw[XCV_MSG_SIZE], struct xcv_msg *out)
{
    if (raw == NULL || out == NULL)
        return XCV_EINVAL;
    uint8_t type = raw[0];
    uint8_t id = raw[1];
    uint16_t size = xcv_le16_load(raw + 6);
    const uint8_t known = XCV_MSG_TYPE_RESPONSE | XCV_MSG_TYPE_BUS | XCV_MSG_TYPE_ERROR;

    if ((type & (uint8_t)~known) != 0u || size < XCV_MSG_HDR_SIZE || size > XCV_MSG_SIZE)
        return XCV_EPROTO_MSG;
    uint8_t min = msg_min_payload(type, id);
    if (min == 0xffu || (uint32_t)(size - XCV_MSG_HDR_SIZE) < min)
        return XCV_EPROTO_MSG;

    out->type = type;
    out->id = id;
    out->dev_num = xcv_le16_load(raw + 2);
    out->token = xcv_le16_load(raw + 4);
    out->size = size;
    size_t plen = (size_t)size - XCV_MSG_HDR_SIZE;
    xcv_memcpy(out->payload, raw + XCV_MSG_HDR_SIZE, plen);
    xcv_memset(out->payload + plen, 0, XCV_MSG_PAYLOAD_MAX - plen);
    return XCV_OK;
}

int xcv_msg_encode(const struct xcv_msg *m, uint8_t raw[XCV_MSG_SIZE])
{
    if (m == NULL || raw == NULL || m->size < XCV_MSG_HDR_SIZE || m->size > XCV_MSG_SIZE)
        return XCV_EINVAL;
    size_t plen = (size_t)m->size - XCV_MSG_HDR_SIZE;
    raw[0] = m->type;
    raw[1] = m->id;
    xcv_le16_store(raw + 2, m->dev_num);
    xcv_le16_store(raw + 4, m->token);
    xcv_le16_store(raw + 6, m->size);
    xcv_memcpy(raw + XCV_MSG_HDR_SIZE, m->payload, plen);
    xcv_memset(raw + XCV_MSG_HDR_SIZE + plen, 0, XCV_MSG_PAYLOAD_MAX - plen);
    return XCV_OK;
}

void xcv_msg_init(struct xcv_msg *m, uint8_t type, uint8_t id, uint16_t dev_num,
                  uint16_t payload_len)
{
    if (payload_len > XCV_MSG_PAYLOAD_MAX)
        payload_len = XCV_MSG_PAYLOAD_MAX;
    m->type = type;
    m->id = id;
    m->dev_num = dev_num;
    m->token = 0;
    m->size = (uint16_t)(XCV_MSG_HDR_SIZE + payload_len);
    xcv_memset(m->payload, 0, sizeof(m->payload));
}
