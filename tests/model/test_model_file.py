"""model.keras is checked before Keras opens it: regular files only (a FIFO never hangs), a size
limit, and the architecture's weights counted from its config.json before any is allocated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT
from siamese.errors import SiameseError
from siamese.limits import MAX_MODEL_PARAMS
from siamese.model.model_file import check_model_file, declared_params, limits_for
from siamese.model.network import planned_params
from siamese.runs.store import load_run


def copy_run(run_dir: Path, dest: Path) -> Path:
    shutil.copytree(run_dir, dest)
    return dest


def _dense(config: dict) -> dict:
    """The embedding network's Dense layer inside a saved siamese model's config."""
    embedding = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Functional")
    return next(layer for layer in embedding["config"]["layers"] if layer["class_name"] == "Dense")


def _rewrite_config(model: Path, edit) -> None:
    with zipfile.ZipFile(model) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    model.unlink()
    with zipfile.ZipFile(model, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _probe(run_dir: Path) -> subprocess.CompletedProcess:
    image = next(load_run(run_dir).train_dir.rglob("*.png"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "siamese", "probe", str(run_dir), str(image)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_the_parameter_count_read_from_the_config_is_the_built_networks(tiny_run):
    with zipfile.ZipFile(tiny_run / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))
    network = load_run(tiny_run).embedding_network()
    assert declared_params(config, tiny_run) == network.count_params() == planned_params(network.input_shape[1:])


def test_a_fifo_model_is_refused_without_hanging(tiny_run, tmp_path):
    run_dir = copy_run(tiny_run, tmp_path / "run")
    (run_dir / "model.keras").unlink()
    os.mkfifo(run_dir / "model.keras")
    result = _probe(run_dir)  # before the fix this never returned (the timeout fails the test)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "model.keras is not a regular file" in result.stderr


def test_a_link_to_dev_zero_and_an_oversized_model_are_refused(tiny_run, tmp_path):
    run_dir = copy_run(tiny_run, tmp_path / "run")
    model = run_dir / "model.keras"
    model.unlink()
    model.symlink_to("/dev/zero")
    with pytest.raises(SiameseError, match="is not a regular file"):
        load_run(run_dir).embedding_network()
    model.unlink()
    _, max_bytes = limits_for(planned_params(load_run(run_dir).input_shape))
    with open(model, "wb") as sparse:
        sparse.truncate(max_bytes + 1)
    with pytest.raises(SiameseError, match=f"is {max_bytes + 1:,} bytes, more than the limit"):
        load_run(run_dir).embedding_network()


def test_a_small_model_declaring_a_huge_dense_layer_is_refused_before_allocating(tiny_run, tmp_path):
    run_dir = copy_run(tiny_run, tmp_path / "run")
    _rewrite_config(run_dir / "model.keras", lambda config: _dense(config)["config"].update(units=400_000))
    assert (run_dir / "model.keras").stat().st_size < 4 * 1024 * 1024
    with pytest.raises(SiameseError, match=r"declares [\d,]+ weights, more than the limit of 50,000,000"):
        load_run(run_dir).embedding_network()
    result = _probe(run_dir)
    assert result.returncode == 2 and "declares" in result.stderr and "Traceback" not in result.stderr


def test_a_weighted_layer_without_its_input_shape_is_refused(tiny_run, tmp_path):
    run_dir = copy_run(tiny_run, tmp_path / "run")
    _rewrite_config(run_dir / "model.keras", lambda config: _dense(config).pop("build_config"))
    with pytest.raises(SiameseError, match="cannot be loaded safely .its Dense layer does not record the input"):
        check_model_file(run_dir / "model.keras")


def test_the_limit_grows_to_what_this_tools_network_needs_for_the_input():
    assert limits_for(planned_params((60, 80, 3)))[0] == MAX_MODEL_PARAMS
    assert limits_for(planned_params((1024, 1024, 1)))[0] == planned_params((1024, 1024, 1)) > MAX_MODEL_PARAMS
