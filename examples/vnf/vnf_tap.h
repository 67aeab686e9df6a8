/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VNF example's --tap mode (device compartment): net device 0 and 1 bridged to the TAP
 * interfaces xcv-vnf-in and xcv-vnf-out (the Linux port's TAP backend), and the traffic
 * generator and sink moved behind the kernel: the generator transmits on xcv-vnf-in with a
 * packet socket (the kernel hands the frames to the TAP, the TAP backend to the VNF), the sink
 * receives on xcv-vnf-out with another (the VNF's frames, written to the TAP, arrive there as
 * received frames). IPv6 is switched off on both interfaces to keep the kernel quiet.
 */
#ifndef XCV_EXAMPLES_VNF_TAP_H
#define XCV_EXAMPLES_VNF_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/linux_backends.h"

#define VNF_TAP_IN "xcv-vnf-in"
#define VNF_TAP_OUT "xcv-vnf-out"

struct vnf_tap {
    struct xcv_linux_tap in, out;
    int tx_sock; /* packet socket on xcv-vnf-in (generator) */
    int rx_sock; /* packet socket on xcv-vnf-out (sink) */
    bool open;
};

/** True when /dev/net/tun can be opened (CAP_NET_ADMIN is checked by vnf_tap_open). */
bool vnf_tap_available(void);
/** Create both interfaces and both packet sockets. Returns XCV_OK or XCV_EPORT (errno set). */
int vnf_tap_open(struct vnf_tap *t);
/** Generator: transmit one frame on xcv-vnf-in. XCV_OK, XCV_EAGAIN (queue full) or XCV_EPORT. */
int vnf_tap_send(struct vnf_tap *t, const uint8_t *f, uint32_t len);
/** Sink: one frame received on xcv-vnf-out (frames the kernel sends there are skipped).
 *  XCV_OK, XCV_EAGAIN (none now) or XCV_EPORT. */
int vnf_tap_recv(struct vnf_tap *t, uint8_t *f, uint32_t cap, uint32_t *len);
/** Close everything (the interfaces disappear). Idempotent; a zeroed object is fine. */
void vnf_tap_close(struct vnf_tap *t);

#endif /* XCV_EXAMPLES_VNF_TAP_H */
