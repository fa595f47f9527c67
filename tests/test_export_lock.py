"""An ONNX export in one thread while a run trains in another (the window exports a run's model for prediction as
the next run starts). torch.export's state is process-wide: a training step taken during an export failed its run
with KeyError: 'custom' (torch 2.14), now and then. segcore.export_lock.EXPORT_LOCK keeps the two apart; the test
checks that no optimizer call falls inside an export, which without the lock happens on nearly every step."""

from __future__ import annotations

import importlib.util
import threading

import pytest

MISSING = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed (pip install 'segstudio[export]')")
def test_no_training_step_overlaps_an_onnx_export_in_another_thread(sample_dir, make_checkpoint, tmp_path,
                                                                    monkeypatch):
    import torch

    import segcore
    from segcore import checkpoint as ckpt
    from segcore.export.onnx_format import to_onnx

    exporting, steps_inside, steps = threading.Event(), [], []
    real_export, real_zero_grad = torch.onnx.export, torch.optim.AdamW.zero_grad

    def watched_export(*args, **kwargs):
        exporting.set()
        try:
            return real_export(*args, **kwargs)
        finally:
            exporting.clear()

    def watched_zero_grad(self, *args, **kwargs):
        steps.append(1)
        if exporting.is_set():
            steps_inside.append(1)
        return real_zero_grad(self, *args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", watched_export)
    monkeypatch.setattr(torch.optim.AdamW, "zero_grad", watched_zero_grad)
    model = ckpt.build_model(ckpt.load(make_checkpoint("unet"))).eval()
    exports = []

    def export_twice() -> None:  # the run starts during the first: the second falls among its steps
        for _ in range(2):
            to_onnx(model, 3)
            exports.append(1)

    exporter = threading.Thread(target=export_twice, daemon=True)
    exporter.start()
    assert exporting.wait(timeout=60)
    done = segcore.train(str(sample_dir), epochs=3, batch_size=1, patch_size=32, val_fraction=0.34,
                         arch_kwargs={"width": 4, "depth": 2}, out=str(tmp_path / "run"), calibrate_crf=False)
    exporter.join(timeout=120)
    assert done.status == "completed", done.message
    assert len(exports) == 2 and steps
    assert not steps_inside, f"{len(steps_inside)} of {len(steps)} optimizer steps fell inside an ONNX export"


def test_a_run_holds_the_lock_only_while_it_computes():
    from segcore.export_lock import EXPORT_LOCK, between_events

    def held_elsewhere() -> bool:  # whether another thread could not take the lock now
        free = []
        thread = threading.Thread(target=lambda: free.append(EXPORT_LOCK.acquire(timeout=0.01)
                                                             and EXPORT_LOCK.release() is None))
        thread.start()
        thread.join()
        return not free[0]

    inside, closed = [], []

    def run():
        try:
            for n in range(3):
                inside.append(held_elsewhere())
                yield n
            return "done"
        finally:
            closed.append(held_elsewhere())

    events = between_events(run())
    assert next(events) == 0 and not held_elsewhere()  # handled by the consumer: free
    assert next(events) == 1
    events.close()  # a consumer that stops early
    assert inside == [True, True] and closed == [True] and not held_elsewhere()

    finished = between_events(run())
    assert list(finished) == [0, 1, 2]
    with pytest.raises(StopIteration) as end:
        next(between_events(iter_returning("value")))
    assert end.value.value == "value"


def iter_returning(value):
    return value
    yield
