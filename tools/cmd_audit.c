/* cmd_audit.c - `qchain audit`: fetch the newest quorum-signed checkpoint from one or more
 * nodes, check it against the one accepted last time (a local state file) and against each
 * other with RFC 9162 consistency proofs, and report consistent growth or a fork with both
 * signed checkpoints as evidence. The algorithm is tools/audit.c; this file is HTTP and I/O. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "client.h"

#define AUDIT_EXIT_FORK 4
#define AUDIT_TIMEOUT_MS 10000L

static const char usage[] =
    "Usage: qchain audit --genesis GENESIS.json --state STATE.json\n"
    "                    (--config NODE.json | --api URL)... [--json]\n"
    "Fetches the newest checkpoint each node serves (a C2SP signed note), verifies a quorum of\n"
    "the validators of its epoch signed it (that set certified from the genesis over the node's\n"
    "membership history; a note of an epoch older than the node's newest is refused), and\n"
    "checks with RFC 9162 consistency proofs that the record log only grew: since the\n"
    "checkpoint accepted last time (kept in STATE.json with its epoch, which is created on\n"
    "first use and replaced atomically when the log grew), and between nodes (the same size\n"
    "must have the same root). On a fork both signed checkpoints are printed and saved to\n"
    "STATE.json.fork.json, and the state file is left as it was.\n"
    "  -g, --genesis FILE  the chain's genesis file (the first validators' node keys)\n"
    "  -s, --state FILE    the auditor's state: the last accepted checkpoint\n"
    "  -c, --config FILE   a node config: audit the node at its API address (repeatable)\n"
    "      --api URL       a node's API, http://host:port or https://... (repeatable; up to\n"
    "                      16 nodes)\n" CLIENT_CACERT_USAGE
    "      --json          print the result as JSON\n"
    "Every node is listed with what it served or why it could not be used (unreachable, no\n"
    "valid note): on stdout, or, when no verdict could be reached, on stderr after the error.\n"
    "A node that fails does not stop the audit of the others: the verdict is theirs.\n"
    "Exit status: 0 consistent, 1 error (no node served a valid note, invalid state, no\n"
    "proof), 2 usage, 4 fork detected.\n";

typedef struct {
    char url[CONFIG_ADDR_MAX + 64];
    const genesis_t *g;      /* borrowed: the root of trust for epoch sets */
} http_source_t;

static int http_get(const http_source_t *s, const char *path, json_t **j, char *why, size_t why_cap) {
    char url[sizeof s->url + 128];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    long status = 0;
    int rc = client_request("GET", url, NULL, NULL, 0, AUDIT_TIMEOUT_MS, &status, j, why, why_cap);
    if (rc != QC_OK) return rc;
    if (status != 200 || *j == NULL) {
        snprintf(why, why_cap, "GET %s: HTTP %ld: %s", path, status, client_error_message(*j));
        json_decref(*j);
        *j = NULL;
        return status == 404 ? QC_ERR_NOTFOUND : QC_ERR_INVALID;
    }
    return QC_OK;
}

static int http_newest_epoch(void *ctx, uint64_t *epoch, char *why, size_t why_cap) {
    json_t *j;
    int rc = http_get(ctx, "/v1/members/history", &j, why, why_cap);
    if (rc != QC_OK) return rc;
    const json_t *epochs = json_object_get(j, "epochs");
    size_t n = json_array_size(epochs);
    json_int_t e = n ? json_integer_value(json_object_get(json_array_get(epochs, n - 1), "epoch")) : -1;
    rc = e >= 0 && (size_t)e == n - 1 ? QC_OK : QC_ERR_INVALID; /* epochs are listed 0, 1, ... */
    if (rc == QC_OK) *epoch = (uint64_t)e;
    else snprintf(why, why_cap, "malformed membership history");
    json_decref(j);
    return rc;
}

static int http_set(void *ctx, uint64_t epoch, qc_validator_set_t *vs, char *why, size_t why_cap) {
    const http_source_t *h = ctx;
    return client_epoch_set(h->url, h->g, epoch, vs, why, why_cap);
}

