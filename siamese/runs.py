"""The run directory: one training run's model, configuration, history and representatives."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siamese.data import Shape, Skipped, iter_batches
from siamese.errors import SiameseError
from siamese.storage import write_json

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"
CANCEL_FILE = "cancel.request"
REPRESENTATIVES_FILE = "representatives.json"
REPRESENTATIVE_EMBEDDINGS_FILE = "representatives.npz"
MAP_FILE = "map.csv"
TRAIN_EMBEDDINGS_FILE = "embeddings.npy"
STATUSES = ("running", "complete", "failed", "cancelled")
# Images per forward pass: throughput on CPU rises up to about 1024 and flattens after
# (bench/README.md), and a batch of 60x80x3 float32 images is then 59 MB.
EMBED_BATCH = 1024


@dataclass
class TrainConfig:
    """Every setting of a training run; stored in run.json so a run can be repeated."""

    train_dir: str
    epochs: int = 40
    batch_size: int = 32
    margin: float = 0.6
    learning_rate: float = 0.004
    input_shape: list[int] | None = None
    seed: int = 0
    validation_split: float = 0.0
    val_dir: str | None = None
    precision: str = "auto"
    calibration_split: float = 0.15
    augment: bool = False
    class_names: list[str] = field(default_factory=list)
    data_fingerprint: str = ""
    n_train: int = 0
    n_validation: int = 0
    n_calibration: int = 0

    def validate(self) -> None:
        """Raise SiameseError naming the first option with a bad value."""
        checks = [
            (self.epochs >= 1, "epochs", self.epochs, "a whole number of at least 1"),
            (self.batch_size >= 2, "batch size", self.batch_size, "a whole number of at least 2"),
            (self.margin > 0, "margin", self.margin, "a positive number such as 0.6"),
            (0 < self.learning_rate < 1, "learning rate", self.learning_rate, "a number between 0 and 1 such as 0.0008"),
            (0 <= self.validation_split < 1, "validation split", self.validation_split, "a fraction between 0 and 1 such as 0.2"),
            (self.precision in ("auto", "float32", "mixed_bfloat16"), "precision", self.precision, "auto, float32 or mixed_bfloat16"),
            (0 <= self.calibration_split < 0.5, "calibration split", self.calibration_split, "a fraction from 0 (off) to below 0.5 such as 0.15"),
            (self.validation_split + self.calibration_split < 0.9, "validation plus calibration split", self.validation_split + self.calibration_split,
             "fractions that leave most images for training (together below 0.9)"),
        ]
        for ok, name, value, expected in checks:
            if not ok:
                raise SiameseError(f"{name} {value!r} is not valid; use {expected}")


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def fingerprint(paths: Sequence[Path], root: Path) -> str:
    """SHA-256 over every file's path (relative to ``root``) and bytes, in order."""
    digest = hashlib.sha256()
    for p in paths:
        digest.update(str(Path(p).relative_to(root)).encode())
        digest.update(Path(p).read_bytes())
    return digest.hexdigest()


def pid_alive(pid: int | None, host: str | None) -> bool:
    """Whether the process that wrote a run is still running on this machine."""
    if not pid:
        return False
    if host and host != socket.gethostname():
        return True  # another machine's process cannot be checked from here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A killed child that its parent has not reaped yet is a zombie: dead, though
        # signal 0 still reaches it.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiameseError(f"{path} is missing; {what}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SiameseError(f"{path} is not valid JSON ({exc}); the run is damaged, train it again") from None
    if not isinstance(data, dict):
        raise SiameseError(f"{path} does not hold a JSON object; the run is damaged, train it again")
    return data


