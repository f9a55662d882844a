#!/usr/bin/env python3
"""it_client_opts.py - the client's side of the operator's path on a real four-node consortium:
a city's signing host holds only the genesis file, its seal key (encrypted) and the passphrase,
and no node config; zibo's node holds no seal key at all. From that host `qchain anchor`,
`qchain dataset publish` and `qchain endorse` sign with --api --genesis --seal-key (passphrase
from --passphrase-file or QCHAIN_PASSPHRASE), the signing city is found by its seal key, the
receipt verifies offline; with zibo's config, whose keys.seal is gone, --seal-key replaces it;
a key of no member, a key of another city than the --config's, and a missing passphrase are
refused (exit 1). `qchain genesis --hash` prints the hash the nodes
serve. Through a TLS proxy in front of jinan's API (a self-signed certificate made with the
openssl command), status and endorse work with --cacert and
fail without it. `qchain status --all` shows the node it was given as up at the address it was
given, and a stopped member's loopback-only address as such, not as a bare "down"."""
import hashlib, http.client, http.server, json, os, shutil, signal, ssl, subprocess, threading

from cluster import BIN, NearApiCluster, port_base

# 24000..24999 is this test's range (below the kernel's ephemeral ports, 32768 on): p2p at base+1..4, APIs at base+501..504, the TLS proxy at
# base+450.
C = NearApiCluster("it_client_opts", port_base(24000, 400), 500)
check, fail, qchain = C.check, C.fail, C.qchain
QCHAIN = os.path.abspath(os.path.join(BIN, "qchain"))
PASSPHRASE = "correct horse battery staple"


def on_host(host, *args, env_extra=None, drop_env=(), ok=(0,)):
    """qchain ARGS run in directory host (a signing host: no node config there)."""
    env = {k: v for k, v in os.environ.items() if k not in drop_env and k != "QCHAIN_PASSPHRASE"}
    env.update(env_extra or {})
    r = subprocess.run([QCHAIN] + list(args), cwd=host, capture_output=True, text=True,
                       timeout=60, env=env)
    if r.returncode not in ok:
        fail("(in %s) qchain %s -> %d\n%s%s" % (host, " ".join(args), r.returncode, r.stdout,
                                                r.stderr))
    return r


