/* config.h - a city node's own configuration file (JSON): which city it is, where its genesis,
 * keys and data live, what it listens on, and its local limits and timeouts. Everything but
 * "city" and "genesis" has a default; docs/CONFIG.md lists every key, type, range and default.
 *
 * What all nodes must agree on (members, consensus parameters) is in the genesis, not here. */
#ifndef QC_CONFIG_H
#define QC_CONFIG_H

#include "genesis.h"
#include "keys.h"

#define CONFIG_VERSION 1
#define CONFIG_FILE_BYTES_MAX (64u * 1024)
#define CONFIG_PATH_MAX 4096 /* bytes of a resolved path, including the NUL */
#define CONFIG_ADDR_MAX JSONV_ADDR_MAX

/* Defaults (docs/CONFIG.md). */
#define CONFIG_DEFAULT_DATA_DIR "data"
#define CONFIG_DEFAULT_LOG_LEVEL QC_LOG_INFO
#define CONFIG_DEFAULT_P2P_MAX_FRAME_BYTES (QC_BLOCK_BYTES_MAX + (1u << 20))
#define CONFIG_DEFAULT_P2P_SEND_QUEUE_BYTES (64ull << 20)
#define CONFIG_DEFAULT_P2P_CONNECT_TIMEOUT_MS 3000u
#define CONFIG_DEFAULT_P2P_HANDSHAKE_TIMEOUT_MS 5000u
#define CONFIG_DEFAULT_P2P_RECONNECT_MIN_MS 100u
#define CONFIG_DEFAULT_P2P_RECONNECT_MAX_MS 10000u
#define CONFIG_DEFAULT_P2P_KEEPALIVE_MS 1000u
#define CONFIG_DEFAULT_P2P_IDLE_TIMEOUT_MS 10000u
#define CONFIG_DEFAULT_P2P_PENDING_MAX 64u            /* docs/NETWORK.md "Handshake budgets" */
#define CONFIG_DEFAULT_P2P_PENDING_PER_SOURCE_MAX 4u
#define CONFIG_DEFAULT_P2P_ACCEPTS_PER_TICK_MAX 32u
#define CONFIG_DEFAULT_API_ENABLED true
#define CONFIG_DEFAULT_API_MAX_BODY_BYTES (4u << 20)
#define CONFIG_DEFAULT_API_MAX_HEADER_BYTES (16u << 10)
#define CONFIG_DEFAULT_API_MAX_CONNECTIONS 1024u
#define CONFIG_DEFAULT_API_MAX_CONNECTIONS_PER_CLIENT 64u
#define CONFIG_DEFAULT_API_HEADER_TIMEOUT_MS 5000u
#define CONFIG_DEFAULT_API_REQUEST_TIMEOUT_MS 10000u
#define CONFIG_DEFAULT_API_WAIT_TIMEOUT_MS_MAX 60000u
#define CONFIG_DEFAULT_MEMPOOL_MAX_TXS 100000u
#define CONFIG_DEFAULT_MEMPOOL_MAX_BYTES (256ull << 20)
#define CONFIG_DEFAULT_BLOCK_MAX_BYTES QC_BLOCK_BYTES_MAX
#define CONFIG_DEFAULT_CATCHUP_BATCH_BLOCKS 64u
#define CONFIG_DEFAULT_CATCHUP_PEERS 3u
#define CONFIG_DEFAULT_CATCHUP_REQUEST_TIMEOUT_MS 5000u

/* Peer links (issue 4: authenticated, framed, bounded). */
typedef struct {
    char listen[CONFIG_ADDR_MAX + 1];  /* "" = this city's genesis p2p_address */
    uint32_t max_frame_bytes;          /* largest frame accepted or sent */
    uint64_t send_queue_bytes_max;     /* per peer; a slower peer is disconnected */
    uint32_t connect_timeout_ms;
    uint32_t handshake_timeout_ms;
    uint32_t reconnect_min_ms;         /* backoff starts here, doubles with jitter... */
    uint32_t reconnect_max_ms;         /* ...up to here */
    uint32_t keepalive_ms;             /* send a keepalive after this long without sending */
    uint32_t idle_timeout_ms;          /* drop a link silent this long (> keepalive_ms) */
    uint32_t pending_max;              /* inbound handshakes from outsiders, all together */
    uint32_t pending_per_source_max;   /* inbound handshakes from one source address */
    uint32_t accepts_per_tick_max;     /* connections accepted per loop iteration */
} config_p2p_t;

