/* client.h - what the CLI's network commands share: an HTTP/JSON client of a node's API
 * (libcurl), and loading a city's identity (config, genesis, seal key) for signing. */
#ifndef QC_CLIENT_H
#define QC_CLIENT_H

#include <jansson.h>

#include "config.h"
#include "genesis.h"
#include "keys.h"
#include "receipt.h"
#include "statusproof.h"

#define CLIENT_RESPONSE_BYTES_MAX (64u << 20)

/* Performs one request. body may be NULL for GET. On transport success returns QC_OK with
 * *status set and *json the parsed JSON response (caller json_decref; NULL when the response
 * was not JSON). QC_ERR_IO (with why) when the node could not be reached. An https:// URL is
 * checked against the CA bundle of client_set_cacert, or libcurl's system store. */
int client_request(const char *method, const char *url, const char *content_type,
                   const void *body, size_t body_len, long timeout_ms, long *status,
                   json_t **json, char *why, size_t why_cap);

/* --cacert: the CA bundle (PEM) that every later request of this process trusts for https://
 * URLs, e.g. of a TLS proxy in front of a node's API; NULL goes back to libcurl's system store.
 * The file is read now: it must be a regular file holding at least one PEM certificate. One
 * setting for the whole process (the CLI runs one command; cli_main resets it to NULL before
 * each). path is copied. QC_OK, or an error with why (the OS's reason for an unreadable file). */
int client_set_cacert(const char *path, char *why, size_t why_cap);

/* Why a file could not be read (or written), in words, for rc from qc_file_read,
 * client_hash_file* (or qc_file_write_atomic) and err the errno saved right after that call
 * (with errno set to 0 before it): the OS's reason where there is one ("No such file or
 * directory", "Permission denied", "Is a directory"), else "not a regular file" (QC_ERR_INVALID
 * from qc_file_read) or qc_strerror(rc). Static storage. */
const char *client_file_error(int rc, int err);

/* The error message inside an API error body, or a generic text. Borrowed from j. */
const char *client_error_message(const json_t *j);

/* A city's identity for client commands, from its node config: API base URL
 * ("http://host:port"), genesis and, if want_seal, its seal key (passphrase from
 * QCHAIN_PASSPHRASE or the config's passphrase_file when the key is encrypted). Without a
 * config (client_identity_open), cfg is all zero but for city and passphrase_file. */
typedef struct {
    config_t cfg;
    genesis_t genesis;
    char api_url[CONFIG_ADDR_MAX + 64];
    keys_pair_t seal;
    bool has_seal;
} client_identity_t;

int client_identity_load(const char *config_path, bool want_seal, client_identity_t *id,
                         char *why, size_t why_cap);
/* Loads the secret key of role (KEYS_ROLE_SEAL or KEYS_ROLE_ADMIN) from path, or from the
 * config's key path for that role when path is NULL, asking for the passphrase as
 * client_identity_load does. QC_OK, or keys_load_secret's error with why. */
int client_identity_key(const client_identity_t *id, const char *path, keys_role_t role,
                        keys_pair_t *out, char *why, size_t why_cap);
void client_identity_wipe(client_identity_t *id);

/* ---- reading commands (status, receipt, block): which node, and which chain ----
 *
 * They take either --config NODE.json (the node's API address and its genesis) or
 * --api URL plus --genesis GENESIS.json, and --cacert FILE for an https:// URL.
 * CLIENT_TARGET_OPTIONS goes into a command's struct option table (with "c:" in its short
 * options); client_target_opt consumes them. */
#define CLIENT_OPT_API 400
#define CLIENT_OPT_GENESIS 401
#define CLIENT_OPT_CACERT 402
#define CLIENT_OPT_SEAL_KEY 403
#define CLIENT_OPT_PASSPHRASE_FILE 404
#define CLIENT_CACERT_OPTION {"cacert", required_argument, NULL, CLIENT_OPT_CACERT}
#define CLIENT_TARGET_OPTIONS                                                                   \
    {"config", required_argument, NULL, 'c'}, {"api", required_argument, NULL, CLIENT_OPT_API}, \
    {"genesis", required_argument, NULL, CLIENT_OPT_GENESIS}, CLIENT_CACERT_OPTION
