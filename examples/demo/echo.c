/* SPDX-License-Identifier: Apache-2.0 */
/* The echo demo device and its client over the Linux port (see echo.h). */
#define _GNU_SOURCE
#include "echo.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t echo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- device ---------------------------------------------------------------------------- */

/* Copy the request into the response, transformed. The data stays in shared memory, which the
 * driver may change under us: each byte is read once and the result is only echoed back. */
static int echo_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    struct echo_dev *e = ctx;
    if (c->n_out != 1u || c->n_in != 1u) {
        e->stats->malformed++;
        *written = 0;
        return 0;
    }
    const uint8_t *in = c->iov[0].base;
    uint8_t *out = c->iov[1].base;
    uint32_t n = c->iov[0].len < c->iov[1].len ? c->iov[0].len : c->iov[1].len;
    uint32_t i = 0;
    for (; i + 8u <= n; i += 8u) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        w ^= UINT64_C(0x0101010101010101) * ECHO_XOR;
        memcpy(out + i, &w, 8);
    }
    for (; i < n; i++)
        out[i] = (uint8_t)(in[i] ^ ECHO_XOR);
    *written = n;
    e->stats->served++;
    return 0;
}

static void echo_notify(void *ctx, struct xcv_vdev *dev, uint16_t q)
{
    (void)dev;
    (void)q;
    struct echo_dev *e = ctx;
    int r = echo_dev_service(e, ECHO_BUDGET);
    if (r < 0)
        e->stats->last_error = r;
}

static void echo_reset(void *ctx, struct xcv_vdev *dev)
{
    (void)dev;
    struct echo_dev *e = ctx;
    e->stats->resets++;
    e->more = false;
}

static void echo_status(void *ctx, struct xcv_vdev *dev, uint8_t status)
{
    struct echo_dev *e = ctx;
    if (e->poll_mode && (status & XCV_VIRTIO_STATUS_DRIVER_OK)) {
        struct xcv_vq_device *q = xcv_vdev_queue(dev, 0);
        if (q != NULL)
            xcv_vq_device_disable_notify(q); /* we poll: the driver need not kick */
    }
}

static const struct xcv_vdev_ops echo_ops = {
    .notify = echo_notify,
    .reset = echo_reset,
    .status = echo_status,
};

int echo_dev_register(struct echo_dev *e, struct xcv_channel *ch, bool poll_mode,
                      struct echo_dev_stats *stats)
{
    memset(e, 0, sizeof(*e));
    e->poll_mode = poll_mode;
    e->stats = stats;
    e->queue[0].slots = e->slots;
    e->queue[0].max_size = ECHO_QUEUE_MAX;
    e->chain.iov = e->iov;
    e->chain.cap = 4;
    struct xcv_vdev_config dc = {
        .device_id = ECHO_DEVICE_ID,
        .vendor_id = 0x5856, /* "XV" */
        .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .queues = e->queue,
        .num_queues = 1,
        .max_chain = 4,
        .ops = &echo_ops,
        .ctx = e,
    };
    return xcv_vdev_register(ch, &e->vdev, &dc);
}

int echo_dev_service(struct echo_dev *e, unsigned budget)
{
    struct xcv_vq_device *q = xcv_vdev_queue(&e->vdev, 0);
    if (q == NULL || !(xcv_vdev_status(&e->vdev) & XCV_VIRTIO_STATUS_DRIVER_OK)) {
        e->more = false;
        return 0;
    }
    if (!e->poll_mode) {
        /* process() re-arms the driver's notification when the ring runs dry. */
        int r = xcv_vq_device_process(q, budget, &e->chain, echo_chain, e);
        e->more = r == (int)budget;
        return r;
    }
    /* Busy polling: pop and push by hand so notifications stay disabled. */
    unsigned n = 0;
    int r = 0;
    while (n < budget) {
        r = xcv_vq_device_pop(q, &e->chain);
        if (r == XCV_EAGAIN) {
            r = 0;
            break;
        }
        if (r < 0)
            break;
        uint32_t written = 0;
        (void)echo_chain(e, &e->chain, &written);
        r = xcv_vq_device_push(q, e->chain.head, written);
        if (r < 0)
            break;
        n++;
    }
    if (n != 0u) {
        int fr = xcv_vq_device_flush(q);
        if (r == 0 && fr < 0)
            r = fr;
    }
    e->more = n == budget;
    return r < 0 ? r : (int)n;
}

/* Busy polling on a loaded machine: after this many idle spins, give the CPU away once (the
 * peer may be waiting for it). */
#define ECHO_IDLE_SPINS 64u

