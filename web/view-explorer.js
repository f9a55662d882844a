/* view-explorer.js: the Explorer view (#/explorer): looks up a block by height or hash, a record
 * by digest or a transaction by id on the node, and shows it in #explore-result (data-kind
 * block | record | tx | none), with deep links #/explorer/block/H, /record/D and /tx/ID. */

import { t, tOr, codeLabel } from './i18n.js';
import { el, replace, dl, hexCode, routeLink, fmtTime, fmtNum, listSep, HEX64 } from './dom.js';
import { getJSON, getBlock, memberNames, epochMembers, forgetMembers } from './api.js';
import { decodeTxBody } from './txbody.js';

/* The view's elements, looked up once by init(). */
const $ = {};

/* At most this many ANCHOR transactions of a block get their records listed (one receipt
 * fetched for each); the others show their record count. */
const RECORD_TXS_MAX = 32;

/* The route last shown ('block/12', ...), so a repeated show() of it does not fetch again. */
let lastKey = null;

/* Incremented by every lookup; a slower, older answer is dropped. */
let run = 0;

/*
 * What #explore-result shows, kept to re-render it in another language:
 * {kind: 'block', data, names, history (epoch -> names), head (the node's height), records} | {kind: 'record', data, names, times, decoded}
 * | {kind: 'tx', data, names} | {kind: 'none', msg: [key, ...args]} | {kind: 'busy'} | null.
 */
let shown = null;

/* ---------------------------------------------------------------- view interface */

/* Looks up the view's elements and wires the search form. Called once. */
export function init() {
    for (const id of ['explore-form', 'explore-query', 'explore-go', 'explore-result']) $[id] = document.getElementById(id);
    $['explore-form'].addEventListener('submit', (e) => {
        e.preventDefault();
        search($['explore-query'].value);
    });
    render();
}

/*
 * Shows the view for the route's remaining parts args: [] (the search form), ['block', H or
 * HASH], ['record', DIGEST] or ['tx', ID]. Fetches only when the route changed since the last
 * call.
 */
export function show(args) {
    const key = args.join('/');
    if (key === lastKey) return;
    lastKey = key;
    const [kind, id] = args;
    if (!kind) return;
    if (id) $['explore-query'].value = id;
    if (kind === 'block' && /^\d+$/.test(id || '')) lookup(() => loadBlock(`/v1/blocks/${id}`, id));
    else if (kind === 'block' && HEX64.test(id || '')) lookup(() => loadBlock(`/v1/blocks/by-hash/${id}`, id));
    else if (kind === 'record' && HEX64.test(id || '')) lookup(() => loadRecord(id));
    else if (kind === 'tx' && HEX64.test(id || '')) lookup(() => loadTx(id));
    else setShown({ kind: 'none', msg: ['explore.invalid'] });
}

/* Hides the view (nothing runs in the background). */
export function hide() {}

/* Re-renders #explore-result from `shown` (after a language change). */
export function render() {
    renderResult();
}

/* ---------------------------------------------------------------- lookups */

/*
 * Searches for the query q: digits are a block height (route #/explorer/block/H); 64 hex is
 * tried as a block hash, then a record digest, then a transaction id, and the route is set to
 * what was found (without fetching again). Anything else says what the box accepts.
 */
async function search(q) {
    const s = String(q || '').trim();
    if (/^\d+$/.test(s) && Number(s) > 0) {
        const route = `#/explorer/block/${Number(s)}`;
        if (location.hash === route) { lastKey = null; show(['block', String(Number(s))]); } else location.hash = route;
        return;
    }
    if (!HEX64.test(s)) { setShown({ kind: 'none', msg: ['explore.invalid'] }); return; }
    const id = s.toLowerCase();
    const my = ++run;
    setShown({ kind: 'busy' });
    try {
        for (const [kind, load] of [['block', () => loadBlock(`/v1/blocks/by-hash/${id}`, id)], ['record', () => loadRecord(id)],
            ['tx', () => loadTx(id)]]) {
            const r = await load();
            if (my !== run) return;
            if (r.kind === 'none' && r.notFound) continue;
            if (r.kind !== 'none') {
                lastKey = `${kind}/${id}`;
                history.pushState(null, '', `#/explorer/${lastKey}`);
            }
            setShown(r);
            return;
        }
        setShown({ kind: 'none', msg: ['explore.not-found', id] });
    } catch (e) {
        if (my === run) setShown(failure(e));
    }
}

