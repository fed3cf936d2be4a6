// AssemblyScript, compiled to WebAssembly by web/build-kernels.mjs: predictWithModes of
// web/src/decoder/bilateral.mjs (docs/format.md 3.2: mode 0 the bilateral blend in IEEE double with sequential
// sums, mode m >= 1 neighbour m's features), the same operations in the same order, so the same doubles; the
// JavaScript function stays the reference. Arrays are byte offsets into this module's memory: pLow [3M] i32,
// fLow [C M] i32, pos [3g] i32, nbr [g k] i32, modes [g] i32, scratch [3k + C] f64, out [g C] i32.

export function predictWithModes(g: i32, C: i32, k: i32, pLow: usize, fLow: usize, pos: usize, nbr: usize,
  modes: usize, scratch: usize, out: usize): void {
  const d = scratch, f = d + (<usize>k << 3), w = f + (<usize>k << 3), acc = w + (<usize>k << 3);
  const kf = <f64>k;
  for (let i = 0; i < g; i++) {
    const m = load<i32>(modes + (<usize>i << 2));
    const o = out + (<usize>i * <usize>C << 2), nb = nbr + (<usize>i * <usize>k << 2);
    if (m != 0) {
      memory.copy(o, fLow + (<usize>load<i32>(nb + (<usize>(m - 1) << 2)) * <usize>C << 2), <usize>C << 2);
      continue;
    }
    const q = pos + <usize>i * 12;
    let sd: f64 = 0;
    for (let j = 0; j < k; j++) {
      const r = pLow + <usize>load<i32>(nb + (<usize>j << 2)) * 12;
      let s: f64 = 0;
      for (let a = 0; a < 3; a++) {
        const t = <f64>load<i32>(r + (<usize>a << 2)) - <f64>load<i32>(q + (<usize>a << 2));
        s += t * t;
      }
      store<f64>(d + (<usize>j << 3), s);
      sd += s;
    }
    sd = sd / kf + 1;
    let m0: f64 = 0, m1: f64 = 0, m2: f64 = 0;
    for (let j = 0; j < k; j++) {
      const r = fLow + (<usize>load<i32>(nb + (<usize>j << 2)) * <usize>C << 2);
      m0 += <f64>load<i32>(r);
      m1 += <f64>load<i32>(r + 4);
      m2 += <f64>load<i32>(r + 8);
    }
    m0 /= kf;
    m1 /= kf;
    m2 /= kf;
    let sf: f64 = 0;
    for (let j = 0; j < k; j++) {
      const r = fLow + (<usize>load<i32>(nb + (<usize>j << 2)) * <usize>C << 2);
      const t0 = <f64>load<i32>(r) - m0, t1 = <f64>load<i32>(r + 4) - m1, t2 = <f64>load<i32>(r + 8) - m2;
      const fj = t0 * t0 + t1 * t1 + t2 * t2;
      store<f64>(f + (<usize>j << 3), fj);
      sf += fj;
    }
    sf = sf / kf + 1;
    let wsum: f64 = 0;
    for (let j = 0; j < k; j++) {
      const wj = 1 / ((1 + load<f64>(d + (<usize>j << 3)) / sd) * (1 + load<f64>(f + (<usize>j << 3)) / sf));
      store<f64>(w + (<usize>j << 3), wj);
      wsum += wj;
    }
    // neighbour-major (contiguous rows), each column still summed in ascending neighbour order
    memory.fill(acc, 0, <usize>C << 3);
    for (let j = 0; j < k; j++) {
      const r = fLow + (<usize>load<i32>(nb + (<usize>j << 2)) * <usize>C << 2), wj = load<f64>(w + (<usize>j << 3));
      for (let c = 0; c < C; c++) {
        const a = acc + (<usize>c << 3);
        store<f64>(a, load<f64>(a) + wj * <f64>load<i32>(r + (<usize>c << 2)));
      }
    }
    for (let c = 0; c < C; c++) {
      store<i32>(o + (<usize>c << 2), <i32>Math.floor(load<f64>(acc + (<usize>c << 3)) / wsum + 0.5));
    }
  }
}
