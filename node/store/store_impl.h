/* store_impl.h - private to node/store*.c: the LevelDB key layout and the checked value
 * readers shared by the store (store.c) and its integrity checker (store_check.c).
 * The byte layouts are documented in docs/STORAGE.md; change both together. */
#ifndef QC_STORE_IMPL_H
#define QC_STORE_IMPL_H

#include <stdarg.h>

#include "store.h"

/* Key families: the first byte of every key. */
enum {
    SK_META = 'M',       /* "M"                         -> magic, version, genesis, chain id */
    SK_HEAD = 'H',       /* "H"                         -> head */
    SK_BLOCK = 'B',      /* 'B' u64 height              -> header + Block envelope */
    SK_CERT = 'C',       /* 'C' u64 height              -> CommitCert envelope */
    SK_HASH = 'K',       /* 'K' block hash              -> height */
    SK_TX = 'T',         /* 'T' tx id                   -> height, tx index */
    SK_RECORD = 'R',     /* 'R' mk4 digest u64 log index -> height, tx index, record index */
    SK_LOG = 'L',        /* 'L' u8 level u64 index      -> subtree hash (level >= 4) */
    SK_VALIDATORS = 'V', /* 'V' u64 epoch               -> validator set */
    SK_EPOCH = 'E',      /* 'E' u64 first height        -> epoch in force from there */
    SK_GOV = 'G',        /* "G"                         -> governance state after the head */
    SK_PROPOSAL = 'P',   /* 'P' proposal id             -> its latest record */
    SK_STATUS = 'S',     /* 'S' mk4 digest              -> its record status (PROTOCOL §5.1) */
    SK_ANCHOR_TX = 'J',  /* 'J' u64 height u32 tx index -> an ANCHOR's tx id and owner city */
    SK_CITY_SPAN = 'Y',  /* 'Y' str8 city u64 first index -> the block holding leaves from there */
    SK_CITY_NODE = 'Z',  /* 'Z' str8 city u8 level u64 index -> city-log subtree hash (level >= 4) */
    SK_MAP_NODE = 'X',   /* 'X' position (smap_pos_encode) -> state-map node, as of the 'U' height */
    SK_MAP_SNAP = 'U',   /* "U"                         -> the height the 'X' nodes are at, its
                                                           block hash, the city-log frontiers */
};

#define SK_U64_LEN 9      /* family + u64 */
#define SK_HASH_LEN 33    /* family + 32 bytes */
/* 'R' and 'S' keys put the first 4 bytes of the digest's state-map key (mk4, smt_map_key)
 * before the digest (format 7), so that the records under a map position of depth <= 32 are one
 * range of keys: the paged state map computes its small subtrees from them (store_state.c). */
#define SK_MK_BYTES 4
#define SK_DIGEST_AT (1 + SK_MK_BYTES) /* where the digest starts in an 'R' or 'S' key */
#define SK_MAPPED_LEN (1 + SK_MK_BYTES + 32) /* family + mk4 + digest: an 'S' key */
#define SK_RECORD_LEN (SK_MAPPED_LEN + 8)    /* family + mk4 + digest + u64 */
#define SK_ANCHOR_TX_LEN (1 + 8 + 4)         /* family + u64 height + u32 tx index */
#define SK_LOG_LEN 10     /* family + u8 level + u64 */
#define SK_MAX_LEN 48     /* the longest: a city-log node, 1 + 1 + 32 + 1 + 8 = 43 */

