/* view-dashboard.js: the Dashboard view (#/dashboard): every member city's node as this node
 * sees it (GET /v1/peers), this node's consensus state (GET /v1/status), the latest blocks,
 * the latest signed checkpoint and a records-per-second chart, polled every 2 s while shown. */

import { t } from './i18n.js';
import { el, replace, dl, hexCode, routeLink, fmtTime, fmtNum, fmtClock, listSep } from './dom.js';
import { getJSON, getBlock, memberNames, epochMembers, forgetMembers } from './api.js';
import { computeRates, drawChart, fmtRate } from './chart.js';

/* Poll period, chart window, and how many latest blocks to list. */
const POLL_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;
const BLOCKS = 8;

/* The interval timer while polling; null when stopped. */
let timer = null;
/* Whether the view is shown (polling runs only then, and only while the tab is visible). */
let active = false;
/* Whether a poll is in flight (a slow node never gets overlapping polls). */
let busy = false;

/* Samples of the record log's size: [{t (ms), size}], oldest first, for the chart. */
let samples = [];

/*
 * The last data fetched, rendered by render() (also after a language change): status (GET
 * /v1/status), peers (GET /v1/peers, or a list built from /v1/members when the node lacks the
 * route: peersMissing), checkpoint (GET /v1/checkpoint; null before the first block), blocks
 * (the latest, newest first), names (member name -> display name), history (epoch -> names),
 * error (the last poll's ApiError, or null), updated (ms of the last good poll).
 */
const last = {
    status: null, peers: null, peersMissing: false, checkpoint: undefined, blocks: [],
    names: new Map(), history: [], error: null, updated: 0,
};

/* The view's elements, looked up once by init(). */
const $ = {};

/* ---------------------------------------------------------------- view interface */

/* Looks up the view's elements; pauses polling while the browser tab is hidden. Called once. */
export function init() {
    for (const id of ['dash-error', 'dash-node', 'dash-height', 'dash-view', 'dash-primary', 'dash-epoch',
        'dash-peers', 'dash-lag', 'dash-mempool', 'dash-log-size', 'dash-flags', 'dash-cities',
        'dash-cities-note', 'dash-chart', 'dash-chart-caption', 'dash-blocks', 'dash-checkpoint',
        'dash-updated', 'view-dashboard']) {
        $[id] = document.getElementById(id);
    }
    document.addEventListener('visibilitychange', () => {
        if (document.hidden) stop();
        else if (active) start();
    });
    render();
}

/* Shows the view: polls now and every POLL_MS. */
export function show() {
    active = true;
    start();
}

/* Hides the view: stops polling. */
export function hide() {
    active = false;
    stop();
}

/* Starts polling unless it runs already or the tab is hidden. */
function start() {
    if (timer || document.hidden) return;
    tick();
    timer = setInterval(tick, POLL_MS);
}

/* Stops polling. */
function stop() {
    if (timer) clearInterval(timer);
    timer = null;
}

/* ---------------------------------------------------------------- polling */

/*
 * One poll: status first (a node that does not answer it gets no more requests this time: the
 * last data stays, shown as stale), then peers and checkpoint in parallel, then the latest
 * blocks not yet cached. Renders at the end. Never throws.
 */
async function tick() {
    if (busy) return;
    busy = true;
    try {
        let status;
        try {
            status = (await getJSON('/v1/status')).data;
        } catch (e) {
            last.error = e;
            return;
        }
        const [pe, cp] = await Promise.allSettled([getJSON('/v1/peers'), getJSON('/v1/checkpoint')]);
        if (last.status && status.epoch !== last.status.epoch) forgetMembers();
        last.error = null;
        last.status = status;
        addSample(Date.now(), status.log_size);

        last.names = await memberNames();
        last.history = await epochMembers();

        if (pe.status === 'fulfilled') {
            last.peers = pe.value.data;
            last.peersMissing = false;
        } else if (pe.reason && pe.reason.status === 404) {
            last.peers = await peersFromMembers(status);
            last.peersMissing = true;
        }

        if (cp.status === 'fulfilled') last.checkpoint = cp.value.data;
        else if (cp.reason && cp.reason.status === 404) last.checkpoint = null;

        last.blocks = await latestBlocks(status.height);
        last.updated = Date.now();
    } catch (e) {
        last.error = e;
    } finally {
        busy = false;
        if (active) render();
    }
}

/* Adds a log-size sample at time tms and drops those older than the chart's window (keeping
 * one before it, so the first interval reaches the window's edge). */
function addSample(tms, size) {
    if (typeof size !== 'number') return;
    samples.push({ t: tms, size });
    const since = tms - WINDOW_MS;
    while (samples.length > 2 && samples[1].t < since) samples.shift();
}

