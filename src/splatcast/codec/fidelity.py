"""Fidelity of every state a streaming client can show, measured once by the encoder and stored in the index.

A client (docs/streaming.md, "Monotone display") passes through three families of states per layer j, with the
layers below complete:
* ``full[c]``: chunks 0..c of layer j received in full refinement (one pass);
* ``dc[c]``: the dc parts of chunks 0..c (the dc sweep of a two-pass layer);
* ``upgraded[k]``: every chunk's dc part, then the rest parts of chunks 0..k (the upgrade sweep).
Each value is the fidelity PSNR of what the decoder shows in that state (docs/format.md section 5) against the
file's top layer, over an orbit of small views. Replaying the real decoder over the file's own bytes makes the
numbers describe exactly what a client shows, display_from and the MDC rule included.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from splatcast.codec.container import fidelity_db

FIDELITY_VIEWS = 4  # the orbit `splatcast play` reports fidelity on by default (4 views, 128 px)
FIDELITY_PX = 128


@dataclass
class LayerFidelity:
    """dB per chunk of one layer (inf: identical to the top layer); see the module docstring."""

    full: list[float]
    dc: list[float]
    upgraded: list[float]


def started_layers(index, received: list[int]) -> list[int]:
    """Layers that have a chunk, or are empty with every layer below complete (docs/format.md section 5)."""
    n = [len(li.chunks) for li in index.layers]
    full = [r == c for r, c in zip(received, n)]
    return [j for j in range(len(n)) if received[j] or (n[j] == 0 and all(full[:j]))]


def state_fidelity(index, received: list[int], pending: list[set[int]]) -> float | None:
    """The index's fidelity (dB; inf: the top layer) of the state with ``received[j]`` chunks of layer j in, of
    which ``pending[j]`` only by their dc part; None if the file does not say or the state was not measured."""
    started = started_layers(index, received)
    if not started:
        return None
    t = started[-1]
    chunks = index.layers[t].chunks
    c, waiting = received[t], set(pending[t])
    if not chunks or any(received[j] < len(index.layers[j].chunks) or pending[j] for j in range(t)):
        return None
    if not waiting:
        code = chunks[c - 1].fidelity_full
    elif waiting == set(range(c)):
        code = chunks[c - 1].fidelity_dc
    elif c == len(chunks) and waiting == set(range(min(waiting), c)):
        code = chunks[min(waiting) - 1].fidelity_upgraded
    else:
        return None
    return fidelity_db(code)


def measure_states(
    data: bytes, views: int = FIDELITY_VIEWS, size: int = FIDELITY_PX, reference=None, tile: int = 0
) -> list[LayerFidelity]:
    """Fidelity of every state of every layer of one tile of the file ``data`` (see the module docstring; an
    untiled file is its own tile 0), against the tile's top layer. ``reference``: that top layer decoded when the
    caller has it (the encoder does), else it is decoded here."""
    from splatcast.codec.decoder import ProgressiveDecoder, decode_progressive
    from splatcast.render.metrics import Fidelity

    if reference is None:
        reference = decode_progressive(data).tile(tile).cloud()
    score = Fidelity(reference, views, size)
    out: list[LayerFidelity] = []
    dec = ProgressiveDecoder(data).tile(tile)  # the one-pass session: every chunk full, layer after layer
    for j, li in enumerate(dec.index.layers):
        split = any(ce.dc_bytes < ce.full_bytes for ce in li.chunks)
        if split:  # the two-pass session of this layer starts from the same state: the layers below complete
            dc, upgraded = _two_pass(copy.deepcopy(dec), data, j, score)
        full = []
        for c, ce in enumerate(li.chunks):
            dec.add_chunk(j, c, data[ce.offset : ce.offset + ce.full_bytes], "full")
            full.append(score(dec.cloud()))
        if not split:  # no dc-only part: the two-pass states are the one-pass ones
            dc, upgraded = list(full), [full[-1]] * len(full) if full else []
        out.append(LayerFidelity(full, dc, upgraded))
    return out


def _two_pass(dec, data: bytes, j: int, score) -> tuple[list[float], list[float]]:
    """The dc sweep of layer j, then its upgrade sweep, from a tile decoder holding the layers below complete."""
    dc, upgraded = [], []
    chunks = dec.index.layers[j].chunks
    for c, ce in enumerate(chunks):
        dec.add_chunk(j, c, data[ce.offset : ce.offset + ce.dc_bytes], "dc")
        dc.append(score(dec.cloud()))
    for c, ce in enumerate(chunks):
        if ce.dc_bytes < ce.full_bytes:
            dec.upgrade_chunk(j, c, data[ce.offset + ce.dc_bytes : ce.offset + ce.full_bytes])
        upgraded.append(score(dec.cloud()))
    return dc, upgraded
