/* cmd_block.c - `qchain block HEIGHT | --hash H`: prints a block as a node serves it (header
 * fields, transactions with their city and record counts, the commit certificate's signers by
 * city name) after checking what can be checked offline: the canonical header hashes to the
 * block hash, it is the block asked for, and the certificate verifies against the genesis. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"

#define BLOCK_TIMEOUT_MS 10000L

static const char usage[] =
    "Usage: qchain block (HEIGHT | --hash HASH) (--config NODE.json | --api URL --genesis G) [--json]\n"
    "Fetches a block and prints its header, its transactions (anchoring city, record count) and\n"
    "the cities whose nodes signed its commit certificate. Before printing it checks that the\n"
    "header hashes to the block hash, is the block asked for, names the genesis file's hash,\n"
    "and that the certificate is a valid quorum of the genesis validators.\n"
    "      --hash HASH     the block's 64-hex hash instead of a height\n" CLIENT_TARGET_USAGE
    "      --json          print the node's block JSON plus \"signers\" and \"quorum\"\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 printed and checked, 1 no such block, node unreachable, or the block does\n"
    "not check out (the reason is printed), 2 usage.\n";

typedef struct {
    client_target_opts_t target;
    const char *hash_hex;
    uint64_t height;
    bool json;
} block_opts_t;

static int parse(int argc, char **argv, block_opts_t *o) {
    enum { O_HASH = 256, O_JSON };
    static const struct option opts[] = {CLIENT_TARGET_OPTIONS,
                                         {"hash", required_argument, NULL, O_HASH},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    *o = (block_opts_t){{0}, NULL, 0, false};
    bool bad = false;
    cli_getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1;) {
        if (client_target_opt(c, optarg, &o->target)) continue;
        if (c == O_HASH) o->hash_hex = optarg;
        else if (c == O_JSON) o->json = true;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    const char *height = NULL;
    int rc = client_target_finish(argv[0], argc, argv, bad, &o->target, o->hash_hex, &height);
    if (rc >= 0) return rc;
    if ((height == NULL) == (o->hash_hex == NULL))
        return cli_usage_error(argv[0], "give a HEIGHT or --hash HASH (one of them)");
    qc_hash_t h;
    if (o->hash_hex && qc_hex_decode(h.b, 32, o->hash_hex) != QC_OK)
        return cli_usage_error(argv[0], "--hash must be 64 hex characters, got '%s'", o->hash_hex);
    if (height && !cli_parse_u64(argv[0], "HEIGHT", height, 1, INT64_MAX, &o->height))
        return CLI_EXIT_USAGE;
    return -1;
}

/* What the checks establish. */
typedef struct {
    qc_header_t header;
    qc_hash_t hash;
    qc_cert_t cert;
    qc_validator_set_t vs;       /* the validators of the block's epoch */
} block_checked_t;

/* Checks the node's block JSON b against what was asked and the genesis (and, for a later
 * epoch, the membership history the node serves, checked switch by switch). */
static int check_block(const block_opts_t *o, const char *api_url, const genesis_t *g,
                       const json_t *b, block_checked_t *out, char *why, size_t why_cap) {
    const json_t *hdr = json_object_get(b, "header");
    const char *canon = json_string_value(json_object_get(hdr, "canonical"));
    uint8_t raw[QC_HEADER_BYTES_MAX];
    size_t len = canon ? strlen(canon) / 2 : 0;
    if (canon == NULL || len > sizeof raw || qc_hex_decode(raw, len, canon) != QC_OK ||
        qc_header_decode(raw, len, &out->header) != QC_OK) {
        snprintf(why, why_cap, "the block has no decodable canonical header");
        return QC_ERR_INVALID;
    }
    qc_header_hash(&out->header, &out->hash);
    qc_hash_t want;
    char hex[65];
    if (o->hash_hex) qc_hex_decode(want.b, 32, o->hash_hex);
    if (o->hash_hex ? memcmp(want.b, out->hash.b, 32) != 0 : out->header.height != o->height) {
        snprintf(why, why_cap, "the node sent another block (height %" PRIu64 ", hash %s)",
                 out->header.height, qc_hash_hex(hex, &out->hash));
        return QC_ERR_INVALID;
    }
    if (strcmp(out->header.chain_id, g->chain_id) != 0) {
        snprintf(why, why_cap, "the block is of chain '%s', the genesis is of '%s'",
                 out->header.chain_id, g->chain_id);
        return QC_ERR_INVALID;
    }
    if (memcmp(out->header.genesis_hash.b, g->hash.b, 32) != 0) {
        char got[65], ours[65];
        snprintf(why, why_cap, "the block names genesis %s, the genesis file given is %s",
                 qc_hash_hex(got, &out->header.genesis_hash), qc_hash_hex(ours, &g->hash));
        return QC_ERR_INVALID;
    }
    char reason[256];
    int rc = receipt_cert_from_json(json_object_get(b, "cert"), &out->cert, reason, sizeof reason);
    if (rc == QC_OK && out->cert.height != out->header.height) {
        snprintf(reason, sizeof reason, "certificate is for height %" PRIu64, out->cert.height);
        rc = QC_ERR_INVALID;
    }
    if (rc == QC_OK) {
        rc = client_epoch_set(api_url, g, out->header.epoch, &out->vs, why, why_cap);
        if (rc != QC_OK) return rc;
        rc = qc_cert_verify(&out->cert, g->chain_id, &out->vs, &out->hash, reason, sizeof reason);
    }
    if (rc != QC_OK) snprintf(why, why_cap, "commit certificate: %s", reason);
    return rc;
}

