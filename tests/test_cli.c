/* test_cli.c - the qchain commands run in-process: keygen, genesis and testnet outputs, exit
 * codes (0 ok, 1 failure, 2 usage), --help and --json; the node-reading commands' argument
 * handling; the signing commands without a node config (--api --genesis --seal-key), --cacert,
 * and the OS's reason in every "cannot read the file" message. A live consortium is
 * tests/it_*.py's (it_client_opts.py for the signing host and TLS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "client.h"
#include "config.h"
#include "genesis.h"
#include "keys.h"
#include "api.h"
#include "receiptex.h"
#include "receiptfx.h"
#include "store.h"
#include "tdir.h"

#define ARGV_MAX 32

static const char *const k_cities[9] = {"jinan",  "zibo",    "taian",    "liaocheng", "dezhou",
                                        "binzhou", "dongying", "jining", "heze"};

typedef struct {
    char dir[TDIR_PATH_MAX];
    char *out; /* captured stdout of the last run (malloc'd) */
    char *err; /* captured stderr of the last run (malloc'd; also echoed to stderr) */
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    if (fx == NULL) return -1;
    tdir_make(fx->dir, "cli");
    unsetenv(KEYS_PASSPHRASE_ENV);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    tdir_remove(fx->dir);
    free(fx->out);
    free(fx->err);
    free(fx);
    unsetenv(KEYS_PASSPHRASE_ENV);
    return 0;
}

/* Runs `qchain ARGS...` (NULL-terminated) through cli_main, capturing stdout into fx->out and
 * stderr into fx->err (then echoed, so a failing test's log still shows it). */
static int run_args(fx_t *fx, char *const *args) {
    size_t n = 0;
    while (args[n] != NULL) n++;
    char **argv = calloc(n + 2, sizeof *argv);
    assert_non_null(argv);
    int argc = 0;
    argv[argc++] = (char *)"qchain";
    for (size_t i = 0; i < n; i++) argv[argc++] = args[i];
    argv[argc] = NULL;
    free(fx->out);
    free(fx->err);
    char err_path[TDIR_PATH_MAX + 16];
    snprintf(err_path, sizeof err_path, "%s/.stderr", fx->dir);
    fflush(stderr);
    int saved_err = dup(2), fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved_err >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    tdir_capture_begin();
    int rc = cli_main(argc, argv);
    free(argv);
    fx->out = tdir_capture_end();
    fflush(stderr);
    assert_int_equal(dup2(saved_err, 2), 2);
    close(saved_err);
    fx->err = tdir_read(err_path, NULL);
    fputs(fx->err, stderr);
    return rc;
}

static int run(fx_t *fx, ...) {
    char *args[ARGV_MAX + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, fx);
    for (char *a; (a = va_arg(ap, char *)) != NULL;) {
        assert_true(n < ARGV_MAX);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    return run_args(fx, args);
}

/* Whether the last run's stderr contains needle (says what it was otherwise). */
static bool err_has(const fx_t *fx, const char *needle) {
    if (strstr(fx->err, needle) != NULL) return true;
    print_error("stderr lacks \"%s\": %s\n", needle, fx->err);
    return false;
}

static json_t *out_json(fx_t *fx) {
    json_error_t e;
    json_t *j = json_loads(fx->out, 0, &e);
    if (j == NULL) fail_msg("not JSON (%s): %s", e.text, fx->out);
    return j;
}

static const char *jstr(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

static void test_dispatch_and_help(void **state) {
    fx_t *fx = *state;
    assert_int_equal(run(fx, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "--help", NULL), CLI_EXIT_OK);
    for (size_t i = 0; cli_commands[i].name != NULL; i++) {
        assert_non_null(strstr(fx->out, cli_commands[i].name));
    }
    assert_int_equal(run(fx, "frobnicate", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "help", "genesis", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "Usage: qchain genesis"));
    assert_int_equal(run(fx, "help", "nope", NULL), CLI_EXIT_USAGE);
    static const char *const cmds[] = {"keygen", "genesis", "testnet"};
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(cli_find(cmds[i]));
        assert_int_equal(run(fx, cmds[i], "--help", NULL), CLI_EXIT_OK);
        assert_non_null(strstr(fx->out, "Exit status"));
        assert_int_equal(run(fx, cmds[i], "--no-such-option", NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, cmds[i], "stray", NULL), CLI_EXIT_USAGE);
    }
    assert_null(cli_find("nope"));
}

static void test_keygen(void **state) {
    fx_t *fx = *state;
    char sec[TDIR_PATH_MAX], pub[TDIR_PATH_MAX];
    tdir_path(sec, fx->dir, "seal.key");
    tdir_path(pub, fx->dir, "seal.pub");
    assert_int_equal(run(fx, "keygen", "--role", "seal", "--out", sec, "--json", NULL),
                     CLI_EXIT_OK);
    json_t *j = out_json(fx);
    assert_string_equal(jstr(j, "role"), "seal");
    assert_string_equal(jstr(j, "public_file"), pub);
    assert_true(json_is_false(json_object_get(j, "encrypted")));
    assert_int_equal(tdir_mode(sec), 0600);
    assert_int_equal(tdir_mode(pub), 0644);
    keys_pair_t kp;
    qc_pubkey_t pk;
    assert_int_equal(keys_load_secret(sec, NULL, KEYS_ROLE_SEAL, &kp, NULL, 0), QC_OK);
    assert_int_equal(keys_load_public(pub, KEYS_ROLE_SEAL, &pk, NULL, NULL, 0), QC_OK);
    assert_memory_equal(kp.pk.b, pk.b, QC_PUBKEY_BYTES);
    char hex[65];
    qc_hex_encode(hex, pk.b, QC_PUBKEY_BYTES);
    assert_string_equal(jstr(j, "public"), hex);
    json_decref(j);

    /* Never overwrites: failure, and the old key is intact. */
    assert_int_equal(run(fx, "keygen", "--role", "seal", "--out", sec, NULL), CLI_EXIT_FAIL);
    keys_pair_t again;
    assert_int_equal(keys_load_secret(sec, NULL, KEYS_ROLE_SEAL, &again, NULL, 0), QC_OK);
    assert_memory_equal(again.sk.b, kp.sk.b, QC_SECKEY_BYTES);

    /* Usage errors. */
    assert_int_equal(run(fx, "keygen", "--out", sec, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "keygen", "--role", "seal", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "keygen", "--role", "root", "--out", sec, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "keygen", "--role", "node", "--out", sec, "--kdf", "min", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "keygen", "--role", "node", "--out", sec, "--encrypt", "--kdf",
                         "fast", NULL),
                     CLI_EXIT_USAGE);

    /* Plain output names the key and the files. */
    char node[TDIR_PATH_MAX], node_pub[TDIR_PATH_MAX];
    tdir_path(node, fx->dir, "n");
    tdir_path(node_pub, fx->dir, "custom.pub");
    assert_int_equal(run(fx, "keygen", "--role", "node", "--out", node, "--pub", node_pub, NULL),
                     CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "node key "));
    assert_non_null(strstr(fx->out, node_pub));
    assert_int_equal(keys_load_public(node_pub, KEYS_ROLE_NODE, &pk, NULL, NULL, 0), QC_OK);
}

