/* test_store.c - the LevelDB ledger store (node/store*.c) on a real LevelDB in a scratch
 * directory: applying chains and reading everything back, proofs against header roots,
 * refused blocks leaving the store byte-for-byte unchanged, reopening, chain binding, the
 * membership history, and corrupt values in every key family. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <leveldb/c.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chainbuilder.h"
#include "merkle.h"
#include "store.h"
#include "store_impl.h"
#include "smt.h"
#include "testkeys.h"
#include "govtest.h"
#include "tmpdir.h"

#define CHAIN "qchain-store-test"
#define LEAVES_MAX 4096

typedef struct {
    char dir[256];
    chainbuilder_t cb;
    qc_validator_set_t genesis_vs;
    store_config_t cfg;
    store_t s;
    qc_hash_t leaves[LEAVES_MAX]; /* every record-log leaf applied, in log order */
    uint64_t n_leaves;
} fx_t;

static int fx_setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tmpdir_make(f->dir, sizeof f->dir, "store"), 0);
    chainbuilder_init(&f->cb, CHAIN, 4, 0);
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

static void reopen(fx_t *f) {
    store_close(&f->s);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
}

static void remember_leaves(fx_t *f, const qc_block_t *b) {
    for (uint32_t i = 0; i < b->tx_count; i++)
        for (uint32_t j = 0; j < b->txs[i].record_count; j++) {
            assert_true(f->n_leaves < LEAVES_MAX);
            qc_record_leaf_hash(b->header.height, &b->txs[i].id, (uint16_t)j,
                                b->txs[i].records[j].digest, &f->leaves[f->n_leaves++]);
        }
}

static void assert_hash_equal(const qc_hash_t *a, const qc_hash_t *b) {
    assert_memory_equal(a->b, b->b, QC_HASH_BYTES);
}

/* Everything the store says about block b (just applied) matches b and c. */
static void check_readback(fx_t *f, const qc_block_t *b, const qc_cert_t *c,
                           uint64_t first_log_index) {
    uint64_t height = b->header.height;
    uint8_t *raw, *craw, *want, *cwant;
    size_t len, clen, wlen, cwlen;
    assert_int_equal(store_block_raw(&f->s, height, &raw, &len, &craw, &clen), QC_OK);
    assert_int_equal(qc_block_encode(b, &want, &wlen), QC_OK);
    assert_int_equal(qc_cert_encode(c, &cwant, &cwlen), QC_OK);
    assert_int_equal(len, wlen);
    assert_memory_equal(raw, want, len);
    assert_int_equal(clen, cwlen);
    assert_memory_equal(craw, cwant, clen);
    free(raw), free(craw), free(want), free(cwant);

    qc_block_t got;
    qc_cert_t gc;
    qc_hash_t h1, h2;
    assert_int_equal(store_block_get(&f->s, height, &got, &gc), QC_OK);
    qc_header_hash(&b->header, &h1);
    qc_header_hash(&got.header, &h2);
    assert_hash_equal(&h1, &h2);
    assert_int_equal(got.tx_count, b->tx_count);
    assert_int_equal(gc.vote_count, c->vote_count);
    assert_memory_equal(gc.votes, c->votes, sizeof c->votes[0] * c->vote_count);
    qc_block_free(&got);

    qc_header_t hdr;
    uint64_t at;
    assert_int_equal(store_header_get(&f->s, height, &hdr), QC_OK);
    qc_header_hash(&hdr, &h2);
    assert_hash_equal(&h1, &h2);
    assert_int_equal(store_height_by_hash(&f->s, &h1, &at), QC_OK);
    assert_int_equal(at, height);

    uint64_t log_index = first_log_index;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        store_tx_loc_t loc;
        qc_tx_t tx;
        assert_int_equal(store_tx_find(&f->s, &b->txs[i].id, &loc), QC_OK);
        assert_int_equal(loc.height, height);
        assert_int_equal(loc.tx_index, i);
        assert_int_equal(store_tx_get(&f->s, &b->txs[i].id, &loc, &tx), QC_OK);
        assert_int_equal(tx.body_len, b->txs[i].body_len);
        assert_memory_equal(tx.body, b->txs[i].body, tx.body_len);
        qc_tx_free(&tx);
        for (uint32_t j = 0; j < b->txs[i].record_count; j++, log_index++) {
            store_record_loc_t r;
            assert_int_equal(store_record_find(&f->s, b->txs[i].records[j].digest, &r), QC_OK);
            assert_int_equal(r.height, height);
            assert_int_equal(r.tx_index, i);
            assert_int_equal(r.record_index, j);
            assert_int_equal(r.log_index, log_index);
            assert_hash_equal(&r.tx_id, &b->txs[i].id);
        }
    }
}

/* Builds a block of n_txs x recs, applies it, checks the read-back and advances. */
static void apply_new(fx_t *f, uint32_t n_txs, uint32_t recs) {
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_make(&f->cb, n_txs, recs, &b, &c), QC_OK);
    uint64_t first = f->s.head.log_size;
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    check_readback(f, &b, &c, first);
    remember_leaves(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
}

/* SHA-256 over every key and value in the database, to prove a refusal wrote nothing. */
static void db_digest(store_t *s, qc_hash_t *out) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, ro);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        uint8_t lens[16];
        qc_put_u64(lens, kl);
        qc_put_u64(lens + 8, vl);
        crypto_hash_sha256_update(&st, lens, 16);
        crypto_hash_sha256_update(&st, (const uint8_t *)k, kl);
        crypto_hash_sha256_update(&st, (const uint8_t *)v, vl);
    }
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    crypto_hash_sha256_final(&st, out->b);
}

static void check_all(fx_t *f, uint64_t blocks) {
    store_check_stats_t st;
    assert_int_equal(store_check(&f->s, &st), QC_OK);
    assert_int_equal(st.blocks, blocks);
    assert_int_equal(st.records, f->n_leaves);
}

/* ------------------------------------------------------------------ tests */

static void test_empty_store(void **state) {
    fx_t *f = *state;
    store_head_t h;
    store_head(&f->s, &h);
    qc_hash_t empty, zero = {{0}};
    merkle_empty_root(&empty);
    assert_int_equal(h.height, 0);
    assert_int_equal(h.log_size, 0);
    assert_int_equal(h.epoch, 0);
    assert_hash_equal(&h.hash, &zero);
    assert_hash_equal(&h.log_root, &empty);
    qc_validator_set_t vs;
    assert_int_equal(store_validators(&f->s, 0, &vs), QC_OK);
    assert_memory_equal(&vs, &f->cb.vs, sizeof vs);
    assert_int_equal(store_validators(&f->s, 1, &vs), QC_ERR_NOTFOUND);
    uint64_t epoch = 9;
    assert_int_equal(store_epoch_at(&f->s, 1, &epoch), QC_OK);
    assert_int_equal(epoch, 0);
    assert_int_equal(store_epoch_at(&f->s, 2, &epoch), QC_ERR_RANGE);
    qc_block_t b;
    assert_int_equal(store_block_get(&f->s, 1, &b, NULL), QC_ERR_NOTFOUND);
    assert_int_equal(store_block_get(&f->s, 0, &b, NULL), QC_ERR_NOTFOUND);
    store_tx_loc_t loc;
    assert_int_equal(store_tx_find(&f->s, &zero, &loc), QC_ERR_NOTFOUND);
    store_record_loc_t r;
    assert_int_equal(store_record_find(&f->s, zero.b, &r), QC_ERR_NOTFOUND);
    check_all(f, 0);
}

static void test_apply_and_read_back(void **state) {
    fx_t *f = *state;
    apply_new(f, 3, 4);
    apply_new(f, 1, 1);
    apply_new(f, 0, 0); /* an empty block: no records, log unchanged */
    apply_new(f, 10, 100);
    apply_new(f, 2, 3);
    store_head_t h;
    store_head(&f->s, &h);
    assert_int_equal(h.height, 5);
    assert_int_equal(h.log_size, 12 + 1 + 0 + 1000 + 6);
    assert_int_equal(h.log_size, f->n_leaves);
    assert_hash_equal(&h.hash, &f->cb.head_hash);
    rlog_t log;
    qc_hash_t root;
    store_log_copy(&f->s, &log);
    assert_int_equal(log.size, h.log_size);
    rlog_root(&log, &root);
    assert_hash_equal(&root, &h.log_root);
    merkle_root(&root, f->leaves, f->n_leaves);
    assert_hash_equal(&root, &h.log_root);
    check_all(f, 5);
}

/* One transaction of a block, its header and certificate: the same as the full read gives. */
static void test_block_tx_matches_full_read(void **state) {
    fx_t *f = *state;
    apply_new(f, 3, 2);
    apply_new(f, 7, 1);
    for (uint64_t height = 1; height <= 2; height++) {
        qc_block_t b;
        qc_cert_t c;
        assert_int_equal(store_block_get(&f->s, height, &b, &c), QC_OK);
        for (uint32_t i = 0; i < b.tx_count; i++) {
            qc_header_t h;
            qc_tx_t tx;
            qc_cert_t c2;
            assert_int_equal(store_block_tx(&f->s, height, i, &h, &tx, &c2), QC_OK);
            assert_memory_equal(&h, &b.header, sizeof h);
            assert_memory_equal(tx.id.b, b.txs[i].id.b, 32);
            assert_int_equal(tx.body_len, b.txs[i].body_len);
            assert_memory_equal(&c2, &c, sizeof c);
            qc_tx_free(&tx);
        }
        qc_header_t h;
        qc_tx_t tx;
        qc_cert_t c2;
        assert_int_equal(store_block_tx(&f->s, height, b.tx_count, &h, &tx, &c2), QC_ERR_CORRUPT);
        qc_block_free(&b);
    }
    qc_header_t h;
    qc_tx_t tx;
    qc_cert_t c2;
    assert_int_equal(store_block_tx(&f->s, 3, 0, &h, &tx, &c2), QC_ERR_NOTFOUND);
}

/* The caller's precomputed leaf hashes are used, and still checked against the header. */
static void test_apply_with_precomputed_leaves(void **state) {
    fx_t *f = *state;
    apply_new(f, 2, 3);
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_make(&f->cb, 3, 5, &b, &c), QC_OK);
    qc_hash_t leaves[15];
    size_t k = 0;
    for (uint32_t t = 0; t < b.tx_count; t++)
        for (uint16_t r = 0; r < b.txs[t].record_count; r++)
            qc_record_leaf_hash(b.header.height, &b.txs[t].id, r, b.txs[t].records[r].digest,
                                &leaves[k++]);
    qc_hash_t before, after;
    db_digest(&f->s, &before);
    assert_int_equal(store_apply_block_leaves(&f->s, &b, &c, leaves, 14), QC_ERR_INVALID);
    leaves[7].b[0] ^= 1; /* a wrong leaf: the log cannot reach the header's root */
    assert_int_equal(store_apply_block_leaves(&f->s, &b, &c, leaves, 15), QC_ERR_INVALID);
    db_digest(&f->s, &after);
    assert_hash_equal(&before, &after);
    leaves[7].b[0] ^= 1;
    uint64_t first = f->s.head.log_size;
    assert_int_equal(store_apply_block_leaves(&f->s, &b, &c, leaves, 15), QC_OK);
    check_readback(f, &b, &c, first);
    remember_leaves(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
    check_all(f, 2);
}