/* Returns the blocks at heights height, height-1, ... (at most BLOCKS, none below 1), newest
 * first; a block that cannot be fetched is left out. */
async function latestBlocks(height) {
    const hs = [];
    for (let h = height; h >= 1 && hs.length < BLOCKS; h--) hs.push(h);
    const got = await Promise.allSettled(hs.map((h) => getBlock(h)));
    return got.filter((g) => g.status === 'fulfilled').map((g) => g.value);
}

/* Builds a /v1/peers-shaped answer from GET /v1/members when the node has no /v1/peers: every
 * member, this node up, the others' links unknown (link_up null). */
async function peersFromMembers(status) {
    try {
        const { data } = await getJSON('/v1/members');
        return {
            city: status.city, height: status.height,
            members: (data.members || []).map((m, i) => ({
                index: m.index ?? i, name: m.name, display_name: m.display_name, self: m.name === status.city,
                link_up: m.name === status.city ? true : null, height: m.name === status.city ? status.height : null,
                lag: m.name === status.city ? 0 : null, api_address: m.api_address, p2p_address: m.p2p_address,
            })),
        };
    } catch (_) {
        return null;
    }
}

/* ---------------------------------------------------------------- rendering */

/* Returns the display name of member name (from /v1/members), or the name. */
function label(name) {
    return last.names.get(name) || name;
}

/* Returns the name of validator i of epoch e (from /v1/members/history), or '#i'. */
function validator(e, i) {
    return (last.history[e] && last.history[e][i]) || `#${i}`;
}

/* Renders everything from `last`. */
export function render() {
    if (!$['dash-height']) return;
    const view = $['view-dashboard'];
    view.classList.toggle('stale', !!last.error && !!last.status);
    if (last.error) {
        const e = last.error;
        $['dash-error'].textContent = e.unreachable || !e.status ? t('common.unreachable') : t('common.node-error', e.status, e.message);
        $['dash-error'].dataset.state = 'down';
        $['dash-error'].hidden = false;
    } else {
        $['dash-error'].hidden = true;
        delete $['dash-error'].dataset.state;
    }
    renderStatus();
    renderCities();
    renderChart();
    renderBlocks();
    renderCheckpoint();
    $['dash-updated'].textContent = last.updated
        ? t('dash.updated', fmtClock(last.updated)) + (last.error ? ' ' + t('dash.stale') : '') : '';
}

/* Renders this node's status cards (#dash-height, #dash-view, ...). */
function renderStatus() {
    const s = last.status;
    const set = (id, v) => { $[id].textContent = v === undefined || v === null ? '—' : String(v); };
    if (!s) {
        for (const id of ['dash-node', 'dash-height', 'dash-view', 'dash-primary', 'dash-epoch', 'dash-peers', 'dash-lag',
            'dash-mempool', 'dash-log-size']) set(id, null);
        replace($['dash-flags']);
        return;
    }
    set('dash-node', label(s.city));
    set('dash-height', s.height); /* plain digits: tests and scripts parseInt it */
    $['dash-height'].dataset.height = String(s.height);
    set('dash-view', s.view);
    set('dash-primary', s.primary ? label(s.primary) : null);
    set('dash-epoch', s.epoch);
    set('dash-peers', `${s.peers_up} / ${s.peers}`);
    set('dash-lag', s.lag);
    set('dash-mempool', fmtNum(s.mempool_txs));
    set('dash-log-size', fmtNum(s.log_size));
    const flags = [];
    if (s.view_change) flags.push(el('span', { class: 'badge warn' }, t('dash.view-change')));
    if (s.validator === false) flags.push(el('span', { class: 'badge' }, t('dash.learner')));
    replace($['dash-flags'], ...flags);
}

