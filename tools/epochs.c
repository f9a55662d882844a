/* epochs.c - the validator set of any epoch, reached from the genesis set by checking each
 * switch on the node's own data: a client trusts only the genesis, so it verifies that the
 * last block of every epoch names the genesis file's hash, is certified by the set before it
 * and names the next set's hash (docs/GOVERNANCE.md, "How a receipt verifies across epochs"). */
#include "client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCHS_TIMEOUT_MS 10000

/* One entry of /v1/members/history into vs (epoch, threshold, members in order). */
static int set_from_json(const json_t *e, qc_validator_set_t *vs, uint64_t *first_height) {
    memset(vs, 0, sizeof *vs);
    const json_t *members = json_object_get(e, "members");
    json_int_t epoch = json_integer_value(json_object_get(e, "epoch"));
    json_int_t first = json_integer_value(json_object_get(e, "first_height"));
    json_int_t thr = json_integer_value(json_object_get(e, "threshold"));
    size_t n = json_array_size(members);
    if (epoch < 0 || first < 1 || thr < 1 || n < 1 || n > QC_VALIDATORS_MAX) return QC_ERR_INVALID;
    vs->epoch = (uint64_t)epoch;
    vs->n = (uint32_t)n;
    vs->governance_threshold = (uint32_t)thr;
    *first_height = (uint64_t)first;
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(members, i);
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *k[3] = {json_string_value(json_object_get(m, "node_key")),
                            json_string_value(json_object_get(m, "seal_key")),
                            json_string_value(json_object_get(m, "admin_key"))};
        qc_member_t *mm = &vs->members[i];
        if (!name || !qc_member_name_valid(name) || !k[0] || !k[1] || !k[2] ||
            qc_hex_decode(mm->node_key.b, 32, k[0]) != QC_OK ||
            qc_hex_decode(mm->seal_key.b, 32, k[1]) != QC_OK ||
            qc_hex_decode(mm->admin_key.b, 32, k[2]) != QC_OK)
            return QC_ERR_INVALID;
        snprintf(mm->name, sizeof mm->name, "%s", name);
    }
    return QC_OK;
}

/* Checks that block `height` (from the node) is certified by *prev and names next's hash. */
static int check_switch(const char *api_url, const genesis_t *g, uint64_t height,
                        const qc_validator_set_t *prev, const qc_validator_set_t *next,
                        char *why, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/v1/blocks/%" PRIu64, height);
    long status;
    json_t *b = NULL;
    int rc = client_get(api_url, path, EPOCHS_TIMEOUT_MS, &status, &b, why, cap);
    if (rc != QC_OK) return rc;
    const char *canon = json_string_value(json_object_get(json_object_get(b, "header"), "canonical"));
    uint8_t raw[QC_HEADER_BYTES_MAX];
    size_t len = canon ? strlen(canon) / 2 : 0;
    qc_header_t h;
    qc_cert_t cert;
    char reason[256] = "";
    rc = status == 200 && canon && len <= sizeof raw && qc_hex_decode(raw, len, canon) == QC_OK &&
                 qc_header_decode(raw, len, &h) == QC_OK
             ? QC_OK : QC_ERR_INVALID;
    if (rc != QC_OK) snprintf(reason, sizeof reason, "no decodable header (HTTP %ld)", status);
    if (rc == QC_OK)
        rc = receipt_cert_from_json(json_object_get(b, "cert"), &cert, reason, sizeof reason);
    qc_hash_t bh, vh;
    if (rc == QC_OK) {
        qc_header_hash(&h, &bh);
        qc_validators_hash(prev, &vh);
        if (h.height != height || h.epoch != prev->epoch || cert.height != height ||
            memcmp(h.validators_hash.b, vh.b, 32) != 0) {
            snprintf(reason, sizeof reason, "it is not epoch %" PRIu64 "'s block %" PRIu64,
                     prev->epoch, height);
            rc = QC_ERR_INVALID;
        }
    }
    if (rc == QC_OK && memcmp(h.genesis_hash.b, g->hash.b, 32) != 0) {
        char got[65], want[65];
        snprintf(reason, sizeof reason, "it names genesis %s, the genesis file given is %s",
                 qc_hash_hex(got, &h.genesis_hash), qc_hash_hex(want, &g->hash));
        rc = QC_ERR_INVALID;
    }
    if (rc == QC_OK) rc = qc_cert_verify(&cert, g->chain_id, prev, &bh, reason, sizeof reason);
    if (rc == QC_OK) {
        qc_validators_hash(next, &vh);
        if (memcmp(h.next_validators_hash.b, vh.b, 32) != 0) {
            snprintf(reason, sizeof reason, "it does not certify epoch %" PRIu64 "'s member list",
                     next->epoch);
            rc = QC_ERR_INVALID;
        }
    }
    json_decref(b);
    if (rc != QC_OK)
        snprintf(why, cap, "the switch to epoch %" PRIu64 " (block %" PRIu64 "): %s", next->epoch,
                 height, reason);
    return rc;
}

int client_epoch_set(const char *api_url, const genesis_t *g, uint64_t epoch,
                     qc_validator_set_t *out, char *why, size_t cap) {
    *out = g->validators;
    if (epoch == 0) return QC_OK;
    long status;
    json_t *hist = NULL;
    int rc = client_get(api_url, "/v1/members/history", EPOCHS_TIMEOUT_MS, &status, &hist, why, cap);
    if (rc != QC_OK) return rc;
    const json_t *epochs = json_object_get(hist, "epochs");
    qc_validator_set_t *next = malloc(sizeof *next);
    rc = status == 200 && json_array_size(epochs) > epoch && next ? QC_OK : QC_ERR_NOTFOUND;
    if (rc != QC_OK)
        snprintf(why, cap, "the node's membership history does not reach epoch %" PRIu64 " (HTTP %ld)",
                 epoch, status);
    for (uint64_t e = 1; rc == QC_OK && e <= epoch; e++) {
        uint64_t first;
        rc = set_from_json(json_array_get(epochs, e), next, &first);
        if (rc != QC_OK || next->epoch != e || first < 2) {
            snprintf(why, cap, "the node's membership history entry %" PRIu64 " is malformed", e);
            rc = QC_ERR_INVALID;
            break;
        }
        rc = check_switch(api_url, g, first - 1, out, next, why, cap);
        if (rc == QC_OK) *out = *next;
    }
    free(next);
    json_decref(hist);
    return rc;
}