/* What exec hands the store for b's city logs: the logs after it (from the store's, marks
 * cleared as exec's clog_finish leaves them) and the subtree hashes its events complete. */
static void exec_city_logs(fx_t *f, const qc_block_t *b, clog_set_t *after, clog_nodes_t *nodes) {
    assert_int_equal(clog_set_copy(after, &f->s.clogs), QC_OK);
    nodes->n = 0;
    clog_sink_t keep = clog_nodes_sink(nodes, after);
    for (uint32_t i = 0; i < b->tx_count; i++) {
        int m = qc_validators_find_seal(&f->cb.vs, &b->txs[i].signer);
        assert_true(m >= 0);
        assert_int_equal(clog_tx(after, &b->txs[i], f->cb.vs.members[m].name, b->header.height,
                                 &keep),
                         QC_OK);
    }
    sblock_t sb = {0};
    assert_int_equal(clog_finish(after, &sb), QC_OK);
    sblock_free(&sb);
}

/* The city logs exec computed are taken as they are (each event hashed once per node), after
 * checks that refuse a set that is not the block's on the head; the ledger then holds what a
 * replay writes (store_check), and a reopen, which replays, finds the same logs. */
static void test_apply_with_given_city_logs(void **state) {
    fx_t *f = *state;
    apply_new(f, 4, 5); /* every city's log starts at 5: the block's nodes do not start at 0 */
    clog_set_t after = {0};
    clog_nodes_t nodes = {0};
    for (int round = 0; round < 2; round++) {
        qc_block_t b;
        qc_cert_t c;
        /* 8 txs x 12 records, signed by the 4 members in turn: 24 events a city a block */
        assert_int_equal(chainbuilder_make(&f->cb, 8, 12, &b, &c), QC_OK);
        exec_city_logs(f, &b, &after, &nodes);
        /* round 0: sizes 5 -> 29 complete level-4 subtree 0; round 1: 29 -> 53, subtrees 1
         * and 2 at level 4 and 0 at level 5 */
        assert_int_equal(nodes.n, round == 0 ? 4u : 12u);
        store_given_t given = {.clogs_after = &after};
        qc_hash_t before, now;
        db_digest(&f->s, &before);
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        given = (store_given_t){.city_nodes = &nodes};
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        given.clogs_after = &after;
        nodes.n--; /* one node short */
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        nodes.n++;
        clog_node_t keep = nodes.v[0];
        nodes.v[0].level = CLOG_NODE_LEVEL_KEPT - 1; /* below what the store keeps */
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        nodes.v[0] = keep;
        nodes.v[0].index += 4; /* past the city's log after the block */
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        nodes.v[0] = keep;
        nodes.v[0].city = (uint32_t)after.n;
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        nodes.v[0] = keep;
        after.c[1].log.size++; /* one event more than the block has */
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        after.c[1].log.size--;
        char name[sizeof after.c[2].name];
        memcpy(name, after.c[2].name, sizeof name);
        memcpy(after.c[2].name, after.c[3].name, sizeof name); /* another city's log */
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
        memcpy(after.c[2].name, name, sizeof name);
        db_digest(&f->s, &now);
        assert_hash_equal(&before, &now);
        uint64_t first = f->s.head.log_size;
        assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_OK);
        check_readback(f, &b, &c, first);
        remember_leaves(f, &b);
        chainbuilder_advance(&f->cb, &b);
        qc_block_free(&b);
        assert_int_equal(f->s.clogs.n, after.n);
        for (size_t i = 0; i < after.n; i++) {
            qc_hash_t want, got;
            rlog_root(&after.c[i].log, &want);
            rlog_root(&f->s.clogs.c[i].log, &got);
            assert_int_equal(f->s.clogs.c[i].log.size, 5u + 24u * (uint64_t)(round + 1));
            assert_hash_equal(&want, &got);
        }
    }
    check_all(f, 3); /* every span and stored subtree, hashed again from the blocks */
    reopen(f);       /* the logs rebuilt by replaying the blocks */
    for (size_t i = 0; i < after.n; i++) {
        qc_hash_t want, got;
        rlog_root(&after.c[i].log, &want);
        rlog_root(&f->s.clogs.c[i].log, &got);
        assert_hash_equal(&want, &got);
    }
    check_all(f, 3);
    clog_set_free(&after);
    clog_nodes_free(&nodes);
}

static void test_proofs_verify_against_headers(void **state) {
    fx_t *f = *state;
    uint32_t shapes[][2] = {{2, 3}, {1, 1}, {4, 5}, {1, 16}, {3, 7}, {5, 1}, {2, 9}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        apply_new(f, shapes[i][0], shapes[i][1]);
    qc_header_t hs[8];
    for (uint64_t h = 1; h <= 7; h++) assert_int_equal(store_header_get(&f->s, h, &hs[h]), 0);
    qc_hash_t proof[MERKLE_PROOF_MAX], root;
    size_t len;
    for (uint64_t j = 1; j <= 7; j++) {
        assert_int_equal(store_log_root_at(&f->s, hs[j].log_size, &root), QC_OK);
        assert_hash_equal(&root, &hs[j].log_root);
        for (uint64_t idx = 0; idx < hs[j].log_size; idx++) {
            assert_int_equal(store_log_inclusion_proof(&f->s, idx, hs[j].log_size, proof, &len),
                             QC_OK);
            assert_int_equal(merkle_verify_inclusion(&f->leaves[idx], idx, hs[j].log_size, proof,
                                                     len, &hs[j].log_root), QC_OK);
        }
        for (uint64_t i = 1; i <= j; i++) {
            assert_int_equal(store_log_consistency_proof(&f->s, hs[i].log_size, hs[j].log_size,
                                                         proof, &len), QC_OK);
            assert_int_equal(merkle_verify_consistency(hs[i].log_size, hs[j].log_size,
                                                       &hs[i].log_root, &hs[j].log_root, proof,
                                                       len), QC_OK);
        }
    }
    uint64_t n = f->s.head.log_size;
    assert_int_equal(store_log_root_at(&f->s, n + 1, &root), QC_ERR_RANGE);
    assert_int_equal(store_log_inclusion_proof(&f->s, n, n, proof, &len), QC_ERR_RANGE);
    assert_int_equal(store_log_inclusion_proof(&f->s, 0, n + 1, proof, &len), QC_ERR_RANGE);
    assert_int_equal(store_log_consistency_proof(&f->s, 2, 1, proof, &len), QC_ERR_RANGE);
    assert_int_equal(store_log_consistency_proof(&f->s, 1, n + 1, proof, &len), QC_ERR_RANGE);
}

/* Headers come from the header cache once read, each the one of its own height: the cache
 * is cut to 4 slots so that the 9 heights share them, read in both orders and again after a
 * reopen. A height above the head is not found and leaves no trace for the block that later
 * takes it. */
static void test_header_cache(void **state) {
    fx_t *f = *state;
    qc_hash_t want[11];
    for (uint64_t h = 1; h <= 10; h++) {
        qc_block_t b;
        qc_cert_t c;
        assert_int_equal(chainbuilder_make(&f->cb, 1 + (uint32_t)h % 3, 2, &b, &c), QC_OK);
        qc_header_hash(&b.header, &want[h]);
        if (h <= 9) {
            assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
            chainbuilder_advance(&f->cb, &b);
            qc_block_free(&b);
            continue;
        }
        /* height 10: asked for before it exists, then applied */
        qc_header_t hdr;
        f->s.hdr_cache_cap = 4;
        assert_int_equal(store_header_get(&f->s, 10, &hdr), QC_ERR_NOTFOUND);
        for (int round = 0; round < 3; round++) {
            if (round == 2) {
                reopen(f);
                assert_non_null(f->s.hdr_cache);
                f->s.hdr_cache_cap = 4;
            }
            for (uint64_t k = 1; k <= 18; k++) {
                uint64_t ht = round == 0 ? 10 - (k + 1) / 2 : 1 + (k * 5) % 9; /* repeats */
                qc_hash_t got;
                assert_int_equal(store_header_get(&f->s, ht, &hdr), QC_OK);
                assert_int_equal(hdr.height, ht);
                qc_header_hash(&hdr, &got);
                assert_hash_equal(&got, &want[ht]);
            }
        }
        assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
        qc_block_free(&b);
        assert_int_equal(store_header_get(&f->s, 10, &hdr), QC_OK);
        qc_hash_t got;
        qc_header_hash(&hdr, &got);
        assert_hash_equal(&got, &want[10]);
        assert_int_equal(store_header_get(&f->s, 2, &hdr), QC_OK); /* 10's slot, 4 slots */
        assert_int_equal(hdr.height, 2);
    }
}

/* Applying (b, c) fails with want and changes nothing: same bytes, same head, still valid. */
static void expect_refused(fx_t *f, qc_block_t *b, qc_cert_t *c, int want) {
    qc_hash_t before, after;
    store_head_t h0, h1;
    db_digest(&f->s, &before);
    store_head(&f->s, &h0);
    assert_int_equal(store_apply_block(&f->s, b, c), want);
    db_digest(&f->s, &after);
    store_head(&f->s, &h1);
    assert_hash_equal(&before, &after);
    assert_memory_equal(&h0, &h1, sizeof h0);
    check_all(f, h0.height);
    qc_block_free(b);
}

typedef enum {
    BAD_HEIGHT, BAD_PREV, BAD_LOG_ROOT, BAD_LOG_SIZE, BAD_TX_ROOT, BAD_CERT_HASH,
    BAD_CERT_HEIGHT, BAD_EPOCH, BAD_VALIDATORS, BAD_CHAIN, BAD_GENESIS, BAD_PROPOSER, BAD_COUNT
} bad_t;

static void make_bad(fx_t *f, bad_t bad, qc_block_t *b, qc_cert_t *c) {
    assert_int_equal(chainbuilder_make(&f->cb, 2, 3, b, c), QC_OK);
    qc_header_t *h = &b->header;
    switch (bad) {
    case BAD_HEIGHT: h->height++; assert_int_equal(chainbuilder_seal(&f->cb, b), 0); break;
    case BAD_PREV: h->prev_hash.b[0] ^= 1; break;
    case BAD_LOG_ROOT: h->log_root.b[31] ^= 0x80; break;
    case BAD_LOG_SIZE: h->log_size++; break;
    case BAD_TX_ROOT: h->tx_root.b[5] ^= 4; break;
    case BAD_CERT_HASH: break;
    case BAD_CERT_HEIGHT: break;
    case BAD_EPOCH: h->epoch = 1; break;
    case BAD_VALIDATORS: h->validators_hash.b[0] ^= 1; break;
    case BAD_CHAIN: snprintf(h->chain_id, sizeof h->chain_id, "another-chain"); break;
    case BAD_GENESIS: h->genesis_hash.b[9] ^= 1; break; /* certified, of another genesis */
    case BAD_PROPOSER: h->proposer = 4; break;
    case BAD_COUNT: break;
    }
    chainbuilder_certify(&f->cb, b, c);
    if (bad == BAD_CERT_HASH) c->block_hash.b[7] ^= 1;
    if (bad == BAD_CERT_HEIGHT) c->height++;
}

static void test_refusals_leave_store_unchanged(void **state) {
    fx_t *f = *state;
    apply_new(f, 2, 2);
    qc_block_t b;
    qc_cert_t c;
    for (bad_t bad = BAD_HEIGHT; bad < BAD_COUNT; bad++) {
        make_bad(f, bad, &b, &c);
        expect_refused(f, &b, &c, QC_ERR_INVALID);
    }
    /* the same block, unmodified, is accepted afterwards */
    apply_new(f, 2, 3);
    check_all(f, 2);
}

static void test_duplicate_transactions_refused(void **state) {
    fx_t *f = *state;
    qc_block_t b1, b;
    qc_cert_t c1, c;
    assert_int_equal(chainbuilder_make(&f->cb, 2, 2, &b1, &c1), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b1, &c1), QC_OK);
    remember_leaves(f, &b1);
    chainbuilder_advance(&f->cb, &b1);

    qc_tx_t txs[2];
    assert_int_equal(chainbuilder_tx(&f->cb, 1, 0, NULL, 2, &txs[0]), QC_OK);
    assert_int_equal(qc_tx_clone(&b1.txs[1], &txs[1]), QC_OK); /* a replay of block 1's tx */
    assert_int_equal(chainbuilder_block(&f->cb, txs, 2, &b, &c), QC_OK);
    expect_refused(f, &b, &c, QC_ERR_DUPLICATE);

    assert_int_equal(chainbuilder_tx(&f->cb, 1, 0, NULL, 2, &txs[0]), QC_OK);
    assert_int_equal(qc_tx_clone(&txs[0], &txs[1]), QC_OK); /* twice in one block */
    assert_int_equal(chainbuilder_block(&f->cb, txs, 2, &b, &c), QC_OK);
    expect_refused(f, &b, &c, QC_ERR_DUPLICATE);
    qc_block_free(&b1);
}

