/* bench_net.c - loopback throughput of peer-link frames between two nets on one uv loop (one
 * thread does the sender's sealing, both kernels' TCP work and the receiver's opening, so this
 * is a floor for two nodes on separate cores). For each payload size the sender keeps its
 * bounded queue full for a fixed time; reported: payload MB/s and frames/s received. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"

#define RUN_SECONDS 1.0

typedef struct {
    net_t net[2];
    uv_loop_t loop;
    uv_check_t refill;
    uint8_t *payload;
    size_t payload_len;
    uint64_t frames_rx, bytes_rx;
    bool sending, up;
    int closed;
} bench_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_message(net_t *net, uint32_t peer, const uint8_t *data, size_t len, void *user) {
    (void)net, (void)peer, (void)data;
    bench_t *b = user;
    b->frames_rx++;
    b->bytes_rx += len;
}

static void on_peer_state(net_t *net, uint32_t peer, bool up, void *user) {
    (void)net, (void)peer;
    ((bench_t *)user)->up = up;
}

/* Runs once per loop iteration: tops the sender's queue up until it is full. */
static void on_refill(uv_check_t *c) {
    bench_t *b = c->data;
    if (!b->sending || !b->up) return;
    for (int i = 0; i < 4096; i++)
        if (net_send(&b->net[0], 1, b->payload, b->payload_len) != QC_OK) break;
}

static void on_closed(net_t *net) {
    (void)net;
}

static int run(void) {
    static bench_t b;
    qc_seckey_t sk[2];
    qc_pubkey_t pk[2];
    if (qc_crypto_init() != QC_OK || uv_loop_init(&b.loop) != 0) return 1;
    qc_log_set_level(QC_LOG_WARN);
    for (int i = 0; i < 2; i++) crypto_sign_keypair(pk[i].b, sk[i].b);
    uint16_t port = 0;
    for (int i = 1; i >= 0; i--) {
        net_config_t cfg;
        net_config_default(&cfg);
        cfg.self = (uint32_t)i;
        cfg.node_sk = sk[i];
        cfg.n = 2;
        for (int j = 0; j < 2; j++) cfg.peers[j].node_key = pk[j];
        snprintf(cfg.peers[1].addr, NET_ADDR_MAX, "127.0.0.1:%u", (unsigned)port);
        snprintf(cfg.listen_addr, NET_ADDR_MAX, "127.0.0.1:0");
        cfg.send_queue_bytes_max = (size_t)32 << 20;
        cfg.frame_bytes_max = 1u << 20;
        if (net_init(&b.net[i], &b.loop, &cfg, on_message, on_peer_state, &b) != QC_OK) return 1;
        port = net_listen_port(&b.net[1]);
    }
    uv_check_init(&b.loop, &b.refill);
    b.refill.data = &b;
    uv_check_start(&b.refill, on_refill);
    double start = now_s();
    while (!b.up && now_s() - start < 5) uv_run(&b.loop, UV_RUN_NOWAIT);
    if (!b.up) {
        fprintf(stderr, "bench_net: link did not come up\n");
        return 1;
    }

    static const size_t sizes[] = {64, 256, 1024, 4096, 65536, 1u << 20};
    b.payload = calloc(1, 1u << 20);
    if (b.payload == NULL) return 1;
    printf("%-10s %12s %12s\n", "payload", "MB/s", "frames/s");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        b.payload_len = sizes[s];
        b.frames_rx = b.bytes_rx = 0;
        b.sending = true;
        double t0 = now_s(), t;
        while ((t = now_s()) - t0 < RUN_SECONDS) uv_run(&b.loop, UV_RUN_NOWAIT);
        b.sending = false;
        printf("%-10zu %12.1f %12.0f\n", sizes[s], (double)b.bytes_rx / (t - t0) / 1e6,
               (double)b.frames_rx / (t - t0));
        /* Drain what is still queued before the next size. */
        double t1 = now_s();
        while (net_peer_stats(&b.net[0], 1)->queue_bytes > 0 && now_s() - t1 < 5)
            uv_run(&b.loop, UV_RUN_NOWAIT);
        for (t1 = now_s(); now_s() - t1 < 0.05;) uv_run(&b.loop, UV_RUN_NOWAIT);
    }
    net_close(&b.net[0], on_closed);
    net_close(&b.net[1], on_closed);
    uv_close((uv_handle_t *)&b.refill, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    free(b.payload);
    return uv_loop_close(&b.loop) == 0 ? 0 : 1;
}

int main(void) { return run(); }
