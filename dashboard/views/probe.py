"""Probe: upload one image and identify it (or reject it as unknown); it is never written to disk."""

from __future__ import annotations

from pathlib import Path

import charts
import streamlit as st
import ui

import siamese
from siamese.maps import image_path
from siamese.probe import place_on_map

NEAREST_SHOWN = 3

st.title("Probe")
run = ui.require_run()
if run is None or not ui.require_representatives(run):
    st.stop()

uploaded = st.file_uploader("A face image", type=ui.UPLOAD_TYPES, help=f"PNG, JPEG, BMP or TIFF, up to {ui.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. It is processed in memory and not stored.")
if uploaded is None:
    st.info("Upload a thermal face image to identify it against the run's representatives.")
    st.stop()
name, data = uploaded.name, uploaded.getvalue()

if len(data) > ui.MAX_UPLOAD_BYTES:
    st.error(f"{name} is {len(data) / 1e6:.1f} MB, more than the {ui.MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit; upload a single smaller image.")
    st.stop()

try:
    first = ui.probe(run, data)
except siamese.SiameseError as exc:
    st.error(str(exc).replace("the uploaded file", name))
    st.stop()

threshold = ui.threshold_slider(run, max([*first.distances.values(), run.suggested_threshold()]) * 1.2)
result = ui.probe(run, data, threshold)

st.caption(f"The slider starts at the run's threshold {ui.format_threshold(run.suggested_threshold())}, {ui.threshold_origin(run)}.")
if result.accepted:
    st.success(f"Identified as **{result.predicted_class}** (distance {result.distance:.3g} < threshold {threshold:.3g})")
else:
    st.warning(f"**Unknown person**: the nearest class is {result.predicted_class} at distance {result.distance:.3g}, not below the threshold {threshold:.3g}")

palette = st.session_state.get("_palette_choice", "gray")
items = {item["class"]: item for item in run.representatives()["items"]}
nearest = sorted(result.distances.items(), key=lambda kv: kv[1])[:NEAREST_SHOWN]
cells = st.columns(1 + NEAREST_SHOWN)
with cells[0]:
    st.image(ui.coloured_bytes(data, palette), caption=f"probe: {name}", width=150)
for cell, (class_name, distance) in zip(cells[1:], nearest):
    with cell:
        item = items.get(class_name)
        path = run.path / item["copy"] if item and (run.path / item["copy"]).exists() else image_path(run, item["file"]) if item else None
        if path is not None:
            ui.image_grid([str(path)], [f"{class_name} · distance {distance:.3g}"], palette=palette, columns=1, width=150)

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.class_distance_bars(result.distances, threshold, result.predicted_class), config=charts.figure_config())
with right:
    table = ui.training_map(str(run.path.resolve()), run.representatives()["method"], float(run.representatives()["perplexity"]), int(run.representatives()["seed"]), ui.run_stamp(run.path))
    xy = place_on_map(result.embedding, run.training_embeddings(), table[["x", "y"]].to_numpy())
    st.plotly_chart(charts.embedding_map(table, run.class_names, probe_xy=(float(xy[0]), float(xy[1])), title="Approximate place on the t-SNE map (star)", legend=False), config=charts.figure_config())
st.caption(f"Processed in memory: {Path(name).name} was not saved.")
