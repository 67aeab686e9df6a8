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
 */
#include "demo.h"

static struct xcv_riscv_port hw_port;
static uint64_t entry_arg;
static uint32_t driver_hart = DEMO_DRIVER_HART_MMODE;

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

int demo_hw_init(bool device_side)
{
    const struct xcv_riscv_region shared = {DEMO_SHARED_BASE, DEMO_SHARED_SIZE};
    if (device_side && xcv_riscv_smode()) {
        int h = find_stopped_hart();
        if (h < 0) {
            demo_say("no stopped hart for the driver compartment", h);
            return -1;
        }
        driver_hart = (uint32_t)h;
    }
    if (xcv_riscv_protect(&shared, 1) != 0)
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
    int64_t r = xcv_riscv_hart_start(driver_hart, DEMO_DRIVER_ENTRY, xcv_riscv_hart_id());
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
