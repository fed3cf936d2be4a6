// AssemblyScript, compiled to WebAssembly by web/build-kernels.mjs: the symbol loop of the `irans` back-end
// (docs/entropy.md "irans"), the same steps as decodeIrans in web/src/decoder/rans.mjs, which stays the reference.
// WebAssembly has a native 64-bit integer, so the rANS state needs no two-half arithmetic.
//
// Every array is a byte offset into this module's memory, laid out by web/src/decoder/kernels.mjs above
// __heap_base; the caller parses and checks the header and tables, this loop checks what only decoding can find.

const PRECISION: u64 = 24;
const MASK24: u64 = (1 << 24) - 1;

/** First byte the caller may use. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Values per model for `count` contexts (i32) through modelOf (i32, nContexts entries) into sizes (f64 per model,
 * zeroed by the caller); returns the index of the first context outside 0..nContexts-1, or -1. The decoder sizes
 * each model's lookup table by its count and must refuse a bad context before decoding, as the reference does.
 */
export function modelCounts(count: i32, context: usize, modelOf: usize, nContexts: i32, sizes: usize): i32 {
  for (let i = 0; i < count; i++) {
    const c = load<i32>(context + (<usize>i << 2));
    if (<u32>c >= <u32>nContexts) return i;
    const at = sizes + (<usize>load<i32>(modelOf + (<usize>c << 2)) << 3);
    store<f64>(at, load<f64>(at) + 1);
  }
  return -1;
}

// return codes (the caller turns them into the reference's errors)
const OK = 0;
const RAW_ENDS = 1; // the raw-bit section ends before an escaped value's bits: the value's index at status + 8
const NOT_EMPTY = 2; // a lane's state is not 0 or its words are not all read after `count` symbols

/**
 * Decodes `count` values into out (i32). words: the lanes' u32 words (lane l: laneBase[l] .. laneTop[l], i32
 * arrays); lf: every model's cumulative table (u32); lut / meta: the lookup tables and (lut start, shift, lf start)
 * per model (i32, as rans.mjs builds them); context by hasContext: 0 every value uses modelOf[0]; 1 an i32 per
 * value (checked by modelCounts); 2 a pattern (features.mjs ContextPattern, checked by the caller): value (i, t) of
 * g Gaussians x width components, at t * g + i (gm 0) or i * width + t (gm 1), has context scale * t + part[i],
 * part (i32 [g]) at `context`; raw: the raw-bit section (rawBytes long) with 8 zero bytes of slack after it;
 * scratch: 16 bytes per lane; status: 16 bytes (i64 raw bits read, then the i32 index of a failing value).
 */
export function decodeIrans(count: i32, lanes: i32, words: usize, laneBase: usize, laneTop: usize, lf: usize,
  lut: usize, meta: usize, context: usize, hasContext: i32, width: i32, g: i32, scale: i32, gm: i32, modelOf: usize,
  raw: usize,
  rawBytes: i32, k: i32, m: i32, out: usize, scratch: usize, status: usize): i32 {
  // lane l: state (u64) at scratch + 16 l, its next word index + 1 (i32) at + 8, its first word index at + 12
  for (let l = 0; l < lanes; l++) {
    const at = load<i32>(laneBase + (<usize>l << 2));
    let p = load<i32>(laneTop + (<usize>l << 2));
    let s: u64 = 0;
    if (p > at) s = <u64>load<u32>(words + (<usize>--p << 2));
    if (p > at) s = (s << 32) | <u64>load<u32>(words + (<usize>--p << 2));
    const lane = scratch + (<usize>l << 4);
    store<u64>(lane, s);
    store<i32>(lane + 8, p);
    store<i32>(lane + 12, at);
  }
  const split = 1 << k;
  const mant = 1 << m;
  const laneMask = lanes - 1;
  let j = load<i32>(modelOf);
  const rawBits = <i64>rawBytes << 3;
  let bit: i64 = 0;
  let pi = 0, pt = 0; // a pattern's (Gaussian, component) of value i
  for (let i = 0; i < count; i++) {
    if (hasContext == 1) j = load<i32>(modelOf + (<usize>load<i32>(context + (<usize>i << 2)) << 2));
    else if (hasContext == 2) {
      j = load<i32>(modelOf + (<usize>(scale * pt + load<i32>(context + (<usize>pi << 2))) << 2));
      if (gm) { if (++pt == width) { pt = 0; pi++; } } else if (++pi == g) { pi = 0; pt++; }
    }
    const lane = scratch + (<usize>(i & laneMask) << 4);
    let s = load<u64>(lane);
    const x = <u32>(s & MASK24);
    const mj = meta + <usize>j * 12;
    let a = load<i32>(lut + (<usize>(load<i32>(mj) + <i32>(x >>> <u32>load<i32>(mj + 4))) << 2));
    let next = load<u32>(lf + (<usize>(a + 1) << 2));
    while (next <= x) {
      a++;
      next = load<u32>(lf + (<usize>(a + 1) << 2));
    }
    const low = load<u32>(lf + (<usize>a << 2));
    const t = a - load<i32>(mj + 8);
    let u: u64 = <u64>t;
    if (t >= split) { // escaped: the token's exponent and high bits, then nb raw bits, LSB first (nb <= 31)
      const r = t - split;
      const nb = k + (r >> m) - m;
      if (bit + nb > rawBits) {
        store<i32>(status + 8, i);
        return RAW_ENDS;
      }
      const window = load<u64>(raw + <usize>(bit >> 3)) >> <u64>(bit & 7);
      u = (<u64>(mant + (r & (mant - 1))) << <u64>nb) | (window & ((<u64>1 << <u64>nb) - 1));
      bit += nb;
    }
    store<i32>(out + (<usize>i << 2), <i32>(u >> 1) ^ -<i32>(u & 1)); // zigzag
    s = (s >> PRECISION) * <u64>(next - low) + <u64>(x - low);
    if (s >> 32 == 0) {
      const p = load<i32>(lane + 8);
      if (p > load<i32>(lane + 12)) {
        s = (s << 32) | <u64>load<u32>(words + (<usize>(p - 1) << 2));
        store<i32>(lane + 8, p - 1);
      }
    }
    store<u64>(lane, s);
  }
  store<i64>(status, bit);
  for (let l = 0; l < lanes; l++) {
    const lane = scratch + (<usize>l << 4);
    if (load<u64>(lane) != 0 || load<i32>(lane + 8) != load<i32>(lane + 12)) return NOT_EMPTY;
  }
  return OK;
}
