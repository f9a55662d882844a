/* api.h - the node's HTTP/JSON API (docs/API.md): submit signed transactions and wait for their
 * commit, records and their receipts, blocks, the latest checkpoint, consistency proofs,
 * members, status, Prometheus metrics and a health check; and for browsers the embedded web
 * application, the genesis file and every member's link and head (api_web.h). Runs on the
 * node's loop. */
#ifndef QC_API_H
#define QC_API_H

#include "http.h"
#include "node.h"
#include "cityproof.h"
#include "receipt.h"
#include "statusproof.h"

#define API_WAITERS_MAX 4096 /* long-polls waiting for a commit at once; more get 503 */
#define API_BATCH_TXS_MAX 1024 /* signed transactions in one POST /v1/transactions batch */

struct api;

typedef struct {
    bool used;
    struct api *api;
    qc_hash_t tx_id;
    http_res_t *res;
    uint64_t deadline_ms;
    uint64_t started_ms;
} api_waiter_t;

typedef struct api {
    node_t *node;                   /* borrowed */
    http_server_t server;
    uv_timer_t sweep;               /* expires long-polls */
    api_waiter_t waiters[API_WAITERS_MAX];
    uint32_t waiter_count;
    prom_histogram_t commit_latency; /* submit-with-wait to commit, seconds */
    uint8_t *genesis_file;          /* the genesis file's bytes, checked against the chain's
                                     * genesis hash at start (GET /v1/genesis); owned; NULL when
                                     * they could not be read or no longer match */
    size_t genesis_file_len;
    qc_hash_t genesis_hash;         /* the node's genesis hash (a copy) */
    void (*closed_cb)(void *);
    void *closed_user;
    int closing;
} api_t;

/* Reads path parameter `name` as 64 hex characters into *out; false after answering 400
 * "NAME must be 64 hex characters". */
bool api_param_hash(http_req_t *req, http_res_t *res, const char *name, qc_hash_t *out);

/* Reads unsigned query parameter `name` (0..max) into *out; absent leaves *out unless
 * required. false after answering 400. */
bool api_query_u64(http_req_t *req, http_res_t *res, const char *name, uint64_t max,
                   uint64_t *out, bool required);

/* Starts the API on the node's configured address. QC_OK or an error with why. */
int api_start(api_t *a, node_t *n, char *why, size_t why_cap);
/* Closes the listener and every connection; cb(user) runs when done. */
void api_stop(api_t *a, void (*cb)(void *), void *user);

/* Builds the receipt of an anchoring of digest from the node's ledger, with the membership
 * history from genesis to its block's epoch: the first anchoring, or, with tx_id, the first
 * record of transaction tx_id that anchors digest (a digest anchored by several cities has
 * one receipt per anchoring). Caller frees with receipt_free. QC_ERR_NOTFOUND if never
 * anchored (by that transaction). */
int api_build_receipt(node_t *n, const qc_hash_t *digest, const qc_hash_t *tx_id, receipt_t *out);
/* The same from ledger s of the chain (chain_id, genesis_hash), all borrowed. */
int api_build_receipt_in(store_t *s, const char *chain_id, const qc_hash_t *genesis_hash,
                         const qc_hash_t *digest, const qc_hash_t *tx_id, receipt_t *out);

/* The membership history a receipt for a block of `epoch` carries (docs/PROTOCOL.md §10.1):
 * steps for epochs 1..epoch in order, from s's epoch spans, validator sets, and the header
 * and certificate of each epoch's previous block. *out is malloc'd and owned by the caller
 * (free), NULL when epoch is 0; *len gets the count. QC_ERR_NOTFOUND if s does not know the
 * epoch; QC_ERR_TOOBIG past RECEIPT_EPOCHS_MAX; QC_ERR_CORRUPT if the history is
 * inconsistent. */
int api_receipt_membership(store_t *s, uint64_t epoch, receipt_step_t **out, size_t *len);

/* What makes block `height`'s header trustworthy offline: the header, its commit certificate
 * and the membership history to its epoch (*membership owned by the caller: free). Read
 * errors; QC_ERR_CORRUPT when the stored certificate does not decode. */
int api_block_proof(store_t *s, uint64_t height, qc_header_t *header, qc_cert_t *cert,
                    receipt_step_t **membership, size_t *membership_len);

/* The status proof (docs/PROTOCOL.md §12) of digest as of the ledger head: its status (or
 * its absence), the state-map proof against the head header's state root, that header, its
 * certificate and the membership history to its epoch. *out owned (statusproof_free).
 * QC_OK; QC_ERR_NOTFOUND before the first block; QC_ERR_CORRUPT when the map and the stored
 * status disagree (or the map is damaged); read errors. */
int api_build_status_proof(store_t *s, const qc_hash_t *digest, statusproof_t *out);

/* The completeness proof (docs/PROTOCOL.md §13.3) of city's log events with heights
 * from..to, as of the ledger head: the events, their bracketing leaves, the complement hashes,
 * the state-map proof of the city's log head against the head header's state root, that
 * header, its certificate and the membership history. A long range is cut at a block
 * boundary: to becomes the last height whose events, with the brackets, fit in
 * leaves_soft_max leaves (3..CITYPROOF_LEAVES_MAX; anything else means CITYPROOF_LEAVES_MAX),
 * except that block `from` is always served whole when it fits in CITYPROOF_LEAVES_MAX;
 * out->to_height says how far the proof reaches (the client asks again from there + 1).
 * *out owned (cityproof_free). QC_OK; QC_ERR_NOTFOUND before the first block;
 * QC_ERR_INVALID when city is not a member name; QC_ERR_RANGE unless 1 <= from <= to <=
 * the head's height; QC_ERR_TOOBIG when block `from` alone holds more events of the city
 * than a proof may carry; QC_ERR_CORRUPT / read errors. */
int api_build_city_proof(store_t *s, const char *city, uint64_t from, uint64_t to,
                         size_t leaves_soft_max, cityproof_t *out);

/* The node's leaves_soft_max for GET /v1/cities/{name}/log: a proof is built on the loop
 * thread at about 3 us per leaf (docs/BENCHMARKS.md), so one request costs at most ~30 ms
 * unless a single block holds more of the city's events. */
#define API_CITY_LOG_LEAVES 10000

#endif
