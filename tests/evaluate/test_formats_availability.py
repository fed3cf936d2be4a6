"""The formats comparison skips the npm tool cleanly when node or the package is absent."""

import pytest

from splatcast.evaluate import formats_compare
from splatcast.evaluate.common import BenchConfig, Unavailable


def test_no_node_means_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(formats_compare.shutil, "which", lambda name: None)
    with pytest.raises(Unavailable, match="node is not installed"):
        formats_compare.splat_transform(BenchConfig(out_dir=tmp_path, npm_cache=tmp_path))


def test_absent_package_is_not_installed_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(formats_compare.shutil, "which", lambda name: "/usr/bin/node" if name == "node" else None)
    config = BenchConfig(out_dir=tmp_path, npm_cache=tmp_path / "npm", npm_install=False)
    with pytest.raises(Unavailable, match="--install-npm"):
        formats_compare.splat_transform(config)
    assert not (tmp_path / "npm").exists()  # nothing was installed


def test_present_package_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(formats_compare.shutil, "which", lambda name: "/usr/bin/node" if name == "node" else None)
    exe = tmp_path / "node_modules" / ".bin" / "splat-transform"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    assert formats_compare.splat_transform(BenchConfig(out_dir=tmp_path, npm_cache=tmp_path)) == exe
