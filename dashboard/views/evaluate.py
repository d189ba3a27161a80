"""Evaluate: identify the test images, reject the unknown ones, and choose the threshold live.

Distances are computed once per run and folders (cached); the threshold slider only
re-derives verdicts, tables and rates from them, with no forward pass.
"""

from __future__ import annotations

from pathlib import Path

import charts
import streamlit as st
import ui

import siamese

SUGGESTION_LABELS = {"eer": "Equal error rate", "best_balance": "Best balance", "target_far": "1% false accepts"}

st.title("Evaluate")
run = ui.require_run()
if run is None or not ui.require_representatives(run):
    st.stop()

cols = st.columns(2)
with cols[0]:
    test_dir = ui.dataset_select("Test set (the run's classes)", key="eval_test", default=ui.sibling_dataset(run, "test"))
with cols[1]:
    unknown_dir = ui.dataset_select("Unknown set (people never trained on)", key="eval_unknown", default=ui.sibling_dataset(run, "unknown"), allow_none=True)
if test_dir is None:
    st.warning("No dataset found to test on. Put a folder with one sub-folder per class under `sample_data/` or `runs/`, or split one on the Data page.")
    st.stop()

try:
    result = ui.evaluation(run, test_dir, unknown_dir)
    suggestions, roc = ui.suggestions_and_roc(run, test_dir, unknown_dir)
    groups = ui.distance_groups(run, test_dir, unknown_dir)
except siamese.SiameseError as exc:
    st.error(str(exc))
    st.stop()
if not result.files:
    st.warning(f"No image in {ui.display_path(test_dir)} could be read; choose another test set.")
    st.stop()

if suggestions:
    st.markdown("**Suggested thresholds**")
    buttons = st.columns(len(suggestions))
    for button, (name, suggestion) in zip(buttons, suggestions.items()):
        button.button(
            f"{SUGGESTION_LABELS.get(name, name)}: {suggestion['threshold']:.3g}", key=f"suggest-{name}", help=suggestion["criterion"],
            on_click=ui.set_threshold, args=(run, suggestion["threshold"]),
        )
else:
    st.caption("Choose an unknown set to get suggested thresholds (equal error rate, best balance, a target false-accept rate).")

@st.fragment
def threshold_section() -> None:
    """Everything the threshold drives. A fragment: moving the slider reruns only this,
    not the page, the sidebar and the navigation, so it costs milliseconds."""
    threshold = ui.threshold_slider(run, groups["max"])
    current = result.at(threshold)
    rates = current.sweep([threshold]).iloc[0]

    metrics = st.columns(4)
    metrics[0].metric("Identified rate", f"{rates['identified_rate']:.1%}", help="Nearest class right and closer than the threshold.")
    metrics[1].metric("Accuracy (nearest class)", f"{groups['accuracy']:.1%}", help="Nearest class right, threshold ignored.")
    if "rejection_rate" in rates:
        metrics[2].metric("Rejection rate (unknown)", f"{rates['rejection_rate']:.1%}", help="Unknown images at or above the threshold.")
    metrics[3].metric("Known rejected", f"{rates['false_reject_rate']:.1%}", help="Known images at or above the threshold.")

    st.markdown("**Confusion table** (rows: true class; columns: predicted class, `unknown` = rejected)")
    confusion = current.confusion()
    st.table(confusion)
    histogram_column, roc_column = st.columns(2)
    with histogram_column:
        st.plotly_chart(charts.distance_histograms(groups["groups"], threshold), config=charts.figure_config())
    with roc_column:
        if roc is not None:
            st.plotly_chart(charts.roc_curve(roc.false_reject_known, roc.reject_unknown, roc.auroc, (rates["false_reject_rate"], rates["rejection_rate"])), config=charts.figure_config())
        else:
            st.caption("Choose an unknown set to see how well unknown faces are rejected (ROC).")

    st.subheader("Images of a confusion cell")
    cells = {f"{true} → {predicted} ({n} images)": (true, predicted) for true, row in confusion.iterrows() for predicted, n in row.items() if n > 0}
    choice = st.selectbox("Cell (true class → predicted)", list(cells), index=None, placeholder="Choose a non-empty cell", key="eval_cell")
    cell = cells.get(choice) if choice else None
    if cell is not None:
        rows = current.table()
        rows = rows[rows["set"] == "test"]
        column = rows["predicted_class"].where(rows["verdict"] != "rejected", "unknown")
        chosen = rows[(rows["true_class"] == cell[0]) & (column == cell[1])]
        ui.image_grid(list(chosen["file"]), [f"{Path(f).name} · {d:.3g}" for f, d in zip(chosen["file"], chosen["distance"])], palette=st.session_state.get("_palette_choice", "gray"))

    st.subheader("Per-image results")
    st.download_button(
        "Download the per-image table (CSV)", data=lambda: current.table().to_csv(index=False),
        file_name=f"{run.name}-evaluation-{threshold:.3g}.csv", mime="text/csv", on_click="ignore",
    )


threshold_section()

if result.skipped:
    with st.expander(f"{len(result.skipped)} files skipped"):
        st.table(result.skipped)
