/* test_net.c - peer links over real sockets on 127.0.0.1 (random free ports), several nets on
 * one uv loop: exchange, frame limits, refused handshakes (unknown key, wrong chain, garbage,
 * replay), truncated and oversized frames, bounded send queues, reconnect, idle and handshake
 * timeouts, and clean shutdown. Every wait is bounded by a deadline so a bug fails, not hangs.
 *
 * A "raw" client is a plain blocking-connect socket that speaks the protocol through
 * net_codec.h (or sends garbage), so tests can misbehave in ways a real net never would. A
 * "flood" is a host without keys (127.0.0.66 and up) holding many silent connections against
 * every node, reopened as they close; log lines are captured to check what reaches the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#define NODES_MAX 5
#define WAIT_MS 5000 /* generous bound for anything that should take milliseconds */
#define NET_HOUSEKEEP_TEST_MS 1100 /* a little over net.c's housekeeping period */

typedef struct world world_t;

typedef struct {
    net_t net; /* first: the close callback gets only the net_t pointer */
    world_t *w;
    uint32_t index;
    bool up[NODES_MAX];
    int ups, downs;
    int msgs;
    int from[NODES_MAX];
    uint8_t last[256];
    size_t last_len;
    char last_from[NODES_MAX][32]; /* the last message from each peer, NUL-terminated */
    int close_on_message; /* close this net from inside on_message after this many */
} node_t;

struct world {
    uv_loop_t loop;
    uv_timer_t tick;
    uint32_t n;
    qc_hash_t chain;
    qc_seckey_t sk[NODES_MAX];
    qc_pubkey_t pk[NODES_MAX];
    uint16_t port[NODES_MAX];
    node_t *node[NODES_MAX];
    uint32_t random_calls;
    uint32_t random_state;
    uint32_t backoff_base_ms, backoff_max_ms; /* 0: the harness's 20 and 200 */
    uint32_t handshake_timeout_ms;            /* 0: the harness's 2000 */
    int final_msgs[NODES_MAX]; /* msgs of each node when its close completed */
    struct flood *flood;       /* kept up by every loop tick while set */
};

static world_t *W;

/* ---------------------------------------------------------------- harness */

static void flood_step(struct flood *f);

/* Bounds each UV_RUN_ONCE to ~5 ms, and keeps a flood going. */
static void on_tick(uv_timer_t *t) {
    (void)t;
    if (W->flood != NULL) flood_step(W->flood);
}

static int world_setup(void **state) {
    (void)state;
    assert_int_equal(qc_crypto_init(), QC_OK);
    W = calloc(1, sizeof *W);
    assert_non_null(W);
    assert_int_equal(uv_loop_init(&W->loop), 0);
    assert_int_equal(uv_timer_init(&W->loop, &W->tick), 0);
    assert_int_equal(uv_timer_start(&W->tick, on_tick, 5, 5), 0);
    randombytes_buf(W->chain.b, sizeof W->chain.b);
    for (int i = 0; i < NODES_MAX; i++) crypto_sign_keypair(W->pk[i].b, W->sk[i].b);
    W->random_state = 12345;
    return 0;
}

typedef bool (*pred_fn)(void *arg);

/* Runs the loop until pred holds; false if timeout_ms passes first. */
static bool pump(pred_fn pred, void *arg, uint64_t timeout_ms) {
    uv_update_time(&W->loop);
    uint64_t deadline = uv_now(&W->loop) + timeout_ms;
    while (!pred(arg)) {
        if (uv_now(&W->loop) >= deadline) return false;
        uv_run(&W->loop, UV_RUN_ONCE);
    }
    return true;
}

static bool pred_never(void *arg) { (void)arg; return false; }

static void pump_for(uint64_t ms) { (void)pump(pred_never, NULL, ms); }

static uint32_t test_random(void *user) {
    world_t *w = user;
    w->random_calls++;
    w->random_state = w->random_state * 1103515245u + 12345u;
    return w->random_state >> 8;
}

static void on_node_closed(net_t *net) {
    node_t *nd = (node_t *)net;
    W->final_msgs[nd->index] = nd->msgs;
    W->node[nd->index] = NULL;
    free(nd);
}

static void on_message(net_t *net, uint32_t peer, const uint8_t *data, size_t len, void *user) {
    node_t *nd = user;
    assert_ptr_equal(&nd->net, net);
    assert_true(peer < W->n && peer != nd->index);
    assert_non_null(data);
    nd->msgs++;
    nd->from[peer]++;
    nd->last_len = len < sizeof nd->last ? len : sizeof nd->last;
    memcpy(nd->last, data, nd->last_len);
    size_t k = len < sizeof nd->last_from[peer] - 1 ? len : sizeof nd->last_from[peer] - 1;
    memcpy(nd->last_from[peer], data, k);
    nd->last_from[peer][k] = '\0';
    if (nd->close_on_message > 0 && nd->msgs == nd->close_on_message)
        assert_int_equal(net_close(net, on_node_closed), QC_OK);
}

static void on_peer_state(net_t *net, uint32_t peer, bool up, void *user) {
    node_t *nd = user;
    assert_ptr_equal(&nd->net, net);
    assert_true(peer < W->n && peer != nd->index);
    assert_true(nd->up[peer] != up); /* strictly alternating */
    nd->up[peer] = up;
    if (up) nd->ups++;
    else nd->downs++;
}

/* The config node i would get in a world of W->n nodes. */
static void node_config(uint32_t i, net_config_t *cfg) {
    net_config_default(cfg);
    cfg->self = i;
    cfg->node_sk = W->sk[i];
    cfg->n = W->n;
    cfg->chain = W->chain;
    for (uint32_t j = 0; j < W->n; j++) {
        cfg->peers[j].node_key = W->pk[j];
        snprintf(cfg->peers[j].addr, NET_ADDR_MAX, "127.0.0.1:%u", (unsigned)W->port[j]);
    }
    snprintf(cfg->listen_addr, NET_ADDR_MAX, "127.0.0.1:%u", (unsigned)W->port[i]);
    cfg->handshake_timeout_ms = W->handshake_timeout_ms ? W->handshake_timeout_ms : 2000;
    cfg->keepalive_ms = 200;
    cfg->idle_timeout_ms = 3000;
    cfg->backoff_base_ms = W->backoff_base_ms ? W->backoff_base_ms : 20;
    cfg->backoff_max_ms = W->backoff_max_ms ? W->backoff_max_ms : 200;
    cfg->random = test_random;
    cfg->random_user = W;
}

