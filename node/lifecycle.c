/* lifecycle.c - the record lifecycle rules (docs/RECORDS.md) over an overlay of record
 * statuses: an open-addressing table by digest of the statuses the applied transactions
 * created or changed, in front of a lookup of the state before them. */
#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

void lc_init(lc_state_t *s, lc_lookup_fn lookup, void *ctx, lc_mode_t mode) {
    memset(s, 0, sizeof *s);
    s->lookup = lookup;
    s->lookup_ctx = ctx;
    s->mode = mode;
}

void lc_free(lc_state_t *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->tab[i].enc);
    free(s->tab);
    free(s->changed);
    memset(s, 0, sizeof *s);
}

static size_t slot_of(const uint8_t d[32], size_t cap) {
    uint64_t x;
    memcpy(&x, d, sizeof x); /* digests are SHA-256 outputs */
    return (size_t)x & (cap - 1);
}

/* Index of digest's entry, or -1. Probes are bounded by cap (the table is at most half full). */
static long find(const lc_state_t *s, const uint8_t d[32]) {
    if (s->cap == 0) return -1;
    size_t k = slot_of(d, s->cap);
    for (size_t probes = 0; probes < s->cap; probes++) {
        if (!s->tab[k].used) return -1;
        if (memcmp(s->tab[k].digest, d, 32) == 0) return (long)k;
        k = (k + 1) & (s->cap - 1);
    }
    return -1;
}

static size_t place(lc_entry_t *tab, size_t cap, const uint8_t d[32]) {
    size_t k = slot_of(d, cap);
    while (tab[k].used) k = (k + 1) & (cap - 1); /* terminates: the table is at most half full */
    return k;
}

/* Index of digest's entry, inserting an unresolved one if absent; -1 on allocation failure. */
static long find_or_insert(lc_state_t *s, const uint8_t d[32]) {
    long i = find(s, d);
    if (i >= 0) return i;
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        lc_entry_t *tab = calloc(cap, sizeof *tab);
        if (tab == NULL) return -1;
        /* the dirty entries move first: their list keeps its order with their new indices */
        for (size_t j = 0; j < s->changed_n; j++) {
            size_t k = s->changed[j];
            size_t at = place(tab, cap, s->tab[k].digest);
            tab[at] = s->tab[k];
            s->tab[k].used = false; /* (not copied again below) */
            s->changed[j] = at;
        }
        for (size_t k = 0; k < s->cap; k++)
            if (s->tab[k].used) tab[place(tab, cap, s->tab[k].digest)] = s->tab[k];
        free(s->tab);
        s->tab = tab;
        s->cap = cap;
    }
    size_t k = place(s->tab, s->cap, d);
    memcpy(s->tab[k].digest, d, 32);
    s->tab[k].used = true;
    s->n++;
    return (long)k;
}

int lc_watch(lc_state_t *s, const uint8_t digest[32]) {
    return find_or_insert(s, digest) < 0 ? QC_ERR_NOMEM : QC_OK;
}

int lc_watch_tx(lc_state_t *s, const qc_tx_t *tx) {
    if (tx->life == NULL) return QC_OK;
    if (lc_watch(s, tx->life->digest.b) != QC_OK) return QC_ERR_NOMEM;
    if (tx->type == QC_TX_SUPERSEDE && lc_watch(s, tx->life->new_digest.b) != QC_OK)
        return QC_ERR_NOMEM;
    return QC_OK;
}

int lc_watch_txs(lc_state_t *s, const qc_tx_t *const *txs, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (lc_watch_tx(s, txs[i]) != QC_OK) return QC_ERR_NOMEM;
    return QC_OK;
}

/* Settles whether entry i's digest exists: asks the lookup once. */
static int resolve(lc_state_t *s, long i, qc_recstat_t *scratch) {
    lc_entry_t *e = &s->tab[i];
    if (e->resolved) return QC_OK;
    int rc = s->lookup ? s->lookup(s->lookup_ctx, e->digest, scratch) : QC_ERR_NOTFOUND;
    if (rc != QC_OK && rc != QC_ERR_NOTFOUND) return rc;
    e->resolved = true;
    e->exists = rc == QC_OK;
    return QC_OK;
}

