"""Model registry: architecture name -> class, with a one-line description.

``create_model("unet", in_channels=3, num_classes=2, width=32)`` builds a model; every model stores
``model.arch = (name, kwargs)`` so a checkpoint can rebuild it without being told what it is. Architectures live
in one module each and register themselves with :func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from segcore.errors import ConfigError

_REGISTRY: dict[str, tuple[Callable, str]] = {}
_MODULES = ["unet", "segnet", "pspnet"]  # imported on first use; a missing one is simply not offered


def register(name: str, description: str):
    """Class decorator adding an architecture to the registry."""

    def wrap(cls):
        _REGISTRY[name] = (cls, description)
        return cls

    return wrap


def _load_all() -> None:
    for module in _MODULES:
        try:
            importlib.import_module(f"segcore.models.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"segcore.models.{module}":
                raise


def _load(name: str) -> None:
    """Import the module of architecture ``name`` alone when it has one (a U-Net never imports torchvision)."""
    if name not in _REGISTRY and name in _MODULES:
        importlib.import_module(f"segcore.models.{name}")
    if name not in _REGISTRY:
        _load_all()


def available() -> dict[str, str]:
    """Registered architectures, name -> one-line description, in registration order."""
    _load_all()
    return {name: desc for name, (_, desc) in _REGISTRY.items()}


def _class_of(name: str) -> type:
    """The registered class of architecture ``name``; ConfigError listing the valid names when unknown."""
    _load(name)
    if name not in _REGISTRY:
        raise ConfigError(f"unknown architecture '{name}'; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name][0]


def check_arguments(name: str, kwargs: dict) -> None:
    """Raise ConfigError, before anything is built, for an unknown architecture or argument."""
    import inspect

    parameters = inspect.signature(_class_of(name)).parameters
    options = [p for p in parameters if p not in ("in_channels", "num_classes")]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise ConfigError(f"{name} has no option {', '.join(unknown)}; its options are {', '.join(options)}")
    for key, value in kwargs.items():
        default_type = type(parameters[key].default)
        if default_type in _KINDS and not _is_kind(value, default_type):
            raise ConfigError(f"{name} option {key} must be {_KINDS[default_type]}, got {value!r}")


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a name"}


def _is_kind(value, kind: type) -> bool:
    """Whether ``value`` suits an option whose default is of type ``kind`` (a whole number is a number)."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    return isinstance(value, (int, float)) if kind is float else isinstance(value, kind)


def create_model(name: str, in_channels: int, num_classes: int, **kwargs):
    """Build architecture ``name``; unknown names or arguments raise ConfigError listing what is valid."""
    cls = _class_of(name)
    try:
        model = cls(in_channels=in_channels, num_classes=num_classes, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid arguments for {name}: {exc}") from exc
    # ImageNet weights only initialise; a checkpoint's weights replace them, so rebuilding must not need them.
    model.arch = (name, {k: v for k, v in kwargs.items() if k != "pretrained"})
    return model


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
