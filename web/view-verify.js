/* view-verify.js: the Verify view (#/verify): hashes a document in the browser, fetches its
 * receipt from the node (or takes a receipt file), and verifies it in the browser against the
 * node's genesis file or one the person holds, showing the outcome in #verify-result. */

import { t, tOr, codeLabel } from './i18n.js';
import { el, replace, dl, hexCode, routeLink, fmtTime, listSep, HEX64 } from './dom.js';
import { getJSON, getText, getBytes, memberNames } from './api.js';

/* ---------------------------------------------------------------- state */

/* The verifier module, loaded on first use (see verifier()). */
let verifierPromise = null;

/* The node's genesis file once fetched and parsed: {bytes, info}; null until then. A node's
 * genesis never changes, so it is fetched once. */
let nodeGenesis = null;
/* The fetch of the node's genesis in flight or done (a promise of nodeGenesis), or null. */
let nodeGenesisPromise = null;
/* Why the node's genesis could not be had ('' when it could or was not tried). */
let nodeGenesisError = '';

/* The genesis file the person loaded: {bytes, info, name}; null to use the node's. */
let fileGenesis = null;
/* The last error loading a genesis file (shown in the genesis panel), or ''. */
let fileGenesisError = '';
/* While a genesis file is being read and parsed: the promise of that; a check waits for it, so
 * that a check begun meanwhile uses the file, not the genesis it replaces. */
let fileGenesisLoading = null;

/* The receipt file the person loaded: {obj, text, name, parseError} (obj is the parsed JSON,
 * text the file's text; obj is undefined and parseError set when the file is not JSON); null
 * when none is held. While one is held, a
 * document or digest given is checked against it instead of the node's receipt. */
let receiptFile = null;

/* The last thing to check: {kind: 'file'|'digest'|'receipt', digest (hex or undefined), name}. */
let lastInput = null;

/* The outcome shown in #verify-result, kept to re-render it in another language:
 * {state: 'working', msg: [key, ...args]} | {state: 'verified', res, input, genesis, status}
 * | {state: 'failed', code, reason, input, genesis} | {state: 'not-anchored', input} | null. */
let outcome = null;

/* Incremented by every new check; an async step whose number is no longer current drops its
 * result, so a slow answer never overwrites a newer one. */
let run = 0;

/* The view's elements, looked up once by init(). */
let $ = {};

/* The args of the last route shown (so a repeated show() with the same deep link is a no-op). */
let lastRouteArg = null;

/* ---------------------------------------------------------------- the verifier module */

/* Returns (a promise of) the module './verify.js'. Loaded lazily so that the other views work
 * even when it is missing; a failed load is retried on the next call. */
function verifier() {
    if (!verifierPromise) {
        verifierPromise = import('./verify.js').catch((e) => { verifierPromise = null; throw e; });
    }
    return verifierPromise;
}

/* ---------------------------------------------------------------- view interface */

/* Looks up the view's elements and wires its inputs and drop zones. Called once. */
export function init() {
    for (const id of ['verify-file', 'verify-digest', 'verify-digest-go', 'verify-digest-form', 'verify-digest-error',
        'verify-receipt', 'verify-receipt-held', 'verify-genesis', 'verify-genesis-info', 'verify-result',
        'verify-doc-digest']) {
        $[id] = document.getElementById(id);
    }
    $['verify-file'].addEventListener('change', (e) => takeFile(e.target, onDocumentFile));
    $['verify-receipt'].addEventListener('change', (e) => takeFile(e.target, onReceiptFile));
    $['verify-genesis'].addEventListener('change', (e) => takeFile(e.target, onGenesisFile));
    $['verify-digest-form'].addEventListener('submit', (e) => {
        e.preventDefault();
        onDigest($['verify-digest'].value);
    });
    dropZone(document.getElementById('verify-file-zone'), onDocumentFile);
    dropZone(document.getElementById('verify-receipt-zone'), onReceiptFile);
    dropZone(document.getElementById('verify-genesis-zone'), onGenesisFile);
    render();
}

/* Shows the view. args: the route's remaining parts; ['<64 hex>'] (#/verify/<digest>, the
 * explorer's "verify" link) checks that digest as if pasted. */