static node_t *node_start_cfg(const net_config_t *cfg) {
    uint32_t i = cfg->self;
    assert_null(W->node[i]);
    node_t *nd = calloc(1, sizeof *nd);
    assert_non_null(nd);
    nd->w = W;
    nd->index = i;
    assert_int_equal(net_init(&nd->net, &W->loop, cfg, on_message, on_peer_state, nd), QC_OK);
    W->node[i] = nd;
    W->port[i] = net_listen_port(&nd->net);
    assert_true(W->port[i] != 0 || cfg->listen_addr[0] == '\0');
    return nd;
}

static node_t *node_start(uint32_t i) {
    net_config_t cfg;
    node_config(i, &cfg);
    return node_start_cfg(&cfg);
}

/* Starts nodes first..n-1 from the highest index down: each dials only higher indices, whose
 * ports are then known. */
static void world_start(uint32_t n, uint32_t first) {
    W->n = n;
    for (uint32_t i = n; i-- > first;) node_start(i);
}

static bool pred_all_up(void *arg) {
    (void)arg;
    for (uint32_t i = 0; i < W->n; i++) {
        if (W->node[i] == NULL) continue;
        for (uint32_t j = 0; j < W->n; j++)
            if (j != i && W->node[j] != NULL && !W->node[i]->up[j]) return false;
    }
    return true;
}

static bool pred_node_gone(void *arg) { return W->node[*(uint32_t *)arg] == NULL; }

static void node_stop(uint32_t i) {
    assert_non_null(W->node[i]);
    assert_int_equal(net_close(&W->node[i]->net, on_node_closed), QC_OK);
    assert_true(pump(pred_node_gone, &i, WAIT_MS));
}

static bool pred_world_empty(void *arg) {
    (void)arg;
    for (int i = 0; i < NODES_MAX; i++)
        if (W->node[i] != NULL) return false;
    return true;
}

static void print_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    fprintf(stderr, "left open: %s handle %p\n", uv_handle_type_name(h->type), (void *)h);
}

static int world_teardown(void **state) {
    (void)state;
    for (int i = 0; i < NODES_MAX; i++)
        if (W->node[i] != NULL && !W->node[i]->net.closing)
            assert_int_equal(net_close(&W->node[i]->net, on_node_closed), QC_OK);
    assert_true(pump(pred_world_empty, NULL, WAIT_MS));
    uv_close((uv_handle_t *)&W->tick, NULL);
    for (int i = 0; i < 100 && uv_run(&W->loop, UV_RUN_NOWAIT) != 0; i++) usleep(1000);
    uv_walk(&W->loop, print_handle, NULL);
    assert_int_equal(uv_loop_close(&W->loop), 0); /* every handle of every net is closed */
    free(W);
    W = NULL;
    return 0;
}

typedef struct {
    uint32_t node;
    int msgs;
} msgs_arg_t;

static bool pred_msgs(void *arg) {
    msgs_arg_t *a = arg;
    return W->node[a->node] != NULL && W->node[a->node]->msgs >= a->msgs;
}

/* Sends text from a to b and waits for it to arrive. */
static void expect_delivery(uint32_t a, uint32_t b, const char *text) {
    msgs_arg_t arg = {b, W->node[b]->msgs + 1};
    assert_int_equal(net_send(&W->node[a]->net, b, text, strlen(text)), QC_OK);
    assert_true(pump(pred_msgs, &arg, WAIT_MS));
    assert_int_equal(W->node[b]->last_len, strlen(text));
    assert_memory_equal(W->node[b]->last, text, strlen(text));
}

/* ---------------------------------------------------------------- raw client */

typedef struct {
    int fd;
    net_hs_config_t cfg;
    net_hs_t hs;
    net_stream_t tx;
    net_rx_t rx;
    uint8_t sent[NET_HELLO_BYTES + NET_AUTH_BYTES]; /* the handshake as recorded on the wire */
} raw_t;

static void raw_connect(raw_t *r, uint16_t port) {
    memset(r, 0, sizeof *r);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The kernel completes the connect from the listen backlog; the loop need not run. */
    assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK), 0);
}

static void raw_close(raw_t *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    net_rx_free(&r->rx);
}

typedef struct {
    raw_t *r;
    const uint8_t *p;
    size_t left;
} raw_io_t;

static bool pred_sent(void *arg) {
    raw_io_t *io = arg;
    while (io->left > 0) {
        ssize_t k = send(io->r->fd, io->p, io->left, MSG_NOSIGNAL);
        if (k < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            return false;
        }
        io->p += k;
        io->left -= (size_t)k;
    }
    return true;
}

static void raw_send(raw_t *r, const void *data, size_t len) {
    raw_io_t io = {r, data, len};
    assert_true(pump(pred_sent, &io, WAIT_MS));
}

static bool pred_received(void *arg) {
    raw_io_t *io = arg;
    while (io->left > 0) {
        ssize_t k = recv(io->r->fd, (void *)io->p, io->left, 0);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
        assert_true(k > 0); /* the node must not close on us here */
        io->p += k;
        io->left -= (size_t)k;
    }
    return true;
}

static void raw_recv(raw_t *r, void *out, size_t len) {
    raw_io_t io = {r, out, len};
    assert_true(pump(pred_received, &io, WAIT_MS));
}

