"""Packaging checks that run in CI in well under a second each: no PyInstaller build here.

The bundle itself is built and smoke-tested by ``scripts/build_app.sh`` (the release check, minutes).
Here: ``build.spec`` executed against stand-ins of PyInstaller's classes (data files, hidden imports,
excludes, trimming, launcher, onedir / onefile), the resource helper from source and from a fake
bundle (``sys._MEIPASS``), the CPU torch shim (compiled with gcc when there is one), the Linux
``.desktop`` file and the icons.
"""
from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build.spec"
SHIM = ROOT / "scripts" / "cpu_torch_shim"

# What torchvision 0.28.0's CUDA-built _C.so / image.so need from libc10_cuda.so and libtorch_cuda.so.
C10_CUDA_SYMBOLS = {
    "_ZN3c104cuda12device_countEv",
    "_ZN3c104cuda14current_deviceEv",
    "_ZN3c104cuda14ExchangeDeviceEa",
    "_ZN3c104cuda14MaybeSetDeviceEa",
    "_ZN3c104cuda9GetDeviceEPa",
    "_ZN3c104cuda9SetDeviceEab",
    "_ZN3c104cuda17getStreamFromPoolEba",
    "_ZN3c104cuda17getStreamFromPoolEia",
    "_ZN3c104cuda20getCurrentCUDAStreamEa",
    "_ZN3c104cuda20getDefaultCUDAStreamEa",
    "_ZN3c104cuda20setCurrentCUDAStreamENS0_10CUDAStreamE",
    "_ZN3c104cuda29c10_cuda_check_implementationEiPKcS2_jb",
    "_ZNK3c104cuda10CUDAStream11synchronizeEv",
    "_ZNK3c104cuda10CUDAStream5queryEv",
    "_ZNK3c104cuda10CUDAStream6streamEv",
    "_ZN3c104cuda20CUDACachingAllocator9allocatorE",
}
TORCH_CUDA_SYMBOLS = {"_ZN2at4cuda26getCurrentDevicePropertiesEv"}


# --------------------------------------------------------------------------------------------------
# build.spec, run against stand-ins for PyInstaller's Analysis / PYZ / EXE / COLLECT / BUNDLE

class _Target:
    calls: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        _Target.calls.append(self)


class FakeAnalysis(_Target):
    # What the stock hooks would collect besides our own data: entries the spec must keep or drop.
    HOOK_BINARIES = [
        ("torch/lib/libtorch_cpu.so", "/x/libtorch_cpu.so", "BINARY"),
        ("torch/lib/libtorchbind_test.so", "/x/libtorchbind_test.so", "BINARY"),
        ("torch/bin/test_api", "/x/test_api", "BINARY"),
        ("torch/bin/torch_shm_manager", "/x/torch_shm_manager", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/x/libqxcb.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", "/x/libqoffscreen.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", "/x/libqwayland.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", "/x/libqvnc.so", "BINARY"),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", "/x/libqjpeg.so", "BINARY"),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/x/libqgtk3.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Widgets.so.6", "/x/libQt6Widgets.so.6", "BINARY"),
    ]
    HOOK_DATAS = [
        ("PySide6/Qt/translations/qtbase_de.qm", "/x/qtbase_de.qm", "DATA"),
        ("PySide6/Qt/translations/qtbase_zh_CN.qm", "/x/qtbase_zh_CN.qm", "DATA"),
        ("torch/include/ATen/ATen.h", "/x/ATen.h", "DATA"),
        ("torch/test/some_cpp_test", "/x/some_cpp_test", "DATA"),
        ("torch/share/cmake/Torch/TorchConfig.cmake", "/x/TorchConfig.cmake", "DATA"),
        ("torch/_C/__init__.pyi", "/x/__init__.pyi", "DATA"),
        ("pyqtgraph/colors/maps/CET-L1.csv", "/x/CET-L1.csv", "DATA"),
    ]

    def __init__(self, scripts, **kwargs):
        super().__init__(scripts, **kwargs)
        self.scripts = [("meddiag_launcher", scripts[0], "PYSOURCE")]
        self.pure = []
        self.binaries = list(self.HOOK_BINARIES) + [(f"{dest}/{Path(src).name}", src, "BINARY")
                                                   for src, dest in kwargs.get("binaries") or []]
        self.datas = list(self.HOOK_DATAS) + [(f"{dest}/{Path(src).name}", src, "DATA")
                                             for src, dest in kwargs["datas"]]


