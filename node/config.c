/* config.c - the node config file: one table of fields drives parsing, defaults and writing. */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    FIELD_U32,
    FIELD_U64,
    FIELD_BOOL,
    FIELD_ADDR,      /* "host:port" or absent (empty = derived from the genesis) */
    FIELD_PATH,      /* resolved against the config file's directory */
    FIELD_NAME,      /* a member name */
    FIELD_LOG_LEVEL,
} field_type_t;

typedef struct {
    const char *section;   /* NULL: top level */
    const char *key;
    field_type_t type;
    size_t offset;         /* into config_t */
    uint64_t min, max;     /* integers only */
    bool required;
} field_t;

#define OFF(member) offsetof(config_t, member)
#define U32(sec, key, member, lo, hi) {sec, key, FIELD_U32, OFF(member), lo, hi, false}
#define U64(sec, key, member, lo, hi) {sec, key, FIELD_U64, OFF(member), lo, hi, false}
#define KIB 1024ull
#define MIB (1024ull * 1024)
#define HOUR_MS 3600000ull

/* Order here is the order of docs/CONFIG.md and of config_encode's output. */
static const field_t k_fields[] = {
    {NULL, "city", FIELD_NAME, OFF(city), 0, 0, true},
    {NULL, "genesis", FIELD_PATH, OFF(genesis_path), 0, 0, true},
    {NULL, "data_dir", FIELD_PATH, OFF(data_dir), 0, 0, false},
    {NULL, "passphrase_file", FIELD_PATH, OFF(passphrase_file), 0, 0, false},
    {NULL, "log_level", FIELD_LOG_LEVEL, OFF(log_level), 0, 0, false},
    {"keys", "node", FIELD_PATH, OFF(key_paths[KEYS_ROLE_NODE]), 0, 0, false},
    {"keys", "seal", FIELD_PATH, OFF(key_paths[KEYS_ROLE_SEAL]), 0, 0, false},
    {"keys", "admin", FIELD_PATH, OFF(key_paths[KEYS_ROLE_ADMIN]), 0, 0, false},
    {"p2p", "listen", FIELD_ADDR, OFF(p2p.listen), 0, 0, false},
    U32("p2p", "max_frame_bytes", p2p.max_frame_bytes, 64 * KIB, 1024 * MIB),
    U64("p2p", "send_queue_bytes_max", p2p.send_queue_bytes_max, 1 * MIB, 64 * 1024 * MIB),
    U32("p2p", "connect_timeout_ms", p2p.connect_timeout_ms, 10, HOUR_MS),
    U32("p2p", "handshake_timeout_ms", p2p.handshake_timeout_ms, 10, HOUR_MS),
    U32("p2p", "reconnect_min_ms", p2p.reconnect_min_ms, 1, HOUR_MS),
    U32("p2p", "reconnect_max_ms", p2p.reconnect_max_ms, 1, HOUR_MS),
    U32("p2p", "keepalive_ms", p2p.keepalive_ms, 10, HOUR_MS),
    U32("p2p", "idle_timeout_ms", p2p.idle_timeout_ms, 20, HOUR_MS),
    U32("p2p", "pending_max", p2p.pending_max, 1, 100000),
    U32("p2p", "pending_per_source_max", p2p.pending_per_source_max, 1, 10000),
    U32("p2p", "accepts_per_tick_max", p2p.accepts_per_tick_max, 1, 100000),
    {"api", "enabled", FIELD_BOOL, OFF(api.enabled), 0, 0, false},
    {"api", "listen", FIELD_ADDR, OFF(api.listen), 0, 0, false},
    U32("api", "max_body_bytes", api.max_body_bytes, 1 * KIB, 1024 * MIB),
    U32("api", "max_header_bytes", api.max_header_bytes, 1 * KIB, 1 * MIB),
    U32("api", "max_connections", api.max_connections, 1, 1000000),
    U32("api", "max_connections_per_client", api.max_connections_per_client, 1, 1000000),
    U32("api", "header_timeout_ms", api.header_timeout_ms, 10, HOUR_MS),
    U32("api", "request_timeout_ms", api.request_timeout_ms, 10, HOUR_MS),
    U32("api", "wait_timeout_ms_max", api.wait_timeout_ms_max, 0, HOUR_MS),
    U32("mempool", "max_txs", mempool.max_txs, 1, 100000000),
    U64("mempool", "max_bytes", mempool.max_bytes, 1 * MIB, 1024 * 1024 * MIB),
    U32("block", "max_txs", block.max_txs, 0, QC_BLOCK_TXS_MAX),
    U32("block", "max_bytes", block.max_bytes, 64 * KIB, QC_BLOCK_BYTES_MAX),
    U32("catchup", "batch_blocks", catchup.batch_blocks, 1, 10000),
    U32("catchup", "peers", catchup.peers, 1, QC_VALIDATORS_MAX),
    U32("catchup", "request_timeout_ms", catchup.request_timeout_ms, 10, HOUR_MS),
    U32("ledger", "state_cache_mib", ledger.state_cache_mib, 0, 1024 * 1024),
    U32("verify", "workers", verify.workers, 0, 256),
};
#define FIELD_COUNT (sizeof k_fields / sizeof k_fields[0])

