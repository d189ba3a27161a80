"""Triplet and cosface trained in one process and on two local workers (issue 21): time per
epoch and AUROC of known vs unknown on the sample data (docs/multi-worker.md).

    python -m bench.multiworker_objectives [--epochs 40] [--seeds 0 1] [--out runs/bench-mw]

One process trains at --batch-size 32; two workers (one TensorFlow thread each, on this
machine's ports) at --batch-size 16 each, the same global batch of 32. Every run is then
represented and evaluated with --unknown as a user would. Prints one JSON line a run and a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.machine import cpu_model
from bench.objectives import measure
from siamese.workers.cluster import local_addresses

DATA = Path("sample_data/thermal_faces")


def train(run_dir: Path, loss: str, seed: int, epochs: int, workers: int) -> float:
    """Train one run (one process, or ``workers`` local workers); the wall-clock seconds it took."""
    common = [sys.executable, "-m", "siamese", "train", str(DATA / "train"), "--loss", loss, "--seed", str(seed), "--epochs", str(epochs)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    if workers == 1:
        subprocess.run([*common, "--out", str(run_dir), "--batch-size", "32"], check=True, env=env, stdout=subprocess.DEVNULL)
    else:
        addresses = local_addresses(workers)
        one_thread = {**env, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
        procs = [subprocess.Popen([*common, "--out", str(run_dir if i == 0 else run_dir.with_name(run_dir.name + f"-w{i}")),
                                   "--batch-size", str(32 // workers), "--workers", addresses, "--worker-index", str(i)],
                                  env=one_thread, stdout=subprocess.DEVNULL) for i in range(workers)]
        if any(p.wait() != 0 for p in procs):
            raise SystemExit(f"a worker of {run_dir} failed")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path, default=Path("runs/bench-mw"))
    args = parser.parse_args()
    import siamese
    from siamese.model.backend import kernels

    print(json.dumps({"cpu": cpu_model(), "kernels": kernels().describe(), "load": os.getloadavg()}), flush=True)
    ds = {"test": DATA / "test", "unknown": DATA / "unknown"}
    rows = []
    for seed in args.seeds:
        for loss in ("triplet", "cosface"):
            for workers in (1, 2):
                run_dir = args.out / f"{loss}-{workers}w-s{seed}"
                wall = train(run_dir, loss, seed, args.epochs, workers)
                subprocess.run([sys.executable, "-m", "siamese", "represent", str(run_dir)], check=True, stdout=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
                seconds = siamese.load_run(run_dir).history()["seconds"].to_numpy()
                row = {"loss": loss, "workers": workers, "seed": seed, "wall_seconds": round(wall, 1), "load": os.getloadavg()[0],
                       **measure(run_dir, ds), "median_epoch_seconds": float(np.median(np.diff(seconds)))}  # epoch 2 on: no tracing
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("| objective | workers | seed | s/epoch (mean; median from epoch 2) | AUROC | strangers rejected | known rejected | identified |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['loss']} | {r['workers']} | {r['seed']} | {r['seconds_per_epoch']:.2f}; {r['median_epoch_seconds']:.2f} | {r['auroc_unknown']:.3f} | "
              f"{r['rejection_rate']:.1%} | {r['false_reject_rate']:.1%} | {r['identified_rate']:.1%} |")


if __name__ == "__main__":
    main()
