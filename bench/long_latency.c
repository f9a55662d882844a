/* long_latency.c - commit latency as one client sees it (issue 9: the 9-city namespace mode
 * with 5 ms one-way delay, target p50 <= 4 x delay + 20 ms), against any running consortium.
 *
 * Anchors --count transactions (of --records records each) one at a time through one city's
 * API: each is signed with that city's seal key, POSTed (binary SignedTx) with wait_ms, and
 * timed from just before the POST to the response saying it is committed at that node. No
 * transaction is in flight while another is measured, so the figure is the chain's latency,
 * not a queue's. Prints p50/p90/p99/max and, given --delay-ms, the target beside them.
 *
 *   long_latency --config DIR/CITY/node.json [--api http://HOST:PORT] [--delay-ms D]
 *   long_latency             (no --config: a 9-city loopback testnet of this build, made and
 *                             stopped here; ports in QC_LOCALNET_PORTS; QC_BENCH_NODES=4|9)
 *
 * Bounded: --count at most 100,000, every request has a deadline (wait_ms + 10 s). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "benchutil.h"
#include "client.h"
#include "localnet.h"

#define WAIT_MS 10000
#define WARMUP 5
#define COUNT_MAX 100000

typedef struct {
    const char *config, *api;
    uint32_t count, records;
    double delay_ms;
    bool delay_given;
} opts_t;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* The node's head height from /v1/status, or 0. */
static uint64_t head_height(const char *api) {
    long status = 0;
    json_t *j = NULL;
    char why[256];
    uint64_t h = 0;
    if (client_get(api, "/v1/status", 5000, &status, &j, why, sizeof why) == QC_OK && status == 200)
        h = (uint64_t)json_integer_value(json_object_get(j, "height"));
    json_decref(j);
    return h;
}

/* Signs, submits and times one transaction: its latency in ms, or -1 (not committed in time
 * or refused: the reason on stderr). The transaction expires 1000 blocks above *height, which
 * the committed reply then moves to its block's height (a run commits a block a transaction,
 * so a height read once would let transactions expire after 1000 of them). */
static double one(const client_identity_t *id, const char *api, uint32_t records,
                  uint64_t *height) {
    qc_txb_t b;
    uint64_t nonce;
    randombytes_buf(&nonce, sizeof nonce);
    int rc = qc_txb_init(&b, id->genesis.chain_id, &id->seal.pk, nonce, *height + 1000);
    for (uint32_t i = 0; i < records && rc == QC_OK; i++) {
        qc_hash_t d;
        randombytes_buf(d.b, sizeof d.b);
        rc = qc_txb_add_record(&b, &d, "bench", NULL, NULL);
    }
    qc_tx_t tx;
    if (rc != QC_OK) { qc_txb_abort(&b); return -1; }
    if (qc_txb_finish(&b, &id->seal.sk, &tx) != QC_OK) return -1;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = qc_tx_encode(&tx, &buf, &len);
    qc_tx_free(&tx);
    if (rc != QC_OK) return -1;
    char url[512], why[256];
    snprintf(url, sizeof url, "%s/v1/transactions?wait_ms=%u", api, WAIT_MS);
    long status = 0;
    json_t *resp = NULL;
    double t0 = benchutil_now_s();
    rc = client_request("POST", url, "application/x-protobuf", buf, len, WAIT_MS + 10000, &status,
                        &resp, why, sizeof why);
    double ms = (benchutil_now_s() - t0) * 1e3;
    free(buf);
    const char *st = json_string_value(json_object_get(resp, "status"));
    bool ok = rc == QC_OK && status == 200 && st && strcmp(st, "committed") == 0;
    uint64_t at = ok ? (uint64_t)json_integer_value(json_object_get(resp, "height")) : 0;
    if (at > *height) *height = at;
    if (!ok) fprintf(stderr, "long_latency: not committed (HTTP %ld%s%s)\n", status,
                     rc == QC_OK ? "" : ": ", rc == QC_OK ? "" : why);
    json_decref(resp);
    return ok ? ms : -1;
}

