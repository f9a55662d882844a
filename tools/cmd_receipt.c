/* cmd_receipt.c - `qchain receipt DIGEST | --file FILE`: fetches a record's receipt from a
 * node, verifies it offline against the genesis (as `qchain verify` would) and only then
 * writes it. A node can serve anything; a receipt that does not verify is never written. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"

static const char usage[] =
    "Usage: qchain receipt (DIGEST | --file FILE) (--config NODE.json | --api URL --genesis G)\n"
    "                      [--salt FILE.salt] [--tx TX_ID] [--out R.json] [--json]\n"
    "Fetches the receipt of a record (DIGEST: the 64-hex SHA-256 of the document, or --file to\n"
    "hash FILE locally), verifies it offline against the genesis, and writes it to --out\n"
    "(default FILE.receipt.json with --file, DIGEST.receipt.json otherwise; '-' is stdout).\n"
    "      --file FILE     hash FILE and also check that it is the anchored record\n"
    "      --salt S        with --file: the record was anchored salted (anchor --salted),\n"
    "                      with the salt in file S\n"
    "      --tx TX_ID      the anchoring by this transaction (a digest several cities anchored\n"
    "                      has one receipt each; default: the first anchoring)\n"
    "      --status        add the record's status proof as of the node's latest block (valid,\n"
    "                      revoked, superseded, endorsements), verified too (PROTOCOL.md §12)\n"
    "  -o, --out PATH      where to write the verified receipt ('-' for stdout)\n" CLIENT_TARGET_USAGE
    "      --json          print the result as JSON\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 receipt verified and written, 1 not anchored, node unreachable, or the\n"
    "receipt does not verify (nothing is written), 2 usage.\n";

typedef struct {
    client_target_opts_t target;
    const char *file, *out, *digest_hex, *tx_hex, *salt;
    bool json, status;
} receipt_opts_t;

static int parse(int argc, char **argv, receipt_opts_t *o) {
    enum { O_FILE = 256, O_JSON, O_TX, O_SALT, O_STATUS };
    static const struct option opts[] = {CLIENT_TARGET_OPTIONS,
                                         {"file", required_argument, NULL, O_FILE},
                                         {"salt", required_argument, NULL, O_SALT},
                                         {"tx", required_argument, NULL, O_TX},
                                         {"out", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"status", no_argument, NULL, O_STATUS},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    *o = (receipt_opts_t){{0}, NULL, NULL, NULL, NULL, NULL, false, false};
    bool bad = false;
    cli_getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1;) {
        if (client_target_opt(c, optarg, &o->target)) continue;
        if (c == O_FILE) o->file = optarg;
        else if (c == O_SALT) o->salt = optarg;
        else if (c == O_TX) o->tx_hex = optarg;
        else if (c == 'o') o->out = optarg;
        else if (c == O_JSON) o->json = true;
        else if (c == O_STATUS) o->status = true;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    int rc = client_target_finish(argv[0], argc, argv, bad, &o->target, o->file, &o->digest_hex);
    if (rc >= 0) return rc;
    if ((o->file == NULL) == (o->digest_hex == NULL))
        return cli_usage_error(argv[0], "give a DIGEST or --file FILE (one of them)");
    if (o->salt && o->file == NULL) return cli_usage_error(argv[0], "--salt goes with --file");
    qc_hash_t d;
    if (o->digest_hex && qc_hex_decode(d.b, 32, o->digest_hex) != QC_OK)
        return cli_usage_error(argv[0], "DIGEST must be 64 hex characters, got '%s'", o->digest_hex);
    if (o->tx_hex && qc_hex_decode(d.b, 32, o->tx_hex) != QC_OK)
        return cli_usage_error(argv[0], "--tx must be 64 hex characters, got '%s'", o->tx_hex);
    if (o->out && strcmp(o->out, "-") == 0 && o->json)
        return cli_usage_error(argv[0], "--json prints to stdout; write the receipt to a file");
    return -1;
}

static void print_result(const char *cmd, const receipt_opts_t *o, const client_target_t *t,
                         const char *hex, const char *path, const receipt_result_t *res) {
    const char *display = client_city_display(&t->genesis, res);
    if (o->json) {
        cli_print_json(cmd,
                       json_pack("{s:s, s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:s}", "digest", hex,
                                 "valid", 1, "city", res->city_name, "city_display", display,
                                 "height", (json_int_t)res->height, "signers",
                                 (json_int_t)res->signers, "quorum", (json_int_t)res->quorum,
                                 "members", (json_int_t)res->members, "file_matches",
                                 o->file != NULL, "receipt", path));
    } else if (strcmp(path, "-") != 0) {
        printf("VALID: record %s\n  anchored by %s (%s) in block %llu, committed by %u of %u "
               "member cities (quorum %u)\n  receipt written to %s\n",
               hex, display, res->city_name, (unsigned long long)res->height, res->signers,
               res->members, res->quorum, path);
    }
}

/* Fetches the status proof of digest, verifies it, and puts it in receipt j as "status". */
static int add_status(const client_target_t *t, const qc_hash_t *digest, json_t *j, char *why,
                      size_t why_cap) {
    char path[200], hex[65];
    snprintf(path, sizeof path, "/v1/records/%s/status-proof", qc_hash_hex(hex, digest));
    long status = 0;
    json_t *sp = NULL;
    int rc = client_get(t->api_url, path, 10000, &status, &sp, why, why_cap);
    if (rc == QC_OK && status != 200) {
        snprintf(why, why_cap, "status proof: the node answered HTTP %ld: %s", status,
                 client_error_message(sp));
        rc = QC_ERR_NOTFOUND;
    }
    statusproof_result_t res;
    char inner[512];
    if (rc == QC_OK && (rc = client_status_verify(sp, &t->genesis, digest, &res, inner,
                                                  sizeof inner)) != QC_OK)
        snprintf(why, why_cap, "the node's status proof does not verify: %s", inner);
    if (rc == QC_OK) {
        if (!res.anchored) {
            snprintf(why, why_cap, "the node's status proof says the record was never anchored");
            rc = QC_ERR_INVALID;
        }
        statusproof_result_free(&res);
    }
    if (rc == QC_OK) json_object_set(j, "status", sp);
    json_decref(sp);
    return rc;
}

