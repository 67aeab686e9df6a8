/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux port: a TAP interface behind a virtio-net device model (device role). See
 * include/xcvirtio/linux_backends.h.
 *
 * Transmitted frames are segments in the shared window, validated by the model; they are
 * gathered with writev() straight from the window. Frames read from the interface are copied
 * into the driver's receive buffers by xcv_net_dev_deliver(). The virtio-net header is neither
 * read nor produced (no offloads are offered).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/linux_backends.h"

/* Segments per writev (the model's chains are at most XCV_NET_DEV_MAX_CHAIN long). */
#define TAP_IOV_MAX XCV_NET_DEV_MAX_CHAIN

static int tap_fail(struct xcv_linux_tap *t, int fd)
{
    int saved = errno;
    if (fd >= 0)
        (void)close(fd);
    t->fd = -1;
    errno = saved;
    return XCV_EPORT;
}

int xcv_linux_tap_open(struct xcv_linux_tap *t, const char *name)
{
    if (t == NULL)
        return XCV_EINVAL;
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    size_t n = name != NULL ? strnlen(name, IFNAMSIZ) : 0u;
    if (n == 0u || n >= IFNAMSIZ)
        return XCV_EINVAL;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return tap_fail(t, -1);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, n);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0)
        return tap_fail(t, fd);
    memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
    t->name[IFNAMSIZ - 1] = '\0';
    /* Bring the interface up (any socket carries the ioctl). */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return tap_fail(t, fd);
    struct ifreq up;
    memset(&up, 0, sizeof(up));
    memcpy(up.ifr_name, t->name, IFNAMSIZ);
    int r = ioctl(s, SIOCGIFFLAGS, &up);
    if (r == 0) {
        up.ifr_flags = (short)(up.ifr_flags | IFF_UP);
        r = ioctl(s, SIOCSIFFLAGS, &up);
    }
    int saved = errno;
    (void)close(s);
    errno = saved;
    if (r != 0)
        return tap_fail(t, fd);
    t->fd = fd;
    return XCV_OK;
}

void xcv_linux_tap_close(struct xcv_linux_tap *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        (void)close(t->fd);
    t->fd = -1;
    t->pending_len = 0;
}

static int tap_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    struct xcv_linux_tap *t = (struct xcv_linux_tap *)ctx;
    struct iovec v[TAP_IOV_MAX];
    (void)hdr; /* no offloads: nothing in the header applies */
    if (t == NULL || t->fd < 0 || n > TAP_IOV_MAX)
        return XCV_EINVAL;
    if (len == 0u)
        return XCV_OK;
    for (unsigned i = 0; i < n; i++) {
        v[i].iov_base = iov[i].base;
        v[i].iov_len = iov[i].len;
    }
    t->stats.to_kernel++;
    for (;;) {
        ssize_t w = writev(t->fd, v, (int)n);
        if (w >= 0)
            return XCV_OK; /* a TAP write takes the whole frame or fails */
        if (errno == EINTR)
            continue;
        t->stats.to_kernel_drops++; /* queue full or interface down: dropped, as a NIC does */
        return XCV_OK;
    }
}

const struct xcv_net_backend_ops xcv_linux_tap_ops = {
    .transmit = tap_transmit,
    .rx_ready = NULL,
};

int xcv_linux_tap_pump(struct xcv_linux_tap *t, struct xcv_net_dev *n, unsigned budget)
{
    if (t == NULL || n == NULL || t->fd < 0)
        return XCV_EINVAL;
    int done = 0;
    while ((unsigned)done < budget) {
        if (t->pending_len == 0u) {
            ssize_t r = read(t->fd, t->pending, sizeof(t->pending));
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                return XCV_EPORT;
            }
            if (r == 0)
                break;
            t->pending_len = (uint32_t)r;
        }
        int d = xcv_net_dev_deliver(n, NULL, t->pending, t->pending_len);
        if (d == XCV_EAGAIN || d == XCV_ENODEV)
            break; /* no receive buffer (or no driver yet): keep the frame for later */
        t->pending_len = 0;
        if (d == XCV_OK) {
            t->stats.from_kernel++;
        } else if (d == XCV_ENOMEM || d == XCV_EINVAL) {
            t->stats.from_kernel_drops++; /* no room for it, or bigger than the frame limit */
        } else {
            return d;
        }
        done++;
    }
    return done;
}
