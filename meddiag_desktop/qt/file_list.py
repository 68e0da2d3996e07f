"""The list of opened files: name, state icon (pending / done / unreadable) and a results tooltip;
``expand_paths`` turns what was opened or dropped (files, folders) into its entries."""
from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QStyle, QWidget

from .guard import gui_only

PATH_ROLE = Qt.ItemDataRole.UserRole
MAX_FOLDER_FILES = 1000


def expand_paths(paths) -> list[str]:
    """Absolute paths; a folder contributes its own (non-hidden) files, sorted, at most 1000."""
    out: list[str] = []
    for raw in paths:
        path = os.path.abspath(os.fspath(raw))
        if os.path.isdir(path):
            children = sorted(e.path for e in os.scandir(path) if e.is_file() and not e.name.startswith("."))
            out.extend(children[:MAX_FOLDER_FILES])
        else:
            out.append(path)
    return list(dict.fromkeys(out))


class FileList(QListWidget):
    currentPathChanged = Signal(str)  # "" when the list becomes empty

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setIconSize(QSize(16, 16))
        self.setToolTip(self.tr("Opened images (↑/↓ or Page Up/Down to switch, Delete to remove)"))
        self.setAccessibleName(self.tr("Opened images"))
        self.setAcceptDrops(False)  # drops go to the main window
        self._items: dict[str, QListWidgetItem] = {}
        style = self.style()
        self._icons = {
            "pending": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "done": style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        self.currentItemChanged.connect(self._on_current)

    def paths(self) -> list[str]:
        return [self.item(i).data(PATH_ROLE) for i in range(self.count())]

    def current_path(self) -> str | None:
        item = self.currentItem()
        return item.data(PATH_ROLE) if item is not None else None

    @gui_only
    def add_paths(self, paths: list[str]) -> list[str]:
        """Append the paths not listed yet; returns those added."""
        added = []
        for path in paths:
            if path in self._items:
                continue
            item = QListWidgetItem(self._icons["pending"], os.path.basename(path) or path)
            item.setData(PATH_ROLE, path)
            item.setToolTip(path)
            self.addItem(item)
            self._items[path] = item
            added.append(path)
        return added

    def select_path(self, path: str) -> None:
        item = self._items.get(path)
        if item is not None:
            self.setCurrentItem(item)

    def step(self, delta: int) -> None:
        if self.count():
            self.setCurrentRow(max(0, min(self.count() - 1, self.currentRow() + delta)))

    @gui_only
    def remove_path(self, path: str) -> None:
        item = self._items.pop(path, None)
        if item is not None:
            self.takeItem(self.row(item))

    @gui_only
    def set_state(self, path: str, state: str, summary: str = "") -> None:
        """state: pending | done | error; summary goes into the tooltip under the path."""
        item = self._items.get(path)
        if item is None:
            return
        item.setIcon(self._icons[state])
        item.setToolTip(path + (f"\n{summary}" if summary else ""))

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        self.currentPathChanged.emit(current.data(PATH_ROLE) if current is not None else "")
