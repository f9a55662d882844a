/* api_share.c - the API's views of the data-sharing trail (see api_share.h; field meanings in
 * docs/API.md "Data sharing"): the catalogue, one dataset with its whole trail, a city's open
 * requests, and the fields of a SHARE transaction. Every listing is bounded. */
#include "api_share.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "share.h"
#include "store.h"

#define HEX(p, n) receipt_hex_json((p), (n))

/* A code's name, or JSON null for a code without one. */
static json_t *name_or_null(const char *name) { return name ? json_string(name) : json_null(); }

void api_share_tx_fields(json_t *obj, const qc_tx_t *tx) {
    const qc_share_op_t *op = tx->share;
    if (op == NULL) return;
    json_object_set_new(obj, "op", json_string(qc_share_op_name(op->op)));
    switch (op->op) {
    case QC_SHARE_DATASET:
        json_object_set_new(obj, "name", json_string(op->name)); /* UTF-8 by the parser */
        json_object_set_new(obj, "schema", HEX(op->schema.b, 32));
        json_object_set_new(obj, "terms", op->terms_kind == QC_TERMS_TEXT ? json_string(op->terms)
                                                                           : json_null());
        json_object_set_new(obj, "terms_digest", op->terms_kind == QC_TERMS_DIGEST
                                                     ? HEX(op->terms_digest.b, 32) : json_null());
        break;
    case QC_SHARE_REQUEST:
        json_object_set_new(obj, "dataset", HEX(op->ref.b, 32));
        json_object_set_new(obj, "purpose", json_integer(op->code));
        json_object_set_new(obj, "purpose_name", name_or_null(qc_share_purpose_name(op->code)));
        json_object_set_new(obj, "purpose_text", json_string(op->purpose));
        json_object_set_new(obj, "from_height", json_integer((json_int_t)op->from_height));
        json_object_set_new(obj, "until_height", json_integer((json_int_t)op->until_height));
        break;
    case QC_SHARE_DENY:
        json_object_set_new(obj, "reason", json_integer(op->code));
        json_object_set_new(obj, "reason_name", name_or_null(qc_share_deny_name(op->code)));
        json_object_set_new(obj, "request", HEX(op->ref.b, 32));
        break;
    default: /* GRANT, ACCESS */
        json_object_set_new(obj, "request", HEX(op->ref.b, 32));
        if (op->op == QC_SHARE_ACCESS) json_object_set_new(obj, "digest", HEX(op->digest.b, 32));
    }
}

static json_t *dataset_json(const sh_dataset_t *d) {
    return json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:I, s:I}", "id", HEX(d->id.b, 32),
                     "owner", d->owner, "name", d->name, "schema", HEX(d->schema.b, 32),
                     "terms", d->terms_kind == QC_TERMS_TEXT ? json_string(d->terms) : json_null(),
                     "terms_digest", d->terms_kind == QC_TERMS_DIGEST
                                         ? HEX(d->terms_digest.b, 32) : json_null(),
                     "height", (json_int_t)d->height, "request_count",
                     (json_int_t)d->request_count);
}

static json_t *request_json(const sh_request_t *q) {
    json_t *answer = json_null();
    if (q->state != SH_REQ_OPEN) {
        answer = json_pack("{s:I, s:o}", "height", (json_int_t)q->answer_height, "tx_id",
                           HEX(q->answer_tx_id.b, 32));
        if (q->state == SH_REQ_DENIED) {
            json_object_set_new(answer, "reason", json_integer(q->reason));
            json_object_set_new(answer, "reason_name", name_or_null(qc_share_deny_name(q->reason)));
        }
    }
    return json_pack("{s:o, s:o, s:s, s:i, s:o, s:s, s:I, s:I, s:I, s:s, s:o, s:I}", "id",
                     HEX(q->id.b, 32), "dataset", HEX(q->dataset.b, 32), "requester",
                     q->requester, "purpose", (int)q->purpose, "purpose_name",
                     name_or_null(qc_share_purpose_name(q->purpose)), "purpose_text",
                     q->purpose_text, "from_height", (json_int_t)q->from_height, "until_height",
                     (json_int_t)q->until_height, "height", (json_int_t)q->height, "state",
                     sh_req_state_name(q->state), "answer", answer, "access_count",
                     (json_int_t)q->access_count);
}

/* The store's error as a response: 500 with its name. */
static void respond_store_error(http_res_t *res, int rc) {
    http_respond_error(res, 500, "internal", "%s", qc_strerror(rc));
}

/* Reads query parameter `name` as 64 hex characters into *out; *have tells whether it was
 * given. false after answering 400. */
