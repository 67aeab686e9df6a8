/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Smoke test of an installed libxcvirtio: the headers are found as <xcvirtio/...>, the static
 * library links, and a few calls give the documented results. Exit status 0 means all matched.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <xcvirtio/xcvirtio.h>

#define RING_NUM 16u

static _Alignas(64) unsigned char ring_mem[XCV_VRING_BYTES(RING_NUM, XCV_CACHE_LINE_DEFAULT)];

static int check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "xcv_consumer: FAILED: %s\n", what);
    return ok ? 0 : 1;
}

int main(void)
{
    int failures = 0;
    const char *ok_text = xcv_strerror(XCV_OK);
    const char *inval_text = xcv_strerror(XCV_EINVAL);

    failures += check(ok_text != NULL && inval_text != NULL, "xcv_strerror never returns NULL");
    failures += check(inval_text != NULL && ok_text != NULL && strcmp(ok_text, inval_text) != 0,
                      "XCV_OK and XCV_EINVAL have different texts");
    failures += check(xcv_err_is_protocol(XCV_EPROTO_HEAD) && !xcv_err_is_protocol(XCV_EINVAL),
                      "xcv_err_is_protocol");

    struct xcv_vring_layout l;
    const uint64_t bus = 0x40000000u;
    int rc = xcv_vring_layout(ring_mem, bus, RING_NUM, 0, &l);
    failures += check(rc == XCV_OK, "xcv_vring_layout succeeds");
    if (rc == XCV_OK) {
        size_t used_off = XCV_VRING_USED_OFFSET(RING_NUM, XCV_CACHE_LINE_DEFAULT);
        failures += check(l.num == RING_NUM, "layout num");
        failures += check(l.desc == (void *)ring_mem && l.desc_bus == bus, "layout desc");
        failures += check(l.avail == (void *)(ring_mem + XCV_VRING_AVAIL_OFFSET(RING_NUM)) &&
                              l.avail_bus == bus + XCV_VRING_AVAIL_OFFSET(RING_NUM),
                          "layout avail");
        failures += check(l.used == (void *)(ring_mem + used_off) && l.used_bus == bus + used_off,
                          "layout used");
    }
    failures += check(xcv_vring_layout(ring_mem, bus, 3u, 0, &l) == XCV_EINVAL,
                      "xcv_vring_layout rejects a size that is not a power of two");

    if (failures != 0)
        return 1;
    printf("xcv_consumer: libxcvirtio %d.%d.%d OK (%s)\n", XCV_VERSION_MAJOR, XCV_VERSION_MINOR,
           XCV_VERSION_PATCH, inval_text);
    return 0;
}
