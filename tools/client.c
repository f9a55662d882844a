/* client.c - the CLI's HTTP client (libcurl), identity loading and file hashing. */
#include "client.h"
#include "sha256.h"

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)
#define CLIENT_CACERT_BYTES_MAX (64u << 20) /* a system bundle is a few hundred KiB */

/* --cacert of the running command ("" = libcurl's system store): client_set_cacert. */
static char g_cacert[CONFIG_PATH_MAX];

typedef struct {
    char *data;
    size_t len;
    bool too_big;
} buf_t;

static size_t on_data(char *p, size_t size, size_t nmemb, void *user) {
    buf_t *b = user;
    size_t n = size * nmemb;
    if (b->len + n > CLIENT_RESPONSE_BYTES_MAX) { b->too_big = true; return 0; }
    char *nd = realloc(b->data, b->len + n + 1);
    if (nd == NULL) return 0;
    memcpy(nd + b->len, p, n);
    b->data = nd;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int client_request(const char *method, const char *url, const char *content_type,
                   const void *body, size_t body_len, long timeout_ms, long *status,
                   json_t **json, char *why, size_t why_cap) {
    *json = NULL;
    *status = 0;
    static bool inited;
    if (!inited) { curl_global_init(CURL_GLOBAL_DEFAULT); inited = true; }
    CURL *c = curl_easy_init();
    if (c == NULL) { WHY("cannot start an HTTP client"); return QC_ERR_NOMEM; }
    buf_t b = {NULL, 0, false};
    struct curl_slist *hdrs = NULL;
    char ct[128];
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (hdrs) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (g_cacert[0]) curl_easy_setopt(c, CURLOPT_CAINFO, g_cacert);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    int ret = QC_OK;
    if (rc != CURLE_OK) {
        WHY("%s %s: %s", method, url, b.too_big ? "response too large" : curl_easy_strerror(rc));
        ret = QC_ERR_IO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        if (b.data) *json = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
    }
    free(b.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return ret;
}

int client_set_cacert(const char *path, char *why, size_t why_cap) {
    g_cacert[0] = '\0';
    if (path == NULL) return QC_OK;
    if (strlen(path) >= sizeof g_cacert) { WHY("--cacert: the path is too long"); return QC_ERR_TOOBIG; }
    uint8_t *pem;
    size_t len;
    errno = 0;
    int rc = qc_file_read(path, CLIENT_CACERT_BYTES_MAX, &pem, &len);
    if (rc != QC_OK) {
        WHY("--cacert %s: cannot read the file: %s", path, client_file_error(rc, errno));
        return rc;
    }
    bool has_cert = strstr((const char *)pem, "-----BEGIN CERTIFICATE-----") != NULL;
    free(pem);
    if (!has_cert) {
        WHY("--cacert %s: not a PEM CA bundle (no BEGIN CERTIFICATE line)", path);
        return QC_ERR_INVALID;
    }
    snprintf(g_cacert, sizeof g_cacert, "%s", path);
    return QC_OK;
}

const char *client_file_error(int rc, int err) {
    if ((rc == QC_ERR_IO || rc == QC_ERR_NOTFOUND || rc == QC_ERR_INVALID) && err != 0)
        return strerror(err);
    if (rc == QC_ERR_NOTFOUND) return "No such file or directory";
    if (rc == QC_ERR_INVALID) return "not a regular file";
    if (rc == QC_ERR_TOOBIG) return "the file is too large";
    return qc_strerror(rc);
}

const char *client_error_message(const json_t *j) {
    const json_t *e = json_object_get(j, "error");
    const json_t *m = e ? json_object_get(e, "message") : NULL;
    return json_is_string(m) ? json_string_value(m) : "the node gave no reason";
}

int client_identity_load(const char *config_path, bool want_seal, client_identity_t *id,
                         char *why, size_t why_cap) {
    memset(id, 0, sizeof *id);
    char reason[256] = "";
    uint32_t self;
    if (config_load(config_path, &id->cfg, reason, sizeof reason) != QC_OK ||
        genesis_load(id->cfg.genesis_path, &id->genesis, reason, sizeof reason) != QC_OK ||
        config_apply_genesis(&id->cfg, &id->genesis, &self, reason, sizeof reason) != QC_OK) {
        WHY("%s", reason);
        return QC_ERR_INVALID;
    }
    snprintf(id->api_url, sizeof id->api_url, "http://%s", id->cfg.api.listen);
    if (!want_seal) return QC_OK;
    int rc = client_identity_key(id, NULL, KEYS_ROLE_SEAL, &id->seal, why, why_cap);
    if (rc != QC_OK) return rc;
    id->has_seal = true;
    return QC_OK;
}

int client_identity_key(const client_identity_t *id, const char *path, keys_role_t role,
                        keys_pair_t *out, char *why, size_t why_cap) {
    char reason[256] = "";
    if (path == NULL) path = id->cfg.key_paths[role];
    char pass[KEYS_PASSPHRASE_MAX + 1] = "";
    const char *pp = NULL;
    if (keys_file_encrypted(path)) {
        if (keys_passphrase_get(id->cfg.passphrase_file[0] ? id->cfg.passphrase_file : NULL, pass,
                                sizeof pass, reason, sizeof reason) != QC_OK) {
            WHY("%s key passphrase: %s", keys_role_name(role), reason);
            return QC_ERR_CRYPTO;
        }
        pp = pass;
    }
    int rc = keys_load_secret(path, pp, role, out, reason, sizeof reason);
    sodium_memzero(pass, sizeof pass);
    if (rc != QC_OK) WHY("%s key: %s", keys_role_name(role), reason); /* reason names path */
    return rc;
}

/* Copies URL into out without trailing slashes (the API paths are appended to it). */
static void api_url_set(char *out, size_t cap, const char *url) {
    snprintf(out, cap, "%s", url);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/') out[--n] = '\0';
}

/* The member whose seal key is pk, into city (QC_MEMBER_NAME_MAX + 1 bytes): among the
 * members in force the node at api_url lists, else (the node cannot be asked) among g's. */
static int seal_city(const char *api_url, const genesis_t *g, const qc_pubkey_t *pk, char *city,
                     char *why, size_t why_cap) {
    char hex[2 * QC_PUBKEY_BYTES + 1], reason[256] = "";
    qc_hex_encode(hex, pk->b, QC_PUBKEY_BYTES);
    long status = 0;
    json_t *j = NULL;
    int rc = client_get(api_url, "/v1/members", 10000, &status, &j, reason, sizeof reason);
    const json_t *list = json_object_get(j, "members"), *m;
    size_t i;
    if (rc == QC_OK && status == 200 && json_is_array(list)) {
        rc = QC_ERR_NOTFOUND;
        json_array_foreach(list, i, m) {
            const char *key = json_string_value(json_object_get(m, "seal_key"));
            const char *name = json_string_value(json_object_get(m, "name"));
            if (key && name && strcmp(key, hex) == 0 && qc_member_name_valid(name)) {
                snprintf(city, QC_MEMBER_NAME_MAX + 1, "%s", name);
                rc = QC_OK;
            }
        }
        json_decref(j);
        if (rc != QC_OK) WHY("seal key %.16s... is no member's seal key on the chain (the "
                             "node's /v1/members)", hex);
        return rc;
    }
    if (rc == QC_OK) snprintf(reason, sizeof reason, "GET /v1/members: HTTP %ld", status);
    json_decref(j);
    for (uint32_t k = 0; k < g->validators.n; k++) {
        if (sodium_memcmp(g->validators.members[k].seal_key.b, pk->b, QC_PUBKEY_BYTES) == 0) {
            snprintf(city, QC_MEMBER_NAME_MAX + 1, "%s", g->validators.members[k].name);
            return QC_OK;
        }
    }
    WHY("seal key %.16s... is no genesis member's seal key, and the node could not be asked "
        "for the members in force (%s)", hex, reason);
    return QC_ERR_NOTFOUND;
}

int client_signer_check(const char *cmd, const client_target_opts_t *o) {
    if (o->config && o->genesis)
        return cli_usage_error(cmd, "--genesis is for use without --config (the config names "
                                    "the genesis)");
    if (o->config == NULL && (o->api == NULL || o->genesis == NULL || o->seal_key == NULL))
        return cli_usage_error(cmd, "--config NODE.json, or --api URL with --genesis FILE and "
                                    "--seal-key FILE, is required");
    if (o->api && strncmp(o->api, "http://", 7) != 0 && strncmp(o->api, "https://", 8) != 0)
        return cli_usage_error(cmd, "--api: expected http://host:port, got '%s'", o->api);
    if (o->api && strlen(o->api) >= sizeof ((client_identity_t *)0)->api_url)
        return cli_usage_error(cmd, "--api: the URL is too long");
    return -1;
}

int client_identity_open(const client_target_opts_t *o, bool want_seal, client_identity_t *id,
                         char *why, size_t why_cap) {
    memset(id, 0, sizeof *id);
    int rc = client_set_cacert(o->cacert, why, why_cap);
    if (rc != QC_OK) return rc;
    if (o->config) {
        rc = client_identity_load(o->config, false, id, why, why_cap);
        if (rc != QC_OK) return rc;
    } else {
        char reason[256] = "";
        rc = genesis_load(o->genesis, &id->genesis, reason, sizeof reason);
        if (rc != QC_OK) { WHY("genesis %s", reason); return rc; } /* reason names the path */
    }
    if (o->api) api_url_set(id->api_url, sizeof id->api_url, o->api);
    if (o->passphrase_file)
        snprintf(id->cfg.passphrase_file, sizeof id->cfg.passphrase_file, "%s", o->passphrase_file);
    if (!want_seal) return QC_OK;
    rc = client_identity_key(id, o->seal_key, KEYS_ROLE_SEAL, &id->seal, why, why_cap);
    if (rc != QC_OK) return rc;
    id->has_seal = true;
    char city[QC_MEMBER_NAME_MAX + 1] = "";
    if (o->seal_key) rc = seal_city(id->api_url, &id->genesis, &id->seal.pk, city, why, why_cap);
    if (rc == QC_OK && o->config && o->seal_key && strcmp(city, id->cfg.city) != 0) {
        WHY("--seal-key %s is %s's seal key, not that of the config's city %s", o->seal_key,
            city, id->cfg.city);
        rc = QC_ERR_INVALID;
    }
    if (rc == QC_OK && o->seal_key) memcpy(id->cfg.city, city, sizeof city);
    if (rc != QC_OK) client_identity_wipe(id);
    return rc;
}

void client_identity_wipe(client_identity_t *id) {
    if (id->has_seal) keys_pair_wipe(&id->seal);
    id->has_seal = false;
}

bool client_target_opt(int c, const char *arg, client_target_opts_t *o) {
    switch (c) {
    case 'c': o->config = arg; return true;
    case CLIENT_OPT_API: o->api = arg; return true;
    case CLIENT_OPT_GENESIS: o->genesis = arg; return true;
    case CLIENT_OPT_CACERT: o->cacert = arg; return true;
    case CLIENT_OPT_SEAL_KEY: o->seal_key = arg; return true;
    case CLIENT_OPT_PASSPHRASE_FILE: o->passphrase_file = arg; return true;
    default: return false;
    }
}

int client_target_check(const char *cmd, const client_target_opts_t *o) {
    if (o->config && (o->api || o->genesis))
        return cli_usage_error(cmd, "give either --config or --api with --genesis, not both");
    if (o->config == NULL && (o->api == NULL || o->genesis == NULL))
        return cli_usage_error(cmd, "--config NODE.json, or --api URL with --genesis FILE, is required");
    if (o->api && strncmp(o->api, "http://", 7) != 0 && strncmp(o->api, "https://", 8) != 0)
        return cli_usage_error(cmd, "--api: expected http://host:port, got '%s'", o->api);
    if (o->api && strlen(o->api) >= sizeof ((client_target_t *)0)->api_url)
        return cli_usage_error(cmd, "--api: the URL is too long");
    return -1;
}

int client_target_finish(const char *cmd, int argc, char **argv, bool saw_bad_option,
                         const client_target_opts_t *o, const char *alternative,
                         const char **positional) {
    if (positional && !saw_bad_option && optind < argc && alternative == NULL)
        *positional = argv[optind++];
    int rc = cli_check_args(cmd, argc, argv, saw_bad_option);
    return rc >= 0 ? rc : client_target_check(cmd, o);
}

int client_target_load(const client_target_opts_t *o, client_target_t *t, char *why,
                       size_t why_cap) {
    memset(t, 0, sizeof *t);
    char reason[256] = "";
    int crc = client_set_cacert(o->cacert, why, why_cap);
    if (crc != QC_OK) return crc;
    if (o->config) {
        config_t *cfg = malloc(sizeof *cfg);
        uint32_t self;
        int rc = cfg ? config_load(o->config, cfg, reason, sizeof reason) : QC_ERR_NOMEM;
        if (rc == QC_OK) rc = genesis_load(cfg->genesis_path, &t->genesis, reason, sizeof reason);
        if (rc == QC_OK) rc = config_apply_genesis(cfg, &t->genesis, &self, reason, sizeof reason);
        if (rc == QC_OK) snprintf(t->api_url, sizeof t->api_url, "http://%s", cfg->api.listen);
        if (rc == QC_OK) snprintf(t->city, sizeof t->city, "%s", cfg->city);
        free(cfg);
        if (rc != QC_OK) WHY("%s: %s", o->config, rc == QC_ERR_NOMEM ? "out of memory" : reason);
        return rc;
    }
    int rc = genesis_load(o->genesis, &t->genesis, reason, sizeof reason);
    if (rc != QC_OK) { WHY("genesis %s", reason); return rc; }
    api_url_set(t->api_url, sizeof t->api_url, o->api);
    return QC_OK;
}

/* {"body": hex, "sig": hex} of tx (new reference), or NULL. */
static json_t *tx_json(const qc_tx_t *tx) {
    char *body_hex = malloc(2 * tx->body_len + 1), sig_hex[129];
    if (body_hex == NULL) return NULL;
    qc_hex_encode(body_hex, tx->body, tx->body_len);
    qc_hex_encode(sig_hex, tx->sig.b, 64);
    json_t *j = json_pack("{s:s, s:s}", "body", body_hex, "sig", sig_hex);
    free(body_hex);
    return j;
}

int client_submit_batch(const char *api_url, const qc_tx_t *txs, size_t n, long *status,
                        json_t **json, char *why, size_t why_cap) {
    json_t *req = json_array();
    for (size_t i = 0; i < n && req; i++)
        if (json_array_append_new(req, tx_json(&txs[i])) != 0) { json_decref(req); req = NULL; }
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    char url[CONFIG_ADDR_MAX + 128];
    snprintf(url, sizeof url, "%s/v1/transactions", api_url);
    int rc = client_request("POST", url, "application/json", text, strlen(text), 60000, status,
                            json, why, why_cap);
    free(text);
    return rc;
}

int client_submit_tx(const char *api_url, const qc_tx_t *tx, uint64_t wait_ms, long *status,
                     json_t **json, char *why, size_t why_cap) {
    json_t *req = tx_json(tx);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    char url[CONFIG_ADDR_MAX + 128];
    snprintf(url, sizeof url, "%s/v1/transactions?wait_ms=%llu", api_url,
             (unsigned long long)wait_ms);
    int rc = client_request("POST", url, "application/json", text, strlen(text),
                            (long)wait_ms + 10000, status, json, why, why_cap);
    free(text);
    return rc;
}

int client_submit_wait(const char *cmd, const char *api_url, const qc_tx_t *tx, uint64_t wait_ms,
                       uint64_t *height) {
    char why[256];
    long status;
    json_t *resp;
    if (client_submit_tx(api_url, tx, wait_ms, &status, &resp, why, sizeof why) != QC_OK)
        return cli_fail(cmd, "%s", why);
    int ret;
    if (status == 200) {
        *height = (uint64_t)json_integer_value(json_object_get(resp, "height"));
        ret = CLI_EXIT_OK;
    } else if (status == 202) {
        char idhex[65];
        fprintf(stderr, "%s: submitted as %s but not committed within %llu ms\n", cmd,
                qc_hash_hex(idhex, &tx->id), (unsigned long long)wait_ms);
        ret = CLIENT_EXIT_PENDING;
    } else {
        ret = cli_fail(cmd, "the node refused the transaction (HTTP %ld): %s", status,
                       client_error_message(resp));
    }
    json_decref(resp);
    return ret;
}

uint64_t client_current_height(const char *api_url) {
    char why[256];
    long status;
    json_t *j;
    uint64_t h = 0;
    if (client_get(api_url, "/v1/status", 5000, &status, &j, why, sizeof why) == QC_OK) {
        if (status == 200) h = (uint64_t)json_integer_value(json_object_get(j, "height"));
        json_decref(j);
    }
    return h;
}

int client_get(const char *base_url, const char *path, long timeout_ms, long *status,
               json_t **json, char *why, size_t why_cap) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    return client_request("GET", url, NULL, NULL, 0, timeout_ms, status, json, why, why_cap);
}

const char *client_city_display(const genesis_t *g, const receipt_result_t *res) {
    for (uint32_t i = 0; i < g->validators.n; i++)
        if (strcmp(g->validators.members[i].name, res->city_name) == 0)
            return g->info[i].display_name;
    return res->city_name;
}

int client_fetch_receipt(const char *api_url, const genesis_t *g, const qc_hash_t *digest,
                         const qc_hash_t *tx_id, const qc_hash_t *file_digest, json_t **receipt,
                         receipt_result_t *res, char *why, size_t why_cap) {
    char path[200], hex[65], txhex[65], reason[256] = "";
    *receipt = NULL;
    snprintf(path, sizeof path, "/v1/records/%s/receipt%s%s", qc_hash_hex(hex, digest),
             tx_id ? "?tx=" : "", tx_id ? qc_hash_hex(txhex, tx_id) : "");
    long status;
    json_t *j;
    int rc = client_get(api_url, path, 10000, &status, &j, reason, sizeof reason);
    if (rc != QC_OK) { WHY("%s", reason); return rc; }
    if (status != 200 || j == NULL) {
        WHY("no receipt for %s (HTTP %ld): %s", hex, status, client_error_message(j));
        json_decref(j);
        return status == 404 ? QC_ERR_NOTFOUND : QC_ERR_INVALID;
    }
    receipt_t r;
    rc = receipt_from_json(j, &r, reason, sizeof reason);
    if (rc == QC_OK) {
        rc = receipt_verify(&r, g->chain_id, &g->hash, &g->validators, file_digest, res, reason,
                            sizeof reason);
        if (rc == QC_OK && memcmp(r.digest.b, digest->b, 32) != 0) {
            snprintf(reason, sizeof reason, "the receipt is for another digest");
            rc = QC_ERR_INVALID;
        }
        if (rc == QC_OK && tx_id && memcmp(r.tx.id.b, tx_id->b, 32) != 0) {
            snprintf(reason, sizeof reason, "the receipt proves transaction %.16s…, not %.16s…",
                     qc_hash_hex(hex, &r.tx.id), txhex);
            rc = QC_ERR_INVALID;
        }
        receipt_free(&r);
    }
    if (rc != QC_OK) {
        WHY("the node's receipt does not verify: %s", reason);
        json_decref(j);
        return rc;
    }
    *receipt = j;
    return QC_OK;
}

int client_write_json(const char *path, const json_t *j) {
    char *text = json_dumps(j, JSON_INDENT(2));
    if (text == NULL) return QC_ERR_NOMEM;
    int rc = qc_file_write_atomic(path, text, strlen(text), 0644, false), err = errno;
    free(text);
    errno = err; /* the OS's reason when rc is QC_ERR_IO */
    return rc;
}

int client_hash_file(const char *path, qc_hash_t *out) {
    return client_hash_file_salted(path, NULL, out);
}

int client_hash_file_salted(const char *path, const uint8_t *salt, qc_hash_t *out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return errno == ENOENT ? QC_ERR_NOTFOUND : QC_ERR_IO; /* errno kept */
    qc_sha256_state_t st;
    qc_sha256_init(&st);
    if (salt != NULL) {
        qc_sha256_update(&st, (const uint8_t *)QC_CTX_SALTED_RECORD,
                                  sizeof QC_CTX_SALTED_RECORD); /* with its 0x00 */
        qc_sha256_update(&st, salt, QC_SALT_BYTES);
    }
    unsigned char buf[65536];
    size_t n;
    errno = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) qc_sha256_update(&st, buf, n);
    int rc = ferror(f) ? QC_ERR_IO : QC_OK, err = errno; /* a directory: EISDIR */
    fclose(f);
    qc_sha256_final(&st, out->b);
    errno = rc == QC_OK ? 0 : err;
    return rc;
}

