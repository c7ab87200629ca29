// hooklab's UI entry point: wires the traffic list, the detail pane, the
// other views and the live stream to the page, the address bar and the
// keyboard.
//
// Page state lives in the address: ?q= (the filter language) and ?bin=
// filter the traffic (shareable, survive reload); the hash names the view
// and what is open (#/exchanges/{id}, #/webhooks, #/rules, …).

import * as api from './api.js';
import { Live } from './live.js';
import { ExchangeList } from './list.js';
import * as route from './route.js';
import { DetailPane } from './detail.js';
import { Views } from './views.js';
import { copyText } from './dom.js';
import * as query from './query.js';

const $ = (sel) => document.querySelector(sel);
const binPattern = /^[A-Za-z0-9_-]{1,64}$/;
const pageSize = 500;

const els = {
  conn: $('#conn'),
  connText: $('#conn .conn-text'),
  filter: $('#filter'),
  q: $('#q'),
  qError: $('#q-error'),
  qErrorText: $('#q-error .q-error-text'),
  qErrorNote: $('#q-error .q-error-note'),
  bin: $('#bin-filter'),
  binNames: $('#bin-names'),
  clear: $('#clear'),
  rulesError: $('#rules-error'),
  storeError: $('#store-error'),
  notice: $('#notice'),
  tbody: $('#exchanges'),
  scroller: $('#list-scroll'),
  empty: $('#empty'),
  newBin: $('#new-bin'),
  newBinOffer: $('#new-bin-offer'),
  newBinResult: $('#new-bin-result'),
  newBinURL: $('#new-bin-url'),
  newBinExample: $('#new-bin-example'),
  copyBinURL: $('#copy-bin-url'),
  listStatus: $('#list-status'),
  listAnnounce: $('#list-announce'),
  older: $('#load-older'),
  detail: $('#detail'),
  follow: $('#follow'),
  pill: $('#new-pill'),
  exportHAR: $('#export-har'),
  marked: $('#marked-count'),
  traffic: $('#view-traffic'),
  other: $('#view-other'),
  theme: $('#theme'),
  help: $('#help'),
  shortcuts: $('#shortcuts'),
};

const params = new URLSearchParams(location.search);
const state = {
  bin: params.get('bin') || '',
  q: params.get('q') || '',
  terms: [],        // every term of q
  apiParams: {},    // what the list API is asked
  post: [],         // terms the page checks on summaries itself
  deep: [],         // terms that need whole exchanges (live arrivals)
  next: '',         // cursor of the next older page, "" when none
  loading: null,    // AbortController of the list load in flight
  loadingOlder: false,
  filled: 0,        // older pages fillUp loaded since the last reload
  loaded: false,    // the list has loaded at least once for this filter
  loadFailed: false, // the notice shows a failed load (hidden by the next good one)
  qInvalid: '',     // the filter box holds this invalid filter: the list still shows state.q's
  binInvalid: '',   // the bin box holds this invalid bin name: the list still shows state.bin's
  broken: false,    // state.q itself (from the address) is invalid: the list shows nothing
  goodQ: null,      // the last filter the server listed: where a filter it refuses falls back
  refusedQ: null,   // a filter from the address the server refused before anything was listed
  loadError: '',    // why the last load failed
  gen: 0,           // bumps when the filter changes
  captureURL: '',   // this server's capture URL (GET /api/info), for the empty list's example
};
if (state.bin && !binPattern.test(state.bin)) {
  // An address with a bad bin would fail every load and every reconnect.
  state.bin = '';
  setSearch();
}

const list = new ExchangeList(els.tbody, {
  scroller: els.scroller,
  onChange: updateListStatus,
  onNearEnd: () => { if (state.loaded && state.next && !state.loadingOlder) loadOlder(); },
  onNewCount: (n) => {
    els.pill.hidden = n === 0;
    els.pill.textContent = `${n} new`;
    els.pill.setAttribute('aria-label', `${n} new ${n === 1 ? 'exchange' : 'exchanges'}: show`);
    // The status line too: an empty list's says what a pause holds.
    updateListStatus();
  },
});

const detail = new DetailPane(els.detail, {
  onClose: () => closeDetail(),
  onDeleted: (id) => {
    const next = list.selected === id ? list.neighbour(1) || list.neighbour(-1) : '';
    list.remove(id);
    closeDetail(next);
  },
  onError: showNotice,
  onOpen: (id) => openExchange(id),
});

const views = new Views(els.other, { notice: showNotice, openExchange: (id) => { location.hash = route.exchangeHref(id); } });