#define CLIENT_CACERT_USAGE                                                                     \
    "      --cacert FILE   PEM CA bundle to trust for an https:// API (a TLS proxy in front\n"   \
    "                      of the node); default: the system's CA store\n"
#define CLIENT_TARGET_USAGE                                                                     \
    "  -c, --config FILE   a node config: its API address and genesis\n"                         \
    "      --api URL       a node's API (http://host:port or https://...), with --genesis\n"    \
    "      --genesis FILE  the chain's genesis file (with --api)\n" CLIENT_CACERT_USAGE

/* ---- signing commands (anchor, endorse, revoke, supersede, dataset publish/...): the
 * target options plus the seal key. Either --config NODE.json (its API, genesis and keys.seal;
 * --seal-key replaces the key, --api the API), or, with no node config at all, --api URL
 * --genesis FILE --seal-key FILE: the seal key can then live on the city's signing host, not
 * on the node's. An encrypted key's passphrase: --passphrase-file, else the config's
 * passphrase_file, else QCHAIN_PASSPHRASE. With --seal-key the signing city is the member
 * whose seal key it is (client_identity_open). */
#define CLIENT_SIGNER_OPTIONS                                                                   \
    CLIENT_TARGET_OPTIONS, {"seal-key", required_argument, NULL, CLIENT_OPT_SEAL_KEY},          \
    {"passphrase-file", required_argument, NULL, CLIENT_OPT_PASSPHRASE_FILE}
#define CLIENT_SIGNER_USAGE                                                                     \
    "  -c, --config FILE   the city's node config (API address, genesis, seal key)\n"           \
    "      --api URL       the node's API (http://host:port or https://...): instead of the\n"  \
    "                      config's; without --config, with --genesis and --seal-key\n"        \
    "      --genesis FILE  the chain's genesis file (without --config)\n"                       \
    "      --seal-key FILE the city's seal secret key (qchain keygen --role seal), maybe\n"     \
    "                      encrypted: instead of the config's keys.seal; required without\n"   \
    "                      --config. The signing city is then the member whose seal key it\n"  \
    "                      is (the node's /v1/members, or the genesis file if the node cannot\n"\
    "                      say); with --config it must be the config's city\n"                \
    "      --passphrase-file F  an encrypted seal key's passphrase is F's first line (mode\n"   \
    "                      0600); default: the config's passphrase_file, else the\n"           \
    "                      environment variable QCHAIN_PASSPHRASE\n" CLIENT_CACERT_USAGE

typedef struct {
    const char *config, *api, *genesis; /* borrowed from argv */
    const char *cacert;                 /* --cacert, or NULL */
    const char *seal_key, *passphrase_file; /* signing commands only, or NULL */
} client_target_opts_t;

typedef struct {
    genesis_t genesis;
    char api_url[CONFIG_ADDR_MAX + 64];
    char city[QC_MEMBER_NAME_MAX + 1]; /* the config's city; "" with --api */
} client_target_t;

/* true when getopt result c was one of CLIENT_TARGET_OPTIONS (stored in o). */
bool client_target_opt(int c, const char *arg, client_target_opts_t *o);
/* Usage check: --config, or --api with --genesis. CLI_EXIT_USAGE after explaining, or -1. */
int client_target_check(const char *cmd, const client_target_opts_t *o);
/* After the getopt loop: takes one positional argument into *positional (when positional is
 * non-NULL and the option that replaces it, alternative, was not given), then checks that no
 * argument is left and the target options are complete (client_target_check). Returns
 * CLI_EXIT_USAGE after explaining, or -1. */
int client_target_finish(const char *cmd, int argc, char **argv, bool saw_bad_option,
                         const client_target_opts_t *o, const char *alternative,
                         const char **positional);
