"""The torch engine keeps freed memory in the process: a step reuses the pages of the step before instead of
faulting fresh ones in (glibc unmaps large blocks on free by default)."""

import subprocess
import sys

FAULTS_PER_STEP = """
import resource, sys, torch
from onnx_datagen.engines.torch.allocator import keep_freed_memory
if not keep_freed_memory():
    sys.exit("not glibc")
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
x = torch.randn(64, 3, 64, 64, requires_grad=True)
conv = torch.nn.Conv2d(3, 64, 3, padding=1)
def step():  # activations of 64 MiB each: 16384 pages apiece
    torch.relu(conv(x)).square().sum().backward()
step(); step()
start = faults()
for _ in range(10):
    step()
print((faults() - start) / 10)
"""


def test_optimisation_steps_reuse_their_memory_instead_of_faulting_it_in():
    done = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # Measured: 164k faults a step with glibc's defaults (every activation unmapped on free), 5k with memory kept.
    assert float(done.stdout) < 16384, done.stdout  # less than one activation's pages a step


def test_the_manifest_says_whether_freed_memory_is_kept(tmp_path):
    import onnx_datagen
    from onnx_datagen import GenerationConfig, Normalization
    from tests.conftest import DIGITS_MODEL

    config = GenerationConfig(n_iter=1, batch_size=2, normalization=Normalization((0.3,), (0.32,)))
    engine = onnx_datagen.generate(str(DIGITS_MODEL), 2, config).manifest["engine"]
    assert engine["allocator_keeps_freed_memory"] is sys.platform.startswith("linux")


RELEASED_BETWEEN_GROUPS = """
import sys, torch
from onnx_datagen.engines.torch.allocator import keep_freed_memory, release_freed_memory
if not keep_freed_memory():
    sys.exit("not glibc")
def rss_mib():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")) / 1024
x = torch.ones(64, 1024, 1024)  # 256 MiB, touched
del x
kept = rss_mib()
release_freed_memory()
print(kept - rss_mib())
"""


def test_memory_kept_for_the_next_step_is_given_back_between_groups():
    done = subprocess.run([sys.executable, "-c", RELEASED_BETWEEN_GROUPS], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) > 200, done.stdout  # MiB returned of the 256 freed (the heap kept them until then)
