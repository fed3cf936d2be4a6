"""DASH packaging of splatcast streams (paper section II-C / III-C).

Owns: the MPD element model with symmetric lxml parse/write (``mpd``), the mapping between a .splc stream index and
an MPD of layer Representations and operating-point SubRepresentations (``layout``), and the packager that writes
``manifest.mpd`` beside the .splc (``packager``). Does not own: the bitstream (splatcast.codec), transport or
adaptation (splatcast.net). Spec of the mapping: docs/streaming.md.
"""

from splatcast.dash.layout import StreamManifest, build_mpd, check_index_matches, interpret_mpd
from splatcast.dash.mpd import MPD, parse_mpd, write_mpd
from splatcast.dash.packager import package

__all__ = [
    "MPD",
    "StreamManifest",
    "build_mpd",
    "check_index_matches",
    "interpret_mpd",
    "package",
    "parse_mpd",
    "write_mpd",
]
