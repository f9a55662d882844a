/* test_genesis.c - the genesis file: canonical writing, strict loading (every refusal path
 * names its field), and the genesis hash over the exact file bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "genesis.h"
#include "tdir.h"
#include "testkeys.h"

static const char *const k_display[9] = {"Jinan 济南",   "Zibo 淄博",     "Tai'an 泰安",
                                         "Liaocheng 聊城", "Dezhou 德州",   "Binzhou 滨州",
                                         "Dongying 东营",  "Jining 济宁",   "Heze 菏泽"};

/* A valid genesis of n (<= 9) cities with deterministic keys. */
static void build(genesis_t *g, uint32_t n) {
    genesis_init(g, "qchain-test", 1700000000000ull);
    g->consensus.checkpoint_interval = 64; /* explicit: the cases below depend on them */
    g->consensus.window = 128;
    for (uint32_t i = 0; i < n; i++) {
        qc_pubkey_t pk[3];
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_NODE, i, &pk[0], &sk);
        testkeys_keypair(TESTKEY_SEAL, i, &pk[1], &sk);
        testkeys_keypair(TESTKEY_ADMIN, i, &pk[2], &sk);
        char p2p[32], api[32];
        snprintf(p2p, sizeof p2p, "127.0.0.1:%u", 7101 + i);
        snprintf(api, sizeof api, "127.0.0.1:%u", 8101 + i);
        assert_int_equal(genesis_add_member(g, testkeys_city_names[i], k_display[i], &pk[0],
                                            &pk[1], &pk[2], p2p, api),
                         QC_OK);
    }
}

/* The canonical text of a valid 9-city genesis, parsed back into a jansson tree. */
static json_t *valid_tree(void) {
    genesis_t *g = malloc(sizeof *g);
    assert_non_null(g);
    build(g, 9);
    char *text;
    size_t len;
    assert_int_equal(genesis_encode(g, &text, &len, NULL, 0), QC_OK);
    json_t *root = json_loadb(text, len, 0, NULL);
    assert_non_null(root);
    free(text);
    free(g);
    return root;
}

/* Parses root's serialisation, expecting err and a reason containing want. */
static void expect_refused(json_t *root, const char *want) {
    char *text = json_dumps(root, 0);
    assert_non_null(text);
    genesis_t *g = malloc(sizeof *g);
    char reason[512] = "";
    assert_non_null(g);
    assert_int_equal(genesis_parse(text, strlen(text), g, reason, sizeof reason), QC_ERR_INVALID);
    if (strstr(reason, want) == NULL) fail_msg("reason \"%s\" lacks \"%s\"", reason, want);
    assert_int_equal(g->validators.n, 0); /* nothing half-filled */
    free(g);
    free(text);
}

static void test_roundtrip(void **state) {
    (void)state;
    genesis_t *g = malloc(sizeof *g), *h = malloc(sizeof *h);
    assert_non_null(g);
    assert_non_null(h);
    build(g, 9);
    char *text;
    size_t len;
    assert_int_equal(genesis_encode(g, &text, &len, NULL, 0), QC_OK);
    assert_int_equal(text[len - 1], '\n');
    assert_int_equal(genesis_parse(text, len, h, NULL, 0), QC_OK);
    assert_int_equal(h->version, 1);
    assert_string_equal(h->chain_id, "qchain-test");
    assert_int_equal(h->genesis_time_ms, 1700000000000ull);
    assert_int_equal(h->validators.n, 9);
    assert_int_equal(h->validators.epoch, 0);
    assert_int_equal(h->validators.governance_threshold, qc_quorum(9)); /* default */
    assert_memory_equal(&h->validators, &g->validators, sizeof g->validators);
    assert_memory_equal(h->info, g->info, sizeof g->info);
    assert_memory_equal(&h->consensus, &g->consensus, sizeof g->consensus);
    assert_string_equal(h->info[2].display_name, "Tai'an 泰安");
    assert_int_equal(genesis_find_member(h, "heze"), 8);
    assert_int_equal(genesis_find_member(h, "qingdao"), -1);
    assert_memory_equal(genesis_member_key(h, 3, KEYS_ROLE_SEAL)->b,
                        h->validators.members[3].seal_key.b, QC_PUBKEY_BYTES);
    /* UTF-8 display names are written as UTF-8, not escaped. */
    assert_non_null(strstr(text, "\"Jinan 济南\""));
    /* Encoding is canonical: the same genesis encodes to the same bytes. */
    char *again;
    size_t again_len;
    assert_int_equal(genesis_encode(h, &again, &again_len, NULL, 0), QC_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, text, len);
    free(again);
    free(text);
    free(g);
    free(h);
}

