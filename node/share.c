/* share.c - the data-sharing rules (docs/RECORDS.md "Data-sharing trail") over an overlay of
 * the sharing state: an open-addressing table by key of the values the applied transactions
 * set or deleted, in front of a lookup of the state before them. */
#include "share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

/* ---------------------------------------------------------------- keys */

static size_t key_str8(uint8_t *k, size_t off, const char *s, size_t max) {
    size_t n = strnlen(s, max);
    k[off] = (uint8_t)n;
    memcpy(k + off + 1, s, n);
    return off + 1 + n;
}

size_t sh_key_dataset(uint8_t *k, const uint8_t id[32]) {
    k[0] = SH_DATASET;
    memcpy(k + 1, id, 32);
    return 33;
}

size_t sh_key_name(uint8_t *k, const char *owner, const char *name) {
    k[0] = SH_NAME;
    size_t off = key_str8(k, 1, owner, QC_MEMBER_NAME_MAX);
    return key_str8(k, off, name, QC_DATASET_NAME_MAX);
}

size_t sh_key_request(uint8_t *k, const uint8_t id[32]) {
    k[0] = SH_REQUEST;
    memcpy(k + 1, id, 32);
    return 33;
}

static size_t key_seq(uint8_t *k, uint8_t family, const uint8_t id[32], uint32_t seq) {
    k[0] = family;
    memcpy(k + 1, id, 32);
    qc_put_u32(k + 33, seq);
    return 37;
}

size_t sh_key_trail(uint8_t *k, const uint8_t dataset[32], uint32_t seq) {
    return key_seq(k, SH_TRAIL, dataset, seq);
}

size_t sh_key_access(uint8_t *k, const uint8_t request[32], uint32_t seq) {
    return key_seq(k, SH_ACCESS, request, seq);
}

size_t sh_key_open(uint8_t *k, uint8_t role, const char *city, const uint8_t request[32]) {
    k[0] = SH_OPEN;
    k[1] = role;
    size_t off = key_str8(k, 2, city, QC_MEMBER_NAME_MAX);
    memcpy(k + off, request, 32);
    return off + 32;
}

/* ---------------------------------------------------------------- overlay */

void sh_init(sh_state_t *s, sh_lookup_fn lookup, void *ctx) {
    memset(s, 0, sizeof *s);
    s->lookup = lookup;
    s->lookup_ctx = ctx;
}

void sh_free(sh_state_t *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->tab[i].val);
    free(s->tab);
    memset(s, 0, sizeof *s);
}

/* FNV-1a over the key: keys share their family byte and often a prefix. */
static size_t key_hash(const uint8_t *k, size_t klen) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < klen; i++) h = (h ^ k[i]) * 1099511628211ull;
    return (size_t)h;
}

static bool key_eq(const sh_entry_t *e, const uint8_t *k, size_t klen) {
    return e->klen == klen && memcmp(e->key, k, klen) == 0;
}

/* Index of k's entry, or -1. Probes are bounded by cap (the table is at most half full). */
static long find(const sh_state_t *s, const uint8_t *k, size_t klen) {
    if (s->cap == 0) return -1;
    size_t i = key_hash(k, klen) & (s->cap - 1);
    for (size_t probes = 0; probes < s->cap; probes++) {
        if (s->tab[i].klen == 0) return -1;
        if (key_eq(&s->tab[i], k, klen)) return (long)i;
        i = (i + 1) & (s->cap - 1);
    }
    return -1;
}

/* Grows the table to hold one more entry at most half full; false on allocation failure. */
static bool reserve_one(sh_state_t *s) {
    if (2 * (s->n + 1) <= s->cap) return true;
    size_t cap = s->cap ? 2 * s->cap : 32;
    sh_entry_t *tab = calloc(cap, sizeof *tab);
    if (tab == NULL) return false;
    for (size_t j = 0; j < s->cap; j++) {
        if (s->tab[j].klen == 0) continue;
        size_t i = key_hash(s->tab[j].key, s->tab[j].klen) & (cap - 1);
        while (tab[i].klen != 0) i = (i + 1) & (cap - 1); /* ends: at most half full */
        tab[i] = s->tab[j];
    }
    free(s->tab);
    s->tab = tab;
    s->cap = cap;
    return true;
}

int sh_get(sh_state_t *s, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    long i = find(s, k, klen);
    if (i < 0) return s->lookup ? s->lookup(s->lookup_ctx, k, klen, val, vlen) : QC_ERR_NOTFOUND;
    const sh_entry_t *e = &s->tab[i];
    if (!e->present) return QC_ERR_NOTFOUND;
    memcpy(val, e->val, e->vlen);
    *vlen = e->vlen;
    return QC_OK;
}

