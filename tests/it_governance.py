#!/usr/bin/env python3
"""it_governance.py - membership governance end to end on a real four-node consortium: jinan's
admin proposes a threshold change with `qchain member propose`, the proposal is listed open with
jinan's approval (CLI and API), zibo approves by an id prefix, a second approval by zibo and one
signed by a seal key are refused with the node's reason, taian's approval passes it, and after
enough anchored blocks for the checkpoint the new epoch is in force (/v1/status, /v1/members,
/v1/members/history, `member history`, metrics). The governance endpoints' 400/404 are checked."""
import json, os, re, shutil, urllib.request

from cluster import NearApiCluster, port_base

# p2p ports base+1..4 and (rewritten below) API ports base+501..504: 22001..22904.
BASE = port_base(22000, 400)
API_OFFSET = 500


C = NearApiCluster("it_governance", BASE, API_OFFSET)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
check, fail, qchain = C.check, C.fail, C.qchain


def member(*args, ok=(0,)):
    return qchain("member", *args, ok=ok)


def member_json(*args):
    return json.loads(member(*args, "--json").stdout)


def anchor(city, files):
    """Anchors and fetches the receipts, which `qchain anchor` verifies against the genesis
    (epoch >= 1 ones through their membership history)."""
    return qchain("anchor", *files, "--config", C.config(city), "--wait-ms", "15000", "--json")


def metrics_text(city):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % C.api_port(city), timeout=5) as r:
        return r.read().decode()


def metric(city, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), metrics_text(city), re.M)
    check(m is not None, "/metrics has %s" % name)
    return int(m.group(1))


