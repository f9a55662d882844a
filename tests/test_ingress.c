/* test_ingress.c - batched ingress (docs/API.md "POST /v1/transactions", issue 14): many signed
 * transactions in one request, as a JSON array and as a SignedTxBatch protobuf, against a live
 * four-node consortium on loopback (tests/lib/localnet.c). Each is answered on its own, in order:
 * good ones pending then committed, a bad signature, a duplicate and a malformed entry rejected
 * alone with their reasons; the limits (empty, too many, wait_ms) refuse the whole request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "fmt.h"
#include "localnet.h"
#include "qc.h"
#include "qchain.pb-c.h"

#define CHAIN "qchain-ingress"
#define EXPIRY_HEIGHT 90000u
#define WORKERS 3u

typedef struct {
    localnet_t ln;
    qc_pubkey_t pk;
    qc_seckey_t sk;
    uint64_t nonce;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char bin[LOCALNET_PATH_MAX];
    assert_non_null(fx);
    assert_int_equal(qc_crypto_init(), QC_OK);
    assert_int_equal(localnet_bin_dir(bin, sizeof bin), QC_OK);
    assert_int_equal(localnet_create(&fx->ln, bin, 4, CHAIN), QC_OK);
    /* more threads than this machine may have cores: the pool's paths run everywhere */
    assert_int_equal(localnet_config_u32(&fx->ln, "verify", "workers", WORKERS), QC_OK);
    if (localnet_start(&fx->ln) != QC_OK || localnet_wait_up(&fx->ln, 20000) != QC_OK) {
        localnet_print_logs(&fx->ln, 20);
        fail_msg("the consortium did not come up");
    }
    assert_int_equal(localnet_seal_key(&fx->ln, 0, &fx->pk, &fx->sk), QC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    localnet_stop(&fx->ln);
    localnet_destroy(&fx->ln);
    free(fx);
    return 0;
}

/* A fresh ANCHOR of one random digest by city 0, signed. */
static void make_tx(fx_t *fx, qc_tx_t *tx) {
    qc_txb_t b;
    qc_hash_t d;
    randombytes_buf(d.b, sizeof d.b);
    assert_int_equal(qc_txb_init(&b, CHAIN, &fx->pk, ++fx->nonce, EXPIRY_HEIGHT), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", "batch", NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &fx->sk, tx), QC_OK);
}

static json_t *tx_json(const qc_tx_t *tx) {
    char *body = malloc(tx->body_len * 2 + 1), sig[129];
    assert_non_null(body);
    qc_hex_encode(body, tx->body, tx->body_len);
    qc_hex_encode(sig, tx->sig.b, 64);
    json_t *j = json_pack("{s:s, s:s}", "body", body, "sig", sig);
    free(body);
    return j;
}

/* POSTs body to node 0's /v1/transactions (with query q): the status, and the parsed JSON. */
static long post(fx_t *fx, const char *q, const char *ctype, const void *body, size_t len,
                 json_t **out) {
    char url[128], hdr[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/transactions%s",
             (unsigned)localnet_api_port(&fx->ln, 0), q);
    snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    localnet_body_t resp = {0};
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, localnet_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    *out = json_loads(resp.data ? resp.data : "", 0, NULL);
    free(resp.data);
    return status;
}

static long post_json(fx_t *fx, const char *q, json_t *arr, json_t **out) {
    char *text = json_dumps(arr, JSON_COMPACT);
    assert_non_null(text);
    long st = post(fx, q, "application/json", text, strlen(text), out);
    free(text);
    return st;
}

/* Waits up to 20 s for the commit of tx id on node i: true if committed (else the nodes' logs
 * are printed). */
static bool committed(fx_t *fx, uint32_t i, const char *id_hex) {
    bool ok = localnet_tx_committed(&fx->ln, i, id_hex, 20000);
    if (!ok) localnet_print_logs(&fx->ln, 60); /* why, before the scratch directory goes */
    return ok;
}

static const char *field(json_t *results, size_t i, const char *key) {
    return json_string_value(json_object_get(json_array_get(results, i), key));
}

static void test_json_batch(void **state) {
    fx_t *fx = *state;
    qc_tx_t good[3], bad;
    for (int i = 0; i < 3; i++) make_tx(fx, &good[i]);
    make_tx(fx, &bad);
    bad.sig.b[10] ^= 1; /* a flipped signature byte */
    json_t *arr = json_array();
    for (int i = 0; i < 3; i++) json_array_append_new(arr, tx_json(&good[i]));
    json_array_append_new(arr, tx_json(&bad));
    json_array_append_new(arr, tx_json(&good[1]));                       /* again: duplicate */
    json_array_append_new(arr, json_pack("{s:s, s:s}", "body", "zz", "sig", "00")); /* malformed */
    json_t *r = NULL;
    assert_int_equal(post_json(fx, "", arr, &r), 200);
    json_decref(arr);
    assert_non_null(r);
    json_t *results = json_object_get(r, "results");
    assert_int_equal(json_array_size(results), 6);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "rejected")), 3);
    char hex[65];
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(field(results, i, "status"), "pending");
        assert_string_equal(field(results, i, "tx_id"), qc_hash_hex(hex, &good[i].id));
    }
    assert_string_equal(field(results, 3, "status"), "rejected");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(results, 3), "http")), 400);
    assert_non_null(strstr(field(results, 3, "error"), "signature"));
    assert_string_equal(field(results, 4, "status"), "rejected");
    assert_string_equal(field(results, 4, "tx_id"), qc_hash_hex(hex, &good[1].id));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(results, 4), "http")), 409);
    assert_string_equal(field(results, 5, "status"), "rejected");
    assert_true(json_is_null(json_object_get(json_array_get(results, 5), "tx_id")));
    json_decref(r);
    for (int i = 0; i < 3; i++) {
        assert_true(committed(fx, 0, qc_hash_hex(hex, &good[i].id)));
        assert_true(committed(fx, 2, hex)); /* gossiped: every node has it */
        qc_tx_free(&good[i]);
    }
    qc_tx_free(&bad);
}

