#!/usr/bin/env bash
# Build the CUDA stand-ins and install them into a CPU-torch venv (CPU flavour of the standalone app).
#   scripts/cpu_torch_shim/build_shim.sh PYTHON
# PYTHON: the venv's interpreter. Does nothing (exit 0, "not needed") unless that venv has a CPU-only
# torch and a torchvision whose _C.so needs libtorch_cuda.so - i.e. not with PyTorch's CPU wheels.
# Installs <site-packages>/meddiag_cpu_torch_shim/{__init__.py,libc10_cuda.so,libtorch_cuda.so} and
# meddiag_cpu_torch_shim.pth, which loads them at interpreter start (see preload.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:?usage: build_shim.sh PYTHON}"
site="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
tv_c="$(ls "$site"/torchvision/_C*.so 2>/dev/null | head -n1 || true)"
if [ -z "$tv_c" ] || [ -e "$site/torch/lib/libtorch_cuda.so" ] \
   || ! readelf -d "$tv_c" | grep -q 'NEEDED.*\[libtorch_cuda\.so\]'; then
  echo "cpu_torch_shim: not needed (torchvision matches torch)"
  rm -rf "$site/meddiag_cpu_torch_shim" "$site/meddiag_cpu_torch_shim.pth"
  exit 0
fi
command -v gcc >/dev/null || { echo "cpu_torch_shim: gcc (with C++ support) is needed" >&2; exit 1; }
out="$site/meddiag_cpu_torch_shim"
mkdir -p "$out"
flags=(-x c++ -shared -fPIC -O2 -Wall -Wextra -Werror -fno-exceptions -fno-rtti)
gcc "${flags[@]}" -DSHIM_C10_CUDA -Wl,-soname,libc10_cuda.so -o "$out/libc10_cuda.so" "$here/cuda_stubs.cpp"
gcc "${flags[@]}" -DSHIM_TORCH_CUDA -Wl,-soname,libtorch_cuda.so -o "$out/libtorch_cuda.so" "$here/cuda_stubs.cpp"
cp "$here/preload.py" "$out/__init__.py"
echo "import meddiag_cpu_torch_shim" > "$site/meddiag_cpu_torch_shim.pth"
# Every torch / torchvision symbol that torchvision's libraries need must now be defined.
"$python" - <<'PY'
import torch, torchvision  # noqa: F401  (fails loudly when a symbol is still missing)
boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
assert keep.tolist() == [0, 2], keep
print(f"cpu_torch_shim: installed; torch {torch.__version__} + torchvision {torchvision.__version__} work (nms ok)")
PY
