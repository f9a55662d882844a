/* audit.c - checkpoint audit: consistency of signed checkpoints over time and across nodes. */
#include "audit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)
#define STATE_FILE_BYTES_MAX (1u << 20)

audit_verdict_t audit_compare(const note_checkpoint_t *a, const note_checkpoint_t *b,
                              const qc_hash_t *proof, size_t proof_len, char *why,
                              size_t why_cap) {
    if (a->size == b->size) {
        if (memcmp(a->root.b, b->root.b, 32) == 0) { WHY("same checkpoint at size %" PRIu64, a->size); return AUDIT_CONSISTENT; }
        WHY("two signed checkpoints of size %" PRIu64 " have different roots", a->size);
        return AUDIT_FORK;
    }
    const note_checkpoint_t *lo = a->size < b->size ? a : b, *hi = a->size < b->size ? b : a;
    if (merkle_verify_consistency(lo->size, hi->size, &lo->root, &hi->root, proof, proof_len) != QC_OK) {
        WHY("the consistency proof from size %" PRIu64 " to %" PRIu64 " does not verify",
            lo->size, hi->size);
        return AUDIT_FORK;
    }
    WHY("grew consistently from %" PRIu64 " to %" PRIu64, lo->size, hi->size);
    return AUDIT_CONSISTENT;
}

/* ---------------------------------------------------------------- the audit */

static audit_verdict_t finish(audit_report_t *r, audit_verdict_t v, const char *a_text,
                              const char *a_from, const char *b_text, const char *b_from) {
    r->verdict = v;
    if (v == AUDIT_FORK) {
        r->evidence_text[0] = a_text;
        r->evidence_from[0] = a_from;
        r->evidence_text[1] = b_text;
        r->evidence_from[1] = b_from;
    }
    return v;
}

/* Checks checkpoint c (text, from) against the newest (source k). Returns AUDIT_CONSISTENT to
 * go on; otherwise the verdict is final and in r. */
static audit_verdict_t check_against_newest(audit_report_t *r, const audit_source_t *src,
                                            size_t count, const note_checkpoint_t *c,
                                            const char *text, const char *from) {
    const audit_seen_t *nw = &r->seen[r->newest];
    const note_checkpoint_t *n = &nw->note.cp;
    char why[256];
    if (c->size == n->size) {
        if (audit_compare(c, n, NULL, 0, why, sizeof why) == AUDIT_CONSISTENT) return AUDIT_CONSISTENT;
        snprintf(r->reason, sizeof r->reason, "FORK: %s (%s and %s)", why, from, src[r->newest].name);
        return finish(r, AUDIT_FORK, text, from, nw->text, src[r->newest].name);
    }
    uint64_t lo = c->size < n->size ? c->size : n->size, hi = c->size < n->size ? n->size : c->size;
    bool served = false;
    char last[256] = "no node could serve a consistency proof";
    /* Any node that served a valid note may hold the larger size in its ledger (its head can
     * be ahead of its signed note); one that does not answers with an error. */
    for (size_t i = 0; i < count; i++) {
        if (!r->seen[i].ok) continue;
        qc_hash_t proof[MERKLE_PROOF_MAX];
        size_t len = 0;
        char pwhy[200] = "";
        if (src[i].get_proof(src[i].ctx, lo, hi, proof, &len, pwhy, sizeof pwhy) != QC_OK) {
            snprintf(last, sizeof last, "%s: %s", src[i].name, pwhy);
            continue;
        }
        served = true;
        if (audit_compare(c, n, proof, len, why, sizeof why) == AUDIT_CONSISTENT) return AUDIT_CONSISTENT;
    }
    if (!served) {
        snprintf(r->reason, sizeof r->reason, "cannot check size %" PRIu64 " against %" PRIu64 ": %s",
                 lo, hi, last);
        r->verdict = AUDIT_ERROR;
        return AUDIT_ERROR;
    }
    snprintf(r->reason, sizeof r->reason, "FORK: %s (%s and %s)", why, from, src[r->newest].name);
    return finish(r, AUDIT_FORK, text, from, nw->text, src[r->newest].name);
}

/* The validator set of epoch: the genesis set, or src's certified one. */
static int set_of(const qc_validator_set_t *genesis_vs, const audit_source_t *src,
                  uint64_t epoch, qc_validator_set_t *out, char *why, size_t why_cap) {
    if (epoch == 0) {
        *out = *genesis_vs;
        return QC_OK;
    }
    return src->get_set(src->ctx, epoch, out, why, why_cap);
}

/* Fetches and verifies source src's note into s. false with s->error set when it is refused.
 * The newest epoch is asked before the note, so a switch in between can only make the note
 * newer than the history it is compared with, never spuriously older. */
