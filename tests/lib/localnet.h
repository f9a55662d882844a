/* localnet.h - a local consortium of real qchaind processes for benchmarks: makes a testnet
 * with `qchain testnet` in a scratch directory on free loopback ports, starts one qchaind per
 * city (fork/exec, logs to DIR/CITY.log), waits until every link is up, reads /v1/status, and
 * stops every process it started. Every wait is bounded.
 *
 * Child processes get PR_SET_PDEATHSIG(SIGKILL), and localnet_kill_all_async() (safe in a
 * signal handler) kills every node any localnet started, so nothing outlives the caller even
 * when it fails, is interrupted or is killed.
 *
 * Profiling: QC_LOCALNET_WRAP="valgrind --tool=callgrind ..." runs node QC_LOCALNET_WRAP_NODE
 * (default 0) under that command.
 * Ports: QC_LOCALNET_PORTS=LOW-HIGH keeps every port inside that range (peer ports base+1..n,
 * API ports base+21..base+20+n); without it, bases between 21000 and 51000 (API at +1000). */
#ifndef QC_LOCALNET_H
#define QC_LOCALNET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "genesis.h"

#define LOCALNET_PATH_MAX 512

typedef struct {
    char dir[LOCALNET_PATH_MAX];      /* scratch directory: genesis.json, CITY/, CITY.log */
    char bin_dir[LOCALNET_PATH_MAX];  /* where qchain and qchaind are */
    uint32_t n;
    uint16_t base_port;               /* p2p = base+1+i (qchain testnet) */
    uint16_t api_base_port;           /* api = api_base+1+i */
    genesis_t *genesis;               /* owned; loaded from dir/genesis.json */
    pid_t pids[QC_VALIDATORS_MAX];    /* 0 = not running */
} localnet_t;

/* The bin directory next to the running executable's directory (BUILD/bench/x -> BUILD/bin),
 * so a benchmark runs the daemons of its own build. QC_ERR_IO if /proc/self/exe is unreadable. */
int localnet_bin_dir(char *out, size_t cap);

/* Makes the testnet of n (4 or 9) cities with chain_id in a fresh scratch directory, on a base
 * port whose 2n ports are free now. bin_dir is copied. On error nothing is left behind. */
int localnet_create(localnet_t *ln, const char *bin_dir, uint32_t n, const char *chain_id);
/* Sets SECTION.KEY to value in every node's config (node.json), before the nodes start, e.g.
 * ("verify", "workers", 4). QC_ERR_IO if a config cannot be read or written. */
int localnet_config_u32(localnet_t *ln, const char *section, const char *key, uint32_t value);
/* Starts every node. QC_ERR_IO if a fork fails (the started ones keep running: call stop). */
int localnet_start(localnet_t *ln);
/* Starts node i alone (not running yet). QC_ERR_IO if the fork fails. */
int localnet_start_node(localnet_t *ln, uint32_t i);
/* SIGKILL to node i (a crash) and reaps it; it may be started again. No-op if not running. */
void localnet_kill_node(localnet_t *ln, uint32_t i);
/* The data directory of node i (DIR/CITY/data, as `qchain testnet` configures it). */
void localnet_data_dir(const localnet_t *ln, uint32_t i, char *out, size_t cap);
/* Waits until every node reports peers_up == n-1, at most timeout_ms. QC_ERR_TIMEOUT or
 * QC_ERR_IO (a node exited) otherwise. */
int localnet_wait_up(localnet_t *ln, uint32_t timeout_ms);
/* SIGTERM to every node, then SIGKILL to those still running after 5 s; reaps them all. */
void localnet_stop(localnet_t *ln);
/* Stops the nodes, removes the scratch directory and frees the genesis. */
void localnet_destroy(localnet_t *ln);
/* SIGKILL to every node of every localnet still running; async-signal-safe. */
void localnet_kill_all_async(void);

uint16_t localnet_api_port(const localnet_t *ln, uint32_t i);
/* The seal key pair of city i, from DIR/CITY/keys/seal.key. */
int localnet_seal_key(const localnet_t *ln, uint32_t i, qc_pubkey_t *pk, qc_seckey_t *sk);
/* The node (consensus vote) key pair of city i, from DIR/CITY/keys/node.key. */
int localnet_node_key(const localnet_t *ln, uint32_t i, qc_pubkey_t *pk, qc_seckey_t *sk);
/* GET http://127.0.0.1:<api port of i><path> with a 5 s timeout: the HTTP status in *status
 * and the body (malloc'd, NUL-terminated, caller frees) in *body. QC_ERR_IO on no response. */
int localnet_get(const localnet_t *ln, uint32_t i, const char *path, long *status, char **body,
                 size_t *len);
/* A response body growing as libcurl delivers it (CURLOPT_WRITEFUNCTION localnet_body_cb,
 * CURLOPT_WRITEDATA a localnet_body_t *): malloc'd, NUL-terminated, the caller frees data. */
typedef struct {
    char *data;
    size_t len;
} localnet_body_t;
size_t localnet_body_cb(char *p, size_t size, size_t nmemb, void *user);
/* GET /v1/status of node i as JSON (new reference), or NULL. */
json_t *localnet_status(const localnet_t *ln, uint32_t i);
/* The value of one sample of node i's /metrics: an unlabelled name, or "name{labels}" exactly
 * as served. -1 if the node does not answer or serves no such sample. */
long long localnet_metric(const localnet_t *ln, uint32_t i, const char *sample);
/* Waits up to timeout_ms until node i answers GET /v1/transactions/ID "committed" (polls with
 * wait_ms; a node that does not know the id yet, or does not answer, is asked again). */
bool localnet_tx_committed(const localnet_t *ln, uint32_t i, const char *id_hex,
                           uint32_t timeout_ms);
/* Prints the last lines of every node's log to stderr (after a failure). */
void localnet_print_logs(const localnet_t *ln, int lines);

#endif
