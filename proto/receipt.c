/* receipt.c - receipt JSON encoding, strict decoding and offline verification. */
#include "receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

void receipt_free(receipt_t *r) {
    qc_tx_free(&r->tx);
    memset(r, 0, sizeof *r);
}

json_t *receipt_hex_json(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 1);
    if (s == NULL) return NULL;
    qc_hex_encode(s, p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

json_t *receipt_cert_json(const qc_cert_t *c) {
    json_t *votes = json_array();
    for (uint32_t i = 0; votes && i < c->vote_count; i++)
        json_array_append_new(votes, json_pack("{s:I, s:o}", "validator",
                                               (json_int_t)c->votes[i].validator, "sig",
                                               receipt_hex_json(c->votes[i].sig.b, QC_SIG_BYTES)));
    return json_pack("{s:I, s:I, s:I, s:o, s:o}", "epoch", (json_int_t)c->epoch, "height",
                     (json_int_t)c->height, "view", (json_int_t)c->view, "block_hash",
                     receipt_hex_json(c->block_hash.b, 32), "votes", votes);
}

json_t *receipt_to_json(const receipt_t *r) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    if (qc_header_encode(&r->header, hdr, sizeof hdr, &hlen) != QC_OK) return NULL;
    json_t *path = json_array();
    for (size_t i = 0; path && i < r->path_len; i++)
        json_array_append_new(path, receipt_hex_json(r->path[i].b, 32));
    return json_pack(
        "{s:i, s:s, s:o, s:{s:o, s:i, s:I}, s:{s:o, s:o}, s:o, s:o, s:{s:I, s:o}, s:[]}",
        "qchain_receipt", RECEIPT_VERSION, "chain_id", r->chain_id, "genesis_hash",
        receipt_hex_json(r->genesis_hash.b, 32), "record", "digest",
        receipt_hex_json(r->digest.b, 32), "tx_record_index", (int)r->record_index, "log_index",
        (json_int_t)r->log_index, "tx", "body", receipt_hex_json(r->tx.body, r->tx.body_len),
        "sig", receipt_hex_json(r->tx.sig.b, QC_SIG_BYTES), "header", receipt_hex_json(hdr, hlen),
        "cert", receipt_cert_json(&r->cert), "inclusion", "tree_size", (json_int_t)r->tree_size,
        "path", path, "membership");
}

/* ---------------------------------------------------------------- strict parsing */

typedef struct {
    char *why;
    size_t why_cap;
    bool bad;
} jp_t;

static const json_t *jp_get(jp_t *p, const json_t *obj, const char *key, json_type type) {
    if (p->bad) return NULL;
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (v == NULL || json_typeof(v) != type) {
        snprintf(p->why, p->why_cap, "receipt field \"%s\" is missing or has the wrong type", key);
        p->bad = true;
        return NULL;
    }
    return v;
}

static uint64_t jp_uint(jp_t *p, const json_t *obj, const char *key, uint64_t max) {
    const json_t *v = jp_get(p, obj, key, JSON_INTEGER);
    if (v == NULL) return 0;
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max) {
        snprintf(p->why, p->why_cap, "receipt field \"%s\" is out of range", key);
        p->bad = true;
        return 0;
    }
    return (uint64_t)x;
}

/* Decodes a hex string field of exactly n bytes (n > 0), or of any length up to max into a
 * malloc'd buffer when out_alloc is given. */
static void jp_hex(jp_t *p, const json_t *obj, const char *key, uint8_t *out, size_t n) {
    const json_t *v = jp_get(p, obj, key, JSON_STRING);
    if (v == NULL) return;
    if (qc_hex_decode(out, n, json_string_value(v)) != QC_OK) {
        snprintf(p->why, p->why_cap, "receipt field \"%s\": expected %zu hex bytes", key, n);
        p->bad = true;
    }
}

static uint8_t *jp_hex_alloc(jp_t *p, const json_t *obj, const char *key, size_t max, size_t *n) {
    const json_t *v = jp_get(p, obj, key, JSON_STRING);
    if (v == NULL) return NULL;
    size_t len = json_string_length(v);
    uint8_t *buf = len % 2 == 0 && len / 2 <= max ? malloc(len / 2 + 1) : NULL;
    if (buf == NULL || qc_hex_decode(buf, len / 2, json_string_value(v)) != QC_OK) {
        snprintf(p->why, p->why_cap, "receipt field \"%s\": expected hex, at most %zu bytes", key, max);
        p->bad = true;
        free(buf);
        return NULL;
    }
    *n = len / 2;
    return buf;
}

static bool only_keys(jp_t *p, const json_t *obj, const char *const *keys, const char *where) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool known = false;
        for (size_t i = 0; keys[i]; i++) known = known || strcmp(k, keys[i]) == 0;
        if (!known && !p->bad) {
            snprintf(p->why, p->why_cap, "receipt has an unknown field \"%s\" in %s", k, where);
            p->bad = true;
        }
    }
    return !p->bad;
}

