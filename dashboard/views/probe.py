"""Probe: upload one image and identify it (or reject it as unknown); it is never written to disk."""

from __future__ import annotations

from pathlib import Path

import charts
import loaders
import messages
import pickers
import roots
import streamlit as st
import thermal_views
import view_selection as selection
import widgets

import siamese
from siamese.scoring.neighbours import nearest_training_images
from siamese.scoring.probe import NARROW_MARGIN, calibration_reject_rate

NEAREST_SHOWN = 3

st.title("Probe")
run = pickers.require_run()
if run is None or not pickers.require_representatives(run):
    st.stop()

# No type filter: the browser would refuse another file type on its own, leaving the last
# verdict on the page; the file's content decides, and a refusal replaces the verdict.
uploaded = st.file_uploader(
    "A face image", key=f"probe_upload:{run.path}",
    help=f"PNG, JPEG, BMP, TIFF or a .npy thermal frame, up to {widgets.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. It is processed in memory and not stored.",
)
if uploaded is None:
    enrolled = len(run.identities) - len(run.class_names)
    st.info(f"Upload a thermal face image to identify it against the run's {len(run.identities)} people "
            f"({len(run.class_names)} trained, {enrolled} enrolled on the Gallery page).")
    st.stop()
name, data = uploaded.name, uploaded.getvalue()

if len(data) > widgets.MAX_UPLOAD_BYTES:
    st.error(f"{messages.plain(name)} is {len(data) / 1e6:.1f} MB, more than the {widgets.MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit; choose a single smaller image.")
    st.stop()

try:
    first = loaders.probe(run, data)
except siamese.SiameseError as exc:
    st.error(messages.upload_message(exc, name))
    st.stop()

threshold = widgets.threshold_slider(run, max([*first.distances.values(), run.suggested_threshold()]) * 1.2)
result = loaders.probe(run, data, threshold)
shown = widgets.format_threshold

st.caption(f"The slider starts at the run's threshold {shown(run.suggested_threshold())}, {widgets.threshold_origin(run)}.")
share = f"{abs(result.relative_margin):.0%} of the threshold"
if result.narrow:
    st.warning(
        f"Identified as **{messages.plain(result.predicted_class)}**, narrowly: distance {shown(result.distance)} is only {shown(result.margin)} below the "
        f"threshold {shown(threshold)} ({share}; within {NARROW_MARGIN:.0%} a slightly stricter threshold would turn this face away). "
        "Compare it with its nearest training images below.",
        icon=":material/warning:",
    )
elif result.accepted:
    st.success(f"Identified as **{messages.plain(result.predicted_class)}**: distance {shown(result.distance)} is "
               f"{result.distance / threshold:.0%} of the threshold {shown(threshold)}")
else:
    st.warning(
        f"**Unknown person**: the nearest class is {messages.plain(result.predicted_class)} at distance {shown(result.distance)}, "
        f"not below the threshold {shown(threshold)} ({shown(-result.margin)} above it, {share})"
    )

risk = []
rejected = calibration_reject_rate(run, threshold)
if rejected is not None:
    risk.append(f"**{rejected[0]:.1%}** of the run's {rejected[1]} calibration images (known faces it never trained on) would be rejected")
own_test, strangers = pickers.own_test_set(run), roots.sibling_dataset(run, "unknown")
if strangers is not None:
    try:
        accepted = loaders.evaluation(run, own_test, strangers).at(threshold).unknown()[2]
        risk.append(f"**{accepted.mean():.1%}** of the {len(accepted)} strangers in {messages.code(roots.display_path(strangers))} would be accepted (false-accept rate)")
    except siamese.SiameseError as exc:
        risk.append(f"the false-accept rate could not be measured ({messages.user_message(exc)})")
else:
    risk.append("the false-accept rate is not known: this run's training data has no `unknown` folder of strangers beside it "
                "(the Evaluate page measures it on any unknown set you choose)")
st.markdown("At this threshold " + "; ".join(risk) + ".",
            help=f"An identification within {NARROW_MARGIN:.0%} of the threshold (margin below {NARROW_MARGIN:.0%} of it) is shown as a warning, "
                 "not a success. Rates come from the run's recorded calibration distances and, when the run's data has one, its unknown set.")

palette = widgets.palette_choice()
cells = st.columns(1 + NEAREST_SHOWN)
with cells[0]:
    st.image(loaders.coloured_bytes(data, palette, run.pixels), caption=f"probe: {messages.plain(name)}", width=150)
for cell, (class_name, distance, path) in zip(cells[1:], selection.nearest_representatives(run, result.distances, NEAREST_SHOWN)):
    with cell:
        if path is not None:
            widgets.image_grid([str(path)], [f"{class_name} · distance {shown(distance)}"], palette=palette, columns=1, width=150, pixels=run.pixels)
thermal_views.probe_section(data, name, run, palette)

st.subheader("Nearest training images")
with st.columns([1, 3])[0]:
    k = widgets.neighbours_input("probe_neighbours")
try:
    found = nearest_training_images(loaders.training_set(run), result.embedding, k)
except siamese.SiameseError as exc:
    st.error(messages.user_message(exc))
else:
    st.caption(f"The {len(found)} training images closest to the probe in the learned embedding, whatever their class; their classes show "
               "whether the verdict stands on one person's images or on a mix.")
    # 150 px: a caption as wide as its image keeps a file name such as person_03_024.png on one line.
    widgets.neighbour_grid(found, palette, width=150, pixels=run.pixels)

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.class_distance_bars(result.distances, threshold, result.predicted_class, threshold_text=shown(threshold)), config=charts.figure_config())
with right:
    table = loaders.recorded_map(run)
    place = selection.place_probe(run, result.embedding, table)
    record = run.representatives()
    enrolled = loaders.placed_enrolled(run, record["method"], record["perplexity"], record["seed"])
    st.plotly_chart(charts.embedding_map(table, run.class_names, probe_xy=place, title="Approximate place on the t-SNE map (star)", legend=False, enrolled=enrolled),
                    config=charts.figure_config())
st.caption(f"Processed in memory: {messages.plain(Path(name).name)} was not saved.")
