"""Benchmarks runnable as modules from the project root (e.g. `.venv/bin/python -m benchmarks.match_engine`)."""
