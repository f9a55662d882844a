"""chaos.py - the chaos run (docs/RELIABILITY.md): the nine-city consortium, one network
namespace per city (testnet/netns.sh), clients anchoring records continuously while a seeded
schedule kills and restarts nodes, pauses them, partitions and heals cities (one-way too), adds
loss, delay and a bandwidth cap, fills one node's disk, and one city runs as a Byzantine node
(the test-only build). Afterwards everything is healed and the checker requires: every record a
client was told is committed is on every honest node, with a receipt that verifies offline; all
honest nodes hold identical blocks; commits resumed within STALL_BOUND_S after every heal. It
prints a table and exits 1 on any loss, divergence, bound violation or unexpected node exit.

usage: chaos.py --seed N [--minutes M | --seconds S] [--no-byz] [--keep]
Needs root; without it (or without ip/nft/tc) it says so and exits 1. Everything it creates
(namespaces, processes, tmpfs mounts) is removed at the end, also on failure or Ctrl-C."""
import argparse, hashlib, json, os, random, shutil, signal, subprocess, sys, tempfile, threading
import time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
QCHAIN = os.path.join(BUILD, "bin", "qchain")
# The fault build (make chaos-build; the sanitizer pass builds its own and names it here).
CHAOS_QCHAIND = os.environ.get("QC_CHAOS_QCHAIND", os.path.join("build", "chaos", "bin", "qchaind"))
STOP_S = 30.0                          # at the end every node must stop cleanly (exit 0) this soon
NETNS = os.path.join(ROOT, "testnet", "netns.sh")
CITIES = ["jinan", "zibo", "taian", "liaocheng", "dezhou", "binzhou", "dongying", "jining", "heze"]
PREFIX = os.environ.get("QC9_PREFIX", "qc9")
SUBNET = os.environ.get("QC9_SUBNET", "10.99.0")
ROOT_ADDR = SUBNET + ".254"           # the root namespace on the bridge: clients, checker
STALL_BOUND_S = 45.0                   # commits must resume this soon after every heal
CONVERGE_S = 90.0                      # after the last heal, honest nodes must agree this soon
# The disk-fill city's data directory is a tmpfs of DISK_TMPFS_MB plus DISK_TMPFS_MB_PER_MIN for
# each minute of the run: its ledger grows about 1.5 MB a minute under the clients' load, and
# LevelDB keeps up to two 16 MiB write buffers (ledger and consensus state). A tmpfs sized for
# ten minutes filled for good in the first hour-long run (docs/RELIABILITY.md, finding 6).
DISK_TMPFS_MB = 96
DISK_TMPFS_MB_PER_MIN = 4
KINDS = ["kill", "pause", "partition", "oneway", "loss", "delay", "bandwidth", "diskfill"]


def addr(i):
    return "%s.%d" % (SUBNET, i + 1)


