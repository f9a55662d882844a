/* test_cityproof.c - city log completeness proofs (docs/PROTOCOL.md §13): real proofs, built
 * from a city log kept by the record log's store (rlog over memlog) and a state map holding
 * the city heads under a header certified by the §8 vectors' validators, verify for every
 * range of every city (with and without bracketing leaves, and the empty log's absence
 * proof) and show exactly the city's events in the range; every tampering (leaves dropped,
 * added or changed, brackets missing or doubled, the head's size or root, the hashes, the
 * range, the city, the genesis) is refused; the JSON form round-trips and its parser is
 * strict. Set QC_CITYPROOF_CORPUS=DIR to write the fuzz seeds (valid proofs) into DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityproof.h"
#include "memlog.h"
#include "rlog.h"
#include "smap.h"
#include "testkeys.h"
#include "tmpdir.h"
#include "vectors.h"

#define H_TOP 8          /* the proofs' block */
#define CITIES 3         /* jinan, zibo (events), taian (none) */
#define EVENTS_MAX 16

typedef struct {
    const char *name;
    qc_city_leaf_t ev[EVENTS_MAX];
    size_t n;
    qc_hash_t leaf_hash[EVENTS_MAX];
    memlog_t store;
    qc_hash_t root;
} city_t;

typedef struct {
    vectors_t v;
    qc_header_t header;  /* block H_TOP: state_root holds the city heads */
    qc_cert_t cert;
    smap_mem_t *map;
    city_t city[CITIES];
} fx_t;

static void add_event(city_t *c, uint64_t height, uint16_t index, uint8_t kind, uint8_t seed) {
    QC_ASSERT(c->n < EVENTS_MAX);
    qc_city_leaf_t *l = &c->ev[c->n++];
    l->height = height;
    l->index = index;
    l->kind = kind;
    memset(l->tx_id.b, (int)(0xa0 + height), 32);
    l->tx_id.b[0] = seed;
    memset(l->digest.b, seed, 32);
    l->digest.b[31] = (uint8_t)index;
}

/* The events: jinan at heights 1, 2, 4, 5, 7 (3, 6 and 8 have none); zibo at 3 and 6. */
static void fill_events(fx_t *f) {
    city_t *j = &f->city[0], *z = &f->city[1];
    j->name = "jinan";
    z->name = "zibo";
    f->city[2].name = "taian";
    add_event(j, 1, 0, QC_CITY_ANCHOR, 0x11);
    add_event(j, 1, 1, QC_CITY_ANCHOR, 0x12);
    add_event(j, 2, 0, QC_CITY_ENDORSE, 0x21);
    add_event(j, 4, 0, QC_CITY_SUPERSEDE_OLD, 0x12);
    add_event(j, 4, 1, QC_CITY_SUPERSEDE_NEW, 0x41);
    add_event(j, 5, 0, QC_CITY_ANCHOR, 0x51);
    add_event(j, 7, 0, QC_CITY_REVOKE, 0x11);
    add_event(j, 7, 0, QC_CITY_ANCHOR, 0x71);
    add_event(j, 7, 1, QC_CITY_ANCHOR, 0x72);
    add_event(j, 7, 2, QC_CITY_ANCHOR, 0x51); /* anchored again: a second leaf */
    add_event(z, 3, 0, QC_CITY_ANCHOR, 0x31);
    add_event(z, 6, 0, QC_CITY_ENDORSE, 0x51);
}

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL || vectors_build(&f->v) != QC_OK || smap_mem_new(&f->map) != QC_OK) return -1;
    fill_events(f);
    smap_update_t u[CITIES + 4];
    size_t nu = 0;
    for (int c = 0; c < CITIES; c++) {
        city_t *cy = &f->city[c];
        memlog_init(&cy->store);
        rlog_t log;
        rlog_reader_t r = memlog_reader(&cy->store);
        if (rlog_open(&log, 0, &r) != QC_OK) return -1;
        for (size_t i = 0; i < cy->n; i++) {
            qc_city_leaf_hash(&cy->ev[i], &cy->leaf_hash[i]);
            if (rlog_append(&log, &cy->leaf_hash[i], memlog_put, &cy->store) != QC_OK) return -1;
        }
        rlog_root(&log, &cy->root);
        if (cy->n == 0) continue;
        qc_city_key(cy->name, &u[nu].key);
        qc_city_head(cy->n, &cy->root, &u[nu].value);
        u[nu++].if_absent = false;
    }
    for (int i = 0; i < 4; i++) { /* some record statuses beside the heads */
        memset(&u[nu], 0, sizeof u[nu]);
        uint8_t d[32];
        memset(d, 0xc0 + i, sizeof d);
        smt_map_key(&u[nu].key, d);
        memset(u[nu++].value.b, 0xd0 + i, 32);
    }
    size_t n2;
    smap_writes_t ws = {0};
    smap_reader_t mr = smap_mem_reader(f->map);
    f->header = f->v.block.header;
    f->header.height = H_TOP;
    if (smap_prepare(u, nu, &n2) != QC_OK ||
        smap_apply(&mr, u, n2, &ws, &f->header.state_root) != QC_OK ||
        smap_mem_commit(f->map, &ws) != QC_OK)
        return -1;
    smap_writes_free(&ws);
    qc_hash_t bh;
    qc_header_hash(&f->header, &bh);
    f->cert.epoch = 0;
    f->cert.height = H_TOP;
    f->cert.view = 1;
    f->cert.block_hash = bh;
    for (uint32_t i = 0; i < 3; i++) {
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_NODE, i, NULL, &sk);
        f->cert.votes[i].validator = i;
        qc_commit_vote_sign(&f->cert.votes[i].sig, &sk, VECTORS_CHAIN_ID, 0, H_TOP, 1, &bh);
    }
    f->cert.vote_count = 3;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    for (int c = 0; c < CITIES; c++) memlog_free(&f->city[c].store);
    smap_mem_free(f->map);
    vectors_free(&f->v);
    free(f);
    return 0;
}

