// The decode worker: owns the .splc ProgressiveDecoder; every piece is decoded here as it arrives, and the cloud
// to show is packed for Spark and transferred to the page (the page never decodes).
//
// page -> worker: {type: 'init', header: ArrayBuffer} | {type: 'piece', seq, layer, chunk, kind, data: ArrayBuffer}
// worker -> page: {type: 'ready', supportedEntropy} | {type: 'index', index} | {type: 'unsupported', entropy, supported}
//               | {type: 'cloud', seq, numSplats, packedArray, sh1, sh2, sh3, splatEncoding, shDegree, frame?, decodeMs}
//               | {type: 'error', message, seq}
// Pieces that arrive while the worker is busy are all applied before the next cloud is built (only the newest
// state is packed: the page would draw nothing in between anyway).
import { initDecoder, readIndex, ProgressiveDecoder, SUPPORTED_ENTROPY } from "../decoder/index.mjs";
import { packCloud } from "./pack.mjs";
import { robustBounds, guessUpAxis } from "./camera.mjs";

let decoder = null;
let ready = null;
let lastSeq = -1;
let packedSeq = -1;
let scheduled = false;
let framed = false;
let decodeMs = 0;

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
    layers: ix.layers.map((l) => ({
      coding: l.coding,
      shDegree: l.shDegree,
      gaussians: l.gaussians,
      chunkCount: l.chunkCount ?? l.chunks.length,
      displayFrom: l.displayFrom,
      chunks: l.chunks.map((c) => ({ offset: c.offset, dcBytes: c.dcBytes, fullBytes: c.fullBytes, gaussians: c.gaussians })),
    })),
  };
}

function flush() {
  scheduled = false;
  if (lastSeq === packedSeq) return;
  const seq = lastSeq;
  const t0 = performance.now();
  const cloud = decoder.cloud();
  if (cloud.count == null) cloud.count = cloud.positions.length / 3;
  const packed = packCloud(cloud);
  const msg = { type: "cloud", seq, ...packed, decodeMs, packMs: performance.now() - t0 };
  if (!framed && cloud.count > 0) {
    framed = true;
    const bounds = robustBounds(cloud.positions, cloud.count);
    msg.frame = { lo: bounds.lo, hi: bounds.hi, up: guessUpAxis(bounds), fromGaussians: cloud.count };
  }
  packedSeq = seq;
  const transfer = [packed.packedArray.buffer];
  for (const a of [packed.sh1, packed.sh2, packed.sh3]) if (a) transfer.push(a.buffer);
  self.postMessage(msg, transfer);
}

self.onmessage = async (ev) => {
  const m = ev.data;
  try {
    if (m.type === "init") {
      await ready;
      const header = new Uint8Array(m.header);
      const index = readIndex(header);
      if (!supported().includes(index.entropy)) {
        self.postMessage({ type: "unsupported", entropy: index.entropy, supported: supported() });
        return;
      }
      decoder = new ProgressiveDecoder(header);
      self.postMessage({ type: "index", index: plainIndex(index) });
    } else if (m.type === "piece") {
      const t0 = performance.now();
      const data = new Uint8Array(m.data);
      if (m.kind === "upgrade") decoder.upgradeChunk(m.layer, m.chunk, data);
      else decoder.addChunk(m.layer, m.chunk, data, m.kind === "add-dc" ? "dc" : "full");
      decodeMs += performance.now() - t0;
      lastSeq = m.seq;
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, 0);
      }
    }
  } catch (err) {
    self.postMessage({ type: "error", message: String(err?.stack || err?.message || err), seq: m.seq });
  }
};

ready = initDecoder().then(
  () => self.postMessage({ type: "ready", supportedEntropy: supported() }),
  (err) => self.postMessage({ type: "error", message: `decoder initialisation failed: ${err?.message || err}` }),
);
