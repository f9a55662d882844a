/* test_net_codec.c - the peer-link codec without sockets: HELLO/AUTH layout, the handshake
 * state machine and each way it refuses, and the frame decoder at every split point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "net_codec.h"

#define N 3

typedef struct {
    qc_hash_t chain;
    qc_seckey_t sk[N];
    qc_pubkey_t pk[N];
    net_hs_config_t cfg[N];
} keys_t;

static keys_t K;

static int setup_keys(void **state) {
    (void)state;
    assert_int_equal(qc_crypto_init(), QC_OK);
    memset(&K, 0, sizeof K);
    memset(K.chain.b, 0xc7, sizeof K.chain.b);
    for (int i = 0; i < N; i++) {
        uint8_t seed[32];
        memset(seed, 0x10 + i, sizeof seed);
        crypto_sign_seed_keypair(K.pk[i].b, K.sk[i].b, seed);
    }
    for (int i = 0; i < N; i++)
        K.cfg[i] = (net_hs_config_t){.chain = &K.chain, .sk = &K.sk[i], .keys = K.pk, .n = N,
                                     .self = (uint32_t)i};
    return 0;
}

/* Runs a whole handshake between initiator a (dialling b) and responder b in memory. */
typedef struct {
    net_hs_t a, b;
    uint8_t hello_a[NET_HELLO_BYTES], hello_b[NET_HELLO_BYTES];
    uint8_t auth_a[NET_AUTH_BYTES], auth_b[NET_AUTH_BYTES];
} pair_t;

static void pair_start(pair_t *p, const net_hs_config_t *ca, const net_hs_config_t *cb,
                       uint32_t b_index) {
    net_hs_start(&p->a, ca, NET_ROLE_INITIATOR, b_index, NULL, p->hello_a);
    net_hs_start(&p->b, cb, NET_ROLE_RESPONDER, NET_PEER_NONE, NULL, p->hello_b);
}

static void pair_complete(pair_t *p) {
    assert_int_equal(net_hs_on_hello(&p->a, p->hello_b, p->auth_a), QC_OK);
    assert_int_equal(net_hs_on_hello(&p->b, p->hello_a, p->auth_b), QC_OK);
    assert_int_equal(net_hs_on_auth(&p->a, p->auth_b), QC_OK);
    assert_int_equal(net_hs_on_auth(&p->b, p->auth_a), QC_OK);
}

static void test_hello_layout(void **state) {
    (void)state;
    net_hello_t h = {.version = NET_WIRE_VERSION, .role = NET_ROLE_RESPONDER, .chain = K.chain,
                     .identity = K.pk[1]};
    memset(h.eph, 0xee, sizeof h.eph);
    uint8_t buf[NET_HELLO_BYTES];
    net_hello_encode(&h, buf);
    assert_int_equal(NET_HELLO_BYTES, 102);
    assert_memory_equal(buf, "QCHN\x01\x01", 6);
    assert_memory_equal(buf + 6, K.chain.b, 32);
    assert_memory_equal(buf + 38, K.pk[1].b, 32);
    assert_memory_equal(buf + 70, h.eph, 32);
    net_hello_t d;
    assert_int_equal(net_hello_decode(buf, &d), QC_OK);
    assert_memory_equal(&d.identity, &h.identity, sizeof d.identity);
    assert_int_equal(d.role, NET_ROLE_RESPONDER);

    uint8_t bad[NET_HELLO_BYTES];
    memcpy(bad, buf, sizeof bad);
    bad[0] = 'X';
    assert_int_equal(net_hello_decode(bad, &d), QC_ERR_INVALID);
    memcpy(bad, buf, sizeof bad);
    bad[4] = 2; /* version */
    assert_int_equal(net_hello_decode(bad, &d), QC_ERR_INVALID);
    memcpy(bad, buf, sizeof bad);
    bad[5] = 2; /* role */
    assert_int_equal(net_hello_decode(bad, &d), QC_ERR_INVALID);
}

