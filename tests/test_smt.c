/* test_smt.c - the state map (proto/smt.c, node/state/smap*.c): the docs/PROTOCOL.md §11
 * vectors pinned; thousands of random batches (keys sharing long prefixes, repeats, in-batch
 * duplicates) checked against a naive recursive transcription of the definition and against
 * one-by-one application; every key's proof and random absence proofs verified; every flipped
 * bit of proofs refused; the decoder's and the storage codec's refusals; the 256-level bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sblock.h"
#include "smap.h"
#include "smt.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64*: deterministic across runs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}
static void rnd_hash(qc_hash_t *h) {
    for (unsigned i = 0; i < QC_HASH_BYTES; i += 8) {
        uint64_t w = rnd();
        memcpy(h->b + i, &w, 8);
    }
}
static void hex_hash(qc_hash_t *h, const char *hex) {
    assert_int_equal(qc_hex_decode(h->b, QC_HASH_BYTES, hex), QC_OK);
}
static void flip_bit(qc_hash_t *h, unsigned i) { h->b[i / 8] ^= (uint8_t)(0x80u >> (i % 8)); }

/* The naive reference: a sorted array of (key, value), its root by the definition. */
typedef struct {
    smap_update_t *e;
    size_t n, cap;
} ref_t;

/* Puts key -> value; with if_absent only when the key is not there yet. */
static void ref_put_if(ref_t *r, const qc_hash_t *key, const qc_hash_t *value, bool if_absent) {
    size_t i = 0;
    while (i < r->n && memcmp(r->e[i].key.b, key->b, 32) < 0) i++;
    if (i < r->n && memcmp(r->e[i].key.b, key->b, 32) == 0) {
        if (!if_absent) r->e[i].value = *value;
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->e = realloc(r->e, r->cap * sizeof *r->e);
        assert_non_null(r->e);
    }
    memmove(&r->e[i + 1], &r->e[i], (r->n - i) * sizeof *r->e);
    memset(&r->e[i], 0, sizeof r->e[i]);
    r->e[i].key = *key;
    r->e[i].value = *value;
    r->n++;
}

static void ref_put(ref_t *r, const qc_hash_t *key, const qc_hash_t *value) {
    ref_put_if(r, key, value, false);
}

static const smap_update_t *ref_find(const ref_t *r, const qc_hash_t *key) {
    for (size_t i = 0; i < r->n; i++)
        if (memcmp(r->e[i].key.b, key->b, 32) == 0) return &r->e[i];
    return NULL;
}

/* Hash of the subtree at depth d holding the sorted entries e[0..n). */
static void ref_hash(const smap_update_t *e, size_t n, unsigned d, qc_hash_t *out) {
    if (n == 0) {
        memset(out, 0, sizeof *out);
        return;
    }
    if (n == 1) {
        smt_leaf_hash(out, &e[0].key, &e[0].value);
        return;
    }
    assert_true(d < SMT_DEPTH);
    size_t m = 0;
    while (m < n && smt_key_bit(&e[m].key, d) == 0) m++;
    qc_hash_t l, r;
    ref_hash(e, m, d + 1, &l);
    ref_hash(e + m, n - m, d + 1, &r);
    smt_node_hash(out, &l, &r);
}

static void ref_root(const ref_t *r, qc_hash_t *out) { ref_hash(r->e, r->n, 0, out); }

/* Applies (unsorted, possibly duplicated) updates through smap_prepare + smap_apply. */
static void map_apply(smap_mem_t *m, smap_update_t *u, size_t n, qc_hash_t *root) {
    smap_reader_t r = smap_mem_reader(m);
    size_t k;
    assert_int_equal(smap_prepare(u, n, &k), QC_OK);
    smap_writes_t ws = {0};
    assert_int_equal(smap_apply(&r, u, k, &ws, root), QC_OK);
    assert_int_equal(smap_mem_commit(m, &ws), QC_OK);
    smap_writes_free(&ws);
}

static size_t prove_encode(smap_mem_t *m, const qc_hash_t *key, uint8_t *buf) {
    smap_reader_t r = smap_mem_reader(m);
    smt_proof_t p;
    assert_int_equal(smap_prove(&r, key, &p), QC_OK);
    size_t len;
    assert_int_equal(smt_proof_encode(&p, buf, SMT_PROOF_MAX_BYTES, &len), QC_OK);
    return len;
}

/* ---- docs/PROTOCOL.md §11.4 vectors --------------------------------------------------------- */

static const char *const vec_keys[5] = {
    "0500000000000000000000000000000000000000000000000000000000000000",
    "3a5c710011111111111111111111111111111111111111111111111111111111",
    "3a5c718022222222222222222222222222222222222222222222222222222222",
    "9c33333333333333333333333333333333333333333333333333333333333333",
    "e144444444444444444444444444444444444444444444444444444444444444",
};
static const char vec_root[] = "5b1cd3f11f03de96c8d8ff241277b7a9fd0483959abe92f9bea68e65f305ba05";
static const char vec_map_key[] =
    "b8b84a4c0b8e33086425840af8bcbd580bf0f8dfbe99848719e3dc73fd526ea1";
static const char vec_proof_present[] =
    "000019a0000080392fc867e62afa201a6a84f56b1e52257a2650c31bdeed9e71"
    "93a5e464d18896d6dce040e0e04c14aeca7c09b03c706b216e63e6042f08cdd9"
    "2f02a18a911dfa5647dc1478b99f1188849cd56165f4d30292b276c1ef116e23"
    "dbd23acad3980da2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
    "a2a2a2a2a2a2a2";
static const char vec_proof_empty[] =
    "010002c0392fc867e62afa201a6a84f56b1e52257a2650c31bdeed9e7193a5e4"
    "64d18896b6636d58ce8dc52244fe50807a5876476af00eb51af48e046013c26a"
    "50f03ae2";
static const char vec_proof_other[] =
    "020002c09bd34f2468c00a18d759d09b884e227460782b12efde61d8d8ab429d"
    "c2f3275b53a6bf20f038d2fa0b0fb523a16007e035d7c8ea521ad6c01c4efe34"
    "77c163e9e1444444444444444444444444444444444444444444444444444444"
    "44444444a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4"
    "a4a4a4a4";

static smap_mem_t *vector_map(qc_hash_t *root) {
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_update_t u[5];
    memset(u, 0, sizeof u);
    for (unsigned i = 0; i < 5; i++) {
        hex_hash(&u[i].key, vec_keys[i]);
        memset(u[i].value.b, 0xa0 + (int)i, 32);
    }
    map_apply(m, u, 5, root);
    return m;
}

static void check_vector_proof(smap_mem_t *m, const qc_hash_t *root, const char *key_hex,
                               const qc_hash_t *value, const char *want_hex) {
    qc_hash_t key;
    hex_hash(&key, key_hex);
    uint8_t buf[SMT_PROOF_MAX_BYTES];
    size_t len = prove_encode(m, &key, buf);
    char hex[2 * SMT_PROOF_MAX_BYTES + 1];
    qc_hex_encode(hex, buf, len);
    assert_string_equal(hex, want_hex);
    assert_int_equal(smt_verify(root, &key, value, buf, len), QC_OK);
}

static void test_vectors(void **state) {
    (void)state;
    uint8_t digest[32];
    for (unsigned i = 0; i < 32; i++) digest[i] = (uint8_t)(0x10 + i);
    qc_hash_t mk;
    smt_map_key(&mk, digest);
    char hex[65];
    assert_string_equal(qc_hash_hex(hex, &mk), vec_map_key);

    qc_hash_t root;
    smap_mem_t *m = vector_map(&root);
    assert_string_equal(qc_hash_hex(hex, &root), vec_root);
    qc_hash_t v2;
    memset(v2.b, 0xa2, 32);
    check_vector_proof(m, &root, vec_keys[2], &v2, vec_proof_present);
    check_vector_proof(m, &root, "4000000000000000000000000000000000000000000000000000000000000000",
                       NULL, vec_proof_empty);
    check_vector_proof(m, &root, "f000000000000000000000000000000000000000000000000000000000000000",
                       NULL, vec_proof_other);
    smap_mem_free(m);
}

/* The map's SHA-256 (the CPU's SHA extensions where present, proto/sha256.c) equals
 * libsodium's for every length it takes (0..183: one, two and three padded blocks, and the
 * boundaries at 55/56 and 119/120 bytes). */
