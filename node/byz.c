/* byz.c - the Byzantine behaviour of byz.h, for the chaos run only: honest replicas must stay
 * safe and live against one such member (f = 2 of 9). Empty unless compiled with
 * -DQC_TEST_FAULTS; inactive unless QC_BYZ=1. */
#include "byz.h"

typedef int byz_unused_t; /* keeps the translation unit non-empty in normal builds */

#ifdef QC_TEST_FAULTS
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node_internal.h"

static struct {
    bool init, on;
    uint8_t *old[BYZ_REPLAY_MAX]; /* owned copies of frames sent, a ring */
    size_t old_len[BYZ_REPLAY_MAX];
    size_t next;
    uint64_t sends, equivocations, conflicting_votes, replays, malformed;
} g;

static void remember(const uint8_t *buf, size_t len) {
    uint8_t *copy = malloc(len);
    if (copy == NULL) return;
    memcpy(copy, buf, len);
    free(g.old[g.next]);
    g.old[g.next] = copy;
    g.old_len[g.next] = len;
    g.next = (g.next + 1) % BYZ_REPLAY_MAX;
}

static void send_encoded(node_t *n, uint32_t peer, const pbft_msg_t *m, const uint8_t *block,
                         size_t block_len) {
    uint8_t *buf;
    size_t len;
    if (wire_encode_consensus(m, block, block_len, &buf, &len) != QC_OK) return;
    net_send(&n->net, peer, buf, len);
    remember(buf, len);
    free(buf);
}

/* A copy of m for a random digest, signed with this member's own key. */
static void conflicting(node_t *n, const pbft_msg_t *m, pbft_msg_t *out) {
    *out = *m;
    randombytes_buf(out->digest.b, sizeof out->digest.b);
    pbft_stmt_t st;
    pbft_msg_stmt(out, &st);
    wire_sign_cb(&n->crypto, &st, &out->sig);
}

static uint32_t random_peer(const node_t *n) {
    uint32_t nv = n->genesis.validators.n, p = randombytes_uniform(nv);
    return p == n->self ? (p + 1) % nv : p;
}

static void replay_or_garble(node_t *n) {
    size_t k = randombytes_uniform(BYZ_REPLAY_MAX);
    if (randombytes_uniform(4) == 0 && g.old[k]) {
        net_send(&n->net, random_peer(n), g.old[k], g.old_len[k]);
        g.replays++;
    }
    if (randombytes_uniform(8) != 0) return;
    uint8_t junk[512];
    size_t len = 1 + randombytes_uniform(sizeof junk);
    if (g.old[k] && randombytes_uniform(2) == 0) { /* truncated or bit-flipped real frame */
        len = g.old_len[k] < sizeof junk ? g.old_len[k] : sizeof junk;
        memcpy(junk, g.old[k], len);
        if (randombytes_uniform(2) == 0 && len > 1) len = 1 + randombytes_uniform((uint32_t)len - 1);
        else junk[randombytes_uniform((uint32_t)len)] ^= (uint8_t)(1 + randombytes_uniform(255));
    } else {
        randombytes_buf(junk, len);
    }
    net_send(&n->net, random_peer(n), junk, len);
    g.malformed++;
}

bool byz_send(node_t *n, const pbft_msg_t *m) {
    if (!g.init) {
        g.init = true;
        const char *v = getenv("QC_BYZ");
        g.on = v != NULL && strcmp(v, "1") == 0;
        if (g.on) QC_WARN("BYZANTINE test mode (QC_BYZ=1): this node attacks the protocol");
    }
    if (!g.on) return false;
    const uint8_t *block = NULL;
    size_t block_len = 0;
    bool propose = m->type == PBFT_MSG_PREPREPARE && m->from == n->self;
    if (propose) {
        node_pending_t *e = node_pending_find(n, &m->digest);
        if (e && e->raw) { block = e->raw; block_len = e->raw_len; }
    }
    bool vote = m->type == PBFT_MSG_PREPARE || m->type == PBFT_MSG_COMMIT;
    pbft_msg_t other;
    if (propose || vote) conflicting(n, m, &other);
    for (uint32_t p = 0; p < n->genesis.validators.n; p++) {
        if (p == n->self || (m->to != PBFT_BROADCAST && m->to != p)) continue;
        if (propose && p % 2 == 1) {
            send_encoded(n, p, &other, NULL, 0);
            g.equivocations++;
            continue;
        }
        send_encoded(n, p, m, block, block_len);
        if (vote) {
            send_encoded(n, p, &other, NULL, 0);
            g.conflicting_votes++;
        }
    }
    replay_or_garble(n);
    if (++g.sends % 1000 == 0)
        QC_WARN("byzantine: %llu equivocations, %llu conflicting votes, %llu replays, %llu malformed",
                (unsigned long long)g.equivocations, (unsigned long long)g.conflicting_votes,
                (unsigned long long)g.replays, (unsigned long long)g.malformed);
    return true;
}
#endif