static void test_transcript_layout(void **state) {
    (void)state;
    net_hello_t ini = {.identity = K.pk[0]}, rsp = {.identity = K.pk[1]};
    memset(ini.eph, 0xaa, 32);
    memset(rsp.eph, 0xbb, 32);
    uint8_t t[NET_TRANSCRIPT_BYTES];
    net_transcript(t, &K.chain, &ini, &rsp, NET_ROLE_RESPONDER);
    assert_int_equal(NET_TRANSCRIPT_BYTES, 162);
    assert_int_equal(t[0], NET_WIRE_VERSION);
    assert_memory_equal(t + 1, K.chain.b, 32);
    assert_memory_equal(t + 33, K.pk[0].b, 32);
    assert_int_equal(t[65], 0xaa);
    assert_memory_equal(t + 97, K.pk[1].b, 32);
    assert_int_equal(t[129], 0xbb);
    assert_int_equal(t[161], NET_ROLE_RESPONDER);
}

static void test_handshake_ok_and_streams_pair(void **state) {
    (void)state;
    pair_t p;
    pair_start(&p, &K.cfg[0], &K.cfg[2], 2);
    pair_complete(&p);
    assert_int_equal(p.a.state, NET_HS_DONE);
    assert_int_equal(p.b.state, NET_HS_DONE);
    assert_int_equal(p.a.peer, 2);
    assert_int_equal(p.b.peer, 0);
    /* The signature in AUTH is the qc_sign_ctx convention over the transcript. */
    uint8_t msg[sizeof(QC_CTX_HANDSHAKE) + NET_TRANSCRIPT_BYTES];
    memcpy(msg, QC_CTX_HANDSHAKE, sizeof(QC_CTX_HANDSHAKE));
    net_transcript(msg + sizeof(QC_CTX_HANDSHAKE), &K.chain, &p.a.mine, &p.b.mine,
                   NET_ROLE_INITIATOR);
    assert_int_equal(crypto_sign_verify_detached(p.auth_a, msg, sizeof msg, K.pk[0].b), 0);

    /* a's tx stream is b's rx stream and the other way round. */
    uint8_t wire[64];
    net_frame_seal(&p.a.tx, NET_FRAME_DATA, "hi", 2, wire);
    uint8_t plain[16];
    uint8_t tag;
    assert_int_equal(crypto_secretstream_xchacha20poly1305_pull(&p.b.rx, plain, NULL, &tag, wire,
                                                               NET_FRAME_HEADER_BYTES, NULL, 0),
                     0);
    assert_int_equal(qc_get_u32(plain), 2);
    assert_int_equal(plain[4], NET_FRAME_DATA);
    net_hs_wipe(&p.a);
    net_hs_wipe(&p.b);
}

static void test_refuse_unknown_key(void **state) {
    (void)state;
    /* A stranger's key claims to be the dialer. */
    qc_seckey_t rogue_sk;
    qc_pubkey_t rogue_keys[N];
    memcpy(rogue_keys, K.pk, sizeof rogue_keys);
    crypto_sign_keypair(rogue_keys[0].b, rogue_sk.b);
    net_hs_config_t rogue = {.chain = &K.chain, .sk = &rogue_sk, .keys = rogue_keys, .n = N,
                             .self = 0};
    pair_t p;
    pair_start(&p, &rogue, &K.cfg[1], 1);
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_a, p.auth_b), QC_ERR_MEMBER);
    assert_int_equal(p.b.fail, NET_FAIL_UNKNOWN_KEY);
    assert_int_equal(p.b.state, NET_HS_FAILED);
    /* The initiator refuses a responder that is not the peer it dialled. */
    net_hs_start(&p.a, &K.cfg[0], NET_ROLE_INITIATOR, 1, NULL, p.hello_a);
    net_hs_start(&p.b, &K.cfg[2], NET_ROLE_RESPONDER, NET_PEER_NONE, NULL, p.hello_b);
    assert_int_equal(net_hs_on_hello(&p.a, p.hello_b, p.auth_a), QC_ERR_MEMBER);
    assert_int_equal(p.a.fail, NET_FAIL_UNKNOWN_KEY);
}

