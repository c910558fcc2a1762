"""Settings: the choices (choices.py), the input normalisation (normalization.py), the tuned defaults with the
measurements that chose them (defaults.py), GenerationConfig (generation.py), reading settings as users write them
(parsing.py), and the named presets (presets.py, preset_files/)."""