class Run:
    """A run directory, read lazily: the model is loaded on first use and then kept.

    Attributes:
        path: the run folder.
        info: the contents of run.json.
    """

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = path
        self.info = info
        self._embedding = None
        self._embed_fn = None
        self._lock = threading.Lock()
        self._scorers: dict[tuple[str, int], Any] = {}

    # Configuration -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> TrainConfig:
        known = {f for f in TrainConfig.__dataclass_fields__}
        return TrainConfig(**{k: v for k, v in self.info.get("config", {}).items() if k in known})

    @property
    def train_dir(self) -> Path:
        """The training data folder (run.json stores it relative to the run folder)."""
        return (self.path / self.info["config"]["train_dir"]).resolve()

    @property
    def calibration_files(self) -> list[str]:
        """Training-folder files (relative to it) held out to calibrate the threshold."""
        return [f for f in self.info.get("calibration_files") or [] if isinstance(f, str)]

    @property
    def input_shape(self) -> Shape:
        return tuple(self.info["config"]["input_shape"])  # type: ignore[return-value]

    @property
    def class_names(self) -> list[str]:
        return list(self.info["config"]["class_names"])

    @property
    def status(self) -> str:
        """running, complete, failed or cancelled; a run whose process died is failed."""
        status = self.info.get("status", "failed")
        if status == "running" and not pid_alive(self.info.get("pid"), self.info.get("host")):
            return "failed"
        return status

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

    def refresh(self) -> Run:
        """Read run.json again (another process may be training this run)."""
        self.info = read_json(self.path / RUN_FILE, "it is not a training run")
        return self

    # Model -----------------------------------------------------------------------
    @property
    def has_model(self) -> bool:
        return (self.path / MODEL_FILE).exists()

    def siamese_model(self):
        """The trained siamese model, loaded in Keras safe mode (no Lambda, no pickled code)."""
        from siamese.model import load_siamese

        return load_siamese(self.path / MODEL_FILE)

    def embedding_network(self):
        """The trained embedding network (Keras model), loaded once; also prepares ``embed``."""
        with self._lock:
            if self._embedding is None:
                if not self.has_model:
                    raise SiameseError(f"run {self.path} has no {MODEL_FILE} yet; wait for the first epoch to finish or train the run again")
                from siamese.inference import Embedder
                from siamese.model import as_float32

                embedding = as_float32(self.siamese_model().get_layer("embedding"))
                # Not XLA: its CPU code for the 16x16 depthwise layer runs 5-10x slower
                # than TensorFlow's oneDNN kernels; see siamese/inference.py and bench/README.md.
                self._embed_fn = Embedder(embedding)
                self._embedding = embedding
            return self._embedding

    def embed(self, images: np.ndarray, batch_size: int = EMBED_BATCH) -> np.ndarray:
        """Embeddings (N, D) float32 of images (N, H, W, C), computed batch by batch.

        Each batch is converted to float32 on its own, so a large uint8 array is never
        copied whole.
        """
        self.embedding_network()
        images = np.asarray(images)
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise SiameseError(f"images of shape {images.shape[1:]} do not fit run {self.name}, which takes {self.input_shape}")
        out = np.empty((len(images), self._embedding.output.shape[-1]), np.float32)
        for i in range(0, len(images), batch_size):
            out[i : i + batch_size] = self._embed_fn(images[i : i + batch_size])
        return out

    def embed_files(
        self, paths: Sequence[Path], batch_size: int = EMBED_BATCH, reduce: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[Skipped]]:
        """Embed image files, decoding one batch at a time so memory stays flat.

        The next batch is decoded in a background thread while the current one runs
        through the network (Pillow releases the GIL while it decodes), so decoding and
        the forward pass overlap; at most two decoded batches exist at any time.

        Args:
            paths: the image files.
            batch_size: images per decoded batch and forward pass.
            reduce: applied to each batch's embeddings (B, D), giving (B, K) rows to keep
                instead, such as distances to representatives: memory then grows by K
                values per image, not D.

        Returns:
            (embeddings, kept, skipped): embeddings (or reduced rows) of the readable
            files, their positions in ``paths``, and the files that could not be read.
        """
        from concurrent.futures import ThreadPoolExecutor

        embeddings: np.ndarray | None = None
        kept, skipped, done = [], [], 0
        batches = iter_batches(paths, self.input_shape, batch_size)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="siamese-decode") as decoder:
            pending = decoder.submit(next, batches, None)
            while (batch := pending.result()) is not None:
                pending = decoder.submit(next, batches, None)
                images, positions, bad = batch
                if len(images):
                    rows = self.embed(images, batch_size)
                    rows = reduce(rows) if reduce is not None else rows
                    if embeddings is None:
                        embeddings = np.empty((len(paths), *rows.shape[1:]), rows.dtype)
                    embeddings[done : done + len(rows)] = rows
                    done += len(rows)
                kept.append(positions)
                skipped.extend(bad)
        if embeddings is None:
            dim = self.embedding_network().output.shape[-1]
            embeddings = reduce(np.zeros((0, dim), np.float32)) if reduce is not None else np.zeros((0, dim), np.float32)
        elif done < len(paths):
            embeddings = embeddings[:done].copy()
        return embeddings, np.concatenate(kept) if kept else np.zeros(0, np.int64), skipped

    # Representatives ---------------------------------------------------------------
    @property
    def has_representatives(self) -> bool:
        return (self.path / REPRESENTATIVES_FILE).exists() and (self.path / REPRESENTATIVE_EMBEDDINGS_FILE).exists()

    def representatives(self) -> dict[str, Any]:
        """The recorded representative set (see ``siamese.representatives.record``)."""
        if not self.has_representatives:
            raise SiameseError(f"run {self.path} has no representatives yet; run `python -m siamese represent {self.path}` first")
        return read_json(self.path / REPRESENTATIVES_FILE, "run `python -m siamese represent` first")

    def representative_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (R, D), class index (R,)) of the recorded representatives."""
        self.representatives()
        with np.load(self.path / REPRESENTATIVE_EMBEDDINGS_FILE) as npz:
            return npz["embeddings"].astype(np.float32), npz["labels"].astype(np.int64)

    def training_map(self) -> pd.DataFrame:
        """Every training image's 2-D map position (file, class, x, y, ...)."""
        self.representatives()
        return pd.read_csv(self.path / MAP_FILE)

    def training_embeddings(self) -> np.ndarray:
        self.representatives()
        return np.load(self.path / TRAIN_EMBEDDINGS_FILE)

    def suggested_threshold(self) -> float:
        """The run's threshold (calibrated when the run has held-out images; see ``threshold_record``)."""
        return float(self.representatives()["suggested_threshold"])

    def threshold_record(self) -> dict[str, Any]:
        """The run's threshold with where it came from.

        Keys: ``threshold``; ``source`` (``calibration``: set on known images the network
        never trained on; ``training``: the equal-error point of training images);
        ``criterion`` (a sentence); ``target_frr`` (the false-reject rate it was set for,
        or None); ``training_threshold`` (the training images' equal-error point, a
        named alternative); ``rule_thresholds`` (each rule's calibrated threshold).
        """
        record = self.representatives()
        calibration = record.get("calibration") or {}
        return {
            "threshold": float(record["suggested_threshold"]),
            "source": record.get("threshold_source", "training"),
            "criterion": record.get("threshold_criterion", "equal error rate on the training images"),
            "target_frr": record.get("target_frr"),
            "training_threshold": float(record.get("training_threshold", record["suggested_threshold"])),
            "rule_thresholds": dict(calibration.get("rule_thresholds") or {}),
        }

    @property
    def rule(self) -> str:
        """The scoring rule recorded by represent (``medoid`` for runs made before rules existed)."""
        return str(self.representatives().get("rule", "medoid"))

    def class_thresholds(self) -> np.ndarray | None:
        """Per-class thresholds (in class order) when represent was asked to use them, else None."""
        record = self.representatives()
        if not record.get("per_class_threshold"):
            return None
        recorded = (record.get("calibration") or {}).get("class_thresholds") or {}
        return np.array([float(recorded.get(name, record["suggested_threshold"])) for name in self.class_names])

    def recorded_class_thresholds(self) -> dict[str, float]:
        """The per-class thresholds calibration computed, whether or not they are in use."""
        return dict(((self.representatives().get("calibration") or {}).get("class_thresholds")) or {})

    def scorer(self, rule: str | None = None):
        """The fitted scoring rule (``siamese.scoring``), by default the run's; built once from
        the stored training embeddings, their classes (map.csv) and the representatives."""
        from siamese.scoring import fit_scorer

        record = self.representatives()
        rule = rule or self.rule
        k = int(record.get("k", 5))
        with self._lock:
            if (rule, k) not in self._scorers:
                table = self.training_map()
                labels = pd.Categorical(table["class"], categories=self.class_names).codes.astype(np.int64)
                rows = np.array([int(item["row"]) for item in record["items"]], np.int64)
                self._scorers[(rule, k)] = fit_scorer(rule, self.training_embeddings(), labels, len(self.class_names), rows, k)
            return self._scorers[(rule, k)]

    def forget_scorers(self) -> None:
        """Drop fitted rules (represent calls this after recording new representatives)."""
        with self._lock:
            self._scorers.clear()

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


def load_run(run_dir: str | os.PathLike[str]) -> Run:
    """Open a run directory written by ``train``.

    Raises:
        SiameseError: the folder or its run.json is missing, damaged, or from a newer
            version of this tool.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise SiameseError(f"run folder {path} does not exist; train one with `python -m siamese train DATA --out {path}`")
    info = read_json(path / RUN_FILE, "it is not a training run; train one with `python -m siamese train`")
    version = info.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SiameseError(f"{path / RUN_FILE} has format version {version!r}, which this version of siamese cannot read (it reads up to {FORMAT_VERSION}); upgrade siamese")
    config = info.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("input_shape"), list) or not isinstance(config.get("class_names"), list):
        raise SiameseError(f"{path / RUN_FILE} lacks the input shape or class names; the run is damaged, train it again")
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
    write_json(run_dir / RUN_FILE, info)


def new_run_info(config: TrainConfig, architecture: list[dict]) -> dict[str, Any]:
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
