/* uvwait.c - tests: run a libuv loop until a condition holds or a deadline passes (uvwait.h). */
#include "uvwait.h"

typedef struct {
    bool (*pred)(void *arg);
    void *arg;
    bool met;
} waiter_t;

static void on_poll(uv_timer_t *t) {
    waiter_t *w = t->data;
    if (w->pred(w->arg)) {
        w->met = true;
        uv_stop(t->loop);
    }
}

static void on_deadline(uv_timer_t *t) { uv_stop(t->loop); }

bool uvwait_until(uv_loop_t *loop, bool (*pred)(void *arg), void *arg, uint64_t poll_ms,
                  uint64_t timeout_ms) {
    waiter_t w = {pred, arg, pred(arg)};
    if (w.met) return true;
    uv_timer_t poll, deadline;
    uv_timer_init(loop, &poll);
    uv_timer_init(loop, &deadline);
    poll.data = &w;
    uv_timer_start(&poll, on_poll, poll_ms, poll_ms);
    uv_timer_start(&deadline, on_deadline, timeout_ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return w.met;
}
