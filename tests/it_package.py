"""it_package.py - the Debian package, built and installed as an operator would
(docs/OPERATIONS.md, "Installing"): `dist/mkdeb.sh` builds it from this build with dpkg-deb;
its control data, files and modes are checked; then, in a private mount namespace whose /etc,
/usr and /var are throw-away overlays of this machine's (so nothing here changes), `dpkg -i`
installs it for real (maintainer scripts included: the qchain user, /etc/qchain, /var/lib/qchain),
`systemd-analyze verify` checks the unit, and the unit's command line is started as the unit
would start it (User=, Group=, UMask=, and the passphrase of an encrypted node key as the
systemd credential passphrase.conf configures) beside three nodes of this build: it links,
/healthz says ok, every metric the shipped alert rules name is served, a record anchored
elsewhere reaches it. The same key passphrase given as a root-only passphrase_file is refused
with the OS's reason ("Permission denied"). `dpkg --purge` then removes the files and keeps
the ledger. Needs root (mount namespaces, dpkg)."""
import json, os, pwd, grp, re, shutil, signal, stat, subprocess, sys, tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import BUILD, NearApiCluster, port_base  # noqa: E402
import pkgenv  # noqa: E402

PASSPHRASE = "correct horse battery staple"


def sh(*args, ok=(0,), **kw):
    return pkgenv.sh(*args, ok=ok, name="it_package", **kw)


def check(cond, msg):
    if not cond:
        print("it_package: FAILED: " + msg)
        sys.exit(1)


