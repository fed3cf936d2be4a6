// Decoded cloud (splatcast's raw parameters) -> Spark's PackedSplats words, in the worker.
//
// Layout (Spark 2.2 PackedSplats, 16 bytes per splat): word0 = rgba8 (rgb over [rgbMin, rgbMax], alpha = opacity),
// word1 = center x|y as float16, word2 = center z float16 | quat octahedral u8 u8, word3 = ln-scale u8 x3 (over
// [lnScaleMin, lnScaleMax], 0 = zero scale) | quat angle u8. This mirrors Spark's setPackedSplat /
// encodeQuatOctXy88R8 / encodeSh{1,2,3}Rgb, but takes the ranges from the data so that no value is clipped
// (splatEncoding tells the shaders the ranges). Half floats round to nearest (Spark's JS fallback truncates).
export const SH_C0 = 0.28209479177387814;
const SPLAT_TEX_WIDTH = 2048;
const SPLAT_TEX_HEIGHT = 2048;
const LN_SCALE_ZERO = -30;

/** Spark's getTextureSize(n).maxSplats: the capacity a PackedSplats texture of n splats has. */
export function textureCapacity(numSplats) {
  const height = Math.max(1, Math.min(SPLAT_TEX_HEIGHT, Math.ceil(numSplats / SPLAT_TEX_WIDTH)));
  const depth = Math.max(1, Math.ceil(numSplats / (SPLAT_TEX_WIDTH * height)));
  return SPLAT_TEX_WIDTH * height * depth;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function toHalf(v) {
  f32[0] = v;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (exp === 0xff) return sign | (frac ? 0x7fff : 0x7c00);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = frac | 0x800000;
    const shift = 14 - e;
    return sign | ((m + (1 << (shift - 1))) >> shift);
  }
  const h = (e << 10) | (frac >> 13);
  return sign | Math.min(0x7bff, h + ((frac >> 12) & 1)); // carry into the exponent is correct rounding
}

const u8 = (v) => Math.max(0, Math.min(255, Math.round(v * 255)));

/** Spark's encodeQuatOctXy88R8 for a (w, x, y, z) quaternion: octahedral axis u, v (8 bits each) | angle << 16. */
function encodeQuat(w, x, y, z) {
  let n = Math.hypot(w, x, y, z);
  if (!(n > 0)) {
    w = 1;
    x = y = z = 0;
    n = 1;
  }
  w /= n;
  x /= n;
  y /= n;
  z /= n;
  if (w < 0) {
    w = -w;
    x = -x;
    y = -y;
    z = -z;
  }
  const theta = 2 * Math.acos(Math.min(1, w));
  const xyz = Math.hypot(x, y, z);
  let ax = 1;
  let ay = 0;
  let az = 0;
  if (xyz >= 1e-6) {
    ax = x / xyz;
    ay = y / xyz;
    az = z / xyz;
  }
  const sum = Math.abs(ax) + Math.abs(ay) + Math.abs(az);
  let px = ax / sum;
  let py = ay / sum;
  if (az < 0) {
    const t = px;
    px = (1 - Math.abs(py)) * (px >= 0 ? 1 : -1);
    py = (1 - Math.abs(t)) * (py >= 0 ? 1 : -1);
  }
  const qu = Math.round((px * 0.5 + 0.5) * 255);
  const qv = Math.round((py * 0.5 + 0.5) * 255);
  const angle = Math.round(theta * (255 / Math.PI));
  return (angle << 16) | (qv << 8) | qu;
}

function packSint8(a, b, c, d) {
  const q = (v) => Math.round(Math.max(-127, Math.min(127, v * 127))) & 255;
  return (q(a) | (q(b) << 8) | (q(c) << 16) | (q(d) << 24)) >>> 0;
}

function packBits(out, base, values, count, bits, scale) {
  const lim = (1 << (bits - 1)) - 1;
  const mask = (1 << bits) - 1;
  for (let i = 0; i < count; i++) {
    const v = Math.round(Math.max(-lim, Math.min(lim, values[i] * scale))) & mask;
    const bitStart = i * bits;
    const word = bitStart >> 5;
    const off = bitStart & 31;
    out[base + word] |= (v << off) >>> 0;
    if (off + bits > 32) out[base + word + 1] |= v >>> (32 - off);
  }
}

/**
 * Pack a decoder cloud ({count, shDegree, positions, scalesLog, quats (w,x,y,z), opacityLogit, shDc, shRest}).
 * Colour = 0.5 + SH_C0 dc; opacity = sigmoid(logit); scales stay logarithmic (Spark stores ln-scales).
 * Returns {numSplats, packedArray, sh1, sh2, sh3 (Uint32Array or null), splatEncoding, shDegree}; the arrays are
 * sized to Spark's texture capacity so that PackedSplats uses them without copying.
 */
