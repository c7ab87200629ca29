// The detail pane: one exchange in full — overview, request and response
// headers and bodies — with its actions.

import { h, copyText } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { renderBody } from './body.js';
import { exchangeHref } from './route.js';

export class DetailPane {
  /**
   * @param {HTMLElement} el the pane (#detail)
   * @param {object} opts
   *   onClose(): the user closed the pane
   *   onDeleted(id): the exchange was deleted
   *   onError(message): an action failed
   */
  constructor(el, { onClose = () => {}, onDeleted = () => {}, onError = () => {} } = {}) {
    this.el = el;
    this.placeholder = el.firstElementChild;
    this.onClose = onClose;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.id = '';
    this.abort = null;
    this.urls = [];
  }

  /** show loads and renders the exchange id; "" closes the pane. */
  async show(id) {
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.id = id;
    if (!id) {
      this.release();
      this.el.dataset.state = 'empty';
      delete this.el.dataset.id;
      this.el.replaceChildren(this.placeholder);
      return;
    }
    const ctl = new AbortController();
    this.abort = ctl;
    this.el.dataset.state = 'loading';
    this.el.dataset.id = id;
    this.el.setAttribute('aria-busy', 'true');
    try {
      const x = await api.getExchange(id, ctl.signal);
      if (ctl.signal.aborted) return;
      this.render(x);
      this.el.dataset.state = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      this.release();
      this.el.dataset.state = 'error';
      this.el.replaceChildren(this.header(null, id),
        h('p', { class: 'error detail-error' },
          err.status === 404 ? 'This exchange no longer exists (deleted or past retention).' : err.message));
    } finally {
      if (this.abort === ctl) {
        this.abort = null;
        this.el.removeAttribute('aria-busy');
      }
    }
  }

  /** refresh re-renders the open exchange, if any, from the API. */
  refresh() {
    if (this.id) this.show(this.id);
  }

  release() {
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
  }

  header(x, id) {
    const title = x
      ? [h('span', { class: `method ${fmt.methodClass(x.method)}` }, x.method), ' ',
        h('span', { class: 'detail-path' }, x.path || '/')]
      : [h('span', { class: 'detail-path' }, id)];
    return h('div', { class: 'detail-head' },
      h('h2', { class: 'detail-title', id: 'detail-title' }, title),
      x ? h('span', { class: `status status-big ${fmt.statusClass(x.status)}` }, fmt.statusText(x.status)) : null,
      h('span', { class: 'spacer' }),
      x ? h('div', { class: 'detail-actions', role: 'toolbar', 'aria-label': 'Exchange actions' },
        h('button', {
          type: 'button', class: 'button-quiet', id: 'copy-curl', 'aria-label': 'Copy as curl command',
          onclick: (ev) => this.copyCurl(x.id, ev.currentTarget),
        }, 'Copy curl'),
        h('a', {
          class: 'button-quiet', href: api.rawURL(x.id), download: `${x.id}.http`,
          'aria-label': 'Download the raw HTTP request',
        }, 'Raw'),
        h('button', {
          type: 'button', class: 'button-quiet button-danger', 'aria-label': 'Delete this exchange',
          onclick: () => this.remove(x.id),
        }, 'Delete')) : null,
      h('button', {
        type: 'button', class: 'button-quiet close', 'aria-label': 'Close detail', title: 'Close (Esc)',
        onclick: () => this.onClose(),
      }, '✕'));
  }

