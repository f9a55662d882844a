/* bench_cluster.c - a real local consortium under load (issue 4) and the client/auditor figures
 * of issue 5.
 *
 * For 4 and then 9 cities: makes a testnet in a scratch directory on free loopback ports,
 * signs every transaction before timing (round-robin over the cities' seal keys, so signers are
 * members), starts one qchaind per city from this build, waits until every link is up, then
 * drives POST /v1/transactions (binary SignedTx) over several keep-alive connections to all
 * nodes round-robin with libcurl's multi interface:
 *   - full load: closed loop, at most WINDOW submitted-but-uncommitted transactions;
 *   - 10% load: open loop at a tenth of the full-load rate;
 * with 1 and 100 digests per transaction. Committed tx/s and records/s come from node 0's
 * /v1/status log_size; submit-to-commit latency from a sampled subset submitted with wait_ms.
 * Each figure is printed beside the bound this run measures on this machine: Ed25519
 * verifications/s x cores / nodes (tx/s) and LevelDB synced puts/s / nodes (records/s).
 * With the 4-node ledger: receipts/s verified offline (receipt_from_json + receipt_verify, as
 * `qchain verify` does) and GET /v1/records/{digest} requests/s over keep-alive connections.
 *
 * Bounded: every phase has a fixed duration, every wait a deadline, and a watchdog alarm ends
 * the run; the nodes are stopped on every path (SIGKILL on signals; the kernel kills them via
 * PR_SET_PDEATHSIG if this process dies). QC_BENCH_QUICK=1 makes a short smoke run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "benchutil.h"
#include "localnet.h"
#include "receipt.h"
#include "tmpdir.h"

#define CHAIN "qchain-bench"
#define EXPIRY_HEIGHT 90000u     /* within QC_TX_TTL_BLOCKS_MAX of a fresh chain's head */
#define WAIT_MS 10000u           /* long-poll of a sampled submission */
#define STATUS_EVERY_S 0.05
#define WATCHDOG_S 175
#define TARGET_REC_4 54000.0
#define TARGET_REC_9 20000.0
#define TARGET_SIG_SHARE 0.60
#define TARGET_P50_MS 10.0
#define LOOKUP_CONNS 8           /* keep-alive connections for the record-lookup figure */

#define now_s benchutil_now_s

/* ---------------------------------------------------------------- the machine's bounds */

typedef struct {
    double verify_s;   /* Ed25519 verifications/s on one core */
    double puts_s;     /* LevelDB synced puts/s */
    long cores;
} bounds_t;

/* crypto_sign_verify_detached over a message the size of a 1-digest transaction body. */
static double measure_verify(double seconds) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[64];
    unsigned char msg[160];
    randombytes_buf(msg, sizeof msg);
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    size_t count = 0;
    int bad = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 64; i++) bad |= crypto_sign_verify_detached(sig, msg, sizeof msg, pk);
        count += 64;
        t = now_s();
    }
    return bad ? 0 : (double)count / (t - t0);
}

/* ---------------------------------------------------------------- pre-signed transactions */

typedef struct {
    uint8_t *buf;      /* protobuf SignedTx */
    size_t len;
    qc_hash_t digest0; /* its first record digest */
} pretx_t;

typedef struct {
    pretx_t *txs;
    size_t count, next;
    uint32_t digests;
} pool_t;

static void pool_free(pool_t *p) {
    for (size_t i = 0; i < p->count; i++) free(p->txs[i].buf);
    free(p->txs);
    memset(p, 0, sizeof *p);
}

/* Signs count transactions of `digests` random record digests each, signers round-robin over
 * every city's seal key, nonces counting up per signer. */