static long long metric(fx_t *fx, uint32_t i, const char *sample) {
    return localnet_metric(&fx->ln, i, sample);
}

#define ADMITTED "qchain_tx_signatures_verified_total{stage=\"admission\"}"
#define PROPOSED "qchain_tx_signatures_verified_total{stage=\"proposal\"}"

/* A batch of 300 whose signatures node 0 verifies on WORKERS threads: every broken one (at
 * 0, 17, 150 and 299) refused for its signature, the others pending, answers in order; node 0
 * verified each once, and each peer each good one on its own pool when it arrived. */
static void test_verified_on_threads(void **state) {
    fx_t *fx = *state;
    enum { N = 300 };
    static const int broken[] = {0, 17, 150, 299};
    assert_int_equal(metric(fx, 0, "qchain_verify_workers"), WORKERS);
    long long before[4], before_prop[4];
    for (uint32_t i = 0; i < 4; i++) {
        before[i] = metric(fx, i, ADMITTED);
        before_prop[i] = metric(fx, i, PROPOSED);
    }
    qc_tx_t *txs = calloc(N, sizeof *txs);
    assert_non_null(txs);
    json_t *arr = json_array();
    for (int i = 0; i < N; i++) {
        make_tx(fx, &txs[i]);
        for (size_t b = 0; b < sizeof broken / sizeof *broken; b++)
            if (broken[b] == i) txs[i].sig.b[i % 64] ^= 4;
        json_array_append_new(arr, tx_json(&txs[i]));
    }
    json_t *r = NULL;
    assert_int_equal(post_json(fx, "", arr, &r), 200);
    json_decref(arr);
    json_t *results = json_object_get(r, "results");
    assert_int_equal(json_array_size(results), N);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), N - 4);
    char hex[65];
    for (int i = 0, b = 0; i < N; i++) {
        assert_string_equal(field(results, (size_t)i, "tx_id"), qc_hash_hex(hex, &txs[i].id));
        if (b < 4 && broken[b] == i) {
            assert_string_equal(field(results, (size_t)i, "status"), "rejected");
            assert_string_equal(field(results, (size_t)i, "error"), "signature does not verify");
            b++;
        } else {
            assert_string_equal(field(results, (size_t)i, "status"), "pending");
        }
    }
    json_decref(r);
    assert_int_equal(metric(fx, 0, ADMITTED) - before[0], N);
    assert_true(committed(fx, 0, qc_hash_hex(hex, &txs[N - 2].id)));
    for (uint32_t i = 1; i < 4; i++) {
        /* Each good one verified once on its way in: by the gossip's admission, or in the
         * proposal when the block came first (the primary's link can beat node 0's gossip). */
        assert_true(committed(fx, i, qc_hash_hex(hex, &txs[N - 2].id)));
        long long adm = 0, prop = 0;
        for (int tries = 0; tries < 100; tries++, usleep(100 * 1000)) {
            adm = metric(fx, i, ADMITTED) - before[i];
            prop = metric(fx, i, PROPOSED) - before_prop[i];
            if (adm + prop >= N - 4) break;
        }
        assert_true(adm + prop >= N - 4);
        assert_true(adm <= N - 4);
        assert_int_equal(metric(fx, i, "qchain_verify_workers"), WORKERS);
    }
    for (int i = 0; i < N; i++) qc_tx_free(&txs[i]);
    free(txs);
}

