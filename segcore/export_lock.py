"""One lock that keeps torch.export from overlapping training in another thread of the same process.

torch.export, which the ONNX export uses (:mod:`segcore.export.onnx_format`), switches on process-wide state:
while it runs ``torch.compiler.is_exporting()`` is true in every thread, and each call of a dynamo-disabled
function in any thread (``Optimizer.zero_grad``, ``Optimizer.state_dict``, ...) then edits
``torch.fx.traceback``'s global metadata. A training step taken meanwhile failed its run with ``KeyError: 'custom'``
(torch 2.14: a run continued in the window while the model of the run before was exported for prediction).

So an export holds :data:`EXPORT_LOCK` throughout, and the training loop holds it while it builds its optimizer, for
each batch's step and for each checkpoint save: a run waits for an export (seconds), an export for one batch.
"""

from __future__ import annotations

import threading

EXPORT_LOCK = threading.RLock()  # re-entrant: the after-training checks may export inside the training thread
