/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xcv_vhost_backend: the library's device models served over vhost-user, for the interop tests.
 *
 *   xcv_vhost_backend [--net SOCK [--net-mode echo|icmp] [--mrg] [--inject N] [--poll]]
 *                     [--blk SOCK (--disk FILE | --mem MIB)] [--timeout SEC] [--once]
 *                     [--stats FILE]
 *
 * --net    a virtio-net model. echo: every transmitted frame comes back with its MAC addresses
 *          swapped (frames are queued locally and delivered after the kick was handled);
 *          icmp: answers ARP requests for 10.0.2.2 and ICMP echo requests to it.
 * --inject N   a second after the receive ring runs, deliver N test frames (each connection),
 *              which loop with a forwarding peer.
 * --poll   busy-poll the transmit ring instead of sleeping until a kick.
 * --blk    a virtio-blk model over FILE (mapped shared, so the data lands in the file) or an
 *          anonymous memory disk of MIB MiB.
 * --once   exit when the first frontend has disconnected (after it connected at least once).
 * --timeout   exit after SEC seconds (default 120): the process never outlives its test.
 * --stats  write the final counters to FILE as key=value lines (also printed on stdout).
 *
 * SIGINT / SIGTERM end it cleanly. It prints "ready" on stdout once every socket listens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xcvirtio/dev_blk.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/vhost_user.h"
#include "xcvirtio/virtio.h"

#define FRAME_MAX 1518u
#define QUEUE_FRAMES 1024u

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- net ---- */

enum net_mode {
    NET_ECHO,
    NET_ICMP
};

struct net_app {
    struct xcv_net_dev dev;
    struct xcv_vhost_user vu;
    enum net_mode mode;
    /* Frames waiting for receive buffers (a local copy: shared memory is never kept). */
    uint8_t frames[QUEUE_FRAMES][FRAME_MAX];
    uint32_t lens[QUEUE_FRAMES];
    unsigned head, count;
    unsigned inject;
    bool injected;
    double rx_since; /* when the receive ring was first seen running (0: not yet) */
    bool poll;
    uint64_t tx_valid, tx_invalid, echoed, queue_drops, arp_replies, icmp_replies, injected_n;
    uint64_t loop_seen;
    double first_tx, last_tx;
};

