/* qchain_vectors_main.c - prints the test vectors of docs/PROTOCOL.md (section "Test vectors"),
 * or with `--status` the worked status proofs of §12.4. */
#include <stdio.h>
#include <string.h>

#include "vectors.h"

int main(int argc, char **argv) {
    bool status = argc == 2 && strcmp(argv[1], "--status") == 0;
    if (argc != 1 && !status) {
        fprintf(stderr, "usage: qchain_vectors [--status]\n");
        return 2;
    }
    vectors_t v;
    int rc = vectors_build(&v);
    if (rc != QC_OK) {
        fprintf(stderr, "qchain_vectors: %s\n", qc_strerror(rc));
        return 1;
    }
    if (status) vectors_print_status(&v, stdout);
    else vectors_print(&v, stdout);
    vectors_free(&v);
    return 0;
}
