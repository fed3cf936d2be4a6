// AssemblyScript, compiled to WebAssembly by web/build-kernels.mjs: the query loop of NeighbourIndex.query in
// web/src/decoder/neighbours.mjs (docs/format.md 3.2: squared integer distance, ties by the lower row, ordered
// (distance, index)), step for step; the JavaScript loop stays the reference. Distances are exact 64-bit integers;
// the bounds that the JavaScript computes in doubles (stencil bounds, gaps, reaches) are doubles here too.
//
// Arrays are byte offsets into this module's memory (laid out by web/src/decoder/kernels.mjs): queries [3N] i32,
// qCell / qOrder [N] i32, the index (start [cells + 1], uPos [3U], runStart / runEnd [U], members [M], i32), the
// stencil (bound [S] i32, off [3S] i32), scratch bd [k] i64, bi [k] i32, gap [3 (2R + 1)] f64, need [N] i32 (or 0: k for all), out [N k] i32.

const QUERY_BLOCK = 512;
const INF: f64 = Infinity;

// the work done (cells + positions examined + rows merged); a global, touched once per scanned range
let work: f64 = 0;

/** Merges the rows at distinct positions u0..u1 into the sorted candidates bd / bi (`have` of kk so far; as
 * scanRange in neighbours.mjs); returns the new count. */
@inline
function scanRange(u0: i32, u1: i32, uPos: usize, runStart: usize, runEnd: usize, members: usize, x: i64, y: i64,
  z: i64, have: i32, kk: i32, bd: usize, bi: usize): i32 {
  let w: i32 = u1 - u0;
  let full = have == kk;
  let worst: i64 = full ? load<i64>(bd + (<usize>(kk - 1) << 3)) : i64.MAX_VALUE;
  let worstI: i32 = full ? load<i32>(bi + (<usize>(kk - 1) << 2)) : 0;
  for (let u = u0; u < u1; u++) {
    const p = uPos + <usize>u * 12;
    const dx = <i64>load<i32>(p) - x, dy = <i64>load<i32>(p + 4) - y, dz = <i64>load<i32>(p + 8) - z;
    const d2 = dx * dx + dy * dy + dz * dz;
    if (d2 > worst) continue;
    const te = load<i32>(runEnd + (<usize>u << 2));
    for (let t = load<i32>(runStart + (<usize>u << 2)); t < te; t++) {
      const i = load<i32>(members + (<usize>t << 2));
      if (full && (d2 > worst || (d2 == worst && i > worstI))) break;
      let j: i32 = have < kk ? have++ : kk - 1;
      while (j > 0) {
        const pd = load<i64>(bd + (<usize>(j - 1) << 3)), pi = load<i32>(bi + (<usize>(j - 1) << 2));
        if (!(pd > d2 || (pd == d2 && pi > i))) break;
        store<i64>(bd + (<usize>j << 3), pd);
        store<i32>(bi + (<usize>j << 2), pi);
        j--;
      }
      store<i64>(bd + (<usize>j << 3), d2);
      store<i32>(bi + (<usize>j << 2), i);
      w++;
      if (have == kk) {
        full = true;
        worst = load<i64>(bd + (<usize>(kk - 1) << 3));
        worstI = load<i32>(bi + (<usize>(kk - 1) << 2));
      }
    }
  }
  work += <f64>w;
  return have;
}

@inline
function scanCell(c: i32, start: usize, uPos: usize, runStart: usize, runEnd: usize, members: usize, x: i64, y: i64,
  z: i64, have: i32, kk: i32, bd: usize, bi: usize): i32 {
  work += 1;
  return scanRange(load<i32>(start + (<usize>c << 2)), load<i32>(start + (<usize>(c + 1) << 2)), uPos, runStart,
    runEnd, members, x, y, z, have, kk, bd, bi);
}

// the 2x2x2 block of the current query: lo3 / hi3 per axis
let lo0: i32 = 0, lo1: i32 = 0, lo2: i32 = 0, hi0: i32 = 0, hi1: i32 = 0, hi2: i32 = 0;

