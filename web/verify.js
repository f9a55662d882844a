/* verify.js - offline verification of a qchain receipt in the browser: the algorithm of
 * docs/PROTOCOL.md §10.2 exactly as proto/receipt.c (receipt_verify) implements it, checked
 * against nothing but the chain's genesis file. It checks the city's seal signature over the
 * transaction, the block's commit certificate (§7) under the validator set of the block's epoch,
 * reached from the genesis set through the receipt's membership history (§10.4), the header's
 * binding to the genesis file, and the record's RFC 9162 inclusion proof in the record log.
 *
 * Plain modern JavaScript, an ES module with no dependencies and no build step. Hashes are
 * WebCrypto SHA-256; signatures are WebCrypto Ed25519 after the acceptance rules of §1.1 that
 * libsodium 1.0.18 applies and WebCrypto need not (canonical S, small-order and non-canonical
 * keys and R, the key's decoding), so this verifier and `qchain verify` accept exactly the same
 * signatures. Before trusting WebCrypto's Ed25519 the module checks, once, that it gives the
 * §1.2 verdicts that depend on the verification equation (vectors 1, 7 and 8: a cofactored or
 * subgroup-checking implementation would differ); where it is missing or differs, the same
 * equation is computed here in BigInt arithmetic instead (slower, same verdicts).
 *
 * Canonical bytes are decoded strictly and hashed as received: the header and transaction body
 * are the receipt's hex fields, decoded with every byte accounted for (§3, §4), and the bytes
 * this module builds itself (commit votes §7, validator sets §6, record-log leaves §5) follow
 * proto/fmt.c. tests/web/run_cases.mjs runs every case of bin/qchain_receiptcases (the tamper
 * tables of tests/test_receipt.c, with the C verdicts) through this module; docs/WEB_VERIFY.md.
 *
 * Failure codes (verifyReceipt's {ok: false, code, reason}), each a class of receipt_verify's
 * failures, by the step of §10.2 that fails:
 *   'format'      the receipt is not a well-formed receipt (§10.1: a field missing, of the wrong
 *                 type or size, unknown; a header or transaction body that does not decode)
 *   'genesis'     the genesis file is not a valid genesis file, or the receipt is of another
 *                 chain: its chain id, its genesis hash, its header's genesis hash or its
 *                 transaction's chain id is not the genesis file's (steps 1, 2 and 8)
 *   'membership'  the membership history does not lead from the genesis set to the block's
 *                 epoch: a step out of order, a switch block or its certificate that fails, a
 *                 member list the switch block does not certify (steps 3 and 4)
 *   'header'      the header names another validator set than its epoch's, or a block before
 *                 its epoch began (step 5)
 *   'certificate' the block's commit certificate fails: its height, epoch or block hash, a vote
 *                 by no validator or twice by one, a signature that does not verify, fewer
 *                 votes than the quorum (steps 6 and 7)
 *   'seal'        the transaction's seal signature is invalid, or not by a member city's seal
 *                 key in the block's epoch (steps 8 and 9)
 *   'record'      the transaction does not anchor the receipt's digest at its record index
 *                 (step 10)
 *   'digest'      the document given is not the anchored one (step 11), or opts.digest is not
 *                 a SHA-256 digest
 *   'inclusion'   the inclusion proof does not lead to the header's record-log root (steps
 *                 12 and 13)
 *   'unsupported' this environment cannot verify (no WebCrypto SHA-256), or an internal error
 * reason is one English sentence; for the steps of §10.2 it is the sentence `qchain verify`
 * prints. */

export const FAILURE_CODES = Object.freeze([
    'format', 'genesis', 'membership', 'header', 'certificate', 'seal', 'record', 'digest',
    'inclusion', 'unsupported',
]);

/* ---------------------------------------------------------------- limits (PROTOCOL.md §2, §10.1) */

const CHAIN_ID_MAX = 64;
const MEMBER_NAME_MAX = 32;
const VALIDATORS_MAX = 64;
const TX_RECORDS_MAX = 1024;
const RECORD_TYPE_MAX = 32;
const EXTREF_MAX = 256;
const NOTE_MAX = 64;
const DISPLAY_NAME_MAX = 64;
const ADDRESS_MAX = 255;
const GOV_CHANGES_MAX = 8;
const DATASET_NAME_MAX = 64;
const TERMS_MAX = 512;
const PURPOSE_MAX = 256;
const TX_BODY_BYTES_MAX = 1 << 20;
const HEADER_VERSION = 3;
const HEADER_BYTES_MAX = 512;
const BLOCK_TXS_MAX = 8192;
const RECEIPT_VERSION = 1n;
const RECEIPT_EPOCHS_MAX = 1024;
const MERKLE_PATH_MAX = 63;
const MERKLE_SIZE_MAX = 1n << 63n;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const GENESIS_FILE_BYTES_MAX = 1 << 20;
const GENESIS_MEMBERS_MIN = 4;
const GENESIS_TIME_MS_MAX = 253402300799999n; /* 9999-12-31T23:59:59.999Z */
const JSON_DEPTH_MAX = 2048;                   /* jansson's JSON_PARSER_MAX_DEPTH */

/* ---------------------------------------------------------------- bytes and hex */

const utf8 = new TextEncoder();

/* Uint8Array -> lowercase hex string. */
export function hex(bytes) {
    let s = '';
    for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
    return s;
}

/* Hex string (either case, even length) -> Uint8Array. Throws an Error on anything else. */
export function unhex(str) {
    if (typeof str !== 'string' || str.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(str))
        throw new Error('not a hex string of whole bytes');
    const out = new Uint8Array(str.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(str.substr(2 * i, 2), 16);
    return out;
}

/* The WebCrypto SubtleCrypto of this environment; throws a Failure('unsupported') without. */
function subtle() {
    const c = globalThis.crypto;
    if (!c || !c.subtle) {
        throw new Failure('unsupported', 'this environment has no WebCrypto (a browser serves ' +
                          'it only to https:// and local pages)');
    }
    return c.subtle;
}

/* SHA-256 of a Uint8Array -> Uint8Array(32) (WebCrypto). */
export async function sha256(bytes) {
    return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

/* SHA-512 (WebCrypto), for the verification equation's k (§1.1 rule 6). */
async function sha512(bytes) {
    return new Uint8Array(await subtle().digest('SHA-512', bytes));
}

/* The Uint8Arrays parts, one after the other, as one new Uint8Array. */
function concat(...parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
}

/* Whether two Uint8Arrays hold the same bytes (all public values: no constant time needed). */
function bytesEqual(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
}

/* u16 and u64 big-endian (PROTOCOL.md §1); x of u64be is a BigInt or a safe integer. */
function u16be(n) { return Uint8Array.of((n >> 8) & 0xff, n & 0xff); }

function u64be(x) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(x), false);
    return out;
}

/* A domain separation context: the ASCII name and one 0x00 byte (PROTOCOL.md §1). */
function ctx(name) { return utf8.encode(name + '\0'); }

/* H(ctx 0x00 || msg). */
async function hashCtx(name, msg) { return sha256(concat(ctx(name), msg)); }

/* Bytes as a Latin-1 string: ASCII fields compare as strings, anything else fails their
 * character checks. */
function ascii(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return s;
}

/* Accepts a Uint8Array, an ArrayBuffer (or a view) or a string (taken as its UTF-8 bytes). */
function toBytes(x, what) {
    if (x instanceof Uint8Array) return x;
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    if (typeof x === 'string') return utf8.encode(x);
    throw new Failure(what === 'genesis' ? 'genesis' : 'format',
                      `the ${what} must be given as bytes or text`);
}

/* ---------------------------------------------------------------- failures */

/* A verification failure: code is one of FAILURE_CODES, the message its reason. */
class Failure extends Error {
    constructor(code, reason) {
        super(reason);
        this.code = code;
    }
}

/* Throws the Failure (code, reason) that verifyReceipt returns as {ok: false, code, reason}. */
function fail(code, reason) { throw new Failure(code, reason); }

/* ---------------------------------------------------------------- strict JSON */

/* A JSON number with a fraction or an exponent, as parseJson returns it: jansson's "real",
 * which no receipt or genesis field accepts even when its value is whole ("2.0"). */
