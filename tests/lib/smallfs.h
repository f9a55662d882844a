/* smallfs.h - a tiny private tmpfs for full-disk tests: the calling process moves into its own
 * mount namespace (as root; otherwise inside a new user namespace) and mounts a tmpfs of a
 * given size on a directory, visible to it and its children only. Needs root or unprivileged
 * user namespaces; a test that cannot get one must fail saying so, never pass silently. */
#ifndef QC_SMALLFS_H
#define QC_SMALLFS_H

#include <stddef.h>

/* Mounts a tmpfs of size_bytes on the existing directory dir for this process alone (call it
 * in a forked child: the namespace change is not undone). Returns 0, or -1 with a sentence in
 * why (why_cap bytes) saying what the machine lacks. */
int smallfs_mount(const char *dir, size_t size_bytes, char *why, size_t why_cap);

/* Writes a file of `bytes` zero bytes at path (a ballast to delete when space is wanted back).
 * Returns 0, or -1 with errno set (ENOSPC when it does not fit). */
int smallfs_ballast(const char *path, size_t bytes);

/* Fills the filesystem holding dir until a write fails with ENOSPC, with files named
 * dir/fill.N (at most files_max of them). Returns how many bytes it wrote. */
size_t smallfs_fill(const char *dir, unsigned files_max);

#endif
