#!/usr/bin/env python3
"""check_vectors.py - an independent implementation check of docs/PROTOCOL.md's test vectors.

Parses the vectors out of the document, re-parses the transaction body and block header from
the layouts in the text, recomputes every hash with hashlib, and verifies every Ed25519
signature twice: with the OpenSSL command-line tool, and with its own pure-Python Ed25519
verifier that applies §1.1's acceptance rules (libsodium 1.0.18's), which must agree. It
rebuilds §1.2's Ed25519 acceptance vectors from their stated constructions and checks each
verdict, and that each rejected one is rejected by the rule the table names. Then verifies the worked example receipts of
§10.3 and §10.4 (the latter across an epoch switch: its membership history walked from the
genesis set) as an auditor would, following §10.2 step by step with its own RFC 9162 inclusion
verifier (itself checked against the RFC 6962 definitions), and checks that tampered copies fail
at the documented step. Re-derives the state root of every example block (§8's block 1 and
§10.3/§10.4's blocks 2-4) by §12.1 and §13.2 from the blocks' transactions: the records' fresh
statuses and each signing city's log head, which the roots must hold. Verifies §13.5's city
log completeness proof and the committed fuzz seeds of tests/fuzz/corpus/cityproof by §13.4's
steps (its own range walk over RFC 6962 subtrees), and refuses their tampered copies. Uses no
qchain code. Exit 0 when all hold."""
import hashlib, os, re, subprocess, sys, tempfile

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "PROTOCOL.md")
text = open(DOC, encoding="utf-8").read()
vec = {m.group(1).strip(): bytes.fromhex(m.group(2).replace("\n", ""))
       for m in re.finditer(r"^([^\n`]*?):\n```\n([0-9a-f\n]*?)```", text, re.M)}
keys = {m.group(1): bytes.fromhex(m.group(2))
        for m in re.finditer(r"^- (\w+ key of \w+): seed `[0-9a-f]+`, public `([0-9a-f]+)`", text, re.M)}
H = lambda b: hashlib.sha256(b).digest()
checks = 0

def check(cond, what):
    global checks
    if not cond:
        sys.exit("check_vectors: FAILED: " + what)
    checks += 1

# ---- §1.1: Ed25519 by its acceptance rules, in pure Python (extended coordinates).
ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRTM1 = pow(2, (ED_P - 1) // 4, ED_P)
ED_O = (0, 1, 1, 0)

def ed_add(p, q):  # RFC 8032 §5.1.4, complete for edwards25519
    (X1, Y1, Z1, T1), (X2, Y2, Z2, T2) = p, q
    a, b = (Y1 - X1) * (Y2 - X2) % ED_P, (Y1 + X1) * (Y2 + X2) % ED_P
    c, d = 2 * T1 * T2 * ED_D % ED_P, 2 * Z1 * Z2 % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)

def ed_mul(n, p):
    q = ED_O
    while n:
        if n & 1: q = ed_add(q, p)
        p, n = ed_add(p, p), n >> 1
    return q

def ed_neg(p): return (-p[0] % ED_P, p[1], p[2], -p[3] % ED_P)

def ed_eq(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % ED_P == 0 and (p[1] * q[2] - q[1] * p[2]) % ED_P == 0

def ed_encode(p):  # canonical: y mod p, sign bit = x mod 2
    zi = pow(p[2], ED_P - 2, ED_P)
    x, y = p[0] * zi % ED_P, p[1] * zi % ED_P
    return (y | (x & 1) << 255).to_bytes(32, "little")

def ed_decode(s):
    """Rule 5: the point of encoding s, y taken mod p (canonicity is rules 3 and 2/4), or None."""
    y = (int.from_bytes(s, "little") & (2**255 - 1)) % ED_P
    u, v = (y * y - 1) % ED_P, (ED_D * y * y + 1) % ED_P
    x = u * pow(v, 3, ED_P) * pow(u * pow(v, 7, ED_P), (ED_P - 5) // 8, ED_P) % ED_P
    if (v * x * x - u) % ED_P:
        if (v * x * x + u) % ED_P: return None
        x = x * ED_SQRTM1 % ED_P
    if x & 1 != s[31] >> 7: x = (ED_P - x) % ED_P
    return (x, y, 1, x * y % ED_P)

ED_B = ed_decode((4 * pow(5, ED_P - 2, ED_P)).to_bytes(32, "little"))
check(ed_eq(ed_mul(ED_L, ED_B), ED_O) and not ed_eq(ED_B, ED_O), "B has order L")
# The eight points of order dividing 8, found from the curve (not copied from the document):
# [L]P for a point P of order 8L is a torsion point of order 8, and its multiples are all eight.
ED_TORSION = None
for _y in range(2, 100):
    _pt = ed_decode(_y.to_bytes(32, "little"))
    if _pt is not None and not ed_eq(ed_mul(4, ed_mul(ED_L, _pt)), ED_O):
        ED_TORSION = [ed_mul(i, ed_mul(ED_L, _pt)) for i in range(8)]
        break
check(ED_TORSION is not None, "a point of order 8L exists among small y")
ED_SMALL_Y = {ed_encode(t)[:31] + bytes([ed_encode(t)[31] & 0x7f]) for t in ED_TORSION}
ED_SMALL_Y |= {(ED_P + y).to_bytes(32, "little") for y in (0, 1)}  # the non-canonical twins

def ed_small_order(s): return s[:31] + bytes([s[31] & 0x7f]) in ED_SMALL_Y

def ed_sha512_int(b): return int.from_bytes(hashlib.sha512(b).digest(), "little")

def ed_verify_rules(pub, msg, sig, drop=(), unreduced_k=False):
    """§1.1's rules 1-7; drop names rules to leave out (7 dropped: compare points, not bytes)."""
    Rb, S = sig[:32], int.from_bytes(sig[32:], "little")
    if 1 not in drop and S >= ED_L: return False
    if 2 not in drop and ed_small_order(Rb): return False
    if 3 not in drop and int.from_bytes(pub, "little") & (2**255 - 1) >= ED_P: return False
    if 4 not in drop and ed_small_order(pub): return False
    A = ed_decode(pub)
    if A is None: return False
    k = ed_sha512_int(Rb + pub + msg)
    Rc = ed_add(ed_mul(S, ED_B), ed_neg(ed_mul(k if unreduced_k else k % ED_L, A)))
    if 7 in drop:
        R = ed_decode(Rb)
        return R is not None and ed_eq(R, Rc)
    return ed_encode(Rc) == Rb

def ed25519_verify(pub, msg, sig):
    """OpenSSL's verdict, which must equal §1.1's on every honest or tampered signature here."""
    ok = ed25519_verify_openssl(pub, msg, sig)
    check(ok == ed_verify_rules(pub, msg, sig), "OpenSSL and the §1.1 rules agree")
    return ok

def ed25519_verify_openssl(pub, msg, sig):
    der = bytes.fromhex("302a300506032b6570032100") + pub
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "k.pem")
        import base64
        open(pem, "w").write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n"
                             % base64.b64encode(der).decode())
        open(os.path.join(d, "m"), "wb").write(msg)
        open(os.path.join(d, "s"), "wb").write(sig)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin",
                            "-in", os.path.join(d, "m"), "-sigfile", os.path.join(d, "s")],
                           capture_output=True)
        return r.returncode == 0

class Reader:
    def __init__(self, b): self.b, self.p = b, 0
    def take(self, n):
        check(self.p + n <= len(self.b), "truncated canonical bytes")
        r = self.b[self.p:self.p + n]; self.p += n; return r
    def u(self, n): return int.from_bytes(self.take(n), "big")
    def str8(self): return self.take(self.u(1))
    def str16(self): return self.take(self.u(2))
    def done(self): check(self.p == len(self.b), "trailing bytes")

body = vec["Transaction body (canonical)"]
r = Reader(body)
check(r.u(1) == 1 and r.u(2) == 1, "version/type")
chain_id = r.str8()
signer = r.take(32); nonce = r.u(8); expiry = r.u(8)
records = []
for i in range(r.u(2)):
    digest = r.take(32); rtype = r.str8(); ref = r.str16(); flags = r.u(1)
    sup = r.take(32) if flags == 1 else None
    records.append((digest, rtype, ref.decode("utf-8"), sup))
r.done()
check(chain_id == b"shandong-circle-test" and nonce == 7 and expiry == 1000, "tx fields")
check(signer == keys["seal key of jinan"], "signer is jinan's seal key")
check(records[1][2] == "济南市-001" and records[1][3] == bytes(range(0x80, 0xa0)), "record 1")

tx_id = H(b"qchain/v1/tx-id\0" + body)
check(tx_id == vec["Transaction id"], "tx id")
sig = vec["Transaction signature (seal key of jinan)"]
check(ed25519_verify(signer, b"qchain/v1/tx-sig\0" + body, sig), "tx signature")
check(not ed25519_verify(signer, b"qchain/v1/tx-sig\0" + body[:-1] + b"\0", sig), "tampered tx rejected")
tx_leaf = H(b"\0" + b"qchain/v1/tx-leaf\0" + tx_id + sig)
check(tx_leaf == vec["Transaction leaf hash (tx tree)"], "tx leaf")
leaves = []
for i, rec in enumerate(records):
    leaf = H(b"\0" + b"qchain/v1/record-leaf\0" + (1).to_bytes(8, "big") + tx_id +
             i.to_bytes(2, "big") + rec[0])
    check(leaf == vec["Record-log leaf hash, record %d at height 1" % i], "record leaf %d" % i)
    leaves.append(leaf)

