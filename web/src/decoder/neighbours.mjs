// Exact k-nearest neighbours on integer positions (docs/format.md 3.2): squared integer distance, ties by the
// lower row index, ordered (distance, index). A uniform grid over the reference points, their coordinates stored
// in cell order; each query visits the cells around its own in ascending order of their smallest possible
// distance (a precomputed stencil) and stops once no unvisited cell can hold a closer or tying point. Queries run
// in cell order too, so neighbouring queries touch the same memory.

const STENCIL_RADIUS = 3; // cells within Chebyshev distance 3 come from the stencil, farther ones from shells

/**
 * Offsets (dx, dy, dz) of the cube [-R, R]^3 sorted by their distance lower bound in cell units, sum of
 * max(0, |d| - 1)^2 over the axes. `bound` is that bound clamped to R^2: every offset outside the cube has a bound
 * >= R^2, so stopping at an offset whose clamped bound exceeds the k-th distance skips nothing closer.
 */
function buildStencil(radius) {
  const rows = [];
  for (let dz = -radius; dz <= radius; dz++) {
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const g = (d) => Math.max(0, Math.abs(d) - 1);
        rows.push([g(dx) ** 2 + g(dy) ** 2 + g(dz) ** 2, dx, dy, dz]);
      }
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  return { bound: Int32Array.from(rows, (r) => Math.min(r[0], radius * radius)), off: Int32Array.from(rows.flatMap((r) => [r[1], r[2], r[3]])) };
}
const STENCIL = buildStencil(STENCIL_RADIUS);

/** Merge the points of cell c into the sorted candidate list bd/bi (have entries so far); returns the new count. */
function scanCell(index, c, x, y, z, have, kk, bd, bi) {
  const { start, sortedPoints: sPts, sortedIndex: sIdx } = index;
  for (let p = start[c], e = start[c + 1]; p < e; p++) {
    const dx = sPts[3 * p] - x, dy = sPts[3 * p + 1] - y, dz = sPts[3 * p + 2] - z;
    const d2 = dx * dx + dy * dy + dz * dz;
    if (have === kk && d2 > bd[kk - 1]) continue;
    const i = sIdx[p];
    if (have === kk && d2 === bd[kk - 1] && i > bi[kk - 1]) continue;
    let j = have < kk ? have++ : kk - 1;
    while (j > 0 && (bd[j - 1] > d2 || (bd[j - 1] === d2 && bi[j - 1] > i))) { bd[j] = bd[j - 1]; bi[j] = bi[j - 1]; j--; }
    bd[j] = d2; bi[j] = i;
  }
  return have;
}

