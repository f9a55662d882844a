/* api_web.c - the embedded web application's files, the node's genesis file and its view of
 * every member (api_web.h; docs/API.md "The web application"). */
#include "api_web.h"
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* On every web response, 404 included (docs/HTTP.md "Static files"). */
static const struct {
    const char *name, *value;
} web_headers[] = {
    {"Content-Security-Policy", API_WEB_CSP},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
};

const api_webfile_t *api_web_find(const char *name) {
    for (size_t i = 0; i < api_webfiles_count; i++)
        if (strcmp(api_webfiles[i].name, name) == 0) return &api_webfiles[i];
    return NULL;
}

bool api_web_etag_match(const char *v, const char *etag) {
    size_t elen = strlen(etag);
    const char *p = v;
    /* Every pass moves p forward by at least one byte, or returns. */
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '\0') break;
        if (*p == '*') return true;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            if (end == NULL) return false;
            if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0) return true;
            p = end + 1;
        }
        p += strcspn(p, ","); /* anything else up to the next tag is not a match */
    }
    return false;
}

/* Sets the security headers; false after answering 500 (they never fail to fit: asserted by
 * tests/test_web.c, which sends every one). */
static bool set_web_headers(http_res_t *res) {
    for (size_t i = 0; i < sizeof web_headers / sizeof web_headers[0]; i++) {
        if (http_res_header(res, web_headers[i].name, web_headers[i].value) != QC_OK) {
            http_respond_error(res, 500, "internal", "response headers do not fit");
            return false;
        }
    }
    return true;
}

/* Answers with file f (NULL: 404 naming `name`): 200, or 304 when If-None-Match names its ETag.
 * HEAD gets the same headers without the body (the server drops it). */
static void serve(http_req_t *req, http_res_t *res, const api_webfile_t *f, const char *name) {
    if (!set_web_headers(res)) return;
    if (f == NULL) {
        http_respond_error(res, 404, "not_found", "no web file named %.64s", name);
        return;
    }
    /* no-cache: a browser keeps the file but asks again each time (a 304 when unchanged), so
     * an upgraded node's page is used at once. */
    if (http_res_header(res, "Cache-Control", "no-cache") != QC_OK ||
        http_res_header(res, "ETag", f->etag) != QC_OK) {
        http_respond_error(res, 500, "internal", "response headers do not fit");
        return;
    }
    const char *inm = http_req_header(req, "if-none-match");
    if (inm != NULL && api_web_etag_match(inm, f->etag)) {
        http_respond_bytes(res, 304, f->content_type, NULL, 0);
        return;
    }
    http_respond_bytes(res, 200, f->content_type, f->data, f->len);
}

void h_web_index(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    serve(req, res, api_web_find("index.html"), "index.html");
}

void h_web_file(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    const char *name = http_req_param(req, "name"); /* decoded: "%2e%2e" is "..", not found */
    serve(req, res, name ? api_web_find(name) : NULL, name ? name : "");
}

/* ---------------------------------------------------------------- GET /v1/genesis */

int api_web_genesis_read(const char *path, const qc_hash_t *expected, uint8_t **out,
                         size_t *len) {
    *out = NULL;
    *len = 0;
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = qc_file_read(path, GENESIS_FILE_BYTES_MAX, &buf, &n);
    if (rc != QC_OK) return rc;
    qc_hash_t h;
    qc_hash_ctx(&h, QC_CTX_GENESIS, buf, n);
    if (memcmp(h.b, expected->b, sizeof h.b) != 0) {
        free(buf);
        return QC_ERR_CORRUPT;
    }
    *out = buf;
    *len = n;
    return QC_OK;
}

void h_genesis(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    api_t *a = data;
    if (a->genesis_file == NULL) {
        http_respond_error(res, 500, "internal",
                           "the genesis file could not be read at start, or no longer hashes to "
                           "the chain's genesis hash (the node's log says which)");
        return;
    }
    char hex[65];
    http_res_header(res, "X-Qchain-Genesis-Hash", qc_hash_hex(hex, &a->genesis_hash));
    http_respond_bytes(res, 200, "application/json", a->genesis_file, a->genesis_file_len);
}

/* ---------------------------------------------------------------- GET /v1/peers */

void h_peers(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    api_t *a = data;
    node_t *n = a->node;
    const qc_validator_set_t *vs = &n->store.validators;
    const gov_state_t *g = store_gov(&n->store);
    uint64_t own = n->store.head.height, best = own;
    for (uint32_t i = 0; i < vs->n; i++)
        if (i != n->self && n->peer_heads[i] > best) best = n->peer_heads[i];
    json_t *list = json_array();
    for (uint32_t i = 0; list != NULL && i < vs->n; i++) {
        bool self = i == n->self;
        /* The links are indexed like the members in force (node_start_net); while they are
         * being reopened for a new epoch, none is up. */
        bool up = self || (n->net_open && net_peer_up(&n->net, i));
        uint64_t height = self ? own : n->peer_heads[i];
        /* A peer's view and links come with its head in catch-up replies; null until one came
         * (or from an older build, which does not send them). */
        uint32_t links = self ? net_stats(&n->net)->peers_up : n->peer_links_up[i];
        json_t *e = json_pack("{s:I, s:s, s:s, s:b, s:b, s:I, s:I, s:s, s:s}", "index",
                              (json_int_t)i, "name", vs->members[i].name, "display_name",
                              g->info[i].display_name, "self", self, "link_up", up, "height",
                              (json_int_t)height, "lag", (json_int_t)(best - height),
                              "api_address", g->info[i].api_address, "p2p_address",
                              g->info[i].p2p_address);
        if (e) {
            bool known = self || links > 0;
            json_object_set_new(e, "view", known ? json_integer((json_int_t)(self ? pbft_view(n->pbft)
                                                                              : n->peer_views[i]))
                                                 : json_null());
            json_object_set_new(e, "peers_up", known ? json_integer((json_int_t)links) : json_null());
        }
        json_array_append_new(list, e);
    }
    http_respond_json(res, 200, json_pack("{s:s, s:I, s:I, s:o}", "city", n->cfg.city, "height",
                                          (json_int_t)own, "best_height", (json_int_t)best,
                                          "members", list));
}
