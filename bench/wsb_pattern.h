/*
 * wsb_pattern.h -- message payloads that can be checked without a copy.
 *
 * Every message wsbench sends is a pure function of (run salt, connection
 * id, sequence number, byte offset), so the echo can be verified byte for
 * byte as it streams in, in whatever pieces the reads deliver it, without
 * keeping what was sent. The payload is a sequence of 64-bit words
 *     word[i] = base + i * 0x9e3779b97f4a7c15     (base = wsb_pattern_base())
 * stored in host byte order; a text payload maps every byte b of a word to
 * 0x20 + (b & 0x3f), printable ASCII and therefore valid UTF-8 (RFC 6455
 * §5.6 requires text payloads to be UTF-8). A wrong, missing, duplicated,
 * reordered or cross-connection echo shows up as a mismatch, because no two
 * (connection, sequence) pairs share a base.
 */
#ifndef WSB_PATTERN_H
#define WSB_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* The first word of message seq on connection id. Distinct for distinct
 * (id, seq) with id < 2^24 and seq < 2^40 (a bijective mix of both). */
uint64_t wsb_pattern_base(uint64_t salt, uint32_t id, uint64_t seq);

/* Write the whole payload of a message (len bytes, from offset 0) into out,
 * XOR-ed with the 4-byte masking key as RFC 6455 §5.3 requires of a client:
 * out[i] = payload[i] ^ mask[i % 4]. The mask is applied 8 bytes at a time. */
void wsb_pattern_fill_masked(uint8_t *out, size_t len, uint64_t base, int text,
                             const uint8_t mask[4]);

/* Check that p[0..len) equals bytes [off, off + len) of the payload that
 * starts with base. Returns -1 if all match, else the index in p of the
 * first byte that differs. */
long wsb_pattern_check(const uint8_t *p, size_t len, uint64_t base, uint64_t off, int text);

#endif
