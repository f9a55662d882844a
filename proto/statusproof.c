/* statusproof.c - status proofs (statusproof.h): JSON form and offline verification. */
#include "statusproof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

void statusproof_free(statusproof_t *sp) {
    free(sp->membership);
    free(sp->status);
    free(sp->proof);
    memset(sp, 0, sizeof *sp);
}

void statusproof_result_free(statusproof_result_t *res) {
    free(res->status);
    memset(res, 0, sizeof *res);
}

json_t *statusproof_to_json(const statusproof_t *sp) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    if (qc_header_encode(&sp->header, hdr, sizeof hdr, &hlen) != QC_OK) return NULL;
    json_t *membership = receipt_membership_json(sp->membership, sp->membership_len);
    if (membership == NULL) return NULL;
    json_t *status = sp->anchored ? receipt_hex_json(sp->status, sp->status_len) : json_null();
    return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "qchain_status_proof",
                     STATUSPROOF_VERSION, "chain_id", sp->chain_id, "genesis_hash",
                     receipt_hex_json(sp->genesis_hash.b, 32), "digest",
                     receipt_hex_json(sp->digest.b, 32), "header", receipt_hex_json(hdr, hlen),
                     "cert", receipt_cert_json(&sp->cert), "membership", membership, "status",
                     status, "proof", receipt_hex_json(sp->proof, sp->proof_len));
}

/* A hex string member of j of at most max bytes into a malloc'd buffer (exactly n when
 * n > 0, into out). false with why on a missing member, wrong type, bad hex or size. */
static bool hex_member(const json_t *j, const char *key, size_t max, uint8_t **alloc,
                       size_t *len, char *why, size_t why_cap) {
    const json_t *v = json_object_get(j, key);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || n % 2 != 0 || n / 2 > max || n == 0) {
        WHY("status proof field \"%s\" is missing or not hex of 1..%zu bytes", key, max);
        return false;
    }
    *alloc = malloc(n / 2);
    if (*alloc == NULL || qc_hex_decode(*alloc, n / 2, s) != QC_OK) {
        WHY("status proof field \"%s\": expected hex", key);
        free(*alloc);
        *alloc = NULL;
        return false;
    }
    *len = n / 2;
    return true;
}

static bool hash_member(const json_t *j, const char *key, qc_hash_t *out, char *why,
                        size_t why_cap) {
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v) || qc_hex_decode(out->b, 32, json_string_value(v)) != QC_OK) {
        WHY("status proof field \"%s\": expected 32 hex bytes", key);
        return false;
    }
    return true;
}

int statusproof_from_json(const json_t *j, statusproof_t *sp, char *why, size_t why_cap) {
    memset(sp, 0, sizeof *sp);
    static const char *const keys[] = {"qchain_status_proof", "chain_id", "genesis_hash",
                                       "digest", "header", "cert", "membership", "status",
                                       "proof", NULL};
    if (!json_is_object(j)) { WHY("a status proof is a JSON object"); return QC_ERR_INVALID; }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)j, key, val) {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++) known = strcmp(keys[i], key) == 0;
        if (!known) { WHY("status proof has an unknown field \"%s\"", key); return QC_ERR_INVALID; }
    }
    const json_t *ver = json_object_get(j, "qchain_status_proof");
    if (!json_is_integer(ver) || json_integer_value(ver) != STATUSPROOF_VERSION) {
        WHY("unsupported or missing status proof version");
        return QC_ERR_INVALID;
    }
    const json_t *cid = json_object_get(j, "chain_id");
    if (!json_is_string(cid) || !qc_chain_id_valid(json_string_value(cid))) {
        WHY("status proof chain_id is not a valid chain id");
        return QC_ERR_INVALID;
    }
    snprintf(sp->chain_id, sizeof sp->chain_id, "%s", json_string_value(cid));
    if (!hash_member(j, "genesis_hash", &sp->genesis_hash, why, why_cap) ||
        !hash_member(j, "digest", &sp->digest, why, why_cap))
        return QC_ERR_INVALID;
    int rc = receipt_block_from_json(j, &sp->header, &sp->cert, &sp->membership,
                                     &sp->membership_len, why, why_cap);
    if (rc != QC_OK) return rc;
    const json_t *st = json_object_get(j, "status");
    bool ok = true;
    if (json_is_null(st)) {
        sp->anchored = false;
    } else if (json_is_string(st)) {
        sp->anchored = true;
        ok = hex_member(j, "status", QC_RECSTAT_BYTES_MAX, &sp->status, &sp->status_len, why,
                        why_cap);
    } else {
        WHY("status proof field \"status\" is missing or neither hex nor null");
        ok = false;
    }
    if (ok) ok = hex_member(j, "proof", SMT_PROOF_MAX_BYTES, &sp->proof, &sp->proof_len, why,
                            why_cap);
    if (!ok) {
        statusproof_free(sp);
        return QC_ERR_INVALID;
    }
    return QC_OK;
}

int statusproof_verify(const statusproof_t *sp, const char *chain_id,
                       const qc_hash_t *genesis_hash, const qc_validator_set_t *genesis_vs,
                       const qc_hash_t *file_digest, statusproof_result_t *out, char *why,
                       size_t why_cap) {
    memset(out, 0, sizeof *out);
    const qc_validator_set_t *vs = NULL;
    int rc = receipt_verify_block(chain_id, genesis_hash, genesis_vs, sp->chain_id,
                                  &sp->genesis_hash, &sp->header, &sp->cert, sp->membership,
                                  sp->membership_len, &vs, &out->block, why, why_cap);
    if (rc != QC_OK) return rc;
    if (file_digest && memcmp(file_digest->b, sp->digest.b, 32) != 0) {
        WHY("document digest does not match the proof's digest");
        return QC_ERR_INVALID;
    }
    qc_hash_t key, value;
    smt_map_key(&key, sp->digest.b);
    if (sp->anchored) {
        out->status = malloc(sizeof *out->status);
        if (out->status == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
        if (qc_recstat_decode(sp->status, sp->status_len, out->status) != QC_OK ||
            memcmp(out->status->digest.b, sp->digest.b, 32) != 0) {
            WHY("the status is not a canonical record status of this digest");
            statusproof_result_free(out);
            return QC_ERR_INVALID;
        }
        if (out->status->first_height > sp->header.height) {
            WHY("the status names a first anchoring after the proof's block");
            statusproof_result_free(out);
            return QC_ERR_INVALID;
        }
        qc_recstat_enc_hash(sp->status, sp->status_len, &value);
    }
    if (smt_verify(&sp->header.state_root, &key, sp->anchored ? &value : NULL, sp->proof,
                   sp->proof_len) != QC_OK) {
        WHY("the state-map proof does not lead to the block's state root with %s",
            sp->anchored ? "this status" : "the digest absent");
        statusproof_result_free(out);
        return QC_ERR_INVALID;
    }
    out->anchored = sp->anchored;
    return QC_OK;
}
