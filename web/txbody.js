/* txbody.js: decodes the common fields and the ANCHOR records of a canonical transaction body
 * (docs/PROTOCOL.md §3), to show a record's type and reference from a receipt. For display
 * only: it proves nothing (verify.js does the checking). */

const TYPES = { 1: 'anchor', 2: 'govern', 3: 'endorse', 4: 'revoke', 5: 'supersede', 6: 'share' };

/* Returns the bytes of a hex string (either case). Throws on odd length or a non-hex character. */
export function fromHex(s) {
    if (typeof s !== 'string' || s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) throw new Error('not hex');
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
    return out;
}

/* Returns the lowercase hex of bytes. */
function toHex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/*
 * Decodes body (a Uint8Array or a hex string). Returns {version, type (a name, or the number
 * when unknown), chain_id, signer (hex), nonce, expiry_height (BigInt), records} where records
 * is, for an ANCHOR, [{digest, record_type, reference, supersedes (hex or null)}] and [] for
 * the other types (whose own fields are not decoded). Throws Error on a truncated or malformed
 * ANCHOR. Strings are decoded as UTF-8 with replacement characters for bad bytes.
 */
export function decodeTxBody(body) {
    const b = typeof body === 'string' ? fromHex(body) : body;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const utf8 = new TextDecoder('utf-8');
    let p = 0;
    const need = (n) => { if (p + n > b.length) throw new Error('transaction body is truncated'); };
    const u8 = () => { need(1); return b[p++]; };
    const u16 = () => { need(2); const v = dv.getUint16(p); p += 2; return v; };
    const u64 = () => { need(8); const v = dv.getBigUint64(p); p += 8; return v; };
    const bytes = (n) => { need(n); const v = b.subarray(p, p + n); p += n; return v; };
    const str = (len) => utf8.decode(bytes(len));

    const version = u8();
    const typeNum = u16();
    const chain_id = str(u8());
    const signer = toHex(bytes(32));
    const nonce = u64();
    const expiry_height = u64();
    const records = [];
    if (typeNum === 1) {
        const n = u16();
        for (let i = 0; i < n; i++) {
            const digest = toHex(bytes(32));
            const record_type = str(u8());
            const reference = str(u16());
            const flags = u8();
            const supersedes = flags & 1 ? toHex(bytes(32)) : null;
            records.push({ digest, record_type, reference, supersedes });
        }
    }
    return { version, type: TYPES[typeNum] || typeNum, chain_id, signer, nonce, expiry_height, records };
}
