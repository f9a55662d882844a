/* recstat.c - canonical encoding, strict decoding and hashing of record statuses
 * (docs/PROTOCOL.md §5.1), and the names of the lifecycle codes (docs/RECORDS.md). */
#include "recstat.h"
#include "smt.h"

#include <stdio.h>
#include "fmt_internal.h"

const char *qc_rec_state_name(uint8_t state) {
    switch (state) {
    case QC_REC_VALID: return "valid";
    case QC_REC_REVOKED: return "revoked";
    case QC_REC_SUPERSEDED: return "superseded";
    default: return "unknown";
    }
}

const char *qc_purpose_name(uint16_t purpose) {
    switch (purpose) {
    case 1: return "e-seal recognition";
    case 2: return "licence acceptance";
    case 3: return "data verified";
    default: return NULL;
    }
}

const char *qc_reason_name(uint16_t reason) {
    switch (reason) {
    case 1: return "issued in error";
    case 2: return "expired or withdrawn";
    case 3: return "key compromise";
    case 4: return "court order";
    default: return NULL;
    }
}

bool rd_name(rd_t *r, char out[QC_MEMBER_NAME_MAX + 1]) {
    uint8_t n = rd_u8(r);
    const uint8_t *p = rd_take(r, n);
    out[0] = '\0';
    if (p == NULL || n > QC_MEMBER_NAME_MAX) { r->bad = true; return false; }
    memcpy(out, p, n);
    out[n] = '\0';
    return strlen(out) == n && qc_member_name_valid(out);
}

/* Every rule of §5.1 that is not about the bytes themselves. */
static bool recstat_sound(const qc_recstat_t *st) {
    if (!qc_member_name_valid(st->owner) || st->first_height == 0) return false;
    if (st->state > QC_REC_SUPERSEDED) return false;
    if (st->state == QC_REC_VALID && st->state_height != 0) return false;
    if (st->state != QC_REC_VALID && st->state_height < st->first_height) return false;
    if (st->state == QC_REC_REVOKED && st->reason == 0) return false;
    if (st->state == QC_REC_SUPERSEDED &&
        memcmp(st->superseded_by.b, st->digest.b, QC_HASH_BYTES) == 0)
        return false;
    if (st->supersedes_count > QC_SUPERSEDES_MAX || st->endorsement_count > QC_ENDORSEMENTS_MAX)
        return false;
    for (uint32_t i = 0; i < st->supersedes_count; i++) {
        if (memcmp(st->supersedes[i].b, st->digest.b, QC_HASH_BYTES) == 0) return false;
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(st->supersedes[i].b, st->supersedes[j].b, QC_HASH_BYTES) == 0) return false;
    }
    uint64_t prev = st->first_height;
    for (uint32_t i = 0; i < st->endorsement_count; i++) {
        const qc_endorsement_t *e = &st->endorsements[i];
        if (!qc_member_name_valid(e->city) || strcmp(e->city, st->owner) == 0 ||
            e->purpose == 0 || e->height < prev)
            return false;
        prev = e->height;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(e->city, st->endorsements[j].city) == 0) return false;
    }
    return true;
}

int qc_recstat_encode(const qc_recstat_t *st, uint8_t *out, size_t cap, size_t *len) {
    if (!recstat_sound(st)) return QC_ERR_INVALID;
    wr_t w = {out, cap, 0, false};
    wr_u8(&w, QC_RECSTAT_VERSION);
    wr_put(&w, st->digest.b, QC_HASH_BYTES);
    wr_name(&w, st->owner);
    wr_u64(&w, st->first_height);
    wr_put(&w, st->first_tx_id.b, QC_HASH_BYTES);
    wr_u64(&w, st->first_log_index);
    wr_u8(&w, st->state);
    if (st->state != QC_REC_VALID) {
        wr_u64(&w, st->state_height);
        wr_put(&w, st->state_tx_id.b, QC_HASH_BYTES);
        if (st->state == QC_REC_REVOKED) wr_u16(&w, st->reason);
        else wr_put(&w, st->superseded_by.b, QC_HASH_BYTES);
    }
    wr_u8(&w, st->supersedes_count);
    for (uint32_t i = 0; i < st->supersedes_count; i++)
        wr_put(&w, st->supersedes[i].b, QC_HASH_BYTES);
    wr_u8(&w, st->endorsement_count);
    for (uint32_t i = 0; i < st->endorsement_count; i++) {
        const qc_endorsement_t *e = &st->endorsements[i];
        wr_name(&w, e->city);
        wr_u64(&w, e->height);
        wr_u16(&w, e->purpose);
        wr_put(&w, e->tx_id.b, QC_HASH_BYTES);
    }
    if (w.bad) return QC_ERR_TOOBIG;
    *len = w.len;
    return QC_OK;
}

