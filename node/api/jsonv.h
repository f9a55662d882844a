/* jsonv.h - strict JSON field validation on jansson: typed getters that refuse unknown fields,
 * wrong types and out-of-range values with a sentence naming the field ("members[3].node_key:
 * expected 64 hex chars"). Shared by the key, genesis and config loaders.
 *
 * Every getter takes a jsonv_t (where the reason goes), the object, the object's path ("" for
 * the top level, "members[3]", "p2p") and the key. A getter that fails writes the reason and
 * returns a negative qc_err_t; one that succeeds returns QC_OK. Optional fields that are absent
 * leave *out untouched, so callers preset defaults. */
#ifndef QC_JSONV_H
#define QC_JSONV_H

#include <jansson.h>

#include "qc.h"

#define JSONV_PATH_MAX 128   /* bytes of a field path, e.g. "members[63].admin_key" */
#define JSONV_ADDR_MAX 255   /* bytes of a "host:port" address */

/* Where failures are explained. reason is a borrowed caller buffer (may be NULL). */
typedef struct {
    char *reason;
    size_t reason_cap;
} jsonv_t;

/* Formats a reason (printf-style) into v and returns err; v may be NULL or carry NULL. */
int jsonv_fail(const jsonv_t *v, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the reason already in v (used to name the file a loader read). */
void jsonv_prefix(const jsonv_t *v, const char *prefix);

/* Serialises root as indented UTF-8 JSON (keys in insertion order) plus a final newline into a
 * malloc'd buffer the caller owns (*out, *len; NUL-terminated). QC_ERR_NOMEM on failure. */
int jsonv_dump(const json_t *root, char **out, size_t *len);

/* Reads a whole file of at most max bytes (qc_file_read) and explains a failure in v: "no such
 * file", "larger than N bytes", "cannot read". The caller owns *buf. */
int jsonv_read_file(const jsonv_t *v, const char *path, size_t max, uint8_t **buf, size_t *len);
/* Writes len bytes to path atomically with mode (qc_file_write_atomic; exclusive never
 * replaces) and explains a failure in v: "already exists; refusing to replace it", ... */
int jsonv_write_file(const jsonv_t *v, const char *path, const void *data, size_t len,
                     unsigned mode, bool exclusive);

/* Parses buf (len bytes, UTF-8) as one JSON object. Duplicate keys are refused. On success the
 * caller owns *out (json_decref). QC_ERR_INVALID with "line L column C: ..." otherwise. */
int jsonv_parse(const jsonv_t *v, const void *buf, size_t len, json_t **out);

/* Refuses any key of obj not in allowed (a NULL-terminated list): "path.key: unknown field".
 * Also refuses obj not being an object. */
int jsonv_known_keys(const jsonv_t *v, const json_t *obj, const char *path,
                     const char *const *allowed);

/* Joins a parent path and a key ("p2p" + "listen" -> "p2p.listen"; "" + "city" -> "city"), or a
 * parent path and an index ("members", 3 -> "members[3]"), into buf (JSONV_PATH_MAX bytes). */
void jsonv_path_key(char buf[JSONV_PATH_MAX], const char *path, const char *key);
void jsonv_path_index(char buf[JSONV_PATH_MAX], const char *path, size_t index);

/* *out = the member object (borrowed from obj), or NULL when optional and absent. */
int jsonv_object(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                 bool required, json_t **out);
/* *out = the member array (borrowed from obj) with min..max elements; NULL if optional+absent. */
int jsonv_array(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                bool required, size_t min, size_t max, json_t **out);
/* Copies a string of 1..max bytes (no NUL, no control characters) into out (max+1 bytes). */
int jsonv_string(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                 bool required, size_t max, char *out);
/* An integer in min..max (JSON reals like 1.0 are refused). */
int jsonv_u64(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
              bool required, uint64_t min, uint64_t max, uint64_t *out);
int jsonv_u32(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
              bool required, uint32_t min, uint32_t max, uint32_t *out);
int jsonv_bool(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
               bool required, bool *out);
/* Exactly n bytes as 2n hex chars (always required): "path.key: expected 64 hex chars". */
int jsonv_hex(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
              uint8_t *out, size_t n);
/* A "host:port" address (see jsonv_addr_valid) copied into out (JSONV_ADDR_MAX+1 bytes). */
int jsonv_addr(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
               bool required, char *out);

/* True for "host:port": host is a DNS name or IPv4 literal of [A-Za-z0-9.-], or an IPv6
 * literal in brackets ("[::1]:7101"); port is a decimal 1..65535 without leading zeros. */
bool jsonv_addr_valid(const char *addr);
/* The port of a valid address (0 if addr is not valid). */
uint16_t jsonv_addr_port(const char *addr);

#endif
