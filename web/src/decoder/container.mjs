// The .splc container (docs/format.md section 1): preamble, file fields, layer records, chunk parts.
import { crc32 } from "./crc32.mjs";
import { BitstreamFormatError, ChecksumError, LimitError, TruncatedError, UnsupportedVersionError } from "./errors.mjs";

export const PREAMBLE_BYTES = 16;
const FILE_FIELDS_BYTES = 60;
const LAYER_FIXED_BYTES = 20;
const CHUNK_ENTRY_BYTES = 32;
const FIDELITY_ENTRY_BYTES = 6; // version 2: per chunk u16 fidelity full, dc, upgraded (format.md 1.3)
const READ_MAJORS = [1, 2, 3, 4]; // 1.0: no fidelity table, no joint chunks; before 3.0: no component contexts, no colour differences; 4.0: tiles
const TILED_MAJOR = 4;
const TILE_BOX_BYTES = 24, TILE_ENTRY_BYTES = 8; // format.md 1.7
const MAX_TILES = 4096;
const VERSION_MINOR = 0;
export const FIDELITY_UNKNOWN = 0, FIDELITY_IDENTICAL = 0xffff;

/** dB of a fidelity code: null = not measured, Infinity = identical to the file's top layer. */
export function fidelityDb(code) {
  if (code === FIDELITY_UNKNOWN) return null;
  return code === FIDELITY_IDENTICAL ? Infinity : code / 100;
}
const MAX_HEADER_BYTES = 64 << 20;
const MAX_LAYERS = 64;
const MAX_GAUSSIANS_PER_LAYER = 1 << 26;
// format.md 1.6: what a file can make a decoder allocate is bounded by the bytes it supplies
const MAX_GAUSSIANS_PER_DC_BYTE = 8, COPIES_PER_LOWER_GAUSSIAN = 4, GAUSSIANS_PER_CHUNK_FREE = 256;
const MAX_CHUNKS_PER_LAYER = 65536;
const MAX_CODEBOOK = 4096;
const MAX_STREAMS_PER_PART = 64;
export const ENTROPY_NAMES = { 1: "lzma", 2: "paq", 3: "zstd", 4: "rans", 5: "irans" };
const MODE_NAMES = { 1: "scalable", 2: "mdc" };
export const STREAM = { POS: 1, PARENT_DELTA: 2, MODE: 3, VQ_INDEX: 4, DC: 5, OPACITY: 6, SCALE: 7, QUAT: 8, REST: 9, COPY: 10 };
export const STREAM_NAMES = { 1: "pos", 2: "parent_delta", 3: "mode", 4: "vq_index", 5: "dc", 6: "opacity", 7: "scale", 8: "quat", 9: "rest", 10: "copy" };
const FLAG_INTRA = 0x100;
const INTRA_CAPABLE = new Set([6, 7, 8, 9]);
const BYTES_PER_VALUE = new Set([1, 2, 4]);

function view(bytes) { return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }

/** Reserved fields are written 0; a file of a newer minor may use them (ignored), one of ours may not. */
function reservedZero(value, where, [major, minor]) {
  if (value && minor <= VERSION_MINOR) throw new BitstreamFormatError(`${where}: reserved, expected 0 in a version ${major}.${minor} file, got ${value}`);
}

function parsePreamble(data) {
  if (data.length < PREAMBLE_BYTES) throw new TruncatedError(`preamble needs ${PREAMBLE_BYTES} bytes, got ${data.length}`);
  const v = view(data);
  if (data[0] !== 0x53 || data[1] !== 0x50 || data[2] !== 0x4c || data[3] !== 0x43) {
    throw new BitstreamFormatError(`magic at offset 0: expected "SPLC", got ${JSON.stringify(String.fromCharCode(...data.subarray(0, 4)))}`);
  }
  const major = data[4], minor = data[5];
  if (!READ_MAJORS.includes(major)) {
    throw new UnsupportedVersionError(`version at offset 4: major ${major} (minor ${minor}) is not supported; this decoder reads major ${READ_MAJORS.join(" and ")}`);
  }
  reservedZero(v.getUint16(6, true), "flags at offset 6", [major, minor]);
  const headerBytes = v.getUint32(8, true);
  if (headerBytes < PREAMBLE_BYTES + FILE_FIELDS_BYTES || headerBytes > MAX_HEADER_BYTES) {
    throw new LimitError(`header_bytes at offset 8: ${headerBytes} outside ${PREAMBLE_BYTES + FILE_FIELDS_BYTES}..${MAX_HEADER_BYTES}`);
  }
  return { major, minor, headerBytes, headerCrc: v.getUint32(12, true) };
}

