"""The selected run and dataset: the sidebar's pickers, dataset choosers, and the guards
pages start with (a usable run, its representatives).

A choice is remembered in the session under a plain key, so it survives navigation; a
remembered path outside the roots is ignored, however it got into the session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import loaders
import messages
import roots
import streamlit as st

import siamese

RUN_KEY = "run"
DATASET_KEY = "dataset"
_NOTHING = object()  # no choice remembered (None is a choice: "(none)")


def _run_label(path: Path) -> str:
    """The run's folder (unique: Streamlit matches a choice by its label) with its classes and status."""
    try:
        run = loaders.load_run(path)
        extra = "" if run.status == "complete" else f", {run.status}"
        return f"{roots.display_path(path)} ({len(run.class_names)} classes{extra})"
    except siamese.SiameseError:
        return f"{roots.display_path(path)} (damaged)"


def _default_run(paths: list[Path]) -> Path:
    """The first finished run with representatives; else the first run."""
    for path in paths:
        try:
            run = loaders.load_run(path)
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
    if widget not in st.session_state or st.session_state[widget] not in options:
        remembered = st.session_state.get(key, _NOTHING)
        st.session_state[widget] = remembered if remembered in options else default()


def run_picker() -> Path | None:
    """The sidebar's run chooser, shared by every page; returns the chosen run folder."""
    paths = roots.find_run_dirs()
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
    """A newly chosen run brings its own data as the selected dataset (``run_dataset``)."""
    st.session_state.pop(DATASET_KEY, None)
    st.session_state.pop(f"_{DATASET_KEY}_picker", None)


def run_dataset(run: siamese.Run, paths: list[Path]) -> Path | None:
    """The dataset that goes with ``run``: its training folder, else its test set (the
    training folder's sibling ``test/``), when listed; else none, never another dataset."""
    for candidate in (run.train_dir, run.train_dir.parent / "test"):
        if candidate in paths:
            return candidate
    return None


def own_test_set(run: siamese.Run) -> Path | None:
    """The run's own test set: its training folder's sibling ``test/`` when it is listed, else None."""
    return roots.sibling_dataset(run, "test")


def visible_test_set(run: siamese.Run) -> Path | None:
    """A test set for ``run`` among the listed datasets: its own (``own_test_set``), else the
    first listed folder named ``test`` whose classes the run all knows (a run trained on data
    outside the dashboard's folders still gets one), else None."""
    own = own_test_set(run)
    if own is not None:
        return own
    known = set(run.class_names)
    for path in roots.datasets():
        if path.name == "test":
            classes = [p.name for p in path.iterdir() if p.is_dir()]
            if classes and set(classes) <= known:
                return path
    return None


def _default_dataset(paths: list[Path]) -> Path | None:
    """The chosen run's own data (``run_dataset``); with no run, the first dataset."""
    run = selected_run()
    return run_dataset(run, paths) if run is not None else paths[0]


def _choice(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _dataset_label(path: str | None) -> str:
    return "(none)" if path is None else roots.display_path(path)


def dataset_picker() -> Path | None:
    """The sidebar's dataset chooser (folders found under the data roots only); it follows
    the chosen run, and offers (none) when the run's own data is not among the folders."""
    paths = roots.datasets()
    run = selected_run()
    if run is not None and run.train_dir not in paths and roots.within_roots(run.train_dir, roots.data_roots()):
        roots.forget_datasets()  # a folder made since the last listing (a split, say): list again
        paths = roots.datasets()
    if not paths:
        st.sidebar.info("No dataset found. Put a folder with one sub-folder of images per class under sample_data/ or runs/, or list its folder in dashboard.toml.")
        st.session_state.pop(DATASET_KEY, None)
        return None
    options: list[str | None] = [None, *(str(p) for p in paths)]
    _remembered(DATASET_KEY, options, lambda: _choice(_default_dataset(paths)))
    choice = st.sidebar.selectbox(
        "Dataset", options, key=f"_{DATASET_KEY}_picker", format_func=_dataset_label,
        help="The Data and Train pages work on this dataset; choosing a run selects its own data.",
    )
    st.session_state[DATASET_KEY] = choice
    return Path(choice) if choice else None


def dataset_select(label: str, key: str, default: Path | None, allow_none: bool = False, placeholder: str = "Choose a folder") -> Path | None:
    """A selectbox of the datasets found under the data roots (never a free path).

    It starts at ``default``; without one it starts empty (or at "(none)" with
    ``allow_none``), never at an unrelated folder.
    """
    options: list[str | None] = [str(p) for p in roots.datasets()]
    if allow_none:
        options = [None, *options]
    if not options:
        return None
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]  # a folder that is gone
    if key in st.session_state:
        index: int | None = 0  # the session's value wins; a default as well would make Streamlit warn
    elif default is not None and str(default) in options:
        index = options.index(str(default))
    else:
        index = 0 if allow_none else None
    choice = st.selectbox(label, options, index=index, key=key, format_func=_dataset_label, placeholder=placeholder)
    return Path(choice) if choice else None


def unknown_classes(folder_classes: list[str], run_classes: list[str]) -> list[str]:
    """The classes of a folder that the run was not trained on (such a folder is no test set)."""
    known = set(run_classes)
    return [c for c in folder_classes if c not in known]


def name_list(names: list[str], shown: int = 5) -> str:
    """Names for a sentence: all of a few, or the first ``shown`` and how many more."""
    return ", ".join(names) if len(names) <= shown else f"{', '.join(names[:shown])} and {len(names) - shown} more"


