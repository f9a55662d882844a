/* receiptfx.h - the receipt fixtures and tamper tables shared by tests/test_receipt.c and
 * bin/qchain_receiptcases (the cases web/verify.js must judge as the C verifier does): real
 * chains in a LevelDB store started from a real genesis file (so a verifier that takes the
 * file, not a validator set, checks the same receipts), receipts built from them by
 * api_build_receipt, JSON path helpers ("cert.votes[1].sig"), and the tables of tampers, each
 * with the outcome and reason receipt_from_json + receipt_verify must give.
 *
 * Typical use:
 *     receiptfx_t *f = receiptfx_chain();            // nine members, three blocks
 *     json_t *j = receiptfx_receipt(f, 2);           // the receipt of log index 2
 *     receiptfx_apply(f, j, &receiptfx_tampers[0]);  // tampered in place
 *     receiptfx_outcome_t got = receiptfx_judge(f, j, NULL, why, sizeof why, &res);
 *     json_decref(j);
 *     receiptfx_close(f);
 * Failures of the helpers themselves (a path the receipt lacks, a store error) are programmer
 * errors: QC_ASSERT, which stays on. */
#ifndef QC_RECEIPTFX_H
#define QC_RECEIPTFX_H

#include <jansson.h>

#include "chainbuilder.h"
#include "genesis.h"
#include "node.h"
#include "receipt.h"

#define RECEIPTFX_CHAIN "receipt-test"
#define RECEIPTFX_MEMBERS 9      /* quorum 6: the "5 valid signatures, quorum is 6" */
#define RECEIPTFX_LEAVES 9       /* record-log size after receiptfx_chain's three blocks */
/* The epoch chain (receiptfx_epoch_chain): six leaves; leaf 4, jinan's record 0 in block 5,
 * is in epoch 2, so its receipt carries two membership steps. */
#define RECEIPTFX_E_LEAVES 6
#define RECEIPTFX_E_LEAF_EPOCH2 4
/* Lengths of RECEIPTFX_CHAIN's canonical header and of a transaction body with one record
 * ("licence", "doc-0"): what flipping every byte of them counts. */
/* The end of the reason receipt_from_json gives for a missing field or one of the wrong type. */
#define RECEIPTFX_MISSING "is missing or has the wrong type"
#define RECEIPTFX_HEADER_LEN (2 + (sizeof RECEIPTFX_CHAIN - 1) + 272)
#define RECEIPTFX_BODY_ONE_LEN (4 + (sizeof RECEIPTFX_CHAIN - 1) + 98)

typedef struct {
    char dir[256];
    chainbuilder_t cb;
    node_t *node;                 /* api_build_receipt reads only its store and genesis */
    qc_validator_set_t vs;        /* the genesis validators (epoch 0) */
    qc_hash_t genesis_hash;       /* of genesis_json's bytes */
    char *genesis_json;           /* the genesis file (owned), as `qchain verify` reads it */
    size_t genesis_len;
    qc_hash_t digest[RECEIPTFX_LEAVES]; /* by log index */
    uint64_t height[RECEIPTFX_LEAVES];
    uint32_t city[RECEIPTFX_LEAVES];    /* signer's validator index */
    uint16_t rec_index[RECEIPTFX_LEAVES];
    uint64_t n_leaves;
} receiptfx_t;

/* A fixture with an empty store for RECEIPTFX_CHAIN whose genesis file lists
 * testkeys_validators(n, 0) (display names "City <i>", addresses 127.0.0.1:17000+i and
 * :18000+i). Free with receiptfx_close. */
receiptfx_t *receiptfx_open(uint32_t n);
/* Applies a block of txs signed by signers[i] with recs[i] records each (n <= 4). When next_n
 * is not zero (the set's size + 1) the block also carries the governance that adds testkeys
 * member n with the threshold testkeys_validators(next_n, epoch + 1) has, so it ends the
 * builder's epoch: the store puts that set in force from the next block. */
void receiptfx_add_block(receiptfx_t *f, const uint32_t *signers, const uint32_t *recs,
                         uint32_t n, uint32_t next_n);
/* Nine members. Block 1: jinan 1 record, zibo 3 (log size 4). Block 2: taian 2 (size 6).
 * Block 3: three single-record txs (size 9), so receipts at sizes 4, 6 and 9 cover complete
 * trees and right-edge paths. */
receiptfx_t *receiptfx_chain(void);
/* A four-member genesis; block 1 (jinan 1 record); block 2 ends epoch 0 and names five members
 * (dezhou joins; zibo 1 record); block 3 in epoch 1 (dezhou 1 record); block 4, empty, ends
 * epoch 1 and names six members; block 5 in epoch 2 (the sixth member 1 record, jinan 2).
 * Receipts of leaves 0 and 1 carry no membership, of leaf 2 one step, of leaves 3..5 two. */
receiptfx_t *receiptfx_epoch_chain(void);
void receiptfx_close(receiptfx_t *f);

/* The receipt of leaf log_index, from the store, as JSON (new reference). */
json_t *receiptfx_receipt(receiptfx_t *f, uint64_t log_index);

