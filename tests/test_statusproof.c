/* test_statusproof.c - status proofs (docs/PROTOCOL.md §12): the worked example of §12.4 is
 * what qchain_vectors --status prints, both example proofs verify against the example genesis
 * with the right findings, every flipped bit of the status, the map proof, the header and each
 * commit signature is refused, claims the proof does not support (a status for an absent
 * digest, absence for an anchored one, another digest's status) are refused, another genesis
 * file and a different document are refused, and the JSON parser refuses malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusproof.h"
#include "vectors.h"

#define DOC_PATH "docs/PROTOCOL.md"
#define EXAMPLE_HEADER_BYTES_MIN 300 /* the example header's canonical bytes: 333 */

typedef struct {
    vectors_t v;
    uint8_t absent[32];
} fx_t;

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL || vectors_build(&f->v) != QC_OK) return -1;
    memset(f->absent, VECTORS_ABSENT_BYTE, sizeof f->absent);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    vectors_free(&f->v);
    free(f);
    return 0;
}

/* Verifies sp against the vectors' genesis; returns the code, *why the sentence. */
static int verify(const fx_t *f, const statusproof_t *sp, const qc_hash_t *file,
                  statusproof_result_t *res, char *why, size_t why_cap) {
    return statusproof_verify(sp, VECTORS_CHAIN_ID, &f->v.genesis_hash, &f->v.vs, file, res, why,
                              why_cap);
}

static int verify_quiet(const fx_t *f, const statusproof_t *sp) {
    statusproof_result_t res;
    char why[256];
    int rc = verify(f, sp, NULL, &res, why, sizeof why);
    statusproof_result_free(&res);
    return rc;
}

/* A JSON round trip: what a client parses is what the node wrote. */
static void roundtrip(const statusproof_t *sp, statusproof_t *out) {
    json_t *j = statusproof_to_json(sp);
    assert_non_null(j);
    char why[256];
    if (statusproof_from_json(j, out, why, sizeof why) != QC_OK) fail_msg("reparse: %s", why);
    json_decref(j);
}

static void test_published_example(void **state) {
    fx_t *f = *state;
    char *printed = NULL;
    size_t plen = 0;
    FILE *mem = open_memstream(&printed, &plen);
    assert_non_null(mem);
    vectors_print_status(&f->v, mem);
    fclose(mem);
    uint8_t *doc;
    size_t dlen;
    assert_int_equal(qc_file_read(DOC_PATH, 1u << 22, &doc, &dlen), QC_OK);
    char *text = malloc(dlen + 1);
    assert_non_null(text);
    memcpy(text, doc, dlen);
    text[dlen] = '\0';
    if (strstr(text, printed) == NULL)
        fail_msg("%s §12.4 differs from build/bin/qchain_vectors --status; regenerate it",
                 DOC_PATH);
    free(text);
    free(doc);
    free(printed);
}

