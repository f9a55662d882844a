/* cityproof.h - a city log completeness proof: the offline proof of every event (anchor,
 * endorse, revoke, supersede) one member city had between two heights, as of block H, so that
 * an auditor learns both what the city did and that nothing was left out. It holds a run of
 * consecutive leaves of the city's log with its bracketing leaves, the subtree hashes that
 * complete the log's tree around them, the state-map proof of the city's log head against the
 * state root in block H's header, that header's commit certificate and the membership history
 * needed to check the certificate from genesis. JSON form and verification:
 * docs/PROTOCOL.md §13. */
#ifndef QC_CITYPROOF_H
#define QC_CITYPROOF_H

#include <jansson.h>

#include "merkle.h"
#include "receipt.h"
#include "smt.h"

#define CITYPROOF_VERSION 1
#define CITYPROOF_LEAVES_MAX 100000 /* leaves one proof may carry (§13.3) */
#define CITYPROOF_HASHES_MAX 128    /* 2 x 64: the longest list of §13.4 step 5 */
#define CITYPROOF_DEPTH_MAX 64      /* recursion bound of the range walk (tree depth <= 63) */
#define QC_CITY_LEAF_BYTES 95       /* 20 context + 8 + 32 + 2 + 1 + 32 (§13.1) */

/* Event kinds of a city log leaf (§13.1). */
enum {
    QC_CITY_ANCHOR = 1,
    QC_CITY_ENDORSE = 2,
    QC_CITY_REVOKE = 3,
    QC_CITY_SUPERSEDE_OLD = 4,
    QC_CITY_SUPERSEDE_NEW = 5,
};

/* One leaf of a city log: the event's block height, transaction id, index within the
 * transaction (the record for an ANCHOR; 0 / 1 for SUPERSEDE's old / new), kind and digest. */
typedef struct {
    uint64_t height;
    qc_hash_t tx_id;
    uint16_t index;
    uint8_t kind;
    qc_hash_t digest;
} qc_city_leaf_t;

/* The leaf's data: "qchain/v1/city-leaf" 0x00 || u64 height || tx_id || u16 index ||
 * u8 kind || digest (kind is written as given; callers check it). */
void qc_city_leaf_data(const qc_city_leaf_t *l, uint8_t out[QC_CITY_LEAF_BYTES]);
/* The RFC 6962 leaf hash H(0x00 || data) of the leaf's data. */
void qc_city_leaf_hash(const qc_city_leaf_t *l, qc_hash_t *out);
/* The state-map key of city `name`'s log head: H("qchain/v1/city-key" 0x00 || str8 name).
 * name is at most 255 bytes (a member name is at most QC_MEMBER_NAME_MAX); longer is cut. */
void qc_city_key(const char *name, qc_hash_t *out);
/* The state-map value of a log head: H("qchain/v1/city-head" 0x00 || u64 size || root). */
void qc_city_head(uint64_t size, const qc_hash_t *root, qc_hash_t *out);
/* The JSON name of a kind ("anchor", "endorse", "revoke", "supersede-old",
 * "supersede-new"), or NULL for any other value. */
const char *qc_city_kind_name(uint8_t kind);
/* The kind named by name: QC_OK with *kind, or QC_ERR_INVALID (name is not one of the five). */
int qc_city_kind_parse(const char *name, uint8_t *kind);

/* §13.4 step 5: T(0, n) over a log of n leaves (1 <= n <= MERKLE_SIZE_MAX) whose leaves
 * [lo, lo + k) have the hashes leaf_hashes[0..k) (k may be 0; lo + k <= n), taking every
 * subtree that shares no leaf with them from hashes[0..hash_count) in the order of a
 * left-to-right walk. QC_OK with *root; QC_ERR_INVALID when the sizes are out of range, the
 * list runs short or is not used up. All pointers borrowed. */
int cityproof_range_root(const qc_hash_t *leaf_hashes, size_t k, uint64_t lo, uint64_t n,
                         const qc_hash_t *hashes, size_t hash_count, qc_hash_t *root);

typedef struct cityproof {
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_hash_t genesis_hash;
    char city[QC_MEMBER_NAME_MAX + 1];
    uint64_t from_height;        /* a */
    uint64_t to_height;          /* b */
    qc_header_t header;          /* block H: its state_root holds the city's log head */
    qc_cert_t cert;
    receipt_step_t *membership;  /* owned (malloc'd), as in receipt_t */
    size_t membership_len;
    uint64_t log_size;           /* N */
    qc_hash_t log_root;
    uint8_t *map_proof;          /* owned: the state-map proof of city_key(city) (§11.2) */
    size_t map_proof_len;
    uint64_t first_index;        /* lo: the log index of leaves[0] */
    qc_city_leaf_t *leaves;      /* owned (malloc'd; NULL when none) */
    size_t leaf_count;           /* k <= CITYPROOF_LEAVES_MAX */
    qc_hash_t *hashes;           /* owned (malloc'd; NULL when none) */
    size_t hash_count;           /* <= CITYPROOF_HASHES_MAX */
} cityproof_t;

/* What a valid completeness proof establishes: the leaves proof->leaves[first ..
 * first + count) are all of the city's events with from_height <= height <= to_height, in
 * order (count 0: it had none), as of block H. */
typedef struct {
    receipt_result_t block;      /* block H: height, time, signers, quorum, members, epoch
                                    (its city fields are unused) */
    size_t first;
    size_t count;
} cityproof_result_t;

/* Frees what p owns; *p is then zeroed. */
void cityproof_free(cityproof_t *p);
/* JSON form (new reference; NULL on allocation failure or an unencodable header). */
json_t *cityproof_to_json(const cityproof_t *p);
/* Strict parse: every member present with the right type and size, no unknown members (in
 * the proof and in each leaf), at most CITYPROOF_LEAVES_MAX leaves and CITYPROOF_HASHES_MAX
 * hashes, kinds among the five names, indexes u16. QC_OK with *p filled (cityproof_free), or
 * QC_ERR_INVALID / QC_ERR_NOMEM with a sentence in why; *p needs no freeing then. */
int cityproof_from_json(const json_t *j, cityproof_t *p, char *why, size_t why_cap);
/* Verifies p against the chain's genesis (§13.4 steps 1-5): the block as a receipt's block
 * (§10.2 steps 1-4), the range, the log head in the state map (or its absence when the log
 * is empty), the leaves and their brackets, and the log root. QC_OK with *out filled (nothing
 * to free), or an error and a sentence for a person in why (about 256 bytes).
 * Brackets (step 4): only the first leaf may have a height below from_height, and it must
 * when first_index > 0; only the last may have one above to_height, and it must when
 * first_index + k < log_size. A bracket may be the log's own first or last leaf (§13.3 takes
 * "the one just before / after" even there, and a range with no events of a city whose whole
 * log lies on both sides of it has no other proof), so step 4's "none does when first_index
 * is 0" (and "when first_index + k = N") is read as "only the bracket does". */
int cityproof_verify(const cityproof_t *p, const char *chain_id, const qc_hash_t *genesis_hash,
                     const qc_validator_set_t *genesis_vs, cityproof_result_t *out, char *why,
                     size_t why_cap);
/* Whether a verified proof (p with r from cityproof_verify) shows the city anchoring digest
 * in its range: an in-range leaf of kind anchor with that digest. false means it did not. */
bool cityproof_anchored(const cityproof_t *p, const cityproof_result_t *r,
                        const qc_hash_t *digest);

#endif
