/* test_wire.c - node-to-node message codec: round trips of every kind (VIEW-CHANGE and
 * NEW-VIEW at their largest), strict refusal of malformed frames, and consensus signatures:
 * a core commit certificate signed through these callbacks verifies as a block certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainbuilder.h"
#include "testkeys.h"
#include "govtest.h"
#include "tmpdir.h"
#include "wire.h"
#include "wire.pb-c.h"

#define SEEDS_DIR "tests/fuzz/corpus/wire"

static wire_scratch_t *g_scratch;
static qc_validator_set_t g_vs;

static void fill_hash(qc_hash_t *h, uint8_t v) { memset(h->b, v, 32); }

static void fill_vc(pbft_view_change_t *vc, uint16_t replica, uint8_t prepared) {
    memset(vc, 0, sizeof *vc);
    vc->epoch = 3;
    vc->view = 9;
    vc->replica = replica;
    vc->stable.height = 16;
    fill_hash(&vc->stable.digest, 0x16);
    vc->stable.count = PBFT_Q_MAX;
    for (uint8_t i = 0; i < PBFT_Q_MAX; i++) {
        vc->stable.sigs[i].replica = i;
        memset(vc->stable.sigs[i].sig.b, i + 1, 64);
    }
    for (uint8_t k = 0; k < prepared; k++) {
        pbft_prepared_cert_t *c = &vc->prepared[k];
        c->view = 8;
        c->height = 17u + k;
        fill_hash(&c->digest, (uint8_t)(0x40 + k));
        fill_hash(&c->parent, (uint8_t)(0x3f + k));
        c->count = PBFT_Q_MAX;
        for (uint8_t i = 0; i < PBFT_Q_MAX; i++) {
            c->sigs[i].replica = i;
            memset(c->sigs[i].sig.b, (int)(k * 16 + i), 64);
        }
    }
    vc->prepared_count = prepared;
    memset(vc->sig.b, 0x77, 64);
}

static void roundtrip(const pbft_msg_t *m, const uint8_t *block, size_t block_len, wire_msg_t *out) {
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode_consensus(m, block, block_len, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, out), QC_OK);
    free(buf);
    assert_int_equal(out->kind, WIRE_CONSENSUS);
    assert_int_equal(out->consensus.type, m->type);
    assert_int_equal(out->consensus.from, m->from);
    assert_int_equal(out->consensus.view, m->view);
    assert_int_equal(out->consensus.height, m->height);
    assert_memory_equal(out->consensus.digest.b, m->digest.b, 32);
    assert_memory_equal(out->consensus.parent.b, m->parent.b, 32);
    assert_memory_equal(out->consensus.sig.b, m->sig.b, 64);
}

static void test_small_messages_and_attached_block(void **state) {
    (void)state;
    pbft_msg_t m = {0};
    m.type = PBFT_MSG_PREPREPARE;
    m.from = 4;
    m.epoch = 1;
    m.view = 2;
    m.height = 3;
    fill_hash(&m.digest, 0xaa);
    fill_hash(&m.parent, 0xbb);
    memset(m.sig.b, 0xcc, 64);
    const uint8_t block[5] = {1, 2, 3, 4, 5};
    wire_msg_t out;
    roundtrip(&m, block, sizeof block, &out);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.bytes, block, 5);
    wire_msg_free(&out);
    for (int t = PBFT_MSG_PREPARE; t <= PBFT_MSG_HEARTBEAT; t++) {
        if (t == PBFT_MSG_VIEW_CHANGE || t == PBFT_MSG_NEW_VIEW) continue;
        m.type = (pbft_msg_type_t)t;
        roundtrip(&m, NULL, 0, &out);
        assert_int_equal(out.len, 0);
        wire_msg_free(&out);
    }
}

static void test_view_change_and_new_view_at_max(void **state) {
    (void)state;
    static pbft_view_change_t vcs[PBFT_Q_MAX];
    for (uint16_t r = 0; r < PBFT_Q_MAX; r++) fill_vc(&vcs[r], r, PBFT_WINDOW_MAX);
    pbft_msg_t m = {0};
    m.type = PBFT_MSG_VIEW_CHANGE;
    m.from = 2;
    m.epoch = 3;
    m.view = 9;
    m.vc = &vcs[2];
    wire_msg_t out;
    roundtrip(&m, NULL, 0, &out);
    assert_non_null(out.consensus.vc);
    assert_memory_equal(out.consensus.vc, &vcs[2], sizeof vcs[2]);
    wire_msg_free(&out);

    static pbft_new_view_t nv;
    memset(&nv, 0, sizeof nv);
    nv.epoch = 3;
    nv.view = 9;
    nv.replica = 0;
    for (uint8_t i = 0; i < PBFT_Q_MAX; i++) nv.vcs[i] = &vcs[i];
    nv.vc_count = PBFT_Q_MAX;
    nv.base = vcs[0].stable;
    for (uint8_t i = 0; i < PBFT_WINDOW_MAX; i++) {
        nv.entries[i].height = 17u + i;
        fill_hash(&nv.entries[i].digest, i);
        fill_hash(&nv.entries[i].parent, (uint8_t)(i + 100));
        memset(nv.entries[i].sig.b, i, 64);
    }
    nv.entry_count = PBFT_WINDOW_MAX;
    memset(nv.sig.b, 0x55, 64);
    m.type = PBFT_MSG_NEW_VIEW;
    m.vc = NULL;
    m.nv = &nv;
    roundtrip(&m, NULL, 0, &out);
    const pbft_new_view_t *got = out.consensus.nv;
    assert_non_null(got);
    assert_int_equal(got->vc_count, PBFT_Q_MAX);
    assert_int_equal(got->entry_count, PBFT_WINDOW_MAX);
    for (uint8_t i = 0; i < PBFT_Q_MAX; i++) assert_memory_equal(got->vcs[i], &vcs[i], sizeof vcs[i]);
    assert_memory_equal(got->entries, nv.entries, sizeof nv.entries);
    assert_memory_equal(&got->base, &nv.base, sizeof nv.base);
    wire_msg_free(&out);
}

/* PBFT_Q_MAX signatures of replicas 0.., each filled with its own byte from `base`. */
static void fill_sigs(pbft_vote_sig_t *sigs, uint8_t base) {
    for (uint8_t i = 0; i < PBFT_Q_MAX; i++) {
        sigs[i].replica = i;
        memset(sigs[i].sig.b, base + i, 64);
    }
}

