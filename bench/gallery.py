"""Galleries, measured: how well the network identifies people it never trained on, and how fast
a probe searches a large gallery.

    python -m bench.gallery [--out DIR] [--seeds 0] [--datasets thermal digits] [--latency-people 1000 10000]

Generalisation: for each dataset and seed, train on some classes only, ``represent`` with
the defaults (the calibrated threshold), then enroll the held-back classes from 1, 3 and 5
reference images each (no training) and ``evaluate``: the trained classes' test images,
the enrolled classes' other images (never a reference image), and strangers. Datasets:
the sample thermal faces (10 people trained, 6 enrolled, the sample data's 6 strangers);
scikit-learn's digits (0-6 trained, 7-9 enrolled; no stranger is left, so the table gives
the share of 7-9 rejected before they were enrolled); Fashion-MNIST when its Debian
package is installed (7 classes trained, 7 8 9 enrolled, likewise).

Latency: the demo run's network and rule with a synthetic gallery of N people x 5 images
(embeddings drawn around random centres, as many dimensions as the network's output):
the time of one probe's search over the gallery after the model is loaded (median of 50),
one whole probe (decode, embed, search), and the memory the gallery's points take.

Prints two tables and writes ``DIR/gallery.json``; docs/gallery.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bench.objectives import FASHION, write_fashion
from bench.openset import write_digits

ROOT = Path(__file__).resolve().parent.parent
SHOTS = (1, 3, 5)
EPOCHS = {"thermal": 30, "digits": 10, "fashion": 10}
TRAINED_PEOPLE = 10  # of the sample data's 16


def _copy_classes(source: Path, names: list[str], dest: Path) -> None:
    for name in names:
        if not (dest / name).exists():
            shutil.copytree(source / name, dest / name)


def datasets(work: Path, wanted: list[str]) -> dict[str, dict]:
    """Per dataset: train/ (trained classes), test/ (their test images), enroll/ (one folder per
    held-back class, its images in order: the first few are the references, the rest tests),
    strangers/ (or None). Copies, so the sample data stays as it is."""
    found: dict[str, dict] = {}
    if "thermal" in wanted:
        sample, out = ROOT / "sample_data" / "thermal_faces", work / "thermal"
        people = sorted(p.name for p in (sample / "train").iterdir())
        trained, enrolled = people[:TRAINED_PEOPLE], people[TRAINED_PEOPLE:]
        _copy_classes(sample / "train", trained, out / "train")
        _copy_classes(sample / "test", trained, out / "test")
        for name in enrolled:  # references from their training images, tests from their test images
            if not (out / "enroll" / name).exists():
                (out / "enroll" / name).mkdir(parents=True)
                for i, path in enumerate([*sorted((sample / "train" / name).iterdir()), *sorted((sample / "test" / name).iterdir())]):
                    shutil.copy2(path, out / "enroll" / name / f"{i:03d}{path.suffix}")
        found["thermal"] = {"root": out, "strangers": sample / "unknown", "stranger_label": "strangers"}
    if "digits" in wanted:
        out = work / "digits"
        if not out.exists():
            write_digits(out / "source")
            shutil.copytree(out / "source" / "train", out / "train")
            shutil.copytree(out / "source" / "test", out / "test")
            shutil.copytree(out / "source" / "unknown", out / "enroll")
        found["digits"] = {"root": out, "strangers": None, "stranger_label": "7-9 before enrolling"}
    if "fashion" in wanted and FASHION.exists():
        out = work / "fashion"
        if not out.exists():
            write_fashion(out / "source", (7, 8, 9))
            shutil.copytree(out / "source" / "train", out / "train")
            shutil.copytree(out / "source" / "test", out / "test")
            shutil.copytree(out / "source" / "unknown", out / "enroll")
        found["fashion"] = {"root": out, "strangers": None, "stranger_label": "7-9 before enrolling"}
    return found


def _held_out_tests(enroll_dir: Path, dest: Path) -> Path:
    """A test folder of the enrolled classes' images past the 5th (never a reference at any shot count)."""
    if not dest.exists():
        for person in sorted(enroll_dir.iterdir()):
            (dest / person.name).mkdir(parents=True)
            for path in sorted(person.iterdir())[max(SHOTS):]:
                shutil.copy2(path, dest / person.name / path.name)
    return dest


def generalisation(name: str, ds: dict, seed: int, work: Path) -> list[dict]:
    import siamese
    from siamese.gallery.enroll import enroll_many

    root = ds["root"]
    run_dir = work / "runs" / f"{name}-{seed}"
    started = time.monotonic()
    if not (run_dir / "run.json").exists():
        siamese.train(siamese.TrainConfig(train_dir=str(root / "train"), epochs=EPOCHS[name], seed=seed), run_dir, verbose=0)
    run = siamese.load_run(run_dir)
    siamese.represent(run, seed=seed)
    for person in run.enrolled().names:  # a rerun starts from the trained classes only
        siamese.unenroll(run, person)
    enroll_tests = _held_out_tests(root / "enroll", root / "enroll_tests")
    before = siamese.evaluate(run, None, enroll_tests).metrics()["rejection_rate"]
    rows = []
    for shots in SHOTS:
        people = {p.name: sorted(p.iterdir())[:shots] for p in sorted((root / "enroll").iterdir())}
        enroll_many(run, people)
        trained = siamese.evaluate(run, root / "test", ds["strangers"]).metrics()
        enrolled = siamese.evaluate(run, enroll_tests, None).metrics()["by_kind"]["enrolled"]
        rows.append({
            "dataset": name, "seed": seed, "shots": shots, "trained_people": len(run.class_names), "enrolled_people": len(people),
            "trained_identified": trained["identified_rate"], "trained_false_reject": trained["false_reject_rate"],
            "enrolled_identified": enrolled["identified_rate"], "enrolled_false_reject": enrolled["false_reject_rate"],
            "enrolled_misidentified": enrolled["misidentified_rate"], "n_enrolled_test": enrolled["n_test"],
            "strangers_rejected": trained.get("rejection_rate", before) if ds["strangers"] is not None else before,
            "stranger_label": ds["stranger_label"], "threshold": trained["threshold"], "seconds": time.monotonic() - started,
        })
        for person in people:
            siamese.unenroll(run, person)
    return rows


