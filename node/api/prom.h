/* prom.h - Prometheus text exposition format (version 0.0.4) writer: HELP/TYPE lines,
 * samples with escaped label values, and fixed-bucket histograms. Used by the node's /metrics.
 *
 * Every writer appends to a prom_buf_t and never fails by itself: an allocation failure sets
 * buf->oom, later appends are ignored, and prom_buf_status() reports QC_ERR_NOMEM once at the
 * end. Metric and label names are programmer input and are asserted valid
 * ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':'); label values and help text are escaped. */
#ifndef QC_PROM_H
#define QC_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_MAX_BUCKETS 32 /* finite upper bounds of one histogram; +Inf is implicit */

/* A growable text buffer. data is NUL-terminated when len > 0; owned by the buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} prom_buf_t;

void prom_buf_init(prom_buf_t *buf);
void prom_buf_free(prom_buf_t *buf);
/* QC_OK, or QC_ERR_NOMEM if any append failed. */
int prom_buf_status(const prom_buf_t *buf);

/* "# HELP name help\n# TYPE name type\n". type: "counter", "gauge", "histogram", "untyped".
 * name and type are borrowed; help is escaped (backslash, newline). */
void prom_family(prom_buf_t *buf, const char *name, const char *type, const char *help);

/* One sample line: name{k1="v1",k2="v2"} value. labels holds label_count pairs as alternating
 * name, value strings (borrowed; may be NULL when label_count is 0). Values print as integers
 * when integral, otherwise with 17 significant digits; NaN and infinities as the format spells
 * them (NaN, +Inf, -Inf). */
void prom_sample(prom_buf_t *buf, const char *name, const char *const *labels,
                 size_t label_count, double value);
/* Same for an exact 64-bit counter (no rounding through double). */
void prom_sample_u64(prom_buf_t *buf, const char *name, const char *const *labels,
                     size_t label_count, uint64_t value);

/* A histogram with fixed, strictly increasing finite upper bounds (borrowed; must outlive h).
 * counts[i] is the number of observations <= bounds[i] and > bounds[i-1] (not cumulative);
 * counts[bucket_count] holds those above the last bound. */
typedef struct {
    const double *bounds;
    size_t bucket_count;
    uint64_t counts[PROM_MAX_BUCKETS + 1];
    uint64_t count;
    double sum;
} prom_histogram_t;

void prom_histogram_init(prom_histogram_t *h, const double *bounds, size_t bucket_count);
void prom_histogram_observe(prom_histogram_t *h, double value);
/* Writes HELP/TYPE and the cumulative name_bucket{le="..."}, name_sum and name_count lines. */
void prom_histogram_write(prom_buf_t *buf, const char *name, const char *help,
                          const prom_histogram_t *h);

#endif