/* The note and its "epoch" (absent from nodes before governance: epoch 0). */
static int http_note(void *ctx, char **text, size_t *len, uint64_t *epoch, char *why,
                     size_t why_cap) {
    json_t *j;
    int rc = http_get(ctx, "/v1/checkpoint", &j, why, why_cap);
    if (rc != QC_OK) return rc;
    json_t *note = json_object_get(j, "note"), *ep = json_object_get(j, "epoch");
    rc = QC_ERR_NOTFOUND;
    *epoch = ep ? (uint64_t)json_integer_value(ep) : 0;
    if (ep && (!json_is_integer(ep) || json_integer_value(ep) < 0)) {
        snprintf(why, why_cap, "the checkpoint's epoch is not a number");
        rc = QC_ERR_INVALID;
    } else if (!json_is_string(note)) snprintf(why, why_cap, "the node has no quorum-signed checkpoint yet");
    else if ((*text = strndup(json_string_value(note), json_string_length(note))) == NULL) rc = QC_ERR_NOMEM;
    else { *len = json_string_length(note); rc = QC_OK; }
    json_decref(j);
    return rc;
}

static int http_proof(void *ctx, uint64_t from, uint64_t to, qc_hash_t *proof, size_t *len,
                      char *why, size_t why_cap) {
    char path[96];
    snprintf(path, sizeof path, "/v1/consistency?from=%" PRIu64 "&to=%" PRIu64, from, to);
    json_t *j;
    int rc = http_get(ctx, path, &j, why, why_cap);
    if (rc != QC_OK) return rc;
    json_t *p = json_object_get(j, "proof");
    rc = json_is_array(p) && json_array_size(p) <= MERKLE_PROOF_MAX ? QC_OK : QC_ERR_INVALID;
    *len = rc == QC_OK ? json_array_size(p) : 0;
    for (size_t i = 0; i < *len && rc == QC_OK; i++) {
        const char *h = json_string_value(json_array_get(p, i));
        if (h == NULL || qc_hex_decode(proof[i].b, 32, h) != QC_OK) rc = QC_ERR_INVALID;
    }
    if (rc != QC_OK) snprintf(why, why_cap, "malformed consistency proof from %" PRIu64 " to %" PRIu64, from, to);
    json_decref(j);
    return rc;
}

static json_t *signers_json(const note_signed_t *s, const qc_validator_set_t *vs) {
    json_t *a = json_array();
    for (uint32_t i = 0; i < s->signer_count; i++)
        json_array_append_new(a, json_string(vs->members[s->signers[i]].name));
    return a;
}

static json_t *report_json(const audit_report_t *r, const audit_source_t *src, bool saved,
                           const char *evidence_path) {
    char hex[65];
    json_t *nodes = json_array();
    for (size_t i = 0; i < r->seen_count; i++) {
        const audit_seen_t *s = &r->seen[i];
        json_array_append_new(nodes, s->ok ? json_pack("{s:s, s:b, s:I, s:s, s:I}", "api", src[i].name, "ok", 1,
                                                         "tree_size", (json_int_t)s->note.cp.size, "root",
                                                         qc_hash_hex(hex, &s->note.cp.root), "epoch",
                                                         (json_int_t)s->epoch)
                                            : json_pack("{s:s, s:b, s:s}", "api", src[i].name, "ok", 0,
                                                        "error", s->error));
    }
    static const char *const names[] = {"consistent", "fork", "error"};
    json_t *j = json_pack("{s:s, s:s, s:o, s:b}", "verdict", names[r->verdict], "reason", r->reason,
                          "nodes", nodes, "state_updated", saved);
    if (r->had_prev) {
        json_object_set_new(j, "previous_size", json_integer((json_int_t)r->prev.cp.size));
        json_object_set_new(j, "previous_epoch", json_integer((json_int_t)r->prev_epoch));
    }
    if (r->newest >= 0 && r->verdict == AUDIT_CONSISTENT) {
        const audit_seen_t *s = &r->seen[r->newest];
        const note_signed_t *n = &s->note;
        json_object_set_new(j, "tree_size", json_integer((json_int_t)n->cp.size));
        json_object_set_new(j, "root", json_string(qc_hash_hex(hex, &n->cp.root)));
        json_object_set_new(j, "epoch", json_integer((json_int_t)s->epoch));
        json_object_set_new(j, "signers", signers_json(n, &s->vs));
        json_object_set_new(j, "quorum", json_integer(qc_quorum(s->vs.n)));
        json_object_set_new(j, "note", json_string(r->seen[r->newest].text));
    }
    if (r->verdict == AUDIT_FORK) {
        json_object_set_new(j, "evidence", json_pack("[{s:s, s:s}, {s:s, s:s}]", "from",
                                                     r->evidence_from[0], "note", r->evidence_text[0],
                                                     "from", r->evidence_from[1], "note",
                                                     r->evidence_text[1]));
        if (evidence_path) json_object_set_new(j, "evidence_file", json_string(evidence_path));
    }
    return j;
}

