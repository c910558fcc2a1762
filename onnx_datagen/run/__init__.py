"""Running a generation: generate(), groups, jobs in a crash-safe run folder, batch files, Ray, progress printing."""