names = ["jinan", "zibo", "taian"]
hdr = vec["Block header (canonical, height 1)"]
r = Reader(hdr)
check(r.u(1) == 3 and r.str8() == chain_id, "header version/chain")
hdr_genesis = r.take(32)
height = r.u(8); prev = r.take(32); time_ms = r.u(8); proposer = r.u(4); view = r.u(8)
epoch = r.u(8); vhash = r.take(32); tx_count = r.u(4); tx_root = r.take(32)
log_size = r.u(8); log_root = r.take(32); state_root = r.take(32); next_vhash = r.take(32)
r.done()
check(next_vhash == bytes(32), "block 1 is not the last of its epoch")
check(height == 1 and prev == bytes(32) and view == 1 and epoch == 0, "header fields")
check(vhash == vec["Validator set hash (epoch 0, 4 members, threshold 3)"], "validators hash")
check(hdr_genesis == vec["Genesis hash (of the §10.3 example genesis file)"], "header genesis hash")
check(tx_count == 1 and tx_root == tx_leaf, "tx root of one leaf is the leaf")
check(log_size == 2 and log_root == H(b"\1" + leaves[0] + leaves[1]), "log root")
block_hash = H(b"qchain/v1/block\0" + hdr)
check(block_hash == vec["Block hash"], "block hash")

vote = vec["Commit vote bytes (epoch 0, height 1, view 1), before the context prefix"]
check(vote == bytes([len(chain_id)]) + chain_id + (0).to_bytes(8, "big") + (1).to_bytes(8, "big")
      + (1).to_bytes(8, "big") + block_hash, "commit vote bytes")
for n in names:
    check(ed25519_verify(keys["node key of " + n], b"qchain/v1/commit\0" + vote,
                         vec["Commit signature by " + n]), "commit signature by " + n)
# ---- §8 governance: the PROPOSE and APPROVE bodies re-parsed by the §3 GOVERN layout.
def seed_pub(role, index):  # the seed rule of §8, through OpenSSL
    import base64
    der = bytes.fromhex("302e020100300506032b657004220420") + bytes([role, index]) + bytes(30)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "k.pem")
        open(p, "w").write("-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n"
                           % base64.b64encode(der).decode())
        out = subprocess.run(["openssl", "pkey", "-in", p, "-pubout", "-outform", "DER"],
                             capture_output=True).stdout
    return out[-32:]

def gov_body(body):
    r = Reader(body)
    check(r.u(1) == 1 and r.u(2) == 2, "GOVERN version/type")
    g = {"chain": r.str8(), "signer": r.take(32), "nonce": r.u(8), "expiry": r.u(8), "op": r.u(1)}
    if g["op"] == 1:
        g["vote_expiry"] = r.u(8)
        g["changes"] = []
        for _ in range(r.u(1)):
            kind = r.u(1)
            if kind == 1:
                g["changes"].append(("add", r.str8().decode(), r.str8().decode("utf-8"), r.take(32),
                                     r.take(32), r.take(32), r.str8().decode(), r.str8().decode()))
            elif kind == 5:
                g["changes"].append(("threshold", r.u(2)))
            else:
                check(False, "vector change kind %d" % kind)
    else:
        g["proposal"] = r.take(32)
    r.done()
    return g

prop_body = vec["Governance transaction body (PROPOSE by jinan's admin key)"]
p = gov_body(prop_body)
check(p["chain"] == b"shandong-circle-test" and p["nonce"] == 9 and p["expiry"] == 1000 and
      p["op"] == 1 and p["vote_expiry"] == 500, "PROPOSE fields")
check(p["signer"] == keys["admin key of jinan"] == seed_pub(3, 0), "PROPOSE signed by jinan's admin key")
check(p["changes"] == [("add", "dezhou", "Dezhou 德州", seed_pub(1, 4), seed_pub(2, 4), seed_pub(3, 4),
                        "10.0.1.5:7100", "10.0.1.5:8100"), ("threshold", 4)], "PROPOSE changes")
prop_id = H(b"qchain/v1/tx-id\0" + prop_body)
check(prop_id == vec["Governance transaction id (PROPOSE)"], "PROPOSE id")
check(ed25519_verify(p["signer"], b"qchain/v1/tx-sig\0" + prop_body,
                     vec["Governance transaction signature (PROPOSE)"]), "PROPOSE signature")
appr_body = vec["Governance transaction body (APPROVE by zibo's admin key)"]
a = gov_body(appr_body)
check(a["op"] == 2 and a["proposal"] == prop_id and a["nonce"] == 10, "APPROVE names the proposal")
check(a["signer"] == keys["admin key of zibo"] == seed_pub(3, 1), "APPROVE signed by zibo's admin key")
check(ed25519_verify(a["signer"], b"qchain/v1/tx-sig\0" + appr_body,
                     vec["Governance transaction signature (APPROVE)"]), "APPROVE signature")
check(not ed25519_verify(a["signer"], b"qchain/v1/tx-sig\0" + prop_body,
                         vec["Governance transaction signature (APPROVE)"]), "signatures are per body")

# ---- §1.1/§1.2: the Ed25519 acceptance rules and vectors, rebuilt from their constructions.
doc_small = vec["Small-order encodings (bit 255 cleared)"]
check({doc_small[i:i + 32] for i in range(0, len(doc_small), 32)} == ED_SMALL_Y and
      len(doc_small) == 7 * 32, "§1.1's small-order list is every encoding of the 8 torsion points")
ed_seed = hashlib.sha512(bytes([2]) + bytes(31)).digest()  # jinan's seal key, §8's seed rule
ed_a = int.from_bytes(ed_seed[:32], "little") & ((1 << 254) - 8) | (1 << 254)
ed_A = ed_mul(ed_a, ED_B)
check(ed_encode(ed_A) == keys["seal key of jinan"], "pure-Python key derivation matches §8")
ed_T = ed_decode(doc_small[96:128])
check(not ed_eq(ed_mul(4, ed_T), ED_O) and ed_eq(ed_mul(8, ed_T), ED_O), "T has order 8")
ED_CTX = b"qchain/v1/tx-sig\0"

def ed_nonce(m): return ed_sha512_int(ed_seed[32:] + m) % ED_L
def ed_k(Rb, Ab, m): return ed_sha512_int(Rb + Ab + m) % ED_L
def le32(n): return n.to_bytes(32, "little")

def ed_vector(n, msg_text):
    """Vector n of §1.2 built from its construction: (public key, signature, message)."""
    m = ED_CTX + msg_text.encode()
    A, r = ed_encode(ed_A), ed_nonce(m)
    rB = ed_encode(ed_mul(r, ED_B))
    neutral, neutral_p1 = ed_encode(ED_O), le32(ED_P + 1)
    if n in (1, 2):
        S = (r + ed_k(rB, A, m) * ed_a) % ED_L
        return A, rB + le32(S + (ED_L if n == 2 else 0)), m
    if n in (3, 6):
        Rb = neutral if n == 3 else neutral_p1
        return A, Rb + le32(ed_k(Rb, A, m) * ed_a % ED_L), m
    if n in (4, 5):
        return (neutral if n == 4 else neutral_p1), rB + le32(r), m
    Am = ed_encode(ed_add(ed_A, ed_T))
    return Am, rB + le32((r + ed_k(rB, Am, m) * ed_a) % ED_L), m

# (n, label suffix, text, verdict, rules that reject it, whether the equation holds in points)
ED_VECTORS = [
    (1, "valid: accept", "ed25519 vector: valid", True, (), True),
    (2, "S + L: reject", "ed25519 vector: valid", False, (1,), True),
    (3, "small-order R: reject", "ed25519 vector: small-order R", False, (2,), True),
    (4, "small-order A: reject", "ed25519 vector: small-order A", False, (4,), True),
    (5, "non-canonical A: reject", "ed25519 vector: non-canonical A", False, (3, 4), True),
    (6, "non-canonical R: reject", "ed25519 vector: non-canonical R", False, (2, 7), True),
    (7, "mixed-order A, k ≡ 0 mod 8: accept", "ed25519 vector: mixed-order A #2", True, (), True),
    (8, "mixed-order A, k ≡ 4 mod 8: reject", "ed25519 vector: mixed-order A #0", False, (7,), False),
]
ed_table = [(int(m.group(1)), m.group(2), m.group(4) == "accept", m.group(3) == "yes",
             tuple(sorted(int(x) for x in re.findall(r"\d", m.group(5)))))
            for m in re.finditer(r"^\| (\d) \| `(ed25519 vector: [^`]*)` \|[^\n]*\| (yes|no) \| "
                                 r"(accept|reject) \| ([^|\n]*)\|$", text, re.M)]