static void test_refuse_wrong_chain(void **state) {
    (void)state;
    qc_hash_t other = K.chain;
    other.b[31] ^= 1;
    net_hs_config_t c0 = K.cfg[0];
    c0.chain = &other;
    pair_t p;
    pair_start(&p, &c0, &K.cfg[1], 1);
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_a, p.auth_b), QC_ERR_INVALID);
    assert_int_equal(p.b.fail, NET_FAIL_CHAIN);
    assert_int_equal(net_hs_on_hello(&p.a, p.hello_b, p.auth_a), QC_ERR_INVALID);
    assert_int_equal(p.a.fail, NET_FAIL_CHAIN);
}

/* A higher index dialling a lower one is a knock: the handshake completes (both sides are
 * authenticated) and the responder learns it must not use it as a link; a lower index's dial
 * is not a knock. */
static void test_knock_is_authenticated_and_marked(void **state) {
    (void)state;
    pair_t p;
    pair_start(&p, &K.cfg[2], &K.cfg[1], 1);
    pair_complete(&p);
    assert_int_equal(p.b.peer, 2);
    assert_true(p.b.knock);
    assert_false(p.a.knock);
    pair_start(&p, &K.cfg[0], &K.cfg[1], 1);
    pair_complete(&p);
    assert_int_equal(p.b.peer, 0);
    assert_false(p.b.knock);
    /* A knock claimed with a key the claimant does not hold fails like any handshake. */
    net_hs_config_t forged = K.cfg[2];
    forged.sk = &K.sk[0];
    pair_start(&p, &forged, &K.cfg[1], 1);
    memcpy(p.hello_a + 38, K.pk[2].b, 32); /* its HELLO claims validator 2's identity */
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_a, p.auth_b), QC_OK);
    assert_true(p.b.knock);
    assert_int_equal(net_hs_on_hello(&p.a, p.hello_b, p.auth_a), QC_OK);
    assert_int_equal(net_hs_on_auth(&p.b, p.auth_a), QC_ERR_SIGNATURE);
    net_hs_wipe(&p.a);
    net_hs_wipe(&p.b);
}

static void test_refuse_roles(void **state) {
    (void)state;
    pair_t p;
    /* Our own key reflected back. */
    pair_start(&p, &K.cfg[1], &K.cfg[1], 1);
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_a, p.auth_b), QC_ERR_MEMBER);
    assert_int_equal(p.b.fail, NET_FAIL_ROLE);
    /* Two responders (same role byte) talking to each other. */
    pair_start(&p, &K.cfg[0], &K.cfg[1], 1);
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_b, p.auth_b), QC_ERR_INVALID);
    assert_int_equal(p.b.fail, NET_FAIL_GARBAGE);
    /* Out of order calls. */
    assert_int_equal(net_hs_on_auth(&p.a, p.auth_b), QC_ERR_STATE);
}

static void test_refuse_low_order_ephemeral(void **state) {
    (void)state;
    pair_t p;
    pair_start(&p, &K.cfg[0], &K.cfg[1], 1);
    memset(p.hello_a + 70, 0, NET_EPH_BYTES); /* the identity point: shared secret all zero */
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_a, p.auth_b), QC_ERR_INVALID);
    assert_int_equal(p.b.fail, NET_FAIL_GARBAGE);
}

static void test_refuse_bad_signature(void **state) {
    (void)state;
    pair_t p;
    pair_start(&p, &K.cfg[0], &K.cfg[1], 1);
    assert_int_equal(net_hs_on_hello(&p.a, p.hello_b, p.auth_a), QC_OK);
    assert_int_equal(net_hs_on_hello(&p.b, p.hello_a, p.auth_b), QC_OK);
    p.auth_a[10] ^= 0x40;
    assert_int_equal(net_hs_on_auth(&p.b, p.auth_a), QC_ERR_SIGNATURE);
    assert_int_equal(p.b.fail, NET_FAIL_SIGNATURE);
    /* An endpoint's own AUTH reflected back to it does not verify (other key, other role). */
    p.auth_a[10] ^= 0x40;
    assert_int_equal(net_hs_on_auth(&p.a, p.auth_a), QC_ERR_SIGNATURE);
    assert_int_equal(p.a.fail, NET_FAIL_SIGNATURE);
}

