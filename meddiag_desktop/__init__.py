"""MedDiag Desktop: offline diagnostic decision support for medical images."""

__version__ = "0.1.0"