static int get_at(lc_state_t *s, long i, qc_recstat_t *out) {
    int rc = resolve(s, i, out);
    if (rc != QC_OK) return rc;
    const lc_entry_t *e = &s->tab[i];
    if (!e->exists) return QC_ERR_NOTFOUND;
    if (e->enc) return qc_recstat_decode(e->enc, e->enc_len, out) == QC_OK ? QC_OK : QC_ERR_CORRUPT;
    return s->lookup(s->lookup_ctx, e->digest, out);
}

int lc_get(lc_state_t *s, const uint8_t digest[32], qc_recstat_t *out) {
    long i = find(s, digest);
    if (i >= 0) return get_at(s, i, out);
    int rc = s->lookup ? s->lookup(s->lookup_ctx, digest, out) : QC_ERR_NOTFOUND;
    return rc;
}

static int put_at(lc_state_t *s, long i, const qc_recstat_t *st) {
    uint8_t buf[QC_RECSTAT_BYTES_MAX];
    size_t len;
    int rc = qc_recstat_encode(st, buf, sizeof buf, &len);
    QC_ASSERT(rc == QC_OK); /* the rules only make statuses the encoding allows */
    lc_entry_t *e = &s->tab[i];
    if (!e->dirty && s->changed_n == s->changed_cap) {
        size_t cap = s->changed_cap ? 2 * s->changed_cap : 64;
        size_t *changed = realloc(s->changed, cap * sizeof *changed);
        if (changed == NULL) return QC_ERR_NOMEM;
        s->changed = changed;
        s->changed_cap = cap;
    }
    uint8_t *enc = realloc(e->enc, len);
    if (enc == NULL) return QC_ERR_NOMEM;
    memcpy(enc, buf, len);
    e->enc = enc;
    e->enc_len = len;
    if (!e->dirty) s->changed[s->changed_n++] = (size_t)i;
    e->resolved = e->exists = e->dirty = true;
    return QC_OK;
}

static int anchor(lc_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                  uint64_t log_index) {
    qc_recstat_t *st = malloc(sizeof *st);
    if (st == NULL) return QC_ERR_NOMEM;
    int rc = QC_OK;
    for (uint32_t r = 0; r < tx->record_count && rc == QC_OK; r++) {
        const uint8_t *d = tx->records[r].digest;
        long i = s->mode == LC_WATCHED ? find(s, d) : find_or_insert(s, d);
        if (i < 0) {
            if (s->mode != LC_WATCHED) rc = QC_ERR_NOMEM;
            continue;
        }
        rc = resolve(s, i, st);
        if (rc != QC_OK || s->tab[i].exists) continue;
        qc_recstat_fresh(st, d, city, height, &tx->id, log_index + r);
        rc = put_at(s, i, st);
    }
    free(st);
    return rc;
}

/* Entry for a digest a lifecycle transaction names; -1 with *skip when a trusted replay does
 * not watch it, -1 alone on allocation failure. */
static long named(lc_state_t *s, const uint8_t d[32], bool *skip) {
    *skip = false;
    if (s->trusted && s->mode == LC_WATCHED) {
        long i = find(s, d);
        *skip = i < 0;
        return i;
    }
    return find_or_insert(s, d);
}

static const char *hexd(char buf[65], const uint8_t d[32]) {
    qc_hex_encode(buf, d, 32);
    return buf;
}

/* "revoked at height 7" / "superseded at height 7". */
#define STATE_FMT "%s at height %llu"
#define STATE_ARGS(st) qc_rec_state_name((st)->state), (unsigned long long)(st)->state_height

/* A named record's status and entry *i: QC_OK; QC_ERR_STATE with "not anchored" in why;
 * LC_SKIP when a trusted replay does not watch it; or the lookup's error. */
#define LC_SKIP 1
static int load_named(lc_state_t *s, const uint8_t d[32], qc_recstat_t *st, long *i, char *why,
                      size_t why_cap) {
    bool skip;
    *i = named(s, d, &skip);
    if (*i < 0) return skip ? LC_SKIP : QC_ERR_NOMEM;
    int rc = get_at(s, *i, st);
    if (rc == QC_ERR_NOTFOUND) {
        char hex[65];
        WHY("record %s is not anchored", hexd(hex, d));
        rc = QC_ERR_STATE;
    }
    return rc;
}