static void test_sha256_short(void **state) {
    (void)state;
    rng_state = 0x5a;
    uint8_t msg[183];
    for (unsigned round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof msg; i += 8) {
            uint64_t w = rnd();
            memcpy(msg + i, &w, sizeof msg - i < 8 ? sizeof msg - i : 8);
        }
        for (size_t len = 0; len <= sizeof msg; len++) {
            qc_hash_t a, b;
            smt_sha256_short(&a, msg, len);
            crypto_hash_sha256(b.b, msg, len);
            assert_memory_equal(a.b, b.b, 32);
        }
    }
    qc_hash_t l, r, got, want;
    rnd_hash(&l);
    rnd_hash(&r);
    uint8_t node[19 + 64];
    memcpy(node, "qchain/v1/smt-node", 19);
    memcpy(node + 19, l.b, 32);
    memcpy(node + 51, r.b, 32);
    smt_node_hash(&got, &l, &r);
    qc_sha256(&want, node, sizeof node);
    assert_memory_equal(got.b, want.b, 32);
}

/* ---- the empty map, the single key ----------------------------------------------------------- */

static void test_empty_and_single(void **state) {
    (void)state;
    rng_state = 7;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_reader_t r = smap_mem_reader(m);
    qc_hash_t root, key, value, got;
    assert_int_equal(smap_root(&r, &root), QC_OK);
    assert_true(smt_hash_is_empty(&root));
    rnd_hash(&key);
    rnd_hash(&value);
    assert_int_equal(smap_get(&r, &key, &got), QC_ERR_NOTFOUND);
    uint8_t buf[SMT_PROOF_MAX_BYTES];
    size_t len = prove_encode(m, &key, buf);
    static const uint8_t empty_proof[3] = {SMT_PROOF_EMPTY, 0, 0};
    assert_int_equal(len, 3);
    assert_memory_equal(buf, empty_proof, 3);
    assert_int_equal(smt_verify(&root, &key, NULL, buf, len), QC_OK);
    assert_int_equal(smt_verify(&root, &key, &value, buf, len), QC_ERR_INVALID);

    /* An empty batch changes nothing and writes nothing. */
    smap_writes_t ws = {0};
    assert_int_equal(smap_apply(&r, NULL, 0, &ws, &got), QC_OK);
    assert_int_equal(ws.n, 0);
    assert_true(smt_hash_is_empty(&got));

    /* One key: the root is its leaf, lifted from depth 256 to the root. */
    smap_update_t u = {.key = key, .value = value};
    map_apply(m, &u, 1, &root);
    qc_hash_t leaf;
    smt_leaf_hash(&leaf, &key, &value);
    assert_memory_equal(root.b, leaf.b, 32);
    len = prove_encode(m, &key, buf);
    assert_int_equal(len, 3 + 32);
    assert_int_equal(buf[0], SMT_PROOF_PRESENT);
    assert_int_equal(smt_verify(&root, &key, &value, buf, len), QC_OK);
    assert_int_equal(smt_verify(&root, &key, NULL, buf, len), QC_ERR_INVALID);
    qc_hash_t other = key;
    flip_bit(&other, 0);
    len = prove_encode(m, &other, buf);
    assert_int_equal(buf[0], SMT_PROOF_OTHER);
    assert_int_equal(smt_verify(&root, &other, NULL, buf, len), QC_OK);
    assert_int_equal(smap_get(&r, &key, &got), QC_OK);
    assert_memory_equal(got.b, value.b, 32);
    smap_mem_free(m);
}

/* ---- random batches against the reference ------------------------------------------------------ */

/* A key for a random case: fresh (some crowded into one region), a repeat of a known key, or
 * a known key with one bit flipped, so sharing a prefix with it: mostly short (0..31 bits), now
 * and then of any length or of 248..255 bits (each such pair costs a chain of ~250 nodes). */
static void case_key(qc_hash_t *k, const ref_t *ref) {
    uint64_t c = rnd() % 64;
    if (ref->n == 0 || c < 24) {
        rnd_hash(k);
        if (c < 4) k->b[0] = 0x3a;
        return;
    }
    *k = ref->e[rnd() % ref->n].key;
    if (c < 44) return;
    unsigned bit = c < 60   ? (unsigned)(rnd() % 32)
                   : c < 62 ? (unsigned)(rnd() % 256)
                            : 248 + (unsigned)(rnd() % 8);
    flip_bit(k, bit);
}

/* n random updates (case_key), recorded in ref as they would be applied. */
static void random_batch(smap_update_t *u, size_t n, ref_t *ref) {
    for (size_t i = 0; i < n; i++) {
        u[i].if_absent = false;
        case_key(&u[i].key, ref);
        rnd_hash(&u[i].value);
        ref_put(ref, &u[i].key, &u[i].value);
    }
}

static void check_map_against(smap_mem_t *m, const ref_t *ref, const qc_hash_t *root) {
    smap_reader_t r = smap_mem_reader(m);
    uint8_t buf[SMT_PROOF_MAX_BYTES];
    for (size_t i = 0; i < ref->n; i++) {
        qc_hash_t got;
        assert_int_equal(smap_get(&r, &ref->e[i].key, &got), QC_OK);
        assert_memory_equal(got.b, ref->e[i].value.b, 32);
        size_t len = prove_encode(m, &ref->e[i].key, buf);
        assert_int_equal(smt_verify(root, &ref->e[i].key, &ref->e[i].value, buf, len), QC_OK);
        assert_int_equal(smt_verify(root, &ref->e[i].key, NULL, buf, len), QC_ERR_INVALID);
    }
    for (unsigned j = 0; j < 8; j++) {
        qc_hash_t k;
        case_key(&k, ref);
        const smap_update_t *hit = ref_find(ref, &k);
        size_t len = prove_encode(m, &k, buf);
        qc_hash_t got;
        if (hit != NULL) {
            assert_int_equal(smt_verify(root, &k, &hit->value, buf, len), QC_OK);
            continue;
        }
        assert_int_equal(smap_get(&r, &k, &got), QC_ERR_NOTFOUND);
        assert_true(buf[0] == SMT_PROOF_EMPTY || buf[0] == SMT_PROOF_OTHER);
        assert_int_equal(smt_verify(root, &k, NULL, buf, len), QC_OK);
        rnd_hash(&got);
        assert_int_equal(smt_verify(root, &k, &got, buf, len), QC_ERR_INVALID);
    }
}

#ifndef CASES_OVERRIDE
#define CASES 3000
#else
#define CASES CASES_OVERRIDE
#endif
#define BATCH_MAX 24

static void test_against_reference(void **state) {
    (void)state;
    rng_state = 0x5eed;
    for (unsigned c = 0; c < CASES; c++) {
        smap_mem_t *batched, *single;
        assert_int_equal(smap_mem_new(&batched), QC_OK);
        assert_int_equal(smap_mem_new(&single), QC_OK);
        ref_t ref = {0};
        unsigned batches = 1 + (unsigned)(rnd() % 4);
        qc_hash_t root = {0}, root1 = {0}, want;
        for (unsigned b = 0; b < batches; b++) {
            smap_update_t u[BATCH_MAX];
            memset(u, 0, sizeof u);
            size_t n = 1 + rnd() % BATCH_MAX;
            for (size_t i = 0; i < n; i++) {
                /* In-batch duplicates: sometimes the same key as the previous update. */
                if (i > 0 && rnd() % 6 == 0)
                    u[i].key = u[i - 1].key;
                else
                    case_key(&u[i].key, &ref);
                rnd_hash(&u[i].value);
                /* first anchorings: inserted only where the key is new */
                u[i].if_absent = rnd() % 3 == 0;
            }
            for (size_t i = 0; i < n; i++) { /* one by one, in order: the last write wins */
                smap_update_t one = u[i];
                map_apply(single, &one, 1, &root1);
                ref_put_if(&ref, &u[i].key, &u[i].value, u[i].if_absent);
            }
            map_apply(batched, u, n, &root);
            ref_root(&ref, &want);
            assert_memory_equal(root.b, want.b, 32);
            assert_memory_equal(root1.b, want.b, 32);
        }
        check_map_against(batched, &ref, &root);
        free(ref.e);
        smap_mem_free(batched);
        smap_mem_free(single);
    }
}

/* A larger map grown in batches, checked in full once. */
static void test_large_map(void **state) {
    (void)state;
    rng_state = 0xb16;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    ref_t ref = {0};
    qc_hash_t root, want;
    for (unsigned b = 0; b < 8; b++) {
        smap_update_t u[400];
        memset(u, 0, sizeof u);
        random_batch(u, 400, &ref);
        map_apply(m, u, 400, &root);
        ref_root(&ref, &want);
        assert_memory_equal(root.b, want.b, 32);
    }
    check_map_against(m, &ref, &root);
    free(ref.e);
    smap_mem_free(m);
}

