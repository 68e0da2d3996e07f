#!/usr/bin/env bash
# Build the MedDiag Desktop standalone app with PyInstaller and smoke-test the result (the release check).
#
#   scripts/build_app.sh [cpu|gpu] [--onefile]
#
#   cpu (default)  CPU-only torch: the small bundle, dist/MedDiagDesktop/
#   gpu            CUDA torch: runs on NVIDIA GPUs and falls back to the CPU, dist/gpu/MedDiagDesktop/
#   --onefile      one self-extracting executable instead: dist/onefile/MedDiagDesktop (gpu: dist/gpu-onefile/)
#                  (its CLI: `MedDiagDesktop cli ...`)
#
# Steps: a build venv in build/venv-<flavour> (created once, reused while its requirements are unchanged)
# with torch, the project's other dependencies (from pyproject.toml), the project itself (editable,
# --no-deps) and PyInstaller; for the CPU flavour the CUDA stand-ins of scripts/cpu_torch_shim/ when the
# torchvision needs them; `pyinstaller build.spec`; then, with HOME pointing at an empty folder and
# without network (unshare -n, when permitted): `--version` (start-up time), `--self-test` offscreen
# (the bundled sample through the real window, all models and a heat-map; rerun once, with a warning,
# if it fails only on its GUI-stall limit), `meddiag scan` of the bundled samples plus one file per image
# codec (all rows must be ok), `meddiag predict --dicom-out` of the bundled sample DICOM (an SR and
# secondary captures, validated with dciodvfy when installed), `meddiag listen` on 127.0.0.1 receiving a
# C-ECHO and the sample by C-STORE (result rows, SR + SC checked; run without the network namespace, as
# it needs loopback), `meddiag watch --once` on a folder with the samples, a one-epoch fine-tune, and a
# check that nothing was written into the bundle. Any failure stops the script with "BUILD FAILED: ..." and a
# non-zero status. Prints the bundle size and the timings (also written to
# dist/build-summary-<flavour>[-onefile].txt).
#
# Environment:
#   MEDDIAG_PYTHON            interpreter for the build venv (default: python3; 3.10-3.12)
#   MEDDIAG_TORCH_INDEX_URL   extra index to take torch/torchvision from, e.g. PyTorch's CPU wheel index
#                             https://download.pytorch.org/whl/cpu (then the CPU torchvision needs no shim)
#   MEDDIAG_CPU_TORCH         CPU flavour pins (default: "torch==2.13.0+cpu torchvision==0.28.0")
#   MEDDIAG_GPU_TORCH         GPU flavour pins (default: "torch==2.14.1 torchvision==0.29.1")
#   MEDDIAG_GPU_SYSTEM_SITE=1 GPU flavour: reuse the interpreter's installed CUDA torch (venv with
#                             --system-site-packages) instead of installing ~4 GB of CUDA wheels again
#   MEDDIAG_SKIP_TRAIN=1      skip the fine-tuning smoke test
#   MEDDIAG_NO_STRIP=1        keep the symbol tables of torch's libraries and libpython (read by build.spec)
set -euo pipefail
export LANG=C.UTF-8 LC_ALL=C.UTF-8 PYTHONUTF8=1

flavour=cpu
onefile=0
for arg in "$@"; do
  case "$arg" in
    cpu|gpu) flavour="$arg" ;;
    --onefile) onefile=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build_app.sh: unknown argument '$arg' (usage: build_app.sh [cpu|gpu] [--onefile])" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
