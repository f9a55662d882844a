/* jsonv.c - strict JSON field validation with reasons that name the field. */
#include "jsonv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

int jsonv_fail(const jsonv_t *v, int err, const char *fmt, ...) {
    QC_ASSERT(err < 0);
    if (v == NULL || v->reason == NULL || v->reason_cap == 0) return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, v->reason_cap, fmt, ap);
    va_end(ap);
    return err;
}

void jsonv_prefix(const jsonv_t *v, const char *prefix) {
    if (v == NULL || v->reason == NULL || v->reason_cap == 0) return;
    size_t plen = strlen(prefix) + 2, rlen = strnlen(v->reason, v->reason_cap - 1);
    if (plen >= v->reason_cap) return;
    if (rlen > v->reason_cap - 1 - plen) rlen = v->reason_cap - 1 - plen;
    memmove(v->reason + plen, v->reason, rlen);
    memcpy(v->reason, prefix, plen - 2);
    memcpy(v->reason + plen - 2, ": ", 2);
    v->reason[plen + rlen] = '\0';
}

int jsonv_dump(const json_t *root, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    char *text = json_dumps(root, JSON_INDENT(2));
    if (text == NULL) return QC_ERR_NOMEM;
    size_t n = strlen(text);
    char *buf = malloc(n + 2);
    if (buf != NULL) {
        memcpy(buf, text, n);
        buf[n] = '\n';
        buf[n + 1] = '\0';
    }
    /* The text may hold a secret (a key file's seed): wipe before freeing. */
    sodium_memzero(text, n);
    free(text);
    if (buf == NULL) return QC_ERR_NOMEM;
    *out = buf;
    *len = n + 1;
    return QC_OK;
}

int jsonv_read_file(const jsonv_t *v, const char *path, size_t max, uint8_t **buf, size_t *len) {
    int rc = qc_file_read(path, max, buf, len);
    if (rc == QC_ERR_NOTFOUND) return jsonv_fail(v, rc, "no such file");
    if (rc == QC_ERR_TOOBIG) return jsonv_fail(v, rc, "larger than %zu bytes", max);
    if (rc == QC_ERR_IO || rc == QC_ERR_INVALID) /* errno: the OS's reason (qc_file_read) */
        return jsonv_fail(v, rc, "cannot read: %s", strerror(errno));
    if (rc != QC_OK) return jsonv_fail(v, rc, "cannot read: %s", qc_strerror(rc));
    return QC_OK;
}

int jsonv_write_file(const jsonv_t *v, const char *path, const void *data, size_t len,
                     unsigned mode, bool exclusive) {
    int rc = qc_file_write_atomic(path, data, len, mode, exclusive);
    if (rc == QC_ERR_EXISTS) return jsonv_fail(v, rc, "already exists; refusing to replace it");
    if (rc == QC_ERR_IO) return jsonv_fail(v, rc, "cannot write: %s", strerror(errno));
    if (rc != QC_OK) return jsonv_fail(v, rc, "cannot write: %s", qc_strerror(rc));
    return QC_OK;
}

int jsonv_parse(const jsonv_t *v, const void *buf, size_t len, json_t **out) {
    *out = NULL;
    json_error_t e;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
    if (root == NULL) {
        return jsonv_fail(v, QC_ERR_INVALID, "not valid JSON: line %d column %d: %s", e.line,
                          e.column, e.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return jsonv_fail(v, QC_ERR_INVALID, "expected a JSON object at the top level");
    }
    *out = root;
    return QC_OK;
}

void jsonv_path_key(char buf[JSONV_PATH_MAX], const char *path, const char *key) {
    if (path == NULL || path[0] == '\0') snprintf(buf, JSONV_PATH_MAX, "%s", key);
    else snprintf(buf, JSONV_PATH_MAX, "%s.%s", path, key);
}

void jsonv_path_index(char buf[JSONV_PATH_MAX], const char *path, size_t index) {
    snprintf(buf, JSONV_PATH_MAX, "%s[%zu]", path, index);
}

int jsonv_known_keys(const jsonv_t *v, const json_t *obj, const char *path,
                     const char *const *allowed) {
    if (!json_is_object(obj)) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: expected an object", path[0] ? path : "(top)");
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        (void)val;
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++) known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char p[JSONV_PATH_MAX];
            jsonv_path_key(p, path, key);
            return jsonv_fail(v, QC_ERR_INVALID, "%s: unknown field", p);
        }
    }
    return QC_OK;
}

/* Looks key up: *val NULL and QC_OK when optional and absent; the error when required. */
static int lookup(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                  bool required, json_t **val, char p[JSONV_PATH_MAX]) {
    jsonv_path_key(p, path, key);
    *val = json_object_get(obj, key);
    if (*val == NULL && required) return jsonv_fail(v, QC_ERR_INVALID, "%s: missing field", p);
    return QC_OK;
}

int jsonv_object(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                 bool required, json_t **out) {
    char p[JSONV_PATH_MAX];
    json_t *val;
    *out = NULL;
    int rc = lookup(v, obj, path, key, required, &val, p);
    if (rc != QC_OK || val == NULL) return rc;
    if (!json_is_object(val)) return jsonv_fail(v, QC_ERR_INVALID, "%s: expected an object", p);
    *out = val;
    return QC_OK;
}

