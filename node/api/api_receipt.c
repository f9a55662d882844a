/* api_receipt.c - a receipt's membership history (docs/PROTOCOL.md §10.1) read from a store:
 * for every epoch from 1 to the receipt block's, the validator set, its first height and the
 * header and commit certificate of the block before it (whose next_validators_hash names the
 * set), so an auditor can walk from the genesis set to the set that certified the block. Apart
 * from api.c so tests can build it from a store they filled by hand. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills step st for the span (epoch, first_height) from s. */
static int build_step(store_t *s, const store_epoch_span_t *span, receipt_step_t *st) {
    if (span->first_height < 2) return QC_ERR_CORRUPT; /* epoch 0 alone starts at block 1 */
    st->first_height = span->first_height;
    int rc = store_validators(s, span->epoch, &st->vs);
    if (rc == QC_ERR_NOTFOUND) rc = QC_ERR_CORRUPT; /* listed in the history, so stored */
    if (rc != QC_OK) return rc;
    uint64_t switch_height = span->first_height - 1;
    rc = store_header_get(s, switch_height, &st->switch_header);
    if (rc != QC_OK) return rc;
    uint8_t *cert = NULL;
    size_t cert_len = 0;
    rc = store_block_raw(s, switch_height, NULL, NULL, &cert, &cert_len);
    if (rc != QC_OK) return rc;
    rc = qc_cert_decode(cert, cert_len, &st->switch_cert);
    free(cert);
    return rc == QC_OK ? QC_OK : QC_ERR_CORRUPT;
}

int api_receipt_membership(store_t *s, uint64_t epoch, receipt_step_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (epoch == 0) return QC_OK;
    if (epoch > RECEIPT_EPOCHS_MAX) return QC_ERR_TOOBIG;
    store_epoch_span_t *spans = calloc(STORE_EPOCHS_MAX, sizeof *spans);
    receipt_step_t *steps = calloc((size_t)epoch, sizeof *steps);
    size_t n = 0;
    int rc = spans && steps ? store_epochs(s, spans, STORE_EPOCHS_MAX, &n) : QC_ERR_NOMEM;
    /* spans[k] is epoch k: the history starts at the genesis epoch and counts up by one */
    if (rc == QC_OK && n <= epoch) rc = QC_ERR_NOTFOUND;
    for (uint64_t k = 1; rc == QC_OK && k <= epoch; k++) {
        if (spans[k].epoch != k || spans[k].first_height <= spans[k - 1].first_height)
            rc = QC_ERR_CORRUPT;
        else
            rc = build_step(s, &spans[k], &steps[k - 1]);
    }
    free(spans);
    if (rc != QC_OK) { free(steps); return rc; }
    *out = steps;
    *len = (size_t)epoch;
    return QC_OK;
}

int api_block_proof(store_t *s, uint64_t height, qc_header_t *header, qc_cert_t *cert,
                    receipt_step_t **membership, size_t *membership_len) {
    int rc = store_header_get(s, height, header);
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (rc == QC_OK) rc = store_block_raw(s, height, NULL, NULL, &raw, &raw_len);
    if (rc == QC_OK) rc = qc_cert_decode(raw, raw_len, cert) == QC_OK ? QC_OK : QC_ERR_CORRUPT;
    free(raw);
    if (rc == QC_OK) rc = api_receipt_membership(s, header->epoch, membership, membership_len);
    return rc;
}

int api_build_status_proof(store_t *s, const qc_hash_t *digest, statusproof_t *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->chain_id, sizeof out->chain_id, "%s", s->chain_id);
    out->genesis_hash = s->genesis_hash;
    out->digest = *digest;
    store_head_t head;
    store_head(s, &head);
    uint64_t height = head.height;
    if (height == 0) return QC_ERR_NOTFOUND; /* no block commits to a state root yet */
    smt_proof_t *p = malloc(sizeof *p);
    qc_recstat_t *st = malloc(sizeof *st);
    out->proof = malloc(SMT_PROOF_MAX_BYTES);
    int rc = p && st && out->proof ? QC_OK : QC_ERR_NOMEM;
    /* the proof, the status and the header are all of the head: no block is applied between
     * these reads (the loop thread runs them in one go) */
    if (rc == QC_OK) rc = store_state_prove(s, digest->b, p);
    if (rc == QC_OK) rc = smt_proof_encode(p, out->proof, SMT_PROOF_MAX_BYTES, &out->proof_len);
    if (rc == QC_OK) {
        rc = store_record_status(s, digest->b, st);
        out->anchored = rc == QC_OK;
        if (rc == QC_ERR_NOTFOUND) rc = QC_OK;
    }
    if (rc == QC_OK && out->anchored && (p->kind != SMT_PROOF_PRESENT)) rc = QC_ERR_CORRUPT;
    if (rc == QC_OK && !out->anchored && p->kind == SMT_PROOF_PRESENT) rc = QC_ERR_CORRUPT;
    if (rc == QC_OK && out->anchored) {
        out->status = malloc(QC_RECSTAT_BYTES_MAX);
        rc = out->status ? qc_recstat_encode(st, out->status, QC_RECSTAT_BYTES_MAX,
                                             &out->status_len)
                         : QC_ERR_NOMEM;
    }
    if (rc == QC_OK) rc = api_block_proof(s, height, &out->header, &out->cert, &out->membership,
                                          &out->membership_len);
    free(p);
    free(st);
    if (rc != QC_OK) statusproof_free(out);
    return rc;
}
