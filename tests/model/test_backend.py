"""Every CPU kernel TensorFlow may choose: the commands that embed work and agree, and the choice is reported."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from helpers import ROOT

DEMO_RUN = ROOT / "sample_data" / "demo_run"
IMAGE = ROOT / "sample_data" / "thermal_faces" / "test" / "person_13" / "person_13_028.png"


def python(code_or_args: list[str], onednn: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "SIAMESE_TURNED_ONEDNN_ON")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def test_probe_gives_the_same_verdict_under_eigen_and_onednn_kernels():
    """Eigen's depthwise convolution refused the fast path's unequal strides: probe ended in a traceback."""
    results = {}
    for onednn in ("0", "1"):
        done = python(["-m", "siamese", "probe", str(DEMO_RUN), str(IMAGE), "--json"], onednn)
        assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
        results[onednn] = json.loads(done.stdout)
    eigen, onednn = results["0"], results["1"]
    assert eigen["predicted_class"] == onednn["predicted_class"] == "person_13" and eigen["accepted"] and onednn["accepted"]
    assert eigen["distance"] == pytest.approx(onednn["distance"], rel=1e-4)


REPORT = "from siamese.model.backend import kernels; k = kernels(); print(k.onednn, k.chosen_by, sep='|')"


@pytest.mark.parametrize("onednn, expected", [("0", "False|you (TF_ENABLE_ONEDNN_OPTS=0)"), ("1", "True|you (TF_ENABLE_ONEDNN_OPTS=1)")], ids=["eigen", "onednn"])
def test_a_kernel_choice_the_user_made_is_respected(onednn, expected):
    done = python(["-c", REPORT], onednn)
    assert done.returncode == 0 and done.stdout.strip() == expected, done.stderr


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN is turned on only where it was measured: x86-64")
def test_unset_the_package_turns_onednn_on_quietly_and_children_know_who_chose():
    code = REPORT + "; import subprocess, sys; print(subprocess.run([sys.executable, '-c', " + repr(REPORT) + "], capture_output=True, text=True).stdout.strip())"
    done = python(["-c", code], None)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True|siamese", "True|siamese"]
    assert done.stderr == ""  # no oneDNN or absl notice on stderr
