/* http.c - HTTP/1.1 server on libuv + llhttp; see http.h for the contract and docs/HTTP.md.
 *
 * One connection is a small state machine:
 *
 *   READING --message complete--> HANDLER --responded--> READING (keep-alive) / DRAINING
 *                                    \--returned unanswered--> PENDING --responded--> READING
 *   any --parse error/limit/timeout--> DRAINING (error sent, FIN, discard input, linger)
 *   any --socket error/EOF while PENDING/linger over/server close--> CLOSING --> freed
 *
 * Input is parsed only in READING, one request at a time: llhttp is paused at each message's
 * end (on_message_complete returns HPE_PAUSED), the request is dispatched, and parsing resumes
 * only once it is answered. Bytes of pipelined requests behind a deferred one stay in the
 * connection's fixed input buffer; when that buffer is full the socket stops being read.
 * Memory is freed only from libuv close callbacks, so no callback ever sees a freed
 * connection. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <llhttp.h>
#include <sodium.h>

#include "qc.h"

#define HTTP_READ_BUF_BYTES 16384          /* unparsed input held per connection */
#define HTTP_WRITE_BACKLOG_BYTES (1u << 20) /* stop parsing while more is unsent */
#define HTTP_REJECT_SLACK 16               /* refused connections answered with 503 at once */
#define HTTP_EXTRA_HEADER_BYTES 1024
#define HTTP_ERROR_BODY_BYTES 1024
#define HTTP_MESSAGE_BYTES 256
#define HTTP_BODY_START_BYTES 65536         /* first body allocation; grows to the limit */
#define HTTP_ARENA_START_BYTES 2048
#define HTTP_NO_URL UINT32_MAX
#define HTTP_CLIENT_BUCKETS_MAX 65536u     /* hash buckets of client addresses, at most */
#define HTTP_CLIENT_ADDR_BYTES 16

typedef enum {
    CONN_READING = 0,
    CONN_HANDLER,
    CONN_PENDING,
    CONN_DRAINING,
    CONN_CLOSING,
} conn_state_t;

typedef enum {
    TIMER_NONE = 0,
    TIMER_RESUME,  /* 0 ms: continue parsing outside the caller's stack */
    TIMER_IDLE,    /* silent close: keep-alive wait or a new silent connection */
    TIMER_REQUEST, /* 408: request not complete by its deadline */
    TIMER_LINGER,  /* close after the final response */
} timer_kind_t;

typedef enum { RES_IDLE = 0, RES_WAITING, RES_DONE } res_state_t;

/* What the tail of the arena is accumulating (llhttp delivers spans in pieces). */
typedef enum { PART_NONE = 0, PART_URL, PART_FIELD, PART_VALUE } part_t;

typedef struct {
    uint32_t name_off;
    uint32_t value_off;
} hdr_t;

struct http_res_s {
    http_conn_t *conn;
    res_state_t state;
    bool head_only;      /* HEAD request: send headers only */
    bool pending_counted;
    http_cancel_cb cancel_cb;
    void *cancel_data;
    size_t extra_len;
    char extra[HTTP_EXTRA_HEADER_BYTES];
};

typedef struct {
    uv_write_t req;
    size_t len;
    char data[];
} http_write_t;

/* One client address (IPv4 as ::ffff:a.b.c.d, IPv6 as its /64 prefix) with open connections;
 * freed when its last one closes, so there are never more entries than open connections. */
struct http_client_s {
    http_client_t *next; /* bucket chain */
    uint8_t addr[HTTP_CLIENT_ADDR_BYTES];
    size_t conns;        /* open (admitted, not yet closing) connections from this address */
};

struct http_conn_s {
    http_server_t *server;
    http_conn_t *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    llhttp_t parser;
    conn_state_t state;
    timer_kind_t timer_kind;
    int handles_open;
    bool is_mem;
    bool counted_open;       /* admitted: counted in connections_open and in client->conns */
    http_client_t *client;   /* the address's entry while counted_open (socket connections) */
    uint64_t since_ms;       /* accepted, or last answered: the eviction order (oldest first) */
    uint64_t requests_begun; /* the first request's deadlines count from accept */
    bool reading;
    bool eof;
    bool backlogged;
    bool shutdown_done;
    /* input: bytes [in_off, in_len) are received but not parsed */
    char *in;
    size_t in_off, in_len;
    /* request being parsed */
    bool in_message;
    bool message_done;
    bool keep_alive;
    bool http10;
    bool head_done;              /* the current request's head is complete */
    uint64_t head_deadline_ms;   /* loop time by which the head must be complete */
    uint64_t request_deadline_ms; /* ... and the whole request */
    char *arena;
    size_t arena_len, arena_cap, arena_max; /* grows on demand up to arena_max */
    part_t part;
    uint32_t url_off;
    hdr_t *hdrs;
    size_t header_count;
    size_t header_bytes;
    uint8_t *body;
    size_t body_len, body_cap;
    /* an error our callbacks decided (status 0: none; then llhttp's own error applies) */
    int err_status;
    const char *err_code;
    http_reject_t err_reject;
    char err_msg[HTTP_MESSAGE_BYTES];
    /* output */
    size_t writes_pending;
    size_t write_bytes_pending;
    char *mem_out;
    size_t mem_out_len, mem_out_cap;
    bool mem_finished;
    http_req_t req;
    http_res_t res;
};

static void conn_process(http_conn_t *c);
static void conn_close(http_conn_t *c);
static void conn_finish(http_conn_t *c);

/* ---------------------------------------------------------------- small helpers */

void http_config_default(http_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 256;
    cfg->max_connections_per_client = 64;
    cfg->max_header_bytes = 8192;
    cfg->max_headers = 64;
    cfg->max_body_bytes = 1u << 20;
    cfg->header_timeout_ms = 5000;
    cfg->request_timeout_ms = 10000;
    cfg->idle_timeout_ms = 60000;
    cfg->linger_ms = 2000;
}

const char *http_reject_name(http_reject_t reason) {
    switch (reason) {
    case HTTP_REJECT_CONN_LIMIT: return "conn_limit";
    case HTTP_REJECT_BAD_REQUEST: return "bad_request";
    case HTTP_REJECT_HEADERS_TOO_LARGE: return "headers_too_large";
    case HTTP_REJECT_BODY_TOO_LARGE: return "body_too_large";
    case HTTP_REJECT_TIMEOUT: return "timeout";
    case HTTP_REJECT_CLIENT_LIMIT: return "client_limit";
    case HTTP_REJECT_EVICTED: return "evicted";
    case HTTP_REJECT_COUNT: break;
    }
    return "unknown";
}

static const char *status_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Copies s into out (cap bytes) with every byte outside printable ASCII replaced by '?', so
 * that client-supplied text can go into a JSON error message as valid UTF-8. */
static void sanitize(char *out, size_t cap, const char *s) {
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[i] = '\0';
}

/* Writes {"error":{"code":...,"message":...}} into out; returns its length. */
static size_t error_body(char *out, size_t cap, const char *code, const char *message) {
    static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    char clean[HTTP_MESSAGE_BYTES];
    sanitize(clean, sizeof clean, message);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", clean);
    size_t n = j ? json_dumpb(j, out, cap, JSON_COMPACT) : 0;
    json_decref(j);
    if (n == 0 || n > cap) {
        QC_ASSERT(sizeof fallback <= cap);
        memcpy(out, fallback, sizeof fallback - 1);
        n = sizeof fallback - 1;
    }
    return n;
}

