/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper: the raw side of a vhost-user frontend (connect, send any message with any
 * descriptors, receive a reply), so tests can speak the protocol correctly or hostilely.
 */
#ifndef XCV_TEST_VU_FRONTEND_H
#define XCV_TEST_VU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/vhost_user.h"

/* Connect to a backend's socket; returns the fd or -1. */
int vu_fe_connect(const char *path);

/* Send a header (request, flags, size) and @len payload bytes (len may differ from size, to
 * lie), with @nfds descriptors attached. Returns 0 or -1. */
int vu_fe_send_raw(int fd, uint32_t request, uint32_t flags, uint32_t size, const void *payload,
                   size_t len, const int *fds, unsigned nfds);

/* A well-formed request: size = len, version 1 (+ NEED_REPLY when @need_reply). */
int vu_fe_send(int fd, uint32_t request, const void *payload, uint32_t len, const int *fds,
               unsigned nfds, bool need_reply);

/* Receive one reply within @timeout_ms: 1 with the header and up to @cap payload bytes, 0 when
 * the peer closed the connection, -1 on timeout or error. */
int vu_fe_recv(int fd, struct xcv_vhost_user_hdr *h, void *payload, size_t cap, int timeout_ms);

/* True when the peer closes the connection within @timeout_ms (replies before it are skipped). */
bool vu_fe_wait_closed(int fd, int timeout_ms);

#endif /* XCV_TEST_VU_FRONTEND_H */
