// The detail pane: one exchange in full — overview, request and response
// headers and bodies — with its actions.

import { h, copyText } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { renderBody } from './body.js';
import { exchangeHref } from './route.js';
import { diffExchanges } from './diff.js';

// The replay form's last target, without its secrets (rememberedTarget).
// The key before held targets as typed, secrets and all: forgetOldTarget
// removes it.
const targetKey = 'hooklab.replayTarget.v2';
const oldTargetKey = 'hooklab.replayTarget';
const largeEdit = 1 << 20; // characters of body from which the edit form leaves it out of its box until asked

export class DetailPane {
  /**
   * @param {HTMLElement} el the pane (#detail)
   * @param {object} opts
   *   onClose(): the user closed the pane
   *   onDeleted(id): the exchange was deleted
   *   onError(message): an action failed
   */
  constructor(el, { onClose = () => {}, onDeleted = () => {}, onError = () => {}, onOpen = () => {} } = {}) {
    this.el = el;
    this.onOpen = onOpen;
    this.x = null;
    this.tab = 'request';
    this.placeholder = el.firstElementChild;
    this.onClose = onClose;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.id = '';
    this.abort = null;
    this.urls = [];
    this.revealed = false; // the open exchange was fetched with its secrets (?reveal=1)
    this.goneWhileLoading = ''; // gone's message for the exchange being loaded
    this.panelOpener = ''; // selector of the button that opened the action panel
  }

