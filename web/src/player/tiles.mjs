// View-aware scheduling of tiled streams (docs/format.md 1.7, docs/streaming.md "View-dependent streaming"), the
// rules of splatcast.net.viewport: each tile's next piece (from the same per-layer passes as an untiled stream) is
// ranked by  visibility(tile, camera now) x error removed / bytes  (the mean squared error 10^(-dB/10) of the
// recorded fidelity, over the rest of the tile's stream) before every request; a tile outside the frustum has the
// tiny visibility OUT_OF_VIEW.
import { tileView } from "../decoder/container.mjs";
import { recordedFidelity } from "../decoder/fidelity.mjs";

export { recordedFidelity }; // (tests)
export const OUT_OF_VIEW = 1e-3; // a tile's first chunk still outranks the refinements in view: no holes when the camera turns
const IN_VIEW_FLOOR = 0.1;
const NEAR = 1e-3; // a corner this close to the camera's plane (or behind it) makes the box fill the view
const IDENTICAL_DB = 50; // a tile's final state counts as this many dB
const UNKNOWN_GAIN = 1e-3;
/** The mean squared error (peak 1) a fidelity in dB stands for: errors add up over a view's pixels, dB do not. */
const error = (db) => 10 ** (-Math.min(db, IDENTICAL_DB) / 10);

/** Scene-space box of each tile: the reconstructions of its grid corners (format.md 2 and 1.7). */
export function tileBoxesInScene(index) {
  const n = 2 ** index.posBits - 1;
  const rec = (q, a) => Math.fround(index.gridMin[a] + q * ((index.gridMax[a] - index.gridMin[a]) / n));
  return index.tileBoxes.map((b) => ({ lo: [0, 1, 2].map((a) => rec(b.lo[a], a)), hi: [0, 1, 2].map((a) => rec(b.hi[a], a)) }));
}

/** [5] the point is on the inner side of the left, right, bottom, top and near clip planes. */
function insidePlanes(m, p) {
  const x = m[0] * p[0] + m[4] * p[1] + m[8] * p[2] + m[12];
  const y = m[1] * p[0] + m[5] * p[1] + m[9] * p[2] + m[13];
  const z = m[2] * p[0] + m[6] * p[1] + m[10] * p[2] + m[14];
  const w = m[3] * p[0] + m[7] * p[1] + m[11] * p[2] + m[15];
  return [x >= -w, x <= w, y >= -w, y <= w, z > -w];
}

/**
 * OUT_OF_VIEW when no part of the box can be in the frustum (all eight corners beyond one clip plane), else
 * IN_VIEW_FLOOR + (1 - IN_VIEW_FLOOR) x the share of the image its projection covers (the bounding rectangle of its
 * projected corners clipped to the image; all of it when a corner is not in front of the camera), as
 * splatcast.net.viewport.box_visibility. `camera`: {viewProj: 16 numbers, column-major (three.js projectionMatrix x
 * matrixWorldInverse), eye: [x, y, z]}.
 */
export function boxVisibility(box, camera) {
  const m = camera.viewProj;
  const any = [false, false, false, false, false];
  let behind = false, x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let c = 0; c < 8; c++) {
    const p = [c & 1 ? box.hi[0] : box.lo[0], c & 2 ? box.hi[1] : box.lo[1], c & 4 ? box.hi[2] : box.lo[2]];
    const inside = insidePlanes(m, p);
    for (let k = 0; k < 5; k++) any[k] = any[k] || inside[k];
    const w = m[3] * p[0] + m[7] * p[1] + m[11] * p[2] + m[15]; // the depth in front of the camera
    if (w <= NEAR) { behind = true; continue; }
    const x = Math.min(Math.max((m[0] * p[0] + m[4] * p[1] + m[8] * p[2] + m[12]) / w, -1), 1);
    const y = Math.min(Math.max((m[1] * p[0] + m[5] * p[1] + m[9] * p[2] + m[13]) / w, -1), 1);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (!any.every(Boolean)) return OUT_OF_VIEW;
  const share = behind ? 1 : ((x1 - x0) * (y1 - y0)) / 4;
  return IN_VIEW_FLOOR + (1 - IN_VIEW_FLOOR) * share;
}

