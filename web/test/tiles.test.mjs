// node --test: the player's frustum test (src/player/tiles.mjs) never calls a box with a visible point out of view,
// and the tile scheduler's bookkeeping (format.md 5 fidelity of a tile's state) on a tiled golden stream.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readIndex, tileView } from "../src/decoder/index.mjs";
import { OUT_OF_VIEW, boxVisibility, recordedFidelity, tileBoxesInScene } from "../src/player/tiles.mjs";

// a perspective camera at (0, 0, 4) looking down -z, 50 deg vertical fov, aspect 4:3, near 0.01 (three.js conventions)
function viewProj() {
  const f = 1 / Math.tan((50 * Math.PI) / 360), aspect = 4 / 3, n = 0.01, far = 1000;
  const P = [f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, -(far + n) / (far - n), -1, 0, 0, (-2 * far * n) / (far - n), 0];
  const V = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, -4, 1]; // world -> camera: translate by -eye
  const out = new Array(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) for (let k = 0; k < 4; k++) out[4 * c + r] += P[4 * k + r] * V[4 * c + k];
  return { viewProj: out, eye: [0, 0, 4] };
}

test("a box with a visible point is never out of view; one behind the camera is", () => {
  const cam = viewProj(), m = cam.viewProj;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let checked = 0;
  for (let i = 0; i < 400; i++) {
    const lo = [0, 1, 2].map(() => -8 + 16 * rnd()), size = [0, 1, 2].map(() => 0.05 + 3 * rnd());
    const box = { lo, hi: lo.map((v, a) => v + size[a]) };
    let seen = false;
    for (let s = 0; s < 300 && !seen; s++) {
      const p = [0, 1, 2].map((a) => box.lo[a] + rnd() * size[a]);
      const x = m[0] * p[0] + m[4] * p[1] + m[8] * p[2] + m[12], y = m[1] * p[0] + m[5] * p[1] + m[9] * p[2] + m[13];
      const z = m[2] * p[0] + m[6] * p[1] + m[10] * p[2] + m[14], w = m[3] * p[0] + m[7] * p[1] + m[11] * p[2] + m[15];
      seen = w > 0 && Math.abs(x) <= w && Math.abs(y) <= w && z >= -w;
    }
    if (seen) { checked++; assert.ok(boxVisibility(box, cam) > OUT_OF_VIEW, JSON.stringify(box)); }
  }
  assert.ok(checked > 20);
  assert.equal(boxVisibility({ lo: [-1, -1, 6], hi: [1, 1, 7] }, cam), OUT_OF_VIEW); // behind the eye
  // in view: the share of the image the box covers (a unit cube 3.5-4.5 ahead: its near face spans
  // 0.5 / 3.5 x f / aspect of the half-width and 0.5 / 3.5 x f of the half-height, f = 1 / tan(25 deg))
  const f = 1 / Math.tan((25 * Math.PI) / 180);
  const share = ((0.5 / 3.5) * (f / (4 / 3))) * ((0.5 / 3.5) * f);
  assert.ok(Math.abs(boxVisibility({ lo: [-0.5, -0.5, -0.5], hi: [0.5, 0.5, 0.5] }, cam) - (0.1 + 0.9 * share)) < 1e-9);
  assert.ok(boxVisibility({ lo: [-9, -9, -1], hi: [9, 9, 1] }, cam) === 1); // fills the view
});

test("a tiled golden stream: tile boxes in scene units, each tile's recorded fidelity", () => {
  const data = new Uint8Array(readFileSync(new URL("./golden/rans_tiled.splc", import.meta.url)));
  const idx = readIndex(data);
  const boxes = tileBoxesInScene(idx);
  assert.equal(boxes.length, idx.tileCount);
  for (const b of boxes) for (let a = 0; a < 3; a++) assert.ok(b.lo[a] <= b.hi[a] && b.lo[a] >= idx.gridMin[a] - 1e-6 && b.hi[a] <= idx.gridMax[a] + 1e-6);
  for (let t = 0; t < idx.tileCount; t++) {
    const v = tileView(idx, t);
    const none = v.layers.map(() => new Set());
    assert.equal(recordedFidelity(v, v.layers.map(() => 0), none), null); // nothing yet
    const all = v.layers.map((l) => l.chunks.length);
    assert.equal(recordedFidelity(v, all, none), Infinity); // the tile's top layer
    const first = v.layers.map((_l, j) => (j === 0 ? 1 : 0));
    assert.equal(recordedFidelity(v, first, none), v.layers[0].chunks[0].fidelityFull / 100);
  }
});