static void test_protobuf_batch(void **state) {
    fx_t *fx = *state;
    qc_tx_t txs[2];
    Qchain__SignedTx m[2], *mp[2];
    for (int i = 0; i < 2; i++) {
        make_tx(fx, &txs[i]);
        qchain__signed_tx__init(&m[i]);
        m[i].body.data = txs[i].body;
        m[i].body.len = txs[i].body_len;
        m[i].sig.data = txs[i].sig.b;
        m[i].sig.len = 64;
        mp[i] = &m[i];
    }
    Qchain__SignedTxBatch batch = QCHAIN__SIGNED_TX_BATCH__INIT;
    batch.n_txs = 2;
    batch.txs = mp;
    size_t len = qchain__signed_tx_batch__get_packed_size(&batch);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    qchain__signed_tx_batch__pack(&batch, buf);
    json_t *r = NULL;
    assert_int_equal(post(fx, "", "application/x-protobuf; proto=qchain.SignedTxBatch", buf, len, &r),
                     200);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 2);
    char hex[65];
    json_t *results = json_object_get(r, "results");
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(field(results, i, "tx_id"), qc_hash_hex(hex, &txs[i].id));
        assert_true(committed(fx, 0, hex));
        assert_true(committed(fx, 1, hex));
    }
    json_decref(r);
    /* A body that is no SignedTxBatch is refused whole. */
    assert_int_equal(post(fx, "", "application/x-protobuf; proto=qchain.SignedTxBatch", "\xff\xff", 2,
                          &r), 400);
    json_decref(r);
    free(buf);
    for (int i = 0; i < 2; i++) qc_tx_free(&txs[i]);
}

static void test_limits(void **state) {
    fx_t *fx = *state;
    json_t *r = NULL, *arr = json_array();
    assert_int_equal(post_json(fx, "", arr, &r), 400); /* empty */
    json_decref(r);
    qc_tx_t tx;
    make_tx(fx, &tx);
    json_array_append_new(arr, tx_json(&tx));
    assert_int_equal(post_json(fx, "?wait_ms=1000", arr, &r), 400); /* wait_ms is for one tx */
    const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "wait_ms"));
    json_decref(r);
    for (int i = 0; i < 1024; i++) json_array_append(arr, json_array_get(arr, 0));
    assert_int_equal(post_json(fx, "", arr, &r), 400); /* 1025 entries */
    json_decref(r);
    json_decref(arr);
    /* One transaction as before: an object, not a batch. */
    json_t *one = tx_json(&tx);
    assert_int_equal(post_json(fx, "?wait_ms=15000", one, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "committed");
    json_decref(r);
    json_decref(one);
    qc_tx_free(&tx);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_batch),
        cmocka_unit_test(test_verified_on_threads),
        cmocka_unit_test(test_protobuf_batch),
        cmocka_unit_test(test_limits),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
