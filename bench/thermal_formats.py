"""Thermal images as temperatures, measured: the same synthetic faces in each file format and pixel mapping.

    python -m bench.thermal_formats [--out DIR] [--datasets 0 1] [--epochs 40] [--hot-objects 0.5]

Each dataset is written by ``sample-data`` in four formats (8-bit automatic-gain PNG,
16-bit centikelvin PNG, float .npy of degrees Celsius, ironbow-coloured PNG), from the
same generator seed, so every format shows the same scenes; a second copy of each has a
cup of tea at 60 C in a bottom corner of ``--hot-objects`` of the test and unknown
images (training images are the same, without cups). Five ways of reading them are
trained with the default settings (seed = the dataset's seed) and scored on the clean and
on the hot test and unknown sets, at the run's calibrated threshold: accuracy (nearest
class right), identified rate, strangers rejected, AUROC known vs unknown. Prints one
table and writes ``DIR/thermal_formats.json``; docs/thermal.md
quotes it. Results already in the JSON are not measured again.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

# Two generator seeds with different sizes: (identities, images per identity, strangers).
DATASETS = {0: (16, 30, 6), 1: (12, 40, 8)}
# (label, format written by sample-data, TrainConfig pixel settings)
READINGS = [
    ("(a) 8-bit AGC PNG", "agc-png", {}),
    ("(b) centikelvin, per-frame stretch", "centikelvin-png", {"unit": "centikelvin"}),
    ("(c) centikelvin, window 28:38", "centikelvin-png", {"unit": "centikelvin", "window": [28.0, 38.0]}),
    # A window over the whole scene (room, hair, clothing and face), not the face alone.
    ("(c2) centikelvin, window 15:40", "centikelvin-png", {"unit": "centikelvin", "window": [15.0, 40.0]}),
    ("(d) ironbow read as RGB", "ironbow-png", {}),
    ("(e) ironbow read back (palette)", "ironbow-png", {"palette": "ironbow"}),
]
METRICS = ("accuracy", "identified_rate", "rejection_rate", "auroc_unknown")


def write_data(out: Path, seed: int, fmt: str, hot: float) -> Path:
    """The dataset of ``seed`` in ``fmt`` (with cups in ``hot`` of the test and unknown images), written once."""
    from siamese.sample.dataset import write_sample_dataset

    identities, per_identity, strangers = DATASETS[seed]
    folder = out / "data" / (f"seed{seed}-{fmt}" + ("-hot" if hot else ""))
    if not (folder / "unknown").exists():
        write_sample_dataset(folder, identities=identities, per_identity=per_identity, unknown_identities=strangers,
                             seed=seed, fmt=fmt, hot_objects=hot)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/siamese-thermal-formats"))
    parser.add_argument("--datasets", type=int, nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hot-objects", type=float, default=0.5)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import siamese

    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "thermal_formats.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    done = {(r["seed"], r["reading"]) for r in results}
    for seed in args.datasets:
        for label, fmt, pixels in READINGS:
            if (seed, label) in done:
                continue
            clean, hot = write_data(args.out, seed, fmt, 0.0), write_data(args.out, seed, fmt, args.hot_objects)
            run_dir = args.out / "runs" / f"seed{seed}-{label[1:label.index(')')]}"
            started = time.monotonic()
            if not (run_dir / "run.json").exists():
                config = siamese.TrainConfig(train_dir=str(clean / "train"), epochs=args.epochs, seed=seed, input_shape=[60, 80, 3], **pixels)
                siamese.train(config, run_dir, verbose=0)
            siamese.represent(siamese.load_run(run_dir), seed=seed)
            run = siamese.load_run(run_dir)
            row = {"seed": seed, "reading": label, "seconds": round(time.monotonic() - started)}
            for test_set, folder in (("clean", clean), ("hot", hot)):
                metrics = siamese.evaluate(run, folder / "test", folder / "unknown").metrics()
                row[test_set] = {name: metrics[name] for name in METRICS}
            results.append(row)
            results_file.write_text(json.dumps(results, indent=1))
            print(f"seed {seed} {label}: {row['seconds']} s; clean {row['clean']}; hot {row['hot']}", flush=True)
    print_table(results)


def _cell(rows: list[dict], test_set: str, name: str) -> str:
    values = [r[test_set][name] for r in rows]
    return f"{np.mean(values):.3f} ({' / '.join(f'{v:.3f}' for v in values)})"


def print_table(results: list[dict]) -> None:
    """One row per reading and test set: the mean over datasets, and each dataset's value."""
    print("| reading | test set | datasets | accuracy | identified | strangers rejected | AUROC |")
    print("|---|---|---|---|---|---|---|")
    for test_set in ("clean", "hot"):
        for label, _, _ in READINGS:
            rows = sorted((r for r in results if r["reading"] == label), key=lambda r: r["seed"])
            if not rows:
                continue
            print(f"| {label} | {'clean' if test_set == 'clean' else 'cup of tea in half'} | {len(rows)} | "
                  + " | ".join(_cell(rows, test_set, name) for name in METRICS) + " |")


if __name__ == "__main__":
    main()
