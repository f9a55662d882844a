/* fmt.h - qchain's canonical formats: the exact bytes of transactions, block headers, commit
 * votes, validator sets and record-log leaves that are hashed and signed, with one domain
 * separation context per kind, strict decoders, and the protobuf envelopes for wire/storage.
 *
 * Rule: every hashed or signed byte string is a fixed binary layout defined here and in
 * docs/PROTOCOL.md (big-endian integers, length-prefixed strings). protobuf (proto/qchain.proto)
 * only carries these byte strings and plain fields between nodes and on disk; nothing is ever
 * hashed over a protobuf encoding. */
#ifndef QC_FMT_H
#define QC_FMT_H

#include "qc.h"

#define QC_FMT_VERSION 1           /* transaction bodies */
#define QC_HEADER_VERSION 3        /* block headers (2: the genesis hash; 3: the state root) */
#define QC_CHAIN_ID_MAX 64         /* bytes; printable ASCII [A-Za-z0-9._-] */
#define QC_TX_RECORDS_MAX 1024     /* records in one ANCHOR transaction */
#define QC_RECORD_TYPE_MAX 32      /* bytes; [a-z0-9._-], non-empty */
#define QC_EXTREF_MAX 256          /* bytes of external reference; any UTF-8, may be empty */
#define QC_TX_BODY_BYTES_MAX (1u << 20)
#define QC_TX_TTL_BLOCKS_MAX 100000 /* expiry may be at most this far above the current height */
#define QC_BLOCK_TXS_MAX 8192
#define QC_BLOCK_BYTES_MAX (32u << 20)
#define QC_VALIDATORS_MAX 64
#define QC_MEMBER_NAME_MAX 32      /* bytes; [a-z0-9-], e.g. "jinan", "taian" */
#define QC_HEADER_BYTES_MAX 512

/* Domain separation contexts: each signed or hashed byte string starts with one of these
 * ASCII strings followed by one 0x00 byte. */
#define QC_CTX_TX_SIG "qchain/v1/tx-sig"
#define QC_CTX_TX_ID "qchain/v1/tx-id"
#define QC_CTX_TX_LEAF "qchain/v1/tx-leaf"
#define QC_CTX_RECORD_LEAF "qchain/v1/record-leaf"
#define QC_CTX_BLOCK "qchain/v1/block"
#define QC_CTX_COMMIT "qchain/v1/commit"
#define QC_CTX_CHECKPOINT "qchain/v1/checkpoint"
#define QC_CTX_VALIDATORS "qchain/v1/validators"
#define QC_CTX_GENESIS "qchain/v1/genesis"
#define QC_CTX_SALTED_RECORD "qchain/v1/salted-record"
#define QC_SALT_BYTES 32
#define QC_CTX_HANDSHAKE "qchain/v1/handshake"
#define QC_CTX_CONSENSUS "qchain/v1/consensus"
#define QC_CTX_RECORD_STATUS "qchain/v1/record-status"

typedef enum {
    QC_TX_ANCHOR = 1,   /* anchor 1..QC_TX_RECORDS_MAX record digests */
    QC_TX_GOVERN = 2,   /* membership proposals and votes, signed by a member's admin key */
    QC_TX_ENDORSE = 3,  /* another city countersigns an anchored record (docs/RECORDS.md) */
    QC_TX_REVOKE = 4,   /* the record's owner city revokes it */
    QC_TX_SUPERSEDE = 5,/* the owner city names a new record that replaces an old one */
    QC_TX_SHARE = 6,    /* the data-sharing trail: datasets, requests, answers, accesses */
} qc_tx_type_t;

/* Data-sharing trail (docs/RECORDS.md, PROTOCOL §3 and §5.2): the body of a SHARE transaction
 * after the common fields is one operation. Whether it is allowed on the chain's state is
 * node/share's business; the parser only decides whether its bytes are well-formed. */
