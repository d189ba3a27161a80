"""Checks on a run's ``model.keras`` before Keras opens it: a regular file of bounded size whose
architecture, read from its ``config.json``, holds a bounded number of weights.

Keras allocates every weight of a model while it builds it from the file's config, before
the weights are read; a 2 MB file declaring a 5-million-unit Dense layer would ask for
gigabytes. So the parameter count is estimated here from the config alone (no TensorFlow),
and a layer type whose weights cannot be estimated, which models saved by this tool never
contain, is refused. Keras then re-checks every built layer against the input it is called
on, so a layer cannot grow past the input shape recorded in its config.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

from siamese.data.paths import check_regular_file
from siamese.errors import SiameseError
from siamese.limits import MAX_MODEL_BYTES, MAX_MODEL_CONFIG_BYTES, MAX_MODEL_PARAMS

RETRAIN = "only models saved by this tool are accepted; train the run again"
# Layers that hold no weights; any other layer must be one whose weights are estimated below.
WEIGHTLESS = frozenset({
    "InputLayer", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "Flatten", "Reshape", "Dropout", "Activation", "ReLU", "Rescaling", "UnitNormalization",
    "EuclideanDistance",
})
MODELS = frozenset({"Functional", "Sequential", "Model"})
BYTES_PER_PARAM_SAVED = 13  # float32 weights and Adam's two moments, plus the HDF5 file's bookkeeping


def limits_for(network_params: int | None = None) -> tuple[int, int]:
    """(largest parameter count, largest file size in bytes) accepted for a model.

    The fixed limits, raised to what this tool's own network for the run's input holds
    (``network_params``, from ``siamese.model.network.planned_params``).
    """
    params = MAX_MODEL_PARAMS if network_params is None else max(MAX_MODEL_PARAMS, int(network_params))
    return params, max(MAX_MODEL_BYTES, BYTES_PER_PARAM_SAVED * params)


def check_model_file(path: str | os.PathLike[str], network_params: int | None = None) -> None:
    """Refuse a model file that is not a regular file, is too large, or declares too many weights.

    Never opens anything but a regular file (a FIFO or device is refused from its ``stat``).

    Raises:
        SiameseError: one sentence naming the file and what to do.
    """
    path = Path(path)
    max_params, max_bytes = limits_for(network_params)
    check_regular_file(path, max_bytes, RETRAIN, name="model file ", missing="train the run again", noun="a model file")
    params = declared_params(_read_config(path, max_bytes), path)
    if params > max_params:
        raise SiameseError(f"model file {path} declares {params:,} weights, more than the limit of {max_params:,} "
                           f"(this tool's network for the run's input holds far fewer); {RETRAIN}")


def _read_config(path: Path, max_bytes: int) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > max_bytes:
                raise SiameseError(f"model file {path} unpacks to more than the limit of {max_bytes:,} bytes; {RETRAIN}")
            config = next((m for m in members if m.filename == "config.json"), None)
            if config is None:
                raise SiameseError(f"model file {path} has no config.json inside; {RETRAIN}")
            if config.file_size > MAX_MODEL_CONFIG_BYTES:
                raise SiameseError(f"model file {path} has a config.json of {config.file_size:,} bytes, more than the "
                                   f"limit of {MAX_MODEL_CONFIG_BYTES:,}; {RETRAIN}")
            text = archive.read(config)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError):
        raise SiameseError(f"model file {path} is not a Keras model archive (.keras zip); {RETRAIN}") from None
    except OSError as exc:
        raise SiameseError(f"model file {path} cannot be read ({exc.strerror or exc}); {RETRAIN}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SiameseError(f"model file {path} holds a config.json that is not valid JSON; {RETRAIN}") from None


def declared_params(config: Any, path: Path) -> int:
    """The number of weights the model ``config`` (a .keras file's config.json) declares.

    Raises:
        SiameseError: the config is not a model, or holds a layer whose weights cannot be estimated.
    """
    if not isinstance(config, dict) or config.get("class_name") not in MODELS:
        raise SiameseError(f"model file {path} does not hold a Keras model made of layers; {RETRAIN}")
    return _model_params(config, path, depth=0)


def _model_params(entry: dict, path: Path, depth: int) -> int:
    layers = entry.get("config", {}).get("layers") if isinstance(entry.get("config"), dict) else None
    if not isinstance(layers, list) or depth > 8:
        raise SiameseError(f"model file {path} holds a model whose layers cannot be read; {RETRAIN}")
    total = 0
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            raise SiameseError(f"model file {path} holds a layer that is not a Keras layer; {RETRAIN}")
        total += _model_params(layer, path, depth + 1) if layer["class_name"] in MODELS else _layer_params(layer, path)
    return total


def _dims(value: Any) -> list[int] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return None
    return value


def _layer_params(layer: dict, path: Path) -> int:
    kind, config = layer["class_name"], layer.get("config")
    if kind in WEIGHTLESS:
        return 0
    build = layer.get("build_config")
    shape = (build or {}).get("input_shape") if isinstance(build, dict) else None
    if not isinstance(config, dict) or not isinstance(shape, list) or not shape or not isinstance(shape[-1], int) or shape[-1] < 0:
        raise SiameseError(f"model file {path} cannot be loaded safely (its {kind} layer does not record the input it takes); {RETRAIN}")
    cin = shape[-1]
    units = config.get("units", config.get("filters"))
    kernel = _dims(config.get("kernel_size")) or [1]
    multiplier = config.get("depth_multiplier", 1)
    numbers = [v for v in (units, multiplier) if v is not None]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers):
        raise SiameseError(f"model file {path} cannot be loaded safely (its {kind} layer has a size that is not a whole number); {RETRAIN}")
    area = math.prod(kernel)
    if kind == "Dense" and units is not None:
        return cin * units + units
    if kind in ("Conv1D", "Conv2D", "Conv3D") and units is not None:
        return area * cin * units + units
    if kind in ("DepthwiseConv1D", "DepthwiseConv2D"):
        return area * cin * multiplier + cin * multiplier
    if kind in ("SeparableConv1D", "SeparableConv2D") and units is not None:
        return area * cin * multiplier + cin * multiplier * units + units
    if kind in ("BatchNormalization", "LayerNormalization"):
        return 4 * cin
    raise SiameseError(f"model file {path} cannot be loaded safely (it holds a {kind} layer, which models saved by this tool "
                       f"never hold); {RETRAIN}")
