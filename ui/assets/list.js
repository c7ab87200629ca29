// The traffic list: exchange summaries, newest first, as a virtualized
// table. Every summary loaded is kept in an array; only the rows in view
// (plus a margin) exist in the DOM, between two spacer rows that give the
// list its full height. Rows have one fixed height, so positions are
// arithmetic and scrolling 100,000 rows costs what scrolling 60 does.
//
// The table is laid out as blocks and flex rows (style.css), not as a CSS
// table: a table re-measures every cell whenever a row comes or goes, which
// cost 20 ms a scroll frame. Each row is a layout and paint container, so a
// frame lays out only the rows that entered the view; their elements come
// from a pool of rows that left it. ARIA roles keep the table semantics.
//
// Stream arrivals are batched per task. At the top of the list they show at
// once; scrolled down, they are inserted above without moving the row being
// read, and counted for the "N new" pill; paused, they wait until resumed.

import { h, visible } from './dom.js';
import * as fmt from './format.js';
import { exchangeHref } from './route.js';

const overscan = 12;

export class ExchangeList {
  /**
   * @param {HTMLTableSectionElement} tbody where rows go
   * @param {object} opts
   *   scroller: the element that scrolls the list
   *   rowHeight: px of one row (must match the CSS), default 30
   *   cap: the most summaries kept (default 200,000; the oldest go first)
   *   onChange(): rows were added or removed
   *   onNearEnd(): the view is near the oldest row loaded (load more)
   *   onNewCount(n): n arrivals are above the view or held by a pause
   */
  constructor(tbody, { scroller, rowHeight = 30, cap = 200_000, onChange = () => {}, onNearEnd = () => {}, onNewCount = () => {} } = {}) {
    this.tbody = tbody;
    this.scroller = scroller;
    this.rh = rowHeight;
    this.cap = cap;
    this.onChange = onChange;
    this.onNearEnd = onNearEnd;
    this.onNewCount = onNewCount;
    this.items = [];          // summaries, newest first
    this.ids = new Set();
    this.arrivals = [];       // stream arrivals not yet merged, oldest first
    this.held = [];           // arrivals held while paused, oldest first
    this.flushScheduled = false;
    this.paused = false;
    this.unseen = 0;
    this.selected = '';
    // gap is where the selected row was when it was removed (retention, a
    // delete elsewhere): the index of the row that followed it, so that
    // j and k go on from there; -1 when there is none.
    this.gap = -1;
    this.marked = new Set();  // ids picked for export
    this.fresh = new Set();   // ids that arrived live (animated once)
    this.trimmed = false;
    this.rendered = new Map(); // id -> a row of makeRow, filled
    this.pool = [];            // rows out of view, to refill
    this.frame = 0;
    this.headH = -1;           // px of the sticky header; -1: measure
    this.viewHeight = 0;       // px of the scroller's view, from the ResizeObserver
    this.top = h('tr', { class: 'spacer', 'aria-hidden': 'true' });
    this.bottom = h('tr', { class: 'spacer', 'aria-hidden': 'true' });
    this.tbody.replaceChildren(this.top, this.bottom);
    const hover = (ev) => {
      const tr = ev.target.closest && ev.target.closest('tr.exchange-row');
      if (tr) this.titles(tr);
    };
    this.tbody.addEventListener('mouseover', hover);
    this.tbody.addEventListener('focusin', hover);
    if (scroller) {
      scroller.addEventListener('scroll', () => {
        if (this.unseen && scroller.scrollTop < this.rh / 2) this.setUnseen(0);
        this.schedule();
      }, { passive: true });
      new ResizeObserver((entries) => {
        for (const e of entries) {
          if (e.target === scroller) this.viewHeight = e.contentRect.height;
        }
        this.headH = -1;
        this.schedule();
      }).observe(scroller);
    }
  }

  get size() { return this.items.length; }

  /** has reports whether the exchange is listed or about to be. */
  has(id) {
    return this.ids.has(id) || this.arrivals.some((s) => s.id === id) || this.held.some((s) => s.id === id);
  }