  /** show loads and renders the exchange id; "" closes the pane. */
  async show(id) {
    if (this.abort) this.abort.abort();
    this.abort = null;
    const other = id !== this.id;
    if (other) this.revealed = false;
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
    this.goneWhileLoading = '';
    this.el.dataset.state = 'loading';
    this.el.dataset.id = id;
    this.el.setAttribute('aria-busy', 'true');
    try {
      const x = await api.getExchange(id, ctl.signal, { reveal: this.revealed });
      if (ctl.signal.aborted) return;
      this.render(x);
      if (other) this.el.scrollTop = 0; // another exchange opens at its top
      this.el.dataset.state = 'ready';
      // Read before a delete whose message came while it was on its way.
      if (this.goneWhileLoading) this.gone(this.goneWhileLoading);
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

  /**
   * gone says, in place of the open exchange, that it no longer exists
   * (why: message); the pane stays open at its address, as for one opened
   * after it went. Focus in the pane goes to its close button.
   */
  gone(message) {
    if (!this.id) return;
    if (this.el.dataset.state === 'loading') {
      // The exchange on its way may have been read before the delete:
      // said when it comes (one read after finds nothing itself).
      this.goneWhileLoading = message;
      return;
    }
    if (this.el.dataset.state !== 'ready') return;
    this.goneWhileLoading = '';
    const focused = this.el.contains(document.activeElement);
    this.release();
    this.el.dataset.state = 'error';
    this.el.replaceChildren(this.header(null, this.id), h('p', { class: 'error detail-error' }, message));
    if (focused) this.el.querySelector('.close')?.focus();
  }

  /** reveal shows the open exchange again with the secret header values the server redacted. */
  reveal() {
    if (!this.id) return;
    this.revealed = true;
    this.show(this.id);
  }

  /** full returns the open exchange with its secrets: as shown when revealed, else fetched with ?reveal=1. */
  async full() {
    const x = this.x;
    if (!x || this.revealed || !api.hasRedactions(x)) return x;
    return api.getExchange(x.id, undefined, { reveal: true });
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
        h('span', { class: 'detail-path' }, fmt.shownPath(x))]
      : [h('span', { class: 'detail-path' }, id)];
    return h('div', { class: 'detail-head' },
      h('h2', { class: 'detail-title', id: 'detail-title' }, title),
      x ? h('span', { class: `status status-big ${fmt.statusClass(x.status)}` }, fmt.statusText(x.status)) : null,
      h('span', { class: 'spacer' }),
      x ? h('div', { class: 'detail-actions', role: 'toolbar', 'aria-label': 'Exchange actions' },
        h('button', {
          type: 'button', class: 'button-quiet', id: 'copy-curl', 'aria-label': 'Copy as curl command', title: 'Copy as curl (c)',
          onclick: (ev) => this.copyCurl(x.id, ev.currentTarget),
        }, 'Copy curl'),
        h('button', {
          type: 'button', class: 'button-quiet', id: 'replay-open', 'aria-label': 'Replay to a target', title: 'Replay (r)',
          onclick: () => this.openReplay(),
        }, 'Replay'),
        h('button', {
          type: 'button', class: 'button-quiet', id: 'edit-open', 'aria-label': 'Edit and resend', title: 'Edit and resend (e)',
          onclick: () => this.openEdit(),
        }, 'Edit & resend'),
        h('a', {
          class: 'button-quiet', href: api.rawURL(x.id, { reveal: this.revealed }), download: `${x.id}.http`,
          'aria-label': 'Download the raw HTTP request',
        }, 'Raw'),
        h('a', {
          class: 'button-quiet', href: api.exportURL({ ids: [x.id] }), download: `${x.id}.har`, id: 'export-one',
          'aria-label': 'Export this exchange as HAR',
        }, 'HAR'),
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
      // A delivery leads to its webhook's page: its activity log, where the
      // invocation is retried.
      x.invocation_id ? ['Invocation', [h('code', null, x.invocation_id), x.attempt ? ` · attempt ${x.attempt}` : '',
        x.meta && typeof x.meta.webhook === 'string' && x.meta.webhook
          ? [' · webhook ', h('a', { href: `#/webhooks/${encodeURIComponent(x.meta.webhook)}`, title: 'the webhook and its activity log' }, x.meta.webhook)] : '']] : null,
      ['ID', h('code', null, x.id)],
    ].filter(Boolean);
    const { near_miss: nearMiss, ...rest } = x.meta || {};
    const meta = Object.entries(rest).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);

    const overview = h('dl', { class: 'overview' },
      rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));

    const query = queryPairs(x.url || req.url);
    const reveal = () => this.reveal();
    const reqPanel = [
      query.length ? section('Query', 'query', headersTable(query, 'Query parameters')) : null,
      section('Request headers', 'request-headers', headersTable(req.headers, 'Request headers', api.redactedNames(req), reveal), count(req.headers), copyAll(req.headers)),
      section('Request body', 'request-body', renderBody(req, { label: 'request', id: x.id, track })),
    ];
    const resPanel = res ? [
      section('Response headers', 'response-headers', headersTable(res.headers, 'Response headers', api.redactedNames(res), reveal), count(res.headers), copyAll(res.headers)),
      section('Response body', 'response-body', renderBody(res, { label: 'response', id: x.id, track })),
    ] : [section('Response', 'response', h('p', { class: 'muted' }, 'No response was recorded.'))];
    const tabs = [['request', 'Request', reqPanel], ['response', res ? `Response ${res.status}` : 'Response', resPanel]];
    if (x.replay_of) tabs.push(['diff', 'Diff', [this.diffSection(x)]]);
    if (!tabs.some((t) => t[0] === this.tab)) this.tab = 'request';
    if (x.replay_of && this.wantDiff) { this.tab = 'diff'; this.wantDiff = false; }
    const buttons = tabs.map(([key, label]) => h('button', {
      type: 'button', role: 'tab', class: 'tab', id: `tab-${key}`, 'aria-controls': `panel-${key}`,
      'aria-selected': String(key === this.tab), dataset: { tab: key },
      onclick: () => this.showTab(key),
    }, label));
    const panels = tabs.map(([key, , content]) => h('div', {
      role: 'tabpanel', class: 'tab-panel', id: `panel-${key}`, 'aria-labelledby': `tab-${key}`,
      dataset: { tab: key }, hidden: key !== this.tab,
    }, content));

    const sections = [
      x.error ? h('p', { class: 'error exchange-error', role: 'note' }, h('strong', null, 'Error: '), x.error) : null,
      h('div', { id: 'action-panel', class: 'action-panel', hidden: true }),
      section('Overview', 'overview', overview, x.truncated ? h('span', { class: 'badge badge-warn' }, 'truncated') : null),
      nearMiss ? section('No rule matched', 'near-miss', nearMissView(nearMiss)) : null,
      meta.length ? section('Details', 'meta', headersTable(meta, 'Details')) : null,
      h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Request or response' }, buttons),
      panels,
    ];
    this.x = x;
    this.el.replaceChildren(this.header(x), h('div', { class: 'detail-body' }, sections));
  }

  showTab(key) {
    this.tab = key;
    for (const b of this.el.querySelectorAll('.tabs [role="tab"]')) b.setAttribute('aria-selected', String(b.dataset.tab === key));
    for (const p of this.el.querySelectorAll('.tab-panel')) p.hidden = p.dataset.tab !== key;
  }