class FakeEXE(_Target):
    pass


class FakeCOLLECT(_Target):
    pass


def run_spec(tmp_path, *spec_args, env=None):
    _Target.calls = []
    namespace = {
        "SPECPATH": str(ROOT), "SPEC": str(SPEC), "specnm": "build", "workpath": str(tmp_path / "work"),
        "DISTPATH": str(tmp_path / "dist"), "os": os,
        "Analysis": FakeAnalysis, "PYZ": _Target, "EXE": FakeEXE, "COLLECT": FakeCOLLECT, "BUNDLE": _Target,
        "MERGE": _Target, "Tree": _Target, "TOC": list,
    }
    old_argv, old_env = sys.argv, dict(os.environ)
    sys.argv = [str(SPEC), *spec_args]
    os.environ.pop("MEDDIAG_ONEFILE", None)
    os.environ["MEDDIAG_NO_STRIP"] = "1"  # the stand-in entries are no real files
    os.environ.update(env or {})
    try:
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        sys.argv = old_argv
        os.environ.clear()
        os.environ.update(old_env)
    return namespace


def _of(kind):
    return [c for c in _Target.calls if type(c) is kind]


def test_spec_is_valid_python_and_not_a_placeholder():
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= names
    assert "placeholder" not in SPEC.read_text(encoding="utf-8").lower()


def test_spec_onedir_gui_executable_and_cli_beside_it(tmp_path):
    ns = run_spec(tmp_path)
    (analysis,) = _of(FakeAnalysis)
    exes = {e.kwargs["name"]: e.kwargs for e in _of(FakeEXE)}
    assert exes["MedDiagDesktop"]["console"] is False  # no console window on Windows
    assert all(e["exclude_binaries"] and not e["upx"] for e in exes.values())
    icon = exes["MedDiagDesktop"]["icon"]
    if sys.platform in ("win32", "darwin"):
        assert Path(icon).is_file() and Path(icon).suffix == {"win32": ".ico", "darwin": ".icns"}[sys.platform]
    else:
        assert icon is None  # Linux executables have no icon: the .desktop file names it
    (collect,) = _of(FakeCOLLECT)
    assert collect.kwargs["name"] == "MedDiagDesktop"
    assert {e.kwargs["name"] for e in collect.args if isinstance(e, FakeEXE)} == set(exes)
    if sys.platform == "win32":  # a console executable for the CLI, sharing the one _internal/
        assert set(exes) == {"MedDiagDesktop", "meddiag"} and exes["meddiag"]["console"] is True
    else:  # a shell wrapper: `meddiag ARGS` runs `MedDiagDesktop cli ARGS`
        assert set(exes) == {"MedDiagDesktop"}
        wrapper = tmp_path / "dist" / "MedDiagDesktop" / "meddiag"
        assert os.access(wrapper, os.X_OK)
        assert 'exec "$here/MedDiagDesktop" cli "$@"' in wrapper.read_text()
        if shutil.which("sh"):
            subprocess.run(["sh", "-n", str(wrapper)], check=True)
    assert analysis.args[0] == [ns["LAUNCHER_PATH"]] and Path(ns["LAUNCHER_PATH"]).is_file()


