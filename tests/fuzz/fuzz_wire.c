/* fuzz_wire.c - libFuzzer target: arbitrary bytes through the peer message decoder; a frame
 * that decodes must re-encode (consensus kinds) without error and free cleanly. */
#include <stdlib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wire_scratch_t *scratch;
    if (scratch == NULL && (scratch = calloc(1, sizeof *scratch)) == NULL) return 0;
    wire_msg_t m;
    if (wire_decode(data, size, scratch, &m) != QC_OK) return 0;
    if (m.kind == WIRE_CONSENSUS) {
        uint8_t *out;
        size_t len;
        if (wire_encode_consensus(&m.consensus, m.bytes, m.len, &out, &len) != QC_OK) abort();
        free(out);
    }
    wire_msg_free(&m);
    return 0;
}
