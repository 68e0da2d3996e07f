"""Load the CUDA stand-in libraries before torchvision (CPU flavour of the standalone app, Linux only).

A CUDA-built torchvision (the package index's 0.28.0) names ``libcudart.so.13``, ``libc10_cuda.so``
and ``libtorch_cuda.so`` as dependencies of its ``_C.so`` / ``image.so``. A CPU-only torch has none
of them, and the dynamic linker would not look for them in torch's folder anyway: it accepts a
dependency whose soname is already loaded in the process. So this file loads, in that order:

- ``libcudart.so.13``: the real CUDA runtime that torchvision itself ships in ``torchvision.libs/``
  (for ``image.so``); without a GPU driver it only records the kernels registered at load time;
- ``libc10_cuda.so`` and ``libtorch_cuda.so``: the stubs built from ``cuda_stubs.cpp`` (every function
  aborts with its name if it is ever called - it never is, a CPU torch makes no CUDA tensors).

Used twice, and a no-op wherever the stubs are absent (GPU flavour, PyTorch's own CPU torchvision):
- as a PyInstaller runtime hook of the bundle (``build.spec``): libraries under ``sys._MEIPASS``;
- in the CPU build venv as the module ``meddiag_cpu_torch_shim`` (imported by a ``.pth`` file, see
  ``build_shim.sh``), so that PyInstaller's analysis and the build checks can import torchvision.
"""
import ctypes
import glob
import os
import sys

SHIM_DIR_NAME = "meddiag_cpu_torch_shim"
STUBS = ("libc10_cuda.so", "libtorch_cuda.so")


def _folders():
    """(folder holding the stubs, the site-packages-like root holding torchvision.libs/)."""
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return os.path.join(sys._MEIPASS, SHIM_DIR_NAME), sys._MEIPASS
    here = os.path.dirname(os.path.abspath(__file__))
    return here, os.path.dirname(here)


def preload():
    """Load the CUDA runtime and the stubs when they are there; return the loaded paths."""
    if not sys.platform.startswith("linux"):
        return []
    shim_dir, root = _folders()
    stubs = [os.path.join(shim_dir, name) for name in STUBS]
    if not all(os.path.isfile(path) for path in stubs):
        return []
    cudart = sorted(glob.glob(os.path.join(root, "torchvision.libs", "libcudart*.so*")))
    paths = cudart[:1] + stubs
    for path in paths:
        _handles.append(ctypes.CDLL(path))  # kept referenced: never unloaded
    return paths


_handles = []
preload()