#define QC_DATASET_NAME_MAX 64     /* bytes of a dataset name: UTF-8, no control characters */
#define QC_TERMS_MAX 512           /* bytes of terms text: UTF-8, may be empty */
#define QC_PURPOSE_MAX 256         /* bytes of a request's purpose text: UTF-8, may be empty */

typedef enum {
    QC_SHARE_DATASET = 1,       /* a city publishes a dataset descriptor */
    QC_SHARE_REQUEST = 2,       /* another city asks for a dataset */
    QC_SHARE_GRANT = 3,         /* the dataset's owner grants an open request */
    QC_SHARE_DENY = 4,          /* the dataset's owner denies an open request */
    QC_SHARE_ACCESS = 5,        /* the requester attests one use of a granted request */
} qc_share_op_kind_t;

typedef enum { QC_TERMS_TEXT = 1, QC_TERMS_DIGEST = 2 } qc_terms_kind_t;

/* One SHARE operation. Strings are NUL-terminated copies; fields of other ops are zero. */
typedef struct {
    uint8_t op;                 /* qc_share_op_kind_t */
    /* DATASET */
    char name[QC_DATASET_NAME_MAX + 1];         /* 1..QC_DATASET_NAME_MAX bytes */
    qc_hash_t schema;           /* digest of the dataset's schema */
    uint8_t terms_kind;         /* qc_terms_kind_t */
    char terms[QC_TERMS_MAX + 1];               /* TEXT: 0..QC_TERMS_MAX bytes */
    qc_hash_t terms_digest;     /* DIGEST: the digest of a terms document held off chain */
    /* REQUEST: the dataset's id; GRANT, DENY, ACCESS: the request's id */
    qc_hash_t ref;
    uint16_t code;              /* REQUEST: purpose (1..65535); DENY: reason (1..65535) */
    char purpose[QC_PURPOSE_MAX + 1];           /* REQUEST: 0..QC_PURPOSE_MAX bytes */
    uint64_t from_height;       /* REQUEST: accesses allowed in blocks from..until, */
    uint64_t until_height;      /*   1 <= from <= until */
    qc_hash_t digest;           /* ACCESS: digest of what the requester received */
} qc_share_op_t;

/* Record lifecycle (docs/RECORDS.md): the body of an ENDORSE, REVOKE or SUPERSEDE
 * transaction after the common fields. Whether it is allowed on the chain's state is
 * node/lifecycle's business; the parser only decides whether its bytes are well-formed. */
#define QC_NOTE_MAX 64             /* bytes of an endorsement's note: UTF-8, may be empty */

typedef struct {
    qc_hash_t digest;           /* ENDORSE, REVOKE: the record; SUPERSEDE: the old record */
    qc_hash_t new_digest;       /* SUPERSEDE: the record replacing it (distinct); else zero */
    uint16_t code;              /* ENDORSE: purpose, REVOKE: reason (1..65535); else 0 */
    uint8_t note_len;           /* ENDORSE: 0..QC_NOTE_MAX */
    char note[QC_NOTE_MAX + 1]; /* NUL-terminated copy */
} qc_life_op_t;

/* Whether type is one of the lifecycle transaction types (ENDORSE, REVOKE, SUPERSEDE). */
bool qc_tx_type_is_lifecycle(uint16_t type);

/* One anchored record. Pointers borrow from the owning qc_tx_t's body; not NUL-terminated. */
typedef struct {
    const uint8_t *digest;      /* 32 bytes: SHA-256 of the record held by the city */
    const char *type;           /* record type, e.g. "licence" */
    uint8_t type_len;
    const char *ext_ref;        /* the city's own reference, e.g. a document number */
    uint16_t ext_ref_len;
    const uint8_t *supersedes;  /* NULL, or 32 bytes: digest of a record this one replaces */
} qc_record_t;

/* Governance (docs/GOVERNANCE.md): a GOVERN transaction carries one operation. */
#define QC_GOV_CHANGES_MAX 8       /* changes in one proposal, applied together */
#define QC_DISPLAY_NAME_MAX 64     /* bytes of UTF-8, no control characters */
#define QC_ADDRESS_MAX 255         /* bytes of "host:port" */

