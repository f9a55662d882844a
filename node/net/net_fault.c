/* net_fault.c - the test-only per-peer send delay of net_fault.h: frames wait in one bounded
 * queue on a libuv timer and are then sent by net_send itself, so a delayed frame meets the
 * same link checks as any other. Empty unless compiled with -DQC_TEST_FAULTS. */
#include "net_fault.h"

typedef int net_fault_unused_t; /* keeps the translation unit non-empty in normal builds */

#ifdef QC_TEST_FAULTS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_RELOAD_MS 250

typedef struct {
    uint64_t due_ms;
    uint32_t peer;
    size_t len;
    uint8_t *data;
} fault_frame_t;

static struct {
    bool init, releasing;
    net_t *net;
    uv_timer_t timer;
    uint32_t env_lo_ms, env_hi_ms, lo_ms, hi_ms;
    uint64_t seed, reloaded_ms, armed_due_ms;
    const char *file;
    uint64_t last_due_ms[NET_PEERS_MAX]; /* per-peer FIFO: a later frame is never due earlier */
    fault_frame_t q[NET_FAULT_QUEUE_MAX];
    size_t count;
} g;

/* "LO-HI" or "MS" into lo/hi; false (unchanged) for anything else. */
static bool parse_range(const char *s, uint32_t *lo, uint32_t *hi) {
    unsigned a, b;
    if (s == NULL) return false;
    int n = sscanf(s, "%u-%u", &a, &b);
    if (n == 1) b = a;
    if (n < 1 || a > b || b > 60000u) return false;
    *lo = a;
    *hi = b;
    return true;
}

static void reload(uint64_t now_ms) {
    if (now_ms - g.reloaded_ms < FAULT_RELOAD_MS && g.reloaded_ms) return;
    g.reloaded_ms = now_ms;
    g.lo_ms = g.env_lo_ms;
    g.hi_ms = g.env_hi_ms;
    if (g.file == NULL) return;
    FILE *f = fopen(g.file, "r");
    if (f == NULL) return;
    char line[64] = "";
    if (fgets(line, sizeof line, f)) parse_range(line, &g.lo_ms, &g.hi_ms);
    fclose(f);
}

static uint32_t link_delay_ms(uint32_t self, uint32_t peer) {
    if (g.hi_ms == 0) return 0;
    uint64_t x = g.seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)self << 32 | peer);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return g.lo_ms + (uint32_t)(x % (g.hi_ms - g.lo_ms + 1u));
}

static void arm(void);

/* Sends every due frame in queue order, then re-arms for the earliest remaining one. */
static void on_timer(uv_timer_t *t) {
    uint64_t now = uv_now(t->loop);
    size_t kept = 0;
    for (size_t i = 0; i < g.count; i++) {
        fault_frame_t *f = &g.q[i];
        if (f->due_ms > now) { g.q[kept++] = *f; continue; }
        if (!g.net->closing) {
            g.releasing = true;
            net_send(g.net, f->peer, f->data, f->len);
            g.releasing = false;
        }
        free(f->data);
    }
    g.count = kept;
    arm();
}

static void arm(void) {
    if (g.count == 0) return;
    uint64_t now = uv_now(g.net->loop), first = g.q[0].due_ms;
    for (size_t i = 1; i < g.count; i++)
        if (g.q[i].due_ms < first) first = g.q[i].due_ms;
    g.armed_due_ms = first;
    uv_timer_start(&g.timer, on_timer, first > now ? first - now : 0, 0);
}

bool net_fault_hold(net_t *net, uint32_t peer, const void *data, size_t len) {
    if (g.releasing || peer >= NET_PEERS_MAX) return false;
    if (!g.init) {
        g.init = true;
        g.net = net;
        parse_range(getenv("QC_FAULT_DELAY_MS"), &g.env_lo_ms, &g.env_hi_ms);
        g.file = getenv("QC_FAULT_FILE");
        const char *seed = getenv("QC_FAULT_SEED");
        g.seed = seed ? strtoull(seed, NULL, 10) : 0;
        uv_timer_init(net->loop, &g.timer);
        uv_unref((uv_handle_t *)&g.timer); /* never keeps the loop alive at shutdown */
    }
    if (net != g.net) return false; /* one net per process in the chaos build */
    uint64_t now = uv_now(net->loop);
    reload(now);
    uint32_t d = link_delay_ms(net->cfg.self, peer);
    if (d == 0 || g.count >= NET_FAULT_QUEUE_MAX) return false;
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) return false;
    memcpy(copy, data, len);
    uint64_t due = now + d;
    if (due < g.last_due_ms[peer]) due = g.last_due_ms[peer];
    g.last_due_ms[peer] = due;
    g.q[g.count++] = (fault_frame_t){due, peer, len, copy};
    if (g.count == 1 || due < g.armed_due_ms) arm();
    return true;
}
#endif
