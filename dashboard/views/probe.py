"""Probe: upload one image and identify it (or reject it as unknown); it is never written to disk."""

from __future__ import annotations

from pathlib import Path

import charts
import loaders
import pickers
import streamlit as st
import thermal_views
import widgets

import siamese
from siamese import selection

NEAREST_SHOWN = 3

st.title("Probe")
run = pickers.require_run()
if run is None or not pickers.require_representatives(run):
    st.stop()

uploaded = st.file_uploader("A face image", type=widgets.UPLOAD_TYPES, help=f"PNG, JPEG, BMP or TIFF, up to {widgets.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. It is processed in memory and not stored.")
if uploaded is None:
    st.info("Upload a thermal face image to identify it against the run's representatives.")
    st.stop()
name, data = uploaded.name, uploaded.getvalue()

if len(data) > widgets.MAX_UPLOAD_BYTES:
    st.error(f"{name} is {len(data) / 1e6:.1f} MB, more than the {widgets.MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit; upload a single smaller image.")
    st.stop()

try:
    first = loaders.probe(run, data)
except siamese.SiameseError as exc:
    st.error(str(exc).replace("the uploaded file", name))
    st.stop()

threshold = widgets.threshold_slider(run, max([*first.distances.values(), run.suggested_threshold()]) * 1.2)
result = loaders.probe(run, data, threshold)

st.caption(f"The slider starts at the run's threshold {widgets.format_threshold(run.suggested_threshold())}, {widgets.threshold_origin(run)}.")
if result.accepted:
    st.success(f"Identified as **{result.predicted_class}** (distance {result.distance:.3g} < threshold {threshold:.3g})")
else:
    st.warning(f"**Unknown person**: the nearest class is {result.predicted_class} at distance {result.distance:.3g}, not below the threshold {threshold:.3g}")

palette = widgets.palette_choice()
cells = st.columns(1 + NEAREST_SHOWN)
with cells[0]:
    st.image(loaders.coloured_bytes(data, palette, run.pixels), caption=f"probe: {name}", width=150)
for cell, (class_name, distance, path) in zip(cells[1:], selection.nearest_representatives(run, result.distances, NEAREST_SHOWN)):
    with cell:
        if path is not None:
            widgets.image_grid([str(path)], [f"{class_name} · distance {distance:.3g}"], palette=palette, columns=1, width=150, pixels=run.pixels)
thermal_views.probe_section(data, name, run, palette)

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.class_distance_bars(result.distances, threshold, result.predicted_class), config=charts.figure_config())
with right:
    table = loaders.recorded_map(run)
    place = selection.place_probe(run, result.embedding, table)
    st.plotly_chart(charts.embedding_map(table, run.class_names, probe_xy=place, title="Approximate place on the t-SNE map (star)", legend=False), config=charts.figure_config())
st.caption(f"Processed in memory: {Path(name).name} was not saved.")
