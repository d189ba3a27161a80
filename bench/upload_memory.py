"""Server memory under large uploads: five 6320x6320 16-bit PNGs (78 KB each) on the Probe page at once.

Starts the dashboard of a checkout (this one, or --repo another, e.g. the main branch to
compare), opens the Probe page in five browser tabs, uploads the image in each, and
prints the server's resident memory (psutil RSS, the streamlit process and its children)
at the start, at its peak while the uploads are processed, and after the tabs close.

    python -m bench.upload_memory [--repo PATH] [--port 8631] [--side 6320]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TABS = 5


def _rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _png(side: int, path: Path) -> int:
    """A 16-bit gray PNG of side x side pixels that compresses to a few kilobytes."""
    rows = np.tile(np.arange(side, dtype=np.uint16)[None, :] % 4096, (side, 1))
    buffer = io.BytesIO()
    Image.fromarray(rows).save(buffer, format="PNG", optimize=True)
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def _wait_port(port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"the dashboard did not start on port {port}")


def _settle(process: psutil.Process, seconds: float = 30) -> int:
    """RSS once it has stopped falling (garbage collection and caches released), or after ``seconds``."""
    last, deadline = _rss(process), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(2)
        now = _rss(process)
        if abs(now - last) < 2 * 1024 * 1024:
            return now
        last = now
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--port", type=int, default=8631)
    parser.add_argument("--side", type=int, default=6320)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    image = work / "big16.png"
    size = _png(args.side, image)
    env = {**os.environ, "PYTHONPATH": str(args.repo), "TF_CPP_MIN_LOG_LEVEL": "2", "SIAMESE_RUNS_DIR": str(work / "runs")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(args.repo / "dashboard" / "Home.py"), "--server.headless", "true",
         "--server.port", str(args.port), "--browser.gatherUsageStats", "false"],
        cwd=args.repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    peak = 0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.is_set():
            peak = max(peak, _rss(process))
            time.sleep(0.1)

    try:
        _wait_port(args.port)
        process = psutil.Process(server.pid)
        url = f"http://127.0.0.1:{args.port}/probe"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
            pages = [browser.new_page(viewport={"width": 1280, "height": 800}) for _ in range(TABS)]
            for page in pages:
                page.goto(url)
                page.wait_for_selector("input[type=file]", state="attached", timeout=120_000)
            start = _settle(process)
            watcher = threading.Thread(target=sample, daemon=True)
            watcher.start()
            for page in pages:
                page.set_input_files("input[type=file]", str(image))
            messages = []
            for page in pages:
                # the page's answer: a refusal, a verdict or (on an unprotected server) an exception
                alert = page.wait_for_selector("[data-testid=stAlert]:has-text('limit'), [data-testid=stAlert]:has-text('Identified'), "
                                               "[data-testid=stAlert]:has-text('Unknown person'), [data-testid=stException]", timeout=600_000)
                messages.append(alert.text_content() or "")
            loaded = _settle(process)
            for page in pages:
                page.close()
            browser.close()
        after = _settle(process, seconds=60)
        sampling.set()
        mb = 1024 * 1024
        print(f"repo {args.repo}: {TABS} uploads of a {args.side}x{args.side} 16-bit PNG ({size / 1024:.0f} KB)")
        print(f"server RSS: start {start / mb:.0f} MB, peak {peak / mb:.0f} MB, with tabs open {loaded / mb:.0f} MB, "
              f"after the tabs closed {after / mb:.0f} MB (after - start: {(after - start) / mb:+.0f} MB)")
        print("first page message:", messages[0][:200])
    finally:
        sampling.set()
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
