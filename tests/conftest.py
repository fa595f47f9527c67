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


@pytest.fixture
def make_checkpoint(tmp_path):
    """Factory: ``make_checkpoint(arch="unet", in_channels=3, scale=1.0, per_image=False, **arch_kwargs)`` -> a small, complete,
    untrained checkpoint whose batch norms have non-trivial statistics and whose logits are centred (both
    classes occur), written under tmp_path. Defaults are tiny widths so that tests stay fast."""
    import torch

    from segcore import checkpoint as ckpt
    from segcore.data.classes import ClassSpec
    from segcore.models import create_model

    tiny = {"unet": {"width": 4, "depth": 2}, "segnet": {"width": 4}, "pspnet": {"backbone": "resnet18",
                                                                                  "channels": 16}}

    def make(arch: str = "unet", in_channels: int = 3, scale: float = 1.0, name: str | None = None, seed: int = 0,
             per_image: bool = False, **arch_kwargs) -> Path:
        torch.manual_seed(seed)
        model = create_model(arch, in_channels, 2, **{**tiny[arch], **arch_kwargs})
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
        model.eval()
        with torch.no_grad():
            logits = model(torch.randn(1, in_channels, 64, 64))
            last = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.out_channels == 2][-1]
            last.bias -= logits.mean(dim=(0, 2, 3))
        spec = ClassSpec(names=["background", "cell"], values=[0, 255])
        path = tmp_path / (name or f"{arch}-{seed}.pt")
        ckpt.save(path, {"arch": arch, "arch_kwargs": model.arch[1], "in_channels": in_channels,
                         "classes": spec.to_dict(), "normalization": {"mean": [0.4] * in_channels,
                                                                      "std": [0.2] * in_channels,
                                                                      "per_image": per_image},
                         "scale": scale, "config": {}, "metrics": {"dice": 0.5}, "model": model.state_dict()})
        return path

    return make
