"""Shared dashboard helpers: where runs and datasets live, the pickers, cached loaders, small widgets.

Nothing here imports TensorFlow: loaders return package objects whose model loads on
first use, so pages that only list things (Home, Data) stay fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import siamese
from siamese.data import IMAGE_SUFFIXES
from siamese.runs import REPRESENTATIVES_FILE, RUN_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
VIEWS = Path(__file__).resolve().parent / "views"
SAMPLE_ROOT = REPO_ROOT / "sample_data"
# Probes are single thermal frames; the same limit is set in .streamlit/config.toml
# (server.maxUploadSize) and checked again here for callers that bypass the browser.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"]
RUN_KEY = "run"
DATASET_KEY = "dataset"
# Dataset folders are looked for this many levels below a root (sample_data/thermal_faces/train is 2).
DATASET_SEARCH_DEPTH = 3


# Server behaviour ----------------------------------------------------------------------
def keep_keras_session() -> None:
    """Stop Streamlit from clearing Keras's session after every script run.

    Streamlit calls ``keras.backend.clear_session()`` after each rerun, for apps that
    build a model inside the script. Ours are loaded once and shared as cached
    resources; the clearing frees nothing of theirs but empties TensorFlow's kernel
    cache and runs a full garbage collection: measured with py-spy, about 0.6 s of every
    rerun (a threshold move on Evaluate took 0.3-1.0 s, its own work 70 ms). Matplotlib,
    the other module Streamlit tidies there, is not used by the dashboard.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None


keep_keras_session()


# Where things are --------------------------------------------------------------------
# Extra folders for datasets and runs, for a server's own data. The dashboard never
# reads outside its roots: datasets and runs are chosen from what lies under them.
CONFIG_FILE = REPO_ROOT / "dashboard.toml"


def _configured_roots(key: str) -> list[Path]:
    """Folders listed under ``key`` in dashboard.toml (or SIAMESE_DASHBOARD_CONFIG), relative to that file."""
    import tomllib

    path = Path(os.environ.get("SIAMESE_DASHBOARD_CONFIG") or CONFIG_FILE)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        st.error(f"{path} cannot be read ({exc}); fix it or remove it to use only sample_data/ and runs/.")
        return []
    entries = config.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        st.error(f"{path}: {key} must be a list of folder paths, such as {key} = [\"/data/thermal\"].")
        return []
    return [(path.parent / Path(e).expanduser()).resolve() for e in entries]


def _extra_roots(variable: str, key: str) -> list[Path]:
    """Folders from an environment variable (os.pathsep-separated; tests use them) and the config file."""
    from_env = [Path(p).expanduser().resolve() for p in os.environ.get(variable, "").split(os.pathsep) if p.strip()]
    return [*from_env, *_configured_roots(key)]


def within_roots(path: str | os.PathLike[str], roots: list[Path]) -> bool:
    """Whether ``path``, with ``..`` and symbolic links resolved, lies inside one of ``roots``."""
    resolved = Path(path).resolve()
    return any(resolved == root or root in resolved.parents for root in (r.resolve() for r in roots))


def runs_root() -> Path:
    """Where new runs and splits go: runs/ in the repository, or SIAMESE_RUNS_DIR (tests use a temporary folder)."""
    return Path(os.environ.get("SIAMESE_RUNS_DIR") or REPO_ROOT / "runs").expanduser().resolve()


def run_roots() -> list[Path]:
    """Folders that hold runs (or are runs): SIAMESE_RUN_ROOTS first, then runs/ and sample_data/."""
    return _unique([*_extra_roots("SIAMESE_RUN_ROOTS", "run_roots"), runs_root(), SAMPLE_ROOT])


def data_roots() -> list[Path]:
    """Folders searched for datasets: SIAMESE_DATA_ROOTS first, then sample_data/ and runs/ (splits go there)."""
    return _unique([*_extra_roots("SIAMESE_DATA_ROOTS", "data_roots"), SAMPLE_ROOT, runs_root()])


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(p.resolve() for p in paths))


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as the user knows it: relative to the repository when it lies inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def find_run_dirs() -> list[Path]:
    """Every run folder under the run roots; a root may itself be a run."""
    found: list[Path] = []
    for root in run_roots():
        if (root / RUN_FILE).exists():
            found.append(root)
        else:
            found.extend(run.path.resolve() for run in siamese.list_runs(root))
    return _unique(found)


