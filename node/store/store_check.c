/* store_check.c - the ledger store's full integrity check (an fsck). It walks the chain from
 * block 1 to the head through the public reads (which check each value), then counts every
 * key family: since each expected index key is distinct, "every expected entry is present"
 * plus "the family holds exactly that many keys" means nothing else is there, in particular
 * nothing above the head. O(everything); for tests, operators and post-crash audits. */
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* Each record of tx i of block b must be indexed at the next log index. */
static int check_records(store_t *s, const qc_block_t *b, uint32_t i, uint64_t *log_index) {
    const qc_tx_t *tx = &b->txs[i];
    for (uint32_t j = 0; j < tx->record_count; j++, (*log_index)++) {
        store_record_loc_t loc;
        size_t n;
        bool more;
        int rc = store_record_list(s, tx->records[j].digest, *log_index, &loc, 1, &n, &more);
        if (rc != QC_OK) return rc;
        uint8_t k[SK_MAX_LEN];
        size_t klen = sk_record(k, tx->records[j].digest, *log_index);
        if (n == 0 || loc.log_index != *log_index)
            return store_corrupt(k, klen, "missing for block %llu tx %u record %u",
                                 (unsigned long long)b->header.height, i, j);
        if (loc.height != b->header.height || loc.tx_index != i || loc.record_index != j ||
            memcmp(loc.tx_id.b, tx->id.b, 32) != 0)
            return store_corrupt(k, klen, "points at another record");
    }
    return QC_OK;
}

/* An ANCHOR with records has its 'J' entry: its id, and as owner the member whose seal key
 * signed it in vs (the set of the block's epoch). */
static int check_anchor_tx(store_t *s, const qc_block_t *b, uint32_t i,
                           const qc_validator_set_t *vs) {
    const qc_tx_t *tx = &b->txs[i];
    if (tx->type != QC_TX_ANCHOR || tx->record_count == 0) return QC_OK;
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_anchor_tx(k, b->header.height, i);
    const qc_hash_t *id;
    const char *owner;
    int rc = store_anchor_tx_get(s, b->header.height, i, &id, &owner);
    if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "missing");
    if (rc != QC_OK) return rc;
    int m = qc_validators_find_seal(vs, &tx->signer);
    if (memcmp(id->b, tx->id.b, 32) != 0 || m < 0 || strcmp(owner, vs->members[m].name) != 0)
        return store_corrupt(k, klen, "names another transaction or owner");
    return QC_OK;
}

/* Every tx of block b is indexed at (height, i), and its records in the log; each ANCHOR's
 * 'J' entry is right (*anchors counts them). */
static int check_block_txs(store_t *s, const qc_block_t *b, uint64_t *log_index,
                           const qc_validator_set_t *vs, uint64_t *anchors) {
    for (uint32_t i = 0; i < b->tx_count; i++) {
        int jrc = s->state_paged ? check_anchor_tx(s, b, i, vs) : QC_OK;
        if (jrc != QC_OK) return jrc;
        *anchors += s->state_paged && b->txs[i].type == QC_TX_ANCHOR &&
                    b->txs[i].record_count > 0;
        store_tx_loc_t loc;
        uint8_t k[SK_MAX_LEN];
        size_t klen = sk_hash(k, SK_TX, b->txs[i].id.b);
        int rc = store_tx_find(s, &b->txs[i].id, &loc);
        if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "missing");
        if (rc != QC_OK) return rc;
        if (loc.height != b->header.height || loc.tx_index != i)
            return store_corrupt(k, klen, "points at another transaction");
        rc = check_records(s, b, i, log_index);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

/* Block `height` chains to *prev, is indexed by its hash, its epoch matches the membership
 * history, and its log size/root are what the stored log gives. Advances *prev, *log_size. */
static int check_block_links(store_t *s, const qc_block_t *b, qc_hash_t *prev,
                             uint64_t log_size) {
    const qc_header_t *h = &b->header;
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_u64(k, SK_BLOCK, h->height);
    qc_hash_t hash, root;
    qc_header_hash(h, &hash);
    if (memcmp(h->prev_hash.b, prev->b, 32) != 0)
        return store_corrupt(k, klen, "does not chain to the block below");
    uint64_t at, epoch;
    int rc = store_height_by_hash(s, &hash, &at);
    if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "its hash is not indexed");
    if (rc == QC_OK && at != h->height) rc = store_corrupt(k, klen, "hash index mismatch");
    if (rc == QC_OK) rc = store_epoch_at(s, h->height, &epoch);
    if (rc == QC_OK && epoch != h->epoch)
        rc = store_corrupt(k, klen, "epoch %llu, membership history says %llu",
                           (unsigned long long)h->epoch, (unsigned long long)epoch);
    if (rc == QC_OK && h->log_size != log_size)
        rc = store_corrupt(k, klen, "log size %llu, its records end at %llu",
                           (unsigned long long)h->log_size, (unsigned long long)log_size);
    if (rc == QC_OK) rc = store_log_root_at(s, h->log_size, &root);
    if (rc == QC_OK && memcmp(root.b, h->log_root.b, 32) != 0)
        rc = store_corrupt(k, klen, "log root differs from the stored log's");
    *prev = hash;
    return rc;
}

