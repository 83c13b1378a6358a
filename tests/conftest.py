"""Shared fixtures: the checkout, a built store (built once per session), the CLI runner."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from paths import ROOT
from repression_kg.build import build


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The real graph, built once from the checkout; returns the build directory."""
    build_dir = tmp_path_factory.mktemp("build")
    build(ROOT, build_dir)
    return build_dir


@pytest.fixture(scope="session")
def store(built):
    """The built store, opened read-only."""
    from repression_kg.store import open_read_only

    return open_read_only(built)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def checkout_copy(tmp_path) -> Path:
    """A copy of ontology/ and data/ that a test may break."""
    for part in ("ontology", "data"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path
