"""Range parsing against a slow reference, path confinement without sockets, WebRTC framing (frames and requests
round trip; malformed ones raise the project's errors, never a foreign exception)."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatcast.errors import NetworkError, SplatcastError
from splatcast.net.files import RequestError, parse_range_header, resolve_path
from splatcast.net.webrtc import (FLAG_LAST, FRAME, MAX_MESSAGE_BYTES, MAX_REQUEST_ID, PAYLOAD_BYTES, Frame, Request,
                                  WebRTCTransport, encode_frames)


def range_reference(first: str, last: str, size: int):
    """RFC 9110 byte-range semantics for one 'first-last' spec, spelled out: (start, end) or 'unsatisfiable'."""
    if first == "" and last == "":
        return "unsatisfiable"
    if first == "":
        n = int(last)
        return "unsatisfiable" if n == 0 or size == 0 else (max(0, size - n), size)
    start = int(first)
    if last != "" and int(last) < start:
        return "unsatisfiable"
    if start >= size:
        return "unsatisfiable"
    return (start, size if last == "" else min(size, int(last) + 1))


digits = st.one_of(st.just(""), st.integers(0, 2000).map(str))


@settings(max_examples=400, deadline=None)
@given(digits, digits, st.integers(0, 1500))
def test_range_header_matches_reference(first, last, size):
    want = range_reference(first, last, size)
    try:
        got = parse_range_header(f"bytes={first}-{last}", size)
        got = (got.start, got.end)
    except RequestError as exc:
        assert exc.status == 416
        got = "unsatisfiable"
    assert got == want


def test_no_range_or_other_unit_means_whole_file():
    assert parse_range_header(None, 10) is None
    assert parse_range_header("items=0-1", 10) is None


def test_resolve_path_confines_to_root(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "f.bin").write_bytes(b"x")
    (tmp_path / "out.txt").write_text("secret")
    (root / "ln").symlink_to(tmp_path / "out.txt")
    root = root.resolve()
    assert resolve_path(root, "/a/f.bin") == root / "a" / "f.bin"
    assert resolve_path(root, "a//./f.bin") == root / "a" / "f.bin"
    for path, status in [("/../out.txt", 403), ("/a/../../out.txt", 403), ("/ln", 403), ("/a", 404), ("/x", 404),
                         ("/a/f.bin/x", 404), ("/a\x00", 400), ("/" + "a" * 2000, 400)]:
        with pytest.raises(RequestError) as info:
            resolve_path(root, path)
        assert info.value.status == status, path


@pytest.mark.parametrize("n", [0, 1, PAYLOAD_BYTES - 1, PAYLOAD_BYTES, PAYLOAD_BYTES + 1, 5 * PAYLOAD_BYTES + 7])
def test_frames_carry_the_body_in_messages_of_at_most_16_kib(n):
    body = bytes(range(256)) * (n // 256 + 1)
    body = body[:n]
    pieces = [body[i : i + PAYLOAD_BYTES] for i in range(0, n, PAYLOAD_BYTES)]
    frames = list(encode_frames(7, 206, pieces, n))
    assert all(len(f) <= MAX_MESSAGE_BYTES for f in frames)
    decoded = [Frame.parse(f) for f in frames]
    assert [d.last for d in decoded] == [False] * (len(frames) - 1) + [True]
    assert all(d.request_id == 7 and d.status == 206 and d.total == n for d in decoded)
    assert b"".join(d.payload for d in decoded) == body


def test_frame_bytes_are_the_documented_header():
    # <u32 id, u16 status, u8 flags (bit 0: last), u8 reserved, u64 total>, little-endian (docs/streaming.md)
    frame = Frame(0x01020304, 206, True, 0x1122334455667788, b"xyz")
    assert bytes(frame) == bytes.fromhex("04030201" "ce00" "01" "00" "8877665544332211") + b"xyz"
    assert bytes(Frame(1, 200, False, 3)) == struct.pack("<IHBBQ", 1, 200, 0, 0, 3)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1), st.booleans(), st.integers(0, 2**64 - 1),
       st.binary(max_size=PAYLOAD_BYTES))
def test_frames_round_trip(rid, status, last, total, payload):
    frame = Frame(rid, status, last, total, payload)
    message = bytes(frame)
    assert len(message) == FRAME.size + len(payload) <= MAX_MESSAGE_BYTES
    assert Frame.parse(message) == frame
    assert Frame.parse(bytearray(message)) == Frame.parse(memoryview(message)) == frame


@given(st.binary(max_size=FRAME.size - 1))
def test_short_frames_raise_network_error(data):
    with pytest.raises(NetworkError, match="shorter"):
        Frame.parse(data)


def test_oversized_frame_raises_network_error():
    with pytest.raises(NetworkError, match="exceeds"):
        Frame.parse(bytes(MAX_MESSAGE_BYTES + 1))
    assert Frame.parse(bytes(MAX_MESSAGE_BYTES)).payload == bytes(PAYLOAD_BYTES)  # the largest allowed


@pytest.mark.parametrize("message", ["x" * 40, "", None, 5, ["not", "bytes"]])
def test_a_frame_of_the_wrong_kind_raises_network_error(message):
    # (a text message was once reported as a short frame, and None as a bare TypeError)
    with pytest.raises(NetworkError, match="binary frame"):
        Frame.parse(message)


def test_reserved_bits_are_ignored_as_before():
    message = FRAME.pack(3, 206, FLAG_LAST | 0xFE, 0xAB, 1) + b"z"
    assert Frame.parse(message) == Frame(3, 206, True, 1, b"z")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, MAX_REQUEST_ID), st.text(max_size=200),
       st.one_of(st.none(), st.tuples(st.integers(0, 2**63), st.integers(0, 2**63))))
def test_requests_round_trip(rid, path, byte_range):
    req = Request(rid, path, byte_range)
    text = str(req)
    assert json.loads(text) == {"id": rid, "path": path, "range": list(byte_range) if byte_range else None}
    assert Request.parse(text) == req


def test_request_text_is_what_the_client_always_sent():
    assert str(Request(1, "/a.splc", (0, 10))) == '{"id": 1, "path": "/a.splc", "range": [0, 10]}'
    assert str(Request(2, "/manifest.mpd")) == '{"id": 2, "path": "/manifest.mpd", "range": null}'


@pytest.mark.parametrize("message,status,rid", [
    (b'{"id": 1, "path": "/a"}', 400, 0),  # binary: the wrong kind of message
    (None, 400, 0),
    ("x" * 5000, 400, 0),  # too long
    ("not json", 400, 0),
    ("[1, 2]", 400, 0),  # not an object
    ('"id"', 400, 0),
    ('{"path": "/a"}', 400, 0),
    ('{"id": 1e999, "path": "/a"}', 400, 0),
    ('{"id": true, "path": "/a"}', 400, 0),
    (f'{{"id": {MAX_REQUEST_ID + 1}, "path": "/a"}}', 400, 0),  # huge id
    ('{"id": 7, "path": 5}', 400, 7),
    ('{"id": 7, "path": "/a", "range": [0]}', 416, 7),
    ('{"id": 7, "path": "/a", "range": [0, 1.5]}', 416, 7),
    ('{"id": 7, "path": "/a", "range": "0-1"}', 416, 7),
    ("[" * 4000, 400, 0),
])
def test_malformed_requests_raise_request_errors(message, status, rid):
    with pytest.raises(RequestError) as info:
        Request.parse(message)
    assert isinstance(info.value, SplatcastError)
    assert (info.value.status, info.value.request_id) == (status, rid)


class _Channel:
    """Answers each request with the given messages (a server's frames, or anything else)."""

    def __init__(self, transport, answer):
        self.transport, self.answer = transport, answer

    def send(self, text):
        for message in self.answer(Request.parse(text)):
            self.transport._queue.put_nowait(message)


def _fetch(answer, byte_range=(0, 10), max_bytes=None):
    async def main():
        t = WebRTCTransport("http://origin.invalid", timeout_s=5)
        t.channel = _Channel(t, answer)
        return await t.fetch("/a.splc", byte_range, max_bytes=max_bytes)

    return asyncio.run(main())


def test_transport_reassembles_frames():
    body = bytes(range(256)) * 200

    def answer(req):
        start, end = req.byte_range
        part = body[start:end]
        return encode_frames(req.request_id, 206, [part[i : i + PAYLOAD_BYTES] for i in range(0, len(part),
                                                                                       PAYLOAD_BYTES)], len(part))

    assert _fetch(answer, (5, 40_000)) == body[5:40_000]


@pytest.mark.parametrize("answer,match", [
    (lambda r: [bytes(Frame(r.request_id, 206, True, 2**64 - 1, b"x"))], "expected at most 10"),  # huge total
    (lambda r: [bytes(Frame(r.request_id, 206, True, 3, b"x" * 4))], "header said 3"),  # more than announced
    (lambda r: [bytes(Frame(r.request_id, 206, True, 10, b"x" * 4))], "header said 10"),  # less
    (lambda r: [bytes(Frame(r.request_id + 1, 206, True, 1, b"x"))], "frame for request"),
    (lambda r: [bytes(Frame(r.request_id, 404, True, 9, b"not found"))], "status 404: not found"),
    (lambda r: ["a text message where a frame belongs"], "binary frame"),
    (lambda r: [b"\0" * 5], "shorter"),
    (lambda r: [bytes(MAX_MESSAGE_BYTES + 1)], "exceeds"),
])
def test_transport_refuses_malformed_responses_with_network_errors(answer, match):
    with pytest.raises(NetworkError, match=match):
        _fetch(answer)


def test_transport_caps_whole_file_responses_at_max_bytes():
    with pytest.raises(NetworkError, match="expected at most 100"):
        _fetch(lambda r: [bytes(Frame(r.request_id, 200, False, 1 << 40, b"x"))], None, max_bytes=100)