/* Several blocks, one write: each reads back as if applied alone, and survives a reopen. */
static void test_apply_blocks_in_one_write(void **state) {
    fx_t *f = *state;
    apply_new(f, 1, 1);
    qc_block_t b[3];
    qc_cert_t c[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(chainbuilder_make(&f->cb, 2, 3, &b[i], &c[i]), QC_OK);
        chainbuilder_advance(&f->cb, &b[i]);
    }
    uint64_t first = f->s.head.log_size;
    size_t applied = 99;
    assert_int_equal(store_apply_blocks(&f->s, b, c, 3, &applied), QC_OK);
    assert_int_equal(applied, 3);
    assert_int_equal(f->s.head.height, 4);
    reopen(f);
    assert_int_equal(f->s.head.height, 4);
    for (int i = 0; i < 3; i++) {
        check_readback(f, &b[i], &c[i], first + 6 * (uint64_t)i);
        remember_leaves(f, &b[i]);
        qc_block_free(&b[i]);
    }
    assert_int_equal(store_apply_blocks(&f->s, NULL, NULL, 0, &applied), QC_OK);
    assert_int_equal(applied, 0);
    check_all(f, 4);
}

/* A replay across two blocks of one call is refused as across two calls; the blocks before
 * the refused one are written, nothing after it. */
static void test_apply_blocks_stops_at_refusal(void **state) {
    fx_t *f = *state;
    qc_block_t b[3];
    qc_cert_t c[3];
    assert_int_equal(chainbuilder_make(&f->cb, 2, 2, &b[0], &c[0]), QC_OK);
    chainbuilder_advance(&f->cb, &b[0]);
    qc_tx_t txs[2];
    assert_int_equal(chainbuilder_tx(&f->cb, 1, 0, NULL, 2, &txs[0]), QC_OK);
    assert_int_equal(qc_tx_clone(&b[0].txs[1], &txs[1]), QC_OK); /* block 1's tx again */
    assert_int_equal(chainbuilder_block(&f->cb, txs, 2, &b[1], &c[1]), QC_OK);
    chainbuilder_advance(&f->cb, &b[1]);
    assert_int_equal(chainbuilder_make(&f->cb, 1, 1, &b[2], &c[2]), QC_OK);
    size_t applied = 99;
    assert_int_equal(store_apply_blocks(&f->s, b, c, 3, &applied), QC_ERR_DUPLICATE);
    assert_int_equal(applied, 1);
    assert_int_equal(f->s.head.height, 1);
    reopen(f);
    assert_int_equal(f->s.head.height, 1);
    check_readback(f, &b[0], &c[0], 0);
    remember_leaves(f, &b[0]);
    check_all(f, 1);
    /* a block that does not extend the head: nothing written */
    qc_hash_t before;
    db_digest(&f->s, &before);
    assert_int_equal(store_apply_blocks(&f->s, &b[2], &c[2], 1, &applied), QC_ERR_INVALID);
    assert_int_equal(applied, 0);
    qc_hash_t after;
    db_digest(&f->s, &after);
    assert_hash_equal(&before, &after);
    for (int i = 0; i < 3; i++) qc_block_free(&b[i]);
}

