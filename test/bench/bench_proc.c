/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two processes: the B0 floors that need them (cache-line round trip over shared memory, raw
 * eventfd round trip) and B3, the notified round trip through the Linux port, a channel and a
 * virtqueue with EVENT_IDX.
 *
 * One helper process, forked at start and pinned to BENCH_CPU_B, is the device side of a
 * channel (xcv_linux_link_listen: memfd window, two eventfds, UNIX socket). This process (pinned
 * to BENCH_CPU_A) is the driver side. Both keep running for the whole benchmark; a small control
 * block in memory shared at fork time tells the helper which phase it is in:
 *   RAW    each doorbell from the driver is answered with one doorbell (raw eventfd ping-pong);
 *   SERVE  each doorbell runs xcv_channel_poll(), which serves EVENT_AVAIL through the device's
 *          notify callback (xcv_vq_device_process(), then EVENT_USED and a doorbell back);
 *   CL     the helper answers a cache-line ping-pong in the control block.
 * Both raw and notified round trips use the same eventfds and the same system calls on each
 * side (write to ring; poll, then read to drain).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xcvirtio/port_linux.h"
#include "xcvirtio/xcvirtio.h"

#include "bench.h"

#define WINDOW_BYTES (1u << 20)
#define QUEUE_AREA (256u << 10)
#define QSIZE 256u
#define BENCH_DEV_ID 0xbe0cu
#define WAIT_MS 2000

enum phase {
    PH_IDLE = 0,
    PH_RAW = 1,
    PH_SERVE = 2,
    PH_CL = 3,
    PH_EXIT = 4
};

/* Shared between the two processes (anonymous shared mapping made before fork). */
struct proc_ctl {
    _Alignas(BENCH_LINE) _Atomic uint64_t line; /* cache-line ping-pong */
    _Alignas(BENCH_LINE) _Atomic int phase;
    _Atomic uint32_t req; /* driver: phase change requests */
    _Atomic uint32_t ack; /* helper: last request taken */
    uint32_t cl_rounds;
    _Atomic uint64_t dev_calls; /* doorbells rung by the helper in SERVE */
    _Atomic int dev_err;
};

static struct proc_ctl *g_ctl;
static pid_t g_child = -1;
static char g_sock[108];

/* ---- a port that counts doorbells and forwards to the Linux port ---- */

struct count_port {
    struct xcv_port inner;
    struct xcv_port_ops ops;
    struct xcv_port port;
    _Atomic uint64_t *calls;
};

static int count_notify(void *ctx, uint32_t db)
{
    struct count_port *c = ctx;
    atomic_fetch_add_explicit(c->calls, 1u, memory_order_relaxed);
    return c->inner.ops->notify(c->inner.ctx, db);
}
static uint64_t count_now(void *ctx)
{
    struct count_port *c = ctx;
    return c->inner.ops->now_ns(c->inner.ctx);
}
static int count_wait(void *ctx, uint64_t deadline)
{
    struct count_port *c = ctx;
    return c->inner.ops->wait(c->inner.ctx, deadline);
}
static void count_log(void *ctx, enum xcv_log_level lv, const char *what, uint32_t id, int err)
{
    (void)ctx;
    fprintf(stderr, "xcv_bench: %s (id %u): %s\n", what, id, xcv_strerror(err));
    (void)lv;
}

static void count_port_init(struct count_port *c, struct xcv_linux_link *l, _Atomic uint64_t *n)
{
    xcv_linux_port_init(l, &c->inner);
    c->ops = (struct xcv_port_ops){
        .notify = count_notify, .now_ns = count_now, .wait = count_wait, .log = count_log};
    c->port.ops = &c->ops;
    c->port.ctx = c;
    c->calls = n;
}

/* ---- eventfd helpers (the same calls in both phases) ---- */

static int efd_ring(int fd)
{
    uint64_t one = 1;
    return write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : -1;
}

/* poll, then read to drain. 0 when rung, -1 on timeout or error. */
static int efd_wait(int fd, int timeout_ms)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        uint64_t v;
        ssize_t n = read(fd, &v, sizeof(v));
        if (n == (ssize_t)sizeof(v))
            return 0;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        return -1;
    }
}

