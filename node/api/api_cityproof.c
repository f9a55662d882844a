/* api_cityproof.c - building a city log completeness proof (docs/PROTOCOL.md §13.3) from a
 * store: the range's leaves with their brackets, the complement hashes, the city head's
 * state-map proof and the head block that certifies it. Apart from the HTTP handler so tests
 * can build proofs from a store they filled by hand. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cuts the range at a block boundary so that leaves [lo, ...) with the bracket after stay
 * within soft_max (<= CITYPROOF_LEAVES_MAX), or, when block `from`'s events alone need more,
 * within CITYPROOF_LEAVES_MAX with block `from` alone: *to and *hi_b (the first index above
 * the new *to) are set. QC_ERR_TOOBIG when block `from` does not fit even then. */
static int cut(store_t *s, const char *city, uint64_t from, uint64_t lo, uint64_t n,
               size_t soft_max, uint64_t *to, uint64_t *hi_b) {
    qc_city_leaf_t l;
    int rc = store_city_leaf(s, city, lo + soft_max - 1, &l);
    if (rc != QC_OK) return rc;
    if (l.height > from) {
        *to = l.height - 1;
        return store_city_first_at(s, city, l.height, hi_b);
    }
    rc = store_city_first_at(s, city, from + 1, hi_b);
    if (rc != QC_OK) return rc;
    if ((*hi_b < n ? *hi_b + 1 : n) - lo > CITYPROOF_LEAVES_MAX) return QC_ERR_TOOBIG;
    *to = from;
    return QC_OK;
}

/* The leaves [lo, hi) and their complement hashes into p. */
static int fill_leaves(store_t *s, const char *city, uint64_t lo, uint64_t hi, cityproof_t *p) {
    p->first_index = lo;
    p->leaves = calloc((size_t)(hi - lo), sizeof *p->leaves);
    p->hashes = calloc(CITYPROOF_HASHES_MAX, sizeof *p->hashes);
    if (p->leaves == NULL || p->hashes == NULL) return QC_ERR_NOMEM;
    int rc = store_city_leaves(s, city, lo, hi, p->leaves);
    if (rc != QC_OK) return rc;
    p->leaf_count = (size_t)(hi - lo);
    return store_city_range_hashes(s, city, lo, hi, p->hashes, CITYPROOF_HASHES_MAX,
                                   &p->hash_count);
}

static int build(store_t *s, const char *city, uint64_t from, uint64_t to, size_t soft_max,
                 cityproof_t *out) {
    store_head_t head;
    store_head(s, &head);
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    if (head.height == 0) return QC_ERR_NOTFOUND;
    if (from < 1 || from > to || to > head.height) return QC_ERR_RANGE;
    snprintf(out->chain_id, sizeof out->chain_id, "%s", s->chain_id);
    out->genesis_hash = s->genesis_hash;
    snprintf(out->city, sizeof out->city, "%s", city);
    out->from_height = from;
    int rc = store_city_log(s, city, &out->log_size, &out->log_root);
    uint64_t n = out->log_size;
    if (rc == QC_OK && n > 0) {
        uint64_t lo_a, hi_b;
        rc = store_city_first_at(s, city, from, &lo_a);
        if (rc == QC_OK) rc = store_city_first_at(s, city, to + 1, &hi_b);
        uint64_t lo = lo_a > 0 ? lo_a - 1 : 0;
        if (rc == QC_OK && (hi_b < n ? hi_b + 1 : n) - lo > soft_max)
            rc = cut(s, city, from, lo, n, soft_max, &to, &hi_b);
        if (rc == QC_OK) rc = fill_leaves(s, city, lo, hi_b < n ? hi_b + 1 : n, out);
    }
    out->to_height = to;
    smt_proof_t *mp = malloc(sizeof *mp);
    out->map_proof = malloc(SMT_PROOF_MAX_BYTES);
    if (rc == QC_OK && (mp == NULL || out->map_proof == NULL)) rc = QC_ERR_NOMEM;
    qc_hash_t key;
    qc_city_key(city, &key);
    /* the map, the logs and the header are all of the head: no block is applied between
     * these reads (the loop thread runs them in one go) */
    if (rc == QC_OK) rc = store_state_prove_key(s, &key, mp);
    if (rc == QC_OK && (mp->kind == SMT_PROOF_PRESENT) != (n > 0)) rc = QC_ERR_CORRUPT;
    if (rc == QC_OK)
        rc = smt_proof_encode(mp, out->map_proof, SMT_PROOF_MAX_BYTES, &out->map_proof_len);
    free(mp);
    if (rc == QC_OK)
        rc = api_block_proof(s, head.height, &out->header, &out->cert, &out->membership,
                             &out->membership_len);
    return rc;
}

int api_build_city_proof(store_t *s, const char *city, uint64_t from, uint64_t to,
                         size_t leaves_soft_max, cityproof_t *out) {
    memset(out, 0, sizeof *out);
    if (leaves_soft_max < 3 || leaves_soft_max > CITYPROOF_LEAVES_MAX)
        leaves_soft_max = CITYPROOF_LEAVES_MAX;
    int rc = build(s, city, from, to, leaves_soft_max, out);
    if (rc != QC_OK) cityproof_free(out);
    return rc;
}
