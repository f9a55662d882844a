/* cmd_share.c - `qchain dataset`: the data-sharing trail (docs/RECORDS.md "Data-sharing
 * trail"). publish, request, grant, deny and access sign a SHARE transaction with the city's
 * seal key (from its node config, or --seal-key with --api and --genesis), submit it to its
 * node and wait for the commit, as `qchain endorse` does; list, show and requests read the
 * catalogue, one dataset's trail and a city's open requests from a node's API. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"

#define SHARE_TTL_BLOCKS 1000
#define SHARE_BLOCKS_DEFAULT 100000 /* a request's period when neither --until nor --blocks */

static const char usage[] =
    "Usage: qchain dataset SUBCOMMAND [ARGS] --config NODE.json [OPTIONS]\n"
    "       qchain dataset SUBCOMMAND [ARGS] --api URL [--genesis G --seal-key K] [OPTIONS]\n"
    "The data-sharing trail: datasets the cities publish, requests for them, the owners'\n"
    "answers and each access the requester attests. Only names, digests and codes go on chain.\n"
    "Signing subcommands (the city's seal key; wait for the commit): --config, or with no\n"
    "node config --api URL --genesis FILE --seal-key FILE (the seal key can stay on the\n"
    "city's signing host):\n"
    "  publish NAME          publish a dataset: --schema HEX|--schema-file F, and --terms TEXT\n"
    "                        or --terms-file F (its SHA-256 goes on chain)\n"
    "  request DATASET_ID    ask for a dataset: --purpose N (1 public service, 2 planning and\n"
    "                        research, 3 audit or oversight, 4 emergency response; any\n"
    "                        1..65535), --text TEXT, --from H, --until H or --blocks N\n"
    "                        (default: from the next block, for 100000 blocks)\n"
    "  grant REQUEST_ID      grant an open request for one of the city's datasets\n"
    "  deny REQUEST_ID       deny it: --reason N (1 purpose not covered by the terms, 2 period\n"
    "                        too long, 3 data not available, 4 legal restriction; any 1..65535)\n"
    "  access REQUEST_ID DIGEST|--file F   attest one use of a granted request, with the\n"
    "                        digest of what the city received\n"
    "Reading subcommands (--config, or --api URL alone):\n"
    "  list                  the catalogue (--after ID, --limit N)\n"
    "  show DATASET_ID       a dataset and its trail, 100 requests a page (--from N)\n"
    "  requests [CITY]       open requests to and from a city (default: the config's city)\n"
    "Options:\n"
    CLIENT_SIGNER_USAGE
    "                      (--genesis, --seal-key and --passphrase-file are for the signing\n"
    "                      subcommands)\n"
    "      --wait-ms MS    how long to wait for the commit (default 30000)\n"
    "      --json          print the result as JSON\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 committed (or read), 1 failure or refused (the node's reason is printed),\n"
    "2 usage, 3 submitted but not committed within --wait-ms.\n";

typedef enum { S_PUBLISH, S_REQUEST, S_GRANT, S_DENY, S_ACCESS, S_LIST, S_SHOW, S_REQUESTS } sub_t;

static const struct { const char *name; sub_t sub; uint8_t op; } subs[] = {
    {"publish", S_PUBLISH, QC_SHARE_DATASET}, {"request", S_REQUEST, QC_SHARE_REQUEST},
    {"grant", S_GRANT, QC_SHARE_GRANT},       {"deny", S_DENY, QC_SHARE_DENY},
    {"access", S_ACCESS, QC_SHARE_ACCESS},    {"list", S_LIST, 0},
    {"show", S_SHOW, 0},                      {"requests", S_REQUESTS, 0}};

typedef struct {
    sub_t sub;
    client_target_opts_t target;
    const char *schema, *schema_file, *terms, *terms_file, *text, *file, *after;
    uint64_t purpose, reason, from, until, blocks, limit, wait_ms;
    bool has_purpose, has_reason, has_from, has_until, has_blocks, has_limit, json;
    const char *pos[2];
    int npos;
    qc_share_op_t op;
} share_opts_t;

static int parse_hash(const char *cmd, const char *what, const char *hex, qc_hash_t *out) {
    if (hex == NULL || strlen(hex) != 64 || qc_hex_decode(out->b, 32, hex) != QC_OK)
        return cli_usage_error(cmd, "%s must be 64 hex characters", what);
    return -1;
}

