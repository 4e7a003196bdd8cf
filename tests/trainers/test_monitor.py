from trainers.monitor import Monitor


def test_without_progress_bar_each_logging_step_prints_losses_and_rate(tmp_path, capsys):
    monitor = Monitor(tmp_path, total=10, initial=0, tensorboard=False, progress=False)
    monitor.scalars(5, {"loss/g": 1.25, "loss/d": 0.5})
    monitor.close()
    line = capsys.readouterr().err.strip()
    assert line.startswith("step 5 ")
    assert "it/s" in line and "loss/g=1.25" in line and "loss/d=0.5" in line


def test_with_progress_bar_or_on_other_ranks_nothing_is_printed_per_step(tmp_path, capsys):
    Monitor(tmp_path, total=10, initial=0, tensorboard=False, progress=True).scalars(5, {"loss/g": 1.0})
    Monitor(tmp_path, total=10, initial=0, enabled=False, progress=False).scalars(5, {"loss/g": 1.0})
    assert "loss/g" not in capsys.readouterr().err


def test_a_second_log_at_the_same_step_shows_its_values_without_a_rate(tmp_path, capsys):
    monitor = Monitor(tmp_path, total=10, initial=0, tensorboard=False, progress=False)
    monitor.scalars(5, {"loss/g": 1.0})
    monitor.scalars(5, {"metrics/psnr": 20.0})
    lines = capsys.readouterr().err.strip().splitlines()
    assert "it/s" in lines[0]
    assert lines[1] == "step 5 metrics/psnr=20"
