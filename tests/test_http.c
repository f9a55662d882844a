/* test_http.c - the HTTP server: query decoding, route patterns, Prometheus text, the request
 * path through in-memory connections, and real sockets on 127.0.0.1 (a libuv client on the
 * same loop, every wait bounded by a guard timer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "http.h"
#include "prom.h"
#include "qc.h"

#define WAIT_MS 3000 /* upper bound of any single wait; a passing test takes far less */
#define RX_BYTES 65536
#define MAX_RESP 8

/* ---------------------------------------------------------------- response parsing (llhttp) */

typedef struct {
    int status;
    char body[4096];
    size_t body_len;
    char connection[32];
    char allow[96];
    char content_type[96];
} tresp_t;

typedef struct {
    tresp_t r[MAX_RESP];
    size_t n;      /* complete responses */
    char field[64];
} rparse_t;

static int rp_field(llhttp_t *p, const char *at, size_t len) {
    rparse_t *rp = p->data;
    snprintf(rp->field, sizeof rp->field, "%.*s", (int)len, at);
    return 0;
}

static int rp_value(llhttp_t *p, const char *at, size_t len) {
    rparse_t *rp = p->data;
    if (rp->n >= MAX_RESP) return 0;
    tresp_t *r = &rp->r[rp->n];
    char *dst = NULL;
    size_t cap = 0;
    if (strcasecmp(rp->field, "connection") == 0) dst = r->connection, cap = sizeof r->connection;
    if (strcasecmp(rp->field, "allow") == 0) dst = r->allow, cap = sizeof r->allow;
    if (strcasecmp(rp->field, "content-type") == 0) dst = r->content_type, cap = sizeof r->content_type;
    if (dst) snprintf(dst, cap, "%.*s", (int)len, at);
    return 0;
}

static int rp_body(llhttp_t *p, const char *at, size_t len) {
    rparse_t *rp = p->data;
    if (rp->n >= MAX_RESP) return 0;
    tresp_t *r = &rp->r[rp->n];
    if (len > sizeof r->body - 1 - r->body_len) len = sizeof r->body - 1 - r->body_len;
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    return 0;
}

static int rp_complete(llhttp_t *p) {
    rparse_t *rp = p->data;
    if (rp->n < MAX_RESP) rp->r[rp->n++].status = llhttp_get_status_code(p);
    return 0;
}

/* Parses a client's received bytes into complete responses; returns how many. */
static size_t parse_responses(const char *data, size_t len, rparse_t *rp) {
    static llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_header_field = rp_field;
    settings.on_header_value = rp_value;
    settings.on_body = rp_body;
    settings.on_message_complete = rp_complete;
    memset(rp, 0, sizeof *rp);
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &settings);
    p.data = rp;
    (void)llhttp_execute(&p, data, len);
    return rp->n;
}

/* ---------------------------------------------------------------- fixture */

typedef struct {
    uv_timer_t timer;
    http_res_t *res; /* the deferred response, NULL when none */
    int started, fired, cancelled;
} poll_t;

typedef struct {
    uv_loop_t loop;
    uv_timer_t guard;
    bool expired;
    http_server_t server;
    bool started, closed;
    uint16_t port;
    poll_t poll;
    struct client_s *clients[64]; /* closed by teardown if a failed test left them open */
    size_t client_count;
} fx_t;

static void test_config(http_config_t *cfg) {
    http_config_default(cfg);
    cfg->request_timeout_ms = 300;
    cfg->idle_timeout_ms = 2000;
    cfg->linger_ms = 200;
    cfg->max_header_bytes = 1024;
    cfg->max_headers = 16;
    cfg->max_body_bytes = 4096;
}

static void h_record(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    char x[64] = "";
    int rc = http_query_get(req->query, "x", x, sizeof x);
    http_respond_json(res, 200,
                      json_pack("{s:s,s:s,s:i}", "digest", http_req_param(req, "digest"), "x", x,
                                "x_rc", rc));
}

static void h_echo(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    json_t *j = http_req_json(req, res);
    if (!j) return;
    http_respond_json(res, 200, j);
}

static void h_header(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    const char *v = http_req_header(req, "X-Test");
    http_respond_text(res, 200, v ? v : "(none)");
}

static void poll_fire(uv_timer_t *t) {
    poll_t *p = t->data;
    http_res_t *res = p->res;
    p->res = NULL;
    p->fired++;
    http_respond_json(res, 200, json_pack("{s:b}", "waited", 1));
}

static void poll_cancel(http_res_t *res, void *data) {
    poll_t *p = data;
    assert_ptr_equal(res, p->res);
    uv_timer_stop(&p->timer);
    p->res = NULL;
    p->cancelled++;
}

/* GET /v1/wait?ms=N: answers after N ms (long-poll). */
static void h_wait(http_req_t *req, http_res_t *res, void *data) {
    poll_t *p = data;
    char ms[16] = "50";
    (void)http_query_get(req->query, "ms", ms, sizeof ms);
    assert_null(p->res);
    p->res = res;
    p->started++;
    http_res_on_cancel(res, poll_cancel, p);
    uv_timer_start(&p->timer, poll_fire, strtoull(ms, NULL, 10), 0);
}

/* PUT /v1/len: the body's length and byte sum; GET /v1/big: 256 KiB of 'b'. */
static void h_len(http_req_t *req, http_res_t *res, void *data) {
    (void)data;
    unsigned long sum = 0;
    for (size_t i = 0; i < req->body_len; i++) sum += req->body[i];
    http_respond_json(res, 200, json_pack("{s:I,s:I}", "len", (json_int_t)req->body_len, "sum",
                                          (json_int_t)sum));
}

#define BIG_BYTES (256 * 1024)

static void h_big(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    (void)data;
    char *big = malloc(BIG_BYTES);
    assert_non_null(big);
    memset(big, 'b', BIG_BYTES);
    http_respond_bytes(res, 200, "application/octet-stream", big, BIG_BYTES);
    free(big);
}

static void add_routes(fx_t *fx) {
    http_server_t *s = &fx->server;
    assert_int_equal(http_route(s, "GET", "/v1/records/{digest}", h_record, NULL), QC_OK);
    assert_int_equal(http_route(s, "POST", "/v1/echo", h_echo, NULL), QC_OK);
    assert_int_equal(http_route(s, "GET", "/v1/header", h_header, NULL), QC_OK);
    assert_int_equal(http_route(s, "GET", "/v1/wait", h_wait, &fx->poll), QC_OK);
    assert_int_equal(http_route(s, "DELETE", "/v1/records/{digest}", h_record, NULL), QC_OK);
    assert_int_equal(http_route(s, "PUT", "/v1/len", h_len, NULL), QC_OK);
    assert_int_equal(http_route(s, "GET", "/v1/big", h_big, NULL), QC_OK);
}

static int fx_setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    uv_timer_init(&fx->loop, &fx->guard);
    fx->guard.data = fx;
    uv_timer_init(&fx->loop, &fx->poll.timer);
    fx->poll.timer.data = &fx->poll;
    *state = fx;
    return 0;
}