/** Bytes of preamble + header, from the first 16 bytes of a file. */
export function headerLength(preamble) { return parsePreamble(preamble).headerBytes; }

/** Parse preamble, file fields and layer records; `data` needs only the first headerBytes bytes. */
export function readIndex(data) {
  const { major, minor, headerBytes, headerCrc } = parsePreamble(data);
  const version = [major, minor];
  const perChunk = CHUNK_ENTRY_BYTES + (major >= 2 ? FIDELITY_ENTRY_BYTES : 0);
  if (data.length < headerBytes) throw new TruncatedError(`header needs ${headerBytes} bytes, got ${data.length}`);
  const got = crc32(data.subarray(PREAMBLE_BYTES, headerBytes));
  if (got !== headerCrc) throw new ChecksumError(`header CRC32 at offset 12: expected 0x${headerCrc.toString(16)}, computed 0x${got.toString(16)}`);
  const newer = minor > VERSION_MINOR;
  const v = view(data);
  let pos = PREAMBLE_BYTES;
  const need = (n, what) => {
    if (pos + n > headerBytes) throw new TruncatedError(`${what} at offset ${pos} needs ${n} bytes, the header has ${headerBytes - pos} left`);
  };
  need(FILE_FIELDS_BYTES, "file fields");
  const total = Number(v.getBigUint64(16, true));
  const entropyId = data[24], modeId = data[25], shDegree = data[26], nLayers = data[27], posBits = data[28], quality = data[29];
  const tiled = major >= TILED_MAJOR;
  const nTiles = tiled ? v.getUint16(30, true) : 1; // version 4: tile_count; reserved before
  if (tiled && (nTiles < 1 || nTiles > MAX_TILES)) throw new LimitError(`tile_count at offset 30: ${nTiles} outside 1..${MAX_TILES}`);
  if (!tiled) reservedZero(v.getUint16(30, true), "reserved u16 at offset 30", version);
  const f32 = (o) => v.getFloat32(o, true);
  const gridMin = [f32(32), f32(36), f32(40)], gridMax = [f32(44), f32(48), f32(52)];
  const steps = [f32(56), f32(60), f32(64), f32(68), f32(72)];
  if (!(entropyId in ENTROPY_NAMES)) throw new BitstreamFormatError(`entropy id at offset 24: expected one of 1,2,3,4,5, got ${entropyId}`);
  if (!(modeId in MODE_NAMES)) throw new BitstreamFormatError(`mode id at offset 25: expected one of 1,2, got ${modeId}`);
  if (shDegree > 3) throw new BitstreamFormatError(`sh_degree at offset 26: expected 0..3, got ${shDegree}`);
  if (nLayers < 1 || nLayers > MAX_LAYERS) throw new LimitError(`layer_count at offset 27: ${nLayers} outside 1..${MAX_LAYERS}`);
  if (posBits < 1 || posBits > 21) throw new BitstreamFormatError(`pos_bits at offset 28: expected 1..21, got ${posBits}`);
  if (total < headerBytes) throw new BitstreamFormatError(`total_bytes at offset 16: ${total} is smaller than header_bytes ${headerBytes}`);
  for (let a = 0; a < 3; a++) {
    if (!Number.isFinite(gridMin[a]) || !Number.isFinite(gridMax[a]) || !(gridMax[a] >= gridMin[a])) {
      throw new BitstreamFormatError(`position grid at offset 32: min ${gridMin} max ${gridMax} is not a finite box`);
    }
  }
  if (!steps.every((s) => Number.isFinite(s) && s > 0)) throw new BitstreamFormatError(`quantizer steps at offset 56: expected finite positive, got ${steps}`);
  pos = PREAMBLE_BYTES + FILE_FIELDS_BYTES;
  let tileBoxes = null;
  if (tiled) {
    tileBoxes = [];
    for (let t = 0; t < nTiles; t++) {
      need(TILE_BOX_BYTES, `tile ${t} box`);
      const b = Array.from({ length: 6 }, (_, i) => v.getUint32(pos + 4 * i, true));
      const lo = b.slice(0, 3), hi = b.slice(3);
      if (![0, 1, 2].every((a) => lo[a] <= hi[a] && hi[a] < 2 ** posBits)) throw new BitstreamFormatError(`tile ${t} box at offset ${pos}: lo ${lo} hi ${hi} is not a box inside the ${posBits}-bit grid`);
      tileBoxes.push({ lo, hi });
      pos += TILE_BOX_BYTES;
    }
  }
  const layers = [];
  let expected = headerBytes;
  let lowerTileG = new Array(nTiles).fill(0); // Gaussians of the layer below per tile (the copy allowance of 1.6)
  for (let li = 0; li < nLayers; li++) {
    const start = pos;
    need(LAYER_FIXED_BYTES, `layer ${li} record`);
    const recordBytes = v.getUint32(pos, true), coding = data[pos + 4], lsh = data[pos + 5], knnK = data[pos + 6];
    const gaussians = v.getUint32(pos + 8, true), nChunks = v.getUint32(pos + 12, true);
    const kCb = v.getUint16(pos + 16, true), displayFrom = v.getUint16(pos + 18, true);
    pos += LAYER_FIXED_BYTES;
    const where = `layer ${li} record at offset ${start}`;
    reservedZero(data[start + 7], `${where}: reserved u8 at +7`, version);
    if (recordBytes < LAYER_FIXED_BYTES || start + recordBytes > headerBytes) throw new BitstreamFormatError(`${where}: record_bytes ${recordBytes} outside ${LAYER_FIXED_BYTES}..${headerBytes - start}`);
    if ((coding !== 0 && coding !== 1) || (coding === 1 && li === 0)) throw new BitstreamFormatError(`${where}: coding ${coding} is not valid for this layer`);
    if (lsh > shDegree) throw new BitstreamFormatError(`${where}: sh_degree ${lsh} exceeds the file's ${shDegree}`);
    if (gaussians > MAX_GAUSSIANS_PER_LAYER) throw new LimitError(`${where}: gaussians ${gaussians} exceeds ${MAX_GAUSSIANS_PER_LAYER}`);
    if (nChunks > MAX_CHUNKS_PER_LAYER) throw new LimitError(`${where}: chunk_count ${nChunks} exceeds ${MAX_CHUNKS_PER_LAYER}`);
    if (tiled) reservedZero(displayFrom, `${where}: display_from (per tile in version 4) at +18`, version);
    else if (displayFrom > Math.max(nChunks, 1)) throw new BitstreamFormatError(`${where}: display_from ${displayFrom} exceeds chunk_count ${nChunks}`);
    if (kCb > MAX_CODEBOOK) throw new LimitError(`${where}: codebook_size ${kCb} exceeds ${MAX_CODEBOOK}`);
    if (coding === 1 && (knnK < 1 || knnK > 64)) throw new BitstreamFormatError(`${where}: knn_k ${knnK} outside 1..64`);
    if (coding === 0 && (knnK || kCb)) throw new BitstreamFormatError(`${where}: an intra layer has knn_k 0 and no codebook, got ${knnK} and ${kCb}`);
    const needed = LAYER_FIXED_BYTES + 12 * kCb + perChunk * nChunks + (tiled ? TILE_ENTRY_BYTES * nTiles : 0);
    if (needed > recordBytes) throw new BitstreamFormatError(`${where}: record_bytes ${recordBytes} < ${needed} needed by its counts`);
    const codebook = new Int32Array(3 * kCb);
    for (let i = 0; i < 3 * kCb; i++) codebook[i] = v.getInt32(pos + 4 * i, true);
    pos += 12 * kCb;
    let tileChunks = [nChunks], tileDisplayFrom = [displayFrom];
    if (tiled) {
      tileChunks = []; tileDisplayFrom = [];
      for (let t = 0; t < nTiles; t++) {
        const tc = v.getUint32(pos, true), tdf = v.getUint16(pos + 4, true);
        reservedZero(v.getUint16(pos + 6, true), `${where}: tile ${t} entry reserved u16`, version);
        if (tdf > Math.max(tc, 1)) throw new BitstreamFormatError(`${where}: tile ${t} display_from ${tdf} exceeds its ${tc} chunks`);
        tileChunks.push(tc); tileDisplayFrom.push(tdf);
        pos += TILE_ENTRY_BYTES;
      }
      const sum = tileChunks.reduce((a, b) => a + b, 0);
      if (sum !== nChunks) throw new BitstreamFormatError(`${where}: tiles hold ${sum} chunks, the layer ${nChunks}`);
    }
    const chunkTile = [];
    tileChunks.forEach((tc, t) => { for (let i = 0; i < tc; i++) chunkTile.push(t); });
    const tileG = new Array(nTiles).fill(0);
    const chunks = [];
    let totalG = 0;
    for (let ci = 0; ci < nChunks; ci++) {
      const o = pos;
      const offset = Number(v.getBigUint64(o, true)), dcBytes = v.getUint32(o + 8, true), fullBytes = v.getUint32(o + 12, true);
      const g = v.getUint32(o + 16, true), crcDc = v.getUint32(o + 20, true), crcRest = v.getUint32(o + 24, true);
      pos += CHUNK_ENTRY_BYTES;
      const cw = `layer ${li} chunk ${ci} entry`;
      reservedZero(v.getUint32(o + 28, true), `${cw}: reserved u32 at +28`, version);
      if (coding === 0 && crcRest !== 0) throw new BitstreamFormatError(`${cw}: an intra chunk has no rest part, crc_rest must be 0, got ${crcRest}`);
      if (offset !== expected) throw new BitstreamFormatError(`${cw}: offset expected ${expected}, got ${offset}`);
      if (!(dcBytes <= fullBytes) || (coding === 0 && dcBytes !== fullBytes)) throw new BitstreamFormatError(`${cw}: dc_bytes ${dcBytes} / full_bytes ${fullBytes} inconsistent`);
      // an inter chunk with dc_bytes == full_bytes is joint (version 2): its one part holds every stream
      if (coding === 1 && dcBytes === fullBytes && major === 1) throw new BitstreamFormatError(`${cw}: dc_bytes == full_bytes ${fullBytes} (a joint chunk) needs version 2`);
      if (coding === 1 && dcBytes === fullBytes && crcRest !== 0) throw new BitstreamFormatError(`${cw}: a joint chunk has no rest part, crc_rest must be 0, got ${crcRest}`);
      if (offset + fullBytes > total) throw new BitstreamFormatError(`${cw}: ends at ${offset + fullBytes}, beyond total_bytes ${total}`);
      if ((g === 0 && gaussians > 0) || g > gaussians) throw new BitstreamFormatError(`${cw}: gaussians ${g} invalid for a layer of ${gaussians}`);
      const tile = chunkTile[ci];
      const copies = coding === 1 ? COPIES_PER_LOWER_GAUSSIAN * lowerTileG[tile] : 0;
      const most = MAX_GAUSSIANS_PER_DC_BYTE * dcBytes + copies + GAUSSIANS_PER_CHUNK_FREE;
      if (g > most) throw new LimitError(`${cw}: ${g} Gaussians in a ${dcBytes}-byte dc part, more than the ${most} its bytes allow`);
      totalG += g;
      tileG[tile] += g;
      expected = offset + fullBytes;
      chunks.push({ offset, dcBytes, fullBytes, gaussians: g, crcDc, crcRest, fidelityFull: 0, fidelityDc: 0, fidelityUpgraded: 0 });
    }
    if (major >= 2) {
      for (const c of chunks) {
        c.fidelityFull = v.getUint16(pos, true); c.fidelityDc = v.getUint16(pos + 2, true); c.fidelityUpgraded = v.getUint16(pos + 4, true);
        pos += FIDELITY_ENTRY_BYTES;
      }
    }
    if (totalG !== gaussians) throw new BitstreamFormatError(`${where}: chunks hold ${totalG} Gaussians, layer claims ${gaussians}`);
    const extra = start + recordBytes - pos;
    if (extra && !newer) throw new BitstreamFormatError(`${where}: ${extra} unknown trailing bytes in a version ${major}.${minor} file`);
    pos = start + recordBytes;
    lowerTileG = tileG;
    layers.push({ coding: coding === 0 ? "intra" : "inter", shDegree: lsh, knnK, gaussians, chunkCount: nChunks, codebookSize: kCb, codebook, displayFrom, chunks, tileChunks, tileDisplayFrom });
  }
  while (pos < headerBytes) {
    const at = pos;
    need(8, "extension section");
    const stype = v.getUint16(pos, true), length = v.getUint32(pos + 4, true);
    pos += 8;
    if (!newer) throw new BitstreamFormatError(`unknown header section type ${stype} at offset ${at} in a version ${major}.${minor} file`);
    if (length > headerBytes - pos) throw new TruncatedError(`extension section at offset ${at} claims ${length} bytes, ${headerBytes - pos} remain`);
    pos += length;
  }
  if (expected !== total) throw new BitstreamFormatError(`total_bytes ${total} does not match the end of the last chunk ${expected}`);
  return {
    headerBytes, totalBytes: total, entropy: ENTROPY_NAMES[entropyId], mode: MODE_NAMES[modeId], shDegree, posBits, quality,
    gridMin, gridMax, steps, layers, version, tileBoxes, tileCount: nTiles, box: null,
  };
}