static void test_hash_is_over_exact_bytes(void **state) {
    (void)state;
    genesis_t *g = malloc(sizeof *g), *h = malloc(sizeof *h);
    assert_non_null(g);
    assert_non_null(h);
    build(g, 4);
    char *text;
    size_t len;
    assert_int_equal(genesis_encode(g, &text, &len, NULL, 0), QC_OK);
    qc_hash_t expect;
    qc_hash_ctx(&expect, QC_CTX_GENESIS, text, len);
    assert_memory_equal(g->hash.b, expect.b, QC_HASH_BYTES);
    assert_int_equal(genesis_parse(text, len, h, NULL, 0), QC_OK);
    assert_memory_equal(h->hash.b, expect.b, QC_HASH_BYTES);
    assert_int_equal(genesis_parse(text, len, h, NULL, 0), QC_OK); /* stable */
    assert_memory_equal(h->hash.b, expect.b, QC_HASH_BYTES);
    /* Same meaning, different bytes (no final newline): a different chain identity. */
    assert_int_equal(genesis_parse(text, len - 1, h, NULL, 0), QC_OK);
    assert_memory_not_equal(h->hash.b, expect.b, QC_HASH_BYTES);
    free(text);
    free(g);
    free(h);
}

static void test_write_and_load(void **state) {
    (void)state;
    char dir[TDIR_PATH_MAX], path[TDIR_PATH_MAX], reason[512];
    genesis_t *g = malloc(sizeof *g), *h = malloc(sizeof *h);
    assert_non_null(g);
    assert_non_null(h);
    tdir_make(dir, "genesis");
    tdir_path(path, dir, "genesis.json");
    build(g, 5);
    g->validators.governance_threshold = 5;
    assert_int_equal(genesis_write(path, g, true, reason, sizeof reason), QC_OK);
    assert_int_equal(tdir_mode(path), 0644);
    assert_int_equal(genesis_write(path, g, true, reason, sizeof reason), QC_ERR_EXISTS);
    assert_non_null(strstr(reason, path));
    assert_int_equal(genesis_load(path, h, reason, sizeof reason), QC_OK);
    assert_int_equal(h->validators.governance_threshold, 5);
    assert_memory_equal(h->hash.b, g->hash.b, QC_HASH_BYTES);
    size_t len;
    char *text = tdir_read(path, &len);
    qc_hash_t expect;
    qc_hash_ctx(&expect, QC_CTX_GENESIS, text, len);
    assert_memory_equal(h->hash.b, expect.b, QC_HASH_BYTES);
    free(text);
    /* Truncated file: refused, the reason names the file. */
    char *full = tdir_read(path, &len);
    tdir_write(NULL, dir, "genesis.json", full, len - 20, 0644);
    assert_int_equal(genesis_load(path, h, reason, sizeof reason), QC_ERR_INVALID);
    assert_non_null(strstr(reason, path));
    assert_non_null(strstr(reason, "not valid JSON"));
    free(full);
    tdir_path(path, dir, "missing.json");
    assert_int_equal(genesis_load(path, h, reason, sizeof reason), QC_ERR_NOTFOUND);
    assert_non_null(strstr(reason, "missing.json: no such file"));
    tdir_remove(dir);
    free(g);
    free(h);
}

static void test_encode_refuses_invalid(void **state) {
    (void)state;
    genesis_t *g = malloc(sizeof *g);
    char reason[512];
    assert_non_null(g);
    build(g, 4);
    snprintf(g->validators.members[3].name, sizeof g->validators.members[3].name, "jinan");
    char *text = (char *)1;
    size_t len = 1;
    assert_int_equal(genesis_encode(g, &text, &len, reason, sizeof reason), QC_ERR_INVALID);
    assert_null(text);
    assert_int_equal(len, 0);
    assert_non_null(strstr(reason, "members[3].name: \"jinan\" is already used by members[0]"));
    /* Adding beyond the limit and over-long strings are refused at once. */
    build(g, 4);
    qc_pubkey_t k = g->validators.members[0].node_key;
    assert_int_equal(genesis_add_member(g, "a-name-that-is-much-longer-than-32-bytes", "x", &k,
                                        &k, &k, "h:1", "h:2"),
                     QC_ERR_INVALID);
    assert_int_equal(g->validators.n, 4);
    g->validators.n = QC_VALIDATORS_MAX;
    assert_int_equal(genesis_add_member(g, "x", "x", &k, &k, &k, "h:1", "h:2"), QC_ERR_FULL);
    free(g);
}

