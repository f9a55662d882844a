/* sha256.h - SHA-256 (FIPS 180-4) for every hash qchain computes: the CPU's SHA extensions where
 * it has them, else libsodium's portable code; both give the same digests (tests/test_sha256.c).
 *
 * Why not libsodium alone: 1.0.18's SHA-256 is portable C, and hashing (record leaves, Merkle
 * nodes, transaction ids, the state map) was a third of a node's CPU at 100 records a
 * transaction (docs/BENCHMARKS.md "Multi-core"). The compression function is the one the map
 * has used since issue 9 (docs/MERKLE.md §8.5); padding and buffering are FIPS 180-4 §5.1.1. */
#ifndef QC_SHA256_H
#define QC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define QC_SHA256_BYTES 32
#define QC_SHA256_BLOCK_BYTES 64

/* An incremental hash; plain data, lives anywhere (no allocation, nothing to free). */
typedef struct {
    bool ext;                        /* true: the SHA-extension state below is in use */
    crypto_hash_sha256_state sodium; /* used when ext is false */
    uint32_t abef_cdgh[8];           /* the SHA extensions' state layout (ABEF, CDGH) */
    uint8_t buf[QC_SHA256_BLOCK_BYTES];
    size_t buf_bytes;                /* < QC_SHA256_BLOCK_BYTES */
    uint64_t total_bytes;
} qc_sha256_state_t;

/* Starts st; picks the SHA extensions when the CPU has them and they are enabled. */
void qc_sha256_init(qc_sha256_state_t *st);
/* Feeds len bytes (data may be NULL when len is 0). */
void qc_sha256_update(qc_sha256_state_t *st, const void *data, size_t len);
/* Writes the digest; st must be started again before another use. */
void qc_sha256_final(qc_sha256_state_t *st, uint8_t out[QC_SHA256_BYTES]);
/* One call: out = SHA-256(data[0..len)). */
void qc_sha256_bytes(uint8_t out[QC_SHA256_BYTES], const void *data, size_t len);

/* Whether hashes started from now on use the SHA extensions. */
bool qc_sha256_accelerated(void);
/* Tests and benchmarks: enable (true, the default) or disable the SHA extensions for hashes
 * started from now on; returns the previous setting. Has no effect where the CPU lacks them. */
bool qc_sha256_set_extensions(bool enabled);

#endif
