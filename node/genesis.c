/* genesis.c - strict loader and canonical writer of the genesis file (docs/GENESIS.md). */
#include "genesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define GENESIS_TIME_MS_MAX 253402300799999ull /* 9999-12-31T23:59:59.999Z */

static const char *const k_top_fields[] = {"version",   "chain_id",  "genesis_time_ms",
                                           "members",   "consensus", "governance", NULL};
static const char *const k_member_fields[] = {"name",        "display_name", "node_key",
                                              "seal_key",    "admin_key",    "p2p_address",
                                              "api_address", NULL};
static const char *const k_consensus_fields[] = {"checkpoint_interval", "window",
                                                 "view_timeout_ms",     "block_max_txs",
                                                 "block_interval_ms",   NULL};
static const char *const k_governance_fields[] = {"threshold", NULL};
static const char *const k_key_fields[KEYS_ROLE_COUNT] = {"node_key", "seal_key", "admin_key"};

bool genesis_name_valid(const char *name) { return qc_member_name_valid(name); }

const qc_pubkey_t *genesis_member_key(const genesis_t *g, uint32_t index, keys_role_t role) {
    QC_ASSERT(index < g->validators.n);
    const qc_member_t *m = &g->validators.members[index];
    switch (role) {
    case KEYS_ROLE_NODE: return &m->node_key;
    case KEYS_ROLE_SEAL: return &m->seal_key;
    case KEYS_ROLE_ADMIN: return &m->admin_key;
    default: QC_ASSERT(!"genesis_member_key: role must be node, seal or admin");
    }
    return NULL;
}

int genesis_find_member(const genesis_t *g, const char *name) {
    for (uint32_t i = 0; i < g->validators.n; i++) {
        if (strcmp(g->validators.members[i].name, name) == 0) return (int)i;
    }
    return -1;
}

void genesis_init(genesis_t *g, const char *chain_id, uint64_t genesis_time_ms) {
    memset(g, 0, sizeof *g);
    g->version = GENESIS_VERSION;
    snprintf(g->chain_id, sizeof g->chain_id, "%s", chain_id);
    g->genesis_time_ms = genesis_time_ms;
    g->consensus.checkpoint_interval = GENESIS_DEFAULT_CHECKPOINT_INTERVAL;
    g->consensus.window = GENESIS_DEFAULT_WINDOW;
    g->consensus.view_timeout_ms = GENESIS_DEFAULT_VIEW_TIMEOUT_MS;
    g->consensus.block_max_txs = GENESIS_DEFAULT_BLOCK_MAX_TXS;
    g->consensus.block_interval_ms = GENESIS_DEFAULT_BLOCK_INTERVAL_MS;
}

/* Copies s into dst (cap bytes) or fails if it does not fit. */
static bool copy_str(char *dst, size_t cap, const char *s) {
    size_t n = strlen(s);
    if (n >= cap) return false;
    memcpy(dst, s, n + 1);
    return true;
}

int genesis_add_member(genesis_t *g, const char *name, const char *display_name,
                       const qc_pubkey_t *node_key, const qc_pubkey_t *seal_key,
                       const qc_pubkey_t *admin_key, const char *p2p_address,
                       const char *api_address) {
    if (g->validators.n >= QC_VALIDATORS_MAX) return QC_ERR_FULL;
    qc_member_t *m = &g->validators.members[g->validators.n];
    genesis_member_info_t *info = &g->info[g->validators.n];
    if (!copy_str(m->name, sizeof m->name, name) ||
        !copy_str(info->display_name, sizeof info->display_name, display_name) ||
        !copy_str(info->p2p_address, sizeof info->p2p_address, p2p_address) ||
        !copy_str(info->api_address, sizeof info->api_address, api_address)) {
        memset(m, 0, sizeof *m);
        memset(info, 0, sizeof *info);
        return QC_ERR_INVALID;
    }
    m->node_key = *node_key;
    m->seal_key = *seal_key;
    m->admin_key = *admin_key;
    g->validators.n++;
    return QC_OK;
}

/* ------------------------------------------------------------------------------ loading */

