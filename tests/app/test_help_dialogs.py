from PySide6.QtGui import QAction, QKeySequence

from app.help_dialogs import action_keys, add_model_item, model_card_html, shortcuts_html, training_summary
from engine.checkpoints import read_card
from tests.conftest import REPO


def test_the_model_card_says_what_the_model_takes_its_data_training_and_measured_quality():
    folder = REPO / "assets" / "models" / "inpaint-photos"
    card = read_card(folder)
    text = model_card_html(card, folder)
    assert "<h2>inpaint-photos</h2>" in text and "lama (photo+hole)" in text and "256 × 256" in text
    assert "1,498 photos" in text  # trained on
    assert "gain_db_over_opencv_30_60 1.42" in text  # the card's own number, as measured
    assert "python -m trainers.evaluate inpaint" in text  # and how it was measured
    assert str(folder) in text


def test_the_training_summary_adds_up_every_run_the_card_continued_from():
    training = {
        "steps": 100,
        "batch": 4,
        "wall_time_s": 600,
        "hardware": "1 x CPU",
        "continued_from": [
            {"steps": 900, "batch": 8, "processes": 2, "wall_time_s": 1200, "hardware": "1 x GPU", "runs": 2}
        ],
    }
    assert training_summary(training) == (
        "1,000 steps in 3 runs (batch 4 to 16, 14,800 images), 30 min on 1 x CPU and 1 x GPU"
    )
    training["continued_from"].append({"steps": 0, "hardware": "1 x TPU"})
    assert training_summary(training).endswith("on 1 x CPU, 1 x GPU and 1 x TPU")
    del training["continued_from"][0]["batch"]  # an older card that did not say
    assert "(batch 4, 400 images in the runs that say)" in training_summary(training)


def test_keys_list_each_action_with_a_shortcut_once_and_escape_the_text(qapp):
    brush, again, nameless = QAction("&Brush"), QAction("Brush"), QAction("No key")
    brush.setShortcut(QKeySequence("B"))
    again.setShortcut(QKeySequence("B"))
    assert action_keys([brush, again, nameless]) == [("B", "Brush")]
    text = shortcuts_html([("Tab", [("<", "a & b")])])
    assert "<h3>Tab</h3>" in text and "&lt;" in text and "a &amp; b" in text


def test_a_model_picker_entry_keeps_its_folder_and_shows_the_cards_first_sentence(qapp):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QComboBox

    folder = REPO / "assets" / "models" / "facades"
    combo = QComboBox()
    add_model_item(combo, read_card(folder), folder)
    assert combo.itemText(0) == "facades" and combo.itemData(0) == str(folder)
    tip = combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Facades, label -> photo: SPADE generator with class-adaptive (CLADE) norms")
    assert tip.endswith("256 px.")
