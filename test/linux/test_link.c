/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux port across two processes: a forked child plays the device side (or a hostile fake
 * device), the test process the driver side. Covers the handshake, the shared window seen at
 * different local addresses, doorbells both ways through the port, wait timeouts, the epoll
 * helpers, busy-poll mode, reconnects after a driver or device restart, and malformed
 * handshakes. Every wait is bounded; children arm alarm() and are killed if they overstay.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "xcvirtio/error.h"
#include "xcvirtio/port_linux.h"

#define WIN_SIZE (1024u * 1024u)
#define STEP_MS 5000 /* bound on any single step that should succeed quickly */

/* Offsets in the window used by the tests (each side writes its own). */
#define OFF_DRV_PTR 0u
#define OFF_DEV_PTR 64u
#define OFF_DEV_MARK 128u
#define OFF_DRV_MARK 256u
#define OFF_FLAG_DRV 512u
#define OFF_FLAG_DEV 576u
#define OFF_DONE 640u /* device: set after its last doorbell of a round */

static char g_sock[108];
static char g_shm[108];

/* ---- helpers -------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the directory stream's own fd */
}

static int setup(void **state)
{
    static int counter;

    (void)state;
    counter++;
    snprintf(g_sock, sizeof(g_sock), "/tmp/xcv-link-%d-%d.sock", (int)getpid(), counter);
    snprintf(g_shm, sizeof(g_shm), "/dev/shm/xcv-link-%d-%d", (int)getpid(), counter);
    unlink(g_sock);
    unlink(g_shm);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_sock);
    unlink(g_shm);
    return 0;
}

/* A child's checks: report the failing line and return it as a non-zero exit status. */
#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child: check failed at line %d: %s\n", __LINE__, #cond);              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

typedef int (*child_fn)(void *arg);

static pid_t spawn(child_fn fn, void *arg)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(20); /* last resort: never outlive the test */
        _exit(fn(arg));
    }
    return pid;
}