static int serve_poll_once(struct xcv_channel *ch, struct echo_dev *e, unsigned *idle)
{
    int r = xcv_channel_poll(ch, ECHO_BUDGET);
    if (r == XCV_EPEERRESET) {
        e->stats->peer_resets++;
        return 0;
    }
    if (r < 0)
        return r;
    int busy = r;
    if (e->poll_mode || e->more) {
        r = echo_dev_service(e, ECHO_BUDGET);
        if (r < 0 && r != XCV_EBROKEN)
            e->stats->last_error = r; /* a broken queue raised NEEDS_RESET; keep serving */
        busy += r > 0 ? r : 0;
    }
    if (e->poll_mode && busy == 0 && ++*idle >= ECHO_IDLE_SPINS) {
        *idle = 0;
        sched_yield();
    } else if (busy != 0) {
        *idle = 0;
    }
    return 0;
}

int echo_serve(struct xcv_linux_link *l, struct xcv_channel *ch, struct echo_dev *e,
               const struct echo_serve_opts *o)
{
    uint64_t start = echo_now_ns();
    int hung_sock = -1; /* a connection seen closed: not watched until replaced */
    unsigned spins = 0;
    unsigned idle = 0;
    for (;;) {
        if (o->stop != NULL && *o->stop)
            return 0;
        bool check = !e->poll_mode || (++spins & 1023u) == 0u;
        if (check) {
            if (o->max_ns != 0u && echo_now_ns() - start > o->max_ns)
                return XCV_ETIMEDOUT;
            struct pollfd p[3];
            nfds_t n = 0;
            int i_ev = -1, i_sock = -1, i_listen = -1;
            if (!e->poll_mode) {
                i_ev = (int)n;
                p[n++] = (struct pollfd){.fd = l->efd_rx, .events = POLLIN};
            }
            if (l->sock >= 0 && l->sock != hung_sock) {
                i_sock = (int)n;
                p[n++] = (struct pollfd){.fd = l->sock, .events = POLLRDHUP};
            }
            if (o->accept_new && l->listen_sock >= 0) {
                i_listen = (int)n;
                p[n++] = (struct pollfd){.fd = l->listen_sock, .events = POLLIN};
            }
            int timeout = e->poll_mode || e->more ? 0 : 100;
            int pr = poll(p, n, timeout);
            if (pr < 0 && errno != EINTR)
                return XCV_EPORT;
            if (pr > 0 && i_sock >= 0 &&
                (p[i_sock].revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0) {
                if (o->exit_on_hangup)
                    return 0;
                hung_sock = l->sock;
            }
            if (pr > 0 && i_listen >= 0 && (p[i_listen].revents & POLLIN) != 0) {
                if (xcv_linux_link_accept(l, 0) == XCV_OK)
                    e->stats->accepts++;
            }
            if (pr > 0 && i_ev >= 0 && (p[i_ev].revents & POLLIN) != 0)
                (void)xcv_linux_link_ack(l);
        }
        int r = serve_poll_once(ch, e, &idle);
        if (o->tick != NULL)
            o->tick(o->tick_ctx);
        if (r < 0) {
            e->stats->last_error = r;
            return r;
        }
    }
}

/* ---- client ---------------------------------------------------------------------------- */

static void fill(uint8_t *p, uint32_t n, uint64_t seq)
{
    uint64_t x = seq * UINT64_C(0x9e3779b97f4a7c15) + 1u;
    uint32_t i = 0;
    for (; i + 8u <= n; i += 8u) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
    for (; i < n; i++)
        p[i] = (uint8_t)(seq + i);
}

static bool check(const uint8_t *resp, uint32_t n, uint64_t seq)
{
    uint64_t x = seq * UINT64_C(0x9e3779b97f4a7c15) + 1u;
    const uint64_t k = UINT64_C(0x0101010101010101) * ECHO_XOR;
    uint32_t i = 0;
    for (; i + 8u <= n; i += 8u) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t w;
        memcpy(&w, resp + i, 8);
        if (w != (x ^ k))
            return false;
    }
    for (; i < n; i++) {
        if (resp[i] != (uint8_t)((uint8_t)(seq + i) ^ ECHO_XOR))
            return false;
    }
    return true;
}

static void client_used(void *ctx, struct xcv_vdrv *d, uint16_t q)
{
    (void)ctx;
    (void)d;
    (void)q; /* reaped by the caller's loop */
}

static void client_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)d;
    (void)q;
    struct echo_client *c = ctx;
    c->cancelled++;
    if (err == XCV_EPEERRESET)
        c->cancelled_peer++;
    if (xcv_pool_free(&c->pool, token) != XCV_OK)
        c->bad++; /* a token that is not one of our buffers, or returned twice */
}

static const struct xcv_vdrv_ops client_ops = {
    .used = client_used,
    .cancel = client_cancel,
};

