// Structured differences between two exchanges (an original and its
// replay): request and response line, headers by name, and bodies — JSON
// value by value (gjson-style paths), other text as a whole.

function bodyText(part) {
  if (!part || !part.body) return '';
  return part.body;
}

// binaryNote describes a base64 body, which is not shown as text.
function binaryNote(part) {
  const b = part.body;
  const bytes = Math.floor(b.length * 3 / 4) - (b.endsWith('==') ? 2 : b.endsWith('=') ? 1 : 0);
  return `(${bytes} bytes of binary)`;
}

// parseJSON parses a body, keeping integers a JS number would round (ids
// beyond 2^53) as their digits, where the browser can (JSON.rawJSON).
function parseJSON(text) {
  if (typeof JSON.rawJSON !== 'function') return JSON.parse(text);
  return JSON.parse(text, (k, v, ctx) => (typeof v === 'number' && !Number.isSafeInteger(v) && ctx && /^-?\d+$/.test(ctx.source || '')
    ? JSON.rawJSON(ctx.source) : v));
}

const isRaw = (v) => typeof JSON.isRawJSON === 'function' && JSON.isRawJSON(v);

function headerMap(pairs) {
  const m = new Map();
  for (const [k, v] of pairs || []) {
    const n = k.toLowerCase();
    m.set(n, m.has(n) ? `${m.get(n)}\n${v}` : v);
  }
  return m;
}

function show(v) {
  return v === undefined ? '' : JSON.stringify(v);
}

function jsonDiff(a, b, path, out, where) {
  const isObj = (v) => v !== null && typeof v === 'object' && !isRaw(v);
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in b)) out.push({ where, path: `body ${p}`, kind: 'removed', old: show(a[k]), new: '' });
      else if (!(k in a)) out.push({ where, path: `body ${p}`, kind: 'added', old: '', new: show(b[k]) });
      else jsonDiff(a[k], b[k], p, out, where);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ where, path: path ? `body ${path}` : 'body', kind: 'changed', old: show(a), new: show(b) });
  }
}

function bodyDiff(pa, pb, out, where) {
  const a = bodyText(pa);
  const b = bodyText(pb);
  const binA = !!a && pa.encoding === 'base64';
  const binB = !!b && pb.encoding === 'base64';
  if (a === b && binA === binB) return;
  if (binA || binB) {
    // Compared by their bytes (base64 alike), described, not shown.
    const old = binA ? binaryNote(pa) : a;
    const nu = binB ? binaryNote(pb) : b;
    out.push({ where, path: 'body', kind: a && !b ? 'removed' : !a && b ? 'added' : 'changed', old, new: nu });
    return;
  }
  let ja;
  let jb;
  try { ja = parseJSON(a); jb = parseJSON(b); } catch { ja = jb = undefined; }
  if (ja !== undefined && jb !== undefined) {
    jsonDiff(ja, jb, '', out, where);
    return;
  }
  out.push({ where, path: 'body', kind: a && !b ? 'removed' : !a && b ? 'added' : 'changed', old: a, new: b });
}

// Headers that differ on every request and say nothing about the change.
const volatile = new Set(['date', 'content-length', 'x-request-id', 'traceparent', 'user-agent', 'accept-encoding', 'x-hooklab-replay-of']);

function headerDiff(ha, hb, out, where) {
  const a = headerMap(ha);
  const b = headerMap(hb);
  for (const [k, v] of a) {
    if (volatile.has(k)) continue;
    if (!b.has(k)) out.push({ where, path: `header ${k}`, kind: 'removed', old: v, new: '' });
    else if (b.get(k) !== v) out.push({ where, path: `header ${k}`, kind: 'changed', old: v, new: b.get(k) });
  }
  for (const [k, v] of b) {
    if (!volatile.has(k) && !a.has(k)) out.push({ where, path: `header ${k}`, kind: 'added', old: '', new: v });
  }
}

/** diffExchanges lists what changed from exchange a to exchange b: [{where, path, kind, old, new}]. */
export function diffExchanges(a, b) {
  const out = [];
  const ra = a.request || {};
  const rb = b.request || {};
  if ((a.method || ra.method) !== (b.method || rb.method)) {
    out.push({ where: 'request', path: 'method', kind: 'changed', old: a.method || ra.method, new: b.method || rb.method });
  }
  const ua = a.url || ra.url || '';
  const ub = b.url || rb.url || '';
  if (ua !== ub) out.push({ where: 'request', path: 'url', kind: 'changed', old: ua, new: ub });
  headerDiff(ra.headers, rb.headers, out, 'request');
  bodyDiff(ra, rb, out, 'request');
  const sa = a.response;
  const sb = b.response;
  if (!sa || !sb) {
    if (!!sa !== !!sb) out.push({ where: 'response', path: 'response', kind: sa ? 'removed' : 'added', old: sa ? String(sa.status) : '', new: sb ? String(sb.status) : '' });
    return out;
  }
  if (sa.status !== sb.status) out.push({ where: 'response', path: 'status', kind: 'changed', old: String(sa.status), new: String(sb.status) });
  headerDiff(sa.headers, sb.headers, out, 'response');
  bodyDiff(sa, sb, out, 'response');
  return out;
}