/* Sets root[path...] = val (stolen) where path is "a" or "a.b" or "members.3.node_key". */
static void set_at(json_t *root, const char *path, json_t *val) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *obj = root;
    char *save = NULL, *tok = strtok_r(buf, ".", &save);
    for (char *next; (next = strtok_r(NULL, ".", &save)) != NULL; tok = next) {
        obj = json_is_array(obj) ? json_array_get(obj, (size_t)atoi(tok)) : json_object_get(obj, tok);
        assert_non_null(obj);
    }
    if (json_is_array(obj)) assert_int_equal(json_array_set_new(obj, (size_t)atoi(tok), val), 0);
    else if (val == NULL) assert_int_equal(json_object_del(obj, tok), 0);
    else assert_int_equal(json_object_set_new(obj, tok, val), 0);
}

static void test_field_errors(void **state) {
    (void)state;
    static const struct {
        const char *path;
        const char *json; /* NULL deletes the field */
        const char *want;
    } cases[] = {
        {"members.3.node_key", "\"zz\"", "members[3].node_key: expected 64 hex chars"},
        {"members.3.node_key",
         "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"",
         "members[3].node_key: expected 64 hex chars"},
        {"members.2.seal_key", "12", "members[2].seal_key: expected 64 hex chars"},
        {"members.1.admin_key",
         "\"0100000000000000000000000000000000000000000000000000000000000000\"",
         "members[1].admin_key: not a valid Ed25519 public key"},
        {"members.4.name", "\"jinan\"", "members[4].name: \"jinan\" is already used by members[0]"},
        {"members.4.name", "\"Jinan\"", "members[4].name: expected 1..32 chars of [a-z0-9-]"},
        {"members.4.name", "\"-x\"", "members[4].name: expected"},
        {"members.4.name", "\"\"", "members[4].name: must not be empty"},
        {"members.0.display_name", "\"a\\u0001b\"", "members[0].display_name: contains a control"},
        {"members.0.display_name", "7", "members[0].display_name: expected a string"},
        {"members.5.p2p_address", "\"127.0.0.1:7101\"",
         "members[5].p2p_address: 127.0.0.1:7101 is already used by members[0]"},
        {"members.5.api_address", "\"127.0.0.1:8101\"", "members[5].api_address: 127.0.0.1:8101"},
        {"members.5.p2p_address", "\"127.0.0.1\"", "members[5].p2p_address: expected \"host:port\""},
        {"members.5.p2p_address", "\"127.0.0.1:0\"", "members[5].p2p_address: expected"},
        {"members.5.p2p_address", "\"127.0.0.1:65536\"", "members[5].p2p_address: expected"},
        {"members.5.p2p_address", "\"host name:80\"", "members[5].p2p_address: expected"},
        {"members.5.api_address", NULL, "members[5].api_address: missing field"},
        {"members.6.city", "\"x\"", "members[6].city: unknown field"},
        {"members.6", "\"jinan\"", "members[6]: expected an object"},
        {"extra", "1", "extra: unknown field"},
        {"consensus.extra", "1", "consensus.extra: unknown field"},
        {"governance.quorum", "1", "governance.quorum: unknown field"},
        {"chain_id", NULL, "chain_id: missing field"},
        {"chain_id", "\"has space\"", "chain_id: expected 1..64 chars"},
        {"chain_id", "[]", "chain_id: expected a string"},
        {"version", "2", "version: 2 is not supported"},
        {"version", "\"1\"", "version: expected an integer"},
        {"genesis_time_ms", "1.5", "genesis_time_ms: expected an integer"},
        {"genesis_time_ms", "-1", "genesis_time_ms: -1 is out of range"},
        {"members", "{}", "members: expected an array"},
        {"consensus", NULL, "consensus: missing field"},
        {"consensus", "[]", "consensus: expected an object"},
        {"consensus.window", "true", "consensus.window: expected an integer"},
        {"consensus.window", "100", "consensus.window: 100 is less than 2 * checkpoint_interval (64)"},
        {"consensus.checkpoint_interval", "0", "consensus.checkpoint_interval: 0 is out of range"},
        {"consensus.view_timeout_ms", "10", "consensus.view_timeout_ms: 10 is out of range"},
        {"consensus.block_max_txs", "0", "consensus.block_max_txs: 0 is out of range"},
        {"consensus.block_max_txs", "8193", "consensus.block_max_txs: 8193 is out of range"},
        {"consensus.block_interval_ms", NULL, "consensus.block_interval_ms: missing field"},
        {"governance", NULL, "governance: missing field"},
        {"governance.threshold", NULL, "governance.threshold: missing field"},
        {"governance.threshold", "0", "governance.threshold: 0 is out of range 1..9"},
        {"governance.threshold", "10", "governance.threshold: 10 is out of range 1..9"},
        {"governance.threshold", "\"6\"", "governance.threshold: expected an integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *root = valid_tree();
        json_t *val = NULL;
        if (cases[i].json != NULL) {
            json_error_t e;
            val = json_loads(cases[i].json, JSON_DECODE_ANY, &e);
            if (val == NULL) fail_msg("case %zu: bad test JSON %s", i, cases[i].json);
        }
        set_at(root, cases[i].path, val);
        expect_refused(root, cases[i].want);
        json_decref(root);
    }
}

static void test_key_reuse_refused(void **state) {
    (void)state;
    /* The same key in two members, and in two roles of one member. */
    json_t *root = valid_tree();
    json_t *m0 = json_array_get(json_object_get(root, "members"), 0);
    set_at(root, "members.7.seal_key", json_deep_copy(json_object_get(m0, "node_key")));
    expect_refused(root, "members[7].seal_key: the same key as members[0].node_key");
    json_decref(root);
    root = valid_tree();
    m0 = json_array_get(json_object_get(root, "members"), 0);
    set_at(root, "members.0.admin_key", json_deep_copy(json_object_get(m0, "seal_key")));
    expect_refused(root, "members[0].admin_key: the same key as members[0].seal_key");
    json_decref(root);
}

static void test_member_count_limits(void **state) {
    (void)state;
    json_t *root = valid_tree();
    json_t *members = json_object_get(root, "members");
    for (int i = 0; i < 6; i++) json_array_remove(members, json_array_size(members) - 1);
    set_at(root, "governance.threshold", json_integer(2));
    expect_refused(root, "members: has 3 elements, expected 4 to 64");
    json_array_clear(members);
    expect_refused(root, "members: has 0 elements");
    json_decref(root);
}

static void test_not_json(void **state) {
    (void)state;
    genesis_t *g = malloc(sizeof *g);
    char reason[256];
    assert_non_null(g);
    static const char *const bad[] = {"", "hello", "{", "[]", "42", "{\"version\":1,}",
                                      "{\"version\":1,\"version\":1}"};
    static const char *const want[] = {"not valid JSON", "not valid JSON", "not valid JSON",
                                       "expected a JSON object", "not valid JSON",
                                       "not valid JSON", "duplicate"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(genesis_parse(bad[i], strlen(bad[i]), g, reason, sizeof reason),
                         QC_ERR_INVALID);
        if (strstr(reason, want[i]) == NULL) fail_msg("\"%s\": reason \"%s\"", bad[i], reason);
    }
    /* Every strict prefix of a valid genesis is refused (never a crash or a partial load). */
    build(g, 4);
    char *text;
    size_t len;
    assert_int_equal(genesis_encode(g, &text, &len, NULL, 0), QC_OK);
    for (size_t cut = 0; cut + 2 < len; cut += 7) {
        assert_int_equal(genesis_parse(text, cut, g, NULL, 0), QC_ERR_INVALID);
    }
    free(text);
    free(g);
}

static void test_names_and_addresses(void **state) {
    (void)state;
    assert_true(genesis_name_valid("jinan"));
    assert_true(genesis_name_valid("city-9"));
    assert_false(genesis_name_valid("city-"));
    assert_false(genesis_name_valid("Tai'an"));
    assert_false(genesis_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */
    assert_true(jsonv_addr_valid("127.0.0.1:7101"));
    assert_true(jsonv_addr_valid("node1.jinan.example:443"));
    assert_true(jsonv_addr_valid("[::1]:8101"));
    assert_false(jsonv_addr_valid("[::1:8101"));
    assert_false(jsonv_addr_valid(":8101"));
    assert_false(jsonv_addr_valid("host:08101"));
    assert_false(jsonv_addr_valid("host:+81"));
    assert_int_equal(jsonv_addr_port("127.0.0.1:65535"), 65535);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_hash_is_over_exact_bytes),
        cmocka_unit_test(test_write_and_load),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_key_reuse_refused),
        cmocka_unit_test(test_member_count_limits),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_names_and_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