static bool is_tchar(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* ---------------------------------------------------------------- query strings */

int http_percent_decode(const char *in, size_t in_len, bool plus_is_space, char *out,
                        size_t cap, size_t *out_len) {
    if (cap == 0) return QC_ERR_TOOBIG;
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        char ch = in[i];
        if (ch == '%') {
            if (in_len - i < 3) return QC_ERR_INVALID;
            int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return QC_ERR_INVALID;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus_is_space) {
            ch = ' ';
        }
        if (ch == '\0') return QC_ERR_INVALID;
        if (o + 1 >= cap) return QC_ERR_TOOBIG;
        out[o++] = ch;
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return QC_OK;
}

int http_query_get(const char *query, const char *name, char *out, size_t cap) {
    char want[128];
    size_t name_len = strlen(name);
    QC_ASSERT(name_len < sizeof want);
    const char *p = query;
    while (*p) {
        size_t seg = strcspn(p, "&");
        const char *eq = memchr(p, '=', seg);
        size_t key_len = eq ? (size_t)(eq - p) : seg;
        size_t got_len = 0;
        int rc = http_percent_decode(p, key_len, true, want, name_len + 2, &got_len);
        if (rc == QC_ERR_INVALID) return rc;
        if (rc == QC_OK && got_len == name_len && memcmp(want, name, name_len) == 0) {
            if (!eq) {
                if (cap == 0) return QC_ERR_TOOBIG;
                out[0] = '\0';
                return QC_OK;
            }
            return http_percent_decode(eq + 1, seg - key_len - 1, true, out, cap, NULL);
        }
        p += seg;
        if (*p == '&') p++;
    }
    return QC_ERR_NOTFOUND;
}

/* ---------------------------------------------------------------- timers and reading */

static void conn_timer_cb(uv_timer_t *timer);

static void conn_arm_timer(http_conn_t *c, timer_kind_t kind, uint64_t ms) {
    c->timer_kind = kind;
    uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

static void conn_timer_stop(http_conn_t *c) {
    c->timer_kind = TIMER_NONE;
    uv_timer_stop(&c->timer);
}

/* Sets the head and whole-request deadlines counted from now_ms. Trickled bytes never move
 * them: only a new request (or a new connection) does. */
static void conn_start_deadlines(http_conn_t *c, uint64_t now_ms) {
    c->head_deadline_ms = now_ms + c->server->cfg.header_timeout_ms;
    c->request_deadline_ms = now_ms + c->server->cfg.request_timeout_ms;
}

/* Arms the 408 timer of the request being received: the head deadline until the head is
 * complete (or the whole-request one if that comes first), then the whole-request one. */
static void conn_arm_deadline(http_conn_t *c) {
    uint64_t deadline = c->request_deadline_ms;
    if (!c->head_done && c->head_deadline_ms < deadline) deadline = c->head_deadline_ms;
    uint64_t now = uv_now(c->server->loop);
    conn_arm_timer(c, TIMER_REQUEST, deadline > now ? deadline - now : 0);
}

static void conn_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    http_conn_t *c = handle->data;
    if (c->state == CONN_DRAINING) {
        *buf = uv_buf_init(c->in, HTTP_READ_BUF_BYTES); /* read and discarded */
        return;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(HTTP_READ_BUF_BYTES - c->in_len));
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Starts or stops reading the socket according to the state: input is taken while it can be
 * parsed or buffered, and while lingering (to see EOF and not reset unread data). */
static void conn_update_reading(http_conn_t *c) {
    bool want = false;
    switch (c->state) {
    case CONN_READING: want = !c->backlogged && !c->eof && c->in_len < HTTP_READ_BUF_BYTES; break;
    case CONN_PENDING: want = !c->eof && c->in_len < HTTP_READ_BUF_BYTES; break;
    case CONN_DRAINING: want = !c->eof; break;
    case CONN_HANDLER:
    case CONN_CLOSING: want = false; break;
    }
    if (c->is_mem || want == c->reading) {
        c->reading = want;
        return;
    }
    if (want) {
        if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) < 0) {
            conn_close(c);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    c->reading = want;
}

/* ---------------------------------------------------------------- writing */

static void conn_write_cb(uv_write_t *req, int status) {
    http_write_t *w = (http_write_t *)req;
    http_conn_t *c = req->data;
    QC_ASSERT(c->writes_pending > 0 && c->write_bytes_pending >= w->len);
    c->writes_pending--;
    c->write_bytes_pending -= w->len;
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->backlogged && c->state == CONN_READING &&
        c->write_bytes_pending <= HTTP_WRITE_BACKLOG_BYTES / 2) {
        conn_arm_timer(c, TIMER_RESUME, 0);
    }
}

/* Queues w (ownership transferred). On failure the connection is closed. */
static int conn_write(http_conn_t *c, http_write_t *w) {
    if (c->state == CONN_CLOSING) {
        free(w);
        return QC_ERR_CLOSED;
    }
    if (c->is_mem) {
        if (w->len > c->mem_out_cap - c->mem_out_len) {
            size_t cap = c->mem_out_cap ? c->mem_out_cap : 4096;
            while (cap - c->mem_out_len < w->len) cap *= 2;
            char *p = realloc(c->mem_out, cap);
            if (!p) {
                free(w);
                conn_close(c);
                return QC_ERR_NOMEM;
            }
            c->mem_out = p;
            c->mem_out_cap = cap;
        }
        memcpy(c->mem_out + c->mem_out_len, w->data, w->len);
        c->mem_out_len += w->len;
        free(w);
        return QC_OK;
    }
    w->req.data = c;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb) < 0) {
        free(w);
        conn_close(c);
        return QC_ERR_CLOSED;
    }
    c->writes_pending++;
    c->write_bytes_pending += w->len;
    return QC_OK;
}

static int conn_write_raw(http_conn_t *c, const char *data, size_t len) {
    http_write_t *w = malloc(sizeof *w + len);
    if (!w) {
        conn_close(c);
        return QC_ERR_NOMEM;
    }
    memcpy(w->data, data, len);
    w->len = len;
    return conn_write(c, w);
}

/* Serialises and queues one final response. extra: preformatted "Name: value\r\n" lines. */
static int conn_send(http_conn_t *c, int status, const char *ctype, const void *body,
                     size_t len, const char *extra, size_t extra_len, bool head_only,
                     bool close) {
    QC_ASSERT(status >= 200 && status <= 599);
    if (c->state == CONN_CLOSING) return QC_ERR_CLOSED;
    bool no_content = status == 204 || status == 304;
    size_t body_out = (head_only || no_content) ? 0 : len;
    size_t head_cap = 240 + strlen(ctype) + extra_len;
    http_write_t *w = malloc(sizeof *w + head_cap + body_out);
    if (!w) {
        conn_close(c);
        return QC_ERR_NOMEM;
    }
    const char *conn_hdr = close ? "Connection: close\r\n"
                                 : (c->http10 ? "Connection: keep-alive\r\n" : "");
    /* RFC 9110 §6.6.1: an origin server with a clock sends Date (clients and operators compare
     * it with their own: docs/OPERATIONS.md "Time"). Always 37 bytes. */
    char date[48];
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm) == 0)
        date[0] = '\0';
    int n;
    if (no_content) {
        n = snprintf(w->data, head_cap, "HTTP/1.1 %d %s\r\n%s%s%.*s\r\n", status,
                     status_reason(status), conn_hdr, date, (int)extra_len, extra ? extra : "");
    } else {
        n = snprintf(w->data, head_cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%.*s\r\n",
                     status, status_reason(status), ctype, len, conn_hdr, date, (int)extra_len,
                     extra ? extra : "");
    }
    QC_ASSERT(n > 0 && (size_t)n < head_cap);
    if (body_out) memcpy(w->data + n, body, body_out);
    w->len = (size_t)n + body_out;
    c->server->stats.responses_by_class[status / 100]++;
    return conn_write(c, w);
}

