/* par.c - the parallel-for pool (par.h): workers sleep on a condition variable between jobs,
 * take indices from one atomic counter during a job, and the last one out wakes the caller. */
#include "par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "qc.h"

struct par {
    pthread_mutex_t mu;
    pthread_cond_t start_cv; /* a new job (gen moved) or stop */
    pthread_cond_t done_cv;  /* busy reached 0 */
    pthread_t *threads;
    uint32_t threads_n;      /* created: workers - 1 */
    uint64_t gen;            /* job generation, under mu */
    bool stop;               /* under mu */
    uint32_t busy;           /* workers not yet done with job gen, under mu */
    par_fn fn;               /* the current job, under mu */
    void *ctx;
    uint32_t n;
    atomic_uint next;        /* next index to take */
};

uint32_t par_cores(void) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > (long)PAR_WORKERS_MAX ? PAR_WORKERS_MAX : (uint32_t)c;
}

/* Takes indices until none is left. Each index is taken by exactly one thread. */
static void take_all(par_t *p, par_fn fn, void *ctx, uint32_t n) {
    for (;;) {
        unsigned i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= n) return;
        fn(ctx, i);
    }
}

static void *worker(void *arg) {
    par_t *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->start_cv, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        par_fn fn = p->fn;
        void *ctx = p->ctx;
        uint32_t n = p->n;
        pthread_mutex_unlock(&p->mu);
        take_all(p, fn, ctx, n);
        pthread_mutex_lock(&p->mu);
        /* the mutex orders this thread's writes before the caller's reads of them */
        if (--p->busy == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int par_start(par_t **out, uint32_t workers) {
    *out = NULL;
    if (workers == 0) workers = par_cores();
    if (workers > PAR_WORKERS_MAX) workers = PAR_WORKERS_MAX;
    par_t *p = calloc(1, sizeof *p);
    if (p == NULL) return QC_ERR_NOMEM;
    p->threads = calloc(workers, sizeof *p->threads);
    if (p->threads == NULL) { free(p); return QC_ERR_NOMEM; }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->next, 0);
    for (uint32_t i = 0; i + 1 < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            par_stop(p);
            return QC_ERR_IO;
        }
        p->threads_n++;
    }
    *out = p;
    return QC_OK;
}

void par_stop(par_t *p) {
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t i = 0; i < p->threads_n; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->start_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

uint32_t par_workers(const par_t *p) {
    return p == NULL ? 1 : p->threads_n + 1;
}

void par_for(par_t *p, uint32_t n, par_fn fn, void *ctx) {
    if (p == NULL || p->threads_n == 0 || n < 2) {
        for (uint32_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    QC_ASSERT(p->busy == 0); /* not reentrant */
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->busy = p->threads_n;
    p->gen++;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    take_all(p, fn, ctx, n);
    pthread_mutex_lock(&p->mu);
    while (p->busy != 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
