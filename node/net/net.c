/* net.c - the libuv transport of peer links: listener, dialler with backoff, handshake driver,
 * encrypted framed I/O with bounded send queues, keepalives and idle timeouts. Every byte on
 * the wire is made and checked by net_codec.c; this file only moves bytes and keeps state. */
#define _GNU_SOURCE /* accept4 */
#include "net.h"
#include "net_fault.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fmt.h"

_Static_assert(NET_PEERS_MAX == QC_VALIDATORS_MAX, "one link per validator");

#define NET_FRAME_BYTES_LIMIT (1u << 30) /* keeps every wire size within uv_buf_t's unsigned */
#define NET_LISTEN_BACKLOG 128
#define NET_COALESCE_BYTES (64u * 1024u) /* frames this small share one write per iteration */

#define NET_HOUSEKEEP_MS 1000
#define NET_LOG_BURST 10 /* lines of one kind per QC_LOGRATE_WINDOW_MS */

typedef enum { LINK_CONNECTING, LINK_HANDSHAKE, LINK_UP, LINK_CLOSING } link_state_t;

/* What a handshake budget is kept for: an IPv4 address, or an IPv6 /64 (one host usually holds
 * a whole /64). A v4-mapped IPv6 address counts as the IPv4 one. */
typedef struct {
    uint8_t family; /* AF_INET, AF_INET6, or 0 for unknown */
    uint8_t b[8];
} net_source_t;

typedef struct {
    uv_write_t req;
    net_link_t *link;
    size_t len, cap;
    uint8_t data[];
} net_wreq_t;

/* One TCP connection. Allocated by link_new, freed after both handles' close callbacks. */
struct net_link {
    net_t *net;
    net_link_t *prev, *next;  /* net->links */
    uv_tcp_t tcp;
    uv_timer_t timer;         /* handshake deadline, then keepalive / idle checks */
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai_req;
    bool resolving;           /* gai_req is in flight */
    int refs;                 /* open handles + the in-flight getaddrinfo; freed at 0 */
    link_state_t state;
    bool outbound;
    bool counted_pending;     /* inbound and still in net->stats.pending */
    bool from_member;         /* inbound from a member's address (its own budget) */
    net_source_t source;      /* inbound: where it came from */
    bool active;              /* net->peers[peer].link == this */
    uint32_t peer;            /* dialled peer (outbound) or, once up, the authenticated one */
    net_hs_t hs;
    uint8_t hs_buf[NET_HELLO_BYTES]; /* the HELLO or AUTH being received */
    size_t hs_have;
    net_rx_t rx;
    net_stream_t tx;
    net_wreq_t *obuf;         /* frames sealed this loop iteration, not yet given to libuv */
    size_t queued_bytes;      /* wire bytes in obuf or given to uv_write, not yet written */
    uint64_t last_rx_ms, last_tx_ms, last_drain_ms;
    uint64_t created_ms;      /* uv_now when the connection began (accepted or dialled) */
    uint64_t up_ms;           /* uv_now when it became the peer's link */
    char remote[NET_ADDR_MAX];
    uint8_t rbuf[NET_READ_BYTES];
};


static void link_close(net_link_t *link);
static void peer_dial(net_t *net, uint32_t i, bool replace);

/* Logs through one of the net's rate limits (every line an outsider or a misbehaving peer can
 * cause goes through one; docs/NETWORK.md, "Logs"). */
#define NET_LOG(net, limit, level, ...) \
    QC_LOG_RATED(&(net)->limit, uv_now((net)->loop), level, __VA_ARGS__)
static void on_link_timer(uv_timer_t *t);

/* ---------------------------------------------------------------- config and addresses */

void net_config_default(net_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->frame_bytes_max = 16u << 20;
    cfg->send_queue_bytes_max = (size_t)64 << 20;
    cfg->handshake_timeout_ms = 5000;
    cfg->keepalive_ms = 2000;
    cfg->idle_timeout_ms = 10000;
    cfg->backoff_base_ms = 100;
    cfg->backoff_max_ms = 10000;
    cfg->pending_max = 64;
    cfg->pending_per_source_max = 4;
    cfg->accepts_per_tick_max = 32;
}

/* Splits "host:port" or "[v6]:port" into host and a decimal port of at most 65535. */
static int split_addr(const char *s, char host[NET_ADDR_MAX], char port[8], bool *v6) {
    size_t len = strnlen(s, NET_ADDR_MAX);
    if (len == 0 || len >= NET_ADDR_MAX) return QC_ERR_INVALID;
    const char *p;
    *v6 = s[0] == '[';
    if (*v6) {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':') return QC_ERR_INVALID;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        p = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL) return QC_ERR_INVALID;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        p = colon + 1;
    }
    size_t digits = strspn(p, "0123456789");
    if (host[0] == '\0' || digits == 0 || digits > 5 || p[digits] != '\0' ||
        strtol(p, NULL, 10) > 65535)
        return QC_ERR_INVALID;
    memcpy(port, p, digits + 1);
    return QC_OK;
}

/* Parses numeric "a.b.c.d:port" or "[v6]:port". */
static int parse_addr(const char *s, struct sockaddr_storage *out) {
    char host[NET_ADDR_MAX], port[8];
    bool v6;
    if (split_addr(s, host, port, &v6) != QC_OK) return QC_ERR_INVALID;
    int p = (int)strtol(port, NULL, 10);
    memset(out, 0, sizeof *out);
    int rc = v6 ? uv_ip6_addr(host, p, (struct sockaddr_in6 *)out)
                : uv_ip4_addr(host, p, (struct sockaddr_in *)out);
    return rc == 0 ? QC_OK : QC_ERR_INVALID;
}

/* A DNS name to resolve at each dial: letters, digits, '.', '-'; not starting with '-'. */
static bool is_hostname(const char *s) {
    char host[NET_ADDR_MAX], port[8];
    bool v6;
    if (split_addr(s, host, port, &v6) != QC_OK || v6 || host[0] == '-') return false;
    return strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
           strlen(host);
}

/* Resolves a host name synchronously (the listen address, once at start-up). */
static int resolve_now(const char *s, struct sockaddr_storage *out) {
    char host[NET_ADDR_MAX], port[8];
    bool v6;
    if (!is_hostname(s) || split_addr(s, host, port, &v6) != QC_OK) return QC_ERR_INVALID;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) return QC_ERR_INVALID;
    memset(out, 0, sizeof *out);
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return QC_OK;
}

