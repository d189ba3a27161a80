"""Compare: two or more runs side by side, their numbers on the same images, training curves and settings."""

from __future__ import annotations

import charts
import loaders
import messages
import pickers
import roots
import streamlit as st

import siamese
from siamese.scoring.compare_runs import SETTINGS

BEST = "background-color: #d8f3dc; font-weight: 600"
DIFFERS = "background-color: #fff3bf"

st.title("Compare")
st.markdown(
    "Two or more runs side by side: each is measured on the same test and unknown images at its own threshold "
    "with its own rule, so the numbers say which run to use."
)

paths = roots.find_run_dirs()
if len(paths) < 2:
    st.info("Comparing needs two or more runs, and there is " + ("one" if paths else "none") + " so far. Train another on the Train page.")
    st.page_link(str(roots.VIEWS / "train.py"), label="Go to Train", icon=":material/model_training:")
    st.stop()

chosen = pickers.runs_select("Runs (the first is the one the others are measured against)", key="compare_runs")
if len(chosen) < 2:
    st.info("Choose two or more runs to compare.")
    st.stop()
try:
    first = loaders.load_run(chosen[0])
except siamese.SiameseError:
    st.error(f"The run {messages.code(roots.display_path(chosen[0]))} cannot be read; remove it from the runs to compare.")
    st.stop()

cols = st.columns(2)
with cols[0]:
    test_dir = pickers.dataset_select("Test set (classes every run knows)", key=f"compare_test:{first.path}", default=pickers.visible_test_set(first))
with cols[1]:
    unknown_dir = pickers.dataset_select(
        "Unknown set (people none of the runs trained on)", key=f"compare_unknown:{first.path}", default=roots.sibling_dataset(first, "unknown"), allow_none=True,
    )
if test_dir is None and roots.datasets():
    st.info("Choose a test set above: a folder with the classes every run knows.")
    st.stop()
if test_dir is None:
    st.warning("No dataset found to test on. Split one on the Data page, or put a folder with one sub-folder per class under `sample_data/` or `runs/`.")
    st.stop()

try:
    result = loaders.comparison(chosen, test_dir, unknown_dir)
except siamese.SiameseError as exc:
    st.error(messages.user_message(exc))
    st.stop()

for label in result.without_representatives:
    st.info(f"Run **{messages.plain(label)}** has no representatives yet, so it has no numbers here. Choose it in the sidebar and press "
            "\"Choose representatives\" on the Evaluate page (or the Embeddings page).", icon=":material/info:")
for reason in result.mismatched.values():
    st.info(f"{messages.plain(reason[0].upper() + reason[1:])}. Choose a test set of its classes above.", icon=":material/info:")

st.subheader("Headline numbers")
if result.evaluated:
    text, best = result.display_metrics()
    text, best = messages.plain_frame(text), messages.plain_frame(best, values=False)
    st.table(text.style.apply(lambda _: best.replace({True: BEST, False: ""}), axis=None))
    numbers = result.metrics[result.evaluated[0]]
    st.caption(
        f"On {numbers['n_test']} test images from {messages.code(roots.display_path(test_dir))}"
        + (f" and {numbers['n_unknown']} unknown ones from {messages.code(roots.display_path(unknown_dir))}" if unknown_dir else "")
        + ", each run at its own recorded threshold. After the first run, its difference from the first in brackets; the best value "
        "of each column is highlighted (highest, but lowest for known rejected and EER). Identified: nearest class right and closer than "
        "the threshold. Strangers rejected: unknown images at or above it. Known rejected: test images at or above it."
    )
    if unknown_dir is None:
        st.caption("Choose an unknown set to compare how well the runs turn strangers away (strangers rejected, AUROC, EER).")
else:
    st.caption("None of the chosen runs can be measured yet (see above).")
differing = result.differing_settings()
highlight = [name for key, name in SETTINGS if key in differing]
st.markdown(
    f"**Settings that differ:** {', '.join(highlight)} ([Settings](#settings), highlighted)." if highlight
    else "**Settings:** the runs have the same settings ([Settings](#settings))."
)

st.subheader("Training curves")
st.plotly_chart(charts.compared_training_curves(result.histories), config=charts.figure_config(), key="compare_curves")

st.subheader("Settings", anchor="settings")
settings = messages.plain_frame(result.settings_table())
only_differing = st.toggle("Only the settings that differ", value=False, key="compare_only_differing")
if only_differing:
    settings = settings.loc[highlight]
st.table(settings.style.apply(lambda row: [DIFFERS if row.name in highlight else ""] * len(row), axis=1))
st.caption(f"{len(differing)} of {len(SETTINGS)} settings differ (highlighted)." if differing else "The runs have the same settings.")
