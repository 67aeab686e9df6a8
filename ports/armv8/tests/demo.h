/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two-compartment demo platform on QEMU virt (hard-coded configuration; a device tree
 * would carry the same values).
 *
 *   0x40000000  2 MiB   DTB placed by QEMU (not mapped by either compartment)
 *   0x40200000  30 MiB  device compartment image (CPU0, loaded with -kernel)
 *   0x42000000  32 MiB  driver compartment image (CPU1, -device loader, started by PSCI)
 *   0x44000000  2 MiB   shared: channel window (1 MiB) + test mailbox at +1 MiB
 */
#ifndef XCV_ARMV8_DEMO_H
#define XCV_ARMV8_DEMO_H

#include <stdatomic.h>
#include <stdint.h>

#include "xcvirtio/port_armv8.h"

/** The compartments' configuration. */
struct demo_config {
    uint64_t shared_base; /* mapped by both images */
    uint64_t shared_size;
    uint64_t window_base; /* the channel window (local = physical = bus) */
    uint64_t window_size;
    uint64_t mailbox;       /* test results, outside the channel window */
    uint64_t device_mpidr;  /* CPU of the device compartment */
    uint64_t driver_mpidr;  /* CPU of the driver compartment */
    uint64_t driver_entry;  /* entry of the driver image (its linker script's RAM base) */
    uint32_t sgi_to_device; /* doorbell the driver rings on the device's CPU */
    uint32_t sgi_to_driver; /* doorbell the device rings on the driver's CPU */
};

static const struct demo_config demo_cfg = {
    .shared_base = 0x44000000u,
    .shared_size = 0x200000u,
    .window_base = 0x44000000u,
    .window_size = 0x100000u,
    .mailbox = 0x44100000u,
    .device_mpidr = 0x0u,
    .driver_mpidr = 0x1u,
    .driver_entry = 0x42000000u,
    .sgi_to_device = 1u,
    .sgi_to_driver = 2u,
};

#define DEMO_MAGIC 0x58435644u /* driver is up */

/* The demo echo device: queue 0 copies what the driver wrote into what it may read back. */
#define DEMO_ECHO_DEVICE_ID 0x7ecu
#define DEMO_ECHO_QUEUE_SIZE 64u
#define DEMO_ECHO_CONFIG_MAGIC 0x4f484345u /* "ECHO" */
#define DEMO_QUEUE_AREA_SIZE 0x40000u      /* 256 KiB of the window for rings */
#define DEMO_CHANNEL_TIMEOUT_NS 1000000000u

#ifdef DEMO_NONCOHERENT
#define DEMO_COHERENT_WINDOW 0
#else
#define DEMO_COHERENT_WINDOW 1
#endif

/*
 * Test mailbox. Each cache line has one writer: line 0 the driver, line 1 the device. Fields
 * are accessed with C11 atomics (release when publishing, acquire when reading).
 */
struct demo_mailbox {
    /* line 0: written by the driver compartment */
    _Atomic uint32_t drv_magic;  /* DEMO_MAGIC once it runs */
    _Atomic uint32_t drv_done;   /* 1 once drv_result is final (release) */
    _Atomic int32_t drv_result;  /* 0 = success, else the failing step (negative) */
    _Atomic uint32_t drv_rounds; /* rounds / requests completed */
    _Atomic uint32_t drv_echo;   /* ping-pong: last sequence echoed (release) */
    uint32_t drv_pad[11];
    /* line 1: written by the device compartment */
    _Atomic uint32_t dev_seq; /* ping-pong: sequence sent (release) */
    uint32_t dev_pad[15];
};

static inline struct demo_mailbox *demo_mailbox(void)
{
    return (struct demo_mailbox *)(uintptr_t)demo_cfg.mailbox;
}

/* MMU (own RAM + shared region + devices) and GIC; the device compartment owns the distributor. */
int demo_platform_init(int device_side, const char *tag);
/* Device compartment: start the driver compartment's CPU. */
int demo_start_driver(void);
/* Driver compartment: publish the final result and ring the device; never returns. */
_Noreturn void demo_driver_finish(int32_t result, uint32_t rounds);
/* Device compartment: wait (bounded) until the driver published its result. */
int demo_wait_driver_done(uint64_t timeout_ns);
/* Print "tag: text value\n". */
void demo_say(const char *text, int64_t value);

#endif /* XCV_ARMV8_DEMO_H */
