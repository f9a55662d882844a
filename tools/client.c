/* client.c - the CLI's HTTP client (libcurl), identity loading and file hashing. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

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
    const char *path = id->cfg.key_paths[KEYS_ROLE_SEAL];
    char pass[KEYS_PASSPHRASE_MAX + 1] = "";
    const char *pp = NULL;
    if (keys_file_encrypted(path)) {
        if (keys_passphrase_get(id->cfg.passphrase_file[0] ? id->cfg.passphrase_file : NULL, pass,
                                sizeof pass, reason, sizeof reason) != QC_OK) {
            WHY("seal key passphrase: %s", reason);
            return QC_ERR_CRYPTO;
        }
        pp = pass;
    }
    int rc = keys_load_secret(path, pp, KEYS_ROLE_SEAL, &id->seal, reason, sizeof reason);
    sodium_memzero(pass, sizeof pass);
    if (rc != QC_OK) { WHY("seal key %s: %s", path, reason); return rc; }
    id->has_seal = true;
    return QC_OK;
}

void client_identity_wipe(client_identity_t *id) {
    if (id->has_seal) keys_pair_wipe(&id->seal);
    id->has_seal = false;
}

int client_hash_file(const char *path, qc_hash_t *out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return QC_ERR_NOTFOUND;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) crypto_hash_sha256_update(&st, buf, n);
    int rc = ferror(f) ? QC_ERR_IO : QC_OK;
    fclose(f);
    crypto_hash_sha256_final(&st, out->b);
    return rc;
}
