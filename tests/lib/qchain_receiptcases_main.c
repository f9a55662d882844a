/* qchain_receiptcases_main.c - writes, as one JSON document on stdout, the cases a second
 * receipt verifier (web/verify.js, run by tests/web/run_cases.mjs and in a browser) must judge
 * exactly as the C verifier does, each with the C verdict:
 *
 *   {"genesis": "<the nine-member chain's genesis file>",
 *    "cases": [{"name", "receipt": {...} (or "receipt_text": "<the receipt file>"),
 *               "digest"?: hex, "genesis"?: "<another genesis file>",
 *               "expect_ok": bool, "expect_class"?: code, "reason"?: C's sentence,
 *               "expect"?: {"city", "height", "time_ms", "epoch", "signers", "quorum",
 *                           "validators"}}],
 *    "ed25519": [{"name", "pk", "msg", "sig", "expect": bool}],
 *    "genesis_cases": [{"name", "genesis_hex", "expect_valid": bool, "hash"?, "reason"?}]}
 *
 * The receipt cases are tests/test_receipt.c's (tests/lib/receiptfx): every genuine receipt of
 * its two chains, its tamper table on the receipts of log indexes 1, 2 and 5, its epoch tamper
 * table, a file digest that is not the anchored one, and the §10.3 example chain's receipts
 * against genesis files that differ in one unsigned byte. expect_ok and the reason are
 * receipt_from_json + receipt_verify's; expect_class maps the C failure to web/verify.js's
 * codes by the step of PROTOCOL.md §10.2 that failed (a parse failure is 'format'). The
 * ed25519 cases are PROTOCOL.md §1.2's vectors (read from the document), variants of them and
 * signatures by the test keys, with libsodium's verdict; the genesis cases are the §10.3
 * genesis file and edits of it, with genesis_parse's verdict. `--exhaustive` adds every bit
 * flip of every hex byte and every field given another JSON type, for a receipt of each chain.
 * Run from the repository root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "receiptex.h"
#include "receiptfx.h"
#include "testkeys.h"

#define DOC_PATH "docs/PROTOCOL.md"
#define WHY_CAP 512

typedef struct {
    json_t *cases;
    const genesis_t *genesis;    /* the case's genesis */
    const char *genesis_text;    /* NULL: the document's top-level genesis */
} sink_t;

/* ---------------------------------------------------------------- verdict classes */

/* web/verify.js's failure code for the C reason of a failure at verification (§10.2 step),
 * NULL for a reason this program does not know (a new message: classify it here). */
static const char *verify_class(const char *why) {
    static const struct { const char *prefix, *contains, *code; } k_classes[] = {
        {"receipt is for chain ", NULL, "genesis"},
        {"receipt names genesis ", NULL, "genesis"},
        {"block header names genesis ", NULL, "genesis"},
        {"the transaction is for chain ", NULL, "genesis"},
        {"membership step ", NULL, "membership"},
        {"the switch block of epoch ", NULL, "membership"},
        {"block is in epoch ", NULL, "membership"},
        {"block header names a different validator set ", NULL, "header"},
        {"block ", " is before epoch ", "header"},
        {"certificate is for ", NULL, "certificate"},
        {"vote ", " names validator ", "certificate"},
        {"two votes by ", NULL, "certificate"},
        {"signature by ", NULL, "certificate"},
        {"", " valid signatures, quorum is ", "certificate"},
        {"the transaction's seal signature is invalid", NULL, "seal"},
        {"the transaction is not signed by a member city's seal key", NULL, "seal"},
        {"the transaction does not anchor this digest", NULL, "record"},
        {"document digest does not match", NULL, "digest"},
        {"inclusion proof does not lead", NULL, "inclusion"},
    };
    for (size_t i = 0; i < sizeof k_classes / sizeof k_classes[0]; i++)
        if (strncmp(why, k_classes[i].prefix, strlen(k_classes[i].prefix)) == 0 &&
            (k_classes[i].contains == NULL || strstr(why, k_classes[i].contains) != NULL))
            return k_classes[i].code;
    return NULL;
}

/* Lowercase hex of p[0..n) as a JSON string (new reference); set: obj.key = v (stolen). */
static json_t *hex_json(const uint8_t *p, size_t n) {
    json_t *j = receipt_hex_json(p, n);
    QC_ASSERT(j != NULL);
    return j;
}

static void set(json_t *obj, const char *key, json_t *v) {
    QC_ASSERT(v != NULL && json_object_set_new(obj, key, v) == 0);
}

/* Judges receipt (stolen) against s->genesis and file_digest (may be NULL) and appends the case
 * with the C verdict. */
