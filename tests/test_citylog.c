/* test_citylog.c - the per-city logs kept by the store (node/store/store_city.c) and the
 * completeness proofs built from them (node/api/api_cityproof.c, docs/PROTOCOL.md §13) on a
 * real LevelDB: every city's log holds exactly the events a model derived here from the
 * blocks says, its root is the RFC 6962 root of those leaves, every range of every city
 * (and of a name that never had an event) gives a proof that verifies offline and lists
 * exactly the model's events, the logs survive a reopen (rebuilt from the blocks), a group
 * apply that fails restores them, long ranges are cut at a block boundary and a block too
 * big for one proof is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "chainbuilder.h"
#include "merkle.h"
#include "store.h"
#include "store_impl.h"
#include "testkeys.h"
#include "tmpdir.h"

#define CHAIN "qchain-citylog-test"
#define MODEL_MAX 256 /* events per city the model follows */
#define CITIES 4

/* The events the test expects per member city, derived from the blocks by hand (§13.1). */
typedef struct {
    qc_city_leaf_t leaf[MODEL_MAX];
    size_t n;
} model_city_t;

typedef struct {
    char dir[256];
    chainbuilder_t cb;
    qc_validator_set_t genesis_vs;
    store_config_t cfg;
    store_t s;
    model_city_t m[CITIES];
    uint64_t nonce;
} fx_t;

static int fx_setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tmpdir_make(f->dir, sizeof f->dir, "citylog"), 0);
    chainbuilder_init(&f->cb, CHAIN, CITIES, 0);
    f->cfg.chain_id = CHAIN;
    qc_sha256(&f->cfg.genesis_hash, "genesis", 7);
    f->cb.genesis_hash = f->cfg.genesis_hash;
    f->genesis_vs = f->cb.vs;
    f->cfg.genesis_validators = &f->genesis_vs;
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    *state = f;
    return 0;
}

static int fx_teardown(void **state) {
    fx_t *f = *state;
    store_close(&f->s);
    assert_int_equal(tmpdir_remove(f->dir), 0);
    free(f);
    return 0;
}

static void model_add(fx_t *f, uint32_t city, uint64_t height, const qc_hash_t *tx_id,
                      uint16_t index, uint8_t kind, const qc_hash_t *digest) {
    model_city_t *m = &f->m[city];
    if (m->n >= MODEL_MAX) return; /* the big-block tests do not compare leaf by leaf */
    m->leaf[m->n++] = (qc_city_leaf_t){height, *tx_id, index, kind, *digest};
}

/* The model's leaves of block b, written from §13.1's table rather than through clog_tx. */
static void model_block(fx_t *f, const qc_block_t *b) {
    for (uint32_t i = 0; i < b->tx_count; i++) {
        const qc_tx_t *tx = &b->txs[i];
        int c = qc_validators_find_seal(&f->cb.vs, &tx->signer);
        assert_true(c >= 0);
        uint64_t h = b->header.height;
        if (tx->type == QC_TX_ANCHOR) {
            for (uint32_t r = 0; r < tx->record_count; r++) {
                qc_hash_t d;
                memcpy(d.b, tx->records[r].digest, 32);
                model_add(f, (uint32_t)c, h, &tx->id, (uint16_t)r, QC_CITY_ANCHOR, &d);
            }
        } else if (tx->type == QC_TX_ENDORSE) {
            model_add(f, (uint32_t)c, h, &tx->id, 0, QC_CITY_ENDORSE, &tx->life->digest);
        } else if (tx->type == QC_TX_REVOKE) {
            model_add(f, (uint32_t)c, h, &tx->id, 0, QC_CITY_REVOKE, &tx->life->digest);
        } else if (tx->type == QC_TX_SUPERSEDE) {
            model_add(f, (uint32_t)c, h, &tx->id, 0, QC_CITY_SUPERSEDE_OLD, &tx->life->digest);
            model_add(f, (uint32_t)c, h, &tx->id, 1, QC_CITY_SUPERSEDE_NEW,
                      &tx->life->new_digest);
        }
    }
}