static void test_digest_anchored_twice(void **state) {
    fx_t *f = *state;
    qc_hash_t d[3];
    chainbuilder_digest(999, 0, 0, &d[0]);
    d[1] = d[0];
    chainbuilder_digest(999, 0, 1, &d[2]);
    for (int round = 0; round < 3; round++) { /* 2 + 2 + 2 anchorings of d[0] */
        qc_tx_t txs[2];
        qc_block_t b;
        qc_cert_t c;
        assert_int_equal(chainbuilder_tx(&f->cb, 0, 0, d, 3, &txs[0]), QC_OK);
        assert_int_equal(chainbuilder_tx(&f->cb, 1, 1, NULL, 1, &txs[1]), QC_OK);
        assert_int_equal(chainbuilder_block(&f->cb, txs, 2, &b, &c), QC_OK);
        assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
        remember_leaves(f, &b);
        chainbuilder_advance(&f->cb, &b);
        qc_block_free(&b);
    }
    store_record_loc_t r[STORE_RECORD_LIST_MAX];
    size_t n;
    bool more;
    assert_int_equal(store_record_find(&f->s, d[0].b, &r[0]), QC_OK);
    assert_int_equal(r[0].height, 1);
    assert_int_equal(r[0].log_index, 0);
    assert_int_equal(store_record_list(&f->s, d[0].b, 0, r, 16, &n, &more), QC_OK);
    assert_int_equal(n, 6);
    assert_false(more);
    uint64_t want_idx[6] = {0, 1, 4, 5, 8, 9};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].log_index, want_idx[i]);
        assert_int_equal(r[i].height, 1 + i / 2);
        assert_int_equal(r[i].record_index, i % 2);
    }
    assert_int_equal(store_record_list(&f->s, d[0].b, 0, r, 4, &n, &more), QC_OK);
    assert_int_equal(n, 4);
    assert_true(more);
    assert_int_equal(store_record_list(&f->s, d[0].b, r[3].log_index + 1, r, 4, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_int_equal(r[0].log_index, 8);
    assert_int_equal(store_record_find(&f->s, d[2].b, &r[0]), QC_OK);
    assert_int_equal(r[0].log_index, 2);
    check_all(f, 3);
}


/* A block whose synced write has happened (store_apply_write, on libuv's pool in the node)
 * but is not yet published (store_apply_end, back on the loop): readers on the loop see the
 * ledger at the head, as if the write had not happened. Before, its index entries were
 * already visible and pointed above the head, so a client's lookup of a transaction or record
 * of that block, or of the membership, was answered "corrupt" and marked the ledger damaged
 * (/healthz) for good. */
static void test_reads_see_the_head_while_a_write_is_in_flight(void **state) {
    fx_t *f = *state;
    apply_new(f, 2, 2);
    qc_hash_t d[1];
    chainbuilder_digest(4242, 0, 0, &d[0]);
    store_record_loc_t r;
    assert_int_equal(store_record_find(&f->s, d[0].b, &r), QC_ERR_NOTFOUND);
    qc_tx_t txs[1];
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_tx(&f->cb, 0, 0, d, 1, &txs[0]), QC_OK);
    assert_int_equal(chainbuilder_block(&f->cb, txs, 1, &b, &c), QC_OK);
    qc_hash_t hash;
    qc_header_hash(&b.header, &hash);
    assert_int_equal(store_apply_begin(&f->s, &b, &c, NULL), QC_OK);
    store_apply_write(&f->s);
    store_tx_loc_t loc;
    uint64_t at;
    assert_int_equal(store_tx_find(&f->s, &b.txs[0].id, &loc), QC_ERR_NOTFOUND);
    assert_int_equal(store_record_find(&f->s, d[0].b, &r), QC_ERR_NOTFOUND);
    assert_int_equal(store_height_by_hash(&f->s, &hash, &at), QC_ERR_NOTFOUND);
    qc_header_t hdr;
    assert_int_equal(store_header_get(&f->s, 2, &hdr), QC_ERR_NOTFOUND);
    assert_null(store_problem(&f->s));
    assert_int_equal(store_tx_find(&f->s, &b.txs[0].id, &loc), QC_ERR_NOTFOUND); /* again */
    assert_int_equal(store_apply_end(&f->s), QC_OK);
    assert_null(store_problem(&f->s));
    assert_int_equal(store_tx_find(&f->s, &b.txs[0].id, &loc), QC_OK);
    assert_int_equal(loc.height, 2);
    assert_int_equal(store_record_find(&f->s, d[0].b, &r), QC_OK);
    assert_int_equal(r.height, 2);
    assert_int_equal(store_height_by_hash(&f->s, &hash, &at), QC_OK);
    assert_int_equal(at, 2);
    remember_leaves(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
    check_all(f, 2);
}

static void test_reopen_preserves_state(void **state) {
    fx_t *f = *state;
    apply_new(f, 3, 3);
    apply_new(f, 1, 5);
    apply_new(f, 2, 1);
    store_head_t before, after;
    store_head(&f->s, &before);
    reopen(f);
    store_head(&f->s, &after);
    assert_memory_equal(&before, &after, sizeof before);
    rlog_t log;
    qc_hash_t root;
    store_log_copy(&f->s, &log);
    rlog_root(&log, &root);
    assert_hash_equal(&root, &before.log_root);
    f->cfg.genesis_validators = NULL; /* a reopen does not need the genesis set */
    reopen(f);
    apply_new(f, 4, 2);
    check_all(f, 4);
}

static void test_chain_binding(void **state) {
    fx_t *f = *state;
    apply_new(f, 1, 1);
    store_close(&f->s);
    store_config_t cfg = f->cfg;
    cfg.chain_id = "another-chain";
    assert_int_equal(store_open(&f->s, f->dir, &cfg), QC_ERR_STATE);
    assert_null(f->s.db);
    cfg = f->cfg;
    cfg.genesis_hash.b[0] ^= 1;
    assert_int_equal(store_open(&f->s, f->dir, &cfg), QC_ERR_STATE);
    qc_validator_set_t other;
    testkeys_validators(&other, 5, 0);
    cfg = f->cfg;
    cfg.genesis_validators = &other;
    assert_int_equal(store_open(&f->s, f->dir, &cfg), QC_ERR_STATE);
    cfg.chain_id = "not a valid chain id";
    assert_int_equal(store_open(&f->s, f->dir, &cfg), QC_ERR_INVALID);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(f->s.head.height, 1);
}

/* A governance block passes "add testkeys member 4" (checkpoint interval 1: it switches at
 * that block); a forged next-validators hash is refused; later blocks need the new set. */
static void test_membership_change(void **state) {
    fx_t *f = *state;
    qc_change_t ch[2];
    govtest_change_add(&ch[0], 4);
    govtest_change_threshold(&ch[1], (uint16_t)qc_quorum(5));
    qc_block_t b;
    qc_cert_t c;
    qc_validator_set_t next;
    assert_int_equal(govtest_block(&f->cb, ch, 2, NULL, 0, &b, &c, &next), QC_OK);
    qc_validator_set_t want;
    testkeys_validators(&want, 5, 1); /* what governance makes is exactly testkeys' 5-set */
    qc_hash_t hw, hn;
    qc_validators_hash(&want, &hw);
    qc_validators_hash(&next, &hn);
    assert_memory_equal(hw.b, hn.b, 32);
    memset(b.header.next_validators_hash.b, 0, 32); /* a primary hiding the switch */
    chainbuilder_certify(&f->cb, &b, &c);
    expect_refused(f, &b, &c, QC_ERR_INVALID);
    assert_int_equal(govtest_block(&f->cb, ch, 2, NULL, 0, &b, &c, NULL), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    remember_leaves(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_tx_t replay;
    assert_int_equal(qc_tx_clone(&b.txs[1], &replay), QC_OK); /* zibo's APPROVE */
    qc_block_free(&b);
    assert_int_equal(f->s.head.epoch, 1);
    chainbuilder_set_validators(&f->cb, 5, 1);
    assert_int_equal(chainbuilder_block(&f->cb, &replay, 1, &b, &c), QC_OK);
    expect_refused(f, &b, &c, QC_ERR_DUPLICATE); /* a replayed governance transaction */
    chainbuilder_set_validators(&f->cb, 4, 0);
    assert_int_equal(store_gov(&f->s)->vs.n, 5);
    make_bad(f, BAD_COUNT, &b, &c); /* still signed by epoch 0: refused */
    expect_refused(f, &b, &c, QC_ERR_INVALID);
    chainbuilder_set_validators(&f->cb, 5, 1);
    apply_new(f, 5, 1);
    reopen(f);
    assert_int_equal(store_gov(&f->s)->vs.n, 5);
    assert_int_equal(store_gov(&f->s)->vs.epoch, 1);
    uint64_t e;
    assert_int_equal(store_epoch_at(&f->s, 1, &e), QC_OK);
    assert_int_equal(e, 0);
    assert_int_equal(store_epoch_at(&f->s, 2, &e), QC_OK);
    assert_int_equal(e, 1);
    assert_int_equal(store_epoch_at(&f->s, 3, &e), QC_OK);
    assert_int_equal(e, 1);
    store_epoch_span_t spans[4];
    size_t n;
    assert_int_equal(store_epochs(&f->s, spans, 4, &n), QC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(spans[0].first_height, 1);
    assert_int_equal(spans[0].epoch, 0);
    assert_int_equal(spans[1].first_height, 2);
    assert_int_equal(spans[1].epoch, 1);
    assert_int_equal(store_epochs(&f->s, spans, 1, &n), QC_ERR_TOOBIG);
    qc_validator_set_t got;
    assert_int_equal(store_validators(&f->s, 1, &got), QC_OK);
    assert_memory_equal(&got, &next, sizeof got);
    assert_int_equal(f->s.validators.n, 5);
    check_all(f, 2);
}

/* ------------------------------------------------------------------ corruption */

/* Opens the database at dir directly (the store must be closed). */
static leveldb_t *raw_open(const char *dir) {
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, dir, &err);
    leveldb_options_destroy(o);
    if (err != NULL) fail_msg("leveldb_open %s: %s", dir, err);
    return db;
}

static void raw_put(const char *dir, const uint8_t *k, size_t kl, const void *v, size_t vl) {
    leveldb_t *db = raw_open(dir);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char *err = NULL;
    leveldb_put(db, wo, (const char *)k, kl, v, vl, &err);
    assert_null(err);
    leveldb_writeoptions_destroy(wo);
    leveldb_close(db);
}

static void raw_delete(const char *dir, const uint8_t *k, size_t kl) {
    leveldb_t *db = raw_open(dir);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char *err = NULL;
    leveldb_delete(db, wo, (const char *)k, kl, &err);
    assert_null(err);
    leveldb_writeoptions_destroy(wo);
    leveldb_close(db);
}

/* A malloc'd copy of the stored value of k (must exist). */
/* Whether key k is in the (closed) database at dir. */
static bool raw_has(const char *dir, const uint8_t *k, size_t kl) {
    leveldb_t *db = raw_open(dir);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    char *err = NULL;
    size_t vl;
    char *v = leveldb_get(db, ro, (const char *)k, kl, &vl, &err);
    assert_null(err);
    bool found = v != NULL;
    leveldb_free(v);
    leveldb_readoptions_destroy(ro);
    leveldb_close(db);
    return found;
}

static uint8_t *raw_get(const char *dir, const uint8_t *k, size_t kl, size_t *vl) {
    leveldb_t *db = raw_open(dir);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    char *err = NULL;
    char *v = leveldb_get(db, ro, (const char *)k, kl, vl, &err);
    assert_null(err);
    assert_non_null(v);
    uint8_t *copy = malloc(*vl);
    memcpy(copy, v, *vl);
    leveldb_free(v);
    leveldb_readoptions_destroy(ro);
    leveldb_close(db);
    return copy;
}

/* The read each corruption target is seen by; OP_OPEN: store_open itself; OP_CHECK: only the
 * fsck (a well-formed interior log node is checked against the headers' roots there). */
typedef enum {
    OP_BLOCK, OP_CERT, OP_HEADER, OP_HASH, OP_TX, OP_RECORD, OP_LOG, OP_OPEN, OP_CHECK
} op_t;

typedef struct {
    const char *name;
    uint8_t key[SK_MAX_LEN];
    size_t klen;
    op_t op;
} target_t;

/* Chain used by the corruption tests: 3 blocks, 38 records (frontier: (5,0) (2,8) (1,18); the
 * log stores subtrees from level 4 up, (4,0) (4,1) (5,0), and hashes lower ones from blocks). */
typedef struct {
    qc_hash_t block1_hash, tx_id;
    uint8_t digest[32];
} corpus_t;

static void build_corpus(fx_t *f, corpus_t *cp) {
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_make(&f->cb, 2, 3, &b, &c), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    qc_header_hash(&b.header, &cp->block1_hash);
    cp->tx_id = b.txs[0].id;
    memcpy(cp->digest, b.txs[0].records[0].digest, 32);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
    apply_new(f, 1, 2);
    apply_new(f, 3, 10);
    assert_int_equal(f->s.head.log_size, 38);
}

/* Runs the read `op` targets; QC_OK or its error. */
static int run_op(fx_t *f, op_t op, const corpus_t *cp) {
    qc_block_t b;
    qc_cert_t c;
    qc_header_t h;
    uint64_t height;
    store_tx_loc_t loc;
    qc_tx_t tx;
    store_record_loc_t r;
    qc_hash_t path[MERKLE_PROOF_MAX];
    size_t len;
    int rc;
    switch (op) {
    case OP_BLOCK:
        rc = store_block_get(&f->s, 1, &b, NULL);
        if (rc == QC_OK) qc_block_free(&b);
        return rc;
    case OP_CERT:
        rc = store_block_get(&f->s, 1, &b, &c);
        if (rc == QC_OK) qc_block_free(&b);
        return rc;
    case OP_HEADER: return store_header_get(&f->s, 1, &h);
    case OP_HASH: return store_height_by_hash(&f->s, &cp->block1_hash, &height);
    case OP_TX:
        rc = store_tx_get(&f->s, &cp->tx_id, &loc, &tx);
        if (rc == QC_OK) qc_tx_free(&tx);
        return rc;
    case OP_RECORD: return store_record_find(&f->s, cp->digest, &r);
    case OP_LOG: return store_log_inclusion_proof(&f->s, 1, 38, path, &len); /* reads (4,1) */
    case OP_OPEN: return QC_OK;
    case OP_CHECK: return store_check(&f->s, NULL);
    }
    return QC_ERR_STATE;
}

/* Stores `bad` under the target key; then opening fails with `want`, or the open succeeds
 * and the target's read and store_check both fail with `want`. */
static void expect_detected(fx_t *f, const target_t *t, const corpus_t *cp, const void *bad,
                            size_t bad_len, int want) {
    store_close(&f->s);
    raw_put(f->dir, t->key, t->klen, bad, bad_len);
    int rc = store_open(&f->s, f->dir, &f->cfg);
    if (rc != QC_OK) {
        assert_int_equal(rc, want);
        return;
    }
    /* (rebuilding the state map at open read every block: damage may already be noted) */
    if (run_op(f, t->op, cp) != want || store_check(&f->s, NULL) != want)
        fail_msg("corrupt %s (%zu bytes) not reported as %s", t->name, bad_len,
                 qc_strerror(want));
    /* the damage a read met stays reported (/healthz) */
    const char *problem = store_problem(&f->s);
    if (problem == NULL || (want == QC_ERR_CORRUPT && strstr(problem, "corrupt") == NULL))
        fail_msg("corrupt %s: store_problem says %s", t->name, problem ? problem : "nothing");
}

static void corrupt_each_way(fx_t *f, const target_t *t, const corpus_t *cp) {
    size_t len;
    store_close(&f->s);
    uint8_t *orig = raw_get(f->dir, t->key, t->klen, &len);
    uint8_t garbage[17], *v = malloc(len);
    memset(garbage, 0xa5, sizeof garbage);
    expect_detected(f, t, cp, garbage, sizeof garbage, QC_ERR_CORRUPT);
    expect_detected(f, t, cp, orig, len / 2, QC_ERR_CORRUPT);      /* truncated */
    expect_detected(f, t, cp, orig, 0, QC_ERR_CORRUPT);            /* empty */
    memcpy(v, orig, len);
    v[0] = STORE_FORMAT_VERSION + 1;
    expect_detected(f, t, cp, v, len, t->key[0] == SK_META ? QC_ERR_STATE : QC_ERR_CORRUPT);
    /* restored, the store is whole again: the failures above were the corruption's */
    store_close(&f->s);
    raw_put(f->dir, t->key, t->klen, orig, len);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(run_op(f, t->op, cp), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_OK);
    free(orig);
    free(v);
}

static void test_corrupt_values_detected(void **state) {
    fx_t *f = *state;
    corpus_t cp;
    build_corpus(f, &cp);
    target_t ts[16];
    size_t n = 0;
    ts[n] = (target_t){"block 1", {0}, 0, OP_BLOCK};
    ts[n].klen = sk_u64(ts[n].key, SK_BLOCK, 1), n++;
    ts[n] = (target_t){"block 1 (header read)", {0}, 0, OP_HEADER};
    ts[n].klen = sk_u64(ts[n].key, SK_BLOCK, 1), n++;
    ts[n] = (target_t){"head block", {0}, 0, OP_OPEN};
    ts[n].klen = sk_u64(ts[n].key, SK_BLOCK, 3), n++;
    ts[n] = (target_t){"certificate 1", {0}, 0, OP_CERT};
    ts[n].klen = sk_u64(ts[n].key, SK_CERT, 1), n++;
    ts[n] = (target_t){"head certificate", {0}, 0, OP_OPEN};
    ts[n].klen = sk_u64(ts[n].key, SK_CERT, 3), n++;
    ts[n] = (target_t){"block hash index", {0}, 0, OP_HASH};
    ts[n].klen = sk_hash(ts[n].key, SK_HASH, cp.block1_hash.b), n++;
    ts[n] = (target_t){"tx index", {0}, 0, OP_TX};
    ts[n].klen = sk_hash(ts[n].key, SK_TX, cp.tx_id.b), n++;
    ts[n] = (target_t){"record index", {0}, 0, OP_RECORD};
    ts[n].klen = sk_record(ts[n].key, cp.digest, 0), n++;
    ts[n] = (target_t){"log node (4, 1)", {0}, 0, OP_LOG};
    ts[n].klen = sk_log(ts[n].key, 4, 1), n++;
    ts[n] = (target_t){"log frontier node", {0}, 0, OP_OPEN};
    ts[n].klen = sk_log(ts[n].key, 5, 0), n++;
    ts[n] = (target_t){"validator set", {0}, 0, OP_OPEN};
    ts[n].klen = sk_u64(ts[n].key, SK_VALIDATORS, 0), n++;
    ts[n] = (target_t){"epoch history", {0}, 0, OP_OPEN};
    ts[n].klen = sk_u64(ts[n].key, SK_EPOCH, 1), n++;
    ts[n] = (target_t){"head", {0}, 0, OP_OPEN};
    ts[n].klen = sk_single(ts[n].key, SK_HEAD), n++;
    ts[n] = (target_t){"meta", {0}, 0, OP_OPEN};
    ts[n].klen = sk_single(ts[n].key, SK_META), n++;
    for (size_t i = 0; i < n; i++) corrupt_each_way(f, &ts[i], &cp);
}

/* Appends each ERROR line to user, a char[2048]. */
static void capture_error(qc_log_level_t level, const char *line, void *user) {
    char *buf = user;
    size_t used = strlen(buf);
    if (level == QC_LOG_ERROR && used < 2047) snprintf(buf + used, 2048 - used, "%s\n", line);
}

/* A format-5 or -6 ledger (record index with tx ids, or keyed by digest alone; the same
 * blocks) is refused at open, and the ERROR line says what to do: move this ledger aside and
 * fetch the chain from the peers. */
static void test_format5_ledger_refused_with_advice(void **state) {
    fx_t *f = *state;
    apply_new(f, 1, 1);
    store_close(&f->s);
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_META), len;
    uint8_t *meta = raw_get(f->dir, k, klen, &len);
    for (uint8_t old = 5; old <= 6; old++) {
        meta[0] = old;
        raw_put(f->dir, k, klen, meta, len);
        char line[2048] = "", want[64];
        qc_log_level_t level = qc_log_get_level();
        qc_log_set_level(QC_LOG_ERROR);
        qc_log_set_sink(capture_error, line);
        int rc = store_open(&f->s, f->dir, &f->cfg);
        qc_log_set_sink(NULL, NULL);
        qc_log_set_level(level);
        assert_int_equal(rc, QC_ERR_STATE);
        snprintf(want, sizeof want, "format version %u is not one this build reads (7)", old);
        assert_non_null(strstr(line, want));
        assert_non_null(strstr(line, "fetches the chain from its peers"));
    }
    meta[0] = STORE_FORMAT_VERSION;
    raw_put(f->dir, k, klen, meta, len);
    free(meta);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
}

/* Well-formed values that point at the wrong thing are caught by cross-checks. */
/* Puts back t's original value and requires the store whole again, so that each case's
 * damage is its own (not one left by the case before). */
static void restore_whole(fx_t *f, const target_t *t, const uint8_t *orig, size_t len) {
    store_close(&f->s);
    raw_put(f->dir, t->key, t->klen, orig, len);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, NULL), QC_OK);
}