static int parse_options(int argc, char **argv, share_opts_t *o) {
    enum { O_SCHEMA = 256, O_SCHEMA_FILE, O_TERMS, O_TERMS_FILE, O_PURPOSE, O_TEXT,
           O_FROM, O_UNTIL, O_BLOCKS, O_REASON, O_FILE, O_AFTER, O_LIMIT, O_WAIT, O_JSON };
    static const struct option opts[] = {
        CLIENT_SIGNER_OPTIONS,
        {"schema", required_argument, NULL, O_SCHEMA},
        {"schema-file", required_argument, NULL, O_SCHEMA_FILE},
        {"terms", required_argument, NULL, O_TERMS},
        {"terms-file", required_argument, NULL, O_TERMS_FILE},
        {"purpose", required_argument, NULL, O_PURPOSE}, {"text", required_argument, NULL, O_TEXT},
        {"from", required_argument, NULL, O_FROM}, {"until", required_argument, NULL, O_UNTIL},
        {"blocks", required_argument, NULL, O_BLOCKS}, {"reason", required_argument, NULL, O_REASON},
        {"file", required_argument, NULL, O_FILE}, {"after", required_argument, NULL, O_AFTER},
        {"limit", required_argument, NULL, O_LIMIT}, {"wait-ms", required_argument, NULL, O_WAIT},
        {"json", no_argument, NULL, O_JSON}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *cmd = argv[0];
    cli_getopt_reset();
    int c;
    bool bad = false;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        const char *num = NULL;
        uint64_t min = 1, max = UINT64_MAX >> 1, *dst = NULL;
        bool *flag = NULL;
        if (client_target_opt(c, optarg, &o->target)) continue;
        switch (c) {
        case O_SCHEMA: o->schema = optarg; break;
        case O_SCHEMA_FILE: o->schema_file = optarg; break;
        case O_TERMS: o->terms = optarg; break;
        case O_TERMS_FILE: o->terms_file = optarg; break;
        case O_TEXT: o->text = optarg; break;
        case O_FILE: o->file = optarg; break;
        case O_AFTER: o->after = optarg; break;
        case O_JSON: o->json = true; break;
        case O_PURPOSE: num = "--purpose"; max = 65535; dst = &o->purpose; flag = &o->has_purpose; break;
        case O_REASON: num = "--reason"; max = 65535; dst = &o->reason; flag = &o->has_reason; break;
        case O_FROM: num = "--from"; dst = &o->from; flag = &o->has_from; break;
        case O_UNTIL: num = "--until"; dst = &o->until; flag = &o->has_until; break;
        case O_BLOCKS: num = "--blocks"; dst = &o->blocks; flag = &o->has_blocks; break;
        case O_LIMIT: num = "--limit"; max = 1000; dst = &o->limit; flag = &o->has_limit; break;
        case O_WAIT:
            if (!cli_parse_u64(cmd, "--wait-ms", optarg, 0, 600000, &o->wait_ms)) return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: bad = true;
        }
        if (num != NULL) {
            if (!cli_parse_u64(cmd, num, optarg, min, max, dst)) return CLI_EXIT_USAGE;
            *flag = true;
        }
    }
    if (bad) return cli_usage_error(cmd, "unknown option or missing argument");
    for (int i = optind; i < argc; i++) {
        if (o->npos == 2) return cli_usage_error(cmd, "too many arguments");
        o->pos[o->npos++] = argv[i];
    }
    return -1;
}