/* Answers a request the server itself refuses, then finishes the connection. */
static void conn_fail(http_conn_t *c, int status, const char *code, http_reject_t reject,
                      const char *message) {
    char body[HTTP_ERROR_BODY_BYTES];
    size_t n = error_body(body, sizeof body, code, message);
    c->server->stats.rejected[reject]++;
    if (conn_send(c, status, "application/json", body, n, NULL, 0, false, true) == QC_OK) {
        conn_finish(c);
    }
}

/* ---------------------------------------------------------------- client addresses */

/* The table key of a peer: an IPv4 address (also one mapped into IPv6) as ::ffff:a.b.c.d, an
 * IPv6 address as its /64 prefix (one host usually holds a whole /64). False if the peer's
 * address cannot be read (it has already gone). */
static bool client_addr_of(uv_tcp_t *tcp, uint8_t out[HTTP_CLIENT_ADDR_BYTES]) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) < 0) return false;
    memset(out, 0, HTTP_CLIENT_ADDR_BYTES);
    if (ss.ss_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)&ss)->sin_addr, 4);
        return true;
    }
    if (ss.ss_family != AF_INET6) return false;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
    memcpy(out, a6->s6_addr, IN6_IS_ADDR_V4MAPPED(a6) ? HTTP_CLIENT_ADDR_BYTES : 8);
    return true;
}

_Static_assert(sizeof ((http_server_t *)0)->client_key == crypto_shorthash_KEYBYTES,
               "client_key is a SipHash key");

/* Keyed (SipHash) so that chosen source addresses cannot pile into one bucket. */
static size_t client_bucket(const http_server_t *s, const uint8_t *addr) {
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, addr, HTTP_CLIENT_ADDR_BYTES, s->client_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (s->client_buckets - 1));
}

/* The entry of addr, created with no connections if absent (owned by the table); NULL when
 * out of memory. A caller that does not count a connection on it must client_put it. */
static http_client_t *client_get(http_server_t *s, const uint8_t *addr) {
    size_t b = client_bucket(s, addr);
    for (http_client_t *e = s->clients[b]; e; e = e->next) {
        if (memcmp(e->addr, addr, HTTP_CLIENT_ADDR_BYTES) == 0) return e;
    }
    http_client_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    memcpy(e->addr, addr, HTTP_CLIENT_ADDR_BYTES);
    e->next = s->clients[b];
    s->clients[b] = e;
    return e;
}

/* Frees e once no connection counts on it. Chains hold at most one entry per open
 * connection, so the walk is bounded. */
static void client_put(http_server_t *s, http_client_t *e) {
    if (e->conns > 0) return;
    http_client_t **pp = &s->clients[client_bucket(s, e->addr)];
    while (*pp != e) pp = &(*pp)->next;
    *pp = e->next;
    free(e);
}

/* Stops counting c as open (it is being refused or closed): frees its slot in the server's
 * and in its client's limit. */
static void conn_release(http_conn_t *c) {
    if (!c->counted_open) return;
    http_server_t *s = c->server;
    c->counted_open = false;
    QC_ASSERT(s->stats.connections_open > 0);
    s->stats.connections_open--;
    if (c->client) {
        QC_ASSERT(c->client->conns > 0);
        c->client->conns--;
        client_put(s, c->client);
        c->client = NULL;
    }
}

/* ---------------------------------------------------------------- closing */

static void server_maybe_done(http_server_t *s) {
    if (!s->closing || s->closed || !s->listener_closed || s->conns || s->drops_closing) return;
    s->closed = true;
    free(s->clients); /* every entry went with its last connection */
    s->clients = NULL;
    http_close_cb cb = s->close_cb;
    s->close_cb = NULL;
    if (cb) cb(s);
}

static void conn_free(http_conn_t *c) {
    http_server_t *s = c->server;
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    QC_ASSERT(s->conn_count > 0 && s->conns_closing > 0 && !c->counted_open);
    s->conn_count--;
    s->conns_closing--;
    free(c->in);
    free(c->arena);
    free(c->hdrs);
    free(c->body);
    free(c->mem_out);
    free(c);
    server_maybe_done(s);
}

static void conn_close_cb(uv_handle_t *handle) {
    http_conn_t *c = handle->data;
    QC_ASSERT(c->handles_open > 0);
    if (--c->handles_open == 0) conn_free(c);
}

/* Tells a deferred response's owner that it will never be answered. */
static void res_cancel(http_conn_t *c) {
    http_res_t *res = &c->res;
    QC_ASSERT(res->state == RES_WAITING && res->cancel_cb);
    http_cancel_cb cb = res->cancel_cb;
    void *data = res->cancel_data;
    res->state = RES_DONE;
    res->cancel_cb = NULL;
    if (res->pending_counted) c->server->stats.responses_pending--;
    res->pending_counted = false;
    c->server->stats.responses_cancelled++;
    cb(res, data);
}

/* Closes at once (no more output). Memory is freed from the close callbacks. */
static void conn_close(http_conn_t *c) {
    if (c->state == CONN_CLOSING) return;
    conn_state_t prev = c->state;
    c->state = CONN_CLOSING;
    c->server->conns_closing++;
    conn_release(c);
    c->reading = false;
    c->mem_finished = true;
    /* Inside a handler the cancel callback may not be registered yet: conn_dispatch cancels
     * after the handler returns. */
    if (c->res.state == RES_WAITING && prev != CONN_HANDLER) res_cancel(c);
    uv_timer_stop(&c->timer);
    if (c->is_mem) {
        c->handles_open = 1;
    } else {
        c->handles_open = 2;
        uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
    }
    uv_close((uv_handle_t *)&c->timer, conn_close_cb);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status) {
    http_conn_t *c = req->data;
    c->shutdown_done = true;
    if (status < 0 || c->eof) conn_close(c);
}

/* Graceful end after the final response: FIN once the queued writes are out, then keep
 * reading (discarding) until the client closes or the linger time passes. Closing with unread
 * input would make the kernel send RST, which can destroy the response before it is read. */
static void conn_finish(http_conn_t *c) {
    if (c->state == CONN_CLOSING || c->state == CONN_DRAINING) return;
    QC_ASSERT(c->res.state != RES_WAITING);
    c->state = CONN_DRAINING;
    c->in_off = c->in_len = 0;
    c->backlogged = false;
    c->mem_finished = true;
    if (c->is_mem) {
        conn_timer_stop(c);
        return;
    }
    conn_arm_timer(c, TIMER_LINGER, c->server->cfg.linger_ms);
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_shutdown_cb) < 0) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
}

static void conn_on_eof(http_conn_t *c) {
    c->eof = true;
    switch (c->state) {
    case CONN_PENDING: conn_close(c); break; /* the client is gone: cancel the long-poll */
    case CONN_READING: conn_process(c); break; /* answer what is buffered, then finish */
    case CONN_DRAINING:
        if (c->shutdown_done || c->is_mem) conn_close(c);
        else conn_update_reading(c);
        break;
    case CONN_HANDLER:
    case CONN_CLOSING: break;
    }
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    http_conn_t *c = stream->data;
    if (nread == 0 || c->state == CONN_CLOSING) return;
    if (nread == UV_ENOBUFS) {
        conn_update_reading(c);
        return;
    }
    if (nread == UV_EOF) {
        conn_on_eof(c);
        return;
    }
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->state == CONN_DRAINING) return; /* discarded */
    QC_ASSERT((size_t)nread <= HTTP_READ_BUF_BYTES - c->in_len);
    c->in_len += (size_t)nread;
    if (c->state == CONN_READING) conn_process(c);
    else conn_update_reading(c);
}

