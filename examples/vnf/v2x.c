/* SPDX-License-Identifier: Apache-2.0 */
/* V2X-like frames of the VNF example: generator schedule, VNF filter and rewrite (v2x.h). */
#include "v2x.h"

#include <string.h>

const uint32_t v2x_blacklist[] = {1013u, 1042u};
const unsigned v2x_blacklist_len = sizeof(v2x_blacklist) / sizeof(v2x_blacklist[0]);

static const uint8_t dst_mac[6] = {0x02, 0x00, 0x5e, 0x58, 0x32, 0x58};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) << 16 | get16(p + 2);
}

static uint16_t ip_checksum(const uint8_t *h)
{
    uint32_t s = 0;
    for (unsigned i = 0; i < 20u; i += 2u)
        s += get16(h + i);
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)~s;
}

/* The schedule: a pure function of the sequence number. */
static bool is_other(uint32_t seq)
{
    return seq % 97u == 96u; /* a non-V2X frame (ARP-like) now and then */
}

static uint32_t station_of(uint32_t seq)
{
    return 1000u + (seq * 7u) % 64u;
}

static uint32_t ttl_of(uint32_t seq)
{
    return seq % 50u == 7u ? 1u : V2X_TTL;
}

static bool blacklisted(uint32_t station)
{
    for (unsigned i = 0; i < v2x_blacklist_len; i++) {
        if (v2x_blacklist[i] == station)
            return true;
    }
    return false;
}

bool v2x_should_forward(uint32_t seq)
{
    return !is_other(seq) && !blacklisted(station_of(seq)) && ttl_of(seq) > 1u;
}

uint32_t v2x_build(uint8_t *f, uint32_t seq, bool end)
{
    uint32_t station = end ? 0u : station_of(seq);
    memcpy(f, dst_mac, 6);
    f[6] = 0x02;
    f[7] = 0x00;
    put32(f + 8, station);
    if (!end && is_other(seq)) {
        put16(f + 12, 0x0806u); /* ARP-like: not for the VNF's filter */
        memset(f + 14, 0, 46);
        put32(f + 14, seq);
        return 60u;
    }
    uint32_t payload = end ? 28u : 28u + (seq * 13u) % 172u;
    uint32_t len = 14u + 20u + 8u + payload;
    put16(f + 12, 0x0800u);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, 20u + 8u + payload);
    put16(ip + 4, seq & 0xffffu);
    put16(ip + 6, 0x4000u); /* don't fragment */
    ip[8] = (uint8_t)(end ? V2X_TTL : ttl_of(seq));
    ip[9] = 17; /* UDP */
    put16(ip + 10, 0);
    put32(ip + 12, 0x0a000000u | (station & 0xffffu)); /* 10.0.x.y */
    put32(ip + 16, 0x0a0101ffu);                       /* 10.1.1.255 */
    put16(ip + 10, ip_checksum(ip));
    uint8_t *udp = ip + 20;
    put16(udp, 47000u);
    put16(udp + 2, V2X_UDP_PORT);
    put16(udp + 4, 8u + payload);
    put16(udp + 6, 0); /* no UDP checksum (IPv4 allows it) */
    uint8_t *m = udp + 8;
    memcpy(m, "V2X1", 4);
    put32(m + 4, station);
    put32(m + 8, seq);
    m[12] = (uint8_t)(end ? V2X_TYPE_END : seq % 10u == 0u ? V2X_TYPE_EVENT : V2X_TYPE_BEACON);
    m[13] = 0;
    put16(m + 14, 0);
    put32(m + 16, (uint32_t)(483000000 + (int32_t)(seq % 100000u)));   /* 48.3 N */
    put32(m + 20, (uint32_t)(113000000 + (int32_t)(station * 1000u))); /* 11.3 E */
    put16(m + 24, 1389u + seq % 500u);                                 /* ~50 km/h */
    put16(m + 26, (seq * 37u) % 36000u);
    for (uint32_t i = 28; i < payload; i++)
        m[i] = (uint8_t)(seq + i * 7u);
    return len;
}

enum v2x_verdict v2x_process(uint8_t *f, uint32_t len, uint32_t *seq, bool *end)
{
    *end = false;
    if (len < V2X_MIN_LEN || get16(f + 12) != 0x0800u)
        return V2X_DROP_OTHER;
    uint8_t *ip = f + 14;
    uint32_t ip_len = get16(ip + 2);
    if (ip[0] != 0x45 || ip[9] != 17 || ip_len < 20u + 8u + 28u || ip_len > len - 14u ||
        ip_checksum(ip) != 0u)
        return V2X_DROP_OTHER;
    uint8_t *udp = ip + 20;
    uint32_t udp_len = get16(udp + 4);
    if (get16(udp + 2) != V2X_UDP_PORT || udp_len != ip_len - 20u)
        return V2X_DROP_OTHER;
    uint8_t *m = udp + 8;
    if (memcmp(m, "V2X1", 4) != 0)
        return V2X_DROP_OTHER;
    *seq = get32(m + 8);
    *end = m[12] == V2X_TYPE_END;
    if (blacklisted(get32(m + 4)))
        return V2X_DROP_BLACKLIST;
    if (ip[8] <= 1u)
        return V2X_DROP_TTL;
    /* TTL - 1 with an incremental checksum update (RFC 1624: HC' = ~(~HC + ~m + m')). */
    uint32_t old_word = get16(ip + 8);
    ip[8]--;
    uint32_t new_word = get16(ip + 8);
    uint32_t s = (~get16(ip + 10) & 0xffffu) + (~old_word & 0xffffu) + new_word;
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    put16(ip + 10, ~s & 0xffffu);
    if (m[13] != 0xffu)
        m[13]++;
    return V2X_FORWARD;
}

uint32_t v2x_expected(uint8_t *f, uint32_t seq, bool end)
{
    uint32_t len = v2x_build(f, seq, end);
    uint8_t *ip = f + 14;
    ip[8]--;
    put16(ip + 10, 0);
    put16(ip + 10, ip_checksum(ip));
    ip[20 + 8 + 13]++;
    return len;
}

bool v2x_peek(const uint8_t *f, uint32_t len, uint32_t *seq, bool *end)
{
    if (len < V2X_MIN_LEN || get16(f + 12) != 0x0800u || f[14 + 9] != 17 ||
        get16(f + 14 + 20 + 2) != V2X_UDP_PORT || memcmp(f + 42, "V2X1", 4) != 0)
        return false;
    *seq = get32(f + 42 + 8);
    *end = f[42 + 12] == V2X_TYPE_END;
    return true;
}