typedef enum {
    RECEIPTFX_AT_PARSE = 1,      /* receipt_from_json refuses it */
    RECEIPTFX_AT_VERIFY = 2,     /* receipt_verify refuses it */
    RECEIPTFX_VALID = 3,
} receiptfx_outcome_t;
extern const char *const receiptfx_outcome_names[4]; /* "parse failure", ... */

/* Parses and verifies j against f's genesis (and file_digest, may be NULL) as `qchain verify`
 * does; the stage reached, the reason in why (non-empty unless valid), the result in *res. */
receiptfx_outcome_t receiptfx_judge(const receiptfx_t *f, const json_t *j,
                                    const qc_hash_t *file_digest, char *why, size_t cap,
                                    receipt_result_t *res);
/* The same against any loaded genesis file g (borrowed). */
receiptfx_outcome_t receiptfx_judge_genesis(const genesis_t *g, const json_t *j,
                                            const qc_hash_t *file_digest, char *why, size_t cap,
                                            receipt_result_t *res);

/* JSON paths: "cert.votes[1].sig", "membership[0].members[4].node_key". get: borrowed, asserts
 * it exists; set: replaces (or, for a new object key, adds) the value, v stolen; del: removes. */
json_t *receiptfx_jget(json_t *root, const char *path);
void receiptfx_jset(json_t *root, const char *path, json_t *v);
void receiptfx_jdel(json_t *root, const char *path);
/* The bytes of the hex string at path (malloc'd, caller frees); setting hex from bytes; XOR of
 * byte `at` (negative: from the end) with mask. */
uint8_t *receiptfx_hex_get(json_t *root, const char *path, size_t *n);
void receiptfx_hex_set(json_t *root, const char *path, const uint8_t *b, size_t n);
void receiptfx_hex_flip(json_t *root, const char *path, long long at, uint8_t mask);

typedef enum {
    RECEIPTFX_FLIP,       /* XOR byte arg (negative: from the end) of hex field path with 0x01 */
    RECEIPTFX_ZERO,       /* set byte arg of hex field path to 0x00 */
    RECEIPTFX_ADD,        /* add arg to integer field path */
    RECEIPTFX_SET,        /* set path (a new key adds it) to the JSON text */
    RECEIPTFX_DEL,        /* remove path */
    RECEIPTFX_DUP,        /* append a copy of array element arg (-1: last) to array path */
    RECEIPTFX_HEX_CUT,    /* drop the last arg bytes of hex field path */
    RECEIPTFX_HEX_APPEND, /* append arg zero bytes to hex field path */
    RECEIPTFX_FN,         /* call fn */
} receiptfx_op_t;

typedef struct {
    const char *name;
    receiptfx_op_t op;
    const char *path;
    long long arg;
    const char *json;
    void (*fn)(receiptfx_t *f, json_t *root);
    receiptfx_outcome_t expect;
    const char *why;             /* substring of the reason; NULL when any reason will do */
} receiptfx_tamper_t;

/* Every field of a receipt of receiptfx_chain tampered in turn (its multi-record leaves). */
extern const receiptfx_tamper_t receiptfx_tampers[];
extern const size_t receiptfx_tampers_count;
/* The membership history of the receipt of RECEIPTFX_E_LEAF_EPOCH2 (receiptfx_epoch_chain)
 * tampered in turn. */
extern const receiptfx_tamper_t receiptfx_epoch_tampers[];
extern const size_t receiptfx_epoch_tampers_count;

/* Applies t to root in place. */
void receiptfx_apply(receiptfx_t *f, json_t *root, const receiptfx_tamper_t *t);

/* The edits (from, to) of the §10.3 example genesis file (receiptex) that change one unsigned
 * detail, the genesis time, a display name, an address or a consensus setting, and keep the
 * chain id and keys: each makes another chain, whose genesis file verifies none of the
 * example chain's receipts. */
#define RECEIPTFX_GENESIS_EDITS 4
extern const char *const receiptfx_genesis_edits[RECEIPTFX_GENESIS_EDITS][2];
/* A copy of text with its first `from` replaced by `to` (malloc'd; caller frees); asserts that
 * from occurs. */
char *receiptfx_replaced(const char *text, const char *from, const char *to);

/* Exhaustive tampering. A callback gets each tampered copy (variant, owned by the callee:
 * json_decref it), a phrase naming the change ("flip byte 3 of header", "without cert.view",
 * "tx.sig = 17") and whether the change removed an object member. */
typedef void (*receiptfx_variant_cb)(void *ctx, const char *what, json_t *variant, bool removed);
/* Visits every value inside v and then v itself, with its path below `path` ("cert.votes[0]"). */
void receiptfx_walk(json_t *v, const char *path, void (*visit)(void *ctx, const char *path,
                                                               json_t *value), void *ctx);
/* Every byte of the hex string at path flipped in a copy of genuine, one bit per byte, the bit
 * rotating with the position. Returns the number of bytes. */
size_t receiptfx_flip_each(json_t *genuine, const char *path, receiptfx_variant_cb cb, void *ctx);
/* Every value at or below path (not the root itself) given each other JSON type (null, true,
 * "x", 17, -3, 1.5, [], {}), and every object member there removed. */
void receiptfx_wrong_types(json_t *genuine, const char *path, receiptfx_variant_cb cb, void *ctx);

#endif