/* ---- read-ahead hints ------------------------------------------------------------------------ */

/* A reader over a memory map that records its hints: which positions were hinted (slot, then
 * node) before get asked for them. */
#define HINTS_MAX 200000u
typedef struct {
    smap_reader_t inner;
    smap_pos_t *slot_hinted;
    size_t n_slot;
    size_t node_hints, node_without_slot; /* node hints; of which with no slot hint before */
    size_t gets, gets_hinted;             /* reads of stored nodes; of which hinted before */
} hint_rec_t;

static bool hinted(const hint_rec_t *h, const smap_pos_t *pos) {
    for (size_t i = h->n_slot; i-- > 0 && h->n_slot - i <= 4096;) /* the recent ones */
        if (h->slot_hinted[i].depth == pos->depth &&
            memcmp(h->slot_hinted[i].prefix.b, pos->prefix.b, 32) == 0)
            return true;
    return false;
}

static int hint_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    hint_rec_t *h = ctx;
    int rc = h->inner.get(h->inner.ctx, pos, out);
    if (rc == QC_OK && pos->depth > 0) {
        h->gets++;
        if (hinted(h, pos)) h->gets_hinted++;
    }
    return rc;
}

static void hint_slot(void *ctx, const smap_pos_t *pos) {
    hint_rec_t *h = ctx;
    assert_true(h->n_slot < HINTS_MAX);
    h->slot_hinted[h->n_slot++] = *pos;
    h->inner.prefetch(h->inner.ctx, pos);
}

static void hint_node(void *ctx, const smap_pos_t *pos) {
    hint_rec_t *h = ctx;
    h->node_hints++;
    if (!hinted(h, pos)) h->node_without_slot++;
    h->inner.prefetch_node(h->inner.ctx, pos);
}

/* The batch pass hints most of the nodes it will read below the batch's shared top, each
 * position's slot before its node, and the hints change nothing: the root and write set equal
 * those of a pass over the same map without hints. */
static void test_read_ahead_hints(void **state) {
    (void)state;
    rng_state = 0x4ead;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    ref_t ref = {0};
    qc_hash_t root;
    for (unsigned b = 0; b < 25; b++) { /* 50,000 keys */
        smap_update_t *u = calloc(2000, sizeof *u);
        assert_non_null(u);
        for (size_t i = 0; i < 2000; i++) {
            rnd_hash(&u[i].key);
            rnd_hash(&u[i].value);
        }
        map_apply(m, u, 2000, &root);
        free(u);
    }
    smap_update_t *u = calloc(1000, sizeof *u);
    assert_non_null(u);
    for (size_t i = 0; i < 1000; i++) {
        rnd_hash(&u[i].key);
        rnd_hash(&u[i].value);
    }
    size_t n;
    assert_int_equal(smap_prepare(u, 1000, &n), QC_OK);

    hint_rec_t h = {.inner = smap_mem_reader(m)};
    h.slot_hinted = calloc(HINTS_MAX, sizeof *h.slot_hinted);
    assert_non_null(h.slot_hinted);
    smap_reader_t r = {.get = hint_get, .ctx = &h, .prefetch = hint_slot,
                       .prefetch_node = hint_node};
    smap_writes_t ws = {0}, plain_ws = {0};
    qc_hash_t hinted_root, plain_root;
    assert_int_equal(smap_apply(&r, u, n, &ws, &hinted_root), QC_OK);
    smap_reader_t plain = {.get = smap_mem_reader(m).get, .ctx = m};
    assert_int_equal(smap_apply(&plain, u, n, &plain_ws, &plain_root), QC_OK);
    assert_memory_equal(hinted_root.b, plain_root.b, 32);
    assert_int_equal(ws.n, plain_ws.n);
    assert_int_equal(ws.len, plain_ws.len);
    assert_memory_equal(ws.b, plain_ws.b, ws.len);

    /* 1,000 keys into 50,000: ~9 nodes read each below depth 0, ~5 of them below the top
     * (depth log2 1000 = 9) where the hints aim. */
    assert_true(h.gets > 4000);
    assert_true(h.n_slot >= n);
    assert_true(h.node_hints >= n);
    assert_int_equal(h.node_without_slot, 0);
    print_message("read-ahead: %zu of %zu node reads hinted first; %zu slot and %zu node hints"
                  " for %zu keys\n", h.gets_hinted, h.gets, h.n_slot, h.node_hints, n);
    assert_true(h.gets_hinted * 4 > h.gets * 3); /* most reads were hinted first (~90%) */
    free(h.slot_hinted);
    smap_writes_free(&ws);
    smap_writes_free(&plain_ws);
    free(u);
    free(ref.e);
    smap_mem_free(m);
}

/* ---- tampering -------------------------------------------------------------------------------- */

/* Every single-bit change of the encoded proof (and every byte set to each of a few values) is
 * refused for the same claim. */
static void tamper_all(const qc_hash_t *root, const qc_hash_t *key, const qc_hash_t *value,
                       const uint8_t *proof, size_t len) {
    uint8_t t[SMT_PROOF_MAX_BYTES + 1];
    assert_int_equal(smt_verify(root, key, value, proof, len), QC_OK);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(t, proof, len);
            t[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(smt_verify(root, key, value, t, len), QC_ERR_INVALID);
        }
        static const uint8_t subst[3] = {0x00, 0xff, 0x01};
        for (unsigned s = 0; s < 3; s++) {
            if (proof[i] == subst[s]) continue;
            memcpy(t, proof, len);
            t[i] = subst[s];
            assert_int_equal(smt_verify(root, key, value, t, len), QC_ERR_INVALID);
        }
    }
    /* Truncated at every length, and one trailing byte. */
    for (size_t l = 0; l < len; l++)
        assert_int_equal(smt_verify(root, key, value, proof, l), QC_ERR_INVALID);
    memcpy(t, proof, len);
    t[len] = 0;
    assert_int_equal(smt_verify(root, key, value, t, len + 1), QC_ERR_INVALID);
    /* The same proof for a neighbouring key: refused if the key differs on the proof's path
     * (or at all, for PRESENT); an absence proof rightly holds for every key that shares the
     * path to the same empty subtree or other leaf. Then against another root. */
    unsigned depth = (unsigned)proof[1] << 8 | proof[2];
    qc_hash_t k2, r2 = *root;
    for (unsigned bit = 0; bit < SMT_DEPTH; bit += 17) {
        k2 = *key;
        flip_bit(&k2, bit);
        bool same_path = value == NULL && bit >= depth &&
                         (proof[0] == SMT_PROOF_EMPTY ||
                          memcmp(k2.b, proof + len - 64, 32) != 0);
        assert_int_equal(smt_verify(root, &k2, value, proof, len),
                         same_path ? QC_OK : QC_ERR_INVALID);
    }
    flip_bit(&r2, 100);
    assert_int_equal(smt_verify(&r2, key, value, proof, len), QC_ERR_INVALID);
}

static void test_tamper(void **state) {
    (void)state;
    rng_state = 0x7a3;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    ref_t ref = {0};
    smap_update_t u[300];
    memset(u, 0, sizeof u);
    random_batch(u, 300, &ref);
    qc_hash_t root;
    map_apply(m, u, 300, &root);
    uint8_t buf[SMT_PROOF_MAX_BYTES];
    unsigned kinds_seen[3] = {0};
    for (unsigned j = 0; j < 60; j++) {
        qc_hash_t k;
        const qc_hash_t *value = NULL;
        if (j % 3 == 0) {
            k = ref.e[rnd() % ref.n].key;
            value = &ref_find(&ref, &k)->value;
        } else {
            case_key(&k, &ref);
            const smap_update_t *hit = ref_find(&ref, &k);
            if (hit != NULL) value = &hit->value;
        }
        size_t len = prove_encode(m, &k, buf);
        kinds_seen[buf[0]]++;
        tamper_all(&root, &k, value, buf, len);
    }
    assert_true(kinds_seen[SMT_PROOF_PRESENT] > 0 && kinds_seen[SMT_PROOF_EMPTY] > 0 &&
                kinds_seen[SMT_PROOF_OTHER] > 0);
    /* The vector proofs too. */
    smap_mem_t *vm = vector_map(&root);
    qc_hash_t key, v2;
    hex_hash(&key, vec_keys[2]);
    memset(v2.b, 0xa2, 32);
    tamper_all(&root, &key, &v2, buf, prove_encode(vm, &key, buf));
    free(ref.e);
    smap_mem_free(vm);
    smap_mem_free(m);
}

/* ---- decoder refusals -------------------------------------------------------------------------- */

