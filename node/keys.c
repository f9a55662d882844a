/* keys.c - Ed25519 key generation and the secret/public key file formats (docs/GENESIS.md). */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "jsonv.h"

#define KEYS_FORMAT_VERSION 1
#define KIND_SECRET "ed25519-secret"
#define KIND_PUBLIC "ed25519-public"
#define CIPHERTEXT_BYTES (KEYS_SEED_BYTES + crypto_secretbox_MACBYTES)
#define KDF_OPSLIMIT_MAX 16ULL /* readers refuse more passes than this */

_Static_assert(KEYS_SALT_BYTES == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(KEYS_NONCE_BYTES == crypto_secretbox_NONCEBYTES, "nonce size");
_Static_assert(QC_SECKEY_BYTES == crypto_sign_SECRETKEYBYTES, "secret key size");
_Static_assert(KEYS_SEED_BYTES == crypto_sign_SEEDBYTES, "seed size");

static const char *const k_role_names[KEYS_ROLE_COUNT] = {"node", "seal", "admin"};

const char *keys_role_name(keys_role_t role) {
    if (role == KEYS_ROLE_ANY) return "any";
    QC_ASSERT(role >= 0 && role < KEYS_ROLE_COUNT);
    return k_role_names[role];
}

int keys_role_parse(const char *s, keys_role_t *out) {
    for (int i = 0; s != NULL && i < KEYS_ROLE_COUNT; i++) {
        if (strcmp(s, k_role_names[i]) == 0) {
            *out = (keys_role_t)i;
            return QC_OK;
        }
    }
    return QC_ERR_INVALID;
}

int keys_kdf_parse(const char *name, keys_kdf_t *out) {
    static const struct {
        const char *name;
        unsigned long long ops;
        size_t mem;
    } table[] = {
        {"min", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN},
        {"interactive", crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE},
        {"moderate", crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE},
        {"sensitive", crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE},
    };
    for (size_t i = 0; name != NULL && i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) == 0) {
            out->opslimit = table[i].ops;
            out->memlimit = table[i].mem;
            return QC_OK;
        }
    }
    return QC_ERR_INVALID;
}

keys_kdf_t keys_kdf_default(void) {
    keys_kdf_t k = {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
    return k;
}

void keys_from_seed(keys_role_t role, const uint8_t seed[KEYS_SEED_BYTES], keys_pair_t *out) {
    QC_ASSERT(role >= 0 && role < KEYS_ROLE_COUNT);
    out->role = role;
    crypto_sign_seed_keypair(out->pk.b, out->sk.b, seed);
}

int keys_generate(keys_role_t role, keys_pair_t *out) {
    if (qc_crypto_init() != QC_OK) return QC_ERR_CRYPTO;
    uint8_t seed[KEYS_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    keys_from_seed(role, seed, out);
    sodium_memzero(seed, sizeof seed);
    return QC_OK;
}

void keys_pair_wipe(keys_pair_t *kp) { sodium_memzero(kp, sizeof *kp); }

/* Overwrites the bytes of a jansson string in place (the library frees without wiping). */
static void wipe_json_string(json_t *s) {
    if (json_is_string(s)) sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

/* Refuses a secret file that group or others can access in any way. */
static int check_private_mode(const jsonv_t *v, const char *path, const char *what) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return jsonv_fail(v, QC_ERR_NOTFOUND, "no such file");
        return jsonv_fail(v, QC_ERR_IO, "cannot stat: %s", strerror(errno));
    }
    if ((st.st_mode & 077) != 0) {
        return jsonv_fail(v, QC_ERR_PERM,
                          "%s is accessible by group or others (mode %04o); refusing to use it. "
                          "Fix with: chmod 600 %s",
                          what, (unsigned)(st.st_mode & 07777), path);
    }
    return QC_OK;
}

/* Writes root to path with mode, never replacing; wipes the serialised text afterwards. */
static int write_json_file(const jsonv_t *v, const char *path, const json_t *root,
                           unsigned mode) {
    char *text;
    size_t len;
    int rc = jsonv_dump(root, &text, &len);
    if (rc != QC_OK) return jsonv_fail(v, rc, "out of memory");
    rc = jsonv_write_file(v, path, text, len, mode, true);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

/* Header fields shared by both file kinds: version, kind, role, public. */
static int parse_header(const jsonv_t *v, const json_t *root, const char *kind,
                        keys_role_t expect, keys_role_t *role, qc_pubkey_t *pk) {
    uint32_t version = 0;
    char kind_s[32], role_s[16];
    int rc = jsonv_u32(v, root, "", "version", true, 1, UINT32_MAX, &version);
    if (rc == QC_OK && version != KEYS_FORMAT_VERSION) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "version: %u is not supported (this build reads %d)",
                        version, KEYS_FORMAT_VERSION);
    }
    if (rc == QC_OK) rc = jsonv_string(v, root, "", "kind", true, sizeof kind_s - 1, kind_s);
    if (rc == QC_OK && strcmp(kind_s, kind) != 0) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "kind: expected \"%s\", this file is \"%s\"", kind,
                        kind_s);
    }
    if (rc == QC_OK) rc = jsonv_string(v, root, "", "role", true, sizeof role_s - 1, role_s);
    if (rc == QC_OK && keys_role_parse(role_s, role) != QC_OK) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "role: expected node, seal or admin");
    }
    if (rc == QC_OK && expect != KEYS_ROLE_ANY && *role != expect) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "this is a %s key; a %s key is needed here",
                        keys_role_name(*role), keys_role_name(expect));
    }
    if (rc == QC_OK) rc = jsonv_hex(v, root, "", "public", pk->b, QC_PUBKEY_BYTES);
    return rc;
}

