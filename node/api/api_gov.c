/* api_gov.c - the API's governance and membership-history endpoints (docs/API.md): proposals
 * with their votes by city name, one proposal, and the epochs from the genesis on; split from
 * api.c so the read-only governance views live beside each other. */
#include "api_gov.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HEX(p, n) receipt_hex_json((p), (n))

/* The validator sets a response names cities from, looked up once per epoch (a response
 * touches few epochs; the cache is bounded and falls back to a fresh lookup when full). */
#define SETS_CACHED_MAX 8

typedef struct {
    store_t *store;
    uint64_t head_height;
    size_t count;
    uint64_t epochs[SETS_CACHED_MAX];
    qc_validator_set_t *sets[SETS_CACHED_MAX]; /* malloc'd, owned */
    qc_validator_set_t scratch;               /* when the cache is full */
} set_cache_t;

static void sets_free(set_cache_t *c) {
    for (size_t i = 0; i < c->count; i++) free(c->sets[i]);
}

/* The validator set of epoch (borrowed from c until the next call), or NULL if unknown. */
static const qc_validator_set_t *sets_get(set_cache_t *c, uint64_t epoch) {
    for (size_t i = 0; i < c->count; i++)
        if (c->epochs[i] == epoch) return c->sets[i];
    qc_validator_set_t *vs = c->count < SETS_CACHED_MAX ? malloc(sizeof *vs) : &c->scratch;
    if (vs == NULL || store_validators(c->store, epoch, vs) != QC_OK) {
        if (vs != &c->scratch) free(vs);
        return NULL;
    }
    if (vs != &c->scratch) {
        c->epochs[c->count] = epoch;
        c->sets[c->count++] = vs;
    }
    return vs;
}

/* The cities of a vote bitmap over vs's indices, as an array of names. */
static json_t *cities_json(const qc_validator_set_t *vs, uint64_t bits) {
    json_t *a = json_array();
    for (uint32_t i = 0; vs != NULL && i < vs->n && i < 64; i++)
        if (bits & (UINT64_C(1) << i)) json_array_append_new(a, json_string(vs->members[i].name));
    return a;
}

static json_t *change_json(const qc_change_t *c) {
    json_t *j = json_pack("{s:s}", "kind", gov_change_kind_name(c->kind));
    switch (c->kind) {
    case QC_CHANGE_ADD:
        json_object_set_new(j, "name", json_string(c->name));
        json_object_set_new(j, "display_name", json_string(c->display_name));
        json_object_set_new(j, "node_key", HEX(c->node_key.b, 32));
        json_object_set_new(j, "seal_key", HEX(c->seal_key.b, 32));
        json_object_set_new(j, "admin_key", HEX(c->admin_key.b, 32));
        json_object_set_new(j, "p2p_address", json_string(c->p2p_address));
        json_object_set_new(j, "api_address", json_string(c->api_address));
        break;
    case QC_CHANGE_REMOVE:
        json_object_set_new(j, "name", json_string(c->name));
        break;
    case QC_CHANGE_ROTATE:
        json_object_set_new(j, "name", json_string(c->name));
        json_object_set_new(j, "role", json_string(gov_role_name(c->role)));
        json_object_set_new(j, "new_key", HEX(c->new_key.b, 32));
        break;
    case QC_CHANGE_ADDRESSES:
        json_object_set_new(j, "name", json_string(c->name));
        json_object_set_new(j, "p2p_address", json_string(c->p2p_address));
        json_object_set_new(j, "api_address", json_string(c->api_address));
        break;
    case QC_CHANGE_THRESHOLD:
        json_object_set_new(j, "threshold", json_integer(c->threshold));
        break;
    default:
        break;
    }
    return j;
}

/* One proposal as docs/API.md shows it. An open one whose vote expiry is below the next
 * block's height is shown "expired": no vote can count any more. */
static json_t *proposal_json(set_cache_t *c, const gov_proposal_t *p) {
    const qc_validator_set_t *vs = sets_get(c, p->epoch);
    const char *status = gov_status_name(p->status);
    if (p->status == GOV_OPEN && p->vote_expiry_height < c->head_height + 1)
        status = gov_status_name(GOV_EXPIRED);
    json_t *changes = json_array();
    for (uint8_t i = 0; i < p->change_count && i < QC_GOV_CHANGES_MAX; i++)
        json_array_append_new(changes, change_json(&p->changes[i]));
    const char *proposer = vs != NULL && p->proposer < vs->n ? vs->members[p->proposer].name : "?";
    return json_pack("{s:o, s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:o, s:o, s:I, s:o}", "id",
                     HEX(p->id.b, 32), "epoch", (json_int_t)p->epoch, "proposer", proposer,
                     "proposed_height", (json_int_t)p->proposed_height, "vote_expiry_height",
                     (json_int_t)p->vote_expiry_height, "status", status, "closed_height",
                     (json_int_t)p->closed_height, "effective_height",
                     (json_int_t)p->effective_height, "approvals",
                     cities_json(vs, p->approvals), "rejections", cities_json(vs, p->rejections),
                     "threshold", (json_int_t)(vs ? vs->governance_threshold : 0), "changes",
                     changes);
}

