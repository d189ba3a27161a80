"""Small widgets shared by the pages: the threshold slider and buttons, image grids, the palette.

The threshold and the palette are remembered in the session, so every page that shows
them starts from the user's last choice.
"""

from __future__ import annotations

import math
from typing import Any

import loaders
import streamlit as st

import siamese
from siamese.palettes import PALETTES

# Probes are single thermal frames; the same limit is set in .streamlit/config.toml
# (server.maxUploadSize) and checked again here for callers that bypass the browser.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "npy"]
PALETTE_KEY = "_palette_choice"
DEFAULT_PALETTE = "gray"
SUGGESTION_LABELS = {"eer": "Equal error", "best_balance": "Best balance", "target_far": "1% accepted"}


# Threshold ----------------------------------------------------------------------------------
def threshold_origin(run: siamese.Run) -> str:
    """Where the run's threshold came from, in a few words, for captions."""
    record = run.threshold_record()
    if record["source"] == "calibration":
        return f"set so that {record['target_frr']:.0%} of known faces the network never trained on are rejected"
    return "the equal-error point of the training images (not calibrated)"


def format_threshold(value: float) -> str:
    """A threshold written the same way everywhere (buttons, captions, slider): four significant digits."""
    return f"{value:.4g}"


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
    for button, (name, (label, value, criterion)) in zip(st.columns(len(named)), named.items()):
        button.button(f"{label}: {format_threshold(value)}", key=f"suggest-{name}", help=criterion, on_click=set_threshold, args=(run, value))


# Images -------------------------------------------------------------------------------------
def image_grid(paths: list[str], captions: list[str], palette: str = DEFAULT_PALETTE, columns: int = 6, width: int = 120, pixels: Any = None) -> None:
    """Images in rows of ``columns``, each at its true aspect ratio; unreadable ones say why.
    ``pixels``: a run's mapping (``siamese.thermal.PixelMapping``) to read them with, e.g. its temperature window."""
    for start in range(0, len(paths), columns):
        cells = st.columns(columns)
        for cell, path, caption in zip(cells, paths[start : start + columns], captions[start : start + columns]):
            with cell:
                try:
                    st.image(loaders.coloured(path, palette, pixels), caption=caption, width=width)
                except siamese.SiameseError as exc:
                    st.caption(f"{caption}: {exc}")


def image_row(paths: list[str], captions: list[str], palette: str = DEFAULT_PALETTE, width: int = 110, pixels: Any = None) -> None:
    """A few images side by side in one element (they wrap instead of overflowing a narrow cell)."""
    images, shown = [], []
    for path, caption in zip(paths, captions):
        try:
            images.append(loaders.coloured(path, palette, pixels))
            shown.append(caption)
        except siamese.SiameseError as exc:
            st.caption(f"{caption}: {exc}")
    if images:
        st.image(images, caption=shown, width=width)


# Palette ------------------------------------------------------------------------------------
def palette_choice() -> str:
    """The display palette last chosen on any page (gray until one is chosen)."""
    return st.session_state.get(PALETTE_KEY, DEFAULT_PALETTE)


def palette_select(key: str = "palette") -> str:
    """Display palette (gray, inferno, ironbow), remembered across pages."""
    return st.segmented_control("Palette", PALETTES, default=palette_choice(), key=key, on_change=_remember_palette, args=(key,)) or DEFAULT_PALETTE


def _remember_palette(key: str) -> None:
    st.session_state[PALETTE_KEY] = st.session_state.get(key) or DEFAULT_PALETTE