/* Runs the lookup load() (resolving to a `shown` value) as a new run and shows its result. */
async function lookup(load) {
    const my = ++run;
    setShown({ kind: 'busy' });
    let r;
    try { r = await load(); } catch (e) { r = failure(e); }
    if (my === run) setShown(r.kind === 'none' && r.notFound ? { kind: 'none', msg: r.msg } : r);
}

/* Returns the `shown` value for an ApiError e: unreachable, a 404 (notFound set) or another. */
function failure(e) {
    if (e && e.unreachable) return { kind: 'none', msg: ['common.unreachable'] };
    if (e && e.status === 404) return { kind: 'none', msg: ['explore.not-found', ''], notFound: true };
    return { kind: 'none', msg: ['common.node-error', e && e.status, e && e.message] };
}

/*
 * Fetches a block from path (a height or by-hash route; `what` names it for a 404) with the
 * names and epoch members it needs, and the node's height (GET /v1/status: a height above it is
 * answered without asking for the block, and the view links the next block only below it).
 * Resolves to a `shown` value; never rejects for a 404.
 */
async function loadBlock(path, what) {
    let head = null;
    try { head = (await getJSON('/v1/status')).data.height; } catch (e) { if (e.unreachable) throw e; }
    const m = /^\/v1\/blocks\/(\d+)$/.exec(path);
    const notFound = { kind: 'none', notFound: true, msg: m ? ['explore.no-block', what] : ['explore.not-found', what] };
    if (m && head !== null && Number(m[1]) > head) return notFound;
    let data;
    try {
        data = m ? await getBlock(Number(m[1])) : (await getJSON(path)).data;
    } catch (e) {
        if (e.status === 404) return notFound;
        throw e;
    }
    let epochs = await epochMembers();
    if (!epochs[data.header.epoch]) { forgetMembers(); epochs = await epochMembers(); }
    return { kind: 'block', data, names: await memberNames(), history: epochs, head };
}

/* Fetches the record with digest d (GET /v1/records/{d}), the times of its anchoring blocks
 * and its first anchoring's record type and reference (decoded from the receipt's body). */
async function loadRecord(d) {
    let data;
    try {
        ({ data } = await getJSON(`/v1/records/${d}`));
    } catch (e) {
        if (e.status === 404) return { kind: 'none', notFound: true, msg: ['explore.not-found', d] };
        throw e;
    }
    const times = new Map();
    await Promise.allSettled((data.anchorings || []).slice(0, 16).map(async (a) => {
        const b = await getBlock(a.height);
        times.set(a.height, b.header.time_ms);
    }));
    let decoded = null;
    try {
        const body = decodeTxBody(data.receipt.tx.body);
        decoded = body.records[data.receipt.record.tx_record_index] || null;
    } catch (_) { /* shown without type and reference */ }
    return { kind: 'record', data, times, decoded, names: await memberNames() };
}

/* Fetches the transaction with id (GET /v1/transactions/{id}: 200 committed, 202 pending). */
async function loadTx(id) {
    let data;
    try {
        ({ data } = await getJSON(`/v1/transactions/${id}`));
    } catch (e) {
        if (e.status === 404) return { kind: 'none', notFound: true, msg: ['explore.not-found', id] };
        throw e;
    }
    return { kind: 'tx', data, names: await memberNames() };
}

/* ---------------------------------------------------------------- rendering */

/* Sets `shown` to s and renders it; for a block, then fetches its records and renders again
 * with them (if the block is still what is shown). */
function setShown(s) {
    shown = s;
    renderResult();
    if (s && s.kind === 'block' && !s.records) {
        blockRecords(s.data).then((records) => {
            s.records = records;
            if (shown === s && records.size) renderResult();
        });
    }
}

/*
 * Resolves to the records of the ANCHOR transactions of block b (at most RECORD_TXS_MAX of
 * them): a Map from tx_id to [{digest, record_type, reference}]. The block view gives only
 * counts, so: the city logs of the block's height (GET /v1/cities/{city}/log) name a digest of
 * each transaction, and that digest's receipt for the transaction (GET
 * /v1/records/{digest}/receipt?tx=) carries the transaction's body, which lists all its records.
 * Whatever cannot be had is left out. Never rejects.
 */
