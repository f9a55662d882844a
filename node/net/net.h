/* net.h - secure peer links between validators, on a caller's libuv loop.
 *
 * Every pair of validators keeps one TCP link; the lower index dials the higher one and
 * reconnects with jittered, capped exponential backoff. The higher index, which never dials,
 * knocks instead: it opens an authenticated handshake that the lower one answers by closing it
 * and dialling back at once, so a node that (re)starts, or lost a link, has every link back
 * within a round trip or two instead of waiting out the other side's backoff (docs/NETWORK.md,
 * "Who connects"). A link carries application frames only
 * after a mutually authenticated, forward-secret handshake bound to the chain (net_codec.h,
 * docs/NETWORK.md); nothing from an unauthenticated or misbehaving connection reaches a callback.
 * Send queues are bounded per peer, idle links are closed, and keepalive pings keep healthy
 * links warm.
 *
 * Threading: single-threaded; every function must run on the loop's thread.
 * Lifetime (libuv style): net_init() creates long-lived handles; after net_close() the net_t
 * memory may be reused or freed only once the close callback has run. */
#ifndef NET_H
#define NET_H

#include <uv.h>

#include "net_codec.h"
#include "qc.h"

#define NET_PEERS_MAX 64          /* == QC_VALIDATORS_MAX */
#define NET_ADDR_MAX 64           /* "host:port" incl. NUL */
#define NET_READ_BYTES (64 * 1024) /* per-link socket read buffer */

typedef struct net net_t;
typedef struct net_link net_link_t;

/* peer: validator index of the sender. data is borrowed for the duration of the call (copy to
 * keep it) and is never NULL, even when len is 0. May call any net_ function, net_close too. */
typedef void (*net_message_cb)(net_t *net, uint32_t peer, const uint8_t *data, size_t len,
                               void *user);
/* A peer's authenticated link came up (up = true) or went down. A link replaced by a newer one
 * from the same peer reports down then up. Not called after net_close(). */
typedef void (*net_peer_state_cb)(net_t *net, uint32_t peer, bool up, void *user);
/* Runs once every handle of net is closed and all memory net allocated is freed. */
typedef void (*net_close_cb)(net_t *net);
/* A uniformly random 32-bit value for backoff jitter. */
typedef uint32_t (*net_random_cb)(void *user);

typedef struct {
    qc_pubkey_t node_key;     /* the validator's Ed25519 node key from the membership */
    char addr[NET_ADDR_MAX];  /* where it listens: "127.0.0.1:7001", "[::1]:7001", or
                                 "host.example:7001" (resolved again at every dial) */
} net_peer_config_t;

typedef struct {
    uint32_t self;                          /* own validator index; < n */
    qc_seckey_t node_sk;                    /* own node key; its public half = peers[self] */
    uint32_t n;                             /* validators in the epoch, self included */
    net_peer_config_t peers[NET_PEERS_MAX]; /* indexed by validator index */
    qc_hash_t chain;                        /* chain binding: the genesis hash */
    char listen_addr[NET_ADDR_MAX];         /* "0.0.0.0:7001" (or a host name); port 0 picks
                                               a free port; "" only for validator 0, which
                                               no one dials */
    uint32_t frame_bytes_max;               /* largest payload; default 16 MiB */
    size_t send_queue_bytes_max;            /* per peer, wire bytes not yet written; default
                                               64 MiB, must hold one largest frame */
    uint32_t handshake_timeout_ms;          /* connect + handshake; default 5000 */
    uint32_t keepalive_ms;                  /* ping after this much send silence; 0 = never */
    uint32_t idle_timeout_ms;               /* close after this much receive silence, or when
                                               queued bytes make no progress this long;
                                               0 = never */
    uint32_t backoff_base_ms, backoff_max_ms; /* reconnect delays: default 100 and 10000 */
    uint32_t pending_max;                   /* inbound handshakes from sources that are not
                                               a member's address, all together; 64 */
    uint32_t pending_per_source_max;        /* inbound handshakes from one source address
                                               (IPv4 address or IPv6 /64); a member's
                                               address gets this much per member there,
                                               outside pending_max; 4 */
    uint32_t accepts_per_tick_max;          /* connections accepted per loop iteration; 32 */
    bool learner;                           /* this node is not a validator of its ledger's
                                               epoch, which may be older than the members':
                                               their indices need not match its own, so a
                                               link it opens is kept as a link, never taken
                                               for a knock (docs/GOVERNANCE.md) */
    net_random_cb random;                   /* NULL = randombytes_random */
    void *random_user;
} net_config_t;

/* Zeroes cfg and sets every default named above. */
void net_config_default(net_config_t *cfg);

/* Reconnect delay after `attempts` consecutive failures: d = min(max, base * 2^attempts),
 * then uniform in [d/2, d] using random ("equal jitter"). */
uint64_t net_backoff_ms(uint32_t base_ms, uint32_t max_ms, uint32_t attempts, uint32_t random);

