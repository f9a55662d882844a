/* genesis.h - the chain's genesis file: chain id, the epoch-0 member cities with their keys and
 * addresses, consensus parameters and the governance threshold, loaded strictly and written
 * canonically. The format, field by field, is in docs/GENESIS.md.
 *
 * The genesis hash is qc_hash_ctx(QC_CTX_GENESIS, the file's exact bytes): auditors and nodes
 * identify the chain by it, so a loaded genesis is never re-serialised before hashing. */
#ifndef QC_GENESIS_H
#define QC_GENESIS_H

#include "fmt.h"
#include "jsonv.h"
#include "keys.h"

#define GENESIS_VERSION 1
#define GENESIS_FILE_BYTES_MAX (1u << 20)
#define GENESIS_MEMBERS_MIN 4               /* PBFT needs n >= 3f+1 with f >= 1 */
#define GENESIS_DISPLAY_NAME_MAX 64         /* bytes of UTF-8, e.g. "Jinan 济南" */
#define GENESIS_ADDR_MAX JSONV_ADDR_MAX

/* Consensus parameter limits (inclusive) enforced by the loader. */
#define GENESIS_CHECKPOINT_INTERVAL_MAX 100000u
#define GENESIS_WINDOW_MAX 1000000u
#define GENESIS_VIEW_TIMEOUT_MS_MIN 50u
#define GENESIS_VIEW_TIMEOUT_MS_MAX 600000u
#define GENESIS_BLOCK_INTERVAL_MS_MAX 60000u

/* Defaults the writers (qchain genesis, qchain testnet) use when not told otherwise. */
#define GENESIS_DEFAULT_CHECKPOINT_INTERVAL 8u
#define GENESIS_DEFAULT_WINDOW 16u
#define GENESIS_DEFAULT_VIEW_TIMEOUT_MS 2000u
#define GENESIS_DEFAULT_BLOCK_MAX_TXS 1024u
#define GENESIS_DEFAULT_BLOCK_INTERVAL_MS 25u

/* Consensus parameters every node must agree on (hence in the genesis, not node configs). */
typedef struct {
    uint32_t checkpoint_interval; /* blocks between PBFT checkpoints (paper §4.3, "K") */
    uint32_t window;              /* high watermark - low watermark, in heights (paper §4.2,
                                     "L"); at least 2 * checkpoint_interval */
    uint32_t view_timeout_ms;     /* a backup starts a view change after this long without
                                     progress on a request it knows (paper §4.4) */
    uint32_t block_max_txs;       /* 1..QC_BLOCK_TXS_MAX transactions in a block */
    uint32_t block_interval_ms;   /* the primary cuts a non-full block after this long */
} genesis_consensus_t;

/* What the genesis says about a member beyond its keys (which are in validators). */
typedef struct {
    char display_name[GENESIS_DISPLAY_NAME_MAX + 1]; /* for people, e.g. "Tai'an 泰安" */
    char p2p_address[GENESIS_ADDR_MAX + 1];          /* "host:port" peers connect to */
    char api_address[GENESIS_ADDR_MAX + 1];          /* "host:port" clients use */
} genesis_member_info_t;

typedef struct {
    uint32_t version;
    char chain_id[QC_CHAIN_ID_MAX + 1];
    uint64_t genesis_time_ms;               /* Unix ms; the time of height 0 */
    qc_validator_set_t validators;          /* epoch 0; n, names, keys, governance threshold */
    genesis_member_info_t info[QC_VALIDATORS_MAX]; /* info[i] belongs to validators.members[i] */
    genesis_consensus_t consensus;
    qc_hash_t hash;                         /* of the exact bytes parsed or written */
} genesis_t;

/* Starts a genesis for the writer: version 1, chain_id, time, no members, default consensus
 * parameters, threshold 0 (genesis_add_member then genesis_encode fill in the rest). */
void genesis_init(genesis_t *g, const char *chain_id, uint64_t genesis_time_ms);
/* Appends a member. Strings are copied; over-long ones are QC_ERR_INVALID, a full set is
 * QC_ERR_FULL. Validation of the whole set happens in genesis_encode / genesis_parse. */
int genesis_add_member(genesis_t *g, const char *name, const char *display_name,
                       const qc_pubkey_t *node_key, const qc_pubkey_t *seal_key,
                       const qc_pubkey_t *admin_key, const char *p2p_address,
                       const char *api_address);

/* Strictly parses a genesis file's bytes into *g and sets g->hash over exactly those bytes.
 * Every field is type-checked, unknown fields and duplicate names, keys or addresses are
 * refused; reason (may be NULL) names the field, e.g. "members[3].node_key: expected 64 hex
 * chars". QC_ERR_INVALID for any content error. */
int genesis_parse(const void *buf, size_t len, genesis_t *g, char *reason, size_t reason_cap);
/* Reads and parses path; the reason is prefixed with the path. */
int genesis_load(const char *path, genesis_t *g, char *reason, size_t reason_cap);

/* Serialises g as the canonical genesis JSON (2-space indent, fields in documented order, a
 * final newline), checks the result with genesis_parse (so an invalid genesis is never
 * produced), and sets g->hash. The caller owns *out (free). If a threshold of 0 was left by
 * genesis_init, it becomes qc_quorum(n) first. */
int genesis_encode(genesis_t *g, char **out, size_t *len, char *reason, size_t reason_cap);
/* genesis_encode, then writes path (mode 0644); exclusive refuses to replace a file. */
int genesis_write(const char *path, genesis_t *g, bool exclusive, char *reason,
                  size_t reason_cap);

/* Member index's key for role (KEYS_ROLE_NODE/SEAL/ADMIN); borrowed from g. */
const qc_pubkey_t *genesis_member_key(const genesis_t *g, uint32_t index, keys_role_t role);
/* Index of the member called name, or -1. */
int genesis_find_member(const genesis_t *g, const char *name);
/* True for a member name: 1..QC_MEMBER_NAME_MAX of [a-z0-9-], not starting or ending in '-'. */
bool genesis_name_valid(const char *name);

#endif