static int parse_member(const jsonv_t *v, const json_t *obj, uint32_t index, genesis_t *g) {
    char path[JSONV_PATH_MAX], p[JSONV_PATH_MAX];
    qc_member_t *m = &g->validators.members[index];
    genesis_member_info_t *info = &g->info[index];
    jsonv_path_index(path, "members", index);
    int rc = jsonv_known_keys(v, obj, path, k_member_fields);
    if (rc == QC_OK) rc = jsonv_string(v, obj, path, "name", true, QC_MEMBER_NAME_MAX, m->name);
    if (rc == QC_OK && !genesis_name_valid(m->name)) {
        rc = jsonv_fail(v, QC_ERR_INVALID,
                        "%s.name: expected 1..%d chars of [a-z0-9-], got \"%s\"", path,
                        QC_MEMBER_NAME_MAX, m->name);
    }
    if (rc == QC_OK) {
        rc = jsonv_string(v, obj, path, "display_name", true, GENESIS_DISPLAY_NAME_MAX,
                          info->display_name);
    }
    for (int role = 0; rc == QC_OK && role < KEYS_ROLE_COUNT; role++) {
        uint8_t *key = (uint8_t *)genesis_member_key(g, index, (keys_role_t)role)->b;
        rc = jsonv_hex(v, obj, path, k_key_fields[role], key, QC_PUBKEY_BYTES);
        if (rc == QC_OK && crypto_core_ed25519_is_valid_point(key) != 1) {
            jsonv_path_key(p, path, k_key_fields[role]);
            rc = jsonv_fail(v, QC_ERR_INVALID, "%s: not a valid Ed25519 public key", p);
        }
    }
    if (rc == QC_OK) rc = jsonv_addr(v, obj, path, "p2p_address", true, info->p2p_address);
    if (rc == QC_OK) rc = jsonv_addr(v, obj, path, "api_address", true, info->api_address);
    return rc;
}

/* Refuses two members sharing a name, any key (in any role), or an address. */
static int check_unique(const jsonv_t *v, const genesis_t *g) {
    const uint32_t n = g->validators.n;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(g->validators.members[i].name, g->validators.members[j].name) == 0) {
                return jsonv_fail(v, QC_ERR_INVALID,
                                  "members[%u].name: \"%s\" is already used by members[%u]", i,
                                  g->validators.members[i].name, j);
            }
            if (strcmp(g->info[i].p2p_address, g->info[j].p2p_address) == 0) {
                return jsonv_fail(v, QC_ERR_INVALID,
                                  "members[%u].p2p_address: %s is already used by members[%u]",
                                  i, g->info[i].p2p_address, j);
            }
            if (strcmp(g->info[i].api_address, g->info[j].api_address) == 0) {
                return jsonv_fail(v, QC_ERR_INVALID,
                                  "members[%u].api_address: %s is already used by members[%u]",
                                  i, g->info[i].api_address, j);
            }
        }
    }
    /* Every key once across all 3n keys: a key shared by two roles defeats role separation. */
    for (uint32_t a = 0; a < KEYS_ROLE_COUNT * n; a++) {
        for (uint32_t b = 0; b < a; b++) {
            const qc_pubkey_t *ka = genesis_member_key(g, a / KEYS_ROLE_COUNT,
                                                       (keys_role_t)(a % KEYS_ROLE_COUNT));
            const qc_pubkey_t *kb = genesis_member_key(g, b / KEYS_ROLE_COUNT,
                                                       (keys_role_t)(b % KEYS_ROLE_COUNT));
            if (memcmp(ka->b, kb->b, QC_PUBKEY_BYTES) == 0) {
                return jsonv_fail(v, QC_ERR_INVALID,
                                  "members[%u].%s: the same key as members[%u].%s",
                                  a / KEYS_ROLE_COUNT, k_key_fields[a % KEYS_ROLE_COUNT],
                                  b / KEYS_ROLE_COUNT, k_key_fields[b % KEYS_ROLE_COUNT]);
            }
        }
    }
    return QC_OK;
}

