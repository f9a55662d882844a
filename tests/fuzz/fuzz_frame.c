/* fuzz_frame.c - libFuzzer target for the peer-link frame decoder (net_rx_feed).
 *
 * Input byte 0 picks the mode:
 *   even: raw - the rest is fed as received bytes to a decoder whose stream header comes from
 *         the input. Oracle: no frame is ever delivered (the fuzzer cannot forge a tag), and the
 *         result is QC_OK or QC_ERR_CRYPTO.
 *   odd:  differential - byte 1 is the feed chunk size, bytes 2..4 an optional corruption
 *         (flag, u16 position), then 3-byte records (u8 type, u16 payload_len) describe frames
 *         that are sealed with a fresh stream and fed back in chunks. Oracle: the decoder
 *         delivers exactly the frames before the first bad one (corrupted byte, unknown type,
 *         PING with a payload, payload over the limit), each byte-identical, and then returns
 *         exactly the matching error; with no bad frame it ends at a frame boundary.
 *
 * Seeds: tests/fuzz/corpus/frame/ (written by running this binary with
 * NET_FUZZ_WRITE_SEEDS=<dir>; see write_seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_codec.h"

#define PAYLOAD_MAX 1000
#define FRAMES_MAX 64
#define WIRE_MAX (FRAMES_MAX * (NET_FRAME_HEADER_BYTES + 1200 + NET_SEAL_BYTES))

typedef struct {
    uint8_t type;
    uint32_t len;
    size_t off; /* wire offset of the frame's header */
} spec_t;

static uint8_t pattern[1200];
static uint8_t wire[WIRE_MAX];
static spec_t specs[FRAMES_MAX];

typedef struct {
    int delivered;
    int nspecs;
} check_t;

static int raw_cb(void *user, uint8_t type, const uint8_t *payload, size_t len) {
    (void)user, (void)type, (void)payload, (void)len;
    abort(); /* an unauthenticated byte string became a frame */
}

static int diff_cb(void *user, uint8_t type, const uint8_t *payload, size_t len) {
    check_t *c = user;
    if (c->delivered >= c->nspecs) abort();
    const spec_t *s = &specs[c->delivered++];
    if (type != s->type || len != s->len || payload == NULL) abort();
    if (len > 0 && memcmp(payload, pattern, len) != 0) abort();
    return 0;
}

static void stream_pair(net_stream_t *tx, net_stream_t *rx) {
    uint8_t key[32], header[NET_SS_HEADER_BYTES];
    memset(key, 0x42, sizeof key);
    crypto_secretstream_xchacha20poly1305_init_push(tx, header, key);
    if (crypto_secretstream_xchacha20poly1305_init_pull(rx, header, key) != 0) abort();
}

static void run_raw(const uint8_t *data, size_t size) {
    if (size < NET_SS_HEADER_BYTES) return;
    uint8_t key[32];
    memset(key, 0x42, sizeof key);
    net_stream_t st;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, data, key) != 0) return;
    net_rx_t rx;
    net_rx_init(&rx, &st, PAYLOAD_MAX);
    int rc = net_rx_feed(&rx, data + NET_SS_HEADER_BYTES, size - NET_SS_HEADER_BYTES, raw_cb,
                         NULL);
    if (rc != QC_OK && rc != QC_ERR_CRYPTO) abort();
    net_rx_free(&rx);
}

/* The error the decoder must report for frame s, given a corruption at corrupt_at (or
 * SIZE_MAX), or QC_OK if the frame must be delivered. */
static int expected(const spec_t *s, size_t corrupt_at) {
    size_t body_at = s->off + NET_FRAME_HEADER_BYTES;
    size_t end = s->off + net_frame_wire_bytes(s->len);
    if (corrupt_at >= s->off && corrupt_at < body_at) return QC_ERR_CRYPTO;
    if (s->type == NET_FRAME_PING && s->len > 0) return QC_ERR_INVALID;
    if (s->type != NET_FRAME_PING && s->type != NET_FRAME_DATA) return QC_ERR_INVALID;
    if (s->len > PAYLOAD_MAX) return QC_ERR_TOOBIG;
    if (corrupt_at >= body_at && corrupt_at < end) return QC_ERR_CRYPTO;
    return QC_OK;
}

