/* cityproof.c - city log completeness proofs (cityproof.h): leaf, key and head hashing, the
 * range walk of §13.4 step 5, the JSON form and offline verification. */
#include "cityproof.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

static const char CTX_LEAF[] = "qchain/v1/city-leaf"; /* sizeof includes the 0x00 */
static const char CTX_KEY[] = "qchain/v1/city-key";
static const char CTX_HEAD[] = "qchain/v1/city-head";

static const char *const kind_names[] = {NULL, "anchor", "endorse", "revoke", "supersede-old",
                                         "supersede-new"};
#define KIND_MAX QC_CITY_SUPERSEDE_NEW

void qc_city_leaf_data(const qc_city_leaf_t *l, uint8_t out[QC_CITY_LEAF_BYTES]) {
    uint8_t *p = out;
    memcpy(p, CTX_LEAF, sizeof CTX_LEAF);
    p += sizeof CTX_LEAF;
    qc_put_u64(p, l->height);
    p += 8;
    memcpy(p, l->tx_id.b, QC_HASH_BYTES);
    p += QC_HASH_BYTES;
    qc_put_u16(p, l->index);
    p += 2;
    *p++ = l->kind;
    memcpy(p, l->digest.b, QC_HASH_BYTES);
    QC_ASSERT(p + QC_HASH_BYTES == out + QC_CITY_LEAF_BYTES);
}

void qc_city_leaf_hash(const qc_city_leaf_t *l, qc_hash_t *out) {
    uint8_t data[QC_CITY_LEAF_BYTES];
    qc_city_leaf_data(l, data);
    merkle_leaf_hash(out, data, sizeof data);
}

void qc_city_key(const char *name, qc_hash_t *out) {
    uint8_t buf[sizeof CTX_KEY + 1 + 255];
    size_t n = strlen(name);
    if (n > 255) n = 255;
    memcpy(buf, CTX_KEY, sizeof CTX_KEY);
    buf[sizeof CTX_KEY] = (uint8_t)n;
    memcpy(buf + sizeof CTX_KEY + 1, name, n);
    qc_sha256(out, buf, sizeof CTX_KEY + 1 + n);
}

void qc_city_head(uint64_t size, const qc_hash_t *root, qc_hash_t *out) {
    uint8_t buf[sizeof CTX_HEAD + 8 + QC_HASH_BYTES];
    memcpy(buf, CTX_HEAD, sizeof CTX_HEAD);
    qc_put_u64(buf + sizeof CTX_HEAD, size);
    memcpy(buf + sizeof CTX_HEAD + 8, root->b, QC_HASH_BYTES);
    qc_sha256(out, buf, sizeof buf);
}

const char *qc_city_kind_name(uint8_t kind) {
    return kind >= 1 && kind <= KIND_MAX ? kind_names[kind] : NULL;
}

int qc_city_kind_parse(const char *name, uint8_t *kind) {
    for (uint8_t k = 1; k <= KIND_MAX; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = k;
            return QC_OK;
        }
    return QC_ERR_INVALID;
}

/* ---- §13.4 step 5 --------------------------------------------------------------------- */

typedef struct {
    const qc_hash_t *leaves; /* hashes of leaves [lo, hi) */
    uint64_t lo, hi;
    const qc_hash_t *hashes;
    size_t count, next;
} walk_t;

/* T(s, n) into *out; depth bounds the recursion (a valid tree is at most 63 deep). */
static int walk(walk_t *w, uint64_t s, uint64_t n, unsigned depth, qc_hash_t *out) {
    if (depth > CITYPROOF_DEPTH_MAX) return QC_ERR_INVALID;
    if (w->lo == w->hi || s + n <= w->lo || s >= w->hi) { /* shares no leaf with R */
        if (w->next >= w->count) return QC_ERR_INVALID;
        *out = w->hashes[w->next++];
        return QC_OK;
    }
    if (n == 1) {
        *out = w->leaves[s - w->lo];
        return QC_OK;
    }
    uint64_t m = UINT64_C(1) << (63 - __builtin_clzll(n - 1)); /* largest power of 2 < n */
    qc_hash_t l, r;
    int rc = walk(w, s, m, depth + 1, &l);
    if (rc == QC_OK) rc = walk(w, s + m, n - m, depth + 1, &r);
    if (rc == QC_OK) merkle_node_hash(out, &l, &r);
    return rc;
}

