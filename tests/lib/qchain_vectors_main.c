/* qchain_vectors_main.c - prints the test vectors of docs/PROTOCOL.md (section "Test vectors"),
 * with `--status` the worked status proofs of §12.4, or with `--seeds DIR` writes those two
 * proofs as DIR/valid_0.json and DIR/valid_1.json (the seeds of
 * tests/fuzz/corpus/statusproof/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

/* Writes §12.4's two status proofs (record 0's, then the absent digest's) as seed files. */
static int write_seeds(const vectors_t *v, const char *dir) {
    uint8_t absent[32];
    memset(absent, VECTORS_ABSENT_BYTE, sizeof absent);
    const uint8_t *digests[2] = {v->tx.records[0].digest, absent};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/valid_%d.json", dir, i);
        char *json = vectors_status_json(v, digests[i]);
        FILE *f = json ? fopen(path, "w") : NULL;
        bool ok = f != NULL && fprintf(f, "%s\n", json) > 0;
        if (f != NULL && fclose(f) != 0) ok = false;
        free(json);
        if (!ok) {
            fprintf(stderr, "qchain_vectors: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    bool status = argc == 2 && strcmp(argv[1], "--status") == 0;
    bool seeds = argc == 3 && strcmp(argv[1], "--seeds") == 0;
    if (argc != 1 && !status && !seeds) {
        fprintf(stderr, "usage: qchain_vectors [--status | --seeds DIR]\n");
        return 2;
    }
    vectors_t v;
    int rc = vectors_build(&v);
    if (rc != QC_OK) {
        fprintf(stderr, "qchain_vectors: %s\n", qc_strerror(rc));
        return 1;
    }
    int rc_out = 0;
    if (seeds) rc_out = write_seeds(&v, argv[2]);
    else if (status) vectors_print_status(&v, stdout);
    else vectors_print(&v, stdout);
    vectors_free(&v);
    return rc_out;
}
