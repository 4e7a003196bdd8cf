"""The class palette shows each label set the way a user expects and reports every pick to the canvas."""

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QToolButton, QTreeWidgetItem

from app.palette import MAX_RECENT, PaletteWidget
from engine.labels import get_label_set

COCO = get_label_set("coco")
FACADES = get_label_set("facades")
SEA = COCO.by_name("sea").id
SKY = COCO.by_name("sky").id
GIRAFFE = COCO.by_name("giraffe").id


@pytest.fixture
def palette(qtbot):
    widget = PaletteWidget(COCO)
    widget.resize(320, 700)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def top_level(palette: PaletteWidget) -> list[QTreeWidgetItem]:
    return [palette.tree.topLevelItem(i) for i in range(palette.tree.topLevelItemCount())]


def group(palette: PaletteWidget, title: str) -> QTreeWidgetItem:
    (item,) = [item for item in top_level(palette) if item.text(0) == title]
    return item


def class_item(palette: PaletteWidget, name: str) -> QTreeWidgetItem:
    (item,) = palette.tree.findItems(name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
    return item


def all_class_items(palette: PaletteWidget) -> list[QTreeWidgetItem]:
    items = []
    for top in top_level(palette):
        children = [top.child(i) for i in range(top.childCount())]
        items.extend(children or [top])
    return items


def click_item(qtbot, palette: PaletteWidget, item: QTreeWidgetItem) -> None:
    palette.tree.scrollToItem(item)
    center = palette.tree.visualItemRect(item).center()
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=center)


def icon_color(item: QTreeWidgetItem, x: int = 8, y: int = 8) -> QColor:
    return item.icon(0).pixmap(16, 16).toImage().pixelColor(x, y)


def button_color(button: QToolButton) -> tuple[int, int, int]:
    return button.icon().pixmap(16, 16).toImage().pixelColor(8, 8).getRgb()[:3]


def test_coco_groups_come_in_order_with_the_catch_all_group_collapsed(palette):
    titles = [item.text(0) for item in top_level(palette)]
    assert titles == ["Landscape", "Ground", "Plant", "Building", "More"]
    assert class_item(palette, "sky").parent().text(0) == "Landscape"
    assert not group(palette, "More").isExpanded()
    assert all(group(palette, title).isExpanded() for title in ("Landscape", "Ground", "Plant", "Building"))
    assert len(all_class_items(palette)) == len(COCO.classes) == 183


def test_every_class_swatch_has_the_class_colour_and_a_dark_border(palette):
    for item in all_class_items(palette):
        label_class = COCO.by_id(int(item.text(1)))
        assert item.text(0) == label_class.name
        assert icon_color(item).getRgb()[:3] == label_class.color, label_class.name
    corner = icon_color(class_item(palette, "snow"), 0, 0)
    assert max(corner.red(), corner.green(), corner.blue()) < 80


def test_starts_on_a_paintable_class_so_the_user_can_paint_right_away(palette):
    first_landscape = group(palette, "Landscape").child(0)
    assert palette.current_id() == int(first_landscape.text(1)) != COCO.background_id
    assert palette.tree.currentItem() is first_landscape
    assert palette.recent_ids() == []
    assert not any(button.isVisible() for button in palette.recent_buttons)


def test_clicking_a_class_selects_it_and_remembers_it(qtbot, palette):
    with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
        click_item(qtbot, palette, class_item(palette, "sea"))
    assert blocker.args == [SEA]
    assert palette.current_id() == SEA
    assert palette.recent_ids() == [SEA]

    with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
        click_item(qtbot, palette, class_item(palette, "sky"))
    assert blocker.args == [SKY]
    assert palette.recent_ids() == [SKY, SEA]


def test_clicking_a_group_title_does_not_change_the_class(qtbot, palette):
    before = palette.current_id()
    with qtbot.assertNotEmitted(palette.classSelected):
        click_item(qtbot, palette, group(palette, "Ground"))
    assert palette.current_id() == before


def test_arrow_keys_browse_classes_without_filling_the_recent_row(qtbot, palette):
    palette.tree.setFocus()
    start = palette.tree.currentItem()
    with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
        qtbot.keyClick(palette.tree, Qt.Key.Key_Down)
    below = palette.tree.itemBelow(start)
    assert blocker.args == [int(below.text(1))] == [palette.current_id()]
    assert palette.recent_ids() == []


def test_typing_filters_classes_and_groups_and_enter_picks_the_first_match(qtbot, palette):
    qtbot.keyClicks(palette.search, "SeA")
    assert not class_item(palette, "sea").isHidden()
    assert class_item(palette, "sky").isHidden()
    assert class_item(palette, "giraffe").isHidden()
    assert not group(palette, "Landscape").isHidden()
    assert all(group(palette, title).isHidden() for title in ("Ground", "Plant", "Building", "More"))
    visible = [item for item in all_class_items(palette) if not item.isHidden()]
    assert [item.text(0) for item in visible] == ["sea"]

    with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == [SEA]
    assert palette.current_id() == SEA
    assert palette.recent_ids() == [SEA]

    palette.search.clear()
    assert not any(item.isHidden() for item in top_level(palette) + all_class_items(palette))
    assert not group(palette, "More").isExpanded()


