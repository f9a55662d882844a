/* bench_statusproof.c - status proofs (docs/PROTOCOL.md §12) at the targets: built in
 * under 1 ms and verified at >= 2,000/s on one core. Fills a ledger store with 200,000 anchored
 * records (10 txs x 100 records a block, built before timing), then times, for random anchored
 * and never-anchored digests: api_build_status_proof as the node serves it (map proof, status,
 * header, certificate, membership), its JSON encoding, and the offline check a client runs
 * (JSON parse + statusproof_verify against the genesis validators, as `qchain status-proof`).
 * Then city log completeness proofs (PROTOCOL §13) of one city over 1 and 10 blocks, built as
 * GET /v1/cities/{name}/log serves them and verified as `qchain city-log` does.
 * Receipts of random records, built as GET /v1/records/{d}/receipt serves them. Also the
 * rebuild of the state map (and city logs) when the store reopens. One core; prints what it
 * ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "benchutil.h"
#include "chainbuilder.h"
#include "store.h"
#include "tmpdir.h"

#define CHAIN "qchain-bench"
#define BLOCKS 200
#define TXS 10
#define RECS 100
#define PROOFS 2000

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_statusproof: %s: %s\n", what, qc_strerror(rc));
    exit(1);
}

#define CITY_PROOFS 50
#define RECEIPTS 5000

/* RECEIPTS receipts of random anchored records, built as GET /v1/records/{d}/receipt serves
 * them (record index, the block's transaction, header, certificate, inclusion proof). */
static void receipts(store_t *s, const store_config_t *cfg, unsigned blocks) {
    double t0 = benchutil_now_s();
    size_t path = 0;
    for (unsigned i = 0; i < RECEIPTS; i++) {
        qc_hash_t d;
        chainbuilder_digest(1 + (i * 104729u) % blocks, (i * 13u) % TXS, (i * 37u) % RECS, &d);
        receipt_t r;
        int rc = api_build_receipt_in(s, cfg->chain_id, &cfg->genesis_hash, &d, NULL, &r);
        if (rc != QC_OK) die("build receipt", rc);
        path += r.path_len;
        receipt_free(&r);
    }
    double s_all = benchutil_now_s() - t0;
    printf("  receipts (as GET /v1/records/{d}/receipt)           %8.0f /s        (%u random "
           "records, mean %zu path hashes)\n", RECEIPTS / s_all, RECEIPTS, path / RECEIPTS);
}

/* CITY_PROOFS completeness proofs of member 0's events over `span` blocks each (ranges spread
 * over the ledger): build + JSON, then parse + verify. */
static void city_proofs(store_t *s, const chainbuilder_t *cb, const store_config_t *cfg,
                        unsigned blocks, unsigned span) {
    const char *city = cb->vs.members[0].name;
    char **json = calloc(CITY_PROOFS, sizeof *json);
    if (json == NULL) die("malloc", QC_ERR_NOMEM);
    size_t bytes = 0, events = 0;
    double t0 = benchutil_now_s();
    for (unsigned i = 0; i < CITY_PROOFS; i++) {
        uint64_t from = 1 + (i * 7919u) % (blocks - span + 1);
        cityproof_t p;
        int rc = api_build_city_proof(s, city, from, from + span - 1, 0, &p);
        if (rc != QC_OK) die("build city proof", rc);
        json_t *j = cityproof_to_json(&p);
        json[i] = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (json[i] == NULL) die("json", QC_ERR_NOMEM);
        bytes += strlen(json[i]);
        json_decref(j);
        cityproof_free(&p);
    }
    double build_s = benchutil_now_s() - t0;
    t0 = benchutil_now_s();
    for (unsigned i = 0; i < CITY_PROOFS; i++) {
        json_t *j = json_loads(json[i], 0, NULL);
        cityproof_t p;
        cityproof_result_t res;
        char why[256];
        if (j == NULL || cityproof_from_json(j, &p, why, sizeof why) != QC_OK)
            die("parse city proof", QC_ERR_INVALID);
        if (cityproof_verify(&p, CHAIN, &cfg->genesis_hash, &cb->vs, &res, why, sizeof why) !=
            QC_OK) {
            fprintf(stderr, "bench_statusproof: city proof: %s\n", why);
            exit(1);
        }
        events += res.count;
        cityproof_free(&p);
        json_decref(j);
        free(json[i]);
    }
    double verify_s = benchutil_now_s() - t0;
    free(json);
    printf("  city log proof, %2u block%s (%5zu events): built + JSON %8.2f ms, parsed + verified "
           "%8.2f ms   (%u proofs, mean %zu bytes)\n", span, span > 1 ? "s" : " ",
           events / CITY_PROOFS, build_s / CITY_PROOFS * 1e3, verify_s / CITY_PROOFS * 1e3,
           CITY_PROOFS, bytes / CITY_PROOFS);
}