static void anchor(fx_t *f, uint32_t city, uint32_t records, qc_tx_t *tx) {
    assert_int_equal(chainbuilder_tx(&f->cb, city, (uint32_t)f->nonce++, NULL, records, tx),
                     QC_OK);
}

static void life(fx_t *f, uint16_t type, uint32_t city, const uint8_t digest[32],
                 const uint8_t *new_digest, qc_tx_t *tx) {
    qc_life_op_t op;
    memset(&op, 0, sizeof op);
    memcpy(op.digest.b, digest, 32);
    if (new_digest) memcpy(op.new_digest.b, new_digest, 32);
    op.code = 1;
    assert_int_equal(qc_life_tx_build(CHAIN, type, &f->cb.seal_sk[city], 1000 + f->nonce++, 1000,
                                      &op, tx), QC_OK);
}

static void apply(fx_t *f, qc_tx_t *txs, uint32_t n) {
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_block(&f->cb, txs, n, &b, &c), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    model_block(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
}

/* Nine blocks: anchors by every city in turn, gaps, an endorsement, a revocation, a
 * supersession and an empty-of-events block (a governance-free block of one city only). */
static void build_chain(fx_t *f) {
    qc_tx_t t[4];
    anchor(f, 0, 3, &t[0]);                       /* 1: jinan 3 */
    apply(f, t, 1);
    anchor(f, 1, 2, &t[0]);                       /* 2: city 1 2, city 2 1 */
    anchor(f, 2, 1, &t[1]);
    apply(f, t, 2);
    anchor(f, 0, 1, &t[0]);                       /* 3: jinan 1 */
    apply(f, t, 1);
    const qc_city_leaf_t *j0 = &f->m[0].leaf[0];
    life(f, QC_TX_ENDORSE, 1, j0->digest.b, NULL, &t[0]); /* 4: city 1 endorses jinan's */
    apply(f, t, 1);
    anchor(f, 2, 2, &t[0]);                       /* 5: city 2 only */
    apply(f, t, 1);
    life(f, QC_TX_REVOKE, 0, f->m[0].leaf[1].digest.b, NULL, &t[0]); /* 6: jinan revokes */
    anchor(f, 1, 1, &t[1]);
    apply(f, t, 2);
    anchor(f, 2, 1, &t[0]);                       /* 7: city 2 only */
    apply(f, t, 1);
    qc_hash_t nd;                                 /* 8: jinan anchors a new record and */
    memset(nd.b, 0xee, 32);                       /* supersedes its third with it */
    assert_int_equal(chainbuilder_tx(&f->cb, 0, (uint32_t)f->nonce++, &nd, 1, &t[0]), QC_OK);
    life(f, QC_TX_SUPERSEDE, 0, f->m[0].leaf[2].digest.b, nd.b, &t[1]);
    apply(f, t, 2);
    anchor(f, 1, 4, &t[0]);                       /* 9: city 1 */
    apply(f, t, 1);
}

static void leaf_equal(const qc_city_leaf_t *a, const qc_city_leaf_t *b) {
    assert_int_equal(a->height, b->height);
    assert_memory_equal(a->tx_id.b, b->tx_id.b, 32);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->kind, b->kind);
    assert_memory_equal(a->digest.b, b->digest.b, 32);
}

/* Each city's log in the store is the model's, leaf by leaf, with the RFC 6962 root. */
static void check_logs(fx_t *f) {
    for (uint32_t c = 0; c < CITIES; c++) {
        const model_city_t *m = &f->m[c];
        const char *name = f->cb.vs.members[c].name;
        uint64_t size;
        qc_hash_t root, want;
        assert_int_equal(store_city_log(&f->s, name, &size, &root), QC_OK);
        assert_int_equal(size, m->n);
        qc_hash_t *hashes = calloc(m->n + 1, sizeof *hashes);
        assert_non_null(hashes);
        for (size_t i = 0; i < m->n; i++) {
            qc_city_leaf_t got;
            assert_int_equal(store_city_leaf(&f->s, name, i, &got), QC_OK);
            leaf_equal(&got, &m->leaf[i]);
            qc_city_leaf_hash(&m->leaf[i], &hashes[i]);
        }
        merkle_root(&want, hashes, m->n);
        assert_memory_equal(root.b, want.b, 32);
        free(hashes);
        qc_city_leaf_t l;
        assert_int_equal(store_city_leaf(&f->s, name, m->n, &l), QC_ERR_RANGE);
    }
}

