/* api_life.c - JSON views of record statuses and lifecycle transactions for the API (see
 * api_life.h; field meanings in docs/API.md "Records"). */
#include "api_life.h"

#include "recstat.h"
#include "receipt.h"
#include "store.h"

#include <stdlib.h>

#define HEX(p, n) receipt_hex_json((p), (n))

const char *api_tx_type_name(uint16_t type) {
    switch (type) {
    case QC_TX_ANCHOR: return "anchor";
    case QC_TX_GOVERN: return "govern";
    case QC_TX_ENDORSE: return "endorse";
    case QC_TX_REVOKE: return "revoke";
    case QC_TX_SUPERSEDE: return "supersede";
    case QC_TX_SHARE: return "share";
    default: return "unknown";
    }
}

/* A code's name, or JSON null for a code without one. */
static json_t *name_or_null(const char *name) { return name ? json_string(name) : json_null(); }

void api_life_tx_fields(json_t *obj, const qc_tx_t *tx) {
    const qc_life_op_t *op = tx->life;
    if (op == NULL) return;
    json_object_set_new(obj, "digest", HEX(op->digest.b, 32));
    if (tx->type == QC_TX_ENDORSE) {
        json_object_set_new(obj, "purpose", json_integer(op->code));
        json_object_set_new(obj, "purpose_name", name_or_null(qc_purpose_name(op->code)));
        json_object_set_new(obj, "note", json_string(op->note)); /* UTF-8 by the parser */
    } else if (tx->type == QC_TX_REVOKE) {
        json_object_set_new(obj, "reason", json_integer(op->code));
        json_object_set_new(obj, "reason_name", name_or_null(qc_reason_name(op->code)));
    } else {
        json_object_set_new(obj, "new_digest", HEX(op->new_digest.b, 32));
    }
}

int api_life_status_fields(node_t *n, const qc_hash_t *digest, json_t *obj) {
    qc_recstat_t *st = malloc(sizeof *st);
    if (st == NULL) return QC_ERR_NOMEM;
    int rc = store_record_status(&n->store, digest->b, st);
    if (rc != QC_OK) { free(st); return rc; }
    json_object_set_new(obj, "state", json_string(qc_rec_state_name(st->state)));
    json_object_set_new(obj, "owner", json_string(st->owner));
    json_object_set_new(obj, "revoked", st->state != QC_REC_REVOKED ? json_null()
        : json_pack("{s:I, s:i, s:o, s:o}", "height", (json_int_t)st->state_height, "reason",
                    (int)st->reason, "reason_name", name_or_null(qc_reason_name(st->reason)),
                    "tx_id", HEX(st->state_tx_id.b, 32)));
    json_object_set_new(obj, "superseded_by", st->state != QC_REC_SUPERSEDED ? json_null()
        : json_pack("{s:o, s:I, s:o}", "digest", HEX(st->superseded_by.b, 32), "height",
                    (json_int_t)st->state_height, "tx_id", HEX(st->state_tx_id.b, 32)));
    json_t *sup = json_array();
    for (uint32_t i = 0; i < st->supersedes_count; i++)
        json_array_append_new(sup, HEX(st->supersedes[i].b, 32));
    json_object_set_new(obj, "supersedes", sup);
    json_t *ends = json_array();
    for (uint32_t i = 0; i < st->endorsement_count; i++) {
        const qc_endorsement_t *e = &st->endorsements[i];
        json_array_append_new(ends, json_pack("{s:s, s:I, s:i, s:o, s:o}", "city", e->city,
                                              "height", (json_int_t)e->height, "purpose",
                                              (int)e->purpose, "purpose_name",
                                              name_or_null(qc_purpose_name(e->purpose)),
                                              "tx_id", HEX(e->tx_id.b, 32)));
    }
    json_object_set_new(obj, "endorsements", ends);
    free(st);
    return QC_OK;
}
