"""Changes to Streamlit's own behaviour, applied explicitly by Home.py (importing this changes nothing).

Each patch replaces a private Streamlit function. If a Streamlit release renames or
removes it, the patch logs a warning and leaves Streamlit as it is: the dashboard then
works as before, only slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

try:
    from streamlit.runtime.scriptrunner import script_runner
except ImportError:  # a Streamlit that moved its script runner: the patch then warns and changes nothing
    script_runner = None

logger = logging.getLogger(__name__)

# The function of streamlit.runtime.scriptrunner.script_runner that the script runner
# calls after every script run to reset stateful modules (Keras, Matplotlib).
SCRIPT_RUNNER = "streamlit.runtime.scriptrunner.script_runner"
CLEAN_FUNCTION = "_clean_problem_modules"
_warned: set[str] = set()  # Home.py applies the patches on every rerun; each warning is logged once
# Streamlit's own functions that a patch replaced, by name (tests put them back).
replaced: dict[str, Callable[[], None]] = {}


def _keep_modules() -> None:
    """Stands in for Streamlit's ``_clean_problem_modules``: clears nothing."""


def keep_keras_session() -> bool:
    """Stop Streamlit from clearing Keras's session after every script run.

    Streamlit calls ``keras.backend.clear_session()`` after each rerun, for apps that
    build a model inside the script. Ours are loaded once and shared as cached
    resources; the clearing frees nothing of theirs but empties TensorFlow's kernel
    cache and runs a full garbage collection: measured with py-spy, about 0.6 s of every
    rerun (a threshold move on Evaluate took 0.3-1.0 s, its own work 70 ms). Matplotlib,
    the other module Streamlit tidies there, is not used by the dashboard.

    Safe to call on every rerun. Returns whether the patch is in effect; when Streamlit
    no longer has the function, logs a warning and changes nothing.
    """
    if getattr(script_runner, CLEAN_FUNCTION, None) is _keep_modules:
        return True
    if not callable(getattr(script_runner, CLEAN_FUNCTION, None)):
        if CLEAN_FUNCTION not in _warned:
            _warned.add(CLEAN_FUNCTION)
            logger.warning(
                "Streamlit has no %s.%s any more: the Keras session is cleared after every rerun as Streamlit does by default "
                "(each threshold move then takes about half a second longer). Update dashboard/patches.py for this Streamlit.",
                SCRIPT_RUNNER, CLEAN_FUNCTION,
            )
        return False
    replaced[CLEAN_FUNCTION] = getattr(script_runner, CLEAN_FUNCTION)
    setattr(script_runner, CLEAN_FUNCTION, _keep_modules)
    return True
