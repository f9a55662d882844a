/* cmd_member.c - `qchain member ...`: a member city's admin proposes membership changes and
 * approves, rejects or withdraws proposals (GOVERN transactions signed with the admin key,
 * submitted to the city's node, waited for), and anyone reads the proposals and the
 * membership history from a node's API (docs/API.md, "Governance"). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "client.h"
#include "gov.h"

#define MEMBER_TX_TTL_BLOCKS 100         /* the transaction's own expiry: head + this */
#define MEMBER_VOTE_BLOCKS_DEFAULT 1000  /* vote expiry: head + this */
#define MEMBER_VOTE_BLOCKS_MAX 10000000

static const char usage[] =
    "Usage: qchain member SUBCOMMAND [OPTIONS]\n"
    "Membership governance: a city's admin proposes changes to the validator set and the\n"
    "member cities' admins approve or reject them; a passed change takes effect at the next\n"
    "checkpoint boundary as a new epoch.\n"
    "\n"
    "Signing subcommands (GOVERN transactions signed with the city's admin key):\n"
    "  propose CHANGE...     open a proposal (it counts as your city's approval)\n"
    "  approve ID            approve an open proposal\n"
    "  reject ID             reject an open proposal\n"
    "  withdraw ID           withdraw a proposal your city made\n"
    "    -c, --config FILE   the city's node config (API address, genesis, admin key)\n"
    "        --key FILE      the admin secret key (default: the config's keys.admin)\n"
    "        --wait-ms MS    how long to wait for the commit (default 30000)\n"
    "  propose's changes (up to 8, applied together; options after a change refine it):\n"
    "    --add NAME --display TEXT --node-key K --seal-key K --admin-key K\n"
    "              --p2p HOST:PORT --api HOST:PORT      a new member city\n"
    "    --remove NAME                                   a member leaves\n"
    "    --rotate NAME --role node|seal|admin --key K    replace one of a member's keys\n"
    "    --addresses NAME --p2p HOST:PORT --api HOST:PORT  move a member's addresses\n"
    "    --threshold N                                   admin approvals a change needs\n"
    "    --expiry-blocks N   votes count until head height + N (default 1000)\n"
    "    K is 64 hex characters or a public key file (qchain keygen's .pub).\n"
    "    (--key after --rotate is the new key; before any change, --key is the admin key.)\n"
    "\n"
    "Reading subcommands:\n"
    "  list                  open proposals, the change waiting for its checkpoint, all records\n"
    "  show ID               one proposal with its votes\n"
    "  history               the membership epochs from the genesis on\n"
    CLIENT_TARGET_USAGE
    "\n"
    "ID is a proposal id (64 hex characters) or a unique prefix of one.\n"
    "      --json            print the result as JSON (reading: the API's JSON as served)\n"
    "  -h, --help            show this help\n"
    "Exit status: 0 success (committed), 1 failure or refused by the node (its reason is\n"
    "printed), 2 usage, 3 submitted but not committed within --wait-ms.\n";

typedef enum { SUB_PROPOSE, SUB_APPROVE, SUB_REJECT, SUB_WITHDRAW, SUB_LIST, SUB_SHOW, SUB_HISTORY } sub_t;

static const struct { const char *name; sub_t sub; } k_subs[] = {
    {"propose", SUB_PROPOSE}, {"approve", SUB_APPROVE}, {"reject", SUB_REJECT},
    {"withdraw", SUB_WITHDRAW}, {"list", SUB_LIST}, {"show", SUB_SHOW}, {"history", SUB_HISTORY}};

/* The raw key arguments of one change, resolved (hex or file) after parsing. */
enum { KA_NODE, KA_SEAL, KA_ADMIN, KA_NEW, KA_COUNT };

typedef struct {
    sub_t sub;
    client_target_opts_t target;
    const char *key_file;           /* admin key override */
    uint64_t wait_ms, vote_blocks;
    bool json;
    const char *id_arg;             /* approve, reject, withdraw, show */
    uint8_t count;
    qc_change_t changes[QC_GOV_CHANGES_MAX];
    const char *keys[QC_GOV_CHANGES_MAX][KA_COUNT];
    bool has_p2p[QC_GOV_CHANGES_MAX], has_api[QC_GOV_CHANGES_MAX];
} member_opts_t;