static void test_plausible_but_wrong_values(void **state) {
    fx_t *f = *state;
    corpus_t cp;
    build_corpus(f, &cp);
    target_t t = {"block hash index -> block 2", {0}, 0, OP_HASH};
    t.klen = sk_hash(t.key, SK_HASH, cp.block1_hash.b);
    size_t len;
    store_close(&f->s);
    uint8_t *orig = raw_get(f->dir, t.key, t.klen, &len);
    uint8_t v[SV_TX_LEN];
    v[0] = STORE_FORMAT_VERSION;
    qc_put_u64(v + 1, 2);
    expect_detected(f, &t, &cp, v, SV_HEIGHT_LEN, QC_ERR_CORRUPT);
    qc_put_u64(v + 1, 7); /* above the head */
    expect_detected(f, &t, &cp, v, SV_HEIGHT_LEN, QC_ERR_CORRUPT);
    restore_whole(f, &t, orig, len);
    free(orig);

    t = (target_t){"tx index -> tx 1 of block 1", {0}, 0, OP_TX};
    t.klen = sk_hash(t.key, SK_TX, cp.tx_id.b);
    store_close(&f->s);
    orig = raw_get(f->dir, t.key, t.klen, &len);
    qc_put_u64(v + 1, 1);
    qc_put_u32(v + 9, 1);
    expect_detected(f, &t, &cp, v, SV_TX_LEN, QC_ERR_CORRUPT);
    restore_whole(f, &t, orig, len);
    free(orig);

    /* The record index holds no tx id (format 6): the one the block holds at its tx index is
     * hashed with its record index into the leaf, so either pointing elsewhere is caught. */
    t = (target_t){"record index with another record index", {0}, 0, OP_RECORD};
    t.klen = sk_record(t.key, cp.digest, 0);
    store_close(&f->s);
    orig = raw_get(f->dir, t.key, t.klen, &len);
    assert_int_equal(len, SV_RECORD_LEN);
    orig[14] ^= 1;
    expect_detected(f, &t, &cp, orig, len, QC_ERR_CORRUPT);
    orig[14] ^= 1;
    t.name = "record index naming a tx its block does not have";
    uint32_t tx_index = qc_get_u32(orig + 9);
    qc_put_u32(orig + 9, 1000);
    expect_detected(f, &t, &cp, orig, len, QC_ERR_CORRUPT);
    qc_put_u32(orig + 9, tx_index);
    restore_whole(f, &t, orig, len);
    free(orig);

    t = (target_t){"interior log node with a flipped bit", {0}, 0, OP_CHECK};
    t.klen = sk_log(t.key, 4, 0);
    store_close(&f->s);
    orig = raw_get(f->dir, t.key, t.klen, &len);
    orig[9] ^= 0x10;
    expect_detected(f, &t, &cp, orig, len, QC_ERR_CORRUPT);
    orig[9] ^= 0x10;
    restore_whole(f, &t, orig, len);
    free(orig);
}

static void test_foreign_or_unknown_databases(void **state) {
    fx_t *f = *state;
    store_close(&f->s);
    char dir[256];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "foreign"), 0);
    uint8_t k[4] = {'x', 'y', 'z', 0};
    raw_put(dir, k, sizeof k, "v", 1); /* someone else's LevelDB: no meta */
    store_t s;
    assert_int_equal(store_open(&s, dir, &f->cfg), QC_ERR_CORRUPT);
    assert_int_equal(tmpdir_remove(dir), 0);
    qc_validator_set_t empty = {0};
    store_config_t cfg = f->cfg;
    cfg.genesis_validators = &empty; /* a new store needs a real genesis set */
    assert_int_equal(tmpdir_make(dir, sizeof dir, "nogenesis"), 0);
    assert_int_equal(store_open(&s, dir, &cfg), QC_ERR_INVALID);
    cfg.genesis_validators = NULL;
    assert_int_equal(store_open(&s, dir, &cfg), QC_ERR_INVALID);
    assert_int_equal(tmpdir_remove(dir), 0);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
}

/* Flips one byte of the first occurrence of needle[0..n) in any .ldb table file of dir.
 * Returns whether it found one. */
static bool flip_in_tables(const char *dir, const uint8_t *needle, size_t n) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool done = false;
    struct dirent *e;
    while (!done && (e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".ldb") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *buf;
        size_t len;
        assert_int_equal(qc_file_read(path, 64u << 20, &buf, &len), QC_OK);
        for (size_t i = 0; !done && len >= n && i <= len - n; i++) {
            if (memcmp(buf + i, needle, n) != 0) continue;
            buf[i + n / 2] ^= 0x10;
            assert_int_equal(qc_file_write_atomic(path, buf, len, 0600, false), QC_OK);
            done = true;
        }
        free(buf);
    }
    closedir(d);
    return done;
}

/* A flipped byte inside a LevelDB table (disk damage under the checksums): the store opens
 * (the head is elsewhere), the read of the damaged block fails as corruption naming the store,
 * and the store stays marked damaged for /healthz, while other blocks still read. */
static void test_flipped_table_byte_marks_damage(void **state) {
    fx_t *f = *state;
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_make(&f->cb, 1, 5, &b, &c), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    qc_sig_t sig = b.txs[0].sig; /* stored only inside block 1's value */
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
    for (int i = 0; i < 30; i++) apply_new(f, 2, 3); /* block 1 and the head: far apart */
    reopen(f); /* LevelDB's recovery writes the log out as a table */
    store_close(&f->s);
    assert_true(flip_in_tables(f->dir, sig.b, sizeof sig.b));
    /* it opens (the head is elsewhere), already marked damaged: rebuilding the state map
     * read every block */
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_non_null(store_problem(&f->s));
    qc_header_t h;
    assert_int_equal(store_header_get(&f->s, 31, &h), QC_OK);
    assert_int_equal(store_block_get(&f->s, 1, &b, NULL), QC_ERR_CORRUPT);
    const char *problem = store_problem(&f->s);
    assert_non_null(problem);
    assert_non_null(strstr(problem, "checksum mismatch"));
    assert_non_null(strstr(problem, f->dir));
    assert_int_equal(store_header_get(&f->s, 31, &h), QC_OK); /* the rest still reads */
    assert_string_equal(store_problem(&f->s), problem);         /* and the damage stays */
    /* the state map could not be rebuilt past block 1: no block is applied, no status proven,
     * and each refusal is immediate (nothing is reread) */
    qc_hash_t root;
    assert_int_equal(store_state_root(&f->s, &root), QC_ERR_CORRUPT);
    assert_int_equal(chainbuilder_make(&f->cb, 1, 2, &b, &c), QC_OK);
    store_head_t h0;
    store_head(&f->s, &h0);
    for (int i = 0; i < 3; i++) assert_int_equal(store_apply_block(&f->s, &b, &c), QC_ERR_CORRUPT);
    store_head_t h1;
    store_head(&f->s, &h1);
    assert_int_equal(h1.height, h0.height);
    qc_block_free(&b);
}

/* ------------------------------------------------------------------ record statuses */

/* A lifecycle tx of `type` by member's seal key on the builder's chain. */
static void life_tx(const fx_t *f, uint16_t type, uint32_t member, uint64_t nonce,
                    const qc_hash_t *d, const qc_hash_t *nd, uint16_t code, qc_tx_t *tx) {
    qc_life_op_t op;
    memset(&op, 0, sizeof op);
    op.digest = *d;
    if (nd) op.new_digest = *nd;
    op.code = code;
    assert_int_equal(qc_life_tx_build(CHAIN, type, &f->cb.seal_sk[member], nonce, 1000, &op, tx), QC_OK);
}