/** The block's extent along one axis (as blockAxis); returns the reach to its nearest side with cells beyond. */
@inline
function blockAxis(r: f64, c: i32, nAxis: i32, cs: f64, a: i32): f64 {
  let la: i32, ha: i32;
  if (2 * (r - <f64>c * cs) < cs) {
    la = c > 0 ? c - 1 : 0;
    ha = c;
  } else {
    la = c;
    ha = c + 1 < nAxis ? c + 1 : nAxis - 1;
  }
  if (a == 0) { lo0 = la; hi0 = ha; } else if (a == 1) { lo1 = la; hi1 = ha; } else { lo2 = la; hi2 = ha; }
  let reach = INF;
  if (la > 0) reach = r - <f64>la * cs + 1;
  if (ha < nAxis - 1) reach = min(reach, <f64>(ha + 1) * cs - r);
  return reach;
}

@inline
function axisGaps(rel: f64, c: i32, at: usize, nAxis: i32, cs: f64, R: i32): void {
  for (let dd = -R; dd <= R; dd++) {
    const cc = c + dd; // (the first and last cells reach to infinity)
    let g: f64 = 0;
    if (rel < <f64>cc * cs && cc > 0) g = <f64>cc * cs - rel;
    else if (rel > <f64>(cc + 1) * cs - 1 && cc < nAxis - 1) g = rel - (<f64>(cc + 1) * cs - 1);
    store<f64>(at + (<usize>(dd + R) << 3), g * g);
  }
}

/** A query's kq nearest (bi) into its row dst of kk, -1 after them. */
@inline
function emit(dst: usize, bi: usize, kq: i32, kk: i32): void {
  memory.copy(dst, bi, <usize>kq << 2);
  for (let j = kq; j < kk; j++) store<i32>(dst + (<usize>j << 2), -1);
}

/**
 * The kk nearest of every query into out (need != 0: query q's need[q] nearest, -1 after them); returns 0, or 1
 * when a block of queries exceeds the work bound (maxVisits per query on average, checked before each query after
 * a block's first, as the reference does).
 */
