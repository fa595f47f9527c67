"""The window's package stays readable from its tree: small modules (the layering itself is in pyproject's
import-linter contracts, checked by `make test`)."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
MAX_LINES = 300


def test_no_module_in_app_is_over_max_lines():
    lengths = {str(p.relative_to(APP)): len(p.read_text(encoding="utf-8").splitlines()) for p in APP.rglob("*.py")}
    assert len(lengths) > 20
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}
