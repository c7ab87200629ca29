// The JSON API on the page's own origin. Every call throws an APIError
// carrying the server's message when the answer is not 2xx.

/** APIError is a failed API call: status is the HTTP status (0 when the server was unreachable). */
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'APIError';
    this.status = status;
  }
}

export async function call(method, path, { query, body, signal, as = 'json' } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v != null && v !== '') url.searchParams.set(k, String(v));
  }
  const init = { method, signal, headers: { Accept: as === 'json' ? 'application/json' : '*/*' } };
  if (method !== 'GET' && method !== 'HEAD') {
    // The server refuses state-changing requests without a JSON content
    // type (a cross-site form cannot send one), so send it even without a body.
    init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, `hooklab is not reachable (${err.message})`);
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    let j = null;
    try {
      j = await res.json();
      if (j && j.error) msg = j.detail ? `${j.error}: ${j.detail}` : j.error;
    } catch (e) {
      if (e.name === 'AbortError') throw e; // the call was aborted while its error was read
      /* not JSON: keep the status line */
    }
    const err = new APIError(res.status, msg);
    err.body = j; // validation errors carry {field, errors: [{field, error}]}
    throw err;
  }
  if (res.status === 204) return null;
  if (as === 'text') return res.text();
  if (as === 'blob') return res.blob();
  return res.json();
}

/**
 * listExchanges returns {exchanges, next}: summaries newest first, and the
 * cursor of the next (older) page or "" when there is none.
 */
export function listExchanges({ bin, method, status, source, q, limit = 200, cursor } = {}, signal) {
  return call('GET', '/api/exchanges', { query: { bin, method, status, source, q, limit, cursor }, signal });
}

let infoOnce = null;
/**
 * getInfo returns the server's /api/info ({version, capture_url, ui_url,
 * data, query_language}), asked once; null from a server without it.
 */
export function getInfo() {
  if (!infoOnce) infoOnce = call('GET', '/api/info').catch(() => null);
  return infoOnce;
}

/**
 * serverQueryLang reports whether the server parses the filter language in
 * q= (/api/info says query_language), rather than taking q= as plain text.
 */
export async function serverQueryLang() {
  const info = await getInfo();
  return !!(info && info.query_language);
}

/** exportURL is where the HAR of the given ids (or of the list filters) downloads. */
export function exportURL({ ids, ...filters } = {}) {
  const u = new URL('/api/export.har', location.origin);
  if (ids && ids.length) u.searchParams.set('ids', ids.join(','));
  for (const [k, v] of Object.entries(filters)) if (v) u.searchParams.set(k, v);
  return u.pathname + u.search;
}

/** startReplay starts a replay run (POST /api/replay, a replay.Spec) and returns {id, url, total}. */
export function startReplay(spec) {
  return call('POST', '/api/replay', { body: spec });
}

/** getReplay returns a run's state and results. */
export function getReplay(id, signal) {
  return call('GET', `/api/replay/${encodeURIComponent(id)}`, { signal });
}

/** listReplays returns the runs kept, newest first. */
export async function listReplays(signal) {
  const j = await call('GET', '/api/replay', { signal });
  return Array.isArray(j) ? j : (j && (j.runs || j.replays)) || [];
}

/**
 * getExchange returns one whole exchange: the summary fields plus request,
 * response and error. The server gives secret header values (Authorization,
 * cookies, API keys) as "REDACTED" and names them in request.redacted and
 * response.redacted, unless reveal is true (?reveal=1).
 */
export function getExchange(id, signal, { reveal = false } = {}) {
  return call('GET', `/api/exchanges/${encodeURIComponent(id)}`, { signal, query: reveal ? { reveal: 1 } : undefined });
}

/**
 * curlCommand returns a curl command line that reproduces the request,
 * secrets included (?reveal=1): the command is for resending, which needs
 * them.
 */
export function curlCommand(id) {
  return call('GET', `/api/exchanges/${encodeURIComponent(id)}/curl`, { as: 'text', query: { reveal: 1 } });
}

/** rawURL is where the request can be downloaded as HTTP/1.1 bytes (secrets redacted unless reveal). */
export function rawURL(id, { reveal = false } = {}) {
  return `/api/exchanges/${encodeURIComponent(id)}/raw${reveal ? '?reveal=1' : ''}`;
}

/**
 * redactedNames returns the lower-case names of the headers whose values
 * the server redacted in part (an exchange's request or response); none
 * from a server that does not redact.
 */
export function redactedNames(part) {
  return new Set(((part && part.redacted) || []).map((n) => String(n).toLowerCase()));
}

/** hasRedactions reports whether the server hid any value of exchange x. */
export function hasRedactions(x) {
  return !!x && (redactedNames(x.request).size > 0 || redactedNames(x.response).size > 0);
}

/** deleteExchange deletes one exchange. */
export function deleteExchange(id) {
  return call('DELETE', `/api/exchanges/${encodeURIComponent(id)}`);
}

/** clearExchanges deletes every exchange in bin, or in all bins when bin is empty. */
export function clearExchanges(bin) {
  return call('DELETE', '/api/exchanges', { query: { bin } });
}

/** listBins returns [{name, count, last_seen}]. */
export async function listBins(signal) {
  const j = await call('GET', '/api/bins', { signal });
  return (j && j.bins) || [];
}

/** createBin creates a bin (a generated name when name is empty) and returns {name, url}. */
export function createBin(name) {
  return call('POST', '/api/bins', { body: name ? { name } : {} });
}

/**
 * getRules returns the live config's state: {file, rules, error}, error
 * being the last reload's "file:line: …" message or null.
 */
export function getRules(signal) {
  return call('GET', '/api/rules', { signal });
}

/**
 * getEmitConfig returns the live config's triggers, automations and
 * subscriptions: {file, triggers, automations, subscriptions}, each with
 * its source (file:line), secrets redacted.
 */
export function getEmitConfig(signal) {
  return call('GET', '/api/emit/config', { signal });
}

/**
 * storeError returns why the server cannot store traffic or webhook
 * invocations now (its /healthz store_error or emit_error), or "" when it
 * can: the stream says so only when that changes, so a page that connects
 * later asks.
 */
export async function storeError() {
  try {
    await call('GET', '/healthz');
    return '';
  } catch (err) {
    const b = err.body || {};
    if (b.store_error) return `hooklab cannot store traffic: ${b.store_error}`;
    if (b.emit_error) return `hooklab cannot store webhook invocations: ${b.emit_error}`;
    return '';
  }
}

/** streamURL is the websocket address of the live stream, filtered to bin and to the query q when given. */
export function streamURL(bin, q) {
  const u = new URL('/api/stream', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (bin) u.searchParams.set('bin', bin);
  if (q) u.searchParams.set('q', q);
  return u.toString();
}

/**
 * decodedBody returns the body of an exchange's part ('request' or
 * 'response') decoded on the server from its Content-Encoding, as bytes:
 * for a coding the browser does not decode itself (br).
 */
export async function decodedBody(id, part) {
  const blob = await call('GET', `/api/exchanges/${encodeURIComponent(id)}/decoded`, { query: { part }, as: 'blob' });
  return new Uint8Array(await blob.arrayBuffer());
}
