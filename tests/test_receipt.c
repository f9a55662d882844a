/* test_receipt.c - receipts end to end below the HTTP layer: a real nine-member chain in a
 * LevelDB store (tests/lib/chainbuilder), receipts built from it by api_build_receipt for
 * first, middle and last leaves and right-edge tree sizes, the JSON round trip, and every
 * field of a receipt tampered in turn (table-driven, plus every byte of every hex field and
 * every field removed or given the wrong JSON type): each must fail parsing or verification,
 * with the reason a person is shown where the issue names one. The chains and the tamper tables
 * are tests/lib/receiptfx's, which bin/qchain_receiptcases also runs for web/verify.js. Also
 * pins the worked example of docs/PROTOCOL.md §10.3 and the fuzz seeds in
 * tests/fuzz/corpus/receipt/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "chainbuilder.h"
#include "node.h"
#include "receipt.h"
#include "receiptex.h"
#include "receiptfx.h"
#include "store.h"
#include "testkeys.h"
#include "tmpdir.h"

#define DOC_PATH "docs/PROTOCOL.md"
#define SEEDS_DIR "tests/fuzz/corpus/receipt"

/* ---------------------------------------------------------------- the chain */

/* The nine-member chain of receiptfx_chain (tests/lib/receiptfx.h). */
static int fx_setup(void **state) {
    *state = receiptfx_chain();
    return 0;
}

static int fx_teardown(void **state) {
    receiptfx_close(*state);
    return 0;
}

/* ---------------------------------------------------------------- round trip */

/* Receipts of first, middle and last leaves: (log index, expected audit path length). */
static const struct {
    uint64_t log_index;
    size_t path_len;
} k_cases[] = {
    {0, 2}, /* first leaf of a complete tree of 4 */
    {2, 2}, /* record 1 of zibo's three-record tx */
    {3, 2}, /* last record of that tx, last leaf at size 4 */
    {5, 2}, /* last leaf at size 6: a right-edge path */
    {6, 4}, /* size 9: left and right siblings and the one-leaf right edge */
    {8, 1}, /* last leaf at size 9: its sibling is the whole left tree of 8 */
};

static void test_round_trip(void **state) {
    receiptfx_t *f = *state;
    for (size_t c = 0; c < sizeof k_cases / sizeof k_cases[0]; c++) {
        uint64_t i = k_cases[c].log_index;
        receipt_t r, back;
        assert_int_equal(api_build_receipt(f->node, &f->digest[i], NULL, &r), QC_OK);
        assert_int_equal(r.log_index, i);
        assert_int_equal(r.record_index, f->rec_index[i]);
        assert_int_equal(r.path_len, k_cases[c].path_len);
        json_t *j = receipt_to_json(&r);
        char *text = json_dumps(j, JSON_COMPACT);
        assert_non_null(text);
        json_error_t err;
        json_t *j2 = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        assert_non_null(j2);
        char why[256];
        assert_int_equal(receipt_from_json(j2, &back, why, sizeof why), QC_OK);
        assert_string_equal(back.chain_id, r.chain_id);
        assert_memory_equal(&back.header, &r.header, sizeof r.header);
        assert_memory_equal(&back.cert, &r.cert, sizeof r.cert);
        assert_memory_equal(back.path, r.path, r.path_len * sizeof r.path[0]);
        assert_int_equal(back.tree_size, r.tree_size);
        assert_int_equal(back.tx.body_len, r.tx.body_len);
        assert_memory_equal(back.tx.body, r.tx.body, r.tx.body_len);
        json_t *j3 = receipt_to_json(&back); /* the JSON form is canonical */
        char *text3 = json_dumps(j3, JSON_COMPACT);
        assert_string_equal(text3, text);
        receipt_result_t res;
        assert_int_equal(receipt_verify(&back, RECEIPTFX_CHAIN, &f->genesis_hash, &f->vs,
                                        &f->digest[i], &res, why, sizeof why), QC_OK);
        assert_int_equal(res.city, f->city[i]);
        assert_string_equal(res.city_name, f->vs.members[f->city[i]].name);
        assert_int_equal(res.height, f->height[i]);
        assert_int_equal(res.time_ms, r.header.time_ms);
        assert_int_equal(res.signers, 6);
        assert_int_equal(res.quorum, 6);
        assert_int_equal(res.members, RECEIPTFX_MEMBERS);
        free(text);
        free(text3);
        json_decref(j);
        json_decref(j2);
        json_decref(j3);
        receipt_free(&r);
        receipt_free(&back);
    }
}

