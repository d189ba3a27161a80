"""Home's headline numbers, kept on disk between server starts.

Computing them embeds the run's test and unknown images (TensorFlow, 9 to 16 s on a first
visit). They are recorded, keyed by the run's files (run.json, representatives, model) and
by the name, size and modification time of every file in the two folders, in the
dashboard's cache folder (never in a run or a dataset): while neither changed, Home shows
the recorded numbers at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import loaders

import siamese
from siamese.runs.layout import MODEL_FILE

# What Home shows, and the types a record must hold to be used (anything else is recomputed).
NUMBERS = ("accuracy", "identified_rate", "threshold", "rejection_rate", "auroc_unknown")
COUNTS = ("n_test", "n_unknown")
MAX_RECORD_BYTES = 4096


def cache_dir() -> Path:
    """SIAMESE_DASHBOARD_CACHE (tests use a temporary folder), else the user's cache folder."""
    configured = os.environ.get("SIAMESE_DASHBOARD_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "siamese-dashboard"


def folder_stamp(folder: Path | None) -> str | None:
    """A digest of every file's relative path, size and modification time under ``folder``."""
    if folder is None:
        return None
    digest = hashlib.sha256()
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(top, name)
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def record_key(run: siamese.Run, test_dir: Path, unknown_dir: Path | None) -> str:
    model = run.path / MODEL_FILE
    parts = [*loaders.cache_key(run, test_dir, unknown_dir), model.stat().st_mtime_ns if model.exists() else 0,
             folder_stamp(test_dir), folder_stamp(unknown_dir)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def valid(record: Any) -> bool:
    """Whether ``record`` holds what Home formats: finite numbers (or None), counts, a source."""
    if not isinstance(record, dict) or not isinstance(record.get("threshold_source"), str):
        return False
    numbers = [record.get(k) for k in NUMBERS if k in record]
    counts = [record.get(k) for k in COUNTS if k in record]
    return ("accuracy" in record and "identified_rate" in record and "threshold" in record and "n_test" in record
            and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)) for v in numbers)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts))


def read(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if valid(record) else None


def write(path: Path, record: dict[str, Any]) -> None:
    """Atomically; a cache folder that cannot be written only costs the next visit the wait."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(handle.name, path)
    except OSError:
        return


def metrics(run: siamese.Run, test_dir: Path, unknown_dir: Path | None) -> tuple[dict[str, Any], bool]:
    """The headline numbers of ``run`` on the folders, and whether they come from the record."""
    path = cache_dir() / f"headline-{record_key(run, test_dir, unknown_dir)}.json"
    recorded = read(path)
    if recorded is not None:
        return recorded, True
    computed = loaders.evaluation(run, test_dir, unknown_dir).metrics()
    record = {k: computed[k] for k in (*NUMBERS, *COUNTS, "threshold_source") if k in computed}
    write(path, record)
    return record, False