static void add_case(sink_t *s, const char *name, json_t *receipt, const qc_hash_t *file_digest) {
    char why[WHY_CAP];
    receipt_result_t res;
    receiptfx_outcome_t got = receiptfx_judge_genesis(s->genesis, receipt, file_digest, why,
                                                      sizeof why, &res);
    json_t *c = json_object();
    QC_ASSERT(c != NULL);
    set(c, "name", json_string(name));
    set(c, "receipt", receipt);
    if (file_digest) set(c, "digest", hex_json(file_digest->b, 32));
    if (s->genesis_text) set(c, "genesis", json_string(s->genesis_text));
    set(c, "expect_ok", json_boolean(got == RECEIPTFX_VALID));
    if (got == RECEIPTFX_VALID) {
        set(c, "expect", json_pack("{s:s, s:I, s:I, s:I, s:i, s:i, s:i}", "city", res.city_name,
                                   "height", (json_int_t)res.height, "time_ms",
                                   (json_int_t)res.time_ms, "epoch", (json_int_t)res.epoch,
                                   "signers", (int)res.signers, "quorum", (int)res.quorum,
                                   "validators", (int)res.members));
    } else {
        const char *code = got == RECEIPTFX_AT_PARSE ? "format" : verify_class(why);
        if (code == NULL) {
            fprintf(stderr, "qchain_receiptcases: %s: no class for \"%s\"\n", name, why);
            exit(1);
        }
        set(c, "expect_class", json_string(code));
        set(c, "reason", json_string(why));
    }
    QC_ASSERT(json_array_append_new(s->cases, c) == 0);
}

/* ---------------------------------------------------------------- the receipt cases */

/* The tamper table on the receipt of leaf log_index of f's chain. */
static void add_table(sink_t *s, receiptfx_t *f, uint64_t log_index,
                      const receiptfx_tamper_t *table, size_t count, const char *chain) {
    json_t *genuine = receiptfx_receipt(f, log_index);
    for (size_t i = 0; i < count; i++) {
        json_t *j = json_deep_copy(genuine);
        receiptfx_apply(f, j, &table[i]);
        char name[256];
        snprintf(name, sizeof name, "%s leaf %llu: %s", chain, (unsigned long long)log_index,
                 table[i].name);
        add_case(s, name, j, NULL);
    }
    json_decref(genuine);
}

/* Every leaf's genuine receipt, with the document digest given. */
static void add_genuine(sink_t *s, receiptfx_t *f, const char *chain) {
    for (uint64_t i = 0; i < f->n_leaves; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s leaf %llu: genuine", chain, (unsigned long long)i);
        add_case(s, name, receiptfx_receipt(f, i), &f->digest[i]);
    }
}

/* The nine-member chain: genuine receipts, the tamper table at leaves 1, 2 and 5 (records of
 * multi-record transactions; 5 is a right-edge path), and documents that are not the
 * anchored one. */
static void add_chain_cases(sink_t *s, receiptfx_t *f) {
    add_genuine(s, f, "chain");
    static const uint64_t k_leaves[] = {1, 2, 5};
    for (size_t i = 0; i < sizeof k_leaves / sizeof k_leaves[0]; i++)
        add_table(s, f, k_leaves[i], receiptfx_tampers, receiptfx_tampers_count, "chain");
    qc_hash_t other = f->digest[3];
    other.b[0] ^= 0x80;
    add_case(s, "chain leaf 3: a document with another digest", receiptfx_receipt(f, 3), &other);
    add_case(s, "chain leaf 3: the document of leaf 4", receiptfx_receipt(f, 3), &f->digest[4]);
}

/* base edited: from NULL keeps it, "" appends `to`, else its first `from` becomes `to`
 * (malloc'd; caller frees). */
static char *edited_text(const char *base, const char *from, const char *to) {
    if (from != NULL && from[0] != '\0') return receiptfx_replaced(base, from, to);
    size_t cap = strlen(base) + (from ? strlen(to) : 0) + 1;
    char *out = malloc(cap);
    QC_ASSERT(out != NULL);
    snprintf(out, cap, "%s%s", base, from ? to : "");
    return out;
}

/* The epoch chain: genuine receipts, the epoch tamper table, and a receipt judged against a
 * genesis file with the same members but another threshold (another chain). */
static void add_epoch_cases(sink_t *s, receiptfx_t *f) {
    sink_t es = {s->cases, &f->node->genesis, f->genesis_json};
    add_genuine(&es, f, "epochs");
    add_table(&es, f, RECEIPTFX_E_LEAF_EPOCH2, receiptfx_epoch_tampers,
              receiptfx_epoch_tampers_count, "epochs");
    char *other_text = receiptfx_replaced(f->genesis_json, "\"threshold\": 3", "\"threshold\": 4");
    genesis_t *other = calloc(1, sizeof *other);
    QC_ASSERT(other != NULL);
    QC_ASSERT(genesis_parse(other_text, strlen(other_text), other, NULL, 0) == QC_OK);
    sink_t os = {s->cases, other, other_text};
    add_case(&os, "epochs leaf 2: a genesis with another threshold", receiptfx_receipt(f, 2), NULL);
    json_t *j = receiptfx_receipt(f, 2);
    set(j, "genesis_hash", hex_json(other->hash.b, 32));
    add_case(&os, "epochs leaf 2: a genesis with another threshold, named by the receipt", j, NULL);
    free(other);
    free(other_text);
}

/* The §10.3 example chain against its genesis file, and against files that differ in one
 * unsigned detail, with the receipt's own genesis_hash left or edited to name the other file
 * (test_receipt.c test_other_genesis_same_keys_refused). */
