/* api_city.c - GET /v1/cities/{name}/log: a city's events in a height range with their
 * completeness proof (docs/PROTOCOL.md §13.3), built by api_build_city_proof as of the head;
 * this file only parses the request and maps the builder's errors to HTTP answers. */
#include "api_city.h"

#include <inttypes.h>
#include <stdint.h>

#include "store.h"

#define HEIGHT_TEXT_MAX 24 /* decimal digits of a height, with room to see an overlong one */

/* Reads query parameter `name` as a strict decimal height 0..INT64_MAX (digits only: no sign,
 * no spaces, not empty; heights are JSON integers, so at most 2^63 - 1) into *out; *have
 * tells whether it was given. false after answering 400. */
static bool query_height(http_req_t *req, http_res_t *res, const char *name, uint64_t *out,
                         bool *have) {
    char buf[HEIGHT_TEXT_MAX];
    int rc = http_query_get(req->query, name, buf, sizeof buf);
    *have = rc == QC_OK;
    if (rc == QC_ERR_NOTFOUND) return true;
    uint64_t v = 0;
    bool ok = rc == QC_OK && buf[0] != '\0';
    for (size_t i = 0; ok && buf[i] != '\0'; i++) {
        unsigned d = (unsigned)(buf[i] - '0');
        if (d > 9 || v > ((uint64_t)INT64_MAX - d) / 10) ok = false;
        else v = v * 10 + d;
    }
    if (!ok) {
        http_respond_error(res, 400, "bad_request",
                           "query parameter %s must be a block height: a decimal integer "
                           "1..%" PRId64 " without sign or spaces", name, INT64_MAX);
        return false;
    }
    *out = v;
    return true;
}

void h_city_log(http_req_t *req, http_res_t *res, void *data) {
    node_t *n = ((api_t *)data)->node;
    const char *city = http_req_param(req, "name");
    if (city == NULL || !qc_member_name_valid(city)) {
        http_respond_error(res, 400, "bad_request", "name must be a member name: 1..%d of "
                           "[a-z0-9-], not starting or ending with '-'", QC_MEMBER_NAME_MAX);
        return;
    }
    store_head_t head;
    store_head(&n->store, &head);
    uint64_t from = 0, to = head.height;
    bool have_from = false, have_to = false;
    if (!query_height(req, res, "from", &from, &have_from)) return;
    if (!query_height(req, res, "to", &to, &have_to)) return;
    if (!have_from) {
        http_respond_error(res, 400, "bad_request",
                           "query parameter from is required: the first height of the range");
        return;
    }
    cityproof_t p;
    int rc = api_build_city_proof(&n->store, city, from, to, API_CITY_LOG_LEAVES, &p);
    if (rc == QC_ERR_NOTFOUND) {
        http_respond_error(res, 404, "not_found", "no block has been committed yet");
        return;
    }
    if (rc == QC_ERR_RANGE) {
        http_respond_error(res, 400, "bad_request",
                           "from must be 1..to and to at most the head height %" PRIu64
                           " (asked from=%" PRIu64 " to=%" PRIu64 ")",
                           head.height, from, to);
        return;
    }
    if (rc == QC_ERR_INVALID) { /* the name was checked above; kept for the builder's word */
        http_respond_error(res, 400, "bad_request", "name must be a member name");
        return;
    }
    if (rc == QC_ERR_TOOBIG) {
        http_respond_error(res, 400, "bad_request",
                           "block %" PRIu64 " alone holds more events of %s than one proof "
                           "carries (%d leaves); this range cannot be proven", from, city,
                           CITYPROOF_LEAVES_MAX);
        return;
    }
    if (rc != QC_OK) {
        http_respond_error(res, 500, "internal", "cannot prove the city log: %s",
                           qc_strerror(rc));
        return;
    }
    json_t *j = cityproof_to_json(&p);
    cityproof_free(&p);
    if (j == NULL) {
        http_respond_error(res, 500, "internal", "out of memory");
        return;
    }
    http_respond_json(res, 200, j);
}
