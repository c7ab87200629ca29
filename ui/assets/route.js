// Page addresses. The hash names what is open ("#/exchanges/{id}"); the
// query string holds filters ("?bin="), so a view can be bookmarked, shared
// and reloaded. New views (bins, webhooks, rules, replays) add their routes here.

/** exchangeHref is the address that opens an exchange's detail. */
export function exchangeHref(id) {
  return `#/exchanges/${encodeURIComponent(id)}`;
}

/** current returns the route of the address: {view: "traffic", id} (id "" when none is open). */
export function current(hash = location.hash) {
  const m = /^#\/exchanges\/([^/]+)$/.exec(hash);
  let id = '';
  if (m) {
    try {
      id = decodeURIComponent(m[1]);
    } catch { /* a mangled address opens nothing */ }
  }
  return { view: 'traffic', id };
}
