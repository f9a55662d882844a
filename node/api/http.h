/* http.h - the node's HTTP/1.1 server: runs on a caller's libuv loop, parses with llhttp,
 * routes (method, "/v1/records/{digest}") pairs to handlers, enforces size limits and
 * timeouts, answers every problem with a JSON error body, and lets a handler answer later
 * (long-poll) with a cancel callback if the client goes away first.
 *
 * Behaviour in brief (docs/HTTP.md has the whole story):
 * - Keep-alive and pipelining: one request is handled at a time per connection; pipelined
 *   requests wait (unparsed) until the previous response is queued, so responses go out in
 *   request order even when one is deferred.
 * - Bodies: Content-Length and chunked transfer coding are both accepted (llhttp decodes the
 *   chunks); either way the body is capped at max_body_bytes (413). Expect: 100-continue is
 *   answered when the announced body fits.
 * - Errors: {"error":{"code":"bad_request","message":"..."}}. After a request that cannot be
 *   framed (parse error, oversize, timeout) the server answers, sends FIN, discards what the
 *   client still sends for a short linger, then closes. A well-framed request that merely
 *   fails routing (404, 405, bad path) keeps the connection.
 * - Floods: open connections are limited in all and per client address; over a limit, the
 *   longest-held idle or incomplete connection (of that address, or of the address holding
 *   the most) is closed to make room, and only when none can be does a new one get 503. A
 *   request's head and whole-request deadlines count from its first byte (from accept for a
 *   connection's first request) and are never extended by trickled bytes.
 * - Everything runs on the loop thread; no function here is thread-safe.
 *
 * Errors are negative qc_err_t codes (qc.h); 0 is success. */
#ifndef QC_HTTP_H
#define QC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "qc.h"
#include "prom.h"

#define HTTP_MAX_ROUTES 64
#define HTTP_MAX_PARAMS 8        /* path parameters of one route */
#define HTTP_MAX_PATTERN 128     /* bytes of a route pattern, NUL included */
#define HTTP_MAX_METHOD 16       /* bytes of a route method, NUL included */

typedef struct http_server_s http_server_t;
typedef struct http_conn_s http_conn_t; /* private: one client connection */
typedef struct http_res_s http_res_t;   /* private: the pending answer to one request */
typedef struct http_req_s http_req_t;
typedef struct http_client_s http_client_t; /* private: open connections of one address */

/* Limits and timeouts. Start from http_config_default() and change what you need. */
typedef struct {
    size_t max_connections;      /* open client connections in all; when full, a new one makes
                                  * room by evicting (see below) or gets 503 and is closed */
    size_t max_connections_per_client; /* open connections from one client address (an IPv4
                                  * address, an IPv6 /64); past it the client's own most
                                  * evictable connection is closed, or the new one gets 503 */
    size_t max_header_bytes;     /* method + target + header names and values (431 beyond) */
    size_t max_headers;          /* header fields (431 beyond) */
    size_t max_body_bytes;       /* decoded body (413 beyond) */
    uint64_t header_timeout_ms;  /* request line and headers complete within this of the
                                  * request's first byte, or of accept for a connection's first
                                  * request (408 and close; a silent new connection is closed) */
    uint64_t request_timeout_ms; /* the whole request within this, counted the same way */
    uint64_t idle_timeout_ms;    /* keep-alive wait for the next request (closed silently) */
    uint64_t linger_ms;          /* after a final response: wait this long for the client to
                                  * read it and close, discarding its input, then close */
} http_config_t;

/* Defaults: 256 connections, 64 per client address, 8 KiB of headers in at most 64 fields,
 * 1 MiB body, 5 s head, 10 s request, 60 s idle, 2 s linger. */
void http_config_default(http_config_t *cfg);

/* A path parameter: name borrowed from the route pattern's copy in the server, value
 * percent-decoded (never containing NUL). */
typedef struct {
    const char *name;
    const char *value;
} http_param_t;

/* What a handler sees. Every pointer (and the request itself) is borrowed from the server and
 * valid until the handler responds or its cancel callback runs, whichever comes first. */
struct http_req_s {
    const char *method;   /* "GET", "POST", ... (static string) */
    const char *path;     /* raw path, not percent-decoded, starts with '/' */
    const char *query;    /* raw query after '?', not decoded; "" if none */
    http_param_t params[HTTP_MAX_PARAMS];
    size_t param_count;
    const uint8_t *body;  /* decoded body bytes; body[body_len] == 0 for convenience */
    size_t body_len;
    http_server_t *server;
    http_conn_t *conn;    /* private */
};

/* A handler answers exactly once with one of the http_respond_* functions, either before it
 * returns or later. If it returns without answering it must first have called
 * http_res_on_cancel (asserted). data is the route's data pointer. */
