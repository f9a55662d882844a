/* api_life.h - the API's views of the record lifecycle (docs/RECORDS.md): a record's status
 * fields for GET /v1/records/{digest}, and the fields of an ENDORSE, REVOKE or SUPERSEDE
 * transaction for the block and transaction views. */
#ifndef QC_API_LIFE_H
#define QC_API_LIFE_H

#include <jansson.h>

#include "api.h"

/* The type name of a transaction: "anchor", "govern", "endorse", "revoke", "supersede",
 * "share". */
const char *api_tx_type_name(uint16_t type);

/* Adds tx's lifecycle fields to obj (nothing for other types): ENDORSE digest, purpose,
 * purpose_name, note; REVOKE digest, reason, reason_name; SUPERSEDE digest, new_digest. */
void api_life_tx_fields(json_t *obj, const qc_tx_t *tx);

/* Adds digest's status after the head to obj: state, owner, revoked, superseded_by,
 * supersedes, endorsements. QC_OK, QC_ERR_NOTFOUND (never anchored: nothing added), or the
 * store's error. */
int api_life_status_fields(node_t *n, const qc_hash_t *digest, json_t *obj);

#endif
