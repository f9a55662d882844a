/* test_web.c - what the node serves browsers (node/api/api_web.h), through in-memory HTTP
 * connections to a server with the API's web routes: the embedded files of web/ (whatever they
 * are: each is checked against its own bytes, SHA-256 and extension), the security and caching
 * headers, 404s for every name not in the table (traversal attempts included), If-None-Match
 * and 304, HEAD, and GET /v1/genesis with the file check behind it. GET /v1/peers needs a
 * running consortium: tests/it_api.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "api_web.h"
#include "http.h"
#include "qc.h"

#define HDRS_MAX 32

/* ---------------------------------------------------------------- one parsed response */

typedef struct {
    int status;
    char names[HDRS_MAX][64];
    char values[HDRS_MAX][512];
    size_t count;
    const char *body; /* into the connection's output */
    size_t body_len;
    bool has_length;
    size_t content_length;
} resp_t;

/* Parses the one response in out[0..len): status line, headers, then the rest as the body. */
static void parse_one(const char *out, size_t len, resp_t *r) {
    memset(r, 0, sizeof *r);
    const char *end = NULL;
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(out + i, "\r\n\r\n", 4) == 0) { end = out + i; break; }
    assert_non_null(end);
    assert_int_equal(sscanf(out, "HTTP/1.1 %d ", &r->status), 1);
    const char *p = strstr(out, "\r\n") + 2;
    while (p < end + 2) {
        const char *eol = strstr(p, "\r\n");
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        assert_non_null(colon);
        assert_true(r->count < HDRS_MAX);
        snprintf(r->names[r->count], sizeof r->names[0], "%.*s", (int)(colon - p), p);
        const char *v = colon + 1;
        while (*v == ' ') v++;
        snprintf(r->values[r->count], sizeof r->values[0], "%.*s", (int)(eol - v), v);
        if (strcasecmp(r->names[r->count], "content-length") == 0) {
            r->has_length = true;
            r->content_length = strtoul(r->values[r->count], NULL, 10);
        }
        r->count++;
        p = eol + 2;
    }
    r->body = end + 4;
    r->body_len = len - (size_t)(r->body - out);
}

static const char *hdr(const resp_t *r, const char *name) {
    for (size_t i = 0; i < r->count; i++)
        if (strcasecmp(r->names[i], name) == 0) return r->values[i];
    return NULL;
}

/* Whether needle occurs in hay[0..len), ignoring ASCII case. */
static bool contains_ci(const char *hay, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0) return true;
    return false;
}

static size_t hdr_count(const resp_t *r, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++) n += strcasecmp(r->names[i], name) == 0;
    return n;
}

/* ---------------------------------------------------------------- fixture */

typedef struct {
    uv_loop_t loop;
    http_server_t server;
    api_t *api;           /* only its genesis fields are set: the handlers here read no more */
    http_conn_t *conn;    /* of the last request */
    bool closed;
} fx_t;

static void on_closed(http_server_t *s) {
    fx_t *fx = (fx_t *)((char *)s - offsetof(fx_t, server));
    fx->closed = true;
}

static int fx_setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->api = calloc(1, sizeof *fx->api);
    assert_non_null(fx->api);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    http_config_t cfg;
    http_config_default(&cfg);
    assert_int_equal(http_server_init(&fx->server, &fx->loop, &cfg), QC_OK);
    /* The same handlers api.c routes (its table is checked against docs by check_openapi). */
    assert_int_equal(http_route(&fx->server, "GET", "/", h_web_index, NULL), QC_OK);
    assert_int_equal(http_route(&fx->server, "GET", "/index.html", h_web_index, NULL), QC_OK);
    assert_int_equal(http_route(&fx->server, "GET", "/web/{name}", h_web_file, NULL), QC_OK);
    assert_int_equal(http_route(&fx->server, "GET", "/v1/genesis", h_genesis, fx->api), QC_OK);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state) {
    fx_t *fx = *state;
    if (fx->conn) http_mem_conn_close(fx->conn);
    http_server_close(&fx->server, on_closed);
    for (int i = 0; i < 100 && !fx->closed; i++) uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_true(fx->closed);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx->api->genesis_file);
    free(fx->api);
    free(fx);
    return 0;
}

/* Sends one request (method, target, extra header lines "Name: v\r\n" or "") on a fresh
 * connection and parses the answer. */
static void ask(fx_t *fx, const char *method, const char *target, const char *headers,
                resp_t *r) {
    if (fx->conn) http_mem_conn_close(fx->conn);
    assert_int_equal(http_mem_conn_open(&fx->server, &fx->conn), QC_OK);
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: node\r\n%s\r\n", method, target,
                     headers);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(http_mem_conn_feed(fx->conn, req, (size_t)n), (size_t)n);
    size_t len = 0;
    const char *out = http_mem_conn_output(fx->conn, &len);
    assert_true(len > 0);
    parse_one(out, len, r);
}

