/* test_keys.c - key files: roundtrips, modes, permission refusal, encryption with right and
 * wrong passphrases, corrupted and mislabelled files, passphrase input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "keys.h"
#include "tdir.h"

typedef struct {
    char dir[TDIR_PATH_MAX];
    char reason[512];
    keys_kdf_t fast; /* Argon2id at its minimum cost so the suite stays fast */
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    if (fx == NULL) return -1;
    tdir_make(fx->dir, "keys");
    assert_int_equal(keys_kdf_parse("min", &fx->fast), QC_OK);
    unsetenv(KEYS_PASSPHRASE_ENV);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    tdir_remove(fx->dir);
    free(fx);
    unsetenv(KEYS_PASSPHRASE_ENV);
    return 0;
}

/* Writes a fresh key of role to dir/name (encrypted if passphrase); returns the pair. */
static void make_key(fx_t *fx, const char *name, keys_role_t role, const char *passphrase,
                     keys_pair_t *kp, char path[TDIR_PATH_MAX]) {
    tdir_path(path, fx->dir, name);
    assert_int_equal(keys_generate(role, kp), QC_OK);
    assert_int_equal(keys_write_secret(path, kp, passphrase, &fx->fast, fx->reason,
                                       sizeof fx->reason),
                     QC_OK);
}

/* Rewrites a key file's JSON field key to val (stolen; NULL deletes the field). */
static void mutate(const char *path, const char *key, json_t *val) {
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    assert_non_null(root);
    if (val != NULL) json_object_set_new(root, key, val);
    else json_object_del(root, key);
    assert_int_equal(json_dump_file(root, path, 0), 0);
    json_decref(root);
    assert_int_equal(chmod(path, 0600), 0);
}

static void test_roundtrip_plaintext(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp, got;
    char path[TDIR_PATH_MAX], pub[TDIR_PATH_MAX];
    make_key(fx, "seal.key", KEYS_ROLE_SEAL, NULL, &kp, path);
    assert_int_equal(tdir_mode(path), 0600);
    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_SEAL, &got, fx->reason,
                                      sizeof fx->reason),
                     QC_OK);
    assert_int_equal(got.role, KEYS_ROLE_SEAL);
    assert_memory_equal(got.pk.b, kp.pk.b, QC_PUBKEY_BYTES);
    assert_memory_equal(got.sk.b, kp.sk.b, QC_SECKEY_BYTES);
    assert_false(keys_file_encrypted(path));

    /* The loaded secret signs what the public key verifies. */
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)"record", 6, got.sk.b);
    assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"record", 6, kp.pk.b), 0);

    /* The same file may be loaded with "any role". */
    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_ANY, &got, NULL, 0), QC_OK);

    /* Public key file: 0644, same key, role reported. */
    assert_int_equal(keys_public_path(path, pub, sizeof pub), QC_OK);
    assert_int_equal(keys_write_public(pub, KEYS_ROLE_SEAL, &kp.pk, fx->reason,
                                       sizeof fx->reason),
                     QC_OK);
    assert_int_equal(tdir_mode(pub), 0644);
    qc_pubkey_t pk;
    keys_role_t role = KEYS_ROLE_NODE;
    assert_int_equal(keys_load_public(pub, KEYS_ROLE_SEAL, &pk, &role, NULL, 0), QC_OK);
    assert_memory_equal(pk.b, kp.pk.b, QC_PUBKEY_BYTES);
    assert_int_equal(role, KEYS_ROLE_SEAL);
    keys_pair_wipe(&got);
    assert_true(sodium_is_zero(got.sk.b, QC_SECKEY_BYTES));
}

static void test_never_replaces(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp, other;
    char path[TDIR_PATH_MAX];
    make_key(fx, "node.key", KEYS_ROLE_NODE, NULL, &kp, path);
    assert_int_equal(keys_generate(KEYS_ROLE_NODE, &other), QC_OK);
    assert_int_equal(keys_write_secret(path, &other, NULL, NULL, fx->reason, sizeof fx->reason),
                     QC_ERR_EXISTS);
    assert_non_null(strstr(fx->reason, path));
    keys_pair_t got;
    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_NODE, &got, NULL, 0), QC_OK);
    assert_memory_equal(got.pk.b, kp.pk.b, QC_PUBKEY_BYTES);
}