static void test_decoder_refusals(void **state) {
    (void)state;
    smt_proof_t p;
    uint8_t b[SMT_PROOF_MAX_BYTES + 1];
    memset(b, 0, sizeof b);
    /* Too short, unknown kind, depth over 256, EMPTY at depth 256. */
    assert_int_equal(smt_proof_decode(&p, b, 0), QC_ERR_INVALID);
    assert_int_equal(smt_proof_decode(&p, b, 2), QC_ERR_INVALID);
    b[0] = 3;
    assert_int_equal(smt_proof_decode(&p, b, 3), QC_ERR_INVALID);
    b[0] = SMT_PROOF_EMPTY;
    assert_int_equal(smt_proof_decode(&p, b, 3), QC_OK);
    assert_int_equal(smt_proof_decode(&p, b, 4), QC_ERR_INVALID); /* trailing byte */
    assert_int_equal(smt_proof_decode(&p, NULL, 0), QC_ERR_INVALID);
    assert_int_equal(smt_proof_decode(&p, b, SMT_PROOF_MAX_BYTES + 1), QC_ERR_INVALID);

    /* A full-depth PRESENT proof: all 256 siblings present. */
    size_t len = 0;
    b[len++] = SMT_PROOF_PRESENT;
    b[len++] = 0x01;
    b[len++] = 0x00;
    memset(b + len, 0xff, 32);
    len += 32;
    for (unsigned d = 0; d < 256; d++, len += 32) memset(b + len, 0x11 + d % 7, 32);
    memset(b + len, 0x99, 32);
    len += 32;
    assert_int_equal(len, SMT_PROOF_MAX_BYTES - 32);
    assert_int_equal(smt_proof_decode(&p, b, len), QC_OK);
    assert_int_equal(p.depth, 256);
    b[2] = 0x01; /* depth 257 */
    assert_int_equal(smt_proof_decode(&p, b, len), QC_ERR_INVALID);
    b[2] = 0x00;
    b[0] = SMT_PROOF_EMPTY; /* EMPTY at 256: refused whatever the length */
    assert_int_equal(smt_proof_decode(&p, b, len - 32), QC_ERR_INVALID);
    b[0] = SMT_PROOF_PRESENT;
    /* Over-long path: depth 256 with more bytes than it needs, or fewer. */
    assert_int_equal(smt_proof_decode(&p, b, len + 1), QC_ERR_INVALID);
    assert_int_equal(smt_proof_decode(&p, b, len - 1), QC_ERR_INVALID);

    /* Depth 3: bitmap 0xe0 and three siblings; a stray bitmap bit beyond the depth refused. */
    uint8_t s[3 + 1 + 3 * 32 + 32];
    s[0] = SMT_PROOF_PRESENT;
    s[1] = 0;
    s[2] = 3;
    s[3] = 0xe0;
    memset(s + 4, 0x42, sizeof s - 4);
    assert_int_equal(smt_proof_decode(&p, s, sizeof s), QC_OK);
    s[3] = 0xf0;
    assert_int_equal(smt_proof_decode(&p, s, sizeof s), QC_ERR_INVALID);
    s[3] = 0xe1;
    assert_int_equal(smt_proof_decode(&p, s, sizeof s), QC_ERR_INVALID);
    /* A present sibling of 32 zero bytes (the empty hash must be a clear bit). */
    s[3] = 0xe0;
    memset(s + 4 + 32, 0, 32);
    assert_int_equal(smt_proof_decode(&p, s, sizeof s), QC_ERR_INVALID);
    memset(s + 4 + 32, 0x42, 32);
    /* Non-minimal: the end below an empty sibling (compression would have lifted it). */
    s[3] = 0xc0; /* siblings at depth 0 and 1 only: sibling 2 empty */
    assert_int_equal(smt_proof_decode(&p, s, sizeof s - 32), QC_ERR_INVALID);

    /* The encoder refuses what the decoder would. */
    memset(&p, 0, sizeof p);
    p.kind = SMT_PROOF_PRESENT;
    p.depth = 1; /* sibling 0 empty */
    assert_int_equal(smt_proof_encode(&p, b, sizeof b, &len), QC_ERR_INVALID);
    p.depth = 0;
    assert_int_equal(smt_proof_encode(&p, b, 34, &len), QC_ERR_TOOBIG);
    assert_int_equal(smt_proof_encode(&p, b, 35, &len), QC_OK);
    assert_int_equal(len, 35);

    /* A non-minimal proof that would otherwise compute the right root: the single key's leaf
     * pushed one level down with an empty sibling. The decoder refuses it by its shape. */
    qc_hash_t key, value, root;
    memset(key.b, 0x5a, 32);
    memset(value.b, 0x77, 32);
    smt_leaf_hash(&root, &key, &value);
    memset(&p, 0, sizeof p);
    p.kind = SMT_PROOF_PRESENT;
    p.value = value;
    assert_int_equal(smt_proof_encode(&p, b, sizeof b, &len), QC_OK);
    assert_int_equal(smt_verify(&root, &key, &value, b, len), QC_OK);
    uint8_t lifted[3 + 1 + 32] = {SMT_PROOF_PRESENT, 0, 1, 0x00};
    memcpy(lifted + 4, value.b, 32);
    assert_int_equal(smt_verify(&root, &key, &value, lifted, sizeof lifted), QC_ERR_INVALID);

    /* OTHER: its leaf must differ from the key and share the first depth bits. */
    memset(&p, 0, sizeof p);
    p.kind = SMT_PROOF_OTHER;
    p.other_key = key;
    p.value = value;
    assert_int_equal(smt_proof_root(&p, &key, &root), QC_ERR_INVALID);
    qc_hash_t k2 = key;
    flip_bit(&k2, 0);
    assert_int_equal(smt_proof_root(&p, &k2, &root), QC_OK);
    p.depth = 1;
    memset(p.siblings[0].b, 0x42, 32);
    assert_int_equal(smt_proof_root(&p, &k2, &root), QC_ERR_INVALID);
    /* smt_proof_root refuses hand-made proofs the decoder would: depth 257, a non-minimal end. */
    k2 = key;
    flip_bit(&k2, 200);
    assert_int_equal(smt_proof_root(&p, &k2, &root), QC_OK);
    p.depth = 257;
    assert_int_equal(smt_proof_root(&p, &k2, &root), QC_ERR_INVALID);
    p.depth = 2; /* sibling 1 empty */
    assert_int_equal(smt_proof_root(&p, &k2, &root), QC_ERR_INVALID);
}

/* ---- batches: duplicates, order, limits --------------------------------------------------------- */

static void test_batch_rules(void **state) {
    (void)state;
    smap_update_t u[5];
    memset(u, 0, sizeof u);
    memset(u[0].key.b, 0x30, 32);
    memset(u[0].value.b, 1, 32);
    memset(u[1].key.b, 0x10, 32);
    memset(u[1].value.b, 2, 32);
    memset(u[2].key.b, 0x30, 32);
    memset(u[2].value.b, 3, 32);
    memset(u[3].key.b, 0x20, 32);
    memset(u[3].value.b, 4, 32);
    memset(u[4].key.b, 0x30, 32);
    memset(u[4].value.b, 5, 32);
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_reader_t r = smap_mem_reader(m);
    smap_writes_t ws = {0};
    qc_hash_t root;
    /* smap_apply refuses unsorted or duplicated keys and reads nothing. */
    assert_int_equal(smap_apply(&r, u, 5, &ws, &root), QC_ERR_INVALID);
    smap_update_t dup[2] = {u[1], u[1]};
    assert_int_equal(smap_apply(&r, dup, 2, &ws, &root), QC_ERR_INVALID);
    assert_int_equal(ws.n, 0);
    assert_int_equal(smap_apply(&r, NULL, SMAP_BATCH_MAX + 1, &ws, &root), QC_ERR_TOOBIG);
    /* smap_prepare: sorted, the last of each key wins. */
    size_t n;
    assert_int_equal(smap_prepare(u, 5, &n), QC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(u[0].key.b[0], 0x10);
    assert_int_equal(u[1].key.b[0], 0x20);
    assert_int_equal(u[2].key.b[0], 0x30);
    assert_int_equal(u[2].value.b[0], 5);
    assert_int_equal(smap_apply(&r, u, n, &ws, &root), QC_OK);
    assert_int_equal(smap_mem_commit(m, &ws), QC_OK);
    smap_writes_free(&ws);
    qc_hash_t got;
    assert_int_equal(smap_get(&r, &u[2].key, &got), QC_OK);
    assert_int_equal(got.b[0], 5);
    /* if_absent: of a key's run the last plain update wins, else the first if_absent one */
    smap_update_t v[5];
    memset(v, 0, sizeof v);
    for (int i = 0; i < 5; i++) v[i].value.b[0] = (uint8_t)(10 + i);
    memset(v[0].key.b, 0x50, 32), v[0].if_absent = true;
    memset(v[1].key.b, 0x50, 32);
    memset(v[2].key.b, 0x50, 32), v[2].if_absent = true;
    memset(v[3].key.b, 0x60, 32), v[3].if_absent = true;
    memset(v[4].key.b, 0x60, 32), v[4].if_absent = true;
    assert_int_equal(smap_prepare(v, 5, &n), QC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].value.b[0], 11);
    assert_false(v[0].if_absent);
    assert_int_equal(v[1].value.b[0], 13);
    /* an if_absent update of a key in the map changes nothing; of a new key, inserts it */
    smap_update_t w[2];
    memset(w, 0, sizeof w);
    memset(w[0].key.b, 0x10, 32), memset(w[0].value.b, 9, 32), w[0].if_absent = true;
    memset(w[1].key.b, 0x70, 32), memset(w[1].value.b, 8, 32), w[1].if_absent = true;
    qc_hash_t before, after;
    assert_int_equal(smap_root(&r, &before), QC_OK);
    assert_int_equal(smap_apply(&r, w, 1, &ws, &after), QC_OK);
    assert_memory_equal(before.b, after.b, 32);
    smap_writes_reset(&ws);
    assert_int_equal(smap_apply(&r, w, 2, &ws, &after), QC_OK);
    assert_int_equal(smap_mem_commit(m, &ws), QC_OK);
    smap_writes_free(&ws);
    assert_int_equal(smap_get(&r, &w[0].key, &got), QC_OK);
    assert_int_equal(got.b[0], 2);
    assert_int_equal(smap_get(&r, &w[1].key, &got), QC_OK);
    assert_int_equal(got.b[0], 8);
    smap_mem_free(m);
}

