"""Cached loaders: runs, evaluations, maps, probes and coloured images, shared between sessions.

Every cache is keyed by ``cache_key``: the run folder and the run's stamp (which changes
when the run is trained further, gets new representatives or its gallery changes), then the folders involved.
Nothing here imports TensorFlow: loaders return package objects whose model loads on
first use, so pages that only list things (Home, Data) stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import roots
import streamlit as st
import view_selection as selection

import siamese
from siamese.data.display_images import colour_image
from siamese.limits import COLOUR_CACHE_ENTRIES, THUMBNAIL_SIDE
from siamese.maps import training_maps as maps
from siamese.runs.layout import GALLERY_FILE
from siamese.runs.store import REPRESENTATIVES_FILE, RUN_FILE
from siamese.scoring import neighbours
from siamese.scoring.compare_runs import CompareResult, compare_runs

Stamp = tuple[float, float, float]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0.0


def run_stamp(run_dir: Path) -> Stamp:
    """Changes whenever the run is trained further, gets new representatives, or someone is
    enrolled in or removed from its gallery (so Evaluate and Probe use the new gallery at once)."""
    return _mtime(run_dir / RUN_FILE), _mtime(run_dir / REPRESENTATIVES_FILE), _mtime(run_dir / GALLERY_FILE)


def cache_key(run: siamese.Run, *folders: str | os.PathLike[str] | None) -> tuple[Any, ...]:
    """The key of every cached result about ``run``: (run folder, run stamp, *folders), each
    folder as a string or None."""
    return (str(run.path.resolve()), run_stamp(run.path), *(str(f) if f else None for f in folders))


# Runs -----------------------------------------------------------------------------------
@st.cache_resource(max_entries=16, show_spinner=False)
def _load_run(path: str, stamp: float) -> siamese.Run:
    return siamese.load_run(path)


def load_run(path: str | os.PathLike[str]) -> siamese.Run:
    """The run, shared by all sessions so its model is loaded once (reloaded when run.json changes)."""
    return _load_run(str(Path(path).resolve()), run_stamp(Path(path))[0])


# Evaluations --------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner="Embedding the test images once; the threshold then works from cached distances...")
def _evaluation(run_path: str, stamp: Stamp, test_dir: str | None, unknown_dir: str | None) -> siamese.Evaluation:
    return siamese.evaluate(load_run(run_path), test_dir, unknown_dir, compare_rules=True)


@st.cache_resource(max_entries=8, show_spinner=False)
def _suggestions(run_path: str, stamp: Stamp, test_dir: str | None, unknown_dir: str | None) -> tuple[dict[str, dict[str, Any]], Any]:
    result = _evaluation(run_path, stamp, test_dir, unknown_dir)
    return result.suggestions(), result.roc()


@st.cache_resource(max_entries=8, show_spinner=False)
def _distance_groups(run_path: str, stamp: Stamp, test_dir: str | None, unknown_dir: str | None) -> dict[str, Any]:
    suggestions = _suggestions(run_path, stamp, test_dir, unknown_dir)[0]
    return selection.distance_groups(_evaluation(run_path, stamp, test_dir, unknown_dir), [s["threshold"] for s in suggestions.values()])


@st.cache_resource(max_entries=8, show_spinner=False)
def _dir_far(run_path: str, stamp: Stamp, test_dir: str | None, unknown_dir: str | None) -> Any:
    return _evaluation(run_path, stamp, test_dir, unknown_dir).dir_far()


def evaluation(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> siamese.Evaluation:
    """The run's evaluation on these folders, computed once per run state and kept.

    ``Evaluation`` is immutable and ``.at(threshold)`` copies it, so sharing one object
    between sessions is safe.
    """
    return _evaluation(*cache_key(run, test_dir, unknown_dir))


def suggestions_and_roc(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> tuple[dict[str, dict[str, Any]], Any]:
    """Suggested thresholds and the ROC: they do not depend on the threshold, so they are cached too."""
    return _suggestions(*cache_key(run, test_dir, unknown_dir))


def distance_groups(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> dict[str, Any]:
    """Nearest-class distances of right-class, wrong-class and unknown images (threshold-free),
    the slider's range and the accuracy (``siamese.selection.distance_groups``), cached with the evaluation."""
    return _distance_groups(*cache_key(run, test_dir, unknown_dir))


