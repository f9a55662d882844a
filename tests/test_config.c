/* test_config.c - the node config file: defaults, path resolution, strict refusals naming the
 * key, writer/loader roundtrip, and completion against the genesis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tdir.h"
#include "testkeys.h"

static config_t g_cfg; /* 20+ KiB: static rather than on the stack */

static int parse(const char *text, const char *base, char *reason, size_t cap) {
    return config_parse(text, strlen(text), base, &g_cfg, reason, cap);
}

static void test_minimal_gets_defaults(void **state) {
    (void)state;
    char reason[256] = "";
    assert_int_equal(parse("{\"city\":\"jinan\",\"genesis\":\"../genesis.json\"}", "/srv/q",
                           reason, sizeof reason),
                     QC_OK);
    assert_string_equal(g_cfg.city, "jinan");
    assert_string_equal(g_cfg.genesis_path, "/srv/q/../genesis.json");
    assert_string_equal(g_cfg.key_paths[KEYS_ROLE_NODE], "/srv/q/keys/node.key");
    assert_string_equal(g_cfg.key_paths[KEYS_ROLE_SEAL], "/srv/q/keys/seal.key");
    assert_string_equal(g_cfg.key_paths[KEYS_ROLE_ADMIN], "/srv/q/keys/admin.key");
    assert_string_equal(g_cfg.data_dir, "/srv/q/data");
    assert_string_equal(g_cfg.passphrase_file, "");
    assert_int_equal(g_cfg.log_level, QC_LOG_INFO);
    assert_string_equal(g_cfg.p2p.listen, "");
    assert_string_equal(g_cfg.api.listen, "");
    assert_true(g_cfg.api.enabled);
    assert_int_equal(g_cfg.p2p.keepalive_ms, CONFIG_DEFAULT_P2P_KEEPALIVE_MS);
    assert_int_equal(g_cfg.p2p.pending_max, CONFIG_DEFAULT_P2P_PENDING_MAX);
    assert_int_equal(g_cfg.p2p.pending_per_source_max, CONFIG_DEFAULT_P2P_PENDING_PER_SOURCE_MAX);
    assert_int_equal(g_cfg.p2p.accepts_per_tick_max, CONFIG_DEFAULT_P2P_ACCEPTS_PER_TICK_MAX);
    assert_int_equal(g_cfg.p2p.max_frame_bytes, CONFIG_DEFAULT_P2P_MAX_FRAME_BYTES);
    assert_int_equal(g_cfg.mempool.max_bytes, CONFIG_DEFAULT_MEMPOOL_MAX_BYTES);
    assert_int_equal(g_cfg.api.max_connections_per_client, 64);
    assert_int_equal(g_cfg.api.header_timeout_ms, 5000);
    assert_int_equal(g_cfg.block.max_txs, 0);
    assert_int_equal(g_cfg.catchup.peers, CONFIG_DEFAULT_CATCHUP_PEERS);
    assert_int_equal(g_cfg.ledger.state_cache_mib, 0); /* resident */
}

