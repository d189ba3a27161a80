"""Runs side by side: their settings, training histories and headline numbers on the same images.

Every run is evaluated on the same test (and unknown) folder at its own recorded
threshold with its own rule, so the numbers answer "which run should I use": the
differences come from the runs, not from the images or a shared threshold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from siamese.data.folders import scan_folder
from siamese.errors import REPRESENT, Remedy, SiameseError
from siamese.runs.store import Run, load_run
from siamese.scoring.evaluation import Evaluation, evaluate

# (key, label) of each setting, in the order shown. The keys are the JSON's.
SETTINGS = (
    ("training_data", "training data"), ("classes", "classes"), ("n_train", "training images"),
    ("n_calibration", "held out for calibration"), ("epochs", "epochs"), ("epochs_done", "epochs trained"),
    ("loss", "training objective"), ("distance", "distance"), ("batch_size", "batch size"), ("margin", "margin"), ("learning_rate", "learning rate"), ("input_shape", "input shape"),
    ("augment", "augment"), ("precision", "precision"), ("validation_split", "validation split"),
    ("calibration_split", "calibration share"), ("seed", "seed"), ("status", "status"), ("best_epoch", "best epoch"),
    ("final_loss", "final loss"), ("representatives", "representatives"), ("rule", "rule"), ("threshold", "threshold"),
    ("threshold_source", "threshold source"), ("target_frr", "threshold's target false-reject rate"),
)
# (key, label, True when higher is better) of each headline number, in the order shown.
METRICS = (
    ("accuracy", "accuracy", True), ("identified_rate", "identified", True), ("rejection_rate", "strangers rejected", True),
    ("false_reject_rate", "known rejected", False), ("auroc_unknown", "AUROC", True), ("eer", "EER", False),
)
# Shown with the numbers, never ranked: how each run decided.
DECISION = (("rule", "rule"), ("threshold", "threshold"), ("threshold_source", "threshold source"))

Evaluator = Callable[[Run, Path, Path | None], Evaluation]


@dataclass(frozen=True)
class CompareResult:
    """Two or more runs side by side.

    Attributes:
        labels: one unique name per run, in the order given (the run folder's name,
            numbered when two runs share one).
        paths: the run folders.
        test_dir, unknown_dir: the folders every run was evaluated on.
        settings: label -> setting key -> value (``SETTINGS``; ``None`` where a run has none).
        histories: label -> the run's per-epoch history (epoch, loss, pair_accuracy, val_...).
        metrics: label -> headline numbers at the run's own threshold (``METRICS`` and
            ``DECISION`` keys, ``n_test``, ``n_unknown``), for the runs that could be evaluated.
        without_representatives: labels of runs that have none yet (not evaluated).
        mismatched: label -> why a run could not be evaluated on the test folder.
    """

    labels: list[str]
    paths: list[str]
    test_dir: str
    unknown_dir: str | None
    settings: dict[str, dict[str, Any]]
    histories: dict[str, pd.DataFrame]
    metrics: dict[str, dict[str, Any]]
    without_representatives: list[str]
    mismatched: dict[str, str]

    @property
    def evaluated(self) -> list[str]:
        """Labels of the runs with numbers, in the order given."""
        return [label for label in self.labels if label in self.metrics]

    def differing_settings(self) -> list[str]:
        """Keys of the settings whose values are not the same for every run."""
        return [key for key, _ in SETTINGS if len({repr(self.settings[label][key]) for label in self.labels}) > 1]

    def settings_table(self) -> pd.DataFrame:
        """Rows: settings (their labels); columns: runs; values as text ("–" where a run has none)."""
        return pd.DataFrame(
            {label: [_format_setting(key, self.settings[label][key]) for key, _ in SETTINGS] for label in self.labels},
            index=[name for _, name in SETTINGS], dtype=object,
        )

    def metrics_table(self) -> pd.DataFrame:
        """Rows: evaluated runs; columns: the decision (rule, threshold, source) and the headline numbers (their labels)."""
        columns = [*DECISION, *((key, name) for key, name, _ in METRICS)]
        return pd.DataFrame(
            [[self.metrics[label][key] for key, _ in columns] for label in self.evaluated],
            index=self.evaluated, columns=[name for _, name in columns], dtype=object,
        )

    def differences(self) -> dict[str, dict[str, float | None]]:
        """label -> metric key -> the run's value minus the first evaluated run's (None when either is missing)."""
        if not self.evaluated:
            return {}
        first = self.metrics[self.evaluated[0]]
        return {
            label: {key: _minus(self.metrics[label][key], first[key]) for key, _, _ in METRICS}
            for label in self.evaluated
        }

    def best(self) -> dict[str, list[str]]:
        """metric key -> the labels of the runs with its best value (all of them on a tie; none without values)."""
        result = {}
        for key, _, higher in METRICS:
            values = {label: self.metrics[label][key] for label in self.evaluated if _number(self.metrics[label][key])}
            if values:
                top = max(values.values()) if higher else min(values.values())
                result[key] = [label for label, value in values.items() if value == top]
            else:
                result[key] = []
        return result

    def display_metrics(self, digits: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The metrics table as text, and which cells hold a best value.

        Every run after the first shows its difference from the first in brackets,
        ``0.950 (-0.017)``; thresholds keep four significant digits, as everywhere.
        Returns (text table, boolean table of the same shape).
        """
        table = self.metrics_table()
        text = pd.DataFrame("", index=table.index, columns=table.columns, dtype=object)
        best_cells = pd.DataFrame(False, index=table.index, columns=table.columns)
        differences, best = self.differences(), self.best()
        for i, label in enumerate(self.evaluated):
            values = self.metrics[label]
            for key, name in DECISION:
                text.loc[label, name] = _format_threshold(values[key]) if key == "threshold" else str(values[key])
            for key, name, _ in METRICS:
                cell = _format(values[key], digits)
                if i and _number(differences[label][key]):
                    cell += f" ({differences[label][key]:+.{digits}f})"
                text.loc[label, name] = cell
                best_cells.loc[label, name] = label in best[key] and len(self.evaluated) > 1
        return text, best_cells

    def to_json(self) -> dict[str, Any]:
        """What ``compare --json`` prints: the folders, every run's settings and numbers, the best runs."""
        differences = self.differences()
        return {
            "test_dir": self.test_dir,
            "unknown_dir": self.unknown_dir,
            "runs": [
                {"run": label, "path": path, "settings": self.settings[label], "metrics": self.metrics.get(label),
                 "difference": differences.get(label)}
                for label, path in zip(self.labels, self.paths)
            ],
            "differing_settings": self.differing_settings(),
            "best": self.best(),
            "without_representatives": self.without_representatives,
            "mismatched": self.mismatched,
        }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _minus(value: Any, reference: Any) -> float | None:
    return float(value) - float(reference) if _number(value) and _number(reference) else None


