"""The readable table of a benchmark report, each figure beside its target (issue 7) and a verdict."""

from __future__ import annotations


def _get(report: dict, path: str):
    value = report
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# (label, key path, unit, target text, check) - check is None where there is no target.
ROWS = [
    ("U-Net train float32", "train.unet.fp32_img_s", "img/s", "", None),
    ("U-Net train fast", "train.unet.fast_img_s", "img/s", "", None),
    ("U-Net train speed-up", "train.unet.speedup", "x", ">= 2.5", lambda v: v >= 2.5),
    ("SegNet train float32", "train.segnet.fp32_img_s", "img/s", "", None),
    ("SegNet train fast", "train.segnet.fast_img_s", "img/s", "", None),
    ("SegNet train speed-up", "train.segnet.speedup", "x", ">= 2.5", lambda v: v >= 2.5),
    ("PSPNet train float32", "train.pspnet.fp32_img_s", "img/s", "", None),
    ("PSPNet train fast", "train.pspnet.fast_img_s", "img/s", "", None),
    ("PSPNet train speed-up", "train.pspnet.speedup", "x", "", None),
    ("Input pipeline alone", "train.input_pipeline_img_s", "img/s", "", None),
    ("Training peak RSS (b4, 256)", "train_peak_rss_mb", "MB", "", None),
    ("Predict 512 model (auto engine)", "predict_512.model_s", "s", "< 0.35", lambda v: v < 0.35),
    ("Predict 512 model (float32)", "predict_512.model_fp32_s", "s", "", None),
    ("ENGINES", "", "", "", None),  # one row per engine measured side by side, filled in by _rows
    ("segcore predict process", "predict_512.process_s", "s", "< 2.5", lambda v: v < 2.5),
    ("segcore predict --engine pytorch", "predict_512.process_pytorch_s", "s", "", None),
    ("segcore predict, first (export)", "predict_512.process_first_s", "s", "", None),
    ("TILED", "", "", "", None),  # one time and one memory row per measured size, filled in by _rows
    ("Tiled time ratio (2x side)", "tiled.time_ratio", "x", "3.6-4.4", lambda v: 3.6 <= v <= 4.4),
    ("CRF 512 via segcore", "crf_512.segcore_s", "s", "", None),
    ("CRF 512 pydensecrf direct", "crf_512.direct_s", "s", "", None),
    ("CRF overhead", "crf_512.overhead", "", "<= 0.10", lambda v: v <= 0.10),
    ("GUI first window", "gui.first_window_s", "s", "< 1.5", lambda v: v < 1.5),
    ("UI lateness p99 (training)", "gui.ui_lateness_p99_ms", "ms", "< 50", lambda v: v < 50),
    ("UI lateness worst (training)", "gui.ui_lateness_max_ms", "ms", "< 200", lambda v: v < 200),
    ("ISBI Dice float32", "accuracy.fp32.final_dice", "", "", None),
    ("ISBI Dice fast", "accuracy.fast.final_dice", "", "", None),
    ("ISBI Dice difference", "accuracy.final_dice_difference", "", "|d| <= 0.01", lambda v: abs(v) <= 0.01),
]


def _rows(report: dict) -> list[tuple]:
    rows = []
    for row in ROWS:
        if row[0] == "ENGINES":
            for name in report.get("predict_512", {}).get("engines", {}):
                rows.append((f"  engine {name}", f"predict_512.engines.{name}.s", "s", "", None))
            continue
        if row[0] != "TILED":
            rows.append(row)
            continue
        for size in sorted((k for k in report.get("tiled", {}) if k.isdigit()), key=int):
            rows.append((f"Tiled {size} time", f"tiled.{size}.s", "s", "", None))
            memory = ("< 2500", lambda v: v < 2500) if size == "8192" else ("", None)
            rows.append((f"Tiled {size} peak RSS", f"tiled.{size}.peak_rss_mb", "MB", *memory))
    if "8192" not in report.get("tiled", {}):  # the 3.6-4.4x target is for 4096 -> 8192 (--quick uses 1024/2048)
        rows = [r if r[1] != "tiled.time_ratio" else (*r[:3], "", None) for r in rows]
    return rows


def table(report: dict) -> str:
    """Aligned text table of every measured row (rows of sections not run are left out)."""
    lines = [f"{'measurement':<30} {'value':>12} {'unit':<6} {'target':<11} ok"]
    for label, path, unit, target, check in _rows(report):
        value = _get(report, path)
        if value is None:
            continue
        verdict = "" if check is None else ("yes" if check(value) else "NO")
        lines.append(f"{label:<30} {value:>12} {unit:<6} {target:<11} {verdict}")
    meta = report.get("meta", {})
    lines.append(f"load average {meta.get('load_average_start')} -> {meta.get('load_average_end')} on "
                 f"{meta.get('cpu_count')} CPUs ({meta.get('cpu')}, bf16 in hardware: {meta.get('cpu_bf16')}); "
                 f"machine class {meta.get('machine_class')}, engine chosen {meta.get('engine_auto')}")
    return "\n".join(lines)
