"""What ``represent`` recorded in a run folder, read back: representatives, map, threshold, rule.

``siamese.maps.representatives.represent`` writes these files; everything that scores images
against a run (evaluate, probe, maps, the dashboard) reads them through ``Recorded``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from siamese.data.paths import check_regular_file
from siamese.errors import REPRESENT, Remedy, SiameseError
from siamese.gallery.store import Enrolled, read_enrolled, stamp
from siamese.limits import MAX_ARRAY_FILE_BYTES
from siamese.runs.layout import MAP_FILE, REPRESENTATIVE_EMBEDDINGS_FILE, REPRESENTATIVES_FILE, TRAIN_EMBEDDINGS_FILE, read_json
from siamese.runs.schema import RECHOOSE, load_representative_arrays, validate_representatives
from siamese.scoring.rules import DEFAULT_K, Scorer, extend_scorer, fit_scorer


class ThresholdChoice(NamedTuple):
    """The threshold that decides: a value, where it came from, the false-reject rate it was
    calibrated for (or None), and per-class thresholds (or None)."""

    threshold: float
    source: str
    calibration_frr: float | None
    class_thresholds: np.ndarray | None


class Recorded:
    """A run's recorded representatives and threshold, read on demand; fitted rules are kept.

    Args:
        run_dir: the run folder.
        class_names: the run's classes, in order.
        dimension: the network's embedding length, when run.json records it.
    """

    def __init__(self, run_dir: Path, class_names: list[str], dimension: int | None = None):
        self.run_dir = Path(run_dir)
        self.class_names = list(class_names)
        self.dimension = dimension
        self._scorers: dict[tuple[str, int], Scorer] = {}
        self._enrolled: tuple[tuple[int, int] | None, Enrolled] | None = None
        self._extended: dict[str, tuple[Scorer, Enrolled, Scorer]] = {}
        self._lock = threading.Lock()

    @property
    def exists(self) -> bool:
        return (self.run_dir / REPRESENTATIVES_FILE).exists() and (self.run_dir / REPRESENTATIVE_EMBEDDINGS_FILE).exists()

    def record(self) -> dict[str, Any]:
        """The contents of representatives.json (see ``siamese.maps.representatives.represent``)."""
        if not self.exists:
            raise SiameseError(f"run {self.run_dir} has no representatives yet", Remedy(REPRESENT, value=str(self.run_dir)))
        path = self.run_dir / REPRESENTATIVES_FILE
        record = read_json(path, Remedy(REPRESENT))
        validate_representatives(record, path, self.class_names)
        return record

    def embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (R, D), class index (R,)) of the representatives, checked against the run."""
        items = self.record()["items"]
        return load_representative_arrays(self.run_dir / REPRESENTATIVE_EMBEDDINGS_FILE, len(self.class_names), len(items), self.dimension)

    def training_map(self) -> pd.DataFrame:
        """Every training image's 2-D map position (file, class, x, y, ...)."""
        self.record()
        path = self.run_dir / MAP_FILE
        check_regular_file(path, MAX_ARRAY_FILE_BYTES, RECHOOSE)
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise SiameseError(f"{path} cannot be read as a table ({exc.__class__.__name__}); {RECHOOSE}") from None
        if not {"file", "class", "x", "y"} <= set(table.columns):
            raise SiameseError(f"{path} lacks the columns file, class, x and y; {RECHOOSE}")
        return table

    def training_embeddings(self) -> np.ndarray:
        """The training images' embeddings (N, D), in the map's row order."""
        self.record()
        path = self.run_dir / TRAIN_EMBEDDINGS_FILE
        check_regular_file(path, MAX_ARRAY_FILE_BYTES, RECHOOSE)
        try:
            embeddings = np.load(path, allow_pickle=False, mmap_mode="r")  # the header only, until copied
        except (OSError, ValueError, EOFError) as exc:
            raise SiameseError(f"{path} cannot be read as an array ({exc.__class__.__name__}); {RECHOOSE}") from None
        rows = len(self.training_map())
        if (embeddings.ndim != 2 or embeddings.dtype.kind != "f" or embeddings.shape[0] != rows
                or (self.dimension and embeddings.shape[1] != self.dimension)):
            raise SiameseError(f"{path} holds an array of shape {list(embeddings.shape)} and type {embeddings.dtype}, not one "
                               f"embedding per training image ({rows} in {MAP_FILE}); {RECHOOSE}")
        embeddings = np.array(embeddings, dtype=np.float32)
        if not np.isfinite(embeddings).all():
            raise SiameseError(f"{path} holds NaN or infinite values, which are no embedding; {RECHOOSE}")
        return embeddings

    def threshold_record(self) -> dict[str, Any]:
        """The threshold with where it came from (keys as ``siamese.Run.threshold_record`` documents)."""
        record = self.record()
        calibration = record.get("calibration") or {}
        return {
            "threshold": float(record["suggested_threshold"]),
            "source": record.get("threshold_source", "training"),
            "criterion": record.get("threshold_criterion", "equal error rate on the training images"),
            "target_frr": record.get("target_frr"),
            "training_threshold": float(record.get("training_threshold") if record.get("training_threshold") is not None else record["suggested_threshold"]),
            "rule_thresholds": dict(calibration.get("rule_thresholds") or {}),
        }

    # The gallery (siamese.gallery): the trained classes plus people enrolled later ------------------
    def enrolled(self) -> Enrolled:
        """The people enrolled after training, read again whenever gallery.json changed."""
        current = stamp(self.run_dir)
        with self._lock:
            if self._enrolled is None or self._enrolled[0] != current:
                self._enrolled = (current, read_enrolled(self.run_dir, self.class_names, self.dimension))
            return self._enrolled[1]

    def identities(self) -> list[str]:
        """Everyone a probe can be identified as: the trained classes, then the enrolled people."""
        return [*self.class_names, *self.enrolled().names]

    def decision(self, threshold: float | None = None) -> ThresholdChoice:
        """The threshold a decision uses: ``threshold`` when given (source ``given``), else the
        run's own with its per-class thresholds when represent recorded them for use; an
        enrolled person, never calibrated, has the global threshold."""
        if threshold is not None:
            return ThresholdChoice(float(threshold), "given", None, None)
        record = self.threshold_record()
        per_class = self.class_thresholds()
        if per_class is not None:
            per_class = np.r_[per_class, np.full(len(self.enrolled().people), record["threshold"])]
        return ThresholdChoice(record["threshold"], record["source"], record["target_frr"], per_class)

    @property
    def rule(self) -> str:
        """The scoring rule (``medoid`` for records made before rules existed)."""
        return str(self.record().get("rule", "medoid"))

    def class_thresholds(self) -> np.ndarray | None:
        """Per-class thresholds (in class order) when represent was asked to use them, else None."""
        record = self.record()
        if not record.get("per_class_threshold"):
            return None
        recorded = (record.get("calibration") or {}).get("class_thresholds") or {}
        return np.array([float(recorded.get(name, record["suggested_threshold"])) for name in self.class_names])

    def recorded_class_thresholds(self) -> dict[str, float]:
        """The per-class thresholds calibration computed, whether or not they are in use."""
        return dict(((self.record().get("calibration") or {}).get("class_thresholds")) or {})

    def scorer(self, rule: str | None = None) -> Scorer:
        """A fitted scoring rule over the whole gallery, by default the recorded rule: fitted
        once from the stored training embeddings, their classes (map.csv) and the
        representatives, then extended by the enrolled people (``identities`` order)."""
        trained = self.trained_scorer(rule)
        enrolled = self.enrolled()
        if not enrolled.people:
            return trained
        with self._lock:  # kept per gallery state: a large gallery is not copied again for every probe
            kept = self._extended.get(trained.rule)
            if kept is None or kept[0] is not trained or kept[1] is not enrolled:
                n = len(self.class_names)
                kept = (trained, enrolled, extend_scorer(trained, enrolled.embeddings, enrolled.labels + n, n + len(enrolled.people)))
                self._extended[trained.rule] = kept
            return kept[2]

    def trained_scorer(self, rule: str | None = None) -> Scorer:
        """A fitted scoring rule over the trained classes only."""
        record = self.record()
        rule = rule or self.rule
        k = int(record.get("k", DEFAULT_K))
        with self._lock:
            if (rule, k) not in self._scorers:
                self.embeddings()  # checked once before the first fit: labels, shape, classes
                table, embeddings = self.training_map(), self.training_embeddings()
                labels = pd.Categorical(table["class"], categories=self.class_names).codes.astype(np.int64)
                listed = [int(item["row"]) for item in record["items"]]  # Python ints: a row of 1e30 is compared, never overflows
                if len(table) != len(embeddings) or (labels < 0).any() or not listed or max(listed) >= len(embeddings):
                    raise SiameseError(f"{self.run_dir / MAP_FILE}, {TRAIN_EMBEDDINGS_FILE} and {REPRESENTATIVES_FILE} do not agree "
                                       f"(rows, classes); {RECHOOSE}")
                rows = np.array(listed, np.int64)
                self._scorers[(rule, k)] = fit_scorer(rule, embeddings, labels, len(self.class_names), rows, k)
            return self._scorers[(rule, k)]

    def forget_scorers(self) -> None:
        """Drop fitted rules (represent calls this after recording new representatives)."""
        with self._lock:
            self._scorers.clear()
            self._enrolled = None
            self._extended.clear()