static bool fetch_one(audit_seen_t *s, const char *chain_id, const qc_hash_t *genesis_hash,
                      const qc_validator_set_t *genesis_vs, uint64_t prev_epoch,
                      const audit_source_t *src) {
    size_t len = 0;
    uint64_t newest = 0;
    char why[256] = "";
    if (src->get_newest_epoch(src->ctx, &newest, why, sizeof why) != QC_OK) {
        snprintf(s->error, sizeof s->error, "cannot read its membership history: %s", why);
        return false;
    }
    if (src->get_note(src->ctx, &s->text, &len, &s->epoch, why, sizeof why) != QC_OK) {
        snprintf(s->error, sizeof s->error, "%s", why);
        return false;
    }
    uint64_t floor = newest > prev_epoch ? newest : prev_epoch;
    if (s->epoch < floor) {
        snprintf(s->error, sizeof s->error, "served checkpoint is signed by epoch %" PRIu64 "'s "
                 "set, but %s epoch %" PRIu64 ": a past epoch's keys cannot vouch for a checkpoint",
                 s->epoch, newest >= prev_epoch ? "its membership history reaches"
                                                : "the accepted checkpoint is of", floor);
        return false;
    }
    if (set_of(genesis_vs, src, s->epoch, &s->vs, why, sizeof why) != QC_OK) {
        snprintf(s->error, sizeof s->error, "cannot certify epoch %" PRIu64 "'s validator set: %s",
                 s->epoch, why);
        return false;
    }
    if (note_signed_open(s->text, len, chain_id, genesis_hash, &s->vs, &s->note, why, sizeof why) != QC_OK) {
        snprintf(s->error, sizeof s->error, "served checkpoint does not verify with epoch %" PRIu64
                 "'s set: %s", s->epoch, why);
        return false;
    }
    return true;
}

static void fetch_all(audit_report_t *r, const char *chain_id, const qc_hash_t *genesis_hash,
                      const qc_validator_set_t *genesis_vs, const audit_source_t *src,
                      size_t count) {
    for (size_t i = 0; i < count; i++) {
        audit_seen_t *s = &r->seen[i];
        s->ok = fetch_one(s, chain_id, genesis_hash, genesis_vs, r->prev_epoch, &src[i]);
        if (s->ok && (r->newest < 0 || s->note.cp.size > r->seen[r->newest].note.cp.size))
            r->newest = (int)i;
    }
}

/* Verifies the state file's note with the set of its epoch, certified by the first source
 * that can. QC_OK, or the reason in r. */
static int open_prev(audit_report_t *r, const char *chain_id, const qc_hash_t *genesis_hash,
                     const qc_validator_set_t *genesis_vs, const char *prev_text,
                     const audit_source_t *src, size_t count) {
    qc_validator_set_t *vs = malloc(sizeof *vs);
    char why[256] = "no node to ask";
    int rc = vs ? QC_ERR_NOTFOUND : QC_ERR_NOMEM;
    if (vs && r->prev_epoch == 0) rc = set_of(genesis_vs, NULL, 0, vs, why, sizeof why);
    for (size_t i = 0; vs && rc != QC_OK && r->prev_epoch > 0 && i < count; i++)
        rc = set_of(genesis_vs, &src[i], r->prev_epoch, vs, why, sizeof why);
    if (rc != QC_OK)
        snprintf(r->reason, sizeof r->reason, "cannot certify epoch %" PRIu64 "'s validator set to "
                 "re-verify the accepted checkpoint: %s", r->prev_epoch, vs ? why : "out of memory");
    else if ((rc = note_signed_open(prev_text, strlen(prev_text), chain_id, genesis_hash, vs, &r->prev, why,
                                    sizeof why)) != QC_OK)
        snprintf(r->reason, sizeof r->reason, "the accepted checkpoint in the state file does not "
                 "verify with epoch %" PRIu64 "'s set: %s", r->prev_epoch, why);
    free(vs);
    return rc;
}

audit_verdict_t audit_run(const char *chain_id, const qc_hash_t *genesis_hash,
                          const qc_validator_set_t *genesis_vs,
                          const char *prev_text, uint64_t prev_epoch,
                          const audit_source_t *sources, size_t count, audit_report_t *r) {
    QC_ASSERT(count <= AUDIT_SOURCES_MAX);
    memset(r, 0, sizeof *r);
    r->newest = -1;
    r->seen_count = count;
    r->verdict = AUDIT_ERROR;
    r->prev_epoch = prev_text ? prev_epoch : 0;
    if (prev_text && open_prev(r, chain_id, genesis_hash, genesis_vs, prev_text, sources, count) != QC_OK)
        return AUDIT_ERROR;
    r->had_prev = prev_text != NULL;
    fetch_all(r, chain_id, genesis_hash, genesis_vs, sources, count);
    if (r->newest < 0) {
        /* one node: its error; several: each has its own in seen[] (the report lists them) */
        if (count == 1)
            snprintf(r->reason, sizeof r->reason, "no node served a valid quorum-signed "
                     "checkpoint: %s", r->seen[0].error);
        else
            snprintf(r->reason, sizeof r->reason, "none of the %zu nodes served a valid "
                     "quorum-signed checkpoint", count);
        return AUDIT_ERROR;
    }
    for (size_t i = 0; i < count; i++) {
        if (!r->seen[i].ok || (int)i == r->newest) continue;
        if (check_against_newest(r, sources, count, &r->seen[i].note.cp, r->seen[i].text,
                                 sources[i].name) != AUDIT_CONSISTENT)
            return r->verdict;
    }
    const note_checkpoint_t *n = &r->seen[r->newest].note.cp;
    if (r->had_prev &&
        check_against_newest(r, sources, count, &r->prev.cp, prev_text, "the state file") != AUDIT_CONSISTENT)
        return r->verdict;
    uint64_t epoch = r->seen[r->newest].epoch;
    r->advanced = !r->had_prev || n->size > r->prev.cp.size ||
                  (n->size == r->prev.cp.size && epoch > r->prev_epoch);
    if (!r->had_prev)
        snprintf(r->reason, sizeof r->reason, "first checkpoint accepted: size %" PRIu64, n->size);
    else if (n->size > r->prev.cp.size)
        snprintf(r->reason, sizeof r->reason, "grew consistently from %" PRIu64 " to %" PRIu64,
                 r->prev.cp.size, n->size);
    else if (n->size == r->prev.cp.size && epoch > r->prev_epoch)
        snprintf(r->reason, sizeof r->reason, "unchanged at size %" PRIu64 ", now signed by epoch "
                 "%" PRIu64 "'s set", n->size, epoch);
    else if (n->size == r->prev.cp.size)
        snprintf(r->reason, sizeof r->reason, "unchanged at size %" PRIu64, n->size);
    else
        snprintf(r->reason, sizeof r->reason, "nodes serve size %" PRIu64 ", consistent with but "
                 "older than the accepted %" PRIu64, n->size, r->prev.cp.size);
    r->verdict = AUDIT_CONSISTENT;
    return AUDIT_CONSISTENT;
}