async function blockRecords(b) {
    const h = b.header.height;
    const anchors = (b.txs || []).filter((x) => x.type === 'anchor' && x.records > 0).slice(0, RECORD_TXS_MAX);
    const cities = [...new Set(anchors.map((x) => x.city))].filter((c) => /^[a-z0-9-]{1,32}$/.test(c));
    const digestOf = new Map();
    await Promise.allSettled(cities.map(async (c) => {
        const { data } = await getJSON(`/v1/cities/${c}/log?from=${h}&to=${h}`);
        for (const l of data.leaves || []) {
            if (l.height === h && l.kind === 'anchor' && !digestOf.has(l.tx_id)) digestOf.set(l.tx_id, l.digest);
        }
    }));
    const out = new Map();
    await Promise.allSettled(anchors.map(async (x) => {
        const d = digestOf.get(x.tx_id);
        if (!d) return;
        const { data } = await getJSON(`/v1/records/${d}/receipt?tx=${x.tx_id}`);
        out.set(x.tx_id, decodeTxBody(data.tx.body).records);
    }));
    return out;
}

/* Renders #explore-result from `shown`, setting data-kind (block | record | tx | none). */
function renderResult() {
    const box = $['explore-result'];
    if (!box) return;
    for (const a of ['data-height', 'data-digest', 'data-tx']) box.removeAttribute(a);
    box.removeAttribute('aria-busy');
    const s = shown;
    if (!s) { box.dataset.kind = 'none'; replace(box); return; }
    if (s.kind === 'busy') {
        box.dataset.kind = 'none';
        box.setAttribute('aria-busy', 'true');
        replace(box, el('p', { class: 'working' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), t('explore.searching')));
        return;
    }
    box.dataset.kind = s.kind;
    if (s.kind === 'none') replace(box, el('p', { class: 'note' }, t(...s.msg)));
    else if (s.kind === 'block') renderBlock(box, s);
    else if (s.kind === 'record') renderRecord(box, s);
    else if (s.kind === 'tx') renderTx(box, s);
}

/* Returns the display name of member name, from the node's member list. */
function label(s, name) {
    return (s.names && s.names.get(name)) || name;
}

/* Returns a link to the record with digest d (shortened). */
function recordLink(d) {
    return routeLink(`#/explorer/record/${d}`, hexCode(d, 16));
}

/* The fields of a block's or a transaction's entry that are not its lifecycle or SHARE
 * details (those are listed generically by txDetails). */
const TX_BASE = new Set(['tx_id', 'type', 'city', 'records', 'status', 'height', 'tx_index', 'block_hash']);

/* Returns the display of one lifecycle or SHARE field value: record digests link to the
 * record, other 64-hex values are shortened, null is left out (returns null). */
function fieldValue(k, v) {
    if (v === null || v === undefined) return null;
    if ((k === 'digest' || k === 'new_digest') && typeof v === 'string' && HEX64.test(v)) return recordLink(v);
    if (typeof v === 'string' && HEX64.test(v)) return hexCode(v, 16);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
}

/* Returns the details of a transaction entry x (from a block or GET /v1/transactions): for an
 * ANCHOR its records (records: [{digest, record_type, reference}] when known) or else their
 * count, for the other types their fields, a code and its name shown together (purpose 1
 * "e-seal recognition"). */
function txDetails(x, records) {
    const parts = [];
    const list = Array.isArray(x.records) ? x.records : records;
    if (list) {
        parts.push(el('ul', { class: 'plain records' }, list.map((r) => el('li', { 'data-digest': r.digest },
            recordLink(r.digest), ' ', el('span', { class: 'badge' }, r.record_type || r.type || ''),
            r.reference ? ` ${r.reference}` : ''))));
    } else if (x.type === 'anchor' && typeof x.records === 'number') {
        parts.push(el('span', null, t('explore.records-n', x.records)));
    }
    const fields = [];
    for (const [k, v] of Object.entries(x)) {
        if (TX_BASE.has(k) || k.endsWith('_name')) continue;
        let val = fieldValue(k, v);
        if (val === null) continue;
        const name = x[`${k}_name`];
        if (name) val = `${v} (${codeLabel(name, v)})`;
        fields.push(el('li', null, `${tOr(`tx.f.${k}`, k)}: `, val));
    }
    if (fields.length) parts.push(el('ul', { class: 'plain fields-inline' }, fields));
    return parts;
}