const live = new Live({
  onState: setConn,
  onOpen: () => {
    reload();
    loadRules();
    api.storeError().then(setStoreError);
    views.refresh();
    // An exchange opened while the server was away said so: show it now.
    if (els.detail.dataset.state === 'error') detail.refresh();
  },
  onMessage: (msg) => {
    switch (msg.type) {
      case 'exchange': {
        const x = msg.exchange;
        if (x) arrived(x);
        views.onStream(msg); // bin counts, rule hits
        break;
      }
      case 'store':
        // The store stopped (or started again) being able to write:
        // captures are answered 503 and show nowhere else.
        setStoreError(msg.error);
        break;
      case 'deleted': {
        // Deleted elsewhere (another page, a script): out of this list
        // too, and out of the detail pane if it shows it.
        if (!msg.id) break;
        const open = detail.id === msg.id;
        const next = open && list.selected === msg.id ? list.neighbour(1) || list.neighbour(-1) : '';
        if (list.has(msg.id)) list.remove(msg.id);
        if (open) closeDetail(next);
        views.onStream(msg); // bin counts
        break;
      }
      case 'retained':
        // Retention deleted the oldest exchanges: out of this list too,
        // and the detail pane says so if it shows one.
        onRetained(msg);
        views.onStream(msg); // bin counts
        break;
      case 'cleared':
        // A bin (or every bin) was emptied elsewhere: what is listed may
        // be gone; list again.
        if (msg.bin === null || !state.bin || state.bin === msg.bin) reload();
        views.onStream(msg);
        break;
      case 'rules':
        setRulesError(msg.error);
        loadRules(); // the mock rules may have come or gone
        views.onStream(msg);
        break;
      default:
        views.onStream(msg);
    }
  },
});

// ---- retention ----

// loads holds, for each list page on its way, the retained messages that
// came meanwhile (as tests of an id): the page may have been read before
// their deletes, and what they deleted is taken out of it when it comes.
// What streamed in after a message (which it does not cover) is not: the
// list's reset adds it back.
const loads = new Set();

/** retainedTest returns whether an exchange listed when msg came is gone by it. */
function retainedTest(msg) {
  const kept = new Set(msg.kept || []);
  return (id) => id >= msg.from && id < msg.before && !kept.has(id);
}

/** withoutRetained takes out of a page what the retained messages in seen deleted. */
function withoutRetained(xs, seen) {
  return seen.length ? xs.filter((x) => !seen.some((gone) => gone(x.id))) : xs;
}

let relistTimer = 0;
function onRetained(msg) {
  if (typeof msg.before !== 'string' || typeof msg.from !== 'string') {
    // Too many to say which: list again (at most once a second), and
    // ask whether the exchange the pane shows is still there.
    if (!relistTimer) {
      relistTimer = setTimeout(() => {
        relistTimer = 0;
        reload();
        const id = detail.id;
        if (!id) return;
        api.getExchange(id).catch((err) => {
          if (err.status === 404 && detail.id === id) detail.gone(retainedGone);
        });
      }, 1000);
    }
    return;
  }
  const gone = retainedTest(msg);
  for (const seen of loads) seen.push(gone);
  list.removeWhere(gone);
  if (detail.id && gone(detail.id)) detail.gone(retainedGone);
}

const retainedGone = 'This exchange was removed by retention (--retain-count, --retain-age, --retain-bytes): the oldest go as new ones are stored.';

// ---- filter ----

/**
 * parseShown parses the filter in the box; null when it is invalid. An
 * invalid filter is never applied: its error shows under the bar, saying
 * what the list shows meanwhile (the last valid filter's result), and the
 * list is dimmed.
 */
function parseShown(q) {
  try {
    const terms = query.parse(q);
    state.qInvalid = '';
    showFilterState();
    return terms;
  } catch (err) {
    state.qInvalid = q;
    showFilterState(err.message);
    return null;
  }
}

