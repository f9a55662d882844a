/* cmd_citylog.c - `qchain city-log`: every event (anchor, endorse, revoke, supersede) one city
 * had in a range of heights, with the proof that none was left out (docs/PROTOCOL.md §13),
 * fetched from a node and verified offline against the genesis before it is shown or written;
 * or a saved proof checked offline. It also answers "did this city anchor digest D in the
 * range?" either way with proof. A node can serve anything: only a verified proof is believed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cityproof.h"
#include "cli.h"
#include "client.h"

#define PROOF_FILE_BYTES_MAX CLIENT_RESPONSE_BYTES_MAX /* 100,000 leaves fit many times over */
#define FETCH_TIMEOUT_MS 60000                         /* a full proof is tens of megabytes */
#define HEIGHT_MAX ((uint64_t)INT64_MAX)               /* heights are JSON integers */

static const char usage[] =
    "Usage: qchain city-log CITY --from A [--to B] (--config NODE.json | --api URL --genesis G)\n"
    "                       [--digest D | --file FILE [--salt S]] [--out P.json] [--json]\n"
    "       qchain city-log --proof P.json --genesis G [--digest D | --file FILE [--salt S]]\n"
    "                       [--json]\n"
    "Fetches from a node the completeness proof of city CITY's log for heights A..B\n"
    "(docs/PROTOCOL.md §13) and verifies it offline against the genesis: every anchoring,\n"
    "endorsement, revocation and supersession the city's seal key signed in those blocks, and\n"
    "the proof that there are no others, as of the node's latest block, whose header the\n"
    "consortium's quorum signed. With --proof, checks a saved proof offline instead.\n"
    "      --from A        the first height of the range (1 or more)\n"
    "      --to B          the last height (default: the node's latest block). A node cuts a\n"
    "                      range of more than 10,000 events at a block boundary; the output\n"
    "                      then says where the proof ends and how to continue (--from END+1):\n"
    "                      one command fetches one proof\n"
    "      --digest D      also say whether CITY anchored digest D (64 hex) in the range, or\n"
    "                      prove that it did not\n"
    "      --file FILE     as --digest, with the digest of FILE\n"
    "      --salt S        with --file: the record was anchored salted (anchor --salted), with\n"
    "                      the salt in file S\n"
    "  -o, --out PATH      also write the verified proof there ('-' for stdout)\n"
    "      --proof P       verify the saved proof P offline (needs --genesis)\n" CLIENT_TARGET_USAGE
    "      --json          print the result as JSON\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 proof verified (with --digest/--file: whether or not the city anchored it),\n"
    "1 the proof does not verify, does not answer the question asked, or the node cannot be\n"
    "reached or refuses, 2 usage.\n";

/* What was asked: the range (to 0: up to the latest block) and the digest, if any. */
typedef struct {
    const char *city;
    uint64_t from, to;
    bool has_digest;
    qc_hash_t digest;
} ask_t;


/* The in-range leaves of verified proof p that anchor digest: their heights into heights
 * (the first cap of them); returns how many there are in all. */
static size_t anchor_heights(const cityproof_t *p, const cityproof_result_t *r,
                             const qc_hash_t *digest, uint64_t *heights, size_t cap) {
    size_t total = 0;
    for (size_t i = r->first; i < r->first + r->count; i++) {
        const qc_city_leaf_t *l = &p->leaves[i];
        if (l->kind != QC_CITY_ANCHOR || memcmp(l->digest.b, digest->b, 32) != 0) continue;
        if (total < cap) heights[total] = l->height;
        total++;
    }
    return total;
}

/* Whether the node cut the range: it ends below the height asked for (online), or below
 * the proof's block when no --to was given. false offline (nothing was asked). */
static bool was_cut(const cityproof_t *p, const cityproof_result_t *r, const ask_t *ask,
                    bool online, uint64_t *asked_to) {
    *asked_to = ask->to ? ask->to : r->block.height;
    return online && p->to_height < *asked_to;
}

static json_t *event_json(const qc_city_leaf_t *l) {
    char tx[65], d[65];
    qc_hash_hex(tx, &l->tx_id);
    qc_hash_hex(d, &l->digest);
    return json_pack("{s:I, s:s, s:s, s:s, s:i}", "height", (json_int_t)l->height, "kind",
                     qc_city_kind_name(l->kind), "digest", d, "tx_id", tx, "index",
                     (int)l->index);
}

