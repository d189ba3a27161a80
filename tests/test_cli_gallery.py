"""The gallery commands as a user runs them: enroll, gallery, probe, unenroll; bad input exits 2 with one line."""

from __future__ import annotations

import json
import shutil

from helpers import DEMO_RUN, ROOT, run_cli, tree_digest


def test_enroll_gallery_probe_unenroll(tiny_data, tmp_path):
    # the demo run's trained network: it places a new person's fourth image by their three
    # references every time (a two-epoch network does not)
    run = str(shutil.copytree(DEMO_RUN, tmp_path / "run"))
    images = sorted((ROOT / "sample_data" / "thermal_faces" / "unknown" / "stranger_01").iterdir())[:4]
    out = run_cli("enroll", run, "Eve", *map(str, images[:3])).stdout
    assert "enrolled Eve" in out and "from 3 images" in out and "no weight changed" in out
    listing = json.loads(run_cli("gallery", run, "--json").stdout)
    assert listing[-1]["name"] == "Eve" and listing[-1]["kind"] == "enrolled" and listing[-1]["n_images"] == 3
    assert "Eve" in run_cli("gallery", run).stdout
    assert json.loads(run_cli("probe", run, str(images[-1]), "--json").stdout)["nearest_class"] == "Eve"
    before = tree_digest(tmp_path / "run")
    for args, words in [
        (["enroll", run, "Eve", str(images[0])], "already enrolled"),
        (["enroll", run, "unknown", str(images[0])], "label of a rejected probe"),
        (["enroll", run, "Zoe"], "no image was given"),
        (["enroll", run, "Zoe", str(tmp_path / "missing.png")], "does not exist"),
        (["enroll", run, "Zoe", str(images[0]), "--folder", str(tiny_data / "unknown")], "not both"),
        (["unenroll", run, "stranger_09"], "is not enrolled"),
    ]:
        result = run_cli(*args, check=False)
        assert result.returncode == 2 and words in result.stderr and result.stderr.count("\n") == 1, (args, result.stderr)
    assert tree_digest(tmp_path / "run") == before
    assert "removed Eve" in run_cli("unenroll", run, "Eve").stdout
    assert "Eve" not in run_cli("gallery", run).stdout