/* The ETag the generator should have computed: the first 16 hex of SHA-256, quoted. */
static void expected_etag(const api_webfile_t *f, char out[19]) {
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, f->data, f->len);
    out[0] = '"';
    qc_hex_encode(out + 1, h, 8);
    out[17] = '"';
    out[18] = '\0';
}

static const char *type_for(const char *name) {
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".json", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    return NULL; /* another kind: the generator's own table decides */
}

static void assert_security_headers(const resp_t *r) {
    assert_non_null(hdr(r, "content-security-policy"));
    assert_string_equal(hdr(r, "content-security-policy"),
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                        "form-action 'none'; frame-ancestors 'none'");
    assert_string_equal(hdr(r, "x-content-type-options"), "nosniff");
    assert_string_equal(hdr(r, "referrer-policy"), "no-referrer");
    assert_string_equal(hdr(r, "cross-origin-opener-policy"), "same-origin");
    assert_int_equal(hdr_count(r, "content-security-policy"), 1);
}

/* A 200 carrying exactly file f. */
static void assert_serves(const resp_t *r, const api_webfile_t *f) {
    assert_int_equal(r->status, 200);
    assert_security_headers(r);
    assert_string_equal(hdr(r, "content-type"), f->content_type);
    const char *want = type_for(f->name);
    if (want) assert_string_equal(f->content_type, want);
    assert_string_equal(hdr(r, "cache-control"), "no-cache");
    char etag[19];
    expected_etag(f, etag);
    assert_string_equal(f->etag, etag);
    assert_string_equal(hdr(r, "etag"), etag);
    assert_true(r->has_length);
    assert_int_equal(r->content_length, f->len);
    assert_int_equal(r->body_len, f->len);
    assert_memory_equal(r->body, f->data, f->len);
}

static void assert_not_found(const resp_t *r) {
    assert_int_equal(r->status, 404);
    assert_string_equal(hdr(r, "content-type"), "application/json");
    assert_true(contains_ci(r->body, r->body_len, "\"not_found\""));
}

/* ---------------------------------------------------------------- tests */