  /** arrived counts the summaries add has taken: a mark for reset's since. */
  get arrived() { return this.arrivedN || 0; }

  /**
   * reset replaces every summary (newest first); arrivals not yet merged
   * are kept unless dropPending, or, with since (the arrived count when the
   * page was asked for), only those that came after it: one that came
   * before was stored before the page was read, so it is on the page or on
   * an older one (after a resync from a flood, thousands of them).
   */
  reset(summaries, { dropPending = false, since } = {}) {
    // Live arrivals since the last reset are kept too: a page fetched while
    // they streamed in may predate them.
    // live has every arrival, held and queued ones too, unless it was
    // trimmed: taken once each, in the order they arrived (the queued
    // ones first was newest last, drawn below the older ones).
    const arrivedAt = this.order || new Map();
    const keep = dropPending ? [] : [...new Map([...this.held, ...this.arrivals, ...(this.live || [])].map((s) => [s.id, s])).values()]
      .sort((a, b) => (arrivedAt.get(a.id) || 0) - (arrivedAt.get(b.id) || 0));
    const shown = this.ids;
    // The row at the top of the view, scrolled down: it stays where it is
    // if the new list has it (a reconnect's reload).
    const sc = this.scroller;
    const at = sc && !dropPending && sc.scrollTop >= this.rh / 2 ? Math.floor(sc.scrollTop / this.rh) : -1;
    const anchor = at >= 0 && at < this.items.length ? { id: this.items[at].id, offset: sc.scrollTop - at * this.rh } : null;
    // The rows on top that the pill counted: shown, but not yet seen (live
    // arrivals while the page was on its way), so still new after it.
    const unseen = new Set(this.items.slice(0, this.unseen).map((s) => s.id));
    this.ids = new Set();
    this.live = [];
    this.items = [];
    this.gap = -1;
    this.arrivals = [];
    this.held = [];
    this.trimmed = false;
    this.unseen = 0;
    this.onNewCount(0);
    this.push(summaries);
    if (this.paused && !dropPending) this.holdNewer(shown);
    if (sc) sc.scrollTop = 0;
    const order = this.order || new Map();
    this.order = new Map();
    for (const s of keep) if (since === undefined || (order.get(s.id) || 0) > since) this.add(s);
    // What add queued goes in now, not a task later: a row on screen before
    // the reset would blink out for a frame, and come back animated as new.
    const batch = this.arrivals;
    this.arrivals = [];
    this.prepend(batch, shown);
    const i = anchor ? this.indexOf(anchor.id) : -1;
    let above = 0;
    if (i >= 0) {
      sc.scrollTop = i * this.rh + anchor.offset;
      for (let j = 0; j < i; j++) if (!shown.has(this.items[j].id) || unseen.has(this.items[j].id)) above++;
    }
    this.setUnseen(above); // paused, the held ones
    this.render();
    this.onChange();
  }

  /**
   * holdNewer moves the rows above the newest of those shown before a
   * reload (they came while paused or away) to the held ones, so that a
   * paused list keeps showing what it showed.
   */
  holdNewer(shown) {
    const k = this.items.findIndex((s) => shown.has(s.id));
    if (k <= 0) return;
    const newer = this.items.splice(0, k);
    for (const s of newer) this.ids.delete(s.id);
    this.held = newer.reverse().concat(this.held);
  }

  push(summaries) {
    for (const s of summaries) {
      if (this.ids.has(s.id)) continue;
      if (this.items.length >= this.cap) { this.trimmed = true; break; }
      this.items.push(s);
      this.ids.add(s.id);
    }
  }

  /** appendOlder adds an older page at the bottom; it returns false when the cap stopped it. */
  appendOlder(summaries) {
    this.push(summaries);
    this.schedule();
    this.onChange();
    return !this.trimmed;
  }