static void add_other_genesis_cases(sink_t *s, const receiptex_t *x) {
    genesis_t *g = calloc(1, sizeof *g);
    QC_ASSERT(g != NULL);
    /* edit 0: the published file; edit e: receiptfx_genesis_edits[e - 1] */
    for (size_t e = 0; e <= RECEIPTFX_GENESIS_EDITS; e++) {
        const char *const *edit = e ? receiptfx_genesis_edits[e - 1] : NULL;
        char *text = edited_text(x->genesis_json, edit ? edit[0] : NULL, edit ? edit[1] : NULL);
        QC_ASSERT(genesis_parse(text, strlen(text), g, NULL, 0) == QC_OK);
        sink_t gs = {s->cases, g, text};
        for (uint64_t i = 0; i < RECEIPTEX_LEAVES; i++) {
            for (int named = 0; named < (e ? 2 : 1); named++) {
                char *rtext = receiptex_json(x, i);
                json_t *j = rtext ? json_loads(rtext, JSON_REJECT_DUPLICATES, NULL) : NULL;
                QC_ASSERT(j != NULL);
                free(rtext);
                if (named) set(j, "genesis_hash", hex_json(g->hash.b, 32));
                char name[256];
                snprintf(name, sizeof name, "example leaf %llu: %s%s", (unsigned long long)i,
                         edit ? edit[1] : "the published genesis",
                         named ? " (named by the receipt)" : "");
                add_case(&gs, name, j, NULL);
            }
        }
        free(text);
    }
    free(g);
}

/* Receipts as text, for what only the text shows (qchain verify loads a file with
 * json_loadb(JSON_REJECT_DUPLICATES)): duplicate keys, numbers jansson refuses or reads as
 * reals, escapes, a byte order mark, the "status" member a status proof adds. Each edit
 * replaces the first `from` in the compact text of leaf 2's receipt; from "" appends, NULL
 * keeps the text. */
static void add_text_cases(sink_t *s, receiptfx_t *f) {
    static const char *const edits[][3] = {
        {"the receipt's text", NULL, NULL},
        {"the text indented", NULL, "indent"},
        {"a duplicate key", "{\"qchain_receipt\":1,",
         "{\"qchain_receipt\":1,\"qchain_receipt\":1,"},
        {"a duplicate key in record", "\"log_index\":2", "\"log_index\":2,\"log_index\":2"},
        {"the version as 1e0", "\"qchain_receipt\":1,", "\"qchain_receipt\":1e0,"},
        {"the version as 1.0", "\"qchain_receipt\":1,", "\"qchain_receipt\":1.0,"},
        {"the version as +1", "\"qchain_receipt\":1,", "\"qchain_receipt\":+1,"},
        {"tree_size beyond 64 bits", "\"tree_size\":4", "\"tree_size\":18446744073709551616"},
        {"tree_size 2^63", "\"tree_size\":4", "\"tree_size\":9223372036854775808"},
        {"log_index as -0", "\"log_index\":2", "\"log_index\":-0"},
        {"an escaped key", "\"chain_id\"", "\"chain\\u005fid\""},
        {"an escaped letter in the chain id", "\"receipt-test\"", "\"r\\u0065ceipt-test\""},
        {"a chain id with \\u0000", "\"receipt-test\"", "\"receipt\\u0000test\""},
        {"with the status a status proof adds", "{\"qchain_receipt\":1,",
         "{\"status\":{\"any\":[1.5]},\"qchain_receipt\":1,"},
        {"trailing garbage", "", "]"},
        {"trailing whitespace", "", " \n"},
        {"a byte order mark", NULL, "bom"},
    };
    json_t *genuine = receiptfx_receipt(f, 2);
    char *compact = json_dumps(genuine, JSON_COMPACT);
    char *indented = json_dumps(genuine, JSON_INDENT(2));
    QC_ASSERT(compact != NULL && indented != NULL);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const char *const *e = edits[i];
        bool bom = e[2] && strcmp(e[2], "bom") == 0, indent = e[2] && strcmp(e[2], "indent") == 0;
        char *text = e[1] ? edited_text(compact, e[1], e[2])
                          : edited_text(indent ? indented : compact, bom ? "" : NULL, "");
        if (bom) {
            char *with_bom = receiptfx_replaced(text, "{", "\xef\xbb\xbf{");
            free(text);
            text = with_bom;
        }
        char name[160];
        snprintf(name, sizeof name, "chain leaf 2 as text: %s", e[0]);
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (j == NULL) {
            json_t *c = json_pack("{s:s, s:s, s:b, s:s, s:s}", "name", name, "receipt_text", text,
                                  "expect_ok", 0, "expect_class", "format", "reason",
                                  "the receipt is not valid JSON");
            QC_ASSERT(c != NULL && json_array_append_new(s->cases, c) == 0);
        } else {
            add_case(s, name, j, NULL);
            json_t *c = json_array_get(s->cases, json_array_size(s->cases) - 1);
            QC_ASSERT(json_object_del(c, "receipt") == 0);
            set(c, "receipt_text", json_string(text));
        }
        free(text);
    }
    free(compact);
    free(indented);
    json_decref(genuine);
}

/* ---------------------------------------------------------------- transactions of every type */

/* Transactions of every type on RECEIPTFX_CHAIN, signed by jinan's keys (seal; admin for
 * GOVERN): the bodies a receipt may carry that are not the ANCHOR it proves. txs[] gets them
 * (caller frees each); returns the count. */