static void print_block(const json_t *b, const block_checked_t *k) {
    const qc_validator_set_t *vs = &k->vs;
    const qc_header_t *h = &k->header;
    char hex[65], when[32];
    time_t t = (time_t)(h->time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *proposer = h->proposer < vs->n ? vs->members[h->proposer].name : "?";
    printf("block %" PRIu64 " of chain %s\n", h->height, h->chain_id);
    printf("  hash             %s\n", qc_hash_hex(hex, &k->hash));
    printf("  prev_hash        %s\n", qc_hash_hex(hex, &h->prev_hash));
    printf("  time             %s (%" PRIu64 " ms)\n", when, h->time_ms);
    printf("  proposer         %s (view %" PRIu64 ", epoch %" PRIu64 ")\n", proposer, h->view, h->epoch);
    printf("  validators_hash  %s\n", qc_hash_hex(hex, &h->validators_hash));
    printf("  tx_root          %s\n", qc_hash_hex(hex, &h->tx_root));
    printf("  log              size %" PRIu64 ", root %s\n", h->log_size, qc_hash_hex(hex, &h->log_root));
    printf("  state_root       %s\n", qc_hash_hex(hex, &h->state_root));
    const json_t *txs = json_object_get(b, "txs");
    printf("  transactions     %u\n", h->tx_count);
    for (size_t i = 0; i < json_array_size(txs); i++) {
        const json_t *tx = json_array_get(txs, i);
        json_int_t n = json_integer_value(json_object_get(tx, "records"));
        printf("    %s  %-12s %lld record%s\n", json_string_value(json_object_get(tx, "tx_id")),
               json_string_value(json_object_get(tx, "city")), (long long)n, n == 1 ? "" : "s");
    }
    printf("  certificate      verified: %u of %u member cities signed in view %" PRIu64
           " (quorum %u):", k->cert.vote_count, vs->n, k->cert.view, qc_quorum(vs->n));
    for (uint32_t i = 0; i < k->cert.vote_count; i++)
        printf("%s %s", i ? "," : "", vs->members[k->cert.votes[i].validator].name);
    printf("\n");
}

int cli_block(int argc, char **argv) {
    const char *cmd = argv[0];
    block_opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    client_target_t *t = malloc(sizeof *t);
    block_checked_t *k = malloc(sizeof *k);
    char why[768], path[128];
    if (t == NULL || k == NULL || client_target_load(&o.target, t, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", t && k ? why : "out of memory");
        free(t);
        free(k);
        return rc;
    }
    if (o.hash_hex) snprintf(path, sizeof path, "/v1/blocks/by-hash/%s", o.hash_hex);
    else snprintf(path, sizeof path, "/v1/blocks/%" PRIu64, o.height);
    long status;
    json_t *b = NULL;
    if (client_get(t->api_url, path, BLOCK_TIMEOUT_MS, &status, &b, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", why);
    } else if (status != 200 || !json_is_object(b)) {
        rc = cli_fail(cmd, "no block (HTTP %ld): %s", status, client_error_message(b));
    } else if (check_block(&o, t->api_url, &t->genesis, b, k, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "block %s does not check out: %s",
                      o.hash_hex ? o.hash_hex : path + strlen("/v1/blocks/"), why);
    } else if (o.json) {
        json_t *signers = json_array();
        for (uint32_t i = 0; i < k->cert.vote_count; i++)
            json_array_append_new(signers,
                                  json_string(k->vs.members[k->cert.votes[i].validator].name));
        json_object_set_new(b, "signers", signers);
        json_object_set_new(b, "quorum", json_integer(qc_quorum(k->vs.n)));
        rc = cli_print_json(cmd, json_incref(b));
    } else {
        print_block(b, k);
        rc = CLI_EXIT_OK;
    }
    json_decref(b);
    free(k);
    free(t);
    return rc;
}