/* What a server would send: the proof for city c over a..b as of H_TOP. */
static void make_proof(const fx_t *f, int c, uint64_t a, uint64_t b, cityproof_t *p) {
    const city_t *cy = &f->city[c];
    memset(p, 0, sizeof *p);
    snprintf(p->chain_id, sizeof p->chain_id, "%s", VECTORS_CHAIN_ID);
    p->genesis_hash = f->v.genesis_hash;
    snprintf(p->city, sizeof p->city, "%s", cy->name);
    p->from_height = a;
    p->to_height = b;
    p->header = f->header;
    p->cert = f->cert;
    p->log_size = cy->n;
    p->log_root = cy->root;
    qc_hash_t key;
    qc_city_key(cy->name, &key);
    smt_proof_t *sp = malloc(sizeof *sp);
    p->map_proof = malloc(SMT_PROOF_MAX_BYTES);
    assert_non_null(sp);
    assert_non_null(p->map_proof);
    smap_reader_t mr = smap_mem_reader(f->map);
    assert_int_equal(smap_prove(&mr, &key, sp), QC_OK);
    assert_int_equal(smt_proof_encode(sp, p->map_proof, SMT_PROOF_MAX_BYTES, &p->map_proof_len),
                     QC_OK);
    free(sp);
    if (cy->n == 0) return;
    size_t lo = 0, hi = 0;
    while (lo < cy->n && cy->ev[lo].height < a) lo++;
    while (hi < cy->n && cy->ev[hi].height <= b) hi++;
    if (lo > 0) lo--;
    if (hi < cy->n) hi++;
    p->first_index = lo;
    p->leaf_count = hi - lo;
    p->leaves = malloc(p->leaf_count * sizeof *p->leaves);
    p->hashes = malloc(CITYPROOF_HASHES_MAX * sizeof *p->hashes);
    assert_non_null(p->leaves);
    assert_non_null(p->hashes);
    memcpy(p->leaves, &cy->ev[lo], p->leaf_count * sizeof *p->leaves);
    rlog_reader_t r = memlog_reader((memlog_t *)&cy->store);
    assert_int_equal(rlog_range_hashes(&r, cy->n, lo, hi, p->hashes, CITYPROOF_HASHES_MAX,
                                       &p->hash_count), QC_OK);
}

static int verify(const fx_t *f, const cityproof_t *p, cityproof_result_t *res, char *why,
                  size_t why_cap) {
    return cityproof_verify(p, VECTORS_CHAIN_ID, &f->v.genesis_hash, &f->v.vs, res, why, why_cap);
}

