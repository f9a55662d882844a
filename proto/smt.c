/* smt.c - the state map's hashing, canonical proof encoding and proof verifier (smt.h); pure,
 * bounded (at most 256 levels) and allocation-free, for the node and for offline verifiers. */
#include "smt.h"

#include <string.h>

#define CTX_KEY "qchain/v1/state-key"
#define CTX_LEAF "qchain/v1/smt-leaf"
#define CTX_NODE "qchain/v1/smt-node"
#define CTX_LEAF_LEN (sizeof CTX_LEAF) /* with its 0x00 */
#define CTX_NODE_LEN (sizeof CTX_NODE)

/* ---- SHA-256 of short messages -------------------------------------------------------------
 * The map hashes ~10 nodes per inserted record, so SHA-256's speed is its cost (docs/MERKLE.md
 * §8.5): qc_sha256 uses the CPU's SHA extensions where it has them (proto/sha256.c). */
#define SHORT_MAX 183 /* the longest message the map hashes: three padded blocks */

static void sha256_short(qc_hash_t *out, const uint8_t *msg, size_t len) {
    QC_ASSERT(len <= SHORT_MAX);
    qc_sha256(out, msg, len);
}

void smt_sha256_short(qc_hash_t *out, const void *msg, size_t len) {
    sha256_short(out, msg, len);
}

/* H(ctx 0x00 || a || b): both leaf and node hashes have this shape (83 bytes). */
static void hash_ctx2(qc_hash_t *out, const char *ctx, size_t ctx_len, const qc_hash_t *a,
                      const qc_hash_t *b) {
    uint8_t buf[32 + 2 * QC_HASH_BYTES];
    QC_ASSERT(ctx_len <= 32);
    memcpy(buf, ctx, ctx_len);
    memcpy(buf + ctx_len, a->b, QC_HASH_BYTES);
    memcpy(buf + ctx_len + QC_HASH_BYTES, b->b, QC_HASH_BYTES);
    sha256_short(out, buf, ctx_len + 2 * QC_HASH_BYTES);
}

void smt_map_key(qc_hash_t *out, const uint8_t digest[QC_HASH_BYTES]) {
    uint8_t buf[sizeof CTX_KEY + QC_HASH_BYTES];
    memcpy(buf, CTX_KEY, sizeof CTX_KEY);
    memcpy(buf + sizeof CTX_KEY, digest, QC_HASH_BYTES);
    sha256_short(out, buf, sizeof buf);
}

void smt_leaf_hash(qc_hash_t *out, const qc_hash_t *key, const qc_hash_t *value) {
    hash_ctx2(out, CTX_LEAF, CTX_LEAF_LEN, key, value);
}

void smt_node_hash(qc_hash_t *out, const qc_hash_t *l, const qc_hash_t *r) {
    hash_ctx2(out, CTX_NODE, CTX_NODE_LEN, l, r);
}

unsigned smt_key_bit(const qc_hash_t *key, unsigned i) {
    QC_ASSERT(i < SMT_DEPTH);
    return (key->b[i / 8] >> (7 - i % 8)) & 1u;
}

unsigned smt_common_prefix_bits(const qc_hash_t *a, const qc_hash_t *b) {
    for (unsigned i = 0; i < QC_HASH_BYTES; i++) {
        uint8_t x = a->b[i] ^ b->b[i];
        if (x != 0) return i * 8 + (unsigned)__builtin_clz((unsigned)x) - 24;
    }
    return SMT_DEPTH;
}

bool smt_hash_is_empty(const qc_hash_t *h) {
    uint8_t acc = 0;
    for (size_t i = 0; i < QC_HASH_BYTES; i++) acc |= h->b[i];
    return acc == 0;
}

static size_t terminal_bytes(uint8_t kind) {
    return kind == SMT_PROOF_PRESENT ? QC_HASH_BYTES
           : kind == SMT_PROOF_OTHER ? 2 * QC_HASH_BYTES
                                     : 0;
}

/* The structural rules shared by encoder and decoder (everything but the byte layout). */
static bool proof_shape_ok(const smt_proof_t *p) {
    if (p->kind > SMT_PROOF_OTHER) return false;
    if (p->depth > SMT_DEPTH) return false;
    /* An empty subtree at depth 256 would have a parent holding at most one key. */
    if (p->kind == SMT_PROOF_EMPTY && p->depth == SMT_DEPTH) return false;
    /* Minimal: the end sits right below a non-empty sibling; were that sibling empty, the
     * parent would hold at most one key and the proof would have ended there. */
    if (p->depth > 0 && smt_hash_is_empty(&p->siblings[p->depth - 1])) return false;
    return true;
}

