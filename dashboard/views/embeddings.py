"""Embeddings: the interactive t-SNE map of the run's training images and its representatives."""

from __future__ import annotations

from pathlib import Path

import charts
import loaders
import map_selection
import messages
import pickers
import streamlit as st
import view_selection as selection
import widgets

import siamese
from siamese.maps.representatives import METHODS
from siamese.maps.training_maps import is_recorded

MAP_KEY = "embedding_map"
METHOD_LABELS = {"tsne-medoid": "t-SNE medoid (as the original)", "medoid": "embedding-space medoid"}

st.title("Embeddings")
run = pickers.require_run()
if run is None or not pickers.require_representatives(run):
    st.stop()

record = run.representatives()
with st.sidebar:
    st.subheader("Map settings")
    method = st.selectbox("Representative method", METHODS, index=METHODS.index(record["method"]), format_func=METHOD_LABELS.get, key=f"method:{run.path}")
    perplexity = st.slider("Perplexity", min_value=2.0, max_value=100.0, value=float(record["perplexity"]), step=1.0, key=f"perplexity:{run.path}", help="Roughly how many neighbours each point keeps close; capped below a third of the images.")
    seed = st.number_input("t-SNE seed", min_value=0, value=int(record["seed"]), step=1, key=f"seed:{run.path}")
    overlay_on = st.checkbox("Show test images", key="map_overlay", help="Placed at the weighted mean of their nearest training points, since t-SNE cannot place new points.")
    overlay_dir = pickers.dataset_select("Test images", key=f"map_overlay_dir:{run.path}", default=pickers.own_test_set(run), placeholder="Choose a folder") if overlay_on else None

run_path = str(run.path.resolve())
try:
    table = loaders.training_map(run, method, float(perplexity), int(seed))
    overlay = loaders.placed_folder(run, overlay_dir, method, float(perplexity), int(seed)) if overlay_dir else None
    enrolled = loaders.placed_enrolled(run, method, float(perplexity), int(seed))
except siamese.SiameseError as exc:
    st.error(messages.user_message(exc))
    st.stop()

placed = map_selection.placed_points(overlay, enrolled)
people = f" People enrolled afterwards ({enrolled['class'].nunique()}, {len(enrolled)} images) are hexagrams, placed near their nearest training images." if len(enrolled) else ""
recorded = is_recorded(run, method, float(perplexity), int(seed))
if recorded:
    st.caption(
        f"{len(table)} training images of {len(run.class_names)} classes; representatives: {METHOD_LABELS[record['method']]}, "
        f"perplexity {record['perplexity']:g}, chosen {widgets.human_date(record['created'])}. Evaluate and Probe use these.{people}"
    )
else:
    note, action = st.columns([3, 1])
    note.info(
        f"Preview at {METHOD_LABELS[method]}, perplexity {perplexity:g}, seed {seed}: Evaluate and Probe still use the recorded "
        f"representatives ({METHOD_LABELS[record['method']]}, perplexity {record['perplexity']:g})."
    )
    if action.button("Use these representatives", type="primary", help="Records this choice of representatives in the run."):
        try:
            with st.spinner("Embedding the training images and recording the representatives..."):
                siamese.represent(run, method=method, perplexity=float(perplexity), seed=int(seed))
        except siamese.SiameseError as exc:
            st.error(messages.user_message(exc))
        else:
            st.rerun()

# Each point carries its global row; the selection outlives figure changes (map_selection.py).
# Two thirds of the page for the map (it had the left half); the images of a selection beside it, two a row.
map_column, images_column = st.columns([2, 1])
with map_column:
    many = len(run.class_names) > charts.LEGEND_MAX
    highlight = st.multiselect(
        "Highlight classes", run.class_names, key=f"highlight:{run_path}",
        placeholder=f"{len(run.class_names)} classes share {len(charts.CLASS_COLOURS)} colours: type to find one" if many else "Choose classes",
        help="The chosen classes are drawn in distinct colours with their representatives, every other point in gray.",
    )
    identity = (run_path, method, float(perplexity), int(seed), str(overlay_dir), tuple(highlight), tuple(enrolled["file"]))
    event = st.plotly_chart(
        charts.embedding_map(table, run.class_names, overlay, legend=not many or bool(highlight), highlight=highlight, enrolled=enrolled),
        key=MAP_KEY, on_select="rerun", selection_mode=("points", "lasso", "box"), config=charts.figure_config(),
    )
picked = map_selection.follow(event, run_path, identity)

palette = widgets.palette_choice()
with images_column:
    chosen = map_selection.visible_rows(picked, table, placed)
    if not chosen:
        st.markdown("**Click a point, or lasso or box-select several,** to see their images here.")
    else:
        head = st.columns([3, 1])
        head[0].markdown(f"**{len(chosen)} selected**" + (f" (first {map_selection.SHOWN} shown)" if len(chosen) > map_selection.SHOWN else ""))
        if head[1].button("Clear"):
            map_selection.clear(picked)
            st.rerun()
        paths, captions = map_selection.selected_images(run, table, placed, chosen)
        widgets.image_grid(paths, captions, palette=palette, columns=2, width=140, pixels=run.pixels)
        if len(chosen) == 1:
            file, is_training = map_selection.point_file(table, placed, chosen[0])
            st.markdown(f"**Nearest training images** of {messages.plain(Path(file).name)}")
            k = widgets.neighbours_input("map_neighbours")
            try:
                training = loaders.training_set(run)
                embedding = training.embeddings[chosen[0]] if is_training else loaders.file_embedding(run, file)
                found = map_selection.point_neighbours(training, embedding, chosen[0], is_training, k)
            except siamese.SiameseError as exc:
                st.error(messages.user_message(exc))
            else:
                widgets.neighbour_grid(found, palette, columns=2, width=140, pixels=run.pixels)
        else:
            st.caption("Click a single point to see its nearest training images.")

st.subheader("Representatives")
st.caption("One per class: the t-SNE medoid (the original's choice) and the embedding-space medoid, side by side where they differ.")
per_row = 3
pairs = selection.medoid_pairs(run)
for start in range(0, len(pairs), per_row):
    cells = st.columns(per_row)
    for cell, (name, tsne_image, embedding_image) in zip(cells, pairs[start : start + per_row]):
        with cell, st.container(border=True):
            st.markdown(f"**{messages.plain(name)}**")
            if tsne_image == embedding_image:
                widgets.image_row([str(tsne_image)], [f"{tsne_image.name} (both methods)"], palette=palette, width=120, pixels=run.pixels)
            else:
                widgets.image_row(
                    [str(tsne_image), str(embedding_image)],
                    [f"t-SNE: {tsne_image.stem}", f"embedding: {embedding_image.stem}"], palette=palette, width=110, pixels=run.pixels,
                )
