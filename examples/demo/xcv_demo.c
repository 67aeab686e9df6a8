/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_demo: the two-process demo. One command, two compartments:
 *
 *   device process  formats a 4 MiB shared window (memfd), serves the echo device (one request
 *                   queue; each chain is [readable request][writable response]; the response is
 *                   the request XOR 0xa5), hands the window and two eventfds to the driver over
 *                   a UNIX socket.
 *   driver process  receives the window and the eventfds, opens the device with xcv_vdrv_open,
 *                   builds requests in place in pool buffers, checks every response byte.
 *
 * The processes share nothing else: the device process is forked before any setup and the
 * driver finds it by the socket path only.
 *
 * Standard devices on the same channel (devices.c): device 1 is a virtio-console (the device
 * process prints what the driver writes, prefixed "[device console]", and feeds a line back),
 * device 2 a virtio-rng fed by getrandom(). After the echo phases the driver reads 64 bytes of
 * entropy and exchanges one line each way on the console.
 *
 * Modes:
 *   --mode event  doorbells are eventfds; each side blocks on its event fd, then calls
 *                 xcv_channel_poll. Notification suppression (EVENT_IDX) decides when to ring.
 *   --mode poll   both sides busy-poll; notifications are disabled with the vq API and the port
 *                 rings nothing.
 *
 * Phases (driver side): a raw eventfd ping-pong over the link's own eventfds (the baseline),
 * a one-in-flight ping-pong through the virtqueue (round-trip latency), a streaming phase with
 * a window of requests in flight (throughput). Exit status 0 only when every response checked.
 *
 * Usage: xcv_demo [--mode poll|event] [--seconds S] [--size BYTES] [--window N]
 *                 [--requests N] [--latency-ms MS] [--raw-rounds N] [--socket PATH]
 *                 [--role both|device|driver]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices.h"
#include "echo.h"

#define WINDOW_BYTES (4u << 20)
#define QUEUE_AREA (256u << 10)
#define QUEUE_SIZE 256u
#define LAT_MAX_SAMPLES 200000u

struct opts {
    bool poll_mode;
    double seconds;
    uint32_t size;
    unsigned window;
    uint64_t requests; /* 0: run for seconds */
    unsigned latency_ms;
    unsigned raw_rounds;
    char socket[108];
    const char *role;
};

static void usage(void)
{
    fprintf(stderr, "usage: xcv_demo [--mode poll|event] [--seconds S] [--size BYTES] "
                    "[--window N] [--requests N] [--latency-ms MS] [--raw-rounds N] "
                    "[--socket PATH] [--role both|device|driver]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.poll_mode = false,
                       .seconds = 2.0,
                       .size = 64,
                       .window = 128,
                       .latency_ms = 500,
                       .raw_rounds = 20000,
                       .role = "both"};
    snprintf(o->socket, sizeof(o->socket), "/tmp/xcv-demo-%ld.sock", (long)getpid());
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        }
        if (v == NULL) {
            usage();
            return -1;
        }
        i++;
        if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "poll") == 0)
                o->poll_mode = true;
            else if (strcmp(v, "event") == 0)
                o->poll_mode = false;
            else
                return -1;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = atof(v);
        } else if (strcmp(a, "--size") == 0) {
            o->size = (uint32_t)strtoul(v, NULL, 0);
        } else if (strcmp(a, "--window") == 0) {
            o->window = (unsigned)strtoul(v, NULL, 0);
        } else if (strcmp(a, "--requests") == 0) {
            o->requests = strtoull(v, NULL, 0);
        } else if (strcmp(a, "--latency-ms") == 0) {
            o->latency_ms = (unsigned)strtoul(v, NULL, 0);
        } else if (strcmp(a, "--raw-rounds") == 0) {
            o->raw_rounds = (unsigned)strtoul(v, NULL, 0);
        } else if (strcmp(a, "--socket") == 0) {
            snprintf(o->socket, sizeof(o->socket), "%s", v);
        } else if (strcmp(a, "--role") == 0) {
            o->role = v;
        } else {
            usage();
            return -1;
        }
    }
    if (o->size == 0u || o->size > 32768u || o->window == 0u || o->window > QUEUE_SIZE / 2u ||
        o->seconds <= 0.0 || o->seconds > 60.0 || o->raw_rounds == 0u) {
        fprintf(stderr, "xcv_demo: bad option value\n");
        return -1;
    }
    return 0;
}

/* ---- raw eventfd ping-pong over the link's eventfds (poll + read, as the port does) ---- */

static int efd_wait_read(int fd, uint64_t *v, int timeout_ms)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, v, sizeof(*v));
        if (n == (ssize_t)sizeof(*v))
            return 0;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        return -1;
    }
}

static int efd_write(int fd, uint64_t v)
{
    return write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : -1;
}

