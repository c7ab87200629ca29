// Body viewers: JSON pretty-printed (and highlighted when small enough),
// form fields as a table, text as it is, binary as a hex dump; always with
// the raw view and a download.

import { h, clear, copyText } from './dom.js';
import * as fmt from './format.js';
import { decodedBody } from './api.js';

// Large bodies render progressively and never freeze the page: the JSON
// tree of a body over treeLimit starts with nested values folded (built
// when unfolded) and long lists cut (more on demand); raw text and hex
// dumps of a large body show their first chunk and the rest on demand, in
// blocks laid out one at a time.
const treeLimit = 256 << 10;  // bytes of JSON shown as a whole tree at once
const largeBody = 1 << 20;    // bytes from which a body is large
const chunkSize = 64 << 10;   // characters (or bytes, in hex) a chunk shows
const hexLimit = 16 << 10;    // bytes shown in the hex dump at first
const inflateLimit = 32 << 20; // bytes a compressed body is decoded to, at most
const xmlLimit = largeBody;   // bytes of XML we pretty-print at all
const formRows = 1000;        // form fields listed at most

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

/** utf8Length returns how many bytes text takes in UTF-8. */
export function utf8Length(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) { n += 4; i++; } // a surrogate pair
    else n += 3;
  }
  return n;
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
//
// With lazy (for large bodies), objects and arrays deeper than openDepth
// start folded and their members are built when first unfolded; a list
// shows chunk members and a button for the next chunk; strings longer than
// maxString are cut. The work done at once is then proportional to what
// shows, not to the size of the body.
export function jsonTree(text, indent = '  ', { lazy = false, openDepth = 1, chunk = 200, maxString = chunkSize } = {}) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const esc = (k) => k.replace(/[.*?\\|#@]/g, '\\$&');
  // scanString returns the index after the string that opens at from.
  const scanString = (from) => {
    let j = from + 1;
    for (;;) {
      const q = text.indexOf('"', j);
      if (q < 0) return text.length;
      let b = q - 1;
      while (text.charCodeAt(b) === 92) b--; // backslashes before the quote
      if ((q - 1 - b) % 2 === 0) return q + 1;
      j = q + 1;
    }
  };
  // skipContainer returns the index after the object or array that opens
  // at from, and how many members it holds (it is not empty).
  const skipContainer = (from) => {
    let depth = 0;
    let n = 1;
    for (let j = from; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === 34) j = scanString(j) - 1;
      else if (c === 123 || c === 91) depth++;
      else if (c === 44 && depth === 1) n++;
      else if ((c === 125 || c === 93) && --depth === 0) return [j + 1, n];
    }
    return [text.length, n];
  };
  const value = (depth, path) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') return container(depth, path);
    if (c === '"') {
      const j = scanString(i);
      const s = text.slice(i, j);
      i = j;
      if (lazy && s.length > maxString) {
        return h('span', { class: 'j-string' }, s.slice(0, maxString),
          h('span', { class: 'muted j-cut' }, ` … ${(s.length - maxString).toLocaleString('en-US')} more characters (the Raw view and Download have them)`));
      }
      return h('span', { class: 'j-string' }, s);
    }
    let j = i;
    while (j < text.length && !' \t\n\r,]}'.includes(text[j])) j++;
    const s = text.slice(i, j);
    i = j;
    return h('span', { class: /^[-0-9]/.test(s) ? 'j-number' : 'j-literal' }, s);
  };
  const container = (depth, path) => {
    const start = i;
    const c = text[i];
    const obj = c === '{';
    const close = obj ? '}' : ']';
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return document.createTextNode(c + close);
    }
    const first = i;
    const node = h('span', { class: 'j-node' });
    // Named by its path, which a screen reader says with its state (the
    // bracket alone read as "left brace"); c on it copies the path, what a
    // click on a key does (keys stay out of the Tab order, which holds a
    // stop per bracket already).
    const open = h('span', { class: 'j-open', tabindex: '0', role: 'button', 'aria-expanded': 'true', 'aria-label': path || 'JSON document', 'aria-keyshortcuts': 'c', title: 'Fold / unfold (c copies the path)', dataset: { path } }, c);
    const kids = h('span', { class: 'j-children' });
    // Folded, the node is one line: the bracket, an ellipsis, the closing
    // bracket and how many members it holds ({…} 3 keys); the line break
    // before the closing bracket is in a span of its own that folding
    // hides. The ellipsis and the count are CSS content, so the tree's
    // text stays the JSON text.
    const summary = h('span', { class: 'j-summary', 'aria-hidden': 'true' });
    const counted = (n) => {
      node.dataset.count = String(n);
      summary.dataset.summary = obj ? `${n} ${n === 1 ? 'key' : 'keys'}` : `${n} ${n === 1 ? 'item' : 'items'}`;
    };
    node.append(open, kids, h('span', { class: 'j-ellipsis', 'aria-hidden': 'true' }),
      h('span', { class: 'j-close-break' }, '\n' + indent.repeat(depth)), close, summary);
    // fill builds the members from index from on (n before it); it returns
    // false when it stopped at a chunk's end.
    const fill = (from, n) => {
      i = from;
      for (let shown = 0; ; shown++) {
        ws();
        if (lazy && shown === chunk) {
          const rest = i;
          const more = h('button', { type: 'button', class: 'button-quiet button-small j-more' }, `show ${chunk} more`);
          more.addEventListener('click', (ev) => {
            ev.stopPropagation();
            const at = more.previousSibling; // the indentation before the button
            more.remove();
            if (at) at.remove();
            fill(rest, n);
          });
          kids.append('\n' + indent.repeat(depth + 1), more);
          return false;
        }
        kids.append('\n' + indent.repeat(depth + 1));
        let p;
        if (obj) {
          const j = scanString(i);
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
        counted(n);
        return true;
      }
    };
    if (lazy && depth >= openDepth) {
      node.classList.add('folded');
      node.dataset.lazy = 'true';
      open.setAttribute('aria-expanded', 'false');
      node.build = () => fill(first, 0);
      const [end, n] = skipContainer(start);
      i = end;
      counted(n);
    } else if (!fill(first, 0)) {
      const [end, n] = skipContainer(start);
      i = end;
      counted(n);
    }
    return node;
  };
  return value(0, '');
}

