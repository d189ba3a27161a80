"""The benchmark's dashboard section: a threshold change on Evaluate, Home's first paint, and a cached map."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import siamese
from bench import fixtures
from bench.machine import best_time
from siamese.maps.training_maps import training_map

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard"


def _synthetic_evaluation(n_test: int, n_unknown: int):
    """An Evaluation of ``n_test`` known and ``n_unknown`` unknown images with plausible distances."""
    rng = np.random.default_rng(0)
    names = [f"person_{i:02d}" for i in range(fixtures.N_CLASSES)]
    true = np.arange(n_test) % fixtures.N_CLASSES
    dist = rng.uniform(0.3, 1.0, (n_test, fixtures.N_CLASSES))
    dist[np.arange(n_test), true] = rng.uniform(0.0, 0.5, n_test)
    return siamese.Evaluation(
        class_names=names, threshold=0.3, files=[f"test/{i}.png" for i in range(n_test)], true=true, class_dist=dist,
        unknown_files=[f"unknown/{i}.png" for i in range(n_unknown)], unknown_groups=["stranger"] * n_unknown,
        unknown_class_dist=rng.uniform(0.2, 1.0, (n_unknown, fixtures.N_CLASSES)), skipped=[],
    )


def _threshold_change_calls(n_test: int, n_unknown: int) -> dict[str, float]:
    """Server time of what the Evaluate page computes on a slider move, call by call (seconds)."""
    result = _synthetic_evaluation(n_test, n_unknown)
    thresholds = iter(np.linspace(0.2, 0.6, 1000))
    timings: dict[str, float] = {}
    charts = _dashboard_module("charts") if (DASHBOARD / "charts.py").exists() else None

    def step(name: str, fn) -> Any:
        start = time.perf_counter()
        value = fn()
        timings[name] = min(timings.get(name, np.inf), time.perf_counter() - start)
        return value

    for _ in range(5):
        t = next(thresholds)
        current = step("at", lambda t=t: result.at(t))
        step("sweep_at_threshold", lambda current=current: current.sweep([current.threshold]))
        step("metrics", current.metrics)
        step("confusion", current.confusion)
        step("sweep_201", current.sweep)
        if charts is not None:
            known = current.known()[1]
            groups = {"known": known, "unknown": current.unknown()[1]}
            try:
                step("histogram_figure", lambda groups=groups, t=t: charts.distance_histograms(groups, t))  # noqa: B023 (charts is fixed)
            except (TypeError, KeyError, AttributeError):
                timings.pop("histogram_figure", None)
    timings["total"] = sum(timings.values())
    return timings


@functools.cache
def _dashboard_module(name: str):
    """The dashboard's module ``dashboard/NAME.py``, loaded from its file (it is no package)."""
    spec = importlib.util.spec_from_file_location(f"dashboard_{name}", DASHBOARD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _apptest_threshold_change(run_dir: Path, data_dir: Path) -> dict[str, float]:
    """The Evaluate page rerun after a threshold slider move, in Streamlit's AppTest (seconds)."""
    from streamlit.testing.v1 import AppTest  # deferred: streamlit is slow to import, and only this measure needs it

    env = {"SIAMESE_RUN_ROOTS": str(run_dir), "SIAMESE_DATA_ROOTS": str(data_dir), "SIAMESE_RUNS_DIR": str(data_dir / "new_runs")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        start = time.perf_counter()
        at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=600).run()
        at.switch_page("views/evaluate.py").run()
        first = time.perf_counter() - start  # Home and Evaluate, with every test image embedded once
        if at.exception:
            raise RuntimeError(f"the Evaluate page failed: {at.exception[0].message}")
        slider = _threshold_slider(at)
        reruns = []
        for value in np.linspace(slider.min, slider.max, 7)[1:-1]:
            step = slider.step or 0.001
            slider.set_value(round(float(value) / step) * step)
            start = time.perf_counter()
            at.run()
            reruns.append(time.perf_counter() - start)
            slider = _threshold_slider(at)
        return {"first_open_seconds": first, "rerun_seconds_median": float(np.median(reruns)), "rerun_seconds_best": float(min(reruns))}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _threshold_slider(at):
    """The Evaluate page's threshold slider, found by its label (its key carries the run and range)."""
    sliders = [w for w in at.slider if w.label.startswith("Threshold")]
    if not sliders:
        raise RuntimeError("the Evaluate page shows no threshold slider")
    return sliders[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _streamlit(run_dir: Path, data_dir: Path, timeout: float = 120.0) -> Iterator[tuple[str, dict[str, float]]]:
    """``streamlit run dashboard/Home.py`` pointed at these roots, on a free port: yields its URL and
    the seconds from the start to a healthy server (``health_seconds``) and to its HTML (``html_seconds``)."""
    port = _free_port()
    env = {**os.environ, "SIAMESE_RUN_ROOTS": str(run_dir), "SIAMESE_DATA_ROOTS": str(data_dir), "SIAMESE_RUNS_DIR": str(data_dir / "new_runs")}
    command = [sys.executable, "-m", "streamlit", "run", str(DASHBOARD / "Home.py"), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    start = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict[str, float] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        while "health_seconds" not in result:
            if time.perf_counter() - start > timeout or server.poll() is not None:
                raise RuntimeError("streamlit did not start")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        result["health_seconds"] = time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
        result["html_seconds"] = time.perf_counter() - start
        yield url, result
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _home_first_paint(run_dir: Path, data_dir: Path, timeout: float = 120.0) -> dict[str, Any]:
    """Start ``streamlit run dashboard/Home.py`` and time the health endpoint, the HTML, and (with Chromium) the app's first paint."""
    with _streamlit(run_dir, data_dir, timeout) as (url, started):
        result: dict[str, Any] = dict(started)
        result.update(_browser_paint(url))
        result.update(_browser_threshold_change(url))
    return result


def _browser_paint(url: str) -> dict[str, Any]:
    """First contentful paint and the time until Home's title is on screen, in headless Chromium (if available)."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright  # deferred: optional; without it the section reports no browser times
    except ImportError:
        return {"browser": "playwright not installed"}
    if not chromium.exists():
        return {"browser": "no /usr/bin/chromium"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("h1", timeout=120_000)
            title_seconds = time.perf_counter() - start
            fcp = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
        finally:
            browser.close()
    return {"browser": "chromium", "first_contentful_paint_seconds": fcp / 1000 if fcp else None, "home_title_visible_seconds": title_seconds}


PER_CLASS = '[data-testid="stDataFrame"] table'  # Evaluate's per-class table (a canvas grid; this is its accessible table)
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _threshold_moves(page, moves: int) -> list[float]:
    """On an open Evaluate page: seconds from a threshold key press to the updated per-class table, idle."""
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
    slider.focus()
    seconds = []
    for move in range(moves):
        before = page.locator(PER_CLASS).first.inner_text()
        start = time.perf_counter()
        # Alternate between no image accepted and all accepted, so the table certainly changes.
        slider.press("Home" if move % 2 == 0 else "End")
        page.wait_for_function("([s, b]) => document.querySelector(s).innerText !== b", arg=[PER_CLASS, before])
        page.wait_for_selector(IDLE)
        seconds.append(time.perf_counter() - start)
    return seconds


def _browser_threshold_change(url: str, moves: int = 7) -> dict[str, Any]:
    """Evaluate in headless Chromium: from a threshold key press to the updated per-class table on screen.

    This is what a user waits for: the server's rerun of the threshold fragment, the
    message to the browser and its drawing; the server's share is at most this.
    """
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright  # deferred: optional; without it the section reports no browser times
    except ImportError:
        return {}
    if not chromium.exists():
        return {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/evaluate")
            page.wait_for_selector(PER_CLASS, state="attached", timeout=600_000)  # the first open embeds every test image
            page.wait_for_selector(IDLE)
            seconds = _threshold_moves(page, moves)
        finally:
            browser.close()
    return {"threshold_change_browser_seconds_median": float(np.median(seconds)), "threshold_change_browser_seconds_best": float(min(seconds))}


def _cached_map(run_dir: Path, n_points: int) -> dict[str, float]:
    """Reading a run's recorded map, and drawing a cached map of ``n_points`` points as the page does."""
    run = siamese.load_run(run_dir)
    out = {"read_recorded_map_seconds": best_time(lambda: training_map(run), 3)}
    if (DASHBOARD / "charts.py").exists():
        charts = _dashboard_module("charts")
        rng = np.random.default_rng(0)
        labels = np.arange(n_points) % len(run.class_names)
        table = pd.DataFrame({"file": [f"{i}.png" for i in range(n_points)], "class": [run.class_names[c] for c in labels],
                              "x": rng.normal(size=n_points), "y": rng.normal(size=n_points), "distance_to_representative": rng.random(n_points),
                              "representative": np.arange(n_points) < len(run.class_names)})
        with tempfile.TemporaryDirectory() as tmp:
            table.to_csv(Path(tmp) / "map.csv", index=False)
            out[f"read_and_draw_{n_points}_point_map_seconds"] = best_time(
                lambda: charts.embedding_map(pd.read_csv(Path(tmp) / "map.csv"), run.class_names, None), 3)
    return out


def dashboard(run_dir: Path, n_test: int, n_unknown: int, apptest: bool, browser: bool) -> dict[str, Any]:
    """Threshold change on Evaluate, first paint of Home, and showing a cached map."""
    data_dir = fixtures.run_data(run_dir)
    result: dict[str, Any] = {"test_images": n_test, "unknown_images": n_unknown,
                              "threshold_change_package_seconds": _threshold_change_calls(n_test, n_unknown)}
    has_dashboard = (DASHBOARD / "Home.py").exists()
    result["dashboard_present"] = has_dashboard
    if has_dashboard and apptest:
        result["threshold_change_apptest"] = _apptest_threshold_change(run_dir, data_dir)
    if has_dashboard and browser:
        result["home_first_paint"] = _home_first_paint(run_dir, data_dir)
    result["cached_map"] = _cached_map(run_dir, 10_000 if n_test >= 10_000 else 1_000)
    return result
