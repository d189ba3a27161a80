"""Open-set levers, measured: training settings x seeds x datasets, every scoring rule.

    python -m bench.openset [--out DIR] [--seeds 0 1] [--configs base augment margin1.5]

For each dataset (the sample thermal faces with their strangers and with near twins, and
scikit-learn's handwritten digits with 3 of 10 digits held out as unknown), each training
configuration and each seed: train with the default calibration share, represent (1 and 3
representatives per class), and score the test and unknown images with every rule at its
own threshold calibrated for 5% false rejects. Prints one table and writes
``DIR/openset.json``; docs/open-set.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

CONFIGS = {
    "base": {"augment": False},  # the first version's training
    "augment": {"augment": True},  # with siamese.training.augment.MIRROR on (see MIRRORED)
    "margin1.5": {"augment": False, "margin": 1.5},
    "augment-no-mirror": {"augment": True},  # today's default
}
MIRRORED = {"augment"}
DIGITS_KNOWN = 7  # digits 0-6 known, 7-9 unknown


def write_digits(out: Path, seed: int = 0) -> None:
    """scikit-learn's 8x8 digits (shipped with the package), upscaled to 32x32 gray PNGs:
    digits 0-6 split 80/20 into train/ and test/, digits 7-9 in unknown/."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    for label in range(10):
        idx = rng.permutation(np.flatnonzero(digits.target == label))
        n_test = int(round(idx.size * 0.2))
        for j, i in enumerate(idx):
            part = "unknown" if label >= DIGITS_KNOWN else ("test" if j < n_test else "train")
            folder = out / part / f"digit_{label}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = (digits.images[i] / 16.0 * 255).astype(np.uint8)
            Image.fromarray(pixels, "L").resize((32, 32), Image.BILINEAR).save(folder / f"{i:04d}.png")


def prepared(work: Path) -> tuple[Path, Path, Path]:
    """(sample thermal faces, near twins, digits): the committed sample data, and the two
    others written under ``work`` once; each holds train/, test/ and unknown/."""
    from siamese.sample.dataset import write_sample_dataset

    root = Path(__file__).resolve().parent.parent / "sample_data" / "thermal_faces"
    twins = work / "twins"
    if not twins.exists():
        # Same 16 known people as the sample data (same seed), 8 near twins as the only unknowns.
        write_sample_dataset(twins, unknown_identities=0, near_twins=8, seed=0)
    digits = work / "digits"
    if not digits.exists():
        write_digits(digits)
    return root, twins, digits


def datasets(work: Path) -> dict[str, dict[str, Path]]:
    root, twins, digits = prepared(work)
    return {
        "thermal": {"train": root / "train", "test": root / "test", "unknown": {"strangers": root / "unknown", "near twins": twins / "unknown"}, "epochs": 40},
        "digits": {"train": digits / "train", "test": digits / "test", "unknown": {"digits 7-9": digits / "unknown"}, "epochs": 20},
    }


def measure(run, test: Path, unknown: Path) -> dict:
    import siamese

    result = siamese.evaluate(run, test, unknown, compare_rules=True)
    rules = result.rule_table().set_index("rule").to_dict(orient="index")
    per_class = result.at(result.threshold, np.array([run.recorded_class_thresholds()[c] for c in run.class_names]))
    m = per_class.metrics()
    rules["medoid, per-class thresholds"] = {"accuracy": m["accuracy"], "identified_rate": m["identified_rate"], "false_reject_rate": m["false_reject_rate"],
                                            "rejection_rate": m["rejection_rate"], "auroc_unknown": None}
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/siamese-openset"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--datasets", nargs="+", default=["thermal", "digits"])
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import siamese

    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "openset.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    done = {(r["dataset"], r["config"], r["seed"], r["per_class"]) for r in results}
    for name, ds in datasets(args.out).items():
        if name not in args.datasets:
            continue
        for config_name in args.configs:
            for seed in args.seeds:
                if all((name, config_name, seed, k) in done for k in (1, 3)):
                    continue
                run_dir = args.out / "runs" / f"{name}-{config_name}-{seed}"
                if not (run_dir / "run.json").exists():
                    started = time.monotonic()
                    import siamese.training.augment

                    siamese.training.augment.MIRROR = config_name in MIRRORED
                    config = siamese.TrainConfig(train_dir=str(ds["train"]), epochs=ds["epochs"], seed=seed, **CONFIGS[config_name])
                    siamese.train(config, run_dir, verbose=0)
                    print(f"trained {run_dir.name} in {time.monotonic() - started:.0f} s", flush=True)
                for per_class in (3, 1):
                    siamese.represent(siamese.load_run(run_dir), per_class=per_class, seed=seed)
                    run = siamese.load_run(run_dir)
                    for unknown_name, unknown in ds["unknown"].items():
                        rules = measure(run, ds["test"], unknown)
                        results.append({"dataset": name, "unknown": unknown_name, "config": config_name, "seed": seed, "per_class": per_class, "rules": rules})
                    results_file.write_text(json.dumps(results, indent=1))
    print_table(results)


def print_table(results: list[dict]) -> None:
    """Mean over seeds (and the range) per dataset, unknown set, configuration, K and rule."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        for rule, row in r["rules"].items():
            groups.setdefault((r["dataset"], r["unknown"], r["config"], r["per_class"], rule), []).append(row)
    print(f"{'dataset':8} {'unknown':11} {'config':10} {'K':>2} {'rule':30} {'seeds':>5} {'accuracy':>9} {'identified':>10} {'known rej':>9} {'strangers rej':>13} {'AUROC':>6}")

    def cell(rows: list[dict], column: str, width: int) -> str:
        values = [row[column] for row in rows if row.get(column) is not None]
        return f"{np.mean(values):.3f}".rjust(width) if values else " " * (width - 1) + "-"

    for key, rows in sorted(groups.items()):
        print(f"{key[0]:8} {key[1]:11} {key[2]:10} {key[3]:>2} {key[4]:30} {len(rows):>5} {cell(rows, 'accuracy', 9)} {cell(rows, 'identified_rate', 10)} "
              f"{cell(rows, 'false_reject_rate', 9)} {cell(rows, 'rejection_rate', 13)} {cell(rows, 'auroc_unknown', 6)}")


if __name__ == "__main__":
    main()
