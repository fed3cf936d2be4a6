"""``paq`` back-end (wire id 2): PyPI ``paq`` (a paq9a binding), the paper's slow, strong rate anchor.

Payload: ``u32 LE crc32`` of the rest, then paq9a's own stream: one or more blocks ``0x00``, ``'c'`` (0x63),
``u32 BE`` uncompressed size, ``u32 BE`` compressed size, compressed bytes (the model carries over between blocks).
paq9a itself is not safe on bad input: a truncated or altered stream can make it loop for ~4 GiB of output (measured:
a 2-byte prefix hangs) or produce garbage, and it holds the GIL, so it cannot be interrupted. Before calling it we
therefore check the CRC32 (catches accidental corruption) and that the block headers tile the payload exactly with
uncompressed sizes summing to count * itemsize (bounds its work to the expected output). A payload crafted to pass
these checks still reaches paq9a's unchecked decoder, so it runs in a forked child process with a CPU-time and
wall-clock limit proportional to the expected output (:data:`PAQ_SECONDS_BASE` + size / :data:`PAQ_MIN_BYTES_PER_S`)
and an address-space cap; the parent waits interruptibly (Ctrl-C kills the child) and reads at most the expected
bytes. Where ``os.fork`` is missing the decoder runs in-process, unguarded.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import time
import zlib

from splatcast.errors import BitstreamFormatError, ChecksumError, LimitError, TruncatedError

HEADER = struct.Struct("<I")
PAQ_PREFIX = b"\x00c"
PAQ_BLOCK_HEADER = struct.Struct(">2sII")  # 0x00 'c', uncompressed size, compressed size
PAQ_SECONDS_BASE = 5.0  # child process limits: paq9a decodes ~1-3 MB/s here; these allow 10x slower
PAQ_MIN_BYTES_PER_S = 100_000
PAQ_EXTRA_ADDRESS_SPACE = 2 << 30  # the child may map this much beyond the parent's size (paq9a models + output)


def _paq():
    try:
        import paq
    except ImportError as exc:  # optional dependency (needs cython to build)
        raise BitstreamFormatError(f"the paq back-end needs the optional 'paq' package: {exc}") from None
    return paq


def encode(raw: bytes) -> bytes:
    body = _paq().compress(raw)
    return HEADER.pack(zlib.crc32(body)) + body


def decode(data: bytes, size: int) -> bytes:
    data = bytes(data)
    if len(data) < HEADER.size + PAQ_BLOCK_HEADER.size:
        raise TruncatedError(f"paq payload is {len(data)} bytes, shorter than its 14-byte header")
    (crc,) = HEADER.unpack_from(data)
    body = data[HEADER.size :]
    actual = zlib.crc32(body)
    if actual != crc:
        raise ChecksumError(f"paq payload CRC32 is {actual:#010x}, header says {crc:#010x}")
    pos, total = 0, 0
    while pos < len(body):
        if len(body) - pos < PAQ_BLOCK_HEADER.size:
            raise TruncatedError(f"paq payload ends inside a block header at offset {HEADER.size + pos}")
        prefix, usize, csize = PAQ_BLOCK_HEADER.unpack_from(body, pos)
        if prefix != PAQ_PREFIX:
            raise BitstreamFormatError(f"paq block at offset {HEADER.size + pos} starts with {prefix.hex()}, not 0063")
        pos += PAQ_BLOCK_HEADER.size + csize
        total += usize
        if pos > len(body) or total > size:
            raise BitstreamFormatError(
                f"paq block at offset {HEADER.size + pos}: sizes exceed the payload or the expected {size} bytes"
            )
    if total != size:
        raise BitstreamFormatError(f"paq blocks declare {total} bytes, expected {size}")
    raw = _decompress_guarded(body, size)
    if len(raw) != size:
        raise BitstreamFormatError(f"paq payload decodes to {len(raw)} bytes, expected {size}")
    return raw


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _decompress_guarded(body: bytes, size: int) -> bytes:
    """paq9a in a forked child: CPU, wall-clock and address-space limits, at most `size` bytes read back."""
    paq = _paq()
    if not hasattr(os, "fork"):
        return paq.decompress(body)
    limit_s = PAQ_SECONDS_BASE + size / PAQ_MIN_BYTES_PER_S
    vm = _vm_bytes()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: decode, write, exit without running the parent's atexit handlers
        code = 1
        try:
            os.close(r)
            import resource

            cpu = int(limit_s) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            if vm:
                resource.setrlimit(resource.RLIMIT_AS, (vm + PAQ_EXTRA_ADDRESS_SPACE, vm + PAQ_EXTRA_ADDRESS_SPACE))
            out = paq.decompress(body)
            view = memoryview(out)[: size + 1]
            while view:
                view = view[os.write(w, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks, got = [], 0
    deadline = time.monotonic() + limit_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LimitError(f"paq payload: the decoder ran past {limit_s:.0f} s for {size} bytes (crafted input?)")
            # short waits: a Ctrl-C that the kernel hands to another thread interrupts no syscall here, and its
            # Python handler (KeyboardInterrupt) only runs once this thread is back in the interpreter
            ready, _, _ = select.select([r], [], [], min(left, 0.1))
            if not ready:
                continue
            piece = os.read(r, 1 << 20)
            if not piece:
                break
            got += len(piece)
            if got > size:
                raise BitstreamFormatError(f"paq payload decodes to more than the expected {size} bytes")
            chunks.append(piece)
    finally:
        os.close(r)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    if got < size and os.WIFSIGNALED(status):
        raise LimitError(f"paq payload: the decoder was stopped by signal {os.WTERMSIG(status)} (resource limit)")
    return b"".join(chunks)
