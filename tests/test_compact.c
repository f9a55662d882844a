/* test_compact.c - compact proposals (node/net/compact.c): a block named by transaction ids is
 * rebuilt exactly from the transactions a backup holds; a missing one, or a held one with
 * another signature, sends the backup for the whole body; anything malformed is refused; and
 * the compact form is a fraction of the block's bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "exec.h"
#include "testkeys.h"
#include "wire.pb-c.h"

#define CHAIN "compact-test"
#define N 40

static qc_validator_set_t g_vs;
static qc_hash_t g_genesis;
static rlog_t g_log0;

typedef struct {
    qc_tx_t txs[N + 1];
    bool held[N + 1];
} pool_t;

static const qc_tx_t *lookup(void *ctx, const qc_hash_t *id) {
    pool_t *p = ctx;
    for (int i = 0; i <= N; i++)
        if (p->held[i] && memcmp(p->txs[i].id.b, id->b, 32) == 0) return &p->txs[i];
    return NULL;
}

static void make_tx(qc_tx_t *tx, uint32_t member, uint64_t nonce, const char *chain) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_txb_t b;
    qc_hash_t d;
    memset(d.b, (int)nonce, 32);
    d.b[31] = (uint8_t)member;
    assert_int_equal(qc_txb_init(&b, chain, &pk, nonce, 100), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", "compact", NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &sk, tx), QC_OK);
}

/* A block of n of the pool's transactions on the genesis, and its digest. */
static void make_block(pool_t *p, uint32_t n, qc_block_t *b, qc_hash_t *digest) {
    const qc_tx_t *ptrs[N];
    for (uint32_t i = 0; i < n; i++) ptrs[i] = &p->txs[i];
    exec_parent_t parent = {CHAIN, &g_genesis, &g_vs, 0, {{0}}, 2000000, &g_log0, NULL, NULL};
    rlog_t log1;
    assert_int_equal(exec_build(&parent, ptrs, n, 2000000, 0, 0, b, &log1, NULL, NULL), QC_OK);
    qc_header_hash(&b->header, digest);
}

static void pool_init(pool_t *p) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i <= N; i++) {
        make_tx(&p->txs[i], (uint32_t)i % 9, 100 + (uint64_t)i, CHAIN);
        p->held[i] = true;
    }
}

static void pool_free(pool_t *p) {
    for (int i = 0; i <= N; i++) qc_tx_free(&p->txs[i]);
}

static void assert_same_block(const qc_block_t *a, const qc_block_t *b) {
    uint8_t *ra, *rb;
    size_t la, lb;
    assert_int_equal(qc_block_encode(a, &ra, &la), QC_OK);
    assert_int_equal(qc_block_encode(b, &rb, &lb), QC_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(ra, rb, la);
    free(ra);
    free(rb);
}

/* Every transaction held: the very block, and the compact form is ids, not bodies. */
static void test_rebuild_exact(void **state) {
    (void)state;
    pool_t *p = malloc(sizeof *p);
    pool_init(p);
    for (uint32_t n = 0; n <= N; n += 20) {
        qc_block_t b, got;
        qc_hash_t digest;
        make_block(p, n, &b, &digest);
        uint8_t *c;
        size_t clen;
        assert_int_equal(compact_encode(&b, &c, &clen), QC_OK);
        uint32_t missing = 99;
        assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_OK);
        assert_int_equal(missing, 0);
        assert_same_block(&b, &got);
        uint8_t *raw;
        size_t rlen;
        assert_int_equal(qc_block_encode(&b, &raw, &rlen), QC_OK);
        /* a header, then 36 bytes a transaction (32-byte id and its framing) */
        assert_true(clen <= QC_HEADER_BYTES_MAX + 36 * (size_t)n);
        if (n > 0) assert_true(clen * 3 < rlen);
        free(raw);
        free(c);
        qc_block_free(&got);
        qc_block_free(&b);
    }
    pool_free(p);
    free(p);
}

/* Missing ones are counted, all of them; a held one with another signature (a signer that
 * signed its body twice) gives another tx root: the body is fetched, nothing rebuilt. */