static const char *const k_sections[] = {"keys", "p2p", "api", "mempool", "block", "catchup",
                                         "ledger", "verify"};
#define SECTION_COUNT (sizeof k_sections / sizeof k_sections[0])

static const char *const k_level_names[] = {"debug", "info", "warn", "error", "off"};

const char *config_log_level_name(qc_log_level_t level) {
    QC_ASSERT(level >= QC_LOG_DEBUG && level <= QC_LOG_OFF);
    return k_level_names[level];
}

int config_log_level_parse(const char *s, qc_log_level_t *out) {
    for (int i = QC_LOG_DEBUG; i <= QC_LOG_OFF; i++) {
        if (strcmp(s, k_level_names[i]) == 0) {
            *out = (qc_log_level_t)i;
            return QC_OK;
        }
    }
    return QC_ERR_INVALID;
}

void config_defaults(config_t *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->data_dir, sizeof c->data_dir, "%s", CONFIG_DEFAULT_DATA_DIR);
    for (int r = 0; r < KEYS_ROLE_COUNT; r++) {
        snprintf(c->key_paths[r], sizeof c->key_paths[r], "keys/%s.key",
                 keys_role_name((keys_role_t)r));
    }
    c->log_level = CONFIG_DEFAULT_LOG_LEVEL;
    c->p2p = (config_p2p_t){
        .max_frame_bytes = CONFIG_DEFAULT_P2P_MAX_FRAME_BYTES,
        .send_queue_bytes_max = CONFIG_DEFAULT_P2P_SEND_QUEUE_BYTES,
        .connect_timeout_ms = CONFIG_DEFAULT_P2P_CONNECT_TIMEOUT_MS,
        .handshake_timeout_ms = CONFIG_DEFAULT_P2P_HANDSHAKE_TIMEOUT_MS,
        .reconnect_min_ms = CONFIG_DEFAULT_P2P_RECONNECT_MIN_MS,
        .reconnect_max_ms = CONFIG_DEFAULT_P2P_RECONNECT_MAX_MS,
        .keepalive_ms = CONFIG_DEFAULT_P2P_KEEPALIVE_MS,
        .idle_timeout_ms = CONFIG_DEFAULT_P2P_IDLE_TIMEOUT_MS,
        .pending_max = CONFIG_DEFAULT_P2P_PENDING_MAX,
        .pending_per_source_max = CONFIG_DEFAULT_P2P_PENDING_PER_SOURCE_MAX,
        .accepts_per_tick_max = CONFIG_DEFAULT_P2P_ACCEPTS_PER_TICK_MAX,
    };
    c->api = (config_api_t){
        .enabled = CONFIG_DEFAULT_API_ENABLED,
        .max_body_bytes = CONFIG_DEFAULT_API_MAX_BODY_BYTES,
        .max_header_bytes = CONFIG_DEFAULT_API_MAX_HEADER_BYTES,
        .max_connections = CONFIG_DEFAULT_API_MAX_CONNECTIONS,
        .max_connections_per_client = CONFIG_DEFAULT_API_MAX_CONNECTIONS_PER_CLIENT,
        .header_timeout_ms = CONFIG_DEFAULT_API_HEADER_TIMEOUT_MS,
        .request_timeout_ms = CONFIG_DEFAULT_API_REQUEST_TIMEOUT_MS,
        .wait_timeout_ms_max = CONFIG_DEFAULT_API_WAIT_TIMEOUT_MS_MAX,
    };
    c->mempool.max_txs = CONFIG_DEFAULT_MEMPOOL_MAX_TXS;
    c->mempool.max_bytes = CONFIG_DEFAULT_MEMPOOL_MAX_BYTES;
    c->block.max_txs = 0;
    c->block.max_bytes = CONFIG_DEFAULT_BLOCK_MAX_BYTES;
    c->catchup.batch_blocks = CONFIG_DEFAULT_CATCHUP_BATCH_BLOCKS;
    c->catchup.peers = CONFIG_DEFAULT_CATCHUP_PEERS;
    c->catchup.request_timeout_ms = CONFIG_DEFAULT_CATCHUP_REQUEST_TIMEOUT_MS;
}

