// The decoder's error hierarchy (docs/format.md 1.6): every rejection of a bitstream is a BitstreamError.
export class BitstreamError extends Error {
  constructor(message) { super(message); this.name = this.constructor.name; }
}
export class TruncatedError extends BitstreamError {}
export class BitstreamFormatError extends BitstreamError {}
export class UnsupportedVersionError extends BitstreamError {}
export class ChecksumError extends BitstreamError {}
export class LimitError extends BitstreamError {}