/* Which options each subcommand takes: anything else is a usage error. */
static int check_options(const char *cmd, const share_opts_t *o) {
    bool sign = o->sub <= S_ACCESS;
    struct { bool given, allowed; const char *name; } opt[] = {
        {o->schema || o->schema_file, o->sub == S_PUBLISH, "--schema/--schema-file"},
        {o->terms || o->terms_file, o->sub == S_PUBLISH, "--terms/--terms-file"},
        {o->has_purpose || o->text, o->sub == S_REQUEST, "--purpose/--text"},
        {o->has_until || o->has_blocks, o->sub == S_REQUEST, "--until/--blocks"},
        {o->has_from, o->sub == S_REQUEST || o->sub == S_SHOW, "--from"},
        {o->has_reason, o->sub == S_DENY, "--reason"},
        {o->file != NULL, o->sub == S_ACCESS, "--file"},
        {o->after || o->has_limit, o->sub == S_LIST, "--after/--limit"},
        {o->wait_ms != 30000, sign, "--wait-ms"},
        {o->target.genesis || o->target.seal_key || o->target.passphrase_file, sign,
         "--genesis/--seal-key/--passphrase-file"},
    };
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
        if (opt[i].given && !opt[i].allowed)
            return cli_usage_error(cmd, "%s is not an option of this subcommand", opt[i].name);
    if (sign) {
        int rc = client_signer_check(cmd, &o->target);
        if (rc >= 0) return rc;
    } else if (o->target.config == NULL && (o->sub == S_REQUESTS && o->npos == 0)) {
        return cli_usage_error(cmd, "--config is required (or name the CITY)");
    } else if (o->target.config == NULL && o->target.api == NULL) {
        return cli_usage_error(cmd, "--config is required (or --api URL)");
    } else if (o->target.api && strncmp(o->target.api, "http://", 7) != 0 &&
               strncmp(o->target.api, "https://", 8) != 0) {
        return cli_usage_error(cmd, "--api: expected http://host:port, got '%s'", o->target.api);
    }
    int want = o->sub == S_LIST ? 0 : o->sub == S_PUBLISH || o->sub == S_REQUEST ||
               o->sub == S_GRANT || o->sub == S_DENY || o->sub == S_SHOW ? 1
               : o->sub == S_ACCESS ? (o->file ? 1 : 2) : (o->npos > 1 ? 1 : o->npos);
    if (o->npos != want)
        return cli_usage_error(cmd, "expected %d argument%s", want, want == 1 ? "" : "s");
    if (o->sub == S_PUBLISH && (!o->schema == !o->schema_file))
        return cli_usage_error(cmd, "give --schema HEX or --schema-file FILE");
    if (o->sub == S_PUBLISH && o->terms && o->terms_file)
        return cli_usage_error(cmd, "give --terms or --terms-file, not both");
    if (o->sub == S_REQUEST && !o->has_purpose) return cli_usage_error(cmd, "--purpose is required");
    if (o->sub == S_REQUEST && o->has_until && o->has_blocks)
        return cli_usage_error(cmd, "give --until or --blocks, not both");
    if (o->sub == S_DENY && !o->has_reason) return cli_usage_error(cmd, "--reason is required");
    return -1;
}

/* The operation of a signing subcommand from its arguments; `head` is the node's height (the
 * default start of a request's period). */
static int build_op(const char *cmd, share_opts_t *o, uint64_t head) {
    qc_share_op_t *op = &o->op;
    int rc = -1;
    switch (o->sub) {
    case S_PUBLISH:
        op->op = QC_SHARE_DATASET;
        if (strlen(o->pos[0]) > QC_DATASET_NAME_MAX)
            return cli_usage_error(cmd, "a dataset name is at most %d bytes", QC_DATASET_NAME_MAX);
        snprintf(op->name, sizeof op->name, "%s", o->pos[0]);
        if (o->schema) rc = parse_hash(cmd, "--schema", o->schema, &op->schema);
        else if ((rc = client_file_digest(cmd, o->schema_file, NULL, &op->schema)) >= 0)
            return rc;
        op->terms_kind = o->terms_file ? QC_TERMS_DIGEST : QC_TERMS_TEXT;
        if (rc < 0 && o->terms_file && (rc = client_file_digest(cmd, o->terms_file, NULL,
                                                                &op->terms_digest)) >= 0)
            return rc;
        if (o->terms && strlen(o->terms) > QC_TERMS_MAX)
            return cli_usage_error(cmd, "--terms is at most %d bytes", QC_TERMS_MAX);
        snprintf(op->terms, sizeof op->terms, "%s", o->terms ? o->terms : "");
        return rc;
    case S_REQUEST:
        op->op = QC_SHARE_REQUEST;
        op->code = (uint16_t)o->purpose;
        if (o->text && strlen(o->text) > QC_PURPOSE_MAX)
            return cli_usage_error(cmd, "--text is at most %d bytes", QC_PURPOSE_MAX);
        snprintf(op->purpose, sizeof op->purpose, "%s", o->text ? o->text : "");
        op->from_height = o->has_from ? o->from : head + 1;
        op->until_height = o->has_until ? o->until
                           : op->from_height + (o->has_blocks ? o->blocks : SHARE_BLOCKS_DEFAULT) - 1;
        if (op->until_height < op->from_height)
            return cli_usage_error(cmd, "the period ends (--until %llu) before it starts (--from "
                                   "%llu)", (unsigned long long)op->until_height,
                                   (unsigned long long)op->from_height);
        return parse_hash(cmd, "DATASET_ID", o->pos[0], &op->ref);
    case S_DENY:
        op->code = (uint16_t)o->reason;
        /* fall through */
    case S_GRANT:
        op->op = o->sub == S_DENY ? QC_SHARE_DENY : QC_SHARE_GRANT;
        return parse_hash(cmd, "REQUEST_ID", o->pos[0], &op->ref);
    default:
        op->op = QC_SHARE_ACCESS;
        rc = parse_hash(cmd, "REQUEST_ID", o->pos[0], &op->ref);
        if (rc < 0 && o->file) rc = client_file_digest(cmd, o->file, NULL, &op->digest);
        if (rc < 0 && !o->file) rc = parse_hash(cmd, "DIGEST", o->pos[1], &op->digest);
        return rc;
    }
}