int smt_proof_encode(const smt_proof_t *p, uint8_t *out, size_t cap, size_t *len) {
    *len = 0;
    if (!proof_shape_ok(p)) return QC_ERR_INVALID;
    size_t bitmap_len = ((size_t)p->depth + 7) / 8;
    size_t present = 0;
    for (unsigned d = 0; d < p->depth; d++) present += !smt_hash_is_empty(&p->siblings[d]);
    size_t need = 3 + bitmap_len + present * QC_HASH_BYTES + terminal_bytes(p->kind);
    if (need > cap) return QC_ERR_TOOBIG;
    out[0] = p->kind;
    out[1] = (uint8_t)(p->depth >> 8);
    out[2] = (uint8_t)p->depth;
    memset(out + 3, 0, bitmap_len);
    uint8_t *w = out + 3 + bitmap_len;
    for (unsigned d = 0; d < p->depth; d++) {
        if (smt_hash_is_empty(&p->siblings[d])) continue;
        out[3 + d / 8] |= (uint8_t)(0x80u >> (d % 8));
        memcpy(w, p->siblings[d].b, QC_HASH_BYTES);
        w += QC_HASH_BYTES;
    }
    if (p->kind == SMT_PROOF_OTHER) {
        memcpy(w, p->other_key.b, QC_HASH_BYTES);
        w += QC_HASH_BYTES;
    }
    if (p->kind != SMT_PROOF_EMPTY) {
        memcpy(w, p->value.b, QC_HASH_BYTES);
        w += QC_HASH_BYTES;
    }
    QC_ASSERT((size_t)(w - out) == need);
    *len = need;
    return QC_OK;
}

static int decode_fail(smt_proof_t *p) {
    memset(p, 0, sizeof *p);
    return QC_ERR_INVALID;
}

int smt_proof_decode(smt_proof_t *p, const uint8_t *in, size_t len) {
    memset(p, 0, sizeof *p);
    if (len < SMT_PROOF_MIN_BYTES || len > SMT_PROOF_MAX_BYTES) return decode_fail(p);
    p->kind = in[0];
    uint32_t depth = ((uint32_t)in[1] << 8) | in[2];
    if (p->kind > SMT_PROOF_OTHER || depth > SMT_DEPTH) return decode_fail(p);
    p->depth = (uint16_t)depth;
    size_t bitmap_len = (depth + 7) / 8;
    if (len < 3 + bitmap_len) return decode_fail(p);
    const uint8_t *bitmap = in + 3;
    /* Bits beyond depth in the last bitmap byte must be zero. */
    if (depth % 8 != 0 && (bitmap[bitmap_len - 1] & (0xffu >> (depth % 8))) != 0)
        return decode_fail(p);
    size_t off = 3 + bitmap_len;
    for (unsigned d = 0; d < depth; d++) {
        if (!(bitmap[d / 8] & (0x80u >> (d % 8)))) continue;
        if (len - off < QC_HASH_BYTES) return decode_fail(p);
        memcpy(p->siblings[d].b, in + off, QC_HASH_BYTES);
        off += QC_HASH_BYTES;
        /* A present sibling is never the empty hash: that is written as a clear bit. */
        if (smt_hash_is_empty(&p->siblings[d])) return decode_fail(p);
    }
    if (len - off != terminal_bytes(p->kind)) return decode_fail(p);
    if (p->kind == SMT_PROOF_OTHER) {
        memcpy(p->other_key.b, in + off, QC_HASH_BYTES);
        off += QC_HASH_BYTES;
    }
    if (p->kind != SMT_PROOF_EMPTY) memcpy(p->value.b, in + off, QC_HASH_BYTES);
    if (!proof_shape_ok(p)) return decode_fail(p);
    return QC_OK;
}

int smt_proof_root(const smt_proof_t *p, const qc_hash_t *key, qc_hash_t *root) {
    if (!proof_shape_ok(p)) return QC_ERR_INVALID; /* a proof made by hand, not decoded */
    qc_hash_t h;
    switch (p->kind) {
    case SMT_PROOF_PRESENT:
        smt_leaf_hash(&h, key, &p->value);
        break;
    case SMT_PROOF_EMPTY:
        memset(h.b, 0, sizeof h.b);
        break;
    case SMT_PROOF_OTHER:
        if (memcmp(p->other_key.b, key->b, QC_HASH_BYTES) == 0 ||
            smt_common_prefix_bits(&p->other_key, key) < p->depth)
            return QC_ERR_INVALID;
        smt_leaf_hash(&h, &p->other_key, &p->value);
        break;
    default:
        return QC_ERR_INVALID;
    }
    for (unsigned d = p->depth; d-- > 0;) {
        if (smt_key_bit(key, d) == 0)
            smt_node_hash(&h, &h, &p->siblings[d]);
        else
            smt_node_hash(&h, &p->siblings[d], &h);
    }
    *root = h;
    return QC_OK;
}

int smt_verify(const qc_hash_t *root, const qc_hash_t *key, const qc_hash_t *value,
               const uint8_t *proof, size_t proof_len) {
    smt_proof_t p;
    if (smt_proof_decode(&p, proof, proof_len) != QC_OK) return QC_ERR_INVALID;
    if (value != NULL) {
        if (p.kind != SMT_PROOF_PRESENT || memcmp(p.value.b, value->b, QC_HASH_BYTES) != 0)
            return QC_ERR_INVALID;
    } else if (p.kind == SMT_PROOF_PRESENT) {
        return QC_ERR_INVALID;
    }
    qc_hash_t got;
    if (smt_proof_root(&p, key, &got) != QC_OK) return QC_ERR_INVALID;
    return memcmp(got.b, root->b, QC_HASH_BYTES) == 0 ? QC_OK : QC_ERR_INVALID;
}