export class JsonReal {
    constructor(text) { this.text = text; }
    valueOf() { return Number(this.text); }
    toJSON() { return Number(this.text); }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/* Parses JSON text as jansson's json_loadb(JSON_REJECT_DUPLICATES) does for `qchain verify`:
 * RFC 8259 with duplicate object keys refused, "\u0000" refused, lone surrogates refused,
 * integers within the signed 64-bit range (others refused). Integers become BigInt and other
 * numbers JsonReal, so 2 and 2.0 stay apart and no integer loses digits; objects are plain
 * objects (a "__proto__" key is an own property), arrays are arrays. Throws an Error naming the
 * position on malformed text. */
export function parseJson(text) {
    if (typeof text !== 'string') throw new Error('JSON text must be a string');
    if (typeof text.isWellFormed === 'function' && !text.isWellFormed())
        throw new Error('the text holds an unpaired surrogate (not UTF-8)');
    let i = 0;
    const err = (what) => { throw new Error(`${what} at character ${i}`); };
    const ws = () => {
        while (i < text.length) {
            const c = text.charCodeAt(i);
            if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
            i++;
        }
    };
    const hex4 = () => {
        const h = text.substr(i, 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) err('invalid \\u escape');
        i += 4;
        return parseInt(h, 16);
    };
    const string = () => {
        i++; /* the opening quote */
        let out = '';
        for (;;) {
            if (i >= text.length) err('unterminated string');
            const c = text.charCodeAt(i);
            if (c === 0x22) { i++; return out; }
            if (c < 0x20) err('control character in a string');
            if (c !== 0x5c) { out += text[i++]; continue; }
            const e = text[i + 1];
            i += 2;
            const simple = {'"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r',
                            t: '\t'}[e];
            if (simple !== undefined) { out += simple; continue; }
            if (e !== 'u') err('invalid escape');
            let cp = hex4();
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (text.substr(i, 2) !== '\\u') err('unpaired high surrogate');
                i += 2;
                const lo = hex4();
                if (lo < 0xdc00 || lo > 0xdfff) err('invalid low surrogate');
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                err('unpaired low surrogate');
            }
            if (cp === 0) err('\\u0000 is not allowed');
            out += String.fromCodePoint(cp);
        }
    };
    const number = () => {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (m === null) err('invalid number');
        i += m[0].length;
        if (m[1] === undefined && m[2] === undefined) {
            const v = BigInt(m[0]);
            if (v > INT64_MAX || v < INT64_MIN) err('integer too big');
            return v;
        }
        if (!Number.isFinite(Number(m[0]))) err('real number overflow');
        return new JsonReal(m[0]);
    };
    const value = (depth) => {
        if (depth > JSON_DEPTH_MAX) err('too deeply nested');
        ws();
        const c = text[i];
        if (c === '{') {
            i++;
            const obj = {};
            const seen = new Set();
            ws();
            if (text[i] === '}') { i++; return obj; }
            for (;;) {
                ws();
                if (text[i] !== '"') err('expected a string key');
                const k = string();
                if (seen.has(k)) err(`duplicate object key "${k}"`);
                seen.add(k);
                ws();
                if (text[i] !== ':') err("expected ':'");
                i++;
                Object.defineProperty(obj, k, {value: value(depth + 1), enumerable: true,
                                               writable: true, configurable: true});
                ws();
                if (text[i] === ',') { i++; continue; }
                if (text[i] === '}') { i++; return obj; }
                err("expected ',' or '}'");
            }
        }
        if (c === '[') {
            i++;
            const arr = [];
            ws();
            if (text[i] === ']') { i++; return arr; }
            for (;;) {
                arr.push(value(depth + 1));
                ws();
                if (text[i] === ',') { i++; continue; }
                if (text[i] === ']') { i++; return arr; }
                err("expected ',' or ']'");
            }
        }
        if (c === '"') return string();
        if (c === '-' || (c >= '0' && c <= '9')) return number();
        for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
            if (text.startsWith(word, i)) { i += word.length; return v; }
        }
        return err(i >= text.length ? 'unexpected end of text' : 'invalid token');
    };
    const v = value(1);
    ws();
    if (i !== text.length) err('end of text expected');
    return v;
}

/* The JSON type of a parsed value as jansson sees it: 'object', 'array', 'string', 'integer',
 * 'real', 'boolean', 'null'. A whole Number (from JSON.parse, which cannot tell 2 from 2.0)
 * counts as an integer. */
function jsonType(v) {
    if (v === null) return 'null';
    switch (typeof v) {
    case 'string': return 'string';
    case 'boolean': return 'boolean';
    case 'bigint': return 'integer';
    case 'number': return Number.isInteger(v) ? 'integer' : 'real';
    case 'object':
        if (v instanceof JsonReal) return 'real';
        return Array.isArray(v) ? 'array' : 'object';
    default: return 'other';
    }
}

/* Whether obj has key as its own property (a JSON member, never one inherited). */
function hasOwn(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }

/* ---------------------------------------------------------------- text checks (proto/fmt*.c) */

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) and no NUL, as
 * proto/fmt_internal.h utf8_valid. */
function utf8Valid(s) {
    let i = 0;
    while (i < s.length) {
        const c = s[i];
        if (c === 0) return false;
        if (c < 0x80) { i++; continue; }
        let len, cp, min;
        if ((c & 0xe0) === 0xc0) { len = 2; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) === 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) === 0xf0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (i + len > s.length) return false;
        for (let k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) !== 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

/* UTF-8 text without control bytes (< 0x20, 0x7f), 1..max bytes: display and dataset names. */
function lineValid(s, max) {
    if (s.length === 0 || s.length > max || !utf8Valid(s)) return false;
    return s.every((b) => b >= 0x20 && b !== 0x7f);
}

/* 1..64 of [A-Za-z0-9._-] (qc_chain_id_valid). */
function chainIdValid(s) { return /^[A-Za-z0-9._-]{1,64}$/.test(s); }

/* 1..32 of [a-z0-9-], not starting or ending with '-' (qc_member_name_valid). */
function memberNameValid(s) {
    return typeof s === 'string' && /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(s);
}

/* 1..32 bytes of [a-z0-9._-] (fmt.c record_type_valid). */
function recordTypeValid(b) { return b.length >= 1 && b.length <= RECORD_TYPE_MAX &&
                                     /^[a-z0-9._-]+$/.test(ascii(b)); }

/* ---------------------------------------------------------------- canonical decoding (§3, §4) */

/* A bounds-checked reader over a canonical byte string (proto/fmt_internal.h rd_t): a read
 * past the end marks it bad and yields zeros. */
class Reader {
    constructor(bytes) {
        this.b = bytes;
        this.off = 0;
        this.bad = false;
    }
    take(n) {
        if (this.bad || n > this.b.length - this.off) { this.bad = true; return null; }
        const p = this.b.subarray(this.off, this.off + n);
        this.off += n;
        return p;
    }
    u8() { const p = this.take(1); return p ? p[0] : 0; }
    u16() { const p = this.take(2); return p ? (p[0] << 8) | p[1] : 0; }
    u32() { const p = this.take(4); return p ? ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3] : 0; }
    u64() {
        const p = this.take(8);
        return p ? new DataView(p.buffer, p.byteOffset, 8).getBigUint64(0, false) : 0n;
    }
    bytes(n) { const p = this.take(n); return p ? p.slice() : new Uint8Array(n); }
    /* str8 chain id: 1..64 bytes of [A-Za-z0-9._-] (rd_chain_id). */
    chainId() {
        const n = this.u8();
        const p = this.take(n);
        if (p === null || n === 0 || n > CHAIN_ID_MAX) { this.bad = true; return ''; }
        const s = ascii(p);
        if (!chainIdValid(s)) this.bad = true;
        return s;
    }
    /* str8 of at most max bytes without NUL (fmt_gov.c rd_str8); null and bad otherwise. */
    str8(max) {
        const n = this.u8();
        const p = this.take(n);
        if (p === null || n > max || p.includes(0)) { this.bad = true; return null; }
        return p;
    }
    /* str8 member name (rd_name): false when unreadable or not a member name. */
    name() {
        const n = this.u8();
        const p = this.take(n);
        if (p === null || n > MEMBER_NAME_MAX) { this.bad = true; return false; }
        return memberNameValid(ascii(p));
    }
    /* str8 "host:port" bytes: 1..255 printable ASCII without spaces (fmt_gov.c rd_address). */
    address() {
        const p = this.str8(ADDRESS_MAX);
        return !this.bad && p.length >= 1 && p.every((b) => b > 0x20 && b < 0x7f);
    }
    /* n bytes of UTF-8 text, at most max (fmt_share.c rd_text). */
    text(n, max) {
        const p = this.take(n);
        return p !== null && n <= max && utf8Valid(p);
    }
    get done() { return this.off === this.b.length; }
}