/* What a signing subcommand did, for --json: the tx fields, its id and height, and the signed
 * transaction as POST /v1/transactions takes it. */
static json_t *signed_json(const qc_tx_t *tx, uint64_t height, const char *city) {
    char idhex[65];
    json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "op", qc_share_op_name(tx->share->op), "tx_id",
                          qc_hash_hex(idhex, &tx->id), "height", (json_int_t)height, "city", city);
    client_json_add_signed(j, tx);
    return j;
}

static void print_signed(const share_opts_t *o, const qc_tx_t *tx, uint64_t height,
                         const char *city) {
    char idhex[65], refhex[65];
    qc_hash_hex(idhex, &tx->id);
    qc_hash_hex(refhex, &o->op.ref);
    printf("committed tx %s in block %llu, sealed by %s\n", idhex, (unsigned long long)height,
           city);
    switch (o->op.op) {
    case QC_SHARE_DATASET: printf("  published dataset \"%s\": id %s\n", o->op.name, idhex); break;
    case QC_SHARE_REQUEST:
        printf("  requested dataset %s for blocks %llu..%llu: request id %s\n", refhex,
               (unsigned long long)o->op.from_height, (unsigned long long)o->op.until_height, idhex);
        break;
    case QC_SHARE_GRANT: printf("  granted request %s\n", refhex); break;
    case QC_SHARE_DENY: printf("  denied request %s, reason %u\n", refhex, o->op.code); break;
    default: printf("  attested an access under request %s\n", refhex);
    }
}

static int run_signing(const char *cmd, share_opts_t *o, client_identity_t *id, const char *api) {
    uint64_t head = client_current_height(api), nonce, height = 0;
    int rc = build_op(cmd, o, head);
    if (rc >= 0) return rc;
    qc_tx_t tx = {0};
    randombytes_buf(&nonce, sizeof nonce);
    if (qc_share_tx_build(id->genesis.chain_id, &id->seal.sk, nonce, head + SHARE_TTL_BLOCKS,
                          &o->op, &tx) != QC_OK)
        rc = cli_fail(cmd, "cannot build the transaction (a name or text that is not UTF-8, or "
                      "a control character in the name?)");
    else
        rc = client_submit_wait(cmd, api, &tx, o->wait_ms, &height);
    if (rc == CLI_EXIT_OK) {
        if (o->json) rc = cli_print_json(cmd, signed_json(&tx, height, id->cfg.city));
        else print_signed(o, &tx, height, id->cfg.city);
    }
    qc_tx_free(&tx);
    return rc;
}

static const char *str(const json_t *j, const char *key) {
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "-";
}

static long long num(const json_t *j, const char *key) {
    return (long long)json_integer_value(json_object_get(j, key));
}

static void print_request(const json_t *q, const char *indent) {
    printf("%srequest %s by %s: purpose %lld, blocks %lld..%lld, %s", indent, str(q, "id"),
           str(q, "requester"), num(q, "purpose"), num(q, "from_height"), num(q, "until_height"),
           str(q, "state"));
    const json_t *a = json_object_get(q, "answer");
    if (json_is_object(a)) printf(" at height %lld", num(a, "height"));
    printf(", %lld access%s\n", num(q, "access_count"), num(q, "access_count") == 1 ? "" : "es");
}