static int measure(const opts_t *o, const client_identity_t *id, const char *api) {
    double *ms = calloc(o->count, sizeof *ms);
    if (ms == NULL) return 1;
    size_t n = 0, failed = 0;
    uint64_t height = head_height(api);
    for (uint32_t k = 0; k < o->count + WARMUP; k++) {
        double v = one(id, api, o->records, &height);
        if (k < WARMUP) continue;
        if (v < 0) failed++;
        else ms[n++] = v;
    }
    if (n == 0) { free(ms); return 1; }
    qsort(ms, n, sizeof *ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += ms[i];
    printf("  %s, %u record(s) a transaction, one at a time: %zu committed, %zu not;"
           " submit->committed p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms, mean %.1f ms\n",
           api, o->records, n, failed, pct(ms, n, 0.5), pct(ms, n, 0.9), pct(ms, n, 0.99),
           ms[n - 1], sum / (double)n);
    if (o->delay_given) {
        double bound = 4 * o->delay_ms + 20;
        printf("  target p50 <= 4 x %.1f ms + 20 ms = %.1f ms: %.1f ms  %s\n", o->delay_ms, bound,
               pct(ms, n, 0.5), pct(ms, n, 0.5) <= bound ? "MET" : "MISSED");
    }
    free(ms);
    return failed == 0 ? 0 : 1;
}

static int parse(int argc, char **argv, opts_t *o) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"api", required_argument, NULL, 'a'},
        {"count", required_argument, NULL, 'n'}, {"records", required_argument, NULL, 'r'},
        {"delay-ms", required_argument, NULL, 'd'}, {0, 0, 0, 0}};
    *o = (opts_t){NULL, NULL, 200, 1, 0, false};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'a': o->api = optarg; break;
        case 'n': o->count = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': o->records = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'd': o->delay_ms = strtod(optarg, NULL); o->delay_given = true; break;
        default: return 2;
        }
    }
    if (optind != argc || o->count < 1 || o->count > COUNT_MAX || o->records < 1 ||
        o->records > QC_TX_RECORDS_MAX || o->delay_ms < 0)
        return 2;
    return 0;
}

/* Against the consortium whose city config is path (API from it unless o->api). */
static int against(const opts_t *o, const char *path) {
    client_identity_t id;
    char why[256];
    if (client_identity_load(path, true, &id, why, sizeof why) != QC_OK) {
        fprintf(stderr, "long_latency: %s\n", why);
        return 1;
    }
    int rc = measure(o, &id, o->api ? o->api : id.api_url);
    client_identity_wipe(&id);
    return rc;
}

int main(int argc, char **argv) {
    opts_t o;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: long_latency [--config CITY/node.json [--api URL]] [--count N]"
                        " [--records K] [--delay-ms D]\n");
        return 2;
    }
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return 1;
    if (o.config) {
        printf("long_latency: against the consortium of %s\n", o.config);
        return against(&o, o.config);
    }
    const char *nodes_env = getenv("QC_BENCH_NODES");
    uint32_t n = nodes_env ? (uint32_t)atoi(nodes_env) : 9;
    char bin[LOCALNET_PATH_MAX], cfg[LOCALNET_PATH_MAX + 64];
    localnet_t ln;
    if (n < 4 || n > 9 || localnet_bin_dir(bin, sizeof bin) != QC_OK ||
        localnet_create(&ln, bin, n, "qchain-latency") != QC_OK)
        return 1;
    printf("long_latency: a %u-city testnet on loopback (no emulated delay), qchaind of this build\n", n);
    fflush(stdout);
    int rc = localnet_start(&ln) == QC_OK && localnet_wait_up(&ln, 60000) == QC_OK ? 0 : 1;
    snprintf(cfg, sizeof cfg, "%s/%s/node.json", ln.dir, ln.genesis->validators.members[0].name);
    if (rc == 0) rc = against(&o, cfg);
    if (rc != 0) localnet_print_logs(&ln, 10);
    localnet_destroy(&ln);
    curl_global_cleanup();
    return rc;
}
