/* long_catchup.c - the long runs of issue 9 that need a long chain: catch-up of a node
 * 100,000 blocks behind (blocks/s, records/s), the memory of a node holding 10 million records
 * while it serves receipts, and the disk bytes each anchored record costs in that ledger.
 *
 * How: `qchain testnet` makes a consortium of QC_BENCH_NODES (default 4) cities on loopback;
 * the chain (QC_BENCH_BLOCKS blocks, default 100,000, each one transaction of QC_BENCH_RECS
 * records, default 100: 10 million records) is generated with the testnet's own keys (every
 * transaction signed by a member's seal key, every block certified by a quorum of node keys,
 * tests/lib/chainbuilder) straight into the first city's ledger, compacted, and hard-linked
 * into every other city's data directory but the last's (LevelDB never rewrites a table file).
 * Those cities start; when they are linked up, the last city starts with an empty ledger and
 * fetches the whole chain through the ordinary catch-up path (node/node_chain.c), verifying
 * every certificate. Its /v1/status height is polled every 100 ms. Then receipts for random
 * records are served by a full node and the caught-up node, and VmRSS/VmHWM are read from
 * /proc. Last, every node stops and the caught-up node's data directory is measured as written
 * and after a full compaction, per key family. QC_BENCH_NO_CATCHUP=1 skips the catch-up (and
 * the disk figure) and measures the memory of the first city alone.
 *
 * Bounded: every wait has a deadline, a watchdog alarm ends the run (QC_BENCH_WATCHDOG_S,
 * default 3600 s), and the nodes are killed on every path. Ports: QC_LOCALNET_PORTS. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "benchutil.h"
#include "chainfill.h"
#include "localnet.h"

#define CHAIN "qchain-long"
#define POLL_MS 100
#define RECEIPTS 2000
#define TARGET_BLOCKS_S 2000.0
#define TARGET_RSS_MIB 200.0
#define TARGET_DISK_BYTES 150.0

#define now_s benchutil_now_s

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static void on_signal(int sig) {
    localnet_kill_all_async();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void sleep_ms(long ms) { usleep((useconds_t)ms * 1000); }

/* QC_BENCH_STATE_CACHE_MIB: the state map's mode for every node and the generated ledger
 * (config ledger.state_cache_mib; 0 or unset: resident). */
static uint32_t state_cache_mib(void) { return (uint32_t)env_u64("QC_BENCH_STATE_CACHE_MIB", 0); }

/* QC_BENCH_FILL_CACHE_MIB: the paged map's cache while the chain is generated (default: the
 * nodes' own). The pages written are the same whatever the cache, so a large one generates a
 * paged ledger of 10 million records at nearly the resident map's speed, and the nodes then
 * run on the small cache being measured. */
static uint32_t fill_cache_mib(void) {
    return (uint32_t)env_u64("QC_BENCH_FILL_CACHE_MIB", state_cache_mib());
}

/* Writes ledger.state_cache_mib into every node's node.json. */
static int set_state_cache(const localnet_t *ln, uint32_t n, uint32_t mib) {
    for (uint32_t i = 0; i < n; i++) {
        char path[LOCALNET_PATH_MAX + 96];
        snprintf(path, sizeof path, "%s/%s/node.json", ln->dir,
                 ln->genesis->validators.members[i].name);
        json_error_t err;
        json_t *cfg = json_load_file(path, 0, &err);
        if (cfg == NULL) return QC_ERR_IO;
        int bad = json_object_set_new(cfg, "ledger", json_pack("{s:i}", "state_cache_mib", (json_int_t)mib));
        if (!bad) bad = json_dump_file(cfg, path, JSON_INDENT(2));
        json_decref(cfg);
        if (bad) return QC_ERR_IO;
    }
    return QC_OK;
}

/* kB values from /proc/PID/status (0 when unreadable). */
typedef struct {
    uint64_t rss_kb, hwm_kb, anon_kb, file_kb;   /* VmRSS, VmHWM, RssAnon, RssFile */
} mem_t;

