/* chainfill.h - writes a long certified chain (chainbuilder blocks) into a ledger store fast,
 * for the long-run benchmarks (bench/long_*.c): a node 100,000 blocks behind, a node holding
 * 10 million records, the disk bytes each anchored record costs. Not for tests of durability:
 * the fill writes without fsync (see chainfill_blocks). */
#ifndef QC_CHAINFILL_H
#define QC_CHAINFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "chainbuilder.h"
#include "store.h"

/* Appends `blocks` blocks of txs_per_block transactions x recs_per_tx records (generated
 * digests: chainbuilder_digest) to store s, which must be at cb's head. The store's writes are
 * switched to sync=false for the fill (one fsync per generated block would dominate the time;
 * the caller closes the store, which makes them durable enough for a benchmark's next step) and
 * back to sync=true after. Prints a progress line to stderr every 10% when progress is set.
 * QC_OK, or the first error (the store keeps what was applied). */
int chainfill_blocks(chainbuilder_t *cb, store_t *s, uint64_t blocks, uint32_t txs_per_block,
                     uint32_t recs_per_tx, bool progress);

/* Compacts the whole database (what a long-running store settles towards). */
void chainfill_compact(store_t *s);

/* Approximate on-disk bytes of each key family of docs/STORAGE.md, in the order of
 * CHAINFILL_FAMILIES ("MHBCKTRJLVESYZXU"); out has room for sizeof CHAINFILL_FAMILIES - 1 values. */
#define CHAINFILL_FAMILIES "MHBCKTRJLVESYZXU"
void chainfill_family_bytes(store_t *s, uint64_t *out);

/* What a ledger directory takes on disk: as it is now, and after a full compaction. */
typedef struct {
    uint64_t written_bytes;                           /* files under the directory, now */
    uint64_t compacted_bytes;                         /* the same after chainfill_compact */
    uint64_t family_bytes[sizeof CHAINFILL_FAMILIES - 1]; /* after it, by key family */
} chainfill_disk_t;

/* Measures the (closed) ledger store in ledger_dir, opening it with cfg (borrowed) to compact
 * it. QC_OK or store_open's error. */
int chainfill_disk(const char *ledger_dir, const store_config_t *cfg, chainfill_disk_t *out);

/* Prints "    by key family after compaction (bytes/record): B 55.0 R 99.2 ..." for `records`. */
void chainfill_disk_print_families(const chainfill_disk_t *d, double records);

/* Bytes of the regular files under dir (recursively, at most 4 levels deep); 0 if unreadable. */
uint64_t chainfill_dir_bytes(const char *dir);

#endif