static bool copy_str(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n == 0 || n >= cap) return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* The change options refine the latest change; each must suit its kind. */
static int change_opt(const char *cmd, member_opts_t *o, int c, const char *arg);

enum {
    O_ADD = 256, O_REMOVE, O_ROTATE, O_ADDRESSES, O_THRESHOLD, O_DISPLAY, O_NODE_KEY, O_SEAL_KEY,
    O_ADMIN_KEY, O_P2P, O_ROLE, O_KEY, O_EXPIRY, O_WAIT, O_JSON
};

static int new_change(const char *cmd, member_opts_t *o, uint8_t kind, const char *name) {
    if (o->sub != SUB_PROPOSE)
        return cli_usage_error(cmd, "changes (--add, --remove, ...) belong to propose");
    if (o->count >= QC_GOV_CHANGES_MAX)
        return cli_usage_error(cmd, "at most %d changes in one proposal", QC_GOV_CHANGES_MAX);
    qc_change_t *ch = &o->changes[o->count++];
    ch->kind = kind;
    if (name != NULL && (!qc_member_name_valid(name) || !copy_str(ch->name, sizeof ch->name, name)))
        return cli_usage_error(cmd, "%s: a member name is 1..%d of [a-z0-9-]", name,
                               QC_MEMBER_NAME_MAX);
    return -1;
}

static int change_opt(const char *cmd, member_opts_t *o, int c, const char *arg) {
    switch (c) {
    case O_ADD: return new_change(cmd, o, QC_CHANGE_ADD, arg);
    case O_REMOVE: return new_change(cmd, o, QC_CHANGE_REMOVE, arg);
    case O_ROTATE: return new_change(cmd, o, QC_CHANGE_ROTATE, arg);
    case O_ADDRESSES: return new_change(cmd, o, QC_CHANGE_ADDRESSES, arg);
    case O_THRESHOLD: {
        uint64_t t;
        if (!cli_parse_u64(cmd, "--threshold", arg, 1, QC_VALIDATORS_MAX, &t)) return CLI_EXIT_USAGE;
        int rc = new_change(cmd, o, QC_CHANGE_THRESHOLD, NULL);
        if (rc < 0) o->changes[o->count - 1].threshold = (uint16_t)t;
        return rc;
    }
    default: break;
    }
    static const struct { int opt; const char *name; uint8_t kind1, kind2; } refine[] = {
        {O_DISPLAY, "--display", QC_CHANGE_ADD, QC_CHANGE_ADD},
        {O_NODE_KEY, "--node-key", QC_CHANGE_ADD, QC_CHANGE_ADD},
        {O_SEAL_KEY, "--seal-key", QC_CHANGE_ADD, QC_CHANGE_ADD},
        {O_ADMIN_KEY, "--admin-key", QC_CHANGE_ADD, QC_CHANGE_ADD},
        {O_P2P, "--p2p", QC_CHANGE_ADD, QC_CHANGE_ADDRESSES},
        {CLIENT_OPT_API, "--api", QC_CHANGE_ADD, QC_CHANGE_ADDRESSES},
        {O_ROLE, "--role", QC_CHANGE_ROTATE, QC_CHANGE_ROTATE},
        {O_KEY, "--key", QC_CHANGE_ROTATE, QC_CHANGE_ROTATE}};
    size_t r = 0;
    while (r < sizeof refine / sizeof refine[0] && refine[r].opt != c) r++;
    if (r == sizeof refine / sizeof refine[0]) return CLI_EXIT_USAGE; /* not a change option */
    qc_change_t *ch = o->count ? &o->changes[o->count - 1] : NULL;
    if (ch == NULL || (ch->kind != refine[r].kind1 && ch->kind != refine[r].kind2))
        return cli_usage_error(cmd, "%s must follow --%s NAME", refine[r].name,
                               refine[r].kind1 == refine[r].kind2
                                   ? gov_change_kind_name(refine[r].kind1)
                                   : "add or --addresses");
    size_t i = o->count - 1;
    bool ok = true;
    switch (c) {
    case O_DISPLAY: ok = copy_str(ch->display_name, sizeof ch->display_name, arg); break;
    case O_NODE_KEY: o->keys[i][KA_NODE] = arg; break;
    case O_SEAL_KEY: o->keys[i][KA_SEAL] = arg; break;
    case O_ADMIN_KEY: o->keys[i][KA_ADMIN] = arg; break;
    case O_KEY: o->keys[i][KA_NEW] = arg; break;
    case O_P2P: ok = o->has_p2p[i] = copy_str(ch->p2p_address, sizeof ch->p2p_address, arg); break;
    case CLIENT_OPT_API:
        ok = o->has_api[i] = copy_str(ch->api_address, sizeof ch->api_address, arg);
        break;
    case O_ROLE:
        for (uint8_t role = QC_ROLE_NODE; role <= QC_ROLE_ADMIN; role++)
            if (strcmp(arg, gov_role_name(role)) == 0) ch->role = role;
        ok = ch->role != 0;
        break;
    default: break;
    }
    if (!ok) return cli_usage_error(cmd, "%s: bad value '%s'", refine[r].name, arg);
    return -1;
}