/* True once the node has closed the connection (EOF or reset), discarding any data. */
static bool pred_closed_by_node(void *arg) {
    raw_t *r = arg;
    uint8_t buf[4096];
    for (;;) {
        ssize_t k = recv(r->fd, buf, sizeof buf, 0);
        if (k == 0) return true;
        if (k < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

static void raw_expect_closed(raw_t *r) { assert_true(pump(pred_closed_by_node, r, WAIT_MS)); }

/* Completes an honest handshake as validator `as` with the node listening on port. */
static void raw_handshake(raw_t *r, uint32_t as, uint32_t node) {
    r->cfg = (net_hs_config_t){.chain = &W->chain, .sk = &W->sk[as], .keys = W->pk, .n = W->n,
                               .self = as};
    net_hs_start(&r->hs, &r->cfg, NET_ROLE_INITIATOR, node, NULL, r->sent);
    raw_send(r, r->sent, NET_HELLO_BYTES);
    uint8_t hello[NET_HELLO_BYTES], auth[NET_AUTH_BYTES];
    raw_recv(r, hello, sizeof hello);
    assert_int_equal(net_hs_on_hello(&r->hs, hello, r->sent + NET_HELLO_BYTES), QC_OK);
    raw_send(r, r->sent + NET_HELLO_BYTES, NET_AUTH_BYTES);
    raw_recv(r, auth, sizeof auth);
    assert_int_equal(net_hs_on_auth(&r->hs, auth), QC_OK);
    r->tx = r->hs.tx;
    net_rx_init(&r->rx, &r->hs.rx, 1u << 20);
}

/* A non-blocking listening socket on 127.0.0.1:port, standing in for a stopped node. */
static int raw_listen(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    return fd;
}

typedef struct {
    int lfd, fd;
} accept_arg_t;

static bool pred_accepted(void *arg) {
    accept_arg_t *a = arg;
    a->fd = accept(a->lfd, NULL, NULL);
    return a->fd >= 0;
}

/* Waits for a node's dial on lfd and completes the handshake as validator `as` (responder). */
static void raw_accept_handshake(raw_t *r, int lfd, uint32_t as) {
    memset(r, 0, sizeof *r);
    accept_arg_t a = {lfd, -1};
    assert_true(pump(pred_accepted, &a, WAIT_MS));
    r->fd = a.fd;
    assert_int_equal(fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK), 0);
    r->cfg = (net_hs_config_t){.chain = &W->chain, .sk = &W->sk[as], .keys = W->pk, .n = W->n,
                               .self = as};
    uint8_t hello[NET_HELLO_BYTES], auth[NET_AUTH_BYTES];
    raw_recv(r, hello, sizeof hello);
    net_hs_start(&r->hs, &r->cfg, NET_ROLE_RESPONDER, NET_PEER_NONE, NULL, r->sent);
    assert_int_equal(net_hs_on_hello(&r->hs, hello, r->sent + NET_HELLO_BYTES), QC_OK);
    raw_send(r, r->sent, sizeof r->sent);
    raw_recv(r, auth, sizeof auth);
    assert_int_equal(net_hs_on_auth(&r->hs, auth), QC_OK);
    r->tx = r->hs.tx;
    net_rx_init(&r->rx, &r->hs.rx, 1u << 20);
}

static void raw_send_frame(raw_t *r, uint8_t type, const void *data, uint32_t len) {
    size_t wire = net_frame_wire_bytes(len);
    uint8_t *buf = malloc(wire);
    assert_non_null(buf);
    net_frame_seal(&r->tx, type, data, len, buf);
    raw_send(r, buf, wire);
    free(buf);
}

typedef struct {
    uint32_t node, peer;
    bool up;
} up_arg_t;

static bool pred_peer_state(void *arg) {
    up_arg_t *a = arg;
    return W->node[a->node] != NULL && W->node[a->node]->up[a->peer] == a->up;
}

static void expect_peer_state(uint32_t node, uint32_t peer, bool up) {
    up_arg_t a = {node, peer, up};
    assert_true(pump(pred_peer_state, &a, WAIT_MS));
}

typedef struct {
    const uint64_t *counter;
    uint64_t at_least;
} count_arg_t;

static bool pred_count(void *arg) {
    count_arg_t *a = arg;
    return *a->counter >= a->at_least;
}

static void expect_count(const uint64_t *counter, uint64_t at_least) {
    count_arg_t a = {counter, at_least};
    assert_true(pump(pred_count, &a, WAIT_MS));
}

/* ---------------------------------------------------------------- captured log lines */

typedef struct {
    const char *needle; /* count lines containing this */
    int hits;
    char last[1024];    /* the last such line */
} capture_t;

static void capture_line(qc_log_level_t level, const char *line, void *user) {
    (void)level;
    capture_t *c = user;
    fprintf(stderr, "%s\n", line);
    if (strstr(line, c->needle) == NULL) return;
    c->hits++;
    snprintf(c->last, sizeof c->last, "%s", line);
}

/* Captures (and still prints) every line from WARN up until capture_stop. */
static void capture_start(capture_t *c, const char *needle) {
    memset(c, 0, sizeof *c);
    c->needle = needle;
    qc_log_set_level(QC_LOG_WARN);
    qc_log_set_sink(capture_line, c);
}

static void capture_stop(void) {
    qc_log_set_sink(NULL, NULL);
    qc_log_set_level(QC_LOG_ERROR);
}

/* ---------------------------------------------------------------- flood */

#define FLOOD_PER_PORT 100   /* more than the old 64 handshake slots per node */
#define FLOOD_SOURCES 20     /* 127.0.0.66 ... 127.0.0.85: 20 x 4 > the 64 outsider slots */

typedef struct flood {
    uint32_t nodes;
    int fd[NODES_MAX][FLOOD_PER_PORT];
    uint64_t opened;
} flood_t;

/* A non-blocking connect from 127.0.0.<host> to 127.0.0.1:port; never sends a byte. */
static int silent_open(uint8_t host, uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000000u | host);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

/* Closed (EOF, reset, refused), as opposed to open or still connecting. */
static bool silent_closed(int fd) {
    uint8_t b;
    ssize_t k = recv(fd, &b, 1, MSG_DONTWAIT);
    if (k == 0) return true;
    return k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN;
}

/* Reopens every flood connection that a node closed. */
static void flood_step(flood_t *f) {
    for (uint32_t i = 0; i < f->nodes; i++)
        for (int k = 0; k < FLOOD_PER_PORT; k++) {
            if (f->fd[i][k] >= 0 && !silent_closed(f->fd[i][k])) continue;
            if (f->fd[i][k] >= 0) close(f->fd[i][k]);
            f->fd[i][k] = silent_open((uint8_t)(66 + k % FLOOD_SOURCES), W->port[i]);
            f->opened++;
        }
}

static void flood_start(flood_t *f, uint32_t nodes) {
    memset(f, 0, sizeof *f);
    f->nodes = nodes;
    for (uint32_t i = 0; i < nodes; i++)
        for (int k = 0; k < FLOOD_PER_PORT; k++) f->fd[i][k] = -1;
    flood_step(f);
    W->flood = f;
}

static void flood_stop(flood_t *f) {
    W->flood = NULL;
    for (uint32_t i = 0; i < f->nodes; i++)
        for (int k = 0; k < FLOOD_PER_PORT; k++)
            if (f->fd[i][k] >= 0) close(f->fd[i][k]);
}

/* ---------------------------------------------------------------- tests */

static void test_exchange_both_ways(void **state) {
    (void)state;
    world_start(4, 0);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    char msg[64];
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t j = 0; j < 4; j++)
            for (int k = 0; j != i && k < 3; k++) {
                snprintf(msg, sizeof msg, "m:%u:%u:%d", i, j, k);
                assert_int_equal(net_send(&W->node[i]->net, j, msg, strlen(msg)), QC_OK);
            }
    assert_int_equal(net_broadcast(&W->node[3]->net, "all", 3), 3);
    for (uint32_t j = 0; j < 4; j++) {
        msgs_arg_t a = {j, 9 + (j != 3)};
        assert_true(pump(pred_msgs, &a, WAIT_MS));
    }
    for (uint32_t j = 0; j < 4; j++) {
        node_t *nd = W->node[j];
        assert_int_equal(nd->msgs, 9 + (j != 3));
        for (uint32_t i = 0; i < 4; i++)
            assert_int_equal(nd->from[i], i == j ? 0 : 3 + (i == 3));
        for (uint32_t i = 0; i < 4; i++) { /* each link keeps its order */
            if (i == j) continue;
            snprintf(msg, sizeof msg, "m:%u:%u:2", i, j);
            assert_string_equal(nd->last_from[i], i == 3 ? "all" : msg);
        }
        for (uint32_t i = 0; i < 4; i++) {
            if (i == j) continue;
            const net_peer_stats_t *st = net_peer_stats(&nd->net, i);
            assert_true(st->up);
            assert_int_equal(st->frames_out, 3 + (j == 3));
            assert_int_equal(st->frames_in, 3 + (i == 3));
            assert_true(st->bytes_in > 0 && st->bytes_out > 0);
            assert_int_equal(st->links_up, 1);
        }
        assert_int_equal(net_stats(&nd->net)->peers_up, 3);
        assert_int_equal(nd->ups, 3);
        assert_int_equal(nd->downs, 0);
    }
    assert_int_equal(net_send(&W->node[0]->net, 0, "x", 1), QC_ERR_RANGE);
    assert_int_equal(net_send(&W->node[0]->net, 4, "x", 1), QC_ERR_RANGE);
}

typedef struct {
    uint32_t node;
    size_t len;
} big_arg_t;

static qc_hash_t big_digest;
static size_t big_len;
static int big_count;
static size_t big_lens[8]; /* the first frames' lengths, in arrival order */

static void on_message_digest(net_t *net, uint32_t peer, const uint8_t *data, size_t len,
                              void *user) {
    (void)net, (void)peer, (void)user;
    qc_sha256(&big_digest, data, len);
    big_len = len;
    if (big_count < 8) big_lens[big_count] = len;
    big_count++;
}

static bool pred_big(void *arg) { return big_count >= *(int *)arg; }

static void test_frame_size_limits(void **state) {
    (void)state;
    W->n = 2;
    net_config_t cfg;
    node_config(1, &cfg);
    cfg.frame_bytes_max = 1u << 20;
    cfg.send_queue_bytes_max = 4u << 20;
    node_t *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->index = 1;
    assert_int_equal(net_init(&b->net, &W->loop, &cfg, on_message_digest, on_peer_state, b),
                     QC_OK);
    W->node[1] = b;
    W->port[1] = net_listen_port(&b->net);
    node_config(0, &cfg);
    cfg.frame_bytes_max = 1u << 20;
    cfg.send_queue_bytes_max = 4u << 20;
    node_start_cfg(&cfg);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    big_count = 0;

    size_t max = 1u << 20;
    uint8_t *payload = malloc(max + 1);
    assert_non_null(payload);
    randombytes_buf(payload, max + 1);
    qc_hash_t want;
    qc_sha256(&want, payload, max);
    assert_int_equal(net_send(&W->node[0]->net, 1, payload, max), QC_OK);
    int one = 1;
    assert_true(pump(pred_big, &one, WAIT_MS));
    assert_int_equal(big_len, max);
    assert_memory_equal(big_digest.b, want.b, 32);
    /* Over the limit: refused at the sender, nothing sent. */
    assert_int_equal(net_send(&W->node[0]->net, 1, payload, max + 1), QC_ERR_TOOBIG);
    assert_int_equal(net_broadcast(&W->node[0]->net, payload, max + 1), QC_ERR_TOOBIG);
    /* An empty frame is a valid message. */
    assert_int_equal(net_send(&W->node[0]->net, 1, "", 0), QC_OK);
    int two = 2;
    assert_true(pump(pred_big, &two, WAIT_MS));
    assert_int_equal(big_len, 0);
    assert_int_equal(net_peer_stats(&W->node[1]->net, 0)->frames_in, 2);
    /* Small frames are coalesced into one write, large ones written alone: order holds. */
    assert_int_equal(net_send(&W->node[0]->net, 1, payload, 10), QC_OK);
    assert_int_equal(net_send(&W->node[0]->net, 1, payload, 70000), QC_OK);
    assert_int_equal(net_send(&W->node[0]->net, 1, payload, 20), QC_OK);
    assert_int_equal(net_send(&W->node[0]->net, 1, payload, 30), QC_OK);
    int six = 6;
    assert_true(pump(pred_big, &six, WAIT_MS));
    assert_int_equal(big_lens[2], 10);
    assert_int_equal(big_lens[3], 70000);
    assert_int_equal(big_lens[4], 20);
    assert_int_equal(big_lens[5], 30);
    free(payload);
}

static void test_unknown_key_refused(void **state) {
    (void)state;
    world_start(3, 1); /* validators 1 and 2; 0 is offline */
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    /* A rogue claims index 0 with a key of its own and dials 1 and 2. */
    net_config_t cfg;
    node_config(0, &cfg);
    qc_pubkey_t rogue_pk;
    crypto_sign_keypair(rogue_pk.b, cfg.node_sk.b);
    cfg.peers[0].node_key = rogue_pk;
    cfg.listen_addr[0] = '\0';
    node_t *rogue = node_start_cfg(&cfg);
    expect_count(&net_stats(&W->node[1]->net)->hs_fail[NET_FAIL_UNKNOWN_KEY], 2);
    expect_count(&net_stats(&W->node[2]->net)->hs_fail[NET_FAIL_UNKNOWN_KEY], 2);
    assert_int_equal(rogue->ups, 0);
    assert_int_equal(W->node[1]->ups, 1); /* only the honest link */
    assert_int_equal(W->node[2]->ups, 1);
    expect_delivery(1, 2, "still here");
    expect_delivery(2, 1, "and back");
    assert_int_equal(W->node[2]->from[0], 0);
}

static void test_wrong_chain_refused(void **state) {
    (void)state;
    world_start(3, 1);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    /* Validator 0's real key, but bound to another chain. */
    net_config_t cfg;
    node_config(0, &cfg);
    cfg.chain.b[0] ^= 0xff;
    capture_t cap;
    capture_start(&cap, "wrong chain");
    node_t *other = node_start_cfg(&cfg);
    expect_count(&net_stats(&W->node[1]->net)->hs_fail[NET_FAIL_CHAIN], 1);
    expect_count(&net_stats(&W->node[2]->net)->hs_fail[NET_FAIL_CHAIN], 1);
    /* The responders answer with their own binding, so the dialler can say it too. */
    expect_count(&net_stats(&other->net)->hs_fail[NET_FAIL_CHAIN], 2);
    capture_stop();
    /* Every side names both genesis hashes: 2 responders and the dialler's 2 refusals. */
    char ours[65], theirs[65];
    qc_hash_hex(ours, &W->chain);
    qc_hash_hex(theirs, &cfg.chain);
    assert_int_equal(cap.hits, 4);
    assert_non_null(strstr(cap.last, ours));
    assert_non_null(strstr(cap.last, theirs));
    assert_int_equal(other->ups, 0);
    assert_false(net_peer_up(&W->node[2]->net, 0));
    expect_delivery(1, 2, "same chain");
}

static void test_raw_garbage_refused(void **state) {
    (void)state;
    world_start(3, 1);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    const net_stats_t *st = net_stats(&W->node[2]->net);
    raw_t r;
    raw_connect(&r, W->port[2]);
    uint8_t junk[1000];
    randombytes_buf(junk, sizeof junk);
    junk[0] = 'X'; /* never the magic */
    raw_send(&r, junk, sizeof junk);
    raw_expect_closed(&r);
    raw_close(&r);
    assert_int_equal(st->hs_fail[NET_FAIL_GARBAGE], 1);

    /* A valid HELLO as validator 0 followed by a random AUTH: the signature fails. */
    raw_connect(&r, W->port[2]);
    net_hs_config_t c0 = {.chain = &W->chain, .sk = &W->sk[0], .keys = W->pk, .n = 3, .self = 0};
    net_hs_start(&r.hs, &c0, NET_ROLE_INITIATOR, 2, NULL, r.sent);
    raw_send(&r, r.sent, NET_HELLO_BYTES);
    raw_send(&r, junk, NET_AUTH_BYTES);
    raw_expect_closed(&r);
    raw_close(&r);
    assert_int_equal(st->hs_fail[NET_FAIL_SIGNATURE], 1);
    assert_int_equal(net_peer_stats(&W->node[2]->net, 0)->hs_fail[NET_FAIL_SIGNATURE], 1);

    /* A connection that says nothing times out (handshake_timeout_ms is 2000 here). */
    raw_connect(&r, W->port[2]);
    raw_expect_closed(&r);
    raw_close(&r);
    assert_int_equal(st->hs_fail[NET_FAIL_TIMEOUT], 1);

    assert_int_equal(W->node[2]->ups, 1);
    assert_int_equal(st->pending, 0);
    expect_delivery(1, 2, "unharmed");
}

static void test_raw_bad_frames_refused(void **state) {
    (void)state;
    world_start(3, 1);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    node_t *n2 = W->node[2];
    const net_peer_stats_t *p0 = net_peer_stats(&n2->net, 0);
    raw_t r;

    /* An honest frame, then a truncated one and EOF. */
    raw_connect(&r, W->port[2]);
    raw_handshake(&r, 0, 2);
    expect_peer_state(2, 0, true);
    raw_send_frame(&r, NET_FRAME_DATA, "hello", 5);
    msgs_arg_t a = {2, 1};
    assert_true(pump(pred_msgs, &a, WAIT_MS));
    assert_memory_equal(n2->last, "hello", 5);
    uint8_t body[100] = {0}, wire[200];
    net_frame_seal(&r.tx, NET_FRAME_DATA, body, sizeof body, wire);
    raw_send(&r, wire, NET_FRAME_HEADER_BYTES + 40);
    shutdown(r.fd, SHUT_WR);
    expect_peer_state(2, 0, false);
    raw_close(&r);
    assert_int_equal(p0->protocol_errors, 1);

    /* A header announcing one byte over frame_bytes_max: closed before any body. */
    raw_connect(&r, W->port[2]);
    raw_handshake(&r, 0, 2);
    expect_peer_state(2, 0, true);
    uint8_t hdr_only[NET_FRAME_HEADER_BYTES + 64];
    uint8_t plain[NET_FRAME_HEADER_PLAIN_BYTES];
    qc_put_u32(plain, n2->net.cfg.frame_bytes_max + 1);
    plain[4] = NET_FRAME_DATA;
    crypto_secretstream_xchacha20poly1305_push(&r.tx, hdr_only, NULL, plain, sizeof plain, NULL,
                                               0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    raw_send(&r, hdr_only, NET_FRAME_HEADER_BYTES);
    raw_expect_closed(&r);
    raw_close(&r);
    expect_peer_state(2, 0, false);
    assert_int_equal(p0->protocol_errors, 2);

    /* Random bytes after a good handshake fail authentication. */
    raw_connect(&r, W->port[2]);
    raw_handshake(&r, 0, 2);
    expect_peer_state(2, 0, true);
    randombytes_buf(wire, sizeof wire);
    raw_send(&r, wire, sizeof wire);
    raw_expect_closed(&r);
    raw_close(&r);
    expect_peer_state(2, 0, false);
    assert_int_equal(p0->protocol_errors, 3);

    assert_int_equal(n2->msgs, 1); /* nothing but the honest frame got through */
    assert_int_equal(n2->from[0], 1);
    expect_delivery(1, 2, "still serving");
}

static void test_replayed_handshake_refused(void **state) {
    (void)state;
    world_start(3, 1);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    node_t *n2 = W->node[2];
    raw_t r;
    raw_connect(&r, W->port[2]);
    raw_handshake(&r, 0, 2);
    expect_peer_state(2, 0, true);
    uint8_t recorded[sizeof r.sent];
    memcpy(recorded, r.sent, sizeof recorded);
    raw_close(&r);
    expect_peer_state(2, 0, false);

    /* The attacker replays validator 0's recorded HELLO and AUTH byte for byte. */
    raw_connect(&r, W->port[2]);
    raw_send(&r, recorded, sizeof recorded);
    raw_expect_closed(&r);
    raw_close(&r);
    assert_int_equal(net_stats(&n2->net)->hs_fail[NET_FAIL_SIGNATURE], 1);
    assert_int_equal(net_peer_stats(&n2->net, 0)->hs_fail[NET_FAIL_SIGNATURE], 1);
    assert_int_equal(net_peer_stats(&n2->net, 0)->links_up, 1);
    assert_false(n2->up[0]);
    expect_delivery(1, 2, "after replay");
}

static void test_stuck_peer_fills_queue(void **state) {
    (void)state;
    W->n = 3;
    net_config_t cfg;
    node_config(2, &cfg);
    cfg.frame_bytes_max = 64 * 1024;
    cfg.send_queue_bytes_max = 256 * 1024;
    cfg.idle_timeout_ms = 1500;
    node_t *n2 = node_start_cfg(&cfg);
    /* Validator 0 is a raw client that completes the handshake and then never reads. */
    raw_t r;
    raw_connect(&r, W->port[2]);
    raw_handshake(&r, 0, 2);
    expect_peer_state(2, 0, true);
    const net_peer_stats_t *st = net_peer_stats(&n2->net, 0);
    uint8_t *chunk = calloc(1, 64 * 1024);
    assert_non_null(chunk);
    size_t accepted = 0;
    int rc = QC_OK;
    for (int i = 0; i < 4096 && rc == QC_OK; i++) { /* at most 256 MiB: never reached */
        rc = net_send(&n2->net, 0, chunk, 64 * 1024);
        if (rc == QC_OK) accepted += 64 * 1024;
        assert_true(st->queue_bytes <= cfg.send_queue_bytes_max);
        uv_run(&W->loop, UV_RUN_NOWAIT); /* let completed writes leave the queue */
    }
    assert_int_equal(rc, QC_ERR_FULL);
    /* The kernel's socket buffers took more than the queue bound before it filled. */
    assert_true(accepted > cfg.send_queue_bytes_max);
    assert_int_equal(st->drops_full, 1);
    /* Still full a while later: the peer is stuck, and memory does not grow. */
    pump_for(100);
    assert_int_equal(net_send(&n2->net, 0, chunk, 64 * 1024), QC_ERR_FULL);
    assert_true(st->queue_bytes <= cfg.send_queue_bytes_max);
    assert_int_equal(st->drops_full, 2);
    /* The stuck peer is dropped after idle_timeout_ms, and its queue with it. */
    expect_peer_state(2, 0, false);
    assert_int_equal(st->idle_closes, 1);
    assert_int_equal(st->queue_bytes, 0);
    assert_int_equal(net_send(&n2->net, 0, chunk, 1), QC_ERR_CLOSED);
    raw_close(&r);
    free(chunk);
}

static void test_reconnect_after_restart(void **state) {
    (void)state;
    world_start(3, 0);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    uint32_t random_before = W->random_calls;
    node_stop(1); /* 1 dials 2 and is dialled by 0 */
    expect_peer_state(0, 1, false);
    expect_peer_state(2, 1, false);
    assert_int_equal(net_send(&W->node[0]->net, 1, "x", 1), QC_ERR_CLOSED);
    pump_for(100); /* 0 keeps redialling a closed port, with backoff */
    assert_true(net_peer_stats(&W->node[0]->net, 1)->dial_failures >= 1);
    node_start(1);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    assert_true(W->random_calls > random_before); /* backoff drew from the injected source */
    expect_delivery(0, 1, "welcome back");
    expect_delivery(1, 2, "hello again");
    expect_delivery(2, 0, "never left");
    assert_int_equal(net_peer_stats(&W->node[0]->net, 1)->links_up, 2);
    assert_int_equal(net_peer_stats(&W->node[2]->net, 1)->links_down, 1);
}

/* A node that restarts gets every link back at once although the others back off for 15-30 s:
 * it dials the higher indexes and knocks at the lower ones, which dial it back (no duplicate
 * links). A knock is ignored while a link is fresh, and replaces a stale one. */
static void test_rejoin_without_waiting_for_backoff(void **state) {
    (void)state;
    W->backoff_base_ms = 30000;
    W->backoff_max_ms = 60000;
    W->handshake_timeout_ms = 500;
    const uint64_t prompt_ms = 3000; /* far below the 15 s the first redial would wait */
    world_start(4, 0);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    for (uint32_t restarted = 4; restarted-- > 0;) { /* the highest index first: only knocks */
        node_stop(restarted);
        for (uint32_t i = 0; i < 4; i++)
            if (i != restarted) expect_peer_state(i, restarted, false);
        node_start(restarted);
        assert_true(pump(pred_all_up, NULL, prompt_ms));
        for (uint32_t i = 0; i < 4; i++) {
            if (i == restarted) continue;
            const net_peer_stats_t *st = net_peer_stats(&W->node[i]->net, restarted);
            assert_true(st->up);
            assert_int_equal(st->links_down + 1, st->links_up); /* one link at a time */
            if (i < restarted) assert_int_equal(st->knock_dials, 1); /* dialled back once */
            assert_int_equal(net_stats(&W->node[i]->net)->peers_up, 3);
        }
        assert_int_equal(net_stats(&W->node[restarted]->net)->peers_up, 3);
        assert_int_equal(W->node[restarted]->downs, 0);
    }
    expect_delivery(3, 0, "back");
    expect_delivery(0, 3, "welcome");

    /* A knock from 3 while 0's link to it is fresh: answered, closed, nothing else. */
    const net_peer_stats_t *st = net_peer_stats(&W->node[0]->net, 3);
    uint64_t knocks = st->knocks_in, dials = st->knock_dials, ups = st->links_up;
    raw_t r;
    raw_connect(&r, W->port[0]);
    raw_handshake(&r, 3, 0);
    raw_expect_closed(&r);
    raw_close(&r);
    assert_int_equal(st->knocks_in, knocks + 1);
    assert_int_equal(st->knock_dials, dials);
    pump_for(100);
    assert_int_equal(st->links_up, ups);
    /* Later, while 0's link to 3 is alive (3 pings it), a knock comes from a second holder of
     * 3's key: warned about and ignored; the live link stays. */
    pump_for(W->handshake_timeout_ms + 100);
    raw_connect(&r, W->port[0]);
    raw_handshake(&r, 3, 0);
    raw_expect_closed(&r);
    raw_close(&r);
    pump_for(100);
    assert_int_equal(st->knocks_in, knocks + 2);
    assert_int_equal(st->knock_dials, dials);
    assert_int_equal(st->dup_identity, 1);
    assert_int_equal(st->links_up, ups);

    /* A link that fell silent is stale (3 lost it without 0 noticing): a knock makes 0 dial a
     * replacement at once. Node 3 is replaced by a raw listener on its port that completes
     * 0's dials and then says nothing. */
    node_stop(3);
    expect_peer_state(0, 3, false);
    int lfd = raw_listen(W->port[3]);
    raw_t stale, fresh;
    raw_connect(&r, W->port[0]);
    raw_handshake(&r, 3, 0); /* 0 has no link to 3: it dials back now */
    raw_expect_closed(&r);
    raw_close(&r);
    raw_accept_handshake(&stale, lfd, 3);
    expect_peer_state(0, 3, true);
    pump_for(2 * 200 + 100); /* two keepalive periods of silence: no longer alive */
    ups = st->links_up;
    raw_connect(&r, W->port[0]);
    raw_handshake(&r, 3, 0);
    raw_expect_closed(&r);
    raw_close(&r);
    raw_accept_handshake(&fresh, lfd, 3);
    count_arg_t replaced = {&st->links_up, ups + 1};
    assert_true(pump(pred_count, &replaced, prompt_ms));
    assert_int_equal(st->knock_dials, dials + 2);
    raw_expect_closed(&stale); /* the replaced link */
    raw_send_frame(&fresh, NET_FRAME_DATA, "replaced", 8);
    msgs_arg_t got = {0, W->node[0]->msgs + 1};
    assert_true(pump(pred_msgs, &got, WAIT_MS));
    assert_string_equal(W->node[0]->last_from[3], "replaced");
    raw_close(&stale);
    raw_close(&fresh);
    close(lfd);
}

/* A host with no keys holds many silent connections against every node (more than the old 64
 * shared handshake slots, from 20 addresses, reopened as they close). Its connections beyond
 * its per-address and outsider budgets are refused at once, it never takes the room kept for
 * members' addresses, so a restarted validator rejoins at once and traffic flows; and the
 * refusals cost a few log lines, not one each. */
static void test_silent_flood_keeps_no_member_out(void **state) {
    (void)state;
    W->handshake_timeout_ms = 3000; /* silent connections hold their slots this long */
    world_start(3, 0);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    const net_stats_t *st2 = net_stats(&W->node[2]->net);

    /* One address gets pending_per_source_max (4) handshakes; the rest are refused at once. */
    int one[10];
    for (int k = 0; k < 10; k++) one[k] = silent_open(99, W->port[2]);
    count_arg_t refused6 = {&st2->hs_fail[NET_FAIL_REFUSED], 6};
    assert_true(pump(pred_count, &refused6, WAIT_MS));
    pump_for(50);
    assert_int_equal(st2->pending, 4);
    assert_int_equal(st2->pending_outsiders, 4);
    assert_int_equal(st2->hs_fail[NET_FAIL_REFUSED], 6);
    for (int k = 0; k < 10; k++) close(one[k]);

    capture_t cap;
    capture_start(&cap, "refused");
    flood_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    flood_start(f, 3);
    pump_for(300);
    for (uint32_t i = 0; i < 3; i++) {
        const net_stats_t *st = net_stats(&W->node[i]->net);
        assert_true(st->pending_outsiders <= 64); /* pending_max: the outsiders' share */
        assert_true(st->hs_fail[NET_FAIL_REFUSED] >= FLOOD_PER_PORT - 64);
    }
    node_stop(1);
    node_start(1);
    /* Well within the flood's 3 s hold: the old shared 64 slots kept it out that long. */
    assert_true(pump(pred_all_up, NULL, 1500));
    expect_delivery(0, 1, "through the flood");
    expect_delivery(1, 2, "still through");
    for (uint32_t i = 0; i < 3; i++)
        assert_true(net_stats(&W->node[i]->net)->pending_outsiders <= 64);
    uint64_t refused = 0;
    for (uint32_t i = 0; i < 3; i++) refused += net_stats(&W->node[i]->net)->hs_fail[NET_FAIL_REFUSED];
    assert_true(refused >= 3 * (FLOOD_PER_PORT - 64));
    /* 4 nets (node 1 twice), each at most 10 lines a minute per kind, for two kinds that a
     * flood causes (refused for a budget; timed out or closed in the handshake). */
    assert_true(cap.hits >= 1 && cap.hits <= 4 * 2 * 10);
    assert_true((uint64_t)cap.hits < refused);
    flood_stop(f);
    capture_stop();
    free(f);
    pump_for(NET_HOUSEKEEP_TEST_MS);
    assert_true(net_stats(&W->node[2]->net)->log_suppressed > 0);
}

static void on_dup_closed(net_t *net) { free(net); } /* node_t begins with its net_t */

/* Two running nodes with validator 1's key (a copied key directory): the second dials 2 and
 * knocks at 0 like the first. Each of them keeps its live link to the first and refuses the
 * second with a warning, instead of the two replacing each other's links forever. */
static void test_duplicate_identity_keeps_one_link(void **state) {
    (void)state;
    W->handshake_timeout_ms = 500;
    world_start(3, 0);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    pump_for(W->handshake_timeout_ms + 100); /* links no longer fresh */
    capture_t cap;
    capture_start(&cap, "two nodes run with one key");
    net_config_t cfg;
    node_config(1, &cfg);
    snprintf(cfg.listen_addr, NET_ADDR_MAX, "127.0.0.1:0");
    node_t *dup = calloc(1, sizeof *dup);
    assert_non_null(dup);
    dup->w = W;
    dup->index = 1;
    assert_int_equal(net_init(&dup->net, &W->loop, &cfg, on_message, on_peer_state, dup), QC_OK);
    pump_for(1500); /* the second one retries every 20-200 ms */
    const net_peer_stats_t *s0 = net_peer_stats(&W->node[0]->net, 1);
    const net_peer_stats_t *s2 = net_peer_stats(&W->node[2]->net, 1);
    assert_int_equal(W->node[0]->downs, 0);
    assert_int_equal(W->node[2]->downs, 0);
    assert_int_equal(s0->links_up, 1);
    assert_int_equal(s2->links_up, 1);
    assert_true(s0->dup_identity >= 2); /* its knocks */
    assert_true(s2->dup_identity >= 2); /* its links */
    assert_true(cap.hits >= 2 && cap.hits <= 2 * 10); /* rate-limited on 0 and 2 */
    assert_non_null(strstr(cap.last, "validator 1's key"));
    capture_stop();
    expect_delivery(1, 2, "the first one");
    expect_delivery(0, 1, "still the first one");
    assert_int_equal(net_close(&dup->net, on_dup_closed), QC_OK);
    pump_for(100);
}

static void test_idle_and_keepalive(void **state) {
    (void)state;
    W->n = 2;
    net_config_t cfg;
    node_config(1, &cfg);
    cfg.keepalive_ms = 100;
    cfg.idle_timeout_ms = 400;
    node_t *b = node_start_cfg(&cfg);
    node_config(0, &cfg);
    cfg.keepalive_ms = 100;
    cfg.idle_timeout_ms = 400;
    node_t *a = node_start_cfg(&cfg);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    /* Keepalives hold a quiet link open well past the idle timeout. */
    pump_for(1200);
    assert_int_equal(a->downs + b->downs, 0);
    assert_true(net_peer_stats(&b->net, 0)->pings_in >= 5);
    assert_true(net_peer_stats(&a->net, 1)->pings_out >= 5);

    /* Validator 0 restarts without keepalives: 1 closes the silent link. */
    node_stop(0);
    expect_peer_state(1, 0, false);
    node_config(0, &cfg);
    cfg.keepalive_ms = 0;
    cfg.idle_timeout_ms = 0;
    a = node_start_cfg(&cfg);
    expect_peer_state(1, 0, true);
    uv_update_time(&W->loop);
    uint64_t t0 = uv_now(&W->loop);
    expect_peer_state(1, 0, false);
    assert_true(uv_now(&W->loop) - t0 >= 400 - 10);
    assert_int_equal(net_peer_stats(&b->net, 0)->idle_closes, 1);
    count_arg_t down = {&net_peer_stats(&a->net, 1)->links_down, 1};
    assert_true(pump(pred_count, &down, WAIT_MS)); /* 0 saw the close too */
}

static void test_close_with_traffic_in_flight(void **state) {
    (void)state;
    world_start(3, 0);
    assert_true(pump(pred_all_up, NULL, WAIT_MS));
    /* Node 2 closes its net from inside on_message, with 49 more frames on the way. */
    W->node[2]->close_on_message = 1;
    uint8_t buf[4096] = {0};
    for (int i = 0; i < 50; i++) {
        assert_int_equal(net_send(&W->node[0]->net, 2, buf, sizeof buf), QC_OK);
        assert_int_equal(net_send(&W->node[0]->net, 1, buf, sizeof buf), QC_OK);
    }
    uint32_t two = 2;
    assert_true(pump(pred_node_gone, &two, WAIT_MS));
    assert_int_equal(W->final_msgs[2], 1); /* no callback ran after net_close */
    expect_peer_state(0, 2, false);
    expect_peer_state(1, 2, false);
    /* Node 0 closes with frames still queued to 1, and 1 while its dial to 2 keeps failing;
     * teardown checks that every handle closed and ASan that nothing leaked. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(net_send(&W->node[0]->net, 1, buf, sizeof buf), QC_OK);
    assert_true(net_peer_stats(&W->node[0]->net, 1)->queue_bytes > 0);
    assert_int_equal(net_close(&W->node[0]->net, on_node_closed), QC_OK);
    assert_int_equal(net_close(&W->node[0]->net, on_node_closed), QC_ERR_STATE);
    assert_int_equal(net_send(&W->node[0]->net, 1, "x", 1), QC_ERR_CLOSED);
    pump_for(50);
    assert_null(W->node[0]);
}

static void test_config_refused(void **state) {
    (void)state;
    W->n = 3;
    net_config_t cfg;
    net_t net;
    node_config(2, &cfg);
    cfg.node_sk = W->sk[1]; /* key is not peers[self]'s */
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_INVALID);
    node_config(2, &cfg);
    cfg.send_queue_bytes_max = cfg.frame_bytes_max; /* cannot hold one largest frame */
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_INVALID);
    node_config(1, &cfg);
    snprintf(cfg.peers[2].addr, NET_ADDR_MAX, "bad_host:7000"); /* not a host name */
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_INVALID);
    node_config(1, &cfg);
    snprintf(cfg.peers[2].addr, NET_ADDR_MAX, "127.0.0.1:70000");
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_INVALID);
    node_config(1, &cfg);
    cfg.idle_timeout_ms = cfg.keepalive_ms; /* a healthy link would time out */
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_INVALID);
    node_config(1, &cfg);
    cfg.peers[2].node_key = cfg.peers[0].node_key; /* one key, two validators */
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_INVALID);
    /* A port already taken: an I/O error, and no handle was left behind. */
    node_start(2);
    node_config(1, &cfg);
    snprintf(cfg.listen_addr, NET_ADDR_MAX, "127.0.0.1:%u", (unsigned)W->port[2]);
    assert_int_equal(net_init(&net, &W->loop, &cfg, on_message, on_peer_state, NULL),
                     QC_ERR_IO);
    snprintf(cfg.listen_addr, NET_ADDR_MAX, "[::1]:0");
    node_t *v6 = node_start_cfg(&cfg); /* IPv6 listener, dialling 2 over IPv4 */
    expect_peer_state(2, 1, true);
    assert_true(net_listen_port(&v6->net) != 0);
}

