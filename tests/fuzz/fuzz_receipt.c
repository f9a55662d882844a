/* fuzz_receipt.c - libFuzzer target for the receipt parser and verifier (proto/receipt.c), the
 * untrusted input of `qchain verify`: bytes -> json_loadb (as cmd_verify reads a receipt) ->
 * receipt_from_json -> receipt_verify against the example genesis of docs/PROTOCOL.md §10.3
 * (tests/lib/receiptex), whose genuine receipts (epoch 0, and §10.4's across the switch to
 * epoch 1) are the seeds in tests/fuzz/corpus/receipt/.
 *
 * Oracle, besides the sanitizers: a failed parse or verification always gives a reason; a
 * parsed receipt re-encodes to JSON that parses back to the same receipt; and a receipt that
 * verifies names one of the example chain's genuine (log index, digest, height) triples -
 * anything else verifying would be a forged signature or a SHA-256 collision. */
#include <stdlib.h>
#include <string.h>

#include "receiptex.h"

static receiptex_t *ex;

static void init_once(void) {
    if (ex != NULL) return;
    ex = calloc(1, sizeof *ex);
    if (ex == NULL || receiptex_build(ex) != QC_OK) abort();
}

static bool same_receipt(const receipt_t *a, const receipt_t *b) {
    return strcmp(a->chain_id, b->chain_id) == 0 &&
           memcmp(&a->genesis_hash, &b->genesis_hash, sizeof a->genesis_hash) == 0 &&
           memcmp(&a->digest, &b->digest, sizeof a->digest) == 0 &&
           a->record_index == b->record_index && a->log_index == b->log_index &&
           a->tx.body_len == b->tx.body_len &&
           memcmp(a->tx.body, b->tx.body, a->tx.body_len) == 0 &&
           memcmp(&a->tx.sig, &b->tx.sig, sizeof a->tx.sig) == 0 &&
           memcmp(&a->header, &b->header, sizeof a->header) == 0 &&
           memcmp(&a->cert, &b->cert, sizeof a->cert) == 0 && a->tree_size == b->tree_size &&
           a->path_len == b->path_len &&
           memcmp(a->path, b->path, a->path_len * sizeof a->path[0]) == 0 &&
           a->membership_len == b->membership_len &&
           (a->membership_len == 0 ||
            memcmp(a->membership, b->membership, a->membership_len * sizeof *a->membership) == 0);
}

/* Does r claim a record the example chain really anchored, where it anchored it? */
static bool genuine(const receipt_t *r) {
    receipt_t g;
    if (r->log_index >= RECEIPTEX_LEAVES || receiptex_receipt(ex, r->log_index, &g) != QC_OK)
        return false;
    bool ok = memcmp(&g.digest, &r->digest, sizeof g.digest) == 0 &&
              g.header.height == r->header.height && g.record_index == r->record_index &&
              memcmp(&g.header, &r->header, sizeof g.header) == 0;
    receipt_free(&g);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_once();
    json_error_t err;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) return 0;
    receipt_t r, back;
    char why[512] = "";
    if (receipt_from_json(j, &r, why, sizeof why) != QC_OK) {
        if (why[0] == '\0') abort();
        json_decref(j);
        return 0;
    }
    json_decref(j);
    json_t *again = receipt_to_json(&r);
    if (again == NULL || receipt_from_json(again, &back, why, sizeof why) != QC_OK) abort();
    if (!same_receipt(&r, &back)) abort();
    receipt_free(&back);
    json_decref(again);
    receipt_result_t res;
    why[0] = '\0';
    int rc = receipt_verify(&r, VECTORS_CHAIN_ID, &ex->genesis.hash, &ex->v.vs, NULL, &res, why,
                            sizeof why);
    if (rc != QC_OK && why[0] == '\0') abort();
    /* jinan anchored every record of epoch 0, dezhou (index 4) the one of epoch 1 */
    uint32_t city = r.log_index >= RECEIPTEX_BLOCK2_LEAVES ? 4 : 0;
    if (rc == QC_OK && (!genuine(&r) || res.city != city || res.signers < 3)) abort();
    receipt_free(&r);
    return 0;
}
