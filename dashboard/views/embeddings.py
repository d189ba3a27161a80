"""Embeddings: the interactive t-SNE map of the run's training images and its representatives."""

from __future__ import annotations

from pathlib import Path

import charts
import streamlit as st
import ui

import siamese
from siamese.maps import image_path, is_recorded
from siamese.representatives import METHODS

MAP_KEY = "embedding_map"
SELECTION_KEY = "map_selection"
METHOD_LABELS = {"tsne-medoid": "t-SNE medoid (as the original)", "medoid": "embedding-space medoid"}

st.title("Embeddings")
run = ui.require_run()
if run is None or not ui.require_representatives(run):
    st.stop()

record = run.representatives()
with st.sidebar:
    st.subheader("Map settings")
    method = st.selectbox("Representative method", METHODS, index=METHODS.index(record["method"]), format_func=METHOD_LABELS.get, key=f"method:{run.path}")
    perplexity = st.slider("Perplexity", min_value=2.0, max_value=100.0, value=float(record["perplexity"]), step=1.0, key=f"perplexity:{run.path}", help="Roughly how many neighbours each point keeps close; capped below a third of the images.")
    seed = st.number_input("t-SNE seed", min_value=0, value=int(record["seed"]), step=1, key=f"seed:{run.path}")
    overlay_on = st.checkbox("Show test images", key="map_overlay", help="Placed at the weighted mean of their nearest training points, since t-SNE cannot place new points.")
    overlay_dir = ui.dataset_select("Test images", key="map_overlay_dir", default=ui.sibling_dataset(run, "test")) if overlay_on else None

stamp = ui.run_stamp(run.path)
run_path = str(run.path.resolve())
try:
    table = ui.training_map(run_path, method, float(perplexity), int(seed), stamp)
    overlay = ui.placed_folder(run_path, str(overlay_dir), method, float(perplexity), int(seed), stamp) if overlay_dir else None
except siamese.SiameseError as exc:
    st.error(str(exc))
    st.stop()

recorded = is_recorded(run, method, float(perplexity), int(seed))
if recorded:
    st.caption(
        f"{len(table)} training images of {len(run.class_names)} classes; representatives: {METHOD_LABELS[record['method']]}, "
        f"perplexity {record['perplexity']:g}, chosen {record['created']}. Evaluate and Probe use these."
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
            st.error(str(exc))
        else:
            st.rerun()

# A selection reports point indices per trace, so every point carries its global row
# in customdata[0]. Streamlit clears a chart's selection whenever the figure changes,
# so the chosen rows are kept here and only replaced by a new selection on the same map.
identity = (run_path, method, float(perplexity), int(seed), str(overlay_dir))
selection = st.session_state.get(SELECTION_KEY)
if not selection or selection["run"] != run_path:
    selection = {"run": run_path, "rows": [], "identity": identity, "last": []}

map_column, images_column = st.columns([3, 2])
with map_column:
    event = st.plotly_chart(
        charts.embedding_map(table, run.class_names, overlay),
        key=MAP_KEY, on_select="rerun", selection_mode=("points", "lasso", "box"), config=charts.figure_config(),
    )
points = ((event or {}).get("selection") or {}).get("points") or []
rows = sorted({int(p["customdata"][0]) for p in points if p.get("customdata") is not None})
if selection["identity"] != identity:
    selection = {**selection, "identity": identity, "rows": rows or selection["rows"]}
elif rows != selection["last"]:
    selection = {**selection, "rows": rows}
selection["last"] = rows
st.session_state[SELECTION_KEY] = selection

palette = st.session_state.get("_palette_choice", "gray")
with images_column:
    chosen = [r for r in selection["rows"] if r < len(table) + (len(overlay) if overlay is not None else 0)]
    if not chosen:
        st.markdown("**Click a point, or lasso or box-select several,** to see their images here.")
    else:
        head = st.columns([3, 1])
        head[0].markdown(f"**{len(chosen)} selected**" + (" (first 24 shown)" if len(chosen) > 24 else ""))
        if head[1].button("Clear"):
            st.session_state[SELECTION_KEY] = {**selection, "rows": []}
            st.rerun()
        paths, captions = [], []
        for r in chosen[:24]:
            if r < len(table):
                row = table.iloc[r]
                paths.append(str(image_path(run, row["file"])))
                captions.append(f"{row['class']} · {Path(row['file']).name} · {row['distance_to_representative']:.3g}")
            else:
                row = overlay.iloc[r - len(table)]
                paths.append(row["file"])
                captions.append(f"test {row['class']} · {Path(row['file']).name}")
        ui.image_grid(paths, captions, palette=palette, columns=3, width=110)

st.subheader("Representatives")
st.caption("One per class: the t-SNE medoid (the original's choice) and the embedding-space medoid, side by side where they differ.")
tsne_medoids = {item["class"]: item["file"] for item in record["tsne_medoids"]}
embedding_medoids = {item["class"]: item["file"] for item in record["embedding_medoids"]}
per_row = 3
names = run.class_names
for start in range(0, len(names), per_row):
    cells = st.columns(per_row)
    for cell, name in zip(cells, names[start : start + per_row]):
        with cell, st.container(border=True):
            st.markdown(f"**{name}**")
            tsne_file, embedding_file = tsne_medoids.get(name), embedding_medoids.get(name)
            if tsne_file == embedding_file:
                ui.image_row([str(image_path(run, tsne_file))], [f"{Path(tsne_file).name} (both methods)"], palette=palette, width=120)
            else:
                ui.image_row(
                    [str(image_path(run, tsne_file)), str(image_path(run, embedding_file))],
                    [f"t-SNE: {Path(tsne_file).stem}", f"embedding: {Path(embedding_file).stem}"], palette=palette, width=110,
                )
