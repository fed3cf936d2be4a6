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

/** Lays out arrays in the kernels' memory: alloc() hands out 8-byte aligned offsets; ready() grows the memory to
 * hold them all and returns the module's exports with views made after any growth. */
export class Arena {
  constructor() {
    this.k = instance();
    this.top = this.k.heapBase();
    this.top = (this.top + 7) & ~7;
  }

  alloc(bytes) {
    const at = this.top;
    this.top += Math.ceil(bytes / 8) * 8; // (not `& ~7`: sizes may pass 2^31, which ready() refuses)
    return at;
  }

  ready() {
    const need = this.top - this.k.memory.buffer.byteLength;
    if (this.top > MAX_ARENA) throw new LimitError(`decoder kernels: a call needs ${this.top} bytes of working memory, more than ${MAX_ARENA}`);
    if (need > 0) {
      try {
        this.k.memory.grow(Math.ceil(need / PAGE));
      } catch (exc) { // (the engine's memory limit, or no memory left)
        throw new LimitError(`decoder kernels: cannot grow working memory to ${this.top} bytes (${exc.message})`);
      }
    }
    this.bytes = new Uint8Array(this.k.memory.buffer);
    this.i32 = new Int32Array(this.k.memory.buffer);
    this.f64 = new Float64Array(this.k.memory.buffer);
    return this.k;
  }
}