check(ed_table == [(n, tx, v, h, tuple(sorted(r))) for n, _, tx, v, r, h in ED_VECTORS], "§1.2's table")
for n, label, msg_text, verdict, rules, holds in ED_VECTORS:
    blob = vec["Ed25519 vector %d (%s), public key, signature, message" % (n, label)]
    pub, sig, m = blob[:32], blob[32:96], blob[96:]
    check((pub, sig, m) == ed_vector(n, msg_text), "Ed25519 vector %d is its construction" % n)
    check(ed_verify_rules(pub, m, sig) == verdict, "Ed25519 vector %d verdict" % n)
    for rule in rules:  # every rule the table names rejects it on its own
        check(not ed_verify_rules(pub, m, sig, drop=set(range(1, 8)) - {rule, 5, 6}),
              "Ed25519 vector %d rejected by rule %d alone" % (n, rule))
    A, R = ed_decode(pub), ed_decode(sig[:32])
    S, k = int.from_bytes(sig[32:], "little"), ed_k(sig[:32], pub, m)
    check(holds == ed_eq(ed_mul(S, ED_B), ed_add(R, ed_mul(k, A))), "Ed25519 vector %d holds" % n)
    if holds and rules:
        check(ed_verify_rules(pub, m, sig, drop=rules), "vector %d passes without rules %s" % (n, rules))
    # ZIP 215 (§1.1): S < L, any decodable A and R, the cofactored equation.
    zip215 = S < ED_L and ed_eq(ed_mul(8 * S, ED_B), ed_add(ed_mul(8, R), ed_mul(8 * k, A)))
    check(zip215 == (n != 2), "Ed25519 vector %d under ZIP 215" % n)
    if n in (1, 2):  # OpenSSL agrees on the valid signature and on S + L
        check(ed25519_verify_openssl(pub, m, sig) == verdict, "OpenSSL on vector %d" % n)
for n in (7, 8):  # multiplying A by the unreduced hash swaps the mixed-order verdicts
    blob = vec[[k for k in vec if k.startswith("Ed25519 vector %d " % n)][0]]
    check(ed_verify_rules(blob[:32], blob[96:], blob[32:96], unreduced_k=True) == (n == 8),
          "unreduced k swaps vector %d" % n)

# ---- §10.3: the worked example receipt, verified as an auditor would (§10.2), from the document.
import json

def section(label, lang):
    m = re.search(r"^" + re.escape(label) + r"[^\n]*:\n```" + lang + r"\n(.*?)^```", text, re.M | re.S)
    check(m is not None, "document has " + label)
    return m.group(1)

# ---- §5.2: the data-sharing example, parsed by the §3 SHARE layout and its ids re-derived
shv = dict(l.split(None, 1) for l in section("Data-sharing example", "text").splitlines())
def share_body(hexbody, want_signer, want_nonce):
    b = bytes.fromhex(hexbody)
    r = Reader(b)
    check(r.u(1) == 1 and r.u(2) == 6 and r.str8() == b"shandong-circle-test", "SHARE header")
    check(r.take(32) == want_signer and r.u(8) == want_nonce and r.u(8) == 100, "SHARE common fields")
    op = r.u(1)
    f = {"op": op}
    if op == 1:
        f["name"] = r.str8().decode("utf-8"); f["schema"] = r.take(32); kind = r.u(1)
        check(kind == 1, "terms given as text")
        f["terms"] = r.str16().decode("utf-8")
    elif op == 2:
        f["dataset"] = r.take(32); f["purpose"] = r.u(2); f["text"] = r.str16().decode("utf-8")
        f["from"] = r.u(8); f["until"] = r.u(8)
    r.done()
    return b, f
dsb, ds = share_body(shv["dataset_body"], seed_pub(2, 1), 5)
check(ds == {"op": 1, "name": "air-quality-daily", "schema": b"\x55" * 32,
             "terms": "cite the source"}, "DATASET fields")
check(H(b"qchain/v1/tx-id\0" + dsb).hex() == shv["dataset_id"], "dataset id is the DATASET tx id")
rqb, rq = share_body(shv["request_body"], seed_pub(2, 2), 1)
check(rq == {"op": 2, "dataset": bytes.fromhex(shv["dataset_id"]), "purpose": 2,
             "text": "flood model", "from": 10, "until": 20}, "REQUEST fields name the dataset id")
check(H(b"qchain/v1/tx-id\0" + rqb).hex() == shv["request_id"], "request id is the REQUEST tx id")

# ---- §5: the salted record example
sv = dict(l.split(None, 1) for l in section("Salted record example", "text").splitlines())
sdoc = json.loads(sv["document"].split(" and a newline")[0]).encode() + b"\n"
check(hashlib.sha256(sdoc).hexdigest() == sv["sha256"], "salted example: the plain SHA-256")
check(hashlib.sha256(b"qchain/v1/salted-record\0" + bytes.fromhex(sv["salt"]) + sdoc).hexdigest()
      == sv["salted"], "salted example: the salted digest")

genesis_bytes = section("Example genesis file", "json").encode("utf-8")
receipt = json.loads(section("Example receipt", "json"),
                     object_pairs_hook=lambda kv: (check(len(set(k for k, _ in kv)) == len(kv),
                                                         "no duplicate keys"), dict(kv))[1])
genesis = json.loads(genesis_bytes)

def vset_hash(epoch, threshold, m):  # §6
    out = epoch.to_bytes(8, "big") + len(m).to_bytes(2, "big") + threshold.to_bytes(2, "big")
    for x in m:
        out += bytes([len(x["name"])]) + x["name"].encode() + bytes.fromhex(x["node_key"]) + \
            bytes.fromhex(x["seal_key"]) + bytes.fromhex(x["admin_key"])
    return H(b"qchain/v1/validators\0" + out)

def validators_hash(g):
    return vset_hash(0, g["governance"]["threshold"], g["members"])

def parse_header(hdr):  # §4
    r = Reader(hdr)
    h = {"version": r.u(1), "chain_id": r.str8().decode(), "genesis": r.take(32),
         "height": r.u(8), "prev": r.take(32),
         "time_ms": r.u(8), "proposer": r.u(4), "view": r.u(8), "epoch": r.u(8),
         "vhash": r.take(32), "tx_count": r.u(4), "tx_root": r.take(32), "log_size": r.u(8),
         "log_root": r.take(32), "state_root": r.take(32), "next_vhash": r.take(32)}
    r.done()
    return h

def commit_vote(cid, cert, block_hash):  # §7, before the context
    return bytes([len(cid)]) + cid + b"".join(cert[k].to_bytes(8, "big")
                                              for k in ("epoch", "height", "view")) + block_hash

def verify_cert(cert, vset, block_hash, cid):
    """§10.2 step 7 against vset {epoch, members}; None when valid, else the reason."""
    members, n = vset["members"], len(vset["members"])
    f = (n - 1) // 3
    q = (n + f + 2) // 2
    if cert["epoch"] != vset["epoch"]: return "certificate is for epoch"
    if bytes.fromhex(cert["block_hash"]) != block_hash: return "certificate is for a different block hash"
    vote = commit_vote(cid, cert, block_hash)
    seen = set()
    for i, v in enumerate(cert["votes"]):
        if v["validator"] >= n:
            return "vote %d names validator %d; epoch %d has %d validators" % (
                i, v["validator"], vset["epoch"], n)
        if v["validator"] in seen: return "two votes by " + members[v["validator"]]["name"]
        seen.add(v["validator"])
        m = members[v["validator"]]
        if not ed25519_verify(bytes.fromhex(m["node_key"]), b"qchain/v1/commit\0" + vote,
                              bytes.fromhex(v["sig"])):
            return "signature by %s's node key is invalid" % m["name"]
    if len(seen) < q: return "%d valid signatures, quorum is %d" % (len(seen), q)
    return None

CERT_KEYS = {"epoch", "height", "view", "block_hash", "votes"}
STEP_KEYS = {"epoch", "first_height", "threshold", "members", "switch_header", "switch_cert"}
MEMBER_KEYS = {"name", "node_key", "seal_key", "admin_key"}

def well_formed_cert(c):
    return set(c) == CERT_KEYS and all(set(v) == {"validator", "sig"} for v in c["votes"])

def walk_membership(rc, g, G, trace):
    """§10.2 step 3 (G: the genesis file's hash): returns (V, F, None) or (None, None, reason)."""
    cid = g["chain_id"].encode()
    V = {"epoch": 0, "threshold": g["governance"]["threshold"], "members": g["members"]}
    F = 1
    for k, st in enumerate(rc["membership"], 1):
        if st["epoch"] != V["epoch"] + 1:
            return None, None, "membership step %d is for epoch %d, expected %d" % (
                k, st["epoch"], V["epoch"] + 1)
        hdr = bytes.fromhex(st["switch_header"])
        sh = parse_header(hdr)
        if sh["height"] != st["first_height"] - 1:
            return None, None, "membership step %d: the switch header is block %d, but epoch " \
                "%d starts at block %d" % (k, sh["height"], st["epoch"], st["first_height"])
        if sh["height"] < F:
            return None, None, "membership step %d: epoch %d starts at block %d, before" % (
                k, st["epoch"], st["first_height"])
        if sh["chain_id"] != g["chain_id"]:
            return None, None, "membership step %d: the switch header is for chain" % k
        if sh["genesis"] != G:
            return None, None, "membership step %d: the switch header names genesis %s, the " \
                "genesis file given is %s" % (k, sh["genesis"].hex(), G.hex())
        if sh["epoch"] != V["epoch"]:
            return None, None, "membership step %d: the switch block is in epoch %d, expected %d" % (
                k, sh["epoch"], V["epoch"])
        if sh["vhash"] != vset_hash(V["epoch"], V["threshold"], V["members"]):
            return None, None, "membership step %d: the switch block names a different " \
                "validator set than epoch %d's" % (k, V["epoch"])
        cert = st["switch_cert"]
        if cert["height"] != sh["height"]:
            return None, None, "membership step %d: certificate is for height" % k
        block_hash = H(b"qchain/v1/block\0" + hdr)
        why = verify_cert(cert, V, block_hash, cid)
        if why:
            return None, None, "membership step %d (the switch to epoch %d): %s" % (
                k, st["epoch"], why)
        new = {"epoch": st["epoch"], "threshold": st["threshold"], "members": st["members"]}
        new_hash = vset_hash(new["epoch"], new["threshold"], new["members"])
        if new_hash != sh["next_vhash"]:
            return None, None, "the switch block of epoch %d does not certify this member " \
                "list" % st["epoch"]
        if trace is not None:
            trace.setdefault("switches", []).append(dict(
                block_hash=block_hash, vote=commit_vote(cid, cert, block_hash), set_hash=new_hash,
                header=sh))
        V, F = new, st["first_height"]
    return V, F, None

