/* receiptex.h - the worked example receipts of docs/PROTOCOL.md §10, built deterministically on
 * the §8 test vectors: a genesis file for the vectors' four members, block 1 of §8, and a
 * block 2 that anchors three more records, so the §10.3 example's audit path has a left
 * sibling, a right sibling and a right-edge subtree; then (§10.4) an empty block 3 that ends
 * epoch 0 by naming a five-member set (dezhou joins) in next_validators_hash, and a block 4
 * in epoch 1 in which dezhou anchors a record, certified by the new set. Every header's state
 * root is the node's (record statuses and city-log heads, vectors_block_state). Used by the
 * example printer (bin/qchain_receiptex), by test_receipt (which pins the document against it
 * and checks the roots against the ledger's) and by fuzz_receipt (whose seeds are receipts of
 * this chain). */
#ifndef QC_RECEIPTEX_H
#define QC_RECEIPTEX_H

#include "genesis.h"
#include "receipt.h"
#include "vectors.h"

#define RECEIPTEX_LEAVES 6       /* record-log size after block 4 (the whole example chain) */
#define RECEIPTEX_BLOCK2_LEAVES 5 /* record-log size after blocks 2 and 3 */
#define RECEIPTEX_LOG_INDEX 2    /* the §10.3 example's record: block 2, record 0 */
#define RECEIPTEX_SWITCH_LOG_INDEX 5 /* the §10.4 example's record: block 4, record 0 */

typedef struct {
    vectors_t v;                 /* §8: the validator set, tx 1 and block 1 with its cert */
    genesis_t genesis;           /* epoch 0 = v.vs; hash over genesis_json's bytes */
    char *genesis_json;          /* the genesis file, owned */
    size_t genesis_len;
    qc_block_t block2;           /* height 2: one tx by jinan's seal key with 3 records */
    qc_hash_t block2_hash;
    qc_cert_t cert2;             /* votes by jinan, zibo, taian in view 1 */
    qc_validator_set_t vs1;      /* epoch 1: the four and dezhou, threshold 4 */
    qc_block_t block3;           /* height 3, empty, last of epoch 0: names vs1 */
    qc_hash_t block3_hash;
    qc_cert_t cert3;             /* votes by jinan, zibo, taian (epoch 0) */
    qc_block_t block4;           /* height 4, epoch 1: one tx by dezhou's seal key */
    qc_hash_t block4_hash;
    qc_cert_t cert4;             /* votes by zibo, taian, liaocheng, dezhou (epoch 1) */
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

/* Prints the worked example across the epoch switch (the epoch-1 set, the switch block's
 * hash and vote bytes, the receipt of block 4's record and its intermediate values) as the
 * Markdown of docs/PROTOCOL.md §10.4 to file (a FILE *). */
void receiptex_print_switch(const receiptex_t *x, void *file);

#endif
