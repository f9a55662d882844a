/* test_qc.c - unit tests of the shared base: hex, SHA-256, atomic file I/O (planted symlinks
 * included), error names, the log sink and the log rate limiter (with injected time), memory
 * prefaulting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qc.h"

static void test_hex_roundtrip(void **state) {
    (void)state;
    uint8_t in[4] = {0x00, 0xab, 0x10, 0xff}, out[4];
    char hex[9];
    qc_hex_encode(hex, in, 4);
    assert_string_equal(hex, "00ab10ff");
    assert_int_equal(qc_hex_decode(out, 4, "00AB10ff"), QC_OK);
    assert_memory_equal(in, out, 4);
    assert_int_equal(qc_hex_decode(out, 4, "00ab10f"), QC_ERR_INVALID);
    assert_int_equal(qc_hex_decode(out, 4, "00ab10fg"), QC_ERR_INVALID);
    assert_int_equal(qc_hex_decode(out, 4, NULL), QC_ERR_INVALID);
}

static void test_sha256_empty(void **state) {
    (void)state;
    qc_hash_t h;
    char hex[65];
    qc_sha256(&h, "", 0);
    assert_string_equal(qc_hash_hex(hex, &h),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_file_atomic(void **state) {
    (void)state;
    char dir[] = "/tmp/qc_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/f", dir);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    assert_int_equal(qc_mkdirs(sub, 0700), QC_OK);
    assert_int_equal(qc_file_write_atomic(path, "hello", 5, 0600, true), QC_OK);
    assert_int_equal(qc_file_write_atomic(path, "again", 5, 0600, true), QC_ERR_EXISTS);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_file_read(path, 100, &buf, &len), QC_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "hello", 5);
    free(buf);
    assert_int_equal(qc_file_read(path, 4, &buf, &len), QC_ERR_TOOBIG);
    assert_int_equal(qc_file_write_atomic(path, "xy", 2, 0644, false), QC_OK);
    assert_int_equal(qc_file_read(path, 100, &buf, &len), QC_OK);
    assert_int_equal(len, 2);
    free(buf);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(qc_file_read(path, 100, &buf, &len), QC_ERR_NOTFOUND);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Reads path into a small buffer and compares it with want. */
static void assert_file_is(const char *path, const char *want) {
    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_file_read(path, 100, &buf, &len), QC_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    free(buf);
}

/* An attacker who can write to the key directory plants a symlink where the old code put its
 * temp file (PATH.tmp<pid>) and another at the target itself: neither is written through, the
 * key lands at path with mode 0600, and the planted links are left as they were. */