step() { printf '\n== %s\n' "$*"; }
die() { printf '\nBUILD FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --------------------------------------------------------------------------------------------------
step "build venv ($flavour)"
venv="$root/build/venv-$flavour"
python_base="${MEDDIAG_PYTHON:-python3}"
cpu_pins="${MEDDIAG_CPU_TORCH:-torch==2.13.0+cpu torchvision==0.28.0}"
gpu_pins="${MEDDIAG_GPU_TORCH:-torch==2.14.1 torchvision==0.29.1}"
torch_pins="$cpu_pins"; [ "$flavour" = gpu ] && torch_pins="$gpu_pins"
venv_args=()
if [ "$flavour" = gpu ] && [ "${MEDDIAG_GPU_SYSTEM_SITE:-0}" = 1 ]; then
  venv_args+=(--system-site-packages)
  torch_pins=""  # whatever CUDA torch the interpreter has
fi
index_args=()
[ -n "${MEDDIAG_TORCH_INDEX_URL:-}" ] && index_args+=(--extra-index-url "$MEDDIAG_TORCH_INDEX_URL")
# The project's dependencies other than torch / torchvision, straight from pyproject.toml.
deps="$("$python_base" - <<'PY'
import re
try:
    import tomllib
    deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
except ImportError:  # Python 3.10: the [project] dependencies list, read plainly
    block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", open("pyproject.toml").read(), re.S | re.M).group(1)
    deps = re.findall(r'^\s*"([^"]+)"', block, re.M)
print(" ".join(d.replace(" ", "") for d in deps if not re.match(r"torch(vision)?\b", d)))
PY
)"
pyinstaller_pin="pyinstaller>=6.10,<7"
shim_files=(scripts/cpu_torch_shim/cuda_stubs.cpp scripts/cpu_torch_shim/preload.py scripts/cpu_torch_shim/build_shim.sh)
want="$flavour|${venv_args[*]:-}|$torch_pins|${MEDDIAG_TORCH_INDEX_URL:-}|$deps|$pyinstaller_pin|$(cat "${shim_files[@]}" | sha1sum)"
stamp="$venv/.meddiag-build-venv"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "reusing $venv"
else
  rm -rf "$venv"
  "$python_base" -m venv "${venv_args[@]}" "$venv"
  pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
  # torch first and on its own, so that nothing else drags in a (CUDA) torch from the index.
  # shellcheck disable=SC2086
  [ -n "$torch_pins" ] && "${pip[@]}" "${index_args[@]}" $torch_pins
  # shellcheck disable=SC2086
  "${pip[@]}" $deps "$pyinstaller_pin"
  "${pip[@]}" --no-deps -e .
  if [ "$flavour" = cpu ]; then
    scripts/cpu_torch_shim/build_shim.sh "$venv/bin/python"
  fi
  echo "$want" > "$stamp"
fi
"$venv/bin/python" - "$flavour" <<'PY'
import sys
import torch, torchvision
cuda = torch.version.cuda
print(f"torch {torch.__version__} (CUDA {cuda or 'none'}), torchvision {torchvision.__version__}")
if (sys.argv[1] == "cpu") != (cuda is None):
    sys.exit(f"the {sys.argv[1]} flavour needs a {'CPU-only' if sys.argv[1] == 'cpu' else 'CUDA'} torch")
PY

