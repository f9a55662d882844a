/* fuzz_life.c - libFuzzer target for the record lifecycle decoders: the first byte picks
 * either a transaction body (the rest, with a zero signature, through qc_tx_parse: an ANCHOR,
 * GOVERN, ENDORSE, REVOKE or SUPERSEDE body) or a record status (through qc_recstat_decode).
 * A body that parses must clone to the same fields, and a lifecycle body must be exactly its
 * own re-encoding; a status that decodes must re-encode to the same bytes (the encoding is
 * canonical: the state map hashes it). Seeds: tests/fuzz/corpus/life/. */
#include <stdlib.h>
#include <string.h>

#include "recstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tx(const uint8_t *body, size_t len) {
    qc_sig_t sig;
    memset(&sig, 0, sizeof sig);
    qc_tx_t tx, again;
    if (qc_tx_parse(body, len, &sig, &tx) != QC_OK) return;
    if (qc_tx_clone(&tx, &again) != QC_OK) abort();
    if (memcmp(tx.id.b, again.id.b, 32) != 0 || tx.type != again.type) abort();
    if (qc_tx_type_is_lifecycle(tx.type) != (tx.life != NULL)) abort();
    if (tx.life) {
        if (memcmp(tx.life, again.life, sizeof *tx.life) != 0) abort();
        /* the lifecycle fields are the last bytes of the body, in this layout */
        uint8_t tail[32 + 32 + 2 + 1 + QC_NOTE_MAX];
        size_t n = 0;
        memcpy(tail, tx.life->digest.b, 32);
        n = 32;
        if (tx.type == QC_TX_SUPERSEDE) { memcpy(tail + n, tx.life->new_digest.b, 32); n += 32; }
        else { qc_put_u16(tail + n, tx.life->code); n += 2; }
        if (tx.type == QC_TX_ENDORSE) {
            tail[n++] = tx.life->note_len;
            if (strlen(tx.life->note) != tx.life->note_len) abort();
            memcpy(tail + n, tx.life->note, tx.life->note_len);
            n += tx.life->note_len;
        }
        if (n > len || memcmp(body + len - n, tail, n) != 0) abort();
    }
    qc_tx_free(&again);
    qc_tx_free(&tx);
}

static void check_status(const uint8_t *buf, size_t len) {
    qc_recstat_t st;
    if (qc_recstat_decode(buf, len, &st) != QC_OK) return;
    uint8_t out[QC_RECSTAT_BYTES_MAX];
    size_t n;
    if (qc_recstat_encode(&st, out, sizeof out, &n) != QC_OK) abort();
    if (n != len || memcmp(out, buf, len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1) check_status(data + 1, size - 1);
    else check_tx(data + 1, size - 1);
    return 0;
}