export class NeighbourIndex {
  /**
   * @param {Int32Array} points [M*3] integer positions, row-major
   * @param {number} [cellSize] grid cell edge (default: chosen from the points; tests force others)
   */
  constructor(points, cellSize) {
    const m = points.length / 3;
    this.points = points;
    this.m = m;
    if (m === 0) return;
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < m; i++) {
      for (let a = 0; a < 3; a++) {
        const v = points[3 * i + a];
        if (v < lo[a]) lo[a] = v;
        if (v > hi[a]) hi[a] = v;
      }
    }
    const ext = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    // about 4 points per cell for a volume-filling set; never more cells than 4 M
    let cs = Math.max(1, Math.ceil(Math.cbrt((ext[0] * ext[1] * ext[2] * 4) / m)));
    const dims = () => [Math.floor((ext[0] - 1) / cs) + 1, Math.floor((ext[1] - 1) / cs) + 1, Math.floor((ext[2] - 1) / cs) + 1];
    let d = dims();
    while (d[0] * d[1] * d[2] > 4 * m + 64) { cs *= 2; d = dims(); }
    // surfaces fill few cells of their box: refine while occupied cells hold > 3 points on average
    const occupied = (size, dd) => {
      const seen = new Set();
      for (let i = 0; i < m; i++) {
        seen.add((Math.floor((points[3 * i + 2] - lo[2]) / size) * dd[1] + Math.floor((points[3 * i + 1] - lo[1]) / size)) * dd[0] + Math.floor((points[3 * i] - lo[0]) / size));
      }
      return seen.size;
    };
    for (let tries = 0; tries < 6 && cs > 1; tries++) {
      if (m / occupied(cs, d) <= 3) break;
      const next = Math.ceil(cs / 2), prev = cs;
      cs = next;
      const nd = dims();
      if (nd[0] * nd[1] * nd[2] > 16 * m + 64) { cs = prev; break; }
      d = nd;
    }
    if (cellSize) { cs = cellSize; d = dims(); }
    this.lo = lo; this.cs = cs; this.dims = d;
    const nc = d[0] * d[1] * d[2];
    const cellOf = this.cellsOf(points);
    const start = new Int32Array(nc + 1);
    for (let i = 0; i < m; i++) start[cellOf[i] + 1]++;
    for (let c = 0; c < nc; c++) start[c + 1] += start[c];
    const fill = start.slice(0, nc);
    const sortedIndex = new Int32Array(m); // stable: rows ascending inside each cell
    const sortedPoints = new Int32Array(3 * m);
    for (let i = 0; i < m; i++) {
      const p = fill[cellOf[i]]++;
      sortedIndex[p] = i;
      sortedPoints[3 * p] = points[3 * i]; sortedPoints[3 * p + 1] = points[3 * i + 1]; sortedPoints[3 * p + 2] = points[3 * i + 2];
    }
    this.start = start; this.sortedIndex = sortedIndex; this.sortedPoints = sortedPoints;
  }

  /** Cell of each position, clamped into the grid (queries may lie outside the reference bounds). */
  cellsOf(pos) {
    const n = pos.length / 3, { lo, cs, dims } = this;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const cx = Math.min(dims[0] - 1, Math.max(0, Math.floor((pos[3 * i] - lo[0]) / cs)));
      const cy = Math.min(dims[1] - 1, Math.max(0, Math.floor((pos[3 * i + 1] - lo[1]) / cs)));
      const cz = Math.min(dims[2] - 1, Math.max(0, Math.floor((pos[3 * i + 2] - lo[2]) / cs)));
      out[i] = (cz * dims[1] + cy) * dims[0] + cx;
    }
    return out;
  }

  /**
   * Neighbours of each query: Int32Array [N * k'] with k' = min(k, M), rows ordered (d^2, index).
   * @param {Int32Array} queries [N*3] @param {number} k
   */
  query(queries, k) {
    const n = queries.length / 3, kk = Math.min(k, this.m);
    const out = new Int32Array(n * kk);
    if (kk === 0 || n === 0) return out;
    const { lo, cs, dims } = this;
    const [nx, ny, nz] = dims;
    const bd = new Float64Array(kk), bi = new Int32Array(kk);
    const span = Math.max(nx, ny, nz);
    const cs2 = cs * cs;
    const { bound, off } = STENCIL;
    const nStencil = bound.length;
    // queries in cell order, so consecutive queries share cells: a counting sort when the grid is not much larger
    // than the query set, else a sort of n numeric keys cell * n + q
    const qCell = this.cellsOf(queries);
    const nc = nx * ny * nz;
    const qOrder = new Int32Array(n);
    if (nc <= 4 * n || nc * n > 2 ** 53) {
      const qStart = new Int32Array(nc + 1);
      for (let q = 0; q < n; q++) qStart[qCell[q] + 1]++;
      for (let c = 0; c < nc; c++) qStart[c + 1] += qStart[c];
      for (let q = 0; q < n; q++) qOrder[qStart[qCell[q]]++] = q;
    } else {
      const keys = new Float64Array(n);
      for (let q = 0; q < n; q++) keys[q] = qCell[q] * n + q;
      keys.sort();
      for (let o = 0; o < n; o++) qOrder[o] = keys[o] % n;
    }
    const R = STENCIL_RADIUS, W = 2 * R + 1;
    const gap = new Float64Array(3 * W); // squared gap from the query to the cells at offsets -R..R, per axis
    const axisGaps = (rel, c, at) => {
      for (let d = -R; d <= R; d++) {
        const cc = c + d;
        const g = rel < cc * cs ? cc * cs - rel : rel > (cc + 1) * cs - 1 ? rel - ((cc + 1) * cs - 1) : 0;
        gap[at + d + R] = g * g;
      }
    };

    for (let o = 0; o < n; o++) {
      const q = qOrder[o];
      const x = queries[3 * q], y = queries[3 * q + 1], z = queries[3 * q + 2];
      const rx = x - lo[0], ry = y - lo[1], rz = z - lo[2];
      const cell = qCell[q];
      const cx = cell % nx, cy = Math.floor(cell / nx) % ny, cz = Math.floor(cell / (nx * ny));
      axisGaps(rx, cx, 0); axisGaps(ry, cy, W); axisGaps(rz, cz, 2 * W);
      let have = 0, done = false;
      for (let s = 0; s < nStencil; s++) {
        // the lower bound of this and every later offset exceeds the k-th distance: nothing closer or tying is left
        if (have === kk && bound[s] * cs2 > bd[kk - 1]) { done = true; break; }
        const ox = off[3 * s], oy = off[3 * s + 1], oz = off[3 * s + 2];
        const X = cx + ox, Y = cy + oy, Z = cz + oz;
        if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
        if (have === kk && gap[ox + R] + gap[W + oy + R] + gap[2 * W + oz + R] > bd[kk - 1]) continue;
        have = scanCell(this, (Z * ny + Y) * nx + X, x, y, z, have, kk, bd, bi);
      }
      // rare (sparse or outlying queries): shells of cells beyond the stencil's cube until provably complete
      for (let r = R; !done; r++) {
        if (cx - r <= 0 && cy - r <= 0 && cz - r <= 0 && cx + r >= nx - 1 && cy + r >= ny - 1 && cz + r >= nz - 1) break;
        if (r > span + 2) break;
        if (have === kk) { // every unvisited point lies outside the cube [c - r, c + r]: at least `gap` away on some axis
          const g = (rel, c) => Math.min(rel - (c - r) * cs + 1, (c + r + 1) * cs - rel);
          const reach = Math.min(g(rx, cx), g(ry, cy), g(rz, cz));
          if (reach > 0 && bd[kk - 1] < reach * reach) break;
        }
        const e = r + 1; // the shell of cells at Chebyshev distance e
        for (let Z = Math.max(cz - e, 0); Z <= Math.min(cz + e, nz - 1); Z++) {
          for (let Y = Math.max(cy - e, 0); Y <= Math.min(cy + e, ny - 1); Y++) {
            const row = (Z * ny + Y) * nx;
            if (Z === cz - e || Z === cz + e || Y === cy - e || Y === cy + e) {
              for (let X = Math.max(cx - e, 0); X <= Math.min(cx + e, nx - 1); X++) have = scanCell(this, row + X, x, y, z, have, kk, bd, bi);
            } else {
              if (cx - e >= 0) have = scanCell(this, row + cx - e, x, y, z, have, kk, bd, bi);
              if (cx + e < nx) have = scanCell(this, row + cx + e, x, y, z, have, kk, bd, bi);
            }
          }
        }
      }
      out.set(bi, q * kk);
    }
    return out;
  }
}