# --------------------------------------------------------------------------------------------------
step "pyinstaller build.spec ($flavour, $([ $onefile = 1 ] && echo onefile || echo onedir))"
if ! ls weights/*.safetensors >/dev/null 2>&1; then
  echo "WARNING: weights/ has no shipped models yet: the bundle will have none and --self-test will fail"
fi
# One work folder per flavour (onedir and onefile share PyInstaller's analysis cache). Outputs:
# cpu: dist/MedDiagDesktop/ and dist/onefile/MedDiagDesktop; gpu: dist/gpu/... and dist/gpu-onefile/...
workpath="$root/build/pyinstaller-$flavour"
case "$flavour-$onefile" in
  cpu-0) distpath="$root/dist" ;;
  cpu-1) distpath="$root/dist/onefile" ;;
  gpu-0) distpath="$root/dist/gpu" ;;
  gpu-1) distpath="$root/dist/gpu-onefile" ;;
esac
spec_args=()
[ $onefile = 1 ] && spec_args+=(-- --onefile)
t0=$(now)
"$venv/bin/pyinstaller" --noconfirm --log-level WARN --workpath "$workpath" --distpath "$distpath" \
  build.spec "${spec_args[@]}"
build_s=$(secs "$t0" "$(now)")

if [ $onefile = 1 ]; then
  bundle="$distpath/MedDiagDesktop"
  gui=("$bundle")
  cli=("$bundle" cli)
  samples="$root/resources/samples"  # the same files the executable unpacks at each start
else
  bundle="$distpath/MedDiagDesktop"
  gui=("$bundle/MedDiagDesktop")
  cli=("$bundle/meddiag")
  samples="$bundle/_internal/resources/samples"
  [ -d "$samples" ] || die "no resources/samples in the bundle"
  [ ! -e "$bundle/_internal/resources/datasets" ] || die "training data (resources/datasets) ended up in the bundle"
fi
[ -x "${gui[0]}" ] || die "no executable at ${gui[0]}"
size_bytes=$(du -sb "$bundle" | cut -f1)
size_mib=$(awk -v b="$size_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
size_mb=$(awk -v b="$size_bytes" 'BEGIN { printf "%.0f", b / 1000000 }')

# --------------------------------------------------------------------------------------------------
step "smoke tests (empty HOME, no network)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home"
isolate=(env -u MEDDIAG_HOME -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_STATE_HOME -u XDG_CACHE_HOME
         HOME="$tmp/home" QT_QPA_PLATFORM=offscreen TMPDIR="$tmp")
network="network on"
if unshare -n true 2>/dev/null; then
  isolate=(unshare -n "${isolate[@]}")
  network="no network (unshare -n)"
fi
echo "running with HOME=$tmp/home, $network"
find "$bundle" -printf '%P %s %T@\n' | sort > "$tmp/bundle-before.txt"

t0=$(now)
version="$("${isolate[@]}" "${gui[@]}" --version)" || die "--version failed"
version_s=$(secs "$t0" "$(now)")
echo "$version (${version_s} s)"

# --self-test, each output line stamped with the seconds since the start (start-up time = the
# "models:" line: window shown, torch imported, every model loaded).
self_test() {
  t0=$(now)
  set +e
  "${isolate[@]}" "${gui[@]}" --self-test 2>&1 | while IFS= read -r line; do
    printf '[%6.1fs] %s\n' "$(secs "$t0" "$(now)")" "$line"
  done | tee "$tmp/self-test.log"
  selftest_rc=${PIPESTATUS[0]}
  set -e
  selftest_s=$(secs "$t0" "$(now)")
}
self_test
selftest_note=""
if [ "$selftest_rc" -ne 0 ] && grep -q "SELF-TEST FAILED: the window froze" "$tmp/self-test.log"; then
  # The self-test also fails when the GUI thread stalls > 250 ms. On a shared build machine (other jobs,
  # a cold page cache right after writing a multi-GB bundle) that can happen once; a second stall fails.
  selftest_note=" (passed on the second run; the first stalled: $(sed -n 's/.*SELF-TEST FAILED: //p' "$tmp/self-test.log"))"
  echo "WARNING: --self-test failed only on the GUI-stall limit; running it once more"
  self_test
fi
[ "$selftest_rc" -eq 0 ] || die "--self-test exited with status $selftest_rc"
grep -q "SELF-TEST PASSED" "$tmp/self-test.log" || die "--self-test did not report PASSED"
ready_s=$(sed -n 's/^\[ *\([0-9.]*\)s\] models: .*/\1/p' "$tmp/self-test.log" | head -n1)