/* Every range a..b of city c (c == CITIES: a name with no events) as of the head: the proof
 * verifies, through its JSON form too, and lists exactly the model's events in a..b. */
static void check_proofs(fx_t *f, const char *name, const model_city_t *m) {
    uint64_t top = f->s.head.height;
    for (uint64_t a = 1; a <= top; a++)
        for (uint64_t b = a; b <= top; b++) {
            cityproof_t p;
            assert_int_equal(api_build_city_proof(&f->s, name, a, b, 0, &p), QC_OK);
            assert_int_equal(p.to_height, b);
            cityproof_result_t res;
            char why[256] = "";
            int rc = cityproof_verify(&p, CHAIN, &f->cfg.genesis_hash, &f->genesis_vs, &res, why,
                                      sizeof why);
            if (rc != QC_OK) fail_msg("%s %llu..%llu: %s", name, (unsigned long long)a,
                                      (unsigned long long)b, why);
            assert_int_equal(res.block.height, top);
            size_t want = 0, first = SIZE_MAX;
            for (size_t i = 0; m && i < m->n; i++)
                if (m->leaf[i].height >= a && m->leaf[i].height <= b) {
                    if (first == SIZE_MAX) first = i;
                    want++;
                }
            assert_int_equal(res.count, want);
            for (size_t i = 0; i < want; i++)
                leaf_equal(&p.leaves[res.first + i], &m->leaf[first + i]);
            /* "did the city anchor d in a..b?" for each of its anchored digests */
            for (size_t i = 0; m && i < m->n; i++)
                if (m->leaf[i].kind == QC_CITY_ANCHOR) {
                    bool in = m->leaf[i].height >= a && m->leaf[i].height <= b;
                    assert_int_equal(cityproof_anchored(&p, &res, &m->leaf[i].digest), in);
                }
            if (a == 1 && b == top) {
                json_t *j = cityproof_to_json(&p);
                assert_non_null(j);
                cityproof_t q;
                assert_int_equal(cityproof_from_json(j, &q, why, sizeof why), QC_OK);
                assert_int_equal(cityproof_verify(&q, CHAIN, &f->cfg.genesis_hash,
                                                  &f->genesis_vs, &res, why, sizeof why), QC_OK);
                cityproof_free(&q);
                json_decref(j);
            }
            /* one leaf dropped from a proof with leaves: refused */
            if (p.leaf_count > 1) {
                p.leaf_count--;
                assert_int_not_equal(cityproof_verify(&p, CHAIN, &f->cfg.genesis_hash,
                                                      &f->genesis_vs, &res, why, sizeof why),
                                     QC_OK);
                p.leaf_count++;
            }
            cityproof_free(&p);
        }
}

static void check_all_proofs(fx_t *f) {
    for (uint32_t c = 0; c < CITIES; c++) check_proofs(f, f->cb.vs.members[c].name, &f->m[c]);
    check_proofs(f, "heze", NULL); /* not a member, never an event: an empty log */
}

static void test_logs_and_proofs(void **state) {
    fx_t *f = *state;
    cityproof_t p;
    assert_int_equal(api_build_city_proof(&f->s, "jinan", 1, 1, 0, &p), QC_ERR_NOTFOUND);
    build_chain(f);
    assert_int_equal(f->m[3].n, 0); /* the fourth city never had an event */
    assert_int_equal(f->m[0].n, 8); /* 3 + 1 + revoke + 1 + supersede (2) */
    assert_int_equal(f->m[1].n, 8); /* 2 + endorse + 1 + 4 */
    assert_int_equal(f->m[2].n, 4);
    check_logs(f);
    check_all_proofs(f);
    /* the logs are derived state: a reopen rebuilds them from the blocks */
    store_close(&f->s);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    check_logs(f);
    check_all_proofs(f);
}

