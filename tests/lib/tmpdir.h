/* tmpdir.h - scratch directories for tests and benchmarks that need real files (LevelDB). */
#ifndef QC_TMPDIR_H
#define QC_TMPDIR_H

#include <stddef.h>

/* Creates a fresh directory /tmp/qc_<tag>_XXXXXX (or under $TMPDIR) and writes its path to
 * out (cap >= 64). Returns 0, or -1 with errno set. */
int tmpdir_make(char *out, size_t cap, const char *tag);

/* Removes path and everything below it (no symlinks followed). Returns 0 or -1. */
int tmpdir_remove(const char *path);

#endif