static void test_group_or_world_access_refused(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp, got;
    char path[TDIR_PATH_MAX];
    make_key(fx, "admin.key", KEYS_ROLE_ADMIN, NULL, &kp, path);
    static const unsigned modes[] = {0644, 0640, 0604, 0602, 0620};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        fx->reason[0] = '\0';
        assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_ADMIN, &got, fx->reason,
                                          sizeof fx->reason),
                         QC_ERR_PERM);
        assert_non_null(strstr(fx->reason, path));
        assert_non_null(strstr(fx->reason, "chmod 600"));
        assert_true(sodium_is_zero(got.sk.b, QC_SECKEY_BYTES));
    }
    assert_int_equal(chmod(path, 0400), 0); /* read-only for the owner is fine */
    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_ADMIN, &got, NULL, 0), QC_OK);
}

static void test_encrypted_right_and_wrong_passphrase(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp, got;
    char path[TDIR_PATH_MAX];
    make_key(fx, "seal.key", KEYS_ROLE_SEAL, "correct horse battery staple", &kp, path);
    assert_int_equal(tdir_mode(path), 0600);
    assert_true(keys_file_encrypted(path));

    /* Neither the seed nor the whole secret appears in the file. */
    char seed_hex[2 * KEYS_SEED_BYTES + 1];
    qc_hex_encode(seed_hex, kp.sk.b, KEYS_SEED_BYTES);
    char *text = tdir_read(path, NULL);
    assert_null(strstr(text, seed_hex));
    assert_non_null(strstr(text, "\"argon2id\""));
    free(text);

    assert_int_equal(keys_load_secret(path, "correct horse battery staple", KEYS_ROLE_SEAL, &got,
                                      fx->reason, sizeof fx->reason),
                     QC_OK);
    assert_memory_equal(got.sk.b, kp.sk.b, QC_SECKEY_BYTES);

    assert_int_equal(keys_load_secret(path, "Correct horse battery staple", KEYS_ROLE_SEAL, &got,
                                      fx->reason, sizeof fx->reason),
                     QC_ERR_CRYPTO);
    assert_non_null(strstr(fx->reason, "wrong passphrase"));
    assert_non_null(strstr(fx->reason, path));
    assert_true(sodium_is_zero(got.sk.b, QC_SECKEY_BYTES));

    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_SEAL, &got, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, KEYS_PASSPHRASE_ENV));

    /* An empty passphrase is never used for encryption. */
    char other[TDIR_PATH_MAX];
    tdir_path(other, fx->dir, "empty.key");
    assert_int_equal(keys_write_secret(other, &kp, "", &fx->fast, NULL, 0), QC_ERR_INVALID);
    assert_int_equal(access(other, F_OK), -1);
}

