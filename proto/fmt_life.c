/* fmt_life.c - the canonical bodies of the record lifecycle transactions ENDORSE, REVOKE and
 * SUPERSEDE (docs/PROTOCOL.md §3, docs/RECORDS.md): parsed strictly, built by the cities'
 * tools. Whether an operation is allowed on the chain's state is node/lifecycle's business. */
#include "fmt.h"
#include "fmt_internal.h"

bool qc_tx_type_is_lifecycle(uint16_t type) {
    return type == QC_TX_ENDORSE || type == QC_TX_REVOKE || type == QC_TX_SUPERSEDE;
}

int qc_life_op_parse(uint16_t type, const uint8_t *p, size_t len, size_t *used,
                     qc_life_op_t *op) {
    memset(op, 0, sizeof *op);
    rd_t r = {p, len, 0, false};
    rd_bytes(&r, op->digest.b, QC_HASH_BYTES);
    bool ok;
    switch (type) {
    case QC_TX_ENDORSE: {
        op->code = rd_u16(&r);
        op->note_len = rd_u8(&r);
        const uint8_t *note = rd_take(&r, op->note_len);
        ok = !r.bad && op->code != 0 && op->note_len <= QC_NOTE_MAX &&
             utf8_valid(note, op->note_len); /* also refuses a NUL inside */
        if (ok) memcpy(op->note, note, op->note_len);
        break;
    }
    case QC_TX_REVOKE:
        op->code = rd_u16(&r);
        ok = !r.bad && op->code != 0;
        break;
    case QC_TX_SUPERSEDE:
        rd_bytes(&r, op->new_digest.b, QC_HASH_BYTES);
        ok = !r.bad && memcmp(op->digest.b, op->new_digest.b, QC_HASH_BYTES) != 0;
        break;
    default: ok = false;
    }
    if (!ok || r.bad) return QC_ERR_INVALID;
    *used = r.off;
    return QC_OK;
}

int qc_life_tx_build(const char *chain_id, uint16_t type, const qc_seckey_t *sk, uint64_t nonce,
                     uint64_t expiry_height, const qc_life_op_t *op, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    if (!qc_tx_type_is_lifecycle(type)) return QC_ERR_INVALID;
    qc_txb_t b;
    txb_common(&b, type, chain_id, sk, nonce, expiry_height);
    txb_put(&b, op->digest.b, QC_HASH_BYTES);
    if (type == QC_TX_ENDORSE) {
        size_t n = strnlen(op->note, QC_NOTE_MAX + 1);
        if (n > QC_NOTE_MAX && b.err == QC_OK) b.err = QC_ERR_INVALID;
        txb_u16(&b, op->code);
        txb_u8(&b, (uint8_t)n);
        txb_put(&b, op->note, n);
    } else if (type == QC_TX_REVOKE) {
        txb_u16(&b, op->code);
    } else {
        txb_put(&b, op->new_digest.b, QC_HASH_BYTES);
    }
    return txb_sign_parse(&b, sk, tx);
}
