/* net_codec.h - the peer-link wire format with no I/O: the two handshake messages, the signed
 * transcript, the handshake state machine, and the encrypted length-prefixed frames.
 *
 * The libuv transport (net.c) only moves these bytes; unit tests and libFuzzer targets drive
 * this module directly. The byte-level layout is specified in docs/NETWORK.md.
 *
 * Handshake (the initiator sends HELLO at once; the responder sends its HELLO, with its AUTH,
 * only after the initiator's HELLO passed net_hello_check, so that a connection that cannot
 * name the chain and a member costs it no cryptography; each side sends AUTH after it has read
 * the other's HELLO):
 *   HELLO = "QCHN" || u8 version || u8 role || chain[32] || identity_pk[32] || ephemeral_pk[32]
 *   AUTH  = Ed25519 signature[64] || secretstream header[24]
 * The signature is by the sender's node key over QC_CTX_HANDSHAKE || 0x00 || transcript, and the
 * transcript binds the chain, both identity keys, both ephemeral X25519 keys and the signer's
 * role. Session keys come from crypto_kx over the ephemeral keys (initiator = kx client), so a
 * recorded handshake replayed to a node fails: the node's fresh ephemeral key changes the
 * transcript, and the replayed signature no longer verifies.
 *
 * Frames, after the handshake, one crypto_secretstream_xchacha20poly1305 stream per direction:
 *   header = seal(u32 payload_len || u8 type)            (5 + 17 = 22 bytes)
 *   body   = seal(payload)  only when payload_len > 0    (payload_len + 17 bytes)
 * The length is authenticated before any body byte is buffered, so an unauthenticated sender
 * can make a receiver hold at most one 22-byte header. */
#ifndef NET_CODEC_H
#define NET_CODEC_H

#include <sodium.h>

#include "qc.h"

#define NET_WIRE_VERSION 1
#define NET_MAGIC "QCHN"
#define NET_MAGIC_BYTES 4
#define NET_EPH_BYTES 32 /* crypto_kx_PUBLICKEYBYTES */
#define NET_HELLO_BYTES (NET_MAGIC_BYTES + 2 + QC_HASH_BYTES + QC_PUBKEY_BYTES + NET_EPH_BYTES)
#define NET_SS_HEADER_BYTES 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define NET_AUTH_BYTES (QC_SIG_BYTES + NET_SS_HEADER_BYTES)
/* u8 version || chain || initiator identity || initiator eph || responder identity ||
 * responder eph || u8 signer role */
#define NET_TRANSCRIPT_BYTES (1 + QC_HASH_BYTES + 2 * (QC_PUBKEY_BYTES + NET_EPH_BYTES) + 1)
#define NET_SEAL_BYTES 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define NET_FRAME_HEADER_PLAIN_BYTES 5
#define NET_FRAME_HEADER_BYTES (NET_FRAME_HEADER_PLAIN_BYTES + NET_SEAL_BYTES)

typedef crypto_secretstream_xchacha20poly1305_state net_stream_t;

/* Who opened the TCP connection. The initiator is the crypto_kx client. */
typedef enum { NET_ROLE_INITIATOR = 0, NET_ROLE_RESPONDER = 1 } net_role_t;

typedef enum {
    NET_FRAME_DATA = 1, /* payload goes to the application */
    NET_FRAME_PING = 2, /* keepalive; payload_len must be 0 */
} net_frame_type_t;

/* Why a handshake was refused; counted per reason in the transport's stats. */
typedef enum {
    NET_FAIL_NONE = 0,
    NET_FAIL_GARBAGE,     /* bad magic, version or role; low-order ephemeral key */
    NET_FAIL_CHAIN,       /* the peer is on another chain (different chain binding) */
    NET_FAIL_UNKNOWN_KEY, /* identity not in the peer table, or not the peer we dialled */
    NET_FAIL_ROLE,        /* peer claims our own key */
    NET_FAIL_SIGNATURE,   /* transcript signature invalid (this is how replays fail) */
    NET_FAIL_TIMEOUT,     /* handshake not finished within handshake_timeout_ms */
    NET_FAIL_IO,          /* connection closed or reset during the handshake */
    NET_FAIL_REFUSED,     /* too many handshakes pending; the connection was dropped */
    NET_FAIL_COUNT
} net_fail_t;

/* Static name of a reason ("unknown-key"); never NULL. */
const char *net_fail_name(net_fail_t reason);

/* ---------------------------------------------------------------- handshake messages */

typedef struct {
    uint8_t version;
    uint8_t role; /* net_role_t of the sender */
    qc_hash_t chain;
    qc_pubkey_t identity;
    uint8_t eph[NET_EPH_BYTES];
} net_hello_t;

void net_hello_encode(const net_hello_t *h, uint8_t out[NET_HELLO_BYTES]);
/* Strict: QC_ERR_INVALID unless magic, version and role are exactly valid. */
int net_hello_decode(const uint8_t in[NET_HELLO_BYTES], net_hello_t *h);

/* The signed transcript (without the context prefix). */
void net_transcript(uint8_t out[NET_TRANSCRIPT_BYTES], const qc_hash_t *chain,
                    const net_hello_t *initiator, const net_hello_t *responder,
                    net_role_t signer);

/* ---------------------------------------------------------------- handshake state machine */

/* What a node knows about its epoch; all borrowed for the handshake's lifetime. */
typedef struct {
    const qc_hash_t *chain;  /* chain binding (genesis hash) */
    const qc_seckey_t *sk;   /* own Ed25519 node key */
    const qc_pubkey_t *keys; /* node keys, indexed by validator index */
    uint32_t n;              /* entries in keys */
    uint32_t self;           /* own index; keys[self] is sk's public half */
} net_hs_config_t;

