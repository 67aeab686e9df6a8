/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RISC-V hooks of the shared two-compartment programs: PMP (M-mode) or Sv39 (S-mode), the
 * port (software interrupts to the peer hart), starting the driver's hart, the UART.
 *
 * Which hart is the peer: the device compartment runs on the hart that booted its image (hart
 * 0 in M-mode; whichever hart OpenSBI chose in S-mode) and starts the driver compartment on
 * the other one (M-mode: hart 1, parked in the device image's start code; S-mode: the first
 * hart SBI HSM reports stopped), passing its own hart id as the argument. The driver reads its
 * peer from that argument (a1 at entry).
 *
 * Images built with DEMO_USE_DTB read the channel from their device trees before the memory
 * protection is set up: the device compartment's tree is the a1 of its entry (QEMU's -dtb, or
 * the tree OpenSBI passes on), the driver compartment's is the a1 the device starts it with
 * (DEMO_DRIVER_DTB). The window the tree names must lie in the window area; it then joins the
 * PMP plan (or the Sv39 map) with the shared region and the DTB area.
 */
#include "demo.h"

static struct xcv_riscv_port hw_port;
static uint64_t entry_arg;
static uint32_t driver_hart = DEMO_DRIVER_HART_MMODE;
static bool map_devices;

int demo_hw_map_devices(void)
{
    map_devices = true; /* demo_hw_init() adds the transports to the protection plan */
    return 0;
}

int xcv_riscv_main(uint64_t boot_arg)
{
    entry_arg = boot_arg;
    return demo_main(boot_arg);
}

void demo_hw_puts(const char *s)
{
    xcv_riscv_puts(s);
}

/* S-mode: the first hart other than this one that the SBI reports stopped (HSM state 1). */
static int find_stopped_hart(void)
{
    uint32_t self = xcv_riscv_hart_id();
    for (uint32_t h = 0; h < XCV_RISCV_MAX_HARTS; h++) {
        if (h != self && xcv_riscv_hart_status(h) == 1)
            return (int)h;
    }
    return -1;
}

#ifdef DEMO_USE_DTB
/* A window from the device tree must lie in the shared window area, clear of the mailbox. */
static bool window_allowed(uint64_t base, uint64_t size)
{
    const uint64_t mb = DEMO_MAILBOX;
    if (size == 0u || base + size < base)
        return false;
    if (base < DEMO_WINDOW_AREA_BASE || base + size > DEMO_WINDOW_AREA_END)
        return false;
    return base + size <= mb || base >= mb + DEMO_MAILBOX_SIZE;
}

/* Read this compartment's DTB (memory is not yet confined), check the window against the
 * memory map. */
static int config_from_dtb(bool device_side)
{
    uint64_t dtb = device_side ? entry_arg : DEMO_DRIVER_DTB;
    if (!device_side && entry_arg != DEMO_DRIVER_DTB) {
        demo_puts("dtb: started without the address of its device tree: refused\n");
        return DEMO_ERR_CONFIG;
    }
    if (dtb < DEMO_DTB_AREA || dtb >= DEMO_DTB_AREA + DEMO_DTB_AREA_SIZE) {
        demo_puts("dtb: no device tree address for this compartment: refused\n");
        return DEMO_ERR_CONFIG;
    }
    size_t avail = (size_t)(DEMO_DTB_AREA + DEMO_DTB_AREA_SIZE - dtb);
    if (demo_dtb_load((const void *)(uintptr_t)dtb, avail, device_side) != 0)
        return DEMO_ERR_CONFIG;
    if (!window_allowed(demo_cfg.window_base, demo_cfg.window_size)) {
        demo_puts("dtb: channel window outside the shared window area [");
        xcv_riscv_put_hex(DEMO_WINDOW_AREA_BASE);
        demo_puts(", ");
        xcv_riscv_put_hex(DEMO_WINDOW_AREA_END);
        demo_puts(") or over the mailbox: refused\n");
        return DEMO_ERR_CONFIG;
    }
    return 0;
}
#endif

int demo_hw_init(bool device_side)
{
    struct xcv_riscv_region regions[4] = {{DEMO_SHARED_BASE, DEMO_SHARED_SIZE}};
    unsigned n = 1;
#ifdef DEMO_USE_DTB
    int cr = config_from_dtb(device_side);
    if (cr != 0)
        return cr;
    regions[n++] = (struct xcv_riscv_region){DEMO_DTB_AREA, DEMO_DTB_AREA_SIZE};
    if (demo_cfg.window_base < DEMO_SHARED_BASE ||
        demo_cfg.window_base + demo_cfg.window_size > DEMO_SHARED_BASE + DEMO_SHARED_SIZE)
        regions[n++] = (struct xcv_riscv_region){demo_cfg.window_base, demo_cfg.window_size};
#endif
    if (map_devices) {
        const uint64_t mmio_size =
            (uint64_t)XCV_RISCV_VIRTIO_MMIO_COUNT * XCV_RISCV_VIRTIO_MMIO_STRIDE;
        regions[n++] = (struct xcv_riscv_region){XCV_RISCV_VIRTIO_MMIO_BASE, mmio_size};
    }
    if (device_side && xcv_riscv_smode()) {
        int h = find_stopped_hart();
        if (h < 0) {
            demo_say("no stopped hart for the driver compartment", h);
            return -1;
        }
        driver_hart = (uint32_t)h;
    }
    if (xcv_riscv_protect(regions, n) != 0)
        return -1;
    xcv_riscv_irq_init();
    return 0;
}

/*
 * Driver compartment: the device's hart is the argument it was started with. OpenSBI 1.1 can
 * hand a started hart the previous a1 (its hart_start marks the hart START_PENDING before it
 * stores the argument); then the device is the other hart SBI HSM reports started.
 */
static uint32_t device_hart(void)
{
    uint32_t self = xcv_riscv_hart_id();
    if (entry_arg < XCV_RISCV_MAX_HARTS && entry_arg != self)
        return (uint32_t)entry_arg;
    if (!xcv_riscv_smode()) /* started with its DTB's address: the device is on hart 0 */
        return DEMO_DEVICE_HART_MMODE;
    for (uint32_t h = 0; xcv_riscv_smode() && h < XCV_RISCV_MAX_HARTS; h++) {
        if (h != self && xcv_riscv_hart_status(h) == 0)
            return h;
    }
    demo_say("cannot tell the device compartment's hart, a1", (int64_t)entry_arg);
    return self;
}

void demo_hw_port(struct xcv_port *port, bool device_side, bool noncoherent, const char *tag)
{
    (void)noncoherent; /* the harts are coherent: no cache operations */
    xcv_riscv_port_init(&hw_port, port, device_side ? driver_hart : device_hart(), tag);
}

int demo_hw_start_driver(void)
{
    demo_say("device compartment on hart", xcv_riscv_hart_id());
    demo_say("starting the driver compartment on hart", driver_hart);
#ifdef DEMO_USE_DTB
    /* The driver's a1 is the address of its device tree. */
    int64_t r = xcv_riscv_hart_start(driver_hart, DEMO_DRIVER_ENTRY, DEMO_DRIVER_DTB);
#else
    int64_t r = xcv_riscv_hart_start(driver_hart, DEMO_DRIVER_ENTRY, xcv_riscv_hart_id());
#endif
    if (r != 0) {
        demo_say("hart start failed", r);
        return -1;
    }
    return 0;
}

uint64_t demo_hw_doorbells_received(void)
{
    return xcv_riscv_doorbell_count();
}

_Noreturn void demo_hw_park(void)
{
    xcv_riscv_park();
}