def test_cli_wrapper_runs_the_app_in_cli_mode(tmp_path):
    if sys.platform == "win32" or not shutil.which("sh"):
        pytest.skip("POSIX shell wrapper")
    ns = run_spec(tmp_path)
    folder = tmp_path / "dist" / "MedDiagDesktop"
    fake_app = folder / "MedDiagDesktop"
    fake_app.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    fake_app.chmod(0o755)
    link = tmp_path / "bin" / "meddiag"  # installed as a symlink on the PATH
    link.parent.mkdir()
    link.symlink_to(folder / "meddiag")
    out = subprocess.run([str(link), "scan", "a b", "--out", "x.csv"], capture_output=True, text=True, check=True)
    assert out.stdout == "cli|scan|a b|--out|x.csv|"
    assert ns["CLI_NAME"] == "meddiag"


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_spec_onefile_switch(tmp_path, how):
    if how == "argument":
        run_spec(tmp_path, "--onefile")
    else:
        run_spec(tmp_path, env={"MEDDIAG_ONEFILE": "1"})
    (exe,) = _of(FakeEXE)
    assert exe.kwargs["name"] == "MedDiagDesktop" and exe.kwargs["console"] is False
    assert not _of(FakeCOLLECT)
    binaries, datas = exe.args[2], exe.args[3]  # everything goes into the one executable
    assert any(d[0].startswith("resources/samples/") for d in datas)
    assert any(b[0] == "torch/lib/libtorch_cpu.so" for b in binaries)


def test_spec_hidden_imports_and_excludes(tmp_path):
    ns = run_spec(tmp_path)
    (analysis,) = _of(FakeAnalysis)
    hidden, excludes = set(ns["HIDDEN_IMPORTS"]), set(analysis.kwargs["excludes"])
    assert {"torchvision._C_stable", "torchvision.image_stable"} <= hidden
    # passed on where this torchvision has them (0.29: *_stable; 0.28: plain _C / image)
    import torchvision

    folder = Path(torchvision.__file__).parent
    for module in hidden:
        if module.startswith("torchvision.") and any(folder.glob(module.split(".")[1] + ".*so")):
            assert module in analysis.kwargs["hiddenimports"]
    commands = {"models", "predict", "train", "versions", "evaluate", "scan", "anonymize"}
    assert {f"meddiag_desktop.cli.{name}" for name in commands | {"common"}} <= set(analysis.kwargs["hiddenimports"])
    assert {"triton", "tensorboard", "torch.utils.tensorboard", "tkinter", "matplotlib"} <= excludes
    assert {"PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtSvg",
            "PySide6.QtTest", "PySide6.QtSql"} <= excludes
    # what the app, pyqtgraph's image view and `import torch` itself need stays in
    used = {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets",
            "torch", "torchvision", "sympy", "unittest",
            "torch.testing._internal.common_dtype", "torch.testing._internal.logging_tensor", "torch._dynamo"}
    assert not used & excludes
    assert not any(u.startswith(e + ".") for u in used for e in excludes)


def test_spec_collects_highdicom_for_the_dicom_results(tmp_path):
    """highdicom reads its tables of the standard and its ICC profile as package data at run time;
    the DICOM results modules are imported inside functions."""
    import highdicom

    ns = run_spec(tmp_path)
    (analysis,) = _of(FakeAnalysis)
    datas = {(Path(src).name, dest.replace("\\", "/")) for src, dest in analysis.kwargs["datas"]}
    folder = Path(highdicom.__file__).parent
    for table in (folder / "_standard").glob("*.json"):
        assert (table.name, "highdicom/_standard") in datas
    assert {(p.name, "highdicom/_icc_profiles") for p in (folder / "_icc_profiles").iterdir()} <= datas
    assert not any(name.endswith(".py") for name, dest in datas if dest.startswith("highdicom"))
    hidden = set(analysis.kwargs["hiddenimports"])
    assert {"highdicom.sr", "highdicom.sc"} <= hidden
    # highdicom.image imports sqlite3; the captures' banner is drawn with Pillow's FreeType
    assert not {"sqlite3", "_sqlite3", "PIL._imagingft", "PIL.ImageFont"} & set(analysis.kwargs["excludes"])
    assert {f"meddiag_desktop.core.dicom_results.{m}" for m in ("writer", "sr", "sc", "source", "coding")} <= hidden
    assert ns["PACKAGE_DATA"] == ("highdicom",)