/* ---- the helper: device side ---- */

struct helper {
    struct xcv_vdev vdev;
    struct xcv_vdev_queue queue[1];
    struct xcv_vq_dev_slot slots[QSIZE];
    struct xcv_iov iov[4];
    struct xcv_chain chain;
};

static int h_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    (void)ctx;
    (void)c;
    *written = 0;
    return 0;
}

static void h_notify(void *ctx, struct xcv_vdev *dev, uint16_t q)
{
    struct helper *h = ctx;
    struct xcv_vq_device *vq = xcv_vdev_queue(dev, q);
    if (vq == NULL)
        return;
    int r = xcv_vq_device_process(vq, 64, &h->chain, h_chain, h);
    if (r < 0)
        atomic_store(&g_ctl->dev_err, r);
}

static void h_reset(void *ctx, struct xcv_vdev *dev)
{
    (void)ctx;
    (void)dev;
}

static const struct xcv_vdev_ops h_ops = {.notify = h_notify, .reset = h_reset};

static void helper_cacheline(uint32_t rounds)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < rounds; i++) {
        ++v;
        while (atomic_load_explicit(&g_ctl->line, memory_order_acquire) != v)
            bench_spin();
        atomic_store_explicit(&g_ctl->line, ++v, memory_order_release);
    }
}

static int helper_main(void)
{
    (void)bench_pin_self(BENCH_CPU_B);
    static struct xcv_linux_link l;
    struct xcv_linux_link_config lc = {.window_size = WINDOW_BYTES};
    int r = xcv_linux_link_listen(&l, g_sock, &lc);
    if (r != XCV_OK) {
        fprintf(stderr, "xcv_bench helper: listen: %s\n", xcv_strerror(r));
        return 1;
    }
    static struct count_port cp;
    count_port_init(&cp, &l, &g_ctl->dev_calls);
    static struct xcv_channel ch;
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DEVICE, .port = &cp.port, .queue_area_size = QUEUE_AREA, .msg_slots = 64};
    (void)xcv_linux_link_window(&l, &cc.window);
    static struct helper h;
    h.queue[0].slots = h.slots;
    h.queue[0].max_size = QSIZE;
    h.chain.iov = h.iov;
    h.chain.cap = 4;
    struct xcv_vdev_config dc = {.device_id = BENCH_DEV_ID,
                                 .vendor_id = 0x5856,
                                 .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
                                 .queues = h.queue,
                                 .num_queues = 1,
                                 .max_chain = 4,
                                 .ops = &h_ops,
                                 .ctx = &h};
    r = xcv_channel_init(&ch, &cc);
    if (r == XCV_OK)
        r = xcv_vdev_register(&ch, &h.vdev, &dc);
    if (r >= 0)
        r = xcv_linux_link_accept(&l, 10000);
    if (r < 0) {
        fprintf(stderr, "xcv_bench helper: setup: %s\n", xcv_strerror(r));
        xcv_linux_link_close(&l);
        return 1;
    }
    uint32_t taken = 0;
    int phase = PH_IDLE;
    for (;;) {
        struct pollfd p[2] = {{.fd = l.efd_rx, .events = POLLIN},
                              {.fd = l.sock, .events = POLLRDHUP}};
        int pr = poll(p, 2, 1000);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0)
            break;
        bool rung = pr > 0 && (p[0].revents & POLLIN) != 0;
        if (rung)
            (void)xcv_linux_link_ack(&l);
        uint32_t req = atomic_load(&g_ctl->req);
        if (req != taken) {
            taken = req;
            phase = atomic_load(&g_ctl->phase);
            atomic_store(&g_ctl->ack, req);
            if (phase == PH_EXIT)
                break;
            if (phase == PH_CL) {
                helper_cacheline(g_ctl->cl_rounds);
                phase = PH_IDLE;
            } else {
                (void)efd_ring(l.efd_tx);
            }
            continue;
        }
        if (phase == PH_RAW) {
            if (rung)
                (void)efd_ring(l.efd_tx);
            continue;
        }
        r = xcv_channel_poll(&ch, 64);
        if (r < 0 && r != XCV_EPEERRESET) {
            atomic_store(&g_ctl->dev_err, r);
            break;
        }
    }
    xcv_channel_detach(&ch);
    xcv_linux_link_close(&l);
    return 0;
}

