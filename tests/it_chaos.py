"""it_chaos.py - the short chaos run of `make check` (docs/RELIABILITY.md): builds the
test-only fault build (make chaos-build), then runs tests/chaos.py for 85 s with a fixed seed
(a different one in the sanitizer pass), so its fault schedule is the same every time: every
fault kind at least once, a Byzantine city, then the checker. In the sanitizer pass the nodes
are a sanitizer fault build (build/chaos-asan). Fails if the checker finds a lost record, a
divergent block, a stall over the bound, a node that crashed or did not stop cleanly (exit 0 on
SIGTERM at the end), or if the Byzantine primary never proposed a twin block; also fails, with a
message, without root (the run needs network namespaces)."""
import os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
SANITIZED = "asan" in BUILD
SEED = 10 if SANITIZED else 9


def main():
    if os.geteuid() != 0:
        print("it_chaos: needs root (network namespaces, nftables, tmpfs); run `make check` as root")
        return 1
    # A clean environment: under `make asan` the parent's MAKEFLAGS carry SAN=1 and BUILD=...,
    # which must not leak into the fault build.
    menv = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUILD", "SAN", "OPT")}
    # In the sanitizer pass the nodes are a sanitizer fault build of their own, so that a
    # memory error or leak under faults and Byzantine traffic fails the run (a node that
    # aborts is an unexpected exit; a leak makes its exit at the end non-zero).
    chaos_build = os.path.join("build", "chaos-asan" if SANITIZED else "chaos")
    args = ["CHAOS_BUILD=" + chaos_build] + (["SAN=1", "OPT=-O1"] if SANITIZED else [])
    r = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "chaos-build"] + args,
                       capture_output=True, text=True, timeout=1800, env=menv)
    if r.returncode != 0:
        print("it_chaos: make chaos-build failed\n" + r.stdout[-3000:] + r.stderr[-3000:])
        return 1
    # The CLI (qchain anchor, verify) is this build's; the nodes are the fault build's.
    env = dict(os.environ, BUILD=BUILD,
               QC_CHAOS_QCHAIND=os.path.join(ROOT, chaos_build, "bin", "qchaind"))
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
              "divergent heights                  0", "checker self-test (planted loss)   detected",
              "nodes not stopping cleanly         0"]
    missing = [c for c in checks if c not in out]
    kinds = out.split("faults by kind", 1)[1].split("\n", 1)[0] if "faults by kind" in out else ""
    zero = [k for k in kinds.split(",") if k.strip().endswith(" 0")]
    # The Byzantine primary must have shown odd peers at least one real conflicting block.
    twins = out.split("byzantine twin blocks proposed", 1)[1].split("\n", 1)[0].strip() \
        if "byzantine twin blocks proposed" in out else "0"
    if twins == "0":
        missing.append("byzantine twin blocks proposed > 0")
    if missing or zero or "honest drops (byzantine traffic)   none" in out:
        print("it_chaos: FAILED: missing %s, fault kinds never injected: %s" % (missing, zero))
        return 1
    print("it_chaos: passed (seed %d)" % SEED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
