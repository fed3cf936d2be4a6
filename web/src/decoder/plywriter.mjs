// Binary little-endian INRIA PLY, byte-identical to splatcast.scene.formats.ply.write_ply.
import { shRestCount } from "./progressive.mjs";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** @param {import('./progressive.mjs').Cloud} cloud @returns {Uint8Array} */
export function writePly(cloud) {
  const n = cloud.count, k = shRestCount(cloud.shDegree);
  const names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"];
  for (let i = 0; i < 3 * k; i++) names.push(`f_rest_${i}`);
  names.push("opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3");
  let header = `ply\nformat binary_little_endian 1.0\nelement vertex ${n}\n`;
  for (const nm of names) header += `property float ${nm}\n`;
  header += "end_header\n";
  const hb = new TextEncoder().encode(header);
  const P = names.length;
  const out = new Uint8Array(hb.length + 4 * P * n);
  out.set(hb, 0);
  const body = new Float32Array(P * n);
  for (let i = 0; i < n; i++) {
    const o = i * P;
    for (let a = 0; a < 3; a++) { body[o + a] = cloud.positions[3 * i + a]; body[o + 6 + a] = cloud.shDc[3 * i + a]; }
    for (let c = 0; c < 3; c++) for (let t = 0; t < k; t++) body[o + 9 + c * k + t] = cloud.shRest[3 * k * i + 3 * t + c];
    const q = 9 + 3 * k;
    body[o + q] = cloud.opacityLogit[i];
    for (let a = 0; a < 3; a++) body[o + q + 1 + a] = cloud.scalesLog[3 * i + a];
    for (let a = 0; a < 4; a++) body[o + q + 4 + a] = cloud.quats[4 * i + a];
  }
  // bit patterns copied as they are (keeps -0 and every NaN payload), byte-swapped on a big-endian host
  if (LITTLE_ENDIAN) out.set(new Uint8Array(body.buffer), hb.length);
  else {
    const dv = new DataView(out.buffer, hb.length);
    const u = new Uint32Array(body.buffer);
    for (let i = 0; i < u.length; i++) dv.setUint32(4 * i, u[i], true);
  }
  return out;
}
