/* test_proposals.c - compact proposals on a live four-node consortium (docs/NETWORK.md
 * "Compact proposals"): the primary names the transactions by id, every backup rebuilds its
 * blocks from the gossip it holds and fetches no body; a backup that was down while a
 * transaction was gossiped lacks it, asks for that one alone, and commits the block. */
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

#define CHAIN "qchain-proposals"
#define SENT "qchain_proposals_compact_total{result=\"sent\"}"
#define REBUILT "qchain_proposals_compact_total{result=\"rebuilt\"}"
#define FETCHED "qchain_proposals_compact_total{result=\"fetched\"}"
#define COMPLETED "qchain_proposals_compact_total{result=\"completed\"}"

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

/* Signs a fresh ANCHOR by city 0 and POSTs it to node 0 (no wait). Its id in hex. */
static void submit(fx_t *fx, char hex[65]) {
    qc_txb_t b;
    qc_hash_t d;
    qc_tx_t tx;
    randombytes_buf(d.b, sizeof d.b);
    assert_int_equal(qc_txb_init(&b, CHAIN, &fx->pk, ++fx->nonce, 90000), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", "compact", NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &fx->sk, &tx), QC_OK);
    uint8_t *bytes;
    size_t len;
    assert_int_equal(qc_tx_encode(&tx, &bytes, &len), QC_OK);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/transactions",
             (unsigned)localnet_api_port(&fx->ln, 0));
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    localnet_body_t resp = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)bytes);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, localnet_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 202 && status != 200) fail_msg("submit: %ld %s", status, resp.data ? resp.data : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(resp.data);
    free(bytes);
    qc_hash_hex(hex, &tx.id);
    qc_tx_free(&tx);
}

/* Node 0 (view 0's primary) takes every transaction and gossips it before it proposes, on
 * the same links: each backup holds every transaction of each proposal, rebuilds it, and
 * asks for no body. */
static void test_backups_rebuild(void **state) {
    fx_t *fx = *state;
    char hex[20][65];
    for (int i = 0; i < 20; i++) {
        submit(fx, hex[i]);
        if (i % 5 == 4) usleep(50 * 1000); /* a few blocks, not one */
    }
    for (uint32_t node = 0; node < 4; node++)
        for (int i = 0; i < 20; i++) assert_true(localnet_tx_committed(&fx->ln, node, hex[i], 20000));
    assert_true(localnet_metric(&fx->ln, 0, SENT) >= 1);
    for (uint32_t node = 1; node < 4; node++) {
        assert_true(localnet_metric(&fx->ln, node, REBUILT) >= 1);
        assert_int_equal(localnet_metric(&fx->ln, node, FETCHED), 0);
        assert_int_equal(localnet_metric(&fx->ln, node, "qchain_body_requests_total"), 0);
    }
}

/* Nodes 2 and 3 down: node 0 gossips a transaction to node 1 alone, and without a quorum it
 * stays uncommitted. Node 3 comes back: the proposal that holds it names a transaction node 3
 * never saw, so node 3 asks for it, rebuilds the block, and the three of them commit it. */
static void test_missing_transaction_fetched(void **state) {
    fx_t *fx = *state;
    localnet_kill_node(&fx->ln, 2);
    localnet_kill_node(&fx->ln, 3);
    char hex[65];
    submit(fx, hex);
    assert_false(localnet_tx_committed(&fx->ln, 0, hex, 1500)); /* no quorum */
    assert_int_equal(localnet_start_node(&fx->ln, 3), QC_OK);
    if (!localnet_tx_committed(&fx->ln, 3, hex, 60000)) {
        localnet_print_logs(&fx->ln, 30);
        fail_msg("the transaction node 3 missed was not committed there");
    }
    assert_true(localnet_tx_committed(&fx->ln, 0, hex, 20000));
    assert_true(localnet_metric(&fx->ln, 3, FETCHED) >= 1);
    /* it asked for the one it lacked, and a reply holding that one whole completed the block */
    assert_true(localnet_metric(&fx->ln, 3, COMPLETED) >= 1);
    assert_true(localnet_metric(&fx->ln, 3, "qchain_body_requests_total") >= 1);
    assert_int_equal(localnet_start_node(&fx->ln, 2), QC_OK); /* teardown stops all four */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backups_rebuild),
        cmocka_unit_test(test_missing_transaction_fetched),
    };
    return cmocka_run_group_tests_name("proposals", tests, setup, teardown);
}