static const uint8_t k_our_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x02};
static const uint8_t k_our_ip[4] = {10, 0, 2, 2};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)((p[i] << 8) | p[i + 1]);
    if (len & 1u)
        sum += (uint32_t)(p[len - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Reserve the next queue slot: its frame buffer, and where its length goes. */
static uint8_t *net_slot(struct net_app *a, uint32_t **len)
{
    if (a->count == QUEUE_FRAMES) {
        a->queue_drops++;
        return NULL;
    }
    unsigned i = (a->head + a->count) % QUEUE_FRAMES;
    a->count++;
    *len = &a->lens[i];
    return a->frames[i];
}

/* Answer ARP for 10.0.2.2 and ICMP echo requests to it; returns the reply length or 0. */
static uint32_t icmp_answer(struct net_app *a, const uint8_t *f, uint32_t len, uint8_t *out)
{
    if (len < 14u)
        return 0;
    uint16_t type = be16(f + 12);
    if (type == 0x0806 && len >= 42u && be16(f + 20) == 1u && memcmp(f + 38, k_our_ip, 4) == 0) {
        memcpy(out, f + 6, 6);
        memcpy(out + 6, k_our_mac, 6);
        put_be16(out + 12, 0x0806);
        memcpy(out + 14, f + 14, 6); /* htype, ptype, hlen, plen */
        put_be16(out + 20, 2);       /* reply */
        memcpy(out + 22, k_our_mac, 6);
        memcpy(out + 28, k_our_ip, 4);
        memcpy(out + 32, f + 22, 10); /* sender hw + ip become target */
        a->arp_replies++;
        return 42u;
    }
    if (type == 0x0800 && len >= 34u) {
        const uint8_t *ip = f + 14;
        uint32_t ihl = (uint32_t)(ip[0] & 0x0fu) * 4u;
        uint32_t tot = be16(ip + 2);
        if ((ip[0] >> 4) != 4u || ihl < 20u || tot < ihl + 8u || 14u + tot > len || ip[9] != 1u ||
            memcmp(ip + 16, k_our_ip, 4) != 0 || ip[ihl] != 8u)
            return 0;
        memcpy(out, f + 6, 6);
        memcpy(out + 6, k_our_mac, 6);
        memcpy(out + 12, f + 12, 2 + tot);
        uint8_t *oip = out + 14;
        memcpy(oip + 12, ip + 16, 4);
        memcpy(oip + 16, ip + 12, 4);
        oip[8] = 64;
        oip[10] = 0;
        oip[11] = 0;
        put_be16(oip + 10, ip_checksum(oip, ihl));
        uint8_t *icmp = oip + ihl;
        icmp[0] = 0; /* echo reply */
        icmp[2] = 0;
        icmp[3] = 0;
        put_be16(icmp + 2, ip_checksum(icmp, tot - ihl));
        a->icmp_replies++;
        return 14u + tot;
    }
    return 0;
}

static int net_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    struct net_app *a = (struct net_app *)ctx;
    (void)hdr;
    /* Copy the frame out of the frontend's memory once; only the copy is looked at. */
    uint8_t f[FRAME_MAX];
    uint32_t got = 0;
    for (unsigned i = 0; i < n && got < sizeof(f); i++) {
        uint32_t k = iov[i].len < sizeof(f) - got ? iov[i].len : (uint32_t)sizeof(f) - got;
        memcpy(f + got, iov[i].base, k);
        got += k;
    }
    if (got != len || len < 14u) {
        a->tx_invalid++;
        return 0;
    }
    a->tx_valid++;
    double t = now_s();
    if (a->first_tx == 0.0)
        a->first_tx = t;
    a->last_tx = t;
    if (len >= 18u && memcmp(f + 14, "XCVL", 4) == 0)
        a->loop_seen++;
    uint32_t *olenp;
    uint8_t *out = net_slot(a, &olenp);
    if (out == NULL)
        return 0;
    uint32_t olen;
    if (a->mode == NET_ECHO) {
        memcpy(out, f + 6, 6);
        memcpy(out + 6, f, 6);
        memcpy(out + 12, f + 12, len - 12u);
        olen = len;
    } else {
        olen = icmp_answer(a, f, len, out);
    }
    if (olen == 0u) {
        a->count--; /* nothing to answer: give the slot back */
        return 0;
    }
    *olenp = olen;
    return 0;
}

static void net_rx_ready(void *ctx)
{
    (void)ctx; /* the main loop retries delivery after every round */
}

static const struct xcv_net_backend_ops k_net_ops = {
    .transmit = net_transmit,
    .rx_ready = net_rx_ready,
};

static void net_inject(struct net_app *a)
{
    for (unsigned i = 0; i < a->inject; i++) {
        uint32_t *lenp;
        uint8_t *out = net_slot(a, &lenp);
        if (out == NULL)
            break;
        memset(out, 0, 64);
        memset(out, 0xff, 6);
        memcpy(out + 6, k_our_mac, 6);
        put_be16(out + 12, 0x88b5); /* local experimental ethertype */
        memcpy(out + 14, "XCVL", 4);
        out[18] = (uint8_t)i;
        *lenp = 64;
        a->injected_n++;
    }
}

static void net_flush(struct net_app *a)
{
    if (!xcv_vhost_user_queue_running(&a->vu, XCV_NET_RXQ)) {
        if (!xcv_vhost_user_connected(&a->vu)) {
            a->count = 0; /* a frontend that left takes its frames with it */
            a->injected = false;
            a->rx_since = 0.0;
        }
        return;
    }
    /* Inject a second after the receive ring started: a frontend such as testpmd empties its
     * receive queues once when it starts forwarding. */
    if (a->rx_since == 0.0)
        a->rx_since = now_s();
    if (!a->injected && a->inject != 0u && now_s() - a->rx_since >= 1.0) {
        a->injected = true;
        net_inject(a);
    }
    while (a->count != 0u) {
        int r = xcv_net_dev_deliver(&a->dev, NULL, a->frames[a->head], a->lens[a->head]);
        if (r == XCV_EAGAIN)
            break; /* no receive buffer: retry after the next round */
        if (r == XCV_OK)
            a->echoed++;
        else
            a->queue_drops++;
        a->head = (a->head + 1u) % QUEUE_FRAMES;
        a->count--;
        if (r != XCV_OK && r != XCV_ENOMEM)
            break;
    }
}

/* ---- blk ---- */

struct blk_app {
    struct xcv_blk_dev dev;
    struct xcv_vhost_user vu;
    struct xcv_blk_mem mem;
    size_t map_len;
};

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr, "usage: xcv_vhost_backend [--net SOCK [--net-mode echo|icmp] [--mrg] "
                    "[--inject N] [--poll]] [--blk SOCK (--disk FILE | --mem MIB)] "
                    "[--timeout SEC] [--once] [--stats FILE]\n");
}

