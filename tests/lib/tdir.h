/* tdir.h - scratch directories, files and stdout capture for tests that touch the filesystem
 * (keys, genesis, config, CLI). Failures here are test-setup bugs: they abort via QC_ASSERT. */
#ifndef QC_TDIR_H
#define QC_TDIR_H

#include <stddef.h>

#define TDIR_PATH_MAX 1024

/* Creates a fresh directory /tmp/qc_<tag>_XXXXXX and writes its path into out. */
void tdir_make(char out[TDIR_PATH_MAX], const char *tag);
/* Removes dir and everything below it (symlinks are removed, never followed). */
void tdir_remove(const char *dir);
/* out = dir/name. */
void tdir_path(char out[TDIR_PATH_MAX], const char *dir, const char *name);
/* Writes len bytes to dir/name (replacing it) with mode; out (may be NULL) gets the path. */
void tdir_write(char out[TDIR_PATH_MAX], const char *dir, const char *name, const void *data,
                size_t len, unsigned mode);
/* Reads a whole file into a malloc'd NUL-terminated string the caller frees. */
char *tdir_read(const char *path, size_t *len);
/* The permission bits of path (mode & 07777). */
unsigned tdir_mode(const char *path);

/* Redirects fd 1 into a temporary file until tdir_capture_end, which returns what was written
 * (malloc'd, NUL-terminated; the caller frees) and restores stdout. Not nestable. */
void tdir_capture_begin(void);
char *tdir_capture_end(void);

#endif
