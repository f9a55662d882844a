#!/usr/bin/env python3
"""it_cluster.py - real qchaind processes on loopback (four; QC_IT_NODES=9 for all nine cities,
as `make test-long` runs), driven through the qchain CLI and
the HTTP API: blocks commit with identical hashes everywhere; receipts verify offline and a
tampered one does not; the primary is SIGKILLed and a view change restores progress; a node
restarts and catches up; every node is SIGKILLed mid-load and, restarted, has lost nothing a
client was told was committed; garbage on the peer port is refused without harm; SIGTERM
stops every node cleanly. Every wait is bounded; a failure prints the nodes' log tails."""
import json, os, shutil, signal, socket, subprocess, time

from cluster import BIN, Cluster, port_base

ALL_CITIES = ["jinan", "zibo", "taian", "liaocheng", "dezhou", "binzhou", "dongying", "jining", "heze"]
NODES = int(os.environ.get("QC_IT_NODES", "4"))
CITIES = ALL_CITIES[:NODES]

# 20000..31699 (+1004 for the APIs) stays below the kernel's ephemeral ports (32768..), which an
# outgoing connection may hold; it_api.py uses 10000.., it_audit.py 4000...
BASE = port_base(20000, 11700)
C = Cluster("it_cluster", BASE, CITIES)
TMP, procs = C.tmp, C.procs
fail, check, api, start, stop_all, wait_for = C.fail, C.check, C.api, C.start, C.stop_all, C.wait_for
status, heights, qchain, anchor, write_docs = C.status, C.heights, C.qchain, C.anchor, C.write_docs


def main():
    qchain("testnet", "--out", TMP, "--cities", str(NODES), "--base-port", str(BASE),
           "--chain-id", "it-cluster")
    for c in CITIES:
        start(c)
    wait_for("all links up", lambda: all((status(c) or {}).get("peers_up") == NODES - 1 for c in CITIES))

    # 1. anchor and agree
    docs = write_docs("a", 5)
    out = json.loads(anchor("jinan", docs).stdout)
    check(len(out["records"]) == 5, "five receipts written")
    wait_for("all nodes at the block", lambda: len(set(heights(CITIES))) == 1)
    hashes = {(status(c) or {}).get("head_hash") for c in CITIES}
    check(len(hashes) == 1, "identical head hashes on every node: %s" % hashes)
    genesis = os.path.join(TMP, "genesis.json")
    r = qchain("verify", docs[0], "--receipt", docs[0] + ".receipt.json", "--genesis", genesis)
    check("VALID" in r.stdout, "receipt verifies offline")
    rec = json.load(open(docs[0] + ".receipt.json"))
    for field in ("header", "genesis_hash"):
        bad = json.loads(json.dumps(rec))
        v = bad[field]
        bad[field] = v[:10] + ("0" if v[10] != "0" else "1") + v[11:]
        p = os.path.join(TMP, "tampered.json")
        json.dump(bad, open(p, "w"))
        r = qchain("verify", docs[0], "--receipt", p, "--genesis", genesis, ok=(1,))
        check("INVALID" in r.stdout, "tampered %s is refused" % field)

    # 2. garbage on a peer port is refused, the node keeps serving
    for payload in (os.urandom(4096), b"\x00\x00\x00\x10short", b"GET / HTTP/1.1\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", BASE + 1), timeout=2)
        s.sendall(payload)
        s.close()
    check(status("jinan") is not None, "jinan still serves after garbage on its peer port")
    out = json.loads(anchor("jinan", write_docs("b", 1)).stdout)

    # 3. the primary dies: a view change restores progress
    primary = status("zibo")["primary"]
    procs[primary].kill()
    procs[primary].wait()
    others = [c for c in CITIES if c != primary]
    t0 = time.time()
    out = json.loads(anchor(others[0], write_docs("c", 3), wait_ms=30000).stdout)
    check(out["height"] >= 3, "commit after the primary was killed (%.1f s)" % (time.time() - t0))
    check(status(others[1])["primary"] != primary, "a new primary leads")

    # 4. the dead node restarts and catches up
    start(primary)
    target = status(others[0])["height"]
    wait_for("restarted node catches up", lambda: ((status(primary) or {}).get("height") or 0) >= target)

    # 5. kill every node mid-load; nothing acknowledged may be lost
    acked = []
    loader = []
    for i, d in enumerate(write_docs("d", 12)):  # staggered; every node dies halfway through
        loader.append(subprocess.Popen([os.path.join(BIN, "qchain"), "anchor", d, "--config",
                                        os.path.join(TMP, others[i % len(others)], "node.json"),
                                        "--wait-ms", "20000", "--json", "--no-receipt"],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        time.sleep(0.02)
        if i == 5:
            stop_all(signal.SIGKILL)
    for p in loader:
        o, _ = p.communicate(timeout=30)
        if p.returncode == 0:
            acked.append(json.loads(o)["tx_id"])
    for c in CITIES:
        start(c)
    wait_for("links up after the crash", lambda: all((status(c) or {}).get("peers_up") == NODES - 1 for c in CITIES))
    for tx in acked + [out["tx_id"]]:
        for c in CITIES:
            wait_for("acknowledged tx %s on %s" % (tx[:12], c),
                     lambda: api(c, "/v1/transactions/" + tx)[0] == 200, secs=20)
    check(True, "%d acknowledged transactions survived SIGKILL of every node" % len(acked))
    out = json.loads(anchor("jinan", write_docs("e", 2), wait_ms=30000).stdout)
    wait_for("agreement after restart",
             lambda: len({(status(c) or {}).get("head_hash") for c in CITIES}) == 1)

    # 6. clean stop
    stop_all(signal.SIGTERM)
    check(all(p.returncode == 0 for p in procs.values()),
          "SIGTERM stops every node with exit 0: %s" % {c: p.returncode for c, p in procs.items()})
    print("it_cluster: %d checks passed (%d nodes, %d of 12 acknowledged under crash)"
          % (C.checks, NODES, len(acked)))
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all(signal.SIGKILL)
