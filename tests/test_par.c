/* test_par.c - the parallel-for pool (proto/par.c): every index runs exactly once per job on
 * any worker count, the caller sees every result when par_for returns, jobs follow each other
 * on one pool thousands of times, and the pool stops cleanly. Built also under
 * ThreadSanitizer by `make tsan` (part of `make test`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "par.h"
#include "qc.h"

typedef struct {
    uint32_t *hits;       /* per index: how many times it ran (owned by index i) */
    uint64_t *value;      /* per index: a result the caller checks */
    uint32_t salt;
    atomic_uint calls;    /* all calls of the job */
} job_t;

static void count_fn(void *ctx, uint32_t i) {
    job_t *j = ctx;
    j->hits[i]++;
    j->value[i] = (uint64_t)i * i + j->salt;
    atomic_fetch_add(&j->calls, 1);
}

static void run_job(par_t *p, uint32_t n, uint32_t salt) {
    job_t j = {calloc(n + 1, sizeof(uint32_t)), calloc(n + 1, sizeof(uint64_t)), salt, 0};
    assert_non_null(j.hits);
    assert_non_null(j.value);
    par_for(p, n, count_fn, &j);
    assert_int_equal(atomic_load(&j.calls), n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(j.hits[i], 1);
        assert_int_equal(j.value[i], (uint64_t)i * i + salt);
    }
    assert_int_equal(j.hits[n], 0); /* nothing past the end */
    free(j.hits);
    free(j.value);
}

/* Every worker count, every job size around the worker count, many jobs per pool. */
static void test_every_index_once(void **state) {
    (void)state;
    static const uint32_t workers[] = {1, 2, 3, 4, 8};
    static const uint32_t sizes[] = {0, 1, 2, 3, 7, 8, 9, 100, 1000, 10007};
    for (size_t w = 0; w < sizeof workers / sizeof *workers; w++) {
        par_t *p;
        assert_int_equal(par_start(&p, workers[w]), QC_OK);
        assert_int_equal(par_workers(p), workers[w]);
        for (int round = 0; round < 3; round++)
            for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
                run_job(p, sizes[s], (uint32_t)(round * 31 + s));
        par_stop(p);
    }
}

/* Thousands of short jobs back to back: no lost wake-up, no job seen twice by a worker. */
static void test_many_short_jobs(void **state) {
    (void)state;
    par_t *p;
    assert_int_equal(par_start(&p, 4), QC_OK);
    for (uint32_t k = 0; k < 3000; k++) run_job(p, 2 + k % 9, k);
    par_stop(p);
}

/* NULL pool and 0 (= the machine's cores) both work; NULL counts as one worker. */
static void test_null_and_default(void **state) {
    (void)state;
    run_job(NULL, 50, 7);
    assert_int_equal(par_workers(NULL), 1);
    assert_true(par_cores() >= 1);
    par_t *p;
    assert_int_equal(par_start(&p, 0), QC_OK);
    assert_int_equal(par_workers(p), par_cores());
    run_job(p, 500, 9);
    par_stop(p);
    par_stop(NULL);
}

/* A real workload: Ed25519 verifications give the same verdicts on four threads as inline,
 * with every tenth signature broken. */
typedef struct {
    uint8_t (*msg)[64];
    uint8_t (*sig)[64];
    uint8_t pk[32];
    int *ok;
} sigs_t;

static void verify_fn(void *ctx, uint32_t i) {
    sigs_t *s = ctx;
    s->ok[i] = crypto_sign_verify_detached(s->sig[i], s->msg[i], 64, s->pk) == 0;
}

static void test_signatures(void **state) {
    (void)state;
    assert_int_equal(qc_crypto_init(), QC_OK);
    enum { N = 400 };
    uint8_t sk[64];
    sigs_t s = {malloc(N * 64), malloc(N * 64), {0}, calloc(N, sizeof(int))};
    crypto_sign_keypair(s.pk, sk);
    for (uint32_t i = 0; i < N; i++) {
        randombytes_buf(s.msg[i], 64);
        crypto_sign_detached(s.sig[i], NULL, s.msg[i], 64, sk);
        if (i % 10 == 3) s.sig[i][5] ^= 1;
    }
    par_t *p;
    assert_int_equal(par_start(&p, 4), QC_OK);
    par_for(p, N, verify_fn, &s);
    par_stop(p);
    for (uint32_t i = 0; i < N; i++) assert_int_equal(s.ok[i], i % 10 != 3);
    free(s.msg);
    free(s.sig);
    free(s.ok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_many_short_jobs),
        cmocka_unit_test(test_null_and_default),
        cmocka_unit_test(test_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