/* Every change has what its kind needs. */
static int changes_complete(const char *cmd, const member_opts_t *o) {
    if (o->count == 0)
        return cli_usage_error(cmd, "propose needs at least one change (--add, --remove, "
                                    "--rotate, --addresses, --threshold)");
    for (uint8_t i = 0; i < o->count; i++) {
        const qc_change_t *ch = &o->changes[i];
        const char *missing = NULL;
        if (ch->kind == QC_CHANGE_ADD) {
            if (ch->display_name[0] == '\0') missing = "--display";
            else if (o->keys[i][KA_NODE] == NULL) missing = "--node-key";
            else if (o->keys[i][KA_SEAL] == NULL) missing = "--seal-key";
            else if (o->keys[i][KA_ADMIN] == NULL) missing = "--admin-key";
        }
        if (ch->kind == QC_CHANGE_ADD || ch->kind == QC_CHANGE_ADDRESSES) {
            if (missing == NULL && !o->has_p2p[i]) missing = "--p2p";
            else if (missing == NULL && !o->has_api[i]) missing = "--api";
        }
        if (ch->kind == QC_CHANGE_ROTATE) {
            if (ch->role == 0) missing = "--role";
            else if (o->keys[i][KA_NEW] == NULL) missing = "--key";
        }
        if (missing != NULL)
            return cli_usage_error(cmd, "--%s %s needs %s", gov_change_kind_name(ch->kind),
                                   ch->name, missing);
    }
    return -1;
}

static bool is_signing(sub_t s) { return s <= SUB_WITHDRAW; }

/* Parses `qchain member SUB ...` (argv[0] is "qchain member SUB"). -1 to go on, else an exit
 * status. */
