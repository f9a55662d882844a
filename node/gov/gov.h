/* gov.h - the consortium's governance state machine: member cities' admins propose membership
 * changes (add, remove, rotate a key, move addresses, change the threshold), approve, reject or
 * withdraw them by GOVERN transactions, and a passed change becomes the next epoch's validator
 * set at the next checkpoint boundary. Pure and deterministic (no I/O, no clock): the store
 * runs it on every committed block, exec on every block it builds or checks, the mempool on
 * admission, so every honest node reaches the same state from the same blocks. The rules and
 * safety rails are specified in docs/GOVERNANCE.md. */
#ifndef QC_GOV_H
#define QC_GOV_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt.h"

#define GOV_PROPOSALS_MAX 8     /* open proposals at once */
#define GOV_VALIDATORS_MIN 4    /* PBFT needs n >= 3f + 1 with f >= 1 */
#define GOV_STATE_VERSION 1     /* of gov_encode's bytes */

/* What a member city publishes beside its keys: not hashed into the validator set (a
 * wrong address cannot forge anything: links authenticate by node key). */
typedef struct {
    char display_name[QC_DISPLAY_NAME_MAX + 1];
    char p2p_address[QC_ADDRESS_MAX + 1];
    char api_address[QC_ADDRESS_MAX + 1];
} gov_info_t;

typedef enum {
    GOV_OPEN = 0,
    GOV_PASSED = 1,       /* reached the threshold; waits for its checkpoint */
    GOV_ENACTED = 2,      /* its epoch is in force */
    GOV_REJECTED = 3,     /* too many rejections left it unable to pass */
    GOV_WITHDRAWN = 4,
    GOV_EXPIRED = 5,      /* its vote expiry height passed while it was open */
    GOV_SUPERSEDED = 6,   /* still open when another change took effect: propose it again */
} gov_status_t;

/* One proposal and its votes. Votes are bitmaps over the validator indices of `epoch`. */
typedef struct {
    qc_hash_t id;                     /* the PROPOSE transaction's id */
    uint64_t epoch;                   /* the epoch it was proposed (and is voted) in */
    uint32_t proposer;                /* validator index of the proposing city in `epoch` */
    uint64_t proposed_height;
    uint64_t vote_expiry_height;
    uint64_t approvals, rejections;
    uint8_t status;                   /* gov_status_t */
    uint64_t closed_height;           /* the block that passed or closed it (0 while open) */
    uint64_t effective_height;        /* PASSED/ENACTED: first block of the new epoch */
    uint8_t change_count;
    qc_change_t changes[QC_GOV_CHANGES_MAX];
} gov_proposal_t;

typedef struct {
    uint32_t checkpoint_interval;     /* from the genesis: epochs switch at its multiples */
    qc_validator_set_t vs;            /* the set in force for the next block */
    gov_info_t info[QC_VALIDATORS_MAX];
    bool waiting;                     /* a passed change waits for switch_height */
    uint64_t switch_height;           /* its last block of the current epoch */
    gov_proposal_t passed;            /* while waiting: that proposal */
    qc_validator_set_t next_vs;       /* while waiting: the set it makes */
    gov_info_t next_info[QC_VALIDATORS_MAX];
    uint32_t open_count;
    gov_proposal_t open[GOV_PROPOSALS_MAX];
} gov_state_t;

/* Called with each proposal whose record changed (opened, voted, passed, closed, enacted);
 * the store keeps them for the API. p is borrowed for the call. */
typedef void (*gov_record_cb)(void *ctx, const gov_proposal_t *p);

/* The genesis state: vs (epoch 0, with its threshold) and info[0..vs->n). */
void gov_init(gov_state_t *g, const qc_validator_set_t *vs, const gov_info_t *info,
              uint32_t checkpoint_interval);

/* Whether GOVERN transaction tx may be committed in block `height` on state g (signature
 * already verified or to be verified by the caller). QC_OK, or: QC_ERR_MEMBER (not signed by
 * an admin key in force; WITHDRAW: not the proposer's), QC_ERR_STATE (a safety rail, or a
 * change is waiting for its epoch), QC_ERR_NOTFOUND (no such open proposal),
 * QC_ERR_EXPIRED (its vote expiry passed), QC_ERR_DUPLICATE (this city voted already),
 * QC_ERR_FULL (GOV_PROPOSALS_MAX open), QC_ERR_INVALID (malformed for this state). *why gets
 * a sentence an admin can act on. */
int gov_check(const gov_state_t *g, const qc_tx_t *tx, uint64_t height, char *why, size_t cap);

/* Applies tx, for which gov_check returned QC_OK on g at `height`. rec may be NULL. */
void gov_apply(gov_state_t *g, const qc_tx_t *tx, uint64_t height, gov_record_cb rec, void *ctx);

/* After every transaction of block `height`: closes open proposals whose vote expiry is
 * reached, and when a passed change's switch height is reached, makes its set the one in force
 * (epoch + 1; the other open proposals are superseded). Returns true in that case, with
 * *next_hash the new set's hash (the block header's next_validators_hash); else zeroes it.
 * *changed (may be NULL) is set when anything changed. */
bool gov_end_block(gov_state_t *g, uint64_t height, qc_hash_t *next_hash, bool *changed,
                   gov_record_cb rec, void *ctx);

/* The validator set that results from applying changes to (vs, info) (epoch unchanged), or an
 * error with a sentence in why: the checks of gov_check's PROPOSE that concern the set. */
int gov_result(const qc_validator_set_t *vs, const gov_info_t *info, const qc_change_t *changes,
               uint8_t count, qc_validator_set_t *out_vs, gov_info_t *out_info, char *why,
               size_t cap);

/* The open proposal with id, or NULL. */
const gov_proposal_t *gov_find_open(const gov_state_t *g, const qc_hash_t *id);

/* Serialisation for the store (docs/STORAGE.md): *out malloc'd, caller owns. */
int gov_encode(const gov_state_t *g, uint8_t **out, size_t *len);
int gov_decode(const uint8_t *buf, size_t len, gov_state_t *g);
/* One proposal record (the store's per-proposal history). */
int gov_proposal_encode(const gov_proposal_t *p, uint8_t **out, size_t *len);
int gov_proposal_decode(const uint8_t *buf, size_t len, gov_proposal_t *p);

const char *gov_status_name(uint8_t status);
const char *gov_change_kind_name(uint8_t kind);
const char *gov_role_name(uint8_t role);

#endif