static socklen_t addr_len(const struct sockaddr_storage *sa) {
    return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int config_check(const net_config_t *cfg) {
    if (cfg->n == 0 || cfg->n > NET_PEERS_MAX || cfg->self >= cfg->n) return QC_ERR_INVALID;
    uint8_t pk[QC_PUBKEY_BYTES];
    crypto_sign_ed25519_sk_to_pk(pk, cfg->node_sk.b);
    if (sodium_memcmp(pk, cfg->peers[cfg->self].node_key.b, sizeof pk) != 0)
        return QC_ERR_INVALID;
    for (uint32_t i = 0; i < cfg->n; i++)
        for (uint32_t j = i + 1; j < cfg->n; j++)
            if (memcmp(cfg->peers[i].node_key.b, cfg->peers[j].node_key.b, QC_PUBKEY_BYTES) == 0)
                return QC_ERR_INVALID; /* a key must name one validator */
    if (cfg->frame_bytes_max == 0 || cfg->frame_bytes_max > NET_FRAME_BYTES_LIMIT)
        return QC_ERR_INVALID;
    if (cfg->send_queue_bytes_max < net_frame_wire_bytes(cfg->frame_bytes_max))
        return QC_ERR_INVALID;
    if (cfg->handshake_timeout_ms == 0 || cfg->backoff_base_ms == 0 ||
        cfg->backoff_max_ms < cfg->backoff_base_ms || cfg->pending_max == 0 ||
        cfg->pending_per_source_max == 0 || cfg->accepts_per_tick_max == 0)
        return QC_ERR_INVALID;
    if (cfg->listen_addr[0] == '\0' && cfg->self > 0) return QC_ERR_INVALID;
    /* Our own pings must arrive well within the peer's idle window, or healthy links flap
     * (peers are expected to share these settings). */
    if (cfg->keepalive_ms > 0 && cfg->idle_timeout_ms > 0 &&
        cfg->idle_timeout_ms <= cfg->keepalive_ms)
        return QC_ERR_INVALID;
    return QC_OK;
}

uint64_t net_backoff_ms(uint32_t base_ms, uint32_t max_ms, uint32_t attempts, uint32_t random) {
    uint32_t shift = attempts < 20 ? attempts : 20;
    uint64_t d = (uint64_t)base_ms << shift;
    if (d > max_ms) d = max_ms;
    return d / 2 + random % (d - d / 2 + 1); /* "equal jitter": uniform in [d/2, d] */
}

/* A bound, listening socket made with plain POSIX calls, so that every way binding can fail
 * is seen before any libuv handle exists (net_init then has nothing to undo). */
static int listen_open(const struct sockaddr_storage *sa, uv_os_sock_t *fd_out,
                       uint16_t *port_out) {
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return QC_ERR_IO;
    int one = 1;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (const struct sockaddr *)sa, addr_len(sa)) != 0 ||
        listen(fd, NET_LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        QC_ERROR("net: cannot listen: %s", strerror(errno));
        close(fd);
        return QC_ERR_IO;
    }
    *port_out = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *fd_out = fd;
    return QC_OK;
}

/* ---------------------------------------------------------------- handle bookkeeping */

static void net_handle_closed(net_t *net) {
    QC_ASSERT(net->handles > 0);
    if (--net->handles > 0 || !net->closing) return;
    QC_ASSERT(net->links == NULL);
    net_close_cb cb = net->close_cb;
    if (cb != NULL) cb(net); /* may free net: nothing touches it after this */
}

static void on_net_handle_closed(uv_handle_t *h) { net_handle_closed(h->data); }

static void link_free(net_link_t *link);
static void link_release(net_link_t *link);

static void on_link_handle_closed(uv_handle_t *h) { link_release(h->data); }

/* Drops one reference (a closed handle or a finished getaddrinfo). */
static void link_release(net_link_t *link) {
    net_t *net = link->net;
    if (--link->refs == 0) link_free(link);
    net_handle_closed(net); /* last: it may run the user's close callback */
}

static void link_free(net_link_t *link) {
    net_t *net = link->net;
    if (link->prev != NULL) link->prev->next = link->next;
    else net->links = link->next;
    if (link->next != NULL) link->next->prev = link->prev;
    free(link->obuf);
    net_rx_free(&link->rx);
    net_hs_wipe(&link->hs);
    sodium_memzero(&link->tx, sizeof link->tx);
    free(link);
}

/* ---------------------------------------------------------------- links */

static net_link_t *link_new(net_t *net, bool outbound, uint32_t peer) {
    net_link_t *link = calloc(1, sizeof *link);
    if (link == NULL) return NULL;
    link->net = net;
    link->outbound = outbound;
    link->peer = peer;
    link->hs.peer = NET_PEER_NONE;
    link->state = outbound ? LINK_CONNECTING : LINK_HANDSHAKE;
    link->created_ms = uv_now(net->loop);
    QC_ASSERT(uv_tcp_init(net->loop, &link->tcp) == 0);
    QC_ASSERT(uv_timer_init(net->loop, &link->timer) == 0);
    link->tcp.data = link->timer.data = link->connect_req.data = link->gai_req.data = link;
    link->refs = 2;
    net->handles += 2;
    link->next = net->links;
    if (net->links != NULL) net->links->prev = link;
    net->links = link;
    return link;
}

static net_peer_t *link_peer(const net_link_t *link) {
    QC_ASSERT(link->peer < link->net->cfg.n);
    return &link->net->peers[link->peer];
}

static void on_write(uv_write_t *req, int status) {
    net_wreq_t *w = (net_wreq_t *)((char *)req - offsetof(net_wreq_t, req));
    net_link_t *link = w->link;
    QC_ASSERT(link->queued_bytes >= w->len);
    link->queued_bytes -= w->len;
    link->last_drain_ms = uv_now(link->net->loop);
    if (link->active) link_peer(link)->stats.queue_bytes = link->queued_bytes;
    free(w);
    if (status < 0 && status != UV_ECANCELED && link->state != LINK_CLOSING) {
        NET_LOG(link->net, log_link, QC_LOG_INFO, "net: write to %s failed: %s", link->remote,
                uv_strerror(status));
        link_close(link);
    }
}

/* Counts bytes entering the link's send queue (the coalescing buffer or libuv's queue). */
static void link_account(net_link_t *link, size_t len) {
    uint64_t now = uv_now(link->net->loop);
    if (link->queued_bytes == 0) link->last_drain_ms = now; /* stall clock starts now */
    link->queued_bytes += len;
    link->last_tx_ms = now;
    if (link->active) link_peer(link)->stats.queue_bytes = link->queued_bytes;
}