static int parse(int argc, char **argv, sub_t sub, member_opts_t *o) {
    const char *cmd = argv[0];
    static const struct option opts[] = {
        CLIENT_TARGET_OPTIONS,
        {"key", required_argument, NULL, O_KEY}, {"wait-ms", required_argument, NULL, O_WAIT},
        {"json", no_argument, NULL, O_JSON}, {"help", no_argument, NULL, 'h'},
        {"add", required_argument, NULL, O_ADD}, {"remove", required_argument, NULL, O_REMOVE},
        {"rotate", required_argument, NULL, O_ROTATE},
        {"addresses", required_argument, NULL, O_ADDRESSES},
        {"threshold", required_argument, NULL, O_THRESHOLD},
        {"display", required_argument, NULL, O_DISPLAY},
        {"node-key", required_argument, NULL, O_NODE_KEY},
        {"seal-key", required_argument, NULL, O_SEAL_KEY},
        {"admin-key", required_argument, NULL, O_ADMIN_KEY},
        {"p2p", required_argument, NULL, O_P2P}, {"role", required_argument, NULL, O_ROLE},
        {"expiry-blocks", required_argument, NULL, O_EXPIRY}, {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->sub = sub;
    o->wait_ms = 30000;
    o->vote_blocks = MEMBER_VOTE_BLOCKS_DEFAULT;
    cli_getopt_reset();
    int c;
    bool bad = false;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        int rc = -1;
        if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        if (c == '?') { bad = true; continue; }
        bool refines = sub == SUB_PROPOSE && (c == CLIENT_OPT_API || (c == O_KEY && o->count > 0));
        if (!refines && client_target_opt(c, optarg, &o->target)) continue;
        switch (c) {
        case O_KEY:
            if (refines) rc = change_opt(cmd, o, c, optarg); /* --rotate's new key */
            else o->key_file = optarg;
            break;
        case O_JSON: o->json = true; break;
        case O_WAIT:
            if (!cli_parse_u64(cmd, "--wait-ms", optarg, 0, 600000, &o->wait_ms)) return CLI_EXIT_USAGE;
            break;
        case O_EXPIRY:
            if (sub != SUB_PROPOSE) return cli_usage_error(cmd, "--expiry-blocks belongs to propose");
            if (!cli_parse_u64(cmd, "--expiry-blocks", optarg, 1, MEMBER_VOTE_BLOCKS_MAX,
                               &o->vote_blocks))
                return CLI_EXIT_USAGE;
            break;
        default: rc = change_opt(cmd, o, c, optarg);
        }
        if (rc >= 0) return rc;
    }
    bool wants_id = sub != SUB_PROPOSE && sub != SUB_LIST && sub != SUB_HISTORY;
    if (!bad && wants_id && optind < argc) o->id_arg = argv[optind++];
    int rc = cli_check_args(cmd, argc, argv, bad);
    if (rc >= 0) return rc;
    if (wants_id && o->id_arg == NULL) return cli_usage_error(cmd, "name a proposal ID");
    if (is_signing(sub)) {
        if (o->target.config == NULL || o->target.api || o->target.genesis)
            return cli_usage_error(cmd, "signing needs --config (the city's node config) and "
                                        "takes no --api/--genesis");
        if (sub == SUB_PROPOSE) return changes_complete(cmd, o);
        return -1;
    }
    if (o->key_file) return cli_usage_error(cmd, "--key is only for signing subcommands");
    return client_target_check(cmd, &o->target);
}

/* ------------------------------------------------------------------ talking to the node */

/* Resolves a proposal id or unique prefix through the node's listing. */
static int resolve_id(const char *cmd, const char *api_url, const char *arg, qc_hash_t *id) {
    size_t n = strlen(arg);
    if (n == 64 && qc_hex_decode(id->b, 32, arg) == QC_OK) return -1;
    if (n == 0 || n > 64 || strspn(arg, "0123456789abcdefABCDEF") != n)
        return cli_fail(cmd, "%s: a proposal id is hex (64 characters, or a unique prefix)", arg);
    json_t *j;
    int rc = client_get_json(cmd, api_url, "/v1/governance/proposals", &j);
    if (rc >= 0) return rc;
    const char *found = NULL;
    int matches = 0;
    json_t *list = json_object_get(j, "proposals"), *p;
    size_t i;
    json_array_foreach(list, i, p) {
        const char *pid = json_string_value(json_object_get(p, "id"));
        if (pid && strncasecmp(pid, arg, n) == 0) { found = pid; matches++; }
    }
    if (matches == 1 && qc_hex_decode(id->b, 32, found) == QC_OK) rc = -1;
    else if (matches == 0) rc = cli_fail(cmd, "no proposal id starts with %s", arg);
    else rc = cli_fail(cmd, "%d proposal ids start with %s: give more of it", matches, arg);
    json_decref(j);
    return rc;
}

/* Resolves a key argument: 64 hex characters, or a public key file of the expected role. */
static int resolve_key(const char *cmd, const char *arg, keys_role_t role, qc_pubkey_t *out) {
    if (strlen(arg) == 64 && qc_hex_decode(out->b, 32, arg) == QC_OK) return -1;
    char reason[256];
    if (keys_load_public(arg, role, out, NULL, reason, sizeof reason) != QC_OK)
        return cli_fail(cmd, "%s: neither 64 hex characters nor a %s public key file: %s", arg,
                        keys_role_name(role), reason);
    return -1;
}

static int resolve_keys(const char *cmd, member_opts_t *o) {
    for (uint8_t i = 0; i < o->count; i++) {
        qc_change_t *ch = &o->changes[i];
        const struct { const char *arg; keys_role_t role; qc_pubkey_t *out; } ks[] = {
            {o->keys[i][KA_NODE], KEYS_ROLE_NODE, &ch->node_key},
            {o->keys[i][KA_SEAL], KEYS_ROLE_SEAL, &ch->seal_key},
            {o->keys[i][KA_ADMIN], KEYS_ROLE_ADMIN, &ch->admin_key},
            {o->keys[i][KA_NEW], (keys_role_t)(ch->role - 1), &ch->new_key}};
        for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
            int rc = ks[k].arg ? resolve_key(cmd, ks[k].arg, ks[k].role, ks[k].out) : -1;
            if (rc >= 0) return rc;
        }
    }
    return -1;
}

