"""The Embeddings map's selected points, kept across reruns, and the images they stand for.

A Plotly selection reports point indices per trace, so every point of the map carries
its global row in ``customdata[0]`` (training rows first, then test images, then the
enrolled people's images; ``placed_points`` joins the last two in that order). Streamlit
clears a chart's selection whenever the figure changes (other map settings, test images
shown or hidden), so the chosen rows are kept in the session and replaced only by a new
selection on the same map; Clear empties them, and another run starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import siamese
from siamese.maps.training_maps import image_path
from siamese.scoring.neighbours import Neighbour, TrainingEmbeddings, nearest_training_images

SELECTION_KEY = "map_selection"
SHOWN = 24  # at most this many selected images are drawn


@dataclass(frozen=True)
class MapSelection:
    """The selection of one run's map.

    Attributes:
        run: the run folder it belongs to.
        identity: the map it was made on (run, settings, test folder): when it changes,
            the chart's own selection is empty but the rows are kept.
        rows: the selected global rows.
        last: the rows the chart reported last, so that an unchanged report (after
            Clear, say) does not select them again.
    """

    run: str
    identity: tuple[Any, ...]
    rows: tuple[int, ...] = ()
    last: tuple[int, ...] = ()


def event_rows(event: Any) -> tuple[int, ...]:
    """The global rows of the points in a chart's selection event (sorted, each once)."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    return tuple(sorted({int(p["customdata"][0]) for p in points if p.get("customdata") is not None}))


def update(previous: MapSelection | None, run: str, identity: tuple[Any, ...], reported: tuple[int, ...]) -> MapSelection:
    """The selection after the chart reported ``reported`` on the map ``identity`` of ``run``."""
    selection = previous if previous is not None and previous.run == run else MapSelection(run=run, identity=identity)
    if selection.identity != identity:  # a new figure: its selection starts empty, keep ours unless a new one came
        selection = replace(selection, identity=identity, rows=reported or selection.rows)
    elif reported != selection.last:  # a new selection on the same map
        selection = replace(selection, rows=reported)
    return replace(selection, last=reported)


def cleared(selection: MapSelection) -> MapSelection:
    """The selection with no rows (the chart's last report is kept, so it does not come back)."""
    return replace(selection, rows=())


def placed_points(overlay: pd.DataFrame | None, enrolled: pd.DataFrame | None) -> pd.DataFrame | None:
    """The points placed on the map after the training images, in the chart's row order: test
    images, then enrolled people's images; ``kind`` says which (``test`` or ``enrolled``)."""
    parts = [part.assign(kind=kind) for part, kind in ((overlay, "test"), (enrolled, "enrolled")) if part is not None and len(part)]
    return pd.concat(parts, ignore_index=True) if parts else None


def visible_rows(selection: MapSelection, table: pd.DataFrame, overlay: pd.DataFrame | None) -> list[int]:
    """The selected rows that exist on the current map: the training ``table``, then the ``overlay`` of test images."""
    n_points = len(table) + (len(overlay) if overlay is not None else 0)
    return [r for r in selection.rows if r < n_points]


def follow(event: Any, run: str, identity: tuple[Any, ...]) -> MapSelection:
    """Update the session's selection from the chart's event, and return it."""
    previous = st.session_state.get(SELECTION_KEY)
    selection = update(previous if isinstance(previous, MapSelection) else None, run, identity, event_rows(event))
    st.session_state[SELECTION_KEY] = selection
    return selection


def clear(selection: MapSelection) -> None:
    """Empty the session's selection (the Clear button)."""
    st.session_state[SELECTION_KEY] = cleared(selection)


def selected_images(run: siamese.Run, table: pd.DataFrame, overlay: pd.DataFrame | None, rows: list[int], limit: int = SHOWN) -> tuple[list[str], list[str]]:
    """Image files and captions of the first ``limit`` selected rows: training images with
    their class and distance to the representative, then test images placed on the map."""
    paths, captions = [], []
    for r in rows[:limit]:
        if r < len(table):
            row = table.iloc[r]
            paths.append(str(image_path(run, row["file"])))
            captions.append(f"{row['class']} · {Path(row['file']).name} · {row['distance_to_representative']:.3g}")
        elif overlay is not None:
            row = overlay.iloc[r - len(table)]
            paths.append(row["file"])
            kind = row.get("kind", "test")
            captions.append(f"{row['class']} (enrolled) · {Path(row['file']).name}" if kind == "enrolled" else f"test {row['class']} · {Path(row['file']).name}")
    return paths, captions


def point_file(table: pd.DataFrame, overlay: pd.DataFrame | None, row: int) -> tuple[str, bool]:
    """The file a point of the map stands for (as the map holds it), and whether it is a training image."""
    if row < len(table):
        return str(table.iloc[row]["file"]), True
    return str(overlay.iloc[row - len(table)]["file"]) if overlay is not None else "", False


def point_neighbours(training: TrainingEmbeddings, embedding: Any, row: int, is_training: bool, k: int) -> list[Neighbour]:
    """A map point's ``k`` nearest training images in embedding space; a training point is not its own neighbour."""
    return nearest_training_images(training, embedding, k, exclude=row if is_training else None)

