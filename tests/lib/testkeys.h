/* testkeys.h - deterministic test keys and validator sets, shared by tests, vectors and
 * benchmarks: key i of role r is derived from a fixed seed so vectors are reproducible. */
#ifndef QC_TESTKEYS_H
#define QC_TESTKEYS_H

#include "fmt.h"

typedef enum { TESTKEY_NODE = 1, TESTKEY_SEAL = 2, TESTKEY_ADMIN = 3 } testkey_role_t;

/* Seed = 32 bytes: role byte, index byte, then 0x00..; keypair from crypto_sign_seed_keypair. */
void testkeys_keypair(testkey_role_t role, uint32_t index, qc_pubkey_t *pk, qc_seckey_t *sk);
/* A validator set of n members named after the nine cities (then "city9".."city63"). */
void testkeys_validators(qc_validator_set_t *vs, uint32_t n, uint64_t epoch);
/* The nine city names in genesis order. */
extern const char *const testkeys_city_names[9];

#endif
