/* sha256.c - SHA-256 with the CPU's SHA extensions where it has them, libsodium otherwise
 * (sha256.h); bounded, allocation-free, safe on any thread. */
#include "sha256.h"

#include <stdatomic.h>
#include <string.h>

#include "qc.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define SHA256_HAVE_EXT_CODE 1
#endif

#ifdef SHA256_HAVE_EXT_CODE
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* H0..H7 (FIPS 180-4 §5.3.3) in the extensions' layout: ABEF then CDGH, lowest lane first. */
static const uint32_t sha256_h0[8] = {
    0x9b05688c, 0x510e527f, 0xbb67ae85, 0x6a09e667, /* F E B A */
    0x5be0cd19, 0x1f83d9ab, 0xa54ff53a, 0x3c6ef372, /* H G D C */
};

/* Runs the compression function over `blocks` 64-byte blocks at p: 4 rounds at a time
 * (sha256rnds2 twice) with the message schedule made by sha256msg1/msg2. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_ext(uint32_t state[8],
                                                                    const uint8_t *p,
                                                                    size_t blocks) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    __m128i state0 = _mm_loadu_si128((const __m128i *)state);
    __m128i state1 = _mm_loadu_si128((const __m128i *)(state + 4));
    for (size_t b = 0; b < blocks; b++, p += 64) {
        __m128i abef = state0, cdgh = state1, w[4];
        for (unsigned g = 0; g < 16; g++) {
            __m128i x;
            if (g < 4) {
                x = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), mask);
            } else {
                x = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
                x = _mm_sha256msg2_epu32(x, w[(g + 3) % 4]);
            }
            w[g % 4] = x;
            __m128i m = _mm_add_epi32(x, _mm_loadu_si128((const __m128i *)&sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, m);
            state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(m, 0x0e));
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
    }
    _mm_storeu_si128((__m128i *)state, state0);
    _mm_storeu_si128((__m128i *)(state + 4), state1);
}

/* Writes the state (ABEF, CDGH) as the big-endian digest A..H. */
__attribute__((target("sha,sse4.1,ssse3"))) static void digest_ext(const uint32_t state[8],
                                                                  uint8_t out[32]) {
    __m128i state0 = _mm_loadu_si128((const __m128i *)state);
    __m128i state1 = _mm_loadu_si128((const __m128i *)(state + 4));
    __m128i feba = _mm_shuffle_epi32(state0, 0x1b);
    __m128i dchg = _mm_shuffle_epi32(state1, 0xb1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xf0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(dcba, bswap));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(hgfe, bswap));
}

/* ---- two lanes: two independent messages' compressions interleaved (qc_sha256_many) ---- */

/* The message schedule's next group: W[4g..4g+3] from the four groups before it. */
__attribute__((always_inline, target("sha,sse4.1,ssse3"))) static inline __m128i
schedule_ext(__m128i wm4, __m128i wm3, __m128i wm2, __m128i wm1) {
    __m128i x = _mm_sha256msg1_epu32(wm4, wm3);
    x = _mm_add_epi32(x, _mm_alignr_epi8(wm1, wm2, 4));
    return _mm_sha256msg2_epu32(x, wm1);
}

/* Rounds 4g..4g+3 on (state0, state1) = (ABEF, CDGH) with the schedule's group w. */
__attribute__((always_inline, target("sha,sse4.1,ssse3"))) static inline void
rounds_ext(__m128i *state0, __m128i *state1, __m128i w, unsigned g) {
    __m128i m = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&sha256_k[4 * g]));
    *state1 = _mm_sha256rnds2_epu32(*state1, *state0, m);
    *state0 = _mm_sha256rnds2_epu32(*state0, *state1, _mm_shuffle_epi32(m, 0x0e));
}

/* One message on its way through (a lane of qc_sha256_many, or qc_sha256_bytes alone): its
 * whole blocks are read where they lie, the last one or two (what is left of the message, then
 * FIPS 180-4 §5.1.1's padding) from tail. */
