"""Fixtures of the codec tests: synthetic quality layers (codec_synthetic)."""

from __future__ import annotations

import pytest
from codec_synthetic import synthetic_layers


@pytest.fixture(scope="session")
def layers3():
    return synthetic_layers(400, 3, 1, 0)
