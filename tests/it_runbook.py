"""it_runbook.py - runs docs/OPERATIONS.md's runbook as written, so that it cannot rot: every
`sh` block of the chapter "Runbook: the life of a city node" (each marked `<!-- runbook: ID -->`),
in order, as jinan's operator, in a scratch deployment: a private mount and network namespace
whose /etc, /usr and /var are throw-away overlays, the example addresses 10.0.1.1-4 on its
loopback, and the package (make deb) installed with dpkg -i. The test plays the other three
cities (their keys, sent as the ceremony says; their nodes, from this build; their approvals of
jinan's key rotation), types the passphrase where a block reads it, and stands in for systemctl
(tests/systemctl_shim.py). After each block it checks what the block was for: keys encrypted
and owned right, the genesis hash the nodes run, a node ready and linked, a receipt that
verifies, peers still linked behind the firewall, a backup restored and caught up, the upgraded
package in place, the rotated seal key in force. Needs root."""
import json, os, re, shutil, signal, stat, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import BIN, BUILD  # noqa: E402
import pkgenv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(pkgenv.TOP, "docs", "OPERATIONS.md")
PASSPHRASE = "jinan's ceremony passphrase"
ADDR = {"jinan": "10.0.1.1", "zibo": "10.0.1.2", "taian": "10.0.1.3", "liaocheng": "10.0.1.4"}
OTHERS = ["zibo", "taian", "liaocheng"]
# The blocks the runbook has, in order; a block added to the chapter must be added here (with
# what it is checked for), so none is left unrun.
BLOCKS = ["keys", "fingerprints", "genesis", "genesis-hash", "configure", "ready", "anchor",
          "firewall", "backup", "restore", "upgrade", "rotate", "rotated", "clock"]


def check(cond, msg):
    if not cond:
        print("it_runbook: FAILED: " + msg)
        sys.exit(1)


def runbook_blocks():
    """[(id, text)] of the runbook chapter's sh blocks, in order."""
    text = open(DOC, encoding="utf-8").read()
    start = text.index("## Runbook: the life of a city node")
    end = text.index("\n## ", start + 1)
    chapter = text[start:end]
    blocks = re.findall(r"<!-- runbook: ([a-z-]+) -->\n```sh\n(.*?)\n```", chapter, re.S)
    check(chapter.count("```sh") == len(blocks), "every sh block of the runbook is marked")
    return blocks


