/*
 * audio.js: the session's sound in the browser, and where in stream time
 * the listener's ears are.
 *
 * Three sources feed one Player:
 *   WsOpus     the WebSocket's binary audio (8-byte little-endian stream
 *              frame + one raw Opus packet), decoded by WebCodecs.
 *   OggOpus    GET /s/ID/live.ogg read with fetch(), its pages parsed here,
 *              each packet's frame taken from the page's granule position,
 *              decoded by WebCodecs.
 *   ElementAudio  the same Ogg stream in an <audio> element, for browsers
 *              without WebCodecs' AudioDecoder.
 *
 * Invariants:
 *  1. Sample j of a packet at stream frame f is started at context time
 *     base + (f + j - baseFrame) / 48000: packets are placed by their
 *     frame, never by their arrival, so a late packet is dropped, not
 *     played late, and the stream clock stays exact between re-anchorings.
 *  2. The jitter buffer (`target`, the lead a packet has when it arrives)
 *     starts at 60 ms and grows by 20 ms, to at most 400 ms, each time a
 *     packet comes too late; when every packet of the last second arrived more
 *     than 100 ms earlier than needed, the player re-anchors to cut the
 *     extra delay (clock drift, bursts).
 *  3. playoutFrame() is the stream frame leaving the speakers now: the
 *     context time being output (getOutputTimestamp) mapped through the
 *     anchor. Highlights and countdowns use it and nothing else.
 */

export const RATE = 48000;

/* The 19-byte OpusHead (RFC 7845 5.1) for a stereo 48 kHz stream. */
export function opusHead(preSkip, channels = 2) {
  const b = new Uint8Array(19);
  b.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64], 0); // "OpusHead"
  const dv = new DataView(b.buffer);
  b[8] = 1;
  b[9] = channels;
  dv.setUint16(10, preSkip, true);
  dv.setUint32(12, RATE, true);
  dv.setInt16(16, 0, true);
  b[18] = 0;
  return b;
}

/* Samples (at 48 kHz) in one Opus packet, from its TOC (RFC 6716 3.1). */
export function opusPacketSamples(p) {
  if (p.length < 1) return 0;
  const config = p[0] >> 3;
  let size; // in units of 2.5 ms
  if (config < 12) size = [4, 8, 16, 24][config & 3];
  else if (config < 16) size = [4, 8][config & 1];
  else size = [1, 2, 4, 8][config & 3];
  const code = p[0] & 3;
  let count = 1;
  if (code === 1 || code === 2) count = 2;
  else if (code === 3) count = p.length > 1 ? p[1] & 0x3f : 0;
  return count * size * 120;
}

/* Browsers without WebCodecs Opus decode the WebSocket packets with a
 * WebAssembly build of libopus instead (opus-decoder, from the
 * wasm-audio-decoders project), keeping the low-latency path. */
export async function wasmOpusDecoder() {
  const { OpusDecoder } = await import('opus-decoder');
  const dec = new OpusDecoder({ channels: 2, preSkip: 0 });
  await dec.ready;
  return dec;
}

export function hasWebCodecsOpus() {
  if (typeof AudioDecoder === 'undefined') return Promise.resolve(false);
  return AudioDecoder.isConfigSupported({ codec: 'opus', sampleRate: RATE, numberOfChannels: 2 })
    .then((r) => !!r.supported, () => false);
}