static void log_quiet(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    (void)ctx;
    if (level <= XCV_LOG_WARN)
        fprintf(stderr, "xcv_vhost_backend: %s (%u): %s\n", what, id, xcv_strerror(err));
}

int main(int argc, char **argv)
{
    const char *net_sock = NULL, *blk_sock = NULL, *disk = NULL, *stats_path = NULL;
    const char *net_mode = "echo";
    unsigned mem_mib = 0, inject = 0;
    double timeout = 120.0;
    bool once = false, mrg = false, poll_mode = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--once") == 0) {
            once = true;
        } else if (strcmp(o, "--mrg") == 0) {
            mrg = true;
        } else if (strcmp(o, "--poll") == 0) {
            poll_mode = true;
        } else if (v == NULL) {
            usage();
            return 2;
        } else if (strcmp(o, "--net") == 0) {
            net_sock = v, i++;
        } else if (strcmp(o, "--net-mode") == 0) {
            net_mode = v, i++;
        } else if (strcmp(o, "--inject") == 0) {
            inject = (unsigned)strtoul(v, NULL, 0), i++;
        } else if (strcmp(o, "--blk") == 0) {
            blk_sock = v, i++;
        } else if (strcmp(o, "--disk") == 0) {
            disk = v, i++;
        } else if (strcmp(o, "--mem") == 0) {
            mem_mib = (unsigned)strtoul(v, NULL, 0), i++;
        } else if (strcmp(o, "--timeout") == 0) {
            timeout = strtod(v, NULL), i++;
        } else if (strcmp(o, "--stats") == 0) {
            stats_path = v, i++;
        } else {
            usage();
            return 2;
        }
    }
    if ((net_sock == NULL && blk_sock == NULL) ||
        (blk_sock != NULL && (disk == NULL) == (mem_mib == 0u)) ||
        (strcmp(net_mode, "echo") != 0 && strcmp(net_mode, "icmp") != 0)) {
        usage();
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    static struct net_app net;
    static struct blk_app blk;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("epoll_create1");
        return 1;
    }
    struct xcv_vhost_user_config vc = {.log = log_quiet};
    if (net_sock != NULL) {
        net.mode = strcmp(net_mode, "icmp") == 0 ? NET_ICMP : NET_ECHO;
        net.inject = inject;
        net.poll = poll_mode;
        struct xcv_net_dev_config nc = {
            .ops = &k_net_ops,
            .backend_ctx = &net,
            .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
            .mrg_rxbuf = mrg,
            .ring_features =
                XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
        };
        int r = xcv_net_dev_init(&net.dev, NULL, &nc);
        vc.path = net_sock;
        vc.dev = xcv_net_dev_vdev(&net.dev);
        if (r >= 0)
            r = xcv_vhost_user_listen(&net.vu, &vc);
        if (r < 0) {
            fprintf(stderr, "net: %s\n", xcv_strerror(r));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
        epoll_ctl(ep, EPOLL_CTL_ADD, xcv_vhost_user_fd(&net.vu), &ev);
    }
    if (blk_sock != NULL) {
        uint64_t size = (uint64_t)mem_mib << 20;
        void *p;
        if (disk != NULL) {
            int fd = open(disk, O_RDWR | O_CLOEXEC);
            struct stat st;
            if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 512) {
                fprintf(stderr, "blk: cannot open %s\n", disk);
                return 1;
            }
            size = (uint64_t)st.st_size;
            p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
        } else {
            p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                     0);
        }
        if (p == MAP_FAILED) {
            perror("blk: mmap");
            return 1;
        }
        blk.mem.base = p;
        blk.mem.size = size;
        blk.map_len = (size_t)size;
        struct xcv_blk_dev_config bc = {
            .capacity = size / 512u,
            .ops = &xcv_blk_mem_ops,
            .backend_ctx = &blk.mem,
            .flush = true,
            .id = "xcv-vhost-blk",
            .ring_features =
                XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
        };
        int r = xcv_blk_dev_init(&blk.dev, NULL, &bc);
        vc.path = blk_sock;
        vc.dev = xcv_blk_dev_vdev(&blk.dev);
        if (r >= 0)
            r = xcv_vhost_user_listen(&blk.vu, &vc);
        if (r < 0) {
            fprintf(stderr, "blk: %s\n", xcv_strerror(r));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 2};
        epoll_ctl(ep, EPOLL_CTL_ADD, xcv_vhost_user_fd(&blk.vu), &ev);
    }
    printf("ready\n");
    fflush(stdout);

    double t0 = now_s();
    bool seen = false;
    while (!g_stop && now_s() - t0 < timeout) {
        bool busy = (net_sock != NULL && (net.poll || xcv_net_dev_pending(&net.dev))) ||
                    (blk_sock != NULL && xcv_blk_dev_pending(&blk.dev));
        struct epoll_event ev[2];
        int n = epoll_wait(ep, ev, 2, busy ? 0 : 100);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            break;
        }
        if (net_sock != NULL) {
            (void)xcv_vhost_user_run(&net.vu, 0);
            if ((net.poll || xcv_net_dev_pending(&net.dev)) &&
                xcv_vhost_user_queue_running(&net.vu, XCV_NET_TXQ))
                (void)xcv_net_dev_run(&net.dev, 256);
            net_flush(&net);
            seen = seen || xcv_vhost_user_connected(&net.vu);
        }
        if (blk_sock != NULL) {
            (void)xcv_vhost_user_run(&blk.vu, 0);
            if (xcv_blk_dev_pending(&blk.dev))
                (void)xcv_blk_dev_run(&blk.dev, 256);
            seen = seen || xcv_vhost_user_connected(&blk.vu);
        }
        if (once && seen && (net_sock == NULL || !xcv_vhost_user_connected(&net.vu)) &&
            (blk_sock == NULL || !xcv_vhost_user_connected(&blk.vu)))
            break;
    }

    char out[2048];
    size_t k = 0;
    if (net_sock != NULL) {
        const struct xcv_net_dev_stats *ns = xcv_net_dev_stats(&net.dev);
        const struct xcv_vhost_user_stats *vs = xcv_vhost_user_stats(&net.vu);
        double span = net.last_tx - net.first_tx;
        k += (size_t)snprintf(
            out + k, sizeof(out) - k,
            "net_connections=%llu\nnet_errors=%llu\nnet_last_reason=%s\nnet_tx_frames=%llu\n"
            "net_tx_valid=%llu\nnet_tx_invalid=%llu\nnet_tx_dropped=%llu\nnet_rx_frames=%llu\n"
            "net_rx_dropped=%llu\nnet_echoed=%llu\nnet_queue_drops=%llu\nnet_arp_replies=%llu\n"
            "net_icmp_replies=%llu\nnet_injected=%llu\nnet_loop_seen=%llu\nnet_kicks=%llu\n"
            "net_calls=%llu\nnet_tx_span_s=%.3f\nnet_tx_pps=%.0f\n",
            (unsigned long long)vs->connections, (unsigned long long)vs->errors,
            vs->last_reason != NULL ? vs->last_reason : "none", (unsigned long long)ns->tx_frames,
            (unsigned long long)net.tx_valid, (unsigned long long)net.tx_invalid,
            (unsigned long long)ns->tx_dropped, (unsigned long long)ns->rx_frames,
            (unsigned long long)ns->rx_dropped, (unsigned long long)net.echoed,
            (unsigned long long)net.queue_drops, (unsigned long long)net.arp_replies,
            (unsigned long long)net.icmp_replies, (unsigned long long)net.injected_n,
            (unsigned long long)net.loop_seen, (unsigned long long)vs->kicks,
            (unsigned long long)vs->calls, span, span > 0.0 ? (double)net.tx_valid / span : 0.0);
        xcv_vhost_user_close(&net.vu);
    }
    if (blk_sock != NULL) {
        const struct xcv_blk_dev_stats *bs = xcv_blk_dev_stats(&blk.dev);
        const struct xcv_vhost_user_stats *vs = xcv_vhost_user_stats(&blk.vu);
        k += (size_t)snprintf(out + k, sizeof(out) - k,
                              "blk_connections=%llu\nblk_errors=%llu\nblk_last_reason=%s\n"
                              "blk_requests=%llu\nblk_ioerr=%llu\nblk_unsupp=%llu\n"
                              "blk_kicks=%llu\nblk_calls=%llu\n",
                              (unsigned long long)vs->connections, (unsigned long long)vs->errors,
                              vs->last_reason != NULL ? vs->last_reason : "none",
                              (unsigned long long)bs->requests, (unsigned long long)bs->ioerr,
                              (unsigned long long)bs->unsupp, (unsigned long long)vs->kicks,
                              (unsigned long long)vs->calls);
        xcv_vhost_user_close(&blk.vu);
        if (disk != NULL)
            (void)msync(blk.mem.base, blk.map_len, MS_SYNC);
        (void)munmap(blk.mem.base, blk.map_len);
    }
    fputs(out, stdout);
    if (stats_path != NULL) {
        FILE *sf = fopen(stats_path, "w");
        if (sf != NULL) {
            fputs(out, sf);
            fclose(sf);
        }
    }
    close(ep);
    return 0;
}