export function show(args) {
    const arg = args[0] || null;
    if (arg !== lastRouteArg) {
        lastRouteArg = arg;
        if (arg && HEX64.test(arg)) {
            $['verify-digest'].value = arg.toLowerCase();
            onDigest(arg);
        }
    }
    if (!nodeGenesis && !fileGenesis) loadNodeGenesis().then(render, render);
}

/* Hides the view (nothing runs in the background). */
export function hide() {}

/* Re-renders everything the view shows from its state (after a language change). */
export function render() {
    renderDocDigest();
    renderReceiptHeld();
    renderGenesisPanel();
    renderResult();
}

/* ---------------------------------------------------------------- inputs */

/* Calls handler with the first file of the <input type=file> input, then clears the input so
 * that picking the same file again fires 'change' again. */
function takeFile(input, handler) {
    const f = input.files && input.files[0];
    input.value = '';
    if (f) handler(f);
}

/* Makes zone accept a dropped file: handler(file) gets the first one. The zone carries class
 * 'drag' while a drag is over it. */
function dropZone(zone, handler) {
    if (!zone) return;
    const on = (e) => { e.preventDefault(); e.stopPropagation(); zone.classList.add('drag'); };
    const off = () => zone.classList.remove('drag');
    zone.addEventListener('dragenter', on);
    zone.addEventListener('dragover', on);
    zone.addEventListener('dragleave', off);
    zone.addEventListener('drop', (e) => {
        e.preventDefault();
        e.stopPropagation();
        off();
        const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
        if (f) handler(f);
    });
}

/* A document was picked or dropped: hashes it here (its bytes go nowhere), then checks the
 * digest against the held receipt file or the node's receipt. */
async function onDocumentFile(file) {
    const my = ++run;
    lastInput = null;
    setWorking(my, ['verify.hashing', file.name]);
    let v;
    try { v = await verifier(); } catch (e) { return noVerifier(my, e); }
    let bytes, digest;
    try {
        bytes = new Uint8Array(await file.arrayBuffer());
    } catch (e) {
        return finish(my, { state: 'failed', code: 'file', reason: errText(e), input: null });
    }
    try {
        digest = v.hex(await v.sha256(bytes));
    } catch (e) {
        /* No WebCrypto: the page is not in a secure context (plain http to another host). */
        return finish(my, { state: 'failed', code: 'unsupported', reason: errText(e), input: null });
    }
    bytes = null;
    if (my !== run) return;
    lastInput = { kind: 'file', digest, name: file.name };
    renderDocDigest();
    await check(my);
}

/* A digest was pasted: checks it after validating its form (64 hex). */
function onDigest(value) {
    const d = String(value || '').trim();
    const err = $['verify-digest-error'];
    if (!HEX64.test(d)) {
        err.textContent = t('verify.digest-invalid');
        err.hidden = false;
        $['verify-digest'].setAttribute('aria-invalid', 'true');
        return;
    }
    err.hidden = true;
    $['verify-digest'].removeAttribute('aria-invalid');
    const my = ++run;
    lastInput = { kind: 'digest', digest: d.toLowerCase(), name: '' };
    renderDocDigest();
    check(my);
}

/* A receipt file was picked or dropped: holds it (until removed) and checks it alone. */
async function onReceiptFile(file) {
    const my = ++run;
    let obj, text = '', parseError = '';
    try {
        text = await file.text();
        obj = JSON.parse(text);
    } catch (e) {
        parseError = errText(e);
    }
    if (my !== run) return;
    receiptFile = { obj, text, name: file.name, parseError };
    lastInput = { kind: 'receipt', digest: undefined, name: file.name };
    renderReceiptHeld();
    renderDocDigest();
    await check(my);
}

/* Forgets the held receipt file; the next check asks the node again. */
function clearReceipt() {
    receiptFile = null;
    renderReceiptHeld();
    if (lastInput && lastInput.kind === 'receipt') {
        lastInput = null;
        run++;
        outcome = null;
        renderResult();
    } else if (lastInput) {
        check(++run);
    }
}

/* A genesis file was picked or dropped: parses it with genesisInfo (refusing an invalid one,
 * which leaves the genesis in use unchanged) and re-checks the last input against it. */
