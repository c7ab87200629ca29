// Formatting of sizes, durations, times and bytes for display.

const units = ['B', 'KiB', 'MiB', 'GiB'];

/** bytes formats a byte count: "0 B", "512 B", "1.5 KiB", "12 MiB". */
export function bytes(n) {
  if (!Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  if (i === 0) return `${n} B`;
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

// Formatters are made once: toLocaleString makes a new one at every call,
// which cost more than the rest of a list row together.
const countFormat = new Intl.NumberFormat('en-US');
const dateFormat = new Intl.DateTimeFormat();

/** exactBytes formats a byte count with thousands separators: "12,345 bytes". */
export function exactBytes(n) {
  return `${countFormat.format(Number(n))} ${n === 1 ? 'byte' : 'bytes'}`;
}

/** duration formats milliseconds: "0.4 ms", "12 ms", "1.25 s", "2m 5s". */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

/**
 * relativeTime formats t (a Date) against now: "just now", "12s ago",
 * "5m ago", "3h ago", then the date. Times slightly in the future (clock
 * skew) read as "just now".
 */
export function relativeTime(t, now = Date.now()) {
  const s = Math.round((now - t.getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)}d ago`;
  return dateFormat.format(t);
}

/**
 * exactTime formats t in local time with milliseconds and the zone offset,
 * e.g. "2025-11-29 18:20:01.123 +01:00", for tooltips and the detail view.
 */
export function exactTime(t) {
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const off = -t.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ` +
    `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)} ` +
    `${sign}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/**
 * clockTime formats t in local time as the time of day, "18:42:07", with
 * the date before it ("2026-12-05 18:42:07") when t is on another day than
 * now: the end of a wait (a circuit's cool-down).
 */
export function clockTime(t, now = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  const time = `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
  const day = (d) => `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return day(t) === day(now) ? time : `${day(t)} ${time}`;
}

/** statusClass names a status's class for styling: "s2xx" … "s5xx", or "snone" for 0. */
export function statusClass(status) {
  if (!status) return 'snone';
  const c = Math.floor(status / 100);
  return c >= 1 && c <= 5 ? `s${c}xx` : 'sother';
}

/** statusText is the status code as shown in the list, "–" when there was none. */
export function statusText(status) {
  return status ? String(status) : '–';
}

/** methodClass names an HTTP method for styling, "m-other" for uncommon ones. */
export function methodClass(method) {
  const m = String(method || '').toUpperCase();
  return ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].includes(m)
    ? `m-${m.toLowerCase()}` : 'm-other';
}

/** decodeBase64 returns the bytes of a standard base64 string. */
export function decodeBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * hexDump renders the bytes from start (a multiple of 16) up to limit as
 * lines of offset, 16 hex bytes and their printable ASCII, like
 * `hexdump -C`.
 */
export function hexDump(data, limit = data.length, start = 0) {
  const n = Math.min(limit, data.length);
  const hex = (b) => b.toString(16).padStart(2, '0');
  const lines = [];
  for (let off = start; off < n; off += 16) {
    let h = '';
    let a = '';
    for (let i = 0; i < 16; i++) {
      if (off + i < n) {
        const b = data[off + i];
        h += hex(b) + ' ';
        a += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else {
        h += '   ';
      }
      if (i === 7) h += ' ';
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${h} |${a}|`);
  }
  return lines.join('\n');
}

/** header returns the first value of the named header (case-insensitive) in [name, value] pairs. */
export function header(pairs, name) {
  const want = name.toLowerCase();
  for (const [k, v] of pairs || []) if (String(k).toLowerCase() === want) return v;
  return '';
}

/**
 * shownPath is what the list and the detail show as an exchange's path: a
 * CONNECT's host:port (it has no path; "/" said nothing), else its path.
 */
export function shownPath(x) {
  if (x.method === 'CONNECT') {
    // As recorded (https://host:443): URL would drop a default port.
    return String(x.url || '/').replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/$/, '') || '/';
  }
  return x.path || '/';
}
