"""Throughput probe: time a few real training steps of each candidate network on this machine.

Not a table: the same network runs 2x faster with bfloat16 in hardware, 20x faster on a GPU, and slower on a
busy laptop; the plan needs this machine's figure now. Each candidate gets one untimed warm-up step (allocator,
oneDNN kernel choice) and then ``steps`` timed ones on random data of the planned patch and batch size; the
median is kept. One inference pass per candidate gives the time per megapixel for the TTA decision.
"""

from __future__ import annotations

import statistics
import time

from segcore.planning.plan import BATCH_SIZE, WIDTHS, Throughput

PROBE_STEPS = 2
MAX_PROBE_S = 20.0  # stop measuring wider candidates once this is spent


def probe(in_channels: int, num_classes: int, patch_size: int, depth: int = 4, widths=WIDTHS,
          batch_size: int = BATCH_SIZE, device: str = "auto", fast: bool = True, steps: int = PROBE_STEPS,
          max_s: float = MAX_PROBE_S) -> Throughput:
    """Measure seconds per training step and per inference megapixel for U-Nets of each width in ``widths``.

    Widths are measured narrowest first; once ``max_s`` is spent the wider ones are skipped (they would not fit
    the budget either). Raises ConfigError for a bad device.
    """
    import torch

    from segcore.device import for_inference, resolve
    from segcore.export_lock import EXPORT_LOCK
    from segcore.models import create_model
    from segcore.training.losses import segmentation_loss

    runtime = resolve(device, fast)
    start = time.perf_counter()
    step_s, forward_s = {}, {}
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, in_channels, patch_size, patch_size, generator=gen).to(runtime.device)
    y = torch.randint(0, num_classes, (batch_size, patch_size, patch_size), generator=gen).to(runtime.device)
    if runtime.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    for width in sorted(widths):
        if step_s and time.perf_counter() - start > max_s:
            break
        with EXPORT_LOCK:  # segcore.export_lock: no ONNX export in another thread meanwhile
            model = create_model("unet", in_channels, num_classes, width=width, depth=depth).to(runtime.device)
            if runtime.channels_last:
                model = model.to(memory_format=torch.channels_last)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=runtime.device.type in ("cpu", "cuda"))
            times, width_start = [], time.perf_counter()
            for i in range(steps + 1):
                if times and time.perf_counter() - width_start > max_s / len(widths):
                    break  # a slow machine: one timed step says enough
                _sync(runtime.device)
                t0 = time.perf_counter()
                with runtime.autocast():
                    out = model(x)
                loss = segmentation_loss(out, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                _sync(runtime.device)
                if i:
                    times.append(time.perf_counter() - t0)
            step_s[str(width)] = statistics.median(times)
            forward_s[str(width)] = _forward_per_mpx(for_inference(model, runtime), x[:1], runtime)
    return Throughput(runtime.describe(), patch_size, batch_size, step_s, forward_s, time.perf_counter() - start)


def _forward_per_mpx(model, x, runtime) -> float:
    import torch

    dtype = next(model.parameters()).dtype
    with torch.inference_mode(), runtime.autocast():
        model(x.to(dtype))  # warm-up: the inference kernels differ from training's
        _sync(runtime.device)
        t0 = time.perf_counter()
        model(x.to(dtype))
        _sync(runtime.device)
    return (time.perf_counter() - t0) / (x.shape[-1] * x.shape[-2] / 1e6)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
