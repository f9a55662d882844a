/* cmd_genesis.c - `qchain genesis`: a genesis file from the member cities' public keys, and
 * `qchain genesis --hash FILE`: the hash that identifies an existing genesis file's chain. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "genesis.h"

static const char k_usage[] =
    "Usage: qchain genesis --chain-id ID --member SPEC [--member SPEC]... --out FILE [OPTIONS]\n"
    "       qchain genesis --hash FILE [--json]\n"
    "\n"
    "Writes the genesis file of a new chain (format: docs/GENESIS.md) and prints its hash,\n"
    "by which nodes and auditors identify the chain. Give one --member per city, 4 to 64, in\n"
    "validator order.\n"
    "\n"
    "--hash FILE checks an existing genesis file as a node loads it and prints its hash, 64 hex\n"
    "on one line: the hash nodes compare in their handshakes and serve as genesis_hash, and\n"
    "that checkpoints and receipts name: SHA-256 of \"qchain/v1/genesis\", a zero byte and the\n"
    "file's exact bytes. With --json: {\"genesis\": FILE, \"hash\": HEX}. Exit 1 when FILE\n"
    "cannot be read or is not a valid genesis file.\n"
    "\n"
    "SPEC is comma-separated key=value pairs (values may not contain commas):\n"
    "  name=NAME           member name, [a-z0-9-], e.g. jinan (required)\n"
    "  display=TEXT        name for people, e.g. \"Jinan 济南\" (default: NAME)\n"
    "  node=KEY            node public key (required)\n"
    "  seal=KEY            seal public key (required)\n"
    "  admin=KEY           admin public key (required)\n"
    "  p2p=HOST:PORT       address peers connect to (required)\n"
    "  api=HOST:PORT       address clients use (required)\n"
    "KEY is a public key file made by `qchain keygen` (its role must match) or 64 hex chars.\n"
    "\n"
    "Options:\n"
    "  --chain-id ID              1..64 chars of [A-Za-z0-9._-] (required)\n"
    "  --out FILE                 genesis file to write (required)\n"
    "  --time-ms MS               genesis time, Unix ms (default: now)\n"
    "  --threshold N              governance threshold, 1..n (default: the BFT quorum of n)\n"
    "  --checkpoint-interval N    consensus.checkpoint_interval (default %u)\n"
    "  --window N                 consensus.window (default %u)\n"
    "  --view-timeout-ms N        consensus.view_timeout_ms (default %u)\n"
    "  --block-max-txs N          consensus.block_max_txs (default %u)\n"
    "  --block-interval-ms N      consensus.block_interval_ms (default %u)\n"
    "  --force                    replace FILE if it exists\n"
    "  --hash FILE                print the hash of genesis FILE (no other option but --json)\n"
    "  --json                     print the result as JSON\n"
    "  -h, --help                 show this help\n"
    "\n"
    "Exit status: 0 written (or hashed); 1 failure (invalid member, duplicate key, file\n"
    "exists, I/O; with --hash: unreadable or invalid genesis); 2 usage error.\n";

/* Loads KEY (a .pub file of role, or 64 hex chars) into *pk; explains failures. */
static int member_key(const char *cmd, const char *name, keys_role_t role, const char *val,
                      qc_pubkey_t *pk) {
    if (strlen(val) == 2 * QC_PUBKEY_BYTES && qc_hex_decode(pk->b, QC_PUBKEY_BYTES, val) == QC_OK) {
        return QC_OK;
    }
    char reason[512];
    if (keys_load_public(val, role, pk, NULL, reason, sizeof reason) != QC_OK) {
        cli_fail(cmd, "member %s: %s key: %s", name, keys_role_name(role), reason);
        return QC_ERR_INVALID;
    }
    return QC_OK;
}