static void proc_mem(pid_t pid, mem_t *m) {
    char path[64], line[256];
    memset(m, 0, sizeof *m);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "VmRSS: %llu kB", &v) == 1) m->rss_kb = v;
        if (sscanf(line, "VmHWM: %llu kB", &v) == 1) m->hwm_kb = v;
        if (sscanf(line, "RssAnon: %llu kB", &v) == 1) m->anon_kb = v;
        if (sscanf(line, "RssFile: %llu kB", &v) == 1) m->file_kb = v;
    }
    fclose(f);
}

/* Node i's /v1/status integer field, or -1. */
static long long status_int(const localnet_t *ln, uint32_t i, const char *field) {
    json_t *s = localnet_status(ln, i);
    long long v = s && json_is_integer(json_object_get(s, field))
                      ? (long long)json_integer_value(json_object_get(s, field)) : -1;
    json_decref(s);
    return v;
}

typedef struct {
    uint64_t blocks;
    uint32_t recs;       /* records per block (one transaction) */
    uint32_t n;
} plan_t;

/* Generates the chain into node 0's ledger, compacts it, and links it into nodes 1..n-2. */
static int make_chain(localnet_t *ln, const plan_t *p) {
    qc_seckey_t node_sk[QC_VALIDATORS_MAX], seal_sk[QC_VALIDATORS_MAX];
    for (uint32_t i = 0; i < p->n; i++) {
        qc_pubkey_t pk;
        if (localnet_node_key(ln, i, &pk, &node_sk[i]) != QC_OK ||
            localnet_seal_key(ln, i, &pk, &seal_sk[i]) != QC_OK)
            return QC_ERR_IO;
    }
    static chainbuilder_t cb; /* large (holds the record-log frontier) */
    chainbuilder_init_keys(&cb, ln->genesis->chain_id, &ln->genesis->validators, node_sk, seal_sk);
    cb.genesis_hash = ln->genesis->hash;
    sodium_memzero(node_sk, sizeof node_sk);
    sodium_memzero(seal_sk, sizeof seal_sk);
    char dir[LOCALNET_PATH_MAX + 64], ledger[LOCALNET_PATH_MAX + 80];
    localnet_data_dir(ln, 0, dir, sizeof dir);
    snprintf(ledger, sizeof ledger, "%s/ledger", dir);
    /* The members' addresses and the checkpoint interval, as node_start gives them when it
     * creates a ledger: the nodes started on this one take their peers' addresses from it. */
    static gov_info_t info[QC_VALIDATORS_MAX];
    for (uint32_t i = 0; i < ln->genesis->validators.n; i++) {
        snprintf(info[i].display_name, sizeof info[i].display_name, "%s",
                 ln->genesis->info[i].display_name);
        snprintf(info[i].p2p_address, sizeof info[i].p2p_address, "%s",
                 ln->genesis->info[i].p2p_address);
        snprintf(info[i].api_address, sizeof info[i].api_address, "%s",
                 ln->genesis->info[i].api_address);
    }
    store_config_t sc = {ln->genesis->chain_id, ln->genesis->hash, &ln->genesis->validators, info,
                         ln->genesis->consensus.checkpoint_interval};
    /* paged: the map's nodes are written too */
    sc.state_cache_bytes = state_cache_mib() > 0 ? (size_t)fill_cache_mib() << 20 : 0;
    store_t s;
    int rc = store_open(&s, ledger, &sc);
    if (rc != QC_OK) return rc;
    double t0 = now_s();
    rc = chainfill_blocks(&cb, &s, p->blocks, 1, p->recs, true);
    double fill_s = now_s() - t0;
    t0 = now_s();
    if (rc == QC_OK) chainfill_compact(&s);
    store_close(&s); /* paged: writes the map's nodes still in the cache, and its snapshot */
    if (rc == QC_OK && state_cache_mib() > 0) {
        /* ... which the compaction above has not seen: reopen (the snapshot is at the head,
         * nothing is replayed) and compact again, so the nodes start on settled tables. */
        rc = store_open(&s, ledger, &sc);
        if (rc == QC_OK) {
            chainfill_compact(&s);
            store_close(&s);
        }
    }
    double compact_s = now_s() - t0;
    if (rc != QC_OK) return rc;
    printf("  chain generated into %s's ledger: %llu blocks in %.1f s (%.0f blocks/s, unsynced"
           " writes), compacted in %.1f s; ledger %.1f MiB\n",
           ln->genesis->validators.members[0].name, (unsigned long long)p->blocks, fill_s,
           p->blocks / fill_s, compact_s, chainfill_dir_bytes(ledger) / 1048576.0);
    for (uint32_t i = 1; i + 1 < p->n; i++) {
        char other[LOCALNET_PATH_MAX + 64], cmd[6 * LOCALNET_PATH_MAX];
        localnet_data_dir(ln, i, other, sizeof other);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -al '%s' '%s/ledger' && rm '%s/ledger/LOCK'",
                 other, ledger, other, other); /* the lock is per inode: each its own */
        if (system(cmd) != 0) return QC_ERR_IO;
    }
    fflush(stdout);
    return QC_OK;
}

