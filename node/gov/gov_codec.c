/* gov_codec.c - the store's bytes for the governance state and for proposal records
 * (docs/STORAGE.md): big-endian integers and length-prefixed strings, every field written,
 * decoded strictly so that a damaged value is reported as corrupt and never half-read. */
#include "gov.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int err;
} gw_t;

static void gw_put(gw_t *w, const void *p, size_t n) {
    if (w->err) return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap < w->len + n) cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (b == NULL) { w->err = QC_ERR_NOMEM; return; }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}
static void gw_u8(gw_t *w, uint8_t v) { gw_put(w, &v, 1); }
static void gw_u16(gw_t *w, uint16_t v) { uint8_t t[2]; qc_put_u16(t, v); gw_put(w, t, 2); }
static void gw_u32(gw_t *w, uint32_t v) { uint8_t t[4]; qc_put_u32(t, v); gw_put(w, t, 4); }
static void gw_u64(gw_t *w, uint64_t v) { uint8_t t[8]; qc_put_u64(t, v); gw_put(w, t, 8); }
static void gw_str(gw_t *w, const char *s) {
    size_t n = strlen(s);
    QC_ASSERT(n <= 255);
    gw_u8(w, (uint8_t)n);
    gw_put(w, s, n);
}

typedef struct {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} gr_t;

static const uint8_t *gr_take(gr_t *r, size_t n) {
    if (r->bad || n > r->len - r->off) { r->bad = true; return NULL; }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}
static uint8_t gr_u8(gr_t *r) { const uint8_t *p = gr_take(r, 1); return p ? p[0] : 0; }
static uint16_t gr_u16(gr_t *r) { const uint8_t *p = gr_take(r, 2); return p ? qc_get_u16(p) : 0; }
static uint32_t gr_u32(gr_t *r) { const uint8_t *p = gr_take(r, 4); return p ? qc_get_u32(p) : 0; }
static uint64_t gr_u64(gr_t *r) { const uint8_t *p = gr_take(r, 8); return p ? qc_get_u64(p) : 0; }
static void gr_bytes(gr_t *r, void *out, size_t n) {
    const uint8_t *p = gr_take(r, n);
    if (p) memcpy(out, p, n); else memset(out, 0, n);
}
static void gr_str(gr_t *r, char *out, size_t cap) {
    uint8_t n = gr_u8(r);
    const uint8_t *p = gr_take(r, n);
    if (p == NULL || (size_t)n + 1 > cap || memchr(p, 0, n)) { r->bad = true; out[0] = 0; return; }
    memcpy(out, p, n);
    out[n] = 0;
}

static void put_change(gw_t *w, const qc_change_t *c) {
    gw_u8(w, c->kind);
    gw_str(w, c->name);
    gw_str(w, c->display_name);
    gw_put(w, c->node_key.b, 32);
    gw_put(w, c->seal_key.b, 32);
    gw_put(w, c->admin_key.b, 32);
    gw_u8(w, c->role);
    gw_put(w, c->new_key.b, 32);
    gw_str(w, c->p2p_address);
    gw_str(w, c->api_address);
    gw_u16(w, c->threshold);
}

static void get_change(gr_t *r, qc_change_t *c) {
    c->kind = gr_u8(r);
    gr_str(r, c->name, sizeof c->name);
    gr_str(r, c->display_name, sizeof c->display_name);
    gr_bytes(r, c->node_key.b, 32);
    gr_bytes(r, c->seal_key.b, 32);
    gr_bytes(r, c->admin_key.b, 32);
    c->role = gr_u8(r);
    gr_bytes(r, c->new_key.b, 32);
    gr_str(r, c->p2p_address, sizeof c->p2p_address);
    gr_str(r, c->api_address, sizeof c->api_address);
    c->threshold = gr_u16(r);
    if (c->kind < QC_CHANGE_ADD || c->kind > QC_CHANGE_THRESHOLD) r->bad = true;
}

static void put_proposal(gw_t *w, const gov_proposal_t *p) {
    gw_put(w, p->id.b, 32);
    gw_u64(w, p->epoch);
    gw_u32(w, p->proposer);
    gw_u64(w, p->proposed_height);
    gw_u64(w, p->vote_expiry_height);
    gw_u64(w, p->approvals);
    gw_u64(w, p->rejections);
    gw_u8(w, p->status);
    gw_u64(w, p->closed_height);
    gw_u64(w, p->effective_height);
    gw_u8(w, p->change_count);
    for (uint8_t i = 0; i < p->change_count; i++) put_change(w, &p->changes[i]);
}

