/* fuzz_handshake.c - libFuzzer target for the peer-link handshake (net_hs_*) and the frames
 * that follow it.
 *
 * Three validators with fixed keys and fixed ephemeral seeds, so runs are reproducible. Input
 * byte 0 picks our side: even = validator 1 as responder (dialled by 0, or knocked at by 2),
 * odd = validator 0 initiating to 1. Then come the peer's HELLO (102 bytes), its AUTH (88
 * bytes), and stream bytes for the frame decoder.
 *
 * Oracle: the handshake completes only when an independent check agrees - the peer's HELLO
 * names the chain and a key it may use (the dialled one; as responder 0's or, for a knock,
 * 2's), and its signature verifies under that key over QC_CTX_HANDSHAKE || 0 || the transcript
 * rebuilt here from the raw bytes - the peer and the knock flag are the ones that key implies,
 * and every failure carries a reason. A forged byte can never complete it; the seeds hold honest handshakes so
 * that the fuzzer also explores the frame decoder behind a completed one.
 *
 * Seeds: tests/fuzz/corpus/handshake/ (run this binary with NET_FUZZ_WRITE_SEEDS=<dir>). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "net_codec.h"

#define N 3

static qc_hash_t chain;
static qc_seckey_t sk[N];
static qc_pubkey_t pk[N];
static net_hs_config_t cfg[N];
static const uint8_t our_seed[32] = {1}, peer_seed[32] = {2};

static int frame_cb(void *user, uint8_t type, const uint8_t *payload, size_t len) {
    (void)user;
    if (payload == NULL || (type != NET_FRAME_DATA && type != NET_FRAME_PING)) abort();
    if (type == NET_FRAME_PING && len != 0) abort();
    return 0;
}

/* The independent acceptance check, from the raw peer bytes. */
static bool peer_is_genuine(const net_hs_t *hs, const uint8_t *hello, const uint8_t *auth,
                            uint32_t want_peer) {
    if (memcmp(hello, "QCHN\x01", 5) != 0) return false;
    if (hello[5] != (hs->role == NET_ROLE_INITIATOR ? NET_ROLE_RESPONDER : NET_ROLE_INITIATOR))
        return false;
    if (memcmp(hello + 6, chain.b, 32) != 0) return false;
    if (memcmp(hello + 38, pk[want_peer].b, 32) != 0) return false;
    uint8_t msg[sizeof(QC_CTX_HANDSHAKE) + NET_TRANSCRIPT_BYTES], *p = msg;
    memcpy(p, QC_CTX_HANDSHAKE, sizeof(QC_CTX_HANDSHAKE)), p += sizeof(QC_CTX_HANDSHAKE);
    *p++ = NET_WIRE_VERSION;
    memcpy(p, chain.b, 32), p += 32;
    const uint8_t *ini_id, *ini_eph, *rsp_id, *rsp_eph;
    if (hs->role == NET_ROLE_INITIATOR) {
        ini_id = hs->mine.identity.b, ini_eph = hs->mine.eph;
        rsp_id = hello + 38, rsp_eph = hello + 70;
    } else {
        ini_id = hello + 38, ini_eph = hello + 70;
        rsp_id = hs->mine.identity.b, rsp_eph = hs->mine.eph;
    }
    memcpy(p, ini_id, 32), p += 32;
    memcpy(p, ini_eph, 32), p += 32;
    memcpy(p, rsp_id, 32), p += 32;
    memcpy(p, rsp_eph, 32), p += 32;
    *p++ = hello[5];
    return crypto_sign_verify_detached(auth, msg, sizeof msg, hello + 38) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 + NET_HELLO_BYTES) return 0;
    bool initiator = data[0] & 1;
    uint32_t self = initiator ? 0 : 1, peer = initiator ? 1 : 0;
    const uint8_t *hello = data + 1, *auth = hello + NET_HELLO_BYTES;
    net_hs_t hs;
    uint8_t our_hello[NET_HELLO_BYTES], our_auth[NET_AUTH_BYTES];
    net_hs_start(&hs, &cfg[self], initiator ? NET_ROLE_INITIATOR : NET_ROLE_RESPONDER,
                 initiator ? peer : NET_PEER_NONE, our_seed, our_hello);
    int rc = net_hs_on_hello(&hs, hello, our_auth);
    if (rc != QC_OK) {
        if (hs.state != NET_HS_FAILED || hs.fail == NET_FAIL_NONE) abort();
        return 0;
    }
    if (size < 1 + NET_HELLO_BYTES + NET_AUTH_BYTES) return 0;
    rc = net_hs_on_auth(&hs, auth);
    if (!initiator && memcmp(hello + 38, pk[2].b, 32) == 0) peer = 2; /* a knock */
    bool genuine = peer_is_genuine(&hs, hello, auth, peer);
    if ((rc == QC_OK) != genuine) abort();
    if (rc != QC_OK) {
        if (hs.state != NET_HS_FAILED || hs.fail == NET_FAIL_NONE) abort();
        return 0;
    }
    if (hs.peer != peer || hs.knock != (!initiator && peer > self)) abort();
    net_rx_t rx;
    net_rx_init(&rx, &hs.rx, 1000);
    size_t off = 1 + NET_HELLO_BYTES + NET_AUTH_BYTES;
    (void)net_rx_feed(&rx, data + off, size - off, frame_cb, NULL);
    net_rx_free(&rx);
    net_hs_wipe(&hs);
    return 0;
}

