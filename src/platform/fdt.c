/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel configuration from a device tree (the `xcvirtio,channel` binding, docs/binding.md).
 *
 * Portable: libfdt and string.h only, no heap, no global state. Every property is fetched with
 * its length, the length is checked against what the binding allows before a single byte is
 * read, and cells are loaded with fdt32_ld() (no alignment assumption). Results are built in a
 * local object and copied out only when the whole node is valid.
 */
#include <string.h>

#include <libfdt.h>

#include "xcvirtio/error.h"
#include "xcvirtio/fdt.h"
#include "xcvirtio/window.h"

#define XCV_FDT_MIN_SLOTS 4u
#define XCV_FDT_MAX_SLOTS 1024u
#define XCV_FDT_MIN_LINE 16u
#define XCV_FDT_MAX_LINE 4096u

static int is_pow2_u64(uint64_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

/* A string property equal to @p s (the stored value must be exactly s plus its NUL). */
static int prop_is_string(const void *dtb, int node, const char *name, const char *s)
{
    int len = 0;
    const char *p = (const char *)fdt_getprop(dtb, node, name, &len);
    size_t n = strlen(s) + 1u;

    return p != NULL && len >= 0 && (size_t)len == n && memcmp(p, s, n) == 0;
}

/* A node is enabled when it has no status, or status "okay" / "ok". */
static int node_enabled(const void *dtb, int node)
{
    int len = 0;

    if (fdt_getprop(dtb, node, "status", &len) == NULL)
        return len == -FDT_ERR_NOTFOUND;
    return prop_is_string(dtb, node, "status", "okay") || prop_is_string(dtb, node, "status", "ok");
}

/* Read a property of exactly one cell. Returns 1 if present and valid, 0 if absent, or
 * XCV_EINVAL if present with another length. */
static int get_u32(const void *dtb, int node, const char *name, uint32_t *v)
{
    int len = 0;
    const fdt32_t *p = (const fdt32_t *)fdt_getprop(dtb, node, name, &len);

    if (p == NULL)
        return len == -FDT_ERR_NOTFOUND ? 0 : XCV_EINVAL;
    if (len != (int)sizeof(fdt32_t))
        return XCV_EINVAL;
    *v = fdt32_ld(p);
    return 1;
}

/* Read a property of one or two cells (a 32- or 64-bit number). Same returns as get_u32(). */
static int get_u64(const void *dtb, int node, const char *name, uint64_t *v)
{
    int len = 0;
    const fdt32_t *p = (const fdt32_t *)fdt_getprop(dtb, node, name, &len);

    if (p == NULL)
        return len == -FDT_ERR_NOTFOUND ? 0 : XCV_EINVAL;
    if (len == (int)sizeof(fdt32_t)) {
        *v = fdt32_ld(p);
        return 1;
    }
    if (len == 2 * (int)sizeof(fdt32_t)) {
        *v = ((uint64_t)fdt32_ld(&p[0]) << 32) | fdt32_ld(&p[1]);
        return 1;
    }
    return XCV_EINVAL;
}

/* Combine @p cells (1 or 2) big-endian cells into a number. */
static uint64_t read_cells(const fdt32_t *p, int cells)
{
    uint64_t v = fdt32_ld(&p[0]);

    if (cells == 2)
        v = (v << 32) | fdt32_ld(&p[1]);
    return v;
}

/*
 * The first (address, size) entry of the `reg` of @p node, decoded with the #address-cells and
 * #size-cells of its parent. Only 1 or 2 cells each are accepted (64-bit buses).
 */
static int get_reg(const void *dtb, int node, uint64_t *base, uint64_t *size)
{
    int parent = fdt_parent_offset(dtb, node);
    int ac;
    int sc;
    int len = 0;
    const fdt32_t *p;

    if (parent < 0)
        return XCV_EINVAL;
    ac = fdt_address_cells(dtb, parent);
    sc = fdt_size_cells(dtb, parent);
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
        return XCV_EINVAL;
    p = (const fdt32_t *)fdt_getprop(dtb, node, "reg", &len);
    if (p == NULL || len <= 0)
        return XCV_EINVAL;
    /* One or more whole entries; only the first is used. */
    if (len % ((ac + sc) * (int)sizeof(fdt32_t)) != 0)
        return XCV_EINVAL;
    *base = read_cells(p, ac);
    *size = read_cells(p + ac, sc);
    return XCV_OK;
}

/* The window: `memory-region = <&phandle>` (first entry) or a `reg` on the channel node. */
static int get_window(const void *dtb, int node, uint64_t *base, uint64_t *size)
{
    int len = 0;
    const fdt32_t *p = (const fdt32_t *)fdt_getprop(dtb, node, "memory-region", &len);
    int target = node;
    int rc;

    if (p != NULL) {
        uint32_t ph;

        if (len <= 0 || len % (int)sizeof(fdt32_t) != 0)
            return XCV_EINVAL;
        ph = fdt32_ld(p);
        if (ph == 0u || ph == 0xffffffffu)
            return XCV_EINVAL;
        target = fdt_node_offset_by_phandle(dtb, ph);
        if (target < 0)
            return XCV_EINVAL;
    } else if (len != -FDT_ERR_NOTFOUND) {
        return XCV_EINVAL;
    }
    rc = get_reg(dtb, target, base, size);
    if (rc < 0)
        return rc;
    if (*size == 0u || *base + *size < *base)
        return XCV_EINVAL;
    return XCV_OK;
}

/* Does @p name have the node-name base "device" (that is "device" or "device@...")? */
static int is_device_node_name(const char *name, int len)
{
    static const char base[] = "device";
    const int blen = (int)sizeof(base) - 1;

    if (name == NULL || len < blen || memcmp(name, base, (size_t)blen) != 0)
        return 0;
    return len == blen || name[blen] == '@';
}

static int parse_device(const void *dtb, int node, struct xcv_fdt_device *d)
{
    int rc;
    uint32_t v = 0;

    memset(d, 0, sizeof(*d));
    if (get_u32(dtb, node, "reg", &d->num) != 1 || d->num >= XCV_CHANNEL_MAX_DEVICES)
        return XCV_EINVAL;
    if (get_u32(dtb, node, "virtio,device-id", &d->device_id) != 1 || d->device_id == 0u)
        return XCV_EINVAL;
    rc = get_u32(dtb, node, "xcvirtio,num-queues", &v);
    if (rc < 0 || (rc == 1 && (v == 0u || v > XCV_FDT_MAX_QUEUES)))
        return XCV_EINVAL;
    d->num_queues = rc == 1 ? v : 0u;
    rc = get_u32(dtb, node, "xcvirtio,queue-size", &v);
    if (rc < 0 || (rc == 1 && (!is_pow2_u64(v) || v > XCV_FDT_MAX_QUEUE_SIZE)))
        return XCV_EINVAL;
    d->queue_size = rc == 1 ? v : 0u;
    return XCV_OK;
}

static int parse_devices(const void *dtb, int node, struct xcv_fdt_channel *c)
{
    int child;
    uint32_t seen = 0;

    c->num_devices = 0;
    fdt_for_each_subnode(child, dtb, node)
    {
        int nlen = 0;
        const char *name = fdt_get_name(dtb, child, &nlen);
        struct xcv_fdt_device d;
        uint32_t i;

        if (!is_device_node_name(name, nlen) || !node_enabled(dtb, child))
            continue;
        if (c->num_devices >= XCV_CHANNEL_MAX_DEVICES)
            return XCV_EINVAL;
        if (parse_device(dtb, child, &d) < 0)
            return XCV_EINVAL;
        if ((seen & (1u << d.num)) != 0u)
            return XCV_EINVAL; /* two nodes claim one device number */
        seen |= 1u << d.num;
        /* Insert sorted by device number. */
        i = c->num_devices;
        while (i > 0u && c->devices[i - 1u].num > d.num) {
            c->devices[i] = c->devices[i - 1u];
            i--;
        }
        c->devices[i] = d;
        c->num_devices++;
    }
    /* The loop ends with -FDT_ERR_NOTFOUND; anything else is a broken structure block. */
    if (child != -FDT_ERR_NOTFOUND)
        return XCV_EINVAL;
    return XCV_OK;
}

int xcv_fdt_check(const void *dtb, size_t bufsize)
{
    if (dtb == NULL || fdt_check_full(dtb, bufsize) != 0)
        return XCV_EINVAL;
    return XCV_OK;
}

int xcv_fdt_find_channels(const void *dtb, int *offsets, int max)
{
    int node;
    int count = 0;

    if (dtb == NULL || max < 0 || (offsets == NULL && max > 0) || fdt_check_header(dtb) != 0)
        return XCV_EINVAL;
    for (node = fdt_node_offset_by_compatible(dtb, -1, XCV_FDT_COMPATIBLE); node >= 0;
         node = fdt_node_offset_by_compatible(dtb, node, XCV_FDT_COMPATIBLE)) {
        if (!node_enabled(dtb, node))
            continue;
        if (count < max)
            offsets[count] = node;
        if (count == 0x7fffffff)
            return XCV_EINVAL;
        count++;
    }
    if (node != -FDT_ERR_NOTFOUND)
        return XCV_EINVAL;
    return count;
}

int xcv_fdt_channel_config(const void *dtb, int node_offset, struct xcv_fdt_channel *out)
{
    struct xcv_fdt_channel c;
    int len = 0;
    const fdt32_t *p;
    uint32_t v;
    uint64_t v64;
    int rc;

    if (dtb == NULL || out == NULL || node_offset < 0 || fdt_check_header(dtb) != 0)
        return XCV_EINVAL;
    if (fdt_node_check_compatible(dtb, node_offset, XCV_FDT_COMPATIBLE) != 0)
        return XCV_EINVAL;
    memset(&c, 0, sizeof(c));

    if (prop_is_string(dtb, node_offset, "xcvirtio,role", "driver"))
        c.role = XCV_ROLE_DRIVER;
    else if (prop_is_string(dtb, node_offset, "xcvirtio,role", "device"))
        c.role = XCV_ROLE_DEVICE;
    else
        return XCV_EINVAL;

    /* The cache line first: the window and queue area must be multiples of it. */
    rc = get_u32(dtb, node_offset, "xcvirtio,cache-line", &v);
    if (rc < 0)
        return XCV_EINVAL;
    c.cache_line = rc == 1 ? v : XCV_FDT_DEFAULT_CACHE_LINE;
    if (!is_pow2_u64(c.cache_line) || c.cache_line < XCV_FDT_MIN_LINE ||
        c.cache_line > XCV_FDT_MAX_LINE)
        return XCV_EINVAL;

    if (get_window(dtb, node_offset, &c.window_base, &c.window_size) < 0)
        return XCV_EINVAL;
    if (c.window_size % c.cache_line != 0u)
        return XCV_EINVAL;

    p = (const fdt32_t *)fdt_getprop(dtb, node_offset, "xcvirtio,doorbells", &len);
    if (p == NULL || len != 2 * (int)sizeof(fdt32_t))
        return XCV_EINVAL;
    c.doorbell_tx = fdt32_ld(&p[0]);
    c.doorbell_rx = fdt32_ld(&p[1]);

    rc = get_u32(dtb, node_offset, "xcvirtio,msg-slots", &v);
    if (rc < 0)
        return XCV_EINVAL;
    c.msg_slots = rc == 1 ? v : XCV_FDT_DEFAULT_MSG_SLOTS;
    if (!is_pow2_u64(c.msg_slots) || c.msg_slots < XCV_FDT_MIN_SLOTS ||
        c.msg_slots > XCV_FDT_MAX_SLOTS)
        return XCV_EINVAL;

    rc = get_u64(dtb, node_offset, "xcvirtio,queue-area-size", &v64);
    if (rc < 0)
        return XCV_EINVAL;
    if (rc == 0) /* default: a quarter of the window, whole cache lines */
        v64 = (c.window_size / 4u) & ~((uint64_t)c.cache_line - 1u);
    if (v64 == 0u || v64 % c.cache_line != 0u || v64 >= c.window_size)
        return XCV_EINVAL;
    c.queue_area_size = v64;

    rc = get_u64(dtb, node_offset, "xcvirtio,timeout-us", &v64);
    if (rc < 0)
        return XCV_EINVAL;
    c.timeout_us = rc == 1 ? v64 : 0u;
    if (c.timeout_us > UINT64_MAX / 1000u)
        return XCV_EINVAL;

    if (parse_devices(dtb, node_offset, &c) < 0)
        return XCV_EINVAL;

    *out = c;
    return XCV_OK;
}

int xcv_fdt_to_channel_config(const struct xcv_fdt_channel *f, void *window_local,
                              const struct xcv_port *port, struct xcv_channel_config *out)
{
    struct xcv_channel_config cfg;

    if (f == NULL || window_local == NULL || port == NULL || out == NULL)
        return XCV_EINVAL;
    if (f->role != XCV_ROLE_DRIVER && f->role != XCV_ROLE_DEVICE)
        return XCV_EINVAL;
    if (f->timeout_us > UINT64_MAX / 1000u)
        return XCV_EINVAL;
    memset(&cfg, 0, sizeof(cfg));
    if (xcv_window_init(&cfg.window, window_local, f->window_base, f->window_size) != XCV_OK)
        return XCV_EINVAL;
    cfg.role = f->role;
    cfg.port = port;
    cfg.doorbell = f->doorbell_tx;
    cfg.timeout_ns = f->timeout_us * 1000u;
    cfg.cache_line = f->cache_line;
    cfg.msg_slots = f->msg_slots;
    cfg.queue_area_size = f->queue_area_size;
    *out = cfg;
    return XCV_OK;
}
