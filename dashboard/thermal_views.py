"""Temperatures on the pages: per-class histograms, a heat map with degrees Celsius under the
cursor, the Train form's unit, window and palette read-back inputs, and the mapping thumbnails use.

The numbers come from ``siamese.data.dataset_temperatures`` and ``siamese.data.thermal_pixels``; this module caches
them, turns them into Plotly figures and draws the page sections that call them.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import messages
import numpy as np
import plotly.graph_objects as go
import roots
import streamlit as st

import siamese
from siamese.data import dataset_temperatures as temperatures
from siamese.data.folders import MAX_IMAGE_PIXELS, decode_image
from siamese.data.palettes import palette_table
from siamese.data.thermal_pixels import READBACK_PALETTES, UNITS, PixelMapping, celsius_of_file, parse_window

LAYOUT: dict[str, Any] = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "template": "plotly_white"}
BIN_CELSIUS = 0.25
UNIT_LABELS = {"counts": "counts (no temperature)", "celsius": "°C", "kelvin": "K", "centikelvin": "0.01 K (centikelvin)"}
NO_READBACK = "none"
HEATMAP_SIDE = 256  # the most cells a heat map draws a side (bigger frames are block-averaged)
HEATMAP_CACHE_ENTRIES = 32


# Numbers, cached ----------------------------------------------------------------------------
@st.cache_data(ttl=60, show_spinner=False)
def guessed_unit(dataset: str) -> str | None:
    """The dataset's likely temperature unit (``siamese.data.dataset_temperatures.guess_unit``), None for 8-bit data."""
    return temperatures.guess_unit(siamese.scan_folder(dataset))


@st.cache_data(ttl=60, show_spinner="Reading temperatures...")
def class_temperatures(dataset: str, unit: str) -> dict[str, np.ndarray]:
    return temperatures.class_temperatures(siamese.scan_folder(dataset), unit)


@st.cache_data(ttl=60, show_spinner=False)
def suggested_window(dataset: str, unit: str) -> tuple[float, float] | None:
    return temperatures.suggest_window(siamese.scan_folder(dataset), unit)


@st.cache_data(ttl=60, show_spinner=False)
def skin_range(dataset: str, unit: str) -> tuple[float, float] | None:
    return temperatures.skin_range(siamese.scan_folder(dataset), unit)


@st.cache_data(max_entries=HEATMAP_CACHE_ENTRIES, show_spinner=False)
def file_celsius(source: str | bytes, unit: str) -> tuple[np.ndarray, int, float, float]:
    """A frame's temperatures as the heat map draws them (``shrink``), and the full frame's
    lowest and highest. Only the small array is kept: ``HEATMAP_CACHE_ENTRIES`` of at most
    ``HEATMAP_SIDE``² float32 cells (256 KB), 8 MB in all, whatever the frames' size."""
    celsius = celsius_of_file(source, unit, MAX_IMAGE_PIXELS)
    small, step = shrink(celsius)
    return small, step, float(np.nanmin(celsius)), float(np.nanmax(celsius))


