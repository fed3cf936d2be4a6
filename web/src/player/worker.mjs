// The decode worker: owns the .splc ProgressiveDecoder; every piece is decoded here as it arrives, and the cloud
// to show is packed for Spark and transferred to the page (the page never decodes).
//
// page -> worker: ?session=http&page=&mpd=&abr= in the worker's URL, or {type: 'start', pageUrl, mpd, abr, requests}
//                 (after a failed WebRTC connection): run the whole HTTP session here (session.mjs: MPD, header,
//                 every plan step), so nothing on the page's thread can hold the stream up; or, when
//                 the page fetches (WebRTC): {type: 'init', header: ArrayBuffer}, then
//                 {type: 'piece', seq, tile, layer, chunk, kind, data: ArrayBuffer} per piece;
//                 {type: 'camera', viewProj, eye} whenever the viewer's camera moves (tiled streams: view order);
//                 {type: 'displayed'} once the first cloud is on screen (queued pieces wait for it, see drain)
// worker -> page: {type: 'ready', supportedEntropy} | {type: 'unsupported', entropy, supported}
//               | {type: 'started', atEpochMs} (the MPD request) | {type: 'manifest', manifest}
//               | {type: 'index', index, headerBytes}
//               | {type: 'step', info, requests, throughputBps} (each piece this worker fetched)
//               | {type: 'streamed', fetched} (the last one)
//               | {type: 'cloud', seq, numSplats, packedArray, sh1, sh2, sh3, splatEncoding, shDegree, frame?, decodeMs,
//                  fidelityDb} | {type: 'held', seq, fidelityDb, shownDb} (a decoded state not recorded better)
//               | {type: 'error', message, seq}
// Pieces that arrive while the worker is busy are all applied before the next cloud is built (only the newest
// state is packed: the page would draw nothing in between anyway).
import { concatClouds, initDecoder, readIndex, ProgressiveDecoder, SUPPORTED_ENTROPY } from "../decoder/index.mjs";
import { packCloud } from "./pack.mjs";
import { robustBounds, guessUpAxis } from "./camera.mjs";
import { ABRS, DEFAULT_ABR, ThroughputEstimator } from "./abr.mjs";
import { HttpTransport } from "./transport.mjs";
import { checkIndexAgainstMpd, openStream, streamSteps, timedGet } from "./session.mjs";
import { DOMParser } from "@xmldom/xmldom";

// start-up milestones for the page's debug log (?debug=1): {type: 'mark', name, atEpochMs}
const DEBUG = new URL(self.location.href).searchParams.has("debug");
const mark = (name) => DEBUG && self.postMessage({ type: "mark", name, atEpochMs: performance.timeOrigin + performance.now() });
mark("worker");
let decoder = null;
let ready = null;
let lastSeq = -1;
let packedSeq = -1;
let scheduled = false;
let framed = false;
let framedLayer = -1; // the highest complete layer the last framing was computed on
let decodeMs = 0;
let headerBytes = 0;
let index = null;
let broken = false;
let display = false; // the file records fidelity: show only states recorded better than the one on screen
let shownDb = []; // per tile (one for an untiled stream): the recorded fidelity of the state on screen
let shownClouds = []; // per tile: the cloud on screen (a tiled stream shows every tile's last shown state)
const dirty = new Set(); // tiles with pieces applied since the last cloud
let camera = null; // the viewer's camera from the page ({viewProj, eye}): tiled streams are fetched in view order
// Between the first cloud posted and the page's word that it is on screen, queued pieces wait: on a 2-core machine
// decoding them competed for the CPU with the page bringing up the renderer (docs/player.md, Worker); the pieces
// are still fetched meanwhile, and decoded at once after.
let firstPosted = false;
let firstOnScreen = false;
const queue = []; // pieces fetched here, decoded between fetches: {seq, tile, layer, chunk, kind, data}

const supported = () => {
  const s = SUPPORTED_ENTROPY;
  if (s instanceof Set || Array.isArray(s)) return Array.from(s);
  return s && typeof s === "object" ? Object.keys(s) : [];
};