static int check_chain(store_t *s, store_check_stats_t *st) {
    qc_hash_t prev = {{0}};
    uint64_t log_index = 0, vs_epoch = UINT64_MAX;
    qc_validator_set_t *vs = malloc(sizeof *vs);
    if (vs == NULL) return QC_ERR_NOMEM;
    for (uint64_t height = 1; height <= s->head.height; height++) {
        qc_block_t b;
        qc_cert_t cert;
        int rc = store_block_get(s, height, &b, &cert);
        if (rc == QC_OK && b.header.epoch != vs_epoch) {
            rc = store_validators(s, b.header.epoch, vs);
            vs_epoch = rc == QC_OK ? b.header.epoch : UINT64_MAX;
        }
        if (rc == QC_OK) rc = check_block_txs(s, &b, &log_index, vs, &st->anchor_txs);
        if (rc == QC_OK) rc = check_block_links(s, &b, &prev, log_index);
        if (rc == QC_OK) {
            st->blocks++;
            st->txs += b.tx_count;
            for (uint32_t i = 0; i < b.tx_count; i++)
                if (b.txs[i].share != NULL) st->share_ops[b.txs[i].share->op - 1]++;
        }
        qc_block_free(&b);
        if (rc != QC_OK) {
            free(vs);
            return rc;
        }
    }
    free(vs);
    st->records = log_index;
    return QC_OK;
}

/* Counts the keys of `family` (each klen bytes, with a versioned value); a log node must lie
 * inside the log. More than `want` keys stops the scan early. */
static int count_family(store_t *s, uint8_t family, size_t want_klen, uint64_t want,
                        uint64_t *count) {
    uint8_t seek = family;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    *count = 0;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && *count <= want;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const char *v = leveldb_iter_value(it, &vlen);
        if (k[0] != family) break;
        (*count)++;
        if (klen != want_klen) rc = store_corrupt(k, klen, "key is %zu bytes", klen);
        if (rc == QC_OK) rc = store_check_value(k, klen, v, vlen, 1);
        if (rc == QC_OK && family == SK_LOG && vlen != SV_LOG_LEN)
            rc = store_corrupt(k, klen, "value of %zu bytes", vlen);
        if (rc == QC_OK && family == SK_LOG &&
            (k[1] < STORE_NODE_LEVEL_MIN || k[1] >= 64 ||
             qc_get_u64(k + 2) >= (s->head.log_size >> k[1])))
            rc = store_corrupt(k, klen, "lies outside the log of %llu leaves",
                               (unsigned long long)s->head.log_size);
        if (rc != QC_OK) break;
    }
    rc = store_iter_finish(it, rc, "scanning the store");
    if (rc == QC_OK && *count != want)
        rc = store_corrupt(&seek, 1, "%llu%s keys in this family, expected %llu",
                           (unsigned long long)*count, *count > want ? " or more" : "",
                           (unsigned long long)want);
    return rc;
}

/* Every stored record-log subtree (level >= STORE_NODE_LEVEL_MIN) is the hash of its two
 * children: at the lowest stored level, hashed from the blocks' leaves; above, the stored
 * children, checked before their parents because keys sort by level, then index. Together with
 * the count, the stored log is exactly the one the blocks' records make. */