def _format(value: Any, digits: int) -> str:
    return f"{value:.{digits}f}" if _number(value) else "–"


def _format_threshold(value: Any) -> str:
    return f"{value:.4g}" if _number(value) else "–"


def _format_setting(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key == "threshold":
        return _format_threshold(value)
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    return str(value)


def _some(names: Sequence[str], shown: int = 3) -> str:
    """A few names for a sentence: ``a, b, c and 5 more``."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def run_labels(paths: Sequence[Path]) -> list[str]:
    """One label per run: its folder's name, with ``(2)``, ``(3)`` ... for a name seen before."""
    labels: list[str] = []
    for path in paths:
        name, n = path.name, 1
        while (label := name if n == 1 else f"{name} ({n})") in labels:
            n += 1
        labels.append(label)
    return labels


def run_settings(run: Run, show_path: Callable[[Path], str] = str) -> dict[str, Any]:
    """A run's settings as ``SETTINGS`` keys: how it was trained, and, once it has
    representatives, how it decides (rule, threshold and its source)."""
    config = run.config
    metrics = run.metrics
    settings: dict[str, Any] = {
        "training_data": show_path(run.train_dir),
        "classes": len(run.class_names),
        "n_train": config.n_train,
        "n_calibration": config.n_calibration,
        "epochs": config.epochs,
        "epochs_done": int(run.info.get("epochs_done", 0)),
        "loss": config.loss,
        "distance": run.distance,
        "batch_size": config.batch_size,
        "margin": config.margin,
        "learning_rate": config.learning_rate,
        "input_shape": list(run.input_shape),
        "augment": config.augment,
        "precision": config.precision,
        "validation_split": config.validation_split,
        "calibration_split": config.calibration_split,
        "seed": config.seed,
        "status": run.status,
        "best_epoch": metrics.get("best_epoch"),
        "final_loss": round(metrics["loss"], 4) if _number(metrics.get("loss")) else None,
        "representatives": None, "rule": None, "threshold": None, "threshold_source": None, "target_frr": None,
    }
    if run.has_representatives:
        record, threshold = run.representatives(), run.threshold_record()
        settings.update(
            representatives=f"{record['method']}, {record['per_class']} per class",
            rule=run.rule,
            threshold=float(threshold["threshold"]),
            threshold_source=threshold["source"],
            target_frr=threshold["target_frr"],
        )
    return settings


def run_metrics(result: Evaluation) -> dict[str, Any]:
    """The headline numbers of one evaluation (``Evaluation.metrics``'s values): the decision,
    the image counts, and each ``METRICS`` key (None without an unknown set)."""
    measured = result.metrics()
    return {
        **{key: measured[key] for key, _ in DECISION},
        "n_test": measured["n_test"],
        "n_unknown": measured.get("n_unknown", 0),
        **{key: measured.get(key) for key, _, _ in METRICS},
    }


def compare_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    test_dir: str | os.PathLike[str],
    unknown_dir: str | os.PathLike[str] | None = None,
    show_path: Callable[[Path], str] = str,
    evaluator: Evaluator = evaluate,
    strict: bool = False,
) -> CompareResult:
    """Compare two or more runs on the same test (and unknown) images, each at its own threshold.

    Args:
        run_dirs: the run folders, the first being the one the others are measured against.
        test_dir: folder-per-class images of classes every run was trained on.
        unknown_dir: folder-per-class images of people none of the runs trained on (optional).
        show_path: how a training data folder is written in the settings (the dashboard
            writes it relative to its root).
        evaluator: how a run is evaluated (the dashboard passes its cached evaluation).

    Runs without representatives, and runs not trained on every class of the test
    folder, keep their settings and history but get no numbers; they are listed in
    ``without_representatives`` and ``mismatched``; with ``strict`` (the command line)
    such a run is an error instead, raised before any run is evaluated.

    Raises:
        SiameseError: fewer than two runs, a run folder that is not a run, a test or
            unknown folder that does not exist or holds no images, or (``strict``) a run
            that cannot be measured.
    """
    if len(run_dirs) < 2:
        raise SiameseError(f"comparing needs two or more runs, got {len(run_dirs)}; give the run folders to compare")
    runs = [load_run(path) for path in run_dirs]
    test_classes = scan_folder(test_dir).class_names
    if unknown_dir is not None:
        scan_folder(unknown_dir)
    labels = run_labels([run.path for run in runs])
    without = [label for label, run in zip(labels, runs) if not run.has_representatives]
    mismatched = {
        label: f"run {label} was not trained on {_some(missing)} of the test set (nor are they enrolled in its gallery), so it cannot be measured on it"
        for label, run in zip(labels, runs)
        if label not in without and (missing := sorted(set(test_classes) - set(run.identities)))
    }
    if strict and without:
        path = runs[labels.index(without[0])].path
        raise SiameseError(f"run {path} has no representatives yet", Remedy(REPRESENT, value=str(path), after=", then compare"))
    if strict and mismatched:
        raise SiameseError(f"{next(iter(mismatched.values()))}; give a test folder of classes every run knows")
    metrics = {
        label: run_metrics(evaluator(run, Path(test_dir), Path(unknown_dir) if unknown_dir is not None else None))
        for label, run in zip(labels, runs) if label not in without and label not in mismatched
    }
    return CompareResult(
        labels=labels,
        paths=[str(run.path) for run in runs],
        test_dir=str(test_dir),
        unknown_dir=str(unknown_dir) if unknown_dir is not None else None,
        settings={label: run_settings(run, show_path) for label, run in zip(labels, runs)},
        histories={label: run.history() for label, run in zip(labels, runs)},
        metrics=metrics,
        without_representatives=without,
        mismatched=mismatched,
    )