/* ------------------------------------------------------------------------------ parsing */

/* Joins base_dir and a relative path in place (absolute paths and an empty base stay). */
static int resolve_path(const jsonv_t *v, const char *field, char *path, const char *base_dir) {
    if (base_dir == NULL || base_dir[0] == '\0' || path[0] == '/') return QC_OK;
    char joined[CONFIG_PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s/%s", base_dir, path);
    if (n < 0 || (size_t)n >= sizeof joined) {
        return jsonv_fail(v, QC_ERR_INVALID, "%s: path longer than %d bytes once resolved", field,
                          CONFIG_PATH_MAX - 1);
    }
    memcpy(path, joined, (size_t)n + 1);
    return QC_OK;
}

static int parse_field(const jsonv_t *v, const json_t *obj, const field_t *f,
                       const char *base_dir, config_t *c) {
    const char *sec = f->section != NULL ? f->section : "";
    char *base = (char *)c + f->offset;
    char p[JSONV_PATH_MAX];
    jsonv_path_key(p, sec, f->key);
    if (obj == NULL) return QC_OK; /* optional section absent: all defaults */
    switch (f->type) {
    case FIELD_U32:
        return jsonv_u32(v, obj, sec, f->key, f->required, (uint32_t)f->min, (uint32_t)f->max,
                         (uint32_t *)(void *)base);
    case FIELD_U64:
        return jsonv_u64(v, obj, sec, f->key, f->required, f->min, f->max,
                         (uint64_t *)(void *)base);
    case FIELD_BOOL: return jsonv_bool(v, obj, sec, f->key, f->required, (bool *)(void *)base);
    case FIELD_ADDR: return jsonv_addr(v, obj, sec, f->key, f->required, base);
    case FIELD_PATH: {
        int rc = jsonv_string(v, obj, sec, f->key, f->required, CONFIG_PATH_MAX - 1, base);
        if (rc == QC_OK && json_object_get(obj, f->key) != NULL) {
            rc = resolve_path(v, p, base, base_dir);
        }
        return rc;
    }
    case FIELD_NAME: {
        int rc = jsonv_string(v, obj, sec, f->key, f->required, QC_MEMBER_NAME_MAX, base);
        if (rc == QC_OK && !genesis_name_valid(base)) {
            rc = jsonv_fail(v, QC_ERR_INVALID, "%s: expected a member name of [a-z0-9-]", p);
        }
        return rc;
    }
    case FIELD_LOG_LEVEL: {
        char name[16] = "";
        int rc = jsonv_string(v, obj, sec, f->key, f->required, sizeof name - 1, name);
        if (rc == QC_OK && name[0] != '\0' &&
            config_log_level_parse(name, (qc_log_level_t *)(void *)base) != QC_OK) {
            rc = jsonv_fail(v, QC_ERR_INVALID,
                            "%s: expected \"debug\", \"info\", \"warn\", \"error\" or \"off\"", p);
        }
        return rc;
    }
    }
    QC_ASSERT(!"config: unhandled field type");
    return QC_ERR_STATE;
}

/* The allowed keys of one section (NULL: the top level) as a NULL-terminated list. */
static void allowed_keys(const char *section, const char *out[FIELD_COUNT + SECTION_COUNT + 2]) {
    size_t n = 0;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        bool same = section == NULL ? k_fields[i].section == NULL
                                    : k_fields[i].section != NULL &&
                                          strcmp(k_fields[i].section, section) == 0;
        if (same) out[n++] = k_fields[i].key;
    }
    if (section == NULL) {
        out[n++] = "version";
        for (size_t i = 0; i < SECTION_COUNT; i++) out[n++] = k_sections[i];
    }
    out[n] = NULL;
}