static int print_json(const char *cmd, const cityproof_t *p, const cityproof_result_t *r,
                      const ask_t *ask, bool online) {
    json_t *events = json_array();
    for (size_t i = r->first; events && i < r->first + r->count; i++)
        if (json_array_append_new(events, event_json(&p->leaves[i])) != 0) {
            json_decref(events);
            events = NULL;
        }
    if (events == NULL) return cli_fail(cmd, "out of memory");
    uint64_t asked_to;
    bool cut = was_cut(p, r, ask, online, &asked_to);
    json_t *j = json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:i, s:I, s:b, s:o}",
                          "valid", 1, "city", p->city, "from", (json_int_t)p->from_height, "to",
                          (json_int_t)p->to_height, "as_of_height",
                          (json_int_t)r->block.height, "time_ms", (json_int_t)r->block.time_ms,
                          "epoch", (json_int_t)r->block.epoch, "signers", (int)r->block.signers,
                          "quorum", (int)r->block.quorum, "members", (int)r->block.members,
                          "log_size", (json_int_t)p->log_size, "cut", cut, "events", events);
    if (j && cut) json_object_set_new(j, "asked_to", json_integer((json_int_t)asked_to));
    if (j && ask->has_digest) {
        char d[65];
        qc_hash_hex(d, &ask->digest);
        json_t *list = json_array();
        for (size_t i = r->first; list && i < r->first + r->count; i++) {
            const qc_city_leaf_t *l = &p->leaves[i];
            if (l->kind == QC_CITY_ANCHOR && memcmp(l->digest.b, ask->digest.b, 32) == 0)
                json_array_append_new(list, json_integer((json_int_t)l->height));
        }
        json_object_set_new(j, "digest", json_string(d));
        json_object_set_new(j, "anchored", json_boolean(cityproof_anchored(p, r, &ask->digest)));
        json_object_set_new(j, "anchored_heights", list);
    }
    return cli_print_json(cmd, j);
}

static int print_text(const cityproof_t *p, const cityproof_result_t *r, const ask_t *ask,
                      bool online) {
    printf("VALID proof: city %s, heights %" PRIu64 "..%" PRIu64 ", as of block %" PRIu64
           " (epoch %" PRIu64 "), committed by %u of %u member cities (quorum %u)\n",
           p->city, p->from_height, p->to_height, r->block.height, r->block.epoch,
           r->block.signers, r->block.members, r->block.quorum);
    if (r->count == 0)
        printf("0 events: %s had none in heights %" PRIu64 "..%" PRIu64 "\n", p->city,
               p->from_height, p->to_height);
    else
        printf("%zu event%s:\n", r->count, r->count == 1 ? "" : "s");
    for (size_t i = r->first; i < r->first + r->count; i++) {
        const qc_city_leaf_t *l = &p->leaves[i];
        char tx[65], d[65];
        qc_hash_hex(tx, &l->tx_id);
        qc_hash_hex(d, &l->digest);
        printf("  height %" PRIu64 "  %-13s  %s  tx %.16s  index %u\n", l->height,
               qc_city_kind_name(l->kind), d, tx, (unsigned)l->index);
    }
    uint64_t asked_to;
    if (was_cut(p, r, ask, online, &asked_to))
        printf("The node cut the proof at height %" PRIu64 " (asked up to %" PRIu64
               "): it covers heights %" PRIu64 "..%" PRIu64 " only.\n"
               "  continue with: qchain city-log %s --from %" PRIu64 " --to %" PRIu64
               " (and the same node options)\n",
               p->to_height, asked_to, p->from_height, p->to_height, p->city,
               p->to_height + 1, asked_to);
    if (ask->has_digest) {
        char d[65];
        qc_hash_hex(d, &ask->digest);
        uint64_t hs[8];
        size_t n = anchor_heights(p, r, &ask->digest, hs, 8);
        if (cityproof_anchored(p, r, &ask->digest) && n > 0) {
            printf("%s anchored %s at height%s", p->city, d, n > 1 ? "s" : "");
            for (size_t i = 0; i < n && i < 8; i++) printf("%s%" PRIu64, i ? ", " : " ", hs[i]);
            printf("%s\n", n > 8 ? ", ..." : "");
        } else {
            printf("%s did NOT anchor %s in heights %" PRIu64 "..%" PRIu64
                   " (proof of completeness)\n",
                   p->city, d, p->from_height, p->to_height);
        }
    }
    return CLI_EXIT_OK;
}

