/* cmd_status.c - `qchain status [--all]`: a node's (or every member node's) view of the chain:
 * height, head hash, consensus view and primary, peer links, lag behind its peers, mempool.
 * Each answer is checked to come from a node of the chain named by the genesis. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "client.h"

#define STATUS_TIMEOUT_MS 5000L

static const char usage[] =
    "Usage: qchain status (--config NODE.json | --api URL --genesis GENESIS.json) [--all] [--json]\n"
    "Shows what a node reports: height, head hash, view, primary, peer links up, lag behind its\n"
    "most advanced peer, and transactions waiting in its mempool. A '*' after the VIEW number\n"
    "(e.g. 1*) means the node is in a view change: it has left the view before and moves to\n"
    "view VIEW, whose primary is PRIMARY; it commits nothing until that view's NEW-VIEW is\n"
    "installed (no '*': the node works normally in view VIEW).\n"
    "With --all, asks every member node in force (the node's /v1/members: governance may have\n"
    "changed them; the genesis list if the node cannot say) at its advertised API address,\n"
    "except the node given here (--config/--api), which is shown as it answered at that\n"
    "address (first, if it is not a member in force). A member whose advertised address is a\n"
    "loopback one (127.x.x.x, ::1, localhost) that does not answer from here is shown as\n"
    "UNREACHABLE with \"loopback-only API address ...: not reachable from here\" (\"loopback\":\n"
    "true in --json): that address reaches its node only on the node's own host, so it is not\n"
    "known to be down.\n" CLIENT_TARGET_USAGE
    "      --all           ask every member node in force\n"
    "      --json          print {\"chain_id\", \"nodes\": [...]} with each node's full status\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 every node asked answered for this chain, 1 a node was unreachable (a\n"
    "loopback-only address included), refused or belongs to another chain (the others are still\n"
    "shown), 2 usage.\n";

/* Asks the node at url for its status. Returns the entry for the report ({"api", "up", ...
 * the node's status fields} or {"api", "up": false, "city", "error"}); *ok says whether the
 * node answered as expected_city (NULL: any member) of t's chain. */
static json_t *query(const client_target_t *t, const char *url, const char *expected_city,
                     bool *ok) {
    char why[512] = "", want[65], got_hash[65] = "";
    long status = 0;
    json_t *s = NULL;
    *ok = false;
    if (client_get(url, "/v1/status", STATUS_TIMEOUT_MS, &status, &s, why, sizeof why) == QC_OK) {
        const char *gh = json_string_value(json_object_get(s, "genesis_hash"));
        const char *city = json_string_value(json_object_get(s, "city"));
        snprintf(got_hash, sizeof got_hash, "%s", gh ? gh : "");
        if (status != 200 || !json_is_object(s))
            snprintf(why, sizeof why, "HTTP %ld: %s", status, client_error_message(s));
        else if (strcmp(got_hash, qc_hash_hex(want, &t->genesis.hash)) != 0)
            snprintf(why, sizeof why, "serves another chain (genesis %.16s...)", got_hash);
        else if (city == NULL || (expected_city && strcmp(city, expected_city) != 0))
            snprintf(why, sizeof why, "answers as '%s', not '%s'", city ? city : "?",
                     expected_city ? expected_city : "a member");
        else
            *ok = true;
    }
    if (*ok) {
        json_object_set_new(s, "api", json_string(url));
        json_object_set_new(s, "up", json_true());
        return s;
    }
    json_decref(s);
    return json_pack("{s:s, s:b, s:s?, s:s}", "api", url, "up", 0, "city", expected_city,
                     "error", why);
}

/* Whether an API address (HOST:PORT or [V6]:PORT) names a loopback host: 127.0.0.0/8, ::1
 * (also ::ffff:127.x.x.x), localhost or NAME.localhost. Such an address reaches its node only
 * from the node's own host. */
