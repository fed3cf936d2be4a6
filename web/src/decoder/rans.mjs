// The `rans` back-end (docs/entropy.md): hybrid-uint tokens, static 24-bit categorical models, rANS with a 64-bit
// state in 32-bit words. The state is kept as two uint32 halves in plain Numbers: BigInt is ~20x slower here.
import { BitstreamFormatError, LimitError, TruncatedError } from "./errors.mjs";
import { Arena, usingReference } from "./kernels.mjs";
import { ContextPattern } from "./features.mjs";

const WHERE = "rans payload";
const PRECISION = 24;
const MASK24 = (1 << PRECISION) - 1;
const TWO32 = 4294967296;
const INV32 = 1 / TWO32;
// The state update in two uint32 halves (hi, lo), state = hi * 2^32 + lo < 2^64: with q = state >> 24 (< 2^40, exact
// in a double), the new low half is (q * f + d) mod 2^32, exact with Math.imul on q's low 32 bits; the new high half
// is (q * f + d - lo') / 2^32, an integer: computed in doubles (values < 2^64, three roundings of at most 2^11
// each) it is off by less than 2^13, far below 2^31, so rounding the quotient recovers it exactly. One multiply,
// one imul and one round per symbol, no 64-bit type (BigInt is ~20x slower).
const MAX_CONTEXTS = 1024;

class Reader {
  constructor(data, where = WHERE) { this.data = data; this.pos = 0; this.where = where; }
  get remaining() { return this.data.length - this.pos; }
  u8(field) {
    if (this.pos >= this.data.length) throw new TruncatedError(`${this.where}: ${field} at offset ${this.pos}: data ends`);
    return this.data[this.pos++];
  }
  varint(field, max) {
    const at = this.pos;
    let value = 0, scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8(field);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) {
        if (i > 0 && b === 0) throw new BitstreamFormatError(`${this.where}: ${field} at offset ${at}: varint not minimally encoded`);
        if (value > max) throw new LimitError(`${this.where}: ${field} = ${value} at offset ${at} exceeds ${max}`);
        return value;
      }
    }
    throw new BitstreamFormatError(`${this.where}: ${field} at offset ${at}: varint longer than 10 bytes`);
  }
}

/** Largest token whose value fits W bits (entropy.md "max_token"). */
export function maxToken(k, m, width) {
  const top = 2 ** width - 1;
  if (top < 2 ** k) return top;
  return 2 ** k + ((width - 1 - k) << m) + 2 ** m - 1;
}

function readTable(r, tokenLimit, what) {
  const T = r.varint(`${what} alphabet size`, Math.min(tokenLimit, r.remaining));
  if (T < 2) throw new BitstreamFormatError(`${r.where}: ${what} alphabet size ${T}, expected >= 2`);
  const P = r.u8(`${what} table log`);
  if (P < 1 || P > 20) throw new BitstreamFormatError(`${r.where}: ${what} table log ${P} outside 1..20`);
  const total = 2 ** P;
  const f = new Float64Array(T);
  let sum = 0;
  for (let i = 0; i < T; i++) { f[i] = r.varint(`${what} f[${i}]`, total); sum += f[i]; }
  if (sum !== total) throw new BitstreamFormatError(`${r.where}: ${what} frequencies sum to ${sum}, expected ${total}`);
  // 24-bit model: every token gets >= 1, the remainder goes to the first most frequent token
  const free = 2 ** PRECISION - T;
  const F = new Uint32Array(T);
  let qsum = 0, a = 0;
  for (let i = 0; i < T; i++) {
    const q = Math.floor((f[i] * free) / total);
    F[i] = q; qsum += q;
    if (f[i] > f[a]) a = i;
  }
  F[a] += free - qsum;
  const L = new Uint32Array(T + 1);
  for (let i = 0; i < T; i++) { F[i] += 1; L[i + 1] = L[i] + F[i]; }
  return { T, F, L };
}