typedef struct {
    set_cache_t *cache;
    json_t *list;
} each_ctx_t;

static bool each_proposal(void *ctx, const gov_proposal_t *p) {
    each_ctx_t *e = ctx;
    json_array_append_new(e->list, proposal_json(e->cache, p));
    return true;
}

/* GET /v1/governance/proposals: the open ones, the passed change waiting for its checkpoint,
 * and every record ever made, in id order (at most API_PROPOSALS_MAX). */
void h_gov_proposals(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    node_t *n = ((api_t *)data)->node;
    const gov_state_t *g = store_gov(&n->store);
    set_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL) { http_respond_error(res, 500, "internal", "out of memory"); return; }
    c->store = &n->store;
    c->head_height = n->store.head.height;
    json_t *open = json_array();
    for (uint32_t i = 0; i < g->open_count && i < GOV_PROPOSALS_MAX; i++)
        json_array_append_new(open, proposal_json(c, &g->open[i]));
    json_t *waiting = json_null();
    if (g->waiting) {
        json_decref(waiting);
        waiting = json_pack("{s:o, s:I, s:I, s:I}", "proposal", proposal_json(c, &g->passed),
                            "switch_height", (json_int_t)g->switch_height, "next_epoch",
                            (json_int_t)g->next_vs.epoch, "next_threshold",
                            (json_int_t)g->next_vs.governance_threshold);
    }
    each_ctx_t e = {c, json_array()};
    int rc = store_proposals_each(&n->store, API_PROPOSALS_MAX, each_proposal, &e);
    sets_free(c);
    free(c);
    if (rc != QC_OK) {
        json_decref(open);
        json_decref(waiting);
        json_decref(e.list);
        http_respond_error(res, 500, "internal", "%s", qc_strerror(rc));
        return;
    }
    http_respond_json(res, 200, json_pack("{s:o, s:o, s:o}", "open", open, "waiting", waiting,
                                          "proposals", e.list));
}

/* GET /v1/governance/proposals/{id}: its latest record. */
void h_gov_proposal(http_req_t *req, http_res_t *res, void *data) {
    node_t *n = ((api_t *)data)->node;
    qc_hash_t id;
    const char *v = http_req_param(req, "id");
    if (v == NULL || qc_hex_decode(id.b, 32, v) != QC_OK) {
        http_respond_error(res, 400, "bad_request", "id must be 64 hex characters");
        return;
    }
    gov_proposal_t p;
    int rc = store_proposal_get(&n->store, &id, &p);
    if (rc == QC_ERR_NOTFOUND) {
        http_respond_error(res, 404, "not_found", "no proposal %s", v);
        return;
    }
    if (rc != QC_OK) { http_respond_error(res, 500, "internal", "%s", qc_strerror(rc)); return; }
    set_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL) { http_respond_error(res, 500, "internal", "out of memory"); return; }
    c->store = &n->store;
    c->head_height = n->store.head.height;
    json_t *j = proposal_json(c, &p);
    sets_free(c);
    free(c);
    http_respond_json(res, 200, j);
}

/* GET /v1/members/history: every epoch from the genesis, its first block, threshold and set. */
void h_members_history(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    node_t *n = ((api_t *)data)->node;
    store_epoch_span_t *spans = calloc(STORE_EPOCHS_MAX, sizeof *spans);
    qc_validator_set_t *vs = malloc(sizeof *vs);
    size_t count = 0;
    int rc = spans && vs ? store_epochs(&n->store, spans, STORE_EPOCHS_MAX, &count) : QC_ERR_NOMEM;
    json_t *epochs = json_array();
    for (size_t i = 0; rc == QC_OK && i < count; i++) {
        rc = store_validators(&n->store, spans[i].epoch, vs);
        if (rc != QC_OK) break;
        json_t *members = json_array();
        for (uint32_t m = 0; m < vs->n; m++)
            json_array_append_new(members, json_pack("{s:s, s:o, s:o, s:o}", "name",
                                                     vs->members[m].name, "node_key",
                                                     HEX(vs->members[m].node_key.b, 32),
                                                     "seal_key", HEX(vs->members[m].seal_key.b, 32),
                                                     "admin_key",
                                                     HEX(vs->members[m].admin_key.b, 32)));
        json_array_append_new(epochs, json_pack("{s:I, s:I, s:I, s:I, s:o}", "epoch",
                                                (json_int_t)spans[i].epoch, "first_height",
                                                (json_int_t)spans[i].first_height, "threshold",
                                                (json_int_t)vs->governance_threshold, "quorum",
                                                (json_int_t)qc_quorum(vs->n), "members", members));
    }
    free(spans);
    free(vs);
    if (rc != QC_OK) {
        json_decref(epochs);
        http_respond_error(res, 500, "internal", "%s", qc_strerror(rc));
        return;
    }
    http_respond_json(res, 200, json_pack("{s:o}", "epochs", epochs));
}