static void test_examples_verify(void **state) {
    fx_t *f = *state;
    statusproof_t sp, back;
    statusproof_result_t res;
    char why[256];
    /* example 1: record 0 is valid, owned by jinan, as of block 1 */
    assert_int_equal(vectors_status_proof(&f->v, f->v.tx.records[0].digest, &sp), QC_OK);
    roundtrip(&sp, &back);
    qc_hash_t file;
    memcpy(file.b, f->v.tx.records[0].digest, 32);
    if (verify(f, &back, &file, &res, why, sizeof why) != QC_OK) fail_msg("example 1: %s", why);
    assert_true(res.anchored);
    assert_string_equal(res.status->owner, "jinan");
    assert_int_equal(res.status->first_height, 1);
    assert_int_equal(res.status->first_log_index, 0);
    assert_int_equal(res.status->state, QC_REC_VALID);
    assert_int_equal(res.block.height, 1);
    assert_int_equal(res.block.epoch, 0);
    assert_int_equal(res.block.signers, 3);
    assert_int_equal(res.block.quorum, 3);
    assert_int_equal(res.block.members, 4);
    statusproof_result_free(&res);
    /* a different document: refused */
    file.b[0] ^= 1;
    assert_int_equal(verify(f, &back, &file, &res, why, sizeof why), QC_ERR_INVALID);
    assert_string_equal(why, "document digest does not match the proof's digest");
    statusproof_free(&back);
    /* the status claimed absent: refused */
    statusproof_t absent_claim = sp;
    absent_claim.anchored = false;
    assert_int_equal(verify(f, &absent_claim, NULL, &res, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "the digest absent"));
    /* the same status and proof for another digest: refused (the status is not its) */
    statusproof_t other = sp;
    other.digest.b[31] ^= 1;
    assert_int_equal(verify(f, &other, NULL, &res, why, sizeof why), QC_ERR_INVALID);
    assert_string_equal(why, "the status is not a canonical record status of this digest");
    /* example 2: 77..77 never anchored */
    statusproof_t sp2;
    assert_int_equal(vectors_status_proof(&f->v, f->absent, &sp2), QC_OK);
    roundtrip(&sp2, &back);
    if (verify(f, &back, NULL, &res, why, sizeof why) != QC_OK) fail_msg("example 2: %s", why);
    assert_false(res.anchored);
    assert_null(res.status);
    assert_int_equal(res.block.height, 1);
    statusproof_result_free(&res);
    statusproof_free(&back);
    /* record 0's status presented as the absent digest's, with the absent digest's proof */
    statusproof_t forged = sp2;
    forged.anchored = true;
    forged.status = sp.status;
    forged.status_len = sp.status_len;
    assert_int_equal(verify(f, &forged, NULL, &res, why, sizeof why), QC_ERR_INVALID);
    /* record 0's proof for the absent digest: refused */
    forged = sp2;
    forged.proof = sp.proof;
    forged.proof_len = sp.proof_len;
    assert_int_equal(verify(f, &forged, NULL, &res, why, sizeof why), QC_ERR_INVALID);
    statusproof_free(&sp);
    statusproof_free(&sp2);
}

/* Every flipped bit of buf[0..len) makes sp fail verification (or fail to parse, for the
 * header). Returns the number of flips tried. */
static size_t flip_all(const fx_t *f, statusproof_t *sp, uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            if (verify_quiet(f, sp) == QC_OK) fail_msg("byte %zu bit %d flipped still verifies", i, bit);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    assert_int_equal(verify_quiet(f, sp), QC_OK);
    return 8 * len;
}

static void test_every_flip_refused(void **state) {
    fx_t *f = *state;
    for (int example = 0; example < 2; example++) {
        statusproof_t sp;
        const uint8_t *d = example == 0 ? f->v.tx.records[0].digest : f->absent;
        assert_int_equal(vectors_status_proof(&f->v, d, &sp), QC_OK);
        size_t flips = 0;
        if (sp.anchored) flips += flip_all(f, &sp, sp.status, sp.status_len);
        flips += flip_all(f, &sp, sp.proof, sp.proof_len);
        /* (an absence proof rightly holds for every digest whose key shares its path: flipping
         * the absent digest can give another digest that is absent too, proven by it) */
        if (sp.anchored) flips += flip_all(f, &sp, sp.digest.b, 32);
        for (uint32_t i = 0; i < sp.cert.vote_count; i++)
            flips += flip_all(f, &sp, sp.cert.votes[i].sig.b, QC_SIG_BYTES);
        /* the header, through its canonical bytes as the JSON carries them */
        uint8_t hdr[QC_HEADER_BYTES_MAX];
        size_t hlen;
        assert_int_equal(qc_header_encode(&sp.header, hdr, sizeof hdr, &hlen), QC_OK);
        qc_header_t orig = sp.header;
        for (size_t i = 0; i < hlen; i++)
            for (int bit = 0; bit < 8; bit++) {
                hdr[i] ^= (uint8_t)(1u << bit);
                if (qc_header_decode(hdr, hlen, &sp.header) == QC_OK &&
                    verify_quiet(f, &sp) == QC_OK)
                    fail_msg("example %d: header byte %zu bit %d flipped still verifies", example + 1,
                             i, bit);
                hdr[i] ^= (uint8_t)(1u << bit);
                flips++;
            }
        sp.header = orig;
        assert_int_equal(verify_quiet(f, &sp), QC_OK);
        assert_true(flips > 8 * (3 * 64 + EXAMPLE_HEADER_BYTES_MIN));
        statusproof_free(&sp);
    }
}

