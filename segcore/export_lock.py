"""One lock that keeps torch.export from overlapping torch work in other threads of the same process.

torch.export, which the ONNX export uses (:mod:`segcore.export.onnx_format`), switches on process-wide state:
while it runs ``torch.compiler.is_exporting()`` is true in every thread, and each call of a dynamo-disabled
function in any thread (``Optimizer.zero_grad``, ``Optimizer.state_dict``, ``torch.load``, ...) then edits
``torch.fx.traceback``'s global metadata. A run trained meanwhile failed with ``KeyError: 'custom'`` (torch 2.14: a
run continued in the window while the model of the run before was exported for prediction).

So an export holds :data:`EXPORT_LOCK` throughout; a training run holds it whenever it computes and lets go only
while its consumer handles an event (:func:`between_events`), and the planner's speed probe holds it per width
measured. An export then waits for one batch (or one validation image), a run for one export (seconds).
"""

from __future__ import annotations

import threading
from collections.abc import Generator

EXPORT_LOCK = threading.RLock()  # re-entrant: a run's after-training checks may export inside its own thread


def between_events(events: Generator) -> Generator:
    """Run the generator ``events`` holding :data:`EXPORT_LOCK` while it computes; released while each value it
    yields is handled (never held across a yield, so a consumer that stops early leaves nothing locked). Returns
    what ``events`` returns."""
    try:
        while True:
            with EXPORT_LOCK:
                try:
                    event = next(events)
                except StopIteration as end:
                    return end.value
            yield event
    finally:
        with EXPORT_LOCK:
            events.close()
