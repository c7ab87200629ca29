// The views besides traffic: bins, webhooks (list, form, test send,
// activity log), rules (the live config) and replay runs. Each renders into
// #view-other from the API and refreshes on the stream's events.

import { h, append, copyText } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { jsonTree } from './body.js';
import { exchangeHref } from './route.js';
import * as query from './query.js';

const call = api.call;

function when(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return h('span', null, '–');
  return h('time', { datetime: t, title: fmt.exactTime(d) }, fmt.relativeTime(d));
}

// untilTime shows iso, an RFC 3339 time a wait ends at (a circuit's
// cool-down), as the local time of day ("18:42:07", the date too when it
// is another day), the API's time whole in its title. data-until lets
// the view draw itself again when it passes.
function untilTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', null, iso);
  return h('time', { datetime: iso, title: iso, dataset: { until: iso } }, fmt.clockTime(d));
}

const circuitHelp = {
  closed: 'Circuit breaker closed: deliveries go.',
  open: 'Circuit breaker open: deliveries wait (circuit_broken) until its cool-down ends.',
  half_open: 'Circuit breaker half open: the next attempt goes as the probe; its success closes the circuit, its failure opens it again.',
};

// circuitBadge shows a webhook's circuit breaker: "circuit closed",
// "circuit half open", or "circuit open until 18:42:07" (the API's
// circuit and circuit_until); null when the API gave no state.
function circuitBadge(circuit, until) {
  if (!circuit) return null;
  return h('span', { class: `badge circuit-${circuit}`, title: circuitHelp[circuit] || 'circuit breaker' },
    `circuit ${circuit.replace('_', ' ')}`, circuit === 'open' && until ? [' until ', untilTime(until)] : null);
}

// waitingText shows an invocation's waiting (what it waits for: "the
// webhook is inactive", "the circuit is open until T", "retrying: attempt
// 2 of 4 at T"); a text with a waiting_until ends with that time, T,
// shown as untilTime of the API's waiting_until.
function waitingText(waiting, until) {
  const i = waiting.lastIndexOf(' ');
  return until && i >= 0 ? [waiting.slice(0, i + 1), untilTime(until)] : waiting;
}

// defKey is what a webhook's form was drawn from (GET's webhook, or the
// answer to saving it): its definition as the API shows it, without its
// stats, which move with every delivery. Another key is another definition.
function defKey(w) {
  if (!w) return '';
  const { stats, circuit, circuit_until: until, ...def } = w;
  return JSON.stringify(def);
}

// carryTest moves what the user put in a webhook page's test send (the
// payload and params typed, the last result) from the page old into
// fresh, which replaces it: the form is drawn again, the test is theirs.
function carryTest(old, fresh) {
  for (const sel of ['#wh-test-payload', '#wh-test-params']) {
    const o = old.querySelector(sel);
    const f = fresh.querySelector(sel);
    if (o && f) f.value = o.value;
  }
  const o = old.querySelector('#wh-test-result');
  const f = fresh.querySelector('#wh-test-result');
  if (o && f) f.replaceChildren(...o.childNodes);
}

// connectionsNote says what in the config connects a webhook to events
// (the top-level subscriptions naming it, the triggers and automations
// notifying it), which its own fields do not show; null when nothing does.
function connectionsNote(c) {
  if (!c) return null;
  const subs = c.subscriptions || [];
  const triggers = c.triggers || [];
  const automations = c.automations || [];
  if (!subs.length && !triggers.length && !automations.length) return null;
  const names = (list) => list.map((n, i) => [i ? ', ' : '', h('code', null, n)]);
  return h('div', { class: 'wh-connections', id: 'wh-connections' },
    h('span', { class: 'wh-connections-label' }, 'In the config'),
    h('ul', null,
      subs.map((s) => h('li', { class: 'wh-connection-subscription' }, 'subscribed to ', h('code', null, (s.events || []).join(', ')),
        ' at ', h('code', null, s.source || ''))),
      triggers.length ? h('li', null, `notified by trigger${triggers.length > 1 ? 's' : ''} `, names(triggers)) : null,
      automations.length ? h('li', null, `notified by automation${automations.length > 1 ? 's' : ''} `, names(automations)) : null,
      h('li', { class: 'muted' }, h('a', { href: '#/rules' }, 'See them in Rules'))));
}

// scrollBox holds a table that may be wider than a narrow window: there
// it scrolls sideways on its own, and the view around it stays put.
function scrollBox(tbl) {
  return h('div', { class: 'table-scroll' }, tbl);
}