/* A soft limit cuts at the last block boundary within it, but always serves block `from`
 * whole: the proofs verify and say how far they reach. */
static void test_soft_cut(void **state) {
    fx_t *f = *state;
    build_chain(f); /* jinan's leaves: block 1 (3), 3 (1), 6 (1), 8 (3) */
    static const struct { size_t soft; uint64_t from, to_want; size_t leaves, events; } c[] = {
        {3, 1, 1, 4, 3},  /* block 1 alone is over the limit: served whole, with the bracket */
        {5, 1, 5, 5, 4},  /* leaf 4 is block 6's: cut after block 5 (blocks 1, 3 and bracket) */
        {4, 2, 7, 4, 2},  /* bracket (block 1), 3, 6, bracket (block 8): to cut to 7 */
        {100, 1, 9, 8, 8},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cityproof_t p;
        assert_int_equal(api_build_city_proof(&f->s, "jinan", c[i].from, 9, c[i].soft, &p), QC_OK);
        assert_int_equal(p.to_height, c[i].to_want);
        assert_int_equal(p.leaf_count, c[i].leaves);
        cityproof_result_t res;
        char why[256] = "";
        assert_int_equal(cityproof_verify(&p, CHAIN, &f->cfg.genesis_hash, &f->genesis_vs, &res,
                                          why, sizeof why), QC_OK);
        assert_int_equal(res.count, c[i].events);
        cityproof_free(&p);
    }
}

static void test_bad_requests(void **state) {
    fx_t *f = *state;
    build_chain(f);
    const char *name = f->cb.vs.members[0].name;
    cityproof_t p;
    uint64_t top = f->s.head.height;
    assert_int_equal(api_build_city_proof(&f->s, name, 0, 1, 0, &p), QC_ERR_RANGE);
    assert_int_equal(api_build_city_proof(&f->s, name, 3, 2, 0, &p), QC_ERR_RANGE);
    assert_int_equal(api_build_city_proof(&f->s, name, 1, top + 1, 0, &p), QC_ERR_RANGE);
    assert_int_equal(api_build_city_proof(&f->s, "Jinan", 1, 1, 0, &p), QC_ERR_INVALID);
    assert_int_equal(api_build_city_proof(&f->s, "-x", 1, 1, 0, &p), QC_ERR_INVALID);
    uint64_t size;
    qc_hash_t root;
    assert_int_equal(store_city_log(&f->s, "a b", &size, &root), QC_ERR_INVALID);
    qc_city_leaf_t l;
    assert_int_equal(store_city_leaf(&f->s, "nobody", 0, &l), QC_ERR_RANGE);
}

/* Puts (v non-NULL) or deletes key k in the closed store's LevelDB. */
static void raw_edit(const char *dir, const uint8_t *k, size_t klen, const uint8_t *v,
                     size_t vlen) {
    leveldb_options_t *o = leveldb_options_create();
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, dir, &err);
    assert_null(err);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    if (v) leveldb_put(db, w, (const char *)k, klen, (const char *)v, vlen, &err);
    else leveldb_delete(db, w, (const char *)k, klen, &err);
    assert_null(err);
    leveldb_writeoptions_destroy(w);
    leveldb_close(db);
    leveldb_options_destroy(o);
}

/* store_check holds the 'Y' spans and 'Z' nodes to the logs; a missing or lying span, or a
 * missing or wrong node, is corrupt (loud, in store_problem), never "not found" or a short
 * proof. */
