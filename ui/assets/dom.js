// Small helpers for building DOM safely. Captured payloads are untrusted:
// everything the UI shows goes through text nodes and attributes, never
// through innerHTML.

// Bidirectional formatting characters in captured text would reorder what
// is shown ("invoice\u202Efdp.exe" reads "invoiceexe.pdf"): they show as
// their code points instead.
const bidiControls = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** visible returns s with its bidi formatting characters shown as [U+XXXX]. */
export function visible(s) {
  bidiControls.lastIndex = 0;
  if (!bidiControls.test(s)) return s;
  return s.replace(bidiControls, (c) => `[U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/**
 * h builds an element. attrs maps names to values: "class", "dataset"
 * (an object), "on<event>" (a listener), booleans (present when true) and
 * plain attributes; null and undefined values are skipped. Children may be
 * nodes, strings, numbers, arrays of those, or null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, k === 'title' || k === 'aria-label' ? visible(String(v)) : String(v));
    }
  }
  append(el, children);
  return el;
}

/** append adds children (as accepted by h) to el and returns el. */
export function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : visible(String(c)));
  }
  return el;
}

/** clear removes every child of el and returns el. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

/** copyText puts text on the clipboard and briefly says so on button. */
export async function copyText(text, button) {
  const old = button.textContent;
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
    } else {
      // Pages on a non-local http:// address get no Clipboard API.
      const ta = h('textarea', { class: 'visually-hidden', readonly: true });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand('copy');
      ta.remove();
      if (!ok) throw new Error('copy refused');
    }
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed';
  }
  setTimeout(() => { button.textContent = old; }, 1200);
}