int echo_client_init(struct echo_client *c, struct xcv_channel *ch, struct xcv_linux_link *l,
                     uint32_t size, uint16_t qsize, bool poll_mode)
{
    memset(c, 0, sizeof(*c));
    c->ch = ch;
    c->link = l;
    c->size = size;
    c->poll_mode = poll_mode;
    const struct xcv_window *pa = xcv_channel_pool_area(ch);
    if (pa == NULL || size == 0u || qsize > ECHO_QUEUE_MAX)
        return XCV_EINVAL;
    uint32_t bsz = (2u * size + 63u) & ~63u;
    c->pool_count = XCV_POOL_COUNT(pa->size, bsz);
    if (c->pool_count == 0u)
        return XCV_ENOSPC;
    c->free_list = calloc(c->pool_count, sizeof(*c->free_list));
    c->seq_of = calloc(c->pool_count, sizeof(*c->seq_of));
    if (c->free_list == NULL || c->seq_of == NULL)
        return XCV_ENOMEM;
    int r = xcv_pool_init(&c->pool, pa, bsz, c->free_list, c->pool_count);
    if (r != XCV_OK)
        return r;
    c->base = pa->local;
    c->queue[0].slots = c->slots;
    c->queue[0].size = qsize;
    return echo_client_open(c);
}

int echo_client_open(struct echo_client *c)
{
    struct xcv_vdrv_config oc = {
        .dev_num = 0,
        .device_id = ECHO_DEVICE_ID,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
        .queues = c->queue,
        .num_queues = 1,
        .ops = &client_ops,
        .ctx = c,
    };
    c->q = NULL;
    int r = xcv_vdrv_open(c->ch, &c->drv, &oc);
    if (r != XCV_OK)
        return r;
    c->q = xcv_vdrv_queue(&c->drv, 0);
    if (c->q == NULL)
        return XCV_ESTATE;
    if (c->poll_mode)
        xcv_vq_driver_disable_notify(c->q); /* we poll the used ring */
    return XCV_OK;
}

int echo_client_post(struct echo_client *c, unsigned n)
{
    if (c->q == NULL)
        return XCV_ESTATE;
    unsigned done = 0;
    while (done < n) {
        uint64_t bus;
        uint8_t *buf = xcv_pool_alloc(&c->pool, &bus);
        if (buf == NULL)
            break;
        uint64_t seq = c->next_seq;
        fill(buf, c->size, seq);
        uint32_t half = xcv_pool_buf_size(&c->pool) / 2u;
        struct xcv_sg sg[2] = {{bus, c->size}, {bus + half, c->size}};
        int r = xcv_vq_driver_add(c->q, sg, 1, 1, buf);
        if (r != XCV_OK) {
            (void)xcv_pool_free(&c->pool, buf);
            if (r == XCV_ENOSPC)
                break;
            return r;
        }
        c->seq_of[(uint32_t)((buf - c->base) / xcv_pool_buf_size(&c->pool))] = seq;
        c->next_seq++;
        c->posted++;
        done++;
    }
    if (done != 0u) {
        int r = xcv_vq_driver_kick(c->q);
        if (r < 0)
            return r;
        if (r == 1)
            c->kicks++;
    }
    return (int)done;
}

int echo_client_reap(struct echo_client *c)
{
    if (c->q == NULL)
        return 0;
    int n = 0;
    for (;;) {
        void *tok;
        uint32_t len;
        int r = xcv_vq_driver_get_used(c->q, &tok, &len);
        if (r == XCV_EAGAIN)
            return n;
        if (r < 0)
            return r;
        uint8_t *buf = tok;
        uint32_t half = xcv_pool_buf_size(&c->pool) / 2u;
        uint64_t seq = c->seq_of[(uint32_t)((buf - c->base) / xcv_pool_buf_size(&c->pool))];
        if (len != c->size || !check(buf + half, c->size, seq))
            c->bad++;
        if (xcv_pool_free(&c->pool, buf) != XCV_OK)
            c->bad++;
        c->completed++;
        c->idle = 0;
        n++;
    }
}

unsigned echo_client_in_flight(const struct echo_client *c)
{
    return c->q != NULL ? xcv_vq_driver_in_flight(c->q) : 0u;
}

int echo_client_wait(struct echo_client *c, int timeout_ms)
{
    if (c->poll_mode || c->q == NULL) {
        int r = xcv_channel_poll(c->ch, ECHO_BUDGET);
        if (r == 0 && ++c->idle >= ECHO_IDLE_SPINS) {
            c->idle = 0;
            sched_yield();
        }
        return r < 0 ? r : 0;
    }
    int armed = xcv_vq_driver_enable_notify(c->q);
    if (armed < 0)
        return armed;
    if (armed == 0) {
        struct pollfd p = {.fd = xcv_linux_link_event_fd(c->link), .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno != EINTR)
            return XCV_EPORT;
        if (pr > 0)
            (void)xcv_linux_link_ack(c->link);
    }
    int r = xcv_channel_poll(c->ch, ECHO_BUDGET);
    return r < 0 ? r : 0;
}

void echo_client_fini(struct echo_client *c)
{
    free(c->free_list);
    free(c->seq_of);
    c->free_list = NULL;
    c->seq_of = NULL;
}
