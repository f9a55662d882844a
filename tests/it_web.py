"""it_web.py - the node's web page (docs/WEB.md) in a real headless browser (Debian's chromium,
driven over the DevTools protocol by tests/cdp.py) against a real four-city consortium on
loopback. Verify: a file anchored by jinan shows as verified with the right city and block, a
modified file as not anchored, a receipt with a flipped seal-signature byte, one with a flipped
proof node and one checked against another chain's genesis each as not verified with the right
reason; the file's bytes are never sent (every request the page makes is a GET that carries no
body). The page's verifier runs over the same tamper cases as tests/test_receipt.c (written by
qchain_receiptcases with the C verifier's verdicts) and must agree case by case. Dashboard:
every city, and a height that grows while records are anchored. Explorer: a block with its
signers. No console error or CSP violation; Chinese and English; no horizontal scroll at
375 px. Screenshots of the views go to $QC_WEB_SCREENSHOTS when set (make screenshots)."""
import json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import BIN, NearApiCluster, port_base  # noqa: E402
import cdp  # noqa: E402

C = NearApiCluster("it_web", port_base(28000, 400), 500)  # below the ephemeral ports (32768 on)


def state(b):
    return b.eval("(() => { const r = document.getElementById('verify-result');"
                  " return r ? {state: r.dataset.state, code: r.dataset.code || null,"
                  " city: r.dataset.city || null, height: r.dataset.height || null,"
                  " signers: r.dataset.signers || null, text: r.textContent} : null })()")


def wait_result(b, what):
    """Waits until the verify view has a verdict (not 'working') and returns it."""
    b.wait_for(what, "(() => { const r = document.getElementById('verify-result');"
                     " return r && r.dataset.state && r.dataset.state !== 'working' })()", timeout_s=30)
    return state(b)


def reset_result(b):
    b.eval("document.getElementById('verify-result').dataset.state = 'working'")


