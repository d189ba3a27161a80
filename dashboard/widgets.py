"""Small widgets shared by the pages: the threshold slider and buttons, image grids, the palette.

The threshold and the palette are remembered in the session, so every page that shows
them starts from the user's last choice.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import loaders
import messages
import streamlit as st

import siamese
from siamese.data.palettes import PALETTES
from siamese.scoring.neighbours import DEFAULT_NEIGHBOURS, Neighbour

# Probes are single thermal frames; the same limit is set in .streamlit/config.toml
# (server.maxUploadSize) and checked again here for callers that bypass the browser.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PALETTE_KEY = "_palette_choice"
DEFAULT_PALETTE = "gray"
SUGGESTION_LABELS = {"eer": "Equal error", "best_balance": "Best balance", "target_far": "1% accepted"}
# One precision for every threshold the dashboard writes: buttons, captions, verdicts, chart
# labels and the slider's own label (printf-style, drawn by the browser) give the same digits.
THRESHOLD_DIGITS = 4
SLIDER_FORMAT = f"%.{THRESHOLD_DIGITS}g"
SLIDER_POSITIONS = 200  # about this many arrow-key steps over the slider's range


# Threshold ----------------------------------------------------------------------------------
def threshold_origin(run: siamese.Run) -> str:
    """Where the run's threshold came from, in a few words, for captions."""
    record = run.threshold_record()
    if record["source"] == "calibration":
        return f"set so that {record['target_frr']:.0%} of known faces the network never trained on are rejected"
    return "the equal-error point of the training images (not calibrated)"




def format_threshold(value: float) -> str:
    """A threshold (or a distance, or a margin) written the same way on every page: 0.256, 0.0888, 0.1015."""
    return f"{value:.{THRESHOLD_DIGITS}g}"


def human_date(stamp: str) -> str:
    """An ISO timestamp as people write a date: 29 Nov 2026, 09:26 UTC (the text itself when it is no timestamp)."""
    try:
        when = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    zone = when.tzname() or ""
    return when.strftime("%-d %b %Y, %H:%M") + (f" {'UTC' if zone in ('UTC', 'UTC+00:00') else zone}" if zone else "")


def threshold_key(run: siamese.Run) -> str:
    return f"threshold:{run.path.resolve()}"


def set_threshold(run: siamese.Run, value: float) -> None:
    """Set the run's threshold (callbacks call this before the slider is drawn)."""
    st.session_state[threshold_key(run)] = float(value)
    widget = st.session_state.get("_widget:" + threshold_key(run))
    if widget:
        st.session_state[widget] = float(value)


def threshold_step(max_value: float) -> tuple[float, int]:
    """A slider step a person can use, and its decimals: about 1/200 of the slider's range
    (``SLIDER_POSITIONS``), rounded down to 1, 2 or 5 times a power of ten, so each arrow-key
    press moves the threshold visibly (200 to 500 positions).

    Distances depend on the network: a barely trained one keeps every image within
    0.001 of every other, a trained one spreads them over about 1. The buttons set exact
    values between two steps: the slider keeps such a value as it is, and shows it to
    ``THRESHOLD_DIGITS`` significant digits.
    """
    raw = max(max_value, 1e-9) / SLIDER_POSITIONS
    power = math.floor(math.log10(raw))
    mantissa = raw / 10.0**power * (1 + 1e-9)  # 5.0 must not read as 4.999...
    step = max(m for m in (1, 2, 5) if m <= mantissa) * 10.0**power
    return step, max(0, -power)


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
        st.session_state[widget] = min(max(float(st.session_state.get(key, run.suggested_threshold())), 0.0), top)
    st.session_state["_widget:" + key] = widget
    threshold = st.slider(
        "Threshold (distance)", min_value=0.0, max_value=top, step=step, format=SLIDER_FORMAT, key=widget,
        help="An image is identified when its nearest class is closer than this; unknown otherwise.",
    )
    st.session_state[key] = float(threshold)
    return float(threshold)


