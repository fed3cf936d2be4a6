// Receiver-driven adaptation, the `throughput` rule of docs/streaming.md (same numbers as splatcast.net.abr).
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

export const ABRS = {
  // full if the chunk's full bytes arrive within stepBudget at safety x the estimate, else dc (dc before any sample)
  throughput: (chunk, bps, { stepBudgetS = 0.25, safety = 0.9 } = {}) => {
    if (chunk.dcBytes >= chunk.fullBytes) return "full";
    if (bps == null) return "dc";
    return (chunk.fullBytes * 8) / (bps * safety) <= stepBudgetS ? "full" : "dc";
  },
  full: () => "full",
  "dc-first": (chunk) => (chunk.dcBytes < chunk.fullBytes ? "dc" : "full"),
};

/**
 * Fetch steps in decoding order (layers bottom-up, chunks in order, a layer's DC-only chunks upgraded after its DC
 * sweep). A generator: each choice is made when the step is drawn, i.e. with the throughput measured so far.
 * Steps: {layer, chunk, kind: 'add-dc'|'add-full'|'upgrade', start, end (exclusive)}.
 */
export function* plan(index, choose, estimator) {
  for (let j = 0; j < index.layers.length; j++) {
    const pending = [];
    const chunks = index.layers[j].chunks;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k];
      const refine = choose(c, estimator.estimateBps());
      if (refine === "dc" && c.dcBytes < c.fullBytes) {
        pending.push(k);
        yield { layer: j, chunk: k, kind: "add-dc", start: c.offset, end: c.offset + c.dcBytes };
      } else {
        yield { layer: j, chunk: k, kind: "add-full", start: c.offset, end: c.offset + c.fullBytes };
      }
    }
    for (const k of pending) {
      const c = chunks[k];
      yield { layer: j, chunk: k, kind: "upgrade", start: c.offset + c.dcBytes, end: c.offset + c.fullBytes };
    }
  }
}