/* A deep copy through the JSON form (which also checks the round trip is exact). */
static void copy_proof(const cityproof_t *p, cityproof_t *out) {
    json_t *j = cityproof_to_json(p);
    assert_non_null(j);
    char why[256];
    if (cityproof_from_json(j, out, why, sizeof why) != QC_OK) fail_msg("reparse: %s", why);
    json_decref(j);
    json_t *again = cityproof_to_json(out);
    j = cityproof_to_json(p);
    char *s1 = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    char *s2 = json_dumps(again, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    json_decref(j);
    json_decref(again);
}

static void test_hashing(void **state) {
    (void)state;
    qc_city_leaf_t l = {.height = 0x0102030405060708u, .index = 0x0a0b, .kind = QC_CITY_REVOKE};
    memset(l.tx_id.b, 0x11, 32);
    memset(l.digest.b, 0x22, 32);
    uint8_t d[QC_CITY_LEAF_BYTES];
    qc_city_leaf_data(&l, d);
    assert_memory_equal(d, "qchain/v1/city-leaf\0\x01\x02\x03\x04\x05\x06\x07\x08", 28);
    assert_int_equal(d[28], 0x11);
    assert_int_equal(d[59], 0x11);
    assert_int_equal(d[60], 0x0a);
    assert_int_equal(d[61], 0x0b);
    assert_int_equal(d[62], QC_CITY_REVOKE);
    assert_int_equal(d[63], 0x22);
    assert_int_equal(d[94], 0x22);
    qc_hash_t h1, h2;
    qc_city_leaf_hash(&l, &h1);
    merkle_leaf_hash(&h2, d, sizeof d);
    assert_memory_equal(h1.b, h2.b, 32);
    uint8_t kb[] = "qchain/v1/city-key\0\x05jinan";
    qc_city_key("jinan", &h1);
    qc_sha256(&h2, kb, sizeof kb - 1);
    assert_memory_equal(h1.b, h2.b, 32);
    uint8_t hb[20 + 8 + 32] = "qchain/v1/city-head";
    hb[27] = 7;
    memset(hb + 28, 0x33, 32);
    qc_hash_t root;
    memset(root.b, 0x33, 32);
    qc_city_head(7, &root, &h1);
    qc_sha256(&h2, hb, sizeof hb);
    assert_memory_equal(h1.b, h2.b, 32);
    static const char *const names[] = {"anchor", "endorse", "revoke", "supersede-old",
                                        "supersede-new"};
    for (uint8_t k = 1; k <= 5; k++) {
        assert_string_equal(qc_city_kind_name(k), names[k - 1]);
        uint8_t back = 0;
        assert_int_equal(qc_city_kind_parse(names[k - 1], &back), QC_OK);
        assert_int_equal(back, k);
    }
    uint8_t back;
    assert_null(qc_city_kind_name(0));
    assert_null(qc_city_kind_name(6));
    assert_int_equal(qc_city_kind_parse("Anchor", &back), QC_ERR_INVALID);
    assert_int_equal(qc_city_kind_parse("", &back), QC_ERR_INVALID);
}

static void test_range_root_limits(void **state) {
    (void)state;
    qc_hash_t leaves[4], root, want;
    for (int i = 0; i < 4; i++) memset(leaves[i].b, i + 1, 32);
    merkle_root(&want, leaves, 4);
    assert_int_equal(cityproof_range_root(leaves, 4, 0, 4, NULL, 0, &root), QC_OK);
    assert_memory_equal(root.b, want.b, 32);
    assert_int_equal(cityproof_range_root(leaves, 4, 0, 0, NULL, 0, &root), QC_ERR_INVALID);
    assert_int_equal(cityproof_range_root(leaves, 4, 1, 4, NULL, 0, &root), QC_ERR_INVALID);
    assert_int_equal(cityproof_range_root(leaves, 1, 5, 4, NULL, 0, &root), QC_ERR_INVALID);
    assert_int_equal(cityproof_range_root(leaves, 4, 0, 4, leaves, 1, &root), QC_ERR_INVALID);
    /* no leaves: the root itself is the one hash */
    assert_int_equal(cityproof_range_root(NULL, 0, 2, 4, &want, 1, &root), QC_OK);
    assert_memory_equal(root.b, want.b, 32);
    /* leaf 2 of 4: hashes T(0,2) then leaf 3 */
    qc_hash_t hs[2];
    merkle_root(&hs[0], leaves, 2);
    hs[1] = leaves[3];
    assert_int_equal(cityproof_range_root(&leaves[2], 1, 2, 4, hs, 2, &root), QC_OK);
    assert_memory_equal(root.b, want.b, 32);
    assert_int_equal(cityproof_range_root(&leaves[2], 1, 2, 4, hs, 1, &root), QC_ERR_INVALID);
    /* a huge log: the walk stays 63 deep and takes one hash per level */
    qc_hash_t many[CITYPROOF_HASHES_MAX];
    memset(many, 0x5a, sizeof many);
    assert_int_equal(cityproof_range_root(leaves, 1, MERKLE_SIZE_MAX - 1, MERKLE_SIZE_MAX, many,
                                          63, &root), QC_OK);
    assert_int_equal(cityproof_range_root(leaves, 1, UINT64_MAX - 1, UINT64_MAX, many, 64, &root),
                     QC_ERR_INVALID);
}

/* Every range of every city verifies and shows exactly the city's events in it. */
static void test_every_range_verifies(void **state) {
    fx_t *f = *state;
    size_t with_open = 0, with_close = 0, without = 0;
    for (int c = 0; c < CITIES; c++)
        for (uint64_t a = 1; a <= H_TOP; a++)
            for (uint64_t b = a; b <= H_TOP; b++) {
                cityproof_t p, back;
                make_proof(f, c, a, b, &p);
                copy_proof(&p, &back);
                cityproof_result_t res;
                char why[256];
                if (verify(f, &back, &res, why, sizeof why) != QC_OK)
                    fail_msg("%s %llu..%llu: %s", f->city[c].name, (unsigned long long)a,
                             (unsigned long long)b, why);
                assert_int_equal(res.block.height, H_TOP);
                assert_int_equal(res.block.signers, 3);
                const city_t *cy = &f->city[c];
                size_t want = 0;
                for (size_t i = 0; i < cy->n; i++) {
                    if (cy->ev[i].height < a || cy->ev[i].height > b) continue;
                    assert_true(want < res.count);
                    assert_memory_equal(&back.leaves[res.first + want], &cy->ev[i],
                                        sizeof cy->ev[i]);
                    want++;
                }
                assert_int_equal(res.count, want);
                with_open += back.first_index > 0;
                with_close += back.first_index + back.leaf_count < back.log_size;
                without += back.log_size > 0 && back.first_index == 0 &&
                           back.leaf_count == back.log_size;
                /* anchoring: true only for an in-range anchor leaf's digest */
                for (size_t i = 0; i < cy->n; i++) {
                    bool in = false;
                    for (size_t e = 0; e < cy->n; e++)
                        in |= cy->ev[e].kind == QC_CITY_ANCHOR && cy->ev[e].height >= a &&
                              cy->ev[e].height <= b &&
                              memcmp(cy->ev[e].digest.b, cy->ev[i].digest.b, 32) == 0;
                    assert_int_equal(cityproof_anchored(&back, &res, &cy->ev[i].digest), in);
                }
                cityproof_free(&p);
                cityproof_free(&back);
            }
    assert_true(with_open > 0 && with_close > 0 && without > 0);
}

/* The empty log (taian): an absence proof; claiming it for jinan or with leaves is refused. */
static void test_empty_log(void **state) {
    fx_t *f = *state;
    cityproof_t p;
    cityproof_result_t res;
    char why[256];
    make_proof(f, 2, 1, H_TOP, &p);
    assert_int_equal(p.log_size, 0);
    assert_int_equal(verify(f, &p, &res, why, sizeof why), QC_OK);
    assert_int_equal(res.count, 0);
    qc_hash_t d;
    memset(d.b, 0x11, 32);
    assert_false(cityproof_anchored(&p, &res, &d));
    snprintf(p.city, sizeof p.city, "jinan");
    assert_int_equal(verify(f, &p, &res, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "log head absent"));
    snprintf(p.city, sizeof p.city, "taian");
    p.log_root.b[0] ^= 1;
    assert_int_equal(verify(f, &p, &res, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "empty city log"));
    cityproof_free(&p);
    /* jinan's proof of size 0 with taian's map proof */
    cityproof_t j, t;
    make_proof(f, 0, 1, H_TOP, &j);
    make_proof(f, 2, 1, H_TOP, &t);
    uint8_t *keep = j.map_proof;
    size_t keep_len = j.map_proof_len;
    j.map_proof = t.map_proof;
    j.map_proof_len = t.map_proof_len;
    assert_int_equal(verify(f, &j, &res, why, sizeof why), QC_ERR_INVALID);
    j.map_proof = keep;
    j.map_proof_len = keep_len;
    cityproof_free(&j);
    cityproof_free(&t);
}

static void remove_leaf(cityproof_t *p, size_t i) {
    memmove(&p->leaves[i], &p->leaves[i + 1], (p->leaf_count - i - 1) * sizeof *p->leaves);
    p->leaf_count--;
}

static void insert_leaf(cityproof_t *p, size_t i, const qc_city_leaf_t *from) {
    qc_city_leaf_t leaf = *from, *l = &leaf; /* (from may point into p->leaves) */
    qc_city_leaf_t *n = realloc(p->leaves, (p->leaf_count + 1) * sizeof *n);
    assert_non_null(n);
    p->leaves = n;
    memmove(&n[i + 1], &n[i], (p->leaf_count - i) * sizeof *n);
    n[i] = *l;
    p->leaf_count++;
}

/* Tampering with jinan's 4..5 proof (leaves 2..6: endorse@2 | old@4 new@4 anchor@5 |
 * revoke@7, three in range, both brackets). `why` must contain `says` when non-NULL. */
static void expect_refused(const fx_t *f, const cityproof_t *p, const char *what,
                           const char *says) {
    cityproof_result_t res;
    char why[256] = "";
    if (verify(f, p, &res, why, sizeof why) == QC_OK) fail_msg("%s: still verifies", what);
    if (why[0] == '\0') fail_msg("%s: no reason given", what);
    if (says && strstr(why, says) == NULL) fail_msg("%s: \"%s\" lacks \"%s\"", what, why, says);
}

/* jinan's 4..5 proof, checked to be what the tampering cases expect. */
static void tamper_base(const fx_t *f, cityproof_t *base) {
    cityproof_result_t res;
    char why[256];
    make_proof(f, 0, 4, 5, base);
    assert_int_equal(base->first_index, 2);
    assert_int_equal(base->leaf_count, 5);
    assert_true(base->hash_count >= 2);
    assert_int_equal(verify(f, base, &res, why, sizeof why), QC_OK);
    assert_int_equal(res.first, 1);
    assert_int_equal(res.count, 3);
}

#define TAMPER(what, says, edit)                                                              \
    do {                                                                                      \
        copy_proof(&base, &p);                                                                \
        edit;                                                                                 \
        expect_refused(f, &p, what, says);                                                    \
        cityproof_free(&p);                                                                   \
    } while (0)

static void test_tampered_leaves_refused(void **state) {
    fx_t *f = *state;
    cityproof_t base, p;
    tamper_base(f, &base);

    TAMPER("an in-range leaf dropped", NULL, remove_leaf(&p, 2));
    TAMPER("the last in-range leaf dropped", NULL, remove_leaf(&p, 3));
    TAMPER("a leaf added", NULL, {
        qc_city_leaf_t extra = p.leaves[2];
        extra.digest.b[0] ^= 0xff;
        insert_leaf(&p, 3, &extra);
    });
    TAMPER("a leaf duplicated", NULL, insert_leaf(&p, 2, &p.leaves[2]));
    TAMPER("a digest changed", "do not give the log root", p.leaves[3].digest.b[5] ^= 1);
    TAMPER("a tx id changed", "do not give the log root", p.leaves[1].tx_id.b[0] ^= 1);
    TAMPER("an index changed", "do not give the log root", p.leaves[2].index = 0);
    TAMPER("a kind changed", "do not give the log root", p.leaves[3].kind = QC_CITY_ENDORSE);
    TAMPER("a kind out of range", "unknown kind", p.leaves[3].kind = 9);
    TAMPER("a height changed", "do not give the log root", p.leaves[3].height = 4);
    TAMPER("a height beyond H", "after the proof's block", p.leaves[4].height = H_TOP + 1);
    TAMPER("heights decreasing", "below the previous", p.leaves[3].height = 3);
    TAMPER("opening bracket missing", "does not bracket", {
        remove_leaf(&p, 0);
        p.first_index++;
    });
    TAMPER("closing bracket missing", "does not bracket", remove_leaf(&p, p.leaf_count - 1));
    TAMPER("an extra leaf before the bracket", "not its opening bracket", {
        insert_leaf(&p, 0, &f->city[0].ev[1]);
        p.first_index--;
    });
    TAMPER("an extra leaf after the bracket", "not its closing bracket",
           insert_leaf(&p, p.leaf_count, &f->city[0].ev[7]));
    TAMPER("first_index moved", NULL, p.first_index = 1);
    TAMPER("first_index past the log", "within the log", p.first_index = 8);
    TAMPER("no leaves", "within the log", p.leaf_count = 0);
    cityproof_free(&base);
}

static void test_tampered_head_range_refused(void **state) {
    fx_t *f = *state;
    cityproof_t base, p;
    cityproof_result_t res;
    char why[256];
    tamper_base(f, &base);
    TAMPER("log_size smaller", "log head at size", p.log_size--);
    TAMPER("log_size larger", "log head at size", p.log_size++);
    TAMPER("log_root changed", "log head at size", p.log_root.b[9] ^= 0x40);
    TAMPER("log_size 0", "empty city log", p.log_size = 0);
    TAMPER("a hash flipped", "do not give the log root", p.hashes[0].b[31] ^= 1);
    TAMPER("the last hash flipped", "do not give the log root",
           p.hashes[p.hash_count - 1].b[0] ^= 0x80);
    TAMPER("a hash missing", "do not complete", p.hash_count--);
    TAMPER("an extra hash", "do not complete", {
        p.hashes = realloc(p.hashes, (p.hash_count + 1) * sizeof *p.hashes);
        assert_non_null(p.hashes);
        p.hashes[p.hash_count++] = p.hashes[0];
    });
    TAMPER("hashes swapped", "do not give the log root", {
        qc_hash_t t = p.hashes[0];
        p.hashes[0] = p.hashes[1];
        p.hashes[1] = t;
    });
    TAMPER("from > to", "is not within", p.from_height = 6);
    TAMPER("to > H", "is not within", p.to_height = H_TOP + 1);
    TAMPER("from 0", "is not within", p.from_height = 0);
    TAMPER("range widened", "bracket", p.to_height = 7);
    TAMPER("range narrowed", "bracket", p.from_height = 5);
    TAMPER("another city", "log head at size", snprintf(p.city, sizeof p.city, "zibo"));
    TAMPER("an invalid city name", "not a valid member name",
           snprintf(p.city, sizeof p.city, "Jinan"));
    TAMPER("the state root changed", NULL, p.header.state_root.b[0] ^= 1);
    TAMPER("a commit signature flipped", NULL, p.cert.votes[1].sig.b[3] ^= 1);
    TAMPER("the map proof flipped", "state-map proof", p.map_proof[p.map_proof_len - 1] ^= 1);
    TAMPER("another chain id", NULL, snprintf(p.chain_id, sizeof p.chain_id, "other-chain"));
    TAMPER("another genesis named", "the genesis file given is", p.genesis_hash.b[0] ^= 1);
    /* the same proof against another genesis file */
    qc_hash_t other = f->v.genesis_hash;
    other.b[3] ^= 1;
    assert_int_equal(cityproof_verify(&base, VECTORS_CHAIN_ID, &other, &f->v.vs, &res, why,
                                      sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "the genesis file given is"));
    /* every bit of every hash and of the map proof */
    for (size_t i = 0; i < base.hash_count * 32 + base.map_proof_len; i++)
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *byte = i < base.hash_count * 32 ? &base.hashes[i / 32].b[i % 32]
                                                     : &base.map_proof[i - base.hash_count * 32];
            *byte ^= (uint8_t)(1u << bit);
            if (verify(f, &base, &res, why, sizeof why) == QC_OK)
                fail_msg("byte %zu bit %d flipped still verifies", i, bit);
            *byte ^= (uint8_t)(1u << bit);
        }
    assert_int_equal(verify(f, &base, &res, why, sizeof why), QC_OK);
    cityproof_free(&base);
}
#undef TAMPER