int cli_receipt(int argc, char **argv) {
    const char *cmd = argv[0];
    receipt_opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    qc_hash_t digest;
    char hex[65], why[768], path[4200];
    if (o.file) {
        uint8_t salt[QC_SALT_BYTES];
        if (o.salt && client_salt_read(o.salt, salt, why, sizeof why) != QC_OK)
            return cli_fail(cmd, "%s", why);
        rc = client_hash_file_salted(o.file, o.salt ? salt : NULL, &digest);
        int err = errno;
        sodium_memzero(salt, sizeof salt);
        if (rc != QC_OK)
            return cli_fail(cmd, "%s: cannot read the file: %s", o.file, client_file_error(rc, err));
    } else {
        qc_hex_decode(digest.b, 32, o.digest_hex);
    }
    qc_hash_hex(hex, &digest);
    if (o.out) snprintf(path, sizeof path, "%s", o.out);
    else snprintf(path, sizeof path, "%s.receipt.json", o.file ? o.file : hex);

    client_target_t *t = malloc(sizeof *t);
    if (t == NULL || client_target_load(&o.target, t, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", t ? why : "out of memory");
        free(t);
        return rc;
    }
    json_t *j = NULL;
    receipt_result_t res;
    qc_hash_t tx;
    if (o.tx_hex) qc_hex_decode(tx.b, 32, o.tx_hex);
    rc = client_fetch_receipt(t->api_url, &t->genesis, &digest, o.tx_hex ? &tx : NULL,
                              o.file ? &digest : NULL, &j, &res, why, sizeof why);
    if (rc == QC_OK && o.status) rc = add_status(t, &digest, j, why, sizeof why);
    if (rc != QC_OK) {
        rc = cli_fail(cmd, "%s", why);
    } else if (strcmp(path, "-") == 0) {
        rc = cli_print_json(cmd, json_incref(j));
    } else if ((rc = client_write_json(path, j)) != QC_OK) {
        rc = cli_fail(cmd, "%s: cannot write the file: %s", path, client_file_error(rc, errno));
    } else {
        print_result(cmd, &o, t, hex, path, &res);
        rc = CLI_EXIT_OK;
    }
    json_decref(j);
    free(t);
    return rc;
}
