"""Whether workers, and a run folder to resume, agree on the settings (siamese.workers.settings)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import siamese
from siamese.errors import SiameseError
from siamese.workers.settings import SHARED_SETTINGS, differing_settings, resumes, setting_hashes


def test_differing_settings_are_named():
    config = siamese.TrainConfig(train_dir="x", data_fingerprint="abc", class_names=["a", "b"])
    other = siamese.TrainConfig(train_dir="elsewhere", data_fingerprint="abd", class_names=["a", "b"], epochs=3)
    rows = np.stack([setting_hashes(config), setting_hashes(config), setting_hashes(other)])
    assert differing_settings(rows) == (2, ["data fingerprint", "epochs"])
    assert differing_settings(rows[:2]) is None  # paths may differ between hosts; settings may not
    assert len(SHARED_SETTINGS) == setting_hashes(config).size


def test_only_a_failed_multiworker_run_of_the_same_settings_is_resumed(tmp_path):
    config = siamese.TrainConfig(train_dir="x", data_fingerprint="abc", class_names=["a", "b"], input_shape=[60, 80, 3])
    run_dir = tmp_path / "run"
    assert resumes(run_dir, config) is False  # a new folder
    run_dir.mkdir()
    assert resumes(run_dir, config) is False  # an empty one

    def write(status: str, strategy: str = "MultiWorkerMirroredStrategy", **changes) -> None:
        stored = {**config.__dict__, **changes}
        info = {"format_version": 1, "status": status, "pid": None, "config": stored, "distribution": {"strategy": strategy}}
        (run_dir / "run.json").write_text(json.dumps(info))

    write("failed")
    assert resumes(run_dir, config) is True
    write("running")  # its process (pid None) is gone: it reads failed
    assert resumes(run_dir, config) is True
    for status, strategy, words in [("complete", "MultiWorkerMirroredStrategy", "holds a complete run"),
                                    ("failed", "MirroredStrategy", "holds a failed run")]:
        write(status, strategy)
        with pytest.raises(SiameseError, match=words):
            resumes(run_dir, config)
    write("failed", epochs=3)
    with pytest.raises(SiameseError, match="another epochs"):
        resumes(run_dir, config)
    (run_dir / "run.json").unlink()
    (run_dir / "notes.txt").write_text("mine")
    with pytest.raises(SiameseError, match="holds files"):
        resumes(run_dir, config)