/**
 * Symbol lookup for one model: slot[b] is the symbol holding quantile b << shift, so the symbol of x lies in
 * slot[x >> shift] .. slot[(x >> shift) + 1] (a binary search over that range, usually empty). The table is sized
 * to the values the model decodes, so building it never costs more than decoding with it.
 */
function slotTable(L, T, values) {
  let bits = 4;
  while (bits < 12 && 2 ** (bits + 2) < values) bits++;
  const shift = PRECISION - bits, n = 1 << bits;
  const slot = new Uint32Array(n + 1);
  let s = 0;
  for (let b = 0; b < n; b++) {
    const q = b << shift;
    while (L[s + 1] <= q) s++;
    slot[b] = s;
  }
  slot[n] = T - 1;
  return { slot, shift };
}
/** The fields `rans` and `irans` share (entropy.md "Payload layout"): k, m, N, contexts and tables. */
function readHeader(r, count, width, where) {
  const k = r.u8("split_exponent"), m = r.u8("msb_in_token");
  if (k > 16 || m > Math.min(k, 8)) throw new BitstreamFormatError(`${where}: split_exponent=${k}, msb_in_token=${m}; expected k <= 16, m <= min(k, 8)`);
  const tokenLimit = maxToken(k, m, width) + 1;
  const coded = r.varint("value_count", Number.MAX_SAFE_INTEGER);
  if (coded !== count) throw new BitstreamFormatError(`${where}: value_count = ${coded} at offset 2, the container expects ${count}`);
  const nContexts = r.varint("context_count", MAX_CONTEXTS);
  if (nContexts < 1) throw new BitstreamFormatError(`${where}: context_count = 0, expected >= 1`);
  const nModels = r.varint("model_count", nContexts);
  if (nModels < 1) throw new BitstreamFormatError(`${where}: model_count = 0, expected >= 1`);
  const modelOf = new Int32Array(nContexts);
  for (let c = 0; c < nContexts; c++) modelOf[c] = r.varint(`model_of[${c}]`, nModels - 1);
  const tables = [];
  for (let j = 0; j < nModels; j++) tables.push(readTable(r, tokenLimit, `model[${j}]`));
  return { k, m, modelOf, tables };
}

/** Model index of every value (null context: all use model_of[0]) and the number of values per model. */
function valueModels(context, count, modelOf, nModels, where) {
  if (context instanceof ContextPattern) context = context.values();
  const sizes = new Float64Array(nModels);
  if (context === null) { sizes[modelOf[0]] = count; return { valueModel: null, sizes }; }
  const nContexts = modelOf.length;
  const valueModel = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    const c = context[i];
    if (c < 0 || c >= nContexts) throw new BitstreamFormatError(`${where}: context value ${c} at ${i}, payload models 0..${nContexts - 1}`);
    valueModel[i] = modelOf[c];
    sizes[valueModel[i]]++;
  }
  return { valueModel, sizes };
}

/**
 * Payload -> Int32Array of `count` values.
 * @param {Uint8Array} data @param {number} count @param {number} width bits of the signed element type
 * @param {Int32Array|null} context per-value context (null: all 0)
 */