typedef enum { NET_HS_WAIT_HELLO, NET_HS_WAIT_AUTH, NET_HS_DONE, NET_HS_FAILED } net_hs_state_t;

#define NET_PEER_NONE UINT32_MAX

typedef struct {
    const net_hs_config_t *cfg;
    net_role_t role;
    net_hs_state_t state;
    net_fail_t fail;    /* set when state is NET_HS_FAILED */
    uint32_t peer;      /* dialled peer (initiator), authenticated peer once DONE */
    bool knock;         /* responder: the initiator has a higher index, so this connection is
                           a knock (a request to be dialled, net.h), not a link */
    net_hello_t mine, theirs;
    uint8_t eph_sk[32];
    uint8_t rx_key[32], tx_key[32];
    net_stream_t tx, rx; /* valid once DONE; the caller copies them out */
} net_hs_t;

/* Checks a peer's HELLO with no cryptography at all: format, a role opposite to my_role, the
 * chain binding, and the identity (an initiator accepts only expected_peer's key; a responder
 * any other validator's). Fills *out (decoded as far as it goes, so a wrong chain's binding
 * can be reported) and, on success, *peer_out with the peer's index. Returns NET_FAIL_NONE or
 * the reason to refuse (GARBAGE, CHAIN, UNKNOWN_KEY, ROLE for a responder's own key). */
net_fail_t net_hello_check(const net_hs_config_t *cfg, net_role_t my_role,
                           uint32_t expected_peer, const uint8_t in[NET_HELLO_BYTES],
                           net_hello_t *out, uint32_t *peer_out);

/* Starts a handshake and writes our HELLO. An initiator names the peer it dials (its key is
 * the only one accepted); a responder passes NET_PEER_NONE. eph_seed: NULL for a fresh random
 * ephemeral key (always, in the node), or 32 bytes for reproducible tests and fuzzing. */
void net_hs_start(net_hs_t *hs, const net_hs_config_t *cfg, net_role_t role,
                  uint32_t expected_peer, const uint8_t *eph_seed,
                  uint8_t hello_out[NET_HELLO_BYTES]);
/* Consumes the peer's HELLO; on success writes our AUTH and moves to NET_HS_WAIT_AUTH. A
 * responder accepts any other validator: a lower index dials the link, a higher one knocks
 * (hs->knock set; the caller must not use the connection as a link). Errors (state
 * NET_HS_FAILED, reason in hs->fail): QC_ERR_INVALID for GARBAGE and CHAIN, QC_ERR_MEMBER for
 * UNKNOWN_KEY and ROLE (our own key); QC_ERR_STATE when called out of order. */
int net_hs_on_hello(net_hs_t *hs, const uint8_t in[NET_HELLO_BYTES],
                    uint8_t auth_out[NET_AUTH_BYTES]);
/* Consumes the peer's AUTH; on success the state is NET_HS_DONE and hs->tx/hs->rx are ready.
 * Errors: QC_ERR_SIGNATURE (hs->fail = NET_FAIL_SIGNATURE), QC_ERR_STATE. */
int net_hs_on_auth(net_hs_t *hs, const uint8_t in[NET_AUTH_BYTES]);
/* Erases every secret in hs (ephemeral key, session keys, stream states). */
void net_hs_wipe(net_hs_t *hs);

/* ---------------------------------------------------------------- frames */

/* Wire bytes of a frame carrying payload_len bytes. */
static inline size_t net_frame_wire_bytes(size_t payload_len) {
    return NET_FRAME_HEADER_BYTES + (payload_len > 0 ? payload_len + NET_SEAL_BYTES : 0);
}

/* Seals one frame into out (net_frame_wire_bytes(len) bytes). The sealer does not check a
 * size limit: the sender's API does, and tests use this to build oversized frames. */
void net_frame_seal(net_stream_t *tx, uint8_t type, const void *payload, uint32_t len,
                    uint8_t *out);

/* Called for each authenticated frame (PING included); payload is borrowed for the call and is
 * never NULL. Return 0 to go on, a positive value to stop net_rx_feed (which returns it), or a
 * negative error, which becomes the decoder's sticky error. */
typedef int (*net_frame_cb)(void *user, uint8_t type, const uint8_t *payload, size_t len);

/* Incremental frame decoder over the receive stream. Owns its buffers (net_rx_free). */
typedef struct {
    net_stream_t st;
    uint32_t payload_max;
    uint8_t hdr[NET_FRAME_HEADER_BYTES];
    size_t hdr_have;
    bool in_body;
    uint8_t type;
    uint32_t len;
    uint8_t *cbuf;  /* body ciphertext, only when it arrives in pieces */
    size_t cbuf_have, cbuf_cap;
    uint8_t *pbuf;  /* plaintext of the current body */
    size_t pbuf_cap;
    int err;        /* sticky: once a frame is bad, every later feed fails the same way */
} net_rx_t;

/* st is copied. payload_max: largest DATA payload accepted. */
void net_rx_init(net_rx_t *rx, const net_stream_t *st, uint32_t payload_max);
/* Feeds len bytes (any split of the stream). Calls cb for each complete frame, in order.
 * Returns QC_OK; the cb's nonzero value; or a sticky error: QC_ERR_CRYPTO (forged, corrupt or
 * reordered bytes), QC_ERR_TOOBIG (payload_len > payload_max), QC_ERR_INVALID (unknown type,
 * PING with a payload), QC_ERR_NOMEM. */
int net_rx_feed(net_rx_t *rx, const uint8_t *in, size_t len, net_frame_cb cb, void *user);
/* Bytes of a frame received so far but not yet delivered (0 at a frame boundary). */
size_t net_rx_partial_bytes(const net_rx_t *rx);
void net_rx_free(net_rx_t *rx);

#endif