def test_spec_collects_pynetdicom_and_watchdog_for_the_intake(tmp_path):
    """The DICOM node and the watch folder: pynetdicom with its dist-info (its version is read from
    it at import), the service-class and SOP-class modules the SCP picks at run time, watchdog's
    observer for this platform (chosen at import) and its polling fallback; the intake modules,
    imported inside the commands' functions. Ray stays out."""
    import importlib.metadata
    import importlib.util

    import pynetdicom

    ns = run_spec(tmp_path)
    (analysis,) = _of(FakeAnalysis)
    hidden, excludes = set(analysis.kwargs["hiddenimports"]), set(analysis.kwargs["excludes"])
    assert {"pynetdicom.service_class", "pynetdicom.service_class_n", "pynetdicom.sop_class",
            "pynetdicom._handlers", "pynetdicom.status"} <= hidden
    assert {"watchdog.observers.polling", "watchdog.observers.api", "watchdog.events"} <= hidden
    if sys.platform.startswith("linux"):
        assert {"watchdog.observers.inotify", "watchdog.observers.inotify_c",
                "watchdog.observers.inotify_move_event_grouper"} <= hidden
        assert "watchdog.observers.read_directory_changes" not in hidden  # another platform's
    intake = {f"meddiag_desktop.core.intake.{m}" for m in
              ("assembly", "engine", "events", "node", "outbox", "results_csv", "routing", "sender", "store", "watch")}
    assert intake <= hidden
    assert {"meddiag_desktop.cli.listen", "meddiag_desktop.cli.watch", "meddiag_desktop.cli.intake_run"} <= hidden
    for module in hidden:
        if module.startswith(("pynetdicom", "watchdog", "meddiag_desktop.core.intake")):
            assert importlib.util.find_spec(module) is not None, module  # no typo
    # pynetdicom/_version.py: importlib.metadata.version("pynetdicom")
    dist_info = Path(importlib.metadata.distribution("pynetdicom")._path)
    datas = {(Path(src).name, dest) for src, dest in analysis.kwargs["datas"]}
    assert ("METADATA", dist_info.name) in datas and dist_info.name.startswith(f"pynetdicom-{pynetdicom.__version__}")
    assert ns["PACKAGE_METADATA"] == ("pynetdicom",)
    assert {"ray", "pyarrow", "meddiag_desktop.cli.ray_engine"} <= excludes
    wanted = {m for m in hidden if m.startswith(("pynetdicom", "watchdog", "meddiag_desktop.core.intake"))}
    assert not any(m == e or m.startswith(e + ".") for m in wanted for e in excludes)
    assert {"pynetdicom.apps", "pynetdicom.tests"} <= excludes and "pynetdicom" not in excludes


def test_spec_bundles_weights_and_resources_but_not_datasets(tmp_path):
    run_spec(tmp_path)
    (analysis,) = _of(FakeAnalysis)
    dests = {dest for _src, dest in analysis.kwargs["datas"]}
    assert "resources/samples" in dests
    assert "resources/icons" in dests
    assert not any(d == "resources/datasets" or d.startswith("resources/datasets/") for d in dests)
    assert not any(src.endswith(".py") for src, _dest in analysis.kwargs["datas"])
    for src, dest in analysis.kwargs["datas"]:
        if Path(dest).parts[0] == "highdicom":  # a package's data (test_spec_collects_highdicom_...)
            assert Path(src).resolve().is_relative_to(Path(__import__("highdicom").__file__).parent.resolve())
            continue
        if dest.endswith(".dist-info"):  # a distribution's metadata (test_spec_collects_pynetdicom_...)
            assert Path(src).parent.name == dest
            continue
        assert (ROOT / dest / Path(src).name).resolve() == Path(src).resolve()
    shipped = sorted(p.name for p in (ROOT / "weights").glob("*.safetensors"))
    assert sorted(Path(s).name for s, d in analysis.kwargs["datas"] if d == "weights" and s.endswith(".safetensors")) \
        == shipped


