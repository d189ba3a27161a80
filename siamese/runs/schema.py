"""The schema of a run's files: run.json, representatives.json and representatives.npz checked on load.

A run folder may be damaged (a crash, a hand edit) or hostile (a run downloaded from
someone else). Everything read from these files is checked here for type, length,
shape, range and agreement with the rest of the run before any of it is used, so a bad
value gives one sentence naming the file and the field instead of a traceback, a wrong
answer, or an allocation the machine cannot hold.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from siamese.data.paths import check_regular_file, inside
from siamese.data.thermal_pixels import READBACK_PALETTES, UNITS, PixelMapping
from siamese.errors import Remedy, SiameseError
from siamese.limits import MAX_ARRAY_FILE_BYTES, MAX_JSON_BYTES, MAX_JSON_DEPTH, check_input_shape
from siamese.scoring.metrics import UNKNOWN
from siamese.scoring.rules import RULES
from siamese.training.config import LOSSES

FORMAT_VERSION = 1
KNOWN_FORMAT_VERSIONS = (1,)
STATUSES = ("running", "complete", "failed", "cancelled")
MAX_PID = 2**31 - 1  # a pid_t is a signed 32-bit number
METHODS = ("tsne-medoid", "medoid")  # how representatives are chosen (siamese.maps.representatives uses these)
RETRAIN = "the run is damaged; train it again"
RECHOOSE = "choose the representatives again"

_ESCAPE = re.compile(r"\\.", re.DOTALL)  # a backslash and the character it escapes
_STRING = re.compile(r'"[^"]*"')  # escapes gone, a string runs to the next quote (no backtracking)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class Invalid(SiameseError):
    """A run file's field holds a value this tool cannot use."""


def _fail(path: Path, field: str, problem: str, todo: str) -> Invalid:
    return Invalid(f"{path} field {field} {problem}; {todo}")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (brackets inside strings ignored).

    Linear time on any text, valid JSON or not: escapes are removed, then strings (each
    scan stops at the next quote, so nothing backtracks), and the brackets left are summed.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text))).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return max(int(np.cumsum(steps).max()), 0)


def read_json_object(path: Path, what: str | Remedy) -> dict[str, Any]:
    """A JSON object from a regular file of bounded size and nesting; ``what`` says what to do when it is missing.

    Raises:
        SiameseError: the file is missing, not a regular file, too large, nested too deeply,
            not JSON, or not an object.
    """
    path = Path(path)
    check_regular_file(path, MAX_JSON_BYTES, RETRAIN, missing=what, noun="a JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SiameseError(f"{path} is not UTF-8 text; {RETRAIN}") from None
    except OSError as exc:
        raise SiameseError(f"{path} cannot be read ({exc.strerror}); {RETRAIN}") from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise SiameseError(f"{path} nests {depth} levels deep, more than the limit of {MAX_JSON_DEPTH}; {RETRAIN}")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SiameseError(f"{path} is not valid JSON ({exc}); {RETRAIN}") from None
    if not isinstance(data, dict):
        raise SiameseError(f"{path} does not hold a JSON object; {RETRAIN}")
    return data


# Field checks ---------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


class _Said(str):
    """A value already described in words (shown as it is, not as JSON)."""


def _short(value: Any) -> str:
    if isinstance(value, _Said):
        return value
    text = json.dumps(value) if not isinstance(value, float | int) or isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(ok: bool, path: Path, field: str, value: Any, expected: str, todo: str) -> None:
    if not ok:
        raise _fail(path, field, f"is {_short(value)}, not {expected}", todo)


def _optional(info: dict, key: str, test, path: Path, field: str, expected: str, todo: str) -> None:
    if info.get(key) is not None:
        _check(test(info[key]), path, field, info[key], expected, todo)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(n, str) and n for n in value)


