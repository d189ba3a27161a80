"""Data: the selected dataset as a gallery per class, skipped files, and a seeded train/test split."""

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
from siamese.runs.jobs import unique_run_name

SPLIT_DONE_KEY = "_split_done"

st.title("Data")
dataset = pickers.selected_dataset()
if dataset is None:
    if roots.datasets():
        st.info("No dataset is chosen: the selected run's own data is not among the data folders. Choose one in the sidebar's Dataset picker.")
    else:
        st.warning("No dataset found. Put a folder with one sub-folder of images per class under `sample_data/` or `runs/`, or list its folder "
                   "in `dashboard.toml` (`data_roots`); it appears in the sidebar's Dataset picker within seconds.")
    st.stop()

try:
    listing = loaders.scan(str(dataset))
except siamese.SiameseError as exc:
    st.error(messages.user_message(exc))
    st.stop()

counts = listing.counts()
st.markdown(f"{messages.code(roots.display_path(dataset))}: **{len(listing.paths)} images** in **{len(counts)} classes**, {len(listing.skipped)} skipped.")
if len(set(counts.values())) > 1:  # a chart of equal bars says nothing
    st.plotly_chart(charts.class_counts(counts), config=charts.figure_config())
elif counts:
    st.caption(f"Every class has {next(iter(counts.values()))} images.")

top = st.columns([2, 1, 1])
with top[0]:
    palette = widgets.palette_select()
with top[1]:
    per_class = st.number_input("Thumbnails per class", min_value=1, max_value=60, value=6, step=1)
with top[2]:
    width = st.select_slider("Thumbnail width", options=[80, 120, 160, 240], value=120)
st.caption("The palette is for display only; the network always sees the original pixels.")
run = pickers.selected_run()
thermal_views.dataset_section(dataset, listing, run, palette)
pixels = thermal_views.display_pixels(run, listing.paths[0])

for c, (name, files) in enumerate(selection.class_files(listing).items()):
    with st.expander(f"{messages.plain(name)} · {counts[name]} images", expanded=c < 3):
        shown = files[: int(per_class)]
        widgets.image_grid(shown, [Path(p).name for p in shown], palette=palette, columns=max(1, 840 // (width + 20)), width=width, pixels=pixels)

st.subheader("Skipped files")
if listing.skipped:
    st.table([{"file": messages.plain(roots.display_path(s.path)), "reason": messages.plain(messages.relative_paths(s.reason))} for s in listing.skipped])
else:
    st.caption("None: every file in the class folders is an image.")

st.subheader("Train/test split")
st.markdown(
    "Copies (never moves) the images into a new folder with `train/` and `test/`, stratified per class "
    "and seeded so it can be repeated. The dataset above is left unchanged."
)
with st.form("split", enter_to_submit=False):  # Enter in a field must not write a split
    cols = st.columns(2)
    test_fraction = cols[0].number_input("Test fraction", min_value=0.05, max_value=0.95, value=0.2, step=0.05)
    seed = cols[1].number_input("Seed", min_value=0, value=0, step=1)
    split = st.form_submit_button("Copy into a train/test split")
# A split made on the previous run of this page: the app reran so the sidebar lists its folders.
if SPLIT_DONE_KEY in st.session_state:
    st.success(st.session_state.pop(SPLIT_DONE_KEY))
if split:
    roots.runs_root().mkdir(parents=True, exist_ok=True)
    out = roots.runs_root() / unique_run_name(roots.runs_root(), prefix=f"{dataset.name}-split")
    try:
        with st.spinner("Copying..."):
            result = siamese.split_dataset(dataset, out, float(test_fraction), int(seed))
    except siamese.SiameseError as exc:
        st.error(messages.user_message(exc))
    else:
        roots.forget_datasets()
        n_train = sum(c["train"] for c in result.values())
        n_test = sum(c["test"] for c in result.values())
        st.session_state[SPLIT_DONE_KEY] = (
            f"Copied {n_train} images to {messages.code(roots.display_path(out / 'train'))} and {n_test} to {messages.code(roots.display_path(out / 'test'))}; "
            "both are in the sidebar's Dataset picker and in the Train page's Training data picker."
        )
        st.rerun()  # the sidebar was drawn before the split: draw it again with the new folders
