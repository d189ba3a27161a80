"""One loaded run serves many sessions at once: concurrent embed calls agree with sequential ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from siamese.runs import load_run


def test_concurrent_embed_calls_on_one_run_match_sequential(tiny_run):
    run = load_run(tiny_run)
    rng = np.random.default_rng(0)
    batches = [rng.random((n, 60, 80, 3), dtype=np.float32) for n in (1, 3, 7, 16, 2, 5, 9, 4, 11, 6)]
    expected = [run.embed(b) for b in batches]
    fresh = load_run(tiny_run)  # the model is loaded lazily: let ten threads race to load it
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(fresh.embed, batches))
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert fresh.embedding_network() is fresh.embedding_network()


def test_evaluation_at_different_thresholds_is_independent(tiny_run, tiny_data):
    from siamese.evaluation import evaluate

    shared = evaluate(load_run(tiny_run), tiny_data / "test", tiny_data / "unknown")
    original = shared.threshold
    thresholds = np.linspace(0.0, 1.0, 10)
    with ThreadPoolExecutor(max_workers=10) as pool:
        metrics = list(pool.map(lambda t: shared.at(t).metrics(), thresholds))
    assert [m["threshold"] for m in metrics] == list(thresholds)
    assert metrics == [shared.at(t).metrics() for t in thresholds]
    assert shared.threshold == original  # each session's threshold lives in its own copy