def _has_images(folder: Path) -> bool:
    try:
        return any(e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES) and not e.name.startswith(".") for e in os.scandir(folder))
    except OSError:
        return False


def _is_dataset(folder: Path) -> bool:
    """A dataset is a folder with at least one sub-folder that holds images."""
    try:
        return any(e.is_dir() and not e.name.startswith(".") and _has_images(Path(e.path)) for e in os.scandir(folder))
    except OSError:
        return False


@st.cache_data(ttl=10, show_spinner=False)
def find_datasets(roots: tuple[str, ...]) -> list[str]:
    """Dataset folders under the roots, nested ones included; run folders are left out
    (their representatives/ copies look like a dataset but are not one)."""
    found: list[str] = []

    def walk(folder: Path, depth: int) -> None:
        if (folder / RUN_FILE).exists() or (folder.name == "representatives" and (folder.parent / REPRESENTATIVES_FILE).exists()):
            return
        if _is_dataset(folder):
            found.append(str(folder))
            return
        if depth >= DATASET_SEARCH_DEPTH:
            return
        try:
            children = sorted(e.path for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
        except OSError:
            return
        for child in children:
            walk(Path(child), depth + 1)

    for root in roots:
        if Path(root).is_dir():
            walk(Path(root), 0)
    return list(dict.fromkeys(found))


def datasets() -> list[Path]:
    return [Path(p) for p in find_datasets(tuple(str(r) for r in data_roots()))]


# Cached loaders ------------------------------------------------------------------------------
def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0.0


def run_stamp(run_dir: Path) -> tuple[float, float]:
    """Changes whenever the run is trained further or gets new representatives."""
    return _mtime(run_dir / RUN_FILE), _mtime(run_dir / REPRESENTATIVES_FILE)


@st.cache_resource(max_entries=16, show_spinner=False)
def _load_run(path: str, stamp: float) -> siamese.Run:
    return siamese.load_run(path)


def load_run(path: str | os.PathLike[str]) -> siamese.Run:
    """The run, shared by all sessions so its model is loaded once (reloaded when run.json changes)."""
    return _load_run(str(Path(path).resolve()), run_stamp(Path(path))[0])


@st.cache_resource(max_entries=8, show_spinner="Embedding the test images once; the threshold then works from cached distances...")
def _evaluation(run_path: str, test_dir: str | None, unknown_dir: str | None, stamp: tuple[float, float]) -> siamese.Evaluation:
    return siamese.evaluate(load_run(run_path), test_dir, unknown_dir, compare_rules=True)


def evaluation(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> siamese.Evaluation:
    """The run's evaluation on these folders, computed once per run state and kept.

    ``Evaluation`` is immutable and ``.at(threshold)`` copies it, so sharing one object
    between sessions is safe.
    """
    return _evaluation(str(run.path.resolve()), str(test_dir) if test_dir else None, str(unknown_dir) if unknown_dir else None, run_stamp(run.path))


@st.cache_resource(max_entries=8, show_spinner=False)
def _suggestions(run_path: str, test_dir: str | None, unknown_dir: str | None, stamp: tuple[float, float]) -> tuple[dict[str, dict[str, Any]], Any]:
    result = _evaluation(run_path, test_dir, unknown_dir, stamp)
    return result.suggestions(), result.roc()


def suggestions_and_roc(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> tuple[dict[str, dict[str, Any]], Any]:
    """Suggested thresholds and the ROC: they do not depend on the threshold, so they are cached too."""
    return _suggestions(str(run.path.resolve()), str(test_dir) if test_dir else None, str(unknown_dir) if unknown_dir else None, run_stamp(run.path))


@st.cache_resource(max_entries=8, show_spinner=False)
def _distance_groups(run_path: str, test_dir: str | None, unknown_dir: str | None, stamp: tuple[float, float]) -> dict[str, Any]:
    result = _evaluation(run_path, test_dir, unknown_dir, stamp)
    rows = result.table()
    test = rows[rows["set"] == "test"]
    right = test["true_class"] == test["predicted_class"]
    groups = {
        "right class": test.loc[right, "distance"].tolist(),
        "wrong class": test.loc[~right, "distance"].tolist(),
        "unknown": rows.loc[rows["set"] == "unknown", "distance"].tolist(),
    }
    suggested = [s["threshold"] for s in _suggestions(run_path, test_dir, unknown_dir, stamp)[0].values()]
    top = max([*rows["distance"].tolist(), *suggested, result.threshold, 1e-3])
    return {"groups": groups, "max": top * 1.05, "accuracy": float(right.mean()) if len(test) else 0.0}


@st.cache_resource(max_entries=8, show_spinner=False)
def _dir_far(run_path: str, test_dir: str | None, unknown_dir: str | None, stamp: tuple[float, float]) -> Any:
    return _evaluation(run_path, test_dir, unknown_dir, stamp).dir_far()


def dir_far(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> Any:
    """The DIR/FAR curve at the run's own rule (threshold-free, so cached with the evaluation)."""
    return _dir_far(str(run.path.resolve()), str(test_dir) if test_dir else None, str(unknown_dir) if unknown_dir else None, run_stamp(run.path))


def threshold_origin(run: siamese.Run) -> str:
    """Where the run's threshold came from, in a few words, for captions."""
    record = run.threshold_record()
    if record["source"] == "calibration":
        return f"set so that {record['target_frr']:.0%} of known faces the network never trained on are rejected"
    return "the equal-error point of the training images (not calibrated)"


def format_threshold(value: float) -> str:
    """A threshold written the same way everywhere (buttons, captions, slider): four significant digits."""
    return f"{value:.4g}"


def distance_groups(run: siamese.Run, test_dir: Path | None, unknown_dir: Path | None) -> dict[str, Any]:
    """Nearest-class distances of right-class, wrong-class and unknown images (threshold-free),
    the slider's range and the accuracy, cached with the evaluation."""
    return _distance_groups(str(run.path.resolve()), str(test_dir) if test_dir else None, str(unknown_dir) if unknown_dir else None, run_stamp(run.path))


@st.cache_data(max_entries=32, show_spinner="Computing the map (t-SNE); it is kept in the run folder and reopens at once...")
def training_map(run_path: str, method: str, perplexity: float, seed: int, stamp: tuple[float, float]) -> pd.DataFrame:
    """The run's training map for these settings (``siamese.maps.training_map``)."""
    from siamese.maps import training_map as compute

    return compute(load_run(run_path), method, perplexity, seed)


@st.cache_data(max_entries=8, show_spinner="Placing the test images on the map...")
def placed_folder(run_path: str, folder: str, method: str, perplexity: float, seed: int, stamp: tuple[float, float]) -> pd.DataFrame:
    """A folder's images placed on a training map (``siamese.maps.place_folder``)."""
    from siamese.maps import place_folder

    return place_folder(load_run(run_path), folder, training_map(run_path, method, perplexity, seed, stamp))


@st.cache_data(max_entries=4096, show_spinner=False)
def coloured(path: str, palette: str) -> Any:
    """An image file coloured with a display palette (uint8 RGB)."""
    from siamese.palettes import colour_image

    return colour_image(path, palette)


@st.cache_data(max_entries=16, show_spinner=False)
def coloured_bytes(data: bytes, palette: str) -> Any:
    """Uploaded image bytes coloured with a display palette (kept in memory only)."""
    from siamese.palettes import colour_image

    return colour_image(data, palette)


@st.cache_resource(max_entries=64, show_spinner="Identifying the image...")
def _probe(run_path: str, stamp: tuple[float, float], data: bytes, threshold: float | None) -> siamese.ProbeResult:
    return siamese.probe(load_run(run_path), data, threshold)


def probe(run: siamese.Run, data: bytes, threshold: float | None = None) -> siamese.ProbeResult:
    """``siamese.probe`` on uploaded bytes, cached in memory so moving the threshold back and
    forth does not embed the image again."""
    return _probe(str(run.path.resolve()), run_stamp(run.path), data, threshold)


@st.cache_data(ttl=10, show_spinner=False)
def scan(path: str) -> siamese.Listing:
    """The files of a dataset folder (no image is decoded)."""
    return siamese.scan_folder(path)


# Pickers -------------------------------------------------------------------------------------
def _run_label(path: Path) -> str:
    """The run's folder (unique: Streamlit matches a choice by its label) with its classes and status."""
    try:
        run = load_run(path)
        extra = "" if run.status == "complete" else f", {run.status}"
        return f"{display_path(path)} ({len(run.class_names)} classes{extra})"
    except siamese.SiameseError:
        return f"{display_path(path)} (damaged)"


def _default_run(paths: list[Path]) -> Path:
    """The first finished run with representatives; else the first run."""
    for path in paths:
        try:
            run = load_run(path)
        except siamese.SiameseError:
            continue
        if run.status == "complete" and run.has_representatives:
            return path
    return paths[0]


def _remembered(key: str, options: list[Any], default: Callable[[], Any]) -> None:
    """Seed a picker's widget state from the remembered choice.

    Streamlit forgets a widget's value on pages where it is not drawn; the choice is
    also kept under a plain key, so it survives navigation and a vanished option falls
    back to the default.
    """
    widget = f"_{key}_picker"
    if st.session_state.get(widget) not in options:
        remembered = st.session_state.get(key)
        st.session_state[widget] = remembered if remembered in options else default()


def run_picker() -> Path | None:
    """The sidebar's run chooser, shared by every page; returns the chosen run folder."""
    paths = find_run_dirs()
    if not paths:
        st.sidebar.info("No trained run yet: start one on the Train page.")
        st.session_state[RUN_KEY] = None
        return None
    options = [str(p) for p in paths]
    _remembered(RUN_KEY, options, lambda: str(_default_run(paths)))
    choice = st.sidebar.selectbox(
        "Run", options, key=f"_{RUN_KEY}_picker", format_func=lambda p: _run_label(Path(p)), help="Every page works on this run.",
        on_change=_forget_dataset,
    )
    st.session_state[RUN_KEY] = choice
    return Path(choice)


def _forget_dataset() -> None:
    """A newly chosen run brings its own training data as the selected dataset."""
    st.session_state.pop(DATASET_KEY, None)
    st.session_state.pop(f"_{DATASET_KEY}_picker", None)


def _default_dataset(paths: list[Path]) -> Path:
    """The training data of the chosen run, when it is among the datasets; else the first."""
    run = selected_run()
    if run is not None:
        train_dir = run.train_dir
        if train_dir in paths:
            return train_dir
    return paths[0]


def dataset_picker() -> Path | None:
    """The sidebar's dataset chooser (folders found under the data roots only)."""
    paths = datasets()
    if not paths:
        st.sidebar.info("No dataset found. Put a folder with one sub-folder of images per class under sample_data/ or runs/.")
        st.session_state[DATASET_KEY] = None
        return None
    options = [str(p) for p in paths]
    _remembered(DATASET_KEY, options, lambda: str(_default_dataset(paths)))
    choice = st.sidebar.selectbox("Dataset", options, key=f"_{DATASET_KEY}_picker", format_func=display_path, help="The Data and Train pages work on this dataset.")
    st.session_state[DATASET_KEY] = choice
    return Path(choice)


def dataset_select(label: str, key: str, default: Path | None, allow_none: bool = False) -> Path | None:
    """A selectbox of the datasets found under the data roots (never a free path)."""
    options: list[str | None] = [str(p) for p in datasets()]
    if allow_none:
        options = [None, *options]
    index = options.index(str(default)) if default is not None and str(default) in options else 0
    if not options:
        return None
    choice = st.selectbox(label, options, index=index, key=key, format_func=lambda p: "(none)" if p is None else display_path(p))
    return Path(choice) if choice else None


def selected_run() -> siamese.Run | None:
    """The run chosen in the sidebar, or None (the page then says what to do).

    A path from outside the run roots is ignored, however it got into the session.
    """
    path = st.session_state.get(RUN_KEY)
    if not path or not within_roots(path, run_roots()):
        return None
    try:
        return load_run(path)
    except siamese.SiameseError:
        return None


def selected_dataset() -> Path | None:
    """The dataset chosen in the sidebar, or None; a path outside the data roots is ignored."""
    path = st.session_state.get(DATASET_KEY)
    return Path(path) if path and within_roots(path, data_roots()) else None


def sibling_dataset(run: siamese.Run, name: str) -> Path | None:
    """The run's data folder's sibling ``name`` (test, unknown) when it is a known dataset."""
    candidate = run.train_dir.parent / name
    return candidate if candidate in datasets() else None


# Page guards ---------------------------------------------------------------------------------
def require_run() -> siamese.Run | None:
    """The selected run, or a message saying how to get one (the page should then stop)."""
    run = selected_run()
    if run is None:
        st.warning("No run is selected. Train one on the Train page (or with `python -m siamese train DATA --out runs/NAME`), then choose it in the sidebar.")
        st.page_link(str(VIEWS / "train.py"), label="Go to Train", icon=":material/model_training:")
        return None
    if run.status != "complete" and run.status != "cancelled":
        if run.status == "running":
            st.info(f"Run {run.name} is still training ({run.info.get('epochs_done', 0)} of {run.config.epochs} epochs); its pages open when it finishes.")
        else:
            st.error(f"Run {run.name} failed: {run.error or 'no reason recorded'}. Train it again on the Train page or choose another run in the sidebar.")
        return None
    if not run.has_model:
        st.error(f"Run {run.name} has no saved model (it stopped before its first epoch ended). Train it again or choose another run.")
        return None
    return run


def require_representatives(run: siamese.Run) -> bool:
    """Whether the run has representatives; if not, say so and offer to choose them."""
    if run.has_representatives:
        return True
    st.warning(f"Run {run.name} has no class representatives yet; they are needed for the map, evaluation and probes.")
    if st.button("Choose representatives", type="primary", help="Embeds the training images, maps them with t-SNE and records one medoid per class."):
        with st.spinner("Embedding the training images and choosing representatives..."):
            try:
                siamese.represent(run)
            except siamese.SiameseError as exc:
                st.error(str(exc))
                return False
        st.rerun()
    return False


# Widgets ---------------------------------------------------------------------------------------
def threshold_key(run: siamese.Run) -> str:
    return f"threshold:{run.path.resolve()}"


def set_threshold(run: siamese.Run, value: float) -> None:
    """Set the run's threshold (callbacks call this before the slider is drawn)."""
    st.session_state[threshold_key(run)] = float(value)
    widget = st.session_state.get("_widget:" + threshold_key(run))
    if widget:
        st.session_state[widget] = float(value)


def threshold_step(max_value: float) -> tuple[float, int]:
    """A slider step giving a few hundred positions over [0, max_value], and its decimals.

    Distances depend on the network: a barely trained one keeps every image within
    0.001 of every other, a trained one spreads them over about 1.
    """
    step = 10.0 ** math.floor(math.log10(max(max_value, 1e-9) / 200))
    return step, max(0, -math.floor(math.log10(step)))


def threshold_slider(run: siamese.Run, max_value: float) -> float:
    """The run's decision threshold, shared by Evaluate and Probe; starts at the run's suggestion.

    The slider's range differs between pages (and test sets), and Streamlit resets a
    keyed slider whose range changed; so the widget key includes the range, and a new
    slider starts from the remembered threshold instead of from zero.
    """
    key = threshold_key(run)
    step, decimals = threshold_step(max_value)
    top = round(math.ceil(max_value / step) * step, decimals)
    widget = f"_{key}:{top}:{step}"
    if widget not in st.session_state:
        st.session_state[widget] = round(min(max(float(st.session_state.get(key, run.suggested_threshold())), 0.0), top), decimals)
    st.session_state["_widget:" + key] = widget
    threshold = st.slider(
        "Threshold (distance)", min_value=0.0, max_value=top, step=step, format=f"%.{decimals}f", key=widget,
        help="An image is identified when its nearest class is closer than this; unknown otherwise.",
    )
    st.session_state[key] = float(threshold)
    return float(threshold)


def image_grid(paths: list[str], captions: list[str], palette: str = "gray", columns: int = 6, width: int = 120) -> None:
    """Images in rows of ``columns``, each at its true aspect ratio; unreadable ones say why."""
    for start in range(0, len(paths), columns):
        cells = st.columns(columns)
        for cell, path, caption in zip(cells, paths[start : start + columns], captions[start : start + columns]):
            with cell:
                try:
                    st.image(coloured(path, palette), caption=caption, width=width)
                except siamese.SiameseError as exc:
                    st.caption(f"{caption}: {exc}")


def image_row(paths: list[str], captions: list[str], palette: str = "gray", width: int = 110) -> None:
    """A few images side by side in one element (they wrap instead of overflowing a narrow cell)."""
    images, shown = [], []
    for path, caption in zip(paths, captions):
        try:
            images.append(coloured(path, palette))
            shown.append(caption)
        except siamese.SiameseError as exc:
            st.caption(f"{caption}: {exc}")
    if images:
        st.image(images, caption=shown, width=width)


def palette_select(key: str = "palette") -> str:
    """Display palette (gray, inferno, ironbow), remembered across pages."""
    from siamese.palettes import PALETTES

    return st.segmented_control("Palette", PALETTES, default=st.session_state.get("_palette_choice", "gray"), key=key, on_change=_remember_palette, args=(key,)) or "gray"


def _remember_palette(key: str) -> None:
    st.session_state["_palette_choice"] = st.session_state.get(key) or "gray"
