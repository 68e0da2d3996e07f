"""Qt front end (PySide6 + pyqtgraph): the desktop window and the workers that run core jobs.

Modules: ``app`` (start-up, logging, exception dialog), ``main_window`` (+ ``actions``: menus and
shortcuts), ``image_view`` (pyqtgraph, imported lazily), ``predictions``, ``file_list``, ``settings``,
``workers`` (the one background-job pattern) with ``guard`` (GUI-thread assertion), ``jobs``
(Qt-free job functions around core, one module per window), ``display_names``, ``self_test``,
``dialogs``, ``style``.
Nothing here imports torch at module level: models load in a worker thread.
"""
