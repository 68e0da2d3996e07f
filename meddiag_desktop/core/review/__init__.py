"""Review: the scanned images worth a clinician's look first, and the labels they give.

``ranking`` scores each image (uncertainty at the operating threshold, disagreement between families,
near-OOD), ``boundary`` picks along the clinic's own decision boundary (the default rule), ``queue``
builds the ordered queue (the rule, near-duplicates avoided, random share), ``queue_csv`` reads and
writes it, ``features`` gives the vectors the diversity step compares, ``review_set`` keeps the labels
(atomic saves, undo, resume, exports for training, the local accuracy estimate).
Import the sub-modules (``from meddiag_desktop.core.review import queue``).
"""