typedef struct {
    uint32_t state[8];    /* ABEF, CDGH */
    const uint8_t *data;
    size_t whole;         /* blocks read from data */
    size_t blocks;        /* in all: whole + 1 or 2 */
    size_t done;          /* blocks compressed so far */
    size_t index;         /* the message's place in the batch: where its digest goes */
    uint8_t tail[2 * QC_SHA256_BLOCK_BYTES];
} lane_t;

static void lane_start(lane_t *l, const uint8_t *data, size_t len, size_t index) {
    memcpy(l->state, sha256_h0, sizeof sha256_h0);
    l->data = data;
    l->whole = len / QC_SHA256_BLOCK_BYTES;
    size_t rest = len % QC_SHA256_BLOCK_BYTES;
    size_t tail_blocks = rest + 9 <= QC_SHA256_BLOCK_BYTES ? 1 : 2;
    l->blocks = l->whole + tail_blocks;
    l->done = 0;
    l->index = index;
    memset(l->tail, 0, tail_blocks * QC_SHA256_BLOCK_BYTES);
    if (rest > 0) memcpy(l->tail, data + l->whole * QC_SHA256_BLOCK_BYTES, rest);
    l->tail[rest] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (unsigned i = 0; i < 8; i++)
        l->tail[tail_blocks * QC_SHA256_BLOCK_BYTES - 1 - i] = (uint8_t)(bits >> (8 * i));
}

/* Where l's block b (< l->blocks) lies. */
static inline const uint8_t *lane_block(const lane_t *l, size_t b) {
    return b < l->whole ? l->data + b * QC_SHA256_BLOCK_BYTES
                        : l->tail + (b - l->whole) * QC_SHA256_BLOCK_BYTES;
}

/* Compresses the next `blocks` blocks of x and of y (both have that many left) in lock-step:
 * compress_ext's rounds for the two states, one group of each in turn, so that one state's
 * sha256rnds2 runs while the other's waits for its previous result. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_ext_x2(lane_t *x, lane_t *y,
                                                                       size_t blocks) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    __m128i xs0 = _mm_loadu_si128((const __m128i *)x->state);
    __m128i xs1 = _mm_loadu_si128((const __m128i *)(x->state + 4));
    __m128i ys0 = _mm_loadu_si128((const __m128i *)y->state);
    __m128i ys1 = _mm_loadu_si128((const __m128i *)(y->state + 4));
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *px = lane_block(x, x->done + b), *py = lane_block(y, y->done + b);
        __m128i xabef = xs0, xcdgh = xs1, yabef = ys0, ycdgh = ys1;
        __m128i xw0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)px), mask);
        __m128i yw0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)py), mask);
        rounds_ext(&xs0, &xs1, xw0, 0);
        rounds_ext(&ys0, &ys1, yw0, 0);
        __m128i xw1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(px + 16)), mask);
        __m128i yw1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(py + 16)), mask);
        rounds_ext(&xs0, &xs1, xw1, 1);
        rounds_ext(&ys0, &ys1, yw1, 1);
        __m128i xw2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(px + 32)), mask);
        __m128i yw2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(py + 32)), mask);
        rounds_ext(&xs0, &xs1, xw2, 2);
        rounds_ext(&ys0, &ys1, yw2, 2);
        __m128i xw3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(px + 48)), mask);
        __m128i yw3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(py + 48)), mask);
        rounds_ext(&xs0, &xs1, xw3, 3);
        rounds_ext(&ys0, &ys1, yw3, 3);
        for (unsigned g = 4; g < 16; g += 4) {
            xw0 = schedule_ext(xw0, xw1, xw2, xw3);
            yw0 = schedule_ext(yw0, yw1, yw2, yw3);
            rounds_ext(&xs0, &xs1, xw0, g);
            rounds_ext(&ys0, &ys1, yw0, g);
            xw1 = schedule_ext(xw1, xw2, xw3, xw0);
            yw1 = schedule_ext(yw1, yw2, yw3, yw0);
            rounds_ext(&xs0, &xs1, xw1, g + 1);
            rounds_ext(&ys0, &ys1, yw1, g + 1);
            xw2 = schedule_ext(xw2, xw3, xw0, xw1);
            yw2 = schedule_ext(yw2, yw3, yw0, yw1);
            rounds_ext(&xs0, &xs1, xw2, g + 2);
            rounds_ext(&ys0, &ys1, yw2, g + 2);
            xw3 = schedule_ext(xw3, xw0, xw1, xw2);
            yw3 = schedule_ext(yw3, yw0, yw1, yw2);
            rounds_ext(&xs0, &xs1, xw3, g + 3);
            rounds_ext(&ys0, &ys1, yw3, g + 3);
        }
        xs0 = _mm_add_epi32(xs0, xabef);
        xs1 = _mm_add_epi32(xs1, xcdgh);
        ys0 = _mm_add_epi32(ys0, yabef);
        ys1 = _mm_add_epi32(ys1, ycdgh);
    }
    _mm_storeu_si128((__m128i *)x->state, xs0);
    _mm_storeu_si128((__m128i *)(x->state + 4), xs1);
    _mm_storeu_si128((__m128i *)y->state, ys0);
    _mm_storeu_si128((__m128i *)(y->state + 4), ys1);
    x->done += blocks;
    y->done += blocks;
}

/* Finishes l alone (compress_ext): its remaining whole blocks, then its tail; writes the
 * digest to out. */