/* Parses one --member SPEC and adds it to g. Returns -1 on success or an exit status. */
static int add_member_spec(const char *cmd, const char *spec, genesis_t *g) {
    enum { NAME, DISPLAY, NODE, SEAL, ADMIN, P2P, API, FIELDS };
    static const char *const keys[FIELDS] = {"name", "display", "node", "seal",
                                             "admin", "p2p", "api"};
    const char *val[FIELDS] = {NULL};
    char *copy = strdup(spec), *save = NULL;
    if (copy == NULL) return cli_fail(cmd, "out of memory");
    int rc = -1;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && rc < 0;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        int k = 0;
        while (eq != NULL && k < FIELDS && (strncmp(tok, keys[k], (size_t)(eq - tok)) != 0 ||
                                            strlen(keys[k]) != (size_t)(eq - tok))) {
            k++;
        }
        if (eq == NULL || k == FIELDS) {
            rc = cli_usage_error(cmd, "--member: '%s' is not one of name=, display=, node=, "
                                      "seal=, admin=, p2p=, api=", tok);
        } else {
            val[k] = eq + 1;
        }
    }
    for (int k = 0; rc < 0 && k < FIELDS; k++) {
        if (val[k] == NULL && k != DISPLAY) {
            rc = cli_usage_error(cmd, "--member '%s': %s= is missing", spec, keys[k]);
        }
    }
    qc_pubkey_t pk[KEYS_ROLE_COUNT];
    for (int r = 0; rc < 0 && r < KEYS_ROLE_COUNT; r++) {
        if (member_key(cmd, val[NAME], (keys_role_t)r, val[NODE + r], &pk[r]) != QC_OK) {
            rc = CLI_EXIT_FAIL;
        }
    }
    if (rc < 0 && genesis_add_member(g, val[NAME], val[DISPLAY] ? val[DISPLAY] : val[NAME],
                                     &pk[0], &pk[1], &pk[2], val[P2P], val[API]) != QC_OK) {
        rc = cli_fail(cmd, "member %s: a value is too long, or more than %d members", val[NAME],
                      QC_VALIDATORS_MAX);
    }
    free(copy);
    return rc;
}

typedef struct {
    const char *chain_id, *out, *hash;
    bool force, json, building; /* building: an option of the writing form was given */
} genesis_opts_t;

/* Sets a consensus parameter or threshold from an option. Returns false after explaining. */
static bool numeric_option(const char *cmd, int c, const char *arg, genesis_t *g) {
    static const struct {
        const char *name;
        uint64_t min, max;
    } lim[] = {
        {"--time-ms", 0, 253402300799999ull},
        {"--threshold", 1, QC_VALIDATORS_MAX},
        {"--checkpoint-interval", 1, GENESIS_CHECKPOINT_INTERVAL_MAX},
        {"--window", 2, GENESIS_WINDOW_MAX},
        {"--view-timeout-ms", GENESIS_VIEW_TIMEOUT_MS_MIN, GENESIS_VIEW_TIMEOUT_MS_MAX},
        {"--block-max-txs", 1, QC_BLOCK_TXS_MAX},
        {"--block-interval-ms", 1, GENESIS_BLOCK_INTERVAL_MS_MAX},
    };
    uint64_t x;
    if (!cli_parse_u64(cmd, lim[c].name, arg, lim[c].min, lim[c].max, &x)) return false;
    uint32_t *dst[] = {NULL,
                       &g->validators.governance_threshold,
                       &g->consensus.checkpoint_interval,
                       &g->consensus.window,
                       &g->consensus.view_timeout_ms,
                       &g->consensus.block_max_txs,
                       &g->consensus.block_interval_ms};
    if (c == 0) g->genesis_time_ms = x;
    else *dst[c] = (uint32_t)x;
    return true;
}

