// The first view: the same rule as splatcast.render.camera (guess_up_axis + orbit_cameras view 0), docs/rendering.md.
const AXES = { "+x": [1, 0, 0], "-x": [-1, 0, 0], "+y": [0, 1, 0], "-y": [0, -1, 0], "+z": [0, 0, 1], "-z": [0, 0, -1] };

/** numpy.quantile (linear interpolation) of a sorted array. */
function quantileSorted(sorted, q) {
  const n = sorted.length;
  if (n === 1) return sorted[0];
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** GaussianCloud.robust_bounds(): per-axis 1% / 99% quantiles of the means (float32 like numpy's astype). */
export function robustBounds(positions, count, quantile = 0.01) {
  const lo = [0, 0, 0];
  const hi = [0, 0, 0];
  const axis = new Float64Array(count);
  for (let a = 0; a < 3; a++) {
    for (let i = 0; i < count; i++) axis[i] = positions[3 * i + a];
    axis.sort();
    lo[a] = Math.fround(quantileSorted(axis, quantile));
    hi[a] = Math.fround(quantileSorted(axis, 1 - quantile));
  }
  return { lo, hi };
}

/** guess_up_axis: a much shorter axis (< 0.6x the others) is vertical, else a much longer one (> 1.5x), else y. */
export function guessUpAxis({ lo, hi }) {
  const ext = [0, 1, 2].map((a) => Math.max(hi[a] - lo[a], 1e-12));
  const others = (a) => ext.filter((_, b) => b !== a);
  const flat = [0, 1, 2].filter((a) => ext[a] < 0.6 * Math.min(...others(a)));
  const tall = [0, 1, 2].filter((a) => ext[a] > 1.5 * Math.max(...others(a)));
  const axis = [...flat, ...tall, 1][0];
  return ["+x", "-y", "+z"][axis];
}

export function parseUp(up) {
  if (Array.isArray(up)) {
    const n = Math.hypot(...up);
    if (up.length !== 3 || !(n > 0)) throw new Error(`up=${up}: a non-zero 3-vector`);
    return up.map((v) => v / n);
  }
  let key = String(up).trim().toLowerCase();
  if (!"+-".includes(key[0])) key = "+" + key;
  if (!AXES[key]) throw new Error(`up=${up}: one of ${Object.keys(AXES).join(", ")} or x,y,z`);
  return AXES[key].slice();
}

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a) => {
  const n = Math.hypot(a[0], a[1], a[2]);
  return a.map((v) => v / n);
};

/**
 * orbit_cameras(cloud, n_views, ..., elevation_deg, fov_deg, up) view `k`: eye, target, up, fov (degrees along the
 * shorter image side), and the orbit distance.
 */
export function orbitCamera(bounds, { up = "auto", elevationDeg = 20, fovDeg = 50, view = 0, nViews = 1, distanceScale = 1 } = {}) {
  const upName = up === "auto" ? guessUpAxis(bounds) : up;
  const upV = parseUp(upName);
  const { lo, hi } = bounds;
  const centre = [0, 1, 2].map((a) => 0.5 * (lo[a] + hi[a]));
  const radius = Math.max(0.5 * Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]), 1e-3);
  const distance = (distanceScale * radius) / Math.sin(((fovDeg * Math.PI) / 180) / 2);
  const helper = Math.abs(upV[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  const hu = dot(helper, upV);
  const e1 = norm(helper.map((v, i) => v - upV[i] * hu));
  const e2 = cross(upV, e1);
  const elev = (elevationDeg * Math.PI) / 180;
  const az = (2 * Math.PI * view) / nViews;
  const dir = [0, 1, 2].map(
    (i) => Math.cos(elev) * (Math.cos(az) * e1[i] + Math.sin(az) * e2[i]) + Math.sin(elev) * upV[i],
  );
  return {
    eye: centre.map((c, i) => c + distance * dir[i]),
    target: centre,
    up: upV,
    upName: typeof upName === "string" ? upName : upV.join(","),
    fov: fovDeg,
    distance,
    radius,
  };
}

/** three.js PerspectiveCamera.fov is vertical; splatcast's fov is along the shorter image side. */
export function verticalFovDeg(fovShortDeg, width, height) {
  if (width >= height) return fovShortDeg;
  const t = Math.tan(((fovShortDeg * Math.PI) / 180) / 2) * (height / width);
  return (2 * Math.atan(t) * 180) / Math.PI;
}
