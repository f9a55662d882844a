/* qchain_receiptex_main.c - prints the worked example receipt of docs/PROTOCOL.md §10.3, with
 * `--switch` the one across an epoch switch of §10.4, or with `--seeds DIR` writes the example
 * chain's receipts as DIR/valid_N.json (the seeds of tests/fuzz/corpus/receipt/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiptex.h"

static int write_seeds(const receiptex_t *x, const char *dir) {
    for (uint64_t i = 0; i < RECEIPTEX_LEAVES; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/valid_%llu.json", dir, (unsigned long long)i);
        char *json = receiptex_json(x, i);
        FILE *f = json ? fopen(path, "w") : NULL;
        bool ok = f != NULL && fputs(json, f) >= 0;
        if (f != NULL && fclose(f) != 0) ok = false;
        free(json);
        if (!ok) {
            fprintf(stderr, "qchain_receiptex: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    bool seeds = argc == 3 && strcmp(argv[1], "--seeds") == 0;
    bool sw = argc == 2 && strcmp(argv[1], "--switch") == 0;
    if (argc != 1 && !seeds && !sw) {
        fprintf(stderr, "usage: qchain_receiptex [--switch | --seeds DIR]\n");
        return 2;
    }
    receiptex_t *x = calloc(1, sizeof *x);
    int rc = x ? receiptex_build(x) : QC_ERR_NOMEM;
    if (rc != QC_OK) {
        fprintf(stderr, "qchain_receiptex: %s\n", qc_strerror(rc));
        free(x);
        return 1;
    }
    int status = 0;
    if (seeds) status = write_seeds(x, argv[2]);
    else if (sw) receiptex_print_switch(x, stdout);
    else receiptex_print(x, stdout);
    receiptex_free(x);
    free(x);
    return status;
}