int jsonv_array(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                bool required, size_t min, size_t max, json_t **out) {
    char p[JSONV_PATH_MAX];
    json_t *val;
    *out = NULL;
    int rc = lookup(v, obj, path, key, required, &val, p);
    if (rc != QC_OK || val == NULL) return rc;
    if (!json_is_array(val)) return jsonv_fail(v, QC_ERR_INVALID, "%s: expected an array", p);
    size_t n = json_array_size(val);
    if (n < min || n > max) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: has %zu elements, expected %zu to %zu", p, n,
                          min, max);
    }
    *out = val;
    return QC_OK;
}

int jsonv_string(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
                 bool required, size_t max, char *out) {
    char p[JSONV_PATH_MAX];
    json_t *val;
    int rc = lookup(v, obj, path, key, required, &val, p);
    if (rc != QC_OK || val == NULL) return rc;
    if (!json_is_string(val)) return jsonv_fail(v, QC_ERR_INVALID, "%s: expected a string", p);
    const char *s = json_string_value(val);
    size_t n = json_string_length(val);
    if (n == 0) return jsonv_fail(v, QC_ERR_INVALID, "%s: must not be empty", p);
    if (n > max) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: %zu bytes long, at most %zu allowed", p, n, max);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return jsonv_fail(v, QC_ERR_INVALID, "%s: contains a control character", p);
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return QC_OK;
}

int jsonv_u64(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
              bool required, uint64_t min, uint64_t max, uint64_t *out) {
    char p[JSONV_PATH_MAX];
    json_t *val;
    int rc = lookup(v, obj, path, key, required, &val, p);
    if (rc != QC_OK || val == NULL) return rc;
    if (!json_is_integer(val)) return jsonv_fail(v, QC_ERR_INVALID, "%s: expected an integer", p);
    json_int_t x = json_integer_value(val);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: %lld is out of range %llu..%llu", p,
                          (long long)x, (unsigned long long)min, (unsigned long long)max);
    }
    *out = (uint64_t)x;
    return QC_OK;
}

int jsonv_u32(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
              bool required, uint32_t min, uint32_t max, uint32_t *out) {
    uint64_t x = *out;
    int rc = jsonv_u64(v, obj, path, key, required, min, max, &x);
    if (rc == QC_OK) *out = (uint32_t)x;
    return rc;
}

int jsonv_bool(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
               bool required, bool *out) {
    char p[JSONV_PATH_MAX];
    json_t *val;
    int rc = lookup(v, obj, path, key, required, &val, p);
    if (rc != QC_OK || val == NULL) return rc;
    if (!json_is_boolean(val)) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: expected true or false", p);
    }
    *out = json_is_true(val);
    return QC_OK;
}

int jsonv_hex(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
              uint8_t *out, size_t n) {
    char p[JSONV_PATH_MAX];
    json_t *val;
    int rc = lookup(v, obj, path, key, true, &val, p);
    if (rc != QC_OK) return rc;
    if (!json_is_string(val) || json_string_length(val) != 2 * n ||
        qc_hex_decode(out, n, json_string_value(val)) != QC_OK) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: expected %zu hex chars", p, 2 * n);
    }
    return QC_OK;
}

int jsonv_addr(const jsonv_t *v, const json_t *obj, const char *path, const char *key,
               bool required, char *out) {
    char tmp[JSONV_ADDR_MAX + 1];
    int rc = jsonv_string(v, obj, path, key, required, JSONV_ADDR_MAX, tmp);
    if (rc != QC_OK || json_object_get(obj, key) == NULL) return rc;
    if (!jsonv_addr_valid(tmp)) {
        char p[JSONV_PATH_MAX];
        jsonv_path_key(p, path, key);
        return jsonv_fail(v, QC_ERR_INVALID,
                          "%s: expected \"host:port\" with port 1..65535, got \"%s\"", p, tmp);
    }
    memcpy(out, tmp, strlen(tmp) + 1);
    return QC_OK;
}

/* Port part: 1..65535, decimal, no sign, no leading zero. Returns 0 when invalid. */
static uint16_t parse_port(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 5 || s[0] == '0') return 0;
    uint32_t port = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        port = port * 10 + (uint32_t)(s[i] - '0');
    }
    return port <= 65535 ? (uint16_t)port : 0;
}

uint16_t jsonv_addr_port(const char *addr) {
    if (addr == NULL) return 0;
    size_t n = strlen(addr);
    if (n == 0 || n > JSONV_ADDR_MAX) return 0;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) return 0;
    size_t host_len = (size_t)(colon - addr);
    if (addr[0] == '[') {
        /* IPv6 literal: "[hex and colons]" right before the port colon. */
        if (host_len < 3 || addr[host_len - 1] != ']') return 0;
        for (size_t i = 1; i + 1 < host_len; i++) {
            char c = addr[i];
            bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                      (c >= 'A' && c <= 'F') || c == ':' || c == '.';
            if (!ok) return 0;
        }
    } else {
        for (size_t i = 0; i < host_len; i++) {
            char c = addr[i];
            bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                      (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
            if (!ok) return 0;
        }
    }
    return parse_port(colon + 1);
}

bool jsonv_addr_valid(const char *addr) { return jsonv_addr_port(addr) != 0; }
