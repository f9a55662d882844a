/* api_receipt.c - a receipt's membership history (docs/PROTOCOL.md §10.1) read from a store:
 * for every epoch from 1 to the receipt block's, the validator set, its first height and the
 * header and commit certificate of the block before it (whose next_validators_hash names the
 * set), so an auditor can walk from the genesis set to the set that certified the block. Apart
 * from api.c so tests can build it from a store they filled by hand. */
#include "api.h"

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