/* Decodes a canonical block header (§4) strictly (qc_header_decode): version 3, height >= 1,
 * proposer < 64, tx_count <= 8192, nothing left over. The header object, or null. */
function decodeHeader(bytes) {
    if (bytes.length > HEADER_BYTES_MAX) return null;
    const r = new Reader(bytes);
    const h = {
        version: r.u8(), chain_id: r.chainId(), genesis_hash: r.bytes(32), height: r.u64(),
        prev_hash: r.bytes(32), time_ms: r.u64(), proposer: r.u32(), view: r.u64(),
        epoch: r.u64(), validators_hash: r.bytes(32), tx_count: r.u32(), tx_root: r.bytes(32),
        log_size: r.u64(), log_root: r.bytes(32), state_root: r.bytes(32),
        next_validators_hash: r.bytes(32), bytes,
    };
    if (r.bad || !r.done || h.version !== HEADER_VERSION || h.height === 0n ||
        h.proposer >= VALIDATORS_MAX || h.tx_count > BLOCK_TXS_MAX) return null;
    return h;
}

/* A sentence for a header of a version this verifier does not read, else null
 * (qc_header_version_why). */
function headerVersionWhy(bytes) {
    if (bytes.length === 0 || bytes[0] === HEADER_VERSION) return null;
    if (bytes[0] === 1)
        return 'block header version 1 (before headers carried the genesis hash); this build ' +
               'reads version 3 only';
    if (bytes[0] === 2)
        return 'block header version 2 (before headers carried the state root); this build ' +
               'reads version 3 only';
    return 'block header of an unknown version; this build reads version 3 only';
}

/* ANCHOR records (§3) into tx.records; false when malformed. */
function readAnchor(r, tx) {
    const count = r.u16();
    if (r.bad || count === 0 || count > TX_RECORDS_MAX) return false;
    for (let i = 0; i < count; i++) {
        const digest = r.take(32);
        const type = r.take(r.u8());
        const ref = r.take(r.u16());
        const flags = r.u8();
        if (r.bad || flags > 1) return false;
        if (flags) r.take(32);
        if (r.bad || !recordTypeValid(type) || ref.length > EXTREF_MAX || !utf8Valid(ref))
            return false;
        tx.records.push({digest: digest.slice(), type: ascii(type), ref: ref.slice()});
    }
    return true;
}

/* One change of a PROPOSE (fmt_gov.c parse_change). */
function readChange(r) {
    switch (r.u8()) {
    case 1: { /* ADD */
        if (!r.name()) return false;
        const display = r.str8(DISPLAY_NAME_MAX);
        if (r.bad || !lineValid(display, DISPLAY_NAME_MAX)) return false;
        r.take(32); r.take(32); r.take(32);
        return r.address() && r.address();
    }
    case 2: return r.name(); /* REMOVE */
    case 3: { /* ROTATE */
        if (!r.name()) return false;
        const role = r.u8();
        r.take(32);
        return !r.bad && role >= 1 && role <= 3;
    }
    case 4: return r.name() && r.address() && r.address(); /* ADDRESSES */
    case 5: { /* THRESHOLD */
        const t = r.u16();
        return !r.bad && t >= 1 && t <= VALIDATORS_MAX;
    }
    default: return false;
    }
}

/* GOVERN operation (fmt_gov.c qc_gov_op_parse). */
function readGovern(r) {
    const op = r.u8();
    if (r.bad) return false;
    if (op === 1) { /* PROPOSE */
        r.u64();
        const n = r.u8();
        if (r.bad || n < 1 || n > GOV_CHANGES_MAX) return false;
        for (let i = 0; i < n; i++) if (!readChange(r)) return false;
        return !r.bad;
    }
    if (op >= 2 && op <= 4) { r.take(32); return !r.bad; } /* APPROVE, REJECT, WITHDRAW */
    return false;
}

/* ENDORSE, REVOKE, SUPERSEDE (fmt_life.c qc_life_op_parse). */
function readLifecycle(r, type) {
    const digest = r.bytes(32);
    if (type === 3) {
        const code = r.u16();
        const n = r.u8();
        const note = r.take(n);
        return !r.bad && code !== 0 && n <= NOTE_MAX && utf8Valid(note);
    }
    if (type === 4) return r.u16() !== 0 && !r.bad;
    const next = r.bytes(32);
    return !r.bad && !bytesEqual(digest, next);
}

/* SHARE operation (fmt_share.c qc_share_op_parse). */
function readShare(r) {
    const op = r.u8();
    let ok = !r.bad;
    switch (op) {
    case 1: { /* DATASET */
        const name = r.take(r.u8());
        ok = name !== null && lineValid(name, DATASET_NAME_MAX);
        r.take(32);
        const kind = r.u8();
        if (kind === 1) ok = ok && r.text(r.u16(), TERMS_MAX);
        else if (kind === 2) r.take(32);
        else ok = false;
        break;
    }
    case 2: { /* REQUEST */
        r.take(32);
        const code = r.u16();
        ok = r.text(r.u16(), PURPOSE_MAX) && code !== 0;
        const from = r.u64(), until = r.u64();
        ok = ok && from >= 1n && from <= until;
        break;
    }
    case 3: r.take(32); break; /* GRANT */
    case 4: r.take(32); ok = r.u16() !== 0; break; /* DENY */
    case 5: r.take(32); r.take(32); break; /* ACCESS */
    default: ok = false;
    }
    return ok && !r.bad;
}

/* Decodes a canonical transaction body (§3) strictly, every type (qc_tx_parse). An object
 * {type, chain_id, signer, records: [{digest, type, ref}] (ANCHOR only), body}, or null. */
function parseTx(body) {
    if (body.length === 0 || body.length > TX_BODY_BYTES_MAX) return null;
    const r = new Reader(body);
    const tx = {version: r.u8(), type: r.u16(), chain_id: r.chainId(), signer: r.bytes(32),
                nonce: r.u64(), expiry_height: r.u64(), records: [], body};
    if (r.bad || tx.version !== 1) return null;
    let ok;
    switch (tx.type) {
    case 1: ok = readAnchor(r, tx); break;
    case 2: ok = readGovern(r); break;
    case 3: case 4: case 5: ok = readLifecycle(r, tx.type); break;
    case 6: ok = readShare(r); break;
    default: ok = false;
    }
    return ok && !r.bad && r.done ? tx : null;
}

/* ---------------------------------------------------------------- Ed25519 (§1.1) */

const ED_P = (1n << 255n) - 19n;
const ED_L = (1n << 252n) + 27742317777372353535851937790883648493n;

/* Arithmetic mod p = 2^255 - 19: the reduction into 0..p-1, and b^e. */
function fmod(a) { const r = a % ED_P; return r >= 0n ? r : r + ED_P; }

function fpow(b, e) {
    let r = 1n;
    b = fmod(b);
    while (e > 0n) {
        if (e & 1n) r = r * b % ED_P;
        b = b * b % ED_P;
        e >>= 1n;
    }
    return r;
}

const ED_D = fmod(-121665n * fpow(121666n, ED_P - 2n));
const ED_D2 = 2n * ED_D % ED_P;
const ED_SQRTM1 = fpow(2n, (ED_P - 1n) / 4n);

/* Little-endian 32 bytes <-> integer. */
function leInt(b) {
    let x = 0n;
    for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
    return x;
}

function leBytes32(x) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
    return out;
}

/* Every encoding, with bit 255 cleared, of the eight points whose order divides 8
 * (libsodium's ge25519_has_small_order list; PROTOCOL.md §1.1). */
