#!/usr/bin/env node
/* run_cases.mjs - runs the cases bin/qchain_receiptcases writes (its JSON document, from a
 * path argument or stdin) through web/verify.js in Node, with the loop of tests/web/cases.js,
 * and checks that every verdict is the C verifier's: each receipt case's ok / not ok and
 * failure class, and for a valid receipt the city, height, time, epoch, signer count, quorum
 * and validator count; each Ed25519 case's verdict (PROTOCOL.md §1.2 and more, under both
 * engines: WebCrypto's and verify.js's own arithmetic); each genesis case's validity and hash.
 * Prints one line per mismatch and a summary; exit 0 only if everything agrees.
 *
 *   build/bin/qchain_receiptcases > /tmp/cases.json && node tests/web/run_cases.mjs /tmp/cases.json
 *
 * Options: --engine javascript (or webcrypto) forces the Ed25519 engine for the receipt cases;
 * --reasons lists the failures whose sentence differs from C's (a note, not a mismatch). Needs
 * Node 20 or later (its WebCrypto has Ed25519). The development and second check; the browser
 * run of the same document is the product's. */
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';

import * as verify from '../../web/verify.js';
import { runCases } from './cases.js';

if (!globalThis.crypto) globalThis.crypto = webcrypto;

const args = process.argv.slice(2);
let engine;
const e = args.indexOf('--engine');
if (e >= 0) engine = args.splice(e, 2)[1];
const showReasons = args.includes('--reasons');
const paths = args.filter((a) => a !== '--reasons');
if (paths.length > 1 || (e >= 0 && engine !== 'webcrypto' && engine !== 'javascript')) {
    console.error('usage: node tests/web/run_cases.mjs [--engine webcrypto|javascript] [--reasons] [CASES.json]');
    process.exit(2);
}

const started = Date.now();
const doc = verify.parseJson(readFileSync(paths[0] ?? 0, 'utf8'));
const r = await runCases(verify, doc, {engine, report: (line) => console.log(`MISMATCH ${line}`)});
if (showReasons) {
    for (const d of r.reasonsDiffer) console.log(`reason ${d.name}: verify.js "${d.got}"; C "${d.want}"`);
}
console.log(`${r.total - r.mismatches} of ${r.total} cases agree with C (${r.receipts} receipts ` +
            `with the ${r.engine} Ed25519 engine, ${r.ed25519} Ed25519 cases under both engines, ` +
            `${r.genesis} genesis files); ${r.mismatches} mismatches; ${r.reasonsDiffer.length} ` +
            `failure sentences differ from C's${showReasons ? '' : ' (--reasons lists them)'}; ` +
            `${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(r.mismatches === 0 ? 0 : 1);