/* The audio graph: scheduled buffers -> gain -> analyser -> speakers. */
export class Player {
  constructor() {
    let ctx;
    try {
      ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: RATE });
    } catch (e) {
      ctx = new AudioContext({ latencyHint: 'interactive' });
    }
    this.ctx = ctx;
    this.gain = ctx.createGain();
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 2048;
    this.analyser.smoothingTimeConstant = 0.6;
    this.gain.connect(this.analyser);
    this.analyser.connect(ctx.destination);
    this.baseTime = null;
    this.baseFrame = 0;
    this.target = 0.06;
    this.leads = [];
    this.sources = new Set();
    this.decodedFrames = 0;
    this.latePackets = 0;
    this.lastFrame = null;      // newest frame received (live, roughly)
    this.lastArrival = 0;       // performance.now() when it came
    this.element = null;        // an ElementAudio using this graph instead
  }

  resume() {
    return this.ctx.resume();
  }

  /* The context time heard right now (invariant 3). */
  heardTime() {
    const ctx = this.ctx;
    if (ctx.getOutputTimestamp) {
      const ts = ctx.getOutputTimestamp();
      if (ts.contextTime > 0 && ts.performanceTime > 0) {
        return ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
      }
    }
    return ctx.currentTime - (ctx.baseLatency || 0) - (ctx.outputLatency || 0);
  }

  /* The stream frame at the speakers now, or null before any sound. */
  playoutFrame() {
    if (this.element) return this.element.playoutFrame();
    if (this.baseTime === null) return null;
    return Math.floor(this.baseFrame + (this.heardTime() - this.baseTime) * RATE);
  }

  /* The newest stream frame the server has made, estimated. */
  liveFrame() {
    if (this.lastFrame === null) return null;
    return this.lastFrame + (performance.now() - this.lastArrival) * RATE / 1000;
  }

  /* Milliseconds from the server making a sample to it being heard. */
  latencyMs() {
    const p = this.playoutFrame();
    const l = this.liveFrame();
    if (p === null || l === null) return null;
    return (l - p) * 1000 / RATE;
  }

  anchor(frame, now) {
    for (const s of this.sources) s.stop();
    this.sources.clear();
    this.baseTime = now + this.target;
    this.baseFrame = frame;
    this.leads = [];
  }

  /* Plays decoded audio (an AudioData) whose first sample is at frame. */
  /* Decoded PCM as planes of Float32 (the WASM decoder's output). */
  playPlanar(frame, planes, n, rate) {
    const buf = this.ctx.createBuffer(planes.length, n, rate);
    planes.forEach((p, c) => buf.copyToChannel(p.subarray(0, n), c));
    this.decodedFrames += n;
    this.schedule(frame, buf);
  }

  play(frame, data) {
    const n = data.numberOfFrames;
    const ch = data.numberOfChannels;
    const buf = this.ctx.createBuffer(ch, n, data.sampleRate);
    for (let c = 0; c < ch; c++) {
      const plane = new Float32Array(n);
      data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
      buf.copyToChannel(plane, c);
    }
    this.decodedFrames += n;
    this.schedule(frame, buf);
  }

  schedule(frame, buf) {
    const now = this.ctx.currentTime;
    if (this.baseTime === null) this.anchor(frame, now);
    let due = this.baseTime + (frame - this.baseFrame) / RATE;
    const lead = due - now;
    if (lead < 0.005) {
      this.latePackets++;
      this.target = Math.min(0.4, this.target + 0.02);
      this.anchor(frame, now);
      due = this.baseTime;
    } else {
      this.leads.push(lead);
      if (this.leads.length >= 50) {
        const min = Math.min(...this.leads);
        this.leads = [];
        if (min > this.target + 0.1) {
          this.anchor(frame, now);
          due = this.baseTime;
        }
      }
    }
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.gain);
    src.onended = () => this.sources.delete(src);
    this.sources.add(src);
    src.start(due);
  }

  /* Forgets the anchor (the stream restarted or the source changed). */
  reset() {
    for (const s of this.sources) s.stop();
    this.sources.clear();
    this.baseTime = null;
    this.lastFrame = null;
  }
}

/* Decodes Opus packets with WebCodecs into a Player. */
class Decoder {
  constructor(player, head) {
    this.player = player;
    this.head = head;
    this.errors = 0;
    this.make();
  }

  make() {
    this.dec = new AudioDecoder({
      output: (d) => {
        const frame = Math.round(d.timestamp * RATE / 1e6);
        this.player.play(frame, d);
        d.close();
      },
      error: (e) => {
        this.errors++;
        console.error('tutti: the Opus decoder failed', e);
        this.make();
      },
    });
    this.dec.configure({ codec: 'opus', sampleRate: RATE, numberOfChannels: 2, description: this.head });
  }

  decode(frame, packet) {
    if (this.dec.state !== 'configured') return;
    this.dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round(frame * 1e6 / RATE), data: packet }));
  }

  close() {
    if (this.dec.state !== 'closed') this.dec.close();
  }
}

/* The same interface over the WebAssembly decoder. */
class WasmDecoder {
  constructor(player, dec) {
    this.player = player;
    this.dec = dec;
    this.errors = 0;
  }

