/* cmd_statusproof.c - `qchain status-proof`: what the chain says of a record as of its latest
 * block (valid, revoked, superseded, its endorsements, or that it was never anchored), fetched
 * from a node and verified offline against the genesis before it is shown or written; or a
 * saved proof checked offline; and, with --as-of, the status at an earlier block derived from
 * it. A node can serve anything: only a verified proof is believed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"

#define PROOF_FILE_BYTES_MAX (1u << 20)

static const char usage[] =
    "Usage: qchain status-proof (DIGEST | --file FILE) (--config NODE.json | --api URL --genesis G)\n"
    "                           [--out P.json] [--as-of H] [--json]\n"
    "       qchain status-proof --proof P.json --genesis G [--file FILE] [--as-of H] [--json]\n"
    "Fetches the proof of a record's current status (docs/PROTOCOL.md §12) from a node and\n"
    "verifies it offline against the genesis: the status (owner, valid / revoked / superseded,\n"
    "endorsements) or the proof that the digest was never anchored, as of the node's latest\n"
    "block, whose header the consortium's quorum signed. With --proof, checks a saved proof\n"
    "offline instead.\n"
    "      --file FILE     hash FILE for the digest (with --proof: check it is the proof's)\n"
    "      --salt S        with --file: the record was anchored salted (anchor --salted), with\n"
    "                      the salt in file S\n"
    "  -o, --out PATH      also write the verified proof there ('-' for stdout)\n"
    "      --proof P       verify the saved proof P offline (needs --genesis)\n"
    "      --as-of H       also say what the status was as of block H (at most the proof's\n"
    "                      block): a status only grows, so the verified proof settles it\n"
    "                      (docs/PROTOCOL.md §12.5)\n" CLIENT_TARGET_USAGE
    "      --json          print the result as JSON\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 proof verified (whatever the status says), 1 the proof does not verify or\n"
    "the node cannot be reached, 2 usage.\n";

/* --as-of: none, or the block the status is wanted at. */
typedef struct {
    bool set;
    uint64_t height;
} as_of_t;

/* Turns the verified *res (as of its block N) into the status as of block a->height <= N
 * (qc_recstat_as_of); QC_ERR_RANGE with why for a later block. */
static int derive_as_of(const as_of_t *a, statusproof_result_t *res, char *why, size_t cap) {
    if (!a->set) return QC_OK;
    if (a->height > res->block.height) {
        snprintf(why, cap, "the proof is as of block %llu: it cannot say what the status is at "
                 "the later block %llu (fetch a newer proof)", (unsigned long long)res->block.height,
                 (unsigned long long)a->height);
        return QC_ERR_RANGE;
    }
    if (res->anchored && qc_recstat_as_of(res->status, a->height, res->status) == QC_ERR_NOTFOUND)
        res->anchored = false; /* first anchored after a->height */
    return QC_OK;
}

static int print(const char *cmd, bool json, const char *hex, const statusproof_result_t *res,
                 const as_of_t *a) {
    char words[2048];
    client_status_words(res, words, sizeof words);
    if (a->set && !res->anchored) snprintf(words, sizeof words, "not anchored (yet)");
    if (json) {
        json_t *j = client_status_json(res);
        if (j == NULL) return cli_fail(cmd, "out of memory");
        json_object_set_new(j, "digest", json_string(hex));
        json_object_set_new(j, "valid", json_true());
        if (a->set) {
            json_object_set_new(j, "as_of_height", json_integer((json_int_t)a->height));
            json_object_set_new(j, "proof_height", json_integer((json_int_t)res->block.height));
        }
        return cli_print_json(cmd, j);
    }
    printf("VALID proof: record %s\n", hex);
    if (a->set)
        printf("  as of block %llu: %s\n  derived from the proof as of block %llu (epoch %llu), "
               "committed by %u of %u member cities (quorum %u)\n",
               (unsigned long long)a->height, words, (unsigned long long)res->block.height,
               (unsigned long long)res->block.epoch, res->block.signers, res->block.members,
               res->block.quorum);
    else
        printf("  %s\n  as of block %llu (epoch %llu), committed by %u of %u member cities "
               "(quorum %u)\n", words, (unsigned long long)res->block.height,
               (unsigned long long)res->block.epoch, res->block.signers, res->block.members,
               res->block.quorum);
    if (res->anchored)
        printf("  owner %s, first anchored at height %llu\n", res->status->owner,
               (unsigned long long)res->status->first_height);
    if (a->set && res->anchored && res->status->supersedes_count > 0)
        printf("  the %u records it replaced are listed as of block %llu (when each was replaced "
               "is in that record's own status)\n", res->status->supersedes_count,
               (unsigned long long)res->block.height);
    return CLI_EXIT_OK;
}

/* Offline: --proof P --genesis G. */

