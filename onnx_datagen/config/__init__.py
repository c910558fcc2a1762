"""Settings: GenerationConfig and its enums (settings.py), and the named presets (presets.py, preset_files/)."""
