#!/usr/bin/env python3
"""it_share.py - the data-sharing trail (docs/RECORDS.md) on a real four-node consortium
through `qchain dataset` and the API: zibo publishes a dataset; taian and jinan request it;
zibo grants taian's request and denies jinan's; taian attests an access. Every refusal is
checked with the rules' sentence and exit 1 (a second publication of the name, a request by the
owner, of an unknown dataset, for a period already over; an answer by another city, a second
answer, a grant of an unknown request; an access before the grant, by another city, under a
denial, after the period); a replayed transaction is refused as already committed. Every node
shows the same catalogue, trail and open requests; blocks and transactions show the SHARE
fields; bad API input gets 400 or 404."""
import hashlib, json, signal

from cluster import CITIES, NearApiCluster, port_base

# 31000..31999 is this test's range: p2p at base+1.., APIs at base+500+1..
C = NearApiCluster("it_share", port_base(31000, 400), 500)
check, fail, qchain = C.check, C.fail, C.qchain
SCHEMA = hashlib.sha256(b"station,time,pm25\n").hexdigest()


def ds(sub, city, *args, ok=(0,)):
    """qchain dataset SUB ... --config CITY --json: the completed process."""
    extra = ("--wait-ms", "15000") if sub in ("publish", "request", "grant", "deny", "access") else ()
    return qchain("dataset", sub, *args, "--config", C.config(city), *extra, "--json", ok=ok)


def done(sub, city, *args):
    return json.loads(ds(sub, city, *args).stdout)


def refused(sub, city, args, sentence):
    r = ds(sub, city, *args, ok=(1,))
    check(sentence in r.stderr and "refused the transaction" in r.stderr,
          "dataset %s by %s refused with %r: %r" % (sub, city, sentence, r.stderr))


def api_ok(city, path):
    code, j = C.api(city, path)
    check(code == 200, "GET %s on %s: %s %r" % (path, city, code, j))
    return j


