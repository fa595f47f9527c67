"""Benchmarks: ``python -m bench [--quick] [--json FILE]`` (see bench/run.py and docs/performance.md)."""