static bool query_hash(http_req_t *req, http_res_t *res, const char *name, qc_hash_t *out,
                       bool *have) {
    char buf[80];
    int rc = http_query_get(req->query, name, buf, sizeof buf);
    *have = rc == QC_OK;
    if (rc == QC_ERR_NOTFOUND) return true;
    if (rc != QC_OK || qc_hex_decode(out->b, 32, buf) != QC_OK) {
        http_respond_error(res, 400, "bad_request", "query parameter %s must be 64 hex characters",
                           name);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- GET /v1/datasets */

typedef struct {
    json_t *list;
    int rc;
    size_t n, limit;
    bool more;          /* a dataset follows the page */
    qc_hash_t last;     /* the page's last id */
} catalogue_t;

static bool catalogue_cb(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val,
                         size_t vlen) {
    catalogue_t *c = ctx;
    if (c->n == c->limit) {
        c->more = true;
        return false;
    }
    sh_dataset_t *d = malloc(sizeof *d);
    if (d == NULL) { c->rc = QC_ERR_NOMEM; return false; }
    c->rc = klen == 33 && sh_dataset_decode(val, vlen, d) == QC_OK && !memcmp(d->id.b, k + 1, 32)
                ? QC_OK : QC_ERR_CORRUPT;
    if (c->rc == QC_OK) {
        json_array_append_new(c->list, dataset_json(d));
        c->last = d->id;
        c->n++;
    }
    free(d);
    return c->rc == QC_OK;
}

void h_datasets(http_req_t *req, http_res_t *res, void *data) {
    node_t *n = ((api_t *)data)->node;
    uint64_t limit = API_DATASETS_DEFAULT;
    if (!api_query_u64(req, res, "limit", API_DATASETS_MAX, &limit, false)) return;
    if (limit == 0) {
        http_respond_error(res, 400, "bad_request", "query parameter limit must be 1..%u",
                           API_DATASETS_MAX);
        return;
    }
    qc_hash_t after;
    bool have_after;
    if (!query_hash(req, res, "after", &after, &have_after)) return;
    uint8_t prefix = SH_DATASET, ak[SH_KEY_MAX];
    size_t ak_len = have_after ? sh_key_dataset(ak, after.b) : 0;
    catalogue_t c = {json_array(), QC_OK, 0, limit, false, {{0}}};
    /* one more than asked tells whether a next page exists */
    int rc = store_share_each(&n->store, &prefix, 1, have_after ? ak : NULL, ak_len, limit + 1,
                              catalogue_cb, &c);
    if (rc == QC_OK) rc = c.rc;
    if (rc != QC_OK) {
        json_decref(c.list);
        respond_store_error(res, rc);
        return;
    }
    json_t *next = c.more ? HEX(c.last.b, 32) : json_null();
    http_respond_json(res, 200, json_pack("{s:o, s:o}", "datasets", c.list, "next", next));
}

/* ---------------------------------------------------------------- GET /v1/datasets/{id} */

/* The accesses of request q (at most API_ACCESSES_MAX) as a JSON array; NULL on a store error
 * (*rc). */
static json_t *accesses_json(node_t *n, const sh_request_t *q, int *rc) {
    json_t *list = json_array();
    uint32_t count = q->access_count < API_ACCESSES_MAX ? q->access_count : API_ACCESSES_MAX;
    for (uint32_t i = 0; i < count && *rc == QC_OK; i++) {
        uint8_t k[SH_KEY_MAX], v[SH_VALUE_MAX];
        size_t vlen;
        sh_access_t a;
        *rc = store_share_get(&n->store, k, sh_key_access(k, q->id.b, i), v, &vlen);
        if (*rc == QC_ERR_NOTFOUND) *rc = QC_ERR_CORRUPT; /* access_count says it exists */
        if (*rc == QC_OK && sh_access_decode(v, vlen, &a) != QC_OK) *rc = QC_ERR_CORRUPT;
        if (*rc == QC_OK)
            json_array_append_new(list, json_pack("{s:I, s:o, s:o}", "height",
                                                  (json_int_t)a.height, "tx_id",
                                                  HEX(a.tx_id.b, 32), "digest",
                                                  HEX(a.digest.b, 32)));
    }
    if (*rc != QC_OK) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/* Request `id` after the head into *q: QC_OK, QC_ERR_NOTFOUND, or the store's error. */
static int read_request(node_t *n, const uint8_t id[32], sh_request_t *q) {
    uint8_t k[SH_KEY_MAX], v[SH_VALUE_MAX];
    size_t vlen;
    int rc = store_share_get(&n->store, k, sh_key_request(k, id), v, &vlen);
    if (rc == QC_OK && (sh_request_decode(v, vlen, q) != QC_OK || memcmp(q->id.b, id, 32) != 0))
        rc = QC_ERR_CORRUPT;
    return rc;
}

void h_dataset(http_req_t *req, http_res_t *res, void *data) {
    node_t *n = ((api_t *)data)->node;
    qc_hash_t id;
    if (!api_param_hash(req, res, "id", &id)) return;
    const char *v = http_req_param(req, "id");
    uint64_t from = 0;
    if (!api_query_u64(req, res, "from", UINT32_MAX, &from, false)) return;
    sh_dataset_t *d = malloc(sizeof *d);
    sh_request_t *q = malloc(sizeof *q);
    int rc = d && q ? QC_OK : QC_ERR_NOMEM;
    uint8_t k[SH_KEY_MAX], val[SH_VALUE_MAX];
    size_t vlen;
    if (rc == QC_OK) rc = store_share_get(&n->store, k, sh_key_dataset(k, id.b), val, &vlen);
    if (rc == QC_OK && (sh_dataset_decode(val, vlen, d) != QC_OK || memcmp(d->id.b, id.b, 32)))
        rc = QC_ERR_CORRUPT;
    if (rc == QC_ERR_NOTFOUND) {
        http_respond_error(res, 404, "not_found", "no dataset %s", v);
        free(d);
        free(q);
        return;
    }
    json_t *j = rc == QC_OK ? dataset_json(d) : NULL;
    json_t *requests = json_array();
    /* the page of requests from..end, at most API_TRAIL_MAX */
    uint64_t end = rc == QC_OK ? d->request_count : 0;
    json_t *next = json_null();
    if (end > from + API_TRAIL_MAX) {
        end = from + API_TRAIL_MAX;
        json_decref(next);
        next = json_integer((json_int_t)end);
    }
    for (uint32_t i = (uint32_t)from; i < end && rc == QC_OK; i++) {
        rc = store_share_get(&n->store, k, sh_key_trail(k, id.b, i), val, &vlen);
        if (rc == QC_OK && vlen != 32) rc = QC_ERR_CORRUPT;
        if (rc == QC_OK) rc = read_request(n, val, q);
        if (rc == QC_ERR_NOTFOUND) rc = QC_ERR_CORRUPT; /* request_count says it exists */
        json_t *acc = rc == QC_OK ? accesses_json(n, q, &rc) : NULL;
        if (rc == QC_OK) {
            json_t *qj = request_json(q);
            json_object_set_new(qj, "accesses", acc);
            json_array_append_new(requests, qj);
        }
    }
    free(d);
    free(q);
    if (rc != QC_OK) {
        json_decref(j);
        json_decref(requests);
        json_decref(next);
        respond_store_error(res, rc);
        return;
    }
    json_object_set_new(j, "requests", requests);
    json_object_set_new(j, "requests_next", next);
    http_respond_json(res, 200, j);
}

/* ---------------------------------------------------------------- GET /v1/cities/{name}/requests */

typedef struct {
    node_t *n;
    json_t *list;
    size_t id_off;      /* where the request id starts in the keys listed */
    int rc;
} open_list_t;

static bool open_cb(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val;
    open_list_t *o = ctx;
    sh_request_t *q = malloc(sizeof *q);
    sh_dataset_t *d = malloc(sizeof *d);
    o->rc = q && d ? QC_OK : QC_ERR_NOMEM;
    if (o->rc == QC_OK && (klen != o->id_off + 32 || vlen != 0)) o->rc = QC_ERR_CORRUPT;
    if (o->rc == QC_OK) o->rc = read_request(o->n, k + o->id_off, q);
    uint8_t dk[SH_KEY_MAX], dv[SH_VALUE_MAX];
    size_t dlen;
    if (o->rc == QC_OK) o->rc = store_share_get(&o->n->store, dk, sh_key_dataset(dk, q->dataset.b),
                                                dv, &dlen);
    if (o->rc == QC_OK && sh_dataset_decode(dv, dlen, d) != QC_OK) o->rc = QC_ERR_CORRUPT;
    if (o->rc == QC_ERR_NOTFOUND) o->rc = QC_ERR_CORRUPT; /* an open key names a request */
    if (o->rc == QC_OK) {
        json_t *qj = request_json(q);
        json_object_set_new(qj, "dataset_name", json_string(d->name));
        json_object_set_new(qj, "owner", json_string(d->owner));
        json_array_append_new(o->list, qj);
    }
    free(q);
    free(d);
    return o->rc == QC_OK;
}

/* The open requests of `city` in `role` (at most API_OPEN_MAX); NULL on a store error (*rc). */
static json_t *open_requests(node_t *n, const char *city, uint8_t role, int *rc) {
    uint8_t prefix[SH_KEY_MAX];
    size_t plen = sh_key_open(prefix, role, city, (const uint8_t[32]){0}) - 32;
    open_list_t o = {n, json_array(), plen, QC_OK};
    *rc = store_share_each(&n->store, prefix, plen, NULL, 0, API_OPEN_MAX, open_cb, &o);
    if (*rc == QC_OK) *rc = o.rc;
    if (*rc != QC_OK) {
        json_decref(o.list);
        return NULL;
    }
    return o.list;
}

void h_city_requests(http_req_t *req, http_res_t *res, void *data) {
    node_t *n = ((api_t *)data)->node;
    const char *city = http_req_param(req, "name");
    if (city == NULL || !qc_member_name_valid(city)) {
        http_respond_error(res, 400, "bad_request", "name must be a member name: 1..%d of "
                           "[a-z0-9-], not starting or ending with '-'", QC_MEMBER_NAME_MAX);
        return;
    }
    int rc = QC_OK;
    json_t *to = open_requests(n, city, SH_ROLE_TO, &rc);
    json_t *from = rc == QC_OK ? open_requests(n, city, SH_ROLE_FROM, &rc) : NULL;
    if (rc != QC_OK) {
        json_decref(to);
        respond_store_error(res, rc);
        return;
    }
    http_respond_json(res, 200, json_pack("{s:s, s:o, s:o}", "city", city, "to", to, "from", from));
}
