/* cmd_testnet.c - `qchain testnet`: keys, genesis and node configs for the nine Shandong
 * cities on loopback, laid out as testnet/README.md describes. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "genesis.h"
#include "keys.h"

#define TESTNET_DEFAULT_CHAIN_ID "qchain-shandong-testnet"
#define TESTNET_DEFAULT_BASE_PORT 7100u
#define TESTNET_API_PORT_OFFSET 1000u
#define TESTNET_PATH_MAX 4096

typedef struct {
    const char *name;
    const char *display_name;
} testnet_city_t;

/* Validator order of the testnet genesis. */
static const testnet_city_t k_cities[] = {
    {"jinan", "Jinan 济南"},         {"zibo", "Zibo 淄博"},       {"taian", "Tai'an 泰安"},
    {"liaocheng", "Liaocheng 聊城"}, {"dezhou", "Dezhou 德州"},   {"binzhou", "Binzhou 滨州"},
    {"dongying", "Dongying 东营"},   {"jining", "Jining 济宁"},   {"heze", "Heze 菏泽"},
};
#define CITY_COUNT (sizeof k_cities / sizeof k_cities[0])

static const char k_usage[] =
    "Usage: qchain testnet --out DIR [OPTIONS]\n"
    "\n"
    "Makes a nine-city consortium on loopback: for each of jinan, zibo, taian, liaocheng,\n"
    "dezhou, binzhou, dongying, jining and heze, its node, seal and admin keys (plaintext,\n"
    "mode 0600) and a node config; and one genesis listing all nine. Layout:\n"
    "  DIR/genesis.json\n"
    "  DIR/CITY/node.json                 node config (docs/CONFIG.md)\n"
    "  DIR/CITY/keys/{node,seal,admin}.key and .pub\n"
    "City i (1..9) listens on 127.0.0.1:BASE+i for peers and 127.0.0.1:API_BASE+i for clients\n"
    "(on its own host with --host-base).\n"
    "\n"
    "Options:\n"
    "  --out DIR              directory to create or fill (required)\n"
    "  --base-port N          peer ports are N+1..N+9 (default 7100)\n"
    "  --api-base-port N      API ports are N+1..N+9 (default: base port + 1000)\n"
    "  --chain-id ID          chain id (default " TESTNET_DEFAULT_CHAIN_ID ")\n"
    "  --time-ms MS           genesis time, Unix ms (default: now)\n"
    "  --host-base IPV4       give city i its own host IPV4+i (last octet) instead of\n"
    "                         127.0.0.1, e.g. 10.99.0.0 -> 10.99.0.1..10.99.0.9: one network\n"
    "                         namespace per city (testnet/netns.sh); ports are unchanged\n"
    "  --cities N             only the first N cities, 4..9 (default 9: jinan, zibo, taian,\n"
    "                         liaocheng, dezhou, binzhou, dongying, jining, heze)\n"
    "  --force                replace a testnet already in DIR: deletes DIR/genesis.json and\n"
    "                         the nine city directories (with their keys and data)\n"
    "  --json                 print the result as JSON\n"
    "  -h, --help             show this help\n"
    "\n"
    "Other files in DIR are left alone. Without --force, a DIR that already holds\n"
    "genesis.json or a city directory is refused.\n"
    "\n"
    "Exit status: 0 written; 1 failure (DIR holds a testnet, I/O); 2 usage error.\n";

typedef struct {
    const char *out, *chain_id;
    struct in_addr host_base;            /* city i gets host_base + i; 127.0.0.1 for all if unset */
    bool host_base_given;
    uint64_t base_port, api_base_port, time_ms;
    uint64_t cities;                     /* the first N of k_cities, 4..9 */
    bool api_base_given, force, json;
} testnet_opts_t;