static void test_other_genesis_refused(void **state) {
    fx_t *f = *state;
    statusproof_t sp;
    assert_int_equal(vectors_status_proof(&f->v, f->v.tx.records[1].digest, &sp), QC_OK);
    qc_hash_t other = f->v.genesis_hash;
    other.b[0] ^= 1;
    statusproof_result_t res;
    char why[300];
    assert_int_equal(statusproof_verify(&sp, VECTORS_CHAIN_ID, &other, &f->v.vs, NULL, &res, why,
                                        sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "the genesis file given is"));
    assert_int_equal(statusproof_verify(&sp, "another-chain", &f->v.genesis_hash, &f->v.vs, NULL,
                                        &res, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "the genesis is for \"another-chain\""));
    statusproof_free(&sp);
}

/* The parser: each case edits the genuine JSON of example 1 and expects a refusal naming it. */
static void test_parser_refusals(void **state) {
    fx_t *f = *state;
    statusproof_t sp;
    assert_int_equal(vectors_status_proof(&f->v, f->v.tx.records[0].digest, &sp), QC_OK);
    json_t *genuine = statusproof_to_json(&sp);
    statusproof_free(&sp);
    assert_non_null(genuine);
    static const struct {
        const char *key;
        const char *json; /* the new value; NULL: the member removed */
        const char *why;
    } cases[] = {
        {"qchain_status_proof", "2", "unsupported or missing status proof version"},
        {"qchain_status_proof", NULL, "unsupported or missing status proof version"},
        {"chain_id", "\"Bad Chain\"", "status proof chain_id is not a valid chain id"},
        {"genesis_hash", "\"00\"", "status proof field \"genesis_hash\": expected 32 hex bytes"},
        {"digest", "7", "status proof field \"digest\": expected 32 hex bytes"},
        {"header", "\"0\"", "receipt field \"header\""},
        {"header", "\"03\"", "header is not a valid canonical block header"},
        {"cert", "[]", "receipt field \"cert\" is missing or has the wrong type"},
        {"membership", "{}", "receipt field \"membership\" is missing or has the wrong type"},
        {"status", "5", "status proof field \"status\" is missing or neither hex nor null"},
        {"status", NULL, "status proof field \"status\" is missing or neither hex nor null"},
        {"status", "\"abc\"", "status proof field \"status\" is missing or not hex"},
        {"status", "\"zz\"", "status proof field \"status\": expected hex"},
        {"proof", "\"\"", "status proof field \"proof\" is missing or not hex"},
        {"proof", NULL, "status proof field \"proof\" is missing or not hex"},
        {"extra", "1", "status proof has an unknown field \"extra\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_deep_copy(genuine);
        if (cases[i].json) json_object_set_new(j, cases[i].key, json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        else json_object_del(j, cases[i].key);
        char why[256] = "";
        statusproof_t out;
        if (statusproof_from_json(j, &out, why, sizeof why) != QC_ERR_INVALID)
            fail_msg("case %zu (%s) parsed", i, cases[i].key);
        if (strstr(why, cases[i].why) == NULL)
            fail_msg("case %zu (%s): \"%s\" does not say \"%s\"", i, cases[i].key, why, cases[i].why);
        json_decref(j);
    }
    char why[64];
    json_t *arr = json_array();
    assert_int_equal(statusproof_from_json(arr, &sp, why, sizeof why), QC_ERR_INVALID);
    assert_string_equal(why, "a status proof is a JSON object");
    json_decref(arr);
    json_decref(genuine);
}

/* A status as of an earlier block (PROTOCOL §12.5): first anchored at 3, endorsed at 5 and
 * twice at 7, revoked (or superseded) at 9. Each projection is a canonical status. */
static void expect_as_of(const qc_recstat_t *st, uint64_t h, uint8_t state, uint8_t ends) {
    qc_recstat_t out;
    assert_int_equal(qc_recstat_as_of(st, h, &out), QC_OK);
    assert_int_equal(out.state, state);
    assert_int_equal(out.endorsement_count, ends);
    assert_int_equal(out.supersedes_count, st->supersedes_count);
    if (state == QC_REC_VALID) {
        assert_int_equal(out.state_height, 0);
        assert_int_equal(out.reason, 0);
    } else {
        assert_int_equal(out.state_height, st->state_height);
    }
    uint8_t enc[QC_RECSTAT_BYTES_MAX];
    size_t len;
    qc_recstat_t back;
    assert_int_equal(qc_recstat_encode(&out, enc, sizeof enc, &len), QC_OK);
    assert_int_equal(qc_recstat_decode(enc, len, &back), QC_OK);
    uint8_t enc2[QC_RECSTAT_BYTES_MAX];
    size_t len2;
    assert_int_equal(qc_recstat_encode(&back, enc2, sizeof enc2, &len2), QC_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(enc, enc2, len);
}

static void test_status_as_of(void **state) {
    (void)state;
    qc_recstat_t st;
    uint8_t digest[32];
    memset(digest, 0x42, sizeof digest);
    qc_hash_t tx;
    memset(tx.b, 0x11, sizeof tx.b);
    qc_recstat_fresh(&st, digest, "jinan", 3, &tx, 7);
    st.supersedes_count = 1;
    memset(st.supersedes[0].b, 0x55, 32);
    const char *cities[3] = {"zibo", "taian", "dezhou"};
    const uint64_t heights[3] = {5, 7, 7};
    for (int i = 0; i < 3; i++) {
        qc_endorsement_t *e = &st.endorsements[i];
        memset(e, 0, sizeof *e);
        snprintf(e->city, sizeof e->city, "%s", cities[i]);
        e->height = heights[i];
        e->purpose = (uint16_t)(1 + i);
        memset(e->tx_id.b, 0x20 + i, 32);
    }
    st.endorsement_count = 3;
    st.state = QC_REC_REVOKED;
    st.state_height = 9;
    memset(st.state_tx_id.b, 0x33, 32);
    st.reason = 2;
    qc_recstat_t out;
    assert_int_equal(qc_recstat_as_of(&st, 2, &out), QC_ERR_NOTFOUND); /* not anchored yet */
    expect_as_of(&st, 3, QC_REC_VALID, 0);
    expect_as_of(&st, 4, QC_REC_VALID, 0);
    expect_as_of(&st, 5, QC_REC_VALID, 1);
    expect_as_of(&st, 6, QC_REC_VALID, 1);
    expect_as_of(&st, 7, QC_REC_VALID, 3);
    expect_as_of(&st, 8, QC_REC_VALID, 3);
    expect_as_of(&st, 9, QC_REC_REVOKED, 3);
    expect_as_of(&st, UINT64_MAX, QC_REC_REVOKED, 3);
    /* as of its own block a status is itself, byte for byte */
    uint8_t a[QC_RECSTAT_BYTES_MAX], b[QC_RECSTAT_BYTES_MAX];
    size_t alen, blen;
    assert_int_equal(qc_recstat_as_of(&st, 9, &out), QC_OK);
    assert_int_equal(qc_recstat_encode(&st, a, sizeof a, &alen), QC_OK);
    assert_int_equal(qc_recstat_encode(&out, b, sizeof b, &blen), QC_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    /* superseded at 9: valid before, with no successor named */
    st.state = QC_REC_SUPERSEDED;
    st.reason = 0;
    memset(st.superseded_by.b, 0x66, 32);
    expect_as_of(&st, 8, QC_REC_VALID, 3);
    expect_as_of(&st, 9, QC_REC_SUPERSEDED, 3);
    assert_int_equal(qc_recstat_as_of(&st, 8, &out), QC_OK);
    qc_hash_t zero = {{0}};
    assert_memory_equal(out.superseded_by.b, zero.b, 32);
    /* in place */
    assert_int_equal(qc_recstat_as_of(&st, 6, &st), QC_OK);
    assert_int_equal(st.state, QC_REC_VALID);
    assert_int_equal(st.endorsement_count, 1);
}

int main(void) {
    qc_log_set_level(QC_LOG_OFF);
    assert_int_equal(qc_crypto_init(), QC_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_example),
        cmocka_unit_test(test_examples_verify),
        cmocka_unit_test(test_every_flip_refused),
        cmocka_unit_test(test_other_genesis_refused),
        cmocka_unit_test(test_parser_refusals),
        cmocka_unit_test(test_status_as_of),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
