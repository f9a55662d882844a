/* govtest.h - governance for tests: GOVERN transactions signed by the testkeys admins, changes
 * that add or remove testkeys members, and a certified block that passes a proposal and (with a
 * store whose checkpoint interval is 1) switches to the new set in the same block. */
#ifndef QC_GOVTEST_H
#define QC_GOVTEST_H

#include "chainbuilder.h"
#include "gov.h"

/* ADD of testkeys member `index` (its name, keys, addresses 127.0.0.1:17000+index and
 * 127.0.0.1:18000+index, display name "City <index>"). */
void govtest_change_add(qc_change_t *c, uint32_t index);
void govtest_change_remove(qc_change_t *c, const char *name);
void govtest_change_threshold(qc_change_t *c, uint16_t threshold);

/* A GOVERN transaction carrying op, signed by testkeys admin `admin`. Caller owns *tx. */
int govtest_tx(const char *chain_id, uint32_t admin, uint64_t nonce, uint64_t expiry,
               const qc_gov_op_t *op, qc_tx_t *tx);

/* The block after cb's head that proposes changes[0..count) (admin of member 0, vote expiry
 * 1000 blocks on) and approves it by the admins of members 1.. until cb's set's threshold is
 * met, then holds extra[0..n_extra) (moved into the block; may be NULL), with
 * header.next_validators_hash = the resulting set's hash (epoch + 1), certified by cb's set.
 * *next (may be NULL) gets that set. The store must run with checkpoint interval 1 (the switch
 * is at the deciding block). Caller owns *out. */
int govtest_block(const chainbuilder_t *cb, const qc_change_t *changes, uint8_t count,
                  qc_tx_t *extra, uint32_t n_extra, qc_block_t *out, qc_cert_t *cert,
                  qc_validator_set_t *next);

#endif
