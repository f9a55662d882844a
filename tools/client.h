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
 * was not JSON). QC_ERR_IO (with why) when the node could not be reached. */
int client_request(const char *method, const char *url, const char *content_type,
                   const void *body, size_t body_len, long timeout_ms, long *status,
                   json_t **json, char *why, size_t why_cap);

/* The error message inside an API error body, or a generic text. Borrowed from j. */
const char *client_error_message(const json_t *j);

/* A city's identity for client commands, from its node config: API base URL
 * ("http://host:port"), genesis and, if want_seal, its seal key (passphrase from
 * QCHAIN_PASSPHRASE or the config's passphrase_file when the key is encrypted). */
typedef struct {
    config_t cfg;
    genesis_t genesis;
    char api_url[CONFIG_ADDR_MAX + 16];
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
 * --api URL plus --genesis GENESIS.json. CLIENT_TARGET_OPTIONS goes into a command's
 * struct option table (with "c:" in its short options); client_target_opt consumes them. */
#define CLIENT_OPT_API 400
#define CLIENT_OPT_GENESIS 401
#define CLIENT_TARGET_OPTIONS                                                                   \
    {"config", required_argument, NULL, 'c'}, {"api", required_argument, NULL, CLIENT_OPT_API}, \
    {"genesis", required_argument, NULL, CLIENT_OPT_GENESIS}
#define CLIENT_TARGET_USAGE                                                                     \
    "  -c, --config FILE   a node config: its API address and genesis\n"                         \
    "      --api URL       a node's API (http://host:port), with --genesis\n"                    \
    "      --genesis FILE  the chain's genesis file (with --api)\n"

typedef struct {
    const char *config, *api, *genesis; /* borrowed from argv */
} client_target_opts_t;

typedef struct {
    genesis_t genesis;
    char api_url[CONFIG_ADDR_MAX + 64];
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
/* Loads the genesis and the API URL. QC_OK, or an error with why. */
int client_target_load(const client_target_opts_t *o, client_target_t *t, char *why,
                       size_t why_cap);

/* POSTs signed transaction tx to api_url's /v1/transactions as JSON {body, sig}, waiting up to
 * wait_ms for its commit. Same results as client_request: *status 200 committed (the
 * response has "height"), 202 pending, else refused (client_error_message has the node's
 * reason). */
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

/* Writes j as indented JSON to path atomically (mode 0644). QC_OK or an error. */
int client_write_json(const char *path, const json_t *j);

/* SHA-256 of a file's contents, streamed. QC_OK, QC_ERR_NOTFOUND, QC_ERR_IO. */
int client_hash_file(const char *path, qc_hash_t *out);
/* The digest of a salted record (PROTOCOL.md §5): SHA-256("qchain/v1/salted-record" 0x00 ||
 * salt || the file's contents), streamed; salt is QC_SALT_BYTES, borrowed. Errors as above. */
int client_hash_file_salted(const char *path, const uint8_t *salt, qc_hash_t *out);
/* Reads a salt file: exactly 64 lowercase or uppercase hex characters, an optional final
 * newline, nothing else (at most 4 KiB read). QC_OK, or an error with why. */
int client_salt_read(const char *path, uint8_t salt[QC_SALT_BYTES], char *why, size_t why_cap);

/* The digest of FILE for command cmd, salted with the salt in file salt_path when it is
 * non-NULL: -1 with *out filled, or the exit status after saying what failed. */
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