function plainIndex(ix) {
  return {
    headerBytes: ix.headerBytes,
    totalBytes: ix.totalBytes,
    entropy: ix.entropy,
    mode: ix.mode,
    shDegree: ix.shDegree,
    posBits: ix.posBits, gridMin: ix.gridMin, gridMax: ix.gridMax, tileBoxes: ix.tileBoxes, tileCount: ix.tileCount,
    layers: ix.layers.map((l) => ({
      coding: l.coding,
      shDegree: l.shDegree,
      gaussians: l.gaussians,
      chunkCount: l.chunkCount ?? l.chunks.length,
      displayFrom: l.displayFrom,
      tileChunks: l.tileChunks,
      tileDisplayFrom: l.tileDisplayFrom,
      chunks: l.chunks.map((c) => ({
        offset: c.offset, dcBytes: c.dcBytes, fullBytes: c.fullBytes, gaussians: c.gaussians,
        fidelityFull: c.fidelityFull, fidelityDc: c.fidelityDc, fidelityUpgraded: c.fidelityUpgraded,
      })),
    })),
  };
}

function flush() {
  scheduled = false;
  if (lastSeq === packedSeq) return;
  const seq = lastSeq;
  // monotone display (docs/streaming.md), per tile: a state the index does not record as better than the one on
  // screen is held (strictly: codes are floor(100 dB), an equal code may hide a drop below 0.01 dB)
  let changed = false, fidelity = null, heldDb = null;
  for (const t of dirty) {
    const f = decoder.stateFidelity(t);
    if (display && (f == null || (shownDb[t] != null && f <= shownDb[t]))) {
      fidelity = f;
      heldDb = shownDb[t];
      continue;
    }
    if (display) shownDb[t] = f;
    shownClouds[t] = decoder.tile(t).cloud();
    changed = true;
  }
  dirty.clear();
  if (!changed) {
    self.postMessage({ type: "held", seq, fidelityDb: fidelity, shownDb: heldDb });
    packedSeq = seq;
    return;
  }
  // on screen: the stream's one state, or every tile's (the worst tile's recorded fidelity is reported)
  fidelity = shownDb.length === 1 ? shownDb[0] : shownDb.some((v) => v == null) ? null : Math.min(...shownDb);
  if (!display) fidelity = decoder.stateFidelity(0);
  const t0 = performance.now();
  const cloud = shownClouds.length === 1 ? shownClouds[0] : concatClouds(shownClouds.filter(Boolean), index.shDegree);
  if (cloud.count == null) cloud.count = cloud.positions.length / 3;
  const packed = packCloud(cloud);
  const msg = { type: "cloud", seq, ...packed, decodeMs, packMs: performance.now() - t0, fidelityDb: fidelity };
  // framing: on the first cloud, and again on the first cloud holding each newly complete layer (the page
  // re-frames unless the viewer has moved the camera): a coarse first layer can have other bounds than the scene
  let complete = -1;
  while (complete + 1 < index.layers.length && decoder.layerComplete(complete + 1)) complete += 1;
  if ((framed === false || complete > framedLayer) && cloud.count > 0) {
    framed = true;
    framedLayer = complete;
    const bounds = robustBounds(cloud.positions, cloud.count);
    msg.frame = { lo: bounds.lo, hi: bounds.hi, up: guessUpAxis(bounds), fromGaussians: cloud.count, layer: complete };
  }
  packedSeq = seq;
  mark(`cloud ${seq}`);
  const transfer = [packed.packedArray.buffer];
  for (const a of [packed.sh1, packed.sh2, packed.sh3]) if (a) transfer.push(a.buffer);
  self.postMessage(msg, transfer);
  if (cloud.count > 0) firstPosted = true; // (the page reports only a non-empty cloud as on screen)
}

/** Apply one piece to the decoder; the cloud is built once the pieces that arrived meanwhile are applied too. */
function applyPiece(m) {
  const t0 = performance.now();
  if (m.kind === "upgrade") decoder.upgradeChunk(m.layer, m.chunk, m.data, m.tile ?? 0);
  else decoder.addChunk(m.layer, m.chunk, m.data, m.kind === "add-dc" ? "dc" : "full", m.tile ?? 0);
  dirty.add(m.tile ?? 0);
  decodeMs += performance.now() - t0;
  lastSeq = m.seq;
  if (!scheduled) {
    scheduled = true;
    setTimeout(flush, 0);
  }
}

