"""Kept for tests/web (which imports it by this name): the generator itself lives in tests/fixtures/synthetic.py."""

from tests.fixtures.synthetic import random_cloud, refine, synthetic_layers  # noqa: F401
