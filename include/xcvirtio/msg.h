/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file msg.h
 * @brief Control messages between compartments, modelled on the virtio-msg transport.
 *
 * Every virtio transport operation (device info, features, config, status, queue setup) and
 * every event (config change, buffers available, buffers used) is one fixed-size message of at
 * most ::XCV_MSG_SIZE bytes, carried over the channel's message rings. The wire format follows
 * the virtio-msg draft: an 8-byte little-endian header (type, id, device number, token, size)
 * and up to 40 bytes of payload. docs/architecture.md lists where libxcvirtio differs.
 *
 * Messages arrive from the untrusted peer: xcv_msg_parse() checks the header and the payload
 * size each id requires before any field is used.
 */
#ifndef XCVIRTIO_MSG_H
#define XCVIRTIO_MSG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest message on the wire, in bytes. */
#define XCV_MSG_SIZE 48u
/** @brief Size of the message header. */
#define XCV_MSG_HDR_SIZE 8u
/** @brief Largest payload. */
#define XCV_MSG_PAYLOAD_MAX (XCV_MSG_SIZE - XCV_MSG_HDR_SIZE)
/** @brief Largest config chunk one GET_CONFIG / SET_CONFIG message carries. */
#define XCV_MSG_CONFIG_CHUNK 28u

/** @name Message type bits (header byte 0)
 *  @{ */
#define XCV_MSG_TYPE_RESPONSE 0x01u /**< A response (else a request or an event). */
#define XCV_MSG_TYPE_BUS 0x02u      /**< A bus message (else a transport message). */
#define XCV_MSG_TYPE_ERROR 0x80u    /**< libxcvirtio extension: the response carries an error. */
/** @} */

/** @brief Transport message ids (header byte 1, type without ::XCV_MSG_TYPE_BUS). */
enum xcv_msg_id {
    XCV_MSG_DEVICE_INFO = 0x02,       /**< Device id, vendor, feature bits, config size, queues. */
    XCV_MSG_GET_DEV_FEATURES = 0x03,  /**< Read a block of device feature bits. */
    XCV_MSG_SET_DRV_FEATURES = 0x04,  /**< Write a block of driver feature bits. */
    XCV_MSG_GET_CONFIG = 0x05,        /**< Read device config space. */
    XCV_MSG_SET_CONFIG = 0x06,        /**< Write device config space. */
    XCV_MSG_GET_DEVICE_STATUS = 0x07, /**< Read the device status byte. */
    XCV_MSG_SET_DEVICE_STATUS = 0x08, /**< Write the device status byte (0 resets). */
    XCV_MSG_GET_VQUEUE = 0x09,        /**< Read a queue's max size, size and addresses. */
    XCV_MSG_SET_VQUEUE = 0x0a,        /**< Configure and enable a queue. */
    XCV_MSG_RESET_VQUEUE = 0x0b,      /**< Disable and reset one queue. */
    XCV_MSG_EVENT_CONFIG = 0x40,      /**< Device to driver: config or status changed. */
    XCV_MSG_EVENT_AVAIL = 0x41,       /**< Driver to device: buffers available on a queue. */
    XCV_MSG_EVENT_USED = 0x42         /**< Device to driver: buffers used on a queue. */
};

/** @brief Bus message ids (type with ::XCV_MSG_TYPE_BUS). */
enum xcv_bus_msg_id {
    XCV_BUS_MSG_GET_DEVICES = 0x02, /**< Bitmap of the device numbers present. */
    XCV_BUS_MSG_PING = 0x03         /**< Echo a 32-bit value (liveness). */
};

/**
 * @brief A message in local memory: a copy of the wire bytes, header fields decoded.
 * The payload stays little-endian; read it with the xcv_le*_load helpers at the documented
 * offsets (see docs/architecture.md, "Control messages").
 */
struct xcv_msg {
    uint8_t type;                         /**< Type bits. */
    uint8_t id;                           /**< Message id (::xcv_msg_id or ::xcv_bus_msg_id). */
    uint16_t dev_num;                     /**< Device number on the channel (transport messages). */
    uint16_t token;                       /**< Request token, echoed by the response. */
    uint16_t size;                        /**< Total size including the header, 8..48. */
    uint8_t payload[XCV_MSG_PAYLOAD_MAX]; /**< Payload bytes; those past size are zero. */
};

/**
 * @brief Decode and validate a message copied from shared memory.
 *
 * Checks the size field, the type bits, that the id is known for its type and direction, and
 * that the payload is at least as long as the id requires. Bytes past the declared size are
 * zeroed in @p out so handlers never see stale data.
 *
 * @param raw ::XCV_MSG_SIZE bytes, already copied into private memory by the caller.
 * @param[out] out The decoded message.
 * @return ::XCV_OK or ::XCV_EPROTO_MSG.
 */
int xcv_msg_parse(const uint8_t raw[XCV_MSG_SIZE], struct xcv_msg *out);

/**
 * @brief Encode @p m into @p raw (::XCV_MSG_SIZE bytes), zeroing unused payload bytes.
 * @return ::XCV_OK or ::XCV_EINVAL if @c m->size is outside 8..48.
 */
int xcv_msg_encode(const struct xcv_msg *m, uint8_t raw[XCV_MSG_SIZE]);

/**
 * @brief Start a message: set the header fields and zero the payload.
 * @param m Caller-owned message.
 * @param type Type bits.
 * @param id Message id.
 * @param dev_num Device number.
 * @param payload_len Payload bytes that will be filled (<= ::XCV_MSG_PAYLOAD_MAX).
 */
void xcv_msg_init(struct xcv_msg *m, uint8_t type, uint8_t id, uint16_t dev_num,
                  uint16_t payload_len);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_MSG_H */
