"""dashboard/patches.py: the Streamlit patch that keeps the Keras session takes effect, and
fails safely (a warning, Streamlit left as it is) when Streamlit no longer has its function."""

from __future__ import annotations

import inspect
import logging
import sys
import types

import patches  # the dashboard's module, imported as Home.py does (pytest's pythonpath has dashboard/)
import pytest
from dashboard_fixtures import DASHBOARD
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

NAME = patches.CLEAN_FUNCTION


@pytest.fixture()
def streamlits_own(monkeypatch):
    """Streamlit's own clean-up function in place for the test (and whatever was there put back after it)."""
    original = patches.replaced.get(NAME, getattr(script_runner, NAME, None))
    assert callable(original), f"Streamlit no longer has {patches.SCRIPT_RUNNER}.{NAME}"
    monkeypatch.setattr(script_runner, NAME, original)
    monkeypatch.setattr(patches, "_warned", set())
    return original


@pytest.fixture()
def fake_keras(monkeypatch):
    """A stand-in `keras` module that counts calls to backend.clear_session."""
    keras = types.ModuleType("keras")
    keras.cleared = 0

    def clear_session() -> None:
        keras.cleared += 1

    keras.backend = types.SimpleNamespace(clear_session=clear_session)
    monkeypatch.setitem(sys.modules, "keras", keras)
    return keras


def test_the_patch_replaces_the_function_streamlits_script_runner_calls(streamlits_own):
    assert patches.keep_keras_session() is True
    assert getattr(script_runner, NAME) is patches._keep_modules
    assert patches.replaced[NAME] is streamlits_own
    assert patches.keep_keras_session() is True  # applying again (every rerun) keeps it
    # The script runner still calls the function by this module-level name after each run.
    assert f"{NAME})" in inspect.getsource(script_runner.ScriptRunner._run_script)


def test_a_script_run_no_longer_clears_the_keras_session(streamlits_own, fake_keras):
    script = "import streamlit as st\nst.write('hello')\n"
    AppTest.from_string(script).run()
    assert fake_keras.cleared == 1, "Streamlit no longer clears the Keras session after a run: the patch may be unneeded"

    # Applied from inside the script, as Home.py does, it already holds for that run.
    AppTest.from_string("import patches\npatches.keep_keras_session()\n" + script).run()
    assert fake_keras.cleared == 1
    AppTest.from_string(script).run()
    assert fake_keras.cleared == 1


def test_home_applies_the_patch_before_anything_else():
    source = (DASHBOARD / "Home.py").read_text()
    assert "patches.keep_keras_session()" in source
    assert source.index("patches.keep_keras_session()") < source.index("st.set_page_config(")


def test_without_streamlits_function_a_warning_and_no_change(streamlits_own, monkeypatch, caplog):
    monkeypatch.delattr(script_runner, NAME)
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert patches.keep_keras_session() is False
        assert patches.keep_keras_session() is False  # every rerun: no crash, one warning
    assert not hasattr(script_runner, NAME)  # nothing put in its place
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and NAME in warnings[0].getMessage()


def test_with_a_renamed_script_runner_module_a_warning_and_no_crash(monkeypatch, caplog):
    monkeypatch.setattr(patches, "script_runner", None)
    monkeypatch.setattr(patches, "_warned", set())
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert patches.keep_keras_session() is False
    assert any(patches.SCRIPT_RUNNER in r.getMessage() for r in caplog.records)