static void fx_start(fx_t *fx, const http_config_t *cfg) {
    http_config_t def;
    if (!cfg) {
        test_config(&def);
        cfg = &def;
    }
    assert_int_equal(http_server_init(&fx->server, &fx->loop, cfg), QC_OK);
    add_routes(fx);
    assert_int_equal(http_server_listen(&fx->server, "127.0.0.1", 0), QC_OK);
    fx->port = http_server_port(&fx->server);
    assert_true(fx->port > 0);
    fx->started = true;
}

/* Starts a server that never listens (for in-memory connections). */
static void fx_start_mem_cfg(fx_t *fx, const http_config_t *cfg) {
    assert_int_equal(http_server_init(&fx->server, &fx->loop, cfg), QC_OK);
    add_routes(fx);
    fx->started = true;
}

static void fx_start_mem(fx_t *fx) {
    http_config_t cfg;
    test_config(&cfg);
    /* In-memory connections test parsing and ordering, not timeouts (the socket tests do):
     * on a loaded machine under ASan, 300 ms could pass between two feeds of one test. */
    cfg.header_timeout_ms = 30000;
    cfg.request_timeout_ms = 30000;
    cfg.idle_timeout_ms = 30000;
    assert_int_equal(http_server_init(&fx->server, &fx->loop, &cfg), QC_OK);
    add_routes(fx);
    fx->started = true;
}

static void guard_cb(uv_timer_t *t) {
    fx_t *fx = t->data;
    fx->expired = true;
}

/* Runs the loop until pred(arg) holds or timeout_ms pass; returns pred(arg). */
static bool run_until(fx_t *fx, bool (*pred)(void *), void *arg, uint64_t timeout_ms) {
    fx->expired = false;
    uv_timer_start(&fx->guard, guard_cb, timeout_ms, 0);
    while (!pred(arg) && !fx->expired) uv_run(&fx->loop, UV_RUN_ONCE);
    uv_timer_stop(&fx->guard);
    return pred(arg);
}

static bool pred_closed(void *arg) { return ((fx_t *)arg)->closed; }

static void on_server_closed(http_server_t *s) {
    fx_t *fx = (fx_t *)((char *)s - offsetof(fx_t, server));
    fx->closed = true;
}

static void client_close(struct client_s *c);
static bool client_closing(const struct client_s *c);

static int fx_teardown(void **state) {
    fx_t *fx = *state;
    for (size_t i = 0; i < fx->client_count; i++) {
        if (!client_closing(fx->clients[i])) client_close(fx->clients[i]);
    }
    if (fx->started) {
        http_server_close(&fx->server, on_server_closed);
        assert_true(run_until(fx, pred_closed, fx, WAIT_MS));
    }
    uv_close((uv_handle_t *)&fx->guard, NULL);
    uv_close((uv_handle_t *)&fx->poll.timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* only closing handles remain: returns at once */
    assert_int_equal(uv_loop_close(&fx->loop), 0); /* nothing leaked on the loop */
    for (size_t i = 0; i < fx->client_count; i++) free(fx->clients[i]);
    free(fx);
    return 0;
}

/* ---------------------------------------------------------------- socket client */

typedef struct client_s {
    uv_tcp_t tcp;
    uv_connect_t creq;
    char rx[RX_BYTES];
    size_t rx_len;
    bool connected, eof, closing;
    bool discard;     /* count received bytes only (large responses) */
    size_t rx_total;  /* bytes received in all */
    char scratch[16384];
    size_t want; /* responses pred_responses waits for */
    rparse_t rp;
} client_t;

typedef struct {
    uv_write_t req;
    char data[];
} cwrite_t;

static void client_connect_cb(uv_connect_t *req, int status) {
    client_t *c = req->data;
    c->connected = status == 0;
    if (status < 0) c->eof = true;
}

static void client_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
    (void)size;
    client_t *c = h->data;
    if (c->discard) *buf = uv_buf_init(c->scratch, sizeof c->scratch);
    else *buf = uv_buf_init(c->rx + c->rx_len, (unsigned)(RX_BYTES - c->rx_len));
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    client_t *c = s->data;
    if (n > 0) {
        c->rx_total += (size_t)n;
        if (!c->discard) c->rx_len += (size_t)n;
    } else if (n < 0) {
        c->eof = true;
        uv_read_stop(s);
    }
}

static bool pred_connected(void *arg) {
    client_t *c = arg;
    return c->connected || c->eof;
}

/* A connected client whose socket is bound to source (a loopback address such as
 * "127.0.0.2", so that tests can play several client addresses), or NULL for any. */
static client_t *client_new_from(fx_t *fx, const char *source) {
    client_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_true(fx->client_count < sizeof fx->clients / sizeof *fx->clients);
    fx->clients[fx->client_count++] = c;
    uv_tcp_init(&fx->loop, &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    struct sockaddr_in addr;
    if (source) {
        assert_int_equal(uv_ip4_addr(source, 0, &addr), 0);
        assert_int_equal(uv_tcp_bind(&c->tcp, (struct sockaddr *)&addr, 0), 0);
    }
    uv_ip4_addr("127.0.0.1", fx->port, &addr);
    assert_int_equal(uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr,
                                    client_connect_cb), 0);
    assert_true(run_until(fx, pred_connected, c, WAIT_MS));
    assert_true(c->connected);
    uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read);
    return c;
}

static client_t *client_new(fx_t *fx) { return client_new_from(fx, NULL); }

static void client_write_cb(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

static void client_send(client_t *c, const char *data, size_t len) {
    cwrite_t *w = malloc(sizeof *w + len);
    assert_non_null(w);
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    assert_int_equal(uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, client_write_cb), 0);
}

static void client_sends(client_t *c, const char *s) { client_send(c, s, strlen(s)); }

/* Clients are freed by the fixture's teardown, which also closes any a failed test left open. */
static void client_close(client_t *c) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, NULL);
}

static bool client_closing(const client_t *c) { return c->closing; }

static bool pred_responses(void *arg) {
    client_t *c = arg;
    return parse_responses(c->rx, c->rx_len, &c->rp) >= c->want;
}

static bool pred_never(void *arg) {
    (void)arg;
    return false;
}

static bool pred_eof(void *arg) { return ((client_t *)arg)->eof; }

/* Waits for n complete responses; returns the parse. */
static rparse_t *client_wait(fx_t *fx, client_t *c, size_t n) {
    c->want = n;
    assert_true(run_until(fx, pred_responses, c, WAIT_MS));
    return &c->rp;
}

static void client_wait_eof(fx_t *fx, client_t *c) {
    assert_true(run_until(fx, pred_eof, c, WAIT_MS));
}