let filterError = '';
/** showFilterState shows (or hides) the filter's error and what the list shows instead. */
function showFilterState(message = filterError) {
  filterError = state.qInvalid || state.broken ? message : '';
  const invalid = !!filterError || !!state.binInvalid;
  els.q.setAttribute('aria-invalid', String(!!filterError));
  els.qError.hidden = !invalid || els.traffic.hidden;
  els.traffic.dataset.filter = invalid ? 'invalid' : 'ok';
  updateListStatus();
  if (!invalid) return;
  const why = [];
  if (filterError) why.push(`Invalid filter: ${filterError}`);
  if (state.binInvalid) why.push(`Invalid bin “${state.binInvalid}”: a bin name is 1 to 64 letters, digits, _ or -.`);
  let shows;
  if (state.broken) shows = 'Nothing is listed until the filter is fixed.';
  else if (state.q && state.bin) shows = `The list still shows the last valid filter: ${state.q} in bin ${state.bin}`;
  else if (state.q) shows = `The list still shows the last valid filter: ${state.q}`;
  else if (state.bin) shows = `The list still shows bin ${state.bin}.`;
  else shows = 'The list still shows every exchange, unfiltered.';
  els.qErrorText.textContent = why.join(' ');
  els.qErrorNote.textContent = shows;
}

/** compile turns the address's filter into API parameters and the checks left to the page. */
async function compile() {
  const parsed = parseShown(state.q);
  // Only an address can hold an invalid state.q (or one the server refused
  // before anything was listed: there is no listed filter to fall back on).
  state.broken = parsed === null || state.q === state.refusedQ;
  showFilterState();
  const terms = parsed || [];
  state.terms = terms;
  const { params: folded, rest } = query.fold(terms);
  let p = folded;
  let post = rest;
  if (terms.length && await api.serverQueryLang()) {
    // The server understands the whole language: it gets the filter as
    // typed (a folded word would lose its quotes, and "bin:x" in quotes
    // would become a bin: filter).
    p = { q: state.q };
    post = [];
  } else if (!query.summaryOnly(rest)) {
    const extra = rest.filter((t) => !query.summaryOnly([t]));
    showNotice(`This server takes q= as plain text: ${extra.length} filter term(s) (header:, json:, more words) apply only to new arrivals.`);
  }
  if (state.bin) {
    if (p.bin && p.bin !== state.bin) post = [...post, { field: 'bin', value: p.bin, not: false }];
    p = { ...p, bin: state.bin };
  }
  state.apiParams = p;
  state.post = post.filter((t) => query.summaryOnly([t]));
  state.deep = terms.filter((t) => !query.summaryOnly([t]));
  updateExport();
}

/**
 * countsAllBins reports whether the view open counts every bin's traffic
 * (the Bins view's counts, the Rules view's hits): the stream then sends
 * every bin, whatever the list's filter; the traffic view's own stream
 * comes back with it (followFilter in onRoute).
 */
function countsAllBins() {
  const v = route.current().view;
  return v === 'bins' || v === 'rules';
}

function streamBin() {
  return countsAllBins() ? '' : listBin();
}

/** listBin is the bin the traffic list's own stream is filtered to. */
function listBin() {
  if (state.bin) return state.bin;
  const bins = state.terms.filter((t) => t.field === 'bin' && !t.not);
  return bins.length === 1 ? bins[0].value : '';
}

/**
 * streamQ is the filter the live stream should match on the server: the
 * filter when it needs whole exchanges (free text, header:, json:) and
 * the server has listed it (one it refuses would keep the stream from
 * opening). Summary terms are matched here, as they arrive.
 */
function streamQ() {
  return countsAllBins() ? '' : listQ();
}

/** listQ is the filter the traffic list's own stream matches. */
function listQ() {
  return state.deep.length && !state.broken && state.q && state.q === state.goodQ ? state.q : '';
}

/**
 * followFilter reconnects the stream when it does not filter as the list
 * does; the reconnect reloads the list (Live's onOpen), which covers what
 * the old stream did not send.
 */
function followFilter() {
  const bin = streamBin();
  const q = streamQ();
  if (live.bin !== bin || live.q !== q) live.connect(bin, q);
}

const checking = [];
let checkingNow = 0;
/** arrived takes a summary from the stream: shown when it matches the filter. */
function arrived(x) {
  if (state.broken) return;
  // Under a view that counts every bin the stream is not the list's: the
  // list is loaded again when its own stream comes back (followFilter in
  // onRoute), so nothing is checked meanwhile (a free-text filter would
  // fetch every exchange of every bin whole).
  if (countsAllBins() && (live.bin !== listBin() || live.q !== listQ())) return;
  if (state.bin && x.bin !== state.bin) return;
  if (!query.matchSummary(state.terms, x)) return;
  if (!state.deep.length || (live.q && live.q === state.q)) {
    list.add(x); // the server matched the rest
    return;
  }
  // Free text, header: and json: need the whole exchange (until the
  // stream filters by them: see followFilter).
  const c = { x, gen: state.gen, done: false, match: false };
  checking.push(c);
  checked.push(c);
  pump();
}

