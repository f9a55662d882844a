/* api.js: reads the node's HTTP API (docs/API.md) from the page's own origin, with a timeout,
 * and caches what rarely changes: the member list (display names) and the membership history
 * (who validator index i of epoch e is). */

/* How long one request may take before the node counts as unreachable. */
const TIMEOUT_MS = 10000;

/*
 * An API failure. unreachable is true when no HTTP answer came at all (network error,
 * timeout); otherwise status is the HTTP status and code/message come from the node's error
 * body ({"error":{"code","message"}}) when it had one.
 */
export class ApiError extends Error {
    constructor(message, { status = 0, code = '', unreachable = false } = {}) {
        super(message);
        this.status = status;
        this.code = code;
        this.unreachable = unreachable;
    }
}

/* Fetches path (an absolute path on this origin, e.g. '/v1/status') with GET and the
 * timeout. Returns the Response whatever its status; throws ApiError{unreachable} when none. */
async function request(path) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
        return await fetch(path, { cache: 'no-store', signal: ctl.signal, credentials: 'same-origin' });
    } catch (e) {
        throw new ApiError(String(e && e.message ? e.message : e), { unreachable: true });
    } finally {
        clearTimeout(timer);
    }
}

/*
 * GETs path and parses its JSON body. Returns {status, data} for a 2xx answer (data is the
 * parsed JSON, or null if the body is not JSON). Throws ApiError for any other status (with the
 * node's error code and message) and for no answer at all.
 */
export async function getJSON(path) {
    const res = await request(path);
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (res.ok) return { status: res.status, data };
    const err = data && data.error ? data.error : {};
    throw new ApiError(err.message || `HTTP ${res.status}`, { status: res.status, code: err.code || '' });
}

/* GETs path and returns its body as text (for JSON that a stricter parser than JSON.parse is to
 * read). Throws ApiError as getJSON does. */
export async function getText(path) {
    const res = await request(path);
    const text = await res.text();
    if (res.ok) return text;
    let err = {};
    try { err = JSON.parse(text).error || {}; } catch (_) { /* not JSON */ }
    throw new ApiError(err.message || `HTTP ${res.status}`, { status: res.status, code: err.code || '' });
}

/* GETs path and returns its body as a Uint8Array (the exact bytes, e.g. the genesis file).
 * Throws ApiError for a non-2xx answer or none. */
export async function getBytes(path) {
    const res = await request(path);
    if (!res.ok) throw new ApiError(`HTTP ${res.status}`, { status: res.status });
    return new Uint8Array(await res.arrayBuffer());
}

/* ---------------------------------------------------------------- cached lookups */

let membersPromise = null;
let historyPromise = null;

/* Returns (a promise of) a Map from member name to display name, from GET /v1/members; cached
 * for the page's life once it succeeds (call forgetMembers() to refresh). Never rejects: an
 * empty Map when the node cannot say. */
export function memberNames() {
    if (!membersPromise) {
        membersPromise = getJSON('/v1/members').then(
            ({ data }) => new Map((data && data.members || []).map((m) => [m.name, m.display_name || m.name])),
            () => { membersPromise = null; return new Map(); });
    }
    return membersPromise;
}

/* Drops the cached member names and history (after a membership change shows up). */
export function forgetMembers() {
    membersPromise = null;
    historyPromise = null;
}

/*
 * Returns (a promise of) an array of member name lists indexed by epoch, from GET
 * /v1/members/history: names[e][i] is validator i of epoch e. Cached once it succeeds. Never
 * rejects: an empty array when the node cannot say.
 */
export function epochMembers() {
    if (!historyPromise) {
        historyPromise = getJSON('/v1/members/history').then(({ data }) => {
            const out = [];
            for (const e of (data && data.epochs) || []) out[e.epoch] = (e.members || []).map((m) => m.name);
            return out;
        }, () => { historyPromise = null; return []; });
    }
    return historyPromise;
}

/* Returns the name of validator index i of epoch e (from epochMembers()), refetching the history
 * once if the epoch is newer than the cached one; '#i' when still unknown. */
export async function validatorName(epoch, i) {
    let h = await epochMembers();
    if (!h[epoch]) { historyPromise = null; h = await epochMembers(); }
    return (h[epoch] && h[epoch][i]) || `#${i}`;
}

/* Returns the display name of member name from memberNames(), or the name itself. */
export async function displayName(name) {
    const m = await memberNames();
    return m.get(name) || name;
}

/* Cache of blocks by height: a committed block never changes. Bounded to the latest 256. */
const blockCache = new Map();

/* Returns the block JSON at height (GET /v1/blocks/{height}), from the cache when held. Throws
 * ApiError as getJSON does (404 for a height not yet committed). */
export async function getBlock(height) {
    if (blockCache.has(height)) return blockCache.get(height);
    const { data } = await getJSON(`/v1/blocks/${height}`);
    blockCache.set(height, data);
    if (blockCache.size > 256) blockCache.delete(blockCache.keys().next().value);
    return data;
}