const SMALL_ORDER = new Set([
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

/* Whether an encoding, bit 255 cleared, is one of SMALL_ORDER (ge25519_has_small_order). */
function smallOrder(enc) {
    const c = enc.slice();
    c[31] &= 0x7f;
    return SMALL_ORDER.has(hex(c));
}

/* y (bit 255 cleared) < p. */
function canonicalY(enc) { return (leInt(enc) & ((1n << 255n) - 1n)) < ED_P; }

/* Points in extended coordinates [X, Y, Z, T] on -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1.4). */
const ED_O = [0n, 1n, 1n, 0n];

/* p + q, 2p, [n]p (double-and-add; n >= 0, a BigInt), -p, and the canonical encoding (y mod p,
 * bit 255 = x mod 2). Variable time: every input here is public. */
function ptAdd(p, q) {
    const a = (p[1] - p[0]) * (q[1] - q[0]) % ED_P, b = (p[1] + p[0]) * (q[1] + q[0]) % ED_P;
    const c = p[3] * ED_D2 % ED_P * q[3] % ED_P, d = 2n * p[2] * q[2] % ED_P;
    const e = b - a, f = d - c, g = d + c, h = b + a;
    return [fmod(e * f), fmod(g * h), fmod(f * g), fmod(e * h)];
}

function ptDouble(p) {
    const a = p[0] * p[0] % ED_P, b = p[1] * p[1] % ED_P, c = 2n * p[2] * p[2] % ED_P;
    const h = a + b, s = p[0] + p[1], e = h - s * s % ED_P, g = a - b, f = c + g;
    return [fmod(e * f), fmod(g * h), fmod(f * g), fmod(e * h)];
}

function ptMul(n, p) {
    let q = ED_O;
    for (let i = BigInt(n.toString(2).length) - 1n; i >= 0n; i--) {
        q = ptDouble(q);
        if ((n >> i) & 1n) q = ptAdd(q, p);
    }
    return q;
}

function ptNeg(p) { return [fmod(-p[0]), p[1], p[2], fmod(-p[3])]; }

function ptEncode(p) {
    const zi = fpow(p[2], ED_P - 2n);
    const x = p[0] * zi % ED_P, y = p[1] * zi % ED_P;
    return leBytes32(y | ((x & 1n) << 255n));
}

/* Rule 5: the point of an encoding, y taken mod p and x chosen by the sign bit as libsodium's
 * ge25519_frombytes_negate_vartime does (x = 0 with the sign bit set is not refused here; rules
 * 2 and 4 refuse those encodings), or null when u/v has no square root. */
function ptDecode(enc) {
    const y = fmod(leInt(enc) & ((1n << 255n) - 1n));
    const yy = y * y % ED_P;
    const u = fmod(yy - 1n), v = fmod(ED_D * yy + 1n);
    const v3 = v * v % ED_P * v % ED_P;
    let x = u * v3 % ED_P * fpow(u * v3 % ED_P * v3 % ED_P * v % ED_P, (ED_P - 5n) / 8n) % ED_P;
    const vxx = v * x % ED_P * x % ED_P;
    if (vxx !== u) {
        if (vxx !== fmod(-u)) return null;
        x = x * ED_SQRTM1 % ED_P;
    }
    if (Number(x & 1n) !== enc[31] >> 7) x = fmod(-x);
    return [x, y, 1n, x * y % ED_P];
}

const ED_B = ptDecode(unhex('5866666666666666666666666666666666666666666666666666666666666666'));

/* Rules 3-5 for a public key (cached by key): canonical, not small-order, a curve point. */
const keyRules = new Map();

function keyAcceptable(pk) {
    const k = hex(pk);
    let ok = keyRules.get(k);
    if (ok === undefined) {
        ok = canonicalY(pk) && !smallOrder(pk) && ptDecode(pk) !== null;
        if (keyRules.size >= 4096) keyRules.clear();
        keyRules.set(k, ok);
    }
    return ok;
}

/* Rules 6-7 in BigInt arithmetic: k = SHA-512(R || A || M) mod L, and [S]B - [k]A, encoded
 * canonically, must be the bytes of R. A must have passed rule 5. */
async function equationHolds(pk, msg, sig) {
    const k = leInt(await sha512(concat(sig.subarray(0, 32), pk, msg))) % ED_L;
    const s = leInt(sig.subarray(32, 64));
    const r = ptAdd(ptMul(s, ED_B), ptMul(k, ptNeg(ptDecode(pk))));
    return bytesEqual(ptEncode(r), sig.subarray(0, 32));
}

/* §1.2 vectors 1, 7 and 8, whose verdicts (accept, accept, reject) rest on the verification
 * equation alone: they pass rules 1-5, so WebCrypto decides them. */
const ENGINE_VECTORS = [
    ['6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc',
     'ac451a369d5baa201a36133dac39131f1abb0e2f43679db7559f1b3e83512cc6' +
     'd3ce2d4874ca7801e020af0f1c64583ac97e7d54358a3fa6f1889eeacbe5e001', 'valid', true],
    ['64ea59fab51e258287e54fc5691d1b860c9ebcd2704d029b3eec58b6b2e51432',
     '0beb8b64dcf4d0672b0895b774711982550974eaf6e86e6487d4b4379cea8a6f' +
     '1240bb3614b489d3650bbfbe92d704cc47e3e3d42cd8d315267f1d201d538c04', 'mixed-order A #2', true],
    ['64ea59fab51e258287e54fc5691d1b860c9ebcd2704d029b3eec58b6b2e51432',
     '7d788e0ee600665484a7e7ba4e0c0e605916ab1530eca7057134b9d474938ae0' +
     'c135e9b2e78674c36f76f0ccca9a1096db9733451a47f98f755e3b9c309ef303', 'mixed-order A #0', false],
];

let engineChoice = null; /* null: not decided; else a promise of 'webcrypto' | 'javascript' */
const webKeys = new Map();

/* The WebCrypto key of pk (a promise, cached by key). */
function webKey(pk) {
    const k = hex(pk);
    let key = webKeys.get(k);
    if (key === undefined) {
        key = subtle().importKey('raw', pk, {name: 'Ed25519'}, false, ['verify']);
        if (webKeys.size >= 4096) webKeys.clear();
        webKeys.set(k, key);
    }
    return key;
}

/* WebCrypto's Ed25519 verdict (the equation, rules 6-7, where the engine check passed). */
async function webVerify(pk, msg, sig) {
    return subtle().verify({name: 'Ed25519'}, await webKey(pk), sig, msg);
}

/* webVerify, or the equation here for a key this WebCrypto refuses to import (rules 3-5
 * passed, so libsodium would decide by the equation too). */
async function webVerifyOrEquation(pk, msg, sig) {
    let key;
    try {
        key = await webKey(pk);
    } catch {
        return equationHolds(pk, msg, sig);
    }
    return subtle().verify({name: 'Ed25519'}, key, sig, msg);
}

/* 'webcrypto' when WebCrypto's Ed25519 gives ENGINE_VECTORS' verdicts, else 'javascript'. */
async function chooseEngine() {
    try {
        for (const [pk, sig, text, want] of ENGINE_VECTORS) {
            const msg = concat(ctx('qchain/v1/tx-sig'), utf8.encode('ed25519 vector: ' + text));
            if (await webVerify(unhex(pk), msg, unhex(sig)) !== want) return 'javascript';
        }
        return 'webcrypto';
    } catch (e) {
        if (e instanceof Failure) throw e;
        return 'javascript'; /* no Ed25519 in this WebCrypto */
    }
}

/* Which computes the verification equation (rules 6-7): 'webcrypto' when this environment's
 * WebCrypto Ed25519 gives the §1.2 verdicts, else 'javascript'. Decided once. */
export async function ed25519Engine() {
    if (engineChoice === null) engineChoice = chooseEngine();
    return engineChoice;
}

/* Forces the engine ('webcrypto' or 'javascript'; null decides again): for tests that run the
 * cases under both. */
export function setEd25519Engine(name) {
    if (name !== null && name !== 'webcrypto' && name !== 'javascript')
        throw new Error(`unknown Ed25519 engine ${name}`);
    engineChoice = name === null ? null : Promise.resolve(name);
}

/* Verifies an Ed25519 signature (pk 32 bytes, sig 64 bytes R || S, msg the whole signed bytes)
 * by the seven rules of PROTOCOL.md §1.1, libsodium 1.0.18's crypto_sign_verify_detached:
 * rules 1-5 here, the equation by ed25519Engine(). Resolves true or false. */
export async function ed25519Verify(pk, msg, sig) {
    if (pk.length !== 32 || sig.length !== 64) return false;
    if (leInt(sig.subarray(32, 64)) >= ED_L) return false;     /* 1: S canonical */
    if (smallOrder(sig.subarray(0, 32))) return false;         /* 2: R not small-order */
    if (!keyAcceptable(pk)) return false;                      /* 3-5: A */
    return await ed25519Engine() === 'webcrypto' ? webVerifyOrEquation(pk, msg, sig)
                                                 : equationHolds(pk, msg, sig);
}

/* libsodium's crypto_core_ed25519_is_valid_point, which the genesis loader applies to every
 * key: canonical, not small-order, a curve point, and in the prime-order subgroup: [L]P is the
 * neutral point, x = 0 and y = 1 (CVE-2025-69277's fix, which Debian 12's 1.0.18-1+deb12u1
 * carries; 1.0.18 as released tested x = 0 alone and let a component of order 2 through). */
function validPoint(enc) {
    if (!canonicalY(enc) || smallOrder(enc)) return false;
    const p = ptDecode(enc);
    if (p === null) return false;
    const q = ptMul(ED_L, p);
    return q[0] === 0n && q[1] === q[2];
}

/* ---------------------------------------------------------------- validator sets (§2, §6) */

/* q = ceil((n + f + 1) / 2) with f = floor((n - 1) / 3) (qc_quorum). */
function quorum(n) {
    const f = n === 0 ? 0 : Math.floor((n - 1) / 3);
    return Math.floor((n + f + 2) / 2);
}

/* validators_hash of vs {epoch: BigInt, threshold, members: [{name, node_key, seal_key,
 * admin_key}]} (§6, qc_validators_hash). */
async function validatorsHash(vs) {
    const parts = [ctx('qchain/v1/validators'), u64be(vs.epoch), u16be(vs.members.length),
                   u16be(vs.threshold)];
    for (const m of vs.members) {
        const name = utf8.encode(m.name);
        parts.push(Uint8Array.of(name.length), name, m.node_key, m.seal_key, m.admin_key);
    }
    return sha256(concat(...parts));
}

/* ---------------------------------------------------------------- genesis (GENESIS.md) */

/* "host:port" as node/api/jsonv.c jsonv_addr_valid: a DNS name or IPv4 ([A-Za-z0-9.-]) or a
 * bracketed IPv6 literal, and a port 1..65535 in decimal without a sign or leading zero. */
function addressValid(s) {
    const colon = s.lastIndexOf(':');
    if (colon <= 0) return false;
    const host = s.slice(0, colon), port = s.slice(colon + 1);
    const hostOk = host[0] === '['
        ? host.length >= 3 && host.endsWith(']') && /^[0-9a-fA-F:.]*$/.test(host.slice(1, -1))
        : /^[A-Za-z0-9.-]+$/.test(host);
    return hostOk && /^[1-9][0-9]{0,4}$/.test(port) && Number(port) <= 65535;
}

/* The strict field getters of node/api/jsonv.c, failing with "path: ..." sentences. gObject:
 * a required member that is an object with only the allowed keys. */
function gObject(obj, path, key, allowed) {
    const p = path ? `${path}.${key}` : key;
    if (!hasOwn(obj, key)) throw new Error(`${p}: missing field`);
    const v = obj[key];
    if (jsonType(v) !== 'object') throw new Error(`${p}: expected an object`);
    gKnown(v, p, allowed);
    return v;
}

/* Refuses obj not being an object, and any key of it not in allowed (jsonv_known_keys). */
function gKnown(obj, path, allowed) {
    if (jsonType(obj) !== 'object') throw new Error(`${path || '(top)'}: expected an object`);
    for (const k of Object.keys(obj))
        if (!allowed.includes(k)) throw new Error(`${path ? path + '.' : ''}${k}: unknown field`);
}

/* [value, path.key] of a required member (jsonv.c lookup). */
function gLookup(obj, path, key) {
    const p = path ? `${path}.${key}` : key;
    if (!hasOwn(obj, key)) throw new Error(`${p}: missing field`);
    return [obj[key], p];
}

/* An integer min..max, as a BigInt (jsonv_u64; reals such as 1.0 refused). */
function gUint(obj, path, key, min, max) {
    const [v, p] = gLookup(obj, path, key);
    if (jsonType(v) !== 'integer') throw new Error(`${p}: expected an integer`);
    if (typeof v === 'number' && !Number.isSafeInteger(v))
        throw new Error(`${p}: too large to read exactly from a parsed object`);
    const x = BigInt(v);
    if (x < BigInt(min) || x > BigInt(max)) throw new Error(`${p}: ${x} is out of range ${min}..${max}`);
    return x;
}

/* A string of 1..max UTF-8 bytes without control characters (jsonv_string). */
function gString(obj, path, key, max) {
    const [v, p] = gLookup(obj, path, key);
    if (typeof v !== 'string') throw new Error(`${p}: expected a string`);
    const b = utf8.encode(v);
    if (b.length === 0) throw new Error(`${p}: must not be empty`);
    if (b.length > max) throw new Error(`${p}: ${b.length} bytes long, at most ${max} allowed`);
    if (b.some((c) => c < 0x20 || c === 0x7f)) throw new Error(`${p}: contains a control character`);
    return v;
}

/* A public key: 64 hex chars (either case) of a valid point (jsonv_hex, then validPoint). */
function gKey(obj, path, key) {
    const [v, p] = gLookup(obj, path, key);
    if (typeof v !== 'string' || v.length !== 64 || !/^[0-9a-fA-F]*$/.test(v))
        throw new Error(`${p}: expected 64 hex chars`);
    const b = unhex(v);
    if (!validPoint(b)) throw new Error(`${p}: not a valid Ed25519 public key`);
    return b;
}

/* A "host:port" string (jsonv_addr). */
function gAddress(obj, path, key) {
    const s = gString(obj, path, key, ADDRESS_MAX);
    if (!addressValid(s))
        throw new Error(`${path}.${key}: expected "host:port" with port 1..65535, got "${s}"`);
    return s;
}

const KEY_FIELDS = ['node_key', 'seal_key', 'admin_key'];

/* One member (genesis.c parse_member). */
function genesisMember(obj, path) {
    gKnown(obj, path, ['name', 'display_name', ...KEY_FIELDS, 'p2p_address', 'api_address']);
    const name = gString(obj, path, 'name', MEMBER_NAME_MAX);
    if (!memberNameValid(name))
        throw new Error(`${path}.name: expected 1..32 chars of [a-z0-9-], got "${name}"`);
    const m = {name, display_name: gString(obj, path, 'display_name', DISPLAY_NAME_MAX)};
    for (const k of KEY_FIELDS) m[k] = gKey(obj, path, k);
    m.p2p_address = gAddress(obj, path, 'p2p_address');
    m.api_address = gAddress(obj, path, 'api_address');
    return m;
}

/* No two members share a name, an address or any key in any role (genesis.c check_unique). */
function genesisUnique(members) {
    for (let i = 0; i < members.length; i++) {
        for (let j = 0; j < i; j++) {
            for (const f of ['name', 'p2p_address', 'api_address']) {
                if (members[i][f] === members[j][f])
                    throw new Error(`members[${i}].${f}: "${members[i][f]}" is already used by members[${j}]`);
            }
        }
    }
    const keys = members.flatMap((m, i) => KEY_FIELDS.map((f) => [hex(m[f]), `members[${i}].${f}`]));
    for (let a = 0; a < keys.length; a++)
        for (let b = 0; b < a; b++)
            if (keys[a][0] === keys[b][0]) throw new Error(`${keys[a][1]}: the same key as ${keys[b][1]}`);
}

/* The checks of genesis.c parse_root, in its order. Throws an Error naming the field. */
function genesisFields(root) {
    gKnown(root, '', ['version', 'chain_id', 'genesis_time_ms', 'members', 'consensus', 'governance']);
    const version = gUint(root, '', 'version', 1, 0xffffffff);
    if (version !== 1n) throw new Error(`version: ${version} is not supported (this build reads 1)`);
    const chainId = gString(root, '', 'chain_id', CHAIN_ID_MAX);
    if (!chainIdValid(chainId)) throw new Error('chain_id: expected 1..64 chars of [A-Za-z0-9._-]');
    const time = gUint(root, '', 'genesis_time_ms', 0, GENESIS_TIME_MS_MAX);
    const [list] = gLookup(root, '', 'members');
    if (!Array.isArray(list)) throw new Error('members: expected an array');
    if (list.length < GENESIS_MEMBERS_MIN || list.length > VALIDATORS_MAX)
        throw new Error(`members: has ${list.length} elements, expected 4 to 64`);
    const members = list.map((m, i) => genesisMember(m, `members[${i}]`));
    genesisUnique(members);
    const c = gObject(root, '', 'consensus', ['checkpoint_interval', 'window', 'view_timeout_ms',
                                               'block_max_txs', 'block_interval_ms']);
    const interval = gUint(c, 'consensus', 'checkpoint_interval', 1, 100000);
    const windowHeights = gUint(c, 'consensus', 'window', 2, 1000000);
    if (windowHeights < 2n * interval)
        throw new Error(`consensus.window: ${windowHeights} is less than 2 * checkpoint_interval (${interval})`);
    gUint(c, 'consensus', 'view_timeout_ms', 50, 600000);
    gUint(c, 'consensus', 'block_max_txs', 1, BLOCK_TXS_MAX);
    gUint(c, 'consensus', 'block_interval_ms', 1, 60000);
    const g = gObject(root, '', 'governance', ['threshold']);
    const threshold = Number(gUint(g, 'governance', 'threshold', 1, members.length));
    return {chain_id: chainId, genesis_time_ms: time, members, threshold};
}

const genesisCache = new Map(); /* genesis hash hex -> loaded genesis */

/* Loads a genesis file's exact bytes as genesis_load does (1 MiB at most, UTF-8, strict JSON,
 * every field checked) and hashes them (§10.2: G = H("qchain/v1/genesis" 0x00 || bytes)).
 * Resolves {hash (bytes), chain_id, vs (epoch 0), display (name -> display name), info};
 * throws an Error saying what is wrong. Cached by hash: the key checks cost milliseconds. */
async function loadGenesis(genesisBytes) {
    const bytes = toBytes(genesisBytes, 'genesis');
    if (bytes.length > GENESIS_FILE_BYTES_MAX)
        throw new Error(`the genesis file is larger than ${GENESIS_FILE_BYTES_MAX} bytes`);
    const hash = await hashCtx('qchain/v1/genesis', bytes);
    const cached = genesisCache.get(hex(hash));
    if (cached) return cached;
    let root;
    try {
        root = parseJson(new TextDecoder('utf-8', {fatal: true, ignoreBOM: true}).decode(bytes));
    } catch (e) {
        throw new Error(`the genesis file is not valid JSON: ${e.message}`);
    }
    if (jsonType(root) !== 'object') throw new Error('the genesis file is not a JSON object');
    let f;
    try {
        f = genesisFields(root);
    } catch (e) {
        throw new Error(`the genesis file is not valid: ${e.message}`);
    }
    const g = {
        hash, chain_id: f.chain_id,
        vs: {epoch: 0n, threshold: f.threshold, members: f.members},
        display: new Map(f.members.map((m) => [m.name, m.display_name])),
        info: {
            hash: hex(hash), chain_id: f.chain_id, genesis_time_ms: Number(f.genesis_time_ms),
            members: f.members.map((m) => ({name: m.name, display_name: m.display_name,
                                             node_key: hex(m.node_key), seal_key: hex(m.seal_key),
                                             admin_key: hex(m.admin_key)})),
            quorum: quorum(f.members.length), threshold: f.threshold,
        },
    };
    if (genesisCache.size >= 8) genesisCache.clear();
    genesisCache.set(hex(hash), g);
    return g;
}

/* What a genesis file (a Uint8Array of the file's exact bytes as held; an ArrayBuffer or a
 * string of its text also do) says: {hash: 64 hex, the chain's genesis hash exactly as `qchain
 * genesis --hash` prints it; chain_id; genesis_time_ms; members: [{name, display_name,
 * node_key, seal_key, admin_key}] in validator order (keys as 64 hex); quorum: q(n) of the
 * genesis set; threshold: its governance threshold}. Throws an Error with a sentence saying
 * what is wrong when the file is not a valid genesis file (as `qchain` would refuse it). */
export async function genesisInfo(genesisBytes) {
    const g = await loadGenesis(genesisBytes);
    return structuredClone(g.info);
}

/* ---------------------------------------------------------------- receipt parsing (§10.1) */

/* A 'format' failure: the receipt is not well-formed (§10.1). */
function bad(reason) { throw new Failure('format', reason); }

/* The member key of object obj with JSON type `type` (receipt.c jp_get). */
function rField(obj, key, type) {
    if (jsonType(obj) !== 'object' || !hasOwn(obj, key) || jsonType(obj[key]) !== type)
        bad(`receipt field "${key}" is missing or has the wrong type`);
    return obj[key];
}

/* An integer 0..max (BigInt; jp_uint). */
function rUint(obj, key, max) {
    const v = rField(obj, key, 'integer');
    if (typeof v === 'number' && !Number.isSafeInteger(v))
        bad(`receipt field "${key}" is too large to read exactly from a parsed object (give ` +
            'verifyReceipt the receipt\'s text)');
    const x = BigInt(v);
    if (x < 0n || x > max) bad(`receipt field "${key}" is out of range`);
    return x;
}

/* Whether s is exactly len hex digits (either case). */
function hexOk(s, len) { return s.length === len && /^[0-9a-fA-F]*$/.test(s); }

/* Exactly n bytes of hex (jp_hex). */
function rHex(obj, key, n) {
    const s = rField(obj, key, 'string');
    if (!hexOk(s, 2 * n)) bad(`receipt field "${key}": expected ${n} hex bytes`);
    return unhex(s);
}

/* Hex of at most max bytes (jp_hex_alloc). */
function rHexUpTo(obj, key, max) {
    const s = rField(obj, key, 'string');
    if (s.length % 2 !== 0 || s.length / 2 > max || !hexOk(s, s.length))
        bad(`receipt field "${key}": expected hex, at most ${max} bytes`);
    return unhex(s);
}

/* Refuses a key of obj not in keys (only_keys); a non-object passes, its getters fail. */
function rOnlyKeys(obj, keys, where) {
    if (jsonType(obj) !== 'object') return;
    for (const k of Object.keys(obj))
        if (!keys.includes(k)) bad(`receipt has an unknown field "${k}" in ${where}`);
}

/* A certificate object (receipt.c parse_cert); where names it for messages. */
function rCert(c, where) {
    rOnlyKeys(c, ['epoch', 'height', 'view', 'block_hash', 'votes'], where);
    const cert = {epoch: rUint(c, 'epoch', INT64_MAX), height: rUint(c, 'height', INT64_MAX),
                  view: rUint(c, 'view', INT64_MAX), block_hash: rHex(c, 'block_hash', 32)};
    const votes = rField(c, 'votes', 'array');
    if (votes.length > VALIDATORS_MAX) bad('receipt certificate has too many votes');
    cert.votes = votes.map((v) => {
        rOnlyKeys(v, ['validator', 'sig'], `${where}.votes`);
        return {validator: Number(rUint(v, 'validator', BigInt(VALIDATORS_MAX - 1))),
                sig: rHex(v, 'sig', 64)};
    });
    return cert;
}

/* Index of the first member at or before i that shares a name or key with member i, or -1
 * (receipt.c member_clash). */
function memberClash(members, i) {
    const a = members[i];
    const ka = KEY_FIELDS.map((f) => hex(a[f]));
    if (new Set(ka).size < 3) return i;
    for (let j = 0; j < i; j++) {
        const b = members[j];
        if (a.name === b.name) return j;
        const kb = KEY_FIELDS.map((f) => hex(b[f]));
        if (ka.some((k) => kb.includes(k))) return j;
    }
    return -1;
}

/* One membership step (receipt.c parse_step); reasons without the step's prefix. */
function rStep(j) {
    rOnlyKeys(j, ['epoch', 'first_height', 'threshold', 'members', 'switch_header', 'switch_cert'],
              'membership');
    const epoch = rUint(j, 'epoch', INT64_MAX);
    const firstHeight = rUint(j, 'first_height', INT64_MAX);
    const threshold = Number(rUint(j, 'threshold', 0xffffn));
    const list = rField(j, 'members', 'array');
    if (list.length === 0 || list.length > VALIDATORS_MAX)
        bad(`${list.length} members; a validator set has 1 to ${VALIDATORS_MAX}`);
    const members = [];
    for (let i = 0; i < list.length; i++) {
        const m = list[i];
        rOnlyKeys(m, ['name', ...KEY_FIELDS], 'membership.members');
        const name = rField(m, 'name', 'string');
        if (!memberNameValid(name)) bad(`"${name}" is not a member name`);
        members.push({name, node_key: rHex(m, 'node_key', 32), seal_key: rHex(m, 'seal_key', 32),
                      admin_key: rHex(m, 'admin_key', 32)});
        const other = memberClash(members, i);
        if (other >= 0) bad(`member ${i} repeats a name or key of member ${other}`);
    }
    if (threshold === 0 || threshold > members.length)
        bad(`threshold ${threshold} is not between 1 and the ${members.length} members`);
    const hdr = rHexUpTo(j, 'switch_header', HEADER_BYTES_MAX);
    const switchHeader = decodeHeader(hdr);
    if (switchHeader === null)
        bad(`switch_header ${headerVersionWhy(hdr) ?? 'is not a valid canonical block header'}`);
    const switchCert = rCert(rField(j, 'switch_cert', 'object'), 'membership.switch_cert');
    return {first_height: firstHeight, vs: {epoch, threshold, members},
            switch_header: switchHeader, switch_cert: switchCert};
}

/* The membership array; a step's failure names the step (receipt.c parse_membership). */
function rMembership(list) {
    if (list.length > RECEIPT_EPOCHS_MAX)
        bad(`receipt membership history has ${list.length} steps, more than ${RECEIPT_EPOCHS_MAX}`);
    return list.map((step, i) => {
        try {
            return rStep(step);
        } catch (e) {
            if (e instanceof Failure) bad(`receipt membership step ${i + 1}: ${e.message}`);
            throw e;
        }
    });
}

/* Strict parse of a receipt object (receipt.c receipt_from_json, in its order): every field of
 * §10.1 with its type and size and nothing else ("status", which a status proof adds, is let
 * through unread), the header and every switch header decoded (§4), the body decoded (§3). */
function parseReceipt(j) {
    if (jsonType(j) !== 'object') bad('a receipt is a JSON object');
    rOnlyKeys(j, ['qchain_receipt', 'chain_id', 'genesis_hash', 'record', 'tx', 'header', 'cert',
                  'inclusion', 'membership', 'status'], 'the receipt');
    if (rUint(j, 'qchain_receipt', 1000n) !== RECEIPT_VERSION) bad('unsupported receipt version');
    const chainId = rField(j, 'chain_id', 'string');
    if (!chainIdValid(chainId)) bad('receipt chain_id is not a valid chain id');
    const r = {chain_id: chainId, genesis_hash: rHex(j, 'genesis_hash', 32)};
    const rec = rField(j, 'record', 'object');
    rOnlyKeys(rec, ['digest', 'tx_record_index', 'log_index'], 'record');
    r.digest = rHex(rec, 'digest', 32);
    r.record_index = Number(rUint(rec, 'tx_record_index', BigInt(TX_RECORDS_MAX - 1)));
    r.log_index = rUint(rec, 'log_index', INT64_MAX);
    const tx = rField(j, 'tx', 'object');
    rOnlyKeys(tx, ['body', 'sig'], 'tx');
    const body = rHexUpTo(tx, 'body', TX_BODY_BYTES_MAX);
    r.sig = rHex(tx, 'sig', 64);
    const hdr = rHexUpTo(j, 'header', HEADER_BYTES_MAX);
    r.cert = rCert(rField(j, 'cert', 'object'), 'cert');
    const inc = rField(j, 'inclusion', 'object');
    rOnlyKeys(inc, ['tree_size', 'path'], 'inclusion');
    r.tree_size = rUint(inc, 'tree_size', INT64_MAX);
    const path = rField(inc, 'path', 'array');
    if (path.length > MERKLE_PATH_MAX) bad('receipt inclusion path is too long');
    r.path = path.map((h, i) => {
        if (typeof h !== 'string' || !hexOk(h, 64))
            bad(`receipt inclusion path entry ${i} is not a 32-byte hex hash`);
        return unhex(h);
    });
    r.membership = rMembership(rField(j, 'membership', 'array'));
    r.header = decodeHeader(hdr);
    if (r.header === null) {
        const old = headerVersionWhy(hdr);
        bad(old ? `receipt header: ${old}` : 'receipt header is not a valid canonical block header');
    }
    r.tx = parseTx(body);
    if (r.tx === null) bad('receipt transaction body is not a valid canonical transaction');
    return r;
}

/* ---------------------------------------------------------------- verification (§10.2) */

/* The commit certificate cert (§7) of a block whose hash is blockHash, under vs (qc_cert_verify):
 * failures are `code` with reasons prefixed by prefix. Resolves the signers' names. */
async function verifyCert(cert, chainId, vs, blockHash, prefix, code) {
    const n = vs.members.length;
    if (cert.epoch !== vs.epoch)
        fail(code, `${prefix}certificate is for epoch ${cert.epoch} but the validator set is epoch ${vs.epoch}`);
    if (!bytesEqual(cert.block_hash, blockHash))
        fail(code, `${prefix}certificate is for a different block hash`);
    const id = utf8.encode(chainId);
    const msg = concat(ctx('qchain/v1/commit'), Uint8Array.of(id.length), id, u64be(cert.epoch),
                       u64be(cert.height), u64be(cert.view), cert.block_hash);
    const seen = new Set();
    for (const [i, vote] of cert.votes.entries()) {
        const v = vote.validator;
        if (v >= n) fail(code, `${prefix}vote ${i} names validator ${v}; epoch ${vs.epoch} has ${n} validators`);
        const name = vs.members[v].name;
        if (seen.has(v)) fail(code, `${prefix}two votes by ${name}`);
        seen.add(v);
        if (!await ed25519Verify(vs.members[v].node_key, msg, vote.sig))
            fail(code, `${prefix}signature by ${name}'s node key is invalid`);
    }
    const q = quorum(n);
    if (cert.votes.length < q) fail(code, `${prefix}${cert.votes.length} valid signatures, quorum is ${q}`);
    return cert.votes.map((v) => vs.members[v.validator].name);
}

/* Membership step num (1-based) of §10.2 step 3 (receipt.c verify_step): st is the epoch
 * after cur (in force from curFirst on), its switch header cur's certified last block and
 * that block's next_validators_hash the hash of st's set. */
async function verifyStep(st, num, g, cur, curFirst) {
    const h = st.switch_header;
    const m = (reason) => fail('membership', `membership step ${num}${reason}`);
    if (st.vs.epoch !== cur.epoch + 1n) m(` is for epoch ${st.vs.epoch}, expected ${cur.epoch + 1n}`);
    if (st.first_height === 0n || h.height !== st.first_height - 1n)
        m(`: the switch header is block ${h.height}, but epoch ${st.vs.epoch} starts at block ${st.first_height}`);
    if (h.height < curFirst)
        m(`: epoch ${st.vs.epoch} starts at block ${st.first_height}, before epoch ${cur.epoch} began (block ${curFirst})`);
    if (h.chain_id !== g.chain_id) m(`: the switch header is for chain "${h.chain_id}"`);
    if (!bytesEqual(h.genesis_hash, g.hash))
        m(`: the switch header names genesis ${hex(h.genesis_hash)}, the genesis file given is ${hex(g.hash)}`);
    if (h.epoch !== cur.epoch) m(`: the switch block is in epoch ${h.epoch}, expected ${cur.epoch}`);
    if (!bytesEqual(await validatorsHash(cur), h.validators_hash))
        m(`: the switch block names a different validator set than epoch ${cur.epoch}'s`);
    if (st.switch_cert.height !== h.height)
        m(`: certificate is for height ${st.switch_cert.height}, the switch block is height ${h.height}`);
    await verifyCert(st.switch_cert, g.chain_id, cur, await hashCtx('qchain/v1/block', h.bytes),
                     `membership step ${num} (the switch to epoch ${st.vs.epoch}): `, 'membership');
    if (!bytesEqual(await validatorsHash(st.vs), h.next_validators_hash))
        fail('membership', `the switch block of epoch ${st.vs.epoch} does not certify this member list`);
}

/* RFC 9162 §2.1.3.2 (merkle_verify_inclusion): does path lead from leaf, at index in a tree of
 * size leaves, to root? */
async function inclusionHolds(leaf, index, size, path, root) {
    if (size > MERKLE_SIZE_MAX || index >= size || path.length > MERKLE_PATH_MAX) return false;
    let fn = index, sn = size - 1n, r = leaf;
    for (const p of path) {
        if (sn === 0n) return false;
        if ((fn & 1n) === 1n || fn === sn) {
            r = await sha256(concat(Uint8Array.of(1), p, r));
            while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        } else {
            r = await sha256(concat(Uint8Array.of(1), r, p));
        }
        fn >>= 1n;
        sn >>= 1n;
    }
    return sn === 0n && bytesEqual(r, root);
}

/* §10.2 steps 1-13 on a parsed receipt r against the loaded genesis g, in receipt_verify's
 * order (first failure thrown as a Failure). Resolves the valid receipt's result. */
async function verifyParsed(r, g, fileDigest) {
    const h = r.header;
    if (r.chain_id !== g.chain_id || h.chain_id !== g.chain_id)
        fail('genesis', `receipt is for chain "${h.chain_id}", the genesis is for "${g.chain_id}"`);
    if (!bytesEqual(r.genesis_hash, g.hash))
        fail('genesis', `receipt names genesis ${hex(r.genesis_hash)}, the genesis file given is ${hex(g.hash)}`);
    /* The receipt's genesis_hash is signed by no one; the certified header binds the block to
     * the genesis file (§10.2 step 2). */
    if (!bytesEqual(h.genesis_hash, g.hash))
        fail('genesis', `block header names genesis ${hex(h.genesis_hash)}, the genesis file given is ${hex(g.hash)}`);
    let vs = g.vs, first = 1n;
    for (const [i, st] of r.membership.entries()) {
        await verifyStep(st, i + 1, g, vs, first);
        vs = st.vs;
        first = st.first_height;
    }
    if (h.epoch !== vs.epoch) {
        fail('membership', r.membership.length === 0
            ? `block is in epoch ${h.epoch}; this receipt has no membership history to reach it`
            : `block is in epoch ${h.epoch}; this receipt's membership history reaches epoch ${vs.epoch}`);
    }
    if (!bytesEqual(await validatorsHash(vs), h.validators_hash)) {
        fail('header', r.membership.length === 0
            ? 'block header names a different validator set than the genesis'
            : `block header names a different validator set than epoch ${vs.epoch}'s`);
    }
    if (h.height < first) fail('header', `block ${h.height} is before epoch ${vs.epoch} began (block ${first})`);
    const blockHash = await hashCtx('qchain/v1/block', h.bytes);
    if (r.cert.height !== h.height)
        fail('certificate', `certificate is for height ${r.cert.height}, block is height ${h.height}`);
    const signers = await verifyCert(r.cert, g.chain_id, vs, blockHash, '', 'certificate');
    const tx = r.tx;
    if (tx.chain_id !== g.chain_id)
        fail('genesis', `the transaction is for chain "${tx.chain_id}", not "${g.chain_id}"`);
    if (!await ed25519Verify(tx.signer, concat(ctx('qchain/v1/tx-sig'), tx.body), r.sig))
        fail('seal', "the transaction's seal signature is invalid");
    const city = vs.members.findIndex((m) => bytesEqual(m.seal_key, tx.signer));
    if (city < 0) fail('seal', "the transaction is not signed by a member city's seal key");
    const record = tx.records[r.record_index];
    if (record === undefined || !bytesEqual(record.digest, r.digest))
        fail('record', `the transaction does not anchor this digest at record ${r.record_index}`);
    if (fileDigest !== null && !bytesEqual(fileDigest, r.digest))
        fail('digest', 'document digest does not match the anchored digest');
    const txId = await hashCtx('qchain/v1/tx-id', tx.body);
    const leaf = await sha256(concat(Uint8Array.of(0), ctx('qchain/v1/record-leaf'), u64be(h.height),
                                     txId, u16be(r.record_index), r.digest));
    if (r.tree_size !== h.log_size ||
        !await inclusionHolds(leaf, r.log_index, r.tree_size, r.path, h.log_root))
        fail('inclusion', "inclusion proof does not lead to the block's record-log root");
    const name = vs.members[city].name;
    return {
        ok: true, genesis_hash: hex(g.hash), chain_id: g.chain_id, digest: hex(r.digest),
        city: name, city_display: g.display.get(name) ?? name, height: Number(h.height),
        time_ms: Number(h.time_ms), tx_id: hex(txId), epoch: Number(vs.epoch), signers,
        quorum: quorum(vs.members.length), validators: vs.members.length,
        record_type: record.type,
        reference: new TextDecoder('utf-8', {ignoreBOM: true}).decode(record.ref),
        log_index: Number(r.log_index),
    };
}

/* The document digest of opts.digest: null, or 32 bytes (from 64 hex or a Uint8Array(32)). */
function documentDigest(d) {
    if (d === undefined || d === null) return null;
    if (d instanceof Uint8Array && d.length === 32) return d;
    if (typeof d === 'string' && hexOk(d, 64)) return unhex(d);
    return fail('digest', 'the document digest given is not a SHA-256 digest (64 hex characters)');
}

/* Verifies a receipt offline against the chain's genesis file (PROTOCOL.md §10.2, as `qchain
 * verify`). receipt: the parsed receipt JSON object (as GET /v1/records/{digest}/receipt serves
 * it and `qchain receipt` writes it), from JSON.parse or parseJson; or the receipt file's text
 * or bytes, parsed here by parseJson (which, unlike JSON.parse, refuses duplicate keys and
 * tells 2 from 2.0, as qchain does). genesisBytes: the genesis file's exact bytes (a
 * Uint8Array; an ArrayBuffer or its text also do). opts.digest: optional SHA-256 of the
 * document the person holds (64 hex or 32 bytes), which must be the anchored digest.
 * Resolves {ok: true, genesis_hash, chain_id, digest, city, city_display (the genesis display
 * name of the city, else its name), height, time_ms, tx_id, epoch, signers (the certificate's
 * city names, in vote order), quorum, validators (the number in the block's epoch),
 * record_type, reference, log_index}, or {ok: false, code, reason} with a code of
 * FAILURE_CODES (see the top of this file). Never throws. */
export async function verifyReceipt(receipt, genesisBytes, opts = {}) {
    try {
        const fileDigest = documentDigest(opts?.digest);
        let g;
        try {
            g = await loadGenesis(genesisBytes);
        } catch (e) {
            if (e instanceof Failure) throw e;
            fail('genesis', e.message);
        }
        let j = receipt;
        if (typeof receipt === 'string' || receipt instanceof ArrayBuffer ||
            ArrayBuffer.isView(receipt)) {
            try {
                const bytes = toBytes(receipt, 'receipt');
                j = parseJson(new TextDecoder('utf-8', {fatal: true, ignoreBOM: true}).decode(bytes));
            } catch (e) {
                fail('format', `the receipt is not valid JSON: ${e.message}`);
            }
        }
        return await verifyParsed(parseReceipt(j), g, fileDigest);
    } catch (e) {
        if (e instanceof Failure) return {ok: false, code: e.code, reason: e.message};
        return {ok: false, code: 'unsupported', reason: `verification could not run: ${e?.message ?? e}`};
    }
}
