#!/usr/bin/env python3
"""it_cluster.py - four real qchaind processes on loopback, driven through the qchain CLI and
the HTTP API: blocks commit with identical hashes everywhere; receipts verify offline and a
tampered one does not; the primary is SIGKILLed and a view change restores progress; a node
restarts and catches up; every node is SIGKILLed mid-load and, restarted, has lost nothing a
client was told was committed; garbage on the peer port is refused without harm; SIGTERM
stops every node cleanly. Every wait is bounded; a failure prints the nodes' log tails."""
import json, os, random, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

BUILD = os.environ.get("BUILD", "build")
BIN = os.path.join(BUILD, "bin")
CITIES = ["jinan", "zibo", "taian", "liaocheng"]
BASE = 20000 + (os.getpid() * 7 + (100 if "asan" in BUILD else 0)) % 20000
TMP = tempfile.mkdtemp(prefix="qchain-it-")
procs = {}
checks = 0


def fail(msg):
    print("it_cluster: FAILED: " + msg)
    for c in CITIES:
        log = os.path.join(TMP, c + ".log")
        if os.path.exists(log):
            print("---- %s (last lines)" % c)
            print("".join(open(log, errors="replace").readlines()[-15:]))
    stop_all(signal.SIGKILL)
    sys.exit(1)


def check(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


def api(city, path, timeout=5):
    port = BASE + 1000 + CITIES.index(city) + 1
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except (OSError, ValueError):
        return None, None


def start(city):
    log = open(os.path.join(TMP, city + ".log"), "a")
    procs[city] = subprocess.Popen([os.path.join(BIN, "qchaind"), "--config",
                                    os.path.join(TMP, city, "node.json")],
                                   stdout=log, stderr=log)


def stop_all(sig):
    for c, p in list(procs.items()):
        if p.poll() is None:
            p.send_signal(sig)
    for c, p in list(procs.items()):
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_for(what, pred, secs=20):
    deadline = time.time() + secs
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def status(city):
    code, s = api(city, "/v1/status")
    return s if code == 200 else None


def heights(cities):
    return [(status(c) or {}).get("height") for c in cities]


def qchain(*args, ok=(0,)):
    r = subprocess.run([os.path.join(BIN, "qchain")] + list(args), capture_output=True, text=True,
                       timeout=60)
    if r.returncode not in ok:
        fail("qchain %s -> %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def anchor(city, files, wait_ms=15000):
    return qchain("anchor", *files, "--config", os.path.join(TMP, city, "node.json"),
                  "--wait-ms", str(wait_ms), "--json")


def write_docs(prefix, n):
    paths = []
    for i in range(n):
        p = os.path.join(TMP, "%s-%d.txt" % (prefix, i))
        open(p, "w").write("%s record %d %f\n" % (prefix, i, random.random()))
        paths.append(p)
    return paths


def main():
    qchain("testnet", "--out", TMP, "--cities", "4", "--base-port", str(BASE),
           "--chain-id", "it-cluster")
    for c in CITIES:
        start(c)
    wait_for("all links up", lambda: all((status(c) or {}).get("peers_up") == 3 for c in CITIES))

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
    loader = [subprocess.Popen([os.path.join(BIN, "qchain"), "anchor", d, "--config",
                                os.path.join(TMP, others[i % 3], "node.json"), "--wait-ms", "20000",
                                "--json", "--no-receipt"], stdout=subprocess.PIPE, text=True)
              for i, d in enumerate(write_docs("d", 6))]
    time.sleep(0.3)
    stop_all(signal.SIGKILL)
    for p in loader:
        o, _ = p.communicate(timeout=30)
        if p.returncode == 0:
            acked.append(json.loads(o)["tx_id"])
    for c in CITIES:
        start(c)
    wait_for("links up after the crash", lambda: all((status(c) or {}).get("peers_up") == 3 for c in CITIES))
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
    print("it_cluster: %d checks passed (4 nodes, %d acknowledged under crash)" % (checks, len(acked)))
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all(signal.SIGKILL)