# Besides the bundled samples, one file per codec the bundle must still decode after the trimming and
# stripping: JPEG / TIFF / WebP / BMP (Pillow) and compressed DICOM - JPEG 2000 (openjpeg), JPEG
# extended and JPEG-LS (libjpeg), RLE - taken from pydicom's test files in the build venv.
mkdir -p "$tmp/codecs"
"$venv/bin/python" - "$samples/chest_xray_pneumonia_val0.png" "$tmp/codecs" <<'PY'
import shutil, sys
from pathlib import Path
import pydicom.data
from PIL import Image
sample, out = Image.open(sys.argv[1]), Path(sys.argv[2])
for ext in ("jpg", "tif", "webp", "bmp"):
    sample.save(out / f"sample.{ext}")
test_files = Path(pydicom.data.__file__).parent / "test_files"
for name in ("JPEG2000.dcm", "JPGExtended.dcm", "JPEGLSNearLossless_16.dcm", "MR_small_RLE.dcm"):
    shutil.copy(test_files / name, out / name)
PY
t0=$(now)
"${isolate[@]}" "${cli[@]}" scan "$samples" "$tmp/codecs" --out "$tmp/scan.csv" --workers-kind process --workers 2 \
  || die "meddiag scan failed"  # worker processes: the frozen app's spawn start (freeze_support) works
scan_s=$(secs "$t0" "$(now)")
[ -s "$tmp/scan.csv" ] || die "meddiag scan wrote no CSV"
rows=$(($(wc -l < "$tmp/scan.csv") - 1))
ok_rows=$(grep -c ',ok,' "$tmp/scan.csv" || true)
if [ "$ok_rows" -eq 0 ] || [ "$ok_rows" -ne "$rows" ]; then
  grep -v ',ok,' "$tmp/scan.csv" | head -n 20 >&2
  die "meddiag scan: only $ok_rows of $rows rows ok"
fi
echo "scan: all $rows rows ok ($(ls "$samples" | wc -l) bundled samples + $(ls "$tmp/codecs" | wc -l) codec files; $scan_s s)"

# DICOM results (highdicom's data files and lazy imports in the bundle): an SR and secondary captures
# for the bundled sample DICOM, written by the built app, read back and validated with dciodvfy when
# it is installed (Debian package dicom3tools).
mkdir -p "$tmp/dicom-out"
t0=$(now)
"${isolate[@]}" "${cli[@]}" predict "$samples/chest_xray_pneumonia_val0.dcm" --dicom-out "$tmp/dicom-out" \
  > "$tmp/dicom-predict.txt" 2>&1 || { cat "$tmp/dicom-predict.txt" >&2; die "meddiag predict --dicom-out failed"; }
dicom_s=$(secs "$t0" "$(now)")
dicom_kinds="$("$venv/bin/python" - "$tmp/dicom-out" <<'PY'
import sys
from pathlib import Path
import pydicom
kinds = sorted(pydicom.dcmread(p).Modality for p in Path(sys.argv[1]).glob("*.dcm"))
if kinds.count("SR") != 1 or "OT" not in kinds:
    sys.exit(f"expected one SR and secondary captures, got {kinds}")
