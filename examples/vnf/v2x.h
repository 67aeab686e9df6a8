/* SPDX-License-Identifier: Apache-2.0 */
/*
 * V2X-like traffic of the VNF example: Ethernet + IPv4 + UDP (port 47101) carrying a small
 * station message (a simplified cooperative-awareness beacon: station id, sequence number,
 * message type, hop counter, position, speed, heading). Big-endian on the wire.
 *
 *   offset  size  field (UDP payload)
 *   0       4     magic "V2X1"
 *   4       4     station id
 *   8       4     sequence number (set by the traffic generator)
 *   12      1     message type: 1 beacon, 2 event, 0xff end of the run
 *   13      1     hop counter (each forwarder adds one)
 *   14      2     reserved
 *   16      8     latitude, longitude (1e-7 degrees, signed)
 *   24      4     speed (cm/s), heading (0.01 degree)
 *   28      ...   extension bytes
 *
 * The generator's schedule is a pure function of the sequence number, so the sink knows, for
 * every frame, whether the VNF must forward it and what the forwarded bytes must be.
 */
#ifndef XCV_EXAMPLES_VNF_V2X_H
#define XCV_EXAMPLES_VNF_V2X_H

#include <stdbool.h>
#include <stdint.h>

#define V2X_UDP_PORT 47101u
#define V2X_FRAME_MAX 1514u
#define V2X_MIN_LEN (14u + 20u + 8u + 28u)
#define V2X_TYPE_BEACON 1u
#define V2X_TYPE_EVENT 2u
#define V2X_TYPE_END 0xffu
#define V2X_TTL 8u

/** Station ids the VNF drops (the sink expects exactly these to be missing). */
extern const uint32_t v2x_blacklist[];
extern const unsigned v2x_blacklist_len;

/** What the VNF does with a frame. */
enum v2x_verdict {
    V2X_FORWARD = 0,    /* rewritten in place: IPv4 TTL - 1 (checksum updated), hops + 1 */
    V2X_DROP_BLACKLIST, /* a blacklisted station */
    V2X_DROP_TTL,       /* TTL would reach 0 */
    V2X_DROP_OTHER,     /* not a V2X message, or malformed (lengths, IPv4 checksum) */
};

/** Build the generator's frame @p seq (or the end marker, carrying @p seq) into @p f
 *  (V2X_FRAME_MAX bytes). Returns its length. */
uint32_t v2x_build(uint8_t *f, uint32_t seq, bool end);

/** The generator's schedule: would the VNF forward frame @p seq? */
bool v2x_should_forward(uint32_t seq);

/**
 * The VNF's work on one received frame: classify it and, when forwarded, rewrite it in place.
 * Every field is checked before use (the frame comes from the other compartment).
 * @param seq Out: the message's sequence number (V2X messages only).
 * @param end Out: the message is the end marker.
 */
enum v2x_verdict v2x_process(uint8_t *f, uint32_t len, uint32_t *seq, bool *end);

/** What the sink must receive for frame @p seq (computed independently of v2x_process: the
 *  IPv4 checksum is recomputed from scratch). Returns the length. */
uint32_t v2x_expected(uint8_t *f, uint32_t seq, bool end);

/** The sequence number of a forwarded V2X frame, or false when it is none. */
bool v2x_peek(const uint8_t *f, uint32_t len, uint32_t *seq, bool *end);

#endif /* XCV_EXAMPLES_VNF_V2X_H */