/* Hands w (transferred; its bytes already accounted) to libuv. */
static int link_submit(net_link_t *link, net_wreq_t *w) {
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&link->tcp, &b, 1, on_write);
    if (rc < 0) {
        link->queued_bytes -= w->len;
        free(w);
        NET_LOG(link->net, log_link, QC_LOG_INFO, "net: write to %s refused: %s",
                link->remote, uv_strerror(rc));
        link_close(link);
        return QC_ERR_CLOSED;
    }
    return QC_OK;
}

static net_wreq_t *wreq_new(net_link_t *link, size_t cap) {
    net_wreq_t *w = malloc(sizeof *w + cap);
    if (w == NULL) return NULL;
    w->link = link;
    w->len = 0;
    w->cap = cap;
    return w;
}

static int link_write_copy(net_link_t *link, const uint8_t *data, size_t len) {
    net_wreq_t *w = wreq_new(link, len);
    if (w == NULL) {
        link_close(link);
        return QC_ERR_NOMEM;
    }
    memcpy(w->data, data, len);
    w->len = len;
    link_account(link, len);
    return link_submit(link, w);
}

static void link_flush(net_link_t *link) {
    net_wreq_t *w = link->obuf;
    if (w == NULL) return;
    link->obuf = NULL;
    (void)link_submit(link, w);
}

/* Runs before the loop polls: one write per link for all frames queued since the last
 * iteration, instead of one write (and one syscall) per frame. */
static void on_flush(uv_prepare_t *prep) {
    net_t *net = prep->data;
    uv_prepare_stop(prep);
    for (net_link_t *link = net->links; link != NULL; link = link->next)
        if (link->state == LINK_UP) link_flush(link);
}

/* Room for wire more bytes at the end of the coalescing buffer, which grows by doubling up
 * to NET_COALESCE_BYTES and is flushed when that is not enough. */
static int link_obuf_reserve(net_link_t *link, size_t wire) {
    net_wreq_t *w = link->obuf;
    if (w != NULL && w->len + wire > NET_COALESCE_BYTES) {
        link_flush(link);
        if (link->state != LINK_UP) return QC_ERR_CLOSED;
        w = NULL;
    }
    size_t need = (w != NULL ? w->len : 0) + wire;
    if (w != NULL && need <= w->cap) return QC_OK;
    size_t cap = w != NULL ? w->cap * 2 : 4096;
    while (cap < need) cap *= 2;
    if (cap > NET_COALESCE_BYTES) cap = NET_COALESCE_BYTES;
    net_wreq_t *grown = realloc(w, sizeof *w + cap); /* not yet submitted: free to move */
    if (grown == NULL) return QC_ERR_NOMEM;
    if (w == NULL) grown->len = 0, grown->link = link;
    grown->cap = cap;
    link->obuf = grown;
    return QC_OK;
}

/* Seals and queues one frame on an authenticated link, within the queue bound. Small frames
 * are coalesced and written once per loop iteration; large ones are written on their own. */
static int link_send_frame(net_link_t *link, uint8_t type, const void *data, size_t len) {
    QC_ASSERT(link->state == LINK_UP);
    net_t *net = link->net;
    size_t wire = net_frame_wire_bytes(len);
    if (link->queued_bytes + wire > net->cfg.send_queue_bytes_max) return QC_ERR_FULL;
    net_wreq_t *w;
    if (wire > NET_COALESCE_BYTES) {
        link_flush(link); /* keep frame order */
        if (link->state != LINK_UP) return QC_ERR_CLOSED;
        if ((w = wreq_new(link, wire)) == NULL) return QC_ERR_NOMEM;
    } else {
        int rc = link_obuf_reserve(link, wire);
        if (rc != QC_OK) return rc;
        w = link->obuf;
    }
    net_frame_seal(&link->tx, type, data, (uint32_t)len, w->data + w->len);
    w->len += wire;
    net_peer_stats_t *st = &link_peer(link)->stats;
    st->bytes_out += wire;
    if (type == NET_FRAME_DATA) st->frames_out++;
    else st->pings_out++;
    link_account(link, wire);
    if (w != link->obuf) return link_submit(link, w);
    if (!uv_is_active((uv_handle_t *)&net->flusher)) uv_prepare_start(&net->flusher, on_flush);
    return QC_OK;
}

static void on_dial_timer(uv_timer_t *t) {
    net_t *net = t->data;
    net_peer_t *p = (net_peer_t *)((char *)t - offsetof(net_peer_t, dial_timer));
    peer_dial(net, (uint32_t)(p - net->peers), false);
}

/* Arms the reconnect (or knock) timer with jittered, capped exponential backoff. */
static void peer_schedule(net_t *net, uint32_t i) {
    net_peer_t *p = &net->peers[i];
    if (!p->addressable) return;
    uint32_t r = net->cfg.random != NULL ? net->cfg.random(net->cfg.random_user)
                                         : randombytes_random();
    uint64_t delay = net_backoff_ms(net->cfg.backoff_base_ms, net->cfg.backoff_max_ms,
                                    p->attempts, r);
    if (p->attempts < UINT32_MAX) p->attempts++;
    uv_timer_start(&p->dial_timer, on_dial_timer, delay, 0);
}

/* An inbound connection leaves the handshake budgets (authenticated or closed). */
static void link_unpend(net_link_t *link) {
    if (!link->counted_pending) return;
    net_t *net = link->net;
    link->counted_pending = false;
    QC_ASSERT(net->stats.pending > 0);
    net->stats.pending--;
    if (!link->from_member) {
        QC_ASSERT(net->stats.pending_outsiders > 0);
        net->stats.pending_outsiders--;
    }
}

/* Closes link (idempotent). Reports a down peer, and schedules the next dial or knock if we
 * dialled it or it was the peer's link. */
static void link_close(net_link_t *link) {
    if (link->state == LINK_CLOSING) return;
    net_t *net = link->net;
    link->state = LINK_CLOSING;
    if (link->resolving) uv_cancel((uv_req_t *)&link->gai_req); /* its callback still runs */
    uv_close((uv_handle_t *)&link->tcp, on_link_handle_closed);
    uv_close((uv_handle_t *)&link->timer, on_link_handle_closed);
    link_unpend(link);
    if (link->outbound && net->peers[link->peer].dialing == link)
        net->peers[link->peer].dialing = NULL;
    if ((link->outbound || link->active) && !net->closing) peer_schedule(net, link->peer);
    if (!link->active) return;
    net_peer_t *p = link_peer(link);
    link->active = false;
    p->link = NULL;
    p->stats.links_down++;
    p->stats.up = false;
    p->stats.queue_bytes = 0;
    net->stats.peers_up--;
    QC_INFO("net: link to peer %u (%s) down", link->peer, link->remote);
    if (!net->closing) net->on_peer_state(net, link->peer, false, net->user);
}