static void apply_txs(fx_t *f, qc_tx_t *txs, uint32_t n) {
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_block(&f->cb, txs, n, &b, &c), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    remember_leaves(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
}

/* Pinned: the stored value of d[1]'s status after test_record_status_persisted's block 2
 * (the store's version byte, then the canonical status of PROTOCOL §5.1). */
#define PIN_STATUS_VALUE \
    "07019d7ae4ed0712f2576fc0e7a61308ef124a3c4c4d724e0e98989e167bff27" \
    "46a5056a696e616e00000000000000019fa357394aa43f116040b0f3cc56fcb2" \
    "7e154e4e048c665301c359bed00e0fb800000000000000010100000000000000" \
    "029cdb2a2218c59fb61602fa2652d9ce0072ef0e7f5f008cde288f5cdeec9b51" \
    "6f00030000"

static void test_record_status_persisted(void **state) {
    fx_t *f = *state;
    qc_hash_t d[3];
    for (uint32_t i = 0; i < 3; i++) chainbuilder_digest(777, 0, i, &d[i]);
    /* block 1: jinan anchors d0 and d1, zibo anchors d0 again (it does not own it) */
    qc_tx_t txs[2];
    assert_int_equal(chainbuilder_tx(&f->cb, 0, 0, d, 2, &txs[0]), QC_OK);
    assert_int_equal(chainbuilder_tx(&f->cb, 1, 1, d, 1, &txs[1]), QC_OK);
    qc_hash_t anchor_id = txs[0].id;
    apply_txs(f, txs, 2);
    qc_recstat_t st;
    assert_int_equal(store_record_status(&f->s, d[2].b, &st), QC_ERR_NOTFOUND);
    assert_int_equal(store_record_status(&f->s, d[0].b, &st), QC_OK);
    assert_string_equal(st.owner, f->cb.vs.members[0].name);
    assert_int_equal(st.first_height, 1);
    assert_int_equal(st.first_log_index, 0);
    assert_memory_equal(st.first_tx_id.b, anchor_id.b, 32);
    assert_int_equal(store_record_status(&f->s, d[1].b, &st), QC_OK);
    assert_int_equal(st.first_log_index, 1);
    assert_int_equal(st.state, QC_REC_VALID);
    /* plain anchoring stores no status: the first anchoring implies it (no cost per record) */
    store_close(&f->s);
    uint8_t k0[SK_MAX_LEN];
    size_t k0len = sk_status(k0, d[0].b);
    assert_false(raw_has(f->dir, k0, k0len));
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    /* block 2: zibo endorses d0, jinan revokes d1 */
    life_tx(f, QC_TX_ENDORSE, 1, 1, &d[0], NULL, 2, &txs[0]);
    life_tx(f, QC_TX_REVOKE, 0, 2, &d[1], NULL, 3, &txs[1]);
    qc_hash_t endorse_id = txs[0].id, revoke_id = txs[1].id;
    apply_txs(f, txs, 2);
    reopen(f);
    assert_int_equal(store_record_status(&f->s, d[0].b, &st), QC_OK);
    assert_int_equal(st.state, QC_REC_VALID);
    assert_int_equal(st.endorsement_count, 1);
    assert_string_equal(st.endorsements[0].city, f->cb.vs.members[1].name);
    assert_int_equal(st.endorsements[0].height, 2);
    assert_int_equal(st.endorsements[0].purpose, 2);
    assert_memory_equal(st.endorsements[0].tx_id.b, endorse_id.b, 32);
    assert_int_equal(store_record_status(&f->s, d[1].b, &st), QC_OK);
    assert_int_equal(st.state, QC_REC_REVOKED);
    assert_int_equal(st.reason, 3);
    assert_int_equal(st.state_height, 2);
    assert_memory_equal(st.state_tx_id.b, revoke_id.b, 32);
    /* the stored value is the version byte and the canonical encoding, pinned */
    store_close(&f->s);
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_status(k, d[1].b), vlen;
    uint8_t *v = raw_get(f->dir, k, klen, &vlen);
    uint8_t enc[QC_RECSTAT_BYTES_MAX];
    size_t enc_len;
    assert_int_equal(qc_recstat_encode(&st, enc, sizeof enc, &enc_len), QC_OK);
    assert_int_equal(vlen, 1 + enc_len);
    assert_int_equal(v[0], STORE_FORMAT_VERSION);
    assert_memory_equal(v + 1, enc, enc_len);
    char hex[2 * QC_RECSTAT_BYTES_MAX + 3];
    qc_hex_encode(hex, v, vlen);
    assert_string_equal(hex, PIN_STATUS_VALUE);
    /* store_check counts one status per anchored digest (d0, d1) */
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_check_stats_t cs;
    assert_int_equal(store_check(&f->s, &cs), QC_OK);
    assert_int_equal(cs.statuses, 2);
    store_close(&f->s);
    /* a well-formed status naming another first anchoring: store_check finds it */
    st.first_log_index = 5;
    assert_int_equal(qc_recstat_encode(&st, enc, sizeof enc, &enc_len), QC_OK);
    uint8_t wrong[1 + QC_RECSTAT_BYTES_MAX];
    wrong[0] = STORE_FORMAT_VERSION;
    memcpy(wrong + 1, enc, enc_len);
    raw_put(f->dir, k, klen, wrong, 1 + enc_len);
    /* the store opens damaged: the state map rebuilt with it misses the head's certified root,
     * so no block is applied and no status proven until it is repaired */
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_non_null(strstr(store_problem(&f->s), "state root"));
    smt_proof_t *proof = malloc(sizeof *proof);
    assert_non_null(proof);
    assert_int_equal(store_state_prove(&f->s, d[1].b, proof), QC_ERR_CORRUPT);
    free(proof);
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    store_close(&f->s);
    /* a damaged (truncated) status is corruption, named, not "not anchored" */
    raw_put(f->dir, k, klen, v, vlen - 1);
    free(v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_record_status(&f->s, d[1].b, &st), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "record status"));
}

static void test_record_rules_refuse_blocks(void **state) {
    fx_t *f = *state;
    qc_hash_t d[3];
    for (uint32_t i = 0; i < 3; i++) chainbuilder_digest(778, 0, i, &d[i]);
    qc_tx_t txs[2];
    assert_int_equal(chainbuilder_tx(&f->cb, 0, 0, d, 2, &txs[0]), QC_OK);
    apply_txs(f, txs, 1);
    /* zibo revoking jinan's record: the block is refused and nothing is written */
    life_tx(f, QC_TX_REVOKE, 1, 1, &d[0], NULL, 1, &txs[0]);
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_block(&f->cb, txs, 1, &b, &c), QC_OK);
    expect_refused(f, &b, &c, QC_ERR_INVALID);
    qc_block_free(&b);
    /* catch-up: block 2 anchors d2, block 3 supersedes d0 with it, in one write */
    qc_block_t bs[2];
    qc_cert_t cs[2];
    assert_int_equal(chainbuilder_tx(&f->cb, 0, 2, &d[2], 1, &txs[0]), QC_OK);
    assert_int_equal(chainbuilder_block(&f->cb, txs, 1, &bs[0], &cs[0]), QC_OK);
    chainbuilder_advance(&f->cb, &bs[0]);
    life_tx(f, QC_TX_SUPERSEDE, 0, 3, &d[0], &d[2], 0, &txs[0]);
    life_tx(f, QC_TX_REVOKE, 0, 4, &d[1], NULL, 2, &txs[1]);
    assert_int_equal(chainbuilder_block(&f->cb, txs, 2, &bs[1], &cs[1]), QC_OK);
    chainbuilder_advance(&f->cb, &bs[1]);
    size_t applied = 0;
    assert_int_equal(store_apply_blocks(&f->s, bs, cs, 2, &applied), QC_OK);
    assert_int_equal(applied, 2);
    for (int i = 0; i < 2; i++) {
        remember_leaves(f, &bs[i]);
        qc_block_free(&bs[i]);
    }
    qc_recstat_t st;
    assert_int_equal(store_record_status(&f->s, d[0].b, &st), QC_OK);
    assert_int_equal(st.state, QC_REC_SUPERSEDED);
    assert_int_equal(st.state_height, 3);
    assert_memory_equal(st.superseded_by.b, d[2].b, 32);
    assert_int_equal(store_record_status(&f->s, d[2].b, &st), QC_OK);
    assert_int_equal(st.first_height, 2);
    assert_int_equal(st.supersedes_count, 1);
    assert_memory_equal(st.supersedes[0].b, d[0].b, 32);
    assert_int_equal(store_record_status(&f->s, d[1].b, &st), QC_OK);
    assert_int_equal(st.state, QC_REC_REVOKED);
    check_all(f, 3);
}

/* The state map: the store's root is the head header's after every apply and after a reopen
 * (rebuilt from the blocks), proofs of present and absent digests verify against the header,
 * a certified block with a wrong state root is refused and changes nothing, and nodes handed
 * over by exec are taken only when they give the header's root. */
static void test_state_map(void **state) {
    fx_t *f = *state;
    for (int i = 0; i < 3; i++) apply_new(f, 2, 4);
    qc_hash_t root, d_in, d_out;
    qc_header_t h;
    assert_int_equal(store_state_root(&f->s, &root), QC_OK);
    assert_int_equal(store_header_get(&f->s, 3, &h), QC_OK);
    assert_hash_equal(&root, &h.state_root);
    assert_false(smt_hash_is_empty(&root));
    /* present and absent digests, proven against the header */
    chainbuilder_digest(2, 1, 3, &d_in);
    memset(d_out.b, 0x77, 32);
    smt_proof_t *p = malloc(sizeof *p);
    uint8_t *enc = malloc(SMT_PROOF_MAX_BYTES);
    qc_recstat_t *st = malloc(sizeof *st);
    assert_true(p && enc && st);
    size_t len;
    qc_hash_t key, value;
    assert_int_equal(store_state_prove(&f->s, d_in.b, p), QC_OK);
    assert_int_equal(p->kind, SMT_PROOF_PRESENT);
    assert_int_equal(smt_proof_encode(p, enc, SMT_PROOF_MAX_BYTES, &len), QC_OK);
    assert_int_equal(store_record_status(&f->s, d_in.b, st), QC_OK);
    assert_int_equal(qc_recstat_hash(st, &value), QC_OK);
    smt_map_key(&key, d_in.b);
    assert_int_equal(smt_verify(&h.state_root, &key, &value, enc, len), QC_OK);
    value.b[0] ^= 1;
    assert_int_equal(smt_verify(&h.state_root, &key, &value, enc, len), QC_ERR_INVALID);
    assert_int_equal(store_state_prove(&f->s, d_out.b, p), QC_OK);
    assert_int_not_equal(p->kind, SMT_PROOF_PRESENT);
    assert_int_equal(smt_proof_encode(p, enc, SMT_PROOF_MAX_BYTES, &len), QC_OK);
    smt_map_key(&key, d_out.b);
    assert_int_equal(smt_verify(&h.state_root, &key, NULL, enc, len), QC_OK);
    /* a certified block whose state root is off by a bit: refused, nothing written */
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_make(&f->cb, 1, 3, &b, &c), QC_OK);
    b.header.state_root.b[9] ^= 1;
    chainbuilder_certify(&f->cb, &b, &c);
    expect_refused(f, &b, &c, QC_ERR_INVALID);
    qc_hash_t again;
    assert_int_equal(store_state_root(&f->s, &again), QC_OK);
    assert_hash_equal(&again, &root);
    /* the nodes exec computed: taken when they give the header's root, else refused */
    assert_int_equal(chainbuilder_make(&f->cb, 2, 3, &b, &c), QC_OK);
    sblock_t sb = {0};
    smap_writes_t ws = {0};
    smap_reader_t r = store_state_reader(&f->s);
    clog_set_t clogs = {0};
    assert_int_equal(clog_set_copy(&clogs, &f->s.clogs), QC_OK);
    for (uint32_t i = 0; i < b.tx_count; i++) {
        const char *city = f->cb.vs.members[i % f->cb.vs.n].name;
        assert_int_equal(sblock_anchor(&sb, &b.txs[i], city, 4, f->s.head.log_size + i * 3),
                         QC_OK);
        assert_int_equal(clog_tx(&clogs, &b.txs[i], city, 4, NULL), QC_OK);
    }
    assert_int_equal(clog_finish(&clogs, &sb), QC_OK); /* the city heads the block moves */
    clog_set_free(&clogs);
    assert_int_equal(sblock_finish(&sb, &r, &ws, &again), QC_OK);
    assert_hash_equal(&again, &b.header.state_root);
    /* the top node (the last write; its first child's hash first after its kind byte): another
     * root */
    uint8_t *top_hash = ws.b + ws.last + SMAP_POS_MAX_BYTES + 1 + 1;
    assert_int_equal(ws.b[ws.last + SMAP_POS_MAX_BYTES + 1], SMAP_INNER);
    *top_hash ^= 1;
    qc_hash_t before, after;
    db_digest(&f->s, &before);
    store_given_t given = {.state_writes = &ws};
    assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_ERR_INVALID);
    db_digest(&f->s, &after);
    assert_hash_equal(&before, &after);
    *top_hash ^= 1;
    assert_int_equal(store_apply_block_exec(&f->s, &b, &c, &given), QC_OK);
    remember_leaves(f, &b);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
    sblock_free(&sb);
    smap_writes_free(&ws);
    assert_int_equal(store_state_root(&f->s, &root), QC_OK);
    assert_int_equal(store_header_get(&f->s, 4, &h), QC_OK);
    assert_hash_equal(&root, &h.state_root);
    /* rebuilt from the blocks at open: the same map */
    reopen(f);
    assert_int_equal(store_state_root(&f->s, &again), QC_OK);
    assert_hash_equal(&again, &root);
    assert_int_equal(store_state_prove(&f->s, d_in.b, p), QC_OK);
    assert_int_equal(p->kind, SMT_PROOF_PRESENT);
    check_all(f, 4);
    free(p);
    free(enc);
    free(st);
}

