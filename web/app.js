/* app.js: the page's entry point: routes the hash (#/verify, #/dashboard, #/explorer/...) to
 * the three views, switches the language, and shows which node serves the page. */

import { t, getLang, setLang, applyStatic } from './i18n.js';
import { el, replace } from './dom.js';
import { getJSON, memberNames } from './api.js';
import * as verifyView from './view-verify.js';
import * as dashboardView from './view-dashboard.js';
import * as explorerView from './view-explorer.js';

/* The views by route name; each has init(), show(args), hide() and render(). */
const VIEWS = { verify: verifyView, dashboard: dashboardView, explorer: explorerView };

/* The route name of the view shown, or null before the first route. */
let active = null;

/* This node's /v1/status at page load (for the header): undefined until asked, null if it
 * could not be had. */
let nodeStatus = undefined;
/* Member name -> display name, for the header. */
let nodeNames = new Map();

/*
 * Parses a location hash into {view, args}: '#/explorer/block/12' -> {view: 'explorer', args:
 * ['block', '12']}. An empty hash or an unknown view is the Verify view. Returns null for a
 * hash that is not a route (an in-page anchor such as '#main'), which leaves the view as is.
 */
export function parseRoute(hash) {
    if (!hash || hash === '#' || hash === '#/') return { view: 'verify', args: [] };
    if (!hash.startsWith('#/')) return null;
    const parts = hash.slice(2).split('/').filter(Boolean).map((p) => {
        try { return decodeURIComponent(p); } catch (_) { return p; }
    });
    const view = VIEWS[parts[0]] ? parts[0] : 'verify';
    return { view, args: VIEWS[parts[0]] ? parts.slice(1) : [] };
}

/* Shows the view the location hash names (hiding the others), marks its nav link as current
 * and updates the document title. Moves focus to the view's heading when the view changed after
 * the first route, so that screen readers announce it. */
function route() {
    let r = parseRoute(location.hash);
    if (!r && active) return;
    if (!r) r = { view: 'verify', args: [] };
    const changed = active !== r.view;
    if (changed) {
        if (active) VIEWS[active].hide();
        for (const name of Object.keys(VIEWS)) document.getElementById(`view-${name}`).hidden = name !== r.view;
        for (const a of document.querySelectorAll('nav a[data-view]')) {
            if (a.dataset.view === r.view) a.setAttribute('aria-current', 'page');
            else a.removeAttribute('aria-current');
        }
        const first = active === null;
        active = r.view;
        if (!first) {
            const h = document.querySelector(`#view-${r.view} h2`);
            if (h) h.focus({ preventScroll: false });
        }
    }
    setTitle();
    VIEWS[r.view].show(r.args);
}

/* Sets document.title to the page title and the active view's name. */
function setTitle() {
    document.title = active ? `${t(`nav.${active}`)} · ${t('app.title')}` : t('app.title');
}

/* Renders the header line naming the node that serves the page (#node-info). */
function renderNodeInfo() {
    const box = document.getElementById('node-info');
    if (nodeStatus === undefined) { replace(box); return; }
    if (!nodeStatus) { replace(box, t('app.node-unknown')); return; }
    replace(box, el('span', { class: 'dot up', 'aria-hidden': 'true' }),
        t('app.node', nodeNames.get(nodeStatus.city) || nodeStatus.city, nodeStatus.chain_id));
}

/* Switches between Chinese and English, then re-renders every label and every view. */
function toggleLang() {
    setLang(getLang() === 'en' ? 'zh-CN' : 'en');
    renderAll();
}

/* Re-renders the static labels, the header, the title and every view in the language in force. */
function renderAll() {
    applyStatic(document);
    /* The button names the other language, in that language. */
    document.getElementById('lang').lang = getLang() === 'en' ? 'zh-CN' : 'en';
    renderNodeInfo();
    setTitle();
    for (const v of Object.values(VIEWS)) v.render();
}

/* Fetches this node's status and member names for the header; shows "cannot be reached" if it
 * does not answer. */
async function loadNodeInfo() {
    try {
        nodeStatus = (await getJSON('/v1/status')).data;
        nodeNames = await memberNames();
    } catch (_) {
        nodeStatus = null;
    }
    renderNodeInfo();
}

/* Starts the page: language, views, routes, and the guard that keeps a file dropped outside a
 * drop zone from making the browser open it (and leave the page). */
function main() {
    setLang(getLang());
    document.getElementById('lang').addEventListener('click', toggleLang);
    for (const v of Object.values(VIEWS)) v.init();
    for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());
    /* The skip link moves focus without touching the hash (which holds the route). */
    document.querySelector('.skip').addEventListener('click', (e) => {
        e.preventDefault();
        document.getElementById('main').focus();
    });
    window.addEventListener('hashchange', route);
    route();
    renderAll();
    loadNodeInfo();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
