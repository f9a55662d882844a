/* net_codec.c - peer-link handshake and frame codec (no I/O); see net_codec.h and
 * docs/NETWORK.md for the exact bytes. */
#include "net_codec.h"

#include <stdlib.h>
#include <string.h>

#include "fmt.h"

_Static_assert(NET_EPH_BYTES == crypto_kx_PUBLICKEYBYTES, "ephemeral key size");
_Static_assert(NET_SS_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header size");
_Static_assert(NET_SEAL_BYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "seal size");
_Static_assert(crypto_kx_SESSIONKEYBYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "kx session keys feed secretstream directly");
_Static_assert(QC_SIG_BYTES == crypto_sign_BYTES, "signature size");

/* Buffers above this are released after their frame so that one large frame does not pin
 * memory for the life of the link. */
#define NET_RX_KEEP_BYTES (64u * 1024u)

const char *net_fail_name(net_fail_t reason) {
    switch (reason) {
    case NET_FAIL_NONE: return "none";
    case NET_FAIL_GARBAGE: return "garbage";
    case NET_FAIL_CHAIN: return "wrong-chain";
    case NET_FAIL_UNKNOWN_KEY: return "unknown-key";
    case NET_FAIL_ROLE: return "wrong-role";
    case NET_FAIL_SIGNATURE: return "bad-signature";
    case NET_FAIL_TIMEOUT: return "timeout";
    case NET_FAIL_IO: return "io";
    case NET_FAIL_REFUSED: return "refused";
    case NET_FAIL_COUNT: break;
    }
    return "unknown";
}

/* ---------------------------------------------------------------- handshake messages */

void net_hello_encode(const net_hello_t *h, uint8_t out[NET_HELLO_BYTES]) {
    uint8_t *p = out;
    memcpy(p, NET_MAGIC, NET_MAGIC_BYTES), p += NET_MAGIC_BYTES;
    *p++ = h->version;
    *p++ = h->role;
    memcpy(p, h->chain.b, QC_HASH_BYTES), p += QC_HASH_BYTES;
    memcpy(p, h->identity.b, QC_PUBKEY_BYTES), p += QC_PUBKEY_BYTES;
    memcpy(p, h->eph, NET_EPH_BYTES), p += NET_EPH_BYTES;
    QC_ASSERT(p == out + NET_HELLO_BYTES);
}

int net_hello_decode(const uint8_t in[NET_HELLO_BYTES], net_hello_t *h) {
    const uint8_t *p = in;
    if (memcmp(p, NET_MAGIC, NET_MAGIC_BYTES) != 0) return QC_ERR_INVALID;
    p += NET_MAGIC_BYTES;
    h->version = *p++;
    h->role = *p++;
    if (h->version != NET_WIRE_VERSION) return QC_ERR_INVALID;
    if (h->role != NET_ROLE_INITIATOR && h->role != NET_ROLE_RESPONDER) return QC_ERR_INVALID;
    memcpy(h->chain.b, p, QC_HASH_BYTES), p += QC_HASH_BYTES;
    memcpy(h->identity.b, p, QC_PUBKEY_BYTES), p += QC_PUBKEY_BYTES;
    memcpy(h->eph, p, NET_EPH_BYTES), p += NET_EPH_BYTES;
    QC_ASSERT(p == in + NET_HELLO_BYTES);
    return QC_OK;
}

void net_transcript(uint8_t out[NET_TRANSCRIPT_BYTES], const qc_hash_t *chain,
                    const net_hello_t *initiator, const net_hello_t *responder,
                    net_role_t signer) {
    uint8_t *p = out;
    *p++ = NET_WIRE_VERSION;
    memcpy(p, chain->b, QC_HASH_BYTES), p += QC_HASH_BYTES;
    memcpy(p, initiator->identity.b, QC_PUBKEY_BYTES), p += QC_PUBKEY_BYTES;
    memcpy(p, initiator->eph, NET_EPH_BYTES), p += NET_EPH_BYTES;
    memcpy(p, responder->identity.b, QC_PUBKEY_BYTES), p += QC_PUBKEY_BYTES;
    memcpy(p, responder->eph, NET_EPH_BYTES), p += NET_EPH_BYTES;
    *p++ = (uint8_t)signer;
    QC_ASSERT(p == out + NET_TRANSCRIPT_BYTES);
}

/* ---------------------------------------------------------------- handshake state machine */

/* The transcript as the given signer signs it. */
static void hs_transcript(const net_hs_t *hs, net_role_t signer,
                          uint8_t out[NET_TRANSCRIPT_BYTES]) {
    const net_hello_t *ini = hs->role == NET_ROLE_INITIATOR ? &hs->mine : &hs->theirs;
    const net_hello_t *rsp = hs->role == NET_ROLE_INITIATOR ? &hs->theirs : &hs->mine;
    net_transcript(out, hs->cfg->chain, ini, rsp, signer);
}

void net_hs_start(net_hs_t *hs, const net_hs_config_t *cfg, net_role_t role,
                  uint32_t expected_peer, const uint8_t *eph_seed,
                  uint8_t hello_out[NET_HELLO_BYTES]) {
    QC_ASSERT(cfg->self < cfg->n);
    QC_ASSERT(role == NET_ROLE_RESPONDER || expected_peer < cfg->n);
    memset(hs, 0, sizeof *hs);
    hs->cfg = cfg;
    hs->role = role;
    hs->state = NET_HS_WAIT_HELLO;
    hs->peer = role == NET_ROLE_INITIATOR ? expected_peer : NET_PEER_NONE;
    if (eph_seed != NULL)
        crypto_kx_seed_keypair(hs->mine.eph, hs->eph_sk, eph_seed);
    else
        crypto_kx_keypair(hs->mine.eph, hs->eph_sk);
    hs->mine.version = NET_WIRE_VERSION;
    hs->mine.role = (uint8_t)role;
    hs->mine.chain = *cfg->chain;
    memcpy(hs->mine.identity.b, cfg->sk->b + 32, QC_PUBKEY_BYTES);
    net_hello_encode(&hs->mine, hello_out);
}

static int hs_fail(net_hs_t *hs, net_fail_t reason, int err) {
    hs->state = NET_HS_FAILED;
    hs->fail = reason;
    sodium_memzero(hs->eph_sk, sizeof hs->eph_sk);
    return err;
}

net_fail_t net_hello_check(const net_hs_config_t *cfg, net_role_t my_role,
                           uint32_t expected_peer, const uint8_t in[NET_HELLO_BYTES],
                           net_hello_t *out, uint32_t *peer_out) {
    memset(out, 0, sizeof *out);
    if (net_hello_decode(in, out) != QC_OK || out->role == (uint8_t)my_role)
        return NET_FAIL_GARBAGE;
    if (sodium_memcmp(out->chain.b, cfg->chain->b, QC_HASH_BYTES) != 0) return NET_FAIL_CHAIN;
    if (my_role == NET_ROLE_INITIATOR) {
        QC_ASSERT(expected_peer < cfg->n);
        if (sodium_memcmp(out->identity.b, cfg->keys[expected_peer].b, QC_PUBKEY_BYTES) != 0)
            return NET_FAIL_UNKNOWN_KEY;
        *peer_out = expected_peer;
        return NET_FAIL_NONE;
    }
    for (uint32_t i = 0; i < cfg->n; i++) {
        if (sodium_memcmp(out->identity.b, cfg->keys[i].b, QC_PUBKEY_BYTES) != 0) continue;
        if (i == cfg->self) return NET_FAIL_ROLE;
        *peer_out = i;
        return NET_FAIL_NONE;
    }
    return NET_FAIL_UNKNOWN_KEY;
}

int net_hs_on_hello(net_hs_t *hs, const uint8_t in[NET_HELLO_BYTES],
                    uint8_t auth_out[NET_AUTH_BYTES]) {
    if (hs->state != NET_HS_WAIT_HELLO) return QC_ERR_STATE;
    uint32_t peer = NET_PEER_NONE;
    net_fail_t fail = net_hello_check(hs->cfg, hs->role, hs->peer, in, &hs->theirs, &peer);
    if (fail != NET_FAIL_NONE)
        return hs_fail(hs, fail, fail == NET_FAIL_GARBAGE || fail == NET_FAIL_CHAIN
                                     ? QC_ERR_INVALID : QC_ERR_MEMBER);
    /* Under the dial order (lower index dials) a higher index only knocks: it asks to be
     * dialled and gets no link. */
    hs->peer = peer;
    hs->knock = hs->role == NET_ROLE_RESPONDER && peer > hs->cfg->self;
    int rc;
    /* crypto_kx refuses low-order points, which would make the shared secret predictable. */
    if (hs->role == NET_ROLE_INITIATOR)
        rc = crypto_kx_client_session_keys(hs->rx_key, hs->tx_key, hs->mine.eph, hs->eph_sk,
                                           hs->theirs.eph);
    else
        rc = crypto_kx_server_session_keys(hs->rx_key, hs->tx_key, hs->mine.eph, hs->eph_sk,
                                           hs->theirs.eph);
    sodium_memzero(hs->eph_sk, sizeof hs->eph_sk); /* forward secrecy starts here */
    if (rc != 0) return hs_fail(hs, NET_FAIL_GARBAGE, QC_ERR_INVALID);

    uint8_t transcript[NET_TRANSCRIPT_BYTES];
    qc_sig_t sig;
    hs_transcript(hs, hs->role, transcript);
    qc_sign_ctx(&sig, hs->cfg->sk, QC_CTX_HANDSHAKE, transcript, sizeof transcript);
    memcpy(auth_out, sig.b, QC_SIG_BYTES);
    crypto_secretstream_xchacha20poly1305_init_push(&hs->tx, auth_out + QC_SIG_BYTES,
                                                    hs->tx_key);
    sodium_memzero(hs->tx_key, sizeof hs->tx_key);
    hs->state = NET_HS_WAIT_AUTH;
    return QC_OK;
}

int net_hs_on_auth(net_hs_t *hs, const uint8_t in[NET_AUTH_BYTES]) {
    if (hs->state != NET_HS_WAIT_AUTH) return QC_ERR_STATE;
    net_role_t peer_role = hs->role == NET_ROLE_INITIATOR ? NET_ROLE_RESPONDER
                                                          : NET_ROLE_INITIATOR;
    uint8_t transcript[NET_TRANSCRIPT_BYTES];
    qc_sig_t sig;
    hs_transcript(hs, peer_role, transcript);
    memcpy(sig.b, in, QC_SIG_BYTES);
    if (qc_verify_ctx(&sig, &hs->theirs.identity, QC_CTX_HANDSHAKE, transcript,
                      sizeof transcript) != QC_OK)
        return hs_fail(hs, NET_FAIL_SIGNATURE, QC_ERR_SIGNATURE);
    /* A header the peer did not make only yields a stream whose first frame fails to open. */
    if (crypto_secretstream_xchacha20poly1305_init_pull(&hs->rx, in + QC_SIG_BYTES,
                                                        hs->rx_key) != 0)
        return hs_fail(hs, NET_FAIL_GARBAGE, QC_ERR_INVALID);
    sodium_memzero(hs->rx_key, sizeof hs->rx_key);
    hs->state = NET_HS_DONE;
    return QC_OK;
}

void net_hs_wipe(net_hs_t *hs) { sodium_memzero(hs, sizeof *hs); }

/* ---------------------------------------------------------------- frames */

void net_frame_seal(net_stream_t *tx, uint8_t type, const void *payload, uint32_t len,
                    uint8_t *out) {
    uint8_t plain[NET_FRAME_HEADER_PLAIN_BYTES];
    qc_put_u32(plain, len);
    plain[4] = type;
    crypto_secretstream_xchacha20poly1305_push(tx, out, NULL, plain, sizeof plain, NULL, 0,
                                               crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    if (len > 0)
        crypto_secretstream_xchacha20poly1305_push(
            tx, out + NET_FRAME_HEADER_BYTES, NULL, payload, len, NULL, 0,
            crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

void net_rx_init(net_rx_t *rx, const net_stream_t *st, uint32_t payload_max) {
    memset(rx, 0, sizeof *rx);
    rx->st = *st;
    rx->payload_max = payload_max;
}

void net_rx_free(net_rx_t *rx) {
    free(rx->cbuf);
    free(rx->pbuf);
    sodium_memzero(rx, sizeof *rx);
}

size_t net_rx_partial_bytes(const net_rx_t *rx) {
    return rx->in_body ? NET_FRAME_HEADER_BYTES + rx->cbuf_have : rx->hdr_have;
}

/* Opens one sealed message; only plain MESSAGE tags are part of the protocol. */
static int rx_open(net_rx_t *rx, uint8_t *out, const uint8_t *c, size_t clen) {
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&rx->st, out, NULL, &tag, c, clen, NULL, 0)
            != 0 ||
        tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        return QC_ERR_CRYPTO;
    return QC_OK;
}

static int rx_header(net_rx_t *rx) {
    uint8_t plain[NET_FRAME_HEADER_PLAIN_BYTES];
    if (rx_open(rx, plain, rx->hdr, NET_FRAME_HEADER_BYTES) != QC_OK) return QC_ERR_CRYPTO;
    rx->hdr_have = 0;
    rx->len = qc_get_u32(plain);
    rx->type = plain[4];
    if (rx->type == NET_FRAME_PING) return rx->len == 0 ? QC_OK : QC_ERR_INVALID;
    if (rx->type != NET_FRAME_DATA) return QC_ERR_INVALID;
    if (rx->len > rx->payload_max) return QC_ERR_TOOBIG;
    if (rx->len > 0) rx->in_body = true;
    return QC_OK;
}

static int rx_deliver(net_rx_t *rx, const uint8_t *c, net_frame_cb cb, void *user) {
    if (rx->len > rx->pbuf_cap) {
        free(rx->pbuf);
        rx->pbuf_cap = 0;
        rx->pbuf = malloc(rx->len);
        if (rx->pbuf == NULL) return QC_ERR_NOMEM;
        rx->pbuf_cap = rx->len;
    }
    int rc = rx_open(rx, rx->pbuf, c, (size_t)rx->len + NET_SEAL_BYTES);
    rx->in_body = false;
    rx->cbuf_have = 0;
    if (rx->cbuf_cap > NET_RX_KEEP_BYTES) {
        free(rx->cbuf);
        rx->cbuf = NULL;
        rx->cbuf_cap = 0;
    }
    if (rc != QC_OK) return rc;
    rc = cb(user, rx->type, rx->pbuf, rx->len);
    if (rx->pbuf_cap > NET_RX_KEEP_BYTES) {
        free(rx->pbuf);
        rx->pbuf = NULL;
        rx->pbuf_cap = 0;
    }
    return rc;
}

/* Consumes body bytes from in; delivers when the body is complete. *used gets the count. */
static int rx_body(net_rx_t *rx, const uint8_t *in, size_t len, size_t *used, net_frame_cb cb,
                   void *user) {
    size_t need = (size_t)rx->len + NET_SEAL_BYTES;
    if (rx->cbuf_have == 0 && len >= need) { /* whole body at hand: open it in place */
        *used = need;
        return rx_deliver(rx, in, cb, user);
    }
    if (rx->cbuf_cap < need) {
        size_t cap = need > NET_RX_KEEP_BYTES ? need : NET_RX_KEEP_BYTES;
        free(rx->cbuf);
        rx->cbuf_cap = 0;
        rx->cbuf = malloc(cap);
        if (rx->cbuf == NULL) return QC_ERR_NOMEM;
        rx->cbuf_cap = cap;
    }
    size_t take = need - rx->cbuf_have < len ? need - rx->cbuf_have : len;
    memcpy(rx->cbuf + rx->cbuf_have, in, take);
    rx->cbuf_have += take;
    *used = take;
    return rx->cbuf_have == need ? rx_deliver(rx, rx->cbuf, cb, user) : QC_OK;
}

int net_rx_feed(net_rx_t *rx, const uint8_t *in, size_t len, net_frame_cb cb, void *user) {
    while (rx->err == QC_OK && len > 0) {
        int rc;
        size_t used;
        if (rx->in_body) {
            rc = rx_body(rx, in, len, &used, cb, user);
        } else {
            used = NET_FRAME_HEADER_BYTES - rx->hdr_have < len
                       ? NET_FRAME_HEADER_BYTES - rx->hdr_have : len;
            memcpy(rx->hdr + rx->hdr_have, in, used);
            rx->hdr_have += used;
            rc = QC_OK;
            if (rx->hdr_have == NET_FRAME_HEADER_BYTES) {
                rc = rx_header(rx);
                if (rc == QC_OK && !rx->in_body) rc = cb(user, rx->type, rx->hdr, 0);
            }
        }
        in += used;
        len -= used;
        if (rc < 0) rx->err = rc;   /* protocol errors (and the callback's) are sticky */
        else if (rc > 0) return rc; /* the callback asked to stop */
    }
    return rx->err;
}