int qc_recstat_decode(const uint8_t *buf, size_t len, qc_recstat_t *st) {
    memset(st, 0, sizeof *st);
    if (len > QC_RECSTAT_BYTES_MAX) return QC_ERR_INVALID;
    rd_t r = {buf, len, 0, false};
    bool ok = rd_u8(&r) == QC_RECSTAT_VERSION;
    rd_bytes(&r, st->digest.b, QC_HASH_BYTES);
    ok = ok && rd_name(&r, st->owner);
    st->first_height = rd_u64(&r);
    rd_bytes(&r, st->first_tx_id.b, QC_HASH_BYTES);
    st->first_log_index = rd_u64(&r);
    st->state = rd_u8(&r);
    if (st->state == QC_REC_REVOKED || st->state == QC_REC_SUPERSEDED) {
        st->state_height = rd_u64(&r);
        rd_bytes(&r, st->state_tx_id.b, QC_HASH_BYTES);
        if (st->state == QC_REC_REVOKED) st->reason = rd_u16(&r);
        else rd_bytes(&r, st->superseded_by.b, QC_HASH_BYTES);
    }
    st->supersedes_count = rd_u8(&r);
    ok = ok && !r.bad && st->supersedes_count <= QC_SUPERSEDES_MAX;
    for (uint32_t i = 0; ok && i < st->supersedes_count; i++)
        rd_bytes(&r, st->supersedes[i].b, QC_HASH_BYTES);
    st->endorsement_count = rd_u8(&r);
    ok = ok && !r.bad && st->endorsement_count <= QC_ENDORSEMENTS_MAX;
    for (uint32_t i = 0; ok && i < st->endorsement_count; i++) {
        qc_endorsement_t *e = &st->endorsements[i];
        ok = rd_name(&r, e->city);
        e->height = rd_u64(&r);
        e->purpose = rd_u16(&r);
        rd_bytes(&r, e->tx_id.b, QC_HASH_BYTES);
    }
    if (!ok || r.bad || r.off != r.len || !recstat_sound(st)) {
        memset(st, 0, sizeof *st);
        return QC_ERR_INVALID;
    }
    return QC_OK;
}

int qc_recstat_as_of(const qc_recstat_t *st, uint64_t height, qc_recstat_t *out) {
    if (height < st->first_height) return QC_ERR_NOTFOUND;
    if (out != st) *out = *st;
    if (out->state != QC_REC_VALID && out->state_height > height) {
        out->state = QC_REC_VALID;
        out->state_height = 0;
        memset(&out->state_tx_id, 0, sizeof out->state_tx_id);
        out->reason = 0;
        memset(&out->superseded_by, 0, sizeof out->superseded_by);
    }
    uint8_t kept = 0; /* heights are non-decreasing: the endorsements up to height are a prefix */
    while (kept < out->endorsement_count && out->endorsements[kept].height <= height) kept++;
    out->endorsement_count = kept;
    return QC_OK;
}

void qc_recstat_fresh(qc_recstat_t *st, const uint8_t digest[32], const char *owner,
                      uint64_t height, const qc_hash_t *tx_id, uint64_t log_index) {
    memcpy(st->digest.b, digest, 32);
    snprintf(st->owner, sizeof st->owner, "%s", owner);
    st->first_height = height;
    st->first_tx_id = *tx_id;
    st->first_log_index = log_index;
    st->state = QC_REC_VALID;
    st->state_height = 0;
    st->supersedes_count = 0;
    st->endorsement_count = 0;
}

void qc_recstat_fresh_hash(const uint8_t digest[32], const char *owner, uint64_t height,
                           const qc_hash_t *tx_id, uint64_t log_index, qc_hash_t *out) {
    /* ctx 0x00 || version digest str8(owner) first_height first_tx_id first_log_index
     * state=0 supersedes_count=0 endorsement_count=0: at most 24 + 117 bytes */
    static const char ctx[] = QC_CTX_RECORD_STATUS;
    uint8_t buf[sizeof ctx + 1 + 32 + 1 + QC_MEMBER_NAME_MAX + 8 + 32 + 8 + 3];
    size_t olen = strlen(owner);
    QC_ASSERT(olen >= 1 && olen <= QC_MEMBER_NAME_MAX);
    uint8_t *p = buf;
    memcpy(p, ctx, sizeof ctx); p += sizeof ctx; /* with its NUL: the 0x00 separator */
    *p++ = QC_RECSTAT_VERSION;
    memcpy(p, digest, 32); p += 32;
    *p++ = (uint8_t)olen;
    memcpy(p, owner, olen); p += olen;
    qc_put_u64(p, height); p += 8;
    memcpy(p, tx_id->b, 32); p += 32;
    qc_put_u64(p, log_index); p += 8;
    *p++ = QC_REC_VALID;
    *p++ = 0;
    *p++ = 0;
    smt_sha256_short(out, buf, (size_t)(p - buf));
}

void qc_recstat_enc_hash(const uint8_t *enc, size_t len, qc_hash_t *out) {
    qc_hash_ctx(out, QC_CTX_RECORD_STATUS, enc, len);
}

int qc_recstat_hash(const qc_recstat_t *st, qc_hash_t *out) {
    uint8_t buf[QC_RECSTAT_BYTES_MAX];
    size_t len;
    int rc = qc_recstat_encode(st, buf, sizeof buf, &len);
    if (rc == QC_OK) qc_recstat_enc_hash(buf, len, out);
    return rc;
}
