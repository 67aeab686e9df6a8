/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the virtio-mmio driver test images: one compartment on CPU0 drives QEMU's own
 * virtio-mmio devices. Memory is identity mapped, so the DMA area and buffers (static arrays in
 * the image's RAM) have local address = physical address = bus address.
 *
 * MMIO_EXPECT_VERSION (1 = legacy, QEMU's default; 2 = modern, -global
 * virtio-mmio.force-legacy=false) is the transport version the image insists on.
 */
#ifndef XCV_ARMV8_MMIO_COMMON_H
#define XCV_ARMV8_MMIO_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/mmio.h"
#include "xcvirtio/port_armv8.h"

#ifndef MMIO_EXPECT_VERSION
#error "MMIO_EXPECT_VERSION must be 1 or 2"
#endif

/* What the shared test bodies (ports/common/mmio) need from this port. */
#define MMIO_MAIN xcv_armv8_main
static inline uint64_t mmio_now_ns(void)
{
    return xcv_armv8_now_ns();
}
static inline void mmio_puts(const char *s)
{
    xcv_armv8_puts(s);
}
static inline void mmio_putc(char c)
{
    xcv_armv8_putc(c);
}
static inline void mmio_put_int(int64_t v)
{
    xcv_armv8_put_int(v);
}
static inline void mmio_put_dec(uint64_t v)
{
    xcv_armv8_put_dec(v);
}

/* Report lines, the transport scan, and the interface this file's .c implements for the
 * shared test bodies (ports/common/mmio/mmio_shared.h). */
#include "../../common/mmio/mmio_shared.h"

#endif /* XCV_ARMV8_MMIO_COMMON_H */
