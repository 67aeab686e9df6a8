/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file error.h
 * @brief The one error enum of libxcvirtio and its text.
 *
 * Every function that can fail returns either a non-negative value (success, often a count)
 * or one of the negative codes below. Codes from -1 to -31 are caused by the caller or the
 * environment; codes from -32 down are protocol errors caused by the peer compartment. A
 * protocol error always marks the object that saw it broken (sticky) until it is reset.
 */
#ifndef XCVIRTIO_ERROR_H
#define XCVIRTIO_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Error codes. All are negative; ::XCV_OK is zero.
 */
typedef enum xcv_err {
    XCV_OK = 0, /**< Success. */

    /* ---- caller and environment errors ---- */
    XCV_EINVAL = -1,     /**< An argument is invalid (NULL, out of range, misaligned). */
    XCV_ENOSPC = -2,     /**< Not enough free descriptors or ring slots; retry after reclaiming. */
    XCV_EAGAIN = -3,     /**< Nothing to do now (no used or available buffer). */
    XCV_ENOTSUP = -4,    /**< Needs a feature that was not negotiated or configured. */
    XCV_ESTATE = -5,     /**< The object is not in a state that allows the operation. */
    XCV_ETIMEDOUT = -6,  /**< A bounded wait on the peer expired. */
    XCV_EBROKEN = -7,    /**< The object is broken (sticky); reset to recover. */
    XCV_ECANCELED = -8,  /**< A buffer was reclaimed by a reset and completed without being used. */
    XCV_EPEERRESET = -9, /**< The peer compartment restarted; in-flight work was cancelled. */
    XCV_EIO = -10,       /**< The device reported an I/O error for a request. */
    XCV_ENODEV = -11,    /**< No such device, queue or channel. */
    XCV_ENOMEM = -12,    /**< Caller-provided storage is too small for the request. */
    XCV_EPORT = -13,     /**< A port operation failed (doorbell, clock, system call). */

    /* ---- protocol errors: caused by the untrusted peer ---- */
    XCV_EPROTO_AVAIL_IDX = -32,    /**< Available index moved by more than the queue size. */
    XCV_EPROTO_HEAD = -33,         /**< A chain head index is out of range. */
    XCV_EPROTO_NEXT = -34,         /**< A descriptor's next index is out of range. */
    XCV_EPROTO_CHAIN_LEN = -35,    /**< A chain is longer than allowed (includes loops). */
    XCV_EPROTO_INDIRECT = -36,     /**< Indirect descriptor misuse: nested, or with NEXT set. */
    XCV_EPROTO_INDIRECT_LEN = -37, /**< Indirect table length is zero or not a multiple of 16. */
    XCV_EPROTO_WRITE_ORDER = -38,  /**< A device-readable descriptor follows a writable one. */
    XCV_EPROTO_OVERFLOW = -39,     /**< An address range or a total length wraps around. */
    XCV_EPROTO_WINDOW = -40,       /**< An address range lies outside every shared window. */
    XCV_EPROTO_USED_ID = -41,      /**< A used id is out of range or not an outstanding head. */
    XCV_EPROTO_USED_LEN = -42,     /**< A used length exceeds the writable bytes posted. */
    XCV_EPROTO_USED_IDX = -43,     /**< Used index moved by more than the chains in flight. */
    XCV_EPROTO_FEATURE = -44,      /**< The peer used a feature that was not negotiated. */
    XCV_EPROTO_LAYOUT = -45,       /**< A shared layout (window header, ring placement) is bad. */
    XCV_EPROTO_MSG = -46,          /**< A control message is malformed or unexpected. */
    XCV_EPROTO_DEVICE = -47        /**< A device reported a status or value the spec forbids. */
} xcv_err_t;

/**
 * @brief Return a static, human-readable description of an error code.
 *
 * @param err Any value returned by a libxcvirtio function (non-negative values read "success").
 * @return A pointer to a constant string owned by the library; never NULL.
 */
const char *xcv_strerror(int err);

/**
 * @brief Tell whether an error code was caused by the peer (a protocol error).
 *
 * @param err A value returned by a libxcvirtio function.
 * @return Non-zero for codes in the protocol range (-32 and below), zero otherwise.
 */
static inline int xcv_err_is_protocol(int err)
{
    return err <= XCV_EPROTO_AVAIL_IDX;
}

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_ERROR_H */
