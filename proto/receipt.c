/* receipt.c - receipt JSON encoding, strict decoding and offline verification. */
#include "receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

void receipt_free(receipt_t *r) {
    qc_tx_free(&r->tx);
    free(r->membership);
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

/* Appends v (stolen) to arr; false if either is NULL or the append fails. */
static bool append_new(json_t *arr, json_t *v) {
    if (arr == NULL || v == NULL) { json_decref(v); return false; }
    return json_array_append_new(arr, v) == 0;
}

static json_t *member_json(const qc_member_t *m) {
    return json_pack("{s:s, s:o, s:o, s:o}", "name", m->name, "node_key",
                     receipt_hex_json(m->node_key.b, 32), "seal_key",
                     receipt_hex_json(m->seal_key.b, 32), "admin_key",
                     receipt_hex_json(m->admin_key.b, 32));
}

/* One membership step in the §10.1 form; NULL on allocation failure or an unencodable
 * header. */
static json_t *step_json(const receipt_step_t *st) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    if (qc_header_encode(&st->switch_header, hdr, sizeof hdr, &hlen) != QC_OK) return NULL;
    json_t *members = json_array();
    for (uint32_t i = 0; i < st->vs.n; i++)
        if (!append_new(members, member_json(&st->vs.members[i]))) {
            json_decref(members);
            return NULL;
        }
    return json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "epoch", (json_int_t)st->vs.epoch,
                     "first_height", (json_int_t)st->first_height, "threshold",
                     (json_int_t)st->vs.governance_threshold, "members", members,
                     "switch_header", receipt_hex_json(hdr, hlen), "switch_cert",
                     receipt_cert_json(&st->switch_cert));
}

json_t *receipt_membership_json(const receipt_step_t *m, size_t n) {
    json_t *membership = json_array();
    for (size_t i = 0; membership && i < n; i++)
        if (!append_new(membership, step_json(&m[i]))) {
            json_decref(membership);
            return NULL;
        }
    return membership;
}

json_t *receipt_to_json(const receipt_t *r) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    if (qc_header_encode(&r->header, hdr, sizeof hdr, &hlen) != QC_OK) return NULL;
    json_t *path = json_array();
    for (size_t i = 0; path && i < r->path_len; i++)
        json_array_append_new(path, receipt_hex_json(r->path[i].b, 32));
    json_t *membership = receipt_membership_json(r->membership, r->membership_len);
    if (membership == NULL) {
        json_decref(path);
        return NULL;
    }
    return json_pack(
        "{s:i, s:s, s:o, s:{s:o, s:i, s:I}, s:{s:o, s:o}, s:o, s:o, s:{s:I, s:o}, s:o}",
        "qchain_receipt", RECEIPT_VERSION, "chain_id", r->chain_id, "genesis_hash",
        receipt_hex_json(r->genesis_hash.b, 32), "record", "digest",
        receipt_hex_json(r->digest.b, 32), "tx_record_index", (int)r->record_index, "log_index",
        (json_int_t)r->log_index, "tx", "body", receipt_hex_json(r->tx.body, r->tx.body_len),
        "sig", receipt_hex_json(r->tx.sig.b, QC_SIG_BYTES), "header", receipt_hex_json(hdr, hlen),
        "cert", receipt_cert_json(&r->cert), "inclusion", "tree_size", (json_int_t)r->tree_size,
        "path", path, "membership", membership);
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

/* where: the object's place in the receipt, for messages ("cert"). */
static void parse_cert(jp_t *p, const json_t *c, qc_cert_t *cert, const char *where) {
    static const char *const keys[] = {"epoch", "height", "view", "block_hash", "votes", NULL};
    if (!only_keys(p, c, keys, where)) return;
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
        char vwhere[48];
        snprintf(vwhere, sizeof vwhere, "%s.votes", where);
        if (!only_keys(p, v, vkeys, vwhere)) return;
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
    parse_cert(&p, j, cert, "cert");
    return p.bad ? QC_ERR_INVALID : QC_OK;
}

