/* fmt_share.c - the canonical body of the data-sharing transaction SHARE (docs/PROTOCOL.md §3,
 * docs/RECORDS.md "Data-sharing trail"): one operation per transaction, parsed strictly and
 * built by the cities' tools; and the strict encodings of the sharing state's values
 * (sharestat.h). Whether an operation is allowed on the chain's state is node/share's business. */
#include "fmt.h"
#include "fmt_internal.h"
#include "sharestat.h"

const char *qc_share_op_name(uint8_t op) {
    switch (op) {
    case QC_SHARE_DATASET: return "dataset";
    case QC_SHARE_REQUEST: return "request";
    case QC_SHARE_GRANT: return "grant";
    case QC_SHARE_DENY: return "deny";
    case QC_SHARE_ACCESS: return "access";
    default: return "unknown";
    }
}

const char *qc_share_purpose_name(uint16_t purpose) {
    switch (purpose) {
    case 1: return "public service";
    case 2: return "planning and research";
    case 3: return "audit or oversight";
    case 4: return "emergency response";
    default: return NULL;
    }
}

const char *qc_share_deny_name(uint16_t reason) {
    switch (reason) {
    case 1: return "purpose not covered by the terms";
    case 2: return "period too long";
    case 3: return "data not available";
    case 4: return "legal restriction";
    default: return NULL;
    }
}

/* A dataset name: 1..QC_DATASET_NAME_MAX bytes of UTF-8 without control characters, so that
 * it prints on one line wherever it is shown. */