static pbft_msg_t msg_new(pbft_msg_type_t type, uint16_t from, uint64_t epoch, uint64_t view,
                          uint64_t height) {
    pbft_msg_t m = {0};
    m.type = type;
    m.from = from;
    m.epoch = epoch;
    m.view = view;
    m.height = height;
    return m;
}

/* A COMMIT-CERT from replica 3 carrying *cert (filled) at its largest. */
static pbft_msg_t commit_cert_msg(pbft_commit_cert_t *cert) {
    memset(cert, 0, sizeof *cert);
    cert->epoch = 2;
    cert->height = 40;
    cert->view = 7;
    fill_hash(&cert->digest, 0x44);
    cert->count = PBFT_Q_MAX;
    fill_sigs(cert->sigs, 0x10);
    pbft_msg_t m = msg_new(PBFT_MSG_COMMIT_CERT, 3, 2, 7, 40);
    m.cert = cert;
    return m;
}

/* A CHECKPOINT-CERT from replica 1 for epoch 4's final checkpoint *ck (filled) at 48. */
static pbft_msg_t checkpoint_cert_msg(pbft_checkpoint_cert_t *ck) {
    memset(ck, 0, sizeof *ck);
    ck->height = 48;
    fill_hash(&ck->digest, 0x48);
    ck->count = PBFT_Q_MAX;
    fill_sigs(ck->sigs, 0x20);
    pbft_msg_t m = msg_new(PBFT_MSG_CHECKPOINT_CERT, 1, 4, 0, 48);
    m.digest = ck->digest;
    m.ckpt = ck;
    return m;
}

