/* wire.h - the messages city nodes exchange over peer links (proto/wire.proto): PBFT messages
 * (with the proposed block attached to PRE-PREPARE), transaction gossip, block fetches for
 * catch-up, and proposal bodies by digest. Decoding is strict and bounded: anything malformed
 * is refused here, before the consensus core or the ledger sees it. Also the canonical bytes
 * that consensus signatures cover, and the Ed25519 sign/verify callbacks given to the core. */
#ifndef QC_WIRE_H
#define QC_WIRE_H

#include "fmt.h"
#include "pbft.h"
#include "store.h"

#define WIRE_BLOCKS_MAX 32 /* blocks in one Blocks reply */
#define WIRE_MISSING_MAX 256 /* transaction ids in one BodyRequest */

typedef enum {
    WIRE_CONSENSUS = 1,
    WIRE_TX = 2,
    WIRE_FETCH = 3,
    WIRE_BLOCKS = 4,
    WIRE_BODY_REQUEST = 5,
    WIRE_BODY = 6,
    WIRE_NOTE_SIG = 7,
} wire_kind_t;

/* A validator's signature over the checkpoint note after block `height` (node/notes.h). */
typedef struct {
    uint64_t height;                 /* >= 1 */
    uint64_t log_size;               /* <= MERKLE_SIZE_MAX */
    qc_hash_t root;
    qc_sig_t sig;
} wire_note_sig_t;

/* Storage that decoded VIEW-CHANGE / NEW-VIEW / COMMIT-CERT / CHECKPOINT-CERT bodies point
 * into (about 350 KB): allocate once per node and reuse; a decoded message is valid until the
 * next decode into it. */
typedef struct {
    pbft_view_change_t vc;
    pbft_view_change_t nv_vcs[PBFT_Q_MAX];
    pbft_new_view_t nv;
    pbft_commit_cert_t cert;
    pbft_checkpoint_cert_t ckpt;
} wire_scratch_t;

typedef struct {
    wire_kind_t kind;
    pbft_msg_t consensus;            /* CONSENSUS; vc/nv/cert/ckpt point into the scratch */
    const uint8_t *bytes;            /* CONSENSUS: attached block (may be len 0); TX: SignedTx;
                                        BODY: Block. Borrowed from the message. */
    size_t len;
    const uint8_t *compact;          /* CONSENSUS (PRE-PREPARE) and BODY: a CompactBlock
                                        instead of the block (compact.h), or NULL. Borrowed. */
    size_t compact_len;
    qc_hash_t digest;                /* BODY_REQUEST */
    uint32_t missing_count;          /* BODY_REQUEST: ids the asker lacks (<= WIRE_MISSING_MAX) */
    const uint8_t *missing[WIRE_MISSING_MAX]; /* 32 bytes each, borrowed */
    uint64_t from_height;            /* FETCH */
    uint32_t max;                    /* FETCH */
    uint64_t head_height;            /* BLOCKS */
    uint64_t head_view;              /* BLOCKS: the sender's view */
    uint32_t head_peers_up;          /* BLOCKS: its links up; 0 = not said (an older build) */
    uint32_t block_count;            /* BLOCKS */
    const uint8_t *blocks[WIRE_BLOCKS_MAX];
    size_t block_lens[WIRE_BLOCKS_MAX];
    const uint8_t *certs[WIRE_BLOCKS_MAX];
    size_t cert_lens[WIRE_BLOCKS_MAX];
    wire_note_sig_t note_sig;        /* NOTE_SIG */
    void *pb;                        /* owned decoded envelope; wire_msg_free releases it */
} wire_msg_t;

/* Decodes one frame. QC_OK, or QC_ERR_INVALID for anything malformed (unknown kind, wrong
 * lengths, counts over the core's limits, replica indexes out of range, a consensus body
 * missing from the type that needs it or present on another, a CHECKPOINT-CERT without
 * signatures or whose height and digest differ from the header's). On QC_OK the caller must
 * wire_msg_free(out); on error nothing needs freeing. */
int wire_decode(const uint8_t *buf, size_t len, wire_scratch_t *scratch, wire_msg_t *out);
void wire_msg_free(wire_msg_t *m);

/* Encoders: *out is malloc'd and owned by the caller. */
/* block: the PRE-PREPARE's whole block, or compact: its CompactBlock (at most one; both may be
 * NULL / 0). */
