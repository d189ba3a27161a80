"""A run's trained network, loaded once, and the pipeline that embeds images and files with it.

TensorFlow is imported only when the model is first needed, so listing runs and reading
their records stays fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from siamese.data.folders import Shape, Skipped, iter_batches
from siamese.data.thermal_pixels import PixelMapping
from siamese.errors import SiameseError
from siamese.limits import EMBED_BATCH, batch_size_for


def load_siamese_model(path: Path, input_shape: Shape | None = None):
    """The trained siamese model, loaded in Keras safe mode (no Lambda, no pickled code), after
    checking the file's kind, size and declared weights (for the run's ``input_shape`` when given)."""
    # deferred: siamese.model.network imports TensorFlow, which takes seconds to load
    from siamese.model.network import load_siamese

    return load_siamese(path, input_shape)


class Embedding:
    """The embedding network of a saved siamese model, loaded on first use and then kept.

    Safe to share between threads: the model loads once, and ``embed`` may run in
    several threads at once.

    Args:
        model_path: the run's model.keras.
        input_shape: (H, W, C) of the images the network takes.
        pixels: how files' pixels become input (the run's recorded mapping).
    """

    def __init__(self, model_path: Path, input_shape: Shape, pixels: PixelMapping | None = None):
        self.model_path = Path(model_path)
        self.input_shape = tuple(input_shape)
        self.pixels = pixels or PixelMapping()
        self._network: Any = None
        self._embed: Callable[[np.ndarray], np.ndarray] | None = None
        self._lock = threading.Lock()

    def network(self):
        """The embedding network (Keras model) in float32; also prepares the fast ``embed``."""
        with self._lock:
            if self._network is None:
                if not self.model_path.exists():
                    raise SiameseError(
                        f"run {self.model_path.parent} has no {self.model_path.name} yet; wait for the first epoch to finish or train the run again"
                    )
                # deferred: siamese.model.fast_inference and siamese.model.network import TensorFlow
                from siamese.model.fast_inference import Embedder
                from siamese.model.network import as_float32

                network = as_float32(load_siamese_model(self.model_path, self.input_shape).get_layer("embedding"))
                takes = tuple(int(v) for v in network.input_shape[1:])
                if takes != self.input_shape:
                    raise SiameseError(f"{self.model_path.parent / 'run.json'} field config.input_shape is {list(self.input_shape)}, but "
                                       f"{self.model_path.name} takes {list(takes)}; the run is damaged, train it again")
                # Not XLA: its CPU code for the 16x16 depthwise layer runs 5-10x slower
                # than TensorFlow's oneDNN kernels; see siamese/model/fast_inference.py and bench/README.md.
                self._embed = Embedder(network)
                self._network = network
            return self._network

    @property
    def dimension(self) -> int:
        """Values per embedding (512 for the reference network)."""
        return int(self.network().output.shape[-1])

    def embed(self, images: np.ndarray, batch_size: int = EMBED_BATCH) -> np.ndarray:
        """Embeddings (N, D) float32 of images (N, H, W, C), computed batch by batch.

        Each batch is converted to float32 on its own, so a large uint8 array is never
        copied whole.
        """
        self.network()
        images = np.asarray(images)
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise SiameseError(f"images of shape {images.shape[1:]} do not fit run {self.model_path.parent.name}, which takes {self.input_shape}")
        out = np.empty((len(images), self.dimension), np.float32)
        batch_size = batch_size_for(self.input_shape, batch_size)
        for i in range(0, len(images), batch_size):
            out[i : i + batch_size] = self._embed(images[i : i + batch_size])
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
        embeddings: np.ndarray | None = None
        kept, skipped, done = [], [], 0
        batch_size = batch_size_for(self.input_shape, batch_size)
        batches = iter_batches(paths, self.input_shape, batch_size, self.pixels)  # type: ignore[arg-type]
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
            empty = np.zeros((0, self.dimension), np.float32)
            embeddings = reduce(empty) if reduce is not None else empty
        elif done < len(paths):
            embeddings = embeddings[:done].copy()
        return embeddings, np.concatenate(kept) if kept else np.zeros(0, np.int64), skipped
