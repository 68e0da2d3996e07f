"""DICOM results in the source's study: a Comprehensive 3D SR (TID 1500) with every model's
image-level result, and one Secondary Capture per model (heat-map + burned-in banner), built with
highdicom. See ``coding`` for the codes, ``sr`` / ``sc`` for the objects, ``writer`` for files.

Import the sub-modules (``from meddiag_desktop.core.dicom_results import writer``): highdicom is
only loaded when results are made.
"""
