#!/usr/bin/env python3
"""it_hostile_http.py - hostile HTTP clients against a real four-node consortium (issue 9): a
client that pipelines requests and then resets the connection (SO_LINGER 0) must not kill the
node (SIGPIPE); one address holding more slow connections than the server allows (slowloris)
must not deny the API to anyone else, and neither must many addresses together; a trickle of
header bytes is cut off at the header deadline counted from accept. The nodes start under a soft
open-file limit of 1024, which qchaind must raise to hold its 1,024 API connections. After each
attack the node still serves and the chain still commits. Every wait is bounded."""
import json, os, re, signal, socket, struct, subprocess, sys, time

from cluster import BIN, Cluster, port_base

# 21000..21489 for the peer ports, +500 for the APIs: this test's own range (21000..21999).
BASE = port_base(21000, 490)
API_OFFSET = 500
STATUS = b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
SLOW_HEAD = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: "  # never finished
SHORT_HEAD_CITY = "taian"  # configured with a short header deadline before it starts
SHORT_HEAD = {"header_timeout_ms": 1000, "request_timeout_ms": 20000}


class HostileCluster(Cluster):
    """A cluster whose API ports sit API_OFFSET above the peer ports, inside this test's range."""

    def api_port(self, city):
        return self.base + API_OFFSET + self.cities.index(city) + 1

    def start(self, city):
        """As Cluster.start, but under a soft open-file limit of 1024 (a common default), which
        a node allowing 1,024 API connections must raise to survive a flood."""
        import resource
        log = open(os.path.join(self.tmp, city + ".log"), "a")
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        soft = 1024 if hard == resource.RLIM_INFINITY or hard > 1024 else hard
        self.procs[city] = subprocess.Popen(
            [os.path.join(BIN, "qchaind"), "--config", self.config(city)], stdout=log, stderr=log,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))

    def make_testnet(self, chain_id):
        self.qchain("testnet", "--out", self.tmp, "--cities", str(len(self.cities)),
                    "--base-port", str(self.base), "--api-base-port", str(self.base + API_OFFSET),
                    "--chain-id", chain_id)


C = HostileCluster("it_hostile_http", BASE)
check, fail = C.check, C.fail


def alive(city):
    rc = C.procs[city].poll()
    check(rc is None, "%s is still running (exit status %s)" % (city, rc))


def commits(city, tag):
    """The chain still commits through city's API (the CLI anchors and waits for the block)."""
    before = (C.status(city) or {}).get("height", 0)
    C.anchor(city, C.write_docs(tag, 1))
    after = (C.status(city) or {}).get("height", 0)
    check(after > before, "a new block committed after %s (%d -> %d)" % (tag, before, after))


def reset(s):
    """Closes s with RST instead of FIN (SO_LINGER on, 0 s)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def connect(city, source="127.0.0.1", timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", C.api_port(city)))
    return s


def check_pipeline_reset(city):
    """Item 1: 50 pipelined requests, then RST before reading any answer. The server's writes
    then hit a reset socket (EPIPE); with SIGPIPE not ignored that killed the node with status
    141 and no log line."""
    for _ in range(20):
        s = connect(city)
        s.sendall(STATUS * 50)
        reset(s)
    time.sleep(0.5)
    alive(city)
    check(C.status(city) is not None, "%s serves after 20 pipelined-then-reset clients" % city)
    commits(city, "after-reset")


def read_response(s):
    """One response from s: (status, body), or (None, b"") if the server closed first."""
    out = b""
    while True:
        head, sep, body = out.partition(b"\r\n\r\n")
        m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
        if sep and m and len(body) >= int(m.group(1)):
            break
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            break
        out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    return (int(m.group(1)) if m else None), body


def fresh_status(city, source="127.0.0.1", secs=3):
    """A new client's GET /v1/status: its status code, or None; it must come within secs."""
    t0 = time.time()
    try:
        s = connect(city, source, timeout=secs)
        s.sendall(STATUS)
        status, _ = read_response(s)
        s.close()
    except OSError:
        status = None
    return status if time.time() - t0 < secs else None


def metric(city, name, label):
    s = connect(city)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    _, body = read_response(s)
    s.close()
    m = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(label)), body.decode(), re.M)
    return int(m.group(1)) if m else None


def open_slow(city, source, n):
    """n connections from source that each send an unfinished request head."""
    socks = []
    for _ in range(n):
        try:
            s = connect(city, source)
            s.sendall(SLOW_HEAD)
            socks.append(s)
        except OSError:
            pass  # the server may already have closed an older one of ours: fine
    return socks


