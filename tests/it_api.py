#!/usr/bin/env python3
"""it_api.py - the HTTP/JSON API (docs/API.md) and the node-reading CLI commands against a real
four-node consortium: every malformed request gets the documented 4xx with a JSON error body
{"error": {"code", "message"}}; limits (body, headers, connections, slow clients, long-poll) are
enforced on a node configured with small ones; consistency proofs between every pair of block
log sizes verify with an independent RFC 9162 verifier (and edited ones do not); /metrics is
valid Prometheus text with exactly the families docs/API.md lists; `qchain status`, `receipt`
and `block` work against the cluster and refuse what a lying node serves."""
import hashlib, http.client, http.server, json, os, re, shutil, signal, socket, threading, time

from cluster import CITIES, Cluster, port_base

# 10000..18999 plus the API offset stays below it_cluster.py's 20000.. and the ephemeral range.
C = Cluster("it_api", port_base(10000, 8000))
check, fail, qchain = C.check, C.fail, C.qchain
LIMITED = "taian"  # configured with small limits before it starts
LIMITS = {"max_body_bytes": 65536, "max_header_bytes": 4096, "max_connections": 6,
          "request_timeout_ms": 3000, "wait_timeout_ms_max": 3000}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- HTTP helpers

def request(city, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection: (status, headers dict (lowercase), body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", C.api_port(city), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def raw(city, data, timeout=10):
    """Sends raw bytes and reads one response (up to its Content-Length, or to the server's
    close): the status and the body. (None, b"") if the server closed without answering."""
    s = socket.create_connection(("127.0.0.1", C.api_port(city)), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before taking everything
        while True:
            head, sep, body = out.partition(b"\r\n\r\n")
            m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
            if sep and m and len(body) >= int(m.group(1)):
                break
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    return (int(m.group(1)) if m else None), body


def error_body(body, what):
    """Every API error is {"error": {"code": word, "message": text}} and nothing else."""
    try:
        j = json.loads(body)
    except ValueError:
        fail("%s: error body is not JSON: %r" % (what, body[:200]))
    check(isinstance(j, dict) and list(j) == ["error"] and isinstance(j["error"], dict)
          and sorted(j["error"]) == ["code", "message"]
          and re.fullmatch(r"[a-z_]+", j["error"]["code"] or "")
          and isinstance(j["error"]["message"], str) and j["error"]["message"],
          "%s: error body has the documented shape: %r" % (what, j))
    return j["error"]


def expect_error(city, method, path, status, code, body=None, headers=None, mentions=None):
    got, hdrs, data = request(city, method, path, body, headers)
    what = "%s %s" % (method, path[:80])
    check(got == status, "%s -> %s, expected %d: %r" % (what, got, status, data[:200]))
    e = error_body(data, what)
    check(e["code"] == code, "%s: error code %r, expected %r" % (what, e["code"], code))
    if mentions:
        check(mentions in e["message"], "%s: message %r names %r" % (what, e["message"], mentions))
    return hdrs


def get_json(city, path):
    status, _, data = request(city, "GET", path)
    check(status == 200, "GET %s -> %s: %r" % (path, status, data[:200]))
    return json.loads(data)


# ---------------------------------------------------------------- RFC 9162 consistency

def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(size1, size2, root1, root2, proof):
    """RFC 9162 section 2.1.4.2, with qchain's conventions for the trivial cases
    (docs/MERKLE.md): equal sizes need an empty proof and equal roots; size 0 an empty proof
    and the empty-tree root."""
    if size1 > size2:
        return False
    if size1 == size2:
        return proof == [] and root1 == root2
    if size1 == 0:
        return proof == [] and root1 == hashlib.sha256(b"").digest()
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: an exact power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:  # step 6
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


def consistency(city, a, b):
    j = get_json(city, "/v1/consistency?from=%d&to=%d" % (a, b))
    check(j["from"] == a and j["to"] == b, "consistency echoes its sizes")
    return j, [bytes.fromhex(h) for h in j["proof"]]


def check_consistency_across_growth(old_cp, new_cp):
    """Every pair of log sizes a block ever had verifies against the roots in the block headers
    (not the roots the proof endpoint reports); an edited proof or root does not."""
    s1, s2 = old_cp["log_size"], new_cp["log_size"]
    check(s2 > s1 > 0, "the log grew (%d -> %d)" % (s1, s2))
    j, proof = consistency("zibo", s1, s2)
    r1, r2 = bytes.fromhex(old_cp["log_root"]), bytes.fromhex(new_cp["log_root"])
    check(verify_consistency(s1, s2, r1, r2, proof),
          "consistency %d -> %d verifies against the two checkpoints" % (s1, s2))
    roots = {0: hashlib.sha256(b"").digest()}
    for h in range(1, new_cp["header"]["height"] + 1):
        hdr = get_json("liaocheng", "/v1/blocks/%d" % h)["header"]
        roots[hdr["log_size"]] = bytes.fromhex(hdr["log_root"])
    sizes = sorted(roots)
    pairs = 0
    for i, a in enumerate(sizes):
        for b in sizes[i:]:
            j, proof = consistency("jinan", a, b)
            check(bytes.fromhex(j["from_root"]) == roots[a] and bytes.fromhex(j["to_root"]) == roots[b],
                  "consistency %d -> %d reports the roots the headers carry" % (a, b))
            check(verify_consistency(a, b, roots[a], roots[b], proof),
                  "consistency %d -> %d verifies (RFC 9162)" % (a, b))
            pairs += 1
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
                check(not verify_consistency(a, b, roots[a], roots[b], bad),
                      "consistency %d -> %d with hash %d edited is refused" % (a, b, k))
            if 0 < a < b:
                check(not verify_consistency(a, b, roots[b], roots[b], proof),
                      "consistency %d -> %d against a wrong old root is refused" % (a, b))
                check(not verify_consistency(a, b, roots[a], roots[a], proof),
                      "consistency %d -> %d against a wrong new root is refused" % (a, b))
    return pairs


# ---------------------------------------------------------------- Prometheus text

SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (\S+)')


def check_prometheus(text):
    """Line grammar of the text exposition format 0.0.4; returns {family: type}."""
    types, helps = {}, set()
    buckets = {}
    check(text.endswith("\n"), "metrics end with a newline")
    for line in text.rstrip("\n").split("\n"):
        m = re.fullmatch(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)", line)
        if m:
            kind, name, rest = m.groups()
            if kind == "TYPE":
                check(rest in ("counter", "gauge", "histogram", "summary", "untyped"),
                      "metric type of %s: %r" % (name, rest))
                check(name not in types, "one TYPE line for %s" % name)
                types[name] = rest
            else:
                helps.add(name)
            continue
        m = SAMPLE.fullmatch(line)
        check(m is not None, "metrics line parses: %r" % line)
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        try:
            v = float(value)
        except ValueError:
            fail("metrics value of %r is a number" % line)
        family = name
        if name not in types:
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            check(types.get(family) == "histogram", "sample %s follows a TYPE line" % name)
        if types[family] == "counter":
            check(v >= 0, "counter %s is not negative" % name)
        if name.endswith("_bucket"):
            le = re.search(r'le="([^"]+)"', labels).group(1)
            buckets.setdefault(family, []).append((float(le), v))
        if name.endswith("_count") and family in buckets:
            b = buckets[family]
            check([x[1] for x in b] == sorted(x[1] for x in b) and b[-1][0] == float("inf")
                  and b[-1][1] == v, "histogram %s buckets are cumulative up to +Inf == count" % family)
    check(helps == set(types), "every family has HELP and TYPE")
    return types


def documented_metrics():
    text = open(os.path.join(REPO, "docs", "API.md"), encoding="utf-8").read()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(qchain_[a-z_]+)`", section, re.M))


# ---------------------------------------------------------------- a node that lies

class LyingNode:
    """Serves canned JSON for a few paths, the way an edited or malicious node would."""

    def __init__(self, routes):
        routes_ = routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(routes_.get(self.path, {"error": {"code": "not_found",
                                                                   "message": "no"}})).encode()
                self.send_response(200 if self.path in routes_ else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def flip_hex(s, at=10):
    return s[:at] + ("0" if s[at] != "0" else "1") + s[at + 1:]


# ---------------------------------------------------------------- the checks

def limit_config():
    path = C.config(LIMITED)
    cfg = json.load(open(path))
    cfg["api"].update(LIMITS)
    json.dump(cfg, open(path, "w"), indent=2)


def check_request_errors(digest, tx_id):
    tx = "/v1/transactions"
    js = {"Content-Type": "application/json"}
    expect_error("jinan", "POST", tx, 400, "bad_request", b'{"body": "00", "sig":', js, "invalid JSON")
    # A JSON array is a batch: its malformed entries are rejected one by one (test_ingress.c
    # covers batches fully); an empty one is refused whole.
    got, _, data = request("jinan", "POST", tx, b"[1, 2]", js)
    res = json.loads(data) if got == 200 else {}
    check(got == 200 and res.get("accepted") == 0 and res.get("rejected") == 2 and
          all(r["tx_id"] is None and r["http"] == 400 for r in res["results"]),
          "a batch of two malformed entries: both rejected: %s %r" % (got, data[:200]))
    expect_error("jinan", "POST", tx, 400, "bad_request", b"[]", js, "1 to 1024")
    expect_error("jinan", "POST", tx, 400, "bad_request", json.dumps({"body": 7, "sig": "00" * 64}), js)
    expect_error("jinan", "POST", tx, 400, "bad_request", json.dumps({"body": "00", "sig": True}), js)
    expect_error("jinan", "POST", tx, 400, "bad_request", json.dumps({"body": "0g", "sig": "00" * 64}), js)
    expect_error("jinan", "POST", tx, 400, "bad_request",
                 json.dumps({"body": "00", "sig": "00" * 64, "extra": 1}), js, "nothing else")
    expect_error("jinan", "POST", tx, 400, "rejected", b"\x0a\x02not a tx", {"Content-Type": "application/x-protobuf"})
    expect_error("jinan", "POST", tx + "?wait_ms=60001", 400, "bad_request", b"{}", js, "wait_ms")
    expect_error("jinan", "POST", tx + "?wait_ms=-1", 400, "bad_request", b"{}", js, "wait_ms")
    expect_error("jinan", "POST", tx + "?wait_ms=ten", 400, "bad_request", b"{}", js, "wait_ms")
    expect_error(LIMITED, "POST", tx + "?wait_ms=3001", 400, "bad_request", b"{}", js, "0..3000")
    expect_error("jinan", "GET", tx + "/" + tx_id + "?wait_ms=99999999", 400, "bad_request")
    # A transaction the chain already holds, resubmitted in its JSON form, is a duplicate.
    rec = get_json("zibo", "/v1/records/%s/receipt" % digest)
    expect_error("zibo", "POST", tx, 409, "rejected", json.dumps(rec["tx"]), js)
    # Paths, parameters and methods.
    expect_error("jinan", "GET", "/v1/nope", 404, "not_found", mentions="/v1/nope")
    expect_error("jinan", "GET", "/v1/records", 404, "not_found")
    expect_error("jinan", "GET", "/v1/status/", 404, "not_found")
    hdrs = expect_error("jinan", "DELETE", "/v1/status", 405, "method_not_allowed")
    check("GET" in hdrs.get("allow", ""), "405 names the allowed methods: %r" % hdrs.get("allow"))
    hdrs = expect_error("jinan", "GET", tx, 405, "method_not_allowed")
    check(hdrs.get("allow") == "POST", "GET on /v1/transactions: Allow: POST (%r)" % hdrs.get("allow"))
    expect_error("jinan", "PUT", "/v1/records/" + digest, 405, "method_not_allowed")
    for bad in ("xyz", digest[:-1], digest + "0", "g" * 64, "%00" + digest[3:]):
        for p in ("/v1/records/%s", "/v1/records/%s/receipt", tx + "/%s", "/v1/blocks/by-hash/%s"):
            expect_error("jinan", "GET", p % bad, 400, "bad_request")
    for bad in ("0", "-1", "abc", "1e3", "99999999999999999999"):
        expect_error("jinan", "GET", "/v1/blocks/" + bad, 400, "bad_request", mentions="height")
    expect_error("jinan", "GET", "/v1/blocks/999999", 404, "not_found", mentions="999999")
    expect_error("jinan", "GET", "/v1/blocks/by-hash/" + "ab" * 32, 404, "not_found")
    expect_error("jinan", "GET", tx + "/" + "cd" * 32, 404, "not_found", mentions="cd" * 32)
    expect_error("jinan", "GET", "/v1/records/" + "ef" * 32, 404, "not_found", mentions="not been anchored")
    expect_error("jinan", "GET", "/v1/records/%s/receipt" % ("ef" * 32), 404, "not_found")
    size = get_json("jinan", "/v1/status")["log_size"]
    expect_error("jinan", "GET", "/v1/consistency?from=2&to=1", 400, "bad_request", mentions="from")
    expect_error("jinan", "GET", "/v1/consistency?from=1", 400, "bad_request", mentions="to")
    expect_error("jinan", "GET", "/v1/consistency?to=1", 400, "bad_request", mentions="from")
    expect_error("jinan", "GET", "/v1/consistency?from=0&to=%d" % (size + 1), 400, "bad_request")
    expect_error("jinan", "GET", "/v1/consistency?from=x&to=1", 400, "bad_request")


def check_limits():
    base_headers = "Host: x\r\nContent-Type: application/json\r\n"
    # Body over max_body_bytes: 413 as soon as the announced length is seen.
    status, body = raw(LIMITED, ("POST /v1/transactions HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n"
                                 % (base_headers, LIMITS["max_body_bytes"] + 1)).encode() + b"{" * 1024)
    check(status == 413 and error_body(body, "413")["code"] == "payload_too_large",
          "an announced body over the limit gets 413 (%s)" % status)
    # The same in chunks: the decoded body is what is capped.
    chunk = b"%x\r\n%s\r\n" % (16384, b" " * 16384)
    status, body = raw(LIMITED, ("POST /v1/transactions HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n"
                                 % base_headers).encode() + chunk * 5 + b"0\r\n\r\n")
    check(status == 413 and error_body(body, "413 chunked")["code"] == "payload_too_large",
          "a chunked body over the limit gets 413 (%s)" % status)
    # Default limits on another node: a 4 MiB + 1 announced body, a 17 KiB header.
    status, body = raw("jinan", ("POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                                 % (4 * 1024 * 1024 + 1)).encode())
    check(status == 413 and error_body(body, "413 default")["code"] == "payload_too_large",
          "default max_body_bytes (4 MiB) is enforced (%s)" % status)
    for city, n in ((LIMITED, 5000), ("jinan", 17 * 1024)):
        status, body = raw(city, ("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % ("a" * n)).encode())
        check(status == 431 and error_body(body, "431")["code"] == "headers_too_large",
              "%d header bytes on %s get 431 (%s)" % (n, city, status))
    status, body = raw(LIMITED, b"GET /v1/status HTTP/1.1\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(70)) + b"\r\n")
    check(status == 431, "70 header fields get 431 (%s)" % status)
    # A slow client is cut off at request_timeout_ms with 408.
    t0 = time.time()
    status, body = raw(LIMITED, b"GET /v1/status HTTP/1.1\r\nHost: x\r\n", timeout=10)
    took = time.time() - t0
    check(status == 408 and error_body(body, "408")["code"] == "request_timeout",
          "an unfinished request gets 408 (%s)" % status)
    check(2.7 < took < 9, "the 408 came after about request_timeout_ms (%.2f s)" % took)
    # A full server makes room for a fresh client: the longest-held idle or incomplete
    # connection of the address holding the most connections is closed without a response
    # (docs/HTTP.md). The held connections come from 127.0.0.2, the fresh client from
    # 127.0.0.1. (503 when nothing is evictable is tested in tests/test_http.c.) The
    # connections of the checks above are closed by now on the client side; give the node a
    # moment to see that.
    time.sleep(0.5)
    held = []
    for _ in range(LIMITS["max_connections"]):
        held.append(socket.create_connection(("127.0.0.1", C.api_port(LIMITED)), timeout=5,
                                             source_address=("127.0.0.2", 0)))
        time.sleep(0.01)  # distinct accept times: held[0] is the oldest
    try:
        time.sleep(0.2)
        for s in held:  # all six were let in (nothing was answered on them)
            s.setblocking(False)
            try:
                got = s.recv(1)
            except BlockingIOError:
                got = None
            check(got is None, "held connection was accepted quietly (got %r)" % got)
        status, body = raw(LIMITED, b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        check(status == 200, "connection %d from another address is served (%s)"
              % (LIMITS["max_connections"] + 1, status))
        held[0].settimeout(5)
        try:
            got = held[0].recv(1)
        except ConnectionResetError:
            got = b""
        check(got == b"", "the oldest held connection was closed to make room (got %r)" % got)
        for s in held[1:]:
            try:
                got = s.recv(1)
            except BlockingIOError:
                got = None
            check(got is None, "the other held connections stay open (got %r)" % got)
    finally:
        for s in held:
            s.close()
    C.wait_for("the limited node serves again", lambda: request(LIMITED, "GET", "/healthz")[0] == 200, secs=5)
    # Malformed HTTP is a 400 with a JSON body too.
    status, body = raw("jinan", b"BREW /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status == 400 and error_body(body, "400 method")["code"] == "bad_request",
          "an unknown method token gets 400 (%s)" % status)


def check_reads(digest, tx_id):
    t = get_json("taian", "/v1/transactions/" + tx_id)
    check(t["status"] == "committed" and t["tx_id"] == tx_id, "the anchored tx is committed: %r" % t)
    b = get_json("taian", "/v1/blocks/%d" % t["height"])
    check(b["header"]["hash"] == t["block_hash"], "tx's block_hash is the block's hash")
    check(b["txs"][t["tx_index"]]["tx_id"] == tx_id and b["txs"][t["tx_index"]]["city"] == "jinan",
          "the block lists the tx at tx_index with its city")
    check(get_json("taian", "/v1/blocks/by-hash/" + t["block_hash"]) == b, "by-hash serves the same block")
    # Another node holds the same block; its certificate may carry another quorum of votes.
    check(get_json("zibo", "/v1/blocks/by-hash/" + t["block_hash"])["header"] == b["header"],
          "every node serves the same header")
    r = get_json("liaocheng", "/v1/records/" + digest)
    check(r["status"] == "anchored" and r["anchorings"][0]["tx_id"] == tx_id
          and r["anchorings"][0]["city"] == "jinan" and r["more"] is False,
          "record status lists its anchoring")
    check(r["receipt"] == get_json("liaocheng", "/v1/records/%s/receipt" % digest),
          "record status embeds the receipt")
    m = get_json("jinan", "/v1/members")
    check([x["name"] for x in m["members"]] == CITIES and m["quorum"] == 3 and m["epoch"] == 0,
          "members lists the 4 cities, quorum 3: %r" % [x["name"] for x in m["members"]])
    check(all(re.fullmatch(r"[0-9a-f]{64}", x[k]) for x in m["members"]
              for k in ("node_key", "seal_key", "admin_key")), "member keys are 64 hex")
    status, hdrs, body = request("zibo", "GET", "/healthz")
    check(status == 200 and json.loads(body) == {"status": "ok"}, "/healthz: 200 ok")
    status, hdrs, body = request("zibo", "HEAD", "/v1/status")
    check(status == 200 and body == b"", "HEAD /v1/status: headers only")
    s = get_json("zibo", "/v1/status")
    check(s["city"] == "zibo" and s["peers"] == 3 and s["chain_id"] == "it-api", "status names the node")


CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def check_web():
    """The embedded web application (docs/API.md "GET /"): the page and its security and
    caching headers, 304 on a current ETag, HEAD, and a JSON 404 for an unknown name."""
    status, hdrs, body = request("zibo", "GET", "/")
    check(status == 200 and hdrs.get("content-type") == "text/html; charset=utf-8"
          and re.search(rb"(?i)<!doctype html|<html", body[:512]), "GET / serves the HTML page")
    want = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer", "cross-origin-opener-policy": "same-origin",
            "cache-control": "no-cache"}
    check(all(hdrs.get(k) == v for k, v in want.items()),
          "GET /: the security and caching headers: %r" % hdrs)
    etag = hdrs.get("etag", "")
    check(etag == '"%s"' % hashlib.sha256(body).hexdigest()[:16], "GET /: ETag %r is the bytes' hash" % etag)
    check(request("zibo", "GET", "/index.html")[2] == body, "/index.html is /")
    status, hdrs, data = request("zibo", "GET", "/", headers={"If-None-Match": etag})
    check(status == 304 and data == b"" and hdrs.get("etag") == etag, "If-None-Match: the ETag -> 304")
    status, hdrs, data = request("zibo", "HEAD", "/web/index.html")
    check(status == 200 and data == b"" and hdrs.get("content-length") == str(len(body)), "HEAD /web/index.html")
    for name in ("nope.js", "..%2Findex.html", "%2e%2e"):
        hdrs = expect_error("zibo", "GET", "/web/" + name, 404, "not_found")
        check(hdrs.get("x-content-type-options") == "nosniff", "a web 404 has the web headers")


def check_genesis():
    """GET /v1/genesis: the genesis file's exact bytes, whose hash is the chain's."""
    status, hdrs, body = request("taian", "GET", "/v1/genesis")
    check(status == 200 and hdrs.get("content-type") == "application/json", "GET /v1/genesis: 200 JSON")
    check(body == open(C.genesis(), "rb").read(), "GET /v1/genesis serves the file byte for byte")
    h = hashlib.sha256(b"qchain/v1/genesis\x00" + body).hexdigest()  # qc_hash_ctx(QC_CTX_GENESIS)
    check(h == hdrs.get("x-qchain-genesis-hash") == get_json("taian", "/v1/status")["genesis_hash"],
          "the body hashes to X-Qchain-Genesis-Hash and /v1/status's genesis_hash")


def peers_view(city):
    """GET /v1/peers, its shape checked against docs/API.md."""
    p = get_json(city, "/v1/peers")
    check(sorted(p) == ["best_height", "city", "height", "members"] and p["city"] == city,
          "/v1/peers on %s: documented fields: %r" % (city, sorted(p)))
    keys = ["api_address", "display_name", "height", "index", "lag", "link_up", "name",
            "p2p_address", "peers_up", "self", "view"]
    for i, m in enumerate(p["members"]):
        check(sorted(m) == keys and m["index"] == i, "/v1/peers member fields: %r" % m)
        check(m["self"] == (m["name"] == city), "self marks only %s: %r" % (city, m))
        check(m["lag"] == p["best_height"] - m["height"] >= 0, "lag = best_height - height: %r" % m)
    check(p["best_height"] == max([p["height"]] + [m["height"] for m in p["members"]]),
          "best_height is the highest head known")
    return p


def check_peers():
    """GET /v1/peers on a running consortium: every member, every link up, the heads each
    peer reported (probed about once a second each) reaching the common height."""
    members = get_json("jinan", "/v1/members")["members"]
    before = C.status("jinan")["height"]
    p = peers_view("jinan")
    after = C.status("jinan")["height"]
    check([m["name"] for m in p["members"]] == CITIES, "/v1/peers lists every member in order")
    check(before <= p["height"] <= after, "/v1/peers height is the node's own")
    me = p["members"][0]
    check(me["self"] and me["link_up"] and me["height"] == p["height"], "self: link up, own height")
    for m, mm in zip(p["members"], members):
        check(all(m[k] == mm[k] for k in ("name", "display_name", "api_address", "p2p_address")),
              "/v1/peers names and addresses match /v1/members: %r" % m)
    check(all(m["link_up"] for m in p["members"]), "every link up: %r" % p["members"])
    for m in p["members"]:
        check(m["height"] <= C.status(m["name"])["height"],
              "a reported head is one %s has reached: %r" % (m["name"], m))

    def level():
        heights, view = C.heights(CITIES), peers_view("jinan")
        return len(set(heights)) == 1 and all(m["height"] == heights[0] and m["lag"] == 0
                                               for m in view["members"])
    C.wait_for("every reported head at the common height", level)

    # Each peer's view and links come with its head (catch-up replies, probed about once a
    # second): they reach what the peer's own /v1/status says.
    def views():
        p = peers_view("jinan")
        return all(m["view"] == C.status(m["name"])["view"] and
                   m["peers_up"] == C.status(m["name"])["peers_up"] == len(CITIES) - 1
                   for m in p["members"])
    C.wait_for("every peer's view and links on the dashboard endpoint", views)


def check_metrics():
    status, hdrs, body = request("jinan", "GET", "/metrics")
    check(status == 200 and hdrs.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "/metrics is Prometheus text: %r" % hdrs.get("content-type"))
    types = check_prometheus(body.decode())
    doc = documented_metrics()
    check(len(doc) >= 20, "docs/API.md lists the metric families (%d)" % len(doc))
    check(doc == set(types), "served families == documented: only served %s, only documented %s"
          % (sorted(set(types) - doc), sorted(doc - set(types))))
    check(types["qchain_commit_latency_seconds"] == "histogram", "commit latency is a histogram")
    text = body.decode()
    height = get_json("jinan", "/v1/status")["height"]
    check(re.search(r"^qchain_height (\d+)$", text, re.M) and
          int(re.search(r"^qchain_height (\d+)$", text, re.M).group(1)) <= height,
          "qchain_height matches status")
    check(re.search(r'^qchain_http_responses_total\{class="4xx"\} [1-9]', text, re.M),
          "the 4xx answers were counted")


def check_cli(digest, file, height):
    genesis = C.genesis()
    r = qchain("status", "--config", C.config("jinan"), "--all", "--json")
    nodes = json.loads(r.stdout)["nodes"]
    check([n["city"] for n in nodes] == CITIES and all(n["up"] for n in nodes),
          "status --all: every city up")
    check(all(n["height"] >= height and n["peers_up"] == 3 for n in nodes), "status --all: heights, peers")
    r = qchain("status", "--api", "http://127.0.0.1:%d/" % C.api_port("zibo"), "--genesis", genesis)
    check("zibo" in r.stdout and "HEIGHT" in r.stdout and "3/3" in r.stdout, "status table: %s" % r.stdout)

    out = os.path.join(C.tmp, "fetched.receipt.json")
    r = qchain("receipt", digest, "--config", C.config("liaocheng"), "--out", out, "--json")
    j = json.loads(r.stdout)
    check(j["valid"] and j["city"] == "jinan" and j["height"] == height and j["receipt"] == out,
          "receipt --json: %r" % j)
    r = qchain("verify", file, "--receipt", out, "--genesis", genesis)
    check("VALID" in r.stdout, "qchain verify accepts the fetched receipt")
    r = qchain("receipt", "--file", file, "--api", "http://127.0.0.1:%d" % C.api_port("taian"),
               "--genesis", genesis)
    check(os.path.exists(file + ".receipt.json") and "VALID" in r.stdout, "receipt --file writes FILE.receipt.json")
    r = qchain("receipt", digest, "--config", C.config("liaocheng"), "--out", "-")  # as above
    check(json.loads(r.stdout) == json.load(open(out)), "receipt --out - prints the receipt")
    missing = os.path.join(C.tmp, "missing.json")
    r = qchain("receipt", "ee" * 32, "--config", C.config("zibo"), "--out", missing, ok=(1,))
    check("not been anchored" in r.stderr and not os.path.exists(missing), "unanchored digest: exit 1, no file")
    other = os.path.join(C.tmp, "other.txt")
    open(other, "w").write("never anchored\n")
    r = qchain("receipt", "--file", other, "--config", C.config("zibo"), ok=(1,))
    check(not os.path.exists(other + ".receipt.json"), "receipt --file of an unanchored file: exit 1, no file")

    # A second city anchoring the same file gets a receipt of its own anchoring (issue 11: zibo
    # was handed jinan's receipt of block `height`).
    again = os.path.join(C.tmp, "again")
    os.makedirs(again)
    copy = os.path.join(again, os.path.basename(file))
    open(copy, "wb").write(open(file, "rb").read())
    r = qchain("anchor", copy, "--config", C.config("zibo"), "--wait-ms", "15000", "--json")
    z = json.loads(r.stdout)
    zr = json.load(open(copy + ".receipt.json"))
    check(z["height"] > height and z["records"][0]["height"] == z["height"]
          and zr["cert"]["height"] == z["height"], "second anchoring: its own block %r" % z)
    r = qchain("verify", copy, "--receipt", copy + ".receipt.json", "--genesis", genesis, "--json")
    check(json.loads(r.stdout)["city"] == "zibo", "second anchoring's receipt proves zibo's seal")
    # committed at zibo; taian and jinan, read below, may apply that block a moment later
    C.wait_height(["taian", "jinan"], z["height"])
    r = qchain("receipt", digest, "--tx", z["tx_id"], "--config", C.config("taian"), "--out", "-")
    got = json.loads(r.stdout)  # another node's certificate may carry another quorum of votes
    check(all(got[k] == zr[k] for k in ("record", "tx", "header", "inclusion")),
          "receipt --tx fetches that anchoring's receipt")
    rec = get_json("jinan", "/v1/records/" + digest)
    check([a["city"] for a in rec["anchorings"]] == ["jinan", "zibo"]
          and rec["anchorings"][1]["receipt"].endswith("?tx=" + z["tx_id"])
          and get_json("jinan", rec["anchorings"][1]["receipt"])["tx"] == zr["tx"],
          "record lists both anchorings, each with its receipt path")
    expect_error("jinan", "GET", "/v1/records/%s/receipt?tx=%s" % (digest, "ab" * 32), 404, "not_found",
                 mentions="does not anchor")
    expect_error("jinan", "GET", "/v1/records/%s/receipt?tx=xyz" % digest, 400, "bad_request")
    r = qchain("receipt", digest, "--tx", "ab" * 32, "--config", C.config("zibo"), "--out", "-", ok=(1,))
    check("does not anchor" in r.stderr, "receipt --tx of another tx: exit 1 (%s)" % r.stderr.strip())

    # A salted record: a guessable licence anchored as a commitment; the chain never sees the
    # document's own SHA-256, and the receipt proves the file only together with its salt.
    salted = os.path.join(C.tmp, "licence.txt")
    open(salted, "w").write("Business licence JN-2026-000123\n")
    r = qchain("anchor", salted, "--salted", "--config", C.config("jinan"), "--wait-ms", "15000", "--json")
    sj = json.loads(r.stdout)["records"][0]
    # committed at jinan; taian, whose receipt of it is fetched below, may apply that block later
    C.wait_height("taian", json.loads(r.stdout)["height"])
    salt_file = salted + ".salt"
    plain = hashlib.sha256(open(salted, "rb").read()).hexdigest()
    salt = bytes.fromhex(open(salt_file).read().strip())
    check(sj["salt"] == salt_file and os.stat(salt_file).st_mode & 0o777 == 0o600
          and sj["digest"] == hashlib.sha256(b"qchain/v1/salted-record\x00" + salt
                                             + open(salted, "rb").read()).hexdigest(),
          "anchor --salted: FILE.salt (0600) and the salted digest %r" % sj)
    expect_error("zibo", "GET", "/v1/records/" + plain, 404, "not_found")
    r = qchain("verify", salted, "--receipt", salted + ".receipt.json", "--genesis", genesis,
               "--salt", salt_file, "--json")
    check(json.loads(r.stdout)["salted"] is True, "verify --salt accepts the salted record")
    r = qchain("verify", salted, "--receipt", salted + ".receipt.json", "--genesis", genesis, ok=(1,))
    check("INVALID" in r.stdout and "--salt" in r.stdout, "verify without the salt: invalid, with a hint: %s" % r.stdout)
    r = qchain("receipt", "--file", salted, "--salt", salt_file, "--config", C.config("taian"), "--out", "-")
    check(json.loads(r.stdout)["record"]["digest"] == sj["digest"], "receipt --file --salt finds it")
    r = qchain("anchor", salted, "--salted", "--config", C.config("jinan"), ok=(1,))
    check("exists" in r.stderr and bytes.fromhex(open(salt_file).read().strip()) == salt,
          "anchor --salted never overwrites a salt file")

    r = qchain("block", str(height), "--config", C.config("taian"), "--json")
    b = json.loads(r.stdout)
    check(b["header"]["height"] == height and len(b["signers"]) >= 3 and set(b["signers"]) <= set(CITIES)
          and b["quorum"] == 3, "block --json: signers by city %r" % b.get("signers"))
    r = qchain("block", "--hash", b["header"]["hash"], "--config", C.config("jinan"))
    cert_line = [x for x in r.stdout.splitlines() if x.strip().startswith("certificate")]
    signed = cert_line[0].split(":", 2)[-1].replace(",", " ").split() if cert_line else []
    check("block %d of chain it-api" % height in r.stdout and b["header"]["hash"] in r.stdout
          and "verified" in cert_line[0] and len(signed) >= 3 and set(signed) <= set(CITIES),
          "block --hash prints the block and its signers by city: %s" % r.stdout)
    r = qchain("block", "999999", "--config", C.config("jinan"), ok=(1,))
    check("no block" in r.stderr, "block past the head: exit 1 (%s)" % r.stderr.strip())
    return b


def check_lying_node(digest, block):
    """A node that serves an edited receipt or block: the CLI refuses, writes nothing."""
    rec = get_json("zibo", "/v1/records/%s/receipt" % digest)
    bad_rec = json.loads(json.dumps(rec))
    bad_rec["cert"]["votes"][0]["sig"] = flip_hex(bad_rec["cert"]["votes"][0]["sig"])
    bad_block = json.loads(json.dumps({k: block[k] for k in ("header", "txs", "cert")}))
    bad_block["cert"]["votes"][1]["sig"] = flip_hex(bad_block["cert"]["votes"][1]["sig"])
    h = block["header"]["height"]
    wrong = get_json("zibo", "/v1/blocks/1")
    liar = LyingNode({"/v1/records/%s/receipt" % digest: bad_rec, "/v1/blocks/%d" % h: bad_block,
                      "/v1/blocks/%d" % (h + 1): wrong})
    try:
        out = os.path.join(C.tmp, "lied.json")
        r = qchain("receipt", digest, "--api", liar.url, "--genesis", C.genesis(), "--out", out, ok=(1,))
        check("does not verify" in r.stderr and "signature by" in r.stderr and not os.path.exists(out),
              "an edited receipt is refused and not written: %s" % r.stderr.strip())
        r = qchain("block", str(h), "--api", liar.url, "--genesis", C.genesis(), ok=(1,))
        check("signature by" in r.stderr and r.stdout == "", "an edited block certificate is refused: %s" % r.stderr.strip())
        if h != 1:
            r = qchain("block", str(h + 1), "--api", liar.url, "--genesis", C.genesis(), ok=(1,))
            check("another block" in r.stderr, "a block other than asked for is refused: %s" % r.stderr.strip())
    finally:
        liar.close()


def main():
    C.make_testnet("it-api")
    limit_config()
    C.start_all_and_link()
    docs = C.write_docs("a", 3)
    first = json.loads(C.anchor("jinan", docs).stdout)
    digest, file, tx_id = first["records"][0]["digest"], docs[0], first["tx_id"]
    C.wait_for("all nodes at the first block", lambda: len(set(C.heights(CITIES))) == 1)
    old_cp = get_json("jinan", "/v1/checkpoint")
    check(old_cp["log_size"] == 3 and old_cp["chain_id"] == "it-api", "checkpoint after 3 records")

    check_request_errors(digest, tx_id)
    check_limits()
    check_reads(digest, tx_id)
    check_web()
    check_genesis()
    check_peers()

    for i, city in enumerate(("zibo", "liaocheng", "jinan")):  # taian: wait_ms <= 3000
        C.anchor(city, C.write_docs("g%d" % i, i + 1))
    C.wait_for("agreement after growth", lambda: len({(C.status(c) or {}).get("head_hash") for c in CITIES}) == 1)
    # Checkpoint notes are signed at checkpoint heights or once the chain is idle (300 ms).
    C.wait_for("a signed checkpoint of the grown log",
               lambda: get_json("jinan", "/v1/checkpoint")["log_size"] > old_cp["log_size"])
    new_cp = get_json("jinan", "/v1/checkpoint")
    pairs = check_consistency_across_growth(old_cp, new_cp)
    check_metrics()
    block = check_cli(digest, file, first["height"])
    check_lying_node(digest, block)

    # One node down: status --all says so and fails.
    C.procs["liaocheng"].send_signal(signal.SIGTERM)
    C.procs["liaocheng"].wait(timeout=10)
    r = qchain("status", "--config", C.config("jinan"), "--all", "--json", ok=(1,))
    nodes = {n["city"]: n for n in json.loads(r.stdout)["nodes"]}
    check(not nodes["liaocheng"]["up"] and all(nodes[c]["up"] for c in CITIES[:3]),
          "status --all marks the stopped node down and exits 1")
    C.wait_for("/v1/peers shows liaocheng's link down", lambda: [
        m["link_up"] for m in peers_view("zibo")["members"]] == [True, True, True, False])

    C.stop_all(signal.SIGTERM)
    check(all(p.returncode == 0 for p in C.procs.values()), "SIGTERM stops every node with exit 0")
    print("it_api: %d checks passed (%d consistency pairs)" % (C.checks, pairs))
    shutil.rmtree(C.tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        C.stop_all(signal.SIGKILL)