/* ---- the driver side (this process) ---- */

static struct xcv_linux_link g_link;
static struct count_port g_cport;
static _Atomic uint64_t g_drv_calls;
static struct xcv_channel g_ch;
static struct xcv_vdrv g_drv;
static struct xcv_vdrv_queue g_queue[1];
static struct xcv_vq_drv_slot g_dslots[QSIZE];
static struct xcv_vq_driver *g_q;
static uint64_t g_buf_bus;
static char g_tok;
static double g_kicks_per_rt, g_calls_per_rt;

static void d_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)q;
    (void)token;
    (void)err;
}

static const struct xcv_vdrv_ops d_ops = {.cancel = d_cancel};

/* Ask the helper to enter @p phase and wait until it took the request. */
static int set_phase(int phase)
{
    atomic_store(&g_ctl->phase, phase);
    uint32_t req = atomic_fetch_add(&g_ctl->req, 1u) + 1u;
    if (efd_ring(g_link.efd_tx) != 0)
        return -1;
    if (phase == PH_CL || phase == PH_EXIT) {
        uint64_t end = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
        while (atomic_load(&g_ctl->ack) != req)
            if (bench_now_ns() > end)
                return -1;
        return 0;
    }
    while (atomic_load(&g_ctl->ack) != req)
        if (efd_wait(g_link.efd_rx, WAIT_MS) != 0)
            return -1;
    (void)xcv_linux_link_ack(&g_link); /* nothing stale left for the next phase */
    return 0;
}

int bench_proc_start(void)
{
    g_ctl = mmap(NULL, sizeof(*g_ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_ctl == MAP_FAILED)
        return -1;
    memset(g_ctl, 0, sizeof(*g_ctl));
    snprintf(g_sock, sizeof(g_sock), "/tmp/xcv-bench-%ld.sock", (long)getpid());
    fflush(NULL);
    g_child = fork();
    if (g_child < 0)
        return -1;
    if (g_child == 0) {
        alarm(3600); /* never outlive a stuck run */
        _exit(helper_main());
    }
    (void)bench_pin_self(BENCH_CPU_A);
    int r = xcv_linux_link_connect(&g_link, g_sock, 10000);
    if (r != XCV_OK) {
        fprintf(stderr, "xcv_bench: connect: %s\n", xcv_strerror(r));
        return -1;
    }
    count_port_init(&g_cport, &g_link, &g_drv_calls);
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DRIVER, .port = &g_cport.port, .timeout_ns = 2000000000u};
    (void)xcv_linux_link_window(&g_link, &cc.window);
    r = xcv_channel_connect(&g_ch, &cc);
    g_queue[0].slots = g_dslots;
    g_queue[0].size = QSIZE;
    struct xcv_vdrv_config oc = {.dev_num = 0,
                                 .device_id = BENCH_DEV_ID,
                                 .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) |
                                             XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
                                 .queues = g_queue,
                                 .num_queues = 1,
                                 .ops = &d_ops};
    if (r == XCV_OK)
        r = xcv_vdrv_open(&g_ch, &g_drv, &oc);
    g_q = r == XCV_OK ? xcv_vdrv_queue(&g_drv, 0) : NULL;
    const struct xcv_window *pa = xcv_channel_pool_area(&g_ch);
    if (r != XCV_OK || g_q == NULL || pa == NULL) {
        fprintf(stderr, "xcv_bench: channel setup: %s\n", xcv_strerror(r));
        return -1;
    }
    if ((xcv_vdrv_features(&g_drv) & XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)) == 0u) {
        fprintf(stderr, "xcv_bench: EVENT_IDX not negotiated\n");
        return -1;
    }
    g_buf_bus = pa->bus_base;
    return 0;
}

