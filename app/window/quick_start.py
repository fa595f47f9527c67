"""Help > Quick Start (F1): the three jobs, the assistant and every shortcut on one page, built into the program
(no network).

The shortcut table is made from the window's own actions, so it always says what the keys do in this version.
"""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

JOBS = """
<h2>segstudio: three jobs, and an assistant</h2>
<h3>1. Annotate</h3>
<p><b>File &gt; Open Folder</b> (Ctrl+O) or drop a folder on the window. Pick an image in the <b>Images</b> list
(PgDown / PgUp move on). Choose a class in <b>Classes</b> (or press its number) and paint with the <b>Brush</b>
(B); the <b>Eraser</b> (E) paints background; <b>Fill</b> (F) and <b>Polygon</b> (P) fill regions;
<b>Unlabelled</b> (U) leaves pixels out of training. Masks are saved when you move on, every 30 s, and with
Ctrl+S. The wheel zooms at the cursor; hold Space and drag, or drag with the middle button, to pan.</p>
<h3>2. Train</h3>
<p>Open the <b>Training</b> tab (right), set a <b>time budget</b> in minutes and click <b>Train</b>. The run is
planned for your images and this computer first (<b>Show plan</b> previews it, with a reason for each choice);
the curves show the loss and the validation Dice as it learns. The window stays usable: keep annotating.
<b>Advanced</b> holds explicit settings, each overriding the plan's.</p>
<h3>3. Segment</h3>
<p>When a run ends its best model becomes the current one, named in the <b>Segment</b> panel (left); the folder's
runs are listed there to pick another, and the model comes back when you reopen the folder. <b>Segment image</b>
or <b>Segment all</b>, then <b>Accept</b> a prediction as the mask and correct it (Ctrl+Z undoes). <b>Refine with
CRF</b> compares the network's mask with a dense-CRF refinement side by side, zoomed to where they differ.</p>
<h3>4. Annotate faster: the Assist tab</h3>
<p>After a run the images without a mask are scored by how unsure the model is (the <b>Uncertainty</b> column).
<b>Next Most Uncertain</b> (N) opens the one worth annotating next, passing over images much like ones already
annotated, with the model's prediction to accept and correct. <b>Show uncertainty</b> colours where the model
hesitates. For an image the model gets wrong, mark the mask unlabelled, paint a few strokes of each class and
click <b>Propose mask</b>. <b>Per-image metrics</b> scores the model on every annotated image (click a row to open
it); <b>Retrain</b> fine-tunes the model on everything annotated so far, each round's curves beside the last.</p>
<p>Panels live in two columns around the image; <b>View &gt; Reset Layout</b> brings every one back.</p>
"""


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(keys, what they do) for every action of ``window`` that has a shortcut, in menu order."""
    rows = []
    for menu in (window.menus.file, window.menus.edit, window.menus.image, window.menus.view, window.menus.help):
        for action in menu.actions():
            keys = [text for k in action.shortcuts() if (text := k.toString(QKeySequence.SequenceFormat.NativeText))]
            if keys and action.text():
                rows.append((" or ".join(keys), action.text().replace("&", "").rstrip("…")))
    rows.append(("0 – 9", "Choose a class"))
    rows.append(("Space + drag, middle drag", "Pan the image"))
    return rows


def page(window) -> str:
    cells = "".join(f"<tr><td><b>{escape(keys)}</b></td><td>{escape(what)}</td></tr>"
                    for keys, what in shortcut_rows(window))
    return f"{JOBS}<h3>Shortcuts</h3><table cellpadding='3'>{cells}</table>"


def show_quick_start(window) -> QDialog:
    """Open the Quick Start page (not modal: it can stay open beside the window)."""
    dialog = window.findChild(QDialog, "quickStartDialog")
    if dialog is None:
        dialog = QDialog(window)
        dialog.setObjectName("quickStartDialog")
        dialog.setWindowTitle("segstudio: Quick Start")
        text = QTextBrowser()
        text.setObjectName("quickStartText")
        text.setHtml(page(window))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.close)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(buttons)
        dialog.resize(620, 640)
    dialog.show()
    dialog.raise_()
    return dialog