function report(err, seq) {
  self.postMessage({ type: "error", message: String(err?.message || err), stack: String(err?.stack || ""), seq });
}

/** Decode queued pieces one task at a time, so that the fetch loop issues its next request in between. */
function drain() {
  if (firstPosted && !firstOnScreen) return; // resumed by the page's 'displayed'

  const m = queue.shift();
  if (!m) return;
  try {
    applyPiece(m);
  } catch (err) {
    queue.length = 0;
    broken = true; // the session stops fetching: nothing after a bad piece can be decoded
    report(err, m.seq);
    return;
  }
  if (queue.length) setTimeout(drain, 0);
}

/** The header: the decoder starts on it; returns the plain index, or null (after telling the page) if unsupported. */
function initHeader(header) {
  const ix = readIndex(header);
  if (!supported().includes(ix.entropy)) {
    self.postMessage({ type: "unsupported", entropy: ix.entropy, supported: supported() });
    return null;
  }
  headerBytes = header.length;
  decoder = new ProgressiveDecoder(header);
  index = plainIndex(ix);
  display = ix.layers.some((l) => l.chunks.some((c) => c.fidelityFull !== 0));
  shownDb = decoder.tiles.map(() => null);
  shownClouds = decoder.tiles.map(() => null);
  return index;
}

async function session({ pageUrl, mpd, abr, requests }) {
  if (!ABRS[abr]) throw new Error(`abr=${abr}: one of ${Object.keys(ABRS).join(", ")}`);
  await ready;
  const estimator = new ThroughputEstimator();
  const transport = new HttpTransport(new URL(pageUrl).origin);
  const counters = { requests };
  const get = timedGet(() => transport, estimator, counters);
  self.postMessage({ type: "started", atEpochMs: performance.timeOrigin + performance.now() });
  const { manifest, media, header } = await openStream({
    get, pageUrl, mpd, parser: new DOMParser(), supportedEntropy: supported(),
    onManifest: (manifest) => {
      mark("manifest");
      self.postMessage({ type: "manifest", manifest });
    },
  });
  mark("header");
  if (!initHeader(header)) return;
  checkIndexAgainstMpd(index, manifest);
  self.postMessage({ type: "index", index, headerBytes });
  const fetched = await streamSteps({
    index, media, choose: ABRS[abr], estimator, startBytes: headerBytes, get, camera: () => camera,
    onStep: (info, data) => {
      mark(`piece ${info.seq}`);
      if (broken) throw new Error("stopped: a piece could not be decoded");
      self.postMessage({ type: "step", info, requests: counters.requests, throughputBps: estimator.estimateBps() });
      queue.push({ seq: info.seq, tile: info.tile, layer: info.layer, chunk: info.chunk, kind: info.kind, data });
      if (queue.length === 1) setTimeout(drain, 0);
    },
  });
  self.postMessage({ type: "streamed", fetched });
}

self.onmessage = async (ev) => {
  const m = ev.data;
  try {
    if (m.type === "start") {
      await session(m);
    } else if (m.type === "init") {
      await ready;
      if (initHeader(new Uint8Array(m.header))) self.postMessage({ type: "index", index, headerBytes });
    } else if (m.type === "displayed") {
      firstOnScreen = true;
      if (queue.length) setTimeout(drain, 0);
    } else if (m.type === "camera") {
      camera = { viewProj: m.viewProj, eye: m.eye };
    } else if (m.type === "piece") {
      applyPiece({ ...m, data: new Uint8Array(m.data) });
    }
  } catch (err) {
    report(err, m.seq);
  }
};

ready = initDecoder().then(
  () => {
    mark("ready");
    self.postMessage({ type: "ready", supportedEntropy: supported() });
  },
  (err) => self.postMessage({ type: "error", message: `decoder initialisation failed: ${err?.message || err}` }),
);

// started by the page with ?session=http&page=...&mpd=...&abr=...: stream at once, without waiting for a message
const boot = new URL(self.location.href).searchParams;
if (boot.get("session") === "http") {
  session({ pageUrl: boot.get("page"), mpd: boot.get("mpd") || null, abr: boot.get("abr") || DEFAULT_ABR, requests: 0 })
    .catch((err) => report(err));
}
