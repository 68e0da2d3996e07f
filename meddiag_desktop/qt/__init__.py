"""Qt front end (PySide6 + pyqtgraph): windows, widgets and workers that run core jobs.

The desktop window arrives with the desktop-window issue; nothing here yet.
"""