def main():
    C.make_testnet("it-share")
    C.start_all_and_link()
    (received,) = C.write_docs("pm25-extract", 1)

    # usage errors: exit 2
    r = qchain("dataset", "request", "ab" * 32, "--config", C.config("taian"), ok=(2,))
    check("--purpose is required" in r.stderr, "request without --purpose: usage error")

    p = done("publish", "zibo", "air-quality-daily", "--schema", SCHEMA, "--terms", "cite the source")
    D = p["tx_id"]
    check(p["op"] == "dataset", "zibo publishes: %r" % p)
    # committed at zibo; taian and jinan, which request it below, may apply it a moment later
    C.wait_height(["taian", "jinan"], p["height"])
    refused("publish", "zibo", ["air-quality-daily", "--schema", SCHEMA],
            'zibo already published a dataset named "air-quality-daily" (id %s)' % D)
    refused("request", "zibo", [D, "--purpose", "1"], "dataset %s is zibo's own" % D)
    refused("request", "taian", ["cd" * 32, "--purpose", "1"], "dataset %s does not exist" % ("cd" * 32))
    refused("request", "taian", [D, "--purpose", "1", "--from", "1", "--until", "1"],
            "the requested period ends at height 1, before this block")

    q1 = done("request", "taian", D, "--purpose", "2", "--text", "flood model", "--blocks", "500")
    q2 = done("request", "jinan", D, "--purpose", "1")
    R1, R2 = q1["tx_id"], q2["tx_id"]
    # committed at taian and jinan; liaocheng (read below) and zibo (answers below) may apply
    # them a moment later
    C.wait_height(["liaocheng", "zibo"], max(q1["height"], q2["height"]))
    to_zibo = api_ok("liaocheng", "/v1/cities/zibo/requests")
    check(sorted(x["id"] for x in to_zibo["to"]) == sorted([R1, R2]) and to_zibo["from"] == []
          and all(x["dataset_name"] == "air-quality-daily" and x["owner"] == "zibo" and x["state"] == "open"
                  for x in to_zibo["to"]), "two open requests to zibo: %r" % to_zibo)
    from_taian = api_ok("jinan", "/v1/cities/taian/requests")
    check([x["id"] for x in from_taian["from"]] == [R1] and from_taian["from"][0]["purpose_name"]
          == "planning and research", "one open request from taian: %r" % from_taian)
    mine = json.loads(ds("requests", "taian").stdout)
    check(mine["city"] == "taian" and [x["id"] for x in mine["from"]] == [R1],
          "qchain dataset requests defaults to the config's city: %r" % mine)

    refused("grant", "jinan", [R1], "request %s is for dataset %s of zibo; only its owner answers it" % (R1, D))
    refused("grant", "zibo", ["ef" * 32], "request %s does not exist" % ("ef" * 32))
    refused("access", "taian", [R1, "--file", received],
            "request %s is still open; access needs the owner's grant" % R1)

    g = done("grant", "zibo", R1)
    n = done("deny", "zibo", R2, "--reason", "3")
    # committed at zibo; jinan and taian, whose accesses follow, may apply them a moment later
    C.wait_height(["jinan", "taian"], max(g["height"], n["height"]))
    refused("grant", "zibo", [R1], "request %s was already granted at height %d; a request is answered once"
            % (R1, g["height"]))
    refused("deny", "zibo", [R2, "--reason", "1"], "request %s was already denied at height %d" % (R2, n["height"]))
    refused("access", "jinan", [R2, "--file", received], "request %s was denied at height %d" % (R2, n["height"]))
    refused("access", "jinan", [R1, "--file", received], "request %s was made by taian" % R1)

    a = done("access", "taian", R1, "--file", received)
    got = hashlib.sha256(open(received, "rb").read()).hexdigest()
    C.wait_for("every node at the access's block",
               lambda: all((C.status(c) or {}).get("height", 0) >= a["height"] for c in CITIES))
    for city in CITIES:
        t = api_ok(city, "/v1/datasets/" + D)
        check(t["owner"] == "zibo" and t["name"] == "air-quality-daily" and t["schema"] == SCHEMA
              and t["terms"] == "cite the source" and t["terms_digest"] is None
              and t["height"] == p["height"] and t["request_count"] == 2, "%s: the descriptor: %r" % (city, t))
        r1, r2 = t["requests"]
        check(r1["id"] == R1 and r1["requester"] == "taian" and r1["state"] == "granted"
              and r1["purpose_text"] == "flood model" and r1["until_height"] - r1["from_height"] == 499
              and r1["answer"] == {"height": g["height"], "tx_id": g["tx_id"]} and r1["access_count"] == 1
              and r1["accesses"] == [{"height": a["height"], "tx_id": a["tx_id"], "digest": got}],
              "%s: taian's request, granted, one access: %r" % (city, r1))
        check(r2["id"] == R2 and r2["state"] == "denied" and r2["answer"]["reason"] == 3
              and r2["answer"]["reason_name"] == "data not available" and r2["accesses"] == [],
              "%s: jinan's request, denied: %r" % (city, r2))
        check(api_ok(city, "/v1/cities/zibo/requests")["to"] == [], "%s: nothing open to zibo" % city)
        check(t["requests_next"] is None, "%s: the trail fits one page: %r" % (city, t["requests_next"]))
    page2 = api_ok("taian", "/v1/datasets/%s?from=1" % D)
    check([x["id"] for x in page2["requests"]] == [R2] and page2["requests_next"] is None,
          "the trail from its second request: %r" % page2["requests"])
    check(api_ok("taian", "/v1/datasets/%s?from=2" % D)["requests"] == [], "a page past the end is empty")

    # a period over: a grant for blocks h+1..h+2 leaves no block for an access after it
    q3 = done("request", "taian", D, "--purpose", "4", "--blocks", "2")
    C.wait_height("zibo", q3["height"])  # committed at taian; zibo grants it
    g3 = done("grant", "zibo", q3["tx_id"])
    C.wait_height("taian", g3["height"])  # committed at zibo; taian's access is refused by it
    refused("access", "taian", [q3["tx_id"], "--file", received],
            "request %s allows access in blocks" % q3["tx_id"])

    # a replayed transaction (taian's access, byte for byte) is refused as committed
    code, j = C.post_tx("jinan", a["signed"])
    check(code == 409 and "already committed" in j["error"]["message"], "replay refused: %s %r" % (code, j))

    # the catalogue pages; the CLI reads what the API serves
    bus = done("publish", "jinan", "bus-stops", "--schema", SCHEMA, "--terms-file", received)
    C.wait_height(["taian", "liaocheng"], bus["height"])  # committed at jinan; read at these below
    page = api_ok("taian", "/v1/datasets?limit=1")
    check(len(page["datasets"]) == 1 and isinstance(page["next"], str), "first page of one: %r" % page)
    rest = api_ok("taian", "/v1/datasets?limit=1&after=" + page["next"])
    both = page["datasets"] + rest["datasets"]
    check(rest["next"] is None and sorted(x["name"] for x in both) == ["air-quality-daily", "bus-stops"]
          and [x for x in both if x["name"] == "bus-stops"][0]["terms_digest"] == got,
          "second page ends the catalogue: %r" % rest)
    listing = json.loads(ds("list", "liaocheng").stdout)
    check(len(listing["datasets"]) == 2, "qchain dataset list: %r" % listing)
    shown = json.loads(ds("show", "liaocheng", D).stdout)
    check(shown["requests"][0]["id"] == R1, "qchain dataset show: %r" % shown["requests"][0])
    r = qchain("dataset", "show", D, "--config", C.config("liaocheng"))
    check("request %s by taian" % R1 in r.stdout and "granted" in r.stdout, "show prints the trail: %r" % r.stdout)

    # bad input to the API
    for path, want in [("/v1/datasets/zz", 400), ("/v1/datasets/" + "ab" * 32, 404),
                       ("/v1/cities/Not_A_City/requests", 400), ("/v1/datasets?limit=0", 400),
                       ("/v1/datasets?limit=1001", 400), ("/v1/datasets?after=xyz", 400),
                       ("/v1/datasets/%s?from=-1" % D, 400)]:
        code, j = C.api("zibo", path)
        check(code == want and "error" in j, "GET %s: %d expected, got %s %r" % (path, want, code, j))

    # the block and transaction views show the SHARE fields
    code, t = C.api("zibo", "/v1/transactions/" + a["tx_id"])
    check(code == 200 and t["type"] == "share" and t["op"] == "access" and t["request"] == R1
          and t["digest"] == got, "GET /v1/transactions shows the access: %r" % t)
    code, b = C.api("zibo", "/v1/blocks/%d" % p["height"])
    txs = [x for x in b["txs"] if x["tx_id"] == D]
    check(code == 200 and txs and txs[0]["type"] == "share" and txs[0]["op"] == "dataset"
          and txs[0]["city"] == "zibo" and txs[0]["name"] == "air-quality-daily",
          "GET /v1/blocks shows the publication: %r" % txs)
    code, t = C.api("zibo", "/v1/transactions/" + R2)
    check(t["op"] == "request" and t["dataset"] == D and t["purpose"] == 1
          and t["purpose_name"] == "public service", "GET /v1/transactions shows the request: %r" % t)
    metrics = C.metrics("jinan")
    check('qchain_share_committed_total{op="dataset"} 2' in metrics
          and 'qchain_share_committed_total{op="request"} 3' in metrics
          and 'qchain_share_committed_total{op="access"} 1' in metrics
          and 'qchain_mempool_rejected_total{reason="share"}' in metrics, "share metrics count commits")
    C.wait_agreement(CITIES)
    C.stop_and_pass()


if __name__ == "__main__":
    try:
        C.run(main)
    finally:
        C.stop_all(signal.SIGKILL)
