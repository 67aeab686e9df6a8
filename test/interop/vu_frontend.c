/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: the raw side of a vhost-user frontend. */
#define _GNU_SOURCE
#include "vu_frontend.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int vu_fe_connect(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int vu_fe_send_raw(int fd, uint32_t request, uint32_t flags, uint32_t size, const void *payload,
                   size_t len, const int *fds, unsigned nfds)
{
    uint8_t buf[sizeof(struct xcv_vhost_user_hdr) + 1024];
    struct xcv_vhost_user_hdr h = {.request = request, .flags = flags, .size = size};
    if (len > 1024 || nfds > 16)
        return -1;
    memcpy(buf, &h, sizeof(h));
    if (len != 0)
        memcpy(buf + sizeof(h), payload, len);
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(h) + len};
    union {
        char b[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds != 0) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.b;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    return n == (ssize_t)iov.iov_len ? 0 : -1;
}

int vu_fe_send(int fd, uint32_t request, const void *payload, uint32_t len, const int *fds,
               unsigned nfds, bool need_reply)
{
    uint32_t flags = XCV_VHOST_USER_VERSION | (need_reply ? XCV_VHOST_USER_FLAG_NEED_REPLY : 0u);
    return vu_fe_send_raw(fd, request, flags, len, payload, len, fds, nfds);
}

static int recv_full(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
        if (r <= 0)
            return -1;
        ssize_t n = recv(fd, p, len, 0);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == ECONNRESET ? 0 : -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

int vu_fe_recv(int fd, struct xcv_vhost_user_hdr *h, void *payload, size_t cap, int timeout_ms)
{
    int r = recv_full(fd, h, sizeof(*h), timeout_ms);
    if (r <= 0)
        return r;
    uint8_t sink[1024];
    if (h->size > sizeof(sink))
        return -1;
    r = recv_full(fd, sink, h->size, timeout_ms);
    if (r <= 0)
        return r;
    memcpy(payload, sink, h->size < cap ? h->size : cap);
    return 1;
}

bool vu_fe_wait_closed(int fd, int timeout_ms)
{
    for (int i = 0; i < 64; i++) {
        struct xcv_vhost_user_hdr h;
        uint8_t p[1024];
        int r = vu_fe_recv(fd, &h, p, sizeof(p), timeout_ms);
        if (r == 0)
            return true;
        if (r < 0)
            return false;
    }
    return false;
}