static int check_cross_fields(const jsonv_t *v, const config_t *c) {
    if (c->p2p.reconnect_max_ms < c->p2p.reconnect_min_ms) {
        return jsonv_fail(v, QC_ERR_INVALID,
                          "p2p.reconnect_max_ms: %u is less than p2p.reconnect_min_ms (%u)",
                          c->p2p.reconnect_max_ms, c->p2p.reconnect_min_ms);
    }
    if (c->p2p.idle_timeout_ms <= c->p2p.keepalive_ms) {
        return jsonv_fail(v, QC_ERR_INVALID,
                          "p2p.idle_timeout_ms: %u must exceed p2p.keepalive_ms (%u)",
                          c->p2p.idle_timeout_ms, c->p2p.keepalive_ms);
    }
    if (c->p2p.max_frame_bytes <= c->block.max_bytes) {
        return jsonv_fail(v, QC_ERR_INVALID,
                          "p2p.max_frame_bytes: %u must exceed block.max_bytes (%u) so a block "
                          "fits in a frame",
                          c->p2p.max_frame_bytes, c->block.max_bytes);
    }
    return QC_OK;
}

static int parse_root(const jsonv_t *v, const json_t *root, const char *base_dir, config_t *c) {
    const char *allowed[FIELD_COUNT + SECTION_COUNT + 2];
    allowed_keys(NULL, allowed);
    int rc = jsonv_known_keys(v, root, "", allowed);
    uint32_t version = CONFIG_VERSION;
    if (rc == QC_OK) rc = jsonv_u32(v, root, "", "version", false, 1, UINT32_MAX, &version);
    if (rc == QC_OK && version != CONFIG_VERSION) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "version: %u is not supported (this build reads %d)",
                        version, CONFIG_VERSION);
    }
    json_t *sections[SECTION_COUNT] = {NULL};
    for (size_t s = 0; rc == QC_OK && s < SECTION_COUNT; s++) {
        rc = jsonv_object(v, root, "", k_sections[s], false, &sections[s]);
        if (rc == QC_OK && sections[s] != NULL) {
            allowed_keys(k_sections[s], allowed);
            rc = jsonv_known_keys(v, sections[s], k_sections[s], allowed);
        }
    }
    for (size_t i = 0; rc == QC_OK && i < FIELD_COUNT; i++) {
        const json_t *obj = root;
        for (size_t s = 0; k_fields[i].section != NULL && s < SECTION_COUNT; s++) {
            if (strcmp(k_fields[i].section, k_sections[s]) == 0) obj = sections[s];
        }
        rc = parse_field(v, obj, &k_fields[i], base_dir, c);
    }
    if (rc == QC_OK) rc = check_cross_fields(v, c);
    return rc;
}

int config_parse(const void *buf, size_t len, const char *base_dir, config_t *c, char *reason,
                 size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    json_t *root = NULL;
    config_defaults(c);
    /* Default relative paths resolve against the config's directory too. */
    int rc = resolve_path(&v, "data_dir", c->data_dir, base_dir);
    for (int r = 0; rc == QC_OK && r < KEYS_ROLE_COUNT; r++) {
        rc = resolve_path(&v, "keys", c->key_paths[r], base_dir);
    }
    if (rc == QC_OK) rc = jsonv_parse(&v, buf, len, &root);
    if (rc == QC_OK) rc = parse_root(&v, root, base_dir, c);
    json_decref(root);
    return rc;
}