/* Wait up to @p timeout_ms for the child; kill it if it overstays. Returns its exit status. */
static int reap(pid_t pid, int timeout_ms)
{
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;
    int status = 0;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            break;
        assert_true(r == 0);
        if (now_ns() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("child %d did not finish in %d ms", (int)pid, timeout_ms);
        }
        usleep(2000);
    }
    if (WIFSIGNALED(status))
        fail_msg("child killed by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

static int port_wait(struct xcv_port *p, int ms)
{
    return p->ops->wait(p->ctx, p->ops->now_ns(p->ctx) + (uint64_t)ms * 1000000u);
}

/* Wait (bounded) until the window byte at @p off equals @p v, through the port's wait. */
static int wait_byte(struct xcv_port *p, volatile uint8_t *w, size_t off, uint8_t v, int ms)
{
    uint64_t deadline = p->ops->now_ns(p->ctx) + (uint64_t)ms * 1000000u;

    while (__atomic_load_n(&w[off], __ATOMIC_ACQUIRE) != v) {
        int rc = p->ops->wait(p->ctx, deadline);

        if (rc == XCV_ETIMEDOUT)
            return rc;
        if (rc < 0)
            return rc;
    }
    return XCV_OK;
}

static void put_ptr(volatile uint8_t *w, size_t off, const void *p)
{
    uintptr_t v = (uintptr_t)p;

    memcpy((void *)(w + off), &v, sizeof(v));
}

static uintptr_t get_ptr(volatile uint8_t *w, size_t off)
{
    uintptr_t v;

    memcpy(&v, (const void *)(w + off), sizeof(v));
    return v;
}

/* ---- a cooperative device side -------------------------------------------------------- */

struct dev_args {
    bool busy_poll;
    bool file_backed;
    int accepts;      /* connections to serve in turn */
    int rings;        /* extra doorbells rung at the start (for the ack test) */
    uint8_t pre_mark; /* if non-zero: expect this at OFF_DRV_MARK before listening */
};

/*
 * Device script: listen, then for each connection: publish its pointer and a mark, ring,
 * wait for the driver's mark and doorbell, ring back. Finally wait for the driver to hang up.
 */
static int device_child(void *arg)
{
    const struct dev_args *a = (const struct dev_args *)arg;
    struct xcv_linux_link_config cfg = {
        .window_size = WIN_SIZE,
        .bus_base = 0x1000,
        .shm_path = a->file_backed ? g_shm : NULL,
        .busy_poll = a->busy_poll,
    };
    struct xcv_linux_link l;
    struct xcv_port port;
    volatile uint8_t *w;
    int i;

    CHILD_CHECK(xcv_linux_link_listen(&l, g_sock, &cfg) == XCV_OK);
    xcv_linux_port_init(&l, &port);
    w = (volatile uint8_t *)l.shm.local;
    if (a->pre_mark != 0u) /* a restarted device sees what the driver wrote before */
        CHILD_CHECK(w[OFF_DRV_MARK] == a->pre_mark);
    for (i = 0; i < a->accepts; i++) {
        uint8_t mark = (uint8_t)(0xd0 + i);
        int r;

        CHILD_CHECK(xcv_linux_link_accept(&l, STEP_MS) == XCV_OK);
        put_ptr(w, OFF_DEV_PTR, l.shm.local);
        __atomic_store_n(&w[OFF_DEV_MARK], mark, __ATOMIC_RELEASE);
        for (r = 0; r < a->rings; r++)
            CHILD_CHECK(port.ops->notify(port.ctx, 0) == XCV_OK);
        CHILD_CHECK(port.ops->notify(port.ctx, 0) == XCV_OK);
        CHILD_CHECK(wait_byte(&port, w, OFF_FLAG_DRV, mark, STEP_MS) == XCV_OK);
        __atomic_store_n(&w[OFF_FLAG_DEV], mark, __ATOMIC_RELEASE);
        CHILD_CHECK(port.ops->notify(port.ctx, 0) == XCV_OK);
        __atomic_store_n(&w[OFF_DONE], mark, __ATOMIC_RELEASE);
    }
    /* Wait for the driver to hang up (bounded). */
    for (i = 0; i < 1000 && xcv_linux_link_check_peer(&l) == XCV_OK; i++)
        usleep(5000);
    CHILD_CHECK(xcv_linux_link_check_peer(&l) == XCV_EPEERRESET);
    xcv_linux_link_close(&l);
    return 0;
}

/* The driver half of one round of device_child. */
static void driver_round(struct xcv_linux_link *l, struct xcv_port *port, uint8_t mark)
{
    volatile uint8_t *w = (volatile uint8_t *)l->shm.local;

    assert_int_equal(wait_byte(port, w, OFF_DEV_MARK, mark, STEP_MS), XCV_OK);
    assert_true(get_ptr(w, OFF_DEV_PTR) != 0u);
    put_ptr(w, OFF_DRV_PTR, l->shm.local);
    __atomic_store_n(&w[OFF_FLAG_DRV], mark, __ATOMIC_RELEASE);
    assert_int_equal(port->ops->notify(port->ctx, 0), XCV_OK);
    assert_int_equal(wait_byte(port, w, OFF_FLAG_DEV, mark, STEP_MS), XCV_OK);
    /* Let the device finish ringing, then drain: the next wait starts from a quiet doorbell. */
    for (int i = 0; i < STEP_MS && __atomic_load_n(&w[OFF_DONE], __ATOMIC_ACQUIRE) != mark; i++)
        usleep(1000);
    assert_int_equal(w[OFF_DONE], mark);
    assert_true(xcv_linux_link_ack(l) >= 0);
}

/* ---- tests: cooperative peers --------------------------------------------------------- */

static void test_handshake_window_doorbells(void **state)
{
    struct dev_args a = {.accepts = 1};
    struct xcv_linux_link l;
    struct xcv_port port;
    struct xcv_window win;
    void *spacer;
    pid_t pid;
    uint64_t t0;
    int fds_before = count_fds();

    (void)state;
    pid = spawn(device_child, &a);
    /* Occupy the address the child is likely to use, so our mapping lands elsewhere. */
    spacer = mmap(NULL, WIN_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(spacer != MAP_FAILED);

    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    assert_int_equal(l.role, XCV_ROLE_DRIVER);
    assert_false(l.busy_poll);
    assert_false(l.file_backed);
    assert_true(l.shm.size == WIN_SIZE);
    assert_int_equal(xcv_linux_link_window(&l, &win), XCV_OK);
    assert_true(win.bus_base == 0x1000u);
    assert_true(win.size == WIN_SIZE);
    xcv_linux_port_init(&l, &port);
    assert_null(port.ops->cache_clean);
    assert_null(port.ops->lock);
    assert_non_null(port.ops->log);

    driver_round(&l, &port, 0xd0);
    /* Both saw each other's writes, at different local addresses. */
    assert_true(get_ptr((volatile uint8_t *)l.shm.local, OFF_DEV_PTR) != (uintptr_t)l.shm.local);

    /* Nothing rung now: a wait expires at its deadline, not before, and not much after. */
    t0 = now_ns();
    assert_int_equal(port_wait(&port, 100), XCV_ETIMEDOUT);
    assert_true(now_ns() - t0 >= 100000000u);
    assert_true(now_ns() - t0 < 2000000000u);
    /* A deadline in the past: immediate timeout. */
    assert_int_equal(port.ops->wait(port.ctx, 0), XCV_ETIMEDOUT);

    xcv_linux_link_close(&l);
    assert_int_equal(reap(pid, STEP_MS), 0);
    munmap(spacer, WIN_SIZE);
    assert_int_equal(count_fds(), fds_before);
}

static void test_event_fd_and_ack(void **state)
{
    struct dev_args a = {.accepts = 1, .rings = 2};
    struct xcv_linux_link l;
    struct xcv_port port;
    struct pollfd pfd;
    pid_t pid;

    (void)state;
    pid = spawn(device_child, &a);
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    xcv_linux_port_init(&l, &port);
    assert_int_equal(xcv_linux_link_event_fd(&l), l.efd_rx);

    /* The device rings three times before waiting for us: the fd becomes readable. */
    pfd.fd = xcv_linux_link_event_fd(&l);
    pfd.events = POLLIN;
    pfd.revents = 0;
    assert_int_equal(poll(&pfd, 1, STEP_MS), 1);
    assert_true(wait_byte(&port, (volatile uint8_t *)l.shm.local, OFF_DEV_MARK, 0xd0, STEP_MS) ==
                XCV_OK);
    /* The counter coalesces rings; ack drains them (the wait above may have drained some). */
    {
        int n = xcv_linux_link_ack(&l);

        assert_true(n >= 0 && n <= 3);
    }
    assert_int_equal(xcv_linux_link_ack(&l), 0);
    pfd.revents = 0;
    assert_int_equal(poll(&pfd, 1, 0), 0);

    driver_round(&l, &port, 0xd0);
    xcv_linux_link_close(&l);
    assert_int_equal(reap(pid, STEP_MS), 0);
    assert_int_equal(xcv_linux_link_event_fd(&l), XCV_EINVAL);
    assert_int_equal(xcv_linux_link_ack(NULL), XCV_EINVAL);
}

static void test_busy_poll(void **state)
{
    struct dev_args a = {.accepts = 1, .busy_poll = true};
    struct xcv_linux_link l;
    struct xcv_port port;
    struct pollfd pfd;
    uint64_t t0;
    uint64_t deadline;
    int rc;
    int spins = 0;
    pid_t pid;

    (void)state;
    pid = spawn(device_child, &a);
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    assert_true(l.busy_poll); /* adopted from the device side */
    xcv_linux_port_init(&l, &port);

    /* notify rings nothing: the outgoing eventfd stays at zero. */
    assert_int_equal(port.ops->notify(port.ctx, 0), XCV_OK);
    pfd.fd = l.efd_tx;
    pfd.events = POLLIN;
    pfd.revents = 0;
    assert_int_equal(poll(&pfd, 1, 0), 0);

    /* The round trip works by polling the window alone. */
    driver_round(&l, &port, 0xd0);
    pfd.revents = 0;
    assert_int_equal(poll(&pfd, 1, 0), 0);
    pfd.fd = l.efd_rx;
    pfd.revents = 0;
    assert_int_equal(poll(&pfd, 1, 0), 0); /* and the device rang nothing either */

    /* wait spins briefly and returns 0 until the deadline, then reports the timeout. */
    t0 = now_ns();
    deadline = t0 + 30000000u;
    while ((rc = port.ops->wait(port.ctx, deadline)) == XCV_OK)
        spins++;
    assert_int_equal(rc, XCV_ETIMEDOUT);
    assert_true(now_ns() >= deadline);
    assert_true(now_ns() - t0 < 1000000000u);
    assert_true(spins > 1); /* it handed control back several times */

    xcv_linux_link_close(&l);
    assert_int_equal(reap(pid, STEP_MS), 0);
}

static void test_driver_restart_and_reconnect(void **state)
{
    struct dev_args a = {.accepts = 3};
    struct xcv_linux_link l;
    struct xcv_port port;
    void *local;
    pid_t pid;

    (void)state;
    pid = spawn(device_child, &a);
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    xcv_linux_port_init(&l, &port);
    driver_round(&l, &port, 0xd0);
    ((volatile uint8_t *)l.shm.local)[OFF_DRV_MARK] = 0x77;

    /* Reconnect to the same, still running device: same window, mapping kept. */
    local = l.shm.local;
    assert_int_equal(xcv_linux_link_reconnect(&l, STEP_MS), XCV_OK);
    assert_ptr_equal(l.shm.local, local);
    driver_round(&l, &port, 0xd1);

    /* A restarted driver (fresh link) gets the same memory: it sees what was written. */
    xcv_linux_link_close(&l);
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    assert_int_equal(((volatile uint8_t *)l.shm.local)[OFF_DRV_MARK], 0x77);
    driver_round(&l, &port, 0xd2);

    xcv_linux_link_close(&l);
    assert_int_equal(reap(pid, STEP_MS), 0);
}

static void test_device_restart_file_backed(void **state)
{
    struct dev_args first = {.accepts = 1, .file_backed = true};
    struct dev_args second = {.accepts = 1, .file_backed = true, .pre_mark = 0x5e};
    struct xcv_linux_link l;
    struct xcv_port port;
    void *local;
    pid_t pid;

    (void)state;
    pid = spawn(device_child, &first);
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    assert_true(l.file_backed);
    xcv_linux_port_init(&l, &port);
    driver_round(&l, &port, 0xd0);
    ((volatile uint8_t *)l.shm.local)[OFF_DRV_MARK] = 0x5e;
    /* The new device must set these again. */
    ((volatile uint8_t *)l.shm.local)[OFF_DEV_MARK] = 0;
    ((volatile uint8_t *)l.shm.local)[OFF_FLAG_DEV] = 0;
    ((volatile uint8_t *)l.shm.local)[OFF_DONE] = 0;

    /* The device process goes away: the driver can tell. */
    shutdown(l.sock, SHUT_WR);
    assert_int_equal(reap(pid, STEP_MS), 0);
    assert_int_equal(xcv_linux_link_check_peer(&l), XCV_EPEERRESET);

    /* A new device process reopens the same file (checking it sees our mark) and listens. */
    pid = spawn(device_child, &second);
    local = l.shm.local;
    assert_int_equal(xcv_linux_link_reconnect(&l, STEP_MS), XCV_OK);
    assert_ptr_equal(l.shm.local, local); /* the mapping is kept */
    assert_int_equal(xcv_linux_link_check_peer(&l), XCV_OK);
    driver_round(&l, &port, 0xd0); /* the new eventfds work both ways */

    xcv_linux_link_close(&l);
    assert_int_equal(reap(pid, STEP_MS), 0);
}

static void test_device_restart_memfd(void **state)
{
    struct dev_args a = {.accepts = 1};
    struct xcv_linux_link l;
    struct xcv_port port;
    pid_t pid;

    (void)state;
    pid = spawn(device_child, &a);
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, STEP_MS), XCV_OK);
    xcv_linux_port_init(&l, &port);
    driver_round(&l, &port, 0xd0);
    ((volatile uint8_t *)l.shm.local)[OFF_DRV_MARK] = 0x42;
    shutdown(l.sock, SHUT_WR);
    assert_int_equal(reap(pid, STEP_MS), 0);

    /* The new device has new anonymous memory: reconnect maps it and says so. */
    pid = spawn(device_child, &a);
    assert_int_equal(xcv_linux_link_reconnect(&l, STEP_MS), XCV_LINUX_WINDOW_NEW);
    assert_int_equal(((volatile uint8_t *)l.shm.local)[OFF_DRV_MARK], 0);
    driver_round(&l, &port, 0xd0);
    xcv_linux_link_close(&l);
    assert_int_equal(reap(pid, STEP_MS), 0);
}

