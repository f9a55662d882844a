/* client.h - what the CLI's network commands share: an HTTP/JSON client of a node's API
 * (libcurl), and loading a city's identity (config, genesis, seal key) for signing. */
#ifndef QC_CLIENT_H
#define QC_CLIENT_H

#include <jansson.h>

#include "config.h"
#include "genesis.h"
#include "keys.h"

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
void client_identity_wipe(client_identity_t *id);

/* SHA-256 of a file's contents, streamed. QC_OK, QC_ERR_NOTFOUND, QC_ERR_IO. */
int client_hash_file(const char *path, qc_hash_t *out);

#endif
