/* smallfs.c - a private, size-limited tmpfs for full-disk tests (smallfs.h). */
#define _GNU_SOURCE /* unshare, CLONE_NEW* */
#include "smallfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Writes text to a /proc/self file (uid_map, gid_map, setgroups). */
static int write_proc(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* As a non-root user: a user namespace in which this user is root, then a mount namespace. */
static int enter_userns(char *why, size_t why_cap) {
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        snprintf(why, why_cap, "not root and no unprivileged user namespaces "
                 "(unshare: %s); run this test as root", strerror(errno));
        return -1;
    }
    char map[64];
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    if (write_proc("/proc/self/setgroups", "deny") != 0 ||
        write_proc("/proc/self/uid_map", map) != 0) {
        snprintf(why, why_cap, "cannot map this user in a user namespace: %s", strerror(errno));
        return -1;
    }
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    if (write_proc("/proc/self/gid_map", map) != 0) {
        snprintf(why, why_cap, "cannot map this group in a user namespace: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int smallfs_mount(const char *dir, size_t size_bytes, char *why, size_t why_cap) {
    if (geteuid() == 0) {
        if (unshare(CLONE_NEWNS) != 0) {
            snprintf(why, why_cap, "root, but unshare(CLONE_NEWNS) failed: %s", strerror(errno));
            return -1;
        }
    } else if (enter_userns(why, why_cap) != 0) {
        return -1;
    }
    /* Keep the mount out of the parent's namespace even where / is a shared mount. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, why_cap, "cannot make mounts private: %s", strerror(errno));
        return -1;
    }
    char opts[64];
    snprintf(opts, sizeof opts, "size=%zu,mode=0700", size_bytes);
    if (mount("qc_smallfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        snprintf(why, why_cap, "cannot mount a tmpfs on %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes up to bytes zero bytes to fd; returns how many were written. */
static size_t write_zeros(int fd, size_t bytes) {
    static const char zeros[65536];
    size_t done = 0;
    while (done < bytes) {
        size_t chunk = bytes - done < sizeof zeros ? bytes - done : sizeof zeros;
        ssize_t w = write(fd, zeros, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    return done;
}

int smallfs_ballast(const char *path, size_t bytes) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t done = write_zeros(fd, bytes);
    int err = errno;
    close(fd);
    if (done == bytes) return 0;
    unlink(path);
    errno = err ? err : ENOSPC;
    return -1;
}

size_t smallfs_fill(const char *dir, unsigned files_max) {
    size_t total = 0;
    for (unsigned i = 0; i < files_max; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fill.%u", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) break;
        size_t n = write_zeros(fd, (size_t)1 << 30);
        close(fd);
        total += n;
        if (n == 0) break;
    }
    return total;
}