int cityproof_range_root(const qc_hash_t *leaf_hashes, size_t k, uint64_t lo, uint64_t n,
                         const qc_hash_t *hashes, size_t hash_count, qc_hash_t *root) {
    if (n == 0 || n > MERKLE_SIZE_MAX || lo > n || k > n - lo) return QC_ERR_INVALID;
    walk_t w = {leaf_hashes, lo, lo + k, hashes, hash_count, 0};
    int rc = walk(&w, 0, n, 0, root);
    if (rc == QC_OK && w.next != hash_count) rc = QC_ERR_INVALID;
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------ */

void cityproof_free(cityproof_t *p) {
    free(p->membership);
    free(p->map_proof);
    free(p->leaves);
    free(p->hashes);
    memset(p, 0, sizeof *p);
}

static json_t *leaf_json(const qc_city_leaf_t *l) {
    const char *kind = qc_city_kind_name(l->kind);
    if (kind == NULL) return NULL;
    return json_pack("{s:I, s:o, s:i, s:s, s:o}", "height", (json_int_t)l->height, "tx_id",
                     receipt_hex_json(l->tx_id.b, 32), "index", (int)l->index, "kind", kind,
                     "digest", receipt_hex_json(l->digest.b, 32));
}

json_t *cityproof_to_json(const cityproof_t *p) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    if (qc_header_encode(&p->header, hdr, sizeof hdr, &hlen) != QC_OK) return NULL;
    json_t *leaves = json_array(), *hashes = json_array();
    bool ok = leaves && hashes;
    for (size_t i = 0; ok && i < p->leaf_count; i++)
        ok = json_array_append_new(leaves, leaf_json(&p->leaves[i])) == 0;
    for (size_t i = 0; ok && i < p->hash_count; i++)
        ok = json_array_append_new(hashes, receipt_hex_json(p->hashes[i].b, 32)) == 0;
    json_t *membership = ok ? receipt_membership_json(p->membership, p->membership_len) : NULL;
    if (membership == NULL) {
        json_decref(leaves);
        json_decref(hashes);
        return NULL;
    }
    /* (map_proof is never empty in a parsed proof; an empty one is written as "" and refused
     * on reading) */
    json_t *map_proof = p->map_proof_len ? receipt_hex_json(p->map_proof, p->map_proof_len)
                                         : json_string("");
    return json_pack("{s:i, s:s, s:o, s:s, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:I, s:o, s:o}",
                     "qchain_city_log_proof", CITYPROOF_VERSION, "chain_id", p->chain_id,
                     "genesis_hash", receipt_hex_json(p->genesis_hash.b, 32), "city", p->city,
                     "from_height", (json_int_t)p->from_height, "to_height",
                     (json_int_t)p->to_height, "header", receipt_hex_json(hdr, hlen), "cert",
                     receipt_cert_json(&p->cert), "membership", membership, "log_size",
                     (json_int_t)p->log_size, "log_root", receipt_hex_json(p->log_root.b, 32),
                     "map_proof", map_proof, "first_index", (json_int_t)p->first_index,
                     "leaves", leaves, "hashes", hashes);
}

/* Whether every member of object j is one of keys (NULL-terminated); else why names it. */
static bool only_keys(const json_t *j, const char *const *keys, const char *what, char *why,
                      size_t why_cap) {
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)j, key, val) {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++) known = strcmp(keys[i], key) == 0;
        if (!known) {
            WHY("%s has an unknown field \"%s\"", what, key);
            return false;
        }
    }
    return true;
}

static bool hash_value(const json_t *v, qc_hash_t *out) {
    return json_is_string(v) && qc_hex_decode(out->b, 32, json_string_value(v)) == QC_OK;
}

static bool hash_member(const json_t *j, const char *key, qc_hash_t *out, char *why,
                        size_t why_cap) {
    if (!hash_value(json_object_get(j, key), out)) {
        WHY("city log proof field \"%s\": expected 32 hex bytes", key);
        return false;
    }
    return true;
}

/* A non-negative JSON integer member. */
static bool u64_member(const json_t *j, const char *key, uint64_t *out, char *why,
                       size_t why_cap) {
    const json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        WHY("city log proof field \"%s\" is missing or not a non-negative integer", key);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool map_proof_member(const json_t *j, cityproof_t *p, char *why, size_t why_cap) {
    const json_t *v = json_object_get(j, "map_proof");
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || n == 0 || n % 2 != 0 || n / 2 > SMT_PROOF_MAX_BYTES) {
        WHY("city log proof field \"map_proof\" is missing or not hex of 1..%d bytes",
            (int)SMT_PROOF_MAX_BYTES);
        return false;
    }
    p->map_proof = malloc(n / 2);
    if (p->map_proof == NULL) {
        WHY("out of memory");
        return false;
    }
    if (qc_hex_decode(p->map_proof, n / 2, s) != QC_OK) {
        WHY("city log proof field \"map_proof\": expected hex");
        return false;
    }
    p->map_proof_len = n / 2;
    return true;
}