int config_load(const char *path, config_t *c, char *reason, size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    uint8_t *buf = NULL;
    size_t len = 0;
    char *copy = NULL, *dir = NULL;
    int rc = jsonv_read_file(&v, path, CONFIG_FILE_BYTES_MAX, &buf, &len);
    if (rc != QC_OK) goto fail;
    /* The directory of path, made absolute so a daemon that changes directory keeps working. */
    copy = strdup(path);
    if (copy == NULL) {
        rc = jsonv_fail(&v, QC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    char *slash = strrchr(copy, '/');
    if (slash == copy) slash[1] = '\0';
    else if (slash != NULL) *slash = '\0';
    dir = realpath(slash != NULL ? copy : ".", NULL);
    if (dir == NULL) {
        rc = jsonv_fail(&v, QC_ERR_IO, "cannot resolve the config file's directory");
        goto fail;
    }
    rc = config_parse(buf, len, dir, c, reason, reason_cap);
fail:
    if (rc != QC_OK) jsonv_prefix(&v, path);
    free(dir);
    free(copy);
    free(buf);
    return rc;
}

int config_apply_genesis(config_t *c, const genesis_t *g, uint32_t *member_index, char *reason,
                         size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    int idx = genesis_find_member(g, c->city);
    if (idx < 0 && (c->p2p.listen[0] == '\0' || c->api.listen[0] == '\0')) {
        return jsonv_fail(&v, QC_ERR_MEMBER, "city: \"%s\" is not a member of chain %s's genesis; "
                          "a city that joined later sets p2p.listen and api.listen",
                          c->city, g->chain_id);
    }
    if (idx >= 0 && c->p2p.listen[0] == '\0')
        memcpy(c->p2p.listen, g->info[idx].p2p_address, sizeof c->p2p.listen);
    if (idx >= 0 && c->api.listen[0] == '\0') {
        snprintf(c->api.listen, sizeof c->api.listen, "127.0.0.1:%u",
                 (unsigned)jsonv_addr_port(g->info[idx].api_address));
    }
    if (c->block.max_txs == 0) c->block.max_txs = g->consensus.block_max_txs;
    if (c->block.max_txs > g->consensus.block_max_txs) {
        return jsonv_fail(&v, QC_ERR_INVALID,
                          "block.max_txs: %u exceeds the genesis consensus.block_max_txs (%u)",
                          c->block.max_txs, g->consensus.block_max_txs);
    }
    *member_index = idx >= 0 ? (uint32_t)idx : UINT32_MAX;
    return QC_OK;
}

/* ------------------------------------------------------------------------------ writing */

static json_t *field_json(const field_t *f, const config_t *c) {
    const char *base = (const char *)c + f->offset;
    switch (f->type) {
    case FIELD_U32: return json_integer((json_int_t) * (const uint32_t *)(const void *)base);
    case FIELD_U64: return json_integer((json_int_t) * (const uint64_t *)(const void *)base);
    case FIELD_BOOL: return json_boolean(*(const bool *)(const void *)base);
    case FIELD_LOG_LEVEL:
        return json_string(config_log_level_name(*(const qc_log_level_t *)(const void *)base));
    case FIELD_ADDR:
    case FIELD_PATH:
    case FIELD_NAME: return base[0] != '\0' ? json_string(base) : NULL; /* "" = not written */
    }
    return NULL;
}

int config_encode(const config_t *c, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    json_t *root = json_pack("{s:i}", "version", CONFIG_VERSION);
    if (root == NULL) return QC_ERR_NOMEM;
    int rc = QC_OK;
    for (size_t i = 0; rc == QC_OK && i < FIELD_COUNT; i++) {
        const field_t *f = &k_fields[i];
        json_t *obj = root;
        if (f->section != NULL) {
            obj = json_object_get(root, f->section);
            if (obj == NULL && json_object_set_new(root, f->section, json_object()) != 0) {
                rc = QC_ERR_NOMEM;
                break;
            }
            obj = json_object_get(root, f->section);
        }
        json_t *val = field_json(f, c);
        if (val == NULL && (f->type == FIELD_U32 || f->type == FIELD_U64 ||
                            f->type == FIELD_BOOL || f->type == FIELD_LOG_LEVEL)) {
            rc = QC_ERR_NOMEM;
        }
        if (val != NULL && json_object_set_new(obj, f->key, val) != 0) rc = QC_ERR_NOMEM;
    }
    if (rc == QC_OK) rc = jsonv_dump(root, out, len);
    json_decref(root);
    return rc;
}

int config_write(const char *path, const config_t *c, bool exclusive, char *reason,
                 size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    char *text = NULL;
    size_t len = 0;
    config_t check;
    int rc = config_encode(c, &text, &len);
    if (rc != QC_OK) jsonv_fail(&v, rc, "out of memory");
    /* Never write a config this build would refuse to load. */
    if (rc == QC_OK) rc = config_parse(text, len, NULL, &check, reason, reason_cap);
    if (rc == QC_OK) rc = jsonv_write_file(&v, path, text, len, 0644, exclusive);
    if (rc != QC_OK) jsonv_prefix(&v, path);
    free(text);
    return rc;
}
