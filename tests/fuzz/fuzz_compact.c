/* fuzz_compact.c - libFuzzer target for compact proposals (compact_rebuild): byte 0 picks which
 * of eight fixed, signed transactions the "backup" holds (bit i: transaction i); the rest is a
 * CompactBlock from a peer. The digest it must match is its own header's hash (so the fuzzer
 * reaches past that check), or, when byte 0 is 0x00, a wrong one. Oracle: the result is QC_OK,
 * QC_ERR_NOTFOUND, QC_ERR_INVALID or QC_ERR_NOMEM; NOTFOUND never with a wrong digest; a
 * rebuilt block has the header's count and tx root, re-encodes compact and rebuilds to the
 * same bytes. Seeds: tests/fuzz/corpus/compact/ (QC_FUZZ_WRITE_SEEDS=<dir> writes them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "exec.h"
#include "testkeys.h"
#include "wire.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHAIN "fuzz-compact"
enum { POOL = 8 };

static qc_tx_t g_pool[POOL];
static uint8_t g_held;

static const qc_tx_t *lookup(void *ctx, const qc_hash_t *id) {
    (void)ctx;
    for (int i = 0; i < POOL; i++)
        if ((g_held >> i & 1) && memcmp(g_pool[i].id.b, id->b, 32) == 0) return &g_pool[i];
    return NULL;
}

/* The header hash of the CompactBlock's header, if it has one that decodes. */
static bool header_digest(const uint8_t *buf, size_t len, qc_hash_t *out) {
    Qchain__Wire__CompactBlock *m = qchain__wire__compact_block__unpack(NULL, len, buf);
    if (m == NULL) return false;
    qc_header_t h;
    bool ok = qc_header_decode(m->header.data, m->header.len, &h) == QC_OK;
    if (ok) qc_header_hash(&h, out);
    qchain__wire__compact_block__free_unpacked(m, NULL);
    return ok;
}

static void write_seeds(const char *dir) {
    static qc_validator_set_t vs;
    testkeys_validators(&vs, 4, 0);
    qc_hash_t genesis;
    memset(genesis.b, 0x67, 32);
    rlog_t log0, log1;
    memset(&log0, 0, sizeof log0);
    for (uint32_t n = 0; n <= POOL; n += 4) {
        const qc_tx_t *ptrs[POOL];
        for (uint32_t i = 0; i < n; i++) ptrs[i] = &g_pool[i];
        exec_parent_t parent = {CHAIN, &genesis, &vs, 0, {{0}}, 2000000, &log0, NULL, NULL};
        qc_block_t b;
        uint8_t *c;
        size_t clen;
        if (exec_build(&parent, ptrs, n, 2000000, 0, 0, &b, &log1, NULL, NULL) != QC_OK ||
            compact_encode(&b, &c, &clen) != QC_OK)
            abort();
        char path[512];
        snprintf(path, sizeof path, "%s/block-%u", dir, n);
        FILE *f = fopen(path, "wb");
        if (f == NULL) abort();
        fputc(n == 4 ? 0x0b : 0xff, f); /* transaction 2 not held; or all held */
        fwrite(c, 1, clen, f);
        fclose(f);
        free(c);
        qc_block_free(&b);
    }
}

static void init(void) {
    if (qc_crypto_init() != QC_OK) abort();
    for (uint32_t i = 0; i < POOL; i++) {
        qc_pubkey_t pk;
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_SEAL, i % 4, &pk, &sk);
        qc_txb_t b;
        qc_hash_t d;
        memset(d.b, (int)i + 1, 32);
        if (qc_txb_init(&b, CHAIN, &pk, i + 1, 100) != QC_OK ||
            qc_txb_add_record(&b, &d, "licence", NULL, NULL) != QC_OK ||
            qc_txb_finish(&b, &sk, &g_pool[i]) != QC_OK)
            abort();
    }
    const char *dir = getenv("QC_FUZZ_WRITE_SEEDS");
    if (dir) write_seeds(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    if (!ready) { init(); ready = true; }
    if (size < 1) return 0;
    g_held = data[0];
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    qc_hash_t digest;
    bool wrong = data[0] == 0x00 || !header_digest(buf, len, &digest);
    if (wrong) memset(digest.b, 0xee, 32);
    qc_block_t b;
    uint32_t missing = 0;
    int rc = compact_rebuild(buf, len, &digest, lookup, NULL, &b, &missing);
    if (rc != QC_OK && rc != QC_ERR_NOTFOUND && rc != QC_ERR_INVALID && rc != QC_ERR_NOMEM) abort();
    if (wrong && rc != QC_ERR_INVALID) abort();
    if (rc != QC_OK) {
        if (b.txs != NULL || (rc != QC_ERR_NOTFOUND && missing != 0)) abort();
        return 0;
    }
    qc_hash_t root;
    if (b.tx_count != b.header.tx_count || qc_block_tx_root(&b, &root) != QC_OK ||
        memcmp(root.b, b.header.tx_root.b, 32) != 0)
        abort();
    uint8_t *c, *raw1, *raw2;
    size_t clen, l1, l2;
    qc_block_t again;
    g_held = 0xff; /* the rebuilt block's own transactions are all held through it */
    if (compact_encode(&b, &c, &clen) != QC_OK || qc_block_encode(&b, &raw1, &l1) != QC_OK) abort();
    /* ids only: rebuildable when every transaction is one of the pool's */
    int rc2 = compact_rebuild(c, clen, &digest, lookup, NULL, &again, &missing);
    if (rc2 == QC_OK) {
        if (qc_block_encode(&again, &raw2, &l2) != QC_OK || l1 != l2 || memcmp(raw1, raw2, l1) != 0)
            abort();
        free(raw2);
        qc_block_free(&again);
    } else if (rc2 != QC_ERR_NOTFOUND) {
        abort();
    }
    free(c);
    free(raw1);
    qc_block_free(&b);
    return 0;
}
