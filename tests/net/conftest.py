import sys
from pathlib import Path

import pytest

# the fake and real .splc stream helpers live beside the DASH tests
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dash"))

PENSIEVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces" / "pensieve"


@pytest.fixture(scope="session")
def real_stream() -> bytes:
    from splc_real import make_real_stream

    return make_real_stream(n0=300, n_layers=3, chunks=4, seed=0)


@pytest.fixture
def pensieve_dir() -> Path:
    if not PENSIEVE.is_dir():
        pytest.skip("../shared/data/traces/pensieve not present")
    return PENSIEVE
