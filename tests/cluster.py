"""cluster.py - a local consortium of real qchaind processes for the integration tests
(it_cluster.py, it_api.py): makes a testnet with `qchain testnet`, starts and stops nodes, calls
their API and the qchain CLI, counts checks, and on a failure prints the nodes' log tails and
kills every node it started. Every wait is bounded."""
import json, os, random, shutil, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request

BUILD = os.environ.get("BUILD", "build")
BIN = os.path.join(BUILD, "bin")
CITIES = ["jinan", "zibo", "taian", "liaocheng"]


def port_base(low, span):
    """A base port in low..low+span-1 that differs per process and between the normal and the
    sanitizer build, so two runs (or two tests with distinct ranges) do not collide."""
    return low + (os.getpid() * 7 + (100 if "asan" in BUILD else 0)) % span


class Cluster:
    def __init__(self, name, base, cities=CITIES):
        self.name = name
        self.base = base
        self.cities = list(cities)
        self.tmp = tempfile.mkdtemp(prefix="qchain-%s-" % name)
        self.procs = {}
        self.checks = 0

    # ---- verdicts
    def fail(self, msg):
        print("%s: FAILED: %s" % (self.name, msg))
        for c in self.cities:
            log = os.path.join(self.tmp, c + ".log")
            if os.path.exists(log):
                print("---- %s (last lines)" % c)
                print("".join(open(log, errors="replace").readlines()[-15:]))
        print("%s: FAILED: %s" % (self.name, msg[:2000]))  # again: run.sh shows the tail only
        self.stop_all(signal.SIGKILL)
        sys.exit(1)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)
        self.checks += 1

    # ---- processes
    def api_port(self, city):
        return self.base + 1000 + self.cities.index(city) + 1

    def config(self, city):
        return os.path.join(self.tmp, city, "node.json")

    def genesis(self):
        return os.path.join(self.tmp, "genesis.json")

    def make_testnet(self, chain_id):
        self.qchain("testnet", "--out", self.tmp, "--cities", str(len(self.cities)),
                    "--base-port", str(self.base), "--chain-id", chain_id)

    def start(self, city):
        log = open(os.path.join(self.tmp, city + ".log"), "a")
        self.procs[city] = subprocess.Popen([os.path.join(BIN, "qchaind"), "--config",
                                             self.config(city)], stdout=log, stderr=log)

    def start_all_and_link(self):
        for c in self.cities:
            self.start(c)
        peers = len(self.cities) - 1
        self.wait_for("all links up", lambda: all((self.status(c) or {}).get("peers_up") == peers
                                                  for c in self.cities))

    def stop_all(self, sig):
        for p in list(self.procs.values()):
            if p.poll() is None:
                p.send_signal(sig)
        for p in list(self.procs.values()):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def remove_dir(self):
        """Removes the test's directory (ledgers, logs, documents): after it passed; a failed
        test keeps it for whoever looks into the failure."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stop_and_pass(self):
        """Stops every node with SIGTERM, checks each exited cleanly (a sanitizer report makes
        a node exit non-zero), prints the pass line and removes the test's directory."""
        self.stop_all(signal.SIGTERM)
        for city, proc in self.procs.items():
            self.check(proc.returncode == 0, "%s exited cleanly (%s)" % (city, proc.returncode))
        print("%s: %d checks passed" % (self.name, self.checks))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def wait_for(self, what, pred, secs=20):
        deadline = time.time() + secs
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def run(self, main, on_error=None):
        """Runs main(); any error (not a verdict) fails the test, so the nodes are stopped and
        their logs shown. on_error (may be None) runs first, e.g. to stop a helper thread."""
        try:
            main()
        except SystemExit:
            raise
        except BaseException as e:  # noqa: any error must stop the nodes
            if on_error:
                on_error()
            self.fail("%s: %s" % (type(e).__name__, e))

    # ---- API and CLI
    def post_tx(self, city, signed):
        """POST a signed transaction {body, sig} to city's API: (status, parsed JSON)."""
        req = urllib.request.Request("http://127.0.0.1:%d/v1/transactions" % self.api_port(city),
                                     data=json.dumps(signed).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def api(self, city, path, timeout=5):
        """GET path on city's API: (status, parsed JSON), or (None, None) if unreachable."""
        url = "http://127.0.0.1:%d%s" % (self.api_port(city), path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")
        except (OSError, ValueError):
            return None, None

    def status(self, city):
        code, s = self.api(city, "/v1/status")
        return s if code == 200 else None

    def metrics(self, city):
        """GET /metrics of city's node: the Prometheus text."""
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.api_port(city), timeout=5) as m:
            return m.read().decode()

    def wait_agreement(self, cities):
        """Waits until every node of cities reports the same head hash."""
        self.wait_for("agreement", lambda: len({(self.status(c) or {}).get("head_hash")
                                                for c in cities}) == 1)

    def heights(self, cities):
        return [(self.status(c) or {}).get("height") for c in cities]

    def wait_height(self, cities, height, secs=30):
        """Waits until every node of cities (a name or a list) has applied block `height`. A
        block committed at one node (as the CLI or the client saw it) reaches the others a
        moment later, later still under load: a read at another node waits for it first."""
        cities = [cities] if isinstance(cities, str) else list(cities)
        self.wait_for("%s at height %d" % (", ".join(cities), height),
                      lambda: all(((self.status(c) or {}).get("height") or 0) >= height
                                  for c in cities), secs=secs)

    def qchain(self, *args, ok=(0,)):
        r = subprocess.run([os.path.join(BIN, "qchain")] + list(args), capture_output=True,
                           text=True, timeout=60)
        if r.returncode not in ok:
            self.fail("qchain %s -> %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def anchor(self, city, files, wait_ms=15000):
        return self.qchain("anchor", *files, "--config", self.config(city), "--wait-ms",
                           str(wait_ms), "--json")

    def write_docs(self, prefix, n):
        paths = []
        for i in range(n):
            p = os.path.join(self.tmp, "%s-%d.txt" % (prefix, i))
            open(p, "w").write("%s record %d %f\n" % (prefix, i, random.random()))
            paths.append(p)
        return paths


class NearApiCluster(Cluster):
    """A cluster whose API ports are base+api_offset+i instead of base+1000+i, so that a test
    given a port range narrower than 1000 fits its p2p and API ports in it."""

    def __init__(self, name, base, api_offset, cities=CITIES):
        super().__init__(name, base, cities)
        self.api_offset = api_offset

    def api_port(self, city):
        return self.base + self.api_offset + self.cities.index(city) + 1

    def make_testnet(self, chain_id):
        """`qchain testnet` puts the APIs at base+1000+i; move them to base+api_offset+i."""
        super().make_testnet(chain_id)
        for path in [self.genesis()] + [self.config(c) for c in self.cities]:
            text = open(path, encoding="utf-8").read()
            for i in range(len(self.cities)):
                text = text.replace("127.0.0.1:%d\"" % (self.base + 1000 + i + 1),
                                    "127.0.0.1:%d\"" % (self.base + self.api_offset + i + 1))
            open(path, "w", encoding="utf-8").write(text)