/* ENDORSE record d (entry i, status *st) if the rules allow it. */
static int endorse(lc_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                   qc_recstat_t *st, long i, char *why, size_t why_cap) {
    char hex[65];
    const uint8_t *d = tx->life->digest.b;
    int rc = QC_OK;
    if (strcmp(st->owner, city) == 0) {
        WHY("record %s is owned by %s; its owner cannot endorse it", hexd(hex, d), city);
        rc = QC_ERR_STATE;
    } else if (st->state != QC_REC_VALID) {
        WHY("record %s is " STATE_FMT "; only a valid record can be endorsed", hexd(hex, d),
            STATE_ARGS(st));
        rc = QC_ERR_STATE;
    } else if (st->endorsement_count >= QC_ENDORSEMENTS_MAX) {
        WHY("record %s already has %u endorsements, the most one record holds", hexd(hex, d),
            QC_ENDORSEMENTS_MAX);
        rc = QC_ERR_STATE;
    }
    for (uint32_t k = 0; rc == QC_OK && k < st->endorsement_count; k++)
        if (strcmp(st->endorsements[k].city, city) == 0) {
            WHY("record %s is already endorsed by %s (at height %llu)", hexd(hex, d), city,
                (unsigned long long)st->endorsements[k].height);
            rc = QC_ERR_STATE;
        }
    if (rc != QC_OK) return s->trusted ? QC_OK : rc;
    qc_endorsement_t *e = &st->endorsements[st->endorsement_count++];
    snprintf(e->city, sizeof e->city, "%s", city);
    e->height = height;
    e->purpose = tx->life->code;
    e->tx_id = tx->id;
    return put_at(s, i, st);
}

/* REVOKE record d (entry i, status *st) if the rules allow it. */
static int revoke(lc_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                  qc_recstat_t *st, long i, char *why, size_t why_cap) {
    char hex[65];
    const uint8_t *d = tx->life->digest.b;
    int rc = QC_OK;
    if (strcmp(st->owner, city) != 0) {
        WHY("record %s is owned by %s; only its owner can revoke it", hexd(hex, d), st->owner);
        rc = QC_ERR_STATE;
    } else if (st->state != QC_REC_VALID) {
        WHY("record %s is already " STATE_FMT "; only a valid record can be revoked",
            hexd(hex, d), STATE_ARGS(st));
        rc = QC_ERR_STATE;
    }
    if (rc != QC_OK) return s->trusted ? QC_OK : rc;
    st->state = QC_REC_REVOKED;
    st->state_height = height;
    st->state_tx_id = tx->id;
    st->reason = tx->life->code;
    return put_at(s, i, st);
}

/* SUPERSEDE: both records exist, the signer's city owns both, both are valid, and the new
 * one has room for one more replaced record. A trusted replay applies each watched side. */
