/* vectors.h - builds the fixed sample objects whose bytes and hashes are published as test
 * vectors in docs/PROTOCOL.md; used by the vector printer and by test_fmt. */
#ifndef QC_VECTORS_H
#define QC_VECTORS_H

#include "clog.h"
#include "fmt.h"
#include "genesis.h"
#include "smap.h"

#define VECTORS_CHAIN_ID "shandong-circle-test"

typedef struct {
    qc_validator_set_t vs;   /* 4 members: jinan, zibo, taian, liaocheng; epoch 0 */
    qc_hash_t genesis_hash;  /* of vectors_genesis's file (§10.3's example genesis) */
    qc_tx_t tx;              /* ANCHOR by jinan's seal key, 2 records */
    qc_block_t block;        /* height 1 holding tx (tx owned by block) */
    qc_hash_t block_hash;
    qc_cert_t cert;          /* commit votes by validators 0,1,2 (quorum of 4 is 3) */
    qc_tx_t gov_propose;     /* GOVERN PROPOSE by jinan's admin key: add dezhou, threshold 4 */
    qc_tx_t gov_approve;     /* GOVERN APPROVE of it by zibo's admin key */
} vectors_t;

/* The genesis file of the vectors' chain (docs/PROTOCOL.md §10.3's example): the four
 * members of vs (set by testkeys) with display names and example.org addresses. Fills *g
 * (its hash over the written bytes); *json (malloc'd, owned by the caller) holds the file's
 * *len bytes. */
int vectors_genesis(genesis_t *g, char **json, size_t *len);
/* Builds everything deterministically; block 1's header carries vectors_genesis's hash.
 * Caller frees with vectors_free. */
int vectors_build(vectors_t *v);
/* Applies block b to the state map m and the city logs clogs (both owned by the caller and
 * carried from block to block: m from smap_mem_new, clogs zero-initialised before block 1)
 * as exec does (PROTOCOL §12.1, §13.2): each ANCHOR's records' fresh statuses (the first at
 * log index log_index, the record-log size before b), each transaction's events appended to
 * its signer's city log (the member of vs, the set in force at b, whose seal key signed it),
 * then one city-head update per city whose log grew. *root is the state root after b. b
 * holds only ANCHOR (or GOVERN/SHARE) transactions: a lifecycle transaction's status changes
 * need exec's lifecycle state, so it is refused (QC_ERR_INVALID), as is a signer not in vs.
 * QC_OK, or the error of the state map or city log code (m is then unchanged, but clogs may
 * hold part of b's events: discard them). */
int vectors_block_state(smap_mem_t *m, clog_set_t *clogs, const qc_block_t *b,
                        const qc_validator_set_t *vs, uint64_t log_index, qc_hash_t *root);
void vectors_free(vectors_t *v);
/* The status proof (docs/PROTOCOL.md §12) of digest as of block 1 of the vectors: its fresh
 * status if it is one of the transaction's two records, else an absence proof. *out owned
 * (statusproof_free). */
struct statusproof;
int vectors_status_proof(const vectors_t *v, const uint8_t digest[32], struct statusproof *out);
/* The status proof of digest as of block 1 as the text §12.4 prints (2-space indent, no final
 * newline); also the fuzz seeds of tests/fuzz/corpus/statusproof/. Caller frees; NULL on
 * failure. */
char *vectors_status_json(const vectors_t *v, const uint8_t digest[32]);
/* Prints the worked example of docs/PROTOCOL.md §12.4 (the status proofs of record 0 and of
 * the absent digest 77..77, with the intermediate values) as Markdown to file (a FILE *). */
void vectors_print_status(const vectors_t *v, void *file);
/* The absent digest of §12.4: 32 bytes of 0x77. */
#define VECTORS_ABSENT_BYTE 0x77
/* Prints the vectors as Markdown to f. */
void vectors_print(const vectors_t *v, void *file);
/* Prints "label:" and n bytes as a fenced block of 64 hex digits a line, as the vectors are
 * published (tests/check_vectors.py reads them back). file is a FILE *. */
void vectors_print_hex(void *file, const char *label, const uint8_t *p, size_t n);

#endif
