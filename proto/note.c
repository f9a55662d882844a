/* note.c - C2SP signed notes and tlog checkpoints with Ed25519 signatures (see note.h). */
#include "note.h"
#include "merkle.h"
#include "sha256.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

static const char em_dash_space[] = "\xe2\x80\x94 "; /* U+2014 U+0020 */
#define EM_DASH_SPACE_LEN 4
#define ROOT_B64_LEN 44 /* base64 of 32 bytes, with one '=' */

/* ---------------------------------------------------------------- UTF-8 and key names */

/* Decodes one UTF-8 code point at p (n bytes left) as Go's utf8.DecodeRune does: overlong
 * forms, surrogates and values above U+10FFFF are errors. Returns its length, 0 on error. */
static size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp) {
    if (p[0] < 0x80) { *cp = p[0]; return 1; }
    size_t len;
    uint32_t min;
    if ((p[0] & 0xe0) == 0xc0) { len = 2; min = 0x80; *cp = p[0] & 0x1f; }
    else if ((p[0] & 0xf0) == 0xe0) { len = 3; min = 0x800; *cp = p[0] & 0x0f; }
    else if ((p[0] & 0xf8) == 0xf0) { len = 4; min = 0x10000; *cp = p[0] & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
    return len;
}

/* Unicode White_Space (what Go's unicode.IsSpace reports). */
static bool unicode_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/* signed-note: key names are non-empty and hold no Unicode space or '+'. The caller has
 * checked the bytes are valid UTF-8 without control characters. */
static bool key_name_valid(const char *name, size_t len) {
    if (len == 0) return false;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t k = utf8_decode((const uint8_t *)name + i, len - i, &c);
        if (k == 0 || c == '+' || c < 0x20 || unicode_space(c)) return false;
        i += k;
    }
    return true;
}

/* ---------------------------------------------------------------- keys */

uint32_t note_key_id(const char *name, const qc_pubkey_t *pk) {
    qc_sha256_state_t st;
    uint8_t type = NOTE_ED25519, nl = '\n', h[32];
    qc_sha256_init(&st);
    qc_sha256_update(&st, (const uint8_t *)name, strlen(name));
    qc_sha256_update(&st, &nl, 1);
    qc_sha256_update(&st, &type, 1);
    qc_sha256_update(&st, pk->b, QC_PUBKEY_BYTES);
    qc_sha256_final(&st, h);
    return qc_get_u32(h);
}

int note_verifier_init(note_verifier_t *v, const char *name, const qc_pubkey_t *pk) {
    size_t len = strnlen(name, NOTE_KEY_NAME_MAX + 1);
    if (len > NOTE_KEY_NAME_MAX || !key_name_valid(name, len)) return QC_ERR_INVALID;
    memset(v, 0, sizeof *v);
    memcpy(v->name, name, len);
    v->pk = *pk;
    v->key_id = note_key_id(v->name, pk);
    return QC_OK;
}

/* ---------------------------------------------------------------- base64 */

/* Decodes canonical standard base64 (RFC 4648 §4, padded) of b64_len chars into out (cap).
 * Returns the decoded length, or -1 if malformed, non-canonical or over cap. */
static long b64_decode(const char *b64, size_t b64_len, uint8_t *out, size_t cap) {
    size_t bin_len = 0;
    const char *end = NULL;
    if (b64_len == 0 || b64_len % 4 != 0) return -1;
    if (sodium_base642bin(out, cap, b64, b64_len, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + b64_len)
        return -1;
    /* libsodium refuses non-zero padding bits; a re-encoding check pins canonical form. */
    char *again = malloc(sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_ORIGINAL));
    if (again == NULL) return -1;
    sodium_bin2base64(again, sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_ORIGINAL),
                      out, bin_len, sodium_base64_VARIANT_ORIGINAL);
    bool same = strlen(again) == b64_len && memcmp(again, b64, b64_len) == 0;
    free(again);
    return same ? (long)bin_len : -1;
}