static void lane_finish(lane_t *l, uint8_t out[QC_SHA256_BYTES]) {
    if (l->done < l->whole) {
        compress_ext(l->state, l->data + l->done * QC_SHA256_BLOCK_BYTES, l->whole - l->done);
        l->done = l->whole;
    }
    compress_ext(l->state, l->tail + (l->done - l->whole) * QC_SHA256_BLOCK_BYTES,
                 l->blocks - l->done);
    digest_ext(l->state, out);
}

/* qc_sha256_many with the extensions: two lanes compress in lock-step as long as both have
 * blocks left; a lane whose message ends writes its digest and takes the batch's next message;
 * when none is left, the other lane finishes alone. */
static void many_ext(uint8_t (*out)[QC_SHA256_BYTES], const uint8_t *const *data,
                     const size_t *len, size_t n) {
    lane_t lane[2];
    if (n == 0) return;
    lane_start(&lane[0], data[0], len[0], 0);
    if (n == 1) {
        lane_finish(&lane[0], out[0]);
        return;
    }
    lane_start(&lane[1], data[1], len[1], 1);
    size_t next = 2;
    for (;;) {
        size_t left0 = lane[0].blocks - lane[0].done, left1 = lane[1].blocks - lane[1].done;
        compress_ext_x2(&lane[0], &lane[1], left0 < left1 ? left0 : left1);
        int idle = -1; /* a lane with nothing left to take */
        for (int k = 0; k < 2; k++) {
            if (lane[k].done < lane[k].blocks) continue;
            digest_ext(lane[k].state, out[lane[k].index]);
            if (next < n) {
                lane_start(&lane[k], data[next], len[next], next);
                next++;
            } else if (idle < 0) {
                idle = k;
            } else {
                return; /* both ended with the batch */
            }
        }
        if (idle >= 0) {
            lane_finish(&lane[1 - idle], out[lane[1 - idle].index]);
            return;
        }
    }
}

/* Whether the CPU has SHA, SSE4.1 and SSSE3 (cpuid once: under a hypervisor it traps). */
static bool cpu_has_ext(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        unsigned a, b, c, d;
        bool sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 29) & 1);
        bool sse = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 19) & 1) && ((c >> 9) & 1);
        v = sha && sse;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v == 1;
}
#endif

static atomic_bool ext_enabled = true;

bool qc_sha256_accelerated(void) {
#ifdef SHA256_HAVE_EXT_CODE
    return atomic_load_explicit(&ext_enabled, memory_order_relaxed) && cpu_has_ext();
#else
    return false;
#endif
}

bool qc_sha256_set_extensions(bool enabled) {
    return atomic_exchange_explicit(&ext_enabled, enabled, memory_order_relaxed);
}

