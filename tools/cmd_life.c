/* cmd_life.c - `qchain endorse`, `qchain revoke` and `qchain supersede`: a city's record
 * lifecycle transactions (docs/RECORDS.md), signed with the city's seal key (from its node
 * config, or --seal-key with --api and --genesis on a host without one), submitted to its node
 * and waited for, as `qchain anchor` does. A record is named by its digest (64 hex) or by the
 * file it is the SHA-256 of. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"
#include "recstat.h"

#define LIFE_TTL_BLOCKS 1000

static const char usage_endorse[] =
    "Usage: qchain endorse DIGEST|--file FILE --purpose N SIGNER [OPTIONS]\n"
    "Countersigns a record another city anchored, with a purpose code (1 e-seal recognition,\n"
    "2 licence acceptance, 3 data verified; any 1..65535 is allowed).\n"
    "      --purpose N     purpose code, 1..65535 (required)\n"
    "      --note TEXT     a note of at most 64 bytes of UTF-8\n";
static const char usage_revoke[] =
    "Usage: qchain revoke DIGEST|--file FILE --reason N SIGNER [OPTIONS]\n"
    "Revokes one of the city's own records, with a reason code (1 issued in error, 2 expired\n"
    "or withdrawn, 3 key compromise, 4 court order; any 1..65535 is allowed).\n"
    "      --reason N      reason code, 1..65535 (required)\n";
static const char usage_supersede[] =
    "Usage: qchain supersede OLD NEW | --file OLD_FILE --new-file NEW_FILE SIGNER [OPTIONS]\n"
    "Names NEW, a record the city anchored, as the replacement of OLD, another of its records.\n"
    "      --new-file F    the new record's file (with --file, instead of NEW)\n";
static const char usage_common[] =
    "SIGNER is --config NODE.json, or --api URL --genesis GENESIS.json --seal-key SEAL.key\n"
    "with no node config (the seal key can stay on the city's signing host).\n"
    "      --file FILE     the record's file: its SHA-256 is the digest\n"
    CLIENT_SIGNER_USAGE
    "      --wait-ms MS    how long to wait for the commit (default 30000)\n"
    "      --json          print the result as JSON\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 committed, 1 failure or refused (the node's reason is printed), 2 usage,\n"
    "3 submitted but not committed within --wait-ms.\n";

typedef struct {
    uint16_t type;
    client_target_opts_t target;
    const char *file, *new_file, *note;
    uint64_t code, wait_ms;
    bool json;
    qc_life_op_t op;
} life_opts_t;

static int help(uint16_t type) {
    fputs(type == QC_TX_ENDORSE ? usage_endorse : type == QC_TX_REVOKE ? usage_revoke
                                                                     : usage_supersede, stdout);
    fputs(usage_common, stdout);
    return CLI_EXIT_OK;
}

/* The digest of a record named by a positional argument (64 hex) or a file. */
static int record_digest(const char *cmd, const char *hex, const char *file, qc_hash_t *out) {
    if (file != NULL) {
        return client_file_digest(cmd, file, NULL, out);
    }
    if (hex == NULL || strlen(hex) != 64 || qc_hex_decode(out->b, 32, hex) != QC_OK)
        return cli_usage_error(cmd, "a record is 64 hex characters of SHA-256, or --file FILE");
    return -1;
}

static int parse(int argc, char **argv, life_opts_t *o) {
    enum { O_FILE = 256, O_NEWFILE, O_PURPOSE, O_REASON, O_NOTE, O_WAIT, O_JSON };
    static const struct option opts[] = {
        CLIENT_SIGNER_OPTIONS,
        {"file", required_argument, NULL, O_FILE}, {"new-file", required_argument, NULL, O_NEWFILE},
        {"purpose", required_argument, NULL, O_PURPOSE}, {"reason", required_argument, NULL, O_REASON},
        {"note", required_argument, NULL, O_NOTE}, {"wait-ms", required_argument, NULL, O_WAIT},
        {"json", no_argument, NULL, O_JSON}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *cmd = argv[0];
    o->wait_ms = 30000;
    cli_getopt_reset();
    int c;
    bool bad = false, purpose = false, reason = false;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (client_target_opt(c, optarg, &o->target)) continue;
        switch (c) {
        case O_FILE: o->file = optarg; break;
        case O_NEWFILE: o->new_file = optarg; break;
        case O_NOTE: o->note = optarg; break;
        case O_PURPOSE:
        case O_REASON:
            if (!cli_parse_u64(cmd, c == O_PURPOSE ? "--purpose" : "--reason", optarg, 1, 65535, &o->code))
                return CLI_EXIT_USAGE;
            if (c == O_PURPOSE) purpose = true; else reason = true;
            break;
        case O_WAIT:
            if (!cli_parse_u64(cmd, "--wait-ms", optarg, 0, 600000, &o->wait_ms)) return CLI_EXIT_USAGE;
            break;
        case O_JSON: o->json = true; break;
        case 'h': return help(o->type);
        default: bad = true;
        }
    }
    if (bad) return cli_usage_error(cmd, "unknown option or missing argument");
    int rc = client_signer_check(cmd, &o->target);
    if (rc >= 0) return rc;
    bool endorse = o->type == QC_TX_ENDORSE, revoke = o->type == QC_TX_REVOKE;
    if ((endorse && !purpose) || (revoke && !reason))
        return cli_usage_error(cmd, "%s is required", endorse ? "--purpose" : "--reason");
    if ((!endorse && purpose) || (!revoke && reason) || (!endorse && o->note) ||
        (o->type != QC_TX_SUPERSEDE && o->new_file))
        return cli_usage_error(cmd, "an option of another command was given");
    if (o->note && strlen(o->note) > QC_NOTE_MAX)
        return cli_usage_error(cmd, "--note is at most %d bytes", QC_NOTE_MAX);
    if (o->note) snprintf(o->op.note, sizeof o->op.note, "%s", o->note);
    o->op.code = (uint16_t)o->code;
    int npos = argc - optind, want = (o->file ? 0 : 1) + (o->type == QC_TX_SUPERSEDE && !o->new_file ? 1 : 0);
    if (o->type == QC_TX_SUPERSEDE && (o->file == NULL) != (o->new_file == NULL))
        return cli_usage_error(cmd, "give OLD NEW, or --file with --new-file");
    if (npos != want) return cli_usage_error(cmd, "expected %d record argument%s", want, want == 1 ? "" : "s");
    rc = record_digest(cmd, npos > 0 ? argv[optind] : NULL, o->file, &o->op.digest);
    if (rc < 0 && o->type == QC_TX_SUPERSEDE)
        rc = record_digest(cmd, npos > 1 ? argv[optind + 1] : NULL, o->new_file, &o->op.new_digest);
    if (rc < 0 && o->type == QC_TX_SUPERSEDE && sodium_memcmp(o->op.digest.b, o->op.new_digest.b, 32) == 0)
        rc = cli_usage_error(cmd, "the old and the new record are the same");
    return rc;
}

