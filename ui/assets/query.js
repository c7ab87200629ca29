// The filter language, the same as the API's q= (inspect/query.go):
// space-separated terms, all of which must hold; "-" in front negates one.
//   word  method:POST  status:5xx|404|none  path:/hooks/*  bin:stripe
//   source:emit  header:x-github-event=push  json:ticket.priority=urgent
//   sig:valid|invalid|none  rule:NAME
// Quotes hold spaces: "two words", json:a.b="x y".

const fields = new Set(['method', 'status', 'path', 'bin', 'source', 'header', 'json', 'sig', 'rule']);
const sources = new Set(['capture', 'proxy', 'emit', 'replay']);
const binRe = /^[A-Za-z0-9_-]{1,64}$/;

/** QueryError is a malformed query; message says which term and why. */
export class QueryError extends Error {}

function split(s) {
  const out = [];
  let w = null;
  let quoted = false;
  const start = () => { if (!w) w = { text: '', quoted: false, not: false, started: false }; };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    start();
    if (quoted && c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) {
      w.text += s[++i];
    } else if (!w.started && c === '-' && s[i + 1] === '"') {
      w.not = true;
    } else if (c === '"') {
      if (!w.started) w.quoted = true;
      quoted = !quoted;
      w.started = true;
    } else if (!quoted && /\s/.test(c)) {
      if (w.started) out.push(w);
      w = null;
    } else {
      w.text += c;
      w.started = true;
    }
  }
  if (quoted) throw new QueryError('a quote is not closed');
  if (w && w.started) out.push(w);
  return out;
}

function statusRange(v) {
  const s = v.toLowerCase();
  if (s === 'none' || s === '0') return [0, 0];
  if (/^[1-5]xx$/.test(s)) { const c = +s[0] * 100; return [c, c + 99]; }
  if (/^\d{1,3}$/.test(s)) return [+s, +s];
  return null;
}

/** parse returns the terms of q: [{not, field, name, value, hasValue}]. It throws QueryError. */
export function parse(q) {
  const terms = [];
  for (const w of split(q || '')) {
    const t = { not: w.not, field: '', name: '', value: w.text, hasValue: false };
    let raw = w.text;
    if (!w.quoted && raw.length > 1 && raw[0] === '-') { t.not = true; raw = raw.slice(1); t.value = raw; }
    const i = raw.indexOf(':');
    const key = i > 0 ? raw.slice(0, i).toLowerCase() : '';
    if (w.quoted || i < 0 || !fields.has(key)) {
      if (t.value !== '') terms.push(t);
      continue;
    }
    t.field = key;
    t.value = raw.slice(i + 1);
    const bad = (why) => new QueryError(`"${w.text}": ${why}`);
    switch (key) {
      case 'method': if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(t.value)) throw bad('want a method like POST'); break;
      case 'status': if (!statusRange(t.value)) throw bad('want a code like 404, a class like 5xx, or none'); break;
      case 'path': if (!t.value) throw bad('want a path like /hooks/*'); break;
      case 'bin': if (!binRe.test(t.value)) throw bad('want a bin name: 1–64 of A-Z a-z 0-9 _ -'); break;
      case 'source': if (!sources.has(t.value)) throw bad('want capture, proxy, emit or replay'); break;
      case 'sig':
        t.value = t.value.toLowerCase();
        if (!['valid', 'invalid', 'none'].includes(t.value)) throw bad('want valid, invalid or none');
        break;
      case 'rule': if (!t.value) throw bad('want a rule name'); break;
      case 'header':
      case 'json': {
        const j = t.value.indexOf('=');
        t.name = j < 0 ? t.value : t.value.slice(0, j);
        t.hasValue = j >= 0;
        t.value = j < 0 ? '' : t.value.slice(j + 1);
        if (!t.name) throw bad(`want ${key}:NAME=VALUE or ${key}:NAME`);
        break;
      }
    }
    terms.push(t);
  }
  return terms;
}

/**
 * fold splits terms like Terms.Fold in Go: {params, rest}. params are the
 * list API's own parameters (method, status, bin, source and q for the
 * first free-text word); rest must be checked by matching.
 */
export function fold(terms) {
  const params = {};
  const rest = [];
  const slot = { '': 'q', method: 'method', status: 'status', bin: 'bin', source: 'source' };
  for (const t of terms) {
    const k = slot[t.field];
    if (!t.not && k && !(t.field === 'status' && t.value.toLowerCase() === 'none') && !params[k]) {
      params[k] = t.value;
    } else {
      rest.push(t);
    }
  }
  return { params, rest };
}

/** summaryOnly reports whether matchSummary decides every term. */
export function summaryOnly(terms) {
  return terms.every((t) => t.field !== '' && t.field !== 'header' && t.field !== 'json');
}

// rawPath returns the path of url as it was sent, as Go's url.Parse reads
// it for inspect.MatchPath: the WHATWG URL parser would make /a/../b of
// /a/x/../b and a/b of a\b, which the server does not, so a live arrival
// would be shown (or left out) against what the list then loads.
function rawPath(url) {
  let s = String(url || '');
  for (const c of ['#', '?']) {
    const i = s.indexOf(c);
    if (i >= 0) s = s.slice(0, i);
  }
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(s);
  return m ? s.slice(m[0].length) : s;
}

// pathOf is the decoded path of url (bytes that are not UTF-8 read as
// U+FFFD); a malformed escape gives url itself, as the server does.
function pathOf(url) {
  const raw = rawPath(url);
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return url || '';
  const dec = new TextDecoder();
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => dec.decode(Uint8Array.from(run.slice(1).split('%'), (x) => parseInt(x, 16))));
}

