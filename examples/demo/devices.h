/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The demo's standard devices next to the echo device, on the same channel:
 *
 *   device 1  virtio-console: what the driver writes is printed by the device process as
 *             "[device console] <line>"; for every line the device feeds one line back.
 *   device 2  virtio-rng: entropy from the kernel (getrandom, the Linux port's backend).
 *
 * Device side: demo_devs_register() after the echo device, then demo_devs_tick() from the
 * serve loop (echo_serve_opts::tick). Driver side: demo_devs_drive() after the echo phases.
 */
#ifndef XCV_DEMO_DEVICES_H
#define XCV_DEMO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/port_linux.h"
#include "xcvirtio/xcvirtio.h"

/** Device numbers on the demo channel (the echo device is 0). */
#define DEMO_CONSOLE_DEV 1u
#define DEMO_RNG_DEV 2u
/** Entropy bytes the driver reads. */
#define DEMO_RNG_BYTES 64u
/** Longest console line kept (longer lines are cut). */
#define DEMO_LINE_MAX 200u

/** Device side: the two models and the console's line state. */
struct demo_devs {
    struct xcv_console_dev con;
    struct xcv_rng_dev rng;
    char line[DEMO_LINE_MAX + 1u]; /* the line being received */
    uint32_t line_len;
    char reply[DEMO_LINE_MAX + 64u]; /* the line to feed back */
    uint32_t reply_len, reply_sent;
    uint64_t lines; /* lines received */
};

/** Register the console and the rng on a device-role channel (after the echo device). */
int demo_devs_register(struct demo_devs *d, struct xcv_channel *ch);
/** Serve-loop hook: feed a pending reply line, run models that stopped on their budget. */
void demo_devs_tick(void *ctx);
/** Print the device side's counters (one line). */
void demo_devs_print(const struct demo_devs *d);

/** Driver side results, printed in the demo's summary. */
struct demo_devs_report {
    uint8_t entropy[DEMO_RNG_BYTES];
    bool entropy_ok; /* read, and not all zero */
    char sent[DEMO_LINE_MAX + 1u];
    char got[DEMO_LINE_MAX + 1u];
    bool console_ok; /* the line went out and a whole line came back */
    int err;         /* first error, or 0 */
};

/**
 * Driver side: open the rng (device 2) and read DEMO_RNG_BYTES; open the console (device 1),
 * write a line, read the device's line back. Buffers come from @p pool (shared with the echo
 * client). Bounded in time. Returns the number of failed checks (0 = all fine).
 */
int demo_devs_drive(struct xcv_channel *ch, struct xcv_linux_link *l, struct xcv_pool *pool,
                    bool poll_mode, struct demo_devs_report *rep);
/** Print the driver side's results (indented lines of the summary). */
void demo_devs_report_print(const struct demo_devs_report *rep);

#endif /* XCV_DEMO_DEVICES_H */
