#!/usr/bin/env python3
"""it_audit_epochs.py - `qchain audit` across a membership change on a real four-node
consortium (docs/CHECKPOINTS.md §3): a first audit in epoch 0 writes the state file; a
governance change rotates zibo's node key, zibo restarts with the new key; the note after the
switch is signed by epoch 1's set and says so (/v1/checkpoint "epoch", signer names and
quorum of that set), and the audit with the same state file accepts it as consistent growth,
re-verifying the epoch 0 note it had stored with epoch 0's set and the new one with epoch 1's
set certified from the genesis; the state file then holds epoch 1. Once zibo signs with its
new key, an audit still verifies (zibo's line checks against its rotated key)."""
import json, os

from cluster import NearApiCluster, port_base

# p2p ports base+1..4 and API ports base+501..504: 26001..26903.
C = NearApiCluster("it_audit_epochs", port_base(26000, 400), 500)
check, qchain = C.check, C.qchain


def checkpoint(city):
    code, j = C.api(city, "/v1/checkpoint")
    return j if code == 200 else {}


def signed(city, epoch, min_size):
    j = checkpoint(city)
    return j.get("note") is not None and j.get("epoch") == epoch and j["log_size"] >= min_size


def audit(state, cities):
    args = []
    for c in cities:
        args += ["--api", "http://127.0.0.1:%d" % C.api_port(c)]
    r = qchain("audit", "--genesis", C.genesis(), "--state", state, *args, "--json", ok=(0, 1, 4))
    out = json.loads(r.stdout)
    check(r.returncode == 0 and out["verdict"] == "consistent",
          "audit is consistent: %s" % json.dumps(out, indent=1))
    return out


def main():
    C.make_testnet("itauditep")
    interval = json.load(open(C.genesis()))["consensus"]["checkpoint_interval"]
    C.start_all_and_link()
    state = os.path.join(C.tmp, "audit-state.json")

    # ---- epoch 0: a first audit
    C.anchor("jinan", C.write_docs("a", 3))
    C.wait_for("an epoch 0 checkpoint of 3 records", lambda: all(signed(c, 0, 3) for c in C.cities))
    j = checkpoint("taian")
    check(j["quorum"] == 3 and set(j["signers"]) <= set(C.cities), "epoch 0 signers: %s" % j)
    out = audit(state, ["jinan", "zibo", "taian"])
    check(out["epoch"] == 0 and out["state_updated"] and out["tree_size"] >= 3,
          "the first audit accepts an epoch 0 checkpoint: %s" % out)
    saved = json.load(open(state))
    check(saved["version"] == 2 and saved["epoch"] == 0, "the state file holds epoch 0: %s" % saved)
    size0 = saved["tree_size"]

    # ---- rotate zibo's node key
    key = os.path.join(C.tmp, "zibo", "keys", "node2.key")
    qchain("keygen", "--role", "node", "--out", key)
    r = json.loads(qchain("member", "propose", "--rotate", "zibo", "--role", "node", "--key",
                          key[:-4] + ".pub", "--config", C.config("jinan"), "--json").stdout)
    pid = r["proposal"]["id"]
    for v in ("zibo", "taian"):
        # the proposal is committed at jinan; a voter's node may apply that block a moment
        # later (under load), and refuses an approval of a proposal it does not know yet
        C.wait_height(v, r["height"])
        p = json.loads(qchain("member", "approve", pid, "--config", C.config(v), "--json").stdout)
    check(p["proposal"]["status"] == "passed", "the rotation passed: %s" % p["proposal"])
    for i in range(interval + 2):  # blocks up to the switch height
        if (C.status("jinan") or {}).get("epoch") == 1:
            break
        C.anchor("liaocheng", C.write_docs("fill%d" % i, 1))
    C.wait_for("epoch 1 at jinan, taian, liaocheng",
               lambda: all((C.status(c) or {}).get("epoch") == 1 for c in ("jinan", "taian", "liaocheng")),
               secs=30)
    # The switch block's note is signed again by the new set (the set in force after it),
    # without waiting for another block.
    code, hist = C.api("taian", "/v1/members/history")
    switch_height = hist["epochs"][1]["first_height"] - 1
    C.wait_for("epoch 1's note of the switch block %d" % switch_height,
               lambda: signed("jinan", 1, 0) and checkpoint("jinan")["height"] == switch_height,
               secs=15)
    switch_size = checkpoint("jinan")["log_size"]
    C.wait_for("zibo's old key no longer votes",
               lambda: (C.status("zibo") or {}).get("validator") is False, secs=30)
    C.procs["zibo"].terminate()
    C.procs["zibo"].wait(timeout=15)
    cfg = json.load(open(C.config("zibo")))
    cfg["keys"]["node"] = "keys/node2.key"
    json.dump(cfg, open(C.config("zibo"), "w"), indent=2)
    C.start("zibo")
    C.wait_for("zibo votes in epoch 1 with its new key",
               lambda: (C.status("zibo") or {}).get("epoch") == 1 and
               (C.status("zibo") or {}).get("validator") is True, secs=60)

    # ---- epoch 1: the note names its set; the audit carries the state across
    C.anchor("jinan", C.write_docs("b", 2))
    C.wait_for("an epoch 1 checkpoint past the switch block's",
               lambda: all(signed(c, 1, switch_size + 2) for c in ("jinan", "taian", "liaocheng")),
               secs=30)
    code, hist = C.api("taian", "/v1/members/history")
    check([e["epoch"] for e in hist["epochs"]] == [0, 1], "the history has epochs 0 and 1")
    j = checkpoint("jinan")
    check(j["epoch"] == 1 and j["height"] > switch_height and j["quorum"] == 3 and
          set(j["signers"]) <= set(C.cities) and len(j["signers"]) >= 3,
          "the checkpoint after the switch is epoch 1's: %s" % {k: j[k] for k in ("epoch", "height", "signers")})
    out = audit(state, ["jinan", "taian", "liaocheng"])
    check(out["epoch"] == 1 and out["previous_epoch"] == 0 and out["state_updated"] and
          "grew consistently from %d to" % size0 in out["reason"] and
          all(n["ok"] and n["epoch"] == 1 for n in out["nodes"]),
          "the second audit accepts epoch 1's checkpoint over the stored epoch 0 one: %s" % out)
    saved = json.load(open(state))
    check(saved["epoch"] == 1 and saved["tree_size"] == out["tree_size"],
          "the state file now holds epoch 1: %s" % {k: saved[k] for k in ("epoch", "tree_size")})

    # ---- zibo signs with its rotated key; the audit verifies its line
    def zibo_signs():
        C.anchor("taian", C.write_docs("c", 1))
        return "zibo" in checkpoint("jinan").get("signers", [])
    C.wait_for("zibo among the signers with its new key", zibo_signs, secs=60)
    out = audit(state, ["zibo", "jinan"])
    check(out["epoch"] == 1 and "zibo" in out["signers"] and out["previous_epoch"] == 1,
          "an audit with zibo's new-key signature and the epoch 1 state: %s" % out)
    C.stop_and_pass()


if __name__ == "__main__":
    C.run(main)
