"""The ONNX Runtime engine, with the exported ONNX file cached beside the checkpoint.

The cache ``NAME.engine.onnx`` (beside ``NAME.pt``; in the user's cache folder when that folder is read-only)
holds the exported network (:mod:`segcore.export.onnx_format`) and, in its metadata, the SHA-256 of the
checkpoint file it came from and what prediction needs besides the weights (classes, normalisation, scale). A
valid cache is all this engine reads: no torch import, no checkpoint unpickling. A changed checkpoint (retrained
in place) no longer matches its hash and is exported again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from segcore.engines import pad_batch
from segcore.errors import OutputError

CACHE_FORMAT = "1"  # bump when what the cache holds changes
KEY_HASH, KEY_INFO, KEY_FORMAT, KEY_MULTIPLE = (
    "segstudio.checkpoint_sha256", "segstudio.prediction_info", "segstudio.cache_format", "segstudio.multiple")


class OnnxEngine:
    """``(N, C, h, w)`` float32 -> ``(N, K, h, w)`` probabilities with an ONNX Runtime CPU session."""

    name = "onnxruntime"

    def __init__(self, session, multiple: int):
        self.session, self.multiple = session, multiple
        self.input = session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        padded, (h, w) = pad_batch(np.ascontiguousarray(batch, dtype=np.float32), self.multiple)
        # the exported graph takes one image at a time (segcore.export.onnx_format)
        out = [self.session.run(None, {self.input: padded[i:i + 1]})[0] for i in range(len(padded))]
        return (out[0] if len(out) == 1 else np.concatenate(out))[..., :h, :w]

    def describe(self) -> str:
        import onnxruntime

        threads = self.session.get_session_options().intra_op_num_threads
        return f"onnxruntime {onnxruntime.__version__} cpu (float32{f', {threads} threads' if threads else ''})"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_paths(checkpoint: Path, digest: str) -> list[Path]:
    """Where the cache may be: beside the checkpoint, then the user's cache folder (``XDG_CACHE_HOME``)."""
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "segstudio" / "engines"
    return [checkpoint.with_name(f"{checkpoint.stem}.engine.onnx"), user / f"{digest[:32]}.engine.onnx"]


def _session(source: bytes | str, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle worker threads would otherwise spin for a while after each tile, taking a core the window's UI thread
    # (or another job on a shared machine) needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its warnings about unused initialisers mean nothing to a user
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def _cached(path: Path, digest: str, threads: int | None):
    """The session and metadata of a valid cache at ``path``, else None (missing, stale or unreadable)."""
    if not path.is_file():
        return None
    try:
        session = _session(str(path), threads)
    except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
        return None
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(KEY_HASH) != digest or meta.get(KEY_FORMAT) != CACHE_FORMAT:
        return None
    return session, meta


def _export(checkpoint: Path, digest: str) -> bytes:
    """Export the checkpoint's network (imports torch; seconds, once per checkpoint) with the cache metadata."""
    from segcore import checkpoint as ckpt
    from segcore.export.onnx_format import to_onnx

    data = ckpt.load(checkpoint)
    info = ckpt.prediction_info(data)
    meta = {KEY_HASH: digest, KEY_FORMAT: CACHE_FORMAT, KEY_INFO: json.dumps(info, default=float)}
    proto = to_onnx(ckpt.build_model(data, checkpoint), int(data["in_channels"]), meta,
                    doc=f"segstudio prediction cache of {checkpoint.name}")
    return proto.SerializeToString()


def _store(blob: bytes, paths: list[Path]) -> Path | None:
    """Write the cache to the first place that takes it; None when none does (it is then rebuilt next time)."""
    from segcore.atomic import atomic_path

    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                Path(tmp).write_bytes(blob)
            return path
        except (OSError, OutputError):
            continue
    return None


def open_checkpoint(path: str | os.PathLike, threads: int | None = None) -> tuple[OnnxEngine, dict, str]:
    """The engine for checkpoint ``path``, its prediction info and a note for the user (empty when none).

    Raises CheckpointError for a missing or unreadable checkpoint, ExportError when it cannot be exported.
    """
    path = Path(path)
    if not path.is_file():
        from segcore import checkpoint as ckpt

        ckpt.load(path)  # raises the CheckpointError that says what is wrong
    digest = file_sha256(path)
    paths = cache_paths(path, digest)
    note = ""
    found = next((c for c in (_cached(p, digest, threads) for p in paths) if c is not None), None)
    if found is None:
        blob = _export(path, digest)
        if _store(blob, paths) is None:
            note = f"could not cache the ONNX export of {path.name} (read-only folders); it is exported again each time"
        found = (session := _session(blob, threads)), session.get_modelmeta().custom_metadata_map
    session, meta = found
    return OnnxEngine(session, int(meta[KEY_MULTIPLE])), json.loads(meta[KEY_INFO]), note
