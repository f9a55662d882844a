/* qchain_vectors_main.c - prints the test vectors of docs/PROTOCOL.md (section "Test vectors"). */
#include <stdio.h>

#include "vectors.h"

int main(void) {
    vectors_t v;
    int rc = vectors_build(&v);
    if (rc != QC_OK) {
        fprintf(stderr, "qchain_vectors: %s\n", qc_strerror(rc));
        return 1;
    }
    vectors_print(&v, stdout);
    vectors_free(&v);
    return 0;
}
