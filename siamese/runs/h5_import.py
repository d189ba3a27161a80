"""Importing a model trained by the original research scripts (a Keras 2 .h5 file)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamese.data.folders import Listing, Shape, fingerprint, scan_folder
from siamese.data.paths import check_regular_file
from siamese.errors import SiameseError
from siamese.limits import MAX_MODEL_BYTES
from siamese.runs.atomic_files import atomic_write
from siamese.runs.layout import MODEL_FILE, now
from siamese.runs.locks import claim_run_dir
from siamese.runs.store import Run, load_run, new_run_info, write_run_info
from siamese.training.config import TrainConfig

EXPORT = "export the original model with model.save('model.h5')"


def _member(group, name: str, path: Path):
    """``group[name]``, following only the file's own hard links: an external link (to another
    file) or a soft link is refused, at every step of a path such as ``dense/kernel:0``."""
    import h5py

    for part in (p for p in name.split("/") if p):
        link = group.get(part, getlink=True)
        if link is None:
            raise KeyError(f"no member {name!r}")
        if not isinstance(link, h5py.HardLink):
            kind = "an external link to another file" if isinstance(link, h5py.ExternalLink) else "a link"
            raise SiameseError(f"{path} holds {kind} at {name!r}; only weights stored in the file itself are read, {EXPORT}")
        group = group[part]
    return group


def _read_array(dataset, name: str, path: Path, budget: int) -> np.ndarray:
    """A weight array, after checking what its header declares against the bytes left in ``budget``."""
    import h5py

    if not isinstance(dataset, h5py.Dataset) or dataset.dtype.kind not in "fiu" or dataset.is_virtual or dataset.external:
        raise SiameseError(f"{path} holds {name!r}, which is not an array of numbers stored in the file; {EXPORT}")
    size = int(np.prod(dataset.shape, dtype=object)) * dataset.dtype.itemsize
    if size > budget:
        raise SiameseError(f"{path} declares weights of {size:,} bytes at {name!r}, more than the limit of {MAX_MODEL_BYTES:,} bytes "
                           f"for a model's weights; {EXPORT}")
    return np.asarray(dataset)


def read_h5_weights(path: str | os.PathLike[str]) -> list[np.ndarray]:
    """Every weight array of a Keras .h5 file, in the order its layers list them.

    Only arrays are read: the model configuration stored in the file (which for the
    original scripts holds a Lambda layer, that is Python code) is never deserialized.
    The file must be a regular file; links to other files are refused, and each array's
    declared size is checked before it is read (at most ``MAX_MODEL_BYTES`` in all).
    """
    # deferred: h5py is needed only to import an original .h5 model
    import h5py

    path = Path(path)
    check_regular_file(path, MAX_MODEL_BYTES, EXPORT, name="model file ", missing="give the path of the exported .h5 file", noun="an .h5 file")
    try:
        with h5py.File(path, "r") as f:
            group = _member(f, "model_weights", path) if "model_weights" in f else f
            arrays: list[np.ndarray] = []
            budget = MAX_MODEL_BYTES
            for layer in group.attrs.get("layer_names", []):
                layer = layer.decode() if isinstance(layer, bytes) else str(layer)
                sub = _member(group, layer, path)
                for n in sub.attrs.get("weight_names", []):
                    n = n.decode() if isinstance(n, bytes) else str(n)
                    arrays.append(_read_array(_member(sub, n, path), n, path, budget))
                    budget -= arrays[-1].nbytes
    except FileNotFoundError:
        raise SiameseError(f"model file {path} does not exist") from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise SiameseError(f"{path} is not a Keras .h5 model file ({exc}); {EXPORT}") from None
    return arrays


def match_weights(arrays: list[np.ndarray], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The contiguous run of ``arrays`` whose shapes are exactly ``shapes``, in order."""
    for start in range(len(arrays) - len(shapes) + 1):
        window = arrays[start : start + len(shapes)]
        if all(a.shape == s for a, s in zip(window, shapes)):
            return window
    found = ", ".join(str(a.shape) for a in arrays[:14]) or "none"
    raise SiameseError(f"the .h5 file's weights ({found}) do not match the reference network for this input shape; check --input-shape")


def import_h5(h5_path: str | os.PathLike[str], run_dir: str | os.PathLike[str], train_dir: str | os.PathLike[str], input_shape: Shape = (60, 80, 3)) -> Run:
    """Make a run from an original-scripts model: its weights loaded into the reference network.

    Args:
        h5_path: the original's saved model (e.g. ``model.40-0.01.h5``).
        run_dir: a new run folder.
        train_dir: the training data it was trained on (its classes and, for
            ``represent``, its images).
        input_shape: the original's input shape, (60, 80, 3) unless it was changed.
    """
    # deferred: siamese.model.network imports TensorFlow, which takes seconds to load
    from siamese.model.network import build_embedding_network

    listing = scan_folder(train_dir)
    embedding = build_embedding_network(input_shape)
    weights = match_weights(read_h5_weights(h5_path), [tuple(w.shape) for w in embedding.weights])
    embedding.set_weights(weights)
    run_dir = Path(run_dir)
    # Claimed with its lock, as train claims its folder: one writer, never inside the data.
    with claim_run_dir(run_dir, [listing.root]):
        _write_run(run_dir, listing, input_shape, h5_path, embedding)
    return load_run(run_dir)


def _write_run(run_dir: Path, listing: Listing, input_shape: Shape, h5_path: str | os.PathLike[str], embedding) -> None:
    """The claimed ``run_dir`` gets the siamese model around ``embedding`` and its run.json."""
    # deferred: siamese.model.network imports TensorFlow, which takes seconds to load
    from siamese.model.network import build_siamese, compile_siamese, plan_architecture

    config = TrainConfig(
        train_dir=os.path.relpath(listing.root.resolve(), run_dir.resolve()),
        input_shape=list(input_shape),
        class_names=listing.class_names,
        data_fingerprint=fingerprint(listing.paths, listing.root),
        n_train=len(listing.paths),
        epochs=0,
    )
    info = new_run_info(config, plan_architecture(input_shape))
    model = build_siamese(embedding)
    compile_siamese(model, config.margin, config.learning_rate)
    atomic_write(run_dir / MODEL_FILE, lambda tmp: model.save(tmp), suffix=".keras")
    info.update(status="complete", finished=now(), pid=None, imported_from=str(Path(h5_path).resolve()))
    write_run_info(run_dir, info)
