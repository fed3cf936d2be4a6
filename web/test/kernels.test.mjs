// node --test: the WebAssembly kernels (src/kernels/*.ts) against their JavaScript references, which the golden
// tests tie to the Python decoder: the same values or the same error (class and message) on every irans payload of a
// real stream, under wrong contexts and thousands of byte mutations; the same neighbours and predictions on random
// and tie-heavy inputs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { predictWithModes } from "../src/decoder/bilateral.mjs";
import { LimitError } from "../src/decoder/errors.mjs";
import { Arena } from "../src/decoder/kernels.mjs";
import { readIndex, unpackStreams } from "../src/decoder/container.mjs";
import { NeighbourIndex } from "../src/decoder/neighbours.mjs";
import { decodeIrans } from "../src/decoder/rans.mjs";
import { ContextPattern } from "../src/decoder/features.mjs";

const golden = (name) => new Uint8Array(readFileSync(new URL(`./golden/${name}`, import.meta.url)));

function rng(seed) { // xorshift32
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/** What a decode gives: its values, or its error's class and message. */
function outcome(fn) {
  try {
    return { values: Array.from(fn()) };
  } catch (exc) {
    return { error: `${exc.constructor.name}: ${exc.message}` };
  }
}

/** value_count and context_count of an irans payload header (entropy.md: k, m, then varints), or null. */
function header(p) {
  const varints = [];
  let pos = 2;
  for (let n = 0; n < 2; n++) {
    let v = 0, scale = 1;
    for (;;) {
      if (pos >= p.length) return null;
      const b = p[pos++];
      v += (b & 0x7f) * scale; scale *= 128;
      if (!(b & 0x80)) break;
    }
    varints.push(v);
  }
  return { count: varints[0], contexts: varints[1] };
}

function iransPayloads() {
  const data = golden("irans_scalable.splc");
  const idx = readIndex(data);
  assert.equal(idx.entropy, "irans");
  const out = [];
  for (const layer of idx.layers) {
    for (const ce of layer.chunks) {
      for (const [sid, s] of unpackStreams(data.subarray(ce.offset, ce.offset + ce.fullBytes), "chunk")) out.push({ sid, ...s });
    }
  }
  return out;
}

test("irans kernel equals the reference on every payload of a real stream, with contexts right and wrong", () => {
  const payloads = iransPayloads();
  assert.ok(payloads.length >= 20);
  let decoded = 0;
  for (const { payload, bytesPerValue } of payloads) {
    const { count, contexts } = header(payload);
    const width = 8 * bytesPerValue;
    const cycling = Int32Array.from({ length: count }, (_, i) => i % contexts);
    const bad = cycling.slice(); if (count) bad[count >> 1] = contexts;  // one context out of range
    for (const ctx of [null, cycling, bad]) {
      const want = outcome(() => decodeIrans(payload, count, width, ctx, { reference: true }));
      assert.deepEqual(outcome(() => decodeIrans(payload, count, width, ctx)), want);
      if (want.values) decoded++;
    }
  }
  assert.ok(decoded >= payloads.length, `${decoded} decodes succeeded`);  // the null or cycling context fits each
});

test("irans kernel on a context pattern equals the reference on the pattern's array, in range and out of it", () => {
  const r = rng(77);
  let decoded = 0, refused = 0;
  for (const { payload, bytesPerValue } of iransPayloads()) {
    const { count, contexts } = header(payload);
    if (count === 0) continue;
    const width = count % 3 === 0 ? 3 : 1, g = count / width;
    for (const gm of [false, true]) {
      for (const scale of [0, 1, 3, contexts]) { // the last puts every component past the first out of range
        const part = Int32Array.from({ length: g }, () => Math.floor(r() * Math.min(3, contexts)));
        const pattern = new ContextPattern(width, g, scale, part, gm);
        const want = outcome(() => decodeIrans(payload, count, 8 * bytesPerValue, pattern.values(), { reference: true }));
        assert.deepEqual(outcome(() => decodeIrans(payload, count, 8 * bytesPerValue, pattern)), want, `scale ${scale} gm ${gm}`);
        assert.deepEqual(outcome(() => decodeIrans(payload, count, 8 * bytesPerValue, pattern, { reference: true })), want);
        if (want.values) decoded++; else if (want.error.includes("context value")) refused++;
      }
    }
  }
  assert.ok(decoded >= 20 && refused >= 20, `${decoded} decoded, ${refused} refused for their contexts`);
});

test("irans kernel equals the reference on mutated payloads (same values or the same error)", () => {
  const r = rng(2024);
  const payloads = iransPayloads().filter((p) => p.payload.length > 16);
  const seen = {};  // outcomes past the header, where the kernel runs
  for (let trial = 0; trial < 3000; trial++) {
    const { payload, bytesPerValue } = payloads[Math.floor(r() * payloads.length)];
    const p = payload.slice();
    const at = Math.floor(r() * p.length);
    if (r() < 0.5) p[at] ^= 1 << Math.floor(r() * 8); else p[at] = Math.floor(r() * 256);
    const h = header(payload);
    const ctx = h.contexts > 1 ? Int32Array.from({ length: h.count }, (_, i) => i % h.contexts) : null;
    const cut = r() < 0.1 ? p.subarray(0, Math.floor(r() * p.length)) : p;
    const want = outcome(() => decodeIrans(cut, h.count, 8 * bytesPerValue, ctx, { reference: true }));
    assert.deepEqual(outcome(() => decodeIrans(cut, h.count, 8 * bytesPerValue, ctx)), want, `trial ${trial}`);
    const kind = want.values ? "values" : ["do not end empty", "ends before the last escaped", "the tokens need", "padding"]
      .find((m) => want.error.includes(m));
    if (kind) seen[kind] = (seen[kind] || 0) + 1;
  }
  const reached = Object.values(seen).reduce((a, b) => a + b, 0);
  assert.ok(Object.keys(seen).length >= 3 && reached >= 1000, `outcomes past the header: ${JSON.stringify(seen)}`);
});

test("neighbour kernel equals the reference, including the work bound", async () => {
  const { LimitError } = await import("../src/decoder/errors.mjs");
  const r = rng(7);
  for (const [m, S, dup] of [[5000, 1 << 20, 0], [20000, 300, 0], [3000, 50, 0.7], [1, 10, 0]]) {
    const points = new Int32Array(3 * m);
    for (let i = 0; i < m; i++) {
      const src = i > 0 && r() < dup ? Math.floor(r() * i) : -1;
      for (let a = 0; a < 3; a++) points[3 * i + a] = src >= 0 ? points[3 * src + a] : Math.floor(r() * S);
    }
    const n = 4000;
    const queries = Int32Array.from({ length: 3 * n }, () => Math.floor(r() * S * 1.4) - S / 5);
    const index = new NeighbourIndex(points);
    for (const k of [1, 8, 16]) assert.deepEqual(index.query(queries, k), index.query(queries, k, { reference: true }), `m=${m} k=${k}`);
  }
  const pile = new Int32Array(3 * 30000);  // a circle around the queries: each must look at every point, refused by both
  for (let i = 0; i < 30000; i++) { const t = (2 * Math.PI * i) / 30000; pile[3 * i] = Math.round(1e6 * Math.cos(t)); pile[3 * i + 1] = Math.round(1e6 * Math.sin(t)); }
  const centre = new Int32Array(3 * 2048);
  const index = new NeighbourIndex(pile);
  const kinds = [false, true].map((reference) => outcome(() => index.query(centre, 8, { reference })));
  assert.deepEqual(kinds[0], kinds[1]);
  assert.match(kinds[0].error ?? "decoded", new RegExp(`^${LimitError.name}: neighbour search`));
});

test("prediction kernel equals the reference on every mode, with large and negative features", () => {
  const r = rng(11);
  for (const [M, C, k] of [[2000, 14, 8], [500, 38, 4], [50, 5, 1]]) {
    const pLow = Int32Array.from({ length: 3 * M }, () => Math.floor(r() * (1 << 21)));
    const fLow = Int32Array.from({ length: C * M }, () => Math.floor((r() - 0.5) * (1 << 21)));
    const g = 3000;
    const pos = Int32Array.from({ length: 3 * g }, () => Math.floor(r() * (1 << 21)));
    const nbr = Int32Array.from({ length: g * k }, () => Math.floor(r() * M));
    const modes = Int32Array.from({ length: g }, () => (r() < 0.6 ? 0 : 1 + Math.floor(r() * k)));
    assert.deepEqual(predictWithModes(pLow, fLow, C, pos, nbr, k, modes),
      predictWithModes(pLow, fLow, C, pos, nbr, k, modes, { reference: true }), `M=${M} C=${C} k=${k}`);
  }
});

test("kept arrays stay in place across calls and are re-laid out correctly when the region starts over", () => {
  const r = rng(5);
  const make = (n) => Int32Array.from({ length: n }, () => Math.floor((r() - 0.5) * 2 ** 31));
  const check = (arena, arrays, offsets) => arrays.forEach((a, t) => assert.deepEqual(arena.i32.subarray(offsets[t] >> 2, (offsets[t] >> 2) + a.length), a));
  const a = make(1000), b = make(7), c = make(3000);
  const first = new Arena();
  const ab = first.keep([a, b]);
  first.ready();
  check(first, [a, b], ab);
  const second = new Arena();
  const [c2, a2] = second.keep([c, a]); // a stays where it was, c is added
  const scratch = second.alloc(64);
  second.ready();
  assert.equal(a2, ab[0]);
  assert.ok(scratch >= c2 + 4 * c.length, "call arrays lie above the kept ones");
  check(second, [c, a], [c2, a2]);
  const huge = make(20 * 2 ** 20); // 80 MiB: past the cap, the region starts over with this call's arrays only
  const third = new Arena();
  const [h3, b3] = third.keep([huge, b]);
  third.ready();
  check(third, [huge, b], [h3, b3]);
  // predictions alternating between two lower layers, then after the restart, equal the reference each time
  const layers = [0, 1].map(() => ({ pLow: Int32Array.from({ length: 3 * 400 }, () => Math.floor(r() * 5000)), fLow: make(14 * 400) }));
  const pos = Int32Array.from({ length: 3 * 200 }, () => Math.floor(r() * 5000));
  const nbr = Int32Array.from({ length: 200 * 4 }, () => Math.floor(r() * 400)), modes = Int32Array.from({ length: 200 }, () => Math.floor(r() * 5));
  for (const { pLow, fLow } of [...layers, ...layers]) {
    assert.deepEqual(predictWithModes(pLow, fLow, 14, pos, nbr, 4, modes), predictWithModes(pLow, fLow, 14, pos, nbr, 4, modes, { reference: true }));
  }
});

test("working memory past 2 GiB is refused with LimitError, and the arena stays usable", () => {
  const big = new Arena();
  big.alloc(2 ** 31);
  assert.throws(() => big.ready(), LimitError);
  const small = new Arena();
  const at = small.alloc(16);
  small.ready();
  small.i32[at >> 2] = 7;
  assert.equal(small.i32[at >> 2], 7);
});
