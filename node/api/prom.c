/* prom.c - Prometheus text exposition writer; see prom.h for the contract. */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc.h"

void prom_buf_init(prom_buf_t *buf) {
    memset(buf, 0, sizeof *buf);
}

void prom_buf_free(prom_buf_t *buf) {
    free(buf->data);
    memset(buf, 0, sizeof *buf);
}

int prom_buf_status(const prom_buf_t *buf) {
    return buf->oom ? QC_ERR_NOMEM : QC_OK;
}

/* Ensures room for extra more bytes plus a NUL; false (and oom set) when it cannot. */
static bool buf_reserve(prom_buf_t *buf, size_t extra) {
    if (buf->oom) return false;
    if (buf->len + extra + 1 <= buf->cap) return true;
    size_t cap = buf->cap ? buf->cap : 1024;
    while (cap < buf->len + extra + 1) {
        if (cap > SIZE_MAX / 2) { buf->oom = true; return false; }
        cap *= 2;
    }
    char *p = realloc(buf->data, cap);
    if (!p) { buf->oom = true; return false; }
    buf->data = p;
    buf->cap = cap;
    return true;
}

static void buf_put(prom_buf_t *buf, const char *s, size_t n) {
    if (!buf_reserve(buf, n)) return;
    memcpy(buf->data + buf->len, s, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
}

static void buf_puts(prom_buf_t *buf, const char *s) {
    buf_put(buf, s, strlen(s));
}

/* Appends s escaped: backslash and newline always, double quote when in a label value. */
static void buf_put_escaped(prom_buf_t *buf, const char *s, bool quote) {
    for (const char *p = s; *p; p++) {
        if (*p == '\\') buf_put(buf, "\\\\", 2);
        else if (*p == '\n') buf_put(buf, "\\n", 2);
        else if (quote && *p == '"') buf_put(buf, "\\\"", 2);
        else buf_put(buf, p, 1);
    }
}

static bool name_valid(const char *name, bool allow_colon) {
    if (!name || !*name) return false;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                     (allow_colon && ch == ':');
        bool digit = ch >= '0' && ch <= '9';
        if (!alpha && !(digit && p != name)) return false;
    }
    return true;
}

void prom_family(prom_buf_t *buf, const char *name, const char *type, const char *help) {
    QC_ASSERT(name_valid(name, true));
    QC_ASSERT(type && help);
    buf_puts(buf, "# HELP ");
    buf_puts(buf, name);
    buf_puts(buf, " ");
    buf_put_escaped(buf, help, false);
    buf_puts(buf, "\n# TYPE ");
    buf_puts(buf, name);
    buf_puts(buf, " ");
    buf_puts(buf, type);
    buf_puts(buf, "\n");
}

static void put_name_labels(prom_buf_t *buf, const char *name, const char *const *labels,
                            size_t label_count) {
    QC_ASSERT(name_valid(name, true));
    QC_ASSERT(label_count == 0 || labels);
    buf_puts(buf, name);
    if (label_count == 0) return;
    buf_puts(buf, "{");
    for (size_t i = 0; i < label_count; i++) {
        QC_ASSERT(name_valid(labels[2 * i], false));
        QC_ASSERT(labels[2 * i + 1]);
        if (i) buf_puts(buf, ",");
        buf_puts(buf, labels[2 * i]);
        buf_puts(buf, "=\"");
        buf_put_escaped(buf, labels[2 * i + 1], true);
        buf_puts(buf, "\"");
    }
    buf_puts(buf, "}");
}

/* Formats a value the way the exposition format spells it into out (>= 32 bytes). */
static void format_value(char *out, size_t cap, double v) {
    if (isnan(v)) snprintf(out, cap, "NaN");
    else if (isinf(v)) snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9.007199254740992e15) snprintf(out, cap, "%.0f", v);
    else {
        /* The shortest of 15..17 significant digits that reads back exactly (0.005, not
         * 0.0050000000000000001). */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v) break;
        }
    }
}

void prom_sample(prom_buf_t *buf, const char *name, const char *const *labels,
                 size_t label_count, double value) {
    char num[40];
    format_value(num, sizeof num, value);
    put_name_labels(buf, name, labels, label_count);
    buf_puts(buf, " ");
    buf_puts(buf, num);
    buf_puts(buf, "\n");
}

void prom_sample_u64(prom_buf_t *buf, const char *name, const char *const *labels,
                     size_t label_count, uint64_t value) {
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)value);
    put_name_labels(buf, name, labels, label_count);
    buf_puts(buf, " ");
    buf_puts(buf, num);
    buf_puts(buf, "\n");
}

void prom_histogram_init(prom_histogram_t *h, const double *bounds, size_t bucket_count) {
    QC_ASSERT(bounds && bucket_count >= 1 && bucket_count <= PROM_MAX_BUCKETS);
    for (size_t i = 0; i < bucket_count; i++) {
        QC_ASSERT(isfinite(bounds[i]));
        QC_ASSERT(i == 0 || bounds[i] > bounds[i - 1]);
    }
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->bucket_count = bucket_count;
}

void prom_histogram_observe(prom_histogram_t *h, double value) {
    size_t i = 0;
    while (i < h->bucket_count && !(value <= h->bounds[i])) i++;
    h->counts[i]++;
    h->count++;
    h->sum += value;
}

void prom_histogram_write(prom_buf_t *buf, const char *name, const char *help,
                          const prom_histogram_t *h) {
    char series[128], le[40];
    QC_ASSERT(strlen(name) + sizeof "_bucket" <= sizeof series);
    prom_family(buf, name, "histogram", help);
    snprintf(series, sizeof series, "%s_bucket", name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h->bucket_count; i++) {
        cumulative += h->counts[i];
        format_value(le, sizeof le, i < h->bucket_count ? h->bounds[i] : INFINITY);
        const char *labels[2] = {"le", le};
        prom_sample_u64(buf, series, labels, 1, cumulative);
    }
    snprintf(series, sizeof series, "%s_sum", name);
    prom_sample(buf, series, NULL, 0, h->sum);
    snprintf(series, sizeof series, "%s_count", name);
    prom_sample_u64(buf, series, NULL, 0, h->count);
}
