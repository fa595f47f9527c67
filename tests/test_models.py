"""One shared test for every registered architecture (after segmentation_models.pytorch's tests/models/base.py)."""

from __future__ import annotations

import io

import pytest
import torch

from segcore.errors import ConfigError
from segcore.models import available, create_model

# Small settings per architecture so the whole matrix runs in seconds on two CPU cores.
TINY = {
    "unet": {"width": 4, "depth": 3},
    "segnet": {"width": 4},
    "pspnet": {"backbone": "resnet18", "channels": 16},
}
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


# --- SegNet and PSPNet specifics --------------------------------------------------------------------------


def test_pspnet_returns_aux_logits_only_in_training():
    model = tiny("pspnet", 1, 3)
    x = torch.randn(2, 1, 37, 50)
    main, aux = model.train()(x)
    assert main.shape == aux.shape == (2, 3, 37, 50)
    assert not torch.equal(main, aux)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 3, 37, 50)


def test_pspnet_trains_with_batch_of_one():
    model = tiny("pspnet").train()  # BN over the 1x1 pyramid bin would raise here
    main, aux = model(torch.randn(1, 3, 40, 40))
    (main.mean() + 0.4 * aux.mean()).backward()


@pytest.mark.parametrize("backbone", ["resnet18", "resnet50"])
def test_pspnet_backbone_has_output_stride_8(backbone):
    model = create_model("pspnet", 3, 2, backbone=backbone, channels=8).eval()
    body = model.backbone
    with torch.no_grad():
        x = body["stem"](torch.randn(1, 3, 64, 64))
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = body[name](x)
    assert x.shape[-2:] == (8, 8)
    dilations = {m.dilation[0] for m in body["layer4"].modules() if isinstance(m, torch.nn.Conv2d)}
    assert dilations == {1, 2, 4}  # 1x1 convs, the formerly strided 3x3, the dilated 3x3s


def test_unknown_backbone_lists_valid_ones():
    with pytest.raises(ConfigError, match="resnet34"):
        create_model("pspnet", 3, 2, backbone="resnet7")


@pytest.mark.parametrize(("name", "kwargs"), [("pspnet", {"backbone": "resnet18"}), ("segnet", {})])
def test_pretrained_without_local_weights_is_a_clear_config_error(name, kwargs, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: nothing may be downloaded
    with pytest.raises(ConfigError, match="not found at .*download them once"):
        create_model(name, 3, 2, pretrained=True, **kwargs)
    assert not any(tmp_path.rglob("*.pth"))


def test_pspnet_pretrained_loads_local_resnet_and_adapts_first_conv(tmp_path, monkeypatch):
    from torchvision.models import resnet18

    torch.manual_seed(3)
    reference = resnet18().state_dict()
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(reference, folder / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = create_model("pspnet", 1, 2, backbone="resnet18", pretrained=True)
    body = model.backbone
    assert torch.equal(body["stem"][0].weight, reference["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(body["layer4"][1].conv2.weight, reference["layer4.1.conv2.weight"])
    assert "pretrained" not in model.arch[1]  # rebuilding from a checkpoint must not need the file


def test_segnet_encoder_is_vgg16_bn_and_takes_its_weights(monkeypatch):
    from torchvision.models import vgg

    import segcore.models.segnet as segnet

    torch.manual_seed(4)
    features = vgg.make_layers(vgg.cfgs["D"], batch_norm=True)
    with torch.no_grad():  # non-zero biases and statistics, so folding the conv biases into BN is checked
        for m in features.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.bias.uniform_(-0.5, 0.5)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    monkeypatch.setattr(segnet, "load_local_weights", lambda name, weights: state)
    model = create_model("segnet", 3, 2, pretrained=True).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        y = x
        for stage in model.encoder:
            y = stage(y)[0]
        assert torch.allclose(y, features.eval()(x), atol=1e-4)


def test_models_command_lists_each_architecture_with_its_parameter_count(capsys):
    from segcore.cli import main
    from segcore.models import count_parameters

    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in ARCHS:
        row = next(line for line in lines if line.startswith(name + " "))
        millions = count_parameters(create_model(name, 3, 2)) / 1e6
        assert f"{millions:.2f} M" in row
