/* par.h - a small fixed pool of worker threads for one thing: running a pure function over the
 * indices 0..n-1 on every core and returning once all are done (a parallel for). The caller's
 * thread works too, so the caller sees the results in its own order and stays the only thread
 * that touches the consensus core, the store and the mempool (docs/ARCHITECTURE.md "Threads"). */
#ifndef QC_PAR_H
#define QC_PAR_H

#include <stdint.h>

typedef struct par par_t;

/* Worker threads a pool may have; a configured count above it is clamped. */
#define PAR_WORKERS_MAX 256u

/* One index of the work. Runs on any of the pool's threads, concurrently with other indices:
 * it may read what ctx points at and write only what belongs to index i. */
typedef void (*par_fn)(void *ctx, uint32_t i);

/* The machine's online cores (at least 1): the default worker count. */
uint32_t par_cores(void);

/* Starts a pool of `workers` threads in all, counting the caller (workers - 1 are created);
 * 0 means par_cores(). 1 creates no thread: par_for then runs inline. Returns QC_OK, or
 * QC_ERR_NOMEM / QC_ERR_IO (thread creation failed; nothing is left running). */
int par_start(par_t **out, uint32_t workers);

/* Stops and joins the threads and frees the pool. NULL is a no-op. */
void par_stop(par_t *p);

/* Threads in all, counting the caller. NULL counts as 1. */
uint32_t par_workers(const par_t *p);

/* Runs fn(ctx, i) once for every i in [0, n) and returns when every call has returned. With
 * p NULL, one worker, or n small enough that splitting does not pay (n < 2), it runs inline
 * in order. Not reentrant: one par_for at a time per pool, from one thread. */
void par_for(par_t *p, uint32_t n, par_fn fn, void *ctx);

#endif
