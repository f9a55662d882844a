/* api_share.h - the API's data-sharing endpoints (docs/API.md "Data sharing"): the catalogue
 * of datasets, one dataset with its whole trail, and a city's open requests; and the fields of
 * a SHARE transaction for the block and transaction views. Handlers for api.c's routes table
 * (data: the api_t). */
#ifndef QC_API_SHARE_H
#define QC_API_SHARE_H

#include <jansson.h>

#include "api.h"

#define API_DATASETS_DEFAULT 100 /* datasets one catalogue page holds unless asked */
#define API_DATASETS_MAX 1000    /* the most one page holds (?limit=) */
#define API_TRAIL_MAX 100        /* requests one page of a dataset's trail lists (?from=) */
#define API_ACCESSES_MAX 100     /* accesses listed per request (its first; access_count all) */
#define API_OPEN_MAX 1000        /* open requests listed per city and direction */

/* Adds tx's SHARE fields to obj (nothing for other types): op, then DATASET name, schema,
 * terms, terms_digest; REQUEST dataset, purpose, purpose_name, purpose_text, from_height,
 * until_height; GRANT request; DENY request, reason, reason_name; ACCESS request, digest. */
void api_share_tx_fields(json_t *obj, const qc_tx_t *tx);

/* GET /v1/datasets?after=&limit= */
void h_datasets(http_req_t *req, http_res_t *res, void *data);
/* GET /v1/datasets/{id} */
void h_dataset(http_req_t *req, http_res_t *res, void *data);
/* GET /v1/cities/{name}/requests */
void h_city_requests(http_req_t *req, http_res_t *res, void *data);

#endif
