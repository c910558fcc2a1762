"""The maintained questions: one folder each, run.py measures and render.py writes its results file."""
