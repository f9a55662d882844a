/* api.c - the node's HTTP/JSON API handlers (docs/API.md) and commit long-polls. */
#include "api.h"
#include "api_city.h"
#include "api_gov.h"
#include "api_life.h"
#include "api_share.h"
#include "api_web.h"
#include "qchain.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX(p, n) receipt_hex_json((p), (n))
#define SWEEP_MS 50

static const double latency_bounds_s[] = {0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};

/* ---------------------------------------------------------------- helpers */

bool api_param_hash(http_req_t *req, http_res_t *res, const char *name, qc_hash_t *out) {
    const char *v = http_req_param(req, name);
    if (v == NULL || qc_hex_decode(out->b, 32, v) != QC_OK) {
        http_respond_error(res, 400, "bad_request", "%s must be 64 hex characters", name);
        return false;
    }
    return true;
}

bool api_query_u64(http_req_t *req, http_res_t *res, const char *name, uint64_t max,
                      uint64_t *out, bool required) {
    char buf[32];
    int rc = http_query_get(req->query, name, buf, sizeof buf);
    if (rc == QC_ERR_NOTFOUND && !required) return true;
    char *end = NULL;
    unsigned long long v = 0;
    if (rc == QC_OK && buf[0] >= '0' && buf[0] <= '9') v = strtoull(buf, &end, 10);
    if (rc != QC_OK || end == NULL || *end != '\0' || v > max) {
        http_respond_error(res, 400, "bad_request",
                           "query parameter %s must be an integer 0..%" PRIu64, name, max);
        return false;
    }
    *out = v;
    return true;
}

/* {"tx_id","status":"committed","height","tx_index","block_hash"} */
static json_t *committed_json(node_t *n, const qc_hash_t *tx_id, const store_tx_loc_t *loc) {
    qc_header_t h;
    qc_hash_t bh = {{0}};
    qc_tx_t tx;
    qc_cert_t cert;
    bool have_tx = store_block_tx(&n->store, loc->height, loc->tx_index, &h, &tx, &cert) == QC_OK;
    if (have_tx || store_header_get(&n->store, loc->height, &h) == QC_OK) qc_header_hash(&h, &bh);
    json_t *j = json_pack("{s:o, s:s, s:I, s:I, s:o}", "tx_id", HEX(tx_id->b, 32), "status",
                          "committed", "height", (json_int_t)loc->height, "tx_index",
                          (json_int_t)loc->tx_index, "block_hash", HEX(bh.b, 32));
    if (have_tx) {
        json_object_set_new(j, "type", json_string(api_tx_type_name(tx.type)));
        api_life_tx_fields(j, &tx);
        api_share_tx_fields(j, &tx);
        qc_tx_free(&tx);
    }
    return j;
}

static json_t *pending_json(const qc_hash_t *tx_id, const char *status) {
    return json_pack("{s:o, s:s}", "tx_id", HEX(tx_id->b, 32), "status", status);
}

/* ---------------------------------------------------------------- long-polls */

static void waiter_done(api_t *a, api_waiter_t *w) {
    w->used = false;
    w->res = NULL;
    a->waiter_count--;
}

/* The client went away: its response must never be touched again. */
static void waiter_cancel(http_res_t *res, void *data) {
    (void)res;
    api_waiter_t *w = data;
    waiter_done(w->api, w);
}

/* Parks res until tx_id commits or wait_ms passes. false (after answering 503) when full. */
static bool wait_for(api_t *a, http_res_t *res, const qc_hash_t *tx_id, uint64_t wait_ms) {
    for (size_t i = 0; i < API_WAITERS_MAX; i++) {
        api_waiter_t *w = &a->waiters[i];
        if (w->used) continue;
        w->used = true;
        w->api = a;
        w->tx_id = *tx_id;
        w->res = res;
        w->started_ms = uv_now(a->node->loop);
        w->deadline_ms = w->started_ms + wait_ms;
        a->waiter_count++;
        http_res_on_cancel(res, waiter_cancel, w);
        return true;
    }
    http_res_header(res, "Retry-After", "1");
    http_respond_error(res, 503, "busy", "too many clients are waiting for commits");
    return false;
}

static void on_commit(void *user, const qc_block_t *b, const qc_cert_t *cert) {
    (void)cert;
    api_t *a = user;
    if (a->waiter_count == 0) return;
    uint64_t now = uv_now(a->node->loop);
    for (size_t i = 0; i < API_WAITERS_MAX; i++) {
        api_waiter_t *w = &a->waiters[i];
        if (!w->used) continue;
        for (uint32_t t = 0; t < b->tx_count; t++) {
            if (memcmp(b->txs[t].id.b, w->tx_id.b, 32) != 0) continue;
            store_tx_loc_t loc = {b->header.height, t};
            prom_histogram_observe(&a->commit_latency, (double)(now - w->started_ms) / 1000.0);
            http_respond_json(w->res, 200, committed_json(a->node, &w->tx_id, &loc));
            waiter_done(a, w);
            break;
        }
    }
}

static void on_sweep(uv_timer_t *t) {
    api_t *a = t->data;
    uint64_t now = uv_now(a->node->loop);
    for (size_t i = 0; i < API_WAITERS_MAX && a->waiter_count > 0; i++) {
        api_waiter_t *w = &a->waiters[i];
        if (!w->used || now < w->deadline_ms) continue;
        http_respond_json(w->res, 202, pending_json(&w->tx_id, "pending"));
        waiter_done(a, w);
    }
}

/* ---------------------------------------------------------------- transactions */

static int reject_status(int rc) {
    switch (rc) {
    case QC_ERR_DUPLICATE: return 409;
    case QC_ERR_FULL: return 503;
    case QC_ERR_MEMBER: return 403;
    default: return 400;
    }
}

/* Accepts a SignedTx protobuf body, or JSON {"body": hex, "sig": hex}. */
#define TX_JSON_SHAPE "expected {\"body\": hex, \"sig\": 128 hex chars} and nothing else"

/* The SignedTx protobuf of a JSON {"body": hex, "sig": 128 hex} (nothing else), malloc'd into
 * *out (caller frees), or NULL if j has another shape or bad hex. */
static uint8_t *signed_tx_from_json(const json_t *j, size_t *len) {
    json_t *body = json_object_get(j, "body"), *sig = json_object_get(j, "sig");
    uint8_t *out = NULL;
    if (!json_is_object(j) || !json_is_string(body) || !json_is_string(sig) ||
        json_object_size(j) != 2 || json_string_length(body) % 2 != 0 ||
        json_string_length(body) / 2 > QC_TX_BODY_BYTES_MAX)
        return NULL;
    size_t bl = json_string_length(body) / 2;
    qc_tx_t tx = {0};
    tx.body = malloc(bl + 1);
    tx.body_len = bl;
    if (tx.body && qc_hex_decode(tx.body, bl, json_string_value(body)) == QC_OK &&
        qc_hex_decode(tx.sig.b, 64, json_string_value(sig)) == QC_OK)
        qc_tx_encode(&tx, &out, len);
    free(tx.body);
    return out;
}

