/* cmd_verify.c - `qchain verify [FILE] --receipt R --genesis G`: checks a receipt completely
 * offline against the chain's genesis file, and, given FILE, that FILE is the anchored record. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"
#include "receipt.h"

#define RECEIPT_FILE_BYTES_MAX (1u << 20)

static const char usage[] =
    "Usage: qchain verify [FILE] --receipt RECEIPT.json --genesis GENESIS.json\n"
    "                     [--salt FILE.salt] [--json]\n"
    "Verifies offline that the receipt proves its record was anchored by a member city and\n"
    "committed by a quorum of the consortium: the transaction's seal signature, the block's\n"
    "commit certificate against the validators of its epoch (reached from the genesis\n"
    "validators through the receipt's certified membership history), and the record's\n"
    "inclusion proof.\n"
    "With FILE, also that FILE's SHA-256 is the anchored digest; with --salt (a record anchored\n"
    "by qchain anchor --salted), that the salted digest of FILE is.\n"
    "A receipt with a \"status\" section (qchain receipt --status) also has its status proof\n"
    "verified, and the record's status (valid, revoked, superseded, endorsements) is printed\n"
    "with the block it holds as of.\n"
    "Exit status: 0 valid, 1 invalid (the reason is printed), 2 usage.\n";

int cli_verify(int argc, char **argv) {
    const char *cmd = argv[0], *rpath = NULL, *gpath = NULL, *spath = NULL;
    bool json = false, bad = false;
    enum { O_JSON = 256, O_SALT };
    static const struct option opts[] = {{"receipt", required_argument, NULL, 'r'},
                                         {"genesis", required_argument, NULL, 'g'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"salt", required_argument, NULL, O_SALT},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "r:g:h", opts, NULL)) != -1) {
        if (c == 'r') rpath = optarg;
        else if (c == 'g') gpath = optarg;
        else if (c == O_JSON) json = true;
        else if (c == O_SALT) spath = optarg;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    if (bad) return cli_usage_error(cmd, "unknown option or missing argument");
    if (rpath == NULL || gpath == NULL) return cli_usage_error(cmd, "--receipt and --genesis are required");
    if (argc - optind > 1) return cli_usage_error(cmd, "at most one FILE");
    const char *file = argc - optind == 1 ? argv[optind] : NULL;
    if (spath && file == NULL) return cli_usage_error(cmd, "--salt needs the FILE it salts");

    genesis_t *g = client_genesis_open(cmd, gpath);
    char why[512] = "";
    if (g == NULL) return CLI_EXIT_FAIL;
    qc_hash_t digest, *want = NULL;
    uint8_t salt[QC_SALT_BYTES];
    if (spath && client_salt_read(spath, salt, why, sizeof why) != QC_OK) {
        free(g);
        return cli_fail(cmd, "%s", why);
    }
    if (file) {
        int hrc = client_hash_file_salted(file, spath ? salt : NULL, &digest), err = errno;
        if (hrc != QC_OK) {
            sodium_memzero(salt, sizeof salt);
            free(g);
            return cli_fail(cmd, "%s: cannot read the file: %s", file, client_file_error(hrc, err));
        }
        want = &digest;
    }
    sodium_memzero(salt, sizeof salt);
    uint8_t *text;
    size_t len;
    errno = 0;
    int rc = qc_file_read(rpath, RECEIPT_FILE_BYTES_MAX, &text, &len);
    if (rc != QC_OK) {
        int err = errno;
        free(g);
        return cli_fail(cmd, "receipt %s: cannot read the file: %s", rpath,
                        client_file_error(rc, err));
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    receipt_t r;
    receipt_result_t res;
    statusproof_result_t sres = {0};
    bool has_status = false;
    qc_hash_t anchored = {{0}};
    if (j == NULL) {
        snprintf(why, sizeof why, "receipt is not JSON (line %d: %s)", jerr.line, jerr.text);
        rc = QC_ERR_INVALID;
    } else {
        rc = receipt_from_json(j, &r, why, sizeof why);
        if (rc == QC_OK) {
            rc = receipt_verify(&r, g->chain_id, &g->hash, &g->validators, want, &res, why, sizeof why);
            anchored = r.digest;
            receipt_free(&r);
        }
        const json_t *st = json_object_get(j, "status");
        if (rc == QC_OK && st != NULL) {
            has_status = true;
            char inner[448];
            rc = client_status_verify(st, g, &anchored, &sres, inner, sizeof inner);
            if (rc != QC_OK) snprintf(why, sizeof why, "status: %s", inner);
            else if (!sres.anchored) {
                snprintf(why, sizeof why, "status: the proof says the record was never anchored");
                rc = QC_ERR_INVALID;
            }
        }
        json_decref(j);
    }
    char salt_path[4200];
    snprintf(salt_path, sizeof salt_path, "%s.salt", file ? file : "");
    if (rc != QC_OK && file && !spath && memcmp(anchored.b, digest.b, 32) != 0 &&
        access(salt_path, F_OK) == 0) {
        size_t used = strlen(why);
        snprintf(why + used, sizeof why - used, " (%.200s exists: if the record was anchored "
                 "salted, pass --salt with it)", salt_path);
    }
    if (rc != QC_OK) {
        if (json) cli_print_json(cmd, json_pack("{s:b, s:s}", "valid", 0, "reason", why));
        else printf("INVALID: %s\n", why);
        statusproof_result_free(&sres);
        free(g);
        return CLI_EXIT_FAIL;
    }
    char hex[65], when[32];
    qc_hex_encode(hex, anchored.b, 32);
    time_t t = (time_t)(res.time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *display = client_city_display(g, &res);
    if (json) {
        json_t *out = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:b, s:b}",
                                "valid", 1, "digest", hex, "city", res.city_name, "city_display",
                                display, "height", (json_int_t)res.height, "epoch",
                                (json_int_t)res.epoch, "time", when, "signers",
                                (json_int_t)res.signers, "quorum", (json_int_t)res.quorum,
                                "members", (json_int_t)res.members, "file_matches", file != NULL,
                                "salted", spath != NULL);
        if (out && has_status) json_object_set_new(out, "status", client_status_json(&sres));
        cli_print_json(cmd, out);
    } else {
        printf("VALID: record %s\n  anchored by %s (%s) in block %llu at %s\n"
               "  committed by %u of %u member cities (quorum %u) of epoch %llu%s\n",
               hex, display, res.city_name, (unsigned long long)res.height, when, res.signers,
               res.members, res.quorum, (unsigned long long)res.epoch,
               !file ? "" : spath ? "\n  the file with its salt matches the anchored (salted) digest"
                                  : "\n  the file matches the anchored digest");
        if (has_status) {
            char words[2048];
            client_status_words(&sres, words, sizeof words);
            printf("  status: %s\n  as of block %llu (epoch %llu), committed by %u of %u member "
                   "cities (quorum %u)\n", words, (unsigned long long)sres.block.height,
                   (unsigned long long)sres.block.epoch, sres.block.signers, sres.block.members, sres.block.quorum);
        }
    }
    statusproof_result_free(&sres);
    free(g);
    return CLI_EXIT_OK;
}