static int parse_opts(int argc, char **argv, testnet_opts_t *o) {
    enum { OPT_OUT = 256, OPT_BASE, OPT_API_BASE, OPT_CHAIN, OPT_TIME, OPT_FORCE, OPT_JSON, OPT_CITIES,
           OPT_HOST_BASE };
    static const struct option opts[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"base-port", required_argument, NULL, OPT_BASE},
        {"api-base-port", required_argument, NULL, OPT_API_BASE},
        {"chain-id", required_argument, NULL, OPT_CHAIN},
        {"time-ms", required_argument, NULL, OPT_TIME},
        {"force", no_argument, NULL, OPT_FORCE},
        {"cities", required_argument, NULL, OPT_CITIES},
        {"host-base", required_argument, NULL, OPT_HOST_BASE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const uint64_t port_max = 65535 - CITY_COUNT;
    bool bad = false, ok = true;
    cli_getopt_reset();
    for (int c; ok && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_BASE: ok = cli_parse_u64(cmd, "--base-port", optarg, 1, port_max, &o->base_port); break;
        case OPT_API_BASE:
            o->api_base_given = true;
            ok = cli_parse_u64(cmd, "--api-base-port", optarg, 1, port_max, &o->api_base_port);
            break;
        case OPT_CHAIN: o->chain_id = optarg; break;
        case OPT_TIME: ok = cli_parse_u64(cmd, "--time-ms", optarg, 0, UINT64_C(253402300799999), &o->time_ms); break;
        case OPT_FORCE: o->force = true; break;
        case OPT_CITIES: ok = cli_parse_u64(cmd, "--cities", optarg, 4, CITY_COUNT, &o->cities); break;
        case OPT_JSON: o->json = true; break;
        case OPT_HOST_BASE:
            o->host_base_given = true;
            /* The last octet + 9 must stay a host address (<= 254). */
            ok = inet_pton(AF_INET, optarg, &o->host_base) == 1 &&
                 (ntohl(o->host_base.s_addr) & 0xffu) + CITY_COUNT <= 254u;
            if (!ok) cli_usage_error(cmd, "--host-base: expected an IPv4 address whose last octet is at most %u", 254u - (unsigned)CITY_COUNT);
            break;
        case 'h': fputs(k_usage, stdout); return CLI_EXIT_OK;
        default: bad = true; break;
        }
    }
    if (!ok) return CLI_EXIT_USAGE;
    int rc = cli_check_args(cmd, argc, argv, bad);
    if (rc >= 0) return rc;
    if (o->out == NULL) return cli_usage_error(cmd, "--out is required");
    if (!qc_chain_id_valid(o->chain_id)) {
        return cli_usage_error(cmd, "--chain-id: expected 1..%d chars of [A-Za-z0-9._-]",
                               QC_CHAIN_ID_MAX);
    }
    if (!o->api_base_given) o->api_base_port = o->base_port + TESTNET_API_PORT_OFFSET;
    if (o->api_base_port > port_max) return cli_usage_error(cmd, "--api-base-port: too high");
    if (o->api_base_port + CITY_COUNT >= o->base_port + 1 &&
        o->base_port + CITY_COUNT >= o->api_base_port + 1) {
        return cli_usage_error(cmd, "the peer and API port ranges overlap");
    }
    return -1;
}

/* snprintf into a TESTNET_PATH_MAX buffer; false if it does not fit. */
static bool path_join(char out[TESTNET_PATH_MAX], const char *a, const char *b, const char *c) {
    int n = snprintf(out, TESTNET_PATH_MAX, "%s/%s%s%s", a, b, c[0] ? "/" : "", c);
    return n >= 0 && n < TESTNET_PATH_MAX;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* True if DIR already holds a testnet's genesis or any city directory. With remove, deletes
 * them instead (and returns false unless deleting failed). */
static bool previous_testnet(const char *cmd, const char *dir, bool remove) {
    char path[TESTNET_PATH_MAX];
    struct stat st;
    for (size_t i = 0; i <= CITY_COUNT; i++) {
        const char *entry = i < CITY_COUNT ? k_cities[i].name : "genesis.json";
        if (!path_join(path, dir, entry, "") || lstat(path, &st) != 0) continue;
        if (!remove) return true;
        if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
            cli_fail(cmd, "cannot remove %s: %s", path, strerror(errno));
            return true;
        }
    }
    return false;
}

/* Creates DIR/CITY/keys and the city's three key pairs; adds the city to g. */
static int make_city(const char *cmd, const testnet_opts_t *o, size_t i, genesis_t *g) {
    char keydir[TESTNET_PATH_MAX], sec[TESTNET_PATH_MAX], pub[TESTNET_PATH_MAX];
    char reason[512], p2p[48], api[48], host[INET_ADDRSTRLEN], file[16];
    qc_pubkey_t pk[KEYS_ROLE_COUNT];
    if (!path_join(keydir, o->out, k_cities[i].name, "keys")) return cli_fail(cmd, "--out: too long");
    if (qc_mkdirs(keydir, 0700) != QC_OK) {
        return cli_fail(cmd, "cannot create %s: %s", keydir, strerror(errno));
    }
    for (int r = 0; r < KEYS_ROLE_COUNT; r++) {
        snprintf(file, sizeof file, "%s.key", keys_role_name((keys_role_t)r));
        if (!path_join(sec, keydir, file, "") || keys_public_path(sec, pub, sizeof pub) != QC_OK) {
            return cli_fail(cmd, "--out: too long");
        }
        if (keys_create((keys_role_t)r, sec, pub, NULL, NULL, &pk[r], reason, sizeof reason) !=
            QC_OK) {
            return cli_fail(cmd, "%s", reason);
        }
    }
    snprintf(host, sizeof host, "127.0.0.1");
    if (o->host_base_given) {
        struct in_addr a = {htonl(ntohl(o->host_base.s_addr) + (uint32_t)i + 1u)};
        inet_ntop(AF_INET, &a, host, sizeof host);
    }
    snprintf(p2p, sizeof p2p, "%s:%u", host, (unsigned)(o->base_port + i + 1));
    snprintf(api, sizeof api, "%s:%u", host, (unsigned)(o->api_base_port + i + 1));
    if (genesis_add_member(g, k_cities[i].name, k_cities[i].display_name, &pk[0], &pk[1], &pk[2],
                           p2p, api) != QC_OK) {
        return cli_fail(cmd, "cannot add %s to the genesis", k_cities[i].name);
    }
    return CLI_EXIT_OK;
}

