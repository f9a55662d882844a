/* statusproof.h - a status proof: the offline proof of what the chain says about a record
 * digest as of block H (its record status: owner, first anchoring, valid / revoked /
 * superseded, endorsements), or that it was never anchored as of H. It holds the status (or
 * nothing), the state-map proof (smt.h) against the state root in block H's header, that
 * header's commit certificate and the membership history needed to check the certificate from
 * genesis. JSON form and verification: docs/PROTOCOL.md §12. */
#ifndef QC_STATUSPROOF_H
#define QC_STATUSPROOF_H

#include <jansson.h>

#include "receipt.h"
#include "recstat.h"
#include "smt.h"

#define STATUSPROOF_VERSION 1

typedef struct statusproof {
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_hash_t genesis_hash;
    qc_hash_t digest;
    qc_header_t header;          /* block H: its state_root is what the proof leads to */
    qc_cert_t cert;
    receipt_step_t *membership;  /* owned (malloc'd), as in receipt_t */
    size_t membership_len;
    bool anchored;               /* a status is present (else the proof is of absence) */
    uint8_t *status;             /* owned: its canonical encoding (PROTOCOL §5.1) */
    size_t status_len;
    uint8_t *proof;              /* owned: the state-map proof (PROTOCOL §11.2) */
    size_t proof_len;
} statusproof_t;

/* What a valid status proof establishes. */
typedef struct {
    bool anchored;
    qc_recstat_t *status;        /* owned (malloc'd) when anchored; statusproof_result_free */
    receipt_result_t block;      /* block H, as of which: height, time, signers, quorum,
                                    members, epoch (its city fields are unused) */
} statusproof_result_t;

void statusproof_free(statusproof_t *sp);
void statusproof_result_free(statusproof_result_t *res);
/* JSON form (new reference; NULL on allocation failure). */
json_t *statusproof_to_json(const statusproof_t *sp);
/* Strict parse: every field present with the right type and size, no unknown fields. On error
 * a sentence in why; *sp needs no freeing then. */
int statusproof_from_json(const json_t *j, statusproof_t *sp, char *why, size_t why_cap);
/* Verifies sp against the chain's genesis as a receipt's block is (§10.2 steps 1-4), then
 * (§12.2) that the status decodes and is the digest's, and that the state-map proof shows
 * map_key(digest) mapped to the status's hash, or absent, under the header's state root.
 * If file_digest is non-NULL it must equal sp's digest. QC_OK with *out filled (free with
 * statusproof_result_free), or an error and a sentence for a person in why (about 256 bytes). */
int statusproof_verify(const statusproof_t *sp, const char *chain_id,
                       const qc_hash_t *genesis_hash, const qc_validator_set_t *genesis_vs,
                       const qc_hash_t *file_digest, statusproof_result_t *out, char *why,
                       size_t why_cap);

#endif
