/* chart.js: turns successive samples of the record log's size into records-per-second rates,
 * and draws them as a bar chart into an inline <svg> with SVG attributes and CSS classes only
 * (no style attributes, which the page's Content-Security-Policy forbids). */

import { svgEl, replace } from './dom.js';

/* The chart's drawing box in viewBox units: H high, and as wide as the element is drawn (so
 * that labels keep their size on a phone), W_DEFAULT before it has a width; CSS scales it. */
const W_DEFAULT = 600, W_MIN = 280, H = 170, LEFT = 44, RIGHT = 8, TOP = 10, BOTTOM = 22;

/*
 * Returns the rates between successive samples: samples is [{t, size}] with t in
 * milliseconds, ascending. Each result is {t0, t1, rate} (records per second over [t0, t1]).
 * Pairs with no time between them are skipped, and so are pairs whose size went down (a node
 * restarted on another ledger): they have no meaningful rate. Only intervals ending after
 * since are returned.
 */
export function computeRates(samples, since = -Infinity) {
    const out = [];
    for (let i = 1; i < samples.length; i++) {
        const a = samples[i - 1], b = samples[i];
        const dt = b.t - a.t;
        if (dt <= 0 || b.size < a.size || b.t <= since) continue;
        out.push({ t0: a.t, t1: b.t, rate: ((b.size - a.size) * 1000) / dt });
    }
    return out;
}

/* Returns a "nice" upper bound for a y axis holding values up to max: 1, 2 or 5 times a power
 * of ten, at least 1. */
export function niceMax(max) {
    if (!(max > 1)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(max)));
    for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
    return 10 * p;
}

/* Formats a rate for an axis or a caption: at most one decimal, none for whole numbers. */
export function fmtRate(r) {
    return Number.isInteger(r) ? String(r) : r.toFixed(r < 10 ? 1 : 0);
}

/*
 * Draws rates (from computeRates) into svg over the time window [now - windowMs, now]: one bar
 * per interval, a y axis from 0 to a nice maximum, and the x-axis labels given in xLabels
 * ([left, middle, right] strings). Replaces whatever svg held; sets its viewBox to the width
 * the svg is drawn at (so its text is not scaled down on a narrow screen).
 */
export function drawChart(svg, rates, now, windowMs, xLabels) {
    const shown = svg.getBoundingClientRect ? Math.round(svg.getBoundingClientRect().width) : 0;
    const W = shown > 0 ? Math.max(W_MIN, shown) : W_DEFAULT;
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
    const x = (t) => LEFT + ((t - (now - windowMs)) / windowMs) * pw;
    const ymax = niceMax(Math.max(0, ...rates.map((r) => r.rate)));
    const y = (v) => TOP + ph - (v / ymax) * ph;

    const nodes = [];
    for (const v of [0, ymax / 2, ymax]) {
        nodes.push(svgEl('line', { class: 'chart-grid', x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v) }));
        nodes.push(svgEl('text', { class: 'chart-label', x: LEFT - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtRate(v)));
    }
    for (const r of rates) {
        const x0 = Math.max(LEFT, x(r.t0)), x1 = Math.min(W - RIGHT, x(r.t1));
        if (x1 <= x0) continue;
        const top = y(r.rate);
        nodes.push(svgEl('rect', {
            class: 'chart-bar', x: x0.toFixed(1), y: top.toFixed(1),
            width: Math.max(0.5, x1 - x0 - 0.8).toFixed(1), height: (TOP + ph - top).toFixed(1),
        }));
    }
    nodes.push(svgEl('line', { class: 'chart-axis', x1: LEFT, x2: W - RIGHT, y1: TOP + ph, y2: TOP + ph }));
    const [l, m, rgt] = xLabels || ['', '', ''];
    nodes.push(svgEl('text', { class: 'chart-label', x: LEFT, y: H - 5, 'text-anchor': 'start' }, l));
    nodes.push(svgEl('text', { class: 'chart-label', x: LEFT + pw / 2, y: H - 5, 'text-anchor': 'middle' }, m));
    nodes.push(svgEl('text', { class: 'chart-label', x: W - RIGHT, y: H - 5, 'text-anchor': 'end' }, rgt));
    replace(svg, ...nodes);
}