/* Renders <table id="dash-cities">: one <tr data-city data-height data-up> per member. */
function renderCities() {
    const tbody = $['dash-cities'].tBodies[0];
    const p = last.peers;
    $['dash-cities-note'].hidden = !last.peersMissing;
    $['dash-cities-note'].textContent = last.peersMissing ? t('dash.no-peers-route') : '';
    if (!p || !Array.isArray(p.members)) { replace(tbody); return; }
    const rows = p.members.map((m) => {
        const up = m.self ? true : m.link_up;
        const height = m.self && last.status ? last.status.height : m.height;
        const tr = el('tr', {
            'data-city': m.name,
            'data-height': height ?? '',
            'data-up': up === true ? '1' : up === false ? '0' : '',
            class: [m.self ? 'self' : '', up === false ? 'down' : ''].join(' ').trim() || null,
        },
        el('td', { 'data-label': t('dash.col-city') },
            el('span', { class: 'city' }, m.display_name || m.name), ' ',
            m.self ? el('span', { class: 'badge self' }, t('common.this-node')) : null),
        el('td', { 'data-label': t('dash.col-state') },
            el('span', { class: `dot ${up === true ? 'up' : up === false ? 'down' : 'unknown'}`, 'aria-hidden': 'true' }),
            up === true ? t('dash.up') : up === false ? t('dash.down') : t('dash.unknown')),
        el('td', { 'data-label': t('dash.col-height'), class: 'num' }, height === null || height === undefined ? '—' : fmtNum(height)),
        el('td', { 'data-label': t('dash.col-lag'), class: 'num' }, m.lag === null || m.lag === undefined ? '—' : fmtNum(m.lag)),
        /* view and peers up: as the member reported them with its head (null until it has) */
        el('td', { 'data-label': t('dash.col-view'), class: 'num', 'data-view': m.view ?? '' },
            m.view === null || m.view === undefined ? '—' : fmtNum(m.view)),
        el('td', { 'data-label': t('dash.col-links'), class: 'num', 'data-peers-up': m.peers_up ?? '' },
            m.peers_up === null || m.peers_up === undefined ? '—' : fmtNum(m.peers_up)),
        el('td', { 'data-label': t('dash.col-api'), class: 'addr' }, m.api_address || '—'));
        return tr;
    });
    replace(tbody, ...rows);
}

/* Draws the records-per-second chart (<svg id="dash-chart">) and its caption. */
function renderChart() {
    const now = samples.length ? samples[samples.length - 1].t : Date.now();
    const rates = computeRates(samples, now - WINDOW_MS);
    drawChart($['dash-chart'], rates, now, WINDOW_MS, [t('dash.chart-x0'), t('dash.chart-x1'), t('dash.chart-x2')]);
    let caption;
    if (!rates.length) caption = t('dash.chart-wait');
    else {
        const max = Math.max(...rates.map((r) => r.rate));
        caption = `${t('dash.chart-now', fmtRate(rates[rates.length - 1].rate))} · ${t('dash.chart-max', fmtRate(max))}`;
    }
    $['dash-chart-caption'].textContent = caption;
    $['dash-chart'].setAttribute('aria-label', t('dash.chart-label', caption, ''));
}

/* Renders <table id="dash-blocks">: the latest blocks, newest first; a row opens the block in
 * the explorer. */
function renderBlocks() {
    const tbody = $['dash-blocks'].tBodies[0];
    if (!last.blocks.length) {
        replace(tbody, last.status ? el('tr', null, el('td', { colspan: '6', class: 'empty' }, t('dash.no-blocks'))) : null);
        return;
    }
    replace(tbody, ...last.blocks.map((b) => {
        const h = b.header;
        const route = `#/explorer/block/${h.height}`;
        const records = (b.txs || []).reduce((n, x) => n + (typeof x.records === 'number' ? x.records : Array.isArray(x.records) ? x.records.length : 0), 0);
        return el('tr', { 'data-height': h.height, class: 'clickable', onclick: (e) => { if (!e.target.closest('a')) location.hash = route; } },
            el('td', { 'data-label': t('dash.col-block') }, routeLink(route, `#${h.height}`)),
            el('td', { 'data-label': t('dash.col-time') }, fmtTime(h.time_ms)),
            el('td', { 'data-label': t('dash.col-txs'), class: 'num' }, fmtNum(h.tx_count)),
            el('td', { 'data-label': t('dash.col-records'), class: 'num' }, fmtNum(records)),
            el('td', { 'data-label': t('dash.col-proposer') }, label(validator(h.epoch, h.proposer))),
            el('td', { 'data-label': t('dash.col-hash') }, hexCode(h.hash, 12)));
    }));
}

/* Renders #dash-checkpoint: the latest quorum-signed checkpoint (log size, root, signers). */
function renderCheckpoint() {
    const box = $['dash-checkpoint'];
    const c = last.checkpoint;
    if (c === undefined) { replace(box); return; }
    if (c === null) { replace(box, el('p', { class: 'note' }, t('dash.cp-none'))); return; }
    const signers = c.signers || [];
    box.dataset.signers = String(signers.length);
    replace(box,
        c.note === null ? el('p', { class: 'note' }, t('dash.cp-unsigned')) : null,
        dl([
            [t('dash.cp-height'), routeLink(`#/explorer/block/${c.height}`, `#${c.height}`)],
            [t('dash.cp-size'), fmtNum(c.log_size)],
            [t('dash.cp-root'), hexCode(c.log_root, 16)],
            [t('dash.cp-signers'), c.note === null ? null
                : t('dash.cp-signers-v', signers.length, c.quorum, signers.map(label).join(listSep()))],
        ]));
}