typedef void (*http_handler_cb)(http_req_t *req, http_res_t *res, void *data);
/* The response's connection is going away (client closed, error, server closing) before the
 * handler answered. After this returns res and its request are invalid; do not respond. */
typedef void (*http_cancel_cb)(http_res_t *res, void *data);
/* All connections and the listener are closed and freed; server memory may be reused. */
typedef void (*http_close_cb)(http_server_t *server);

/* Why a connection or request was refused, counted for /metrics. */
typedef enum {
    HTTP_REJECT_CONN_LIMIT = 0,    /* 503: too many connections */
    HTTP_REJECT_BAD_REQUEST,       /* 400: unparseable request */
    HTTP_REJECT_HEADERS_TOO_LARGE, /* 431 */
    HTTP_REJECT_BODY_TOO_LARGE,    /* 413 */
    HTTP_REJECT_TIMEOUT,           /* 408: request not received in time */
    HTTP_REJECT_CLIENT_LIMIT,      /* 503: the client address holds its limit, none evictable */
    HTTP_REJECT_EVICTED,           /* an idle or incomplete connection closed to make room */
    HTTP_REJECT_COUNT
} http_reject_t;

/* Static label for a reject reason ("conn_limit", "bad_request", ...). */
const char *http_reject_name(http_reject_t reason);

typedef struct {
    uint64_t requests;                /* complete requests dispatched */
    uint64_t responses_by_class[6];   /* [2] = 2xx ... [5] = 5xx, interim 100s not counted */
    uint64_t connections_accepted;
    uint64_t connections_open;        /* currently open (excluding ones being refused) */
    uint64_t responses_pending;       /* deferred (long-poll) responses now outstanding */
    uint64_t responses_cancelled;     /* deferred responses whose client went away */
    uint64_t rejected[HTTP_REJECT_COUNT];
} http_stats_t;

typedef struct {
    char method[HTTP_MAX_METHOD];
    char pattern[HTTP_MAX_PATTERN];
    http_handler_cb handler;
    void *data;
} http_route_t;

/* The server. Callers embed or allocate it; all fields are private (use the functions). */
struct http_server_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_config_t cfg;
    http_route_t routes[HTTP_MAX_ROUTES];
    size_t route_count;
    http_conn_t *conns;     /* doubly linked list of every live connection */
    size_t conn_count;      /* live connection structs, including ones being refused */
    size_t conns_closing;   /* of those, closed and waiting for their close callbacks */
    http_client_t **clients; /* hash table (chained) of client addresses with open connections */
    size_t client_buckets;  /* power of two */
    uint8_t client_key[16]; /* random key of the table's hash, so addresses cannot collide it */
    size_t drops_closing;   /* connections dropped unanswered, still closing */
    http_stats_t stats;
    qc_lograte_t log_accept; /* "accept failed" lines: an outsider can cause them (ENFILE) */
    bool listening;
    bool closing;
    bool listener_closed;
    bool closed;
    http_close_cb close_cb;
};

/* Initialises server on loop (borrowed; must outlive the server) with a copy of cfg (NULL for
 * defaults). QC_ERR_INVALID for a zero limit. On success the server must eventually be closed
 * with http_server_close, even if it never listened. */
int http_server_init(http_server_t *server, uv_loop_t *loop, const http_config_t *cfg);

/* Adds a route. method: an upper-case token ("GET"); a GET route also answers HEAD (headers
 * only). pattern: "/" or "/seg/seg" where a segment "{name}" (name: [a-z0-9_]+) matches one
 * non-empty path segment; literal segments match exactly (no decoding); no trailing slash.
 * Both strings are copied. data is passed to handler, borrowed. Routes are tried in order.
 * QC_ERR_INVALID for a bad method or pattern, QC_ERR_FULL past HTTP_MAX_ROUTES. */
int http_route(http_server_t *server, const char *method, const char *pattern,
               http_handler_cb handler, void *data);

/* Binds and listens. host: an IPv4 or IPv6 literal, NULL for "127.0.0.1"; port 0 picks a
 * free port (see http_server_port). QC_ERR_INVALID (bad address or already listening),
 * QC_ERR_EXISTS (address in use), QC_ERR_PERM, QC_ERR_IO. */
int http_server_listen(http_server_t *server, const char *host, uint16_t port);

/* The bound port, or 0 when not listening. */
uint16_t http_server_port(const http_server_t *server);

/* Copies the counters. */
void http_server_stats(const http_server_t *server, http_stats_t *out);

/* Appends the server's counters in Prometheus text form (qchain_http_* families). */
void http_server_metrics(const http_server_t *server, prom_buf_t *buf);