static void test_missing_and_other_signature(void **state) {
    (void)state;
    pool_t *p = malloc(sizeof *p);
    pool_init(p);
    qc_block_t b, got;
    qc_hash_t digest;
    make_block(p, N, &b, &digest);
    uint8_t *c;
    size_t clen;
    assert_int_equal(compact_encode(&b, &c, &clen), QC_OK);
    p->held[3] = p->held[17] = p->held[39] = false;
    uint32_t missing = 0;
    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_ERR_NOTFOUND);
    assert_int_equal(missing, 3);
    assert_null(got.txs);
    p->held[3] = p->held[17] = p->held[39] = true;

    /* the backup holds the id under another signature (a signer can sign one body twice;
     * a flipped byte stands for that here, the lookup's transactions counting as verified) */
    qc_tx_t other;
    assert_int_equal(qc_tx_clone(&p->txs[5], &other), QC_OK);
    other.sig.b[0] ^= 1; /* the pool's transactions are trusted as verified: only roots differ */
    qc_tx_t keep = p->txs[5];
    p->txs[5] = other;
    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_ERR_NOTFOUND);
    assert_int_equal(missing, 0);
    p->txs[5] = keep;
    qc_tx_free(&other);

    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_OK);
    qc_block_free(&got);
    free(c);
    qc_block_free(&b);
    pool_free(p);
    free(p);
}

/* A backup lacking some: it learns which (compact_rebuild_ids), asks for them, and the answer
 * (compact_encode_with: those whole) rebuilds the block with nothing else held anew; the
 * answer is smaller than the block, and compact_digest reads the digest it claims. */
static void test_missing_ones_answered(void **state) {
    (void)state;
    pool_t *p = malloc(sizeof *p);
    pool_init(p);
    qc_block_t b, got;
    qc_hash_t digest, claimed;
    make_block(p, N, &b, &digest);
    uint8_t *c;
    size_t clen;
    assert_int_equal(compact_encode(&b, &c, &clen), QC_OK);
    assert_int_equal(compact_digest(c, clen, &claimed), QC_OK);
    assert_memory_equal(claimed.b, digest.b, 32);
    p->held[2] = p->held[9] = p->held[33] = false;
    qc_hash_t ids[2];
    uint32_t missing;
    assert_int_equal(compact_rebuild_ids(c, clen, &digest, lookup, p, &got, &missing, ids, 2),
                     QC_ERR_NOTFOUND);
    assert_int_equal(missing, 3); /* all counted, the first two listed */
    assert_memory_equal(ids[0].b, p->txs[2].id.b, 32);
    assert_memory_equal(ids[1].b, p->txs[9].id.b, 32);
    free(c);

    qc_hash_t want[3] = {p->txs[2].id, p->txs[9].id, p->txs[33].id};
    assert_int_equal(compact_encode_with(&b, want, 3, &c, &clen), QC_OK);
    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_OK);
    assert_same_block(&b, &got);
    qc_block_free(&got);
    uint8_t *raw;
    size_t rlen;
    assert_int_equal(qc_block_encode(&b, &raw, &rlen), QC_OK);
    assert_true(clen * 2 < rlen);
    free(raw);
    free(c);
    static const uint8_t junk[] = {1, 2, 3};
    assert_int_equal(compact_digest(junk, sizeof junk, &claimed), QC_ERR_INVALID);
    qc_block_free(&b);
    pool_free(p);
    free(p);
}

/* Packs a hand-made CompactBlock: header of b, and per transaction mode 'i' (id), 't' (whole
 * tx), 'b' (both), 'n' (neither), 's' (a 31-byte id). */