static void test_every_field_parsed(void **state) {
    (void)state;
    const char *text =
        "{\"version\":1,\"city\":\"heze\",\"genesis\":\"/etc/qchain/genesis.json\","
        "\"data_dir\":\"/var/lib/qchain\",\"passphrase_file\":\"secret/pass\","
        "\"log_level\":\"debug\","
        "\"keys\":{\"node\":\"k/n.key\",\"seal\":\"/abs/s.key\",\"admin\":\"k/a.key\"},"
        "\"p2p\":{\"listen\":\"0.0.0.0:7109\",\"max_frame_bytes\":40000000,"
        "\"send_queue_bytes_max\":2097152,\"connect_timeout_ms\":500,"
        "\"handshake_timeout_ms\":600,\"reconnect_min_ms\":50,\"reconnect_max_ms\":5000,"
        "\"keepalive_ms\":700,\"idle_timeout_ms\":7000,\"pending_max\":200,"
        "\"pending_per_source_max\":2,\"accepts_per_tick_max\":8},"
        "\"api\":{\"enabled\":false,\"listen\":\"[::1]:8109\",\"max_body_bytes\":1048576,"
        "\"max_header_bytes\":8192,\"max_connections\":10,\"max_connections_per_client\":3,"
        "\"header_timeout_ms\":1500,\"request_timeout_ms\":2000,"
        "\"wait_timeout_ms_max\":0},"
        "\"mempool\":{\"max_txs\":5,\"max_bytes\":1048576},"
        "\"block\":{\"max_txs\":100,\"max_bytes\":1048576},"
        "\"catchup\":{\"batch_blocks\":16,\"peers\":2,\"request_timeout_ms\":900},"
        "\"ledger\":{\"state_cache_mib\":96}}";
    char reason[256] = "";
    assert_int_equal(parse(text, "/cfg", reason, sizeof reason), QC_OK);
    assert_string_equal(g_cfg.city, "heze");
    assert_string_equal(g_cfg.genesis_path, "/etc/qchain/genesis.json"); /* absolute kept */
    assert_string_equal(g_cfg.data_dir, "/var/lib/qchain");
    assert_string_equal(g_cfg.passphrase_file, "/cfg/secret/pass");
    assert_string_equal(g_cfg.key_paths[KEYS_ROLE_NODE], "/cfg/k/n.key");
    assert_string_equal(g_cfg.key_paths[KEYS_ROLE_SEAL], "/abs/s.key");
    assert_int_equal(g_cfg.log_level, QC_LOG_DEBUG);
    assert_string_equal(g_cfg.p2p.listen, "0.0.0.0:7109");
    assert_int_equal(g_cfg.p2p.max_frame_bytes, 40000000);
    assert_int_equal(g_cfg.p2p.send_queue_bytes_max, 2097152);
    assert_int_equal(g_cfg.p2p.connect_timeout_ms, 500);
    assert_int_equal(g_cfg.p2p.handshake_timeout_ms, 600);
    assert_int_equal(g_cfg.p2p.reconnect_min_ms, 50);
    assert_int_equal(g_cfg.p2p.reconnect_max_ms, 5000);
    assert_int_equal(g_cfg.p2p.keepalive_ms, 700);
    assert_int_equal(g_cfg.p2p.idle_timeout_ms, 7000);
    assert_int_equal(g_cfg.p2p.pending_max, 200);
    assert_int_equal(g_cfg.p2p.pending_per_source_max, 2);
    assert_int_equal(g_cfg.p2p.accepts_per_tick_max, 8);
    assert_false(g_cfg.api.enabled);
    assert_string_equal(g_cfg.api.listen, "[::1]:8109");
    assert_int_equal(g_cfg.api.max_body_bytes, 1048576);
    assert_int_equal(g_cfg.api.max_header_bytes, 8192);
    assert_int_equal(g_cfg.api.max_connections, 10);
    assert_int_equal(g_cfg.api.max_connections_per_client, 3);
    assert_int_equal(g_cfg.api.header_timeout_ms, 1500);
    assert_int_equal(g_cfg.api.request_timeout_ms, 2000);
    assert_int_equal(g_cfg.api.wait_timeout_ms_max, 0);
    assert_int_equal(g_cfg.mempool.max_txs, 5);
    assert_int_equal(g_cfg.mempool.max_bytes, 1048576);
    assert_int_equal(g_cfg.block.max_txs, 100);
    assert_int_equal(g_cfg.block.max_bytes, 1048576);
    assert_int_equal(g_cfg.catchup.batch_blocks, 16);
    assert_int_equal(g_cfg.catchup.peers, 2);
    assert_int_equal(g_cfg.catchup.request_timeout_ms, 900);
    assert_int_equal(g_cfg.ledger.state_cache_mib, 96);

    /* Writer -> loader keeps every field: re-encoding gives the same text. */
    char *out, *again;
    size_t len, again_len;
    assert_int_equal(config_encode(&g_cfg, &out, &len), QC_OK);
    assert_non_null(strstr(out, "\"passphrase_file\": \"/cfg/secret/pass\""));
    assert_int_equal(config_parse(out, len, NULL, &g_cfg, reason, sizeof reason), QC_OK);
    assert_int_equal(g_cfg.api.max_header_bytes, 8192);
    assert_int_equal(config_encode(&g_cfg, &again, &again_len), QC_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, out, len);
    free(again);
    free(out);
}