static void conn_timer_cb(uv_timer_t *timer) {
    http_conn_t *c = timer->data;
    timer_kind_t kind = c->timer_kind;
    c->timer_kind = TIMER_NONE;
    char msg[HTTP_MESSAGE_BYTES];
    switch (kind) {
    case TIMER_RESUME:
        if (c->in_message) conn_arm_deadline(c);
        else conn_arm_timer(c, TIMER_IDLE, c->server->cfg.idle_timeout_ms);
        c->backlogged = false;
        conn_process(c);
        break;
    case TIMER_IDLE:
    case TIMER_LINGER: conn_close(c); break;
    case TIMER_REQUEST:
        if (c->head_done) {
            snprintf(msg, sizeof msg, "request not received completely within %llu ms",
                     (unsigned long long)c->server->cfg.request_timeout_ms);
        } else {
            snprintf(msg, sizeof msg, "request head not received completely within %llu ms",
                     (unsigned long long)(c->server->cfg.header_timeout_ms <
                                                  c->server->cfg.request_timeout_ms
                                              ? c->server->cfg.header_timeout_ms
                                              : c->server->cfg.request_timeout_ms));
        }
        conn_fail(c, 408, "request_timeout", HTTP_REJECT_TIMEOUT, msg);
        break;
    case TIMER_NONE: break;
    }
}

/* ---------------------------------------------------------------- llhttp callbacks */