static void parse_cert(jp_t *p, const json_t *c, qc_cert_t *cert) {
    static const char *const keys[] = {"epoch", "height", "view", "block_hash", "votes", NULL};
    if (!only_keys(p, c, keys, "cert")) return;
    cert->epoch = jp_uint(p, c, "epoch", INT64_MAX);
    cert->height = jp_uint(p, c, "height", INT64_MAX);
    cert->view = jp_uint(p, c, "view", INT64_MAX);
    jp_hex(p, c, "block_hash", cert->block_hash.b, 32);
    const json_t *votes = jp_get(p, c, "votes", JSON_ARRAY);
    if (votes == NULL) return;
    if (json_array_size(votes) > QC_VALIDATORS_MAX) {
        snprintf(p->why, p->why_cap, "receipt certificate has too many votes");
        p->bad = true;
        return;
    }
    for (size_t i = 0; i < json_array_size(votes) && !p->bad; i++) {
        const json_t *v = json_array_get(votes, i);
        static const char *const vkeys[] = {"validator", "sig", NULL};
        if (!only_keys(p, v, vkeys, "cert.votes")) return;
        cert->votes[i].validator = (uint32_t)jp_uint(p, v, "validator", QC_VALIDATORS_MAX - 1);
        jp_hex(p, v, "sig", cert->votes[i].sig.b, QC_SIG_BYTES);
        cert->vote_count = (uint32_t)i + 1;
    }
}

int receipt_cert_from_json(const json_t *j, qc_cert_t *cert, char *why, size_t why_cap) {
    memset(cert, 0, sizeof *cert);
    char dummy[8];
    jp_t p = {why ? why : dummy, why ? why_cap : sizeof dummy, false};
    if (!json_is_object(j)) { WHY("a certificate is a JSON object"); return QC_ERR_INVALID; }
    parse_cert(&p, j, cert);
    return p.bad ? QC_ERR_INVALID : QC_OK;
}

static void parse_inclusion(jp_t *p, const json_t *inc, receipt_t *r) {
    static const char *const keys[] = {"tree_size", "path", NULL};
    if (!only_keys(p, inc, keys, "inclusion")) return;
    r->tree_size = jp_uint(p, inc, "tree_size", INT64_MAX);
    const json_t *path = jp_get(p, inc, "path", JSON_ARRAY);
    if (path == NULL) return;
    if (json_array_size(path) > MERKLE_PROOF_MAX) {
        snprintf(p->why, p->why_cap, "receipt inclusion path is too long");
        p->bad = true;
        return;
    }
    for (size_t i = 0; i < json_array_size(path) && !p->bad; i++) {
        const json_t *h = json_array_get(path, i);
        if (!json_is_string(h) || qc_hex_decode(r->path[i].b, 32, json_string_value(h)) != QC_OK) {
            snprintf(p->why, p->why_cap, "receipt inclusion path entry %zu is not a 32-byte hex hash", i);
            p->bad = true;
        }
        r->path_len = i + 1;
    }
}

int receipt_from_json(const json_t *j, receipt_t *r, char *why, size_t why_cap) {
    memset(r, 0, sizeof *r);
    char dummy[8];
    jp_t p = {why ? why : dummy, why ? why_cap : sizeof dummy, false};
    static const char *const keys[] = {"qchain_receipt", "chain_id", "genesis_hash", "record", "tx",
                                       "header", "cert", "inclusion", "membership", NULL};
    if (!json_is_object(j)) { WHY("a receipt is a JSON object"); return QC_ERR_INVALID; }
    if (!only_keys(&p, j, keys, "the receipt")) return QC_ERR_INVALID;
    if (jp_uint(&p, j, "qchain_receipt", 1000) != RECEIPT_VERSION && !p.bad) {
        WHY("unsupported receipt version");
        return QC_ERR_INVALID;
    }
    const json_t *cid = jp_get(&p, j, "chain_id", JSON_STRING);
    if (cid && qc_chain_id_valid(json_string_value(cid)))
        snprintf(r->chain_id, sizeof r->chain_id, "%s", json_string_value(cid));
    else if (!p.bad) { WHY("receipt chain_id is not a valid chain id"); return QC_ERR_INVALID; }
    jp_hex(&p, j, "genesis_hash", r->genesis_hash.b, 32);
    const json_t *rec = jp_get(&p, j, "record", JSON_OBJECT);
    static const char *const rkeys[] = {"digest", "tx_record_index", "log_index", NULL};
    if (rec && only_keys(&p, rec, rkeys, "record")) {
        jp_hex(&p, rec, "digest", r->digest.b, 32);
        r->record_index = (uint16_t)jp_uint(&p, rec, "tx_record_index", QC_TX_RECORDS_MAX - 1);
        r->log_index = jp_uint(&p, rec, "log_index", INT64_MAX);
    }
    const json_t *tx = jp_get(&p, j, "tx", JSON_OBJECT);
    static const char *const tkeys[] = {"body", "sig", NULL};
    size_t body_len = 0;
    uint8_t *body = NULL;
    qc_sig_t sig;
    if (tx && only_keys(&p, tx, tkeys, "tx")) {
        body = jp_hex_alloc(&p, tx, "body", QC_TX_BODY_BYTES_MAX, &body_len);
        jp_hex(&p, tx, "sig", sig.b, QC_SIG_BYTES);
    }
    size_t hlen = 0;
    uint8_t *hdr = jp_hex_alloc(&p, j, "header", QC_HEADER_BYTES_MAX, &hlen);
    const json_t *cert = jp_get(&p, j, "cert", JSON_OBJECT);
    if (cert) parse_cert(&p, cert, &r->cert);
    const json_t *inc = jp_get(&p, j, "inclusion", JSON_OBJECT);
    if (inc) parse_inclusion(&p, inc, r);
    const json_t *mem = jp_get(&p, j, "membership", JSON_ARRAY);
    if (mem && json_array_size(mem) != 0 && !p.bad) {
        WHY("receipt carries membership changes; this verifier knows only the genesis epoch");
        p.bad = true;
    }
    if (!p.bad && qc_header_decode(hdr, hlen, &r->header) != QC_OK) {
        WHY("receipt header is not a valid canonical block header");
        p.bad = true;
    }
    if (!p.bad && qc_tx_parse(body, body_len, &sig, &r->tx) != QC_OK) {
        WHY("receipt transaction body is not a valid canonical transaction");
        p.bad = true;
    }
    free(body);
    free(hdr);
    if (p.bad) { receipt_free(r); return QC_ERR_INVALID; }
    return QC_OK;
}

