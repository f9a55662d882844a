/* dom.js: small helpers that build DOM and SVG nodes without innerHTML (so no text from the
 * node can become markup) and format heights, times and hashes for people. */

import { getLang } from './i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/* Matches exactly 64 hexadecimal characters: a digest, hash or transaction id. */
export const HEX64 = /^[0-9a-fA-F]{64}$/;

/*
 * Appends children to node: strings and numbers become text nodes, arrays are flattened, and
 * null, undefined and false are skipped. Returns node.
 */
export function append(node, ...children) {
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false) continue;
        node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
}

/* Sets attributes on node from attrs: 'class' sets className, 'text' the text content, keys
 * starting with 'on' add event listeners, null/undefined/false values are skipped, true sets an
 * empty attribute, anything else the attribute's string value. */
function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') node.setAttribute('class', v);
        else if (k === 'text') node.textContent = String(v);
        else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
    }
}

/* Returns a new HTML element <tag> with attrs (see setAttrs) and children (see append). */
export function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    setAttrs(n, attrs);
    return append(n, ...children);
}

/* Returns a new SVG element <tag> with attrs and children, in the SVG namespace. */
export function svgEl(tag, attrs, ...children) {
    const n = document.createElementNS(SVG_NS, tag);
    setAttrs(n, attrs);
    return append(n, ...children);
}

/* Removes every child of node, then appends children. Returns node. */
export function replace(node, ...children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return append(node, ...children);
}

/* Returns a <dl> of [label, value] rows; rows whose value is null or undefined are left out. */
export function dl(rows, cls = 'fields') {
    const d = el('dl', { class: cls });
    for (const [label, value] of rows) {
        if (value === null || value === undefined) continue;
        append(d, el('dt', null, label), el('dd', null, value));
    }
    return d;
}

/* Returns a <code class="hex"> of a hex string, shortened to its first n characters and '…'
 * when n is given and the string is longer; the full value is in the title. */
export function hexCode(hex, n) {
    const s = String(hex ?? '');
    const shown = n && s.length > n ? s.slice(0, n) + '…' : s;
    return el('code', { class: 'hex', title: s }, shown);
}

/* Returns a link to a page route (e.g. '#/explorer/block/3') with the given children. */
export function routeLink(route, ...children) {
    return el('a', { href: route }, ...children);
}

/* Returns a locale tag for Intl in the language in force. */
function locale() {
    return getLang() === 'en' ? 'en-GB' : 'zh-CN';
}

/* Formats Unix milliseconds as a local date and time in the language in force; '—' for a value
 * that is not a finite number. */
export function fmtTime(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
    return new Date(ms).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'medium' });
}

/* Formats Unix milliseconds as a local time of day (for "updated at"). */
export function fmtClock(ms) {
    return new Date(ms).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/* Formats a number with grouping in the language in force; '—' for a non-number. */
export function fmtNum(x) {
    return typeof x === 'number' && Number.isFinite(x) ? x.toLocaleString(locale()) : '—';
}

/* Returns the list separator of the language in force, for joining names. */
export function listSep() {
    return getLang() === 'en' ? ', ' : '、';
}
