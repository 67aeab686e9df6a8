/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loopback: both virtqueue roles in one process, over one shared window.
 *
 * In a real system the driver role and the device role run in two compartments that share
 * nothing but a memory window and a doorbell. Here both live in one program, so every step of
 * the protocol can be followed in order:
 *
 *   1. Describe the window and place a split ring at its start (driver side).
 *   2. Initialise the driver queue over that ring, and the device queue over the same ring
 *      from the bus addresses the driver announced (in a real system they travel over the
 *      control plane).
 *   3. The driver builds 8 requests in the window's data area. Each request is one chain of
 *      three buffers: a device-readable header, a device-readable payload and a
 *      device-writable response buffer. It adds all of them, then publishes once and asks
 *      whether the device needs a doorbell (kick_prepare).
 *   4. The device pops each validated chain, reads the request, writes the payload back in
 *      upper case into the response buffer and pushes the chain with the number of bytes it
 *      wrote; then it publishes once and asks whether the driver needs a doorbell.
 *   5. The driver takes the used chains back with their lengths and checks each response.
 *
 * The program exits 0 only when every response came back once and checked out.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#define QUEUE_SIZE 32u         /* entries in the ring: a power of two (8 chains of 3 fit) */
#define LINE 64u               /* cache line size used for the layout */
#define NREQ 8u                /* requests to send */
#define PAYLOAD_MAX 64u        /* bytes of payload and of response buffer per request */
#define WINDOW_BUS 0x40000000u /* the bus address both sides use for the window's first byte */

/* The shared window. On bare metal this would be a memory region both compartments map; on
 * Linux a memfd mapping. Here a static buffer, aligned so the ring can sit at its start. */
#define RING_BYTES XCV_VRING_BYTES(QUEUE_SIZE, LINE)
#define DATA_OFFSET XCV_ALIGN_UP(RING_BYTES, LINE)
#define SLOT_BYTES 128u /* per request: 8-byte header, payload, response */
#define WINDOW_BYTES (DATA_OFFSET + NREQ * SLOT_BYTES)
static _Alignas(4096) unsigned char window_mem[WINDOW_BYTES];

/* The request header the driver writes and the device reads. Shared memory is little-endian
 * by definition, so fields go through the xcv_le*_store/load helpers, never through a struct
 * overlay. */
#define HDR_BYTES 8u /* le32 request id, le32 payload length */

/* A minimal port: the "doorbell" just prints, so the reader sees when one would be rung. */
static int demo_notify(void *ctx, uint32_t doorbell)
{
    (void)ctx;
    printf("  [doorbell %" PRIu32 " rung]\n", doorbell);
    return XCV_OK;
}

static const struct xcv_port_ops demo_ops = {.notify = demo_notify};

/* The driver's own record of one request, used as the token it gets back. */
struct request {
    uint32_t id;
    const char *text;
    unsigned char *response; /* local address of the response buffer in the window */
    int done;
};

static const char *const messages[NREQ] = {
    "hello, device", "virtio over a window", "split ring", "event index", "indirect tables",
    "zero copy",     "mixed criticality",    "goodbye",
};

