"""The dashboard at the demo's size and at 200 identities, side by side: Evaluate's and Embeddings'
first paint and a threshold move, in headless Chromium, and what the server computes for them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import siamese
from bench import dashboard_bench, fixtures
from bench.machine import best_time
from siamese.maps.training_maps import training_map
from siamese.scoring.metrics import per_class_confusion, top_confusions

DEMO_RUN = dashboard_bench.ROOT / "sample_data" / "demo_run"
PLOT_DRAWN = """() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
                      return !!(gd && gd._fullLayout && gd.data && gd.data.length); }"""


def _server_side(run: siamese.Run, test_dir: Path, unknown_dir: Path) -> dict[str, Any]:
    """What the server computes: a threshold move's tables and figures, and the map's figure (seconds, and its size)."""
    charts = dashboard_bench._dashboard_module("charts")
    result = siamese.evaluate(run, test_dir, unknown_dir)
    top = float(max(result.known()[1].max(), result.unknown()[1].max()))
    thresholds = iter(np.linspace(0.2 * top, 0.8 * top, 100))

    def move() -> None:
        current = result.at(next(thresholds))
        current.metrics()
        confusion = current.confusion()
        per_class_confusion(confusion)
        if len(confusion) <= charts.HEATMAP_MAX_CLASSES:
            charts.confusion_heatmap(confusion)
        else:
            top_confusions(confusion)
        charts.distance_histograms({"known": current.known()[1], "unknown": current.unknown()[1]}, current.threshold)

    table = training_map(run)
    figure = charts.embedding_map(table, run.class_names)
    return {
        "threshold_move_server_seconds": best_time(move, 5),
        "map_figure_seconds": best_time(lambda: charts.embedding_map(table, run.class_names), 3),
        "map_figure_megabytes": len(figure.to_json()) / 1e6,
        "map_trace_type": figure.data[0].type,
    }


def _in_browser(run_dir: Path, data_dir: Path, moves: int = 5) -> dict[str, Any]:
    """Seconds to Evaluate's per-class table (first open, which embeds the test images, then a
    new session on the warm server), to a threshold move's updated table, and to the Embeddings map."""
    from playwright.sync_api import sync_playwright  # deferred: optional

    out: dict[str, Any] = {}
    with dashboard_bench._streamlit(run_dir, data_dir) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        try:
            for name in ("evaluate_first_open_seconds", "evaluate_first_paint_seconds"):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                start = time.perf_counter()
                page.goto(url + "/evaluate")
                page.wait_for_selector(dashboard_bench.PER_CLASS, state="attached", timeout=900_000)
                page.wait_for_selector(dashboard_bench.IDLE, timeout=900_000)
                out[name] = time.perf_counter() - start
                if name == "evaluate_first_paint_seconds":
                    seconds = dashboard_bench._threshold_moves(page, moves)
                    out["threshold_move_browser_seconds_median"] = float(np.median(seconds))
                page.close()
            for name in ("embeddings_first_open_seconds", "embeddings_first_paint_seconds"):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                start = time.perf_counter()
                page.goto(url + "/embeddings")
                page.wait_for_function(PLOT_DRAWN, timeout=900_000)
                page.wait_for_selector(dashboard_bench.IDLE, timeout=900_000)
                out[name] = time.perf_counter() - start
                page.close()
        finally:
            browser.close()
    return out


def compare(scale: tuple[int, int, int], browser: bool) -> dict[str, Any]:
    """The demo run (sample_data/demo_run) and a run of ``scale`` = (identities, images per identity,
    stranger identities), each with its classes, map points, test and unknown images and timings."""
    cases = {"demo": DEMO_RUN, f"{scale[0]} identities": fixtures.scale_run(*scale)}
    out: dict[str, Any] = {}
    for name, run_dir in cases.items():
        run = siamese.load_run(run_dir)
        data = run.train_dir.parent
        case: dict[str, Any] = {
            "classes": len(run.class_names), "map_points": len(training_map(run)),
            "test_images": sum(1 for _ in (data / "test").rglob("*.png")), "unknown_images": sum(1 for _ in (data / "unknown").rglob("*.png")),
        }
        case.update(_server_side(run, data / "test", data / "unknown"))
        if browser and Path("/usr/bin/chromium").exists():
            case.update(_in_browser(run_dir, data))
        out[name] = case
    return out


def rows(scale: dict[str, Any], seconds) -> list[tuple[str, ...]]:
    """Side-by-side rows for the benchmark's table: one per measure, the demo and the large run in its columns."""
    (small_name, small), (large_name, large) = scale.items()
    measures = [
        ("threshold_move_browser_seconds_median", "threshold move in Chromium: key press to updated per-class table"),
        ("evaluate_first_paint_seconds", "Evaluate first paint (new session, warm server)"),
        ("evaluate_first_open_seconds", "Evaluate first open (embeds the test and unknown images)"),
        ("embeddings_first_paint_seconds", "Embeddings first paint: map drawn (new session)"),
        ("embeddings_first_open_seconds", "Embeddings first open (reads the recorded map)"),
        ("threshold_move_server_seconds", "threshold move: server computation"),
        ("map_figure_seconds", "map figure built"),
    ]
    sizes = " vs ".join(f"{c['classes']} classes, {c['map_points']:,} map points, {c['test_images']:,} test images ({n})" for n, c in scale.items())
    out = [(f"Dashboard at scale: {sizes}", "", "", "", "")]
    for key, label in measures:
        if key in small and key in large:
            out.append((f"  {label}", f"{seconds(small[key])} / {seconds(large[key])}", "", "", f"{small_name} / {large_name}"))
    out.append(("  map figure size", f"{small['map_figure_megabytes']:.2f} / {large['map_figure_megabytes']:.2f} MB", "", "",
                f"{small['map_trace_type']} / {large['map_trace_type']}"))
    return out