/* Writes DIR/CITY/node.json with paths relative to the city directory. */
static int write_city_config(const char *cmd, const testnet_opts_t *o, size_t i,
                             const genesis_t *g, config_t *c) {
    char path[TESTNET_PATH_MAX], reason[512];
    config_defaults(c);
    snprintf(c->city, sizeof c->city, "%s", k_cities[i].name);
    snprintf(c->genesis_path, sizeof c->genesis_path, "../genesis.json");
    memcpy(c->p2p.listen, g->info[i].p2p_address, sizeof c->p2p.listen);
    memcpy(c->api.listen, g->info[i].api_address, sizeof c->api.listen);
    if (!path_join(path, o->out, k_cities[i].name, "node.json")) {
        return cli_fail(cmd, "--out: too long");
    }
    if (config_write(path, c, true, reason, sizeof reason) != QC_OK) {
        return cli_fail(cmd, "%s", reason);
    }
    return CLI_EXIT_OK;
}

static json_t *result_json(const testnet_opts_t *o, const genesis_t *g) {
    char hash[65], hex[KEYS_ROLE_COUNT][2 * QC_PUBKEY_BYTES + 1];
    char genesis_path[TESTNET_PATH_MAX], config_path[TESTNET_PATH_MAX];
    path_join(genesis_path, o->out, "genesis.json", "");
    json_t *members = json_array();
    for (uint32_t i = 0; members != NULL && i < g->validators.n; i++) {
        for (int r = 0; r < KEYS_ROLE_COUNT; r++) {
            qc_hex_encode(hex[r], genesis_member_key(g, i, (keys_role_t)r)->b, QC_PUBKEY_BYTES);
        }
        path_join(config_path, o->out, k_cities[i].name, "node.json");
        json_array_append_new(
            members, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name",
                               g->validators.members[i].name, "display_name",
                               g->info[i].display_name, "config", config_path, "p2p_address",
                               g->info[i].p2p_address, "api_address", g->info[i].api_address,
                               "node_key", hex[0], "seal_key", hex[1], "admin_key", hex[2]));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "dir", o->out, "chain_id", g->chain_id,
                     "genesis", genesis_path, "genesis_hash", qc_hash_hex(hash, &g->hash),
                     "members", members);
}

int cli_testnet(int argc, char **argv) {
    const char *cmd = argv[0];
    testnet_opts_t o = {.chain_id = TESTNET_DEFAULT_CHAIN_ID,
                        .base_port = TESTNET_DEFAULT_BASE_PORT,
                        .time_ms = cli_now_ms(),
                        .cities = CITY_COUNT};
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return rc;
    if (previous_testnet(cmd, o.out, false)) {
        if (!o.force) {
            return cli_fail(cmd, "%s already holds a testnet (genesis.json or a city directory); "
                                 "use --force to replace it", o.out);
        }
        if (previous_testnet(cmd, o.out, true)) return CLI_EXIT_FAIL;
    }
    genesis_t *g = malloc(sizeof *g);
    config_t *c = malloc(sizeof *c);
    char path[TESTNET_PATH_MAX], reason[512];
    rc = CLI_EXIT_FAIL;
    if (g == NULL || c == NULL) goto fail;
    genesis_init(g, o.chain_id, o.time_ms);
    if (qc_mkdirs(o.out, 0755) != QC_OK) {
        cli_fail(cmd, "cannot create %s: %s", o.out, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < o.cities; i++) {
        if (make_city(cmd, &o, i, g) != CLI_EXIT_OK) goto fail;
    }
    if (!path_join(path, o.out, "genesis.json", "")) goto fail;
    if (genesis_write(path, g, true, reason, sizeof reason) != QC_OK) {
        cli_fail(cmd, "%s", reason);
        goto fail;
    }
    for (size_t i = 0; i < o.cities; i++) {
        if (write_city_config(cmd, &o, i, g, c) != CLI_EXIT_OK) goto fail;
    }
    if (o.json) {
        rc = cli_print_json(cmd, result_json(&o, g));
    } else {
        char hash[65];
        printf("testnet %s: chain %s, %zu cities, genesis hash %s\n", o.out, g->chain_id,
               (size_t)o.cities, qc_hash_hex(hash, &g->hash));
        for (size_t i = 0; i < o.cities; i++) {
            printf("  %-10s p2p %-16s api %-16s %s/%s/node.json\n", k_cities[i].name,
                   g->info[i].p2p_address, g->info[i].api_address, o.out, k_cities[i].name);
        }
        rc = CLI_EXIT_OK;
    }
fail:
    free(c);
    free(g);
    return rc;
}
