/* govtest.c - governance transactions and deciding blocks for tests (govtest.h). */
#include "govtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkeys.h"

void govtest_change_add(qc_change_t *c, uint32_t index) {
    qc_validator_set_t vs;
    testkeys_validators(&vs, index + 1, 0);
    memset(c, 0, sizeof *c);
    c->kind = QC_CHANGE_ADD;
    snprintf(c->name, sizeof c->name, "%s", vs.members[index].name);
    snprintf(c->display_name, sizeof c->display_name, "City %u", index);
    c->node_key = vs.members[index].node_key;
    c->seal_key = vs.members[index].seal_key;
    c->admin_key = vs.members[index].admin_key;
    snprintf(c->p2p_address, sizeof c->p2p_address, "127.0.0.1:%u", 17000 + index);
    snprintf(c->api_address, sizeof c->api_address, "127.0.0.1:%u", 18000 + index);
}

void govtest_change_remove(qc_change_t *c, const char *name) {
    memset(c, 0, sizeof *c);
    c->kind = QC_CHANGE_REMOVE;
    snprintf(c->name, sizeof c->name, "%s", name);
}

void govtest_change_threshold(qc_change_t *c, uint16_t threshold) {
    memset(c, 0, sizeof *c);
    c->kind = QC_CHANGE_THRESHOLD;
    c->threshold = threshold;
}

int govtest_tx(const char *chain_id, uint32_t admin, uint64_t nonce, uint64_t expiry,
               const qc_gov_op_t *op, qc_tx_t *tx) {
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_ADMIN, admin, NULL, &sk);
    return qc_gov_tx_build(chain_id, &sk, nonce, expiry, op, tx);
}

/* The admin index of member i of vs (testkeys seeds are by key index, not member index). */
static uint32_t admin_index(const qc_validator_set_t *vs, uint32_t i) {
    for (uint32_t k = 0; k < QC_VALIDATORS_MAX; k++) {
        qc_pubkey_t pk;
        testkeys_keypair(TESTKEY_ADMIN, k, &pk, NULL);
        if (memcmp(pk.b, vs->members[i].admin_key.b, 32) == 0) return k;
    }
    QC_ASSERT(!"govtest: a member's admin key is not a testkeys key");
    return 0;
}

int govtest_block(const chainbuilder_t *cb, const qc_change_t *changes, uint8_t count,
                  qc_tx_t *extra, uint32_t n_extra, qc_block_t *out, qc_cert_t *cert,
                  qc_validator_set_t *next) {
    uint32_t t = cb->vs.governance_threshold;
    QC_ASSERT(t >= 1 && t <= cb->vs.n && count <= QC_GOV_CHANGES_MAX && n_extra <= 16);
    qc_tx_t txs[QC_VALIDATORS_MAX + 16];
    qc_gov_op_t *op = calloc(1, sizeof *op);
    if (op == NULL) return QC_ERR_NOMEM;
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = cb->height + 1000;
    op->change_count = count;
    memcpy(op->changes, changes, sizeof *changes * count);
    uint64_t nonce = cb->height * 100 + 1;
    int rc = govtest_tx(cb->chain_id, admin_index(&cb->vs, 0), nonce, cb->height + 100, op, &txs[0]);
    uint32_t made = rc == QC_OK ? 1 : 0;
    for (uint32_t i = 1; rc == QC_OK && i < t; i++) {
        qc_gov_op_t vote = {.op = QC_GOV_APPROVE, .proposal = txs[0].id};
        rc = govtest_tx(cb->chain_id, admin_index(&cb->vs, i), nonce + i, cb->height + 100, &vote,
                        &txs[i]);
        if (rc == QC_OK) made++;
    }
    qc_validator_set_t *vs = malloc(sizeof *vs);
    gov_info_t *info = calloc(2 * QC_VALIDATORS_MAX, sizeof *info);
    char why[200] = "";
    if (rc == QC_OK && (vs == NULL || info == NULL)) rc = QC_ERR_NOMEM;
    for (uint32_t i = 0; rc == QC_OK && i < cb->vs.n; i++) /* distinct placeholder addresses */
        snprintf(info[i].p2p_address, sizeof info[i].p2p_address, "127.0.0.1:%u", 27000 + i);
    for (uint32_t i = 0; rc == QC_OK && i < cb->vs.n; i++)
        snprintf(info[i].api_address, sizeof info[i].api_address, "127.0.0.1:%u", 28000 + i);
    if (rc == QC_OK)
        rc = gov_result(&cb->vs, info, changes, count, vs, info + QC_VALIDATORS_MAX, why, sizeof why);
    for (uint32_t i = 0; rc == QC_OK && i < n_extra; i++) {
        txs[made++] = extra[i];
        memset(&extra[i], 0, sizeof extra[i]);
    }
    if (rc == QC_OK) {
        vs->epoch = cb->vs.epoch + 1;
        rc = chainbuilder_block(cb, txs, made, out, cert);
        made = 0; /* moved into the block */
    }
    if (rc == QC_OK) {
        qc_validators_hash(vs, &out->header.next_validators_hash);
        chainbuilder_certify(cb, out, cert);
        if (next) *next = *vs;
    }
    for (uint32_t i = 0; i < made; i++) qc_tx_free(&txs[i]);
    free(op);
    free(vs);
    free(info);
    return rc;
}