/* Client HTTP/JSON API (issue 5). Loopback by default. */
typedef struct {
    bool enabled;
    char listen[CONFIG_ADDR_MAX + 1];  /* "" = 127.0.0.1 on the port of the genesis api_address */
    uint32_t max_body_bytes;
    uint32_t max_header_bytes;
    uint32_t max_connections;
    uint32_t max_connections_per_client; /* from one address (IPv6: one /64) */
    uint32_t header_timeout_ms;        /* request head complete within this (408 beyond) */
    uint32_t request_timeout_ms;       /* a slow client is closed after this */
    uint32_t wait_timeout_ms_max;      /* longest long-poll a client may ask for */
} config_api_t;

typedef struct {
    uint32_t max_txs;
    uint64_t max_bytes;
} config_mempool_t;

/* What this node builds as primary. Tx count and interval come from the genesis consensus
 * parameters; max_txs here may only lower them (0 = the genesis value). */
typedef struct {
    uint32_t max_txs;
    uint32_t max_bytes;
} config_block_t;

/* Fetching missing blocks (issue 4, catch-up). */
typedef struct {
    uint32_t batch_blocks;             /* blocks per request */
    uint32_t peers;                    /* distinct peers asked in parallel */
    uint32_t request_timeout_ms;
} config_catchup_t;

typedef struct {
    /* The state map's memory (docs/MERKLE.md §8.4): 0 keeps it resident (all in memory, ~350
     * bytes per record, nothing on disk); N pages it to the ledger with N MiB cached. */
    uint32_t state_cache_mib;
} config_ledger_t;

/* Threads that verify signatures (docs/ARCHITECTURE.md "Threads"): transactions admitted from
 * peers and batches, a proposal's transactions, fetched blocks' certificates. 0 = one per
 * online core; 1 = none beside the loop thread. */
typedef struct {
    uint32_t workers;
} config_verify_t;

typedef struct {
    char city[QC_MEMBER_NAME_MAX + 1];               /* this node's member name */
    /* Paths: absolute after config_load (relative ones are resolved against the directory of
     * the config file); as given when a writer fills them. */
    char genesis_path[CONFIG_PATH_MAX];
    char key_paths[KEYS_ROLE_COUNT][CONFIG_PATH_MAX]; /* indexed by keys_role_t */
    char passphrase_file[CONFIG_PATH_MAX];            /* "" = use QCHAIN_PASSPHRASE */
    char data_dir[CONFIG_PATH_MAX];
    qc_log_level_t log_level;
    config_p2p_t p2p;
    config_api_t api;
    config_mempool_t mempool;
    config_block_t block;
    config_catchup_t catchup;
    config_ledger_t ledger;
    config_verify_t verify;
} config_t;

/* Fills every optional field with its default; city and genesis_path become "". Key paths
 * default to "keys/node.key", "keys/seal.key", "keys/admin.key". */
void config_defaults(config_t *c);

/* Strictly parses a config file's bytes: unknown keys, wrong types and out-of-range values are
 * QC_ERR_INVALID with a reason naming the key ("p2p.keepalive_ms: ..."). Relative paths are
 * joined to base_dir (NULL or "" leaves them as they are). */
int config_parse(const void *buf, size_t len, const char *base_dir, config_t *c, char *reason,
                 size_t reason_cap);
/* Reads path and parses it with base_dir = the absolute directory of path. The reason is
 * prefixed with the path. */
int config_load(const char *path, config_t *c, char *reason, size_t reason_cap);

/* Checks c against the genesis and completes it: a genesis member's index is stored in
 * *member_index (UINT32_MAX for a city that joined later, which must set both listen
 * addresses itself), empty listen addresses get their documented defaults, block.max_txs
 * 0 becomes the genesis value and may not exceed it, and the p2p frame must fit a full block. */
int config_apply_genesis(config_t *c, const genesis_t *g, uint32_t *member_index, char *reason,
                         size_t reason_cap);

/* Serialises every field of c (paths as stored) as indented JSON with a final newline; the
 * caller owns *out. Then writes it to path, mode 0644; exclusive refuses to replace a file. */
int config_encode(const config_t *c, char **out, size_t *len);
int config_write(const char *path, const config_t *c, bool exclusive, char *reason,
                 size_t reason_cap);

/* "debug", "info", "warn", "error", "off" <-> qc_log_level_t. */
const char *config_log_level_name(qc_log_level_t level);
int config_log_level_parse(const char *s, qc_log_level_t *out);

#endif