typedef enum {
    QC_GOV_PROPOSE = 1,         /* open a proposal (counts as the proposer city's approval) */
    QC_GOV_APPROVE = 2,
    QC_GOV_REJECT = 3,
    QC_GOV_WITHDRAW = 4,        /* by the proposing city only */
} qc_gov_op_kind_t;

typedef enum {
    QC_CHANGE_ADD = 1,          /* a new member city, appended to the validator list */
    QC_CHANGE_REMOVE = 2,       /* the later members move down one index */
    QC_CHANGE_ROTATE = 3,       /* replace one of a member's keys, same index */
    QC_CHANGE_ADDRESSES = 4,    /* a member's p2p and API addresses */
    QC_CHANGE_THRESHOLD = 5,    /* admin approvals a proposal needs */
} qc_change_kind_t;

typedef enum { QC_ROLE_NODE = 1, QC_ROLE_SEAL = 2, QC_ROLE_ADMIN = 3 } qc_key_role_t;

/* One change of a proposal. Strings are NUL-terminated copies; unused fields are zero. */
typedef struct {
    uint8_t kind;               /* qc_change_kind_t */
    char name[QC_MEMBER_NAME_MAX + 1];          /* all but THRESHOLD */
    char display_name[QC_DISPLAY_NAME_MAX + 1]; /* ADD */
    qc_pubkey_t node_key, seal_key, admin_key;  /* ADD */
    uint8_t role;               /* ROTATE: qc_key_role_t */
    qc_pubkey_t new_key;        /* ROTATE */
    char p2p_address[QC_ADDRESS_MAX + 1];       /* ADD, ADDRESSES */
    char api_address[QC_ADDRESS_MAX + 1];       /* ADD, ADDRESSES */
    uint16_t threshold;         /* THRESHOLD */
} qc_change_t;

typedef struct {
    uint8_t op;                 /* qc_gov_op_kind_t */
    qc_hash_t proposal;         /* APPROVE, REJECT, WITHDRAW: the PROPOSE transaction's id */
    uint64_t vote_expiry_height;/* PROPOSE: void unless passed at or below this height */
    uint8_t change_count;       /* PROPOSE: 1..QC_GOV_CHANGES_MAX */
    qc_change_t changes[QC_GOV_CHANGES_MAX];
} qc_gov_op_t;

/* Whether s is a member name: 1..QC_MEMBER_NAME_MAX of [a-z0-9-], not starting or ending
 * with '-'. */
bool qc_member_name_valid(const char *s);

/* A decoded, signed transaction. Owns body (malloc'd), records (malloc'd) and gov. */
typedef struct {
    uint8_t *body;              /* canonical body bytes: exactly what is hashed and signed */
    size_t body_len;
    qc_sig_t sig;               /* Ed25519 by signer over QC_CTX_TX_SIG || 0 || body */
    qc_hash_t id;               /* SHA-256(QC_CTX_TX_ID || 0 || body) */
    /* parsed fields (views into body) */
    uint8_t version;
    uint16_t type;              /* qc_tx_type_t */
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_pubkey_t signer;         /* for ANCHOR: a member's seal key */
    uint64_t nonce;             /* unique per signer; replays are refused by tx id */
    uint64_t expiry_height;     /* not valid in any block above this height */
    uint32_t record_count;
    qc_record_t *records;
    qc_gov_op_t *gov;           /* GOVERN only (malloc'd), else NULL */
    qc_life_op_t *life;         /* ENDORSE, REVOKE, SUPERSEDE only (malloc'd), else NULL */
    qc_share_op_t *share;       /* SHARE only (malloc'd), else NULL */
} qc_tx_t;

/* Builds an ANCHOR transaction body incrementally. Owns a growing buffer. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    size_t count_offset;
    uint32_t record_count;
    int err;                    /* first error seen; later calls are no-ops */
} qc_txb_t;