static bool leaf_from_json(const json_t *v, size_t i, qc_city_leaf_t *l, char *why,
                           size_t why_cap) {
    static const char *const keys[] = {"height", "tx_id", "index", "kind", "digest", NULL};
    char what[48];
    snprintf(what, sizeof what, "city log proof leaf %zu", i);
    if (!json_is_object(v)) {
        WHY("%s is not a JSON object", what);
        return false;
    }
    if (!only_keys(v, keys, what, why, why_cap)) return false;
    const json_t *h = json_object_get(v, "height"), *ix = json_object_get(v, "index");
    const json_t *k = json_object_get(v, "kind");
    if (!json_is_integer(h) || json_integer_value(h) < 0) {
        WHY("%s: \"height\" is missing or not a non-negative integer", what);
        return false;
    }
    l->height = (uint64_t)json_integer_value(h);
    if (!json_is_integer(ix) || json_integer_value(ix) < 0 || json_integer_value(ix) > 65535) {
        WHY("%s: \"index\" is missing or not an integer 0..65535", what);
        return false;
    }
    l->index = (uint16_t)json_integer_value(ix);
    if (!json_is_string(k) || qc_city_kind_parse(json_string_value(k), &l->kind) != QC_OK) {
        WHY("%s: \"kind\" is missing or not one of anchor, endorse, revoke, supersede-old, "
            "supersede-new", what);
        return false;
    }
    if (!hash_value(json_object_get(v, "tx_id"), &l->tx_id) ||
        !hash_value(json_object_get(v, "digest"), &l->digest)) {
        WHY("%s: \"tx_id\" and \"digest\" must be 32 hex bytes", what);
        return false;
    }
    return true;
}

static bool lists_from_json(const json_t *j, cityproof_t *p, char *why, size_t why_cap) {
    const json_t *leaves = json_object_get(j, "leaves"), *hashes = json_object_get(j, "hashes");
    if (!json_is_array(leaves) || json_array_size(leaves) > CITYPROOF_LEAVES_MAX) {
        WHY("city log proof field \"leaves\" is missing or not an array of at most %d leaves",
            CITYPROOF_LEAVES_MAX);
        return false;
    }
    if (!json_is_array(hashes) || json_array_size(hashes) > CITYPROOF_HASHES_MAX) {
        WHY("city log proof field \"hashes\" is missing or not an array of at most %d hashes",
            CITYPROOF_HASHES_MAX);
        return false;
    }
    size_t k = json_array_size(leaves), nh = json_array_size(hashes);
    if (k > 0 && (p->leaves = calloc(k, sizeof *p->leaves)) == NULL) {
        WHY("out of memory");
        return false;
    }
    if (nh > 0 && (p->hashes = calloc(nh, sizeof *p->hashes)) == NULL) {
        WHY("out of memory");
        return false;
    }
    for (size_t i = 0; i < k; i++)
        if (!leaf_from_json(json_array_get(leaves, i), i, &p->leaves[i], why, why_cap))
            return false;
    p->leaf_count = k;
    for (size_t i = 0; i < nh; i++)
        if (!hash_value(json_array_get(hashes, i), &p->hashes[i])) {
            WHY("city log proof hash %zu: expected 32 hex bytes", i);
            return false;
        }
    p->hash_count = nh;
    return true;
}

