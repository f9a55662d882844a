#!/usr/bin/env python3
"""it_pause.py - a stopped node (SIGSTOP: a hung host, a VM paused by its hypervisor) does not
stop the others. Four real qchaind processes on loopback, a client anchoring continuously at the two
nodes that are never stopped: while a backup is stopped for 12 s (past the peers' 10 s idle timeout, so their
links to it close and reopen), blocks keep being committed; while the primary is stopped, the
others change view and go on committing. Each resumed node catches up to the same head, every
record a client was told is committed is on all four, and every node stops cleanly.

RELIABILITY.md §5 (finding 8) is why: the chaos run's long "stalls inside a pause" were its
clients waiting on the stopped node, not the chain."""
import json, os, signal, threading, time

from cluster import NearApiCluster, port_base

CITIES = ["jinan", "zibo", "taian", "liaocheng"]
C = NearApiCluster("it_pause", port_base(25000, 400), 500, CITIES)
PAUSE_S = 12.0      # longer than the peers' idle timeout (10 s, docs/NETWORK.md)
MIN_BLOCKS = 2      # committed while a node is stopped (a view change first if it is the primary)

state = {"stop": False, "acked": [], "n": 0, "errors": []}


# The client anchors at the two cities that are never stopped: an anchor in flight at a node
# when it is stopped would wait out its --wait-ms there, and no load is no commits (finding 8).
CLIENT_CITIES = ["taian", "liaocheng"]


def client():
    """Anchors one record at a time, alternating between CLIENT_CITIES."""
    docs = os.path.join(C.tmp, "docs")
    os.makedirs(docs, exist_ok=True)
    while not state["stop"]:
        city = CLIENT_CITIES[state["n"] % len(CLIENT_CITIES)]
        f = os.path.join(docs, "rec-%d.txt" % state["n"])
        open(f, "w").write("it_pause record %d via %s\n" % (state["n"], city))
        state["n"] += 1
        try:
            r = C.qchain("anchor", f, "--config", C.config(city), "--wait-ms", "20000", "--json",
                         ok=tuple(range(256)))
        except Exception as e:  # noqa: BLE001 - a client that dies must fail the test
            state["errors"].append(repr(e))
            return
        if r.returncode == 0:
            state["acked"].append(json.loads(r.stdout)["records"][0]["digest"])
        else:
            time.sleep(0.2)


def height_of(cities):
    hs = [(C.status(c) or {}).get("height") for c in cities]
    hs = [h for h in hs if h is not None]
    return max(hs) if hs else 0


def pause(victim, role):
    others = [c for c in CITIES if c != victim]
    view0 = (C.status(others[0]) or {}).get("view")
    C.procs[victim].send_signal(signal.SIGSTOP)
    h0 = height_of(others)
    time.sleep(PAUSE_S)
    h1 = height_of(others)
    view1 = (C.status(others[0]) or {}).get("view")
    C.procs[victim].send_signal(signal.SIGCONT)
    C.check(h1 - h0 >= MIN_BLOCKS, "%s (%s) stopped %.0f s: the other three committed %d blocks "
            "(at least %d)" % (victim, role, PAUSE_S, h1 - h0, MIN_BLOCKS))
    if role == "primary":
        C.check(view1 is not None and view0 is not None and view1 > view0,
                "the primary stopped: the others moved to a later view (%s -> %s)" % (view0, view1))
    # resumed, it catches up and agrees (its links were closed by the idle timeout meanwhile)
    C.wait_for("%s back at the others' height" % victim,
               lambda: ((C.status(victim) or {}).get("height") or 0) >= h1, secs=60)
    print("it_pause: %s (%s) stopped %.0f s: %d blocks committed meanwhile, view %s -> %s" % (
        victim, role, PAUSE_S, h1 - h0, view0, view1))


def main():
    C.make_testnet("it-pause")
    C.start_all_and_link()
    th = threading.Thread(target=client, daemon=True)
    th.start()
    C.wait_for("load flowing", lambda: len(state["acked"]) >= 5, secs=60)
    # view 0's primary is jinan; zibo is a backup (and view 1's primary, were there a change)
    primary = (C.status("taian") or {}).get("primary")
    C.check(primary == "jinan", "status names view 0's primary, jinan (%s)" % primary)
    pause("zibo", "backup")
    primary = (C.status("taian") or {}).get("primary")
    C.check(primary in ("jinan", "zibo"), "the primary is a city the client does not use (%s)" % primary)
    pause(primary, "primary")
    state["stop"] = True
    th.join(timeout=40)
    C.check(not th.is_alive(), "the client stopped")
    C.check(not state["errors"], "the client ran throughout: %s" % state["errors"])
    C.check(len(state["acked"]) >= 10, "records acknowledged: %d" % len(state["acked"]))
    top = max(C.heights(CITIES))
    C.wait_height(CITIES, top, secs=60)
    C.wait_agreement(CITIES)
    for c in CITIES:
        missing = [d for d in state["acked"] if C.api(c, "/v1/records/" + d)[0] != 200]
        C.check(not missing, "%s holds every acknowledged record (%d missing of %d)" % (
            c, len(missing), len(state["acked"])))
    C.stop_and_pass()


if __name__ == "__main__":
    C.run(main, on_error=lambda: state.update(stop=True))
