/* fuzz_config.c - libFuzzer target for the node configuration parser (node/config.c):
 * bytes -> config_parse with a base directory, as config_load calls it.
 *
 * Oracle, besides the sanitizers: a refused file always gets a reason; an accepted one
 * re-encodes with config_encode to a file that parses (without a base directory, since the
 * paths are then absolute) and re-encodes to exactly the same text: the writer and the
 * parser agree on every field. */
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static config_t c, back;
    char why[512] = "";
    if (config_parse(data, size, "/etc/qchain", &c, why, sizeof why) != QC_OK) {
        if (why[0] == '\0') abort();
        return 0;
    }
    char *text, *again;
    size_t len, again_len;
    if (config_encode(&c, &text, &len) != QC_OK) abort();
    if (config_parse(text, len, NULL, &back, why, sizeof why) != QC_OK) abort();
    if (config_encode(&back, &again, &again_len) != QC_OK) abort();
    if (len != again_len || memcmp(text, again, len) != 0) abort();
    free(text);
    free(again);
    return 0;
}