/* Derives the secretbox key from passphrase and salt with Argon2id. */
static int derive_key(const jsonv_t *v, uint8_t key[crypto_secretbox_KEYBYTES],
                      const char *passphrase, const uint8_t salt[KEYS_SALT_BYTES],
                      const keys_kdf_t *kdf) {
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), salt,
                      kdf->opslimit, kdf->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return jsonv_fail(v, QC_ERR_NOMEM, "Argon2id failed (not enough memory for %zu bytes?)",
                          kdf->memlimit);
    }
    return QC_OK;
}

/* The "encrypted" object for seed under passphrase, or NULL (reason set). */
static json_t *encrypt_seed(const jsonv_t *v, const uint8_t seed[KEYS_SEED_BYTES],
                            const char *passphrase, const keys_kdf_t *kdf) {
    uint8_t salt[KEYS_SALT_BYTES], nonce[KEYS_NONCE_BYTES], ct[CIPHERTEXT_BYTES];
    uint8_t key[crypto_secretbox_KEYBYTES];
    char salt_hex[2 * KEYS_SALT_BYTES + 1], nonce_hex[2 * KEYS_NONCE_BYTES + 1];
    char ct_hex[2 * CIPHERTEXT_BYTES + 1];
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    if (derive_key(v, key, passphrase, salt, kdf) != QC_OK) return NULL;
    crypto_secretbox_easy(ct, seed, KEYS_SEED_BYTES, nonce, key);
    sodium_memzero(key, sizeof key);
    qc_hex_encode(salt_hex, salt, sizeof salt);
    qc_hex_encode(nonce_hex, nonce, sizeof nonce);
    qc_hex_encode(ct_hex, ct, sizeof ct);
    json_t *enc = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "kdf", KEYS_KDF_NAME, "opslimit",
                            (json_int_t)kdf->opslimit, "memlimit", (json_int_t)kdf->memlimit,
                            "salt", salt_hex, "nonce", nonce_hex, "ciphertext", ct_hex);
    if (enc == NULL) jsonv_fail(v, QC_ERR_NOMEM, "out of memory");
    return enc;
}

static int write_secret(const jsonv_t *v, const char *path, const keys_pair_t *kp,
                        const char *passphrase, const keys_kdf_t *kdf) {
    char pk_hex[2 * QC_PUBKEY_BYTES + 1], seed_hex[2 * KEYS_SEED_BYTES + 1];
    json_t *root = NULL, *secret = NULL;
    int rc = QC_ERR_NOMEM;
    qc_hex_encode(pk_hex, kp->pk.b, QC_PUBKEY_BYTES);
    if (passphrase != NULL) {
        if (passphrase[0] == '\0') return jsonv_fail(v, QC_ERR_INVALID, "empty passphrase");
        keys_kdf_t def = keys_kdf_default();
        secret = encrypt_seed(v, kp->sk.b, passphrase, kdf != NULL ? kdf : &def);
        if (secret == NULL) return QC_ERR_NOMEM;
    } else {
        qc_hex_encode(seed_hex, kp->sk.b, KEYS_SEED_BYTES);
        secret = json_string(seed_hex);
        sodium_memzero(seed_hex, sizeof seed_hex);
        if (secret == NULL) goto fail;
    }
    json_t *secret_ref = secret; /* kept to wipe after json_pack steals it */
    root = json_pack("{s:i, s:s, s:s, s:s, s:o}", "version", KEYS_FORMAT_VERSION, "kind",
                     KIND_SECRET, "role", keys_role_name(kp->role), "public", pk_hex,
                     passphrase != NULL ? "encrypted" : "seed", secret);
    secret = NULL; /* "o" steals the reference even on failure */
    if (root == NULL) goto fail;
    rc = write_json_file(v, path, root, KEYS_SECRET_MODE);
    wipe_json_string(secret_ref);
fail:
    if (rc == QC_ERR_NOMEM) jsonv_fail(v, rc, "out of memory");
    json_decref(secret);
    json_decref(root);
    return rc;
}