static uint8_t *tx_bytes(http_req_t *req, http_res_t *res, size_t *len) {
    const char *ct = http_req_header(req, "content-type");
    if (ct && strncmp(ct, "application/json", 16) == 0) {
        json_t *j = http_req_json(req, res);
        if (j == NULL) return NULL;
        uint8_t *out = signed_tx_from_json(j, len);
        json_decref(j);
        if (out == NULL) http_respond_error(res, 400, "bad_request", TX_JSON_SHAPE);
        return out;
    }
    uint8_t *copy = malloc(req->body_len ? req->body_len : 1);
    if (copy == NULL) { http_respond_error(res, 500, "internal", "out of memory"); return NULL; }
    memcpy(copy, req->body, req->body_len);
    *len = req->body_len;
    return copy;
}

/* ---------------------------------------------------------------- batches */

/* A batch's transactions, submitted together (node_submit_many: their signatures verified on
 * the verification threads); entries that did not decode are NULL with a reason. */
typedef struct {
    uint32_t n;
    uint8_t **bytes;     /* SignedTx protobufs, owned; NULL: the entry is refused */
    size_t *lens;
    const char **why_bad;/* per NULL entry: why (static) */
    json_t *results;     /* one entry per transaction, in order */
    size_t accepted;
} batch_t;

static void batch_free(batch_t *b) {
    for (uint32_t i = 0; b->bytes && i < b->n; i++) free(b->bytes[i]);
    free(b->bytes);
    free(b->lens);
    free(b->why_bad);
    json_decref(b->results);
}

static bool batch_alloc(batch_t *b, uint32_t n) {
    *b = (batch_t){n, calloc(n, sizeof *b->bytes), calloc(n, sizeof *b->lens),
                   calloc(n, sizeof *b->why_bad), json_array(), 0};
    for (uint32_t i = 0; b->results && i < n; i++)
        if (json_array_append_new(b->results, json_null()) != 0) return false;
    return b->bytes && b->lens && b->why_bad && b->results;
}

/* node_submit_cb: one entry of "results", as POST /v1/transactions answers one transaction. */
static void batch_one(void *user, uint32_t i, int rc, const qc_hash_t *id, const char *why) {
    batch_t *b = user;
    json_t *e;
    if (rc == QC_OK) {
        b->accepted++;
        e = pending_json(id, "pending");
    } else if (b->bytes[i] == NULL) {
        e = json_pack("{s:n, s:s, s:i, s:s}", "tx_id", "status", "rejected", "http", 400,
                      "error", b->why_bad[i]);
    } else {
        e = json_pack("{s:s, s:i, s:s}", "status", "rejected", "http", reject_status(rc),
                      "error", why ? why : qc_strerror(rc));
        if (e) json_object_set_new(e, "tx_id", id ? HEX(id->b, 32) : json_null());
    }
    json_array_set_new(b->results, i, e ? e : json_null());
}

/* Submits the batch and answers 200 {"accepted", "rejected", "results": [one per transaction,
 * in order]}. Frees the batch. */
static void batch_run(api_t *a, batch_t *b, http_res_t *res) {
    if (node_submit_many(a->node, b->n, (const uint8_t *const *)b->bytes, b->lens, batch_one, b) !=
        QC_OK) {
        batch_free(b);
        http_respond_error(res, 500, "internal", "out of memory");
        return;
    }
    json_t *results = b->results;
    b->results = NULL;
    http_respond_json(res, 200, json_pack("{s:I, s:I, s:o}", "accepted", (json_int_t)b->accepted,
                                          "rejected", (json_int_t)(b->n - b->accepted),
                                          "results", results));
    batch_free(b);
}

/* A JSON array of {"body": hex, "sig": hex}: a malformed entry is rejected alone, the others
 * go on. */
static void submit_json_batch(api_t *a, http_req_t *req, http_res_t *res) {
    json_t *j = http_req_json(req, res);
    if (j == NULL) return;
    size_t n = json_array_size(j);
    if (n == 0 || n > API_BATCH_TXS_MAX) {
        json_decref(j);
        http_respond_error(res, 400, "bad_request", "a batch holds 1 to %d transactions",
                           API_BATCH_TXS_MAX);
        return;
    }
    batch_t b;
    if (!batch_alloc(&b, (uint32_t)n)) {
        json_decref(j);
        batch_free(&b);
        http_respond_error(res, 500, "internal", "out of memory");
        return;
    }
    for (uint32_t i = 0; i < b.n; i++) {
        b.bytes[i] = signed_tx_from_json(json_array_get(j, i), &b.lens[i]);
        b.why_bad[i] = TX_JSON_SHAPE;
    }
    json_decref(j);
    batch_run(a, &b, res);
}

/* A SignedTxBatch protobuf: each SignedTx is re-packed and submitted. */
static void submit_proto_batch(api_t *a, http_req_t *req, http_res_t *res) {
    Qchain__SignedTxBatch *pb = qchain__signed_tx_batch__unpack(NULL, req->body_len, req->body);
    if (pb == NULL || pb->n_txs == 0 || pb->n_txs > API_BATCH_TXS_MAX) {
        if (pb) qchain__signed_tx_batch__free_unpacked(pb, NULL);
        http_respond_error(res, 400, "bad_request",
                           "expected a SignedTxBatch of 1 to %d transactions", API_BATCH_TXS_MAX);
        return;
    }
    batch_t b;
    bool ok = batch_alloc(&b, (uint32_t)pb->n_txs);
    for (uint32_t i = 0; ok && i < b.n; i++) {
        size_t len = qchain__signed_tx__get_packed_size(pb->txs[i]);
        b.bytes[i] = malloc(len ? len : 1);
        b.lens[i] = len;
        b.why_bad[i] = "out of memory";
        if (b.bytes[i]) qchain__signed_tx__pack(pb->txs[i], b.bytes[i]);
    }
    qchain__signed_tx_batch__free_unpacked(pb, NULL);
    if (!ok) {
        batch_free(&b);
        http_respond_error(res, 500, "internal", "out of memory");
        return;
    }
    batch_run(a, &b, res);
}

