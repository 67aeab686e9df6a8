/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console (virtio 1.2, section 5.3), port 0 only: device model and driver.
 *
 * Device role: transmit chains must be device-readable only and receive chains device-writable
 * only (5.3.6.1); a chain in the wrong direction is returned with a used length of 0 and none
 * of its bytes are used. The data bytes are not interpreted: they are handed to the backend
 * (transmit) or copied into the driver's buffers (receive).
 */
#include "xcvirtio/dev_console.h"
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"

#include "../common/shm.h"
#include "iov.h"

/* ---- device role ---- */

static void con_render_config(uint8_t *cfg, uint16_t cols, uint16_t rows)
{
    xcv_memset(cfg, 0, XCV_VIRTIO_CONSOLE_CFG_SIZE);
    xcv_le16_store(cfg + XCV_VIRTIO_CONSOLE_CFG_COLS, cols);
    xcv_le16_store(cfg + XCV_VIRTIO_CONSOLE_CFG_ROWS, rows);
    xcv_le32_store(cfg + 4, 1u); /* max_nr_ports: valid only with MULTIPORT, kept sane */
}

static int con_tx_chain(void *ctx, const struct xcv_chain *ch, uint32_t *written)
{
    struct xcv_console_dev *c = (struct xcv_console_dev *)ctx;
    *written = 0;
    if (ch->n_in != 0u) {
        c->stats.rejected++; /* 5.3.6.1: no device-writable buffer in a transmitq */
        return 0;
    }
    for (unsigned i = 0; i < ch->n_out; i++) {
        if (ch->iov[i].len == 0u)
            continue;
        /* Driver-written bytes, passed through uninterpreted; the backend copies them. */
        if (c->ops->write(c->ctx, (const uint8_t *)ch->iov[i].base, ch->iov[i].len) != XCV_OK)
            break;
        c->stats.tx_bytes += ch->iov[i].len;
    }
    return 0;
}

int xcv_console_dev_run(struct xcv_console_dev *c, unsigned budget)
{
    if (c == NULL)
        return XCV_EINVAL;
    struct xcv_vq_device *q = xcv_vdev_queue(&c->vdev, XCV_CONSOLE_TXQ);
    if (q == NULL) {
        c->pending = false;
        return XCV_ENODEV;
    }
    struct xcv_chain scratch = {.iov = c->iov, .cap = XCV_CONSOLE_MAX_CHAIN};
    int n = xcv_vq_device_process(q, budget, &scratch, con_tx_chain, c);
    c->pending = n >= 0 && (unsigned)n == budget && budget != 0u;
    if (xcv_vq_device_broken(q) != 0)
        (void)xcv_vdev_needs_reset(&c->vdev);
    return n;
}

int xcv_console_dev_feed(struct xcv_console_dev *c, const void *buf, uint32_t len)
{
    if (c == NULL || (buf == NULL && len != 0u))
        return XCV_EINVAL;
    struct xcv_vq_device *q = xcv_vdev_queue(&c->vdev, XCV_CONSOLE_RXQ);
    if (q == NULL)
        return 0;
    struct xcv_chain ch = {.iov = c->iov, .cap = XCV_CONSOLE_MAX_CHAIN};
    uint32_t done = 0;
    int err = 0;
    while (done < len) {
        int r = xcv_vq_device_pop_or_arm(q, &ch); /* rx_ready tells the backend to retry */
        if (r == XCV_EAGAIN)
            break;
        if (r < 0) {
            err = r;
            break;
        }
        uint32_t n = 0;
        if (ch.n_out != 0u)
            c->stats.rejected++; /* 5.3.6.1: no device-readable buffer in a receiveq */
        else
            n = xcv_iov_scatter(ch.iov, ch.n_in, 0, (const uint8_t *)buf + done, len - done);
        r = xcv_vq_device_push(q, ch.head, n);
        if (r < 0) {
            err = r;
            break;
        }
        done += n;
    }
    int fr = xcv_vq_device_flush(q);
    c->stats.rx_bytes += done;
    if (xcv_vq_device_broken(q) != 0) {
        (void)xcv_vdev_needs_reset(&c->vdev);
        return err != 0 ? err : XCV_EBROKEN;
    }
    if (err != 0)
        return err;
    if (fr < 0)
        return fr;
    return (int)done;
}

static void con_notify(void *ctx, struct xcv_vdev *dev, uint16_t q)
{
    struct xcv_console_dev *c = (struct xcv_console_dev *)ctx;
    (void)dev;
    if (q == XCV_CONSOLE_TXQ)
        (void)xcv_console_dev_run(c, c->budget);
    else if (q == XCV_CONSOLE_RXQ && c->ops->rx_ready != NULL)
        c->ops->rx_ready(c->ctx);
}

static void con_reset(void *ctx, struct xcv_vdev *dev)
{
    (void)dev;
    ((struct xcv_console_dev *)ctx)->pending = false; /* no chain is kept across calls */
}

