"""bench.gallery's latency section on a small synthetic gallery: a real probe of the demo run still finds its person."""

from __future__ import annotations

import pytest

from helpers import DEMO_RUN


def test_latency_probes_a_written_gallery(tmp_path):
    if not (DEMO_RUN / "run.json").exists():
        pytest.skip("sample_data/demo_run is not committed yet")
    from bench.gallery import latency

    (row,) = latency([200], tmp_path, repeats=3)  # asserts the probe's nearest class itself
    assert row["people"] == 200 and row["images"] == 1000 and row["rule"].startswith("knn")
    assert row["points_mb"] > row["stored_mb"] > 0 and row["search_ms_median"] > 0
    assert not (tmp_path / "latency" / "demo-200").exists()  # the copy is removed, the demo run untouched
