/* fmt_internal.h - the bounds-checked reader and growing writer that proto/fmt.c and
 * proto/fmt_gov.c share to parse and build canonical byte strings. Private to proto/. */
#ifndef QC_FMT_INTERNAL_H
#define QC_FMT_INTERNAL_H

#include <stdlib.h>
#include <string.h>

#include "fmt.h"

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), no NUL. */
static inline bool utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return false;
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

/* A bounds-checked reader over a canonical byte string. */
typedef struct {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} rd_t;

static inline const uint8_t *rd_take(rd_t *r, size_t n) {
    if (r->bad || n > r->len - r->off) { r->bad = true; return NULL; }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}
static inline uint8_t rd_u8(rd_t *r) { const uint8_t *p = rd_take(r, 1); return p ? p[0] : 0; }
static inline uint16_t rd_u16(rd_t *r) { const uint8_t *p = rd_take(r, 2); return p ? qc_get_u16(p) : 0; }
static inline uint32_t rd_u32(rd_t *r) { const uint8_t *p = rd_take(r, 4); return p ? qc_get_u32(p) : 0; }
static inline uint64_t rd_u64(rd_t *r) { const uint8_t *p = rd_take(r, 8); return p ? qc_get_u64(p) : 0; }
static inline void rd_bytes(rd_t *r, void *out, size_t n) {
    const uint8_t *p = rd_take(r, n);
    if (p) memcpy(out, p, n); else memset(out, 0, n);
}
/* Reads u8 length + chain id into out (NUL-terminated) and validates it. A NUL inside the n
 * bytes would hide the rest from the string check and from re-encoding (which uses strlen):
 * two byte strings would decode to one value, so it is refused. */
static inline void rd_chain_id(rd_t *r, char out[QC_CHAIN_ID_MAX + 1]) {
    uint8_t n = rd_u8(r);
    const uint8_t *p = rd_take(r, n);
    if (p == NULL || n == 0 || n > QC_CHAIN_ID_MAX) { r->bad = true; out[0] = '\0'; return; }
    memcpy(out, p, n);
    out[n] = '\0';
    if (strlen(out) != n || !qc_chain_id_valid(out)) r->bad = true;
}

static inline int txb_reserve(qc_txb_t *b, size_t more) {
    if (b->err) return b->err;
    if (b->len + more > QC_TX_BODY_BYTES_MAX) return b->err = QC_ERR_TOOBIG;
    if (b->len + more <= b->cap) return QC_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    uint8_t *nb = realloc(b->buf, cap);
    if (nb == NULL) return b->err = QC_ERR_NOMEM;
    b->buf = nb;
    b->cap = cap;
    return QC_OK;
}

static inline void txb_put(qc_txb_t *b, const void *p, size_t n) {
    if (n == 0) return;
    if (txb_reserve(b, n) != QC_OK) return;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}
static inline void txb_u8(qc_txb_t *b, uint8_t v) { txb_put(b, &v, 1); }
static inline void txb_u16(qc_txb_t *b, uint16_t v) { uint8_t t[2]; qc_put_u16(t, v); txb_put(b, t, 2); }
static inline void txb_u64(qc_txb_t *b, uint64_t v) { uint8_t t[8]; qc_put_u64(t, v); txb_put(b, t, 8); }

static inline void txb_str8(qc_txb_t *b, const char *s) {
    size_t n = strlen(s);
    if (n > 255) { b->err = QC_ERR_INVALID; return; }
    txb_u8(b, (uint8_t)n);
    txb_put(b, s, n);
}

/* Writes the common body fields of a `type` transaction signed by sk's public half (bytes
 * 32..63 of a libsodium secret key) into an empty builder. */
static inline void txb_common(qc_txb_t *b, uint16_t type, const char *chain_id,
                              const qc_seckey_t *sk, uint64_t nonce, uint64_t expiry_height) {
    memset(b, 0, sizeof *b);
    if (!qc_chain_id_valid(chain_id)) { b->err = QC_ERR_INVALID; return; }
    txb_u8(b, QC_FMT_VERSION);
    txb_u16(b, type);
    txb_str8(b, chain_id);
    txb_put(b, sk->b + 32, QC_PUBKEY_BYTES);
    txb_u64(b, nonce);
    txb_u64(b, expiry_height);
}

/* Signs the builder's body with sk, parses it into *tx (the parser's checks are the contract;
 * caller owns *tx on QC_OK) and frees the builder's buffer in all cases. */
static inline int txb_sign_parse(qc_txb_t *b, const qc_seckey_t *sk, qc_tx_t *tx) {
    int rc = b->err;
    if (rc == QC_OK) {
        qc_sig_t sig;
        qc_sign_ctx(&sig, sk, QC_CTX_TX_SIG, b->buf, b->len);
        rc = qc_tx_parse(b->buf, b->len, &sig, tx);
    }
    free(b->buf);
    b->buf = NULL;
    return rc;
}

/* Parses a GOVERN operation (after the common body fields) from p[0..len): *used gets the
 * bytes it took. QC_ERR_INVALID when malformed. */
int qc_gov_op_parse(const uint8_t *p, size_t len, size_t *used, qc_gov_op_t *op);

/* Parses a lifecycle body of `type` (after the common body fields) from p[0..len): *used gets
 * the bytes it took. QC_ERR_INVALID when malformed. */
int qc_life_op_parse(uint16_t type, const uint8_t *p, size_t len, size_t *used, qc_life_op_t *op);

/* Parses a SHARE operation (after the common body fields) from p[0..len): *used gets the
 * bytes it took. QC_ERR_INVALID when malformed. */
int qc_share_op_parse(const uint8_t *p, size_t len, size_t *used, qc_share_op_t *op);

/* A bounds-checked writer into a caller buffer. */
typedef struct {
    uint8_t *p;
    size_t cap, len;
    bool bad;
} wr_t;

static inline void wr_put(wr_t *w, const void *src, size_t n) {
    if (w->bad || n > w->cap - w->len) { w->bad = true; return; }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}
static inline void wr_u8(wr_t *w, uint8_t v) { wr_put(w, &v, 1); }
static inline void wr_u16(wr_t *w, uint16_t v) { uint8_t t[2]; qc_put_u16(t, v); wr_put(w, t, 2); }
static inline void wr_u32(wr_t *w, uint32_t v) { uint8_t t[4]; qc_put_u32(t, v); wr_put(w, t, 4); }
static inline void wr_u64(wr_t *w, uint64_t v) { uint8_t t[8]; qc_put_u64(t, v); wr_put(w, t, 8); }
/* str8 member name (refused: not a member name's length). */
static inline void wr_name(wr_t *w, const char *name) {
    size_t n = strnlen(name, QC_MEMBER_NAME_MAX + 1);
    if (n > QC_MEMBER_NAME_MAX) { w->bad = true; return; }
    wr_u8(w, (uint8_t)n);
    wr_put(w, name, n);
}

/* str8 member name into out; false if it is not a valid member name (proto/recstat.c). */
bool rd_name(rd_t *r, char out[QC_MEMBER_NAME_MAX + 1]);

#endif
