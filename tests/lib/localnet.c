/* localnet.c - a local consortium of real qchaind processes (see localnet.h). */
#include "localnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "keys.h"
#include "tmpdir.h"

#define PORT_LOW 21000
#define PORT_SPAN 30000
#define PORT_TRIES 50
#define STOP_GRACE_MS 5000

/* Every node any localnet started, for localnet_kill_all_async. Written only outside signal
 * handlers; read inside them (sig_atomic_t-sized writes of pid_t on Linux). */
static volatile pid_t all_pids[4 * QC_VALIDATORS_MAX];

static void registry_set(pid_t old, pid_t new_pid) {
    for (size_t i = 0; i < sizeof all_pids / sizeof all_pids[0]; i++) {
        if (all_pids[i] == old) { all_pids[i] = new_pid; return; }
    }
}

void localnet_kill_all_async(void) {
    for (size_t i = 0; i < sizeof all_pids / sizeof all_pids[0]; i++)
        if (all_pids[i] > 0) kill(all_pids[i], SIGKILL);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int localnet_bin_dir(char *out, size_t cap) {
    char exe[LOCALNET_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return QC_ERR_IO;
    exe[n] = '\0';
    char *parent = dirname(dirname(exe)); /* BUILD/bench/bench_x -> BUILD */
    int w = snprintf(out, cap, "%s/bin", parent);
    return w > 0 && (size_t)w < cap ? QC_OK : QC_ERR_TOOBIG;
}

static bool port_free(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static bool ports_free(uint16_t base, uint16_t api_base, uint32_t n) {
    for (uint32_t i = 1; i <= n; i++)
        if (!port_free((uint16_t)(base + i)) || !port_free((uint16_t)(api_base + i))) return false;
    return true;
}

/* A base port with base+1..base+n and the API ports api_base+1..api_base+n free now: inside
 * QC_LOCALNET_PORTS=LOW-HIGH when set (API at base+20), else in 21000..51000 (API at +1000). */
static uint16_t pick_base_port(uint32_t n, uint16_t *api_base) {
    unsigned low = PORT_LOW, high = PORT_LOW + PORT_SPAN, api_offset = 1000;
    const char *env = getenv("QC_LOCALNET_PORTS");
    if (env && sscanf(env, "%u-%u", &low, &high) == 2 && low < high && high <= 65535) {
        api_offset = 20;
        if (high - low < 2 * api_offset) return 0;
        high -= 2 * api_offset;
    }
    for (int t = 0; t < PORT_TRIES; t++) {
        uint16_t base = (uint16_t)(low + randombytes_uniform((high - low) / 10) * 10);
        *api_base = (uint16_t)(base + api_offset);
        if (ports_free(base, *api_base, n)) return base;
    }
    return 0;
}

/* Runs argv (argv[0] a path) to completion with stdout and stderr appended to log_path;
 * returns its exit status, or -1. */
static int run_wait(char *const argv[], const char *log_path) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int localnet_create(localnet_t *ln, const char *bin_dir, uint32_t n, const char *chain_id) {
    memset(ln, 0, sizeof *ln);
    QC_ASSERT(n >= 1 && n <= QC_VALIDATORS_MAX);
    ln->n = n;
    snprintf(ln->bin_dir, sizeof ln->bin_dir, "%s", bin_dir);
    if (tmpdir_make(ln->dir, sizeof ln->dir, "localnet") != 0) return QC_ERR_IO;
    int rc = QC_ERR_IO;
    ln->base_port = pick_base_port(n, &ln->api_base_port);
    ln->genesis = calloc(1, sizeof *ln->genesis);
    if (ln->base_port == 0 || ln->genesis == NULL) goto fail;
    char qchain[LOCALNET_PATH_MAX + 16], cities[16], port[16], api_port[16];
    char log[LOCALNET_PATH_MAX + 32];
    snprintf(qchain, sizeof qchain, "%s/qchain", bin_dir);
    snprintf(cities, sizeof cities, "%u", n);
    snprintf(port, sizeof port, "%u", ln->base_port);
    snprintf(api_port, sizeof api_port, "%u", ln->api_base_port);
    snprintf(log, sizeof log, "%s/testnet.log", ln->dir);
    char *argv[] = {qchain, "testnet", "--out", ln->dir, "--cities", cities, "--base-port", port,
                    "--api-base-port", api_port, "--chain-id", (char *)chain_id, NULL};
    if (run_wait(argv, log) != 0) {
        fprintf(stderr, "localnet: %s testnet failed (see %s)\n", qchain, log);
        goto fail;
    }
    char path[LOCALNET_PATH_MAX + 32], why[256] = "";
    snprintf(path, sizeof path, "%s/genesis.json", ln->dir);
    rc = genesis_load(path, ln->genesis, why, sizeof why);
    if (rc == QC_OK && ln->genesis->validators.n != n) rc = QC_ERR_INVALID;
    if (rc == QC_OK) return QC_OK;
    fprintf(stderr, "localnet: %s\n", why);
fail:
    free(ln->genesis);
    ln->genesis = NULL;
    tmpdir_remove(ln->dir);
    return rc;
}

static const char *city(const localnet_t *ln, uint32_t i) {
    return ln->genesis->validators.members[i].name;
}

int localnet_config_u32(localnet_t *ln, const char *section, const char *key, uint32_t value) {
    for (uint32_t i = 0; i < ln->n; i++) {
        char cfg[LOCALNET_PATH_MAX + 64];
        snprintf(cfg, sizeof cfg, "%s/%s/node.json", ln->dir, city(ln, i));
        json_t *root = json_load_file(cfg, 0, NULL), *sec = root ? json_object_get(root, section) : NULL;
        if (root && sec == NULL) {
            sec = json_object();
            json_object_set_new(root, section, sec);
        }
        int rc = sec && json_object_set_new(sec, key, json_integer(value)) == 0 &&
                         json_dump_file(root, cfg, JSON_INDENT(2)) == 0 ? QC_OK : QC_ERR_IO;
        json_decref(root);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

/* Execs qchaind for node i, under the command in QC_LOCALNET_WRAP (words split on spaces,
 * e.g. "valgrind --tool=callgrind") when i is QC_LOCALNET_WRAP_NODE (default 0): profiling. */
static void exec_node(char *daemon, char *cfg, uint32_t i) {
    char *argv[32];
    int k = 0;
    const char *wrap = getenv("QC_LOCALNET_WRAP"), *which = getenv("QC_LOCALNET_WRAP_NODE");
    char words[512];
    if (wrap && (which ? (uint32_t)atoi(which) : 0) == i) {
        snprintf(words, sizeof words, "%s", wrap);
        for (char *save = NULL, *w = strtok_r(words, " ", &save); w && k < 28; w = strtok_r(NULL, " ", &save))
            argv[k++] = w;
    }
    argv[k++] = daemon;
    argv[k++] = "--config";
    argv[k++] = cfg;
    argv[k] = NULL;
    execvp(argv[0], argv);
}

int localnet_start_node(localnet_t *ln, uint32_t i) {
    QC_ASSERT(i < ln->n && ln->pids[i] <= 0);
    char daemon[LOCALNET_PATH_MAX + 16], cfg[LOCALNET_PATH_MAX + 64], log[LOCALNET_PATH_MAX + 64];
    snprintf(daemon, sizeof daemon, "%s/qchaind", ln->bin_dir);
    snprintf(cfg, sizeof cfg, "%s/%s/node.json", ln->dir, city(ln, i));
    snprintf(log, sizeof log, "%s/%s.log", ln->dir, city(ln, i));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return QC_ERR_IO;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
        if (getppid() != parent) _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        exec_node(daemon, cfg, i);
        _exit(127);
    }
    ln->pids[i] = pid;
    registry_set(0, pid);
    return QC_OK;
}

void localnet_kill_node(localnet_t *ln, uint32_t i) {
    QC_ASSERT(i < ln->n);
    if (ln->pids[i] <= 0) return;
    kill(ln->pids[i], SIGKILL);
    waitpid(ln->pids[i], NULL, 0);
    registry_set(ln->pids[i], 0);
    ln->pids[i] = 0;
}

int localnet_start(localnet_t *ln) {
    for (uint32_t i = 0; i < ln->n; i++) {
        int rc = localnet_start_node(ln, i);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

void localnet_data_dir(const localnet_t *ln, uint32_t i, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s/data", ln->dir, city(ln, i));
}

/* Reaps node i if it has exited; true if it is still running. */
static bool alive(localnet_t *ln, uint32_t i) {
    if (ln->pids[i] <= 0) return false;
    int st;
    if (waitpid(ln->pids[i], &st, WNOHANG) == 0) return true;
    registry_set(ln->pids[i], 0);
    ln->pids[i] = 0;
    return false;
}

int localnet_wait_up(localnet_t *ln, uint32_t timeout_ms) {
    uint64_t deadline = mono_ms() + timeout_ms;
    while (mono_ms() < deadline) {
        uint32_t up = 0;
        for (uint32_t i = 0; i < ln->n; i++) {
            if (!alive(ln, i)) {
                fprintf(stderr, "localnet: %s exited\n", city(ln, i));
                return QC_ERR_IO;
            }
            json_t *s = localnet_status(ln, i);
            if (s && json_integer_value(json_object_get(s, "peers_up")) == (json_int_t)ln->n - 1) up++;
            json_decref(s);
        }
        if (up == ln->n) return QC_OK;
        sleep_ms(100);
    }
    return QC_ERR_TIMEOUT;
}

void localnet_stop(localnet_t *ln) {
    for (uint32_t i = 0; i < ln->n; i++)
        if (alive(ln, i)) kill(ln->pids[i], SIGTERM);
    uint64_t deadline = mono_ms() + STOP_GRACE_MS;
    for (uint32_t i = 0; i < ln->n; i++) {
        while (alive(ln, i) && mono_ms() < deadline) sleep_ms(10);
        if (alive(ln, i)) {
            kill(ln->pids[i], SIGKILL);
            waitpid(ln->pids[i], NULL, 0);
            registry_set(ln->pids[i], 0);
            ln->pids[i] = 0;
        }
    }
}

void localnet_destroy(localnet_t *ln) {
    if (ln->genesis == NULL) return;
    localnet_stop(ln);
    tmpdir_remove(ln->dir);
    free(ln->genesis);
    ln->genesis = NULL;
}

uint16_t localnet_api_port(const localnet_t *ln, uint32_t i) {
    return (uint16_t)(ln->api_base_port + 1 + i);
}

static int load_key(const localnet_t *ln, uint32_t i, const char *file, keys_role_t role,
                    qc_pubkey_t *pk, qc_seckey_t *sk) {
    char path[LOCALNET_PATH_MAX + 64], why[256];
    snprintf(path, sizeof path, "%s/%s/keys/%s", ln->dir, city(ln, i), file);
    keys_pair_t kp;
    int rc = keys_load_secret(path, NULL, role, &kp, why, sizeof why);
    if (rc != QC_OK) { fprintf(stderr, "localnet: %s\n", why); return rc; }
    *pk = kp.pk;
    *sk = kp.sk;
    keys_pair_wipe(&kp);
    return QC_OK;
}

int localnet_seal_key(const localnet_t *ln, uint32_t i, qc_pubkey_t *pk, qc_seckey_t *sk) {
    return load_key(ln, i, "seal.key", KEYS_ROLE_SEAL, pk, sk);
}

int localnet_node_key(const localnet_t *ln, uint32_t i, qc_pubkey_t *pk, qc_seckey_t *sk) {
    return load_key(ln, i, "node.key", KEYS_ROLE_NODE, pk, sk);
}

size_t localnet_body_cb(char *p, size_t size, size_t nmemb, void *user) {
    localnet_body_t *b = user;
    size_t n = size * nmemb;
    char *d = realloc(b->data, b->len + n + 1);
    if (d == NULL) return 0;
    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
    d[b->len] = '\0';
    return n;
}

int localnet_get(const localnet_t *ln, uint32_t i, const char *path, long *status, char **body,
                 size_t *len) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", localnet_api_port(ln, i), path);
    CURL *h = curl_easy_init();
    if (h == NULL) return QC_ERR_NOMEM;
    localnet_body_t b = {NULL, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, localnet_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK || b.data == NULL) { free(b.data); return QC_ERR_IO; }
    *body = b.data;
    if (len) *len = b.len;
    return QC_OK;
}

json_t *localnet_status(const localnet_t *ln, uint32_t i) {
    long code = 0;
    char *body = NULL;
    if (localnet_get(ln, i, "/v1/status", &code, &body, NULL) != QC_OK) return NULL;
    json_t *j = code == 200 ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

long long localnet_metric(const localnet_t *ln, uint32_t i, const char *sample) {
    long status = 0;
    char *body = NULL;
    if (localnet_get(ln, i, "/metrics", &status, &body, NULL) != QC_OK) return -1;
    long long v = -1;
    size_t n = strlen(sample);
    for (const char *line = body; status == 200 && line && *line;) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ') { v = atoll(line + n + 1); break; }
        line = strchr(line, '\n');
        if (line) line++;
    }
    free(body);
    return v;
}

bool localnet_tx_committed(const localnet_t *ln, uint32_t i, const char *id_hex,
                           uint32_t timeout_ms) {
    char path[160];
    snprintf(path, sizeof path, "/v1/transactions/%s?wait_ms=2000", id_hex);
    uint64_t deadline = mono_ms() + timeout_ms;
    while (mono_ms() < deadline) {
        long status = 0;
        char *body = NULL;
        bool ok = localnet_get(ln, i, path, &status, &body, NULL) == QC_OK && status == 200 &&
                  strstr(body, "\"committed\"") != NULL;
        free(body);
        if (ok) return true;
        if (status != 200) usleep(200 * 1000);
    }
    return false;
}

void localnet_print_logs(const localnet_t *ln, int lines) {
    for (uint32_t i = 0; i < ln->n; i++) {
        char cmd[LOCALNET_PATH_MAX + 128];
        fprintf(stderr, "---- %s (last %d lines)\n", city(ln, i), lines);
        snprintf(cmd, sizeof cmd, "tail -n %d '%s/%s.log' >&2", lines, ln->dir, city(ln, i));
        if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
    }
}
