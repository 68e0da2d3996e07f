"""The review window's foot: "Fine-tune on reviewed cases…" and, beside it, each model's accuracy on
the review set's random share (an unbiased estimate for this clinic's images, with its 95 % CI) next to
the accuracy its model card states (the validation figure it shipped with)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from .display_names import family_name
from .i18n import translate


def percent_ci(value, low, high) -> str:
    if value is None:
        return "n/a"
    interval = translate("ReviewFooter", " (95 % CI {value:.1f}–{value2:.1f} %)").format(value=100 * low, value2=100 * high) if low is not None and high is not None else ""
    return f"{100 * value:.1f} %{interval}"


def accuracy_line(card, accuracy) -> str:
    """"CNN: here 85.0 % (17/20; 95 % CI …), 0 refused · card 91.2 % (95 % CI …)"."""
    stated = card.metric("accuracy")
    card_text = percent_ci(stated.value, stated.ci_low, stated.ci_high) if stated is not None else translate("ReviewFooter", "no figure")
    here = accuracy.text() if accuracy is not None else "–"
    return translate("ReviewFooter", "<b>{family_name}</b>: here {here} · card {card_text}").format(family_name=family_name(card.config.arch), here=here, card_text=card_text)


class ReviewFooter(QWidget):
    fineTuneRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finetune_button = QPushButton(self.tr("Fine-tune on reviewed cases…"))
        self.finetune_button.setToolTip(self.tr("Open the fine-tune dialog with your labels as the training data and the "
                                        "random share's labels as the validation data"))
        self.finetune_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys label, never press this
        self.finetune_button.setEnabled(False)
        self.finetune_button.clicked.connect(self.fineTuneRequested)
        self.accuracy_label = QLabel("")
        self.accuracy_label.setObjectName("reviewAccuracy")
        self.accuracy_label.setWordWrap(True)
        self.accuracy_label.setTextFormat(Qt.TextFormat.RichText)
        self.accuracy_label.setToolTip(self.tr("Accuracy of each model on the labelled images of the queue's random share "
                                       "(drawn uniformly from the scan, so unbiased), with a bootstrap 95 % CI; "
                                       "'card' is the validation accuracy its model card states"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.addWidget(self.finetune_button)
        layout.addSpacing(12)
        layout.addWidget(self.accuracy_label, 1)

    def show_accuracies(self, cards, accuracies: dict) -> None:
        """``accuracies``: card id -> ``core.review.review_set.LocalAccuracy`` (``jobs.review.local_accuracies``)."""
        lines = [accuracy_line(card, accuracies.get(card.id)) for card in cards if card.id in accuracies]
        self.accuracy_label.setText(self.tr("Local accuracy on the random share:<br>") + "<br>".join(lines) if lines else "")

    def set_reviewed(self, labelled: int) -> None:
        self.finetune_button.setEnabled(labelled > 0)