/** Received chunks and dc-only ones per layer, of one tile, as steps are handed out. */
class TileState {
  constructor(view) {
    this.view = view;
    this.received = view.layers.map(() => 0);
    this.pending = view.layers.map(() => new Set());
  }
  static advance(received, pending, step) {
    if (step.kind === "add-dc") pending[step.layer].add(step.chunk);
    else if (step.kind === "upgrade") pending[step.layer].delete(step.chunk);
    if (step.kind !== "upgrade") received[step.layer] += 1;
  }
  /** The recorded fidelity after each of `steps` in turn. */
  fidelityAfter(steps) {
    const received = this.received.slice(), pending = this.pending.map((s) => new Set(s));
    return steps.map((step) => {
      TileState.advance(received, pending, step);
      return recordedFidelity(this.view, received, pending);
    });
  }
  apply(step) { TileState.advance(this.received, this.pending, step); }
}

/**
 * Error removed per byte by the best prefix of the rest of a tile's stream: its current pass, then its later layers as full
 * passes (splatcast.net.viewport.TileScheduler.gain_rate): a refinement that shows only once its layer is far
 * enough in (display_from), or that opens the way to the next layer, is worth what then shows.
 */
function gainRate(state, steps, shownDb) {
  let best = null, bytes = 0;
  const after = state.fidelityAfter(steps);
  for (let i = 0; i < steps.length; i++) {
    bytes += Math.max(steps[i].end - steps[i].start, 1);
    if (after[i] != null) {
      const rate = Math.max(error(shownDb) - error(after[i]), 0) / bytes;
      best = best == null ? rate : Math.max(best, rate);
    }
  }
  if (best == null) return UNKNOWN_GAIN / Math.max(steps[0].end - steps[0].start, 1);
  return Math.max(best, 1e-12 / bytes);
}

/**
 * Merge per-tile plans by utility: `passes[t]` yields tile t's layer passes (arrays of steps tagged with the
 * tile, drawn when the tile reaches the layer). `camera()` gives the viewer's camera now ({viewProj, eye}) or
 * null: the file's order (layer by layer, tile by tile) until a camera is known.
 */
export function* scheduleTiles(index, passes, camera) {
  const boxes = tileBoxesInScene(index);
  const states = passes.map((_, t) => new TileState(tileView(index, t)));
  const shownDb = passes.map(() => 0);
  const nextPass = (t) => {
    for (;;) {
      const n = passes[t].next();
      if (n.done) return [];
      if (n.value.length) return n.value.slice();
    }
  };
  const queue = passes.map((_, t) => nextPass(t));
  // the tile's layers above j as full passes: what a piece's gain looks ahead over (viewport.py's `later`)
  const laterCache = new Map();
  const later = (t, j) => {
    const key = `${t}/${j}`;
    if (!laterCache.has(key)) {
      const out = [];
      const v = states[t].view;
      for (let l = j + 1; l < v.layers.length; l++) {
        v.layers[l].chunks.forEach((c, k) => out.push({ tile: t, layer: l, chunk: k, kind: "add-full", start: c.offset, end: c.offset + c.fullBytes }));
      }
      laterCache.set(key, out);
    }
    return laterCache.get(key);
  };
  for (;;) {
    const live = queue.map((q, t) => (q.length ? t : -1)).filter((t) => t >= 0);
    if (!live.length) return;
    const cam = camera();
    let best = live[0], bestU = -Infinity;
    for (const t of live) {
      const u = cam ? boxVisibility(boxes[t], cam) * gainRate(states[t], queue[t].concat(later(t, queue[t][0].layer)), shownDb[t])
        : -(queue[t][0].layer * passes.length + t); // file order
      if (u > bestU) { best = t; bestU = u; } // ties: the lower tile
    }
    const step = queue[best].shift();
    const after = states[best].fidelityAfter([step])[0];
    if (after != null) shownDb[best] = Math.max(shownDb[best], Math.min(after, IDENTICAL_DB));
    states[best].apply(step);
    if (!queue[best].length) queue[best] = nextPass(best);
    yield step;
  }
}