/* Whether the body is a batch: a JSON array, or the SignedTxBatch content type. */
static int batch_kind(http_req_t *req) {
    const char *ct = http_req_header(req, "content-type");
    if (ct == NULL) return 0;
    if (strncmp(ct, "application/json", 16) == 0) {
        for (size_t i = 0; i < req->body_len; i++) {
            char c = (char)req->body[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
            return c == '[' ? 1 : 0;
        }
        return 0;
    }
    if (strncmp(ct, "application/x-protobuf", 22) == 0 && strstr(ct, "SignedTxBatch") != NULL)
        return 2;
    return 0;
}

static void h_submit(http_req_t *req, http_res_t *res, void *data) {
    api_t *a = data;
    uint64_t wait_ms = 0;
    if (!api_query_u64(req, res, "wait_ms", a->node->cfg.api.wait_timeout_ms_max, &wait_ms, false)) return;
    int kind = batch_kind(req);
    if (kind != 0 && wait_ms > 0) {
        http_respond_error(res, 400, "bad_request", "wait_ms is for one transaction; poll each "
                           "of a batch with GET /v1/transactions/{id}?wait_ms=");
        return;
    }
    if (kind == 1) { submit_json_batch(a, req, res); return; }
    if (kind == 2) { submit_proto_batch(a, req, res); return; }
    size_t len;
    uint8_t *bytes = tx_bytes(req, res, &len);
    if (bytes == NULL) return;
    qc_hash_t id;
    const char *why = NULL;
    int rc = node_submit(a->node, bytes, len, &id, &why);
    free(bytes);
    if (rc != QC_OK) {
        if (rc == QC_ERR_FULL) http_res_header(res, "Retry-After", "1");
        http_respond_error(res, reject_status(rc), "rejected", "%s", why ? why : qc_strerror(rc));
        return;
    }
    if (wait_ms == 0) { http_respond_json(res, 202, pending_json(&id, "pending")); return; }
    wait_for(a, res, &id, wait_ms);
}

static void h_tx(http_req_t *req, http_res_t *res, void *data) {
    api_t *a = data;
    qc_hash_t id;
    uint64_t wait_ms = 0;
    if (!api_param_hash(req, res, "id", &id)) return;
    if (!api_query_u64(req, res, "wait_ms", a->node->cfg.api.wait_timeout_ms_max, &wait_ms, false)) return;
    store_tx_loc_t loc;
    if (store_tx_find(&a->node->store, &id, &loc) == QC_OK) {
        http_respond_json(res, 200, committed_json(a->node, &id, &loc));
        return;
    }
    bool pending = mempool_get(&a->node->mempool, &id) != NULL;
    if (pending && wait_ms > 0) { wait_for(a, res, &id, wait_ms); return; }
    if (pending) { http_respond_json(res, 202, pending_json(&id, "pending")); return; }
    http_respond_error(res, 404, "not_found", "transaction %s is neither pending nor committed",
                       http_req_param(req, "id"));
}

/* ---------------------------------------------------------------- records and receipts */

/* The anchoring of digest by transaction tx_id, walking its anchorings in log order. */
static int find_anchoring(store_t *s, const qc_hash_t *digest, const qc_hash_t *tx_id,
                          store_record_loc_t *loc) {
    store_record_loc_t *locs = malloc(sizeof *locs * STORE_RECORD_LIST_MAX);
    if (locs == NULL) return QC_ERR_NOMEM;
    uint64_t from = 0;
    bool more = true;
    int rc = QC_ERR_NOTFOUND;
    while (more && rc == QC_ERR_NOTFOUND) {
        size_t count = 0;
        int lrc = store_record_list(s, digest->b, from, locs, STORE_RECORD_LIST_MAX, &count,
                                    &more);
        if (lrc != QC_OK) { rc = lrc; break; }
        for (size_t i = 0; i < count && rc == QC_ERR_NOTFOUND; i++)
            if (memcmp(locs[i].tx_id.b, tx_id->b, 32) == 0) { *loc = locs[i]; rc = QC_OK; }
        if (count == 0) break;
        from = locs[count - 1].log_index + 1;
    }
    free(locs);
    return rc;
}

int api_build_receipt(node_t *n, const qc_hash_t *digest, const qc_hash_t *tx_id, receipt_t *out) {
    return api_build_receipt_in(&n->store, n->genesis.chain_id, &n->genesis.hash, digest, tx_id,
                                out);
}

int api_build_receipt_in(store_t *s, const char *chain_id, const qc_hash_t *genesis_hash,
                         const qc_hash_t *digest, const qc_hash_t *tx_id, receipt_t *out) {
    memset(out, 0, sizeof *out);
    store_record_loc_t loc;
    int rc = tx_id ? find_anchoring(s, digest, tx_id, &loc)
                   : store_record_find(s, digest->b, &loc);
    if (rc != QC_OK) return rc;
    rc = store_block_tx(s, loc.height, loc.tx_index, &out->header, &out->tx, &out->cert);
    if (rc != QC_OK) return rc;
    if (memcmp(out->tx.id.b, loc.tx_id.b, 32) != 0) { /* the index and the block disagree */
        receipt_free(out);
        return QC_ERR_CORRUPT;
    }
    snprintf(out->chain_id, sizeof out->chain_id, "%s", chain_id);
    out->genesis_hash = *genesis_hash;
    out->digest = *digest;
    out->record_index = loc.record_index;
    out->log_index = loc.log_index;
    out->tree_size = out->header.log_size;
    rc = store_log_inclusion_proof(s, loc.log_index, out->tree_size, out->path, &out->path_len);
    if (rc == QC_OK) {
        rc = api_receipt_membership(s, out->header.epoch, &out->membership,
                                    &out->membership_len);
        if (rc == QC_ERR_NOTFOUND) rc = QC_ERR_CORRUPT; /* a stored block's epoch is known */
    }
    if (rc != QC_OK) receipt_free(out);
    return rc;
}

/* The anchorings of digest with their cities, around the receipt JSON (owned). known, when not
 * NULL, is a transaction already loaded (the receipt's): an anchoring by it names its city
 * without reading its block again. */
static json_t *record_status_json(node_t *n, const qc_hash_t *digest, json_t *receipt,
                                  const qc_tx_t *known) {
    store_record_loc_t locs[16];
    size_t count = 0;
    bool more = false;
    json_t *list = json_array();
    qc_validator_set_t *vs = malloc(sizeof *vs);
    if (vs != NULL && store_record_list(&n->store, digest->b, 0, locs, 16, &count, &more) == QC_OK) {
        for (size_t i = 0; i < count; i++) {
            qc_tx_t tx;
            store_tx_loc_t tl;
            char city[QC_MEMBER_NAME_MAX + 1] = "?";
            /* the city by the seal key in force at the anchoring's height: a key rotated or
             * a city removed since must not turn an old anchoring into "?" */
            uint64_t epoch;
            bool reuse = known != NULL && memcmp(known->id.b, locs[i].tx_id.b, 32) == 0;
            if (reuse || store_tx_get(&n->store, &locs[i].tx_id, &tl, &tx) == QC_OK) {
                const qc_tx_t *t = reuse ? known : &tx;
                if (store_epoch_at(&n->store, locs[i].height, &epoch) == QC_OK &&
                    store_validators(&n->store, epoch, vs) == QC_OK) {
                    int c = qc_validators_find_seal(vs, &t->signer);
                    if (c >= 0) snprintf(city, sizeof city, "%s", vs->members[c].name);
                }
                if (!reuse) qc_tx_free(&tx);
            }
            char dhex[65], thex[65], path[200];
            snprintf(path, sizeof path, "/v1/records/%s/receipt?tx=%s", qc_hash_hex(dhex, digest),
                     qc_hash_hex(thex, &locs[i].tx_id));
            json_array_append_new(list, json_pack("{s:I, s:I, s:i, s:I, s:o, s:s, s:s}", "height",
                                                  (json_int_t)locs[i].height, "tx_index",
                                                  (json_int_t)locs[i].tx_index, "record_index",
                                                  (int)locs[i].record_index, "log_index",
                                                  (json_int_t)locs[i].log_index, "tx_id",
                                                  HEX(locs[i].tx_id.b, 32), "city", city,
                                                  "receipt", path));
        }
    }
    free(vs);
    json_t *j = json_pack("{s:o, s:s, s:o, s:b, s:o}", "digest", HEX(digest->b, 32), "status",
                          "anchored", "anchorings", list, "more", more, "receipt", receipt);
    api_life_status_fields(n, digest, j); /* the receipt was found: so is its status */
    return j;
}

/* The receipt JSON of the digest in the route (the anchoring by ?tx=ID when given), or NULL
 * after answering 400/404/500. With keep, the receipt itself is left there for the caller to
 * receipt_free (only when the JSON is returned). */
static json_t *receipt_for(api_t *a, http_req_t *req, http_res_t *res, qc_hash_t *d,
                           receipt_t *keep) {
    if (!api_param_hash(req, res, "digest", d)) return NULL;
    char txhex[80];
    qc_hash_t tx;
    int q = http_query_get(req->query, "tx", txhex, sizeof txhex);
    if (q != QC_ERR_NOTFOUND && (q != QC_OK || qc_hex_decode(tx.b, 32, txhex) != QC_OK)) {
        http_respond_error(res, 400, "bad_request", "query parameter tx must be 64 hex characters");
        return NULL;
    }
    receipt_t r;
    int rc = api_build_receipt(a->node, d, q == QC_OK ? &tx : NULL, &r);
    if (rc == QC_ERR_NOTFOUND) {
        if (q == QC_OK)
            http_respond_error(res, 404, "not_found", "transaction %s does not anchor digest %s",
                               txhex, http_req_param(req, "digest"));
        else
            http_respond_error(res, 404, "not_found", "digest %s has not been anchored",
                               http_req_param(req, "digest"));
        return NULL;
    }
    if (rc != QC_OK) {
        http_respond_error(res, 500, "internal", "%s", qc_strerror(rc));
        return NULL;
    }
    json_t *j = receipt_to_json(&r);
    if (j == NULL) http_respond_error(res, 500, "internal", "out of memory");
    if (j != NULL && keep != NULL) *keep = r; /* the caller frees it */
    else receipt_free(&r);
    return j;
}

/* GET /v1/records/{digest}: every anchoring of the digest, and the first one's receipt. */
static void h_record(http_req_t *req, http_res_t *res, void *data) {
    qc_hash_t d;
    receipt_t r;
    json_t *j = receipt_for(data, req, res, &d, &r);
    if (j == NULL) return;
    http_respond_json(res, 200, record_status_json(((api_t *)data)->node, &d, j, &r.tx));
    receipt_free(&r);
}

/* The status proof JSON of digest d as of the head, or NULL after answering 404/500. */
static json_t *status_proof_for(api_t *a, http_res_t *res, const qc_hash_t *d) {
    statusproof_t sp;
    int rc = api_build_status_proof(&a->node->store, d, &sp);
    if (rc == QC_ERR_NOTFOUND) {
        http_respond_error(res, 404, "not_found", "no block has been committed yet");
        return NULL;
    }
    if (rc != QC_OK) {
        http_respond_error(res, 500, "internal", "cannot prove the record status: %s",
                           qc_strerror(rc));
        return NULL;
    }
    json_t *j = statusproof_to_json(&sp);
    statusproof_free(&sp);
    if (j == NULL) http_respond_error(res, 500, "internal", "out of memory");
    return j;
}

/* GET /v1/records/{digest}/receipt: the receipt alone, as qchain receipt and verify take it;
 * with ?status=1 it carries the record's status proof as of the head under "status". */
static void h_receipt(http_req_t *req, http_res_t *res, void *data) {
    qc_hash_t d;
    char flag[8];
    int q = http_query_get(req->query, "status", flag, sizeof flag);
    if (q != QC_ERR_NOTFOUND && (q != QC_OK || (strcmp(flag, "1") != 0 && strcmp(flag, "0") != 0))) {
        http_respond_error(res, 400, "bad_request", "query parameter status must be 0 or 1");
        return;
    }
    json_t *j = receipt_for(data, req, res, &d, NULL);
    if (j == NULL) return;
    if (q == QC_OK && flag[0] == '1') {
        json_t *sp = status_proof_for(data, res, &d);
        if (sp == NULL) {
            json_decref(j);
            return;
        }
        json_object_set_new(j, "status", sp);
    }
    http_respond_json(res, 200, j);
}

/* GET /v1/records/{digest}/status-proof: what the chain says of the digest as of the head
 * (its status, or that it was never anchored), provable offline (PROTOCOL §12). */
static void h_status_proof(http_req_t *req, http_res_t *res, void *data) {
    qc_hash_t d;
    if (!api_param_hash(req, res, "digest", &d)) return;
    json_t *j = status_proof_for(data, res, &d);
    if (j) http_respond_json(res, 200, j);
}

/* ---------------------------------------------------------------- blocks and proofs */

static json_t *header_json(const qc_header_t *h) {
    uint8_t raw[QC_HEADER_BYTES_MAX];
    size_t len = 0;
    qc_hash_t bh;
    qc_header_encode(h, raw, sizeof raw, &len);
    qc_header_hash(h, &bh);
    return json_pack("{s:o, s:s, s:o, s:I, s:o, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:o, s:o, s:o}",
                     "hash", HEX(bh.b, 32), "chain_id", h->chain_id, "genesis_hash",
                     HEX(h->genesis_hash.b, 32), "height",
                     (json_int_t)h->height, "prev_hash", HEX(h->prev_hash.b, 32), "time_ms",
                     (json_int_t)h->time_ms, "proposer", (json_int_t)h->proposer, "view",
                     (json_int_t)h->view, "epoch", (json_int_t)h->epoch, "validators_hash",
                     HEX(h->validators_hash.b, 32), "tx_count", (json_int_t)h->tx_count,
                     "tx_root", HEX(h->tx_root.b, 32), "log_size", (json_int_t)h->log_size,
                     "log_root", HEX(h->log_root.b, 32), "state_root", HEX(h->state_root.b, 32),
                     "next_validators_hash",
                     HEX(h->next_validators_hash.b, 32), "canonical", HEX(raw, len));
}

static void respond_block(api_t *a, http_res_t *res, uint64_t height) {
    qc_block_t b;
    qc_cert_t cert;
    int rc = store_block_get(&a->node->store, height, &b, &cert);
    if (rc == QC_ERR_NOTFOUND) {
        http_respond_error(res, 404, "not_found", "no block at height %" PRIu64, height);
        return;
    }
    if (rc != QC_OK) { http_respond_error(res, 500, "internal", "%s", qc_strerror(rc)); return; }
    /* Signers are named by the set of the block's epoch: seal keys for records, admin keys for
     * governance. */
    qc_validator_set_t *vs = malloc(sizeof *vs);
    if (vs == NULL || store_validators(&a->node->store, b.header.epoch, vs) != QC_OK) {
        free(vs);
        qc_block_free(&b);
        http_respond_error(res, 500, "internal", "the block's epoch is not in the ledger's history");
        return;
    }
    json_t *txs = json_array();
    for (uint32_t i = 0; i < b.tx_count; i++) {
        const qc_tx_t *tx = &b.txs[i];
        int c = -1;
        for (uint32_t m = 0; m < vs->n && c < 0; m++) {
            const qc_pubkey_t *k = tx->type == QC_TX_GOVERN ? &vs->members[m].admin_key
                                                            : &vs->members[m].seal_key;
            if (memcmp(k->b, tx->signer.b, 32) == 0) c = (int)m;
        }
        json_t *tj = json_pack("{s:o, s:s, s:s, s:I}", "tx_id", HEX(tx->id.b, 32), "type",
                               api_tx_type_name(tx->type), "city",
                               c >= 0 ? vs->members[c].name : "?", "records",
                               (json_int_t)tx->record_count);
        api_life_tx_fields(tj, tx);
        api_share_tx_fields(tj, tx);
        json_array_append_new(txs, tj);
    }
    free(vs);
    http_respond_json(res, 200, json_pack("{s:o, s:o, s:o}", "header", header_json(&b.header),
                                          "txs", txs, "cert", receipt_cert_json(&cert)));
    qc_block_free(&b);
}

static void h_block(http_req_t *req, http_res_t *res, void *data) {
    const char *v = http_req_param(req, "height");
    char *end = NULL;
    errno = 0;
    unsigned long long h = v && v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    /* errno: an overflowing height must not wrap to ULLONG_MAX and become a 404. */
    if (end == NULL || *end != '\0' || h == 0 || errno == ERANGE || h > INT64_MAX) {
        http_respond_error(res, 400, "bad_request", "height must be a positive integer");
        return;
    }
    respond_block(data, res, h);
}

static void h_block_by_hash(http_req_t *req, http_res_t *res, void *data) {
    api_t *a = data;
    qc_hash_t hash;
    if (!api_param_hash(req, res, "hash", &hash)) return;
    uint64_t h;
    if (store_height_by_hash(&a->node->store, &hash, &h) != QC_OK) {
        http_respond_error(res, 404, "not_found", "no block with hash %s", http_req_param(req, "hash"));
        return;
    }
    respond_block(a, res, h);
}

/* Does the client want the plain signed note (Accept: text/plain, or ?format=note)? */
static bool wants_note_text(http_req_t *req) {
    char fmt[16];
    if (http_query_get(req->query, "format", fmt, sizeof fmt) == QC_OK) return strcmp(fmt, "note") == 0;
    const char *accept = http_req_header(req, "accept");
    return accept != NULL && strstr(accept, "text/plain") != NULL;
}

/* The latest quorum-signed checkpoint note (docs/CHECKPOINTS.md) with the header and commit
 * certificate of its block and the epoch whose set signed it; before any quorum has formed (or
 * since the ledger entered a new epoch), the head block with "note": null. */
static void h_checkpoint(http_req_t *req, http_res_t *res, void *data) {
    api_t *a = data;
    node_t *n = a->node;
    uint64_t height = n->store.head.height;
    char *note = NULL;
    size_t note_len = 0;
    const qc_validator_set_t *vs = &n->notes.vs; /* the set that signs (CHECKPOINTS.md §3) */
    const note_signed_t *s = notes_latest(&n->notes, &height);
    if (s && note_signed_format(s, n->genesis.chain_id, vs, &note, &note_len) != QC_OK) {
        http_respond_error(res, 500, "internal", "cannot format the signed checkpoint");
        return;
    }
    if (wants_note_text(req)) {
        if (note) http_respond_bytes(res, 200, "text/plain; charset=utf-8", note, note_len);
        else http_respond_error(res, 404, "not_found", "no checkpoint has been signed by a quorum yet");
        free(note);
        return;
    }
    qc_block_t b;
    qc_cert_t cert;
    if (height == 0 || store_block_get(&n->store, height, &b, &cert) != QC_OK) {
        free(note);
        if (height == 0) http_respond_error(res, 404, "not_found", "no block has been committed yet");
        else http_respond_error(res, 500, "internal", "cannot read block %" PRIu64, height);
        return;
    }
    json_t *signers = json_array();
    for (uint32_t i = 0; s && i < s->signer_count; i++)
        json_array_append_new(signers, json_string(vs->members[s->signers[i]].name));
    http_respond_json(res, 200, json_pack("{s:s, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
                                          "chain_id", n->genesis.chain_id, "genesis_hash",
                                          HEX(n->genesis.hash.b, 32), "height", (json_int_t)height,
                                          "log_size", (json_int_t)b.header.log_size, "log_root",
                                          HEX(b.header.log_root.b, 32), "header", header_json(&b.header),
                                          "cert", receipt_cert_json(&cert), "note",
                                          note ? json_stringn(note, note_len) : json_null(),
                                          "signers", signers, "quorum",
                                          (json_int_t)qc_quorum(vs->n), "epoch",
                                          (json_int_t)vs->epoch));
    qc_block_free(&b);
    free(note);
}

static void h_consistency(http_req_t *req, http_res_t *res, void *data) {
    api_t *a = data;
    uint64_t from = 0, to = 0, size = a->node->store.head.log_size;
    if (!api_query_u64(req, res, "from", size, &from, true)) return;
    if (!api_query_u64(req, res, "to", size, &to, true)) return;
    if (from > to) {
        http_respond_error(res, 400, "bad_request", "from must not exceed to");
        return;
    }
    qc_hash_t proof[MERKLE_PROOF_MAX], r1, r2;
    size_t len = 0;
    int rc = store_log_consistency_proof(&a->node->store, from, to, proof, &len);
    if (rc == QC_OK) rc = store_log_root_at(&a->node->store, from, &r1);
    if (rc == QC_OK) rc = store_log_root_at(&a->node->store, to, &r2);
    if (rc != QC_OK) { http_respond_error(res, 400, "bad_request", "%s", qc_strerror(rc)); return; }
    json_t *p = json_array();
    for (size_t i = 0; i < len; i++) json_array_append_new(p, HEX(proof[i].b, 32));
    http_respond_json(res, 200, json_pack("{s:I, s:I, s:o, s:o, s:o}", "from", (json_int_t)from,
                                          "to", (json_int_t)to, "from_root", HEX(r1.b, 32),
                                          "to_root", HEX(r2.b, 32), "proof", p));
}

/* ---------------------------------------------------------------- members, status, metrics */

static void h_members(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    api_t *a = data;
    const qc_validator_set_t *vs = &a->node->store.validators;
    json_t *list = json_array();
    for (uint32_t i = 0; i < vs->n; i++) {
        /* The addresses in force (governance may have moved them since the genesis). */
        const gov_info_t *info = &store_gov(&a->node->store)->info[i];
        json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "index",
                                              (json_int_t)i, "name", vs->members[i].name,
                                              "display_name", info->display_name, "node_key",
                                              HEX(vs->members[i].node_key.b, 32), "seal_key",
                                              HEX(vs->members[i].seal_key.b, 32), "admin_key",
                                              HEX(vs->members[i].admin_key.b, 32), "p2p_address",
                                              info->p2p_address, "api_address", info->api_address));
    }
    http_respond_json(res, 200, json_pack("{s:I, s:I, s:I, s:o}", "epoch", (json_int_t)vs->epoch,
                                          "quorum", (json_int_t)qc_quorum(vs->n),
                                          "governance_threshold",
                                          (json_int_t)vs->governance_threshold, "members", list));
}

