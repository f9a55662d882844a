/* fuzz_statusproof.c - libFuzzer target for the status-proof parser and verifier
 * (proto/statusproof.c), the untrusted input of `qchain status-proof --proof` and of a
 * receipt's "status" section: bytes -> json_loadb -> statusproof_from_json ->
 * statusproof_verify against the §8 test vectors' chain (the example genesis of PROTOCOL.md
 * §10.3), whose two worked proofs of §12.4 are the seeds in tests/fuzz/corpus/statusproof/
 * (written by `qchain_vectors --seeds DIR`).
 *
 * Oracle, besides the sanitizers: a failed parse or verification always gives a reason; a
 * parsed proof re-encodes to JSON that parses back to the same proof; and a proof that
 * verifies says what the vectors' block 1 really holds: a status only for one of its two
 * records, equal to that record's fresh status, and absence only for other digests. */
#include <stdlib.h>
#include <string.h>

#include "statusproof.h"
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
static bool same_proof(const statusproof_t *a, const statusproof_t *b) {
    json_t *ja = statusproof_to_json(a), *jb = statusproof_to_json(b);
    char *sa = ja ? json_dumps(ja, JSON_COMPACT) : NULL, *sb = jb ? json_dumps(jb, JSON_COMPACT) : NULL;
    if (sa == NULL || sb == NULL) abort();
    bool same = strcmp(sa, sb) == 0;
    free(sa);
    free(sb);
    json_decref(ja);
    json_decref(jb);
    return same;
}

/* Is the verified finding true of the vectors' block 1? */
static bool truthful(const statusproof_t *sp, const statusproof_result_t *res) {
    for (uint16_t i = 0; i < v->tx.record_count; i++) {
        if (memcmp(v->tx.records[i].digest, sp->digest.b, 32) != 0) continue;
        if (!res->anchored) return false;
        statusproof_t genuine;
        if (vectors_status_proof(v, sp->digest.b, &genuine) != QC_OK) abort();
        bool ok = genuine.status_len == sp->status_len &&
                  memcmp(genuine.status, sp->status, sp->status_len) == 0;
        statusproof_free(&genuine);
        return ok;
    }
    return !res->anchored;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t err;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) return 0;
    statusproof_t sp, back;
    char why[512] = "";
    int rc = statusproof_from_json(j, &sp, why, sizeof why);
    json_decref(j);
    if (rc != QC_OK) {
        if (why[0] == '\0') abort(); /* every refusal has a reason */
        return 0;
    }
    json_t *again = statusproof_to_json(&sp);
    if (again == NULL) abort();
    if (statusproof_from_json(again, &back, why, sizeof why) != QC_OK || !same_proof(&sp, &back))
        abort();
    json_decref(again);
    statusproof_free(&back);
    statusproof_result_t res;
    why[0] = '\0';
    rc = statusproof_verify(&sp, VECTORS_CHAIN_ID, &v->genesis_hash, &v->vs, NULL, &res, why,
                            sizeof why);
    if (rc != QC_OK && why[0] == '\0') abort();
    if (rc == QC_OK && !truthful(&sp, &res)) abort(); /* a lie verified */
    if (rc == QC_OK) statusproof_result_free(&res);
    statusproof_free(&sp);
    return 0;
}