/* Stops listening, cancels deferred responses (their cancel callbacks run synchronously,
 * here), closes every connection, and calls cb (may be NULL) from the loop once everything is
 * freed. Calling it again, or from inside a handler, is allowed; only the first cb counts. */
void http_server_close(http_server_t *server, http_close_cb cb);

/* ---------------------------------------------------------------- handler side */

/* Case-insensitive lookup of a request header's value (the first if repeated), or NULL. The
 * string is borrowed like the rest of the request. */
const char *http_req_header(const http_req_t *req, const char *name);
/* A path parameter's decoded value by name, or NULL. */
const char *http_req_param(const http_req_t *req, const char *name);
/* The request a response belongs to (borrowed, same lifetime as res). */
http_req_t *http_res_req(http_res_t *res);

/* Parses the body as one JSON value (duplicate keys refused). On success returns it (caller
 * owns it: json_decref). On failure responds 400 bad_request naming the line, column and
 * problem, and returns NULL: the response is then done and res must not be used again. */
json_t *http_req_json(http_req_t *req, http_res_t *res);

/* Registers the cancel callback of a response the handler will answer later. data is
 * borrowed. Must be called before the handler returns without answering. */
void http_res_on_cancel(http_res_t *res, http_cancel_cb cb, void *data);

/* Adds a response header (e.g. "Retry-After", "Location") before responding. Copied.
 * QC_ERR_INVALID for a bad name or a value with CR, LF or NUL; QC_ERR_TOOBIG past 1 KiB
 * of extra headers. Content-Type, Content-Length and Connection are set by the server. */
int http_res_header(http_res_t *res, const char *name, const char *value);

/* The http_respond_* functions each answer once. Whatever they return, res is finished and
 * must not be used again; a failure (QC_ERR_NOMEM, QC_ERR_CLOSED) means the connection was
 * or is being closed. */

/* body: a JSON value whose reference is stolen (json_decref'd here), as with
 * json_object_set_new. NULL (e.g. a failed jansson allocation) answers 500 instead. */
int http_respond_json(http_res_t *res, int status, json_t *body);
/* text/plain; charset=utf-8. text is copied. */
int http_respond_text(http_res_t *res, int status, const char *text);
/* Any content type (borrowed string, copied into the head); data is copied. */
int http_respond_bytes(http_res_t *res, int status, const char *content_type,
                       const void *data, size_t len);
/* {"error":{"code":code,"message":...}} with a printf-style message. Bytes outside printable
 * ASCII in the message are replaced by '?'. */
int http_respond_error(http_res_t *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- query strings */

/* Percent-decodes in[0..in_len) into out (cap bytes, NUL-terminated). plus_is_space decodes
 * '+' as ' ' (query strings). QC_ERR_INVALID for a truncated or non-hex escape or an encoded
 * NUL (%00), QC_ERR_TOOBIG if out is too small. *out_len (may be NULL) gets the decoded
 * length. */
int http_percent_decode(const char *in, size_t in_len, bool plus_is_space, char *out,
                        size_t cap, size_t *out_len);

/* Finds the first parameter of query ("a=1&b=x%20y", no leading '?') whose decoded name is
 * name, and decodes its value into out (cap bytes). A parameter without '=' has the value "".
 * QC_OK, QC_ERR_NOTFOUND, QC_ERR_INVALID (bad escape anywhere in a name compared or in the
 * value), QC_ERR_TOOBIG (value does not fit out). */
int http_query_get(const char *query, const char *name, char *out, size_t cap);

/* ---------------------------------------------------------------- in-memory connections */

/* A connection without a socket, for tests and fuzzing: bytes fed in go through exactly the
 * parse, limit and routing path of a socket connection; what the server would send is
 * collected. Timers are real uv timers on the server's loop but never fire unless the loop
 * runs. */
int http_mem_conn_open(http_server_t *server, http_conn_t **out);
/* Feeds bytes; returns how many were taken (fewer when the input buffer is full while a
 * response is deferred, or none once the server is finishing the connection). */
size_t http_mem_conn_feed(http_conn_t *conn, const void *data, size_t len);
/* The client half-closed its side. */
void http_mem_conn_eof(http_conn_t *conn);
/* Everything the server wrote so far (borrowed until the next feed or close). */
const char *http_mem_conn_output(const http_conn_t *conn, size_t *len);
/* True once the server decided to close the connection (or closed it). */
bool http_mem_conn_finished(const http_conn_t *conn);
/* Closes (cancelling a deferred response); memory is freed when the loop runs the close
 * callbacks (uv_run with UV_RUN_NOWAIT suffices). conn is invalid afterwards. */
void http_mem_conn_close(http_conn_t *conn);

#endif