static void test_refusals_name_the_key(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"{\"genesis\":\"g\"}", "city: missing field"},
        {"{\"city\":\"jinan\"}", "genesis: missing field"},
        {"{\"city\":\"Jinan\",\"genesis\":\"g\"}", "city: expected a member name"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"colour\":1}", "colour: unknown field"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"port\":1}}", "p2p.port: unknown field"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"keys\":{\"root\":\"x\"}}",
         "keys.root: unknown field"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":[]}", "p2p: expected an object"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"keepalive_ms\":\"1000\"}}",
         "p2p.keepalive_ms: expected an integer"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"keepalive_ms\":1}}",
         "p2p.keepalive_ms: 1 is out of range"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"listen\":\"localhost\"}}",
         "p2p.listen: expected \"host:port\""},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"api\":{\"enabled\":1}}",
         "api.enabled: expected true or false"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"pending_per_source_max\":0}}",
         "p2p.pending_per_source_max: 0 is out of range"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"api\":{\"max_connections\":0}}",
         "api.max_connections: 0 is out of range"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"mempool\":{\"max_txs\":-1}}",
         "mempool.max_txs: -1 is out of range"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"block\":{\"max_txs\":9000}}",
         "block.max_txs: 9000 is out of range"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"log_level\":\"verbose\"}",
         "log_level: expected \"debug\""},
        {"{\"city\":\"jinan\",\"genesis\":\"\"}", "genesis: must not be empty"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"version\":2}", "version: 2 is not supported"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"reconnect_min_ms\":500,"
         "\"reconnect_max_ms\":100}}",
         "p2p.reconnect_max_ms: 100 is less than p2p.reconnect_min_ms (500)"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"keepalive_ms\":5000,"
         "\"idle_timeout_ms\":5000}}",
         "p2p.idle_timeout_ms: 5000 must exceed p2p.keepalive_ms"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"p2p\":{\"max_frame_bytes\":1048576}}",
         "p2p.max_frame_bytes: 1048576 must exceed block.max_bytes"},
        {"{\"city\":\"jinan\",\"genesis\":\"g\",\"city\":\"zibo\"}", "duplicate"},
        {"{\"city\":\"jinan\",", "not valid JSON"},
        {"[\"city\"]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char reason[256] = "";
        assert_int_equal(parse(cases[i].text, "/x", reason, sizeof reason), QC_ERR_INVALID);
        if (strstr(reason, cases[i].want) == NULL) {
            fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, reason, cases[i].want);
        }
    }
    /* A path that would not fit once resolved. */
    char long_text[CONFIG_PATH_MAX + 100], reason[256] = "";
    snprintf(long_text, sizeof long_text, "{\"city\":\"jinan\",\"genesis\":\"%0*d\"}",
             CONFIG_PATH_MAX - 10, 0);
    assert_int_equal(parse(long_text, "/a/long/base/directory", reason, sizeof reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(reason, "genesis: path longer than"));
}

/* A 4-city genesis written to dir/genesis.json. */
static void write_genesis(const char *dir, genesis_t *g) {
    genesis_init(g, "cfg-test", 1);
    for (uint32_t i = 0; i < 4; i++) {
        qc_pubkey_t pk[3];
        qc_seckey_t sk;
        for (int r = 0; r < 3; r++) testkeys_keypair((testkey_role_t)(r + 1), i, &pk[r], &sk);
        char p2p[32], api[32];
        snprintf(p2p, sizeof p2p, "10.0.0.%u:7101", i + 1);
        snprintf(api, sizeof api, "10.0.0.%u:8101", i + 1);
        assert_int_equal(genesis_add_member(g, testkeys_city_names[i], testkeys_city_names[i],
                                            &pk[0], &pk[1], &pk[2], p2p, api),
                         QC_OK);
    }
    g->consensus.block_max_txs = 500;
    char path[TDIR_PATH_MAX];
    tdir_path(path, dir, "genesis.json");
    assert_int_equal(genesis_write(path, g, true, NULL, 0), QC_OK);
}

