"""The reliability matrix, run from outside: kill -9 mid-save, pickled code, disk full, NaN, stop, huge images,
unicode paths, and the predict outputs that could replace an annotation or be read as images."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import TINY_TRAIN, assert_one_line_error
from test_cli import segcore as run_cli

from segcore import checkpoint as ckpt
from segcore.atomic import remove_stale_temporaries
from segcore.data import io
from segcore.data.classes import ClassSpec
from segcore.errors import CheckpointError, DataError
from segcore.training.config import TrainConfig
from segcore.training.events import BatchEvent, DoneEvent
from segcore.training.loop import Trainer

REPO = Path(__file__).resolve().parents[1]
TINY = dict(arch_kwargs={"width": 4, "depth": 2}, patch_size=48, batch_size=2, lr=5e-3, device="cpu")
SPEC = ClassSpec(["background", "cell"], [0, 255])

WRITERS = {
    "checkpoint": """
import sys, torch
from segcore import checkpoint as ckpt
target = sys.argv[1]
for i in range(1, 1000):
    print(i, flush=True)
    ckpt.save(target, {"arch": "unet", "arch_kwargs": {}, "in_channels": 1, "scale": 1.0,
                       "classes": {"names": ["a", "b"], "values": [0, 255]},
                       "normalization": {"mean": [0.0], "std": [1.0]}, "model": {"w": torch.full((6_000_000,), float(i))}})
""",
    "mask": """
import sys, numpy as np
from segcore.data import io
from segcore.data.classes import ClassSpec
target = sys.argv[1]
rng = np.random.default_rng(0)
for i in range(1, 1000):
    print(i, flush=True)
    mask = (rng.random((1500, 1500)) < 0.5).astype(np.uint8)
    mask[0, 0] = i % 2
    io.write_mask(target, mask, ClassSpec(["background", "cell"], [0, 255]))
