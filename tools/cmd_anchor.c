/* cmd_anchor.c - `qchain anchor FILE...`: hashes files locally, signs one ANCHOR transaction
 * with the city's seal key, submits it to the city's node, waits for the commit, then fetches,
 * verifies and writes a receipt next to each file (FILE.receipt.json). The seal key comes from
 * the node config or, on a signing host without one, from --seal-key with --api and --genesis. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"
#include "receipt.h"

#define ANCHOR_TTL_BLOCKS 1000
/* Files in one run: up to 64 transactions of QC_TX_RECORDS_MAX, submitted as one batch. */
#define ANCHOR_TXS_MAX 64
#define ANCHOR_FILES_MAX (QC_TX_RECORDS_MAX * ANCHOR_TXS_MAX)

static const char usage[] =
    "Usage: qchain anchor FILE... --config NODE.json [OPTIONS]\n"
    "       qchain anchor FILE... --api URL --genesis GENESIS.json --seal-key SEAL.key [OPTIONS]\n"
    "Anchors the SHA-256 digests of FILEs in one transaction signed with the city's seal key\n"
    "(more than 1024 files: one transaction per 1024, up to 64, sent in one batch request),\n"
    "waits for the consortium to commit it, and writes FILE.receipt.json.\n"
    "The second form needs no node config: the seal key can stay on the city's signing host\n"
    "while the node's host holds only the node key.\n"
    CLIENT_SIGNER_USAGE
    "      --type TYPE     record type, [a-z0-9._-] (default: document)\n"
    "      --ref REF       external reference for every file (default: the file name)\n"
    "      --wait-ms MS    how long to wait for the commit (default 30000)\n"
    "      --no-receipt    do not fetch and write receipts\n"
    "      --salted        anchor a salted commitment of each file, not its plain SHA-256: a\n"
    "                      fresh random salt per file is written to FILE.salt (0600) before\n"
    "                      anything is sent; keep it with the receipt (qchain verify --salt):\n"
    "                      without it nobody, the city included, can prove the record again\n"
    "      --json          print the result as JSON\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 committed (and receipts verified), 1 failure or refused, 2 usage,\n"
    "3 submitted but not committed within --wait-ms.\n";

typedef struct {
    client_target_opts_t target;
    const char *type, *ref;
    uint64_t wait_ms;
    bool receipts, json, salted;
    int nfiles;
    char **files;
} anchor_opts_t;

static int parse(int argc, char **argv, anchor_opts_t *o) {
    enum { O_TYPE = 256, O_REF, O_WAIT, O_NORECEIPT, O_JSON, O_SALTED };
    static const struct option opts[] = {
        CLIENT_SIGNER_OPTIONS, {"type", required_argument, NULL, O_TYPE},
        {"ref", required_argument, NULL, O_REF}, {"wait-ms", required_argument, NULL, O_WAIT},
        {"no-receipt", no_argument, NULL, O_NORECEIPT}, {"json", no_argument, NULL, O_JSON},
        {"salted", no_argument, NULL, O_SALTED},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    *o = (anchor_opts_t){{0}, "document", NULL, 30000, true, false, false, 0, NULL};
    cli_getopt_reset();
    int c;
    bool bad = false;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (client_target_opt(c, optarg, &o->target)) continue;
        switch (c) {
        case O_TYPE: o->type = optarg; break;
        case O_REF: o->ref = optarg; break;
        case O_WAIT:
            if (!cli_parse_u64(argv[0], "--wait-ms", optarg, 0, 600000, &o->wait_ms)) return CLI_EXIT_USAGE;
            break;
        case O_NORECEIPT: o->receipts = false; break;
        case O_JSON: o->json = true; break;
        case O_SALTED: o->salted = true; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: bad = true;
        }
    }
    if (bad) return cli_usage_error(argv[0], "unknown option or missing argument");
    int rc = client_signer_check(argv[0], &o->target);
    if (rc >= 0) return rc;
    o->nfiles = argc - optind;
    o->files = argv + optind;
    if (o->nfiles < 1) return cli_usage_error(argv[0], "name at least one FILE");
    if (o->nfiles > ANCHOR_FILES_MAX) return cli_usage_error(argv[0], "at most %d files", ANCHOR_FILES_MAX);
    return -1;
}

/* Builds and signs the transaction of files first..first+count-1. */
static int build_tx(const char *cmd, const anchor_opts_t *o, client_identity_t *id,
                    const qc_hash_t *digests, int first, int count, uint64_t height, qc_tx_t *tx) {
    qc_txb_t b;
    uint64_t nonce;
    randombytes_buf(&nonce, sizeof nonce);
    qc_txb_init(&b, id->genesis.chain_id, &id->seal.pk, nonce, height + ANCHOR_TTL_BLOCKS);
    for (int i = first; i < first + count; i++) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", o->files[i]);
        char ref[QC_EXTREF_MAX + 1];
        snprintf(ref, sizeof ref, "%s", o->ref ? o->ref : basename(copy));
        if (qc_txb_add_record(&b, &digests[i], o->type, ref, NULL) != QC_OK) {
            qc_txb_abort(&b);
            return cli_fail(cmd, "%s: record type must be 1..32 of [a-z0-9._-] and the reference "
                                 "at most 256 bytes of UTF-8", o->files[i]);
        }
    }
    if (qc_txb_finish(&b, &id->seal.sk, tx) != QC_OK) return cli_fail(cmd, "cannot sign the transaction");
    return -1;
}