static int check_log_value(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v,
                           size_t vlen) {
    store_t *s = ctx;
    if (klen != SK_LOG_LEN || vlen != SV_LOG_LEN) /* (count_family reported it already) */
        return store_corrupt(k, klen, "key/value of %zu/%zu bytes", klen, vlen);
    uint32_t level = k[1];
    uint64_t index = qc_get_u64(k + 2);
    qc_hash_t l, r, want;
    int rc = store_log_get(s, level - 1, 2 * index, &l);
    if (rc == QC_OK) rc = store_log_get(s, level - 1, 2 * index + 1, &r);
    if (rc != QC_OK) return rc;
    merkle_node_hash(&want, &l, &r);
    if (memcmp(want.b, v + 1, 32) != 0)
        return store_corrupt(k, klen, "is not the hash of its two children");
    return QC_OK;
}

/* Stored complete subtrees of a tree of n leaves: n/16 + n/32 + ... (STORE_NODE_LEVEL_MIN) */
static uint64_t log_nodes(uint64_t n) {
    uint64_t total = 0;
    for (uint32_t level = STORE_NODE_LEVEL_MIN; level < 64; level++) total += n >> level;
    return total;
}

/* Every stored record status (under 'S', kept once a lifecycle transaction changed it) names
 * as first anchoring the digest's first record index entry (the lowest log index: 'R' keys
 * sort by digest, then log index); an untouched digest's status is derived from that entry on
 * read, so there is nothing to compare (deriving each would cost a tx read per digest);
 * st->statuses gets the number of distinct digests, *stored how many of them have an 'S'
 * entry, which the 'S' family must hold exactly (no status of a digest never anchored). */
static int check_statuses(store_t *s, store_check_stats_t *st, uint64_t *stored) {
    uint8_t seek = SK_RECORD, prev[32];
    bool have_prev = false;
    qc_recstat_t *rs = malloc(sizeof *rs);
    if (rs == NULL) return QC_ERR_NOMEM;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    st->statuses = 0;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && rc == QC_OK;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const char *v = leveldb_iter_value(it, &vlen);
        if (k[0] != SK_RECORD) break;
        if (klen != SK_RECORD_LEN || vlen != SV_RECORD_LEN) {
            rc = store_corrupt(k, klen, "record index entry of %zu/%zu bytes", klen, vlen);
            break;
        }
        if (have_prev && memcmp(prev, k + SK_DIGEST_AT, 32) == 0) continue;
        memcpy(prev, k + SK_DIGEST_AT, 32);
        have_prev = true;
        st->statuses++;
        store_record_loc_t loc;
        uint8_t sk[SK_MAX_LEN];
        size_t sklen = sk_mapped(sk, SK_STATUS, k + 1, prev);
        char *sv;
        size_t svlen;
        rc = store_get(s, sk, sklen, &sv, &svlen);
        if (rc == QC_ERR_NOTFOUND) { /* untouched: derived from this very entry on read */
            rc = QC_OK;
            continue;
        }
        if (rc != QC_OK) break;
        (*stored)++;
        leveldb_free(sv);
        rc = store_record_entry(s, k, klen, v, vlen, &loc); /* its tx id is the block's */
        if (rc != QC_OK) break;
        rc = store_record_status(s, prev, rs);
        if (rc == QC_ERR_NOTFOUND) rc = store_corrupt(sk, sklen, "vanished while checking");
        else if (rc == QC_OK && (rs->first_height != loc.height || rs->first_log_index != loc.log_index ||
                                 memcmp(rs->first_tx_id.b, loc.tx_id.b, 32) != 0))
            rc = store_corrupt(sk, sklen, "first anchoring is not the digest's first record entry "
                               "(log index %llu)", (unsigned long long)loc.log_index);
    }
    free(rs);
    return store_iter_finish(it, rc, "scanning the record index");
}

/* One sharing key and its value (after the version byte): its length fits its family, and the
 * value decodes as the family's, naming the key's own id. */
