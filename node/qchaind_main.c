/* qchaind_main.c - the city node daemon: `qchaind --config FILE`. Runs until SIGINT/SIGTERM,
 * then stops cleanly (every committed block is already durable). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "api.h"

static const char usage[] =
    "Usage: qchaind --config FILE\n"
    "Runs one city's qchain node: peer links, consensus, ledger and API.\n"
    "  -c, --config FILE   node configuration (docs/CONFIG.md)\n"
    "  -h, --help          show this help\n"
    "Exit status: 0 after a clean stop on SIGINT/SIGTERM, 1 if the node could not start.\n";

typedef struct {
    node_t *node;
    api_t *api;
    bool api_on;
    bool stopping;
} daemon_t;

static void on_node_stopped(node_t *n) { (void)n; }

/* File descriptors kept free for the ledger, record log, peer links and listeners beside the
 * API's connections. */
#define OPEN_FILES_RESERVE 256u

/* Raises the soft limit on open files as far as the hard limit allows: the API alone may hold
 * api.max_connections sockets (1024 by default, also a common soft limit), and a flood that
 * exhausts descriptors would make accept fail (and new clients see resets) and could starve
 * the ledger of files. Warns once if the limit stays below what the config needs. */
static void raise_open_files_limit(const node_t *n) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)n->cfg.api.max_connections + OPEN_FILES_RESERVE;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) != 0) { /* e.g. an infinite hard limit over nr_open */
            up.rlim_cur = want;
            if (setrlimit(RLIMIT_NOFILE, &up) != 0) up.rlim_cur = rl.rlim_cur;
        }
        rl.rlim_cur = up.rlim_cur;
    }
    if (n->cfg.api.enabled && rl.rlim_cur < want) {
        QC_WARN("open files limit %llu is below api.max_connections + %u; raise it (ulimit -n) "
                "or lower api.max_connections", (unsigned long long)rl.rlim_cur,
                OPEN_FILES_RESERVE);
    }
}

static void on_api_stopped(void *user) {
    daemon_t *d = user;
    node_stop(d->node, on_node_stopped);
}

static void on_signal(uv_signal_t *s, int signum) {
    daemon_t *d = s->data;
    if (d->stopping) return;
    d->stopping = true;
    QC_INFO("signal %d: stopping", signum);
    uv_signal_stop(s);
    if (d->api_on) api_stop(d->api, on_api_stopped, d);
    else node_stop(d->node, on_node_stopped);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *config = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') config = optarg;
        else if (c == 'h') { fputs(usage, stdout); return 0; }
        else { fputs(usage, stderr); return 2; }
    }
    if (config == NULL || optind != argc) { fputs(usage, stderr); return 2; }
    /* A peer that vanishes (an HTTP client's RST, a dropped peer link, a closed log pipe) makes
     * a write fail with EPIPE; by default the kernel also sends SIGPIPE, which would end the
     * whole node silently (status 141). Ignored, the error reaches the writer, which closes
     * just that connection. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    node_t *n = calloc(1, sizeof *n);
    if (n == NULL) return 1;
    char why[512];
    if (node_start(n, loop, config, why, sizeof why) != QC_OK) {
        fprintf(stderr, "qchaind: %s\n", why);
        free(n);
        return 1;
    }
    raise_open_files_limit(n);
    daemon_t d = {n, calloc(1, sizeof(api_t)), false, false};
    if (d.api == NULL) return 1;
    if (n->cfg.api.enabled) {
        if (api_start(d.api, n, why, sizeof why) != QC_OK) {
            fprintf(stderr, "qchaind: %s\n", why);
            node_stop(n, on_node_stopped);
            uv_run(loop, UV_RUN_DEFAULT);
            free(d.api);
            free(n);
            return 1;
        }
        d.api_on = true;
    }
    uv_signal_t sigint, sigterm;
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigterm);
    sigint.data = sigterm.data = &d;
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&sigint);
    uv_unref((uv_handle_t *)&sigterm);
    uv_run(loop, UV_RUN_DEFAULT); /* ends when the node and API have closed every handle */
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    QC_INFO("stopped");
    qc_log_set_tag(NULL); /* the tag is borrowed from n's config */
    free(d.api);
    free(n);
    return 0;
}