int qc_txb_init(qc_txb_t *b, const char *chain_id, const qc_pubkey_t *signer, uint64_t nonce,
                uint64_t expiry_height);
/* Adds one record. type: 1..QC_RECORD_TYPE_MAX of [a-z0-9._-]; ext_ref: 0..QC_EXTREF_MAX
 * bytes (NULL means empty); supersedes may be NULL. */
int qc_txb_add_record(qc_txb_t *b, const qc_hash_t *digest, const char *type,
                      const char *ext_ref, const qc_hash_t *supersedes);
/* Signs with sk (whose public half must equal signer) and parses the result into *tx, which
 * the caller owns (qc_tx_free). Frees the builder's buffer in all cases. */
int qc_txb_finish(qc_txb_t *b, const qc_seckey_t *sk, qc_tx_t *tx);
void qc_txb_abort(qc_txb_t *b);

/* Builds, signs (sk's public half is the signer: an admin key) and parses a GOVERN
 * transaction carrying *op into *tx (caller owns; qc_tx_free). QC_ERR_INVALID if op is not
 * well-formed as docs/PROTOCOL.md §3 requires (the parser's own checks). */
int qc_gov_tx_build(const char *chain_id, const qc_seckey_t *sk, uint64_t nonce,
                    uint64_t expiry_height, const qc_gov_op_t *op, qc_tx_t *tx);

/* Builds, signs (sk's public half is the signer: a member's seal key) and parses a lifecycle
 * transaction of `type` (QC_TX_ENDORSE, QC_TX_REVOKE, QC_TX_SUPERSEDE) carrying *op into *tx
 * (caller owns; qc_tx_free). Only the fields of that type are encoded. QC_ERR_INVALID if op is
 * not well-formed as docs/PROTOCOL.md §3 requires (the parser's own checks). */
int qc_life_tx_build(const char *chain_id, uint16_t type, const qc_seckey_t *sk, uint64_t nonce,
                     uint64_t expiry_height, const qc_life_op_t *op, qc_tx_t *tx);

/* Builds, signs (sk's public half is the signer: a member's seal key) and parses a SHARE
 * transaction carrying *op into *tx (caller owns; qc_tx_free). Only the fields of op->op are
 * encoded. QC_ERR_INVALID if op is not well-formed as docs/PROTOCOL.md §3 requires. */
int qc_share_tx_build(const char *chain_id, const qc_seckey_t *sk, uint64_t nonce,
                      uint64_t expiry_height, const qc_share_op_t *op, qc_tx_t *tx);
/* "dataset", "request", "grant", "deny", "access", or "unknown". */
const char *qc_share_op_name(uint8_t op);
/* Named REQUEST purposes and DENY reasons of docs/RECORDS.md, or NULL for a code without a
 * name (still allowed). */
const char *qc_share_purpose_name(uint16_t purpose);
const char *qc_share_deny_name(uint16_t reason);

/* Strictly parses a canonical body (copied) and attaches sig. Does NOT verify the signature
 * (qc_tx_verify_sig does; nodes verify once on admission). Every byte must be accounted for;
 * any out-of-range, non-canonical or trailing byte is QC_ERR_INVALID. */
int qc_tx_parse(const uint8_t *body, size_t body_len, const qc_sig_t *sig, qc_tx_t *tx);
int qc_tx_verify_sig(const qc_tx_t *tx);
void qc_tx_free(qc_tx_t *tx);
/* Deep copy. */
int qc_tx_clone(const qc_tx_t *src, qc_tx_t *dst);
/* Leaf hash of a transaction in its block's tx tree:
 * MTH leaf over (QC_CTX_TX_LEAF || 0 || tx.id || tx.sig). */
void qc_tx_leaf_hash(const qc_tx_t *tx, qc_hash_t *out);
/* Protobuf SignedTx envelope (body, sig). encode: malloc'd *out owned by caller. */
int qc_tx_encode(const qc_tx_t *tx, uint8_t **out, size_t *len);
int qc_tx_decode(const uint8_t *buf, size_t len, qc_tx_t *tx);