export function decodeRans(data, count, width, context) {
  const r = new Reader(data, WHERE);
  const { k, m, modelOf, tables } = readHeader(r, count, width, WHERE);
  const nModels = tables.length;
  const nWords = r.varint("ans_word_count", Math.floor(r.remaining / 4));
  const wv = new DataView(data.buffer, data.byteOffset + r.pos, 4 * nWords);
  r.pos += 4 * nWords;
  if (nWords && wv.getUint32(4 * (nWords - 1), true) === 0) throw new BitstreamFormatError(`${WHERE}: last ANS word is zero (the coder's final state never ends in 0)`);
  const raw = data.subarray(r.pos);

  // which model each value uses, and the size of each model's sub-stream
  const { valueModel, sizes } = valueModels(context, count, modelOf, nModels, WHERE);
  // rANS: sub-streams in model order, each in stream order
  let sp = nWords, hi = 0, lo = 0;
  if (sp >= 1) lo = wv.getUint32(4 * --sp, true);
  if (sp >= 1) { hi = lo; lo = wv.getUint32(4 * --sp, true); }
  const grouped = new Int32Array(count);
  let g = 0;
  for (let j = 0; j < nModels; j++) {
    const { T, F, L } = tables[j];
    if (sizes[j] === 0) continue;
    const { slot, shift } = slotTable(L, T, sizes[j]);
    for (let n = sizes[j]; n > 0; n--) {
      const x = lo & MASK24;
      const slotAt = x >>> shift;
      let s = slot[slotAt], top = slot[slotAt + 1];
      while (s < top) {  // the s with L[s] <= x < L[s + 1]
        const mid = (s + top + 1) >>> 1;
        if (L[mid] <= x) s = mid; else top = mid - 1;
      }
      grouped[g++] = s;
      // state = (state >> 24) * F[s] + (x - L[s]) in two halves (the note at INV32)
      const q = hi * 256 + (lo >>> 24), f = F[s], d = x - L[s];
      lo = (Math.imul((hi << 8) | (lo >>> 24), f) + d) >>> 0;
      hi = Math.round((q * f - lo + d) * INV32);
      if (hi === 0 && sp > 0) { hi = lo; lo = wv.getUint32(4 * --sp, true); }
    }
  }
  if (hi !== 0 || lo !== 0 || sp !== 0) throw new BitstreamFormatError(`${WHERE}: ANS stream does not end empty after ${count} symbols (corrupt)`);

  // tokens back in stream order
  let tokens = grouped;
  if (valueModel !== null && nModels > 1) {
    const starts = new Float64Array(nModels);
    for (let j = 1; j < nModels; j++) starts[j] = starts[j - 1] + sizes[j - 1];
    tokens = new Int32Array(count);
    for (let i = 0; i < count; i++) tokens[i] = grouped[starts[valueModel[i]]++];
  }
  return finishValues(tokens, k, m, raw, count, WHERE);
}

const IWHERE = "irans payload";
export const LANE_COUNTS = [1, 2, 4, 8];

/**
 * The `irans` payload (entropy.md "irans"): `rans`'s header, tables and raw bits, the tokens coded in stream order,
 * value i by lane i mod Lanes. Lanes decode in turn, so consecutive symbols have independent dependency chains.
 * The symbol loop runs in WebAssembly (web/src/kernels/irans.ts: a native 64-bit state); `reference` runs the
 * same steps in JavaScript (the definition the kernel is tested against). Same values, same errors.
 * @param {Uint8Array} data @param {number} count @param {number} width @param {Int32Array|null} context
 * @param {{reference?: boolean}} [options]
 */