/* The parser: edits of the genuine JSON, each refused with a sentence naming the problem. */
static void test_parser_refusals(void **state) {
    fx_t *f = *state;
    cityproof_t p;
    make_proof(f, 0, 4, 5, &p);
    json_t *genuine = cityproof_to_json(&p);
    cityproof_free(&p);
    assert_non_null(genuine);
    static const struct {
        const char *key;
        const char *json; /* the new value; NULL: the member removed */
        const char *why;
    } cases[] = {
        {"qchain_city_log_proof", "2", "unsupported or missing city log proof version"},
        {"qchain_city_log_proof", NULL, "unsupported or missing city log proof version"},
        {"chain_id", "\"Bad Chain\"", "chain_id is not a valid chain id"},
        {"genesis_hash", "\"00\"", "\"genesis_hash\": expected 32 hex bytes"},
        {"city", "7", "\"city\" is missing"},
        {"city", "\"abcdefghijabcdefghijabcdefghijabc\"", "\"city\" is missing"},
        {"from_height", "-1", "\"from_height\" is missing or not a non-negative integer"},
        {"to_height", "\"3\"", "\"to_height\" is missing"},
        {"to_height", NULL, "\"to_height\" is missing"},
        {"log_size", "1.5", "\"log_size\" is missing"},
        {"log_root", NULL, "\"log_root\": expected 32 hex bytes"},
        {"first_index", "null", "\"first_index\" is missing"},
        {"header", "\"03\"", "header is not a valid canonical block header"},
        {"cert", "[]", "receipt field \"cert\" is missing or has the wrong type"},
        {"membership", "{}", "receipt field \"membership\" is missing or has the wrong type"},
        {"map_proof", "\"\"", "\"map_proof\" is missing or not hex"},
        {"map_proof", "\"zz\"", "\"map_proof\": expected hex"},
        {"map_proof", NULL, "\"map_proof\" is missing"},
        {"leaves", "{}", "\"leaves\" is missing or not an array"},
        {"leaves", "[1]", "leaf 0 is not a JSON object"},
        {"leaves",
         "[{\"height\":1,\"tx_id\":\"00\",\"index\":0,\"kind\":\"anchor\",\"digest\":\"00\"}]",
         "leaf 0: \"tx_id\" and \"digest\" must be 32 hex bytes"},
        {"hashes", "[\"00\"]", "hash 0: expected 32 hex bytes"},
        {"hashes", "7", "\"hashes\" is missing or not an array"},
        {"extra", "1", "city log proof has an unknown field \"extra\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_deep_copy(genuine);
        if (cases[i].json)
            json_object_set_new(j, cases[i].key, json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        else
            json_object_del(j, cases[i].key);
        char why[256] = "";
        cityproof_t out;
        if (cityproof_from_json(j, &out, why, sizeof why) != QC_ERR_INVALID)
            fail_msg("case %zu (%s) parsed", i, cases[i].key);
        if (strstr(why, cases[i].why) == NULL)
            fail_msg("case %zu (%s): \"%s\" does not say \"%s\"", i, cases[i].key, why,
                     cases[i].why);
        json_decref(j);
    }
    /* edits inside leaf 1 */
    static const struct {
        const char *key;
        const char *json;
        const char *why;
    } leaf_cases[] = {
        {"kind", "\"anchored\"", "\"kind\" is missing or not one of"},
        {"kind", NULL, "\"kind\" is missing"},
        {"index", "65536", "\"index\" is missing or not an integer 0..65535"},
        {"index", "-1", "\"index\" is missing"},
        {"height", "true", "\"height\" is missing"},
        {"digest", NULL, "\"digest\" must be 32 hex bytes"},
        {"note", "\"x\"", "leaf 1 has an unknown field \"note\""},
    };
    for (size_t i = 0; i < sizeof leaf_cases / sizeof leaf_cases[0]; i++) {
        json_t *j = json_deep_copy(genuine);
        json_t *leaf = json_array_get(json_object_get(j, "leaves"), 1);
        if (leaf_cases[i].json)
            json_object_set_new(leaf, leaf_cases[i].key,
                                json_loads(leaf_cases[i].json, JSON_DECODE_ANY, NULL));
        else
            json_object_del(leaf, leaf_cases[i].key);
        char why[256] = "";
        cityproof_t out;
        if (cityproof_from_json(j, &out, why, sizeof why) != QC_ERR_INVALID)
            fail_msg("leaf case %zu (%s) parsed", i, leaf_cases[i].key);
        if (strstr(why, leaf_cases[i].why) == NULL)
            fail_msg("leaf case %zu (%s): \"%s\" does not say \"%s\"", i, leaf_cases[i].key, why,
                     leaf_cases[i].why);
        json_decref(j);
    }
    /* too many hashes */
    json_t *j = json_deep_copy(genuine);
    json_t *hs = json_object_get(j, "hashes");
    while (json_array_size(hs) <= CITYPROOF_HASHES_MAX)
        json_array_append(hs, json_array_get(hs, 0));
    char why[256];
    cityproof_t out;
    assert_int_equal(cityproof_from_json(j, &out, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "at most 128 hashes"));
    json_decref(j);
    json_t *arr = json_array();
    assert_int_equal(cityproof_from_json(arr, &out, why, sizeof why), QC_ERR_INVALID);
    assert_string_equal(why, "a city log proof is a JSON object");
    json_decref(arr);
    json_decref(genuine);
}

/* Whole contents of a file (malloc'd, *len set), or NULL. */
static char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) return NULL;
    char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, fp) : 0;
    fclose(fp);
    return buf;
}

