/* testkeys.c - deterministic keys and validator sets for tests, vectors and benchmarks. */
#include "testkeys.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

const char *const testkeys_city_names[9] = {"jinan",  "zibo",     "taian",  "liaocheng", "dezhou",
                                            "binzhou", "dongying", "jining", "heze"};

void testkeys_keypair(testkey_role_t role, uint32_t index, qc_pubkey_t *pk, qc_seckey_t *sk) {
    uint8_t seed[32] = {0};
    seed[0] = (uint8_t)role;
    seed[1] = (uint8_t)index;
    qc_pubkey_t pk_local;
    qc_seckey_t sk_local;
    QC_ASSERT(qc_crypto_init() == QC_OK);
    crypto_sign_seed_keypair(pk ? pk->b : pk_local.b, sk ? sk->b : sk_local.b, seed);
}

void testkeys_validators(qc_validator_set_t *vs, uint32_t n, uint64_t epoch) {
    QC_ASSERT(n <= QC_VALIDATORS_MAX);
    memset(vs, 0, sizeof *vs);
    vs->epoch = epoch;
    vs->n = n;
    vs->governance_threshold = qc_quorum(n);
    for (uint32_t i = 0; i < n; i++) {
        qc_member_t *m = &vs->members[i];
        if (i < 9) snprintf(m->name, sizeof m->name, "%s", testkeys_city_names[i]);
        else snprintf(m->name, sizeof m->name, "city%u", i);
        testkeys_keypair(TESTKEY_NODE, i, &m->node_key, NULL);
        testkeys_keypair(TESTKEY_SEAL, i, &m->seal_key, NULL);
        testkeys_keypair(TESTKEY_ADMIN, i, &m->admin_key, NULL);
    }
}