/* Refuses a connection whose handshake failed: counted, logged (rate-limited), closed. A
 * wrong chain names both genesis hashes: two nodes with different genesis files (even one
 * changed byte) run different chains and will never link. */
static void link_refuse(net_link_t *link, net_fail_t reason) {
    net_t *net = link->net;
    uint32_t who = link->outbound ? link->peer : link->hs.peer;
    net->stats.hs_fail[reason]++;
    if (who != NET_PEER_NONE) net->peers[who].stats.hs_fail[reason]++;
    const char *dir = link->outbound ? "to" : "from";
    if (reason == NET_FAIL_CHAIN) {
        char theirs[65], ours[65];
        NET_LOG(net, log_chain, QC_LOG_ERROR,
                "net: handshake %s %s refused: wrong chain: it runs genesis %s, this node runs "
                "genesis %s (different genesis files; they will never link)",
                dir, link->remote, qc_hash_hex(theirs, &link->hs.theirs.chain),
                qc_hash_hex(ours, &net->cfg.chain));
    } else if (link->outbound) {
        NET_LOG(net, log_hs_out, QC_LOG_WARN, "net: handshake to %s (peer %u) refused: %s",
                link->remote, link->peer, net_fail_name(reason));
    } else {
        NET_LOG(net, log_hs_in, QC_LOG_WARN, "net: handshake from %s (peer %d) refused: %s",
                link->remote, who == NET_PEER_NONE ? -1 : (int)who, net_fail_name(reason));
    }
    link_close(link);
}

/* Next timer deadline of an authenticated link: keepalive, receive silence, send stall. */
static void link_arm_timer(net_link_t *link) {
    const net_config_t *c = &link->net->cfg;
    uint64_t now = uv_now(link->net->loop), next = UINT64_MAX;
    if (c->keepalive_ms > 0 && link->last_tx_ms + c->keepalive_ms < next)
        next = link->last_tx_ms + c->keepalive_ms;
    if (c->idle_timeout_ms > 0 && link->last_rx_ms + c->idle_timeout_ms < next)
        next = link->last_rx_ms + c->idle_timeout_ms;
    if (c->idle_timeout_ms > 0 && link->queued_bytes > 0 &&
        link->last_drain_ms + c->idle_timeout_ms < next)
        next = link->last_drain_ms + c->idle_timeout_ms;
    if (next == UINT64_MAX) return;
    uv_timer_start(&link->timer, on_link_timer, next > now ? next - now : 0, 0);
}

static void on_link_timer(uv_timer_t *t) {
    net_link_t *link = t->data;
    if (link->state == LINK_CONNECTING) {
        link_peer(link)->stats.dial_failures++;
        QC_DEBUG("net: connect to %s timed out", link->remote);
        link_close(link);
        return;
    }
    if (link->state == LINK_HANDSHAKE) {
        link_refuse(link, NET_FAIL_TIMEOUT);
        return;
    }
    if (link->state != LINK_UP) return;
    const net_config_t *c = &link->net->cfg;
    uint64_t now = uv_now(link->net->loop);
    const char *why = NULL;
    if (c->idle_timeout_ms > 0 && now - link->last_rx_ms >= c->idle_timeout_ms)
        why = "nothing received";
    else if (c->idle_timeout_ms > 0 && link->queued_bytes > 0 &&
             now - link->last_drain_ms >= c->idle_timeout_ms)
        why = "send queue not draining";
    if (why != NULL) {
        link_peer(link)->stats.idle_closes++;
        NET_LOG(link->net, log_link, QC_LOG_WARN, "net: closing link to peer %u (%s): %s for %u ms",
                link->peer, link->remote, why, c->idle_timeout_ms);
        link_close(link);
        return;
    }
    /* A full queue already tells the peer we are alive once it drains, so a ping that does
     * not fit is skipped until the next period (as is one that fails for memory). */
    if (c->keepalive_ms > 0 && now - link->last_tx_ms >= c->keepalive_ms &&
        link_send_frame(link, NET_FRAME_PING, NULL, 0) != QC_OK)
        link->last_tx_ms = now;
    if (link->state == LINK_UP) link_arm_timer(link);
}

/* Whether a link still hears from its peer: something arrived within two keepalive periods
 * (a healthy peer pings after one period of send silence). A half-open link left by a peer
 * that crashed, or that closed it without our noticing, falls silent; a link whose peer is
 * running does not. With keepalives off no link counts as alive. */
static bool link_alive(const net_link_t *link) {
    const net_t *net = link->net;
    uint64_t window_ms = 2 * (uint64_t)net->cfg.keepalive_ms;
    return window_ms > 0 && uv_now(net->loop) - link->last_rx_ms < window_ms;
}

/* A second authenticated connection claims peer i's key while i's link is alive: two running
 * nodes hold one key (or a key has leaked). Counted and warned about (rate-limited); the
 * caller keeps the live link and drops the newcomer, so one link stays up instead of the two
 * holders replacing each other forever. */
static void dup_identity(net_link_t *newcomer, uint32_t i, const char *what) {
    net_t *net = newcomer->net;
    net_peer_t *p = &net->peers[i];
    p->stats.dup_identity++;
    NET_LOG(net, log_dup, QC_LOG_WARN,
            "net: %s from %s claims validator %u's key, but its link (%s, up %llu ms) is alive: "
            "two nodes run with one key? keeping the live link",
            what, newcomer->remote, i, p->link->remote,
            (unsigned long long)(uv_now(net->loop) - p->link->up_ms));
}

/* The handshake succeeded: the link becomes the peer's link. It replaces an older one only if
 * we dialled it (the dialler decides its links) or the older one has fallen silent; a new
 * inbound link while the older one is alive is a duplicated identity and is dropped. */
