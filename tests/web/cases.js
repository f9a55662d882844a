/* cases.js - runs the document bin/qchain_receiptcases writes through web/verify.js and compares
 * every verdict with the C verifier's; no Node or browser API beyond what verify.js itself
 * needs, so tests/web/run_cases.mjs (Node) and a page in headless Chromium run the same loop.
 * Format of the document: the top of tests/lib/qchain_receiptcases_main.c; docs/WEB_VERIFY.md. */

/* Runs every case of doc (parsed with verify.parseJson, never JSON.parse: the cases hold
 * integers beyond 2^53 and reals such as 2.0 that must reach the verifier as C read them).
 * verify: the verify.js module. opts.engine: 'webcrypto' or 'javascript' to force the Ed25519
 * engine for the receipt cases (the Ed25519 cases always run under both); opts.report(line):
 * called with each mismatch (default: none). Resolves {total, mismatches, reasonsDiffer:
 * [{name, got, want}], engine, receipts, ed25519, genesis}: reasonsDiffer lists failures whose
 * sentence differs from C's (a note, not a mismatch: JSON text errors are worded differently). */
export async function runCases(verify, doc, opts = {}) {
    const out = {total: 0, mismatches: 0, reasonsDiffer: [], engine: null,
                 receipts: doc.cases.length, ed25519: doc.ed25519.length,
                 genesis: doc.genesis_cases.length};
    const report = opts.report ?? (() => {});
    const mismatch = (line) => { out.mismatches++; report(line); };
    for (const name of ['webcrypto', 'javascript']) {
        verify.setEd25519Engine(name);
        for (const e of doc.ed25519) {
            out.total++;
            const got = await verify.ed25519Verify(verify.unhex(e.pk), verify.unhex(e.msg),
                                                   verify.unhex(e.sig));
            if (got !== e.expect)
                mismatch(`ed25519 (${name}) ${e.name}: verify.js says ${got}, libsodium ${e.expect}`);
        }
    }
    verify.setEd25519Engine(opts.engine ?? null);
    out.engine = await verify.ed25519Engine();
    for (const g of doc.genesis_cases) {
        out.total++;
        await runGenesisCase(verify, g, mismatch);
    }
    const utf8 = new TextEncoder();
    const mainGenesis = utf8.encode(doc.genesis);
    for (const c of doc.cases) {
        out.total++;
        const genesis = c.genesis === undefined ? mainGenesis : utf8.encode(c.genesis);
        /* receipt_text: the receipt file's text, for what only the text shows (duplicate keys) */
        const res = await verify.verifyReceipt(c.receipt ?? c.receipt_text, genesis,
                                               c.digest === undefined ? {} : {digest: c.digest});
        judgeReceipt(c, res, mismatch, out.reasonsDiffer);
    }
    return out;
}

/* One genesis case: valid or not as genesis_parse said, and the same hash. */
async function runGenesisCase(verify, g, mismatch) {
    let info = null, why = '';
    try {
        info = await verify.genesisInfo(verify.unhex(g.genesis_hex));
    } catch (e) {
        why = e.message;
    }
    if ((info !== null) !== g.expect_valid) {
        mismatch(`genesis ${g.name}: verify.js says ${info ? 'valid' : `invalid (${why})`}; ` +
                 `C says ${g.expect_valid ? 'valid' : `invalid (${g.reason})`}`);
    } else if (info && info.hash !== g.hash) {
        mismatch(`genesis ${g.name}: hash ${info.hash}, C says ${g.hash}`);
    }
}

/* One receipt case: ok and class as C said; for a valid receipt its result's fields. */
function judgeReceipt(c, res, mismatch, reasonsDiffer) {
    if (res.ok !== c.expect_ok) {
        mismatch(`${c.name}: verify.js says ${res.ok ? 'valid' : `${res.code}: ${res.reason}`}; ` +
                 `C says ${c.expect_ok ? 'valid' : `${c.expect_class}: ${c.reason}`}`);
    } else if (!res.ok && res.code !== c.expect_class) {
        mismatch(`${c.name}: verify.js says ${res.code} (${res.reason}); C says ${c.expect_class} (${c.reason})`);
    } else if (!res.ok && res.reason !== c.reason) {
        reasonsDiffer.push({name: c.name, got: res.reason, want: c.reason});
    } else if (res.ok) {
        const e = c.expect;
        const got = {city: res.city, height: res.height, time_ms: res.time_ms, epoch: res.epoch,
                     signers: res.signers.length, quorum: res.quorum, validators: res.validators};
        for (const k of Object.keys(got)) {
            if (String(got[k]) !== String(e[k])) mismatch(`${c.name}: result ${k} is ${got[k]}, C says ${e[k]}`);
        }
    }
}