/* ---------------------------------------------------------------- parsing */

static bool text_chars_valid(const char *msg, size_t len) {
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t k = utf8_decode((const uint8_t *)msg + i, len - i, &c);
        if (k == 0 || (c < 0x20 && c != '\n') || c == 0x7f) return false;
        i += k;
    }
    return true;
}

/* Parses one signature line (without its newline) into s. */
static bool parse_sigline(const char *line, size_t len, uint8_t *scratch, size_t scratch_cap,
                          note_sigline_t *s) {
    if (len < EM_DASH_SPACE_LEN || memcmp(line, em_dash_space, EM_DASH_SPACE_LEN) != 0) return false;
    line += EM_DASH_SPACE_LEN;
    len -= EM_DASH_SPACE_LEN;
    const char *sp = memchr(line, ' ', len);
    if (sp == NULL) return false;
    s->name = line;
    s->name_len = (size_t)(sp - line);
    const char *b64 = sp + 1;
    size_t b64_len = len - s->name_len - 1;
    if (!key_name_valid(s->name, s->name_len)) return false;
    long n = b64_decode(b64, b64_len, scratch, scratch_cap);
    if (n < 5) return false;
    s->key_id = qc_get_u32(scratch);
    s->is_ed25519_len = n == 4 + QC_SIG_BYTES;
    if (s->is_ed25519_len) memcpy(s->sig.b, scratch + 4, QC_SIG_BYTES);
    return true;
}

/* The offset just after the last "\n\n" in msg, i.e. the start of the signature block, or 0. */
static size_t last_blank_line(const char *msg, size_t len) {
    for (size_t i = len; i >= 2; i--)
        if (msg[i - 1] == '\n' && msg[i - 2] == '\n') return i;
    return 0;
}

