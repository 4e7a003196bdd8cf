"""``python -m trainers``: the list of trainers, and NAME dispatching to ``python -m trainers.NAME``."""

from trainers.__main__ import COMMANDS, main


def test_without_a_name_it_lists_every_trainer_with_what_it_does(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"\n  {name} " in out
    assert "train a LaMa inpainting generator (the engine's FFCResNetGenerator)" in out
    assert main(["nope"]) == 2 and "no trainer 'nope'" in capsys.readouterr().err


def test_a_name_runs_that_trainer_with_the_rest_of_the_arguments(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["inpaint", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run")])
    assert code == 2 and "no photos" in capsys.readouterr().err  # trainers.inpaint's own message
