/* fuzz_smt_proof.c - libFuzzer target for the state map's proof decoder and verifier
 * (proto/smt.c), against genuine proofs from a small map (node/state/smap.c).
 *
 * Input: byte 0 picks the map size n (0..31); byte 1 salts its keys and sets how many leading
 * bits key 3 shares with key 2; byte 2 picks the queried key (even: key byte3 % n of the map;
 * odd: that key with bit byte3 flipped, so sharing byte3 leading bits with it, usually absent);
 * the genuine encoded proof is built, then up to 64 following 3-byte records (op, position,
 * value) edit it: xor a byte, delete a byte, insert a byte, or set a byte. Oracles:
 * smt_proof_decode never crashes and returns QC_OK or QC_ERR_INVALID; what it accepts
 * re-encodes to the same bytes (canonical); and the verifier, for the genuine claim and root,
 * accepts exactly when the edited proof equals the genuine one (anything else verifying would
 * be a SHA-256 collision or a second encoding). The raw input
 * is also decoded as a proof on its own. */
#include <stdlib.h>
#include <string.h>

#include "smap.h"
#include "smt.h"

#define KEYS_MAX 31
#define EDITS_MAX 64 /* edit records read; the rest of a long input is ignored */

static void decode_canonical(const uint8_t *b, size_t len) {
    static smt_proof_t p;
    int rc = smt_proof_decode(&p, b, len);
    if (rc != QC_OK && rc != QC_ERR_INVALID) abort();
    if (rc != QC_OK) return;
    static uint8_t again[SMT_PROOF_MAX_BYTES];
    size_t again_len;
    if (smt_proof_encode(&p, again, sizeof again, &again_len) != QC_OK) abort();
    if (again_len != len || memcmp(again, b, len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode_canonical(data, size < SMT_PROOF_MAX_BYTES ? size : SMT_PROOF_MAX_BYTES);
    if (size < 4) return 0;
    size_t n = data[0] % (KEYS_MAX + 1);
    smap_update_t u[KEYS_MAX];
    memset(u, 0, sizeof u);
    for (size_t i = 0; i < n; i++) {
        uint8_t seed[3] = {data[1], (uint8_t)i, 0};
        qc_sha256(&u[i].key, seed, sizeof seed);
        seed[2] = 1;
        qc_sha256(&u[i].value, seed, sizeof seed);
        if (i == 3) { /* key 3 shares byte 1's number of leading bits with key 2 */
            u[i].key = u[i - 1].key;
            u[i].key.b[data[1] / 8] ^= (uint8_t)(0x80u >> (data[1] % 8));
        }
    }
    smap_mem_t *m;
    if (smap_mem_new(&m) != QC_OK) abort();
    smap_reader_t r = smap_mem_reader(m);
    size_t k;
    smap_writes_t ws = {0};
    qc_hash_t root;
    if (smap_prepare(u, n, &k) != QC_OK || smap_apply(&r, u, k, &ws, &root) != QC_OK ||
        smap_mem_commit(m, &ws) != QC_OK)
        abort();
    smap_writes_free(&ws);

    qc_hash_t key;
    const qc_hash_t *value = NULL;
    if (k > 0 && (data[2] & 1) == 0) {
        key = u[data[3] % k].key;
        value = &u[data[3] % k].value;
    } else {
        if (k > 0) key = u[data[3] % k].key;
        else memset(key.b, data[3], sizeof key.b);
        unsigned bit = data[3];
        key.b[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
        for (size_t i = 0; i < k; i++)
            if (memcmp(u[i].key.b, key.b, 32) == 0) value = &u[i].value;
    }
    static smt_proof_t p;
    if (smap_prove(&r, &key, &p) != QC_OK) abort();
    smap_mem_free(m);
    static uint8_t genuine[SMT_PROOF_MAX_BYTES], edited[SMT_PROOF_MAX_BYTES];
    size_t genuine_len, len;
    if (smt_proof_encode(&p, genuine, sizeof genuine, &genuine_len) != QC_OK) abort();
    memcpy(edited, genuine, genuine_len);
    len = genuine_len;
    for (size_t off = 4; off + 3 <= size && off < 4 + 3 * EDITS_MAX; off += 3) {
        const uint8_t *rec = data + off;
        size_t pos = len == 0 ? 0 : rec[1] % len;
        switch (rec[0] % 4) {
        case 0:
            if (len > 0) edited[pos] ^= rec[2];
            break;
        case 1:
            if (len > 0) {
                memmove(edited + pos, edited + pos + 1, len - pos - 1);
                len--;
            }
            break;
        case 2:
            if (len < sizeof edited) {
                pos = rec[1] % (len + 1);
                memmove(edited + pos + 1, edited + pos, len - pos);
                edited[pos] = rec[2];
                len++;
            }
            break;
        default:
            if (len > 0) edited[pos] = rec[2];
            break;
        }
    }
    decode_canonical(edited, len);
    int rc = smt_verify(&root, &key, value, edited, len);
    if (rc != QC_OK && rc != QC_ERR_INVALID) abort();
    bool want_ok = len == genuine_len && memcmp(edited, genuine, len) == 0;
    if ((rc == QC_OK) != want_ok) abort();
    return 0;
}