export function decodeIrans(data, count, width, context, { reference = usingReference() } = {}) {
  const r = new Reader(data, IWHERE);
  const { k, m, modelOf, tables } = readHeader(r, count, width, IWHERE);
  const nModels = tables.length;
  const lanes = r.u8("lane_count");
  if (!LANE_COUNTS.includes(lanes)) throw new BitstreamFormatError(`${IWHERE}: lane_count = ${lanes}, expected one of 1, 2, 4, 8`);
  const budget = Math.floor(r.remaining / 4);
  const laneWords = new Float64Array(lanes);
  let total = 0;
  for (let l = 0; l < lanes; l++) { laneWords[l] = r.varint(`word_count[${l}]`, budget); total += laneWords[l]; }
  if (4 * total > r.remaining) throw new BitstreamFormatError(`${IWHERE}: the lanes hold ${total} words, ${r.remaining} bytes remain`);
  const wordsAt = r.pos;
  const wv = new DataView(data.buffer, data.byteOffset + r.pos, 4 * total);
  r.pos += 4 * total;
  const raw = data.subarray(r.pos);
  const arena = reference ? null : new Arena();
  const { valueModel, sizes, at: contextAt, pattern = null } = reference ? valueModels(context, count, modelOf, nModels, IWHERE)
    : modelCountsWasm(arena, context, count, modelOf, nModels, IWHERE);

  // every model's cumulative table L (T + 1 entries, int32: < 2^24 + 1) and a lookup table of about 4T entries
  // (as the Python decoder's compact_luts), no larger than the values the model decodes: lut[e] is the symbol
  // holding quantile e << shift, so the symbol of x is a short forward scan from lut[x >> shift]
  let nL = 0, nS = 0;
  const bitsOf = new Int32Array(nModels);
  for (let j = 0; j < nModels; j++) {
    let bits = 4;
    while (bits < 12 && 2 ** (bits - 2) < tables[j].T && 2 ** (bits + 2) < sizes[j]) bits++;
    bitsOf[j] = bits; nL += tables[j].T + 1; nS += 1 << bits;
  }
  const Lf = new Int32Array(nL), lut = new Int32Array(nS), meta = new Int32Array(3 * nModels);
  for (let j = 0, a = 0, c = 0; j < nModels; j++) {
    const { L, T } = tables[j], n = 1 << bitsOf[j], shift = PRECISION - bitsOf[j];
    Lf.set(L, a);
    for (let e = 0, s = 0; e < n; e++) {  // (as an index into Lf)
      const q = e << shift;
      while (L[s + 1] <= q) s++;
      lut[c + e] = a + s;
    }
    meta[3 * j] = c; meta[3 * j + 1] = shift; meta[3 * j + 2] = a;
    a += T + 1; c += n;
  }
  const hi = new Float64Array(lanes), lo = new Float64Array(lanes), sp = new Int32Array(lanes), spBase = new Int32Array(lanes);
  for (let l = 0, at = 0; l < lanes; l++) {
    let p = at + laneWords[l];
    spBase[l] = at;
    if (laneWords[l] && wv.getUint32(4 * (p - 1), true) === 0) throw new BitstreamFormatError(`${IWHERE}: lane ${l}'s last word is zero (a final state never ends in 0)`);
    if (p > at) lo[l] = wv.getUint32(4 * --p, true);
    if (p > at) { hi[l] = lo[l]; lo[l] = wv.getUint32(4 * --p, true); }
    sp[l] = p;
    at += laneWords[l];
  }
  if (!reference) {
    const words = data.subarray(wordsAt, wordsAt + 4 * total);
    return iransWasm(arena, { count, lanes, words, laneWords, Lf, lut, meta, contextAt, pattern, modelOf, raw, k, m });
  }
  const out = new Int32Array(count);
  const values = new TokenValues(raw, k, m, IWHERE);
  const words = new Uint32Array(total);
  for (let t = 0; t < total; t++) words[t] = wv.getUint32(4 * t, true);
  // tokens come in stream order, so each value is finished (raw bits, zigzag) as soon as its token is decoded
  const mask = lanes - 1, j0 = modelOf[0];
  for (let i = 0; i < count; i++) {
    const l = i & mask;
    const j = valueModel === null ? j0 : valueModel[i];
    let h = hi[l], w = lo[l];
    const x = w & MASK24;
    let a = lut[meta[3 * j] + (x >>> meta[3 * j + 1])];
    let next = Lf[a + 1];
    while (next <= x) next = Lf[++a + 1];
    const base = Lf[a];
    out[i] = values.value(a - meta[3 * j + 2]);
    const q = h * 256 + (w >>> 24), f = next - base, d = x - base;
    w = (Math.imul((h << 8) | (w >>> 24), f) + d) >>> 0;
    h = Math.round((q * f - w + d) * INV32);
    if (h === 0 && sp[l] > spBase[l]) { h = w; w = words[--sp[l]]; }
    hi[l] = h; lo[l] = w;
  }
  for (let l = 0; l < lanes; l++) {
    if (hi[l] !== 0 || lo[l] !== 0 || sp[l] !== spBase[l]) throw new BitstreamFormatError(`${IWHERE}: ANS lanes do not end empty after ${count} symbols (corrupt)`);
  }
  values.finish();
  return out;
}