static void test_encrypted_tampering(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp, got;
    char path[TDIR_PATH_MAX];
    make_key(fx, "node.key", KEYS_ROLE_NODE, "pw", &kp, path);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    assert_non_null(root);
    json_t *enc = json_deep_copy(json_object_get(root, "encrypted"));
    json_decref(root);

    /* A flipped ciphertext nibble fails authentication: same error as a wrong passphrase. */
    char ct[2 * (KEYS_SEED_BYTES + 16) + 1];
    snprintf(ct, sizeof ct, "%s", json_string_value(json_object_get(enc, "ciphertext")));
    ct[5] = ct[5] == '0' ? '1' : '0';
    json_t *bad = json_deep_copy(enc);
    json_object_set_new(bad, "ciphertext", json_string(ct));
    mutate(path, "encrypted", bad);
    assert_int_equal(keys_load_secret(path, "pw", KEYS_ROLE_NODE, &got, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_CRYPTO);

    /* Absurd KDF costs are refused before any work is done. */
    bad = json_deep_copy(enc);
    json_object_set_new(bad, "memlimit", json_integer((json_int_t)1 << 40));
    mutate(path, "encrypted", bad);
    assert_int_equal(keys_load_secret(path, "pw", KEYS_ROLE_NODE, &got, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "encrypted.memlimit"));

    bad = json_deep_copy(enc);
    json_object_set_new(bad, "kdf", json_string("scrypt"));
    mutate(path, "encrypted", bad);
    assert_int_equal(keys_load_secret(path, "pw", KEYS_ROLE_NODE, &got, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "encrypted.kdf"));

    bad = json_deep_copy(enc);
    json_object_set_new(bad, "nonce", json_string("00"));
    mutate(path, "encrypted", bad);
    assert_int_equal(keys_load_secret(path, "pw", KEYS_ROLE_NODE, &got, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "encrypted.nonce: expected 48 hex chars"));

    /* Restored, it loads again. */
    mutate(path, "encrypted", enc);
    assert_int_equal(keys_load_secret(path, "pw", KEYS_ROLE_NODE, &got, NULL, 0), QC_OK);
    assert_memory_equal(got.pk.b, kp.pk.b, QC_PUBKEY_BYTES);
}

/* Loads path expecting err and a reason containing want. */
static void expect_load_error(fx_t *fx, const char *path, keys_role_t expect, int err,
                              const char *want) {
    keys_pair_t got;
    fx->reason[0] = '\0';
    assert_int_equal(keys_load_secret(path, NULL, expect, &got, fx->reason, sizeof fx->reason),
                     err);
    if (strstr(fx->reason, want) == NULL) fail_msg("reason \"%s\" lacks \"%s\"", fx->reason, want);
    assert_true(sodium_is_zero(got.sk.b, QC_SECKEY_BYTES));
}

static void test_corrupted_plaintext(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp, other;
    char path[TDIR_PATH_MAX];
    make_key(fx, "seal.key", KEYS_ROLE_SEAL, NULL, &kp, path);
    size_t len;
    char *good = tdir_read(path, &len);

    /* Truncated, empty, not JSON. */
    tdir_write(NULL, fx->dir, "seal.key", good, len / 2, 0600);
    expect_load_error(fx, path, KEYS_ROLE_SEAL, QC_ERR_INVALID, "not valid JSON");
    tdir_write(NULL, fx->dir, "seal.key", "", 0, 0600);
    expect_load_error(fx, path, KEYS_ROLE_SEAL, QC_ERR_INVALID, "not valid JSON");
    tdir_write(NULL, fx->dir, "seal.key", "[1,2]", 5, 0600);
    expect_load_error(fx, path, KEYS_ROLE_SEAL, QC_ERR_INVALID, "object");

    /* Public key not matching the seed. */
    tdir_write(NULL, fx->dir, "seal.key", good, len, 0600);
    assert_int_equal(keys_generate(KEYS_ROLE_SEAL, &other), QC_OK);
    char hex[2 * QC_PUBKEY_BYTES + 1];
    qc_hex_encode(hex, other.pk.b, QC_PUBKEY_BYTES);
    mutate(path, "public", json_string(hex));
    expect_load_error(fx, path, KEYS_ROLE_SEAL, QC_ERR_CORRUPT, "does not match");

    /* Field-level damage. */
    static const struct {
        const char *key;
        const char *json; /* NULL: delete the field */
        const char *want;
    } cases[] = {
        {"seed", "\"zz\"", "seed: expected 64 hex chars"},
        {"seed", NULL, "exactly one of"},
        {"public", "42", "public: expected 64 hex chars"},
        {"version", "2", "version: 2 is not supported"},
        {"version", "\"1\"", "version: expected an integer"},
        {"kind", "\"ed25519-public\"", "kind: expected \"ed25519-secret\""},
        {"role", "\"root\"", "role: expected node, seal or admin"},
        {"role", "\"node\"", "this is a node key; a seal key is needed here"},
        {"extra", "true", "extra: unknown field"},
        {"encrypted", "{}", "exactly one of"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tdir_write(NULL, fx->dir, "seal.key", good, len, 0600);
        json_t *val = cases[i].json ? json_loads(cases[i].json, JSON_DECODE_ANY, NULL) : NULL;
        mutate(path, cases[i].key, val);
        expect_load_error(fx, path, KEYS_ROLE_SEAL, QC_ERR_INVALID, cases[i].want);
    }
    /* Duplicate JSON keys are refused outright. */
    const char dup[] = "{\"version\":1,\"version\":1}";
    tdir_write(NULL, fx->dir, "seal.key", dup, sizeof dup - 1, 0600);
    expect_load_error(fx, path, KEYS_ROLE_SEAL, QC_ERR_INVALID, "duplicate");
    expect_load_error(fx, "/nonexistent/qc.key", KEYS_ROLE_SEAL, QC_ERR_NOTFOUND, "no such file");
    free(good);
}

static void test_public_file_errors(void **state) {
    fx_t *fx = *state;
    keys_pair_t kp;
    char sec[TDIR_PATH_MAX], pub[TDIR_PATH_MAX];
    qc_pubkey_t pk;
    make_key(fx, "admin.key", KEYS_ROLE_ADMIN, NULL, &kp, sec);
    tdir_path(pub, fx->dir, "admin.pub");
    assert_int_equal(keys_write_public(pub, KEYS_ROLE_ADMIN, &kp.pk, NULL, 0), QC_OK);
    assert_int_equal(keys_write_public(pub, KEYS_ROLE_ADMIN, &kp.pk, NULL, 0), QC_ERR_EXISTS);
    assert_int_equal(keys_load_public(pub, KEYS_ROLE_NODE, &pk, NULL, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "this is a admin key; a node key is needed here"));
    /* A secret key file is not a public key file (and vice versa). */
    assert_int_equal(keys_load_public(sec, KEYS_ROLE_ADMIN, &pk, NULL, fx->reason,
                                      sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "kind: expected \"ed25519-public\", this file is \"ed25519-secret\""));
    assert_int_equal(chmod(pub, 0600), 0);
    expect_load_error(fx, pub, KEYS_ROLE_ADMIN, QC_ERR_INVALID, "kind: expected");
}

static void test_create_cleans_up(void **state) {
    fx_t *fx = *state;
    char sec[TDIR_PATH_MAX], pub[TDIR_PATH_MAX];
    qc_pubkey_t pk;
    tdir_path(sec, fx->dir, "x.key");
    tdir_write(pub, fx->dir, "x.pub", "taken", 5, 0644);
    assert_int_equal(keys_create(KEYS_ROLE_NODE, sec, pub, NULL, NULL, &pk, fx->reason,
                                 sizeof fx->reason),
                     QC_ERR_EXISTS);
    assert_int_equal(access(sec, F_OK), -1);
    unlink(pub);
    assert_int_equal(keys_create(KEYS_ROLE_NODE, sec, pub, NULL, NULL, &pk, NULL, 0), QC_OK);
    qc_pubkey_t from_pub;
    keys_pair_t kp;
    assert_int_equal(keys_load_public(pub, KEYS_ROLE_NODE, &from_pub, NULL, NULL, 0), QC_OK);
    assert_int_equal(keys_load_secret(sec, NULL, KEYS_ROLE_NODE, &kp, NULL, 0), QC_OK);
    assert_memory_equal(from_pub.b, pk.b, QC_PUBKEY_BYTES);
    assert_memory_equal(kp.pk.b, pk.b, QC_PUBKEY_BYTES);
}

static void test_passphrase_sources(void **state) {
    fx_t *fx = *state;
    char buf[64], file[TDIR_PATH_MAX];
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, fx->reason, sizeof fx->reason),
                     QC_ERR_NOTFOUND);
    assert_non_null(strstr(fx->reason, KEYS_PASSPHRASE_ENV));
    setenv(KEYS_PASSPHRASE_ENV, "from env", 1);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, NULL, 0), QC_OK);
    assert_string_equal(buf, "from env");
    setenv(KEYS_PASSPHRASE_ENV, "", 1);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, NULL, 0), QC_ERR_INVALID);
    setenv(KEYS_PASSPHRASE_ENV, "0123456789012345678901234567890123456789012345678901234567890123", 1);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, NULL, 0), QC_ERR_TOOBIG);

    /* A file wins over the environment; only its first line counts, CRLF stripped. */
    tdir_write(file, fx->dir, "pass", "from file\r\nsecond line\n", 23, 0600);
    assert_int_equal(keys_passphrase_get(file, buf, sizeof buf, NULL, 0), QC_OK);
    assert_string_equal(buf, "from file");
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(keys_passphrase_get(file, buf, sizeof buf, fx->reason, sizeof fx->reason),
                     QC_ERR_PERM);
    assert_non_null(strstr(fx->reason, "chmod 600"));
    tdir_write(file, fx->dir, "pass", "\nx\n", 3, 0600);
    assert_int_equal(keys_passphrase_get(file, buf, sizeof buf, NULL, 0), QC_ERR_INVALID);

    /* A directory is named with the OS's reason, not "I/O error". */
    assert_int_equal(chmod(fx->dir, 0700), 0);
    assert_int_equal(keys_passphrase_get(fx->dir, buf, sizeof buf, fx->reason, sizeof fx->reason),
                     QC_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "Is a directory"));
    unsetenv(KEYS_PASSPHRASE_ENV);
}