static void test_file_atomic_planted_symlinks(void **state) {
    (void)state;
    char dir[] = "/tmp/qc_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char victim[256], path[256], tmp[300], victim2[256];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(victim2, sizeof victim2, "%s/victim2", dir);
    snprintf(path, sizeof path, "%s/node.key", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    assert_int_equal(qc_file_write_atomic(victim, "precious", 8, 0644, false), QC_OK);
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(qc_file_write_atomic(path, "secret", 6, 0600, true), QC_OK);
    assert_file_is(victim, "precious");
    assert_file_is(path, "secret");
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lstat(tmp, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    /* the same when replacing (not exclusive) */
    assert_int_equal(qc_file_write_atomic(path, "secret2", 7, 0600, false), QC_OK);
    assert_file_is(victim, "precious");
    assert_file_is(path, "secret2");
    /* a symlink at the target is replaced by the file, not followed */
    assert_int_equal(qc_file_write_atomic(victim2, "other", 5, 0644, false), QC_OK);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(victim2, path), 0);
    assert_int_equal(qc_file_write_atomic(path, "secret3", 7, 0600, false), QC_OK);
    assert_file_is(victim2, "other");
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_strerror_names_all(void **state) {
    (void)state;
    for (int e = 0; e >= QC_ERR_TIMEOUT; e--) assert_string_not_equal(qc_strerror(e), "unknown error");
    assert_string_equal(qc_strerror(-999), "unknown error");
}

typedef struct {
    int lines;
    qc_log_level_t level;
    char last[1024];
} captured_t;

static void capture(qc_log_level_t level, const char *line, void *user) {
    captured_t *c = user;
    c->lines++;
    c->level = level;
    snprintf(c->last, sizeof c->last, "%s", line);
}

/* Logs through the limiter n times at now_ms; returns how many lines it let through. */
static int rated(qc_lograte_t *r, uint64_t now_ms, int n) {
    int allowed = 0;
    for (int i = 0; i < n; i++)
        if (qc_lograte_allow(r, now_ms)) allowed++, QC_WARN("refused %d", i);
    return allowed;
}

/* A flood of one kind of line costs `burst` lines per window plus one summary per window that
 * dropped anything; the summary says how many were dropped and comes when the window rolls,
 * whether by the next line or by a tick. */
static void test_lograte(void **state) {
    (void)state;
    captured_t c = {0};
    qc_log_set_sink(capture, &c);
    qc_lograte_t r = QC_LOGRATE_INIT("net: refused handshakes", QC_LOG_WARN, 3, 60000);
    assert_int_equal(rated(&r, 1000, 1000), 3); /* first window: 3 lines, 997 counted */
    assert_int_equal(c.lines, 3);
    assert_string_equal(strstr(c.last, "refused 2"), "refused 2");
    assert_int_equal(r.suppressed_total, 997);
    assert_int_equal(rated(&r, 60999, 5), 0); /* still inside the window */
    assert_int_equal(c.lines, 3);
    /* The next window: the summary first, then a fresh burst. */
    assert_true(qc_lograte_allow(&r, 61000));
    assert_int_equal(c.lines, 4);
    assert_int_equal(c.level, QC_LOG_WARN);
    assert_non_null(strstr(c.last, "net: refused handshakes: 1002 more in the last 60 s"));
    assert_int_equal(rated(&r, 61001, 10), 2);
    assert_int_equal(c.lines, 6);
    /* Lines stop: a tick after the window still reports the 8 it dropped, exactly once. */
    qc_lograte_tick(&r, 100000);
    assert_int_equal(c.lines, 6);
    qc_lograte_tick(&r, 121000);
    assert_int_equal(c.lines, 7);
    assert_non_null(strstr(c.last, ": 8 more in the last 60 s"));
    qc_lograte_tick(&r, 200000);
    assert_int_equal(c.lines, 7); /* a quiet window logs nothing */
    assert_int_equal(r.suppressed_total, 1010);
    /* A quiet limiter never logs a summary. */
    qc_lograte_t q = QC_LOGRATE_INIT("quiet", QC_LOG_INFO, 1, 10);
    assert_int_equal(rated(&q, 5, 1), 1);
    assert_int_equal(rated(&q, 20, 1), 1);
    assert_int_equal(c.lines, 9);
    assert_null(strstr(c.last, "more in the last"));
    qc_log_set_sink(NULL, NULL);
}

/* Pages of [p, p + len) the kernel has backed (mincore). */
static size_t pages_resident(const void *p, size_t len) {
    long page = sysconf(_SC_PAGESIZE);
    size_t n = (len + (size_t)page - 1) / (size_t)page;
    unsigned char *vec = calloc(n, 1);
    assert_non_null(vec);
    assert_int_equal(mincore((void *)p, len, vec), 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++) in += vec[i] & 1;
    free(vec);
    return in;
}

/* qc_mem_prefault backs fresh anonymous pages without changing a byte, rounds a range that
 * starts mid-page out to whole pages, leaves pages outside the range alone, and does nothing
 * for an empty, NULL or wrapping range. Where the kernel lacks MADV_POPULATE_WRITE (before
 * 5.14, probed here with madvise itself) only the "changes nothing" half can be asked. */
static void test_mem_prefault(void **state) {
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    size_t len = 64 * (size_t)page;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(pages_resident(m, len), 0); /* fresh: nothing backed yet */
    qc_mem_prefault(NULL, 100);
    qc_mem_prefault(m, 0);
    qc_mem_prefault(m + 10, SIZE_MAX - 5); /* wraps: refused */
    assert_int_equal(pages_resident(m, len), 0);
    m[3 * page + 7] = 0x5a; /* one page touched by hand */
    /* pages 3 (mid-page start) to 9 (mid-page end) */
    qc_mem_prefault(m + 3 * page + 100, 6 * (size_t)page);
    assert_int_equal(m[3 * page + 7], 0x5a);
    for (size_t i = 0; i < len; i++)
        if (i != 3 * (size_t)page + 7) assert_int_equal(m[i], 0); /* contents unchanged */
#ifdef MADV_POPULATE_WRITE
    uint8_t *probe = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
    assert_true(probe != MAP_FAILED);
    bool kernel_has_it = madvise(probe, (size_t)page, MADV_POPULATE_WRITE) == 0;
    munmap(probe, (size_t)page);
    if (kernel_has_it) {
        /* the loop above read every page: re-map fresh memory to count what prefault backs */
        munmap(m, len);
        m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(m != MAP_FAILED);
        qc_mem_prefault(m + 3 * page + 100, 6 * (size_t)page);
        assert_int_equal(pages_resident(m + 3 * page, 7 * (size_t)page), 7);
        assert_int_equal(pages_resident(m, len), 7); /* none outside the range */
    } else {
        print_message("kernel without MADV_POPULATE_WRITE: residency not asked\n");
    }
#endif
    munmap(m, len);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_sha256_empty),
        cmocka_unit_test(test_file_atomic),
        cmocka_unit_test(test_file_atomic_planted_symlinks),
        cmocka_unit_test(test_strerror_names_all),
        cmocka_unit_test(test_lograte),
        cmocka_unit_test(test_mem_prefault),
    };
    return cmocka_run_group_tests_name("qc", tests, NULL, NULL);
}
