/* SPDX-License-Identifier: Apache-2.0 */
/* The platform-independent half of the virtio-mmio test helpers (see mmio_shared.h). */
#include "mmio_common.h"

#include "xcvirtio/error.h"

static const char *mmio_tag = "mmio";

void mmio_set_tag(const char *tag)
{
    mmio_tag = tag;
}

void mmio_say(const char *text, int64_t value)
{
    mmio_puts(mmio_tag);
    mmio_puts(": ");
    mmio_puts(text);
    mmio_puts(" ");
    mmio_put_int(value);
    mmio_puts("\n");
}

int mmio_check(const char *what, int r, int expect)
{
    if (r == expect)
        return 0;
    mmio_puts(mmio_tag);
    mmio_puts(": FAIL ");
    mmio_puts(what);
    mmio_puts(": ");
    mmio_put_int(r);
    mmio_puts(" (");
    mmio_puts(r < 0 ? xcv_strerror(r) : "value");
    mmio_puts(")\n");
    return 1;
}

int mmio_op_notify(void *ctx, uint32_t doorbell)
{
    (void)ctx;
    (void)doorbell;
    return XCV_ENOTSUP; /* the transport rings QueueNotify itself */
}

void mmio_op_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    static const char levels[] = "EWID";
    (void)ctx;
    mmio_puts("[");
    mmio_puts(mmio_tag);
    mmio_puts("] ");
    mmio_putc(levels[(unsigned)level & 3u]);
    mmio_puts(": ");
    mmio_puts(what);
    mmio_puts(" id=");
    mmio_put_dec(id);
    if (err != 0) {
        mmio_puts(" err=");
        mmio_puts(xcv_strerror(err));
    }
    mmio_puts("\n");
}

int mmio_scan(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size, uintptr_t base,
              uintptr_t stride, uint32_t count, bool top_down, uint32_t version,
              const struct xcv_port *port)
{
    int last = XCV_ENODEV;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t slot = top_down ? count - 1u - i : i;
        struct xcv_mmio_config cfg = {
            .base = base + (uintptr_t)slot * stride,
            .dma = {.local = (uint8_t *)dma,
                    .bus_base = (uint64_t)(uintptr_t)dma,
                    .size = dma_size},
            .port = port,
            .timeout_ns = MMIO_TEST_TIMEOUT_NS,
        };
        int r = xcv_mmio_probe(m, &cfg);
        if (r == XCV_OK && xcv_mmio_device_id(m) == device_id) {
            mmio_say("found device at slot", slot);
            mmio_say("  version", xcv_mmio_version(m));
            mmio_say("  vendor", xcv_mmio_vendor_id(m));
            if (xcv_mmio_version(m) != version) {
                mmio_say("FAIL: unexpected transport version", xcv_mmio_version(m));
                return XCV_ENOTSUP;
            }
            return (int)slot;
        }
        if (r != XCV_OK && r != XCV_ENODEV)
            last = r;
    }
    return last;
}