static void run_diff(const uint8_t *data, size_t size) {
    if (size < 5) return;
    size_t chunk = (size_t)data[1] + 1;
    bool corrupt = data[2] & 1;
    uint16_t corrupt_pos = qc_get_u16(data + 3);
    data += 5, size -= 5;
    net_stream_t tx, rxs;
    stream_pair(&tx, &rxs);
    int n = 0;
    size_t wlen = 0;
    for (; size >= 3 && n < FRAMES_MAX; data += 3, size -= 3) {
        uint32_t len = qc_get_u16(data + 1) % 1200;
        specs[n] = (spec_t){.type = data[0], .len = len, .off = wlen};
        net_frame_seal(&tx, data[0], pattern, len, wire + wlen);
        wlen += net_frame_wire_bytes(len);
        n++;
    }
    size_t corrupt_at = SIZE_MAX;
    if (corrupt && wlen > 0) {
        corrupt_at = corrupt_pos % wlen;
        wire[corrupt_at] ^= 0x20;
    }
    int want_rc = QC_OK, want_frames = n;
    for (int i = 0; i < n; i++) {
        int e = expected(&specs[i], corrupt_at);
        if (e != QC_OK) {
            want_rc = e;
            want_frames = i;
            break;
        }
    }
    net_rx_t rx;
    net_rx_init(&rx, &rxs, PAYLOAD_MAX);
    check_t c = {.nspecs = want_frames};
    int rc = QC_OK;
    for (size_t off = 0; off < wlen && rc == QC_OK; off += chunk)
        rc = net_rx_feed(&rx, wire + off, wlen - off < chunk ? wlen - off : chunk, diff_cb, &c);
    if (rc != want_rc || c.delivered != want_frames) abort();
    if (rc == QC_OK && net_rx_partial_bytes(&rx) != 0) abort();
    net_rx_free(&rx);
}

static void write_seed(const char *dir, const char *name, const uint8_t *b, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0) abort();
}

/* The committed seeds: programs in the differential mode, and raw garbage. */
static void write_seeds(const char *dir) {
    static const uint8_t ok[] = {1, 7, 0, 0, 0, 1, 0, 5, 2, 0, 0, 1, 0, 0, 1, 3, 0xe8};
    static const uint8_t bad_type[] = {1, 255, 0, 0, 0, 1, 0, 3, 9, 0, 0, 1, 0, 1};
    static const uint8_t ping_body[] = {1, 0, 0, 0, 0, 2, 0, 4, 1, 0, 1};
    static const uint8_t too_big[] = {1, 31, 0, 0, 0, 1, 0, 10, 1, 3, 0xe9};
    static const uint8_t corrupt[] = {1, 63, 1, 0, 40, 1, 0, 50, 1, 0, 60, 2, 0, 0};
    write_seed(dir, "ok_sequence", ok, sizeof ok);
    write_seed(dir, "bad_type", bad_type, sizeof bad_type);
    write_seed(dir, "ping_with_body", ping_body, sizeof ping_body);
    write_seed(dir, "too_big", too_big, sizeof too_big);
    write_seed(dir, "corrupt_body", corrupt, sizeof corrupt);
    uint8_t raw[1 + NET_SS_HEADER_BYTES + 80];
    memset(raw, 0xa5, sizeof raw);
    raw[0] = 0;
    write_seed(dir, "raw_garbage", raw, sizeof raw);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (sodium_init() < 0) abort();
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)(i * 7 + 3);
    const char *dir = getenv("NET_FUZZ_WRITE_SEEDS");
    if (dir != NULL) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1) run_diff(data, size);
    else run_raw(data + 1, size - 1);
    return 0;
}