""",
}


def kill_mid_save(kind: str, target: Path) -> list[Path]:
    """Start a process that saves ``target`` over and over, kill -9 it during a save; the temporaries it left."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for attempt in range(20):
        proc = subprocess.Popen([sys.executable, "-c", WRITERS[kind], str(target)], stdout=subprocess.PIPE,
                                text=True, env=env)
        while int(proc.stdout.readline() or 0) < 3:  # two whole saves first, then into the third
            pass
        time.sleep(0.002 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        left = sorted(target.parent.glob(f".{target.stem}.*"))
        if left:
            return left
    pytest.fail("never caught a save in the middle")


def test_kill_9_during_a_checkpoint_save_leaves_a_whole_file_and_the_next_run_cleans_up(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    left = kill_mid_save("checkpoint", run / "last.pt")
    data = ckpt.load(run / "last.pt")  # the old or the new one, whole
    assert int(data["model"]["w"][0]) in (2, 3) and bool((data["model"]["w"] == data["model"]["w"][0]).all())
    assert left and all(p.exists() for p in left)
    from segcore.data.sample import write_sample_data

    write_sample_data(tmp_path / "data", count=4, size=48, seed=0)
    list(Trainer(TrainConfig(data=str(tmp_path / "data"), epochs=1, out=str(run), **TINY)).run())
    assert not any(p.exists() for p in left), "the killed save's temporary is removed at the next start"


def test_kill_9_during_a_mask_save_leaves_a_whole_mask_and_its_temporary_is_removed(tmp_path):
    target = tmp_path / "cell_01.png"
    left = kill_mid_save("mask", target)
    mask = io.read_mask(target, SPEC)
    assert mask.shape == (1500, 1500) and mask[0, 0] in (0, 1)
    live = tmp_path / f".cell_02.ab12cd34.{__import__('segcore.atomic').atomic._HOST}-{os.getpid()}.tmp.png"
    live.write_bytes(b"a save in flight in a live process")
    assert sorted(remove_stale_temporaries(tmp_path)) == left  # the dead writer's, at once; not the live one's
    assert live.exists()


def test_a_checkpoint_that_is_a_pickle_with_code_is_refused_without_running_it(tmp_path):
    """A .pt file whose pickle would run a command on loading (the classic torch.load exploit)."""
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "model.pt"
    evil.write_bytes(pickle.dumps({"format": "segstudio-checkpoint", "model": Exploit()}))
    import torch

    torch.save({"format": "segstudio-checkpoint", "model": Exploit()}, tmp_path / "zip.pt")
    for path in (evil, tmp_path / "zip.pt"):
        with pytest.raises(CheckpointError):
            ckpt.load(path)
        proc = run_cli("predict", "-m", path, "-i", path, check=False)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert not marker.exists(), "the pickled command ran"


# -- stop, NaN, disk full: the last good checkpoint survives and the message says where ----------------------------
@pytest.fixture
def data(tmp_path) -> Path:
    from segcore.data.sample import write_sample_data

    folder = tmp_path / "data"
    write_sample_data(folder, count=4, size=48, seed=0)
    return folder


def test_stop_mid_epoch_says_where_the_checkpoint_is(data, tmp_path):
    trainer = Trainer(TrainConfig(data=str(data), epochs=5, out=str(tmp_path / "run"), **TINY))
    for event in trainer.run():
        if isinstance(event, BatchEvent) and event.epoch == 2:
            trainer.request_stop()
    assert event.status == "stopped"
    assert f"the last good checkpoint is {tmp_path / 'run' / 'last.pt'} (1 epoch)" in event.message
    assert ckpt.load(tmp_path / "run" / "last.pt")["epoch"] == 1


def test_nan_loss_names_the_last_good_checkpoint(data, tmp_path, monkeypatch):
    import segcore.training.loop as loop

    real, calls = loop.segmentation_loss, {"n": 0}

    def nan_in_epoch_two(output, target, **kwargs):
        calls["n"] += 1
        return real(output, target, **kwargs) * (float("nan") if calls["n"] > 1 else 1)  # one batch an epoch

    monkeypatch.setattr(loop, "segmentation_loss", nan_in_epoch_two)
    events = list(Trainer(TrainConfig(data=str(data), epochs=3, out=str(tmp_path / "run"), **TINY)).run())
    assert events[-1].status == "failed" and "nan" in events[-1].message
    assert f"the last good checkpoint is {tmp_path / 'run' / 'last.pt'} (1 epoch)" in events[-1].message
    assert ckpt.load(tmp_path / "run" / "last.pt")["epoch"] == 1


def test_disk_full_while_writing_a_checkpoint_keeps_the_last_good_one_and_says_where(data, tmp_path, monkeypatch):
    """The second epoch's save runs out of space half-way (a patched write: half the bytes, then ENOSPC)."""
    import errno

    import torch

    real, saves = torch.save, {"n": 0}

    def fills_the_disk(obj, f, *args, **kwargs):
        saves["n"] += 1
        if saves["n"] <= 2:  # epoch 1: last.pt and best.pt
            return real(obj, f, *args, **kwargs)
        Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", fills_the_disk)
    run = tmp_path / "run"
    events = list(Trainer(TrainConfig(data=str(data), epochs=3, out=str(run), **TINY)).run())
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.status == "failed"
    assert f"cannot write {run / 'last.pt'}: No space left on device" in done.message
    assert f"the last good checkpoint is {run / 'last.pt'} (1 epoch)" in done.message
    assert ckpt.load(run / "last.pt")["epoch"] == 1 and not list(run.glob(".*tmp*"))
    monkeypatch.setattr(torch, "save", real)
    import segcore

    with pytest.raises(segcore.TrainingError, match="No space left on device"):
        saves["n"] = 0
        monkeypatch.setattr(torch, "save", fills_the_disk)
        segcore.train(str(data), out=str(tmp_path / "api"), epochs=3, **TINY)


# -- huge images ----------------------------------------------------------------------------------------------------
def header_only_png(path: Path, width: int, height: int, colour_type: int = 2) -> None:
    """A PNG that declares ``width`` x ``height`` and holds a few bytes of data: a decompression bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_a_30000_square_image_that_does_not_fit_in_memory_is_refused_before_decoding(tmp_path, monkeypatch):
    header_only_png(tmp_path / "slide.png", 30000, 30000)
    monkeypatch.setattr(io, "free_memory", lambda: 2 * 1024**3)
    with pytest.raises(DataError, match=r"slide.png: 30000x30000 pixels need 5.4 GB of memory to read, but 2.1 GB "
                                        r"is free; crop or tile"):
        io.read_image(tmp_path / "slide.png")
    import tifffile

    with tifffile.TiffWriter(tmp_path / "slide.tif") as tif:  # a tiled BigTIFF header, data never written
        tif.write(shape=(30000, 30000, 3), dtype=np.uint8, tile=(256, 256), photometric="rgb")
    with pytest.raises(DataError, match="slide.tif: 30000x30000 pixels need"):
        io.read_image(tmp_path / "slide.tif")


def test_a_decompression_bomb_is_one_line_from_the_cli(tmp_path):
    header_only_png(tmp_path / "bomb.png", 100_000, 100_000)  # 10 gigapixels in a 100-byte file
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "small.png")
    proc = run_cli("crf", "-i", tmp_path / "bomb.png", "--labels", tmp_path / "small.png", "-o", tmp_path / "o.png",
                   check=False)
    assert_one_line_error(proc, "bomb.png", "too large")


# -- unicode and spaces in every path -------------------------------------------------------------------------------
def test_unicode_and_spaces_in_every_path(tmp_path):
    from segcore.data.sample import write_sample_data

    root = tmp_path / "données été" / "图像 集"
    write_sample_data(root, count=4, size=48, seed=0)
    for path in sorted((root / "images").iterdir()):
        path.rename(path.with_name(f"cellule ñ {path.stem}.png"))
    for path in sorted((root / "masks").iterdir()):
        path.rename(path.with_name(f"cellule ñ {path.stem}.png"))
    run = tmp_path / "sortie ü" / "run 1"
    run_cli("train", root, "-e", "1", "-o", run, *TINY_TRAIN)
    image = sorted((root / "images").iterdir())[0]
    out = tmp_path / "résultats 2" / "masque ö.png"
    run_cli("predict", "-m", run / "best.pt", "-i", image, "-o", out, "--probabilities", "--overlay")
    assert out.exists() and out.with_name("masque ö.overlay.png").exists()
    assert "cellule ñ" in run_cli("eval", "-m", run / "best.pt", root).stdout
    run_cli("crf", "-i", image, "-p", out.with_name("masque ö.probs.npy"), "-o", tmp_path / "résultats 2" / "crf é.png")
    run_cli("predict", "-m", run / "best.pt", "-i", root / "images", "-o", tmp_path / "dossier sortie")
    assert len(list((tmp_path / "dossier sortie").iterdir())) == 4


# -- notes from the last round: predict outputs ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    from segcore.data.sample import write_sample_data

    root = tmp_path_factory.mktemp("model")
    write_sample_data(root / "data", count=4, size=48, seed=0)
    list(Trainer(TrainConfig(data=str(root / "data"), epochs=1, out=str(root / "run"), **TINY)).run())
    return root / "run" / "best.pt"


def test_predict_to_a_non_png_name_is_refused_and_the_png_annotation_kept(model, tmp_path):
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(tmp_path / "x.png")
    annotation = tmp_path / "x_mask.png"
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(annotation)
    before = annotation.read_bytes()
    proc = run_cli("predict", "-m", model, "-i", tmp_path / "x.png", "-o", tmp_path / "x_mask.tif", check=False)
    assert_one_line_error(proc, "x_mask.tif", "masks are written as PNG", "x_mask.png")
    assert annotation.read_bytes() == before


def test_folder_predict_keeps_an_earlier_prediction_and_skips_its_side_files(model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / "a.png")
    run_cli("predict", "-m", model, "-i", folder / "a.png", "-o", folder / "a_pred.png", "--crf", "--compare",
            "--overlay")
    assert {p.name for p in folder.iterdir()} >= {"a_pred.crf.png", "a_pred.compare.png", "a_pred.overlay.png"}
    run_cli("predict", "-m", model, "-i", folder)
    masks = tmp_path / "in_masks"
    assert sorted(p.name for p in masks.iterdir()) == ["a.png", "a_pred.png"]  # no a_pred.crf.png as an image
    earlier = (masks / "a.png").read_bytes()
    (masks / "a.png").write_bytes(earlier)
    proc = run_cli("predict", "-m", model, "-i", folder, check=False)
    assert_one_line_error(proc, "in_masks", "earlier prediction", "-o")
    run_cli("predict", "-m", model, "-i", folder, "-o", masks)  # asked for by name: replaced
    from segcore.data.layout import find_samples

    assert [s.image.name for s in find_samples(folder)] == ["a.png", "a_pred.png"]


def test_the_displayed_size_of_an_image_is_read_from_its_header_alone(tmp_path):
    header_only_png(tmp_path / "slide.png", 30000, 20000)
    assert io.displayed_size(tmp_path / "slide.png") == (20000, 30000)  # no 1.8 GB decoded
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((64, 96, 3), np.uint8)).save(tmp_path / "photo.jpg", exif=exif)
    assert io.displayed_size(tmp_path / "photo.jpg") == (96, 64) == io.read_image(tmp_path / "photo.jpg").shape[:2]
    with pytest.raises(DataError, match="not a readable image"):
        (tmp_path / "bad.png").write_bytes(b"nope")
        io.displayed_size(tmp_path / "bad.png")
