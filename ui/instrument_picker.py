"""The "Add instrument" control: separate an instrument by its name alone, without a box.

An editable combo box lists the 28 instrument classes (:data:`crn_live.instruments.CLASSES`);
typing completes over the classes and their synonyms ("contrabass", "fiddle", "sax"), and any
of them is accepted (:func:`crn_live.instruments.lookup` resolves it when the main window adds
the instrument). The button (or Return in the box) emits ``instrumentRequested(text)`` with
what was typed or picked; the main window turns it into a strip, or a status-bar line for a
name it does not know.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QCompleter, QHBoxLayout, QPushButton, QWidget

from crn_live.instruments import CLASSES, SYNONYM_TABLE


def completions() -> list[str]:
    """What the box completes: every class, then every synonym not spelled like a class."""
    names = {c.lower() for c in CLASSES}
    synonyms = sorted({s for c in CLASSES for s in SYNONYM_TABLE.get(c, ())} - names)
    return list(CLASSES) + synonyms


class InstrumentPicker(QWidget):
    """Editable class combo box + "Add instrument" button; emits ``instrumentRequested``."""

    instrumentRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems(list(CLASSES))
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)  # typing adds no item
        self.combo.setCurrentIndex(-1)
        self.combo.lineEdit().setPlaceholderText("instrument")
        self.combo.setMinimumContentsLength(12)
        self.combo.setToolTip("an instrument to separate by its name (no box, no picture "
                              "needed): pick a class or type it; synonyms such as contrabass "
                              "or fiddle are understood")
        self.completer = QCompleter(completions(), self.combo)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.combo.setCompleter(self.completer)
        self.add = QPushButton("Add instrument")
        self.add.setToolTip("separate this instrument by name: a strip without a box")
        self.add.clicked.connect(self.request)
        # Return in the box adds too: taken here, once (the line edit's returnPressed comes
        # twice, the combo box passing the key back to it)
        self.combo.lineEdit().installEventFilter(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.combo)
        layout.addWidget(self.add)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return,
                                                                     Qt.Key.Key_Enter):
            popup = self.completer.popup()
            if popup is not None and popup.isVisible():
                return False  # the completer takes this Return (picks the completion)
            self.request()
            return True
        return super().eventFilter(watched, event)

    def text(self) -> str:
        return self.combo.currentText().strip()

    def set_text(self, text: str) -> None:
        """Type ``text`` into the box (tests, and the window restoring a choice)."""
        self.combo.setEditText(text)

    def request(self) -> None:
        """Emit ``instrumentRequested`` with the box's text (nothing for an empty box)."""
        text = self.text()
        if text:
            self.instrumentRequested.emit(text)