int note_parse(const char *msg, size_t len, note_t *out, char *why, size_t why_cap) {
    memset(out, 0, sizeof *out);
    if (len > NOTE_BYTES_MAX) { WHY("note is %zu bytes, limit %u", len, NOTE_BYTES_MAX); return QC_ERR_TOOBIG; }
    if (!text_chars_valid(msg, len)) { WHY("note is not UTF-8 text without control characters"); return QC_ERR_INVALID; }
    size_t split = last_blank_line(msg, len);
    if (split == 0) { WHY("note has no blank line before its signatures"); return QC_ERR_INVALID; }
    if (split == len || msg[len - 1] != '\n') { WHY("note's signature block is empty or does not end in a newline"); return QC_ERR_INVALID; }
    out->text = msg;
    out->text_len = split - 1;
    uint8_t *scratch = malloc(len);
    if (scratch == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    int rc = QC_OK;
    for (size_t p = split; p < len && rc == QC_OK;) {
        const char *nl = memchr(msg + p, '\n', len - p);
        size_t line_len = (size_t)(nl - (msg + p));
        if (out->sig_count == NOTE_SIGS_MAX) {
            WHY("more than %u signature lines", NOTE_SIGS_MAX);
            rc = QC_ERR_TOOBIG;
        } else if (!parse_sigline(msg + p, line_len, scratch, len, &out->sigs[out->sig_count])) {
            WHY("signature line %u is not \"— <key name> <base64 key id and signature>\"",
                out->sig_count + 1);
            rc = QC_ERR_INVALID;
        }
        out->sig_count++;
        p += line_len + 1;
    }
    free(scratch);
    if (rc != QC_OK) memset(out, 0, sizeof *out);
    return rc;
}

/* ---------------------------------------------------------------- verification */

int note_verify(const note_t *n, const note_verifier_t *verifiers, size_t count,
                bool *signed_by, uint32_t *valid, char *why, size_t why_cap) {
    QC_ASSERT(count <= NOTE_VERIFIERS_MAX);
    if (signed_by) memset(signed_by, 0, count * sizeof *signed_by);
    uint32_t ok = 0;
    bool seen[NOTE_VERIFIERS_MAX] = {false};
    for (uint32_t i = 0; i < n->sig_count; i++) {
        const note_sigline_t *s = &n->sigs[i];
        for (size_t k = 0; k < count; k++) {
            const note_verifier_t *v = &verifiers[k];
            if (v->key_id != s->key_id || strlen(v->name) != s->name_len ||
                memcmp(v->name, s->name, s->name_len) != 0)
                continue; /* an unknown key: ignored */
            if (!s->is_ed25519_len || note_sig_verify(&s->sig, &v->pk, n->text, n->text_len) != QC_OK) {
                WHY("signature by %s (key id %08" PRIx32 ") is invalid", v->name, v->key_id);
                if (valid) *valid = 0;
                if (signed_by) memset(signed_by, 0, count * sizeof *signed_by);
                return QC_ERR_SIGNATURE;
            }
            if (!seen[k]) ok++;
            seen[k] = true;
            if (signed_by) signed_by[k] = true;
            break;
        }
    }
    if (valid) *valid = ok;
    if (ok == 0) { WHY("no signature by a known key"); return QC_ERR_QUORUM; }
    return QC_OK;
}

void note_sign(qc_sig_t *sig, const qc_seckey_t *sk, const char *text, size_t text_len) {
    crypto_sign_detached(sig->b, NULL, (const uint8_t *)text, text_len, sk->b);
}

int note_sig_verify(const qc_sig_t *sig, const qc_pubkey_t *pk, const char *text,
                    size_t text_len) {
    return crypto_sign_verify_detached(sig->b, (const uint8_t *)text, text_len, pk->b) == 0
               ? QC_OK : QC_ERR_SIGNATURE;
}

int note_append_sigline(char *out, size_t cap, size_t *len, const char *name, uint32_t key_id,
                        const qc_sig_t *sig) {
    uint8_t raw[4 + QC_SIG_BYTES];
    char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
    qc_put_u32(raw, key_id);
    memcpy(raw + 4, sig->b, QC_SIG_BYTES);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    int w = snprintf(out + *len, cap - *len, "%s%s %s\n", em_dash_space, name, b64);
    if (w < 0 || (size_t)w >= cap - *len) return QC_ERR_TOOBIG;
    *len += (size_t)w;
    return QC_OK;
}

/* ---------------------------------------------------------------- checkpoints */

int note_checkpoint_text(const note_checkpoint_t *c, char out[NOTE_CHECKPOINT_TEXT_MAX],
                         size_t *len) {
    if (!qc_chain_id_valid(c->origin) || c->size > MERKLE_SIZE_MAX) return QC_ERR_INVALID;
    char b64[ROOT_B64_LEN + 1];
    sodium_bin2base64(b64, sizeof b64, c->root.b, QC_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL);
    char gh[2 * QC_HASH_BYTES + 1];
    qc_hex_encode(gh, c->genesis_hash.b, QC_HASH_BYTES);
    int w = snprintf(out, NOTE_CHECKPOINT_TEXT_MAX, "%s\n%" PRIu64 "\n%s\n" NOTE_GENESIS_PREFIX "%s\n",
                     c->origin, c->size, b64, gh);
    QC_ASSERT(w > 0 && w < (int)NOTE_CHECKPOINT_TEXT_MAX);
    *len = (size_t)w;
    return QC_OK;
}

/* The next line of text[*pos..len) without its newline; false when no newline ends it. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len) {
    if (*pos >= len) return false;
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    if (nl == NULL) return false;
    *line = text + *pos;
    *line_len = (size_t)(nl - *line);
    *pos += *line_len + 1;
    return true;
}

static bool parse_size(const char *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (v > MERKLE_SIZE_MAX) return false;
    *out = v;
    return true;
}

/* Whether s[0..n) is lowercase hex, the one spelling the genesis line has (so that one
 * checkpoint has one text). */
static bool hex_lower(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

int note_checkpoint_parse(const char *text, size_t len, note_checkpoint_t *c, char *why,
                          size_t why_cap) {
    memset(c, 0, sizeof *c);
    size_t pos = 0, ol = 0, sl = 0, rl = 0, gl = 0;
    const char *origin = NULL, *size = NULL, *root = NULL, *gen = NULL;
    if (!next_line(text, len, &pos, &origin, &ol) || !next_line(text, len, &pos, &size, &sl) ||
        !next_line(text, len, &pos, &root, &rl)) {
        WHY("checkpoint text needs three newline-terminated lines");
        return QC_ERR_INVALID;
    }
    static const size_t prefix_len = sizeof NOTE_GENESIS_PREFIX - 1;
    char hex[2 * QC_HASH_BYTES + 1] = "";
    bool gen_ok = next_line(text, len, &pos, &gen, &gl) && gl == prefix_len + 2 * QC_HASH_BYTES &&
                  memcmp(gen, NOTE_GENESIS_PREFIX, prefix_len) == 0 &&
                  hex_lower(gen + prefix_len, 2 * QC_HASH_BYTES);
    if (gen_ok) memcpy(hex, gen + prefix_len, 2 * QC_HASH_BYTES);
    if (!gen_ok || qc_hex_decode(c->genesis_hash.b, QC_HASH_BYTES, hex) != QC_OK) {
        WHY("checkpoint has no \"" NOTE_GENESIS_PREFIX "<64 hex>\" line after its root (qchain "
            "checkpoints name the chain's genesis hash)");
        return QC_ERR_INVALID;
    }
    if (pos != len) {
        WHY("checkpoint has extension lines after the genesis line; qchain checkpoints have none");
        return QC_ERR_INVALID;
    }
    if (ol > QC_CHAIN_ID_MAX) { WHY("checkpoint origin is longer than a chain id"); return QC_ERR_INVALID; }
    memcpy(c->origin, origin, ol);
    c->origin[ol] = '\0';
    if (!qc_chain_id_valid(c->origin)) { WHY("checkpoint origin is not a chain id"); return QC_ERR_INVALID; }
    if (!parse_size(size, sl, &c->size)) {
        WHY("checkpoint tree size is not a decimal number without leading zeros up to 2^63");
        return QC_ERR_INVALID;
    }
    uint8_t raw[QC_HASH_BYTES + 3];
    if (rl != ROOT_B64_LEN || b64_decode(root, rl, raw, sizeof raw) != QC_HASH_BYTES) {
        WHY("checkpoint root is not canonical base64 of 32 bytes");
        return QC_ERR_INVALID;
    }
    memcpy(c->root.b, raw, QC_HASH_BYTES);
    return QC_OK;
}

void note_validator_key_name(char out[NOTE_KEY_NAME_MAX + 1], const char *chain_id,
                             const qc_validator_set_t *vs, uint32_t index) {
    QC_ASSERT(index < vs->n);
    snprintf(out, NOTE_KEY_NAME_MAX + 1, "%.*s/%s", QC_CHAIN_ID_MAX, chain_id,
             vs->members[index].name);
}

void note_validator_verifiers(note_verifier_t out[QC_VALIDATORS_MAX], const char *chain_id,
                              const qc_validator_set_t *vs) {
    QC_ASSERT(vs->n <= QC_VALIDATORS_MAX);
    for (uint32_t i = 0; i < vs->n; i++) {
        char name[NOTE_KEY_NAME_MAX + 1];
        note_validator_key_name(name, chain_id, vs, i);
        QC_ASSERT(note_verifier_init(&out[i], name, &vs->members[i].node_key) == QC_OK);
    }
}

int note_signed_format(const note_signed_t *s, const char *chain_id,
                       const qc_validator_set_t *vs, char **out, size_t *len) {
    *out = NULL;
    size_t cap = NOTE_CHECKPOINT_TEXT_MAX + 1 + (size_t)s->signer_count * (NOTE_KEY_NAME_MAX + 112);
    char *buf = malloc(cap);
    if (buf == NULL) return QC_ERR_NOMEM;
    size_t n = 0;
    int rc = note_checkpoint_text(&s->cp, buf, &n);
    if (rc == QC_OK) buf[n++] = '\n';
    for (uint32_t i = 0; i < s->signer_count && rc == QC_OK; i++) {
        if (s->signers[i] >= vs->n) { rc = QC_ERR_INVALID; break; }
        char name[NOTE_KEY_NAME_MAX + 1];
        note_validator_key_name(name, chain_id, vs, s->signers[i]);
        rc = note_append_sigline(buf, cap, &n, name,
                                 note_key_id(name, &vs->members[s->signers[i]].node_key), &s->sigs[i]);
    }
    if (rc != QC_OK) { free(buf); return rc; }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return QC_OK;
}

/* Collects the valid signatures of the validators that signed into out, ascending. */
static void collect_signers(const note_t *n, const note_verifier_t *v, const bool *signed_by,
                            uint32_t count, note_signed_t *out) {
    out->signer_count = 0;
    for (uint32_t k = 0; k < count; k++) {
        if (!signed_by[k]) continue;
        for (uint32_t i = 0; i < n->sig_count; i++) {
            const note_sigline_t *s = &n->sigs[i];
            if (s->key_id == v[k].key_id && s->name_len == strlen(v[k].name) &&
                memcmp(s->name, v[k].name, s->name_len) == 0) {
                out->signers[out->signer_count] = k;
                out->sigs[out->signer_count++] = s->sig;
                break;
            }
        }
    }
}

int note_signed_open(const char *msg, size_t len, const char *chain_id,
                     const qc_hash_t *genesis_hash, const qc_validator_set_t *vs,
                     note_signed_t *out, char *why, size_t why_cap) {
    memset(out, 0, sizeof *out);
    note_t *n = malloc(sizeof *n);
    note_verifier_t *v = malloc(sizeof *v * QC_VALIDATORS_MAX);
    if (n == NULL || v == NULL) { free(n); free(v); WHY("out of memory"); return QC_ERR_NOMEM; }
    int rc = note_parse(msg, len, n, why, why_cap);
    if (rc == QC_OK) rc = note_checkpoint_parse(n->text, n->text_len, &out->cp, why, why_cap);
    if (rc == QC_OK && strcmp(out->cp.origin, chain_id) != 0) {
        WHY("checkpoint is for chain \"%s\", not \"%s\"", out->cp.origin, chain_id);
        rc = QC_ERR_INVALID;
    }
    if (rc == QC_OK && memcmp(out->cp.genesis_hash.b, genesis_hash->b, QC_HASH_BYTES) != 0) {
        char got[65], want[65];
        WHY("checkpoint names genesis %s, the genesis file given is %s",
            qc_hash_hex(got, &out->cp.genesis_hash), qc_hash_hex(want, genesis_hash));
        rc = QC_ERR_INVALID;
    }
    bool signed_by[QC_VALIDATORS_MAX];
    uint32_t valid = 0;
    if (rc == QC_OK) {
        note_validator_verifiers(v, chain_id, vs);
        rc = note_verify(n, v, vs->n, signed_by, &valid, why, why_cap);
    }
    if ((rc == QC_OK || rc == QC_ERR_QUORUM) && valid < qc_quorum(vs->n)) {
        WHY("%u valid validator signatures, quorum is %u", valid, qc_quorum(vs->n));
        rc = QC_ERR_QUORUM;
    }
    if (rc == QC_OK) collect_signers(n, v, signed_by, vs->n, out);
    free(n);
    free(v);
    if (rc != QC_OK) memset(out, 0, sizeof *out);
    return rc;
}
