"""Device choice and the fast paths (mixed precision, channels_last) chosen at run time.

CPU: bfloat16 autocast with channels_last where the CPU computes bf16 in hardware (AVX512-BF16 or AMX); plain
float32 elsewhere, where emulated bf16 would be slower. CUDA: autocast (bf16 where supported, else fp16 with a
grad scaler), channels_last, cudnn autotuning. For inference, :func:`for_inference` also folds batch norm into
the convolutions and, with bfloat16, stores the weights in bfloat16 (no per-call weight casts, half the traffic).
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass

import torch
from torch import nn

from segcore.errors import ConfigError
from segcore.hardware import check_device_name, cpu_has_bf16_flag

ENV_DISABLE = "SEGCORE_NO_FAST"  # set to 1 to force plain float32 everywhere


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when the CPU advertises hardware bfloat16 (avx512_bf16 or amx_bf16)."""
    flag = cpu_has_bf16_flag()
    if flag is not None:
        return flag
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)  # not Linux: ask oneDNN when torch can
    return bool(check()) if check else False


@dataclass(frozen=True)
class Runtime:
    """Where and how a job runs. ``note`` explains a fallback to the user (empty when none)."""

    device: torch.device
    amp_dtype: torch.dtype | None
    channels_last: bool
    note: str = ""

    @property
    def fast(self) -> bool:
        return self.amp_dtype is not None

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        kind = f"{self.amp_dtype}".replace("torch.", "") if self.amp_dtype else "float32"
        layout = ", channels_last" if self.channels_last else ""
        return f"{self.device.type} ({kind}{layout})"


def resolve(device: str = "auto", fast: bool = True) -> Runtime:
    """Pick the device ("auto", "cpu", "cuda", "cuda:N") and the fastest safe precision for it."""
    note = ""
    want = check_device_name(device)
    if want.startswith("cuda:") and torch.cuda.is_available() and int(want[5:]) >= torch.cuda.device_count():
        raise ConfigError(f"no GPU {device}: this machine has {torch.cuda.device_count()} (cuda:0 to "
                          f"cuda:{torch.cuda.device_count() - 1})")
    if want.startswith("cuda") and not torch.cuda.is_available():
        note = "CUDA was requested but no usable GPU was found; running on the CPU"
        want = "cpu"
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(want)
    fast = fast and os.environ.get(ENV_DISABLE, "") not in ("1", "true", "yes")
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Runtime(dev, dtype if fast else None, fast, note)
    if fast and cpu_has_bf16():
        return Runtime(dev, torch.bfloat16, True, note)
    return Runtime(dev, None, False, note)


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every ``Conv2d`` directly followed by ``BatchNorm2d`` (in a Sequential) into one conv, in place.

    Only valid in eval mode (batch norm then is a fixed affine map); saves one full pass over each activation.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, bn = module[i], module[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                module[i] = fuse_conv_bn_eval(conv, bn)
                module[i + 1] = nn.Identity()
    return model


def for_inference(model: nn.Module, runtime: Runtime) -> nn.Module:
    """Make a model ready for prediction only: eval mode, fused conv+BN, on the device, fast layout and dtype."""
    model = fuse_conv_bn(model.eval()).to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if runtime.amp_dtype == torch.bfloat16:  # bf16 keeps float32's range, so folded BN scales cannot overflow
        model = model.to(torch.bfloat16)
    for p in model.parameters():
        p.requires_grad_(False)
    return model