export function knnQuery(n: i32, kk: i32, queries: usize, qCell: usize, qOrder: usize, start: usize, uPos: usize,
  runStart: usize, runEnd: usize, members: usize, lox: i32, loy: i32, loz: i32, csI: i32, nx: i32, ny: i32,
  nz: i32, bound: usize, off: usize, nStencil: i32, R: i32, maxVisits: f64, bd: usize, bi: usize, gap: usize,
  blockMax: i32, need: usize, out: usize): i32 {
  work = 0;
  const cs = <f64>csI, cs2 = cs * cs;
  const span = max(nx, max(ny, nz));
  const W = 2 * R + 1;
  let blockStart: f64 = 0;
  for (let o = 0; o < n; o++) {
    if (o % QUERY_BLOCK == 0) blockStart = work;
    else if (work - blockStart > maxVisits * QUERY_BLOCK) return 1;
    const q = load<i32>(qOrder + (<usize>o << 2));
    // this query's neighbours (fewer: the same prefix of the k nearest, sooner)
    const kq = need != 0 ? load<i32>(need + (<usize>q << 2)) : kk;
    const qp = queries + <usize>q * 12;
    const xi = load<i32>(qp), yi = load<i32>(qp + 4), zi = load<i32>(qp + 8);
    const x = <i64>xi, y = <i64>yi, z = <i64>zi;
    const rx = <f64>xi - <f64>lox, ry = <f64>yi - <f64>loy, rz = <f64>zi - <f64>loz;
    const cell = load<i32>(qCell + (<usize>q << 2));
    const cx = cell % nx, cy = (cell / nx) % ny, cz = cell / (nx * ny);
    let reach = blockAxis(rx, cx, nx, cs, 0);
    reach = min(reach, blockAxis(ry, cy, ny, cs, 1));
    reach = min(reach, blockAxis(rz, cz, nz, cs, 2));
    const inner = reach == INF;
    let have = 0;
    let blockSize = 0;
    for (let Z = lo2; Z <= hi2; Z++) {
      for (let Y = lo1; Y <= hi1; Y++) {
        const row = (Z * ny + Y) * nx;
        blockSize += load<i32>(start + (<usize>(row + hi0 + 1) << 2)) - load<i32>(start + (<usize>(row + lo0) << 2));
      }
    }
    const scanned = blockSize <= blockMax;
    const dst = out + (<usize>q * <usize>kk << 2);
    if (scanned) {
      for (let Z = lo2; Z <= hi2; Z++) {
        for (let Y = lo1; Y <= hi1; Y++) { // a grid row's cells are contiguous in cell order
          const row = (Z * ny + Y) * nx;
          const u0 = load<i32>(start + (<usize>(row + lo0) << 2)), u1 = load<i32>(start + (<usize>(row + hi0 + 1) << 2));
          if (u1 > u0) have = scanRange(u0, u1, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi);
        }
      }
      if (inner || (have == kq && reach > 0 && <f64>load<i64>(bd + (<usize>(kq - 1) << 3)) < reach * reach)) {
        emit(dst, bi, kq, kk);
        continue;
      }
    }
    axisGaps(rx, cx, gap, nx, cs, R);
    axisGaps(ry, cy, gap + (<usize>W << 3), ny, cs, R);
    axisGaps(rz, cz, gap + (<usize>(2 * W) << 3), nz, cs, R);
    let done = false;
    for (let s = 0; s < nStencil; s++) {
      const kth = have == kq ? <f64>load<i64>(bd + (<usize>(kq - 1) << 3)) : INF;
      if (have == kq && <f64>load<i32>(bound + (<usize>s << 2)) * cs2 > kth) { done = true; break; }
      const sp = off + <usize>s * 12;
      const ox = load<i32>(sp), oy = load<i32>(sp + 4), oz = load<i32>(sp + 8);
      const X = cx + ox, Y = cy + oy, Z = cz + oz;
      if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
      if (scanned && X >= lo0 && X <= hi0 && Y >= lo1 && Y <= hi1 && Z >= lo2 && Z <= hi2) continue;
      if (have == kq && load<f64>(gap + (<usize>(ox + R) << 3)) + load<f64>(gap + (<usize>(W + oy + R) << 3))
        + load<f64>(gap + (<usize>(2 * W + oz + R) << 3)) > kth) continue;
      have = scanCell((Z * ny + Y) * nx + X, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi);
    }
    // rare (sparse or outlying queries): shells of cells beyond the stencil's cube until provably complete
    for (let r = R; !done; r++) {
      if (cx - r <= 0 && cy - r <= 0 && cz - r <= 0 && cx + r >= nx - 1 && cy + r >= ny - 1 && cz + r >= nz - 1) break;
      if (r > span + 2) break;
      if (have == kq) {
        let rr: f64 = 2147483648.0;
        if (cx - r > 0) rr = min(rr, rx - <f64>(cx - r) * cs + 1);
        if (cx + r < nx - 1) rr = min(rr, <f64>(cx + r + 1) * cs - rx);
        if (cy - r > 0) rr = min(rr, ry - <f64>(cy - r) * cs + 1);
        if (cy + r < ny - 1) rr = min(rr, <f64>(cy + r + 1) * cs - ry);
        if (cz - r > 0) rr = min(rr, rz - <f64>(cz - r) * cs + 1);
        if (cz + r < nz - 1) rr = min(rr, <f64>(cz + r + 1) * cs - rz);
        if (rr > 0 && <f64>load<i64>(bd + (<usize>(kq - 1) << 3)) < rr * rr) break;
      }
      const e = r + 1; // the shell of cells at Chebyshev distance e
      const z0 = max(cz - e, 0), z1 = min(cz + e, nz - 1), y0 = max(cy - e, 0), y1 = min(cy + e, ny - 1);
      for (let Z = z0; Z <= z1; Z++) {
        for (let Y = y0; Y <= y1; Y++) {
          const row = (Z * ny + Y) * nx;
          if (Z == cz - e || Z == cz + e || Y == cy - e || Y == cy + e) {
            const x1 = min(cx + e, nx - 1);
            for (let X = max(cx - e, 0); X <= x1; X++) have = scanCell(row + X, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi);
          } else {
            if (cx - e >= 0) have = scanCell(row + cx - e, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi);
            if (cx + e < nx) have = scanCell(row + cx + e, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi);
          }
        }
      }
    }
    emit(dst, bi, kq, kk);
  }
  return 0;
}
