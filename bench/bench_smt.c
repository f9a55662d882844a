/* bench_smt.c - the state map's costs on one core (docs/BENCHMARKS.md "State map"): us per
 * inserted key for blocks of 3,600 updates into maps of 100k and 1M keys (memory backend; at
 * 100k also LevelDB, nodes read with leveldb_get and written in one synced batch per block, as
 * the store would, and "resident": read from memory, written to both), proof build time,
 * proofs verified/s and proof sizes, next to the floor: the time of one node hash, and per hash
 * in batches (qc_sha256_many: two messages' compressions interleaved). */
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "ldb.h"
#include "sha256.h"
#include "smap.h"
#include "tmpdir.h"

#define BLOCK_KEYS 3600  /* records per block at bench_cluster's load */
#define FILL_KEYS 50000  /* batch size while filling up to the measured size */
#define MEASURED_BLOCKS 10
#define PROOFS 5000

static uint64_t rng_state = 0x5a17e;
static void rnd_hash(qc_hash_t *h) {
    for (unsigned i = 0; i < QC_HASH_BYTES; i += 8) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        uint64_t w = rng_state * 0x2545f4914f6cdd1dull;
        memcpy(h->b + i, &w, 8);
    }
}

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_smt: %s: %s\n", what, qc_strerror(rc));
    exit(1);
}

/* ---- the floor: SHA-256 in batches ---------------------------------------------------------- */

#define BATCH_MSGS 100   /* a 100-record transaction's leaves, or a block's map nodes */
#define BATCH_ROUNDS 2000
#define BATCH_TRIES 7

/* ns per hash for BATCH_MSGS distinct messages of msg_len bytes: qc_sha256_bytes one after the
 * other, and qc_sha256_many (two lanes where the SHA extensions are in use); best of
 * BATCH_TRIES tries of BATCH_ROUNDS batches each, the two kinds taking turns. */
static void batch_hash(size_t msg_len) {
    static uint8_t buf[BATCH_MSGS * 128];
    static uint8_t out[BATCH_MSGS][QC_SHA256_BYTES];
    const uint8_t *data[BATCH_MSGS];
    size_t len[BATCH_MSGS];
    uint64_t rng_saved = rng_state; /* the maps' keys stay those of runs without this */
    for (size_t i = 0; i < sizeof buf; i += QC_HASH_BYTES) {
        qc_hash_t h;
        rnd_hash(&h);
        memcpy(buf + i, h.b, QC_HASH_BYTES);
    }
    rng_state = rng_saved;
    for (unsigned i = 0; i < BATCH_MSGS; i++) {
        data[i] = buf + i * msg_len;
        len[i] = msg_len;
    }
    double best[2] = {1e30, 1e30};
    for (unsigned t = 0; t < BATCH_TRIES; t++) {
        for (unsigned lanes = 0; lanes < 2; lanes++) {
            double t0 = benchutil_now_s();
            for (unsigned r = 0; r < BATCH_ROUNDS; r++) {
                if (lanes == 0) {
                    for (unsigned i = 0; i < BATCH_MSGS; i++)
                        qc_sha256_bytes(out[i], data[i], len[i]);
                } else {
                    qc_sha256_many(out, data, len, BATCH_MSGS);
                }
                buf[0] ^= out[BATCH_MSGS - 1][0];
            }
            double ns = (benchutil_now_s() - t0) / ((double)BATCH_ROUNDS * BATCH_MSGS) * 1e9;
            if (ns < best[lanes]) best[lanes] = ns;
        }
    }
    printf("  SHA-256 of %4zu bytes in batches of %u: %6.1f ns/hash one by one, %6.1f ns/hash "
           "with qc_sha256_many (%s), x%.2f\n",
           msg_len, BATCH_MSGS, best[0], best[1],
           qc_sha256_accelerated() ? "two lanes" : "extensions absent: libsodium in a loop",
           best[0] / best[1]);
}

/* ---- the backends ------------------------------------------------------------------------------- */

/* Where nodes are read and written: MEMORY (the table), LEVELDB (leveldb_get and a synced
 * batch per block), or RESIDENT (read from the table, written to both: the tree kept in
 * memory with LevelDB as its durable copy, what docs/MERKLE.md §8.5 advises). */