/* Applies every tamper of table[0..count) in turn to the receipt of leaf log_index. */
static void run_table(receiptfx_t *f, uint64_t log_index, const receiptfx_tamper_t *table,
                      size_t count) {
    json_t *genuine = receiptfx_receipt(f, log_index);
    char why[512];
    receipt_result_t res;
    assert_int_equal(receiptfx_judge(f, genuine, NULL, why, sizeof why, &res), RECEIPTFX_VALID);
    for (size_t i = 0; i < count; i++) {
        const receiptfx_tamper_t *t = &table[i];
        json_t *j = json_deep_copy(genuine);
        receiptfx_apply(f, j, t);
        receiptfx_outcome_t got = receiptfx_judge(f, j, NULL, why, sizeof why, &res);
        if (got != t->expect || (t->why && strstr(why, t->why) == NULL))
            fail_msg("log index %llu, %s: %s \"%s\"; expected %s \"%s\"",
                     (unsigned long long)log_index, t->name, receiptfx_outcome_names[got], why,
                     receiptfx_outcome_names[t->expect], t->why ? t->why : "");
        if (got == RECEIPTFX_VALID) assert_int_equal(res.city, f->city[log_index]);
        json_decref(j);
    }
    json_decref(genuine);
}

static void run_tamper_table(receiptfx_t *f, uint64_t log_index) {
    run_table(f, log_index, receiptfx_tampers, receiptfx_tampers_count);
}

/* Record 1 of zibo's three-record tx (size 4), and the last leaf at size 6 (right edge). */
static void test_tamper_table_multi_record(void **state) { run_tamper_table(*state, 2); }
static void test_tamper_table_right_edge(void **state) { run_tamper_table(*state, 5); }

/* The reader's file is not the anchored one (qchain verify FILE). */
static void test_file_digest(void **state) {
    receiptfx_t *f = *state;
    json_t *j = receiptfx_receipt(f, 3);
    char why[256];
    receipt_result_t res;
    assert_int_equal(receiptfx_judge(f, j, &f->digest[3], why, sizeof why, &res), RECEIPTFX_VALID);
    qc_hash_t other = f->digest[3];
    other.b[0] ^= 0x80;
    assert_int_equal(receiptfx_judge(f, j, &other, why, sizeof why, &res), RECEIPTFX_AT_VERIFY);
    assert_non_null(strstr(why, "document digest does not match"));
    assert_int_equal(receiptfx_judge(f, j, &f->digest[4], why, sizeof why, &res),
                     RECEIPTFX_AT_VERIFY);
    assert_non_null(strstr(why, "document digest does not match"));
    json_decref(j);
}

/* ---------------------------------------------------------------- exhaustive tampering */