/* Two keys differing only in bit 255: proofs of depth 256 (the bound), an absence proof
 * ending at depth 255, and every stored node's depth below 256. */
static void test_full_depth(void **state) {
    (void)state;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_update_t u[2];
    memset(u, 0, sizeof u);
    memset(u[0].key.b, 0x6c, 32);
    u[0].key.b[31] &= 0xfe;
    u[1].key = u[0].key;
    u[1].key.b[31] |= 1;
    memset(u[0].value.b, 1, 32);
    memset(u[1].value.b, 2, 32);
    qc_hash_t root;
    map_apply(m, u, 2, &root);
    assert_int_equal(smap_mem_count(m), 256); /* depths 0..255, one node each */
    uint8_t buf[SMT_PROOF_MAX_BYTES];
    for (unsigned i = 0; i < 2; i++) {
        size_t len = prove_encode(m, &u[i].key, buf);
        assert_int_equal(buf[1] << 8 | buf[2], 256);
        assert_int_equal(len, 3 + 32 + 32 + 32); /* one non-empty sibling, at depth 255 */
        assert_int_equal(smt_verify(&root, &u[i].key, &u[i].value, buf, len), QC_OK);
    }
    qc_hash_t q = u[0].key;
    flip_bit(&q, 254);
    size_t len = prove_encode(m, &q, buf);
    assert_int_equal(buf[0], SMT_PROOF_EMPTY);
    assert_int_equal(buf[1] << 8 | buf[2], 255);
    assert_int_equal(smt_verify(&root, &q, NULL, buf, len), QC_OK);
    smap_mem_free(m);
}

/* ---- storage codecs and corrupt storage ---------------------------------------------------------- */

typedef struct {
    smap_mem_t *m;
    bool dropping;   /* reads of `drop` find nothing */
    smap_pos_t drop;
} codec_reader_t;

/* Reads m through the LevelDB codec (encode, then the strict decode), losing `drop`. */

static int codec_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    codec_reader_t *c = ctx;
    if (c->dropping && pos->depth == c->drop.depth && memcmp(pos->prefix.b, c->drop.prefix.b, 32) == 0)
        return QC_ERR_NOTFOUND;
    smap_reader_t r = smap_mem_reader(c->m);
    smap_node_t n;
    int rc = r.get(r.ctx, pos, &n);
    if (rc != QC_OK) return rc;
    uint8_t v[SMAP_NODE_MAX_BYTES];
    size_t len = smap_node_encode(&n, v);
    return smap_node_decode(pos, v, len, out);
}

static void test_codecs_and_corruption(void **state) {
    (void)state;
    rng_state = 0xc0dec;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_update_t u[200];
    memset(u, 0, sizeof u);
    ref_t ref = {0};
    random_batch(u, 200, &ref);
    qc_hash_t root, root2;
    map_apply(m, u, 200, &root);
    /* Reads through the codec give the same root and proofs. */
    codec_reader_t c = {.m = m};
    smap_reader_t r = {.get = codec_get, .ctx = &c};
    assert_int_equal(smap_root(&r, &root2), QC_OK);
    assert_memory_equal(root.b, root2.b, 32);
    smt_proof_t p;
    assert_int_equal(smap_prove(&r, &ref.e[0].key, &p), QC_OK);
    assert_int_equal(p.kind, SMT_PROOF_PRESENT);

    /* Position encoding: depth then ceil(depth / 8) prefix bytes. */
    smap_pos_t pos;
    uint8_t pk[SMAP_POS_MAX_BYTES];
    smap_pos_of(&pos, &ref.e[0].key, 0);
    assert_int_equal(smap_pos_encode(&pos, pk), 1);
    smap_pos_of(&pos, &ref.e[0].key, 9);
    assert_int_equal(smap_pos_encode(&pos, pk), 3);
    assert_int_equal(pk[0], 9);
    assert_int_equal(pk[2] & 0x7f, 0);
    smap_pos_of(&pos, &ref.e[0].key, 255);
    assert_int_equal(smap_pos_encode(&pos, pk), 33);

    /* Node codec refusals: format byte, kind, length, a leaf under the wrong position. */
    smap_node_t top, out;
    memset(&pos, 0, sizeof pos);
    smap_reader_t mr = smap_mem_reader(m);
    assert_int_equal(mr.get(mr.ctx, &pos, &top), QC_OK);
    uint8_t v[SMAP_NODE_MAX_BYTES + 1];
    size_t len = smap_node_encode(&top, v);
    assert_int_equal(smap_node_decode(&pos, v, len, &out), QC_OK);
    assert_memory_equal(&out, &top, sizeof top);
    assert_int_equal(smap_node_decode(&pos, v, len - 1, &out), QC_ERR_CORRUPT);
    v[len] = 0;
    assert_int_equal(smap_node_decode(&pos, v, len + 1, &out), QC_ERR_CORRUPT);
    v[0] = 2;
    assert_int_equal(smap_node_decode(&pos, v, len, &out), QC_ERR_CORRUPT);
    v[0] = SMAP_NODE_FORMAT;
    v[1] = 3;
    assert_int_equal(smap_node_decode(&pos, v, len, &out), QC_ERR_CORRUPT);
    smap_node_t bad;
    memset(&bad, 0, sizeof bad);
    bad.child[0].kind = SMAP_LEAF;
    memset(bad.child[0].key.b, 0xff, 32); /* bit 0 is 1: not under child 0 */
    len = smap_node_encode(&bad, v);
    assert_int_equal(smap_node_decode(&pos, v, len, &out), QC_ERR_CORRUPT);

    /* An inner slot whose node is missing: updates and proofs through it fail as corrupt. */
    const qc_hash_t *k = &ref.e[0].key;
    unsigned depth = 0;
    for (;; depth++) { /* the deepest stored node on k's path */
        smap_pos_of(&pos, k, depth + 1);
        smap_node_t tmp;
        if (mr.get(mr.ctx, &pos, &tmp) != QC_OK) break;
    }
    assert_true(depth > 0);
    smap_pos_of(&c.drop, k, depth);
    c.dropping = true;
    assert_int_equal(smap_prove(&r, k, &p), QC_ERR_CORRUPT);
    qc_hash_t got;
    assert_int_equal(smap_get(&r, k, &got), QC_ERR_CORRUPT);
    smap_update_t one = {.key = *k};
    smap_writes_t ws = {0};
    assert_int_equal(smap_apply(&r, &one, 1, &ws, &root2), QC_ERR_CORRUPT);
    smap_writes_free(&ws);
    free(ref.e);
    smap_mem_free(m);
}