def test_a_match_in_a_collapsed_group_shows_it_expanded_until_the_search_is_cleared(qtbot, palette):
    qtbot.keyClicks(palette.search, "giraf")
    more = group(palette, "More")
    assert not more.isHidden() and more.isExpanded()
    assert not class_item(palette, "giraffe").isHidden()
    assert class_item(palette, "person").isHidden()
    palette.search.clear()
    assert not more.isExpanded()


def test_enter_with_no_match_keeps_the_current_class(qtbot, palette):
    before = palette.current_id()
    qtbot.keyClicks(palette.search, "no such class")
    assert all(item.isHidden() for item in top_level(palette))
    with qtbot.assertNotEmitted(palette.classSelected):
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert palette.current_id() == before


def test_select_shows_the_class_and_keeps_a_short_recent_row_without_duplicates(qtbot, palette):
    picks = [COCO.by_name(name).id for name in ("sky", "sea", "grass", "tree", "house", "road")]
    picks += [COCO.by_name(name).id for name in ("sand", "snow", "house", "giraffe", "rock")]
    for label_id in picks:
        with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
            palette.select(label_id)
        assert blocker.args == [label_id]
        assert palette.current_id() == label_id

    expected = []
    for label_id in reversed(picks):
        if label_id not in expected:
            expected.append(label_id)
    assert palette.recent_ids() == expected[:MAX_RECENT]
    shown = [button for button in palette.recent_buttons if button.isVisible()]
    assert palette.recent_buttons[:MAX_RECENT] == shown
    assert [button.toolTip() for button in shown] == [COCO.by_id(i).name for i in expected[:MAX_RECENT]]
    assert button_color(shown[0]) == COCO.by_id(picks[-1]).color

    giraffe = class_item(palette, "giraffe")
    assert giraffe.parent().isExpanded()  # the eyedropper picked it from the collapsed "More" group


def test_select_clears_a_search_that_hides_the_picked_class(qtbot, palette):
    qtbot.keyClicks(palette.search, "sea")
    palette.select(GIRAFFE)
    assert palette.search.text() == ""
    assert not class_item(palette, "giraffe").isHidden()
    assert palette.tree.currentItem() is class_item(palette, "giraffe")


def test_clicking_a_recent_swatch_selects_that_class_and_moves_it_to_the_front(qtbot, palette):
    for name in ("sky", "sea", "grass"):
        palette.select(COCO.by_name(name).id)
    assert palette.recent_buttons[2].toolTip() == "sky"
    with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
        qtbot.mouseClick(palette.recent_buttons[2], Qt.MouseButton.LeftButton)
    assert blocker.args == [SKY]
    assert palette.current_id() == SKY
    assert palette.tree.currentItem() is class_item(palette, "sky")
    assert palette.recent_ids() == [SKY, COCO.by_name("grass").id, SEA]


def test_switching_to_facades_rebuilds_a_flat_list_and_forgets_recent_classes(qtbot, palette):
    palette.select(SEA)
    qtbot.keyClicks(palette.search, "sk")
    with qtbot.waitSignal(palette.classSelected, timeout=1000) as blocker:
        palette.set_label_set(FACADES)
    items = top_level(palette)
    assert [item.text(0) for item in items] == [c.name for c in FACADES.classes]
    assert len(items) == 12
    assert all(item.childCount() == 0 and not item.isHidden() for item in items)
    assert palette.search.text() == ""
    assert palette.recent_ids() == []
    assert not any(button.isVisible() for button in palette.recent_buttons)
    current = palette.current_id()
    assert blocker.args == [current]
    assert current in FACADES and current != FACADES.background_id
    assert palette.tree.currentItem().text(0) == FACADES.by_id(current).name
    assert icon_color(items[0]).getRgb()[:3] == FACADES.classes[0].color


def test_ctrl_f_focuses_the_search_box(qtbot, palette):
    palette.activateWindow()
    qtbot.waitActive(palette)
    palette.tree.setFocus()
    palette.search.setText("sea")
    qtbot.keyClick(palette.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(palette.search.hasFocus, timeout=1000)
    assert palette.search.selectedText() == "sea"  # typing replaces the previous search


def test_building_the_coco_palette_is_instantaneous(qtbot):
    start = time.perf_counter()
    widget = PaletteWidget(COCO)
    elapsed = time.perf_counter() - start
    qtbot.addWidget(widget)
    assert elapsed < 0.5
