"""The run store: one training run's folder read as a ``Run``, listed, opened and created.

A ``Run`` reads run.json (settings, status, metrics) and history.csv itself; it hands
embedding to ``siamese.model.embedding`` and reading what ``represent`` recorded to
``siamese.runs.recorded_scoring``, keeping one method for each so the API stays in one place.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siamese.data.folders import Shape, Skipped
from siamese.data.thermal_pixels import PixelMapping
from siamese.errors import TRAIN, Remedy, SiameseError
from siamese.gallery.enroll import Person, gallery
from siamese.gallery.store import Enrolled
from siamese.limits import EMBED_BATCH
from siamese.model.embedding import Embedding, load_siamese_model
from siamese.runs.atomic_files import write_json
from siamese.runs.layout import HISTORY_FILE, MODEL_FILE, REPRESENTATIVES_FILE, RUN_FILE, now, read_json
from siamese.runs.process_alive import pid_alive
from siamese.runs.recorded_scoring import Recorded, ThresholdChoice
from siamese.runs.schema import FORMAT_VERSION, STATUSES, embedding_dimension, validate_run_info
from siamese.scoring.rules import Scorer
from siamese.training.config import TrainConfig

# Kept importable from here: the dashboard reads these names from siamese.runs.store.
__all__ = ["EMBED_BATCH", "FORMAT_VERSION", "REPRESENTATIVES_FILE", "RUN_FILE", "STATUSES", "Run", "TrainConfig",
           "list_runs", "load_run", "new_run_info", "write_run_info"]


class Run:
    """A run directory, read lazily: the model is loaded on first use and then kept.

    Attributes:
        path: the run folder.
        info: the contents of run.json.
    """

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = path
        self.info = info
        self._embedding = Embedding(path / MODEL_FILE, self.input_shape, self.pixels)
        self._recorded = Recorded(path, self.class_names, embedding_dimension(info))

    # Configuration -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> TrainConfig:
        """The run's settings; a run.json without ``loss`` (made before objectives existed)
        trained with the contrastive loss, whatever today's default."""
        known = set(TrainConfig.__dataclass_fields__)
        stored = {"loss": "contrastive", **self.info.get("config", {})}
        return TrainConfig(**{k: v for k, v in stored.items() if k in known})

    @property
    def train_dir(self) -> Path:
        """The training data folder (run.json stores it relative to the run folder)."""
        return (self.path / self.info["config"]["train_dir"]).resolve()

    @property
    def pixels(self) -> PixelMapping:
        """How this run turns a file's pixels into input: unit, temperature window, palette
        read-back (``siamese.data.thermal_pixels``); runs made before these existed read counts."""
        return PixelMapping.from_config(self.info.get("config", {}))

    @property
    def calibration_files(self) -> list[str]:
        """Training-folder files (relative to it) held out to calibrate the threshold."""
        return [f for f in self.info.get("calibration_files") or [] if isinstance(f, str)]

    @property
    def input_shape(self) -> Shape:
        return tuple(self.info["config"]["input_shape"])  # type: ignore[return-value]

    @property
    def distance(self) -> str:
        """How distances are measured: ``euclidean``, or ``unit-sphere euclidean`` for networks
        that end on the unit sphere (``supcon``, ``cosface``, ``arcface``), where d = sqrt(2 - 2 cos) orders pairs as the
        cosine distance does and lies between 0 and 2."""
        layers = self.info.get("architecture") or []
        return "unit-sphere euclidean" if layers and layers[-1].get("normalized") else "euclidean"

    @property
    def class_names(self) -> list[str]:
        return list(self.info["config"]["class_names"])

    @property
    def status(self) -> str:
        """running, complete, failed or cancelled; a run whose process died is failed."""
        status = self.info.get("status") or "failed"
        if status == "running" and not pid_alive(self.info.get("pid"), self.info.get("host")):
            return "failed"
        return status

    @property
    def training_host(self) -> str | None:
        """The other machine a "running" run is recorded as training on (its process cannot be checked from here)."""
        host = self.info.get("host")
        if self.info.get("status") == "running" and isinstance(host, str) and host and host != socket.gethostname():
            return host
        return None

    @property
    def error(self) -> str | None:
        if self.info.get("status") == "running" and self.status == "failed":
            return "the training process stopped before it finished (killed or crashed)"
        return self.info.get("error")

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.info.get("metrics") or {})

    def history(self) -> pd.DataFrame:
        """Per-epoch history (empty before the first epoch ends)."""
        path = self.path / HISTORY_FILE
        if not path.exists():
            return pd.DataFrame(columns=["epoch", "loss", "pair_accuracy"])
        return pd.read_csv(path)

    def summary(self) -> dict[str, Any]:
        """Headline facts for listings: name, status, classes, epochs, metrics."""
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "classes": len(self.info.get("config", {}).get("class_names", [])),
            "epochs_done": self.info.get("epochs_done", 0),
            "epochs": self.info.get("config", {}).get("epochs"),
            "created": self.info.get("created"),
            **{k: v for k, v in self.metrics.items() if isinstance(v, int | float)},
        }

    # Model (siamese.model.embedding) -------------------------------------------------------
    @property
    def has_model(self) -> bool:
        return (self.path / MODEL_FILE).exists()

    def siamese_model(self):
        """The trained siamese model, loaded in Keras safe mode (no Lambda, no pickled code)."""
        return load_siamese_model(self.path / MODEL_FILE, self.input_shape)

    def _require_model(self) -> None:
        """A run that stopped before its first epoch ended has no model: say so, not "wait"."""
        if not self.has_model and self.status in ("failed", "cancelled"):
            reason = f" ({self.error})" if self.error else ""
            raise SiameseError(f"run {self.path} {self.status} before its first epoch ended{reason}, so it has no model; train it again")

    def embedding_network(self):
        """The trained embedding network (Keras model), loaded once; also prepares ``embed``."""
        self._require_model()
        return self._embedding.network()

    def embed(self, images: np.ndarray, batch_size: int = EMBED_BATCH) -> np.ndarray:
        """Embeddings (N, D) float32 of images (N, H, W, C) (``siamese.model.embedding.Embedding.embed``)."""
        self._require_model()
        return self._embedding.embed(images, batch_size)

    def embed_files(
        self, paths: Sequence[Path], batch_size: int = EMBED_BATCH, reduce: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[Skipped]]:
        """Embed image files batch by batch: (embeddings or reduced rows, kept positions, skipped)
        (``siamese.model.embedding.Embedding.embed_files``)."""
        self._require_model()
        return self._embedding.embed_files(paths, batch_size, reduce)

    # Representatives and threshold (siamese.runs.recorded_scoring) -------------------------------
    @property
    def has_representatives(self) -> bool:
        return self._recorded.exists

    def representatives(self) -> dict[str, Any]:
        """The recorded representative set (see ``siamese.maps.representatives.represent``)."""
        return self._recorded.record()

    def representative_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (R, D), class index (R,)) of the recorded representatives."""
        return self._recorded.embeddings()

    def training_map(self) -> pd.DataFrame:
        """Every training image's 2-D map position (file, class, x, y, ...)."""
        return self._recorded.training_map()

    def training_embeddings(self) -> np.ndarray:
        return self._recorded.training_embeddings()

    def suggested_threshold(self) -> float:
        """The run's threshold (calibrated when the run has held-out images; see ``threshold_record``)."""
        return self._recorded.threshold_record()["threshold"]

    def threshold_record(self) -> dict[str, Any]:
        """The run's threshold with where it came from.

        Keys: ``threshold``; ``source`` (``calibration``: set on known images the network
        never trained on; ``training``: the equal-error point of training images);
        ``criterion`` (a sentence); ``target_frr`` (the false-reject rate it was set for,
        or None); ``training_threshold`` (the training images' equal-error point, a
        named alternative); ``rule_thresholds`` (each rule's calibrated threshold).
        """
        return self._recorded.threshold_record()

    def decision(self, threshold: float | None = None) -> ThresholdChoice:
        """The threshold evaluate and probe decide with: ``threshold`` when given, else the
        run's own (with its per-class thresholds when represent recorded them for use)."""
        return self._recorded.decision(threshold)

    @property
    def rule(self) -> str:
        """The scoring rule recorded by represent (``medoid`` for runs made before rules existed)."""
        return self._recorded.rule

    def class_thresholds(self) -> np.ndarray | None:
        """Per-class thresholds (in class order) when represent was asked to use them, else None."""
        return self._recorded.class_thresholds()

    def recorded_class_thresholds(self) -> dict[str, float]:
        """The per-class thresholds calibration computed, whether or not they are in use."""
        return self._recorded.recorded_class_thresholds()

    def scorer(self, rule: str | None = None) -> Scorer:
        """The fitted scoring rule (``siamese.scoring.rules``), by default the run's; built once from
        the stored training embeddings, their classes (map.csv) and the representatives."""
        return self._recorded.scorer(rule)

    def forget_scorers(self) -> None:
        """Drop fitted rules (represent calls this after recording new representatives)."""
        self._recorded.forget_scorers()

    # The gallery (siamese.gallery) -------------------------------------------------------------
    @property
    def embedding_dimension(self) -> int | None:
        """The embedding's length, when run.json records it."""
        return self._recorded.dimension

    def enrolled(self) -> Enrolled:
        """The people enrolled after training (read again whenever the gallery changes)."""
        return self._recorded.enrolled()

    @property
    def identities(self) -> list[str]:
        """Everyone a probe can be identified as: ``class_names``, then the enrolled people."""
        return self._recorded.identities()

    def gallery(self) -> list[Person]:
        """The gallery: each trained class and enrolled person with image count and images to show."""
        return gallery(self)