int keys_write_secret(const char *path, const keys_pair_t *kp, const char *passphrase,
                      const keys_kdf_t *kdf, char *reason, size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    QC_ASSERT(kp->role >= 0 && kp->role < KEYS_ROLE_COUNT);
    int rc = qc_crypto_init() == QC_OK ? QC_OK : jsonv_fail(&v, QC_ERR_CRYPTO, "libsodium init");
    if (rc == QC_OK) rc = write_secret(&v, path, kp, passphrase, kdf);
    if (rc != QC_OK) jsonv_prefix(&v, path);
    return rc;
}

int keys_write_public(const char *path, keys_role_t role, const qc_pubkey_t *pk, char *reason,
                      size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    char pk_hex[2 * QC_PUBKEY_BYTES + 1];
    qc_hex_encode(pk_hex, pk->b, QC_PUBKEY_BYTES);
    json_t *root = json_pack("{s:i, s:s, s:s, s:s}", "version", KEYS_FORMAT_VERSION, "kind",
                             KIND_PUBLIC, "role", keys_role_name(role), "public", pk_hex);
    int rc = root != NULL ? write_json_file(&v, path, root, KEYS_PUBLIC_MODE)
                          : jsonv_fail(&v, QC_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (rc != QC_OK) jsonv_prefix(&v, path);
    return rc;
}

int keys_create(keys_role_t role, const char *secret_path, const char *public_path,
                const char *passphrase, const keys_kdf_t *kdf, qc_pubkey_t *pk_out,
                char *reason, size_t reason_cap) {
    keys_pair_t kp;
    jsonv_t v = {reason, reason_cap};
    /* Check the public path first so a taken name does not leave a secret file behind. */
    if (access(public_path, F_OK) == 0) {
        jsonv_fail(&v, QC_ERR_EXISTS, "already exists; refusing to replace it");
        jsonv_prefix(&v, public_path);
        return QC_ERR_EXISTS;
    }
    int rc = keys_generate(role, &kp);
    if (rc != QC_OK) return jsonv_fail(&v, rc, "libsodium init failed");
    rc = keys_write_secret(secret_path, &kp, passphrase, kdf, reason, reason_cap);
    if (rc == QC_OK) {
        rc = keys_write_public(public_path, role, &kp.pk, reason, reason_cap);
        if (rc != QC_OK) unlink(secret_path);
    }
    if (rc == QC_OK && pk_out != NULL) *pk_out = kp.pk;
    keys_pair_wipe(&kp);
    return rc;
}

int keys_public_path(const char *secret_path, char *out, size_t cap) {
    size_t n = strlen(secret_path);
    bool dot_key = n > 4 && strcmp(secret_path + n - 4, ".key") == 0;
    int w = dot_key ? snprintf(out, cap, "%.*s.pub", (int)(n - 4), secret_path)
                    : snprintf(out, cap, "%s.pub", secret_path);
    return w >= 0 && (size_t)w < cap ? QC_OK : QC_ERR_TOOBIG;
}

/* Opens the "encrypted" object into seed with passphrase. */
static int decrypt_seed(const jsonv_t *v, const json_t *enc, const char *passphrase,
                        uint8_t seed[KEYS_SEED_BYTES]) {
    static const char *const fields[] = {"kdf",  "opslimit", "memlimit", "salt",
                                         "nonce", "ciphertext", NULL};
    char kdf_name[16];
    keys_kdf_t kdf = {0, 0};
    uint64_t ops = 0, mem = 0;
    uint8_t salt[KEYS_SALT_BYTES], nonce[KEYS_NONCE_BYTES], ct[CIPHERTEXT_BYTES];
    uint8_t key[crypto_secretbox_KEYBYTES];
    int rc = jsonv_known_keys(v, enc, "encrypted", fields);
    if (rc == QC_OK) rc = jsonv_string(v, enc, "encrypted", "kdf", true, 15, kdf_name);
    if (rc == QC_OK && strcmp(kdf_name, KEYS_KDF_NAME) != 0) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "encrypted.kdf: expected \"%s\"", KEYS_KDF_NAME);
    }
    if (rc == QC_OK) {
        rc = jsonv_u64(v, enc, "encrypted", "opslimit", true, crypto_pwhash_OPSLIMIT_MIN,
                       KDF_OPSLIMIT_MAX, &ops);
        kdf.opslimit = ops;
    }
    if (rc == QC_OK) {
        rc = jsonv_u64(v, enc, "encrypted", "memlimit", true, crypto_pwhash_MEMLIMIT_MIN,
                       crypto_pwhash_MEMLIMIT_SENSITIVE, &mem);
        kdf.memlimit = (size_t)mem;
    }
    if (rc == QC_OK) rc = jsonv_hex(v, enc, "encrypted", "salt", salt, sizeof salt);
    if (rc == QC_OK) rc = jsonv_hex(v, enc, "encrypted", "nonce", nonce, sizeof nonce);
    if (rc == QC_OK) rc = jsonv_hex(v, enc, "encrypted", "ciphertext", ct, sizeof ct);
    if (rc != QC_OK) return rc;
    if (passphrase == NULL) {
        return jsonv_fail(v, QC_ERR_INVALID,
                          "the key is encrypted and no passphrase was given (set %s or pass "
                          "--passphrase-file)",
                          KEYS_PASSPHRASE_ENV);
    }
    rc = derive_key(v, key, passphrase, salt, &kdf);
    if (rc == QC_OK && crypto_secretbox_open_easy(seed, ct, sizeof ct, nonce, key) != 0) {
        rc = jsonv_fail(v, QC_ERR_CRYPTO, "wrong passphrase (or the encrypted key was altered)");
    }
    sodium_memzero(key, sizeof key);
    return rc;
}