/* Starts nodes 0..n-2 and waits until each has every other of them up. */
static int start_full_nodes(localnet_t *ln, const plan_t *p) {
    for (uint32_t i = 0; i + 1 < p->n; i++)
        if (localnet_start_node(ln, i) != QC_OK) return QC_ERR_IO;
    double deadline = now_s() + 120;
    while (now_s() < deadline) {
        uint32_t up = 0;
        for (uint32_t i = 0; i + 1 < p->n; i++) {
            if (waitpid(ln->pids[i], NULL, WNOHANG) != 0) {
                fprintf(stderr, "long_catchup: node %u exited\n", i);
                return QC_ERR_IO;
            }
            if (status_int(ln, i, "peers_up") >= (long long)p->n - 2) up++;
        }
        if (up == p->n - 1) return QC_OK;
        sleep_ms(200);
    }
    fprintf(stderr, "long_catchup: the full nodes did not link up within 120 s\n");
    return QC_ERR_TIMEOUT;
}

/* Starts the last node and polls its height until it holds the whole chain. */
static int catch_up(localnet_t *ln, const plan_t *p) {
    uint32_t last = p->n - 1;
    const char *peers = getenv("QC_BENCH_CATCHUP_PEERS"); /* profiling: its catchup.peers */
    if (peers && atoi(peers) >= 1 && atoi(peers) <= 9) {
        char cmd[2 * LOCALNET_PATH_MAX];
        snprintf(cmd, sizeof cmd, "sed -i 's/\"peers\": [0-9]*/\"peers\": %d/' '%s/%s/node.json'",
                 atoi(peers), ln->dir, ln->genesis->validators.members[last].name);
        if (system(cmd) != 0) return QC_ERR_IO;
    }
    double t_start = now_s(), t_first = 0, t_end = 0;
    if (localnet_start_node(ln, last) != QC_OK) return QC_ERR_IO;
    double deadline = t_start + 120 + (double)p->blocks / 100.0; /* fails below 100 blocks/s */
    long long h = 0, printed = 0;
    mem_t m;
    while (now_s() < deadline) {
        h = status_int(ln, last, "height");
        if (h > 0 && t_first == 0) t_first = now_s();
        if (h >= (long long)p->blocks) { t_end = now_s(); break; }
        if (h - printed >= (long long)p->blocks / 10 && h > 0) {
            printed = h;
            proc_mem(ln->pids[last], &m);
            fprintf(stderr, "  catch-up: height %lld after %.1f s, RSS %.0f MiB (anonymous %.0f)\n",
                    h, now_s() - t_start, m.rss_kb / 1024.0, m.anon_kb / 1024.0);
        }
        sleep_ms(POLL_MS);
    }
    if (t_end == 0) {
        fprintf(stderr, "long_catchup: catch-up reached height %lld of %llu before the deadline\n",
                h, (unsigned long long)p->blocks);
        return QC_ERR_TIMEOUT;
    }
    proc_mem(ln->pids[last], &m);
    double all_s = t_end - t_start, fetch_s = t_end - t_first;
    double rate = p->blocks / all_s;
    printf("  catch-up of %s, %llu blocks behind (%llu records), from %u full peers:\n"
           "    %.1f s from its start (%.1f s from its first block): %.0f blocks/s, %.0f records/s"
           " (%.0f blocks/s from the first block); RSS %.0f MiB (anonymous %.0f), peak %.0f MiB\n",
           ln->genesis->validators.members[last].name, (unsigned long long)p->blocks,
           (unsigned long long)(p->blocks * p->recs), p->n - 1, all_s, fetch_s, rate,
           rate * p->recs, p->blocks / fetch_s, m.rss_kb / 1024.0, m.anon_kb / 1024.0,
           m.hwm_kb / 1024.0);
    printf("    target >= %.0f blocks/s: %.0f  %s\n", TARGET_BLOCKS_S, rate,
           rate >= TARGET_BLOCKS_S ? "MET" : "MISSED");
    fflush(stdout);
    return QC_OK;
}

