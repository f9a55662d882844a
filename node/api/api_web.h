/* api_web.h - what the node serves for browsers, same origin as the API (docs/API.md "The web
 * application"): the web application's files, embedded in the binary at build time
 * (tools/embed_web.py writes the table below from the files in web/), at GET / and GET /web/{name};
 * the node's own genesis file (GET /v1/genesis); and this node's view of every member's link
 * and ledger head (GET /v1/peers), since a page can reach no other node (its Content-Security-
 * Policy allows connections to its own origin only, and the API sends no CORS headers). */
#ifndef QC_API_WEB_H
#define QC_API_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* The policy every web file is served with: scripts, styles, images and fetches from this
 * origin only (images also as data: URLs), no inline script or style, no plugins, forms,
 * <base> or framing. */
#define API_WEB_CSP                                                                          \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* One embedded file. Every pointer is static. */
typedef struct {
    const char *name;         /* "index.html": one path segment of [A-Za-z0-9._-] */
    const uint8_t *data;
    size_t len;
    const char *content_type; /* by extension: "text/html; charset=utf-8", ... */
    const char *etag;         /* strong, quoted: "\"" + first 16 hex of SHA-256(data) + "\"" */
} api_webfile_t;

/* The generated table ($(BUILD)/gen/webfiles.c), sorted by name; count may be 0. */
extern const api_webfile_t api_webfiles[];
extern const size_t api_webfiles_count;

/* The embedded file called name (exact, case-sensitive), or NULL. A lookup in the table, so no
 * name (".." or "a/../b" included) reaches anything else. */
const api_webfile_t *api_web_find(const char *name);

/* Whether an If-None-Match value (a comma-separated list of entity tags, or "*") matches etag
 * (quoted), by the weak comparison RFC 9110 §13.1.2 prescribes for it: "W/" is ignored. */
bool api_web_etag_match(const char *if_none_match, const char *etag);

/* Reads the genesis file at path into *out (malloc'd, owned by the caller: free), checking
 * that its bytes hash (qc_hash_ctx(QC_CTX_GENESIS, ...)) to expected, the hash the node loaded
 * the chain under. QC_OK; qc_file_read's errors; QC_ERR_CORRUPT when the file changed since. */
int api_web_genesis_read(const char *path, const qc_hash_t *expected, uint8_t **out,
                         size_t *len);

/* Handlers (data: the api_t; the web-file ones ignore it and accept NULL). */
void h_web_index(http_req_t *req, http_res_t *res, void *data); /* GET /, GET /index.html */
void h_web_file(http_req_t *req, http_res_t *res, void *data);  /* GET /web/{name} */
void h_genesis(http_req_t *req, http_res_t *res, void *data);   /* GET /v1/genesis */
void h_peers(http_req_t *req, http_res_t *res, void *data);     /* GET /v1/peers */

#endif