static void link_up(net_link_t *link) {
    net_t *net = link->net;
    uint32_t i = link->hs.peer;
    QC_ASSERT(i < net->cfg.n && i != net->cfg.self);
    net_peer_t *p = &net->peers[i];
    if (!link->outbound && p->link != NULL && link_alive(p->link)) {
        dup_identity(link, i, "a second link");
        link_close(link);
        return;
    }
    link->tx = link->hs.tx;
    net_rx_init(&link->rx, &link->hs.rx, net->cfg.frame_bytes_max);
    net_hs_wipe(&link->hs);
    link->hs.peer = i;
    link->peer = i;
    link_unpend(link);
    link->state = LINK_UP;
    if (p->dialing == link) p->dialing = NULL;
    p->attempts = 0;
    if (p->link != NULL) {
        QC_INFO("net: peer %u reconnected; replacing its older link", i);
        link_close(p->link); /* reports down; the callback may close the whole net */
        if (net->closing) {
            link_close(link);
            return;
        }
    }
    p->link = link;
    link->active = true;
    link->up_ms = uv_now(net->loop);
    p->stats.links_up++;
    p->stats.up = true;
    p->stats.queue_bytes = link->queued_bytes;
    net->stats.peers_up++;
    link->last_rx_ms = link->last_tx_ms = link->last_drain_ms = uv_now(net->loop);
    uv_timer_stop(&link->timer);
    link_arm_timer(link);
    QC_INFO("net: link to peer %u (%s) up", i, link->remote);
    net->on_peer_state(net, i, true, net->user);
}

/* A knock's handshake completed (both sides authenticated). The knocker (outbound, to a lower
 * index) closes it and knocks again after backoff unless it is dialled first. The knocked
 * (inbound from a higher index) closes it and dials that peer now: the peer has no link to us,
 * so a link we still hold is dead or about to be replaced, and the new one replaces it. A knock
 * is ignored while our own dial is under way, or when our link came up less than a handshake
 * timeout before the knock began (the knocker may not have seen that link yet). A knock while
 * an older link is alive comes from a second holder of the peer's key (the real one is
 * talking to us): warned about and ignored, so it cannot make us replace the live link. */
static void knock_done(net_link_t *link) {
    net_t *net = link->net;
    uint32_t i = link->hs.peer;
    net_peer_t *p = &net->peers[i];
    if (link->outbound) {
        p->stats.knocks_out++;
        QC_DEBUG("net: knocked at peer %u (%s)", i, link->remote);
        link_close(link);
        return;
    }
    p->stats.knocks_in++;
    uint64_t began_ms = link->created_ms;
    bool fresh = p->link != NULL && p->link->up_ms + net->cfg.handshake_timeout_ms > began_ms;
    if (p->dialing == NULL && p->link != NULL && !fresh && link_alive(p->link))
        dup_identity(link, i, "a knock");
    link_close(link);
    if (p->dialing != NULL || fresh || (p->link != NULL && link_alive(p->link))) return;
    NET_LOG(net, log_link, QC_LOG_INFO, "net: peer %u knocked: dialling it now", i);
    p->stats.knock_dials++;
    p->attempts = 0;
    uv_timer_stop(&p->dial_timer);
    peer_dial(net, i, true);
}

/* An inbound HELLO is complete, and we have sent nothing yet. The checks that cost nothing come
 * first (format, chain, a member's identity); only a HELLO that passes them gets our ephemeral
 * key, HELLO and AUTH (one write), so a connection that cannot name the chain and a member
 * costs us no cryptography. A HELLO for another chain gets our HELLO without an ephemeral key,
 * so that the dialler, too, can say which two genesis hashes differ. */
static void link_hello_in(net_link_t *link) {
    net_t *net = link->net;
    uint32_t peer = NET_PEER_NONE;
    net_fail_t fail = net_hello_check(&net->hs_cfg, NET_ROLE_RESPONDER, NET_PEER_NONE,
                                      link->hs_buf, &link->hs.theirs, &peer);
    if (fail == NET_FAIL_CHAIN) {
        net_hello_t mine = {.version = NET_WIRE_VERSION, .role = NET_ROLE_RESPONDER,
                            .chain = net->cfg.chain, .identity = net->keys[net->cfg.self]};
        uint8_t hello[NET_HELLO_BYTES];
        net_hello_encode(&mine, hello);
        if (link_write_copy(link, hello, sizeof hello) != QC_OK) return;
    }
    if (fail != NET_FAIL_NONE) {
        link_refuse(link, fail);
        return;
    }
    uint8_t out[NET_HELLO_BYTES + NET_AUTH_BYTES];
    net_hs_start(&link->hs, &net->hs_cfg, NET_ROLE_RESPONDER, NET_PEER_NONE, NULL, out);
    if (net_hs_on_hello(&link->hs, link->hs_buf, out + NET_HELLO_BYTES) != QC_OK) {
        link_refuse(link, link->hs.fail); /* a low-order ephemeral key */
        return;
    }
    link_write_copy(link, out, sizeof out);
    sodium_memzero(out, sizeof out);
}

static void link_hs_step(net_link_t *link) {
    if (link->hs.state == NET_HS_WAIT_HELLO && link->hs.cfg == NULL) {
        link_hello_in(link);
        return;
    }
    if (link->hs.state == NET_HS_WAIT_HELLO) {
        uint8_t auth[NET_AUTH_BYTES];
        if (net_hs_on_hello(&link->hs, link->hs_buf, auth) != QC_OK) {
            link_refuse(link, link->hs.fail);
            return;
        }
        link_write_copy(link, auth, sizeof auth);
        sodium_memzero(auth, sizeof auth);
        return;
    }
    if (net_hs_on_auth(&link->hs, link->hs_buf) != QC_OK) {
        link_refuse(link, link->hs.fail);
        return;
    }
    bool knock = link->outbound ? link->peer < link->net->cfg.self && !link->net->cfg.learner
                                : link->hs.knock;
    if (knock) knock_done(link);
    else link_up(link);
}

static int on_frame(void *user, uint8_t type, const uint8_t *payload, size_t len) {
    net_link_t *link = user;
    net_t *net = link->net;
    net_peer_t *p = link_peer(link);
    if (type == NET_FRAME_PING) {
        p->stats.pings_in++;
        return 0;
    }
    p->stats.frames_in++;
    net->on_message(net, link->peer, payload, len, net->user);
    return link->state == LINK_CLOSING ? 1 : 0; /* the callback closed the link or the net */
}

