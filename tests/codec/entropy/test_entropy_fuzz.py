"""Fuzz: truncations, bit flips and garbage of valid payloads raise only BitstreamError subclasses, quickly."""

from __future__ import annotations

import time

import numpy as np
import pytest
from entropy_streams import laplace_residuals, modes, morton_deltas, vq_indices

from splatcast.codec.entropy import decode_stream, encode_stream
from splatcast.errors import BitstreamError, ChecksumError, TruncatedError

N_MUTATIONS = {"lzma": 1200, "zstd": 1200, "rans": 2000, "irans": 2000, "paq": 100}


def _payloads(backend):
    rng = np.random.default_rng(0)
    n = 300 if backend == "paq" else 2000
    m = modes(rng, n)
    ctx = np.minimum(m, 2).astype(np.int64)
    return [
        (laplace_residuals(rng, n, 3.0), None),
        (laplace_residuals(rng, n, 3.0), ctx),
        (m, None),
        (vq_indices(rng, n).astype(np.uint16), ctx),
        (morton_deltas(rng, n), None),
        (np.zeros(0, np.int32), None),
    ]


def _decode_or_bitstream_error(data, backend, values, ctx):
    try:
        out = decode_stream(data, backend, values.shape[0], values.dtype, ctx)
    except BitstreamError:
        return None
    assert out.dtype == values.dtype and out.shape == values.shape
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["lzma", "zstd", "rans", "irans", "paq"])
def test_truncations_and_bit_flips(backend):
    rng = np.random.default_rng(1)
    cases = [(v, c, encode_stream(v, backend, c)) for v, c in _payloads(backend)]
    for i in range(N_MUTATIONS[backend]):
        values, ctx, payload = cases[i % len(cases)]
        if i % 2 == 0:
            cut = int(rng.integers(0, len(payload)))
            out = _decode_or_bitstream_error(payload[:cut], backend, values, ctx)
            assert out is None or np.array_equal(out, values)  # a prefix never decodes to wrong values... or errors
        else:
            data = bytearray(payload)
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(0, len(data)))
                data[pos] ^= 1 << int(rng.integers(0, 8))
            _decode_or_bitstream_error(bytes(data), backend, values, ctx)


@pytest.mark.parametrize("backend", ["lzma", "zstd", "rans", "irans", "paq"])
def test_garbage_and_wrong_count(backend):
    rng = np.random.default_rng(2)
    values = laplace_residuals(rng, 1000, 2.0)
    payload = encode_stream(values, backend)
    for _ in range(200 if backend != "paq" else 20):
        garbage = rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8).tobytes()
        _decode_or_bitstream_error(garbage, backend, values, None)
    for count in (0, 999, 1001, 10**7):
        with pytest.raises(BitstreamError):
            decode_stream(payload, backend, count, np.int32)
    with pytest.raises(BitstreamError):
        decode_stream(payload + b"\x00", backend, 1000, np.int32)  # trailing bytes are not ignored


def test_empty_payload_is_truncated():
    for backend in ("lzma", "zstd", "rans", "irans", "paq"):
        with pytest.raises(BitstreamError):
            decode_stream(b"", backend, 5, np.int32)
    with pytest.raises(TruncatedError):
        decode_stream(b"", "rans", 5, np.int32)


def test_paq_is_guarded_before_the_unchecked_decoder():
    """paq9a loops on a truncated stream (measured: hangs at 2 bytes); the CRC and length checks stop it first."""
    values = np.arange(100, dtype=np.int32)
    payload = encode_stream(values, "paq")
    body = payload[4:]
    with pytest.raises(ChecksumError):
        decode_stream(payload[:4] + body[:12], "paq", 100, np.int32)
    with pytest.raises(BitstreamError):  # right CRC, wrong declared length: rejected without calling paq9a
        import struct
        import zlib

        forged = body[:2] + struct.pack(">I", 0x7FFFFFFF) + body[6:]
        decode_stream(struct.pack("<I", zlib.crc32(forged)) + forged, "paq", 100, np.int32)


def test_paq_multi_block_payloads_roundtrip():
    values = np.random.default_rng(5).integers(-(2**31), 2**31 - 1, 40_000, dtype=np.int32)  # incompressible
    payload = encode_stream(values, "paq")
    assert len(payload) > 0x20000  # more than paq9a's 128 KiB block buffer: at least two blocks
    np.testing.assert_array_equal(decode_stream(payload, "paq", values.shape[0], np.int32), values)


def test_zstd_frame_declaring_a_different_size_is_rejected_before_decoding():
    big = encode_stream(np.zeros(1 << 20, np.int64), "zstd")  # 8 MiB of zeros in a few hundred bytes
    with pytest.raises(BitstreamError):
        decode_stream(big, "zstd", 16, np.int64)


def test_lzma_bomb_stops_at_expected_size():
    big = encode_stream(np.zeros(1 << 20, np.int64), "lzma")
    with pytest.raises(BitstreamError):
        decode_stream(big, "lzma", 16, np.int64)


@pytest.mark.parametrize("backend", ["rans", "irans"])
def test_rans_context_out_of_range_is_a_bitstream_error(backend):
    values = np.arange(10, dtype=np.int32)
    ctx = np.array([0, 1] * 5)
    payload = encode_stream(values, backend, ctx)
    with pytest.raises(BitstreamError):
        decode_stream(payload, backend, 10, np.int32, np.full(10, 7))


class _HangingPaq:
    """Stands in for paq9a on a crafted payload that passes every check and then loops (issue 12, finding 7)."""

    @staticmethod
    def decompress(body):
        while True:
            pass


def test_paq_decoder_that_never_returns_is_stopped(monkeypatch):
    import time

    from splatcast.codec.entropy import paq_backend
    from splatcast.errors import LimitError

    pytest.importorskip("paq")
    payload = encode_stream(np.arange(100, dtype=np.int32), "paq")
    monkeypatch.setattr(paq_backend, "_paq", lambda: _HangingPaq)
    monkeypatch.setattr(paq_backend, "PAQ_SECONDS_BASE", 1.0)
    t0 = time.monotonic()
    with pytest.raises(LimitError, match="ran past|stopped by signal"):
        decode_stream(payload, "paq", 100, np.int32)
    assert time.monotonic() - t0 < 5


def test_ctrl_c_interrupts_a_hanging_paq_decode(monkeypatch):
    import os
    import signal
    import threading

    from splatcast.codec.entropy import paq_backend

    pytest.importorskip("paq")
    payload = encode_stream(np.arange(100, dtype=np.int32), "paq")
    monkeypatch.setattr(paq_backend, "_paq", lambda: _HangingPaq)
    # the kernel may hand a process-directed SIGINT to any thread that does not block it (as in `play`, whose
    # decoder runs in a worker thread): then no syscall of this thread is interrupted, yet the decode must stop at
    # once, not at its time limit. Blocking SIGINT in this thread while a waiting thread and the timer's do not
    # makes the kernel deliver it elsewhere every time.
    idle = threading.Event()
    waiter = threading.Thread(target=idle.wait, daemon=True)
    waiter.start()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    # a shell that starts a job in the background without job control makes it ignore SIGINT: Python then never
    # raises KeyboardInterrupt, so the test puts the interpreter's own handler in place
    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            decode_stream(payload, "paq", 100, np.int32)
        assert time.monotonic() - t0 < 2.0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGINT, old_handler)
        timer.cancel()
        idle.set()