/* What the transaction did, for people and for --json. */
static json_t *result_json(const life_opts_t *o, const qc_tx_t *tx, uint64_t height,
                           const char *city) {
    char idhex[65], dhex[65], nhex[65];
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s}", "type",
                          o->type == QC_TX_ENDORSE ? "endorse" : o->type == QC_TX_REVOKE ? "revoke" : "supersede",
                          "tx_id", qc_hash_hex(idhex, &tx->id), "height", (json_int_t)height,
                          "city", city, "digest", qc_hash_hex(dhex, &o->op.digest));
    if (o->type == QC_TX_ENDORSE) {
        const char *name = qc_purpose_name(o->op.code);
        json_object_set_new(j, "purpose", json_integer(o->op.code));
        json_object_set_new(j, "purpose_name", name ? json_string(name) : json_null());
        json_object_set_new(j, "note", json_string(o->op.note));
    } else if (o->type == QC_TX_REVOKE) {
        const char *name = qc_reason_name(o->op.code);
        json_object_set_new(j, "reason", json_integer(o->op.code));
        json_object_set_new(j, "reason_name", name ? json_string(name) : json_null());
    } else {
        json_object_set_new(j, "new_digest", json_string(qc_hash_hex(nhex, &o->op.new_digest)));
    }
    /* the signed transaction itself, as POST /v1/transactions takes it, for the city's files */
    client_json_add_signed(j, tx);
    return j;
}

static void print_result(const life_opts_t *o, const qc_tx_t *tx, uint64_t height,
                         const char *city) {
    char idhex[65], dhex[65], nhex[65];
    qc_hash_hex(dhex, &o->op.digest);
    printf("committed tx %s in block %llu, sealed by %s\n", qc_hash_hex(idhex, &tx->id),
           (unsigned long long)height, city);
    if (o->type == QC_TX_ENDORSE) {
        const char *name = qc_purpose_name(o->op.code);
        printf("  endorsed %s, purpose %u%s%s%s\n", dhex, o->op.code, name ? " (" : "",
               name ? name : "", name ? ")" : "");
    } else if (o->type == QC_TX_REVOKE) {
        const char *name = qc_reason_name(o->op.code);
        printf("  revoked %s, reason %u%s%s%s\n", dhex, o->op.code, name ? " (" : "",
               name ? name : "", name ? ")" : "");
    } else {
        printf("  %s superseded by %s\n", dhex, qc_hash_hex(nhex, &o->op.new_digest));
    }
}

static int run(int argc, char **argv, uint16_t type) {
    const char *cmd = argv[0];
    life_opts_t o;
    memset(&o, 0, sizeof o);
    o.type = type;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    client_identity_t *id = calloc(1, sizeof *id);
    char why[512];
    if (id == NULL || client_identity_open(&o.target, true, id, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", id ? why : "out of memory");
        free(id);
        return rc;
    }
    const char *api = id->api_url;
    qc_tx_t tx = {0};
    uint64_t nonce, height = 0;
    randombytes_buf(&nonce, sizeof nonce);
    if (qc_life_tx_build(id->genesis.chain_id, type, &id->seal.sk, nonce,
                         client_current_height(api) + LIFE_TTL_BLOCKS, &o.op, &tx) != QC_OK)
        rc = cli_fail(cmd, "cannot build the transaction (is the note UTF-8?)");
    else
        rc = client_submit_wait(cmd, api, &tx, o.wait_ms, &height);
    if (rc == CLI_EXIT_OK) {
        if (o.json) rc = cli_print_json(cmd, result_json(&o, &tx, height, id->cfg.city));
        else print_result(&o, &tx, height, id->cfg.city);
    }
    qc_tx_free(&tx);
    client_identity_wipe(id);
    free(id);
    return rc;
}

int cli_endorse(int argc, char **argv) { return run(argc, argv, QC_TX_ENDORSE); }
int cli_revoke(int argc, char **argv) { return run(argc, argv, QC_TX_REVOKE); }
int cli_supersede(int argc, char **argv) { return run(argc, argv, QC_TX_SUPERSEDE); }