def outer():
    if os.geteuid() != 0:
        print("it_runbook: needs root (mount and network namespaces, dpkg); run `make check` as root")
        return 1
    blocks = runbook_blocks()
    check([b[0] for b in blocks] == BLOCKS, "the runbook's blocks are the ones this test runs: %r"
          % [b[0] for b in blocks])
    tmp = tempfile.mkdtemp(prefix="qchain-it_runbook-")
    try:
        deb1 = pkgenv.make_deb(BUILD, os.path.join(tmp, "deb1"), "0.0.1~test", name="it_runbook")
        deb2 = pkgenv.make_deb(BUILD, os.path.join(tmp, "deb2"), "0.0.2~test", name="it_runbook")
        r = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private",
                            sys.executable, os.path.abspath(__file__), "--inner", deb1, deb2, tmp],
                           timeout=900)
        check(r.returncode == 0, "the runbook ran in its scratch deployment (exit %d)" % r.returncode)
        print("it_runbook: every block of the runbook ran and did what it says")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Deployment:
    """jinan's host (the namespace) and the three other cities around it."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.ops = os.path.join(tmp, "ops")       # jinan's operator's working directory
        self.shim = os.path.join(tmp, "shim")     # systemctl stand-in state and PATH entry
        self.procs = {}
        self.checks = 0

    def fail(self, msg):
        print("it_runbook: FAILED: " + msg)
        for name in ["qchaind"] + OTHERS:
            log = os.path.join(self.shim if name == "qchaind" else self.tmp, name + ".log")
            if os.path.exists(log):
                print("---- %s (last lines)" % name)
                print("".join(open(log, errors="replace").readlines()[-15:]))
        self.stop_all()
        sys.exit(1)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)
        self.checks += 1

    def wait_for(self, what, pred, secs=30):
        deadline = time.time() + secs
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.2)
        self.fail("timed out waiting for " + what)

    def get(self, city, path):
        host = "127.0.0.1" if city == "jinan" else ADDR[city]
        try:
            with urllib.request.urlopen("http://%s:8000%s" % (host, path), timeout=3) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def status(self, city):
        return self.get(city, "/v1/status") or {}

    def qchain(self, *args):
        r = subprocess.run([os.path.join(BIN, "qchain")] + list(args), capture_output=True,
                           text=True, timeout=60)
        self.check(r.returncode == 0, "qchain %s -> %d: %s%s" % (" ".join(args), r.returncode,
                                                                   r.stdout, r.stderr))
        return r

    def run_block(self, bid, text):
        env = {"PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % self.shim, "HOME": self.ops,
               "LANG": "C.UTF-8", "QC_SHIM_DIR": self.shim, "QC_PKGENV_DIR": HERE}
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=self.ops, env=env,
                           input=PASSPHRASE + "\n", capture_output=True, text=True, timeout=300)
        self.check(r.returncode == 0, "runbook block %s exited %d:\n%s\n-- stdout:\n%s-- stderr:\n%s"
                   % (bid, r.returncode, text, r.stdout, r.stderr))
        return r.stdout + r.stderr

    # ---- the other cities
    def make_others(self):
        for c in OTHERS:
            d = os.path.join(self.tmp, c)
            os.makedirs(os.path.join(d, "keys"))
            os.makedirs(os.path.join(self.ops, "ceremony", c))
            for role in ("node", "seal", "admin"):
                self.qchain("keygen", "--role", role, "--out", os.path.join(d, "keys", role + ".key"))
                shutil.copy(os.path.join(d, "keys", role + ".pub"),
                            os.path.join(self.ops, "ceremony", c, role + ".pub"))

    def start_others(self):
        for c in OTHERS:
            d = os.path.join(self.tmp, c)
            cfg = {"version": 1, "city": c, "genesis": os.path.join(self.ops, "genesis.json"),
                   "data_dir": os.path.join(d, "data"),
                   "keys": {r: os.path.join(d, "keys", r + ".key") for r in ("node", "seal", "admin")},
                   "api": {"listen": ADDR[c] + ":8000"}}
            with open(os.path.join(d, "node.json"), "w") as f:
                json.dump(cfg, f)
            log = open(os.path.join(self.tmp, c + ".log"), "a")
            self.procs[c] = subprocess.Popen([os.path.join(BIN, "qchaind"), "--config",
                                              os.path.join(d, "node.json")], stdout=log, stderr=log)

    def config(self, c):
        return os.path.join(self.tmp, c, "node.json")

    def anchor_elsewhere(self, tag, n=1):
        for i in range(n):
            doc = os.path.join(self.tmp, "%s-%d.txt" % (tag, i))
            with open(doc, "w") as f:
                f.write("%s %d %f\n" % (tag, i, time.time()))
            self.qchain("anchor", doc, "--config", self.config("zibo"), "--no-receipt")

    def heads(self):
        return {c: (self.status(c).get("height"), self.status(c).get("head_hash"))
                for c in ["jinan"] + OTHERS}

    def wait_level(self, what):
        self.wait_for(what, lambda: len(set(self.heads().values())) == 1 and
                      None not in [h for h, _ in self.heads().values()], secs=60)

    def stop_all(self):
        subprocess.run([sys.executable, os.path.join(HERE, "systemctl_shim.py"), "stop", "qchaind"],
                       env=dict(os.environ, QC_SHIM_DIR=self.shim, QC_PKGENV_DIR=HERE), timeout=60)
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def inner(deb1, deb2, tmp):
    pkgenv.private_system(tmp)
    pkgenv.sh("ip", "link", "set", "lo", "up", name="it_runbook")
    for a in ADDR.values():
        pkgenv.sh("ip", "addr", "add", a + "/32", "dev", "lo", name="it_runbook")
    pkgenv.sh("dpkg", "-i", deb1, name="it_runbook", env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    D = Deployment(tmp)
    os.makedirs(D.ops)
    os.makedirs(D.shim)
    os.symlink(os.path.join(HERE, "systemctl_shim.py"), os.path.join(D.shim, "systemctl"))
    os.chmod(tmp, 0o711)  # the service user reaches its credentials under the shim's directory
    shutil.copy(deb2, D.ops)  # the new release, where the upgrade block expects it
    D.make_others()
    blocks = dict(runbook_blocks())
    out = {}

    def run(bid):
        out[bid] = D.run_block(bid, blocks[bid])
        return out[bid]

    run("keys")
    st = os.stat("/etc/qchain/node.key")
    D.check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid != 0, "the node key is 0600, the service user's")
    D.check('"encrypted"' in open("/etc/qchain/node.key").read(), "the node key is encrypted")
    st = os.stat("/etc/qchain/passphrase")
    D.check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0, "the passphrase file is root's, 0600")
    D.check(all('"encrypted"' in open(os.path.join(D.ops, "signing", k)).read()
                for k in ("seal.key", "admin.key")), "the seal and admin keys are encrypted")

    node_pub = json.load(open("/etc/qchain/node.pub"))["public"]
    D.check(node_pub in run("fingerprints"), "the fingerprints show the node key")
    run("genesis")
    D.check(os.path.isfile(os.path.join(D.ops, "genesis.json")), "the genesis is written")
    D.start_others()
    hashes = re.findall(r"\b[0-9a-f]{64}\b", run("genesis-hash"))
    D.check(len(hashes) == 1, "genesis --hash prints one hash: %r" % hashes)
    D.wait_for("zibo up", lambda: D.status("zibo").get("genesis_hash") is not None)
    D.check(D.status("zibo")["genesis_hash"] == hashes[0], "the signed-off hash is the one zibo runs")

    run("configure")
    st = os.stat("/var/lib/qchain")
    D.check(stat.S_IMODE(st.st_mode) == 0o700, "the state directory is 0700")
    ready = run("ready")
    s = D.status("jinan")
    D.check(s.get("peers_up") == 3 and s.get("lag") == 0 and D.get("jinan", "/healthz") == {"status": "ok"},
            "the ready wait returned with jinan linked, level and healthy: %r" % s)
    D.check("jinan" in ready, "qchain status shows the node: %s" % ready)

    anchored = run("anchor")
    D.check("VALID" in anchored, "the auditor's verify says VALID: %s" % anchored)
    D.wait_level("the record everywhere")
    D.check(D.status("zibo")["height"] >= 1, "zibo has the block")

    run("firewall")
    D.check(subprocess.run(["nft", "list", "table", "inet", "qchain"], capture_output=True).returncode == 0,
            "the nftables table is loaded")
    D.anchor_elsewhere("behind-firewall")
    D.wait_level("commits behind the firewall")
    D.check(D.status("jinan").get("peers_up") == 3, "jinan's links stay up behind the firewall")

    backup = run("backup")
    D.check("qchain/ledger/CURRENT" in backup, "the backup holds the ledger")
    D.wait_for("jinan back after the backup", lambda: D.status("jinan").get("peers_up") == 3)
    D.anchor_elsewhere("after-backup", 3)  # the restored ledger will be behind these
    D.wait_level("blocks after the backup")
    head_before = D.status("zibo")["height"]
    run("restore")
    D.check(os.path.isdir("/var/lib/qchain/ledger.before-restore"), "the replaced ledger is kept aside")
    run("ready")
    D.wait_level("the restored node caught up")
    D.check(D.status("jinan")["height"] >= head_before, "the restored node reached the others' head")

    upgraded = run("upgrade")
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "qchain"], capture_output=True,
                             text=True).stdout
    D.check(version == "0.0.2~test", "the new package is installed: %r %s" % (version, upgraded))
    run("ready")

    rotated = run("rotate")
    new_seal = json.load(open(os.path.join(D.ops, "signing", "seal-2.pub")))["public"]
    ids = re.findall(r"\b[0-9a-f]{16,64}\b", rotated)
    D.check(ids, "the proposal's id is printed: %s" % rotated)
    # the proposal is committed at jinan; zibo (listed below) and taian (approves below) may
    # apply that block a moment later
    h = D.status("jinan").get("height") or 0
    D.wait_for("zibo and taian at jinan's height %d" % h,
               lambda: all((D.status(c).get("height") or 0) >= h for c in ("zibo", "taian")))
    lst = json.loads(D.qchain("member", "list", "--config", D.config("zibo"), "--json").stdout)
    D.check(len(lst["open"]) == 1, "one open proposal: %r" % lst["open"])
    pid = lst["open"][0]["id"]
    for c in ("zibo", "taian"):
        D.qchain("member", "approve", pid, "--config", D.config(c))
    for i in range(20):
        if D.status("jinan").get("epoch") == 1:
            break
        D.anchor_elsewhere("to-the-switch-%d" % i)
    D.wait_for("epoch 1 at jinan", lambda: D.status("jinan").get("epoch") == 1)
    history = run("rotated")
    epoch1 = history[history.index("epoch 1 from block"):]
    D.check(re.search(r"^\s*jinan\s.*seal %s" % new_seal[:16], epoch1, re.M) is not None and
            new_seal[:16] not in history[:history.index("epoch 1 from block")],
            "the history shows jinan's new seal key from epoch 1 on: %s" % history)

    offsets = re.findall(r"this host is (-?\d+) s ahead", run("clock"))
    D.check(len(offsets) == 3 and all(abs(int(o)) <= 2 for o in offsets),
            "the clock check compares with the three other members: %r" % offsets)

    D.stop_all()
    for c, p in D.procs.items():
        D.check(p.returncode == 0, "%s stopped cleanly (%s)" % (c, p.returncode))
    print("it_runbook: inner: %d blocks run, %d checks passed" % (len(out), D.checks))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--inner":
        sys.exit(inner(*sys.argv[2:]))
    sys.exit(outer())
