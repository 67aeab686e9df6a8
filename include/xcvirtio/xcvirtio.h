/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file xcvirtio.h
 * @brief Umbrella header: includes the whole public API of libxcvirtio.
 *
 * libxcvirtio lets isolated compartments on one chip use standard virtio devices across each
 * other, sharing only memory windows and doorbells. See the README and docs/architecture.md.
 */
#ifndef XCVIRTIO_XCVIRTIO_H
#define XCVIRTIO_XCVIRTIO_H

#include "xcvirtio/channel.h"
#include "xcvirtio/dev_blk.h"
#include "xcvirtio/dev_console.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/dev_rng.h"
#include "xcvirtio/error.h"
#include "xcvirtio/mmio.h"
#include "xcvirtio/msg.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/port.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vq_device.h"
#include "xcvirtio/vq_driver.h"
#include "xcvirtio/vring.h"
#include "xcvirtio/window.h"

/** @brief Library version, major part. */
#define XCV_VERSION_MAJOR 0
/** @brief Library version, minor part. */
#define XCV_VERSION_MINOR 1
/** @brief Library version, patch part. */
#define XCV_VERSION_PATCH 0

#endif /* XCVIRTIO_XCVIRTIO_H */