typedef enum { BACKEND_MEMORY, BACKEND_LEVELDB, BACKEND_RESIDENT } backend_kind_t;
static const char *const backend_name[] = {"memory", "leveldb", "resident"};

typedef struct {
    backend_kind_t kind;
    smap_mem_t *mem; /* MEMORY, RESIDENT */
    leveldb_t *db;   /* LEVELDB, RESIDENT */
    leveldb_options_t *opts;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_filterpolicy_t *bloom;
    char dir[128];
} backend_t;

static int ldb_get_node(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    backend_t *b = ctx;
    uint8_t k[1 + SMAP_POS_MAX_BYTES];
    k[0] = 'S';
    size_t klen = 1 + smap_pos_encode(pos, k + 1);
    size_t vlen;
    char *err = NULL;
    char *v = leveldb_get(b->db, b->ro, (const char *)k, klen, &vlen, &err);
    if (err != NULL) return ldb_error(err, "bench_smt");
    if (v == NULL) return QC_ERR_NOTFOUND;
    int rc = smap_node_decode(pos, (const uint8_t *)v, vlen, out);
    leveldb_free(v);
    return rc;
}

static smap_reader_t reader_of(backend_t *b) {
    if (b->kind != BACKEND_LEVELDB) return smap_mem_reader(b->mem);
    return (smap_reader_t){.get = ldb_get_node, .ctx = b};
}

/* Commits a block's write set: into the table, as one synced LevelDB batch, or both. */
static void commit(backend_t *b, const smap_writes_t *ws) {
    if (b->kind != BACKEND_LEVELDB) {
        int rc = smap_mem_commit(b->mem, ws);
        if (rc != QC_OK) die("commit", rc);
        if (b->kind == BACKEND_MEMORY) return;
    }
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    for (size_t i = 0, off = 0; i < ws->n; i++) {
        uint8_t k[1 + SMAP_POS_MAX_BYTES], v[SMAP_NODE_MAX_BYTES];
        k[0] = 'S';
        size_t klen = 1 + smap_pos_encode(smap_writes_pos(ws, off), k + 1);
        smap_node_t node;
        off = smap_writes_node(ws, off, &node);
        size_t vlen = smap_node_encode(&node, v);
        leveldb_writebatch_put(wb, (const char *)k, klen, (const char *)v, vlen);
    }
    char *err = NULL;
    leveldb_write(b->db, b->wo, wb, &err);
    leveldb_writebatch_destroy(wb);
    if (err != NULL) die("leveldb write", ldb_error(err, "bench_smt"));
}