static size_t build_txs(qc_tx_t txs[16]) {
    qc_seckey_t seal, admin;
    qc_pubkey_t seal_pk;
    testkeys_keypair(TESTKEY_SEAL, 0, &seal_pk, &seal);
    testkeys_keypair(TESTKEY_ADMIN, 0, NULL, &admin);
    size_t n = 0;
    qc_txb_t b;
    qc_hash_t d1, d2;
    memset(d1.b, 0x5a, 32);
    memset(d2.b, 0xa5, 32);
    QC_ASSERT(qc_txb_init(&b, RECEIPTFX_CHAIN, &seal_pk, 70, 900) == QC_OK);
    QC_ASSERT(qc_txb_add_record(&b, &d1, "sealed-document", "济南市-001", &d2) == QC_OK);
    QC_ASSERT(qc_txb_add_record(&b, &d2, "licence", NULL, NULL) == QC_OK);
    QC_ASSERT(qc_txb_finish(&b, &seal, &txs[n++]) == QC_OK);
    qc_gov_op_t *op = calloc(1, sizeof *op);
    QC_ASSERT(op != NULL);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = 500;
    op->change_count = 5;
    qc_change_t *c = op->changes;
    c[0] = (qc_change_t){.kind = QC_CHANGE_ADD, .name = "weifang", .display_name = "Weifang 潍坊",
                         .p2p_address = "10.0.1.10:7100", .api_address = "[::1]:8100"};
    memset(c[0].node_key.b, 1, 32), memset(c[0].seal_key.b, 2, 32), memset(c[0].admin_key.b, 3, 32);
    c[1] = (qc_change_t){.kind = QC_CHANGE_REMOVE, .name = "heze"};
    c[2] = (qc_change_t){.kind = QC_CHANGE_ROTATE, .name = "zibo", .role = QC_ROLE_SEAL};
    c[3] = (qc_change_t){.kind = QC_CHANGE_ADDRESSES, .name = "taian", .p2p_address = "a:1",
                         .api_address = "b:2"};
    c[4] = (qc_change_t){.kind = QC_CHANGE_THRESHOLD, .threshold = 5};
    QC_ASSERT(qc_gov_tx_build(RECEIPTFX_CHAIN, &admin, 71, 900, op, &txs[n++]) == QC_OK);
    *op = (qc_gov_op_t){.op = QC_GOV_APPROVE, .proposal = d1};
    QC_ASSERT(qc_gov_tx_build(RECEIPTFX_CHAIN, &admin, 72, 900, op, &txs[n++]) == QC_OK);
    free(op);
    static const qc_life_op_t life[3] = {
        {.digest = {{1}}, .code = 2, .note = "ok 好"},
        {.digest = {{1}}, .code = 3},
        {.digest = {{1}}, .new_digest = {{2}}},
    };
    static const uint16_t types[3] = {QC_TX_ENDORSE, QC_TX_REVOKE, QC_TX_SUPERSEDE};
    for (int i = 0; i < 3; i++)
        QC_ASSERT(qc_life_tx_build(RECEIPTFX_CHAIN, types[i], &seal, 73 + (uint64_t)i, 900,
                                   &life[i], &txs[n++]) == QC_OK);
    static const qc_share_op_t share[6] = {
        {.op = QC_SHARE_DATASET, .name = "air-quality 空气", .terms_kind = QC_TERMS_TEXT,
         .terms = "cite\nthe source"},
        {.op = QC_SHARE_DATASET, .name = "rivers", .terms_kind = QC_TERMS_DIGEST},
        {.op = QC_SHARE_REQUEST, .code = 2, .purpose = "flood model", .from_height = 10,
         .until_height = 20},
        {.op = QC_SHARE_GRANT},
        {.op = QC_SHARE_DENY, .code = 4},
        {.op = QC_SHARE_ACCESS},
    };
    for (int i = 0; i < 6; i++)
        QC_ASSERT(qc_share_tx_build(RECEIPTFX_CHAIN, &seal, 80 + (uint64_t)i, 900, &share[i],
                                    &txs[n++]) == QC_OK);
    return n;
}

/* The receipt of leaf 2 carrying body (len bytes) and sig instead of its own transaction. */
static json_t *with_body(json_t *genuine, const uint8_t *body, size_t len, const qc_sig_t *sig) {
    json_t *j = json_deep_copy(genuine);
    QC_ASSERT(j != NULL);
    receiptfx_hex_set(j, "tx.body", body, len);
    receiptfx_hex_set(j, "tx.sig", sig->b, QC_SIG_BYTES);
    return j;
}

/* Receipts carrying a transaction of every type (well-formed and signed, so they fail at the
 * signer or the record, not the parser) and, with exhaustive, every byte of each body changed
 * (XOR 0x01, set to 0x00, set to 0xff) and every truncation: the strict decoders of PROTOCOL.md
 * §3 (proto/fmt*.c) against verify.js's. */
