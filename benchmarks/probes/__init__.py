"""Finished questions (a lever measured, kept or not): the suites' shape, rerun only to re-decide."""
