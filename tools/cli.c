/* cli.c - the qchain command table, dispatch and the helpers the commands share. */
#include "cli.h"

#include "client.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Later commands (anchor, status, receipt, verify, audit, block) are one line each here. */
const cli_cmd_t cli_commands[] = {
    {"anchor", "hash files, sign and submit them, wait for the commit, write receipts", cli_anchor},
    {"endorse", "countersign another city's anchored record with a purpose code", cli_endorse},
    {"revoke", "revoke one of the city's records with a reason code", cli_revoke},
    {"supersede", "name a new record of the city that replaces an old one", cli_supersede},
    {"dataset", "data sharing: publish, request, grant, deny, access, list, show, requests",
     cli_dataset},
    {"status", "a node's (or every node's) height, head, view, primary, peers, lag, mempool",
     cli_status},
    {"receipt", "fetch a record's receipt from a node, verify it offline, write it", cli_receipt},
    {"verify", "verify a receipt offline against the genesis file", cli_verify},
    {"status-proof", "fetch and verify offline a record's current status (or that it was "
     "never anchored)", cli_status_proof},
    {"city-log", "fetch and verify offline all of a city's record events in a height range "
     "(none left out)", cli_city_log},
    {"audit", "check signed checkpoints grew consistently (or prove a fork)", cli_audit},
    {"block", "print a block: header, transactions, certificate signers by city", cli_block},
    {"member", "membership governance: propose, approve, reject, withdraw, list, show, history",
     cli_member},
    {"keygen", "make an Ed25519 key pair for a city's node, seal or admin role", cli_keygen},
    {"genesis", "write a genesis file from member cities' public keys", cli_genesis},
    {"testnet", "make keys, genesis and node configs for the nine-city loopback testnet",
     cli_testnet},
    {NULL, NULL, NULL},
};

const cli_cmd_t *cli_find(const char *name) {
    for (const cli_cmd_t *c = cli_commands; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0) return c;
    }
    return NULL;
}

static void print_main_usage(FILE *f) {
    fprintf(f,
            "Usage: qchain COMMAND [OPTIONS]\n"
            "       qchain help COMMAND\n\n"
            "qchain is the tool of the Shandong consortium chain: keys, genesis, testnet.\n\n"
            "Commands:\n");
    for (const cli_cmd_t *c = cli_commands; c->name != NULL; c++) {
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    }
    fprintf(f, "\nEvery command takes --help. Exit status: 0 success, 1 failure or invalid "
               "input, 2 usage error.\n");
}

/* Runs cmd with argv[0] replaced by "qchain NAME" so messages name the command. No --cacert
 * of an earlier command in this process (tests run many) carries over. */
static int run_command(const cli_cmd_t *cmd, int argc, char **argv) {
    char name[64];
    client_set_cacert(NULL, NULL, 0);
    snprintf(name, sizeof name, "qchain %s", cmd->name);
    char *saved = argv[0];
    argv[0] = name;
    int rc = cmd->run(argc, argv);
    argv[0] = saved;
    fflush(stdout);
    return rc;
}

int cli_main(int argc, char **argv) {
    if (argc < 2) {
        print_main_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "-h") == 0 || strcmp(first, "--help") == 0) {
        print_main_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(first, "help") == 0) {
        if (argc < 3) {
            print_main_usage(stdout);
            return CLI_EXIT_OK;
        }
        const cli_cmd_t *cmd = cli_find(argv[2]);
        if (cmd == NULL) return cli_usage_error("qchain", "unknown command '%s'", argv[2]);
        char help[] = "--help";
        char *args[] = {argv[2], help, NULL};
        return run_command(cmd, 2, args);
    }
    const cli_cmd_t *cmd = cli_find(first);
    if (cmd == NULL) return cli_usage_error("qchain", "unknown command '%s'", first);
    return run_command(cmd, argc - 1, argv + 1);
}

void cli_getopt_reset(void) {
    optind = 0; /* glibc: 0 re-initialises getopt completely */
    opterr = 1;
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_check_args(const char *cmd, int argc, char **argv, bool saw_bad_option) {
    if (saw_bad_option) {
        /* getopt_long has already said what was wrong. */
        fprintf(stderr, "Try '%s --help'.\n", cmd);
        return CLI_EXIT_USAGE;
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

bool cli_parse_u64(const char *cmd, const char *option, const char *s, uint64_t min,
                   uint64_t max, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long x = (s[0] >= '0' && s[0] <= '9') ? strtoull(s, &end, 10) : 0;
    if (end == NULL || *end != '\0' || errno != 0 || x < min || x > max) {
        cli_usage_error(cmd, "%s: expected an integer from %llu to %llu, got '%s'", option,
                        (unsigned long long)min, (unsigned long long)max, s);
        return false;
    }
    *out = x;
    return true;
}

int cli_print_json(const char *cmd, json_t *obj) {
    if (obj == NULL) return cli_fail(cmd, "out of memory");
    int rc = json_dumpf(obj, stdout, JSON_INDENT(2)) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    fputc('\n', stdout);
    json_decref(obj);
    return rc;
}

uint64_t cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