static int load_secret(const jsonv_t *v, const char *path, const char *passphrase,
                       keys_role_t expect, keys_pair_t *out) {
    static const char *const fields[] = {"version", "kind", "role", "public",
                                         "seed",    "encrypted", NULL};
    uint8_t *buf = NULL, seed[KEYS_SEED_BYTES];
    size_t len = 0;
    json_t *root = NULL, *enc = NULL;
    qc_pubkey_t stored;
    keys_role_t role = KEYS_ROLE_NODE;
    int rc = check_private_mode(v, path, "secret key file");
    if (rc == QC_OK) rc = jsonv_read_file(v, path, KEYS_FILE_BYTES_MAX, &buf, &len);
    if (rc == QC_OK) rc = jsonv_parse(v, buf, len, &root);
    if (rc == QC_OK) rc = parse_header(v, root, KIND_SECRET, expect, &role, &stored);
    if (rc == QC_OK) rc = jsonv_known_keys(v, root, "", fields);
    if (rc == QC_OK) rc = jsonv_object(v, root, "", "encrypted", false, &enc);
    if (rc == QC_OK && (enc != NULL) == (json_object_get(root, "seed") != NULL)) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "expected exactly one of \"seed\" or \"encrypted\"");
    }
    if (rc == QC_OK && enc != NULL) rc = decrypt_seed(v, enc, passphrase, seed);
    if (rc == QC_OK && enc == NULL) rc = jsonv_hex(v, root, "", "seed", seed, sizeof seed);
    if (rc == QC_OK) {
        keys_from_seed(role, seed, out);
        if (sodium_memcmp(out->pk.b, stored.b, QC_PUBKEY_BYTES) != 0) {
            rc = jsonv_fail(v, QC_ERR_CORRUPT,
                            "\"public\" does not match the secret key (file corrupted?)");
        }
    }
    sodium_memzero(seed, sizeof seed);
    if (root != NULL) wipe_json_string(json_object_get(root, "seed"));
    json_decref(root);
    if (buf != NULL) sodium_memzero(buf, len);
    free(buf);
    return rc;
}

int keys_load_secret(const char *path, const char *passphrase, keys_role_t expect,
                     keys_pair_t *out, char *reason, size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    memset(out, 0, sizeof *out);
    int rc = qc_crypto_init() == QC_OK ? QC_OK : jsonv_fail(&v, QC_ERR_CRYPTO, "libsodium init");
    if (rc == QC_OK) rc = load_secret(&v, path, passphrase, expect, out);
    if (rc != QC_OK) {
        keys_pair_wipe(out);
        jsonv_prefix(&v, path);
    }
    return rc;
}

