/* fuzz_http.c - libFuzzer target for the HTTP request path: arbitrary bytes go through an
 * in-memory connection (llhttp parsing, limits, routing, path/query decoding, handlers that
 * answer at once or later) exactly as socket input would. The first input byte chooses where
 * the rest is split into two feeds and whether the client half-closes.
 *
 * Oracle: besides the sanitizers, everything the server wrote must parse as a sequence of
 * HTTP/1.1 responses (checked with llhttp in response mode; HEAD answers carry no body, so
 * inputs mentioning HEAD only get the status-line check). */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "http.h"
#include "qc.h"

static uv_loop_t loop;
static http_server_t server;
static http_res_t *deferred; /* the long-poll response waiting, or NULL */

static void h_params(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    char v[64];
    int rc = http_query_get(req->query, "q", v, sizeof v);
    json_t *j = json_pack("{s:s,s:s,s:i,s:s?}", "id", http_req_param(req, "id"), "sub",
                          http_req_param(req, "sub"), "rc", rc, "q", rc == QC_OK ? v : NULL);
    http_respond_json(res, 200, j);
}

static void h_echo(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    json_t *j = http_req_json(req, res);
    if (j) http_respond_json(res, 201, j);
}

static void h_bytes(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    const char *ct = http_req_header(req, "content-type");
    if (http_res_header(res, "X-Len", ct ? ct : "none") != QC_OK) {
        http_respond_error(res, 400, "bad_request", "content type %s", ct ? ct : "");
        return;
    }
    http_respond_bytes(res, 200, "application/octet-stream", req->body, req->body_len);
}

static void on_cancel(http_res_t *res, void *data) {
    (void)data;
    if (res != deferred) abort();
    deferred = NULL;
}

static void h_wait(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    (void)data;
    if (deferred) abort(); /* one request at a time per connection */
    deferred = res;
    http_res_on_cancel(res, on_cancel, NULL);
}

static void setup(void) {
    qc_log_set_level(QC_LOG_OFF);
    if (uv_loop_init(&loop) != 0) abort();
    http_config_t cfg;
    http_config_default(&cfg);
    cfg.max_header_bytes = 2048;
    cfg.max_headers = 16;
    cfg.max_body_bytes = 4096;
    if (http_server_init(&server, &loop, &cfg) != QC_OK) abort();
    if (http_route(&server, "GET", "/v1/items/{id}", h_params, NULL) ||
        http_route(&server, "GET", "/v1/items/{id}/{sub}", h_params, NULL) ||
        http_route(&server, "POST", "/v1/echo", h_echo, NULL) ||
        http_route(&server, "PUT", "/v1/bytes", h_bytes, NULL) ||
        http_route(&server, "GET", "/v1/wait", h_wait, NULL) ||
        http_route(&server, "GET", "/", h_params, NULL)) {
        abort();
    }
}

static int on_response_done(llhttp_t *p) {
    (*(size_t *)p->data)++;
    return 0;
}

/* Aborts unless out is a sequence of well-formed responses. */
static void check_output(const char *out, size_t len, bool had_head) {
    if (len == 0) return;
    if (len < 12 || memcmp(out, "HTTP/1.1 ", 9) != 0) abort();
    if (had_head) return;
    static llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_message_complete = on_response_done;
    llhttp_t p;
    size_t done = 0;
    llhttp_init(&p, HTTP_RESPONSE, &settings);
    p.data = &done;
    if (llhttp_execute(&p, out, len) != HPE_OK || done == 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size == 0) return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    size_t split = len ? (size_t)(mode & 0x3f) * len / 63 : 0;
    bool had_head = memmem(in, len, "HEAD", 4) != NULL;

    http_conn_t *c;
    if (http_mem_conn_open(&server, &c) != QC_OK) abort();
    size_t taken = http_mem_conn_feed(c, in, split);
    if (taken == split) http_mem_conn_feed(c, in + split, len - split);
    if (deferred && (mode & 0x40)) { /* answer the long-poll; the loop resumes parsing */
        http_res_t *res = deferred;
        deferred = NULL;
        http_respond_text(res, 200, "later");
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    if (mode & 0x80) http_mem_conn_eof(c);
    size_t out_len;
    const char *out = http_mem_conn_output(c, &out_len);
    check_output(out, out_len, had_head);
    http_mem_conn_close(c);
    if (deferred) abort(); /* closing must have cancelled it */
    uv_run(&loop, UV_RUN_NOWAIT); /* frees the connection */
    return 0;
}