/* Record-log leaf hash for record `index` of tx `tx_id` committed at block `height`:
 * MTH leaf over (QC_CTX_RECORD_LEAF || 0 || u64 height || tx_id || u16 index || digest). */
void qc_record_leaf_hash(uint64_t height, const qc_hash_t *tx_id, uint16_t index,
                         const uint8_t digest[32], qc_hash_t *out);

/* One member city of an epoch's validator set. */
typedef struct {
    char name[QC_MEMBER_NAME_MAX + 1];
    qc_pubkey_t node_key;       /* consensus votes and peer-link identity */
    qc_pubkey_t seal_key;       /* signs the city's transactions (records) */
    qc_pubkey_t admin_key;      /* signs governance */
} qc_member_t;

typedef struct {
    uint64_t epoch;
    uint32_t n;
    uint32_t governance_threshold; /* admin approvals needed for a membership change */
    qc_member_t members[QC_VALIDATORS_MAX]; /* index = validator index in this epoch */
} qc_validator_set_t;

/* Fault tolerance and quorum for n validators: f = floor((n-1)/3), q = ceil((n+f+1)/2). */
uint32_t qc_max_faulty(uint32_t n);
uint32_t qc_quorum(uint32_t n);
/* SHA-256(QC_CTX_VALIDATORS || 0 || u64 epoch || u16 n || u16 threshold ||
 *         n x (u8 name_len || name || node_key || seal_key || admin_key)). */
void qc_validators_hash(const qc_validator_set_t *vs, qc_hash_t *out);
/* Index of the member whose seal (resp. node) key is k, or -1. */
int qc_validators_find_seal(const qc_validator_set_t *vs, const qc_pubkey_t *k);
int qc_validators_find_node(const qc_validator_set_t *vs, const qc_pubkey_t *k);

/* Block header: fixed canonical layout (see docs/PROTOCOL.md). */
typedef struct {
    uint8_t version;            /* QC_HEADER_VERSION */
    char chain_id[QC_CHAIN_ID_MAX + 1];
    /* The chain's genesis hash (qc_hash_ctx(QC_CTX_GENESIS, the genesis file's bytes)): every
     * block commits to the whole genesis file, so two files differing by one byte are two
     * chains whose blocks, certificates and receipts never verify for each other. */
    qc_hash_t genesis_hash;
    uint64_t height;            /* genesis state is height 0; first block is 1 */
    qc_hash_t prev_hash;        /* hash of block height-1; zero for height 1 */
    uint64_t time_ms;           /* proposer's clock, Unix ms; never decreases along the chain */
    uint32_t proposer;          /* validator index of the primary that proposed it */
    uint64_t view;
    uint64_t epoch;
    qc_hash_t validators_hash;  /* qc_validators_hash of the epoch that commits this block */
    uint32_t tx_count;
    qc_hash_t tx_root;          /* RFC 6962 MTH over qc_tx_leaf_hash of the txs, in order */
    uint64_t log_size;          /* record-log size after this block */
    qc_hash_t log_root;         /* record-log root after this block */
    /* The state map's root after this block (docs/PROTOCOL.md §11, §12): every anchored
     * digest's record status, so a status, or a digest's absence, is provable as of here. */
    qc_hash_t state_root;
    /* The last block of an epoch: the validator set hash of the next epoch, which is in force
     * from the next block on (so the old epoch's certificate of this block certifies the
     * new set). All zero in every other block. */
    qc_hash_t next_validators_hash;
} qc_header_t;

int qc_header_encode(const qc_header_t *h, uint8_t *out, size_t cap, size_t *len);
/* Strict decode: QC_ERR_INVALID for any malformed byte, and for a header of another version
 * than QC_HEADER_VERSION (version 1 headers carry no genesis hash and are refused; callers
 * that report to people say so, see qc_header_version_why). */
