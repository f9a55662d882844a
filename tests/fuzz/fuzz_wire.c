/* fuzz_wire.c - libFuzzer target: arbitrary bytes through the peer message decoder; a frame
 * that decodes must re-encode (consensus kinds) without error, the re-encoding must decode to
 * the same header and the same COMMIT-CERT / CHECKPOINT-CERT body, and both free cleanly.
 * Seeds: tests/fuzz/corpus/wire/ (the certificate seeds are written by test_wire with
 * QC_WIRE_WRITE_SEEDS=<dir>). */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The re-encoding of a decoded consensus message must decode to the same message. */
static void check_reencoding(const pbft_msg_t *a, const uint8_t *buf, size_t len,
                             wire_scratch_t *scratch) {
    wire_msg_t m;
    if (wire_decode(buf, len, scratch, &m) != QC_OK) abort();
    const pbft_msg_t *b = &m.consensus;
    if (a->type != b->type || a->from != b->from || a->epoch != b->epoch ||
        a->view != b->view || a->height != b->height ||
        memcmp(a->digest.b, b->digest.b, 32) != 0 || memcmp(a->parent.b, b->parent.b, 32) != 0 ||
        memcmp(a->sig.b, b->sig.b, sizeof a->sig.b) != 0)
        abort();
    if ((a->cert == NULL) != (b->cert == NULL) || (a->ckpt == NULL) != (b->ckpt == NULL)) abort();
    if (a->cert && memcmp(a->cert, b->cert, sizeof *a->cert) != 0) abort();
    if (a->ckpt && memcmp(a->ckpt, b->ckpt, sizeof *a->ckpt) != 0) abort();
    wire_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wire_scratch_t *scratch, *again;
    if (scratch == NULL && (scratch = calloc(1, sizeof *scratch)) == NULL) return 0;
    if (again == NULL && (again = calloc(1, sizeof *again)) == NULL) return 0;
    wire_msg_t m;
    if (wire_decode(data, size, scratch, &m) != QC_OK) return 0;
    if (m.kind == WIRE_CONSENSUS) {
        uint8_t *out;
        size_t len;
        if (wire_encode_consensus(&m.consensus, m.bytes, m.len, m.compact, m.compact_len, &out, &len) != QC_OK) abort();
        check_reencoding(&m.consensus, out, len, again);
        free(out);
    }
    wire_msg_free(&m);
    return 0;
}