def named_thresholds(record: dict[str, Any], suggestions: dict[str, dict[str, Any]]) -> dict[str, tuple[str, float, str]]:
    """The thresholds worth a button, by name: (label, value, what it is) for the run's own,
    the training images' one (when the run's is calibrated) and each suggestion."""
    named = {"run": ("Run's", record["threshold"], f"The run's own threshold: {record['criterion']}")}
    if record["source"] == "calibration":
        named["training"] = ("Training", record["training_threshold"], "The first version's threshold: the equal-error point of the training images' own-class and other-class distances. "
                             "The network has fitted those images, so it lets many strangers in.")
    return named | {name: (SUGGESTION_LABELS.get(name, name), s["threshold"], s["criterion"]) for name, s in suggestions.items()}


def threshold_buttons(run: siamese.Run, suggestions: dict[str, dict[str, Any]]) -> None:
    """A row of buttons (``suggest-NAME``) that each move the threshold to a named one."""
    named = named_thresholds(run.threshold_record(), suggestions)
    # One row of buttons as wide as their labels (equal columns cut "1% accepted: 0.07325" off), wrapping when narrow.
    with st.container(horizontal=True):
        for name, (label, value, criterion) in named.items():
            st.button(f"{label}: {format_threshold(value)}", key=f"suggest-{name}", help=criterion, on_click=set_threshold, args=(run, value))


# Images -------------------------------------------------------------------------------------
def image_grid(paths: list[str], captions: list[str], palette: str = DEFAULT_PALETTE, columns: int = 6, width: int = 120, pixels: Any = None) -> None:
    """Images in rows of ``columns``, each at its true aspect ratio; unreadable ones say why.
    ``pixels``: a run's mapping (``siamese.data.thermal_pixels.PixelMapping``) to read them with, e.g. its temperature window."""
    for start in range(0, len(paths), columns):
        cells = st.columns(columns)
        for cell, path, caption in zip(cells, paths[start : start + columns], captions[start : start + columns]):
            with cell:
                try:
                    st.image(loaders.coloured(path, palette, pixels), caption=messages.plain(caption), width=width)
                except siamese.SiameseError as exc:
                    st.caption(f"{messages.plain(caption)}: {messages.user_message(exc)}")


def image_row(paths: list[str], captions: list[str], palette: str = DEFAULT_PALETTE, width: int = 110, pixels: Any = None) -> None:
    """A few images side by side in one element (they wrap instead of overflowing a narrow cell)."""
    images, shown = [], []
    for path, caption in zip(paths, captions):
        try:
            images.append(loaders.coloured(path, palette, pixels))
            shown.append(messages.plain(caption))
        except siamese.SiameseError as exc:
            st.caption(f"{messages.plain(caption)}: {messages.user_message(exc)}")
    if images:
        st.image(images, caption=shown, width=width)


# Neighbours ---------------------------------------------------------------------------------
MAX_NEIGHBOURS = 50


def neighbours_input(key: str) -> int:
    """How many nearest training images to show (default 5), remembered across pages."""
    return int(st.number_input(
        "Nearest training images", min_value=1, max_value=MAX_NEIGHBOURS, value=DEFAULT_NEIGHBOURS, step=1, key=key,
        help="The training images closest to it in the learned embedding, whatever their class.",
    ))


def neighbour_grid(found: list[Neighbour], palette: str, columns: int = 5, width: int = 110, pixels: Any = None) -> None:
    """Training images near a probe or a map point, nearest first: rank, class, file and distance,
    read with ``pixels`` (the run's mapping, e.g. its temperature window) like the run's other images."""
    image_grid(
        [str(n.path) for n in found],
        [f"{i}. {n.class_name} · {Path(n.file).name} · {format_threshold(n.distance)}" for i, n in enumerate(found, start=1)],
        palette=palette, columns=columns, width=width, pixels=pixels,
    )


# Palette ------------------------------------------------------------------------------------
def palette_choice() -> str:
    """The display palette last chosen on any page (gray until one is chosen)."""
    return st.session_state.get(PALETTE_KEY, DEFAULT_PALETTE)


def palette_select(key: str = "palette") -> str:
    """Display palette (gray, inferno, ironbow), remembered across pages."""
    return st.segmented_control("Palette", PALETTES, default=palette_choice(), key=key, on_change=_remember_palette, args=(key,)) or DEFAULT_PALETTE


def _remember_palette(key: str) -> None:
    st.session_state[PALETTE_KEY] = st.session_state.get(key) or DEFAULT_PALETTE