int client_salt_read(const char *path, uint8_t salt[QC_SALT_BYTES], char *why, size_t why_cap) {
    uint8_t *text;
    size_t len;
    errno = 0;
    int rc = qc_file_read(path, 4096, &text, &len);
    if (rc != QC_OK) {
        snprintf(why, why_cap, "salt %s: cannot read the file: %s", path,
                 client_file_error(rc, errno));
        return rc;
    }
    char hex[2 * QC_SALT_BYTES + 1];
    bool ok = (len == 2 * QC_SALT_BYTES || (len == 2 * QC_SALT_BYTES + 1 && text[len - 1] == '\n'));
    if (ok) {
        memcpy(hex, text, 2 * QC_SALT_BYTES);
        hex[2 * QC_SALT_BYTES] = '\0';
        ok = qc_hex_decode(salt, QC_SALT_BYTES, hex) == QC_OK;
    }
    sodium_memzero(text, len);
    free(text);
    if (!ok) {
        snprintf(why, why_cap, "salt %s: not a salt file (64 hex characters and a newline)", path);
        return QC_ERR_INVALID;
    }
    return QC_OK;
}

int client_salt_write(const char *path, const uint8_t salt[QC_SALT_BYTES]) {
    char text[2 * QC_SALT_BYTES + 2];
    for (size_t i = 0; i < QC_SALT_BYTES; i++) snprintf(text + 2 * i, 3, "%02x", salt[i]);
    text[2 * QC_SALT_BYTES] = '\n';
    text[2 * QC_SALT_BYTES + 1] = '\0';
    int rc = qc_file_write_atomic(path, text, 2 * QC_SALT_BYTES + 1, 0600, true);
    sodium_memzero(text, sizeof text);
    return rc;
}