/* ---- tests: hostile or absent peers --------------------------------------------------- */

enum fake_case {
    FAKE_BAD_MAGIC,
    FAKE_BAD_VERSION,
    FAKE_UNKNOWN_FLAG,
    FAKE_RESERVED_SET,
    FAKE_TWO_FDS,
    FAKE_NO_FDS,
    FAKE_FOUR_FDS,
    FAKE_COUNT_FIELD,
    FAKE_SIZE_MISMATCH,
    FAKE_SIZE_ZERO,
    FAKE_BUS_WRAPS,
    FAKE_UNSEALED,
    FAKE_PIPE_AS_EVENTFD,
    FAKE_PIPE_AS_WINDOW,
    FAKE_SHORT,
    FAKE_LONG,
    FAKE_HANGUP,
    FAKE_NUM_CASES
};

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int fake_send(int sock, const uint8_t *raw, size_t len, const int *fds, size_t nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = (void *)raw, .iov_len = len};
    struct msghdr msg;

    memset(&msg, 0, sizeof(msg));
    memset(&ctl, 0, sizeof(ctl));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        struct cmsghdr *cm;

        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* One hostile answer per connection, in enum order; then a silent peer. */
static int fake_device_child(void *arg)
{
    struct sockaddr_un sa;
    int ls;
    int c;

    (void)arg;
    ls = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHILD_CHECK(ls >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, g_sock);
    CHILD_CHECK(bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHILD_CHECK(listen(ls, 4) == 0);

    for (c = 0; c <= FAKE_NUM_CASES; c++) {
        uint8_t raw[40] = {0};
        size_t len = 32;
        int fds[4];
        size_t nfds = 3;
        int pipefd[2];
        int conn = accept(ls, NULL, NULL);
        struct xcv_linux_shm shm;
        uint64_t size = 65536;

        CHILD_CHECK(conn >= 0);
        if (c == FAKE_NUM_CASES) { /* silent: wait for the driver to give up */
            struct pollfd pfd = {.fd = conn, .events = POLLIN, .revents = 0};

            poll(&pfd, 1, STEP_MS);
            close(conn);
            break;
        }
        CHILD_CHECK(pipe(pipefd) == 0);
        if (c == FAKE_UNSEALED) {
            int m = memfd_create("unsealed", 0);

            CHILD_CHECK(m >= 0 && ftruncate(m, (off_t)size) == 0);
            shm.fd = m;
        } else {
            CHILD_CHECK(xcv_linux_shm_create((size_t)size, &shm) == XCV_OK);
        }
        fds[0] = c == FAKE_PIPE_AS_WINDOW ? pipefd[0] : shm.fd;
        fds[1] = eventfd(0, EFD_NONBLOCK);
        fds[2] = c == FAKE_PIPE_AS_EVENTFD ? pipefd[1] : eventfd(0, EFD_NONBLOCK);
        fds[3] = eventfd(0, 0);

        le32(raw + 0, c == FAKE_BAD_MAGIC ? 0x12345678u : XCV_LINUX_HELLO_MAGIC);
        raw[4] = c == FAKE_BAD_VERSION ? 2 : XCV_LINUX_HELLO_VERSION;
        raw[6] = c == FAKE_UNKNOWN_FLAG ? 0x80 : 0;
        le32(raw + 8, c == FAKE_COUNT_FIELD ? 4u : 3u);
        le32(raw + 12, c == FAKE_RESERVED_SET ? 1u : 0u);
        le64(raw + 16, c == FAKE_SIZE_MISMATCH ? 2 * size : c == FAKE_SIZE_ZERO ? 0 : size);
        le64(raw + 24, c == FAKE_BUS_WRAPS ? UINT64_MAX - 100u : 0u);
        if (c == FAKE_TWO_FDS)
            nfds = 2;
        if (c == FAKE_NO_FDS)
            nfds = 0;
        if (c == FAKE_FOUR_FDS || c == FAKE_COUNT_FIELD)
            nfds = c == FAKE_FOUR_FDS ? 4 : 3;
        if (c == FAKE_SHORT)
            len = 16;
        if (c == FAKE_LONG)
            len = 40;
        if (c != FAKE_HANGUP)
            CHILD_CHECK(fake_send(conn, raw, len, fds, nfds) == 0);
        close(conn);
        close(pipefd[0]);
        close(pipefd[1]);
        if (c != FAKE_UNSEALED)
            xcv_linux_shm_close(&shm);
        else
            close(shm.fd);
        for (int i = 1; i < 4; i++) {
            if (!(i == 2 && c == FAKE_PIPE_AS_EVENTFD))
                close(fds[i]);
        }
    }
    close(ls);
    return 0;
}

static void test_malformed_handshakes(void **state)
{
    struct xcv_linux_link l;
    int fds_before;
    uint64_t t0;
    pid_t pid;
    int c;

    (void)state;
    pid = spawn(fake_device_child, NULL);
    fds_before = count_fds();
    for (c = 0; c < FAKE_NUM_CASES; c++) {
        int rc = xcv_linux_link_connect(&l, g_sock, STEP_MS);

        if (rc != XCV_EPROTO_MSG)
            fail_msg("hostile handshake case %d: expected XCV_EPROTO_MSG, got %d", c, rc);
        /* Every descriptor received was closed, and the link is left closed. */
        assert_int_equal(count_fds(), fds_before);
        assert_int_equal(l.sock, -1);
        assert_int_equal(l.shm.fd, -1);
        assert_null(l.shm.local);
    }
    /* A peer that accepts but never answers: the connect times out on time. */
    t0 = now_ns();
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, 200), XCV_ETIMEDOUT);
    assert_true(now_ns() - t0 >= 200000000u);
    assert_true(now_ns() - t0 < 3000000000u);
    assert_int_equal(count_fds(), fds_before);
    assert_int_equal(reap(pid, STEP_MS), 0);
}

