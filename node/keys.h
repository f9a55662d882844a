/* keys.h - a city's Ed25519 keys by role (node, seal, admin): generation, secret key files
 * (0600, optionally encrypted with a passphrase via Argon2id + XSalsa20-Poly1305 secretbox),
 * public key files, and passphrase input. File formats are in docs/GENESIS.md.
 *
 * Secrets: every function that handles secret bytes wipes its own copies (sodium_memzero)
 * before returning; the caller wipes its keys_pair_t with keys_pair_wipe. Nothing here logs a
 * secret or a passphrase. */
#ifndef QC_KEYS_H
#define QC_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "qc.h"

#define KEYS_FILE_BYTES_MAX 4096          /* a key file is a few hundred bytes */
#define KEYS_PASSPHRASE_MAX 1024          /* bytes, excluding the NUL */
#define KEYS_PASSPHRASE_ENV "QCHAIN_PASSPHRASE"
#define KEYS_SECRET_MODE 0600u
#define KEYS_PUBLIC_MODE 0644u
#define KEYS_KDF_NAME "argon2id"          /* Argon2id v1.3 as libsodium's crypto_pwhash */
#define KEYS_SALT_BYTES 16                /* crypto_pwhash_SALTBYTES */
#define KEYS_NONCE_BYTES 24               /* crypto_secretbox_NONCEBYTES */
#define KEYS_SEED_BYTES 32                /* Ed25519 seed: the whole secret */

typedef enum {
    KEYS_ROLE_ANY = -1,   /* only as an "expect" argument: accept any role */
    KEYS_ROLE_NODE = 0,   /* consensus votes and peer-link identity */
    KEYS_ROLE_SEAL = 1,   /* signs the city's transactions (anchored records) */
    KEYS_ROLE_ADMIN = 2,  /* signs governance */
} keys_role_t;
#define KEYS_ROLE_COUNT 3

/* "node", "seal", "admin"; "any" for KEYS_ROLE_ANY. Never NULL for a valid role. */
const char *keys_role_name(keys_role_t role);
/* Parses "node"/"seal"/"admin" into *out. QC_ERR_INVALID otherwise. */
int keys_role_parse(const char *s, keys_role_t *out);

/* One Ed25519 key pair with its role. sk is libsodium's form (seed || pk). */
typedef struct {
    keys_role_t role;
    qc_pubkey_t pk;
    qc_seckey_t sk;
} keys_pair_t;

/* Argon2id cost. Writers choose; readers accept any cost within libsodium's MIN..SENSITIVE
 * bounds (so a crafted file cannot ask for absurd memory or time). */
typedef struct {
    unsigned long long opslimit;
    size_t memlimit;  /* bytes */
} keys_kdf_t;

/* Named costs: "min" (tests only: ~8 KiB, 1 pass), "interactive" (64 MiB, the default),
 * "moderate" (256 MiB), "sensitive" (1 GiB). QC_ERR_INVALID for any other name. */
int keys_kdf_parse(const char *name, keys_kdf_t *out);
keys_kdf_t keys_kdf_default(void);

/* Generates a fresh pair for role from the OS CSPRNG. QC_ERR_CRYPTO if libsodium can't init. */
int keys_generate(keys_role_t role, keys_pair_t *out);
/* Derives the pair for role from a 32-byte seed (deterministic; for tests and recovery). */
void keys_from_seed(keys_role_t role, const uint8_t seed[KEYS_SEED_BYTES], keys_pair_t *out);
/* Wipes the whole pair. */
void keys_pair_wipe(keys_pair_t *kp);

/* Writes kp's secret key file at path, mode 0600, never replacing an existing file
 * (QC_ERR_EXISTS). passphrase NULL: plaintext file; otherwise encrypted with kdf (NULL: the
 * default cost). kp and passphrase are borrowed. reason (may be NULL) gets a sentence on error. */
int keys_write_secret(const char *path, const keys_pair_t *kp, const char *passphrase,
                      const keys_kdf_t *kdf, char *reason, size_t reason_cap);
/* Writes the public key file (mode 0644, never replacing). */
int keys_write_public(const char *path, keys_role_t role, const qc_pubkey_t *pk, char *reason,
                      size_t reason_cap);

/* Generates a pair for role, writes its secret file (as keys_write_secret) and its public file
 * (as keys_write_public). If the public file cannot be written, the new secret file is removed,
 * so a failure leaves nothing behind. *pk_out (may be NULL) gets the public key; the secret
 * never leaves this function. */
int keys_create(keys_role_t role, const char *secret_path, const char *public_path,
                const char *passphrase, const keys_kdf_t *kdf, qc_pubkey_t *pk_out,
                char *reason, size_t reason_cap);
/* The public key file name for a secret key file: "x/node.key" -> "x/node.pub", any other name
 * gets ".pub" appended. QC_ERR_TOOBIG if it does not fit in cap bytes. */
int keys_public_path(const char *secret_path, char *out, size_t cap);

/* Loads a secret key file into *out. Refuses, with a reason naming the path:
 *   QC_ERR_PERM     the file is accessible by group or others (tells the chmod 600 fix);
 *   QC_ERR_INVALID  not a secret key file of this format, wrong role (expect != ANY), or the
 *                   file is encrypted and passphrase is NULL;
 *   QC_ERR_CRYPTO   wrong passphrase (or altered ciphertext);
 *   QC_ERR_CORRUPT  the stored public key does not match the secret;
 *   QC_ERR_NOTFOUND / QC_ERR_IO / QC_ERR_TOOBIG from reading.
 * passphrase is borrowed and may be NULL for plaintext files. On failure *out is zeroed. */
int keys_load_secret(const char *path, const char *passphrase, keys_role_t expect,
                     keys_pair_t *out, char *reason, size_t reason_cap);
/* Loads a public key file. *role_out may be NULL. Errors as above (no PERM check). */
int keys_load_public(const char *path, keys_role_t expect, qc_pubkey_t *pk,
                     keys_role_t *role_out, char *reason, size_t reason_cap);
/* True if the file at path is an encrypted secret key file (false on any error). */
bool keys_file_encrypted(const char *path);

/* The systemd credential (LoadCredential=KEYS_PASSPHRASE_CREDENTIAL:/root/only/file) that
 * holds the passphrase of a service's encrypted keys: $CREDENTIALS_DIRECTORY/<this>. */
#define KEYS_PASSPHRASE_CREDENTIAL "qchain-passphrase"

/* Gets the passphrase into buf (cap bytes incl. NUL), from the first of: file when non-NULL
 * (its first line, without the line ending; the file must not be accessible by group/others);
 * the systemd credential $CREDENTIALS_DIRECTORY/KEYS_PASSPHRASE_CREDENTIAL when that variable
 * is set and the file exists (the same rules); the environment variable KEYS_PASSPHRASE_ENV.
 * QC_ERR_NOTFOUND if none is given, QC_ERR_INVALID if empty, QC_ERR_TOOBIG if longer than
 * cap-1, QC_ERR_IO with the OS's reason (e.g. "Permission denied") in reason if a file cannot
 * be read. Wipe buf after use. */
int keys_passphrase_get(const char *file, char *buf, size_t cap, char *reason,
                        size_t reason_cap);

#endif