static bool addr_loopback(const char *addr) {
    char host[GENESIS_ADDR_MAX + 1];
    const char *end = addr[0] == '[' ? strchr(++addr, ']') : strrchr(addr, ':');
    size_t n = end ? (size_t)(end - addr) : strlen(addr);
    if (n >= sizeof host) return false;
    memcpy(host, addr, n);
    host[n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return strcasecmp(host, "localhost") == 0 ||
           (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0);
}

/* A member that did not answer at its loopback-only advertised address addr: says why that is
 * not "down" (entry e from query()). */
static void mark_loopback(json_t *e, const char *addr) {
    char msg[768];
    snprintf(msg, sizeof msg, "loopback-only API address %s: not reachable from here (%s)", addr,
             json_string_value(json_object_get(e, "error")));
    json_object_set_new(e, "error", json_string(msg));
    json_object_set_new(e, "loopback", json_true());
}

static json_int_t jint(const json_t *o, const char *key) {
    return json_integer_value(json_object_get(o, key));
}

static void print_table(const client_target_t *t, const json_t *nodes) {
    char gh[65];
    printf("chain %s  genesis %s\n", t->genesis.chain_id, qc_hash_hex(gh, &t->genesis.hash));
    printf("%-12s %8s  %-16s %6s  %-12s %5s %5s %8s\n", "CITY", "HEIGHT", "HEAD", "VIEW",
           "PRIMARY", "PEERS", "LAG", "MEMPOOL");
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *n = json_array_get(nodes, i);
        const char *city = json_string_value(json_object_get(n, "city"));
        if (json_is_true(json_object_get(n, "loopback"))) {
            printf("%-12s UNREACHABLE  %s\n", city ? city : "?",
                   json_string_value(json_object_get(n, "error")));
            continue;
        }
        if (!json_is_true(json_object_get(n, "up"))) {
            printf("%-12s DOWN  %s: %s\n", city ? city : "?",
                   json_string_value(json_object_get(n, "api")),
                   json_string_value(json_object_get(n, "error")));
            continue;
        }
        char peers[32];
        snprintf(peers, sizeof peers, "%lld/%lld", (long long)jint(n, "peers_up"),
                 (long long)jint(n, "peers"));
        printf("%-12s %8lld  %-16.16s %6lld%s %-12s %5s %5lld %8lld\n", city,
               (long long)jint(n, "height"), json_string_value(json_object_get(n, "head_hash")),
               (long long)jint(n, "view"),
               json_is_true(json_object_get(n, "view_change")) ? "*" : " ",
               json_string_value(json_object_get(n, "primary")), peers,
               (long long)jint(n, "lag"), (long long)jint(n, "mempool_txs"));
    }
}

int cli_status(int argc, char **argv) {
    const char *cmd = argv[0];
    enum { O_ALL = 256, O_JSON };
    static const struct option opts[] = {CLIENT_TARGET_OPTIONS,
                                         {"all", no_argument, NULL, O_ALL},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    client_target_opts_t to = {0};
    bool all = false, json = false, bad = false;
    cli_getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1;) {
        if (client_target_opt(c, optarg, &to)) continue;
        if (c == O_ALL) all = true;
        else if (c == O_JSON) json = true;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    int rc = client_target_finish(cmd, argc, argv, bad, &to, NULL, NULL);
    if (rc >= 0) return rc;

    client_target_t *t = malloc(sizeof *t);
    char why[512];
    if (t == NULL || client_target_load(&to, t, why, sizeof why) != QC_OK) {
        rc = cli_fail(cmd, "%s", t ? why : "out of memory");
        free(t);
        return rc;
    }
    json_t *nodes = json_array();
    /* The node given here, as the config's city when there is one. */
    bool all_ok, ok;
    json_t *self = query(t, t->api_url, t->city[0] ? t->city : NULL, &all_ok);
    if (all) {
        const char *self_city = json_string_value(json_object_get(self, "city"));
        bool self_listed = false;
        /* The members in force and their addresses (governance may have changed both since
         * the genesis), from the given node; the genesis list when it cannot say. */
        long st = 0;
        json_t *mem = NULL;
        char mwhy[256];
        const json_t *list = NULL;
        if (client_get(t->api_url, "/v1/members", STATUS_TIMEOUT_MS, &st, &mem, mwhy, sizeof mwhy) == QC_OK &&
            st == 200)
            list = json_object_get(mem, "members");
        size_t count = json_array_size(list) ? json_array_size(list) : t->genesis.validators.n;
        for (size_t i = 0; i < count; i++) {
            char url[GENESIS_ADDR_MAX + 16];
            const json_t *m = json_array_get(list, i);
            const char *name = m ? json_string_value(json_object_get(m, "name")) : NULL;
            const char *addr = m ? json_string_value(json_object_get(m, "api_address")) : NULL;
            if (list == NULL || json_array_size(list) == 0) {
                name = t->genesis.validators.members[i].name;
                addr = t->genesis.info[i].api_address;
            } else if (name == NULL || addr == NULL) {
                name = "?";
                addr = "invalid-address-in-members-list:0";
            }
            if (self_city && strcmp(name, self_city) == 0 && !self_listed) {
                json_array_append(nodes, self); /* as it answered where it was asked */
                self_listed = true;
                continue;
            }
            snprintf(url, sizeof url, "http://%s", addr);
            json_t *e = query(t, url, name, &ok);
            if (!ok && addr_loopback(addr)) mark_loopback(e, addr);
            json_array_append_new(nodes, e);
            all_ok = all_ok && ok;
        }
        if (!self_listed) json_array_insert(nodes, 0, self); /* not a member in force */
        json_decref(mem);
    } else {
        json_array_append(nodes, self);
    }
    json_decref(self);
    if (json) {
        char gh[65];
        cli_print_json(cmd, json_pack("{s:s, s:s, s:O}", "chain_id", t->genesis.chain_id,
                                      "genesis_hash", qc_hash_hex(gh, &t->genesis.hash), "nodes",
                                      nodes));
    } else {
        print_table(t, nodes);
    }
    json_decref(nodes);
    free(t);
    return all_ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
