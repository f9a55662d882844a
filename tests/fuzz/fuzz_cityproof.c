/* fuzz_cityproof.c - libFuzzer target for the city log proof parser and verifier
 * (proto/cityproof.c), the untrusted input of an auditor's completeness check: bytes ->
 * json_loadb -> cityproof_from_json -> cityproof_verify against the §8 test vectors' chain
 * (the example genesis of PROTOCOL.md §10.3). The seeds in tests/fuzz/corpus/cityproof/ are
 * valid proofs written by tests/test_cityproof.c (QC_CITYPROOF_CORPUS=DIR), for a block 8 the
 * vectors' validators certified, plus mutations of them.
 *
 * Oracle, besides the sanitizers: a failed parse or verification always gives a reason; a
 * parsed proof re-encodes to JSON that parses back to the same proof; and a proof that
 * verifies names an in-range run of its own leaves that holds exactly its leaves with
 * from_height <= height <= to_height, with at most one leaf on each side of it. */
#include <stdlib.h>
#include <string.h>

#include "cityproof.h"
#include "vectors.h"

static vectors_t *v; /* the §8 vectors, built once before the first input */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    v = calloc(1, sizeof *v);
    if (v == NULL || vectors_build(v) != QC_OK) abort();
    return 0;
}

/* Two proofs are the same when their JSON forms are (the encoder writes every field). */
static bool same_proof(const cityproof_t *a, const cityproof_t *b) {
    json_t *ja = cityproof_to_json(a), *jb = cityproof_to_json(b);
    char *sa = ja ? json_dumps(ja, JSON_COMPACT) : NULL;
    char *sb = jb ? json_dumps(jb, JSON_COMPACT) : NULL;
    if (sa == NULL || sb == NULL) abort();
    bool same = strcmp(sa, sb) == 0;
    free(sa);
    free(sb);
    json_decref(ja);
    json_decref(jb);
    return same;
}

/* Is the verified finding consistent with the proof's own leaves? */
static bool consistent(const cityproof_t *p, const cityproof_result_t *r) {
    if (r->first > 1 || r->first > p->leaf_count || r->count > p->leaf_count - r->first ||
        p->leaf_count - r->first - r->count > 1)
        return false;
    for (size_t i = 0; i < p->leaf_count; i++) {
        bool in = p->leaves[i].height >= p->from_height && p->leaves[i].height <= p->to_height;
        if (in != (i >= r->first && i < r->first + r->count)) return false;
    }
    return p->log_size > 0 || (p->leaf_count == 0 && r->count == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t err;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) return 0;
    cityproof_t p, back;
    char why[512] = "";
    int rc = cityproof_from_json(j, &p, why, sizeof why);
    json_decref(j);
    if (rc != QC_OK) {
        if (why[0] == '\0') abort(); /* every refusal has a reason */
        return 0;
    }
    json_t *again = cityproof_to_json(&p);
    if (again == NULL) abort();
    if (cityproof_from_json(again, &back, why, sizeof why) != QC_OK || !same_proof(&p, &back))
        abort();
    json_decref(again);
    cityproof_free(&back);
    cityproof_result_t res;
    why[0] = '\0';
    rc = cityproof_verify(&p, VECTORS_CHAIN_ID, &v->genesis_hash, &v->vs, &res, why, sizeof why);
    if (rc != QC_OK && why[0] == '\0') abort();
    if (rc == QC_OK && !consistent(&p, &res)) abort(); /* a finding its leaves contradict */
    if (rc == QC_OK && p.leaf_count > 0) {
        /* anchoring is read from the in-range leaves only */
        const qc_city_leaf_t *l = &p.leaves[0];
        bool want = false;
        for (size_t i = res.first; i < res.first + res.count; i++)
            want |= p.leaves[i].kind == QC_CITY_ANCHOR &&
                    memcmp(p.leaves[i].digest.b, l->digest.b, 32) == 0;
        if (cityproof_anchored(&p, &res, &l->digest) != want) abort();
    }
    cityproof_free(&p);
    return 0;
}