/** Model counts by the kernel (the contexts copied into the arena once, for the decode that follows). */
function modelCountsWasm(arena, context, count, modelOf, nModels, where) {
  const sizes = new Float64Array(nModels);
  if (context === null || count === 0) {
    sizes[modelOf[0]] = count;
    return { valueModel: null, sizes, at: -1 };
  }
  if (context instanceof ContextPattern) { // counted from the pattern; its mode parts go to the kernel
    const { counts, bad } = context.counts(modelOf.length);
    if (bad) throw new BitstreamFormatError(`${where}: context value ${bad.value} at ${bad.index}, payload models 0..${modelOf.length - 1}`);
    for (let c = 0; c < counts.length; c++) sizes[modelOf[c]] += counts[c];
    if (context.length !== count) throw new RangeError(`a context pattern of ${context.length} values for ${count}`);
    const at = arena.alloc(4 * context.g);
    arena.ready();
    arena.i32.set(context.part, at >> 2);
    return { valueModel: null, sizes, at, pattern: context };
  }
  const at = arena.alloc(4 * count), mAt = arena.alloc(4 * modelOf.length), sAt = arena.alloc(8 * nModels);
  const kernels = arena.ready();
  arena.i32.set(context, at >> 2);
  arena.i32.set(modelOf, mAt >> 2);
  arena.f64.fill(0, sAt >> 3, (sAt >> 3) + nModels);
  const bad = kernels.modelCounts(count, at, mAt, modelOf.length, sAt);
  if (bad >= 0) throw new BitstreamFormatError(`${where}: context value ${context[bad]} at ${bad}, payload models 0..${modelOf.length - 1}`);
  sizes.set(arena.f64.subarray(sAt >> 3, (sAt >> 3) + nModels));
  return { valueModel: null, sizes, at };
}

/** The symbol loop of decodeIrans in the kernel (web/src/kernels/irans.ts), from the tables decodeIrans built. */
function iransWasm(arena, { count, lanes, words, laneWords, Lf, lut, meta, contextAt, pattern, modelOf, raw, k, m }) {
  const wAt = arena.alloc(words.length), bAt = arena.alloc(4 * lanes), tAt = arena.alloc(4 * lanes);
  const lfAt = arena.alloc(4 * Lf.length), lutAt = arena.alloc(4 * lut.length), metaAt = arena.alloc(4 * meta.length);
  const mAt = arena.alloc(4 * modelOf.length), rawAt = arena.alloc(raw.length + 8), outAt = arena.alloc(4 * count);
  const scratchAt = arena.alloc(16 * lanes), statusAt = arena.alloc(16);
  const kernels = arena.ready();
  const { bytes, i32 } = arena;
  bytes.set(words, wAt);
  for (let l = 0, at = 0; l < lanes; l++) {
    i32[(bAt >> 2) + l] = at;
    at += laneWords[l];
    i32[(tAt >> 2) + l] = at;
  }
  i32.set(Lf, lfAt >> 2);
  i32.set(lut, lutAt >> 2);
  i32.set(meta, metaAt >> 2);
  i32.set(modelOf, mAt >> 2);
  bytes.set(raw, rawAt);
  bytes.fill(0, rawAt + raw.length, rawAt + raw.length + 8);
  // context: none (0), an array (1), or a pattern (2: its mode parts at contextAt)
  const how = contextAt < 0 ? 0 : pattern ? 2 : 1;
  const rc = kernels.decodeIrans(count, lanes, wAt, bAt, tAt, lfAt, lutAt, metaAt, Math.max(contextAt, 0), how,
    pattern ? pattern.width : 0, pattern ? pattern.g : 0, pattern ? pattern.scale : 0, pattern && pattern.gaussianMajor ? 1 : 0,
    mAt, rawAt, raw.length, k, m, outAt, scratchAt, statusAt);
  if (rc === 1) throw new TruncatedError(`${IWHERE}: raw-bit section (${raw.length} bytes) ends before the last escaped value`);
  if (rc === 2) throw new BitstreamFormatError(`${IWHERE}: ANS lanes do not end empty after ${count} symbols (corrupt)`);
  checkRawEnd((i32[statusAt >> 2] >>> 0) + i32[(statusAt >> 2) + 1] * TWO32, raw, IWHERE); // the i64 bits read
  return i32.slice(outAt >> 2, (outAt >> 2) + count);
}