/** copyPath copies path and says so in the tree's status line, marking el. */
function copyPath(el, path) {
  const done = () => {
    el.classList.add('copied');
    const tree = el.closest('.json-tree-wrap');
    const note = tree && tree.querySelector('.j-copied');
    if (note) note.textContent = `Copied path ${path}`;
    setTimeout(() => el.classList.remove('copied'), 1000);
  };
  if (navigator.clipboard) navigator.clipboard.writeText(path).then(done, done);
  else done();
}

function onTreeClick(ev) {
  const open = ev.target.closest('.j-open');
  if (open) {
    const node = open.parentElement;
    if (node.dataset.lazy && node.build) {
      // First unfold of a lazily built node: its members now.
      delete node.dataset.lazy;
      const build = node.build;
      node.build = null;
      build();
    }
    const folded = node.classList.toggle('folded');
    open.setAttribute('aria-expanded', String(!folded));
    return;
  }
  const key = ev.target.closest('.j-key');
  if (key) copyPath(key, key.dataset.path);
}

// treeOrNote is jsonTree, or a note when the document is nested deeper
// than the tree's recursion can go (a sender can nest [[[…]]] thousands
// deep in a few KB).
function treeOrNote(text, opts) {
  try {
    return jsonTree(text, '  ', opts);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return h('span', { class: 'muted' }, 'This JSON is nested too deep to show as a tree: see the Raw view.');
  }
}

function jsonView(text) {
  const pre = h('pre', { class: 'code body-json json-tree', tabindex: '0' });
  const large = text.length > treeLimit;
  if (large) {
    // Checked and built in tasks of their own after this frame, so the pane
    // shows first and the page answers between them.
    pre.textContent = 'Building the tree…';
    pre.dataset.state = 'building';
    setTimeout(() => {
      if (!parsesAsJSON(text)) {
        pre.textContent = 'This body is not valid JSON: see the Raw view.';
        pre.dataset.state = 'invalid';
        return;
      }
      setTimeout(() => {
        pre.replaceChildren(treeOrNote(text, { lazy: true, openDepth: 2 }));
        pre.dataset.state = 'ready';
      }, 0);
    }, 0);
  } else {
    pre.append(treeOrNote(text));
    pre.dataset.state = 'ready';
  }
  pre.addEventListener('click', onTreeClick);
  pre.addEventListener('keydown', (ev) => {
    const open = ev.target.closest('.j-open');
    if ((ev.key === 'Enter' || ev.key === ' ') && open) {
      ev.preventDefault();
      onTreeClick(ev);
    } else if (ev.key === 'c' && open && open.dataset.path && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      ev.stopPropagation(); // not the page's shortcuts too
      copyPath(open, open.dataset.path);
    }
  });
  return h('div', { class: 'json-tree-wrap' },
    h('div', { class: 'muted j-hint' },
      large ? `A large body (${fmt.bytes(text.length)}): nested values start folded and long lists show in parts. ` : '',
      'Click a bracket to fold, a key to copy its path (c on a focused bracket). ', h('span', { class: 'j-copied', role: 'status' })),
    pre);
}