/* Loads the genesis and the API URL, and sets --cacert (client_set_cacert). QC_OK, or an
 * error with why. */
int client_target_load(const client_target_opts_t *o, client_target_t *t, char *why,
                       size_t why_cap);

/* Usage check of a signing command's options: --config (with --api, --seal-key,
 * --passphrase-file allowed; --genesis not), or --api, --genesis and --seal-key without a
 * config. CLI_EXIT_USAGE after explaining, or -1. */
int client_signer_check(const char *cmd, const client_target_opts_t *o);
/* The signing identity of a command's options (checked by client_signer_check): from the config
 * as client_identity_load, with --api, --seal-key and --passphrase-file replacing its values;
 * or without a config, the genesis file, the --api URL and the --seal-key key. With want_seal
 * and --seal-key, cfg.city is the member whose seal key it is: among the members in force (the
 * node's /v1/members: governance may have added a city or rotated a key since the genesis), or
 * the genesis members when the node cannot be asked; with a config too it must be the config's
 * city. Sets --cacert first. QC_OK, or an error with why: QC_ERR_NOTFOUND when no member has
 * the seal key, QC_ERR_INVALID when it is another city's than the config's. id is wiped with
 * client_identity_wipe. */
int client_identity_open(const client_target_opts_t *o, bool want_seal, client_identity_t *id,
                         char *why, size_t why_cap);

/* POSTs signed transaction tx to api_url's /v1/transactions as JSON {body, sig}, waiting up to
 * wait_ms for its commit. Same results as client_request: *status 200 committed (the
 * response has "height"), 202 pending, else refused (client_error_message has the node's
 * reason). */
/* POSTs txs (n of them, at most 1024) as one batch (docs/API.md "Batches"): *status and the
 * parsed {"accepted", "rejected", "results"} in *json (caller decrefs), or an error with why. */
int client_submit_batch(const char *api_url, const qc_tx_t *txs, size_t n, long *status,
                        json_t **json, char *why, size_t why_cap);
int client_submit_tx(const char *api_url, const qc_tx_t *tx, uint64_t wait_ms, long *status,
                     json_t **json, char *why, size_t why_cap);

#define CLIENT_EXIT_PENDING 3 /* submitted, not committed within the wait (anchor, member) */

/* client_submit_tx for a command: on a commit returns CLI_EXIT_OK with *height; not committed
 * in time: says so on stderr and returns CLIENT_EXIT_PENDING; refused or unreachable: prints
 * the node's reason (cli_fail) and returns CLI_EXIT_FAIL. */
int client_submit_wait(const char *cmd, const char *api_url, const qc_tx_t *tx, uint64_t wait_ms,
                       uint64_t *height);

/* The node's ledger height (GET /v1/status), or 0 when it cannot be had: a transaction's
 * expiry is counted from it. */
uint64_t client_current_height(const char *api_url);

/* GET base_url + path (JSON). Same results as client_request. */
int client_get(const char *base_url, const char *path, long timeout_ms, long *status,
               json_t **json, char *why, size_t why_cap);

/* Adds "signed": {"body", "sig"} (hex) to j: the transaction as POST /v1/transactions takes
 * it, for a city's files (--json of the signing commands). */
void client_json_add_signed(json_t *j, const qc_tx_t *tx);

/* client_get for a command that needs a 200 answer: CLI-style result -1 with *out (caller
 * json_decref), or the exit status after printing the failure (unreachable, or the node's
 * status and reason). */
int client_get_json(const char *cmd, const char *api_url, const char *path, json_t **out);

/* Fetches the receipt of digest from the node at api_url and verifies it offline against g
 * (and, if file_digest is non-NULL, that the file is the anchored record). tx_id non-NULL asks
 * for the anchoring by that transaction (?tx=) and checks that the receipt proves exactly it,
 * so a digest another city anchored first never passes for the caller's own anchoring. QC_OK with
 * *receipt (the JSON as served; caller json_decref) and *res. Otherwise an error and why:
 * QC_ERR_IO unreachable, QC_ERR_NOTFOUND no receipt (the node's reason), QC_ERR_INVALID or a
 * verification error when the receipt does not verify. */