/* Collects the paths of every hex field of a receipt. */
static size_t hex_paths(json_t *root, char paths[][48], size_t cap) {
    static const char *const fixed[] = {"genesis_hash", "record.digest", "tx.body", "tx.sig",
                                        "header", "cert.block_hash"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        snprintf(paths[n++], 48, "%s", fixed[i]);
    for (size_t i = 0; i < json_array_size(receiptfx_jget(root, "cert.votes")) && n < cap; i++)
        snprintf(paths[n++], 48, "cert.votes[%zu].sig", i);
    for (size_t i = 0; i < json_array_size(receiptfx_jget(root, "inclusion.path")) && n < cap; i++)
        snprintf(paths[n++], 48, "inclusion.path[%zu]", i);
    return n;
}

/* What the exhaustive tampering judges with: the fixture, the failures counted. */
typedef struct {
    receiptfx_t *f;
    size_t cases;
} judged_t;

/* A flipped copy must fail. */
static void must_fail(void *ctx, const char *what, json_t *variant, bool removed) {
    (void)removed;
    judged_t *jd = ctx;
    char why[512];
    receipt_result_t res;
    if (receiptfx_judge(jd->f, variant, NULL, why, sizeof why, &res) == RECEIPTFX_VALID)
        fail_msg("%s still verifies", what);
    json_decref(variant);
    jd->cases++;
}

/* Flips every byte of the hex field at path in a copy of genuine, one byte at a time (the
 * bit rotating with the position); each copy must fail. Returns the number of flips. */
static size_t flip_all(receiptfx_t *f, json_t *genuine, const char *path) {
    judged_t jd = {f, 0};
    return receiptfx_flip_each(genuine, path, must_fail, &jd);
}

/* Every bit flip of every byte of every hex field must make the receipt fail. */
static void test_flip_every_byte(void **state) {
    receiptfx_t *f = *state;
    json_t *genuine = receiptfx_receipt(f, 6);
    char paths[QC_VALIDATORS_MAX + MERKLE_PROOF_MAX + 8][48];
    size_t n_paths = hex_paths(genuine, paths, sizeof paths / sizeof paths[0]);
    size_t flips = 0;
    for (size_t p = 0; p < n_paths; p++) flips += flip_all(f, genuine, paths[p]);
    /* header, a one-record body, 6 vote sigs and the tx sig, 4 path entries and the digest,
     * genesis and block hashes */
    assert_int_equal(flips, RECEIPTFX_HEADER_LEN + RECEIPTFX_BODY_ONE_LEN + 7 * QC_SIG_BYTES +
                                7 * 32);
    json_decref(genuine);
}

/* A copy with a member removed must fail parsing with the field named; one with a value of
 * another type must fail parsing. */
static void must_not_parse(void *ctx, const char *what, json_t *variant, bool removed) {
    judged_t *jd = ctx;
    char why[512];
    receipt_result_t res;
    if (receiptfx_judge(jd->f, variant, NULL, why, sizeof why, &res) != RECEIPTFX_AT_PARSE ||
        (removed && !strstr(why, RECEIPTFX_MISSING)))
        fail_msg("%s: \"%s\"", what, why);
    json_decref(variant);
    jd->cases++;
}

/* Every member of every object at or below path, removed or replaced by a value of another
 * JSON type, must fail parsing with the field named. */
static void wrong_types_at(receiptfx_t *f, json_t *genuine, const char *path, size_t *cases) {
    judged_t jd = {f, 0};
    receiptfx_wrong_types(genuine, path, must_not_parse, &jd);
    *cases += jd.cases;
}

static void test_every_field_wrong_type(void **state) {
    receiptfx_t *f = *state;
    json_t *genuine = receiptfx_receipt(f, 5);
    size_t cases = 0;
    wrong_types_at(f, genuine, "", &cases);
    /* 9 top-level + 3 record + 2 tx + 5 cert + 6 x 2 vote + 2 inclusion members: 33 removals;
     * those 33 values, 6 votes and 2 path entries each get at least 6 wrong types. */
    assert_true(cases >= 33 + 6 * 41);
    char why[256];
    receipt_t r;
    static const char *const roots[] = {"[]", "\"receipt\"", "null", "3"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        json_t *j = json_loads(roots[i], JSON_DECODE_ANY, NULL);
        assert_int_equal(receipt_from_json(j, &r, why, sizeof why), QC_ERR_INVALID);
        assert_string_equal(why, "a receipt is a JSON object");
        json_decref(j);
    }
    json_decref(genuine);
}

/* ---------------------------------------------------------------- the published example */

static char *read_text(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) fail_msg("cannot open %s (tests run from the repository root)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 65536;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* The Markdown printer wrote to a string (caller frees). */
static char *printed_by(void (*print)(const receiptex_t *, void *), const receiptex_t *x) {
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    print(x, mem);
    fclose(mem);
    return text;
}

/* docs/PROTOCOL.md §10.3 and §10.4 are exactly what receiptex prints, and every receipt of the
 * example chain (blocks 1 and 2 in epoch 0, block 4 in epoch 1 after the switch at block 3)
 * verifies against the example genesis file as `qchain verify` loads it. */
static void test_published_example(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    char *doc = read_text(DOC_PATH);
    char *printed = printed_by(receiptex_print, x);
    if (strstr(doc, printed) == NULL)
        fail_msg("%s §10.3 differs from build/bin/qchain_receiptex; regenerate it", DOC_PATH);
    free(printed);
    printed = printed_by(receiptex_print_switch, x);
    if (strstr(doc, printed) == NULL)
        fail_msg("%s §10.4 differs from build/bin/qchain_receiptex --switch; regenerate it",
                 DOC_PATH);
    free(printed);
    genesis_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    char why[256];
    assert_int_equal(genesis_parse(x->genesis_json, x->genesis_len, g, why, sizeof why), QC_OK);
    assert_memory_equal(g->hash.b, x->genesis.hash.b, 32);
    for (uint64_t i = 0; i < RECEIPTEX_LEAVES; i++) {
        receipt_t r;
        receipt_result_t res;
        bool switched = i >= RECEIPTEX_BLOCK2_LEAVES;
        assert_int_equal(receiptex_receipt(x, i, &r), QC_OK);
        assert_int_equal(r.membership_len, switched ? 1 : 0);
        if (receipt_verify(&r, g->chain_id, &g->hash, &g->validators, &r.digest, &res, why,
                           sizeof why) != QC_OK)
            fail_msg("example receipt %llu: %s", (unsigned long long)i, why);
        assert_string_equal(res.city_name, switched ? "dezhou" : "jinan");
        assert_int_equal(res.height, i < 2 ? 1 : switched ? 4 : 2);
        assert_int_equal(res.signers, switched ? 4 : 3);
        assert_int_equal(res.members, switched ? 5 : 4);
        assert_int_equal(res.epoch, switched ? 1 : 0);
        receipt_free(&r);
    }
    free(g);
    free(doc);
    receiptex_free(x);
    free(x);
}

/* A genesis file that differs from the example's in one unsigned detail (the genesis time, a
 * display name, an address, a consensus setting), with the same chain id and keys, is another
 * chain: no receipt of the example chain verifies against it, even with the receipt's own
 * genesis_hash field edited to name it, because every certified header carries the real
 * genesis hash (docs/PROTOCOL.md §10.2 step 2). */
static void test_other_genesis_same_keys_refused(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    genesis_t *g = calloc(1, sizeof *g);
    assert_non_null(x);
    assert_non_null(g);
    assert_int_equal(receiptex_build(x), QC_OK);
    for (size_t e = 0; e < RECEIPTFX_GENESIS_EDITS; e++) {
        char *edited = receiptfx_replaced(x->genesis_json, receiptfx_genesis_edits[e][0],
                                          receiptfx_genesis_edits[e][1]);
        char why[512];
        assert_int_equal(genesis_parse(edited, strlen(edited), g, why, sizeof why), QC_OK);
        assert_string_equal(g->chain_id, VECTORS_CHAIN_ID);
        assert_memory_equal(&g->validators, &x->v.vs, sizeof g->validators);
        assert_memory_not_equal(g->hash.b, x->genesis.hash.b, 32);
        for (uint64_t i = 0; i < RECEIPTEX_LEAVES; i++) {
            receipt_t r;
            receipt_result_t res;
            assert_int_equal(receiptex_receipt(x, i, &r), QC_OK);
            r.genesis_hash = g->hash; /* the unsigned field, edited to name the other file */
            assert_int_equal(receipt_verify(&r, g->chain_id, &g->hash, &g->validators, &r.digest,
                                             &res, why, sizeof why), QC_ERR_INVALID);
            char want[256], real_hex[65], other_hex[65];
            snprintf(want, sizeof want, "block header names genesis %s, the genesis file given is %s",
                     qc_hash_hex(real_hex, &x->genesis.hash), qc_hash_hex(other_hex, &g->hash));
            assert_string_equal(why, want);
            /* the genuine file still verifies the same receipt, with its field restored */
            r.genesis_hash = x->genesis.hash;
            assert_int_equal(receipt_verify(&r, VECTORS_CHAIN_ID, &x->genesis.hash, &x->v.vs,
                                             &r.digest, &res, why, sizeof why), QC_OK);
            receipt_free(&r);
        }
        free(edited);
    }
    free(g);
    receiptex_free(x);
    free(x);
}

/* The example chain's state roots (§8's block 1, blocks 2 to 4 of §10.3 and §10.4) are what a
 * node computes for the same transactions: the ledger (store_apply_block recomputes the root
 * as exec does: record statuses and the city heads of PROTOCOL §13.2) accepts blocks 1 and 2,
 * and the test chain builder (which also applies the lifecycle rules) gives all four roots,
 * across the switch to epoch 1 in which dezhou's city log starts. */
static void test_example_state_roots_as_a_node_builds(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    const qc_block_t *blocks[4] = {&x->v.block, &x->block2, &x->block3, &x->block4};
    const qc_cert_t *certs[2] = {&x->v.cert, &x->cert2};
    char dir[256];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "receiptex"), 0);
    store_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    store_config_t cfg = {VECTORS_CHAIN_ID, x->genesis.hash, &x->v.vs, NULL, 0};
    assert_int_equal(store_open(s, dir, &cfg), QC_OK);
    for (int i = 0; i < 2; i++) assert_int_equal(store_apply_block(s, blocks[i], certs[i]), QC_OK);
    qc_hash_t root;
    assert_int_equal(store_state_root(s, &root), QC_OK);
    assert_memory_equal(root.b, x->block2.header.state_root.b, 32);
    store_close(s);
    free(s);
    assert_int_equal(tmpdir_remove(dir), 0);

    chainbuilder_t cb;
    chainbuilder_init(&cb, VECTORS_CHAIN_ID, 4, 0);
    for (int i = 0; i < 4; i++) {
        if (blocks[i] == &x->block4) chainbuilder_set_validators(&cb, 5, 1); /* epoch 1 */
        qc_block_t b = {.header = blocks[i]->header, .txs = blocks[i]->txs,
                        .tx_count = blocks[i]->tx_count}; /* the txs borrowed */
        memset(b.header.state_root.b, 0, 32);
        assert_int_equal(chainbuilder_seal(&cb, &b), QC_OK);
        assert_memory_equal(b.header.state_root.b, blocks[i]->header.state_root.b, 32);
        assert_memory_equal(b.header.log_root.b, blocks[i]->header.log_root.b, 32);
        chainbuilder_advance(&cb, &b);
    }
    /* block 2 moved jinan's city head; block 3, empty, moved nothing */
    assert_memory_not_equal(x->block2.header.state_root.b, x->v.block.header.state_root.b, 32);
    assert_memory_equal(x->block3.header.state_root.b, x->block2.header.state_root.b, 32);
    receiptex_free(x);
    free(x);
}

