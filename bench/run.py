"""The benchmark suite: ``python -m bench [--quick] [--json FILE] [--only SECTION ...] [--skip SECTION ...]``.

Every section runs in its own fresh process (``python -m bench.<module>``), so imports, caches and memory of one
do not colour the next; each prints one JSON object. This script gathers them into the report whose shape is
fixed by issue 7 (keys may be added, never renamed), prints a table against the targets, and writes the JSON.
Figures are medians over repeats after a warm-up; ratios (fast against float32) come from the same run. The
machine's load average is recorded before and after, since shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, last_json, run_python
from bench.report import table

SECTIONS = ("train", "train_peak", "predict_512", "tiled", "crf_512", "gui", "accuracy")


def _section(module: str, *args: str) -> dict:
    result = run_python(["-m", module, *args], timeout=3600)
    if result["rc"] != 0:
        return {"error": result["stderr"].strip().splitlines()[-1][:300] if result["stderr"].strip() else "failed"}
    return last_json(result["stdout"])


def crf_section(quick: bool) -> dict:
    """bench/crf_speed.py (the CRF engineers' benchmark) for an RGB 512x512 image; grey as extra keys."""
    result = run_python([str(ROOT / "bench" / "crf_speed.py"), "--repeats", "5" if quick else "15"])
    if result["rc"] != 0:
        return {"segcore_s": None, "direct_s": None, "error": result["stderr"].strip()[-300:]}
    data = last_json(result["stdout"])
    rgb, grey = data["rgb"], data["grey"]
    return {"segcore_s": round(rgb["segcore_s"], 4), "direct_s": round(rgb["direct_s"], 4),
            "overhead": round(rgb["overhead"], 3), "mask_agreement": rgb["mask_agreement"],
            "grey_segcore_s": round(grey["segcore_s"], 4), "grey_direct_s": round(grey["direct_s"], 4)}


def machine() -> dict:
    import torch

    from segcore.device import cpu_has_bf16
    from segcore.engines import choose, onnxruntime_available
    from segcore.hardware import cpu_flags, machine_class

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=False).stdout.strip()
    except OSError:
        commit = ""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    ort = None
    if onnxruntime_available():
        import onnxruntime

        ort = onnxruntime.__version__
    auto = choose(None, "auto")
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "cpu_bf16": cpu_has_bf16(),
            "cpu_amx": "amx_bf16" in cpu_flags(), "machine_class": machine_class(torch.cuda.is_available()),
            "engine_auto": auto.name, "engine_reason": auto.reason, "onnxruntime": ort, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "python": platform.python_version(), "commit": commit}


def run(sections: list[str], quick: bool, root: Path, json_path: Path | None = None, device: str = "cpu") -> dict:
    flag = ["--quick"] if quick else []
    where = ["--device", device]  # prediction sections; training always uses the trainer's own choice
    report: dict = {"meta": {**machine(), "quick": quick, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                             "load_average_start": [round(x, 2) for x in os.getloadavg()],
                             "command": "python -m bench " + " ".join(sys.argv[1:])}}
    for name in sections:
        start = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        if name == "train":
            report["train"] = _section("bench.train_speed", *flag)
        elif name == "train_peak":
            from bench.train_speed import train_peak_rss_mb

            peak = train_peak_rss_mb(root)
            report["train_peak_rss_mb"] = peak["peak_rss_mb"]
            report["train_peak_run_s"] = peak["wall_s"]
        elif name == "predict_512":
            report["predict_512"] = _section("bench.predict_speed", *flag, *where)
        elif name == "tiled":
            report["tiled"] = _section("bench.tiled", *flag, *where)
        elif name == "crf_512":
            report["crf_512"] = crf_section(quick)
        elif name == "gui":
            report["gui"] = _section("bench.gui_start", *flag)
        elif name == "accuracy":
            report["accuracy"] = _section("bench.accuracy_guard", *(["--epochs", "2"] if quick else []))
        report["meta"].setdefault("section_s", {})[name] = round(time.perf_counter() - start, 1)
        if json_path is not None:  # after every section, so a run cut short still leaves what it measured
            _write(json_path, report)
    report["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _write(path: Path, report: dict) -> None:
    from segcore.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(report, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, tiled at 1024/2048 instead of 4096/8192, no accuracy run (minutes)")
    parser.add_argument("--json", metavar="FILE", help="also write the report to FILE")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, default=[], metavar="SECTION",
                        help="leave these sections out")
    parser.add_argument("--device", default="cpu",
                        help="where predict_512 and tiled run: cpu (default; the targets are CPU figures) or cuda")
    args = parser.parse_args(argv)
    sections = [s for s in (args.only or SECTIONS) if s not in args.skip]
    if args.quick and not args.only:
        sections = [s for s in sections if s != "accuracy"]
    with tempfile.TemporaryDirectory(prefix="bench_") as tmp:
        report = run(sections, args.quick, Path(tmp), Path(args.json) if args.json else None, args.device)
    print(table(report))
    if args.json:
        _write(Path(args.json), report)
    else:
        print(json.dumps(report, indent=1))
    return 0
