// Chunk-by-chunk decoding (docs/format.md sections 3-5); mirrors splatcast.codec.decoder.ProgressiveDecoder.
import { checkCrc, readIndex, STREAM, STREAM_NAMES, tileView, unpackStreams } from "./container.mjs";
import { recordedFidelity } from "./fidelity.mjs";
import { SUPPORTED, decodeStream } from "./backends.mjs";
import { BitstreamError, BitstreamFormatError, TruncatedError } from "./errors.mjs";
import { colourUndelta, streamContext } from "./features.mjs";
import { NeighbourIndex } from "./neighbours.mjs";
import { predictWithModes } from "./bilateral.mjs";

const FEATURE_LIMIT = (1 << 24) - 1;
const N_FIXED = 11;
export const shRestCount = (d) => (d + 1) * (d + 1) - 1;

/**
 * @typedef {{count:number, shDegree:number, positions:Float32Array, scalesLog:Float32Array, quats:Float32Array,
 *   opacityLogit:Float32Array, shDc:Float32Array, shRest:Float32Array}} Cloud
 * shRest is [N][K][3] (coefficient k, then channel), as splatcast's GaussianCloud.sh_rest.
 */

class LayerState {
  constructor(n) { this.pos = []; this.feat = []; this.parents = []; this.pending = new Map(); this.n = n; this.cat = null; }
  get received() { return this.pos.length; }
  get complete() { return this.received === this.n && this.pending.size === 0; }
  arrays(C) {
    if (!this.cat) {
      let g = 0;
      for (const p of this.pos) g += p.length / 3;
      const pos = new Int32Array(3 * g), feat = new Int32Array(C * g);
      let o = 0;
      for (let i = 0; i < this.pos.length; i++) { pos.set(this.pos[i], 3 * o); feat.set(this.feat[i], C * o); o += this.pos[i].length / 3; }
      this.cat = { pos, feat, g };
    }
    return this.cat;
  }
  invalidate() { this.cat = null; }
}

function checkRange(arr, lo, hi, field, what) {
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (v < lo || v > hi) throw new BitstreamFormatError(`${what}: ${field} outside ${lo}..${hi} (got ${v})`);
  }
}

/**
 * One coded group's values {c0, n, v, gm} of g Gaussians into columns c0..c0+n of dst's rows (rows[i], or i when
 * rows is null; C columns a row), plus the prediction row i (pred [g * C]) when pred is given; every value must lie
 * within +-FEATURE_LIMIT (format.md 3).
 */
function place(dst, C, rows, { c0, n, v, gm }, g, pred, what) {
  const si = gm ? n : 1, st = gm ? 1 : g; // value (i, t) at v[i * si + t * st]
  for (let i = 0; i < g; i++) {
    const o = (rows ? rows[i] : i) * C + c0, p = i * C + c0;
    for (let t = 0, j = i * si; t < n; t++, j += st) {
      const x = pred ? v[j] + pred[p + t] : v[j];
      if (x < -FEATURE_LIMIT || x > FEATURE_LIMIT) throw new BitstreamFormatError(`${what}: feature outside ${-FEATURE_LIMIT}..${FEATURE_LIMIT} (got ${x})`);
      dst[o + t] = x;
    }
  }
}

/**
 * Chunk-by-chunk decoding of a whole file (mirrors splatcast.codec.decoder.ProgressiveDecoder). A tiled file
 * (format.md 1.7) is one independent stream per tile: calls name their tile (0 in an untiled file), chunk numbers
 * count that tile's chunks of the layer, and cloud() shows every tile's state, tile 0's rows first.
 */
export class ProgressiveDecoder {
  /** @param {Uint8Array} header at least the first header_bytes bytes of the file */
  constructor(header) {
    this.index = readIndex(header);
    if (!SUPPORTED.includes(this.index.entropy)) throw new BitstreamFormatError(`entropy back-end ${this.index.entropy} is not supported by this decoder (supported: ${SUPPORTED.join(", ")})`);
    this.tiles = Array.from({ length: this.index.tileCount }, (_, t) => new TileDecoder(tileView(this.index, t)));
  }