static json_t *status_json(api_t *a) {
    node_status_t s;
    node_status(a->node, &s);
    const qc_validator_set_t *vs = &a->node->store.validators;
    json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:o, s:I, s:I, s:s, s:I, s:b, s:I, s:I, s:I, s:I}",
                     "city", a->node->cfg.city, "chain_id", a->node->genesis.chain_id,
                     "genesis_hash", HEX(a->node->genesis.hash.b, 32), "height",
                     (json_int_t)s.height, "head_hash", HEX(s.head_hash.b, 32), "log_size",
                     (json_int_t)s.log_size, "view", (json_int_t)s.view, "primary",
                     s.primary < vs->n ? vs->members[s.primary].name : "?", "epoch",
                     (json_int_t)s.epoch, "view_change",
                     s.view_change, "peers_up", (json_int_t)s.peers_up, "peers",
                     (json_int_t)(vs->n - 1), "lag",
                     (json_int_t)(s.max_peer_height > s.height ? s.max_peer_height - s.height : 0),
                     "mempool_txs", (json_int_t)s.mempool_txs);
    /* A learner follows the chain without voting (docs/GOVERNANCE.md). */
    if (j) json_object_set_new(j, "validator", json_boolean(s.self < vs->n));
    return j;
}

static void h_status(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    http_respond_json(res, 200, status_json(data));
}