class Proxy(http.server.BaseHTTPRequestHandler):
    """A TLS-terminating reverse proxy to one node's API (what an operator puts in front)."""
    upstream = 0

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        up = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        headers = {"Content-Type": self.headers["Content-Type"]} if self.headers["Content-Type"] else {}
        up.request(self.command, self.path, body=body, headers=headers)
        r = up.getresponse()
        data = r.read()
        self.send_response(r.status)
        self.send_header("Content-Type", r.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        up.close()

    do_GET = do_POST = forward

    def log_message(self, *args):
        pass


def start_tls_proxy(upstream_port, port):
    """Makes a self-signed certificate for 127.0.0.1 (the openssl command, which make deps
    installs) and serves the proxy: the CA file and the server."""
    C.check(shutil.which("openssl") is not None, "the openssl command is installed (make deps)")
    cert, key = os.path.join(C.tmp, "proxy-cert.pem"), os.path.join(C.tmp, "proxy-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    Proxy.upstream = upstream_port
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return cert, server


def make_signing_host():
    """zibo's signing host: a new encrypted seal key (the genesis is edited to name it before
    any node starts), the passphrase file and the genesis; zibo's node keeps no seal key."""
    host = os.path.join(C.tmp, "zibo-signing-host")
    os.mkdir(host)
    with open(os.path.join(host, "pass.txt"), "w") as f:
        f.write(PASSPHRASE + "\n")
    os.chmod(os.path.join(host, "pass.txt"), 0o600)
    r = on_host(host, "keygen", "--role", "seal", "--encrypt", "--kdf", "min",
                "--passphrase-file", "pass.txt", "--out", "seal.key", "--json")
    new_pub = json.loads(r.stdout)["public"]
    text = open(C.genesis(), encoding="utf-8").read()
    old_pub = [m for m in json.loads(text)["members"] if m["name"] == "zibo"][0]["seal_key"]
    check(text.count(old_pub) == 1, "zibo's seal key appears once in the genesis")
    open(C.genesis(), "w", encoding="utf-8").write(text.replace(old_pub, new_pub))
    for ext in ("key", "pub"):
        os.remove(os.path.join(C.tmp, "zibo", "keys", "seal." + ext))
    shutil.copy(C.genesis(), os.path.join(host, "genesis.json"))
    return host


def signing_from_host(host):
    api = "http://127.0.0.1:%d" % C.api_port("zibo")
    sign = ("--api", api, "--genesis", "genesis.json", "--seal-key", "seal.key")

    # the hash the nodes serve is the genesis file's as `qchain genesis --hash` prints it
    h = on_host(host, "genesis", "--hash", "genesis.json").stdout.strip()
    check(h == C.status("zibo")["genesis_hash"], "genesis --hash %s is the nodes' genesis_hash" % h)

    with open(os.path.join(host, "permit.txt"), "w") as f:
        f.write("building permit 2024-117, signed on the city's signing host\n")
    r = on_host(host, "anchor", "permit.txt", *sign, "--passphrase-file", "pass.txt",
                "--wait-ms", "15000", "--json")
    a = json.loads(r.stdout)
    digest = hashlib.sha256(open(os.path.join(host, "permit.txt"), "rb").read()).hexdigest()
    check(a["city"] == "zibo" and a["records"][0]["digest"] == digest,
          "anchor with --api/--genesis/--seal-key and no config, sealed by zibo: %r" % a)
    check(not any(n.endswith(".json") and n not in ("genesis.json", "permit.txt.receipt.json")
                  for n in os.listdir(host)),
          "the signing host holds no node config: %r" % os.listdir(host))
    v = json.loads(on_host(host, "verify", "permit.txt", "--receipt", "permit.txt.receipt.json",
                           "--genesis", "genesis.json", "--json").stdout)
    check(v["valid"] and v["city"] == "zibo" and v["file_matches"], "the receipt verifies: %r" % v)

    # the passphrase from QCHAIN_PASSPHRASE; none at all, or a wrong one, is refused
    d = on_host(host, "dataset", "publish", "permits-2024", "--schema", "ab" * 32, *sign,
                "--wait-ms", "15000", "--json", env_extra={"QCHAIN_PASSPHRASE": PASSPHRASE})
    p = json.loads(d.stdout)
    check(p["op"] == "dataset" and p["city"] == "zibo", "dataset publish with no config: %r" % p)
    r = on_host(host, "anchor", "permit.txt", *sign, "--no-receipt", ok=(1,))
    check("passphrase" in r.stderr, "no passphrase: refused: %r" % r.stderr)
    r = on_host(host, "anchor", "permit.txt", *sign, "--no-receipt", ok=(1,),
                env_extra={"QCHAIN_PASSPHRASE": "wrong"})
    check("seal key" in r.stderr, "a wrong passphrase: refused: %r" % r.stderr)

    # with zibo's config (whose keys.seal is gone from the node's host) --seal-key replaces it
    r = on_host(host, "anchor", "permit.txt", "--config", C.config("zibo"), "--no-receipt", ok=(1,))
    check("seal key" in r.stderr and "no such file" in r.stderr,
          "zibo's config alone: its seal key is not on the node's host: %r" % r.stderr)
    with open(os.path.join(host, "permit-2.txt"), "w") as f:
        f.write("building permit 2024-118\n")
    r = on_host(host, "anchor", "permit-2.txt", "--config", C.config("zibo"), "--seal-key",
                "seal.key", "--passphrase-file", "pass.txt", "--wait-ms", "15000", "--json")
    check(json.loads(r.stdout)["city"] == "zibo", "--config with --seal-key: %r" % r.stdout)

    # usage: without a config all three are needed, and --genesis is not for a config
    r = on_host(host, "anchor", "permit.txt", "--api", api, "--seal-key", "seal.key", ok=(2,))
    check("--seal-key FILE, is required" in r.stderr, "--api without --genesis: usage: %r" % r.stderr)
    r = on_host(host, "revoke", digest, "--reason", "1", "--config", C.config("zibo"), "--genesis",
                "genesis.json", ok=(2,))
    check("--genesis is for use without --config" in r.stderr, "--config with --genesis: %r" % r.stderr)

    # a key of no member; a key of another city than the config's
    on_host(host, "keygen", "--role", "seal", "--out", "stray.key")
    r = on_host(host, "anchor", "permit.txt", "--api", api, "--genesis", "genesis.json",
                "--seal-key", "stray.key", "--no-receipt", ok=(1,))
    check("no member's seal key" in r.stderr, "a stray seal key is refused: %r" % r.stderr)
    r = on_host(host, "anchor", "permit.txt", "--config", C.config("taian"), "--seal-key",
                os.path.join(C.tmp, "jinan", "keys", "seal.key"), "--no-receipt", ok=(1,))
    check("is jinan's seal key, not that of the config's city taian" in r.stderr,
          "--seal-key of another city than the config's: %r" % r.stderr)
    return digest


def tls_checks(host, digest, cacert):
    """Through the TLS proxy in front of jinan's API: --cacert is needed and enough."""
    url = "https://127.0.0.1:%d" % (C.base + 450)
    r = qchain("status", "--api", url, "--genesis", C.genesis(), ok=(1,))
    check("DOWN" in r.stdout and ("certificate" in r.stdout.lower() or "SSL" in r.stdout),
          "https without --cacert: the self-signed proxy is refused: %r" % r.stdout)
    r = qchain("status", "--api", url, "--genesis", C.genesis(), "--cacert", cacert, "--json")
    check(json.loads(r.stdout)["nodes"][0]["city"] == "jinan", "status over https with --cacert")
    r = qchain("status", "--api", url, "--genesis", C.genesis(), "--cacert",
               os.path.join(C.tmp, "no-such-ca.pem"), ok=(1,))
    check("--cacert" in r.stderr and "No such file or directory" in r.stderr,
          "a missing --cacert file: %r" % r.stderr)
    r = qchain("status", "--all", "--api", url, "--genesis", C.genesis(), "--cacert", cacert, "--json")
    nodes = json.loads(r.stdout)["nodes"]
    check(nodes[0]["city"] == "jinan" and nodes[0]["api"] == url and nodes[0]["up"]
          and all(n["up"] for n in nodes) and len(nodes) == 4,
          "status --all through the proxy: jinan as asked, the others at their addresses: %r" % nodes)
    # taian endorses zibo's record with no config, through the proxy; the record was committed
    # at zibo, and jinan (behind the proxy) may apply that block a moment later
    C.wait_for("jinan knows zibo's record %s" % digest[:12],
               lambda: C.api("jinan", "/v1/records/" + digest)[0] == 200, secs=30)
    e = on_host(host, "endorse", digest, "--purpose", "1", "--api", url, "--genesis", "genesis.json",
                "--seal-key", os.path.join(C.tmp, "taian", "keys", "seal.key"), "--cacert", cacert,
                "--wait-ms", "15000", "--json")
    j = json.loads(e.stdout)
    check(j["type"] == "endorse" and j["city"] == "taian", "endorse over https, no config: %r" % j)


def loopback_checks():
    """A stopped member whose API address is loopback-only is said to be so; the node asked is up."""
    C.procs["liaocheng"].send_signal(signal.SIGTERM)
    C.procs["liaocheng"].wait(timeout=20)
    r = qchain("status", "--all", "--config", C.config("jinan"), "--json", ok=(1,))
    nodes = {n["city"]: n for n in json.loads(r.stdout)["nodes"]}
    lc = nodes["liaocheng"]
    check(nodes["jinan"]["up"] and nodes["zibo"]["up"] and not lc["up"] and lc.get("loopback")
          and ("loopback-only API address 127.0.0.1:%d: not reachable from here" % C.api_port("liaocheng"))
          in lc["error"], "status --all: liaocheng's loopback-only address: %r" % lc)
    r = qchain("status", "--all", "--config", C.config("jinan"), ok=(1,))
    check("UNREACHABLE" in r.stdout and "loopback-only" in r.stdout and "jinan" in r.stdout,
          "status --all table: %r" % r.stdout)


def metric_sum(city, family):
    """The sum of every sample of a metric family on city's node."""
    return sum(float(line.split()[-1]) for line in C.metrics(city).splitlines()
               if line.startswith(family + " ") or line.startswith(family + "{"))


def many_files(host):
    """More files than one transaction holds: one transaction per 1024, sent as one batch
    (POST /v1/transactions with an array), every receipt written and verified."""
    api = "http://127.0.0.1:%d" % C.api_port("zibo")
    d = os.path.join(host, "batch")
    os.makedirs(d)
    names = []
    for i in range(1100):
        names.append("batch/permit-%04d.txt" % i)
        with open(os.path.join(host, names[-1]), "w") as f:
            f.write("permit %d\n" % i)
    accepted0 = metric_sum("zibo", "qchain_http_requests_total")
    r = on_host(host, "anchor", *names, "--api", api, "--genesis", "genesis.json", "--seal-key",
                "seal.key", "--passphrase-file", "pass.txt", "--wait-ms", "30000", "--json")
    a = json.loads(r.stdout)
    check(len(a["transactions"]) == 2 and len(a["records"]) == 1100 and
          all(t["height"] >= 1 for t in a["transactions"]),
          "1100 files: two transactions, 1100 receipts: %r" % {k: a[k] for k in ("transactions",)})
    ids = {t["tx_id"] for t in a["transactions"]}
    check(len(ids) == 2, "two distinct transactions")
    requests = metric_sum("zibo", "qchain_http_requests_total") - accepted0
    check(requests < 1100 + 10, "one submission request for both transactions, not one per "
          "file (%d requests in all, receipts included)" % requests)
    v = json.loads(on_host(host, "verify", names[-1], "--receipt", names[-1] + ".receipt.json",
                           "--genesis", "genesis.json", "--json").stdout)
    check(v["valid"] and v["file_matches"], "the last file's receipt verifies: %r" % v)
    # all 1100 in one run, each receipt found where qchain anchor wrote it, on three threads
    r = on_host(host, "verify", *names, "--genesis", "genesis.json", "--workers", "3", "--json")
    vs = json.loads(r.stdout)
    check(len(vs) == 1100 and all(x["valid"] for x in vs) and
          [x["file"] for x in vs] == names, "qchain verify FILE... : all 1100 valid, in order")


def main():
    C.make_testnet("it-client-opts")
    host = make_signing_host()
    C.start_all_and_link()
    digest = signing_from_host(host)
    cacert, server = start_tls_proxy(C.api_port("jinan"), C.base + 450)
    tls_checks(host, digest, cacert)
    server.shutdown()
    many_files(host)
    loopback_checks()
    C.stop_and_pass()


C.run(main)
