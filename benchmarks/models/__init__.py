"""The networks the benchmarks measure, built or exported in one place each."""