/* Encodes m and expects the decoder to refuse the frame. */
static void expect_encoded_refused(const pbft_msg_t *m) {
    uint8_t *buf;
    size_t len;
    wire_msg_t out;
    assert_int_equal(wire_encode_consensus(m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
}

static void test_commit_cert_message(void **state) {
    (void)state;
    pbft_commit_cert_t cert;
    pbft_msg_t m = commit_cert_msg(&cert);
    wire_msg_t out;
    roundtrip(&m, NULL, 0, &out);
    assert_non_null(out.consensus.cert);
    assert_memory_equal(out.consensus.cert, &cert, sizeof cert);
    wire_msg_free(&out);

    m.cert = NULL; /* the type without its body */
    expect_encoded_refused(&m);
    m.cert = &cert;
    cert.sigs[2].replica = PBFT_N_MAX; /* a signer out of range */
    expect_encoded_refused(&m);
    cert.sigs[2].replica = 2;
    uint8_t *buf;
    size_t len;
    m.type = PBFT_MSG_PREPARE; /* a body on a type that has none: the encoder drops it */
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_null(out.consensus.cert);
    wire_msg_free(&out);
    free(buf);
}

/* Packs a hand-made Consensus envelope (for frames the encoder never writes) and decodes it. */
static int decode_raw_consensus(Qchain__Wire__Consensus *c, wire_msg_t *out) {
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_CONSENSUS;
    e.consensus = c;
    size_t len = qchain__wire__envelope__get_packed_size(&e);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    qchain__wire__envelope__pack(&e, buf);
    int rc = wire_decode(buf, len, g_scratch, out);
    free(buf);
    return rc;
}

/* CHECKPOINT-CERT (type 9): an old epoch's final checkpoint certificate rides in its own body;
 * the header names the epoch and repeats height and digest, which must match the body. */
static void test_checkpoint_cert_message(void **state) {
    (void)state;
    pbft_checkpoint_cert_t ck;
    pbft_msg_t m = checkpoint_cert_msg(&ck);
    wire_msg_t out;
    roundtrip(&m, NULL, 0, &out);
    assert_int_equal(out.consensus.epoch, 4);
    assert_non_null(out.consensus.ckpt);
    assert_null(out.consensus.cert);
    assert_memory_equal(out.consensus.ckpt, &ck, sizeof ck);
    wire_msg_free(&out);

    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    for (size_t n = 0; n < len; n++) /* every truncation */
        assert_int_equal(wire_decode(buf, n, g_scratch, &out), QC_ERR_INVALID);
    free(buf);

    pbft_msg_t bad = m;
    bad.ckpt = NULL; /* the type without its body */
    expect_encoded_refused(&bad);
    bad = m;
    bad.height = 56; /* a header that names another checkpoint */
    expect_encoded_refused(&bad);
    bad = m;
    bad.digest.b[31] ^= 1;
    expect_encoded_refused(&bad);
    pbft_checkpoint_cert_t empty = ck;
    empty.count = 0; /* no signatures: nothing certified */
    bad = m;
    bad.ckpt = &empty;
    expect_encoded_refused(&bad);
    pbft_checkpoint_cert_t far = ck;
    far.sigs[4].replica = PBFT_N_MAX; /* a signer out of range */
    bad.ckpt = &far;
    expect_encoded_refused(&bad);

    /* Hand-made frames: one signature over PBFT_Q_MAX, a body on a type that has none, and a
     * COMMIT-CERT body on a CHECKPOINT-CERT. */
    Qchain__Wire__VoteSig vs[PBFT_Q_MAX + 1], *vp[PBFT_Q_MAX + 1];
    for (int i = 0; i <= PBFT_Q_MAX; i++) {
        qchain__wire__vote_sig__init(&vs[i]);
        vs[i].replica = (uint32_t)i;
        vs[i].sig = (ProtobufCBinaryData){64, ck.sigs[0].sig.b};
        vp[i] = &vs[i];
    }
    Qchain__Wire__CheckpointCert pc = QCHAIN__WIRE__CHECKPOINT_CERT__INIT;
    pc.height = 48;
    pc.digest = (ProtobufCBinaryData){32, ck.digest.b};
    pc.n_sigs = PBFT_Q_MAX;
    pc.sigs = vp;
    Qchain__Wire__Consensus c = QCHAIN__WIRE__CONSENSUS__INIT;
    c.type = PBFT_MSG_CHECKPOINT_CERT;
    c.from = 1;
    c.epoch = 4;
    c.height = 48;
    c.digest = (ProtobufCBinaryData){32, ck.digest.b};
    c.parent = (ProtobufCBinaryData){32, ck.digest.b};
    c.sig = (ProtobufCBinaryData){64, ck.sigs[0].sig.b};
    c.ckpt = &pc;
    assert_int_equal(decode_raw_consensus(&c, &out), QC_OK); /* the hand-made frame is sound */
    wire_msg_free(&out);
    pc.n_sigs = PBFT_Q_MAX + 1;
    assert_int_equal(decode_raw_consensus(&c, &out), QC_ERR_INVALID);
    pc.n_sigs = PBFT_Q_MAX;
    c.type = PBFT_MSG_CHECKPOINT;
    assert_int_equal(decode_raw_consensus(&c, &out), QC_ERR_INVALID);
    c.type = PBFT_MSG_CHECKPOINT_CERT;
    Qchain__Wire__CommitCertBody cc = QCHAIN__WIRE__COMMIT_CERT_BODY__INIT;
    cc.height = 48;
    cc.digest = pc.digest;
    c.cert = &cc;
    assert_int_equal(decode_raw_consensus(&c, &out), QC_ERR_INVALID);
    c.ckpt = NULL;
    assert_int_equal(decode_raw_consensus(&c, &out), QC_ERR_INVALID);
    c.type = 10; /* past the last type */
    c.cert = NULL;
    assert_int_equal(decode_raw_consensus(&c, &out), QC_ERR_INVALID);
}

static void test_other_kinds(void **state) {
    (void)state;
    uint8_t *buf;
    size_t len;
    wire_msg_t out;
    const uint8_t tx[3] = {9, 8, 7};
    assert_int_equal(wire_encode_tx(tx, 3, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.kind, WIRE_TX);
    assert_memory_equal(out.bytes, tx, 3);
    wire_msg_free(&out);
    free(buf);

    assert_int_equal(wire_encode_fetch(42, 16, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.kind, WIRE_FETCH);
    assert_int_equal(out.from_height, 42);
    assert_int_equal(out.max, 16);
    wire_msg_free(&out);
    free(buf);
    assert_int_equal(wire_encode_fetch(0, 16, &buf, &len), QC_OK); /* height 0 never exists */
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);

    const uint8_t *blocks[2] = {tx, tx + 1}, *certs[2] = {tx + 2, tx};
    size_t bl[2] = {1, 2}, cl[2] = {1, 3};
    wire_head_t head = {77, 5, 3};
    assert_int_equal(wire_encode_blocks(2, blocks, bl, certs, cl, &head, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.kind, WIRE_BLOCKS);
    assert_int_equal(out.block_count, 2);
    assert_int_equal(out.head_height, 77);
    assert_int_equal(out.head_view, 5);
    assert_int_equal(out.head_peers_up, 3);
    assert_int_equal(out.block_lens[1], 2);
    assert_memory_equal(out.certs[1], tx, 3);
    wire_msg_free(&out);
    free(buf);
    assert_int_equal(wire_encode_blocks(WIRE_BLOCKS_MAX + 1, blocks, bl, certs, cl, &head, &buf, &len),
                     QC_ERR_TOOBIG);

    qc_hash_t d;
    fill_hash(&d, 0x31);
    assert_int_equal(wire_encode_body_request(&d, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.kind, WIRE_BODY_REQUEST);
    assert_memory_equal(out.digest.b, d.b, 32);
    assert_int_equal(out.missing_count, 0);
    wire_msg_free(&out);
    free(buf);
    /* naming the transactions the asker lacks: at most WIRE_MISSING_MAX */
    static qc_hash_t ids[WIRE_MISSING_MAX + 1];
    for (int i = 0; i <= WIRE_MISSING_MAX; i++) fill_hash(&ids[i], (uint8_t)i);
    assert_int_equal(wire_encode_body_request(&d, ids, WIRE_MISSING_MAX, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.missing_count, WIRE_MISSING_MAX);
    assert_memory_equal(out.missing[7], ids[7].b, 32);
    assert_memory_equal(out.missing[WIRE_MISSING_MAX - 1], ids[WIRE_MISSING_MAX - 1].b, 32);
    wire_msg_free(&out);
    free(buf);
    assert_int_equal(wire_encode_body_request(&d, ids, WIRE_MISSING_MAX + 1, &buf, &len),
                     QC_ERR_INVALID);
    assert_int_equal(wire_encode_body(tx, 3, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.kind, WIRE_BODY);
    assert_int_equal(out.len, 3);
    assert_null(out.compact);
    wire_msg_free(&out);
    free(buf);
    assert_int_equal(wire_encode_body(NULL, 0, tx, 3, &buf, &len), QC_OK); /* a CompactBlock */
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.compact_len, 3);
    assert_int_equal(out.len, 0);
    wire_msg_free(&out);
    free(buf);
    assert_int_equal(wire_encode_body(tx, 3, tx, 3, &buf, &len), QC_ERR_INVALID); /* not both */
    assert_int_equal(wire_encode_body(NULL, 0, NULL, 0, &buf, &len), QC_ERR_INVALID);
}

static void test_malformed_refused(void **state) {
    (void)state;
    wire_msg_t out;
    /* garbage and truncations of a valid frame */
    pbft_msg_t m = {0};
    m.type = PBFT_MSG_PREPARE;
    m.from = 1;
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    for (size_t n = 0; n < len; n++) assert_int_equal(wire_decode(buf, n, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    const uint8_t junk[] = {0xff, 0x01, 0x02, 0x03, 0x04};
    assert_int_equal(wire_decode(junk, sizeof junk, g_scratch, &out), QC_ERR_INVALID);

    m.from = PBFT_N_MAX; /* replica out of range */
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    m.from = 1;
    m.type = (pbft_msg_type_t)99;
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    m.type = PBFT_MSG_PREPARE; /* a block may only ride on a PRE-PREPARE */
    assert_int_equal(wire_encode_consensus(&m, junk, sizeof junk, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    /* nor a compact block; and a PRE-PREPARE carries one of the two, not both */
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, junk, sizeof junk, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    m.type = PBFT_MSG_PREPREPARE;
    assert_int_equal(wire_encode_consensus(&m, junk, sizeof junk, junk, sizeof junk, &buf, &len),
                     QC_ERR_INVALID);
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, junk, sizeof junk, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.compact_len, sizeof junk); /* its contents are compact_rebuild's to judge */
    assert_memory_equal(out.compact, junk, sizeof junk);
    assert_int_equal(out.len, 0);
    wire_msg_free(&out);
    free(buf);
    m.type = PBFT_MSG_VIEW_CHANGE; /* VIEW-CHANGE without its body */
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    static pbft_view_change_t vc;
    fill_vc(&vc, 1, 2);
    vc.stable.sigs[3].replica = PBFT_N_MAX; /* a signer index out of range inside a proof */
    m.vc = &vc;
    assert_int_equal(wire_encode_consensus(&m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
}

/* Checkpoint-note signatures: round trip; height 0, sizes past 2^63 and short roots or
 * signatures refused. */
static void test_note_sig(void **state) {
    (void)state;
    wire_note_sig_t ns = {12, 345, {{0}}, {{0}}}, bad;
    fill_hash(&ns.root, 0x45);
    memset(ns.sig.b, 0x67, 64);
    uint8_t *buf;
    size_t len;
    wire_msg_t out;
    assert_int_equal(wire_encode_note_sig(&ns, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_OK);
    assert_int_equal(out.kind, WIRE_NOTE_SIG);
    assert_memory_equal(&out.note_sig, &ns, sizeof ns);
    wire_msg_free(&out);
    free(buf);
    bad = ns;
    bad.height = 0;
    assert_int_equal(wire_encode_note_sig(&bad, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    bad = ns;
    bad.log_size = (UINT64_C(1) << 63) + 1;
    assert_int_equal(wire_encode_note_sig(&bad, &buf, &len), QC_OK);
    assert_int_equal(wire_decode(buf, len, g_scratch, &out), QC_ERR_INVALID);
    free(buf);
    for (int field = 0; field < 2; field++) { /* a 31-byte root, a 63-byte signature */
        Qchain__Wire__NoteSig m = QCHAIN__WIRE__NOTE_SIG__INIT;
        m.height = 1;
        m.root = (ProtobufCBinaryData){field == 0 ? 31 : 32, ns.root.b};
        m.sig = (ProtobufCBinaryData){field == 1 ? 63 : 64, ns.sig.b};
        Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
        e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_NOTE_SIG;
        e.note_sig = &m;
        uint8_t raw[256];
        size_t n = qchain__wire__envelope__pack(&e, raw);
        assert_int_equal(wire_decode(raw, n, g_scratch, &out), QC_ERR_INVALID);
    }
}

static void test_stmt_signatures_make_block_certificates(void **state) {
    (void)state;
    wire_crypto_t crypto[9];
    for (uint32_t i = 0; i < 9; i++) {
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_NODE, i, NULL, &sk);
        wire_crypto_init(&crypto[i], "wire-test", &g_vs, NULL, &sk);
    }
    qc_hash_t block_hash;
    fill_hash(&block_hash, 0x5a);
    pbft_commit_cert_t pc = {0};
    pc.epoch = 0;
    pc.height = 12;
    pc.view = 4;
    pc.digest = block_hash;
    pc.count = 6;
    for (uint16_t r = 0; r < 6; r++) {
        pbft_stmt_t s = {PBFT_MSG_COMMIT, r, 0, 4, 12, block_hash, {{0}}};
        wire_sign_cb(&crypto[r], &s, &pc.sigs[r].sig);
        pc.sigs[r].replica = r;
        assert_true(wire_verify_cb(&crypto[0], &s, &pc.sigs[r].sig));
    }
    qc_cert_t cert;
    wire_cert_from_pbft(&pc, &cert);
    char why[128];
    assert_int_equal(qc_cert_verify(&cert, "wire-test", &g_vs, &block_hash, why, sizeof why), QC_OK);

    /* every field of a statement is covered; a replica beyond the set never verifies */
    pbft_stmt_t s = {PBFT_MSG_PREPARE, 3, 0, 4, 12, block_hash, {{1}}};
    qc_sig_t sig;
    wire_sign_cb(&crypto[3], &s, &sig);
    assert_true(wire_verify_cb(&crypto[0], &s, &sig));
    pbft_stmt_t t = s; t.view++; assert_false(wire_verify_cb(&crypto[0], &t, &sig));
    t = s; t.parent.b[0] ^= 1; assert_false(wire_verify_cb(&crypto[0], &t, &sig));
    t = s; t.type = PBFT_MSG_PREPREPARE; assert_false(wire_verify_cb(&crypto[0], &t, &sig));
    t = s; t.replica = 4; assert_false(wire_verify_cb(&crypto[0], &t, &sig));
    t = s; t.replica = 20; assert_false(wire_verify_cb(&crypto[0], &t, &sig));
    wire_crypto_t other = crypto[0];
    other.chain_id = "other-chain";
    assert_false(wire_verify_cb(&other, &s, &sig));
    for (uint32_t i = 0; i < 9; i++) wire_crypto_wipe(&crypto[i]);
}

/* Signs stmt {PREPARE, replica, epoch} with testkey `key`'s node key. */
static pbft_stmt_t signed_stmt(uint32_t key, uint16_t replica, uint64_t epoch, qc_sig_t *sig) {
    wire_crypto_t signer;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_NODE, key, NULL, &sk);
    wire_crypto_init(&signer, "wire-epochs", NULL, NULL, &sk);
    qc_hash_t d;
    fill_hash(&d, 0x61);
    pbft_stmt_t s = {PBFT_MSG_PREPARE, replica, epoch, 2, 9, d, d};
    wire_sign_cb(&signer, &s, sig);
    wire_crypto_wipe(&signer);
    sodium_memzero(&sk, sizeof sk);
    return s;
}

static bool verifies(wire_crypto_t *c, uint32_t key, uint16_t replica, uint64_t epoch) {
    qc_sig_t sig;
    pbft_stmt_t s = signed_stmt(key, replica, epoch, &sig);
    return wire_verify_cb(c, &s, &sig);
}

/* Statements verify under the validator set of the epoch they name. Epoch 0 has testkeys 0..3
 * at indexes 0..3; block 1 removes member 2 and adds key 9, so epoch 1 (from block 2) has
 * 0, 1, 3, 9: key 2 left, key 3 moved down to index 2, key 9 joined at index 3. */
static void test_verify_by_epoch(void **state) {
    (void)state;
    char dir[256];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "wire"), 0);
    static chainbuilder_t cb;
    chainbuilder_init(&cb, "wire-epochs", 4, 0);
    qc_hash_t gh;
    fill_hash(&gh, 0x67);
    cb.genesis_hash = gh;
    store_config_t cfg = {cb.chain_id, gh, &cb.vs};
    static store_t st;
    assert_int_equal(store_open(&st, dir, &cfg), QC_OK);
    qc_change_t ch[2];
    govtest_change_remove(&ch[0], "taian");
    govtest_change_add(&ch[1], 9);
    qc_block_t b;
    qc_cert_t c;
    assert_int_equal(govtest_block(&cb, ch, 2, NULL, 0, &b, &c, NULL), QC_OK);
    assert_int_equal(store_apply_block(&st, &b, &c), QC_OK);
    qc_block_free(&b);
    assert_int_equal(st.validators.epoch, 1);

    wire_crypto_t v;
    qc_seckey_t own;
    testkeys_keypair(TESTKEY_NODE, 0, NULL, &own);
    wire_crypto_init(&v, "wire-epochs", &st.validators, &st, &own);
    /* The current epoch (1): from the table, no store read. */
    assert_true(verifies(&v, 3, 2, 1));
    assert_true(verifies(&v, 9, 3, 1));
    assert_false(verifies(&v, 2, 2, 1)); /* key 2 is not a member of epoch 1 */
    assert_false(verifies(&v, 3, 3, 1)); /* key 3 is at index 2 in epoch 1, not 3 */
    assert_int_equal(v.epoch_reads, 0);
    /* An older epoch (0): its own set, read once and then cached. */
    assert_true(verifies(&v, 2, 2, 0));
    assert_true(verifies(&v, 3, 3, 0));
    assert_false(verifies(&v, 3, 2, 0)); /* key 3 was index 3 in epoch 0 */
    assert_false(verifies(&v, 9, 3, 0)); /* key 9 joined only in epoch 1 */
    assert_int_equal(v.epoch_reads, 1);
    /* Unknown epochs and indexes never verify, and a newer epoch costs no store read. */
    assert_false(verifies(&v, 0, 0, 2));
    assert_false(verifies(&v, 0, 4, 0));
    assert_false(verifies(&v, 0, 4, 1));
    assert_int_equal(v.epoch_reads, 1);
    wire_crypto_t no_store;
    wire_crypto_init(&no_store, "wire-epochs", &st.validators, NULL, &own);
    assert_false(verifies(&no_store, 2, 2, 0)); /* nothing to read older epochs from */
    assert_true(verifies(&no_store, 3, 2, 1));
    wire_crypto_wipe(&v);
    wire_crypto_wipe(&no_store);
    sodium_memzero(&own, sizeof own);
    store_close(&st);
    assert_int_equal(tmpdir_remove(dir), 0);
}

/* The fuzz seeds commit_cert and checkpoint_cert (tests/fuzz/corpus/wire/) are exactly these
 * tests' largest certificate messages, so fuzz_wire starts inside both bodies' decoders. With
 * QC_WIRE_WRITE_SEEDS=<dir> the seeds are written there first. */
static void check_seed(const char *name, const pbft_msg_t *m) {
    uint8_t *buf, *file;
    size_t len, file_len;
    assert_int_equal(wire_encode_consensus(m, NULL, 0, NULL, 0, &buf, &len), QC_OK);
    char path[512];
    const char *dir = getenv("QC_WIRE_WRITE_SEEDS");
    if (dir) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        assert_int_equal(qc_file_write_atomic(path, buf, len, 0644, false), QC_OK);
    }
    snprintf(path, sizeof path, "%s/%s", SEEDS_DIR, name);
    assert_int_equal(qc_file_read(path, 1u << 20, &file, &file_len), QC_OK);
    assert_int_equal(file_len, len);
    assert_memory_equal(file, buf, len);
    wire_msg_t out;
    assert_int_equal(wire_decode(file, file_len, g_scratch, &out), QC_OK);
    assert_int_equal(out.consensus.type, m->type);
    wire_msg_free(&out);
    free(file);
    free(buf);
}

static void test_fuzz_seeds(void **state) {
    (void)state;
    pbft_commit_cert_t cert;
    pbft_checkpoint_cert_t ck;
    pbft_msg_t m = commit_cert_msg(&cert);
    check_seed("commit_cert", &m);
    m = checkpoint_cert_msg(&ck);
    check_seed("checkpoint_cert", &m);
}

static int setup(void **state) {
    (void)state;
    g_scratch = calloc(1, sizeof *g_scratch);
    testkeys_validators(&g_vs, 9, 0);
    return g_scratch ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(g_scratch);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_messages_and_attached_block),
        cmocka_unit_test(test_view_change_and_new_view_at_max),
        cmocka_unit_test(test_commit_cert_message),
        cmocka_unit_test(test_checkpoint_cert_message),
        cmocka_unit_test(test_other_kinds),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_note_sig),
        cmocka_unit_test(test_stmt_signatures_make_block_certificates),
        cmocka_unit_test(test_verify_by_epoch),
        cmocka_unit_test(test_fuzz_seeds),
    };
    return cmocka_run_group_tests_name("wire", tests, setup, teardown);
}
