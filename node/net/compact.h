/* compact.h - compact proposals (docs/NETWORK.md "Compact proposals"): a primary's PRE-PREPARE
 * names the block's transactions by id, since every backup already holds the ones gossiped to
 * it on admission, and a backup rebuilds the block from its mempool, or asks for the whole
 * body when it lacks any. Pure: the mempool is reached through a lookup callback. */
#ifndef QC_COMPACT_H
#define QC_COMPACT_H

#include "fmt.h"

/* The transaction with this id that the caller holds (signature verified), or NULL. */
typedef const qc_tx_t *(*compact_lookup_fn)(void *ctx, const qc_hash_t *id);

/* Encodes b as a CompactBlock (wire.proto) naming every transaction by id. *out is malloc'd
 * and owned by the caller. QC_OK, QC_ERR_NOMEM, or QC_ERR_INVALID (header does not encode). */
int compact_encode(const qc_block_t *b, uint8_t **out, size_t *len);
/* As compact_encode, with the transactions whose ids are among whole[0..whole_n) sent whole:
 * the answer to a backup that lacks them. */
int compact_encode_with(const qc_block_t *b, const qc_hash_t *whole, size_t whole_n,
                        uint8_t **out, size_t *len);
/* The hash of a CompactBlock's header (the digest it claims), or QC_ERR_INVALID. */
int compact_digest(const uint8_t *buf, size_t len, qc_hash_t *out);

/* Rebuilds the block a CompactBlock of buf[0..len) names, whose header hash must be digest:
 *   QC_OK           *out is the whole block (owned by the caller: qc_block_free), its
 *                   transactions cloned from lookup or decoded from the message, their tx
 *                   root equal to the header's;
 *   QC_ERR_NOTFOUND the header is the digest's, but *missing (>= 1) named transactions are
 *                   not held, or (*missing 0) those held give another tx root (same id, other
 *                   signature): the caller fetches the whole body; nothing in *out;
 *   QC_ERR_INVALID  malformed (does not decode, header hash is not digest, counts or ids
 *                   wrong, an entry with neither or both of id and tx, another chain's
 *                   transaction): nothing in *out;
 *   QC_ERR_NOMEM. */
int compact_rebuild(const uint8_t *buf, size_t len, const qc_hash_t *digest,
                    compact_lookup_fn lookup, void *ctx, qc_block_t *out, uint32_t *missing);
/* compact_rebuild that also lists the ids of the missing transactions, the first ids_cap of
 * them, in ids (ids may be NULL with ids_cap 0). */
int compact_rebuild_ids(const uint8_t *buf, size_t len, const qc_hash_t *digest,
                        compact_lookup_fn lookup, void *ctx, qc_block_t *out, uint32_t *missing,
                        qc_hash_t *ids, uint32_t ids_cap);

#endif
