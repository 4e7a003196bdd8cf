"""scripts/gpu_round.sh, rehearsed on the CPU: a GPU round is one shot, so its flags must still parse and
its parts must join back into models the engine opens."""

import json
import os
import subprocess
import sys

from engine import load_model
from tests.conftest import DATASETS, REPO, require_shared


def test_the_round_packs_trains_both_jobs_and_its_parts_join_into_openable_models(tmp_path):
    require_shared(DATASETS / "photos")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "CARRY": str(tmp_path / "carry"),
        "RUNS": str(tmp_path / "runs"),
    }
    collected = tmp_path / "collected"
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_round.sh"), "smoke", str(collected)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    carried = tmp_path / "carry" / "datasets"
    assert len(list((carried / "photos").rglob("*.jpg"))) == 1498
    assert not (carried / "photos" / "bsds500" / "test").exists()  # the evaluation set stays behind
    assert (carried / "edges" / "bsds500" / "train").is_dir()

    exports = collected / "exports"
    inpaint, sketch = load_model(exports / "inpaint"), load_model(exports / "sketch")
    assert (inpaint.card.kind, sketch.card.kind) == ("lama", "pix2pix")
    assert inpaint.card.training["lambda_l2_hole"] == 200.0
    assert sketch.card.training["sketches"]["edges"] == "canny"
    assert json.loads((exports / "sketch.run.json").read_text())["train"]["device"] == "cpu"