export function packCloud(cloud, maxShDegree = 3) {
  const n = cloud.count;
  const cap = textureCapacity(Math.max(n, 1));
  const { positions: P, scalesLog: S, quats: Q, opacityLogit: O, shDc: D } = cloud;
  let rgbMin = 0;
  let rgbMax = 1;
  let lnMin = Infinity;
  let lnMax = -Infinity;
  for (let i = 0; i < 3 * n; i++) {
    const c = 0.5 + SH_C0 * D[i];
    if (c < rgbMin) rgbMin = c;
    if (c > rgbMax) rgbMax = c;
    const s = S[i];
    if (s > LN_SCALE_ZERO && s < lnMin) lnMin = s;
    if (s > lnMax) lnMax = s;
  }
  if (!(lnMin < lnMax)) {
    lnMin = (Number.isFinite(lnMin) ? lnMin : -12) - 1;
    lnMax = lnMin + 2;
  }
  const rgbRange = rgbMax - rgbMin;
  const lnScale = 254 / (lnMax - lnMin);
  const packed = new Uint32Array(cap * 4);
  const scaleByte = (s) => (s <= LN_SCALE_ZERO ? 0 : Math.min(255, Math.max(1, Math.round((s - lnMin) * lnScale) + 1)));
  for (let i = 0; i < n; i++) {
    const i3 = 3 * i;
    const r = u8((0.5 + SH_C0 * D[i3] - rgbMin) / rgbRange);
    const g = u8((0.5 + SH_C0 * D[i3 + 1] - rgbMin) / rgbRange);
    const b = u8((0.5 + SH_C0 * D[i3 + 2] - rgbMin) / rgbRange);
    const a = u8(1 / (1 + Math.exp(-O[i])));
    const quat = encodeQuat(Q[4 * i], Q[4 * i + 1], Q[4 * i + 2], Q[4 * i + 3]);
    const i4 = 4 * i;
    packed[i4] = (r | (g << 8) | (b << 16) | (a << 24)) >>> 0;
    packed[i4 + 1] = (toHalf(P[i3]) | (toHalf(P[i3 + 1]) << 16)) >>> 0;
    packed[i4 + 2] = (toHalf(P[i3 + 2]) | ((quat & 255) << 16) | (((quat >>> 8) & 255) << 24)) >>> 0;
    packed[i4 + 3] =
      (scaleByte(S[i3]) | (scaleByte(S[i3 + 1]) << 8) | (scaleByte(S[i3 + 2]) << 16) | (((quat >>> 16) & 255) << 24)) >>> 0;
  }
  const splatEncoding = { rgbMin, rgbMax, lnScaleMin: lnMin, lnScaleMax: lnMax, sh1Max: 1, sh2Max: 1, sh3Max: 1 };
  const degree = Math.min(cloud.shDegree | 0, maxShDegree);
  let sh1 = null;
  let sh2 = null;
  let sh3 = null;
  if (degree >= 1 && cloud.shRest && n > 0) {
    const K = (cloud.shDegree + 1) ** 2 - 1; // rest coefficients per channel
    const R = cloud.shRest;
    // at(i, ch, k): coefficient k of channel ch of Gaussian i (the decoder's shRest is [N][K][3], as GaussianCloud)
    const at = (i, ch, k) => R[i * 3 * K + 3 * k + ch];
    const maxAbs = [0, 0, 0];
    const band = (k) => (k < 3 ? 0 : k < 8 ? 1 : 2);
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < 3; ch++) {
        for (let k = 0; k < Math.min(K, degree === 1 ? 3 : degree === 2 ? 8 : 15); k++) {
          const v = Math.abs(at(i, ch, k));
          const bnd = band(k);
          if (v > maxAbs[bnd]) maxAbs[bnd] = v;
        }
      }
    }
    splatEncoding.sh1Max = maxAbs[0] || 1;
    splatEncoding.sh2Max = maxAbs[1] || 1;
    splatEncoding.sh3Max = maxAbs[2] || 1;
    sh1 = new Uint32Array(cap * 2);
    if (degree >= 2) sh2 = new Uint32Array(cap * 4);
    if (degree >= 3) sh3 = new Uint32Array(cap * 4);
    const tmp = new Float64Array(21);
    for (let i = 0; i < n; i++) {
      // band 1: coefficients 0..2, rgb interleaved per coefficient (Spark's order)
      for (let k = 0; k < 3; k++) for (let ch = 0; ch < 3; ch++) tmp[3 * k + ch] = at(i, ch, k);
      packBits(sh1, 2 * i, tmp, 9, 7, 63 / splatEncoding.sh1Max);
      if (sh2) {
        for (let k = 0; k < 5; k++) for (let ch = 0; ch < 3; ch++) tmp[3 * k + ch] = at(i, ch, 3 + k) / splatEncoding.sh2Max;
        sh2[4 * i] = packSint8(tmp[0], tmp[1], tmp[2], tmp[3]);
        sh2[4 * i + 1] = packSint8(tmp[4], tmp[5], tmp[6], tmp[7]);
        sh2[4 * i + 2] = packSint8(tmp[8], tmp[9], tmp[10], tmp[11]);
        sh2[4 * i + 3] = packSint8(tmp[12], tmp[13], tmp[14], 0);
      }
      if (sh3) {
        for (let k = 0; k < 7; k++) for (let ch = 0; ch < 3; ch++) tmp[3 * k + ch] = at(i, ch, 8 + k);
        packBits(sh3, 4 * i, tmp, 21, 6, 31 / splatEncoding.sh3Max);
      }
    }
  }
  return { numSplats: n, packedArray: packed, sh1, sh2, sh3, splatEncoding, shDegree: degree };
}