def test_spec_trims_what_the_hooks_collect_wholesale(tmp_path):
    run_spec(tmp_path)
    (analysis,) = _of(FakeAnalysis)
    binaries = {b[0] for b in analysis.binaries}
    datas = {d[0] for d in analysis.datas}
    assert {"torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager", "PySide6/Qt/plugins/platforms/libqxcb.so",
            "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/plugins/platforms/libqwayland.so",
            "PySide6/Qt/lib/libQt6Widgets.so.6"} <= binaries
    assert not {"torch/lib/libtorchbind_test.so", "torch/bin/test_api", "PySide6/Qt/plugins/platforms/libqvnc.so",
                "PySide6/Qt/plugins/imageformats/libqjpeg.so", "PySide6/Qt/plugins/platformthemes/libqgtk3.so"} & binaries
    assert "pyqtgraph/colors/maps/CET-L1.csv" in datas
    assert not any(d.startswith(("PySide6/Qt/translations/", "torch/include/", "torch/test/", "torch/share/"))
                   or d.endswith(".pyi") for d in datas - {"PySide6/Qt/translations/qtbase_zh_CN.qm"})
    assert "PySide6/Qt/translations/qtbase_zh_CN.qm" in datas  # Qt's own texts for the shipped zh_CN
    assert "resources/samples/chest_xray_pneumonia_val0.png" in datas


def test_spec_gpu_trims_keep_what_torch_links(tmp_path):
    ns = run_spec(tmp_path)
    keep = ns["_keep"]
    # kept: linked by libtorch_cuda.so (DT_NEEDED) or loaded for every model
    for dest in ("nvidia/cu13/lib/libcublasLt.so.13", "nvidia/cudnn/lib/libcudnn_adv.so.9",
                 "nvidia/nccl/lib/libnccl.so.2", "nvidia/cu13/lib/libnvrtc.so.13"):
        assert keep(dest), dest
    if ns["GPU"]:
        for dest in ("nvidia/cu13/lib/libcusolver.so.12", "nvidia/cu13/lib/libnvrtc.alt.so.13",
                     "torch/lib/libtorch_cuda_linalg.so", "nvidia/cu13/include/cuda.h"):
            assert not keep(dest), dest


def test_spec_prunes_libraries_only_trimmed_parts_needed(tmp_path):
    _gcc_or_skip()
    ns = run_spec(tmp_path)

    def lib(name, *needs):
        path = tmp_path / name
        src = tmp_path / f"{name}.c"
        src.write_text(f"int f_{name.split('.')[0]}(void) {{ return 0; }}\n")
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{name}", "-o", str(path), str(src), "-Wl,--no-as-needed",
                        *[str(tmp_path / n) for n in needs]], check=True)
        return str(path)

    used, orphan = lib("libused.so"), lib("liborphan.so")
    ext = lib("ext.so", "libused.so")
    assert ns["_elf_needed"](ext)[0] == "libused.so"
    toc = [("pkg/ext.so", ext, "EXTENSION"), ("libused.so", used, "BINARY"), ("liborphan.so", orphan, "BINARY"),
           ("libpython3.so", orphan, "BINARY")]  # (the bootloader loads libpython: never pruned)
    dropped = set()
    kept = ns["_prune_orphans"](toc, dropped)
    if sys.platform.startswith("linux"):
        assert dropped == {"liborphan.so"}
        assert [d for d, _s, _t in kept] == ["pkg/ext.so", "libused.so", "libpython3.so"]