  diffSection(x) {
    const box = h('div', { class: 'diff', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Comparing with the original…'));
    api.getExchange(x.replay_of, undefined, { reveal: this.revealed }).then((orig) => { // redacted alike, so secrets do not show as changes
      const changes = diffExchanges(orig, x);
      box.replaceChildren(
        h('p', null, 'Against the original ', h('a', { href: exchangeHref(orig.id) }, orig.id), `: ${changes.length} ${changes.length === 1 ? 'difference' : 'differences'}.`),
        changes.length ? h('table', { class: 'kv diff-table', 'aria-label': 'Differences' },
          h('thead', null, h('tr', null, h('th', null, 'Where'), h('th', null, 'What'), h('th', null, 'Original'), h('th', null, 'This one'))),
          h('tbody', null, changes.map((c) => h('tr', { class: `diff-row diff-${c.kind}`, dataset: { where: c.where, path: c.path, kind: c.kind } },
            h('td', null, c.where), h('td', null, c.path, ' ', h('span', { class: 'muted' }, c.kind)),
            h('td', null, h('code', { class: 'diff-old' }, c.old)), h('td', null, h('code', { class: 'diff-new' }, c.new)))))) : '');
    }, (err) => {
      box.replaceChildren(h('p', { class: 'muted' }, `The original (${x.replay_of}) is not available: ${err.message}`));
    });
    return section('Diff', 'diff', box);
  }

  /** panel shows content in the action panel; opener is the selector of the button that opens it. */
  panel(opener, ...content) {
    const p = this.el.querySelector('#action-panel');
    if (!p) return null;
    p.replaceChildren(...content);
    p.hidden = false;
    this.panelOpener = opener;
    return p;
  }

  /**
   * closePanel hides the action panel. Focus in it (or lost with its
   * contents, as a Cancel button's is) goes back to the button that opens
   * it.
   */
  closePanel() {
    const p = this.el.querySelector('#action-panel');
    if (!p) return;
    const a = document.activeElement;
    const had = !a || a === document.body || p.contains(a);
    p.hidden = true;
    p.replaceChildren();
    const opener = had && this.panelOpener ? this.el.querySelector(this.panelOpener) : null;
    if (opener) opener.focus();
  }

  /** openReplay shows the replay form: the last target used, or the original URL when empty. */
  openReplay() {
    const x = this.x;
    if (!x) return;
    forgetOldTarget();
    const target = h('input', {
      id: 'replay-target', type: 'url', placeholder: 'original URL', 'aria-label': 'Replay target base URL',
      value: localStorage.getItem(targetKey) || '', spellcheck: 'false',
    });
    const out = h('div', { class: 'replay-result', role: 'status' });
    // A result (or error) belongs to the target it was for: once the box
    // says something else (a bad target the browser's bubble refuses, so
    // nothing is sent), it reads as the earlier one, for which target,
    // and is current again when that target is typed back.
    let shownFor = null; // {typed, to, line} of the result in out
    const staleness = () => {
      if (!shownFor) return;
      const stale = target.value.trim() !== shownFor.typed;
      if (stale === (out.dataset.stale === 'true')) return;
      if (stale) {
        out.dataset.stale = 'true';
        out.replaceChildren(h('span', { class: 'muted replay-stale' }, `Earlier result, ${shownFor.to}: `), shownFor.line);
      } else {
        delete out.dataset.stale;
        out.replaceChildren(shownFor.line);
      }
    };
    target.addEventListener('input', staleness);
    const send = h('button', { type: 'submit', class: 'button-primary', id: 'replay-send' }, 'Replay');
    const form = h('form', { class: 'inline-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const t = target.value.trim();
      if (!t) localStorage.setItem(targetKey, '');
      send.disabled = true;
      shownFor = null;
      delete out.dataset.stale;
      out.textContent = 'Replaying…';
      let shown = ''; // the target as the server shows it (secrets REDACTED), once the run started
      try {
        // A target is kept as the server shows the run's (its secrets
        // REDACTED by the server's own rule), once the run has started.
        const remember = (s) => {
          shown = s;
          if (t && s) localStorage.setItem(targetKey, rememberedTarget(s));
        };
        const res = await this.runReplay({ ids: [x.id], target: t || undefined }, remember);
        shownFor = { typed: t, line: resultLine(res) };
      } catch (err) {
        shownFor = { typed: t, line: h('span', { class: 'error' }, err.message) };
      } finally {
        send.disabled = false;
      }
      shownFor.to = !t ? 'to the original URL' : shown ? `to ${shown}` : 'for the target before';
      out.replaceChildren(shownFor.line);
      staleness(); // the box may have changed meanwhile
    } },
    h('label', { for: 'replay-target' }, 'Target'), target, send,
    h('button', { type: 'button', class: 'button-quiet', onclick: () => this.closePanel() }, 'Cancel'));
    this.panel('#replay-open', h('h3', null, 'Replay'), h('p', { class: 'muted' }, 'A base URL such as http://127.0.0.1:3000 (its scheme and host replace the original\'s, its path goes in front, and a capture sent to a bin loses its /b/NAME part); empty sends to the original URL. The form remembers the target without its secrets: a user:password@ and the value of a query parameter such as ?token= or ?api_key= are left for you to fill in again.'), form, out);
    target.focus();
  }

  /**
   * runReplay starts a replay run and waits (up to 60 s) for its one
   * result. onTarget, when given, hears the run's target as the server
   * shows it (secrets REDACTED), once the run has started.
   */
  async runReplay(spec, onTarget) {
    const run = await api.startReplay(spec);
    const deadline = Date.now() + 60_000;
    for (let first = true; ; first = false) {
      const st = await api.getReplay(run.id);
      if (first && onTarget) onTarget(st.target || '');
      if (st.state !== 'running') {
        if (st.error && !(st.results || []).length) throw new Error(st.error);
        return (st.results || [])[0] || { outcome: st.state };
      }
      if (Date.now() > deadline) throw new Error(`replay ${run.id} is still running`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * openEdit shows the request as an editable form; sending makes a new
   * exchange and opens its diff. The form holds the real values of secret
   * headers (fetched with ?reveal=1 when the pane shows them redacted):
   * resending "REDACTED" would send a different request.
   */
  async openEdit() {
    const shown = this.x;
    if (!shown) return;
    let x;
    try {
      x = await this.full();
    } catch (err) {
      this.onError(`Edit and resend: ${err.message}`);
      return;
    }
    if (this.x !== shown) return; // another exchange opened meanwhile
    const req = x.request || {};
    const binary = req.encoding === 'base64';
    const method = h('input', { id: 'edit-method', value: req.method || x.method, 'aria-label': 'Method', spellcheck: 'false', size: '8' });
    const url = h('input', { id: 'edit-url', value: req.url || x.url, 'aria-label': 'URL', spellcheck: 'false', class: 'grow' });
    const headers = h('textarea', { id: 'edit-headers', rows: '6', 'aria-label': 'Headers, one Name: value a line', spellcheck: 'false' });
    // Host follows the URL and Content-Length the body: they are not
    // offered for editing (a Host written here is sent as the Host).
    const derived = new Set(['host', 'content-length', 'transfer-encoding']);
    headers.value = (req.headers || []).filter(([k]) => !derived.has(String(k).toLowerCase())).map(([k, v]) => `${k}: ${v}`).join('\n');
    // A textarea lays out megabytes of text for seconds (a JSON body is
    // often one line): a large body goes in the box only when asked for.
    const large = !binary && (req.body || '').length >= largeEdit;
    let loaded = !binary && !large;
    const body = h('textarea', { id: 'edit-body', rows: '10', 'aria-label': 'Body', spellcheck: 'false', disabled: !loaded });
    body.value = binary ? '(binary body: sent unchanged)'
      : large ? `(${fmt.bytes(req.size || req.body.length)} body: sent unchanged unless you edit it)` : (req.body || '');
    const load = large ? h('button', {
      type: 'button', class: 'button-quiet', id: 'edit-body-load',
      onclick: () => {
        load.remove();
        body.value = req.body;
        body.disabled = false;
        loaded = true;
        body.focus();
      },
    }, 'Edit the body') : null;
    const out = h('div', { class: 'edit-result', role: 'status' });
    const send = h('button', { type: 'submit', class: 'button-primary', id: 'edit-send' }, 'Send');
    const form = h('form', { class: 'edit-form', onsubmit: async (ev) => {
      ev.preventDefault();
      let u;
      try {
        u = new URL(url.value.trim());
      } catch {
        out.replaceChildren(h('span', { class: 'error' }, 'The URL must be absolute, like http://127.0.0.1:3000/hooks'));
        return;
      }
      const set = [];
      for (const line of headers.value.split('\n')) {
        const t = line.trim();
        if (!t) continue;
        const i = t.indexOf(':');
        if (i <= 0) {
          out.replaceChildren(h('span', { class: 'error' }, `Header line "${t}" needs "Name: value"`));
          return;
        }
        set.push([t.slice(0, i).trim(), t.slice(i + 1).trim()]);
      }
      const keep = new Set(set.map(([k]) => k.toLowerCase()));
      const remove = [...new Set((req.headers || []).map(([k]) => k).filter((k) => !keep.has(k.toLowerCase()) && !derived.has(k.toLowerCase())))];
      const override = { method: method.value.trim().toUpperCase(), path: pathAsTyped(url.value.trim()), set_headers: set, remove_headers: remove };
      const edited = loaded ? editedBody(body.value, req.body || '') : null;
      if (edited !== null) override.body = edited;
      send.disabled = true;
      out.textContent = 'Sending…';
      try {
        const res = await this.runReplay({ ids: [x.id], target: u.origin, override });
        if (!res.replay) throw new Error(res.error || `not recorded (${res.outcome})`);
        out.replaceChildren(resultLine(res));
        this.wantDiff = true;
        this.onOpen(res.replay);
      } catch (err) {
        out.replaceChildren(h('span', { class: 'error' }, `Send: ${err.message}`));
      } finally {
        send.disabled = false;
      }
    } },
    h('div', { class: 'row' }, method, url),
    h('label', { for: 'edit-headers' }, 'Headers'), headers,
    h('label', { for: 'edit-body' }, 'Body'), body,
    load ? h('div', { class: 'row' }, load) : null,
    h('div', { class: 'row' }, send, h('button', { type: 'button', class: 'button-quiet', onclick: () => this.closePanel() }, 'Cancel')));
    this.panel('#edit-open', h('h3', null, 'Edit and resend'), form, out);
    method.focus();
  }

  /** copyBody copies the open exchange's request body (the response's when the response tab is open). */
  async copyBody(button) {
    const x = this.x;
    if (!x) return;
    const part = this.tab === 'response' ? x.response : x.request;
    await copyText((part && part.body) || '', button);
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

function section(title, key, content, extra, action) {
  return h('details', { class: `section section-${key}`, open: true, dataset: { section: key } },
    h('summary', null, h('span', { class: 'section-title' }, title), extra ? [' ', extra] : null, action ? [' ', action] : null),
    content);
}

function copyAll(pairs) {
  if (!pairs || !pairs.length) return null;
  return h('button', {
    type: 'button', class: 'button-quiet button-small', 'aria-label': 'Copy all headers',
    onclick: (ev) => { ev.preventDefault(); copyText(pairs.map(([k, v]) => `${k}: ${v}`).join('\n'), ev.currentTarget); },
  }, 'Copy all');
}

function resultLine(res) {
  return h('span', { class: `outcome outcome-${res.outcome}` },
    `${res.outcome || ''}`, res.status ? ` · ${res.recorded_status || '–'} → ${res.status}` : '',
    res.error ? ` · ${res.error}` : '',
    res.replay ? [' · ', h('a', { href: exchangeHref(res.replay), class: 'replay-link' }, 'open the new exchange')] : null);
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

// nearMissView shows meta.near_miss ({rule, reasons}): the mock rule that
// came closest to answering, and each reason it did not, one a line.
function nearMissView(nm) {
  const reasons = Array.isArray(nm.reasons) ? nm.reasons : [];
  return h('div', { class: 'near-miss' },
    h('p', null, 'The default answer was sent. The closest mock rule was ',
      h('strong', { class: 'near-miss-rule' }, String(nm.rule || '?')),
      reasons.length ? ', which missed because:' : '.'),
    reasons.length ? h('ul', { class: 'near-miss-reasons' }, reasons.map((r) => h('li', null, String(r)))) : null);
}

function count(pairs) {
  const n = (pairs || []).length;
  return h('span', { class: 'count' }, String(n));
}

function sizeCell(size, truncated) {
  return [fmt.exactBytes(size || 0), truncated ? [' ', h('span', { class: 'badge badge-warn' }, 'truncated')] : null];
}

// headersTable lists [name, value] pairs. The values of the headers named
// in redacted (lower case) are the server's "REDACTED": they show muted,
// with a button that calls onReveal.
// At most maxRows pairs are listed: a sender can send tens of thousands,
// and a table of them would hold the page for seconds.
const maxRows = 500;

function headersTable(pairs, label, redacted = new Set(), onReveal = null) {
  if (!pairs || !pairs.length) return h('p', { class: 'muted' }, 'None.');
  const more = pairs.length - maxRows;
  return h('table', { class: 'kv headers', 'aria-label': label },
    h('colgroup', null, h('col', { class: 'kv-name' }), h('col')),
    more > 0 ? h('tfoot', null, h('tr', null, h('td', { colspan: '2', class: 'muted' }, `${more} more not listed: see Raw.`))) : null,
    h('tbody', null, pairs.slice(0, maxRows).map(([k, v]) => {
      const hidden = redacted.has(String(k).toLowerCase()) && String(v).includes('REDACTED');
      return h('tr', { dataset: { header: String(k).toLowerCase() }, class: hidden ? 'redacted-row' : null },
        h('th', { scope: 'row' }, k),
        h('td', null,
          hidden ? h('span', { class: 'redacted', title: 'A secret: hooklab hides its value unless asked' }, v) : v,
          hidden && onReveal ? [' ', h('button', {
            type: 'button', class: 'button-quiet button-small reveal', 'aria-label': `Reveal ${k}`,
            title: 'Show the secret values of this exchange', onclick: onReveal,
          }, 'Reveal')] : null,
          h('button', { type: 'button', class: 'copy-one', 'aria-label': `Copy ${k}`, title: 'Copy this header', onclick: (ev) => copyText(`${k}: ${v}`, ev.currentTarget) })));
    })));
}

// pathAsTyped returns the path and query of an absolute URL as written
// (with "?" when it has no query, so an emptied query replaces the
// original's): URL's pathname and search would remove dot segments
// (/a/../b), turn a backslash into "/" and escape quotes and brackets, so even an
// unedited resend would not be the request recorded. Only spaces, controls
// and characters beyond ASCII, which no request line holds, are escaped.
export function pathAsTyped(typed) {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*([^#]*)/.exec(typed);
  let rest = m ? m[1] : '';
  if (!rest.startsWith('/')) rest = `/${rest}`;
  rest = rest.replace(/[^\x21-\x7e]/gu, (c) => {
    try { return encodeURIComponent(c); } catch { return '%EF%BF%BD'; } // a lone surrogate
  });
  return rest.includes('?') ? rest : `${rest}?`;
}

// editedBody returns the body to send for the text of the edit form's body
// box, or null when it is the body recorded: the server then sends that
// byte for byte (and refuses one it recorded cut short, which the box holds
// cut). A textarea gives its text with every line break as "\n": an edited
// body whose line breaks were all CRLF (a multipart body's delimiters) gets
// them back.
export function editedBody(typed, recorded) {
  if (typed === recorded.replace(/\r\n?/g, '\n')) return null;
  if (recorded.includes('\r\n') && !/(^|[^\r])\n/.test(recorded)) return typed.replace(/\r?\n/g, '\r\n');
  return typed;
}

function queryPairs(url) {
  try {
    return [...new URL(url, location.origin).searchParams];
  } catch {
    return [];
  }
}

/**
 * rememberedTarget is what the replay form keeps in localStorage of a
 * target the server showed for a run: there its password and the values of
 * secret-named query parameters (?token=, ?api_key=, and those named by
 * --secret-header) read REDACTED, by the server's rule (inspect.ShownURL),
 * so the UI holds no list of its own to fall out of step. Here the user
 * info goes whole (a token may be the user name), and each REDACTED value
 * is emptied (?token=), leaving the name to fill in. A target that does not
 * parse is not kept.
 */
function rememberedTarget(shown) {
  let u;
  try {
    u = new URL(shown);
  } catch {
    return '';
  }
  let changed = false;
  if (u.username || u.password) {
    u.username = '';
    u.password = '';
    changed = true;
  }
  if (u.search.length > 1) {
    const pairs = u.search.slice(1).split('&').map((p) => {
      const i = p.indexOf('=');
      if (i < 0 || p.slice(i + 1) !== 'REDACTED') return p;
      changed = true;
      return p.slice(0, i + 1);
    });
    u.search = pairs.join('&');
  }
  return changed ? u.href : shown; // unchanged: as the user wrote it
}

/**
 * forgetOldTarget removes the target an older hooklab kept as typed, with
 * any secret in it; one that has no query and no user info, and so no
 * secret by the server's rule, moves to the new key.
 */
function forgetOldTarget() {
  const old = localStorage.getItem(oldTargetKey);
  if (old === null) return;
  localStorage.removeItem(oldTargetKey);
  if (localStorage.getItem(targetKey) === null && !/[?@]/.test(old)) localStorage.setItem(targetKey, old);
}
