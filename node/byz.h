/* byz.h - the chaos run's Byzantine city (docs/RELIABILITY.md): a test-only build of qchaind
 * that, with QC_BYZ=1 in its environment, signs with its own (real) member key but attacks the
 * protocol. Compiled in only with -DQC_TEST_FAULTS (build/chaos/bin/qchaind); the normal build
 * has none of it. */
#ifndef QC_BYZ_H
#define QC_BYZ_H

#ifdef QC_TEST_FAULTS
#include "node.h"

#define BYZ_REPLAY_MAX 64 /* old frames kept to replay */
#define BYZ_TWINS_MAX 256 /* proposals whose conflicting twin it remembers */

/* Sends the core's outgoing message m the Byzantine way and returns true, or returns false
 * (QC_BYZ unset) so the caller sends it honestly. The Byzantine way, per message:
 *  - a PRE-PREPARE it proposes as primary goes honestly to the even-indexed peers and, to the
 *    odd ones, as a conflicting PRE-PREPARE with its body: a twin block, valid by every check
 *    a backup makes (same height and transactions, 1 ms later, on the parent's twin where the
 *    parent has one), so odd peers can prepare it (equivocation, OSDI §4.2);
 *  - each PREPARE and COMMIT it sends is followed by a second one, signed, for the twin of the
 *    block voted for where it made one, else for a digest no replica proposed (conflicting
 *    votes);
 *  - one time in four, an old frame it sent before (any type) is replayed to a random peer;
 *  - one time in eight, a malformed frame (random bytes, or an old frame truncated or with a
 *    byte flipped) goes to a random peer over the authenticated link.
 * m is borrowed. Runs on the node's loop. */
bool byz_send(node_t *n, const pbft_msg_t *m);
#endif

#endif
