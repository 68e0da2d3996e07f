"""The Models page: every model version per task (shipped and yours), which one is active, and
activate / roll back / export / import / delete.

* **Activate** makes the selected version the one predict, scan and the window use for its task and
  family; the previous one goes on the history. **Roll back** re-activates the previous one.
* **Export** writes card + weights as a ``.zip`` (or into a folder); **Import** takes such a ``.zip``,
  a folder or a card ``.json``: the weights must match the card's sha256 and load into its
  architecture (safetensors + JSON only, never pickle).
* **Delete** removes one of your versions (shipped models cannot be deleted); deleting the active
  one falls back to the previous.

Every operation runs as a job on the page's "versions" lane (``jobs.models``): file work and the
torch import stay off the GUI thread.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget,
)

from .i18n import translate
from .jobs import models as jobs
from .display_names import family_name
from . import dialogs
from .guard import gui_only
from .job_host import JobHost
from .workers import Job

log = logging.getLogger(__name__)

COLUMNS = (QT_TRANSLATE_NOOP("ModelsPage", "Model"), QT_TRANSLATE_NOOP("ModelsPage", "Family"), QT_TRANSLATE_NOOP("ModelsPage", "Version"), QT_TRANSLATE_NOOP("ModelsPage", "Source"), QT_TRANSLATE_NOOP("ModelsPage", "Created"), QT_TRANSLATE_NOOP("ModelsPage", "Based on"), QT_TRANSLATE_NOOP("ModelsPage", "Val accuracy"), QT_TRANSLATE_NOOP("ModelsPage", "Val AUC"), QT_TRANSLATE_NOOP("ModelsPage", "Active"))
ROLE = Qt.ItemDataRole.UserRole
OPERATIONS = {"activate": QT_TRANSLATE_NOOP("ModelsPage", "Activate"), "roll back": QT_TRANSLATE_NOOP("ModelsPage", "Roll back"),
              "delete": QT_TRANSLATE_NOOP("ModelsPage", "Delete"), "export": QT_TRANSLATE_NOOP("ModelsPage", "Export"),
              "import": QT_TRANSLATE_NOOP("ModelsPage", "Import"),
              "list versions": QT_TRANSLATE_NOOP("ModelsPage", "List versions")}


def _value(row, key: str) -> str:
    value = row.metrics.get(key)
    return "–" if value is None else f"{value:.3f}"


class ModelsPage(QDialog):
    activeModelsChanged = Signal()  # the window reloads its models
    refreshed = Signal()
    operationFinished = Signal(str, bool, str)  # operation, ok, message

    def __init__(self, store=None, parent: QWidget | None = None) -> None:
        """``store``: a core ModelStore or a list of model folders (default: shipped + user models)."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models — MedDiag Desktop"))
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.store_spec = store
        self.host = JobHost(self, on_error=lambda job, error: self._done(job.name, False, error.message))
        self.lane = self.host.add_lane("versions")
        self.rows: list = []  # core.versions.VersionInfo

        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels([translate("ModelsPage", c) for c in COLUMNS])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.tree, 1)
        buttons = QHBoxLayout()
        self.activate_button = self._button(self.tr("Activate"), self.activate_selected,
                                            self.tr("Use the selected version for its task and family"))
        self.rollback_button = self._button(self.tr("Roll back"), self.rollback_selected,
                                            self.tr("Re-activate the version that was active before"))
        self.export_button = self._button(self.tr("Export…"), lambda: self.export_selected(),
                                          self.tr("Save the selected model (card + weights) as a .zip"))
        self.import_button = self._button(self.tr("Import…"), lambda: self.import_from(),
                                          self.tr("Install a model from a .zip, a folder or a card .json (sha256 checked)"))
        self.delete_button = self._button(self.tr("Delete"), lambda: self.delete_selected(),
                                          self.tr("Delete the selected version (yours only; shipped models stay)"))
        refresh = self._button(self.tr("Refresh"), self.refresh, self.tr("Read the model folders again"))
        for button in (self.activate_button, self.rollback_button, self.export_button, self.import_button,
                       self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        layout.addLayout(buttons)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.resize(1000, 480)
        self._update_buttons()
        self.refresh()

    def _button(self, text: str, slot, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ listing
    def refresh(self) -> Job:
        job = Job(jobs.versions, self.store_spec, name="list versions")
        job.returned.connect(self._on_versions)
        return self.host.submit("versions", job)

    @Slot(object)
    @gui_only
    def _on_versions(self, rows) -> None:
        selected = self.selected()
        self.rows = list(rows)
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)
        tasks: dict[str, QTreeWidgetItem] = {}
        for row in self.rows:
            parent = tasks.get(row.task)
            if parent is None:
                parent = tasks[row.task] = QTreeWidgetItem([self.tr("Task: {task}").format(task=row.task)])
                parent.setFirstColumnSpanned(True)
                self.tree.addTopLevelItem(parent)
            created = row.created.replace("T", " ")[:19]
            item = QTreeWidgetItem([row.id, family_name(row.family), row.version, row.source, created,
                                    row.base_model or "", _value(row, "accuracy"), _value(row, "auc"),
                                    self.tr("✔ active") if row.active else ""])
            item.setData(0, ROLE, row.id)
            tip = self.tr("{description}\nsha256 {sha256}…").format(description=row.description, sha256=row.sha256[:16]) + (self.tr("\nDEMO: not trained for diagnosis") if row.demo else "")
            item.setToolTip(0, tip.strip())
            if row.active:
                for c in range(len(COLUMNS)):
                    item.setFont(c, bold)
            parent.addChild(item)
        self.tree.expandAll()
        for c in range(1, len(COLUMNS)):
            self.tree.resizeColumnToContents(c)
        if selected:
            self.select(selected.id)
        self._update_buttons()
        self.refreshed.emit()

    def row(self, model_id: str):
        return next((r for r in self.rows if r.id == model_id), None)

    def active_id(self, task: str, family: str) -> str | None:
        active = [r.id for r in self.rows if r.task == task and r.family == family and r.active]
        return active[0] if len(active) == 1 else None

    def selected(self):
        items = self.tree.selectedItems()
        model_id = items[0].data(0, ROLE) if items else None
        return self.row(model_id) if model_id else None

    def select(self, model_id: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(i)
            for j in range(parent.childCount()):
                if parent.child(j).data(0, ROLE) == model_id:
                    self.tree.setCurrentItem(parent.child(j))
                    return True
        return False

    def _update_buttons(self) -> None:
        row = self.selected()
        for button in (self.activate_button, self.export_button):
            button.setEnabled(row is not None)
        self.activate_button.setEnabled(row is not None and not (row.active and self.active_id(row.task, row.family)))
        self.rollback_button.setEnabled(row is not None)
        self.delete_button.setEnabled(row is not None and row.deletable)

    # ------------------------------------------------------------------ operations
    def _run(self, name: str, fn, *args, changes_active: bool = True) -> Job:
        self.status.setText(translate("ModelsPage", OPERATIONS.get(name, name)) + "…")
        job = Job(fn, self.store_spec, *args, name=name)
        job.returned.connect(lambda result: self._done(name, True, result, changes_active))
        return self.host.submit("versions", job)

    @gui_only
    def _done(self, name: str, ok: bool, result, changes_active: bool = True) -> None:
        if ok:
            text = {"activate": self.tr("{} is now active."), "roll back": self.tr("Rolled back: {} is active again."),
                    "delete": self.tr("Deleted {}."), "export": self.tr("Exported to {}."),
                    "import": self.tr("Imported {}.")}.get(name, "{}")
            message = text.format(os.path.basename(str(result)) if name == "export" else result)
        else:
            message = self.tr("{operation} failed: {result}").format(operation=translate("ModelsPage", OPERATIONS.get(name, name)),
                                                             result=result)
            log.warning(message)
        self.status.setText(message)
        self.operationFinished.emit(name, ok, message)
        if ok and changes_active:
            self.activeModelsChanged.emit()
        if name != "list versions":
            self.refresh()

    def activate_selected(self) -> Job | None:
        row = self.selected()
        return self._run("activate", jobs.activate, row.id) if row else None

    def rollback_selected(self) -> Job | None:
        row = self.selected()
        return self._run("roll back", jobs.rollback, row.task, row.family) if row else None

    def delete_selected(self, confirmed: bool = False) -> Job | None:
        row = self.selected()
        if row is None or not row.deletable:
            return None
        if not confirmed:
            dialogs.ask(self, self.tr("Delete model version?"),
                        self.tr("Delete {id}? Its weights and card are removed from your model folder.").format(id=row.id)
                        + (self.tr(" It is active: the previous version takes over.") if row.active else ""),
                        lambda: self.delete_selected(confirmed=True))
            return None
        return self._run("delete", jobs.delete, row.id)

    def export_selected(self, destination: str | None = None) -> Job | None:
        row = self.selected()
        if row is None:
            return None
        if destination is None:
            destination, _ = QFileDialog.getSaveFileName(self, self.tr("Export model"), f"{row.id}.zip",
                                                         self.tr("Model archive (*.zip)"))
            if not destination:
                return None
        return self._run("export", jobs.export, row.id, str(destination), changes_active=False)

    def import_from(self, source: str | None = None, new_id: str | None = None, activate: bool = False) -> Job | None:
        if source is None:
            source, _ = QFileDialog.getOpenFileName(self, self.tr("Import model"), "",
                                                    self.tr("Model archive or card (*.zip *.json);;All files (*)"))
            if not source:
                return None
        return self._run("import", jobs.import_, str(source), new_id, activate, changes_active=activate)

    @property
    def closed(self) -> bool:
        return self.host.closed

    def shutdown(self) -> None:
        self.host.shutdown()
