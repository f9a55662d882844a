/* qc.h - shared base of every qchain module: error codes, fixed-size crypto types, hex,
 * careful file I/O and leveled logging. Nothing here touches LevelDB or libuv. */
#ifndef QC_H
#define QC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Errors are negative; 0 is success. qc_strerror() names each. Operating errors (bad input,
 * I/O) are returned; programmer errors are assertions that stay on in every build. */
typedef enum {
    QC_OK = 0,
    QC_ERR_NOMEM = -1,     /* allocation failed */
    QC_ERR_IO = -2,        /* read/write/fsync failed; errno-level detail is logged */
    QC_ERR_INVALID = -3,   /* malformed input: bad encoding, field out of range */
    QC_ERR_SIGNATURE = -4, /* a signature does not verify */
    QC_ERR_NOTFOUND = -5,  /* no such key, file, block, record */
    QC_ERR_EXISTS = -6,    /* refusing to overwrite */
    QC_ERR_TOOBIG = -7,    /* exceeds a documented limit */
    QC_ERR_PERM = -8,      /* unsafe permissions (e.g. world-readable secret key) */
    QC_ERR_CORRUPT = -9,   /* stored data fails its own checks */
    QC_ERR_RANGE = -10,    /* index or size outside what exists */
    QC_ERR_STATE = -11,    /* operation not valid in the current state */
    QC_ERR_CRYPTO = -12,   /* libsodium failed (init, decryption, wrong passphrase) */
    QC_ERR_QUORUM = -13,   /* not enough valid distinct signatures */
    QC_ERR_MEMBER = -14,   /* signer is not a member of the epoch */
    QC_ERR_DUPLICATE = -15,/* already seen / already committed */
    QC_ERR_EXPIRED = -16,  /* transaction past its expiry height */
    QC_ERR_FULL = -17,     /* a bounded queue or pool is full */
    QC_ERR_CLOSED = -18,   /* peer or handle closed */
    QC_ERR_TIMEOUT = -19,
} qc_err_t;

/* Static string naming an error code; never NULL. */
const char *qc_strerror(int err);

#define QC_HASH_BYTES 32
#define QC_PUBKEY_BYTES 32
#define QC_SECKEY_BYTES 64 /* libsodium Ed25519 secret key: seed || public key */
#define QC_SIG_BYTES 64

typedef struct { uint8_t b[QC_HASH_BYTES]; } qc_hash_t;
typedef struct { uint8_t b[QC_PUBKEY_BYTES]; } qc_pubkey_t;
typedef struct { uint8_t b[QC_SECKEY_BYTES]; } qc_seckey_t;
typedef struct { uint8_t b[QC_SIG_BYTES]; } qc_sig_t;

/* Assertions that stay on in release builds (TigerStyle). */
#define QC_ASSERT(cond) \
    ((cond) ? (void)0 : qc_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void qc_assert_fail(const char *expr, const char *file, int line);

/* Initialises libsodium once; safe to call repeatedly. Returns QC_OK or QC_ERR_CRYPTO. */
int qc_crypto_init(void);

/* SHA-256 of data (len may be 0). */
void qc_sha256(qc_hash_t *out, const void *data, size_t len);

/* Hex: encode n bytes into out (2n+1 bytes incl. NUL, lowercase). */
void qc_hex_encode(char *out, const uint8_t *in, size_t n);
/* Decode exactly n bytes from a hex string of exactly 2n chars (either case).
 * Returns QC_OK or QC_ERR_INVALID. */
int qc_hex_decode(uint8_t *out, size_t n, const char *hex);
/* Convenience: a hash as 64 hex chars in a caller buffer of >= 65 bytes; returns buf. */
char *qc_hash_hex(char buf[65], const qc_hash_t *h);

/* Reads a whole file (at most max_bytes) into a malloc'd buffer (NUL-terminated, NUL not
 * counted in *len). Caller owns *out. QC_ERR_NOTFOUND, QC_ERR_IO, QC_ERR_TOOBIG, or
 * QC_ERR_INVALID for a directory or other non-regular file; on QC_ERR_IO and QC_ERR_INVALID
 * errno holds the OS reason (EACCES, EISDIR, ...) for the caller's message. */
int qc_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *len);
/* Writes data to path atomically with the given mode: a fresh temp file beside it
 * (PATH.tmp<pid>.<random>, created with O_EXCL | O_NOFOLLOW, so a symlink or file planted
 * there is never written through), write, fsync, rename (or link when exclusive), fsync the
 * directory. A symlink at path itself is replaced, not followed. If exclusive, refuses
 * (QC_ERR_EXISTS) to replace an existing file. On QC_ERR_IO errno holds the OS reason of the
 * first call that failed. */
