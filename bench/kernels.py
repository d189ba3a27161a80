"""Embedding under each set of TensorFlow's CPU kernels (oneDNN, Eigen), both paths, side by side.

TensorFlow chooses its kernels once, when it loads, from ``TF_ENABLE_ONEDNN_OPTS``; so each
setting is measured in a process of its own: ``python -m bench.kernels RUN IMAGES LIMIT``
prints one JSON object, and ``compare`` runs it once per setting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SETTINGS = {"oneDNN": "1", "Eigen": "0"}
BATCHES = (256, 1024)


def measure(run_dir: Path, n_images: int, limit_size: int) -> dict[str, Any]:
    """Throughput of the plain Keras model and of the phase split, in this process's kernels."""
    # deferred: these import TensorFlow, which must load only after the kernel setting is made
    import siamese
    from bench.fixtures import random_images
    from bench.machine import best_time, fp32_limit
    from siamese.model.backend import kernels
    from siamese.model.fast_inference import Embedder, phase_split_pays
    from siamese.model.network import count_macs

    network = siamese.load_run(run_dir).embedding_network()
    flop = 2 * count_macs(network)
    images = random_images(n_images)
    limit = fp32_limit(limit_size)
    cpu = kernels()
    result: dict[str, Any] = {"kernels": cpu.name, "described": cpu.describe(), "ours": "phase split" if phase_split_pays(cpu) else "plain",
                              "limit_gflops": limit, "mflop_per_image": flop / 1e6, "paths": {}}
    for path, embedder in (("plain", Embedder(network, phase_split=False)), ("phase split", Embedder(network, phase_split=True))):
        for batch in BATCHES:
            def one_pass(embedder=embedder, batch=batch) -> None:
                for i in range(0, n_images, batch):
                    embedder(images[i : i + batch])

            one_pass()  # traces the batch shapes
            rate = n_images / best_time(one_pass, 3)
            result["paths"][f"{path}, batch {batch}"] = {"images_per_second": rate, "fraction_of_limit": rate * flop / 1e9 / limit}
    return result


def compare(run_dir: Path, n_images: int, limit_size: int) -> dict[str, Any]:
    """``measure`` under each kernel setting, each in a fresh process."""
    results = {}
    for name, value in SETTINGS.items():
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": value, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("SIAMESE_TURNED_ONEDNN_ON", None)
        done = subprocess.run([sys.executable, "-m", "bench.kernels", str(run_dir), str(n_images), str(limit_size)],
                              env=env, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Table rows: per kernel setting, each path's throughput and share of the FP32 limit."""
    out = []
    for name, r in results.items():
        best = {path: max(v["images_per_second"] for k, v in r["paths"].items() if k.startswith(path)) for path in ("plain", "phase split")}
        fractions = {path: max(v["fraction_of_limit"] for k, v in r["paths"].items() if k.startswith(path)) for path in ("plain", "phase split")}
        out.append((f"Embedding, {name} kernels (TF_ENABLE_ONEDNN_OPTS={SETTINGS[name]}): phase split vs plain Keras model",
                    f"{best['phase split']:,.0f} img/s ({fractions['phase split']:.1%} of limit)",
                    f"plain {best['plain']:,.0f} img/s ({fractions['plain']:.1%})", f"limit {r['limit_gflops']:.0f} GFLOP/s",
                    f"{best['phase split'] / best['plain']:.2f}x; ours runs the {r['ours']}"))
        for path, v in r["paths"].items():
            out.append((f"  {name}: {path}", f"{v['images_per_second']:,.0f} img/s", "", "", f"{v['fraction_of_limit']:.1%} of limit"))
    return out


if __name__ == "__main__":
    run, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(measure(Path(run), count, size), default=float))