/* Fixed value sizes (each starts with the STORE_FORMAT_VERSION byte). */
#define SV_HEAD_LEN (1 + 8 + 32 + 8 + 32 + 8)
#define SV_HEIGHT_LEN (1 + 8)
#define SV_TX_LEN (1 + 8 + 4)
#define SV_RECORD_LEN (1 + 8 + 4 + 2) /* no tx id: the block holds it (format 6) */
#define SV_ANCHOR_TX_MIN (1 + 32 + 1 + 1) /* version, tx id, str8 owner (1..32 bytes) */
#define SV_ANCHOR_TX_MAX (1 + 32 + 1 + QC_MEMBER_NAME_MAX)
#define SV_LOG_LEN (1 + 32)
#define SV_CITY_SPAN_LEN (1 + 8 + 4) /* height, leaf count */
/* The lowest level of complete subtrees stored, for the record log ('L') and the city logs
 * ('Z'): a subtree below it (at most 8 leaves) is hashed from its leaves, read from the blocks,
 * when a root or proof needs it. Storing every level cost a fifth of the node's throughput in
 * LevelDB bytes (docs/BENCHMARKS.md). */
#define STORE_NODE_LEVEL_MIN 4
#define SV_EPOCH_LEN (1 + 8)
#define SV_META_MAGIC "QCST"
#define SV_VALIDATORS_MAX (1 + 8 + 2 + 2 + QC_VALIDATORS_MAX * (1 + QC_MEMBER_NAME_MAX + 96))

size_t sk_single(uint8_t *k, uint8_t family);
size_t sk_u64(uint8_t *k, uint8_t family, uint64_t v);
size_t sk_hash(uint8_t *k, uint8_t family, const uint8_t h[32]);
/* 'R' mk4 digest u64 log index (computes the digest's map key: one SHA-256). */
size_t sk_record(uint8_t *k, const uint8_t digest[32], uint64_t log_index);
/* 'S' mk4 digest. */
size_t sk_status(uint8_t *k, const uint8_t digest[32]);
/* family mk4 digest, mk4 given (the first 4 bytes of the digest's map key). */
size_t sk_mapped(uint8_t *k, uint8_t family, const uint8_t mk4[SK_MK_BYTES],
                 const uint8_t digest[32]);
/* 'J' u64 height u32 tx index. */
size_t sk_anchor_tx(uint8_t *k, uint64_t height, uint32_t tx_index);
/* An anchor-tx value: version, tx id, str8 owner (a member name); returns its length. */
size_t sv_anchor_tx_encode(uint8_t v[SV_ANCHOR_TX_MAX], const qc_hash_t *tx_id,
                           const char *owner);
/* Puts a state-map node into batch b: key 'X' position, value version byte and the node. */
void store_batch_map_node(struct leveldb_writebatch_t *b, const smap_pos_t *pos,
                          const smap_node_t *node);
/* 'X' position (smap_pos_encode). */
size_t sk_map_node(uint8_t k[1 + SMAP_POS_MAX_BYTES], const smap_pos_t *pos);
size_t sk_log(uint8_t *k, uint32_t level, uint64_t index);
/* 'Y' str8 city u64 first index; 'Z' str8 city u8 level u64 index (city a member name). */
size_t sk_city_span(uint8_t *k, const char *city, uint64_t first_index);
size_t sk_city_node(uint8_t *k, const char *city, uint32_t level, uint64_t index);
/* "block 42", "tx 3f2a..", "log node (3, 17)": for error messages. */
void sk_describe(char *out, size_t cap, const uint8_t *k, size_t klen);

/* Logs "store: refusing block: <why>" at WARN and yields QC_ERR_INVALID: a block (or what a
 * caller gave with it) that the ledger must not take, the ledger unchanged. */
#define STORE_REFUSE(...) (QC_WARN("store: refusing block: " __VA_ARGS__), QC_ERR_INVALID)

