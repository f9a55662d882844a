/* gov.c - governance rules: who may propose and vote, the safety rails on a change, when a
 * proposal passes or closes, and the epoch switch at the checkpoint after it passed. */
#include "gov.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "jsonv.h"

static int fail(char *why, size_t cap, int rc, const char *fmt, ...) {
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int popcount64(uint64_t v) { return __builtin_popcountll(v); }

static const char *short_id(const qc_hash_t *id, char buf[17]) {
    qc_hex_encode(buf, id->b, 8);
    return buf;
}

const char *gov_status_name(uint8_t status) {
    static const char *const names[] = {"open", "passed", "enacted", "rejected", "withdrawn",
                                        "expired", "superseded"};
    return status < sizeof names / sizeof names[0] ? names[status] : "unknown";
}

const char *gov_change_kind_name(uint8_t kind) {
    static const char *const names[] = {"?", "add", "remove", "rotate", "addresses", "threshold"};
    return kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

const char *gov_role_name(uint8_t role) {
    static const char *const names[] = {"?", "node", "seal", "admin"};
    return role < sizeof names / sizeof names[0] ? names[role] : "unknown";
}

void gov_init(gov_state_t *g, const qc_validator_set_t *vs, const gov_info_t *info,
              uint32_t checkpoint_interval) {
    memset(g, 0, sizeof *g);
    QC_ASSERT(vs->n <= QC_VALIDATORS_MAX && checkpoint_interval >= 1);
    g->checkpoint_interval = checkpoint_interval;
    g->vs = *vs;
    for (uint32_t i = 0; i < vs->n; i++) g->info[i] = info[i];
}

static int find_name(const qc_validator_set_t *vs, const char *name) {
    for (uint32_t i = 0; i < vs->n; i++)
        if (strcmp(vs->members[i].name, name) == 0) return (int)i;
    return -1;
}

static int find_admin(const qc_validator_set_t *vs, const qc_pubkey_t *k) {
    for (uint32_t i = 0; i < vs->n; i++)
        if (sodium_memcmp(vs->members[i].admin_key.b, k->b, QC_PUBKEY_BYTES) == 0) return (int)i;
    return -1;
}

const gov_proposal_t *gov_find_open(const gov_state_t *g, const qc_hash_t *id) {
    for (uint32_t i = 0; i < g->open_count; i++)
        if (memcmp(g->open[i].id.b, id->b, QC_HASH_BYTES) == 0) return &g->open[i];
    return NULL;
}

/* Every key of every member, and every address, is distinct; keys are valid curve points. */
static int set_problem(const qc_validator_set_t *vs, const gov_info_t *info, char *why,
                       size_t cap) {
    for (uint32_t i = 0; i < vs->n; i++) {
        const qc_member_t *m = &vs->members[i];
        const qc_pubkey_t *ki[3] = {&m->node_key, &m->seal_key, &m->admin_key};
        for (int a = 0; a < 3; a++) {
            if (crypto_core_ed25519_is_valid_point(ki[a]->b) != 1)
                return fail(why, cap, QC_ERR_INVALID, "%s's %s key is not a valid Ed25519 public key",
                            m->name, gov_role_name((uint8_t)(a + 1)));
            for (uint32_t j = i; j < vs->n; j++) {
                const qc_member_t *o = &vs->members[j];
                const qc_pubkey_t *kj[3] = {&o->node_key, &o->seal_key, &o->admin_key};
                for (int b = j == i ? a + 1 : 0; b < 3; b++)
                    if (memcmp(ki[a]->b, kj[b]->b, QC_PUBKEY_BYTES) == 0)
                        return fail(why, cap, QC_ERR_STATE,
                                    "%s's %s key is also %s's %s key: every key must be distinct",
                                    m->name, gov_role_name((uint8_t)(a + 1)), o->name,
                                    gov_role_name((uint8_t)(b + 1)));
            }
        }
        for (uint32_t j = i + 1; j < vs->n; j++) {
            if (info[i].p2p_address[0] == '\0' || info[j].p2p_address[0] == '\0')
                continue; /* a store made without addresses (tests) */
            if (strcmp(info[i].p2p_address, info[j].p2p_address) == 0 ||
                strcmp(info[i].api_address, info[j].api_address) == 0 ||
                strcmp(info[i].p2p_address, info[j].api_address) == 0 ||
                strcmp(info[i].api_address, info[j].p2p_address) == 0)
                return fail(why, cap, QC_ERR_STATE, "%s and %s would share an address", m->name,
                            vs->members[j].name);
        }
    }
    return QC_OK;
}

static int apply_change(qc_validator_set_t *vs, gov_info_t *info, const qc_change_t *c,
                        char *why, size_t cap) {
    int idx = c->kind == QC_CHANGE_THRESHOLD ? -1 : find_name(vs, c->name);
    if (c->kind != QC_CHANGE_THRESHOLD && c->kind != QC_CHANGE_ADD && idx < 0)
        return fail(why, cap, QC_ERR_STATE, "no member city is named \"%s\"", c->name);
    if ((c->kind == QC_CHANGE_ADD || c->kind == QC_CHANGE_ADDRESSES) &&
        (!jsonv_addr_valid(c->p2p_address) || !jsonv_addr_valid(c->api_address)))
        return fail(why, cap, QC_ERR_INVALID, "%s: addresses must be \"host:port\" with port 1..65535",
                    c->name);
    switch (c->kind) {
    case QC_CHANGE_ADD: {
        if (idx >= 0) return fail(why, cap, QC_ERR_STATE, "a member city is already named \"%s\"", c->name);
        if (vs->n >= QC_VALIDATORS_MAX)
            return fail(why, cap, QC_ERR_STATE, "the consortium already has %d members, the most allowed",
                        QC_VALIDATORS_MAX);
        qc_member_t *m = &vs->members[vs->n];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", c->name);
        m->node_key = c->node_key;
        m->seal_key = c->seal_key;
        m->admin_key = c->admin_key;
        gov_info_t *in = &info[vs->n];
        snprintf(in->display_name, sizeof in->display_name, "%s", c->display_name);
        snprintf(in->p2p_address, sizeof in->p2p_address, "%s", c->p2p_address);
        snprintf(in->api_address, sizeof in->api_address, "%s", c->api_address);
        vs->n++;
        return QC_OK;
    }
    case QC_CHANGE_REMOVE:
        memmove(&vs->members[idx], &vs->members[idx + 1], (vs->n - (uint32_t)idx - 1) * sizeof vs->members[0]);
        memmove(&info[idx], &info[idx + 1], (vs->n - (uint32_t)idx - 1) * sizeof info[0]);
        vs->n--;
        memset(&vs->members[vs->n], 0, sizeof vs->members[0]);
        memset(&info[vs->n], 0, sizeof info[0]);
        return QC_OK;
    case QC_CHANGE_ROTATE: {
        qc_member_t *m = &vs->members[idx];
        qc_pubkey_t *k = c->role == QC_ROLE_NODE ? &m->node_key
                       : c->role == QC_ROLE_SEAL ? &m->seal_key : &m->admin_key;
        if (memcmp(k->b, c->new_key.b, QC_PUBKEY_BYTES) == 0)
            return fail(why, cap, QC_ERR_INVALID, "%s's %s key is already that key: a rotation "
                        "names a new one", c->name, gov_role_name(c->role));
        *k = c->new_key;
        return QC_OK;
    }
    case QC_CHANGE_ADDRESSES:
        snprintf(info[idx].p2p_address, sizeof info[idx].p2p_address, "%s", c->p2p_address);
        snprintf(info[idx].api_address, sizeof info[idx].api_address, "%s", c->api_address);
        return QC_OK;
    case QC_CHANGE_THRESHOLD:
        vs->governance_threshold = c->threshold;
        return QC_OK;
    default: return fail(why, cap, QC_ERR_INVALID, "unknown change kind %u", c->kind);
    }
}

int gov_result(const qc_validator_set_t *vs, const gov_info_t *info, const qc_change_t *changes,
               uint8_t count, qc_validator_set_t *out_vs, gov_info_t *out_info, char *why,
               size_t cap) {
    if (count == 0 || count > QC_GOV_CHANGES_MAX)
        return fail(why, cap, QC_ERR_INVALID, "a proposal carries 1..%d changes", QC_GOV_CHANGES_MAX);
    for (uint8_t i = 0; i < count; i++)
        for (uint8_t j = 0; j < i; j++) {
            bool same_name = changes[i].kind != QC_CHANGE_THRESHOLD &&
                             changes[j].kind != QC_CHANGE_THRESHOLD &&
                             strcmp(changes[i].name, changes[j].name) == 0;
            bool two_thresholds = changes[i].kind == QC_CHANGE_THRESHOLD &&
                                  changes[j].kind == QC_CHANGE_THRESHOLD;
            if (same_name || two_thresholds)
                return fail(why, cap, QC_ERR_INVALID, "changes %u and %u both concern %s: one change per city "
                            "(and one threshold) per proposal", j, i,
                            two_thresholds ? "the threshold" : changes[i].name);
        }
    *out_vs = *vs;
    memcpy(out_info, info, sizeof(gov_info_t) * QC_VALIDATORS_MAX);
    for (uint8_t i = 0; i < count; i++) {
        int rc = apply_change(out_vs, out_info, &changes[i], why, cap);
        if (rc != QC_OK) return rc;
    }
    if (out_vs->n < GOV_VALIDATORS_MIN)
        return fail(why, cap, QC_ERR_STATE, "the change would leave %u validators; at least %d are needed "
                    "to tolerate one faulty city", out_vs->n, GOV_VALIDATORS_MIN);
    if (out_vs->governance_threshold < 1 || out_vs->governance_threshold > out_vs->n)
        return fail(why, cap, QC_ERR_STATE, "the approval threshold %u would exceed the %u members: "
                    "lower it in the same proposal", out_vs->governance_threshold, out_vs->n);
    /* Overlap: members of the old set that keep their node key. Fewer than an old quorum, and
     * the new set's quorum could be formed without anyone who certified the old history. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < vs->n; i++) {
        int j = find_name(out_vs, vs->members[i].name);
        if (j >= 0 && memcmp(out_vs->members[j].node_key.b, vs->members[i].node_key.b,
                             QC_PUBKEY_BYTES) == 0)
            kept++;
    }
    if (kept < qc_quorum(vs->n))
        return fail(why, cap, QC_ERR_STATE, "the old and new validator sets would share %u cities with "
                    "unchanged node keys; at least %u (a quorum of %u) must stay: remove or re-key "
                    "fewer cities at once", kept, qc_quorum(vs->n), vs->n);
    return set_problem(out_vs, out_info, why, cap);
}

/* The member index of tx's signer as an admin, or a failure. */
static int admin_of(const gov_state_t *g, const qc_tx_t *tx, char *why, size_t cap) {
    int i = find_admin(&g->vs, &tx->signer);
    if (i < 0)
        return fail(why, cap, QC_ERR_MEMBER, "signed by a key that is not a member city's admin key in "
                    "epoch %llu", (unsigned long long)g->vs.epoch);
    return i;
}

static int check_vote(const gov_state_t *g, const qc_gov_op_t *op, int who, uint64_t height,
                      char *why, size_t cap) {
    char sid[17];
    const gov_proposal_t *p = gov_find_open(g, &op->proposal);
    if (p == NULL)
        return fail(why, cap, QC_ERR_NOTFOUND, "no open proposal %s (passed, closed or never made)",
                    short_id(&op->proposal, sid));
    if (height > p->vote_expiry_height)
        return fail(why, cap, QC_ERR_EXPIRED, "proposal %s expired at block %llu", short_id(&p->id, sid),
                    (unsigned long long)p->vote_expiry_height);
    uint64_t bit = 1ull << who;
    if (op->op == QC_GOV_WITHDRAW) {
        if ((uint32_t)who != p->proposer)
            return fail(why, cap, QC_ERR_MEMBER, "only %s, which proposed %s, may withdraw it",
                        g->vs.members[p->proposer].name, short_id(&p->id, sid));
        return QC_OK;
    }
    if ((p->approvals | p->rejections) & bit)
        return fail(why, cap, QC_ERR_DUPLICATE, "%s already %s proposal %s", g->vs.members[who].name,
                    p->approvals & bit ? "approved" : "rejected", short_id(&p->id, sid));
    if (op->op == QC_GOV_APPROVE && g->waiting)
        return fail(why, cap, QC_ERR_STATE, "change %s is waiting for its epoch at block %llu; approve "
                    "others after it", short_id(&g->passed.id, sid),
                    (unsigned long long)g->switch_height);
    return QC_OK;
}

int gov_check(const gov_state_t *g, const qc_tx_t *tx, uint64_t height, char *why, size_t cap) {
    if (tx->type != QC_TX_GOVERN || tx->gov == NULL)
        return fail(why, cap, QC_ERR_INVALID, "not a governance transaction");
    int who = admin_of(g, tx, why, cap);
    if (who < 0) return who;
    const qc_gov_op_t *op = tx->gov;
    if (op->op != QC_GOV_PROPOSE) return check_vote(g, op, who, height, why, cap);
    char sid[17];
    if (g->waiting)
        return fail(why, cap, QC_ERR_STATE, "change %s is waiting for its epoch at block %llu; propose "
                    "after it takes effect", short_id(&g->passed.id, sid),
                    (unsigned long long)g->switch_height);
    if (g->open_count >= GOV_PROPOSALS_MAX)
        return fail(why, cap, QC_ERR_FULL, "%d proposals are open, the most allowed: withdraw one or let "
                    "it expire", GOV_PROPOSALS_MAX);
    if (op->vote_expiry_height < height || op->vote_expiry_height - height > QC_TX_TTL_BLOCKS_MAX)
        return fail(why, cap, QC_ERR_INVALID, "vote expiry %llu must lie between block %llu and %d blocks "
                    "beyond it", (unsigned long long)op->vote_expiry_height,
                    (unsigned long long)height, QC_TX_TTL_BLOCKS_MAX);
    qc_validator_set_t *vs = malloc(sizeof *vs);
    gov_info_t *info = malloc(sizeof(gov_info_t) * QC_VALIDATORS_MAX);
    int rc = vs && info ? gov_result(&g->vs, g->info, op->changes, op->change_count, vs, info, why, cap)
                        : QC_ERR_NOMEM;
    free(vs);
    free(info);
    return rc;
}

static void record(gov_record_cb rec, void *ctx, const gov_proposal_t *p) {
    if (rec) rec(ctx, p);
}

static void remove_open(gov_state_t *g, uint32_t i) {
    memmove(&g->open[i], &g->open[i + 1], (g->open_count - i - 1) * sizeof g->open[0]);
    g->open_count--;
    memset(&g->open[g->open_count], 0, sizeof g->open[0]); /* canonical: as gov_decode leaves it */
}

/* p (in g->open at index i) reached the threshold in block height. */
static void pass(gov_state_t *g, uint32_t i, uint64_t height, gov_record_cb rec, void *ctx) {
    gov_proposal_t *p = &g->open[i];
    uint64_t k = g->checkpoint_interval;
    p->status = GOV_PASSED;
    p->closed_height = height;
    g->switch_height = (height + k - 1) / k * k;
    p->effective_height = g->switch_height + 1;
    char why[8];
    int rc = gov_result(&g->vs, g->info, p->changes, p->change_count, &g->next_vs, g->next_info,
                        why, sizeof why);
    QC_ASSERT(rc == QC_OK); /* checked when proposed; the set cannot change while it is open */
    g->next_vs.epoch = g->vs.epoch + 1;
    g->waiting = true;
    g->passed = *p;
    record(rec, ctx, p);
    remove_open(g, i);
}

void gov_apply(gov_state_t *g, const qc_tx_t *tx, uint64_t height, gov_record_cb rec, void *ctx) {
    const qc_gov_op_t *op = tx->gov;
    int who = find_admin(&g->vs, &tx->signer);
    QC_ASSERT(op != NULL && who >= 0);
    uint32_t i;
    if (op->op == QC_GOV_PROPOSE) {
        QC_ASSERT(g->open_count < GOV_PROPOSALS_MAX);
        i = g->open_count++;
        gov_proposal_t *p = &g->open[i];
        memset(p, 0, sizeof *p);
        p->id = tx->id;
        p->epoch = g->vs.epoch;
        p->proposer = (uint32_t)who;
        p->proposed_height = height;
        p->vote_expiry_height = op->vote_expiry_height;
        p->approvals = 1ull << who;
        p->change_count = op->change_count;
        memcpy(p->changes, op->changes, sizeof p->changes[0] * op->change_count);
    } else {
        for (i = 0; i < g->open_count; i++)
            if (memcmp(g->open[i].id.b, op->proposal.b, QC_HASH_BYTES) == 0) break;
        QC_ASSERT(i < g->open_count);
        gov_proposal_t *p = &g->open[i];
        if (op->op == QC_GOV_WITHDRAW) {
            p->status = GOV_WITHDRAWN;
            p->closed_height = height;
            record(rec, ctx, p);
            remove_open(g, i);
            return;
        }
        if (op->op == QC_GOV_APPROVE) p->approvals |= 1ull << who;
        else p->rejections |= 1ull << who;
    }
    gov_proposal_t *p = &g->open[i];
    uint32_t t = g->vs.governance_threshold;
    if (!g->waiting && (uint32_t)popcount64(p->approvals) >= t) {
        pass(g, i, height, rec, ctx);
    } else if ((uint32_t)popcount64(p->rejections) > g->vs.n - t) {
        p->status = GOV_REJECTED;
        p->closed_height = height;
        record(rec, ctx, p);
        remove_open(g, i);
    } else {
        record(rec, ctx, p);
    }
}

bool gov_end_block(gov_state_t *g, uint64_t height, qc_hash_t *next_hash, bool *changed,
                   gov_record_cb rec, void *ctx) {
    memset(next_hash, 0, sizeof *next_hash);
    bool any = false;
    for (uint32_t i = 0; i < g->open_count;) {
        gov_proposal_t *p = &g->open[i];
        if (height < p->vote_expiry_height) { i++; continue; }
        p->status = GOV_EXPIRED;
        p->closed_height = height;
        record(rec, ctx, p);
        remove_open(g, i);
        any = true;
    }
    bool switched = g->waiting && height == g->switch_height;
    if (switched) {
        while (g->open_count > 0) {
            g->open[0].status = GOV_SUPERSEDED;
            g->open[0].closed_height = height;
            record(rec, ctx, &g->open[0]);
            remove_open(g, 0);
        }
        g->vs = g->next_vs;
        memcpy(g->info, g->next_info, sizeof g->info);
        g->passed.status = GOV_ENACTED;
        record(rec, ctx, &g->passed);
        g->waiting = false;
        memset(&g->passed, 0, sizeof g->passed);
        memset(&g->next_vs, 0, sizeof g->next_vs);
        memset(g->next_info, 0, sizeof g->next_info);
        g->switch_height = 0;
        qc_validators_hash(&g->vs, next_hash);
        any = true;
    }
    if (changed) *changed = any;
    return switched;
}
