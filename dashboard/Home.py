"""Entry point: `streamlit run dashboard/Home.py`. Page config, navigation and the shared pickers."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts only dashboard/ on sys.path; the package and ui live beside it.
ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "dashboard"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import ui  # noqa: E402

st.set_page_config(page_title="Siamese thermal faces", page_icon=":material/thermostat:", layout="wide")

VIEWS = Path(__file__).parent / "views"
page = st.navigation([
    st.Page(VIEWS / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(VIEWS / "data.py", title="Data", icon=":material/photo_library:"),
    st.Page(VIEWS / "train.py", title="Train", icon=":material/model_training:"),
    st.Page(VIEWS / "embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page(VIEWS / "evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page(VIEWS / "probe.py", title="Probe", icon=":material/person_search:"),
])
ui.run_picker()
ui.dataset_picker()
page.run()
