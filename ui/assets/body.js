// Body viewers: JSON pretty-printed (and highlighted when small enough),
// form fields as a table, text as it is, binary as a hex dump; always with
// the raw view and a download.

import { h, clear, copyText } from './dom.js';
import * as fmt from './format.js';

const prettyLimit = 4 << 20;     // bytes of JSON we pretty-print at all
const highlightLimit = 256 << 10; // bytes of JSON we colour token by token
const hexLimit = 16 << 10;        // bytes shown in the hex dump

/**
 * formatJSON re-indents valid JSON text and returns it as tokens
 * [kind, text], kind being "key", "string", "number", "literal" or "" for
 * punctuation and whitespace. It never re-encodes values, so numbers beyond
 * double precision and string escapes are shown exactly as they were sent.
 * The caller must have checked that text is valid JSON.
 */
export function formatJSON(text, indent = '  ') {
  const out = [];
  let plain = '';
  let depth = 0;
  const push = (kind, s) => {
    if (!kind) { plain += s; return; }
    if (plain) { out.push(['', plain]); plain = ''; }
    out.push([kind, s]);
  };
  const nl = () => '\n' + indent.repeat(depth);
  const isSpace = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const nextNonSpace = (from) => {
    let j = from;
    while (j < text.length && isSpace(text[j])) j++;
    return j;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (isSpace(c)) { i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = text.slice(i, j + 1);
      i = j + 1;
      push(text[nextNonSpace(i)] === ':' ? 'key' : 'string', s);
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      const j = nextNonSpace(i + 1);
      if (text[j] === close) {
        push('', c + close);
        i = j + 1;
      } else {
        depth++;
        push('', c + nl());
        i++;
      }
    } else if (c === '}' || c === ']') {
      depth--;
      push('', nl() + c);
      i++;
    } else if (c === ',') {
      push('', ',' + nl());
      i++;
    } else if (c === ':') {
      push('', ': ');
      i++;
    } else {
      let j = i;
      while (j < text.length && !isSpace(text[j]) && !',:]}'.includes(text[j])) j++;
      const s = text.slice(i, j);
      push(/^[-0-9]/.test(s) ? 'number' : 'literal', s);
      i = j;
    }
  }
  if (plain) out.push(['', plain]);
  return out;
}

/** parsesAsJSON reports whether text is one valid JSON value. */
export function parsesAsJSON(text) {
  const t = text.trimStart();
  if (!t || !'{["-0123456789tfn'.includes(t[0])) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function jsonView(text) {
  const pre = h('pre', { class: 'code body-json', tabindex: '0' });
  if (text.length > prettyLimit) {
    pre.textContent = text;
    return pre;
  }
  const tokens = formatJSON(text);
  if (text.length > highlightLimit) {
    pre.textContent = tokens.map((t) => t[1]).join('');
    return pre;
  }
  const frag = document.createDocumentFragment();
  for (const [kind, s] of tokens) {
    frag.append(kind ? h('span', { class: `j-${kind}` }, s) : s);
  }
  pre.append(frag);
  return pre;
}

function formView(text) {
  const rows = [];
  for (const [k, v] of new URLSearchParams(text)) {
    rows.push(h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)));
  }
  return h('table', { class: 'kv body-form' },
    h('colgroup', null, h('col', { class: 'kv-name' }), h('col')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', null, rows));
}

function rawView(text) {
  return h('pre', { class: 'code body-raw', tabindex: '0' }, text);
}

function binaryView(data, contentType, blobURL) {
  const shown = Math.min(data.length, hexLimit);
  return h('div', { class: 'body-binary' },
    contentType.startsWith('image/') && blobURL
      ? h('img', { class: 'body-image', src: blobURL, alt: `${contentType} image, ${fmt.exactBytes(data.length)}` })
      : null,
    h('pre', { class: 'code hexdump', tabindex: '0' }, fmt.hexDump(data, shown)),
    shown < data.length
      ? h('p', { class: 'muted' }, `First ${fmt.exactBytes(shown)} of ${fmt.exactBytes(data.length)} shown; download for the rest.`)
      : null);
}

/**
 * renderBody shows one request or response body. part is the API's
 * {headers, body, encoding, size, truncated}; label names it ("request" or
 * "response") and id is the exchange's id, used in file names. track(url) is
 * given every object URL made, so the caller can revoke them later.
 */
export function renderBody(part, { label, id, track = () => {} }) {
  const ct = fmt.header(part.headers, 'content-type');
  const mime = ct.split(';')[0].trim().toLowerCase();
  const body = part.body || '';
  const binary = part.encoding === 'base64';

  const wrap = h('div', { class: `body body-${label}`, dataset: { part: label } });
  if (!body) {
    wrap.append(h('p', { class: 'muted body-empty' }, part.size ? `No body stored (${fmt.exactBytes(part.size)} sent).` : 'No body.'));
    return wrap;
  }

  let data = null;
  if (binary) {
    try {
      data = fmt.decodeBase64(body);
    } catch {
      wrap.append(h('p', { class: 'error' }, 'The body is marked base64 but does not decode.'), rawView(body));
      return wrap;
    }
  }
  const storedLen = binary ? data.length : new TextEncoder().encode(body).length;
  const blob = new Blob([binary ? data : body], { type: mime || (binary ? 'application/octet-stream' : 'text/plain') });
  const url = URL.createObjectURL(blob);
  track(url);

  // The views this body offers, best first.
  const views = [];
  if (binary) {
    views.push(['Hex', () => binaryView(data, mime, url)]);
  } else {
    if ((mime.includes('json') || /^\s*[{[]/.test(body)) && parsesAsJSON(body)) views.push(['Pretty', () => jsonView(body)]);
    if (mime === 'application/x-www-form-urlencoded') views.push(['Form', () => formView(body)]);
    views.push(['Raw', () => rawView(body)]);
  }

  const content = h('div', { class: 'body-content' });
  const buttons = views.map(([name], i) => h('button', {
    type: 'button',
    class: 'seg',
    'aria-pressed': i === 0 ? 'true' : 'false',
    onclick: () => show(i),
  }, name));
  const show = (i) => {
    buttons.forEach((b, j) => b.setAttribute('aria-pressed', String(i === j)));
    clear(content).append(views[i][1]());
    wrap.dataset.view = views[i][0].toLowerCase();
  };

  const ext = binary ? 'bin' : mime.includes('json') ? 'json' : 'txt';
  const info = binary
    ? `binary ${fmt.exactBytes(part.size || storedLen)}`
    : `${mime || 'text'} · ${fmt.exactBytes(part.size || storedLen)}`;
  wrap.append(
    h('div', { class: 'body-bar' },
      h('span', { class: 'body-info' }, info),
      part.truncated
        ? h('span', { class: 'badge badge-warn', title: `stored ${fmt.exactBytes(storedLen)} of ${fmt.exactBytes(part.size)}` },
          `truncated: first ${fmt.bytes(storedLen)} of ${fmt.bytes(part.size)}`)
        : null,
      h('span', { class: 'spacer' }),
      views.length > 1 ? h('span', { class: 'segmented', role: 'group', 'aria-label': `${label} body view` }, buttons) : null,
      binary ? null : h('button', {
        type: 'button', class: 'button-quiet', 'aria-label': `Copy ${label} body`,
        onclick: (ev) => copyText(body, ev.currentTarget),
      }, 'Copy'),
      h('a', {
        class: 'button-quiet', href: url, download: `${id}-${label}.${ext}`,
        'aria-label': `Download ${label} body`,
      }, 'Download')),
    content);
  show(0);
  return wrap;
}