/* Logs "store: corrupt <key>: <why>" at ERROR and returns QC_ERR_CORRUPT. */
int store_corrupt(const uint8_t *k, size_t klen, const char *why, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps a LevelDB error string (consumed: freed here) to QC_ERR_CORRUPT or QC_ERR_IO, logging
 * it with `what` (ldb_error). */
int store_ldb_error(char *err, const char *what);

/* Forgets the last problem store_corrupt or store_ldb_error recorded (before a public read). */
void store_problem_clear(void);
/* The last problem recorded on this thread ("" if none). */
const char *store_last_problem(void);

/* Apply's city-log step (store_city.c): s->clogs_next becomes the logs after block b (the
 * head's plus its events, with vs the set in force), every span and subtree hash appended
 * into the batch; when sb is non-NULL the moved city heads go into it. With after and nodes
 * (store_given_t: both or neither) the logs and hashes are exec's, checked against the block
 * and the head (QC_ERR_INVALID) rather than computed again. */
int store_city_apply(store_t *s, const qc_block_t *b, const qc_validator_set_t *vs,
                     const clog_set_t *after, const clog_nodes_t *nodes, sblock_t *sb);
_Static_assert(STORE_NODE_LEVEL_MIN == CLOG_NODE_LEVEL_KEPT,
               "exec keeps the city-log nodes the store stores");
/* store_check's part: the 'Y' and 'Z' families hold exactly the city logs' leaves and
 * subtree hashes (each key inside its city's log, each value of its exact length). */
int store_city_check(store_t *s);
/* The rebuild's: appends block b's events to *clogs (nothing stored). */
int store_city_replay(clog_set_t *clogs, const qc_block_t *b, const qc_validator_set_t *vs);

/* Loads the state map (store_state.c): a fresh cache over the nodes stored in 'X', brought
 * from the height of their snapshot ('U') to the head by replaying the blocks since (all of
 * them when there is no usable snapshot), checked against the head's state root; replaces
 * s->state and s->clogs. */
int store_state_rebuild(store_t *s);

/* ---- the paged map's small subtrees (store_subtree.c) ----------------------------------- */

/* The depth from which paged map nodes are not stored (MERKLE.md §8.4): floor(log2(log_size))
 * - 5, at least 0, at most 32, so a node there holds ~32-64 keys on average. Never decreases
 * as the log grows, so no node below it was ever stored. */
unsigned store_subtree_cut(uint64_t log_size);
/* The node at pos hashed from the ledger ('R' entries under its position, their 'S' statuses
 * and 'J' transactions, and the city heads of s->state_fill_clogs), as of the durable head;
 * the nodes below it are offered to s->state_fill as clean entries. QC_OK; QC_ERR_NOTFOUND
 * (no key there, or one key below the top); QC_ERR_CORRUPT (an entry that does not decode,
 * or more keys than a missing stored node could explain); QC_ERR_NOMEM; a read error. */
int store_subtree_compute(store_t *s, const smap_pos_t *pos, smap_node_t *out);
/* Writes every map node above the cut, hashed from the records alone (no city key), into 'X'
 * in batches: the paged map's rebuild from nothing. *written gets their count. */
int store_subtree_build(store_t *s, uint64_t *written);
/* The 'J' entry (height, tx_index): tx id and owner (pointers into a cache entry, valid until
 * the next call). QC_OK, QC_ERR_NOTFOUND, QC_ERR_CORRUPT, QC_ERR_NOMEM, a read error. */
int store_anchor_tx_get(store_t *s, uint64_t height, uint32_t tx_index, const qc_hash_t **id,
                        const char **owner);
/* After a durable block (not inside a group): holds the map cache to its bound, writing the
 * dirty nodes with a snapshot at the head when clean ones no longer suffice. A failed write
 * stops writing as any failed write does (the cache keeps its dirty nodes). */
void store_state_maintain(store_t *s);
/* Writes the dirty nodes and a snapshot at the head (store_close: the next open replays
 * nothing). QC_OK, or the write's error. */
int store_state_flush(store_t *s);
/* Writes batch b (synced); on failure stops writing through this handle, as a block's failed
 * write does, and returns the error. */
struct leveldb_writebatch_t;
int store_write(store_t *s, struct leveldb_writebatch_t *b, const char *what);
/* The root that a block's state-map nodes (parents after children) give: its top node's,
 * or, for a block that changed nothing, the head's. QC_ERR_INVALID if the last is no top. */
int store_state_writes_root(store_t *s, const smap_writes_t *ws, qc_hash_t *root);

/* Returns rc; when rc says the data is damaged (QC_ERR_CORRUPT, or QC_ERR_IO from an open
 * database) marks s damaged with the last recorded problem, once (store_problem). */
int store_note(store_t *s, int rc);

/* Destroys iterator it; returns its error if it had one (mapped as store_ldb_error, logged
 * with `what`), else rc. */
struct leveldb_iterator_t;
int store_iter_finish(struct leveldb_iterator_t *it, int rc, const char *what);

/* Calls fn for every key of `family`, in key order, with the key and value (borrowed until fn
 * returns), until fn returns other than QC_OK; returns that, or the iterator's error (logged
 * with `what`), or QC_OK. */
typedef int (*store_scan_fn)(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v,
                             size_t vlen);
int store_scan_family(store_t *s, uint8_t family, store_scan_fn fn, void *ctx,
                      const char *what);

/* Gets the value of key k. *val is leveldb-malloc'd (free with leveldb_free) and owned by the
 * caller on QC_OK. QC_ERR_NOTFOUND, or the mapped LevelDB error. */
int store_get(store_t *s, const uint8_t *k, size_t klen, char **val, size_t *vlen);

/* Gets a value that must be exactly `len` bytes starting with the format version byte, and
 * copies it to out. QC_ERR_NOTFOUND, QC_ERR_CORRUPT (logged), or a LevelDB error. */
int store_get_fixed(store_t *s, const uint8_t *k, size_t klen, uint8_t *out, size_t len);

/* Checks a variable-length value's version byte and minimum length (logged as corrupt). */
int store_check_value(const uint8_t *k, size_t klen, const char *val, size_t vlen,
                      size_t min_len);

/* Value codecs. Decoders check everything they can and log corruption against key k. */
void sv_head_encode(uint8_t out[SV_HEAD_LEN], const store_head_t *h);
void sv_head_decode(const uint8_t v[SV_HEAD_LEN], store_head_t *h);
size_t sv_validators_encode(uint8_t *out, size_t cap, const qc_validator_set_t *vs);
int sv_validators_decode(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                         qc_validator_set_t *vs);
void sv_record_decode(const uint8_t v[SV_RECORD_LEN], uint64_t log_index,
                      store_record_loc_t *out);
/* The id of transaction tx_index of durable block `height` (<= head), from the block (its
 * leaf hashes and tx ids are cached, one block at a time). QC_ERR_RANGE if the block has no
 * such transaction. */
int store_block_tx_id(store_t *s, uint64_t height, uint32_t tx_index, qc_hash_t *out);
/* The decoded durable block `height` (1..head), from the leaf cache, loading it there if it
 * holds another: borrowed until the next store call. */
int store_cached_block(store_t *s, uint64_t height, const qc_block_t **out);
/* Empties the leaf cache (frees its block): after a reopen, and at close. */
void store_leaf_cache_drop(store_t *s);
/* A record index entry (key k, value val) decoded into *out, tx id included, and checked: it
 * sits in the log below the head, and the log's leaf at its index (hashed from the block that
 * holds it) is the leaf its fields and its block's tx id hash to. Else QC_ERR_CORRUPT. */
int store_record_entry(store_t *s, const uint8_t *k, size_t klen, const char *val, size_t vlen,
                       store_record_loc_t *out);

/* The header stored in front of block `height`'s envelope, checked against the key;
 * *env_off gets the offset of the envelope in the value. */
int store_header_parse(const uint8_t *k, size_t klen, const char *val, size_t vlen,
                       uint64_t height, qc_header_t *out, size_t *env_off);
/* store_header_parse of the stored block `height`. QC_ERR_NOTFOUND if there is none. */
int store_header_read(store_t *s, uint64_t height, qc_header_t *out);

/* The record-log reader callback (ctx = store_t *). */
int store_log_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out);

#endif