static void test_refuse_replayed_handshake(void **state) {
    (void)state;
    /* Session 1: an honest handshake that an attacker records. */
    pair_t rec;
    pair_start(&rec, &K.cfg[0], &K.cfg[1], 1);
    pair_complete(&rec);
    /* Session 2: the attacker replays the initiator's HELLO and AUTH to the responder, which
     * has a fresh ephemeral key, so the recorded signature covers another transcript. */
    net_hs_t b;
    uint8_t hello_b[NET_HELLO_BYTES], auth_b[NET_AUTH_BYTES];
    net_hs_start(&b, &K.cfg[1], NET_ROLE_RESPONDER, NET_PEER_NONE, NULL, hello_b);
    assert_int_equal(net_hs_on_hello(&b, rec.hello_a, auth_b), QC_OK);
    assert_int_equal(net_hs_on_auth(&b, rec.auth_a), QC_ERR_SIGNATURE);
    assert_int_equal(b.fail, NET_FAIL_SIGNATURE);
    /* With the same ephemeral seeds the transcript repeats and the signature verifies: this is
     * why the node always uses a fresh random ephemeral key. */
    uint8_t s1[32], s2[32];
    memset(s1, 1, 32);
    memset(s2, 2, 32);
    net_hs_t x, y;
    uint8_t hx[NET_HELLO_BYTES], hy[NET_HELLO_BYTES], ax[NET_AUTH_BYTES], ay[NET_AUTH_BYTES];
    net_hs_start(&x, &K.cfg[0], NET_ROLE_INITIATOR, 1, s1, hx);
    net_hs_start(&y, &K.cfg[1], NET_ROLE_RESPONDER, NET_PEER_NONE, s2, hy);
    assert_int_equal(net_hs_on_hello(&x, hy, ax), QC_OK);
    net_hs_start(&y, &K.cfg[1], NET_ROLE_RESPONDER, NET_PEER_NONE, s2, hy);
    assert_int_equal(net_hs_on_hello(&y, hx, ay), QC_OK);
    assert_int_equal(net_hs_on_auth(&y, ax), QC_OK);
}

/* ---------------------------------------------------------------- frames */

typedef struct {
    int count;
    uint8_t types[16];
    size_t lens[16];
    uint8_t data[16][300];
    int stop_after; /* return 1 after this many frames; 0 = never */
} sink_t;

static int sink_cb(void *user, uint8_t type, const uint8_t *payload, size_t len) {
    sink_t *s = user;
    assert_non_null(payload);
    assert_true(s->count < 16 && len <= 300);
    s->types[s->count] = type;
    s->lens[s->count] = len;
    memcpy(s->data[s->count], payload, len);
    s->count++;
    return s->stop_after > 0 && s->count >= s->stop_after ? 1 : 0;
}

typedef struct {
    net_stream_t tx, rx;
} streams_t;

static void streams_make(streams_t *s) {
    uint8_t key[32], header[NET_SS_HEADER_BYTES];
    crypto_secretstream_xchacha20poly1305_keygen(key);
    crypto_secretstream_xchacha20poly1305_init_push(&s->tx, header, key);
    assert_int_equal(crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, header, key), 0);
}

/* Frames of payload sizes 0 (DATA), 1, 0 (PING), 300 and 200, in one wire buffer. */
static size_t build_wire(net_stream_t *tx, uint8_t *wire) {
    static const uint32_t lens[] = {0, 1, 0, 300, 200};
    static const uint8_t types[] = {NET_FRAME_DATA, NET_FRAME_DATA, NET_FRAME_PING,
                                    NET_FRAME_DATA, NET_FRAME_DATA};
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t payload[300];
        for (uint32_t j = 0; j < lens[i]; j++) payload[j] = (uint8_t)(i * 31 + j);
        net_frame_seal(tx, types[i], payload, lens[i], wire + off);
        off += net_frame_wire_bytes(lens[i]);
    }
    return off;
}

static void check_sink(const sink_t *s) {
    assert_int_equal(s->count, 5);
    assert_int_equal(s->types[2], NET_FRAME_PING);
    assert_int_equal(s->lens[0], 0);
    assert_int_equal(s->lens[3], 300);
    assert_int_equal(s->lens[4], 200);
    for (int i = 0; i < 5; i++)
        for (size_t j = 0; j < s->lens[i]; j++) assert_int_equal(s->data[i][j], (uint8_t)(i * 31 + j));
}

