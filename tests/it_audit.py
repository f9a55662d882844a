#!/usr/bin/env python3
"""it_audit.py - signed checkpoints and `qchain audit` over four real qchaind processes: every
node serves the same quorum-signed C2SP checkpoint note (plain text and JSON); a first audit
across two nodes accepts it and writes the state file; after the log grows a second audit
reports consistent growth and updates the state; a state file whose note was altered (another
root) is refused with exit 1 and left as it was; a bad --api URL is a usage error. Forks with
validly signed conflicting notes are tested in-process (tests/test_audit.c), since forging one
needs a quorum of node keys."""
import hashlib, json, os, signal, urllib.request

from cluster import Cluster, port_base


def note_text(c, city):
    url = "http://127.0.0.1:%d/v1/checkpoint?format=note" % c.api_port(city)
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.headers.get("Content-Type", ""), r.read().decode()


def other_genesis(c, urls):
    """A genesis file differing from the chain's only in genesis_time_ms (same chain id, same
    keys) is another chain: the auditor holding it refuses the chain's notes, blocks and
    receipts (even one whose genesis_hash field is edited to name it), naming both hashes."""
    text = open(c.genesis(), encoding="utf-8").read()
    t = json.loads(text)["genesis_time_ms"]
    other = os.path.join(c.tmp, "other-genesis.json")
    open(other, "w", encoding="utf-8").write(
        text.replace('"genesis_time_ms": %d' % t, '"genesis_time_ms": %d' % (t + 1), 1))
    real_h = hashlib.sha256(b"qchain/v1/genesis\0" + text.encode()).hexdigest()
    other_h = hashlib.sha256(b"qchain/v1/genesis\0" + open(other, "rb").read()).hexdigest()
    c.check(real_h != other_h, "the edited genesis has another hash")
    r = c.qchain("audit", "--genesis", other, "--state", os.path.join(c.tmp, "other-state.json"),
                 *urls, ok=(1,))
    c.check("checkpoint names genesis %s, the genesis file given is %s" % (real_h, other_h)
            in r.stdout + r.stderr, "audit with the edited genesis refuses the notes: %s" % r.stdout)
    r = c.qchain("block", "1", "--api", "http://127.0.0.1:%d" % c.api_port("jinan"),
                 "--genesis", other, ok=(1,))
    c.check("names genesis %s" % real_h in r.stderr, "qchain block refuses: %s" % r.stderr)
    doc = c.write_docs("g", 1)[0]
    c.anchor("jinan", [doc])
    rec = json.load(open(doc + ".receipt.json"))
    rec["genesis_hash"] = other_h  # the unsigned field, edited to name the other file
    forged = os.path.join(c.tmp, "forged-receipt.json")
    json.dump(rec, open(forged, "w"))
    r = c.qchain("verify", doc, "--receipt", forged, "--genesis", other, ok=(1,))
    c.check("INVALID" in r.stdout and "block header names genesis %s" % real_h in r.stdout + r.stderr,
            "qchain verify refuses the receipt under the edited genesis: %s" % r.stdout)


def main():
    # ports below it_api's (10000..) and below the ephemeral range (32768..)
    c = Cluster("it_audit", port_base(4000, 4900))
    try:
        run(c)
    finally:
        c.stop_all(signal.SIGKILL)


def signed_size(c, city):
    code, j = c.api(city, "/v1/checkpoint")
    return j["log_size"] if code == 200 and j.get("note") else -1


def run(c):
    c.make_testnet("it-audit")
    c.start_all_and_link()
    c.anchor("jinan", c.write_docs("a", 3))
    c.wait_for("a signed checkpoint of 3 records everywhere",
               lambda: all(signed_size(c, x) == 3 for x in c.cities))
    ctype, note = note_text(c, "zibo")
    c.check(ctype.startswith("text/plain"), "the note is served as text/plain: %s" % ctype)
    lines = note.split("\n")
    genesis_hash = hashlib.sha256(b"qchain/v1/genesis\0" + open(c.genesis(), "rb").read()).hexdigest()
    c.check(lines[0] == "it-audit" and lines[1] == "3" and lines[3] == "genesis " + genesis_hash
            and lines[4] == "",
            "note text is origin, size, root, genesis line, blank line: %r" % lines[:5])
    sigs = [l for l in lines[5:] if l]
    c.check(len(sigs) >= 3 and all(l.startswith("\u2014 it-audit/") for l in sigs),
            "at least a quorum of signature lines by validator key names: %r" % sigs)
    code, j = c.api("taian", "/v1/checkpoint")
    c.check(j["quorum"] == 3 and len(j["signers"]) >= 3 and j["header"]["log_size"] == 3,
            "JSON checkpoint names signers and carries the matching header")

    state = os.path.join(c.tmp, "audit-state.json")
    urls = ["--api", "http://127.0.0.1:%d" % c.api_port("jinan"), "--config", c.config("liaocheng")]
    r = c.qchain("audit", "--genesis", c.genesis(), "--state", state, *urls, "--json")
    out = json.loads(r.stdout)
    c.check(out["verdict"] == "consistent" and out["tree_size"] == 3 and out["state_updated"],
            "first audit accepts size 3: %s" % out["reason"])
    c.check(json.load(open(state))["tree_size"] == 3, "state file holds size 3")

    c.anchor("zibo", c.write_docs("b", 4))
    c.wait_for("a signed checkpoint of 7 records",
               lambda: signed_size(c, "jinan") == 7 and signed_size(c, "liaocheng") == 7)
    r = c.qchain("audit", "--genesis", c.genesis(), "--state", state, *urls)
    c.check("grew consistently from 3 to 7" in r.stdout, "second audit: %s" % r.stdout)
    c.check(json.load(open(state))["tree_size"] == 7, "state file updated to size 7")

    # A state note altered to another root no longer verifies: refused (1), not a fork (4).
    saved = json.load(open(state))
    bad = dict(saved)
    bad["note"] = note.replace(lines[2], "A" * 43 + "=")
    bad_path = os.path.join(c.tmp, "bad-state.json")
    json.dump(bad, open(bad_path, "w"))
    r = c.qchain("audit", "--genesis", c.genesis(), "--state", bad_path, *urls, ok=(1,))
    c.check("does not verify" in r.stderr, "a forged state note is refused: %s" % r.stderr)
    c.check(json.load(open(bad_path)) == bad, "the refused state file is left as it was")
    c.qchain("audit", "--genesis", c.genesis(), "--state", state, "--api", "ftp://x", ok=(2,))
    other_genesis(c, urls)
    c.stop_all(signal.SIGTERM)
    print("it_audit: %d checks passed" % c.checks)
    c.remove_dir()


if __name__ == "__main__":
    main()