static int offline(const char *cmd, const char *proof, const char *gpath, const char *file,
                   const char *salt, const as_of_t *a, bool json) {
    genesis_t *g = client_genesis_open(cmd, gpath);
    char why[768] = "";
    if (g == NULL) return CLI_EXIT_FAIL;
    qc_hash_t fd;
    int frc = file ? client_file_digest(cmd, file, salt, &fd) : -1;
    if (frc >= 0) {
        free(g);
        return frc;
    }
    uint8_t *text;
    size_t len;
    errno = 0;
    int rc = qc_file_read(proof, PROOF_FILE_BYTES_MAX, &text, &len);
    if (rc != QC_OK) {
        int err = errno;
        free(g);
        return cli_fail(cmd, "proof %s: cannot read the file: %s", proof, client_file_error(rc, err));
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    statusproof_result_t res;
    if (j == NULL) {
        snprintf(why, sizeof why, "proof is not JSON (line %d: %s)", jerr.line, jerr.text);
        rc = QC_ERR_INVALID;
    } else {
        rc = client_status_verify(j, g, file ? &fd : NULL, &res, why, sizeof why);
    }
    char hex[65] = "";
    const json_t *d = json_object_get(j, "digest");
    if (json_is_string(d)) snprintf(hex, sizeof hex, "%s", json_string_value(d));
    json_decref(j);
    free(g);
    if (rc != QC_OK) {
        if (json) cli_print_json(cmd, json_pack("{s:b, s:s}", "valid", 0, "reason", why));
        else printf("INVALID: %s\n", why);
        return CLI_EXIT_FAIL;
    }
    if (derive_as_of(a, &res, why, sizeof why) != QC_OK) { /* valid, but not an answer */
        statusproof_result_free(&res);
        return cli_fail(cmd, "%s", why);
    }
    rc = print(cmd, json, hex, &res, a);
    statusproof_result_free(&res);
    return rc;
}

int cli_status_proof(int argc, char **argv) {
    const char *cmd = argv[0], *file = NULL, *out = NULL, *proof = NULL, *digest_hex = NULL,
               *salt = NULL;
    bool json = false, bad = false;
    as_of_t as_of = {false, 0};
    client_target_opts_t target = {0};
    enum { O_FILE = 256, O_JSON, O_PROOF, O_SALT, O_AS_OF };
    static const struct option opts[] = {CLIENT_TARGET_OPTIONS,
                                         {"file", required_argument, NULL, O_FILE},
                                         {"proof", required_argument, NULL, O_PROOF},
                                         {"salt", required_argument, NULL, O_SALT},
                                         {"as-of", required_argument, NULL, O_AS_OF},
                                         {"out", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    cli_getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1;) {
        if (client_target_opt(c, optarg, &target)) continue;
        if (c == O_FILE) file = optarg;
        else if (c == O_PROOF) proof = optarg;
        else if (c == O_SALT) salt = optarg;
        else if (c == O_AS_OF) {
            if (!cli_parse_u64(cmd, "--as-of", optarg, 1, INT64_MAX, &as_of.height))
                return CLI_EXIT_USAGE;
            as_of.set = true;
        } else if (c == 'o') out = optarg;
        else if (c == O_JSON) json = true;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    if (salt && file == NULL) return cli_usage_error(cmd, "--salt goes with --file");
    if (proof) {
        if (bad) return cli_usage_error(cmd, "unknown option or missing argument");
        if (target.genesis == NULL) return cli_usage_error(cmd, "--proof needs --genesis");
        if (optind != argc || out || target.api || target.config)
            return cli_usage_error(cmd, "--proof takes only --genesis, --file, --salt, --as-of "
                                        "and --json");
        return offline(cmd, proof, target.genesis, file, salt, &as_of, json);
    }
    int rc = client_target_finish(cmd, argc, argv, bad, &target, file, &digest_hex);
    if (rc >= 0) return rc;
    if ((file == NULL) == (digest_hex == NULL))
        return cli_usage_error(cmd, "give a DIGEST or --file FILE (one of them)");
    qc_hash_t digest;
    if (digest_hex && qc_hex_decode(digest.b, 32, digest_hex) != QC_OK)
        return cli_usage_error(cmd, "DIGEST must be 64 hex characters, got '%s'", digest_hex);
    if (out && strcmp(out, "-") == 0 && json)
        return cli_usage_error(cmd, "--json prints to stdout; write the proof to a file");
    if (file && (rc = client_file_digest(cmd, file, salt, &digest)) >= 0) return rc;
    char why[768], hex[65], path[200];
    qc_hash_hex(hex, &digest);
    client_target_t *t = malloc(sizeof *t);
    if (t == NULL || client_target_load(&target, t, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", t ? why : "out of memory");
        free(t);
        return rc;
    }
    snprintf(path, sizeof path, "/v1/records/%s/status-proof", hex);
    long status = 0;
    json_t *j = NULL;
    rc = client_get(t->api_url, path, 10000, &status, &j, why, sizeof why);
    statusproof_result_t res;
    if (rc == QC_OK && status != 200) {
        snprintf(why, sizeof why, "the node answered HTTP %ld: %s", status,
                 client_error_message(j));
        rc = QC_ERR_NOTFOUND;
    }
    if (rc == QC_OK) rc = client_status_verify(j, &t->genesis, &digest, &res, why, sizeof why);
    if (rc == QC_OK && (rc = derive_as_of(&as_of, &res, why, sizeof why)) != QC_OK)
        statusproof_result_free(&res);
    if (rc != QC_OK) {
        json_decref(j);
        free(t);
        return cli_fail(cmd, "%s", why);
    }
    if (out && strcmp(out, "-") == 0) rc = cli_print_json(cmd, json_incref(j));
    else if (out && (rc = client_write_json(out, j)) != QC_OK)
        rc = cli_fail(cmd, "%s: cannot write the file: %s", out, client_file_error(rc, errno));
    else rc = print(cmd, json, hex, &res, &as_of);
    statusproof_result_free(&res);
    json_decref(j);
    free(t);
    return rc;
}
