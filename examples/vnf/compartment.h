/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two-compartment plumbing of the network examples (xcv_vnf, xcv_net_bench) over the Linux
 * port: the device side listens, formats the channel and serves; the driver side attaches and
 * carves a buffer pool out of the channel's pool area. Event mode sleeps on the eventfd
 * doorbells, poll mode busy-polls. Every wait is bounded.
 */
#ifndef XCV_EXAMPLES_VNF_COMPARTMENT_H
#define XCV_EXAMPLES_VNF_COMPARTMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "xcvirtio/port_linux.h"
#include "xcvirtio/xcvirtio.h"

/** Window and queue area of the examples' channel. */
#define CPT_WINDOW (8u << 20)
#define CPT_QAREA (512u << 10)

/** Monotonic clock, ns. */
uint64_t cpt_now_ns(void);

/** The device compartment: link, port, channel (device role). */
struct cpt_device {
    struct xcv_linux_link l;
    struct xcv_port port;
    struct xcv_channel ch;
    bool poll_mode;
    unsigned spins;
};

/** Listen on @p sock and format the channel; register devices on @c ch afterwards. */
int cpt_device_listen(struct cpt_device *d, const char *sock, bool poll_mode);
/** Wait (bounded) for the driver compartment to connect. */
int cpt_device_accept(struct cpt_device *d, int timeout_ms);
/**
 * One pass of the device loop: unless @p busy, sleep until a doorbell (event mode, at most
 * @p idle_ms); notice a hangup; then poll the channel (kicks reach the device models).
 * Returns 1 when the driver compartment hung up, 0, or a negative error.
 */
int cpt_device_pass(struct cpt_device *d, bool busy, int idle_ms);
/** Leave the channel and close the link. */
void cpt_device_close(struct cpt_device *d);

/** The driver compartment: link, port, channel (driver role) and one pool. */
struct cpt_driver {
    struct xcv_linux_link l;
    struct xcv_port port;
    struct xcv_channel ch;
    struct xcv_pool pool;
    uint32_t *free_list;
    uint32_t pool_count;
    bool poll_mode;
};

/** Connect to @p sock, attach the channel, make a pool of @p buf_size buffers. */
int cpt_driver_attach(struct cpt_driver *d, const char *sock, uint32_t buf_size);
/**
 * Let the device work: in event mode arm the used notification of each queue in @p arm and
 * sleep on the doorbell (at most @p timeout_ms) unless one already has work; in poll mode yield
 * now and then. Then poll the channel. Returns 0 or a negative error.
 */
int cpt_driver_wait(struct cpt_driver *d, struct xcv_vq_driver *const *arm, unsigned n_arm,
                    int timeout_ms);
/** Leave the channel, close the link (the device compartment sees the hangup). */
void cpt_driver_close(struct cpt_driver *d);

/** Fork the device compartment: it runs fn(arg) and exits with its result (alarm-bounded). */
pid_t cpt_fork(int (*fn)(void *), void *arg, unsigned alarm_s);
/** Wait for a child, bounded; kill it when it overstays. Returns its exit status or -1. */
int cpt_reap(pid_t pid, int timeout_ms);

#endif /* XCV_EXAMPLES_VNF_COMPARTMENT_H */