def test_spec_strips_symbol_tables_of_selected_libraries_only(tmp_path, monkeypatch):
    _gcc_or_skip()
    if not shutil.which("strip"):
        pytest.skip("needs strip")
    ns = run_spec(tmp_path)
    src = tmp_path / "big.c"
    src.write_text("".join(f"int function_with_a_long_name_{i}(int x) {{ return x + {i}; }}\n" for i in range(300)))
    lib = tmp_path / "libbig.so"
    subprocess.run(["gcc", "-g", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    monkeypatch.delenv("MEDDIAG_NO_STRIP", raising=False)
    out = ns["_strip_copies"]([("torch/lib/libtorch_cpu.so", str(lib), "BINARY"),
                               ("numpy.libs/libopenblas.so", str(lib), "BINARY")])
    stripped = Path(out[0][1])
    assert stripped != lib and stripped.stat().st_size < 0.9 * lib.stat().st_size
    assert "function_with_a_long_name_7" in _exported(stripped)  # the dynamic symbols stay
    assert out[1] == ("numpy.libs/libopenblas.so", str(lib), "BINARY")  # patchelf'ed wheels' libraries: untouched


@pytest.mark.parametrize("argv0, argv, expect", [
    ("/opt/MedDiagDesktop/MedDiagDesktop", ["--self-test"], ("gui", ["--self-test"])),
    ("/opt/MedDiagDesktop/MedDiagDesktop", [], ("gui", [])),
    ("/opt/MedDiagDesktop/meddiag", ["scan", "x", "--out", "y.csv"], ("cli", ["scan", "x", "--out", "y.csv"])),
    ("/opt/MedDiagDesktop/MedDiagDesktop", ["cli", "models"], ("cli", ["models"])),
    ("meddiag.exe", ["--version"], ("cli", ["--version"])),
])
def test_launcher_dispatches_gui_and_cli(tmp_path, monkeypatch, argv0, argv, expect):
    ns = run_spec(tmp_path)
    import meddiag_desktop.__main__ as gui_main
    import meddiag_desktop.cli as cli_main

    seen = []
    monkeypatch.setattr(gui_main, "main", lambda a: seen.append(("gui", a)) or 0)
    monkeypatch.setattr(cli_main, "main", lambda a: seen.append(("cli", a)) or 0)
    monkeypatch.setattr(sys, "argv", [argv0, *argv])
    launcher = {"__name__": "meddiag_launcher"}
    exec(compile(Path(ns["LAUNCHER_PATH"]).read_text(encoding="utf-8"), "meddiag_launcher", "exec"), launcher)
    assert launcher["_main"]() == 0
    assert seen == [expect]


# --------------------------------------------------------------------------------------------------
# The one resource-path helper, from source and from a (fake) PyInstaller bundle

def test_resources_resolve_from_source():
    from meddiag_desktop.core import paths

    assert not getattr(sys, "_MEIPASS", None)
    assert paths.bundle_root() == ROOT
    assert paths.shipped_weights_dir() == ROOT / "weights"
    assert paths.resource_path("samples", "chest_xray_pneumonia_val0.png").is_file()
    assert paths.resource_path("icons", "meddiag.png").is_file()


def test_resources_resolve_from_a_frozen_bundle(tmp_path, monkeypatch):
    from meddiag_desktop.core import paths

    bundle = tmp_path / "MedDiagDesktop" / "_internal"
    (bundle / "resources" / "samples").mkdir(parents=True)
    (bundle / "resources" / "samples" / "sample.png").write_bytes(b"png")
    (bundle / "weights").mkdir()
    (bundle / "weights" / "pneumonia-cnn.json").write_text("{}")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert paths.bundle_root() == bundle
    assert paths.resource_path("samples", "sample.png").read_bytes() == b"png"
    assert (paths.shipped_weights_dir() / "pneumonia-cnn.json").is_file()
    # user files never go into the bundle: platformdirs under an empty HOME
    home = tmp_path / "home"
    monkeypatch.delenv("MEDDIAG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for getter in (paths.user_data_dir, paths.user_config_dir, paths.user_log_dir, paths.user_models_dir):
        folder = getter()
        assert folder.is_dir()
        assert bundle not in folder.parents
        if sys.platform.startswith("linux"):
            assert home in folder.parents


# --------------------------------------------------------------------------------------------------
# scripts/cpu_torch_shim: CUDA stand-ins for a CUDA-built torchvision beside a CPU torch

def _gcc_or_skip():
    if not sys.platform.startswith("linux") or not shutil.which("gcc") or not shutil.which("nm"):
        pytest.skip("needs Linux with gcc and nm")


@pytest.fixture(scope="module")
def shim_libs(tmp_path_factory):
    _gcc_or_skip()
    out = tmp_path_factory.mktemp("shim") / "meddiag_cpu_torch_shim"
    out.mkdir()
    flags = ["-x", "c++", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fno-rtti"]
    for define, name in (("SHIM_C10_CUDA", "libc10_cuda.so"), ("SHIM_TORCH_CUDA", "libtorch_cuda.so")):
        subprocess.run(["gcc", *flags, f"-D{define}", f"-Wl,-soname,{name}", "-o", str(out / name),
                        str(SHIM / "cuda_stubs.cpp")], check=True)
    shutil.copy(SHIM / "preload.py", out / "__init__.py")
    return out


def _exported(lib: Path) -> set[str]:
    nm = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True, capture_output=True, text=True)
    return {line.split()[-1] for line in nm.stdout.splitlines() if line.strip()}


def test_shim_exports_the_symbols_torchvision_needs(shim_libs):
    assert C10_CUDA_SYMBOLS <= _exported(shim_libs / "libc10_cuda.so")
    assert TORCH_CUDA_SYMBOLS <= _exported(shim_libs / "libtorch_cuda.so")
    for lib, soname in (("libc10_cuda.so", "libc10_cuda.so"), ("libtorch_cuda.so", "libtorch_cuda.so")):
        dyn = subprocess.run(["readelf", "-d", str(shim_libs / lib)], capture_output=True, text=True).stdout \
            if shutil.which("readelf") else f"[{soname}]"
        assert f"[{soname}]" in dyn


def test_shim_stub_aborts_loudly_when_called(shim_libs):
    code = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
            "lib._ZN3c104cuda12device_countEv()")
    proc = subprocess.run([sys.executable, "-c", code, str(shim_libs / "libc10_cuda.so")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "c10::cuda::device_count called in a CPU-only build" in proc.stderr


def test_shim_preload_loads_stubs_and_is_a_no_op_without_them(shim_libs, tmp_path):
    code = "import sys; sys.path.insert(0, sys.argv[1]); import meddiag_cpu_torch_shim as s; print(len(s._handles))"
    loaded = subprocess.run([sys.executable, "-c", code, str(shim_libs.parent)], capture_output=True, text=True,
                            timeout=60, check=True)
    assert loaded.stdout.strip() == "2"  # no torchvision.libs beside it here: just the two stubs
    empty = tmp_path / "meddiag_cpu_torch_shim"
    empty.mkdir()
    shutil.copy(SHIM / "preload.py", empty / "__init__.py")
    nothing = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                             timeout=60, check=True)
    assert nothing.stdout.strip() == "0"


# --------------------------------------------------------------------------------------------------
# Desktop integration, icons, build script, CI

def test_desktop_file_has_exec_icon_categories():
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(ROOT / "resources" / "meddiag-desktop.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"]
    assert entry["Exec"].split()[0] == "MedDiagDesktop" and entry["Exec"].split()[1:] in ([], ["%F"], ["%f"])
    assert entry["Icon"] == "meddiag-desktop"
    categories = entry["Categories"]
    assert categories.endswith(";") and "MedicalSoftware" in categories.split(";")
    assert entry["Terminal"] == "false"
    if shutil.which("desktop-file-validate"):  # (Debian: desktop-file-utils)
        subprocess.run(["desktop-file-validate", str(ROOT / "resources" / "meddiag-desktop.desktop")], check=True)


def test_icons_exist_in_all_formats():
    from PIL import Image

    icons = ROOT / "resources" / "icons"
    with Image.open(icons / "meddiag.png") as png:
        assert png.size == (512, 512) and png.mode == "RGBA"
    with Image.open(icons / "meddiag.ico") as ico:
        assert ico.format == "ICO" and {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(icons / "meddiag.icns") as icns:
        assert icns.format == "ICNS"


def test_build_script_is_valid_and_checks_the_bundle():
    script = ROOT / "scripts" / "build_app.sh"
    assert os.access(script, os.X_OK)
    if shutil.which("bash"):
        subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    for needle in ("LANG=C.UTF-8", "--self-test", " scan ", "QT_QPA_PLATFORM=offscreen", "unshare -n", "build.spec",
                   " listen ", "--bind 127.0.0.1", "send_c_echo", "send_c_store", " watch ", "--once"):
        assert needle in text, needle


def test_ci_does_not_build_the_bundle():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "build_app" not in ci and "pyinstaller" not in ci.lower()


def test_readme_documents_the_standalone_app():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Standalone app" in readme
    assert readme.index("## Standalone app") < readme.index("## Layout")
    section = readme[readme.index("## Standalone app"):readme.index("## Layout")]
    for needle in ("scripts/build_app.sh", "MB", "--self-test", "unshare", ".desktop"):
        assert needle in section, needle