// checked holds the checks in the order their exchanges arrived: they are
// fetched four at a time and end in any order, but go into the list in
// that order, as the server lists them.
const checked = [];
function pump() {
  while (checkingNow < 4 && checking.length) {
    const c = checking.shift();
    if (c.gen !== state.gen) { // the filter changed: not worth a fetch
      c.done = true;
      continue;
    }
    checkingNow++;
    // Revealed: a filter may name a secret header's value, which the
    // redacted exchange would never match (the server matches it).
    api.getExchange(c.x.id, undefined, { reveal: true }).then((full) => {
      c.match = c.gen === state.gen && query.matchExchange(state.terms, full);
    }, () => {}).finally(() => {
      c.done = true;
      checkingNow--;
      pump();
    });
  }
  // Those of an older filter go, done or not.
  while (checked.length && (checked[0].done || checked[0].gen !== state.gen)) {
    const d = checked.shift();
    if (d.match && d.gen === state.gen) list.add(d.x);
  }
}

function setSearch() {
  const u = new URL(location.href);
  for (const [k, v] of [['q', state.q], ['bin', state.bin]]) {
    if (v) u.searchParams.set(k, v);
    else u.searchParams.delete(k);
  }
  history.replaceState(null, '', u);
}

async function applyFilter({ bin = state.bin, q = state.q } = {}) {
  if (bin === state.bin && q === state.q) return;
  await switchFilter(bin, q);
}

/** switchFilter lists bin and q afresh; compiled runs once the filter is compiled, before the list loads. */
async function switchFilter(bin, q, compiled = () => {}) {
  const oldStream = streamBin();
  state.bin = bin;
  state.q = q;
  state.gen++;
  setSearch();
  state.loaded = false;
  state.next = '';
  list.reset([], { dropPending: true });
  await compile();
  compiled();
  if (streamBin() !== oldStream) live.connect(streamBin()); // then its q, once listed (followFilter)
  else reload();
}

function updateExport() {
  const ids = [...list.marked];
  // With the whole filter in q=, the server applies its path: terms (a
  // path= beside them would be one more term to hold).
  const path = state.apiParams.q && state.apiParams.q === state.q ? '' : pathTerm();
  els.exportHAR.href = ids.length ? api.exportURL({ ids }) : api.exportURL({ ...state.apiParams, path });
  els.marked.hidden = !ids.length;
  els.marked.textContent = `${ids.length} marked`;
}

function pathTerm() {
  const t = state.terms.find((x) => x.field === 'path' && !x.not);
  return t ? t.value : '';
}

// ---- list loading ----

async function reload() {
  if (state.loading) state.loading.abort();
  const ctl = new AbortController();
  state.loading = ctl;
  const gen = state.gen;
  if (state.broken) {
    list.reset([]);
    state.next = '';
    state.loaded = true;
    state.loading = null;
    updateListStatus();
    return;
  }
  const seen = [];
  loads.add(seen);
  try {
    const since = list.arrived; // what arrives from now on may postdate the page
    const page = await api.listExchanges({ ...state.apiParams, limit: pageSize }, ctl.signal);
    if (ctl.signal.aborted || gen !== state.gen) return;
    list.reset(filterPage(withoutRetained(page.exchanges || [], seen)), { since });
    state.next = page.next || '';
    state.loaded = true;
    state.goodQ = state.q;
    state.refusedQ = null; // listed once: a refusal from now on falls back to this
    state.filled = 0;
    fillUp();
    if (state.loadFailed) {
      state.loadFailed = false;
      hideNotice();
    }
    if (detail.id) list.select(detail.id);
    followFilter();
  } catch (err) {
    if (ctl.signal.aborted || err.name === 'AbortError' || gen !== state.gen) return;
    if (err.status === 400 && state.q && state.q !== state.goodQ) {
      // The server refused a filter the page's parser took (a typo it
      // knows, such as stauts:500): shown as invalid, like one the page
      // refuses, and the list goes back to the last filter it listed.
      refuseFilter(state.q, err.message);
      return;
    }
    state.loadFailed = true;
    state.loadError = err.message;
    state.loaded = true; // not "Loading…" for ever: the status line says why
    showNotice(`Could not load exchanges: ${err.message}`);
  } finally {
    loads.delete(seen);
    if (state.loading === ctl) state.loading = null;
    updateListStatus();
  }
}

/**
 * refuseFilter falls back to the last filter the server listed, keeping the
 * refused one in the box with why. Before anything was listed (a shared
 * address), there is nothing to fall back on: the filter stays, invalid,
 * and nothing is listed, as for one the page refuses.
 */