/* ---- the paged state map (MERKLE.md §8.4) ---------------------------------------------------- */

/* Applies one built block (no leaf bookkeeping: the paged test's chain outgrows LEAVES_MAX). */
static void paged_apply(fx_t *f, uint32_t n_txs, uint32_t recs) {
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(chainbuilder_make(&f->cb, n_txs, recs, &b, &c), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b, &c), QC_OK);
    chainbuilder_advance(&f->cb, &b);
    qc_block_free(&b);
}

/* The status proof of digest d (present or absent) verifies against the head's state root,
 * a present one with the status the store reads for it (from 'S' or its first anchoring, not
 * from the map). */
static void status_proof_verifies(fx_t *f, const qc_hash_t *d, bool present) {
    qc_header_t h;
    assert_int_equal(store_header_get(&f->s, f->s.head.height, &h), QC_OK);
    smt_proof_t *p = malloc(sizeof *p);
    uint8_t *enc = malloc(SMT_PROOF_MAX_BYTES);
    qc_recstat_t *st = malloc(sizeof *st);
    assert_true(p && enc && st);
    qc_hash_t key, value;
    size_t len;
    assert_int_equal(store_state_prove(&f->s, d->b, p), QC_OK);
    assert_int_equal(p->kind == SMT_PROOF_PRESENT, present);
    assert_int_equal(smt_proof_encode(p, enc, SMT_PROOF_MAX_BYTES, &len), QC_OK);
    smt_map_key(&key, d->b);
    if (present) {
        assert_int_equal(store_record_status(&f->s, d->b, st), QC_OK);
        assert_int_equal(qc_recstat_hash(st, &value), QC_OK);
    }
    assert_int_equal(smt_verify(&h.state_root, &key, present ? &value : NULL, enc, len), QC_OK);
    free(p);
    free(enc);
    free(st);
}

/* Digests of blocks 1..52 (3 txs of 40 records each) prove present against the head's state
 * root, and one never anchored proves absent. */
static void paged_proofs_verify(fx_t *f, uint64_t samples) {
    for (uint64_t i = 0; i <= samples; i++) {
        qc_hash_t d;
        bool present = i < samples;
        if (present)
            chainbuilder_digest(1 + i * 7919 % (f->s.head.height < 52 ? f->s.head.height : 52),
                                (uint32_t)(i % 3),
                                (uint32_t)(i * 31 % 40), &d);
        else
            memset(d.b, 0x5a, 32);
        status_proof_verifies(f, &d, present);
    }
}

/* Resumes the builder at the (re)opened store's head, reading the map the store keeps (its
 * own stopped where a child process went on). */
static smap_reader_t paged_state_rd;
static void paged_resume(fx_t *f) {
    store_head_t h;
    rlog_t log;
    store_head(&f->s, &h);
    store_log_copy(&f->s, &log);
    chainbuilder_resume(&f->cb, h.height, &h.hash, &log);
    paged_state_rd = store_state_reader(&f->s);
    f->cb.state_ext = &paged_state_rd;
    f->cb.clogs_ext = &f->s.clogs;
}

/* A paged map held to the smallest cache: every block's root still matches its header (the
 * store checks it on apply), proofs verify, the cache stays within its bound by evicting and
 * writing snapshots; a clean reopen replays nothing, a crash replays the blocks since the last
 * snapshot, and a wrong snapshot or a wrong stored node is rebuilt from every block without
 * marking the ledger damaged (the map is derived). Going back to resident drops the nodes. */
static void test_paged_state_map(void **state) {
    fx_t *f = *state;
    store_close(&f->s);
    f->cfg.state_cache_bytes = STORE_STATE_CACHE_MIN;
    f->cfg.state_snapshot_records = 1000;
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    for (int i = 0; i < 40; i++) paged_apply(f, 3, 40); /* 4,800 records, ~7,000 nodes */
    store_state_stats_t ss;
    store_state_stats(&f->s, &ss);
    assert_true(ss.nodes_max > 0 && ss.cache.nodes <= ss.nodes_max);
    assert_true(ss.cache.evicted > 0);
    /* a snapshot every 1,000 records and no more: the cache filled with dirty nodes, but
     * those below the cut are dropped without a write (the ledger gives them again) */
    assert_int_equal(ss.snapshots_written, 4);
    assert_true(ss.snapshot_height <= f->s.head.height);
    paged_proofs_verify(f, 60);
    store_state_stats(&f->s, &ss);
    assert_true(ss.cache.misses > 0); /* some of them from LevelDB */

    /* a clean close writes a snapshot at the head: the open replays nothing */
    reopen(f);
    store_state_stats(&f->s, &ss);
    assert_int_equal(ss.snapshot_height, 40);
    assert_int_equal(ss.replayed_blocks, 0);
    assert_null(store_problem(&f->s));
    paged_proofs_verify(f, 20);
    /* the fsck walks every stored node (through the bounded cache) */
    store_check_stats_t cs;
    assert_int_equal(store_check(&f->s, &cs), QC_OK);
    assert_int_equal(cs.state_keys, 4800 + 3); /* every record, each anchoring city's log head */
    assert_true(cs.state_nodes > ss.nodes_max);
    store_state_stats(&f->s, &ss);
    assert_true(ss.cache.nodes <= ss.nodes_max);

    /* a crash (no close) after more blocks: the open replays those since the last snapshot */
    store_close(&f->s);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (store_open(&f->s, f->dir, &f->cfg) != QC_OK) _exit(2);
        for (int i = 0; i < 12; i++) paged_apply(f, 3, 40);
        _exit(0); /* no store_close: the cache's dirty nodes are lost */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(f->s.head.height, 52);
    store_state_stats(&f->s, &ss);
    assert_true(ss.replayed_blocks > 0 && ss.replayed_blocks <= 12);
    assert_null(store_problem(&f->s));
    paged_resume(f);
    paged_apply(f, 2, 10);
    paged_proofs_verify(f, 20);

    /* a snapshot that does not decode: rebuilt from every block, not damage */
    store_close(&f->s);
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_MAP_SNAP);
    assert_true(raw_has(f->dir, k, klen));
    raw_put(f->dir, k, klen, "\x06", 1);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_state_stats(&f->s, &ss);
    assert_int_equal(ss.replayed_blocks, 53);
    assert_null(store_problem(&f->s));
    paged_resume(f);
    paged_apply(f, 2, 10);

    /* a stored node that decodes but is wrong (the root's, a hash flipped): the fsck finds
     * it; at the next open the root misses the head's, so the map is rebuilt from every block */
    store_close(&f->s);
    uint8_t nk[2] = {SK_MAP_NODE, 0}; /* position depth 0 */
    size_t vlen;
    uint8_t *v = raw_get(f->dir, nk, sizeof nk, &vlen);
    assert_true(vlen > 10 && v[2] == SMAP_INNER); /* version, format, first slot's kind */
    v[5] ^= 0x40; /* inside the first slot's hash */
    raw_put(f->dir, nk, sizeof nk, v, vlen);
    free(v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_state_stats(&f->s, &ss);
    assert_int_equal(ss.replayed_blocks, 54);
    assert_int_equal(store_check(&f->s, &cs), QC_OK);
    assert_null(store_problem(&f->s));
    paged_resume(f);
    paged_apply(f, 2, 10);
    paged_proofs_verify(f, 20);

    /* a wrong node below the top, which an open from the snapshot does not read: the fsck
     * finds it */
    store_close(&f->s);
    uint8_t dk[3] = {SK_MAP_NODE, 1, 0x00}; /* position depth 1, prefix bit 0 */
    v = raw_get(f->dir, dk, sizeof dk, &vlen);
    assert_true(vlen > 10 && v[2] != SMAP_EMPTY);
    v[5] ^= 0x40;
    raw_put(f->dir, dk, sizeof dk, v, vlen);
    free(v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_state_stats(&f->s, &ss);
    assert_int_equal(ss.replayed_blocks, 0);
    assert_null(store_problem(&f->s));
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "state map"));

    /* back to resident: the stored nodes and snapshot are dropped */
    store_close(&f->s);
    f->cfg.state_cache_bytes = 0;
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_close(&f->s);
    assert_false(raw_has(f->dir, k, klen));
    assert_false(raw_has(f->dir, nk, sizeof nk));
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    paged_proofs_verify(f, 20);
    f->cb.state_ext = NULL;
    f->cb.clogs_ext = NULL;
}

/* Counts the keys of `family` in the (closed) database at dir; for 'X' also the deepest
 * position's depth (its second byte). */
static uint64_t raw_count(const char *dir, uint8_t family, unsigned *max_depth) {
    leveldb_t *db = raw_open(dir);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
    uint64_t n = 0;
    if (max_depth) *max_depth = 0;
    for (leveldb_iter_seek(it, (const char *)&family, 1); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (k[0] != family) break;
        n++;
        if (max_depth && kl >= 2 && k[1] > *max_depth) *max_depth = k[1];
    }
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    leveldb_close(db);
    return n;
}

