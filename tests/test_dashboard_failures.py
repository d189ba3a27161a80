"""An error a page did not expect is one sentence with its details folded away, never a raw stack trace."""

from __future__ import annotations

import dashboard_fixtures
import failures
import pickers
import pytest
from dashboard_fixtures import DASHBOARD, DashboardData, crashed
from streamlit.testing.v1 import AppTest

from helpers import ROOT
from siamese.runs.store import Run

dashboard_data = dashboard_fixtures.dashboard_data
dashboard_env = dashboard_fixtures.dashboard_env


@pytest.mark.parametrize("where", ["page", "sidebar"])
def test_an_unexpected_error_is_one_sentence_and_folded_details(dashboard_env: DashboardData, monkeypatch, where):
    def broken(*args, **kwargs):
        raise RuntimeError(f"kernel refused the op in {ROOT / 'siamese' / 'inference.py'}")

    if where == "sidebar":
        monkeypatch.setattr(pickers, "dataset_picker", broken)
    else:
        monkeypatch.setattr(Run, "summary", broken)
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=60).run()
    assert not at.exception  # no raw stack trace on the page
    (error,) = at.error
    assert error.value.startswith("The Home page stopped on an unexpected error (RuntimeError).")
    assert "Reload" in error.value or "reload" in error.value
    (details,) = [e for e in at.expander if e.label == failures.DETAILS]
    trace = details.code[0].value
    assert "RuntimeError" in trace and str(ROOT) + "/" not in trace  # the details, without the server's folders
    assert crashed(at)  # and the tests' own check sees it


def test_streamlit_control_flow_is_not_an_error(dashboard_env: DashboardData):
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=60).run()
    at.switch_page("views/probe.py").run()
    assert not crashed(at) and not at.error