print(f"{kinds.count('SR')} SR + {kinds.count('OT')} SC")
PY
)" || { cat "$tmp/dicom-predict.txt" >&2; die "meddiag predict --dicom-out: $dicom_kinds"; }
dicom_check="dciodvfy not installed: not validated"
if command -v dciodvfy >/dev/null 2>&1; then
  for object in "$tmp"/dicom-out/*.dcm; do
    errors="$(dciodvfy "$object" 2>&1 | grep '^Error' || true)"
    [ -z "$errors" ] || { echo "$errors" >&2; die "dciodvfy: errors in $(basename "$object"), written by the bundle"; }
  done
  dicom_check="dciodvfy: no errors"
fi
echo "DICOM results: $dicom_kinds ($dicom_check; $dicom_s s)"

# DICOM node and watch folder (pynetdicom, watchdog and the intake in the bundle): `meddiag listen` from
# the built app on 127.0.0.1 (a free high port); a small SCU (the build venv's pynetdicom) sends a C-ECHO
# and the sample DICOM by C-STORE; the result rows (one per model, all ok, `path` = the stored instance)
# and the SR + SC are checked (dciodvfy when installed); SIGTERM stops the node (exit status 0). The node
# needs loopback, so it runs without the network namespace (its own HOME still; it binds 127.0.0.1
# only). Then `meddiag watch --once` on a folder with a sample, without network.
node_isolate=(env -u MEDDIAG_HOME -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_STATE_HOME -u XDG_CACHE_HOME
              HOME="$tmp/home" QT_QPA_PLATFORM=offscreen TMPDIR="$tmp")
node_port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$tmp/node"
t0=$(now)
"${node_isolate[@]}" "${cli[@]}" listen --ae-title MEDDIAG --port "$node_port" --bind 127.0.0.1 --out "$tmp/node" \
  --min-free-mb 16 > "$tmp/listen.log" 2>&1 &
listen_pid=$!
node_result="$("$venv/bin/python" - "$node_port" "$samples/chest_xray_pneumonia_val0.dcm" "$tmp/node" <<'PY'
import csv, sys, time
from pathlib import Path
import pydicom
from pynetdicom import AE
port, sample, out = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
ds = pydicom.dcmread(sample, stop_before_pixels=True)
ae = AE(ae_title="SMOKETEST")
ae.add_requested_context("1.2.840.10008.1.1")  # Verification
ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
deadline = time.monotonic() + 300  # the node loads torch and the models first
while True:
    assoc = ae.associate("127.0.0.1", port, ae_title="MEDDIAG")
    if assoc.is_established:
        break
    if time.monotonic() > deadline:
        sys.exit("the node never accepted an association")
    time.sleep(1)
echo, store = assoc.send_c_echo().Status, assoc.send_c_store(sample).Status
assoc.release()
if echo != 0 or store != 0:
    sys.exit(f"C-ECHO status 0x{echo:04X}, C-STORE status 0x{store:04X}")
stored = out / "instances" / f"{ds.SOPInstanceUID}.dcm"
rows, kinds = [], []
while time.monotonic() < deadline:
    if (out / "results.csv").is_file():
        with open(out / "results.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    kinds = sorted(pydicom.dcmread(p).Modality for p in (out / "dicom").rglob("*.dcm")) if (out / "dicom").is_dir() else []
    if rows and kinds.count("SR") == 1 and "OT" in kinds:
        break
    time.sleep(1)
else:
    sys.exit(f"no results from the node: {len(rows)} rows, DICOM {kinds}")
bad = [r for r in rows if r["status"] != "ok" or Path(r["path"]).resolve() != stored.resolve()]
if bad:
    sys.exit(f"result rows not ok: {bad}")
print(f"C-ECHO ok, C-STORE ok, {len(rows)} rows ok, {kinds.count('SR')} SR + {kinds.count('OT')} SC")
PY
)" || { kill -TERM "$listen_pid" 2>/dev/null; wait "$listen_pid" || true; cat "$tmp/listen.log" >&2
        die "meddiag listen: ${node_result:-the SCU failed}"; }
kill -TERM "$listen_pid"
listen_rc=0
wait "$listen_pid" || listen_rc=$?
[ "$listen_rc" -eq 0 ] || { cat "$tmp/listen.log" >&2; die "meddiag listen exited with status $listen_rc on SIGTERM"; }
node_check="dciodvfy not installed: not validated"
if command -v dciodvfy >/dev/null 2>&1; then
  while IFS= read -r object; do
    errors="$(dciodvfy "$object" 2>&1 | grep '^Error' || true)"
    [ -z "$errors" ] || { echo "$errors" >&2; die "dciodvfy: errors in $(basename "$object"), written by the node"; }
  done < <(find "$tmp/node/dicom" -name '*.dcm')
  node_check="dciodvfy: no errors"
fi
node_s=$(secs "$t0" "$(now)")
echo "DICOM node: $node_result ($node_check; $node_s s with start-up)"

mkdir -p "$tmp/watched"
cp "$samples/chest_xray_pneumonia_val0.png" "$samples/chest_xray_pneumonia_val0.dcm" "$tmp/watched/"
t0=$(now)
"${isolate[@]}" "${cli[@]}" watch "$tmp/watched" --out "$tmp/watch.csv" --settle 0.5 --once \
  > "$tmp/watch.log" 2>&1 || { cat "$tmp/watch.log" >&2; die "meddiag watch --once failed"; }
watch_s=$(secs "$t0" "$(now)")
watch_rows=$(($(wc -l < "$tmp/watch.csv") - 1))
watch_ok=$(grep -c ',ok,' "$tmp/watch.csv" || true)
[ "$watch_rows" -gt 0 ] && [ "$watch_ok" -eq "$watch_rows" ] \
  || { cat "$tmp/watch.csv" >&2; die "meddiag watch --once: $watch_ok of $watch_rows rows ok"; }
echo "watch folder: 2 files, $watch_rows rows ok ($watch_s s)"

train_s="skipped"
if [ "${MEDDIAG_SKIP_TRAIN:-0}" != 1 ]; then
  # One epoch on a tiny generated data set: fine-tuning (autograd, optimiser, torchvision augmentation)
  # works inside the bundle. The model lands in the temporary HOME.
  "$venv/bin/python" - "$tmp/tiny.npz" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
def split(n):
    labels = np.arange(n) % 2
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    images[labels == 1, 8:20, 8:20] += 150
    return images, labels.reshape(-1, 1).astype(np.uint8)
(xt, yt), (xv, yv) = split(64), split(32)
np.savez(sys.argv[1], train_images=xt, train_labels=yt, val_images=xv, val_labels=yv)
PY
  # (the self-test has just shown that the shipped pneumonia-cnn loads)
  train_args=(train --data "$tmp/tiny.npz" --base pneumonia-cnn --epochs 1 --batch-size 16 --save-as smoke-finetune)
  t0=$(now)
  "${isolate[@]}" "${cli[@]}" "${train_args[@]}" || die "meddiag train (fine-tune) failed"
  train_s="$(secs "$t0" "$(now)") s"
fi

find "$bundle" -printf '%P %s %T@\n' | sort > "$tmp/bundle-after.txt"
if ! diff -q "$tmp/bundle-before.txt" "$tmp/bundle-after.txt" >/dev/null; then
  diff "$tmp/bundle-before.txt" "$tmp/bundle-after.txt" | head -n 20 >&2
  die "the app wrote into its own bundle"
fi
[ -n "$(find "$tmp/home" -name 'meddiag-desktop.log' -print -quit)" ] \
  || die "no log file in the user folders under the empty HOME"

# --------------------------------------------------------------------------------------------------
summary="$root/dist/build-summary-$flavour$([ $onefile = 1 ] && echo -onefile || true).txt"
{
  echo "MedDiag Desktop standalone build: $flavour, $([ $onefile = 1 ] && echo onefile || echo onedir)"
  echo "bundle:           $bundle"
  echo "bundle size:      ${size_mib} MiB = ${size_mb} MB ($size_bytes bytes)"
  echo "build time:       ${build_s} s"
  echo "--version:        ${version_s} s"
  echo "window + models:  ${ready_s:-?} s after start (--self-test 'models:' line)"
  echo "--self-test:      ${selftest_s} s in all$selftest_note"
  echo "scan:             ${scan_s} s ($rows rows: samples + one file per codec, all ok)"
  echo "DICOM results:    $dicom_kinds of the sample DICOM, $dicom_check (${dicom_s} s)"
  echo "DICOM node:       $node_result, $node_check (${node_s} s with start-up)"
  echo "watch folder:     --once, $watch_rows rows ok (${watch_s} s)"
  echo "fine-tune 1 ep.:  $train_s"
  echo "smoke tests:      empty HOME, $network: passed"
} | tee "$summary"
echo "ALL CHECKS PASSED"