static void test_keygen_encrypted(void **state) {
    fx_t *fx = *state;
    char sec[TDIR_PATH_MAX], pass[TDIR_PATH_MAX];
    tdir_path(sec, fx->dir, "admin.key");
    /* No passphrase anywhere: failure, nothing written. */
    assert_int_equal(run(fx, "keygen", "--role", "admin", "--out", sec, "--encrypt", "--kdf",
                         "min", NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(access(sec, F_OK), -1);
    setenv(KEYS_PASSPHRASE_ENV, "envpass", 1);
    assert_int_equal(run(fx, "keygen", "--role", "admin", "--out", sec, "--encrypt", "--kdf",
                         "min", "--json", NULL),
                     CLI_EXIT_OK);
    json_t *j = out_json(fx);
    assert_true(json_is_true(json_object_get(j, "encrypted")));
    json_decref(j);
    keys_pair_t kp;
    assert_true(keys_file_encrypted(sec));
    assert_int_equal(keys_load_secret(sec, "envpass", KEYS_ROLE_ADMIN, &kp, NULL, 0), QC_OK);
    assert_int_equal(keys_load_secret(sec, "other", KEYS_ROLE_ADMIN, &kp, NULL, 0),
                     QC_ERR_CRYPTO);

    /* From a passphrase file (which wins over the environment). */
    tdir_write(pass, fx->dir, "pass.txt", "filepass\n", 9, 0600);
    tdir_path(sec, fx->dir, "node.key");
    assert_int_equal(run(fx, "keygen", "--role", "node", "--out", sec, "--encrypt", "--kdf",
                         "min", "--passphrase-file", pass, NULL),
                     CLI_EXIT_OK);
    assert_int_equal(keys_load_secret(sec, "filepass", KEYS_ROLE_NODE, &kp, NULL, 0), QC_OK);
    assert_int_equal(chmod(pass, 0644), 0);
    tdir_path(sec, fx->dir, "seal.key");
    assert_int_equal(run(fx, "keygen", "--role", "seal", "--out", sec, "--encrypt", "--kdf",
                         "min", "--passphrase-file", pass, NULL),
                     CLI_EXIT_FAIL);
}

/* Makes keys for member i in fx->dir and returns its --member spec in spec. */
static void member_spec(fx_t *fx, int i, char *spec, size_t cap) {
    char paths[3][TDIR_PATH_MAX];
    static const char *const roles[3] = {"node", "seal", "admin"};
    for (int r = 0; r < 3; r++) {
        char name[64], sec[TDIR_PATH_MAX];
        snprintf(name, sizeof name, "%s-%s.key", k_cities[i], roles[r]);
        tdir_path(sec, fx->dir, name);
        assert_int_equal(run(fx, "keygen", "--role", roles[r], "--out", sec, NULL), CLI_EXIT_OK);
        assert_int_equal(keys_public_path(sec, paths[r], sizeof paths[r]), QC_OK);
    }
    snprintf(spec, cap, "name=%s,display=City %d,node=%s,seal=%s,admin=%s,p2p=127.0.0.1:%d,"
                        "api=127.0.0.1:%d",
             k_cities[i], i, paths[0], paths[1], paths[2], 7101 + i, 8101 + i);
}

static void test_genesis_command(void **state) {
    fx_t *fx = *state;
    char spec[5][3 * TDIR_PATH_MAX + 200], out[TDIR_PATH_MAX];
    for (int i = 0; i < 5; i++) member_spec(fx, i, spec[i], sizeof spec[i]);
    tdir_path(out, fx->dir, "genesis.json");

    /* Too few members is a usage error; so is a missing chain id. */
    assert_int_equal(run(fx, "genesis", "--chain-id", "c1", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--out", out, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--member", spec[0], "--out", out, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--chain-id", "bad id", "--out", out, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c1", "--member", "name=x,colour=red",
                         "--out", out, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c1", "--member", "name=x", "--out", out,
                         NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c1", "--window", "x", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(access(out, F_OK), -1);

    assert_int_equal(run(fx, "genesis", "--chain-id", "c1", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", spec[3], "--member", spec[4],
                         "--out", out, "--time-ms", "1234", "--threshold", "4",
                         "--block-max-txs", "77", "--json", NULL),
                     CLI_EXIT_OK);
    json_t *j = out_json(fx);
    genesis_t *g = malloc(sizeof *g);
    assert_non_null(g);
    assert_int_equal(genesis_load(out, g, NULL, 0), QC_OK);
    char hash[65];
    assert_string_equal(jstr(j, "genesis_hash"), qc_hash_hex(hash, &g->hash));
    json_decref(j);
    assert_int_equal(g->validators.n, 5);
    assert_int_equal(g->genesis_time_ms, 1234);
    assert_int_equal(g->validators.governance_threshold, 4);
    assert_int_equal(g->consensus.block_max_txs, 77);
    assert_string_equal(g->info[2].display_name, "City 2");
    assert_string_equal(g->info[4].api_address, "127.0.0.1:8105");
    char pub[TDIR_PATH_MAX];
    qc_pubkey_t pk;
    tdir_path(pub, fx->dir, "taian-seal.pub");
    assert_int_equal(keys_load_public(pub, KEYS_ROLE_SEAL, &pk, NULL, NULL, 0), QC_OK);
    assert_memory_equal(g->validators.members[2].seal_key.b, pk.b, QC_PUBKEY_BYTES);

    /* Exists: failure without --force; --force replaces. */
    assert_int_equal(run(fx, "genesis", "--chain-id", "c2", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", spec[3], "--out", out, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c2", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", spec[3], "--out", out,
                         "--force", NULL),
                     CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "genesis hash "));
    assert_int_equal(genesis_load(out, g, NULL, 0), QC_OK);
    assert_string_equal(g->chain_id, "c2");
    assert_int_equal(g->validators.governance_threshold, qc_quorum(4));

    /* Invalid content is a failure (1): threshold above n, duplicate member, wrong role. */
    assert_int_equal(run(fx, "genesis", "--chain-id", "c3", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", spec[3], "--out", out,
                         "--force", "--threshold", "5", NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c3", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", spec[2], "--out", out,
                         "--force", NULL),
                     CLI_EXIT_FAIL);
    char wrong[3 * TDIR_PATH_MAX + 200], seal_pub[TDIR_PATH_MAX];
    tdir_path(seal_pub, fx->dir, "dezhou-seal.pub");
    snprintf(wrong, sizeof wrong, "name=dezhou,node=%s,seal=%s,admin=%s,p2p=h:1,api=h:2",
             seal_pub, seal_pub, seal_pub);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c3", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", wrong, "--out", out,
                         "--force", NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(genesis_load(out, g, NULL, 0), QC_OK);
    assert_string_equal(g->chain_id, "c2"); /* failed runs left the file alone */

    /* Literal hex keys are accepted in place of files. */
    static const char *const roles[3] = {"node", "seal", "admin"};
    char hexkey[3][65];
    for (int r = 0; r < 3; r++) {
        char name[64];
        snprintf(name, sizeof name, "dezhou-%s.pub", roles[r]);
        tdir_path(pub, fx->dir, name);
        assert_int_equal(keys_load_public(pub, (keys_role_t)r, &pk, NULL, NULL, 0), QC_OK);
        qc_hex_encode(hexkey[r], pk.b, QC_PUBKEY_BYTES);
    }
    snprintf(wrong, sizeof wrong, "name=dezhou,node=%s,seal=%s,admin=%s,p2p=h:1,api=h:2",
             hexkey[0], hexkey[1], hexkey[2]);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c4", "--member", spec[0], "--member",
                         spec[1], "--member", spec[2], "--member", wrong, "--out", out,
                         "--force", NULL),
                     CLI_EXIT_OK);
    assert_int_equal(genesis_load(out, g, NULL, 0), QC_OK);
    assert_string_equal(g->chain_id, "c4");
    assert_string_equal(g->info[3].display_name, "dezhou"); /* display defaults to the name */
    assert_memory_equal(g->validators.members[3].admin_key.b, pk.b, QC_PUBKEY_BYTES);
    free(g);
}

/* net24: NULL for every city on 127.0.0.1, else "A.B.C" for city i on A.B.C.(i+1). */
static void check_testnet(const char *dir, uint32_t base, uint32_t api_base, const char *net24,
                          genesis_t *g, config_t *c) {
    char path[TDIR_PATH_MAX], reason[512] = "";
    tdir_path(path, dir, "genesis.json");
    assert_int_equal(genesis_load(path, g, reason, sizeof reason), QC_OK);
    assert_int_equal(g->validators.n, 9);
    for (uint32_t i = 0; i < 9; i++) {
        assert_string_equal(g->validators.members[i].name, k_cities[i]);
        char city[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], want[48], host[24] = "127.0.0.1";
        if (net24) snprintf(host, sizeof host, "%s.%u", net24, i + 1);
        tdir_path(city, dir, k_cities[i]);
        tdir_path(cfg, city, "node.json");
        if (config_load(cfg, c, reason, sizeof reason) != QC_OK) fail_msg("%s", reason);
        uint32_t idx;
        assert_int_equal(config_apply_genesis(c, g, &idx, reason, sizeof reason), QC_OK);
        assert_int_equal(idx, i);
        snprintf(want, sizeof want, "%s:%u", host, base + i + 1);
        assert_string_equal(c->p2p.listen, want);
        assert_string_equal(g->info[i].p2p_address, want);
        snprintf(want, sizeof want, "%s:%u", host, api_base + i + 1);
        assert_string_equal(c->api.listen, want);
        assert_string_equal(g->info[i].api_address, want);
        for (int r = 0; r < KEYS_ROLE_COUNT; r++) {
            keys_pair_t kp;
            assert_int_equal(tdir_mode(c->key_paths[r]), 0600);
            if (keys_load_secret(c->key_paths[r], NULL, (keys_role_t)r, &kp, reason,
                                 sizeof reason) != QC_OK) {
                fail_msg("%s", reason);
            }
            assert_memory_equal(kp.pk.b, genesis_member_key(g, i, (keys_role_t)r)->b,
                                QC_PUBKEY_BYTES);
            keys_pair_wipe(&kp);
        }
    }
    assert_string_equal(g->info[2].display_name, "Tai'an 泰安");
    assert_string_equal(g->info[0].display_name, "Jinan 济南");
}

static void test_testnet(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], readme[TDIR_PATH_MAX];
    genesis_t *g = malloc(sizeof *g);
    config_t *c = malloc(sizeof *c);
    assert_non_null(g);
    assert_non_null(c);
    tdir_path(dir, fx->dir, "net");
    assert_int_equal(qc_mkdirs(dir, 0755), QC_OK);
    tdir_write(readme, dir, "README.md", "keep me\n", 8, 0644); /* not a testnet: allowed */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--json", NULL), CLI_EXIT_OK);
    json_t *j = out_json(fx);
    check_testnet(dir, 7100, 8100, NULL, g, c);
    char hash[65];
    assert_string_equal(jstr(j, "genesis_hash"), qc_hash_hex(hash, &g->hash));
    assert_string_equal(jstr(j, "chain_id"), "qchain-shandong-testnet");
    assert_int_equal(json_array_size(json_object_get(j, "members")), 9);
    json_decref(j);
    qc_hash_t first = g->hash;

    /* Refused without --force; the testnet is untouched. */
    assert_int_equal(run(fx, "testnet", "--out", dir, NULL), CLI_EXIT_FAIL);
    check_testnet(dir, 7100, 8100, NULL, g, c);
    assert_memory_equal(g->hash.b, first.b, QC_HASH_BYTES);

    /* A stale data directory goes with --force; other files stay. */
    char data[TDIR_PATH_MAX], junk[TDIR_PATH_MAX];
    tdir_path(data, dir, "zibo/data");
    assert_int_equal(qc_mkdirs(data, 0700), QC_OK);
    tdir_write(junk, data, "CURRENT", "x", 1, 0600);
    assert_int_equal(run(fx, "testnet", "--out", dir, "--force", "--base-port", "9000",
                         "--chain-id", "other-net", "--time-ms", "5", NULL),
                     CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "9 cities"));
    check_testnet(dir, 9000, 10000, NULL, g, c);
    assert_string_equal(g->chain_id, "other-net");
    assert_int_equal(g->genesis_time_ms, 5);
    assert_memory_not_equal(g->hash.b, first.b, QC_HASH_BYTES);
    assert_int_equal(access(junk, F_OK), -1);
    assert_int_equal(access(readme, F_OK), 0);

    /* --host-base gives each city its own host (one network namespace each); ports stay. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--force", "--host-base", "10.99.0.0", NULL),
                     CLI_EXIT_OK);
    check_testnet(dir, 7100, 8100, "10.99.0", g, c);
    assert_int_equal(run(fx, "testnet", "--out", dir, "--force", "--host-base", "10.99.0.246",
                         NULL),
                     CLI_EXIT_USAGE); /* 246 + 9 is no host address */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--force", "--host-base", "10.99.0", NULL),
                     CLI_EXIT_USAGE);

    /* Ports must fit and not overlap. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--base-port", "65530", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "testnet", "--out", dir, "--base-port", "7100", "--api-base-port",
                         "7105", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "testnet", NULL), CLI_EXIT_USAGE);
    free(g);
    free(c);
}

/* status, receipt and block: argument errors are usage (2) before anything is read or fetched;
 * an unreachable node or a missing file is a failure (1) and writes nothing. The commands
 * against a running consortium are exercised by tests/it_api.py. */