def main():
    C.make_testnet("itgov")
    genesis = json.load(open(C.genesis()))
    interval = genesis["consensus"]["checkpoint_interval"]
    check(genesis["governance"]["threshold"] == 3, "the testnet's threshold is 3")
    C.start_all_and_link()
    jinan, zibo, taian = (C.config(c) for c in ("jinan", "zibo", "taian"))

    # ---- propose (jinan's admin key from its config)
    r = member_json("propose", "--config", jinan, "--threshold", "2", "--expiry-blocks", "500")
    pid, p = r["proposal"]["id"], r["proposal"]
    check(p["status"] == "open" and p["approvals"] == ["jinan"] and p["proposer"] == "jinan",
          "the proposal is open with jinan's approval: %s" % p)
    check(p["changes"] == [{"kind": "threshold", "threshold": 2}] and p["threshold"] == 3,
          "the change and the threshold in force are shown: %s" % p)
    check(p["vote_expiry_height"] >= 500 and p["epoch"] == 0, "vote expiry is head + 500")
    # committed at jinan; zibo, read below, may apply that block a moment later (under load)
    C.wait_height("zibo", r["height"])
    lst = member_json("list", "--config", zibo)
    check([x["id"] for x in lst["open"]] == [pid] and lst["open"][0]["approvals"] == ["jinan"],
          "member list --json shows it open with 1 approval on another node: %s" % lst["open"])
    check(lst["waiting"] is None and [x["id"] for x in lst["proposals"]] == [pid],
          "nothing waits; the records hold the one proposal")
    check("approvals 1/3" in member("list", "--config", zibo).stdout, "member list prints 1/3")
    check(metric("jinan", "qchain_governance_proposals_open") == 1, "metric: 1 open")
    check(metric("jinan", "qchain_governance_change_waiting") == 0, "metric: nothing waits")

    # ---- the endpoints' errors
    code, body = C.api("jinan", "/v1/governance/proposals/" + pid)
    check(code == 200 and body["id"] == pid, "GET one proposal")
    code, body = C.api("jinan", "/v1/governance/proposals/xyz")
    check(code == 400 and body["error"]["code"] == "bad_request", "a bad id is 400: %s" % body)
    code, body = C.api("jinan", "/v1/governance/proposals/" + "0" * 64)
    check(code == 404 and body["error"]["code"] == "not_found", "an unknown id is 404: %s" % body)
    r = member("show", "0" * 8, "--config", jinan, ok=(1,))
    check("no proposal id starts with" in r.stderr, "show of an unknown prefix fails: " + r.stderr)

    # ---- votes
    r = member_json("approve", pid[:12], "--config", zibo)
    check(r["proposal"]["approvals"] == ["jinan", "zibo"] and r["proposal"]["status"] == "open",
          "zibo approved by a prefix: %s" % r["proposal"])
    # committed at zibo; jinan (read below) and taian (approves below) may apply it a moment later
    C.wait_height(["jinan", "taian"], r["height"])
    r = member("approve", pid, "--config", zibo, ok=(1,))
    check("zibo already approved" in r.stderr, "a second approval by zibo is refused with the "
          "reason: " + r.stderr)
    r = member("approve", pid, "--config", taian, "--key",
               os.path.join(C.tmp, "taian", "keys", "seal.key"), ok=(1,))
    check("this is a seal key" in r.stderr, "the CLI will not sign governance with a seal key: " + r.stderr)
    # A seal secret relabelled as an admin key file: the CLI signs, the node must refuse.
    fake = os.path.join(C.tmp, "taian-seal-as-admin.key")
    k = json.load(open(os.path.join(C.tmp, "taian", "keys", "seal.key")))
    k["role"] = "admin"
    with open(os.open(fake, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        json.dump(k, f)
    r = member("approve", pid, "--config", taian, "--key", fake, ok=(1,))
    check("refused" in r.stderr and "HTTP 403" in r.stderr,
          "an approval signed by a seal key is refused by the node: " + r.stderr)
    check(member_json("show", pid, "--config", jinan)["approvals"] == ["jinan", "zibo"],
          "the refused votes did not count")
    for city in ("zibo", "taian"):
        check(metric(city, 'qchain_mempool_rejected_total{reason="governance"}') == 1,
              "%s counted its governance refusal" % city)
    doc = open(os.path.join(REPO, "docs", "API.md"), encoding="utf-8").read()
    doc = set(re.findall(r"^\| `(qchain_[a-z_]+)`", doc.split("## Metrics", 1)[1].split("\n## ", 1)[0],
                         re.M))
    served = set(re.findall(r"^# TYPE (qchain_[a-z_]+) ", metrics_text("jinan"), re.M))
    check(doc == served, "served metric families == docs/API.md's: only served %s, only "
          "documented %s" % (sorted(served - doc), sorted(doc - served)))

    r = member_json("approve", pid, "--config", taian)
    p = r["proposal"]
    check(p["status"] == "passed" and p["approvals"] == ["jinan", "zibo", "taian"],
          "taian's approval passed it: %s" % p)
    C.wait_height("jinan", r["height"])  # committed at taian; jinan is read below
    lst = member_json("list", "--config", jinan)
    w = lst["waiting"]
    check(lst["open"] == [] and w is not None and w["proposal"]["id"] == pid and
          w["next_epoch"] == 1 and w["next_threshold"] == 2 and w["switch_height"] % interval == 0,
          "the passed change waits for its checkpoint: %s" % w)
    check(p["effective_height"] == w["switch_height"] + 1, "it takes effect after the switch")
    check(metric("jinan", "qchain_governance_change_waiting") == 1, "metric: a change waits")

    # ---- anchor until the switch height is committed
    for i in range(interval + 2):
        if C.status("jinan")["height"] > w["switch_height"]:
            break
        anchor("liaocheng", C.write_docs("fill%d" % i, 1))
    C.wait_for("epoch 1 everywhere", lambda: all((C.status(c) or {}).get("epoch") == 1
                                                   for c in C.cities), secs=30)
    code, hist = C.api("zibo", "/v1/members/history")
    check(code == 200 and [e["epoch"] for e in hist["epochs"]] == [0, 1],
          "the history has epochs 0 and 1: %s" % hist)
    e0, e1 = hist["epochs"]
    check(e0["first_height"] == 1 and e0["threshold"] == 3 and e1["threshold"] == 2 and
          e1["first_height"] == w["switch_height"] + 1, "epoch spans and thresholds")
    check([m["name"] for m in e1["members"]] == C.cities and
          all(len(m["admin_key"]) == 64 for m in e1["members"]), "epoch 1's members and keys")
    code, mem = C.api("taian", "/v1/members")
    check(code == 200 and mem["epoch"] == 1 and mem["governance_threshold"] == 2 and
          mem["members"][0]["api_address"] == "127.0.0.1:%d" % C.api_port("jinan"),
          "/v1/members shows the new epoch and the addresses in force: %s" % mem)
    check(member_json("show", pid[:10], "--config", taian)["status"] == "enacted",
          "the proposal is enacted")
    check(member_json("history", "--config", jinan) == hist, "member history --json is the API's")
    out = member("history", "--config", jinan).stdout
    check("epoch 1 from block %d" % e1["first_height"] in out, "member history prints the epochs")
    check("enacted" in member("show", pid, "--config", jinan).stdout, "member show prints it")
    check(metric("jinan", "qchain_epoch") == 1 and metric("jinan", "qchain_epoch_switches_total") == 1,
          "metrics: epoch 1, one switch")
    check(all(metric(c, "qchain_peer_relinks_total") == 0 for c in C.cities),
          "a threshold change leaves the peer links as they were: none reopened")

    # ---- the chain goes on in epoch 1
    anchor("jinan", C.write_docs("after", 2))
    C.stop_all(15)
    for city, proc in C.procs.items():  # a sanitizer report makes a node exit non-zero
        check(proc.returncode == 0, "%s exited cleanly (%s)" % (city, proc.returncode))
    print("it_governance: %d checks passed" % C.checks)
    shutil.rmtree(C.tmp, ignore_errors=True)


if __name__ == "__main__":
    C.run(main)