static void test_nobody_listening(void **state)
{
    struct xcv_linux_link l;
    uint64_t t0 = now_ns();
    int fds_before = count_fds();

    (void)state;
    assert_int_equal(xcv_linux_link_connect(&l, g_sock, 150), XCV_ETIMEDOUT);
    assert_true(now_ns() - t0 >= 150000000u);
    assert_true(now_ns() - t0 < 3000000000u);
    assert_int_equal(count_fds(), fds_before);
    /* Device side: no driver comes. */
    {
        struct xcv_linux_link_config cfg = {.window_size = 4096};

        assert_int_equal(xcv_linux_link_listen(&l, g_sock, &cfg), XCV_OK);
        t0 = now_ns();
        assert_int_equal(xcv_linux_link_accept(&l, 100), XCV_ETIMEDOUT);
        assert_true(now_ns() - t0 >= 100000000u);
        assert_int_equal(xcv_linux_link_check_peer(&l), XCV_EPEERRESET); /* never connected */
        xcv_linux_link_close(&l);
    }
    /* The device removed its socket file on close. */
    assert_int_equal(access(g_sock, F_OK), -1);
    assert_int_equal(count_fds(), fds_before);
}

/* ---- tests: local API ----------------------------------------------------------------- */

static void test_shm_api(void **state)
{
    struct xcv_linux_shm a;
    struct xcv_linux_shm b;
    struct xcv_linux_shm c;
    int fd;

    (void)state;
    assert_int_equal(xcv_linux_shm_create(0, &a), XCV_EINVAL);
    assert_int_equal(xcv_linux_shm_create(4096, NULL), XCV_EINVAL);
    assert_int_equal(xcv_linux_shm_create(8192, &a), XCV_OK);
    assert_true(a.size == 8192u);

    /* A second mapping of the same fd aliases the first at another address. */
    fd = dup(a.fd);
    assert_true(fd >= 0);
    assert_int_equal(xcv_linux_shm_map_fd(fd, 4096, &b), XCV_EINVAL); /* wrong size */
    assert_int_equal(xcv_linux_shm_map_fd(fd, 0, &b), XCV_OK);        /* take st_size */
    assert_ptr_not_equal(a.local, b.local);
    ((volatile uint8_t *)a.local)[100] = 0x99;
    assert_int_equal(((volatile uint8_t *)b.local)[100], 0x99);
    xcv_linux_shm_close(&b);
    assert_int_equal(b.fd, -1);
    xcv_linux_shm_close(&b); /* idempotent */

    /* Sealed: nobody can shrink it under the mappings. */
    assert_int_equal(ftruncate(a.fd, 4096), -1);
    xcv_linux_shm_close(&a);

    /* File-backed: create, reopen with the contents kept, refuse a size change. */
    assert_int_equal(xcv_linux_shm_open_path(g_shm, 4096, false, &c), XCV_EPORT);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(xcv_linux_shm_open_path(g_shm, 4096, true, &c), XCV_OK);
    ((volatile uint8_t *)c.local)[7] = 0x31;
    xcv_linux_shm_close(&c);
    assert_int_equal(xcv_linux_shm_open_path(g_shm, 8192, true, &c), XCV_EINVAL);
    assert_int_equal(xcv_linux_shm_open_path(g_shm, 0, false, &c), XCV_OK);
    assert_true(c.size == 4096u);
    assert_int_equal(((volatile uint8_t *)c.local)[7], 0x31);
    xcv_linux_shm_close(&c);
    assert_int_equal(xcv_linux_shm_open_path("/", 4096, false, &c), XCV_EPORT); /* EISDIR */
}

