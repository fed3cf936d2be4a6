// Entropy back-ends (docs/entropy.md): payload -> integer values of one stream.
import { decompress as zstdDecompress } from "fzstd";
import { BitstreamFormatError, TruncatedError } from "./errors.mjs";
import { decodeIrans, decodeRans } from "./rans.mjs";

const MAX_ZSTD_WINDOW = 1 << 27;

function zstdContentSize(data) {
  if (data.length < 6) throw new TruncatedError(`zstd payload of ${data.length} bytes ends inside the frame header`);
  if (data[0] !== 0x28 || data[1] !== 0xb5 || data[2] !== 0x2f || data[3] !== 0xfd) throw new BitstreamFormatError("zstd payload has no valid frame header (magic)");
  const fhd = data[4];
  const fcsFlag = fhd >> 6, single = (fhd >> 5) & 1, dictFlag = fhd & 3;
  if (fhd & 0x08) throw new BitstreamFormatError("zstd frame header: reserved bit set");
  if (dictFlag) throw new BitstreamFormatError("zstd frame uses a dictionary");
  let p = 5;
  if (!single) {
    const wd = data[p++];
    const exp = wd >> 3, mant = wd & 7;
    const base = 2 ** (10 + exp);
    if (base + (base / 8) * mant > MAX_ZSTD_WINDOW) throw new BitstreamFormatError("zstd frame window exceeds 128 MiB");
  }
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag];
  if (fcsBytes === 0) throw new BitstreamFormatError("zstd frame has no content size");
  if (data.length < p + fcsBytes) throw new TruncatedError("zstd payload ends inside the frame header");
  let size = 0;
  for (let i = 0; i < fcsBytes; i++) size += data[p + i] * 2 ** (8 * i);
  if (fcsBytes === 2) size += 256;
  return size;
}

function decodeZstd(data, size) {
  const declared = zstdContentSize(data);
  if (declared !== size) throw new BitstreamFormatError(`zstd frame declares ${declared} content bytes, expected ${size}`);
  let raw;
  try {
    raw = zstdDecompress(data, new Uint8Array(size));
  } catch (exc) {
    throw new BitstreamFormatError(`zstd payload is corrupt: ${exc.message || exc}`);
  }
  if (raw.length !== size) throw new BitstreamFormatError(`zstd payload decodes to ${raw.length} bytes, expected ${size}`);
  return raw;
}

/** Back-ends decodeStream() handles (lzma: no synchronous LZMA2 decoder for the browser yet; paq: see entropy.md). */
export const SUPPORTED = ["rans", "irans", "zstd"];

function rawToValues(raw, count, bpv) {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Int32Array(count);
  if (bpv === 1) for (let i = 0; i < count; i++) out[i] = v.getInt8(i);
  else if (bpv === 2) for (let i = 0; i < count; i++) out[i] = v.getInt16(2 * i, true);
  else for (let i = 0; i < count; i++) out[i] = v.getInt32(4 * i, true);
  return out;
}

/**
 * Decode one stream payload to Int32Array(count).
 * @param {Uint8Array} payload @param {string} entropy @param {number} count @param {number} bpv bytes per value (1, 2, 4)
 * @param {Int32Array|null} context
 */
export function decodeStream(payload, entropy, count, bpv, context) {
  if (entropy === "rans") return decodeRans(payload, count, 8 * bpv, context);
  if (entropy === "irans") return decodeIrans(payload, count, 8 * bpv, context);
  const size = count * bpv;
  if (entropy === "zstd") return rawToValues(decodeZstd(payload, size), count, bpv);
  throw new BitstreamFormatError(`entropy back-end ${entropy} is not supported by this decoder (supported: ${SUPPORTED.join(", ")})`);
}