static void write_seed(const char *dir, const char *name, const uint8_t *b, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0) abort();
}

/* An honest peer's bytes against our fixed ephemeral key, then a few frames. We initiate as 0
 * to 1, or respond as 1 to `peer` (0 dials, 2 knocks). */
static size_t honest(bool we_initiate, uint32_t peer, uint8_t *out) {
    uint32_t self = we_initiate ? 0 : 1;
    net_hs_t us, them;
    uint8_t our_hello[NET_HELLO_BYTES], our_auth[NET_AUTH_BYTES];
    out[0] = we_initiate ? 1 : 0;
    uint8_t *hello = out + 1, *auth = hello + NET_HELLO_BYTES, *frames = auth + NET_AUTH_BYTES;
    net_hs_start(&us, &cfg[self], we_initiate ? NET_ROLE_INITIATOR : NET_ROLE_RESPONDER,
                 we_initiate ? peer : NET_PEER_NONE, our_seed, our_hello);
    net_hs_start(&them, &cfg[peer], we_initiate ? NET_ROLE_RESPONDER : NET_ROLE_INITIATOR,
                 we_initiate ? NET_PEER_NONE : self, peer_seed, hello);
    if (net_hs_on_hello(&them, our_hello, auth) != QC_OK) abort();
    if (net_hs_on_hello(&us, hello, our_auth) != QC_OK) abort();
    if (net_hs_on_auth(&us, auth) != QC_OK) abort();
    size_t n = 0;
    net_frame_seal(&them.tx, NET_FRAME_DATA, "block", 5, frames + n);
    n += net_frame_wire_bytes(5);
    net_frame_seal(&them.tx, NET_FRAME_PING, NULL, 0, frames + n);
    n += net_frame_wire_bytes(0);
    net_frame_seal(&them.tx, NET_FRAME_DATA, NULL, 0, frames + n);
    n += net_frame_wire_bytes(0);
    return 1 + NET_HELLO_BYTES + NET_AUTH_BYTES + n;
}

static void write_seeds(const char *dir) {
    uint8_t buf[1024];
    size_t n = honest(false, 2, buf);
    write_seed(dir, "peer_knocks", buf, n);
    n = honest(false, 0, buf);
    write_seed(dir, "peer_initiates", buf, n);
    buf[1 + NET_HELLO_BYTES + 5] ^= 1; /* one bit of the signature */
    write_seed(dir, "bad_signature", buf, n);
    n = honest(true, 1, buf);
    write_seed(dir, "peer_responds", buf, n);
    buf[1 + 6] ^= 1; /* the chain binding */
    write_seed(dir, "wrong_chain", buf, n);
    memset(buf + 1, 0, 4);
    write_seed(dir, "bad_magic", buf, 1 + NET_HELLO_BYTES);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (sodium_init() < 0) abort();
    memset(chain.b, 0x5c, sizeof chain.b);
    for (int i = 0; i < N; i++) {
        uint8_t seed[32];
        memset(seed, 0x30 + i, sizeof seed);
        crypto_sign_seed_keypair(pk[i].b, sk[i].b, seed);
    }
    for (int i = 0; i < N; i++)
        cfg[i] = (net_hs_config_t){.chain = &chain, .sk = &sk[i], .keys = pk, .n = N,
                                   .self = (uint32_t)i};
    const char *dir = getenv("NET_FUZZ_WRITE_SEEDS");
    if (dir != NULL) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}