/* The fuzz seeds named valid_* are genuine receipts of the example chain, so fuzz_receipt
 * starts from inputs that reach every verification step. */
static void test_fuzz_seeds(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    DIR *d = opendir(SEEDS_DIR);
    assert_non_null(d);
    size_t valid = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "valid_", 6) != 0) continue;
        char path[512], why[256];
        snprintf(path, sizeof path, "%s/%s", SEEDS_DIR, e->d_name);
        char *text = read_text(path);
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        receipt_t r;
        receipt_result_t res;
        if (j == NULL || receipt_from_json(j, &r, why, sizeof why) != QC_OK)
            fail_msg("%s does not parse", path);
        if (receipt_verify(&r, VECTORS_CHAIN_ID, &x->genesis.hash, &x->v.vs, NULL, &res, why,
                           sizeof why) != QC_OK)
            fail_msg("%s: %s", path, why);
        receipt_free(&r);
        json_decref(j);
        free(text);
        valid++;
    }
    closedir(d);
    assert_int_equal(valid, RECEIPTEX_LEAVES);
    receiptex_free(x);
    free(x);
}

/* ---------------------------------------------------------------- receipts across epochs */

/* The epoch chain: a four-member genesis; block 1 (jinan 1 record); block 2 ends epoch 0 and
 * names five members (dezhou joins; zibo 1 record); block 3 in epoch 1 (dezhou 1 record);
 * block 4, empty, ends epoch 1 and names six members; block 5 in epoch 2 (the sixth member 1
 * record, jinan 2). Receipts of leaves 0 and 1 carry no membership, of leaf 2 one step, of
 * leaves 3..5 two. */
