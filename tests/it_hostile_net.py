#!/usr/bin/env python3
"""it_hostile_net.py - four real qchaind processes against a host with no keys (127.0.0.66)
that holds 150 silent connections on every node's peer port, reopened as fast as the nodes
close them (issue 9, item 2): the API keeps answering, a restarted validator rejoins, the
chain keeps committing, and the refusals cost a few log lines, not one each (item 3). Then a
node started with a genesis file one byte longer is refused by the others, and every side logs
both genesis hashes (item 9). Every wait is bounded; a failure prints the nodes' log tails.
Ports: 22000..22999 (peers 22001..22403, APIs 22501..22903)."""
import atexit, errno, os, re, shutil, signal, socket, threading, time, urllib.request

from cluster import Cluster, port_base

PEER_BASE = port_base(22000, 300)  # +100 in the sanitizer build: at most 22399
API_BASE = PEER_BASE + 500
ATTACKER = "127.0.0.66"
SILENT_PER_PORT = 150  # the number; the old shared limit was 64 per node

C = Cluster("it_hostile_net", PEER_BASE)
C.api_port = lambda city: API_BASE + C.cities.index(city) + 1
CITIES = C.cities
fail, check, status, wait_for = C.fail, C.check, C.status, C.wait_for


class Flood:
    """SILENT_PER_PORT connections from ATTACKER to each port that never send a byte; any the
    node closes is reopened at once, from a thread, until stop()."""

    def __init__(self, ports):
        self.ports = ports
        self.socks = {p: [None] * SILENT_PER_PORT for p in ports}
        self.opened = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def open(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((ATTACKER, 0))
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            return None
        self.opened += 1
        return s

    @staticmethod
    def closed(s):
        try:
            return s.recv(1, socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            return e.errno != errno.ENOTCONN  # still connecting is not closed

    def run(self):
        while self.running:
            for port, socks in self.socks.items():
                for i, s in enumerate(socks):
                    if s is not None and not self.closed(s):
                        continue
                    if s is not None:
                        s.close()
                    try:
                        socks[i] = self.open(port)
                    except OSError:
                        socks[i] = None
            time.sleep(0.005)

    def stop(self):
        self.running = False
        self.thread.join(timeout=10)
        for socks in self.socks.values():
            for s in socks:
                if s is not None:
                    s.close()


def api_latency_max(secs):
    """The slowest /v1/status answer over secs, in seconds, polling every node in turn; an
    unanswered request counts as its 5 s timeout."""
    worst, deadline = 0.0, time.time() + secs
    while time.time() < deadline:
        for c in CITIES:
            t0 = time.time()
            code, _ = C.api(c, "/v1/status", timeout=5)
            worst = max(worst, time.time() - t0 if code == 200 else 5.0)
        time.sleep(0.05)
    return worst


def metrics_text(city):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % C.api_port(city), timeout=5) as r:
        return r.read().decode()


def log_lines(city, needle):
    with open(os.path.join(C.tmp, city + ".log"), errors="replace") as f:
        return [l for l in f if needle in l]


def heights_equal_above(h):
    hs = C.heights(CITIES)
    return None not in hs and len(set(hs)) == 1 and hs[0] > h


def main():
    C.qchain("testnet", "--out", C.tmp, "--cities", str(len(CITIES)), "--base-port",
             str(PEER_BASE), "--api-base-port", str(API_BASE), "--chain-id", "it-hostile")
    C.start_all_and_link()
    C.anchor("jinan", C.write_docs("before", 2))
    wait_for("a first block everywhere", lambda: heights_equal_above(0))

    # 1. The flood: 150 silent connections per peer port from one address without keys.
    flood = Flood([PEER_BASE + i + 1 for i in range(len(CITIES))])
    time.sleep(3)
    check(flood.opened > SILENT_PER_PORT * len(CITIES), "the flood is reopening what nodes close")
    worst = api_latency_max(5)
    check(worst < 2.0, "the API answers during the flood (slowest %.2f s)" % worst)

    # 2. A validator restarts under the flood and must rejoin; the chain keeps committing.
    C.procs["zibo"].terminate()
    C.procs["zibo"].wait(timeout=20)
    C.start("zibo")
    peers = len(CITIES) - 1
    wait_for("zibo rejoined every peer under the flood",
             lambda: all((status(c) or {}).get("peers_up") == peers for c in CITIES), secs=30)
    h = max(C.heights(CITIES))
    C.anchor("zibo", C.write_docs("during", 3))
    wait_for("blocks committed everywhere under the flood", lambda: heights_equal_above(h),
             secs=30)
    worst = api_latency_max(3)
    check(worst < 2.0, "the API still answers (slowest %.2f s)" % worst)
    opened = flood.opened
    flood.stop()
    check(opened > 5 * SILENT_PER_PORT * len(CITIES),
          "thousands of refused connections (%d opened)" % opened)

    # The refusals and the suppressed lines are counted where an operator's alerts look.
    for c in CITIES:
        text = metrics_text(c)
        refused = re.search(r'^qchain_net_handshakes_refused_total\{reason="refused"\} (\d+)$',
                            text, re.M)
        check(refused is not None and int(refused.group(1)) > 0,
              "%s counts budget refusals in /metrics" % c)
        suppressed = re.search(r"^qchain_log_suppressed_total (\d+)$", text, re.M)
        check(suppressed is not None and int(suppressed.group(1)) > 0,
              "%s counts the log lines it left out" % c)

    # 3. Refusals are rate-limited: 10 lines a minute per kind, not one per connection.
    for c in CITIES:
        lines = log_lines(c, ATTACKER)
        check(len(lines) <= 60, "%s logged %d lines about the attacker" % (c, len(lines)))
        size = os.path.getsize(os.path.join(C.tmp, c + ".log"))
        check(size < 1 << 20, "%s's log stays small (%d bytes)" % (c, size))

    # 4. A genesis one byte longer is another chain: refused both ways, both hashes logged.
    C.procs["liaocheng"].terminate()
    C.procs["liaocheng"].wait(timeout=20)
    wait_for("liaocheng seen down",
             lambda: (status("jinan") or {}).get("peers_up") == peers - 1)
    genesis = C.genesis()
    altered = os.path.join(C.tmp, "liaocheng", "genesis-altered.json")
    with open(genesis, "rb") as f, open(altered, "wb") as g:
        g.write(f.read() + b"\n")
    cfg = C.config("liaocheng")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace('"../genesis.json"', '"genesis-altered.json"'))

    shutil.rmtree(os.path.join(C.tmp, "liaocheng", "data"))
    C.start("liaocheng")
    wait_for("liaocheng serves on its own chain", lambda: status("liaocheng") is not None)
    ours = status("jinan")["genesis_hash"]
    theirs = status("liaocheng")["genesis_hash"]
    check(ours != theirs, "a changed byte gives another genesis hash")
    wait_for("both sides log the wrong chain with both hashes", lambda: all(
        any(ours in l and theirs in l for l in log_lines(c, "wrong chain"))
        for c in ("jinan", "liaocheng")))
    check(any(theirs in l for l in log_lines("liaocheng", "genesis")),
          "liaocheng logs its genesis hash at start")
    check((status("liaocheng") or {}).get("peers_up") == 0, "liaocheng links to no one")
    check((status("jinan") or {}).get("peers_up") == peers - 1, "the others stay linked")

    C.stop_all(signal.SIGTERM)
    codes = {c: p.returncode for c, p in C.procs.items()}
    check(set(codes.values()) == {0}, "every node stops cleanly under SIGTERM: %s" % codes)
    shutil.rmtree(C.tmp, ignore_errors=True)
    print("it_hostile_net: %d checks passed" % C.checks)


if __name__ == "__main__":
    atexit.register(C.stop_all, signal.SIGKILL)  # whatever happens, no node outlives the test
    main()
