"""Which models the pickers offer and which one a tab starts with, across runs (QSettings)."""

import shutil

from PySide6.QtCore import QSettings

from app.model_choice import offered_models, remember_model, starting_model
from tests.factories_lama import make_tiny_lama


def test_an_opened_folder_stays_on_offer_and_the_last_model_of_each_tab_starts_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    installed = make_tiny_lama(tmp_path / "home" / "models" / "a-installed", name="a-installed")
    trained = make_tiny_lama(tmp_path / "runs" / "mine" / "model", name="mine")
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert [card.name for _, card in offered_models(settings)] == ["a-installed"]
    assert starting_model(settings, "Inpaint", offered_models(settings)) == installed  # nothing remembered

    remember_model(settings, "Inpaint", trained)  # the user opened it and it ran
    settings.sync()
    again = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)  # the next run of the app
    offered = offered_models(again)
    assert [card.name for _, card in offered] == ["a-installed", "mine"]
    assert starting_model(again, "Inpaint", offered).resolve() == trained.resolve()
    assert starting_model(again, "Sketch", offered) == installed  # each tab remembers its own

    remember_model(again, "Inpaint", installed)  # an installed model is not added twice
    assert [card.name for _, card in offered_models(again)] == ["a-installed", "mine"]
    shutil.rmtree(trained)  # deleted since: no longer offered, and the tab starts with what is there
    offered = offered_models(again)
    assert [card.name for _, card in offered] == ["a-installed"]
    remember_model(again, "Inpaint", trained)
    assert starting_model(again, "Inpaint", offered) == installed
