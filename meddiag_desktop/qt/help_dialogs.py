"""Help → Getting started (the first-start panel, shown once) and Help → About (versions, model cards,
licences). Versions are read from package metadata: nothing heavy (torch) is imported for them."""
from __future__ import annotations

import html
import platform
from importlib import metadata

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QTextBrowser, QVBoxLayout

from .style import NOTICE_TEXT
from .i18n import translate

ABOUT_DIALOG = "about-dialog"  # object name: the window owns the dialog

PACKAGES = ("PySide6", "pyqtgraph", "torch", "numpy", "pydicom", "Pillow", "highdicom", "pynetdicom", "safetensors",
            "platformdirs")
LICENCES = (("Droid Sans Fallback (CJK font subset, resources/fonts)", "Apache-2.0"), ("PySide6 / Qt", "LGPL-3.0"), ("pyqtgraph", "MIT"), ("PyTorch", "BSD-3-Clause"), ("NumPy", "BSD-3-Clause"),
            ("pydicom", "MIT"), ("Pillow", "MIT-CMU (HPND)"), ("highdicom", "MIT"), ("pynetdicom", "MIT"),
            ("safetensors", "Apache-2.0"), ("platformdirs", "MIT"), ("watchdog", "Apache-2.0"))
MEDMNIST_ATTRIBUTION = (
    QT_TRANSLATE_NOOP("HelpDialogs", "The shipped models were trained on MedMNIST v2 (Yang J. et al., “MedMNIST v2 — A large-scale lightweight "
    "benchmark for 2D and 3D biomedical image classification”, Scientific Data 10, 41, 2023), licensed "
    "CC BY 4.0: PneumoniaMNIST, derived from Kermany D. S. et al., Cell 2018 (paediatric chest X-rays), and "
    "BreastMNIST, derived from Al-Dhabyani W. et al., Data in Brief 2020 (breast ultrasound). The images were "
    "resized to 28 × 28 pixels by the MedMNIST authors; no endorsement by them is implied."))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return translate("HelpDialogs", "not installed")


def about_html(window) -> str:
    from meddiag_desktop import __version__

    cards = list(window.info.cards) if window.info is not None else []
    versions = "".join(f"<tr><td>{p}</td><td>{_version(p)}</td></tr>" for p in PACKAGES)
    models = "".join(
        f"<li><b>{html.escape(c.id)}</b> v{html.escape(str(c.version))}{' (DEMO)' if c.demo else ''}: "
        f"{html.escape(c.description or '')}</li>" for c in cards) or translate("HelpDialogs", "<li>(the models are still loading)</li>")
    licences = "".join(f"<tr><td>{name}</td><td>{licence}</td></tr>" for name, licence in LICENCES)
    return (translate("HelpDialogs", "<h2>MedDiag Desktop {version__}</h2><p>Offline diagnostic assistant for medical images. <b>{NOTICE_TEXT}</b></p><p>Models run on this computer; no image leaves it. Patient identifiers in DICOM files are never read.</p><p>Python {python_version} on {escape}</p><table>{versions}</table><h3>Model cards</h3><ul>{models}</ul><h3>Training data</h3><p>{MEDMNIST_ATTRIBUTION}</p><h3>Third-party licences</h3><table>{licences}</table>").format(version__=__version__, NOTICE_TEXT=translate("Style", NOTICE_TEXT), python_version=platform.python_version(), escape=html.escape(platform.platform()), versions=versions, models=models, MEDMNIST_ATTRIBUTION=translate("HelpDialogs", MEDMNIST_ATTRIBUTION), licences=licences))


def show_about(window) -> QDialog:
    """Help → About MedDiag Desktop (non-modal)."""
    dialog = QDialog(window)  # owned by the window (found again by its object name)
    dialog.setObjectName(ABOUT_DIALOG)
    dialog.setWindowTitle(translate("HelpDialogs", "About MedDiag Desktop"))
    text = QTextBrowser(dialog)
    text.setAccessibleName(translate("HelpDialogs", "About MedDiag Desktop"))
    text.setOpenExternalLinks(False)
    text.setHtml(about_html(window))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.resize(640, 620)
    dialog.show()
    return dialog


def welcome_html() -> str:
    from meddiag_desktop.core.paths import user_config_dir, user_data_dir, user_log_dir

    return (
        translate("HelpDialogs", "<h2>Welcome to MedDiag Desktop</h2><p><b>What it is:</b> decision support. It shows what trained models say about a chest X-ray (pneumonia) or a breast ultrasound (benign / malignant), with calibrated probabilities, each model's expected sensitivity and specificity, and heat-maps of where they looked.</p><p><b>What it is not:</b> a diagnosis. The shipped models learnt from 28 × 28-pixel research images (MedMNIST) from a few centres; they can be wrong on your images, and images unlike their training data are refused. Every finding must be confirmed by a qualified clinician.</p><p><b>Where your data is kept:</b> nothing leaves this computer. Settings: {escape}; your models and review labels: {escape2}; logs (file names only, no patient data): {escape3}.</p><p><b>Getting started:</b> <i>File → Open…</i> (Ctrl+O) an image or drop it on the window; <i>File → Scan folder…</i> (Ctrl+Shift+O) runs the models over whole folders into a table; <i>Models → Fine-tune…</i> adapts a model to your own labelled images. Help → Keyboard shortcuts (F1) lists every key.</p>").format(escape=html.escape(str(user_config_dir())), escape2=html.escape(str(user_data_dir())), escape3=html.escape(str(user_log_dir()))))


def show_welcome(window) -> QDialog:
    """The first-start panel (also Help → Getting started); closing it in any way marks it seen."""
    dialog = QDialog(window)
    dialog.setWindowTitle(translate("HelpDialogs", "Getting started — MedDiag Desktop"))
    text = QLabel(welcome_html(), dialog)
    text.setWordWrap(True)
    text.setAccessibleName(translate("HelpDialogs", "Getting started"))
    buttons = QDialogButtonBox(dialog)
    for label, slot in (("&Open an image…", window.open_dialog), ("&Scan a folder…", window.scan_folder_dialog),
                        ("&Fine-tune…", window.open_finetune)):
        button = QPushButton(label)
        button.clicked.connect(lambda _=False, s=slot: (dialog.close(), s()))
        buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
    skip = buttons.addButton(translate("HelpDialogs", "S&kip"), QDialogButtonBox.ButtonRole.RejectRole)
    skip.setDefault(True)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.setMinimumWidth(560)
    dialog.finished.connect(lambda *_: _mark_seen(window))
    dialog.show()
    return dialog


def _mark_seen(window) -> None:
    window.settings.welcome_seen = True
    window.settings.sync()


def show_welcome_once(window) -> QDialog | None:
    """At start-up: the first-start panel unless it was already seen (``Settings.welcome_seen``)."""
    return None if window.settings.welcome_seen else show_welcome(window)