/* Device side: the driver first writes the round count, then every round is one ring each way. */
static int raw_pong(struct xcv_linux_link *l)
{
    uint64_t rounds;
    if (efd_wait_read(l->efd_rx, &rounds, 5000) != 0 || efd_write(l->efd_tx, 1) != 0)
        return -1;
    for (uint64_t i = 0; i < rounds; i++) {
        uint64_t v;
        if (efd_wait_read(l->efd_rx, &v, 5000) != 0 || efd_write(l->efd_tx, 1) != 0)
            return -1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct lat {
    uint64_t median, p99, n;
};

static struct lat summarize(uint64_t *s, uint64_t n)
{
    struct lat r = {0, 0, n};
    if (n == 0u)
        return r;
    qsort(s, n, sizeof(*s), cmp_u64);
    r.median = s[n / 2u];
    r.p99 = s[(n * 99u) / 100u];
    return r;
}

static int raw_ping(struct xcv_linux_link *l, unsigned rounds, uint64_t *samples, struct lat *out)
{
    uint64_t v;
    if (efd_write(l->efd_tx, rounds) != 0 || efd_wait_read(l->efd_rx, &v, 5000) != 0)
        return -1;
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t t0 = echo_now_ns();
        if (efd_write(l->efd_tx, 1) != 0 || efd_wait_read(l->efd_rx, &v, 5000) != 0)
            return -1;
        samples[i] = echo_now_ns() - t0;
    }
    *out = summarize(samples, rounds);
    return 0;
}

/* ---- the device process ---- */

static int device_main(const struct opts *o)
{
    struct xcv_linux_link l;
    struct xcv_linux_link_config lc = {.window_size = WINDOW_BYTES, .busy_poll = o->poll_mode};
    int r = xcv_linux_link_listen(&l, o->socket, &lc);
    if (r != XCV_OK) {
        fprintf(stderr, "device: listen %s: %s\n", o->socket, xcv_strerror(r));
        return 1;
    }
    struct xcv_port port;
    xcv_linux_port_init(&l, &port);
    struct xcv_channel ch;
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DEVICE, .port = &port, .queue_area_size = QUEUE_AREA, .msg_slots = 64};
    xcv_linux_link_window(&l, &cc.window);
    static struct echo_dev dev;
    static struct echo_dev_stats st;
    static struct demo_devs devs; /* console (device 1) and rng (device 2) */
    r = xcv_channel_init(&ch, &cc);
    if (r == XCV_OK)
        r = echo_dev_register(&dev, &ch, o->poll_mode, &st);
    if (r >= 0)
        r = demo_devs_register(&devs, &ch);
    if (r < 0) {
        fprintf(stderr, "device: channel: %s\n", xcv_strerror(r));
        xcv_linux_link_close(&l);
        return 1;
    }
    r = xcv_linux_link_accept(&l, 10000);
    if (r == XCV_OK && raw_pong(&l) != 0)
        r = XCV_EPORT;
    if (r == XCV_OK) {
        struct echo_serve_opts so = {.exit_on_hangup = true,
                                     .max_ns = 120ull * 1000000000u,
                                     .tick = demo_devs_tick,
                                     .tick_ctx = &devs};
        r = echo_serve(&l, &ch, &dev, &so);
    }
    printf("device: served %" PRIu64 " requests, %" PRIu64 " malformed, %u resets, %s\n", st.served,
           st.malformed, st.resets, r == 0 ? "exit ok" : xcv_strerror(r));
    demo_devs_print(&devs);
    fflush(stdout);
    xcv_channel_detach(&ch);
    xcv_linux_link_close(&l);
    return r == 0 ? 0 : 1;
}

/* ---- the driver process ---- */

static int drive_until(struct echo_client *c, uint64_t n_target, uint64_t deadline, unsigned win,
                       uint64_t *samples, uint64_t *nsamples)
{
    uint64_t last_progress = echo_now_ns();
    while (c->completed < n_target && echo_now_ns() < deadline) {
        unsigned inf = echo_client_in_flight(c);
        uint64_t t0 = 0;
        if (inf < win) {
            uint64_t room = n_target - c->completed - inf;
            unsigned want = win - inf;
            if (room < want)
                want = (unsigned)room;
            if (samples != NULL)
                t0 = echo_now_ns();
            int r = echo_client_post(c, want);
            if (r < 0)
                return r;
        }
        int got;
        for (;;) {
            got = echo_client_reap(c);
            if (got != 0)
                break;
            int r = echo_client_wait(c, 100);
            if (r < 0)
                return r;
            uint64_t now = echo_now_ns();
            if (now - last_progress > 3000000000ull)
                return XCV_ETIMEDOUT; /* the device stopped answering */
        }
        if (got < 0)
            return got;
        if (samples != NULL && *nsamples < LAT_MAX_SAMPLES)
            samples[(*nsamples)++] = echo_now_ns() - t0;
        last_progress = echo_now_ns();
    }
    return 0;
}

