/* net_fault.h - test-only transport faults: a per-peer one-way send delay that emulates a
 * provincial network where the kernel has no netem qdisc (docs/RELIABILITY.md, testnet/README.md).
 * Compiled in only with -DQC_TEST_FAULTS (build/chaos/bin/qchaind, `make chaos-build`); the
 * normal build has none of it. */
#ifndef NET_FAULT_H
#define NET_FAULT_H

#ifdef QC_TEST_FAULTS
#include "net.h"

#define NET_FAULT_QUEUE_MAX 4096 /* frames held at once; beyond it frames go out undelayed */

/* Called by net_send for a frame to an up link. Returns true if the frame (copied) is held to
 * be sent by net_send after this peer's delay, false if it must go out now (no delay set, the
 * queue is full, or this is the delayed send itself). The delay of the link self->peer is fixed
 * per run: lo + hash(seed, self, peer) % (hi - lo + 1) ms, where "lo-hi" is read from the file
 * named by QC_FAULT_FILE (re-read every 250 ms; the chaos run raises it as a fault), or else
 * from QC_FAULT_DELAY_MS; QC_FAULT_SEED seeds the hash. Single-threaded, on net's loop. */
bool net_fault_hold(net_t *net, uint32_t peer, const void *data, size_t len);
#endif

#endif
