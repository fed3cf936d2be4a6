"""SPZ: v4 writer/reader round trip within quantisation, a valid v4 header, legacy v2/v3 (gzip, zstd, raw) reading,
vectorised rotation packing against the per-element reference, and malformed headers."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zstandard
from format_fixtures import quat_angle_deg, random_cloud, slow_unpack_spz_smallest_three, spz_legacy_bytes

from splatcast.errors import FormatError
from splatcast.scene.formats import detect_format, read_scene, write_scene
from splatcast.scene.formats.spz import pack_smallest_three, read_spz_bytes, spz_v4_bytes, unpack_smallest_three


def assert_close_to(back, cloud, quat_deg, sh_tol):
    np.testing.assert_allclose(back.means, cloud.means, atol=0.5 / 4096 + 1e-6)
    np.testing.assert_allclose(back.scales, cloud.scales, atol=0.5 / 16 + 1e-5)
    np.testing.assert_allclose(back.sh_dc, cloud.sh_dc, atol=0.5 / (0.15 * 255) + 1e-5)
    np.testing.assert_allclose(back.alphas(), cloud.alphas(), atol=0.5 / 255 + 1e-5)
    assert quat_angle_deg(back.quats, cloud.quats).max(initial=0.0) < quat_deg
    np.testing.assert_allclose(back.sh_rest, cloud.sh_rest, atol=sh_tol)
    assert np.allclose(np.linalg.norm(back.quats, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 500])
@pytest.mark.parametrize("degree", [0, 1, 3])
def test_v4_round_trip_within_quantisation(tmp_path, n, degree):
    cloud = random_cloud(n, degree, seed=10 + n + degree)
    path = tmp_path / "scene.spz"
    write_scene(cloud, path)
    assert detect_format(path) == "spz"
    back = read_scene(path)
    assert len(back) == n and back.sh_degree == degree
    # 9-bit smallest-three: < 0.3 degrees; SH: 4-bit buckets of 16/128 for degree >= 2 (5-bit for degree 1)
    assert_close_to(back, cloud, quat_deg=0.3, sh_tol=(8 if degree > 1 else 4) / 128 + 0.5 / 128 + 1e-6)


def test_v4_header_extension_and_table_of_contents_are_valid():
    cloud = random_cloud(300, 1, seed=2)
    data = spz_v4_bytes(cloud)
    magic, version, n, deg, frac, flags, streams, toc = struct.unpack_from("<4sIIBBBBI", data)
    # flag 0x2: one 12-byte record, SPZ_ADOBE_coordinate_system declaring RDF (code 6), before the table
    assert (magic, version, n, deg, frac, flags, streams, toc) == (b"NGSP", 4, 300, 1, 12, 2, 6, 44)
    assert data[20:32] == bytes(12)
    assert struct.unpack_from("<III", data, 32) == (0xADBE0003, 4, 6)
    expected_raw = [300 * 9, 300, 300 * 3, 300 * 3, 300 * 4, 300 * 9]
    offset = toc + 16 * streams
    for i in range(streams):
        comp, raw = struct.unpack_from("<QQ", data, toc + 16 * i)
        assert raw == expected_raw[i]
        frame = data[offset : offset + comp]
        assert frame[:4] == b"\x28\xb5\x2f\xfd"
        assert len(zstandard.ZstdDecompressor().decompress(frame)) == raw
        offset += comp
    assert offset == len(data)
    raw_file = spz_v4_bytes(cloud, axes="raw")  # splat-transform's layout: no extension
    assert raw_file[14] == 0 and struct.unpack_from("<I", raw_file, 16)[0] == 32


def test_large_coordinates_lower_the_fractional_bits():
    cloud = random_cloud(10, 0, seed=3, extent=5000.0)
    data = spz_v4_bytes(cloud)
    assert data[13] < 12
    back = read_spz_bytes(data)
    np.testing.assert_allclose(back.means, cloud.means, atol=0.5 / (1 << data[13]) + 1e-3)


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("compression", ["gzip", "zstd", "raw"])
def test_legacy_versions_read(version, compression):
    cloud = random_cloud(200, 2, seed=version)
    back = read_spz_bytes(spz_legacy_bytes(cloud, version, compression))
    # v2 stores x, y, z as bytes and rebuilds w: coarse near w = 0
    assert_close_to(back, cloud, quat_deg=0.3 if version == 3 else 12.0, sh_tol=0.5 / 128 + 1e-6)


def test_vectorised_smallest_three_matches_reference():
    rng = np.random.default_rng(0)
    comps = rng.integers(0, 2**32, size=2000, dtype=np.uint64).astype(np.uint32)
    fast = unpack_smallest_three(comps)
    slow = np.array([slow_unpack_spz_smallest_three(int(c)) for c in comps])
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    q = rng.normal(size=(2000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    assert quat_angle_deg(unpack_smallest_three(pack_smallest_three(q)), q).max() < 0.3


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"XGSP" + d[4:], "unknown start"),
        (lambda d: d[:4] + struct.pack("<I", 9) + d[8:], "unsupported version 9"),
        (lambda d: d[:8] + struct.pack("<I", 2**31) + d[12:], "count"),
        (lambda d: d[:12] + b"\x07" + d[13:], "sh_degree"),
        (lambda d: d[:15] + b"\x09" + d[16:], "num_streams"),
        (lambda d: d[:16] + struct.pack("<I", 10**9) + d[20:], "toc_offset"),
        (lambda d: d[:40] + struct.pack("<Q", 12345) + d[48:], "uncompressed"),
        (lambda d: d[:32] + struct.pack("<Q", 2**40) + d[40:], "needs"),
        (lambda d: d[:200], "needs|truncated|corrupt"),
    ],
)
def test_malformed_v4_raises_format_error(mutate, message):
    data = spz_v4_bytes(random_cloud(50, 0, seed=1), axes="raw")  # (no extension record: the table at byte 32)
    with pytest.raises(FormatError, match=message):
        read_spz_bytes(mutate(data))


def test_gzip_bomb_is_rejected():
    # a header claiming 1 Gaussian followed by 50 MB of zeros: inflation stops at the claimed size + slack
    import gzip

    header = struct.pack("<IIIBBBB", 0x5053474E, 3, 1, 0, 12, 0, 0)
    bomb = gzip.compress(header + bytes(50_000_000), compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(FormatError, match="inflates beyond"):
        read_spz_bytes(bomb)


def test_sh_quantisation_matches_reference_rule():
    """The reference writer: q = round(x * 128) + 128, rounded to a multiple of 2^(8 - bits), clamped to a byte."""
    from splatcast.scene.formats.spz import _quantize_sh

    rng = np.random.default_rng(0)
    sh = rng.uniform(-1.3, 1.3, size=(50, 15, 3)).astype(np.float32)
    sh[0, 0, 0], sh[0, 3, 0], sh[0, 4, 0] = 1.0, -1.0, 0.0

    def slow(x: float, bits: int) -> int:
        q = int(np.rint(np.float32(x) * np.float32(128.0))) + 128
        bucket = 1 << (8 - bits)
        q = int((q + bucket // 2) / bucket) * bucket  # C++ integer division truncates toward zero
        return min(max(q, 0), 255)

    expected = np.array(
        [[[slow(sh[i, j, c], 5 if j < 3 else 4) for c in range(3)] for j in range(15)] for i in range(50)]
    )
    np.testing.assert_array_equal(_quantize_sh(sh), expected)


def test_v4_count_beyond_what_its_bytes_can_hold_is_refused():
    """An 8.6 kB SPZ v4 declaring millions of Gaussians reached 2.6 GB (issue 12): count is checked against size."""
    data = bytearray(spz_v4_bytes(random_cloud(50, 0, seed=1)))
    struct.pack_into("<I", data, 8, 5_000_000)  # header: magic, version, count
    with pytest.raises(FormatError, match="decompression bomb"):
        read_spz_bytes(bytes(data))


def test_a_trusted_caller_can_raise_the_expansion_limit():
    """Limits are overridable for files the caller trusts (issue 12): the same degenerate file is refused by
    default and read with a higher Gaussians-per-byte bound; the default comes back after the block."""
    from splatcast.scene.cloud import GaussianCloud
    from splatcast.scene.formats import ReaderLimits, read_scene, reader_limits, write_scene

    n = 300_000  # identical Gaussians compress to almost nothing: more than 32 per byte of the file
    one = random_cloud(1, 0, seed=2)
    cloud = GaussianCloud(*(np.repeat(a, n, axis=0) for a in (one.means, one.scales, one.quats, one.opacities,
                                                               one.sh_dc, one.sh_rest)))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "same.spz"
        write_scene(cloud, path)
        assert path.stat().st_size * 32 + 4096 < n
        with pytest.raises(FormatError, match="decompression bomb"):
            read_scene(path)
        assert len(read_scene(path, limits=ReaderLimits(max_gaussians_per_byte=100_000))) == n
        with reader_limits(max_gaussians_per_byte=100_000):
            assert len(read_scene(path)) == n
        with pytest.raises(FormatError, match="decompression bomb"):
            read_scene(path)


# ------------------------------------------------------------------------------- coordinate frames (axes)
# the reference library's codes for the eight Y-axis frames and their axis directions relative to RDF, written out
# here rather than derived from the letters as the reader does
FRAME_SIGNS = {1: (-1, 1, -1), 2: (1, 1, -1), 3: (-1, -1, -1), 4: (1, -1, -1),  # LDB RDB LUB RUB
               5: (-1, 1, 1), 6: (1, 1, 1), 7: (-1, -1, 1), 8: (1, -1, 1)}  # LDF RDF LUF RUF


def _with_frame(data: bytes, code: int | None) -> bytes:
    """An untagged v4 file (table at 32) with a coordinate-system record declaring ``code`` inserted."""
    if code is None:
        return data
    head = bytearray(data[:32])
    head[14] |= 2
    struct.pack_into("<I", head, 16, 44)
    return bytes(head) + struct.pack("<III", 0xADBE0003, 4, code) + data[32:]


def _sh_colour(cloud, d):
    """Colour of every Gaussian along unit direction d, by the renderer's basis (an oracle independent of the
    parity table that flip_axes uses)."""
    from splatcast.render.sh import sh_basis

    basis = np.zeros(16)
    sh_basis(float(d[0]), float(d[1]), float(d[2]), cloud.sh_degree, basis)
    k = cloud.sh_rest.shape[1]
    return basis[0] * cloud.sh_dc + np.einsum("k,nkc->nc", basis[1:1 + k], cloud.sh_rest)


@pytest.mark.parametrize("signs", [(1, -1, -1), (-1, 1, 1), (-1, -1, -1), (1, 1, -1)])
def test_axis_flips_move_covariances_and_view_dependent_colour_with_the_scene(signs):
    from splatcast.scene.formats.common import flip_axes

    cloud = random_cloud(200, 3, seed=7)
    out = flip_axes(cloud, signs)
    m = np.diag(np.asarray(signs, float))
    np.testing.assert_allclose(out.means, cloud.means @ m, atol=1e-6)

    def cov(c):
        return np.einsum("nij,nj,nkj->nik", c.rotation_matrices(), np.exp(2 * c.scales), c.rotation_matrices())

    np.testing.assert_allclose(cov(out), m @ cov(cloud) @ m, atol=1e-5)
    rng = np.random.default_rng(1)
    for d in rng.normal(size=(5, 3)):
        d /= np.linalg.norm(d)
        np.testing.assert_allclose(_sh_colour(out, d), _sh_colour(cloud, m @ d), atol=1e-5)
    np.testing.assert_array_equal(flip_axes(out, signs).means, cloud.means)  # its own inverse


@pytest.mark.parametrize("code", sorted(FRAME_SIGNS))
def test_a_declared_frame_is_converted_to_the_inria_frame(code):
    from splatcast.scene.formats.common import flip_axes

    cloud = random_cloud(100, 2, seed=code)
    stored = spz_v4_bytes(flip_axes(cloud, FRAME_SIGNS[code]), axes="raw")  # the scene in frame `code`
    back = read_spz_bytes(_with_frame(stored, code))
    assert_close_to(back, cloud, quat_deg=0.3, sh_tol=8 / 128 + 0.5 / 128 + 1e-6)
    # without the record the specification's RUB is assumed; "raw" and "rub" ignore a record
    np.testing.assert_allclose(read_spz_bytes(stored).means, read_spz_bytes(_with_frame(stored, 4)).means)
    np.testing.assert_array_equal(read_spz_bytes(_with_frame(stored, code), axes="raw").means,
                                  read_spz_bytes(stored, axes="raw").means)
    np.testing.assert_array_equal(read_spz_bytes(_with_frame(stored, code), axes="rub").means,
                                  read_spz_bytes(stored).means)


@pytest.mark.parametrize("axes", ["auto", "rub", "raw"])
def test_each_axes_choice_round_trips_through_its_own_reading(tmp_path, axes):
    cloud = random_cloud(300, 1, seed=11)
    path = tmp_path / "x.spz"
    write_scene(cloud, path, spz_axes=axes)
    assert_close_to(read_scene(path, spz_axes=axes), cloud, quat_deg=0.3, sh_tol=4 / 128 + 0.5 / 128 + 1e-6)
    if axes != "raw":  # a declared frame reads right by default whichever was chosen
        assert_close_to(read_scene(path), cloud, quat_deg=0.3, sh_tol=4 / 128 + 0.5 / 128 + 1e-6)


@pytest.mark.parametrize("record, message", [
    (struct.pack("<III", 0xADBE0003, 4, 17), "code 17"),
    (struct.pack("<III", 0xADBE0003, 4, 9), "Z-up frame LFD"),
    (struct.pack("<IIH", 0xADBE0003, 2, 6), "2 bytes, expected 4"),
    (struct.pack("<III", 0xADBE0003, 4, 6) * 2, "a second one"),
    (struct.pack("<II", 0xADBE0003, 400), "beyond the block"),
])
def test_bad_coordinate_system_records_are_format_errors(record, message):
    data = spz_v4_bytes(random_cloud(20, 0, seed=2), axes="raw")
    head = bytearray(data[:32])
    head[14] |= 2
    struct.pack_into("<I", head, 16, 32 + len(record))
    with pytest.raises(FormatError, match=message):
        read_spz_bytes(bytes(head) + record + data[32:])


def test_a_v3_file_declaring_its_frame_in_an_extension_record_is_read_in_that_frame():
    """v3 keeps extension records between the 16-byte header and the arrays (flag 0x2)."""
    import gzip

    cloud = random_cloud(60, 0, seed=5)
    body = gzip.decompress(spz_legacy_bytes(cloud, 3, "gzip"))  # RUB, as the fixture writes it
    tagged = bytearray(body[:16])
    tagged[14] |= 2
    as_rub = gzip.compress(bytes(tagged) + struct.pack("<III", 0xADBE0003, 4, 4) + body[16:])
    as_rdf = gzip.compress(bytes(tagged) + struct.pack("<III", 0xADBE0003, 4, 6) + body[16:])
    np.testing.assert_allclose(read_spz_bytes(as_rub).means, cloud.means, atol=0.5 / 4096 + 1e-6)
    np.testing.assert_allclose(read_spz_bytes(as_rdf).means, cloud.means * [1, -1, -1], atol=0.5 / 4096 + 1e-6)