static void h_health(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    api_t *a = data;
    const char *status;
    char why[512];
    if (node_health(a->node, &status, why, sizeof why))
        http_respond_json(res, 200, json_pack("{s:s}", "status", status));
    else
        http_respond_json(res, 503, json_pack("{s:s, s:s}", "status", status, "reason", why));
}

static void metric(prom_buf_t *b, const char *name, const char *type, const char *help, uint64_t v) {
    prom_family(b, name, type, help);
    prom_sample_u64(b, name, NULL, 0, v);
}

static void h_metrics(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    api_t *a = data;
    node_t *n = a->node;
    prom_buf_t b;
    prom_buf_init(&b);
    node_status_t s;
    node_status(n, &s);
    metric(&b, "qchain_height", "gauge", "Ledger head height.", s.height);
    metric(&b, "qchain_view", "gauge", "Current consensus view.", s.view);
    metric(&b, "qchain_log_size", "gauge", "Records in the record log.", s.log_size);
    metric(&b, "qchain_blocks_committed_total", "counter", "Blocks applied.", n->stats.blocks_applied);
    metric(&b, "qchain_txs_committed_total", "counter", "Transactions committed.", n->stats.txs_committed);
    metric(&b, "qchain_records_committed_total", "counter", "Records committed.", n->stats.records_committed);
    prom_family(&b, "qchain_lifecycle_committed_total", "counter",
                "Record lifecycle transactions committed, by type.");
    static const char *const life_types[3] = {"endorse", "revoke", "supersede"};
    for (int t = 0; t < 3; t++) {
        const char *labels[] = {"type", life_types[t]};
        prom_sample_u64(&b, "qchain_lifecycle_committed_total", labels, 1,
                        n->stats.lifecycle_committed[t]);
    }
    prom_family(&b, "qchain_share_committed_total", "counter",
                "Data-sharing transactions committed, by operation.");
    for (uint8_t op = QC_SHARE_DATASET; op <= QC_SHARE_ACCESS; op++) {
        const char *labels[] = {"op", qc_share_op_name(op)};
        prom_sample_u64(&b, "qchain_share_committed_total", labels, 1,
                        n->stats.share_committed[op - 1]);
    }
    metric(&b, "qchain_peers_up", "gauge", "Peers with an authenticated link.", s.peers_up);
    metric(&b, "qchain_mempool_txs", "gauge", "Transactions waiting.", n->mempool.count);
    metric(&b, "qchain_mempool_bytes", "gauge", "Bytes waiting.", n->mempool.bytes);
    prom_family(&b, "qchain_mempool_rejected_total", "counter", "Transactions refused, by reason.");
    static const char *const reasons[] = {
        "chain", "expired", "expiry_far", "member", "dup_pending", "dup_committed", "signature", "full", "type",
        "governance", "record", "share"};
    _Static_assert(sizeof reasons / sizeof reasons[0] == MEMPOOL_REJECT_COUNT, "a name per reason");
    for (int r = 0; r < MEMPOOL_REJECT_COUNT; r++) {
        const char *labels[] = {"reason", reasons[r]};
        prom_sample_u64(&b, "qchain_mempool_rejected_total", labels, 1, n->mempool.rejected[r]);
    }
    const pbft_stats_t *ps = pbft_stats(n->pbft);
    prom_family(&b, "qchain_consensus_dropped_total", "counter", "Consensus messages dropped, by reason.");
    struct { const char *r; uint64_t v; } drops[] = {
        {"bad_signature", ps->rx_bad_sig}, {"not_member", ps->rx_not_member},
        {"wrong_epoch", ps->rx_wrong_epoch}, {"stale", ps->rx_stale},
        {"out_of_window", ps->rx_out_of_window}, {"malformed", ps->rx_malformed},
        {"conflict", ps->rx_conflict}, {"duplicate", ps->rx_duplicate},
        {"bad_view_change", ps->rx_bad_view_change}, {"bad_new_view", ps->rx_bad_new_view},
        {"undecodable", n->stats.wire_malformed}, {"not_durable", n->stats.msgs_dropped_not_durable}};
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        const char *labels[] = {"reason", drops[i].r};
        prom_sample_u64(&b, "qchain_consensus_dropped_total", labels, 1, drops[i].v);
    }
    metric(&b, "qchain_view_changes_total", "counter", "View changes started.", ps->view_changes);
    const struct { const char *name, *type, *help; uint64_t v; } reach[] = {
        {"qchain_catching_up", "gauge",
         "1 while this node fetches blocks its peers already committed (view timer held).",
         s.catching_up},
        {"qchain_consensus_timer_held_ticks_total", "counter",
         "Ticks (10 ms) the view timer stood still: too few peers reachable, or catching up.",
         ps->timer_held_ticks},
        {"qchain_consensus_held_max_ticks", "gauge",
         "Longest a durable vote waited in the core's held queue, in ticks (10 ms).",
         ps->held_max_ticks},
        {"qchain_consensus_finals_sent_total", "counter",
         "Final checkpoint certificates of past epochs sent to replicas still in them.",
         ps->finals_sent},
        {"qchain_consensus_old_epoch_total", "counter",
         "Consensus messages of an epoch this node already left (a subset of wrong_epoch drops).",
         ps->rx_old_epoch}};
    for (size_t i = 0; i < sizeof reach / sizeof reach[0]; i++)
        metric(&b, reach[i].name, reach[i].type, reach[i].help, reach[i].v);
    const char *health_status;
    char health_why[512];
    bool healthy = node_health(n, &health_status, health_why, sizeof health_why);
    const struct { const char *name, *type, *help; uint64_t v; } alertm[] = {
        {"qchain_healthy", "gauge", "1 when /healthz answers 200 (ok), 0 when it answers 503.",
         healthy ? 1 : 0},
        {"qchain_storage_failing", "gauge",
         "1 while the ledger or the consensus state cannot write (full disk?); votes withheld.",
         strcmp(health_status, "storage failing") == 0 ? 1 : 0},
        {"qchain_lag_blocks", "gauge",
         "Blocks the most advanced peer reported beyond this node's ledger head.",
         s.max_peer_height > s.height ? s.max_peer_height - s.height : 0},
        {"qchain_not_voting", "gauge",
         "1 while the chain grows without this validator's commit votes (lost fault margin).",
         n->votes.not_voting ? 1 : 0},
        {"qchain_not_voting_episodes_total", "counter", "Times this validator stopped voting.",
         n->votes.episodes},
        {"qchain_last_vote_height", "gauge", "Highest block this node sent a commit vote for.",
         n->votes.voted_height}};
    for (size_t i = 0; i < sizeof alertm / sizeof alertm[0]; i++)
        metric(&b, alertm[i].name, alertm[i].type, alertm[i].help, alertm[i].v);
    const gov_state_t *g = store_gov(&n->store);
    const struct { const char *name, *type, *help; uint64_t v; } govm[] = {
        {"qchain_epoch", "gauge", "Membership epoch in force for the next block.",
         n->store.validators.epoch},
        {"qchain_governance_proposals_open", "gauge", "Governance proposals open for votes.",
         g->open_count},
        {"qchain_governance_change_waiting", "gauge",
         "1 while a passed membership change waits for its checkpoint.", g->waiting ? 1 : 0},
        {"qchain_epoch_switches_total", "counter", "Membership epochs this node moved into.",
         n->stats.epoch_switches},
        {"qchain_peer_relinks_total", "counter",
         "Times a membership change changed the peer links, which were closed and reopened.",
         n->stats.peer_relinks}};
    for (size_t i = 0; i < sizeof govm / sizeof govm[0]; i++)
        metric(&b, govm[i].name, govm[i].type, govm[i].help, govm[i].v);
    metric(&b, "qchain_verify_workers", "gauge",
           "Threads that verify signatures, counting the loop thread (config verify.workers).",
           par_workers(n->par));
    prom_family(&b, "qchain_tx_signatures_verified_total", "counter",
                "Transaction signatures verified: on admission (clients' and peers'), and in "
                "proposals (those the mempool had not verified).");
    prom_sample_u64(&b, "qchain_tx_signatures_verified_total", (const char *[]){"stage", "admission"},
                    1, n->stats.admit_sig_checks);
    prom_sample_u64(&b, "qchain_tx_signatures_verified_total", (const char *[]){"stage", "proposal"},
                    1, n->stats.sig_checks);
    prom_family(&b, "qchain_proposals_compact_total", "counter",
                "Compact proposals (transactions by id): sent as primary, rebuilt from the "
                "mempool, missing a transaction (fetched), completed by a reply holding only "
                "the missing ones.");
    prom_sample_u64(&b, "qchain_proposals_compact_total", (const char *[]){"result", "sent"}, 1,
                    n->stats.compact_sent);
    prom_sample_u64(&b, "qchain_proposals_compact_total", (const char *[]){"result", "rebuilt"}, 1,
                    n->stats.compact_rebuilt);
    prom_sample_u64(&b, "qchain_proposals_compact_total", (const char *[]){"result", "fetched"}, 1,
                    n->stats.compact_fetched);
    prom_sample_u64(&b, "qchain_proposals_compact_total", (const char *[]){"result", "completed"},
                    1, n->stats.compact_completed);
    metric(&b, "qchain_txs_resent_total", "counter",
           "Transactions sent to the peers again after waiting unproposed while the chain "
           "stood still.", n->stats.txs_resent);
    metric(&b, "qchain_censor_resent_total", "counter",
           "Watched transactions sent to the peers again after a block with room passed them "
           "over.", n->stats.censor_resent);
    metric(&b, "qchain_censor_suspicions_total", "counter",
           "View changes this node asked for because the primary kept passing a transaction "
           "over.", n->stats.censor_suspicions);
    metric(&b, "qchain_body_requests_total", "counter",
           "Requests for a proposed block's body this node sent (it had none, or could not "
           "rebuild a compact one).", n->stats.body_requests);
    metric(&b, "qchain_proposals_refused_total", "counter", "Proposed blocks refused.", n->stats.proposals_invalid);
    metric(&b, "qchain_proposals_built_total", "counter", "Blocks this node proposed.", n->stats.proposals_built);
    metric(&b, "qchain_consensus_syncs_total", "counter",
           "Synced consensus-state writes (votes wait for them).", n->stats.persist_writes);
    metric(&b, "qchain_blocks_caught_up_total", "counter",
           "Blocks applied from catch-up replies after checking their certificates.",
           n->stats.blocks_caught_up);
    metric(&b, "qchain_catchup_served_blocks_total", "counter",
           "Blocks this node sent to peers answering their catch-up requests and head probes.",
           n->stats.fetch_served_blocks);
    metric(&b, "qchain_catchup_served_bytes_total", "counter",
           "Bytes of those replies (frames before encryption), head-only replies included.",
           n->stats.fetch_served_bytes);
    metric(&b, "qchain_catchup_streamed_total", "counter",
           "Catch-up requests sent before the reply before them was applied (streaming).",
           n->stream_requests);
    metric(&b, "qchain_peer_blocks_refused_total", "counter",
           "Fetched blocks or certificates from peers that failed their checks.",
           n->stats.peer_bad_blocks);
    metric(&b, "qchain_checkpoints_signed_total", "counter",
           "Checkpoint notes that reached a quorum of validator signatures.",
           n->notes.stats.checkpoints);
    metric(&b, "qchain_checkpoint_sigs_conflicting_total", "counter",
           "Validly signed checkpoint notes that contradict this node's ledger (fork evidence).",
           n->notes.stats.sigs_conflicting);
    store_state_stats_t ss;
    store_state_stats(&n->store, &ss);
    const struct { const char *name, *type, *help; uint64_t v; } statem[] = {
        {"qchain_state_map_nodes", "gauge",
         "State-map nodes in memory (resident: all of them; paged: the cache).", ss.cache.nodes},
        {"qchain_state_map_dirty_nodes", "gauge",
         "Paged state map: cached nodes not yet written to the ledger.", ss.cache.dirty},
        {"qchain_state_map_reads_from_disk_total", "counter",
         "Paged state map: node reads the cache missed.", ss.cache.misses},
        {"qchain_state_map_subtrees_computed_total", "counter",
         "Paged state map: missed nodes hashed from the record index (not stored).",
         ss.subtrees_computed},
        {"qchain_state_map_snapshots_total", "counter",
         "Paged state map: snapshots written (cache full, or a clean stop).",
         ss.snapshots_written}};
    for (size_t i = 0; i < sizeof statem / sizeof statem[0]; i++)
        metric(&b, statem[i].name, statem[i].type, statem[i].help, statem[i].v);
    const net_stats_t *ns = net_stats(&n->net);
    prom_family(&b, "qchain_net_handshakes_refused_total", "counter",
                "Peer-port connections refused before or during the handshake, by reason.");
    for (int r = NET_FAIL_NONE + 1; r < NET_FAIL_COUNT; r++) {
        const char *labels[] = {"reason", net_fail_name((net_fail_t)r)};
        prom_sample_u64(&b, "qchain_net_handshakes_refused_total", labels, 1, ns->hs_fail[r]);
    }
    uint64_t dup_identity = 0, bytes_out = 0, bytes_in = 0;
    for (uint32_t p = 0; p < n->net.cfg.n; p++) {
        if (p == n->net.cfg.self) continue;
        const net_peer_stats_t *pst = net_peer_stats(&n->net, p);
        dup_identity += pst->dup_identity;
        bytes_out += pst->bytes_out;
        bytes_in += pst->bytes_in;
    }
    const struct { const char *name, *type, *help; uint64_t v; } netm[] = {
        {"qchain_net_accepted_total", "counter", "Inbound peer-port TCP connections accepted.",
         ns->accepted},
        {"qchain_net_handshakes_pending", "gauge", "Inbound connections in the handshake.",
         ns->pending},
        {"qchain_net_handshakes_pending_outsiders", "gauge",
         "Of those, connections from no member's address.", ns->pending_outsiders},
        {"qchain_net_dup_identity_total", "counter",
         "Second live connections that claimed a peer's key while its link was up (two nodes "
         "with one key?).", dup_identity},
        {"qchain_net_bytes_sent_total", "counter",
         "Bytes queued for peer links (framed and encrypted, as on the wire).", bytes_out},
        {"qchain_net_bytes_received_total", "counter",
         "Bytes read from authenticated peer links (framed and encrypted).", bytes_in},
        {"qchain_log_suppressed_total", "counter",
         "Log lines the rate limits left out (peer links and HTTP).",
         ns->log_suppressed + a->server.log_accept.suppressed_total}};
    for (size_t i = 0; i < sizeof netm / sizeof netm[0]; i++)
        metric(&b, netm[i].name, netm[i].type, netm[i].help, netm[i].v);
    prom_histogram_write(&b, "qchain_commit_latency_seconds",
                         "Submit (with wait) to commit latency.", &a->commit_latency);
    http_server_metrics(&a->server, &b);
    if (prom_buf_status(&b) != QC_OK) http_respond_error(res, 500, "internal", "out of memory");
    else http_respond_bytes(res, 200, "text/plain; version=0.0.4", b.data, b.len);
    prom_buf_free(&b);
}

