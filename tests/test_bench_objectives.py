"""bench.objectives: its table, and a run it left half-trained is trained again, never measured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.objectives import _status, print_table


def _row(dataset: str, loss: str, seed: int, auroc: float, **extra) -> dict:
    return {"dataset": dataset, "loss": loss, "seed": seed, "auroc_unknown": auroc, "rejection_rate": 0.5,
            "false_reject_rate": 0.05, "identified_rate": 0.9, "seconds_per_epoch": 1.0, **extra}


def test_the_table_gives_the_mean_and_each_seed_and_the_test_set_column_only_when_measured(capsys):
    print_table([_row("thermal", "supcon", 1, 0.8, rejected_at_test_5pct=0.7), _row("thermal", "supcon", 0, 0.9, rejected_at_test_5pct=0.5),
                 _row("digits", "contrastive", 0, 0.97)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| thermal | supcon | 2 | 0.850 (0.900, 0.800) | 50.0% | 5.0% | 90.0% | 1.00 | 60.0% |"
    assert lines[3] == "| digits | contrastive | 1 | 0.970 (0.970) | 50.0% | 5.0% | 90.0% | 1.00 | - |"  # measured before the column existed


def test_only_a_complete_run_is_measured_again_without_training(tiny_run: Path, tmp_path: Path):
    run = shutil.copytree(tiny_run, tmp_path / "run")  # a copy: tiny_run is shared by the session
    assert _status(run) == "complete"
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "status": "running", "pid": 2**22 + 1}))
    assert _status(run) == "failed"  # stopped mid-training, its process gone: the bench trains it again
    (run / "run.json").write_text("{not json")
    assert _status(run) is None and _status(tmp_path / "missing") is None
