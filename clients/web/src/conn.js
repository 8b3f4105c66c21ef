/*
 * conn.js: one WebSocket to tuttid (docs/protocol.md), with hello, requests
 * whose replies are matched by id, and reconnection.
 *
 * Invariants:
 *  1. hello is the first message on every connection, with the same
 *     client_id each time, so the server recognises resent ops.
 *  2. A request gets a numeric id; its promise settles with the reply that
 *     echoes it (an "error" reply rejects). Ids given by others (ot.js uses
 *     strings) are left alone and their replies reach onMessage.
 *  3. After a lost connection the socket is reopened with a growing delay
 *     (0.25 s doubling to 5 s); onReady runs again after each hello.
 */

/* A random id of [a-z0-9], stable for this page's life. */
export function randomId(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return Array.from(a, (x) => 'abcdefghijklmnopqrstuvwxyz0123456789'[x % 36]).join('');
}

export class Conn {
  /*
   * options: {hello: {name, color, client}, onReady(conn, hello) (async ok),
   * onFail(error) (hello or onReady failed), onMessage(msg), onBinary(ArrayBuffer),
   * onState(state)}; state is
   * 'connecting' | 'open' | 'closed'.
   */
  constructor(options) {
    this.opts = options;
    this.clientId = randomId(16);
    this.nextId = 1;
    this.pending = new Map();
    this.ws = null;
    this.user = null;
    this.delay = 250;
    this.stopped = false;
  }

  url() {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  }

  connect() {
    this.setState('connecting');
    const ws = new WebSocket(this.url());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => this.onOpen();
    ws.onmessage = (e) => this.onFrame(e.data);
    ws.onclose = () => this.onClose(ws);
  }

  async onOpen() {
    this.delay = 250;
    try {
      const h = await this.request({ type: 'hello', client: 'tutti-web', client_id: this.clientId, ...this.opts.hello });
      this.user = h.user;
      this.setState('open');
      if (this.opts.onReady) await this.opts.onReady(this, h);
    } catch (e) {
      console.error('tutti: setting up the connection failed', e);
      if (this.opts.onFail) this.opts.onFail(e);
    }
  }

  onFrame(data) {
    if (typeof data !== 'string') {
      if (this.opts.onBinary) this.opts.onBinary(data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      console.error('tutti: a message that is not JSON', e);
      return;
    }
    if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.type === 'error') p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, reply: msg }));
      else p.resolve(msg);
    }
    if (this.opts.onMessage) this.opts.onMessage(msg);
  }

  onClose(ws) {
    if (ws !== this.ws) return;
    for (const p of this.pending.values()) p.reject(new Error('connection lost'));
    this.pending.clear();
    this.setState('closed');
    if (this.stopped) return;
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(5000, this.delay * 2);
  }

  setState(s) {
    this.state = s;
    if (this.opts.onState) this.opts.onState(s);
  }

  /* Sends a JSON message (dropped while the socket is not open). */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  sendBinary(buf) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(buf);
  }

  /* Sends msg with a fresh numeric id; resolves with the reply. */
  request(msg) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        this.pending.delete(id);
        reject(new Error('not connected'));
        return;
      }
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  close() {
    this.stopped = true;
    if (this.ws) this.ws.close();
  }
}
