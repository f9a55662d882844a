/* cmd_verify.c - `qchain verify [FILE] --receipt R --genesis G`: checks a receipt completely
 * offline against the chain's genesis file, and, given FILE, that FILE is the anchored record.
 * `qchain verify FILE... --genesis G` does so for many files at once, each with the receipt
 * (and salt) `qchain anchor` wrote beside it, spread over worker threads (proto/par.h). */
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
#include "par.h"
#include "receipt.h"

#define RECEIPT_FILE_BYTES_MAX (1u << 20)
/* Files in one run: as many as one `qchain anchor` run anchors and writes receipts for (64
 * transactions of QC_TX_RECORDS_MAX). */
#define VERIFY_FILES_MAX (QC_TX_RECORDS_MAX * 64)
/* Files per par_for: a batch's lines are printed before the next batch starts, so memory
 * is bounded by the batch, not by the run. */
#define VERIFY_BATCH_FILES 1024u
#define VERIFY_PATH_MAX 4200
#define VERIFY_WHY_MAX 512

static const char usage[] =
    "Usage: qchain verify [FILE] --receipt RECEIPT.json --genesis GENESIS.json\n"
    "                     [--salt FILE.salt] [--json]\n"
    "       qchain verify FILE... --genesis GENESIS.json [--workers N] [--json]\n"
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
    "Without --receipt, each FILE (at most 65536) is checked against FILE.receipt.json, salted\n"
    "with FILE.salt when that exists (what qchain anchor [--salted] writes), on N worker\n"
    "threads (0 or absent: one per core). It prints one line per FILE in argument order,\n"
    "\"FILE: VALID: ...\" or \"FILE: INVALID: reason\", then \"N files: V valid, I invalid\";\n"
    "with --json, an array of one object per FILE.\n"
    "Exit status: 0 valid (every FILE), 1 invalid (the reason is printed), 2 usage.\n";

/* What one receipt check found. */
typedef struct {
    receipt_result_t res;
    qc_hash_t anchored;          /* the receipt's digest (zero when it did not parse) */
    bool has_status;
    statusproof_result_t sres;   /* statusproof_result_free */
} verdict_t;

/* Parses a receipt's text and verifies it against g (and want, when non-NULL), with its
 * "status" section when it has one. Touches only its arguments and objects of its own (no
 * logging, no static buffers), so worker threads run it concurrently. QC_OK, or an error
 * with the reason in why; *v filled as far as the check got (statusproof_result_free). */
static int check_receipt(const uint8_t *text, size_t len, const genesis_t *g,
                         const qc_hash_t *want, verdict_t *v, char *why, size_t why_cap) {
    json_error_t jerr;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    memset(v, 0, sizeof *v);
    if (j == NULL) {
        snprintf(why, why_cap, "receipt is not JSON (line %d: %s)", jerr.line, jerr.text);
        return QC_ERR_INVALID;
    }
    receipt_t r;
    int rc = receipt_from_json(j, &r, why, why_cap);
    if (rc == QC_OK) {
        rc = receipt_verify(&r, g->chain_id, &g->hash, &g->validators, want, &v->res, why, why_cap);
        v->anchored = r.digest;
        receipt_free(&r);
    }
    const json_t *st = json_object_get(j, "status");
    if (rc == QC_OK && st != NULL) {
        v->has_status = true;
        char inner[448];
        rc = client_status_verify(st, g, &v->anchored, &v->sres, inner, sizeof inner);
        if (rc != QC_OK) snprintf(why, why_cap, "status: %s", inner);
        else if (!v->sres.anchored) {
            snprintf(why, why_cap, "status: the proof says the record was never anchored");
            rc = QC_ERR_INVALID;
        }
    }
    json_decref(j);
    return rc;
}

/* A block time as "2026-05-01T10:00:00Z" into when (32 bytes). */
static void format_time(char when[32], uint64_t time_ms) {
    time_t t = (time_t)(time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The JSON of a valid verdict (new reference; NULL on allocation failure). */
static json_t *verdict_json(const genesis_t *g, const verdict_t *v, bool file_matches,
                            bool salted) {
    char hex[65], when[32];
    qc_hex_encode(hex, v->anchored.b, 32);
    format_time(when, v->res.time_ms);
    const receipt_result_t *res = &v->res;
    json_t *out = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:b, s:b}",
                            "valid", 1, "digest", hex, "city", res->city_name, "city_display",
                            client_city_display(g, res), "height", (json_int_t)res->height,
                            "epoch", (json_int_t)res->epoch, "time", when, "signers",
                            (json_int_t)res->signers, "quorum", (json_int_t)res->quorum,
                            "members", (json_int_t)res->members, "file_matches", file_matches,
                            "salted", salted);
    if (out && v->has_status) json_object_set_new(out, "status", client_status_json(&v->sres));
    return out;
}

