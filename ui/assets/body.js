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

// jsonTree renders valid JSON text as the same text formatJSON gives, but
// as a tree: each object and array folds by clicking (or Enter on) its
// opening bracket, and each key shows its path (gjson style,
// ticket.requester.email) and copies it when clicked. Values are shown as
// they were sent (no re-encoding of numbers or escapes).
export function jsonTree(text, indent = '  ') {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const esc = (k) => k.replace(/[.*?\\|#@]/g, '\\$&');
  const value = (depth, path) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const obj = c === '{';
      const close = obj ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return document.createTextNode(c + close);
      }
      const node = h('span', { class: 'j-node' });
      const open = h('span', { class: 'j-open', tabindex: '0', role: 'button', 'aria-expanded': 'true', title: 'Fold / unfold' }, c);
      const kids = h('span', { class: 'j-children' });
      let n = 0;
      for (;;) {
        ws();
        kids.append('\n' + indent.repeat(depth + 1));
        let p;
        if (obj) {
          const j = scanString();
          const raw = text.slice(i, j);
          i = j;
          let key = raw;
          try { key = JSON.parse(raw); } catch { /* keep raw */ }
          p = path ? `${path}.${esc(key)}` : esc(key);
          kids.append(h('span', { class: 'j-key', dataset: { path: p }, title: `${p} (click to copy the path)` }, raw));
          ws();
          i++; // ':'
          kids.append(': ');
        } else {
          p = path ? `${path}.${n}` : String(n);
        }
        kids.append(value(depth + 1, p));
        n++;
        ws();
        if (text[i] === ',') {
          i++;
          kids.append(',');
          continue;
        }
        i++; // close
        break;
      }
      node.append(open, kids, h('span', { class: 'j-ellipsis', 'aria-hidden': 'true' }),
        '\n' + indent.repeat(depth) + close);
      node.dataset.count = String(n);
      return node;
    }
    if (c === '"') {
      const j = scanString();
      const s = text.slice(i, j);
      i = j;
      return h('span', { class: 'j-string' }, s);
    }
    let j = i;
    while (j < text.length && !' \t\n\r,]}'.includes(text[j])) j++;
    const s = text.slice(i, j);
    i = j;
    return h('span', { class: /^[-0-9]/.test(s) ? 'j-number' : 'j-literal' }, s);
  };
  function scanString() {
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  return value(0, '');
}

function onTreeClick(ev) {
  const open = ev.target.closest('.j-open');
  if (open) {
    const node = open.parentElement;
    const folded = node.classList.toggle('folded');
    open.setAttribute('aria-expanded', String(!folded));
    return;
  }
  const key = ev.target.closest('.j-key');
  if (key) {
    const path = key.dataset.path;
    const done = () => {
      key.classList.add('copied');
      const tree = key.closest('.json-tree-wrap');
      const note = tree && tree.querySelector('.j-copied');
      if (note) note.textContent = `Copied path ${path}`;
      setTimeout(() => key.classList.remove('copied'), 1000);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(path).then(done, done);
    else done();
  }
}

function jsonView(text) {
  const pre = h('pre', { class: 'code body-json', tabindex: '0' });
  if (text.length > prettyLimit) {
    pre.textContent = text;
    return pre;
  }
  if (text.length > highlightLimit) {
    // Large: one text node, built after this frame so the pane shows first.
    pre.textContent = 'Formatting…';
    setTimeout(() => { pre.textContent = formatJSON(text).map((t) => t[1]).join(''); }, 0);
    return pre;
  }
  pre.classList.add('json-tree');
  pre.append(jsonTree(text));
  pre.addEventListener('click', onTreeClick);
  pre.addEventListener('keydown', (ev) => {
    if ((ev.key === 'Enter' || ev.key === ' ') && ev.target.closest('.j-open')) {
      ev.preventDefault();
      onTreeClick(ev);
    }
  });
  return h('div', { class: 'json-tree-wrap' },
    h('div', { class: 'muted j-hint' }, 'Click a bracket to fold, a key to copy its path. ', h('span', { class: 'j-copied', role: 'status' })),
    pre);
}

/** prettyXML re-indents well-formed XML; it returns null when text is not XML. */
export function prettyXML(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  const out = [];
  const ser = new XMLSerializer();
  const walk = (node, depth) => {
    const pad = '  '.repeat(depth);
    for (const n of node.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) {
        const t = n.nodeValue.trim();
        if (t) out.push(pad + ser.serializeToString(document.createTextNode(t)));
      } else if (n.nodeType === Node.ELEMENT_NODE) {
        const attrs = [...n.attributes].map((a) => ` ${a.name}="${a.value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`).join('');
        const kids = [...n.childNodes];
        if (!kids.length) out.push(`${pad}<${n.nodeName}${attrs}/>`);
        else if (kids.length === 1 && kids[0].nodeType === Node.TEXT_NODE) {
          out.push(`${pad}<${n.nodeName}${attrs}>${ser.serializeToString(document.createTextNode(kids[0].nodeValue.trim()))}</${n.nodeName}>`);
        } else {
          out.push(`${pad}<${n.nodeName}${attrs}>`);
          walk(n, depth + 1);
          out.push(`${pad}</${n.nodeName}>`);
        }
      } else {
        out.push(pad + ser.serializeToString(n));
      }
    }
  };
  const decl = /^\s*<\?xml[^>]*\?>/.exec(text);
  if (decl) out.push(decl[0].trim());
  walk(doc, 0);
  return out.join('\n');
}

