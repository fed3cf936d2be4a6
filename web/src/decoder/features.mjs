// How feature groups become coded streams (docs/format.md section 2); mirrors splatcast.codec.features.
import { BitstreamFormatError } from "./errors.mjs";

const COMPONENT_CONTEXT_MAJOR = 3; // first major whose rans contexts include the component index
const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/**
 * The rans context of each value of a stream of g Gaussians x width components: 3 * t + min(mode, 2), t the value's
 * component (version 3; before it only the mode part, and only where modes are given); null = every value 0.
 */
export function streamContext(major, width, g, modes = null, gaussianMajor = false) {
  if (major < COMPONENT_CONTEXT_MAJOR && !modes) return null;
  if (major >= COMPONENT_CONTEXT_MAJOR && !modes && width === 1) return null;
  const scale = major < COMPONENT_CONTEXT_MAJOR ? 0 : modes ? 3 : 1;
  const ctx = new Int32Array(width * g);
  const mm = new Int32Array(g); // each Gaussian's mode part
  if (modes) for (let i = 0; i < g; i++) mm[i] = modes[i] < 2 ? modes[i] : 2;
  if (gaussianMajor) { // value (i, t) at i * width + t
    for (let i = 0, j = 0; i < g; i++) { const m = mm[i]; for (let t = 0; t < width; t++) ctx[j++] = scale * t + m; }
  } else { // at t * g + i: the mode parts, offset by the component's part
    for (let t = 0; t < width; t++) {
      const b = scale * t, at = t * g;
      ctx.set(mm, at);
      if (b) for (let i = at; i < at + g; i++) ctx[i] += b;
    }
  }
  return ctx;
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
