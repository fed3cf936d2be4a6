import numpy as np
import pytest

from splatcast.errors import SceneError
from splatcast.scene.cloud import GaussianCloud, sigmoid


def random_cloud(n: int, degree: int = 1, seed: int = 0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    k = (degree + 1) ** 2 - 1
    return GaussianCloud(
        means=rng.normal(size=(n, 3)),
        scales=rng.normal(-3, 0.5, (n, 3)),
        quats=rng.normal(size=(n, 4)),
        opacities=rng.normal(size=n),
        sh_dc=rng.normal(size=(n, 3)),
        sh_rest=rng.normal(0, 0.1, (n, k, 3)),
    )


@pytest.mark.parametrize("n", [0, 1, 17])
@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_shapes_and_degree(n, degree):
    c = random_cloud(n, degree)
    assert len(c) == n and c.sh_degree == degree
    assert all(a.dtype == np.float32 for a in c.arrays().values())
    c.validate()


def test_bad_shapes_and_values_are_rejected():
    c = random_cloud(4)
    with pytest.raises(SceneError, match="quats"):
        GaussianCloud(c.means, c.scales, c.quats[:, :3], c.opacities, c.sh_dc, c.sh_rest)
    with pytest.raises(SceneError, match="sh_rest"):
        GaussianCloud(c.means, c.scales, c.quats, c.opacities, c.sh_dc, np.zeros((4, 5, 3)))
    bad = c.copy()
    bad.opacities[2] = np.nan
    with pytest.raises(SceneError, match="opacities.*Gaussian 2"):
        bad.validate()


def test_importance_matches_paper_formula():
    c = random_cloud(50)
    w = sigmoid(c.opacities.astype(np.float64)) * np.exp(c.scales.astype(np.float64).sum(axis=1))
    np.testing.assert_allclose(c.importance(), w, rtol=1e-12)
    order = c.importance_order()
    assert np.all(np.diff(c.importance()[order]) <= 0)


def test_importance_does_not_overflow_for_huge_scales():
    c = random_cloud(3)
    c.scales[:] = 300.0  # exp(900) overflows float64 unless computed in log space
    assert np.all(np.isinf(c.importance()) | np.isfinite(c.importance()))
    c.scales[:] = 200.0
    assert np.all(np.isfinite(c.importance()))


def test_selection_permutation_concat_roundtrip():
    c = random_cloud(10, degree=2)
    order = np.random.default_rng(1).permutation(10)
    p = c.permute(order)
    assert np.array_equal(p.means, c.means[order])
    inv = np.argsort(order)
    assert p.permute(inv).equals(c)
    joined = GaussianCloud.concat([c[:4], c[4:]])
    assert joined.equals(c)
    with pytest.raises(SceneError):
        c.permute(np.zeros(10, int))


def test_concat_pads_sh_degree():
    a, b = random_cloud(3, 0), random_cloud(2, 2)
    j = GaussianCloud.concat([a, b])
    assert j.sh_degree == 2 and len(j) == 5
    assert np.all(j.sh_rest[:3] == 0)
    assert np.array_equal(j.sh_rest[3:], b.sh_rest)


def test_rotation_matrices_are_orthonormal_and_match_scipy():
    from scipy.spatial.transform import Rotation

    c = random_cloud(20)
    r = c.rotation_matrices().astype(np.float64)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-5)
    q = c.normalized_quats()
    ref = Rotation.from_quat(np.concatenate([q[:, 1:], q[:, :1]], axis=1)).as_matrix()
    np.testing.assert_allclose(r, ref, atol=1e-5)
    assert np.all(q[:, 0] >= 0)
