/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user frontend against hostile backends: a scripted backend thread answers the
 * frontend's requests wrongly (another request code, a wrong size, a missing reply flag, a
 * failed REPLY_ACK, no VERSION_1, a connection closed mid-reply, silence). Each connect must
 * fail with a clear error within its timeout and leave nothing open.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/vhost_user.h"
#include "xcvirtio/virtio.h"

enum fault {
    F_WRONG_REQUEST, /* GET_FEATURES answered as GET_PROTOCOL_FEATURES */
    F_WRONG_SIZE,    /* GET_FEATURES answered with 4 bytes */
    F_NO_REPLY_FLAG, /* GET_FEATURES answered without the reply flag */
    F_NO_VERSION_1,  /* features without VERSION_1 */
    F_NACK,          /* REPLY_ACK says SET_MEM_TABLE failed */
    F_CLOSE,         /* the connection closes inside the GET_FEATURES reply */
    F_SILENT,        /* no reply at all */
    F_NONE,          /* a correct backend */
};

struct hostile {
    char dir[64];
    char path[96];
    int listen_fd;
    enum fault fault;
    pthread_t thread;
    int fds_at_start;
};

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void reply(int fd, uint32_t req, uint32_t flags, const void *p, uint32_t size)
{
    uint8_t buf[64];
    struct xcv_vhost_user_hdr h = {req, flags, size};
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), p, size);
    (void)send(fd, buf, sizeof(h) + size, MSG_NOSIGNAL);
}

/* Read one request (header, payload, descriptors closed); returns its code or -1. */
static int take_request(int fd, uint32_t *flags)
{
    struct xcv_vhost_user_hdr h;
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    struct iovec iov = {&h, sizeof(h)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
    if (recvmsg(fd, &mh, MSG_WAITALL) != (ssize_t)sizeof(h))
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int x;
            memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(x));
            close(x);
        }
    }
    uint8_t sink[512];
    if (h.size > sizeof(sink) || (h.size != 0 && recv(fd, sink, h.size, MSG_WAITALL) != h.size))
        return -1;
    *flags = h.flags;
    return (int)h.request;
}

static void *backend(void *arg)
{
    struct hostile *h = (struct hostile *)arg;
    int fd = accept(h->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    const uint32_t rf = XCV_VHOST_USER_VERSION | XCV_VHOST_USER_FLAG_REPLY;
    uint64_t feat =
        XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES);
    for (;;) {
        uint32_t flags = 0;
        int req = take_request(fd, &flags);
        if (req < 0)
            break;
        if (h->fault == F_SILENT)
            continue;
        if (req == XCV_VHOST_USER_GET_FEATURES) {
            if (h->fault == F_WRONG_REQUEST) {
                reply(fd, XCV_VHOST_USER_GET_PROTOCOL_FEATURES, rf, &feat, 8);
            } else if (h->fault == F_WRONG_SIZE) {
                reply(fd, (uint32_t)req, rf, &feat, 4);
            } else if (h->fault == F_NO_REPLY_FLAG) {
                reply(fd, (uint32_t)req, XCV_VHOST_USER_VERSION, &feat, 8);
            } else if (h->fault == F_NO_VERSION_1) {
                uint64_t v = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
                reply(fd, (uint32_t)req, rf, &v, 8);
            } else if (h->fault == F_CLOSE) {
                struct xcv_vhost_user_hdr hh = {(uint32_t)req, rf, 8};
                (void)send(fd, &hh, sizeof(hh), MSG_NOSIGNAL); /* then gone, payload missing */
                break;
            } else {
                reply(fd, (uint32_t)req, rf, &feat, 8);
            }
        } else if (req == XCV_VHOST_USER_GET_PROTOCOL_FEATURES) {
            uint64_t pf = XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK);
            reply(fd, (uint32_t)req, rf, &pf, 8);
        } else if (flags & XCV_VHOST_USER_FLAG_NEED_REPLY) {
            uint64_t ack = h->fault == F_NACK && req == XCV_VHOST_USER_SET_MEM_TABLE ? 1u : 0u;
            reply(fd, (uint32_t)req, rf, &ack, 8);
        }
    }
    close(fd);
    return NULL;
}