static int parse_consensus(const jsonv_t *v, const json_t *obj, genesis_consensus_t *c) {
    const char *p = "consensus";
    int rc = jsonv_known_keys(v, obj, p, k_consensus_fields);
    if (rc == QC_OK) {
        rc = jsonv_u32(v, obj, p, "checkpoint_interval", true, 1,
                       GENESIS_CHECKPOINT_INTERVAL_MAX, &c->checkpoint_interval);
    }
    if (rc == QC_OK) rc = jsonv_u32(v, obj, p, "window", true, 2, GENESIS_WINDOW_MAX, &c->window);
    if (rc == QC_OK && (uint64_t)c->window < 2ull * c->checkpoint_interval) {
        rc = jsonv_fail(v, QC_ERR_INVALID,
                        "consensus.window: %u is less than 2 * checkpoint_interval (%u)",
                        c->window, c->checkpoint_interval);
    }
    if (rc == QC_OK) {
        rc = jsonv_u32(v, obj, p, "view_timeout_ms", true, GENESIS_VIEW_TIMEOUT_MS_MIN,
                       GENESIS_VIEW_TIMEOUT_MS_MAX, &c->view_timeout_ms);
    }
    if (rc == QC_OK) {
        rc = jsonv_u32(v, obj, p, "block_max_txs", true, 1, QC_BLOCK_TXS_MAX, &c->block_max_txs);
    }
    if (rc == QC_OK) {
        rc = jsonv_u32(v, obj, p, "block_interval_ms", true, 1, GENESIS_BLOCK_INTERVAL_MS_MAX,
                       &c->block_interval_ms);
    }
    return rc;
}

static int parse_root(const jsonv_t *v, const json_t *root, genesis_t *g) {
    json_t *members = NULL, *consensus = NULL, *governance = NULL;
    int rc = jsonv_known_keys(v, root, "", k_top_fields);
    if (rc == QC_OK) rc = jsonv_u32(v, root, "", "version", true, 1, UINT32_MAX, &g->version);
    if (rc == QC_OK && g->version != GENESIS_VERSION) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "version: %u is not supported (this build reads %d)",
                        g->version, GENESIS_VERSION);
    }
    if (rc == QC_OK) rc = jsonv_string(v, root, "", "chain_id", true, QC_CHAIN_ID_MAX, g->chain_id);
    if (rc == QC_OK && !qc_chain_id_valid(g->chain_id)) {
        rc = jsonv_fail(v, QC_ERR_INVALID, "chain_id: expected 1..%d chars of [A-Za-z0-9._-]",
                        QC_CHAIN_ID_MAX);
    }
    if (rc == QC_OK) {
        rc = jsonv_u64(v, root, "", "genesis_time_ms", true, 0, GENESIS_TIME_MS_MAX,
                       &g->genesis_time_ms);
    }
    if (rc == QC_OK) {
        rc = jsonv_array(v, root, "", "members", true, GENESIS_MEMBERS_MIN, QC_VALIDATORS_MAX,
                         &members);
    }
    for (size_t i = 0; rc == QC_OK && i < json_array_size(members); i++) {
        g->validators.n = (uint32_t)i + 1;
        rc = parse_member(v, json_array_get(members, i), (uint32_t)i, g);
    }
    if (rc == QC_OK) rc = check_unique(v, g);
    if (rc == QC_OK) rc = jsonv_object(v, root, "", "consensus", true, &consensus);
    if (rc == QC_OK) rc = parse_consensus(v, consensus, &g->consensus);
    if (rc == QC_OK) rc = jsonv_object(v, root, "", "governance", true, &governance);
    if (rc == QC_OK) rc = jsonv_known_keys(v, governance, "governance", k_governance_fields);
    if (rc == QC_OK) {
        rc = jsonv_u32(v, governance, "governance", "threshold", true, 1, g->validators.n,
                       &g->validators.governance_threshold);
    }
    return rc;
}

