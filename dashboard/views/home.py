"""Home: what the tool does, the selected run and dataset, the run's headline numbers, links."""

from __future__ import annotations

import headline
import loaders
import messages
import pickers
import roots
import streamlit as st
import widgets

import siamese

st.title("Siamese thermal faces")
st.markdown(
    "Identify people from **thermal face images** with a siamese network: split the data, train the "
    "network with a contrastive loss, look at the learned embedding as a t-SNE map with one representative "
    "image per class, choose a distance threshold, and measure how well known faces are identified and "
    "unknown faces rejected. Upload a probe image at any time to identify it on the spot."
)

run = pickers.selected_run()
dataset = pickers.selected_dataset()
left, right = st.columns(2)
with left:
    st.subheader("Selected run")
    if run is None:
        st.info("No run yet. Train one on the Train page, then choose it in the sidebar's Run picker.")
    else:
        summary = run.summary()
        st.markdown(
            f"**{messages.plain(run.name)}** · {summary['status']} · {summary['classes']} classes · "
            f"{summary['epochs_done']} of {summary['epochs']} epochs  \n"
            f"trained on {messages.code(roots.display_path(run.train_dir))} · input {'×'.join(map(str, run.input_shape))}"
        )
        if run.status == "failed":
            st.error(f"This run failed: {messages.user_message(run.error or 'no reason recorded')}. Train it again on the Train page.")
with right:
    st.subheader("Selected dataset")
    if dataset is None:
        st.info("No dataset chosen: choose one in the sidebar's Dataset picker." if roots.datasets() else
                "No dataset found under the data folders. Put a folder with one sub-folder of images per class under `sample_data/` or `runs/`, "
                "or list its folder in `dashboard.toml` (`data_roots`).")
    else:
        try:
            listing = loaders.scan(str(dataset))
            st.markdown(f"{messages.code(roots.display_path(dataset))} · {len(listing.class_names)} classes · {len(listing.paths)} images")
        except siamese.SiameseError as exc:
            st.error(messages.user_message(exc))

# The headline numbers may need the network (TensorFlow), so the page is drawn first and
# the numbers fill this slot afterwards.
numbers_slot = st.container()

st.subheader("Pages")
links = st.columns(6)
for column, (page, label, icon, text) in zip(links, [
    ("data.py", "Data", ":material/photo_library:", "Gallery per class, palettes, skipped files, train/test split."),
    ("train.py", "Train", ":material/model_training:", "Every setting, live progress, cancel."),
    ("embeddings.py", "Embeddings", ":material/scatter_plot:", "Interactive t-SNE map and representatives."),
    ("evaluate.py", "Evaluate", ":material/fact_check:", "Threshold, confusion table, histograms, ROC."),
    ("probe.py", "Probe", ":material/person_search:", "Upload one image and identify it."),
    ("compare.py", "Compare", ":material/compare_arrows:", "Runs side by side on the same images."),
]):
    with column:
        st.page_link(str(roots.VIEWS / page), label=label, icon=icon)
        st.caption(text)

with numbers_slot:
    if run is not None and run.status in ("complete", "cancelled") and run.has_model:
        st.subheader("Headline numbers")
        test_dir, unknown_dir = pickers.own_test_set(run), roots.sibling_dataset(run, "unknown")
        if not run.has_representatives:
            st.info("This run has no representatives yet; choose them on the Evaluate or Embeddings page (Choose representatives) to see its accuracy.")
        elif test_dir is None:
            st.info(f"No `test` folder beside the run's training data {messages.code(roots.display_path(run.train_dir))}; choose a test set on the Evaluate page.")
        else:
            try:
                metrics, recorded = headline.metrics(run, test_dir, unknown_dir)
            except siamese.SiameseError as exc:
                st.error(messages.user_message(exc))
            else:
                cols = st.columns(4)
                cols[0].metric("Accuracy (nearest class)", f"{metrics['accuracy']:.1%}", help="Nearest class right, threshold ignored.")
                threshold = widgets.format_threshold(metrics["threshold"])
                cols[1].metric("Identified rate", f"{metrics['identified_rate']:.1%}", help=f"Nearest class right and closer than the run's threshold {threshold}.")
                if "auroc_unknown" in metrics:
                    cols[2].metric("Strangers rejected", f"{metrics['rejection_rate']:.1%}", help=f"Unknown images at or above the run's threshold {threshold}.")
                    cols[3].metric("AUROC known vs unknown", f"{metrics['auroc_unknown']:.3f}")
                st.caption(
                    f"{metrics['n_test']} test images from {messages.code(roots.display_path(test_dir))}"
                    + (f" and {metrics['n_unknown']} unknown from {messages.code(roots.display_path(unknown_dir))}" if unknown_dir else "")
                    + f", at the run's threshold {threshold}, {widgets.threshold_origin(run)}."
                    + (" Recorded at an earlier visit: the run and these images have not changed since." if recorded else "")
                )
                if metrics["threshold_source"] == "training":
                    st.warning("This run's threshold comes from its training images, which the network has fitted, so it lets many strangers in. "
                               "Train a new run with a calibration share above 0 on the Train page for a calibrated threshold.")