/* systemd's LoadCredential=qchain-passphrase:FILE: $CREDENTIALS_DIRECTORY/qchain-passphrase is
 * used when no file is named, before the environment; absent, the environment is used. */
static void test_passphrase_credential(void **state) {
    fx_t *fx = *state;
    char buf[64], file[TDIR_PATH_MAX], creds[TDIR_PATH_MAX + 8];
    snprintf(creds, sizeof creds, "%s/creds", fx->dir);
    assert_int_equal(mkdir(creds, 0700), 0);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    setenv(KEYS_PASSPHRASE_ENV, "from env", 1);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, NULL, 0), QC_OK);
    assert_string_equal(buf, "from env"); /* no credential file: the environment */
    tdir_write(file, creds, KEYS_PASSPHRASE_CREDENTIAL, "from systemd\n", 13, 0400);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, NULL, 0), QC_OK);
    assert_string_equal(buf, "from systemd");
    unsetenv(KEYS_PASSPHRASE_ENV);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, NULL, 0), QC_OK);
    assert_string_equal(buf, "from systemd");
    /* A named file still wins. */
    char named[TDIR_PATH_MAX];
    tdir_write(named, fx->dir, "named", "named\n", 6, 0600);
    assert_int_equal(keys_passphrase_get(named, buf, sizeof buf, NULL, 0), QC_OK);
    assert_string_equal(buf, "named");
    /* The credential obeys the same rules as a named file. */
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, fx->reason, sizeof fx->reason),
                     QC_ERR_PERM);
    assert_non_null(strstr(fx->reason, KEYS_PASSPHRASE_CREDENTIAL));
    unsetenv("CREDENTIALS_DIRECTORY");
    assert_int_equal(keys_passphrase_get(NULL, buf, sizeof buf, fx->reason, sizeof fx->reason),
                     QC_ERR_NOTFOUND);
    assert_non_null(strstr(fx->reason, "LoadCredential="));
}

