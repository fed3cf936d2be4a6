"""One exception hierarchy for everything splatcast reads from outside.

Every error raised on bad input is a :class:`SplatcastError`, so callers (the CLI, the server) can catch one type
and print a one-line message. Messages name the field, the offset, what was expected and what came.
"""

from __future__ import annotations


class SplatcastError(Exception):
    """Base of every error splatcast raises on bad input or bad arguments."""


class SceneError(SplatcastError):
    """An in-memory scene violates the model's invariants (shapes, finiteness, SH degree)."""


class FormatError(SplatcastError):
    """A scene file (PLY, SOG, SPZ, .splat, ...) is malformed, truncated or of an unknown kind."""


class BitstreamError(SplatcastError):
    """A splatcast bitstream (.splc) cannot be decoded."""


class TruncatedError(BitstreamError):
    """The bitstream ends before a field it announces; more bytes may make it decodable."""


class BitstreamFormatError(BitstreamError):
    """The bytes are present but wrong: bad magic, impossible value, inconsistent counts."""


class UnsupportedVersionError(BitstreamError):
    """The bitstream's major version is newer than this decoder understands."""


class ChecksumError(BitstreamError):
    """A chunk's CRC32 does not match its bytes."""


class LimitError(BitstreamError):
    """A count or size in the bitstream exceeds a hard limit checked before allocating."""


class ManifestError(SplatcastError):
    """A DASH manifest (MPD) is malformed or does not describe a splatcast stream."""


class NetworkError(SplatcastError):
    """A transfer failed: bad HTTP status, short body, data channel closed."""