static int driver_main(const struct opts *o, pid_t child)
{
    const char *mode = o->poll_mode ? "poll" : "event";
    struct xcv_linux_link l;
    int r = xcv_linux_link_connect(&l, o->socket, 10000);
    if (r != XCV_OK) {
        fprintf(stderr, "driver: connect %s: %s\n", o->socket, xcv_strerror(r));
        return 1;
    }
    uint64_t *samples =
        calloc(LAT_MAX_SAMPLES > o->raw_rounds ? LAT_MAX_SAMPLES : o->raw_rounds, sizeof(uint64_t));
    if (samples == NULL)
        return 1;
    struct lat raw = {0};
    if (raw_ping(&l, o->raw_rounds, samples, &raw) != 0) {
        fprintf(stderr, "driver: raw eventfd ping-pong failed\n");
        return 1;
    }

    struct xcv_port port;
    xcv_linux_port_init(&l, &port);
    struct xcv_channel ch;
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DRIVER, .port = &port, .timeout_ns = 2000000000u};
    xcv_linux_link_window(&l, &cc.window);
    static struct echo_client c;
    r = xcv_channel_connect(&ch, &cc);
    if (r == XCV_OK)
        r = echo_client_init(&c, &ch, &l, o->size, QUEUE_SIZE, o->poll_mode);
    if (r != XCV_OK) {
        fprintf(stderr, "driver: setup: %s\n", xcv_strerror(r));
        return 1;
    }

    /* Phase 1: one request in flight, round-trip latency. */
    uint64_t ns = 0;
    uint64_t t0 = echo_now_ns();
    r = drive_until(&c, UINT64_MAX, t0 + (uint64_t)o->latency_ms * 1000000u, 1, samples, &ns);
    struct lat lat = summarize(samples, ns);
    uint64_t lat_done = c.completed;

    /* Phase 2: a window of requests in flight, throughput. */
    uint64_t kicks0 = c.kicks;
    uint64_t base = c.completed;
    uint64_t t1 = echo_now_ns();
    if (r == 0) {
        uint64_t target = o->requests != 0u ? base + o->requests : UINT64_MAX;
        uint64_t limit =
            o->requests != 0u ? t1 + 60000000000ull : t1 + (uint64_t)(o->seconds * 1e9);
        r = drive_until(&c, target, limit, o->window, NULL, NULL);
    }
    double el = (double)(echo_now_ns() - t1) / 1e9;
    uint64_t nreq = c.completed - base;
    uint64_t kicks = c.kicks - kicks0;

    int rr = xcv_vdrv_reset(&c.drv);
    uint32_t avail = xcv_pool_available(&c.pool);
    uint64_t errors = c.bad + (r != 0) + (rr != XCV_OK) + (avail != c.pool_count);

    /* Phase 3: entropy from the virtio-rng, one line each way on the virtio-console. */
    struct demo_devs_report devrep;
    int dev_errors = demo_devs_drive(&ch, &l, &c.pool, o->poll_mode, &devrep);
    errors += (uint64_t)dev_errors;

    xcv_channel_detach(&ch);
    xcv_linux_link_close(&l); /* the device sees the hangup and exits */
    int status = 0;
    if (child > 0) {
        for (int i = 0; i < 300 && waitpid(child, &status, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(child, &status, WNOHANG) == 0) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            errors++;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            errors++;
        }
    }

    printf("== xcv_demo --mode %s: two processes, %u-byte requests, window %u in flight\n", mode,
           o->size, o->window);
    printf("  throughput  %" PRIu64 " requests in %.2f s: %.0f req/s, %.1f MB/s "
           "(request + response bytes), %" PRIu64 " driver doorbells\n",
           nreq, el, (double)nreq / el, (double)nreq * 2.0 * o->size / el / 1e6, kicks);
    printf("  round trip  xcvirtio (1 in flight, %" PRIu64 " samples): median %.2f us, "
           "p99 %.2f us\n",
           lat.n, (double)lat.median / 1e3, (double)lat.p99 / 1e3);
    printf("  round trip  raw eventfd ping-pong (same eventfds, %" PRIu64 " rounds): "
           "median %.2f us, p99 %.2f us\n",
           raw.n, (double)raw.median / 1e3, (double)raw.p99 / 1e3);
    printf("  checked     %" PRIu64 " responses byte for byte; pool %u/%u buffers free\n",
           lat_done + nreq, avail, c.pool_count);
    demo_devs_report_print(&devrep);
    if (r == 0 && devrep.err != 0)
        r = devrep.err;
    printf("  errors      %" PRIu64 "%s%s\n", errors, r != 0 ? ": " : "",
           r != 0 ? xcv_strerror(r) : "");
    echo_client_fini(&c);
    free(samples);
    return errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(o.role, "device") == 0)
        return device_main(&o);
    if (strcmp(o.role, "driver") == 0)
        return driver_main(&o, -1);
    if (strcmp(o.role, "both") != 0) {
        usage();
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        alarm(180); /* last resort: never outlive a stuck demo */
        _exit(device_main(&o));
    }
    return driver_main(&o, pid);
}
