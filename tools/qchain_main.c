/* qchain_main.c - entry point of the qchain tool; the commands live in tools/cli.c's table. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv) {
    /* A server or pipe reader that goes away must give this tool a write error (EPIPE) it can
     * report, not a silent death by SIGPIPE (status 141). */
    signal(SIGPIPE, SIG_IGN);
    int rc = cli_main(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "qchain: error: writing the output: %s\n", strerror(errno));
        if (rc == CLI_EXIT_OK) rc = CLI_EXIT_FAIL;
    }
    return rc;
}
