"""Entry point: `streamlit run dashboard/Home.py`. Streamlit patches, page config, navigation and the shared pickers."""

from __future__ import annotations

from pathlib import Path

# `streamlit run` puts this folder, dashboard/, on the import path: its helper modules import as
# top-level ones. The package, siamese, is installed (pip install -r requirements.txt).
import failures
import patches
import pickers
import roots
import streamlit as st

# Before anything else runs: Streamlit would clear the Keras session after this run (see patches.py).
patches.keep_keras_session()

st.set_page_config(page_title="Siamese thermal faces", page_icon=":material/thermostat:", layout="wide")

VIEWS = Path(__file__).parent / "views"
page = st.navigation([
    st.Page(VIEWS / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(VIEWS / "data.py", title="Data", icon=":material/photo_library:"),
    st.Page(VIEWS / "train.py", title="Train", icon=":material/model_training:"),
    st.Page(VIEWS / "embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page(VIEWS / "evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page(VIEWS / "probe.py", title="Probe", icon=":material/person_search:"),
    st.Page(VIEWS / "gallery.py", title="Gallery", icon=":material/groups:"),
    st.Page(VIEWS / "compare.py", title="Compare", icon=":material/compare_arrows:"),
])
for problem in roots.root_problems():  # a root that is a symbolic link loop: said once per page, then skipped
    st.error(problem)
with failures.caught(page.title):
    pickers.run_picker()
    pickers.dataset_picker()
    page.run()
