/* fuzz_share.c - libFuzzer target for the data-sharing decoders: the first byte picks a
 * transaction body (the rest, with a zero signature, through qc_tx_parse: any type, SHARE
 * included) or one of the sharing state's values (dataset, request, access). A SHARE body that
 * parses must end in exactly the bytes the builder writes for its operation; a value that
 * decodes must re-encode to the same bytes. Seeds: tests/fuzz/corpus/share/. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sharestat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tx(const uint8_t *body, size_t len) {
    qc_sig_t sig;
    memset(&sig, 0, sizeof sig);
    qc_tx_t tx, again;
    if (qc_tx_parse(body, len, &sig, &tx) != QC_OK) return;
    if ((tx.type == QC_TX_SHARE) != (tx.share != NULL)) abort();
    if (tx.share) {
        /* rebuilt by another key: the same length, and the same bytes after the signer */
        static qc_seckey_t sk;
        static bool have;
        if (!have) {
            uint8_t seed[32] = {7}, pk[32];
            crypto_sign_seed_keypair(pk, sk.b, seed);
            have = true;
        }
        if (qc_share_tx_build(tx.chain_id, &sk, tx.nonce, tx.expiry_height, tx.share, &again) != QC_OK)
            abort();
        size_t tail = 1 + 2 + 1 + strlen(tx.chain_id) + 32;
        if (again.body_len != len || memcmp(again.body + tail, body + tail, len - tail) != 0)
            abort();
        if (memcmp(again.share, tx.share, sizeof *tx.share) != 0) abort();
        qc_tx_free(&again);
    }
    qc_tx_free(&tx);
}

static void check_value(uint8_t kind, const uint8_t *buf, size_t len) {
    uint8_t out[SH_VALUE_MAX];
    size_t n;
    if (kind == 1) {
        sh_dataset_t d;
        if (sh_dataset_decode(buf, len, &d) != QC_OK) return;
        n = sh_dataset_encode(&d, out);
    } else if (kind == 2) {
        sh_request_t q;
        if (sh_request_decode(buf, len, &q) != QC_OK) return;
        n = sh_request_encode(&q, out);
    } else {
        sh_access_t a;
        if (sh_access_decode(buf, len, &a) != QC_OK) return;
        n = sh_access_encode(&a, out);
    }
    if (n != len || memcmp(out, buf, len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t kind = data[0] & 3;
    if (kind == 0) check_tx(data + 1, size - 1);
    else check_value(kind, data + 1, size - 1);
    return 0;
}