/* ---------------------------------------------------------------- verification */

int receipt_verify(const receipt_t *r, const char *chain_id, const qc_hash_t *genesis_hash,
                   const qc_validator_set_t *vs, const qc_hash_t *file_digest,
                   receipt_result_t *out, char *why, size_t why_cap) {
    memset(out, 0, sizeof *out);
    if (strcmp(r->chain_id, chain_id) != 0 || strcmp(r->header.chain_id, chain_id) != 0) {
        WHY("receipt is for chain \"%s\", the genesis is for \"%s\"", r->header.chain_id, chain_id);
        return QC_ERR_INVALID;
    }
    if (memcmp(r->genesis_hash.b, genesis_hash->b, 32) != 0) {
        WHY("receipt names another genesis than the one given");
        return QC_ERR_INVALID;
    }
    if (r->header.epoch != vs->epoch) {
        WHY("block is in epoch %llu; this receipt has no membership history to reach it",
            (unsigned long long)r->header.epoch);
        return QC_ERR_MEMBER;
    }
    qc_hash_t vh, block_hash;
    qc_validators_hash(vs, &vh);
    if (memcmp(vh.b, r->header.validators_hash.b, 32) != 0) {
        WHY("block header names a different validator set than the genesis");
        return QC_ERR_MEMBER;
    }
    qc_header_hash(&r->header, &block_hash);
    if (r->cert.height != r->header.height) {
        WHY("certificate is for height %llu, block is height %llu",
            (unsigned long long)r->cert.height, (unsigned long long)r->header.height);
        return QC_ERR_INVALID;
    }
    int rc = qc_cert_verify(&r->cert, chain_id, vs, &block_hash, why, why_cap);
    if (rc != QC_OK) return rc;
    if (strcmp(r->tx.chain_id, chain_id) != 0) {
        WHY("the transaction is for chain \"%s\", not \"%s\"", r->tx.chain_id, chain_id);
        return QC_ERR_INVALID;
    }
    if (qc_tx_verify_sig(&r->tx) != QC_OK) {
        WHY("the transaction's seal signature is invalid");
        return QC_ERR_SIGNATURE;
    }
    int city = qc_validators_find_seal(vs, &r->tx.signer);
    if (city < 0) {
        WHY("the transaction is not signed by a member city's seal key");
        return QC_ERR_MEMBER;
    }
    if (r->record_index >= r->tx.record_count ||
        memcmp(r->tx.records[r->record_index].digest, r->digest.b, 32) != 0) {
        WHY("the transaction does not anchor this digest at record %u", r->record_index);
        return QC_ERR_INVALID;
    }
    if (file_digest && memcmp(file_digest->b, r->digest.b, 32) != 0) {
        WHY("document digest does not match the anchored digest");
        return QC_ERR_INVALID;
    }
    qc_hash_t leaf;
    qc_record_leaf_hash(r->header.height, &r->tx.id, r->record_index, r->digest.b, &leaf);
    if (r->tree_size != r->header.log_size ||
        merkle_verify_inclusion(&leaf, r->log_index, r->tree_size, r->path, r->path_len,
                                &r->header.log_root) != QC_OK) {
        WHY("inclusion proof does not lead to the block's record-log root");
        return QC_ERR_INVALID;
    }
    out->city = (uint32_t)city;
    snprintf(out->city_name, sizeof out->city_name, "%s", vs->members[city].name);
    out->height = r->header.height;
    out->time_ms = r->header.time_ms;
    out->signers = r->cert.vote_count;
    out->quorum = qc_quorum(vs->n);
    out->members = vs->n;
    return QC_OK;
}