/* The JSON error code in a response body, checked against want. */
static void assert_error_code(const tresp_t *r, const char *want) {
    json_error_t err;
    json_t *j = json_loadb(r->body, r->body_len, 0, &err);
    assert_non_null(j);
    const char *code = NULL, *message = NULL;
    assert_int_equal(json_unpack(j, "{s:{s:s,s:s}}", "error", "code", &code, "message",
                                 &message), 0);
    assert_string_equal(code, want);
    assert_true(strlen(message) > 0);
    assert_string_equal(r->content_type, "application/json");
    json_decref(j);
}

/* ---------------------------------------------------------------- unit: decoding */

static void test_percent_decode(void **state) {
    (void)state;
    char out[16];
    size_t n;
    assert_int_equal(http_percent_decode("a%20b+c", 7, true, out, sizeof out, &n), QC_OK);
    assert_string_equal(out, "a b c");
    assert_int_equal(n, 5);
    assert_int_equal(http_percent_decode("a%20b+c", 7, false, out, sizeof out, &n), QC_OK);
    assert_string_equal(out, "a b+c");
    assert_int_equal(http_percent_decode("%41%4a%4A", 9, false, out, sizeof out, &n), QC_OK);
    assert_string_equal(out, "AJJ");
    assert_int_equal(http_percent_decode("", 0, true, out, sizeof out, &n), QC_OK);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
    /* truncated, non-hex, encoded NUL */
    assert_int_equal(http_percent_decode("ab%2", 4, true, out, sizeof out, &n), QC_ERR_INVALID);
    assert_int_equal(http_percent_decode("ab%", 3, true, out, sizeof out, &n), QC_ERR_INVALID);
    assert_int_equal(http_percent_decode("%g0", 3, true, out, sizeof out, &n), QC_ERR_INVALID);
    assert_int_equal(http_percent_decode("%00", 3, true, out, sizeof out, &n), QC_ERR_INVALID);
    /* the length bounds the input: "%2" followed by a byte past in_len is truncated */
    assert_int_equal(http_percent_decode("%2041", 2, true, out, sizeof out, &n), QC_ERR_INVALID);
    /* output capacity counts the NUL */
    assert_int_equal(http_percent_decode("abcd", 4, true, out, 5, &n), QC_OK);
    assert_int_equal(http_percent_decode("abcde", 5, true, out, 5, &n), QC_ERR_TOOBIG);
    assert_int_equal(http_percent_decode("a", 1, true, out, 0, &n), QC_ERR_TOOBIG);
}

static void test_query_get(void **state) {
    (void)state;
    char v[16];
    const char *q = "a=1&name=J%C3%BCrgen+X&empty=&flag&a=2&sp%61ce=ok&&";
    assert_int_equal(http_query_get(q, "a", v, sizeof v), QC_OK);
    assert_string_equal(v, "1"); /* first wins */
    assert_int_equal(http_query_get(q, "name", v, sizeof v), QC_OK);
    assert_string_equal(v, "J\xc3\xbcrgen X");
    assert_int_equal(http_query_get(q, "empty", v, sizeof v), QC_OK);
    assert_string_equal(v, "");
    assert_int_equal(http_query_get(q, "flag", v, sizeof v), QC_OK);
    assert_string_equal(v, "");
    assert_int_equal(http_query_get(q, "space", v, sizeof v), QC_OK); /* name decoded too */
    assert_string_equal(v, "ok");
    assert_int_equal(http_query_get(q, "missing", v, sizeof v), QC_ERR_NOTFOUND);
    assert_int_equal(http_query_get(q, "nam", v, sizeof v), QC_ERR_NOTFOUND); /* no prefix match */
    assert_int_equal(http_query_get("", "a", v, sizeof v), QC_ERR_NOTFOUND);
    assert_int_equal(http_query_get("long=0123456789abcdef", "long", v, sizeof v), QC_ERR_TOOBIG);
    assert_int_equal(http_query_get("x=%zz", "x", v, sizeof v), QC_ERR_INVALID);
    assert_int_equal(http_query_get("x=%00", "x", v, sizeof v), QC_ERR_INVALID);
    assert_int_equal(http_query_get("%4=1&x=2", "x", v, sizeof v), QC_ERR_INVALID);
    assert_int_equal(http_query_get("x=a=b", "x", v, sizeof v), QC_OK);
    assert_string_equal(v, "a=b");
}