int main(void)
{
    const struct xcv_port port = {.ops = &demo_ops, .ctx = NULL};
    int r;

    /* ---- 1. The window and the ring layout (driver side) ---- */
    struct xcv_window win;
    r = xcv_window_init(&win, window_mem, WINDOW_BUS, WINDOW_BYTES);
    if (r != XCV_OK) {
        fprintf(stderr, "window_init: %s\n", xcv_strerror(r));
        return 1;
    }
    struct xcv_vring_layout ring;
    r = xcv_vring_layout(window_mem, WINDOW_BUS, QUEUE_SIZE, LINE, &ring);
    if (r != XCV_OK) {
        fprintf(stderr, "vring_layout: %s\n", xcv_strerror(r));
        return 1;
    }
    printf("window: %zu bytes at bus 0x%x; ring of %u entries: desc 0x%" PRIx64 ", avail 0x%" PRIx64
           ", used 0x%" PRIx64 "\n",
           (size_t)WINDOW_BYTES, WINDOW_BUS, QUEUE_SIZE, ring.desc_bus, ring.avail_bus,
           ring.used_bus);

    /* Both sides must agree on the features; normally the control plane negotiates them. */
    const uint64_t features =
        XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);

    /* ---- 2a. The driver queue: zeroes the ring and owns the descriptor table ---- */
    static struct xcv_vq_drv_slot drv_slots[QUEUE_SIZE]; /* private shadow, never shared */
    struct xcv_vq_driver drv;
    const struct xcv_vq_driver_config dcfg = {
        .ring = &ring,
        .slots = drv_slots,
        .features = features,
        .port = &port,
        .doorbell = 0, /* the device's doorbell */
    };
    r = xcv_vq_driver_init(&drv, &dcfg);
    if (r != XCV_OK) {
        fprintf(stderr, "vq_driver_init: %s\n", xcv_strerror(r));
        return 1;
    }

    /* ---- 2b. The device queue: sees only bus addresses, checks them against the window ---- */
    const struct xcv_memmap mem = {.windows = &win, .count = 1};
    static struct xcv_vq_dev_slot dev_slots[QUEUE_SIZE];
    struct xcv_vq_device dev;
    const struct xcv_vq_device_config vcfg = {
        .mem = &mem,
        .num = QUEUE_SIZE,
        .desc_bus = ring.desc_bus,
        .avail_bus = ring.avail_bus,
        .used_bus = ring.used_bus,
        .features = features,
        .max_chain = 4, /* our requests have 3 buffers; refuse anything longer */
        .slots = dev_slots,
        .port = &port,
        .doorbell = 1, /* the driver's doorbell */
    };
    r = xcv_vq_device_init(&dev, &vcfg);
    if (r != XCV_OK) {
        fprintf(stderr, "vq_device_init: %s\n", xcv_strerror(r));
        return 1;
    }

    /* ---- 3. The driver builds and posts the requests ---- */
    printf("\ndriver: posting %u requests\n", NREQ);
    struct request req[NREQ];
    for (uint32_t i = 0; i < NREQ; i++) {
        /* Carve this request's buffers out of the data area. */
        unsigned char *slot = window_mem + DATA_OFFSET + (size_t)i * SLOT_BYTES;
        unsigned char *hdr = slot;
        unsigned char *payload = slot + HDR_BYTES;
        unsigned char *response = slot + HDR_BYTES + PAYLOAD_MAX / 2u;
        uint32_t plen = (uint32_t)strlen(messages[i]);
        if (plen > PAYLOAD_MAX / 2u)
            plen = PAYLOAD_MAX / 2u;

        xcv_le32_store(hdr, i);        /* request id */
        xcv_le32_store(hdr + 4, plen); /* payload length */
        memcpy(payload, messages[i], plen);
        memset(response, 0, PAYLOAD_MAX / 2u);

        /* Descriptors carry bus addresses: translate each local buffer. */
        struct xcv_sg sg[3];
        if (xcv_window_to_bus(&win, hdr, HDR_BYTES, &sg[0].addr) != XCV_OK ||
            xcv_window_to_bus(&win, payload, plen, &sg[1].addr) != XCV_OK ||
            xcv_window_to_bus(&win, response, PAYLOAD_MAX / 2u, &sg[2].addr) != XCV_OK) {
            fprintf(stderr, "buffer outside the window\n");
            return 1;
        }
        sg[0].len = HDR_BYTES;
        sg[1].len = plen;
        sg[2].len = PAYLOAD_MAX / 2u;

        req[i] = (struct request){.id = i, .text = messages[i], .response = response};
        /* 2 device-readable buffers, then 1 device-writable; the token is our record. */
        r = xcv_vq_driver_add(&drv, sg, 2, 1, &req[i]);
        if (r != XCV_OK) {
            fprintf(stderr, "vq_driver_add: %s\n", xcv_strerror(r));
            return 1;
        }
        printf("  request %" PRIu32 ": \"%.*s\"\n", i, (int)plen, messages[i]);
    }
    /* Publish all 8 at once (one index store), then ask whether a doorbell is needed. */
    r = xcv_vq_driver_kick_prepare(&drv);
    if (r < 0) {
        fprintf(stderr, "kick_prepare: %s\n", xcv_strerror(r));
        return 1;
    }
    if (r == 1)
        xcv_vq_driver_notify(&drv);
    printf("driver: published, %u chains in flight, %u descriptors free\n",
           xcv_vq_driver_in_flight(&drv), xcv_vq_driver_num_free(&drv));

    /* ---- 4. The device serves the requests ---- */
    printf("\ndevice: serving\n");
    struct xcv_iov iov[4];
    unsigned served = 0;
    for (;;) {
        struct xcv_chain chain = {.iov = iov, .cap = 4};
        r = xcv_vq_device_pop(&dev, &chain);
        if (r == XCV_EAGAIN)
            break; /* nothing more available */
        if (r != XCV_OK) {
            /* A protocol error: the driver sent something invalid; the queue is now broken. */
            fprintf(stderr, "vq_device_pop: %s\n", xcv_strerror(r));
            return 1;
        }
        /* The chain is validated (every iov lies inside the window), but its bytes are still
         * shared: copy the header before trusting it, and bound every length by the iov. */
        uint32_t written = 0;
        if (chain.n_out == 2 && chain.n_in == 1 && iov[0].len >= HDR_BYTES) {
            unsigned char h[HDR_BYTES];
            memcpy(h, iov[0].base, HDR_BYTES);
            uint32_t id = xcv_le32_load(h);
            uint32_t plen = xcv_le32_load(h + 4);
            if (plen > iov[1].len)
                plen = iov[1].len;
            if (plen > iov[2].len)
                plen = iov[2].len;
            const unsigned char *in = iov[1].base;
            unsigned char *out = iov[2].base;
            for (uint32_t k = 0; k < plen; k++)
                out[k] = (unsigned char)toupper(in[k]);
            written = plen;
            printf("  head %u: request %" PRIu32 " \"%.*s\" -> %" PRIu32 " bytes\n", chain.head, id,
                   (int)plen, (const char *)in, written);
        } else {
            printf("  head %u: unexpected shape %u+%u, returned empty\n", chain.head, chain.n_out,
                   chain.n_in);
        }
        /* Return the chain with the number of bytes written into its writable buffers. */
        r = xcv_vq_device_push(&dev, chain.head, written);
        if (r != XCV_OK) {
            fprintf(stderr, "vq_device_push: %s\n", xcv_strerror(r));
            return 1;
        }
        served++;
    }
    /* Publish every used entry at once, and ring the driver's doorbell if it asked for it. */
    r = xcv_vq_device_flush(&dev);
    if (r < 0) {
        fprintf(stderr, "vq_device_flush: %s\n", xcv_strerror(r));
        return 1;
    }
    printf("device: served %u chains\n", served);

    /* ---- 5. The driver takes the responses back and checks them ---- */
    printf("\ndriver: responses\n");
    unsigned ok = 0, bad = 0;
    void *token;
    uint32_t len;
    while ((r = xcv_vq_driver_get_used(&drv, &token, &len)) == XCV_OK) {
        struct request *q = token;
        size_t plen = strlen(q->text);
        if (plen > PAYLOAD_MAX / 2u)
            plen = PAYLOAD_MAX / 2u;
        int good = !q->done && len == plen;
        for (size_t k = 0; good && k < plen; k++)
            good = q->response[k] == (unsigned char)toupper((unsigned char)q->text[k]);
        q->done = 1;
        printf("  request %" PRIu32 ": %" PRIu32 " bytes \"%.*s\" %s\n", q->id, len, (int)len,
               (const char *)q->response, good ? "ok" : "MISMATCH");
        if (good)
            ok++;
        else
            bad++;
    }
    if (r != XCV_EAGAIN) {
        fprintf(stderr, "vq_driver_get_used: %s\n", xcv_strerror(r));
        return 1;
    }

    printf("\ntotals: %u sent, %u served, %u responses ok, %u bad, %u still in flight\n", NREQ,
           served, ok, bad, xcv_vq_driver_in_flight(&drv));
    return (ok == NREQ && bad == 0 && xcv_vq_driver_in_flight(&drv) == 0) ? 0 : 1;
}