static void test_node_reading_commands(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], genesis[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], out[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "net");
    tdir_path(genesis, dir, "genesis.json");
    tdir_path(cfg, dir, "zibo/node.json");
    tdir_path(out, fx->dir, "r.json");
    /* Nothing listens on these testnet ports (API 2031..2034) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1030", NULL),
                     CLI_EXIT_OK);
    const char *down = "http://127.0.0.1:1";
    static const char *const cmds[] = {"status", "receipt", "block"};
    for (size_t i = 0; i < 3; i++) {
        const char *c = cmds[i];
        assert_int_equal(run(fx, c, "--help", NULL), CLI_EXIT_OK);
        assert_non_null(strstr(fx->out, "Exit status"));
        assert_non_null(strstr(fx->out, "--genesis"));
        assert_int_equal(run(fx, "help", c, NULL), CLI_EXIT_OK);
        assert_int_equal(run(fx, c, "--no-such-option", NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, c, "--config", NULL), CLI_EXIT_USAGE);           /* no value */
        assert_int_equal(run(fx, c, "1", NULL), CLI_EXIT_USAGE);                  /* no node */
        assert_int_equal(run(fx, c, "1", "--api", down, NULL), CLI_EXIT_USAGE);   /* no genesis */
        assert_int_equal(run(fx, c, "1", "--genesis", genesis, NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, c, "1", "--config", cfg, "--api", down, NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, c, "1", "--api", "127.0.0.1:1", "--genesis", genesis, NULL),
                         CLI_EXIT_USAGE);
    }
    /* status */
    assert_int_equal(run(fx, "status", "--config", cfg, "stray", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "status", "--api", down, "--genesis", genesis, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "status", "--config", "/nonexistent/node.json", NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "status", "--api", down, "--genesis", "/nonexistent/g.json", NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "status", "--config", cfg, "--all", "--json", NULL), CLI_EXIT_FAIL);
    json_t *j = out_json(fx);
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 4);
    assert_string_equal(jstr(json_array_get(nodes, 2), "city"), "taian");
    assert_string_equal(jstr(json_array_get(nodes, 2), "api"), "http://127.0.0.1:2033");
    for (size_t i = 0; i < 4; i++) {
        assert_true(json_is_false(json_object_get(json_array_get(nodes, i), "up")));
        assert_non_null(jstr(json_array_get(nodes, i), "error"));
    }
    /* zibo is the node asked (its config): down, asked where the config says; the others'
     * advertised addresses are loopback ones, so they are said to be loopback-only */
    assert_string_equal(jstr(json_array_get(nodes, 1), "city"), "zibo");
    assert_string_equal(jstr(json_array_get(nodes, 1), "api"), "http://127.0.0.1:2032");
    assert_null(json_object_get(json_array_get(nodes, 1), "loopback"));
    assert_true(json_is_true(json_object_get(json_array_get(nodes, 2), "loopback")));
    assert_non_null(strstr(jstr(json_array_get(nodes, 2), "error"),
                           "loopback-only API address 127.0.0.1:2033: not reachable from here"));
    json_decref(j);
    assert_int_equal(run(fx, "status", "--config", cfg, "--all", NULL), CLI_EXIT_FAIL);
    assert_non_null(strstr(fx->out, "zibo         DOWN  http://127.0.0.1:2032"));
    assert_non_null(strstr(fx->out, "jinan        UNREACHABLE  loopback-only API address 127.0.0.1:2031"));
    /* --api of a node that is down: its own row comes first (no city known), then the members */
    assert_int_equal(run(fx, "status", "--api", down, "--genesis", genesis, "--all", "--json", NULL),
                     CLI_EXIT_FAIL);
    j = out_json(fx);
    nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 5);
    assert_string_equal(jstr(json_array_get(nodes, 0), "api"), down);
    assert_null(json_object_get(json_array_get(nodes, 0), "loopback"));
    assert_string_equal(jstr(json_array_get(nodes, 1), "city"), "jinan");
    json_decref(j);
    assert_int_equal(run(fx, "status", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "A '*' after the VIEW number"));
    assert_non_null(strstr(fx->out, "loopback-only"));
    assert_int_equal(run(fx, "status", "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_non_null(strstr(fx->out, "DOWN"));

    /* receipt */
    const char *hex = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    assert_int_equal(run(fx, "receipt", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "receipt", hex, hex, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "receipt", hex, "--file", genesis, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "receipt", "abc", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "receipt", hex, "x", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "receipt", hex, "--config", cfg, "--out", "-", "--json", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "receipt", "--file", "/nonexistent/doc", "--config", cfg, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "receipt", hex, "--api", down, "--genesis", genesis, "--out", out, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(access(out, F_OK), -1);

    /* block */
    assert_int_equal(run(fx, "block", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "0", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "-3", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "1x", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "1", "2", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "1", "--hash", hex, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "--hash", "00", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "block", "--hash", hex, "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "block", "7", "--api", down, "--genesis", genesis, "--json", NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(fx->out, "");
}

/* `qchain verify` offline on the worked receipts of docs/PROTOCOL.md §10.3 and §10.4: the
 * epoch-1 receipt verifies from the genesis file through its membership history and names
 * dezhou, who joined after the genesis (so has no genesis display name), with epoch 1's
 * quorum; a member list the switch block does not certify is refused with the reason. */
static void test_verify_across_epochs(void **state) {
    fx_t *fx = *state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    char genesis[TDIR_PATH_MAX], r0[TDIR_PATH_MAX], r1[TDIR_PATH_MAX], bad[TDIR_PATH_MAX];
    tdir_write(genesis, fx->dir, "genesis.json", x->genesis_json, x->genesis_len, 0644);
    char *text = receiptex_json(x, RECEIPTEX_LOG_INDEX);
    assert_non_null(text);
    tdir_write(r0, fx->dir, "r0.json", text, strlen(text), 0644);
    free(text);
    text = receiptex_json(x, RECEIPTEX_SWITCH_LOG_INDEX);
    assert_non_null(text);
    tdir_write(r1, fx->dir, "r1.json", text, strlen(text), 0644);
    char *at = strstr(text, "\"threshold\": 4");
    assert_non_null(at);
    at[strlen("\"threshold\": ")] = '3';
    tdir_write(bad, fx->dir, "bad.json", text, strlen(text), 0644);
    free(text);

    assert_int_equal(run(fx, "verify", "--receipt", r0, "--genesis", genesis, "--json", NULL),
                     CLI_EXIT_OK);
    json_t *j = out_json(fx);
    assert_string_equal(jstr(j, "city"), "jinan");
    assert_string_equal(jstr(j, "city_display"), "Jinan 济南");
    assert_int_equal(json_integer_value(json_object_get(j, "members")), 4);
    json_decref(j);
    assert_int_equal(run(fx, "verify", "--receipt", r1, "--genesis", genesis, "--json", NULL),
                     CLI_EXIT_OK);
    j = out_json(fx);
    assert_string_equal(jstr(j, "city"), "dezhou");
    assert_string_equal(jstr(j, "city_display"), "dezhou");
    assert_int_equal(json_integer_value(json_object_get(j, "height")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "signers")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "quorum")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "members")), 5);
    json_decref(j);
    assert_int_equal(run(fx, "verify", "--receipt", bad, "--genesis", genesis, NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(fx->out,
                        "INVALID: the switch block of epoch 1 does not certify this member list\n");
    receiptex_free(x);
    free(x);
}

/* ---------------------------------------------------------------- verify FILE... */

/* More files than `qchain verify` checks in one batch (1024), so the run crosses a batch. */
#define MANY_FILES 1030
#define MANY_RECS_PER_TX 16

/* MANY_FILES documents anchored on a four-member chain (receiptfx_open) in one block of
 * transactions of MANY_RECS_PER_TX records, signed by the members in turn; each file's receipt
 * is FILE.receipt.json and every tenth file (i % 10 == 3) is salted with FILE.salt beside it,
 * as `qchain anchor [--salted]` leaves them. */
typedef struct {
    receiptfx_t *f;
    char genesis[TDIR_PATH_MAX];
    char *path[MANY_FILES];      /* malloc'd */
    qc_hash_t digest[MANY_FILES];
    uint32_t signer[MANY_FILES];
} manyfx_t;

static bool many_salted(uint32_t i) { return i % 10 == 3; }

/* FILE.receipt.json of file i, in a static buffer (one use at a time). */
static char *many_receipt_path(const manyfx_t *m, uint32_t i) {
    static char out[TDIR_PATH_MAX + 32];
    snprintf(out, sizeof out, "%s.receipt.json", m->path[i]);
    return out;
}

static void many_build(manyfx_t *m, const char *dir) {
    m->f = receiptfx_open(4);
    tdir_write(m->genesis, dir, "genesis.json", m->f->genesis_json, m->f->genesis_len, 0644);
    for (uint32_t i = 0; i < MANY_FILES; i++) {
        char name[32], text[32], salt_path[TDIR_PATH_MAX + 8];
        snprintf(name, sizeof name, "doc-%04u.txt", i);
        int len = snprintf(text, sizeof text, "permit %u\n", i);
        m->path[i] = malloc(TDIR_PATH_MAX);
        assert_non_null(m->path[i]);
        tdir_write(m->path[i], dir, name, text, (size_t)len, 0644);
        if (!many_salted(i)) {
            assert_int_equal(client_hash_file(m->path[i], &m->digest[i]), QC_OK);
            continue;
        }
        uint8_t salt[QC_SALT_BYTES];
        for (int k = 0; k < QC_SALT_BYTES; k++) salt[k] = (uint8_t)(i + (uint32_t)k);
        snprintf(salt_path, sizeof salt_path, "%s.salt", m->path[i]);
        assert_int_equal(client_salt_write(salt_path, salt), QC_OK);
        assert_int_equal(client_hash_file_salted(m->path[i], salt, &m->digest[i]), QC_OK);
    }
    enum { NTX = (MANY_FILES + MANY_RECS_PER_TX - 1) / MANY_RECS_PER_TX };
    qc_tx_t *txs = calloc(NTX, sizeof *txs);
    assert_non_null(txs);
    for (uint32_t t = 0; t < NTX; t++) {
        uint32_t first = t * MANY_RECS_PER_TX;
        uint32_t n = MANY_FILES - first < MANY_RECS_PER_TX ? MANY_FILES - first : MANY_RECS_PER_TX;
        assert_int_equal(chainbuilder_tx(&m->f->cb, t % 4, t, &m->digest[first], n, &txs[t]),
                         QC_OK);
        for (uint32_t i = first; i < first + n; i++) m->signer[i] = t % 4;
    }
    qc_block_t b;
    qc_cert_t cert;
    assert_int_equal(chainbuilder_block(&m->f->cb, txs, NTX, &b, &cert), QC_OK);
    assert_int_equal(store_apply_block(&m->f->node->store, &b, &cert), QC_OK);
    chainbuilder_advance(&m->f->cb, &b);
    qc_block_free(&b);
    free(txs);
    for (uint32_t i = 0; i < MANY_FILES; i++) {
        receipt_t r;
        assert_int_equal(api_build_receipt(m->f->node, &m->digest[i], NULL, &r), QC_OK);
        json_t *j = receipt_to_json(&r);
        assert_non_null(j);
        assert_int_equal(client_write_json(many_receipt_path(m, i), j), QC_OK);
        json_decref(j);
        receipt_free(&r);
    }
}

static void many_free(manyfx_t *m) {
    for (uint32_t i = 0; i < MANY_FILES; i++) free(m->path[i]);
    receiptfx_close(m->f);
}

/* Runs `qchain verify --genesis G [extra...] FILES` over the files order[0..n) (indices into
 * m->path; -1 names a file that does not exist). */
static int many_run(fx_t *fx, const manyfx_t *m, const char *const *extra, const int *order,
                    uint32_t n) {
    char **args = calloc(n + 16, sizeof *args);
    assert_non_null(args);
    uint32_t k = 0;
    args[k++] = (char *)"verify";
    args[k++] = (char *)"--genesis";
    args[k++] = (char *)m->genesis;
    for (; extra && *extra; extra++) args[k++] = (char *)*extra;
    for (uint32_t i = 0; i < n; i++)
        args[k++] = order[i] < 0 ? (char *)"/nonexistent/doc.txt" : m->path[order[i]];
    int rc = run_args(fx, args);
    free(args);
    return rc;
}

/* The start of the line a valid file gets, into out: "FILE: VALID: anchored by City 1 (zibo)
 * in block 1 at " (then the time, "committed by 3 of 4 member cities (quorum 3) of epoch 0"). */
static void many_valid_prefix(const manyfx_t *m, uint32_t i, char *out, size_t cap) {
    const char *name = m->f->vs.members[m->signer[i]].name;
    snprintf(out, cap, "%s: VALID: anchored by City %u (%s) in block 1 at ", m->path[i],
             m->signer[i], name);
}

/* The next line of *text (NUL-terminated in place); NULL at the end. */
static char *next_line(char **text) {
    char *line = *text, *nl = line ? strchr(line, '\n') : NULL;
    if (nl == NULL) return NULL;
    *nl = '\0';
    *text = nl + 1;
    return line;
}

/* `qchain verify FILE... --genesis G`: every file's receipt found beside it (FILE.receipt.json,
 * FILE.salt when salted), checked on worker threads, reported one line per file in argument
 * order (across the 1024-file batches) with a summary; a tampered receipt, a missing one, a
 * changed document and a missing file are each INVALID with their reason while the others stay
 * VALID (exit 1); --json gives the same as an array; the usage errors exit 2; the single-receipt
 * form is unchanged beside it. */
static void test_verify_many_files(void **state) {
    fx_t *fx = *state;
    manyfx_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    many_build(m, fx->dir);
    int *order = calloc(MANY_FILES, sizeof *order);
    assert_non_null(order);
    for (uint32_t i = 0; i < MANY_FILES; i++) order[i] = (int)(MANY_FILES - 1 - i); /* reversed */

    /* all valid, text, the default worker count */
    assert_int_equal(many_run(fx, m, NULL, order, MANY_FILES), CLI_EXIT_OK);
    char *cursor = fx->out, *line, want[TDIR_PATH_MAX + 256];
    for (uint32_t k = 0; k < MANY_FILES; k++) {
        uint32_t i = (uint32_t)order[k];
        line = next_line(&cursor);
        assert_non_null(line);
        many_valid_prefix(m, i, want, sizeof want);
        if (strncmp(line, want, strlen(want)) != 0)
            fail_msg("line %u: %s\nwant: %s...", k, line, want);
        const char *tail = "of epoch 0, salted";
        assert_int_equal(strstr(line, tail) != NULL, many_salted(i));
        if (strstr(line, "committed by 3 of 4 member cities (quorum 3) of epoch 0") == NULL)
            fail_msg("line %u: %s", k, line);
    }
    assert_string_equal(next_line(&cursor), "1030 files: 1030 valid, 0 invalid");
    assert_null(next_line(&cursor));

    /* all valid, --json, three workers: the array in argument order across both batches */
    static const char *const json3[] = {"--json", "--workers", "3", NULL};
    assert_int_equal(many_run(fx, m, json3, order, MANY_FILES), CLI_EXIT_OK);
    json_t *arr = out_json(fx);
    assert_int_equal(json_array_size(arr), MANY_FILES);
    for (uint32_t k = 0; k < MANY_FILES; k++) {
        uint32_t i = (uint32_t)order[k];
        json_t *e = json_array_get(arr, k);
        char hex[65];
        assert_string_equal(jstr(e, "file"), m->path[i]);
        assert_string_equal(jstr(e, "receipt"), many_receipt_path(m, i));
        assert_true(json_is_true(json_object_get(e, "valid")));
        assert_true(json_is_true(json_object_get(e, "file_matches")));
        assert_int_equal(json_is_true(json_object_get(e, "salted")), many_salted(i));
        assert_string_equal(jstr(e, "digest"), qc_hash_hex(hex, &m->digest[i]));
        assert_string_equal(jstr(e, "city"), m->f->vs.members[m->signer[i]].name);
    }
    json_decref(arr);

    /* one receipt tampered (its seal signature), one missing, one document changed, one file
     * that does not exist, one salt replaced; files 3, 13 and 23 are salted */
    char *text = tdir_read(many_receipt_path(m, 7), NULL);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    receiptfx_hex_flip(j, "tx.sig", 0, 0x01);
    assert_int_equal(client_write_json(many_receipt_path(m, 7), j), QC_OK);
    json_decref(j);
    assert_int_equal(unlink(many_receipt_path(m, 11)), 0);
    FILE *doc = fopen(m->path[2], "ab");
    assert_non_null(doc);
    fputs("amended\n", doc);
    fclose(doc);
    char salt23[TDIR_PATH_MAX + 8];
    uint8_t other_salt[QC_SALT_BYTES] = {0x23};
    snprintf(salt23, sizeof salt23, "%s.salt", m->path[23]);
    assert_int_equal(unlink(salt23), 0);
    assert_int_equal(client_salt_write(salt23, other_salt), QC_OK);
    static const int mixed[] = {9, 3, 7, 0, 11, 2, 13, -1, 5, 23};
    static const bool mixed_valid[] = {true, true, false, true, false, false, true, false, true,
                                       false};
    const uint32_t nmixed = sizeof mixed / sizeof mixed[0];
    static const char *const workers4[] = {"--workers", "4", NULL};
    assert_int_equal(many_run(fx, m, workers4, mixed, nmixed), CLI_EXIT_FAIL);
    char *lines[16];
    uint32_t nlines = 0;
    cursor = fx->out;
    while (nlines < 16 && (lines[nlines] = next_line(&cursor)) != NULL) nlines++;
    assert_int_equal(nlines, nmixed + 1);
    for (uint32_t k = 0; k < nmixed; k++) {
        if (mixed_valid[k]) {
            many_valid_prefix(m, (uint32_t)mixed[k], want, sizeof want);
            if (strncmp(lines[k], want, strlen(want)) != 0) fail_msg("line %u: %s", k, lines[k]);
        }
    }
    snprintf(want, sizeof want, "%s: INVALID: the transaction's seal signature is invalid",
             m->path[7]);
    assert_string_equal(lines[2], want);
    snprintf(want, sizeof want, "%s: INVALID: receipt %s: cannot read the file: No such file or "
             "directory", m->path[11], many_receipt_path(m, 11));
    assert_string_equal(lines[4], want);
    snprintf(want, sizeof want, "%s: INVALID: document digest does not match the anchored digest",
             m->path[2]);
    assert_string_equal(lines[5], want);
    assert_non_null(strstr(lines[1], ", salted")); /* 3 */
    assert_non_null(strstr(lines[6], ", salted")); /* 13 */
    assert_null(strstr(lines[0], ", salted"));
    assert_string_equal(lines[7], "/nonexistent/doc.txt: INVALID: cannot read the file: "
                                  "No such file or directory");
    snprintf(want, sizeof want, "%s: INVALID: document digest does not match the anchored digest "
             "(hashed with the salt in %s)", m->path[23], salt23);
    assert_string_equal(lines[9], want);
    assert_string_equal(lines[nmixed], "10 files: 5 valid, 5 invalid");

    /* the same as JSON */
    static const char *const json2[] = {"--workers", "2", "--json", NULL};
    assert_int_equal(many_run(fx, m, json2, mixed, nmixed), CLI_EXIT_FAIL);
    arr = out_json(fx);
    assert_int_equal(json_array_size(arr), nmixed);
    for (uint32_t k = 0; k < nmixed; k++) {
        json_t *e = json_array_get(arr, k);
        bool exists = mixed[k] >= 0;
        assert_string_equal(jstr(e, "file"), exists ? m->path[mixed[k]] : "/nonexistent/doc.txt");
        assert_int_equal(json_is_true(json_object_get(e, "valid")), mixed_valid[k]);
        assert_int_equal(json_object_get(e, "reason") != NULL, !mixed_valid[k]);
        assert_int_equal(json_is_true(json_object_get(e, "salted")),
                         exists && many_salted((uint32_t)mixed[k]));
    }
    assert_string_equal(jstr(json_array_get(arr, 2), "reason"),
                        "the transaction's seal signature is invalid");
    json_decref(arr);

    /* the single-receipt form beside it, as before: a FILE and its --receipt */
    assert_int_equal(run(fx, "verify", m->path[0], "--receipt", many_receipt_path(m, 0),
                         "--genesis", m->genesis, NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "VALID: record "));
    assert_non_null(strstr(fx->out, "\n  the file matches the anchored digest\n"));
    assert_int_equal(run(fx, "verify", m->path[7], "--receipt", many_receipt_path(m, 7),
                         "--genesis", m->genesis, NULL), CLI_EXIT_FAIL);
    assert_string_equal(fx->out, "INVALID: the transaction's seal signature is invalid\n");

    /* usage: --salt or --workers with the wrong form, a bad count, no FILE, too many files */
    assert_int_equal(run(fx, "verify", m->path[3], m->path[13], "--salt", "x.salt", "--genesis",
                         m->genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "verify", m->path[0], "--receipt", many_receipt_path(m, 0),
                         "--genesis", m->genesis, "--workers", "2", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "verify", m->path[0], m->path[1], "--receipt",
                         many_receipt_path(m, 0), "--genesis", m->genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "verify", m->path[0], "--genesis", m->genesis, "--workers", "257",
                         NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "verify", m->path[0], NULL), CLI_EXIT_USAGE);
    assert_true(err_has(fx, "--genesis is required"));
    assert_int_equal(run(fx, "verify", "--genesis", m->genesis, NULL), CLI_EXIT_USAGE);
    assert_string_equal(fx->out, "");
    int *zeros = calloc(65537, sizeof *zeros);
    assert_non_null(zeros);
    assert_int_equal(many_run(fx, m, NULL, zeros, 65537), CLI_EXIT_USAGE);
    assert_true(err_has(fx, "at most 65536 files in one run, got 65537"));
    assert_string_equal(fx->out, "");
    free(zeros);
    free(order);
    many_free(m);
    free(m);
}

/* `qchain city-log`: the offline path on the completeness proofs of docs/PROTOCOL.md §13.5
 * (the committed fuzz seeds, built on the §10.3 example genesis): the events in range, the
 * anchored / NOT anchored verdict for a digest (exit 0 either way), the empty cases, a
 * tampered proof refused (1); and the command line's usage errors (2) and an unreachable
 * node (1). Run from the repository root (the seeds' paths), as `make check` does. */
static void test_city_log(void **state) {
    fx_t *fx = *state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    char genesis[TDIR_PATH_MAX], bad[TDIR_PATH_MAX], junk[TDIR_PATH_MAX];
    tdir_write(genesis, fx->dir, "genesis.json", x->genesis_json, x->genesis_len, 0644);
    receiptex_free(x);
    free(x);
    const char *brackets = "tests/fuzz/corpus/cityproof/valid_brackets.json";
    const char *none = "tests/fuzz/corpus/cityproof/valid_none_in_range.json";
    const char *empty = "tests/fuzz/corpus/cityproof/valid_empty_log.json";
    const char *d_anchor = "5151515151515151515151515151515151515151515151515151515151515100";
    const char *d_old = "1212121212121212121212121212121212121212121212121212121212121200";

    assert_int_equal(run(fx, "city-log", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "Usage: qchain city-log CITY --from A"));
    assert_non_null(strstr(fx->out, "Exit status"));
    assert_int_equal(run(fx, "help", "city-log", NULL), CLI_EXIT_OK);

    /* jinan 4..5 as of block 8: the supersession's two leaves and the anchoring at 5 */
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, NULL),
                     CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "VALID proof: city jinan, heights 4..5, as of block 8 "
                                    "(epoch 0), committed by 3 of 4 member cities (quorum 3)\n"
                                    "3 events:\n  height 4  supersede-old  1212"));
    assert_non_null(strstr(fx->out, "  height 5  anchor         " "5151515151515151515151515151515151515151515151515151515151515100"
                                    "  tx 51a5a5a5a5a5a5a5  index 0\n"));
    assert_null(strstr(fx->out, "endorse")); /* the bracketing leaves are not events */
    assert_null(strstr(fx->out, "cut"));
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--digest",
                         d_anchor, NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "jinan anchored 5151515151515151515151515151515151515151"
                                    "515151515151515151515100 at height 5\n"));
    /* superseded (not anchored) in the range: a proven NO, still exit 0 */
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--digest",
                         d_old, NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "jinan did NOT anchor 1212121212121212121212121212121212"
                                    "121212121212121212121212121200 in heights 4..5 (proof of "
                                    "completeness)\n"));
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--digest",
                         d_anchor, "--json", NULL), CLI_EXIT_OK);
    json_t *j = out_json(fx);
    assert_true(json_is_true(json_object_get(j, "valid")));
    assert_string_equal(jstr(j, "city"), "jinan");
    assert_int_equal(json_integer_value(json_object_get(j, "from")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "to")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "as_of_height")), 8);
    assert_int_equal(json_integer_value(json_object_get(j, "signers")), 3);
    assert_true(json_is_false(json_object_get(j, "cut")));
    assert_true(json_is_true(json_object_get(j, "anchored")));
    assert_string_equal(jstr(j, "digest"), d_anchor);
    json_t *ev = json_object_get(j, "events");
    assert_int_equal(json_array_size(ev), 3);
    assert_string_equal(jstr(json_array_get(ev, 1), "kind"), "supersede-new");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 1), "index")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 2), "height")), 5);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "anchored_heights"),
                                                       0)), 5);
    json_decref(j);

    /* zibo had nothing in 4..5 (events at 3 and 6 bracket the range); taian never had any */
    assert_int_equal(run(fx, "city-log", "--proof", none, "--genesis", genesis, "--digest",
                         d_anchor, "--json", NULL), CLI_EXIT_OK);
    j = out_json(fx);
    assert_string_equal(jstr(j, "city"), "zibo");
    assert_int_equal(json_array_size(json_object_get(j, "events")), 0);
    assert_true(json_is_false(json_object_get(j, "anchored")));
    json_decref(j);
    assert_int_equal(run(fx, "city-log", "--proof", empty, "--genesis", genesis, NULL),
                     CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "VALID proof: city taian, heights 1..8, as of block 8"));
    assert_non_null(strstr(fx->out, "\n0 events: taian had none in heights 1..8\n"));

    /* a changed digest no longer hashes to the certified root; not JSON; no such files */
    uint8_t *text;
    size_t len;
    assert_int_equal(qc_file_read(brackets, 1u << 20, &text, &len), QC_OK);
    char *copy = calloc(1, len + 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    free(text);
    char *at = strstr(copy, d_anchor);
    assert_non_null(at);
    at[63] = '1';
    tdir_write(bad, fx->dir, "bad.json", copy, len, 0644);
    free(copy);
    assert_int_equal(run(fx, "city-log", "--proof", bad, "--genesis", genesis, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(strncmp(fx->out, "INVALID: ", 9), 0);
    assert_int_equal(run(fx, "city-log", "--proof", bad, "--genesis", genesis, "--json", NULL),
                     CLI_EXIT_FAIL);
    j = out_json(fx);
    assert_true(json_is_false(json_object_get(j, "valid")));
    assert_non_null(jstr(j, "reason"));
    json_decref(j);
    tdir_write(junk, fx->dir, "junk.json", "{\"qchain_city_log_proof\":", 25, 0644);
    assert_int_equal(run(fx, "city-log", "--proof", junk, "--genesis", genesis, NULL),
                     CLI_EXIT_FAIL);
    assert_non_null(strstr(fx->out, "INVALID: proof is not JSON"));
    assert_int_equal(run(fx, "city-log", "--proof", "/nonexistent/p.json", "--genesis", genesis,
                         NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", "/nonexistent/g.json",
                         NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--file",
                         "/nonexistent/doc", NULL), CLI_EXIT_FAIL);

    /* usage: exit 2 before anything is read or fetched */
    const char *down = "http://127.0.0.1:1";
    assert_int_equal(run(fx, "city-log", "--proof", brackets, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--from", "1",
                         NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "jinan",
                         NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--digest",
                         "abc", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--digest",
                         d_anchor, "--file", genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--proof", brackets, "--genesis", genesis, "--salt",
                         genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--no-such-option", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "--from", "1", "--api", down, "--genesis", genesis,
                         NULL), CLI_EXIT_USAGE); /* no city */
    assert_int_equal(run(fx, "city-log", "Jinan", "--from", "1", "--api", down, "--genesis",
                         genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "jinan", "zibo", "--from", "1", "--api", down,
                         "--genesis", genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "jinan", "--api", down, "--genesis", genesis, NULL),
                     CLI_EXIT_USAGE); /* no --from */
    static const char *const bad_heights[] = {"0", "-3", "+3", "", "1x", " 1",
                                              "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_heights / sizeof bad_heights[0]; i++)
        assert_int_equal(run(fx, "city-log", "jinan", "--from", bad_heights[i], "--api", down,
                             "--genesis", genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "jinan", "--from", "5", "--to", "4", "--api", down,
                         "--genesis", genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "jinan", "--from", "1", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "jinan", "--from", "1", "--api", down, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "city-log", "jinan", "--from", "1", "--api", down, "--genesis",
                         genesis, "--out", "-", "--json", NULL), CLI_EXIT_USAGE);
    /* well-formed, but nobody listens: 1, and nothing on stdout */
    assert_int_equal(run(fx, "city-log", "jinan", "--from", "1", "--to", "9", "--api", down,
                         "--genesis", genesis, "--digest", d_anchor, "--json", NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(fx->out, "");
}

/* `qchain member`: subcommands, the change options' grammar (each refines the latest change of
 * its kind), which options belong to signing and reading; a well-formed command against a
 * node that is down fails (1), a malformed one is a usage error (2). */
static void test_member_arguments(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], genesis[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], nodepub[TDIR_PATH_MAX];
    char sealpub[TDIR_PATH_MAX], adminkey[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "net");
    tdir_path(genesis, dir, "genesis.json");
    tdir_path(cfg, dir, "zibo/node.json");
    tdir_path(nodepub, dir, "taian/keys/node.pub");
    tdir_path(sealpub, dir, "taian/keys/seal.pub");
    tdir_path(adminkey, dir, "zibo/keys/admin.key");
    /* Nothing listens on these testnet ports (API 2031..2034) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1030", NULL),
                     CLI_EXIT_OK);
    const char *down = "http://127.0.0.1:1";
    const char *hex = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    assert_int_equal(run(fx, "member", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "frobnicate", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "Exit status"));
    assert_non_null(strstr(fx->out, "--threshold"));
    assert_int_equal(run(fx, "help", "member", NULL), CLI_EXIT_OK);
    assert_int_equal(run(fx, "member", "approve", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "approve ID"));

    /* propose: what each change needs */
    static const char *const bad[][12] = {
        {"--config", NULL},                                         /* no change */
        {"--threshold", "0"}, {"--threshold", "x"}, {"--threshold", "65"},
        {"--add", "Bad_Name"}, {"--remove", "-zibo"},
        {"--add", "weifang", "--display", "Weifang"},               /* no keys, addresses */
        {"--display", "Weifang", "--add", "weifang"},               /* refines nothing yet */
        {"--remove", "zibo", "--p2p", "127.0.0.1:9"},               /* p2p is not remove's */
        {"--threshold", "2", "--role", "seal"},
        {"--rotate", "zibo", "--key", "k"},                         /* no role */
        {"--rotate", "zibo", "--role", "boss", "--key", "k"},
        {"--addresses", "zibo", "--p2p", "127.0.0.1:9"},            /* no api */
        {"--addresses", "zibo", "--api", ""},
        {"--threshold", "2", "--expiry-blocks", "0"},
        {"--api", "127.0.0.1:9", "--threshold", "2"},               /* --api before a change */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[ARGV_MAX + 1];
        int argc = 0;
        argv[argc++] = (char *)"qchain";
        argv[argc++] = (char *)"member";
        argv[argc++] = (char *)"propose";
        for (size_t k = 0; k < 12 && bad[i][k] != NULL; k++)
            if (strcmp(bad[i][k], "--config") != 0) argv[argc++] = (char *)bad[i][k];
        argv[argc++] = (char *)"--config";
        argv[argc++] = cfg;
        argv[argc] = NULL;
        free(fx->out);
        tdir_capture_begin();
        int rc = cli_main(argc, argv);
        fx->out = tdir_capture_end();
        if (rc != CLI_EXIT_USAGE) fail_msg("bad propose case %zu: exit %d", i, rc);
    }
    char *nine[ARGV_MAX + 1] = {"qchain", "member", "propose", "--config", cfg};
    int nine_argc = 5;
    for (int i = 0; i < 9; i++) {
        nine[nine_argc++] = (char *)"--remove";
        nine[nine_argc++] = (char *)k_cities[i];
    }
    nine[nine_argc] = NULL;
    tdir_capture_begin();
    assert_int_equal(cli_main(nine_argc, nine), CLI_EXIT_USAGE);
    free(tdir_capture_end());
    assert_int_equal(run(fx, "member", "propose", "--threshold", "2", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "propose", "--threshold", "2", "--config", cfg, "--genesis",
                         genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "propose", "--threshold", "2", "--config", cfg, "stray", NULL),
                     CLI_EXIT_USAGE);
    /* Well-formed: the node is down (or a key argument is wrong): failure, not usage. */
    assert_int_equal(run(fx, "member", "propose", "--threshold", "2", "--config", cfg, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "member", "propose", "--key", adminkey, "--threshold", "2",
                         "--rotate", "taian", "--role", "node", "--key", nodepub, "--config", cfg,
                         NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "member", "propose", "--rotate", "taian", "--role", "node", "--key",
                         sealpub, "--config", cfg, NULL), CLI_EXIT_FAIL); /* a seal key file */
    assert_int_equal(run(fx, "member", "propose", "--add", "weifang", "--display", "Weifang",
                         "--node-key", hex, "--seal-key", "/nonexistent.pub", "--admin-key", hex,
                         "--p2p", "127.0.0.1:9", "--api", "127.0.0.1:10", "--config", cfg, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "member", "propose", "--threshold", "2", "--config", cfg, "--key",
                         sealpub, NULL), CLI_EXIT_USAGE); /* --key after a threshold change */

    /* approve, reject, withdraw: one ID, --config, no changes */
    static const char *const votes[] = {"approve", "reject", "withdraw"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = votes[i];
        assert_int_equal(run(fx, "member", v, "--config", cfg, NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, "member", v, hex, hex, "--config", cfg, NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, "member", v, hex, NULL), CLI_EXIT_USAGE);
        assert_int_equal(run(fx, "member", v, hex, "--config", cfg, "--threshold", "2", NULL),
                         CLI_EXIT_USAGE);
        assert_int_equal(run(fx, "member", v, hex, "--config", cfg, "--expiry-blocks", "5", NULL),
                         CLI_EXIT_USAGE);
        assert_int_equal(run(fx, "member", v, hex, "--api", down, "--genesis", genesis, NULL),
                         CLI_EXIT_USAGE);
        assert_int_equal(run(fx, "member", v, "zz", "--config", cfg, NULL), CLI_EXIT_FAIL);
        assert_int_equal(run(fx, "member", v, hex, "--config", cfg, NULL), CLI_EXIT_FAIL);
        assert_int_equal(run(fx, "member", v, hex, "--config", cfg, "--key", sealpub, NULL),
                         CLI_EXIT_FAIL); /* not an admin secret key */
    }

    /* list, show, history: --config, or --api with --genesis */
    assert_int_equal(run(fx, "member", "list", "--config", cfg, "stray", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "list", "--api", down, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "list", "--config", cfg, "--key", adminkey, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "history", "--config", cfg, "--threshold", "2", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "show", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "member", "list", "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "member", "show", "abc", "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "member", "history", "--api", down, "--genesis", genesis, "--json",
                         NULL), CLI_EXIT_FAIL);
    assert_string_equal(fx->out, "");
}

/* Salted records (PROTOCOL.md §5): the digest of the published example, salt files written
 * 0600 and never replaced, strict salt parsing, and verify --salt's usage rule. */
static void test_salted_digest_and_salt_files(void **state) {
    fx_t *fx = *state;
    char doc[TDIR_PATH_MAX + 32], salt_path[TDIR_PATH_MAX + 32], why[256];
    snprintf(doc, sizeof doc, "%s/licence.txt", fx->dir);
    snprintf(salt_path, sizeof salt_path, "%s/licence.txt.salt", fx->dir);
    FILE *f = fopen(doc, "wb");
    assert_non_null(f);
    fputs("Business licence JN-2026-000123\n", f);
    fclose(f);
    uint8_t salt[QC_SALT_BYTES], back[QC_SALT_BYTES];
    for (int i = 0; i < QC_SALT_BYTES; i++) salt[i] = (uint8_t)i;
    qc_hash_t d, plain;
    char hex[65];
    assert_int_equal(client_hash_file_salted(doc, salt, &d), QC_OK);
    assert_string_equal(qc_hash_hex(hex, &d),
                        "5166134f7373b457ff0f343a87af2b9b5457e266c0b6444efe2f1995f290297f");
    assert_int_equal(client_hash_file(doc, &plain), QC_OK);
    assert_string_equal(qc_hash_hex(hex, &plain),
                        "d1c9f3c559cbc678ceff91c8de768bc24f33574943d29a7169071b96dd1368ad");
    assert_int_equal(client_salt_write(salt_path, salt), QC_OK);
    struct stat st;
    assert_int_equal(stat(salt_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(client_salt_read(salt_path, back, why, sizeof why), QC_OK);
    assert_memory_equal(back, salt, sizeof salt);
    uint8_t other[QC_SALT_BYTES] = {1};
    assert_int_equal(client_salt_write(salt_path, other), QC_ERR_EXISTS); /* never replaced */
    assert_int_equal(client_salt_read(salt_path, back, why, sizeof why), QC_OK);
    assert_memory_equal(back, salt, sizeof salt);
    static const char *const bad[] = {
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",   /* 63 hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n", /* 65 hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",  /* not hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f ", ""};
    char bad_path[TDIR_PATH_MAX + 32];
    snprintf(bad_path, sizeof bad_path, "%s/bad.salt", fx->dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = fopen(bad_path, "wb");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        why[0] = '\0';
        assert_int_equal(client_salt_read(bad_path, back, why, sizeof why), QC_ERR_INVALID);
        assert_non_null(strstr(why, "not a salt file"));
    }
    assert_int_not_equal(client_salt_read("/nonexistent/x.salt", back, why, sizeof why), QC_OK);
    assert_int_equal(run(fx, "verify", "--receipt", "r.json", "--genesis", "g.json", "--salt",
                         salt_path, NULL), CLI_EXIT_USAGE);
}

/* endorse, revoke, supersede: usage errors exit 2 before anything is signed or sent; a node
 * that cannot be reached, or a missing file, is a failure (1). */
static void test_lifecycle_arguments(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], file[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "lnet");
    tdir_path(cfg, dir, "zibo/node.json");
    tdir_path(file, fx->dir, "licence.txt");
    /* Nothing listens on these testnet ports (API 2041..2044) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1040", NULL),
                     CLI_EXIT_OK);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("licence JN-1\n", f);
    fclose(f);
    const char *hex = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    const char *hex2 = "6891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    static const char *const cmds[] = {"endorse", "revoke", "supersede"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(run(fx, cmds[i], "--help", NULL), CLI_EXIT_OK);
        assert_non_null(strstr(fx->out, "Exit status"));
        assert_int_equal(run(fx, cmds[i], hex, NULL), CLI_EXIT_USAGE); /* no --config */
        assert_int_equal(run(fx, cmds[i], "--no-such-option", "--config", cfg, NULL), CLI_EXIT_USAGE);
    }
    assert_int_equal(run(fx, "endorse", hex, "--config", cfg, NULL), CLI_EXIT_USAGE); /* no purpose */
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "0", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "65536", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "1", "--reason", "1", "--config", cfg, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "1", "--config", cfg, "--note",
                         "0123456789012345678901234567890123456789012345678901234567890123456789",
                         NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "endorse", "abc", "--purpose", "1", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "endorse", hex, hex, "--purpose", "1", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "revoke", hex, "--config", cfg, NULL), CLI_EXIT_USAGE); /* no reason */
    assert_int_equal(run(fx, "revoke", hex, "--reason", "2", "--note", "x", "--config", cfg, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "supersede", hex, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "supersede", hex, hex, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "supersede", "--file", file, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "supersede", hex, hex2, "--purpose", "1", "--config", cfg, NULL),
                     CLI_EXIT_USAGE);
    /* well-formed, but the node is down or the file missing: failures */
    const char *down = "http://127.0.0.1:1";
    assert_int_equal(run(fx, "endorse", "--file", file, "--purpose", "1", "--config", cfg, "--api",
                         down, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "revoke", hex, "--reason", "1", "--config", cfg, "--api", down, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "supersede", hex, hex2, "--config", cfg, "--api", down, "--json", NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "revoke", "--file", "/nonexistent/x", "--reason", "1", "--config", cfg,
                         NULL), CLI_EXIT_FAIL);
}

/* qchain dataset: every subcommand's usage errors exit 2 before anything is signed or sent;
 * a node that cannot be reached, or a missing file, is a failure (1). */
static void test_dataset_arguments(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "snet");
    tdir_path(cfg, dir, "zibo/node.json");
    /* Nothing listens on these testnet ports (API 2051..2054) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1050", NULL),
                     CLI_EXIT_OK);
    const char *id = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    const char *down = "http://127.0.0.1:1";
    assert_int_equal(run(fx, "dataset", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "Exit status"));
    assert_int_equal(run(fx, "dataset", "publish", "--help", NULL), CLI_EXIT_OK);
    assert_int_equal(run(fx, "dataset", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "lend", id, "--config", cfg, NULL), CLI_EXIT_USAGE);
    /* publish: a schema is required, once; terms as text or file, not both; no foreign option */
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema", id, "--schema-file", cfg,
                         "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema", id, "--terms", "t",
                         "--terms-file", cfg, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema", id, "--reason", "1",
                         "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "publish", "--schema", id, "--config", cfg, NULL),
                     CLI_EXIT_USAGE); /* no name */
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema", id, NULL), CLI_EXIT_USAGE);
    /* request: --purpose 1..65535 required; --until or --blocks, not both */
    assert_int_equal(run(fx, "dataset", "request", id, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "request", id, "--purpose", "0", "--config", cfg, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "request", id, "--purpose", "1", "--until", "9",
                         "--blocks", "3", "--config", cfg, NULL), CLI_EXIT_USAGE);
    /* deny needs --reason; access needs a digest or --file; grant takes one id */
    assert_int_equal(run(fx, "dataset", "deny", id, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "access", id, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "grant", id, id, "--config", cfg, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "grant", id, "--limit", "3", "--config", cfg, NULL),
                     CLI_EXIT_USAGE);
    /* reading: --config or --api; requests without a city needs the config's */
    assert_int_equal(run(fx, "dataset", "list", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "requests", "--api", down, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "list", "--limit", "1001", "--api", down, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "show", "abc", "--api", down, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "requests", "Not-A-City", "--api", down, NULL),
                     CLI_EXIT_USAGE);
    /* well-formed, but the node is down or a file missing: failures */
    assert_int_equal(run(fx, "dataset", "grant", id, "--config", cfg, "--api", down, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "dataset", "request", id, "--purpose", "2", "--blocks", "10",
                         "--config", cfg, "--api", down, "--json", NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "dataset", "access", id, "--file", "/nonexistent/x", "--config", cfg,
                         "--api", down, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "dataset", "list", "--api", down, NULL), CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "dataset", "show", id, "--from", "100", "--api", down, NULL),
                     CLI_EXIT_FAIL);
    assert_int_equal(run(fx, "dataset", "list", "--from", "100", "--api", down, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "requests", "--config", cfg, "--api", down, NULL),
                     CLI_EXIT_FAIL);
}

/* qchain genesis --hash: the hash nodes use (qc_hash_ctx over the file's exact bytes, as
 * genesis_load computes it), as one hex line or JSON; a changed byte changes the hash or makes
 * the file invalid (1); a missing or unreadable file is a failure (1); other options with
 * --hash are usage errors (2). */
static void test_genesis_hash(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], genesis[TDIR_PATH_MAX], changed[TDIR_PATH_MAX], hex[65], line[80];
    tdir_path(dir, fx->dir, "hnet");
    tdir_path(genesis, dir, "genesis.json");
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1060", NULL),
                     CLI_EXIT_OK);
    size_t len;
    char *bytes = tdir_read(genesis, &len);
    qc_hash_t want;
    qc_hash_ctx(&want, QC_CTX_GENESIS, bytes, len);
    genesis_t *g = malloc(sizeof *g);
    assert_non_null(g);
    assert_int_equal(genesis_load(genesis, g, NULL, 0), QC_OK);
    assert_memory_equal(g->hash.b, want.b, 32);
    snprintf(line, sizeof line, "%s\n", qc_hash_hex(hex, &want));
    assert_int_equal(run(fx, "genesis", "--hash", genesis, NULL), CLI_EXIT_OK);
    assert_string_equal(fx->out, line);
    assert_int_equal(run(fx, "genesis", "--json", "--hash", genesis, NULL), CLI_EXIT_OK);
    json_t *j = out_json(fx);
    assert_string_equal(jstr(j, "genesis"), genesis);
    assert_string_equal(jstr(j, "hash"), hex);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);

    /* One byte of a display name changed: still a genesis, of another chain. */
    char *at = strstr(bytes, "Jinan");
    assert_non_null(at);
    at[1] = 'o';
    tdir_write(changed, fx->dir, "changed.json", bytes, len, 0644);
    assert_int_equal(run(fx, "genesis", "--hash", changed, NULL), CLI_EXIT_OK);
    assert_int_equal(strlen(fx->out), 65);
    assert_true(strncmp(fx->out, hex, 64) != 0);
    /* One structural byte changed: not a genesis file. */
    bytes[0] = '[';
    tdir_write(changed, fx->dir, "changed.json", bytes, len, 0644);
    assert_int_equal(run(fx, "genesis", "--hash", changed, NULL), CLI_EXIT_FAIL);
    assert_string_equal(fx->out, "");
    assert_true(err_has(fx, changed));
    /* missing, a directory */
    assert_int_equal(run(fx, "genesis", "--hash", "/nonexistent/genesis.json", NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "/nonexistent/genesis.json"));
    assert_string_equal(fx->out, "");
    assert_int_equal(run(fx, "genesis", "--hash", dir, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "Is a directory"));
    /* usage */
    assert_int_equal(run(fx, "genesis", "--hash", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--hash", genesis, "--out", changed, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--chain-id", "c", "--hash", genesis, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--hash", genesis, "stray", NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "genesis", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "qchain genesis --hash FILE"));
    free(bytes);
    free(g);
}

/* Every "cannot read the file" names the OS's reason: a directory ("Is a directory"), a
 * missing file, and (not as root, who reads anything) a mode-000 file ("Permission denied"). */
static void test_file_errors(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], genesis[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], adir[TDIR_PATH_MAX],
        doc[TDIR_PATH_MAX], locked[TDIR_PATH_MAX], salt[TDIR_PATH_MAX + 8], state_dir[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "fnet");
    tdir_path(genesis, dir, "genesis.json");
    tdir_path(cfg, dir, "zibo/node.json");
    tdir_path(adir, fx->dir, "adir");
    tdir_path(state_dir, fx->dir, "state-dir");
    /* Nothing listens on these testnet ports (API 2071..2074) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1070", NULL),
                     CLI_EXIT_OK);
    assert_int_equal(mkdir(adir, 0755), 0);
    assert_int_equal(mkdir(state_dir, 0755), 0);
    tdir_write(doc, fx->dir, "doc.txt", "permit\n", 7, 0644);
    const char *eisdir = "cannot read the file: Is a directory";
    const char *down = "http://127.0.0.1:1";
    const char *hex = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    assert_int_equal(run(fx, "anchor", adir, "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "anchor", adir, "--salted", "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    snprintf(salt, sizeof salt, "%s.salt", adir);
    assert_int_equal(access(salt, F_OK), -1); /* nothing salted that was not read */
    assert_int_equal(run(fx, "anchor", "/nonexistent/doc", "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "/nonexistent/doc: cannot read the file: No such file or directory"));
    assert_int_equal(run(fx, "verify", adir, "--receipt", doc, "--genesis", genesis, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "verify", doc, "--receipt", adir, "--genesis", genesis, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "receipt") && err_has(fx, eisdir));
    assert_int_equal(run(fx, "verify", doc, "--salt", adir, "--receipt", doc, "--genesis", genesis,
                         NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "salt") && err_has(fx, eisdir));
    assert_int_equal(run(fx, "endorse", "--file", adir, "--purpose", "1", "--config", cfg, NULL),
                     CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "receipt", "--file", adir, "--config", cfg, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "status-proof", "--proof", adir, "--genesis", genesis, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "city-log", "--proof", adir, "--genesis", genesis, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "audit", "--genesis", genesis, "--state", state_dir, "--api", down,
                         NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema-file", adir, "--config", cfg,
                         "--api", down, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    assert_int_equal(run(fx, "dataset", "access", hex, "--file", adir, "--config", cfg, "--api",
                         down, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, eisdir));
    if (geteuid() != 0) { /* root reads a mode-000 file: only the directory cases above apply */
        tdir_write(locked, fx->dir, "locked.txt", "secret\n", 7, 0000);
        assert_int_equal(run(fx, "anchor", locked, "--config", cfg, NULL), CLI_EXIT_FAIL);
        assert_true(err_has(fx, "cannot read the file: Permission denied"));
        assert_int_equal(run(fx, "verify", locked, "--receipt", doc, "--genesis", genesis, NULL),
                         CLI_EXIT_FAIL);
        assert_true(err_has(fx, "cannot read the file: Permission denied"));
        assert_int_equal(run(fx, "verify", doc, "--receipt", locked, "--genesis", genesis, NULL),
                         CLI_EXIT_FAIL);
        assert_true(err_has(fx, "cannot read the file: Permission denied"));
    }
}

/* anchor, endorse, revoke, supersede and the dataset signing subcommands without a node
 * config: --api, --genesis and --seal-key together (usage 2 otherwise); the signing city is
 * found by the seal key (in the genesis when the node cannot be asked); a key of no member, or
 * of another city than the --config's, is refused before anything is sent; an encrypted key
 * takes its passphrase from --passphrase-file or QCHAIN_PASSPHRASE. The node is down, so a
 * command that gets as far as submitting fails there (1), which shows it got that far. */
static void test_signing_without_config(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], g[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], zibo[TDIR_PATH_MAX],
        jinan[TDIR_PATH_MAX], doc[TDIR_PATH_MAX], stray[TDIR_PATH_MAX], enc[TDIR_PATH_MAX],
        pw[TDIR_PATH_MAX], badpw[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "knet");
    tdir_path(g, dir, "genesis.json");
    tdir_path(cfg, dir, "zibo/node.json");
    tdir_path(zibo, dir, "zibo/keys/seal.key");
    tdir_path(jinan, dir, "jinan/keys/seal.key");
    tdir_path(stray, fx->dir, "stray.key");
    tdir_path(enc, fx->dir, "enc.key");
    /* Nothing listens on these testnet ports (API 2081..2084) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1080", NULL),
                     CLI_EXIT_OK);
    tdir_write(doc, fx->dir, "doc.txt", "permit\n", 7, 0644);
    tdir_write(pw, fx->dir, "pw.txt", "s3cret\n", 7, 0600);
    tdir_write(badpw, fx->dir, "badpw.txt", "wrong\n", 6, 0600);
    assert_int_equal(run(fx, "keygen", "--role", "seal", "--out", stray, NULL), CLI_EXIT_OK);
    assert_int_equal(run(fx, "keygen", "--role", "seal", "--out", enc, "--encrypt", "--kdf", "min",
                         "--passphrase-file", pw, NULL), CLI_EXIT_OK);
    const char *down = "http://127.0.0.1:1";
    const char *hex = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    const char *hex2 = "6891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    static const char *const cmds[] = {"anchor", "endorse", "revoke", "supersede", "dataset"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_int_equal(run(fx, cmds[i], "--help", NULL), CLI_EXIT_OK);
        assert_non_null(strstr(fx->out, "--seal-key FILE"));
        assert_non_null(strstr(fx->out, "--genesis FILE"));
        assert_non_null(strstr(fx->out, "--passphrase-file"));
        assert_non_null(strstr(fx->out, "--cacert FILE"));
        assert_non_null(strstr(fx->out, "/v1/members"));
    }

    /* at most 64 transactions' worth of files (65536) in one run */
    {
        enum { N = 65537 };
        char **many = calloc(N + 8, sizeof *many);
        assert_non_null(many);
        size_t k = 0;
        many[k++] = "anchor";
        for (int i = 0; i < N; i++) many[k++] = (char *)doc;
        many[k++] = "--api";
        many[k++] = (char *)down;
        many[k++] = "--genesis";
        many[k++] = (char *)g;
        many[k++] = "--seal-key";
        many[k++] = (char *)zibo;
        many[k] = NULL;
        assert_int_equal(run_args(fx, many), CLI_EXIT_USAGE);
        assert_true(err_has(fx, "at most 65536 files"));
        free(many);
    }

    /* usage: without a config all three; --genesis not with a config; an http(s) URL */
    assert_int_equal(run(fx, "anchor", doc, "--api", down, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "anchor", doc, "--genesis", g, "--seal-key", zibo, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--seal-key", zibo, NULL), CLI_EXIT_USAGE);
    assert_true(err_has(fx, "--config NODE.json, or --api URL with --genesis FILE and --seal-key FILE"));
    assert_int_equal(run(fx, "anchor", doc, "--config", cfg, "--genesis", g, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "anchor", doc, "--api", "ftp://x", "--genesis", g, "--seal-key", zibo,
                         NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "anchor", "--api", down, "--genesis", g, "--seal-key", zibo, NULL),
                     CLI_EXIT_USAGE); /* no FILE */
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "1", "--api", down, "--genesis", g, NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema", hex, "--api", down,
                         "--genesis", g, NULL), CLI_EXIT_USAGE);
    assert_int_equal(run(fx, "dataset", "list", "--api", down, "--seal-key", zibo, NULL),
                     CLI_EXIT_USAGE); /* reading takes no key */

    /* well-formed: zibo's key is found in the genesis (the node cannot be asked), signs, and the
     * submission fails (the node is down) */
    const char *submit = "/v1/transactions?wait_ms=";
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, "--seal-key", zibo, NULL),
                     CLI_EXIT_FAIL);
    assert_true(err_has(fx, submit));
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "1", "--api", down, "--genesis", g,
                         "--seal-key", zibo, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, submit));
    assert_int_equal(run(fx, "revoke", hex, "--reason", "1", "--api", down, "--genesis", g,
                         "--seal-key", zibo, "--json", NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, submit));
    assert_int_equal(run(fx, "supersede", hex, hex2, "--api", down, "--genesis", g, "--seal-key",
                         zibo, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, submit));
    assert_int_equal(run(fx, "dataset", "publish", "rain", "--schema", hex, "--api", down,
                         "--genesis", g, "--seal-key", zibo, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, submit));
    /* --config with its own city's key: the same; with another city's key: refused first */
    assert_int_equal(run(fx, "anchor", doc, "--config", cfg, "--seal-key", zibo, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, submit));
    assert_int_equal(run(fx, "anchor", doc, "--config", cfg, "--seal-key", jinan, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "is jinan's seal key, not that of the config's city zibo"));
    assert_null(strstr(fx->err, submit));
    /* a key of no member; a missing key file */
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, "--seal-key", stray, NULL),
                     CLI_EXIT_FAIL);
    assert_true(err_has(fx, "is no genesis member's seal key, and the node could not be asked"));
    assert_null(strstr(fx->err, submit));
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, "--seal-key",
                         "/nonexistent/seal.key", NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "/nonexistent/seal.key"));
    /* an encrypted key (of no member: its loading is what is tested): no passphrase, a wrong
     * one, then the right one from the file and from the environment */
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, "--seal-key", enc, NULL),
                     CLI_EXIT_FAIL);
    assert_true(err_has(fx, "passphrase"));
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, "--seal-key", enc,
                         "--passphrase-file", badpw, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "seal key"));
    assert_null(strstr(fx->err, "no genesis member's"));
    assert_int_equal(run(fx, "anchor", doc, "--api", down, "--genesis", g, "--seal-key", enc,
                         "--passphrase-file", pw, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "no genesis member's seal key"));
    setenv(KEYS_PASSPHRASE_ENV, "s3cret", 1);
    assert_int_equal(run(fx, "endorse", hex, "--purpose", "2", "--api", down, "--genesis", g,
                         "--seal-key", enc, NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "no genesis member's seal key"));
    unsetenv(KEYS_PASSPHRASE_ENV);
}

