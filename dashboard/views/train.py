"""Train: every training setting, Start and Cancel, and live progress of background trainings.

Training runs as its own OS process (``siamese.runs.jobs``) writing into ``runs/<name>/``;
this page only reads that folder, so a training survives navigation, a browser reload
and even a dashboard restart, and the page shows it again on return.
"""

from __future__ import annotations

import charts
import failures
import messages
import pickers
import roots
import streamlit as st
import thermal_views

import siamese
from siamese.data.folders import parse_shape
from siamese.runs.jobs import ACTIVE_STATES, Job, cancel_training, list_jobs, start_training, unique_run_name
from siamese.training.config import DEFAULT_LEARNING_RATE, LOSSES, PRECISIONS, default_learning_rate

ACTIVE = ACTIVE_STATES
SHOWN_JOBS = 4
DEFAULTS = siamese.TrainConfig(train_dir="")  # the form starts from the CLI's defaults
# Short enough for a fifth of the form (a longer one was cut off: "auto (bfloat16 w"); the help says the rest.
LOSS_LABELS = {"contrastive": "contrastive", "triplet": "triplet", "contrastive-triplet": "pairs + triplets", "supcon": "SupCon", "cosface": "CosFace", "arcface": "ArcFace"}
PRECISION_LABELS = {"auto": "auto", "mixed_bfloat16": "mixed bfloat16"}  # others: their own name

st.title("Train")

with st.form("train", enter_to_submit=False):  # Enter in a field must not start a training
    st.markdown("A siamese network learns an embedding where photos of one person lie close together.")
    dataset = pickers.dataset_select("Training data", key="train_data", default=pickers.selected_dataset())
    cols = st.columns(5)
    epochs = cols[0].number_input("Epochs", min_value=1, max_value=1000, value=DEFAULTS.epochs, step=1)
    batch_size = cols[1].number_input("Batch size", min_value=2, max_value=4096, value=DEFAULTS.batch_size, step=1)
    margin = cols[2].number_input("Margin", min_value=0.01, max_value=10.0, value=DEFAULTS.margin, step=0.05, format="%.2f", help="Different-person pairs are pushed at least this far apart.")
    learning_rate = cols[3].number_input("Learning rate", min_value=0.00001, max_value=0.5, value=None, step=0.0001, format="%.5f",
                                         placeholder="auto",
                                         help=f"Blank (auto): the objective's own, {DEFAULT_LEARNING_RATE}; SupCon: {default_learning_rate('supcon')}, which measured better for it.")
    loss = cols[4].selectbox(
        "Objective", list(LOSSES), index=LOSSES.index(DEFAULTS.loss), format_func=lambda name: LOSS_LABELS[name],
        help="What training optimises. Contrastive: random pairs, the original method. Triplet (batch-all): every triplet of class-balanced batches. "
             "Pairs + triplets (contrastive-triplet): on class-balanced batches, the contrastive loss over every two images plus the batch-all triplet loss. "
             "SupCon: the supervised contrastive loss on class-balanced batches, embeddings on the unit sphere, trained in float32 "
             "(the Margin setting does not apply). "
             "CosFace, ArcFace: a margin-based softmax over the training classes (a cosine or an angular margin), embeddings on the unit sphere "
             "(the Margin setting does not apply). "
             "docs/objectives.md compares them on five datasets.",
    )
    cols = st.columns(5)
    input_shape = cols[0].text_input("Input shape (H,W,C)", value="", placeholder="e.g. 60,80,3",
                                   help="Every image is converted and resized to this. Blank: the first image's shape.")
    seed = cols[1].number_input("Seed", min_value=0, value=DEFAULTS.seed, step=1)
    validation_split = cols[2].number_input("Validation split", min_value=0.0, max_value=0.9, value=0.0, step=0.05, help="Fraction of each class held out to validate each epoch (0 for none).")
    calibration_split = cols[4].number_input(
        "Calibration share", min_value=0.0, max_value=0.45, value=DEFAULTS.calibration_split, step=0.05,
        help="Fraction of each class (with 3 or more images) held out and never trained on; the run's threshold is set so that "
             "5% of these known faces are rejected. 0 turns it off (the threshold then comes from training images and lets many strangers in).",
    )
    precision = cols[3].selectbox(
        "Precision", list(PRECISIONS), format_func=lambda p: PRECISION_LABELS.get(p, p),
        help="Auto: mixed bfloat16 where the CPU has native bfloat16, float32 elsewhere. Mixed bfloat16 halves the time per step on such CPUs; "
             "inference always runs in float32. SupCon trains in float32 whatever the CPU (in mixed bfloat16 it collapsed).",
    )
    augment = st.checkbox(
        "Augment training pairs", value=DEFAULTS.augment,
        help="Vary each pair's images by small shifts, gain, ambient offset and sensor noise. On the sample data it raised the strangers "
             "turned away at the calibrated threshold from 84% to 99% (README).",
    )
    choose_representatives = st.checkbox(
        "Choose representatives when training ends", value=True,
        help="Embeds the training images, maps them with t-SNE, records one representative per class and calibrates the threshold, "
             "so the finished run is ready for Evaluate and Probe. Unchecked, press \"Choose representatives\" on the Embeddings or Evaluate page later.",
    )
    pixel_inputs = thermal_views.train_inputs(dataset, DEFAULTS)
    start = st.form_submit_button("Start training", type="primary")