int qc_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         bool exclusive);
/* mkdir -p with mode for created directories. On QC_ERR_IO errno holds the OS reason. */
int qc_mkdirs(const char *path, unsigned mode);

/* Backs the pages of [p, p + len) (memory the caller owns and is about to write) with memory
 * now, in one call, instead of one page fault per page at first touch: a hint for arrays that
 * grow into fresh pages. A fault costs ~10 us a page on a paravirtualised guest, populating ~5
 * (BENCHMARKS.md "Eighth session"). Contents are unchanged; the pages the range touches at
 * either end are included. Without MADV_POPULATE_WRITE (Linux before 5.14), or on any error,
 * it does nothing. */
void qc_mem_prefault(void *p, size_t len);

/* Logging to stderr with UTC timestamp and level. Never pass secrets. */
typedef enum { QC_LOG_DEBUG = 0, QC_LOG_INFO, QC_LOG_WARN, QC_LOG_ERROR, QC_LOG_OFF } qc_log_level_t;
void qc_log_set_level(qc_log_level_t level);
qc_log_level_t qc_log_get_level(void);
/* Optional component tag shown in each line, e.g. the city name ("jinan"). Borrowed; must
 * outlive logging. */
void qc_log_set_tag(const char *tag);
void qc_log(qc_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Where finished log lines go instead of stderr (tests capture them); NULL restores stderr.
 * line is borrowed for the call and carries no trailing newline. */
typedef void (*qc_log_sink_cb)(qc_log_level_t level, const char *line, void *user);
void qc_log_set_sink(qc_log_sink_cb sink, void *user);

/* Rate limit for one kind of log line that someone else can cause (refused handshakes, bad
 * frames, bad messages): at most `burst` lines per `window_ms`; the rest are counted, and when
 * the window rolls over one summary line says how many were left out ("net: 1234 more refused
 * handshakes in the last 60 s (not logged)"). One limiter per call site or kind, owned by the
 * module that logs (no locks: single-threaded use). Time is passed in (monotonic ms), so tests
 * drive it deterministically. Initialise with QC_LOGRATE_INIT or by assigning the fields. */
typedef struct {
    const char *what;        /* summary noun phrase, e.g. "net: refused handshakes"; static */
    qc_log_level_t level;    /* level of the summary line */
    uint32_t burst;          /* lines logged per window, >= 1 */
    uint32_t window_ms;      /* >= 1 */
    uint64_t window_start_ms;
    uint32_t lines;          /* lines allowed in the current window */
    uint64_t suppressed;     /* lines refused in the current window */
    uint64_t suppressed_total; /* every line refused so far, for counters */
    bool started;
} qc_lograte_t;
#define QC_LOGRATE_INIT(what_, level_, burst_, window_ms_) \
    {.what = (what_), .level = (level_), .burst = (burst_), .window_ms = (window_ms_)}
#define QC_LOGRATE_WINDOW_MS 60000u /* the default window: "in the last minute" */

/* Whether one more line of this kind may be logged at now_ms. First rolls the window when it
 * has passed, logging the summary of the window that ended if it suppressed anything. */
bool qc_lograte_allow(qc_lograte_t *r, uint64_t now_ms);
/* Rolls the window if it has passed (logging the summary, as above) without asking for a
 * line: call it periodically so the last burst's summary appears even when the lines stop. */
void qc_lograte_tick(qc_lograte_t *r, uint64_t now_ms);
/* Logs at level through r: nothing when r refuses the line. */
#define QC_LOG_RATED(r, now_ms, level, ...) \
    do { if (qc_lograte_allow((r), (now_ms))) qc_log((level), __VA_ARGS__); } while (0)

#define QC_DEBUG(...) qc_log(QC_LOG_DEBUG, __VA_ARGS__)
#define QC_INFO(...) qc_log(QC_LOG_INFO, __VA_ARGS__)
#define QC_WARN(...) qc_log(QC_LOG_WARN, __VA_ARGS__)
#define QC_ERROR(...) qc_log(QC_LOG_ERROR, __VA_ARGS__)

/* Big-endian helpers used by every canonical encoding. */
static inline void qc_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void qc_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void qc_put_u64(uint8_t *p, uint64_t v) {
    qc_put_u32(p, (uint32_t)(v >> 32)); qc_put_u32(p + 4, (uint32_t)v);
}
static inline uint16_t qc_get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t qc_get_u32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t qc_get_u64(const uint8_t *p) {
    return ((uint64_t)qc_get_u32(p) << 32) | qc_get_u32(p + 4);
}

#endif