def load_run(run_dir: str | os.PathLike[str]) -> Run:
    """Open a run directory written by ``train``.

    Raises:
        SiameseError: the folder or its run.json is missing, damaged (see
            ``siamese.runs.schema.validate_run_info``), or from a newer version of this tool.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise SiameseError(f"run folder {path} does not exist", Remedy(TRAIN, value=str(path)))
    info = read_json(path / RUN_FILE, Remedy(TRAIN, before="it is not a training run; "))
    validate_run_info(info, path / RUN_FILE)
    return Run(path, info)


def list_runs(root: str | os.PathLike[str]) -> list[Run]:
    """Every readable run under ``root``, newest first; damaged folders are left out."""
    root = Path(root)
    runs = []
    if root.is_dir():
        for child in root.iterdir():
            if (child / RUN_FILE).exists():
                try:
                    runs.append(load_run(child))
                except SiameseError:
                    continue
    return sorted(runs, key=lambda r: (r.info.get("created") or "", r.name), reverse=True)


def write_run_info(run_dir: Path, info: dict[str, Any]) -> None:
    """Write run.json atomically (readers see the old or the new one, never a part)."""
    write_json(run_dir / RUN_FILE, info)


def new_run_info(config: TrainConfig, architecture: list[dict]) -> dict[str, Any]:
    """run.json for a run this process starts: status running, its pid and host, no metrics yet."""
    return {
        "format_version": FORMAT_VERSION,
        "status": "running",
        "created": now(),
        "finished": None,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "epochs_done": 0,
        "config": asdict(config),
        "architecture": architecture,
        "metrics": {},
        "error": None,
    }