def mth(leaves):  # RFC 6962 §2.1
    if len(leaves) == 1: return leaves[0]
    k = 1
    while k * 2 < len(leaves): k *= 2
    return H(b"\1" + mth(leaves[:k]) + mth(leaves[k:]))

def audit_path(m, leaves):  # RFC 6962 §2.1.1
    if len(leaves) == 1: return []
    k = 1
    while k * 2 < len(leaves): k *= 2
    if m < k: return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]

def verify_inclusion(leaf, index, size, path, root, steps=None):  # RFC 9162 §2.1.3.2
    if index >= size: return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = H(b"\1" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1; sn >>= 1
        else:
            r = H(b"\1" + r + p)
        fn >>= 1; sn >>= 1
        if steps is not None: steps.append(r)
    return sn == 0 and r == root

# The auditor's own inclusion verifier against the RFC 6962 definitions: every leaf of every
# tree up to 33 leaves, refusing the neighbouring index, another leaf and a shortened path.
for n in range(1, 34):
    lv = [H(b"\0" + bytes([n, i])) for i in range(n)]
    root = mth(lv)
    for i in range(n):
        p = audit_path(i, lv)
        check(verify_inclusion(lv[i], i, n, p, root), "RFC 9162 inclusion %d of %d" % (i, n))
        check(not verify_inclusion(lv[i], i + 1, n, p, root), "wrong index refused")
        check(not verify_inclusion(H(lv[i]), i, n, p, root), "wrong leaf refused")
        check(not p or not verify_inclusion(lv[i], i, n, p[:-1], root), "short path refused")

def verify_receipt(rc, gbytes, doc_digest=None, trace=None):
    """§10.2 step by step; returns None when valid, else the failing step's reason."""
    g = json.loads(gbytes)
    keys = {"qchain_receipt", "chain_id", "genesis_hash", "record", "tx", "header", "cert",
            "inclusion", "membership"}
    if set(rc) != keys or set(rc["record"]) != {"digest", "tx_record_index", "log_index"} or \
            set(rc["tx"]) != {"body", "sig"} or set(rc["inclusion"]) != {"tree_size", "path"} or \
            not well_formed_cert(rc["cert"]) or \
            any(set(st) != STEP_KEYS or not well_formed_cert(st["switch_cert"]) or
                any(set(m) != MEMBER_KEYS for m in st["members"]) for st in rc["membership"]):
        return "missing or unknown field"
    if rc["qchain_receipt"] != 1:
        return "unsupported receipt"
    if len(rc["inclusion"]["path"]) > 63:  # §10.1: ⌈log2 tree_size⌉ ≤ 63
        return "inclusion path is too long"
    for st in rc["membership"]:
        names = [m["name"] for m in st["members"]]
        mkeys = [m[k] for m in st["members"] for k in ("node_key", "seal_key", "admin_key")]
        if not 1 <= len(names) <= 64 or len(set(names)) != len(names) or \
                len(set(mkeys)) != len(mkeys) or not 1 <= st["threshold"] <= len(names):
            return "malformed membership step"
    body, hdr = bytes.fromhex(rc["tx"]["body"]), bytes.fromhex(rc["header"])
    h = parse_header(hdr)
    height, epoch, vhash = h["height"], h["epoch"], h["vhash"]
    log_size, log_root = h["log_size"], h["log_root"]
    if rc["chain_id"] != g["chain_id"] or h["chain_id"] != g["chain_id"]: return "receipt is for chain"
    G = H(b"qchain/v1/genesis\0" + gbytes)
    if bytes.fromhex(rc["genesis_hash"]) != G:
        return "receipt names genesis %s, the genesis file given is %s" % (rc["genesis_hash"], G.hex())
    if h["genesis"] != G:  # the field above is unsigned; the certified header binds the file
        return "block header names genesis %s, the genesis file given is %s" % (h["genesis"].hex(), G.hex())
    V, F, why = walk_membership(rc, g, G, trace)
    if why: return why
    if epoch != V["epoch"]: return "block is in epoch %d" % epoch
    if vhash != vset_hash(V["epoch"], V["threshold"], V["members"]):
        return "block header names a different validator set"
    if height < F: return "block %d is before epoch %d began" % (height, V["epoch"])
    members = V["members"]
    block_hash = H(b"qchain/v1/block\0" + hdr)
    cert = rc["cert"]
    if cert["height"] != height: return "certificate is for height"
    cid = g["chain_id"].encode()
    why = verify_cert(cert, V, block_hash, cid)
    if why: return why
    vote = commit_vote(cid, cert, block_hash)
    r = Reader(body)
    r.u(1); r.u(2); txchain = r.str8().decode(); signer = r.take(32); r.u(8); r.u(8)
    digests = []
    for _ in range(r.u(2)):
        digests.append(r.take(32)); r.str8(); r.str16()
        if r.u(1) == 1: r.take(32)
    r.done()
    if txchain != g["chain_id"]: return "the transaction is for chain"
    if not ed25519_verify(signer, b"qchain/v1/tx-sig\0" + body, bytes.fromhex(rc["tx"]["sig"])):
        return "the transaction's seal signature is invalid"
    city = [m["name"] for m in members if bytes.fromhex(m["seal_key"]) == signer]
    if not city: return "the transaction is not signed by a member city's seal key"
    rec = rc["record"]
    digest, idx = bytes.fromhex(rec["digest"]), rec["tx_record_index"]
    if idx >= len(digests) or digests[idx] != digest:
        return "the transaction does not anchor this digest at record %d" % idx
    if doc_digest is not None and doc_digest != digest: return "document digest does not match"
    tx_id = H(b"qchain/v1/tx-id\0" + body)
    leaf = H(b"\0" + b"qchain/v1/record-leaf\0" + height.to_bytes(8, "big") + tx_id +
             idx.to_bytes(2, "big") + digest)
    path = [bytes.fromhex(p) for p in rc["inclusion"]["path"]]
    if trace is not None: trace.update(tx_id=tx_id, block_hash=block_hash, vote=vote, leaf=leaf, steps=[])
    if rc["inclusion"]["tree_size"] != log_size or not verify_inclusion(
            leaf, rec["log_index"], log_size, path, log_root, trace["steps"] if trace is not None else None):
        return "inclusion proof does not lead to the block's record-log root"
    if trace is not None:
        trace.update(city=city[0], height=height, log_root=log_root, prev=h["prev"])
    return None

trace = {}
check(verify_receipt(receipt, genesis_bytes, bytes(range(0xa0, 0xc0)), trace) is None,
      "example receipt verifies")
check(trace["city"] == "jinan" and trace["height"] == 2, "anchored by jinan in block 2")
check(H(b"qchain/v1/genesis\0" + genesis_bytes) == vec["Example: genesis hash"], "genesis hash")
check(validators_hash(genesis) == vec["Validator set hash (epoch 0, 4 members, threshold 3)"],
      "genesis set is §8's")
check(trace["prev"] == vec["Block hash"], "block 2 extends §8's block 1")

def check_trace(tr, prefix, epoch):
    """The auditor's intermediate values equal the ones the document prints under prefix."""
    h = tr["height"]
    for key, label in [("tx_id", "transaction id"), ("block_hash", "block hash (height %d)" % h),
                       ("vote", "commit vote bytes (epoch %d, height %d, view 1), before the "
                                "context prefix" % (epoch, h)),
                       ("leaf", "record-log leaf hash"), ("log_root", "log_root in the header")]:
        check(tr[key] == vec[prefix + ": " + label], prefix + " " + label)
    steps = [v for k, v in vec.items() if k.startswith(prefix + ": after path[")]
    check(tr["steps"] == steps and steps[-1] == tr["log_root"], prefix + " inclusion walk")
    return steps

walk = check_trace(trace, "Example", 0)
check(bytes.fromhex(receipt["inclusion"]["path"][1]) == log_root, "path[1] is §8's log root")

# Tampered copies fail at the documented step.
def tampered(edit, base=None):
    rc = json.loads(json.dumps(receipt if base is None else base))
    edit(rc)
    return verify_receipt(rc, genesis_bytes) or ""
def flip(h, i=0):
    b = bytearray.fromhex(h)
    b[i] ^= 1
    return b.hex()
cases = [
    (lambda rc: rc["cert"]["votes"][1].update(sig=flip(rc["cert"]["votes"][1]["sig"])),
     "signature by zibo's node key is invalid"),
    (lambda rc: rc["cert"]["votes"].pop(), "2 valid signatures, quorum is 3"),
    (lambda rc: rc["cert"]["votes"].append(rc["cert"]["votes"][0]), "two votes by jinan"),
    (lambda rc: rc["cert"]["votes"][0].update(validator=4), "vote 0 names validator 4"),
    (lambda rc: rc.update(header=flip(rc["header"], 70)), "certificate is for a different block hash"),
    (lambda rc: rc.update(header=flip(rc["header"], 30)), "block header names genesis"),
    (lambda rc: rc["tx"].update(body=flip(rc["tx"]["body"], 60)),
     "the transaction's seal signature is invalid"),
    (lambda rc: rc["record"].update(digest=flip(rc["record"]["digest"])),
     "the transaction does not anchor this digest"),
    (lambda rc: rc["record"].update(log_index=3), "inclusion proof does not lead"),
    (lambda rc: rc["inclusion"].update(tree_size=4), "inclusion proof does not lead"),
    (lambda rc: rc["inclusion"]["path"].pop(), "inclusion proof does not lead"),
    (lambda rc: rc["inclusion"].update(path=(rc["inclusion"]["path"] * 64)[:63]),
     "inclusion proof does not lead"),
    (lambda rc: rc["inclusion"].update(path=(rc["inclusion"]["path"] * 64)[:64]), "inclusion path is too long"),
    (lambda rc: rc.update(genesis_hash=flip(rc["genesis_hash"])), "receipt names genesis"),
    (lambda rc: rc.update(extra=1), "missing or unknown field"),
]
for edit, reason in cases:
    check(tampered(edit).startswith(reason), "tampered receipt: " + reason)
check(verify_receipt(receipt, genesis_bytes, bytes(32)) == "document digest does not match", "wrong document")

# A genesis file differing from the example's in one unsigned detail (same chain id and keys)
# is another chain: the receipt fails at step 2 even with its genesis_hash field edited to match.
for old, new in [(b'"genesis_time_ms": 1794999000000', b'"genesis_time_ms": 1794999000001'),
                 ('"display_name": "Zibo 淄博"'.encode(), '"display_name": "Zibo 淄博市"'.encode()),
                 (b'"view_timeout_ms": 2000', b'"view_timeout_ms": 2001')]:
    check(genesis_bytes.count(old) == 1, "example genesis has " + old.decode())
    other = genesis_bytes.replace(old, new)
    og = json.loads(other)
    check(og["chain_id"] == genesis["chain_id"] and validators_hash(og) == validators_hash(genesis),
          "the edited genesis keeps the chain id and the keys")
    for base in (receipt, json.loads(section("Example 2: receipt", "json"))):
        rc = json.loads(json.dumps(base))
        rc["genesis_hash"] = H(b"qchain/v1/genesis\0" + other).hex()
        check((verify_receipt(rc, other) or "").startswith("block header names genesis " + base["genesis_hash"]),
              "a receipt does not verify against a genesis edited at " + old.decode())

# ---- §10.4: a receipt across an epoch switch, walked from the §10.3 genesis file.
receipt2 = json.loads(section("Example 2: receipt", "json"),
                      object_pairs_hook=lambda kv: (check(len(set(k for k, _ in kv)) == len(kv),
                                                          "no duplicate keys"), dict(kv))[1])
trace2 = {}
check(verify_receipt(receipt2, genesis_bytes, bytes(range(0x00, 0x20)), trace2) is None,
      "example 2 receipt verifies across the epoch switch")
check(trace2["city"] == "dezhou" and trace2["height"] == 4, "anchored by dezhou in block 4")
check(len(trace2["switches"]) == 1, "one membership step")
sw = trace2["switches"][0]
step = receipt2["membership"][0]
check(step["epoch"] == 1 and step["first_height"] == 4 and step["threshold"] == 4, "step 1 fields")
check(step["members"][:4] == [{k: m[k] for k in MEMBER_KEYS} for m in genesis["members"]],
      "epoch 1 keeps the genesis members in their order")
check([m["name"] for m in step["members"]] == ["jinan", "zibo", "taian", "liaocheng", "dezhou"],
      "epoch 1 adds dezhou")
check(sw["set_hash"] == vec["Example 2: validator set hash of epoch 1 (jinan, zibo, taian, "
                           "liaocheng, dezhou; threshold 4)"], "example 2 epoch-1 set hash")
check(sw["block_hash"] == vec["Example 2: switch block hash (height 3)"], "example 2 switch block hash")
check(sw["vote"] == vec["Example 2: switch commit vote bytes (epoch 0, height 3, view 1), before "
                       "the context prefix"], "example 2 switch vote bytes")
check(sw["header"]["prev"] == vec["Example: block hash (height 2)"], "block 3 extends block 2")
check(sw["header"]["tx_count"] == 0 and sw["header"]["tx_root"] == H(b""), "block 3 is empty")
check(sw["header"]["log_size"] == 5 and sw["header"]["log_root"] == vec["Example: log_root in the header"],
      "block 3 keeps the log of block 2")
check(trace2["prev"] == sw["block_hash"], "block 4 extends the switch block")
check_trace(trace2, "Example 2", 1)
check(bytes.fromhex(receipt2["inclusion"]["path"][0]) == bytes.fromhex(receipt["inclusion"]["path"][2])
      and bytes.fromhex(receipt2["inclusion"]["path"][1]) == walk[1],
      "example 2's path: leaf 4, then the root of leaves 0..3 (§10.3's)")
# Without the membership step, the genesis set alone cannot check block 4.
check(verify_receipt(dict(receipt2, membership=[]), genesis_bytes) == "block is in epoch 1",
      "the block needs its membership history")

def step_copy(rc, **kw):
    st = json.loads(json.dumps(rc["membership"][0])); st.update(kw); return st
cases2 = [
    (lambda rc: rc["membership"][0].update(switch_header=flip(rc["membership"][0]["switch_header"], 70)),
     "membership step 1 (the switch to epoch 1): certificate is for a different block hash"),
    (lambda rc: rc["membership"][0]["switch_cert"]["votes"][2].update(
        sig=flip(rc["membership"][0]["switch_cert"]["votes"][2]["sig"])),
     "membership step 1 (the switch to epoch 1): signature by taian's node key is invalid"),
    (lambda rc: rc["membership"][0]["switch_cert"]["votes"].pop(),
     "membership step 1 (the switch to epoch 1): 2 valid signatures, quorum is 3"),
    (lambda rc: rc["membership"][0]["members"][4].update(
        seal_key=flip(rc["membership"][0]["members"][4]["seal_key"])),
     "the switch block of epoch 1 does not certify this member list"),
    (lambda rc: rc["membership"][0].update(threshold=3),
     "the switch block of epoch 1 does not certify this member list"),
    (lambda rc: rc["membership"][0]["members"].pop(),
     "the switch block of epoch 1 does not certify this member list"),
    (lambda rc: rc["membership"][0].update(epoch=2), "membership step 1 is for epoch 2, expected 1"),
    (lambda rc: rc["membership"][0].update(first_height=5),
     "membership step 1: the switch header is block 3, but epoch 1 starts at block 5"),
    (lambda rc: rc["membership"].append(step_copy(rc, epoch=2)),
     "membership step 2: epoch 2 starts at block 4, before"),
    (lambda rc: rc["membership"].append(step_copy(rc, epoch=2, first_height=5)),
     "membership step 2: the switch header is block 3, but epoch 2 starts at block 5"),
    (lambda rc: rc["cert"]["votes"][3].update(sig=flip(rc["cert"]["votes"][3]["sig"])),
     "signature by dezhou's node key is invalid"),
    (lambda rc: rc["membership"][0].update(extra=1), "missing or unknown field"),
    (lambda rc: rc["membership"][0].update(switch_header=flip(rc["membership"][0]["switch_header"], 40)),
     "membership step 1: the switch header names genesis"),
]
for edit, reason in cases2:
    check(tampered(edit, receipt2).startswith(reason), "tampered example 2: " + reason)

# ---- §11: the state map, re-derived from its definition (T(S, d)) and its proof format.
def smt_bit(k, i): return (k[i // 8] >> (7 - i % 8)) & 1
def smt_leaf(k, v): return H(b"qchain/v1/smt-leaf\0" + k + v)
def smt_node(l, r): return H(b"qchain/v1/smt-node\0" + l + r)
SMT_EMPTY = bytes(32)

def smt_T(entries, d):  # §11.1
    if not entries: return SMT_EMPTY
    if len(entries) == 1: return smt_leaf(*entries[0])
    return smt_node(smt_T([e for e in entries if not smt_bit(e[0], d)], d + 1),
                    smt_T([e for e in entries if smt_bit(e[0], d)], d + 1))

def smt_prove(entries, key):  # the search of §11.2, from the definition
    d, sibs, here = 0, [], entries
    while len(here) >= 2:
        b = smt_bit(key, d)
        sibs.append(smt_T([e for e in here if smt_bit(e[0], d) != b], d + 1))
        here = [e for e in here if smt_bit(e[0], d) == b]
        d += 1
    bitmap = bytearray((d + 7) // 8)
    for i, s in enumerate(sibs):
        if s != SMT_EMPTY: bitmap[i // 8] |= 0x80 >> (i % 8)
    body = bytes(bitmap) + b"".join(s for s in sibs if s != SMT_EMPTY)
    if not here: return bytes([1]) + d.to_bytes(2, "big") + body
    k, v = here[0]
    if k == key: return bytes([0]) + d.to_bytes(2, "big") + body + v
    return bytes([2]) + d.to_bytes(2, "big") + body + k + v

def smt_verify(root, key, value, proof):  # §11.2 decoding, §11.3 steps; value None = absent
    if len(proof) < 3: return False
    kind, depth = proof[0], int.from_bytes(proof[1:3], "big")
    if kind > 2 or depth > 256 or (kind == 1 and depth == 256): return False
    nb = (depth + 7) // 8
    bitmap, off, sibs = proof[3:3 + nb], 3 + nb, []
    if len(bitmap) != nb or (depth % 8 and bitmap[-1] & (0xff >> (depth % 8))): return False
    for d in range(depth):
        if bitmap[d // 8] & (0x80 >> (d % 8)):
            s = proof[off:off + 32]; off += 32
            if len(s) != 32 or s == SMT_EMPTY: return False
            sibs.append(s)
        else:
            sibs.append(SMT_EMPTY)
    if depth > 0 and sibs[-1] == SMT_EMPTY: return False
    term = proof[off:]
    if len(term) != [32, 0, 64][kind]: return False
    if (value is None) != (kind != 0) or (kind == 0 and term != value): return False
    if kind == 0: h = smt_leaf(key, term)
    elif kind == 1: h = SMT_EMPTY
    else:
        ok, ov = term[:32], term[32:]
        if ok == key or any(smt_bit(ok, i) != smt_bit(key, i) for i in range(depth)): return False
        h = smt_leaf(ok, ov)
    for d in range(depth - 1, -1, -1):
        h = smt_node(h, sibs[d]) if not smt_bit(key, d) else smt_node(sibs[d], h)
    return h == root

# §12.1 and §13: the state map after a block holds every anchored digest's status and every
# city's log head. The city logs are RFC 6962 logs (mth) of §13.1's leaves.
CITY_KINDS = {"anchor": 1, "endorse": 2, "revoke": 3, "supersede-old": 4, "supersede-new": 5}

def city_leaf_data(height, txid, index, kind, digest):  # §13.1
    data = (b"qchain/v1/city-leaf\0" + height.to_bytes(8, "big") + txid + index.to_bytes(2, "big") +
            bytes([CITY_KINDS[kind]]) + digest)
    check(len(data) == 95, "§13.1: a city leaf's data is 95 bytes")
    return data

def city_leaf_hash(l):  # a §13.3 JSON leaf's RFC 6962 leaf hash
    return H(b"\0" + city_leaf_data(l["height"], bytes.fromhex(l["tx_id"]), l["index"], l["kind"],
                                    bytes.fromhex(l["digest"])))

def city_key(name): return H(b"qchain/v1/city-key\0" + bytes([len(name)]) + name.encode())
def city_head(size, root): return H(b"qchain/v1/city-head\0" + size.to_bytes(8, "big") + root)

def fresh_status(digest, owner, height, txid, log_index):  # §5.1: valid, nothing replaced
    return (bytes([1]) + digest + bytes([len(owner)]) + owner + height.to_bytes(8, "big") + txid +
            log_index.to_bytes(8, "big") + bytes([0, 0, 0]))

def chain_state(blocks):
    """The state map's entries after blocks [(height, [(city, tx id, record digests)])] whose
    transactions are all ANCHORs (§12.1, §13.2), as (record entries, city-head entries): each
    digest's fresh status from its first anchoring (owner the signing city, the record's log
    index), and for each city with events, city_key -> city_head over its §13.1 log (one
    anchor leaf per record, kept across blocks)."""
    statuses, logs, log_index = {}, {}, 0
    for height, txs in blocks:
        for city, txid, digests in txs:
            for i, d in enumerate(digests):
                k = H(b"qchain/v1/state-key\0" + d)
                if k not in statuses:
                    statuses[k] = H(b"qchain/v1/record-status\0" +
                                    fresh_status(d, city.encode(), height, txid, log_index + i))
                logs.setdefault(city, []).append(H(b"\0" + city_leaf_data(height, txid, i, "anchor", d)))
            log_index += len(digests)
    heads = [(city_key(c), city_head(len(l), mth(l))) for c, l in logs.items()]
    return list(statuses.items()), heads

def check_state_root(blocks, root, what):
    """root is the state root after blocks (both kinds of entries), and would not be without
    the city heads: leaving them out is caught."""
    recs, heads = chain_state(blocks)
    check(heads and smt_T(recs + heads, 0) == root, what + ": the state root (statuses and city heads)")
    check(smt_T(recs, 0) != root, what + ": the state root is not the statuses' alone")
    return recs + heads

# Block 1: the §8 transaction's two records, each with its fresh status (owner jinan, first
# anchored at height 1 at log indexes 0 and 1), and jinan's city head over their two leaves.
block1 = [(1, [("jinan", tx_id, [rec[0] for rec in records])])]
block1_entries = check_state_root(block1, state_root, "block 1")
check(state_root == vec["State root after block 1 (§12.1: both records' fresh statuses and jinan's city head)"],
      "block 1 state root as printed")
jinan_leaves = [H(b"\0" + city_leaf_data(1, tx_id, i, "anchor", rec[0])) for i, rec in enumerate(records)]
check(city_key("jinan") == vec["Status example: city_key of jinan"] and
      mth(jinan_leaves) == vec["Status example: the root of jinan's city log after block 1 (2 leaves)"] and
      city_head(2, mth(jinan_leaves)) == vec["Status example: jinan's city_head after block 1"],
      "§12.4: jinan's city key, log root and head as printed")
check(H(b"qchain/v1/state-key\0" + bytes(range(0x10, 0x30))) ==
      vec["State map: map key of the digest 10 11 .. 2f"], "state map key")
smt_entries = [(vec["State map: key %d" % i], bytes([0xa0 + i]) * 32) for i in range(5)]
check(smt_entries[1][0][:3] == smt_entries[2][0][:3] and smt_bit(smt_entries[1][0], 24) !=
      smt_bit(smt_entries[2][0], 24), "state map keys 1 and 2 share exactly 24 bits")
smt_root = smt_T(smt_entries, 0)
check(smt_root == vec["State map: root of the five entries"], "state map root")
check(smt_T([], 0) == SMT_EMPTY and smt_T(smt_entries[:1], 0) == smt_leaf(*smt_entries[0]),
      "state map: empty and one-entry roots")
smt_cases = [
    (smt_entries[2][0], smt_entries[2][1],
     "State map: proof of key 2 (PRESENT, depth 25, siblings at depths 0, 2 and 24)"),
    (bytes([0x40]) + bytes(31), None, "State map: proof of 40 00 .. 00 (EMPTY at depth 2)"),
    (bytes([0xf0]) + bytes(31), None,
     "State map: proof of f0 00 .. 00 (OTHER: key 4's leaf at depth 2)"),
]
for key, value, label in smt_cases:
    proof = vec[label]
    check(smt_prove(smt_entries, key) == proof, label + ": built from the definition")
    check(smt_verify(smt_root, key, value, proof), label + ": verifies")
    check(not smt_verify(smt_root, key, bytes(32) if value is None else None, proof),
          label + ": the opposite claim is refused")
    for i in range(len(proof)):  # every flipped bit refused
        for b in range(8):
            t = bytearray(proof); t[i] ^= 1 << b
            check(not smt_verify(smt_root, key, value, bytes(t)), label + ": tampered byte %d" % i)
    check(not smt_verify(smt_root, key, value, proof + b"\0"), label + ": trailing byte")
# Every key and some absent keys of a larger map, built and verified from the definition.
smt_big = [(H(b"k%d" % i), H(b"v%d" % i)) for i in range(40)]
smt_big.append((smt_big[0][0][:31] + bytes([smt_big[0][0][31] ^ 1]), H(b"deep")))  # 255 bits shared
smt_big_root = smt_T(smt_big, 0)
for k, v in smt_big:
    check(smt_verify(smt_big_root, k, v, smt_prove(smt_big, k)), "state map: big map key")
for i in range(40):
    q = H(b"absent%d" % i)
    check(smt_verify(smt_big_root, q, None, smt_prove(smt_big, q)), "state map: big map absent")
# Not minimal: a lone leaf pushed one level down below an empty sibling.
lone_k, lone_v = smt_entries[0]
check(not smt_verify(smt_leaf(lone_k, lone_v), lone_k, lone_v, bytes([0, 0, 1, 0]) + lone_v),
      "state map: non-minimal proof refused")
check(smt_verify(smt_leaf(lone_k, lone_v), lone_k, lone_v, bytes([0, 0, 0]) + lone_v),
      "state map: one-entry proof")

# ---- §12: status proofs, verified step by step (§12.3) from the document alone.
class Bad(Exception): pass

class SReader:  # like Reader, but a malformed input is a refusal (Bad), not a script failure
    def __init__(self, b): self.b, self.p = b, 0
    def take(self, n):
        if self.p + n > len(self.b): raise Bad("truncated")
        r = self.b[self.p:self.p + n]; self.p += n; return r
    def u(self, n): return int.from_bytes(self.take(n), "big")
    def str8(self): return self.take(self.u(1))
    def done(self):
        if self.p != len(self.b): raise Bad("trailing bytes")

NAME_RE = re.compile(rb"^[a-z0-9-]{1,32}$")

def decode_status(b):  # §5.1, strictly
    r = SReader(b)
    if r.u(1) != 1: raise Bad("status version")
    st = {"digest": r.take(32), "owner": r.str8(), "first_height": r.u(8), "first_tx": r.take(32),
          "first_index": r.u(8), "state": r.u(1)}
    if not NAME_RE.match(st["owner"]) or st["first_height"] < 1: raise Bad("owner or height")
    if st["state"] in (1, 2):
        st["state_height"] = r.u(8); st["state_tx"] = r.take(32)
        if st["state_height"] < st["first_height"]: raise Bad("state height")
        if st["state"] == 1:
            st["reason"] = r.u(2)
            if st["reason"] == 0: raise Bad("reason 0")
        else:
            st["superseded_by"] = r.take(32)
            if st["superseded_by"] == st["digest"]: raise Bad("superseded by itself")
    elif st["state"] != 0:
        raise Bad("state")
    olds = [r.take(32) for _ in range(r.u(1))]
    if len(olds) > 64 or len(set(olds)) != len(olds) or st["digest"] in olds: raise Bad("supersedes")
    ends, last = [], st["first_height"]
    for _ in range(r.u(1)):
        e = (r.str8(), r.u(8), r.u(2), r.take(32))
        if not NAME_RE.match(e[0]) or e[0] == st["owner"] or e[1] < last or e[2] == 0: raise Bad("endorsement")
        if e[0] in [x[0] for x in ends]: raise Bad("endorsed twice")
        last = e[1]; ends.append(e)
    if len(ends) > 64: raise Bad("endorsements")
    r.done()
    st["supersedes"], st["endorsements"] = olds, ends
    return st

SP_KEYS = {"qchain_status_proof", "chain_id", "genesis_hash", "digest", "header", "cert",
           "membership", "status", "proof"}

def verify_proof_block(sp, g, gbytes):
    """§10.2 steps 1-4 for the block a status (§12.3) or city log proof (§13.4) names:
    (None, header fields) when it holds, else (reason, None). Raises on malformed input."""
    if not well_formed_cert(sp["cert"]) or any(set(st) != STEP_KEYS for st in sp["membership"]):
        return "missing or unknown field", None
    hdr = bytes.fromhex(sp["header"])
    r = SReader(hdr)
    if r.u(1) != 3: return "header version", None
    h = {"chain_id": r.str8().decode(), "genesis": r.take(32), "height": r.u(8),
         "prev": r.take(32), "time_ms": r.u(8), "proposer": r.u(4), "view": r.u(8),
         "epoch": r.u(8), "vhash": r.take(32), "tx_count": r.u(4), "tx_root": r.take(32),
         "log_size": r.u(8), "log_root": r.take(32), "state_root": r.take(32),
         "next_vhash": r.take(32)}
    r.done()
    if sp["chain_id"] != g["chain_id"] or h["chain_id"] != g["chain_id"]: return "chain", None
    G = H(b"qchain/v1/genesis\0" + gbytes)
    if bytes.fromhex(sp["genesis_hash"]) != G or h["genesis"] != G: return "genesis", None
    V, F, why = walk_membership(sp, g, G, None)
    if why: return why, None
    if h["epoch"] != V["epoch"] or h["vhash"] != vset_hash(V["epoch"], V["threshold"], V["members"]) \
            or h["height"] < F:
        return "validator set", None
    if sp["cert"]["height"] != h["height"]: return "certificate height", None
    why = verify_cert(sp["cert"], V, H(b"qchain/v1/block\0" + hdr), g["chain_id"].encode())
    if why: return why, None
    return None, h

def verify_status_proof(sp, gbytes, doc_digest=None):
    """§12.3: (None, status or None) when valid, else (reason, None)."""
    g = json.loads(gbytes)
    try:
        if set(sp) != SP_KEYS: return "missing or unknown field", None
        if sp["qchain_status_proof"] != 1: return "unsupported status proof", None
        why, h = verify_proof_block(sp, g, gbytes)
        if why: return why, None
        digest = bytes.fromhex(sp["digest"])
        if len(digest) != 32: return "digest", None
        if doc_digest is not None and doc_digest != digest: return "document digest", None
        value, st = None, None
        if sp["status"] is not None:
            raw = bytes.fromhex(sp["status"])
            st = decode_status(raw)
            if st["digest"] != digest: return "the status is another digest's", None
            if st["first_height"] > h["height"]: return "first anchoring after the block", None
            value = H(b"qchain/v1/record-status\0" + raw)
        key = H(b"qchain/v1/state-key\0" + digest)
        if not smt_verify(h["state_root"], key, value, bytes.fromhex(sp["proof"])):
            return "the state-map proof does not lead to the state root", None
        return None, st
    except (Bad, ValueError, KeyError, TypeError, IndexError):
        return "malformed", None

# §10.3's block 2 carries the state root §12.1 gives: block 1's two records and its own three,
# each with its fresh status (owner jinan, first anchored in block 2 at log indexes 2..4), and
# jinan's city head.
def tx_digests(body):
    r = Reader(body)
    r.u(1); r.u(2); r.str8(); r.take(32); r.u(8); r.u(8)
    ds = []
    for _ in range(r.u(2)):
        ds.append(r.take(32)); r.str8(); r.str16()
        if r.u(1) == 1: r.take(32)
    r.done()
    return ds
# Its city head replaces block 1's: jinan's log now has five leaves. §10.4's block 3 is empty
# (its root is block 2's); block 4's root adds dezhou's record and dezhou's first city head.
body2 = bytes.fromhex(receipt["tx"]["body"])
tx2_id = H(b"qchain/v1/tx-id\0" + body2)
hdr2 = parse_header(bytes.fromhex(receipt["header"]))
block2 = block1 + [(2, [(trace["city"], tx2_id, tx_digests(body2))])]
check(hdr2["height"] == 2 and trace["city"] == "jinan", "§10.3's block 2 is jinan's")
check_state_root(block2, hdr2["state_root"], "§10.3's block 2 (five records)")
check(sw["header"]["height"] == 3 and sw["header"]["state_root"] == hdr2["state_root"],
      "§10.4's block 3, empty, keeps block 2's state root")
body4 = bytes.fromhex(receipt2["tx"]["body"])
hdr4 = parse_header(bytes.fromhex(receipt2["header"]))
block4 = block2 + [(4, [(trace2["city"], H(b"qchain/v1/tx-id\0" + body4), tx_digests(body4))])]
check(hdr4["height"] == 4, "§10.4's block 4")
recs4, heads4 = chain_state(block4)
check(len(recs4) == 6 and len(heads4) == 2, "after block 4: six records, the logs of jinan and dezhou")
check_state_root(block4, hdr4["state_root"], "§10.4's block 4 (dezhou's first event)")

sp1 = json.loads(section("Status example 1: the status proof of record 0 as of block 1", "json"))
sp2 = json.loads(section("Status example 2: the status proof of 77 77 .. 77 (never anchored) as of block 1",
                         "json"))
why, st = verify_status_proof(sp1, genesis_bytes, records[0][0])
check(why is None, "status example 1 verifies: %s" % why)
check(st["owner"] == b"jinan" and st["first_height"] == 1 and st["first_tx"] == tx_id and
      st["first_index"] == 0 and st["state"] == 0 and st["supersedes"] == [] and st["endorsements"] == [],
      "status example 1: record 0 is valid, first anchored by jinan in block 1")
check(bytes.fromhex(sp1["status"]) == vec["Status example: record 0's status (fresh: owner jinan, block 1, log index 0)"]
      and H(b"qchain/v1/record-status\0" + bytes.fromhex(sp1["status"])) == vec["Status example: its status_hash"],
      "status example 1: the status and its hash as printed")
check(H(b"qchain/v1/state-key\0" + records[0][0]) ==
      vec["Status example: map key of record 0 (digest 10 11 .. 2f)"], "status example: map key")
check(bytes.fromhex(sp1["header"]) == hdr and state_root ==
      vec["Status example: state_root of block 1 (§8's header)"], "status example: §8's header and root")
check(bytes.fromhex(sp1["proof"]) == smt_prove(block1_entries, H(b"qchain/v1/state-key\0" + records[0][0])),
      "status example 1: the proof is the one §11.2's search builds")
absent = b"\x77" * 32
check(sp2["status"] is None and verify_status_proof(sp2, genesis_bytes) == (None, None),
      "status example 2: 77..77 is proven never anchored")
check(bytes.fromhex(sp2["proof"]) == smt_prove(block1_entries, H(b"qchain/v1/state-key\0" + absent)),
      "status example 2: the proof is the one §11.2's search builds")

def sp_edit(base, **kw):
    t = json.loads(json.dumps(base)); t.update(kw); return t

for base in (sp1, sp2):  # every flipped bit of the status, the proof and the header is refused
    for field in ("status", "proof", "header"):
        if base[field] is None: continue
        raw = bytes.fromhex(base[field])
        for i in range(len(raw)):
            for b in (0, 3, 7):
                t = bytearray(raw); t[i] ^= 1 << b
                check(verify_status_proof(sp_edit(base, **{field: bytes(t).hex()}), genesis_bytes)[0]
                      is not None, "status proof: %s byte %d bit %d flipped refused" % (field, i, b))
    for k in range(len(base["cert"]["votes"])):
        t = json.loads(json.dumps(base)); sig = bytearray(bytes.fromhex(t["cert"]["votes"][k]["sig"]))
        sig[5] ^= 1; t["cert"]["votes"][k]["sig"] = sig.hex()
        check(verify_status_proof(t, genesis_bytes)[0] is not None, "status proof: a bad vote refused")
check(verify_status_proof(sp_edit(sp1, status=None), genesis_bytes)[0] is not None,
      "status proof: absence claimed with a PRESENT proof refused")
check(verify_status_proof(sp_edit(sp2, status=sp1["status"]), genesis_bytes)[0] is not None,
      "status proof: a status claimed with an absence proof refused")
check(verify_status_proof(sp_edit(sp1, digest=sp2["digest"]), genesis_bytes)[0] is not None,
      "status proof: another digest's status refused")
check(verify_status_proof(sp1, genesis_bytes, b"\0" * 32)[0] == "document digest",
      "status proof: another document refused")
check(verify_status_proof(sp_edit(sp1, extra=1), genesis_bytes)[0] is not None,
      "status proof: an unknown field refused")
other_genesis = genesis_bytes.replace(b'"genesis_time_ms"', b'"genesis_time_ms" ', 1)
check(other_genesis != genesis_bytes and verify_status_proof(sp1, other_genesis)[0] == "genesis",
      "status proof: another genesis file refused")

# ---- §13: city log completeness proofs, verified from §13.4's steps alone
CP_KEYS = {"qchain_city_log_proof", "chain_id", "genesis_hash", "city", "from_height", "to_height",
           "header", "cert", "membership", "log_size", "log_root", "map_proof", "first_index",
           "leaves", "hashes"}
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")

def range_root(leaf_hashes, lo, n, hashes):  # §13.4 step 5
    hi, it = lo + len(leaf_hashes), iter(hashes)
    def T(s, m):
        if s + m <= lo or s >= hi: return next(it)
        if m == 1: return leaf_hashes[s - lo]
        k = 1 << ((m - 1).bit_length() - 1)
        return H(b"\x01" + T(s, k) + T(s + k, m - k))
    root = T(0, n)
    if next(it, None) is not None: raise Bad("hashes left over")
    return root

def verify_city_proof(cp, gbytes):
    """§13.4: (None, in-range leaves) when valid, else (reason, None)."""
    g = json.loads(gbytes)
    try:
        if set(cp) != CP_KEYS: return "missing or unknown field", None
        if cp["qchain_city_log_proof"] != 1: return "unsupported city log proof", None
        why, h = verify_proof_block(cp, g, gbytes)
        if why: return why, None
        a, b, N, lo = cp["from_height"], cp["to_height"], cp["log_size"], cp["first_index"]
        if not all(type(x) is int and x >= 0 for x in (a, b, N, lo)): return "malformed", None
        if not (1 <= a <= b <= h["height"]): return "range", None
        if not isinstance(cp["city"], str) or not NAME_RE.match(cp["city"]): return "city", None
        root, leaves, hashes = bytes.fromhex(cp["log_root"]), cp["leaves"], cp["hashes"]
        key = city_key(cp["city"])
        if N == 0:
            if root != H(b"") or lo != 0 or leaves or hashes: return "empty log", None
            if not smt_verify(h["state_root"], key, None, bytes.fromhex(cp["map_proof"])):
                return "map proof", None
            return None, []
        if not smt_verify(h["state_root"], key, city_head(N, root), bytes.fromhex(cp["map_proof"])):
            return "map proof", None
        k = len(leaves)
        if k < 1 or lo + k > N: return "leaf range", None
        for l in leaves:
            if set(l) != {"height", "tx_id", "index", "kind", "digest"} or l["kind"] not in CITY_KINDS \
                    or not (type(l["index"]) is int and 0 <= l["index"] <= 0xffff) \
                    or not (type(l["height"]) is int and 1 <= l["height"] <= h["height"]) \
                    or len(bytes.fromhex(l["tx_id"])) != 32 or len(bytes.fromhex(l["digest"])) != 32:
                return "leaf", None
        hs = [l["height"] for l in leaves]
        if any(x > y for x, y in zip(hs, hs[1:])): return "order", None
        if any(x < a for x in hs[1:]) or (lo > 0 and hs[0] >= a): return "left bracket", None
        if any(x > b for x in hs[:-1]) or (lo + k < N and hs[-1] <= b): return "right bracket", None
        if len(hashes) > 128: return "hashes", None
        if range_root([city_leaf_hash(l) for l in leaves], lo, N, [bytes.fromhex(x) for x in hashes]) != root:
            return "root", None
        return None, [l for l in leaves if a <= l["height"] <= b]
    except (Bad, ValueError, KeyError, TypeError, IndexError, StopIteration):
        return "malformed", None

def cp_edit(base, f):
    t = json.loads(json.dumps(base)); f(t); return t

cp1 = json.loads(section("City log example 1: jinan's completeness proof for heights 4..5 as of block 8", "json"))
why, got = verify_city_proof(cp1, genesis_bytes)
check(why is None, "city log example 1 verifies: %s" % why)
check([(l["height"], l["kind"]) for l in got] == [(4, "supersede-old"), (4, "supersede-new"), (5, "anchor")],
      "city log example 1: jinan's events in 4..5 are the supersession and one anchoring")
CORPUS = os.path.join(os.path.dirname(__file__), "fuzz", "corpus", "cityproof")
seeds = {f: json.load(open(os.path.join(CORPUS, f))) for f in sorted(os.listdir(CORPUS))}
for a, b in ((3, 5), (4, 6), (3, 6)):  # no jinan event at 3 or 6: the same leaves prove these too
    check(verify_city_proof(cp_edit(cp1, lambda c: c.update(from_height=a, to_height=b)), genesis_bytes)[0]
          is None, "city log example 1 also proves %d..%d (no event at 3 or 6)" % (a, b))
check(seeds["valid_brackets.json"] == cp1, "city log example 1 is the fuzz seed valid_brackets.json")
for f, cp in seeds.items():  # the valid seeds verify, the mutated ones do not
    why, got = verify_city_proof(cp, genesis_bytes)
    check((why is None) == f.startswith("valid_"), "city log seed %s: %s" % (f, why))
check(verify_city_proof(seeds["valid_none_in_range.json"], genesis_bytes) == (None, []),
      "city log seed: zibo had no event in 4..5, shown by its two bracketing leaves")
check(verify_city_proof(seeds["valid_empty_log.json"], genesis_bytes) == (None, []),
      "city log seed: taian's log is empty")

for field in ("log_root", "map_proof", "header"):  # every flipped bit refused
    raw = bytes.fromhex(cp1[field])
    for i in range(len(raw)):
        for bit in (0, 5):
            t = bytearray(raw); t[i] ^= 1 << bit
            check(verify_city_proof(cp_edit(cp1, lambda c: c.update({field: bytes(t).hex()})),
                                    genesis_bytes)[0] is not None,
                  "city log proof: %s byte %d bit %d flipped refused" % (field, i, bit))
for i in range(len(cp1["hashes"])):
    check(verify_city_proof(cp_edit(cp1, lambda c: c["hashes"].__setitem__(i, flip(c["hashes"][i]))),
                            genesis_bytes)[0] is not None, "city log proof: hash %d flipped refused" % i)
for i in range(len(cp1["leaves"])):
    other_kind = "anchor" if cp1["leaves"][i]["kind"] != "anchor" else "endorse"
    for key, val in (("height", 6), ("index", 9), ("kind", other_kind), ("digest", "00" * 32)):
        check(verify_city_proof(cp_edit(cp1, lambda c: c["leaves"][i].update({key: val})),
                                genesis_bytes)[0] is not None,
              "city log proof: leaf %d's %s changed refused" % (i, key))
    check(verify_city_proof(cp_edit(cp1, lambda c: c["leaves"].pop(i)), genesis_bytes)[0] is not None,
          "city log proof: leaf %d dropped refused" % i)
for edit, what in ((lambda c: c["hashes"].pop(), "a hash dropped"),
                   (lambda c: c["hashes"].append(c["hashes"][0]), "a hash added"),
                   (lambda c: c.update(first_index=3), "first_index moved"),
                   (lambda c: c.update(log_size=11), "log_size changed"),
                   (lambda c: c.update(from_height=2), "range widened over the left bracket"),
                   (lambda c: c.update(to_height=7), "range widened over the right bracket"),
                   (lambda c: c.update(to_height=9), "to_height past the block"),
                   (lambda c: c.update(city="zibo"), "another city"),
                   (lambda c: c.update(extra=1), "an unknown field")):
    check(verify_city_proof(cp_edit(cp1, edit), genesis_bytes)[0] is not None, "city log proof: %s refused" % what)

print("check_vectors: %d checks passed against docs/PROTOCOL.md" % checks)
