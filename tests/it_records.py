#!/usr/bin/env python3
"""it_records.py - the record lifecycle (docs/RECORDS.md) on a real four-node consortium through
the qchain CLI and the API: jinan anchors a record, zibo and taian endorse it; zibo's second
endorsement, zibo's revocation of jinan's record, and jinan's supersession with an unanchored
record are refused with the rules' sentence and exit 1; jinan anchors the new record and
supersedes the old one, whose status then says "superseded by D at height H" on every node;
jinan revokes the new record with reason 1, after which endorsing it is refused; a replayed
transaction is refused as already committed. Blocks and transactions show the new types.
Every node serves jinan's city log (PROTOCOL §13) with the same events in order, verified
offline by `qchain city-log`; a digest zibo endorsed but never anchored is proven not anchored
by zibo; a kept proof with an event removed is refused; the API refuses bad ranges."""
import hashlib, json, os, signal

from cluster import CITIES, NearApiCluster, port_base

# 29000..29999 is this test's range: p2p at base+1.., APIs at base+500+1..
C = NearApiCluster("it_records", port_base(29000, 400), 500)
check, fail, qchain = C.check, C.fail, C.qchain


def life(cmd, city, *args, ok=(0,)):
    """qchain CMD ... --config CITY --json: the completed process."""
    return qchain(cmd, *args, "--config", C.config(city), "--wait-ms", "15000", "--json", ok=ok)


def refused(cmd, city, args, sentence):
    r = life(cmd, city, *args, ok=(1,))
    check(sentence in r.stderr and "refused the transaction" in r.stderr,
          "%s by %s refused with %r: %r" % (cmd, city, sentence, r.stderr))


def record(city, digest):
    code, j = C.api(city, "/v1/records/" + digest)
    check(code == 200, "GET /v1/records/%s on %s: %s %r" % (digest[:8], city, code, j))
    return j


