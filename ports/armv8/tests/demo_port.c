/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ARMv8 hooks of the shared two-compartment programs: MMU and GIC, the port (SGIs to the
 * peer's CPU), PSCI CPU_ON for the driver's CPU, the PL011.
 */
#include "demo.h"

static struct xcv_armv8_port hw_port;
static uint64_t boot_x0;

int xcv_armv8_main(uint64_t boot_arg)
{
    boot_x0 = boot_arg;
    return demo_main(boot_arg);
}

void demo_hw_puts(const char *s)
{
    xcv_armv8_puts(s);
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

/* Read this compartment's DTB (mapped, read from cacheable memory), check the window against
 * the memory map, map it. */
static int config_from_dtb(bool device_side)
{
    uint64_t dtb = device_side ? DEMO_DEVICE_DTB : boot_x0;
    if (dtb < DEMO_DTB_BLOCK || dtb >= DEMO_DTB_BLOCK + DEMO_DTB_BLOCK_SIZE) {
        demo_puts("dtb: no device tree address for this compartment: refused\n");
        return DEMO_ERR_CONFIG;
    }
    size_t avail = (size_t)(DEMO_DTB_BLOCK + DEMO_DTB_BLOCK_SIZE - dtb);
    if (demo_dtb_load((const void *)(uintptr_t)dtb, avail, device_side) != 0)
        return DEMO_ERR_CONFIG;
    if (!window_allowed(demo_cfg.window_base, demo_cfg.window_size)) {
        demo_puts("dtb: channel window outside the shared window area [");
        xcv_armv8_put_hex(DEMO_WINDOW_AREA_BASE);
        demo_puts(", ");
        xcv_armv8_put_hex(DEMO_WINDOW_AREA_END);
        demo_puts(") or over the mailbox: refused\n");
        return DEMO_ERR_CONFIG;
    }
    return xcv_armv8_mmu_map_shared(demo_cfg.window_base, demo_cfg.window_size) == 0 ? 0 : -1;
}
#endif

int demo_hw_init(bool device_side)
{
#ifdef DEMO_USE_DTB
    const struct xcv_armv8_region regions[2] = {{DEMO_SHARED_BASE, DEMO_SHARED_SIZE},
                                                {DEMO_DTB_BLOCK, DEMO_DTB_BLOCK_SIZE}};
    if (xcv_armv8_mmu_init(regions, 2) != 0)
        return -1;
    int r = config_from_dtb(device_side);
    if (r != 0)
        return r;
#else
    const struct xcv_armv8_region shared = {DEMO_SHARED_BASE, DEMO_SHARED_SIZE};
    if (xcv_armv8_mmu_init(&shared, 1) != 0)
        return -1;
#endif
    /* The device compartment boots first and owns the GIC distributor. */
    return xcv_armv8_gic_init(device_side);
}

int demo_hw_map_devices(void)
{
    /* The virtio-mmio transports join the identity map the platform init builds. */
    return xcv_armv8_mmu_map_device(XCV_ARMV8_VIRTIO_MMIO_BASE, 0x200000u) == 0 ? 0 : -1;
}

void demo_hw_port(struct xcv_port *port, bool device_side, bool noncoherent, const char *tag)
{
    xcv_armv8_port_init(&hw_port, port, device_side ? DEMO_DRIVER_MPIDR : DEMO_DEVICE_MPIDR,
                        noncoherent, tag);
}

int demo_hw_start_driver(void)
{
#ifdef DEMO_USE_DTB
    /* The driver's x0 is the address of its device tree. */
    int64_t r = xcv_armv8_psci_cpu_on(DEMO_DRIVER_MPIDR, DEMO_DRIVER_ENTRY, DEMO_DRIVER_DTB);
#else
    /* The driver's x0 is the mailbox address (it uses the fixed configuration instead). */
    int64_t r = xcv_armv8_psci_cpu_on(DEMO_DRIVER_MPIDR, DEMO_DRIVER_ENTRY, DEMO_MAILBOX);
#endif
    if (r != 0) {
        demo_say("PSCI CPU_ON failed", r);
        return -1;
    }
    return 0;
}

uint64_t demo_hw_doorbells_received(void)
{
    return xcv_armv8_doorbell_count();
}

_Noreturn void demo_hw_park(void)
{
    xcv_armv8_park();
}