/* GETs receipts of `count` random records of the chain from node i (one connection each);
 * returns how many answered 200. */
static uint32_t serve_receipts(const localnet_t *ln, uint32_t i, const plan_t *p, uint32_t count,
                               double *secs) {
    uint32_t ok = 0;
    double t0 = now_s();
    for (uint32_t k = 0; k < count; k++) {
        uint64_t height = 1 + randombytes_uniform((uint32_t)p->blocks);
        qc_hash_t d;
        chainbuilder_digest(height, 0, randombytes_uniform(p->recs), &d);
        char path[128], hex[65];
        qc_hex_encode(hex, d.b, 32);
        snprintf(path, sizeof path, "/v1/records/%s/receipt", hex);
        long code = 0;
        char *body = NULL;
        if (localnet_get(ln, i, path, &code, &body, NULL) == QC_OK && code == 200) ok++;
        free(body);
    }
    *secs = now_s() - t0;
    return ok;
}

/* Memory of node 0 and, when it caught up, of the last node. */
static void memory(const localnet_t *ln, const plan_t *p, bool caught_up) {
    uint32_t nodes[2] = {0, p->n - 1};
    const char *what[2] = {"started on the generated ledger", "filled by catch-up"};
    printf("  memory of a node holding %llu records, after %u receipts for random records:\n",
           (unsigned long long)(p->blocks * p->recs), RECEIPTS);
    for (int k = 0; k < (caught_up ? 2 : 1); k++) {
        double secs = 0;
        uint32_t ok = serve_receipts(ln, nodes[k], p, RECEIPTS, &secs);
        mem_t m;
        proc_mem(ln->pids[nodes[k]], &m);
        printf("    %-10s (%s): %u of %u receipts OK (%.0f /s); VmRSS %.1f MiB = RssAnon %.1f +"
               " RssFile %.1f (mapped ledger files); VmHWM %.1f MiB; target VmRSS <= %.0f MiB:"
               " %s\n", ln->genesis->validators.members[nodes[k]].name, what[k], ok, RECEIPTS,
               RECEIPTS / secs, m.rss_kb / 1024.0, m.anon_kb / 1024.0, m.file_kb / 1024.0,
               m.hwm_kb / 1024.0, TARGET_RSS_MIB,
               ok == RECEIPTS && m.rss_kb / 1024.0 <= TARGET_RSS_MIB ? "MET" : "MISSED");
    }
    fflush(stdout);
}

