"""Helpers shared by the test modules, which import them from here (never from conftest or each other)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
DEMO_RUN = ROOT / "sample_data" / "demo_run"  # the committed demo run (read-only: copy it to change it)
T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], seconds: float, message: str | Callable[[], str], every: float = 0.5) -> T:
    """Poll ``condition`` every ``every`` seconds until it returns something truthy, and
    return that; fail with ``message`` (or what it returns) after ``seconds`` (a deadline
    for a state, not a time to wait). The one polling loop of the tests: a condition that
    watches a process asserts it is still alive itself."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, message() if callable(message) else message
        time.sleep(every)
    return result


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m siamese ARGS`` as a user would, from the repository root."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "siamese", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"siamese {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path (to prove nothing changed)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_run(run_dir: Path, dest: Path) -> Path:
    """A copy of a trained run's network, history and settings in ``dest``, without its
    representatives; its training data path is rewritten for the new place."""
    import json
    import shutil

    dest.mkdir(parents=True)
    for name in ("history.csv", "model.keras"):
        shutil.copy2(run_dir / name, dest / name)
    info = json.loads((run_dir / "run.json").read_text())
    info["config"]["train_dir"] = os.path.relpath((run_dir / info["config"]["train_dir"]).resolve(), dest.resolve())
    (dest / "run.json").write_text(json.dumps(info))
    return dest


def rule_variant(run_dir: Path, dest: Path, rule: str = "medoid", per_class: int = 2) -> Path:
    """A second real run without training: ``run_dir``'s network, with representatives chosen
    again to decide by another rule (as ``represent DEST --rule RULE --per-class K``)."""
    from siamese import load_run, represent

    represent(load_run(copy_run(run_dir, dest)), rule=rule, per_class=per_class)
    return dest