typedef struct {
    uint64_t bytes_in, bytes_out;   /* wire bytes on authenticated links (out = accepted) */
    uint64_t frames_in, frames_out; /* DATA frames */
    uint64_t pings_in, pings_out;
    uint64_t drops_full;            /* net_send refused with QC_ERR_FULL */
    uint64_t links_up, links_down;  /* authenticated links opened / closed */
    uint64_t dial_failures;         /* outbound connects that failed before a handshake */
    uint64_t idle_closes;           /* links closed for receive silence or a stalled send */
    uint64_t protocol_errors;       /* authenticated links closed for a bad frame */
    uint64_t knocks_out;            /* knocks this node completed at this lower-index peer */
    uint64_t knocks_in;             /* authenticated knocks from this higher-index peer */
    uint64_t knock_dials;           /* dials those knocks started at once */
    uint64_t dup_identity;          /* a second live connection claimed this peer's key while
                                       its link was alive: refused, the link kept */
    uint64_t hs_fail[NET_FAIL_COUNT]; /* refused handshakes attributed to this peer */
    size_t queue_bytes;             /* gauge: bytes now queued to this peer */
    bool up;
} net_peer_stats_t;

typedef struct {
    uint64_t hs_fail[NET_FAIL_COUNT]; /* every refused handshake, attributed or not */
    uint64_t accepted;                /* inbound TCP connections accepted */
    uint32_t pending;                 /* gauge: inbound connections in the handshake */
    uint32_t pending_outsiders;       /* gauge: those from no member's address */
    uint64_t log_suppressed;          /* log lines the rate limits left out (NETWORK.md) */
    uint32_t peers_up;                /* gauge */
} net_stats_t;

typedef struct {
    uv_timer_t dial_timer;   /* (re)dial a higher index, or knock at a lower one */
    net_link_t *link;        /* the authenticated link, or NULL */
    net_link_t *dialing;     /* our outbound attempt (a dial or a knock) in progress, or NULL */
    uint32_t attempts;       /* consecutive attempts without a link, for backoff */
    bool addressable;        /* addr is usable: a lower peer without one is never knocked */
    struct sockaddr_storage addr; /* numeric address, or the last one resolved */
    bool resolve;            /* addr names a host: resolve it at every dial */
    bool addr_known;         /* addr holds a numeric address (given, or resolved once): the
                                peer's connections from it get a member's handshake budget */
    net_peer_stats_t stats;
} net_peer_t;

/* Public so callers can embed it; every field is private to net.c. */
struct net {
    uv_loop_t *loop;
    net_config_t cfg;
    net_message_cb on_message;
    net_peer_state_cb on_peer_state;
    void *user;
    net_hs_config_t hs_cfg;
    qc_pubkey_t keys[NET_PEERS_MAX];
    uv_poll_t listener;       /* readable listening socket: net.c accepts from it itself,
                                 a bounded number per loop iteration */
    int listen_fd;
    bool listening, listen_paused; /* paused: accept failed (e.g. no fds left) */
    uv_timer_t housekeeper;   /* once a second: log-rate summaries, resuming the listener */
    uint16_t listen_port;
    uv_prepare_t flusher;     /* writes coalesced frames; always open, so that closing is
                                 always asynchronous */
    net_peer_t peers[NET_PEERS_MAX];
    net_link_t *links;        /* every link not yet freed */
    uint32_t handles;         /* open uv handles and getaddrinfo requests, links' included */
    bool closing;
    net_close_cb close_cb;
    net_stats_t stats;
    /* Rate limits of the log lines others can cause (docs/NETWORK.md, "Logs"). */
    qc_lograte_t log_budget, log_hs_in, log_hs_out, log_chain, log_dup, log_link;
};

/* Validates cfg (copied), binds and listens, and at once dials every higher-index peer and
 * knocks at every lower-index one (a lower peer's address may be "" or unusable: it is then
 * only waited for).
 * on_message and on_peer_state are required; user is passed to both. A host-name listen
 * address is resolved here, synchronously. On error nothing was created and no callback will
 * run: QC_ERR_INVALID (bad config or address, unresolvable listen host), QC_ERR_IO (bind or
 * listen failed, e.g. the port is taken), QC_ERR_CRYPTO. */
int net_init(net_t *net, uv_loop_t *loop, const net_config_t *cfg, net_message_cb on_message,
             net_peer_state_cb on_peer_state, void *user);

/* Queues one DATA frame (data copied) to peer. QC_OK when queued; QC_ERR_FULL when the peer's
 * send queue cannot take it now (counted; the caller decides to drop or retry later);
 * QC_ERR_CLOSED when the peer has no authenticated link (nothing is queued for later);
 * QC_ERR_TOOBIG above frame_bytes_max; QC_ERR_RANGE for self or a bad index; QC_ERR_NOMEM. */
int net_send(net_t *net, uint32_t peer, const void *data, size_t len);

/* net_send to every peer whose link is up. Returns how many peers took the frame (>= 0), or
 * QC_ERR_TOOBIG / QC_ERR_CLOSED (net closing) before trying any. */
int net_broadcast(net_t *net, const void *data, size_t len);

bool net_peer_up(const net_t *net, uint32_t peer);
/* Counters for peer (< n), or global ones; valid until net_close's callback. */
const net_peer_stats_t *net_peer_stats(const net_t *net, uint32_t peer);
const net_stats_t *net_stats(const net_t *net);
/* The port actually listened on (useful with port 0), or 0 without a listener. */
uint16_t net_listen_port(const net_t *net);

/* Closes every link, timer and the listener, wipes the key, and frees everything; cb (may be
 * NULL) runs from the loop once all of it is done. No other callback runs after this call.
 * QC_ERR_STATE if already closing. */
int net_close(net_t *net, net_close_cb cb);

#endif
