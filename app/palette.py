"""The class picker docked beside the canvas: search, recently used swatches and the grouped class tree."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.labels import Color, LabelSet

MAX_RECENT = 8
SWATCH_SIZE = 16
BORDER_COLOR = QColor(40, 40, 40)
COLLAPSED_GROUPS = frozenset({"more"})  # COCO's catch-all group of things; the scenery groups come first
ID_ROLE = Qt.ItemDataRole.UserRole


def swatch_icon(color: Color) -> QIcon:
    """A flat square of the class colour; the dark border keeps near-white and near-black classes visible."""
    pixmap = QPixmap(SWATCH_SIZE, SWATCH_SIZE)
    pixmap.fill(QColor(*color))
    painter = QPainter(pixmap)
    painter.setPen(BORDER_COLOR)
    painter.drawRect(0, 0, SWATCH_SIZE - 1, SWATCH_SIZE - 1)
    painter.end()
    return QIcon(pixmap)


class PaletteWidget(QWidget):
    """Lets the user pick the class to paint with; emits classSelected(id) whenever the class changes."""

    classSelected = Signal(int)

    def __init__(self, label_set: LabelSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_filter)
        self.search.returnPressed.connect(self._pick_first_match)

        recent_row = QHBoxLayout()
        recent_row.setSpacing(2)
        recent_row.addWidget(QLabel("Recently used"))
        self.recent_buttons: list[QToolButton] = []
        for index in range(MAX_RECENT):
            button = QToolButton()
            button.setAutoRaise(True)
            button.setIconSize(QSize(SWATCH_SIZE, SWATCH_SIZE))
            button.setFixedSize(SWATCH_SIZE + 6, SWATCH_SIZE + 6)
            button.clicked.connect(partial(self._on_recent_clicked, index))
            button.hide()
            recent_row.addWidget(button)
            self.recent_buttons.append(button)
        recent_row.addStretch(1)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIconSize(QSize(SWATCH_SIZE, SWATCH_SIZE))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        # arrow keys browse without filling the recent row; a click or Enter is a deliberate pick
        self.tree.itemClicked.connect(self._on_item_picked)
        self.tree.itemActivated.connect(self._on_item_picked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addLayout(recent_row)
        layout.addWidget(self.tree, 1)

        # window-wide so it works while the canvas has focus; a second palette in the same window makes the
        # shortcut ambiguous, and Qt then cycles through them, so each press still focuses one search box
        shortcut = QShortcut(QKeySequence("Ctrl+F"), self)
        shortcut.activated.connect(self._focus_search)
        shortcut.activatedAmbiguously.connect(self._focus_search)

        self._label_set = label_set
        self._items: dict[int, QTreeWidgetItem] = {}
        self._groups: list[tuple[QTreeWidgetItem | None, list[QTreeWidgetItem]]] = []
        self._icons: dict[int, QIcon] = {}
        self._recent: list[int] = []
        self._expanded_before_search: list[bool] | None = None
        self._current_id = label_set.background_id
        self.set_label_set(label_set)

    # --- public API ----------------------------------------------------------------------------------------

    def current_id(self) -> int:
        return self._current_id

    def recent_ids(self) -> list[int]:
        return list(self._recent)

    def set_label_set(self, label_set: LabelSet) -> None:
        """Rebuild for another label set and pick a paintable class, so the user can start right away."""
        self._label_set = label_set
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._expanded_before_search = None
        self._build_tree()
        self._recent.clear()
        self._update_recent_buttons()
        self._choose(self._default_id(), remember=False)
        self.tree.scrollToTop()

    def select(self, label_id: int) -> None:
        """Pick a class from outside (the eyedropper): show it in the tree and remember it as recent."""
        item = self._items.get(label_id)
        if item is None:
            raise KeyError(f"label set '{self._label_set.name}' has no class with id {label_id}")
        if item.isHidden():  # the search filter must not hide the class the user just picked
            self.search.clear()
        self._choose(label_id, remember=True)
        self.tree.scrollToItem(item)

    # --- building ------------------------------------------------------------------------------------------

    def _build_tree(self) -> None:
        self.tree.clear()
        self._items.clear()
        self._groups.clear()
        self._icons = {c.id: swatch_icon(c.color) for c in self._label_set.classes}
        by_group: dict[str, list[QTreeWidgetItem]] = {group: [] for group in self._label_set.groups}
        for label_class in self._label_set.classes:
            item = QTreeWidgetItem([label_class.name, str(label_class.id)])
            item.setIcon(0, self._icons[label_class.id])
            item.setData(0, ID_ROLE, label_class.id)
            item.setToolTip(0, f"{label_class.name}  (id {label_class.id})")
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            by_group[label_class.group].append(item)
            self._items[label_class.id] = item

        flat = len(self._label_set.groups) == 1
        self.tree.setRootIsDecorated(not flat)
        if flat:
            children = by_group[self._label_set.groups[0]]
            self.tree.addTopLevelItems(children)
            self._groups.append((None, children))
            return
        for group in self._label_set.groups:
            group_item = QTreeWidgetItem([group[:1].upper() + group[1:]])
            group_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group_item.font(0)
            font.setBold(True)
            group_item.setFont(0, font)
            group_item.addChildren(by_group[group])
            self.tree.addTopLevelItem(group_item)
            group_item.setFirstColumnSpanned(True)
            group_item.setExpanded(group not in COLLAPSED_GROUPS)
            self._groups.append((group_item, by_group[group]))

    def _default_id(self) -> int:
        """The first class in display order that is not the background, so painting changes something."""
        for _group_item, children in self._groups:
            for item in children:
                label_id = item.data(0, ID_ROLE)
                if label_id != self._label_set.background_id:
                    return label_id
        return self._label_set.background_id

    # --- picking -------------------------------------------------------------------------------------------

    def _choose(self, label_id: int, *, remember: bool) -> None:
        self._current_id = label_id
        item = self._items[label_id]
        if self.tree.currentItem() is not item:
            self.tree.setCurrentItem(item)  # _on_current_item_changed sees the id is current already
        if remember:
            self._remember(label_id)
        self.classSelected.emit(label_id)

    def _on_current_item_changed(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        label_id = item.data(0, ID_ROLE) if item is not None else None
        if label_id is not None and label_id != self._current_id:
            self._choose(label_id, remember=False)

    def _on_item_picked(self, item: QTreeWidgetItem, _column: int) -> None:
        label_id = item.data(0, ID_ROLE)
        if label_id is None:
            return
        if label_id == self._current_id:
            self._remember(label_id)
        else:
            self._choose(label_id, remember=True)

    def _pick_first_match(self) -> None:
        for _group_item, children in self._groups:
            for item in children:
                if not item.isHidden():
                    self.select(item.data(0, ID_ROLE))
                    return

    def _focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # --- recently used -------------------------------------------------------------------------------------

    def _remember(self, label_id: int) -> None:
        if label_id in self._recent:
            self._recent.remove(label_id)
        self._recent.insert(0, label_id)
        del self._recent[MAX_RECENT:]
        self._update_recent_buttons()

    def _update_recent_buttons(self) -> None:
        for index, button in enumerate(self.recent_buttons):
            if index < len(self._recent):
                label_class = self._label_set.by_id(self._recent[index])
                button.setIcon(self._icons[label_class.id])
                button.setToolTip(label_class.name)
                button.show()
            else:
                button.hide()

    def _on_recent_clicked(self, index: int) -> None:
        if index < len(self._recent):
            self.select(self._recent[index])

    # --- search --------------------------------------------------------------------------------------------

    def _apply_filter(self, text: str) -> None:
        """Hide classes whose name lacks the text; the group expansion the user had comes back on clear."""
        needle = text.strip().casefold()
        groups = [group_item for group_item, _children in self._groups if group_item is not None]
        if needle and self._expanded_before_search is None:
            self._expanded_before_search = [group_item.isExpanded() for group_item in groups]
        self.tree.setUpdatesEnabled(False)
        try:
            for group_item, children in self._groups:
                any_visible = False
                for item in children:
                    hit = needle in item.text(0).casefold()
                    item.setHidden(not hit)
                    any_visible = any_visible or hit
                if group_item is not None:
                    group_item.setHidden(not any_visible)
                    if needle and any_visible:
                        group_item.setExpanded(True)
            if not needle and self._expanded_before_search is not None:
                for group_item, expanded in zip(groups, self._expanded_before_search, strict=True):
                    group_item.setExpanded(expanded)
                self._expanded_before_search = None
                self.tree.scrollToItem(self._items[self._current_id])
        finally:
            self.tree.setUpdatesEnabled(True)