def use_as_unknown(test_key: str, unknown_key: str, folder: Path, own_test: Path | None) -> None:
    """Make ``folder`` the unknown set, and the run's own test set (or none) the test set (a button's callback)."""
    st.session_state[unknown_key] = str(folder)
    if own_test is not None and own_test != folder:
        st.session_state[test_key] = str(own_test)
    else:
        st.session_state.pop(test_key, None)

def _classes(path: Path) -> list[str] | None:
    try:
        return loaders.load_run(path).class_names
    except siamese.SiameseError:
        return None


def _default_comparison(paths: list[Path]) -> list[str]:
    """The sidebar's run, then another finished run with representatives, one of the same
    classes when there is one (it can be measured on the same test set)."""
    chosen = st.session_state.get(RUN_KEY)
    first = Path(chosen).resolve() if chosen and Path(chosen).resolve() in paths else paths[0]
    others = [p for p in paths if p != first]
    classes = _classes(first)
    same_classes = [p for p in others if _classes(p) == classes]
    return [str(p) for p in [first, *([_default_run(same_classes or others)] if others else [])]]


def runs_select(label: str, key: str) -> list[Path]:
    """A multiselect of the runs found under the run roots (never a free path), in the order chosen.

    The choice is also kept under ``key`` itself, so it survives navigation (see ``_remembered``);
    a run that vanished drops out of it.
    """
    paths = roots.find_run_dirs()
    options = [str(p) for p in paths]
    widget = f"_{key}_picker"
    if widget not in st.session_state:
        st.session_state[widget] = st.session_state.get(key) or (_default_comparison(paths) if paths else [])
    st.session_state[widget] = [p for p in st.session_state[widget] if p in options]
    chosen = st.multiselect(label, options, key=widget, format_func=lambda p: _run_label(Path(p)), placeholder="Choose two or more runs")
    st.session_state[key] = chosen
    return [Path(p) for p in chosen]


def selected_run() -> siamese.Run | None:
    """The run chosen in the sidebar, or None (the page then says what to do).

    A path from outside the run roots is ignored, however it got into the session.
    """
    path = st.session_state.get(RUN_KEY)
    if not path or not roots.within_roots(path, roots.run_roots()):
        return None
    try:
        return loaders.load_run(path)
    except siamese.SiameseError:
        return None


def selected_dataset() -> Path | None:
    """The dataset chosen in the sidebar, or None; a path outside the data roots is ignored."""
    path = st.session_state.get(DATASET_KEY)
    return Path(path) if path and roots.within_roots(path, roots.data_roots()) else None


# Page guards ---------------------------------------------------------------------------
def _damage(path: str | None) -> str | None:
    """Why the selected run (inside the run roots) cannot be opened, or None; paths shown relative."""
    if not path or not roots.within_roots(path, roots.run_roots()):
        return None
    try:
        loaders.load_run(path)
    except siamese.SiameseError as exc:
        return messages.user_message(exc)
    return None


def require_run() -> siamese.Run | None:
    """The selected run, or a message saying how to get one (the page should then stop)."""
    run = selected_run()
    damage = _damage(st.session_state.get(RUN_KEY)) if run is None else None
    if damage:
        st.error(f"This run cannot be opened: {damage}. Choose another run in the sidebar.")
        return None
    if run is None:
        st.warning("No run is selected. Train one on the Train page, then choose it in the sidebar's Run picker.")
        st.page_link(str(roots.VIEWS / "train.py"), label="Go to Train", icon=":material/model_training:")
        return None
    if run.status != "complete" and run.status != "cancelled":
        if run.status == "running":
            where = f" on host {messages.plain(run.training_host)} (if it stopped there, train a new run on the Train page)" if run.training_host else ""
            st.info(f"Run {messages.plain(run.name)} is still training{where} ({run.info.get('epochs_done', 0)} of {run.config.epochs} epochs); its pages open when it finishes.")
        else:
            st.error(f"Run {messages.plain(run.name)} failed: {messages.user_message(run.error or 'no reason recorded')}. Train it again on the Train page or choose another run in the sidebar.")
        return None
    if not run.has_model:
        st.error(f"Run {messages.plain(run.name)} has no saved model (it stopped before its first epoch ended). Train it again on the Train page or choose another run in the sidebar.")
        return None
    return run


def require_representatives(run: siamese.Run) -> bool:
    """Whether the run has readable representatives; if not, say so and offer to choose them."""
    if run.has_representatives:
        try:
            run.representatives()
            run.representative_embeddings()
            return True
        except siamese.SiameseError as exc:
            st.error(f"The representatives of run {messages.plain(run.name)} cannot be used: {messages.user_message(exc)}.")
    else:
        st.warning(f"Run {messages.plain(run.name)} has no class representatives yet; they are needed for the map, evaluation and probes.")
    if not roots.within_roots(run.train_dir, [*roots.data_roots(), *roots.run_roots()]):
        # run.json names the folder; the dashboard reads nothing outside its roots, whatever a run says.
        st.error(f"Run {messages.plain(run.name)}'s training folder lies outside the dashboard's data folders, so its representatives cannot be "
                 "chosen here; add that folder to data_roots in dashboard.toml, or choose them with the represent command.")
        return False
    if st.button("Choose representatives", type="primary", help="Embeds the training images, maps them with t-SNE and records one medoid per class."):
        with st.spinner("Embedding the training images and choosing representatives..."):
            try:
                siamese.represent(run)
            except siamese.SiameseError as exc:
                st.error(messages.user_message(exc))
                return False
        st.rerun()
    return False
