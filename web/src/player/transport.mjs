// Transports share one call: `await t.fetch(path, [start, endExclusive] | null) -> Uint8Array`.

/**
 * Request start to last byte of the newest fetch of `href` from Resource Timing (null where unavailable). Unlike a
 * stopwatch around `await fetch()`, it does not count the time the thread was busy before it saw the response.
 */
function transferSeconds(href) {
  if (typeof performance?.getEntriesByName !== "function") return null;
  const entries = performance.getEntriesByName(href, "resource");
  const e = entries[entries.length - 1];
  if (entries.length > 100) performance.clearResourceTimings?.(); // the timeline buffer holds 250 entries
  if (!e || !(e.responseEnd > 0)) return null;
  const s = (e.responseEnd - (e.requestStart || e.startTime)) / 1000;
  return s > 0 ? s : null;
}

/** HTTP GET with one Range per request (the server answers 206 with Content-Range). */
export class HttpTransport {
  constructor(origin = location.origin) {
    this.origin = origin;
    this.name = "http";
  }
  async fetch(path, range = null, { maxBytes = 1 << 30 } = {}) {
    const headers = {};
    if (range) {
      const [a, b] = range;
      if (!(a >= 0 && b > a)) throw new Error(`bad range ${range}`);
      headers.Range = `bytes=${a}-${b - 1}`;
    }
    const url = new URL(path, this.origin);
    this.lastSeconds = null;
    const resp = await fetch(url, { headers, cache: "no-store" });
    const want = range ? 206 : 200;
    if (resp.status !== want) throw new Error(`GET ${path} ${headers.Range || ""}: HTTP ${resp.status}, expected ${want}`);
    const body = new Uint8Array(await resp.arrayBuffer());
    if (range && body.length !== range[1] - range[0]) {
      throw new Error(`GET ${path}: got ${body.length} bytes, expected ${range[1] - range[0]}`);
    }
    if (body.length > maxBytes) throw new Error(`GET ${path}: body exceeds ${maxBytes} bytes`);
    this.lastSeconds = transferSeconds(url.href);
    return body;
  }
  close() {}
}

const FRAME_BYTES = 16;

/**
 * The WebRTC data channel of docs/streaming.md: one reliable, ordered channel "splatcast"; requests are JSON text
 * messages {id, path, range}, responses binary frames <u32 id, u16 status, u8 flags, u8 reserved, u64 total> + payload.
 * Signalling: POST /webrtc/offer with the complete offer (no trickle ICE).
 */
export class WebRtcTransport {
  constructor(origin = location.origin) {
    this.origin = origin;
    this.name = "webrtc";
    this.nextId = 1;
    this.waiting = new Map();
    this.connectMs = null;
  }

  async connect(timeoutMs = 10000) {
    const t0 = performance.now();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const channel = pc.createDataChannel("splatcast", { ordered: true });
    channel.binaryType = "arraybuffer";
    this.channel = channel;
    channel.onmessage = (ev) => this._onMessage(ev.data);
    channel.onclose = () => this._failAll(new Error("data channel closed"));
    const opened = new Promise((resolve, reject) => {
      channel.onopen = resolve;
      channel.onerror = (e) => reject(new Error(`data channel error: ${e?.error?.message || e}`));
    });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
      setTimeout(resolve, 3000); // whatever was gathered by then
    });
    const resp = await fetch(new URL("/webrtc/offer", this.origin), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
    });
    if (resp.status !== 200) throw new Error(`POST /webrtc/offer: HTTP ${resp.status}: ${(await resp.text()).trim()}`);
    await pc.setRemoteDescription(await resp.json());
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`data channel not open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([opened, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.connectMs = performance.now() - t0;
  }

  _onMessage(data) {
    if (!(data instanceof ArrayBuffer) || data.byteLength < FRAME_BYTES) return;
    const view = new DataView(data);
    const id = view.getUint32(0, true);
    const status = view.getUint16(4, true);
    const last = (view.getUint8(6) & 1) === 1;
    const total = Number(view.getBigUint64(8, true));
    const w = this.waiting.get(id);
    if (!w) return;
    const payload = new Uint8Array(data, FRAME_BYTES);
    if (status >= 400) {
      this.waiting.delete(id);
      w.reject(new Error(`${w.path}: status ${status}: ${new TextDecoder().decode(payload)}`));
      return;
    }
    if (!w.buffer) {
      if (total > w.maxBytes) {
        this.waiting.delete(id);
        w.reject(new Error(`${w.path}: response of ${total} bytes, expected at most ${w.maxBytes}`));
        return;
      }
      w.buffer = new Uint8Array(total);
      w.got = 0;
    }
    if (w.got + payload.length > w.buffer.length) {
      this.waiting.delete(id);
      w.reject(new Error(`${w.path}: more bytes than the header's total ${total}`));
      return;
    }
    w.buffer.set(payload, w.got);
    w.got += payload.length;
    if (last) {
      this.waiting.delete(id);
      if (w.got !== w.buffer.length) w.reject(new Error(`${w.path}: ${w.got} bytes received, header said ${total}`));
      else w.resolve(w.buffer);
    }
  }

  _failAll(err) {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  fetch(path, range = null, { maxBytes = 1 << 30 } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.channel || this.channel.readyState !== "open") return reject(new Error("data channel not open"));
      this.waiting.set(id, { resolve, reject, path, maxBytes, buffer: null, got: 0 });
      this.channel.send(JSON.stringify({ id, path, range: range ? [range[0], range[1]] : null }));
    }).then((body) => {
      if (range && body.length !== range[1] - range[0]) {
        throw new Error(`${path}: got ${body.length} bytes, expected ${range[1] - range[0]}`);
      }
      return body;
    });
  }

  close() {
    try {
      this.channel?.close();
      this.pc?.close();
    } catch {
      /* closing twice is harmless */
    }
  }
}