void client_status_words(const statusproof_result_t *res, char *out, size_t cap) {
    if (!res->anchored) {
        snprintf(out, cap, "never anchored");
        return;
    }
    const qc_recstat_t *st = res->status;
    char hex[65];
    size_t used = 0;
    if (st->state == QC_REC_REVOKED) {
        const char *name = qc_reason_name(st->reason);
        used = (size_t)snprintf(out, cap, "revoked at height %llu (reason %u%s%s)",
                                (unsigned long long)st->state_height, st->reason,
                                name ? ": " : "", name ? name : "");
    } else if (st->state == QC_REC_SUPERSEDED) {
        used = (size_t)snprintf(out, cap, "superseded by %s at height %llu",
                                qc_hash_hex(hex, &st->superseded_by),
                                (unsigned long long)st->state_height);
    } else {
        used = (size_t)snprintf(out, cap, "valid");
    }
    for (uint8_t i = 0; i < st->endorsement_count && used < cap; i++) {
        const qc_endorsement_t *e = &st->endorsements[i];
        const char *name = qc_purpose_name(e->purpose);
        used += (size_t)snprintf(out + used, cap - used, "%s %s (purpose %u%s%s) at height %llu",
                                 i == 0 ? "; endorsed by" : ",", e->city, e->purpose,
                                 name ? ": " : "", name ? name : "",
                                 (unsigned long long)e->height);
    }
}

