/* receipt.h - a receipt: the offline proof that a record digest was anchored by a member city
 * in block H and that a quorum of the consortium committed that block. It holds the signed
 * transaction, the block header, the block's commit certificate, the record's inclusion proof
 * in the record log at the header's log size, and the membership history needed to check the
 * certificate from genesis. JSON form and the verification algorithm: docs/PROTOCOL.md §10. */
#ifndef QC_RECEIPT_H
#define QC_RECEIPT_H

#include <jansson.h>

#include "fmt.h"
#include "merkle.h"

#define RECEIPT_VERSION 1
#define RECEIPT_EPOCHS_MAX 1024  /* membership steps (epoch switches) one receipt may carry */

/* One step of a receipt's membership history (docs/PROTOCOL.md §10.1): the validator set vs
 * of epoch vs.epoch, in force from block first_height on, and the header and commit
 * certificate of block first_height - 1, the last block of the previous epoch, whose
 * next_validators_hash names vs (so the previous set's quorum certified the new one). */
typedef struct {
    uint64_t first_height;
    qc_validator_set_t vs;
    qc_header_t switch_header;
    qc_cert_t switch_cert;
} receipt_step_t;

typedef struct {
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_hash_t genesis_hash;
    qc_hash_t digest;            /* the anchored record digest */
    uint16_t record_index;       /* its position in the transaction */
    uint64_t log_index;          /* its leaf index in the record log */
    qc_tx_t tx;                  /* owned */
    qc_header_t header;
    qc_cert_t cert;
    uint64_t tree_size;          /* == header.log_size */
    qc_hash_t path[MERKLE_PROOF_MAX];
    size_t path_len;
    receipt_step_t *membership;  /* owned (malloc'd): epochs 1..header.epoch in order; NULL
                                  * when the block is in the genesis epoch */
    size_t membership_len;       /* <= RECEIPT_EPOCHS_MAX */
} receipt_t;

/* What a valid receipt establishes. */
typedef struct {
    uint32_t city;               /* validator index of the anchoring city */
    char city_name[QC_MEMBER_NAME_MAX + 1];
    uint64_t height;
    uint64_t time_ms;
    uint32_t signers;            /* distinct valid commit signatures */
    uint32_t quorum;
    uint32_t members;            /* of the block's epoch */
    uint64_t epoch;              /* the block's epoch (city is an index into its set) */
} receipt_result_t;

void receipt_free(receipt_t *r);
/* JSON helpers shared with the API: a lowercase hex string; a certificate object
 * {epoch, height, view, block_hash, votes: [{validator, sig}]}. New references, NULL on OOM. */
json_t *receipt_hex_json(const uint8_t *p, size_t n);
json_t *receipt_cert_json(const qc_cert_t *c);
/* Strict parse of a certificate object in the receipt_cert_json form (the API's blocks and
 * checkpoint carry one). QC_OK, or QC_ERR_INVALID with a sentence in why. */
int receipt_cert_from_json(const json_t *j, qc_cert_t *cert, char *why, size_t why_cap);
/* JSON form (new reference; NULL on allocation failure). */
json_t *receipt_to_json(const receipt_t *r);
/* Strict parse of the JSON form: every field present with the right type and size, no unknown
 * fields. On error a sentence in why; *r needs no freeing then. */
int receipt_from_json(const json_t *j, receipt_t *r, char *why, size_t why_cap);

/* The membership array of the JSON form (new reference; NULL on allocation failure). */
json_t *receipt_membership_json(const receipt_step_t *m, size_t n);
/* Strict parse of the "header" (hex), "cert" and "membership" members of object j, as a
 * receipt carries them (and a status proof, statusproof.h). *membership is malloc'd (free it;
 * NULL when empty). QC_OK, or QC_ERR_INVALID / QC_ERR_NOMEM with a sentence in why. */
int receipt_block_from_json(const json_t *j, qc_header_t *header, qc_cert_t *cert,
                            receipt_step_t **membership, size_t *membership_len, char *why,
                            size_t why_cap);
/* §10.2 steps 1-4 for any certified block: the claimed chain id and genesis hash, the
 * header's genesis hash, the membership history walked from genesis_vs to the header's
 * epoch, the header's validators hash and the certificate's quorum. QC_OK with *vs_out the
 * block's validator set (genesis_vs or a step's, borrowed) and out's block fields (height,
 * time, signers, quorum, members, epoch; not the city) filled, else an error and why. */
int receipt_verify_block(const char *chain_id, const qc_hash_t *genesis_hash,
                         const qc_validator_set_t *genesis_vs, const char *claimed_chain_id,
                         const qc_hash_t *claimed_genesis_hash, const qc_header_t *header,
                         const qc_cert_t *cert, const receipt_step_t *membership,
                         size_t membership_len, const qc_validator_set_t **vs_out,
                         receipt_result_t *out, char *why, size_t why_cap);

/* Verifies r against the chain's genesis (chain id, genesis hash, epoch-0 validator set),
 * walking r's membership history from the genesis set to the block's epoch (§10.2). The
 * receipt's genesis_hash, its header's and every switch header's must equal genesis_hash
 * (the hash of the genesis file the verifier holds); a mismatch names both hashes, so why
 * needs room for about 256 bytes.
 * If file_digest is non-NULL it must equal the anchored digest. QC_OK and *out filled, or an
 * error and a sentence for a person in why (e.g. "signature by zibo's node key is invalid",
 * "5 valid signatures, quorum is 6", "document digest does not match"). */
int receipt_verify(const receipt_t *r, const char *chain_id, const qc_hash_t *genesis_hash,
                   const qc_validator_set_t *genesis_validators, const qc_hash_t *file_digest,
                   receipt_result_t *out, char *why, size_t why_cap);

#endif
