/* smt.c - the state map's hashing, canonical proof encoding and proof verifier (smt.h); pure,
 * bounded (at most 256 levels) and allocation-free, for the node and for offline verifiers. */
#include "smt.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define SMT_HAVE_SHANI_CODE 1
#endif

#define CTX_KEY "qchain/v1/state-key"
#define CTX_LEAF "qchain/v1/smt-leaf"
#define CTX_NODE "qchain/v1/smt-node"
#define CTX_LEAF_LEN (sizeof CTX_LEAF) /* with its 0x00 */
#define CTX_NODE_LEN (sizeof CTX_NODE)

/* ---- SHA-256 of short messages -------------------------------------------------------------
 * The map hashes ~10 nodes per inserted record, so SHA-256's speed is its cost (docs/MERKLE.md
 * §8.5). libsodium 1.0.18's SHA-256 is portable C (~400 ns for a node's 83 bytes on the
 * benchmark machine); where the CPU has the SHA extensions this computes the same function with
 * them (~5x faster), else it calls libsodium. tests/test_smt.c checks both give equal digests. */
#define SHORT_MAX 183 /* messages up to 183 bytes fit three padded blocks */

#ifdef SMT_HAVE_SHANI_CODE
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* SHA-256 of msg (len <= SHORT_MAX) with the SHA extensions: pad into one or two blocks, run
 * the compression 4 rounds at a time (sha256rnds2 twice) with the message schedule made by
 * sha256msg1/msg2, and write the big-endian state. */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_short_ni(uint8_t out[32],
                                                                       const uint8_t *msg,
                                                                       size_t len) {
    uint8_t buf[192];
    size_t blocks = (len + 9 + 63) / 64;
    memset(buf, 0, sizeof buf);
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (unsigned i = 0; i < 8; i++) buf[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));

    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    /* Initial state H0..H7 arranged as ABEF / CDGH. */
    __m128i state0 = _mm_set_epi32(0x6a09e667, 0xbb67ae85, 0x510e527f, 0x9b05688c);
    __m128i state1 = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
    for (size_t b = 0; b < blocks; b++) {
        __m128i abef = state0, cdgh = state1, w[4];
        for (unsigned g = 0; g < 16; g++) {
            __m128i x;
            if (g < 4) {
                x = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(buf + 64 * b + 16 * g)),
                                     mask);
            } else {
                x = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
                x = _mm_sha256msg2_epu32(x, w[(g + 3) % 4]);
            }
            w[g % 4] = x;
            __m128i m = _mm_add_epi32(x, _mm_loadu_si128((const __m128i *)&sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, m);
            state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(m, 0x0e));
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
    }
    /* ABEF / CDGH back to A..H, big-endian. */
    __m128i feba = _mm_shuffle_epi32(state0, 0x1b);
    __m128i dchg = _mm_shuffle_epi32(state1, 0xb1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xf0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(dcba, bswap));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(hgfe, bswap));
}

/* Whether the CPU has SHA, SSE4.1 and SSSE3 (cpuid once: under a hypervisor it traps). */
static bool have_shani(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        unsigned a, b, c, d;
        bool sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 29) & 1);
        bool sse = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 19) & 1) && ((c >> 9) & 1);
        v = sha && sse;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v == 1;
}
#endif

static void sha256_short(qc_hash_t *out, const uint8_t *msg, size_t len) {
    QC_ASSERT(len <= SHORT_MAX);
#ifdef SMT_HAVE_SHANI_CODE
    if (have_shani()) {
        sha256_short_ni(out->b, msg, len);
        return;
    }
#endif
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
