"""Generators run in a fresh process each (python -m benchmarks.workers.NAME), measured by the harness."""