/* The valid fuzz seeds (tests/fuzz/corpus/cityproof/valid_*.json) are these proofs, byte for
 * byte: written to a scratch directory, each verifies and equals the committed file. With
 * QC_CITYPROOF_CORPUS=DIR they are written into DIR instead (to regenerate the seeds). */
static void test_write_corpus(void **state) {
    fx_t *f = *state;
    const char *dir = getenv("QC_CITYPROOF_CORPUS");
    char scratch[128] = "";
    if (dir == NULL) {
        assert_int_equal(tmpdir_make(scratch, sizeof scratch, "cityproof"), 0);
        dir = scratch;
    }
    static const struct { int city; uint64_t a, b; const char *name; } seeds[] = {
        {0, 4, 5, "valid_brackets.json"},
        {0, 1, H_TOP, "valid_whole.json"},
        {1, 4, 5, "valid_none_in_range.json"},
        {2, 1, H_TOP, "valid_empty_log.json"},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        cityproof_t p;
        make_proof(f, seeds[i].city, seeds[i].a, seeds[i].b, &p);
        json_t *j = cityproof_to_json(&p);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, seeds[i].name);
        assert_int_equal(json_dump_file(j, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER), 0);
        json_decref(j);
        cityproof_free(&p);
        /* the file as written verifies */
        json_error_t err;
        j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        assert_non_null(j);
        char why[256];
        cityproof_result_t res;
        assert_int_equal(cityproof_from_json(j, &p, why, sizeof why), QC_OK);
        if (verify(f, &p, &res, why, sizeof why) != QC_OK) fail_msg("%s: %s", path, why);
        json_decref(j);
        cityproof_free(&p);
        if (scratch[0] == '\0') continue;
        char committed[512];
        snprintf(committed, sizeof committed, "tests/fuzz/corpus/cityproof/%s", seeds[i].name);
        size_t got_len = 0, want_len = 0;
        char *got = slurp(path, &got_len), *want = slurp(committed, &want_len);
        assert_non_null(got);
        if (want == NULL) fail_msg("%s: cannot read (run from the repository root)", committed);
        if (got_len != want_len || memcmp(got, want, got_len) != 0)
            fail_msg("%s differs from the proof this test builds: regenerate it with "
                     "QC_CITYPROOF_CORPUS=tests/fuzz/corpus/cityproof", committed);
        free(got);
        free(want);
    }
    if (scratch[0] != '\0') assert_int_equal(tmpdir_remove(scratch), 0);
}

int main(void) {
    qc_log_set_level(QC_LOG_OFF);
    assert_int_equal(qc_crypto_init(), QC_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashing),
        cmocka_unit_test(test_range_root_limits),
        cmocka_unit_test(test_every_range_verifies),
        cmocka_unit_test(test_empty_log),
        cmocka_unit_test(test_tampered_leaves_refused),
        cmocka_unit_test(test_tampered_head_range_refused),
        cmocka_unit_test(test_parser_refusals),
        cmocka_unit_test(test_write_corpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
