/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the RISC-V virtio-mmio driver test images (see mmio_common.h). */
#include "mmio_common.h"

#include "xcvirtio/error.h"

static const char *mmio_tag = "mmio";
static uint32_t irq_source; /* 0: busy polling */
static uint64_t irq_count;  /* interrupts taken */

void mmio_say(const char *text, int64_t value)
{
    xcv_riscv_puts(mmio_tag);
    xcv_riscv_puts(": ");
    xcv_riscv_puts(text);
    xcv_riscv_puts(" ");
    xcv_riscv_put_int(value);
    xcv_riscv_puts("\n");
}

int mmio_check(const char *what, int r, int expect)
{
    if (r == expect)
        return 0;
    xcv_riscv_puts(mmio_tag);
    xcv_riscv_puts(": FAIL ");
    xcv_riscv_puts(what);
    xcv_riscv_puts(": ");
    xcv_riscv_put_int(r);
    xcv_riscv_puts(" (");
    xcv_riscv_puts(r < 0 ? xcv_strerror(r) : "value");
    xcv_riscv_puts(")\n");
    return 1;
}

/* ---- the port ---- */

static int op_notify(void *ctx, uint32_t doorbell)
{
    (void)ctx;
    (void)doorbell;
    return XCV_ENOTSUP; /* the transport rings QueueNotify itself */
}

static uint64_t op_now_ns(void *ctx)
{
    (void)ctx;
    return xcv_riscv_now_ns();
}

static int op_wait(void *ctx, uint64_t deadline_ns)
{
    (void)ctx;
    if (irq_source == 0u)
        return XCV_OK; /* busy polling: the caller polls the device again at once */
    /* An interrupt taken since the caller's last poll: return at once and let it poll again.
     * The record may be the only trace of it: a PLIC need not raise a source again whose
     * line stayed high while it was masked, so the record is not dropped. */
    if (xcv_riscv_plic_take() != 0u) {
        irq_count++;
        xcv_riscv_plic_unmask(irq_source);
        return XCV_OK;
    }
    xcv_riscv_plic_unmask(irq_source);
    return xcv_riscv_wait_doorbell(deadline_ns) ? XCV_OK : XCV_ETIMEDOUT;
}

static void op_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    static const char levels[] = "EWID";
    (void)ctx;
    xcv_riscv_puts("[");
    xcv_riscv_puts(mmio_tag);
    xcv_riscv_puts("] ");
    xcv_riscv_putc(levels[(unsigned)level & 3u]);
    xcv_riscv_puts(": ");
    xcv_riscv_puts(what);
    xcv_riscv_puts(" id=");
    xcv_riscv_put_dec(id);
    if (err != 0) {
        xcv_riscv_puts(" err=");
        xcv_riscv_puts(xcv_strerror(err));
    }
    xcv_riscv_puts("\n");
}

static const struct xcv_port_ops mmio_port_ops = {
    .notify = op_notify,
    .now_ns = op_now_ns,
    .wait = op_wait,
    .log = op_log,
};

static const struct xcv_port mmio_test_port = {.ops = &mmio_port_ops, .ctx = NULL};

const struct xcv_port *mmio_port(void)
{
    return &mmio_test_port;
}

/* ---- platform ---- */

int mmio_platform_init(const char *tag)
{
    mmio_tag = tag;
    xcv_riscv_irq_init();
    return 0;
}

int mmio_find(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size)
{
    int last = XCV_ENODEV;
    for (uint32_t slot = 0; slot < XCV_RISCV_VIRTIO_MMIO_COUNT; slot++) {
        uintptr_t base =
            XCV_RISCV_VIRTIO_MMIO_BASE + (uintptr_t)slot * XCV_RISCV_VIRTIO_MMIO_STRIDE;
        struct xcv_mmio_config cfg = {
            .base = base,
            .dma = {.local = (uint8_t *)dma,
                    .bus_base = (uint64_t)(uintptr_t)dma,
                    .size = dma_size},
            .port = mmio_port(),
            .timeout_ns = MMIO_TEST_TIMEOUT_NS,
        };
        int r = xcv_mmio_probe(m, &cfg);
        if (r == XCV_OK && xcv_mmio_device_id(m) == device_id) {
            mmio_say("found device at slot", slot);
            mmio_say("  version", xcv_mmio_version(m));
            mmio_say("  vendor", xcv_mmio_vendor_id(m));
            if (xcv_mmio_version(m) != MMIO_EXPECT_VERSION) {
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

int mmio_irq_enable(int slot)
{
    if (slot < 0 || (uint32_t)slot >= XCV_RISCV_VIRTIO_MMIO_COUNT)
        return -1;
    uint32_t irq = XCV_RISCV_VIRTIO_MMIO_IRQ + (uint32_t)slot;
    if (xcv_riscv_plic_enable(irq) != 0)
        return -1;
    irq_source = irq;
    return 0;
}

bool mmio_irq_wait(uint64_t deadline_ns)
{
    if (irq_source == 0u)
        return false;
    xcv_riscv_plic_unmask(irq_source);
    (void)xcv_riscv_wait_doorbell(deadline_ns);
    if (xcv_riscv_plic_take() == 0u)
        return false;
    irq_count++;
    return true;
}

uint64_t mmio_irq_count(void)
{
    return irq_count;
}