  get tiled() { return this.index.tileBoxes !== null; }
  tile(t) {
    if (!(Number.isInteger(t) && t >= 0 && t < this.tiles.length)) throw new BitstreamFormatError(`tile ${t} does not exist (the file has ${this.tiles.length})`);
    return this.tiles[t];
  }
  addChunk(layer, chunk, data, refine = "full", tile = 0) { this.tile(tile).addChunk(layer, chunk, data, refine); }
  upgradeChunk(layer, chunk, rest, tile = 0) { this.tile(tile).upgradeChunk(layer, chunk, rest); }
  layerComplete(layer) { return this.tiles.every((t) => t.layerComplete(layer)); }
  chunksReceived(layer, tile = 0) { return this.tile(tile).chunksReceived(layer); }
  /** Integer positions and features of the chunks received so far, tiles concatenated in tile order. */
  layerArrays(layer) {
    if (this.tiles.length === 1) return this.tiles[0].layerArrays(layer);
    const parts = this.tiles.map((t) => t.layerArrays(layer));
    const g = parts.reduce((a, p) => a + p.g, 0), C = this.tiles[0].cols;
    const pos = new Int32Array(3 * g), feat = new Int32Array(C * g);
    let o = 0;
    for (const p of parts) { pos.set(p.pos, 3 * o); feat.set(p.feat, C * o); o += p.g; }
    return { pos, feat, g };
  }
  /** A tile's recorded fidelity (format.md 5 and 1.7); tile null: the file's, which only an untiled file has. */
  stateFidelity(tile = null) {
    if (tile === null) return this.tiles.length === 1 ? this.tiles[0].stateFidelity() : null;
    return this.tile(tile).stateFidelity();
  }
  /** What to show now: every tile's state (format.md 5), tile 0's rows first. */
  cloud() {
    if (this.tiles.length === 1) return this.tiles[0].cloud();
    return concatClouds(this.tiles.map((t) => t.cloud()), this.index.shDegree);
  }
}

/** One tile's stream over its view of the index (format.md 1.7); an untiled file is its own tile 0. */
export class TileDecoder {
  /** @param {object} idx an untiled index (readIndex, or tileView of a tiled one) */
  constructor(idx) {
    this.index = idx;
    this.cols = N_FIXED + 3 * shRestCount(idx.shDegree);
    this.newer = idx.version[1] > 0;
    this.major = idx.version[0]; // the stream rules (contexts, colour coding) depend on it
    this.layers = idx.layers.map((l) => new LayerState(l.chunks.length));
    this.nindex = new Map();
    const n = 2 ** idx.posBits - 1;
    this.posMax = n;
    this.gridStep = [0, 1, 2].map((a) => (idx.gridMax[a] - idx.gridMin[a]) / n);
  }

