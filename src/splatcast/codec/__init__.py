"""The scalable codec: quality layers in, a prefix-decodable .splc bitstream out (paper section II).

Owns: importance order and chunking (``layers``), scalar quantizers (``quantize``), deterministic KNN (``knn``),
inter-layer predictors (``predict``), SH-DC residual VQ (``vq``), the container and index (``container``),
``encoder``, ``decoder`` (incl. :class:`ProgressiveDecoder`), ``info``. Entropy back-ends live in ``entropy``.
Does not own: file formats of scenes, rendering, DASH packaging. Spec: docs/format.md.
"""

from splatcast.codec.container import PREAMBLE_BYTES, ChunkIndex, LayerIndex, StreamIndex, header_length, read_index
from splatcast.codec.decoder import ProgressiveDecoder, decode, decode_progressive
from splatcast.codec.encoder import EncoderConfig, encode, encode_with_stats
from splatcast.codec.info import describe

__all__ = [
    "PREAMBLE_BYTES",
    "ChunkIndex",
    "EncoderConfig",
    "LayerIndex",
    "ProgressiveDecoder",
    "StreamIndex",
    "decode",
    "decode_progressive",
    "describe",
    "encode",
    "encode_with_stats",
    "header_length",
    "read_index",
]
