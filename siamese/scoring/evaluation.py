"""Evaluation of a run on test and unknown folders: distances computed once, everything else derived."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from siamese.data.folders import scan_folder
from siamese.errors import SiameseError
from siamese.limits import EMBED_BATCH
from siamese.scoring.metrics import (
    FAR_POINTS,
    UNKNOWN,
    Roc,
    cmc,
    confusion,
    decide,
    dir_at_far,
    dir_far_curve,
    threshold_sweep,
    unknown_roc,
)
from siamese.scoring.rules import DEFAULT_RULE, RULES

THRESHOLD_SOURCES = {
    "calibration": "calibrated on known images the network never trained on",
    "training": "equal-error point of the training images (no held-out images)",
    "given": "chosen by hand",
}


@dataclass(frozen=True)
class Evaluation:
    """Distances of every test (and unknown) image to every class, computed once.

    Everything that depends on the threshold (verdicts, confusion, rates) is derived
    from these cached distances, so changing the threshold costs no forward pass.

    Attributes:
        rule: the scoring rule the distances come from.
        threshold_source: ``calibration``, ``training`` or ``given`` (see ``THRESHOLD_SOURCES``).
        calibration_frr: the false-reject rate the threshold was set for, or None.
        class_thresholds: one threshold per class, used instead of ``threshold`` when set.
        rule_distances: rule -> (known, unknown) class distances, when rules are compared.
        rule_thresholds: rule -> its calibrated threshold, when the run was calibrated.
        n_trained: how many of ``class_names`` the network trained on; the rest are people
            enrolled in the run's gallery afterwards (None: all trained).
    """

    class_names: list[str]
    threshold: float
    files: list[str]
    true: np.ndarray
    class_dist: np.ndarray
    unknown_files: list[str]
    unknown_groups: list[str]
    unknown_class_dist: np.ndarray
    skipped: list[dict[str, str]]
    rule: str = DEFAULT_RULE
    threshold_source: str = "given"
    calibration_frr: float | None = None
    class_thresholds: np.ndarray | None = None
    rule_distances: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    rule_thresholds: dict[str, float] = field(default_factory=dict)
    n_trained: int | None = None

    def at(self, threshold: float, class_thresholds: np.ndarray | None = None) -> Evaluation:
        """The same evaluation at another threshold (no recomputation of distances).

        A threshold other than the current one is ``given``; per-class thresholds apply
        only when passed again.
        """
        threshold = float(threshold)
        if threshold == self.threshold and class_thresholds is None and self.class_thresholds is None:
            return self
        return replace(self, threshold=threshold, class_thresholds=class_thresholds, threshold_source="given", calibration_frr=None)

    @property
    def has_unknown(self) -> bool:
        return len(self.unknown_files) > 0

    def known(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return decide(self.class_dist, self.threshold, self.class_thresholds)

    def unknown(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return decide(self.unknown_class_dist, self.threshold, self.class_thresholds)

    def confusion(self) -> pd.DataFrame:
        predicted, _, accepted = self.known()
        return confusion(self.true, predicted, accepted, self.class_names)

    def roc(self) -> Roc | None:
        if not self.has_unknown or not len(self.files):
            return None
        return unknown_roc(self.known()[1], self.unknown()[1])

    def sweep(self, thresholds: np.ndarray | None = None) -> pd.DataFrame:
        predicted, distance, _ = self.known()
        unknown = self.unknown()[1] if self.has_unknown else None
        return threshold_sweep(distance, predicted == self.true, unknown, thresholds)

    def dir_far(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(far, dir, threshold) of the open-set identification curve, or None without unknown images."""
        if not self.has_unknown or not len(self.files):
            return None
        predicted, distance, _ = self.known()
        return dir_far_curve(distance, predicted == self.true, self.unknown()[1])

    def cmc(self) -> list[float]:
        """Rank-1 to rank-5 identification rates of the known images."""
        return cmc(self.class_dist, self.true)

    def suggestions(self, target_false_accept: float = 0.01) -> dict[str, dict[str, Any]]:
        """Suggested thresholds, each with its criterion (needs unknown images).

        - ``eer``: equal error rate of known (false reject) vs unknown (false accept).
        - ``best_balance``: the highest mean of identified rate and rejection rate.
        - ``target_far``: the largest threshold at which at most ``target_false_accept``
          of unknown images are accepted, which identifies as many known images as that
          allows.
        """
        roc = self.roc()
        if roc is None:
            return {}
        sweep = self.sweep(np.unique(np.r_[roc.thresholds, self.threshold]))
        balance = (sweep["identified_rate"] + sweep["rejection_rate"]) / 2
        allowed = sweep[sweep["false_accept_rate"] <= target_false_accept]
        result = {
            "eer": {"threshold": roc.eer_threshold, "criterion": f"equal error rate ({roc.eer:.3f}) of known images rejected vs unknown images accepted"},
            "best_balance": {"threshold": float(sweep["threshold"][balance.idxmax()]), "criterion": "highest mean of identified rate and rejection rate"},
        }
        if len(allowed):
            result["target_far"] = {"threshold": float(allowed["threshold"].max()), "criterion": f"at most {target_false_accept:.0%} of unknown images accepted"}
        return result

    def rule_table(self) -> pd.DataFrame:
        """Every compared rule on these images: accuracy, AUROC, and the rates at that rule's
        own calibrated threshold (or, for a run without calibration, none)."""
        rows = []
        for rule, (known, unknown) in self.rule_distances.items():
            predicted, distance, _ = decide(known, np.inf)
            correct = predicted == self.true
            row: dict[str, Any] = {"rule": rule, "accuracy": float(correct.mean()) if len(correct) else None}
            u_distance = decide(unknown, np.inf)[1] if len(unknown) else np.zeros(0)
            row["auroc_unknown"] = unknown_roc(distance, u_distance).auroc if len(u_distance) and len(distance) else None
            t = self.rule_thresholds.get(rule)
            row["threshold"] = t
            row["identified_rate"] = float((correct & (distance < t)).mean()) if t is not None and len(correct) else None
            row["false_reject_rate"] = float((distance >= t).mean()) if t is not None and len(distance) else None
            row["rejection_rate"] = float((u_distance >= t).mean()) if t is not None and len(u_distance) else None
            rows.append(row)
        return pd.DataFrame(rows, columns=["rule", "accuracy", "identified_rate", "false_reject_rate", "rejection_rate", "auroc_unknown", "threshold"])

    def table(self) -> pd.DataFrame:
        """One row per image: file, set, true class, predicted class, distance, verdict."""
        predicted, distance, accepted = self.known()
        rows = pd.DataFrame({
            "file": self.files,
            "set": "test",
            "true_class": [self.class_names[c] for c in self.true],
            "predicted_class": [self.class_names[c] for c in predicted],
            "distance": distance,
            "verdict": np.where(~accepted, "rejected", np.where(predicted == self.true, "identified", "misidentified")),
        })
        if self.has_unknown:
            u_predicted, u_distance, u_accepted = self.unknown()
            rows = pd.concat([rows, pd.DataFrame({
                "file": self.unknown_files,
                "set": "unknown",
                "true_class": self.unknown_groups,
                "predicted_class": [self.class_names[c] for c in u_predicted],
                "distance": u_distance,
                "verdict": np.where(u_accepted, "falsely accepted", "rejected"),
            })], ignore_index=True)
        return rows

    def cell(self, true_class: str, column: str) -> pd.DataFrame:
        """The test images of one confusion cell (``column`` a class or ``unknown``)."""
        rows = self.table()
        rows = rows[rows["set"] == "test"]
        shown = rows["predicted_class"].where(rows["verdict"] != "rejected", UNKNOWN)
        return rows[(rows["true_class"] == true_class) & (shown == column)]

    def by_kind(self) -> dict[str, dict[str, Any]]:
        """Identified and falsely rejected rates of the trained classes' images and of the
        enrolled people's images, apart: how well the network generalises to people it never
        trained on."""
        predicted, _, accepted = self.known()
        enrolled = self.true >= (self.n_trained if self.n_trained is not None else len(self.class_names))
        out = {}
        for kind, rows in (("trained", ~enrolled), ("enrolled", enrolled)):
            n = int(rows.sum())
            out[kind] = {
                "n_test": n,
                "identified_rate": float((accepted & (predicted == self.true))[rows].mean()) if n else None,
                "false_reject_rate": float((~accepted)[rows].mean()) if n else None,
                "misidentified_rate": float((accepted & (predicted != self.true))[rows].mean()) if n else None,
            }
        return out

    def metrics(self) -> dict[str, Any]:
        """The summary that ``evaluate --json`` prints."""
        predicted, distance, accepted = self.known()
        correct = predicted == self.true
        out: dict[str, Any] = {
            "n_test": len(self.files),
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "calibration_frr": self.calibration_frr,
            "per_class_thresholds": self.class_thresholds is not None,
            "rule": self.rule,
            "accuracy": float(correct.mean()) if len(correct) else None,
            "identified_rate": float((correct & accepted).mean()) if len(correct) else None,
            "false_reject_rate": float((~accepted).mean()) if len(correct) else None,
            "cmc": self.cmc() if len(correct) else [],
            "classes": self.class_names,
            "confusion": {k: {c: int(v) for c, v in row.items()} for k, row in self.confusion().to_dict(orient="index").items()},
            "n_skipped": len(self.skipped),
        }
        if self.n_trained is not None and self.n_trained < len(self.class_names):
            out["by_kind"] = self.by_kind()
        if self.has_unknown:
            roc = self.roc()
            u_distance = self.unknown()[1]
            out.update({
                "n_unknown": len(self.unknown_files),
                "rejection_rate": float((~self.unknown()[2]).mean()),
                "auroc_unknown": roc.auroc if roc else None,
                "eer": roc.eer if roc else None,
                "eer_threshold": roc.eer_threshold if roc else None,
                "dir_at_far": {str(f): dir_at_far(distance, correct, u_distance, f) for f in FAR_POINTS} if len(correct) else {},
            })
        return out


