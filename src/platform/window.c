/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared windows: the one bounds-checked translation from a peer-supplied bus range to a local
 * pointer. Nothing here touches window contents; it only does arithmetic on addresses.
 */
#include "xcvirtio/window.h"
#include "xcvirtio/error.h"

int xcv_window_init(struct xcv_window *w, void *local, uint64_t bus_base, uint64_t size)
{
    if (w == NULL || local == NULL || size == 0u)
        return XCV_EINVAL;
    if (bus_base + size < bus_base) /* the bus range would wrap */
        return XCV_EINVAL;
    if ((uintptr_t)local + size < (uintptr_t)local || size > (uint64_t)UINTPTR_MAX)
        return XCV_EINVAL;
    w->local = (uint8_t *)local;
    w->bus_base = bus_base;
    w->size = size;
    return XCV_OK;
}

int xcv_window_translate(const struct xcv_window *w, uint64_t bus, uint64_t len, void **local)
{
    uint64_t off;

    if (bus + len < bus)
        return XCV_EPROTO_OVERFLOW;
    if (bus < w->bus_base)
        return XCV_EPROTO_WINDOW;
    off = bus - w->bus_base;
    /* off <= size and len <= size - off, written so neither side can overflow. */
    if (off > w->size || len > w->size - off)
        return XCV_EPROTO_WINDOW;
    *local = w->local + off;
    return XCV_OK;
}

int xcv_window_to_bus(const struct xcv_window *w, const void *local, uint64_t len, uint64_t *bus)
{
    uintptr_t p = (uintptr_t)local;
    uintptr_t base = (uintptr_t)w->local;
    uint64_t off;

    if (local == NULL || bus == NULL || p < base)
        return XCV_EINVAL;
    off = (uint64_t)(p - base);
    if (off > w->size || len > w->size - off)
        return XCV_EINVAL;
    *bus = w->bus_base + off;
    return XCV_OK;
}

int xcv_memmap_translate(const struct xcv_memmap *m, uint64_t bus, uint64_t len, void **local)
{
    if (bus + len < bus)
        return XCV_EPROTO_OVERFLOW;
    for (uint32_t i = 0; i < m->count; i++) {
        if (xcv_window_translate(&m->windows[i], bus, len, local) == XCV_OK)
            return XCV_OK;
    }
    return XCV_EPROTO_WINDOW;
}