/* Sets k to val[0..vlen) (val NULL: deletes it) in the overlay. */
static int put(sh_state_t *s, const uint8_t *k, size_t klen, const uint8_t *val, size_t vlen) {
    QC_ASSERT(klen > 0 && klen <= SH_KEY_MAX && vlen <= SH_VALUE_MAX);
    long i = find(s, k, klen);
    if (i < 0) {
        if (!reserve_one(s)) return QC_ERR_NOMEM;
        size_t j = key_hash(k, klen) & (s->cap - 1);
        while (s->tab[j].klen != 0) j = (j + 1) & (s->cap - 1);
        memcpy(s->tab[j].key, k, klen);
        s->tab[j].klen = (uint8_t)klen;
        s->n++;
        i = (long)j;
    }
    sh_entry_t *e = &s->tab[i];
    uint8_t *copy = NULL;
    if (val != NULL && (copy = malloc(vlen ? vlen : 1)) == NULL) return QC_ERR_NOMEM;
    if (copy) memcpy(copy, val, vlen);
    free(e->val);
    e->val = copy;
    e->vlen = val ? vlen : 0;
    e->present = val != NULL;
    e->dirty = true;
    return QC_OK;
}

/* The value of the id key (family || id) of a dataset or request. */
static int get_by_id(sh_state_t *s, uint8_t family, const uint8_t id[32], uint8_t *v,
                     size_t *vlen) {
    uint8_t k[33];
    k[0] = family;
    memcpy(k + 1, id, 32);
    return sh_get(s, k, sizeof k, v, vlen);
}

int sh_get_dataset(sh_state_t *s, const uint8_t id[32], sh_dataset_t *out) {
    uint8_t v[SH_VALUE_MAX];
    size_t vlen;
    int rc = get_by_id(s, SH_DATASET, id, v, &vlen);
    if (rc == QC_OK) rc = sh_dataset_decode(v, vlen, out);
    return rc == QC_OK && memcmp(out->id.b, id, 32) != 0 ? QC_ERR_CORRUPT : rc;
}

int sh_get_request(sh_state_t *s, const uint8_t id[32], sh_request_t *out) {
    uint8_t v[SH_VALUE_MAX];
    size_t vlen;
    int rc = get_by_id(s, SH_REQUEST, id, v, &vlen);
    if (rc == QC_OK) rc = sh_request_decode(v, vlen, out);
    return rc == QC_OK && memcmp(out->id.b, id, 32) != 0 ? QC_ERR_CORRUPT : rc;
}

static int put_dataset(sh_state_t *s, const sh_dataset_t *d) {
    uint8_t k[SH_KEY_MAX], v[SH_VALUE_MAX];
    return put(s, k, sh_key_dataset(k, d->id.b), v, sh_dataset_encode(d, v));
}

static int put_request(sh_state_t *s, const sh_request_t *q) {
    uint8_t k[SH_KEY_MAX], v[SH_VALUE_MAX];
    return put(s, k, sh_key_request(k, q->id.b), v, sh_request_encode(q, v));
}

/* Sets (open) or deletes (!open) the two open-request index keys of q on dataset owner. */
static int put_open(sh_state_t *s, const sh_request_t *q, const char *owner, bool open) {
    uint8_t k[SH_KEY_MAX];
    static const uint8_t none[1] = {0};
    int rc = put(s, k, sh_key_open(k, SH_ROLE_TO, owner, q->id.b), open ? none : NULL, 0);
    if (rc == QC_OK)
        rc = put(s, k, sh_key_open(k, SH_ROLE_FROM, q->requester, q->id.b), open ? none : NULL, 0);
    return rc;
}