def main():
    C.make_testnet("it-web")
    C.start_all_and_link()
    base = "http://127.0.0.1:%d" % C.api_port("jinan")
    docs = C.write_docs("licence", 2)
    C.anchor("jinan", docs)
    other_docs = C.write_docs("zibo", 1)
    C.anchor("zibo", other_docs)
    digest = subprocess.run(["sha256sum", docs[0]], capture_output=True, text=True).stdout.split()[0]
    code, rec = C.api("jinan", "/v1/records/" + digest)
    C.check(code == 200, "the record is anchored: %s" % code)
    height = rec["anchorings"][0]["height"]
    code, receipt = C.api("jinan", "/v1/records/%s/receipt" % digest)
    C.check(code == 200 and "tx" in receipt, "the receipt is served")

    tmp = C.tmp
    modified = os.path.join(tmp, "modified.txt")
    with open(docs[0], "rb") as f, open(modified, "wb") as g:
        g.write(f.read() + b" ")
    bad_sig = json.loads(json.dumps(receipt))
    s = bad_sig["tx"]["sig"]
    bad_sig["tx"]["sig"] = ("0" if s[0] != "0" else "1") + s[1:]
    bad_proof = json.loads(json.dumps(receipt))
    C.check(bad_proof["inclusion"]["path"], "the proof has a node to flip")
    p0 = bad_proof["inclusion"]["path"][0]
    bad_proof["inclusion"]["path"][0] = ("0" if p0[0] != "0" else "1") + p0[1:]
    for name, obj in (("bad-sig.receipt.json", bad_sig), ("bad-proof.receipt.json", bad_proof),
                      ("good.receipt.json", receipt)):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(obj, f)
    other = os.path.join(tmp, "other")
    C.qchain("testnet", "--out", other, "--cities", "4", "--base-port", str(C.base + 50),
             "--chain-id", "it-web")  # same chain id, other keys: another chain
    cases = subprocess.run([os.path.join(BIN, "qchain_receiptcases")], capture_output=True,
                           text=True, timeout=120)
    C.check(cases.returncode == 0, "qchain_receiptcases ran: %s" % cases.stderr[-500:])

    shots = os.environ.get("QC_WEB_SCREENSHOTS") or os.path.join(tmp, "shots")
    os.makedirs(shots, exist_ok=True)
    b = cdp.Browser(width=1280, height=900)
    try:
        b.call("Network.enable")
        b.navigate(base + "/#/verify")
        b.wait_for("the verify view", "!!document.getElementById('verify-file')")

        # A valid file: verified, jinan, the right block, a quorum of signers.
        b.set_files("#verify-file", [docs[0]])
        v = wait_result(b, "the valid file's verdict")
        C.check(v["state"] == "verified" and v["city"] == "jinan" and str(v["height"]) == str(height),
                "the anchored file is verified as jinan's, block %s: %r" % (height, v))
        C.check(int(v["signers"] or 0) >= 3, "committed by a quorum: %r" % v)
        C.check("济南" in v["text"] or "Jinan" in v["text"], "the city's name is shown: %r" % v["text"])
        b.eval("window.scrollTo(0, 0)")
        b.screenshot(os.path.join(shots, "web-verify.png"))

        # The file's bytes never leave: only GETs, no request body, and no request carries it.
        content = open(docs[0]).read().strip()
        sent = [e["params"]["request"] for e in b.events if e["method"] == "Network.requestWillBeSent"]
        C.check(sent, "the page made requests")
        for req in sent:
            C.check(req["method"] in ("GET", "HEAD") and not req.get("hasPostData") and
                    content not in req["url"], "a request without the file: %s %s" % (req["method"], req["url"]))

        reset_result(b)
        b.set_files("#verify-file", [modified])
        v = wait_result(b, "the modified file's verdict")
        C.check(v["state"] == "not-anchored", "a modified file is not anchored: %r" % v)

        for name, code_want in (("bad-sig.receipt.json", "seal"), ("bad-proof.receipt.json", "inclusion")):
            reset_result(b)
            b.set_files("#verify-receipt", [os.path.join(tmp, name)])
            v = wait_result(b, name)
            C.check(v["state"] == "failed" and v["code"] == code_want,
                    "%s is not verified, reason %s: %r" % (name, code_want, v))

        # Another chain's genesis, loaded from a file the person holds.
        b.set_files("#verify-genesis", [os.path.join(other, "genesis.json")])
        reset_result(b)
        b.set_files("#verify-receipt", [os.path.join(tmp, "good.receipt.json")])
        v = wait_result(b, "the other genesis' verdict")
        C.check(v["state"] == "failed" and v["code"] == "genesis",
                "a receipt checked against another chain's genesis fails with 'genesis': %r" % v)
        b.set_files("#verify-genesis", [C.genesis()])
        reset_result(b)
        b.set_files("#verify-receipt", [os.path.join(tmp, "good.receipt.json")])
        v = wait_result(b, "the own genesis file's verdict")
        C.check(v["state"] == "verified", "the same receipt verifies against the chain's genesis file: %r" % v)

        # The page's verifier against the C verifier, case by case: the loop of tests/web/cases.js
        # (its exports made local) over the document qchain_receiptcases wrote, in the page, with
        # the module the page serves.
        loop = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "web", "cases.js")).read()
        loop = loop.replace("export async function", "async function").replace("export function", "function")
        result = b.eval("(async () => { %s\n const verify = await import('/web/verify.js');"
                        " const doc = verify.parseJson(%s); const bad = [];"
                        " const r = await runCases(verify, doc, {report: (l) => bad.push(l)});"
                        " return {total: r.total, mismatches: r.mismatches, engine: r.engine, bad: bad.slice(0, 10)}; })()"
                        % (loop, json.dumps(cases.stdout)), timeout_s=300)
        C.check(result["total"] >= 500, "the tamper cases ran in the browser: %r" % result["total"])
        C.check(result["mismatches"] == 0 and result["engine"] == "webcrypto",
                "the browser's verifier (WebCrypto) agrees with the C verifier on all %d cases: %s"
                % (result["total"], "; ".join(result["bad"])))

        # Dashboard: every city, a height that grows.
        b.navigate(base + "/#/dashboard")
        b.wait_for("every city on the dashboard", "document.querySelectorAll("
                   "'#dash-cities tr[data-city][data-up=\"1\"]').length === 4", timeout_s=20)
        b.wait_for("every city's view and peers up (as it reported them)", "document.querySelectorAll("
                   "'#dash-cities td[data-peers-up=\"3\"]').length === 4 && [...document.querySelectorAll("
                   "'#dash-cities td[data-view]')].every((td) => td.dataset.view !== '')", timeout_s=20)
        h0 = int(b.wait_for("a height", "document.getElementById('dash-height') &&"
                            " parseInt(document.getElementById('dash-height').textContent)") or 0)
        for i in range(3):
            C.anchor("taian", C.write_docs("dash%d" % i, 2))
        b.wait_for("the height to grow", "parseInt(document.getElementById('dash-height').textContent) > %d" % h0,
                   timeout_s=20)
        C.check(b.eval("!!document.querySelector('svg#dash-chart')"), "the records-per-second chart is drawn")
        b.eval("window.scrollTo(0, 0)")
        b.screenshot(os.path.join(shots, "web-dashboard.png"))

        # Explorer: block by height, with its certificate's signers by city.
        b.navigate(base + "/#/explorer/block/%s" % height)
        b.wait_for("the block", "(() => { const r = document.getElementById('explore-result');"
                   " return r && r.dataset.kind === 'block' })()")
        text = b.eval("document.getElementById('explore-result').textContent")
        C.check(sum(c in text for c in ("jinan", "zibo", "taian", "liaocheng", "济南", "淄博", "泰安", "聊城")) >= 3,
                "the explorer names the block's signers: %r" % text[:300])

        # Languages.
        lang0 = b.eval("document.documentElement.lang")
        b.eval("document.getElementById('lang').click()")
        lang1 = b.wait_for("the other language", "document.documentElement.lang !== %s && document.documentElement.lang"
                           % json.dumps(lang0))
        C.check({lang0, lang1} == {"zh-CN", "en"}, "the toggle switches Chinese and English: %s -> %s" % (lang0, lang1))

        # A phone.
        b.viewport(375, 800, mobile=True)
        b.navigate(base + "/#/verify")
        b.wait_for("the verify view on a phone", "!!document.getElementById('verify-file')")
        width = b.eval("document.documentElement.scrollWidth")
        C.check(width <= 375, "no horizontal scroll at 375 px: %s" % width)

        errors = b.console_errors()
        C.check(errors == [], "no console error or CSP violation: %s" % errors[:5])
        for png in ("web-verify.png", "web-dashboard.png"):
            C.check(os.path.getsize(os.path.join(shots, png)) > 5000, "screenshot %s taken" % png)
    finally:
        b.close()
    C.stop_and_pass()


if __name__ == "__main__":
    if shutil.which("chromium") is None:
        print("it_web: Debian's chromium is not installed (make deps installs it)")
        sys.exit(1)
    C.run(main)