static void backend_open(backend_t *b, backend_kind_t kind) {
    memset(b, 0, sizeof *b);
    b->kind = kind;
    if (kind != BACKEND_LEVELDB) {
        int rc = smap_mem_new(&b->mem);
        if (rc != QC_OK) die("smap_mem_new", rc);
        if (kind == BACKEND_MEMORY) return;
    }
    if (tmpdir_make(b->dir, sizeof b->dir, "bench_smt") != 0) die("tmpdir", QC_ERR_IO);
    /* The ledger store's options (node/store/store.c). */
    b->opts = leveldb_options_create();
    b->bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(b->opts, b->bloom);
    leveldb_options_set_create_if_missing(b->opts, 1);
    leveldb_options_set_compression(b->opts, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(b->opts, 16u << 20);
    b->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(b->ro, 1);
    b->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(b->wo, 1);
    int rc = ldb_open(&b->db, b->opts, b->dir);
    if (rc != QC_OK) die("ldb_open", rc);
}

static void backend_close(backend_t *b) {
    smap_mem_free(b->mem);
    if (b->db == NULL) return;
    leveldb_close(b->db);
    leveldb_options_destroy(b->opts);
    leveldb_filterpolicy_destroy(b->bloom);
    leveldb_readoptions_destroy(b->ro);
    leveldb_writeoptions_destroy(b->wo);
    tmpdir_remove(b->dir);
}

/* ---- the map under test --------------------------------------------------------------------- */

typedef struct {
    backend_t be;
    qc_hash_t *keys; /* every key inserted, to pick present ones */
    size_t n, cap;
    qc_hash_t root;
    smap_writes_t ws; /* reused block after block, as the node would */
} map_t;

/* Inserts `count` fresh random keys as one block; returns the seconds in smap_apply (prepare
 * included) and in commit, and the nodes written. */
static void insert_block(map_t *m, size_t count, double *apply_s, double *commit_s,
                         size_t *nodes) {
    smap_update_t *u = malloc(count * sizeof *u);
    if (u == NULL || m->n + count > m->cap) die("insert_block", QC_ERR_NOMEM);
    for (size_t i = 0; i < count; i++) {
        rnd_hash(&u[i].key);
        rnd_hash(&u[i].value);
        u[i].if_absent = false;
        m->keys[m->n + i] = u[i].key;
    }
    smap_reader_t r = reader_of(&m->be);
    smap_writes_reset(&m->ws);
    double t0 = benchutil_now_s();
    size_t k;
    int rc = smap_prepare(u, count, &k);
    if (rc == QC_OK) rc = smap_apply(&r, u, k, &m->ws, &m->root);
    if (rc != QC_OK) die("smap_apply", rc);
    double t1 = benchutil_now_s();
    commit(&m->be, &m->ws);
    double t2 = benchutil_now_s();
    m->n += count;
    *apply_s = t1 - t0;
    *commit_s = t2 - t1;
    *nodes = m->ws.n;
    free(u);
}

/* Fills to `size` - MEASURED_BLOCKS blocks in big batches, then measures MEASURED_BLOCKS
 * blocks of BLOCK_KEYS. */
static void grow_and_measure(map_t *m, size_t size, const char *backend) {
    double apply_s, commit_s;
    size_t nodes;
    size_t target = size - MEASURED_BLOCKS * BLOCK_KEYS;
    while (m->n < target) {
        size_t c = target - m->n < FILL_KEYS ? target - m->n : FILL_KEYS;
        insert_block(m, c, &apply_s, &commit_s, &nodes);
    }
    double sum_apply = 0, sum_commit = 0;
    size_t sum_nodes = 0;
    for (unsigned b = 0; b < MEASURED_BLOCKS; b++) {
        insert_block(m, BLOCK_KEYS, &apply_s, &commit_s, &nodes);
        sum_apply += apply_s;
        sum_commit += commit_s;
        sum_nodes += nodes;
    }
    double keys = (double)MEASURED_BLOCKS * BLOCK_KEYS;
    printf("  %-8s %8zu keys: blocks of %u: apply %6.2f us/key + commit %6.2f us/key = "
           "%6.2f us/key; %5.2f nodes written/key\n",
           backend, m->n, BLOCK_KEYS, sum_apply / keys * 1e6, sum_commit / keys * 1e6,
           (sum_apply + sum_commit) / keys * 1e6, (double)sum_nodes / keys);
}

/* Proof build (prove + encode), size and verification, for present and absent keys. */
static void measure_proofs(map_t *m, const char *backend) {
    static smt_proof_t p;
    uint8_t *bufs = malloc((size_t)PROOFS * SMT_PROOF_MAX_BYTES);
    size_t *lens = malloc(PROOFS * sizeof *lens), *offs = malloc(PROOFS * sizeof *offs);
    qc_hash_t *qkeys = malloc(PROOFS * sizeof *qkeys);
    if (bufs == NULL || lens == NULL || offs == NULL || qkeys == NULL) die("proofs", QC_ERR_NOMEM);
    /* Page faults out of the timing (not zeros: malloc + memset 0 may become calloc). */
    memset(bufs, 0xff, (size_t)PROOFS * SMT_PROOF_MAX_BYTES);
    smap_reader_t r = reader_of(&m->be);
    for (int absent = 0; absent < 2; absent++) {
        size_t total = 0, max = 0; /* proofs packed one after the other in bufs */
        for (unsigned i = 0; i < PROOFS; i++) {
            rnd_hash(&qkeys[i]); /* absent: a random key; present: picks one */
            if (!absent) {
                uint64_t pick;
                memcpy(&pick, qkeys[i].b, sizeof pick);
                qkeys[i] = m->keys[pick % m->n];
            }
        }
        double t0 = benchutil_now_s();
        for (unsigned i = 0; i < PROOFS; i++) {
            int rc = smap_prove(&r, &qkeys[i], &p);
            offs[i] = total;
            if (rc == QC_OK) rc = smt_proof_encode(&p, bufs + total, SMT_PROOF_MAX_BYTES, &lens[i]);
            if (rc != QC_OK) die("prove", rc);
            if ((p.kind == SMT_PROOF_PRESENT) == (bool)absent) die("prove: wrong kind", rc);
            total += lens[i];
            if (lens[i] > max) max = lens[i];
        }
        double t1 = benchutil_now_s();
        for (unsigned i = 0; i < PROOFS; i++) {
            const uint8_t *b = bufs + offs[i];
            /* The value travels in a PRESENT proof; the verifier checks it against itself. */
            qc_hash_t v;
            if (!absent) memcpy(v.b, b + lens[i] - 32, 32);
            if (smt_verify(&m->root, &qkeys[i], absent ? NULL : &v, b, lens[i]) != QC_OK)
                die("verify", QC_ERR_INVALID);
        }
        double t2 = benchutil_now_s();
        printf("  %-8s %8zu keys: %s proofs: build %6.1f us, verify %7.0f /s, size avg %4.0f "
               "max %4zu bytes\n",
               backend, m->n, absent ? "absent " : "present", (t1 - t0) / PROOFS * 1e6,
               PROOFS / (t2 - t1), (double)total / PROOFS, max);
    }
    free(bufs);
    free(lens);
    free(offs);
    free(qkeys);
}

static void run(const size_t *sizes, size_t nsizes, backend_kind_t kind) {
    map_t m;
    memset(&m, 0, sizeof m);
    backend_open(&m.be, kind);
    m.cap = sizes[nsizes - 1];
    m.keys = malloc(m.cap * sizeof *m.keys);
    if (m.keys == NULL) die("keys", QC_ERR_NOMEM);
    for (size_t i = 0; i < nsizes; i++) {
        grow_and_measure(&m, sizes[i], backend_name[kind]);
        measure_proofs(&m, backend_name[kind]);
    }
    free(m.keys);
    smap_writes_free(&m.ws);
    backend_close(&m.be);
}

int main(void) {
    if (qc_crypto_init() != QC_OK) return 1;
    /* The floor: one node hash (83 bytes of SHA-256), and SHA-256 of a 1-record and a
     * 100-record transaction's size, with the CPU's SHA extensions (where it has them) and with
     * libsodium's portable code. */
    qc_hash_t a, b;
    rnd_hash(&a);
    rnd_hash(&b);
    unsigned hashes = 1000000;
    double t0 = benchutil_now_s();
    for (unsigned i = 0; i < hashes; i++) smt_node_hash(&a, &a, &b);
    double hash_ns = (benchutil_now_s() - t0) / hashes * 1e9;
    printf("  node hash (SHA-256 of 83 bytes) as the map computes it: %.0f ns (SHA extensions %s)\n",
           hash_ns, qc_sha256_accelerated() ? "in use" : "absent: libsodium");
    static uint8_t msg[3300];
    const size_t lens[] = {83, 200, 3300};
    for (unsigned l = 0; l < 3; l++) {
        double ns[2];
        for (unsigned ext = 0; ext < 2; ext++) {
            bool prev = qc_sha256_set_extensions(ext == 1);
            unsigned n = lens[l] > 1000 ? hashes / 10 : hashes;
            t0 = benchutil_now_s();
            for (unsigned i = 0; i < n; i++) {
                qc_sha256(&a, msg, lens[l]);
                msg[0] = a.b[0];
            }
            ns[ext] = (benchutil_now_s() - t0) / n * 1e9;
            qc_sha256_set_extensions(prev);
        }
        printf("  SHA-256 of %4zu bytes: %6.0f ns with the SHA extensions%s, %6.0f ns with "
               "libsodium\n", lens[l], ns[1], qc_sha256_accelerated() ? "" : " (absent)", ns[0]);
    }
    batch_hash(83);
    batch_hash(70);
    const size_t mem_sizes[] = {100000, 1000000};
    run(mem_sizes, 2, BACKEND_MEMORY);
    const size_t ldb_sizes[] = {100000};
    run(ldb_sizes, 1, BACKEND_LEVELDB);
    run(ldb_sizes, 1, BACKEND_RESIDENT);
    return 0;
}
