"""Keep freed memory in the process while the torch engine optimises on CPU, and give it back between groups.

glibc serves every block over its mmap threshold (at most 32 MiB) with a fresh mmap and unmaps it on free, so each
optimisation step of a 224x224 batch faults its activations in again, page by page: on MobileNetV2 (32 images of
224x224, batch 32) 40 % of the CPU time was kernel time. With mmap off and a high trim threshold, freed blocks
stay in the heap for the next step (benchmarks/results/LEVERS.md: 1.6x faster, kernel time 35 s -> 9 s, page faults
5x fewer, peak memory +10 %). Kept memory never leaves the process by itself, though: a finished group's canvases,
optimiser state and activations would stay resident while the next allocations (the returned images) take fresh
pages, so the engine returns it after each group (benchmarks/results/ACTIVATION_MEMORY.md). Process-wide; no-ops outside
glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters
TRIM_THRESHOLD = 2**31 - 1  # the largest mallopt takes: free memory at the heap's top is kept up to 2 GiB


@functools.cache
def _glibc():
    """glibc, or None (other platforms, and C libraries such as musl without mallopt/malloc_trim)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory() -> bool:
    """Tell glibc malloc to keep freed blocks; whether it took effect (False on other platforms and C libraries)."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release_freed_memory() -> None:
    """Return the free pages the heap holds to the system (glibc's malloc_trim); the blocks in use stay."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
