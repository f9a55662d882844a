#!/usr/bin/env python3
"""it_storage.py - the ledger's storage as an operator meets it, on four real qchaind processes:
data directories are 0700 and every file in them 0600; a node whose ledger lost its last
blocks (a truncated LevelDB log) says so loudly at start, /healthz reports it, and it catches
up from its peers; a flipped byte inside a ledger table makes /healthz answer 503 naming the
damage as soon as a read meets it (before: "ok" while the block answered 500); and a node whose
data_dir is a 1 MiB tmpfs of its own fills it while the others go on: /healthz says "storage
failing" (before: "ledger needs an operator", for good), the tmpfs grows, the node writes again
and catches up without a restart, and then restarts with its ledger whole (before: the restart
failed with "Corruption: checksum mismatch"). That node runs in a private mount namespace
(`unshare -m` as root, `unshare -rm` otherwise); a machine offering neither fails the test
saying so. Ports 23000..23999. The store's own full-disk cases: tests/test_store_full.c."""
import hashlib, json, os, shutil, signal, stat, subprocess, time

from cluster import BUILD, Cluster

CITIES = ["jinan", "zibo", "taian", "liaocheng"]
# p2p on BASE+1..4, the APIs on BASE+501..504: both inside 23000..23999.
BASE = 23000 + (os.getpid() % 20) * 10 + (200 if "asan" in BUILD else 0)


class StorageCluster(Cluster):
    def api_port(self, city):
        return self.base + 500 + self.cities.index(city) + 1

    def make_testnet(self, chain_id):
        super().make_testnet(chain_id)
        for c in self.cities:  # the APIs into this test's port range
            cfg = json.load(open(self.config(c)))
            cfg["api"]["listen"] = "127.0.0.1:%d" % self.api_port(c)
            json.dump(cfg, open(self.config(c), "w"), indent=2)


C = StorageCluster("it_storage", BASE, CITIES)
FULL = "liaocheng"  # the node whose data_dir is a small tmpfs
# Runs qchaind on a tmpfs of $SIZE mounted on $DATA (private to this mount namespace); grows the
# tmpfs once $CTL/grow exists; after that qchaind exits, runs it again once $CTL/restart exists.
# Every wait is bounded (120 s).
WRAPPER = r"""
set -u
mount -t tmpfs -o size=$SIZE,mode=0700 qc_fulldisk "$DATA" || { echo "it_storage: cannot mount a tmpfs (needs root or user namespaces)" >&2; exit 97; }
"$QCHAIND" --config "$CFG" & echo $! > "$CTL/pid"
i=0; while [ ! -e "$CTL/grow" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
mount -o remount,size=64m "$DATA" || exit 98
echo grown > "$CTL/grown"
wait
i=0; while [ ! -e "$CTL/restart" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
exec "$QCHAIND" --config "$CFG"
"""
check, fail, wait_for = C.check, C.fail, C.wait_for


def data(city, *parts):
    return os.path.join(C.tmp, city, "data", *parts)


def stop(city):
    p = C.procs[city]
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)


def log_text(city):
    return open(os.path.join(C.tmp, city + ".log"), errors="replace").read()


def height(city):
    return (C.status(city) or {}).get("height") or 0


def ctl(*parts):
    return os.path.join(C.tmp, "fulldisk-ctl", *parts)


def start_on_small_disk(city):
    """Starts city's qchaind in its own mount namespace with data_dir on a 1 MiB tmpfs."""
    os.makedirs(data(city), mode=0o700, exist_ok=True)
    os.makedirs(ctl(), exist_ok=True)
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    env = dict(os.environ, SIZE="1m", DATA=data(city), CFG=C.config(city), CTL=ctl(),
               QCHAIND=os.path.abspath(os.path.join(BUILD, "bin", "qchaind")))
    log = open(os.path.join(C.tmp, city + ".log"), "a")
    C.procs[city] = subprocess.Popen(unshare + ["sh", "-c", WRAPPER], env=env, stdout=log,
                                     stderr=log)
    time.sleep(0.5)
    if C.procs[city].poll() is not None:
        fail("cannot run a node on a private tmpfs (exit %s; needs root or unprivileged user "
             "namespaces and util-linux unshare): %s" % (C.procs[city].returncode,
                                                         log_text(city)[-300:]))


