import numpy as np

from splatcast.scene.default import lab_bench


def test_lab_bench_is_deterministic_and_sized():
    a, b = lab_bench(5000, seed=3), lab_bench(5000, seed=3)
    assert len(a) == 5000 and a.equals(b)
    assert not a.equals(lab_bench(5000, seed=4))


def test_lab_bench_geometry_and_colours_are_plausible():
    c = lab_bench(8000, seed=0)
    lo, hi = c.bounds()
    assert lo[2] >= -0.1 and hi[2] <= 0.5  # objects stand on the bench top (z = 0)
    assert np.all(np.abs(np.linalg.norm(c.quats, axis=1) - 1) < 1e-5)
    colour = 0.5 + 0.28209479177387814 * c.sh_dc
    assert colour.min() >= 0 and colour.max() <= 1
    # several distinct colours: the objects are not all grey
    assert np.unique(np.round(colour * 4), axis=0).shape[0] >= 6
