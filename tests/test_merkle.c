/* test_merkle.c - RFC 6962 / RFC 9162 Merkle trees: the Certificate Transparency test tree
 * vectors (copied from the shared vector file, docs/MERKLE.md), every proof of small trees
 * generated, verified and compared with a recursive transcription of the RFC, and the proofs
 * a verifier must reject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "merkle.h"

/* ---- the CT test tree ------------------------------------------------------------------- */

static const char *const leaf_data_hex[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

typedef struct {
    const char *name;
    const char *hex;
} named_hash_t;

static const named_hash_t named[] = {
    {"L0", "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
    {"L1", "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"},
    {"L2", "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"},
    {"L3", "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"},
    {"L4", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
    {"L5", "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"},
    {"L6", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"},
    {"L7", "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
    {"N01", "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
    {"N23", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"},
    {"N45", "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
    {"N67", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
    {"N03", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
    {"N47", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
    {"N46", "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
};

/* Roots by tree size 0..8, as names or hex. */
static const char *const root_by_size[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "L0",
    "N01",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "N03",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

typedef struct {
    uint64_t a, b;            /* (index, size) or (size1, size2) */
    const char *hashes[4];    /* names; NULL-terminated when shorter */
} proof_vector_t;

static const proof_vector_t inclusion_vectors[] = {
    {0, 8, {"L1", "N23", "N47"}}, {5, 8, {"L4", "N67", "N03"}}, {2, 3, {"N01"}},
    {1, 5, {"L0", "N23", "L4"}},  {7, 8, {"L6", "N45", "N03"}}, {4, 5, {"N03"}},
    {6, 7, {"N45", "N03"}},       {3, 7, {"L2", "N01", "N46"}}, {4, 6, {"L5", "N03"}},
    {5, 6, {"L4", "N03"}},
};

static const proof_vector_t consistency_vectors[] = {
    {1, 1, {NULL}},          {1, 8, {"L1", "N23", "N47"}},     {6, 8, {"N45", "N67", "N03"}},
    {2, 5, {"N23", "L4"}},   {6, 7, {"N45", "L6", "N03"}},     {3, 7, {"L2", "L3", "N01", "N46"}},
    {4, 8, {"N47"}},
};

#define N_LEAVES 8

static qc_hash_t leaves[N_LEAVES]; /* leaf hashes of the CT tree */
static qc_hash_t roots[N_LEAVES + 1];

static qc_hash_t hash_named(const char *name_or_hex) {
    qc_hash_t h;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(named[i].name, name_or_hex) == 0) name_or_hex = named[i].hex;
    }
    assert_int_equal(qc_hex_decode(h.b, QC_HASH_BYTES, name_or_hex), QC_OK);
    return h;
}

static size_t vector_hashes(const proof_vector_t *v, qc_hash_t *out) {
    size_t n = 0;
    while (n < 4 && v->hashes[n] != NULL) {
        out[n] = hash_named(v->hashes[n]);
        n++;
    }
    return n;
}

static int setup_ct_tree(void **state) {
    (void)state;
    for (int i = 0; i < N_LEAVES; i++) {
        uint8_t data[16];
        size_t len = strlen(leaf_data_hex[i]) / 2;
        if (qc_hex_decode(data, len, leaf_data_hex[i]) != QC_OK) return -1;
        merkle_leaf_hash(&leaves[i], data, len);
    }
    for (int n = 0; n <= N_LEAVES; n++) roots[n] = hash_named(root_by_size[n]);
    return 0;
}

/* ---- a recursive transcription of RFC 6962 §2.1, the reference --------------------------- */

static uint64_t ref_split(uint64_t n) {
    uint64_t k = 1;
    while (2 * k < n) k *= 2;
    return k;
}

static void ref_mth(qc_hash_t *out, const qc_hash_t *d, uint64_t n) {
    if (n == 0) {
        qc_sha256(out, "", 0);
    } else if (n == 1) {
        *out = d[0];
    } else {
        uint64_t k = ref_split(n);
        qc_hash_t l, r;
        ref_mth(&l, d, k);
        ref_mth(&r, d + k, n - k);
        merkle_node_hash(out, &l, &r);
    }
}

static void ref_path(uint64_t m, const qc_hash_t *d, uint64_t n, qc_hash_t *out, size_t *len) {
    if (n <= 1) return;
    uint64_t k = ref_split(n);
    if (m < k) {
        ref_path(m, d, k, out, len);
        ref_mth(&out[(*len)++], d + k, n - k);
    } else {
        ref_path(m - k, d + k, n - k, out, len);
        ref_mth(&out[(*len)++], d, k);
    }
}

static void ref_subproof(uint64_t m, const qc_hash_t *d, uint64_t n, bool b, qc_hash_t *out,
                         size_t *len) {
    if (m == n) {
        if (!b) ref_mth(&out[(*len)++], d, n);
        return;
    }
    uint64_t k = ref_split(n);
    if (m <= k) {
        ref_subproof(m, d, k, b, out, len);
        ref_mth(&out[(*len)++], d + k, n - k);
    } else {
        ref_subproof(m - k, d + k, n - k, false, out, len);
        ref_mth(&out[(*len)++], d, k);
    }
}

/* The verifier people write first: left/right from the index bits alone, ignoring the tree
 * size. It misses RFC 9162's "shift until fn is odd or zero" after a right-edge node. */
static bool naive_verify(const qc_hash_t *leaf, uint64_t index, const qc_hash_t *path,
                         size_t len, const qc_hash_t *root) {
    qc_hash_t r = *leaf;
    for (size_t i = 0; i < len; i++, index >>= 1) {
        if (index & 1) merkle_node_hash(&r, &path[i], &r);
        else merkle_node_hash(&r, &r, &path[i]);
    }
    return memcmp(&r, root, sizeof r) == 0;
}

/* Deterministic pseudo-random leaves (splitmix64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ---- hashing and roots ------------------------------------------------------------------ */

static void test_leaf_and_node_hashes(void **state) {
    (void)state;
    char *names[8] = {"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"};
    for (int i = 0; i < N_LEAVES; i++) {
        qc_hash_t want = hash_named(names[i]);
        assert_memory_equal(&leaves[i], &want, sizeof want);
    }
    qc_hash_t h, n45 = hash_named("N45");
    merkle_node_hash(&h, &leaves[4], &leaves[5]);
    assert_memory_equal(&h, &n45, sizeof h);
    merkle_node_hash(&h, &n45, &leaves[6]);
    qc_hash_t n46 = hash_named("N46");
    assert_memory_equal(&h, &n46, sizeof h);
    /* The prefixes matter: a node hash is not the plain hash of the concatenation. */
    uint8_t cat[64];
    memcpy(cat, &leaves[4], 32);
    memcpy(cat + 32, &leaves[5], 32);
    qc_sha256(&h, cat, sizeof cat);
    assert_memory_not_equal(&h, &n45, sizeof h);
    merkle_leaf_hash(&h, cat, 0);
    qc_hash_t l0 = hash_named("L0");
    assert_memory_equal(&h, &l0, sizeof h);
    /* Aliasing the output with an input is allowed. */
    h = n45;
    merkle_node_hash(&h, &h, &leaves[6]);
    assert_memory_equal(&h, &n46, sizeof h);
}

static void test_roots_every_size(void **state) {
    (void)state;
    qc_hash_t h;
    merkle_empty_root(&h);
    assert_memory_equal(&h, &roots[0], sizeof h);
    for (uint64_t n = 0; n <= N_LEAVES; n++) {
        merkle_root(&h, leaves, n);
        assert_memory_equal(&h, &roots[n], sizeof h);
        qc_hash_t frontier[MERKLE_LEVELS];
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(merkle_frontier_append(frontier, i, &leaves[i], NULL, NULL), QC_OK);
        }
        merkle_frontier_root(&h, frontier, n);
        assert_memory_equal(&h, &roots[n], sizeof h);
    }
    merkle_root(&h, NULL, 0);
    assert_memory_equal(&h, &roots[0], sizeof h);
}

/* merkle_root, proofs and verifiers against the recursive reference for every tree of up to
 * 70 random leaves: every (index, size) and every (size1, size2). */
static void test_against_reference(void **state) {
    (void)state;
    enum { MAX = 70 };
    qc_hash_t d[MAX], want[MERKLE_PROOF_MAX], got[MERKLE_PROOF_MAX], r1, r2;
    for (int i = 0; i < MAX; i++) {
        uint64_t x = rng_next();
        merkle_leaf_hash(&d[i], &x, sizeof x);
    }
    for (uint64_t n = 0; n <= MAX; n++) {
        ref_mth(&r2, d, n);
        merkle_root(&r1, d, n);
        assert_memory_equal(&r1, &r2, sizeof r1);
        for (uint64_t i = 0; i < n; i++) {
            size_t want_len = 0, got_len = 99;
            ref_path(i, d, n, want, &want_len);
            assert_int_equal(merkle_inclusion_proof(d, n, i, got, &got_len), QC_OK);
            assert_int_equal(got_len, want_len);
            assert_memory_equal(got, want, want_len * sizeof(qc_hash_t));
            assert_int_equal(merkle_verify_inclusion(&d[i], i, n, got, got_len, &r2), QC_OK);
        }
        for (uint64_t m = 0; m <= n; m++) {
            size_t want_len = 0, got_len = 99;
            if (m > 0 && m < n) ref_subproof(m, d, n, true, want, &want_len);
            assert_int_equal(merkle_consistency_proof(d, m, n, got, &got_len), QC_OK);
            assert_int_equal(got_len, want_len);
            assert_memory_equal(got, want, want_len * sizeof(qc_hash_t));
            ref_mth(&r1, d, m);
            assert_int_equal(merkle_verify_consistency(m, n, &r1, &r2, got, got_len), QC_OK);
        }
    }
}

/* ---- inclusion -------------------------------------------------------------------------- */

static void test_inclusion_vectors(void **state) {
    (void)state;
    for (size_t v = 0; v < sizeof inclusion_vectors / sizeof inclusion_vectors[0]; v++) {
        const proof_vector_t *pv = &inclusion_vectors[v];
        qc_hash_t want[4], got[MERKLE_PROOF_MAX];
        size_t want_len = vector_hashes(pv, want), got_len;
        assert_int_equal(merkle_inclusion_proof(leaves, pv->b, pv->a, got, &got_len), QC_OK);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len * sizeof(qc_hash_t));
        assert_int_equal(merkle_verify_inclusion(&leaves[pv->a], pv->a, pv->b, want, want_len,
                                                 &roots[pv->b]),
                         QC_OK);
    }
}

/* Valid proofs of right-edge leaves whose path skips promoted levels: a verifier that reads
 * left/right from the index bits alone rejects them; RFC 9162's accepts them. */
static void test_inclusion_right_edge_naive_rejects(void **state) {
    (void)state;
    static const uint64_t cases[][2] = {{2, 3}, {4, 5}, {6, 7}, {4, 6}, {5, 6}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t i = cases[c][0], n = cases[c][1];
        qc_hash_t path[MERKLE_PROOF_MAX];
        size_t len;
        assert_int_equal(merkle_inclusion_proof(leaves, n, i, path, &len), QC_OK);
        assert_int_equal(merkle_verify_inclusion(&leaves[i], i, n, path, len, &roots[n]), QC_OK);
        assert_false(naive_verify(&leaves[i], i, path, len, &roots[n]));
    }
    /* The strawman is otherwise a working verifier: it accepts complete-tree proofs. */
    for (uint64_t i = 0; i < 8; i++) {
        qc_hash_t path[MERKLE_PROOF_MAX];
        size_t len;
        assert_int_equal(merkle_inclusion_proof(leaves, 8, i, path, &len), QC_OK);
        assert_true(naive_verify(&leaves[i], i, path, len, &roots[8]));
    }
}

/* ---- proof mutations --------------------------------------------------------------------- */

/* A verification that must fail: checks one mutated proof, with the claim in ctx. */
typedef void (*reject_check_fn)(const void *ctx, const qc_hash_t *proof, size_t len);

/* Calls check with every mutation of a valid proof: one bit flipped in any hash (three bit
 * positions spread over the hash); the first or last hash removed; the proof emptied; a hash
 * removed from any position; any of `extras` (e.g. the leaf, the roots, a proof hash)
 * inserted at any position, both ends included; neighbouring hashes swapped. */
static void for_each_mutation(const qc_hash_t *proof, size_t len, const qc_hash_t *const *extras,
                              size_t n_extras, reject_check_fn check, const void *ctx) {
    qc_hash_t bad[MERKLE_PROOF_MAX + 1];
    assert_true(len < MERKLE_PROOF_MAX);
    for (size_t p = 0; p < len; p++) {
        for (int bit = 0; bit < 256; bit += 85) {
            memcpy(bad, proof, len * sizeof(qc_hash_t));
            bad[p].b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            check(ctx, bad, len);
        }
        memcpy(bad, proof, p * sizeof(qc_hash_t));
        memcpy(bad + p, proof + p + 1, (len - p - 1) * sizeof(qc_hash_t));
        check(ctx, bad, len - 1);
    }
    if (len > 0) {
        check(ctx, proof + 1, len - 1);
        check(ctx, proof, len - 1);
        check(ctx, NULL, 0);
    }
    for (size_t p = 0; p <= len; p++) {
        for (size_t e = 0; e < n_extras; e++) {
            memcpy(bad, proof, p * sizeof(qc_hash_t));
            bad[p] = *extras[e];
            memcpy(bad + p + 1, proof + p, (len - p) * sizeof(qc_hash_t));
            check(ctx, bad, len + 1);
        }
    }
    for (size_t p = 0; p + 1 < len; p++) {
        memcpy(bad, proof, len * sizeof(qc_hash_t));
        bad[p] = proof[p + 1];
        bad[p + 1] = proof[p];
        check(ctx, bad, len);
    }
}

/* An inclusion claim: leaf at (index, size) under root. */
typedef struct {
    const qc_hash_t *leaf;
    uint64_t index, size;
    const qc_hash_t *root;
} inclusion_claim_t;

static void reject_inclusion(const void *ctx, const qc_hash_t *path, size_t len) {
    const inclusion_claim_t *c = ctx;
    int rc = merkle_verify_inclusion(c->leaf, c->index, c->size, path, len, c->root);
    if (rc == QC_OK) fail_msg("accepted a bad inclusion proof (index %llu, size %llu, len %zu)",
                              (unsigned long long)c->index, (unsigned long long)c->size, len);
    assert_true(rc == QC_ERR_INVALID || rc == QC_ERR_RANGE);
}

/* Checks the valid path under the claim c with one of its fields changed. */
static void reject_inclusion_claim(inclusion_claim_t c, const qc_hash_t *path, size_t len) {
    reject_inclusion(&c, path, len);
}

/* Every wrong claim for, and every mutation of, every valid proof of the CT tree. */
static void test_inclusion_must_reject(void **state) {
    (void)state;
    for (uint64_t n = 1; n <= N_LEAVES; n++) {
        for (uint64_t i = 0; i < n; i++) {
            qc_hash_t path[MERKLE_PROOF_MAX];
            size_t len;
            const inclusion_claim_t ok = {&leaves[i], i, n, &roots[n]};
            assert_int_equal(merkle_inclusion_proof(leaves, n, i, path, &len), QC_OK);
            assert_int_equal(merkle_verify_inclusion(ok.leaf, i, n, path, len, ok.root), QC_OK);
            inclusion_claim_t c = ok;
            /* Index off by one, or with a bit flipped; index == size is a range error. */
            for (int b = 0; b < 4; b++) {
                c.index = i ^ (UINT64_C(1) << b);
                reject_inclusion_claim(c, path, len);
            }
            c.index = i + 1;
            reject_inclusion_claim(c, path, len);
            c.index = i - 1; /* wraps to UINT64_MAX for i == 0: a range error */
            reject_inclusion_claim(c, path, len);
            assert_int_equal(merkle_verify_inclusion(ok.leaf, n, n, path, len, ok.root),
                             QC_ERR_RANGE);
            /* Tree size doubled or halved (one level more or less than the path has). */
            c = ok;
            c.size = 2 * n;
            reject_inclusion_claim(c, path, len);
            c.size = n / 2;
            reject_inclusion_claim(c, path, len);
            /* Wrong leaf, wrong root. */
            for (uint64_t j = 0; j < N_LEAVES; j++) {
                c = ok;
                c.leaf = &leaves[j];
                if (j != i) reject_inclusion_claim(c, path, len);
            }
            for (uint64_t s = 0; s <= N_LEAVES; s++) {
                c = ok;
                c.root = &roots[s];
                if (s != n) reject_inclusion_claim(c, path, len);
            }
            const qc_hash_t *extras[3] = {ok.leaf, ok.root, len > 0 ? &path[0] : ok.leaf};
            for_each_mutation(path, len, extras, 3, reject_inclusion, &ok);
        }
    }
}

/* A proof binds the size only through its shape (docs/MERKLE.md §2): the path for (0, 3) also
 * passes as (0, 4) against the size-3 root, since the RFC 9162 algorithm hashes the same way.
 * Roots are trusted only together with their size, so this is sound; pinned here so that a
 * change in it is noticed. */
static void test_inclusion_size_bound_by_shape(void **state) {
    (void)state;
    qc_hash_t path[MERKLE_PROOF_MAX];
    size_t len;
    assert_int_equal(merkle_inclusion_proof(leaves, 3, 0, path, &len), QC_OK);
    assert_int_equal(merkle_verify_inclusion(&leaves[0], 0, 4, path, len, &roots[3]), QC_OK);
    assert_int_equal(merkle_verify_inclusion(&leaves[0], 0, 5, path, len, &roots[3]),
                     QC_ERR_INVALID);
}

static void test_inclusion_limits(void **state) {
    (void)state;
    qc_hash_t path[MERKLE_PROOF_MAX + 1];
    size_t len = 99;
    assert_int_equal(merkle_inclusion_proof(leaves, 8, 8, path, &len), QC_ERR_RANGE);
    assert_int_equal(len, 0);
    assert_int_equal(merkle_inclusion_proof(leaves, 0, 0, path, &len), QC_ERR_RANGE);
    assert_int_equal(merkle_verify_inclusion(&leaves[0], 0, 0, NULL, 0, &roots[0]), QC_ERR_RANGE);
    assert_int_equal(merkle_verify_inclusion(&leaves[0], 0, MERKLE_SIZE_MAX + 1, path, 1,
                                             &roots[1]),
                     QC_ERR_RANGE);
    /* Size one: the leaf is the root and the path is empty. */
    assert_int_equal(merkle_inclusion_proof(leaves, 1, 0, path, &len), QC_OK);
    assert_int_equal(len, 0);
    assert_int_equal(merkle_verify_inclusion(&leaves[0], 0, 1, NULL, 0, &roots[1]), QC_OK);
    /* A path longer than any tree allows is rejected before hashing. */
    memset(path, 0, sizeof path);
    assert_int_equal(merkle_verify_inclusion(&leaves[0], 0, MERKLE_SIZE_MAX, path,
                                             MERKLE_PROOF_MAX + 1, &roots[1]),
                     QC_ERR_INVALID);
    /* The deepest paths: 63 nodes at the largest size, each range a node of that tree. */
    merkle_range_t r[MERKLE_PROOF_MAX];
    assert_int_equal(merkle_inclusion_ranges(MERKLE_SIZE_MAX - 1, MERKLE_SIZE_MAX, r, &len),
                     QC_OK);
    assert_int_equal(len, 63);
    assert_int_equal(r[0].begin, MERKLE_SIZE_MAX - 2);
    assert_int_equal(r[62].end, MERKLE_SIZE_MAX / 2);
    assert_int_equal(merkle_inclusion_ranges(0, MERKLE_SIZE_MAX - 1, r, &len), QC_OK);
    assert_int_equal(len, 63);
    assert_int_equal(r[62].begin, MERKLE_SIZE_MAX / 2);
    assert_int_equal(r[62].end, MERKLE_SIZE_MAX - 1);
    assert_int_equal(merkle_inclusion_ranges(0, MERKLE_SIZE_MAX + 1, r, &len), QC_ERR_RANGE);
}

/* The audit-path bound is exact: a tree of MERKLE_SIZE_MAX equal leaves (every subtree of level k
 * hashes to lvl[k]) has a valid path of MERKLE_PATH_MAX = 63 hashes, which verifies; one more
 * hash makes it malformed. */
static void test_inclusion_path_bound(void **state) {
    (void)state;
    qc_hash_t lvl[MERKLE_PATH_MAX + 2];
    lvl[0] = leaves[0];
    for (size_t k = 0; k + 1 < MERKLE_PATH_MAX + 2; k++)
        merkle_node_hash(&lvl[k + 1], &lvl[k], &lvl[k]);
    const qc_hash_t *root = &lvl[MERKLE_PATH_MAX];
    assert_int_equal(MERKLE_SIZE_MAX, UINT64_C(1) << MERKLE_PATH_MAX);
    assert_int_equal(
        merkle_verify_inclusion(&lvl[0], 0, MERKLE_SIZE_MAX, lvl, MERKLE_PATH_MAX, root), QC_OK);
    assert_int_equal(merkle_verify_inclusion(&lvl[0], MERKLE_SIZE_MAX - 1, MERKLE_SIZE_MAX, lvl,
                                             MERKLE_PATH_MAX, root),
                     QC_OK);
    assert_int_equal(merkle_verify_inclusion(&lvl[0], 0, MERKLE_SIZE_MAX, lvl, MERKLE_PATH_MAX + 1,
                                             root),
                     QC_ERR_INVALID);
    assert_int_equal(merkle_verify_inclusion(&lvl[0], 0, MERKLE_SIZE_MAX, lvl, MERKLE_PATH_MAX - 1,
                                             root),
                     QC_ERR_INVALID);
}

/* ---- consistency ------------------------------------------------------------------------ */

static void test_consistency_vectors(void **state) {
    (void)state;
    for (size_t v = 0; v < sizeof consistency_vectors / sizeof consistency_vectors[0]; v++) {
        const proof_vector_t *pv = &consistency_vectors[v];
        qc_hash_t want[4], got[MERKLE_PROOF_MAX];
        size_t want_len = vector_hashes(pv, want), got_len;
        assert_int_equal(merkle_consistency_proof(leaves, pv->a, pv->b, got, &got_len), QC_OK);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len * sizeof(qc_hash_t));
        assert_int_equal(merkle_verify_consistency(pv->a, pv->b, &roots[pv->a], &roots[pv->b],
                                                   want, want_len),
                         QC_OK);
    }
}

/* A consistency claim: (size1, root1) -> (size2, root2). */
typedef struct {
    uint64_t size1, size2;
    const qc_hash_t *root1, *root2;
} consistency_claim_t;

static void reject_consistency(const void *ctx, const qc_hash_t *proof, size_t len) {
    const consistency_claim_t *c = ctx;
    int rc = merkle_verify_consistency(c->size1, c->size2, c->root1, c->root2, proof, len);
    if (rc == QC_OK) fail_msg("accepted a bad consistency proof (%llu -> %llu, len %zu)",
                              (unsigned long long)c->size1, (unsigned long long)c->size2, len);
    assert_true(rc == QC_ERR_INVALID || rc == QC_ERR_RANGE);
}

static void reject_consistency_claim(consistency_claim_t c, const qc_hash_t *proof, size_t len) {
    reject_consistency(&c, proof, len);
}

static void test_consistency_must_reject(void **state) {
    (void)state;
    for (uint64_t n = 0; n <= N_LEAVES; n++) {
        for (uint64_t m = 0; m <= n; m++) {
            qc_hash_t proof[MERKLE_PROOF_MAX];
            const consistency_claim_t ok = {m, n, &roots[m], &roots[n]};
            size_t len;
            assert_int_equal(merkle_consistency_proof(leaves, m, n, proof, &len), QC_OK);
            assert_int_equal(merkle_verify_consistency(m, n, ok.root1, ok.root2, proof, len),
                             QC_OK);
            /* Sizes going backwards are a range error, whatever the proof. */
            if (m < n) {
                assert_int_equal(merkle_verify_consistency(n, m, ok.root2, ok.root1, proof, len),
                                 QC_ERR_RANGE);
            }
            /* Swapped or wrong roots (every tree extends the empty one, so from size 0 only
             * root1 is checked: it must be the empty root). */
            consistency_claim_t c;
            for (uint64_t s = 0; s <= N_LEAVES; s++) {
                c = ok;
                c.root1 = &roots[s];
                if (s != m) reject_consistency_claim(c, proof, len);
                c = ok;
                c.root2 = &roots[s];
                if (s != n && m > 0) reject_consistency_claim(c, proof, len);
            }
            c = ok;
            c.root1 = ok.root2;
            c.root2 = ok.root1;
            if (m != n) reject_consistency_claim(c, proof, len);
            /* Any non-empty proof for equal sizes or from the empty tree. */
            if (m == n || m == 0) {
                assert_int_equal(len, 0);
                reject_consistency(&ok, &roots[n], 1);
                reject_consistency(&ok, leaves, 1);
                continue;
            }
            /* Wrong sizes: each off by one, the new size doubled, the old size halved. */
            const uint64_t wrong[4][2] = {{m + 1, n}, {m - 1, n}, {m, 2 * n}, {m / 2, n}};
            for (int w = 0; w < 4; w++) {
                c = ok;
                c.size1 = wrong[w][0];
                c.size2 = wrong[w][1];
                if (c.size1 != c.size2 && c.size1 > 0) reject_consistency_claim(c, proof, len);
            }
            const qc_hash_t *extras[3] = {ok.root1, ok.root2, &proof[0]};
            for_each_mutation(proof, len, extras, 3, reject_consistency, &ok);
        }
    }
}

static void test_consistency_limits(void **state) {
    (void)state;
    qc_hash_t proof[MERKLE_PROOF_MAX + 1];
    size_t len = 99;
    assert_int_equal(merkle_consistency_proof(leaves, 2, 1, proof, &len), QC_ERR_RANGE);
    assert_int_equal(len, 0);
    /* The vector file's backwards cases: 1 -> 0 and 2 -> 1. */
    assert_int_equal(merkle_verify_consistency(1, 0, &roots[1], &roots[0], NULL, 0),
                     QC_ERR_RANGE);
    assert_int_equal(merkle_verify_consistency(2, 1, &roots[2], &roots[1], NULL, 0),
                     QC_ERR_RANGE);
    assert_int_equal(merkle_verify_consistency(0, MERKLE_SIZE_MAX + 1, &roots[0], &roots[1],
                                               NULL, 0),
                     QC_ERR_RANGE);
    /* 0 -> 0 and 0 -> n with the empty root; a wrong "empty" root is rejected. */
    assert_int_equal(merkle_verify_consistency(0, 0, &roots[0], &roots[0], NULL, 0), QC_OK);
    assert_int_equal(merkle_verify_consistency(0, 5, &roots[0], &roots[5], NULL, 0), QC_OK);
    assert_int_equal(merkle_verify_consistency(0, 5, &roots[1], &roots[5], NULL, 0),
                     QC_ERR_INVALID);
    memset(proof, 0, sizeof proof);
    assert_int_equal(merkle_verify_consistency(1, MERKLE_SIZE_MAX, &roots[1], &roots[2], proof,
                                               MERKLE_PROOF_MAX + 1),
                     QC_ERR_INVALID);
    /* The longest proof: one more node than the tree is deep, and it fits MERKLE_PROOF_MAX. */
    merkle_range_t r[MERKLE_PROOF_MAX];
    assert_int_equal(merkle_consistency_ranges(3, 4, r, &len), QC_OK);
    assert_int_equal(len, 3);
    assert_int_equal(merkle_consistency_ranges(MERKLE_SIZE_MAX - 1, MERKLE_SIZE_MAX, r, &len),
                     QC_OK);
    assert_int_equal(len, MERKLE_PROOF_MAX);
    assert_int_equal(r[0].begin, MERKLE_SIZE_MAX - 2);
    assert_int_equal(r[0].end, MERKLE_SIZE_MAX - 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_and_node_hashes),
        cmocka_unit_test(test_roots_every_size),
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_inclusion_vectors),
        cmocka_unit_test(test_inclusion_right_edge_naive_rejects),
        cmocka_unit_test(test_inclusion_must_reject),
        cmocka_unit_test(test_inclusion_size_bound_by_shape),
        cmocka_unit_test(test_inclusion_limits),
        cmocka_unit_test(test_inclusion_path_bound),
        cmocka_unit_test(test_consistency_vectors),
        cmocka_unit_test(test_consistency_must_reject),
        cmocka_unit_test(test_consistency_limits),
    };
    return cmocka_run_group_tests_name("merkle", tests, setup_ct_tree, NULL);
}