int qc_header_decode(const uint8_t *buf, size_t len, qc_header_t *h);
/* If buf (len bytes) starts like a header of a version this build does not read, a sentence
 * saying so (static storage), else NULL: lets a decoder's caller tell "old format" from
 * "garbage". */
const char *qc_header_version_why(const uint8_t *buf, size_t len);
/* SHA-256(QC_CTX_BLOCK || 0 || canonical header). */
void qc_header_hash(const qc_header_t *h, qc_hash_t *out);

/* A block: header plus transactions (owned array of owned txs). */
typedef struct {
    qc_header_t header;
    uint32_t tx_count;
    qc_tx_t *txs;
} qc_block_t;

/* Computes header.tx_root over txs (does not touch other fields). */
int qc_block_tx_root(const qc_block_t *b, qc_hash_t *out);
/* Protobuf Block envelope. decode checks tx_count and tx_root against the header. */
int qc_block_encode(const qc_block_t *b, uint8_t **out, size_t *len);
int qc_block_decode(const uint8_t *buf, size_t len, qc_block_t *b);
void qc_block_free(qc_block_t *b);
/* Decodes only the header and transaction `index` of a protobuf Block (for lookups that need
 * one transaction of a large block): the header strictly, the tx count against it, the tx
 * strictly and with the header's chain id. Does NOT check the tx root (qc_block_decode does).
 * QC_ERR_RANGE if index >= tx_count; *tx owned by the caller on QC_OK. */
int qc_block_decode_tx(const uint8_t *buf, size_t len, uint32_t index, qc_header_t *hdr,
                       qc_tx_t *tx);

/* Commit certificate: >= qc_quorum(n) distinct validators' signatures, all in one view, over
 * the commit vote for (chain_id, epoch, height, view, block_hash). */
typedef struct {
    uint32_t validator;
    qc_sig_t sig;
} qc_vote_t;

typedef struct {
    uint64_t epoch, height, view;
    qc_hash_t block_hash;
    uint32_t vote_count;
    qc_vote_t votes[QC_VALIDATORS_MAX];
} qc_cert_t;

/* Commit vote bytes: QC_CTX_COMMIT || 0 || u8 len || chain_id || u64 epoch || u64 height ||
 * u64 view || block_hash. Returns the length written (<= 128). */
size_t qc_commit_vote_bytes(uint8_t out[128], const char *chain_id, uint64_t epoch,
                            uint64_t height, uint64_t view, const qc_hash_t *block_hash);
void qc_commit_vote_sign(qc_sig_t *sig, const qc_seckey_t *node_sk, const char *chain_id,
                         uint64_t epoch, uint64_t height, uint64_t view,
                         const qc_hash_t *block_hash);
/* Verifies a certificate for block_hash under vs (whose epoch must equal cert->epoch).
 * QC_OK, or an error with a sentence for a person in reason (may be NULL), e.g.
 * "signature by zibo's node key is invalid" or "5 valid signatures, quorum is 6". */
int qc_cert_verify(const qc_cert_t *cert, const char *chain_id, const qc_validator_set_t *vs,
                   const qc_hash_t *block_hash, char *reason, size_t reason_cap);
int qc_cert_encode(const qc_cert_t *c, uint8_t **out, size_t *len);
int qc_cert_decode(const uint8_t *buf, size_t len, qc_cert_t *c);

/* Ed25519 over (ctx || 0 || msg); the building block of every signature above. */
void qc_sign_ctx(qc_sig_t *sig, const qc_seckey_t *sk, const char *ctx, const void *msg,
                 size_t len);
int qc_verify_ctx(const qc_sig_t *sig, const qc_pubkey_t *pk, const char *ctx,
                  const void *msg, size_t len);
/* SHA-256(ctx || 0 || msg). */
void qc_hash_ctx(qc_hash_t *out, const char *ctx, const void *msg, size_t len);

/* Checks a chain id: 1..QC_CHAIN_ID_MAX of [A-Za-z0-9._-]. */
bool qc_chain_id_valid(const char *chain_id);

#endif