/* ---------------------------------------------------------------- start and stop */

static int split_addr(const char *addr, char *host, size_t cap, uint16_t *port) {
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= cap) return QC_ERR_INVALID;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || p > 65535) return QC_ERR_INVALID;
    *port = (uint16_t)p;
    return QC_OK;
}

int api_start(api_t *a, node_t *n, char *why, size_t why_cap) {
    memset(a, 0, sizeof *a);
    a->node = n;
    prom_histogram_init(&a->commit_latency, latency_bounds_s,
                        sizeof latency_bounds_s / sizeof latency_bounds_s[0]);
    http_config_t hc;
    http_config_default(&hc);
    hc.max_connections = n->cfg.api.max_connections;
    hc.max_connections_per_client = n->cfg.api.max_connections_per_client;
    hc.header_timeout_ms = n->cfg.api.header_timeout_ms;
    hc.max_header_bytes = n->cfg.api.max_header_bytes;
    hc.max_body_bytes = n->cfg.api.max_body_bytes;
    hc.request_timeout_ms = n->cfg.api.request_timeout_ms;
    int rc = http_server_init(&a->server, n->loop, &hc);
    if (rc != QC_OK) { snprintf(why, why_cap, "api: %s", qc_strerror(rc)); return rc; }
    static const struct { const char *m, *p; http_handler_cb h; } routes[] = {
        {"POST", "/v1/transactions", h_submit},
        {"GET", "/v1/transactions/{id}", h_tx},
        {"GET", "/v1/records/{digest}", h_record},
        {"GET", "/v1/records/{digest}/receipt", h_receipt},
        {"GET", "/v1/records/{digest}/status-proof", h_status_proof},
        {"GET", "/v1/blocks/{height}", h_block},
        {"GET", "/v1/blocks/by-hash/{hash}", h_block_by_hash},
        {"GET", "/v1/checkpoint", h_checkpoint},
        {"GET", "/v1/consistency", h_consistency},
        {"GET", "/v1/members", h_members},
        {"GET", "/v1/members/history", h_members_history},
        {"GET", "/v1/governance/proposals", h_gov_proposals},
        {"GET", "/v1/governance/proposals/{id}", h_gov_proposal},
        {"GET", "/v1/datasets", h_datasets},
        {"GET", "/v1/datasets/{id}", h_dataset},
        {"GET", "/v1/cities/{name}/requests", h_city_requests},
        {"GET", "/v1/cities/{name}/log", h_city_log},
        {"GET", "/v1/status", h_status},
        {"GET", "/v1/peers", h_peers},
        {"GET", "/v1/genesis", h_genesis},
        {"GET", "/metrics", h_metrics},
        {"GET", "/healthz", h_health},
        {"GET", "/", h_web_index},
        {"GET", "/index.html", h_web_index},
        {"GET", "/web/{name}", h_web_file},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && rc == QC_OK; i++)
        rc = http_route(&a->server, routes[i].m, routes[i].p, routes[i].h, a);
    char host[64];
    uint16_t port = 0;
    if (rc == QC_OK) rc = split_addr(n->cfg.api.listen, host, sizeof host, &port);
    if (rc == QC_OK) rc = http_server_listen(&a->server, host, port);
    if (rc != QC_OK) {
        snprintf(why, why_cap, "api on %s: %s", n->cfg.api.listen, qc_strerror(rc));
        http_server_close(&a->server, NULL);
        return rc;
    }
    /* GET /v1/genesis serves these bytes: the file as the node loaded it, or nothing. */
    a->genesis_hash = n->genesis.hash;
    rc = api_web_genesis_read(n->cfg.genesis_path, &n->genesis.hash, &a->genesis_file,
                              &a->genesis_file_len);
    if (rc != QC_OK)
        QC_WARN("api: GET /v1/genesis will answer 500: %s %s", n->cfg.genesis_path,
                rc == QC_ERR_CORRUPT ? "changed since the node loaded it" : qc_strerror(rc));
    uv_timer_init(n->loop, &a->sweep);
    a->sweep.data = a;
    uv_timer_start(&a->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    n->on_commit = on_commit;
    n->on_commit_user = a;
    QC_INFO("api listening on %s:%u", host, http_server_port(&a->server));
    return QC_OK;
}

static void api_closed_step(api_t *a) {
    if (--a->closing != 0) return;
    free(a->genesis_file);
    a->genesis_file = NULL;
    if (a->closed_cb) a->closed_cb(a->closed_user);
}

static void on_sweep_closed(uv_handle_t *h) { api_closed_step(h->data); }

static void on_server_closed(http_server_t *s) {
    api_closed_step((api_t *)((char *)s - offsetof(api_t, server)));
}

void api_stop(api_t *a, void (*cb)(void *), void *user) {
    a->closed_cb = cb;
    a->closed_user = user;
    a->closing = 2;
    a->node->on_commit = NULL;
    uv_timer_stop(&a->sweep);
    uv_close((uv_handle_t *)&a->sweep, on_sweep_closed);
    http_server_close(&a->server, on_server_closed);
}