  layerIndex(layer) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.index.layers.length) throw new BitstreamFormatError(`layer ${layer} does not exist (file has ${this.index.layers.length})`);
    const li = this.index.layers[layer];
    if (li.coding === "inter" && !this.layers[layer - 1].complete) throw new BitstreamFormatError(`layer ${layer} is predicted from layer ${layer - 1}, which is not complete in full refinement`);
    return li;
  }

  /** @param {number} layer @param {number} chunk @param {Uint8Array} data @param {'full'|'dc'} refine */
  addChunk(layer, chunk, data, refine = "full") {
    const li = this.layerIndex(layer);
    const st = this.layers[layer];
    if (refine !== "dc" && refine !== "full") throw new RangeError(`refine=${refine}: choose dc or full`);
    if (chunk !== st.received) throw new BitstreamFormatError(`layer ${layer}: chunk ${chunk} arrived, expected chunk ${st.received} next`);
    if (chunk >= li.chunks.length) throw new BitstreamFormatError(`layer ${layer} has ${li.chunks.length} chunks, got chunk ${chunk}`);
    const ce = li.chunks[chunk];
    const what = `layer ${layer} chunk ${chunk}`;
    const want = refine === "full" || ce.fullBytes === ce.dcBytes ? ce.fullBytes : ce.dcBytes;
    if (data.length < want) throw new TruncatedError(`${what}: needs ${want} bytes for refine=${refine}, got ${data.length}`);
    const dc = data.subarray(0, ce.dcBytes);
    checkCrc(dc, ce.crcDc, `${what} dc part at offset 0`);
    let rest = null;
    if (ce.fullBytes === ce.dcBytes) rest = new Uint8Array(0);
    else if (refine === "full") {
      rest = data.subarray(ce.dcBytes, ce.fullBytes);
      checkCrc(rest, ce.crcRest, `${what} rest part at offset ${ce.dcBytes}`);
    }
    if (li.coding === "intra") {
      const { pos, feat } = this.decodeIntra(dc, ce.gaussians, what);
      st.pos.push(pos); st.feat.push(feat);
    } else {
      this.decodeInter(layer, chunk, dc, rest, what);
    }
    st.invalidate();
  }

  /** Rest part (bytes [dcBytes, fullBytes) of the chunk) of a chunk received with refine "dc". */
  upgradeChunk(layer, chunk, rest) {
    const li = this.layerIndex(layer);
    const st = this.layers[layer];
    const what = `layer ${layer} chunk ${chunk}`;
    if (!st.pending.has(chunk)) throw new BitstreamFormatError(`${what}: nothing to upgrade (not received in dc refinement)`);
    const ce = li.chunks[chunk];
    const need = ce.fullBytes - ce.dcBytes;
    if (rest.length < need) throw new TruncatedError(`${what}: rest part needs ${need} bytes, got ${rest.length}`);
    rest = rest.subarray(0, need);
    checkCrc(rest, ce.crcRest, `${what} rest part`);
    const { pred, modes, live } = st.pending.get(chunk);
    const feat = st.feat[chunk].slice(); // (a refused rest part leaves the chunk as it was)
    this.restResiduals(unpackStreams(rest, what + " rest part", this.newer), pred, modes, feat, what, live);
    st.feat[chunk] = feat;
    st.pending.delete(chunk);
    st.invalidate();
  }

  layerComplete(layer) { return this.layers[layer].complete; }
  chunksReceived(layer) { return this.layers[layer].received; }
  /** Integer positions [N*3] and features [N*C] of the chunks received so far. */
  layerArrays(layer) { return this.layers[layer].arrays(this.cols); }

  get(streams, sid, count, what, ctx = null) {
    if (count === 0) return new Int32Array(0);
    const s = streams.get(sid);
    if (!s) throw new BitstreamFormatError(`${what}: stream ${STREAM_NAMES[sid]} is missing`);
    try {
      return decodeStream(s.payload, this.index.entropy, count, s.bytesPerValue, ctx);
    } catch (exc) {
      if (exc instanceof BitstreamError) { const e = new exc.constructor(`${what} stream ${STREAM_NAMES[sid]}: ${exc.message}`); throw e; }
      throw exc;
    }
  }

  /**
   * Values [g * width] of a group's stream in its own layout (component-major, or Gaussian-major for SH rest), with the
   * version's rans contexts and, for colour groups from version 3, the channel differences undone (format.md 2).
   */
  group(streams, sid, g, width, what, modes = null) {
    const gm = sid === STREAM.REST;
    const v = this.get(streams, sid, width * g, what, streamContext(this.major, width, g, modes, gm));
    if ((sid === STREAM.DC || sid === STREAM.REST) && this.major >= 3) colourUndelta(v, g, width, gm, `${what} stream ${STREAM_NAMES[sid]}`);
    return v;
  }

  /**
   * The coded groups from column firstCol on, each entropy-decoded in its stream's layout before any is placed
   * (format.md 2): [{c0, n, v, gm, intra}], v [g * n] Gaussian-major (gm: SH rest) or component-major.
   */
  groups(streams, g, what, firstCol, modes = null) {
    const C = this.cols, out = [];
    for (const [sid, c0, n] of [[STREAM.DC, 0, 3], [STREAM.OPACITY, 3, 1], [STREAM.SCALE, 4, 3], [STREAM.QUAT, 7, 4], [STREAM.REST, 11, C - 11]]) {
      if (c0 < firstCol || n === 0) continue;
      const v = this.group(streams, sid, g, n, what, modes);
      out.push({ c0, n, v, gm: sid === STREAM.REST, intra: g > 0 && streams.get(sid).intra });
    }
    return out;
  }

  decodeIntra(dc, g, what) {
    const streams = unpackStreams(dc, what, this.newer);
    const d = this.get(streams, STREAM.POS, 3 * g, what, streamContext(this.major, 3, g));
    const pos = new Int32Array(3 * g);
    for (let a = 0; a < 3; a++) {
      let acc = 0;
      for (let i = 0; i < g; i++) {
        acc += d[a * g + i];
        if (acc < 0 || acc > this.posMax) throw new BitstreamFormatError(`${what}: position outside 0..${this.posMax} (got ${acc})`);
        pos[3 * i + a] = acc;
      }
    }
    this.checkBox(pos, what);
    const feat = new Int32Array(g * this.cols);
    for (const grp of this.groups(streams, g, what, 0)) place(feat, this.cols, null, grp, g, null, what);
    return { pos, feat };
  }

  decodeInter(layer, chunk, dc, rest, what) {
    const li = this.index.layers[layer];
    const st = this.layers[layer];
    const C = this.cols;
    const low = this.layerArrays(layer - 1);
    const m = low.g;
    const ce = li.chunks[chunk];
    const g = ce.gaussians;
    const joint = ce.dcBytes === ce.fullBytes; // version 2: one part holds the rest streams too
    const streams = unpackStreams(dc, what, this.newer);
    const dpar = this.get(streams, STREAM.PARENT_DELTA, g, what);
    checkRange(dpar, 0, Math.max(m - 1, 0), "parent delta", what);
    const parents = new Int32Array(g);
    let acc = 0;
    for (let i = 0; i < g; i++) {
      acc += dpar[i];
      if (acc > m - 1) throw new BitstreamFormatError(`${what}: parent outside 0..${m - 1} (got ${acc})`);
      parents[i] = acc;
    }
    // version 2: exact copies of their parent carry a flag and nothing else (format.md 3.2)
    let copy = null;
    if (streams.has(STREAM.COPY)) {
      if (this.index.version[0] < 2) throw new BitstreamFormatError(`${what}: stream copy needs version 2`);
      copy = this.get(streams, STREAM.COPY, g, what);
      checkRange(copy, 0, 1, "copy flag", what);
    }
    let n = g, live = null; // the rows that are not copies (null: all of them)
    if (copy) {
      n = 0;
      for (let i = 0; i < g; i++) if (!copy[i]) n++;
      if (n < g) {
        live = new Int32Array(n);
        for (let i = 0, t = 0; i < g; i++) if (!copy[i]) live[t++] = i;
      }
    }
    const dpos = this.get(streams, STREAM.POS, 3 * n, what, streamContext(this.major, 3, n));
    const pos = new Int32Array(3 * g);
    for (let i = 0; i < g; i++) for (let a = 0; a < 3; a++) pos[3 * i + a] = low.pos[3 * parents[i] + a];
    const livePos = new Int32Array(3 * n);
    for (let t = 0; t < n; t++) {
      const i = live ? live[t] : t;
      for (let a = 0; a < 3; a++) {
        const v = pos[3 * i + a] + dpos[a * n + t];
        if (v < 0 || v > this.posMax) throw new BitstreamFormatError(`${what}: position outside 0..${this.posMax} (got ${v})`);
        pos[3 * i + a] = v;
        livePos[3 * t + a] = v;
      }
    }
    this.checkBox(pos, what);
    const k = Math.min(li.knnK, m);
    const modes = this.get(streams, STREAM.MODE, n, what);
    checkRange(modes, 0, k, "mode", what);
    if (!this.nindex.has(layer - 1)) this.nindex.set(layer - 1, new NeighbourIndex(low.pos));
    // each Gaussian's search finds only the neighbours its mode reads (mode 0: all k; mode m: the m nearest)
    const need = new Int32Array(n);
    for (let t = 0; t < n; t++) need[t] = modes[t] === 0 ? k : modes[t];
    const nbr = this.nindex.get(layer - 1).query(livePos, li.knnK, { need });
    const pred = predictWithModes(low.pos, low.feat, C, livePos, nbr, k, modes);
    const dcRes = this.group(streams, STREAM.DC, n, 3, what, modes);
    let vq = null;
    if (li.codebookSize) {
      vq = this.get(streams, STREAM.VQ_INDEX, n, what, streamContext(this.major, 1, n, modes));
      checkRange(vq, 0, li.codebookSize - 1, "vq index", what);
    }
    // copies take their parent's features, live rows the predictions (dc corrected below); with no copies the
    // rows are the predictions in order: the prediction array itself, unless a later rest part needs it
    const pendingRest = !joint && rest === null;
    let feat;
    if (!live) feat = pendingRest ? pred.slice() : pred;
    else {
      feat = new Int32Array(g * C);
      for (let i = 0; i < g; i++) if (copy[i]) for (let c = 0, a = parents[i] * C; c < C; c++) feat[i * C + c] = low.feat[a + c];
      for (let t = 0; t < n; t++) for (let c = 0, a = live[t] * C; c < C; c++) feat[a + c] = pred[t * C + c];
    }
    for (let t = 0; t < n; t++) {
      const i = live ? live[t] : t;
      for (let c = 0; c < 3; c++) {
        const v = pred[t * C + c] + dcRes[c * n + t] + (vq ? li.codebook[3 * vq[t] + c] : 0);
        if (v < -FEATURE_LIMIT || v > FEATURE_LIMIT) throw new BitstreamFormatError(`${what}: sh_dc outside ${-FEATURE_LIMIT}..${FEATURE_LIMIT} (got ${v})`);
        feat[i * C + c] = v;
      }
    }
    if (joint) this.restResiduals(streams, pred, modes, feat, what, live);
    else if (pendingRest) st.pending.set(chunk, { pred, modes, live });
    else this.restResiduals(unpackStreams(rest, what + " rest part", this.newer), pred, modes, feat, what, live);
    st.pos.push(pos); st.feat.push(feat); st.parents.push(parents);
  }

  /** In a tile's view, every position lies in the tile's box (format.md 1.7). */
  checkBox(pos, what) {
    const box = this.index.box;
    if (!box) return;
    for (let i = 0; i < pos.length; i += 3) {
      for (let a = 0; a < 3; a++) {
        if (pos[i + a] < box.lo[a] || pos[i + a] > box.hi[a]) throw new BitstreamFormatError(`${what}: position ${Array.from(pos.subarray(i, i + 3))} outside its tile's box ${JSON.stringify(box)}`);
      }
    }
  }

  /** Columns 3.. of the rows `live` (the chunk's Gaussians that are not copies; null: all) from the rest streams,
   * into feat in place: intra groups as coded, the others as prediction + residual. */
  restResiduals(streams, pred, modes, feat, what, live) {
    const n = modes.length;
    for (const grp of this.groups(streams, n, what, 3, modes)) place(feat, this.cols, live, grp, n, grp.intra ? null : pred, what);
  }

  /** Dequantized cloud of layer `layer`'s received chunks, optionally without rows where drop[i] is set (read
   * chunk by chunk: the layer's rows need not be concatenated first). */
  layerCloud(layer, drop = null) {
    const st = this.layers[layer];
    let g = 0;
    for (const p of st.pos) g += p.length / 3;
    const d = this.index.layers[layer].shDegree;
    const C = this.cols, k = shRestCount(d);
    let n = g;
    if (drop) { n = 0; for (let i = 0; i < g; i++) if (!drop[i]) n++; }
    const s = this.index.steps, lo = this.index.gridMin, step = this.gridStep;
    const positions = new Float32Array(3 * n), scalesLog = new Float32Array(3 * n), quats = new Float32Array(4 * n);
    const opacityLogit = new Float32Array(n), shDc = new Float32Array(3 * n), shRest = new Float32Array(3 * k * n);
    const [sDc, sOp, sScale, sQuat, sRest] = s, nRest = 3 * k;
    let o = 0, row = 0; // output row, the layer's row
    for (let c = 0; c < st.pos.length; c++) {
      const pos = st.pos[c], feat = st.feat[c], gc = pos.length / 3;
      for (let i = 0; i < gc; i++, row++) {
        if (drop && drop[row]) continue;
        const f = i * C;
        for (let a = 0; a < 3; a++) {
          positions[3 * o + a] = lo[a] + pos[3 * i + a] * step[a];
          shDc[3 * o + a] = feat[f + a] * sDc;
          scalesLog[3 * o + a] = feat[f + 4 + a] * sScale;
        }
        opacityLogit[o] = feat[f + 3] * sOp;
        for (let q = 0; q < 4; q++) quats[4 * o + q] = feat[f + 7 + q] * sQuat;
        for (let t = 0, r = nRest * o, fr = f + N_FIXED; t < nRest; t++) shRest[r + t] = feat[fr + t] * sRest;
        o++;
      }
    }
    return { count: n, shDegree: d, positions, scalesLog, quats, opacityLogit, shDc, shRest };
  }

  /** Layers that have a chunk, or are empty with every layer below complete (format.md section 5). */
  started() {
    const L = this.layers;
    const full = L.map((s) => s.received === s.n);
    const started = [];
    for (let j = 0; j < L.length; j++) if (L[j].received || (L[j].n === 0 && full.slice(0, j).every(Boolean))) started.push(j);
    return started;
  }

  /** The index's fidelity (dB, Infinity = the top layer) of what cloud() shows now, or null (fidelity.mjs). */
  stateFidelity() {
    return recordedFidelity(this.index, this.layers.map((s) => s.received), this.layers.map((s) => new Set(s.pending.keys())));
  }

  /** What to show now (format.md section 5), same rows and order as the Python ProgressiveDecoder.cloud(). */
  cloud() {
    const L = this.layers;
    const started = this.started();
    if (!started.length) return concatClouds([], this.index.shDegree);
    const t = started[started.length - 1];
    if (L[t].received === L[t].n) return this.layerCloud(t);
    if (this.index.mode === "mdc") {
      const done = started.filter((j) => L[j].received === L[j].n);
      return this.layerCloud(done.length ? done[done.length - 1] : t);
    }
    if (this.index.layers[t].coding === "intra") return this.layerCloud(t);
    if (L[t].received < this.index.layers[t].displayFrom) return this.layerCloud(t - 1);
    const drop = new Uint8Array(L[t - 1].pos.reduce((a, p) => a + p.length / 3, 0));
    for (const p of L[t].parents) for (let i = 0; i < p.length; i++) drop[p[i]] = 1;
    return concatClouds([this.layerCloud(t - 1, drop), this.layerCloud(t)], this.index.shDegree);
  }
}

