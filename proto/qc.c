/* qc.c - shared base: error names, libsodium init, SHA-256, hex, atomic file I/O, logging,
 * memory prefaulting. */
#include "qc.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

const char *qc_strerror(int err) {
    switch (err) {
    case QC_OK: return "ok";
    case QC_ERR_NOMEM: return "out of memory";
    case QC_ERR_IO: return "I/O error";
    case QC_ERR_INVALID: return "invalid input";
    case QC_ERR_SIGNATURE: return "bad signature";
    case QC_ERR_NOTFOUND: return "not found";
    case QC_ERR_EXISTS: return "already exists";
    case QC_ERR_TOOBIG: return "too big";
    case QC_ERR_PERM: return "unsafe permissions";
    case QC_ERR_CORRUPT: return "corrupt data";
    case QC_ERR_RANGE: return "out of range";
    case QC_ERR_STATE: return "invalid state";
    case QC_ERR_CRYPTO: return "cryptographic failure";
    case QC_ERR_QUORUM: return "no quorum";
    case QC_ERR_MEMBER: return "not a member";
    case QC_ERR_DUPLICATE: return "duplicate";
    case QC_ERR_EXPIRED: return "expired";
    case QC_ERR_FULL: return "full";
    case QC_ERR_CLOSED: return "closed";
    case QC_ERR_TIMEOUT: return "timed out";
    default: return "unknown error";
    }
}

void qc_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "qchain: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}

int qc_crypto_init(void) { return sodium_init() < 0 ? QC_ERR_CRYPTO : QC_OK; }

void qc_sha256(qc_hash_t *out, const void *data, size_t len) {
    qc_sha256_bytes(out->b, data, len);
}

void qc_hex_encode(char *out, const uint8_t *in, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int qc_hex_decode(uint8_t *out, size_t n, const char *hex) {
    if (hex == NULL || strlen(hex) != 2 * n) return QC_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return QC_ERR_INVALID;
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return QC_OK;
}

char *qc_hash_hex(char buf[65], const qc_hash_t *h) {
    qc_hex_encode(buf, h->b, QC_HASH_BYTES);
    return buf;
}

int qc_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? QC_ERR_NOTFOUND : QC_ERR_IO;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0) err = errno;
    else if (!S_ISREG(st.st_mode)) err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    if (err != 0) {
        close(fd);
        errno = err;
        return err == EISDIR || err == EINVAL ? QC_ERR_INVALID : QC_ERR_IO;
    }
    if ((uint64_t)st.st_size > max_bytes) { close(fd); return QC_ERR_TOOBIG; }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) { close(fd); return QC_ERR_NOMEM; }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { err = errno; break; }
        if (r == 0) break; /* file shrank underneath us: return what is there */
        got += (size_t)r;
    }
    close(fd);
    if (err != 0) {
        free(buf);
        errno = err;
        return QC_ERR_IO;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return QC_OK;
}

static int fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL) return QC_ERR_NOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0) return QC_ERR_IO;
    int rc = fsync(fd) == 0 ? QC_OK : QC_ERR_IO;
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

/* Creates a fresh temporary file beside path: PATH.tmp<pid>.<random>, opened with O_EXCL and
 * O_NOFOLLOW, so nothing planted there (a symlink to another file, a file of someone else's)
 * is ever opened or written through. Up to TMP_TRIES names; *tmp is malloc'd for the caller.
 * Returns the descriptor, or -1 with *rc set. */
#define TMP_TRIES 8
static int tmp_create(const char *path, unsigned mode, char **tmp, int *rc) {
    size_t cap = strlen(path) + 48;
    *tmp = malloc(cap);
    if (*tmp == NULL) { *rc = QC_ERR_NOMEM; return -1; }
    for (int i = 0; i < TMP_TRIES; i++) {
        snprintf(*tmp, cap, "%s.tmp%ld.%08x", path, (long)getpid(), (unsigned)randombytes_random());
        int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        if (fd >= 0) return fd;
        if (errno != EEXIST) break;
    }
    *rc = QC_ERR_IO;
    free(*tmp);
    *tmp = NULL;
    return -1;
}

static int write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                        bool exclusive, int *err);

int qc_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         bool exclusive) {
    int err = 0;
    int rc = write_atomic(path, data, len, mode, exclusive, &err);
    if (rc == QC_ERR_IO && err != 0) errno = err; /* the first failing call's, for strerror */
    return rc;
}