json_t *client_status_json(const statusproof_result_t *res) {
    json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "anchored", res->anchored,
                          "as_of_height", (json_int_t)res->block.height, "epoch",
                          (json_int_t)res->block.epoch, "signers", (json_int_t)res->block.signers, "quorum",
                          (json_int_t)res->block.quorum, "members", (json_int_t)res->block.members);
    if (j == NULL || !res->anchored) return j;
    const qc_recstat_t *st = res->status;
    char hex[65];
    json_t *ends = json_array(), *sups = json_array();
    for (uint8_t i = 0; ends && i < st->endorsement_count; i++)
        json_array_append_new(ends, json_pack("{s:s, s:I, s:i}", "city", st->endorsements[i].city,
                                              "height", (json_int_t)st->endorsements[i].height,
                                              "purpose", (int)st->endorsements[i].purpose));
    for (uint8_t i = 0; sups && i < st->supersedes_count; i++)
        json_array_append_new(sups, json_string(qc_hash_hex(hex, &st->supersedes[i])));
    json_object_set_new(j, "state", json_string(qc_rec_state_name(st->state)));
    json_object_set_new(j, "owner", json_string(st->owner));
    json_object_set_new(j, "first_height", json_integer((json_int_t)st->first_height));
    if (st->state != QC_REC_VALID)
        json_object_set_new(j, "state_height", json_integer((json_int_t)st->state_height));
    if (st->state == QC_REC_REVOKED) json_object_set_new(j, "reason", json_integer(st->reason));
    if (st->state == QC_REC_SUPERSEDED)
        json_object_set_new(j, "superseded_by", json_string(qc_hash_hex(hex, &st->superseded_by)));
    json_object_set_new(j, "supersedes", sups ? sups : json_array());
    json_object_set_new(j, "endorsements", ends ? ends : json_array());
    return j;
}

