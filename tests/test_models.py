"""One shared test for every registered architecture (after segmentation_models.pytorch's tests/models/base.py)."""

from __future__ import annotations

import io

import pytest
import torch

from segcore.errors import ConfigError
from segcore.models import available, create_model

# Small settings per architecture so the whole matrix runs in seconds on two CPU cores.
TINY = {"unet": {"width": 4, "depth": 3}, "segnet": {"width": 4}, "pspnet": {"backbone": "resnet18", "channels": 16}}
ARCHS = list(available())


def tiny(name: str, in_channels: int = 3, num_classes: int = 2):
    torch.manual_seed(0)
    return create_model(name, in_channels, num_classes, **TINY.get(name, {}))


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("in_channels", [1, 3, 4])
@pytest.mark.parametrize("num_classes", [2, 5])
def test_forward_backward_shapes(name, in_channels, num_classes):
    model = tiny(name, in_channels, num_classes).train()
    x = torch.randn(2, in_channels, 64, 64)
    out = model(x)
    logits = out[0] if isinstance(out, tuple) else out
    assert logits.shape == (2, num_classes, 64, 64)
    logits.float().mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("size", [(33, 47), (61, 64), (100, 71)])
def test_odd_input_sizes(name, size):
    model = tiny(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size))
    assert out.shape == (1, 2, *size)


@pytest.mark.parametrize("name", ARCHS)
def test_state_dict_round_trip_gives_identical_output(name):
    model = tiny(name).eval()
    buf = io.BytesIO()
    torch.save({"arch": model.arch, "model": model.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    arch, kwargs = saved["arch"]
    clone = create_model(arch, 3, 2, **kwargs)
    clone.load_state_dict(saved["model"])
    clone.eval()
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        assert torch.equal(model(x), clone(x))


@pytest.mark.parametrize("name", ARCHS)
def test_few_steps_reduce_loss_on_fixed_batch(name):
    model = tiny(name).train()
    torch.manual_seed(1)
    # A smooth learnable target: pixel-wise noise cannot be resolved by output-stride-8 models like PSPNet.
    x = torch.nn.functional.interpolate(torch.randn(4, 3, 4, 4), size=(32, 32), mode="bilinear")
    y = (x[:, 0] > 0).long()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        out = model(x)
        logits = out[0] if isinstance(out, tuple) else out
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(ConfigError, match="unet"):
        create_model("resnet9000", 3, 2)


def test_bad_argument_is_config_error():
    with pytest.raises(ConfigError, match="invalid arguments"):
        create_model("unet", 3, 2, no_such_option=1)
