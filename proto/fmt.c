/* fmt.c - canonical encodings, hashing, signing and strict decoding of qchain's formats
 * (transactions, block headers, blocks, commit certificates, validator sets); see fmt.h and
 * docs/PROTOCOL.md for the byte layouts. */
#include "fmt.h"
#include "fmt_internal.h"
#include "merkle.h"
#include "qchain.pb-c.h"
#include "sha256.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* ------------------------------------------------------------------ contexts */

/* Feeds ctx || 0x00 into a SHA-256 state. */
static void sha_ctx_init(qc_sha256_state_t *st, const char *ctx) {
    qc_sha256_init(st);
    qc_sha256_update(st, (const unsigned char *)ctx, strlen(ctx) + 1);
}

void qc_hash_ctx(qc_hash_t *out, const char *ctx, const void *msg, size_t len) {
    qc_sha256_state_t st;
    sha_ctx_init(&st, ctx);
    qc_sha256_update(&st, msg, len);
    qc_sha256_final(&st, out->b);
}

/* Builds ctx || 0 || msg in buf (stack when small). Returns NULL on allocation failure. */
static uint8_t *ctx_message(const char *ctx, const void *msg, size_t len, uint8_t *stack,
                            size_t stack_cap, size_t *out_len) {
    size_t clen = strlen(ctx) + 1;
    *out_len = clen + len;
    uint8_t *buf = *out_len <= stack_cap ? stack : malloc(*out_len);
    if (buf == NULL) return NULL;
    memcpy(buf, ctx, clen);
    if (len) memcpy(buf + clen, msg, len);
    return buf;
}

void qc_sign_ctx(qc_sig_t *sig, const qc_seckey_t *sk, const char *ctx, const void *msg,
                 size_t len) {
    uint8_t stack[512];
    size_t mlen;
    uint8_t *m = ctx_message(ctx, msg, len, stack, sizeof stack, &mlen);
    QC_ASSERT(m != NULL); /* signing must not silently fail */
    crypto_sign_detached(sig->b, NULL, m, mlen, sk->b);
    if (m != stack) free(m);
}

int qc_verify_ctx(const qc_sig_t *sig, const qc_pubkey_t *pk, const char *ctx, const void *msg,
                  size_t len) {
    uint8_t stack[512];
    size_t mlen;
    uint8_t *m = ctx_message(ctx, msg, len, stack, sizeof stack, &mlen);
    if (m == NULL) return QC_ERR_NOMEM;
    int ok = crypto_sign_verify_detached(sig->b, m, mlen, pk->b) == 0;
    if (m != stack) free(m);
    return ok ? QC_OK : QC_ERR_SIGNATURE;
}

/* ------------------------------------------------------------------ validation helpers */

bool qc_chain_id_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > QC_CHAIN_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

static bool record_type_valid(const char *s, size_t n) {
    if (n == 0 || n > QC_RECORD_TYPE_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok) return false;
    }
    return true;
}

/* ------------------------------------------------------------------ transaction builder */

int qc_txb_init(qc_txb_t *b, const char *chain_id, const qc_pubkey_t *signer, uint64_t nonce,
                uint64_t expiry_height) {
    memset(b, 0, sizeof *b);
    if (!qc_chain_id_valid(chain_id)) return b->err = QC_ERR_INVALID;
    txb_u8(b, QC_FMT_VERSION);
    txb_u16(b, QC_TX_ANCHOR);
    txb_u8(b, (uint8_t)strlen(chain_id));
    txb_put(b, chain_id, strlen(chain_id));
    txb_put(b, signer->b, QC_PUBKEY_BYTES);
    txb_u64(b, nonce);
    txb_u64(b, expiry_height);
    b->count_offset = b->len;
    txb_u16(b, 0); /* record count, patched in finish */
    return b->err;
}

