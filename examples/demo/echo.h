/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The echo demo device, both roles, over the Linux port.
 *
 * Device: one request queue. Each chain is [device-readable request][device-writable
 * response]; the device writes every request byte XOR ECHO_XOR into the response and reports
 * the response length. Driver: requests built in place in pool buffers (the first half of a
 * buffer is the request, the second half the response), every response byte checked.
 *
 * Used by the two-process demo (xcv_demo) and by the two-process tests in test/channel.
 */
#ifndef XCV_DEMO_ECHO_H
#define XCV_DEMO_ECHO_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/port_linux.h"
#include "xcvirtio/xcvirtio.h"

/** Device id of the echo device (not an allocated virtio id: a demo device). */
#define ECHO_DEVICE_ID 0x0ec0u
/** The transform: response byte = request byte ^ ECHO_XOR. */
#define ECHO_XOR 0xa5u
/** Largest queue the echo device offers and the client asks for. */
#define ECHO_QUEUE_MAX 256u
/** Budget of chains per service call. */
#define ECHO_BUDGET 64u

/** Counters of one device process (may live in memory shared with a test harness). */
struct echo_dev_stats {
    uint64_t served;      /* chains answered */
    uint64_t malformed;   /* chains not shaped [readable][writable] (answered with 0 bytes) */
    uint32_t resets;      /* ops->reset calls (driver reset or driver restart) */
    uint32_t peer_resets; /* driver restarts seen by xcv_channel_poll */
    uint32_t accepts;     /* driver connections accepted */
    int32_t last_error;   /* last error that stopped the loop, or 0 */
};

/** The device side. */
struct echo_dev {
    struct xcv_vdev vdev;
    struct xcv_vdev_queue queue[1];
    struct xcv_vq_dev_slot slots[ECHO_QUEUE_MAX];
    struct xcv_iov iov[4];
    struct xcv_chain chain;
    bool poll_mode; /* busy-poll: notifications from the driver disabled */
    bool more;      /* the last service call ran out of budget */
    struct echo_dev_stats *stats;
};

/** Register the echo device on a device-role channel; @p stats receives the counters. */
int echo_dev_register(struct echo_dev *e, struct xcv_channel *ch, bool poll_mode,
                      struct echo_dev_stats *stats);

/** Serve up to @p budget chains. Returns chains served or a negative error. */
int echo_dev_service(struct echo_dev *e, unsigned budget);

/** Options of echo_serve(). */
struct echo_serve_opts {
    bool exit_on_hangup;         /* return 0 when the driver's connection closes */
    bool accept_new;             /* accept new driver connections (a restarted driver) */
    uint64_t max_ns;             /* bound on the whole loop (0 = none) */
    volatile sig_atomic_t *stop; /* optional: return 0 once it is set */
    void (*tick)(void *ctx);     /* optional: called after every pass (other devices' work) */
    void *tick_ctx;              /* passed to tick */
};

/**
 * The device process's main loop: doorbells through the link's event fd (event mode) or busy
 * polling, driver restarts, new connections. Returns 0 or the error that stopped it.
 */
int echo_serve(struct xcv_linux_link *l, struct xcv_channel *ch, struct echo_dev *e,
               const struct echo_serve_opts *o);

/** The driver side: one echo device, one queue, a pool over the channel's pool area. */
struct echo_client {
    struct xcv_channel *ch;
    struct xcv_linux_link *link;
    struct xcv_vdrv drv;
    struct xcv_vdrv_queue queue[1];
    struct xcv_vq_drv_slot slots[ECHO_QUEUE_MAX];
    struct xcv_vq_driver *q;
    struct xcv_pool pool;
    uint32_t *free_list;
    uint64_t *seq_of; /* private: the sequence number posted in each buffer */
    uint8_t *base;    /* local address of the pool area */
    uint32_t size;    /* request bytes (and response bytes) */
    uint32_t pool_count;
    bool poll_mode;
    uint64_t next_seq;
    uint64_t posted, completed, bad, cancelled, cancelled_peer;
    uint64_t kicks; /* doorbells actually rung */
    unsigned idle;  /* poll mode: empty polls since the last completion */
};

/**
 * Set up the client on an attached driver channel: pool over the pool area with buffers of
 * 2 * @p size bytes (rounded to 64), then open the echo device with a queue of @p qsize.
 */
int echo_client_init(struct echo_client *c, struct xcv_channel *ch, struct xcv_linux_link *l,
                     uint32_t size, uint16_t qsize, bool poll_mode);
/** Open (or reopen after a reset) the echo device. */
int echo_client_open(struct echo_client *c);
/** Post up to @p n requests (bounded by free descriptors and buffers), publish, kick. */
int echo_client_post(struct echo_client *c, unsigned n);
/** Take back every used request and check it. Returns the number taken or an error. */
int echo_client_reap(struct echo_client *c);
/** Requests posted and not yet returned. */
unsigned echo_client_in_flight(const struct echo_client *c);
/**
 * Wait for completions: in event mode arm the used notification and block on the link's
 * event fd (then xcv_channel_poll); in poll mode poll the channel once. Bounded by
 * @p timeout_ms. Returns 0, or an error from xcv_channel_poll (e.g. ::XCV_EPEERRESET).
 */
int echo_client_wait(struct echo_client *c, int timeout_ms);
/** Release the client's private memory (the channel and link stay). */
void echo_client_fini(struct echo_client *c);

/** Monotonic clock, ns. */
uint64_t echo_now_ns(void);

#endif /* XCV_DEMO_ECHO_H */