static bool name_valid(const uint8_t *s, size_t n) {
    if (n == 0 || n > QC_DATASET_NAME_MAX || !utf8_valid(s, n)) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* Reads a text of n bytes (max bytes at most, UTF-8, no NUL) into out (NUL-terminated). */
static bool rd_text(rd_t *r, size_t n, size_t max, char *out) {
    const uint8_t *p = rd_take(r, n);
    if (p == NULL || n > max || !utf8_valid(p, n)) return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

int qc_share_op_parse(const uint8_t *p, size_t len, size_t *used, qc_share_op_t *op) {
    memset(op, 0, sizeof *op);
    rd_t r = {p, len, 0, false};
    op->op = rd_u8(&r);
    bool ok = !r.bad;
    switch (op->op) {
    case QC_SHARE_DATASET: {
        uint8_t n = rd_u8(&r);
        const uint8_t *name = rd_take(&r, n);
        ok = name != NULL && name_valid(name, n);
        if (ok) memcpy(op->name, name, n);
        rd_bytes(&r, op->schema.b, QC_HASH_BYTES);
        op->terms_kind = rd_u8(&r);
        if (op->terms_kind == QC_TERMS_TEXT)
            ok = ok && rd_text(&r, rd_u16(&r), QC_TERMS_MAX, op->terms);
        else if (op->terms_kind == QC_TERMS_DIGEST)
            rd_bytes(&r, op->terms_digest.b, QC_HASH_BYTES);
        else
            ok = false;
        break;
    }
    case QC_SHARE_REQUEST:
        rd_bytes(&r, op->ref.b, QC_HASH_BYTES);
        op->code = rd_u16(&r);
        ok = rd_text(&r, rd_u16(&r), QC_PURPOSE_MAX, op->purpose) && op->code != 0;
        op->from_height = rd_u64(&r);
        op->until_height = rd_u64(&r);
        ok = ok && op->from_height >= 1 && op->from_height <= op->until_height;
        break;
    case QC_SHARE_GRANT:
        rd_bytes(&r, op->ref.b, QC_HASH_BYTES);
        break;
    case QC_SHARE_DENY:
        rd_bytes(&r, op->ref.b, QC_HASH_BYTES);
        op->code = rd_u16(&r);
        ok = op->code != 0;
        break;
    case QC_SHARE_ACCESS:
        rd_bytes(&r, op->ref.b, QC_HASH_BYTES);
        rd_bytes(&r, op->digest.b, QC_HASH_BYTES);
        break;
    default: ok = false;
    }
    if (!ok || r.bad) return QC_ERR_INVALID;
    *used = r.off;
    return QC_OK;
}

/* Writes a u16 length and the text s (at most max bytes; longer is an error in b). */
static void txb_text16(qc_txb_t *b, const char *s, size_t max) {
    size_t n = strnlen(s, max + 1);
    if (n > max && b->err == QC_OK) b->err = QC_ERR_INVALID;
    txb_u16(b, (uint16_t)(n > max ? 0 : n));
    txb_put(b, s, n > max ? 0 : n);
}

int qc_share_tx_build(const char *chain_id, const qc_seckey_t *sk, uint64_t nonce,
                      uint64_t expiry_height, const qc_share_op_t *op, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    qc_txb_t b;
    txb_common(&b, QC_TX_SHARE, chain_id, sk, nonce, expiry_height);
    txb_u8(&b, op->op);
    switch (op->op) {
    case QC_SHARE_DATASET: {
        size_t n = strnlen(op->name, QC_DATASET_NAME_MAX + 1);
        if (n > QC_DATASET_NAME_MAX && b.err == QC_OK) b.err = QC_ERR_INVALID;
        txb_u8(&b, (uint8_t)(n > QC_DATASET_NAME_MAX ? 0 : n));
        txb_put(&b, op->name, n > QC_DATASET_NAME_MAX ? 0 : n);
        txb_put(&b, op->schema.b, QC_HASH_BYTES);
        txb_u8(&b, op->terms_kind);
        if (op->terms_kind == QC_TERMS_TEXT) txb_text16(&b, op->terms, QC_TERMS_MAX);
        else txb_put(&b, op->terms_digest.b, QC_HASH_BYTES);
        break;
    }
    case QC_SHARE_REQUEST:
        txb_put(&b, op->ref.b, QC_HASH_BYTES);
        txb_u16(&b, op->code);
        txb_text16(&b, op->purpose, QC_PURPOSE_MAX);
        txb_u64(&b, op->from_height);
        txb_u64(&b, op->until_height);
        break;
    case QC_SHARE_GRANT:
        txb_put(&b, op->ref.b, QC_HASH_BYTES);
        break;
    case QC_SHARE_DENY:
        txb_put(&b, op->ref.b, QC_HASH_BYTES);
        txb_u16(&b, op->code);
        break;
    case QC_SHARE_ACCESS:
        txb_put(&b, op->ref.b, QC_HASH_BYTES);
        txb_put(&b, op->digest.b, QC_HASH_BYTES);
        break;
    default:
        if (b.err == QC_OK) b.err = QC_ERR_INVALID;
    }
    return txb_sign_parse(&b, sk, tx);
}

/* ---------------------------------------------------------------- sharing state values */


const char *sh_req_state_name(uint8_t state) {
    switch (state) {
    case SH_REQ_OPEN: return "open";
    case SH_REQ_GRANTED: return "granted";
    case SH_REQ_DENIED: return "denied";
    default: return "unknown";
    }
}

static void wr_text8(wr_t *w, const char *s) {
    size_t n = strlen(s);
    wr_u8(w, (uint8_t)n);
    wr_put(w, s, n);
}
static void wr_text16(wr_t *w, const char *s) {
    size_t n = strlen(s);
    wr_u16(w, (uint16_t)n);
    wr_put(w, s, n);
}

size_t sh_dataset_encode(const sh_dataset_t *d, uint8_t *out) {
    wr_t w = {out, SH_VALUE_MAX, 0, false};
    wr_put(&w, d->id.b, 32);
    wr_name(&w, d->owner);
    wr_text8(&w, d->name);
    wr_put(&w, d->schema.b, 32);
    wr_u8(&w, d->terms_kind);
    if (d->terms_kind == QC_TERMS_TEXT) wr_text16(&w, d->terms);
    else wr_put(&w, d->terms_digest.b, 32);
    wr_u64(&w, d->height);
    wr_u32(&w, d->request_count);
    QC_ASSERT(!w.bad); /* every field is bounded: SH_VALUE_MAX holds the longest */
    return w.len;
}

int sh_dataset_decode(const uint8_t *v, size_t len, sh_dataset_t *d) {
    memset(d, 0, sizeof *d);
    rd_t r = {v, len, 0, false};
    rd_bytes(&r, d->id.b, 32);
    bool ok = rd_name(&r, d->owner);
    uint8_t n = rd_u8(&r);
    const uint8_t *name = rd_take(&r, n);
    ok = ok && name != NULL && name_valid(name, n);
    if (ok) memcpy(d->name, name, n);
    rd_bytes(&r, d->schema.b, 32);
    d->terms_kind = rd_u8(&r);
    if (d->terms_kind == QC_TERMS_TEXT) ok = ok && rd_text(&r, rd_u16(&r), QC_TERMS_MAX, d->terms);
    else if (d->terms_kind == QC_TERMS_DIGEST) rd_bytes(&r, d->terms_digest.b, 32);
    else ok = false;
    d->height = rd_u64(&r);
    d->request_count = rd_u32(&r);
    if (!ok || r.bad || r.off != len || d->height == 0) {
        memset(d, 0, sizeof *d);
        return QC_ERR_CORRUPT;
    }
    return QC_OK;
}

size_t sh_request_encode(const sh_request_t *q, uint8_t *out) {
    wr_t w = {out, SH_VALUE_MAX, 0, false};
    wr_put(&w, q->id.b, 32);
    wr_put(&w, q->dataset.b, 32);
    wr_name(&w, q->requester);
    wr_u16(&w, q->purpose);
    wr_text16(&w, q->purpose_text);
    wr_u64(&w, q->from_height);
    wr_u64(&w, q->until_height);
    wr_u64(&w, q->height);
    wr_u8(&w, q->state);
    if (q->state != SH_REQ_OPEN) {
        wr_u64(&w, q->answer_height);
        wr_put(&w, q->answer_tx_id.b, 32);
        if (q->state == SH_REQ_DENIED) wr_u16(&w, q->reason);
    }
    wr_u32(&w, q->access_count);
    QC_ASSERT(!w.bad);
    return w.len;
}

int sh_request_decode(const uint8_t *v, size_t len, sh_request_t *q) {
    memset(q, 0, sizeof *q);
    rd_t r = {v, len, 0, false};
    rd_bytes(&r, q->id.b, 32);
    rd_bytes(&r, q->dataset.b, 32);
    bool ok = rd_name(&r, q->requester);
    q->purpose = rd_u16(&r);
    ok = ok && rd_text(&r, rd_u16(&r), QC_PURPOSE_MAX, q->purpose_text);
    q->from_height = rd_u64(&r);
    q->until_height = rd_u64(&r);
    q->height = rd_u64(&r);
    q->state = rd_u8(&r);
    if (q->state == SH_REQ_GRANTED || q->state == SH_REQ_DENIED) {
        q->answer_height = rd_u64(&r);
        rd_bytes(&r, q->answer_tx_id.b, 32);
        if (q->state == SH_REQ_DENIED) ok = ok && (q->reason = rd_u16(&r)) != 0;
        ok = ok && q->answer_height >= q->height;
    } else {
        ok = ok && q->state == SH_REQ_OPEN;
    }
    q->access_count = rd_u32(&r);
    ok = ok && q->purpose != 0 && q->from_height >= 1 && q->from_height <= q->until_height &&
         q->height >= 1 && (q->state == SH_REQ_GRANTED || q->access_count == 0);
    if (!ok || r.bad || r.off != len) {
        memset(q, 0, sizeof *q);
        return QC_ERR_CORRUPT;
    }
    return QC_OK;
}

size_t sh_access_encode(const sh_access_t *a, uint8_t *out) {
    wr_t w = {out, SH_VALUE_MAX, 0, false};
    wr_u64(&w, a->height);
    wr_put(&w, a->tx_id.b, 32);
    wr_put(&w, a->digest.b, 32);
    QC_ASSERT(!w.bad);
    return w.len;
}

int sh_access_decode(const uint8_t *v, size_t len, sh_access_t *a) {
    memset(a, 0, sizeof *a);
    rd_t r = {v, len, 0, false};
    a->height = rd_u64(&r);
    rd_bytes(&r, a->tx_id.b, 32);
    rd_bytes(&r, a->digest.b, 32);
    if (r.bad || r.off != len || a->height == 0) {
        memset(a, 0, sizeof *a);
        return QC_ERR_CORRUPT;
    }
    return QC_OK;
}
