"""``segcore train``: train a model on a folder, with the original flags (-e, -l, -g, -c).

The same command runs under ``torchrun --nproc_per_node=N -m segcore train ...`` (see docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import sys

from segcore.errors import ConfigError


def _key_value(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # plain strings need no quotes: backbone=resnet34
    return key.strip(), value


def register(sub) -> None:
    p = sub.add_parser("train", help="train a segmentation model on a folder of images and masks",
                       description="Train a model on DATA (images/ + masks/, or the data/ + val/ layout with "
                                   ".txt lists). Writes best.pt, last.pt, metrics.csv, config.json and "
                                   "split.json to --out (and plan.json with --minutes). With --minutes the "
                                   "settings come from a plan for this folder and machine (see `segcore plan`).")
    p.add_argument("data", help="folder with images and masks")
    g = p.add_argument_group("schedule")
    g.add_argument("--minutes", type=float, metavar="MIN",
                   help="train by a plan made for this folder, this machine and MIN minutes in all (see `segcore "
                        "plan`); any setting given explicitly overrides the plan's")
    g.add_argument("-e", "--epochs", type=int, help="number of epochs (total, when resuming; default 20)")
    g.add_argument("-l", "--learning-rate", "--lr", dest="lr", type=float,
                   help="peak learning rate of AdamW (default 1e-3; warm-up then cosine decay)")
    g.add_argument("-b", "--batch-size", type=int, help="images per batch (default 4)")
    g.add_argument("--time-limit", type=float, metavar="MIN",
                   help="train for about MIN minutes of wall time, validation included; the learning rate anneals "
                        "over that time (-e caps epochs)")
    g.add_argument("--seed", type=int, default=0, help="seed for the split, crops and initialisation (default 0)")
    g = p.add_argument_group("model")
    g.add_argument("--arch", help="architecture (see `segcore models`; default unet)")
    g.add_argument("--width", type=int, help="channels of the first level (architecture default when omitted)")
    g.add_argument("--arch-arg", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="extra architecture argument, e.g. --arch-arg depth=5 (repeatable)")
    g.add_argument("-c", "--checkpoint", "--load", dest="checkpoint",
                   help="resume from this checkpoint (model, optimiser, schedule, epoch)")
    g.add_argument("--fine-tune", action="store_true", help="with -c: load the weights only and start a new schedule")
    g = p.add_argument_group("data")
    g.add_argument("-s", "--scale", type=float,
                   help="resize images by this factor first (0.5 turns 510x512 into 255x256; default 1)")
    g.add_argument("--patch-size", type=int,
                   help="random crop size for training, 0 for whole images (default 256)")
    g.add_argument("-v", "--val-fraction", "--validation", dest="val_fraction", type=float, default=0.15,
                   help="fraction of images held out for validation when there is no val/ folder (default 0.15)")
    g.add_argument("--val-from", metavar="RUN",
                   help="validate on the validation images of an earlier run (its folder or split.json), so the "
                        "two runs are scored on the same images (what the window's Retrain does)")
    g.add_argument("--no-augment", action="store_true", help="turn off flips, rotations and intensity jitter")
    g.add_argument("--deform", type=float, metavar="S",
                   help="strength 0-1 of the random rotation, scaling and elastic deformation of half the crops "
                        "(default 0; a --minutes plan uses 0.5)")
    g.add_argument("--normalise", "--normalize", dest="normalisation", choices=("image", "dataset"),
                   help="image: standardise each image on its own mean and std (nnU-Net's z-score; for images "
                        "whose brightness or contrast varies between acquisitions); dataset: one mean and std for "
                        "all, from the training images (default, also of a --minutes plan)")
    g = p.add_argument_group("run")
    g.add_argument("--name", help="a label for the run, kept in config.json (the window's run list shows it)")
    g.add_argument("-o", "--out", help="output folder (default DATA/checkpoints/NAME-DATE-TIME, NAME being --name "
                   "or the architecture, where the window lists the folder's runs; when resuming with -c "
                   "RUN/last.pt, RUN)")
    g.add_argument("-g", "--gpu", action="store_true", help="train on the GPU (says so and uses the CPU if none)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    g.add_argument("--no-fast", action="store_true",
                   help="plain float32 (no bfloat16/float16 autocast, no channels_last)")
    g.add_argument("--workers", type=int, default=None,
                   help="data loader worker processes (default: 0 on the CPU, up to 4 when training on a GPU)")
    g.add_argument("--sync-bn", action="store_true",
                   help="under torchrun on GPUs: batch-norm statistics over all processes' batches")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar, epoch lines only")
    p.set_defaults(func=run)


# The fixed recipe: what a flag means when it is not given and no --minutes plan decides.
FIXED = {"epochs": 20, "lr": 1e-3, "batch_size": 4, "arch": "unet", "scale": 1.0, "patch_size": 256,
         "deform": 0.0, "normalisation": "dataset"}


def explicit_settings(args) -> dict:
    """The plan-relevant settings the user typed (TrainConfig field names; patch size 0 = whole images)."""
    given = {key: getattr(args, key) for key in FIXED if getattr(args, key, None) is not None}
    if getattr(args, "width", None) is not None:
        given["width"] = args.width
    depth = dict(getattr(args, "arch_arg", [])).get("depth")
    if depth is not None:
        given["depth"] = depth
    return given


def config_from_args(args):
    from segcore.training.config import TrainConfig
    from segcore.training.records import validation_images

    settings = {**FIXED, **explicit_settings(args)}
    arch_kwargs = dict(args.arch_arg)
    if args.width is not None:
        arch_kwargs["width"] = args.width
    return TrainConfig(
        data=args.data, epochs=settings["epochs"], lr=settings["lr"], batch_size=settings["batch_size"],
        arch=settings["arch"], arch_kwargs=arch_kwargs, scale=settings["scale"],
        patch_size=settings["patch_size"] or None, deform=settings["deform"],
        per_image_norm=settings["normalisation"] == "image", val_fraction=args.val_fraction, seed=args.seed, out=args.out,
        device="cuda" if args.gpu else args.device, fast=not args.no_fast, checkpoint=args.checkpoint,
        fine_tune=args.fine_tune, augment=not args.no_augment, workers=args.workers,
        time_limit=args.time_limit, sync_bn=args.sync_bn, name=getattr(args, "name", None),
        val_images=validation_images(args.val_from) if getattr(args, "val_from", None) else None,
    )


def planned_config(args, log=print):
    """The config for ``args``: by the --minutes plan (printed) when asked for, else the fixed recipe."""
    config = config_from_args(args)
    if not args.minutes:
        return config
    if args.time_limit:
        raise ConfigError("--minutes plans the time itself; drop --time-limit (or drop --minutes for the fixed "
                          "recipe)")
    from segcore.planning.auto import plan_training

    plan = plan_training(config, args.minutes, explicit_settings(args), log=log)
    log(plan.table())
    return plan.apply(config)


def run(args) -> int:
    from segcore.training import distributed
    from segcore.training.events import RunStatus
    from segcore.training.loop import Trainer
    from segcore.training.progress import ConsoleReporter

    if args.fine_tune and not args.checkpoint:
        raise ConfigError("--fine-tune needs a checkpoint to start from (-c FILE)")
    if distributed.launched():  # a torchrun worker of a job with several processes
        if args.minutes:
            raise ConfigError("--minutes plans for one process; under torchrun give the settings explicitly "
                              "(`segcore plan` shows what it would choose)")
        return _run_distributed(config_from_args(args), args.quiet)
    trainer = Trainer(planned_config(args))
    reporter = ConsoleReporter(quiet=args.quiet)
    done = None
    try:
        for event in trainer.run():
            reporter.show(event)
            done = event
    except KeyboardInterrupt:  # Ctrl+C once: stop like the GUI's Stop button would, keeping checkpoints
        reporter.close()
        print("interrupted; checkpoints written so far are whole", file=sys.stderr)
        return 130
    reporter.close()
    return 0 if done is not None and done.status is RunStatus.COMPLETED else 1


def _run_distributed(config, quiet: bool) -> int:
    """One torchrun worker: every rank trains, rank 0 reports and writes; a signal stops every rank cleanly."""
    from segcore.errors import TrainingError
    from segcore.training import distributed
    from segcore.training.events import RunStatus
    from segcore.training.loop import Trainer
    from segcore.training.progress import ConsoleReporter

    done = None
    with distributed.session(config.device) as dist:
        trainer = Trainer(config, dist)
        reporter = ConsoleReporter(quiet=quiet) if dist.is_main else None
        with distributed.stop_on_signals(trainer.request_stop):
            try:
                for event in trainer.run():
                    if reporter is not None:
                        reporter.show(event)
                    done = event
            except RuntimeError as exc:  # DistError is one
                if not distributed.is_lost_peer(exc):
                    raise
                raise TrainingError(distributed.lost_peer_message(dist, exc)) from exc
            finally:
                if reporter is not None:
                    reporter.close()
    if done is None or done.status is RunStatus.FAILED:
        return 1
    return 0 if done.status is RunStatus.COMPLETED else 130