int sh_each_changed(const sh_state_t *s,
                    int (*cb)(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val,
                              size_t vlen),
                    void *ctx) {
    for (size_t i = 0; i < s->cap; i++) {
        const sh_entry_t *e = &s->tab[i];
        if (e->klen == 0 || !e->dirty) continue;
        int rc = cb(ctx, e->key, e->klen, e->present ? e->val : NULL, e->vlen);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

void sh_clear_changed(sh_state_t *s) {
    for (size_t i = 0; i < s->cap; i++) s->tab[i].dirty = false;
}

/* ---------------------------------------------------------------- rules */

static const char *hexd(char buf[65], const uint8_t d[32]) {
    qc_hex_encode(buf, d, 32);
    return buf;
}

/* A lookup's verdict on an object the transaction names: QC_OK; QC_ERR_STATE with "<what>
 * <hex> does not exist" in why; or the lookup's error. */
static int named(int rc, const char *what, const uint8_t id[32], char *why, size_t why_cap) {
    if (rc != QC_ERR_NOTFOUND) return rc;
    char hex[65];
    WHY("%s %s does not exist", what, hexd(hex, id));
    return QC_ERR_STATE;
}

static int dataset(sh_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                   char *why, size_t why_cap) {
    const qc_share_op_t *op = tx->share;
    uint8_t k[SH_KEY_MAX], v[SH_VALUE_MAX];
    size_t klen = sh_key_name(k, city, op->name), vlen;
    int rc = sh_get(s, k, klen, v, &vlen);
    if (rc == QC_OK) {
        char hex[65];
        WHY("%s already published a dataset named \"%s\" (id %s); a new version needs a new "
            "name", city, op->name, vlen == 32 ? hexd(hex, v) : "?");
        return QC_ERR_STATE;
    }
    if (rc != QC_ERR_NOTFOUND) return rc;
    sh_dataset_t *d = calloc(1, sizeof *d);
    if (d == NULL) return QC_ERR_NOMEM;
    d->id = tx->id;
    snprintf(d->owner, sizeof d->owner, "%s", city);
    memcpy(d->name, op->name, sizeof d->name);
    d->schema = op->schema;
    d->terms_kind = op->terms_kind;
    memcpy(d->terms, op->terms, sizeof d->terms);
    d->terms_digest = op->terms_digest;
    d->height = height;
    rc = put(s, k, klen, tx->id.b, 32);
    if (rc == QC_OK) rc = put_dataset(s, d);
    free(d);
    return rc;
}

static int request(sh_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                   sh_dataset_t *d, sh_request_t *q, char *why, size_t why_cap) {
    const qc_share_op_t *op = tx->share;
    char hex[65];
    int rc = named(sh_get_dataset(s, op->ref.b, d), "dataset", op->ref.b, why, why_cap);
    if (rc != QC_OK) return rc;
    if (strcmp(d->owner, city) == 0) {
        WHY("dataset %s is %s's own; its owner does not request it", hexd(hex, d->id.b), city);
        return QC_ERR_STATE;
    }
    if (op->until_height < height) {
        WHY("the requested period ends at height %llu, before this block (height %llu)",
            (unsigned long long)op->until_height, (unsigned long long)height);
        return QC_ERR_STATE;
    }
    if (d->request_count >= SH_REQUESTS_MAX) {
        WHY("dataset %s already has %u requests, the most one dataset records",
            hexd(hex, d->id.b), SH_REQUESTS_MAX);
        return QC_ERR_STATE;
    }
    memset(q, 0, sizeof *q);
    q->id = tx->id;
    q->dataset = d->id;
    snprintf(q->requester, sizeof q->requester, "%s", city);
    q->purpose = op->code;
    memcpy(q->purpose_text, op->purpose, sizeof q->purpose_text);
    q->from_height = op->from_height;
    q->until_height = op->until_height;
    q->height = height;
    q->state = SH_REQ_OPEN;
    uint8_t k[SH_KEY_MAX];
    rc = put(s, k, sh_key_trail(k, d->id.b, d->request_count), q->id.b, 32);
    d->request_count++;
    if (rc == QC_OK) rc = put_dataset(s, d);
    if (rc == QC_OK) rc = put_request(s, q);
    if (rc == QC_OK) rc = put_open(s, q, d->owner, true);
    return rc;
}

/* GRANT or DENY: by the dataset's owner, of a request still open. */
static int answer(sh_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                  sh_dataset_t *d, sh_request_t *q, char *why, size_t why_cap) {
    const qc_share_op_t *op = tx->share;
    char hex[65], dhex[65];
    int rc = named(sh_get_request(s, op->ref.b, q), "request", op->ref.b, why, why_cap);
    if (rc == QC_OK) rc = sh_get_dataset(s, q->dataset.b, d);
    if (rc == QC_ERR_NOTFOUND) rc = QC_ERR_CORRUPT; /* a request's dataset always exists */
    if (rc != QC_OK) return rc;
    if (strcmp(d->owner, city) != 0) {
        WHY("request %s is for dataset %s of %s; only its owner answers it", hexd(hex, q->id.b),
            hexd(dhex, d->id.b), d->owner);
        return QC_ERR_STATE;
    }
    if (q->state != SH_REQ_OPEN) {
        WHY("request %s was already %s at height %llu; a request is answered once",
            hexd(hex, q->id.b), sh_req_state_name(q->state),
            (unsigned long long)q->answer_height);
        return QC_ERR_STATE;
    }
    q->state = op->op == QC_SHARE_GRANT ? SH_REQ_GRANTED : SH_REQ_DENIED;
    q->answer_height = height;
    q->answer_tx_id = tx->id;
    q->reason = op->op == QC_SHARE_DENY ? op->code : 0;
    rc = put_request(s, q);
    if (rc == QC_OK) rc = put_open(s, q, d->owner, false);
    return rc;
}

/* ACCESS: by the requester, of a granted request, within its period. */
static int access_(sh_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                   sh_request_t *q, char *why, size_t why_cap) {
    const qc_share_op_t *op = tx->share;
    char hex[65];
    int rc = named(sh_get_request(s, op->ref.b, q), "request", op->ref.b, why, why_cap);
    if (rc != QC_OK) return rc;
    hexd(hex, q->id.b);
    if (strcmp(q->requester, city) != 0) {
        WHY("request %s was made by %s; only its requester attests access", hex, q->requester);
        return QC_ERR_STATE;
    }
    if (q->state == SH_REQ_OPEN) {
        WHY("request %s is still open; access needs the owner's grant", hex);
        return QC_ERR_STATE;
    }
    if (q->state == SH_REQ_DENIED) {
        WHY("request %s was denied at height %llu; there is no access to attest", hex,
            (unsigned long long)q->answer_height);
        return QC_ERR_STATE;
    }
    if (height < q->from_height || height > q->until_height) {
        WHY("request %s allows access in blocks %llu..%llu; this block is %llu", hex,
            (unsigned long long)q->from_height, (unsigned long long)q->until_height,
            (unsigned long long)height);
        return QC_ERR_STATE;
    }
    if (q->access_count >= SH_ACCESSES_MAX) {
        WHY("request %s already records %u accesses, the most one request holds; request "
            "again", hex, SH_ACCESSES_MAX);
        return QC_ERR_STATE;
    }
    sh_access_t a = {height, tx->id, op->digest};
    uint8_t k[SH_KEY_MAX], v[SH_VALUE_MAX];
    rc = put(s, k, sh_key_access(k, q->id.b, q->access_count), v, sh_access_encode(&a, v));
    q->access_count++;
    if (rc == QC_OK) rc = put_request(s, q);
    return rc;
}

int sh_apply(sh_state_t *s, const qc_tx_t *tx, const qc_validator_set_t *vs, uint64_t height,
             char *why, size_t why_cap) {
    if (tx->type != QC_TX_SHARE || tx->share == NULL) return QC_OK;
    int m = qc_validators_find_seal(vs, &tx->signer);
    if (m < 0) {
        WHY("signer is not a member city's seal key");
        return QC_ERR_MEMBER;
    }
    const char *city = vs->members[m].name;
    sh_dataset_t *d = malloc(sizeof *d);
    sh_request_t *q = malloc(sizeof *q);
    int rc = d && q ? QC_OK : QC_ERR_NOMEM;
    if (rc == QC_OK) {
        switch (tx->share->op) {
        case QC_SHARE_DATASET: rc = dataset(s, tx, city, height, why, why_cap); break;
        case QC_SHARE_REQUEST: rc = request(s, tx, city, height, d, q, why, why_cap); break;
        case QC_SHARE_GRANT:
        case QC_SHARE_DENY: rc = answer(s, tx, city, height, d, q, why, why_cap); break;
        default: rc = access_(s, tx, city, height, q, why, why_cap); break;
        }
    }
    free(d);
    free(q);
    return rc;
}

int sh_get_after(sh_lookup_fn lookup, void *ctx, const qc_block_t *const *blocks,
                 const qc_validator_set_t *const *vs, size_t n, const uint8_t *k, size_t klen,
                 uint8_t *val, size_t *vlen) {
    sh_state_t sh;
    sh_init(&sh, lookup, ctx);
    int rc = QC_OK;
    for (size_t b = 0; b < n && rc == QC_OK; b++)
        for (uint32_t i = 0; i < blocks[b]->tx_count && rc == QC_OK; i++)
            rc = sh_apply(&sh, &blocks[b]->txs[i], vs[b], blocks[b]->header.height, NULL, 0);
    if (rc == QC_ERR_STATE || rc == QC_ERR_MEMBER) rc = QC_ERR_CORRUPT;
    if (rc == QC_OK) rc = sh_get(&sh, k, klen, val, vlen);
    sh_free(&sh);
    return rc;
}