/** Row-concatenate clouds; lower SH degrees are zero-padded to the highest (GaussianCloud.concat). */
export function concatClouds(clouds, emptyDegree) {
  if (!clouds.length) {
    return { count: 0, shDegree: emptyDegree, positions: new Float32Array(0), scalesLog: new Float32Array(0), quats: new Float32Array(0), opacityLogit: new Float32Array(0), shDc: new Float32Array(0), shRest: new Float32Array(0) };
  }
  const d = Math.max(...clouds.map((c) => c.shDegree)), k = shRestCount(d);
  const n = clouds.reduce((a, c) => a + c.count, 0);
  const out = { count: n, shDegree: d, positions: new Float32Array(3 * n), scalesLog: new Float32Array(3 * n), quats: new Float32Array(4 * n), opacityLogit: new Float32Array(n), shDc: new Float32Array(3 * n), shRest: new Float32Array(3 * k * n) };
  let o = 0;
  for (const c of clouds) {
    out.positions.set(c.positions, 3 * o); out.scalesLog.set(c.scalesLog, 3 * o); out.quats.set(c.quats, 4 * o);
    out.opacityLogit.set(c.opacityLogit, o); out.shDc.set(c.shDc, 3 * o);
    const kc = shRestCount(c.shDegree), m = Math.min(k, kc);
    for (let i = 0; i < c.count; i++) out.shRest.set(c.shRest.subarray(3 * kc * i, 3 * kc * i + 3 * m), 3 * k * (o + i));
    o += c.count;
  }
  return out;
}
