"""Qt-free core: image I/O, models, training, inference, explanation, metrics, storage.

Nothing under this package may import Qt (PySide6, pyqtgraph); tests enforce it.
Sub-modules are imported explicitly (``from meddiag_desktop.core import io``) so
importing the package stays cheap.
"""
