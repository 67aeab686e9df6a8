/* SPDX-License-Identifier: Apache-2.0 */
/* The text of every error code. Constant data only. */
#include "xcvirtio/error.h"

const char *xcv_strerror(int err)
{
    if (err >= 0)
        return "success";
    switch ((xcv_err_t)err) {
    case XCV_OK:
        return "success";
    case XCV_EINVAL:
        return "invalid argument";
    case XCV_ENOSPC:
        return "not enough free descriptors or slots";
    case XCV_EAGAIN:
        return "nothing to do now";
    case XCV_ENOTSUP:
        return "feature not negotiated or not supported";
    case XCV_ESTATE:
        return "operation not allowed in the current state";
    case XCV_ETIMEDOUT:
        return "timed out waiting for the peer";
    case XCV_EBROKEN:
        return "object is broken; reset to recover";
    case XCV_ECANCELED:
        return "buffer reclaimed by a reset";
    case XCV_EPEERRESET:
        return "peer compartment restarted";
    case XCV_EIO:
        return "device reported an I/O error";
    case XCV_ENODEV:
        return "no such device, queue or channel";
    case XCV_ENOMEM:
        return "caller-provided storage too small";
    case XCV_EPORT:
        return "platform port operation failed";
    case XCV_EPROTO_AVAIL_IDX:
        return "protocol: available index moved by more than the queue size";
    case XCV_EPROTO_HEAD:
        return "protocol: chain head out of range or already in flight";
    case XCV_EPROTO_NEXT:
        return "protocol: next descriptor index out of range";
    case XCV_EPROTO_CHAIN_LEN:
        return "protocol: descriptor chain too long or looping";
    case XCV_EPROTO_INDIRECT:
        return "protocol: nested indirect table or indirect with NEXT";
    case XCV_EPROTO_INDIRECT_LEN:
        return "protocol: indirect table length zero or not a multiple of 16";
    case XCV_EPROTO_WRITE_ORDER:
        return "protocol: device-readable descriptor after a writable one";
    case XCV_EPROTO_OVERFLOW:
        return "protocol: address range or length overflows";
    case XCV_EPROTO_WINDOW:
        return "protocol: address range outside the shared windows";
    case XCV_EPROTO_USED_ID:
        return "protocol: used id is not an outstanding chain head";
    case XCV_EPROTO_USED_LEN:
        return "protocol: used length exceeds the writable bytes posted";
    case XCV_EPROTO_USED_IDX:
        return "protocol: used index ran ahead of the chains in flight";
    case XCV_EPROTO_FEATURE:
        return "protocol: feature used without being negotiated";
    case XCV_EPROTO_LAYOUT:
        return "protocol: invalid shared layout";
    case XCV_EPROTO_MSG:
        return "protocol: malformed or unexpected control message";
    case XCV_EPROTO_DEVICE:
        return "protocol: device reported a forbidden status or value";
    }
    return "unknown error";
}