function table(label, head, rows, cls = '') {
  return scrollBox(h('table', { class: `kv grid ${cls}`, 'aria-label': label },
    h('thead', null, h('tr', null, head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows)));
}

function jsonBlock(v) {
  const text = JSON.stringify(v, null, 2);
  const pre = h('pre', { class: 'code json-tree' });
  pre.append(jsonTree(text));
  return pre;
}

function headerLines(pairs) {
  return (pairs || []).map(([k, v]) => `${k}: ${v}`).join('\n');
}

// Final invocation statuses (emit's); the others (pending, throttled,
// circuit_broken) are still on their way.
const finalStatuses = ['success', 'failed', 'timeout', 'client_error', 'server_error'];
const invocationStatuses = ['pending', ...finalStatuses, 'throttled', 'circuit_broken'];
const rateSample = 100;
// Signing schemes (rules.Schemes), and none.
const signingSchemes = ['zendesk', 'standard-webhooks', 'github', 'stripe', 'slack', 'shopify', 'none'];

// paramPairs reads a test send's params, one name=value a line, as
// [name, value] pairs in the order written: a line without = is a name
// with an empty value, blank lines are skipped, and spaces around the
// name and the value go. A line with no name (=x) is an error naming it.
// customHeaders reads the custom headers box, one Name: value a line, into
// the API's object ({headers}), and says what in it the object cannot hold
// as written ({problems}, as the API's errors: {field, error}): a line
// without a colon, which would go out as a header of that name with no
// value, and a name on two lines (in any case: one header), of which the
// object would keep one value. The headers leave those lines out.
function customHeaders(text) {
  const headers = {};
  const problems = [];
  const seen = new Map();
  text.split('\n').forEach((line, n) => {
    const t = line.trim();
    if (!t) return;
    const i = t.indexOf(':');
    if (i < 0) {
      problems.push({ field: 'custom_headers', error: `line ${n + 1} (${t}) has no colon: write one header a line, as Name: value` });
      return;
    }
    const name = t.slice(0, i).trim();
    const first = seen.get(name.toLowerCase());
    if (first) {
      problems.push({ field: 'custom_headers', error: `line ${n + 1} names ${name} again (line ${first}): a custom header is sent once, with one value; keep one of the lines` });
      return;
    }
    seen.set(name.toLowerCase(), n + 1);
    headers[name] = t.slice(i + 1).trim();
  });
  return { headers, problems };
}

// looseText words an API problem ({field, error}) shown away from its
// field, as the API's Error does: "field: message", unless the message
// begins with the field's name ("endpoint is required").
function looseText({ field, error }) {
  return !field || error.startsWith(`${field} `) ? error : `${field}: ${error}`;
}

// besideText words an API problem shown beside the form's field key (a
// data-field), whose label names it: the message alone ("name is 300
// characters long; the limit is 255", not "name: name is ..."). Of a
// field deeper than key, what the label does not name comes first unless
// the message names it (custom_headers.X-Trace: "X-Trace: header value
// ..."; not an item's number, subscriptions.2, whose message quotes it).
// A test send's API names the definition's fields under webhook.
function besideText({ field, error }, key) {
  const name = field.replace(/^webhook\./, '');
  const rest = name === key ? '' : name.startsWith(`${key}.`) ? name.slice(key.length + 1) : name;
  if (!rest || /^\d+$/.test(rest) || error.startsWith(`${rest} `) || error.startsWith(`${name.replaceAll('.', ' ')} `)) return error;
  return `${rest}: ${error}`;
}

function paramPairs(text) {
  const pairs = [];
  text.split('\n').forEach((line, n) => {
    const l = line.trim();
    if (!l) return;
    const i = l.indexOf('=');
    const name = (i < 0 ? l : l.slice(0, i)).trim();
    if (!name) throw new Error(`Params, line ${n + 1}: no name before the =`);
    pairs.push([name, i < 0 ? '' : l.slice(i + 1).trim()]);
  });
  return pairs;
}

// signatureHelp says, for each scheme, the headers a request carries and
// what the receiver computes to check them (as rules.Sign signs). none
// has no entry: its requests carry no signature.
const signatureHelp = {
  zendesk: 'X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of X-Zendesk-Webhook-Signature-Timestamp then the body',
  'standard-webhooks': 'Webhook-Signature: v1, then base64 HMAC-SHA256 of Webhook-Id.Webhook-Timestamp.body, keyed with the secret after whsec_, base64-decoded',
  github: 'X-Hub-Signature-256: sha256= then hex HMAC-SHA256 of the body',
  stripe: 'Stripe-Signature: t=TIMESTAMP,v1= then hex HMAC-SHA256 of TIMESTAMP.body',
  slack: 'X-Slack-Signature: v0= then hex HMAC-SHA256 of v0:X-Slack-Request-Timestamp:body',
  shopify: 'X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the body',
};
const activityPage = 50; // invocations a page of the activity log

/**
 * successRate says how often webhook w's deliveries succeed: from the
 * list item's stats when the server gives them ({success_rate, total,
 * by_status}), else from the last 100 invocations of its activity log, of
 * which the finished ones count. It resolves to {text, title, source};
 * text gives the share with what it is of: "83% (5/6)".
 */
export async function successRate(w) {
  const pct = (r) => `${Math.round(r * 100)}%`;
  const st = w.stats;
  if (st && typeof st === 'object' && 'success_rate' in st) {
    const total = Number(st.total) || 0;
    const ok = st.by_status && st.by_status.success != null ? Number(st.by_status.success) : Math.round((st.success_rate || 0) * total);
    if (st.success_rate == null || !total) return { text: '–', title: 'no finished invocations yet', source: 'stats' };
    return { text: `${pct(st.success_rate)} (${ok}/${total})`, title: `${ok} of ${total} finished ${total === 1 ? 'invocation' : 'invocations'} succeeded`, source: 'stats' };
  }
  const r = await call('GET', `/api/webhooks/${encodeURIComponent(w.id)}/invocations`, { query: { limit: rateSample } });
  const inv = (r && r.invocations) || [];
  const done = inv.filter((x) => finalStatuses.includes(x.status));
  if (!done.length) return { text: '–', title: inv.length ? `none of the last ${inv.length} invocations has finished yet` : 'no invocations yet', source: 'log' };
  const ok = done.filter((x) => x.status === 'success').length;
  return {
    text: `${pct(ok / done.length)} (${ok}/${done.length})`,
    title: `${ok} of ${done.length} finished ${done.length === 1 ? 'invocation' : 'invocations'} succeeded (of the last ${inv.length} in the activity log)`,
    source: 'log',
  };
}

/**
 * selectionText shows what a replay run replays, as the server says it
 * (selection.text: "3 exchanges by id: A, B, C", "2 exchanges matching
 * bin=stripe; header Authorization: REDACTED"), the ids it names as links
 * to the exchanges.
 */
function selectionText(sel) {
  if (!sel || !sel.text) return '–';
  const ids = sel.ids || [];
  const list = ids.join(', ');
  const at = ids.length ? sel.text.indexOf(list) : -1;
  if (at < 0) return sel.text;
  return [sel.text.slice(0, at), ids.map((id, i) => [i ? ', ' : '', h('a', { href: exchangeHref(id) }, id)]), sel.text.slice(at + list.length)];
}

/**
 * diffView shows a replay result's changes and, greyed among them, the
 * values its ignore rules left out (res.ignored: same shape, kind saying
 * how they differ), sorted by path: side by side (mode "table") or unified.
 */
export function diffView(res, mode) {
  const rows = [
    ...(res.changes || []).map((c) => ({ ...c, ignored: false })),
    ...(res.ignored || []).map((c) => ({ ...c, ignored: true })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (!rows.length) return null;
  const cls = (c) => `diff-row ${c.ignored ? 'diff-ignored' : `diff-${c.kind}`}`;
  const data = (c) => ({ path: c.path, kind: c.kind, ignored: String(c.ignored) });
  const note = (c) => (c.ignored ? 'ignored: not compared' : null);
  const lines = (text) => text.split('\n').map((l) => h('span', { class: l[0] === '+' ? 'u-add' : l[0] === '-' ? 'u-del' : '' }, `${l}\n`));
  if (mode === 'table') {
    // A text body's change comes as a line diff (unified), without old
    // and new values: it spans both columns, as the lines hold both.
    // Its columns have set widths (diff-changes), so that every result's
    // table on a run's page has them at the same place.
    return table('Changes', ['Where', 'Kind', 'Recorded', 'Replayed'], rows.map((c) => h('tr', { class: cls(c), dataset: data(c), title: note(c) },
      h('td', null, h('code', null, c.path)), h('td', null, c.ignored ? `ignored (${c.kind})` : c.kind),
      c.unified ? h('td', { colspan: '2' }, h('pre', { class: 'code unified' }, lines(c.unified)))
        : [h('td', null, h('pre', { class: 'code diff-old' }, c.old || '')), h('td', null, h('pre', { class: 'code diff-new' }, c.new || ''))])), 'diff-changes');
  }
  return rows.map((c) => h('div', { class: cls(c), dataset: data(c), title: note(c) }, h('code', null, c.path), c.ignored ? ` ignored (${c.kind})` : ` ${c.kind}`,
    h('pre', { class: 'code unified' }, c.unified
      ? lines(c.unified)
      : [h('span', { class: 'u-del' }, `- ${c.old || ''}\n`), h('span', { class: 'u-add' }, `+ ${c.new || ''}\n`)])));
}

// A view drawn again replaces the element that has the focus (a live
// event's redraw, a bin created): focusKey notes which control it was, and
// keepFocus focuses its counterpart in what replaced it, so that a keyboard
// user stays where they were instead of going back to the page's start.
const focusable = 'a[href], button, input, select, textarea, summary, [tabindex]';
const rowKeys = ['id', 'bin', 'rule', 'run', 'index'];

// rowOf names the row (or result) el is in, by its data-id, data-bin, …
function rowOf(el) {
  const row = el.closest(rowKeys.map((k) => `[data-${k}]`).join(','));
  return row ? rowKeys.map((k) => row.dataset[k] ?? '').join('\u0000') : '';
}

// controlOf names the control el is: its id, else its label or text.
function controlOf(el) {
  return `${el.tagName}\u0000${el.id || el.getAttribute('aria-label') || el.getAttribute('href') || el.textContent.trim()}`;
}

function focusKey(root) {
  const a = document.activeElement;
  if (!a || a === document.body || !root.contains(a)) return null;
  return { control: controlOf(a), row: rowOf(a) };
}

function keepFocus(key, root) {
  // Focus that moved on meanwhile (the user tabbed away) is theirs.
  if (!key || (document.activeElement && document.activeElement !== document.body) || !root.isConnected) return;
  const all = [...root.querySelectorAll(focusable)];
  // The same control, else (a Retry gone once retried) the first of its row.
  const el = all.find((e) => controlOf(e) === key.control && rowOf(e) === key.row) ||
    (key.row ? all.find((e) => rowOf(e) === key.row && !e.disabled) : null);
  if (el) el.focus({ preventScroll: true });
}

export class Views {
  constructor(el, { notice = () => {}, openExchange = () => {} } = {}) {
    this.el = el;
    this.notice = notice;
    this.openExchange = openExchange;
    this.route = null;
    this.timer = 0;
  }

  /** show renders the view of route ({view, id}), or stops when route is null. */
  show(route) {
    const same = this.route && route && this.route.view === route.view && this.route.id === route.id;
    if (same) return; // hashchange and popstate both report one change
    clearTimeout(this.timer);
    this.timer = 0;
    clearTimeout(this.untilTimer);
    this.untilTimer = 0;
    this.fullPending = false;
    this.route = route;
    this.drawn = null;
    if (!route) return;
    this.el.replaceChildren(h('p', { class: 'muted view-loading' }, 'Loading…'));
    this.render();
  }

  refresh() {
    if (this.route) this.render();
  }

  /**
   * onStream hears the stream's events. New exchanges change the bins'
   * counts and the rules' hits, and deletes (retention's, or through the
   * API from elsewhere) and clears the bins' counts:
   * only those tables are drawn again (a form being typed in and an
   * opened config stay), at most every 2 s.
   */
  onStream(msg) {
    if (!this.route) return;
    const v = this.route.view;
    if ((msg.type === 'webhook' || msg.type === 'webhook_deleted') && v === 'webhooks') {
      this.webhookChanged(msg);
      return;
    }
    const full = (msg.type === 'rules' && v === 'rules') || (msg.type === 'replay' && v === 'replays') ||
      (msg.type === 'invocation' && v === 'webhooks') || (msg.type === 'rules' && v === 'webhooks' && !this.route.id);
    const counts = msg.type === 'exchange' && (v === 'bins' || v === 'rules') ||
      (msg.type === 'retained' || msg.type === 'deleted' || msg.type === 'cleared') && v === 'bins';
    if (!full && !counts) return;
    if (full) this.fullPending = true;
    // One render per burst of events: the webhook list asks every
    // webhook's activity log again, so it waits a second.
    if (this.timer) return;
    const delay = !full ? 2000 : v === 'webhooks' && !this.route.id ? 1000 : 200;
    this.timer = setTimeout(() => {
      this.timer = 0;
      const liveOnly = !this.fullPending;
      this.fullPending = false;
      this.render({ liveOnly });
    }, delay);
  }

  /**
   * webhookChanged follows a webhook message ("webhook": made or changed
   * elsewhere, its circuit moved; "webhook_deleted") under the webhooks
   * view: the list is drawn again; the page of that webhook draws its
   * heading and activity log again (the waiting texts follow its circuit
   * and status), and its form too unless the user is editing it, when a
   * note says it changed elsewhere, with a button to reload it.
   */
  webhookChanged(msg) {
    const id = msg.type === 'webhook' ? (msg.webhook && msg.webhook.id) : msg.id;
    const r = this.route;
    if (!id || (r.id && r.id !== id)) return;
    const gone = this.el.querySelector('#wh-deleted');
    if (msg.type === 'webhook_deleted') {
      if (r.id) this.webhookGone(r, id);
      else this.fullPending = true;
    } else {
      if (gone) gone.remove();
      this.fullPending = true;
    }
    if (!this.fullPending || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.fullPending = false;
      this.render();
    }, 200);
  }

  /** webhookGone says on webhook id's page that it was deleted, and draws its activity log again. */
  async webhookGone(r, id) {
    // Its circuit's "open until" says nothing now: no redraw then (GET
    // would find no webhook).
    clearTimeout(this.untilTimer);
    this.untilTimer = 0;
    const form = this.el.querySelector('#webhook-form');
    if (form && !form.querySelector('#wh-deleted')) {
      form.prepend(h('p', { class: 'banner banner-info wh-elsewhere', id: 'wh-deleted', role: 'status' },
        `Webhook ${id} was deleted elsewhere (another page, the API or the config file): saving this form would find nothing to change. `,
        h('a', { href: '#/webhooks' }, 'Back to the webhooks')));
    }
    // An empty log stays so (and the API has no log for a webhook gone
    // that had no invocations: a 404).
    if (!this.el.querySelector('.activity .invocation-row')) return;
    try {
      const act = await this.activity(id);
      const old = this.el.querySelector('.activity');
      if (this.route === r && old) old.replaceWith(act);
    } catch (err) {
      if (this.route === r) this.notice(err.message);
    }
  }

  async render({ liveOnly = false } = {}) {
    const r = this.route;
    try {
      let content;
      switch (r.view) {
        case 'bins': content = await this.bins(); break;
        case 'rules': content = await this.rules(); break;
        case 'replays': content = r.id ? await this.replay(r.id) : await this.replays(); break;
        case 'webhooks': content = r.id ? await this.webhook(r.id) : await this.webhooks(); break;
        default: return;
      }
      if (this.route !== r) return;
      this.draw(r, content, liveOnly);
    } catch (err) {
      if (this.route !== r) return;
      // A view drawn already stays, and what is typed in it (the server
      // away, say): the failure is a notice. A first draw shows it.
      if (this.drawn === r) this.notice(err.message);
      else this.el.replaceChildren(h('p', { class: 'error' }, err.message));
    }
  }

  /** draw puts content, the view of r, in the page: its data-live parts alone when liveOnly or a form is being typed in. */
  draw(r, content, liveOnly = false) {
    const key = focusKey(this.el);
    const parts = () => {
      const olds = this.el.querySelectorAll('[data-live]');
      const fresh = content.querySelectorAll('[data-live]');
      if (olds.length !== fresh.length) return false;
      olds.forEach((o, i) => o.replaceWith(fresh[i]));
      return true;
    };
    // Keep what the user is typing: forms re-render only on navigation.
    // The parts marked data-live around it (a webhook's heading and
    // activity log, the bins' table) are drawn again.
    const active = this.el.querySelector('[data-keep]');
    if (liveOnly && this.el.querySelector('[data-live]') && parts()) {
      // drawn
    } else if (active && active.dataset.keep === `${r.view}/${r.id}`) {
      this.keepForm(active, content, parts);
    } else {
      this.el.replaceChildren(content);
      this.drawn = r;
    }
    keepFocus(key, this.el);
    this.redrawAfterUntil(r);
  }

  /**
   * keepForm draws content over a view whose form (active) is kept: its
   * data-live parts. When the form shows a webhook that has changed since
   * (defKey), the form is drawn again from content if the user has not
   * edited it (what they typed in the test send stays); if they have, a
   * note says so, with a button that draws it again (reloadForm: their
   * edits go).
   */
  keepForm(active, content, parts) {
    const fresh = content.querySelector('[data-keep]');
    const changed = fresh && active.defKey && fresh.defKey && fresh.defKey !== active.defKey;
    if (changed && active.dataset.saving && !this.reloadForm) {
      // Perhaps the user's own change, whose answer has not come: once
      // it has, the form is looked at again (see the form's submit).
      active.dataset.recheck = 'true';
      parts();
      return;
    }
    if (this.reloadForm || (changed && !active.dataset.edited)) {
      this.reloadForm = false;
      carryTest(this.el, content);
      this.el.replaceChildren(content);
      return;
    }
    this.reloadForm = false;
    parts();
    const note = active.querySelector('#wh-changed');
    if (!changed) {
      if (note) note.remove();
      return;
    }
    if (note) return;
    active.prepend(h('p', { class: 'banner banner-info wh-elsewhere', id: 'wh-changed', role: 'status' },
      'This webhook was changed elsewhere (another page, the API or the config file) while you were editing it: saving puts your version over it. ',
      h('button', { type: 'button', class: 'button-quiet button-small', id: 'wh-reload', onclick: () => {
        this.reloadForm = true;
        this.render();
      } }, 'Reload it (drops your edits)')));
  }

  /**
   * redrawAfterUntil draws the data-live parts of view r again once the
   * soonest wait it shows ends (a circuit's cool-down: "open until
   * 18:42:07" is not true after it), as no event may come then.
   */
  redrawAfterUntil(r) {
    clearTimeout(this.untilTimer);
    this.untilTimer = 0;
    const now = Date.now();
    const ends = [...this.el.querySelectorAll('time[data-until]')].map((t) => Date.parse(t.dataset.until)).filter((t) => t > now);
    if (!ends.length) return;
    this.untilTimer = setTimeout(() => {
      this.untilTimer = 0;
      if (this.route === r) this.render({ liveOnly: true });
    }, Math.min(...ends) - now + 1000);
  }

  // ---- bins ----

  async bins() {
    const bins = await api.listBins();
    // No pattern: the server's refusal says what is wrong and what is
    // allowed, where the browser's bubble named no format.
    const name = h('input', { id: 'bin-name', placeholder: 'name (empty: generated)', 'aria-label': 'New bin name' });
    const out = h('p', { id: 'bin-created', role: 'status' });
    // data-keep: a render (new traffic, a reconnect) draws the table
    // again, not the name being typed.
    const form = h('form', { class: 'inline-form', dataset: { keep: 'bins/' }, onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const b = await api.createBin(name.value.trim());
        out.replaceChildren('Send requests to ', h('code', { class: 'copyable' }, b.url), ' ',
          h('button', { type: 'button', class: 'button-quiet', onclick: (e) => copyText(b.url, e.currentTarget) }, 'Copy'));
        name.value = '';
        const fresh = await this.bins();
        fresh.querySelector('#bin-created').replaceWith(out);
        const key = focusKey(this.el);
        this.el.replaceChildren(fresh);
        keepFocus(key, this.el);
      } catch (err) {
        out.replaceChildren(h('span', { class: 'error' }, err.message));
      }
    } }, name, h('button', { type: 'submit', class: 'button-primary' }, 'Create bin'));
    return h('section', { class: 'view view-bins', 'aria-labelledby': 'bins-title' },
      h('h2', { id: 'bins-title' }, 'Bins'),
      form, out,
      h('div', { dataset: { live: '' } }, bins.length ? table('Bins', ['Name', 'Exchanges', 'Last', 'URL', ''], bins.map((b) => h('tr', { class: 'bin-row', dataset: { bin: b.name } },
        h('td', null, h('a', { href: `?bin=${encodeURIComponent(b.name)}#/` }, b.name)),
        h('td', { class: 'num' }, String(b.count)),
        h('td', null, b.last_seen ? when(b.last_seen) : '–'),
        h('td', null, h('code', { class: 'copyable' }, b.url || ''), ' ',
          h('button', { type: 'button', class: 'button-quiet button-small', 'aria-label': `Copy the URL of ${b.name}`, onclick: (e) => copyText(b.url || '', e.currentTarget) }, 'Copy')),
        h('td', null, h('button', {
          type: 'button', class: 'button-quiet button-danger button-small', 'aria-label': `Clear bin ${b.name}`,
          onclick: async () => {
            if (!confirm(`Delete every exchange in bin "${b.name}"?`)) return;
            try { await api.clearExchanges(b.name); this.render(); } catch (err) { this.notice(err.message); }
          },
        }, 'Clear'))))) : h('p', { class: 'muted' }, 'No bins yet.')));
  }

  // ---- rules ----

  async rules() {
    // A server without /api/emit/config shows the mock rules alone.
    const [r, ec] = await Promise.all([api.getRules(), api.getEmitConfig().catch(() => null)]);
    const rules = r.rules || [];
    return h('section', { class: 'view view-rules', 'aria-labelledby': 'rules-title' },
      h('h2', { id: 'rules-title' }, 'Rules'),
      h('p', { class: 'muted' }, r.file ? ['Live config: the file ', h('code', null, r.file), '.'] : 'No config file: hooklab runs with its defaults.'),
      r.error ? h('div', { class: 'banner banner-error rules-view-error', role: 'alert', id: 'rules-view-error' },
        h('strong', null, 'The last reload failed: '), h('span', { class: 'banner-text' }, r.error),
        h('span', { class: 'banner-note' }, 'the last good config stays live')) : null,
      h('div', { class: 'row' }, h('button', {
        type: 'button', class: 'button-quiet', id: 'rules-reset',
        onclick: async () => { try { await call('POST', '/api/rules/reset'); this.render(); } catch (err) { this.notice(err.message); } },
      }, 'Reset sequences and rate limits')),
      h('div', { dataset: { live: '' } }, rules.length ? table('Rules', ['Rule', 'Kind', 'Hits', 'Defined at'], rules.map((x) => h('tr', { class: 'rule-row', dataset: { rule: x.name } },
        h('td', null, h('a', { href: `?q=${encodeURIComponent(`rule:${query.termValue(x.name)}`)}#/` }, x.name)),
        h('td', null, x.kind), h('td', { class: 'num rule-hits' }, String(x.hits)), h('td', null, h('code', null, x.source || '')))))
        : h('p', { class: 'muted' }, 'No mock or verify rules.')),
      ec ? this.connections(ec) : null,
      r.config ? h('details', { class: 'section' }, h('summary', null, 'The whole config (as loaded)'), jsonBlock(r.config)) : null);
  }

  // connections shows the config's triggers, automations and top-level
  // subscriptions, read-only (the file is where they change): a table of
  // each, and their conditions, data and payloads folded below it, as the
  // API gives them (secrets REDACTED, values from the environment as
  // ${NAME}).
  connections(ec) {
    const hook = (id) => h('a', { href: `#/webhooks/${encodeURIComponent(id)}` }, id);
    const src = (x) => h('code', null, x.source || '');
    const events = (list) => h('code', null, (list || []).join(', '));
    const details = (what, list) => h('details', { class: 'section connection-details' },
      h('summary', null, `${what}: conditions, data and payloads`), jsonBlock(list));
    const triggers = ec.triggers || [];
    const automations = ec.automations || [];
    const subs = ec.subscriptions || [];
    return h('section', { class: 'connections', 'aria-labelledby': 'connections-title' },
      h('h3', { id: 'connections-title' }, 'Webhook connections'),
      triggers.length || automations.length || subs.length ? null
        : h('p', { class: 'muted' }, 'No triggers, automations or subscriptions in the config.'),
      triggers.length ? [
        h('h4', null, 'Triggers'),
        table('Triggers', ['Trigger', 'Events', 'Webhook', 'Defined at'], triggers.map((x) => h('tr', { class: 'trigger-row', dataset: { name: x.name } },
          h('td', null, x.name), h('td', null, events(x.events)), h('td', null, hook(x.notify.webhook)), h('td', null, src(x))))),
        details('Triggers', triggers)] : null,
      automations.length ? [
        h('h4', null, 'Automations'),
        table('Automations', ['Automation', 'Schedule', 'Webhook', 'Defined at'], automations.map((x) => h('tr', { class: 'automation-row', dataset: { name: x.name } },
          h('td', null, x.name), h('td', null, h('code', null, x.schedule)), h('td', null, hook(x.notify.webhook)), h('td', null, src(x))))),
        details('Automations', automations)] : null,
      subs.length ? [
        h('h4', null, 'Subscriptions'),
        table('Subscriptions', ['Webhook', 'Events', 'Defined at'], subs.map((x) => h('tr', { class: 'subscription-row', dataset: { webhook: x.webhook } },
          h('td', null, hook(x.webhook)), h('td', null, events(x.events)), h('td', null, src(x)))))] : null);
  }

  // ---- replays ----

  async replays() {
    const runs = await api.listReplays();
    return h('section', { class: 'view view-replays', 'aria-labelledby': 'replays-title' },
      h('h2', { id: 'replays-title' }, 'Replay runs'),
      runs.length ? table('Replay runs', ['Run', 'Replayed', 'State', 'Target', 'Progress', 'Same', 'Differ', 'Failed', 'Started'], runs.map((x) => h('tr', { class: 'run-row', dataset: { run: x.id, state: x.state } },
        h('td', null, h('a', { href: `#/replays/${encodeURIComponent(x.id)}` }, x.id)),
        h('td', { class: 'run-selection' }, selectionText(x.selection)),
        h('td', null, x.state, (x.warnings || []).length ? [' ', h('span', { class: 'badge badge-warn replay-warnings', title: x.warnings.join('\n') },
          x.warnings.length === 1 ? 'warning' : `${x.warnings.length} warnings`)] : null),
        h('td', null, x.target ? h('code', null, x.target) : 'original URLs'),
        h('td', null, h('progress', { max: String(x.total || 1), value: String(x.done || 0), 'aria-label': `${x.done} of ${x.total}` }), ` ${x.done}/${x.total}`),
        h('td', { class: 'num' }, String(x.summary?.same ?? 0)), h('td', { class: 'num' }, String(x.summary?.differ ?? 0)),
        h('td', { class: 'num' }, String(x.summary?.failed ?? 0)), h('td', null, when(x.started)))))
        : h('p', { class: 'muted' }, 'No replay runs yet. Replay an exchange from its detail (r), or run hooklab replay.'));
  }

  async replay(id) {
    const st = await api.getReplay(id);
    // The page is drawn again as results come: a result the user folded
    // or unfolded stays so (those that differ open at first).
    if (!this.folds || this.folds.run !== id) this.folds = { run: id, open: new Map() };
    const folds = this.folds;
    const mode = this.diffMode || 'table';
    const toggle = h('span', { class: 'segmented', role: 'group', 'aria-label': 'Diff layout' },
      ['table', 'unified'].map((m) => h('button', {
        type: 'button', class: 'seg', 'aria-pressed': String(m === mode),
        onclick: () => { this.diffMode = m; this.render(); },
      }, m === 'table' ? 'Side by side' : 'Unified')));
    return h('section', { class: 'view view-replay', 'aria-labelledby': 'replay-title' },
      h('h2', { id: 'replay-title' }, `Replay ${st.id}`),
      h('p', null, `${st.state} · ${st.done}/${st.total} · ${st.summary.same} same, ${st.summary.differ} differ, ${st.summary.failed} failed`,
        st.error ? [' · ', h('span', { class: 'error' }, st.error)] : null),
      h('p', { class: 'run-selection' }, 'Replayed ', selectionText(st.selection), ' to ', st.target ? h('code', null, st.target) : 'their original URLs'),
      h('p', null, h('progress', { max: String(st.total || 1), value: String(st.done || 0) }), ' ', toggle),
      // What of the run's options may not be what was meant (a strip
      // prefix no recorded path starts with): the run went all the same.
      (st.warnings || []).map((w) => h('p', { class: 'banner banner-warn replay-warning' }, h('strong', null, 'Warning: '), w)),
      (st.ignore || []).length ? h('p', { class: 'muted replay-ignore' }, 'Not compared (ignore paths): ',
        st.ignore.map((p, i) => [i ? ', ' : '', h('code', { class: 'diff-ignored-path' }, p)])) : null,
      (st.results || []).map((res) => h('details', {
        class: `section run-result outcome-${res.outcome}`, dataset: { index: String(res.index) },
        open: folds.open.has(res.index) ? folds.open.get(res.index) : res.outcome !== 'same',
        ontoggle: (ev) => folds.open.set(res.index, ev.currentTarget.open),
      },
        h('summary', null, `${res.method} ${res.url} · ${res.recorded_status || '–'} → ${res.status || '–'} · ${res.outcome}`),
        h('p', null, res.original ? ['original ', h('a', { href: exchangeHref(res.original) }, res.original)] : null,
          res.replay ? [' · replay ', h('a', { href: exchangeHref(res.replay) }, res.replay)] : null,
          res.error ? [' · ', h('span', { class: 'error' }, res.error)] : null),
        (res.notes || []).map((n) => h('p', { class: 'muted' }, n)),
        diffView(res, mode))));
  }

  // ---- webhooks ----

  async webhooks() {
    const j = await call('GET', '/api/webhooks');
    const hooks = j.webhooks || [];
    return h('section', { class: 'view view-webhooks', 'aria-labelledby': 'webhooks-title' },
      h('h2', { id: 'webhooks-title' }, 'Webhooks'),
      h('p', null, h('a', { class: 'button-primary', href: '#/webhooks/new', id: 'webhook-new' }, 'New webhook')),
      // Warnings come as text: a config one with file:line:col ("hooklab.yaml:8:21: webhook ..."),
      // one of a webhook made through the API without ("webhook ID (made through the API): ...").
      (j.warnings || []).map((w) => h('p', { class: 'banner banner-warn webhook-warning' }, h('strong', null, 'Warning: '), w)),
      hooks.length ? table('Webhooks', ['Webhook', 'Endpoint', 'Status', 'Circuit', 'Success', 'From'], hooks.map((w) => {
        const rate = h('td', { class: 'num webhook-rate' }, '…');
        successRate(w).then(({ text, title, source }) => {
          rate.textContent = text;
          rate.title = title;
          rate.dataset.source = source;
        }, () => { rate.textContent = '–'; rate.title = 'the activity log is not available'; });
        return h('tr', { class: 'webhook-row', dataset: { id: w.id } },
          h('td', null, h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.name || w.id)),
          h('td', null, h('code', null, `${w.method || 'POST'} ${w.endpoint}`)),
          h('td', null, h('span', { class: `badge wh-${w.status}` }, w.status || 'active')),
          h('td', { class: 'webhook-circuit' }, circuitBadge(w.circuit, w.circuit_until)),
          rate, h('td', null, w.source === 'config' ? h('code', null, w.location || 'config') : 'API'));
      })) : h('p', { class: 'muted' }, 'No webhooks yet.'));
  }

  async webhook(id) {
    const isNew = id === 'new';
    let w = { method: 'POST', format: 'json', status: 'active' };
    let circuit = '';
    let circuitUntil = '';
    let connections = null;
    let warnings = [];
    if (!isNew) {
      const j = await call('GET', `/api/webhooks/${encodeURIComponent(id)}`);
      w = j.webhook;
      warnings = j.warnings || [];
      circuit = j.circuit;
      circuitUntil = j.circuit_until || '';
      connections = j.connections || null;
    }
    const readonly = w.source === 'config';
    // A field's label names its control by the control's own id (the
    // authentication field's control is its type select); its help, error
    // and warning describe the control, so a screen reader says them on it.
    const field = (name, label, input, help) => {
      const ids = [help ? `wh-${name}-help` : '', `wh-${name}-error`, `wh-${name}-warning`].filter(Boolean);
      input.setAttribute('aria-describedby', ids.join(' '));
      return h('div', { class: 'field', dataset: { field: name } },
        h('label', { for: input.id }, label), input,
        help ? h('span', { class: 'muted help', id: `wh-${name}-help` }, help) : null,
        h('span', { class: 'field-error', id: `wh-${name}-error`, role: 'alert' }),
        h('span', { class: 'field-warning', id: `wh-${name}-warning`, role: 'status' }));
    };
    // A disabled field shows no placeholder: greyed in an empty field, an
    // example (https://127.0.0.1:3000/hooks, ticket.*) read as the value
    // of a config webhook, which cannot be edited to say otherwise.
    const input = (name, value, attrs = {}) => {
      const a = { id: `wh-${name}`, name, value: value ?? '', spellcheck: 'false', disabled: readonly, ...attrs };
      if (a.disabled) delete a.placeholder;
      return h('input', a);
    };
    const select = (name, value, options) => {
      const s = h('select', { id: `wh-${name}`, name, disabled: readonly }, options.map((o) => h('option', { value: o, selected: o === value }, o || '(none)')));
      return s;
    };
    const headers = h('textarea', { id: 'wh-custom_headers', name: 'custom_headers', rows: '3', spellcheck: 'false', disabled: readonly, placeholder: readonly ? null : 'X-Team: support' });
    headers.value = Object.entries(w.custom_headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
    const auth = w.authentication || {};
    const authType = select('authentication.type', auth.type || '', ['', 'api_key', 'basic_auth', 'bearer_token']);
    const authFields = h('div', { class: 'auth-fields' });
    const authInputs = {
      name: input('authentication.name', auth.name, { placeholder: 'header name' }),
      value: input('authentication.value', auth.value, { placeholder: 'key', type: 'password' }),
      username: input('authentication.username', auth.username),
      password: input('authentication.password', auth.password, { type: 'password' }),
      token: input('authentication.token', auth.token, { type: 'password' }),
    };
    // Labelled as the fields around them are (Name, Endpoint), not by the
    // API's keys (username, token).
    const authLabels = { name: 'Header name', value: 'Value', username: 'Username', password: 'Password', token: 'Token' };
    const showAuth = () => {
      const t = authType.value;
      const keys = t === 'api_key' ? ['name', 'value'] : t === 'basic_auth' ? ['username', 'password'] : t === 'bearer_token' ? ['token'] : [];
      authFields.replaceChildren(...keys.map((k) => field(`authentication.${k}`, authLabels[k], authInputs[k])));
    };
    authType.addEventListener('change', showAuth);
    showAuth();
    const f = {
      id: input('id', w.id, { disabled: readonly || !isNew, pattern: '[A-Za-z0-9_\\-]{1,64}', placeholder: 'generated when empty' }),
      name: input('name', w.name),
      endpoint: input('endpoint', w.endpoint, { type: 'url', placeholder: 'https://127.0.0.1:3000/hooks', required: true }),
      method: select('method', w.method || 'POST', ['POST', 'PUT', 'PATCH', 'GET', 'DELETE']),
      format: select('format', w.format || 'json', ['json', 'xml', 'form_encoded']),
      status: select('status', w.status || 'active', ['active', 'inactive']),
      subscriptions: input('subscriptions', (w.subscriptions || []).join(', '), { placeholder: 'ticket.*, user.created' }),
      // The API's default is zendesk; a webhook without signing says none.
      signing: select('signing.scheme', w.signing ? w.signing.scheme || 'zendesk' : isNew ? 'zendesk' : 'none', signingSchemes),
    };
    // The signing field's help follows the scheme chosen: the headers its
    // requests carry and how the receiver checks them, and where the
    // secret comes from; under none, that nothing is signed.
    const signingHelp = () => {
      const how = signatureHelp[f.signing.value];
      if (!how) return 'Not signed: the requests carry no signature.';
      const secret = readonly ? 'its secret is the config\'s signing.secret'
        : `hooklab makes its secret: GET /api/webhooks/${isNew ? 'ID' : id}/signing_secret shows it`;
      return `${how}; ${secret}`;
    };
    f.signing.addEventListener('change', () => {
      const help = f.signing.parentElement && f.signing.parentElement.querySelector('.help');
      if (help) help.textContent = signingHelp();
    });
    const formError = h('p', { class: 'error form-error', id: 'wh-form-error', role: 'alert', hidden: true });
    // def is the form's definition, every field of it: an edit is a PATCH,
    // which keeps what its body leaves out, so a cleared field is sent as
    // cleared (null for no name or no authentication, [] for no
    // subscriptions).
    const def = () => {
      const d = {
        name: f.name.value.trim() || null, endpoint: f.endpoint.value.trim(),
        method: f.method.value, format: f.format.value, status: f.status.value,
      };
      if (isNew && f.id.value.trim()) d.id = f.id.value.trim();
      d.custom_headers = customHeaders(headers.value).headers;
      d.authentication = authType.value ? { type: authType.value } : null;
      // The type's fields as shown, an emptied one too: an edit's PATCH
      // merges authentication, so a field left out keeps its stored value.
      if (d.authentication) {
        for (const [k, el] of Object.entries(authInputs)) if (el.isConnected) d.authentication[k] = el.value;
      }
      d.subscriptions = f.subscriptions.value.split(',').map((s) => s.trim()).filter(Boolean);
      // The scheme alone: the API makes a secret for a new webhook or a
      // new scheme, and an edit keeps the stored one (a PATCH merges).
      d.signing = { scheme: f.signing.value };
      return d;
    };
    const form = h('form', { class: 'webhook-form', id: 'webhook-form', novalidate: true, dataset: { keep: `webhooks/${id}` } });
    // What the form was drawn from, and whether the user has edited it
    // since (see keepForm): a change made elsewhere then does not
    // overwrite what they typed.
    form.defKey = isNew ? '' : defKey(w);
    const markEdited = () => { form.dataset.edited = 'true'; };
    form.addEventListener('input', markEdited);
    form.addEventListener('change', markEdited);
    const formWarnings = h('div', { class: 'form-warnings', id: 'wh-form-warnings', role: 'status' });
    // boxFor finds where a field's message goes: custom_headers.X-Forwarded-For
    // by the headers box, authentication.token by its input, subscriptions.2
    // by the subscriptions; a test send's webhook.endpoint (the test's API
    // names the definition's fields under webhook.) by the endpoint.
    const boxFor = (field) => {
      const name = field.replace(/^webhook\./, '');
      const key = name.startsWith('custom_headers') ? 'custom_headers' : name;
      return form.querySelector(`[data-field="${CSS.escape(key)}"]`) ||
        form.querySelector(`[data-field="${CSS.escape(key.split('.')[0])}"]`);
    };
    const add = (el, text) => { el.textContent = el.textContent ? `${el.textContent}; ${text}` : text; };
    // showProblems shows the API's problems ({field, error} each) by their
    // fields, worded by besideText; those without a field of the form show
    // under it, as the API words them (looseText). message is for other
    // failures.
    const showProblems = ({ errors = [], warnings = [], message = '' } = {}) => {
      for (const e of form.querySelectorAll('.field-error, .field-warning')) e.textContent = '';
      for (const e of form.querySelectorAll('[aria-invalid="true"]')) e.setAttribute('aria-invalid', 'false');
      const loose = [];
      for (const fe of errors) {
        const box = fe.field ? boxFor(fe.field) : null;
        if (!box) { loose.push(looseText(fe)); continue; }
        add(box.querySelector('.field-error'), besideText(fe, box.dataset.field));
        const ctl = box.querySelector('input,select,textarea');
        if (ctl) ctl.setAttribute('aria-invalid', 'true');
      }
      if (message && !errors.length) loose.push(message);
      formError.textContent = loose.join('\n');
      formError.hidden = !loose.length;
      const looseWarnings = [];
      for (const w of warnings) {
        const box = w.field ? boxFor(w.field) : null;
        if (box) add(box.querySelector('.field-warning'), besideText(w, box.dataset.field));
        else looseWarnings.push(h('p', { class: 'field-warning' }, looseText(w)));
      }
      formWarnings.replaceChildren(...looseWarnings);
    };
    const showErrors = (err) => {
      if (!err) { showProblems(); return; }
      const body = err.body || {};
      // An edit keeps its id: "already exists" is about the webhook itself.
      const errors = (body.errors || []).filter((fe) => isNew || fe.field !== 'id');
      showProblems({ errors, message: err.message });
    };

    // Live validation: as the user types, the definition goes to the API's
    // dry run (POST /api/webhooks/validate), which answers what creating it
    // would: the same messages, by the same fields. An edit is validated
    // without its id (the id is taken: by this webhook), as an edit of it
    // (?edit=: REDACTED keeps its stored secrets, as saving does).
    // What the page itself refuses (see customHeaders), shown with the
    // API's own errors: nothing is sent while there is any.
    const local = () => customHeaders(headers.value).problems;
    let checkTimer = 0;
    let checkSeq = 0;
    let checkCtl = null;
    const validate = async () => {
      const seq = ++checkSeq;
      if (checkCtl) checkCtl.abort();
      const ctl = new AbortController();
      checkCtl = ctl;
      form.dataset.validation = 'checking';
      try {
        const d = def();
        if (!isNew) delete d.id;
        const url = isNew ? '/api/webhooks/validate' : `/api/webhooks/validate?edit=${encodeURIComponent(id)}`;
        const res = await call('POST', url, { body: d, signal: ctl.signal });
        if (seq !== checkSeq) return;
        showProblems({ errors: local(), warnings: (res && res.warnings) || [] });
        form.dataset.validation = local().length ? 'invalid' : 'ok';
      } catch (err) {
        if (err.name === 'AbortError' || seq !== checkSeq) return;
        if (err.status === 400 && err.body && Array.isArray(err.body.errors)) {
          const errors = [...err.body.errors.filter((fe) => isNew || fe.field !== 'id'), ...local()];
          showProblems({ errors });
          form.dataset.validation = errors.length ? 'invalid' : 'ok';
        } else if (local().length) {
          showProblems({ errors: local() });
          form.dataset.validation = 'invalid';
        } else {
          // A server without the dry run (404) or unreachable: saving still checks.
          form.dataset.validation = 'unavailable';
        }
      } finally {
        if (checkCtl === ctl) checkCtl = null;
      }
    };
    const scheduleValidate = () => {
      clearTimeout(checkTimer);
      checkTimer = setTimeout(validate, 250);
    };
    if (!readonly) {
      form.addEventListener('input', scheduleValidate);
      form.addEventListener('change', scheduleValidate);
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearTimeout(checkTimer);
      if (local().length) {
        // Not saved: the dry run shows these with the API's own errors.
        await validate();
        return;
      }
      checkSeq++; // a validation in flight must not overwrite the answer to saving
      // While saving, the form is the user's: the stream's message of
      // their own change may come before the answer.
      form.dataset.saving = 'true';
      try {
        const d = def();
        const res = isNew
          ? await call('POST', '/api/webhooks', { body: d })
          : await call('PATCH', `/api/webhooks/${encodeURIComponent(id)}`, { body: d });
        // The form shows what was saved (as typed): a change elsewhere
        // after it is another definition than this.
        form.defKey = isNew ? '' : defKey(res.webhook);
        delete form.dataset.edited;
        delete form.dataset.recheck; // the render below looks again
        for (const note of form.querySelectorAll('.wh-elsewhere')) note.remove();
        showErrors(null);
        // Saved, the webhook keeps only the chosen type's fields: a hidden
        // input's REDACTED stands for a secret no longer stored, which
        // switching back to its type must not send.
        for (const el of Object.values(authInputs)) if (!el.isConnected && el.value === 'REDACTED') el.value = '';
        form.dispatchEvent(new Event('saved'));
        this.notice(`Saved webhook ${res.webhook.id}${(res.warnings || []).length ? `: ${res.warnings.map(looseText).join('; ')}` : ''}`);
        if (isNew) location.hash = `#/webhooks/${encodeURIComponent(res.webhook.id)}`;
        else this.render(); // the heading (its name); the form stays as typed
      } catch (err) {
        showErrors(err);
      } finally {
        delete form.dataset.saving;
        // A change came while saving: a failed save leaves the edits,
        // and the note says the webhook changed meanwhile.
        if (form.dataset.recheck) {
          delete form.dataset.recheck;
          if (form.isConnected) this.render();
        }
      }
    });
    // dom.js's append: the DOM's own writes a null child (the note of a
    // webhook the config does not connect) as the text "null".
    append(form, [
      field('id', 'ID', f.id), field('name', 'Name', f.name),
      field('endpoint', 'Endpoint', f.endpoint), field('method', 'Method', f.method),
      field('format', 'Format', f.format), field('status', 'Status', f.status),
      field('custom_headers', 'Custom headers', headers, 'one Name: value a line'),
      field('authentication', 'Authentication', authType), authFields,
      field('subscriptions', 'Subscriptions', f.subscriptions, 'event types, globs allowed'),
      connectionsNote(connections),
      field('signing.scheme', 'Signing', f.signing, signingHelp()),
      formError, formWarnings,
      readonly ? h('p', { class: 'muted' }, `Defined in the config at ${w.location || 'hooklab.yaml'}: edit it there.`)
        : h('div', { class: 'row' }, h('button', { type: 'submit', class: 'button-primary', id: 'wh-save' }, isNew ? 'Create' : 'Save'),
          isNew ? null : h('button', {
            type: 'button', class: 'button-quiet button-danger', onclick: async () => {
              if (!confirm(`Delete webhook ${id}?`)) return;
              try { await call('DELETE', `/api/webhooks/${encodeURIComponent(id)}`); location.hash = '#/webhooks'; } catch (err) { this.notice(err.message); }
            },
          }, 'Delete'))]);

    // A saved webhook's warnings (credentials to a plain-HTTP endpoint)
    // show beside their fields as the page opens, not only once edited.
    if (!isNew) showProblems({ warnings });

    // Test send. The payload is the body (GET and DELETE send none); the
    // params, one name=value a line, go as URL parameters (GET, DELETE)
    // or as a form_encoded webhook's fields, in the order written, as a
    // trigger's do: the API takes them as [name, value] pairs, so a name
    // may repeat.
    const payload = h('textarea', { id: 'wh-test-payload', rows: '6', spellcheck: 'false' });
    payload.value = '{\n  "ticket": {"id": 1, "priority": "urgent", "subject": "Test"}\n}';
    const params = h('textarea', { id: 'wh-test-params', rows: '3', spellcheck: 'false', placeholder: 'id=35436', 'aria-describedby': 'wh-test-params-help' });
    const payloadHelp = h('span', { class: 'muted help', id: 'wh-test-payload-help' },
      'JSON, sent in the webhook\'s format; other text (XML) is sent as it is');
    payload.setAttribute('aria-describedby', 'wh-test-payload-help');
    const payloadField = h('div', { class: 'test-field' }, h('label', { for: 'wh-test-payload' }, 'Payload'), payload, payloadHelp);
    const paramsHelp = h('span', { class: 'muted help', id: 'wh-test-params-help' });
    const paramsField = h('div', { class: 'test-field' },
      h('label', { for: 'wh-test-params' }, 'Params'), params, paramsHelp);
    // The test goes with a saved webhook's saved method and format (its
    // saved definition), and with a new one's as chosen.
    let saved = { method: w.method || 'POST', format: w.format || 'json' };
    const showTestFields = () => {
      const { method, format } = isNew ? { method: f.method.value, format: f.format.value } : saved;
      const bodyless = method === 'GET' || method === 'DELETE';
      payloadField.hidden = bodyless;
      paramsField.hidden = !bodyless && format !== 'form_encoded';
      // Where the params go, for the method and format the test uses.
      paramsHelp.textContent = bodyless
        ? `one name=value a line, sent as URL parameters (${method} sends no body), in this order`
        : 'one name=value a line, sent as the form\'s fields in this order, in place of the payload when any are given';
    };
    form.addEventListener('change', showTestFields);
    form.addEventListener('saved', () => { saved = { method: f.method.value, format: f.format.value }; showTestFields(); });
    showTestFields();
    const testOut = h('div', { id: 'wh-test-result', role: 'status' });
    // A result belongs to the definition it was sent with: an edit clears
    // it. A saved webhook's test goes with its saved definition (the form
    // holds REDACTED for its secrets), so one sent with edits unsaved says so.
    let edited = false;
    form.addEventListener('input', () => { edited = true; testOut.replaceChildren(); });
    form.addEventListener('change', () => { edited = true; });
    form.addEventListener('saved', () => { edited = false; });
    const testSend = h('button', { type: 'button', class: 'button-primary', id: 'wh-test-send', onclick: async () => {
      const body = {};
      let pairs = [];
      if (!paramsField.hidden) {
        try {
          pairs = paramPairs(params.value);
        } catch (err) {
          testOut.replaceChildren(h('p', { class: 'error' }, err.message));
          return;
        }
        if (pairs.length) body.params = pairs;
      }
      // A form_encoded webhook's params, when given, are its body in
      // place of the payload (the API takes one or the other).
      // JSON goes as the value it is (an object an xml or form_encoded
      // webhook sends in its format); other text goes as a string, sent
      // as it is: a test is for trying things, and the API's warnings say
      // when a json webhook's payload is not JSON (or an xml one's not XML).
      if (!payloadField.hidden && !pairs.length && payload.value.trim()) {
        try {
          body.payload = JSON.parse(payload.value);
        } catch {
          body.payload = payload.value;
        }
      }
      // A new webhook's test sends the form's definition: not one the page refuses.
      if (isNew && local().length) {
        testOut.replaceChildren(h('p', { class: 'error' }, local().map(looseText).join('\n')));
        validate();
        return;
      }
      const unsaved = !isNew && edited;
      testSend.disabled = true;
      testOut.replaceChildren(h('p', { class: 'muted' }, 'Sending…'));
      try {
        const res = isNew
          ? await call('POST', '/api/webhooks/test', { body: { ...body, webhook: def() } })
          : await call('POST', `/api/webhooks/${encodeURIComponent(id)}/test`, { body });
        showErrors(null);
        testOut.replaceChildren(unsaved
          ? h('p', { class: 'field-warning test-unsaved' }, 'Sent with the saved definition: the edits in the form are not saved yet, and were not used.')
          : '', this.testResult(res));
      } catch (err) {
        showErrors(err);
        testOut.replaceChildren(h('p', { class: 'error' }, err.message));
      } finally {
        testSend.disabled = false;
      }
    } }, 'Send test');
    const test = h('section', { class: 'test-send', 'aria-labelledby': 'test-title' },
      h('h3', { id: 'test-title' }, 'Test send'),
      h('p', { class: 'muted' }, 'Sends once, without retries, with the webhook\'s method, format, auth and signature.'),
      payloadField, paramsField, h('div', { class: 'row' }, testSend), testOut);

    const activity = isNew ? null : await this.activity(id);
    return h('section', { class: 'view view-webhook', 'aria-labelledby': 'webhook-title' },
      h('p', null, h('a', { href: '#/webhooks' }, '← Webhooks')),
      h('h2', { id: 'webhook-title', dataset: { live: '' } }, isNew ? 'New webhook' : (w.name || w.id),
        circuit ? [' ', circuitBadge(circuit, circuitUntil)] : null),
      h('div', { class: 'webhook-grid' }, form, test),
      activity);
  }

  testResult(res) {
    const req = res.request || {};
    const resp = res.response;
    return h('div', { class: `test-result outcome-${res.outcome}` },
      h('p', null, h('strong', { class: 'test-outcome' }, res.outcome), resp ? ` · ${resp.status}` : '',
        ` · ${fmt.duration(res.duration_ms)}`, res.error ? [' · ', h('span', { class: 'error' }, res.error)] : null,
        res.exchange_id ? [' · ', h('a', { href: exchangeHref(res.exchange_id) }, 'open the exchange')] : null),
      // What was sent though it looks wrong (a json webhook's payload
      // that is not JSON): sent all the same, so a warning, not an error.
      (res.warnings || []).length ? h('ul', { class: 'test-warnings', 'aria-label': 'Warnings' },
        res.warnings.map((w) => h('li', { class: 'test-warning' }, h('strong', null, 'Warning: '), w.error))) : null,
      h('h4', null, 'Request sent'),
      h('pre', { class: 'code test-request' }, `${req.method} ${req.url}\n${headerLines(req.headers)}\n\n${req.body || ''}`),
      resp ? [h('h4', null, 'Response'),
        h('pre', { class: 'code test-response' }, `${resp.status}\n${headerLines(resp.headers)}\n\n${resp.body || ''}`)] : null);
  }

  /**
   * activity draws webhook id's activity log: its newest invocations (as
   * many as were shown before, so a live redraw keeps the older pages
   * loaded), "Load older" for the next page, and the attempts of the
   * invocations opened, fetched again so that new attempts show. The
   * filters, pages and opened rows belong to the webhook shown.
   */
  async activity(id) {
    if (!this.act || this.act.id !== id) this.act = { id, status: '', from: '', shown: 0, oldest: '', open: new Set() };
    const act = this.act;
    const query = (extra) => {
      const q = { status: act.status, ...extra };
      if (act.from) q.from = new Date(Date.now() - Number(act.from) * 1000).toISOString();
      return q;
    };
    const list = (q) => call('GET', `/api/webhooks/${encodeURIComponent(id)}/invocations`, { query: q });
    // A redraw shows down to the oldest invocation shown before (ids
    // sort as invocations are made), the new ones above.
    // Older invocations loaded while this fetch was under way move the
    // oldest one shown: fetch again, down to it.
    let j;
    for (;;) {
      const oldest = act.oldest;
      j = await list(query({ limit: Math.min(1000, act.shown + activityPage) })).catch((err) => {
        if (err.status === 404) return { invocations: [] };
        throw err;
      });
      if (act.oldest === oldest) break;
    }
    let inv = j.invocations || [];
    let next = j.next_cursor || '';
    if (act.oldest && inv.some((x) => x.id < act.oldest)) {
      inv = inv.filter((x) => x.id >= act.oldest);
      next = act.oldest;
    }
    act.shown = inv.length;
    act.oldest = inv.length ? inv[inv.length - 1].id : '';
    const refilter = () => { act.shown = 0; act.oldest = ''; act.open.clear(); this.render(); };
    const statusSel = h('select', { 'aria-label': 'Filter by status', id: 'act-status', onchange: (ev) => { act.status = ev.target.value; refilter(); } },
      ['', ...invocationStatuses].map((s) => h('option', { value: s, selected: s === act.status }, s || 'any status')));
    const fromSel = h('select', { 'aria-label': 'Filter by time', id: 'act-since', onchange: (ev) => { act.from = ev.target.value; refilter(); } },
      [['', 'any time'], ['3600', 'last hour'], ['86400', 'last day']].map(([v, l]) => h('option', { value: v, selected: v === act.from }, l)));

    // An invocation's details: what holds it back, when anything does,
    // then its attempts.
    const attempts = (d) => [
      d.waiting ? h('p', { class: 'invocation-waiting' }, `${d.status} — `, waitingText(d.waiting, d.waiting_until)) : null,
      ...((d.attempts || []).length
        ? d.attempts.map((a) => h('div', { class: 'attempt' },
          h('strong', null, `#${a.attempt} `), when(a.time), ` · ${a.outcome} · ${a.status_code || '–'} · ${fmt.duration(a.duration_ms)}`,
          a.error ? [' · ', h('span', { class: 'error' }, a.error)] : null,
          a.exchange_id ? [' · ', h('a', { href: exchangeHref(a.exchange_id) }, 'exchange')] : null))
        : [h('p', { class: 'muted attempt-none' }, `No attempts yet (${d.status}${d.error ? `: ${d.error}` : ''}).`)]),
    ].filter(Boolean);
    const getInvocation = async (invID) => (await call('GET', `/api/invocations/${encodeURIComponent(invID)}`)).invocation;
    // rowFor returns an invocation's row and the row of its attempts,
    // open (with d, the invocation fetched) when the user opened it.
    const rowFor = (x, d) => {
      const more = h('tr', { class: 'invocation-detail', hidden: !d }, h('td', { colspan: '7' }, d ? attempts(d) : null));
      const row = h('tr', { class: 'invocation-row', dataset: { id: x.id, status: x.status } },
        h('td', null, when(x.created_at)), h('td', null, x.event_type), h('td', null, x.cause),
        h('td', null, h('span', { class: `badge inv-${x.status}` }, x.status),
          x.waiting ? h('span', { class: 'invocation-waiting' }, ' — ', waitingText(x.waiting, x.waiting_until)) : null,
          x.error ? h('span', { class: 'muted' }, ` ${x.error}`) : null),
        h('td', { class: 'num' }, String(x.attempt_count)), h('td', { class: 'num' }, x.status_code ? String(x.status_code) : '–'),
        h('td', null,
          h('button', { type: 'button', class: 'button-quiet button-small', 'aria-label': `Attempts of ${x.id}`, 'aria-expanded': String(!!d), onclick: async (ev) => {
            const btn = ev.currentTarget;
            if (!more.hidden) {
              more.hidden = true;
              act.open.delete(x.id);
              btn.setAttribute('aria-expanded', 'false');
              return;
            }
            // Marked open first: a redraw under way (a live event's)
            // draws it open too.
            act.open.add(x.id);
            try {
              const d = await getInvocation(x.id);
              if (!more.isConnected) {
                // Drawn again meanwhile, perhaps before it was marked:
                // the click was on rows no longer shown.
                this.render();
                return;
              }
              more.firstChild.replaceChildren(...attempts(d));
              more.hidden = false;
              btn.setAttribute('aria-expanded', 'true');
            } catch (err) {
              act.open.delete(x.id);
              this.notice(err.message);
            }
          } }, 'Attempts'), ' ',
          finalStatuses.includes(x.status) && x.status !== 'success' ? h('button', { type: 'button', class: 'button-quiet button-small invocation-retry', 'aria-label': `Retry ${x.id}`, onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try { await call('POST', `/api/invocations/${encodeURIComponent(x.id)}/retry`); this.render(); } catch (err) { this.notice(err.message); }
          } }, 'Retry') : null));
      return [row, more];
    };
    // The opened invocations are fetched before the log is drawn, so
    // that a redraw does not close them for a moment.
    const opened = new Map(await Promise.all(inv.filter((x) => act.open.has(x.id)).map(async (x) => [x.id, await getInvocation(x.id).catch(() => null)])));
    for (const x of act.open) if (!opened.get(x)) act.open.delete(x);

    const body = h('tbody', null, inv.map((x) => rowFor(x, opened.get(x.id))).flat());
    const older = next ? h('button', { type: 'button', class: 'button-quiet', id: 'act-older', dataset: { cursor: next }, onclick: async (ev) => {
      const btn = ev.currentTarget;
      btn.disabled = true;
      try {
        const page = await list(query({ limit: activityPage, cursor: btn.dataset.cursor }));
        const more = page.invocations || [];
        body.append(...more.map((x) => rowFor(x, null)).flat());
        act.shown += more.length;
        if (more.length) act.oldest = more[more.length - 1].id;
        if (!body.isConnected) {
          // The log was drawn again meanwhile: draw it down to these.
          this.render();
          return;
        }
        if (page.next_cursor) btn.dataset.cursor = page.next_cursor;
        else btn.remove();
      } catch (err) {
        this.notice(err.message);
      } finally {
        btn.disabled = false;
      }
    } }, 'Load older') : null;
    return h('section', { class: 'activity', 'aria-labelledby': 'activity-title', dataset: { live: '' } },
      h('h3', { id: 'activity-title' }, 'Activity'),
      h('div', { class: 'row' }, statusSel, fromSel),
      inv.length ? scrollBox(h('table', { class: 'kv grid', 'aria-label': 'Activity log' },
        h('thead', null, h('tr', null, ['When', 'Event', 'Cause', 'Status', 'Attempts', 'Code', ''].map((x) => h('th', { scope: 'col' }, x)))),
        body)) : h('p', { class: 'muted' }, act.status || act.from ? 'No invocations match these filters.' : 'No invocations yet.'),
      older ? h('div', { class: 'row' }, older) : null);
  }
}