/* qc_file_write_atomic's body; *err gets the errno of the first system call that failed. */
static int write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                        bool exclusive, int *err) {
    if (exclusive && access(path, F_OK) == 0) return QC_ERR_EXISTS;
    char *tmp;
    int rc = QC_OK;
    int fd = tmp_create(path, mode, &tmp, &rc);
    if (fd < 0) { *err = errno; return rc; }
    if (fchmod(fd, (mode_t)mode) != 0) { rc = QC_ERR_IO; *err = errno; } /* the umask may have narrowed it */
    const uint8_t *p = data;
    size_t off = 0;
    while (rc == QC_OK && off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { rc = QC_ERR_IO; *err = w < 0 ? errno : ENOSPC; break; }
        off += (size_t)w;
    }
    if (rc == QC_OK && fsync(fd) != 0) { rc = QC_ERR_IO; *err = errno; }
    if (close(fd) != 0 && rc == QC_OK) { rc = QC_ERR_IO; *err = errno; }
    if (rc == QC_OK && exclusive) {
        /* link() fails if the target appeared meanwhile; never replaces. */
        if (link(tmp, path) != 0) { rc = errno == EEXIST ? QC_ERR_EXISTS : QC_ERR_IO; *err = errno; }
        unlink(tmp);
    } else if (rc == QC_OK) {
        if (rename(tmp, path) != 0) { rc = QC_ERR_IO; *err = errno; }
    } else {
        unlink(tmp);
    }
    if (rc == QC_OK) {
        rc = fsync_dir_of(path);
        if (rc == QC_ERR_IO) *err = errno;
    }
    free(tmp);
    return rc;
}

void qc_mem_prefault(void *p, size_t len) {
#if defined(MADV_POPULATE_WRITE) && !defined(QC_NO_PREFAULT) /* -DQC_NO_PREFAULT: to measure without */
    long page = sysconf(_SC_PAGESIZE); /* no system call: the C library has it */
    if (p == NULL || len == 0 || page <= 0) return;
    uintptr_t start = (uintptr_t)p & ~((uintptr_t)page - 1);
    uintptr_t end = (uintptr_t)p + len;
    if (end < (uintptr_t)p) return; /* wrapped: not a range anyone owns */
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE); /* a hint: errors ignored */
#else
    (void)p, (void)len;
#endif
}

int qc_mkdirs(const char *path, unsigned mode) {
    char *p = strdup(path);
    if (p == NULL) return QC_ERR_NOMEM;
    int rc = QC_OK;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) { rc = QC_ERR_IO; break; } /* errno kept */
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    return rc;
}

static qc_log_level_t g_log_level = QC_LOG_INFO;
static const char *g_log_tag = NULL;
static qc_log_sink_cb g_log_sink = NULL;
static void *g_log_sink_user = NULL;

void qc_log_set_sink(qc_log_sink_cb sink, void *user) {
    g_log_sink = sink;
    g_log_sink_user = user;
}

void qc_log_set_level(qc_log_level_t level) { g_log_level = level; }
qc_log_level_t qc_log_get_level(void) { return g_log_level; }
void qc_log_set_tag(const char *tag) { g_log_tag = tag; }

void qc_log(qc_log_level_t level, const char *fmt, ...) {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < g_log_level || level >= QC_LOG_OFF) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level], g_log_tag ? g_log_tag : "",
                     g_log_tag ? ": " : "");
    if (n < 0) return;
    va_list ap;
    va_start(ap, fmt);
    if ((size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (g_log_sink != NULL) g_log_sink(level, line, g_log_sink_user);
    else fprintf(stderr, "%s\n", line);
}

void qc_lograte_tick(qc_lograte_t *r, uint64_t now_ms) {
    QC_ASSERT(r->burst >= 1 && r->window_ms >= 1);
    if (!r->started) {
        r->started = true;
        r->window_start_ms = now_ms;
        return;
    }
    if (now_ms < r->window_start_ms + r->window_ms) return;
    if (r->suppressed > 0)
        qc_log(r->level, "%s: %llu more in the last %u s (not logged)", r->what,
               (unsigned long long)r->suppressed, (unsigned)((r->window_ms + 999) / 1000));
    r->window_start_ms = now_ms;
    r->lines = 0;
    r->suppressed = 0;
}

bool qc_lograte_allow(qc_lograte_t *r, uint64_t now_ms) {
    qc_lograte_tick(r, now_ms);
    if (r->lines < r->burst) {
        r->lines++;
        return true;
    }
    r->suppressed++;
    r->suppressed_total++;
    return false;
}