static void add_body_cases(sink_t *s, receiptfx_t *f, bool exhaustive) {
    qc_tx_t txs[16];
    size_t n = build_txs(txs);
    json_t *genuine = receiptfx_receipt(f, 2);
    for (size_t t = 0; t < n; t++) {
        const qc_tx_t *tx = &txs[t];
        char name[160];
        snprintf(name, sizeof name, "chain leaf 2 carrying tx type %u (%zu)", tx->type, t);
        add_case(s, name, with_body(genuine, tx->body, tx->body_len, &tx->sig), NULL);
        uint8_t *b = malloc(tx->body_len);
        QC_ASSERT(b != NULL);
        for (size_t at = 0; exhaustive && at < tx->body_len; at++) {
            static const struct {
                const char *what;
                uint8_t xor_mask, set;
                bool use_set;
            } k_edits[] = {{"xor 01", 0x01, 0, false}, {"set 00", 0, 0x00, true},
                           {"set ff", 0, 0xff, true}};
            for (size_t e = 0; e < sizeof k_edits / sizeof k_edits[0]; e++) {
                memcpy(b, tx->body, tx->body_len);
                b[at] = k_edits[e].use_set ? k_edits[e].set
                                           : (uint8_t)(b[at] ^ k_edits[e].xor_mask);
                if (b[at] == tx->body[at]) continue;
                snprintf(name, sizeof name, "chain leaf 2 carrying tx %zu, byte %zu %s", t, at,
                         k_edits[e].what);
                add_case(s, name, with_body(genuine, b, tx->body_len, &tx->sig), NULL);
            }
            snprintf(name, sizeof name, "chain leaf 2 carrying tx %zu cut to %zu bytes", t, at);
            add_case(s, name, with_body(genuine, tx->body, at, &tx->sig), NULL);
        }
        free(b);
    }
    for (size_t t = 0; t < n; t++) qc_tx_free(&txs[t]);
    json_decref(genuine);
}

/* ---------------------------------------------------------------- exhaustive cases */

/* The exhaustive tampering's sink: the cases, the receipt's tag, the genuine receipt. */
typedef struct {
    sink_t *s;
    const char *tag;
    json_t *genuine;
} variants_t;

static void add_variant(void *ctx, const char *what, json_t *variant, bool removed) {
    (void)removed;
    variants_t *v = ctx;
    char name[400];
    snprintf(name, sizeof name, "%s: %s", v->tag, what);
    add_case(v->s, name, variant, NULL);
}

/* Every hex string of the receipt, each byte flipped (test_receipt.c's flips, over every hex
 * field). */
static void flip_hex(void *ctx, const char *path, json_t *value) {
    variants_t *v = ctx;
    size_t len = json_is_string(value) ? json_string_length(value) / 2 : 0;
    uint8_t *probe = malloc(len + 1);
    QC_ASSERT(probe != NULL);
    bool is_hex = len > 0 && qc_hex_decode(probe, len, json_string_value(value)) == QC_OK;
    free(probe);
    if (is_hex) receiptfx_flip_each(v->genuine, path, add_variant, v);
}

/* Every bit flip of every hex byte and every field given another JSON type, for the receipt of
 * leaf log_index: the exhaustive tampering of test_receipt.c, as cases. */
static void add_exhaustive(sink_t *s, receiptfx_t *f, uint64_t log_index, const char *tag) {
    json_t *genuine = receiptfx_receipt(f, log_index);
    variants_t v = {s, tag, genuine};
    receiptfx_walk(genuine, "", flip_hex, &v);
    receiptfx_wrong_types(genuine, "", add_variant, &v);
    json_decref(genuine);
}

/* ---------------------------------------------------------------- Ed25519 */

static void add_ed25519(json_t *arr, const char *name, const uint8_t *pk, const uint8_t *sig,
                        const uint8_t *msg, size_t msg_len) {
    bool ok = crypto_sign_verify_detached(sig, msg, msg_len, pk) == 0;
    QC_ASSERT(json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:b}", "name", name,
                                                   "pk", hex_json(pk, 32), "msg",
                                                   hex_json(msg, msg_len), "sig",
                                                   hex_json(sig, 64), "expect", ok)) == 0);
}

/* The base point's order L, little-endian. */
static const uint8_t k_order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c,
                                    0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, [31] = 0x10};

/* Variants of one §1.2 vector that probe the rules' edges (libsodium decides each). */
static void add_variants(json_t *arr, int number, const uint8_t *pk, const uint8_t *sig,
                         const uint8_t *msg, size_t msg_len) {
    uint8_t p[32], s[64];
    char name[96];
    memcpy(s, sig, 64);
    memcpy(s + 32, k_order, 32); /* S = L */
    snprintf(name, sizeof name, "vector %d with S = L", number);
    add_ed25519(arr, name, pk, s, msg, msg_len);
    memcpy(s, sig, 64);
    s[31] ^= 0x80; /* R's sign bit */
    snprintf(name, sizeof name, "vector %d with R's bit 255 flipped", number);
    add_ed25519(arr, name, pk, s, msg, msg_len);
    memcpy(p, pk, 32);
    p[31] ^= 0x80; /* A's sign bit: the negated key (or x = 0 with the bit set) */
    snprintf(name, sizeof name, "vector %d with A's bit 255 flipped", number);
    add_ed25519(arr, name, p, sig, msg, msg_len);
    memcpy(s, sig, 64);
    s[63] ^= 0x20; /* S above L, or another S below it */
    snprintf(name, sizeof name, "vector %d with S's bit 253 flipped", number);
    add_ed25519(arr, name, pk, s, msg, msg_len);
}

