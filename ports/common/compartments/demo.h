/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two-compartment test programs shared by the bare-metal ports (ports/armv8, ports/riscv):
 * a device compartment and a driver compartment, each its own image on its own CPU, sharing
 * one memory region (the channel window and a test mailbox) and one doorbell each way.
 *
 *   pingpong_dev.c / pingpong_drv.c   doorbell round trips through the port's notify and wait
 *   echo_dev.c / echo_drv.c           channel, echo device, requests checked byte for byte;
 *                                     with DEMO_HOSTILE_DRIVER / DEMO_EXPECT_HOSTILE the driver
 *                                     attacks and the device must report and survive
 *   devices_dev.c / devices_drv.c     virtio-blk on a RAM disk and virtio-net through the
 *                                     platform's virtio-mmio NIC (polled), over the channel
 *
 * The programs use only the library's public API, the xcv_port a port provides and the hooks
 * below. Each port supplies (in its tests folder, which is on the include path):
 *
 *   demo_port.h  its memory map (DEMO_SHARED_BASE, DEMO_SHARED_SIZE, DEMO_WINDOW_BASE,
 *                DEMO_WINDOW_SIZE, DEMO_MAILBOX) and its doorbell numbers
 *                (DEMO_DOORBELL_TO_DEVICE, DEMO_DOORBELL_TO_DRIVER)
 *   demo_port.c  the demo_hw_* hooks, and its entry point calling demo_main()
 *
 * Images built with DEMO_USE_DTB also compile demo_dtb.c: the port's demo_hw_init() hands it
 * the compartment's device tree, and the channel (window, doorbells, role) comes from there.
 *
 * Only what is truly platform-specific lives there: memory protection, interrupt controller,
 * how the second CPU is started, the console, reaching the virtio-mmio transports. The
 * device-traffic images also link the port's tests/mmio_common.c (finding the NIC). Doorbells,
 * clock and sleeping come through the port's xcv_port.
 */
#ifndef XCV_DEMO_H
#define XCV_DEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/port.h"
#ifdef DEMO_USE_DTB
#include "xcvirtio/fdt.h"
#endif

#include "demo_port.h"

/*
 * The compartments' configuration. Images built with DEMO_USE_DTB take the channel part
 * (window, doorbells, ring geometry, timeout) from the channel node of their own device tree
 * (demo_dtb.c, through the xcvirtio,channel binding); the others, and ports without a device
 * tree, use the values of demo_port.h. The shared region and the mailbox are always those of
 * demo_port.h (test plumbing, not part of the channel).
 */
struct demo_config {
    uint64_t shared_base; /* mapped by both images */
    uint64_t shared_size;
    uint64_t window_base; /* the channel window (local = physical = bus) */
    uint64_t window_size;
    uint64_t mailbox;            /* test results, outside the channel window */
    uint32_t doorbell_to_device; /* doorbell number the driver rings */
    uint32_t doorbell_to_driver; /* doorbell number the device rings */
};

/* Filled with the demo_port.h values; demo_dtb_load() overwrites the channel part. */
extern struct demo_config demo_cfg;

/* Exit status of a device compartment whose configuration was refused (bad device tree). */
#define DEMO_EXIT_BAD_CONFIG 10
/* demo_hw_init() result for a refused configuration (the other failures are -1). */
#define DEMO_ERR_CONFIG (-2)

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

/* ---- hooks: implemented by each port (ports/<port>/tests/demo_port.c) ------------------------ */

/* Text on the console. */
void demo_hw_puts(const char *s);
/* Memory protection (own RAM, the shared region, the devices) and interrupts of this CPU; the
 * device compartment also owns what the two share (e.g. a GIC distributor). 0 or -1. */
int demo_hw_init(bool device_side);
/* Before demo_hw_init(): let this compartment reach the platform's virtio-mmio transports
 * (the device-traffic test drives the NIC there, polled). 0 or -1. */
int demo_hw_map_devices(void);
/* Fill @port with the platform's port for this compartment: its doorbells go to the peer. */
void demo_hw_port(struct xcv_port *port, bool device_side, bool noncoherent, const char *tag);
/* Device compartment: start the driver compartment's CPU at its image's entry. 0 or -1. */
int demo_hw_start_driver(void);
/* Doorbells this CPU has received so far. */
uint64_t demo_hw_doorbells_received(void);
/* Stop this CPU for good. */
_Noreturn void demo_hw_park(void);

/* The program: each test image defines it; the port's entry point calls it. Its return value
 * is the exit status (0 = pass). */
int demo_main(uint64_t boot_arg);

/* ---- shared helpers (demo.c) ----------------------------------------------------------------- */

#define DEMO_LOG_KEEP 8u

/*
 * The port handed to the library: it forwards every operation to the platform's port and
 * records what the tests check (doorbells rung, diagnostics logged).
 */
struct demo_port {
    struct xcv_port port; /* give this one to the library */
    struct xcv_port hw;   /* the platform's port (demo_hw_port) */
    uint64_t notifies;
    uint32_t n_logged;
    int logged_err[DEMO_LOG_KEEP];
};

/* Set the log tag, then demo_hw_init(); returns its result (0, -1 or DEMO_ERR_CONFIG). */
int demo_platform_init(bool device_side, const char *tag);
/* The channel configuration of this compartment (role by @device_side) for @port: from the
 * device tree in DEMO_USE_DTB images, else from demo_cfg. XCV_OK or an XCV_E* code. */
int demo_channel_config(struct xcv_channel_config *cfg, bool device_side,
                        const struct xcv_port *port);

#ifdef DEMO_USE_DTB
/*
 * Parse the blob at @dtb (@size bytes readable) with the xcvirtio,channel binding: check it
 * whole, find the channel node of this compartment's role, validate it, and copy its window
 * and doorbells into demo_cfg. The port's demo_hw_init() calls it with the MMU on and checks
 * the window against its memory map before mapping it. XCV_OK or XCV_EINVAL (with a message).
 */
int demo_dtb_load(const void *dtb, size_t size, bool device_side);
/* The channel node demo_dtb_load() took (its devices: device@N children), or NULL. */
const struct xcv_fdt_channel *demo_dtb_channel(void);
#endif
/* Fill @p and make it the port the helpers below use. */
void demo_port_init(struct demo_port *p, bool device_side, bool noncoherent, const char *tag);
/* Whether @err was logged through the port. */
bool demo_port_logged(const struct demo_port *p, int err);
/* The port's clock (demo_port_init() first). */
uint64_t demo_now_ns(void);
/* Cache maintenance on data buffers through the port (no-ops on a coherent port). */
void demo_cache_clean(const void *addr, size_t len);
void demo_cache_invalidate(const void *addr, size_t len);

/* Device compartment: clear the mailbox, start the driver compartment. */
int demo_start_driver(void);
/* Driver compartment: publish the final result and ring the device; never returns. */
_Noreturn void demo_driver_finish(int32_t result, uint32_t rounds);
/* Device compartment: wait (bounded) until the driver published its result. */
int demo_wait_driver_done(uint64_t timeout_ns);

/* Text: a string; "tag: text value\n". */
void demo_puts(const char *s);
void demo_put_int(int64_t v);
void demo_say(const char *text, int64_t value);

#endif /* XCV_DEMO_H */
