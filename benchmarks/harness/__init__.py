"""What every benchmark shares, owned here and nowhere else: paths, the machine record, the common options, the
child-process runner (wall, CPU, peak memory), interleaved repeats and the result file's envelope."""
