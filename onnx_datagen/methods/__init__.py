"""Ways of making images, one module per --method value (registry.py maps them): what each needs from the model,
what it refuses, and how it runs; base.py holds what they share (the engine choice, the maker of engine-optimised
groups)."""