static int setup(void **state)
{
    struct hostile *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->fds_at_start = count_fds();
    strcpy(h->dir, "/tmp/xcv-vuf-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->path, sizeof(h->path), "%s/b.sock", h->dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, h->path);
    h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(h->listen_fd >= 0);
    assert_int_equal(bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(h->listen_fd, 1), 0);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    struct hostile *h = (struct hostile *)*state;
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    unlink(h->path);
    rmdir(h->dir);
    int leaked = count_fds() - h->fds_at_start;
    free(h);
    return leaked != 0 ? -1 : 0;
}

static int connect_with(struct hostile *h, enum fault fault)
{
    h->fault = fault;
    assert_int_equal(pthread_create(&h->thread, NULL, backend, h), 0);
    static struct xcv_vhost_user_front f;
    struct xcv_vhost_user_front_config cfg = {
        .path = h->path,
        .timeout_ms = 300,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1),
        .num_queues = 1,
        .queue_size = 16,
        .mem_size = 1u << 20,
    };
    int r = xcv_vhost_user_front_connect(&f, &cfg);
    /* A failed connect leaves the frontend closed: closing again is harmless. */
    xcv_vhost_user_front_close(&f);
    return r;
}

static void test_wrong_request(void **state)
{
    assert_int_equal(connect_with(*state, F_WRONG_REQUEST), XCV_EPROTO_MSG);
}

static void test_wrong_size(void **state)
{
    assert_int_equal(connect_with(*state, F_WRONG_SIZE), XCV_EPROTO_MSG);
}

static void test_no_reply_flag(void **state)
{
    assert_int_equal(connect_with(*state, F_NO_REPLY_FLAG), XCV_EPROTO_MSG);
}

static void test_no_version_1(void **state)
{
    assert_int_equal(connect_with(*state, F_NO_VERSION_1), XCV_ENOTSUP);
}

static void test_nack(void **state)
{
    assert_int_equal(connect_with(*state, F_NACK), XCV_EPROTO_MSG);
}

static void test_close(void **state)
{
    assert_int_equal(connect_with(*state, F_CLOSE), XCV_EPROTO_MSG);
}

static void test_silent(void **state)
{
    /* The backend thread reads on until the frontend, timed out, closes its socket. */
    assert_int_equal(connect_with(*state, F_SILENT), XCV_ETIMEDOUT);
}

/* A well-behaved scripted backend: the whole setup goes through. */
static void test_scripted_ok(void **state)
{
    struct hostile *h = (struct hostile *)*state;
    h->fault = F_NONE;
    assert_int_equal(pthread_create(&h->thread, NULL, backend, h), 0);
    static struct xcv_vhost_user_front f;
    struct xcv_vhost_user_front_config cfg = {
        .path = h->path,
        .timeout_ms = 1000,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .num_queues = 2,
        .queue_size = 16,
        .mem_size = 1u << 20,
    };
    assert_int_equal(xcv_vhost_user_front_connect(&f, &cfg), XCV_OK);
    assert_int_equal(xcv_vhost_user_front_features(&f), XCV_FEATURE(XCV_VIRTIO_F_VERSION_1));
    assert_non_null(xcv_vhost_user_front_queue(&f, 1));
    assert_null(xcv_vhost_user_front_queue(&f, 2));
    uint8_t *local;
    uint64_t bus;
    assert_true(xcv_vhost_user_front_data(&f, &local, &bus) > 0u);
    uint8_t c[4];
    assert_int_equal(xcv_vhost_user_front_get_config(&f, 0, c, 4), XCV_ENOTSUP);
    assert_int_equal(xcv_vhost_user_front_wait(&f, 0, 0), 0);
    xcv_vhost_user_front_close(&f);
    xcv_vhost_user_front_close(&f);
}

static void test_bad_config(void **state)
{
    (void)state;
    static struct xcv_vhost_user_front f;
    struct xcv_vhost_user_front_config cfg = {
        .path = "/nonexistent/x.sock", .num_queues = 1, .queue_size = 12, .mem_size = 1u << 20};
    assert_int_equal(xcv_vhost_user_front_connect(&f, &cfg), XCV_EINVAL);
    cfg.queue_size = 16;
    cfg.mem_size = 4096; /* no room after the ring */
    assert_int_equal(xcv_vhost_user_front_connect(&f, &cfg), XCV_EINVAL);
    cfg.mem_size = 1u << 20;
    cfg.num_queues = XCV_VHOST_USER_MAX_QUEUES + 1u;
    assert_int_equal(xcv_vhost_user_front_connect(&f, &cfg), XCV_EINVAL);
    assert_int_equal(xcv_vhost_user_front_connect(NULL, &cfg), XCV_EINVAL);
    /* Nobody listening: bounded by the timeout. */
    cfg.num_queues = 1;
    cfg.timeout_ms = 100;
    assert_int_equal(xcv_vhost_user_front_connect(&f, &cfg), XCV_ETIMEDOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrong_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_reply_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scripted_ok, setup, teardown),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
