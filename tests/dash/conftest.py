import pytest


@pytest.fixture(scope="session")
def real_stream() -> bytes:
    """A real 3-layer .splc (300/600/1200 Gaussians, 4 chunks per layer) from the codec."""
    from splc_real import make_real_stream

    return make_real_stream(n0=300, n_layers=3, chunks=4, seed=0)