static void print_text(const audit_report_t *r, const audit_source_t *src, bool saved,
                       const char *state, const char *evidence_path) {
    char hex[65];
    static const char *const heads[] = {"CONSISTENT", "FORK DETECTED", "ERROR"};
    printf("%s: %s\n", heads[r->verdict], r->reason);
    for (size_t i = 0; i < r->seen_count; i++) {
        const audit_seen_t *s = &r->seen[i];
        if (s->ok) printf("  %s: size %" PRIu64 ", root %s, %u signers of epoch %" PRIu64 "\n",
                          src[i].name, s->note.cp.size, qc_hash_hex(hex, &s->note.cp.root),
                          s->note.signer_count, s->epoch);
        else printf("  %s: %s\n", src[i].name, s->error);
    }
    if (r->verdict == AUDIT_CONSISTENT) {
        const audit_seen_t *s = &r->seen[r->newest];
        printf("  signed by");
        for (uint32_t i = 0; i < s->note.signer_count; i++)
            printf("%s %s", i ? "," : "", s->vs.members[s->note.signers[i]].name);
        printf(" (quorum %u of %u, epoch %" PRIu64 ")\n", qc_quorum(s->vs.n), s->vs.n, s->epoch);
        if (saved) printf("  state updated: %s\n", state);
    }
    if (r->verdict == AUDIT_FORK) {
        for (int k = 0; k < 2; k++)
            printf("--- signed checkpoint %d, from %s\n%s", k + 1, r->evidence_from[k], r->evidence_text[k]);
        if (evidence_path) printf("--- evidence saved to %s\n", evidence_path);
    }
}

/* No verdict: the reason, then every node, each failed one with its own error (not only the
 * first: an operator fixing one address at a time would not see the others), on stderr. */
static void print_error(const char *cmd, const audit_report_t *r, const audit_source_t *src) {
    cli_fail(cmd, "%s", r->reason);
    for (size_t i = 0; i < r->seen_count; i++) {
        const audit_seen_t *s = &r->seen[i];
        if (s->ok) fprintf(stderr, "  %s: ok, size %" PRIu64 " of epoch %" PRIu64 "\n", src[i].name,
                           s->note.cp.size, s->epoch);
        else fprintf(stderr, "  %s: %s\n", src[i].name, s->error[0] ? s->error : "not audited");
    }
}

/* Writes both signed notes of a fork next to the state file. */
static bool save_evidence(const char *path, const audit_report_t *r) {
    json_t *j = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "reason", r->reason, "checkpoints",
                          "from", r->evidence_from[0], "note", r->evidence_text[0], "from",
                          r->evidence_from[1], "note", r->evidence_text[1]);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    bool ok = text && qc_file_write_atomic(path, text, strlen(text), 0644, false) == QC_OK;
    free(text);
    return ok;
}

typedef struct {
    const char *genesis, *state, *cacert;
    const char *configs[AUDIT_SOURCES_MAX], *apis[AUDIT_SOURCES_MAX];
    size_t nconfig, napi;
    bool json;
} audit_opts_t;

