"""Evaluate: identify the test images, reject the unknown ones, and choose the threshold live.

Distances are computed once per run and folders (cached); the threshold slider only
re-derives verdicts, tables and rates from them, with no forward pass.
"""

from __future__ import annotations

from pathlib import Path

import charts
import failures
import loaders
import messages
import pandas as pd
import pickers
import roots
import streamlit as st
import view_selection as selection
import widgets

import siamese
from siamese.runs.output_files import spreadsheet_safe
from siamese.scoring.metrics import per_class_confusion, top_confusions

RULE_COLUMNS = {"rule": "rule", "accuracy": "accuracy", "identified_rate": "identified", "false_reject_rate": "known rejected",
                "rejection_rate": "strangers rejected", "auroc_unknown": "AUROC", "threshold": "its threshold"}
TOP_CONFUSIONS = 12
PER_CLASS_COLUMNS = {  # fixed widths: the unknown column stays on screen at 1280 px, whatever the class names
    "class": st.column_config.TextColumn("class", width=140),
    "images": st.column_config.NumberColumn("images", width=80),
    "identified": st.column_config.NumberColumn("identified", width=90, help="Taken for itself (below the threshold)."),
    "unknown": st.column_config.NumberColumn("unknown", width=90, help="Rejected: at or above the threshold."),
    "confused": st.column_config.NumberColumn("confused", width=90, help="Taken for another class."),
    "confused with": st.column_config.TextColumn("confused with", width=300, help="The classes it was taken for most often, with counts."),
}

st.title("Evaluate")
run = pickers.require_run()
if run is None or not pickers.require_representatives(run):
    st.stop()

test_key, unknown_key = f"eval_test:{run.path}", f"eval_unknown:{run.path}"  # each run starts from its own sets
cols = st.columns(2)
with cols[0]:
    test_dir = pickers.dataset_select("Test set (the run's classes)", key=test_key, default=pickers.own_test_set(run), placeholder="Choose a test set")
with cols[1]:
    unknown_dir = pickers.dataset_select("Unknown set (people never trained on)", key=unknown_key, default=roots.sibling_dataset(run, "unknown"), allow_none=True)
if test_dir is None:
    if roots.datasets():
        st.info(f"This run's training data {messages.code(roots.display_path(run.train_dir))} has no `test` folder beside it; choose a test set with its classes in the Test set picker.")
    else:
        st.warning("No dataset found to test on. Put a folder with one sub-folder per class under `sample_data/` or `runs/`, or split one on the Data page.")
    st.stop()

try:
    foreign = pickers.unknown_classes(loaders.scan(str(test_dir)).class_names, run.identities)
except siamese.SiameseError as exc:
    st.error(messages.user_message(exc))
    st.stop()
if foreign:
    st.info(
        f"{messages.code(roots.display_path(test_dir))} holds {len(foreign)} classes this run was not trained on ({messages.plain(pickers.name_list(foreign))}), "
        "so it cannot be scored as a test set. As the unknown set it measures how well the run turns such people away."
    )
    st.button("Use it as the unknown set", type="primary", key="use_as_unknown", on_click=pickers.use_as_unknown,
              args=(test_key, unknown_key, test_dir, pickers.own_test_set(run)))
    st.stop()

try:
    result = loaders.evaluation(run, test_dir, unknown_dir)
    suggestions, roc = loaders.suggestions_and_roc(run, test_dir, unknown_dir)
    groups = loaders.distance_groups(run, test_dir, unknown_dir)
except siamese.SiameseError as exc:
    st.error(messages.user_message(exc))
    st.stop()
if not result.files:
    st.warning(f"No image in {messages.code(roots.display_path(test_dir))} could be read; choose another test set.")
    st.stop()

record = run.threshold_record()
measured = result.metrics()  # at the run's own threshold: evaluate decides with it unless told otherwise
if record["source"] == "calibration":
    st.info(
        f"The run's threshold **{widgets.format_threshold(record['threshold'])}** is calibrated: {record['criterion']} "
        f"(target false-reject rate {record['target_frr']:.0%}). On this test set it rejects "
        f"**{measured['false_reject_rate']:.1%}** of known faces" + (f" and **{measured['rejection_rate']:.1%}** of strangers." if result.has_unknown else "."),
        icon=":material/tune:",
    )
else:
    st.warning(
        f"The run's threshold {widgets.format_threshold(record['threshold'])} comes from the training images ({record['criterion']}); the network has fitted "
        "those, so it lets many strangers in. Train a new run with a calibration share above 0 on the Train page to get a calibrated one.",
        icon=":material/warning:",
    )

st.markdown("**Thresholds to try**")
widgets.threshold_buttons(run, suggestions)
if not suggestions:
    st.caption("Choose an unknown set to get suggested thresholds (equal error rate, best balance, a target false-accept rate).")

recorded_class_thresholds = run.recorded_class_thresholds()
per_class = False
if recorded_class_thresholds:
    per_class = st.toggle(
        "Per-class thresholds", key=f"per_class:{run.path}", value=run.class_thresholds() is not None,
        help="Each class gets the threshold that rejects the target share of its own held-out images, shrunk toward the global one when it has few. Edit them in the table.",
    )

