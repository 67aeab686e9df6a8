/* SPDX-License-Identifier: Apache-2.0 */
/* The VNF example's --tap mode: TAP interfaces and packet sockets (see vnf_tap.h). */
#define _GNU_SOURCE
#include "vnf_tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool vnf_tap_available(void)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static void disable_ipv6(const char *ifname)
{
    char path[128];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, "1", 1);
        close(fd);
    }
}

static int packet_socket(const char *ifname, bool rx)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (s < 0)
        return -1;
    struct sockaddr_ll a = {.sll_family = AF_PACKET,
                            .sll_protocol = htons(ETH_P_ALL),
                            .sll_ifindex = (int)if_nametoindex(ifname)};
    int big = 8 << 20;
    if (a.sll_ifindex == 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        setsockopt(s, SOL_SOCKET, rx ? SO_RCVBUF : SO_SNDBUF, &big, sizeof(big)) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

int vnf_tap_open(struct vnf_tap *t)
{
    memset(t, 0, sizeof(*t));
    t->in.fd = t->out.fd = t->tx_sock = t->rx_sock = -1;
    t->open = true; /* from here on vnf_tap_close() releases what was made */
    int r = xcv_linux_tap_open(&t->in, VNF_TAP_IN);
    if (r == XCV_OK)
        r = xcv_linux_tap_open(&t->out, VNF_TAP_OUT);
    if (r != XCV_OK) {
        vnf_tap_close(t);
        return r;
    }
    disable_ipv6(VNF_TAP_IN);
    disable_ipv6(VNF_TAP_OUT);
    t->tx_sock = packet_socket(VNF_TAP_IN, false);
    t->rx_sock = packet_socket(VNF_TAP_OUT, true);
    if (t->tx_sock < 0 || t->rx_sock < 0) {
        vnf_tap_close(t);
        return XCV_EPORT;
    }
    return XCV_OK;
}

int vnf_tap_send(struct vnf_tap *t, const uint8_t *f, uint32_t len)
{
    for (;;) {
        ssize_t n = send(t->tx_sock, f, len, 0);
        if (n == (ssize_t)len)
            return XCV_OK;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            return XCV_EAGAIN;
        return XCV_EPORT;
    }
}

int vnf_tap_recv(struct vnf_tap *t, uint8_t *f, uint32_t cap, uint32_t *len)
{
    for (;;) {
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(t->rx_sock, f, cap, MSG_TRUNC, (struct sockaddr *)&from, &fl);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? XCV_EAGAIN : XCV_EPORT;
        if (from.sll_pkttype == PACKET_OUTGOING || (uint32_t)n > cap)
            continue; /* the kernel's own frames, or too big for the sink */
        *len = (uint32_t)n;
        return XCV_OK;
    }
}

void vnf_tap_close(struct vnf_tap *t)
{
    if (!t->open)
        return;
    if (t->tx_sock >= 0)
        close(t->tx_sock);
    if (t->rx_sock >= 0)
        close(t->rx_sock);
    t->tx_sock = t->rx_sock = -1;
    xcv_linux_tap_close(&t->in);
    xcv_linux_tap_close(&t->out);
    t->open = false;
}