static int parse_args(int argc, char **argv, audit_opts_t *o) {
    const char *cmd = argv[0];
    enum { O_API = 256, O_JSON };
    static const struct option opts[] = {CLIENT_CACERT_OPTION,
                                         {"genesis", required_argument, NULL, 'g'},
                                         {"state", required_argument, NULL, 's'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"api", required_argument, NULL, O_API},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    cli_getopt_reset();
    bool bad = false;
    int c;
    while ((c = getopt_long(argc, argv, "g:s:c:h", opts, NULL)) != -1) {
        if (c == 'g') o->genesis = optarg;
        else if (c == 's') o->state = optarg;
        else if ((c == 'c' || c == O_API) && o->nconfig + o->napi >= AUDIT_SOURCES_MAX)
            return cli_usage_error(cmd, "at most %d nodes", AUDIT_SOURCES_MAX);
        else if (c == 'c') o->configs[o->nconfig++] = optarg;
        else if (c == O_API) o->apis[o->napi++] = optarg;
        else if (c == O_JSON) o->json = true;
        else if (c == CLIENT_OPT_CACERT) o->cacert = optarg;
        else if (c == 'h') { fputs(usage, stdout); return CLI_EXIT_OK; }
        else bad = true;
    }
    int rc = cli_check_args(cmd, argc, argv, bad);
    if (rc >= 0) return rc;
    if (o->genesis == NULL || o->state == NULL) return cli_usage_error(cmd, "--genesis and --state are required");
    if (o->nconfig + o->napi == 0) return cli_usage_error(cmd, "name at least one node with --config or --api");
    for (size_t i = 0; i < o->napi; i++)
        if (strncmp(o->apis[i], "http://", 7) != 0 && strncmp(o->apis[i], "https://", 8) != 0)
            return cli_usage_error(cmd, "--api %s: expected http://host:port", o->apis[i]);
    return -1;
}

/* Fills the HTTP sources from the options. false (after explaining) on a bad config. */
static bool load_sources(const char *cmd, const audit_opts_t *o, const genesis_t *g,
                         http_source_t *hs, audit_source_t *src, size_t *count) {
    *count = 0;
    for (size_t i = 0; i < o->nconfig + o->napi; i++) {
        http_source_t *h = &hs[i];
        if (i < o->nconfig) {
            client_identity_t *id = calloc(1, sizeof *id);
            char why[256] = "";
            int rc = id ? client_identity_load(o->configs[i], false, id, why, sizeof why) : QC_ERR_NOMEM;
            if (rc == QC_OK) snprintf(h->url, sizeof h->url, "%s", id->api_url);
            free(id);
            if (rc != QC_OK) { cli_fail(cmd, "config %s: %s", o->configs[i], why); return false; }
        } else {
            snprintf(h->url, sizeof h->url, "%s", o->apis[i - o->nconfig]);
            size_t l = strlen(h->url);
            while (l > 0 && h->url[l - 1] == '/') h->url[--l] = '\0';
        }
        h->g = g;
        src[i] = (audit_source_t){h->url, http_newest_epoch, http_note, http_set, http_proof, h};
        (*count)++;
    }
    return true;
}

int cli_audit(int argc, char **argv) {
    const char *cmd = argv[0];
    audit_opts_t o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    genesis_t *g = calloc(1, sizeof *g);
    http_source_t *hs = calloc(AUDIT_SOURCES_MAX, sizeof *hs);
    audit_report_t *r = calloc(1, sizeof *r);
    audit_source_t src[AUDIT_SOURCES_MAX];
    size_t count = 0;
    char why[512] = "", *prev = NULL;
    uint64_t prev_epoch = 0;
    int exit_code = CLI_EXIT_FAIL;
    if (g == NULL || hs == NULL || r == NULL) { cli_fail(cmd, "out of memory"); goto done; }
    if (client_set_cacert(o.cacert, why, sizeof why) != QC_OK) { cli_fail(cmd, "%s", why); goto done; }
    if (genesis_load(o.genesis, g, why, sizeof why) != QC_OK) { cli_fail(cmd, "genesis %s", why); goto done; }
    rc = audit_state_load(o.state, g, &prev, &prev_epoch, why, sizeof why);
    if (rc != QC_OK && rc != QC_ERR_NOTFOUND) { cli_fail(cmd, "state %s", why); goto done; }
    if (!load_sources(cmd, &o, g, hs, src, &count)) goto done;
    audit_verdict_t v = audit_run(g->chain_id, &g->hash, &g->validators, prev, prev_epoch, src, count, r);
    bool saved = false;
    char evidence[CONFIG_PATH_MAX + 16];
    snprintf(evidence, sizeof evidence, "%s.fork.json", o.state);
    bool have_evidence = v == AUDIT_FORK && save_evidence(evidence, r);
    if (v == AUDIT_CONSISTENT && r->advanced) {
        const audit_seen_t *n = &r->seen[r->newest];
        int wrc = audit_state_save(o.state, g, &n->note, n->text, n->epoch, cli_now_ms());
        if (wrc != QC_OK) {
            cli_fail(cmd, "cannot write the state file %s: %s", o.state,
                     client_file_error(wrc, errno));
            goto done;
        }
        saved = true;
    }
    if (o.json) cli_print_json(cmd, report_json(r, src, saved, have_evidence ? evidence : NULL));
    else if (v == AUDIT_ERROR) print_error(cmd, r, src);
    else print_text(r, src, saved, o.state, have_evidence ? evidence : NULL);
    exit_code = v == AUDIT_CONSISTENT ? CLI_EXIT_OK : v == AUDIT_FORK ? AUDIT_EXIT_FORK : CLI_EXIT_FAIL;
done:
    if (r) audit_report_free(r);
    free(r);
    free(prev);
    free(hs);
    free(g);
    return exit_code;
}