  decode(frame, packet) {
    try {
      const { channelData, samplesDecoded, sampleRate } = this.dec.decodeFrame(packet);
      if (samplesDecoded > 0) this.player.playPlanar(frame, channelData, samplesDecoded, sampleRate);
    } catch (e) {
      this.errors++;
    }
  }

  close() {
    this.dec.free();
  }
}

/* The WebSocket's audio packets (after {"type":"audio","on":true});
 * wasm: a decoder from wasmOpusDecoder() when WebCodecs has no Opus. */
export class WsOpus {
  constructor(player, preSkip, wasm = null) {
    this.player = player;
    this.decoder = wasm ? new WasmDecoder(player, wasm) : new Decoder(player, opusHead(preSkip));
    this.kind = wasm ? 'WebAssembly libopus' : 'WebCodecs';
    this.packets = 0;
  }

  /* One binary message: int64 LE frame + Opus packet. */
  push(buf) {
    if (buf.byteLength < 9) return;
    const frame = Number(new DataView(buf).getBigInt64(0, true));
    this.packets++;
    this.player.lastFrame = frame + 960;
    this.player.lastArrival = performance.now();
    this.decoder.decode(frame, new Uint8Array(buf, 8));
  }

  close() {
    this.decoder.close();
  }
}

/* Splits an Ogg byte stream into pages (RFC 3533) and pages into packets. */
export class OggParser {
  constructor() {
    this.buf = new Uint8Array(0);
    this.partial = [];   // pieces of a packet continued on the next page
  }

  /* Feeds bytes; calls onPacket(packet, granuleOfPageOrNull, isLastOnPage). */
  feed(bytes, onPage) {
    const b = new Uint8Array(this.buf.length + bytes.length);
    b.set(this.buf, 0);
    b.set(bytes, this.buf.length);
    let off = 0;
    while (b.length - off >= 27) {
      if (b[off] !== 0x4f || b[off + 1] !== 0x67 || b[off + 2] !== 0x67 || b[off + 3] !== 0x53) {
        off++; // resynchronise on the capture pattern
        continue;
      }
      const nseg = b[off + 26];
      if (b.length - off < 27 + nseg) break;
      let body = 0;
      for (let i = 0; i < nseg; i++) body += b[off + 27 + i];
      const total = 27 + nseg + body;
      if (b.length - off < total) break;
      const dv = new DataView(b.buffer, b.byteOffset + off);
      const granule = Number(dv.getBigInt64(6, true));
      const packets = [];
      let p = off + 27 + nseg;
      for (let i = 0; i < nseg; i++) {
        const len = b[off + 27 + i];
        this.partial.push(b.slice(p, p + len));
        p += len;
        if (len < 255) {
          const size = this.partial.reduce((s, x) => s + x.length, 0);
          const pk = new Uint8Array(size);
          let q = 0;
          for (const x of this.partial) {
            pk.set(x, q);
            q += x.length;
          }
          this.partial = [];
          packets.push(pk);
        }
      }
      onPage(packets, granule);
      off += total;
    }
    this.buf = b.slice(off);
  }
}

/* GET /s/ID/live.ogg read with fetch and decoded by WebCodecs. */
export class OggOpus {
  constructor(player, url) {
    this.player = player;
    this.url = url;
    this.parser = new OggParser();
    this.decoder = null;
    this.preSkip = 0;
    this.headers = 0;
    this.abort = new AbortController();
    this.bytes = 0;
  }

  async start() {
    const r = await fetch(this.url, { signal: this.abort.signal, cache: 'no-store' });
    if (!r.ok) throw new Error(`the stream answered ${r.status}`);
    const reader = r.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      this.bytes += value.length;
      this.parser.feed(value, (packets, granule) => this.page(packets, granule));
    }
  }

  page(packets, granule) {
    for (const p of packets) {
      if (this.headers === 0) {
        this.preSkip = new DataView(p.buffer, p.byteOffset).getUint16(10, true);
        this.decoder = new Decoder(this.player, p);
        this.headers++;
        return;
      }
      if (this.headers === 1) { // OpusTags
        this.headers++;
        return;
      }
    }
    if (granule < 0 || !packets.length) return;
    // The granule counts samples at the end of the page's last packet, with
    // the pre-skip included: walk back to each packet's first sample.
    let end = granule - this.preSkip;
    const starts = [];
    for (let i = packets.length - 1; i >= 0; i--) {
      end -= opusPacketSamples(packets[i]);
      starts[i] = end;
    }
    packets.forEach((p, i) => {
      this.player.lastFrame = starts[i] + opusPacketSamples(p);
      this.player.lastArrival = performance.now();
      this.decoder.decode(starts[i], p);
    });
  }

  stop() {
    this.abort.abort();
    if (this.decoder) this.decoder.close();
  }
}