/** Every raw bit used (`bit` of them), padding zero. */
function checkRawEnd(bit, raw, where) {
  if (Math.ceil(bit / 8) !== raw.length) throw new BitstreamFormatError(`${where}: raw-bit section is ${raw.length} bytes, the tokens need ${Math.ceil(bit / 8)}`);
  if ((bit % 8) && (raw[raw.length - 1] >> (bit % 8))) throw new BitstreamFormatError(`${where}: nonzero padding bits after the last raw bit`);
}

/**
 * The nb raw bits (LSB first) starting at bit `bit` of `bytes`, which carries 4 zero bytes of slack past the raw
 * section so that a read of <= 24 bits loads one 32-bit window without bounds checks; longer reads take up to 8
 * bits per step from the current byte (values < 2^32, exact in a double).
 */
function rawBits(bytes, bit, nb) {
  if (nb <= 24) {
    const at = bit >> 3;
    const window = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
    return (window >>> (bit & 7)) & ((1 << nb) - 1);
  }
  let bits = 0;
  for (let done = 0, scale = 1; done < nb;) {
    const byte = bytes[bit >> 3], off = bit & 7, take = Math.min(8 - off, nb - done);
    bits += ((byte >> off) & ((1 << take) - 1)) * scale;
    scale *= 2 ** take; done += take; bit += take;
  }
  return bits;
}

/** Tokens in stream order + the raw-bit section -> values. */
function finishValues(tokens, k, m, raw, count, where) {
  const out = new Int32Array(count);
  const values = new TokenValues(raw, k, m, where);
  for (let i = 0; i < count; i++) out[i] = values.value(tokens[i]);
  values.finish();
  return out;
}

/** Hybrid-uint tokens -> signed values (entropy.md): escaped tokens take their low bits from the raw-bit section,
 * in stream order, LSB first; then zigzag. */
class TokenValues {
  constructor(raw, k, m, where) {
    this.raw = raw; this.k = k; this.m = m; this.where = where;
    this.split = 2 ** k; this.mant = 2 ** m; this.totalBits = raw.length * 8;
    this.bytes = new Uint8Array(raw.length + 4); // 4 zero bytes of slack (rawBits)
    this.bytes.set(raw);
    this.bit = 0;
  }

  value(t) {
    let u = t;
    if (t >= this.split) {
      const rr = t - this.split, nb = this.k + (rr >> this.m) - this.m;
      if (this.bit + nb > this.totalBits) throw new TruncatedError(`${this.where}: raw-bit section (${this.raw.length} bytes) ends before the last escaped value`);
      u = (this.mant + (rr & (this.mant - 1))) * 2 ** nb + rawBits(this.bytes, this.bit, nb); // < 2^32
      this.bit += nb;
    }
    return (u >>> 1) ^ -(u & 1); // zigzag, in int32
  }

  /** Every raw bit used, padding zero. */
  finish() {
    checkRawEnd(this.bit, this.raw, this.where);
  }
}