  render(x) {
    this.release();
    const track = (u) => this.urls.push(u);
    const req = x.request || {};
    const res = x.response;
    const time = new Date(x.time);

    const rows = [
      ['URL', h('span', { class: 'url' }, x.url || req.url || '')],
      ['Status', x.status ? String(x.status) : 'no response'],
      ['Time', Number.isNaN(time.getTime()) ? x.time : h('time', { datetime: x.time }, fmt.exactTime(time))],
      ['Duration', fmt.duration(x.duration_ms)],
      ['Source', x.source],
      ['Bin', x.bin],
      ['Remote address', req.remote_addr || '–'],
      ['Protocol', [req.proto || '–', req.tls ? ' · TLS' : '']],
      ['Request size', sizeCell(req.size ?? x.request_size, req.truncated)],
      ['Response size', res ? sizeCell(res.size ?? x.response_size, res.truncated) : '–'],
      x.rule ? ['Rule', x.rule] : null,
      x.signature ? ['Signature', signatureCell(x.signature)] : null,
      x.replay_of ? ['Replay of', h('a', { href: exchangeHref(x.replay_of) }, x.replay_of)] : null,
      x.invocation_id ? ['Invocation', [h('code', null, x.invocation_id), x.attempt ? ` · attempt ${x.attempt}` : '']] : null,
      ['ID', h('code', null, x.id)],
    ].filter(Boolean);
    const meta = Object.entries(x.meta || {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);

    const overview = h('dl', { class: 'overview' },
      rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));

    const query = queryPairs(x.url || req.url);
    const sections = [
      x.error ? h('p', { class: 'error exchange-error', role: 'note' }, h('strong', null, 'Error: '), x.error) : null,
      section('Overview', 'overview', overview, x.truncated ? h('span', { class: 'badge badge-warn' }, 'truncated') : null),
      meta.length ? section('Details', 'meta', headersTable(meta, 'Details')) : null,
      query.length ? section('Query', 'query', headersTable(query, 'Query parameters')) : null,
      section('Request headers', 'request-headers', headersTable(req.headers, 'Request headers'), count(req.headers)),
      section('Request body', 'request-body', renderBody(req, { label: 'request', id: x.id, track })),
      res ? section('Response headers', 'response-headers', headersTable(res.headers, 'Response headers'), count(res.headers)) : null,
      res ? section('Response body', 'response-body', renderBody(res, { label: 'response', id: x.id, track }))
        : section('Response', 'response', h('p', { class: 'muted' }, 'No response was recorded.')),
    ];
    this.el.replaceChildren(this.header(x), h('div', { class: 'detail-body' }, sections));
  }

  async copyCurl(id, button) {
    try {
      const cmd = await api.curlCommand(id);
      await copyText(cmd, button);
    } catch (err) {
      this.onError(`Copy as curl: ${err.message}`);
    }
  }

  async remove(id) {
    try {
      await api.deleteExchange(id);
      this.onDeleted(id);
    } catch (err) {
      this.onError(`Delete: ${err.message}`);
    }
  }
}

function section(title, key, content, extra) {
  return h('details', { class: `section section-${key}`, open: true, dataset: { section: key } },
    h('summary', null, h('span', { class: 'section-title' }, title), extra ? [' ', extra] : null),
    content);
}

// signatureCell shows a signature verdict: the summary has it as a string,
// the full exchange as {rule, scheme, verdict, reason}.
function signatureCell(sig) {
  const s = typeof sig === 'string' ? { verdict: sig } : sig;
  return [
    h('span', { class: `badge badge-sig sig-${s.verdict}` }, s.verdict || 'unknown'),
    s.scheme ? ` ${s.scheme}` : '',
    s.rule ? ` (rule ${s.rule})` : '',
    s.reason ? [h('br'), h('span', { class: 'muted' }, s.reason)] : null,
  ];
}

function count(pairs) {
  const n = (pairs || []).length;
  return h('span', { class: 'count' }, String(n));
}

function sizeCell(size, truncated) {
  return [fmt.exactBytes(size || 0), truncated ? [' ', h('span', { class: 'badge badge-warn' }, 'truncated')] : null];
}

function headersTable(pairs, label) {
  if (!pairs || !pairs.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: 'kv headers', 'aria-label': label },
    h('colgroup', null, h('col', { class: 'kv-name' }), h('col')),
    h('tbody', null, pairs.map(([k, v]) =>
      h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)))));
}

function queryPairs(url) {
  try {
    return [...new URL(url, location.origin).searchParams];
  } catch {
    return [];
  }
}
