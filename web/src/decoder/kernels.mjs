// The decoder's WebAssembly kernels (web/src/kernels/*.ts, built by web/build-kernels.mjs), loaded synchronously
// from the generated module (the decode worker and Node may compile a module of any size synchronously), and a
// bump arena in their memory: each call lays out its arrays from the heap base up, growing the memory when needed
// (the memory is kept for the next call; a decode is one call at a time per worker).
import { LimitError } from "./errors.mjs";
import { KERNELS_WASM } from "./generated/kernels.mjs";

let exports_ = null;
const PAGE = 65536;
// offsets stay below 2^31, so that `at >> 2` indexes the typed views (a payload this large is refused)
const MAX_ARENA = 2 ** 31;
let referenceOnly = false;

/** Whether the decoder runs the JavaScript references instead of the kernels (default false). */
export function usingReference() {
  return referenceOnly;
}

/** Runs the JavaScript reference of every kernel from now on (`on`), or the kernels again: tests compare the two
 * on the same streams, `decode.mjs --reference-kernels` times them. */
export function useReference(on) {
  referenceOnly = Boolean(on);
}

function instance() {
  if (exports_ === null) {
    const bytes = Uint8Array.from(atob(KERNELS_WASM), (c) => c.charCodeAt(0));
    exports_ = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
  }
  return exports_;
}

// Arrays kept in the kernels' memory between calls (a lower layer and its neighbour index, which every chunk of
// the next layer reads): array -> offset, laid out from the heap base up to residentTop; each call's arena starts
// above them. The arrays must not change while they are kept (the decoder's are final once built). When keeping
// more would pass RESIDENT_CAP (or twice what one call keeps), the region starts over.
const resident = new Map();
let residentTop = 0;
const RESIDENT_CAP = 64 * 2 ** 20;

function grow(k, top) {
  if (top > MAX_ARENA) throw new LimitError(`decoder kernels: a call needs ${top} bytes of working memory, more than ${MAX_ARENA}`);
  const need = top - k.memory.buffer.byteLength;
  if (need > 0) {
    try {
      k.memory.grow(Math.ceil(need / PAGE));
    } catch (exc) { // (the engine's memory limit, or no memory left)
      throw new LimitError(`decoder kernels: cannot grow working memory to ${top} bytes (${exc.message})`);
    }
  }
}

/** Lays out arrays in the kernels' memory: keep() places arrays that stay between calls, alloc() hands out 8-byte
 * aligned offsets for this call; ready() grows the memory to hold them all and returns the module's exports with
 * views made after any growth. */
export class Arena {
  constructor() {
    this.k = instance();
    const base = (this.k.heapBase() + 7) & ~7;
    if (!residentTop) residentTop = base;
    this.base = base;
    this.top = residentTop;
  }

  /** Offsets of the typed arrays, copied into the kept region unless already there (call before alloc()). */
  keep(arrays) {
    const size = (a) => Math.ceil(a.byteLength / 8) * 8;
    const missing = arrays.filter((a) => !resident.has(a));
    if (missing.length) {
      const want = arrays.reduce((t, a) => t + size(a), 0);
      const adding = missing.reduce((t, a) => t + size(a), 0);
      if (residentTop - this.base + adding > Math.max(RESIDENT_CAP, 2 * want)) { resident.clear(); residentTop = this.base; }
      const place = resident.size ? missing : arrays;
      let top = residentTop;
      const at = place.map((a) => { const o = top; top += size(a); return o; });
      grow(this.k, top);
      const bytes = new Uint8Array(this.k.memory.buffer);
      place.forEach((a, t) => { bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at[t]); resident.set(a, at[t]); });
      residentTop = top;
    }
    this.top = residentTop;
    return arrays.map((a) => resident.get(a));
  }

  alloc(bytes) {
    const at = this.top;
    this.top += Math.ceil(bytes / 8) * 8; // (not `& ~7`: sizes may pass 2^31, which ready() refuses)
    return at;
  }

  ready() {
    grow(this.k, this.top);
    this.bytes = new Uint8Array(this.k.memory.buffer);
    this.i32 = new Int32Array(this.k.memory.buffer);
    this.f64 = new Float64Array(this.k.memory.buffer);
    return this.k;
  }
}