static void test_listen_args(void **state)
{
    struct xcv_linux_link l;
    struct xcv_linux_link_config cfg = {.window_size = 4096};
    char longpath[200];
    int fd;

    (void)state;
    assert_int_equal(xcv_linux_link_listen(&l, NULL, &cfg), XCV_EINVAL);
    assert_int_equal(xcv_linux_link_listen(&l, g_sock, NULL), XCV_EINVAL);
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(xcv_linux_link_listen(&l, longpath, &cfg), XCV_EINVAL);
    cfg.window_size = 0;
    assert_int_equal(xcv_linux_link_listen(&l, g_sock, &cfg), XCV_EINVAL);
    cfg.window_size = 4096;
    cfg.bus_base = UINT64_MAX - 10u;
    assert_int_equal(xcv_linux_link_listen(&l, g_sock, &cfg), XCV_EINVAL);
    cfg.bus_base = 0;
    assert_int_equal(xcv_linux_link_accept(&l, 10), XCV_EINVAL); /* not listening */

    /* A regular file at the socket path is not replaced. */
    fd = open(g_sock, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(xcv_linux_link_listen(&l, g_sock, &cfg), XCV_EINVAL);
    assert_int_equal(access(g_sock, F_OK), 0);
    unlink(g_sock);

    /* A stale socket file (a crashed device) is replaced. */
    {
        struct sockaddr_un sa;
        int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        strcpy(sa.sun_path, g_sock);
        assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(s);
    }
    assert_int_equal(xcv_linux_link_listen(&l, g_sock, &cfg), XCV_OK);
    xcv_linux_link_close(&l);
    xcv_linux_link_close(&l); /* idempotent */
}

static void test_clock_log_entropy(void **state)
{
    struct xcv_linux_link l;
    struct xcv_port port;
    uint64_t a;
    uint64_t b;
    uint8_t buf[64];
    uint8_t zero[64] = {0};

    (void)state;
    memset(&l, 0, sizeof(l));
    xcv_linux_port_init(&l, &port);
    a = port.ops->now_ns(port.ctx);
    usleep(1000);
    b = port.ops->now_ns(port.ctx);
    assert_true(b >= a + 1000000u);
    port.ops->log(port.ctx, XCV_LOG_INFO, "test log line", 3, XCV_ETIMEDOUT);

    memset(buf, 0, sizeof(buf));
    assert_int_equal(xcv_linux_entropy(buf, sizeof(buf)), XCV_OK);
    assert_memory_not_equal(buf, zero, sizeof(buf)); /* 2^-512 chance of a false failure */
    assert_int_equal(xcv_linux_entropy(NULL, 0), XCV_OK);
    assert_int_equal(xcv_linux_entropy(NULL, 1), XCV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_window_doorbells, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_fd_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_driver_restart_and_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_restart_file_backed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_restart_memfd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_handshakes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nobody_listening, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shm_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_log_entropy, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