/* Pending blocks read through their ancestors' write sets (sblock_layers_t, each set read in
 * place through an smap_windex_t, as the node does): block C built on B built on A, each read
 * through the layers of its uncommitted ancestors over the committed map, gives exactly the
 * roots and nodes of applying A, B, C one after another; the index answers every position its
 * set wrote with that node and any other with QC_ERR_NOTFOUND; the empty reader reads as the
 * empty map. */
static void test_layers_match_sequential(void **state) {
    (void)state;
    rng_state = 0x1a7e;
    smap_mem_t *base, *seq;
    smap_windex_t *la = NULL;
    assert_int_equal(smap_mem_new(&base), QC_OK);
    assert_int_equal(smap_mem_new(&seq), QC_OK);
    ref_t ref = {0};
    smap_update_t u[3][60];
    memset(u, 0, sizeof u);
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 60; i++) {
            if (i % 10 == 9 && b > 0) u[b][i].key = u[b - 1][i].key; /* a record changed later */
            else case_key(&u[b][i].key, &ref);
            rnd_hash(&u[b][i].value);
            u[b][i].if_absent = i % 3 == 0;
        }
    }
    smap_update_t first[60];
    memcpy(first, u[0], sizeof first);
    qc_hash_t seed_root;
    map_apply(base, first, 60, &seed_root); /* some committed state below the pending blocks */
    memcpy(first, u[0], sizeof first);
    map_apply(seq, first, 60, &seed_root);
    /* sequentially: B and C committed one after the other */
    qc_hash_t want[2];
    smap_writes_t want_ws[2] = {{0}};
    for (int b = 1; b < 3; b++) {
        smap_update_t v[60];
        memcpy(v, u[b], sizeof v);
        size_t n;
        assert_int_equal(smap_prepare(v, 60, &n), QC_OK);
        smap_reader_t r = smap_mem_reader(seq);
        assert_int_equal(smap_apply(&r, v, n, &want_ws[b - 1], &want[b - 1]), QC_OK);
        assert_int_equal(smap_mem_commit(seq, &want_ws[b - 1]), QC_OK);
    }
    /* pending: B on the committed map, C through B's layer */
    smap_reader_t layers[1];
    qc_hash_t got[2];
    smap_writes_t ws[2] = {{0}};
    for (int b = 1; b < 3; b++) {
        smap_update_t v[60];
        memcpy(v, u[b], sizeof v);
        size_t n;
        assert_int_equal(smap_prepare(v, 60, &n), QC_OK);
        sblock_layers_t l = {layers, (size_t)(b - 1), smap_mem_reader(base)};
        /* C reads B's layer through a recorder: the layered reader passes its hints on to the
         * layers as well as the base */
        hint_rec_t h = {.inner = smap_windex_reader(la)};
        if (b == 2) {
            h.slot_hinted = calloc(HINTS_MAX, sizeof *h.slot_hinted);
            assert_non_null(h.slot_hinted);
            layers[0] = (smap_reader_t){.get = hint_get, .ctx = &h, .prefetch = hint_slot,
                                        .prefetch_node = hint_node};
        }
        smap_reader_t r = sblock_layers_reader(&l);
        assert_int_equal(smap_apply(&r, v, n, &ws[b - 1], &got[b - 1]), QC_OK);
        if (b == 2) {
            assert_true(h.n_slot > 0 && h.node_hints > 0);
            assert_int_equal(h.node_without_slot, 0);
            free(h.slot_hinted);
        }
        if (b == 1) {
            assert_int_equal(smap_windex_new(&ws[0], &la), QC_OK);
            smap_reader_t xr = smap_windex_reader(la);
            smap_node_t node;
            /* every write is found, its node as written (the packed form read back), its
             * position hash kept; hints, for held positions or not, change no answer */
            smap_node_t want_node;
            size_t off = 0;
            for (size_t i = 0; i < ws[0].n; i++) {
                const smap_pos_t *pos = smap_writes_pos(&ws[0], off);
                assert_true(ws[0].h[i] == smap_pos_hash(pos));
                xr.prefetch(xr.ctx, pos);
                xr.prefetch_node(xr.ctx, pos);
                memset(&node, 0xee, sizeof node);
                assert_int_equal(xr.get(xr.ctx, pos, &node), QC_OK);
                size_t next = smap_writes_node(&ws[0], off, &want_node);
                assert_memory_equal(&node, &want_node, sizeof node);
                assert_int_equal(smap_writes_node(&ws[0], off, &node), next);
                assert_true(next > off && next <= ws[0].len);
                if (i + 1 == ws[0].n) assert_int_equal(off, ws[0].last);
                off = next;
            }
            assert_int_equal(off, ws[0].len);
            assert_true(ws[0].len < ws[0].n * (sizeof(smap_pos_t) + sizeof(smap_node_t)));
            /* the same prefix one level down: not written */
            smap_pos_t other = *smap_writes_pos(&ws[0], 0);
            other.depth = (uint8_t)(other.depth + 1);
            xr.prefetch(xr.ctx, &other);
            xr.prefetch_node(xr.ctx, &other);
            assert_int_equal(xr.get(xr.ctx, &other, &node), QC_ERR_NOTFOUND);
            assert_true(ws[0].n > 100); /* enough nodes to probe past collisions */
        }
        assert_memory_equal(got[b - 1].b, want[b - 1].b, 32);
        assert_int_equal(ws[b - 1].n, want_ws[b - 1].n);
        assert_int_equal(ws[b - 1].len, want_ws[b - 1].len);
        assert_memory_equal(ws[b - 1].b, want_ws[b - 1].b, ws[b - 1].len);
    }
    /* committing the pending write sets in order reaches the sequential map */
    assert_int_equal(smap_mem_commit(base, &ws[0]), QC_OK);
    assert_int_equal(smap_mem_commit(base, &ws[1]), QC_OK);
    smap_reader_t rb = smap_mem_reader(base);
    qc_hash_t root;
    assert_int_equal(smap_root(&rb, &root), QC_OK);
    assert_memory_equal(root.b, want[1].b, 32);
    smap_reader_t empty = sblock_empty_reader();
    assert_int_equal(smap_root(&empty, &root), QC_OK);
    assert_true(smt_hash_is_empty(&root));
    for (int i = 0; i < 2; i++) {
        smap_writes_free(&ws[i]);
        smap_writes_free(&want_ws[i]);
    }
    smap_mem_free(base);
    smap_mem_free(seq);
    smap_windex_free(la);
    free(ref.e);
}

/* ---- the map cache (smap_mem over a backing store) ----------------------------------------- */

/* The backing store of a cache: a plain store plus a count of the reads that reached it. */
typedef struct {
    smap_mem_t *disk;
    unsigned reads;
} backing_t;

static int backing_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    backing_t *b = ctx;
    b->reads++;
    smap_reader_t r = smap_mem_reader(b->disk);
    return r.get(r.ctx, pos, out);
}

static int backing_put(void *ctx, const smap_pos_t *pos, const smap_node_t *node) {
    smap_writes_t one = {0};
    int rc = smap_writes_add(&one, pos, node);
    if (rc == QC_OK) rc = smap_mem_commit(ctx, &one);
    smap_writes_free(&one);
    return rc;
}

/* A cache held to a few hundred nodes over a "disk" (a plain store it flushes into) gives the
 * roots, values and proofs of a plain map block after block; it stays within its bound after
 * each eviction, never evicts a dirty node, and misses read through. */