static int check_share_entry(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen) {
    sh_dataset_t d;
    sh_request_t q;
    sh_access_t a;
    bool ok;
    switch (k[0]) {
    case SH_DATASET:
        ok = klen == 33 && sh_dataset_decode(v, vlen, &d) == QC_OK && !memcmp(d.id.b, k + 1, 32);
        break;
    case SH_REQUEST:
        ok = klen == 33 && sh_request_decode(v, vlen, &q) == QC_OK && !memcmp(q.id.b, k + 1, 32);
        break;
    case SH_ACCESS: ok = klen == 37 && sh_access_decode(v, vlen, &a) == QC_OK; break;
    case SH_TRAIL: ok = klen == 37 && vlen == 32; break;
    case SH_NAME: /* 'N' str8 owner str8 name */
        ok = klen >= 4 && 2 + (size_t)k[1] < klen && klen == 3 + (size_t)k[1] + k[2 + k[1]] &&
             vlen == 32;
        break;
    default: /* SH_OPEN */ ok = klen >= 36 && klen == 2 + 1 + (size_t)k[2] + 32 && vlen == 0;
    }
    return ok ? QC_OK : store_corrupt(k, klen, "not a well-formed %zu-byte value of its family",
                                      vlen);
}

/* The keys of sharing family `family`: exactly `want`, each well-formed. */
static int check_share_family(store_t *s, uint8_t family, uint64_t want) {
    uint8_t seek = family;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    uint64_t count = 0;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && rc == QC_OK &&
         count <= want; leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const char *v = leveldb_iter_value(it, &vlen);
        if (k[0] != family) break;
        count++;
        rc = store_check_value(k, klen, v, vlen, 1);
        if (rc == QC_OK) rc = check_share_entry(k, klen, (const uint8_t *)v + 1, vlen - 1);
    }
    rc = store_iter_finish(it, rc, "scanning the data-sharing trail");
    if (rc == QC_OK && count != want)
        rc = store_corrupt(&seek, 1, "%llu%s keys in this family, expected %llu",
                           (unsigned long long)count, count > want ? " or more" : "",
                           (unsigned long long)want);
    return rc;
}

/* The data-sharing families against the committed SHARE transactions: one dataset and one
 * name per DATASET, one request and one trail entry per REQUEST, one access per ACCESS, and
 * two open-request keys per request not yet answered. */
static int check_share(store_t *s, const store_check_stats_t *st) {
    const uint64_t *n = st->share_ops;
    uint64_t answered = n[QC_SHARE_GRANT - 1] + n[QC_SHARE_DENY - 1];
    uint64_t requests = n[QC_SHARE_REQUEST - 1];
    if (answered > requests)
        return store_corrupt((const uint8_t *)"Q", 1, "more answers than requests");
    int rc = check_share_family(s, SH_DATASET, n[QC_SHARE_DATASET - 1]);
    if (rc == QC_OK) rc = check_share_family(s, SH_NAME, n[QC_SHARE_DATASET - 1]);
    if (rc == QC_OK) rc = check_share_family(s, SH_REQUEST, requests);
    if (rc == QC_OK) rc = check_share_family(s, SH_TRAIL, requests);
    if (rc == QC_OK) rc = check_share_family(s, SH_ACCESS, n[QC_SHARE_ACCESS - 1]);
    if (rc == QC_OK) rc = check_share_family(s, SH_OPEN, 2 * (requests - answered));
    return rc;
}

/* A stored map node lies above the cut (a node below it would shadow the one the ledger
 * gives, and no build writes one). */
static int check_node_depth(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v,
                            size_t vlen) {
    (void)v, (void)vlen;
    const store_t *s = ctx;
    unsigned cut = store_subtree_cut(s->head.log_size);
    if (klen < 2 || k[1] >= cut)
        return store_corrupt(k, klen, "stored at or below the cut depth %u", cut);
    return QC_OK;
}

/* The state map: one tree whose every node and leaf hashes right, to the head's root; paged,
 * no stored node at or below the cut. */