static const uint64_t k_leaf_epoch[RECEIPTFX_E_LEAVES] = {0, 0, 1, 2, 2, 2};

static int fxe_setup(void **state) {
    *state = receiptfx_epoch_chain();
    return 0;
}

/* The store's membership history as a receipt carries it: for each epoch the set the switch
 * block named, its first height, and that block's header and (valid) certificate. */
static void test_epoch_membership_from_store(void **state) {
    receiptfx_t *f = *state;
    receipt_step_t *steps;
    size_t n;
    assert_int_equal(api_receipt_membership(&f->node->store, 0, &steps, &n), QC_OK);
    assert_null(steps);
    assert_int_equal(n, 0);
    assert_int_equal(api_receipt_membership(&f->node->store, 3, &steps, &n), QC_ERR_NOTFOUND);
    assert_null(steps);
    assert_int_equal(api_receipt_membership(&f->node->store, 2, &steps, &n), QC_OK);
    assert_int_equal(n, 2);
    static const uint64_t first[2] = {3, 5};
    const qc_validator_set_t *prev = &f->vs;
    for (size_t i = 0; i < n; i++) {
        qc_validator_set_t want;
        testkeys_validators(&want, (uint32_t)(5 + i), i + 1);
        assert_int_equal(steps[i].first_height, first[i]);
        assert_memory_equal(&steps[i].vs, &want, sizeof want);
        qc_header_t stored;
        assert_int_equal(store_header_get(&f->node->store, first[i] - 1, &stored), QC_OK);
        assert_memory_equal(&steps[i].switch_header, &stored, sizeof stored);
        qc_hash_t vh, bh;
        qc_validators_hash(&want, &vh);
        assert_memory_equal(stored.next_validators_hash.b, vh.b, 32);
        qc_header_hash(&stored, &bh);
        char why[256];
        assert_int_equal(qc_cert_verify(&steps[i].switch_cert, RECEIPTFX_CHAIN, prev, &bh, why,
                                        sizeof why), QC_OK);
        prev = &steps[i].vs;
    }
    free(steps);
}