/* PROTOCOL.md §1.2's vectors: each block "Ed25519 vector N (…: accept|reject), public key,
 * signature, message:" and a fence of hex (32 + 64 bytes, then the message); checks that
 * libsodium gives the verdict the title states, then adds the vector and its variants. */
static void add_doc_vectors(json_t *arr) {
    uint8_t *doc = NULL;
    size_t len = 0;
    if (qc_file_read(DOC_PATH, 1u << 22, &doc, &len) != QC_OK) {
        fprintf(stderr, "qchain_receiptcases: cannot read %s (run from the repository root)\n",
                DOC_PATH);
        exit(1);
    }
    doc = realloc(doc, len + 1);
    QC_ASSERT(doc != NULL);
    doc[len] = '\0';
    int found = 0;
    for (const char *p = (const char *)doc; (p = strstr(p, "\nEd25519 vector ")) != NULL; p++) {
        const char *title = p + 1, *eol = strchr(title, '\n');
        if (eol == NULL || eol - title < 31 ||
            strncmp(eol - 31, "public key, signature, message:", 31) != 0 ||
            strncmp(eol + 1, "```\n", 4) != 0)
            continue;
        const char *end = strstr(eol + 5, "```");
        QC_ASSERT(end != NULL);
        uint8_t bytes[512];
        size_t n = 0;
        for (const char *h = eol + 5; h + 1 < end; h++) {
            if (*h == '\n') continue;
            char pair[3] = {h[0], h[1], 0};
            QC_ASSERT(n < sizeof bytes && qc_hex_decode(&bytes[n++], 1, pair) == QC_OK);
            h++;
        }
        QC_ASSERT(n > 96);
        int number = atoi(title + strlen("Ed25519 vector "));
        char name[160];
        snprintf(name, sizeof name, "%.*s", (int)(strstr(title, "), ") + 1 - title), title);
        bool accept = crypto_sign_verify_detached(bytes + 32, bytes + 96, n - 96, bytes) == 0;
        if (accept != (strstr(name, ": accept)") != NULL)) {
            fprintf(stderr, "qchain_receiptcases: libsodium disagrees with %s\n", name);
            exit(1);
        }
        add_ed25519(arr, name, bytes, bytes + 32, bytes + 96, n - 96);
        add_variants(arr, number, bytes, bytes + 32, bytes + 96, n - 96);
        found++;
    }
    free(doc);
    if (found != 8) {
        fprintf(stderr, "qchain_receiptcases: %d vectors in %s §1.2, expected 8\n", found,
                DOC_PATH);
        exit(1);
    }
}

/* Signatures by the test seal keys over messages of many lengths, and each with one bit of
 * R, S or the message changed: ordinary signatures for the verifiers' arithmetic. */
static void add_test_key_signatures(json_t *arr) {
    for (uint32_t i = 0; i < 24; i++) {
        qc_pubkey_t pk;
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_SEAL, i % 9, &pk, &sk);
        uint8_t msg[200], sig[64];
        size_t n = (size_t)i * 8;
        for (size_t k = 0; k < n; k++) msg[k] = (uint8_t)(k * 31 + i);
        crypto_sign_detached(sig, NULL, msg, n, sk.b);
        char name[96];
        snprintf(name, sizeof name, "test seal key %u over %zu bytes", i % 9, n);
        add_ed25519(arr, name, pk.b, sig, msg, n);
        sig[i % 64] ^= (uint8_t)(1u << (i % 8));
        snprintf(name, sizeof name, "test seal key %u over %zu bytes, sig byte %u changed", i % 9,
                 n, i % 64);
        add_ed25519(arr, name, pk.b, sig, msg, n);
    }
}

/* ---------------------------------------------------------------- genesis files */

static void add_genesis_case(json_t *arr, const char *name, const void *bytes, size_t len) {
    genesis_t *g = calloc(1, sizeof *g);
    QC_ASSERT(g != NULL);
    char why[WHY_CAP] = "";
    bool ok = genesis_parse(bytes, len, g, why, sizeof why) == QC_OK;
    json_t *c = json_pack("{s:s, s:o, s:b}", "name", name, "genesis_hex", hex_json(bytes, len),
                          "expect_valid", ok);
    QC_ASSERT(c != NULL);
    if (ok) set(c, "hash", hex_json(g->hash.b, 32));
    else set(c, "reason", json_string(why));
    QC_ASSERT(json_array_append_new(arr, c) == 0);
    free(g);
}