/* Parses and verifies proof JSON j against g; online, also that it answers ask (the city,
 * the first height, and no further than the last height asked). QC_OK with *p
 * (cityproof_free) and *r, or an error and why. */
static int verify(const json_t *j, const genesis_t *g, const ask_t *ask, bool online,
                  cityproof_t *p, cityproof_result_t *r, char *why, size_t why_cap) {
    int rc = cityproof_from_json(j, p, why, why_cap);
    if (rc != QC_OK) return rc;
    rc = cityproof_verify(p, g->chain_id, &g->hash, &g->validators, r, why, why_cap);
    if (rc == QC_OK && online) {
        if (strcmp(p->city, ask->city) != 0)
            snprintf(why, why_cap, "the node sent a proof for city %s, not %s", p->city, ask->city);
        else if (p->from_height != ask->from)
            snprintf(why, why_cap, "the node sent a proof from height %" PRIu64 ", not %" PRIu64,
                     p->from_height, ask->from);
        else if (ask->to && p->to_height > ask->to)
            snprintf(why, why_cap, "the node sent a proof up to height %" PRIu64
                     ", beyond the %" PRIu64 " asked for", p->to_height, ask->to);
        else
            return QC_OK;
        rc = QC_ERR_INVALID;
    }
    if (rc != QC_OK) cityproof_free(p);
    return rc;
}

/* Offline: --proof P --genesis G. */
static int offline(const char *cmd, const char *proof, const char *gpath, const ask_t *ask,
                   bool json) {
    genesis_t *g = client_genesis_open(cmd, gpath);
    if (g == NULL) return CLI_EXIT_FAIL;
    char why[768] = "";
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
    cityproof_t p;
    cityproof_result_t r;
    if (j == NULL) {
        snprintf(why, sizeof why, "proof is not JSON (line %d: %s)", jerr.line, jerr.text);
        rc = QC_ERR_INVALID;
    } else {
        rc = verify(j, g, ask, false, &p, &r, why, sizeof why);
    }
    json_decref(j);
    free(g);
    if (rc != QC_OK) {
        if (json) cli_print_json(cmd, json_pack("{s:b, s:s}", "valid", 0, "reason", why));
        else printf("INVALID: %s\n", why);
        return CLI_EXIT_FAIL;
    }
    rc = json ? print_json(cmd, &p, &r, ask, false) : print_text(&p, &r, ask, false);
    cityproof_free(&p);
    return rc;
}

/* Online: fetch, verify, then write and/or print. */
static int online(const char *cmd, const client_target_opts_t *target, const ask_t *ask,
                  const char *out, bool json) {
    char why[768], path[160];
    client_target_t *t = malloc(sizeof *t);
    if (t == NULL || client_target_load(target, t, why, sizeof why) != QC_OK) {
        int rc = cli_fail(cmd, "%s", t ? why : "out of memory");
        free(t);
        return rc;
    }
    int n = snprintf(path, sizeof path, "/v1/cities/%s/log?from=%" PRIu64, ask->city, ask->from);
    if (ask->to) snprintf(path + n, sizeof path - (size_t)n, "&to=%" PRIu64, ask->to);
    long status = 0;
    json_t *j = NULL;
    int rc = client_get(t->api_url, path, FETCH_TIMEOUT_MS, &status, &j, why, sizeof why);
    if (rc == QC_OK && status != 200) {
        snprintf(why, sizeof why, "the node answered HTTP %ld: %s", status,
                 client_error_message(j));
        rc = QC_ERR_NOTFOUND;
    }
    cityproof_t p;
    cityproof_result_t r;
    if (rc == QC_OK && j == NULL) {
        snprintf(why, sizeof why, "the node's answer is not JSON");
        rc = QC_ERR_INVALID;
    }
    if (rc == QC_OK) rc = verify(j, &t->genesis, ask, true, &p, &r, why, sizeof why);
    free(t);
    if (rc != QC_OK) {
        json_decref(j);
        return cli_fail(cmd, "%s", why);
    }
    if (out && strcmp(out, "-") == 0) rc = cli_print_json(cmd, json_incref(j));
    else if (out && (rc = client_write_json(out, j)) != QC_OK)
        rc = cli_fail(cmd, "%s: cannot write the file: %s", out, client_file_error(rc, errno));
    else rc = json ? print_json(cmd, &p, &r, ask, true) : print_text(&p, &r, ask, true);
    cityproof_free(&p);
    json_decref(j);
    return rc;
}