async function onGenesisFile(file) {
    const loading = (async () => {
        let v;
        try { v = await verifier(); } catch (e) { fileGenesisError = t('verify.no-verifier', errText(e)); return; }
        try {
            const bytes = new Uint8Array(await file.arrayBuffer());
            const info = await v.genesisInfo(bytes);
            fileGenesis = { bytes, info, name: file.name };
            fileGenesisError = '';
        } catch (e) {
            fileGenesisError = t('verify.genesis-bad', errText(e));
        }
    })();
    fileGenesisLoading = loading;
    await loading;
    if (fileGenesisLoading === loading) fileGenesisLoading = null;
    renderGenesisPanel();
    if (!fileGenesisError && lastInput) check(++run);
}

/* Goes back to the node's genesis file and re-checks the last input. */
function useNodeGenesis() {
    fileGenesis = null;
    fileGenesisError = '';
    renderGenesisPanel();
    if (!nodeGenesis) loadNodeGenesis().then(renderGenesisPanel, renderGenesisPanel);
    if (lastInput) check(++run);
}

/* ---------------------------------------------------------------- checking */

/*
 * Fetches and parses the node's genesis (GET /v1/genesis: the file's exact bytes) once; a
 * failed fetch is tried again by the next call. Resolves to {bytes, info}; rejects with {code,
 * reason} ('unreachable', 'node' or 'genesis') and records the reason for the genesis panel.
 */
function loadNodeGenesis() {
    if (!nodeGenesisPromise) {
        nodeGenesisPromise = fetchNodeGenesis();
        nodeGenesisPromise.catch(() => { nodeGenesisPromise = null; });
    }
    return nodeGenesisPromise;
}

/* Does the work of loadNodeGenesis (one fetch; loadNodeGenesis shares it among callers). */
async function fetchNodeGenesis() {
    if (nodeGenesis) return nodeGenesis;
    let bytes;
    try {
        bytes = await getBytes('/v1/genesis');
    } catch (e) {
        nodeGenesisError = t('verify.genesis-unavailable');
        throw { code: e.unreachable ? 'unreachable' : 'node', reason: `GET /v1/genesis: ${e.message}` };
    }
    const v = await verifier();
    try {
        nodeGenesis = { bytes, info: await v.genesisInfo(bytes) };
        nodeGenesisError = '';
        return nodeGenesis;
    } catch (e) {
        nodeGenesisError = t('verify.genesis-bad', errText(e));
        throw { code: 'genesis', reason: errText(e) };
    }
}

/* Resolves to the genesis in use: {bytes, info, source: 'node'|'file', name}. Rejects as
 * loadNodeGenesis does. */
async function currentGenesis() {
    while (fileGenesisLoading) await fileGenesisLoading;
    if (fileGenesis) return { ...fileGenesis, source: 'file' };
    const g = await loadNodeGenesis();
    renderGenesisPanel();
    return { ...g, source: 'node', name: '' };
}

/*
 * Checks lastInput as run number my: takes the receipt (the held file, or GET
 * /v1/records/{digest}/receipt, after the status proof has said whether the digest is anchored
 * at all), the genesis in use, and calls
 * verifyReceipt with the digest held (if any); then shows the outcome and, when verified, asks
 * the node for the record's current status. Every step drops its result if a newer check began.
 */
