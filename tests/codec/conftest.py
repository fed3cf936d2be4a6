"""Fixtures of the codec tests: synthetic quality layers (tests/fixtures/synthetic.py)."""

from __future__ import annotations

import pytest
from tests.fixtures.synthetic import synthetic_layers


@pytest.fixture(scope="session")
def layers3():
    return synthetic_layers(400, 3, 1, 0)