static void test_cache_matches_plain(void **state) {
    (void)state;
    rng_state = 0xcac4e;
    smap_mem_t *plain, *cache;
    backing_t b = {0};
    assert_int_equal(smap_mem_new(&plain), QC_OK);
    assert_int_equal(smap_mem_new(&cache), QC_OK);
    assert_int_equal(smap_mem_new(&b.disk), QC_OK);
    smap_reader_t backing = {.get = backing_get, .ctx = &b};
    smap_mem_set_backing(cache, &backing, 1000);
    ref_t ref = {0};
    const size_t keep = 300;
    qc_hash_t root_plain = {0}, root_cache = {0};
    size_t evicted = 0;
    for (unsigned blk = 0; blk < 60; blk++) {
        smap_update_t u[BATCH_MAX];
        memset(u, 0, sizeof u);
        size_t n = 1 + rnd() % BATCH_MAX;
        for (size_t i = 0; i < n; i++) {
            case_key(&u[i].key, &ref);
            rnd_hash(&u[i].value);
            u[i].if_absent = rnd() % 3 == 0;
        }
        smap_update_t u2[BATCH_MAX];
        memcpy(u2, u, sizeof u);
        size_t n1, n2;
        assert_int_equal(smap_prepare(u, n, &n1), QC_OK);
        assert_int_equal(smap_prepare(u2, n, &n2), QC_OK);
        for (size_t i = 0; i < n1; i++) ref_put_if(&ref, &u[i].key, &u[i].value, u[i].if_absent);
        map_apply(plain, u, n1, &root_plain);
        map_apply(cache, u2, n2, &root_cache);
        assert_memory_equal(root_plain.b, root_cache.b, 32);
        assert_int_equal(smap_mem_dirty(cache) > 0, true);
        if (blk % 3 == 2) { /* flush every third block, then evict down to the bound */
            assert_int_equal(smap_mem_each_dirty(cache, backing_put, b.disk), QC_OK);
            smap_mem_mark_clean(cache);
            assert_int_equal(smap_mem_dirty(cache), 0);
            evicted += smap_mem_evict(cache, keep);
            assert_true(smap_mem_count(cache) <= keep);
        } else {
            /* Unflushed: eviction may drop only clean nodes, so every dirty one stays. */
            size_t dirty = smap_mem_dirty(cache);
            evicted += smap_mem_evict(cache, 0);
            assert_int_equal(smap_mem_count(cache), dirty);
        }
    }
    assert_true(evicted > 0);
    unsigned reads_before = b.reads;
    check_map_against(cache, &ref, &root_cache); /* every key's value and proof */
    assert_true(b.reads > reads_before);         /* some of them from the "disk" */
    smap_mem_stats_t st;
    smap_mem_stats(cache, &st);
    assert_true(st.misses >= b.reads - reads_before && st.evicted >= evicted);
    assert_true(smap_mem_count(cache) <= 1000 || smap_mem_dirty(cache) > 0); /* reads stay bounded */
    qc_hash_t walked;
    uint64_t keys, nodes;
    assert_int_equal(smap_check(&(smap_reader_t){.get = smap_mem_reader(cache).get, .ctx = cache},
                                &walked, &keys, &nodes), QC_OK);
    assert_memory_equal(walked.b, root_plain.b, 32);
    assert_int_equal(keys, ref.n);
    assert_int_equal(nodes, smap_mem_count(plain));
    /* And the disk alone (after a last flush) is the whole map. */
    assert_int_equal(smap_mem_each_dirty(cache, backing_put, b.disk), QC_OK);
    smap_reader_t dr = smap_mem_reader(b.disk);
    qc_hash_t root_disk;
    assert_int_equal(smap_root(&dr, &root_disk), QC_OK);
    assert_memory_equal(root_disk.b, root_plain.b, 32);
    free(ref.e);
    smap_mem_free(plain);
    smap_mem_free(cache);
    smap_mem_free(b.disk);
}

/* Eviction keeps the table's probe runs whole: after dropping most of a large plain-shaped
 * cache in random order, every remaining and every re-read node is found. */
static void test_cache_evict_all_findable(void **state) {
    (void)state;
    rng_state = 0xe71c7;
    smap_mem_t *disk, *cache;
    backing_t b = {0};
    assert_int_equal(smap_mem_new(&disk), QC_OK);
    assert_int_equal(smap_mem_new(&cache), QC_OK);
    b.disk = disk;
    smap_reader_t backing = {.get = backing_get, .ctx = &b};
    smap_mem_set_backing(cache, &backing, SIZE_MAX);
    ref_t ref = {0};
    qc_hash_t root = {0};
    for (unsigned blk = 0; blk < 20; blk++) {
        smap_update_t u[BATCH_MAX];
        memset(u, 0, sizeof u);
        size_t n = BATCH_MAX, n1;
        for (size_t i = 0; i < n; i++) {
            case_key(&u[i].key, &ref);
            rnd_hash(&u[i].value);
        }
        assert_int_equal(smap_prepare(u, n, &n1), QC_OK);
        for (size_t i = 0; i < n1; i++) ref_put_if(&ref, &u[i].key, &u[i].value, false);
        map_apply(cache, u, n1, &root);
        assert_int_equal(smap_mem_each_dirty(cache, backing_put, disk), QC_OK);
        smap_mem_mark_clean(cache);
    }
    size_t all = smap_mem_count(cache);
    assert_int_equal(all, smap_mem_count(disk));
    for (size_t keep = all * 3 / 4; keep > 4; keep /= 2) {
        smap_mem_evict(cache, keep);
        assert_true(smap_mem_count(cache) <= keep);
        check_map_against(cache, &ref, &root);
    }
    free(ref.e);
    smap_mem_free(disk);
    smap_mem_free(cache);
}

/* smap_check walks a whole map: root, keys and nodes as built; a node whose hash its parent
 * does not hold, or a leaf whose hash is not its key's and value's, is corruption. */
static void test_check_walk(void **state) {
    (void)state;
    rng_state = 0xc4ec;
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_reader_t r = smap_mem_reader(m);
    qc_hash_t root, walked;
    uint64_t keys, nodes;
    assert_int_equal(smap_check(&r, &walked, &keys, &nodes), QC_OK); /* the empty map */
    assert_true(smt_hash_is_empty(&walked) && keys == 0 && nodes == 0);
    ref_t ref = {0};
    for (int blk = 0; blk < 8; blk++) {
        smap_update_t u[BATCH_MAX];
        memset(u, 0, sizeof u);
        random_batch(u, BATCH_MAX, &ref);
        map_apply(m, u, BATCH_MAX, &root);
    }
    assert_int_equal(smap_check(&r, &walked, &keys, &nodes), QC_OK);
    assert_memory_equal(walked.b, root.b, 32);
    assert_int_equal(keys, ref.n);
    assert_int_equal(nodes, smap_mem_count(m));
    /* a changed inner hash in the top node: its child no longer matches */
    struct { smap_pos_t pos; smap_node_t node; } w, orig;
    memset(&w, 0, sizeof w);
    assert_int_equal(r.get(r.ctx, &w.pos, &w.node), QC_OK);
    unsigned b = w.node.child[0].kind == SMAP_INNER ? 0 : 1;
    assert_int_equal(w.node.child[b].kind, SMAP_INNER);
    orig = w;
    w.node.child[b].hash.b[7] ^= 1;
    assert_int_equal(backing_put(m, &w.pos, &w.node), QC_OK);
    assert_int_equal(smap_check(&r, &walked, &keys, &nodes), QC_ERR_CORRUPT);
    assert_int_equal(backing_put(m, &orig.pos, &orig.node), QC_OK);
    assert_int_equal(smap_check(&r, &walked, &keys, &nodes), QC_OK);
    /* a leaf whose value changed but not its hash */
    smap_pos_t pos;
    smap_pos_of(&pos, &ref.e[0].key, 1);
    w.pos = pos;
    for (unsigned d = 1; r.get(r.ctx, &w.pos, &w.node) == QC_OK; d++) {
        orig = w;
        smap_pos_of(&w.pos, &ref.e[0].key, d + 1);
    }
    w = orig; /* the deepest node on the key's path holds its leaf */
    unsigned lb = smt_key_bit(&ref.e[0].key, w.pos.depth);
    assert_int_equal(w.node.child[lb].kind, SMAP_LEAF);
    w.node.child[lb].value.b[0] ^= 1;
    assert_int_equal(backing_put(m, &w.pos, &w.node), QC_OK);
    assert_int_equal(smap_check(&r, &walked, &keys, &nodes), QC_ERR_CORRUPT);
    free(ref.e);
    smap_mem_free(m);
}

/* A node of random hashes, keys and values whose children's kinds are shape's two base-3
 * digits (shape 0..8: every pair of kinds), the fields a kind does not use zero. */
static void rnd_node_shape(smap_node_t *node, unsigned shape) {
    memset(node, 0, sizeof *node);
    for (unsigned b = 0; b < 2; b++) {
        smap_slot_t *c = &node->child[b];
        c->kind = (uint8_t)(b == 0 ? shape % 3 : shape / 3);
        if (c->kind != SMAP_EMPTY) rnd_hash(&c->hash);
        if (c->kind == SMAP_LEAF) {
            rnd_hash(&c->key);
            rnd_hash(&c->value);
        }
    }
}

/* A write set packs each write as its position, a length byte and the node's storage encoding
 * less the format byte: every pair of slot kinds reads back as written (the fields a kind does
 * not use zero), at the offsets and lengths the format says, the last write's offset kept and
 * each position's hash; smap_node_encode is the format byte then the same bytes. A set at its
 * size limit refuses a write (QC_ERR_TOOBIG) and is left as it was. */