/*
 * The Ogg stream in an <audio> element, routed through the Player's graph
 * so the meters still work. Chromium reports currentTime from the Ogg
 * granule positions (stream time since frame 0), so frame = currentTime *
 * 48000; a browser that starts currentTime at 0 is detected by comparing
 * with the annotations' frames (see docs/web.md) and given an offset.
 */
export class ElementAudio {
  constructor(player, url) {
    this.player = player;
    this.el = new Audio();
    this.el.crossOrigin = 'anonymous';
    this.el.src = url;
    this.offset = 0;
    this.node = player.ctx.createMediaElementSource(this.el);
    this.node.connect(player.gain);
    player.element = this;
  }

  start() {
    return this.el.play();
  }

  playoutFrame() {
    if (this.el.paused || this.el.readyState < 2) return null;
    return Math.floor(this.el.currentTime * RATE) + this.offset;
  }

  /* A frame known to be live now (an annotation that just arrived). */
  calibrate(liveFrame) {
    const p = Math.floor(this.el.currentTime * RATE);
    if (p > 0 && liveFrame - p > 30 * RATE) this.offset = liveFrame - p - Math.round(0.5 * RATE);
  }

  stop() {
    this.el.pause();
    this.el.removeAttribute('src');
    this.player.element = null;
  }
}

/* Draws a level meter, a scope and a spectrum of what the analyser hears. */
export class Meters {
  constructor(analyser, canvas, levelEl) {
    this.a = analyser;
    this.canvas = canvas;
    this.levelEl = levelEl;
    this.time = new Float32Array(analyser.fftSize);
    this.freq = new Uint8Array(analyser.frequencyBinCount);
    this.peak = 0;
  }

  /* The RMS level of the last analyser window, in dBFS. */
  levelDb() {
    this.a.getFloatTimeDomainData(this.time);
    let s = 0;
    for (const x of this.time) s += x * x;
    const rms = Math.sqrt(s / this.time.length);
    return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  }

  draw() {
    const db = this.levelDb();
    const frac = Math.max(0, Math.min(1, (db + 60) / 60));
    this.peak = Math.max(frac, this.peak - 0.01);
    if (this.levelEl) {
      this.levelEl.style.setProperty('--level', `${(frac * 100).toFixed(1)}%`);
      this.levelEl.style.setProperty('--peak', `${(this.peak * 100).toFixed(1)}%`);
      this.levelEl.title = Number.isFinite(db) ? `${db.toFixed(1)} dBFS` : 'silence';
    }
    const c = this.canvas;
    if (!c) return db;
    const g = c.getContext('2d');
    const w = c.width;
    const h = c.height;
    g.fillStyle = '#11141c';
    g.fillRect(0, 0, w, h);
    this.a.getByteFrequencyData(this.freq);
    const bins = 64;
    const bw = w / bins;
    for (let i = 0; i < bins; i++) {
      // logarithmic bins from ~40 Hz to ~20 kHz
      const lo = Math.floor(Math.pow(2, (i / bins) * 9) * 2);
      const v = this.freq[Math.min(this.freq.length - 1, lo)] / 255;
      g.fillStyle = `hsl(${200 + v * 120}, 70%, ${30 + v * 30}%)`;
      g.fillRect(i * bw, h - v * h, bw - 1, v * h);
    }
    g.strokeStyle = '#ffcb6b';
    g.lineWidth = 1.5;
    g.beginPath();
    const step = this.time.length / w;
    for (let x = 0; x < w; x++) {
      const y = h / 2 - this.time[Math.floor(x * step)] * h / 2;
      if (x === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    }
    g.stroke();
    return db;
  }
}