def dir_far(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> Any:
    """The DIR/FAR curve at the run's own rule (threshold-free, so cached with the evaluation)."""
    return _dir_far(*cache_key(run, test_dir, unknown_dir))


# Runs side by side -------------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner="Evaluating every run on the same images...")
def _comparison(keys: tuple[tuple[Any, ...], ...], test_dir: str, unknown_dir: str | None) -> CompareResult:
    # Each run's evaluation is the one Evaluate and Home cache: a run already evaluated there is not embedded again.
    return compare_runs(
        [key[0] for key in keys], test_dir, unknown_dir, show_path=roots.display_path,
        evaluator=lambda run, test, unknown: _evaluation(*cache_key(run, test, unknown)),
    )


def comparison(run_dirs: list[Path], test_dir: Path, unknown_dir: Path | None) -> CompareResult:
    """The runs side by side on these folders (``siamese.scoring.compare_runs.compare_runs``), kept until a run changes."""
    return _comparison(tuple(cache_key(load_run(path)) for path in run_dirs), str(test_dir), str(unknown_dir) if unknown_dir else None)


# Maps -----------------------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner="Computing the map (t-SNE); it is kept in the run folder and reopens at once...")
def _training_map(run_path: str, stamp: Stamp, method: str, perplexity: float, seed: int) -> pd.DataFrame:
    return maps.training_map(load_run(run_path), method, perplexity, seed)


@st.cache_data(max_entries=8, show_spinner="Placing the test images on the map...")
def _placed_folder(run_path: str, stamp: Stamp, folder: str, method: str, perplexity: float, seed: int) -> pd.DataFrame:
    return maps.place_folder(load_run(run_path), folder, _training_map(run_path, stamp, method, perplexity, seed))


@st.cache_data(max_entries=8, show_spinner=False)
def _placed_enrolled(run_path: str, stamp: Stamp, method: str, perplexity: float, seed: int) -> pd.DataFrame:
    return maps.place_enrolled(load_run(run_path), _training_map(run_path, stamp, method, perplexity, seed))


def training_map(run: siamese.Run, method: str, perplexity: float, seed: int) -> pd.DataFrame:
    """The run's training map for these settings (``siamese.maps.training_maps.training_map``)."""
    return _training_map(*cache_key(run), method, float(perplexity), int(seed))


def recorded_map(run: siamese.Run) -> pd.DataFrame:
    """The training map the run's representatives were chosen on."""
    record = run.representatives()
    return training_map(run, record["method"], record["perplexity"], record["seed"])


def placed_folder(run: siamese.Run, folder: Path, method: str, perplexity: float, seed: int) -> pd.DataFrame:
    """A folder's images placed on the run's training map for these settings (``siamese.maps.training_maps.place_folder``)."""
    return _placed_folder(*cache_key(run, folder), method, float(perplexity), int(seed))


def placed_enrolled(run: siamese.Run, method: str, perplexity: float, seed: int) -> pd.DataFrame:
    """The enrolled people's images placed on the run's training map (``siamese.maps.training_maps.place_enrolled``),
    placed again when the gallery changes (the run's stamp)."""
    return _placed_enrolled(*cache_key(run), method, float(perplexity), int(seed))


# Probes ---------------------------------------------------------------------------------
@st.cache_resource(max_entries=64, show_spinner="Identifying the image...")
def _probe(run_path: str, stamp: Stamp, data: bytes, threshold: float | None) -> siamese.ProbeResult:
    return siamese.probe(load_run(run_path), data, threshold)


def probe(run: siamese.Run, data: bytes, threshold: float | None = None) -> siamese.ProbeResult:
    """``siamese.probe`` on uploaded bytes, cached in memory so moving the threshold back and
    forth does not embed the image again."""
    return _probe(*cache_key(run), data, threshold)


# Neighbours -------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner="Reading the training images' embeddings...")
def _training_set(run_path: str, stamp: Stamp) -> neighbours.TrainingEmbeddings:
    return neighbours.training_set(load_run(run_path))


def training_set(run: siamese.Run) -> neighbours.TrainingEmbeddings:
    """The run's training images as embeddings, to find a probe's nearest ones (``siamese.scoring.neighbours.training_set``)."""
    return _training_set(*cache_key(run))


@st.cache_resource(max_entries=64, show_spinner="Embedding the image...")
def _file_embedding(run_path: str, stamp: Stamp, path: str) -> Any:
    embeddings, kept, skipped = load_run(run_path).embed_files([Path(path)])
    if not len(kept):
        raise siamese.SiameseError(skipped[0].reason if skipped else f"{path} cannot be read as an image")
    return embeddings[0]


def file_embedding(run: siamese.Run, path: str | os.PathLike[str]) -> Any:
    """One image file's embedding (a test image on the map, say), cached."""
    return _file_embedding(*cache_key(run, path))


# Files ----------------------------------------------------------------------------------
@st.cache_data(ttl=10, show_spinner=False)
def scan(path: str) -> siamese.Listing:
    """The files of a dataset folder (no image is decoded)."""
    return siamese.scan_folder(path)


# Thumbnails of at most THUMBNAIL_SIDE pixels a side (uint8 RGB), so the cache's bytes are
# bounded by its entries: COLOUR_CACHE_ENTRIES x 256 x 256 x 3 bytes = COLOUR_CACHE_BYTES.
@st.cache_data(max_entries=COLOUR_CACHE_ENTRIES, show_spinner=False)
def _coloured(path: str, palette: str, pixels: Any = None) -> Any:
    return colour_image(path, palette, pixels, max_side=THUMBNAIL_SIDE)


def coloured(path: str | os.PathLike[str], palette: str, pixels: Any = None) -> Any:
    """A thumbnail of an image file coloured with a display palette (uint8 RGB), read with
    ``pixels`` (a run's mapping) when given.

    Paths come from run files too (representatives.json, map.csv), so a file outside the
    dashboard's data and run folders is refused, however the run names it.

    Raises:
        SiameseError: the file lies outside the roots or cannot be read as an image.
    """
    if not roots.within_roots(path, [*roots.data_roots(), *roots.run_roots()]):
        raise siamese.SiameseError(f"{Path(path).name} lies outside the dashboard's data and run folders, so it is not shown")
    return _coloured(str(path), palette, pixels)


@st.cache_data(max_entries=16, show_spinner=False)
def coloured_bytes(data: bytes, palette: str, pixels: Any = None) -> Any:
    """A thumbnail of uploaded image bytes coloured with a display palette (kept in memory only)."""
    return colour_image(data, palette, pixels, max_side=THUMBNAIL_SIDE)