int cityproof_from_json(const json_t *j, cityproof_t *p, char *why, size_t why_cap) {
    memset(p, 0, sizeof *p);
    static const char *const keys[] = {
        "qchain_city_log_proof", "chain_id", "genesis_hash", "city", "from_height",
        "to_height", "header", "cert", "membership", "log_size", "log_root", "map_proof",
        "first_index", "leaves", "hashes", NULL};
    if (!json_is_object(j)) { WHY("a city log proof is a JSON object"); return QC_ERR_INVALID; }
    if (!only_keys(j, keys, "city log proof", why, why_cap)) return QC_ERR_INVALID;
    const json_t *ver = json_object_get(j, "qchain_city_log_proof");
    if (!json_is_integer(ver) || json_integer_value(ver) != CITYPROOF_VERSION) {
        WHY("unsupported or missing city log proof version");
        return QC_ERR_INVALID;
    }
    const json_t *cid = json_object_get(j, "chain_id");
    if (!json_is_string(cid) || !qc_chain_id_valid(json_string_value(cid))) {
        WHY("city log proof chain_id is not a valid chain id");
        return QC_ERR_INVALID;
    }
    snprintf(p->chain_id, sizeof p->chain_id, "%s", json_string_value(cid));
    const json_t *city = json_object_get(j, "city");
    if (!json_is_string(city) || strlen(json_string_value(city)) > QC_MEMBER_NAME_MAX) {
        WHY("city log proof field \"city\" is missing or not a string of at most %d bytes",
            QC_MEMBER_NAME_MAX);
        return QC_ERR_INVALID;
    }
    snprintf(p->city, sizeof p->city, "%s", json_string_value(city));
    if (!hash_member(j, "genesis_hash", &p->genesis_hash, why, why_cap) ||
        !u64_member(j, "from_height", &p->from_height, why, why_cap) ||
        !u64_member(j, "to_height", &p->to_height, why, why_cap) ||
        !u64_member(j, "log_size", &p->log_size, why, why_cap) ||
        !hash_member(j, "log_root", &p->log_root, why, why_cap) ||
        !u64_member(j, "first_index", &p->first_index, why, why_cap))
        return QC_ERR_INVALID;
    int rc = receipt_block_from_json(j, &p->header, &p->cert, &p->membership,
                                     &p->membership_len, why, why_cap);
    if (rc != QC_OK) return rc;
    if (!map_proof_member(j, p, why, why_cap) || !lists_from_json(j, p, why, why_cap)) {
        bool nomem = why && strcmp(why, "out of memory") == 0;
        cityproof_free(p);
        return nomem ? QC_ERR_NOMEM : QC_ERR_INVALID;
    }
    return QC_OK;
}

/* ---- verification ---------------------------------------------------------------------- */

/* Step 3 for an empty log: everything empty and the city's key absent from the map. */
static int verify_empty(const cityproof_t *p, const qc_hash_t *key, char *why, size_t why_cap) {
    qc_hash_t empty;
    merkle_empty_root(&empty);
    if (memcmp(p->log_root.b, empty.b, 32) != 0 || p->first_index != 0 || p->leaf_count != 0 ||
        p->hash_count != 0) {
        WHY("an empty city log must have the empty root, first_index 0 and no leaves or hashes");
        return QC_ERR_INVALID;
    }
    if (smt_verify(&p->header.state_root, key, NULL, p->map_proof, p->map_proof_len) != QC_OK) {
        WHY("the state-map proof does not lead to the block's state root with city \"%s\"'s log "
            "head absent", p->city);
        return QC_ERR_INVALID;
    }
    return QC_OK;
}

/* Step 4: the leaves' count, kinds, heights and brackets; *first / *count the in-range run. */
static int verify_leaves(const cityproof_t *p, size_t *first, size_t *count, char *why,
                         size_t why_cap) {
    uint64_t n = p->log_size, k = p->leaf_count, lo = p->first_index;
    if (k == 0 || k > CITYPROOF_LEAVES_MAX || k > n || lo > n - k) {
        WHY("the proof must hold 1..%d leaves within the log of %" PRIu64 " leaves "
            "(first_index %" PRIu64 ", %" PRIu64 " leaves)", CITYPROOF_LEAVES_MAX, n, lo, k);
        return QC_ERR_INVALID;
    }
    uint64_t a = p->from_height, b = p->to_height, H = p->header.height;
    for (size_t i = 0; i < k; i++) {
        const qc_city_leaf_t *l = &p->leaves[i];
        if (qc_city_kind_name(l->kind) == NULL) {
            WHY("leaf %zu has an unknown kind %u", i, (unsigned)l->kind);
            return QC_ERR_INVALID;
        }
        if (l->height > H) {
            WHY("leaf %zu is at height %" PRIu64 ", after the proof's block %" PRIu64, i,
                l->height, H);
            return QC_ERR_INVALID;
        }
        if (i > 0 && l->height < p->leaves[i - 1].height) {
            WHY("leaf %zu's height %" PRIu64 " is below the previous leaf's", i, l->height);
            return QC_ERR_INVALID;
        }
        bool before = l->height < a, after = l->height > b;
        /* Only the first leaf may lie before the range and only the last after it; they must
         * when the log goes on beyond them (checked below). A bracket may itself be the log's
         * first or last leaf, e.g. when no leaf lies in the range (see cityproof.h). */
        bool may_before = i == 0, may_after = i == k - 1;
        if (before && !may_before) {
            WHY("leaf %zu (height %" PRIu64 ") is before the range but is not its opening "
                "bracket", i, l->height);
            return QC_ERR_INVALID;
        }
        if (after && !may_after) {
            WHY("leaf %zu (height %" PRIu64 ") is after the range but is not its closing "
                "bracket", i, l->height);
            return QC_ERR_INVALID;
        }
    }
    bool open = lo > 0, close = lo + k < n;
    if (open && p->leaves[0].height >= a) {
        WHY("the log has leaves before index %" PRIu64 " but the first leaf (height %" PRIu64
            ") does not bracket height %" PRIu64, lo, p->leaves[0].height, a);
        return QC_ERR_INVALID;
    }
    if (close && p->leaves[k - 1].height <= b) {
        WHY("the log has leaves after index %" PRIu64 " but the last leaf (height %" PRIu64
            ") does not bracket height %" PRIu64, lo + k - 1, p->leaves[k - 1].height, b);
        return QC_ERR_INVALID;
    }
    bool before = p->leaves[0].height < a, after = p->leaves[k - 1].height > b;
    *first = before ? 1 : 0;
    *count = (size_t)k - *first - (after && k > *first ? 1 : 0);
    return QC_OK;
}