static void test_packed_writes(void **state) {
    (void)state;
    rng_state = 0x9acced;
    smap_writes_t ws = {0};
    smap_node_t nodes[9];
    smap_pos_t pos[9];
    size_t offs[9], want_len = 0;
    for (unsigned k = 0; k < 9; k++) {
        rnd_node_shape(&nodes[k], k);
        qc_hash_t key;
        rnd_hash(&key);
        smap_pos_of(&pos[k], &key, 3 + 29 * k);
        offs[k] = ws.len;
        assert_int_equal(smap_writes_add(&ws, &pos[k], &nodes[k]), QC_OK);
        assert_int_equal(ws.last, offs[k]);
        size_t node_len = 0;
        for (unsigned b = 0; b < 2; b++) {
            uint8_t kind = nodes[k].child[b].kind;
            node_len += 1 + (kind == SMAP_LEAF ? 96 : kind == SMAP_INNER ? 32 : 0);
        }
        want_len += SMAP_POS_MAX_BYTES + 1 + node_len;
        assert_int_equal(ws.len, want_len);
        assert_int_equal(ws.b[offs[k] + SMAP_POS_MAX_BYTES], node_len);
        uint8_t enc[SMAP_NODE_MAX_BYTES];
        assert_int_equal(smap_node_encode(&nodes[k], enc), 1 + node_len);
        assert_int_equal(enc[0], SMAP_NODE_FORMAT);
        assert_memory_equal(enc + 1, ws.b + offs[k] + SMAP_POS_MAX_BYTES + 1, node_len);
    }
    assert_int_equal(ws.n, 9);
    for (size_t i = 0, off = 0; i < 9; i++) {
        assert_int_equal(off, offs[i]);
        assert_memory_equal(smap_writes_pos(&ws, off), &pos[i], sizeof pos[i]);
        assert_true(ws.h[i] == smap_pos_hash(&pos[i]));
        smap_node_t got;
        memset(&got, 0xee, sizeof got);
        off = smap_writes_node(&ws, off, &got);
        assert_memory_equal(&got, &nodes[i], sizeof got);
        assert_int_equal(off, i + 1 < 9 ? offs[i + 1] : ws.len);
    }
    /* at the limit: the fields say so without 4 GiB behind them (nothing is written) */
    smap_writes_t full = ws;
    full.len = SMAP_WRITES_BYTES_MAX - 100;
    full.b_cap = SMAP_WRITES_BYTES_MAX;
    assert_int_equal(smap_writes_add(&full, &pos[0], &nodes[8]), QC_ERR_TOOBIG);
    assert_int_equal(full.n, 9);
    assert_int_equal(full.len, SMAP_WRITES_BYTES_MAX - 100);
    assert_ptr_equal(full.b, ws.b);
    /* a reset set keeps its memory and starts again at offset 0 */
    uint8_t *b = ws.b;
    smap_writes_reset(&ws);
    assert_int_equal(ws.n, 0);
    assert_int_equal(ws.len, 0);
    assert_int_equal(smap_writes_add(&ws, &pos[4], &nodes[4]), QC_OK);
    assert_ptr_equal(ws.b, b);
    assert_int_equal(ws.last, 0);
    smap_writes_free(&ws);
    assert_null(ws.b);
}

static int count_put(void *ctx, const smap_pos_t *pos, const smap_node_t *node) {
    (void)pos;
    (void)node;
    (*(unsigned *)ctx)++;
    return QC_OK;
}

/* The resident map keeps each node packed in one of three size classes by its packed length
 * (two inner children or an inner one beside an empty slot: 66 bytes at most; a leaf beside
 * either: 130; two leaves: 194). A node committed again with another shape moves class, taking the moved-out
 * class's last entry into its hole: every position stays found with its latest node, dirty
 * entries are counted once, eviction of clean ones in any class leaves the rest found, and the
 * bytes held are what the classes need, less than a position and a node struct apiece. */
static void test_mem_size_classes(void **state) {
    (void)state;
    rng_state = 0xc1a55;
    enum { POSITIONS = 60 };
    smap_pos_t pos[POSITIONS];
    smap_node_t node[POSITIONS];
    smap_mem_t *m;
    assert_int_equal(smap_mem_new(&m), QC_OK);
    smap_reader_t r = smap_mem_reader(m);
    for (unsigned round = 0; round < 12; round++) {
        smap_writes_t ws = {0};
        for (unsigned k = 0; k < POSITIONS; k++) {
            if (round == 0) {
                qc_hash_t key;
                rnd_hash(&key);
                smap_pos_of(&pos[k], &key, 1 + k);
            }
            /* a shape a round: position k cycles through all nine pairs of kinds */
            unsigned shape = (k + round * 5) % 9;
            rnd_node_shape(&node[k], shape);
            if (round > 0 && k % 4 == 3) continue; /* a quarter keep their node this round */
            assert_int_equal(smap_writes_add(&ws, &pos[k], &node[k]), QC_OK);
        }
        if (round > 0) /* the skipped ones: what they held stays (undo this round's draw) */
            for (unsigned k = 3; k < POSITIONS; k += 4) {
                smap_node_t kept;
                assert_int_equal(r.get(r.ctx, &pos[k], &kept), QC_OK);
                node[k] = kept;
            }
        assert_int_equal(smap_mem_commit(m, &ws), QC_OK);
        smap_writes_free(&ws);
        assert_int_equal(smap_mem_count(m), POSITIONS);
        assert_int_equal(smap_mem_dirty(m), POSITIONS); /* dirty since round 0, counted once */
        for (unsigned k = 0; k < POSITIONS; k++) {
            smap_node_t got;
            memset(&got, 0xee, sizeof got);
            assert_int_equal(r.get(r.ctx, &pos[k], &got), QC_OK);
            assert_memory_equal(&got, &node[k], sizeof got);
        }
    }
    smap_mem_stats_t st;
    smap_mem_stats(m, &st);
    assert_int_equal(st.nodes, POSITIONS);
    /* every dirty node is handed out once, as held */
    unsigned seen = 0;
    assert_int_equal(smap_mem_each_dirty(m, count_put, &seen), QC_OK);
    assert_int_equal(seen, POSITIONS);
    /* clean, then evicted down to a third: what stays is found as it was; the rest is gone */
    smap_mem_mark_clean(m);
    assert_int_equal(smap_mem_dirty(m), 0);
    assert_int_equal(smap_mem_evict(m, POSITIONS / 3), POSITIONS - POSITIONS / 3);
    assert_int_equal(smap_mem_count(m), POSITIONS / 3);
    unsigned found = 0;
    for (unsigned k = 0; k < POSITIONS; k++) {
        smap_node_t got;
        int rc = r.get(r.ctx, &pos[k], &got);
        if (rc == QC_ERR_NOTFOUND) continue;
        assert_int_equal(rc, QC_OK);
        assert_memory_equal(&got, &node[k], sizeof got);
        found++;
    }
    assert_int_equal(found, POSITIONS / 3);
    smap_mem_free(m);

    /* a map of random keys: its entries (~145 bytes a node on average) take less than three
     * quarters of a position and a node struct for each node */
    assert_int_equal(smap_mem_new(&m), QC_OK);
    ref_t ref = {0};
    qc_hash_t root;
    for (int blk = 0; blk < 8; blk++) {
        smap_update_t u[BATCH_MAX];
        memset(u, 0, sizeof u);
        random_batch(u, BATCH_MAX, &ref);
        map_apply(m, u, BATCH_MAX, &root);
    }
    smap_mem_stats(m, &st);
    assert_true(st.nodes > 1000);
    assert_true(st.entry_bytes < st.nodes * (sizeof(smap_pos_t) + sizeof(smap_node_t)) * 3 / 4);
    assert_true(st.entry_bytes > st.nodes * 100); /* no class smaller than 101 bytes */
    assert_true(st.bytes > st.entry_bytes);
    free(ref.e);
    smap_mem_free(m);
}

int main(void) {
    if (qc_crypto_init() != QC_OK) return 1;
    const char *filter = getenv("QC_TEST_FILTER"); /* e.g. "test_tamper", to time one */
    if (filter != NULL) cmocka_set_test_filter(filter);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_sha256_short),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_large_map),
        cmocka_unit_test(test_read_ahead_hints),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_decoder_refusals),
        cmocka_unit_test(test_batch_rules),
        cmocka_unit_test(test_full_depth),
        cmocka_unit_test(test_codecs_and_corruption),
        cmocka_unit_test(test_layers_match_sequential),
        cmocka_unit_test(test_cache_matches_plain),
        cmocka_unit_test(test_cache_evict_all_findable),
        cmocka_unit_test(test_check_walk),
        cmocka_unit_test(test_packed_writes),
        cmocka_unit_test(test_mem_size_classes),
    };
    return cmocka_run_group_tests_name("smt", tests, NULL, NULL);
}