int client_status_verify(const json_t *j, const genesis_t *g, const qc_hash_t *file_digest,
                         statusproof_result_t *res, char *why, size_t why_cap) {
    statusproof_t sp;
    memset(res, 0, sizeof *res);
    int rc = statusproof_from_json(j, &sp, why, why_cap);
    if (rc != QC_OK) return rc;
    rc = statusproof_verify(&sp, g->chain_id, &g->hash, &g->validators, file_digest, res, why,
                            why_cap);
    statusproof_free(&sp);
    return rc;
}

genesis_t *client_genesis_open(const char *cmd, const char *path) {
    genesis_t *g = calloc(1, sizeof *g);
    char why[512] = "";
    if (g == NULL) {
        cli_fail(cmd, "out of memory");
        return NULL;
    }
    if (genesis_load(path, g, why, sizeof why) != QC_OK) {
        cli_fail(cmd, "genesis %s", why);
        free(g);
        return NULL;
    }
    return g;
}

int client_get_json(const char *cmd, const char *api_url, const char *path, json_t **out) {
    char why[256];
    long status;
    json_t *j = NULL;
    if (client_get(api_url, path, 10000, &status, &j, why, sizeof why) != QC_OK)
        return cli_fail(cmd, "%s", why);
    if (status != 200 || j == NULL) {
        int rc = cli_fail(cmd, "%s: HTTP %ld: %s", path, status, client_error_message(j));
        json_decref(j);
        return rc;
    }
    *out = j;
    return -1;
}

void client_json_add_signed(json_t *j, const qc_tx_t *tx) {
    char *body = malloc(2 * tx->body_len + 1), sig[2 * QC_SIG_BYTES + 1];
    if (body != NULL) {
        qc_hex_encode(body, tx->body, tx->body_len);
        qc_hex_encode(sig, tx->sig.b, QC_SIG_BYTES);
        json_object_set_new(j, "signed", json_pack("{s:s, s:s}", "body", body, "sig", sig));
    }
    free(body);
}

int client_file_digest(const char *cmd, const char *file, const char *salt_path, qc_hash_t *out) {
    uint8_t salt[QC_SALT_BYTES];
    char why[512];
    if (salt_path && client_salt_read(salt_path, salt, why, sizeof why) != QC_OK)
        return cli_fail(cmd, "%s", why);
    int rc = client_hash_file_salted(file, salt_path ? salt : NULL, out), err = errno;
    sodium_memzero(salt, sizeof salt);
    if (rc != QC_OK)
        return cli_fail(cmd, "%s: cannot read the file: %s", file, client_file_error(rc, err));
    return -1;
}