void qc_sha256_init(qc_sha256_state_t *st) {
    st->ext = qc_sha256_accelerated();
    st->buf_bytes = 0;
    st->total_bytes = 0;
#ifdef SHA256_HAVE_EXT_CODE
    if (st->ext) {
        memcpy(st->abef_cdgh, sha256_h0, sizeof sha256_h0);
        return;
    }
#endif
    crypto_hash_sha256_init(&st->sodium);
}

void qc_sha256_update(qc_sha256_state_t *st, const void *data, size_t len) {
    if (len == 0) return;
    QC_ASSERT(data != NULL);
    if (!st->ext) {
        crypto_hash_sha256_update(&st->sodium, data, (unsigned long long)len);
        return;
    }
#ifdef SHA256_HAVE_EXT_CODE
    const uint8_t *p = data;
    st->total_bytes += len;
    if (st->buf_bytes > 0) {
        size_t take = QC_SHA256_BLOCK_BYTES - st->buf_bytes;
        if (take > len) take = len;
        memcpy(st->buf + st->buf_bytes, p, take);
        st->buf_bytes += take;
        p += take;
        len -= take;
        if (st->buf_bytes < QC_SHA256_BLOCK_BYTES) return;
        compress_ext(st->abef_cdgh, st->buf, 1);
        st->buf_bytes = 0;
    }
    size_t blocks = len / QC_SHA256_BLOCK_BYTES;
    if (blocks > 0) compress_ext(st->abef_cdgh, p, blocks);
    p += blocks * QC_SHA256_BLOCK_BYTES;
    len -= blocks * QC_SHA256_BLOCK_BYTES;
    memcpy(st->buf, p, len);
    st->buf_bytes = len;
#endif
}

void qc_sha256_final(qc_sha256_state_t *st, uint8_t out[QC_SHA256_BYTES]) {
    if (!st->ext) {
        crypto_hash_sha256_final(&st->sodium, out);
        return;
    }
#ifdef SHA256_HAVE_EXT_CODE
    /* FIPS 180-4 §5.1.1: 0x80, zeros, the length in bits as 64 bits big-endian; one or two
     * blocks. */
    uint8_t pad[2 * QC_SHA256_BLOCK_BYTES];
    size_t n = st->buf_bytes;
    size_t blocks = n + 9 <= QC_SHA256_BLOCK_BYTES ? 1 : 2;
    memset(pad, 0, sizeof pad);
    memcpy(pad, st->buf, n);
    pad[n] = 0x80;
    uint64_t bits = st->total_bytes * 8;
    for (unsigned i = 0; i < 8; i++)
        pad[blocks * QC_SHA256_BLOCK_BYTES - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress_ext(st->abef_cdgh, pad, blocks);
    digest_ext(st->abef_cdgh, out);
#endif
}

void qc_sha256_bytes(uint8_t out[QC_SHA256_BYTES], const void *data, size_t len) {
    if (!qc_sha256_accelerated()) {
        crypto_hash_sha256(out, data, (unsigned long long)len);
        return;
    }
#ifdef SHA256_HAVE_EXT_CODE
    /* One lane of qc_sha256_many: no buffering, whole blocks read in place. */
    QC_ASSERT(data != NULL || len == 0);
    lane_t l;
    lane_start(&l, data, len, 0);
    lane_finish(&l, out);
#endif
}

void qc_sha256_many(uint8_t (*out)[QC_SHA256_BYTES], const uint8_t *const *data, const size_t *len,
                    size_t n) {
#ifdef SHA256_HAVE_EXT_CODE
    if (qc_sha256_accelerated()) {
        many_ext(out, data, len, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) qc_sha256_bytes(out[i], data[i], len[i]);
}

void qc_sha256_x2(uint8_t out0[QC_SHA256_BYTES], const void *d0, size_t l0,
                  uint8_t out1[QC_SHA256_BYTES], const void *d1, size_t l1) {
    const uint8_t *data[2] = {d0, d1};
    const size_t len[2] = {l0, l1};
    uint8_t out[2][QC_SHA256_BYTES];
    qc_sha256_many(out, data, len, 2);
    memcpy(out0, out[0], QC_SHA256_BYTES);
    memcpy(out1, out[1], QC_SHA256_BYTES);
}
