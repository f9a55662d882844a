"""cdp.py - drives Debian's headless Chromium over the Chrome DevTools Protocol for the web
page's tests (tests/it_web.py): the browser is started with --remote-debugging-pipe, so the
protocol runs over two pipes (fd 3 into the browser, fd 4 out of it, one JSON message per
NUL-terminated frame) and no port or websocket library is needed. One page (target) per Browser;
every wait is bounded."""
import base64, json, os, select, shutil, subprocess, tempfile, time


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900, timeout_s=30):
        self.timeout_s = timeout_s
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            raise CdpError("chromium is not installed (make deps installs Debian's chromium)")
        self.profile = tempfile.mkdtemp(prefix="qchain-cdp-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def fds():  # in the child: the pipes on fds 3 and 4, where Chromium expects them
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)  # off 3 and 4 first
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [exe, "--headless=new", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--no-sandbox",
                "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
                "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "DOM", "Log"):
            self.call(domain + ".enable")

    # ---- transport
    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._to_browser, data)
            data = data[n:]

    def _recv(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise CdpError("no message from the browser in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise CdpError("the browser closed its pipe (exit %s)" % self.proc.poll())
                self._buf += chunk
        frame, self._buf = self._buf.split(b"\0", 1)
        return json.loads(frame)

    def call(self, method, params=None, browser=False, timeout_s=None):
        """Sends one command (to the page's session unless browser) and returns its result;
        events that arrive meanwhile are kept in self.events."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        self._send(msg)
        deadline = time.time() + (timeout_s or self.timeout_s)
        while True:
            m = self._recv(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise CdpError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, timeout_s=None):
        """Waits for an event of method (one already kept counts, and is consumed)."""
        deadline = time.time() + (timeout_s or self.timeout_s)
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == method:
                    return self.events.pop(i)
            self.events.append(self._recv(deadline))

    # ---- page helpers
    def navigate(self, url):
        """Loads url and waits for its load event. A URL that differs from the current one only
        in its fragment loads nothing (no load event), so such a move goes by about:blank."""
        here = self.eval("location.href") if self.session else ""
        if url != "about:blank" and here.split("#")[0] == url.split("#")[0]:
            self.navigate("about:blank")
        self.events = [e for e in self.events if e["method"] != "Page.loadEventFired"]
        r = self.call("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CdpError("navigate %s: %s" % (url, r["errorText"]))
        self.wait_event("Page.loadEventFired")

    def eval(self, expression, timeout_s=None):
        """Evaluates expression in the page (promises awaited) and returns its value."""
        r = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                           "returnByValue": True}, timeout_s=timeout_s)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError("page exception: %s %s" % (d.get("text"), d.get("exception", {}).get("description")))
        return r["result"].get("value")

    def wait_for(self, what, expression, timeout_s=None):
        """Polls expression until it is truthy; returns its value."""
        deadline = time.time() + (timeout_s or self.timeout_s)
        while time.time() < deadline:
            v = self.eval(expression)
            if v:
                return v
            time.sleep(0.1)
        raise CdpError("timed out waiting for " + what)

    def set_files(self, selector, paths):
        """Chooses files in an <input type=file> as a person would (fires input and change)."""
        root = self.call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise CdpError("no element " + selector)
        self.call("DOM.setFileInputFiles", {"nodeId": node, "files": [os.path.abspath(p) for p in paths]})

    def viewport(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": mobile})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def console_errors(self):
        """Console errors and CSP violations the page logged so far."""
        out = []
        for e in self.events:
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                out.append(e["params"]["entry"]["text"])
            if e["method"] == "Runtime.exceptionThrown":
                out.append(str(e["params"]["exceptionDetails"].get("exception", {}).get("description")))
        return out

    def close(self):
        try:
            self.call("Browser.close", browser=True, timeout_s=5)
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
