// Page addresses. The hash names the view and what is open
// ("#/exchanges/{id}", "#/webhooks/{id}", "#/rules", "#/replays/{run}",
// "#/bins"); the query string holds the traffic filters (?q=, ?bin=), so a
// view can be bookmarked, shared and reloaded.

/** exchangeHref is the address that opens an exchange's detail. */
export function exchangeHref(id) {
  return `#/exchanges/${encodeURIComponent(id)}`;
}

const views = new Set(['webhooks', 'rules', 'replays', 'bins']);

/** current returns the route of the address: {view, id} (view "traffic" by default, id "" when none is open). */
export function current(hash = location.hash) {
  const m = /^#\/([a-z]+)(?:\/([^/]+))?\/?$/.exec(hash);
  let view = 'traffic';
  let id = '';
  if (m && (m[1] === 'exchanges' || views.has(m[1]))) {
    view = m[1] === 'exchanges' ? 'traffic' : m[1];
    if (m[2]) {
      try {
        id = decodeURIComponent(m[2]);
      } catch { /* a mangled address opens nothing */ }
    }
    if (m[1] === 'exchanges' && !id) view = 'traffic';
  }
  return { view, id };
}