def latency(people_counts: list[int], images: int = 5, repeats: int = 50) -> list[dict]:
    """Search time and memory of a synthetic gallery of N people x ``images`` on the demo run."""
    import siamese
    from siamese.data.folders import decode_image
    from siamese.scoring.rules import extend_scorer

    run = siamese.load_run(ROOT / "sample_data" / "demo_run")
    probe_file = sorted((ROOT / "sample_data" / "thermal_faces" / "test" / "person_01").iterdir())[0]
    query = run.embed(decode_image(probe_file, run.input_shape, run.pixels)[None])
    trained = run.scorer()
    dimension = query.shape[1]
    rng = np.random.default_rng(0)
    rows = []
    for n in people_counts:
        centres = rng.normal(0, 1, (n, dimension)).astype(np.float32)
        embeddings = (np.repeat(centres, images, axis=0) + rng.normal(0, 0.1, (n * images, dimension))).astype(np.float32)
        labels = np.repeat(np.arange(n), images) + len(run.class_names)
        tracemalloc.start()
        scorer = extend_scorer(trained, embeddings, labels, len(run.class_names) + n)
        _, peak_build = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        scorer.class_distances(query)
        _, peak_search = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            dist = scorer.class_distances(query)
            int(dist.argmin())
            times.append(time.perf_counter() - started)
        whole = []
        for _ in range(10):  # what probe does after loading: decode, embed, search the gallery
            started = time.perf_counter()
            embedding = run.embed(decode_image(probe_file, run.input_shape, run.pixels)[None])
            int(scorer.class_distances(embedding).argmin())
            whole.append(time.perf_counter() - started)
        rows.append({
            "people": n, "images": n * images, "dimension": dimension, "rule": scorer.describe(),
            "search_ms_median": 1000 * float(np.median(times)), "search_ms_p95": 1000 * float(np.percentile(times, 95)),
            "probe_ms_median": 1000 * float(np.median(whole)),
            "points_mb": scorer.points.nbytes / 2**20, "stored_mb": (embeddings.nbytes + labels.nbytes) / 2**20,
            "peak_build_mb": peak_build / 2**20, "peak_search_mb": peak_search / 2**20,
        })
        print(f"gallery of {n:,} people x {images}: search {rows[-1]['search_ms_median']:.1f} ms (p95 {rows[-1]['search_ms_p95']:.1f}), "
              f"whole probe {rows[-1]['probe_ms_median']:.1f} ms, points {rows[-1]['points_mb']:.1f} MB", flush=True)
    return rows


def print_tables(results: dict) -> None:
    print("| data | trained / enrolled | images per enrolled | trained identified | trained falsely rejected | "
          "enrolled identified | enrolled falsely rejected | enrolled misidentified | strangers rejected |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results["generalisation"]:
        print(f"| {row['dataset']} (seed {row['seed']}) | {row['trained_people']} / {row['enrolled_people']} | {row['shots']} | "
              f"{row['trained_identified']:.1%} | {row['trained_false_reject']:.1%} | {row['enrolled_identified']:.1%} | "
              f"{row['enrolled_false_reject']:.1%} | {row['enrolled_misidentified']:.1%} | {row['strangers_rejected']:.1%} ({row['stranger_label']}) |")
    print("\n| people x 5 images | search (median, p95) | whole probe after loading | gallery points in memory | stored (float32) |")
    print("|---|---|---|---|---|")
    for row in results["latency"]:
        print(f"| {row['people']:,} | {row['search_ms_median']:.1f} ms, {row['search_ms_p95']:.1f} ms | {row['probe_ms_median']:.1f} ms | "
              f"{row['points_mb']:.1f} MB | {row['stored_mb']:.1f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/siamese-gallery"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--datasets", nargs="+", default=["thermal", "digits"], choices=list(EPOCHS))
    parser.add_argument("--latency-people", type=int, nargs="*", default=[1000, 10000])
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args.out.mkdir(parents=True, exist_ok=True)
    found = datasets(args.out, args.datasets)
    results = {"generalisation": [], "latency": []}
    for seed in args.seeds:
        for name in args.datasets:
            if name not in found:
                print(f"{name}: not available (install the Debian package dataset-fashion-mnist)", flush=True)
                continue
            rows = generalisation(name, found[name], seed, args.out)
            results["generalisation"].extend(rows)
            print(f"{name} seed {seed}: " + "; ".join(f"{r['shots']} images: enrolled identified {r['enrolled_identified']:.1%}" for r in rows)
                  + f" ({rows[-1]['seconds']:.0f} s)", flush=True)
    results["latency"] = latency(args.latency_people)
    (args.out / "gallery.json").write_text(json.dumps(results, indent=1))
    print_tables(results)


if __name__ == "__main__":
    main()