/* ---------------------------------------------------------------- one receipt (--receipt) */

/* The single-receipt form (exactly as before the many-files form); returns the exit status. */
static int verify_one(const char *cmd, const char *rpath, const char *gpath, const char *spath,
                      const char *file, bool json) {
    genesis_t *g = client_genesis_open(cmd, gpath);
    char why[VERIFY_WHY_MAX] = "";
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
    verdict_t v;
    rc = check_receipt(text, len, g, want, &v, why, sizeof why);
    free(text);
    char salt_path[VERIFY_PATH_MAX];
    snprintf(salt_path, sizeof salt_path, "%s.salt", file ? file : "");
    if (rc != QC_OK && file && !spath && memcmp(v.anchored.b, digest.b, 32) != 0 &&
        access(salt_path, F_OK) == 0) {
        size_t used = strlen(why);
        snprintf(why + used, sizeof why - used, " (%.200s exists: if the record was anchored "
                 "salted, pass --salt with it)", salt_path);
    }
    if (rc != QC_OK) {
        if (json) cli_print_json(cmd, json_pack("{s:b, s:s}", "valid", 0, "reason", why));
        else printf("INVALID: %s\n", why);
        statusproof_result_free(&v.sres);
        free(g);
        return CLI_EXIT_FAIL;
    }
    const receipt_result_t *res = &v.res;
    if (json) {
        cli_print_json(cmd, verdict_json(g, &v, file != NULL, spath != NULL));
    } else {
        char hex[65], when[32];
        qc_hex_encode(hex, v.anchored.b, 32);
        format_time(when, res->time_ms);
        printf("VALID: record %s\n  anchored by %s (%s) in block %llu at %s\n"
               "  committed by %u of %u member cities (quorum %u) of epoch %llu%s\n",
               hex, client_city_display(g, res), res->city_name, (unsigned long long)res->height,
               when, res->signers, res->members, res->quorum, (unsigned long long)res->epoch,
               !file ? "" : spath ? "\n  the file with its salt matches the anchored (salted) digest"
                                  : "\n  the file matches the anchored digest");
        if (v.has_status) {
            char words[2048];
            const receipt_result_t *b = &v.sres.block;
            client_status_words(&v.sres, words, sizeof words);
            printf("  status: %s\n  as of block %llu (epoch %llu), committed by %u of %u member "
                   "cities (quorum %u)\n", words, (unsigned long long)b->height,
                   (unsigned long long)b->epoch, b->signers, b->members, b->quorum);
        }
    }
    statusproof_result_free(&v.sres);
    free(g);
    return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- many files (FILE...) */

/* Why a file's check failed. The read errors keep rc and errno, and the main thread words
 * them (client_file_error may call strerror, which is not for worker threads). */
typedef enum {
    ITEM_VALID = 0,
    ITEM_WHY,          /* why says it */
    ITEM_FILE_READ,    /* FILE: rc, err */
    ITEM_RECEIPT_READ, /* FILE.receipt.json: rc, err */
} item_fail_t;

typedef struct {
    const char *file;            /* borrowed from argv */
    bool salted;                 /* FILE.salt exists and was read: the salted digest is checked */
    bool salted_other;           /* salted, and the receipt is of another digest */
    uint8_t salt[QC_SALT_BYTES]; /* wiped once the file is hashed */
    item_fail_t fail;
    int rc, err;
    char why[VERIFY_WHY_MAX];
    verdict_t v;
} item_t;

typedef struct {
    const genesis_t *g;          /* read-only while the workers run */
    item_t *items;
} batch_t;

/* FILE + suffix into out (VERIFY_PATH_MAX); false when it does not fit. */
static bool beside(char *out, const char *file, const char *suffix) {
    return (size_t)snprintf(out, VERIFY_PATH_MAX, "%s%s", file, suffix) < VERIFY_PATH_MAX;
}

/* Main thread, before the workers: the path check and FILE.salt, read when it exists (small;
 * its errors are worded with strerror). */
static void item_prepare(item_t *it, const char *file) {
    char salt_path[VERIFY_PATH_MAX];
    memset(it, 0, sizeof *it);
    it->file = file;
    if (strlen(file) + sizeof ".receipt.json" > VERIFY_PATH_MAX) { /* then beside() fits */
        snprintf(it->why, sizeof it->why, "the file name is too long");
        it->fail = ITEM_WHY;
    } else if (beside(salt_path, file, ".salt") && access(salt_path, F_OK) == 0) {
        if (client_salt_read(salt_path, it->salt, it->why, sizeof it->why) != QC_OK)
            it->fail = ITEM_WHY;
        else it->salted = true;
    }
}

/* A worker: hashes file i, reads and checks its receipt. Writes only items[i]. */
static void item_check(void *ctx, uint32_t i) {
    const batch_t *b = ctx;
    item_t *it = &b->items[i];
    if (it->fail != ITEM_VALID) return;
    qc_hash_t digest;
    it->rc = client_hash_file_salted(it->file, it->salted ? it->salt : NULL, &digest);
    it->err = errno;
    sodium_memzero(it->salt, sizeof it->salt);
    if (it->rc != QC_OK) {
        it->fail = ITEM_FILE_READ;
        return;
    }
    char path[VERIFY_PATH_MAX];
    uint8_t *text;
    size_t len;
    QC_ASSERT(beside(path, it->file, ".receipt.json")); /* item_prepare checked the length */
    errno = 0;
    it->rc = qc_file_read(path, RECEIPT_FILE_BYTES_MAX, &text, &len);
    it->err = errno;
    if (it->rc != QC_OK) {
        it->fail = ITEM_RECEIPT_READ;
        return;
    }
    if (check_receipt(text, len, b->g, &digest, &it->v, it->why, sizeof it->why) != QC_OK) {
        it->fail = ITEM_WHY;
        it->salted_other = it->salted && !sodium_is_zero(it->v.anchored.b, 32) &&
                           memcmp(it->v.anchored.b, digest.b, 32) != 0;
    }
    free(text);
}

/* Main thread: the reason a failed item gives, into why. */
static void item_reason(const item_t *it, char *why, size_t cap) {
    if (it->fail == ITEM_FILE_READ)
        snprintf(why, cap, "cannot read the file: %s", client_file_error(it->rc, it->err));
    else if (it->fail == ITEM_RECEIPT_READ)
        snprintf(why, cap, "receipt %s.receipt.json: cannot read the file: %s", it->file,
                 client_file_error(it->rc, it->err));
    else if (it->salted_other) /* say which salt the file was hashed with */
        snprintf(why, cap, "%s (hashed with the salt in %s.salt)", it->why, it->file);
    else snprintf(why, cap, "%s", it->why);
}

/* Prints obj (reference stolen) as element `index` of a JSON array streamed to stdout, laid out
 * as cli_print_json lays out a whole array ("[" first, "," between, two spaces more indent);
 * the caller closes it. False when out of memory. */
static bool print_json_element(json_t *obj, uint32_t index) {
    char *text = obj ? json_dumps(obj, JSON_INDENT(2)) : NULL;
    json_decref(obj);
    if (text == NULL) return false;
    fputs(index == 0 ? "[\n  " : ",\n  ", stdout);
    for (const char *c = text; *c; c++) {
        putchar(*c);
        if (*c == '\n') fputs("  ", stdout);
    }
    free(text);
    return true;
}

/* Main thread: prints item it (the index-th of the run) and frees what it holds. False when
 * out of memory. */
static bool item_report(const genesis_t *g, item_t *it, uint32_t index, bool json) {
    char why[VERIFY_WHY_MAX + VERIFY_PATH_MAX], receipt[VERIFY_PATH_MAX];
    bool ok = true;
    if (!beside(receipt, it->file, ".receipt.json")) receipt[0] = '\0';
    if (it->fail != ITEM_VALID) item_reason(it, why, sizeof why);
    if (json) {
        json_t *o = json_pack("{s:s, s:s}", "file", it->file, "receipt", receipt), *v;
        if (it->fail != ITEM_VALID)
            v = json_pack("{s:b, s:s, s:b}", "valid", 0, "reason", why, "salted", it->salted);
        else v = verdict_json(g, &it->v, true, it->salted);
        if (v == NULL || json_object_update(o, v) != 0) {
            json_decref(o);
            o = NULL;
        }
        json_decref(v);
        ok = print_json_element(o, index);
    } else if (it->fail != ITEM_VALID) {
        printf("%s: INVALID: %s\n", it->file, why);
    } else {
        const receipt_result_t *res = &it->v.res;
        char when[32], words[2048] = "";
        format_time(when, res->time_ms);
        if (it->v.has_status) client_status_words(&it->v.sres, words, sizeof words);
        printf("%s: VALID: anchored by %s (%s) in block %llu at %s, committed by %u of %u member "
               "cities (quorum %u) of epoch %llu%s%s%s", it->file, client_city_display(g, res),
               res->city_name, (unsigned long long)res->height, when, res->signers, res->members,
               res->quorum, (unsigned long long)res->epoch, it->salted ? ", salted" : "",
               it->v.has_status ? "; status: " : "", words);
        if (it->v.has_status)
            printf(" as of block %llu", (unsigned long long)it->v.sres.block.height);
        putchar('\n');
    }
    statusproof_result_free(&it->v.sres);
    return ok;
}

/* The many-files form over files[0..n): the exit status. */
static int verify_many(const char *cmd, const char *gpath, char **files, uint32_t n,
                       uint32_t workers, bool json) {
    QC_ASSERT(n >= 1 && n <= VERIFY_FILES_MAX);
    /* The genesis load initialises libsodium and jansson's hash seed on this thread, before
     * any worker uses them. */
    genesis_t *g = client_genesis_open(cmd, gpath);
    if (g == NULL) return CLI_EXIT_FAIL;
    uint32_t batch_max = n < VERIFY_BATCH_FILES ? n : VERIFY_BATCH_FILES;
    batch_t b = {g, calloc(batch_max, sizeof *b.items)};
    par_t *pool = NULL;
    if (workers == 0) workers = par_cores();
    int rc = b.items == NULL ? QC_ERR_NOMEM : par_start(&pool, workers < n ? workers : n);
    if (rc != QC_OK) {
        free(b.items);
        free(g);
        return cli_fail(cmd, "cannot start %u worker threads: %s", workers, qc_strerror(rc));
    }
    uint32_t valid = 0;
    bool oom = false;
    for (uint32_t first = 0; first < n && !oom; first += batch_max) {
        uint32_t count = n - first < batch_max ? n - first : batch_max;
        for (uint32_t i = 0; i < count; i++) item_prepare(&b.items[i], files[first + i]);
        par_for(pool, count, item_check, &b);
        for (uint32_t i = 0; i < count; i++) {
            valid += b.items[i].fail == ITEM_VALID;
            if (oom) statusproof_result_free(&b.items[i].v.sres);
            else oom = !item_report(g, &b.items[i], first + i, json);
        }
    }
    par_stop(pool);
    free(b.items);
    free(g);
    if (oom) return cli_fail(cmd, "out of memory");
    if (json) fputs("\n]\n", stdout);
    else printf("%u file%s: %u valid, %u invalid\n", n, n == 1 ? "" : "s", valid, n - valid);
    return valid == n ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_verify(int argc, char **argv) {
    const char *cmd = argv[0], *rpath = NULL, *gpath = NULL, *spath = NULL;
    bool json = false, bad = false, workers_set = false;
    uint64_t workers = 0;
    enum { O_JSON = 256, O_SALT, O_WORKERS };
    static const struct option opts[] = {{"receipt", required_argument, NULL, 'r'},
                                         {"genesis", required_argument, NULL, 'g'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"salt", required_argument, NULL, O_SALT},
                                         {"workers", required_argument, NULL, O_WORKERS},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "r:g:h", opts, NULL)) != -1) {
        if (c == 'r') rpath = optarg;
        else if (c == 'g') gpath = optarg;
        else if (c == O_JSON) json = true;
        else if (c == O_SALT) spath = optarg;
        else if (c == O_WORKERS) {
            if (!cli_parse_u64(cmd, "--workers", optarg, 0, PAR_WORKERS_MAX, &workers))
                return CLI_EXIT_USAGE;
            workers_set = true;
        } else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    if (bad) return cli_usage_error(cmd, "unknown option or missing argument");
    int nfiles = argc - optind;
    if (rpath == NULL && nfiles > 0) { /* many files: each FILE's receipt beside it */
        if (gpath == NULL) return cli_usage_error(cmd, "--genesis is required");
        if (spath) return cli_usage_error(cmd, "--salt goes with --receipt; without it each "
                                               "FILE's salt is FILE.salt, when that exists");
        if (nfiles > VERIFY_FILES_MAX)
            return cli_usage_error(cmd, "at most %d files in one run, got %d", VERIFY_FILES_MAX,
                                   nfiles);
        return verify_many(cmd, gpath, argv + optind, (uint32_t)nfiles, (uint32_t)workers, json);
    }
    if (rpath == NULL)
        return cli_usage_error(cmd, "name the FILEs (each with FILE.receipt.json beside it), "
                                    "or --receipt");
    if (gpath == NULL) return cli_usage_error(cmd, "--receipt and --genesis are required");
    if (nfiles > 1)
        return cli_usage_error(cmd, "at most one FILE with --receipt (without it, each FILE's "
                                    "receipt is FILE.receipt.json)");
    const char *file = nfiles == 1 ? argv[optind] : NULL;
    if (spath && file == NULL) return cli_usage_error(cmd, "--salt needs the FILE it salts");
    if (workers_set) return cli_usage_error(cmd, "--workers is for many FILEs, without --receipt");
    return verify_one(cmd, rpath, gpath, spath, file, json);
}