static const struct xcv_vdev_ops con_vdev_ops = {
    .notify = con_notify,
    .reset = con_reset,
};

int xcv_console_dev_init(struct xcv_console_dev *c, struct xcv_channel *ch,
                         const struct xcv_console_dev_config *cfg)
{
    if (c == NULL || cfg == NULL || cfg->ops == NULL || cfg->ops->write == NULL)
        return XCV_EINVAL;
    xcv_memset(c, 0, sizeof(*c));
    c->ops = cfg->ops;
    c->ctx = cfg->ctx;
    c->budget = cfg->budget != 0u ? cfg->budget : XCV_CONSOLE_QUEUE;
    con_render_config(c->config, cfg->cols, cfg->rows);
    for (unsigned i = 0; i < 2u; i++) {
        c->queues[i].slots = c->slots[i];
        c->queues[i].max_size = XCV_CONSOLE_QUEUE;
    }
    uint64_t f = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (cfg->cols != 0u && cfg->rows != 0u)
        f |= XCV_FEATURE(XCV_VIRTIO_CONSOLE_F_SIZE);
    struct xcv_vdev_config vc = {
        .device_id = XCV_VIRTIO_ID_CONSOLE,
        .features = f,
        .config = c->config,
        .config_size = XCV_VIRTIO_CONSOLE_CFG_SIZE,
        .queues = c->queues,
        .num_queues = 2,
        .max_chain = XCV_CONSOLE_MAX_CHAIN,
        .ops = &con_vdev_ops,
        .ctx = c,
    };
    return xcv_vdev_register(ch, &c->vdev, &vc);
}

bool xcv_console_dev_pending(const struct xcv_console_dev *c)
{
    return c != NULL && c->pending;
}

int xcv_console_dev_set_size(struct xcv_console_dev *c, uint16_t cols, uint16_t rows)
{
    if (c == NULL)
        return XCV_EINVAL;
    con_render_config(c->config, cols, rows);
    return xcv_vdev_config_changed(&c->vdev);
}

const struct xcv_console_dev_stats *xcv_console_dev_stats(const struct xcv_console_dev *c)
{
    return &c->stats;
}

/* ---- driver role ---- */

static void con_drv_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    struct xcv_console_drv *c = (struct xcv_console_drv *)ctx;
    (void)d;
    (void)q;
    (void)err;
    (void)xcv_pool_free(c->pool, token); /* tokens are the pool buffers posted */
}

static const struct xcv_vdrv_ops con_drv_ops = {.cancel = con_drv_cancel};

static int con_post_rx(struct xcv_console_drv *d, struct xcv_vq_driver *q, uint8_t *b)
{
    struct xcv_sg sg;
    if (xcv_window_to_bus(&d->pool->region, b, 1, &sg.addr) != XCV_OK)
        return XCV_EINVAL;
    sg.len = xcv_pool_buf_size(d->pool);
    int r = xcv_vq_driver_add(q, &sg, 0, 1, b);
    if (r != XCV_OK)
        (void)xcv_pool_free(d->pool, b);
    return r;
}

int xcv_console_drv_open(struct xcv_console_drv *d, struct xcv_channel *ch,
                         const struct xcv_console_drv_config *cfg)
{
    if (ch == NULL)
        return XCV_EINVAL;
    struct xcv_vdrv_transport t;
    xcv_vdrv_channel_transport(ch, &t);
    return xcv_console_drv_open_on(d, &t, cfg);
}

int xcv_console_drv_open_on(struct xcv_console_drv *d, const struct xcv_vdrv_transport *t,
                            const struct xcv_console_drv_config *cfg)
{
    if (d == NULL || t == NULL || cfg == NULL || cfg->pool == NULL ||
        cfg->rx_buffers > XCV_CONSOLE_QUEUE)
        return XCV_EINVAL;
    d->pool = cfg->pool;
    d->cur = NULL;
    d->rx_want = cfg->rx_buffers != 0u ? cfg->rx_buffers : 16u;
    for (unsigned i = 0; i < 2u; i++) {
        d->queues[i].slots = d->slots[i];
        d->queues[i].size = XCV_CONSOLE_QUEUE;
        d->queues[i].indirect_max = 0;
    }
    struct xcv_vdrv_config vc = {
        .dev_num = cfg->dev_num,
        .device_id = XCV_VIRTIO_ID_CONSOLE,
        .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                    XCV_FEATURE(XCV_VIRTIO_CONSOLE_F_SIZE),
        .queues = d->queues,
        .num_queues = 2,
        .ops = &con_drv_ops,
        .ctx = d,
    };
    int r = xcv_vdrv_open_on(t, &d->vdrv, &vc);
    if (r != XCV_OK)
        return r;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_CONSOLE_RXQ);
    for (unsigned i = 0; i < d->rx_want; i++) {
        uint64_t bus;
        uint8_t *b = (uint8_t *)xcv_pool_alloc(d->pool, &bus);
        if (b == NULL)
            return XCV_ENOMEM;
        r = con_post_rx(d, q, b);
        if (r != XCV_OK)
            return r;
    }
    r = xcv_vq_driver_kick(q);
    return r < 0 ? r : XCV_OK;
}