/* Renders a block `s.data` (GET /v1/blocks/...) into box: header, transactions, certificate. */
function renderBlock(box, s) {
    const b = s.data, h = b.header;
    box.dataset.height = String(h.height);
    const members = s.history[h.epoch] || [];
    const proposer = members[h.proposer];
    const zero = /^0+$/.test(h.next_validators_hash || '0');
    const nav = el('p', { class: 'pager' },
        h.height > 1 ? routeLink(`#/explorer/block/${h.height - 1}`, '← ', t('explore.prev')) : null,
        ' ', s.head === null || h.height < s.head ? routeLink(`#/explorer/block/${h.height + 1}`, t('explore.next'), ' →') : null);
    const head = dl([
        [t('explore.h.hash'), hexCode(h.hash)],
        [t('explore.h.time'), `${fmtTime(h.time_ms)} (${h.time_ms})`],
        [t('explore.h.prev'), h.height > 1 ? routeLink(`#/explorer/block/${h.height - 1}`, hexCode(h.prev_hash)) : hexCode(h.prev_hash)],
        [t('explore.h.proposer'), proposer ? `${label(s, proposer)} (#${h.proposer})` : `#${h.proposer}`],
        [t('explore.h.view'), String(h.view)],
        [t('explore.h.epoch'), String(h.epoch)],
        [t('explore.h.txs'), fmtNum(h.tx_count)],
        [t('explore.h.log-size'), fmtNum(h.log_size)],
        [t('explore.h.log-root'), hexCode(h.log_root)],
        [t('explore.h.state-root'), h.state_root ? hexCode(h.state_root) : null],
        [t('explore.h.tx-root'), hexCode(h.tx_root)],
        [t('explore.h.validators'), hexCode(h.validators_hash)],
        [t('explore.h.next-validators'), zero ? null : el('span', null, hexCode(h.next_validators_hash), ' ', t('explore.h.epoch-switch'))],
        [t('explore.h.genesis'), hexCode(h.genesis_hash)],
        [t('explore.h.chain'), h.chain_id],
    ]);
    const txs = b.txs || [];
    const txTable = txs.length ? el('table', { class: 'table stack', id: 'explore-txs' },
        el('thead', null, el('tr', null,
            el('th', { scope: 'col' }, '#'),
            el('th', { scope: 'col' }, t('explore.col-tx')),
            el('th', { scope: 'col' }, t('explore.col-type')),
            el('th', { scope: 'col' }, t('explore.col-city')),
            el('th', { scope: 'col' }, t('explore.col-detail')))),
        el('tbody', null, txs.map((x, i) => el('tr', { 'data-tx': x.tx_id, 'data-type': x.type },
            el('td', { 'data-label': '#', class: 'num' }, String(i)),
            el('td', { 'data-label': t('explore.col-tx') }, routeLink(`#/explorer/tx/${x.tx_id}`, hexCode(x.tx_id, 16))),
            el('td', { 'data-label': t('explore.col-type') }, tOr(`tx.${x.type}`, x.type)),
            el('td', { 'data-label': t('explore.col-city') }, label(s, x.city)),
            el('td', { 'data-label': t('explore.col-detail') }, txDetails(x, s.records && s.records.get(x.tx_id)))))))
        : el('p', { class: 'note' }, t('explore.no-txs'));
    /* Once the records are fetched: some anchor transactions were left without them. */
    const anyAnchor = !!s.records && txs.some((x) => x.type === 'anchor' && !Array.isArray(x.records) && !s.records.has(x.tx_id));
    const cert = b.cert || {};
    const certMembers = s.history[cert.epoch] || members;
    const signers = (cert.votes || []).map((v) => certMembers[v.validator] || `#${v.validator}`);
    replace(box,
        el('h3', null, t('explore.block-title', h.height)),
        nav,
        head,
        el('h4', null, t('explore.txs')),
        txTable,
        anyAnchor ? el('p', { class: 'note' }, t('explore.records-note')) : null,
        el('h4', null, t('explore.cert')),
        el('p', { class: 'signers', 'data-signers': signers.length },
            t('explore.cert-signers', signers.length, certMembers.length || '?', signers.map((n) => label(s, n)).join(listSep())),
            ' · ', t('explore.cert-view', cert.view)));
}