def validate_run_info(info: dict[str, Any], path: Path) -> None:
    """Check run.json's fields: format version, status and process, settings, shape and classes.

    Raises:
        SiameseError: naming run.json and the first bad field.
    """
    version = info.get("format_version")
    if not _is_int(version) or version not in KNOWN_FORMAT_VERSIONS:
        newer = _is_int(version) and version > FORMAT_VERSION
        todo = "upgrade siamese" if newer else RETRAIN
        raise _fail(path, "format_version", f"is {_short(version)}, which this version of siamese cannot read "
                    f"(it reads {', '.join(map(str, KNOWN_FORMAT_VERSIONS))})", todo)
    _optional(info, "status", lambda v: v in STATUSES, path, "status", "one of " + ", ".join(STATUSES), RETRAIN)
    _optional(info, "pid", lambda v: _is_int(v) and 0 < v <= MAX_PID, path, "pid", f"a process id from 1 to {MAX_PID}", RETRAIN)
    _optional(info, "host", lambda v: isinstance(v, str), path, "host", "a host name", RETRAIN)
    _optional(info, "epochs_done", lambda v: _is_int(v) and v >= 0, path, "epochs_done", "a whole number of 0 or more", RETRAIN)
    _optional(info, "error", lambda v: isinstance(v, str), path, "error", "a sentence", RETRAIN)
    _optional(info, "metrics", lambda v: isinstance(v, dict), path, "metrics", "an object", RETRAIN)
    _optional(info, "calibration_files", lambda v: isinstance(v, list), path, "calibration_files", "a list of files", RETRAIN)
    _optional(info, "architecture", lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
              path, "architecture", "a list of layers", RETRAIN)
    config = info.get("config")
    _check(isinstance(config, dict), path, "config", config, "an object of settings", RETRAIN)
    _check(isinstance(config.get("train_dir"), str) and config["train_dir"] != "", path, "config.train_dir",
           config.get("train_dir"), "the training folder's path", RETRAIN)
    _optional(config, "val_dir", lambda v: isinstance(v, str), path, "config.val_dir", "a folder's path", RETRAIN)
    for key in ("epochs", "batch_size", "seed", "n_train", "n_validation", "n_calibration"):
        _optional(config, key, lambda v: _is_int(v) and v >= 0, path, f"config.{key}", "a whole number of 0 or more", RETRAIN)
    for key in ("margin", "learning_rate", "validation_split", "calibration_split"):
        _optional(config, key, _is_number, path, f"config.{key}", "a number", RETRAIN)
    _optional(config, "augment", lambda v: isinstance(v, bool), path, "config.augment", "true or false", RETRAIN)
    _optional(config, "precision", lambda v: isinstance(v, str), path, "config.precision", "a precision name", RETRAIN)
    _optional(config, "loss", lambda v: v in LOSSES, path, "config.loss", " or ".join(LOSSES), RETRAIN)
    _check_pixels(config, path)
    shape = config.get("input_shape")
    _check(isinstance(shape, list) and len(shape) == 3 and all(_is_int(v) for v in shape), path, "config.input_shape",
           shape, "three whole numbers (height, width, channels)", RETRAIN)
    check_input_shape(shape, f"{path} field config.input_shape", RETRAIN)
    names = config.get("class_names")
    _check(_names(names) and len(names) >= 1, path, "config.class_names", names, "a list of one or more class names", RETRAIN)
    _check(len(set(names)) == len(names), path, "config.class_names", names, "a list of distinct class names", RETRAIN)
    _check(UNKNOWN not in names, path, "config.class_names", _Said(f"holding a class named {UNKNOWN!r}"),
           "classes apart from the word for rejected images", "train on a copy of the data with that folder renamed")


def _check_pixels(config: dict[str, Any], path: Path) -> None:
    """config.unit, config.window and config.palette: known values that can be combined."""
    _optional(config, "unit", lambda v: v in UNITS, path, "config.unit", "one of " + ", ".join(UNITS), RETRAIN)
    palettes = [p for p in READBACK_PALETTES if p != "auto"]  # a run records the palette auto found
    _optional(config, "palette", lambda v: v in palettes, path, "config.palette", "one of " + ", ".join(palettes), RETRAIN)
    _optional(config, "window", lambda v: isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v) and v[0] < v[1],
              path, "config.window", "two temperatures [low, high] in degrees Celsius, low below high", RETRAIN)
    try:
        PixelMapping.from_config(config).validate()
    except SiameseError as exc:
        raise _fail(path, "config", f"holds pixel settings that cannot be combined ({exc.problem})", RETRAIN) from None