def closed_by_server(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def check_one_address_flood(city):
    """Item 4: one address opens 1,100 slow connections (more than max_connections, 1024). It
    keeps at most max_connections_per_client (64) of them: each new one evicts its own oldest.
    Everyone else is served at once, throughout, and the chain commits."""
    before = metric(city, "qchain_http_rejected_total", 'reason="evicted"') or 0
    socks = []
    try:
        for batch in range(11):
            socks += open_slow(city, "127.0.0.2", 100)
            status = fresh_status(city)
            check(status == 200, "a fresh client is served during the one-address flood "
                  "(batch %d: %s)" % (batch, status))
        time.sleep(0.5)
        kept = [s for s in socks if not closed_by_server(s)]
        check(len(kept) <= 64, "the flooding address keeps at most 64 connections (%d of %d)"
              % (len(kept), len(socks)))
        evicted = (metric(city, "qchain_http_rejected_total", 'reason="evicted"') or 0) - before
        check(evicted >= len(socks) - 64, "its older connections were evicted (%d)" % evicted)
        commits(city, "one-address-flood")
    finally:
        for s in socks:
            s.close()
    alive(city)


def check_many_address_flood(city):
    """Many addresses (40 x 30 slow connections: 1,200, over the 1,024 total, each address under
    its own limit) fill the server. A fresh client still gets in (the address holding the most
    connections loses its oldest), and a quiet client's idle keep-alive connection, opened
    before the flood, is not the one evicted."""
    quiet = connect(city, "127.0.0.3")
    quiet.sendall(STATUS)
    check(read_response(quiet)[0] == 200, "the quiet client's first request")
    socks = []
    try:
        for a in range(40):
            socks += open_slow(city, "127.0.0.%d" % (10 + a), 30)
            if a % 8 == 7:
                status = fresh_status(city)
                check(status == 200, "a fresh client is served during the many-address flood "
                      "(%d addresses: %s)" % (a + 1, status))
        quiet.sendall(STATUS)
        check(read_response(quiet)[0] == 200, "the quiet client's idle keep-alive survived the flood")
        commits(city, "many-address-flood")
    finally:
        for s in socks:
            s.close()
        quiet.close()
    alive(city)


def check_trickle(city):
    """A client that trickles its request head a byte at a time is cut off at the header
    deadline counted from accept (taian: header_timeout_ms 1000, request_timeout_ms 20000)."""
    s = connect(city, timeout=10)
    t0 = time.time()
    status = None
    for ch in SLOW_HEAD + b"a" * 200:
        try:
            s.sendall(bytes([ch]))
        except OSError:
            break
        time.sleep(0.05)
        s.setblocking(False)
        try:
            got = s.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            got = None
        except OSError:
            got = b""
        s.setblocking(True)
        s.settimeout(10)
        if got is not None:
            status, body = read_response(s)
            break
    took = time.time() - t0
    s.close()
    check(status == 408 and b"request head" in body and 0.9 < took < 4,
          "a trickled head gets 408 at the header deadline (%s after %.2f s)" % (status, took))


def short_head_config():
    path = C.config(SHORT_HEAD_CITY)
    cfg = json.load(open(path))
    cfg["api"].update(SHORT_HEAD)
    json.dump(cfg, open(path, "w"), indent=2)


def check_cli_closed_pipe(city):
    """The CLI, like the node, ignores SIGPIPE: output into a pipe nobody reads is a reported
    write error (exit 1), not a silent death by signal."""
    p = subprocess.Popen([os.path.join(BIN, "qchain"), "status", "--config", C.config(city), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode(errors="replace")
    p.wait(timeout=30)
    check(p.returncode == 1 and "Broken pipe" in err,
          "qchain status into a closed pipe exits 1 naming the error (%s, %r)" % (p.returncode, err))


def main():
    C.make_testnet("it-hostile")
    short_head_config()
    C.start_all_and_link()
    commits("jinan", "first")
    check_pipeline_reset("jinan")
    check_cli_closed_pipe("zibo")
    check_one_address_flood("zibo")
    check_many_address_flood("liaocheng")
    check_trickle(SHORT_HEAD_CITY)
    C.stop_all(signal.SIGTERM)
    check(all(p.returncode == 0 for p in C.procs.values()),
          "SIGTERM stops every node with exit 0: %s" % {c: p.returncode for c, p in C.procs.items()})
    print("it_hostile_http: %d checks passed" % C.checks)
    C.remove_dir()


if __name__ == "__main__":
    try:
        main()
    finally:
        C.stop_all(signal.SIGKILL)