static void test_load_resolves_against_file_dir(void **state) {
    (void)state;
    char dir[TDIR_PATH_MAX], city[TDIR_PATH_MAX], path[TDIR_PATH_MAX], reason[512] = "";
    genesis_t *g = malloc(sizeof *g), *loaded = malloc(sizeof *loaded);
    assert_non_null(g);
    assert_non_null(loaded);
    tdir_make(dir, "config");
    write_genesis(dir, g);
    tdir_path(city, dir, "zibo");
    assert_int_equal(qc_mkdirs(city, 0700), QC_OK);
    const char text[] = "{\"city\":\"zibo\",\"genesis\":\"../genesis.json\"}";
    tdir_write(path, city, "node.json", text, sizeof text - 1, 0644);
    assert_int_equal(config_load(path, &g_cfg, reason, sizeof reason), QC_OK);
    char *real = realpath(city, NULL);
    assert_non_null(real);
    char want[TDIR_PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/../genesis.json", real);
    assert_string_equal(g_cfg.genesis_path, want);
    snprintf(want, sizeof want, "%s/keys/seal.key", real);
    assert_string_equal(g_cfg.key_paths[KEYS_ROLE_SEAL], want);
    free(real);
    assert_int_equal(genesis_load(g_cfg.genesis_path, loaded, reason, sizeof reason), QC_OK);
    assert_memory_equal(loaded->hash.b, g->hash.b, QC_HASH_BYTES);

    /* Completion against the genesis. */
    uint32_t idx = 99;
    assert_int_equal(config_apply_genesis(&g_cfg, loaded, &idx, reason, sizeof reason), QC_OK);
    assert_int_equal(idx, 1);
    assert_string_equal(g_cfg.p2p.listen, "10.0.0.2:7101");   /* the genesis address */
    assert_string_equal(g_cfg.api.listen, "127.0.0.1:8101");  /* loopback by default */
    assert_int_equal(g_cfg.block.max_txs, 500);
    g_cfg.block.max_txs = 501;
    assert_int_equal(config_apply_genesis(&g_cfg, loaded, &idx, reason, sizeof reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(reason, "block.max_txs: 501 exceeds"));
    g_cfg.block.max_txs = 500;
    snprintf(g_cfg.city, sizeof g_cfg.city, "qingdao");
    /* A city that joined by governance is not in the genesis: it names its own addresses. */
    assert_int_equal(config_apply_genesis(&g_cfg, loaded, &idx, reason, sizeof reason), QC_OK);
    assert_int_equal(idx, UINT32_MAX);
    g_cfg.api.listen[0] = '\0';
    assert_int_equal(config_apply_genesis(&g_cfg, loaded, &idx, reason, sizeof reason),
                     QC_ERR_MEMBER);
    assert_non_null(strstr(reason, "\"qingdao\" is not a member of chain cfg-test's genesis"));

    /* Errors from a file name the file. */
    const char bad[] = "{\"city\":\"zibo\",\"genesis\":1}";
    tdir_write(path, city, "node.json", bad, sizeof bad - 1, 0644);
    assert_int_equal(config_load(path, &g_cfg, reason, sizeof reason), QC_ERR_INVALID);
    assert_non_null(strstr(reason, path));
    assert_non_null(strstr(reason, "genesis: expected a string"));
    tdir_path(path, city, "none.json");
    assert_int_equal(config_load(path, &g_cfg, reason, sizeof reason), QC_ERR_NOTFOUND);
    assert_non_null(strstr(reason, "none.json: no such file"));
    tdir_remove(dir);
    free(g);
    free(loaded);
}

static void test_write_refuses_invalid_and_existing(void **state) {
    (void)state;
    char dir[TDIR_PATH_MAX], path[TDIR_PATH_MAX], reason[256] = "";
    tdir_make(dir, "config");
    tdir_path(path, dir, "node.json");
    config_defaults(&g_cfg);
    /* No city: a config this build would refuse is never written. */
    assert_int_equal(config_write(path, &g_cfg, true, reason, sizeof reason), QC_ERR_INVALID);
    assert_non_null(strstr(reason, "city: missing field"));
    snprintf(g_cfg.city, sizeof g_cfg.city, "dezhou");
    snprintf(g_cfg.genesis_path, sizeof g_cfg.genesis_path, "g.json");
    assert_int_equal(config_write(path, &g_cfg, true, reason, sizeof reason), QC_OK);
    assert_int_equal(config_write(path, &g_cfg, true, reason, sizeof reason), QC_ERR_EXISTS);
    assert_int_equal(config_write(path, &g_cfg, false, reason, sizeof reason), QC_OK);
    assert_int_equal(config_load(path, &g_cfg, reason, sizeof reason), QC_OK);
    assert_string_equal(g_cfg.city, "dezhou");
    tdir_remove(dir);
}

static void test_log_levels(void **state) {
    (void)state;
    qc_log_level_t l;
    for (int i = QC_LOG_DEBUG; i <= QC_LOG_OFF; i++) {
        assert_int_equal(config_log_level_parse(config_log_level_name((qc_log_level_t)i), &l),
                         QC_OK);
        assert_int_equal(l, i);
    }
    assert_int_equal(config_log_level_parse("INFO", &l), QC_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_gets_defaults),
        cmocka_unit_test(test_every_field_parsed),
        cmocka_unit_test(test_refusals_name_the_key),
        cmocka_unit_test(test_load_resolves_against_file_dir),
        cmocka_unit_test(test_write_refuses_invalid_and_existing),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
