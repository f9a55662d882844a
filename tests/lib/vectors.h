/* vectors.h - builds the fixed sample objects whose bytes and hashes are published as test
 * vectors in docs/PROTOCOL.md; used by the vector printer and by test_fmt. */
#ifndef QC_VECTORS_H
#define QC_VECTORS_H

#include "fmt.h"
#include "genesis.h"

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
void vectors_free(vectors_t *v);
/* Prints the vectors as Markdown to f. */
void vectors_print(const vectors_t *v, void *file);
/* Prints "label:" and n bytes as a fenced block of 64 hex digits a line, as the vectors are
 * published (tests/check_vectors.py reads them back). file is a FILE *. */
void vectors_print_hex(void *file, const char *label, const uint8_t *p, size_t n);

#endif