if start:
    try:
        if dataset is None:
            raise siamese.SiameseError("no dataset found; put a folder with one sub-folder of images per class under sample_data/ or runs/")
        config = siamese.TrainConfig(
            train_dir=str(dataset), epochs=int(epochs), batch_size=int(batch_size), margin=float(margin),
            learning_rate=None if learning_rate is None else float(learning_rate), input_shape=list(parse_shape(input_shape)) if input_shape.strip() else None,
            seed=int(seed), validation_split=float(validation_split), calibration_split=float(calibration_split), augment=bool(augment), precision=precision, loss=loss,
            **thermal_views.pixel_settings(pixel_inputs),
        )
        roots.runs_root().mkdir(parents=True, exist_ok=True)
        run_dir = roots.runs_root() / unique_run_name(roots.runs_root())
        start_training(config, run_dir, represent=bool(choose_representatives))
    except siamese.SiameseError as exc:
        st.error(messages.user_message(exc))
    else:
        st.toast(f"Training started: {messages.plain(run_dir.name)}")


def show_job(job: Job) -> None:
    """One training's state: epoch bar and curves while it runs, the outcome after."""
    run = job.run()
    with st.container(border=True):
        head = st.columns([4, 1])
        head[0].markdown(f"**{messages.plain(job.name)}** · {job.state}")
        if job.state in ACTIVE and head[1].button("Cancel", key=f"cancel-{job.name}", help="Stops after the current batch; the best model so far is kept."):
            cancel_training(job)
            st.toast(f"Cancel requested for {messages.plain(job.name)}")
        if job.state == "starting" or run is None:
            if job.state == "failed":
                st.error("The training process ended before it started training. Its output:")
                st.code(job.log_tail() or "(no output)", language=None)
            else:
                st.progress(0.0, text="Starting: reading the images and loading TensorFlow...")
            return
        done, total = int(run.info.get("epochs_done", 0)), int(run.config.epochs)
        if job.state == "running":
            st.progress(min(done / max(total, 1), 1.0), text=f"Epoch {done} of {total}")
        elif job.state == "representing":
            st.progress(1.0, text=f"Trained {done} epochs; choosing representatives and calibrating the threshold...")
        elif job.state == "complete":
            finished_message(job, run, done)
        elif job.state == "cancelled":
            st.warning(f"Cancelled after {done} of {total} epochs; the best model so far is kept.")
        else:
            st.error(f"Failed: {messages.user_message(run.error or 'no reason recorded')}")
            st.code(job.log_tail() or "(no output)", language=None)
        history = run.history()
        if len(history):
            st.plotly_chart(charts.training_curves(history, total), config=charts.figure_config(), key=f"curves-{job.name}")


def finished_message(job: Job, run: siamese.Run, done: int) -> None:
    """What a finished run needs next: nothing when it has representatives, else the button that chooses them."""
    if run.has_representatives:
        st.success(f"Finished {done} epochs and chose the representatives: **{messages.plain(run.name)}** is ready. Choose it in the sidebar, then open Evaluate or Probe.")
        links = st.columns(4)
        links[0].page_link(str(roots.VIEWS / "evaluate.py"), label="Evaluate", icon=":material/fact_check:")
        links[1].page_link(str(roots.VIEWS / "probe.py"), label="Probe", icon=":material/person_search:")
        return
    button = (f"Choose **{messages.plain(run.name)}** in the sidebar, then press \"Choose representatives\" on the Embeddings or Evaluate page "
              "to make it ready for Evaluate and Probe.")
    if job.represents:
        st.warning(f"Finished {done} epochs, but choosing the representatives did not finish. {button}")
        st.code(job.log_tail() or "(no output)", language=None)
    else:
        st.success(f"Finished {done} epochs. {button}")


def show_jobs() -> None:
    jobs = list_jobs(roots.runs_root())[:SHOWN_JOBS]
    if not jobs:
        st.caption("No training started from the dashboard yet.")
    for job in jobs:
        show_job(job)
    active = {j.name for j in jobs if j.state in ACTIVE}
    # When a training ends, the whole app reruns so the run picker lists the new run.
    if st.session_state.get("_active_jobs", set()) - active:
        st.session_state["_active_jobs"] = active
        roots.find_datasets.clear()
        st.rerun(scope="app")
    st.session_state["_active_jobs"] = active


@st.fragment(run_every=2)
@failures.guarded("Train")
def live_jobs() -> None:
    """Redrawn every two seconds while a training is active."""
    show_jobs()


st.subheader("Trainings")
if any(job.state in ACTIVE for job in list_jobs(roots.runs_root())[:SHOWN_JOBS]):
    live_jobs()
else:
    show_jobs()