int client_fetch_receipt(const char *api_url, const genesis_t *g, const qc_hash_t *digest,
                         const qc_hash_t *tx_id, const qc_hash_t *file_digest, json_t **receipt,
                         receipt_result_t *res, char *why, size_t why_cap);
/* The display name of the city a verified receipt names: the genesis file's, found by member
 * name (after membership changes the city's validator index need not be its genesis index,
 * and a city that joined later is not in the genesis), else the member name itself.
 * Borrowed from g or res. */
const char *client_city_display(const genesis_t *g, const receipt_result_t *res);
/* A verified status proof's finding in words, one line ("valid; endorsed by zibo (purpose
 * 1) at height 4", "revoked at height 9 (reason 2: ...)", "never anchored"), into out. */
void client_status_words(const statusproof_result_t *res, char *out, size_t cap);
/* The same as a JSON object (new reference): anchored, state, as_of_height, epoch, signers,
 * quorum, members and, when anchored, owner, first_height, state_height, reason,
 * superseded_by, supersedes and endorsements. */
json_t *client_status_json(const statusproof_result_t *res);
/* Parses and verifies a status proof JSON object against g (and file_digest when non-NULL).
 * QC_OK with *res (statusproof_result_free), or an error and why. */
int client_status_verify(const json_t *j, const genesis_t *g, const qc_hash_t *file_digest,
                         statusproof_result_t *res, char *why, size_t why_cap);

/* Loads the genesis file at path into a malloc'd genesis_t (caller frees), or prints
 * "CMD: error: genesis PATH: why" and returns NULL (the command then exits CLI_EXIT_FAIL). */
genesis_t *client_genesis_open(const char *cmd, const char *path);

/* Writes j as indented JSON to path atomically (mode 0644). QC_OK or an error (QC_ERR_IO
 * with the OS's reason in errno: client_file_error). */
int client_write_json(const char *path, const json_t *j);

/* SHA-256 of a file's contents, streamed. QC_OK, QC_ERR_NOTFOUND, QC_ERR_IO, with errno the
 * OS's reason on failure (client_file_error). */
int client_hash_file(const char *path, qc_hash_t *out);
/* The digest of a salted record (PROTOCOL.md §5): SHA-256("qchain/v1/salted-record" 0x00 ||
 * salt || the file's contents), streamed; salt is QC_SALT_BYTES, borrowed. Errors as above. */
int client_hash_file_salted(const char *path, const uint8_t *salt, qc_hash_t *out);
/* Reads a salt file: exactly 64 lowercase or uppercase hex characters, an optional final
 * newline, nothing else (at most 4 KiB read). QC_OK, or an error with why. */
int client_salt_read(const char *path, uint8_t salt[QC_SALT_BYTES], char *why, size_t why_cap);

/* The digest of FILE for command cmd, salted with the salt in file salt_path when it is
 * non-NULL: -1 with *out filled, or the exit status after saying what failed ("FILE: cannot
 * read the file: <the OS's reason>"). */
int client_file_digest(const char *cmd, const char *file, const char *salt_path, qc_hash_t *out);
/* Writes a fresh salt file (64 hex + newline, mode 0600, refusing to replace an existing
 * file: a salt is the only key to its record, so one is never overwritten). */
int client_salt_write(const char *path, const uint8_t salt[QC_SALT_BYTES]);

/* The validator set of `epoch` (tools/epochs.c): the genesis set, then for each later epoch
 * the node's /v1/members/history entry, accepted only once the node's last block of the epoch
 * before it is certified by the set already trusted and names that entry's hash. QC_OK, or an
 * error with the reason in why. */
int client_epoch_set(const char *api_url, const genesis_t *g, uint64_t epoch,
                     qc_validator_set_t *out, char *why, size_t cap);

#endif