/* Parses argv, adding members to g. Returns -1 to go on, or an exit status. */
static int parse_opts(int argc, char **argv, genesis_opts_t *o, genesis_t *g) {
    enum { OPT_CHAIN = 256, OPT_MEMBER, OPT_OUT, OPT_FORCE, OPT_JSON, OPT_HASH, OPT_NUM = 512 };
    static const struct option opts[] = {
        {"chain-id", required_argument, NULL, OPT_CHAIN},
        {"member", required_argument, NULL, OPT_MEMBER},
        {"out", required_argument, NULL, OPT_OUT},
        {"force", no_argument, NULL, OPT_FORCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"hash", required_argument, NULL, OPT_HASH},
        {"time-ms", required_argument, NULL, OPT_NUM + 0},
        {"threshold", required_argument, NULL, OPT_NUM + 1},
        {"checkpoint-interval", required_argument, NULL, OPT_NUM + 2},
        {"window", required_argument, NULL, OPT_NUM + 3},
        {"view-timeout-ms", required_argument, NULL, OPT_NUM + 4},
        {"block-max-txs", required_argument, NULL, OPT_NUM + 5},
        {"block-interval-ms", required_argument, NULL, OPT_NUM + 6},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    bool bad = false;
    int rc = -1;
    cli_getopt_reset();
    for (int c; rc < 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        o->building = o->building || (c != OPT_JSON && c != OPT_HASH && c != 'h' && c != '?');
        if (c == OPT_HASH) o->hash = optarg;
        else if (o->hash && o->building)
            rc = cli_usage_error(cmd, "--hash takes no other option but --json");
        else if (c == OPT_CHAIN) o->chain_id = optarg;
        else if (c == OPT_MEMBER) rc = add_member_spec(cmd, optarg, g);
        else if (c == OPT_OUT) o->out = optarg;
        else if (c == OPT_FORCE) o->force = true;
        else if (c == OPT_JSON) o->json = true;
        else if (c >= OPT_NUM) rc = numeric_option(cmd, c - OPT_NUM, optarg, g) ? -1 : CLI_EXIT_USAGE;
        else if (c == 'h') {
            printf(k_usage, GENESIS_DEFAULT_CHECKPOINT_INTERVAL, GENESIS_DEFAULT_WINDOW,
                   GENESIS_DEFAULT_VIEW_TIMEOUT_MS, GENESIS_DEFAULT_BLOCK_MAX_TXS,
                   GENESIS_DEFAULT_BLOCK_INTERVAL_MS);
            return CLI_EXIT_OK;
        } else bad = true;
    }
    if (rc >= 0) return rc;
    rc = cli_check_args(cmd, argc, argv, bad);
    if (rc >= 0) return rc;
    if (o->hash && o->building) return cli_usage_error(cmd, "--hash takes no other option but --json");
    if (o->hash) return -1;
    if (o->chain_id == NULL) return cli_usage_error(cmd, "--chain-id is required");
    if (!qc_chain_id_valid(o->chain_id)) {
        return cli_usage_error(cmd, "--chain-id: expected 1..%d chars of [A-Za-z0-9._-]",
                               QC_CHAIN_ID_MAX);
    }
    if (o->out == NULL) return cli_usage_error(cmd, "--out is required");
    if (g->validators.n < GENESIS_MEMBERS_MIN) {
        return cli_usage_error(cmd, "%u --member given; a chain needs at least %d",
                               g->validators.n, GENESIS_MEMBERS_MIN);
    }
    return -1;
}

/* --hash FILE: loads the genesis as a node does (genesis_load: strict parse, hash over the
 * exact bytes) and prints the hash. */
static int print_hash(const char *cmd, const char *path, bool json) {
    genesis_t *g = client_genesis_open(cmd, path);
    if (g == NULL) return CLI_EXIT_FAIL;
    char hash[65];
    qc_hash_hex(hash, &g->hash);
    free(g);
    if (json) return cli_print_json(cmd, json_pack("{s:s, s:s}", "genesis", path, "hash", hash));
    printf("%s\n", hash);
    return CLI_EXIT_OK;
}

int cli_genesis(int argc, char **argv) {
    const char *cmd = argv[0];
    genesis_opts_t o = {0};
    genesis_t *g = malloc(sizeof *g);
    if (g == NULL) return cli_fail(cmd, "out of memory");
    genesis_init(g, "", cli_now_ms());
    int rc = parse_opts(argc, argv, &o, g);
    if (rc >= 0) goto done;
    if (o.hash) {
        rc = print_hash(cmd, o.hash, o.json);
        goto done;
    }
    snprintf(g->chain_id, sizeof g->chain_id, "%s", o.chain_id);
    char reason[512] = "";
    if (genesis_write(o.out, g, !o.force, reason, sizeof reason) != QC_OK) {
        rc = cli_fail(cmd, "%s", reason);
        goto done;
    }
    char hash[65];
    qc_hash_hex(hash, &g->hash);
    if (o.json) {
        rc = cli_print_json(cmd, json_pack("{s:s, s:s, s:s, s:i, s:i}", "genesis", o.out,
                                           "chain_id", g->chain_id, "genesis_hash", hash,
                                           "members", (int)g->validators.n, "threshold",
                                           (int)g->validators.governance_threshold));
    } else {
        printf("genesis %s: chain %s, %u members, governance threshold %u\ngenesis hash %s\n",
               o.out, g->chain_id, g->validators.n, g->validators.governance_threshold, hash);
        rc = CLI_EXIT_OK;
    }
done:
    free(g);
    return rc;
}