/* Every leaf's receipt from the store verifies from the genesis set, names the anchoring city
 * by its index in the block's epoch, carries one step per epoch, and its JSON is canonical. */
static void test_epoch_round_trip(void **state) {
    receiptfx_t *f = *state;
    for (uint64_t i = 0; i < RECEIPTFX_E_LEAVES; i++) {
        receipt_t r, back;
        assert_int_equal(api_build_receipt(f->node, &f->digest[i], NULL, &r), QC_OK);
        assert_int_equal(r.membership_len, k_leaf_epoch[i]);
        json_t *j = receipt_to_json(&r);
        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(j, "membership")), k_leaf_epoch[i]);
        char *text = json_dumps(j, JSON_COMPACT);
        char why[256];
        assert_int_equal(receipt_from_json(j, &back, why, sizeof why), QC_OK);
        assert_int_equal(back.membership_len, r.membership_len);
        if (r.membership_len)
            assert_memory_equal(back.membership, r.membership,
                                r.membership_len * sizeof *r.membership);
        json_t *j2 = receipt_to_json(&back);
        char *text2 = json_dumps(j2, JSON_COMPACT);
        assert_string_equal(text2, text);
        receipt_result_t res;
        if (receipt_verify(&back, RECEIPTFX_CHAIN, &f->genesis_hash, &f->vs, &f->digest[i], &res,
                           why, sizeof why) != QC_OK)
            fail_msg("leaf %llu: %s", (unsigned long long)i, why);
        assert_int_equal(res.epoch, k_leaf_epoch[i]);
        assert_int_equal(res.city, f->city[i]);
        assert_int_equal(res.members, 4 + k_leaf_epoch[i]);
        assert_int_equal(res.quorum, qc_quorum(res.members));
        assert_int_equal(res.height, f->height[i]);
        free(text);
        free(text2);
        json_decref(j);
        json_decref(j2);
        receipt_free(&r);
        receipt_free(&back);
    }
}