static uint64_t head_height(const char *cmd, const char *api_url, int *rc) {
    json_t *j;
    *rc = client_get_json(cmd, api_url, "/v1/status", &j);
    if (*rc >= 0) return 0;
    uint64_t h = (uint64_t)json_integer_value(json_object_get(j, "height"));
    json_decref(j);
    return h;
}

/* Submits tx and waits; on a commit fetches the proposal's record into *proposal. */
static int submit(const char *cmd, const member_opts_t *o, const char *api_url,
                  const qc_tx_t *tx, const qc_hash_t *proposal_id, uint64_t *height,
                  json_t **proposal) {
    int rc = client_submit_wait(cmd, api_url, tx, o->wait_ms, height);
    if (rc != CLI_EXIT_OK) return rc;
    char path[128], hex[65];
    snprintf(path, sizeof path, "/v1/governance/proposals/%s", qc_hash_hex(hex, proposal_id));
    rc = client_get_json(cmd, api_url, path, proposal);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

/* ------------------------------------------------------------------ printing */

static const char *jstr(const json_t *j, const char *k) {
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

static long long jint(const json_t *j, const char *k) {
    return (long long)json_integer_value(json_object_get(j, k));
}

static void print_cities(const char *label, const json_t *arr) {
    printf("%s", label);
    size_t i;
    json_t *c;
    if (json_array_size(arr) == 0) printf(" -");
    json_array_foreach(arr, i, c) printf("%s%s", i ? ", " : " ", json_string_value(c));
    printf("\n");
}

static void print_change(const json_t *c) {
    const char *kind = jstr(c, "kind");
    if (strcmp(kind, "add") == 0)
        printf("    add %s (%s) p2p %s api %s\n      node %s\n      seal %s\n      admin %s\n",
               jstr(c, "name"), jstr(c, "display_name"), jstr(c, "p2p_address"),
               jstr(c, "api_address"), jstr(c, "node_key"), jstr(c, "seal_key"),
               jstr(c, "admin_key"));
    else if (strcmp(kind, "remove") == 0) printf("    remove %s\n", jstr(c, "name"));
    else if (strcmp(kind, "rotate") == 0)
        printf("    rotate %s's %s key to %s\n", jstr(c, "name"), jstr(c, "role"), jstr(c, "new_key"));
    else if (strcmp(kind, "addresses") == 0)
        printf("    addresses of %s: p2p %s api %s\n", jstr(c, "name"), jstr(c, "p2p_address"),
               jstr(c, "api_address"));
    else if (strcmp(kind, "threshold") == 0) printf("    threshold %lld\n", jint(c, "threshold"));
    else printf("    %s\n", kind);
}

/* One line per proposal (list). */
static void print_line(const json_t *p) {
    printf("  %.16s  %-10s by %-12s epoch %lld  approvals %zu/%lld  rejections %zu  "
           "votes until %lld\n",
           jstr(p, "id"), jstr(p, "status"), jstr(p, "proposer"), jint(p, "epoch"),
           json_array_size(json_object_get(p, "approvals")), jint(p, "threshold"),
           json_array_size(json_object_get(p, "rejections")), jint(p, "vote_expiry_height"));
}

static void print_proposal(const json_t *p) {
    printf("proposal %s\n  status     %s\n  proposer   %s (epoch %lld, block %lld)\n"
           "  votes until block %lld; threshold %lld\n",
           jstr(p, "id"), jstr(p, "status"), jstr(p, "proposer"), jint(p, "epoch"),
           jint(p, "proposed_height"), jint(p, "vote_expiry_height"), jint(p, "threshold"));
    print_cities("  approvals ", json_object_get(p, "approvals"));
    print_cities("  rejections", json_object_get(p, "rejections"));
    if (jint(p, "closed_height")) printf("  closed at block %lld\n", jint(p, "closed_height"));
    if (jint(p, "effective_height"))
        printf("  in force from block %lld\n", jint(p, "effective_height"));
    printf("  changes:\n");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(p, "changes"), i, c) print_change(c);
}

static void print_list(const json_t *j) {
    const json_t *open = json_object_get(j, "open"), *w = json_object_get(j, "waiting");
    printf("open proposals: %zu\n", json_array_size(open));
    size_t i;
    json_t *p;
    json_array_foreach(open, i, p) print_line(p);
    if (json_is_object(w))
        printf("waiting: %.16s passed; epoch %lld (threshold %lld) takes effect after block %lld\n",
               jstr(json_object_get(w, "proposal"), "id"), jint(w, "next_epoch"),
               jint(w, "next_threshold"), jint(w, "switch_height"));
    else
        printf("waiting: none\n");
    const json_t *all = json_object_get(j, "proposals");
    printf("all proposals: %zu\n", json_array_size(all));
    json_array_foreach(all, i, p) print_line(p);
}

static void print_history(const json_t *j) {
    size_t i, m;
    json_t *e, *mem;
    json_array_foreach(json_object_get(j, "epochs"), i, e) {
        const json_t *members = json_object_get(e, "members");
        printf("epoch %lld from block %lld: %zu members, quorum %lld, threshold %lld\n",
               jint(e, "epoch"), jint(e, "first_height"), json_array_size(members),
               jint(e, "quorum"), jint(e, "threshold"));
        json_array_foreach(members, m, mem)
            printf("  %-12s node %.16s  seal %.16s  admin %.16s\n", jstr(mem, "name"),
                   jstr(mem, "node_key"), jstr(mem, "seal_key"), jstr(mem, "admin_key"));
    }
}

/* ------------------------------------------------------------------ subcommands */

static int run_reading(const char *cmd, const member_opts_t *o) {
    client_target_t *t = malloc(sizeof *t);
    char why[512], path[128];
    if (t == NULL) return cli_fail(cmd, "out of memory");
    int rc = client_target_load(&o->target, t, why, sizeof why) == QC_OK ? -1 : cli_fail(cmd, "%s", why);
    qc_hash_t id;
    if (rc < 0 && o->sub == SUB_SHOW) rc = resolve_id(cmd, t->api_url, o->id_arg, &id);
    if (o->sub == SUB_LIST) snprintf(path, sizeof path, "/v1/governance/proposals");
    if (o->sub == SUB_HISTORY) snprintf(path, sizeof path, "/v1/members/history");
    if (o->sub == SUB_SHOW && rc < 0) {
        char hex[65];
        snprintf(path, sizeof path, "/v1/governance/proposals/%s", qc_hash_hex(hex, &id));
    }
    json_t *j = NULL;
    if (rc < 0) rc = client_get_json(cmd, t->api_url, path, &j);
    free(t);
    if (rc >= 0) return rc;
    if (o->json) return cli_print_json(cmd, j);
    if (o->sub == SUB_LIST) print_list(j);
    if (o->sub == SUB_SHOW) print_proposal(j);
    if (o->sub == SUB_HISTORY) print_history(j);
    json_decref(j);
    return CLI_EXIT_OK;
}

static int run_signing(const char *cmd, member_opts_t *o) {
    client_identity_t *id = calloc(1, sizeof *id);
    char why[512];
    if (id == NULL) return cli_fail(cmd, "out of memory");
    keys_pair_t admin;
    bool have_admin = false;
    int rc = -1;
    if (client_identity_open(&o->target, false, id, why, sizeof why) != QC_OK || /* --cacert */
        client_identity_key(id, o->key_file, KEYS_ROLE_ADMIN, &admin, why, sizeof why) != QC_OK)
        rc = cli_fail(cmd, "%s", why);
    else
        have_admin = true;
    qc_gov_op_t *op = calloc(1, sizeof *op);
    if (rc < 0 && op == NULL) rc = cli_fail(cmd, "out of memory");
    if (rc < 0 && o->sub == SUB_PROPOSE) rc = resolve_keys(cmd, o);
    if (rc < 0 && o->sub != SUB_PROPOSE) rc = resolve_id(cmd, id->api_url, o->id_arg, &op->proposal);
    uint64_t head = rc < 0 ? head_height(cmd, id->api_url, &rc) : 0;
    qc_tx_t tx = {0};
    if (rc < 0) {
        static const uint8_t ops[] = {QC_GOV_PROPOSE, QC_GOV_APPROVE, QC_GOV_REJECT, QC_GOV_WITHDRAW};
        op->op = ops[o->sub];
        if (o->sub == SUB_PROPOSE) {
            op->vote_expiry_height = head + o->vote_blocks;
            op->change_count = o->count;
            memcpy(op->changes, o->changes, sizeof o->changes);
        }
        uint64_t nonce;
        randombytes_buf(&nonce, sizeof nonce);
        if (qc_gov_tx_build(id->genesis.chain_id, &admin.sk, nonce, head + MEMBER_TX_TTL_BLOCKS,
                            op, &tx) != QC_OK)
            rc = cli_fail(cmd, "the changes do not make a well-formed proposal (docs/PROTOCOL.md)");
    }
    if (rc < 0 && o->sub == SUB_PROPOSE) op->proposal = tx.id; /* a proposal's id is its tx id */
    uint64_t height = 0;
    json_t *proposal = NULL;
    if (rc < 0) rc = submit(cmd, o, id->api_url, &tx, &op->proposal, &height, &proposal);
    if (rc == CLI_EXIT_OK) {
        char txhex[65];
        qc_hash_hex(txhex, &tx.id);
        if (o->json) {
            rc = cli_print_json(cmd, json_pack("{s:s, s:I, s:O}", "tx_id", txhex, "height",
                                               (json_int_t)height, "proposal", proposal));
        } else {
            printf("committed %s tx %s in block %llu\n", k_subs[o->sub].name, txhex,
                   (unsigned long long)height);
            print_proposal(proposal);
        }
    }
    json_decref(proposal);
    qc_tx_free(&tx);
    free(op);
    if (have_admin) keys_pair_wipe(&admin);
    client_identity_wipe(id);
    free(id);
    return rc;
}

int cli_member(int argc, char **argv) {
    const char *cmd = argv[0];
    if (argc < 2) return cli_usage_error(cmd, "name a subcommand");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    size_t s = 0;
    while (s < sizeof k_subs / sizeof k_subs[0] && strcmp(k_subs[s].name, argv[1]) != 0) s++;
    if (s == sizeof k_subs / sizeof k_subs[0])
        return cli_usage_error(cmd, "unknown subcommand '%s'", argv[1]);
    char name[64];
    snprintf(name, sizeof name, "%s %s", cmd, k_subs[s].name);
    char *saved = argv[1];
    argv[1] = name;
    member_opts_t *o = malloc(sizeof *o);
    int rc = o ? parse(argc - 1, argv + 1, k_subs[s].sub, o) : cli_fail(cmd, "out of memory");
    if (rc < 0) rc = is_signing(o->sub) ? run_signing(name, o) : run_reading(name, o);
    argv[1] = saved;
    free(o);
    return rc;
}