int genesis_parse(const void *buf, size_t len, genesis_t *g, char *reason, size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    json_t *root = NULL;
    memset(g, 0, sizeof *g);
    int rc = qc_crypto_init() == QC_OK ? QC_OK : jsonv_fail(&v, QC_ERR_CRYPTO, "libsodium init");
    if (rc == QC_OK) rc = jsonv_parse(&v, buf, len, &root);
    if (rc == QC_OK) rc = parse_root(&v, root, g);
    json_decref(root);
    if (rc != QC_OK) {
        memset(g, 0, sizeof *g);
        return rc;
    }
    g->validators.epoch = 0;
    qc_hash_ctx(&g->hash, QC_CTX_GENESIS, buf, len);
    return QC_OK;
}

int genesis_load(const char *path, genesis_t *g, char *reason, size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = jsonv_read_file(&v, path, GENESIS_FILE_BYTES_MAX, &buf, &len);
    if (rc == QC_OK) rc = genesis_parse(buf, len, g, reason, reason_cap);
    if (rc != QC_OK) jsonv_prefix(&v, path);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------------ writing */

static json_t *member_json(const genesis_t *g, uint32_t i) {
    char hex[KEYS_ROLE_COUNT][2 * QC_PUBKEY_BYTES + 1];
    for (int role = 0; role < KEYS_ROLE_COUNT; role++) {
        qc_hex_encode(hex[role], genesis_member_key(g, i, (keys_role_t)role)->b, QC_PUBKEY_BYTES);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", g->validators.members[i].name,
                     "display_name", g->info[i].display_name, "node_key", hex[0], "seal_key",
                     hex[1], "admin_key", hex[2], "p2p_address", g->info[i].p2p_address,
                     "api_address", g->info[i].api_address);
}

static json_t *genesis_json(const genesis_t *g) {
    json_t *members = json_array();
    for (uint32_t i = 0; members != NULL && i < g->validators.n; i++) {
        if (json_array_append_new(members, member_json(g, i)) != 0) {
            json_decref(members);
            members = NULL;
        }
    }
    const genesis_consensus_t *c = &g->consensus;
    json_t *consensus = json_pack(
        "{s:I, s:I, s:I, s:I, s:I}", "checkpoint_interval", (json_int_t)c->checkpoint_interval,
        "window", (json_int_t)c->window, "view_timeout_ms", (json_int_t)c->view_timeout_ms,
        "block_max_txs", (json_int_t)c->block_max_txs, "block_interval_ms",
        (json_int_t)c->block_interval_ms);
    json_t *governance = json_pack("{s:I}", "threshold",
                                   (json_int_t)g->validators.governance_threshold);
    /* "o" steals each reference, also when packing fails (jansson >= 2.11). */
    return json_pack("{s:I, s:s, s:I, s:o, s:o, s:o}", "version", (json_int_t)g->version,
                     "chain_id", g->chain_id, "genesis_time_ms", (json_int_t)g->genesis_time_ms,
                     "members", members, "consensus", consensus, "governance", governance);
}

int genesis_encode(genesis_t *g, char **out, size_t *len, char *reason, size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    genesis_t check;
    *out = NULL;
    *len = 0;
    if (g->validators.governance_threshold == 0) {
        g->validators.governance_threshold = qc_quorum(g->validators.n);
    }
    json_t *root = genesis_json(g);
    if (root == NULL) {
        return jsonv_fail(&v, QC_ERR_INVALID,
                          "cannot encode the genesis (out of memory, or a string is not UTF-8)");
    }
    int rc = jsonv_dump(root, out, len);
    json_decref(root);
    if (rc != QC_OK) return jsonv_fail(&v, rc, "out of memory");
    rc = genesis_parse(*out, *len, &check, reason, reason_cap);
    if (rc != QC_OK) {
        free(*out);
        *out = NULL;
        *len = 0;
        return rc;
    }
    g->hash = check.hash;
    return QC_OK;
}

int genesis_write(const char *path, genesis_t *g, bool exclusive, char *reason,
                  size_t reason_cap) {
    jsonv_t v = {reason, reason_cap};
    char *text = NULL;
    size_t len = 0;
    int rc = genesis_encode(g, &text, &len, reason, reason_cap);
    if (rc == QC_OK) {
        rc = jsonv_write_file(&v, path, text, len, 0644, exclusive);
        if (rc != QC_OK) jsonv_prefix(&v, path);
    }
    free(text);
    return rc;
}
