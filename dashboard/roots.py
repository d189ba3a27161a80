"""Where datasets and runs live, and the confinement to those folders.

The dashboard never reads outside its roots: datasets and runs are chosen from what
lies under them, and a path from anywhere else is ignored however it got into a session.
Extra roots, for a server's own data, come from environment variables (tests use them)
and dashboard.toml.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pandas as pd
import streamlit as st

import siamese
from siamese.data.folders import IMAGE_SUFFIXES
from siamese.data.paths import inside
from siamese.runs.store import REPRESENTATIVES_FILE, RUN_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
VIEWS = Path(__file__).resolve().parent / "views"
SAMPLE_ROOT = REPO_ROOT / "sample_data"
CONFIG_FILE = REPO_ROOT / "dashboard.toml"
# Dataset folders are looked for this many levels below a root (sample_data/thermal_faces/train is 2).
DATASET_SEARCH_DEPTH = 3


def _resolved(path: Path) -> Path | None:
    """``path`` with links resolved; None when it cannot be (a symbolic link loop): such a root
    is skipped, and ``root_problems`` says so once per page."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a link loop, later versions OSError
        return None


def _configured_roots(key: str) -> list[Path]:
    """Folders listed under ``key`` in dashboard.toml (or SIAMESE_DASHBOARD_CONFIG), relative to that file."""
    path = Path(os.environ.get("SIAMESE_DASHBOARD_CONFIG") or CONFIG_FILE)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        st.error(f"{path.name} cannot be read ({exc}); fix it or remove it to use only sample_data/ and runs/.")
        return []
    entries = config.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        st.error(f"{path.name}: {key} must be a list of folder paths, such as {key} = [\"/data/thermal\"].")
        return []
    resolved = (_resolved(path.parent / Path(e).expanduser()) for e in entries)
    return [p for p in resolved if p is not None]


def _from_env(variable: str) -> list[Path]:
    return [Path(p).expanduser() for p in os.environ.get(variable, "").split(os.pathsep) if p.strip()]


def _extra_roots(variable: str, key: str) -> list[Path]:
    """Folders from an environment variable (os.pathsep-separated; tests use them) and the config file."""
    from_env = (_resolved(p) for p in _from_env(variable))
    return [*(p for p in from_env if p is not None), *_configured_roots(key)]


def root_problems() -> list[str]:
    """One sentence per configured root that cannot be resolved (a symbolic link loop), naming
    the folder by its last part and the setting that names it, never by its absolute path."""
    config = Path(os.environ.get("SIAMESE_DASHBOARD_CONFIG") or CONFIG_FILE)
    try:
        listed = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        listed = {}
    named = [(p, f"the {variable} setting") for variable in ("SIAMESE_DATA_ROOTS", "SIAMESE_RUN_ROOTS", "SIAMESE_RUNS_DIR")
             for p in _from_env(variable)]
    for key in ("data_roots", "run_roots"):
        entries = listed.get(key, [])
        named += [(config.parent / Path(e).expanduser(), f"{config.name} ({key})") for e in entries if isinstance(e, str)] if isinstance(entries, list) else []
    return [f"The folder {path.name or path} set in {where} is a symbolic link that leads back to itself, so it is skipped; "
            "ask whoever runs the dashboard to fix the link or remove it from that setting."
            for path, where in named if _resolved(path) is None]


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))  # already resolved


def within_roots(path: str | os.PathLike[str], roots: list[Path]) -> bool:
    """Whether ``path``, with ``..`` and symbolic links resolved, lies inside one of ``roots``."""
    return any(inside(path, root) for root in roots)


def runs_root() -> Path:
    """Where new runs and splits go: runs/ in the repository, or SIAMESE_RUNS_DIR (tests use a temporary folder)."""
    default = REPO_ROOT / "runs"
    chosen = Path(os.environ.get("SIAMESE_RUNS_DIR") or default).expanduser()
    return _resolved(chosen) or default


def run_roots() -> list[Path]:
    """Folders that hold runs (or are runs): SIAMESE_RUN_ROOTS first, then runs/ and sample_data/."""
    return _unique([*_extra_roots("SIAMESE_RUN_ROOTS", "run_roots"), runs_root(), SAMPLE_ROOT])


def data_roots() -> list[Path]:
    """Folders searched for datasets: SIAMESE_DATA_ROOTS first, then sample_data/ and runs/ (splits go there)."""
    return _unique([*_extra_roots("SIAMESE_DATA_ROOTS", "data_roots"), SAMPLE_ROOT, runs_root()])


def display_path(path: str | os.PathLike[str], known_roots: list[Path] | None = None) -> str:
    """A path as the user knows it, never the server's absolute path: relative to the
    repository when it lies inside it, else to the data or run root that holds it (named by
    the root's own folder: ``faces/train`` for ``/srv/faces/train``), else its last two parts."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        pass
    holders = [r for r in (known_roots if known_roots is not None else (*data_roots(), *run_roots())) if path == r or r in path.parents]
    if holders:
        root = max(holders, key=lambda r: len(r.parts))  # the innermost root
        return str(Path(root.name) / path.relative_to(root))
    return str(Path("…", *path.parts[-2:]))


def display_paths(paths: list[str]) -> list[str]:
    """Many paths as ``display_path`` writes them (for tables and CSV files), the roots read once."""
    known = [*data_roots(), *run_roots()]
    return [display_path(p, known) for p in paths]


def relative_files(table: pd.DataFrame, column: str = "file") -> pd.DataFrame:
    """A copy of ``table`` (one the dashboard offers for download) with ``column``'s paths relative to their roots."""
    return table.assign(**{column: display_paths([str(p) for p in table[column]])})


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
    """A dataset is a folder with at least one sub-folder that holds images; a run folder is
    not one of them (its embeddings.npy is no thermal frame)."""
    try:
        return any(e.is_dir() and not e.name.startswith(".") and not (Path(e.path) / RUN_FILE).exists() and _has_images(Path(e.path)) for e in os.scandir(folder))
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
        dataset = _is_dataset(folder)
        if dataset:
            found.append(str(folder))
        if depth >= DATASET_SEARCH_DEPTH:
            return
        try:
            children = sorted(e.path for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
        except OSError:
            return
        for child in children:
            # A dataset's class folders (they hold images) are not searched; its other
            # sub-folders may be datasets of their own (a folder of loose probe images beside
            # lab_faces/train and lab_faces/test must not hide those two).
            if not (dataset and _has_images(Path(child))):
                walk(Path(child), depth + 1)

    for root in roots:
        if Path(root).is_dir():
            walk(Path(root), 0)
    return list(dict.fromkeys(found))


def datasets() -> list[Path]:
    """The dataset folders under the data roots (listed again at most every 10 seconds, and at
    once after the dashboard made one: see ``forget_datasets``)."""
    return [Path(p) for p in find_datasets(tuple(str(r) for r in data_roots()))]


def forget_datasets() -> None:
    """List the dataset folders afresh on the next call (after a split, a new run)."""
    find_datasets.clear()


def sibling_dataset(run: siamese.Run, name: str) -> Path | None:
    """The run's data folder's sibling ``name`` (test, unknown) when it is a known dataset."""
    candidate = run.train_dir.parent / name
    return candidate if candidate in datasets() else None
