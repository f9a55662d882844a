/* api_city.h - the API's per-city completeness proofs (docs/API.md "GET /v1/cities/{name}/log"):
 * the handler that answers a city's log events in a height range with the proof that none
 * was left out (docs/PROTOCOL.md §13), for api.c's routes table (data: the api_t). */
#ifndef QC_API_CITY_H
#define QC_API_CITY_H

#include "api.h"

/* GET /v1/cities/{name}/log?from=A[&to=B]: 200 with the completeness proof JSON of city
 * `name`'s events in heights A..B (B defaults to the head's height; the proof's to_height may
 * be lower when the range was cut at a block boundary); 400 for a bad name, a malformed or
 * out-of-range height or a block too full of the city's events to prove; 404 before the
 * first block; 500 when the ledger cannot be read. */
void h_city_log(http_req_t *req, http_res_t *res, void *data);

#endif
