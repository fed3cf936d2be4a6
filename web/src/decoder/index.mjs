// Public API of the JavaScript .splc decoder (browser Web Worker and Node; no Node-only imports).
export { BitstreamError, TruncatedError, BitstreamFormatError, UnsupportedVersionError, ChecksumError, LimitError } from "./errors.mjs";
export { fidelityDb, headerLength, readIndex, tileView, PREAMBLE_BYTES } from "./container.mjs";
export { ProgressiveDecoder, TileDecoder, concatClouds } from "./progressive.mjs";
export { writePly } from "./plywriter.mjs";
import { SUPPORTED } from "./backends.mjs";
export { decodeIrans, decodeRans } from "./rans.mjs";
export { useReference as useReferenceKernels } from "./kernels.mjs";

/** Entropy back-ends this decoder supports ('lzma' and 'paq' are not: see docs/format.md / the report). */
export const SUPPORTED_ENTROPY = [...SUPPORTED];

/** One-time async initialisation; nothing to load for rans/zstd. Safe to call many times. */
export async function initDecoder() {}
