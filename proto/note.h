/* note.h - C2SP signed notes (c2sp.org/signed-note) and transparency-log checkpoints
 * (c2sp.org/tlog-checkpoint) with Ed25519 signature lines, as qchain's validators publish them:
 *
 *     <chain id>\n<record-log size>\n<base64 record-log root>\ngenesis <64 hex>\n
 *     \n
 *     — <chain id>/<city> base64(key id || Ed25519 signature over the note text)\n
 *     ... one line per signing validator
 *
 * The key name of a validator is "<chain id>/<city>" and its key ID the first four bytes of
 * SHA-256(key name || 0x0A || 0x01 || node public key), big-endian (signed-note §Signatures,
 * type 0x01 = Ed25519). A checkpoint is "quorum-signed" when at least qc_quorum(n) distinct
 * validators' signatures verify. Signatures are over the note text itself, with no qchain
 * domain-separation context: the spec fixes the signed bytes, and a note's first line (the
 * origin, our chain id) plus the note's own syntax keep it apart from every qchain statement,
 * which all start with a "qchain/v1/..." context and a 0x00 byte. The one extension line
 * (tlog-checkpoint allows them after the root) names the chain's genesis hash, so a note
 * verified on its own, with no block header, is bound to the exact genesis file: another file
 * with the same chain id and keys does not open it. docs/CHECKPOINTS.md.
 *
 * Everything here is a pure function over caller memory: no I/O, no allocation except where a
 * function says it returns a malloc'd buffer. */
#ifndef QC_NOTE_H
#define QC_NOTE_H

#include "fmt.h"

#define NOTE_BYTES_MAX (64u << 10)   /* a whole signed note */
#define NOTE_SIGS_MAX 100            /* signature lines in one note (spec: accept >= 16) */
#define NOTE_KEY_NAME_MAX (QC_CHAIN_ID_MAX + 1 + QC_MEMBER_NAME_MAX) /* "<chain>/<city>" */
#define NOTE_VERIFIERS_MAX 128       /* known keys given to note_verify at once */
#define NOTE_ED25519 0x01            /* signed-note signature type of Ed25519 */
#define NOTE_GENESIS_PREFIX "genesis " /* the extension line: prefix, then 64 lowercase hex */
/* "<chain id>\n<20 digits>\n<44 base64>\ngenesis <64 hex>\n" and a NUL */
#define NOTE_CHECKPOINT_TEXT_MAX \
    (QC_CHAIN_ID_MAX + 1 + 20 + 1 + 44 + 1 + (sizeof NOTE_GENESIS_PREFIX - 1) + 64 + 1 + 1)

/* ---- signed notes ------------------------------------------------------------------------ */

/* One signature line of a parsed note. Pointers borrow from the parsed message. */
typedef struct {
    const char *name;            /* key name, not NUL-terminated */
    size_t name_len;
    uint32_t key_id;             /* first four decoded bytes, big-endian */
    bool is_ed25519_len;         /* the signature after the key id is exactly 64 bytes */
    qc_sig_t sig;                /* those 64 bytes when is_ed25519_len */
} note_sigline_t;

/* A parsed (not yet verified) note: the text and its signature lines, in order. */
typedef struct {
    const char *text;            /* borrowed: the note text, including its final newline */
    size_t text_len;
    uint32_t sig_count;          /* 1..NOTE_SIGS_MAX */
    note_sigline_t sigs[NOTE_SIGS_MAX];
} note_t;

/* A known Ed25519 key: name, key id (note_key_id of the two) and public key. */
typedef struct {
    char name[NOTE_KEY_NAME_MAX + 1];
    uint32_t key_id;
    qc_pubkey_t pk;
} note_verifier_t;

/* SHA-256(name || 0x0A || 0x01 || pk)[:4], big-endian. name is NUL-terminated, borrowed. */
uint32_t note_key_id(const char *name, const qc_pubkey_t *pk);
/* Fills v for name (copied; QC_ERR_INVALID if empty, longer than NOTE_KEY_NAME_MAX, or holding
 * a space, '+' or a control character) and pk. */
int note_verifier_init(note_verifier_t *v, const char *name, const qc_pubkey_t *pk);

/* Strictly parses msg (len bytes, borrowed; *out points into it): valid UTF-8 with no control
 * character but newline; a text ending in newline, separated by the last blank line from one
 * or more lines "— <name> <base64>\n" whose name is a valid key name and whose base64 is
 * canonical standard base64 of at least 5 bytes. QC_OK, QC_ERR_TOOBIG (over NOTE_BYTES_MAX or
 * NOTE_SIGS_MAX lines) or QC_ERR_INVALID, with a sentence in why (may be NULL). */
int note_parse(const char *msg, size_t len, note_t *out, char *why, size_t why_cap);