static void test_frames_every_split(void **state) {
    (void)state;
    uint8_t wire[1024];
    streams_t base;
    streams_make(&base);
    net_stream_t tx = base.tx;
    size_t total = build_wire(&tx, wire);
    assert_int_equal(total, 5 * NET_FRAME_HEADER_BYTES + 1 + 300 + 200 + 3 * NET_SEAL_BYTES);
    for (size_t split = 0; split <= total; split++) {
        net_rx_t rx;
        net_rx_init(&rx, &base.rx, 300);
        sink_t s = {0};
        assert_int_equal(net_rx_feed(&rx, wire, split, sink_cb, &s), QC_OK);
        assert_int_equal(net_rx_feed(&rx, wire + split, total - split, sink_cb, &s), QC_OK);
        check_sink(&s);
        assert_int_equal(net_rx_partial_bytes(&rx), 0);
        net_rx_free(&rx);
    }
    /* One byte at a time. */
    net_rx_t rx;
    net_rx_init(&rx, &base.rx, 300);
    sink_t s = {0};
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(net_rx_feed(&rx, wire + i, 1, sink_cb, &s), QC_OK);
        size_t delivered = 0; /* wire bytes of the frames handed out so far */
        for (int f = 0; f < s.count; f++) delivered += net_frame_wire_bytes(s.lens[f]);
        assert_int_equal(net_rx_partial_bytes(&rx), i + 1 - delivered);
    }
    check_sink(&s);
    net_rx_free(&rx);
}

static void test_frames_refused(void **state) {
    (void)state;
    uint8_t wire[1024];
    streams_t st;
    net_rx_t rx;
    sink_t s;

    /* Oversized: refused on the header, before any body byte arrives. */
    streams_make(&st);
    net_frame_seal(&st.tx, NET_FRAME_DATA, wire + 512, 101, wire);
    net_rx_init(&rx, &st.rx, 100);
    memset(&s, 0, sizeof s);
    assert_int_equal(net_rx_feed(&rx, wire, NET_FRAME_HEADER_BYTES, sink_cb, &s), QC_ERR_TOOBIG);
    assert_int_equal(net_rx_feed(&rx, wire, 1, sink_cb, &s), QC_ERR_TOOBIG); /* sticky */
    assert_null(rx.cbuf);
    assert_int_equal(s.count, 0);
    net_rx_free(&rx);

    /* Exactly at the limit passes. */
    streams_make(&st);
    memset(wire + 512, 7, 100);
    net_frame_seal(&st.tx, NET_FRAME_DATA, wire + 512, 100, wire);
    net_rx_init(&rx, &st.rx, 100);
    memset(&s, 0, sizeof s);
    assert_int_equal(net_rx_feed(&rx, wire, net_frame_wire_bytes(100), sink_cb, &s), QC_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.lens[0], 100);
    net_rx_free(&rx);

    /* A flipped bit anywhere fails authentication; nothing is delivered. */
    for (size_t pos = 0; pos < net_frame_wire_bytes(5); pos += 3) {
        streams_make(&st);
        net_frame_seal(&st.tx, NET_FRAME_DATA, "hello", 5, wire);
        wire[pos] ^= 0x01;
        net_rx_init(&rx, &st.rx, 100);
        memset(&s, 0, sizeof s);
        assert_int_equal(net_rx_feed(&rx, wire, net_frame_wire_bytes(5), sink_cb, &s),
                         QC_ERR_CRYPTO);
        assert_int_equal(s.count, 0);
        net_rx_free(&rx);
    }

    /* Replayed frame: the stream's nonce has moved on. */
    streams_make(&st);
    net_frame_seal(&st.tx, NET_FRAME_DATA, "hello", 5, wire);
    net_rx_init(&rx, &st.rx, 100);
    memset(&s, 0, sizeof s);
    assert_int_equal(net_rx_feed(&rx, wire, net_frame_wire_bytes(5), sink_cb, &s), QC_OK);
    assert_int_equal(net_rx_feed(&rx, wire, net_frame_wire_bytes(5), sink_cb, &s), QC_ERR_CRYPTO);
    assert_int_equal(s.count, 1);
    net_rx_free(&rx);

    /* Unknown type, and a PING carrying a payload. */
    streams_make(&st);
    net_frame_seal(&st.tx, 9, NULL, 0, wire);
    net_rx_init(&rx, &st.rx, 100);
    assert_int_equal(net_rx_feed(&rx, wire, NET_FRAME_HEADER_BYTES, sink_cb, &s), QC_ERR_INVALID);
    net_rx_free(&rx);
    streams_make(&st);
    net_frame_seal(&st.tx, NET_FRAME_PING, "x", 1, wire);
    net_rx_init(&rx, &st.rx, 100);
    assert_int_equal(net_rx_feed(&rx, wire, net_frame_wire_bytes(1), sink_cb, &s), QC_ERR_INVALID);
    net_rx_free(&rx);
}

