// node --test: the grid neighbour search against brute force (docs/format.md 3.2: squared integer distance, ties
// by the lower index), on the geometries that break grid searches: surfaces, clusters, co-located points,
// queries outside the reference bounds, large coordinates, every cell size from 1 to the whole box.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NeighbourIndex, quantiles, stableOrder } from "../src/decoder/neighbours.mjs";

/** The definition: sort all reference points by (d^2, index), keep the first min(k, M). */
function bruteForce(points, queries, k) {
  const m = points.length / 3, n = queries.length / 3, kk = Math.min(k, m);
  const out = new Int32Array(n * kk);
  const ids = Array.from({ length: m }, (_, i) => i);
  const d2 = new Float64Array(m);
  for (let q = 0; q < n; q++) {
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let a = 0; a < 3; a++) s += (points[3 * i + a] - queries[3 * q + a]) ** 2;
      d2[i] = s;
    }
    ids.sort((a, b) => d2[a] - d2[b] || a - b);
    out.set(ids.slice(0, kk), q * kk);
  }
  return out;
}

function rng(seed) { // xorshift32: deterministic, no repeats of short period
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

const SCENES = {
  volume: (r, m, S) => Int32Array.from({ length: 3 * m }, () => Math.floor(r() * S)),
  sphereShell: (r, m, S) => {
    const p = new Int32Array(3 * m);
    for (let i = 0; i < m; i++) {
      const u = 2 * r() - 1, t = 2 * Math.PI * r(), s = Math.sqrt(1 - u * u), c = r() < 0.1 ? 0.05 : 0.5;
      p[3 * i] = Math.round(S / 2 + S * c * s * Math.cos(t));
      p[3 * i + 1] = Math.round(S / 2 + S * c * s * Math.sin(t));
      p[3 * i + 2] = Math.round(S / 2 + S * c * u);
    }
    return p;
  },
  plane: (r, m, S) => Int32Array.from({ length: 3 * m }, (_, j) => (j % 3 === 2 ? 7 : Math.floor(r() * S))),
  coLocated: (r, m, S) => Int32Array.from({ length: 3 * m }, (_, j) => (Math.floor(j / 3) % 4 === 0 ? Math.floor(r() * S) : 5)),
  tinyLattice: (r, m) => Int32Array.from({ length: 3 * m }, () => Math.floor(r() * 3)), // almost all ties
};

test("grid search equals brute force on surfaces, clusters, ties and outliers", () => {
  const r = rng(12345);
  let cases = 0;
  for (const [name, make] of Object.entries(SCENES)) {
    for (const S of [50, 4096, (1 << 21) - 1]) {
      for (const m of [1, 7, 300, 3000]) {
        const points = make(r, m, S);
        const n = 60;
        const queries = new Int32Array(3 * n);
        for (let q = 0; q < n; q++) {
          const base = Math.floor(r() * m), far = q % 10 === 0;
          for (let a = 0; a < 3; a++) {
            queries[3 * q + a] = far ? Math.floor((r() * 3 - 1) * S) : points[3 * base + a] + Math.floor((r() - 0.5) * S / 20);
          }
        }
        for (const k of [1, 4, 8, 17, 64]) {
          const want = bruteForce(points, queries, k);
          assert.deepEqual(new NeighbourIndex(points).query(queries, k), want, `${name} S=${S} m=${m} k=${k}`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 5 * 3 * 4 * 5);
});

test("every cell size gives the same neighbours (stencil, shells and whole-box grids)", () => {
  const r = rng(99);
  // (a filled volume for the tiny cells: forced 1-unit cells on a sparse shell are refused by the work bound)
  for (const [S, sizes, make] of [[60, [1, 2, 3, 5, 9, 30, 100], SCENES.volume], [10000, [700, 1000, 4000, 20000], SCENES.sphereShell]]) {
    const points = make(r, 2000, S);
    const queries = Int32Array.from({ length: 3 * 200 }, () => Math.floor(r() * S * 1.2) - S / 10);
    const want = bruteForce(points, queries, 8);
    for (const cs of sizes) {
      assert.deepEqual(new NeighbourIndex(points, cs).query(queries, 8), want, `extent ${S}, cell size ${cs}`);
    }
  }
});

test("a per-query need finds that prefix of the k nearest, -1 after it (reference and kernel)", () => {
  const r = rng(4242);
  for (const [name, make] of Object.entries(SCENES)) {
    for (const [m, S] of [[5, 40], [3000, 4096], [3000, 30]]) {
      const points = make(r, m, S);
      const n = 400;
      const queries = Int32Array.from({ length: 3 * n }, () => Math.floor(r() * S * 1.3) - S / 10);
      const index = new NeighbourIndex(points);
      for (const k of [1, 8, 17]) {
        const kk = Math.min(k, m);
        const need = Int32Array.from({ length: n }, () => 1 + Math.floor(r() * kk));
        const want = bruteForce(points, queries, k);
        for (let q = 0; q < n; q++) for (let j = need[q]; j < kk; j++) want[q * kk + j] = -1;
        for (const reference of [true, false]) {
          assert.deepEqual(index.query(queries, k, { need, reference }), want, `${name} m=${m} k=${k} reference=${reference}`);
        }
      }
    }
  }
});

test("a need outside 1..min(k, M), or of the wrong length, is refused", () => {
  const index = new NeighbourIndex(Int32Array.from({ length: 30 }, (_, j) => j));
  const queries = new Int32Array([1, 2, 3, 4, 5, 6]);
  for (const need of [[0, 1], [1, 9], [1, 11], [1]]) {
    assert.throws(() => index.query(queries, 8, { need: Int32Array.from(need) }), RangeError, String(need));
  }
});

test("the grid's quantiles equal numpy's linear quantiles of the sorted values; its query order is a stable sort", () => {
  const r = rng(31337);
  const numpyQuantile = (v, q) => { // the definition: sort everything, interpolate between neighbouring ranks
    const s = Float64Array.from(v).sort(), pos = q * (s.length - 1), i = Math.floor(pos), j = Math.min(i + 1, s.length - 1);
    return s[i] + (s[j] - s[i]) * (pos - i);
  };
  const cases = [
    Int32Array.from({ length: 1 }, () => 5),
    Int32Array.from({ length: 1000 }, () => Math.floor(r() * 2 ** 21)),
    Int32Array.from({ length: 5000 }, () => Math.floor((r() - 0.5) * 2 ** 32)), // the whole int32 range
    Int32Array.from({ length: 3000 }, (_, i) => (i === 7 ? 2 ** 31 - 1 : i % 3 === 0 ? -(2 ** 31) : Math.floor(r() * 40))),
    Int32Array.from({ length: 4001 }, () => 12345), // every value in one bin
  ];
  for (const v of cases) {
    const qs = [0, 0.005, 0.5, 0.995, 1];
    assert.deepEqual(quantiles(v, qs), qs.map((q) => numpyQuantile(v, q)), `n=${v.length}`);
  }
  for (const keys of [Int32Array.from({ length: 5000 }, () => Math.floor(r() * 50)), Int32Array.from({ length: 5000 }, () => Math.floor(r() * 2 ** 31))]) {
    const want = Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b] || a - b);
    assert.deepEqual(Array.from(stableOrder(keys)), want);
  }
});

test("empty reference or query sets", () => {
  assert.equal(new NeighbourIndex(new Int32Array(0)).query(new Int32Array([1, 2, 3]), 8).length, 0);
  assert.equal(new NeighbourIndex(new Int32Array([1, 2, 3])).query(new Int32Array(0), 8).length, 0);
});

test("co-located points cost O(k) per query, and crafted equidistant geometry is refused", async () => {
  const { LimitError } = await import("../src/decoder/errors.mjs");
  const n = 200000;
  const pile = new Int32Array(3 * n).fill(5);
  const t0 = performance.now();
  const nbr = new NeighbourIndex(pile).query(pile, 8);
  assert.ok(performance.now() - t0 < 5000, "co-located: linear");
  for (let q = 0; q < n; q += 9973) assert.deepEqual(Array.from(nbr.subarray(8 * q, 8 * q + 8)), [0, 1, 2, 3, 4, 5, 6, 7]);
  // every point of a lattice sphere ties for a query at its centre: an exact search must look at all of them
  const N = 21 * 5 ** 8, R = Math.floor(Math.sqrt(N)) + 1, sphere = [];
  for (let x = -R; x <= R; x++) for (let y = -R; y <= R; y++) {
    const z2 = N - x * x - y * y, z = Math.round(Math.sqrt(Math.max(z2, 0)));
    if (z2 >= 0 && z * z === z2) { sphere.push(x, y, z); if (z) sphere.push(x, y, -z); }
  }
  assert.ok(sphere.length / 3 > 20000);
  const centre = new Int32Array(3 * 4096).fill(0);
  const t1 = performance.now();
  assert.throws(() => new NeighbourIndex(Int32Array.from(sphere)).query(centre, 8), LimitError);
  assert.ok(performance.now() - t1 < 10000);
});