/* Renders a record `s.data` (GET /v1/records/{digest}) into box: where and when it was
 * anchored, its type and reference, its status, and a link to verify it. */
function renderRecord(box, s) {
    const r = s.data;
    box.dataset.digest = r.digest;
    const anchorings = (r.anchorings || []).map((a) => el('li', { 'data-height': a.height },
        t('explore.r.anchored', label(s, a.city), '\u0000', fmtTime(s.times.get(a.height))).split('\u0000')
            .flatMap((part, i) => (i ? [routeLink(`#/explorer/block/${a.height}`, String(a.height)), part] : [part])),
        ' · ', routeLink(`#/explorer/tx/${a.tx_id}`, hexCode(a.tx_id, 12)),
        ' · ', t('explore.r.log-index', a.log_index)));
    const rev = r.revoked;
    const sup = r.superseded_by;
    replace(box,
        el('h3', null, t('explore.record-title')),
        el('p', null, el('a', { class: 'button', href: `#/verify/${r.digest}` }, t('explore.r.verify'))),
        dl([
            [t('explore.r.digest'), hexCode(r.digest)],
            [t('explore.r.state'), r.state ? tOr(`state.${r.state}`, r.state) : null],
            [t('explore.r.owner'), r.owner ? label(s, r.owner) : null],
            [t('explore.r.type'), s.decoded ? s.decoded.record_type : null],
            [t('explore.r.reference'), s.decoded && s.decoded.reference ? s.decoded.reference : null],
            [t('explore.r.anchorings'), el('ul', { class: 'plain' }, anchorings, r.more ? el('li', null, t('explore.r.more')) : null)],
            [t('explore.r.revoked'), rev ? el('span', null, routeLink(`#/explorer/block/${rev.height}`, `#${rev.height}`),
                ` · ${codeLabel(rev.reason_name, rev.reason)}`, ' · ', routeLink(`#/explorer/tx/${rev.tx_id}`, hexCode(rev.tx_id, 12))) : null],
            [t('explore.r.superseded-by'), sup ? el('span', null, recordLink(sup.digest), ' · ',
                routeLink(`#/explorer/block/${sup.height}`, `#${sup.height}`)) : null],
            [t('explore.r.supersedes'), r.supersedes && r.supersedes.length
                ? el('ul', { class: 'plain' }, r.supersedes.map((x) => el('li', null, recordLink(typeof x === 'string' ? x : x.digest)))) : null],
            [t('explore.r.endorsements'), r.endorsements && r.endorsements.length
                ? el('ul', { class: 'plain' }, r.endorsements.map((e) => el('li', null,
                    t('verify.status-endorsement', label(s, e.city), codeLabel(e.purpose_name, e.purpose), e.height),
                    e.note ? ` · “${e.note}”` : '')))
                : t('common.none')],
        ]),
        el('p', { class: 'note' }, t('explore.r.node-says')));
}

/* Renders a transaction `s.data` (GET /v1/transactions/{id}) into box. */
function renderTx(box, s) {
    const x = s.data;
    box.dataset.tx = x.tx_id;
    const committed = x.status === 'committed';
    replace(box,
        el('h3', null, t('explore.tx-title')),
        dl([
            [t('explore.t.id'), hexCode(x.tx_id)],
            [t('explore.t.status'), el('span', { class: `badge ${committed ? 'ok' : 'warn'}`, 'data-status': x.status },
                committed ? t('explore.t.committed') : t('explore.t.pending'))],
            [t('explore.t.type'), x.type ? tOr(`tx.${x.type}`, x.type) : null],
            [t('explore.col-city'), x.city ? label(s, x.city) : null],
            [t('explore.t.block'), committed ? routeLink(`#/explorer/block/${x.height}`, `#${x.height}`) : null],
            [t('explore.t.index'), committed ? String(x.tx_index) : null],
            [t('explore.t.block-hash'), x.block_hash ? routeLink(`#/explorer/block/${x.block_hash}`, hexCode(x.block_hash)) : null],
            [t('explore.col-detail'), txDetails(x).length ? txDetails(x) : null],
        ]));
}