static void parse_inclusion(jp_t *p, const json_t *inc, receipt_t *r) {
    static const char *const keys[] = {"tree_size", "path", NULL};
    if (!only_keys(p, inc, keys, "inclusion")) return;
    r->tree_size = jp_uint(p, inc, "tree_size", INT64_MAX);
    const json_t *path = jp_get(p, inc, "path", JSON_ARRAY);
    if (path == NULL) return;
    if (json_array_size(path) > MERKLE_PATH_MAX) { /* PROTOCOL.md §10.1: at most 63 */
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

static void parse_member(jp_t *p, const json_t *m, qc_member_t *out) {
    static const char *const keys[] = {"name", "node_key", "seal_key", "admin_key", NULL};
    if (!only_keys(p, m, keys, "membership.members")) return;
    const json_t *name = jp_get(p, m, "name", JSON_STRING);
    if (name == NULL) return;
    const char *s = json_string_value(name);
    if (strlen(s) != json_string_length(name) || !qc_member_name_valid(s)) {
        snprintf(p->why, p->why_cap, "\"%s\" is not a member name", s);
        p->bad = true;
        return;
    }
    snprintf(out->name, sizeof out->name, "%s", s);
    jp_hex(p, m, "node_key", out->node_key.b, 32);
    jp_hex(p, m, "seal_key", out->seal_key.b, 32);
    jp_hex(p, m, "admin_key", out->admin_key.b, 32);
}

/* Index of the first member before `i` that shares a name or any key with member i, or -1
 * (a genesis refuses such a set, so no certified set has one). */
static int member_clash(const qc_validator_set_t *vs, uint32_t i) {
    const qc_member_t *a = &vs->members[i];
    const qc_pubkey_t *ka[3] = {&a->node_key, &a->seal_key, &a->admin_key};
    for (uint32_t k = 0; k < 3; k++)
        for (uint32_t l = k + 1; l < 3; l++)
            if (memcmp(ka[k]->b, ka[l]->b, 32) == 0) return (int)i;
    for (uint32_t j = 0; j < i; j++) {
        const qc_member_t *b = &vs->members[j];
        const qc_pubkey_t *kb[3] = {&b->node_key, &b->seal_key, &b->admin_key};
        if (strcmp(a->name, b->name) == 0) return (int)j;
        for (uint32_t k = 0; k < 3; k++)
            for (uint32_t l = 0; l < 3; l++)
                if (memcmp(ka[k]->b, kb[l]->b, 32) == 0) return (int)j;
    }
    return -1;
}

/* One membership step (§10.1). Reasons name the field; the caller prefixes the step. */
static void parse_step(jp_t *p, const json_t *j, receipt_step_t *st) {
    static const char *const keys[] = {"epoch", "first_height", "threshold", "members",
                                       "switch_header", "switch_cert", NULL};
    if (!only_keys(p, j, keys, "membership")) return;
    st->vs.epoch = jp_uint(p, j, "epoch", INT64_MAX);
    st->first_height = jp_uint(p, j, "first_height", INT64_MAX);
    st->vs.governance_threshold = (uint32_t)jp_uint(p, j, "threshold", UINT16_MAX);
    const json_t *members = jp_get(p, j, "members", JSON_ARRAY);
    if (members == NULL) return;
    size_t n = json_array_size(members);
    if (n == 0 || n > QC_VALIDATORS_MAX) {
        snprintf(p->why, p->why_cap, "%zu members; a validator set has 1 to %d", n,
                 QC_VALIDATORS_MAX);
        p->bad = true;
        return;
    }
    st->vs.n = (uint32_t)n;
    for (uint32_t i = 0; i < st->vs.n && !p->bad; i++) {
        parse_member(p, json_array_get(members, i), &st->vs.members[i]);
        int other = p->bad ? -1 : member_clash(&st->vs, i);
        if (other >= 0) {
            snprintf(p->why, p->why_cap, "member %u repeats a name or key of member %d", i, other);
            p->bad = true;
        }
    }
    if (!p->bad && (st->vs.governance_threshold == 0 || st->vs.governance_threshold > st->vs.n)) {
        snprintf(p->why, p->why_cap, "threshold %u is not between 1 and the %u members",
                 st->vs.governance_threshold, st->vs.n);
        p->bad = true;
    }
    size_t hlen = 0;
    uint8_t *hdr = jp_hex_alloc(p, j, "switch_header", QC_HEADER_BYTES_MAX, &hlen);
    if (!p->bad && qc_header_decode(hdr, hlen, &st->switch_header) != QC_OK) {
        const char *old = qc_header_version_why(hdr, hlen);
        snprintf(p->why, p->why_cap, "switch_header %s",
                 old ? old : "is not a valid canonical block header");
        p->bad = true;
    }
    free(hdr);
    const json_t *cert = jp_get(p, j, "switch_cert", JSON_OBJECT);
    if (cert) parse_cert(p, cert, &st->switch_cert, "membership.switch_cert");
}

/* The membership array into r->membership (malloc'd); a failing step's reason is prefixed
 * with its number (1-based, the epoch it should be for). */
static void parse_membership(jp_t *p, const json_t *mem, receipt_t *r) {
    size_t n = json_array_size(mem);
    if (p->bad || n == 0) return;
    if (n > RECEIPT_EPOCHS_MAX) {
        snprintf(p->why, p->why_cap, "receipt membership history has %zu steps, more than %d", n,
                 RECEIPT_EPOCHS_MAX);
        p->bad = true;
        return;
    }
    r->membership = calloc(n, sizeof *r->membership);
    if (r->membership == NULL) {
        snprintf(p->why, p->why_cap, "out of memory for the receipt's membership history");
        p->bad = true;
        return;
    }
    r->membership_len = n;
    for (size_t i = 0; i < n && !p->bad; i++) {
        char inner[256] = "";
        jp_t q = {inner, sizeof inner, false};
        parse_step(&q, json_array_get(mem, i), &r->membership[i]);
        if (q.bad) {
            snprintf(p->why, p->why_cap, "receipt membership step %zu: %s", i + 1, inner);
            p->bad = true;
        }
    }
}

int receipt_from_json(const json_t *j, receipt_t *r, char *why, size_t why_cap) {
    memset(r, 0, sizeof *r);
    char dummy[8];
    jp_t p = {why ? why : dummy, why ? why_cap : sizeof dummy, false};
    /* "status" (a status proof, statusproof.h) may ride along; its reader parses it */
    static const char *const keys[] = {"qchain_receipt", "chain_id", "genesis_hash", "record", "tx",
                                       "header", "cert", "inclusion", "membership", "status",
                                       NULL};
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
    if (cert) parse_cert(&p, cert, &r->cert, "cert");
    const json_t *inc = jp_get(&p, j, "inclusion", JSON_OBJECT);
    if (inc) parse_inclusion(&p, inc, r);
    const json_t *mem = jp_get(&p, j, "membership", JSON_ARRAY);
    if (mem) parse_membership(&p, mem, r);
    if (!p.bad && qc_header_decode(hdr, hlen, &r->header) != QC_OK) {
        const char *old = qc_header_version_why(hdr, hlen);
        if (old) WHY("receipt header: %s", old);
        else WHY("receipt header is not a valid canonical block header");
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

int receipt_block_from_json(const json_t *j, qc_header_t *header, qc_cert_t *cert,
                            receipt_step_t **membership, size_t *membership_len, char *why,
                            size_t why_cap) {
    *membership = NULL;
    *membership_len = 0;
    char dummy[8];
    jp_t p = {why ? why : dummy, why ? why_cap : sizeof dummy, false};
    receipt_t *r = calloc(1, sizeof *r);
    if (r == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    size_t hlen = 0;
    uint8_t *hdr = jp_hex_alloc(&p, j, "header", QC_HEADER_BYTES_MAX, &hlen);
    const json_t *c = jp_get(&p, j, "cert", JSON_OBJECT);
    if (c) parse_cert(&p, c, cert, "cert");
    const json_t *mem = jp_get(&p, j, "membership", JSON_ARRAY);
    if (mem) parse_membership(&p, mem, r);
    if (!p.bad && qc_header_decode(hdr, hlen, header) != QC_OK) {
        const char *old = qc_header_version_why(hdr, hlen);
        if (old) WHY("header: %s", old);
        else WHY("header is not a valid canonical block header");
        p.bad = true;
    }
    free(hdr);
    if (p.bad) {
        receipt_free(r);
        free(r);
        return QC_ERR_INVALID;
    }
    *membership = r->membership;
    *membership_len = r->membership_len;
    free(r);
    return QC_OK;
}

/* ---------------------------------------------------------------- verification */

#define ULL(x) ((unsigned long long)(x))

/* Membership step `num` (1-based) of §10.2 step 3: st must be the next epoch after *cur (in
 * force from cur_first_height on), its switch header the certified last block of *cur's epoch
 * and that block's next_validators_hash the hash of st's set. */
static int verify_step(const receipt_step_t *st, size_t num, const char *chain_id,
                       const qc_hash_t *genesis_hash, const qc_validator_set_t *cur,
                       uint64_t cur_first_height, char *why, size_t why_cap) {
    const qc_header_t *h = &st->switch_header;
    if (st->vs.epoch != cur->epoch + 1) {
        WHY("membership step %zu is for epoch %llu, expected %llu", num, ULL(st->vs.epoch),
            ULL(cur->epoch + 1));
        return QC_ERR_MEMBER;
    }
    if (st->first_height == 0 || h->height != st->first_height - 1) {
        WHY("membership step %zu: the switch header is block %llu, but epoch %llu starts at "
            "block %llu", num, ULL(h->height), ULL(st->vs.epoch), ULL(st->first_height));
        return QC_ERR_INVALID;
    }
    if (h->height < cur_first_height) {
        WHY("membership step %zu: epoch %llu starts at block %llu, before epoch %llu began "
            "(block %llu)", num, ULL(st->vs.epoch), ULL(st->first_height), ULL(cur->epoch),
            ULL(cur_first_height));
        return QC_ERR_INVALID;
    }
    if (strcmp(h->chain_id, chain_id) != 0) {
        WHY("membership step %zu: the switch header is for chain \"%s\"", num, h->chain_id);
        return QC_ERR_INVALID;
    }
    if (memcmp(h->genesis_hash.b, genesis_hash->b, 32) != 0) {
        char got[65], want[65];
        WHY("membership step %zu: the switch header names genesis %s, the genesis file given is "
            "%s", num, qc_hash_hex(got, &h->genesis_hash), qc_hash_hex(want, genesis_hash));
        return QC_ERR_INVALID;
    }
    if (h->epoch != cur->epoch) {
        WHY("membership step %zu: the switch block is in epoch %llu, expected %llu", num,
            ULL(h->epoch), ULL(cur->epoch));
        return QC_ERR_MEMBER;
    }
    qc_hash_t vh, block_hash;
    qc_validators_hash(cur, &vh);
    if (memcmp(vh.b, h->validators_hash.b, 32) != 0) {
        WHY("membership step %zu: the switch block names a different validator set than "
            "epoch %llu's", num, ULL(cur->epoch));
        return QC_ERR_MEMBER;
    }
    if (st->switch_cert.height != h->height) {
        WHY("membership step %zu: certificate is for height %llu, the switch block is height "
            "%llu", num, ULL(st->switch_cert.height), ULL(h->height));
        return QC_ERR_INVALID;
    }
    qc_header_hash(h, &block_hash);
    char reason[192];
    int rc = qc_cert_verify(&st->switch_cert, chain_id, cur, &block_hash, reason, sizeof reason);
    if (rc != QC_OK) {
        WHY("membership step %zu (the switch to epoch %llu): %s", num, ULL(st->vs.epoch), reason);
        return rc;
    }
    qc_validators_hash(&st->vs, &vh);
    if (memcmp(vh.b, h->next_validators_hash.b, 32) != 0) {
        WHY("the switch block of epoch %llu does not certify this member list",
            ULL(st->vs.epoch));
        return QC_ERR_MEMBER;
    }
    return QC_OK;
}

int receipt_verify_block(const char *chain_id, const qc_hash_t *genesis_hash,
                         const qc_validator_set_t *genesis_vs, const char *claimed_chain_id,
                         const qc_hash_t *claimed_genesis_hash, const qc_header_t *header,
                         const qc_cert_t *cert, const receipt_step_t *membership,
                         size_t membership_len, const qc_validator_set_t **vs_out,
                         receipt_result_t *out, char *why, size_t why_cap) {
    if (strcmp(claimed_chain_id, chain_id) != 0 || strcmp(header->chain_id, chain_id) != 0) {
        WHY("receipt is for chain \"%s\", the genesis is for \"%s\"", header->chain_id, chain_id);
        return QC_ERR_INVALID;
    }
    char got[65], want[65];
    if (memcmp(claimed_genesis_hash->b, genesis_hash->b, 32) != 0) {
        WHY("receipt names genesis %s, the genesis file given is %s",
            qc_hash_hex(got, claimed_genesis_hash), qc_hash_hex(want, genesis_hash));
        return QC_ERR_INVALID;
    }
    /* The receipt's genesis_hash field is signed by no one; the certified header is what
     * binds the block to the genesis file (PROTOCOL.md §10.2 step 2). */
    if (memcmp(header->genesis_hash.b, genesis_hash->b, 32) != 0) {
        WHY("block header names genesis %s, the genesis file given is %s",
            qc_hash_hex(got, &header->genesis_hash), qc_hash_hex(want, genesis_hash));
        return QC_ERR_INVALID;
    }
    const qc_validator_set_t *vs = genesis_vs; /* the set in force from first_height on */
    uint64_t first_height = 1;
    QC_ASSERT(membership_len <= RECEIPT_EPOCHS_MAX);
    for (size_t i = 0; i < membership_len; i++) {
        const receipt_step_t *st = &membership[i];
        int rc = verify_step(st, i + 1, chain_id, genesis_hash, vs, first_height, why, why_cap);
        if (rc != QC_OK) return rc;
        vs = &st->vs;
        first_height = st->first_height;
    }
    if (header->epoch != vs->epoch) {
        if (membership_len == 0)
            WHY("block is in epoch %llu; this receipt has no membership history to reach it",
                ULL(header->epoch));
        else
            WHY("block is in epoch %llu; this receipt's membership history reaches epoch %llu",
                ULL(header->epoch), ULL(vs->epoch));
        return QC_ERR_MEMBER;
    }
    qc_hash_t vh, block_hash;
    qc_validators_hash(vs, &vh);
    if (memcmp(vh.b, header->validators_hash.b, 32) != 0) {
        if (membership_len == 0)
            WHY("block header names a different validator set than the genesis");
        else
            WHY("block header names a different validator set than epoch %llu's", ULL(vs->epoch));
        return QC_ERR_MEMBER;
    }
    if (header->height < first_height) {
        WHY("block %llu is before epoch %llu began (block %llu)", ULL(header->height),
            ULL(vs->epoch), ULL(first_height));
        return QC_ERR_INVALID;
    }
    qc_header_hash(header, &block_hash);
    if (cert->height != header->height) {
        WHY("certificate is for height %llu, block is height %llu",
            (unsigned long long)cert->height, (unsigned long long)header->height);
        return QC_ERR_INVALID;
    }
    int rc = qc_cert_verify(cert, chain_id, vs, &block_hash, why, why_cap);
    if (rc != QC_OK) return rc;
    *vs_out = vs;
    out->height = header->height;
    out->time_ms = header->time_ms;
    out->signers = cert->vote_count;
    out->quorum = qc_quorum(vs->n);
    out->members = vs->n;
    out->epoch = vs->epoch;
    return QC_OK;
}

int receipt_verify(const receipt_t *r, const char *chain_id, const qc_hash_t *genesis_hash,
                   const qc_validator_set_t *genesis_vs, const qc_hash_t *file_digest,
                   receipt_result_t *out, char *why, size_t why_cap) {
    memset(out, 0, sizeof *out);
    const qc_validator_set_t *vs = NULL;
    int rc = receipt_verify_block(chain_id, genesis_hash, genesis_vs, r->chain_id,
                                  &r->genesis_hash, &r->header, &r->cert, r->membership,
                                  r->membership_len, &vs, out, why, why_cap);
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
    return QC_OK;
}