/* A secret the process may not read is reported with the OS's reason ("Permission denied"),
 * never as a bare "I/O error": the unit in OPERATIONS.md once failed that way as User=qchain
 * with a root-only passphrase file. As root, a child drops to nobody to be refused. */
static void test_unreadable_reports_os_reason(void **state) {
    fx_t *fx = *state;
    char file[TDIR_PATH_MAX];
    tdir_write(file, fx->dir, "rootonly", "secret\n", 7, 0600);
    if (geteuid() != 0) {
        assert_int_equal(chmod(file, 0200), 0); /* owner may not read */
        char buf[64];
        assert_int_equal(keys_passphrase_get(file, buf, sizeof buf, fx->reason, sizeof fx->reason),
                         QC_ERR_IO);
        assert_non_null(strstr(fx->reason, "Permission denied"));
        assert_null(strstr(fx->reason, "I/O error"));
        return;
    }
    assert_int_equal(chmod(fx->dir, 0711), 0); /* nobody may pass through to the file */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[64], why[256];
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        int rc = keys_passphrase_get(file, buf, sizeof buf, why, sizeof why);
        _exit(rc == QC_ERR_IO && strstr(why, "Permission denied") != NULL &&
                      strstr(why, "I/O error") == NULL
                  ? 0
                  : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(chmod(fx->dir, 0700), 0);
}

static void test_names_and_seeds(void **state) {
    (void)state;
    keys_role_t r;
    assert_int_equal(keys_role_parse("admin", &r), QC_OK);
    assert_int_equal(r, KEYS_ROLE_ADMIN);
    assert_string_equal(keys_role_name(KEYS_ROLE_NODE), "node");
    assert_int_equal(keys_role_parse("Admin", &r), QC_ERR_INVALID);
    keys_kdf_t k;
    assert_int_equal(keys_kdf_parse("moderate", &k), QC_OK);
    assert_int_equal(k.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
    assert_int_equal(keys_kdf_parse("fast", &k), QC_ERR_INVALID);
    char pub[64];
    assert_int_equal(keys_public_path("a/node.key", pub, sizeof pub), QC_OK);
    assert_string_equal(pub, "a/node.pub");
    assert_int_equal(keys_public_path("a/secret", pub, sizeof pub), QC_OK);
    assert_string_equal(pub, "a/secret.pub");
    assert_int_equal(keys_public_path("a/very/long/name.key", pub, 8), QC_ERR_TOOBIG);

    /* Seeds are deterministic; RFC 8032 test 1: seed 9d61b1...7f60 -> public d75a98...511a. */
    uint8_t seed[32];
    keys_pair_t a;
    assert_int_equal(qc_hex_decode(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703"
                                             "bac031cae7f60"),
                     QC_OK);
    keys_from_seed(KEYS_ROLE_NODE, seed, &a);
    char hex[65];
    qc_hex_encode(hex, a.pk.b, 32);
    assert_string_equal(hex, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_or_world_access_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_right_and_wrong_passphrase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passphrase_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passphrase_credential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_reports_os_reason, setup, teardown),
        cmocka_unit_test(test_names_and_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