int qc_txb_add_record(qc_txb_t *b, const qc_hash_t *digest, const char *type,
                      const char *ext_ref, const qc_hash_t *supersedes) {
    if (b->err) return b->err;
    size_t tlen = type ? strlen(type) : 0, rlen = ext_ref ? strlen(ext_ref) : 0;
    if (!record_type_valid(type, tlen) || rlen > QC_EXTREF_MAX ||
        !utf8_valid((const uint8_t *)ext_ref, rlen))
        return b->err = QC_ERR_INVALID;
    if (b->record_count >= QC_TX_RECORDS_MAX) return b->err = QC_ERR_TOOBIG;
    txb_put(b, digest->b, QC_HASH_BYTES);
    txb_u8(b, (uint8_t)tlen);
    txb_put(b, type, tlen);
    txb_u16(b, (uint16_t)rlen);
    txb_put(b, ext_ref, rlen);
    txb_u8(b, supersedes ? 1 : 0);
    if (supersedes) txb_put(b, supersedes->b, QC_HASH_BYTES);
    if (b->err == QC_OK) b->record_count++;
    return b->err;
}

void qc_txb_abort(qc_txb_t *b) {
    free(b->buf);
    memset(b, 0, sizeof *b);
}

int qc_txb_finish(qc_txb_t *b, const qc_seckey_t *sk, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    int rc = b->err;
    if (rc == QC_OK && b->record_count == 0) rc = QC_ERR_INVALID;
    /* The signer field must be the public half of sk (bytes 32..63 of a libsodium sk). */
    if (rc == QC_OK && memcmp(b->buf + b->count_offset - 16 - QC_PUBKEY_BYTES, sk->b + 32,
                              QC_PUBKEY_BYTES) != 0)
        rc = QC_ERR_INVALID;
    if (rc == QC_OK) {
        qc_put_u16(b->buf + b->count_offset, (uint16_t)b->record_count);
        qc_sig_t sig;
        qc_sign_ctx(&sig, sk, QC_CTX_TX_SIG, b->buf, b->len);
        rc = qc_tx_parse(b->buf, b->len, &sig, tx);
    }
    qc_txb_abort(b);
    return rc;
}

/* ------------------------------------------------------------------ transaction parsing */

static int parse_anchor_records(rd_t *r, qc_tx_t *tx) {
    uint16_t count = rd_u16(r);
    if (r->bad || count == 0 || count > QC_TX_RECORDS_MAX) return QC_ERR_INVALID;
    tx->records = calloc(count, sizeof *tx->records);
    if (tx->records == NULL) return QC_ERR_NOMEM;
    for (uint32_t i = 0; i < count; i++) {
        qc_record_t *rec = &tx->records[i];
        rec->digest = rd_take(r, QC_HASH_BYTES);
        rec->type_len = rd_u8(r);
        rec->type = (const char *)rd_take(r, rec->type_len);
        rec->ext_ref_len = rd_u16(r);
        rec->ext_ref = (const char *)rd_take(r, rec->ext_ref_len);
        uint8_t flags = rd_u8(r);
        if (r->bad || flags > 1) return QC_ERR_INVALID;
        rec->supersedes = flags ? rd_take(r, QC_HASH_BYTES) : NULL;
        if (r->bad || !record_type_valid(rec->type, rec->type_len) ||
            rec->ext_ref_len > QC_EXTREF_MAX ||
            !utf8_valid((const uint8_t *)rec->ext_ref, rec->ext_ref_len))
            return QC_ERR_INVALID;
    }
    tx->record_count = count;
    return QC_OK;
}

