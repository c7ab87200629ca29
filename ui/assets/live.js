// The live stream: one websocket to /api/stream, reopened with capped,
// jittered backoff whenever it drops.

import { streamURL } from './api.js';

const minDelay = 250;      // ms before the first retry
const maxDelay = 10_000;   // ms, the cap of the backoff

/**
 * Live keeps a websocket to the stream open. Callbacks:
 *   onState(state, detail): state is "connecting", "open" or "closed";
 *     detail says when the next attempt is, if any.
 *   onOpen(): the socket is open and subscribed; anything older must be
 *     (re)loaded from the API now, since messages may have been missed.
 *   onMessage(msg): one decoded message other than "hello" and "resync".
 */
export class Live {
  constructor({ onState = () => {}, onOpen = () => {}, onMessage = () => {} } = {}) {
    this.onState = onState;
    this.onOpen = onOpen;
    this.onMessage = onMessage;
    this.bin = '';
    this.q = '';
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = true;
    this.lastResync = 0;
    addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
  }

  /**
   * connect (re)opens the stream for bin ("" for every bin), of the
   * exchanges matching q when given (the query language: the server
   * matches the whole exchange).
   */
  connect(bin = '', q = '') {
    this.bin = bin;
    this.q = q;
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  /** stop closes the stream and stops reconnecting. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.drop();
    this.onState('closed', 'stopped');
  }

  /** retryNow skips the rest of a pending backoff wait. */
  retryNow() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    this.drop();
    this.onState('connecting', '');
    let ws;
    try {
      ws = new WebSocket(streamURL(this.bin, this.q));
    } catch (err) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    // Open once the server's hello says the stream is live: it subscribes
    // after the handshake, so a reload done at the handshake could miss
    // what is stored between the two.
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn('hooklab: stream message is not JSON', ev.data);
        return;
      }
      switch (msg && msg.type) {
        case 'hello':
          this.attempt = 0;
          this.onState('open', '');
          this.onOpen();
          break;
        case 'resync': {
          // We fell behind and the server is dropping us: come straight
          // back and reload what we missed (onOpen does the reload) —
          // unless that keeps happening, when backing off spares the page.
          const now = Date.now();
          const again = now - this.lastResync < 5000;
          this.lastResync = now;
          this.drop();
          if (again) this.scheduleRetry();
          else {
            this.attempt = 0;
            this.open();
          }
          break;
        }
        default:
          this.onMessage(msg);
      }
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.scheduleRetry();
    };
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
  }

  drop() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch { /* already closing */ }
    }
  }

  scheduleRetry() {
    if (this.stopped) return;
    const cap = Math.min(maxDelay, minDelay * 2 ** this.attempt);
    const delay = Math.round(cap / 2 + Math.random() * cap / 2);
    this.attempt++;
    const at = new Date(Date.now() + delay);
    this.onState('closed', delay >= 1000 ? `retrying at ${at.toLocaleTimeString()}` : 'retrying');
    this.timer = setTimeout(() => this.open(), delay);
  }
}
