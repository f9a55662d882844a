/* bench_http.c - requests/s of the HTTP server for a trivial JSON GET handler over loopback
 * keep-alive: the server runs on this thread's libuv loop, a client thread drives it with
 * blocking sockets (one request at a time, then 16 pipelined), counting complete responses
 * with llhttp. Bounded: a fixed number of requests per run and a 20 s cap overall. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "http.h"
#include "qc.h"

#define REQUESTS 40000
#define PIPELINE 16
#define MAX_SECONDS 20.0

typedef struct {
    uint16_t port;
    uv_async_t done;
    double seconds[2];
    size_t completed[2];
    int error;
} bench_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void h_status(http_req_t *req, http_res_t *res, void *data) {
    (void)req;
    (void)data;
    http_respond_json(res, 200, json_pack("{s:s,s:i}", "status", "ok", "height", 12345));
}

static int on_complete(llhttp_t *p) {
    (*(size_t *)p->data)++;
    return 0;
}

/* Sends REQUESTS requests in batches of depth and reads until each batch is answered.
 * Returns the responses counted, or 0 on a socket or parse error. */
static size_t run_client(uint16_t port, int depth, double *seconds) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (fd >= 0) close(fd);
        return 0;
    }
    static const char one_req[] = "GET /v1/status HTTP/1.1\r\nHost: bench\r\n\r\n";
    char batch[PIPELINE * sizeof one_req];
    for (int i = 0; i < depth; i++) memcpy(batch + i * (sizeof one_req - 1), one_req, sizeof one_req - 1);
    size_t batch_len = (size_t)depth * (sizeof one_req - 1);
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_message_complete = on_complete;
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &settings);
    size_t done = 0;
    p.data = &done;
    char buf[65536];
    double t0 = now_s();
    while (done < REQUESTS && now_s() - t0 < MAX_SECONDS) {
        size_t target = done + (size_t)depth;
        if (write(fd, batch, batch_len) != (ssize_t)batch_len) break;
        while (done < target) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0 || llhttp_execute(&p, buf, (size_t)n) != HPE_OK) {
                close(fd);
                return 0;
            }
        }
    }
    *seconds = now_s() - t0;
    close(fd);
    return done;
}

static void *client_main(void *arg) {
    bench_t *b = arg;
    b->completed[0] = run_client(b->port, 1, &b->seconds[0]);
    b->completed[1] = run_client(b->port, PIPELINE, &b->seconds[1]);
    uv_async_send(&b->done); /* the only cross-thread call: libuv documents it thread-safe */
    return NULL;
}

static void on_done(uv_async_t *a) {
    http_server_t *s = a->data;
    uv_close((uv_handle_t *)a, NULL);
    http_server_close(s, NULL);
}

int main(void) {
    uv_loop_t loop;
    http_server_t server;
    bench_t b;
    memset(&b, 0, sizeof b);
    qc_log_set_level(QC_LOG_ERROR);
    if (uv_loop_init(&loop) != 0 || http_server_init(&server, &loop, NULL) != QC_OK ||
        http_route(&server, "GET", "/v1/status", h_status, NULL) != QC_OK ||
        http_server_listen(&server, "127.0.0.1", 0) != QC_OK) {
        fprintf(stderr, "bench_http: cannot start the server\n");
        return 1;
    }
    b.port = http_server_port(&server);
    uv_async_init(&loop, &b.done, on_done);
    b.done.data = &server;
    pthread_t th;
    if (pthread_create(&th, NULL, client_main, &b) != 0) return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv_loop_close(&loop);
    static const char *const names[2] = {"sequential", "pipelined x16"};
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        if (b.completed[i] == 0) {
            printf("http GET /v1/status %-14s FAILED\n", names[i]);
            rc = 1;
            continue;
        }
        printf("http GET /v1/status (JSON, keep-alive, 1 connection) %-14s %6zu requests in "
               "%.2f s = %8.0f req/s\n",
               names[i], b.completed[i], b.seconds[i], (double)b.completed[i] / b.seconds[i]);
    }
    return rc;
}
