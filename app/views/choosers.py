"""A chooser that finds items by name or pinyin initials (typing ``ls`` finds 柳树社区)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QComboBox, QCompleter, QWidget

from app.services.intake import Choice

ID_ROLE = Qt.ItemDataRole.UserRole
_SETTLE_KEYS = (Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Return, Qt.Key.Key_Enter)
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


class _DisplayCompleter(QCompleter):
    """Matches on the search key but puts the plain name into the line edit."""

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        return str(index.data(Qt.ItemDataRole.DisplayRole) or "")


class SearchCombo(QComboBox):
    """An editable combo box over ``Choice`` items; the text typed filters by name or initials.

    ``chosen`` is emitted with the id (or None) whenever the choice changes. Text that
    matches no item leaves ``current_id()`` None and ``unresolved_text()`` non-empty, so
    the form can say which field is wrong.
    """

    chosen = Signal(object)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(15)
        self._model = QStandardItemModel(self)
        self.setModel(self._model)
        self.search = _DisplayCompleter(self._model, self)
        self.search.setCompletionRole(SEARCH_ROLE)
        self.search.setFilterMode(Qt.MatchFlag.MatchContains)
        self.search.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.search.setMaxVisibleItems(12)
        self.setCompleter(self.search)
        if placeholder:
            self.lineEdit().setPlaceholderText(placeholder)
        self._last: int | None = None
        self.currentIndexChanged.connect(self._emit_if_changed)
        self.lineEdit().editingFinished.connect(self.resolve)
        self.lineEdit().installEventFilter(self)
        self.search.popup().installEventFilter(self)  # keys typed while the list is open
        self.setCurrentIndex(-1)

    # -- items ---------------------------------------------------------------------------

    def set_choices(self, choices: list[Choice], keep: bool = True) -> None:
        previous = self.current_id() if keep else None
        self.blockSignals(True)
        self._model.clear()
        for c in choices:
            item = QStandardItem(c.name)
            item.setData(c.id, ID_ROLE)
            item.setData(c.search, SEARCH_ROLE)
            item.setToolTip(c.search)
            self._model.appendRow(item)
        self.blockSignals(False)
        self.set_current_id(previous)
        self._emit_if_changed()

    def choices_count(self) -> int:
        return self._model.rowCount()

    def current_id(self) -> int | None:
        text = self.currentText().strip()
        if not text:
            return None
        index = self.currentIndex()
        if index >= 0 and self.itemText(index) == text:
            return self.itemData(index, ID_ROLE)
        return None

    def set_current_id(self, id_: int | None) -> None:
        index = self.findData(id_, ID_ROLE) if id_ is not None else -1
        self.setCurrentIndex(index)
        if index < 0:
            self.setEditText("")
        self._emit_if_changed()

    def unresolved_text(self) -> str:
        """Typed text that matches no item ("" when empty or resolved)."""
        text = self.currentText().strip()
        return text if text and self.current_id() is None else ""

    def matches(self, text: str) -> list[int]:
        """Rows whose name or search key contains ``text`` (exact name first)."""
        text = text.strip().lower()
        exact, partial = [], []
        for row in range(self._model.rowCount()):
            item = self._model.item(row)
            if item.text().lower() == text:
                exact.append(row)
            elif text in str(item.data(SEARCH_ROLE)):
                partial.append(row)
        return exact + partial

    # -- resolving typed text ------------------------------------------------------------

    def resolve(self) -> None:
        """Turn typed text into a choice: the exact name, else the first match."""
        text = self.currentText().strip()
        if not text:
            if self.currentIndex() != -1:
                self.setCurrentIndex(-1)
            self._emit_if_changed()
            return
        if self.current_id() is not None:
            self._emit_if_changed()
            return
        rows = self.matches(text)
        if rows:
            self.setCurrentIndex(rows[0])
            self.setEditText(self.itemText(rows[0]))
        self._emit_if_changed()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Settle the choice before Tab moves on, so the next field (a cascading level,
        # the grids of a village) is already filled and enabled when focus arrives.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.key() in _SETTLE_KEYS:
            self.resolve()
        return super().eventFilter(watched, event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        # Focus left for another field (not for the suggestion list): settle the choice.
        now = QApplication.focusWidget()
        popup = self.search.popup()
        if now is None or now is popup or now is self or self.isAncestorOf(now):
            return
        if popup.isVisible():
            popup.hide()
        self.resolve()

    def _emit_if_changed(self, *_args: object) -> None:
        now = self.current_id()
        if now != self._last:
            self._last = now
            self.chosen.emit(now)
