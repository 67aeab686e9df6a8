/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel configuration from the compartment's device tree (images built with DEMO_USE_DTB):
 * the xcvirtio,channel binding (docs/binding.md) through xcv_fdt_find_channels(),
 * xcv_fdt_channel_config() and xcv_fdt_to_channel_config(). The blob is untrusted: it is
 * checked whole against the bytes the port says are readable before any node is looked at, and
 * a tree without exactly one valid channel node for this compartment's role is refused.
 */
#include "demo.h"
#include "xcvirtio/error.h"
#include "xcvirtio/fdt.h"

#define DEMO_DTB_MAX_CHANNELS 4

static struct xcv_fdt_channel demo_fdt; /* the chosen node, parsed */
static bool demo_fdt_loaded;

static void say_hex(const char *text, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[19];
    unsigned n = 0;
    buf[n++] = '0';
    buf[n++] = 'x';
    int shift = 60;
    while (shift > 0 && ((v >> shift) & 0xfu) == 0u)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        buf[n++] = digits[(v >> shift) & 0xfu];
    buf[n] = '\0';
    demo_puts(text);
    demo_puts(buf);
}

int demo_dtb_load(const void *dtb, size_t size, bool device_side)
{
    const enum xcv_role role = device_side ? XCV_ROLE_DEVICE : XCV_ROLE_DRIVER;
    int offs[DEMO_DTB_MAX_CHANNELS] = {0};
    int found = -1;

    say_hex("dtb: blob at ", (uint64_t)(uintptr_t)dtb);
    demo_puts("\n");
    if (xcv_fdt_check(dtb, size) != XCV_OK) {
        demo_puts("dtb: not a valid flattened device tree: refused\n");
        return XCV_EINVAL;
    }
    int n = xcv_fdt_find_channels(dtb, offs, DEMO_DTB_MAX_CHANNELS);
    if (n <= 0 || n > DEMO_DTB_MAX_CHANNELS) {
        demo_say("dtb: xcvirtio,channel nodes (want 1..4)", n);
        return XCV_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        struct xcv_fdt_channel c;
        if (xcv_fdt_channel_config(dtb, offs[i], &c) != XCV_OK) {
            demo_say("dtb: channel node breaks the xcvirtio,channel binding: refused; offset",
                     offs[i]);
            return XCV_EINVAL;
        }
        if (c.role != role)
            continue;
        if (found >= 0) {
            demo_puts("dtb: two channel nodes for this role: refused\n");
            return XCV_EINVAL;
        }
        found = i;
        demo_fdt = c;
    }
    if (found < 0) {
        demo_puts(device_side ? "dtb: no channel node with xcvirtio,role = \"device\"\n"
                              : "dtb: no channel node with xcvirtio,role = \"driver\"\n");
        return XCV_EINVAL;
    }
    say_hex("dtb: channel window ", demo_fdt.window_base);
    say_hex(" size ", demo_fdt.window_size);
    demo_puts("\n");
    demo_say("dtb: doorbell rung on the peer", demo_fdt.doorbell_tx);
    demo_say("dtb: doorbell received", demo_fdt.doorbell_rx);
    demo_cfg.window_base = demo_fdt.window_base;
    demo_cfg.window_size = demo_fdt.window_size;
    demo_cfg.doorbell_to_device = device_side ? demo_fdt.doorbell_rx : demo_fdt.doorbell_tx;
    demo_cfg.doorbell_to_driver = device_side ? demo_fdt.doorbell_tx : demo_fdt.doorbell_rx;
    demo_fdt_loaded = true;
    return XCV_OK;
}

const struct xcv_fdt_channel *demo_dtb_channel(void)
{
    return demo_fdt_loaded ? &demo_fdt : NULL;
}

int demo_channel_config(struct xcv_channel_config *cfg, bool device_side,
                        const struct xcv_port *port)
{
    if (!demo_fdt_loaded || demo_fdt.role != (device_side ? XCV_ROLE_DEVICE : XCV_ROLE_DRIVER))
        return XCV_EINVAL;
    /* Identity mapped: the window's local address is its physical (= bus) address. */
    return xcv_fdt_to_channel_config(&demo_fdt, (void *)(uintptr_t)demo_fdt.window_base, port, cfg);
}
