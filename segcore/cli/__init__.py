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
COMMANDS = ["sample_data", "create_txt", "plan", "train", "predict", "rank", "crf", "eval", "convert", "export",
            "models", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segcore",
        description="Biomedical image segmentation from the command line: train, predict, refine, evaluate, "
                    "export.",
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
    parser.commands = sub.choices  # name -> its parser, for errors about that command's arguments
    return parser


def main(argv: list[str] | None = None) -> int:
    from segcore.errors import SegcoreError

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame `segcore` and show its usage; the mistake is in the command's options
        command = parser.commands[args.command]
        command.error(_unrecognized(command, extra))
    try:
        return int(args.func(args) or 0)
    except SegcoreError as exc:
        print(f"{_who(args.command)}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{_who(args.command)}: interrupted", file=sys.stderr)
        return 130


def _unrecognized(command: argparse.ArgumentParser, extra: list[str]) -> str:
    """argparse's message, plus the nearest real option for each mistyped one."""
    import difflib

    options = [o for action in command._actions for o in action.option_strings]
    typed = [arg.split("=")[0] for arg in extra if arg.startswith("--")]
    near = [m for arg in typed for m in difflib.get_close_matches(arg, options, n=1)]
    return f"unrecognized arguments: {' '.join(extra)}" + (f" (did you mean {', '.join(near)}?)" if near else "")


def _who(command: str) -> str:
    """``segcore COMMAND``, plus the rank under torchrun: every rank reports, and the same line N times reads
    like a bug while one rank's own failure (its GPU, say) must still be seen."""
    rank, world = os.environ.get("RANK"), os.environ.get("WORLD_SIZE", "1")
    return f"segcore {command}" + (f" (rank {rank} of {world})" if rank is not None and world != "1" else "")


def console_main() -> None:
    try:
        try:
            code = main()
        except SystemExit as exc:  # argparse's --help and usage errors print first, too
            code = exc.code
        sys.stdout.flush()  # inside the try: a reader gone before the last lines fails here, not at exit
    except BrokenPipeError:  # `segcore rank ... | head`: the reader has what it wanted; no traceback
        # (Python's recipe, docs of the signal module: point stdout at devnull so the exit flush cannot fail)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