def main():
    C.make_testnet("it-records")
    C.start_all_and_link()
    old_file, new_file = C.write_docs("licence", 2)
    a = json.loads(C.anchor("jinan", [old_file]).stdout)
    A = a["records"][0]["digest"]
    D = hashlib.sha256(open(new_file, "rb").read()).hexdigest()
    check(A == hashlib.sha256(open(old_file, "rb").read()).hexdigest(), "anchor reports the file's digest")
    # anchored at jinan; zibo and taian, which endorse A below, may apply that block a moment later
    C.wait_height(["zibo", "taian"], a["height"])

    # usage errors: exit 2
    r = qchain("endorse", A, "--config", C.config("zibo"), ok=(2,))
    check("--purpose is required" in r.stderr, "endorse without --purpose: usage error")
    r = qchain("supersede", A, A, "--config", C.config("jinan"), ok=(2,))
    check("same" in r.stderr, "supersede of a record by itself: usage error")

    e1 = json.loads(life("endorse", "zibo", A, "--purpose", "1", "--note", "mutual recognition").stdout)
    check(e1["type"] == "endorse" and e1["purpose_name"] == "e-seal recognition", "zibo endorses: %r" % e1)
    e2 = json.loads(life("endorse", "taian", "--file", old_file, "--purpose", "2").stdout)
    refused("endorse", "zibo", [A, "--purpose", "3"], "record %s is already endorsed by zibo" % A)
    refused("revoke", "zibo", [A, "--reason", "1"],
            "record %s is owned by jinan; only its owner can revoke it" % A)
    refused("supersede", "jinan", [A, D], "record %s (the new record) is not anchored" % D)
    refused("endorse", "jinan", [A, "--purpose", "1"], "its owner cannot endorse it")
    refused("endorse", "taian", ["ab" * 32, "--purpose", "1"], "record %s is not anchored" % ("ab" * 32))

    # the endorsements are committed at zibo and taian; liaocheng may apply them a moment later
    C.wait_height("liaocheng", max(e1["height"], e2["height"]))
    r = record("liaocheng", A)
    check(r["state"] == "valid" and r["owner"] == "jinan" and r["status"] == "anchored"
          and [(x["city"], x["purpose"]) for x in r["endorsements"]] == [("zibo", 1), ("taian", 2)]
          and r["endorsements"][0]["purpose_name"] == "e-seal recognition"
          and r["endorsements"][0]["tx_id"] == e1["tx_id"] and r["endorsements"][1]["height"] == e2["height"]
          and r["revoked"] is None and r["superseded_by"] is None and r["supersedes"] == [],
          "A's status after two endorsements: %r" % r)

    C.anchor("jinan", [new_file])
    s = json.loads(life("supersede", "jinan", "--file", old_file, "--new-file", new_file).stdout)
    check(s["digest"] == A and s["new_digest"] == D, "jinan supersedes A by D: %r" % s)
    C.wait_for("every node at the supersede's block",
               lambda: all((C.status(c) or {}).get("height", 0) >= s["height"] for c in CITIES))
    for city in CITIES:
        r = record(city, A)
        check(r["state"] == "superseded" and r["superseded_by"] == {"digest": D, "height": s["height"],
                                                                     "tx_id": s["tx_id"]},
              "%s: A is superseded by D at height %d: %r" % (city, s["height"], r))
    r = record("zibo", D)
    check(r["state"] == "valid" and r["supersedes"] == [A], "D supersedes A: %r" % r)
    refused("endorse", "dezhou" if "dezhou" in CITIES else "liaocheng", [A, "--purpose", "1"],
            "only a valid record can be endorsed")

    v = json.loads(life("revoke", "jinan", D, "--reason", "1").stdout)
    check(v["reason_name"] == "issued in error", "jinan revokes D: %r" % v)
    # committed at jinan; the others (read below: taian, zibo, liaocheng) may apply that block a
    # moment later (under load)
    C.wait_height(CITIES, v["height"])
    r = record("taian", D)
    check(r["state"] == "revoked" and r["revoked"] == {"height": v["height"], "reason": 1,
                                                       "reason_name": "issued in error", "tx_id": v["tx_id"]},
          "D revoked at height %d, reason 1: %r" % (v["height"], r))
    refused("endorse", "zibo", [D, "--purpose", "1"],
            "record %s is revoked at height %d; only a valid record can be endorsed" % (D, v["height"]))
    refused("revoke", "jinan", [D, "--reason", "2"], "is already revoked")

    # status proofs (PROTOCOL.md §12), fetched from different nodes and verified offline
    sp = json.loads(qchain("status-proof", A, "--config", C.config("taian"), "--json").stdout)
    check(sp["valid"] and sp["anchored"] and sp["state"] == "superseded" and sp["owner"] == "jinan"
          and sp["superseded_by"] == D and sp["state_height"] == s["height"]
          and [(e["city"], e["purpose"]) for e in sp["endorsements"]] == [("zibo", 1), ("taian", 2)]
          and sp["as_of_height"] >= v["height"], "status proof of A: superseded by D, endorsed: %r" % sp)
    proof_path = os.path.join(C.tmp, "D.status.json")
    sp = json.loads(qchain("status-proof", D, "--config", C.config("liaocheng"), "--out", proof_path,
                           "--json").stdout)
    check(sp["state"] == "revoked" and sp["reason"] == 1 and sp["supersedes"] == [A],
          "status proof of D: revoked, reason 1: %r" % sp)
    r = qchain("status-proof", "--proof", proof_path, "--genesis", C.genesis())
    check("revoked at height %d (reason 1: issued in error)" % v["height"] in r.stdout,
          "the saved proof verifies offline: %r" % r.stdout)
    # the status as of earlier blocks, derived from the saved proof (PROTOCOL.md §12.5)
    d_first, proof_h = sp["first_height"], sp["as_of_height"]

    def as_of(h, ok=(0,)):
        r = qchain("status-proof", "--proof", proof_path, "--genesis", C.genesis(), "--as-of", str(h),
                   "--json", ok=ok)
        return json.loads(r.stdout) if r.returncode == 0 else r
    a = as_of(v["height"] - 1)
    check(a["anchored"] and a["state"] == "valid" and a["as_of_height"] == v["height"] - 1
          and a["proof_height"] == proof_h and a["supersedes"] == [A],
          "D as of the block before its revocation: valid: %r" % a)
    a = as_of(v["height"])
    check(a["state"] == "revoked" and a["reason"] == 1, "D as of its revocation's block: revoked: %r" % a)
    a = as_of(d_first - 1)
    check(not a["anchored"] and a["as_of_height"] == d_first - 1,
          "D as of the block before its first anchoring: not anchored: %r" % a)
    r = as_of(proof_h + 1, ok=(1,))
    check("cannot say what the status is at the later block %d" % (proof_h + 1) in r.stderr,
          "a status as of a block after the proof's is refused: %r" % r.stderr)
    r = qchain("status-proof", A, "--config", C.config("zibo"), "--as-of", str(s["height"] - 1))
    check("as of block %d: valid; endorsed by zibo" % (s["height"] - 1) in r.stdout
          and "derived from the proof as of block" in r.stdout,
          "A fetched and shown as of the block before its supersession: %r" % r.stdout)
    sp = json.loads(qchain("status-proof", "cd" * 32, "--config", C.config("zibo"), "--json").stdout)
    check(sp["valid"] and not sp["anchored"], "status proof of a digest never anchored: %r" % sp)
    saved = json.load(open(proof_path))
    saved["status"] = saved["status"][:-2] + ("00" if saved["status"][-2:] != "00" else "01")
    json.dump(saved, open(proof_path, "w"))
    r = qchain("status-proof", "--proof", proof_path, "--genesis", C.genesis(), ok=(1,))
    check("INVALID" in r.stdout, "a proof with an edited status is refused: %r" % r.stdout)
    salted = C.write_docs("salted", 1)[0]
    qchain("anchor", salted, "--salted", "--config", C.config("zibo"), "--wait-ms", "15000", "--json")
    sp = json.loads(qchain("status-proof", "--file", salted, "--salt", salted + ".salt", "--config",
                           C.config("zibo"), "--json").stdout)
    check(sp["anchored"] and sp["owner"] == "zibo" and sp["state"] == "valid",
          "status proof of a salted record by --file --salt: %r" % sp)
    sp = json.loads(qchain("status-proof", "--file", salted, "--config", C.config("zibo"), "--json").stdout)
    check(not sp["anchored"], "without its salt the document's plain digest was never anchored: %r" % sp)
    rc_path = os.path.join(C.tmp, "A.receipt.json")
    qchain("receipt", A, "--config", C.config("jinan"), "--status", "--out", rc_path)
    r = qchain("verify", old_file, "--receipt", rc_path, "--genesis", C.genesis())
    check("status: superseded by %s at height %d; endorsed by zibo" % (D, s["height"]) in r.stdout,
          "qchain verify prints the receipt's status: %r" % r.stdout)

    # a replayed transaction (zibo's endorsement, byte for byte) is refused as committed
    code, j = C.post_tx("jinan", e1["signed"])
    check(code == 409 and "already committed" in j["error"]["message"], "replay refused: %s %r" % (code, j))

    # the block and transaction views show the new types and their fields
    code, t = C.api("zibo", "/v1/transactions/" + v["tx_id"])
    check(code == 200 and t["type"] == "revoke" and t["digest"] == D and t["reason"] == 1
          and t["reason_name"] == "issued in error", "GET /v1/transactions shows the revoke: %r" % t)
    code, b = C.api("zibo", "/v1/blocks/%d" % s["height"])
    txs = [x for x in b["txs"] if x["tx_id"] == s["tx_id"]]
    check(code == 200 and len(txs) == 1 and txs[0]["type"] == "supersede" and txs[0]["city"] == "jinan"
          and txs[0]["digest"] == A and txs[0]["new_digest"] == D, "GET /v1/blocks shows the supersede: %r" % txs)
    code, b = C.api("zibo", "/v1/blocks/%d" % e1["height"])
    txs = [x for x in b["txs"] if x["tx_id"] == e1["tx_id"]]
    check(txs and txs[0]["type"] == "endorse" and txs[0]["note"] == "mutual recognition"
          and txs[0]["purpose"] == 1, "GET /v1/blocks shows the endorsement: %r" % txs)
    text = C.metrics("jinan")
    check('qchain_lifecycle_committed_total{type="endorse"} 2' in text
          and 'qchain_lifecycle_committed_total{type="supersede"} 1' in text
          and 'qchain_lifecycle_committed_total{type="revoke"} 1' in text, "lifecycle metrics count commits")
    city_logs(A, D, s, v, old_file, new_file)
    C.wait_agreement(CITIES)
    C.stop_and_pass()