def outer():
    """Builds the package, checks what can be checked without installing it, then installs it
    in a private mount namespace (inner) and checks the host is untouched afterwards."""
    if os.geteuid() != 0:
        print("it_package: needs root (dpkg -i in a private mount namespace); run `make check` as root")
        return 1
    tmp = tempfile.mkdtemp(prefix="qchain-it_package-")
    try:
        deb = pkgenv.make_deb(BUILD, os.path.join(tmp, "deb"), "0.0.1~test", name="it_package")
        check(os.path.isfile(deb) and deb.endswith(".deb"), "mkdeb.sh made a .deb: %r" % deb)
        info = sh("dpkg-deb", "-f", deb).stdout
        fields = dict(l.split(": ", 1) for l in info.splitlines() if ": " in l and not l.startswith(" "))
        check(fields.get("Package") == "qchain" and fields.get("Version") == "0.0.1~test",
              "control: package qchain, version 0.0.1~test: %r" % fields)
        deps = [d.strip() for d in fields.get("Depends", "").split(",")]
        for lib in ("libsodium23", "libleveldb1d", "libuv1", "libprotobuf-c1", "libjansson4", "adduser"):
            check(lib in deps, "Depends names %s: %s" % (lib, fields.get("Depends")))
        listing = sh("dpkg-deb", "-c", deb).stdout
        entries = {}
        for line in listing.splitlines():
            parts = line.split()
            entries[parts[-1].lstrip(".")] = (parts[0], parts[1])
        want = {"/usr/bin/qchaind": "-rwxr-xr-x", "/usr/bin/qchain": "-rwxr-xr-x",
                "/lib/systemd/system/qchaind.service": "-rw-r--r--",
                "/usr/share/qchain/prometheus/qchain-alerts.yml": "-rw-r--r--",
                "/usr/share/doc/qchain/examples/passphrase.conf": "-rw-r--r--",
                "/usr/share/doc/qchain/examples/node.json.example": "-rw-r--r--",
                "/usr/share/doc/qchain/OPERATIONS.md": "-rw-r--r--", "/": "drwxr-xr-x"}
        for path, mode in want.items():
            check(path in entries, "the package holds " + path)
            check(entries[path] == (mode, "root/root"), "%s is %s root/root: %s" % (path, mode, entries[path]))
        check(not any(p.startswith("/etc/") for p in entries), "no file under /etc (the city's own)")
        # make install: the same files under PREFIX, the unit pointing there.
        stage = os.path.join(tmp, "stage")
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        sh("make", "-s", "--no-print-directory", "-C", pkgenv.TOP, "install", "BUILD=" + os.path.abspath(BUILD),
           "DESTDIR=" + stage, "PREFIX=/opt/qchain", env=env)
        for f in ("opt/qchain/bin/qchaind", "opt/qchain/bin/qchain",
                  "opt/qchain/share/qchain/prometheus/qchain-alerts.yml",
                  "opt/qchain/share/doc/qchain/examples/passphrase.conf"):
            check(os.path.isfile(os.path.join(stage, f)), "make install put " + f)
        unit_text = open(os.path.join(stage, "opt/qchain/lib/systemd/system/qchaind.service")).read()
        check("ExecStart=/opt/qchain/bin/qchaind --config /etc/qchain/node.json" in unit_text and
              "@BINDIR@" not in unit_text, "make install's unit runs the installed qchaind")
        # The real install, in a namespace of its own.
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__), "--inner", deb, tmp], timeout=600)
        check(r.returncode == 0, "the install in a private mount namespace passed (exit %d)" % r.returncode)
        check(not os.path.exists("/usr/bin/qchaind"), "the host has no /usr/bin/qchaind afterwards")
        try:
            pwd.getpwnam("qchain")
            check(False, "the host has no qchain user afterwards")
        except KeyError:
            pass
        print("it_package: package built, installed, run and purged in a private namespace")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def inner(deb, tmp):
    pkgenv.private_system(tmp)
    check(not os.path.exists("/usr/bin/qchaind"), "qchaind is not installed before the test")
    r = sh("dpkg", "-i", deb, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    user = pwd.getpwnam("qchain")
    check(user.pw_uid < 1000 and user.pw_shell.endswith("nologin"),
          "postinst made a system user qchain with no login shell: %r" % (user,))
    group = grp.getgrnam("qchain")
    st = os.stat("/var/lib/qchain")
    check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == user.pw_uid,
          "/var/lib/qchain is 0700 and qchain's: %o %d" % (stat.S_IMODE(st.st_mode), st.st_uid))
    st = os.stat("/etc/qchain")
    check(stat.S_IMODE(st.st_mode) == 0o750 and st.st_uid == 0 and st.st_gid == group.gr_gid,
          "/etc/qchain is root:qchain 0750")
    unit = "/lib/systemd/system/qchaind.service"
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "systemd-analyze verify %s: %s%s" % (unit, r.stdout, r.stderr))
    svc = pkgenv.unit_settings(unit)
    for key, value in [("User", "qchain"), ("Group", "qchain"), ("NoNewPrivileges", "true"),
                       ("ProtectSystem", "strict"), ("PrivateTmp", "true"), ("Restart", "on-failure"),
                       ("StateDirectory", "qchain"), ("StateDirectoryMode", "0700"), ("UMask", "0077")]:
        check(svc.get(key) == [value], "the unit sets %s=%s: %r" % (key, value, svc.get(key)))
    check(svc.get("ReadWritePaths") == ["/var/lib/qchain"], "the unit writes only /var/lib/qchain")
    exec_start = svc["ExecStart"][0].split()
    check(exec_start == ["/usr/bin/qchaind", "--config", "/etc/qchain/node.json"],
          "ExecStart runs the installed qchaind: %r" % exec_start)
    dropin = "/usr/share/doc/qchain/examples/passphrase.conf"
    cred = pkgenv.unit_settings(dropin).get("LoadCredential", [""])[0]
    check(cred == "qchain-passphrase:/etc/qchain/passphrase", "passphrase.conf loads the credential: %r" % cred)
    cred_src = cred.split(":", 1)[1]

    # A four-city chain; jinan's node key is a new, encrypted one, put in the genesis.
    C = NearApiCluster("it_package", port_base(27000, 300), 500)  # below the ephemeral ports
    os.rmdir(C.tmp)  # the directory it made: this cluster's lives under tmp, which outer removes
    C.tmp = os.path.join(tmp, "net")
    os.makedirs(C.tmp)
    C.make_testnet("it-package")
    keydir = os.path.join(tmp, "jinan-keys")
    os.makedirs(keydir, mode=0o700)
    passfile = os.path.join(keydir, "pass")
    with open(passfile, "w") as f:
        f.write(PASSPHRASE + "\n")
    os.chmod(passfile, 0o600)
    C.qchain("keygen", "--role", "node", "--out", os.path.join(keydir, "node.key"), "--encrypt",
             "--passphrase-file", passfile, "--kdf", "min")
    pub = json.load(open(os.path.join(keydir, "node.pub")))["public"]
    genesis = json.load(open(C.genesis()))
    genesis["members"][0]["node_key"] = pub
    with open(C.genesis(), "w") as f:
        json.dump(genesis, f, indent=2)
    # The node host's files, as OPERATIONS.md lays them out.
    shutil.copy(C.genesis(), "/etc/qchain/genesis.json")
    os.chmod("/etc/qchain/genesis.json", 0o644)
    shutil.copy(os.path.join(keydir, "node.key"), "/etc/qchain/node.key")
    os.chown("/etc/qchain/node.key", user.pw_uid, group.gr_gid)
    os.chmod("/etc/qchain/node.key", 0o600)
    shutil.copy(passfile, cred_src)  # root:root 0600: only PID 1 (here: this test) reads it
    os.chmod(cred_src, 0o600)
    cfg = json.load(open("/usr/share/doc/qchain/examples/node.json.example"))
    check(set(cfg["keys"]) == {"node"}, "the example config names only the node key: %r" % cfg["keys"])
    cfg["city"] = "jinan"
    with open("/etc/qchain/node.json", "w") as f:
        json.dump(cfg, f, indent=2)
    os.chmod("/etc/qchain/node.json", 0o640)
    os.chown("/etc/qchain/node.json", 0, group.gr_gid)

    # The way the issue saw it fail: a root-only passphrase file read by the qchain user.
    bad = dict(cfg, passphrase_file=cred_src)
    with open("/etc/qchain/bad.json", "w") as f:
        json.dump(bad, f)
    os.chmod("/etc/qchain/bad.json", 0o644)
    bad_svc = dict(svc, ExecStart=["/usr/bin/qchaind --config /etc/qchain/bad.json"])
    argv, env = pkgenv.as_unit(bad_svc, os.path.join(tmp, "no-credentials"), dict(os.environ))
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "Permission denied" in r.stderr and "I/O error" not in r.stderr,
          "a root-only passphrase_file is refused with the OS's reason: %d %s" % (r.returncode, r.stderr))

    # With the drop-in: the credential as systemd's LoadCredential= hands it over (a directory
    # only the service user can read, holding a 0400 copy).
    dropin_dir = "/etc/systemd/system/qchaind.service.d"
    os.makedirs(dropin_dir)
    shutil.copy(dropin, dropin_dir)
    os.chmod(tmp, 0o711)
    svc = pkgenv.unit_settings(*pkgenv.unit_files())
    env = {k: v for k, v in os.environ.items() if k != "QCHAIN_PASSPHRASE"}
    argv, env = pkgenv.as_unit(svc, os.path.join(tmp, "credentials"), env)
    log = open(os.path.join(C.tmp, "jinan.log"), "w")
    C.procs["jinan"] = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd="/")
    for c in C.cities[1:]:
        C.start(c)
    def main():
        C.wait_for("jinan (installed) links to its three peers",
                   lambda: (C.status("jinan") or {}).get("peers_up") == 3, secs=30)
        code, health = C.api("jinan", "/healthz")
        C.check(code == 200 and health == {"status": "ok"}, "/healthz of the installed node: %s %r" % (code, health))
        metrics = C.metrics("jinan")
        rules = open("/usr/share/qchain/prometheus/qchain-alerts.yml").read()
        parsed = yaml.safe_load(rules)["groups"][0]["rules"]
        for rule in parsed:
            C.check(set(rule) >= {"alert", "expr", "labels", "annotations"} and
                    rule["labels"].get("severity") in ("warning", "critical") and
                    rule["annotations"].get("summary"), "alert rule is complete: %r" % rule)
        named = set(re.findall(r"\b(qchain_[a-z_]+)", "\n".join(
            l for l in rules.splitlines() if l.strip().startswith("expr:"))))
        C.check(len(named) >= 8, "the alert rules name qchain metrics: %r" % named)
        for m in sorted(named):
            C.check(re.search(r"^# TYPE %s " % m, metrics, re.M) is not None,
                    "the installed node serves %s, which the alert rules use" % m)
        C.check(re.search(r"^qchain_not_voting 0$", metrics, re.M) is not None, "qchain_not_voting 0")
        doc = os.path.join(tmp, "record.txt")
        with open(doc, "w") as f:
            f.write("a licence anchored by zibo\n")
        C.anchor("zibo", [doc])
        C.wait_for("the record's block at jinan", lambda: ((C.status("jinan") or {}).get("height") or 0) >= 1)
        C.wait_agreement(C.cities)
        r = C.qchain("receipt", "--file", doc, "--api", "http://127.0.0.1:%d" % C.api_port("jinan"),
                     "--genesis", C.genesis(), "--out", os.path.join(tmp, "r.json"))
        C.check("VALID" in r.stdout, "jinan's receipt verifies: %s" % r.stdout)
        after = C.metrics("jinan")
        C.check(re.search(r"^qchain_last_vote_height [1-9]", after, re.M) is not None,
                "the installed node voted: %s" % re.findall(r"^qchain_last_vote_height.*$", after, re.M))
        C.procs["jinan"].send_signal(signal.SIGTERM)
        C.check(C.procs["jinan"].wait(timeout=30) == 0, "the installed node stops cleanly on SIGTERM")
        st = os.stat("/var/lib/qchain/ledger")
        C.check(st.st_uid == user.pw_uid and stat.S_IMODE(st.st_mode) == 0o700,
                "the ledger is qchain's, 0700")
    C.run(main)
    C.stop_all(signal.SIGTERM)
    r = sh("dpkg", "--purge", "qchain", env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    check(not os.path.exists("/usr/bin/qchaind") and not os.path.exists(unit),
          "dpkg --purge removes the binaries and the unit")
    check(os.path.isdir("/var/lib/qchain/ledger") and os.path.isfile("/etc/qchain/node.key"),
          "dpkg --purge keeps the ledger and the keys")
    check("kept /var/lib/qchain" in r.stdout + r.stderr, "purge says it kept the ledger: %s" % r.stdout)
    print("it_package: inner: %d checks passed in the namespace" % C.checks)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2], sys.argv[3]))
    sys.exit(outer())