int cli_city_log(int argc, char **argv) {
    const char *cmd = argv[0], *file = NULL, *out = NULL, *proof = NULL, *salt = NULL,
               *digest_hex = NULL, *from_s = NULL, *to_s = NULL;
    bool json = false, bad = false;
    client_target_opts_t target = {0};
    ask_t ask = {0};
    enum { O_FILE = 256, O_JSON, O_PROOF, O_SALT, O_DIGEST, O_FROM, O_TO };
    static const struct option opts[] = {CLIENT_TARGET_OPTIONS,
                                         {"from", required_argument, NULL, O_FROM},
                                         {"to", required_argument, NULL, O_TO},
                                         {"digest", required_argument, NULL, O_DIGEST},
                                         {"file", required_argument, NULL, O_FILE},
                                         {"proof", required_argument, NULL, O_PROOF},
                                         {"salt", required_argument, NULL, O_SALT},
                                         {"out", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    cli_getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1;) {
        if (client_target_opt(c, optarg, &target)) continue;
        if (c == O_FROM) from_s = optarg;
        else if (c == O_TO) to_s = optarg;
        else if (c == O_DIGEST) digest_hex = optarg;
        else if (c == O_FILE) file = optarg;
        else if (c == O_PROOF) proof = optarg;
        else if (c == O_SALT) salt = optarg;
        else if (c == 'o') out = optarg;
        else if (c == O_JSON) json = true;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    if (bad) return cli_check_args(cmd, argc, argv, bad);
    if (salt && file == NULL) return cli_usage_error(cmd, "--salt goes with --file");
    if (file && digest_hex) return cli_usage_error(cmd, "give --digest or --file, not both");
    if (digest_hex && qc_hex_decode(ask.digest.b, 32, digest_hex) != QC_OK)
        return cli_usage_error(cmd, "--digest must be 64 hex characters, got '%s'", digest_hex);
    ask.has_digest = digest_hex != NULL || file != NULL;
    if (proof) {
        if (target.genesis == NULL) return cli_usage_error(cmd, "--proof needs --genesis");
        if (optind != argc || out || target.api || target.config || from_s || to_s)
            return cli_usage_error(cmd, "--proof takes only --genesis, --digest, --file, --salt "
                                        "and --json (the proof names its city and range)");
        int rc = file ? client_file_digest(cmd, file, salt, &ask.digest) : -1;
        return rc >= 0 ? rc : offline(cmd, proof, target.genesis, &ask, json);
    }
    int rc = client_target_finish(cmd, argc, argv, bad, &target, NULL, &ask.city);
    if (rc >= 0) return rc;
    if (ask.city == NULL) return cli_usage_error(cmd, "give a CITY (a member name)");
    if (!qc_member_name_valid(ask.city))
        return cli_usage_error(cmd, "CITY must be a member name (1..%d of [a-z0-9-], not starting "
                                    "or ending with '-'), got '%s'", QC_MEMBER_NAME_MAX, ask.city);
    if (from_s == NULL) return cli_usage_error(cmd, "--from is required: the first height");
    if (!cli_parse_u64(cmd, "--from", from_s, 1, HEIGHT_MAX, &ask.from)) return CLI_EXIT_USAGE;
    if (to_s && !cli_parse_u64(cmd, "--to", to_s, ask.from, HEIGHT_MAX, &ask.to))
        return CLI_EXIT_USAGE;
    if (out && strcmp(out, "-") == 0 && json)
        return cli_usage_error(cmd, "--json prints to stdout; write the proof to a file");
    if (file && (rc = client_file_digest(cmd, file, salt, &ask.digest)) >= 0) return rc;
    return online(cmd, &target, &ask, out, json);
}