static int supersede(lc_state_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
                     qc_recstat_t *old, qc_recstat_t *nw, char *why, size_t why_cap) {
    char hex[65];
    const uint8_t *od = tx->life->digest.b, *nd = tx->life->new_digest.b;
    bool oskip, nskip;
    long oi = named(s, od, &oskip), ni = named(s, nd, &nskip);
    if ((oi < 0 && !oskip) || (ni < 0 && !nskip)) return QC_ERR_NOMEM;
    int orc = oi >= 0 ? get_at(s, oi, old) : QC_ERR_NOTFOUND;
    int nrc = ni >= 0 ? get_at(s, ni, nw) : QC_ERR_NOTFOUND;
    if (orc != QC_OK && orc != QC_ERR_NOTFOUND) return orc;
    if (nrc != QC_OK && nrc != QC_ERR_NOTFOUND) return nrc;
    if (s->trusted) {
        int rc = QC_OK;
        if (orc == QC_OK && old->state == QC_REC_VALID) {
            old->state = QC_REC_SUPERSEDED;
            old->state_height = height;
            old->state_tx_id = tx->id;
            memcpy(old->superseded_by.b, nd, 32);
            rc = put_at(s, oi, old);
        }
        if (rc == QC_OK && nrc == QC_OK && nw->supersedes_count < QC_SUPERSEDES_MAX) {
            memcpy(nw->supersedes[nw->supersedes_count++].b, od, 32);
            rc = put_at(s, ni, nw);
        }
        return rc;
    }
    if (orc == QC_ERR_NOTFOUND) WHY("record %s is not anchored", hexd(hex, od));
    else if (nrc == QC_ERR_NOTFOUND) WHY("record %s (the new record) is not anchored", hexd(hex, nd));
    else if (strcmp(old->owner, city) != 0)
        WHY("record %s is owned by %s; only its owner can supersede it", hexd(hex, od), old->owner);
    else if (strcmp(nw->owner, city) != 0)
        WHY("record %s (the new record) is owned by %s; a city supersedes only with its own "
            "record", hexd(hex, nd), nw->owner);
    else if (old->state != QC_REC_VALID)
        WHY("record %s is already " STATE_FMT "; only a valid record can be superseded",
            hexd(hex, od), STATE_ARGS(old));
    else if (nw->state != QC_REC_VALID)
        WHY("record %s (the new record) is " STATE_FMT "; it cannot replace another",
            hexd(hex, nd), STATE_ARGS(nw));
    else if (nw->supersedes_count >= QC_SUPERSEDES_MAX)
        WHY("record %s already replaces %u records, the most one record replaces",
            hexd(hex, nd), QC_SUPERSEDES_MAX);
    else {
        old->state = QC_REC_SUPERSEDED;
        old->state_height = height;
        old->state_tx_id = tx->id;
        memcpy(old->superseded_by.b, nd, 32);
        memcpy(nw->supersedes[nw->supersedes_count++].b, od, 32);
        int rc = put_at(s, oi, old);
        return rc == QC_OK ? put_at(s, ni, nw) : rc;
    }
    return QC_ERR_STATE;
}

int lc_apply(lc_state_t *s, const qc_tx_t *tx, const qc_validator_set_t *vs, uint64_t height,
             uint64_t log_index, char *why, size_t why_cap) {
    if (tx->type != QC_TX_ANCHOR && tx->life == NULL) return QC_OK;
    int m = qc_validators_find_seal(vs, &tx->signer);
    if (m < 0) {
        if (s->trusted) return QC_OK;
        WHY("signer is not a member city's seal key");
        return QC_ERR_MEMBER;
    }
    const char *city = vs->members[m].name;
    if (tx->type == QC_TX_ANCHOR) return anchor(s, tx, city, height, log_index);
    qc_recstat_t *st = malloc(2 * sizeof *st);
    if (st == NULL) return QC_ERR_NOMEM;
    int rc;
    if (tx->type == QC_TX_SUPERSEDE) {
        rc = supersede(s, tx, city, height, st, st + 1, why, why_cap);
    } else {
        long i;
        rc = load_named(s, tx->life->digest.b, st, &i, why, why_cap);
        if (rc == LC_SKIP || (rc == QC_ERR_STATE && s->trusted)) rc = QC_OK;
        else if (rc == QC_OK && tx->type == QC_TX_ENDORSE)
            rc = endorse(s, tx, city, height, st, i, why, why_cap);
        else if (rc == QC_OK)
            rc = revoke(s, tx, city, height, st, i, why, why_cap);
    }
    free(st);
    return rc;
}

int lc_each_changed(const lc_state_t *s,
                    int (*cb)(void *ctx, const uint8_t digest[32], const uint8_t *enc, size_t len),
                    void *ctx) {
    for (size_t j = 0; j < s->changed_n; j++) {
        const lc_entry_t *e = &s->tab[s->changed[j]];
        QC_ASSERT(e->used && e->dirty);
        int rc = cb(ctx, e->digest, e->enc, e->enc_len);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

void lc_clear_changed(lc_state_t *s) {
    for (size_t j = 0; j < s->changed_n; j++) s->tab[s->changed[j]].dirty = false;
    s->changed_n = 0;
}
