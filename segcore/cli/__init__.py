"""The ``segcore`` command line: one module per sub-command, each with ``register(subparsers)``.

Every module's ``register`` adds its parser and sets ``func`` (``args -> int`` exit code). ``main(argv)``
turns every :class:`~segcore.errors.SegcoreError` into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Module names under segcore.cli, in the order shown by --help.
COMMANDS = ["sample_data", "create_txt", "train", "predict", "crf", "eval", "models", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segcore",
        description="Biomedical image segmentation from the command line: train, predict, refine, evaluate.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"segcore.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"segcore.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from segcore.errors import SegcoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SegcoreError as exc:
        print(f"{_who(args.command)}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{_who(args.command)}: interrupted", file=sys.stderr)
        return 130


def _who(command: str) -> str:
    """``segcore COMMAND``, plus the rank under torchrun: every rank reports, and the same line N times reads
    like a bug while one rank's own failure (its GPU, say) must still be seen."""
    rank, world = os.environ.get("RANK"), os.environ.get("WORLD_SIZE", "1")
    return f"segcore {command}" + (f" (rank {rank} of {world})" if rank is not None and world != "1" else "")


def console_main() -> None:
    sys.exit(main())
