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

/* Batches: n independent messages, any lengths; out[i] = SHA-256(data[i][0..len[i])) for every
 * i < n (data[i] may be NULL where len[i] is 0; the same pointer may appear more than once;
 * n may be 0, and then nothing is read or written).
 * With the SHA extensions, messages go through two at a time, the rounds of the two
 * compressions interleaved (one compression is a chain of dependent sha256rnds2; a second,
 * independent one runs while the first waits); when one message of the pair ends, the next
 * message of the batch takes its place. The gain is bounded by the CPU's sha256rnds2
 * throughput against its latency: on the 2-core Xeon of bench_smt (family 6 model 207) about
 * 1.4x the hashes a second of qc_sha256_bytes one by one, for 70- and 83-byte messages.
 * Without the extensions, qc_sha256_bytes in a loop. The digests are the same either way.
 * out[0..n) must not overlap any data[i]: a digest may be written while another message is
 * still being read. */
void qc_sha256_many(uint8_t (*out)[QC_SHA256_BYTES], const uint8_t *const *data, const size_t *len,
                    size_t n);
/* Two messages: out0 = SHA-256(d0[0..l0)), out1 = SHA-256(d1[0..l1)), as qc_sha256_many with
 * n = 2; here the outputs may overlap the inputs (they are written last). */
void qc_sha256_x2(uint8_t out0[QC_SHA256_BYTES], const void *d0, size_t l0,
                  uint8_t out1[QC_SHA256_BYTES], const void *d1, size_t l1);

/* Whether hashes started from now on use the SHA extensions. */
bool qc_sha256_accelerated(void);
/* Tests and benchmarks: enable (true, the default) or disable the SHA extensions for hashes
 * started from now on; returns the previous setting. Has no effect where the CPU lacks them. */
bool qc_sha256_set_extensions(bool enabled);

#endif
