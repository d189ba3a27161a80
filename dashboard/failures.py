"""An unexpected error on a page: one sentence in the page's words, details folded away and in the server log."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

log = logging.getLogger("siamese.dashboard")

# The label of the folded details; tests look for it to tell a caught crash from a page that worked.
DETAILS = "Details for a bug report"
_CODE_ROOTS = sorted({str(Path(p).parent) for p in (__file__, st.__file__, logging.__file__)} | {str(Path(__file__).parent.parent)}, key=len, reverse=True)

F = TypeVar("F", bound=Callable[..., object])


def _without_server_paths(text: str) -> str:
    """The traceback with the server's folders cut off its file names (the code's own paths, not the user's)."""
    for root in _CODE_ROOTS:
        text = text.replace(root + "/", "")
    return text


@contextmanager
def caught(where: str) -> Iterator[None]:
    """Run a page (or a part of one): an unexpected error becomes one sentence and a folded traceback.

    Streamlit's own control flow (``st.rerun``, ``st.stop``, page switches) passes through.
    Errors a page expects (a bad file, a damaged run) are the page's to word; this is the
    last line, so a user never sees a raw stack trace.
    """
    try:
        yield
    except ScriptControlException:
        raise
    except Exception as exc:
        log.exception("unexpected error on the %s page", where)
        st.error(
            f"The {where} page stopped on an unexpected error ({exc.__class__.__name__}). Your data and runs are unchanged: "
            "choose another run or dataset in the sidebar, or reload the page; if it happens again, the details below help a bug report."
        )
        with st.expander(DETAILS, expanded=False):
            st.code(_without_server_paths(traceback.format_exc()), language="text")


def guarded(where: str) -> Callable[[F], F]:
    """``caught`` as a decorator, for fragments, which rerun on their own outside the page's run."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def run(*args, **kwargs):
            with caught(where):
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate
