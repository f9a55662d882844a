/* fmt_gov.c - the canonical GOVERN transaction operation (docs/PROTOCOL.md §3): membership
 * proposals and the votes on them, parsed strictly and built by admins' tools. Whether an
 * operation is allowed in the chain's state is node/gov's business; this file only decides
 * whether its bytes are well-formed. */
#include "fmt.h"
#include "fmt_internal.h"

bool qc_member_name_valid(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > QC_MEMBER_NAME_MAX || name[0] == '-' || name[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

/* Display names: UTF-8 without control characters (U+0000..U+001F, U+007F). */
static bool display_valid(const char *s, size_t n) {
    if (n == 0 || n > QC_DISPLAY_NAME_MAX || !utf8_valid((const uint8_t *)s, n)) return false;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* Addresses here: 1..255 bytes of printable ASCII without spaces; node/gov checks the
 * "host:port" syntax itself. */
static bool address_bytes_valid(const char *s, size_t n) {
    if (n == 0 || n > QC_ADDRESS_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] <= 0x20 || (uint8_t)s[i] >= 0x7f) return false;
    return true;
}

/* Reads a str8 into out (cap bytes incl. NUL); refuses embedded NULs and over-long strings. */
static size_t rd_str8(rd_t *r, char *out, size_t cap) {
    uint8_t n = rd_u8(r);
    const uint8_t *p = rd_take(r, n);
    if (p == NULL || (size_t)n + 1 > cap || memchr(p, 0, n) != NULL) {
        r->bad = true;
        out[0] = '\0';
        return 0;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

static bool rd_address(rd_t *r, char out[QC_ADDRESS_MAX + 1]) {
    size_t n = rd_str8(r, out, QC_ADDRESS_MAX + 1);
    return !r->bad && address_bytes_valid(out, n);
}

static bool parse_change(rd_t *r, qc_change_t *c) {
    c->kind = rd_u8(r);
    switch (c->kind) {
    case QC_CHANGE_ADD: {
        if (!rd_name(r, c->name)) return false;
        size_t n = rd_str8(r, c->display_name, sizeof c->display_name);
        if (r->bad || !display_valid(c->display_name, n)) return false;
        rd_bytes(r, c->node_key.b, QC_PUBKEY_BYTES);
        rd_bytes(r, c->seal_key.b, QC_PUBKEY_BYTES);
        rd_bytes(r, c->admin_key.b, QC_PUBKEY_BYTES);
        return rd_address(r, c->p2p_address) && rd_address(r, c->api_address);
    }
    case QC_CHANGE_REMOVE: return rd_name(r, c->name);
    case QC_CHANGE_ROTATE:
        if (!rd_name(r, c->name)) return false;
        c->role = rd_u8(r);
        rd_bytes(r, c->new_key.b, QC_PUBKEY_BYTES);
        return !r->bad && c->role >= QC_ROLE_NODE && c->role <= QC_ROLE_ADMIN;
    case QC_CHANGE_ADDRESSES:
        return rd_name(r, c->name) && rd_address(r, c->p2p_address) && rd_address(r, c->api_address);
    case QC_CHANGE_THRESHOLD:
        c->threshold = rd_u16(r);
        return !r->bad && c->threshold >= 1 && c->threshold <= QC_VALIDATORS_MAX;
    default: return false;
    }
}

int qc_gov_op_parse(const uint8_t *p, size_t len, size_t *used, qc_gov_op_t *op) {
    memset(op, 0, sizeof *op);
    rd_t r = {p, len, 0, false};
    op->op = rd_u8(&r);
    bool ok = !r.bad;
    switch (op->op) {
    case QC_GOV_PROPOSE:
        op->vote_expiry_height = rd_u64(&r);
        op->change_count = rd_u8(&r);
        ok = !r.bad && op->change_count >= 1 && op->change_count <= QC_GOV_CHANGES_MAX;
        for (uint8_t i = 0; ok && i < op->change_count; i++) ok = parse_change(&r, &op->changes[i]);
        break;
    case QC_GOV_APPROVE:
    case QC_GOV_REJECT:
    case QC_GOV_WITHDRAW:
        rd_bytes(&r, op->proposal.b, QC_HASH_BYTES);
        ok = !r.bad;
        break;
    default: ok = false;
    }
    if (!ok || r.bad) return QC_ERR_INVALID;
    *used = r.off;
    return QC_OK;
}

static void put_change(qc_txb_t *b, const qc_change_t *c) {
    txb_u8(b, c->kind);
    switch (c->kind) {
    case QC_CHANGE_ADD:
        txb_str8(b, c->name);
        txb_str8(b, c->display_name);
        txb_put(b, c->node_key.b, QC_PUBKEY_BYTES);
        txb_put(b, c->seal_key.b, QC_PUBKEY_BYTES);
        txb_put(b, c->admin_key.b, QC_PUBKEY_BYTES);
        txb_str8(b, c->p2p_address);
        txb_str8(b, c->api_address);
        break;
    case QC_CHANGE_REMOVE: txb_str8(b, c->name); break;
    case QC_CHANGE_ROTATE:
        txb_str8(b, c->name);
        txb_u8(b, c->role);
        txb_put(b, c->new_key.b, QC_PUBKEY_BYTES);
        break;
    case QC_CHANGE_ADDRESSES:
        txb_str8(b, c->name);
        txb_str8(b, c->p2p_address);
        txb_str8(b, c->api_address);
        break;
    case QC_CHANGE_THRESHOLD: txb_u16(b, c->threshold); break;
    default: b->err = QC_ERR_INVALID;
    }
}

int qc_gov_tx_build(const char *chain_id, const qc_seckey_t *sk, uint64_t nonce,
                    uint64_t expiry_height, const qc_gov_op_t *op, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    qc_txb_t b;
    txb_common(&b, QC_TX_GOVERN, chain_id, sk, nonce, expiry_height);
    txb_u8(&b, op->op);
    if (op->op == QC_GOV_PROPOSE) {
        txb_u64(&b, op->vote_expiry_height);
        txb_u8(&b, op->change_count);
        for (uint8_t i = 0; i < op->change_count && i < QC_GOV_CHANGES_MAX; i++)
            put_change(&b, &op->changes[i]);
    } else {
        txb_put(&b, op->proposal.b, QC_HASH_BYTES);
    }
    return txb_sign_parse(&b, sk, tx);
}