function latin1(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return s;
}

/** parseMultipart splits a multipart body (a latin-1 string of its bytes) into parts [{headers, name, filename, type, data}]. */
export function parseMultipart(raw, boundary) {
  const parts = [];
  const delim = `--${boundary}`;
  const chunks = raw.split(delim);
  for (const c of chunks.slice(1)) {
    if (c.startsWith('--')) break;
    const body = c.replace(/^\r?\n/, '');
    const sep = body.search(/\r?\n\r?\n/);
    if (sep < 0) continue;
    const head = body.slice(0, sep);
    let data = body.slice(sep).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, '');
    const headers = head.split(/\r?\n/).filter(Boolean).map((l) => {
      const k = l.indexOf(':');
      return [l.slice(0, k).trim(), l.slice(k + 1).trim()];
    });
    const cd = fmt.header(headers, 'content-disposition');
    const name = (/\bname="([^"]*)"/.exec(cd) || [])[1] || '';
    const filename = (/\bfilename="([^"]*)"/.exec(cd) || [])[1] || '';
    parts.push({ headers, name, filename, type: fmt.header(headers, 'content-type'), data });
  }
  return parts;
}

function multipartView(raw, boundary, track) {
  const parts = parseMultipart(raw, boundary);
  return h('table', { class: 'kv body-multipart', 'aria-label': 'Multipart parts' },
    h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'File'), h('th', null, 'Type'), h('th', null, 'Size'), h('th', null, ''))),
    h('tbody', null, parts.map((p, i) => {
      const bytes = new Uint8Array(p.data.length);
      for (let j = 0; j < p.data.length; j++) bytes[j] = p.data.charCodeAt(j) & 0xff;
      const url = URL.createObjectURL(new Blob([bytes], { type: p.type || 'application/octet-stream' }));
      track(url);
      const text = !p.type || p.type.startsWith('text/') || p.type.includes('json');
      return h('tr', { class: 'part', dataset: { index: String(i) } },
        h('td', null, p.name), h('td', null, p.filename),
        h('td', null, p.type || 'text/plain'),
        h('td', { class: 'num' }, fmt.exactBytes(bytes.length)),
        h('td', null,
          text && bytes.length < 4096 ? h('code', { class: 'part-value' }, new TextDecoder().decode(bytes)) : null, ' ',
          h('a', { href: url, download: p.filename || `part-${i + 1}`, class: 'button-quiet', 'aria-label': `Download part ${p.name || i + 1}` }, 'Download')));
    })));
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
  const boundary = mime.startsWith('multipart/') ? (/boundary="?([^";]+)"?/i.exec(ct) || [])[1] : '';
  if (boundary) views.push(['Parts', () => multipartView(binary ? latin1(data) : latin1(new TextEncoder().encode(body)), boundary, track)]);
  if (binary) {
    if (mime.startsWith('image/')) views.push(['Image', () => h('img', { class: 'body-image', src: url, alt: `${mime} image, ${fmt.exactBytes(data.length)}` })]);
    views.push(['Hex', () => binaryView(data, mime, url)]);
  } else {
    if ((mime.includes('json') || /^\s*[{[]/.test(body)) && parsesAsJSON(body)) views.push(['Pretty', () => jsonView(body)]);
    if ((mime.includes('xml') || /^\s*<[?A-Za-z]/.test(body)) && body.length < prettyLimit) {
      const x = prettyXML(body);
      if (x != null) views.push(['XML', () => h('pre', { class: 'code body-xml', tabindex: '0' }, x)]);
    }
    if (mime === 'application/x-www-form-urlencoded') views.push(['Form', () => formView(body)]);
    if (mime === 'image/svg+xml') views.push(['Image', () => h('img', { class: 'body-image', src: url, alt: 'SVG image' })]);
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