async function check(my) {
    const input = lastInput;
    if (!input) return;
    let v;
    try { v = await verifier(); } catch (e) { return noVerifier(my, e); }

    let receipt;
    if (receiptFile) {
        if (receiptFile.parseError) {
            return finish(my, { state: 'failed', code: 'format', reason: `the receipt file is not JSON: ${receiptFile.parseError}`, input });
        }
        /* A verifier that parses JSON itself (parseJson: duplicate keys refused, 2 told from
         * 2.0, as qchain does) gets the file's exact text; otherwise the parsed object. */
        receipt = typeof v.parseJson === 'function' ? receiptFile.text : receiptFile.obj;
    } else {
        setWorking(my, ['verify.fetching']);
        /* The status proof answers 200 for a digest never anchored ("status": null), where the
         * receipt route answers 404, which a browser logs as an error in its console; so ask
         * it first. Before the first block (404) or on any other failure, the receipt decides. */
        try {
            const { data: sp } = await getJSON(`/v1/records/${input.digest}/status-proof`);
            if (sp && sp.status === null) return finish(my, { state: 'not-anchored', input });
        } catch (e) {
            if (e.unreachable) return finish(my, { state: 'failed', code: 'unreachable', reason: e.message, input });
        }
        if (my !== run) return;
        let text;
        try {
            text = await getText(`/v1/records/${input.digest}/receipt`);
        } catch (e) {
            if (e.status === 404) return finish(my, { state: 'not-anchored', input });
            return finish(my, { state: 'failed', code: e.unreachable ? 'unreachable' : 'node', reason: e.message, input });
        }
        /* As for a receipt file: the exact text to a verifier that parses it, else the object
         * (a body that is not JSON goes to the verifier as its text, to be refused there). */
        if (typeof v.parseJson === 'function') receipt = text;
        else {
            try { receipt = JSON.parse(text); } catch (_) { receipt = text; }
        }
    }
    if (my !== run) return;

    let g;
    try {
        g = await currentGenesis();
    } catch (e) {
        return finish(my, { state: 'failed', code: e.code || 'error', reason: e.reason || errText(e), input });
    }
    const genesis = { hash: g.info && g.info.hash, source: g.source, name: g.name, info: g.info };

    setWorking(my, ['verify.checking']);
    let res;
    try {
        res = await v.verifyReceipt(receipt, g.bytes, input.digest ? { digest: input.digest } : {});
    } catch (e) {
        res = { ok: false, code: 'error', reason: errText(e) };
    }
    if (my !== run) return;
    if (!res || !res.ok) {
        return finish(my, { state: 'failed', code: (res && res.code) || 'error', reason: (res && res.reason) || '', input, genesis });
    }
    if (res.genesis_hash) genesis.hash = res.genesis_hash;
    finish(my, { state: 'verified', res, input, genesis, status: null, names: null });
    loadExtras(my, res);
}

/* After a verified outcome: fetches the node's display names and the record's status (GET
 * /v1/records/{digest}: state, owner, endorsements; the node's word, labelled so) and re-renders.
 * Failures are ignored: this part is optional. */
async function loadExtras(my, res) {
    const names = await memberNames();
    if (my !== run || !outcome || outcome.state !== 'verified') return;
    outcome.names = names;
    renderResult();
    try {
        const { data } = await getJSON(`/v1/records/${res.digest}`);
        if (my !== run || !outcome || outcome.state !== 'verified') return;
        outcome.status = data;
        renderResult();
    } catch (_) { /* optional */ }
}

/* Shows a 'working' outcome with the message [key, ...args], if run my is current. */
function setWorking(my, msg) {
    if (my !== run) return;
    outcome = { state: 'working', msg };
    renderResult();
}