/* Text edits of the §10.3 genesis file: {name, from, to}; from NULL keeps the file, "" appends. */
static const char *const k_genesis_edits[][3] = {
    {"the published genesis", NULL, NULL},
    {"a key in upper-case hex", "\"node_key\": \"cecc1507dc", "\"node_key\": \"CECC1507DC"},
    {"a key of 63 hex chars", "\"node_key\": \"cecc1507dc", "\"node_key\": \"ecc1507dc"},
    {"version 2", "\"version\": 1", "\"version\": 2"},
    {"version 1.0", "\"version\": 1", "\"version\": 1.0"},
    {"version 1e0", "\"version\": 1", "\"version\": 1e0"},
    {"version 01", "\"version\": 1", "\"version\": 01"},
    {"version -0", "\"version\": 1", "\"version\": -0"},
    {"version \"1\"", "\"version\": 1", "\"version\": \"1\""},
    {"a duplicate key", "\"version\": 1,", "\"version\": 1,\n  \"version\": 1,"},
    {"an unknown field", "\"version\": 1,", "\"version\": 1,\n  \"note\": \"x\","},
    {"consensus renamed", "\"consensus\":", "\"consensus2\":"},
    {"governance not an object", "\"governance\": {\n    \"threshold\": 3\n  }",
     "\"governance\": [3]"},
    {"trailing garbage", "", "x"},
    {"a second document", "", "{}"},
    {"trailing whitespace", "", "\n\t \r\n"},
    {"tabs for indentation", "\n  \"version\"", "\n\t\"version\""},
    {"a display name with an escaped CJK character", "Jinan 济南", "Jinan \\u6d4e南"},
    {"a display name with an escaped surrogate pair", "Jinan 济南", "Jinan \\ud83d\\ude00"},
    {"a display name with a lone high surrogate", "Jinan 济南", "Jinan \\ud83d"},
    {"a display name with a lone low surrogate", "Jinan 济南", "Jinan \\ude00x"},
    {"a display name with \\u0000", "Jinan 济南", "Jinan \\u0000"},
    {"a display name with \\u0001", "Jinan 济南", "Jinan \\u0001"},
    {"a display name with an escaped tab", "Jinan 济南", "Jinan\\t济南"},
    {"a display name with a raw tab", "Jinan 济南", "Jinan\t济南"},
    {"a display name with DEL", "Jinan 济南", "Jinan \x7f"},
    {"a display name with U+0085", "Jinan 济南", "Jinan \\u0085"},
    {"a display name with an escaped slash", "Jinan 济南", "Jinan\\/济南"},
    {"a display name with a bad escape", "Jinan 济南", "Jinan \\x41"},
    {"a display name of 64 bytes", "Jinan 济南",
     "济济济济济济济济济济济济济济济济济济济济济a"},
    {"a display name of 66 bytes", "Jinan 济南",
     "济济济济济济济济济济济济济济济济济济济济济济"},
    {"an empty display name", "\"Jinan 济南\"", "\"\""},
    {"a name in capitals", "\"name\": \"jinan\"", "\"name\": \"Jinan\""},
    {"a name ending in a dash", "\"name\": \"jinan\"", "\"name\": \"jinan-\""},
    {"a name of 33 chars", "\"name\": \"jinan\"",
     "\"name\": \"abcdefghijklmnopqrstuvwxyz0123456\""},
    {"two members named zibo", "\"name\": \"jinan\"", "\"name\": \"zibo\""},
    {"a chain id with a space", "\"shandong-circle-test\"", "\"shandong circle\""},
    {"a chain id of 64 chars", "\"shandong-circle-test\"",
     "\"a123456789b123456789c123456789d123456789e123456789f123456789g123\""},
    {"a chain id of 65 chars", "\"shandong-circle-test\"",
     "\"a123456789b123456789c123456789d123456789e123456789f123456789g1234\""},
    {"genesis time at the maximum", "1794999000000", "253402300799999"},
    {"genesis time past the maximum", "1794999000000", "253402300800000"},
    {"genesis time negative", "1794999000000", "-1"},
    {"genesis time beyond 64 bits", "1794999000000", "99999999999999999999"},
    {"genesis time as a real", "1794999000000", "1.794999e12"},
    {"a p2p address [::1]:7100", "jinan.example.org:7100", "[::1]:7100"},
    {"a p2p address []:7100", "jinan.example.org:7100", "[]:7100"},
    {"a p2p address with port 0", "jinan.example.org:7100", "jinan.example.org:0"},
    {"a p2p address with port 65536", "jinan.example.org:7100", "jinan.example.org:65536"},
    {"a p2p address with port 07100", "jinan.example.org:7100", "jinan.example.org:07100"},
    {"a p2p address with an underscore", "jinan.example.org:7100", "jinan_x.example.org:7100"},
    {"a p2p address without a host", "jinan.example.org:7100", ":7100"},
    {"a p2p address without a port", "jinan.example.org:7100", "jinan.example.org"},
    {"a p2p address with two colons", "jinan.example.org:7100", "jinan:x:7100"},
    {"two members with one p2p address", "zibo.example.org:7100", "jinan.example.org:7100"},
    {"window below 2 x checkpoint_interval", "\"window\": 16", "\"window\": 15"},
    {"block_max_txs 8193", "\"block_max_txs\": 1024", "\"block_max_txs\": 8193"},
    {"view_timeout_ms 49", "\"view_timeout_ms\": 2000", "\"view_timeout_ms\": 49"},
    {"checkpoint_interval 0", "\"checkpoint_interval\": 8", "\"checkpoint_interval\": 0"},
    {"threshold 0", "\"threshold\": 3", "\"threshold\": 0"},
    {"threshold 4", "\"threshold\": 3", "\"threshold\": 4"},
    {"threshold 5", "\"threshold\": 3", "\"threshold\": 5"},
    {"a key shared by two members",
     "5ef05da6377ffdb523ea773bd94ae4096c6d7c2c07e845a27fdc961666efc775",
     "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc"},
    {"a key shared by two roles",
     "dadbd184a2d526f1ebdd5c06fdad9359b228759b4d7f79d66689fa254aad8546",
     "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc"},
    {"a small-order key", "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
     "0100000000000000000000000000000000000000000000000000000000000000"},
    {"a non-canonical key", "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
     "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
    {"a key y = 2", "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
     "0200000000000000000000000000000000000000000000000000000000000000"},
    {"a key y = 3", "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
     "0300000000000000000000000000000000000000000000000000000000000000"},
    {"a key y = 4", "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
     "0400000000000000000000000000000000000000000000000000000000000000"},
    {"a key with its sign bit flipped (the negated point)",
     "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
     "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd47c"},
};

/* jinan's node key plus a torsion point t (64 hex): a key of order 2L, 4L or 8L. */
static void add_torsion_key(json_t *arr, const char *base, const char *what, const char *t_hex) {
    static const char *jinan = "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc";
    uint8_t a[32], t[32], sum[32];
    QC_ASSERT(qc_hex_decode(a, 32, jinan) == QC_OK && qc_hex_decode(t, 32, t_hex) == QC_OK);
    QC_ASSERT(crypto_core_ed25519_add(sum, a, t) == 0);
    char sum_hex[65], name[96];
    qc_hex_encode(sum_hex, sum, 32);
    char *text = receiptfx_replaced(base, jinan, sum_hex);
    snprintf(name, sizeof name, "a key with a torsion component of order %s", what);
    add_genesis_case(arr, name, text, strlen(text));
    free(text);
}

static void add_genesis_cases(json_t *arr, const char *base) {
    for (size_t i = 0; i < sizeof k_genesis_edits / sizeof k_genesis_edits[0]; i++) {
        const char *const *e = k_genesis_edits[i];
        char *text = edited_text(base, e[1], e[2]);
        add_genesis_case(arr, e[0], text, strlen(text));
        free(text);
    }
    static const char *const torsion[3][2] = { /* order, point (PROTOCOL.md §1.1's list) */
        {"2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
        {"4", "0000000000000000000000000000000000000000000000000000000000000000"},
        {"8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"},
    };
    for (size_t i = 0; i < 3; i++) add_torsion_key(arr, base, torsion[i][0], torsion[i][1]);
    size_t n = strlen(base);
    char *b = malloc(n + 4);
    QC_ASSERT(b != NULL);
    memcpy(b, "\xef\xbb\xbf", 3); /* a byte order mark */
    memcpy(b + 3, base, n);
    add_genesis_case(arr, "a byte order mark", b, n + 3);
    char *at = strstr(b, "济"); /* invalid UTF-8 inside a string, then an overlong '/' */
    QC_ASSERT(at != NULL);
    at[0] = (char)0xff;
    add_genesis_case(arr, "invalid UTF-8 in a display name", b + 3, n);
    at[0] = (char)0xc0, at[1] = (char)0xaf;
    add_genesis_case(arr, "an overlong UTF-8 sequence in a display name", b + 3, n);
    add_genesis_case(arr, "an empty file", "", 0);
    add_genesis_case(arr, "an array", "[]\n", 3);
    add_genesis_case(arr, "null", "null", 4);
    add_genesis_case(arr, "a NUL byte", "{\"version\": 1\0}", 15);
    free(b);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    bool exhaustive = argc == 2 && strcmp(argv[1], "--exhaustive") == 0;
    if (argc != 1 && !exhaustive) {
        fprintf(stderr, "usage: qchain_receiptcases [--exhaustive] > cases.json\n");
        return 2;
    }
    receiptfx_t *chain = receiptfx_chain(), *epochs = receiptfx_epoch_chain();
    receiptex_t *x = calloc(1, sizeof *x);
    QC_ASSERT(x != NULL && receiptex_build(x) == QC_OK);
    json_t *root = json_object(), *cases = json_array(), *ed = json_array(), *gc = json_array();
    QC_ASSERT(root && cases && ed && gc);
    sink_t s = {cases, &chain->node->genesis, NULL};
    add_chain_cases(&s, chain);
    add_text_cases(&s, chain);
    add_body_cases(&s, chain, exhaustive);
    add_epoch_cases(&s, epochs);
    add_other_genesis_cases(&s, x);
    if (exhaustive) {
        add_exhaustive(&s, chain, 6, "chain leaf 6");
        sink_t es = {cases, &epochs->node->genesis, epochs->genesis_json};
        add_exhaustive(&es, epochs, RECEIPTFX_E_LEAF_EPOCH2, "epochs leaf 4");
    }
    add_doc_vectors(ed);
    add_test_key_signatures(ed);
    add_genesis_cases(gc, x->genesis_json);
    set(root, "genesis", json_string(chain->genesis_json));
    set(root, "cases", cases);
    set(root, "ed25519", ed);
    set(root, "genesis_cases", gc);
    int rc = json_dumpf(root, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF &&
             fflush(stdout) == 0 ? 0 : 1;
    if (rc) fprintf(stderr, "qchain_receiptcases: cannot write the cases\n");
    json_decref(root);
    receiptex_free(x);
    free(x);
    receiptfx_close(epochs);
    receiptfx_close(chain);
    return rc;
}