def city_logs(A, D, s, v, old_file, new_file):
    """Completeness per city (PROTOCOL §13): every node serves jinan's whole log, verified
    offline, in order; a digest jinan anchored and one it never did are both proven."""
    C.wait_for("every node past the revocation",
               lambda: all((C.status(c) or {}).get("height", 0) >= v["height"] for c in CITIES))
    top = min(C.status(c)["height"] for c in CITIES)  # every node has reached it
    logs = []
    for city in CITIES:  # the same proof from every node: the logs are in the state root
        r = json.loads(qchain("city-log", "jinan", "--from", "1", "--to", str(top), "--config",
                              C.config(city), "--json").stdout)
        check(r["valid"] and r["city"] == "jinan" and not r["cut"], "%s proves jinan's log: %r" % (city, r))
        logs.append([(e["kind"], e["digest"]) for e in r["events"]])
    check(all(l == logs[0] for l in logs), "every node serves the same events for jinan")
    want = [("anchor", A), ("anchor", D), ("supersede-old", A), ("supersede-new", D), ("revoke", D)]
    check(logs[0] == want, "jinan's events in order: anchor A, anchor D, supersede A by D, revoke D: %r"
          % logs[0])
    # heights s..v only: the supersession and the revocation
    r = json.loads(qchain("city-log", "jinan", "--from", str(s["height"]), "--to", str(v["height"]),
                          "--config", C.config("zibo"), "--json").stdout)
    check([e["kind"] for e in r["events"]] == ["supersede-old", "supersede-new", "revoke"],
          "jinan's events in heights %d..%d: %r" % (s["height"], v["height"], r["events"]))
    # "did zibo anchor A?" no (it endorsed it): proven, exit 0
    r = json.loads(qchain("city-log", "zibo", "--from", "1", "--config", C.config("jinan"),
                          "--digest", A, "--json").stdout)
    check(r["valid"] and r["anchored"] is False and any(e["kind"] == "endorse" and e["digest"] == A
                                                        for e in r["events"]),
          "zibo endorsed A but never anchored it, proven: %r" % r)
    # a kept proof, checked offline later against a file
    path = os.path.join(C.tmp, "jinan.citylog.json")
    qchain("city-log", "jinan", "--from", "1", "--api", "http://127.0.0.1:%d" % C.api_port("liaocheng"), "--genesis", C.genesis(),
           "--out", path)
    r = qchain("city-log", "--proof", path, "--genesis", C.genesis(), "--file", old_file)
    check("jinan anchored %s" % A in r.stdout, "offline: jinan anchored the old file: %r" % r.stdout)
    j = json.load(open(path))
    j["leaves"] = [l for l in j["leaves"] if l["kind"] != "revoke"]  # hide the revocation
    json.dump(j, open(path, "w"))
    r = qchain("city-log", "--proof", path, "--genesis", C.genesis(), ok=(1,))
    check("INVALID" in r.stdout + r.stderr, "a proof with an event left out is refused: %r" % r.stdout)
    # the API's refusals, and a city that never had an event
    for q, code_want in (("jinan/log?from=0", 400), ("jinan/log?from=1&to=%d" % (top + 1000), 400),
                         ("jinan/log", 400), ("Jinan/log?from=1", 400), ("jinan/log?from=-1", 400)):
        code, j = C.api("taian", "/v1/cities/" + q)
        check(code == code_want, "GET /v1/cities/%s: %s (want %d) %r" % (q, code, code_want, j))
    code, j = C.api("taian", "/v1/cities/heze/log?from=1")
    check(code == 200 and j["log_size"] == 0 and j["leaves"] == [], "heze has an empty, proven log: %r" % j)


if __name__ == "__main__":
    try:
        C.run(main)
    finally:
        C.stop_all(signal.SIGKILL)
