"""CPU training without bf16: eager float32 against ``torch.compile`` (inductor), channels_last and thread counts.

A hand loop of the training step as the trainer runs it on such CPUs (U-Net at its default width, batch 4,
256x256 crops, cross-entropy, fused AdamW, float32). Eager variants alternate step by step, so load hits them
alike; the compiled model is timed after them, its first step (the compilation) apart from its steady steps. The
verdict is images trained in a 10-minute budget: ``(600 - compile_s) / step_s`` against ``600 / eager_step_s``;
the issue asks for at least 1.2x before a setting is adopted.

    python -m bench.train_compile [--steps 6] [--no-compile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

from segcore.models import create_model

BATCH, PATCH, BUDGET_S = 4, 256, 600


def _setup(channels_last: bool = False):
    torch.manual_seed(0)
    model = create_model("unet", 3, 2).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    return model, optimizer


def _step(model, optimizer, x, y) -> float:
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    return time.perf_counter() - start


def measure(steps: int, compile_too: bool) -> dict:
    x = torch.randn(BATCH, 3, PATCH, PATCH)
    y = torch.randint(0, 2, (BATCH, PATCH, PATCH))
    default_threads = torch.get_num_threads()
    variants = {"eager": (_setup(), x, default_threads),
                "eager_1_thread": (_setup(), x, 1),
                "eager_channels_last": (_setup(True), x.contiguous(memory_format=torch.channels_last),
                                        default_threads)}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for i in range(steps + 1):  # the first round warms up (oneDNN primitives)
        for key, ((model, optimizer), xx, threads) in variants.items():
            torch.set_num_threads(threads)
            t = _step(model, optimizer, xx, y)
            if i:
                times[key].append(t)
    torch.set_num_threads(default_threads)
    report = {k: {"step_s": round(statistics.median(v), 3)} for k, v in times.items()}
    eager = report["eager"]["step_s"]
    for value in report.values():
        value["images_in_budget_vs_eager"] = round(eager / value["step_s"], 2)
    if compile_too:
        model, optimizer = _setup()
        compiled = torch.compile(model)
        first = _step(compiled, optimizer, x, y)
        steady = statistics.median(_step(compiled, optimizer, x, y) for _ in range(steps))
        report["compiled"] = {"compile_s": round(first, 1), "step_s": round(steady, 3),
                              "images_in_budget_vs_eager": round(max(0.0, BUDGET_S - first) / steady
                                                                 / (BUDGET_S / eager), 2)}
    return {"shape": {"batch": BATCH, "patch": PATCH, "arch": "unet", "dtype": "float32"},
            "torch_threads_default": default_threads, "load_average": [round(v, 2) for v in os.getloadavg()],
            **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(args.steps, not args.no_compile), indent=1))


if __name__ == "__main__":
    main()