/**
 * chunked shows text (or, with render, any sliceable data) in blocks of
 * chunkSize: the first at once, the next on "Show more", all the rest on
 * "Show all", appended a block per idle moment so the page stays
 * responsive. Each block is its own pre, laid out on its own.
 */
function chunked(cls, length, slice, { unit = 'characters', first = chunkSize, step = chunkSize, preClass = '' } = {}) {
  const box = h('div', { class: `chunked ${cls}`, tabindex: '0' });
  let shown = 0;
  let running = false;
  const status = h('span', { class: 'muted chunk-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'button-quiet button-small chunk-more' }, 'Show more');
  const all = h('button', { type: 'button', class: 'button-quiet button-small chunk-all' }, 'Show all');
  const bar = h('div', { class: 'chunk-bar' }, status, ' ', more, ' ', all);
  const update = () => {
    status.textContent = shown < length
      ? `Showing ${shown.toLocaleString('en-US')} of ${length.toLocaleString('en-US')} ${unit}.`
      : '';
    bar.hidden = shown >= length;
    box.dataset.shown = String(shown);
  };
  const next = () => {
    const end = Math.min(length, shown + (shown ? step : first));
    box.append(h('pre', { class: `code chunk ${preClass}` }, slice(shown, end)));
    shown = end;
    update();
  };
  const idle = window.requestIdleCallback ? (f) => requestIdleCallback(f, { timeout: 200 }) : (f) => setTimeout(f, 16);
  more.addEventListener('click', next);
  all.addEventListener('click', () => {
    if (running) return;
    running = true;
    more.disabled = all.disabled = true;
    const go = () => {
      if (!box.isConnected || shown >= length) { running = false; return; }
      next();
      idle(go);
    };
    go();
  });
  next();
  return h('div', { class: 'chunked-wrap' }, box, bar);
}

/**
 * prettyXML re-indents well-formed XML; it returns null when text is not
 * XML, or is nested deeper than maxXMLDepth (a sender can nest thousands
 * of elements in a few KB, and the indentation alone would grow with the
 * square of the depth).
 */
const maxXMLDepth = 100;
// Nothing in a document DOMParser makes runs, but Chromium checks the
// page's CSP as it parses an on* or style attribute or a <style> of the
// XHTML, SVG and MathML namespaces, and logs a violation for each. Their
// names are swapped for inert ones for the parse, and back in the text.
const activeNS = /http:\/\/www\.w3\.org\/(1999\/xhtml|2000\/svg|1998\/Math\/MathML)/g;
const inertNS = 'urn:x-hooklab-inert:';
export function prettyXML(text) {
  const rename = !text.includes(inertNS);
  const doc = new DOMParser().parseFromString(rename ? text.replace(activeNS, `${inertNS}$1`) : text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  const out = [];
  const ser = new XMLSerializer();
  let tooDeep = false;
  const walk = (node, depth) => {
    if (depth > maxXMLDepth) {
      tooDeep = true;
      return;
    }
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
          if (tooDeep) return;
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
  if (tooDeep) return null;
  const shown = out.join('\n');
  return rename ? shown.replaceAll(inertNS, 'http://www.w3.org/') : shown;
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

// blobType is the type of a blob the page makes from a body: a raster
// image type as sent (the Image view shows it), anything else
// application/octet-stream. A blob URL has the UI's origin: typed as the
// sender chose (text/html, image/svg+xml), one opened in a tab of its own
// would run the sender's script with the UI's rights.
const rasterTypes = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon']);
export function blobType(mime) {
  const m = String(mime || '').split(';')[0].trim().toLowerCase();
  return rasterTypes.has(m) ? m : 'application/octet-stream';
}

// At most maxParts parts are listed (a sender can send tens of thousands),
// and each part's blob is made when its Download link is first used.
const maxParts = 500;

function multipartView(raw, boundary, track) {
  const parts = parseMultipart(raw, boundary);
  const more = parts.length - maxParts;
  return h('table', { class: 'kv body-multipart', 'aria-label': 'Multipart parts' },
    h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'File'), h('th', null, 'Type'), h('th', null, 'Size'), h('th', null, 'Value'))),
    more > 0 ? h('tfoot', null, h('tr', null, h('td', { colspan: '5', class: 'muted' }, `${more} more parts not listed: see Raw.`))) : null,
    h('tbody', null, parts.slice(0, maxParts).map((p, i) => {
      const bytes = () => {
        const b = new Uint8Array(p.data.length);
        for (let j = 0; j < p.data.length; j++) b[j] = p.data.charCodeAt(j) & 0xff;
        return b;
      };
      const link = h('a', { href: '#', download: p.filename || `part-${i + 1}`, class: 'button-quiet', 'aria-label': `Download part ${p.name || i + 1}` }, 'Download');
      const arm = () => {
        if (link.href.startsWith('blob:')) return;
        const url = URL.createObjectURL(new Blob([bytes()], { type: blobType(p.type) }));
        track(url);
        link.href = url;
      };
      // Made before the browser follows the link (pointer or keyboard).
      link.addEventListener('pointerdown', arm);
      link.addEventListener('focus', arm);
      link.addEventListener('click', arm);
      const text = !p.type || p.type.startsWith('text/') || p.type.includes('json');
      return h('tr', { class: 'part', dataset: { index: String(i) } },
        h('td', null, p.name), h('td', null, p.filename),
        h('td', null, p.type || 'text/plain'),
        h('td', { class: 'num' }, fmt.exactBytes(p.data.length)),
        h('td', null,
          text && p.data.length < 4096 ? h('code', { class: 'part-value' }, new TextDecoder().decode(bytes())) : null, ' ',
          link));
    })));
}

function formView(text) {
  const rows = [];
  let n = 0;
  for (const [k, v] of new URLSearchParams(text)) {
    if (++n > formRows) continue;
    rows.push(h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)));
  }
  const cut = n > formRows ? h('p', { class: 'muted' }, `The first ${formRows.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} fields; the Raw view has all.`) : null;
  return h('div', null, cut, h('table', { class: 'kv body-form' },
    h('colgroup', null, h('col', { class: 'kv-name' }), h('col')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', null, rows)));
}

function rawView(text) {
  if (text.length < largeBody) return h('pre', { class: 'code body-raw', tabindex: '0' }, text);
  // A surrogate pair across a block's end goes with the earlier block.
  const high = (j) => j > 0 && j < text.length && /[\uD800-\uDBFF]/.test(text[j - 1]);
  return chunked('body-raw', text.length, (a, b) => text.slice(high(a) ? a + 1 : a, high(b) ? b + 1 : b));
}

function binaryView(data, contentType, blobURL) {
  const image = contentType.startsWith('image/') && blobURL
    ? h('img', { class: 'body-image', src: blobURL, alt: `${contentType} image, ${fmt.exactBytes(data.length)}` })
    : null;
  if (data.length <= hexLimit) {
    return h('div', { class: 'body-binary' }, image, h('pre', { class: 'code hexdump', tabindex: '0' }, fmt.hexDump(data)));
  }
  // The first 16 KiB, then 64 KiB more a click (whole lines of 16 bytes).
  return h('div', { class: 'body-binary' }, image,
    chunked('hexdump-chunks', data.length, (a, b) => fmt.hexDump(data, b, a), { unit: 'bytes', first: hexLimit, preClass: 'hexdump' }));
}

/** inflate decodes data (gzip or deflate), failing past inflateLimit bytes. */
async function inflate(data, format) {
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > inflateLimit) {
      reader.cancel();
      throw new Error(`it decodes to more than ${fmt.bytes(inflateLimit)}`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** decodedView shows a compressed body decoded, in the views of its content type. */
function decodedView(data, coding, format, part, opts) {
  const box = h('div', { class: 'body-decoded' }, h('p', { class: 'muted' }, `Decoding ${coding}…`));
  // Some senders' "deflate" is raw deflate, without zlib's header. The
  // browser has no br decoder: the server decodes it.
  const decode = format === 'br' ? decodedBody(opts.id, opts.label)
    : format === 'deflate' ? inflate(data, format).catch(() => inflate(data, 'deflate-raw')) : inflate(data, format);
  decode.then((bytes) => {
    let text = null;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch { /* binary: a hex dump */ }
    const headers = (part.headers || []).filter(([n]) => n.toLowerCase() !== 'content-encoding');
    const inner = text === null
      ? binaryView(bytes, '', '')
      : renderBody({ headers, body: text, size: bytes.length, truncated: false }, { ...opts, decoded: true });
    clear(box).append(
      h('p', { class: 'muted body-decoded-note' }, `Decoded from ${coding}: ${fmt.exactBytes(bytes.length)} (${fmt.exactBytes(data.length)} as sent).`),
      inner);
  }, (err) => {
    // The server's answer names the coding itself.
    clear(box).append(h('p', { class: 'error' }, format === 'br' && err.status ? `hooklab says: ${err.message}` : `The body does not decode as ${coding}: ${err.message}`));
  });
  return box;
}

/**
 * renderBody shows one request or response body. part is the API's
 * {headers, body, encoding, size, truncated}; label names it ("request" or
 * "response") and id is the exchange's id, used in file names. track(url) is
 * given every object URL made, so the caller can revoke them later.
 */
export function renderBody(part, { label, id, track = () => {}, decoded = false }) {
  const ct = fmt.header(part.headers, 'content-type');
  const mime = ct.split(';')[0].trim().toLowerCase();
  const body = part.body || '';
  const binary = part.encoding === 'base64';

  // A decoded body is shown inside its part's own: named apart.
  const name = decoded ? `decoded ${label}` : label;
  const wrap = h('div', { class: `body body-${label}${decoded ? ' body-decoded-part' : ''}`, dataset: { part: decoded ? `${label}-decoded` : label } });
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
  // Stored length: all of size unless truncated (counting UTF-8 bytes of
  // megabytes of text takes a while).
  const storedLen = binary ? data.length : !part.truncated && part.size > 0 ? part.size : utf8Length(body);
  // The body as a blob URL, made when first needed (a download, an image):
  // copying megabytes into a Blob is work the page need not do up front.
  let url = '';
  const blobURL = () => {
    if (!url) {
      url = URL.createObjectURL(new Blob([binary ? data : body], { type: blobType(mime) }));
      track(url);
    }
    return url;
  };

  // The views this body offers, best first.
  const views = [];
  const boundary = mime.startsWith('multipart/') ? (/boundary="?([^";]+)"?/i.exec(ct) || [])[1] : '';
  if (boundary) views.push(['Parts', () => multipartView(binary ? latin1(data) : latin1(new TextEncoder().encode(body)), boundary, track)]);
  // A compressed body (a proxied answer to a browser, say) is shown
  // decoded first, in the views its content type offers.
  const coding = fmt.header(part.headers, 'content-encoding').trim().toLowerCase();
  const format = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'br' }[coding];
  const decodes = format === 'br' ? Boolean(id) && !decoded : typeof DecompressionStream === 'function';
  if (binary && format && !part.truncated && decodes) {
    views.push(['Decoded', () => decodedView(data, coding, format, part, { label, id, track })]);
  }
  if (binary) {
    const raster = blobType(mime) !== 'application/octet-stream';
    if (raster) views.push(['Image', () => h('img', { class: 'body-image', src: blobURL(), alt: `${mime} image, ${fmt.exactBytes(data.length)}` })]);
    views.push(['Hex', () => binaryView(data, mime, raster ? blobURL() : '')]);
  } else {
    if (mime.includes('json') || /^\s*[{[]/.test(body)) {
      // A large body is checked when its tree is built, in a task of its own.
      if (body.length > treeLimit) views.push(['Pretty', () => jsonView(body)]);
      else if (parsesAsJSON(body)) views.push(['Pretty', () => jsonView(body)]);
    }
    // Parsed only when it says it is XML: an HTML body would make the
    // browser's parser log style errors under the page's CSP.
    if ((mime.includes('xml') || /^\s*<\?xml/.test(body)) && body.length < xmlLimit) {
      const x = prettyXML(body);
      if (x != null) views.push(['XML', () => h('pre', { class: 'code body-xml', tabindex: '0' }, x)]);
    }
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
  // A multipart body is named as such even when a binary part (a file)
  // made the server store it as base64.
  const info = binary && !boundary
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
      views.length > 1 ? h('span', { class: 'segmented', role: 'group', 'aria-label': `${name} body view` }, buttons) : null,
      binary ? null : h('button', {
        type: 'button', class: 'button-quiet', 'aria-label': `Copy ${name} body`,
        onclick: (ev) => copyText(body, ev.currentTarget),
      }, 'Copy'),
      h('a', {
        // A large body's blob is made at the first click, before the link is followed.
        class: 'button-quiet', href: storedLen < largeBody ? blobURL() : '#', download: `${id}-${decoded ? `${label}-decoded` : label}.${ext}`,
        'aria-label': `Download ${name} body`,
        onclick: (ev) => { ev.currentTarget.href = blobURL(); },
      }, 'Download')),
    content);
  show(0);
  return wrap;
}
