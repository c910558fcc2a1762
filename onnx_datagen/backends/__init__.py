"""Optimisation engines. Each turns a PreparedModel + GenerationConfig into optimised images."""
