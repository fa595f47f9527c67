"""``segcore demo``: the headless first run: sample data -> train a few epochs -> predict -> results."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="headless demo: sample data, short training, prediction",
                       description="Generate the bundled synthetic sample data (or use DATA), train a small "
                                   "U-Net for a few epochs, segment the validation images and write masks, "
                                   "overlays and a CRF comparison. Prints where everything is.")
    p.add_argument("data", nargs="?", help="a folder of images and masks (default: generated sample data)")
    p.add_argument("-o", "--out", default="demo_output", help="output folder (default ./demo_output)")
    p.add_argument("-e", "--epochs", type=int, default=6, help="training epochs (default 6)")
    p.add_argument("--width", type=int, default=16, help="U-Net width (default 16: quick on a laptop CPU)")
    p.set_defaults(func=run)


def run(args) -> int:
    from segcore import crf
    from segcore.cli import build_parser
    from segcore.cli.predict import predict_one
    from segcore.data.sample import write_sample_data
    from segcore.inference import Predictor
    from segcore.training.config import TrainConfig
    from segcore.training.events import RunStatus
    from segcore.training.loop import Trainer
    from segcore.training.progress import ConsoleReporter

    out = Path(args.out)
    data = Path(args.data) if args.data else out / "sample_data"
    if not args.data:
        write_sample_data(data)
        print(f"sample data: {data}")
    config = TrainConfig(data=str(data), epochs=args.epochs, arch_kwargs={"width": args.width},
                         out=str(out / "run"), patch_size=128, batch_size=4, lr=3e-3)
    reporter, done = ConsoleReporter(), None
    for event in Trainer(config).run():
        reporter.show(event)
        done = event
    reporter.close()
    if done.status is not RunStatus.COMPLETED or not done.best_path:
        return 1
    predictor = Predictor(done.best_path)
    held_out = json.loads((Path(done.out_dir) / "split.json").read_text())["val"]  # images training never saw
    flags = ["--overlay", "--compare"] if crf.is_available() else ["--overlay"]
    options = build_parser().parse_args(["predict", "-m", done.best_path, "-i", str(data), *flags])
    for image in map(Path, held_out):
        print(predict_one(predictor, image, out / "predictions" / f"{image.stem}.png", options))
    print(f"\ndemo finished: results in {out.resolve()}")
    print(f"  checkpoint: {done.best_path}\n  curves:     {done.out_dir}/metrics.csv")
    print(f"  masks, overlays{' and CRF comparisons' if options.compare else ''}: {out / 'predictions'}")
    return 0