static void print_read(const share_opts_t *o, const json_t *j) {
    size_t i;
    const json_t *e;
    if (o->sub == S_LIST) {
        json_array_foreach(json_object_get(j, "datasets"), i, e)
            printf("%s  %-10s %s (%lld requests)\n", str(e, "id"), str(e, "owner"),
                   str(e, "name"), num(e, "request_count"));
        if (json_is_string(json_object_get(j, "next")))
            printf("more: qchain dataset list --after %s\n", str(j, "next"));
    } else if (o->sub == S_SHOW) {
        printf("dataset %s \"%s\" of %s, published at height %lld\n", str(j, "id"), str(j, "name"),
               str(j, "owner"), num(j, "height"));
        printf("  schema %s\n  terms  %s\n", str(j, "schema"),
               json_is_string(json_object_get(j, "terms")) ? str(j, "terms") : str(j, "terms_digest"));
        json_array_foreach(json_object_get(j, "requests"), i, e) print_request(e, "  ");
        if (json_is_integer(json_object_get(j, "requests_next")))
            printf("more: qchain dataset show %s --from %lld\n", str(j, "id"), num(j, "requests_next"));
    } else {
        const char *dir[2] = {"to", "from"};
        for (int d = 0; d < 2; d++) {
            printf("open requests %s %s:\n", dir[d], str(j, "city"));
            json_array_foreach(json_object_get(j, dir[d]), i, e) print_request(e, "  ");
        }
    }
}

static int run_reading(const char *cmd, const share_opts_t *o, const client_identity_t *id,
                       const char *api) {
    char path[256];
    if (o->sub == S_LIST) {
        int n = snprintf(path, sizeof path, "/v1/datasets?limit=%llu",
                         (unsigned long long)(o->has_limit ? o->limit : 100));
        if (o->after) {
            qc_hash_t after;
            int rc = parse_hash(cmd, "--after", o->after, &after);
            if (rc >= 0) return rc;
            snprintf(path + n, sizeof path - (size_t)n, "&after=%s", o->after);
        }
    } else if (o->sub == S_SHOW) {
        qc_hash_t h;
        int rc = parse_hash(cmd, "DATASET_ID", o->pos[0], &h);
        if (rc >= 0) return rc;
        snprintf(path, sizeof path, "/v1/datasets/%s?from=%llu", o->pos[0],
                 (unsigned long long)(o->has_from ? o->from : 0));
    } else {
        const char *city = o->npos ? o->pos[0] : id->cfg.city;
        if (!qc_member_name_valid(city)) return cli_usage_error(cmd, "%s is not a member name", city);
        snprintf(path, sizeof path, "/v1/cities/%s/requests", city);
    }
    json_t *j = NULL;
    int rc = client_get_json(cmd, api, path, &j);
    if (rc >= 0) return rc;
    if (o->json) return cli_print_json(cmd, j);
    print_read(o, j);
    json_decref(j);
    return CLI_EXIT_OK;
}

int cli_dataset(int argc, char **argv) {
    const char *cmd = argv[0];
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) return cli_usage_error(cmd, "a subcommand is required");
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    share_opts_t o;
    memset(&o, 0, sizeof o);
    o.wait_ms = 30000;
    size_t k = 0;
    while (k < sizeof subs / sizeof subs[0] && strcmp(subs[k].name, argv[1]) != 0) k++;
    if (k == sizeof subs / sizeof subs[0])
        return cli_usage_error(cmd, "unknown subcommand '%s'", argv[1]);
    o.sub = subs[k].sub;
    char name[80];
    snprintf(name, sizeof name, "%s %s", cmd, argv[1]);
    char *saved = argv[1];
    argv[1] = name; /* messages name the subcommand; restored before returning */
    int rc = parse_options(argc - 1, argv + 1, &o);
    if (rc < 0) rc = check_options(name, &o);
    argv[1] = saved;
    if (rc >= 0) return rc;
    client_identity_t *id = calloc(1, sizeof *id);
    char why[512];
    bool sign = o.sub <= S_ACCESS;
    if (id == NULL) return cli_fail(name, "out of memory");
    /* reading without a config: only the --api URL (and --cacert) */
    rc = sign || o.target.config ? client_identity_open(&o.target, sign, id, why, sizeof why)
                                 : client_set_cacert(o.target.cacert, why, sizeof why);
    if (rc != QC_OK) {
        free(id);
        return cli_fail(name, "%s", why);
    }
    const char *api = id->api_url[0] ? id->api_url : o.target.api;
    rc = sign ? run_signing(name, &o, id, api) : run_reading(name, &o, id, api);
    client_identity_wipe(id);
    free(id);
    return rc;
}