def evaluate(
    run,
    test_dir: str | os.PathLike[str] | None,
    unknown_dir: str | os.PathLike[str] | None = None,
    threshold: float | None = None,
    batch_size: int = EMBED_BATCH,
    compare_rules: bool = False,
) -> Evaluation:
    """Embed test (and unknown) images once, in batches, and score them against the run's gallery.

    Args:
        run: a ``siamese.Run`` with representatives.
        test_dir: folder-per-class images of the run's classes and enrolled people (or None for none).
        unknown_dir: folder-per-class images of people never trained on (optional); a
            sub-folder named after an enrolled person counts as known.
        threshold: the decision threshold; by default the run's own (calibrated when it
            could be), with its per-class thresholds when represent recorded them for use.
        compare_rules: also score with every rule (``Evaluation.rule_table``), from the
            same forward pass.
    """
    if test_dir is None and unknown_dir is None:
        raise SiameseError("give a test folder, an unknown folder, or both")
    threshold, source, frr, class_thresholds = run.decision(threshold)
    if not np.isfinite(threshold) or threshold < 0:
        raise SiameseError(f"threshold {threshold} is not valid; use a distance of 0 or more")
    names = run.identities  # trained classes, then the people enrolled in the run's gallery
    n = len(names)
    rules = list(RULES) if compare_rules else [run.rule]
    own = rules.index(run.rule)
    scorers = [run.scorer(rule) for rule in rules]

    def reduce(emb: np.ndarray) -> np.ndarray:
        # Distances per batch: memory grows by rules x classes values per image, not by a 512-d embedding.
        return np.stack([s.class_distances(emb) for s in scorers], axis=1)

    def distances(folder, class_names):
        listing = scan_folder(folder, class_names)
        dist, kept, skipped = run.embed_files(listing.paths, batch_size, reduce=reduce)
        files = [str(listing.paths[i]) for i in kept]
        groups = [listing.class_names[listing.labels[i]] for i in kept]
        return files, listing.labels[kept], groups, dist, [*listing.skipped, *skipped]

    empty = ([], np.zeros(0, np.int64), [], np.zeros((0, len(rules), n)), [])
    files, true, _, dist, skipped = distances(test_dir, names) if test_dir is not None else empty
    u_files, _, u_groups, u_dist, u_skipped = distances(unknown_dir, None) if unknown_dir is not None else empty
    known = np.array([g in names for g in u_groups], bool)
    if known.any():  # enrolled people's images among the strangers: they are known now
        files = [*files, *(f for f, k in zip(u_files, known) if k)]
        true = np.r_[true, [names.index(g) for g, k in zip(u_groups, known) if k]].astype(np.int64)
        dist = np.concatenate([dist, u_dist[known]])
        u_files, u_groups, u_dist = [f for f, k in zip(u_files, known) if not k], [g for g, k in zip(u_groups, known) if not k], u_dist[~known]
    return Evaluation(
        class_names=names,
        threshold=float(threshold),
        files=files,
        true=true,
        class_dist=dist[:, own],
        unknown_files=u_files,
        unknown_groups=u_groups,
        unknown_class_dist=u_dist[:, own],
        skipped=[{"path": s.path, "reason": s.reason} for s in [*skipped, *u_skipped]],
        rule=run.rule,
        threshold_source=source,
        calibration_frr=frr,
        class_thresholds=class_thresholds,
        rule_distances={rule: (dist[:, i], u_dist[:, i]) for i, rule in enumerate(rules)} if compare_rules else {},
        rule_thresholds={k: float(v) for k, v in run.threshold_record()["rule_thresholds"].items()},
        n_trained=len(run.class_names),
    )
