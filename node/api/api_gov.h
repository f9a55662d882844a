/* api_gov.h - the API's governance endpoints (docs/API.md "Governance"): proposals, one
 * proposal, and the membership history. Handlers for api.c's routes table (data: the api_t). */
#ifndef QC_API_GOV_H
#define QC_API_GOV_H

#include "api.h"

#define API_PROPOSALS_MAX 4096 /* proposal records one listing returns at most */

/* GET /v1/governance/proposals */
void h_gov_proposals(http_req_t *req, http_res_t *res, void *data);
/* GET /v1/governance/proposals/{id} */
void h_gov_proposal(http_req_t *req, http_res_t *res, void *data);
/* GET /v1/members/history */
void h_members_history(http_req_t *req, http_res_t *res, void *data);

#endif