int qc_tx_parse(const uint8_t *body, size_t body_len, const qc_sig_t *sig, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    if (body_len == 0 || body_len > QC_TX_BODY_BYTES_MAX) return QC_ERR_INVALID;
    tx->body = malloc(body_len);
    if (tx->body == NULL) return QC_ERR_NOMEM;
    memcpy(tx->body, body, body_len);
    tx->body_len = body_len;
    tx->sig = *sig;
    rd_t r = {tx->body, body_len, 0, false};
    tx->version = rd_u8(&r);
    tx->type = rd_u16(&r);
    rd_chain_id(&r, tx->chain_id);
    rd_bytes(&r, tx->signer.b, QC_PUBKEY_BYTES);
    tx->nonce = rd_u64(&r);
    tx->expiry_height = rd_u64(&r);
    int rc = QC_ERR_INVALID;
    if (!r.bad && tx->version == QC_FMT_VERSION && tx->type == QC_TX_ANCHOR)
        rc = parse_anchor_records(&r, tx);
    if (!r.bad && tx->version == QC_FMT_VERSION && tx->type == QC_TX_GOVERN) {
        tx->gov = malloc(sizeof *tx->gov);
        size_t used = 0;
        rc = tx->gov ? qc_gov_op_parse(r.p + r.off, r.len - r.off, &used, tx->gov) : QC_ERR_NOMEM;
        if (rc == QC_OK) r.off += used;
    }
    if (!r.bad && tx->version == QC_FMT_VERSION && qc_tx_type_is_lifecycle(tx->type)) {
        tx->life = malloc(sizeof *tx->life);
        size_t used = 0;
        rc = tx->life ? qc_life_op_parse(tx->type, r.p + r.off, r.len - r.off, &used, tx->life)
                      : QC_ERR_NOMEM;
        if (rc == QC_OK) r.off += used;
    }
    if (!r.bad && tx->version == QC_FMT_VERSION && tx->type == QC_TX_SHARE) {
        tx->share = malloc(sizeof *tx->share);
        size_t used = 0;
        rc = tx->share ? qc_share_op_parse(r.p + r.off, r.len - r.off, &used, tx->share)
                       : QC_ERR_NOMEM;
        if (rc == QC_OK) r.off += used;
    }
    if (rc == QC_OK && r.off != r.len) rc = QC_ERR_INVALID; /* trailing bytes */
    if (rc != QC_OK) { qc_tx_free(tx); return rc; }
    qc_hash_ctx(&tx->id, QC_CTX_TX_ID, tx->body, tx->body_len);
    return QC_OK;
}

int qc_tx_verify_sig(const qc_tx_t *tx) {
    return qc_verify_ctx(&tx->sig, &tx->signer, QC_CTX_TX_SIG, tx->body, tx->body_len);
}

void qc_tx_free(qc_tx_t *tx) {
    if (tx == NULL) return;
    free(tx->body);
    free(tx->records);
    free(tx->gov);
    free(tx->life);
    free(tx->share);
    memset(tx, 0, sizeof *tx);
}

int qc_tx_clone(const qc_tx_t *src, qc_tx_t *dst) {
    return qc_tx_parse(src->body, src->body_len, &src->sig, dst);
}

void qc_tx_leaf_hash(const qc_tx_t *tx, qc_hash_t *out) {
    uint8_t data[sizeof QC_CTX_TX_LEAF + QC_HASH_BYTES + QC_SIG_BYTES];
    memcpy(data, QC_CTX_TX_LEAF, sizeof QC_CTX_TX_LEAF); /* includes the 0x00 */
    memcpy(data + sizeof QC_CTX_TX_LEAF, tx->id.b, QC_HASH_BYTES);
    memcpy(data + sizeof QC_CTX_TX_LEAF + QC_HASH_BYTES, tx->sig.b, QC_SIG_BYTES);
    merkle_leaf_hash(out, data, sizeof data);
}

int qc_tx_encode(const qc_tx_t *tx, uint8_t **out, size_t *len) {
    Qchain__SignedTx m = QCHAIN__SIGNED_TX__INIT;
    m.body.data = tx->body;
    m.body.len = tx->body_len;
    m.sig.data = (uint8_t *)tx->sig.b;
    m.sig.len = QC_SIG_BYTES;
    *len = qchain__signed_tx__get_packed_size(&m);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL) return QC_ERR_NOMEM;
    qchain__signed_tx__pack(&m, *out);
    return QC_OK;
}