static void get_proposal(gr_t *r, gov_proposal_t *p) {
    memset(p, 0, sizeof *p);
    gr_bytes(r, p->id.b, 32);
    p->epoch = gr_u64(r);
    p->proposer = gr_u32(r);
    p->proposed_height = gr_u64(r);
    p->vote_expiry_height = gr_u64(r);
    p->approvals = gr_u64(r);
    p->rejections = gr_u64(r);
    p->status = gr_u8(r);
    p->closed_height = gr_u64(r);
    p->effective_height = gr_u64(r);
    p->change_count = gr_u8(r);
    if (p->change_count < 1 || p->change_count > QC_GOV_CHANGES_MAX || p->status > GOV_SUPERSEDED ||
        p->proposer >= QC_VALIDATORS_MAX) {
        r->bad = true;
        return;
    }
    for (uint8_t i = 0; i < p->change_count && !r->bad; i++) get_change(r, &p->changes[i]);
}

static void put_set(gw_t *w, const qc_validator_set_t *vs, const gov_info_t *info) {
    gw_u64(w, vs->epoch);
    gw_u16(w, (uint16_t)vs->n);
    gw_u16(w, (uint16_t)vs->governance_threshold);
    for (uint32_t i = 0; i < vs->n; i++) {
        const qc_member_t *m = &vs->members[i];
        gw_str(w, m->name);
        gw_put(w, m->node_key.b, 32);
        gw_put(w, m->seal_key.b, 32);
        gw_put(w, m->admin_key.b, 32);
        gw_str(w, info[i].display_name);
        gw_str(w, info[i].p2p_address);
        gw_str(w, info[i].api_address);
    }
}

static void get_set(gr_t *r, qc_validator_set_t *vs, gov_info_t *info) {
    memset(vs, 0, sizeof *vs);
    vs->epoch = gr_u64(r);
    vs->n = gr_u16(r);
    vs->governance_threshold = gr_u16(r);
    if (vs->n > QC_VALIDATORS_MAX || vs->governance_threshold > vs->n) { r->bad = true; return; }
    for (uint32_t i = 0; i < vs->n && !r->bad; i++) {
        qc_member_t *m = &vs->members[i];
        gr_str(r, m->name, sizeof m->name);
        gr_bytes(r, m->node_key.b, 32);
        gr_bytes(r, m->seal_key.b, 32);
        gr_bytes(r, m->admin_key.b, 32);
        gr_str(r, info[i].display_name, sizeof info[i].display_name);
        gr_str(r, info[i].p2p_address, sizeof info[i].p2p_address);
        gr_str(r, info[i].api_address, sizeof info[i].api_address);
    }
}

static int finish(gw_t *w, uint8_t **out, size_t *len) {
    if (w->err) {
        free(w->buf);
        return w->err;
    }
    *out = w->buf;
    *len = w->len;
    return QC_OK;
}

int gov_encode(const gov_state_t *g, uint8_t **out, size_t *len) {
    gw_t w = {0};
    gw_u8(&w, GOV_STATE_VERSION);
    gw_u32(&w, g->checkpoint_interval);
    put_set(&w, &g->vs, g->info);
    gw_u8(&w, g->waiting);
    if (g->waiting) {
        gw_u64(&w, g->switch_height);
        put_proposal(&w, &g->passed);
        put_set(&w, &g->next_vs, g->next_info);
    }
    gw_u32(&w, g->open_count);
    for (uint32_t i = 0; i < g->open_count; i++) put_proposal(&w, &g->open[i]);
    return finish(&w, out, len);
}

int gov_decode(const uint8_t *buf, size_t len, gov_state_t *g) {
    memset(g, 0, sizeof *g);
    gr_t r = {buf, len, 0, false};
    if (gr_u8(&r) != GOV_STATE_VERSION) return QC_ERR_CORRUPT;
    g->checkpoint_interval = gr_u32(&r);
    get_set(&r, &g->vs, g->info);
    uint8_t waiting = gr_u8(&r);
    if (waiting > 1) r.bad = true;
    g->waiting = waiting == 1;
    if (g->waiting && !r.bad) {
        g->switch_height = gr_u64(&r);
        get_proposal(&r, &g->passed);
        get_set(&r, &g->next_vs, g->next_info);
    }
    g->open_count = gr_u32(&r);
    if (g->open_count > GOV_PROPOSALS_MAX) r.bad = true;
    for (uint32_t i = 0; i < g->open_count && !r.bad; i++) get_proposal(&r, &g->open[i]);
    if (r.bad || r.off != r.len || g->checkpoint_interval == 0) {
        memset(g, 0, sizeof *g);
        return QC_ERR_CORRUPT;
    }
    return QC_OK;
}

int gov_proposal_encode(const gov_proposal_t *p, uint8_t **out, size_t *len) {
    gw_t w = {0};
    gw_u8(&w, GOV_STATE_VERSION);
    put_proposal(&w, p);
    return finish(&w, out, len);
}

int gov_proposal_decode(const uint8_t *buf, size_t len, gov_proposal_t *p) {
    gr_t r = {buf, len, 0, false};
    if (gr_u8(&r) != GOV_STATE_VERSION) return QC_ERR_CORRUPT;
    get_proposal(&r, p);
    return r.bad || r.off != r.len ? QC_ERR_CORRUPT : QC_OK;
}
