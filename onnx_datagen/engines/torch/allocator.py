"""Keep freed memory in the process while the torch engine optimises on CPU.

glibc serves every block over its mmap threshold (at most 32 MiB) with a fresh mmap and unmaps it on free, so each
optimisation step of a 224x224 batch faults its activations in again, page by page: on MobileNetV2 (32 images of
224x224, batch 32) 40 % of the CPU time was kernel time. With mmap off and a high trim threshold, freed blocks
stay in the heap for the next step (benchmarks/LEVERS.md: 1.6x faster, kernel time 35 s -> 9 s, page faults
5x fewer, peak memory +10 %). Process-wide, and a no-op outside glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters
TRIM_THRESHOLD = 2**31 - 1  # the largest mallopt takes: free memory at the heap's top is kept up to 2 GiB


def keep_freed_memory() -> bool:
    """Tell glibc malloc to keep freed blocks; whether it took effect (False on other platforms and C libraries)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