static int tx_from_pb(const Qchain__SignedTx *m, qc_tx_t *tx) {
    if (m->sig.len != QC_SIG_BYTES) { memset(tx, 0, sizeof *tx); return QC_ERR_INVALID; }
    qc_sig_t sig;
    memcpy(sig.b, m->sig.data, QC_SIG_BYTES);
    return qc_tx_parse(m->body.data, m->body.len, &sig, tx);
}

int qc_tx_decode(const uint8_t *buf, size_t len, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    if (len > QC_TX_BODY_BYTES_MAX + 256) return QC_ERR_TOOBIG;
    Qchain__SignedTx *m = qchain__signed_tx__unpack(NULL, len, buf);
    if (m == NULL) return QC_ERR_INVALID;
    int rc = tx_from_pb(m, tx);
    qchain__signed_tx__free_unpacked(m, NULL);
    return rc;
}

void qc_record_leaf_hash(uint64_t height, const qc_hash_t *tx_id, uint16_t index,
                         const uint8_t digest[32], qc_hash_t *out) {
    uint8_t data[sizeof QC_CTX_RECORD_LEAF + 8 + QC_HASH_BYTES + 2 + QC_HASH_BYTES];
    uint8_t *p = data;
    memcpy(p, QC_CTX_RECORD_LEAF, sizeof QC_CTX_RECORD_LEAF);
    p += sizeof QC_CTX_RECORD_LEAF;
    qc_put_u64(p, height);
    p += 8;
    memcpy(p, tx_id->b, QC_HASH_BYTES);
    p += QC_HASH_BYTES;
    qc_put_u16(p, index);
    p += 2;
    memcpy(p, digest, QC_HASH_BYTES);
    merkle_leaf_hash(out, data, sizeof data);
}

/* ------------------------------------------------------------------ validator sets */

uint32_t qc_max_faulty(uint32_t n) { return n == 0 ? 0 : (n - 1) / 3; }

uint32_t qc_quorum(uint32_t n) {
    uint32_t f = qc_max_faulty(n);
    return (n + f + 1 + 1) / 2; /* ceil((n + f + 1) / 2) */
}

void qc_validators_hash(const qc_validator_set_t *vs, qc_hash_t *out) {
    QC_ASSERT(vs->n <= QC_VALIDATORS_MAX);
    qc_sha256_state_t st;
    sha_ctx_init(&st, QC_CTX_VALIDATORS);
    uint8_t head[12];
    qc_put_u64(head, vs->epoch);
    qc_put_u16(head + 8, (uint16_t)vs->n);
    qc_put_u16(head + 10, (uint16_t)vs->governance_threshold);
    qc_sha256_update(&st, head, sizeof head);
    for (uint32_t i = 0; i < vs->n; i++) {
        const qc_member_t *m = &vs->members[i];
        uint8_t nlen = (uint8_t)strnlen(m->name, QC_MEMBER_NAME_MAX);
        qc_sha256_update(&st, &nlen, 1);
        qc_sha256_update(&st, (const uint8_t *)m->name, nlen);
        qc_sha256_update(&st, m->node_key.b, QC_PUBKEY_BYTES);
        qc_sha256_update(&st, m->seal_key.b, QC_PUBKEY_BYTES);
        qc_sha256_update(&st, m->admin_key.b, QC_PUBKEY_BYTES);
    }
    qc_sha256_final(&st, out->b);
}

/* Public keys are public: plain compares, not sodium_memcmp's constant-time loop (the seal
 * lookup runs several times for each transaction a node checks, and a 1-digest profile put
 * the constant-time loop at ~1.4% of a node's CPU). */
int qc_validators_find_seal(const qc_validator_set_t *vs, const qc_pubkey_t *k) {
    for (uint32_t i = 0; i < vs->n && i < QC_VALIDATORS_MAX; i++)
        if (memcmp(vs->members[i].seal_key.b, k->b, QC_PUBKEY_BYTES) == 0) return (int)i;
    return -1;
}