static void test_hostname_dial(void **state) {
    (void)state;
    W->n = 3; /* 2 never exists: its name does not resolve */
    net_config_t cfg;
    node_config(1, &cfg);
    snprintf(cfg.listen_addr, NET_ADDR_MAX, "localhost:0"); /* resolved once, at start */
    node_start_cfg(&cfg);
    node_config(0, &cfg);
    snprintf(cfg.peers[1].addr, NET_ADDR_MAX, "localhost:%u", (unsigned)W->port[1]);
    snprintf(cfg.peers[2].addr, NET_ADDR_MAX, "no-such-host.invalid:7000");
    node_t *a = node_start_cfg(&cfg);
    expect_peer_state(0, 1, true);
    expect_delivery(0, 1, "by name");
    expect_delivery(1, 0, "and back");
    expect_count(&net_peer_stats(&a->net, 2)->dial_failures, 2); /* retried with backoff */
    assert_false(net_peer_up(&a->net, 2));
    /* Teardown closes node 0 with a resolution possibly in flight. */
}

static void test_backoff(void **state) {
    (void)state;
    assert_int_equal(net_backoff_ms(100, 10000, 0, 0), 50);
    assert_int_equal(net_backoff_ms(100, 10000, 0, 50), 100);
    assert_int_equal(net_backoff_ms(100, 10000, 0, 51), 50);
    assert_int_equal(net_backoff_ms(100, 10000, 3, 0), 400);
    assert_int_equal(net_backoff_ms(100, 10000, 3, UINT32_MAX) <= 800, 1);
    assert_int_equal(net_backoff_ms(100, 10000, 30, 0), 5000); /* capped */
    for (uint32_t r = 0; r < 1000; r += 7) {
        uint64_t d = net_backoff_ms(100, 10000, 200, r * 2654435761u);
        assert_true(d >= 5000 && d <= 10000);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exchange_both_ways, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_frame_size_limits, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_chain_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_raw_garbage_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_raw_bad_frames_refused, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_replayed_handshake_refused, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_stuck_peer_fills_queue, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_restart, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_rejoin_without_waiting_for_backoff, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_silent_flood_keeps_no_member_out, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_identity_keeps_one_link, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_idle_and_keepalive, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_close_with_traffic_in_flight, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_config_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_hostname_dial, world_setup, world_teardown),
        cmocka_unit_test(test_backoff),
    };
    alarm(120); /* a last resort: no single wait above can exceed its own deadline */
    qc_log_set_level(QC_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