static void test_epoch_tamper_table(void **state) {
    run_table(*state, RECEIPTFX_E_LEAF_EPOCH2, receiptfx_epoch_tampers,
              receiptfx_epoch_tampers_count);
}

/* Every bit flip of every byte of every hex field of the membership history (both switch
 * headers, every member key, every switch vote and block hash) must make the receipt fail. */
static void test_epoch_flip_every_byte(void **state) {
    receiptfx_t *f = *state;
    json_t *genuine = receiptfx_receipt(f, RECEIPTFX_E_LEAF_EPOCH2);
    size_t flips = 0, expected = 0;
    for (size_t s = 0; s < 2; s++) {
        char paths[3 * 8 + QC_VALIDATORS_MAX + 2][64];
        size_t n = 0;
        snprintf(paths[n++], 64, "membership[%zu].switch_header", s);
        snprintf(paths[n++], 64, "membership[%zu].switch_cert.block_hash", s);
        char p[64];
        snprintf(p, sizeof p, "membership[%zu].members", s);
        size_t members = json_array_size(receiptfx_jget(genuine, p));
        for (size_t m = 0; m < members; m++) {
            static const char *const keys[] = {"node_key", "seal_key", "admin_key"};
            for (size_t k = 0; k < 3; k++)
                snprintf(paths[n++], 64, "membership[%zu].members[%zu].%s", s, m, keys[k]);
        }
        snprintf(p, sizeof p, "membership[%zu].switch_cert.votes", s);
        size_t votes = json_array_size(receiptfx_jget(genuine, p));
        for (size_t v = 0; v < votes; v++)
            snprintf(paths[n++], 64, "membership[%zu].switch_cert.votes[%zu].sig", s, v);
        expected += RECEIPTFX_HEADER_LEN + 32 + members * 3 * 32 + votes * QC_SIG_BYTES;
        for (size_t i = 0; i < n; i++) flips += flip_all(f, genuine, paths[i]);
    }
    assert_int_equal(flips, expected);
    json_decref(genuine);
}

/* Every member of every object of the membership history, removed or given another JSON type,
 * fails parsing with the field named. */
static void test_epoch_every_field_wrong_type(void **state) {
    receiptfx_t *f = *state;
    json_t *genuine = receiptfx_receipt(f, RECEIPTFX_E_LEAF_EPOCH2);
    size_t cases = 0;
    wrong_types_at(f, genuine, "membership", &cases);
    /* 2 steps x (6 fields + 5 cert fields + 4 x (5 or 6) member fields + votes x 2) removals,
     * each value at least 6 wrong types */
    assert_true(cases >= 2 * (6 + 5 + 4 * 5 + 2 * 3) * 6);
    json_decref(genuine);
}

/* The receipt of a record in epoch 1 from the epoch chain fails against the epoch-0 genesis
 * set of another chain that has the same members but another threshold: the walk starts from
 * the genesis the auditor holds. */
static void test_epoch_other_genesis_set(void **state) {
    receiptfx_t *f = *state;
    receipt_t r;
    assert_int_equal(api_build_receipt(f->node, &f->digest[2], NULL, &r), QC_OK);
    qc_validator_set_t other = f->vs;
    other.governance_threshold = 4;
    char why[256];
    receipt_result_t res;
    assert_int_equal(receipt_verify(&r, RECEIPTFX_CHAIN, &f->genesis_hash, &other, NULL, &res, why,
                                    sizeof why), QC_ERR_MEMBER);
    assert_string_equal(why, "membership step 1: the switch block names a different validator "
                             "set than epoch 0's");
    receipt_free(&r);
}

/* A digest anchored by jinan in block 1, by zibo in block 2 (beside another digest) and by
 * taian twice in block 3's one transaction: each anchoring has its own receipt, addressed by its transaction id, and
 * proves that transaction's seal; the default is the first anchoring (issue 11: zibo was
 * handed jinan's receipt). */