static void test_frames_callback_stops(void **state) {
    (void)state;
    uint8_t wire[1024];
    streams_t st;
    streams_make(&st);
    size_t total = build_wire(&st.tx, wire);
    net_rx_t rx;
    net_rx_init(&rx, &st.rx, 300);
    sink_t s = {.stop_after = 2};
    assert_int_equal(net_rx_feed(&rx, wire, total, sink_cb, &s), 1);
    assert_int_equal(s.count, 2);
    net_rx_free(&rx);
}

typedef struct {
    int count;
    qc_hash_t digest;
    size_t len;
} digest_sink_t;

static int digest_cb(void *user, uint8_t type, const uint8_t *payload, size_t len) {
    digest_sink_t *d = user;
    assert_int_equal(type, NET_FRAME_DATA);
    qc_sha256(&d->digest, payload, len);
    d->len = len;
    d->count++;
    return 0;
}

static void test_large_frame_buffers_released(void **state) {
    (void)state;
    size_t len = 200 * 1024, wlen = net_frame_wire_bytes(len);
    uint8_t *payload = malloc(len), *wire = malloc(wlen + 64);
    assert_non_null(payload);
    assert_non_null(wire);
    randombytes_buf(payload, len);
    qc_hash_t want;
    qc_sha256(&want, payload, len);
    streams_t st;
    streams_make(&st);
    net_frame_seal(&st.tx, NET_FRAME_DATA, payload, (uint32_t)len, wire);
    net_frame_seal(&st.tx, NET_FRAME_DATA, "tail", 4, wire + wlen);
    net_rx_t rx;
    net_rx_init(&rx, &st.rx, (uint32_t)len);
    /* Split mid-body, so the body is assembled in the decoder's own buffer. */
    digest_sink_t d = {0};
    assert_int_equal(net_rx_feed(&rx, wire, wlen / 2, digest_cb, &d), QC_OK);
    assert_int_equal(d.count, 0);
    assert_true(rx.cbuf_cap >= len);
    assert_int_equal(net_rx_feed(&rx, wire + wlen / 2, wlen - wlen / 2, digest_cb, &d), QC_OK);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.len, len);
    assert_memory_equal(d.digest.b, want.b, 32);
    /* A large frame does not pin its buffers for the rest of the link's life. */
    assert_null(rx.cbuf);
    assert_null(rx.pbuf);
    assert_int_equal(net_rx_feed(&rx, wire + wlen, net_frame_wire_bytes(4), digest_cb, &d), QC_OK);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.len, 4);
    net_rx_free(&rx);
    free(payload);
    free(wire);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_layout),
        cmocka_unit_test(test_transcript_layout),
        cmocka_unit_test(test_handshake_ok_and_streams_pair),
        cmocka_unit_test(test_refuse_unknown_key),
        cmocka_unit_test(test_refuse_wrong_chain),
        cmocka_unit_test(test_knock_is_authenticated_and_marked),
        cmocka_unit_test(test_refuse_roles),
        cmocka_unit_test(test_refuse_low_order_ephemeral),
        cmocka_unit_test(test_refuse_bad_signature),
        cmocka_unit_test(test_refuse_replayed_handshake),
        cmocka_unit_test(test_frames_every_split),
        cmocka_unit_test(test_frames_refused),
        cmocka_unit_test(test_frames_callback_stops),
        cmocka_unit_test(test_large_frame_buffers_released),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
