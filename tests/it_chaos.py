"""it_chaos.py - the short chaos run of `make check` (docs/RELIABILITY.md): builds the
test-only fault build (make chaos-build), then runs tests/chaos.py for 85 s with a fixed seed
(a different one in the sanitizer pass), so its fault schedule is the same every time: every
fault kind at least once, a Byzantine city, then the checker. Fails if the checker finds a lost
record, a divergent block, a stall over the bound, or a node that crashed; also fails, with a
message, without root (the run needs network namespaces)."""
import os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
SEED = 9 if "asan" not in BUILD else 10


def main():
    if os.geteuid() != 0:
        print("it_chaos: needs root (network namespaces, nftables, tmpfs); run `make check` as root")
        return 1
    # A clean environment: under `make asan` the parent's MAKEFLAGS carry SAN=1 and BUILD=...,
    # which must not leak into the fault build.
    menv = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUILD", "SAN", "OPT")}
    r = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "chaos-build"],
                       capture_output=True, text=True, timeout=1800, env=menv)
    if r.returncode != 0:
        print("it_chaos: make chaos-build failed\n" + r.stdout[-3000:] + r.stderr[-3000:])
        return 1
    # The CLI (qchain anchor, verify) is this build's; the nodes are the fault build's.
    env = dict(os.environ, BUILD=BUILD)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "chaos.py"), "--seed", str(SEED),
                        "--seconds", "85", "--verify-every", "4"], env=env, timeout=600,
                       capture_output=True, text=True)
    print(r.stdout[-6000:] + r.stderr[-3000:])
    if r.returncode != 0:
        return 1
    # The table must show the run did what it claims: records anchored, all eight fault kinds,
    # and a Byzantine city whose traffic the honest nodes dropped.
    out = r.stdout
    checks = ["chaos: PASSED", "byzantine jinan", "acknowledged lost                  0",
              "divergent heights                  0", "checker self-test (planted loss)   detected"]
    missing = [c for c in checks if c not in out]
    kinds = out.split("faults by kind", 1)[1].split("\n", 1)[0] if "faults by kind" in out else ""
    zero = [k for k in kinds.split(",") if k.strip().endswith(" 0")]
    if missing or zero or "honest drops (byzantine traffic)   none" in out:
        print("it_chaos: FAILED: missing %s, fault kinds never injected: %s" % (missing, zero))
        return 1
    print("it_chaos: passed (seed %d)" % SEED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