static void link_consume(net_link_t *link, const uint8_t *in, size_t n) {
    while (n > 0 && link->state == LINK_HANDSHAKE) {
        size_t want = link->hs.state == NET_HS_WAIT_HELLO ? NET_HELLO_BYTES : NET_AUTH_BYTES;
        size_t take = want - link->hs_have < n ? want - link->hs_have : n;
        memcpy(link->hs_buf + link->hs_have, in, take);
        link->hs_have += take;
        in += take;
        n -= take;
        if (link->hs_have == want) {
            link->hs_have = 0;
            link_hs_step(link);
        }
    }
    if (n == 0 || link->state != LINK_UP) return;
    link_peer(link)->stats.bytes_in += n;
    int rc = net_rx_feed(&link->rx, in, n, on_frame, link);
    if (rc < 0 && link->state == LINK_UP) {
        link_peer(link)->stats.protocol_errors++;
        NET_LOG(link->net, log_link, QC_LOG_WARN, "net: closing link to peer %u (%s): bad frame: %s",
                link->peer, link->remote, qc_strerror(rc));
        link_close(link);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    net_link_t *link = h->data;
    *buf = uv_buf_init((char *)link->rbuf, sizeof link->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    net_link_t *link = s->data;
    if (nread == 0 || link->state == LINK_CLOSING) return;
    if (nread < 0) {
        const char *why = nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread);
        if (link->state == LINK_HANDSHAKE) {
            link_refuse(link, NET_FAIL_IO);
            return;
        }
        if (net_rx_partial_bytes(&link->rx) > 0) {
            link_peer(link)->stats.protocol_errors++;
            NET_LOG(link->net, log_link, QC_LOG_WARN, "net: peer %u (%s) left a truncated frame",
                    link->peer, link->remote);
        }
        QC_INFO("net: link to peer %u (%s): %s", link->peer, link->remote, why);
        link_close(link);
        return;
    }
    link->last_rx_ms = uv_now(link->net->loop);
    link_consume(link, (const uint8_t *)buf->base, (size_t)nread);
}

/* TCP is connected (either direction): an initiator sends its HELLO; a responder waits for the
 * initiator's (link_hello_in). Then read. */
static void link_begin(net_link_t *link) {
    net_t *net = link->net;
    link->state = LINK_HANDSHAKE;
    uv_tcp_nodelay(&link->tcp, 1);
    if (link->outbound) {
        uint8_t hello[NET_HELLO_BYTES];
        net_hs_start(&link->hs, &net->hs_cfg, NET_ROLE_INITIATOR, link->peer, NULL, hello);
        if (link_write_copy(link, hello, sizeof hello) != QC_OK) return;
    }
    int rc = uv_read_start((uv_stream_t *)&link->tcp, on_alloc, on_read);
    if (rc < 0) {
        NET_LOG(net, log_link, QC_LOG_WARN, "net: cannot read from %s: %s", link->remote,
                uv_strerror(rc));
        link_close(link);
    }
}

static void on_connect(uv_connect_t *req, int status) {
    net_link_t *link = req->data;
    if (status == UV_ECANCELED || link->state == LINK_CLOSING) return;
    if (status < 0) {
        link_peer(link)->stats.dial_failures++;
        QC_DEBUG("net: connect to peer %u (%s): %s", link->peer, link->remote,
                 uv_strerror(status));
        link_close(link);
        return;
    }
    link_begin(link);
}

static void link_connect(net_link_t *link) {
    net_peer_t *p = link_peer(link);
    int rc = uv_tcp_connect(&link->connect_req, &link->tcp, (const struct sockaddr *)&p->addr,
                            on_connect);
    if (rc < 0) {
        p->stats.dial_failures++;
        QC_DEBUG("net: connect to peer %u (%s): %s", link->peer, link->remote, uv_strerror(rc));
        link_close(link);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    net_link_t *link = req->data;
    link->resolving = false;
    if (link->state == LINK_CONNECTING) {
        net_peer_t *p = link_peer(link);
        uint32_t count = 0;
        for (struct addrinfo *ai = res; status == 0 && ai != NULL; ai = ai->ai_next) count++;
        if (count == 0) {
            p->stats.dial_failures++;
            QC_WARN("net: cannot resolve peer %u (%s): %s", link->peer, link->remote,
                    status < 0 ? uv_strerror(status) : "no address");
            link_close(link);
        } else {
            /* Successive attempts rotate through the addresses (e.g. ::1, then 127.0.0.1). */
            struct addrinfo *ai = res;
            for (uint32_t k = p->attempts % count; k > 0; k--) ai = ai->ai_next;
            memset(&p->addr, 0, sizeof p->addr);
            memcpy(&p->addr, ai->ai_addr, ai->ai_addrlen);
            p->addr_known = true;
            link_connect(link);
        }
    }
    uv_freeaddrinfo(res);
    link_release(link); /* may free link and finish the net's close */
}

/* Opens an outbound connection to peer i, resolving its host name first if it has one: a dial
 * (higher index) or a knock (lower index). Nothing while one is under way or, unless replace,
 * while the peer has a link. */
static void peer_dial(net_t *net, uint32_t i, bool replace) {
    net_peer_t *p = &net->peers[i];
    if (net->closing || !p->addressable || p->dialing != NULL || (p->link != NULL && !replace))
        return;
    net_link_t *link = link_new(net, true, i);
    if (link == NULL) {
        peer_schedule(net, i);
        return;
    }
    p->dialing = link;
    snprintf(link->remote, sizeof link->remote, "%s", net->cfg.peers[i].addr);
    uv_timer_start(&link->timer, on_link_timer, net->cfg.handshake_timeout_ms, 0);
    if (!p->resolve) {
        link_connect(link);
        return;
    }
    char host[NET_ADDR_MAX], port[8];
    bool v6;
    QC_ASSERT(split_addr(net->cfg.peers[i].addr, host, port, &v6) == QC_OK);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(net->loop, &link->gai_req, on_resolved, host, port, &hints);
    if (rc < 0) {
        p->stats.dial_failures++;
        QC_WARN("net: cannot resolve peer %u (%s): %s", i, link->remote, uv_strerror(rc));
        link_close(link);
        return;
    }
    link->resolving = true;
    link->refs++;
    net->handles++;
}

/* "a.b.c.d:port" or "[v6]:port". */
static void addr_name(const struct sockaddr_storage *sa, char out[NET_ADDR_MAX]) {
    char host[48] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)sa, host, sizeof host);
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        snprintf(out, NET_ADDR_MAX, "[%s]:%d", host, port);
        return;
    }
    if (sa->ss_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)sa, host, sizeof host);
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    snprintf(out, NET_ADDR_MAX, "%s:%d", host, port);
}

