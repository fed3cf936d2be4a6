// Exact k-nearest neighbours on integer positions (docs/format.md 3.2): squared integer distance, ties by the
// lower row index, ordered (distance, index). A uniform grid over the reference points, searched in growing
// Chebyshev shells of cells until no unseen point can be closer than (or tie with) the current k-th candidate.

export class NeighbourIndex {
  /** @param {Int32Array} points [M*3] integer positions, row-major */
  constructor(points) {
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
    this.lo = lo; this.cs = cs; this.dims = d;
    const nc = d[0] * d[1] * d[2];
    const cellOf = new Int32Array(m);
    const start = new Int32Array(nc + 1);
    for (let i = 0; i < m; i++) {
      const cx = Math.floor((points[3 * i] - lo[0]) / cs), cy = Math.floor((points[3 * i + 1] - lo[1]) / cs), cz = Math.floor((points[3 * i + 2] - lo[2]) / cs);
      const c = (cz * d[1] + cy) * d[0] + cx;
      cellOf[i] = c;
      start[c + 1]++;
    }
    for (let c = 0; c < nc; c++) start[c + 1] += start[c];
    const fill = start.slice(0, nc);
    const order = new Int32Array(m);  // stable: rows ascending inside each cell
    for (let i = 0; i < m; i++) order[fill[cellOf[i]]++] = i;
    this.start = start; this.order = order;
  }

  /**
   * Neighbours of each query: Int32Array [N * k'] with k' = min(k, M), rows ordered (d^2, index).
   * @param {Int32Array} queries [N*3] @param {number} k
   */
  query(queries, k) {
    const n = queries.length / 3, kk = Math.min(k, this.m);
    const out = new Int32Array(n * kk);
    if (kk === 0) return out;
    const { points, lo, cs, dims, start, order } = this;
    const bd = new Float64Array(kk), bi = new Int32Array(kk);
    const span = Math.max(dims[0], dims[1], dims[2]);
    for (let q = 0; q < n; q++) {
      const x = queries[3 * q], y = queries[3 * q + 1], z = queries[3 * q + 2];
      const rx = x - lo[0], ry = y - lo[1], rz = z - lo[2];
      const cx = Math.floor(rx / cs), cy = Math.floor(ry / cs), cz = Math.floor(rz / cs);
      let have = 0;
      const visit = (c) => {
        for (let p = start[c], e = start[c + 1]; p < e; p++) {
          const i = order[p];
          const dx = points[3 * i] - x, dy = points[3 * i + 1] - y, dz = points[3 * i + 2] - z;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (have === kk && (d2 > bd[kk - 1] || (d2 === bd[kk - 1] && i > bi[kk - 1]))) continue;
          let j = have < kk ? have++ : kk - 1;
          while (j > 0 && (bd[j - 1] > d2 || (bd[j - 1] === d2 && bi[j - 1] > i))) { bd[j] = bd[j - 1]; bi[j] = bi[j - 1]; j--; }
          bd[j] = d2; bi[j] = i;
        }
      };
      for (let r = 0; ; r++) {
        const z0 = cz - r, z1 = cz + r, y0 = cy - r, y1 = cy + r, x0 = cx - r, x1 = cx + r;
        for (let Z = Math.max(z0, 0); Z <= Math.min(z1, dims[2] - 1); Z++) {
          for (let Y = Math.max(y0, 0); Y <= Math.min(y1, dims[1] - 1); Y++) {
            const row = (Z * dims[1] + Y) * dims[0];
            if (Z === z0 || Z === z1 || Y === y0 || Y === y1) {
              for (let X = Math.max(x0, 0); X <= Math.min(x1, dims[0] - 1); X++) visit(row + X);
            } else {
              if (x0 >= 0 && x0 < dims[0]) visit(row + x0);
              if (x1 !== x0 && x1 >= 0 && x1 < dims[0]) visit(row + x1);
            }
          }
        }
        // every unseen point lies outside the cube of cells [c - r, c + r]: at least `gap` away along some axis
        if (cx - r <= 0 && cy - r <= 0 && cz - r <= 0 && cx + r >= dims[0] - 1 && cy + r >= dims[1] - 1 && cz + r >= dims[2] - 1) break;
        if (r > span + 2) break;
        if (have === kk) {
          let gap = Infinity;
          const g = (rel, c) => Math.min(rel - (c - r) * cs + 1, (c + r + 1) * cs - rel);
          gap = Math.min(g(rx, cx), g(ry, cy), g(rz, cz));
          if (gap > 0 && bd[kk - 1] < gap * gap) break;
        }
      }
      out.set(bi, q * kk);
    }
    return out;
  }
}
