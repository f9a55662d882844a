#!/usr/bin/env python3
"""check_vectors.py - an independent implementation check of docs/PROTOCOL.md's test vectors.

Parses the vectors out of the document, re-parses the transaction body and block header from
the layouts in the text, recomputes every hash with hashlib, and verifies every Ed25519
signature with the OpenSSL command-line tool. Uses no qchain code. Exit 0 when all hold."""
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

def ed25519_verify(pub, msg, sig):
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
check(r.u(1) == 1 and r.str8() == chain_id, "header version/chain")
height = r.u(8); prev = r.take(32); time_ms = r.u(8); proposer = r.u(4); view = r.u(8)
epoch = r.u(8); vhash = r.take(32); tx_count = r.u(4); tx_root = r.take(32)
log_size = r.u(8); log_root = r.take(32)
r.done()
check(height == 1 and prev == bytes(32) and view == 1 and epoch == 0, "header fields")
check(vhash == vec["Validator set hash (epoch 0, 4 members, threshold 3)"], "validators hash")
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
print("check_vectors: %d checks passed against docs/PROTOCOL.md" % checks)
