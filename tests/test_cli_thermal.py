"""The command line on radiometric and colour-mapped sample data: sample-data --format, train --unit/--window/--palette."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import run_cli, tree_digest
from siamese.runs.store import load_run

TINY = ["--identities", "3", "--per-identity", "6", "--unknown-identities", "2", "--unknown-per-identity", "3"]


def test_sample_data_formats_write_the_same_scene(tmp_path: Path):
    for fmt in ("agc-png", "centikelvin-png", "celsius-npy", "ironbow-png"):
        run_cli("sample-data", str(tmp_path / fmt), "--format", fmt, *TINY)
    first = "train/person_01/person_01_001"
    agc = np.asarray(Image.open(tmp_path / "agc-png" / f"{first}.png"))
    centikelvin = Image.open(tmp_path / "centikelvin-png" / f"{first}.png")
    celsius = np.load(tmp_path / "celsius-npy" / f"{first}.npy")
    assert centikelvin.mode == "I;16" and celsius.dtype == np.float32 and celsius.shape == (60, 80)
    # The 16-bit file holds the .npy's degrees in hundredths of a kelvin.
    np.testing.assert_allclose(np.asarray(centikelvin) / 100.0 - 273.15, celsius, atol=0.006)
    assert 30.0 < np.percentile(celsius, 95) < 38.0  # skin, in degrees Celsius
    # The 8-bit image is the same scene through the automatic gain: brightness follows temperature.
    assert np.corrcoef(agc[..., 0].ravel(), celsius.ravel())[0, 1] > 0.99
    ironbow = np.asarray(Image.open(tmp_path / "ironbow-png" / f"{first}.png"))
    assert ironbow.shape == (60, 80, 3) and not np.array_equal(ironbow[..., 0], ironbow[..., 2])


def test_hot_objects_appear_only_in_test_and_unknown_images(tmp_path: Path):
    run_cli("sample-data", str(tmp_path / "clean"), "--format", "celsius-npy", *TINY)
    run_cli("sample-data", str(tmp_path / "hot"), "--format", "celsius-npy", "--hot-objects", "1", *TINY)
    assert tree_digest(tmp_path / "clean" / "train") == tree_digest(tmp_path / "hot" / "train")
    for split in ("test", "unknown"):
        for clean in sorted((tmp_path / "clean" / split).rglob("*.npy")):
            hot = np.load(tmp_path / "hot" / clean.relative_to(tmp_path / "clean"))
            assert hot.max() > 50.0 > np.load(clean).max()  # the tea at 60 C (blurred), never in a clean frame
            corners = np.r_[hot[-8:, :12].ravel(), hot[-8:, -12:].ravel()]
            assert corners.max() > 50.0  # in a bottom corner


def test_bad_settings_exit_2_with_one_line(tmp_path: Path):
    run_cli("sample-data", str(tmp_path / "agc"), *TINY)
    cases = [
        (["train", str(tmp_path / "agc" / "train"), "--out", str(tmp_path / "r1"), "--window", "28:38"], "a temperature window needs the unit"),
        (["train", str(tmp_path / "agc" / "train"), "--out", str(tmp_path / "r2"), "--unit", "centikelvin"], "is an 8-bit image (mode RGB), which cannot hold temperatures in centikelvin"),
        (["train", str(tmp_path / "agc" / "train"), "--out", str(tmp_path / "r3"), "--unit", "celsius", "--window", "38:28"], "LOW below HIGH"),
        (["train", str(tmp_path / "agc" / "train"), "--out", str(tmp_path / "r4"), "--palette", "ironbow"], "far from the ironbow palette"),
        (["sample-data", str(tmp_path / "x"), "--format", "jpeg"], "invalid choice"),
    ]
    for args, message in cases:
        result = run_cli(*args, check=False)
        assert result.returncode == 2, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.slow  # trains three tiny networks for one epoch each
@pytest.mark.parametrize(
    ("fmt", "settings", "recorded"),
    [
        ("centikelvin-png", ["--unit", "centikelvin", "--window", "28:38"], {"unit": "centikelvin", "window": [28.0, 38.0], "palette": None}),
        ("celsius-npy", ["--unit", "celsius", "--window", "28:38"], {"unit": "celsius", "window": [28.0, 38.0], "palette": None}),
        ("ironbow-png", ["--palette", "ironbow"], {"unit": "counts", "window": None, "palette": "ironbow"}),
    ],
    ids=["centikelvin-png", "celsius-npy", "ironbow-png"],
)
def test_done_when_commands(tmp_path: Path, fmt: str, settings: list[str], recorded: dict):
    data, run_dir = tmp_path / "out", tmp_path / "R"
    run_cli("sample-data", str(data), "--format", fmt, *TINY)
    before = tree_digest(data)
    run_cli("train", str(data / "train"), "--out", str(run_dir), *settings, "--epochs", "1", "--batch-size", "8")
    run = load_run(run_dir)
    assert {k: run.info["config"][k] for k in recorded} == recorded
    assert run.input_shape == (60, 80, 3)  # one value per pixel, replicated to the reference network's 3 channels
    run_cli("represent", str(run_dir), "--perplexity", "3")
    metrics = json.loads(run_cli("evaluate", str(run_dir), str(data / "test"), "--unknown", str(data / "unknown"), "--json").stdout)
    assert metrics["n_test"] == 3 * 1 and metrics["n_unknown"] == 2 * 3  # every file read, none skipped
    probe = json.loads(run_cli("probe", str(run_dir), str(next((data / "unknown").rglob("*_001.*"))), "--json").stdout)
    assert set(probe["distances"]) == {"person_01", "person_02", "person_03"}
    assert tree_digest(data) == before