int cityproof_verify(const cityproof_t *p, const char *chain_id, const qc_hash_t *genesis_hash,
                     const qc_validator_set_t *genesis_vs, cityproof_result_t *out, char *why,
                     size_t why_cap) {
    memset(out, 0, sizeof *out);
    const qc_validator_set_t *vs = NULL;
    int rc = receipt_verify_block(chain_id, genesis_hash, genesis_vs, p->chain_id,
                                  &p->genesis_hash, &p->header, &p->cert, p->membership,
                                  p->membership_len, &vs, &out->block, why, why_cap);
    if (rc != QC_OK) return rc;
    uint64_t H = p->header.height;
    if (p->from_height < 1 || p->from_height > p->to_height || p->to_height > H) {
        WHY("the range %" PRIu64 "..%" PRIu64 " is not within blocks 1..%" PRIu64,
            p->from_height, p->to_height, H);
        return QC_ERR_INVALID;
    }
    if (!qc_member_name_valid(p->city)) {
        WHY("\"%s\" is not a valid member name", p->city);
        return QC_ERR_INVALID;
    }
    qc_hash_t key, head;
    qc_city_key(p->city, &key);
    if (p->log_size == 0) return verify_empty(p, &key, why, why_cap);
    if (p->log_size > MERKLE_SIZE_MAX) {
        WHY("log_size %" PRIu64 " is beyond the largest log", p->log_size);
        return QC_ERR_INVALID;
    }
    qc_city_head(p->log_size, &p->log_root, &head);
    if (smt_verify(&p->header.state_root, &key, &head, p->map_proof, p->map_proof_len) != QC_OK) {
        WHY("the state-map proof does not lead to the block's state root with city \"%s\"'s log "
            "head at size %" PRIu64 " and this root", p->city, p->log_size);
        return QC_ERR_INVALID;
    }
    size_t first, count;
    rc = verify_leaves(p, &first, &count, why, why_cap);
    if (rc != QC_OK) return rc;
    qc_hash_t *lh = malloc(p->leaf_count * sizeof *lh);
    if (lh == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    for (size_t i = 0; i < p->leaf_count; i++) qc_city_leaf_hash(&p->leaves[i], &lh[i]);
    qc_hash_t root;
    rc = cityproof_range_root(lh, p->leaf_count, p->first_index, p->log_size, p->hashes,
                              p->hash_count, &root);
    free(lh);
    if (rc != QC_OK) {
        WHY("the hashes do not complete the log's tree around the leaves (%zu given)",
            p->hash_count);
        return QC_ERR_INVALID;
    }
    if (memcmp(root.b, p->log_root.b, 32) != 0) {
        WHY("the leaves and hashes do not give the log root");
        return QC_ERR_INVALID;
    }
    out->first = first;
    out->count = count;
    return QC_OK;
}

bool cityproof_anchored(const cityproof_t *p, const cityproof_result_t *r,
                        const qc_hash_t *digest) {
    if (r->first > p->leaf_count || r->count > p->leaf_count - r->first) return false;
    for (size_t i = r->first; i < r->first + r->count; i++)
        if (p->leaves[i].kind == QC_CITY_ANCHOR &&
            memcmp(p->leaves[i].digest.b, digest->b, 32) == 0)
            return true;
    return false;
}