void audit_report_free(audit_report_t *r) {
    for (size_t i = 0; i < r->seen_count; i++) free(r->seen[i].text);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- state file */

int audit_state_load(const char *path, const genesis_t *g, char **note, uint64_t *epoch,
                     char *why, size_t why_cap) {
    *note = NULL;
    *epoch = 0;
    uint8_t *buf;
    size_t len;
    errno = 0;
    int rc = qc_file_read(path, STATE_FILE_BYTES_MAX, &buf, &len);
    if (rc == QC_ERR_NOTFOUND) return rc;
    if (rc != QC_OK) { /* errno: the OS's reason (qc_file_read), e.g. EISDIR */
        int err = errno;
        WHY("%s: cannot read the file: %s", path, (rc == QC_ERR_IO || rc == QC_ERR_INVALID) && err
                                                  ? strerror(err)
                                                  : rc == QC_ERR_INVALID ? "not a regular file"
                                                                         : qc_strerror(rc));
        return rc;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    json_int_t version = 0, size = 0, accepted = 0, ep = 0;
    const char *chain = NULL, *gh = NULL, *root = NULL, *text = NULL;
    /* version 1 has no "epoch" (its notes were all the genesis set's): s?I leaves ep at 0 */
    if (j == NULL || json_unpack_ex(j, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:I, s:s, s:s, s?I, s:I}",
                                    "version", &version, "chain_id", &chain, "genesis_hash", &gh,
                                    "tree_size", &size, "root", &root, "note", &text, "epoch",
                                    &ep, "accepted_ms", &accepted) != 0) {
        WHY("%s: not an audit state file (%s)", path, jerr.text);
        json_decref(j);
        return QC_ERR_INVALID;
    }
    char ghex[65];
    qc_hash_hex(ghex, &g->hash);
    rc = QC_ERR_INVALID;
    bool has_epoch = json_object_get(j, "epoch") != NULL;
    if (version != 1 && version != AUDIT_STATE_VERSION)
        WHY("%s: version %lld, expected 1 or %d", path, (long long)version, AUDIT_STATE_VERSION);
    else if (has_epoch != (version >= 2) || ep < 0)
        WHY("%s: version %lld %s", path, (long long)version,
            ep < 0 ? "has a negative epoch" : has_epoch ? "has an epoch (added in 2)" : "lacks the epoch");
    else if (strcmp(chain, g->chain_id) != 0 || strcmp(gh, ghex) != 0)
        WHY("%s: state of chain %s, not of this genesis (%s)", path, chain, g->chain_id);
    else if ((*note = strdup(text)) == NULL) WHY("out of memory");
    else {
        *epoch = (uint64_t)ep;
        rc = QC_OK;
    }
    json_decref(j);
    return rc;
}

int audit_state_save(const char *path, const genesis_t *g, const note_signed_t *s,
                     const char *note_text, uint64_t epoch, uint64_t now_ms) {
    char ghex[65], rhex[65];
    json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "version", AUDIT_STATE_VERSION,
                          "chain_id", g->chain_id, "genesis_hash", qc_hash_hex(ghex, &g->hash),
                          "tree_size", (json_int_t)s->cp.size, "root",
                          qc_hash_hex(rhex, &s->cp.root), "note", note_text, "epoch",
                          (json_int_t)epoch, "accepted_ms", (json_int_t)now_ms);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    if (text == NULL) return QC_ERR_NOMEM;
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (withnl == NULL) { free(text); return QC_ERR_NOMEM; }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    int rc = qc_file_write_atomic(path, withnl, len + 1, 0644, false);
    free(withnl);
    return rc;
}
