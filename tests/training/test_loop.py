"""The training loop's record (siamese.training.loop), shared by the one-process and multi-worker paths."""

from __future__ import annotations

import json
import math

import numpy as np

from siamese.training.loop import RunRecord, best_metrics, has_validation_pairs, history_csv


def test_validation_needs_a_class_with_two_images_and_two_classes():
    assert has_validation_pairs(np.array([0, 0, 1]))
    assert not has_validation_pairs(np.array([0, 1, 2]))  # no same-class pair
    assert not has_validation_pairs(np.array([1, 1, 1]))  # no other class
    assert not has_validation_pairs(np.array([], np.int64))


def test_the_best_epoch_is_the_lowest_monitored_loss_the_first_of_equals_and_never_a_nan():
    rows = [{"epoch": 1, "loss": 0.5, "val_loss": math.nan, "seconds": 1.0},
            {"epoch": 2, "loss": 0.4, "val_loss": 0.3, "seconds": 2.0},
            {"epoch": 3, "loss": 0.2, "val_loss": 0.3, "seconds": 3.0}]
    assert best_metrics(rows) == {"loss": 0.4, "val_loss": 0.3, "best_epoch": 2, "monitor": "val_loss"}
    assert best_metrics([{k: v for k, v in r.items() if k != "val_loss"} for r in rows])["best_epoch"] == 3
    assert best_metrics([]) == {}


def test_history_has_one_line_per_epoch_under_the_last_rows_columns():
    text = history_csv([{"epoch": 1, "loss": 0.5, "seconds": 1.0}, {"epoch": 2, "loss": 0.25, "seconds": 2.5}])
    assert text == "epoch,loss,seconds\n1,0.5,1.0\n2,0.25,2.5\n"


def test_a_record_keeps_the_best_model_and_ends_the_run(tmp_path):
    record = RunRecord(tmp_path, {"format_version": 1, "status": "running", "pid": 1})
    saved = []
    for epoch, loss in enumerate([0.5, 0.7, 0.3]):
        record.end_epoch(epoch, {"loss": np.float32(loss)}, seconds=epoch + 1.0,
                         save_model=lambda e=epoch: (saved.append(e + 1), (tmp_path / "model.keras").write_text("m")))
    assert saved == [1, 3]  # epoch 2 was worse than epoch 1
    assert (tmp_path / "history.csv").read_text().splitlines() == ["epoch,loss,seconds", "1,0.5,1.0", "2,0.699999988079071,2.0", "3,0.30000001192092896,3.0"]
    written = json.loads((tmp_path / "run.json").read_text())
    assert written["epochs_done"] == 3 and written["metrics"]["best_epoch"] == 3 and written["metrics"]["monitor"] == "loss"
    record.fail("ValueError: broken")
    written = json.loads((tmp_path / "run.json").read_text())
    assert written["status"] == "failed" and written["error"] == "ValueError: broken" and written["pid"] is None and written["finished"]