static int check_state_map(store_t *s, store_check_stats_t *st) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    if (s->state_paged) {
        int rc = store_scan_family(s, SK_MAP_NODE, check_node_depth, s,
                                   "checking the stored state map");
        if (rc != QC_OK) return rc;
    }
    smap_reader_t r = store_state_reader(s);
    qc_hash_t root, want = {{0}};
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_MAP_NODE);
    int rc = smap_check(&r, &root, &st->state_keys, &st->state_nodes);
    if (rc == QC_ERR_CORRUPT)
        return store_corrupt(k, klen, "the state map's nodes do not hash to one tree (%llu "
                             "nodes read)", (unsigned long long)st->state_nodes);
    if (rc != QC_OK) return rc;
    if (s->head.height > 0) {
        qc_header_t h;
        rc = store_header_get(s, s->head.height, &h);
        if (rc != QC_OK) return rc;
        want = h.state_root;
    }
    if (memcmp(root.b, want.b, QC_HASH_BYTES) != 0)
        return store_corrupt(k, klen, "the state map's root is not the head's state root");
    return QC_OK;
}

static int check_families(store_t *s, store_check_stats_t *st, uint64_t epochs) {
    uint64_t n;
    int rc = count_family(s, SK_BLOCK, SK_U64_LEN, s->head.height, &n);
    if (rc == QC_OK) rc = count_family(s, SK_CERT, SK_U64_LEN, s->head.height, &n);
    if (rc == QC_OK) rc = count_family(s, SK_HASH, SK_HASH_LEN, s->head.height, &n);
    if (rc == QC_OK) rc = count_family(s, SK_TX, SK_HASH_LEN, st->txs, &n);
    if (rc == QC_OK) rc = count_family(s, SK_RECORD, SK_RECORD_LEN, st->records, &n);
    if (rc == QC_OK) /* the paged map's; resident, dropped at open */
        rc = count_family(s, SK_ANCHOR_TX, SK_ANCHOR_TX_LEN,
                          s->state_paged ? st->anchor_txs : 0, &n);
    if (rc == QC_OK) rc = count_family(s, SK_LOG, SK_LOG_LEN, log_nodes(s->head.log_size),
                                       &st->log_nodes);
    if (rc == QC_OK)
        rc = store_scan_family(s, SK_LOG, check_log_value, s, "checking the record-log nodes");
    if (rc == QC_OK) rc = count_family(s, SK_VALIDATORS, SK_U64_LEN, epochs, &n);
    uint64_t stored = 0;
    if (rc == QC_OK) rc = check_statuses(s, st, &stored);
    if (rc == QC_OK) rc = count_family(s, SK_STATUS, SK_MAPPED_LEN, stored, &n);
    if (rc == QC_OK) rc = check_share(s, st);
    if (rc == QC_OK) rc = store_city_check(s);
    if (rc == QC_OK) rc = check_state_map(s, st);
    return rc;
}

int store_check(store_t *s, store_check_stats_t *stats) {
    QC_ASSERT(s != NULL);
    if (s->db == NULL) return QC_ERR_IO;
    store_check_stats_t st;
    memset(&st, 0, sizeof st);
    if (s->head.height > STORE_CHECK_BLOCKS_MAX) return QC_ERR_TOOBIG;
    store_epoch_span_t *spans = malloc(sizeof *spans * STORE_EPOCHS_MAX);
    if (spans == NULL) return QC_ERR_NOMEM;
    size_t n_epochs = 0;
    int rc = store_epochs(s, spans, STORE_EPOCHS_MAX, &n_epochs);
    if (rc == QC_OK && (n_epochs == 0 || spans[0].first_height != 1))
        rc = store_corrupt((const uint8_t *)"E", 1, "no epoch in force from height 1");
    for (size_t i = 0; rc == QC_OK && i < n_epochs; i++) {
        qc_validator_set_t vs;
        rc = store_validators(s, spans[i].epoch, &vs);
        if (rc == QC_ERR_NOTFOUND) rc = store_corrupt((const uint8_t *)"E", 1, "an epoch "
                                                      "without a stored validator set");
    }
    free(spans);
    st.epochs = n_epochs;
    if (rc == QC_OK) rc = check_chain(s, &st);
    if (rc == QC_OK) rc = check_families(s, &st, n_epochs);
    if (stats != NULL) *stats = st;
    return store_note(s, rc);
}