/* --cacert on every command that talks to a node: a missing, unreadable or non-PEM file is a
 * failure (1) that names the file and the reason, before anything is sent; a PEM bundle is
 * taken (the command goes on and fails only at the down node); no value is usage (2). */
static void test_cacert(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], g[TDIR_PATH_MAX], zibo[TDIR_PATH_MAX], doc[TDIR_PATH_MAX],
        ca[TDIR_PATH_MAX], st[TDIR_PATH_MAX], adir[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "cnet");
    tdir_path(g, dir, "genesis.json");
    tdir_path(zibo, dir, "zibo/keys/seal.key");
    tdir_path(st, fx->dir, "audit-state.json");
    tdir_path(adir, fx->dir, "adir");
    assert_int_equal(mkdir(adir, 0755), 0);
    /* Nothing listens on these testnet ports (API 2091..2094) or on port 1 during the test. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1090", NULL),
                     CLI_EXIT_OK);
    tdir_write(doc, fx->dir, "doc.txt", "permit\n", 7, 0644);
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    tdir_write(ca, fx->dir, "ca.pem", pem, sizeof pem - 1, 0644);
    char *hex = (char *)"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    char *down = (char *)"https://127.0.0.1:1";
    char *const cmds[][16] = {
        {"status", "--api", down, "--genesis", g, NULL},
        {"status", "--all", "--api", down, "--genesis", g, NULL},
        {"receipt", hex, "--api", down, "--genesis", g, NULL},
        {"block", "1", "--api", down, "--genesis", g, NULL},
        {"status-proof", hex, "--api", down, "--genesis", g, NULL},
        {"city-log", "zibo", "--from", "1", "--api", down, "--genesis", g, NULL},
        {"member", "list", "--api", down, "--genesis", g, NULL},
        {"audit", "--genesis", g, "--state", st, "--api", down, NULL},
        {"anchor", doc, "--api", down, "--genesis", g, "--seal-key", zibo, NULL},
        {"endorse", hex, "--purpose", "1", "--api", down, "--genesis", g, "--seal-key", zibo, NULL},
        {"dataset", "list", "--api", down, NULL},
        {"dataset", "grant", hex, "--api", down, "--genesis", g, "--seal-key", zibo, NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *args[24];
        size_t n = 0;
        while (cmds[i][n] != NULL) { args[n] = cmds[i][n]; n++; }
        args[n] = (char *)"--cacert";
        args[n + 2] = NULL;
        print_message("%s with --cacert\n", cmds[i][0]);
        args[n + 1] = (char *)"/nonexistent/ca.pem";
        assert_int_equal(run_args(fx, args), CLI_EXIT_FAIL);
        assert_true(err_has(fx, "--cacert /nonexistent/ca.pem: cannot read the file: No such file "
                                "or directory"));
        assert_string_equal(fx->out, "");
        args[n + 1] = adir;
        assert_int_equal(run_args(fx, args), CLI_EXIT_FAIL);
        assert_true(err_has(fx, "Is a directory"));
        args[n + 1] = g;
        assert_int_equal(run_args(fx, args), CLI_EXIT_FAIL);
        assert_true(err_has(fx, "not a PEM CA bundle"));
        args[n + 1] = ca; /* taken: the command gets to the (down) node */
        assert_int_equal(run_args(fx, args), CLI_EXIT_FAIL);
        assert_null(strstr(fx->err, "--cacert"));
        assert_true(strstr(fx->err, "127.0.0.1:1") != NULL || strstr(fx->out, "127.0.0.1:1") != NULL);
        args[n + 1] = NULL; /* --cacert without its value */
        assert_int_equal(run_args(fx, args), CLI_EXIT_USAGE);
        char *help[] = {cmds[i][0], (char *)"--help", NULL};
        assert_int_equal(run_args(fx, help), CLI_EXIT_OK);
        assert_non_null(strstr(fx->out, "--cacert FILE"));
    }
    assert_int_equal(access(st, F_OK), -1); /* the audit never got a checkpoint to save */
}

