// Inter-layer prediction (docs/format.md 3.2): mode 0 bilateral blend in IEEE double, sequential sums;
// mode m >= 1 copies neighbour m's features. predictWithModes runs in WebAssembly (web/src/kernels/bilateral.ts,
// the same double operations in the same order); predictWithModesReference is the definition it is tested against.
import { Arena, usingReference } from "./kernels.mjs";

/**
 * Prediction rows [g*C] for positions pos [g*3] with neighbours nbr [g*k] and modes [g].
 * @param {Int32Array} pLow @param {Int32Array} fLow @param {number} C @param {Int32Array} pos
 * @param {Int32Array} nbr @param {number} k @param {Int32Array} modes
 */
export function predictWithModes(pLow, fLow, C, pos, nbr, k, modes, { reference = usingReference() } = {}) {
  if (reference) return predictWithModesReference(pLow, fLow, C, pos, nbr, k, modes);
  const g = modes.length;
  const arena = new Arena();
  const [pLowAt, fLowAt] = arena.keep([pLow, fLow]); // (the lower layer: the same for every chunk of this one)
  const arrays = [pos, nbr, modes];
  const at = arrays.map((a) => arena.alloc(4 * a.length));
  const scratchAt = arena.alloc(8 * (3 * k + C)), outAt = arena.alloc(4 * g * C);
  const kernels = arena.ready();
  arrays.forEach((a, t) => arena.i32.set(a, at[t] >> 2));
  kernels.predictWithModes(g, C, k, pLowAt, fLowAt, ...at, scratchAt, outAt);
  return arena.i32.slice(outAt >> 2, (outAt >> 2) + g * C);
}

/** The definition of predictWithModes, in JavaScript. */
export function predictWithModesReference(pLow, fLow, C, pos, nbr, k, modes) {
  const g = modes.length;
  const out = new Int32Array(g * C);
  const d = new Float64Array(k), f = new Float64Array(k), w = new Float64Array(k), acc = new Float64Array(C);
  for (let i = 0; i < g; i++) {
    const m = modes[i], o = i * C, nb = i * k;
    if (m !== 0) {
      const src = nbr[nb + m - 1] * C;
      for (let c = 0; c < C; c++) out[o + c] = fLow[src + c];
      continue;
    }
    let sd = 0;
    for (let j = 0; j < k; j++) {
      const r = nbr[nb + j] * 3;
      let s = 0;
      for (let a = 0; a < 3; a++) { const t = pLow[r + a] - pos[3 * i + a]; s += t * t; }
      d[j] = s; sd += s;
    }
    sd = sd / k + 1;
    let m0 = 0, m1 = 0, m2 = 0;
    for (let j = 0; j < k; j++) { const r = nbr[nb + j] * C; m0 += fLow[r]; m1 += fLow[r + 1]; m2 += fLow[r + 2]; }
    m0 /= k; m1 /= k; m2 /= k;
    let sf = 0;
    for (let j = 0; j < k; j++) {
      const r = nbr[nb + j] * C;
      const t0 = fLow[r] - m0, t1 = fLow[r + 1] - m1, t2 = fLow[r + 2] - m2;
      f[j] = t0 * t0 + t1 * t1 + t2 * t2; sf += f[j];
    }
    sf = sf / k + 1;
    let wsum = 0;
    for (let j = 0; j < k; j++) { w[j] = 1 / ((1 + d[j] / sd) * (1 + f[j] / sf)); wsum += w[j]; }
    // neighbour-major (contiguous rows), each column still summed in ascending neighbour order
    acc.fill(0);
    for (let j = 0; j < k; j++) {
      const r = nbr[nb + j] * C, wj = w[j];
      for (let c = 0; c < C; c++) acc[c] += wj * fLow[r + c];
    }
    for (let c = 0; c < C; c++) out[o + c] = Math.floor(acc[c] / wsum + 0.5);
  }
  return out;
}