int qc_validators_find_node(const qc_validator_set_t *vs, const qc_pubkey_t *k) {
    for (uint32_t i = 0; i < vs->n && i < QC_VALIDATORS_MAX; i++)
        if (memcmp(vs->members[i].node_key.b, k->b, QC_PUBKEY_BYTES) == 0) return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ block header */

int qc_header_encode(const qc_header_t *h, uint8_t *out, size_t cap, size_t *len) {
    size_t cl = strlen(h->chain_id);
    if (!qc_chain_id_valid(h->chain_id) || h->version != QC_HEADER_VERSION) return QC_ERR_INVALID;
    size_t need = 1 + 1 + cl + 32 + 8 + 32 + 8 + 4 + 8 + 8 + 32 + 4 + 32 + 8 + 32 + 32 + 32;
    if (cap < need) return QC_ERR_TOOBIG;
    uint8_t *p = out;
    *p++ = h->version;
    *p++ = (uint8_t)cl;
    memcpy(p, h->chain_id, cl); p += cl;
    memcpy(p, h->genesis_hash.b, 32); p += 32;
    qc_put_u64(p, h->height); p += 8;
    memcpy(p, h->prev_hash.b, 32); p += 32;
    qc_put_u64(p, h->time_ms); p += 8;
    qc_put_u32(p, h->proposer); p += 4;
    qc_put_u64(p, h->view); p += 8;
    qc_put_u64(p, h->epoch); p += 8;
    memcpy(p, h->validators_hash.b, 32); p += 32;
    qc_put_u32(p, h->tx_count); p += 4;
    memcpy(p, h->tx_root.b, 32); p += 32;
    qc_put_u64(p, h->log_size); p += 8;
    memcpy(p, h->log_root.b, 32); p += 32;
    memcpy(p, h->state_root.b, 32); p += 32;
    memcpy(p, h->next_validators_hash.b, 32); p += 32;
    QC_ASSERT((size_t)(p - out) == need);
    *len = need;
    return QC_OK;
}

int qc_header_decode(const uint8_t *buf, size_t len, qc_header_t *h) {
    memset(h, 0, sizeof *h);
    if (len > QC_HEADER_BYTES_MAX) return QC_ERR_INVALID;
    rd_t r = {buf, len, 0, false};
    h->version = rd_u8(&r);
    rd_chain_id(&r, h->chain_id);
    rd_bytes(&r, h->genesis_hash.b, 32);
    h->height = rd_u64(&r);
    rd_bytes(&r, h->prev_hash.b, 32);
    h->time_ms = rd_u64(&r);
    h->proposer = rd_u32(&r);
    h->view = rd_u64(&r);
    h->epoch = rd_u64(&r);
    rd_bytes(&r, h->validators_hash.b, 32);
    h->tx_count = rd_u32(&r);
    rd_bytes(&r, h->tx_root.b, 32);
    h->log_size = rd_u64(&r);
    rd_bytes(&r, h->log_root.b, 32);
    rd_bytes(&r, h->state_root.b, 32);
    rd_bytes(&r, h->next_validators_hash.b, 32);
    if (r.bad || r.off != r.len || h->version != QC_HEADER_VERSION || h->height == 0 ||
        h->proposer >= QC_VALIDATORS_MAX || h->tx_count > QC_BLOCK_TXS_MAX)
        return QC_ERR_INVALID;
    return QC_OK;
}

const char *qc_header_version_why(const uint8_t *buf, size_t len) {
    if (len == 0 || buf[0] == QC_HEADER_VERSION) return NULL;
    if (buf[0] == 1)
        return "block header version 1 (before headers carried the genesis hash); this build "
               "reads version 3 only";
    if (buf[0] == 2)
        return "block header version 2 (before headers carried the state root); this build "
               "reads version 3 only";
    return "block header of an unknown version; this build reads version 3 only";
}

void qc_header_hash(const qc_header_t *h, qc_hash_t *out) {
    uint8_t buf[QC_HEADER_BYTES_MAX];
    size_t len;
    int rc = qc_header_encode(h, buf, sizeof buf, &len);
    QC_ASSERT(rc == QC_OK); /* callers hash only headers they built or decoded */
    qc_hash_ctx(out, QC_CTX_BLOCK, buf, len);
}

/* ------------------------------------------------------------------ blocks */

/* MTH over the tx-tree leaves of txs[0..n). */
static int txs_root(const qc_tx_t *txs, uint32_t n, qc_hash_t *out) {
    if (n == 0) { merkle_empty_root(out); return QC_OK; }
    qc_hash_t *leaves = malloc(sizeof *leaves * n);
    if (leaves == NULL) return QC_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) qc_tx_leaf_hash(&txs[i], &leaves[i]);
    merkle_root(out, leaves, n);
    free(leaves);
    return QC_OK;
}