static void conn_set_error(http_conn_t *c, int status, const char *code, http_reject_t reject,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void conn_set_error(http_conn_t *c, int status, const char *code, http_reject_t reject,
                           const char *fmt, ...) {
    if (c->err_status) return; /* the first reason wins */
    c->err_status = status;
    c->err_code = code;
    c->err_reject = reject;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
    va_end(ap);
}

static int head_too_large(http_conn_t *c) {
    conn_set_error(c, 431, "headers_too_large", HTTP_REJECT_HEADERS_TOO_LARGE,
                   "request line and headers exceed %zu bytes", c->server->cfg.max_header_bytes);
    return -1;
}

/* Counts n bytes of the request head against the limit. */
static int count_head(http_conn_t *c, size_t n) {
    c->header_bytes += n;
    return c->header_bytes > c->server->cfg.max_header_bytes ? head_too_large(c) : 0;
}

/* Makes room for n more arena bytes. The arena moves when it grows, so pointers into it are
 * taken only after conn_dispatch has reserved everything the request will need. */
static bool arena_reserve(http_conn_t *c, size_t n) {
    if (n <= c->arena_cap - c->arena_len) return true;
    if (n > c->arena_max - c->arena_len) return false;
    size_t cap = c->arena_cap * 2;
    if (cap < c->arena_len + n) cap = c->arena_len + n;
    if (cap > c->arena_max) cap = c->arena_max;
    char *p = realloc(c->arena, cap);
    if (!p) return false;
    c->arena = p;
    c->arena_cap = cap;
    return true;
}

static int arena_put(http_conn_t *c, const char *s, size_t n) {
    if (!arena_reserve(c, n)) return head_too_large(c);
    memcpy(c->arena + c->arena_len, s, n);
    c->arena_len += n;
    return 0;
}

static int on_message_begin(llhttp_t *p) {
    http_conn_t *c = p->data;
    c->in_message = true;
    c->message_done = false;
    c->arena_len = 0;
    c->part = PART_NONE;
    c->url_off = HTTP_NO_URL;
    c->header_count = 0;
    c->header_bytes = 0;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->err_status = 0;
    /* A connection's first request is timed from accept (conn_begin), later ones from their
     * first byte; either way no later byte extends the deadlines. */
    if (c->requests_begun++ > 0) conn_start_deadlines(c, uv_now(c->server->loop));
    c->head_done = false;
    conn_arm_deadline(c);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = p->data;
    if (count_head(c, len)) return -1;
    if (c->part != PART_URL) {
        c->part = PART_URL;
        c->url_off = (uint32_t)c->arena_len;
    }
    return arena_put(c, at, len);
}

static int on_url_complete(llhttp_t *p) {
    http_conn_t *c = p->data;
    if (c->url_off == HTTP_NO_URL) c->url_off = (uint32_t)c->arena_len;
    c->part = PART_NONE;
    return arena_put(c, "", 1);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = p->data;
    if (count_head(c, len)) return -1;
    if (c->part != PART_FIELD) {
        if (c->header_count >= c->server->cfg.max_headers) {
            conn_set_error(c, 431, "headers_too_large", HTTP_REJECT_HEADERS_TOO_LARGE,
                           "more than %zu header fields", c->server->cfg.max_headers);
            return -1;
        }
        c->part = PART_FIELD;
        c->hdrs[c->header_count].name_off = (uint32_t)c->arena_len;
    }
    return arena_put(c, at, len);
}

static int on_header_field_complete(llhttp_t *p) {
    http_conn_t *c = p->data;
    if (c->part != PART_FIELD) return -1; /* llhttp never completes an empty name */
    c->part = PART_NONE;
    return arena_put(c, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = p->data;
    if (count_head(c, len)) return -1;
    if (c->part != PART_VALUE) {
        c->part = PART_VALUE;
        c->hdrs[c->header_count].value_off = (uint32_t)c->arena_len;
    }
    return arena_put(c, at, len);
}

static int on_header_value_complete(llhttp_t *p) {
    http_conn_t *c = p->data;
    if (c->part != PART_VALUE) c->hdrs[c->header_count].value_off = (uint32_t)c->arena_len;
    /* trailing optional whitespace is not part of the value (RFC 9110 5.5) */
    size_t start = c->hdrs[c->header_count].value_off;
    while (c->arena_len > start &&
           (c->arena[c->arena_len - 1] == ' ' || c->arena[c->arena_len - 1] == '\t')) {
        c->arena_len--;
    }
    c->part = PART_NONE;
    c->header_count++;
    return arena_put(c, "", 1);
}

static const char *conn_header(const http_conn_t *c, const char *name) {
    for (size_t i = 0; i < c->header_count; i++) {
        if (strcasecmp(c->arena + c->hdrs[i].name_off, name) == 0) {
            return c->arena + c->hdrs[i].value_off;
        }
    }
    return NULL;
}

/* True unless the request names a transfer coding other than one lone "chunked". llhttp
 * frames "gzip, chunked" (or "gzip" and "chunked" on two header lines) as chunked, which would
 * hand a handler a still-encoded body; a proxy that reads the codings differently would frame
 * the stream differently (request smuggling). */
static bool transfer_coding_ok(const http_conn_t *c) {
    size_t seen = 0;
    bool chunked = false;
    for (size_t i = 0; i < c->header_count; i++) {
        if (strcasecmp(c->arena + c->hdrs[i].name_off, "transfer-encoding") != 0) continue;
        seen++;
        chunked = strcasecmp(c->arena + c->hdrs[i].value_off, "chunked") == 0;
    }
    return seen == 0 || (seen == 1 && chunked);
}

static int on_headers_complete(llhttp_t *p) {
    http_conn_t *c = p->data;
    size_t max_body = c->server->cfg.max_body_bytes;
    c->head_done = true;
    conn_arm_deadline(c); /* the body has until the whole-request deadline */
    if (p->http_major != 1) { /* llhttp also frames HTTP/0.9 and 2.0-looking request lines */
        conn_set_error(c, 400, "bad_request", HTTP_REJECT_BAD_REQUEST,
                       "HTTP/%d.%d is not supported; use HTTP/1.1", p->http_major, p->http_minor);
        return -1;
    }
    if (!transfer_coding_ok(c)) {
        conn_set_error(c, 400, "bad_request", HTTP_REJECT_BAD_REQUEST,
                       "Transfer-Encoding must be exactly \"chunked\"");
        return -1;
    }
    c->http10 = p->http_minor == 0;
    c->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    bool has_body = false;
    if (p->flags & F_CHUNKED) {
        has_body = true;
        c->body_cap = max_body < HTTP_BODY_START_BYTES ? max_body + 1 : HTTP_BODY_START_BYTES;
    } else if (p->flags & F_CONTENT_LENGTH) {
        if (p->content_length > max_body) {
            conn_set_error(c, 413, "payload_too_large", HTTP_REJECT_BODY_TOO_LARGE,
                           "body of %llu bytes exceeds the limit of %zu bytes",
                           (unsigned long long)p->content_length, max_body);
            return -1;
        }
        has_body = p->content_length > 0;
        /* Grown as bytes arrive: announcing a large body costs the client the bytes. */
        size_t want = (size_t)p->content_length + 1;
        c->body_cap = want < HTTP_BODY_START_BYTES ? want : HTTP_BODY_START_BYTES;
    }
    if (c->body_cap) {
        c->body = malloc(c->body_cap);
        if (!c->body) {
            conn_set_error(c, 503, "service_unavailable", HTTP_REJECT_BODY_TOO_LARGE,
                           "out of memory for the request body");
            return -1;
        }
    }
    const char *expect = conn_header(c, "expect");
    if (has_body && !c->http10 && expect && strcasecmp(expect, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (conn_write_raw(c, cont, sizeof cont - 1) != QC_OK) return -1;
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
    http_conn_t *c = p->data;
    size_t max_body = c->server->cfg.max_body_bytes;
    if (len > max_body - c->body_len) {
        conn_set_error(c, 413, "payload_too_large", HTTP_REJECT_BODY_TOO_LARGE,
                       "body exceeds the limit of %zu bytes", max_body);
        return -1;
    }
    if (c->body_len + len + 1 > c->body_cap) { /* grow geometrically up to the cap */
        size_t cap = c->body_cap * 2;
        if (cap < c->body_len + len + 1) cap = c->body_len + len + 1;
        if (cap > max_body + 1) cap = max_body + 1;
        uint8_t *nb = realloc(c->body, cap);
        if (!nb) {
            conn_set_error(c, 503, "service_unavailable", HTTP_REJECT_BODY_TOO_LARGE,
                           "out of memory for the request body");
            return -1;
        }
        c->body = nb;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    return 0;
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t len) {
    (void)at;
    return count_head(p->data, len); /* extensions are ignored but not unbounded */
}

static int on_message_complete(llhttp_t *p) {
    http_conn_t *c = p->data;
    if (c->body) c->body[c->body_len] = 0;
    c->message_done = true;
    return HPE_PAUSED; /* one request at a time: conn_process dispatches, then resumes */
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
    .on_message_complete = on_message_complete,
};

/* ---------------------------------------------------------------- responses */

/* Sends the handler's answer and moves the connection on. */
static int res_send(http_res_t *res, int status, const char *ctype, const void *body,
                    size_t len) {
    QC_ASSERT(res->state == RES_WAITING);
    http_conn_t *c = res->conn;
    bool was_pending = c->state == CONN_PENDING;
    res->state = RES_DONE;
    res->cancel_cb = NULL;
    if (res->pending_counted) c->server->stats.responses_pending--;
    res->pending_counted = false;
    if (c->state == CONN_CLOSING) return QC_ERR_CLOSED;
    bool close = !c->keep_alive || c->server->closing;
    int rc = conn_send(c, status, ctype, body, len, res->extra, res->extra_len, res->head_only,
                       close);
    if (rc != QC_OK) return rc;
    if (close) {
        conn_finish(c);
        return QC_OK;
    }
    c->state = CONN_READING;
    c->since_ms = uv_now(c->server->loop); /* answered: an idle connection from now on */
    /* Continue with pipelined input from the loop, not from inside the caller's stack. */
    if (was_pending) conn_arm_timer(c, TIMER_RESUME, 0);
    else conn_arm_timer(c, TIMER_IDLE, c->server->cfg.idle_timeout_ms);
    return QC_OK;
}

int http_respond_bytes(http_res_t *res, int status, const char *content_type,
                       const void *data, size_t len) {
    QC_ASSERT(content_type && (data || len == 0));
    return res_send(res, status, content_type, data, len);
}

int http_respond_text(http_res_t *res, int status, const char *text) {
    return res_send(res, status, "text/plain; charset=utf-8", text, strlen(text));
}

int http_respond_error(http_res_t *res, int status, const char *code, const char *fmt, ...) {
    char msg[HTTP_MESSAGE_BYTES], body[HTTP_ERROR_BODY_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = error_body(body, sizeof body, code, msg);
    return res_send(res, status, "application/json", body, n);
}

int http_respond_json(http_res_t *res, int status, json_t *body) {
    if (!body) return http_respond_error(res, 500, "internal", "response could not be built");
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text) return http_respond_error(res, 500, "internal", "response could not be encoded");
    int rc = res_send(res, status, "application/json", text, strlen(text));
    free(text);
    return rc;
}

int http_res_header(http_res_t *res, const char *name, const char *value) {
    QC_ASSERT(res->state == RES_WAITING);
    if (!*name) return QC_ERR_INVALID;
    for (const char *p = name; *p; p++) {
        if (!is_tchar(*p)) return QC_ERR_INVALID;
    }
    if (strpbrk(value, "\r\n")) return QC_ERR_INVALID;
    size_t need = strlen(name) + 2 + strlen(value) + 2;
    if (need > sizeof res->extra - res->extra_len) return QC_ERR_TOOBIG;
    int n = snprintf(res->extra + res->extra_len, sizeof res->extra - res->extra_len,
                     "%s: %s\r\n", name, value);
    QC_ASSERT(n > 0 && (size_t)n == need);
    res->extra_len += need;
    return QC_OK;
}

void http_res_on_cancel(http_res_t *res, http_cancel_cb cb, void *data) {
    QC_ASSERT(res->state == RES_WAITING && cb);
    res->cancel_cb = cb;
    res->cancel_data = data;
}

http_req_t *http_res_req(http_res_t *res) {
    QC_ASSERT(res->state == RES_WAITING);
    return &res->conn->req;
}

const char *http_req_header(const http_req_t *req, const char *name) {
    return conn_header(req->conn, name);
}

const char *http_req_param(const http_req_t *req, const char *name) {
    for (size_t i = 0; i < req->param_count; i++) {
        if (strcmp(req->params[i].name, name) == 0) return req->params[i].value;
    }
    return NULL;
}

json_t *http_req_json(http_req_t *req, http_res_t *res) {
    json_error_t err;
    json_t *j = json_loadb((const char *)req->body, req->body_len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!j) {
        http_respond_error(res, 400, "bad_request", "invalid JSON body at line %d column %d: %s",
                           err.line, err.column, err.text);
    }
    return j;
}

/* ---------------------------------------------------------------- routing and dispatch */

/* Matches path against pattern segment by segment; on success the raw spans of the {param}
 * segments are in vals/lens (count in *n). */
static bool route_match(const char *pattern, const char *path, const char **vals,
                        size_t *lens, size_t *n) {
    const char *p = pattern, *s = path;
    *n = 0;
    while (*p == '/' && *s == '/') {
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (p[0] == '{') {
            if (sl == 0) return false;
            QC_ASSERT(*n < HTTP_MAX_PARAMS);
            vals[*n] = s;
            lens[*n] = sl;
            (*n)++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return false;
        }
        p += pl;
        s += sl;
        if (*p == '\0' && *s == '\0') return true;
    }
    return false;
}

static bool method_matches(const char *route_method, const char *method) {
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Appends method to the comma-separated list unless already there. */
static void allow_add(char *allow, size_t cap, const char *method) {
    size_t mlen = strlen(method);
    for (const char *p = allow; *p;) {
        size_t len = strcspn(p, ",");
        if (len == mlen && memcmp(p, method, mlen) == 0) return;
        p += len;
        while (*p == ',' || *p == ' ') p++;
    }
    size_t used = strlen(allow);
    if (used + mlen + 3 > cap) return;
    snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", method);
}

/* Answers 405 with Allow listing every method routed for this path (HEAD with GET). */
static void respond_not_allowed(http_conn_t *c) {
    http_server_t *s = c->server;
    char allow[HTTP_EXTRA_HEADER_BYTES / 2] = "";
    const char *vals[HTTP_MAX_PARAMS];
    size_t lens[HTTP_MAX_PARAMS], n;
    for (size_t i = 0; i < s->route_count; i++) {
        if (!route_match(s->routes[i].pattern, c->req.path, vals, lens, &n)) continue;
        allow_add(allow, sizeof allow, s->routes[i].method);
        if (strcmp(s->routes[i].method, "GET") == 0) allow_add(allow, sizeof allow, "HEAD");
    }
    http_res_header(&c->res, "Allow", allow);
    char path[96];
    sanitize(path, sizeof path, c->req.path);
    http_respond_error(&c->res, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                       c->req.method, path, allow);
}

/* Decodes the matched {param} values into the arena. */
static bool decode_params(http_conn_t *c, const http_route_t *r, const char **vals,
                          const size_t *lens, size_t n) {
    const char *p = r->pattern;
    for (size_t i = 0; i < n; i++) {
        p = strchr(p, '{');
        QC_ASSERT(p);
        size_t name_len = strcspn(p + 1, "}");
        char *name = c->arena + c->arena_len;
        if (arena_put(c, p + 1, name_len) || arena_put(c, "", 1)) return false;
        p += name_len + 2;
        char *value = c->arena + c->arena_len;
        size_t out_len = 0;
        if (http_percent_decode(vals[i], lens[i], false, value, c->arena_cap - c->arena_len,
                                &out_len) != QC_OK) {
            http_respond_error(&c->res, 400, "bad_request",
                               "path parameter '%s' is not valid percent-encoding", name);
            return false;
        }
        c->arena_len += out_len + 1;
        c->req.params[i].name = name;
        c->req.params[i].value = value;
    }
    c->req.param_count = n;
    return true;
}

static void conn_route(http_conn_t *c) {
    http_server_t *s = c->server;
    http_req_t *req = &c->req;
    const char *vals[HTTP_MAX_PARAMS];
    size_t lens[HTTP_MAX_PARAMS], n = 0;
    bool path_known = false;
    for (size_t i = 0; i < s->route_count; i++) {
        const http_route_t *r = &s->routes[i];
        if (!route_match(r->pattern, req->path, vals, lens, &n)) continue;
        path_known = true;
        if (!method_matches(r->method, req->method)) continue;
        if (!decode_params(c, r, vals, lens, n)) {
            if (c->res.state == RES_WAITING) {
                http_respond_error(&c->res, 431, "headers_too_large", "path too long");
            }
            return;
        }
        r->handler(req, &c->res, r->data);
        return;
    }
    if (path_known) {
        respond_not_allowed(c);
        return;
    }
    char path[96];
    sanitize(path, sizeof path, req->path);
    http_respond_error(&c->res, 404, "not_found", "no route for %s %s", req->method, path);
}

/* Hands one complete request to its handler (or answers it) and accounts for the result. */
static void conn_dispatch(http_conn_t *c) {
    http_server_t *s = c->server;
    c->in_message = false;
    c->message_done = false;
    conn_timer_stop(c);
    s->stats.requests++;

    /* Room for the decoded path parameters now, so that the arena cannot move while the
     * request's pointers into it are alive. */
    size_t url_len = c->url_off == HTTP_NO_URL ? 0 : strlen(c->arena + c->url_off);
    bool reserved = arena_reserve(c, url_len + HTTP_MAX_PATTERN + 2 * HTTP_MAX_PARAMS + 1);
    char *url = c->url_off == HTTP_NO_URL ? NULL : c->arena + c->url_off;
    static char empty[1];
    if (!url) url = empty;
    url[strcspn(url, "#")] = '\0';
    char *q = strchr(url, '?');
    http_req_t *req = &c->req;
    memset(req, 0, sizeof *req);
    req->server = s;
    req->conn = c;
    req->method = llhttp_method_name((llhttp_method_t)llhttp_get_method(&c->parser));
    req->query = "";
    if (q) {
        *q = '\0';
        req->query = q + 1;
    }
    req->path = url;
    req->body = c->body ? c->body : (const uint8_t *)"";
    req->body_len = c->body_len;

    http_res_t *res = &c->res;
    memset(res, 0, sizeof *res);
    res->conn = c;
    res->state = RES_WAITING;
    res->head_only = strcmp(req->method, "HEAD") == 0;

    c->state = CONN_HANDLER;
    if (!reserved) {
        http_respond_error(res, 503, "service_unavailable", "out of memory for the request");
    } else if (url[0] != '/') {
        http_respond_error(res, 400, "bad_request",
                           "request target must be an absolute path starting with '/'");
    } else {
        conn_route(c);
    }
    if (res->state != RES_WAITING) return; /* answered; res_send moved the state on */
    QC_ASSERT(res->cancel_cb != NULL);     /* handler contract: answer or register cancel */
    if (c->state == CONN_CLOSING) {        /* closed while the handler ran */
        res_cancel(c);
        return;
    }
    c->state = CONN_PENDING;
    res->pending_counted = true;
    s->stats.responses_pending++;
}

static void conn_parse_error(http_conn_t *c, llhttp_errno_t e) {
    if (c->err_status) {
        conn_fail(c, c->err_status, c->err_code, c->err_reject, c->err_msg);
        return;
    }
    char msg[HTTP_MESSAGE_BYTES];
    snprintf(msg, sizeof msg, "malformed request (%s): %s", llhttp_errno_name(e),
             llhttp_get_error_reason(&c->parser));
    conn_fail(c, 400, "bad_request", HTTP_REJECT_BAD_REQUEST, msg);
}

/* Parses buffered input while the connection may take a request, dispatching each. */
static void conn_process(http_conn_t *c) {
    while (c->state == CONN_READING && c->in_off < c->in_len) {
        if (c->write_bytes_pending > HTTP_WRITE_BACKLOG_BYTES) {
            c->backlogged = true; /* the client is not reading: resumed from conn_write_cb */
            break;
        }
        const char *start = c->in + c->in_off;
        size_t avail = c->in_len - c->in_off;
        llhttp_errno_t e = llhttp_execute(&c->parser, start, avail);
        if (e == HPE_OK) {
            c->in_off = c->in_len;
            break;
        }
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            const char *pos = llhttp_get_error_pos(&c->parser);
            QC_ASSERT(pos >= start && pos <= start + avail);
            c->in_off += (size_t)(pos - start);
            if (e == HPE_PAUSED) llhttp_resume(&c->parser);
            else llhttp_resume_after_upgrade(&c->parser);
            if (!c->message_done) {
                conn_fail(c, 400, "bad_request", HTTP_REJECT_BAD_REQUEST,
                          "protocol upgrades are not supported");
                break;
            }
            conn_dispatch(c);
            continue;
        }
        conn_parse_error(c, e);
        break;
    }
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->state == CONN_READING && c->eof && c->in_len == 0 && !c->backlogged) {
        conn_finish(c); /* the client half-closed and everything it sent is answered */
        return;
    }
    conn_update_reading(c);
}

/* ---------------------------------------------------------------- connections */

static http_conn_t *conn_new(http_server_t *s, bool is_mem) {
    http_conn_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    const http_config_t *cfg = &s->cfg;
    /* head bytes + a NUL per string + decoded params (never longer than the raw target) */
    c->arena_max = 2 * cfg->max_header_bytes + 2 * cfg->max_headers + 2 * HTTP_MAX_PATTERN + 16;
    c->arena_cap = c->arena_max < HTTP_ARENA_START_BYTES ? c->arena_max : HTTP_ARENA_START_BYTES;
    c->in = malloc(HTTP_READ_BUF_BYTES);
    c->arena = malloc(c->arena_cap);
    c->hdrs = calloc(cfg->max_headers, sizeof *c->hdrs);
    if (!c->in || !c->arena || !c->hdrs) {
        free(c->in);
        free(c->arena);
        free(c->hdrs);
        free(c);
        return NULL;
    }
    c->server = s;
    c->is_mem = is_mem;
    c->url_off = HTTP_NO_URL;
    QC_ASSERT(uv_timer_init(s->loop, &c->timer) == 0);
    c->timer.data = c;
    if (!is_mem) {
        QC_ASSERT(uv_tcp_init(s->loop, &c->tcp) == 0);
        c->tcp.data = c;
    }
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->conn_count++;
    return c;
}

static void drop_close_cb(uv_handle_t *handle) {
    http_server_t *s = handle->data;
    free(handle);
    QC_ASSERT(s->drops_closing > 0);
    s->drops_closing--;
    server_maybe_done(s);
}

/* Takes a connection off the backlog and closes it without a word (hard overload). */
static void accept_and_drop(http_server_t *s) {
    uv_tcp_t *t = malloc(sizeof *t);
    if (!t) return;
    QC_ASSERT(uv_tcp_init(s->loop, t) == 0);
    t->data = s;
    (void)uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t);
    s->drops_closing++;
    uv_close((uv_handle_t *)t, drop_close_cb);
}

/* Starts the clock of an admitted connection: its first request's head and whole-request
 * deadlines count from now, and a connection silent until the earlier one is closed. */
static void conn_begin(http_conn_t *c) {
    const http_config_t *cfg = &c->server->cfg;
    uint64_t now = uv_now(c->server->loop);
    c->since_ms = now;
    conn_start_deadlines(c, now);
    conn_arm_timer(c, TIMER_IDLE, cfg->header_timeout_ms < cfg->request_timeout_ms
                                      ? cfg->header_timeout_ms
                                      : cfg->request_timeout_ms);
    conn_update_reading(c);
}

/* Whether closing c now breaks no promise: it is waiting for, or part way through, a request
 * (or lingering after its last response) and has no response bytes queued. A connection whose
 * request a handler holds (long-poll) or whose response is still being written is not. */
static bool conn_evictable(const http_conn_t *c) {
    return c->counted_open && c->client && c->writes_pending == 0 &&
           (c->state == CONN_READING || c->state == CONN_DRAINING);
}

/* The connection to close to make room for `except`: among the evictable connections (of
 * client `only`, or of every client when NULL), one of the address holding the most open
 * connections, and of those the one held longest (accepted or last answered earliest; a
 * trickling request keeps its accept time). NULL when none is evictable. O(connections). */
static http_conn_t *conn_victim(http_server_t *s, const http_client_t *only,
                                const http_conn_t *except) {
    http_conn_t *best = NULL;
    for (http_conn_t *c = s->conns; c; c = c->next) { /* newest first: ties go to the oldest */
        if (c == except || !conn_evictable(c) || (only && c->client != only)) continue;
        if (!best || c->client->conns > best->client->conns ||
            (c->client->conns == best->client->conns && c->since_ms <= best->since_ms)) {
            best = c;
        }
    }
    return best;
}

/* Refuses a new connection with 503 (it is then not counted as open). */
static void conn_refuse(http_conn_t *c, http_reject_t reason, const char *what, size_t limit) {
    char msg[HTTP_MESSAGE_BYTES];
    snprintf(msg, sizeof msg, "too many connections%s (limit %zu)", what, limit);
    conn_release(c);
    conn_fail(c, 503, "service_unavailable", reason, msg);
}

/* Admits a new socket connection within the per-client and total limits. Over a limit, the
 * victim conn_victim picks (the client's own, or anyone's when the server is full) is closed
 * at once without a response; if there is none the new connection gets 503. */
static void conn_admit(http_conn_t *c) {
    http_server_t *s = c->server;
    const http_config_t *cfg = &s->cfg;
    uint8_t addr[HTTP_CLIENT_ADDR_BYTES];
    if (!client_addr_of(&c->tcp, addr)) {
        conn_close(c); /* reset before we looked: nobody to answer */
        return;
    }
    http_client_t *client = client_get(s, addr);
    if (!client) {
        conn_fail(c, 503, "service_unavailable", HTTP_REJECT_CONN_LIMIT, "out of memory");
        return;
    }
    c->counted_open = true; /* counted before evicting, so the entry outlives the eviction */
    c->client = client;
    client->conns++;
    s->stats.connections_open++;
    if (client->conns > cfg->max_connections_per_client) {
        http_conn_t *v = conn_victim(s, client, c);
        if (!v) {
            conn_refuse(c, HTTP_REJECT_CLIENT_LIMIT, " from this address",
                        cfg->max_connections_per_client);
            return;
        }
        s->stats.rejected[HTTP_REJECT_EVICTED]++;
        conn_close(v);
    }
    if (s->stats.connections_open > cfg->max_connections) {
        http_conn_t *v = conn_victim(s, NULL, c);
        if (!v) {
            conn_refuse(c, HTTP_REJECT_CONN_LIMIT, "", cfg->max_connections);
            return;
        }
        s->stats.rejected[HTTP_REJECT_EVICTED]++;
        conn_close(v);
    }
    conn_begin(c);
}

static void on_connection(uv_stream_t *listener, int status) {
    http_server_t *s = listener->data;
    if (status < 0) {
        QC_LOG_RATED(&s->log_accept, uv_now(s->loop), QC_LOG_WARN, "http: accept failed: %s",
                     uv_strerror(status));
        return;
    }
    /* Structs: the open connections, up to HTTP_REJECT_SLACK being refused, and as many again
     * closed in this loop turn (evicted) and not yet freed by their close callbacks. */
    size_t hard = s->cfg.max_connections + HTTP_REJECT_SLACK;
    http_conn_t *c = NULL;
    if (s->conn_count - s->conns_closing < hard && s->conns_closing < hard) c = conn_new(s, false);
    if (!c) {
        s->stats.rejected[HTTP_REJECT_CONN_LIMIT]++;
        accept_and_drop(s);
        return;
    }
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    s->stats.connections_accepted++;
    conn_admit(c);
}

/* ---------------------------------------------------------------- server */

int http_server_init(http_server_t *s, uv_loop_t *loop, const http_config_t *cfg) {
    memset(s, 0, sizeof *s);
    s->log_accept = (qc_lograte_t)QC_LOGRATE_INIT("http: accept failed", QC_LOG_WARN, 10,
                                                  QC_LOGRATE_WINDOW_MS);
    if (cfg) s->cfg = *cfg;
    else http_config_default(&s->cfg);
    const http_config_t *k = &s->cfg;
    if (!k->max_connections || !k->max_connections_per_client || !k->max_header_bytes ||
        !k->max_headers || !k->max_body_bytes || !k->header_timeout_ms ||
        !k->request_timeout_ms || !k->idle_timeout_ms || !k->linger_ms ||
        k->max_header_bytes > (1u << 24) || k->max_headers > 4096 ||
        k->max_body_bytes > ((size_t)1 << 32)) {
        return QC_ERR_INVALID;
    }
    s->client_buckets = 1;
    while (s->client_buckets < k->max_connections && s->client_buckets < HTTP_CLIENT_BUCKETS_MAX) {
        s->client_buckets *= 2;
    }
    s->clients = calloc(s->client_buckets, sizeof *s->clients);
    if (!s->clients) return QC_ERR_NOMEM;
    randombytes_buf(s->client_key, sizeof s->client_key);
    s->loop = loop;
    QC_ASSERT(uv_tcp_init(loop, &s->listener) == 0);
    s->listener.data = s;
    return QC_OK;
}

static bool pattern_valid(const char *pattern) {
    size_t params = 0;
    if (pattern[0] != '/' || strlen(pattern) >= HTTP_MAX_PATTERN) return false;
    if (strcmp(pattern, "/") == 0) return true;
    const char *p = pattern;
    while (*p == '/') {
        p++;
        size_t len = strcspn(p, "/");
        if (len == 0) return false; /* empty segment or trailing slash */
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || ++params > HTTP_MAX_PARAMS) return false;
            for (size_t i = 1; i + 1 < len; i++) {
                char ch = p[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
                    return false;
            }
        } else if (memchr(p, '{', len) || memchr(p, '}', len) || memchr(p, '?', len)) {
            return false;
        }
        p += len;
    }
    return *p == '\0';
}

int http_route(http_server_t *s, const char *method, const char *pattern,
               http_handler_cb handler, void *data) {
    QC_ASSERT(handler);
    size_t mlen = strlen(method);
    if (mlen == 0 || mlen >= HTTP_MAX_METHOD || !pattern_valid(pattern)) return QC_ERR_INVALID;
    for (size_t i = 0; i < mlen; i++) {
        if (method[i] < 'A' || method[i] > 'Z') return QC_ERR_INVALID;
    }
    if (s->route_count >= HTTP_MAX_ROUTES) return QC_ERR_FULL;
    http_route_t *r = &s->routes[s->route_count++];
    memcpy(r->method, method, mlen + 1);
    snprintf(r->pattern, sizeof r->pattern, "%s", pattern);
    r->handler = handler;
    r->data = data;
    return QC_OK;
}

int http_server_listen(http_server_t *s, const char *host, uint16_t port) {
    if (s->listening || s->closing) return QC_ERR_INVALID;
    if (!host) host = "127.0.0.1";
    struct sockaddr_storage addr;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc < 0) return QC_ERR_INVALID;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (rc < 0) {
        QC_WARN("http: cannot listen on %s port %u: %s", host, (unsigned)port, uv_strerror(rc));
        return rc == UV_EADDRINUSE ? QC_ERR_EXISTS
             : rc == UV_EACCES    ? QC_ERR_PERM
             : rc == UV_EADDRNOTAVAIL || rc == UV_EINVAL ? QC_ERR_INVALID
                                                         : QC_ERR_IO;
    }
    s->listening = true;
    return QC_OK;
}

uint16_t http_server_port(const http_server_t *s) {
    if (!s->listening) return 0;
    struct sockaddr_storage addr;
    int len = sizeof addr;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len) < 0) return 0;
    if (addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void http_server_stats(const http_server_t *s, http_stats_t *out) {
    *out = s->stats;
}

void http_server_metrics(const http_server_t *s, prom_buf_t *buf) {
    const http_stats_t *st = &s->stats;
    prom_family(buf, "qchain_http_requests_total", "counter", "Complete HTTP requests received.");
    prom_sample_u64(buf, "qchain_http_requests_total", NULL, 0, st->requests);
    prom_family(buf, "qchain_http_responses_total", "counter", "HTTP responses by status class.");
    static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx"};
    for (size_t i = 0; i < 4; i++) {
        const char *labels[2] = {"class", classes[i]};
        prom_sample_u64(buf, "qchain_http_responses_total", labels, 1,
                        st->responses_by_class[i + 2]);
    }
    prom_family(buf, "qchain_http_connections_accepted_total", "counter",
                "HTTP connections accepted.");
    prom_sample_u64(buf, "qchain_http_connections_accepted_total", NULL, 0,
                    st->connections_accepted);
    prom_family(buf, "qchain_http_connections_open", "gauge", "HTTP connections open now.");
    prom_sample_u64(buf, "qchain_http_connections_open", NULL, 0, st->connections_open);
    prom_family(buf, "qchain_http_pending_responses", "gauge",
                "Deferred (long-poll) HTTP responses outstanding.");
    prom_sample_u64(buf, "qchain_http_pending_responses", NULL, 0, st->responses_pending);
    prom_family(buf, "qchain_http_cancelled_responses_total", "counter",
                "Deferred HTTP responses whose client went away first.");
    prom_sample_u64(buf, "qchain_http_cancelled_responses_total", NULL, 0,
                    st->responses_cancelled);
    prom_family(buf, "qchain_http_rejected_total", "counter",
                "HTTP connections or requests refused, by reason.");
    for (int r = 0; r < HTTP_REJECT_COUNT; r++) {
        const char *labels[2] = {"reason", http_reject_name((http_reject_t)r)};
        prom_sample_u64(buf, "qchain_http_rejected_total", labels, 1, st->rejected[r]);
    }
}

static void listener_close_cb(uv_handle_t *handle) {
    http_server_t *s = handle->data;
    s->listener_closed = true;
    server_maybe_done(s);
}

void http_server_close(http_server_t *s, http_close_cb cb) {
    if (s->closing) return;
    s->closing = true;
    s->close_cb = cb;
    uv_close((uv_handle_t *)&s->listener, listener_close_cb);
    for (http_conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}

/* ---------------------------------------------------------------- in-memory connections */

int http_mem_conn_open(http_server_t *s, http_conn_t **out) {
    if (s->closing) return QC_ERR_CLOSED;
    http_conn_t *c = conn_new(s, true);
    if (!c) return QC_ERR_NOMEM;
    conn_begin(c); /* no address: not counted against any client or the connection limit */
    *out = c;
    return QC_OK;
}

size_t http_mem_conn_feed(http_conn_t *c, const void *data, size_t len) {
    QC_ASSERT(c->is_mem);
    const char *src = data;
    size_t taken = 0;
    while (taken < len && (c->state == CONN_READING || c->state == CONN_PENDING)) {
        size_t room = HTTP_READ_BUF_BYTES - c->in_len;
        if (room == 0) break;
        size_t n = len - taken < room ? len - taken : room;
        memcpy(c->in + c->in_len, src + taken, n);
        c->in_len += n;
        taken += n;
        if (c->state == CONN_READING) conn_process(c);
    }
    return taken;
}

void http_mem_conn_eof(http_conn_t *c) {
    QC_ASSERT(c->is_mem);
    if (!c->eof && c->state != CONN_CLOSING) conn_on_eof(c);
}

const char *http_mem_conn_output(const http_conn_t *c, size_t *len) {
    *len = c->mem_out_len;
    return c->mem_out ? c->mem_out : "";
}

bool http_mem_conn_finished(const http_conn_t *c) {
    return c->mem_finished;
}

void http_mem_conn_close(http_conn_t *c) {
    QC_ASSERT(c->is_mem);
    conn_close(c);
}
