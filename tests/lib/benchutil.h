/* benchutil.h - measurements shared by the benchmarks (bench/): a monotonic clock and the
 * LevelDB synced-put rate of a filesystem, the ceiling a durable per-write store approaches. */
#ifndef QC_BENCHUTIL_H
#define QC_BENCHUTIL_H

#include <stddef.h>

/* Seconds on the monotonic clock. */
double benchutil_now_s(void);

/* Synced 100-byte puts into a fresh LevelDB in a scratch directory under $TMPDIR (or /tmp),
 * until max_puts are done or max_seconds have passed. Returns puts/s (0 on any error) and the
 * count and time in *puts and *seconds (may be NULL). The directory is removed. */
double benchutil_synced_puts(size_t max_puts, double max_seconds, size_t *puts, double *seconds);

#endif
