/* fuzz_merkle.c - libFuzzer target for the RFC 9162 verifiers (proto/merkle.c).
 *
 * Input: byte 0 picks the tree size n (1..64) and byte 1 salts its leaves; byte 2 picks the
 * proof kind (even: inclusion of leaf byte3 % n; odd: consistency from byte3 % (n + 1) to n).
 * The genuine proof is generated, then every following 3-byte record (op, position, value)
 * edits it: flip one bit of a hash, delete a hash, insert a hash (a leaf or a root), or
 * replace the claimed leaf (inclusion) or old root (consistency) with a leaf or a root. Up
 * to MERKLE_PROOF_MAX + 1 hashes. The root proven against stays genuine: a proof binds the
 * tree size only through its shape (docs/MERKLE.md §2), so with both roots edited a proof
 * for another size may rightly pass. Oracle: with the sizes and that root fixed, the
 * verifier's hashing is fixed, so it must accept exactly when the edited proof and claim
 * equal the genuine ones (anything else verifying would be a SHA-256 collision); it never
 * crashes and returns only QC_OK or QC_ERR_INVALID. */
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define LEAVES_MAX 64

typedef struct {
    qc_hash_t proof[MERKLE_PROOF_MAX + 1];
    size_t len;
    qc_hash_t claimed; /* inclusion: the leaf hash; consistency: the old root */
} claim_t;

static bool claim_equal(const claim_t *a, const claim_t *b) {
    return a->len == b->len && memcmp(a->proof, b->proof, a->len * sizeof(qc_hash_t)) == 0 &&
           memcmp(&a->claimed, &b->claimed, sizeof a->claimed) == 0;
}

/* Applies one edit record to c; leaves and roots supply hashes to insert or substitute. */
static void edit(claim_t *c, const uint8_t rec[3], const qc_hash_t *leaves, const qc_hash_t *roots,
                 uint64_t n) {
    size_t pos = c->len == 0 ? 0 : rec[1] % c->len;
    switch (rec[0] % 4) {
    case 0:
        if (c->len > 0) c->proof[pos].b[rec[2] % QC_HASH_BYTES] ^= (uint8_t)(1u << (rec[0] >> 5));
        break;
    case 1:
        if (c->len > 0) {
            memmove(&c->proof[pos], &c->proof[pos + 1], (c->len - pos - 1) * sizeof(qc_hash_t));
            c->len--;
        }
        break;
    case 2:
        if (c->len <= MERKLE_PROOF_MAX) {
            pos = rec[1] % (c->len + 1);
            memmove(&c->proof[pos + 1], &c->proof[pos], (c->len - pos) * sizeof(qc_hash_t));
            c->proof[pos] = (rec[2] & 1) ? roots[(rec[2] >> 1) % (n + 1)]
                                         : leaves[(rec[2] >> 1) % n];
            c->len++;
        }
        break;
    default:
        c->claimed = (rec[2] & 1) ? roots[(rec[2] >> 1) % (n + 1)] : leaves[(rec[2] >> 1) % n];
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    uint64_t n = 1 + data[0] % LEAVES_MAX;
    qc_hash_t leaves[LEAVES_MAX], roots[LEAVES_MAX + 1];
    for (uint64_t i = 0; i < n; i++) {
        uint8_t leaf_data[2] = {data[1], (uint8_t)i};
        merkle_leaf_hash(&leaves[i], leaf_data, sizeof leaf_data);
    }
    qc_hash_t frontier[MERKLE_LEVELS];
    merkle_empty_root(&roots[0]);
    for (uint64_t i = 0; i < n; i++) {
        if (merkle_frontier_append(frontier, i, &leaves[i], NULL, NULL) != QC_OK) abort();
        merkle_frontier_root(&roots[i + 1], frontier, i + 1);
    }
    bool consistency = data[2] & 1;
    uint64_t a = consistency ? data[3] % (n + 1) : data[3] % n;
    claim_t genuine = {.claimed = consistency ? roots[a] : leaves[a]};
    int rc = consistency ? merkle_consistency_proof(leaves, a, n, genuine.proof, &genuine.len)
                         : merkle_inclusion_proof(leaves, n, a, genuine.proof, &genuine.len);
    if (rc != QC_OK) abort();
    claim_t c = genuine;
    for (size_t off = 4; off + 3 <= size; off += 3) edit(&c, data + off, leaves, roots, n);
    rc = consistency ? merkle_verify_consistency(a, n, &c.claimed, &roots[n], c.proof, c.len)
                     : merkle_verify_inclusion(&c.claimed, a, n, c.proof, c.len, &roots[n]);
    bool want_ok = claim_equal(&c, &genuine);
    if (rc != QC_OK && rc != QC_ERR_INVALID) abort();
    if ((rc == QC_OK) != want_ok) abort();
    return 0;
}