int wire_encode_consensus(const pbft_msg_t *m, const uint8_t *block, size_t block_len,
                          const uint8_t *compact, size_t compact_len, uint8_t **out, size_t *len);
int wire_encode_tx(const uint8_t *tx, size_t tx_len, uint8_t **out, size_t *len);
int wire_encode_fetch(uint64_t from_height, uint32_t max, uint8_t **out, size_t *len);
/* The sender's own state a BLOCKS reply carries besides the blocks. */
typedef struct {
    uint64_t height;   /* its ledger head */
    uint64_t view;     /* its consensus view */
    uint32_t peers_up; /* its authenticated peer links */
} wire_head_t;
int wire_encode_blocks(uint32_t n, const uint8_t *const *blocks, const size_t *block_lens,
                       const uint8_t *const *certs, const size_t *cert_lens,
                       const wire_head_t *head, uint8_t **out, size_t *len);
/* missing: ids of the block's transactions the asker lacks (count <= WIRE_MISSING_MAX; 0: the
 * whole block). */
int wire_encode_body_request(const qc_hash_t *digest, const qc_hash_t *missing, uint32_t count,
                             uint8_t **out, size_t *len);
/* block: the whole block, or compact: a CompactBlock (exactly one). */
int wire_encode_body(const uint8_t *block, size_t block_len, const uint8_t *compact,
                     size_t compact_len, uint8_t **out, size_t *len);
int wire_encode_note_sig(const wire_note_sig_t *ns, uint8_t **out, size_t *len);

#define WIRE_EPOCH_CACHE 4 /* older epochs whose node keys wire_verify_cb keeps */

/* One epoch's node keys by replica index, as wire_verify_cb caches them. */
typedef struct {
    bool valid;
    uint64_t epoch;
    uint32_t n;
    qc_pubkey_t node_keys[QC_VALIDATORS_MAX];
} wire_epoch_keys_t;

/* The signing context the consensus core's callbacks use. A statement is verified under the
 * validator set of the epoch it names (stmt->epoch): the newest epoch's straight from the
 * validators table (the hot path), an older one from the store, read once and then kept in a
 * small cache (the sets of past epochs never change), a newer or unknown one not at all. */
typedef struct {
    const char *chain_id;                /* borrowed */
    const qc_validator_set_t *validators;/* borrowed: the newest epoch's set (the store's head
                                            epoch), node keys by replica index */
    store_t *store;                      /* borrowed: older epochs' sets; NULL = none known */
    qc_seckey_t node_sk;                 /* own node key (copy; wiped by wire_crypto_wipe) */
    wire_epoch_keys_t cache[WIRE_EPOCH_CACHE]; /* older epochs, replaced round robin */
    uint32_t cache_next;
    uint64_t epoch_reads;                /* store reads for older epochs (cache misses) */
} wire_crypto_t;

/* Fills c: chain_id, validators and store borrowed for c's life, node_sk copied; empty cache. */
void wire_crypto_init(wire_crypto_t *c, const char *chain_id,
                      const qc_validator_set_t *validators, store_t *store,
                      const qc_seckey_t *node_sk);

#define WIRE_STMT_BYTES_MAX 192
/* Canonical bytes of a statement and its context (docs/PROTOCOL.md §9): COMMIT uses the
 * commit vote (so commit certificates are block certificates), CHECKPOINT its own context,
 * everything else "qchain/v1/consensus" with the type first. Returns the length. */
size_t wire_stmt_bytes(const pbft_stmt_t *s, const char *chain_id,
                       uint8_t out[WIRE_STMT_BYTES_MAX], const char **ctx);
/* pbft_sign_cb / pbft_verify_cb; ctx is a wire_crypto_t. wire_verify_cb is false for a replica
 * index outside the named epoch's set and for an epoch this node does not know. */
void wire_sign_cb(void *ctx, const pbft_stmt_t *stmt, qc_sig_t *sig);
bool wire_verify_cb(void *ctx, const pbft_stmt_t *stmt, const qc_sig_t *sig);
void wire_crypto_wipe(wire_crypto_t *c);

/* Converts the core's commit certificate into the ledger's. */
void wire_cert_from_pbft(const pbft_commit_cert_t *in, qc_cert_t *out);

#endif