async function refuseFilter(q, message) {
  message = message.replace(/^(q: )?invalid input: /, '');
  if (state.goodQ === null) {
    state.refusedQ = q;
    state.gen++;
    await compile();
    showFilterState(message);
    reload();
    return;
  }
  await switchFilter(state.bin, state.goodQ, () => {
    state.qInvalid = q;
    showFilterState(message);
  });
}

function filterPage(xs) {
  return state.post.length ? xs.filter((x) => query.matchSummary(state.post, x)) : xs;
}

async function loadOlder() {
  if (!state.next || state.loadingOlder) return;
  const { next, gen } = state;
  state.loadingOlder = true;
  els.older.disabled = true;
  let failed = false;
  const seen = [];
  loads.add(seen);
  try {
    const page = await api.listExchanges({ ...state.apiParams, limit: pageSize, cursor: next });
    if (state.gen !== gen || state.next !== next) return; // the filter changed or the list reloaded meanwhile
    state.next = list.appendOlder(filterPage(withoutRetained(page.exchanges || [], seen))) ? (page.next || '') : '';
  } catch (err) {
    failed = true;
    showNotice(`Could not load older exchanges: ${err.message}`);
  } finally {
    loads.delete(seen);
    state.loadingOlder = false;
    els.older.disabled = false;
    // Also after a page that came too late: a reload meanwhile could not
    // start filling while this one was loading.
    if (!failed) fillUp();
    updateListStatus();
  }
}

// fillUp loads older pages while the list holds less than a page and the
// server says there is more, up to maxFill pages after a reload: a filter
// the text index cannot answer (path:, header:, json:, -word…) is checked
// a bounded number of exchanges a page, so a page can hold few or none of
// the matches that lie further on. Past maxFill, "Load older" goes on.
const maxFill = 20;

function fillUp() {
  if (!state.next || state.loadingOlder || list.trimmed || list.size >= pageSize || state.filled >= maxFill) return;
  state.filled++;
  loadOlder();
}

// showEmpty words the empty list for the bin it is filtered to, if any:
// it names the bin, and its example sends there, so that what it sends
// shows in this list (bin default's address is the capture URL itself).
function showEmpty() {
  const bin = state.bin;
  els.empty.querySelector('.empty-title').textContent = bin ? `No exchanges in bin ${bin} yet.` : 'No exchanges yet.';
  const ex = document.querySelector('#new-bin-offer .empty-example');
  if (!ex || !state.captureURL) return; // the default example stays
  const path = !bin ? 'b/demo/' : bin === 'default' ? '' : `b/${encodeURIComponent(bin)}/`;
  ex.textContent = `curl -H 'Content-Type: application/json' -d '{"hello":"world"}' ${state.captureURL}${path}`;
}

function updateListStatus() {
  const n = list.size;
  // Paused, arrivals are held rather than listed: with every listed one
  // gone (retention, a delete) the list is empty but the store is not.
  const held = list.paused ? list.held.length : 0;
  els.empty.hidden = !state.loaded || n > 0 || held > 0 || !!state.q;
  if (!els.empty.hidden) showEmpty();
  els.exportHAR.hidden = state.broken;
  els.older.hidden = !state.next || list.trimmed;
  let text = '';
  if (!state.loaded) text = 'Loading…';
  else if (state.broken) text = 'Nothing listed: the filter is invalid.';
  else if (state.loadFailed && n === 0) text = `The exchanges could not be loaded: ${state.loadError}`;
  else if (state.qInvalid) {
    const of = state.q ? `of the last valid filter (${state.q})` : 'unfiltered';
    text = `${n} ${n === 1 ? 'exchange' : 'exchanges'} ${of}: the filter in the box is invalid.`;
  }
  else if (list.trimmed) text = `Showing the newest ${n}. Narrow the filter to see older ones.`;
  else if (n > 0) text = `${n} ${n === 1 ? 'exchange' : 'exchanges'}${state.next ? ' loaded' : ''}`;
  else if (held > 0) text = `None shown: ${held} new ${held === 1 ? 'exchange is' : 'exchanges are'} held while paused; Follow shows ${held === 1 ? 'it' : 'them'}.`;
  else if (state.q && state.next) text = state.loadingOlder ? 'Looking through older exchanges…' : 'Nothing matches among the newest exchanges: Load older to look further.';
  else if (state.q) text = 'Nothing matches the filter.';
  if (els.listStatus.textContent !== text) els.listStatus.textContent = text;
  updateExport();
  announceList();
}