def shrink(frame: np.ndarray, side: int = HEATMAP_SIDE) -> tuple[np.ndarray, int]:
    """``frame`` reduced to at most ``side`` cells a side, keeping its aspect: the mean of each
    step x step block (edge blocks padded with their edge values), and the step (1: unchanged).
    A browser draws and hovers a few hundred cells a side at once; a 4096x4096 frame is 16.7 million."""
    step = max(1, -(-max(frame.shape) // side))
    if step == 1:
        return frame.astype(np.float32), 1
    height, width = -(-frame.shape[0] // step), -(-frame.shape[1] // step)
    padded = np.pad(frame, ((0, height * step - frame.shape[0]), (0, width * step - frame.shape[1])), mode="edge")
    return padded.reshape(height, step, width, step).mean(axis=(1, 3), dtype=np.float64).astype(np.float32), step


def display_pixels(run: siamese.Run | None, first_file: str | os.PathLike[str] | None) -> PixelMapping:
    """The mapping thumbnails are drawn with: the run's (its temperature window or palette
    read-back) when it reads this data, else the default (each frame over its own range)."""
    if run is None or run.pixels.is_default or first_file is None:
        return PixelMapping()
    try:
        decode_image(first_file, pixels=run.pixels)
    except siamese.SiameseError:
        return PixelMapping()
    return run.pixels


# Figures ---------------------------------------------------------------------------------------
def colour_scale(palette: str) -> list[list[Any]]:
    """A display palette as a Plotly colour scale."""
    table = palette_table(palette)
    return [[i / 255.0, f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(table) if i % 15 == 0 or i == 255]


def temperature_histograms(values: dict[str, np.ndarray], window: tuple[float, float] | None = None) -> go.Figure:
    """Each class's pixel temperatures as one row of a histogram heat map (share of its pixels per 0.25 °C)."""
    every = np.concatenate([v for v in values.values() if v.size]) if any(v.size for v in values.values()) else np.zeros(1)
    edges = np.arange(np.floor(every.min()), np.ceil(every.max()) + BIN_CELSIUS, BIN_CELSIUS)
    if edges.size < 2:
        edges = np.array([every.min() - BIN_CELSIUS, every.min() + BIN_CELSIUS])
    shares = np.array([np.histogram(v, edges)[0] / max(v.size, 1) * 100 for v in values.values()])
    fig = go.Figure(go.Heatmap(
        x=(edges[:-1] + edges[1:]) / 2, y=[html.escape(name) for name in values], z=shares, colorscale=colour_scale("inferno"), colorbar={"title": "% of pixels"},
        hovertemplate="%{y}<br>%{x:.2f} °C: %{z:.2f}% of pixels<extra></extra>",
    ))
    if window is not None:
        for edge in window:
            fig.add_vline(x=edge, line={"color": "#2a9d8f", "dash": "dash", "width": 2})
    fig.update_layout(**LAYOUT, height=120 + 18 * len(values), title="Temperature histogram per class (sampled pixels)",
                      xaxis_title="temperature (°C)", yaxis={"autorange": "reversed"})
    return fig


def temperature_heatmap(celsius: np.ndarray, palette: str, window: tuple[float, float] | None = None, title: str = "", step: int = 1) -> go.Figure:
    """One frame's temperatures, coloured with a display palette (over ``window`` when given);
    the hover label gives the pixel and its temperature in degrees Celsius. ``step``: each
    cell is the mean of step x step pixels (``shrink``); the axes still count the frame's pixels."""
    low, high = window if window is not None else (float(np.nanmin(celsius)), float(np.nanmax(celsius)))
    where = "column %{x}, row %{y}" + (f" (mean of {step}×{step} pixels)" if step > 1 else "")
    fig = go.Figure(go.Heatmap(
        z=celsius, x=np.arange(celsius.shape[1]) * step, y=np.arange(celsius.shape[0]) * step,
        zmin=low, zmax=high, colorscale=colour_scale(palette), colorbar={"title": "°C"},
        hovertemplate=where + "<br><b>%{z:.2f} °C</b><extra></extra>",
    ))
    fig.update_layout(**LAYOUT, height=380, title=title)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showgrid=False)
    fig.update_xaxes(showgrid=False, constrain="domain")
    return fig


# Page sections ---------------------------------------------------------------------------------
def dataset_section(dataset: Path, listing: siamese.Listing, run: siamese.Run | None, palette: str) -> None:
    """Data page: for a radiometric dataset, each class's temperature histogram and a chosen
    image's heat map with degrees Celsius on hover. Draws nothing for 8-bit data."""
    run_unit = run.pixels.unit if run is not None and run.pixels.radiometric else None
    unit = guessed_unit(str(dataset)) or run_unit
    if unit is None:
        return
    st.subheader("Temperatures")
    cols = st.columns([1, 2])
    default = run_unit if run_unit and display_pixels(run, listing.paths[0]).radiometric else unit
    unit = cols[0].selectbox("Values are in", UNITS[1:], index=UNITS[1:].index(default), format_func=UNIT_LABELS.get, key="data_unit",
                             help="Guessed from the values (the unit that puts the frames' median between -30 and 60 °C); the run's own unit when it was trained on these frames.")
    window, skin = suggested_window(str(dataset), unit), skin_range(str(dataset), unit)
    if window is not None and skin is not None:
        cols[1].caption(f"Skin (the warmest fifth of each frame) lies mostly between {skin[0]:.1f} and {skin[1]:.1f} °C. "
                        f"Suggested temperature window, from the room to above the skin: **{window[0]:g}:{window[1]:g}** °C, the same for every image (Train page).")
    shown = run.pixels.window if run is not None and run.pixels.window and run_unit == unit else window
    st.plotly_chart(temperature_histograms(class_temperatures(str(dataset), unit), shown), config={"displaylogo": False})
    names = [roots.display_path(p) for p in listing.paths]
    chosen = st.selectbox("Image for the heat map", range(len(names)), format_func=lambda i: names[i], key="data_heatmap_image")
    try:
        celsius, step, coldest, warmest = file_celsius(str(listing.paths[chosen]), unit)
    except siamese.SiameseError as exc:
        st.warning(messages.plain(str(exc).replace(str(listing.paths[chosen]), names[chosen])))
        return
    st.plotly_chart(temperature_heatmap(celsius, palette, shown, f"{html.escape(Path(names[chosen]).name)}: {coldest:.1f} to {warmest:.1f} °C", step),
                    config={"displaylogo": False}, key="data_heatmap")
    st.caption("Hover the heat map for each pixel's temperature." + (f" Colours span the window {shown[0]:g}-{shown[1]:g} °C." if shown else ""))


def probe_section(data: bytes, name: str, run: siamese.Run, palette: str) -> None:
    """Probe page: the uploaded frame's heat map in degrees Celsius, for a radiometric run."""
    if not run.pixels.radiometric:
        return
    try:
        celsius, step, coldest, warmest = file_celsius(data, run.pixels.unit)
    except siamese.SiameseError as exc:
        st.warning(messages.plain(str(exc).replace("the uploaded file", name)))
        return
    title = f"{html.escape(name)}: {coldest:.1f} to {warmest:.1f} °C ({run.pixels.describe()})"
    st.plotly_chart(temperature_heatmap(celsius, palette, run.pixels.window, title, step),
                    config={"displaylogo": False}, key="probe_heatmap")


def train_inputs(dataset: Path | None, defaults: siamese.TrainConfig) -> dict[str, Any]:
    """Train form: the unit, temperature window and palette read-back inputs, as TrainConfig settings.

    The window's placeholder is the one the data's skin temperatures suggest.
    """
    unit_guess = guessed_unit(str(dataset)) if dataset is not None else None
    suggestion = suggested_window(str(dataset), unit_guess) if unit_guess else None
    hint = f"{suggestion[0]:g}:{suggestion[1]:g}" if suggestion else None
    cols = st.columns(3)
    unit = cols[0].selectbox(
        "Pixel values are", list(UNITS), index=UNITS.index(defaults.unit), format_func=UNIT_LABELS.get,
        help="For 16-bit PNG/TIFF, float TIFF and .npy frames: the temperature unit of their values. Counts: no temperature, each frame stretched over its own range."
             + (f" These frames look like {UNIT_LABELS[unit_guess]}." if unit_guess else ""),
    )
    text = cols[1].text_input(
        "Temperature window (°C)", value="",
        placeholder=f"suggested {hint}" if hint else "blank: per frame",
        help="LOW:HIGH degrees mapped to the network's 0..1 and clipped, the same for every image (needs a temperature unit). "
             "Blank: each frame stretched over its own range. "
             + (f"Suggested from the temperatures of the data: {hint}." if hint else
                "These images hold no temperatures (8-bit), so no window is suggested; a window such as 28:38 applies to radiometric frames."),
    )
    palette = cols[2].selectbox(
        "Palette read-back", [NO_READBACK, *READBACK_PALETTES], help="For 8-bit colour exports: read each pixel back to its place on this palette (one value per pixel). "
        "Auto detects the palette from the colours.",
    )
    return {"unit": unit, "window": text, "palette": None if palette == NO_READBACK else palette}


def pixel_settings(inputs: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig settings of ``train_inputs``' values; raises SiameseError for a bad window."""
    text = inputs["window"].strip()
    return {**inputs, "window": list(parse_window(text)) if text else None}
