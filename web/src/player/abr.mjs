// Receiver-driven adaptation, the rules of docs/streaming.md (same numbers as splatcast.net.abr): per layer, one
// 'full' pass or a 'dc' sweep plus upgrades, chosen from the index's fidelity (default) or measured throughput.
import { fidelityDb } from "../decoder/container.mjs";

export class ThroughputEstimator {
  constructor(window = 5) {
    this.window = window;
    this.samples = [];
  }
  add(nBytes, seconds) {
    if (nBytes > 0 && seconds > 0) {
      this.samples.push((nBytes * 8) / seconds);
      if (this.samples.length > this.window) this.samples.shift();
    }
  }
  /** Harmonic mean of the last `window` samples in bit/s, or null before any sample. */
  estimateBps() {
    if (!this.samples.length) return null;
    return this.samples.length / this.samples.reduce((s, x) => s + 1 / x, 0);
  }
}

const isSplit = (c) => c.dcBytes < c.fullBytes;

/** [bytes, dB after the piece] of each piece of a layer's pass ('full' or 'dc': dc sweep, then upgrades). */
export function passPieces(layer, refine) {
  const chunks = layer.chunks;
  if (refine === "full" || !chunks.some(isSplit)) return chunks.map((c) => [c.fullBytes, fidelityDb(c.fidelityFull)]);
  const sweep = chunks.map((c) => [c.dcBytes, fidelityDb(isSplit(c) ? c.fidelityDc : c.fidelityFull)]);
  const upgrades = chunks.filter(isSplit).map((c) => [c.fullBytes - c.dcBytes, fidelityDb(c.fidelityUpgraded)]);
  return sweep.concat(upgrades);
}

/** Sum of (fidelity on screen while a piece arrives) x its bytes under the monotone display rule; null if unknown. */
export function shownArea(pieces, startDb) {
  let shown = startDb, area = 0;
  for (const [bytes, db] of pieces) {
    if (db == null) return null;
    area += shown * bytes;
    if (db > shown) shown = db;
  }
  return area;
}

// docs/streaming.md: a layer's pass is chosen once, when its first piece is drawn (same rules as splatcast.net.abr)
const throughput = (layer, bps, lowerDb, { stepBudgetS = 0.25, safety = 0.9 } = {}) => {
  if (bps == null) return "dc";
  const first = layer.chunks.find(isSplit);
  return (first.fullBytes * 8) / (bps * safety) <= stepBudgetS ? "full" : "dc";
};

export const ABRS = {
  // the pass whose shown fidelity integrated over the layer's bytes is larger; throughput when the file has none
  fidelity: (layer, bps, lowerDb) => {
    if (lowerDb == null || lowerDb === Infinity) return throughput(layer, bps, lowerDb);
    const full = shownArea(passPieces(layer, "full"), lowerDb), dc = shownArea(passPieces(layer, "dc"), lowerDb);
    if (full == null || dc == null) return throughput(layer, bps, lowerDb);
    return dc > full ? "dc" : "full";
  },
  throughput,
  full: () => "full",
  "dc-first": () => "dc",
};
export const DEFAULT_ABR = "fidelity";

/**
 * Each layer's pass as the array of its fetch steps in decoding order (layers bottom-up, chunks in order; a layer
 * taken in the dc pass gets its DC-only chunks upgraded after its DC sweep). A generator: each layer's pass is
 * chosen when its array is drawn, i.e. with the throughput measured so far. Steps: {tile, layer, chunk, kind:
 * 'add-dc'|'add-full'|'upgrade', start, end} (`index` is one tile's view for a tiled stream: chunk numbers count
 * that tile's chunks).
 */
export function* passes(index, choose, estimator, tile = 0) {
  for (let j = 0; j < index.layers.length; j++) {
    const pending = [];
    const layer = index.layers[j];
    const chunks = layer.chunks;
    let refine = "full";
    if (chunks.some(isSplit)) {
      const low = j ? index.layers[j - 1].chunks : [];
      refine = choose(layer, estimator.estimateBps(), low.length ? fidelityDb(low[low.length - 1].fidelityFull) : null);
    }
    const steps = [];
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k];
      if (refine === "dc" && isSplit(c)) {
        pending.push(k);
        steps.push({ tile, layer: j, chunk: k, kind: "add-dc", start: c.offset, end: c.offset + c.dcBytes });
      } else {
        steps.push({ tile, layer: j, chunk: k, kind: "add-full", start: c.offset, end: c.offset + c.fullBytes });
      }
    }
    for (const k of pending) {
      const c = chunks[k];
      steps.push({ tile, layer: j, chunk: k, kind: "upgrade", start: c.offset + c.dcBytes, end: c.offset + c.fullBytes });
    }
    yield steps;
  }
}

/** Fetch steps in decoding order: the layer passes one after another. */
export function* plan(index, choose, estimator) {
  for (const steps of passes(index, choose, estimator)) yield* steps;
}
