/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private: translation of driver-supplied bus addresses for the device role of both ring
 * layouts (device.c, packed_device.c).
 */
#ifndef XCV_SRC_VRING_TRANSLATE_H
#define XCV_SRC_VRING_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/error.h"
#include "xcvirtio/vq_device.h"
#include "xcvirtio/window.h"

/* Is [bus, bus + len) wholly inside @w? xcv_window_translate()'s check, inline: off <= size and
 * len <= size - off, written so that nothing can overflow. */
static inline bool xcv_dev_in_window(const struct xcv_window *w, uint64_t bus, uint64_t len,
                                     void **p)
{
    uint64_t off = bus - w->bus_base;
    if (bus < w->bus_base || off > w->size || len > w->size - off)
        return false;
    *p = w->local + off;
    return true;
}

/* Translate a driver address: the window of the last hit first (buffers of a queue mostly come
 * from one window), then every window. The hint is checked against the count each time: a host
 * transport may replace the memory map of a live queue with a smaller one. */
static inline int xcv_dev_translate(struct xcv_vq_device *q, uint64_t bus, uint64_t len, void **p)
{
    const struct xcv_memmap *m = q->mem;
    if (q->win_hint < m->count && xcv_dev_in_window(&m->windows[q->win_hint], bus, len, p))
        return XCV_OK;
    for (uint32_t i = 0; i < m->count; i++) {
        if (xcv_dev_in_window(&m->windows[i], bus, len, p)) {
            q->win_hint = i;
            return XCV_OK;
        }
    }
    return xcv_memmap_translate(m, bus, len, p); /* fails too: its error code */
}

/* A chain being validated: its segment count and totals so far. */
struct xcv_dev_chain_acc {
    uint16_t nseg;
    uint16_t n_in;
    uint64_t out_len;
    uint64_t in_len;
};

/* Append one descriptor's buffer to @c as its next segment, by the rules both ring layouts
 * share: the range inside a window, device-readable segments before device-writable ones
 * (XCV_EPROTO_WRITE_ORDER), totals within 32 bits (XCV_EPROTO_OVERFLOW). The caller bounds
 * nseg by the chain limit (c's storage holds max_chain segments). */
static inline int xcv_dev_chain_add(struct xcv_vq_device *q, struct xcv_chain *c,
                                    struct xcv_dev_chain_acc *a, uint64_t addr, uint32_t len,
                                    bool write)
{
    void *p;
    int r = xcv_dev_translate(q, addr, len, &p);
    if (r != XCV_OK)
        return r;
    if (write) {
        a->in_len += len;
        a->n_in++;
    } else {
        if (a->n_in != 0u)
            return XCV_EPROTO_WRITE_ORDER;
        a->out_len += len;
    }
    if (a->in_len > UINT32_MAX || a->out_len > UINT32_MAX)
        return XCV_EPROTO_OVERFLOW;
    c->iov[a->nseg].base = p;
    c->iov[a->nseg].len = len;
    a->nseg++;
    return XCV_OK;
}

/* The chain is complete: record its head (split: the head index; packed: the buffer id) and
 * totals in @c. */
static inline void xcv_dev_chain_done(struct xcv_chain *c, uint16_t head,
                                      const struct xcv_dev_chain_acc *a)
{
    c->head = head;
    c->n_out = (uint16_t)(a->nseg - a->n_in);
    c->n_in = a->n_in;
    c->out_len = (uint32_t)a->out_len;
    c->in_len = (uint32_t)a->in_len;
}

/* Map a ring area the driver placed: its bus address must have the spec's alignment and the
 * whole area must lie in one window. */
static inline int xcv_dev_map_area(const struct xcv_memmap *m, uint64_t bus, size_t len,
                                   uint64_t align, void **local)
{
    if ((bus & (align - 1u)) != 0u)
        return XCV_EPROTO_LAYOUT;
    return xcv_memmap_translate(m, bus, len, local);
}

/* Map the three areas of a ring (descriptors, driver area, device area) with their alignments
 * and check that no two of them share a byte: overlapping areas are a bad placement (the
 * device would write its used entries or event words over what the driver wrote). */
static inline int xcv_dev_map_rings(const struct xcv_memmap *m, const uint64_t bus[3],
                                    const size_t len[3], const uint64_t align[3], void *local[3])
{
    for (unsigned i = 0; i < 3u; i++) {
        int r = xcv_dev_map_area(m, bus[i], len[i], align[i], &local[i]);
        if (r != XCV_OK)
            return r;
    }
    /* Each area lies inside one window (checked above), so none of these sums wraps. */
    for (unsigned i = 0; i < 3u; i++) {
        for (unsigned j = i + 1u; j < 3u; j++) {
            if (bus[i] < bus[j] + len[j] && bus[j] < bus[i] + len[i])
                return XCV_EPROTO_LAYOUT;
        }
    }
    return XCV_OK;
}

#endif /* XCV_SRC_VRING_TRANSLATE_H */