// The list's status and its "N new" are told to screen readers through
// #list-announce (a polite live region), at most once every announceEvery
// ms and with the latest text: both change with every arrival, and a live
// region changing with each would queue one announcement per exchange.
const announceEvery = 3000;
let announcedAt = 0;
let announceTimer = 0;
function announceList() {
  if (announceTimer) return;
  announceTimer = setTimeout(() => {
    announceTimer = 0;
    announcedAt = Date.now();
    const text = [els.listStatus.textContent, els.pill.hidden ? '' : els.pill.textContent].filter(Boolean).join('. ');
    if (els.listAnnounce.textContent !== text) els.listAnnounce.textContent = text;
  }, Math.max(0, announcedAt + announceEvery - Date.now()));
}

// ---- connection, banners ----

function setConn(s, detailText) {
  els.conn.dataset.state = s === 'open' ? 'open' : 'closed';
  els.conn.dataset.phase = s;
  let text = 'live';
  if (s === 'connecting') text = 'connecting…';
  else if (s === 'closed') text = 'reconnecting…';
  els.connText.textContent = text;
  els.conn.title = s === 'open'
    ? 'Connected: new exchanges appear as they arrive'
    : `Not connected to hooklab${detailText ? ` (${detailText})` : ''}`;
}

/** loadRules shows the config's state as of now; the stream reports later reloads. */
async function loadRules() {
  try {
    const r = await api.getRules();
    setRulesError(r && r.error);
    list.setMarkUnmatched(((r && r.rules) || []).some((x) => x.kind === 'mock'));
  } catch { /* a server without /api/rules has no config to report on */ }
}

function setRulesError(error) {
  els.rulesError.hidden = !error;
  els.rulesError.querySelector('.banner-text').textContent = error || '';
}

function setStoreError(error) {
  els.storeError.hidden = !error;
  els.storeError.querySelector('.banner-text').textContent = error || '';
}

let noticeTimer = 0;
function showNotice(text) {
  els.notice.textContent = text;
  els.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(hideNotice, 8000);
}
function hideNotice() {
  els.notice.hidden = true;
}

// ---- routing ----

/** openExchange shows id in the detail pane ("" closes it) and records it in the address. */
function openExchange(id) {
  const want = id ? route.exchangeHref(id) : '';
  if (location.hash !== want) {
    history.replaceState(null, '', want || location.pathname + location.search);
  }
  onRoute();
}

/**
 * closeDetail closes the detail pane. Focus in the pane (or lost with the
 * contents it replaces) goes back to the list, to the row of the exchange
 * that was open (row, for one deleted: the row that took its place), so a
 * keyboard user goes on from where they were.
 */
function closeDetail(row = detail.id) {
  const a = document.activeElement;
  const inPane = !a || a === document.body || els.detail.contains(a);
  if (row) list.select(row); // in view and rendered, to take the focus
  openExchange('');
  const link = row && inPane ? els.tbody.querySelector(`tr.exchange-row[data-id="${CSS.escape(row)}"] a.path`) : null;
  if (link) link.focus();
}

