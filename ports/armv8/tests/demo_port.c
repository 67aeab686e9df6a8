/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ARMv8 hooks of the shared two-compartment programs: MMU and GIC, the port (SGIs to the
 * peer's CPU), PSCI CPU_ON for the driver's CPU, the PL011.
 */
#include "demo.h"

static struct xcv_armv8_port hw_port;

int xcv_armv8_main(uint64_t boot_arg)
{
    return demo_main(boot_arg);
}

void demo_hw_puts(const char *s)
{
    xcv_armv8_puts(s);
}

int demo_hw_init(bool device_side)
{
    const struct xcv_armv8_region shared = {DEMO_SHARED_BASE, DEMO_SHARED_SIZE};
    if (xcv_armv8_mmu_init(&shared, 1) != 0)
        return -1;
    /* The device compartment boots first and owns the GIC distributor. */
    return xcv_armv8_gic_init(device_side);
}

void demo_hw_port(struct xcv_port *port, bool device_side, bool noncoherent, const char *tag)
{
    xcv_armv8_port_init(&hw_port, port, device_side ? DEMO_DRIVER_MPIDR : DEMO_DEVICE_MPIDR,
                        noncoherent, tag);
}

int demo_hw_start_driver(void)
{
    /* The driver's x0 is the mailbox address (it uses the fixed configuration instead). */
    int64_t r = xcv_armv8_psci_cpu_on(DEMO_DRIVER_MPIDR, DEMO_DRIVER_ENTRY, DEMO_MAILBOX);
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
