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
    /* The conflicting chain it shows the odd-indexed peers: for each block it proposed, the
     * digest of its twin (same height, parent's twin as parent, time 1 ms later). A ring. */
    qc_hash_t honest[BYZ_TWINS_MAX], twin[BYZ_TWINS_MAX];
    size_t twins, twin_next;
    uint64_t sends, twins_made, equivocations, conflicting_votes, replays, malformed;
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
    if (wire_encode_consensus(m, block, block_len, NULL, 0, &buf, &len) != QC_OK) return;
    net_send(&n->net, peer, buf, len);
    remember(buf, len);
    free(buf);
}

static const qc_hash_t *twin_of(const qc_hash_t *honest) {
    for (size_t i = 0; i < g.twins; i++)
        if (memcmp(g.honest[i].b, honest->b, sizeof honest->b) == 0) return &g.twin[i];
    return NULL;
}

/* The twin of block b (which is left as it was): a valid block at the same height with the
 * same transactions, a timestamp 1 ms later and, where b's parent has a twin, that twin as its
 * parent, so the odd-indexed peers see one consistent conflicting chain that every check of a
 * proposal accepts. Its encoding into *raw (owned by the caller) and its digest into *digest;
 * remembered as the twin of honest. */
static int make_twin(qc_block_t *b, const qc_hash_t *honest, uint8_t **raw, size_t *raw_len,
                     qc_hash_t *digest) {
    qc_header_t saved = b->header;
    const qc_hash_t *parent_twin = twin_of(&b->header.prev_hash);
    if (parent_twin) b->header.prev_hash = *parent_twin;
    b->header.time_ms++;
    qc_header_hash(&b->header, digest);
    int rc = qc_block_encode(b, raw, raw_len);
    b->header = saved;
    if (rc != QC_OK) return rc;
    if (twin_of(honest)) return QC_OK; /* a proposal sent again: the same twin */
    char a[65], t[65];
    QC_WARN("byzantine: twin block: height %llu %.16s to even peers, %.16s to odd peers",
            (unsigned long long)b->header.height, qc_hash_hex(a, honest), qc_hash_hex(t, digest));
    g.twins_made++;
    g.honest[g.twin_next] = *honest;
    g.twin[g.twin_next] = *digest;
    g.twin_next = (g.twin_next + 1) % BYZ_TWINS_MAX;
    if (g.twins < BYZ_TWINS_MAX) g.twins++;
    return QC_OK;
}

/* A copy of m for another digest, signed with this member's own key: the twin of m's block
 * where there is one (a real conflicting block), else a random digest (a block no one has). */
static void conflicting(node_t *n, const pbft_msg_t *m, pbft_msg_t *out) {
    *out = *m;
    const qc_hash_t *twin = twin_of(&m->digest);
    if (twin) out->digest = *twin;
    else randombytes_buf(out->digest.b, sizeof out->digest.b);
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
    uint8_t *twin_raw = NULL;
    size_t twin_len = 0;
    qc_hash_t twin_digest;
    bool propose = m->type == PBFT_MSG_PREPREPARE && m->from == n->self;
    if (propose) {
        node_pending_t *e = node_pending_find(n, &m->digest);
        if (e && e->raw) {
            block = e->raw;
            block_len = e->raw_len;
            if (e->state == PENDING_VALID &&
                make_twin(&e->block, &m->digest, &twin_raw, &twin_len, &twin_digest) != QC_OK)
                twin_raw = NULL;
        }
    }
    bool vote = m->type == PBFT_MSG_PREPARE || m->type == PBFT_MSG_COMMIT;
    pbft_msg_t other;
    if (propose || vote) conflicting(n, m, &other);
    for (uint32_t p = 0; p < n->genesis.validators.n; p++) {
        if (p == n->self || (m->to != PBFT_BROADCAST && m->to != p)) continue;
        if (propose && p % 2 == 1) {
            send_encoded(n, p, &other, twin_raw, twin_len);
            g.equivocations++;
            continue;
        }
        send_encoded(n, p, m, block, block_len);
        if (vote) {
            send_encoded(n, p, &other, NULL, 0);
            g.conflicting_votes++;
        }
    }
    free(twin_raw);
    replay_or_garble(n);
    if (++g.sends % 1000 == 0)
        QC_WARN("byzantine: %llu twin blocks, %llu equivocations, %llu conflicting votes, "
                "%llu replays, %llu malformed", (unsigned long long)g.twins_made,
                (unsigned long long)g.equivocations, (unsigned long long)g.conflicting_votes,
                (unsigned long long)g.replays, (unsigned long long)g.malformed);
    return true;
}
#endif
