#!/usr/bin/env python3
"""systemctl_shim.py - stands in for `systemctl` where there is no systemd as PID 1 (the
scratch deployment of tests/it_runbook.py), for the one unit the runbook manages: start, stop,
restart, enable --now, is-active, daemon-reload. It starts the unit's command line as systemd
would (tests/pkgenv.py as_unit: User=, Group=, UMask=, StateDirectory=, LoadCredential= from the
unit and its drop-ins, ConditionPathExists=), sends KillSignal= on stop and waits
TimeoutStopSec=, and fails a start whose process exits at once, as Type=exec would report.
State (pid, log, credentials) lives in $QC_SHIM_DIR."""
import os, signal, subprocess, sys, time

sys.path.insert(0, os.environ["QC_PKGENV_DIR"])
import pkgenv  # noqa: E402

UNITS = ("qchaind", "qchaind.service")
STATE = os.environ["QC_SHIM_DIR"]
PIDFILE = os.path.join(STATE, "qchaind.pid")


def pid():
    """The node's pid while it runs (a zombie left for a parent that does not reap counts as
    stopped), else None."""
    try:
        p = int(open(PIDFILE).read())
        stat = open("/proc/%d/stat" % p).read()
        return None if stat[stat.rindex(")") + 2] in "ZX" else p
    except (OSError, ValueError):
        return None


def start():
    if pid():
        return 0
    cond = pkgenv.unit_settings(*pkgenv.unit_files(), section="[Unit]").get("ConditionPathExists", [])
    if any(not os.path.exists(c) for c in cond):
        print("systemctl: condition failed (%s): not started" % ", ".join(cond))
        return 0
    svc = pkgenv.unit_settings(*pkgenv.unit_files())
    argv, env = pkgenv.as_unit(svc, os.path.join(STATE, "credentials"),
                               {k: v for k, v in os.environ.items() if k != "QCHAIN_PASSPHRASE"})
    log = open(os.path.join(STATE, "qchaind.log"), "a")
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                         start_new_session=True)
    open(PIDFILE, "w").write(str(p.pid))
    time.sleep(0.5)
    if p.poll() is not None:
        print("Job for qchaind.service failed (exit %d); see %s" % (p.returncode, log.name))
        return 1
    return 0


def stop():
    p = pid()
    if p is None:
        return 0
    svc = pkgenv.unit_settings(*pkgenv.unit_files())
    sig = getattr(signal, svc.get("KillSignal", ["SIGTERM"])[0])
    timeout_s = float(svc.get("TimeoutStopSec", ["90"])[0])
    os.kill(p, sig)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if pid() is None:  # not our child (an earlier systemctl started it): poll
            break
        time.sleep(0.05)
    else:
        os.kill(p, signal.SIGKILL)
        print("systemctl: qchaind did not stop within %ss: killed" % timeout_s)
        return 1
    os.unlink(PIDFILE)
    return 0


def main(argv):
    args = [a for a in argv if not a.startswith("-")]
    if args == ["daemon-reload"]:
        return 0
    if len(args) != 2 or args[1] not in UNITS:
        print("systemctl (test stand-in): unsupported: %s" % " ".join(argv))
        return 2
    verb = args[0]
    if verb == "start" or (verb == "enable" and "--now" in argv):
        return start()
    if verb == "enable":
        return 0
    if verb == "stop":
        return stop()
    if verb == "restart":
        return stop() or start()
    if verb == "is-active":
        print("active" if pid() else "inactive")
        return 0 if pid() else 3
    print("systemctl (test stand-in): unsupported: %s" % " ".join(argv))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