static void test_damage(void **state) {
    fx_t *f = *state;
    build_chain(f);
    qc_tx_t t;
    anchor(f, 1, 20, &t); /* city 1's log: 8 + 20 leaves, so subtree (4, 0) is stored */
    apply(f, &t, 1);
    assert_int_equal(store_check(&f->s, NULL), QC_OK);
    const char *name = f->cb.vs.members[1].name;
    uint8_t k[SK_MAX_LEN], v[SV_CITY_SPAN_LEN];
    qc_city_leaf_t l;
    cityproof_t p;
    /* block 4's span (city 1's leaf 2, its endorsement) gone */
    store_close(&f->s);
    raw_edit(f->dir, k, sk_city_span(k, name, 2), NULL, 0);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_ERR_CORRUPT);
    assert_int_equal(store_city_leaf(&f->s, name, 2, &l), QC_ERR_CORRUPT);
    assert_non_null(store_problem(&f->s));
    assert_int_equal(api_build_city_proof(&f->s, name, 1, f->s.head.height, 0, &p), QC_ERR_CORRUPT);
    /* back, but claiming two events where block 4 has one of the city's */
    store_close(&f->s);
    v[0] = STORE_FORMAT_VERSION;
    qc_put_u64(v + 1, 4);
    qc_put_u32(v + 9, 2);
    raw_edit(f->dir, k, sk_city_span(k, name, 2), v, sizeof v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_ERR_CORRUPT);
    assert_int_equal(store_city_leaf(&f->s, name, 2, &l), QC_ERR_CORRUPT);
    /* the right span again: sound; then the stored subtree (4, 0) gone */
    store_close(&f->s);
    qc_put_u32(v + 9, 1);
    raw_edit(f->dir, k, sk_city_span(k, name, 2), v, sizeof v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_OK);
    assert_int_equal(store_city_leaf(&f->s, name, 2, &l), QC_OK);
    assert_int_equal(l.kind, QC_CITY_ENDORSE);
    /* subtree (4, 0) as its 16 leaves hash: what the store must hold there */
    qc_city_leaf_t leaves[16];
    qc_hash_t lh[16], good;
    assert_int_equal(store_city_leaves(&f->s, name, 0, 16, leaves), QC_OK);
    for (size_t i = 0; i < 16; i++) qc_city_leaf_hash(&leaves[i], &lh[i]);
    merkle_root(&good, lh, 16);
    uint8_t gv[SV_LOG_LEN] = {STORE_FORMAT_VERSION};
    memcpy(gv + 1, good.b, 32);
    /* one bit of it flipped: the node no longer hashes from its leaves */
    store_close(&f->s);
    gv[7] ^= 0x20;
    raw_edit(f->dir, k, sk_city_node(k, name, 4, 0), gv, sizeof gv);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_ERR_CORRUPT);
    store_close(&f->s);
    gv[7] ^= 0x20;
    raw_edit(f->dir, k, sk_city_node(k, name, 4, 0), gv, sizeof gv);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_OK);
    store_close(&f->s);
    raw_edit(f->dir, k, sk_city_node(k, name, 4, 0), NULL, 0);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_ERR_CORRUPT);
    qc_hash_t out[CITYPROOF_HASHES_MAX];
    size_t count;
    assert_int_equal(store_city_range_hashes(&f->s, name, 20, 21, out, CITYPROOF_HASHES_MAX,
                                             &count), QC_ERR_CORRUPT);
    /* a node back, and a stray one outside every log */
    store_close(&f->s);
    uint8_t nv[SV_LOG_LEN] = {STORE_FORMAT_VERSION};
    raw_edit(f->dir, k, sk_city_node(k, name, 4, 0), nv, sizeof nv);
    raw_edit(f->dir, k, sk_city_node(k, name, 4, 5), nv, sizeof nv);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_ERR_CORRUPT);
}

/* A group apply stopped by a refused block keeps the logs of the blocks it applied and none of
 * the refused one's. */
static void test_group_partial(void **state) {
    fx_t *f = *state;
    build_chain(f);
    uint64_t size0;
    qc_hash_t root0;
    assert_int_equal(store_city_log(&f->s, "jinan", &size0, &root0), QC_OK);
    /* two certified blocks, the second refused: the first is applied, the logs follow it */
    qc_block_t b[2];
    qc_cert_t c[2];
    qc_tx_t t;
    anchor(f, 0, 2, &t);
    assert_int_equal(chainbuilder_block(&f->cb, &t, 1, &b[0], &c[0]), QC_OK);
    chainbuilder_t cb1 = f->cb;
    chainbuilder_advance(&cb1, &b[0]);
    anchor(f, 0, 2, &t);
    assert_int_equal(chainbuilder_block(&cb1, &t, 1, &b[1], &c[1]), QC_OK);
    b[1].header.state_root.b[0] ^= 1; /* wrong root: refused */
    chainbuilder_certify(&cb1, &b[1], &c[1]);
    size_t applied = 9;
    assert_int_equal(store_apply_blocks(&f->s, b, c, 2, &applied), QC_ERR_INVALID);
    assert_int_equal(applied, 1);
    uint64_t size1;
    qc_hash_t root1;
    assert_int_equal(store_city_log(&f->s, "jinan", &size1, &root1), QC_OK);
    assert_int_equal(size1, size0 + 2);
    model_block(f, &b[0]);
    f->cb = cb1;
    check_logs(f);
    qc_block_free(&b[0]);
    qc_block_free(&b[1]);
}