int qc_block_tx_root(const qc_block_t *b, qc_hash_t *out) {
    return txs_root(b->txs, b->tx_count, out);
}

/* protobuf views of txs: arrays owned by the caller (free both), bytes borrowed from txs. */
static int txs_to_pb(const qc_tx_t *txs, uint32_t n, Qchain__SignedTx **arr,
                     Qchain__SignedTx ***ptrs) {
    *arr = calloc(n ? n : 1, sizeof **arr);
    *ptrs = calloc(n ? n : 1, sizeof **ptrs);
    if (*arr == NULL || *ptrs == NULL) { free(*arr); free(*ptrs); return QC_ERR_NOMEM; }
    for (uint32_t i = 0; i < n; i++) {
        Qchain__SignedTx *t = &(*arr)[i];
        qchain__signed_tx__init(t);
        t->body.data = txs[i].body;
        t->body.len = txs[i].body_len;
        t->sig.data = (uint8_t *)txs[i].sig.b;
        t->sig.len = QC_SIG_BYTES;
        (*ptrs)[i] = t;
    }
    return QC_OK;
}

/* Parses n protobuf txs into a new owned array; every tx must carry chain_id. On error the
 * parsed prefix is left in *out and *count for the caller's free routine. */
static int txs_from_pb(Qchain__SignedTx *const *m, size_t n, const char *chain_id,
                       qc_tx_t **out, uint32_t *count) {
    *count = 0;
    if (n == 0) return QC_OK;
    *out = calloc(n, sizeof **out);
    if (*out == NULL) return QC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = tx_from_pb(m[i], &(*out)[i]);
        if (rc != QC_OK) return rc;
        *count = (uint32_t)i + 1;
        if (strcmp((*out)[i].chain_id, chain_id) != 0) return QC_ERR_INVALID;
    }
    return QC_OK;
}

int qc_block_encode(const qc_block_t *b, uint8_t **out, size_t *len) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    int rc = qc_header_encode(&b->header, hdr, sizeof hdr, &hlen);
    if (rc != QC_OK) return rc;
    Qchain__Block m = QCHAIN__BLOCK__INIT;
    m.header.data = hdr;
    m.header.len = hlen;
    Qchain__SignedTx *txs, **ptrs;
    if ((rc = txs_to_pb(b->txs, b->tx_count, &txs, &ptrs)) != QC_OK) return rc;
    m.n_txs = b->tx_count;
    m.txs = ptrs;
    *len = qchain__block__get_packed_size(&m);
    *out = malloc(*len ? *len : 1);
    rc = *out ? QC_OK : QC_ERR_NOMEM;
    if (rc == QC_OK) qchain__block__pack(&m, *out);
    free(txs);
    free(ptrs);
    return rc;
}

void qc_block_free(qc_block_t *b) {
    if (b == NULL) return;
    for (uint32_t i = 0; i < b->tx_count && b->txs; i++) qc_tx_free(&b->txs[i]);
    free(b->txs);
    memset(b, 0, sizeof *b);
}