function globToRe(g) {
  let re = '^';
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = g.indexOf(']', i + 1);
      if (j < 0) return null;
      let cls = g.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (cls[0] === '^') cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = j;
    } else if (c === '\\' && i + 1 < g.length) re += '\\' + g[++i];
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  try { return new RegExp(re + '$'); } catch { return null; }
}

/**
 * matchPath mirrors inspect.MatchPath: exact, a glob, or a trailing-*
 * prefix, against the decoded path, and, for a pattern written escaped (as
 * the list shows paths: /caf%C3%A9/x), against the path as escaped too.
 */
export function matchPath(pattern, url) {
  if (matchPathIn(pattern, pathOf(url))) return true;
  if (!pattern.includes('%')) return false;
  return matchPathIn(pattern, rawPath(url));
}

function matchPathIn(pattern, p) {
  if (pattern.includes('**')) return matchSegments(pattern.split('/'), p.split('/'));
  const re = globToRe(pattern);
  if (re && re.test(p)) return true;
  if (pattern.endsWith('*') && !/[*?[\\]/.test(pattern.slice(0, -1))) return p.startsWith(pattern.slice(0, -1));
  return false;
}

// matchSegments mirrors inspect's: "**" stands for any number of
// segments (globToRe read it as two "*" within one), any other pattern
// segment is a glob for one; it backtracks only to the last "**".
function matchSegments(pat, segs) {
  let p = 0, s = 0, starP = -1, starS = 0;
  const seg = (g, x) => { const re = globToRe(g); return !!re && re.test(x); };
  while (s < segs.length) {
    if (p < pat.length && pat[p] === '**') { starP = p; starS = s; p++; }
    else if (p < pat.length && seg(pat[p], segs[s])) { p++; s++; }
    else if (starP >= 0) { starS++; p = starP + 1; s = starS; }
    else return false;
  }
  while (p < pat.length && pat[p] === '**') p++;
  return p === pat.length;
}

function fieldMatch(t, s) {
  switch (t.field) {
    case 'method': return String(s.method || '').toUpperCase() === t.value.toUpperCase();
    case 'status': { const r = statusRange(t.value); const st = s.status || 0; return !!r && st >= r[0] && st <= r[1]; }
    case 'path': return matchPath(t.value, s.url || s.path || '');
    case 'bin': return s.bin === t.value;
    case 'source': return s.source === t.value;
    case 'sig': {
      const v = typeof s.signature === 'string' ? s.signature : (s.signature && s.signature.verdict) || '';
      return t.value === 'none' ? !v : v === t.value;
    }
    case 'rule': return (s.rule || '') === t.value;
  }
  return false;
}

/** matchSummary checks the terms a summary can decide (others count as holding). */
export function matchSummary(terms, s) {
  for (const t of terms) {
    if (t.field === '' || t.field === 'header' || t.field === 'json') continue;
    if (fieldMatch(t, s) === t.not) return false;
  }
  return true;
}

function bodyText(part) {
  if (!part || !part.body) return '';
  if (part.encoding === 'base64') {
    try { return atob(part.body); } catch { return ''; }
  }
  return part.body;
}

function jsonGet(text, path) {
  let v;
  try { v = JSON.parse(text); } catch { return undefined; }
  for (const seg of path.split(/(?<!\\)\./)) {
    const k = seg.replace(/\\\./g, '.');
    if (v == null || typeof v !== 'object') return undefined;
    if (Array.isArray(v) && k === '#') return v.length;
    if (!(k in v)) return undefined;
    v = v[k];
  }
  return v;
}

function jsonString(v) {
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** matchExchange checks every term against a whole exchange (the API's GET /api/exchanges/{id}). */
export function matchExchange(terms, x) {
  const req = x.request || {};
  const res = x.response;
  for (const t of terms) {
    let ok;
    if (t.field === '') {
      const want = t.value.toLowerCase();
      const has = (s) => String(s || '').toLowerCase().includes(want);
      ok = has(x.url || req.url) || has(bodyText(req)) || has(bodyText(res)) ||
        (req.headers || []).some(([k, v]) => has(`${k}: ${v}`)) ||
        ((res && res.headers) || []).some(([k, v]) => has(`${k}: ${v}`));
    } else if (t.field === 'header') {
      const hit = (hs) => (hs || []).some(([k, v]) => k.toLowerCase() === t.name.toLowerCase() &&
        (!t.hasValue || String(v).trim().toLowerCase() === t.value.toLowerCase()));
      ok = hit(req.headers) || (!!res && hit(res.headers));
    } else if (t.field === 'json') {
      const hit = (part) => {
        const v = jsonGet(bodyText(part), t.name);
        return v !== undefined && (!t.hasValue || jsonString(v) === t.value);
      };
      ok = hit(req) || (!!res && hit(res));
    } else {
      ok = fieldMatch(t, x);
    }
    if (ok === t.not) return false;
  }
  return true;
}

/**
 * termValue writes a value for a filter term as inspect's quoteQueryValue
 * does: quoted, with \\ and \" escaped, when it is empty, holds a space, a
 * quote or a backslash, or starts with "-" (which would negate the term).
 */
export function termValue(v) {
  if (v !== '' && !/[\s"\\]/.test(v) && !v.startsWith('-')) return v;
  return `"${v.replace(/[\\"]/g, '\\$&')}"`;
}