def embedding_dimension(info: dict[str, Any]) -> int | None:
    """The embedding's length from run.json's architecture (its last layer's units), if recorded."""
    layers = info.get("architecture") or []
    units = layers[-1].get("units") if layers else None
    return units if _is_int(units) and units > 0 else None


def _key(name: str) -> str:
    """A field path's step for a user-chosen key: ``.knn`` for a plain name, ``['a b']`` otherwise,
    so that a message stays on one line whatever the key holds."""
    return f".{name}" if re.fullmatch(r"[A-Za-z0-9_\-]+", name) else f"[{name!r}]"


def validate_representatives(record: dict[str, Any], path: Path, class_names: list[str]) -> None:
    """Check representatives.json: threshold, rule, items and calibration agree with the run's classes.

    Raises:
        SiameseError: naming representatives.json and the first bad field.
    """
    known = set(class_names)
    _check(_is_number(record.get("suggested_threshold")) and record["suggested_threshold"] >= 0, path, "suggested_threshold",
           record.get("suggested_threshold"), "a distance of 0 or more", RECHOOSE)
    _optional(record, "training_threshold", lambda v: _is_number(v) and v >= 0, path, "training_threshold", "a distance of 0 or more", RECHOOSE)
    _optional(record, "target_frr", lambda v: _is_number(v) and 0 <= v < 1, path, "target_frr", "a fraction below 1", RECHOOSE)
    _optional(record, "rule", lambda v: v in RULES, path, "rule", "one of " + ", ".join(RULES), RECHOOSE)
    _optional(record, "k", lambda v: _is_int(v) and v >= 1, path, "k", "a whole number of 1 or more", RECHOOSE)
    _optional(record, "per_class_threshold", lambda v: isinstance(v, bool), path, "per_class_threshold", "true or false", RECHOOSE)
    for key in ("data", "threshold_source", "threshold_criterion", "created"):
        _optional(record, key, lambda v: isinstance(v, str), path, key, "text", RECHOOSE)
    _optional(record, "method", lambda v: v in METHODS, path, "method", "one of " + ", ".join(METHODS), RECHOOSE)
    _optional(record, "perplexity", lambda v: _is_number(v) and v > 0, path, "perplexity", "a positive number", RECHOOSE)
    for key in ("seed", "n_images", "per_class"):
        _optional(record, key, lambda v: _is_int(v) and v >= 0, path, key, "a whole number of 0 or more", RECHOOSE)
    for key in ("tsne_medoids", "embedding_medoids"):
        medoids = record.get(key)
        if medoids is not None:
            _check(isinstance(medoids, list) and all(isinstance(m, dict) and isinstance(m.get("class"), str) and isinstance(m.get("file"), str)
                                                     for m in medoids), path, key, medoids, "a list of class and file pairs", RECHOOSE)
    items = record.get("items")
    _check(isinstance(items, list), path, "items", items, "a list of representatives", RECHOOSE)
    for i, item in enumerate(items):
        _check(isinstance(item, dict), path, f"items[{i}]", item, "an object", RECHOOSE)
        if "class" in item:  # records from before classes were written have rows only
            _check(isinstance(item["class"], str) and item["class"] in known, path, f"items[{i}].class", item["class"], "one of the run's classes", RECHOOSE)
        _check(_is_int(item.get("row")) and item["row"] >= 0, path, f"items[{i}].row", item.get("row"), "a row of map.csv", RECHOOSE)
        for key in ("file", "copy"):
            _optional(item, key, lambda v: isinstance(v, str), path, f"items[{i}].{key}", "a file path", RECHOOSE)
        for key in ("x", "y"):
            _optional(item, key, _is_number, path, f"items[{i}].{key}", "a number", RECHOOSE)
    calibration = record.get("calibration")
    if calibration is None:
        return
    _check(isinstance(calibration, dict), path, "calibration", calibration, "an object", RECHOOSE)
    for key in ("rule_thresholds", "class_thresholds"):
        table = calibration.get(key)
        if table is None:
            continue
        _check(isinstance(table, dict), path, f"calibration.{key}", table, "an object of thresholds", RECHOOSE)
        for name, value in table.items():
            _check(_is_number(value) and value >= 0, path, f"calibration.{key}{_key(name)}", value, "a distance of 0 or more", RECHOOSE)
    unknown = sorted(set(calibration.get("class_thresholds") or {}) - known)
    _check(not unknown, path, "calibration.class_thresholds", unknown, "thresholds of the run's classes only", RECHOOSE)
    _optional(calibration, "data", lambda v: isinstance(v, str), path, "calibration.data", "a folder's path", RECHOOSE)