/* The caught-up node's data directory (stopped): bytes per record as written and compacted. */
static int disk(const localnet_t *ln, const plan_t *p) {
    uint32_t last = p->n - 1;
    char dir[LOCALNET_PATH_MAX + 64], ledger[LOCALNET_PATH_MAX + 80], cons[LOCALNET_PATH_MAX + 80];
    localnet_data_dir(ln, last, dir, sizeof dir);
    snprintf(ledger, sizeof ledger, "%s/ledger", dir);
    snprintf(cons, sizeof cons, "%s/consensus", dir);
    double records = (double)p->blocks * p->recs;
    uint64_t c0 = chainfill_dir_bytes(cons);
    store_config_t sc = {ln->genesis->chain_id, ln->genesis->hash, &ln->genesis->validators};
    sc.state_cache_bytes = (size_t)state_cache_mib() << 20; /* (resident would drop its nodes) */
    chainfill_disk_t d;
    int rc = chainfill_disk(ledger, &sc, &d);
    if (rc != QC_OK) return rc;
    double per = (d.written_bytes + c0) / records;
    printf("  disk of %s (%u records a transaction, one transaction a block): ledger %.1f MiB +"
           " consensus %.1f MiB as written = %.1f bytes/record; ledger after a full compaction"
           " %.1f MiB = %.1f bytes/record\n", ln->genesis->validators.members[last].name,
           p->recs, d.written_bytes / 1048576.0, c0 / 1048576.0, per,
           d.compacted_bytes / 1048576.0, (d.compacted_bytes + c0) / records);
    chainfill_disk_print_families(&d, records);
    printf("    target <= %.0f bytes/record: %.1f as written  %s\n", TARGET_DISK_BYTES, per,
           per <= TARGET_DISK_BYTES ? "MET" : "MISSED");
    return QC_OK;
}

int main(void) {
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    alarm((unsigned)env_u64("QC_BENCH_WATCHDOG_S", 3600));
    plan_t p = {env_u64("QC_BENCH_BLOCKS", 100000), (uint32_t)env_u64("QC_BENCH_RECS", 100),
                (uint32_t)env_u64("QC_BENCH_NODES", 4)};
    if (p.blocks < 10 || p.blocks > 10000000 || p.recs < 1 || p.recs > QC_TX_RECORDS_MAX ||
        p.n < 4 || p.n > 9) {
        fprintf(stderr, "long_catchup: QC_BENCH_BLOCKS 10..10^7, QC_BENCH_RECS 1..%u, "
                "QC_BENCH_NODES 4..9\n", QC_TX_RECORDS_MAX);
        return 2;
    }
    char bin[LOCALNET_PATH_MAX];
    localnet_t ln;
    if (localnet_bin_dir(bin, sizeof bin) != QC_OK ||
        localnet_create(&ln, bin, p.n, CHAIN) != QC_OK)
        return 1;
    printf("long_catchup: %u qchaind processes on loopback (ledgers in %s), a chain of %llu blocks"
           " x 1 tx x %u records\n", p.n, ln.dir, (unsigned long long)p.blocks, p.recs);
    fflush(stdout);
    if (state_cache_mib() > 0)
        printf("  state map paged, %u MiB cached (ledger.state_cache_mib); %u MiB while the chain"
               " is generated\n", state_cache_mib(), fill_cache_mib());
    int rc = state_cache_mib() > 0 ? set_state_cache(&ln, p.n, state_cache_mib()) : QC_OK;
    if (rc == QC_OK) rc = make_chain(&ln, &p);
    if (rc == QC_OK) rc = start_full_nodes(&ln, &p);
    bool catchup = getenv("QC_BENCH_NO_CATCHUP") == NULL; /* memory of node 0 only */
    if (rc == QC_OK && catchup) rc = catch_up(&ln, &p);
    if (rc == QC_OK) memory(&ln, &p, catchup);
    if (rc != QC_OK) localnet_print_logs(&ln, 15);
    localnet_stop(&ln);
    if (rc == QC_OK && catchup) rc = disk(&ln, &p);
    if (getenv("QC_BENCH_KEEP")) fprintf(stderr, "long_catchup: kept %s\n", ln.dir);
    else localnet_destroy(&ln);
    curl_global_cleanup();
    if (rc != QC_OK) fprintf(stderr, "long_catchup: %s\n", qc_strerror(rc));
    return rc == QC_OK ? 0 : 1;
}
