/* receiptex.h - the worked example receipt of docs/PROTOCOL.md §10, built deterministically on
 * the §8 test vectors: a genesis file for the vectors' four members, block 1 of §8, and a
 * block 2 that anchors three more records, so the example's audit path has a left sibling, a
 * right sibling and a right-edge subtree. Used by the example printer (bin/qchain_receiptex),
 * by test_receipt (which pins the document against it) and by fuzz_receipt (whose seeds are
 * receipts of this chain). */
#ifndef QC_RECEIPTEX_H
#define QC_RECEIPTEX_H

#include "genesis.h"
#include "receipt.h"
#include "vectors.h"

#define RECEIPTEX_LEAVES 5       /* record-log size after block 2 */
#define RECEIPTEX_LOG_INDEX 2    /* the example's record: block 2, record 0 */

typedef struct {
    vectors_t v;                 /* §8: the validator set, tx 1 and block 1 with its cert */
    genesis_t genesis;           /* epoch 0 = v.vs; hash over genesis_json's bytes */
    char *genesis_json;          /* the genesis file, owned */
    size_t genesis_len;
    qc_block_t block2;           /* height 2: one tx by jinan's seal key with 3 records */
    qc_hash_t block2_hash;
    qc_cert_t cert2;             /* votes by jinan, zibo, taian in view 1 */
    qc_hash_t leaves[RECEIPTEX_LEAVES];
} receiptex_t;

/* Builds everything. x is caller memory (large: heap it); free with receiptex_free. */
int receiptex_build(receiptex_t *x);
void receiptex_free(receiptex_t *x);

/* The receipt of record-log leaf log_index (0..RECEIPTEX_LEAVES-1) against the block that
 * committed it. Caller frees *out (receipt_free). */
int receiptex_receipt(const receiptex_t *x, uint64_t log_index, receipt_t *out);

/* The receipt of leaf log_index as the text the document prints (2-space indent, fields in
 * receipt_to_json order, final newline); also the fuzz seeds. Caller frees; NULL on OOM. */
char *receiptex_json(const receiptex_t *x, uint64_t log_index);

/* Prints the worked example (genesis file, receipt and every intermediate value) as the
 * Markdown of docs/PROTOCOL.md §10.3 to file (a FILE *). */
void receiptex_print(const receiptex_t *x, void *file);

#endif
