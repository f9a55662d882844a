/* pbft_internal.h - helpers shared by the files of the PBFT core; not part of the API. */
#ifndef PBFT_INTERNAL_H
#define PBFT_INTERNAL_H

#include <string.h>

#include "pbft.h"

enum { VALIDATION_NONE = 0, VALIDATION_REQUESTED = 1, VALIDATION_OK = 2, VALIDATION_BAD = 3 };

static inline bool hash_eq(const qc_hash_t *a, const qc_hash_t *b) {
    return memcmp(a->b, b->b, QC_HASH_BYTES) == 0;
}
static inline uint16_t primary_of(const pbft_t *p, uint64_t view) {
    return (uint16_t)(view % p->ep.n);
}
static inline bool is_member(const pbft_t *p) { return p->ep.self != PBFT_NOT_MEMBER; }
static inline bool is_primary(const pbft_t *p) {
    return is_member(p) && primary_of(p, p->view) == p->ep.self;
}

/* pbft_cert.c */
bool pbft_verify_counted(pbft_verify_cb verify, void *ctx, uint64_t *counter,
                         const pbft_stmt_t *st, const qc_sig_t *sig);
int pbft_commit_cert_check(const pbft_commit_cert_t *c, uint16_t n, pbft_verify_cb verify,
                           void *ctx, uint64_t *counter);
int pbft_checkpoint_cert_check(const pbft_checkpoint_cert_t *c, uint64_t epoch, uint16_t n,
                               pbft_verify_cb verify, void *ctx, uint64_t *counter);
int pbft_prepared_cert_check(const pbft_prepared_cert_t *c, uint64_t epoch, uint16_t n,
                             pbft_verify_cb verify, void *ctx, uint64_t *counter);

/* pbft.c: outbox, persistence, slots, shared by the view-change code */
void pbft_sign(pbft_t *p, const pbft_stmt_t *st, qc_sig_t *sig);
bool pbft_verify(pbft_t *p, const pbft_stmt_t *st, const qc_sig_t *sig);
pbft_msg_t *pbft_out_msg(pbft_t *p, int type, uint16_t to);
void pbft_msg_init(const pbft_t *p, pbft_msg_t *m, int type, uint16_t to);
void pbft_record_vote(pbft_t *p, pbft_slot_t *s);
void pbft_hold_msg(pbft_t *p, const pbft_msg_t *m);
pbft_persist_t *pbft_persist_new(pbft_t *p, pbft_rec_kind_t kind);
void pbft_persist_view(pbft_t *p);
void pbft_persist_slot(pbft_t *p, const pbft_slot_t *s);
pbft_slot_t *pbft_slot(pbft_t *p, uint64_t height);
pbft_slot_t *pbft_slot_peek(const pbft_t *p, uint64_t height);
bool pbft_in_window(const pbft_t *p, uint64_t height);
void pbft_slot_reset_view(pbft_slot_t *s);
bool pbft_digest_at(pbft_t *p, uint64_t height, qc_hash_t *out);
void pbft_send_prepare(pbft_t *p, pbft_slot_t *s);
void pbft_accept_preprepare(pbft_t *p, pbft_slot_t *s);
void pbft_advance(pbft_t *p);
void pbft_set_stable(pbft_t *p, const pbft_checkpoint_cert_t *c);
uint64_t pbft_timeout(const pbft_t *p);
int pbft_count_vote(pbft_t *p, pbft_slot_t *s, int type, uint16_t from, const pbft_msg_t *m);
void pbft_resend(pbft_t *p);
void pbft_replay_early(pbft_t *p);
void pbft_revote_stable(pbft_t *p);
void pbft_revote_head(pbft_t *p);
bool pbft_timer_may_run(const pbft_t *p);

void pbft_request_transfer(pbft_t *p, const pbft_checkpoint_cert_t *target);
void pbft_install_epoch(pbft_t *p, const pbft_epoch_t *ep);

/* pbft_view.c */
void pbft_start_view_change(pbft_t *p, uint64_t view);
void pbft_check_join(pbft_t *p);
int pbft_on_view_change(pbft_t *p, const pbft_msg_t *m);
int pbft_on_new_view(pbft_t *p, const pbft_msg_t *m);
void pbft_view_tick(pbft_t *p);
void pbft_build_own_vc(pbft_t *p);
pbft_msg_t pbft_vc_msg(const pbft_t *p, uint16_t to);
void pbft_finalize_held(pbft_t *p, pbft_msg_t *m, bool *drop);
void pbft_enter_view(pbft_t *p, const pbft_new_view_t *nv, const pbft_checkpoint_cert_t *base);
void pbft_keep_new_view(pbft_t *p, const pbft_new_view_t *nv);
pbft_msg_t pbft_nv_msg(const pbft_t *p, uint16_t to);
void pbft_answer_lower_view(pbft_t *p, uint16_t to, const pbft_stmt_t *st, const qc_sig_t *sig);

#endif