static int block_from_pb(const Qchain__Block *m, qc_block_t *b) {
    int rc = qc_header_decode(m->header.data, m->header.len, &b->header);
    if (rc != QC_OK) return rc;
    if (m->n_txs != b->header.tx_count) return QC_ERR_INVALID;
    rc = txs_from_pb(m->txs, m->n_txs, b->header.chain_id, &b->txs, &b->tx_count);
    if (rc != QC_OK) return rc;
    qc_hash_t root;
    rc = qc_block_tx_root(b, &root);
    if (rc != QC_OK) return rc;
    return sodium_memcmp(root.b, b->header.tx_root.b, 32) == 0 ? QC_OK : QC_ERR_INVALID;
}

int qc_block_decode(const uint8_t *buf, size_t len, qc_block_t *b) {
    memset(b, 0, sizeof *b);
    if (len > QC_BLOCK_BYTES_MAX) return QC_ERR_TOOBIG;
    Qchain__Block *m = qchain__block__unpack(NULL, len, buf);
    if (m == NULL) return QC_ERR_INVALID;
    int rc = block_from_pb(m, b);
    qchain__block__free_unpacked(m, NULL);
    if (rc != QC_OK) qc_block_free(b);
    return rc;
}

int qc_block_decode_tx(const uint8_t *buf, size_t len, uint32_t index, qc_header_t *hdr,
                       qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    if (len > QC_BLOCK_BYTES_MAX) return QC_ERR_TOOBIG;
    Qchain__Block *m = qchain__block__unpack(NULL, len, buf);
    if (m == NULL) return QC_ERR_INVALID;
    int rc = qc_header_decode(m->header.data, m->header.len, hdr);
    if (rc == QC_OK && m->n_txs != hdr->tx_count) rc = QC_ERR_INVALID;
    if (rc == QC_OK && index >= m->n_txs) rc = QC_ERR_RANGE;
    if (rc == QC_OK) rc = tx_from_pb(m->txs[index], tx);
    if (rc == QC_OK && strcmp(tx->chain_id, hdr->chain_id) != 0) {
        qc_tx_free(tx);
        rc = QC_ERR_INVALID;
    }
    qchain__block__free_unpacked(m, NULL);
    return rc;
}

/* ------------------------------------------------------------------ commit certificates */

size_t qc_commit_vote_bytes(uint8_t out[128], const char *chain_id, uint64_t epoch,
                            uint64_t height, uint64_t view, const qc_hash_t *block_hash) {
    size_t cl = strnlen(chain_id, QC_CHAIN_ID_MAX);
    uint8_t *p = out;
    *p++ = (uint8_t)cl;
    memcpy(p, chain_id, cl); p += cl;
    qc_put_u64(p, epoch); p += 8;
    qc_put_u64(p, height); p += 8;
    qc_put_u64(p, view); p += 8;
    memcpy(p, block_hash->b, 32); p += 32;
    return (size_t)(p - out);
}

void qc_commit_vote_sign(qc_sig_t *sig, const qc_seckey_t *node_sk, const char *chain_id,
                         uint64_t epoch, uint64_t height, uint64_t view,
                         const qc_hash_t *block_hash) {
    uint8_t msg[128];
    size_t n = qc_commit_vote_bytes(msg, chain_id, epoch, height, view, block_hash);
    qc_sign_ctx(sig, node_sk, QC_CTX_COMMIT, msg, n);
}

#define REASON(...) do { if (reason) snprintf(reason, reason_cap, __VA_ARGS__); } while (0)