/* qchain audit with several nodes that cannot be reached reports every one of them, on stderr
 * (text) and in "nodes" (--json), and writes no state. */
static void test_audit_unreachable(void **state) {
    fx_t *fx = *state;
    char dir[TDIR_PATH_MAX], g[TDIR_PATH_MAX], cfg[TDIR_PATH_MAX], st[TDIR_PATH_MAX];
    tdir_path(dir, fx->dir, "anet");
    tdir_path(g, dir, "genesis.json");
    tdir_path(cfg, dir, "taian/node.json");
    tdir_path(st, fx->dir, "audit-state.json");
    /* Nothing listens on these testnet ports (API 2101..2104) or on ports 1 and 2. */
    assert_int_equal(run(fx, "testnet", "--out", dir, "--cities", "4", "--base-port", "1100", NULL),
                     CLI_EXIT_OK);
    assert_int_equal(run(fx, "audit", "--genesis", g, "--state", st, "--api", "http://127.0.0.1:1",
                         "--api", "http://127.0.0.1:2", NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "none of the 2 nodes served a valid quorum-signed checkpoint"));
    assert_true(err_has(fx, "  http://127.0.0.1:1: cannot read its membership history"));
    assert_true(err_has(fx, "  http://127.0.0.1:2: cannot read its membership history"));
    assert_int_equal(run(fx, "audit", "--genesis", g, "--state", st, "--config", cfg, "--api",
                         "http://127.0.0.1:2", "--json", NULL), CLI_EXIT_FAIL);
    json_t *j = out_json(fx);
    assert_string_equal(jstr(j, "verdict"), "error");
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 2);
    assert_string_equal(jstr(json_array_get(nodes, 0), "api"), "http://127.0.0.1:2103");
    assert_non_null(strstr(jstr(json_array_get(nodes, 0), "error"), "127.0.0.1:2103"));
    assert_non_null(strstr(jstr(json_array_get(nodes, 1), "error"), "127.0.0.1:2"));
    assert_true(json_is_false(json_object_get(json_array_get(nodes, 1), "ok")));
    json_decref(j);
    /* one node: its error is the reason itself */
    assert_int_equal(run(fx, "audit", "--genesis", g, "--state", st, "--api", "http://127.0.0.1:1",
                         NULL), CLI_EXIT_FAIL);
    assert_true(err_has(fx, "no node served a valid quorum-signed checkpoint: cannot read its "
                            "membership history: GET http://127.0.0.1:1/"));
    assert_int_equal(access(st, F_OK), -1);
    assert_int_equal(run(fx, "audit", "--help", NULL), CLI_EXIT_OK);
    assert_non_null(strstr(fx->out, "Every node is listed"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch_and_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_salted_digest_and_salt_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keygen_encrypted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genesis_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_testnet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_reading_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_across_epochs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_many_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_city_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genesis_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signing_without_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cacert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_unreachable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
