/* share.h - the data-sharing trail of docs/RECORDS.md (datasets, requests, their answers and
 * the accesses attested under a grant): the rules of SHARE transactions, applied in block
 * order to an overlay of the sharing state over a lookup of the state before. exec uses it to
 * build and check blocks, the mempool to admit transactions against the ledger head, the
 * store to compute what it writes with a block, and the node to see through pending blocks.
 *
 * The sharing state is a map from keys to values whose layouts are below (docs/STORAGE.md
 * "Data-sharing trail"); the store keeps each key as it is, so the first byte is a store key
 * family. Only SHARE transactions read or change it: blocks without one cost nothing here. */
#ifndef QC_SHARE_H
#define QC_SHARE_H

#include "sharestat.h"

#define SH_KEY_MAX (1 + 1 + QC_MEMBER_NAME_MAX + 1 + QC_DATASET_NAME_MAX) /* the longest: 'N' */
#define SH_REQUESTS_MAX 65536u     /* requests one dataset holds at most */
#define SH_ACCESSES_MAX 65536u     /* accesses one request records at most */

/* Key families (first key byte). */
enum {
    SH_DATASET = 'D',  /* 'D' dataset id                     -> dataset */
    SH_NAME = 'N',     /* 'N' str8 owner str8 name           -> dataset id (32 bytes) */
    SH_REQUEST = 'Q',  /* 'Q' request id                     -> request */
    SH_TRAIL = 'I',    /* 'I' dataset id u32 seq             -> request id: its requests in order */
    SH_ACCESS = 'A',   /* 'A' request id u32 seq             -> access */
    SH_OPEN = 'O',     /* 'O' u8 role str8 city request id   -> "" : an open request */
};
#define SH_ROLE_TO 't'   /* SH_OPEN: requests to the city (on its datasets) */
#define SH_ROLE_FROM 'f' /* SH_OPEN: requests the city made */

/* Key builders: write into k (SH_KEY_MAX bytes) and return the key's length. */
size_t sh_key_dataset(uint8_t *k, const uint8_t id[32]);
size_t sh_key_name(uint8_t *k, const char *owner, const char *name);
size_t sh_key_request(uint8_t *k, const uint8_t id[32]);
size_t sh_key_trail(uint8_t *k, const uint8_t dataset[32], uint32_t seq);
size_t sh_key_access(uint8_t *k, const uint8_t request[32], uint32_t seq);
size_t sh_key_open(uint8_t *k, uint8_t role, const char *city, const uint8_t request[32]);

/* The value of key k in the state the overlay starts from, copied into val (SH_VALUE_MAX
 * bytes) with *vlen its length: QC_OK, QC_ERR_NOTFOUND, or another error (QC_ERR_IO,
 * QC_ERR_CORRUPT) that the overlay's callers pass on. */
typedef int (*sh_lookup_fn)(void *ctx, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen);

typedef struct {
    uint8_t key[SH_KEY_MAX];
    uint8_t klen;              /* 0: unused slot */
    bool present;              /* the key has a value after what was applied */
    bool dirty;                /* set or deleted here */
    uint8_t *val;              /* malloc'd value when present */
    size_t vlen;
} sh_entry_t;

/* The sharing state after the transactions applied so far. Owns its table and values. */
typedef struct {
    sh_lookup_fn lookup;       /* NULL: the state before is empty */
    void *lookup_ctx;
    sh_entry_t *tab;           /* open addressing by key; cap a power of two, at most half used */
    size_t cap, n;
} sh_state_t;

/* Starts an empty overlay over lookup (borrowed). sh_free releases it. */
void sh_init(sh_state_t *s, sh_lookup_fn lookup, void *ctx);
void sh_free(sh_state_t *s);

/* Checks tx against the state so far and, if allowed, applies it as block `height`'s
 * transaction signed by a seal key of vs (borrowed). Transactions other than SHARE: nothing.
 * Refused: QC_ERR_STATE (or QC_ERR_MEMBER for a signer that is no member's seal key) with a
 * sentence in why (may be NULL), and nothing changes; QC_ERR_NOMEM, or the lookup's error. */
int sh_apply(sh_state_t *s, const qc_tx_t *tx, const qc_validator_set_t *vs, uint64_t height,
             char *why, size_t why_cap);

/* The value of key k after what was applied (as sh_lookup_fn). */
int sh_get(sh_state_t *s, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen);
/* Decoded dataset / request after what was applied: QC_OK, QC_ERR_NOTFOUND, QC_ERR_CORRUPT
 * or the lookup's error. */
int sh_get_dataset(sh_state_t *s, const uint8_t id[32], sh_dataset_t *out);
int sh_get_request(sh_state_t *s, const uint8_t id[32], sh_request_t *out);

/* The value of key k (as sh_get) in the state that the SHARE transactions of blocks[0..n)
 * (oldest first; blocks[i] committed under the validator set vs[i]; each block validated on
 * the state the ones before it leave) make of the state lookup gives: how a node sees through
 * its pending blocks. Costs one application of their SHARE transactions, none for other
 * transactions. A refusal there is QC_ERR_CORRUPT (the blocks were validated). */
int sh_get_after(sh_lookup_fn lookup, void *ctx, const qc_block_t *const *blocks,
                 const qc_validator_set_t *const *vs, size_t n, const uint8_t *k, size_t klen,
                 uint8_t *val, size_t *vlen);

/* Calls cb for every key the applied transactions set (val != NULL) or deleted (val NULL),
 * in table order. Stops at and returns cb's first error. */
int sh_each_changed(const sh_state_t *s,
                    int (*cb)(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val,
                              size_t vlen),
                    void *ctx);
/* Forgets which keys changed (their values stay in the overlay): after a block's are written. */
void sh_clear_changed(sh_state_t *s);

#endif
