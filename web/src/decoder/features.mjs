// How feature groups become coded streams (docs/format.md section 2); mirrors splatcast.codec.features.
import { BitstreamFormatError } from "./errors.mjs";

const COMPONENT_CONTEXT_MAJOR = 3; // first major whose rans contexts include the component index
const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/**
 * The rans contexts of a stream of g Gaussians x width components as a pattern, not an array: value (i, t) has
 * context scale * t + part[i] (part: min(mode, 2), or 0 without modes), laid out component-major (t * g + i) or
 * Gaussian-major (i * width + t). The irans kernel evaluates it per value; values() is the array it stands for.
 */
export class ContextPattern {
  constructor(width, g, scale, part, gaussianMajor) {
    Object.assign(this, { width, g, scale, part, gaussianMajor, length: width * g });
  }

  /** The context of every value, in stream order. */
  values() {
    const { width, g, scale, part, gaussianMajor } = this;
    const ctx = new Int32Array(width * g);
    if (gaussianMajor) {
      for (let i = 0, j = 0; i < g; i++) { const m = part[i]; for (let t = 0; t < width; t++) ctx[j++] = scale * t + m; }
    } else {
      for (let t = 0; t < width; t++) {
        const b = scale * t, at = t * g;
        ctx.set(part, at);
        if (b) for (let i = at; i < at + g; i++) ctx[i] += b;
      }
    }
    return ctx;
  }

  /**
   * Values per context (Float64Array [nContexts]) and the first value, in stream order, whose context is outside
   * 0..nContexts-1 ({index, value}, or null): what a scan of values() finds, in O(g + width).
   */
  counts(nContexts) {
    const { width, g, scale, part, gaussianMajor } = this;
    const perPart = new Float64Array(3), firstOf = new Int32Array(3); // Gaussians of each part, the first of them
    for (let i = g - 1; i >= 0; i--) { perPart[part[i]]++; firstOf[part[i]] = i; }
    const counts = new Float64Array(nContexts);
    let bad = null;
    for (let t = 0; t < width; t++) {
      for (let p = 0; p < 3; p++) {
        if (!perPart[p]) continue;
        const c = scale * t + p;
        if (c < nContexts) { counts[c] += perPart[p]; continue; }
        const i = firstOf[p]; // value (i, t) at i * width + t or t * g + i
        const index = gaussianMajor ? i * width + t : t * g + i;
        if (bad === null || index < bad.index) bad = { index, value: c };
      }
    }
    return { counts, bad };
  }
}

/**
 * The rans contexts of a stream of g Gaussians x width components (format.md 2): 3 * t + min(mode, 2), t the
 * value's component (version 3; before it only the mode part, and only where modes are given); null = every
 * value 0.
 */
export function streamContext(major, width, g, modes = null, gaussianMajor = false) {
  if (major < COMPONENT_CONTEXT_MAJOR && !modes) return null;
  if (major >= COMPONENT_CONTEXT_MAJOR && !modes && width === 1) return null;
  const scale = major < COMPONENT_CONTEXT_MAJOR ? 0 : modes ? 3 : 1;
  const part = new Int32Array(g);
  if (modes) for (let i = 0; i < g; i++) part[i] = modes[i] < 2 ? modes[i] : 2;
  return new ContextPattern(width, g, scale, part, gaussianMajor);
}

/** Undo version 3's colour coding in place: each (R, G - R, B - G) triple of columns 3k..3k+2 back to (R, G, B). */
export function colourUndelta(v, g, width, gaussianMajor, where) {
  // value (i, t) sits at i * width + t (Gaussian-major) or t * g + i (component-major)
  const si = gaussianMajor ? width : 1, st = gaussianMajor ? 1 : g;
  for (let i = 0; i < g; i++) {
    for (let k = 0; k + 2 < width; k += 3) {
      const j0 = i * si + k * st, j1 = j0 + st, j2 = j1 + st;
      const a1 = v[j0] + v[j1], a2 = a1 + v[j2];
      if (a1 < INT32_MIN || a1 > INT32_MAX || a2 < INT32_MIN || a2 > INT32_MAX) {
        throw new BitstreamFormatError(`${where}: colour value outside int32 (got ${a1 < INT32_MIN || a1 > INT32_MAX ? a1 : a2})`);
      }
      v[j1] = a1; v[j2] = a2;
    }
  }
}