/* Shows outcome o if run my is current, and brings the result into view. */
function finish(my, o) {
    if (my !== run) return;
    outcome = o;
    renderResult();
    const r = $['verify-result'];
    if (r.scrollIntoView) r.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

/* Shows that verify.js could not be loaded (a failed outcome with code 'error'). */
function noVerifier(my, e) {
    finish(my, { state: 'failed', code: 'error', reason: t('verify.no-verifier', errText(e)), input: lastInput });
}

/* Returns an error's message as text. */
function errText(e) {
    return e && e.message ? e.message : String(e);
}

/* ---------------------------------------------------------------- rendering */

/* Renders #verify-doc-digest: the digest of the document hashed here, or the pasted one. */
function renderDocDigest() {
    const box = $['verify-doc-digest'];
    const i = lastInput;
    if (!i || !i.digest) { box.hidden = true; replace(box); return; }
    box.hidden = false;
    replace(box, el('span', { class: 'k' }, i.kind === 'file' ? t('verify.doc-digest', i.name) : t('verify.pasted-digest')),
        ' ', hexCode(i.digest));
}

/* Renders #verify-receipt-held: the held receipt file's name and a button to remove it. */
function renderReceiptHeld() {
    const box = $['verify-receipt-held'];
    if (!receiptFile) { box.hidden = true; replace(box); return; }
    box.hidden = false;
    replace(box, el('span', null, t('verify.receipt-held', receiptFile.name)), ' ',
        el('button', { type: 'button', class: 'small', onclick: clearReceipt }, t('common.clear')));
}

/* Renders #verify-genesis-info: the genesis hash in use and where it came from (data-source
 * 'node' or 'file', data-hash), with the hint to compare it with the published hash. */
function renderGenesisPanel() {
    const box = $['verify-genesis-info'];
    const g = fileGenesis ? { ...fileGenesis, source: 'file' } : nodeGenesis ? { ...nodeGenesis, source: 'node' } : null;
    const parts = [];
    if (g) {
        box.dataset.source = g.source;
        box.dataset.hash = g.info.hash;
        const src = g.source === 'file' ? t('verify.genesis-from-file', g.name) : t('verify.genesis-from-node');
        const [before, after] = t('verify.genesis-current', '\u0000', src).split('\u0000');
        parts.push(el('p', { class: 'genesis-hash' }, before, hexCode(g.info.hash), after));
        const members = (g.info.members || []).length;
        parts.push(el('p', { class: 'note' }, t('verify.genesis-chain', g.info.chain_id, members, g.info.quorum)));
        parts.push(el('p', { class: 'hint' }, t('verify.genesis-hint')));
    } else {
        delete box.dataset.source;
        delete box.dataset.hash;
        parts.push(el('p', { class: 'note' }, nodeGenesisError || t('verify.genesis-loading')));
    }
    if (fileGenesisError) parts.push(el('p', { class: 'field-error', role: 'alert' }, fileGenesisError));
    if (fileGenesis) {
        parts.push(el('button', { type: 'button', class: 'small', id: 'verify-genesis-node', onclick: useNodeGenesis },
            t('verify.genesis-use-node')));
    }
    replace(box, ...parts);
}

/* The failure codes verifyReceipt gives (its reason is then the verifier's own sentence); the
 * page's own codes are 'unreachable', 'node', 'file' and 'error'. */
const VERIFIER_CODES = new Set(['format', 'genesis', 'digest', 'seal', 'certificate', 'membership', 'inclusion', 'header',
    'record', 'unsupported']);

/* Returns the display name of member name, from the genesis in use, else the node's member
 * list, else the name. */
function cityLabel(name, o) {
    const fromGenesis = o.genesis && o.genesis.info && (o.genesis.info.members || []).find((m) => m.name === name);
    if (fromGenesis && fromGenesis.display_name) return fromGenesis.display_name;
    if (o.names && o.names.get(name)) return o.names.get(name);
    return name;
}

/* Returns the line naming the genesis an outcome was verified against, with the hint. */
function genesisLine(g) {
    if (!g || !g.hash) return null;
    const src = g.source === 'file' ? t('verify.genesis-from-file', g.name) : t('verify.genesis-from-node');
    return el('span', null, hexCode(g.hash), ' ', el('span', { class: 'src' }, `(${src})`),
        el('span', { class: 'hint block' }, t('verify.genesis-hint')));
}

/*
 * Renders #verify-result from outcome: sets data-state (working | verified | failed |
 * not-anchored; absent when idle), data-code when failed, data-city, data-height and
 * data-signers when verified, and the human text.
 */
function renderResult() {
    const box = $['verify-result'];
    for (const a of ['data-state', 'data-code', 'data-city', 'data-height', 'data-signers']) box.removeAttribute(a);
    const o = outcome;
    if (!o) {
        replace(box, el('p', { class: 'idle' }, t('verify.idle')));
        return;
    }
    box.dataset.state = o.state;
    if (o.state === 'working') {
        replace(box, el('p', { class: 'working' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), t(...o.msg)));
    } else if (o.state === 'verified') {
        renderVerified(box, o);
    } else if (o.state === 'failed') {
        box.dataset.code = o.code;
        const sentence = tOr(`fail.${o.code}`, t('fail.unknown'));
        replace(box,
            el('p', { class: 'result-title' }, el('span', { class: 'mark', 'aria-hidden': 'true' }, '✘ '), t('verify.fail-title')),
            el('p', { class: 'sentence' }, sentence),
            o.reason ? el('p', { class: 'reason' },
                VERIFIER_CODES.has(o.code) ? t('verify.fail-reason', o.reason) : t('verify.fail-detail', o.reason)) : null,
            dl([
                [t('verify.f.digest'), o.input && o.input.digest ? hexCode(o.input.digest) : null],
                [t('verify.f.genesis'), genesisLine(o.genesis)],
            ]),
            el('p', { class: 'code note' }, t('verify.fail-code', o.code)));
    } else if (o.state === 'not-anchored') {
        replace(box,
            el('p', { class: 'result-title' }, el('span', { class: 'mark', 'aria-hidden': 'true' }, '? '), t('verify.na-title')),
            el('p', { class: 'sentence' }, t('verify.na-text')),
            dl([[t('verify.f.digest'), o.input && o.input.digest ? hexCode(o.input.digest) : null]]));
    }
}

/* Renders a verified outcome o into box (see renderResult). */
function renderVerified(box, o) {
    const r = o.res;
    const signers = Array.isArray(r.signers) ? r.signers : [];
    box.dataset.city = r.city;
    box.dataset.height = String(r.height);
    box.dataset.signers = String(signers.length);
    const city = r.city_display || cityLabel(r.city, o);
    const when = fmtTime(r.time_ms);
    const kind = o.input ? o.input.kind : 'receipt';
    const title = kind === 'file' ? t('verify.ok-title-doc') : kind === 'digest' ? t('verify.ok-title-digest') : t('verify.ok-title-receipt');
    const signerNames = signers.map((n) => cityLabel(n, o)).join(listSep());
    const blockLink = routeLink(`#/explorer/block/${r.height}`, String(r.height));
    replace(box,
        el('p', { class: 'result-title' }, el('span', { class: 'mark', 'aria-hidden': 'true' }, '✔ '), title),
        el('p', { class: 'sentence' }, t('verify.ok-summary', city, when, r.height, signers.length, r.validators)),
        kind === 'file' ? el('p', { class: 'sentence' }, t('verify.ok-doc-matches')) : null,
        dl([
            [t('verify.f.city'), city],
            [t('verify.f.time'), when],
            [t('verify.f.block'), blockLink],
            [t('verify.f.committed'), t('verify.f.committed-v', signers.length, r.validators, signerNames)],
            [t('verify.f.quorum'), r.quorum !== undefined ? String(r.quorum) : null],
            [t('verify.f.type'), r.record_type || null],
            [t('verify.f.reference'), r.reference ? r.reference : null],
            [t('verify.f.digest'), hexCode(r.digest)],
            [t('verify.f.tx'), r.tx_id ? routeLink(`#/explorer/tx/${r.tx_id}`, hexCode(r.tx_id, 16)) : null],
            [t('verify.f.epoch'), r.epoch !== undefined ? String(r.epoch) : null],
            [t('verify.f.genesis'), genesisLine(o.genesis)],
        ]),
        o.status ? renderStatus(o.status, o) : null,
        el('p', null, routeLink(`#/explorer/record/${r.digest}`, t('verify.explore-link'))));
}

/* Returns the node-reported status section for the record JSON s (GET /v1/records/{digest}). */
function renderStatus(s, o) {
    const stateText = s.state ? tOr(`state.${s.state}`, s.state) : null;
    let stateDetail = stateText;
    if (s.revoked) {
        stateDetail = `${stateText}: ${t('verify.status-revoked', s.revoked.height, codeLabel(s.revoked.reason_name, s.revoked.reason))}`;
    } else if (s.superseded_by) {
        stateDetail = el('span', null, `${stateText}: `,
            routeLink(`#/explorer/record/${s.superseded_by.digest}`, t('verify.status-superseded', s.superseded_by.digest.slice(0, 16) + '…', s.superseded_by.height)));
    }
    const ends = (s.endorsements || []).map((e) =>
        el('li', null, t('verify.status-endorsement', cityLabel(e.city, o), codeLabel(e.purpose_name, e.purpose), e.height)));
    const count = (s.anchorings || []).length;
    return el('section', { class: 'status', 'aria-label': t('verify.status-title') },
        el('h3', null, t('verify.status-title')),
        dl([
            [t('verify.status-state'), stateDetail],
            [t('verify.status-owner'), s.owner ? cityLabel(s.owner, o) : null],
            [t('verify.status-endorsements'), ends.length ? el('ul', { class: 'plain' }, ends) : t('common.none')],
        ]),
        count > 1 || s.more ? el('p', { class: 'note' }, t('verify.status-more', s.more ? `${count}+` : count)) : null);
}
