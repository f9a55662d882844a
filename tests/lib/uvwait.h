/* uvwait.h - tests: run a libuv loop until a condition holds or a deadline passes, checking the
 * condition on a timer (for tests that drive in-process nodes on one loop). */
#ifndef QC_UVWAIT_H
#define QC_UVWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/* Runs loop until pred(arg) holds (checked first, then every poll_ms) or timeout_ms pass;
 * returns whether it held. The loop must not be running; the timers it adds are closed. */
bool uvwait_until(uv_loop_t *loop, bool (*pred)(void *arg), void *arg, uint64_t poll_ms,
                  uint64_t timeout_ms);

#endif
