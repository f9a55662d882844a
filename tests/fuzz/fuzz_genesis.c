/* fuzz_genesis.c - libFuzzer target for the genesis file parser (node/genesis.c), which reads
 * a file an operator or auditor was handed: bytes -> genesis_parse.
 *
 * Oracle, besides the sanitizers: a refused file always gets a reason; an accepted one has a
 * valid, duplicate-free member set of at least GENESIS_MEMBERS_MIN, its hash is over exactly
 * the input bytes, and the canonical writer's text (genesis_encode) parses back to the same
 * validator set (same validators hash) and re-encodes to exactly the same text. */
#include <stdlib.h>
#include <string.h>

#include "genesis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static genesis_t g, back;
    char why[512] = "";
    if (genesis_parse(data, size, &g, why, sizeof why) != QC_OK) {
        if (why[0] == '\0') abort();
        return 0;
    }
    qc_hash_t h;
    qc_hash_ctx(&h, QC_CTX_GENESIS, data, size);
    if (memcmp(&h, &g.hash, sizeof h) != 0) abort();
    if (g.validators.n < GENESIS_MEMBERS_MIN || g.validators.n > QC_VALIDATORS_MAX) abort();
    for (uint32_t i = 0; i < g.validators.n; i++)
        if (!genesis_name_valid(g.validators.members[i].name) ||
            genesis_find_member(&g, g.validators.members[i].name) != (int)i)
            abort();
    char *text, *again;
    size_t len, again_len;
    if (genesis_encode(&g, &text, &len, why, sizeof why) != QC_OK) abort();
    if (genesis_parse(text, len, &back, why, sizeof why) != QC_OK) abort();
    if (genesis_encode(&back, &again, &again_len, why, sizeof why) != QC_OK) abort();
    qc_hash_t vh1, vh2;
    qc_validators_hash(&g.validators, &vh1);
    qc_validators_hash(&back.validators, &vh2);
    if (memcmp(&vh1, &vh2, sizeof vh1) != 0 || len != again_len || memcmp(text, again, len) != 0)
        abort();
    free(text);
    free(again);
    return 0;
}
