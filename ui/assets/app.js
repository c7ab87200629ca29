// hooklab's UI entry point: wires the traffic list, the detail pane and the
// live stream to the page, the address bar and the keyboard.
//
// Page state lives in the address: ?bin= filters (shareable, survives
// reload), #/exchanges/{id} opens an exchange.

import * as api from './api.js';
import { Live } from './live.js';
import { ExchangeList } from './list.js';
import * as route from './route.js';
import { DetailPane } from './detail.js';
import { copyText } from './dom.js';

const $ = (sel) => document.querySelector(sel);
const binPattern = /^[A-Za-z0-9_-]{1,64}$/;

const els = {
  conn: $('#conn'),
  connText: $('#conn .conn-text'),
  filter: $('#filter'),
  bin: $('#bin-filter'),
  binNames: $('#bin-names'),
  clear: $('#clear'),
  rulesError: $('#rules-error'),
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
  older: $('#load-older'),
  detail: $('#detail'),
};

const state = {
  bin: new URLSearchParams(location.search).get('bin') || '',
  next: '',         // cursor of the next older page, "" when none
  loading: null,    // AbortController of the list load in flight
  loaded: false,    // the list has loaded at least once for this filter
  loadFailed: false, // the notice shows a failed load (hidden by the next good one)
};
if (state.bin && !binPattern.test(state.bin)) {
  // An address with a bad bin would fail every load and every reconnect.
  state.bin = '';
  history.replaceState(null, '', location.pathname + location.hash);
}

const list = new ExchangeList(els.tbody, { scroller: els.scroller, onChange: updateListStatus });

const detail = new DetailPane(els.detail, {
  onClose: () => openExchange(''),
  onDeleted: (id) => {
    list.remove(id);
    openExchange('');
  },
  onError: showNotice,
});

const live = new Live({
  onState: setConn,
  onOpen: () => {
    reload();
    loadRules();
  },
  onMessage: (msg) => {
    switch (msg.type) {
      case 'exchange': {
        const x = msg.exchange;
        if (!x || (state.bin && x.bin !== state.bin)) return;
        list.add(x);
        break;
      }
      case 'rules':
        setRulesError(msg.error);
        break;
      default:
        // Message types from newer servers are ignored.
    }
  },
});

// ---- list loading ----

async function reload() {
  if (state.loading) state.loading.abort();
  const ctl = new AbortController();
  state.loading = ctl;
  try {
    const page = await api.listExchanges({ bin: state.bin, limit: 200 }, ctl.signal);
    if (ctl.signal.aborted) return;
    list.reset(page.exchanges || []);
    state.next = page.next || '';
    state.loaded = true;
    if (state.loadFailed) {
      state.loadFailed = false;
      hideNotice();
    }
    if (detail.id) list.select(detail.id);
  } catch (err) {
    if (err.name !== 'AbortError') {
      state.loadFailed = true;
      showNotice(`Could not load exchanges: ${err.message}`);
    }
  } finally {
    if (state.loading === ctl) state.loading = null;
    updateListStatus();
  }
}

async function loadOlder() {
  if (!state.next) return;
  const { bin, next } = state;
  els.older.disabled = true;
  try {
    const page = await api.listExchanges({ bin, limit: 200, cursor: next });
    if (state.bin !== bin || state.next !== next) return; // the filter changed or the list reloaded meanwhile
    state.next = list.appendOlder(page.exchanges || []) ? (page.next || '') : '';
  } catch (err) {
    showNotice(`Could not load older exchanges: ${err.message}`);
  } finally {
    els.older.disabled = false;
    updateListStatus();
  }
}

function updateListStatus() {
  const n = list.size;
  els.empty.hidden = !state.loaded || n > 0;
  els.older.hidden = !state.next || list.trimmed;
  let text = '';
  if (!state.loaded) text = 'Loading…';
  else if (list.trimmed) text = `Showing the newest ${n}. Narrow the filter to see older ones.`;
  else if (n > 0) text = `${n} ${n === 1 ? 'exchange' : 'exchanges'}${state.next ? ' loaded' : ''}`;
  if (els.listStatus.textContent !== text) els.listStatus.textContent = text;
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
  } catch { /* a server without /api/rules has no config to report on */ }
}

function setRulesError(error) {
  els.rulesError.hidden = !error;
  els.rulesError.querySelector('.banner-text').textContent = error || '';
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

function onRoute() {
  const { id } = route.current();
  list.select(id);
  if (id !== detail.id) detail.show(id);
  document.body.classList.toggle('has-detail', !!id);
}

// ---- bin filter ----

function applyBin(bin) {
  if (bin === state.bin) return;
  state.bin = bin;
  const u = new URL(location.href);
  if (bin) u.searchParams.set('bin', bin);
  else u.searchParams.delete('bin');
  history.replaceState(null, '', u);
  state.loaded = false;
  state.next = '';
  list.reset([], { dropPending: true });
  live.connect(bin);
  reload();
}

let binTimer = 0;
function onBinInput() {
  clearTimeout(binTimer);
  const v = els.bin.value.trim();
  const ok = v === '' || binPattern.test(v);
  els.bin.setAttribute('aria-invalid', String(!ok));
  if (!ok) return;
  binTimer = setTimeout(() => applyBin(v), 250);
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
    applyBin(bin.name);
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

// ---- keyboard ----

function typing(el) {
  return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

function onKey(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === 'Escape') {
    if (typing(ev.target)) ev.target.blur();
    else if (detail.id) openExchange('');
    return;
  }
  if (typing(ev.target)) return;
  switch (ev.key) {
    case 'j':
    case 'ArrowDown': {
      const id = list.neighbour(1);
      if (id) { ev.preventDefault(); openExchange(id); }
      break;
    }
    case 'k':
    case 'ArrowUp': {
      const id = list.neighbour(-1);
      if (id) { ev.preventDefault(); openExchange(id); }
      break;
    }
    case '/':
      ev.preventDefault();
      els.bin.focus();
      els.bin.select();
      break;
  }
}

// ---- start ----

els.bin.value = state.bin;
els.bin.addEventListener('input', onBinInput);
els.bin.addEventListener('focus', refreshBinNames);
els.filter.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearTimeout(binTimer);
  const v = els.bin.value.trim();
  if (v === '' || binPattern.test(v)) applyBin(v);
});
els.clear.addEventListener('click', clearAll);
els.newBin.addEventListener('click', newBin);
els.copyBinURL.addEventListener('click', (ev) => copyText(els.newBinURL.textContent, ev.currentTarget));
els.older.addEventListener('click', loadOlder);
els.tbody.addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr.exchange-row');
  if (!tr || ev.target.closest('a[download]')) return;
  if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  openExchange(tr.dataset.id);
});
addEventListener('hashchange', onRoute);
addEventListener('popstate', onRoute);
document.addEventListener('keydown', onKey);
setInterval(() => list.refreshTimes(), 10_000);

onRoute();
live.connect(state.bin);
reload();
