// The traffic list: a table of exchange summaries, newest first. Rows are
// keyed by exchange id; stream arrivals are batched per frame and prepended,
// and the table keeps at most `cap` rows.

import { h } from './dom.js';
import * as fmt from './format.js';
import { exchangeHref } from './route.js';

export class ExchangeList {
  /**
   * @param {HTMLTableSectionElement} tbody where rows go
   * @param {object} opts
   *   scroller: the element that scrolls the list (kept steady on prepend)
   *   cap: the most rows rendered (default 1000)
   *   onChange(): called after rows are added or removed
   */
  constructor(tbody, { scroller, cap = 1000, onChange = () => {} } = {}) {
    this.tbody = tbody;
    this.scroller = scroller;
    this.cap = cap;
    this.onChange = onChange;
    this.rows = new Map();   // id -> {tr, timeEl, time}
    this.pending = [];       // stream arrivals not yet rendered, oldest first
    this.flushScheduled = false;
    this.selected = '';
    this.trimmed = false;    // rows were dropped at the bottom to stay under cap
  }

  get size() { return this.rows.size; }

  /** has reports whether the exchange is rendered or about to be. */
  has(id) {
    return this.rows.has(id) || this.pending.some((s) => s.id === id);
  }

  /**
   * reset replaces every row with summaries (newest first). Stream arrivals
   * not yet rendered are kept (they are newer than, or part of, a reloaded
   * page) unless dropPending is set, as when the filter changed.
   */
  reset(summaries, { dropPending = false } = {}) {
    const pending = dropPending ? [] : this.pending;
    this.pending = [];
    this.rows.clear();
    this.trimmed = false;
    const frag = document.createDocumentFragment();
    for (const s of summaries) {
      if (this.rows.size >= this.cap) { this.trimmed = true; break; }
      if (this.rows.has(s.id)) continue;
      frag.append(this.makeRow(s, false));
    }
    this.tbody.replaceChildren(frag);
    this.pending = pending.filter((s) => !this.rows.has(s.id));
    if (this.pending.length) this.flush();
    this.onChange();
  }

  /** appendOlder adds an older page at the bottom; it returns false when the cap stopped it. */
  appendOlder(summaries) {
    const frag = document.createDocumentFragment();
    for (const s of summaries) {
      if (this.rows.size >= this.cap) { this.trimmed = true; break; }
      if (this.rows.has(s.id)) continue;
      frag.append(this.makeRow(s, false));
    }
    this.tbody.append(frag);
    this.onChange();
    return !this.trimmed;
  }

  /**
   * add queues a summary that just arrived on the stream. Rows are rendered
   * in a task of their own, after every message already queued: a burst of
   * arrivals becomes one DOM update, a single one shows at once.
   */
  add(summary) {
    if (this.has(summary.id)) return;
    this.pending.push(summary);
    if (this.pending.length > this.cap) this.pending.splice(0, this.pending.length - this.cap);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  flush() {
    this.flushScheduled = false;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    const frag = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) {
      const s = batch[i];
      if (this.rows.has(s.id)) continue;
      frag.append(this.makeRow(s, true));
    }
    // Keep the row the user is reading where it is when they have scrolled down.
    const sc = this.scroller;
    const keep = sc && sc.scrollTop > 0;
    const before = keep ? sc.scrollHeight : 0;
    this.tbody.prepend(frag);
    if (keep) sc.scrollTop += sc.scrollHeight - before;
    while (this.rows.size > this.cap) {
      const last = this.tbody.lastElementChild;
      if (!last) break;
      this.rows.delete(last.dataset.id);
      last.remove();
      this.trimmed = true;
    }
    this.onChange();
  }

  /** remove deletes the row of one exchange, if shown. */
  remove(id) {
    const r = this.rows.get(id);
    if (r) {
      r.tr.remove();
      this.rows.delete(id);
    }
    this.pending = this.pending.filter((s) => s.id !== id);
    if (this.selected === id) this.selected = '';
    this.onChange();
  }

  /** select marks the row of id as selected (or none for "") and scrolls it into view. */
  select(id) {
    const old = this.rows.get(this.selected);
    if (old) {
      old.tr.classList.remove('selected');
      old.tr.removeAttribute('aria-current');
    }
    this.selected = id || '';
    const r = this.rows.get(this.selected);
    if (r) {
      r.tr.classList.add('selected');
      r.tr.setAttribute('aria-current', 'true');
      r.tr.scrollIntoView({ block: 'nearest' });
    }
  }

  /** neighbour returns the id delta rows away from the selected one (the first row when none is). */
  neighbour(delta) {
    const cur = this.rows.get(this.selected);
    let tr;
    if (!cur) tr = this.tbody.firstElementChild;
    else tr = delta > 0 ? cur.tr.nextElementSibling : cur.tr.previousElementSibling;
    return tr ? tr.dataset.id : '';
  }

  /** refreshTimes updates every relative time shown. */
  refreshTimes(now = Date.now()) {
    for (const r of this.rows.values()) {
      const text = fmt.relativeTime(r.time, now);
      if (r.timeEl.textContent !== text) r.timeEl.textContent = text;
    }
  }

  makeRow(s, fresh) {
    const time = new Date(s.time);
    const valid = !Number.isNaN(time.getTime());
    const timeEl = h('time', {
      datetime: s.time,
      title: valid ? fmt.exactTime(time) : s.time,
    }, valid ? fmt.relativeTime(time) : '–');

    const badges = [];
    if (s.source && s.source !== 'capture') badges.push(h('span', { class: `badge badge-source src-${s.source}`, title: `source: ${s.source}` }, s.source));
    if (s.error) badges.push(h('span', { class: 'badge badge-error', title: s.error }, 'error'));
    if (s.truncated) badges.push(h('span', { class: 'badge badge-warn', title: 'a body was over the size limit and is stored truncated' }, 'truncated'));
    if (s.signature) badges.push(h('span', { class: `badge badge-sig sig-${s.signature}`, title: `signature: ${s.signature}` }, `sig ${s.signature}`));
    if (s.rule) badges.push(h('span', { class: 'badge badge-rule', title: `answered by rule ${s.rule}` }, s.rule));

    const tr = h('tr', {
      class: fresh ? 'exchange-row fresh' : 'exchange-row',
      dataset: { id: s.id, status: fmt.statusClass(s.status), bin: s.bin || '', source: s.source || '' },
    },
      h('td', { class: 'cell-time' }, timeEl),
      h('td', { class: 'cell-method' }, h('span', { class: `method ${fmt.methodClass(s.method)}` }, s.method)),
      h('td', { class: 'cell-path' },
        h('a', { class: 'path', href: exchangeHref(s.id), title: s.url || s.path }, s.path || '/'),
        badges.length ? h('span', { class: 'badges' }, badges) : null),
      h('td', { class: 'cell-status' },
        h('span', { class: `status ${fmt.statusClass(s.status)}` }, fmt.statusText(s.status))),
      h('td', { class: 'cell-bin' }, s.bin),
      h('td', {
        class: 'cell-size num',
        title: `request ${fmt.exactBytes(s.request_size)} · response ${fmt.exactBytes(s.response_size)}`,
      }, fmt.bytes(s.request_size)),
      h('td', { class: 'cell-duration num' }, fmt.duration(s.duration_ms)),
    );
    if (s.id === this.selected) {
      tr.classList.add('selected');
      tr.setAttribute('aria-current', 'true');
    }
    this.rows.set(s.id, { tr, timeEl, time });
    return tr;
  }
}