  /** add queues a summary that just arrived on the stream. */
  add(summary) {
    if (!this.live) this.live = [];
    if (!this.order) this.order = new Map();
    this.arrivedN = (this.arrivedN || 0) + 1;
    this.order.set(summary.id, this.arrivedN);
    if (this.order.size > 5000) this.order.delete(this.order.keys().next().value);
    this.live.push(summary);
    if (this.live.length > 2000) this.live.splice(0, 1000);
    if (this.has(summary.id)) return;
    if (this.paused) {
      this.held.push(summary);
      this.onNewCount(this.held.length);
      return;
    }
    this.arrivals.push(summary);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  flush() {
    this.flushScheduled = false;
    if (!this.arrivals.length) return;
    const batch = this.arrivals;
    this.arrivals = [];
    this.prepend(batch);
  }

  /** prepend puts batch (oldest first) on top; those in shown were listed already, and are not animated as new. */
  prepend(batch, shown) {
    const add = [];
    for (let i = batch.length - 1; i >= 0; i--) {
      const s = batch[i];
      if (this.ids.has(s.id)) continue;
      this.ids.add(s.id);
      if (!shown || !shown.has(s.id)) this.fresh.add(s.id);
      add.push(s);
    }
    if (!add.length) return;
    this.items = add.concat(this.items);
    if (this.gap >= 0) this.gap += add.length;
    while (this.items.length > this.cap) {
      this.ids.delete(this.items.pop().id);
      this.trimmed = true;
    }
    const sc = this.scroller;
    if (sc && sc.scrollTop >= this.rh / 2) {
      // Keep the row being read where it is.
      sc.scrollTop += add.length * this.rh;
      this.setUnseen(this.unseen + add.length);
    }
    this.render();
    this.onChange();
    if (this.fresh.size > 5000) this.fresh.clear();
  }

  setUnseen(n) {
    this.unseen = n;
    this.onNewCount(this.paused ? this.held.length : n);
  }

  /** setPaused holds arrivals (true) or shows those held and follows the top again (false). */
  setPaused(paused) {
    if (this.paused === paused) return;
    this.paused = paused;
    if (!paused) {
      const held = this.held;
      this.held = [];
      this.prepend(held);
      this.toTop();
    } else {
      this.onNewCount(this.held.length);
    }
  }

  /** toTop scrolls to the newest row and clears the new count. */
  toTop() {
    if (this.scroller) this.scroller.scrollTop = 0;
    this.setUnseen(0);
    this.render();
  }

  /** remove deletes the row of one exchange. */
  remove(id) {
    this.removeWhere((x) => x === id);
  }

  /**
   * removeWhere deletes the rows of the exchanges gone(id) says are gone,
   * queued and held ones too, in one pass over the list (retention takes
   * hundreds at a time). The row being read stays where it is.
   */
  removeWhere(gone) {
    if (this.live) this.live = this.live.filter((s) => !gone(s.id));
    // Focus on a row that goes moves to the nearest row that stays (older
    // first, as after a delete), not to the page's body.
    const active = document.activeElement;
    const focusedRow = active && this.tbody.contains(active) ? active.closest('tr.exchange-row') : null;
    let refocus = '';
    if (focusedRow && gone(focusedRow.dataset.id)) {
      const k = this.indexOf(focusedRow.dataset.id);
      const stays = (s) => !gone(s.id);
      const s = k < 0 ? null : this.items.slice(k + 1).find(stays) || this.items.slice(0, k).findLast(stays);
      if (s) refocus = s.id;
    }
    const counted = this.paused ? this.held.length : this.unseen;
    const sc = this.scroller;
    const at = sc && sc.scrollTop >= this.rh / 2 ? Math.floor(sc.scrollTop / this.rh) : 0;
    let above = 0;
    let unseen = 0;
    // The selected row's place, or the gap's, counted in the rows that stay.
    const sel = this.indexOf(this.selected);
    const place = sel >= 0 ? sel : this.gap;
    let before = 0;
    const items = this.items.filter((s, i) => {
      if (!gone(s.id)) return true;
      this.ids.delete(s.id);
      if (i < this.unseen) unseen++; // one of the new rows above
      if (i < at) above++;
      if (i < place) before++;
      return false;
    });
    const arrivals = this.arrivals.filter((s) => !gone(s.id));
    const held = this.held.filter((s) => !gone(s.id));
    let changed = items.length !== this.items.length || arrivals.length !== this.arrivals.length || held.length !== this.held.length;
    for (const id of this.marked) {
      if (gone(id)) {
        this.marked.delete(id);
        changed = true;
      }
    }
    if (place >= 0 && sel < 0) this.gap = place - before;
    if (this.selected && gone(this.selected)) {
      if (sel >= 0) this.gap = place - before;
      this.selected = '';
      changed = true;
    }
    if (!changed) return;
    this.items = items;
    this.arrivals = arrivals;
    this.held = held;
    this.unseen -= unseen;
    if (above) sc.scrollTop -= above * this.rh;
    // The pill counts them no more.
    if ((this.paused ? this.held.length : this.unseen) !== counted) this.setUnseen(this.unseen);
    this.render();
    if (refocus) {
      const r = this.rendered.get(refocus);
      if (r) r.path.focus({ preventScroll: true });
    }
    this.onChange();
  }

  indexOf(id) {
    return id ? this.items.findIndex((s) => s.id === id) : -1;
  }

  /** select marks the row of id as selected ("" for none) and scrolls it into view. */
  select(id) {
    this.selected = id || '';
    const i = this.indexOf(this.selected);
    // A row removed meanwhile (its detail still open, saying so) keeps
    // the gap it left.
    if (i >= 0 || !this.selected) this.gap = -1;
    const sc = this.scroller;
    if (i >= 0 && sc) {
      const head = this.headHeight();
      const y = head + i * this.rh;
      if (y - head < sc.scrollTop) sc.scrollTop = y - head;
      else if (y + this.rh > sc.scrollTop + sc.clientHeight) sc.scrollTop = y + this.rh - sc.clientHeight;
    }
    this.render();
  }

  /** toggleMark adds the exchange to the export selection or takes it out. */
  toggleMark(id) {
    if (this.marked.has(id)) this.marked.delete(id);
    else this.marked.add(id);
    const r = this.rendered.get(id);
    if (r) r.tr.classList.toggle('marked', this.marked.has(id));
    this.onChange();
  }

  /**
   * neighbour returns the id delta rows away from the selected one, or
   * from the gap it left when it was removed (the first row when there is
   * neither).
   */
  neighbour(delta) {
    const i = this.indexOf(this.selected);
    if (i < 0 && this.gap >= 0) {
      const j = delta > 0 ? this.gap + delta - 1 : this.gap + delta;
      return j >= 0 && j < this.items.length ? this.items[j].id : '';
    }
    if (i < 0) return this.items.length ? this.items[0].id : '';
    const j = i + delta;
    return j >= 0 && j < this.items.length ? this.items[j].id : '';
  }

  summary(id) {
    const i = this.indexOf(id);
    return i >= 0 ? this.items[i] : null;
  }

  /**
   * setMarkUnmatched says whether captured rows that no mock rule answered
   * carry a "no rule" label: only worth saying while the config has mock
   * rules (else every row would). The rows shown are filled again.
   */
  setMarkUnmatched(on) {
    if (this.markUnmatched === !!on) return;
    this.markUnmatched = !!on;
    for (const r of this.rendered.values()) if (r.s) this.fill(r, r.s);
  }

  /** refreshTimes updates every relative time shown. */
  refreshTimes(now = Date.now()) {
    for (const r of this.rendered.values()) {
      if (!r.time) continue;
      const text = fmt.relativeTime(r.time, now);
      if (r.last.rel !== text) {
        r.last.rel = text;
        r.timeEl.textContent = text;
      }
    }
  }

  /** headHeight is the height of the list's sticky header, measured once and on resize. */
  headHeight() {
    if (this.headH < 0) {
      const thead = this.tbody.parentElement && this.tbody.parentElement.tHead;
      this.headH = thead ? thead.offsetHeight : 0;
    }
    return this.headH;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /**
   * render puts the rows in view (and a margin) in the DOM. Rows leaving
   * the view go back to a pool and are refilled for the rows entering it,
   * so a scroll frame builds no elements and lays out only the rows that
   * changed (each row is its own layout and paint container).
   */
  render() {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    const n = this.items.length;
    const sc = this.scroller;
    let first = 0;
    let last = Math.min(n, 60);
    if (sc) {
      const top = sc.scrollTop - this.headHeight();
      const height = this.viewHeight || sc.clientHeight || 900;
      first = Math.max(0, Math.floor(top / this.rh) - overscan);
      last = Math.min(n, Math.ceil((top + height) / this.rh) + overscan);
      if (last < first) last = first;
      if (first > last) first = last;
    }
    // Rows that leave the view go back to the pool.
    const old = this.rendered;
    const keep = new Map();
    for (let i = first; i < last; i++) {
      const id = this.items[i].id;
      const r = old.get(id);
      if (r) {
        keep.set(id, r);
        old.delete(id);
      }
    }
    for (const r of old.values()) {
      r.tr.remove();
      r.id = '';
      r.s = null;
      this.pool.push(r);
    }
    const now = Date.now();
    const rows = [];
    for (let i = first; i < last; i++) {
      const s = this.items[i];
      let r = keep.get(s.id);
      if (!r) {
        r = this.pool.pop() || this.makeRow();
        this.fill(r, s, now);
        keep.set(s.id, r);
      }
      const sel = s.id === this.selected;
      if (r.selected !== sel) {
        r.selected = sel;
        r.tr.classList.toggle('selected', sel);
        if (sel) r.tr.setAttribute('aria-current', 'true');
        else r.tr.removeAttribute('aria-current');
      }
      if (r.index !== i) {
        r.index = i;
        r.tr.setAttribute('aria-rowindex', String(i + 2)); // the header is row 1
      }
      rows.push(r.tr);
    }
    if (this.pool.length > 200) this.pool.length = 200;
    this.rendered = keep;
    const topH = `${first * this.rh}px`;
    const bottomH = `${(n - last) * this.rh}px`;
    if (this.topH !== topH) { this.topH = topH; this.top.style.height = topH; }
    if (this.bottomH !== bottomH) { this.bottomH = bottomH; this.bottom.style.height = bottomH; }
    const rowCount = String(n + 1);
    if (this.rowCount !== rowCount) {
      this.rowCount = rowCount;
      if (this.tbody.parentElement) this.tbody.parentElement.setAttribute('aria-rowcount', rowCount);
    }
    // Move only what changed: a steady view touches nothing, a scroll
    // inserts only the rows entering the view.
    let cur = this.top.nextSibling;
    for (const tr of rows) {
      if (cur === tr) cur = cur.nextSibling;
      else this.tbody.insertBefore(tr, cur);
    }
    while (cur && cur !== this.bottom) {
      const next = cur.nextSibling;
      cur.remove();
      cur = next;
    }
    if (n && last >= n - 300) this.onNearEnd(); // well ahead: a page loads while the user scrolls
  }

  /** makeRow builds an empty row for the pool; fill gives it an exchange. */
  makeRow() {
    const timeEl = h('time');
    const method = h('td', { class: 'cell-method', role: 'cell' });
    const path = h('a', { class: 'path' });
    const status = h('span');
    const pathCell = h('td', { class: 'cell-path', role: 'cell' }, path);
    const bin = h('td', { class: 'cell-bin', role: 'cell' });
    const size = h('td', { class: 'cell-size num', role: 'cell' });
    const duration = h('td', { class: 'cell-duration num', role: 'cell' });
    const tr = h('tr', { class: 'exchange-row', role: 'row' },
      h('td', { class: 'cell-time', role: 'cell' }, timeEl),
      method,
      pathCell,
      h('td', { class: 'cell-status', role: 'cell' }, status),
      bin, size, duration);
    return {
      tr, timeEl, method, path, pathCell, badges: null, status, bin, size, duration,
      id: '', s: null, time: null, selected: false, index: -1, titled: false, last: {},
    };
  }

  /**
   * fill shows summary s in row r. It writes only what differs from what
   * the row showed before, and leaves tooltips to titles(), which runs when
   * the pointer first reaches the row: exact times and sizes are costly to
   * format and nobody hovers the rows flying past in a scroll.
   */
  fill(r, s, now = Date.now()) {
    const { tr, last } = r;
    const set = (key, value, apply) => {
      if (last[key] !== value) {
        last[key] = value;
        apply(value);
      }
    };
    r.id = s.id;
    r.s = s;
    r.titled = false;
    const time = new Date(s.time);
    const valid = !Number.isNaN(time.getTime());
    r.time = valid ? time : null;
    tr.dataset.id = s.id;
    set('status', fmt.statusClass(s.status), (v) => { tr.dataset.status = v; r.status.className = `status ${v}`; });
    set('bin', s.bin || '', (v) => { tr.dataset.bin = v; r.bin.textContent = v; });
    set('source', s.source || '', (v) => { tr.dataset.source = v; });
    let cls = 'exchange-row';
    if (this.fresh.delete(s.id)) cls += ' fresh';
    if (this.marked.has(s.id)) cls += ' marked';
    r.selected = s.id === this.selected;
    if (r.selected) cls += ' selected';
    tr.className = cls; // render and toggleMark change classes too: always set
    if (r.selected) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');

    set('datetime', s.time || '', (v) => { r.timeEl.setAttribute('datetime', v); });
    set('rel', valid ? fmt.relativeTime(time, now) : '–', (v) => { r.timeEl.textContent = v; });
    set('method', s.method || '', (v) => {
      r.method.className = `cell-method method ${fmt.methodClass(v)}`;
      r.method.textContent = v;
    });
    r.path.href = exchangeHref(s.id);
    set('path', fmt.shownPath(s), (v) => { r.path.textContent = v; });
    for (const el of [r.timeEl, r.path, r.size]) el.removeAttribute('title');

    const badges = [];
    if (s.source && s.source !== 'capture') badges.push(h('span', { class: `badge badge-source src-${s.source}`, title: `source: ${s.source}` }, s.source));
    if (s.error) badges.push(h('span', { class: 'badge badge-error', title: s.error }, 'error'));
    if (s.truncated) badges.push(h('span', { class: 'badge badge-warn', title: 'a body was over the size limit and is stored truncated' }, 'truncated'));
    if (s.signature) badges.push(h('span', { class: `badge badge-sig sig-${s.signature}`, title: `signature: ${s.signature}` }, `sig ${s.signature}`));
    if (s.rule) badges.push(h('span', { class: 'badge badge-rule', title: `answered by rule ${s.rule}` }, s.rule));
    else if (this.markUnmatched && s.source === 'capture') {
      badges.push(h('span', { class: 'badge badge-unmatched', title: 'no mock rule matched: the default answer was sent (open it to see the closest rule and why it missed)' }, 'no rule'));
    }
    set('labels', badges.length, (n) => { r.pathCell.style.setProperty('--labels', String(n)); }); // the path leaves each a stub: see style.css
    if (badges.length) {
      if (!r.badges) r.badges = h('span', { class: 'badges' });
      r.badges.replaceChildren(...badges);
      if (!r.badges.parentNode) r.pathCell.append(r.badges);
    } else if (r.badges && r.badges.parentNode) {
      r.badges.remove();
    }

    set('statusText', fmt.statusText(s.status), (v) => { r.status.textContent = v; });
    set('size', fmt.bytes(s.request_size), (v) => { r.size.textContent = v; });
    set('duration', fmt.duration(s.duration_ms), (v) => { r.duration.textContent = v; });
  }

  /** titles fills the tooltips of the row of tr (exact time, full URL, both sizes) once. */
  titles(tr) {
    for (const r of this.rendered.values()) {
      if (r.tr !== tr) continue;
      if (r.titled || !r.s) return;
      r.titled = true;
      const s = r.s;
      r.timeEl.title = r.time ? fmt.exactTime(r.time) : String(s.time || '');
      r.path.title = visible(s.url || s.path || '');
      r.size.title = `request ${fmt.exactBytes(s.request_size)} · response ${fmt.exactBytes(s.response_size)}`;
      return;
    }
  }
}