function onRoute() {
  const r = route.current();
  const traffic = r.view === 'traffic';
  els.traffic.hidden = !traffic;
  els.other.hidden = traffic;
  els.filter.hidden = !traffic;
  els.clear.hidden = !traffic; // it deletes the list's exchanges: with the list alone
  showFilterState();
  for (const a of document.querySelectorAll('.view-link')) {
    if (a.dataset.view === r.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // The stream is filtered as the list is, except under a view that
  // counts every bin. Before the first connect (the filter not compiled
  // yet) the start connects it.
  if (!live.stopped) followFilter();
  if (!traffic) {
    views.show(r);
    return;
  }
  views.show(null);
  list.select(r.id);
  if (r.id !== detail.id) detail.show(r.id);
  document.body.classList.toggle('has-detail', !!r.id);
}

// ---- filter inputs ----

let binTimer = 0;
function onBinInput() {
  clearTimeout(binTimer);
  const v = els.bin.value.trim();
  const ok = v === '' || binPattern.test(v);
  els.bin.setAttribute('aria-invalid', String(!ok));
  state.binInvalid = ok ? '' : v;
  showFilterState();
  if (!ok) return;
  binTimer = setTimeout(() => applyFilter({ bin: v }), 250);
}

let qTimer = 0;
function onQInput() {
  clearTimeout(qTimer);
  const v = els.q.value.trim();
  if (!parseShown(v)) return;
  qTimer = setTimeout(() => applyFilter({ q: v }), 300);
}

let binsFetched = 0;
async function refreshBinNames() {
  if (Date.now() - binsFetched < 5000) return;
  binsFetched = Date.now();
  try {
    const bins = await api.listBins();
    els.binNames.replaceChildren(...bins.map((b) => {
      const o = document.createElement('option');
      o.value = b.name;
      o.label = `${b.count} ${b.count === 1 ? 'exchange' : 'exchanges'}`;
      return o;
    }));
  } catch { /* the datalist is only a convenience */ }
}

/** newBin makes a bin with a generated name, shows its URL and filters to it. */
async function newBin() {
  els.newBin.disabled = true;
  try {
    const bin = await api.createBin();
    els.newBinURL.textContent = bin.url;
    els.newBinExample.textContent =
      `curl -H 'Content-Type: application/json' -d '{"hello":"world"}' ${bin.url}`;
    els.newBinResult.hidden = false;
    els.newBinOffer.hidden = true;
    els.bin.value = bin.name;
    els.bin.setAttribute('aria-invalid', 'false');
    state.binInvalid = ''; // the box's invalid name, if any, is replaced
    showFilterState();
    applyFilter({ bin: bin.name });
  } catch (err) {
    showNotice(`New bin: ${err.message}`);
  } finally {
    els.newBin.disabled = false;
  }
}

async function clearAll() {
  const what = state.bin ? `every exchange in bin "${state.bin}"` : 'every exchange in every bin';
  if (!confirm(`Delete ${what}?`)) return;
  try {
    await api.clearExchanges(state.bin);
    list.reset([], { dropPending: true });
    state.next = '';
    openExchange('');
  } catch (err) {
    showNotice(`Clear: ${err.message}`);
  }
}

function setFollow(follow) {
  list.setPaused(!follow);
  els.follow.setAttribute('aria-pressed', String(follow));
  els.follow.textContent = follow ? 'Pause' : 'Follow';
}

// ---- theme ----

// The toggle flips the theme shown, light and dark: every click changes
// what the page looks like. A choice that matches the OS's theme is stored
// as "follow the OS" (so the page follows it again when it changes); one
// against it is stored as light or dark.
const themeKey = 'hooklab.theme';
const osDark = matchMedia('(prefers-color-scheme: dark)');
const osTheme = () => (osDark.matches ? 'dark' : 'light');
function applyTheme(t) {
  if (t) document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
  const shown = t || osTheme();
  const other = shown === 'dark' ? 'light' : 'dark';
  els.theme.textContent = shown === 'dark' ? '☾' : '☀';
  els.theme.title = `Theme: ${shown}, ${t ? 'chosen here' : 'as the OS'}. Click for ${other}${other === osTheme() ? ' (as the OS)' : ''}.`;
  els.theme.setAttribute('aria-label', `Theme: ${shown}. Switch to ${other}`);
  els.theme.dataset.theme = t || 'os';
  els.theme.dataset.shown = shown;
}
function cycleTheme() {
  const shown = localStorage.getItem(themeKey) || osTheme();
  const next = shown === 'dark' ? 'light' : 'dark';
  const store = next === osTheme() ? '' : next;
  localStorage.setItem(themeKey, store);
  applyTheme(store);
}
osDark.addEventListener('change', () => applyTheme(localStorage.getItem(themeKey) || ''));

// ---- keyboard ----

function typing(el) {
  return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

function onKey(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  // An open modal dialog (the shortcuts) has the keys, wherever the focus
  // is: its Escape closes it alone, and j, k or Enter do not act on the
  // page behind it.
  if (document.querySelector('dialog[open]')) return;
  if (ev.key === 'Escape') {
    if (ev.target.closest && ev.target.closest('#action-panel')) detail.closePanel(); // as its Cancel does
    else if (typing(ev.target)) ev.target.blur();
    else if (detail.id) closeDetail();
    return;
  }
  if (typing(ev.target)) return;
  const trafficView = !els.traffic.hidden;
  const open = (delta) => {
    const id = list.neighbour(delta);
    if (!id) return;
    ev.preventDefault();
    // Focus on a row's link goes along to the new row's, so that Tab and
    // Enter go on from the exchange open now.
    // Focus in the pane stays there: on the pane itself, as what it was
    // on is drawn anew.
    const fromRow = document.activeElement && document.activeElement.closest('tr.exchange-row');
    const fromPane = els.detail.contains(document.activeElement);
    openExchange(id);
    if (fromRow) {
      const link = document.querySelector(`tr.exchange-row[data-id="${CSS.escape(id)}"] a.path`);
      if (link) link.focus({ preventScroll: true });
    } else if (fromPane) {
      els.detail.focus({ preventScroll: true });
    }
  };
  // The arrows move through the list as j and k do, except in the detail
  // pane, which they scroll (a long body, line by line).
  if ((ev.key === 'ArrowDown' || ev.key === 'ArrowUp') && els.detail.contains(ev.target)) return;
  switch (ev.key) {
    case '?':
      ev.preventDefault();
      if (!els.shortcuts.open) els.shortcuts.showModal();
      break;
    case 'j':
    case 'ArrowDown':
      if (trafficView) open(1);
      break;
    case 'k':
    case 'ArrowUp':
      if (trafficView) open(-1);
      break;
    case 'Enter': {
      // A row's link opens its exchange as Enter elsewhere does, focus
      // and all: followed as a link, it kept the focus in the list, the
      // pane's actions past every row below it.
      const rowLink = ev.target.closest && ev.target.closest('tr.exchange-row a.path');
      if (trafficView && rowLink) {
        ev.preventDefault();
        openExchange(rowLink.closest('tr.exchange-row').dataset.id);
        els.detail.focus();
        break;
      }
      // Not from a control Enter works itself: a link, a button, a
      // section's summary (it folds).
      if (trafficView && !ev.target.closest('a, button, summary, [role="button"]')) {
        const id = list.selected || list.neighbour(1);
        if (id) {
          ev.preventDefault();
          openExchange(id);
          els.detail.focus(); // its actions are a Tab away, not past every row
        }
      }
      break;
    }
    case '/':
      if (!trafficView) location.hash = '#/';
      ev.preventDefault();
      els.q.focus();
      els.q.select();
      break;
    case 'r':
      if (detail.x && trafficView) { ev.preventDefault(); detail.openReplay(); }
      break;
    case 'e':
      if (detail.x && trafficView) { ev.preventDefault(); detail.openEdit(); }
      break;
    case 'c':
      if (detail.x && trafficView) { ev.preventDefault(); detail.copyCurl(detail.x.id, $('#copy-curl')); }
      break;
    case 'x':
      if (list.selected && trafficView) { list.toggleMark(list.selected); updateExport(); }
      break;
    case 'p':
      if (trafficView) setFollow(list.paused);
      break;
  }
}

// ---- start ----

applyTheme(localStorage.getItem(themeKey) || '');
els.bin.value = state.bin;
els.q.value = state.q;
els.bin.addEventListener('input', onBinInput);
els.bin.addEventListener('focus', refreshBinNames);
els.q.addEventListener('input', onQInput);
els.filter.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearTimeout(binTimer);
  clearTimeout(qTimer);
  const b = els.bin.value.trim();
  const q = els.q.value.trim();
  applyFilter({ bin: b === '' || binPattern.test(b) ? b : state.bin, q: parseShown(q) ? q : state.q });
});
els.clear.addEventListener('click', clearAll);
els.newBin.addEventListener('click', newBin);
els.copyBinURL.addEventListener('click', (ev) => copyText(els.newBinURL.textContent, ev.currentTarget));
els.older.addEventListener('click', loadOlder);
els.follow.addEventListener('click', () => setFollow(list.paused));
els.pill.addEventListener('click', () => {
  if (list.paused) setFollow(true);
  else list.toTop();
});
els.theme.addEventListener('click', cycleTheme);
els.help.addEventListener('click', () => els.shortcuts.showModal());
els.tbody.addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr.exchange-row');
  if (!tr || ev.target.closest('a[download]')) return;
  if (ev.button !== 0) return;
  ev.preventDefault();
  if (ev.ctrlKey || ev.metaKey || ev.shiftKey) {
    list.toggleMark(tr.dataset.id);
    updateExport();
    return;
  }
  openExchange(tr.dataset.id);
});
addEventListener('hashchange', onRoute);
addEventListener('popstate', onRoute);
document.addEventListener('keydown', onKey);
setInterval(() => list.refreshTimes(), 10_000);

// For the browser tests and the curious: the list's state.
window.hooklab = { list, state, live };

// The empty list's example names this server's capture URL, not the
// default port.
api.getInfo().then((info) => {
  const ex = document.querySelector('#new-bin-offer .empty-example');
  if (ex && info && info.capture_url) {
    state.captureURL = info.capture_url;
    ex.nextElementSibling.textContent = 'Or let hooklab make a bin and tell you its exact URL:';
    showEmpty();
  }
}); // without info the default example stays

onRoute();
compile().then(() => {
  live.connect(streamBin());
  reload();
});