static void test_table(void **state) {
    (void)state;
    const api_webfile_t *index = api_web_find("index.html");
    assert_non_null(index); /* the build embeds web/index.html */
    assert_true(index->len > 0);
    for (size_t i = 0; i < api_webfiles_count; i++) {
        const api_webfile_t *f = &api_webfiles[i];
        assert_ptr_equal(api_web_find(f->name), f);
        if (i > 0) assert_true(strcmp(api_webfiles[i - 1].name, f->name) < 0); /* sorted */
        assert_int_equal(strspn(f->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789._-"), strlen(f->name));
        assert_true(f->name[0] != '.');
    }
    assert_null(api_web_find(""));
    assert_null(api_web_find(".."));
    assert_null(api_web_find("../index.html"));
    assert_null(api_web_find("INDEX.HTML"));
}

static void test_index(void **state) {
    fx_t *fx = *state;
    const api_webfile_t *index = api_web_find("index.html");
    assert_non_null(index);
    resp_t r;
    ask(fx, "GET", "/", "", &r);
    assert_serves(&r, index);
    assert_string_equal(hdr(&r, "content-type"), "text/html; charset=utf-8");
    /* HTML, whatever page it is */
    size_t head = r.body_len < 512 ? r.body_len : 512;
    assert_true(contains_ci(r.body, head, "<!doctype html") || contains_ci(r.body, head, "<html"));
    ask(fx, "GET", "/index.html", "", &r);
    assert_serves(&r, index);
    ask(fx, "GET", "/web/index.html", "", &r);
    assert_serves(&r, index);
    ask(fx, "GET", "/?lang=zh", "", &r); /* a query does not change the page */
    assert_serves(&r, index);
}

static void test_every_file(void **state) {
    fx_t *fx = *state;
    for (size_t i = 0; i < api_webfiles_count; i++) {
        char target[256];
        snprintf(target, sizeof target, "/web/%s", api_webfiles[i].name);
        resp_t r;
        ask(fx, "GET", target, "", &r);
        assert_serves(&r, &api_webfiles[i]);
    }
}

static void test_not_found(void **state) {
    fx_t *fx = *state;
    resp_t r;
    static const char *const names[] = {
        "/web/no-such-file.js", "/web/INDEX.HTML", "/web/..%2Findex.html", "/web/%2e%2e",
        "/web/..", "/web/.", "/web/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/web/.%2Findex.html",
        "/web/index.html%2f", "/web/%2Findex.html", "/web/index.html%20", "/web/index.htm",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ask(fx, "GET", names[i], "", &r);
        assert_not_found(&r);
        assert_security_headers(&r); /* the handler's 404: the web headers too */
        assert_null(hdr(&r, "etag"));
    }
    /* Paths no web route matches: the server's 404 */
    static const char *const paths[] = {"/web", "/web/", "/web/../index.html",
                                        "/web/a/index.html", "/index.html/", "/web/index.html/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ask(fx, "GET", paths[i], "", &r);
        assert_not_found(&r);
    }
    ask(fx, "GET", "/web/index.html%00", "", &r); /* an encoded NUL is refused before lookup */
    assert_int_equal(r.status, 400);
    ask(fx, "POST", "/", "Content-Length: 0\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(hdr(&r, "allow"), "GET, HEAD");
}

static void test_conditional_and_head(void **state) {
    fx_t *fx = *state;
    const api_webfile_t *f = api_web_find("index.html");
    assert_non_null(f);
    char h[256];
    resp_t r;
    const char *matching[] = {"%s", "W/%s", "\"0000000000000000\", %s", "  %s ,\"x\"", "*"};
    for (size_t i = 0; i < sizeof matching / sizeof matching[0]; i++) {
        char v[128];
        snprintf(v, sizeof v, matching[i], f->etag);
        snprintf(h, sizeof h, "If-None-Match: %s\r\n", v);
        ask(fx, "GET", "/", h, &r);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.body_len, 0);
        assert_false(r.has_length);
        assert_null(hdr(&r, "content-type"));
        assert_string_equal(hdr(&r, "etag"), f->etag);
        assert_string_equal(hdr(&r, "cache-control"), "no-cache");
        assert_security_headers(&r);
    }
    const char *other[] = {"\"0000000000000000\"", "", "abc", "\"unterminated", "W/"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        snprintf(h, sizeof h, "If-None-Match: %s\r\n", other[i]);
        ask(fx, "GET", "/web/index.html", h, &r);
        assert_serves(&r, f);
    }
    /* HEAD: the GET's headers, Content-Length included, and no body */
    ask(fx, "HEAD", "/", "", &r);
    assert_int_equal(r.status, 200);
    assert_security_headers(&r);
    assert_string_equal(hdr(&r, "etag"), f->etag);
    assert_string_equal(hdr(&r, "content-type"), f->content_type);
    assert_int_equal(r.content_length, f->len);
    assert_int_equal(r.body_len, 0);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", f->etag);
    ask(fx, "HEAD", "/web/index.html", h, &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    ask(fx, "HEAD", "/web/nothing.css", "", &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.body_len, 0);
}

static void test_etag_match(void **state) {
    (void)state;
    const char *e = "\"0123456789abcdef\"";
    assert_true(api_web_etag_match("\"0123456789abcdef\"", e));
    assert_true(api_web_etag_match("W/\"0123456789abcdef\"", e));
    assert_true(api_web_etag_match("\"a\",W/\"b\", \"0123456789abcdef\"", e));
    assert_true(api_web_etag_match("*", e));
    assert_false(api_web_etag_match("", e));
    assert_false(api_web_etag_match("\"0123456789abcde\"", e));
    assert_false(api_web_etag_match("\"0123456789abcdef", e));
    assert_false(api_web_etag_match("0123456789abcdef", e));
    assert_false(api_web_etag_match("\"0123456789ABCDEF\"", e)); /* opaque: case matters */
    assert_false(api_web_etag_match("w/\"x\", ,,, junk \"y\"", e));
}

/* ---------------------------------------------------------------- GET /v1/genesis */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void test_genesis(void **state) {
    fx_t *fx = *state;
    char path[] = "/tmp/qchain-test-web-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *text = "{\n  \"version\": 1,\n  \"chain_id\": \"web\"\n}\n";
    write_file(path, text);
    qc_hash_t h, other;
    qc_hash_ctx(&h, QC_CTX_GENESIS, text, strlen(text));
    memset(&other, 7, sizeof other);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(api_web_genesis_read(path, &other, &buf, &len), QC_ERR_CORRUPT);
    assert_null(buf);
    /* Not yet read (or changed since): 500, never other bytes */
    resp_t r;
    ask(fx, "GET", "/v1/genesis", "", &r);
    assert_int_equal(r.status, 500);
    assert_null(hdr(&r, "x-qchain-genesis-hash"));
    assert_int_equal(api_web_genesis_read(path, &h, &buf, &len), QC_OK);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(buf, text, len);
    fx->api->genesis_file = buf;
    fx->api->genesis_file_len = len;
    fx->api->genesis_hash = h;
    ask(fx, "GET", "/v1/genesis", "", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "content-type"), "application/json");
    char hex[65];
    assert_string_equal(hdr(&r, "x-qchain-genesis-hash"), qc_hash_hex(hex, &h));
    assert_int_equal(r.body_len, len);
    qc_hash_t served;
    qc_hash_ctx(&served, QC_CTX_GENESIS, r.body, r.body_len);
    assert_memory_equal(served.b, h.b, 32); /* the body hashes to the header's hash */
    ask(fx, "HEAD", "/v1/genesis", "", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.content_length, len);
    assert_int_equal(r.body_len, 0);
    unlink(path);
    uint8_t *none = NULL;
    assert_int_equal(api_web_genesis_read(path, &h, &none, &len), QC_ERR_NOTFOUND);
    assert_null(none);
}

int main(void) {
    qc_log_set_level(QC_LOG_ERROR);
    assert_int_equal(qc_crypto_init(), QC_OK);
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_etag_match),
        T(test_index),
        T(test_every_file),
        T(test_not_found),
        T(test_conditional_and_head),
        T(test_genesis),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