static void test_receipt_per_anchoring(void **state) {
    (void)state;
    receiptfx_t *f = receiptfx_open(RECEIPTFX_MEMBERS);
    qc_hash_t d[2];
    memset(d[0].b, 0xd1, 32);
    memset(d[1].b, 0xd2, 32);
    qc_tx_t tx[3];
    qc_hash_t id[3];
    qc_block_t b;
    qc_cert_t cert;
    for (uint32_t k = 0; k < 3; k++) {
        uint32_t signer = k; /* jinan, zibo, taian */
        const qc_hash_t twice[2] = {d[0], d[0]};
        assert_int_equal(chainbuilder_tx(&f->cb, signer, k, k == 2 ? twice : d, k == 0 ? 1 : 2,
                                         &tx[k]), QC_OK);
        id[k] = tx[k].id;
        assert_int_equal(chainbuilder_block(&f->cb, &tx[k], 1, &b, &cert), QC_OK);
        assert_int_equal(store_apply_block(&f->node->store, &b, &cert), QC_OK);
        chainbuilder_advance(&f->cb, &b);
        qc_block_free(&b);
    }
    static const struct { int tx; uint32_t city; uint64_t height, log_index; } want[] = {
        {-1, 0, 1, 0}, {0, 0, 1, 0}, {1, 1, 2, 1}, {2, 2, 3, 3}};
    for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
        receipt_t r;
        assert_int_equal(api_build_receipt(f->node, &d[0], want[c].tx < 0 ? NULL : &id[want[c].tx],
                                           &r), QC_OK);
        assert_memory_equal(r.tx.id.b, id[want[c].tx < 0 ? 0 : want[c].tx].b, 32);
        assert_int_equal(r.log_index, want[c].log_index);
        assert_int_equal(r.record_index, 0); /* the first of taian's two records */
        char why[256];
        receipt_result_t res;
        assert_int_equal(receipt_verify(&r, RECEIPTFX_CHAIN, &f->genesis_hash, &f->vs, &d[0], &res,
                                        why, sizeof why), QC_OK);
        assert_int_equal(res.city, want[c].city);
        assert_int_equal(res.height, want[c].height);
        receipt_free(&r);
    }
    /* Zibo's second record; a transaction that exists but does not anchor the digest; one that
     * does not exist; a digest never anchored. */
    receipt_t r;
    assert_int_equal(api_build_receipt(f->node, &d[1], &id[1], &r), QC_OK);
    assert_int_equal(r.record_index, 1);
    receipt_free(&r);
    assert_int_equal(api_build_receipt(f->node, &d[1], &id[0], &r), QC_ERR_NOTFOUND);
    qc_hash_t none;
    memset(none.b, 0xee, 32);
    assert_int_equal(api_build_receipt(f->node, &d[0], &none, &r), QC_ERR_NOTFOUND);
    assert_int_equal(api_build_receipt(f->node, &none, NULL, &r), QC_ERR_NOTFOUND);
    fx_teardown((void **)&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_receipt_per_anchoring),
        cmocka_unit_test(test_tamper_table_multi_record),
        cmocka_unit_test(test_tamper_table_right_edge),
        cmocka_unit_test(test_file_digest),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_every_field_wrong_type),
        cmocka_unit_test(test_published_example),
        cmocka_unit_test(test_other_genesis_same_keys_refused),
        cmocka_unit_test(test_fuzz_seeds),
        cmocka_unit_test(test_example_state_roots_as_a_node_builds),
    };
    const struct CMUnitTest epoch_tests[] = {
        cmocka_unit_test(test_epoch_membership_from_store),
        cmocka_unit_test(test_epoch_round_trip),
        cmocka_unit_test(test_epoch_tamper_table),
        cmocka_unit_test(test_epoch_flip_every_byte),
        cmocka_unit_test(test_epoch_every_field_wrong_type),
        cmocka_unit_test(test_epoch_other_genesis_set),
    };
    int failed = cmocka_run_group_tests(tests, fx_setup, fx_teardown);
    return failed + cmocka_run_group_tests(epoch_tests, fxe_setup, fx_teardown);
}