def load_representative_arrays(path: Path, n_classes: int, n_items: int, dimension: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (R, D) float32, labels (R,) int64) from representatives.npz, checked.

    Object arrays are never unpickled, the arrays' unpacked size is bounded before they are
    read, and the labels must name the run's classes.

    Raises:
        SiameseError: naming representatives.npz and the bad field.
    """
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except FileNotFoundError:
        raise SiameseError(f"{path} is missing; {RECHOOSE}") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SiameseError(f"{path} is not a NumPy .npz archive; {RECHOOSE}") from None
    if max(size, unpacked) > MAX_ARRAY_FILE_BYTES:
        raise SiameseError(f"{path} unpacks to {unpacked:,} bytes, more than the limit of {MAX_ARRAY_FILE_BYTES:,}; {RECHOOSE}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ("embeddings", "labels") if key not in npz.files]
            if missing:
                raise SiameseError(f"{path} lacks the array {missing[0]}; {RECHOOSE}")
            embeddings, labels = npz["embeddings"], npz["labels"]
    except SiameseError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SiameseError(f"{path} cannot be read as plain arrays ({exc.__class__.__name__}: {str(exc)[:80]}); {RECHOOSE}") from None
    _check(embeddings.ndim == 2 and embeddings.dtype.kind == "f" and len(embeddings) >= 1, path, "embeddings",
           _Said(f"an array of shape {list(embeddings.shape)} and type {embeddings.dtype}"), "a 2-D float array (representatives x values)", RECHOOSE)
    if dimension is not None:
        _check(embeddings.shape[1] == dimension, path, "embeddings", _Said(f"{embeddings.shape[1]} values per row"),
               f"{dimension} (the network's output)", RECHOOSE)
    _check(bool(np.isfinite(embeddings).all()), path, "embeddings", _Said("an array with NaN or infinite values"), "finite values", RECHOOSE)
    _check(labels.ndim == 1 and labels.dtype.kind in "iu" and len(labels) == len(embeddings), path, "labels",
           _Said(f"an array of shape {list(labels.shape)} and type {labels.dtype}"), f"{len(embeddings)} whole numbers (one per row of embeddings)", RECHOOSE)
    _check(len(labels) == n_items, path, "labels", _Said(f"{len(labels)} representatives"), f"the {n_items} that representatives.json lists", RECHOOSE)
    outside = sorted({int(v) for v in labels[(labels < 0) | (labels >= n_classes)]})
    _check(not outside, path, "labels", _Said(f"holding class {outside[0]}" if outside else ""), f"class indices from 0 to {n_classes - 1} (run.json names {n_classes} classes)", RECHOOSE)
    return embeddings.astype(np.float32), labels.astype(np.int64)


def paths_outside(run_dir: Path, train_dir: Path, record: dict[str, Any]) -> list[str]:
    """Sentences for representatives.json paths that lead outside the run: ``data`` and
    ``calibration.data`` outside the run's training folder, copies outside the run folder."""
    run_dir, train_dir = Path(run_dir).resolve(), Path(train_dir).resolve()

    found = []
    for field, value in (("data", record.get("data")), ("calibration.data", (record.get("calibration") or {}).get("data"))):
        if isinstance(value, str) and not inside((run_dir / value).resolve(), train_dir):
            found.append(f"field {field} points to {(run_dir / value).resolve()}, outside the run's training folder {train_dir}")
    for i, item in enumerate(record.get("items") or []):
        copy = item.get("copy") if isinstance(item, dict) else None
        if isinstance(copy, str) and not inside((run_dir / copy).resolve(), run_dir):
            found.append(f"field items[{i}].copy points to {(run_dir / copy).resolve()}, outside the run folder")
    return found