int xcv_console_drv_write(struct xcv_console_drv *d, const void *buf, uint32_t len)
{
    if (d == NULL || (buf == NULL && len != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_CONSOLE_TXQ);
    if (q == NULL)
        return XCV_ENODEV;
    void *tok;
    uint32_t ulen;
    int r;
    while ((r = xcv_vq_driver_get_used(q, &tok, &ulen)) == XCV_OK)
        (void)xcv_pool_free(d->pool, tok); /* transmit buffers are done once used */
    if (r != XCV_EAGAIN)
        return r;
    uint32_t bs = xcv_pool_buf_size(d->pool);
    uint32_t done = 0;
    while (done < len) {
        struct xcv_sg sg;
        uint8_t *b = (uint8_t *)xcv_pool_alloc(d->pool, &sg.addr);
        if (b == NULL)
            break;
        sg.len = len - done < bs ? len - done : bs;
        xcv_memcpy(b, (const uint8_t *)buf + done, sg.len);
        if (xcv_vq_driver_add(q, &sg, 1, 0, b) != XCV_OK) {
            (void)xcv_pool_free(d->pool, b);
            break;
        }
        done += sg.len;
    }
    r = xcv_vq_driver_kick(q);
    if (r < 0)
        return r;
    return (int)done;
}

int xcv_console_drv_read(struct xcv_console_drv *d, void *buf, uint32_t cap)
{
    if (d == NULL || (buf == NULL && cap != 0u))
        return XCV_EINVAL;
    struct xcv_vq_driver *q = xcv_vdrv_queue(&d->vdrv, XCV_CONSOLE_RXQ);
    if (q == NULL)
        return XCV_ENODEV;
    uint32_t done = 0;
    bool reposted = false;
    int err = 0;
    while (done < cap) {
        if (d->cur == NULL) {
            void *tok;
            uint32_t len;
            int r = xcv_vq_driver_get_used(q, &tok, &len);
            if (r != XCV_OK) {
                if (r != XCV_EAGAIN)
                    err = r;
                break;
            }
            /* tok is a buffer we posted, len <= its size: both checked by the ring. */
            d->cur = (uint8_t *)tok;
            d->cur_len = len;
            d->cur_off = 0;
        }
        uint32_t n = d->cur_len - d->cur_off;
        if (n > cap - done)
            n = cap - done;
        /* Device-written bytes: copied out, never interpreted. */
        xcv_memcpy((uint8_t *)buf + done, d->cur + d->cur_off, n);
        done += n;
        d->cur_off += n;
        if (d->cur_off == d->cur_len) {
            (void)con_post_rx(d, q, d->cur);
            d->cur = NULL;
            reposted = true;
        }
    }
    if (reposted) {
        int r = xcv_vq_driver_kick(q);
        if (r < 0 && err == 0)
            err = r;
    }
    if (done == 0u && err != 0)
        return err;
    return (int)done;
}

int xcv_console_drv_reset(struct xcv_console_drv *d)
{
    if (d == NULL)
        return XCV_EINVAL;
    /* Posted buffers (receive and transmit) come back through con_drv_cancel(). */
    int r = xcv_vdrv_reset(&d->vdrv);
    if (d->cur != NULL) {
        /* Taken from the ring and partly read: the driver's own, not the device's. */
        (void)xcv_pool_free(d->pool, d->cur);
        d->cur = NULL;
    }
    return r;
}

int xcv_console_drv_get_size(struct xcv_console_drv *d, uint16_t *cols, uint16_t *rows)
{
    if (d == NULL || cols == NULL || rows == NULL)
        return XCV_EINVAL;
    if (!(xcv_vdrv_features(&d->vdrv) & XCV_FEATURE(XCV_VIRTIO_CONSOLE_F_SIZE)))
        return XCV_ENOTSUP;
    /* Two 16-bit fields, read with 16-bit accesses (virtio-mmio, 4.2.2.2). */
    uint8_t c[4];
    int r = xcv_vdrv_read_config(&d->vdrv, XCV_VIRTIO_CONSOLE_CFG_COLS,
                                 c + XCV_VIRTIO_CONSOLE_CFG_COLS, 2);
    if (r == XCV_OK)
        r = xcv_vdrv_read_config(&d->vdrv, XCV_VIRTIO_CONSOLE_CFG_ROWS,
                                 c + XCV_VIRTIO_CONSOLE_CFG_ROWS, 2);
    if (r != XCV_OK)
        return r;
    *cols = xcv_le16_load(c + XCV_VIRTIO_CONSOLE_CFG_COLS);
    *rows = xcv_le16_load(c + XCV_VIRTIO_CONSOLE_CFG_ROWS);
    return XCV_OK;
}