int qc_cert_verify(const qc_cert_t *cert, const char *chain_id, const qc_validator_set_t *vs,
                   const qc_hash_t *block_hash, char *reason, size_t reason_cap) {
    if (cert->epoch != vs->epoch) {
        REASON("certificate is for epoch %llu but the validator set is epoch %llu",
               (unsigned long long)cert->epoch, (unsigned long long)vs->epoch);
        return QC_ERR_MEMBER;
    }
    if (sodium_memcmp(cert->block_hash.b, block_hash->b, 32) != 0) {
        REASON("certificate is for a different block hash");
        return QC_ERR_INVALID;
    }
    if (cert->vote_count > QC_VALIDATORS_MAX) {
        REASON("certificate has %u votes, more than any validator set", cert->vote_count);
        return QC_ERR_INVALID;
    }
    uint8_t msg[128];
    size_t n = qc_commit_vote_bytes(msg, chain_id, cert->epoch, cert->height, cert->view,
                                    &cert->block_hash);
    bool seen[QC_VALIDATORS_MAX] = {false};
    uint32_t valid = 0;
    for (uint32_t i = 0; i < cert->vote_count; i++) {
        uint32_t v = cert->votes[i].validator;
        if (v >= vs->n) {
            REASON("vote %u names validator %u; epoch %llu has %u validators", i, v,
                   (unsigned long long)vs->epoch, vs->n);
            return QC_ERR_MEMBER;
        }
        if (seen[v]) {
            REASON("two votes by %s", vs->members[v].name);
            return QC_ERR_INVALID;
        }
        seen[v] = true;
        if (qc_verify_ctx(&cert->votes[i].sig, &vs->members[v].node_key, QC_CTX_COMMIT, msg,
                          n) != QC_OK) {
            REASON("signature by %s's node key is invalid", vs->members[v].name);
            return QC_ERR_SIGNATURE;
        }
        valid++;
    }
    uint32_t q = qc_quorum(vs->n);
    if (valid < q) {
        REASON("%u valid signatures, quorum is %u", valid, q);
        return QC_ERR_QUORUM;
    }
    return QC_OK;
}

int qc_cert_encode(const qc_cert_t *c, uint8_t **out, size_t *len) {
    if (c->vote_count > QC_VALIDATORS_MAX) return QC_ERR_INVALID;
    Qchain__CommitCert m = QCHAIN__COMMIT_CERT__INIT;
    Qchain__Vote votes[QC_VALIDATORS_MAX];
    Qchain__Vote *ptrs[QC_VALIDATORS_MAX];
    m.epoch = c->epoch;
    m.height = c->height;
    m.view = c->view;
    m.block_hash.data = (uint8_t *)c->block_hash.b;
    m.block_hash.len = 32;
    for (uint32_t i = 0; i < c->vote_count; i++) {
        qchain__vote__init(&votes[i]);
        votes[i].validator = c->votes[i].validator;
        votes[i].sig.data = (uint8_t *)c->votes[i].sig.b;
        votes[i].sig.len = QC_SIG_BYTES;
        ptrs[i] = &votes[i];
    }
    m.n_votes = c->vote_count;
    m.votes = ptrs;
    *len = qchain__commit_cert__get_packed_size(&m);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL) return QC_ERR_NOMEM;
    qchain__commit_cert__pack(&m, *out);
    return QC_OK;
}

int qc_cert_decode(const uint8_t *buf, size_t len, qc_cert_t *c) {
    memset(c, 0, sizeof *c);
    if (len > 64 * 1024) return QC_ERR_TOOBIG;
    Qchain__CommitCert *m = qchain__commit_cert__unpack(NULL, len, buf);
    if (m == NULL) return QC_ERR_INVALID;
    int rc = QC_OK;
    if (m->block_hash.len != 32 || m->n_votes > QC_VALIDATORS_MAX) rc = QC_ERR_INVALID;
    for (size_t i = 0; rc == QC_OK && i < m->n_votes; i++)
        if (m->votes[i]->sig.len != QC_SIG_BYTES) rc = QC_ERR_INVALID;
    if (rc == QC_OK) {
        c->epoch = m->epoch;
        c->height = m->height;
        c->view = m->view;
        memcpy(c->block_hash.b, m->block_hash.data, 32);
        c->vote_count = (uint32_t)m->n_votes;
        for (size_t i = 0; i < m->n_votes; i++) {
            c->votes[i].validator = m->votes[i]->validator;
            memcpy(c->votes[i].sig.b, m->votes[i]->sig.data, QC_SIG_BYTES);
        }
    }
    qchain__commit_cert__free_unpacked(m, NULL);
    return rc;
}
