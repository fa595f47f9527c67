"""Shared pytest fixtures. Others may append fixtures below; keep each one small and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data():
    """Factory: ``shared_data("isbi2012_em")`` -> Path to ../shared/data/NAME, skipping the test when absent."""

    def get(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.is_dir():
            pytest.skip(f"real data set {name!r} not found at {path} (it lives outside the repository)")
        return path

    return get


@pytest.fixture
def isbi_dir(shared_data) -> Path:
    """ISBI 2012 EM: 30 grey 512x512 images, masks 0/255."""
    return shared_data("isbi2012_em")


@pytest.fixture
def crf_examples_dir(shared_data) -> Path:
    """Dense-CRF examples: 3 RGB images, sparse palette masks, masks_index/ with 0 = unlabelled."""
    return shared_data("densecrf_examples")


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    """A tmp folder with synthetic sample data: 6 images of 96x96 in images/ + masks/, classes.json."""
    from segcore.data.sample import write_sample_data

    folder = tmp_path / "sample"
    write_sample_data(folder, count=6, size=96, seed=0)
    return folder