int main(void) {
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK) return 1;
    unsigned blocks = getenv("QC_BENCH_QUICK") ? 5 : BLOCKS;
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "bench_statusproof") != 0) die("tmpdir", QC_ERR_IO);
    chainbuilder_t cb;
    chainbuilder_init(&cb, CHAIN, 4, 0);
    store_config_t cfg = {CHAIN, {{0}}, &cb.vs};
    store_t s;
    int rc = store_open(&s, dir, &cfg);
    if (rc != QC_OK) die("store_open", rc);
    smap_reader_t r = store_state_reader(&s);
    cb.state_ext = &r;
    cb.clogs_ext = &s.clogs;
    for (unsigned i = 0; i < blocks; i++) {
        qc_block_t b;
        qc_cert_t c;
        if ((rc = chainbuilder_make(&cb, TXS, RECS, &b, &c)) != QC_OK) die("build", rc);
        if ((rc = store_apply_block(&s, &b, &c)) != QC_OK) die("apply", rc);
        chainbuilder_advance(&cb, &b);
        qc_block_free(&b);
    }
    uint64_t records = (uint64_t)blocks * TXS * RECS;
    printf("status proofs: a ledger of %llu anchored records (%u blocks of %u x %u), one core\n",
           (unsigned long long)records, blocks, TXS, RECS);
    qc_hash_t *digests = malloc(PROOFS * sizeof *digests);
    char **json = calloc(PROOFS, sizeof *json);
    if (digests == NULL || json == NULL) die("malloc", QC_ERR_NOMEM);
    for (unsigned i = 0; i < PROOFS; i++) {
        if (i % 4 == 3) /* a quarter never anchored: absence proofs */
            randombytes_buf(digests[i].b, 32);
        else
            chainbuilder_digest(1 + (i * 7919u) % blocks, (i * 31u) % TXS, (i * 17u) % RECS,
                                &digests[i]);
    }
    size_t bytes = 0;
    double t0 = benchutil_now_s();
    for (unsigned i = 0; i < PROOFS; i++) {
        statusproof_t sp;
        if ((rc = api_build_status_proof(&s, &digests[i], &sp)) != QC_OK) die("build proof", rc);
        json_t *j = statusproof_to_json(&sp);
        json[i] = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (json[i] == NULL) die("json", QC_ERR_NOMEM);
        bytes += strlen(json[i]);
        json_decref(j);
        statusproof_free(&sp);
    }
    double build_s = benchutil_now_s() - t0;
    printf("  build + JSON (as GET /v1/records/{d}/status-proof)  %8.1f us each   (%u proofs, "
           "mean %zu bytes of JSON; target < 1000 us)\n", build_s / PROOFS * 1e6, PROOFS,
           bytes / PROOFS);
    unsigned anchored = 0;
    t0 = benchutil_now_s();
    for (unsigned i = 0; i < PROOFS; i++) {
        json_t *j = json_loads(json[i], 0, NULL);
        statusproof_t sp;
        statusproof_result_t res;
        char why[256];
        if (j == NULL || (rc = statusproof_from_json(j, &sp, why, sizeof why)) != QC_OK)
            die("parse", QC_ERR_INVALID);
        rc = statusproof_verify(&sp, CHAIN, &cfg.genesis_hash, &cb.vs, NULL, &res, why, sizeof why);
        if (rc != QC_OK) {
            fprintf(stderr, "bench_statusproof: verify: %s\n", why);
            return 1;
        }
        anchored += res.anchored;
        statusproof_result_free(&res);
        statusproof_free(&sp);
        json_decref(j);
    }
    double verify_s = benchutil_now_s() - t0;
    printf("  parse + verify offline (as qchain status-proof)     %8.0f /s        (%u proofs, %u "
           "anchored, %u absent; target >= 2000/s)\n", PROOFS / verify_s, PROOFS, anchored,
           PROOFS - anchored);
    receipts(&s, &cfg, blocks);
    for (unsigned span = 1; span <= 10 && span <= blocks; span *= 10)
        city_proofs(&s, &cb, &cfg, blocks, span);
    store_close(&s);
    t0 = benchutil_now_s();
    rc = store_open(&s, dir, &cfg);
    double open_s = benchutil_now_s() - t0;
    if (rc != QC_OK) die("reopen", rc);
    printf("  reopen, state map rebuilt from the blocks           %8.2f s         (%.0f records/s)\n",
           open_s, records / open_s);
    store_close(&s);
    for (unsigned i = 0; i < PROOFS; i++) free(json[i]);
    free(json);
    free(digests);
    tmpdir_remove(dir);
    return 0;
}
