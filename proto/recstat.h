/* recstat.h - the record status of docs/PROTOCOL.md §5.1: what the chain says about one
 * anchored digest (its owner city, its first anchoring, valid / revoked / superseded, the
 * records it replaced and its endorsements), with one canonical byte encoding and its hash,
 * so that the status can be stored, compared between nodes and later proven from an
 * authenticated map. The rules that change a status live in node/lifecycle. */
#ifndef QC_RECSTAT_H
#define QC_RECSTAT_H

#include "fmt.h"

#define QC_RECSTAT_VERSION 1
#define QC_ENDORSEMENTS_MAX 64     /* endorsements one record holds at most */
#define QC_SUPERSEDES_MAX 64       /* records one record replaces at most */
/* The longest canonical encoding: header, a state, 64 replaced digests, 64 endorsements. */
#define QC_RECSTAT_BYTES_MAX                                                               \
    (1 + 32 + 1 + QC_MEMBER_NAME_MAX + 8 + 32 + 8 + 1 + (8 + 32 + 32) + 1 +                \
     QC_SUPERSEDES_MAX * 32 + 1 + QC_ENDORSEMENTS_MAX * (1 + QC_MEMBER_NAME_MAX + 8 + 2 + 32))

typedef enum {
    QC_REC_VALID = 0,
    QC_REC_REVOKED = 1,
    QC_REC_SUPERSEDED = 2,
} qc_rec_state_t;

typedef struct {
    char city[QC_MEMBER_NAME_MAX + 1];
    uint64_t height;            /* block that committed the ENDORSE */
    uint16_t purpose;           /* 1..65535 */
    qc_hash_t tx_id;
} qc_endorsement_t;

typedef struct {
    qc_hash_t digest;
    char owner[QC_MEMBER_NAME_MAX + 1]; /* the city of the first anchoring */
    uint64_t first_height;      /* the first anchoring: block, transaction, record-log leaf */
    qc_hash_t first_tx_id;
    uint64_t first_log_index;
    uint8_t state;              /* qc_rec_state_t */
    /* REVOKED / SUPERSEDED: the block and transaction that did it; zero when VALID. */
    uint64_t state_height;
    qc_hash_t state_tx_id;
    uint16_t reason;            /* REVOKED: 1..65535 */
    qc_hash_t superseded_by;    /* SUPERSEDED: the replacing record */
    uint8_t supersedes_count;   /* records this one replaced, in the order it did */
    qc_hash_t supersedes[QC_SUPERSEDES_MAX];
    uint8_t endorsement_count;  /* in the order they were committed */
    qc_endorsement_t endorsements[QC_ENDORSEMENTS_MAX];
} qc_recstat_t;

/* The canonical encoding of *st into out (cap >= QC_RECSTAT_BYTES_MAX is always enough);
 * *len gets its length. QC_ERR_INVALID if *st is not something qc_recstat_decode accepts. */
int qc_recstat_encode(const qc_recstat_t *st, uint8_t *out, size_t cap, size_t *len);
/* Strict decoder: every rule of PROTOCOL §5.1 (names, codes, orders, distinctness, no
 * trailing bytes); QC_ERR_INVALID otherwise. */
int qc_recstat_decode(const uint8_t *buf, size_t len, qc_recstat_t *st);
/* H("qchain/v1/record-status" 0x00 || encoding): the value the state map will commit to. */
int qc_recstat_hash(const qc_recstat_t *st, qc_hash_t *out);

/* The status a record had as of block `height`, derived from its status *st as of a later (or
 * the same) block, since a status only ever grows (PROTOCOL §12.5): QC_ERR_NOTFOUND if the
 * first anchoring is after `height` (not yet anchored then); else *out is *st with the
 * revocation or supersession undone when it came after `height` (valid then) and only the
 * endorsements committed up to `height`. The records it replaced (supersedes) are kept as
 * they are: the status does not say when each was replaced (the old record's own status
 * does). out may be st. */
int qc_recstat_as_of(const qc_recstat_t *st, uint64_t height, qc_recstat_t *out);

/* The status a first anchoring gives a digest: valid, owned by `owner` (borrowed, copied),
 * first anchored at (height, tx_id, log_index), no endorsements, nothing replaced. Sets only
 * the fields the encoding of such a status reads (the arrays stay untouched at count 0). */
void qc_recstat_fresh(qc_recstat_t *st, const uint8_t digest[32], const char *owner,
                      uint64_t height, const qc_hash_t *tx_id, uint64_t log_index);
/* qc_recstat_hash of the fresh status qc_recstat_fresh describes, written and hashed
 * directly (one per anchored record: the state map's hot path; tests/test_fmt.c checks it
 * equals qc_recstat_hash for every member name length). owner must be a valid member name. */
void qc_recstat_fresh_hash(const uint8_t digest[32], const char *owner, uint64_t height,
                           const qc_hash_t *tx_id, uint64_t log_index, qc_hash_t *out);
/* H("qchain/v1/record-status" 0x00 || enc): qc_recstat_hash of an encoding already made. */
void qc_recstat_enc_hash(const uint8_t *enc, size_t len, qc_hash_t *out);

/* "valid", "revoked", "superseded". */
const char *qc_rec_state_name(uint8_t state);
/* Named codes of docs/RECORDS.md, or NULL for a code without a name (still allowed). */
const char *qc_purpose_name(uint16_t purpose);
const char *qc_reason_name(uint16_t reason);

#endif