@st.fragment
@failures.guarded("Evaluate")
def threshold_section() -> None:
    """Everything the threshold drives. A fragment: moving the slider reruns only this,
    not the page, the sidebar and the navigation, so it costs milliseconds."""
    if per_class:
        edited = st.data_editor(
            pd.DataFrame({"class": list(recorded_class_thresholds), "threshold": list(recorded_class_thresholds.values())}),
            key=f"class_thresholds:{run.path}", disabled=["class"], hide_index=True, height=min(38 + 35 * len(recorded_class_thresholds), 300),
            column_config={"threshold": st.column_config.NumberColumn("threshold", min_value=0.0, format="%.4f")},
        )
        limits = selection.class_threshold_vector(edited, run.identities, record["threshold"])  # enrolled people: the global one
        threshold = record["threshold"]
        current = result.at(threshold, limits)
    else:
        threshold = widgets.threshold_slider(run, groups["max"])
        current = result.at(threshold)
    m = current.metrics()

    metrics = st.columns(4)
    metrics[0].metric("Identified rate", f"{m['identified_rate']:.1%}", help="Nearest class right and closer than the threshold.")
    metrics[1].metric("Accuracy (nearest class)", f"{m['accuracy']:.1%}", help="Nearest class right, threshold ignored.")
    if "rejection_rate" in m:
        metrics[2].metric("Strangers rejected", f"{m['rejection_rate']:.1%}", help="Unknown images at or above the threshold.")
    target = f" (the run's threshold was set for {record['target_frr']:.0%})" if record["target_frr"] is not None else ""
    metrics[3].metric("Known rejected", f"{m['false_reject_rate']:.1%}", help=f"Known images at or above the threshold{target}.")

    confusion = current.confusion()
    st.markdown("**Per class**: `identified` = taken for itself, `unknown` = rejected at the threshold, `confused` = taken for another class")
    rows = per_class_confusion(confusion)
    st.dataframe(rows, hide_index=True, height=min(38 + 35 * len(rows), 390), key="eval_per_class", column_config=PER_CLASS_COLUMNS)
    st.caption("Classes with the most errors first; click a column's header to sort by it.")
    if len(confusion) <= charts.HEATMAP_MAX_CLASSES:
        st.plotly_chart(charts.confusion_heatmap(confusion), config=charts.figure_config())
    else:
        top_column, _ = st.columns([3, 2])
        with top_column:
            st.markdown("**Most frequent confusions** (true class taken for another)")
            top = top_confusions(confusion, TOP_CONFUSIONS)
            st.dataframe(top, hide_index=True, key="eval_top_confusions", height=38 + 35 * max(len(top), 1))
    histogram_column, roc_column = st.columns(2)
    with histogram_column:
        st.plotly_chart(charts.distance_histograms(groups["groups"], threshold, threshold_text=widgets.format_threshold(threshold)), config=charts.figure_config())
    with roc_column:
        if roc is not None:
            st.plotly_chart(charts.roc_curve(roc.false_reject_known, roc.reject_unknown, roc.auroc, (m["false_reject_rate"], m["rejection_rate"])), config=charts.figure_config())
        else:
            st.caption("Choose an unknown set to see how well unknown faces are rejected (ROC).")
    dir_column, cmc_column = st.columns(2)
    with dir_column:
        curve = loaders.dir_far(run, test_dir, unknown_dir)
        if curve is not None:
            st.plotly_chart(charts.dir_far_curve(curve[0], curve[1], (1.0 - m["rejection_rate"], m["identified_rate"])), config=charts.figure_config())
        else:
            st.caption("Choose an unknown set to see open-set identification (DIR against the false-alarm rate).")
    with cmc_column:
        st.plotly_chart(charts.cmc_curve(m["cmc"], m["identified_rate"]), config=charts.figure_config())

    st.subheader("Images of a confusion cell")
    cells = {f"{true} → {predicted} ({n} images)": (true, predicted) for true, predicted, n in selection.nonempty_cells(confusion)}
    choice = st.selectbox("Cell (true class → predicted)", list(cells), index=None, placeholder="Choose a non-empty cell", key="eval_cell")
    cell = cells.get(choice) if choice else None
    if cell is not None:
        chosen = current.cell(*cell)
        widgets.image_grid(list(chosen["file"]), [f"{Path(f).name} · {widgets.format_threshold(d)}" for f, d in zip(chosen["file"], chosen["distance"])], palette=widgets.palette_choice(), pixels=run.pixels)

    st.subheader("Per-image results")
    st.download_button(
        "Download the per-image table (CSV)", data=lambda: spreadsheet_safe(roots.relative_files(current.table())).to_csv(index=False),
        file_name=f"{run.name}-evaluation-{widgets.format_threshold(threshold)}.csv", mime="text/csv", on_click="ignore",
        help="One row per image; files relative to their data folder.",
    )


threshold_section()

st.subheader("Scoring rules compared")
rules = result.rule_table().rename(columns=RULE_COLUMNS)
rules["rule"] = [f"{r} (this run's)" if r == result.rule else r for r in rules["rule"]]
st.table(rules.style.format({c: "{:.4g}" if "threshold" in c.lower() else "{:.3f}" for c in rules.columns if c != "rule"}, na_rep="–"))
st.caption(
    "Each rule scores a class by its distance to: the nearest representative (medoid), the class mean (centroid), the mean of the "
    "k nearest training images (knn), or the class mean after whitening with the shared within-class covariance (mahalanobis). "
    + ("Each is measured at its own threshold, calibrated like the run's for the same false-reject rate, from the same cached embeddings."
       if record["source"] == "calibration" else "This run has no calibration images, so rates at a threshold are not shown.")
)

if result.skipped:
    with st.expander(f"{len(result.skipped)} files skipped"):
        st.table(messages.plain_frame(pd.DataFrame(result.skipped).map(lambda v: messages.relative_paths(str(v)))))
