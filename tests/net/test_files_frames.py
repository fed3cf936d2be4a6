"""Range parsing against a slow reference, path confinement without sockets, WebRTC framing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatcast.errors import NetworkError
from splatcast.net.files import RequestError, parse_range_header, resolve_path
from splatcast.net.webrtc import FRAME, MAX_MESSAGE_BYTES, PAYLOAD_BYTES, decode_frame, encode_frames


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
    decoded = [decode_frame(f) for f in frames]
    assert [d[2] for d in decoded] == [False] * (len(frames) - 1) + [True]
    assert all(d[0] == 7 and d[1] == 206 and d[3] == n for d in decoded)
    assert b"".join(d[4] for d in decoded) == body


@given(st.binary(max_size=FRAME.size - 1))
def test_short_frames_raise_network_error(data):
    with pytest.raises(NetworkError):
        decode_frame(data)


def test_oversized_frame_raises_network_error():
    with pytest.raises(NetworkError, match="exceeds"):
        decode_frame(bytes(MAX_MESSAGE_BYTES + 1))
