// CRC-32 (ISO-HDLC, the zlib polynomial), table-driven, eight bytes a step ("slicing by 8": table k advances a
// byte's contribution by k more bytes), so the checksums of a stream cost little next to decoding it.
const TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) for (let n = 0; n < 256; n++) { const p = t[(k - 1) * 256 + n]; t[k * 256 + n] = (p >>> 8) ^ t[p & 0xff]; }
  return t;
})();

/** @param {Uint8Array} bytes @returns {number} unsigned CRC-32 */
export function crc32(bytes) {
  const T = TABLES, n = bytes.length;
  let c = -1, i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = T[1792 + (a & 0xff)] ^ T[1536 + ((a >>> 8) & 0xff)] ^ T[1280 + ((a >>> 16) & 0xff)] ^ T[1024 + (a >>> 24)]
      ^ T[768 + bytes[i + 4]] ^ T[512 + bytes[i + 5]] ^ T[256 + bytes[i + 6]] ^ T[bytes[i + 7]];
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