/* Paged, only the map's nodes above the cut depth are stored; the others are hashed from the
 * record index, the statuses and the anchor-tx table when the cache misses them (MERKLE.md
 * §8.4). With re-anchorings, endorsements and revocations spread over the map and the
 * smallest cache, every block's root (the builder's own map computes it; the store checks it
 * on apply) comes out right; no stored node lies at or below the cut; proofs of changed and
 * re-anchored records verify; a rebuild from nothing (the snapshot lost) gives the head's root
 * and the chain goes on; a wrong anchor-tx entry is found by the fsck; a record index entry
 * filed under another map key, or one byte short, fails the proof that hashes its range. */
static void test_paged_subtrees_computed(void **state) {
    fx_t *f = *state;
    for (int i = 0; i < 5; i++) paged_apply(f, 3, 40); /* resident: no anchor-tx table */
    store_close(&f->s);
    assert_int_equal(raw_count(f->dir, SK_ANCHOR_TX, NULL), 0);
    /* paged from nothing: the table written from the blocks, the nodes from the records */
    f->cfg.state_cache_bytes = STORE_STATE_CACHE_MIN;
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_state_stats_t ss;
    store_state_stats(&f->s, &ss);
    assert_int_equal(ss.replayed_blocks, 5);
    store_close(&f->s);
    assert_int_equal(raw_count(f->dir, SK_ANCHOR_TX, NULL), 5 * 3);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    for (int i = 0; i < 25; i++) paged_apply(f, 3, 40); /* 3,600 records in all */
    uint32_t nonce = 1000;
    for (uint64_t h = 31; h <= 44; h++) {
        uint64_t old = h - 29; /* a block of the first thirty */
        qc_hash_t again[4], endorsed, revoked;
        for (uint32_t r = 0; r < 4; r++) chainbuilder_digest(old, 0, r, &again[r]);
        chainbuilder_digest(old, 0, 5, &endorsed);
        chainbuilder_digest(old, 0, 6, &revoked);
        qc_tx_t txs[4];
        /* member 1 anchors four of member 0's records again (they stay member 0's) */
        assert_int_equal(chainbuilder_tx(&f->cb, 1, nonce++, again, 4, &txs[0]), QC_OK);
        life_tx(f, QC_TX_ENDORSE, 1, nonce++, &endorsed, NULL, 2, &txs[1]);
        life_tx(f, QC_TX_REVOKE, 0, nonce++, &revoked, NULL, 1, &txs[2]);
        assert_int_equal(chainbuilder_tx(&f->cb, 2, 3, NULL, 40, &txs[3]), QC_OK);
        apply_txs(f, txs, 4);
    }
    store_state_stats(&f->s, &ss);
    unsigned cut = store_subtree_cut(f->s.head.log_size);
    assert_int_equal(cut, 7); /* 4,216 records: floor(log2) 12, less 5 */
    assert_int_equal(ss.cut_depth, cut);
    assert_true(ss.subtrees_computed > 0);
    assert_true(ss.cache.evicted > 0);
    qc_hash_t d;
    for (uint64_t old = 2; old <= 15; old += 13) {
        for (uint32_t r = 0; r < 7; r++) {
            chainbuilder_digest(old, 0, r, &d);
            status_proof_verifies(f, &d, true);
        }
        chainbuilder_digest(old, 1, 3, &d);
        status_proof_verifies(f, &d, true);
    }
    qc_recstat_t *st = malloc(sizeof *st);
    assert_non_null(st);
    chainbuilder_digest(9, 0, 6, &d);
    assert_int_equal(store_record_status(&f->s, d.b, st), QC_OK);
    assert_int_equal(st->state, QC_REC_REVOKED);
    chainbuilder_digest(9, 0, 1, &d);
    assert_int_equal(store_record_status(&f->s, d.b, st), QC_OK);
    assert_string_equal(st->owner, f->cb.vs.members[0].name); /* the first anchoring's */
    free(st);

    /* stored: only nodes above the cut, at most one per position there */
    store_close(&f->s);
    unsigned deepest;
    uint64_t stored = raw_count(f->dir, SK_MAP_NODE, &deepest);
    assert_true(stored > 0 && stored < (UINT64_C(1) << cut));
    assert_true(deepest < cut);
    assert_int_equal(raw_count(f->dir, SK_ANCHOR_TX, NULL), 30 * 3 + 14 * 2);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_check_stats_t cs;
    assert_int_equal(store_check(&f->s, &cs), QC_OK);
    assert_int_equal(cs.anchor_txs, 30 * 3 + 14 * 2);

    /* the snapshot lost: the open builds the stored part from the records, then the chain goes
     * on with the same roots */
    store_close(&f->s);
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_MAP_SNAP);
    raw_put(f->dir, k, klen, "\x07", 1);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    store_state_stats(&f->s, &ss);
    assert_int_equal(ss.replayed_blocks, 44);
    assert_null(store_problem(&f->s));
    for (int i = 0; i < 3; i++) paged_apply(f, 3, 40);
    chainbuilder_digest(9, 0, 6, &d);
    status_proof_verifies(f, &d, true);
    store_close(&f->s);
    uint64_t rebuilt = raw_count(f->dir, SK_MAP_NODE, &deepest);
    assert_true(rebuilt >= stored && deepest < cut);

    /* a node stored at the cut, which no build writes (it would shadow the computed one):
     * the fsck finds it */
    smap_pos_t at_cut;
    memset(&at_cut, 0, sizeof at_cut);
    at_cut.depth = (uint8_t)cut;
    uint8_t xk[1 + SMAP_POS_MAX_BYTES], rk[2] = {SK_MAP_NODE, 0};
    size_t xklen = sk_map_node(xk, &at_cut), vlen;
    uint8_t *v = raw_get(f->dir, rk, sizeof rk, &vlen); /* any node's value */
    raw_put(f->dir, xk, xklen, v, vlen);
    free(v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "at or below the cut depth 7"));
    store_close(&f->s);
    raw_delete(f->dir, xk, xklen);

    /* a record index entry filed under another digest's map key: the proof whose subtree is
     * hashed from that range says so (and proves nothing) */
    chainbuilder_digest(9, 0, 1, &d);
    qc_hash_t other = d, mk_d, mk_other;
    other.b[31] ^= 1;
    smt_map_key(&mk_d, d.b);
    smt_map_key(&mk_other, other.b);
    assert_memory_not_equal(mk_d.b, mk_other.b, SK_MK_BYTES);
    uint8_t ek[SK_MAX_LEN], bad[SK_MAX_LEN];
    sk_record(ek, d.b, 0);
    size_t rvlen;
    uint8_t *rv = NULL;
    { /* d's own entry: its log index is not known here, so find it by prefix */
        leveldb_t *db = raw_open(f->dir);
        leveldb_readoptions_t *ro = leveldb_readoptions_create();
        leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
        leveldb_iter_seek(it, (const char *)ek, SK_MAPPED_LEN);
        assert_true(leveldb_iter_valid(it));
        size_t kl;
        const char *kk = leveldb_iter_key(it, &kl);
        assert_int_equal(kl, SK_RECORD_LEN);
        assert_memory_equal(kk, ek, SK_MAPPED_LEN);
        memcpy(ek, kk, kl);
        const char *vv = leveldb_iter_value(it, &rvlen);
        rv = malloc(rvlen);
        memcpy(rv, vv, rvlen);
        leveldb_iter_destroy(it);
        leveldb_readoptions_destroy(ro);
        leveldb_close(db);
    }
    sk_mapped(bad, SK_RECORD, mk_d.b, other.b); /* d's mk4, another digest */
    memcpy(bad + SK_MAPPED_LEN, ek + SK_MAPPED_LEN, 8);
    raw_put(f->dir, bad, SK_RECORD_LEN, rv, rvlen);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    smt_proof_t *pf = malloc(sizeof *pf);
    assert_non_null(pf);
    assert_int_equal(store_state_prove(&f->s, d.b, pf), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "filed under another map key"));
    store_close(&f->s);
    raw_delete(f->dir, bad, SK_RECORD_LEN);

    /* d's own entry one byte short: the subtree hashed from its range says it does not decode
     * (and proves nothing); whole again, the proof verifies */
    raw_put(f->dir, ek, SK_RECORD_LEN, rv, rvlen - 1);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_state_prove(&f->s, d.b, pf), QC_ERR_CORRUPT);
    char want[64];
    snprintf(want, sizeof want, "record index entry of %d/%zu bytes", SK_RECORD_LEN, rvlen - 1);
    assert_non_null(strstr(store_problem(&f->s), want));
    store_close(&f->s);
    raw_put(f->dir, ek, SK_RECORD_LEN, rv, rvlen);
    free(rv);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_null(store_problem(&f->s));
    status_proof_verifies(f, &d, true);
    store_close(&f->s);
    free(pf);

    /* an anchor-tx entry naming another transaction: the fsck finds it */
    klen = sk_anchor_tx(k, 5, 1);
    v = raw_get(f->dir, k, klen, &vlen);
    v[4] ^= 1; /* inside the tx id */
    raw_put(f->dir, k, klen, v, vlen);
    free(v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "anchor tx of block 5, tx 1: names another"));
    /* one cut short: the fsck says it does not decode */
    store_close(&f->s);
    v = raw_get(f->dir, k, klen, &vlen);
    v[4] ^= 1;
    raw_put(f->dir, k, klen, v, vlen - 1);
    free(v);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "anchor tx of block 5, tx 1: entry of"));

    /* back to resident: the table goes with the stored nodes (only the paged map reads it) */
    store_close(&f->s);
    f->cfg.state_cache_bytes = 0;
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    assert_int_equal(store_check(&f->s, &cs), QC_OK);
    assert_int_equal(cs.anchor_txs, 0);
    store_close(&f->s);
    assert_int_equal(raw_count(f->dir, SK_ANCHOR_TX, NULL), 0);
    assert_int_equal(raw_count(f->dir, SK_MAP_NODE, NULL), 0);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
}

int main(void) {
    qc_log_set_level(getenv("QC_TEST_LOG") ? QC_LOG_DEBUG : QC_LOG_OFF);
    assert_int_equal(qc_crypto_init(), QC_OK);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_empty_store),
        T(test_state_map),
        T(test_apply_with_given_city_logs),
        T(test_paged_state_map),
        T(test_paged_subtrees_computed),
        T(test_apply_and_read_back),
    T(test_apply_with_precomputed_leaves),
    T(test_block_tx_matches_full_read),
        T(test_proofs_verify_against_headers),
        T(test_header_cache),
        T(test_refusals_leave_store_unchanged),
        T(test_duplicate_transactions_refused),
        T(test_digest_anchored_twice),
        T(test_apply_blocks_in_one_write),
        T(test_apply_blocks_stops_at_refusal),
        T(test_reads_see_the_head_while_a_write_is_in_flight),
        T(test_reopen_preserves_state),
        T(test_record_status_persisted),
        T(test_record_rules_refuse_blocks),
        T(test_chain_binding),
        T(test_format5_ledger_refused_with_advice),
        T(test_membership_change),
        T(test_corrupt_values_detected),
        T(test_plausible_but_wrong_values),
        T(test_foreign_or_unknown_databases),
        T(test_flipped_table_byte_marks_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
