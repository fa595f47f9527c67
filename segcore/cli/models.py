"""``segcore models``: the registered architectures, their parameter counts, options and descriptions."""

from __future__ import annotations

import inspect
import textwrap

from segcore.errors import ConfigError

_FIXED = {"self", "in_channels", "num_classes"}  # given by the data, not chosen by the user


def register(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list the architectures with parameter counts and options",
        description="List the registered architectures (for train --arch) with their parameter counts at "
        "default settings, the options that --arch-arg KEY=VALUE (or --width) can change, and a description.",
    )
    p.add_argument("--in-channels", type=int, default=3, help="input channels to count for (default 3)")
    p.add_argument("--classes", type=int, default=2, help="classes to count for (default 2)")
    p.set_defaults(func=run)


def _options(model) -> str:
    """The constructor's keyword arguments with their defaults, e.g. ``width=32 depth=4``."""
    params = inspect.signature(type(model).__init__).parameters.values()
    return " ".join(f"{p.name}={p.default!r}" for p in params if p.name not in _FIXED)


def format_models(in_channels: int = 3, num_classes: int = 2) -> str:
    """A readable table of every architecture: name, parameters at default settings, description, options."""
    from segcore.models import available, count_parameters, create_model

    if in_channels < 1 or num_classes < 2:
        raise ConfigError(f"need at least 1 input channel and 2 classes, got {in_channels} and {num_classes}")
    lines = [
        f"{'ARCH':<8} {'PARAMS':>8}  DESCRIPTION (parameters at default settings for "
        f"{in_channels} input channels, {num_classes} classes)"
    ]
    for name, description in available().items():
        model = create_model(name, in_channels, num_classes)
        millions = count_parameters(model) / 1e6
        lines.append(f"{name:<8} {millions:>6.2f} M  {description}")
        options = textwrap.wrap(_options(model), 90, initial_indent="options: ", subsequent_indent="  ")
        lines.extend(" " * 19 + line for line in options)
    return "\n".join(lines)


def run(args) -> int:
    print(format_models(args.in_channels, args.classes))
    return 0
