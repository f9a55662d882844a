/* fuzz_note.c - libFuzzer target for the signed-note and checkpoint parsers (proto/note.c).
 *
 * Input: any bytes, opened as a signed checkpoint note of chain "fuzz" and genesis hash
 * all zero under the four test validators. Oracle: never crashes; returns only the documented codes; a note that parses
 * re-parses identically (text and signature count); an accepted checkpoint has at least a
 * quorum of distinct ascending signers, and re-formatting it opens to the same checkpoint. */
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "testkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static qc_validator_set_t vs;
    static const qc_hash_t genesis; /* all zero: the seeds' "genesis 00..00" line */
    static note_t n, again;
    if (vs.n == 0) testkeys_validators(&vs, 4, 0);
    const char *msg = (const char *)data;
    int rc = note_parse(msg, size, &n, NULL, 0);
    if (rc != QC_OK && rc != QC_ERR_INVALID && rc != QC_ERR_TOOBIG) abort();
    if (rc == QC_OK) {
        if (n.sig_count == 0 || n.text_len == 0 || n.text[n.text_len - 1] != '\n') abort();
        if (note_parse(msg, size, &again, NULL, 0) != QC_OK || again.sig_count != n.sig_count ||
            again.text_len != n.text_len)
            abort();
    }
    note_signed_t s;
    char why[256];
    rc = note_signed_open(msg, size, "fuzz", &genesis, &vs, &s, why, sizeof why);
    if (rc != QC_OK && rc != QC_ERR_INVALID && rc != QC_ERR_TOOBIG && rc != QC_ERR_SIGNATURE &&
        rc != QC_ERR_QUORUM)
        abort();
    if (rc != QC_OK) return 0;
    if (s.signer_count < qc_quorum(vs.n)) abort();
    for (uint32_t i = 1; i < s.signer_count; i++)
        if (s.signers[i] <= s.signers[i - 1]) abort();
    char *text;
    size_t len;
    note_signed_t back;
    if (note_signed_format(&s, "fuzz", &vs, &text, &len) != QC_OK) abort();
    if (note_signed_open(text, len, "fuzz", &genesis, &vs, &back, why, sizeof why) != QC_OK ||
        memcmp(&back, &s, sizeof s) != 0)
        abort();
    free(text);
    return 0;
}