def kill_small_disk_node():
    try:
        os.kill(int(open(ctl("pid")).read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def check_full_disk(city):
    """Fills city's 1 MiB data_dir with large blocks the other three commit; then grows it."""
    others = [c for c in CITIES if c != city]
    for i in range(40):
        code, body = C.api(city, "/healthz")
        if code == 503:
            break
        C.anchor(others[i % 3], C.write_docs("full%d" % i, 1000))
    code, body = C.api(city, "/healthz")
    check(code == 503 and body.get("status") == "storage failing",
          "/healthz on a full disk says storage failing: %s %s" % (code, body))
    check("No space left" in body.get("reason", "") or "I/O error" in body.get("reason", ""),
          "the reason names the disk: %s" % body)
    C.anchor(others[0], C.write_docs("while-full", 3))  # the consortium goes on without it
    check(height(city) < height(others[0]), "the full node fell behind")
    code, _ = C.api(city, "/v1/blocks/1")
    check(code == 200, "a node on a full disk still serves reads")
    open(ctl("grow"), "w").close()
    wait_for("the tmpfs grows", lambda: os.path.exists(ctl("grown")))
    wait_for("%s writes again and catches up" % city,
             lambda: height(city) >= height(others[0]), secs=60)
    wait_for("/healthz ok after space came back", lambda: C.api(city, "/healthz")[0] == 200)
    check("reopened after the failed write" in log_text(city), "the reopen is logged")
    # a restart on the same (now roomy) disk finds the whole ledger
    before = height(city)
    os.kill(int(open(ctl("pid")).read()), signal.SIGTERM)
    time.sleep(1)
    open(ctl("restart"), "w").close()
    wait_for("%s restarts" % city, lambda: C.status(city) is not None, secs=30)
    check(height(city) >= before, "the restart kept every block (%d < %d)" % (height(city), before))
    check("checksum mismatch" not in log_text(city), "no LevelDB corruption after the full disk")
    wait_for("identical heads after the restart",
             lambda: len({(C.status(c) or {}).get("head_hash") for c in CITIES}) == 1)


def check_permissions():
    for c in CITIES:
        for root, dirs, files in os.walk(data(c)):
            mode = stat.S_IMODE(os.stat(root).st_mode)
            check(mode == 0o700, "%s is mode %o, not 0700" % (root, mode))
            for f in files:
                p = os.path.join(root, f)
                mode = stat.S_IMODE(os.stat(p).st_mode)
                check(mode == 0o600, "%s is mode %o, not 0600" % (p, mode))


def check_rollback_detected(city):
    """Cuts the end off city's ledger log (LevelDB drops a torn tail silently); the node must
    say so at start and catch up from its peers."""
    before = height(city)
    stop(city)
    logs = [f for f in os.listdir(data(city, "ledger")) if f.endswith(".log")]
    check(len(logs) == 1, "one ledger log: %s" % logs)
    path = data(city, "ledger", logs[0])
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 3)
    C.start(city)
    wait_for("%s serves again" % city, lambda: C.status(city) is not None)
    wait_for("the rollback is logged", lambda: "LEDGER ROLLED BACK" in log_text(city), secs=10)
    line = [l for l in log_text(city).splitlines() if "LEDGER ROLLED BACK" in l][-1]
    check(int(line.split("head is block ")[1].split()[0]) < before - 1,
          "the rollback lost blocks: %s" % line)
    wait_for("%s catches up after the rollback" % city, lambda: height(city) >= before, secs=30)
    wait_for("/healthz ok again", lambda: C.api(city, "/healthz")[0] == 200, secs=10)
    check("ledger back at block" in log_text(city), "the recovery is logged")
    wait_for("identical heads", lambda: len({(C.status(c) or {}).get("head_hash")
                                             for c in CITIES}) == 1)


def flip_in_tables(city, needle):
    """Flips a byte in the first .ldb table of city's ledger holding needle; True if found."""
    d = data(city, "ledger")
    for f in sorted(os.listdir(d)):
        if not f.endswith(".ldb"):
            continue
        p = os.path.join(d, f)
        buf = bytearray(open(p, "rb").read())
        i = buf.find(needle)
        if i >= 0:
            buf[i + len(needle) // 2] ^= 0x10
            open(p, "wb").write(bytes(buf))
            return True
    return False


def check_damage_reported(city, digest):
    """Block 1 (large: it alone fills LevelDB's first table block) gets a flipped byte under
    LevelDB's checksum; the node starts (its head is elsewhere) and serves reads, but its start
    read every block to rebuild the state map, so the ledger is marked damaged from the start:
    /healthz 503 with the reason, until an operator acts; block 1 answers 500, others read."""
    stop(city)
    C.start(city)  # the restart writes the ledger log out as a table (.ldb)
    wait_for("%s serves again" % city, lambda: C.status(city) is not None)
    stop(city)
    check(flip_in_tables(city, digest), "block 1's record digest is in a ledger table")
    C.start(city)
    wait_for("%s serves after the flip" % city, lambda: C.status(city) is not None)
    code, body = C.api(city, "/healthz")
    check(code == 503 and body.get("status") == "ledger needs an operator",
          "/healthz reports the damage the start-up found: %s %s" % (code, body))
    code, body = C.api(city, "/v1/blocks/1")
    check(code == 500, "block 1 answers 500 (got %s)" % code)
    code, body = C.api(city, "/healthz")
    check(code == 503 and body.get("status") == "ledger needs an operator",
          "/healthz reports the damage: %s %s" % (code, body))
    check("checksum mismatch" in body.get("reason", "") and "ledger" in body["reason"],
          "the reason names the damage and the database: %s" % body)
    code, _ = C.api(city, "/v1/blocks/2")
    check(code == 200, "other blocks still read")
    # the operator's remedy (OPERATIONS.md "Corruption"): the damaged ledger aside, the node
    # starts empty (its consensus state kept) and catches up from its peers
    stop(city)
    shutil.move(data(city, "ledger"), data(city, "ledger.damaged"))
    C.start(city)
    wait_for("%s caught up on a fresh ledger" % city,
             lambda: (C.status(city) or {}).get("height", 0) >= height("jinan"))
    code, body = C.api(city, "/healthz")
    check(code == 200, "/healthz is ok again after the ledger was replaced: %s %s" % (code, body))


def main():
    C.make_testnet("it-storage")
    for c in CITIES:
        if c == FULL:
            start_on_small_disk(c)
        else:
            C.start(c)
    wait_for("all links up", lambda: all((C.status(c) or {}).get("peers_up") == 3
                                         for c in CITIES))
    big = C.write_docs("big", 300)  # block 1: over 4 KiB
    out = json.loads(C.anchor("jinan", big).stdout)
    check(out["height"] == 1, "the large anchor is block 1 (got %s)" % out["height"])
    digest = hashlib.sha256(open(big[0], "rb").read()).digest()
    for i in range(12):
        C.anchor(CITIES[i % 4], C.write_docs("s%d" % i, 2))
    wait_for("all nodes level", lambda: len(set(C.heights(CITIES))) == 1)
    check(height("jinan") >= 13, "13 blocks committed")
    check_permissions()
    check_rollback_detected("taian")
    check_damage_reported("zibo", digest)
    check_full_disk(FULL)
    C.stop_all(signal.SIGTERM)
    print("it_storage: %d checks passed" % C.checks)
    kill_small_disk_node()
    C.remove_dir()


if __name__ == "__main__":
    try:
        main()
    finally:
        kill_small_disk_node()
        C.stop_all(signal.SIGKILL)