/* A range longer than one proof may carry is cut at a block boundary (to_height says where)
 * and the cut proof verifies; a block alone too big for a proof is refused. */
static void test_cut_and_too_big(void **state) {
    fx_t *f = *state;
    const uint32_t per_tx = QC_TX_RECORDS_MAX;
    uint32_t txs_a = CITYPROOF_LEAVES_MAX / per_tx / 2 + 10; /* two such blocks overflow */
    qc_tx_t *t = calloc(CITYPROOF_LEAVES_MAX / per_tx + 2, sizeof *t);
    assert_non_null(t);
    anchor(f, 1, 1, &t[0]);                        /* 1: a leaf before (the bracket) */
    apply(f, t, 1);
    for (int k = 0; k < 2; k++) {                  /* 2, 3: big blocks of jinan */
        for (uint32_t i = 0; i < txs_a; i++) anchor(f, 0, per_tx, &t[i]);
        apply(f, t, txs_a);
    }
    uint32_t txs_big = CITYPROOF_LEAVES_MAX / per_tx + 1; /* 4: one block over the limit */
    for (uint32_t i = 0; i < txs_big; i++) anchor(f, 0, per_tx, &t[i]);
    apply(f, t, txs_big);
    free(t);
    cityproof_t p;
    assert_int_equal(api_build_city_proof(&f->s, "jinan", 2, 3, 0, &p), QC_OK);
    assert_int_equal(p.to_height, 2); /* cut after block 2 */
    assert_int_equal(p.first_index, 0);
    assert_int_equal(p.leaf_count, (size_t)txs_a * per_tx + 1); /* block 2 and the bracket */
    cityproof_result_t res;
    char why[256] = "";
    assert_int_equal(cityproof_verify(&p, CHAIN, &f->cfg.genesis_hash, &f->genesis_vs, &res, why,
                                      sizeof why), QC_OK);
    assert_int_equal(res.count, (size_t)txs_a * per_tx);
    cityproof_free(&p);
    assert_int_equal(api_build_city_proof(&f->s, "jinan", 3, 4, 0, &p), QC_OK);
    assert_int_equal(p.to_height, 3);
    assert_int_equal(p.first_index, (uint64_t)txs_a * per_tx - 1); /* block 2's last leaf */
    cityproof_free(&p);
    assert_int_equal(api_build_city_proof(&f->s, "jinan", 4, 4, 0, &p), QC_ERR_TOOBIG);
    assert_int_equal(api_build_city_proof(&f->s, "jinan", 4, 4, API_CITY_LOG_LEAVES, &p),
                     QC_ERR_TOOBIG);
    /* the node's soft limit: block 2 alone is over it, so it comes whole and alone */
    assert_int_equal(api_build_city_proof(&f->s, "jinan", 2, 4, API_CITY_LOG_LEAVES, &p), QC_OK);
    assert_int_equal(p.to_height, 2);
    assert_int_equal(p.leaf_count, (size_t)txs_a * per_tx + 1);
    cityproof_free(&p);
    /* the other city's range over the big blocks is small and whole */
    assert_int_equal(api_build_city_proof(&f->s, f->cb.vs.members[1].name, 1, 4, 0, &p), QC_OK);
    assert_int_equal(p.to_height, 4);
    assert_int_equal(p.leaf_count, 1);
    cityproof_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logs_and_proofs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_soft_cut, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_partial, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_damage, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_too_big, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