static net_source_t source_of(const struct sockaddr_storage *sa) {
    net_source_t src;
    memset(&src, 0, sizeof src);
    if (sa->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            src.family = AF_INET;
            memcpy(src.b, a + 12, 4);
        } else {
            src.family = AF_INET6;
            memcpy(src.b, a, 8);
        }
    } else if (sa->ss_family == AF_INET) {
        src.family = AF_INET;
        memcpy(src.b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
    return src;
}

static bool source_eq(const net_source_t *a, const net_source_t *b) {
    return a->family != 0 && a->family == b->family && memcmp(a->b, b->b, sizeof a->b) == 0;
}

/* How many other validators' known addresses are this source (0: an outsider). */
static uint32_t source_members(const net_t *net, const net_source_t *src) {
    uint32_t count = 0;
    for (uint32_t i = 0; i < net->cfg.n; i++) {
        if (i == net->cfg.self || !net->peers[i].addr_known) continue;
        net_source_t m = source_of(&net->peers[i].addr);
        if (source_eq(&m, src)) count++;
    }
    return count;
}

/* Inbound connections from this source now in the handshake. */
static uint32_t source_pending(const net_t *net, const net_source_t *src) {
    uint32_t count = 0;
    for (const net_link_t *l = net->links; l != NULL; l = l->next)
        if (l->counted_pending && source_eq(&l->source, src)) count++;
    return count;
}

/* Refuses a connection before any allocation or cryptography: counted, logged (rate-limited),
 * and reset (no TIME_WAIT left behind on our side). fd is transferred. */
static void accept_refuse(net_t *net, int fd, const struct sockaddr_storage *sa,
                          const char *why) {
    net->stats.hs_fail[NET_FAIL_REFUSED]++;
    char name[NET_ADDR_MAX];
    addr_name(sa, name);
    NET_LOG(net, log_budget, QC_LOG_WARN, "net: connection from %s refused: %s", name, why);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* One accepted connection (fd transferred): within its source's handshake budget it becomes a
 * link in the handshake, with the handshake deadline running; otherwise it is refused at once.
 * A member's address has pending_per_source_max per member there, outside pending_max, so
 * outsiders, however many addresses they use, never take a member's room. */
static void accept_one(net_t *net, int fd, const struct sockaddr_storage *sa) {
    net->stats.accepted++;
    net_source_t src = source_of(sa);
    uint32_t members = source_members(net, &src);
    uint32_t budget = net->cfg.pending_per_source_max * (members > 0 ? members : 1);
    if (source_pending(net, &src) >= budget) {
        accept_refuse(net, fd, sa, "too many handshakes pending from its address");
        return;
    }
    if (members == 0 && net->stats.pending_outsiders >= net->cfg.pending_max) {
        accept_refuse(net, fd, sa, "too many handshakes pending from non-member addresses");
        return;
    }
    net_link_t *link = link_new(net, false, NET_PEER_NONE);
    if (link == NULL) {
        accept_refuse(net, fd, sa, "out of memory");
        return;
    }
    if (uv_tcp_open(&link->tcp, fd) != 0) {
        close(fd);
        link_close(link);
        return;
    }
    addr_name(sa, link->remote);
    link->source = src;
    link->from_member = members > 0;
    link->counted_pending = true;
    net->stats.pending++;
    if (!link->from_member) net->stats.pending_outsiders++;
    uv_timer_start(&link->timer, on_link_timer, net->cfg.handshake_timeout_ms, 0);
    link_begin(link);
}

/* The listening socket is readable. At most accepts_per_tick_max connections are taken per
 * loop iteration (the poll is level-triggered: the rest wait for the next one), so a flood of
 * connections cannot hold the loop. When accept itself fails (e.g. no file descriptors left)
 * the listener pauses until the next housekeeping tick instead of spinning. */
static void on_listen(uv_poll_t *h, int status, int events) {
    net_t *net = h->data;
    (void)events;
    if (net->closing) return;
    for (uint32_t k = 0; status == 0 && k < net->cfg.accepts_per_tick_max; k++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        memset(&sa, 0, sizeof sa);
        int fd = accept4(net->listen_fd, (struct sockaddr *)&sa, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(net, fd, &sa);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        status = -errno;
    }
    if (status == 0) return;
    NET_LOG(net, log_link, QC_LOG_WARN, "net: accept failed: %s; listener paused for %u ms",
            uv_strerror(status), NET_HOUSEKEEP_MS);
    uv_poll_stop(&net->listener);
    net->listen_paused = true;
}

/* Once a second: summaries of rate-limited log lines whose window ended, and the listener
 * back after a failed accept. */
static void on_housekeep(uv_timer_t *t) {
    net_t *net = t->data;
    uint64_t now = uv_now(net->loop);
    qc_lograte_t *limits[] = {&net->log_budget, &net->log_hs_in, &net->log_hs_out,
                              &net->log_chain, &net->log_dup, &net->log_link};
    net->stats.log_suppressed = 0;
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        qc_lograte_tick(limits[k], now);
        net->stats.log_suppressed += limits[k]->suppressed_total;
    }
    if (net->listen_paused && !net->closing) {
        net->listen_paused = false;
        QC_ASSERT(uv_poll_start(&net->listener, UV_READABLE, on_listen) == 0);
    }
}

static void logs_init(net_t *net) {
    static const struct {
        size_t offset;
        const char *what;
    } kinds[] = {
        {offsetof(net_t, log_budget), "net: connections refused over a handshake budget"},
        {offsetof(net_t, log_hs_in), "net: refused inbound handshakes"},
        {offsetof(net_t, log_hs_out), "net: refused outbound handshakes"},
        {offsetof(net_t, log_chain), "net: handshakes refused for another genesis"},
        {offsetof(net_t, log_dup), "net: connections claiming a key whose link is alive"},
        {offsetof(net_t, log_link), "net: link and listener errors"},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        *(qc_lograte_t *)((char *)net + kinds[k].offset) = (qc_lograte_t)QC_LOGRATE_INIT(
            kinds[k].what, QC_LOG_WARN, NET_LOG_BURST, QC_LOGRATE_WINDOW_MS);
}

/* ---------------------------------------------------------------- public API */

int net_init(net_t *net, uv_loop_t *loop, const net_config_t *cfg, net_message_cb on_message,
             net_peer_state_cb on_peer_state, void *user) {
    QC_ASSERT(net != NULL && loop != NULL && cfg != NULL);
    QC_ASSERT(on_message != NULL && on_peer_state != NULL);
    if (qc_crypto_init() != QC_OK) return QC_ERR_CRYPTO;
    int rc = config_check(cfg);
    if (rc != QC_OK) return rc;
    uv_os_sock_t fd = -1;
    struct sockaddr_storage sa;
    memset(net, 0, sizeof *net);
    net->cfg = *cfg;
    for (uint32_t i = 0; i < cfg->n; i++) {
        net_peer_t *p = &net->peers[i];
        p->addressable = i != cfg->self &&
                         (parse_addr(cfg->peers[i].addr, &p->addr) == QC_OK ||
                          (p->resolve = is_hostname(cfg->peers[i].addr)));
        p->addr_known = p->addressable && !p->resolve;
        if (!p->addressable && i > cfg->self) { /* a peer we must dial */
            QC_ERROR("net: bad address for peer %u: \"%.*s\"", i, NET_ADDR_MAX - 1,
                     cfg->peers[i].addr);
            goto fail;
        }
    }
    if (cfg->listen_addr[0] != '\0') {
        if (parse_addr(cfg->listen_addr, &sa) != QC_OK &&
            resolve_now(cfg->listen_addr, &sa) != QC_OK) {
            QC_ERROR("net: bad listen address \"%.*s\"", NET_ADDR_MAX - 1, cfg->listen_addr);
            goto fail;
        }
        rc = listen_open(&sa, &fd, &net->listen_port);
        if (rc != QC_OK) goto fail_rc;
    }
    /* Nothing below can fail: handles are created only now. */
    net->loop = loop;
    net->on_message = on_message;
    net->on_peer_state = on_peer_state;
    net->user = user;
    for (uint32_t i = 0; i < cfg->n; i++) net->keys[i] = cfg->peers[i].node_key;
    net->hs_cfg = (net_hs_config_t){.chain = &net->cfg.chain, .sk = &net->cfg.node_sk,
                                    .keys = net->keys, .n = cfg->n, .self = cfg->self};
    QC_ASSERT(uv_prepare_init(loop, &net->flusher) == 0);
    net->flusher.data = net;
    net->handles++;
    if (fd >= 0) {
        /* Cannot fail: fd is a valid socket, already bound and listening. */
        QC_ASSERT(uv_poll_init_socket(loop, &net->listener, fd) == 0);
        net->listener.data = net;
        net->handles++;
        net->listening = true;
        net->listen_fd = fd;
        QC_ASSERT(uv_poll_start(&net->listener, UV_READABLE, on_listen) == 0);
    }
    logs_init(net);
    QC_ASSERT(uv_timer_init(loop, &net->housekeeper) == 0);
    net->housekeeper.data = net;
    net->handles++;
    QC_ASSERT(uv_timer_start(&net->housekeeper, on_housekeep, NET_HOUSEKEEP_MS,
                             NET_HOUSEKEEP_MS) == 0);
    for (uint32_t i = 0; i < cfg->n; i++) { /* dial and knock at once: we may be back */
        if (i == cfg->self) continue;
        QC_ASSERT(uv_timer_init(loop, &net->peers[i].dial_timer) == 0);
        net->peers[i].dial_timer.data = net;
        net->handles++;
        if (net->peers[i].addressable)
            uv_timer_start(&net->peers[i].dial_timer, on_dial_timer, 0, 0);
    }
    QC_INFO("net: validator %u of %u listening on port %u", cfg->self, cfg->n,
            (unsigned)net->listen_port);
    return QC_OK;
fail:
    rc = QC_ERR_INVALID;
fail_rc:
    sodium_memzero(&net->cfg.node_sk, sizeof net->cfg.node_sk);
    return rc;
}

int net_send(net_t *net, uint32_t peer, const void *data, size_t len) {
    QC_ASSERT(net != NULL && (data != NULL || len == 0));
    if (net->closing) return QC_ERR_CLOSED;
    if (peer >= net->cfg.n || peer == net->cfg.self) return QC_ERR_RANGE;
    if (len > net->cfg.frame_bytes_max) return QC_ERR_TOOBIG;
    net_link_t *link = net->peers[peer].link;
    if (link == NULL) return QC_ERR_CLOSED;
#ifdef QC_TEST_FAULTS
    if (net_fault_hold(net, peer, data, len)) return QC_OK; /* test build: emulated delay */
#endif
    int rc = link_send_frame(link, NET_FRAME_DATA, data, len);
    if (rc == QC_ERR_FULL) net->peers[peer].stats.drops_full++;
    return rc;
}

int net_broadcast(net_t *net, const void *data, size_t len) {
    QC_ASSERT(net != NULL && (data != NULL || len == 0));
    if (net->closing) return QC_ERR_CLOSED;
    if (len > net->cfg.frame_bytes_max) return QC_ERR_TOOBIG;
    int sent = 0;
    for (uint32_t i = 0; i < net->cfg.n && !net->closing; i++)
        if (net->peers[i].link != NULL && net_send(net, i, data, len) == QC_OK) sent++;
    return sent;
}

bool net_peer_up(const net_t *net, uint32_t peer) {
    return peer < net->cfg.n && net->peers[peer].link != NULL;
}

const net_peer_stats_t *net_peer_stats(const net_t *net, uint32_t peer) {
    QC_ASSERT(peer < net->cfg.n);
    return &net->peers[peer].stats;
}

const net_stats_t *net_stats(const net_t *net) { return &net->stats; }

uint16_t net_listen_port(const net_t *net) { return net->listen_port; }

int net_close(net_t *net, net_close_cb cb) {
    QC_ASSERT(net != NULL);
    if (net->closing) return QC_ERR_STATE;
    net->closing = true;
    net->close_cb = cb;
    for (net_link_t *link = net->links; link != NULL; link = link->next) link_close(link);
    for (uint32_t i = 0; i < net->cfg.n; i++)
        if (i != net->cfg.self)
            uv_close((uv_handle_t *)&net->peers[i].dial_timer, on_net_handle_closed);
    if (net->listening) {
        uv_close((uv_handle_t *)&net->listener, on_net_handle_closed); /* stops polling now */
        close(net->listen_fd);
    }
    uv_close((uv_handle_t *)&net->housekeeper, on_net_handle_closed);
    uv_close((uv_handle_t *)&net->flusher, on_net_handle_closed);
    sodium_memzero(&net->cfg.node_sk, sizeof net->cfg.node_sk);
    QC_INFO("net: validator %u closing", net->cfg.self);
    return QC_OK;
}