def sh(*cmd, ok=(0,), inp=None, timeout=30):
    r = subprocess.run(list(cmd), input=inp, capture_output=True, text=True, timeout=timeout)
    if r.returncode not in ok:
        raise RuntimeError("%s -> %d: %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def nsx(city, *cmd, **kw):
    return sh("ip", "netns", "exec", "%s-%s" % (PREFIX, city), *cmd, **kw)


# Receipts verified offline per `qchain verify FILE... --genesis G --json` process (its
# many-files mode, on one worker thread per core), instead of one process per receipt.
VERIFY_CHUNK = 2000


def verify_receipts(qchain, genesis, jobs, scratch, chunk=VERIFY_CHUNK):
    """Verifies offline, with nothing but the genesis file, each job (file, receipt, digest):
    that the receipt proves the record was anchored and committed by a quorum, and that file's
    SHA-256 is the anchored digest (and, with digest not None, that it is digest). Returns one
    (ok, reason) per job, in order. The many-files mode reads FILE.receipt.json beside each
    FILE: a receipt that is not there already is paired under scratch, by symlinks to the file
    and to the receipt. Anything that keeps a chunk's per-file answers from being read (an exit
    status other than 0 or 1, output that is not the expected JSON, a timeout) fails every job
    of that chunk, so nothing passes unread."""
    args, made = [], False
    for i, (f, receipt, _) in enumerate(jobs):
        if os.path.abspath(receipt) == os.path.abspath(f) + ".receipt.json":
            args.append(f)
            continue
        if not made:
            os.makedirs(scratch, exist_ok=True)
            made = True
        link = os.path.join(os.path.abspath(scratch), "%d-%s" % (i, os.path.basename(f)))
        for path, target in ((link, f), (link + ".receipt.json", receipt)):
            if os.path.lexists(path):
                os.unlink(path)
            os.symlink(os.path.abspath(target), path)
        args.append(link)
    out = []
    for first in range(0, len(jobs), chunk):
        part, names = jobs[first:first + chunk], args[first:first + chunk]
        try:
            r = subprocess.run([qchain, "verify"] + names + ["--genesis", genesis, "--json"],
                               capture_output=True, text=True, timeout=120 + 0.5 * len(names))
            rc, stdout, stderr = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            rc, stdout, stderr = "timeout", "", ""
        results = None
        if rc in (0, 1):
            try:
                results = json.loads(stdout)
            except ValueError:
                results = None
        whole = None         # why the whole chunk fails, if it does
        if rc not in (0, 1):
            whole = "exit %s" % rc
        elif not isinstance(results, list) or len(results) != len(names) or \
                not all(isinstance(x, dict) for x in results):
            whole = "exit %s with output that is not one JSON object per file" % rc
        if whole is None:
            verdicts = []
            for name, (_, _, digest), x in zip(names, part, results):
                if x.get("file") != name:
                    verdicts.append((False, "answer out of order: %r for %s" % (x.get("file"), name)))
                elif x.get("valid") is not True:
                    verdicts.append((False, "INVALID: %s" % x.get("reason")))
                elif x.get("file_matches") is not True:
                    verdicts.append((False, "valid receipt, but the file was not checked against it"))
                elif digest is not None and x.get("digest") != digest:
                    verdicts.append((False, "the receipt proves %s, not %s" % (x.get("digest"), digest)))
                else:
                    verdicts.append((True, ""))
            if rc == 1 and all(ok for ok, _ in verdicts):
                whole = "exit 1 with every file valid"
        if whole is not None:
            tail = (stderr or stdout).strip()[-300:]
            verdicts = [(False, "qchain verify of a chunk of %d files: %s: %s" % (len(names), whole, tail))
                        ] * len(names)
        out.extend(verdicts)
    return out


class Net:
    """The faults that live in the network: per-namespace nftables rules (partitions, loss) and
    tc qdiscs (bandwidth, netem delay where the kernel has it). Rules are rebuilt whole from
    this state at every change, so a heal is exact."""

    def __init__(self):
        self.block = set()    # (a, b): packets from city a are dropped at city b
        self.loss = {}        # city -> percent of its peer packets dropped (in and out)
        self.lock = threading.Lock()
        self.netem = False

    def apply(self, city):
        srcs = sorted(addr(CITIES.index(a)) for (a, b) in self.block if b == city)
        dsts = sorted(addr(CITIES.index(b)) for (a, b) in self.block if a == city)
        rules_in, rules_out = [], []
        if srcs:
            rules_in.append("ip saddr { %s } drop" % ", ".join(srcs))
        if dsts:
            rules_out.append("ip daddr { %s } drop" % ", ".join(dsts))
        p = self.loss.get(city, 0)
        if p:
            rules_in.append("ip saddr != %s numgen random mod 100 < %d drop" % (ROOT_ADDR, p))
            rules_out.append("ip daddr != %s numgen random mod 100 < %d drop" % (ROOT_ADDR, p))
        script = ("table inet qc9\ndelete table inet qc9\ntable inet qc9 {\n"
                  " chain input { type filter hook input priority 0; policy accept;\n%s }\n"
                  " chain output { type filter hook output priority 0; policy accept;\n%s }\n}\n"
                  % ("".join("  %s\n" % r for r in rules_in), "".join("  %s\n" % r for r in rules_out)))
        nsx(city, "nft", "-f", "-", inp=script)

    def set_block(self, pairs, on):
        with self.lock:
            touched = set()
            for a, b in pairs:
                (self.block.add if on else self.block.discard)((a, b))
                touched.update((a, b))
            for c in touched:
                self.apply(c)

    def set_loss(self, cities, pct):
        with self.lock:
            for c in cities:
                if pct:
                    self.loss[c] = pct
                else:
                    self.loss.pop(c, None)
                self.apply(c)

    def bandwidth(self, city, kbit):
        if kbit:
            nsx(city, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate",
                "%dkbit" % kbit, "burst", "16kb", "latency", "300ms")
        else:
            nsx(city, "tc", "qdisc", "del", "dev", "eth0", "root", ok=(0, 1, 2))

    def probe_netem(self):
        r = nsx(CITIES[0], "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
                ok=(0, 1, 2))
        self.netem = r.returncode == 0
        if self.netem:
            nsx(CITIES[0], "tc", "qdisc", "del", "dev", "lo", "root", ok=(0, 1, 2))
        return self.netem

    def heal_all(self):
        with self.lock:
            self.block.clear()
            self.loss.clear()
            for c in CITIES:
                self.apply(c)
        for c in CITIES:
            self.bandwidth(c, 0)


class Chaos:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.dir = tempfile.mkdtemp(prefix="%s-chaos-" % PREFIX)
        self.net = Net()
        self.procs = {}              # city -> Popen
        self.expect_down = set()     # cities we killed or whose exit we caused
        self.paused = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked = []              # (city, file, digest, receipt path)
        self.attempts = 0
        self.failovers = 0  # anchors a client took elsewhere: the node did not answer
        self.faults = {k: 0 for k in KINDS}
        self.heals = []              # (time, kind)
        self.samples = []            # (time, max honest height)
        self.findings = []
        self.unexpected_exits = []
        self.restart_failures = []
        self.unclean_stops = []      # (city, rc, log tail): at the end, SIGTERM did not give exit 0
        self.client_deaths = 0       # client threads that died of a harness error
        self.byz = None
        self.disk_city = None
        self.mount = None
        self.qchaind = os.path.join("build", "bin", "qchaind")
        self.delay_files = {}
        self.disk_full = False

    # ---------------------------------------------------------------- setup and teardown
    def setup(self):
        sh("sh", NETNS, "up", timeout=60)
        os.makedirs(os.path.join(self.dir, "records"))
        self.net.probe_netem()
        # Private copies of the binaries: a rebuild during a long run (relinking build/...) must
        # not pull them from under the clients and nodes (it once killed the clients at 4 min).
        global QCHAIN
        QCHAIN = self.copy_bin(QCHAIN)
        sh(QCHAIN, "testnet", "--out", self.dir, "--host-base", SUBNET + ".0", "--force",
           "--chain-id", "qchain-chaos-%d" % self.seed)
        chaos_build = os.path.exists(CHAOS_QCHAIND)
        if chaos_build:
            self.qchaind = CHAOS_QCHAIND
        self.qchaind = self.copy_bin(self.qchaind)
        # The Byzantine city is jinan, the primary of view 0, so that it equivocates as primary
        # from the first block (and again whenever the view comes round to it).
        if chaos_build and not self.args.no_byz:
            self.byz = CITIES[0]
        self.disk_city = self.rng.choice(CITIES[1:])
        data = os.path.join(self.dir, self.disk_city, "data")
        os.makedirs(data, mode=0o700, exist_ok=True)
        seconds = self.args.seconds if self.args.seconds else (self.args.minutes or 2) * 60
        size_mb = DISK_TMPFS_MB + DISK_TMPFS_MB_PER_MIN * int(seconds / 60 + 1)
        sh("mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % size_mb, "tmpfs", data)
        self.mount = data
        for c in CITIES:
            self.delay_files[c] = os.path.join(self.dir, c, "fault-delay")
            open(self.delay_files[c], "w").write("")
            self.start(c)

    def copy_bin(self, path):
        dst = os.path.join(self.dir, "bin", os.path.basename(path))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(path, dst)
        return dst

    def start(self, city):
        env = dict(os.environ)
        env["QC_FAULT_DELAY_MS"] = "" if self.net.netem else "2-8"
        env["QC_FAULT_FILE"] = self.delay_files[city]
        env["QC_FAULT_SEED"] = str(self.seed)
        if city == self.byz:
            env["QC_BYZ"] = "1"
        log = open(os.path.join(self.dir, city + ".log"), "a")
        p = subprocess.Popen(["ip", "netns", "exec", "%s-%s" % (PREFIX, city), self.qchaind,
                              "--config", os.path.join(self.dir, city, "node.json")],
                             stdout=log, stderr=log, env=env)
        with self.lock:
            self.procs[city] = p
            self.expect_down.discard(city)

    def signal(self, city, sig):
        """Signals city's node unless it has already exited (then there is nothing to signal)."""
        with self.lock:
            p = self.procs[city]
        if p.poll() is None:
            p.send_signal(sig)

    def teardown(self):
        for c, p in list(self.procs.items()):
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGKILL)
                p.wait()
        if self.mount:
            subprocess.run(["umount", "-l", self.mount], capture_output=True)
        subprocess.run(["sh", NETNS, "down"], capture_output=True, timeout=60)
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("chaos: kept %s" % self.dir)

    # ---------------------------------------------------------------- API
    def api(self, city, path, timeout=2.0):
        i = CITIES.index(city)
        url = "http://%s:%d%s" % (addr(i), 8100 + i + 1, path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None
        except (OSError, ValueError):
            return None, None

    def status(self, city, timeout=1.0):
        code, s = self.api(city, "/v1/status", timeout)
        return s if code == 200 else None

    def metrics_text(self, city):
        i = CITIES.index(city)
        try:
            with urllib.request.urlopen("http://%s:%d/metrics" % (addr(i), 8100 + i + 1), timeout=5) as r:
                return r.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def honest(self):
        return [c for c in CITIES if c != self.byz]

    # ---------------------------------------------------------------- threads
    def client(self, k):
        """Anchors one record at a time at a rotating honest city, until stopped. A client that
        fails on its own (not a refused anchor: its harness) is a finding and fails the run:
        without load, "commits resume after a heal" is not tested."""
        try:
            self.client_loop(k)
        except Exception as e:  # noqa: BLE001 - any harness failure must be reported
            at = time.time() - getattr(self, "t0", time.time())
            with self.lock:
                self.findings.append("client %d died at %.0f s: %r" % (k, at, e))
                self.client_deaths += 1

    def client_loop(self, k):
        n = 0
        cities = [c for c in self.honest()]
        silent = 0  # cities in a row that did not answer
        while not self.stop.is_set():
            city = cities[(k * 3 + n) % len(cities)]
            n += 1
            # As a city gateway with several nodes to choose from would: a node that does not
            # answer its health check within 0.5 s (paused, killed) is passed over for the next,
            # so one stopped node does not hold every client, and the commits the checker times
            # measure the chain, not clients waiting on a node that cannot answer.
            if self.api(city, "/healthz", 0.5)[0] is None:
                with self.lock:
                    self.failovers += 1
                silent += 1
                if silent >= len(cities):
                    time.sleep(0.2)
                    silent = 0
                continue
            silent = 0
            f = os.path.join(self.dir, "records", "rec-%d-%d.txt" % (k, n - 1))
            open(f, "w").write("chaos seed %d client %d record %d %s\n" % (self.seed, k, n - 1, city))
            with self.lock:
                self.attempts += 1
            r = subprocess.run([QCHAIN, "anchor", f, "--config", os.path.join(self.dir, city, "node.json"),
                                "--wait-ms", "8000", "--json", "--type", "chaos"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                try:
                    rec = json.loads(r.stdout)["records"][0]
                except (ValueError, KeyError, IndexError):
                    self.findings.append("anchor exit 0 without a JSON receipt: %r" % r.stdout[:200])
                    continue
                with self.lock:
                    self.acked.append((city, f, rec["digest"], rec["receipt"]))
            else:
                time.sleep(0.2)

    def monitor(self):
        """Samples the highest height among honest nodes, and notices nodes that exit on their
        own (a crash: a finding unless the disk-fill fault caused it)."""
        while not self.stop.is_set():
            hs = [(self.status(c, 0.5) or {}).get("height") for c in self.honest() if c not in self.paused]
            hs = [h for h in hs if h is not None]
            if hs:
                self.samples.append((time.time(), max(hs)))
            crashed = []
            with self.lock:
                for c, p in self.procs.items():
                    rc = p.poll()
                    if rc is not None and c not in self.expect_down:
                        self.expect_down.add(c)
                        crashed.append(c)
                        tail = "".join(open(os.path.join(self.dir, c + ".log"), errors="replace").readlines()[-8:])
                        if c == self.disk_city and self.disk_full:
                            self.findings.append("%s exited while its disk was full (rc %s): %s" % (
                                c, rc, tail.strip().splitlines()[-1] if tail.strip() else ""))
                        else:
                            self.unexpected_exits.append((c, rc, time.time(), tail))
                        print("chaos: %s exited on its own (rc %s); restarting it in 2 s\n%s" % (c, rc, tail), flush=True)
            self.stop.wait(0.5)
            # Like a supervisor (systemd Restart=on-failure): the crash fails the run, but the
            # rest of the schedule still runs against nine nodes. The disk-fill city is
            # restarted by the heal, once its disk has room again.
            for c in crashed:
                if c != self.disk_city or not self.disk_full:
                    self.stop.wait(1.5)
                    self.start(c)

    # ---------------------------------------------------------------- the schedule
    def schedule(self, seconds):
        """The seeded fault schedule: (start_s, kind, duration_s, params). The first events are
        every kind once (seeded order), so even a short run exercises each; then seeded picks."""
        rng = random.Random(self.seed * 7919 + 1)
        targets = [c for c in CITIES if c != self.byz]
        kinds = KINDS[:]
        rng.shuffle(kinds)
        t, ev = 8.0, []
        short = seconds < 240
        while True:
            kind = kinds.pop(0) if kinds else rng.choice(KINDS)
            dur = rng.uniform(2.5, 5) if short else rng.uniform(4, 20)
            if t + dur + 10 > seconds:
                break
            city = rng.choice(targets)
            params = {"city": city}
            if kind == "partition":
                params["group"] = rng.sample(targets, rng.choice([1, 2, 3]))
            elif kind == "oneway":
                params["inbound"] = rng.random() < 0.5   # the city hears nobody, or nobody hears it
            elif kind == "loss":
                params["group"] = rng.sample(targets, rng.choice([1, 3, 9 if self.byz is None else 8]))
                params["pct"] = rng.choice([5, 15, 30])
            elif kind == "delay":
                params["ms"] = rng.choice([20, 50, 150])
            elif kind == "bandwidth":
                params["kbit"] = rng.choice([256, 1024])
            elif kind == "diskfill":
                params["city"] = self.disk_city
            ev.append((t, kind, dur, params))
            t += dur + (rng.uniform(2, 4) if short else rng.uniform(5, 15))
        return ev

    def inject(self, kind, p):
        c = p["city"]
        self.faults[kind] += 1
        if kind == "kill":
            with self.lock:
                self.expect_down.add(c)
                proc = self.procs[c]
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGKILL)
            proc.wait()
        elif kind == "pause":
            self.paused.add(c)
            self.signal(c, signal.SIGSTOP)
        elif kind == "partition":
            g = p["group"]
            rest = [x for x in CITIES if x not in g]
            self.net.set_block([(a, b) for a in g for b in rest] + [(b, a) for a in g for b in rest], True)
        elif kind == "oneway":
            rest = [x for x in CITIES if x != c]
            self.net.set_block([(b, c) for b in rest] if p["inbound"] else [(c, b) for b in rest], True)
        elif kind == "loss":
            self.net.set_loss(p["group"], p["pct"])
        elif kind == "delay":
            if self.net.netem:
                nsx(c, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "%dms" % p["ms"])
            else:
                open(self.delay_files[c], "w").write("%d-%d\n" % (p["ms"], p["ms"] * 2))
        elif kind == "bandwidth":
            self.net.bandwidth(c, p["kbit"])
        elif kind == "diskfill":
            self.disk_full = True
            filler = os.path.join(self.mount, "filler")
            subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=1M", "count=%d" % DISK_TMPFS_MB],
                           capture_output=True)

    def heal(self, kind, p):
        c = p["city"]
        if kind == "kill":
            self.start(c)
        elif kind == "pause":
            self.signal(c, signal.SIGCONT)
            self.paused.discard(c)
        elif kind in ("partition", "oneway"):
            with self.net.lock:
                pairs = list(self.net.block)
            self.net.set_block(pairs, False)
        elif kind == "loss":
            self.net.set_loss(p["group"], 0)
        elif kind == "delay":
            if self.net.netem:
                nsx(c, "tc", "qdisc", "del", "dev", "eth0", "root", ok=(0, 1, 2))
            else:
                open(self.delay_files[c], "w").write("")
        elif kind == "bandwidth":
            self.net.bandwidth(c, 0)
        elif kind == "diskfill":
            try:
                os.unlink(os.path.join(self.mount, "filler"))
            except OSError:
                pass
            self.disk_full = False
            with self.lock:
                exited = self.procs[c].poll() is not None
            if exited:
                self.start(c)
                time.sleep(3)
                if self.procs[c].poll() is not None:
                    tail = open(os.path.join(self.dir, c + ".log"), errors="replace").readlines()[-3:]
                    self.restart_failures.append((c, "".join(tail)))
                    self.findings.append("%s refused to restart after ENOSPC: %s" % (c, "".join(tail).strip()))
                    with self.lock:
                        self.expect_down.add(c)
        self.heals.append((time.time(), kind))

    # ---------------------------------------------------------------- the run
    def wait_linked(self, secs=60):
        deadline = time.time() + secs
        while time.time() < deadline:
            if all((self.status(c) or {}).get("peers_up") == 8 for c in CITIES):
                return True
            time.sleep(0.3)
        return False

    def run(self, seconds):
        sched = self.schedule(seconds)
        digest = hashlib.sha256(repr([(round(t, 3), k, round(d, 3), sorted(p.items())) for t, k, d, p in sched])
                                .encode()).hexdigest()[:16]
        print("chaos: seed %d, %d s, %d faults scheduled (schedule %s), byzantine %s, disk-fill %s, "
              "delay by %s, dir %s" % (self.seed, seconds, len(sched), digest, self.byz or "none",
                                        self.disk_city, "netem" if self.net.netem else
                                        "the test build's emulation (2-8 ms one way per peer)", self.dir),
              flush=True)
        self.schedule_digest = digest
        if not self.wait_linked():
            raise RuntimeError("the nine nodes did not link within 60 s")
        threads = [threading.Thread(target=self.client, args=(k,), daemon=True) for k in range(3)]
        threads.append(threading.Thread(target=self.monitor, daemon=True))
        for th in threads:
            th.start()
        t0 = self.t0 = time.time()
        for (at, kind, dur, p) in sched:
            self.sleep_until(t0 + at)
            print("chaos: %6.1fs %-9s %-10s %4.1fs %s" % (time.time() - t0, kind, p["city"], dur,
                                                       {k: v for k, v in p.items() if k != "city"}), flush=True)
            self.inject(kind, p)
            self.sleep_until(t0 + at + dur)
            self.heal(kind, p)
        self.sleep_until(t0 + seconds - 5)
        self.final_heal()
        time.sleep(5)   # clients keep anchoring on the healed network a moment
        self.stop.set()
        for th in threads:
            th.join(timeout=70)
        self.run_s = time.time() - t0

    def sleep_until(self, t):
        while time.time() < t:
            time.sleep(min(0.2, max(0.0, t - time.time())))

    def final_heal(self):
        self.net.heal_all()
        for c in CITIES:
            open(self.delay_files[c], "w").write("")
            with self.lock:
                p = self.procs[c]
            if c in self.paused:
                self.signal(c, signal.SIGCONT)
                self.paused.discard(c)
            if p.poll() is not None and c not in [x for x, _ in self.restart_failures]:
                self.start(c)
        self.heals.append((time.time(), "final"))

    # ---------------------------------------------------------------- the checker
    def converge(self, cities):
        deadline = time.time() + CONVERGE_S
        while time.time() < deadline:
            st = [self.status(c) for c in cities]
            if all(st) and len({(s["height"], s["head_hash"]) for s in st}) == 1:
                return st[0]["height"]
            time.sleep(1)
        return None

    def plant(self):
        """A record file and a receipt (a copy of a real one) for a digest never anchored."""
        f = os.path.join(self.dir, "records", "planted-never-anchored.txt")
        open(f, "w").write("chaos seed %d: this record was never anchored\n" % self.seed)
        digest = hashlib.sha256(open(f, "rb").read()).hexdigest()
        receipt = f + ".receipt.json"
        shutil.copy(self.acked[0][3] if self.acked else os.devnull, receipt)
        self.planted = ("planted", f, digest, receipt)

    def check(self):
        self.plant()
        alive = [c for c in self.honest() if c not in [x for x, _ in self.restart_failures]]
        height = self.converge(alive)
        lost, bad_receipts = [], []
        found = 0
        if height is None:
            self.findings.append("honest nodes did not converge within %d s: %s" % (
                CONVERGE_S, [(c, (self.status(c) or {}).get("height")) for c in alive]))
            # Say why for each node behind: its /healthz, its data directory's disk, its log.
            top_h = max([(self.status(c) or {}).get("height") or 0 for c in alive] or [0])
            for c in alive:
                if ((self.status(c) or {}).get("height") or 0) >= top_h:
                    continue
                code, hz = self.api(c, "/healthz", 2)
                du = shutil.disk_usage(os.path.join(self.dir, c, "data"))
                tail = "".join(open(os.path.join(self.dir, c + ".log"), errors="replace").readlines()[-12:])
                self.findings.append("%s behind: /healthz %s %s; data dir %.0f of %.0f MiB used; "
                                     "log tail:\n%s" % (c, code, hz, (du.total - du.free) / 2**20,
                                                         du.total / 2**20, tail))
        # Identical blocks at every height on every honest node.
        top = min([(self.status(c) or {}).get("height") or 0 for c in alive] or [0])

        def block_hashes(h):
            hashes = {}
            for c in alive:
                code, b = self.api(c, "/v1/blocks/%d" % h, 5)
                hashes[c] = b["header"]["hash"] if code == 200 else None
            return h, hashes
        genesis = os.path.join(self.dir, "genesis.json")
        every = self.args.verify_every

        def record(item):
            """(on every honest node?, digest, city, client receipt job or None, (node, its
            receipt job) or None, problems) for one acknowledged record: its presence on each
            honest node; its client's receipt, to verify offline for every verify_every-th
            record (and the first and last); one honest node's own receipt, rotating, for every
            5th of those, fetched here and saved to verify offline with the others. The
            receipts are verified afterwards, many to a `qchain verify` process
            (verify_receipts)."""
            idx, last, (city, f, digest, receipt) = item
            problems, client_job, node_job = [], None, None
            on_all = all(self.api(c, "/v1/records/%s" % digest, 5)[0] == 200 for c in alive)
            if idx % every == 0 or last:
                client_job = (f, receipt, digest)
            if idx % (5 * every) == 0 and alive:
                c = alive[(idx // 5) % len(alive)]
                code, rec = self.api(c, "/v1/records/%s/receipt" % digest, 5)
                if code == 200:
                    # FILE.receipt.json in a folder of this node's, beside a link to FILE.
                    d = os.path.join(self.dir, "node-receipts", c)
                    os.makedirs(d, exist_ok=True)
                    link = os.path.join(d, os.path.basename(f))
                    if not os.path.lexists(link):
                        os.symlink(os.path.abspath(f), link)
                    with open(link + ".receipt.json", "w") as out:
                        json.dump(rec, out)
                    node_job = (c, (link, link + ".receipt.json", digest))
                else:
                    problems.append((digest, "%s's receipt: HTTP %s" % (c, code)))
            return on_all, digest, city, client_job, node_job, problems
        self.verified = self.verified_nodes = 0
        # The planted record (the checker's self-test, below) goes through every step with the
        # real ones, its receipts verified in the same process as theirs.
        items = [(i, i == len(self.acked) - 1, a) for i, a in enumerate(self.acked)] + \
                [(0, False, self.planted)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            divergent = [(h, hs) for h, hs in pool.map(block_hashes, range(1, top + 1))
                         if len(set(hs.values())) != 1]
            rows = list(pool.map(record, items))
        # Every selected receipt, verified offline in batches: (row, client's?, what, job).
        checks = []
        for n, (_, _, _, client_job, node_job, _) in enumerate(rows):
            if client_job:
                checks.append((n, True, "client receipt %s" % client_job[1], client_job))
            if node_job:
                checks.append((n, False, "%s's receipt" % node_job[0], node_job[1]))
        verdicts = verify_receipts(QCHAIN, genesis, [job for _, _, _, job in checks],
                                   os.path.join(self.dir, "verify-pairs"))
        client_failed = set()    # rows whose client receipt failed
        for (n, client, what, _), (ok, reason) in zip(checks, verdicts):
            if not ok:
                rows[n][5].append((rows[n][1], "%s: %s" % (what, reason)))
                if client:
                    client_failed.add(n)
        for n, (on_all, digest, city, client_job, node_job, problems) in enumerate(rows[:-1]):
            if on_all:
                found += 1
            else:
                lost.append((city, digest))
            bad_receipts.extend(problems)
            self.verified += client_job is not None
            self.verified_nodes += n % (5 * every) == 0 and bool(alive)
        # The checker's self-test: a record that was never anchored, planted as if acknowledged,
        # must be reported missing, and its receipt must fail offline verification (in the same
        # batch as the real ones), or the checker is blind.
        planted_on_all = rows[-1][0]
        self.checker_blind = planted_on_all or (len(rows) - 1) not in client_failed
        # What the Byzantine city's attacks cost the honest nodes, from their metrics.
        self.dropped = {}
        self.refused = 0
        for c in alive:
            text = self.metrics_text(c)
            for line in text.splitlines():
                if line.startswith("qchain_consensus_dropped_total{"):
                    reason = line.split('reason="')[1].split('"')[0]
                    self.dropped[reason] = self.dropped.get(reason, 0) + int(float(line.split()[-1]))
                elif line.startswith("qchain_proposals_refused_total "):
                    self.refused += int(float(line.split()[-1]))
        # The conflicting proposals with a body it made (node/byz.c logs each twin block).
        self.twins = 0
        if self.byz:
            self.twins = sum(1 for line in open(os.path.join(self.dir, self.byz + ".log"), errors="replace")
                             if "byzantine: twin block:" in line)
        # Stalls: after each heal, the first commit (honest max height up) must come within the
        # bound; the longest gap between commits over the whole run is reported.
        stalls = []
        for (t, kind) in self.heals:
            base = max([h for (ts, h) in self.samples if ts <= t] or [0])
            after = [ts for (ts, h) in self.samples if ts > t and h > base]
            stalls.append((kind, (after[0] - t) if after else float("inf")))
        longest, longest_at, last_t, last_h = 0.0, 0.0, None, None
        for ts, h in self.samples:
            if last_h is None or h > last_h:
                if last_t is not None and ts - last_t > longest:
                    longest, longest_at = ts - last_t, last_t - self.t0
                last_t, last_h = ts, h
        worst_heal = max([s for _, s in stalls] or [0.0])
        violations = [(k, s) for k, s in stalls if s > STALL_BOUND_S]
        return {"height": height, "top": top, "lost": lost, "found": found, "divergent": divergent,
                "bad_receipts": bad_receipts, "longest": longest, "longest_at": longest_at, "worst_heal": worst_heal,
                "violations": violations, "alive": alive}

    def stop_all(self):
        """Stops every node as an operator would (SIGTERM, after SIGCONT) once the checker is
        done: each must exit 0 within STOP_S. Under the sanitizer build that is also where
        LeakSanitizer reports, and an error there makes the exit status non-zero."""
        self.stop.set()              # the monitor must not restart what is stopped here
        with self.lock:
            procs = list(self.procs.items())
            self.expect_down.update(CITIES)
        for c, p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGTERM)
        for c, p in procs:
            try:
                rc = p.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                rc = "still running after %.0f s" % STOP_S
            if rc != 0:
                tail = "".join(open(os.path.join(self.dir, c + ".log"), errors="replace").readlines()[-12:])
                self.unclean_stops.append((c, rc, tail))

    def report(self, r):
        print("\n==== chaos run: seed %d, %.0f s, schedule %s, byzantine %s" % (
            self.seed, self.run_s, self.schedule_digest, self.byz or "none"))
        print("%-34s %s" % ("faults by kind", ", ".join("%s %d" % (k, v) for k, v in self.faults.items())))
        rows = [("faults injected", sum(self.faults.values())),
                ("records attempted", self.attempts),
                ("client failovers (node silent)", self.failovers),
                ("records acknowledged", len(self.acked)),
                ("acknowledged found on all honest", r["found"]),
                ("acknowledged lost", len(r["lost"])),
                ("receipts verified offline", "%d client + %d honest nodes' own" % (
                    self.verified, self.verified_nodes)),
                ("receipts failing offline verify", len(r["bad_receipts"])),
                ("final height (honest, converged)", r["height"] if r["height"] is not None else "NOT CONVERGED"),
                ("heights compared", r["top"]),
                ("divergent heights", len(r["divergent"])),
                ("longest stall between commits", "%.1f s (from %.0f s into the run)" % (r["longest"], r["longest_at"])),
                ("worst resume after a heal", "%.1f s (bound %.0f s)" % (r["worst_heal"], STALL_BOUND_S)),
                ("heals over the bound", len(r["violations"])),
                ("unexpected node exits", len(self.unexpected_exits)),
                ("nodes not stopping cleanly", len(self.unclean_stops)),
                ("clients that died", self.client_deaths),
                ("nodes that did not restart", len(self.restart_failures)),
                ("checker self-test (planted loss)", "BLIND: not detected" if self.checker_blind else "detected"),
                ("byzantine twin blocks proposed", self.twins),
                ("proposals refused by honest", self.refused),
                ("honest drops (byzantine traffic)", ", ".join("%s %d" % kv for kv in sorted(self.dropped.items()) if kv[1]) or "none")]
        for k, v in rows:
            print("%-34s %s" % (k, v))
        for f in self.findings:
            print("FINDING: %s" % f)
        for c, rc, _, tail in self.unexpected_exits:
            print("EXIT: %s rc %s\n%s" % (c, rc, tail))
        for c, rc, tail in self.unclean_stops:
            print("UNCLEAN STOP: %s rc %s\n%s" % (c, rc, tail))
        for h, hashes in r["divergent"][:5]:
            print("DIVERGENT at %d: %s" % (h, hashes))
        for d in r["lost"][:10]:
            print("LOST: %s" % (d,))
        for d in r["bad_receipts"][:5]:
            print("BAD RECEIPT: %s" % (d,))
        for k, s in r["violations"]:
            print("STALL: after healing %s, no commit for %.1f s" % (k, s))
        ok = (not r["lost"] and not r["divergent"] and not r["bad_receipts"] and not r["violations"]
              and r["height"] is not None and len(self.acked) > 0 and not self.checker_blind
              and not self.unexpected_exits and not self.unclean_stops and not self.client_deaths)
        print("chaos: %s" % ("PASSED" if ok else "FAILED"))
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--no-byz", action="store_true", help="no Byzantine city")
    ap.add_argument("--keep", action="store_true", help="keep the run's directory")
    ap.add_argument("--verify-every", type=int, default=1,
                    help="verify every Nth client receipt offline (default 1: all)")
    args = ap.parse_args()
    seconds = args.seconds if args.seconds else (args.minutes or 2) * 60
    if os.geteuid() != 0:
        print("chaos: needs root (network namespaces, nftables, tc, tmpfs mounts); nothing was run")
        return 1
    for tool in ("ip", "nft", "tc"):
        if shutil.which(tool) is None:
            print("chaos: the %s command is missing (make deps installs iproute2 and nftables)" % tool)
            return 1
    os.chdir(ROOT)
    ch = Chaos(args)
    ok = False
    old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        ch.setup()
        ch.run(seconds)
        t = time.time()
        r = ch.check()
        print("chaos: checker took %.0f s" % (time.time() - t))
        ch.stop_all()
        ok = ch.report(r)
    finally:
        ch.stop.set()
        ch.teardown()
        signal.signal(signal.SIGTERM, old)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