static void test_route_patterns(void **state) {
    fx_t *fx = *state;
    http_server_t *s = &fx->server;
    http_config_t cfg;
    test_config(&cfg);
    assert_int_equal(http_server_init(s, &fx->loop, &cfg), QC_OK);
    fx->started = true;
    static const char *const good[] = {"/", "/a", "/v1/records/{digest}", "/a/{b}/c/{d_2}"};
    static const char *const bad[] = {"", "a", "/a/", "//a", "/{}", "/{A}", "/x{a}", "/{a}b",
                                      "/a?b", "/{a-b}"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(http_route(s, "GET", good[i], h_header, NULL), QC_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(http_route(s, "GET", bad[i], h_header, NULL), QC_ERR_INVALID);
    }
    assert_int_equal(http_route(s, "get", "/a", h_header, NULL), QC_ERR_INVALID);
    assert_int_equal(http_route(s, "", "/a", h_header, NULL), QC_ERR_INVALID);
    assert_int_equal(http_route(s, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_header,
                                NULL), QC_ERR_INVALID); /* more than HTTP_MAX_PARAMS */
    while (s->route_count < HTTP_MAX_ROUTES) {
        assert_int_equal(http_route(s, "GET", "/z", h_header, NULL), QC_OK);
    }
    assert_int_equal(http_route(s, "GET", "/z", h_header, NULL), QC_ERR_FULL);
    assert_int_equal(http_server_listen(s, "999.1.1.1", 0), QC_ERR_INVALID);
    assert_int_equal(http_server_listen(s, "::zz", 0), QC_ERR_INVALID);
    assert_int_equal(http_server_port(s), 0); /* not listening */
    cfg.max_body_bytes = 0;
    http_server_t other;
    assert_int_equal(http_server_init(&other, &fx->loop, &cfg), QC_ERR_INVALID);
}

static void test_prom_format(void **state) {
    (void)state;
    prom_buf_t b;
    prom_buf_init(&b);
    prom_family(&b, "qchain_x_total", "counter", "Things\\ counted\nhere.");
    const char *labels[4] = {"reason", "a\"b\\c\nd", "peer", "jinan"};
    prom_sample_u64(&b, "qchain_x_total", labels, 2, 18446744073709551615ull);
    prom_sample(&b, "qchain_g", NULL, 0, 0.25);
    prom_sample(&b, "qchain_g", NULL, 0, 3);
    prom_sample(&b, "qchain_g", NULL, 0, 0.1);
    static const double bounds[] = {0.005, 0.1, 1};
    prom_histogram_t h;
    prom_histogram_init(&h, bounds, 3);
    prom_histogram_observe(&h, 0.001);
    prom_histogram_observe(&h, 0.1);
    prom_histogram_observe(&h, 0.5);
    prom_histogram_observe(&h, 7);
    prom_histogram_write(&b, "qchain_lat_seconds", "Latency.", &h);
    assert_int_equal(prom_buf_status(&b), QC_OK);
    const char *want =
        "# HELP qchain_x_total Things\\\\ counted\\nhere.\n"
        "# TYPE qchain_x_total counter\n"
        "qchain_x_total{reason=\"a\\\"b\\\\c\\nd\",peer=\"jinan\"} 18446744073709551615\n"
        "qchain_g 0.25\n"
        "qchain_g 3\n"
        "qchain_g 0.1\n"
        "# HELP qchain_lat_seconds Latency.\n"
        "# TYPE qchain_lat_seconds histogram\n"
        "qchain_lat_seconds_bucket{le=\"0.005\"} 1\n"
        "qchain_lat_seconds_bucket{le=\"0.1\"} 2\n"
        "qchain_lat_seconds_bucket{le=\"1\"} 3\n"
        "qchain_lat_seconds_bucket{le=\"+Inf\"} 4\n"
        "qchain_lat_seconds_sum 7.601\n"
        "qchain_lat_seconds_count 4\n";
    assert_string_equal(b.data, want);
    prom_buf_free(&b);
}

/* ---------------------------------------------------------------- in-memory connections */

static const char *mem_feed(http_conn_t *c, const char *s, size_t *out_len) {
    assert_int_equal(http_mem_conn_feed(c, s, strlen(s)), strlen(s));
    return http_mem_conn_output(c, out_len);
}

typedef struct {
    http_conn_t *conn;
    size_t want;
} mem_wait_t;

static bool pred_mem_responses(void *arg) {
    mem_wait_t *w = arg;
    size_t len;
    const char *out = http_mem_conn_output(w->conn, &len);
    rparse_t rp;
    return parse_responses(out, len, &rp) >= w->want;
}

static void test_mem_routing(void **state) {
    fx_t *fx = *state;
    fx_start_mem(fx);
    http_conn_t *c;
    assert_int_equal(http_mem_conn_open(&fx->server, &c), QC_OK);
    size_t len;
    const char *out = mem_feed(c, "GET /v1/records/ab%2Fc%20d?x=hello%21&y=2 HTTP/1.1\r\n"
                                  "Host: a\r\n\r\n", &len);
    rparse_t rp;
    assert_int_equal(parse_responses(out, len, &rp), 1);
    assert_int_equal(rp.r[0].status, 200);
    assert_string_equal(rp.r[0].body, "{\"digest\":\"ab/c d\",\"x\":\"hello!\",\"x_rc\":0}");
    assert_false(http_mem_conn_finished(c));
    /* HEAD on a GET route: same headers, no body */
    out = mem_feed(c, "HEAD /v1/records/q HTTP/1.1\r\n\r\n", &len);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: 31\r\nDate: "));
    assert_non_null(strstr(out, " GMT\r\n\r\n")); /* the Date line, then the end of the head */
    assert_true(len > 31 && memcmp(out + len - 4, "\r\n\r\n", 4) == 0);
    /* absolute-form target: answered 400, connection kept (the request was well framed) */
    size_t before = len;
    out = mem_feed(c, "GET http://x/v1/header HTTP/1.1\r\n\r\n", &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_int_equal(rp.r[0].status, 400);
    assert_error_code(&rp.r[0], "bad_request");
    assert_false(http_mem_conn_finished(c));
    /* bad escape in a path parameter */
    before = len;
    out = mem_feed(c, "GET /v1/records/a%zz HTTP/1.1\r\n\r\n", &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_int_equal(rp.r[0].status, 400);
    /* a header value reaches the handler, trailing spaces trimmed */
    before = len;
    out = mem_feed(c, "GET /v1/header HTTP/1.1\r\nx-test:  v a l  \r\n\r\n", &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_string_equal(rp.r[0].body, "v a l");
    before = len;
    out = mem_feed(c, "GET /v1/header HTTP/1.1\r\nX-Test:\r\nX-Test: second\r\n\r\n", &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_int_equal(rp.r[0].body_len, 0); /* empty value; the first of a repeated header wins */
    /* HTTP/1.0 without keep-alive: answered, then finished */
    before = len;
    out = mem_feed(c, "GET /v1/header HTTP/1.0\r\n\r\n", &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_string_equal(rp.r[0].connection, "close");
    assert_true(http_mem_conn_finished(c));
    assert_int_equal(http_mem_conn_feed(c, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    http_mem_conn_close(c);
}

static void test_mem_deferred_keeps_order(void **state) {
    fx_t *fx = *state;
    fx_start_mem(fx);
    http_conn_t *c;
    assert_int_equal(http_mem_conn_open(&fx->server, &c), QC_OK);
    size_t len;
    const char *out = mem_feed(c, "GET /v1/wait?ms=1 HTTP/1.1\r\n\r\n"
                                  "GET /v1/header HTTP/1.1\r\nX-Test: second\r\n\r\n", &len);
    assert_int_equal(len, 0); /* the first is deferred; the second waits behind it */
    assert_int_equal(fx->poll.started, 1);
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.responses_pending, 1);
    assert_int_equal(st.requests, 1);
    /* the timer answers the first; the loop then resumes parsing and answers the second */
    mem_wait_t w = {c, 2};
    assert_true(run_until(fx, pred_mem_responses, &w, WAIT_MS));
    rparse_t rp;
    out = http_mem_conn_output(c, &len);
    assert_int_equal(parse_responses(out, len, &rp), 2);
    assert_string_equal(rp.r[0].body, "{\"waited\":true}");
    assert_string_equal(rp.r[1].body, "second");
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.responses_pending, 0);
    assert_int_equal(st.requests, 2);
    /* a deferred response cancelled by the connection closing */
    out = mem_feed(c, "GET /v1/wait?ms=100000 HTTP/1.1\r\n\r\n", &len);
    assert_int_equal(fx->poll.started, 2);
    http_mem_conn_close(c);
    assert_int_equal(fx->poll.cancelled, 1);
    assert_null(fx->poll.res);
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.responses_cancelled, 1);
    assert_int_equal(st.responses_pending, 0);
}

static void test_mem_bodies(void **state) {
    fx_t *fx = *state;
    fx_start_mem(fx);
    http_conn_t *c;
    assert_int_equal(http_mem_conn_open(&fx->server, &c), QC_OK);
    size_t len;
    rparse_t rp;
    /* chunked body, delivered in two feeds split inside a chunk */
    const char *req = "POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\n{\"a\":\r\n3;ext=1\r\n[1]\r\n1\r\n}\r\n0\r\n\r\n";
    size_t half = strlen(req) / 2 + 3;
    assert_int_equal(http_mem_conn_feed(c, req, half), half);
    assert_int_equal(http_mem_conn_feed(c, req + half, strlen(req) - half), strlen(req) - half);
    const char *out = http_mem_conn_output(c, &len);
    assert_int_equal(parse_responses(out, len, &rp), 1);
    assert_int_equal(rp.r[0].status, 200);
    assert_string_equal(rp.r[0].body, "{\"a\":[1]}");
    /* Expect: 100-continue is answered before the body is sent */
    size_t before = len;
    out = mem_feed(c, "POST /v1/echo HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
                   &len);
    assert_int_equal(len - before, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
    assert_memory_equal(out + before, "HTTP/1.1 100 Continue\r\n\r\n", len - before);
    out = mem_feed(c, "[]", &len);
    assert_non_null(strstr(out + before, "\r\n\r\n[]"));
    /* duplicate keys are refused as bad JSON */
    before = len;
    out = mem_feed(c, "POST /v1/echo HTTP/1.1\r\nContent-Length: 13\r\n\r\n{\"a\":1,\"a\":2}",
                   &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_int_equal(rp.r[0].status, 400);
    assert_error_code(&rp.r[0], "bad_request");
    assert_false(http_mem_conn_finished(c));
    /* a chunked body growing past the limit: 413 and finished */
    char big[6000];
    int n = snprintf(big, sizeof big, "POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                      "\r\n1000\r\n");
    memset(big + n, 'x', 4096);
    memcpy(big + n + 4096, "\r\n1\r\nx\r\n0\r\n\r\n", 13);
    before = len;
    http_mem_conn_feed(c, big, (size_t)n + 4096 + 13);
    out = http_mem_conn_output(c, &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_int_equal(rp.r[0].status, 413);
    assert_error_code(&rp.r[0], "payload_too_large");
    assert_true(http_mem_conn_finished(c));
    http_mem_conn_close(c);
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.rejected[HTTP_REJECT_BODY_TOO_LARGE], 1);
}

/* Bodies larger than the first allocation grow to the limit, byte-exact. */
static void test_mem_large_body(void **state) {
    fx_t *fx = *state;
    http_config_t cfg;
    test_config(&cfg);
    cfg.max_body_bytes = 300000;
    fx_start_mem_cfg(fx, &cfg);
    http_conn_t *c;
    assert_int_equal(http_mem_conn_open(&fx->server, &c), QC_OK);
    static char req[300100];
    size_t body = 250000;
    int n = snprintf(req, sizeof req, "PUT /v1/len HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", body);
    unsigned long sum = 0;
    for (size_t i = 0; i < body; i++) {
        req[(size_t)n + i] = (char)('a' + i % 26);
        sum += (unsigned char)req[(size_t)n + i];
    }
    assert_int_equal(http_mem_conn_feed(c, req, (size_t)n + body), (size_t)n + body);
    size_t len;
    const char *out = http_mem_conn_output(c, &len);
    rparse_t rp;
    assert_int_equal(parse_responses(out, len, &rp), 1);
    char want[64];
    snprintf(want, sizeof want, "{\"len\":%zu,\"sum\":%lu}", body, sum);
    assert_string_equal(rp.r[0].body, want);
    /* one byte over the limit */
    n = snprintf(req, sizeof req, "PUT /v1/len HTTP/1.1\r\nContent-Length: 300001\r\n\r\n");
    size_t before = len;
    http_mem_conn_feed(c, req, (size_t)n);
    out = http_mem_conn_output(c, &len);
    assert_int_equal(parse_responses(out + before, len - before, &rp), 1);
    assert_int_equal(rp.r[0].status, 413);
    http_mem_conn_close(c);
}

static void test_mem_too_many_headers(void **state) {
    fx_t *fx = *state;
    fx_start_mem(fx);
    http_conn_t *c;
    assert_int_equal(http_mem_conn_open(&fx->server, &c), QC_OK);
    char req[1024];
    size_t n = (size_t)snprintf(req, sizeof req, "GET /v1/header HTTP/1.1\r\n");
    for (int i = 0; i < 17; i++) n += (size_t)snprintf(req + n, sizeof req - n, "H%d: v\r\n", i);
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    http_mem_conn_feed(c, req, n);
    size_t len;
    rparse_t rp;
    const char *out = http_mem_conn_output(c, &len);
    assert_int_equal(parse_responses(out, len, &rp), 1);
    assert_int_equal(rp.r[0].status, 431);
    assert_true(strstr(rp.r[0].body, "more than 16 header fields") != NULL);
    assert_true(http_mem_conn_finished(c));
    http_mem_conn_close(c);
}

/* ---------------------------------------------------------------- sockets */

static void test_sock_routing(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    client_sends(c, "GET /v1/records/abc?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    rparse_t *rp = client_wait(fx, c, 1);
    assert_int_equal(rp->r[0].status, 200);
    assert_string_equal(rp->r[0].body, "{\"digest\":\"abc\",\"x\":\"1\",\"x_rc\":0}");
    client_sends(c, "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    "Content-Length: 26\r\n\r\n{\"k\": [1, 2, {\"z\": null}]}");
    rp = client_wait(fx, c, 2);
    assert_int_equal(rp->r[1].status, 200);
    assert_string_equal(rp->r[1].body, "{\"k\":[1,2,{\"z\":null}]}");
    client_sends(c, "GET /nope HTTP/1.1\r\n\r\n");
    rp = client_wait(fx, c, 3);
    assert_int_equal(rp->r[2].status, 404);
    assert_error_code(&rp->r[2], "not_found");
    client_sends(c, "PUT /v1/records/abc HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    rp = client_wait(fx, c, 4);
    assert_int_equal(rp->r[3].status, 405);
    assert_string_equal(rp->r[3].allow, "GET, HEAD, DELETE");
    assert_error_code(&rp->r[3], "method_not_allowed");
    client_sends(c, "POST /v1/echo HTTP/1.1\r\nContent-Length: 8\r\n\r\n{\"a\": 1,");
    rp = client_wait(fx, c, 5);
    assert_int_equal(rp->r[4].status, 400);
    assert_error_code(&rp->r[4], "bad_request");
    assert_non_null(strstr(rp->r[4].body, "invalid JSON body"));
    assert_false(c->eof); /* routing and handler errors keep the connection */
    assert_int_equal(http_server_listen(&fx->server, NULL, 0), QC_ERR_INVALID); /* listening */
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.requests, 5);
    assert_int_equal(st.responses_by_class[2], 2);
    assert_int_equal(st.responses_by_class[4], 3);
    assert_int_equal(st.connections_open, 1);
    client_close(c);
}

/* Sends raw bytes on a new connection; expects one error response, then the server's close. */
static void expect_fatal(fx_t *fx, const char *raw, size_t raw_len, int status, const char *code) {
    client_t *c = client_new(fx);
    client_send(c, raw, raw_len);
    rparse_t *rp = client_wait(fx, c, 1);
    assert_int_equal(rp->r[0].status, status);
    assert_string_equal(rp->r[0].connection, "close");
    assert_error_code(&rp->r[0], code);
    client_wait_eof(fx, c);
    client_close(c);
}

static void test_sock_malformed(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    expect_fatal(fx, "GARBAGE\r\n\r\n", 11, 400, "bad_request");
    expect_fatal(fx, "GET /v1/header\r\n\r\n", 18, 400, "bad_request"); /* no version */
    expect_fatal(fx, "GET /v1/header HTTP/1.1\r\nBad Header\r\n\r\n", 39, 400, "bad_request");
    expect_fatal(fx, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 400, "bad_request");
    const char cl_te[] = "POST /v1/echo HTTP/1.1\r\nContent-Length: 3\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    expect_fatal(fx, cl_te, sizeof cl_te - 1, 400, "bad_request"); /* smuggling shape */
    /* Only a lone "chunked" is a transfer coding the server takes: llhttp frames these as
     * chunked, but the body would still be gzip (or the header split across lines hides it). */
    static const char *const te_bad[] = {"gzip, chunked", "chunked, chunked", "x, chunked",
                                         "chunked\r\nTransfer-Encoding: chunked",
                                         "gzip\r\nTransfer-Encoding: chunked"};
    for (size_t i = 0; i < sizeof te_bad / sizeof *te_bad; i++) {
        char te[256];
        int len = snprintf(te, sizeof te, "POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: %s\r\n\r\n"
                                          "2\r\n[]\r\n0\r\n\r\n", te_bad[i]);
        expect_fatal(fx, te, (size_t)len, 400, "bad_request");
    }
    const char te_ok[] = "POST /v1/echo HTTP/1.1\r\nTransfer-Encoding:  CHUNKED \r\n\r\n"
                         "2\r\n[]\r\n0\r\n\r\n";
    client_t *ok = client_new(fx);
    client_send(ok, te_ok, sizeof te_ok - 1);
    assert_int_equal(client_wait(fx, ok, 1)->r[0].status, 200); /* case and spaces do not matter */
    client_close(ok);
    const char big_cl[] = "POST /v1/echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
    expect_fatal(fx, big_cl, sizeof big_cl - 1, 413, "payload_too_large");
    char big_hdr[2048];
    int n = snprintf(big_hdr, sizeof big_hdr, "GET /v1/header HTTP/1.1\r\nX-Big: ");
    memset(big_hdr + n, 'a', 1500);
    memcpy(big_hdr + n + 1500, "\r\n\r\n", 4);
    expect_fatal(fx, big_hdr, (size_t)n + 1504, 431, "headers_too_large");
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.rejected[HTTP_REJECT_BAD_REQUEST], 10);
    assert_int_equal(st.rejected[HTTP_REJECT_BODY_TOO_LARGE], 1);
    assert_int_equal(st.rejected[HTTP_REJECT_HEADERS_TOO_LARGE], 1);
}

static void test_sock_slow_client(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL); /* request timeout 300 ms */
    client_t *slow = client_new(fx);
    client_t *silent = client_new(fx);
    uint64_t t0 = uv_now(&fx->loop);
    client_sends(slow, "GET /v1/header HTTP/1.1\r\nHost: t\r\n"); /* never finishes the head */
    rparse_t *rp = client_wait(fx, slow, 1);
    assert_int_equal(rp->r[0].status, 408);
    assert_error_code(&rp->r[0], "request_timeout");
    client_wait_eof(fx, slow);
    client_wait_eof(fx, silent); /* said nothing: closed without a response */
    assert_int_equal(silent->rx_len, 0);
    uv_update_time(&fx->loop);
    uint64_t took = uv_now(&fx->loop) - t0;
    assert_true(took >= 250 && took < 2000);
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.rejected[HTTP_REJECT_TIMEOUT], 1);
    client_close(slow);
    client_close(silent);
}

static bool pred_open0(void *arg) {
    http_stats_t st;
    http_server_stats(arg, &st);
    return st.connections_open == 0;
}

/* test_config with the head and whole-request deadlines given. */
static void test_config_deadlines(http_config_t *cfg, uint64_t header_ms, uint64_t request_ms) {
    test_config(cfg);
    cfg->header_timeout_ms = header_ms;
    cfg->request_timeout_ms = request_ms;
}

static bool pred_started(void *arg) { return ((poll_t *)arg)->started > 0; }

static http_stats_t fx_stats(fx_t *fx) {
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    return st;
}

/* When every open connection is busy (here: a long-poll), there is nothing to evict and a new
 * connection gets 503; once a slot frees up the next one is served. */
static void test_sock_conn_limit(void **state) {
    fx_t *fx = *state;
    http_config_t cfg;
    test_config(&cfg);
    cfg.max_connections = 1;
    fx_start(fx, &cfg);
    client_t *a = client_new(fx);
    client_sends(a, "GET /v1/wait?ms=1500 HTTP/1.1\r\n\r\n");
    assert_true(run_until(fx, pred_started, &fx->poll, WAIT_MS));
    client_t *c = client_new(fx);
    rparse_t *rp = client_wait(fx, c, 1);
    assert_int_equal(rp->r[0].status, 503);
    assert_error_code(&rp->r[0], "service_unavailable");
    assert_non_null(strstr(rp->r[0].body, "too many connections (limit 1)"));
    client_wait_eof(fx, c);
    client_close(c);
    assert_false(a->eof); /* the long-poll was not evicted */
    /* a slot frees up when a client leaves */
    client_close(a);
    assert_true(run_until(fx, pred_open0, &fx->server, WAIT_MS));
    client_t *d = client_new(fx);
    client_sends(d, "GET /v1/header HTTP/1.1\r\n\r\n");
    assert_int_equal(client_wait(fx, d, 1)->r[0].status, 200);
    http_stats_t st = fx_stats(fx);
    assert_int_equal(st.rejected[HTTP_REJECT_CONN_LIMIT], 1);
    assert_int_equal(st.rejected[HTTP_REJECT_EVICTED], 0);
    assert_int_equal(st.connections_accepted, 3);
    client_close(d);
}

/* A full server evicts to serve a fresh client: the victim is the oldest evictable connection
 * of the address holding the most connections (the slow one), not a quieter client's idle
 * keep-alive, even though that one is older. */
static void test_sock_evict_when_full(void **state) {
    fx_t *fx = *state;
    http_config_t cfg;
    test_config_deadlines(&cfg, 5000, 5000);
    cfg.max_connections = 3;
    fx_start(fx, &cfg);
    client_t *quiet = client_new_from(fx, "127.0.0.3");
    client_sends(quiet, "GET /v1/header HTTP/1.1\r\n\r\n");
    assert_int_equal(client_wait(fx, quiet, 1)->r[0].status, 200); /* now idle, and oldest */
    client_t *slow1 = client_new_from(fx, "127.0.0.2");
    client_t *slow2 = client_new_from(fx, "127.0.0.2");
    client_sends(slow1, "GET /v1/header HTTP/1.1\r\nX-Test: "); /* incomplete heads */
    client_sends(slow2, "GET /v1/header HTTP/1.1\r\nX-Test: ");
    (void)run_until(fx, pred_never, NULL, 50);
    client_t *fresh = client_new_from(fx, "127.0.0.4");
    client_sends(fresh, "GET /v1/header HTTP/1.1\r\nX-Test: fresh\r\n\r\n");
    rparse_t *rp = client_wait(fx, fresh, 1);
    assert_int_equal(rp->r[0].status, 200);
    assert_string_equal(rp->r[0].body, "fresh");
    client_wait_eof(fx, slow1); /* the slow address's oldest, closed without a word */
    assert_int_equal(slow1->rx_len, 0);
    assert_false(slow2->eof);
    client_sends(quiet, "GET /v1/header HTTP/1.1\r\nX-Test: still\r\n\r\n");
    rp = client_wait(fx, quiet, 2);
    assert_string_equal(rp->r[1].body, "still");
    http_stats_t st = fx_stats(fx);
    assert_int_equal(st.rejected[HTTP_REJECT_EVICTED], 1);
    assert_int_equal(st.rejected[HTTP_REJECT_CONN_LIMIT], 0);
    assert_int_equal(st.connections_open, 3);
    client_close(quiet);
    client_close(slow1);
    client_close(slow2);
    client_close(fresh);
}

static size_t count_eof(client_t **cs, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += cs[i]->eof;
    return k;
}

/* One address over its own limit loses its own oldest connection (slowloris from one address
 * holds at most max_connections_per_client slots, and never pushes anyone else out); with
 * nothing of its own evictable, its new connection gets 503 client_limit. */
static void test_sock_client_limit(void **state) {
    fx_t *fx = *state;
    http_config_t cfg;
    test_config_deadlines(&cfg, 5000, 5000);
    cfg.max_connections = 8;
    cfg.max_connections_per_client = 3;
    fx_start(fx, &cfg);
    client_t *other = client_new_from(fx, "127.0.0.3");
    enum { FLOOD = 20 };
    client_t *flood[FLOOD];
    for (size_t i = 0; i < FLOOD; i++) {
        flood[i] = client_new_from(fx, "127.0.0.2");
        client_sends(flood[i], "GET /v1/header HTTP/1.1\r\nX-Slow: ");
        (void)run_until(fx, pred_never, NULL, 2); /* distinct accept times */
    }
    (void)run_until(fx, pred_never, NULL, 100);
    assert_int_equal(count_eof(flood, FLOOD), FLOOD - 3); /* only the newest 3 stay */
    for (size_t i = FLOOD - 3; i < FLOOD; i++) assert_false(flood[i]->eof);
    assert_false(other->eof); /* the older, idle connection of another address is untouched */
    client_sends(other, "GET /v1/header HTTP/1.1\r\nX-Test: other\r\n\r\n");
    assert_string_equal(client_wait(fx, other, 1)->r[0].body, "other");
    http_stats_t st = fx_stats(fx);
    assert_int_equal(st.rejected[HTTP_REJECT_EVICTED], FLOOD - 3);
    assert_int_equal(st.connections_open, 4);
    /* A long-poll is not evictable: with the limit 1 and one held, the next gets 503. */
    for (size_t i = FLOOD - 3; i < FLOOD; i++) client_close(flood[i]);
    client_t *poller = client_new_from(fx, "127.0.0.5");
    client_sends(poller, "GET /v1/wait?ms=1500 HTTP/1.1\r\n\r\n");
    assert_true(run_until(fx, pred_started, &fx->poll, WAIT_MS));
    fx->server.cfg.max_connections_per_client = 1; /* private field, test-only tweak */
    client_t *second = client_new_from(fx, "127.0.0.5");
    rparse_t *rp = client_wait(fx, second, 1);
    assert_int_equal(rp->r[0].status, 503);
    assert_non_null(strstr(rp->r[0].body, "from this address (limit 1)"));
    assert_false(poller->eof);
    st = fx_stats(fx);
    assert_int_equal(st.rejected[HTTP_REJECT_CLIENT_LIMIT], 1);
    client_close(poller);
    client_close(second);
    client_close(other);
}

/* A client that trickles a byte every 50 ms does not extend its deadline: the first request
 * of a connection is timed from accept, the head by header_timeout_ms, the whole request by
 * request_timeout_ms. */
typedef struct {
    uv_timer_t timer;
    client_t *c;
    const char *text;
    size_t at;
} trickle_t;

static void trickle_cb(uv_timer_t *t) {
    trickle_t *tr = t->data;
    if (tr->c->eof || tr->text[tr->at] == '\0') return;
    client_send(tr->c, tr->text + tr->at++, 1);
    uv_timer_start(t, trickle_cb, 50, 0);
}

static uint64_t trickle_until_408(fx_t *fx, const char *prefix, const char *text,
                                  uint64_t first_byte_ms, const char *message) {
    trickle_t tr = {.text = text};
    uv_timer_init(&fx->loop, &tr.timer);
    tr.timer.data = &tr;
    tr.c = client_new(fx);
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    if (prefix[0]) client_sends(tr.c, prefix);
    uv_timer_start(&tr.timer, trickle_cb, first_byte_ms, 0);
    tr.c->want = 1;
    assert_true(run_until(fx, pred_responses, tr.c, 4000));
    uv_update_time(&fx->loop);
    uint64_t took = uv_now(&fx->loop) - t0;
    assert_int_equal(tr.c->rp.r[0].status, 408);
    assert_error_code(&tr.c->rp.r[0], "request_timeout");
    assert_non_null(strstr(tr.c->rp.r[0].body, message));
    uv_close((uv_handle_t *)&tr.timer, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    client_close(tr.c);
    return took;
}

static void test_sock_trickle_deadline(void **state) {
    fx_t *fx = *state;
    http_config_t cfg;
    test_config_deadlines(&cfg, 400, 1000);
    fx_start(fx, &cfg);
    static const char endless_head[] = "GET /v1/header HTTP/1.1\r\nX-Test: aaaaaaaaaaaaaaaaaaaaaaaaaa"
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    /* first byte 300 ms after accept: the head deadline still counts from accept */
    uint64_t took = trickle_until_408(fx, "", endless_head, 300, "request head not received");
    assert_true(took >= 380 && took < 650);
    /* head in time, body trickled: cut at the whole-request deadline, from accept */
    static const char endless_body[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    took = trickle_until_408(fx, "PUT /v1/len HTTP/1.1\r\nContent-Length: 4000\r\n\r\n", endless_body,
                             50, "request not received completely within 1000 ms");
    assert_true(took >= 980 && took < 1500);
    /* a later keep-alive request is timed from its own first byte */
    client_t *c = client_new(fx);
    client_sends(c, "GET /v1/header HTTP/1.1\r\n\r\n");
    assert_int_equal(client_wait(fx, c, 1)->r[0].status, 200);
    (void)run_until(fx, pred_never, NULL, 500); /* past the first request's head deadline */
    client_sends(c, "GET /v1/header HTTP/1.1\r\nX-Test: late\r\n\r\n");
    rparse_t *rp = client_wait(fx, c, 2);
    assert_int_equal(rp->r[1].status, 200);
    assert_string_equal(rp->r[1].body, "late");
    client_close(c);
    assert_int_equal(fx_stats(fx).rejected[HTTP_REJECT_TIMEOUT], 2);
}

static void test_sock_pipelined(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    /* a deferred request first, so the second must wait for it to keep the order */
    client_sends(c, "GET /v1/wait?ms=30 HTTP/1.1\r\n\r\n"
                    "GET /v1/records/second HTTP/1.1\r\n\r\n"
                    "GET /v1/header HTTP/1.1\r\nX-Test: third\r\nConnection: close\r\n\r\n");
    rparse_t *rp = client_wait(fx, c, 3);
    assert_string_equal(rp->r[0].body, "{\"waited\":true}");
    assert_string_equal(rp->r[1].body, "{\"digest\":\"second\",\"x\":\"\",\"x_rc\":-5}");
    assert_string_equal(rp->r[2].body, "third");
    assert_string_equal(rp->r[1].connection, "");
    assert_string_equal(rp->r[2].connection, "close");
    client_wait_eof(fx, c);
    client_close(c);
}

static void test_sock_long_poll(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    uint64_t t0 = uv_now(&fx->loop);
    client_sends(c, "GET /v1/wait?ms=150 HTTP/1.1\r\n\r\n");
    rparse_t *rp = client_wait(fx, c, 1);
    uv_update_time(&fx->loop);
    assert_true(uv_now(&fx->loop) - t0 >= 140);
    assert_int_equal(rp->r[0].status, 200);
    assert_string_equal(rp->r[0].body, "{\"waited\":true}");
    assert_int_equal(fx->poll.fired, 1);
    /* keep-alive after a deferred answer */
    client_sends(c, "GET /v1/header HTTP/1.1\r\n\r\n");
    assert_int_equal(client_wait(fx, c, 2)->r[1].status, 200);
    client_close(c);
}

typedef struct {
    client_t *c;
    size_t bytes;
} bytes_wait_t;

static bool pred_bytes(void *arg) {
    bytes_wait_t *w = arg;
    return w->c->rx_total >= w->bytes || w->c->eof;
}


/* A client that stops reading its responses stops the server parsing its requests (bounded
 * output queue); once it reads again, everything arrives. */
static void test_sock_backpressure(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    c->discard = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    enum { N = 48 };
    char reqs[N * 32];
    size_t n = 0;
    for (int i = 0; i < N; i++) n += (size_t)snprintf(reqs + n, sizeof reqs - n, "GET /v1/big HTTP/1.1\r\n\r\n");
    client_send(c, reqs, n);
    (void)run_until(fx, pred_never, NULL, 300);
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_true(st.requests >= 1 && st.requests < N); /* parsing paused, not all dispatched */
    char head[160];
    size_t one = (size_t)snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
                                  "application/octet-stream\r\nContent-Length: %d\r\n\r\n",
                                  BIG_BYTES) + BIG_BYTES +
                 37; /* "Date: Sun, 06 Dec 2026 17:40:00 GMT\r\n" */
    uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read);
    bytes_wait_t w = {c, N * one};
    assert_true(run_until(fx, pred_bytes, &w, WAIT_MS));
    assert_int_equal(c->rx_total, N * one);
    assert_false(c->eof);
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.requests, N);
    client_close(c);
}

static bool pred_cancelled(void *arg) { return ((poll_t *)arg)->cancelled > 0; }

static void test_sock_long_poll_disconnect(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    client_sends(c, "GET /v1/wait?ms=60000 HTTP/1.1\r\n\r\n");
    while (fx->poll.started == 0) uv_run(&fx->loop, UV_RUN_ONCE);
    client_close(c); /* gone before the answer */
    assert_true(run_until(fx, pred_cancelled, &fx->poll, WAIT_MS));
    assert_int_equal(fx->poll.cancelled, 1);
    assert_int_equal(fx->poll.fired, 0);
    assert_false(uv_is_active((uv_handle_t *)&fx->poll.timer));
    assert_true(run_until(fx, pred_open0, &fx->server, WAIT_MS));
    http_stats_t st;
    http_server_stats(&fx->server, &st);
    assert_int_equal(st.responses_cancelled, 1);
    assert_int_equal(st.responses_pending, 0);
}

static void test_sock_close_with_pending(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    client_t *idle = client_new(fx);
    client_sends(c, "GET /v1/wait?ms=60000 HTTP/1.1\r\n\r\n");
    while (fx->poll.started == 0) uv_run(&fx->loop, UV_RUN_ONCE);
    http_server_close(&fx->server, on_server_closed);
    assert_int_equal(fx->poll.cancelled, 1); /* synchronously, inside close */
    assert_true(run_until(fx, pred_closed, fx, WAIT_MS));
    client_wait_eof(fx, c);
    client_wait_eof(fx, idle);
    client_close(c);
    client_close(idle);
    fx->started = false; /* already closed; teardown checks the loop is empty */
}

static void test_metrics_text(void **state) {
    fx_t *fx = *state;
    fx_start(fx, NULL);
    client_t *c = client_new(fx);
    client_sends(c, "GET /nope HTTP/1.1\r\n\r\nGET /v1/header HTTP/1.1\r\n\r\n");
    client_wait(fx, c, 2);
    prom_buf_t b;
    prom_buf_init(&b);
    http_server_metrics(&fx->server, &b);
    assert_int_equal(prom_buf_status(&b), QC_OK);
    assert_non_null(strstr(b.data, "\nqchain_http_requests_total 2\n"));
    assert_non_null(strstr(b.data, "\nqchain_http_responses_total{class=\"2xx\"} 1\n"));
    assert_non_null(strstr(b.data, "\nqchain_http_responses_total{class=\"4xx\"} 1\n"));
    assert_non_null(strstr(b.data, "\nqchain_http_connections_open 1\n"));
    assert_non_null(strstr(b.data, "\nqchain_http_rejected_total{reason=\"conn_limit\"} 0\n"));
    assert_non_null(strstr(b.data, "# TYPE qchain_http_rejected_total counter\n"));
    prom_buf_free(&b);
    client_close(c);
}

int main(void) {
    qc_log_set_level(QC_LOG_ERROR);
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_prom_format),
        T(test_route_patterns),
        T(test_mem_routing),
        T(test_mem_deferred_keeps_order),
        T(test_mem_bodies),
        T(test_mem_too_many_headers),
        T(test_mem_large_body),
        T(test_sock_routing),
        T(test_sock_malformed),
        T(test_sock_slow_client),
        T(test_sock_conn_limit),
        T(test_sock_evict_when_full),
        T(test_sock_client_limit),
        T(test_sock_trickle_deadline),
        T(test_sock_pipelined),
        T(test_sock_long_poll),
        T(test_sock_backpressure),
        T(test_sock_long_poll_disconnect),
        T(test_sock_close_with_pending),
        T(test_metrics_text),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