void bench_proc_stop(void)
{
    if (g_child <= 0)
        return;
    (void)set_phase(PH_EXIT);
    xcv_channel_detach(&g_ch);
    xcv_linux_link_close(&g_link);
    int st;
    for (int i = 0; i < 200 && waitpid(g_child, &st, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(g_child, &st, WNOHANG) == 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, &st, 0);
    }
    g_child = -1;
}

double bench_proc_cacheline(unsigned rounds, unsigned batch)
{
    static double samples[4096];
    unsigned nb = batch != 0u ? rounds / batch : 0u;
    if (g_child <= 0 || nb == 0u || nb > 4096u)
        return -1.0;
    atomic_store(&g_ctl->line, 0);
    g_ctl->cl_rounds = nb * batch;
    if (set_phase(PH_CL) != 0)
        return -1.0;
    uint64_t v = 0;
    for (unsigned b = 0; b < nb; b++) {
        uint64_t t0 = bench_now_ns();
        for (unsigned i = 0; i < batch; i++) {
            atomic_store_explicit(&g_ctl->line, ++v, memory_order_release);
            ++v;
            while (atomic_load_explicit(&g_ctl->line, memory_order_acquire) != v)
                bench_spin();
        }
        samples[b] = (double)(bench_now_ns() - t0) / batch;
    }
    return bench_median(samples, nb);
}

double bench_proc_eventfd(unsigned rounds)
{
    static double samples[65536];
    if (g_child <= 0 || rounds == 0u || rounds > 65536u || set_phase(PH_RAW) != 0)
        return -1.0;
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t t0 = bench_now_ns();
        if (efd_ring(g_link.efd_tx) != 0 || efd_wait(g_link.efd_rx, WAIT_MS) != 0)
            return -1.0;
        samples[i] = (double)(bench_now_ns() - t0);
    }
    return bench_median(samples, rounds);
}

double bench_proc_notified(unsigned rounds)
{
    static double samples[65536];
    if (g_child <= 0 || rounds == 0u || rounds > 65536u || set_phase(PH_SERVE) != 0)
        return -1.0;
    uint64_t k0 = atomic_load(&g_drv_calls), c0 = atomic_load(&g_ctl->dev_calls);
    int efd = xcv_linux_link_event_fd(&g_link);
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t t0 = bench_now_ns();
        struct xcv_sg sg = {g_buf_bus, 64};
        int r = xcv_vq_driver_add(g_q, &sg, 0, 1, &g_tok);
        if (r == XCV_OK)
            r = xcv_vq_driver_kick(g_q);
        while (r >= 0) {
            void *tok;
            uint32_t len;
            r = xcv_vq_driver_get_used(g_q, &tok, &len);
            if (r == XCV_OK)
                break;
            if (r != XCV_EAGAIN)
                break;
            r = xcv_vq_driver_enable_notify(g_q);
            if (r != 0)
                continue; /* 1: used already pending; < 0: error */
            struct pollfd p = {.fd = efd, .events = POLLIN};
            if (poll(&p, 1, WAIT_MS) <= 0) {
                r = XCV_ETIMEDOUT; /* a lost notification */
                break;
            }
            (void)xcv_linux_link_ack(&g_link);
            r = xcv_channel_poll(&g_ch, 64);
        }
        if (r < 0) {
            fprintf(stderr, "xcv_bench: notified round trip: %s\n", xcv_strerror(r));
            return -1.0;
        }
        samples[i] = (double)(bench_now_ns() - t0);
    }
    g_kicks_per_rt = (double)(atomic_load(&g_drv_calls) - k0) / rounds;
    g_calls_per_rt = (double)(atomic_load(&g_ctl->dev_calls) - c0) / rounds;
    int de = atomic_load(&g_ctl->dev_err);
    if (de != 0) {
        fprintf(stderr, "xcv_bench: device side: %s\n", xcv_strerror(de));
        return -1.0;
    }
    return bench_median(samples, rounds);
}

void bench_proc_notified_stats(double *driver_kicks, double *device_calls)
{
    *driver_kicks = g_kicks_per_rt;
    *device_calls = g_calls_per_rt;
}
