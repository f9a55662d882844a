/* smt.h - the state map's hashing, proof format and proof verifier: a binary sparse Merkle tree
 * of depth 256 in compressed form (a subtree holding one leaf is that leaf, an empty subtree
 * is 32 zero bytes), as pure functions with no storage, so that an offline verifier needs
 * nothing else. The tree itself (updates, storage, proof building) is node/state/smap.h.
 *
 * Definitions (docs/PROTOCOL.md §11, docs/MERKLE.md §8):
 *   map_key(digest)  = H("qchain/v1/state-key" 0x00 || digest)
 *   leaf(key, value) = H("qchain/v1/smt-leaf" 0x00 || key || value)
 *   node(l, r)       = H("qchain/v1/smt-node" 0x00 || l || r)
 *   empty            = 32 zero bytes
 * Bit i of a key (0..255) is bit 7 - i % 8 of byte i / 8 (most significant first); 0 is left.
 * The hash of the subtree of all keys with a given i-bit prefix is empty if it holds no key,
 * leaf(key, value) if it holds one, and node(hash of its 0 half, hash of its 1 half) if it
 * holds two or more. The root is the hash of the subtree at depth 0. */
#ifndef QC_SMT_H
#define QC_SMT_H

#include "qc.h"

#define SMT_DEPTH 256 /* key bits; the longest proof path */

/* What a proof ends at (its first byte). */
typedef enum {
    SMT_PROOF_PRESENT = 0, /* the key's own leaf: the key maps to value */
    SMT_PROOF_EMPTY = 1,   /* an empty subtree on the key's path: the key is absent */
    SMT_PROOF_OTHER = 2,   /* another key's leaf alone on the key's path: the key is absent */
} smt_proof_kind_t;

/* Encoded size limits: kind (1) + depth (2) + bitmap (<= 32) + siblings (<= 256 * 32) +
 * terminal (<= 64). */
#define SMT_PROOF_MIN_BYTES 3
#define SMT_PROOF_MAX_BYTES (3 + SMT_DEPTH / 8 + SMT_DEPTH * QC_HASH_BYTES + 2 * QC_HASH_BYTES)

/* A decoded proof for one key. siblings[d] (d < depth) is the hash of the child of the depth-d
 * node on the key's path that is NOT on the path; all zero when that subtree is empty. The
 * proof ends at depth `depth`, at: PRESENT - the key's leaf, whose value is `value`; EMPTY -
 * an empty subtree; OTHER - the leaf (other_key, value), other_key != the key and sharing its
 * first `depth` bits. Unused fields are zero. About 8.3 KB: callers keep one, not arrays. */
typedef struct {
    uint8_t kind;   /* smt_proof_kind_t */
    uint16_t depth; /* 0..256 */
    qc_hash_t siblings[SMT_DEPTH];
    qc_hash_t other_key; /* OTHER only */
    qc_hash_t value;     /* PRESENT, OTHER */
} smt_proof_t;

/* SHA-256 of msg (len <= 183 bytes, asserted): the hash the map uses, with the CPU's SHA
 * extensions where it has them (x86-64), else libsodium's. Public for tests and benchmarks. */
void smt_sha256_short(qc_hash_t *out, const void *msg, size_t len);
/* map_key = H("qchain/v1/state-key" 0x00 || digest). */
void smt_map_key(qc_hash_t *out, const uint8_t digest[QC_HASH_BYTES]);
/* leaf = H("qchain/v1/smt-leaf" 0x00 || key || value). */
void smt_leaf_hash(qc_hash_t *out, const qc_hash_t *key, const qc_hash_t *value);
/* node = H("qchain/v1/smt-node" 0x00 || l || r). out may alias l or r. */
void smt_node_hash(qc_hash_t *out, const qc_hash_t *l, const qc_hash_t *r);
/* Bit i (0..255, asserted) of key: 0 or 1. */
unsigned smt_key_bit(const qc_hash_t *key, unsigned i);
/* Number of leading bits a and b share (256 when equal). */
unsigned smt_common_prefix_bits(const qc_hash_t *a, const qc_hash_t *b);
/* Whether h is the empty hash (32 zero bytes). */
bool smt_hash_is_empty(const qc_hash_t *h);

/* Encodes p (borrowed) canonically into out (cap bytes; SMT_PROOF_MAX_BYTES always suffices);
 * *len gets the size. QC_OK; QC_ERR_INVALID if p breaks a rule smt_proof_decode enforces
 * (so only decodable proofs are ever written); QC_ERR_TOOBIG if cap is too small. */
int smt_proof_encode(const smt_proof_t *p, uint8_t *out, size_t cap, size_t *len);

/* Strict decoder of docs/PROTOCOL.md §11.2: QC_OK with *p filled, or QC_ERR_INVALID for an
 * unknown kind, depth > 256 (> 255 for EMPTY), bitmap bits set beyond depth, a present sibling
 * of 32 zero bytes, a proof not ending right below a non-empty sibling (depth > 0 and sibling
 * depth - 1 empty: compression would have lifted the end), a wrong length or trailing bytes.
 * in is borrowed (may be NULL when len == 0). On error *p is zeroed. */
int smt_proof_decode(smt_proof_t *p, const uint8_t *in, size_t len);

/* The root that proof p implies for key (§11.3 steps 2-3). QC_OK; QC_ERR_INVALID if p breaks
 * a rule of smt_proof_decode (for proofs built by hand) or an OTHER proof's leaf key equals key
 * or does not share the first `depth` bits with it. At most 257 hashes. */
int smt_proof_root(const smt_proof_t *p, const qc_hash_t *key, qc_hash_t *root);

/* Verifies an encoded proof (§11.3): that under `root` the key maps to *value, or, when value
 * is NULL, that the key is absent. All pointers borrowed. QC_OK if so, else QC_ERR_INVALID
 * (undecodable, wrong kind for the claim, wrong value, wrong root). */
int smt_verify(const qc_hash_t *root, const qc_hash_t *key, const qc_hash_t *value,
               const uint8_t *proof, size_t proof_len);

#endif