/* Checks n's signatures against the known keys verifiers[0..count) (borrowed; count at most
 * NOTE_VERIFIERS_MAX). A line whose
 * name and key id both match a known key must verify over the note text, or the whole note is
 * refused (QC_ERR_SIGNATURE, as signed-note recommends); lines of unknown keys, including
 * those sharing only a name or only an id with a known key, are ignored; repeated lines by one
 * key count once. signed_by (count entries, may be NULL) marks the keys with a valid
 * signature; *valid (may be NULL) counts them. QC_ERR_QUORUM when no known key signed
 * (signed-note: such a note MUST be rejected). */
int note_verify(const note_t *n, const note_verifier_t *verifiers, size_t count,
                bool *signed_by, uint32_t *valid, char *why, size_t why_cap);

/* Ed25519 signature over the note text (text_len bytes, borrowed). */
void note_sign(qc_sig_t *sig, const qc_seckey_t *sk, const char *text, size_t text_len);
/* QC_OK or QC_ERR_SIGNATURE. */
int note_sig_verify(const qc_sig_t *sig, const qc_pubkey_t *pk, const char *text,
                    size_t text_len);
/* Appends the line "— <name> <base64(key_id || sig)>\n" plus a NUL to out (cap bytes);
 * *len (in: bytes already in out; out: new length without the NUL). QC_ERR_TOOBIG if full. */
int note_append_sigline(char *out, size_t cap, size_t *len, const char *name, uint32_t key_id,
                        const qc_sig_t *sig);

/* ---- checkpoints ------------------------------------------------------------------------- */

/* The three mandatory lines of a tlog-checkpoint and qchain's one extension line. */
typedef struct {
    char origin[QC_CHAIN_ID_MAX + 1]; /* the chain id */
    uint64_t size;                    /* record-log size, at most MERKLE_SIZE_MAX */
    qc_hash_t root;                   /* RFC 6962 root of the record log at that size */
    qc_hash_t genesis_hash;           /* the extension line "genesis <64 lowercase hex>" */
} note_checkpoint_t;

/* A checkpoint with the validators' signatures over its text. */
typedef struct {
    note_checkpoint_t cp;
    uint32_t signer_count;
    uint32_t signers[QC_VALIDATORS_MAX]; /* validator indexes, ascending, distinct */
    qc_sig_t sigs[QC_VALIDATORS_MAX];    /* sigs[i] by signers[i] */
} note_signed_t;

/* The note text "<origin>\n<size>\n<base64 root>\ngenesis <hex genesis hash>\n" into out
 * (NUL-terminated); *len its length. QC_ERR_INVALID if origin is not a valid chain id or size > MERKLE_SIZE_MAX. */
int note_checkpoint_text(const note_checkpoint_t *c, char out[NOTE_CHECKPOINT_TEXT_MAX],
                         size_t *len);
/* Strict parse of a checkpoint note text: exactly four lines, origin a valid chain id, size
 * decimal without leading zeros and <= MERKLE_SIZE_MAX, root 44 chars of canonical base64 of
 * 32 bytes, then "genesis " and 64 lowercase hex; any other extension line is refused (qchain
 * never writes one). QC_OK or QC_ERR_INVALID. */
int note_checkpoint_parse(const char *text, size_t len, note_checkpoint_t *c, char *why,
                          size_t why_cap);

/* Key name "<chain id>/<member name>" of validator `index` of vs (NUL-terminated into out). */
void note_validator_key_name(char out[NOTE_KEY_NAME_MAX + 1], const char *chain_id,
                             const qc_validator_set_t *vs, uint32_t index);
/* The verifiers (node keys under their key names) of every validator, by index. */
void note_validator_verifiers(note_verifier_t out[QC_VALIDATORS_MAX], const char *chain_id,
                              const qc_validator_set_t *vs);

/* Formats s as a signed note (text, blank line, one signature line per signer in s's order).
 * *out is malloc'd, NUL-terminated, owned by the caller. QC_ERR_INVALID if a signer index is
 * out of range or the checkpoint does not format. */
int note_signed_format(const note_signed_t *s, const char *chain_id,
                       const qc_validator_set_t *vs, char **out, size_t *len);

/* Opens a signed checkpoint note: note_parse, note_checkpoint_parse of its text, origin must
 * equal chain_id and the genesis line genesis_hash (the hash of the genesis file the caller
 * holds; a mismatch names both), note_verify against the validators of vs, and at least qc_quorum(vs->n)
 * distinct validators must have signed. On QC_OK *out holds the checkpoint and the valid
 * signatures (signers ascending). Errors: QC_ERR_INVALID / QC_ERR_TOOBIG (malformed, wrong
 * origin), QC_ERR_SIGNATURE (a validator's signature fails to verify), QC_ERR_QUORUM ("2 valid
 * validator signatures, quorum is 3", also for none), each with a sentence in why. */
int note_signed_open(const char *msg, size_t len, const char *chain_id,
                     const qc_hash_t *genesis_hash, const qc_validator_set_t *vs,
                     note_signed_t *out, char *why, size_t why_cap);

#endif