/**
 * Tile t as an untiled index (format.md 1.7): each layer holds that tile's chunks (absolute offsets), its Gaussian
 * count and display_from; `box` is the tile's box every decoded position must lie in. An untiled index is its own tile 0.
 */
export function tileView(idx, t) {
  if (!(Number.isInteger(t) && t >= 0 && t < idx.tileCount)) throw new RangeError(`tile ${t} outside 0..${idx.tileCount - 1}`);
  if (!idx.tileBoxes) return idx;
  const layers = idx.layers.map((l) => {
    let a = 0;
    for (let i = 0; i < t; i++) a += l.tileChunks[i];
    const chunks = l.chunks.slice(a, a + l.tileChunks[t]);
    const gaussians = chunks.reduce((s, c) => s + c.gaussians, 0);
    return { ...l, gaussians, chunkCount: chunks.length, chunks, displayFrom: l.tileDisplayFrom[t], tileChunks: [chunks.length], tileDisplayFrom: [l.tileDisplayFrom[t]] };
  });
  return { ...idx, layers, tileBoxes: null, tileCount: 1, box: idx.tileBoxes[t] };
}

/** Split a chunk part into Map(stream id -> {bytesPerValue, intra, payload}); unknown ids skipped only in a newer minor. */
export function unpackStreams(part, what, newerMinor = false) {
  const out = new Map();
  const v = view(part);
  let pos = 0;
  while (pos < part.length) {
    const at = pos;
    if (pos + 8 > part.length) throw new TruncatedError(`${what} stream header at offset ${at} needs 8 bytes, ${part.length - pos} remain`);
    const sid = v.getUint16(pos, true), flags = v.getUint16(pos + 2, true), length = v.getUint32(pos + 4, true);
    pos += 8;
    if (length > part.length - pos) throw new TruncatedError(`${what} stream ${sid} at offset ${at} claims ${length} bytes, ${part.length - pos} remain`);
    const payload = part.subarray(pos, pos + length);
    pos += length;
    if (!(sid in STREAM_NAMES)) {
      if (newerMinor) continue;
      throw new BitstreamFormatError(`${what}: unknown stream id ${sid} at offset ${at}`);
    }
    const bpv = flags & ~FLAG_INTRA;
    if (!BYTES_PER_VALUE.has(bpv) || ((flags & FLAG_INTRA) && !INTRA_CAPABLE.has(sid))) throw new BitstreamFormatError(`${what}: stream ${sid} at offset ${at} has invalid flags 0x${flags.toString(16)}`);
    if (out.has(sid)) throw new BitstreamFormatError(`${what}: stream ${STREAM_NAMES[sid]} appears twice (offset ${at})`);
    if (out.size >= MAX_STREAMS_PER_PART) throw new LimitError(`${what}: more than ${MAX_STREAMS_PER_PART} streams`);
    out.set(sid, { bytesPerValue: bpv, intra: !!(flags & FLAG_INTRA), payload });
  }
  return out;
}

export function checkCrc(part, expected, what) {
  const got = crc32(part);
  if (got !== expected) throw new ChecksumError(`${what}: CRC32 expected 0x${expected.toString(16)}, computed 0x${got.toString(16)}`);
}