/* Fetches, verifies and writes the receipt of file i: of this transaction's anchoring of it
 * (a digest another city anchored before has its own receipt, not this one). */
static int write_receipt(const char *cmd, const client_identity_t *id, const char *file,
                         const qc_hash_t *digest, const qc_hash_t *tx_id, bool salted,
                         json_t *summary) {
    char why[512], hex[65], path[4200], salt[4200];
    json_t *j;
    receipt_result_t res;
    if (client_fetch_receipt(id->api_url, &id->genesis, digest, tx_id, digest, &j, &res, why,
                             sizeof why) != QC_OK)
        return cli_fail(cmd, "%s: %s", file, why);
    snprintf(path, sizeof path, "%s.receipt.json", file);
    errno = 0;
    int rc = client_write_json(path, j), err = errno;
    json_decref(j);
    if (rc != QC_OK)
        return cli_fail(cmd, "%s: cannot write the file: %s", path, client_file_error(rc, err));
    snprintf(salt, sizeof salt, "%s.salt", file);
    json_array_append_new(summary, json_pack("{s:s, s:s, s:s, s:I, s:s?}", "file", file, "digest",
                                             qc_hash_hex(hex, digest), "receipt", path, "height",
                                             (json_int_t)res.height, "salt",
                                             salted ? salt : NULL));
    return -1;
}

/* --salted: a fresh salt for file, written to FILE.salt before anything is submitted (a
 * committed salted record whose salt was lost could never be proven), and the salted digest.
 * -1 on success, else the exit status. An existing FILE.salt is never replaced. */
static int salt_file(const char *cmd, const char *file, qc_hash_t *digest) {
    uint8_t salt[QC_SALT_BYTES];
    char path[4200];
    snprintf(path, sizeof path, "%s.salt", file);
    randombytes_buf(salt, sizeof salt);
    int rc = client_hash_file_salted(file, salt, digest), err = errno;
    if (rc != QC_OK)
        rc = cli_fail(cmd, "%s: cannot read the file: %s", file, client_file_error(rc, err));
    else if ((rc = client_salt_write(path, salt)) == QC_ERR_EXISTS)
        rc = cli_fail(cmd, "%s exists: it may be the salt of an earlier anchoring; move it away "
                      "first (a salt is never overwritten)", path);
    else if (rc != QC_OK)
        rc = cli_fail(cmd, "%s: cannot write the file: %s", path, client_file_error(rc, errno));
    else rc = -1;
    sodium_memzero(salt, sizeof salt);
    return rc;
}

/* Submits the ntx transactions of a run as one batch and waits for each commit (within
 * wait_ms in all): CLI_EXIT_OK with heights[], 1 if any was refused (its reason printed; the
 * others may still commit), CLIENT_EXIT_PENDING if one was not committed in time. */
static int submit_many(const char *cmd, const char *api_url, const qc_tx_t *txs, int ntx,
                       uint64_t wait_ms, uint64_t *heights) {
    char why[256], idhex[65];
    long status;
    json_t *resp;
    if (client_submit_batch(api_url, txs, (size_t)ntx, &status, &resp, why, sizeof why) != QC_OK)
        return cli_fail(cmd, "%s", why);
    int rc = -1;
    json_t *results = json_object_get(resp, "results");
    if (status != 200 || json_array_size(results) != (size_t)ntx)
        rc = cli_fail(cmd, "the node refused the batch (HTTP %ld): %s", status,
                      client_error_message(resp));
    for (int t = 0; rc < 0 && t < ntx; t++) {
        json_t *r = json_array_get(results, (size_t)t);
        const char *st = json_string_value(json_object_get(r, "status"));
        const char *err = json_string_value(json_object_get(r, "error"));
        if (st == NULL || strcmp(st, "pending") != 0)
            rc = cli_fail(cmd, "the node refused transaction %d of %d (%s): %s", t + 1, ntx,
                          qc_hash_hex(idhex, &txs[t].id), err ? err : "no reason given");
    }
    json_decref(resp);
    uint64_t deadline = cli_now_ms() + wait_ms;
    for (int t = 0; rc < 0 && t < ntx; t++) {
        uint64_t now = cli_now_ms(), left = deadline > now ? deadline - now : 0;
        char path[128];
        json_t *j = NULL;
        snprintf(path, sizeof path, "/v1/transactions/%s?wait_ms=%llu", qc_hash_hex(idhex, &txs[t].id),
                 (unsigned long long)left);
        if (client_get(api_url, path, (long)left + 10000, &status, &j, why, sizeof why) != QC_OK)
            rc = cli_fail(cmd, "%s", why);
        else if (status == 200)
            heights[t] = (uint64_t)json_integer_value(json_object_get(j, "height"));
        else {
            fprintf(stderr, "%s: submitted as %s but not committed within %llu ms\n", cmd, idhex,
                    (unsigned long long)wait_ms);
            rc = CLIENT_EXIT_PENDING;
        }
        json_decref(j);
    }
    return rc < 0 ? CLI_EXIT_OK : rc;
}

