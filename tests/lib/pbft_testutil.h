/* pbft_testutil.h - helpers shared by the PBFT simulator, the lockstep test cluster and the
 * benchmark: a fake MAC-like signature scheme and owned copies of message bodies. */
#ifndef PBFT_TESTUTIL_H
#define PBFT_TESTUTIL_H

#include "pbft.h"

/* sig = a keyed 512-bit mix of every statement field; only the key holder can produce it. */
void pbft_fake_sign(uint64_t key, const pbft_stmt_t *st, qc_sig_t *sig);
bool pbft_fake_verify(uint64_t key, const pbft_stmt_t *st, const qc_sig_t *sig);

/* An owned copy (malloc) of m's VIEW-CHANGE, NEW-VIEW, COMMIT-CERT or CHECKPOINT-CERT body, or
 * NULL. */
void *pbft_body_copy(const pbft_msg_t *m);
/* Points m's body at a copy made by pbft_body_copy (fixing the NEW-VIEW's inner pointers). */
void pbft_body_bind(pbft_msg_t *m, void *blob);

/* A record with its borrowed body (NEW_VIEW, FINAL) copied into malloc'd memory that dst owns,
 * as a host's disk would keep it; pbft_rec_free releases that copy (other kinds own nothing). */
void pbft_rec_copy(pbft_persist_t *dst, const pbft_persist_t *src);
void pbft_rec_free(pbft_persist_t *r);

#endif
