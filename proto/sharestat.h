/* sharestat.h - the values of the data-sharing state (docs/STORAGE.md "Data-sharing
 * trail"): a published dataset, a request with its answer, and one attested access, each with
 * one strict byte encoding so that the store, the rules (node/share) and the API read the same
 * thing. The rules that create and change them live in node/share. */
#ifndef QC_SHARESTAT_H
#define QC_SHARESTAT_H

#include "fmt.h"

#define SH_VALUE_MAX 1024          /* every encoding below fits */

typedef enum { SH_REQ_OPEN = 0, SH_REQ_GRANTED = 1, SH_REQ_DENIED = 2 } sh_req_state_t;

/* A published dataset. */
typedef struct {
    qc_hash_t id;               /* the DATASET transaction's id */
    char owner[QC_MEMBER_NAME_MAX + 1];
    char name[QC_DATASET_NAME_MAX + 1];
    qc_hash_t schema;
    uint8_t terms_kind;         /* qc_terms_kind_t */
    char terms[QC_TERMS_MAX + 1];
    qc_hash_t terms_digest;
    uint64_t height;            /* block that published it */
    uint32_t request_count;     /* requests made for it (SH_TRAIL seq 0..count-1) */
} sh_dataset_t;

/* A request and its answer. */
typedef struct {
    qc_hash_t id;               /* the REQUEST transaction's id */
    qc_hash_t dataset;
    char requester[QC_MEMBER_NAME_MAX + 1];
    uint16_t purpose;
    char purpose_text[QC_PURPOSE_MAX + 1];
    uint64_t from_height, until_height;
    uint64_t height;            /* block of the REQUEST */
    uint8_t state;              /* sh_req_state_t */
    uint64_t answer_height;     /* GRANTED, DENIED: the block and transaction of the answer */
    qc_hash_t answer_tx_id;
    uint16_t reason;            /* DENIED: 1..65535 */
    uint32_t access_count;      /* SH_ACCESS seq 0..count-1 */
} sh_request_t;

/* One attested access. */
typedef struct {
    uint64_t height;
    qc_hash_t tx_id;
    qc_hash_t digest;           /* of what the requester received */
} sh_access_t;

/* Value codecs. Encoders return the length written into out (SH_VALUE_MAX is enough);
 * decoders check every byte and return QC_OK or QC_ERR_CORRUPT. */
size_t sh_dataset_encode(const sh_dataset_t *d, uint8_t *out);
int sh_dataset_decode(const uint8_t *v, size_t len, sh_dataset_t *d);
size_t sh_request_encode(const sh_request_t *r, uint8_t *out);
int sh_request_decode(const uint8_t *v, size_t len, sh_request_t *r);
size_t sh_access_encode(const sh_access_t *a, uint8_t *out);
int sh_access_decode(const uint8_t *v, size_t len, sh_access_t *a);

/* "open", "granted", "denied". */
const char *sh_req_state_name(uint8_t state);

#endif