static void pack(const qc_block_t *b, const char *modes, uint8_t **out, size_t *len) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    assert_int_equal(qc_header_encode(&b->header, hdr, sizeof hdr, &hlen), QC_OK);
    size_t n = strlen(modes);
    Qchain__Wire__CompactTx *e = calloc(n + 1, sizeof *e);
    Qchain__Wire__CompactTx **ptrs = calloc(n + 1, sizeof *ptrs);
    uint8_t **bodies = calloc(n + 1, sizeof *bodies);
    for (size_t i = 0; i < n; i++) {
        qchain__wire__compact_tx__init(&e[i]);
        ptrs[i] = &e[i];
        const qc_tx_t *tx = &b->txs[i];
        if (modes[i] == 'i' || modes[i] == 'b' || modes[i] == 's') {
            e[i].id.data = (uint8_t *)tx->id.b;
            e[i].id.len = modes[i] == 's' ? 31 : 32;
        }
        if (modes[i] == 't' || modes[i] == 'b') {
            assert_int_equal(qc_tx_encode(tx, &bodies[i], &e[i].tx.len), QC_OK);
            e[i].tx.data = bodies[i];
        }
    }
    Qchain__Wire__CompactBlock m = QCHAIN__WIRE__COMPACT_BLOCK__INIT;
    m.header.data = hdr;
    m.header.len = hlen;
    m.n_txs = n;
    m.txs = ptrs;
    *len = qchain__wire__compact_block__get_packed_size(&m);
    *out = malloc(*len + 1);
    qchain__wire__compact_block__pack(&m, *out);
    for (size_t i = 0; i < n; i++) free(bodies[i]);
    free(bodies);
    free(ptrs);
    free(e);
}

/* Whole transactions may stand beside ids (one the backup lacks, say); everything malformed
 * is QC_ERR_INVALID with nothing kept. */
static void test_mixed_and_malformed(void **state) {
    (void)state;
    pool_t *p = malloc(sizeof *p);
    pool_init(p);
    qc_block_t b, got;
    qc_hash_t digest;
    make_block(p, 4, &b, &digest);
    uint8_t *c;
    size_t clen;
    uint32_t missing;
    p->held[1] = false;
    pack(&b, "itii", &c, &clen);
    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_OK);
    assert_same_block(&b, &got);
    qc_block_free(&got);
    free(c);

    static const char *const bad[] = {"itib", "itin", "itis", "iti", "itiii"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        qc_block_t b5 = b;
        qc_tx_t five[5];
        if (strlen(bad[k]) == 5) { /* one entry more than the header counts */
            memcpy(five, b.txs, 4 * sizeof *five);
            five[4] = p->txs[10];
            b5.txs = five;
        }
        pack(&b5, bad[k], &c, &clen);
        assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_ERR_INVALID);
        assert_null(got.txs);
        free(c);
    }
    /* another digest; bytes that are no CompactBlock */
    pack(&b, "iiii", &c, &clen);
    qc_hash_t wrong = digest;
    wrong.b[0] ^= 1;
    assert_int_equal(compact_rebuild(c, clen, &wrong, lookup, p, &got, &missing), QC_ERR_INVALID);
    c[0] ^= 0xff;
    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_ERR_INVALID);
    free(c);
    static const uint8_t junk[] = {0x0a, 0x05, 1, 2, 3};
    assert_int_equal(compact_rebuild(junk, sizeof junk, &digest, lookup, p, &got, &missing), QC_ERR_INVALID);

    /* a whole transaction of another chain in the entries */
    qc_tx_t alien;
    make_tx(&alien, 0, 7, "another-chain");
    qc_block_t ba = b;
    qc_tx_t four[4];
    memcpy(four, b.txs, sizeof four);
    four[2] = alien;
    ba.txs = four;
    pack(&ba, "iiti", &c, &clen);
    assert_int_equal(compact_rebuild(c, clen, &digest, lookup, p, &got, &missing), QC_ERR_INVALID);
    free(c);
    qc_tx_free(&alien);
    qc_block_free(&b);
    pool_free(p);
    free(p);
}

static int setup(void **state) {
    (void)state;
    assert_int_equal(qc_crypto_init(), QC_OK);
    testkeys_validators(&g_vs, 9, 0);
    memset(g_genesis.b, 0x67, sizeof g_genesis.b);
    memset(&g_log0, 0, sizeof g_log0);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebuild_exact),
        cmocka_unit_test(test_missing_and_other_signature),
        cmocka_unit_test(test_mixed_and_malformed),
        cmocka_unit_test(test_missing_ones_answered),
    };
    return cmocka_run_group_tests_name("compact", tests, setup, NULL);
}