static int pool_sign(pool_t *p, const localnet_t *ln, size_t count, uint32_t digests) {
    memset(p, 0, sizeof *p);
    p->txs = calloc(count, sizeof *p->txs);
    if (p->txs == NULL) return QC_ERR_NOMEM;
    p->digests = digests;
    qc_pubkey_t pk[QC_VALIDATORS_MAX];
    qc_seckey_t sk[QC_VALIDATORS_MAX];
    uint64_t nonce[QC_VALIDATORS_MAX] = {0};
    int rc = QC_OK;
    for (uint32_t i = 0; i < ln->n && rc == QC_OK; i++) rc = localnet_seal_key(ln, i, &pk[i], &sk[i]);
    for (size_t k = 0; k < count && rc == QC_OK; k++) {
        uint32_t s = (uint32_t)(k % ln->n);
        qc_txb_t b;
        qc_tx_t tx;
        rc = qc_txb_init(&b, CHAIN, &pk[s], ++nonce[s], EXPIRY_HEIGHT);
        for (uint32_t d = 0; d < digests && rc == QC_OK; d++) {
            qc_hash_t h;
            randombytes_buf(h.b, sizeof h.b);
            if (d == 0) p->txs[k].digest0 = h;
            rc = qc_txb_add_record(&b, &h, "bench", NULL, NULL);
        }
        if (rc != QC_OK) { qc_txb_abort(&b); break; }
        rc = qc_txb_finish(&b, &sk[s], &tx);
        if (rc == QC_OK) rc = qc_tx_encode(&tx, &p->txs[k].buf, &p->txs[k].len);
        if (rc == QC_OK) p->count++;
        qc_tx_free(&tx);
    }
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ---------------------------------------------------------------- the load generator */

typedef struct {
    CURL *h;
    uint32_t node;
    bool busy, sampled, timed;
    double t_sent;
    localnet_body_t body; /* status responses only */
} slot_t;

typedef struct {
    double warmup_s, duration_s;
    double rate_tx_s;    /* 0: closed loop (full load) */
    uint32_t sample_every;
    size_t window_txs;   /* closed loop: most submitted-but-uncommitted txs */
} phase_cfg_t;

typedef struct {
    double seconds, tx_s, rec_s, blocks_s;
    size_t sent, accepted, rejected, failed, committed;
    double p50_ms, p99_ms;
    size_t samples, timeouts;
    double nodes_cores, gen_cores;
    bool pool_ran_out;
} phase_res_t;

typedef struct {
    localnet_t *ln;
    pool_t *pool;
    CURLM *m;
    struct curl_slist *hdrs;
    char url[QC_VALIDATORS_MAX][2][96]; /* [node][sampled] */
    slot_t *slots;
    size_t nslots;
    slot_t status;                       /* node 0's /v1/status, polled */
    double status_next;
    uint64_t log_size, height;           /* from the latest status */
    double *lat_ms;
    size_t nlat, cap_lat;
    phase_res_t r;
} gen_t;

static size_t discard_cb(char *p, size_t size, size_t nmemb, void *user) {
    (void)p, (void)user;
    return size * nmemb;
}

static int gen_init(gen_t *g, localnet_t *ln, size_t per_node) {
    memset(g, 0, sizeof *g);
    g->ln = ln;
    g->m = curl_multi_init();
    g->hdrs = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    g->hdrs = curl_slist_append(g->hdrs, "Expect:");
    g->nslots = per_node * ln->n;
    g->slots = calloc(g->nslots, sizeof *g->slots);
    g->cap_lat = 1 << 16;
    g->lat_ms = malloc(g->cap_lat * sizeof *g->lat_ms);
    if (g->m == NULL || g->slots == NULL || g->lat_ms == NULL) return QC_ERR_NOMEM;
    curl_multi_setopt(g->m, CURLMOPT_MAXCONNECTS, (long)g->nslots + 4);
    for (uint32_t i = 0; i < ln->n; i++) {
        snprintf(g->url[i][0], sizeof g->url[i][0], "http://127.0.0.1:%u/v1/transactions",
                 localnet_api_port(ln, i));
        snprintf(g->url[i][1], sizeof g->url[i][1], "http://127.0.0.1:%u/v1/transactions?wait_ms=%u",
                 localnet_api_port(ln, i), WAIT_MS);
    }
    for (size_t s = 0; s <= g->nslots; s++) {
        slot_t *sl = s < g->nslots ? &g->slots[s] : &g->status;
        sl->node = s < g->nslots ? (uint32_t)(s % ln->n) : 0;
        if ((sl->h = curl_easy_init()) == NULL) return QC_ERR_NOMEM;
        curl_easy_setopt(sl->h, CURLOPT_PRIVATE, sl);
        curl_easy_setopt(sl->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(sl->h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(sl->h, CURLOPT_TIMEOUT_MS, (long)WAIT_MS + 5000);
    }
    char su[96];
    snprintf(su, sizeof su, "http://127.0.0.1:%u/v1/status", localnet_api_port(ln, 0));
    curl_easy_setopt(g->status.h, CURLOPT_URL, su);
    curl_easy_setopt(g->status.h, CURLOPT_WRITEFUNCTION, localnet_body_cb);
    curl_easy_setopt(g->status.h, CURLOPT_WRITEDATA, &g->status.body);
    return QC_OK;
}

static void gen_free(gen_t *g) {
    for (size_t s = 0; s <= g->nslots && g->slots; s++) {
        slot_t *sl = s < g->nslots ? &g->slots[s] : &g->status;
        if (sl->h == NULL) continue;
        if (sl->busy) curl_multi_remove_handle(g->m, sl->h);
        curl_easy_cleanup(sl->h);
    }
    free(g->status.body.data);
    free(g->slots);
    free(g->lat_ms);
    curl_slist_free_all(g->hdrs);
    if (g->m) curl_multi_cleanup(g->m);
}

/* Submits the pool's next transaction on slot sl (idle). */
static void submit(gen_t *g, slot_t *sl, bool sampled, bool timed) {
    pretx_t *t = &g->pool->txs[g->pool->next++];
    curl_easy_setopt(sl->h, CURLOPT_URL, g->url[sl->node][sampled]);
    curl_easy_setopt(sl->h, CURLOPT_HTTPHEADER, g->hdrs);
    curl_easy_setopt(sl->h, CURLOPT_POSTFIELDS, (const char *)t->buf);
    curl_easy_setopt(sl->h, CURLOPT_POSTFIELDSIZE, (long)t->len);
    curl_easy_setopt(sl->h, CURLOPT_WRITEFUNCTION, discard_cb);
    sl->busy = true;
    sl->sampled = sampled;
    sl->timed = timed;
    sl->t_sent = now_s();
    g->r.sent++;
    curl_multi_add_handle(g->m, sl->h);
}

static void on_status(gen_t *g) {
    json_t *j = g->status.body.data ? json_loads(g->status.body.data, 0, NULL) : NULL;
    if (j) {
        g->log_size = (uint64_t)json_integer_value(json_object_get(j, "log_size"));
        g->height = (uint64_t)json_integer_value(json_object_get(j, "height"));
        json_decref(j);
    }
    free(g->status.body.data);
    g->status.body.data = NULL;
    g->status.body.len = 0;
}

static void on_done(gen_t *g, CURLMsg *msg) {
    slot_t *sl;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
    curl_multi_remove_handle(g->m, sl->h);
    sl->busy = false;
    if (sl == &g->status) { on_status(g); return; }
    long code = 0;
    curl_easy_getinfo(sl->h, CURLINFO_RESPONSE_CODE, &code);
    if (msg->data.result != CURLE_OK) { g->r.failed++; return; }
    if (code != 200 && code != 202) { g->r.rejected++; return; }
    g->r.accepted++;
    if (!sl->sampled || !sl->timed) return;
    if (code == 202) { g->r.timeouts++; return; }
    if (g->nlat < g->cap_lat) g->lat_ms[g->nlat++] = (now_s() - sl->t_sent) * 1e3;
}

/* One turn of the event loop: status poll, transfers, completions. */
static void gen_turn(gen_t *g) {
    if (!g->status.busy && now_s() >= g->status_next) {
        g->status_next = now_s() + STATUS_EVERY_S;
        g->status.busy = true;
        curl_multi_add_handle(g->m, g->status.h);
    }
    int running = 0, left = 0;
    curl_multi_perform(g->m, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(g->m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE) on_done(g, msg);
    curl_multi_poll(g->m, NULL, 0, 1, NULL);
}

/* An idle slot of node (tx index mod n), or NULL. */
static slot_t *idle_slot(gen_t *g, size_t tx_index) {
    uint32_t node = (uint32_t)(tx_index % g->ln->n);
    for (size_t s = node; s < g->nslots; s += g->ln->n)
        if (!g->slots[s].busy) return &g->slots[s];
    return NULL;
}

static bool any_busy(const gen_t *g) {
    for (size_t s = 0; s < g->nslots; s++)
        if (g->slots[s].busy) return true;
    return false;
}

/* CPU seconds (user + system) of the running nodes, from /proc/PID/stat. */
static double nodes_cpu_s(const localnet_t *ln) {
    double total = 0;
    for (uint32_t i = 0; i < ln->n; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)ln->pids[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            total += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    return total;
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

typedef struct {
    double t, nodes_cpu, gen_cpu;
    uint64_t log_size, height;
} snap_t;

/* A synchronous status read of node 0 for the measurement window's edges. */
static bool snapshot(gen_t *g, snap_t *s) {
    json_t *j = localnet_status(g->ln, 0);
    if (j == NULL) return false;
    s->t = now_s();
    s->log_size = (uint64_t)json_integer_value(json_object_get(j, "log_size"));
    s->height = (uint64_t)json_integer_value(json_object_get(j, "height"));
    s->nodes_cpu = nodes_cpu_s(g->ln);
    s->gen_cpu = self_cpu_s();
    json_decref(j);
    return true;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* May the closed loop submit another transaction now? */
static bool window_open(const gen_t *g, const phase_cfg_t *c, uint64_t log0) {
    uint64_t committed = (g->log_size - (g->log_size < log0 ? g->log_size : log0)) / g->pool->digests;
    return g->r.sent - g->r.rejected - g->r.failed < committed + c->window_txs;
}

/* Runs one phase: warmup, then the timed window; latency samples only from the timed window. */
static int run_phase(gen_t *g, const phase_cfg_t *c) {
    memset(&g->r, 0, sizeof g->r);
    g->nlat = 0;
    snap_t a, b;
    if (!snapshot(g, &a)) return QC_ERR_IO;
    g->log_size = a.log_size;
    uint64_t log0 = a.log_size;
    double t_start = now_s(), t_timed = t_start + c->warmup_s, t_end = t_timed + c->duration_s;
    bool timed = false;
    size_t paced = 0;
    while (now_s() < t_end) {
        if (!timed && now_s() >= t_timed) {
            if (!snapshot(g, &a)) return QC_ERR_IO;
            timed = true;
        }
        for (;;) {
            if (g->pool->next >= g->pool->count) { g->r.pool_ran_out = true; break; }
            if (c->rate_tx_s > 0 ? now_s() < t_start + (double)paced / c->rate_tx_s
                                 : !window_open(g, c, log0))
                break;
            slot_t *sl = idle_slot(g, g->pool->next);
            if (sl == NULL) break;
            paced++;
            submit(g, sl, c->sample_every && paced % c->sample_every == 0, timed);
        }
        if (g->r.pool_ran_out) break;
        gen_turn(g);
    }
    if (!timed || !snapshot(g, &b)) return QC_ERR_IO;
    for (double deadline = now_s() + WAIT_MS / 1e3 + 1; any_busy(g) && now_s() < deadline;)
        gen_turn(g);
    phase_res_t *r = &g->r;
    r->seconds = b.t - a.t;
    r->rec_s = (double)(b.log_size - a.log_size) / r->seconds;
    r->tx_s = r->rec_s / g->pool->digests;
    r->blocks_s = (double)(b.height - a.height) / r->seconds;
    r->nodes_cores = (b.nodes_cpu - a.nodes_cpu) / r->seconds;
    r->gen_cores = (b.gen_cpu - a.gen_cpu) / r->seconds;
    r->samples = g->nlat;
    if (g->nlat) {
        qsort(g->lat_ms, g->nlat, sizeof *g->lat_ms, cmp_double);
        r->p50_ms = g->lat_ms[g->nlat / 2];
        r->p99_ms = g->lat_ms[(size_t)((double)(g->nlat - 1) * 0.99)];
    }
    return QC_OK;
}

/* Waits (bounded) until node 0 has committed every accepted transaction so far. */
static void drain(gen_t *g, uint64_t log_target, double max_s) {
    for (double deadline = now_s() + max_s; now_s() < deadline; ) {
        json_t *j = localnet_status(g->ln, 0);
        uint64_t ls = j ? (uint64_t)json_integer_value(json_object_get(j, "log_size")) : 0;
        uint64_t mp = j ? (uint64_t)json_integer_value(json_object_get(j, "mempool_txs")) : 1;
        json_decref(j);
        if (ls >= log_target || mp == 0) return;
        usleep(50000);
    }
}

/* ---------------------------------------------------------------- record lookups, receipts */

/* GET /v1/records/{digest} on node 0 over every slot's keep-alive connection, closed loop. */
static double lookups_per_s(gen_t *g, const qc_hash_t *digests, size_t count, double seconds,
                            size_t *ok, size_t *bad) {
    memset(&g->r, 0, sizeof g->r);
    size_t k = 0;
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        for (size_t s = 0; s < g->nslots && s < LOOKUP_CONNS; s++) {
            slot_t *sl = &g->slots[s];
            if (sl->busy) continue;
            char url[160], hex[65];
            qc_hex_encode(hex, digests[k++ % count].b, 32);
            snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/records/%s", localnet_api_port(g->ln, 0), hex);
            curl_easy_setopt(sl->h, CURLOPT_URL, url);
            curl_easy_setopt(sl->h, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(sl->h, CURLOPT_HTTPHEADER, NULL);
            curl_easy_setopt(sl->h, CURLOPT_WRITEFUNCTION, discard_cb);
            sl->busy = true;
            sl->sampled = false;
            g->r.sent++;
            curl_multi_add_handle(g->m, sl->h);
        }
        gen_turn(g);
    }
    double secs = now_s() - t0;
    for (double deadline = now_s() + 5; any_busy(g) && now_s() < deadline;) gen_turn(g);
    *ok = g->r.accepted;
    *bad = g->r.rejected + g->r.failed;
    return (double)g->r.accepted / secs;
}

/* What `qchain verify` does after reading the file: JSON parse, strict receipt parse, full
 * verification against the genesis. */
static double receipts_per_s(const localnet_t *ln, const qc_hash_t *digest, double seconds) {
    char path[128], hex[65], why[256] = "";
    qc_hex_encode(hex, digest->b, 32);
    snprintf(path, sizeof path, "/v1/records/%s/receipt", hex);
    long code = 0;
    char *text = NULL;
    size_t len = 0;
    if (localnet_get(ln, 0, path, &code, &text, &len) != QC_OK || code != 200) {
        fprintf(stderr, "bench_cluster: GET %s -> %ld\n", path, code);
        free(text);
        return 0;
    }
    const genesis_t *gen = ln->genesis;
    size_t count = 0;
    int rc = QC_OK;
    double t0 = now_s(), t = t0;
    while (rc == QC_OK && t - t0 < seconds) {
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        receipt_t r;
        receipt_result_t res;
        rc = j ? receipt_from_json(j, &r, why, sizeof why) : QC_ERR_INVALID;
        json_decref(j);
        if (rc == QC_OK) {
            rc = receipt_verify(&r, gen->chain_id, &gen->hash, &gen->validators, digest, &res, why,
                                sizeof why);
            receipt_free(&r);
        }
        count++;
        t = now_s();
    }
    free(text);
    if (rc != QC_OK) fprintf(stderr, "bench_cluster: receipt does not verify: %s\n", why);
    return rc == QC_OK ? (double)count / (t - t0) : 0;
}

/* ---------------------------------------------------------------- one consortium */

typedef struct {
    bool quick;
    bounds_t b;
    double full_warmup_s, full_s, low_warmup_s, low_s;
} opts_t;

typedef struct {
    uint32_t nodes, digests;
    size_t conns, window;
    phase_res_t full, low;
    double low_rate;
} result_t;

typedef struct {
    double receipts_s, lookups_s;
    size_t lookups_ok, lookups_bad;
} client_res_t;

static double bound_tx(const opts_t *o, uint32_t nodes) {
    return o->b.verify_s * (double)o->b.cores / nodes;
}

static double bound_rec(const opts_t *o, uint32_t nodes) {
    return o->b.puts_s / nodes;
}

static void print_phase(const char *what, const phase_res_t *r, uint32_t digests) {
    printf("    %-28s %5.1f s: %zu sent, %zu accepted, %zu refused, %zu failed; %7.0f tx/s %8.0f "
           "records/s %6.1f blocks/s; latency p50 %7.1f ms p99 %7.1f ms (%zu samples, %zu "
           "timeouts); cpu: nodes %.2f cores, generator %.2f%s\n",
           what, r->seconds, r->sent, r->accepted, r->rejected, r->failed, r->tx_s,
           r->tx_s * digests, r->blocks_s, r->p50_ms, r->p99_ms, r->samples, r->timeouts,
           r->nodes_cores, r->gen_cores, r->pool_ran_out ? " (pre-signed pool used up)" : "");
}

static void print_result(const opts_t *o, const result_t *res) {
    double bt = bound_tx(o, res->nodes), br = bound_rec(o, res->nodes);
    printf("  %u nodes, %u digest%s/tx, %zu connections round-robin over all nodes\n", res->nodes,
           res->digests, res->digests == 1 ? "" : "s", res->conns);
    char what[64];
    snprintf(what, sizeof what, "full load (window %zu txs)", res->window);
    print_phase(what, &res->full, res->digests);
    snprintf(what, sizeof what, "10%% load (%.0f tx/s paced)", res->low_rate);
    print_phase(what, &res->low, res->digests);
    printf("    committed %8.0f tx/s      beside bound %8.0f tx/s      (%.0f Ed25519 verif/s x %ld "
           "cores / %u nodes): %.0f%%\n", res->full.tx_s, bt, o->b.verify_s, o->b.cores,
           res->nodes, 100 * res->full.tx_s / bt);
    printf("    committed %8.0f records/s beside bound %8.0f records/s (%.0f LevelDB synced puts/s "
           "/ %u nodes): %.1fx\n", res->full.tx_s * res->digests, br, o->b.puts_s, res->nodes,
           res->full.tx_s * res->digests / br);
    fflush(stdout);
}

/* Signs a pool for rate_tx_s during seconds (at least 200 txs). */
static int sign_for(pool_t *p, const localnet_t *ln, double rate_tx_s, double seconds,
                    uint32_t digests) {
    size_t count = (size_t)(rate_tx_s * seconds) + 200;
    return pool_sign(p, ln, count, digests);
}

/* Full load, drain, then 10% of the measured rate. Keeps up to keep_cap first digests. */
static int run_digests(const opts_t *o, gen_t *g, result_t *res, qc_hash_t *keep, size_t keep_cap) {
    localnet_t *ln = g->ln;
    double est = res->digests == 1 ? 1.2 * bound_tx(o, ln->n) : 2.0 * TARGET_REC_4 / res->digests;
    pool_t pool;
    int rc = sign_for(&pool, ln, est, o->full_warmup_s + o->full_s, res->digests);
    /* Enough submitted-but-uncommitted transactions that the nodes, not the generator's window,
     * set the rate (at 300 a 100-digest run was capped by Little's law, window / latency). */
    res->window = res->digests == 1 ? 3072 : 2000;
    if (getenv("QC_BENCH_WINDOW")) res->window = (size_t)atol(getenv("QC_BENCH_WINDOW"));
    phase_cfg_t full = {o->full_warmup_s, o->full_s, 0, 16, res->window};
    g->pool = &pool;
    json_t *s0 = localnet_status(ln, 0);
    uint64_t log_before = s0 ? (uint64_t)json_integer_value(json_object_get(s0, "log_size")) : 0;
    json_decref(s0);
    if (rc == QC_OK) rc = run_phase(g, &full);
    res->full = g->r;
    for (size_t i = 0; i < keep_cap && i < pool.next; i++) keep[i] = pool.txs[i].digest0;
    if (rc == QC_OK) drain(g, log_before + (uint64_t)res->full.accepted * res->digests, 15);
    pool_free(&pool);
    if (rc != QC_OK) return rc;
    res->low_rate = res->full.tx_s * 0.1;
    if (res->low_rate < 1) res->low_rate = 1;
    rc = sign_for(&pool, ln, res->low_rate, o->low_warmup_s + o->low_s, res->digests);
    phase_cfg_t low = {o->low_warmup_s, o->low_s, res->low_rate, 2, 0};
    g->pool = &pool;
    if (rc == QC_OK) rc = run_phase(g, &low);
    res->low = g->r;
    if (rc == QC_OK) drain(g, UINT64_MAX, 10);
    pool_free(&pool);
    return rc;
}

#define KEEP_DIGESTS 256

static int run_cluster(const opts_t *o, const char *bin_dir, uint32_t n, result_t res[2],
                       client_res_t *client) {
    localnet_t ln;
    int rc = localnet_create(&ln, bin_dir, n, CHAIN);
    if (rc != QC_OK) return rc;
    gen_t g;
    qc_hash_t *keep = calloc(KEEP_DIGESTS, sizeof *keep);
    size_t per_node = n <= 4 ? 16 : 8; /* submissions wait on the nodes' synced writes */
    if (getenv("QC_BENCH_CONNS")) per_node = (size_t)atol(getenv("QC_BENCH_CONNS"));
    rc = keep ? localnet_start(&ln) : QC_ERR_NOMEM;
    if (rc == QC_OK) rc = localnet_wait_up(&ln, 30000);
    if (rc == QC_OK) rc = gen_init(&g, &ln, per_node);
    static const uint32_t digests[2] = {1, 100};
    const char *only = getenv("QC_BENCH_DIGESTS"); /* profiling: one digest count only */
    for (int d = 0; d < 2 && rc == QC_OK; d++) {
        if (only && (uint32_t)atoi(only) != digests[d]) continue;
        res[d].nodes = n;
        res[d].digests = digests[d];
        res[d].conns = per_node * n;
        rc = run_digests(o, &g, &res[d], keep, d == 1 ? KEEP_DIGESTS : 0);
        if (rc == QC_OK) print_result(o, &res[d]);
    }
    if (rc == QC_OK && client != NULL && only == NULL) {
        client->receipts_s = receipts_per_s(&ln, &keep[0], o->quick ? 0.3 : 1.0);
        client->lookups_s = lookups_per_s(&g, keep, KEEP_DIGESTS, o->quick ? 0.5 : 3.0,
                                          &client->lookups_ok, &client->lookups_bad);
        printf("  with this %u-node ledger: receipts verified offline %8.0f /s (receipt_from_json + "
               "receipt_verify, one thread)\n", n, client->receipts_s);
        printf("  GET /v1/records/{digest} on one node, %zu keep-alive connections: %8.0f requests/s "
               "(%zu ok, %zu not ok)\n", g.nslots < LOOKUP_CONNS ? g.nslots : LOOKUP_CONNS, client->lookups_s, client->lookups_ok,
               client->lookups_bad);
    }
    if (rc != QC_OK) {
        fprintf(stderr, "bench_cluster: %u nodes: %s\n", n, qc_strerror(rc));
        localnet_print_logs(&ln, 12);
    }
    if (g.m) gen_free(&g);
    free(keep);
    localnet_destroy(&ln);
    return rc;
}

/* ---------------------------------------------------------------- main */

static void on_fatal_signal(int sig) {
    localnet_kill_all_async();
    static const char msg[] = "bench_cluster: stopped by a signal (watchdog or interrupt)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(128 + sig);
}

static const char *verdict(bool met) { return met ? "MET" : "MISSED"; }

static void print_targets(const opts_t *o, const result_t r4[2], const result_t r9[2]) {
    double share = r4[0].full.tx_s / bound_tx(o, 4);
    printf("  targets (issue 4):\n");
    printf("    4 nodes, 100 digests/tx >= %.0f records/s: %8.0f  %s\n", TARGET_REC_4,
           r4[1].full.tx_s * 100, verdict(r4[1].full.tx_s * 100 >= TARGET_REC_4));
    printf("    9 nodes, 100 digests/tx >= %.0f records/s: %8.0f  %s\n", TARGET_REC_9,
           r9[1].full.tx_s * 100, verdict(r9[1].full.tx_s * 100 >= TARGET_REC_9));
    printf("    4 nodes, 1 digest/tx >= 60%% of the signature bound: %.0f%%  %s\n", 100 * share,
           verdict(share >= TARGET_SIG_SHARE));
    printf("    4 nodes, p50 latency at 10%% load <= %.0f ms: %.1f ms (1 digest), %.1f ms (100 "
           "digests)  %s\n", TARGET_P50_MS, r4[0].low.p50_ms, r4[1].low.p50_ms,
           verdict(r4[0].low.samples > 0 && r4[0].low.p50_ms <= TARGET_P50_MS));
}

int main(void) {
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return 1;
    signal(SIGALRM, on_fatal_signal);
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);
    alarm(WATCHDOG_S);
    opts_t o = {.quick = getenv("QC_BENCH_QUICK") != NULL};
    o.full_warmup_s = o.quick ? 0.5 : 1.5;
    o.full_s = o.quick ? 2.0 : 8.0;
    o.low_warmup_s = o.quick ? 0.3 : 0.5;
    o.low_s = o.quick ? 1.5 : 4.0;
    o.b.cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.b.verify_s = measure_verify(o.quick ? 0.2 : 0.5);
    o.b.puts_s = benchutil_synced_puts(SIZE_MAX, o.quick ? 0.3 : 1.0, NULL, NULL);
    printf("cluster on loopback, every node a qchaind process on this machine, ledgers in %s\n",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    printf("  bounds measured now: Ed25519 %.0f verifications/s per core x %ld cores; LevelDB "
           "%.0f synced 100-byte puts/s\n", o.b.verify_s, o.b.cores, o.b.puts_s);
    char bin_dir[LOCALNET_PATH_MAX];
    if (localnet_bin_dir(bin_dir, sizeof bin_dir) != QC_OK || o.b.verify_s == 0 || o.b.puts_s == 0) {
        fprintf(stderr, "bench_cluster: cannot measure the bounds or find the binaries\n");
        return 1;
    }
    result_t r4[2], r9[2];
    client_res_t client;
    memset(r4, 0, sizeof r4);
    memset(r9, 0, sizeof r9);
    memset(&client, 0, sizeof client);
    const char *only = getenv("QC_BENCH_NODES"); /* profiling: one cluster size only */
    int rc = QC_OK;
    if (only == NULL || atoi(only) == 4) rc = run_cluster(&o, bin_dir, 4, r4, &client);
    if (rc == QC_OK && (only == NULL || atoi(only) == 9)) rc = run_cluster(&o, bin_dir, 9, r9, NULL);
    if (rc == QC_OK) print_targets(&o, r4, r9);
    curl_global_cleanup();
    return rc == QC_OK ? 0 : 1;
}