int keys_load_public(const char *path, keys_role_t expect, qc_pubkey_t *pk,
                     keys_role_t *role_out, char *reason, size_t reason_cap) {
    static const char *const fields[] = {"version", "kind", "role", "public", NULL};
    jsonv_t v = {reason, reason_cap};
    uint8_t *buf = NULL;
    size_t len = 0;
    json_t *root = NULL;
    keys_role_t role = KEYS_ROLE_NODE;
    int rc = jsonv_read_file(&v, path, KEYS_FILE_BYTES_MAX, &buf, &len);
    if (rc == QC_OK) rc = jsonv_parse(&v, buf, len, &root);
    /* The kind first, so a secret key file given here is named as such. */
    if (rc == QC_OK) rc = parse_header(&v, root, KIND_PUBLIC, expect, &role, pk);
    if (rc == QC_OK) rc = jsonv_known_keys(&v, root, "", fields);
    if (rc == QC_OK && role_out != NULL) *role_out = role;
    if (rc != QC_OK) jsonv_prefix(&v, path);
    json_decref(root);
    free(buf);
    return rc;
}

bool keys_file_encrypted(const char *path) {
    uint8_t *buf = NULL;
    size_t len = 0;
    json_t *root = NULL;
    bool enc = false;
    if (qc_file_read(path, KEYS_FILE_BYTES_MAX, &buf, &len) == QC_OK &&
        jsonv_parse(NULL, buf, len, &root) == QC_OK) {
        enc = json_is_object(json_object_get(root, "encrypted"));
        wipe_json_string(json_object_get(root, "seed"));
    }
    json_decref(root);
    if (buf != NULL) sodium_memzero(buf, len);
    free(buf);
    return enc;
}

static int passphrase_from_file(const jsonv_t *v, const char *file, char *buf, size_t cap) {
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = check_private_mode(v, file, "passphrase file");
    if (rc == QC_OK) rc = jsonv_read_file(v, file, KEYS_PASSPHRASE_MAX + 2, &data, &len);
    if (rc != QC_OK) return rc;
    size_t n = 0;
    while (n < len && data[n] != '\n' && data[n] != '\0') n++;
    if (n > 0 && data[n - 1] == '\r') n--;
    if (n == 0) rc = jsonv_fail(v, QC_ERR_INVALID, "the passphrase file's first line is empty");
    else if (n >= cap) rc = jsonv_fail(v, QC_ERR_TOOBIG, "passphrase longer than %zu bytes", cap - 1);
    else {
        memcpy(buf, data, n);
        buf[n] = '\0';
    }
    sodium_memzero(data, len);
    free(data);
    return rc;
}

int keys_passphrase_get(const char *file, char *buf, size_t cap, char *reason,
                        size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    QC_ASSERT(cap > 0);
    buf[0] = '\0';
    if (file != NULL) {
        int rc = passphrase_from_file(&v, file, buf, cap);
        if (rc != QC_OK) jsonv_prefix(&v, file);
        return rc;
    }
    const char *creds = getenv("CREDENTIALS_DIRECTORY"); /* systemd's LoadCredential= */
    if (creds != NULL && creds[0] != '\0') {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s", creds, KEYS_PASSPHRASE_CREDENTIAL);
        if (n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0) {
            int rc = passphrase_from_file(&v, path, buf, cap);
            if (rc != QC_OK) jsonv_prefix(&v, path);
            return rc;
        }
    }
    const char *env = getenv(KEYS_PASSPHRASE_ENV);
    if (env == NULL) {
        return jsonv_fail(&v, QC_ERR_NOTFOUND,
                          "no passphrase: set %s, pass --passphrase-file, or (under systemd) "
                          "LoadCredential=%s:FILE",
                          KEYS_PASSPHRASE_ENV, KEYS_PASSPHRASE_CREDENTIAL);
    }
    size_t n = strlen(env);
    if (n == 0) return jsonv_fail(&v, QC_ERR_INVALID, "%s is empty", KEYS_PASSPHRASE_ENV);
    if (n >= cap) {
        return jsonv_fail(&v, QC_ERR_TOOBIG, "%s is longer than %zu bytes", KEYS_PASSPHRASE_ENV,
                          cap - 1);
    }
    memcpy(buf, env, n + 1);
    return QC_OK;
}