int cli_anchor(int argc, char **argv) {
    const char *cmd = argv[0];
    anchor_opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    qc_hash_t *digests = calloc((size_t)o.nfiles, sizeof *digests);
    if (digests == NULL) return cli_fail(cmd, "out of memory");
    for (int i = 0; i < o.nfiles; i++) {
        if (o.salted) rc = salt_file(cmd, o.files[i], &digests[i]);
        else rc = client_file_digest(cmd, o.files[i], NULL, &digests[i]);
        if (rc >= 0) {
            free(digests);
            return rc;
        }
    }
    client_identity_t *id = calloc(1, sizeof *id);
    char why[512];
    if (id == NULL || client_identity_open(&o.target, true, id, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", id ? why : "out of memory");
        free(id);
        free(digests);
        return rc;
    }
    int ntx = (o.nfiles + QC_TX_RECORDS_MAX - 1) / QC_TX_RECORDS_MAX;
    qc_tx_t txs[ANCHOR_TXS_MAX] = {{0}};
    uint64_t heights[ANCHOR_TXS_MAX] = {0}, head = client_current_height(id->api_url);
    for (int t = 0; t < ntx && rc < 0; t++) {
        int first = t * QC_TX_RECORDS_MAX;
        int count = o.nfiles - first < QC_TX_RECORDS_MAX ? o.nfiles - first : QC_TX_RECORDS_MAX;
        rc = build_tx(cmd, &o, id, digests, first, count, head, &txs[t]);
    }
    if (rc < 0 && ntx == 1) rc = client_submit_wait(cmd, id->api_url, &txs[0], o.wait_ms, &heights[0]);
    else if (rc < 0) rc = submit_many(cmd, id->api_url, txs, ntx, o.wait_ms, heights);
    json_t *summary = json_array();
    for (int i = 0; rc == CLI_EXIT_OK && o.receipts && i < o.nfiles; i++) {
        int r = write_receipt(cmd, id, o.files[i], &digests[i], &txs[i / QC_TX_RECORDS_MAX].id,
                              o.salted, summary);
        if (r >= 0) rc = r;
    }
    if (rc == CLI_EXIT_OK && ntx > 1) {
        char idhex[65];
        uint64_t lo = heights[0], hi = heights[0];
        json_t *list = json_array();
        for (int t = 0; t < ntx; t++) {
            lo = heights[t] < lo ? heights[t] : lo;
            hi = heights[t] > hi ? heights[t] : hi;
            json_array_append_new(list, json_pack("{s:s, s:I}", "tx_id", qc_hash_hex(idhex, &txs[t].id),
                                                  "height", (json_int_t)heights[t]));
        }
        if (o.json) {
            cli_print_json(cmd, json_pack("{s:o, s:s, s:O}", "transactions", list, "city",
                                          id->cfg.city, "records", summary));
        } else {
            json_decref(list);
            printf("committed %d transactions of %d files in blocks %llu..%llu (one batch), "
                   "sealed by %s\n", ntx, o.nfiles, (unsigned long long)lo,
                   (unsigned long long)hi, id->cfg.city);
            printf("  %zu receipts written and verified\n", json_array_size(summary));
        }
    } else if (rc == CLI_EXIT_OK) {
        char idhex[65];
        const qc_tx_t *tx = &txs[0];
        uint64_t height = heights[0];
        if (o.json) {
            cli_print_json(cmd, json_pack("{s:s, s:I, s:s, s:O}", "tx_id", qc_hash_hex(idhex, &tx->id),
                                          "height", (json_int_t)height, "city", id->cfg.city,
                                          "records", summary));
        } else {
            printf("committed tx %s in block %llu, sealed by %s\n", qc_hash_hex(idhex, &tx->id),
                   (unsigned long long)height, id->cfg.city);
            for (size_t i = 0; i < json_array_size(summary); i++) {
                json_t *e = json_array_get(summary, i);
                const char *salt = json_string_value(json_object_get(e, "salt"));
                printf("  %s  %s %s  receipt %s (verified)%s%s\n",
                       json_string_value(json_object_get(e, "file")), salt ? "salted" : "sha256",
                       json_string_value(json_object_get(e, "digest")),
                       json_string_value(json_object_get(e, "receipt")), salt ? "  salt " : "",
                       salt ? salt : "");
            }
        }
    }
    json_decref(summary);
    for (int t = 0; t < ntx; t++) qc_tx_free(&txs[t]);
    client_identity_wipe(id);
    free(id);
    free(digests);
    return rc;
}
