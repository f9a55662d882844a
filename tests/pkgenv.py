"""pkgenv.py - what the package tests share (it_package.py, it_runbook.py): building the .deb
with dist/mkdeb.sh, throw-away overlays of /etc, /usr and /var inside a private mount
namespace, reading a systemd unit, and starting a unit's command line as systemd would
(User=, Group=, UMask=, LoadCredential=) where there is no systemd as PID 1."""
import os, pwd, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def sh(*args, ok=(0,), name="pkgenv", **kw):
    """Runs argv to completion; a status outside ok fails the test with its output."""
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)
    if r.returncode not in ok:
        print("%s: FAILED: %s -> %d\n%s%s" % (name, " ".join(args), r.returncode, r.stdout, r.stderr))
        sys.exit(1)
    return r


def make_deb(build, outdir, version, name="pkgenv"):
    """Builds the package from build's binaries; returns its path."""
    r = sh("sh", os.path.join(TOP, "dist", "mkdeb.sh"), build, outdir, version, name=name)
    return r.stdout.strip().splitlines()[-1]


def overlay(tmp, target):
    """Mounts a writable overlay over target whose changes land in tmp (mount namespace only)."""
    name = target.strip("/").replace("/", "_")
    upper, work = os.path.join(tmp, "ov", name, "u"), os.path.join(tmp, "ov", name, "w")
    os.makedirs(upper)
    os.makedirs(work)
    sh("mount", "-t", "overlay", "overlay", "-o",
       "lowerdir=%s,upperdir=%s,workdir=%s" % (target, upper, work), target)


def private_system(tmp):
    """/etc, /usr and /var become throw-away overlays: dpkg, adduser and the node write into
    tmp and the host never sees it (/lib and /bin are links into /usr on Debian 12)."""
    for d in ("/etc", "/usr", "/var"):
        overlay(tmp, d)


def unit_settings(*paths, section="[Service]"):
    """The settings of a unit and its drop-ins, in order: {key: [values]}. An empty value
    resets the list, as systemd does for list settings."""
    out = {}
    for path in paths:
        cur = None
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                cur = line
                continue
            if cur == section and "=" in line:
                k, v = line.split("=", 1)
                if v == "":
                    out[k] = []
                else:
                    out.setdefault(k, []).append(v)
    return out


def unit_files(unit="qchaind.service"):
    """The installed unit and its drop-ins under /etc/systemd/system, in systemd's order."""
    files = ["/lib/systemd/system/" + unit]
    d = "/etc/systemd/system/%s.d" % unit
    if os.path.isdir(d):
        files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".conf")]
    return files


def as_unit(svc, creds_dir, env):
    """argv and environment to start svc's ExecStart as systemd would: its User= and Group=
    (with their supplementary groups), its UMask=, its StateDirectory= (created 0700 for the
    user), and each LoadCredential=NAME:PATH copied into creds_dir (0500, files 0400, owned by
    the user) named by CREDENTIALS_DIRECTORY. Does not apply the sandboxing directives
    (systemd-analyze verify checks those)."""
    user = pwd.getpwnam(svc["User"][0])
    for d in svc.get("StateDirectory", []):
        path = os.path.join("/var/lib", d)
        os.makedirs(path, exist_ok=True)
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, int(svc.get("StateDirectoryMode", ["0755"])[0], 8))
    env = dict(env)
    creds = svc.get("LoadCredential", [])
    if creds:
        shutil.rmtree(creds_dir, ignore_errors=True)
        os.makedirs(creds_dir)
        for c in creds:
            cname, src = c.split(":", 1)
            dst = os.path.join(creds_dir, cname)
            shutil.copy(src, dst)
            os.chown(dst, user.pw_uid, user.pw_gid)
            os.chmod(dst, 0o400)
        os.chown(creds_dir, user.pw_uid, user.pw_gid)
        os.chmod(creds_dir, 0o500)
        env["CREDENTIALS_DIRECTORY"] = creds_dir
    umask = int(svc.get("UMask", ["0022"])[0], 8)
    argv = ["setpriv", "--reuid=" + svc["User"][0], "--regid=" + svc["Group"][0], "--init-groups",
            "sh", "-c", 'umask %o && exec "$@"' % umask, "sh"] + svc["ExecStart"][0].split()
    return argv, env
