/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helpers of the device models: copy between local memory and the segments of a
 * validated chain. The segments are already bounds-checked against the windows by the ring
 * (xcv_vq_device_pop); these helpers never step outside [base, base + len) of any segment,
 * whatever offset or length the caller asks for: they copy what fits and return the count.
 *
 * The bytes themselves live in shared memory that the driver may change at any time: a model
 * gathers a header into local memory once, then validates and uses only the local copy.
 */
#ifndef XCV_SRC_DEVICE_IOV_H
#define XCV_SRC_DEVICE_IOV_H

#include <stdint.h>

#include "xcvirtio/vq_device.h"

#include "../common/shm.h"

/* Copy up to @len bytes starting @off bytes into the segments @iov[0..n) to @dst. */
static inline uint32_t xcv_iov_gather(const struct xcv_iov *iov, unsigned n, uint32_t off,
                                      void *dst, uint32_t len)
{
    uint8_t *d = (uint8_t *)dst;
    uint32_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        uint32_t sl = iov[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        uint32_t c = sl - off;
        if (c > len - done)
            c = len - done;
        xcv_memcpy(d + done, (const uint8_t *)iov[i].base + off, c);
        done += c;
        off = 0;
    }
    return done;
}

/* Copy up to @len bytes from @src into the segments @iov[0..n), starting @off bytes in. */
static inline uint32_t xcv_iov_scatter(const struct xcv_iov *iov, unsigned n, uint32_t off,
                                       const void *src, uint32_t len)
{
    const uint8_t *s = (const uint8_t *)src;
    uint32_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        uint32_t sl = iov[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        uint32_t c = sl - off;
        if (c > len - done)
            c = len - done;
        xcv_memcpy((uint8_t *)iov[i].base + off, s + done, c);
        done += c;
        off = 0;
    }
    return done;
}

/*
 * Describe the bytes [@off, @off + @len) of the segments @iov[0..n) as a new list in @out
 * (capacity @cap). Returns the number of entries, or -1 when the range is not wholly inside
 * the segments or does not fit in @cap. Zero-length pieces are skipped.
 */
static inline int xcv_iov_slice(const struct xcv_iov *iov, unsigned n, uint32_t off, uint32_t len,
                                struct xcv_iov *out, unsigned cap)
{
    unsigned k = 0;
    uint32_t left = len;
    for (unsigned i = 0; i < n && left > 0u; i++) {
        uint32_t sl = iov[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        uint32_t c = sl - off;
        if (c > left)
            c = left;
        if (k == cap)
            return -1;
        out[k].base = (uint8_t *)iov[i].base + off;
        out[k].len = c;
        k++;
        left -= c;
        off = 0;
    }
    return left == 0u ? (int)k : -1;
}

#endif /* XCV_SRC_DEVICE_IOV_H */
