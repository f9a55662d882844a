#!/usr/bin/env python3
"""it_membership.py - membership changes on real processes while records are anchored without
pause (docs/GOVERNANCE.md): four cities; dezhou joins (its node starts first and syncs as a
learner, then votes from its epoch on); binzhou and dongying join in one proposal (seven
validators); liaocheng is removed; zibo's node key and taian's seal key are rotated together
(zibo restarts with its new key); dezhou's node loses its data and rejoins from the genesis. Afterwards every honest node holds identical blocks, every
acknowledged record is present everywhere, every receipt issued at any point (before and after
each change) verifies offline with only the original genesis file, the removed city can neither
get a transaction admitted nor a block committed, and the old seal key is refused."""
import json, os, shutil, threading, time

from cluster import Cluster, port_base

BASE = port_base(23000, 400)  # p2p base+1..7, API base+1001..1007
C = Cluster("it_membership", BASE)
check, fail, qchain = C.check, C.fail, C.qchain
JOINERS = {"dezhou": "Dezhou 德州", "binzhou": "Binzhou 滨州", "dongying": "Dongying 东营"}


class Anchorer(threading.Thread):
    """Anchors one record at a time, round robin over the cities in `self.cities`, and keeps
    every acknowledged one (digest file and the receipt `qchain anchor` wrote and checked)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.cities = ["jinan", "zibo", "taian", "liaocheng"]
        self.lock = threading.Lock()
        self.acked = []          # (city, doc path, receipt path)
        self.refused = 0
        self.stop = False
        self.seq = 0

    def run(self):
        while not self.stop:
            with self.lock:
                city = self.cities[self.seq % len(self.cities)]
                self.seq += 1
            doc = C.write_docs("rec%05d" % self.seq, 1)[0]
            r = qchain("anchor", doc, "--config", C.config(city), "--wait-ms", "20000", "--json",
                       ok=(0, 1, 3))
            if r.returncode == 0:
                with self.lock:
                    self.acked.append((city, doc, doc + ".receipt.json"))
            else:
                self.refused += 1
                time.sleep(0.2)

    def use(self, cities):
        with self.lock:
            self.cities = list(cities)

    def count(self):
        with self.lock:
            return len(self.acked)


A = Anchorer()


def keygen(city, role, name=None):
    path = os.path.join(C.tmp, city, "keys", (name or role) + ".key")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    qchain("keygen", "--role", role, "--out", path)
    return path, path[:-4] + ".pub"


def edit_config(city, fn):
    path = C.config(city)
    cfg = json.load(open(path))
    fn(cfg)
    json.dump(cfg, open(path, "w"), indent=2)


def prepare_joiner(city):
    """Keys and a config for a city that is not in the genesis (it names its own addresses)."""
    os.makedirs(os.path.join(C.tmp, city), exist_ok=True)
    pubs = {role: keygen(city, role)[1] for role in ("node", "seal", "admin")}
    cfg = json.load(open(C.config("jinan")))
    cfg["city"] = city
    C.cities.append(city)
    cfg["p2p"]["listen"] = "127.0.0.1:%d" % (BASE + len(C.cities))
    cfg["api"]["listen"] = "127.0.0.1:%d" % C.api_port(city)
    json.dump(cfg, open(C.config(city), "w"), indent=2)
    return ["--add", city, "--display", JOINERS[city], "--node-key", pubs["node"], "--seal-key",
            pubs["seal"], "--admin-key", pubs["admin"], "--p2p", cfg["p2p"]["listen"], "--api",
            cfg["api"]["listen"]]


def decide(changes, epoch, voters):
    """jinan proposes, the first threshold-1 voters approve; waits until `epoch` is in force
    at every voter and the proposal is enacted."""
    r = json.loads(qchain("member", "propose", *changes, "--config", C.config("jinan"),
                          "--json").stdout)
    pid = r["proposal"]["id"]
    for v in voters:
        # the proposal is committed at jinan; a voter's node may apply that block a moment
        # later (under load, or catching up after a restart), and refuses an approval of a
        # proposal it does not know yet
        C.wait_for("%s knows proposal %s" % (v, pid[:12]),
                   lambda: C.api(v, "/v1/governance/proposals/" + pid)[0] == 200, secs=30)
        p = json.loads(qchain("member", "approve", pid, "--config", C.config(v), "--json").stdout)
        if p["proposal"]["status"] != "open":
            break
    check(p["proposal"]["status"] in ("passed", "enacted"), "proposal %s passed: %s" % (pid[:12], p["proposal"]))
    C.wait_for("epoch %d in force" % epoch,
               lambda: all((C.status(c) or {}).get("epoch") == epoch for c in ["jinan"] + voters),
               secs=60)
    code, p = C.api("jinan", "/v1/governance/proposals/" + pid)
    check(code == 200 and p["status"] == "enacted", "proposal %s enacted" % pid[:12])
    return pid


def wait_validator(city, epoch):
    C.wait_for("%s votes in epoch %d" % (city, epoch),
               lambda: (C.status(city) or {}).get("epoch") == epoch and
               (C.status(city) or {}).get("validator") is True, secs=60)


def wait_records(n):
    target = A.count() + n
    C.wait_for("%d more acknowledged records" % n, lambda: A.count() >= target, secs=60)


def audit(state, cities, epoch):
    def noted(c):
        code, j = C.api(c, "/v1/checkpoint")
        return code == 200 and j.get("note") is not None and j.get("epoch") == epoch
    C.wait_for("checkpoint notes of epoch %d" % epoch, lambda: all(noted(c) for c in cities),
               secs=30)
    args = []
    for c in cities:
        args += ["--api", "http://127.0.0.1:%d" % C.api_port(c)]
    r = qchain("audit", "--genesis", C.genesis(), "--state", state, *args, "--json", ok=(0, 1, 4))
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and out.get("verdict") == "consistent" and out.get("epoch") == epoch,
          "qchain audit is consistent with a note of epoch %d: %s%s" % (epoch, r.stdout, r.stderr))


def block_hashes(city, upto):
    out = []
    for h in range(1, upto + 1):
        code, b = C.api(city, "/v1/blocks/%d" % h)
        check(code == 200, "%s serves block %d" % (city, h))
        out.append(b["header"]["hash"])
    return out


def main():
    C.make_testnet("itmember")
    genesis = C.genesis()
    C.start_all_and_link()
    A.start()
    wait_records(3)
    state = os.path.join(C.tmp, "audit-state.json")
    audit(state, ["jinan", "zibo"], 0)

    # ---- dezhou joins: its node starts before the proposal and waits as a learner
    add = prepare_joiner("dezhou")
    C.start("dezhou")
    C.wait_for("dezhou answers", lambda: C.status("dezhou") is not None)
    check(C.status("dezhou")["validator"] is False, "dezhou starts as a learner")
    decide(add, 1, ["zibo", "taian"])
    wait_validator("dezhou", 1)
    A.use(["jinan", "zibo", "taian", "liaocheng", "dezhou"])
    wait_records(4)

    # ---- binzhou and dongying join together: seven validators
    changes = prepare_joiner("binzhou") + prepare_joiner("dongying")
    C.start("binzhou")
    C.start("dongying")
    decide(changes, 2, ["zibo", "taian"])
    for c in ("binzhou", "dongying"):
        wait_validator(c, 2)
    code, m = C.api("binzhou", "/v1/members")
    check(code == 200 and len(m["members"]) == 7, "seven members: %s" % m)
    A.use(["jinan", "zibo", "taian", "liaocheng", "dezhou", "binzhou", "dongying"])
    wait_records(5)

    # ---- liaocheng is removed
    A.use(["jinan", "zibo", "taian", "dezhou", "binzhou", "dongying"])
    decide(["--remove", "liaocheng"], 3, ["zibo", "taian"])
    C.wait_for("liaocheng no longer votes",
               lambda: (C.status("liaocheng") or {}).get("validator") is False, secs=30)
    # decide() waited for epoch 3 at jinan and the voters; dezhou may switch a moment later
    C.wait_for("epoch 3 in force at dezhou",
               lambda: (C.status("dezhou") or {}).get("epoch") == 3, secs=60)
    code, m = C.api("dezhou", "/v1/members")
    check([x["name"] for x in m["members"]] ==
          ["jinan", "zibo", "taian", "dezhou", "binzhou", "dongying"],
          "liaocheng left, the later members moved down: %s" % m["members"])
    wait_records(5)

    # ---- zibo's node key and taian's seal key rotate together
    zibo_node, zibo_node_pub = keygen("zibo", "node", "node2")
    taian_seal, taian_seal_pub = keygen("taian", "seal", "seal2")
    A.use(["jinan", "dezhou", "binzhou", "dongying"])
    decide(["--rotate", "zibo", "--role", "node", "--key", zibo_node_pub,
            "--rotate", "taian", "--role", "seal", "--key", taian_seal_pub], 4, ["zibo", "taian"])
    C.wait_for("zibo's old node key no longer votes",
               lambda: (C.status("zibo") or {}).get("validator") is False, secs=30)
    C.procs["zibo"].terminate()
    C.procs["zibo"].wait(timeout=15)
    edit_config("zibo", lambda c: c["keys"].__setitem__("node", "keys/node2.key"))
    old_taian = json.load(open(C.config("taian")))["keys"]["seal"]
    r = qchain("anchor", C.write_docs("oldseal", 1)[0], "--config", C.config("taian"),
               "--wait-ms", "5000", ok=(1,))
    check("not a member city's seal key" in r.stderr, "taian's old seal key is refused: " + r.stderr)
    edit_config("taian", lambda c: c["keys"].__setitem__("seal", "keys/seal2.key"))
    C.start("zibo")
    wait_validator("zibo", 4)
    A.use(["jinan", "zibo", "taian", "dezhou", "binzhou", "dongying"])
    wait_records(6)

    # ---- dezhou loses its data: its node starts again from the genesis alone (a learner whose
    # ledger knows only epoch 0), follows the certified switches and votes in epoch 4 again
    C.procs["dezhou"].terminate()
    C.procs["dezhou"].wait(timeout=15)
    shutil.rmtree(os.path.join(C.tmp, "dezhou", "data"))
    C.start("dezhou")
    wait_validator("dezhou", 4)
    wait_records(3)

    # ---- the removed city can neither get a transaction admitted nor a block committed
    frozen = C.status("liaocheng")["height"]
    r = qchain("anchor", C.write_docs("removed", 1)[0], "--config", C.config("liaocheng"),
               "--wait-ms", "5000", ok=(1, 3))
    check(r.returncode == 1 and "not a member city's seal key" in r.stderr,
          "liaocheng's own node refuses its seal key: " + r.stderr)
    edit_config("liaocheng", lambda c: c["api"].__setitem__("listen", "127.0.0.1:%d" % C.api_port("jinan")))
    r = qchain("anchor", C.write_docs("removed2", 1)[0], "--config", C.config("liaocheng"),
               "--wait-ms", "5000", ok=(1, 3))
    check(r.returncode == 1 and "not a member city's seal key" in r.stderr,
          "a member node refuses liaocheng's seal key: " + r.stderr)
    A.stop = True
    A.join(60)
    honest = ["jinan", "zibo", "taian", "dezhou", "binzhou", "dongying"]
    C.wait_for("honest nodes level", lambda: len(set(C.heights(honest))) == 1, secs=30)
    height = C.status("jinan")["height"]
    check((C.status("liaocheng") or {}).get("height") == frozen and frozen < height,
          "liaocheng committed nothing after its removal (%s < %d)" % (frozen, height))

    # ---- one history everywhere; every acknowledged record everywhere; every receipt verifies
    ref = block_hashes("jinan", height)
    for c in honest[1:]:
        check(block_hashes(c, height) == ref, "%s holds the same %d blocks as jinan" % (c, height))
    check(len(A.acked) >= 23, "records acknowledged throughout: %d" % len(A.acked))
    epochs = set()
    for city, doc, receipt in A.acked:
        r = qchain("verify", doc, "--receipt", receipt, "--genesis", genesis, "--json", ok=(0, 1))
        check(r.returncode == 0, "the receipt of %s (anchored by %s) verifies with the original "
              "genesis: %s%s" % (os.path.basename(doc), city, r.stdout, r.stderr))
        v = json.loads(r.stdout)
        epochs.add(v.get("epoch"))
        digest = v["digest"]
        for c in honest:
            code, _ = C.api(c, "/v1/records/" + digest)
            check(code == 200, "%s holds %s's record %s" % (c, city, digest[:12]))
    check(epochs == {0, 1, 2, 3, 4}, "receipts from every epoch verified: %s" % sorted(epochs))
    r = qchain("status", "--all", "--config", C.config("jinan"), "--json")
    check([x.get("city") for x in json.loads(r.stdout)["nodes"]] == honest,
          "status --all asks the members in force: %s" % r.stdout[:300])
    # `qchain block` checks a block of the last epoch through the switches the node serves.
    r = qchain("block", str(height), "--config", C.config("jinan"))
    check("epoch 4)" in r.stdout and "of 6 member cities" in r.stdout,
          "qchain block verifies an epoch-4 block from the genesis: " + r.stdout)
    # The auditor's state file from epoch 0 carries over four switches (CHECKPOINTS.md).
    audit(state, ["jinan", "dongying"], 4)
    # A receipt fetched now for the first record (epoch 0) still verifies after all changes.
    first = A.acked[0]
    out = os.path.join(C.tmp, "refetched.json")
    qchain("receipt", "--file", first[1], "--config", C.config("dongying"), "--out", out)
    qchain("verify", first[1], "--receipt", out, "--genesis", genesis)
    C.stop_all(15)
    for city, proc in C.procs.items():
        check(proc.returncode == 0, "%s exited cleanly (%s)" % (city, proc.returncode))
    print("it_membership: %d checks passed (%d records, %d refused while keys moved)" %
          (C.checks, len(A.acked), A.refused))
    shutil.rmtree(C.tmp, ignore_errors=True)


if __name__ == "__main__":
    C.run(main, lambda: setattr(A, "stop", True))
