"""Galleries, measured: how well the network identifies people it never trained on, and how fast
a probe searches a large gallery.

    python -m bench.gallery [--out DIR] [--seeds 0] [--datasets thermal digits] [--latency-people 1000 10000] [--enrolled-k 1]

Generalisation: for each dataset and seed, train on some classes only, ``represent`` with
the defaults (the calibrated threshold), then enroll the held-back classes from 1, 3 and 5
reference images each (no training) and ``evaluate``: the trained classes' test images,
the enrolled classes' other images (never a reference image), and strangers. Datasets:
the sample thermal faces (10 people trained, 6 enrolled, the sample data's 6 strangers);
scikit-learn's digits (0-6 trained, 7-9 enrolled; no stranger is left, so the table gives
the share of 7-9 rejected before they were enrolled); Fashion-MNIST when its Debian
package is installed (7 classes trained, 7 8 9 enrolled, likewise).

``--enrolled-k K`` measures the ``knn`` rule with an enrolled person scored by the mean of
their K nearest reference images (up to as many as they have) instead of the nearest one
(``siamese.scoring.rules.ENROLLED_K``, 1), for comparing the two on the same trained runs.

Latency: a copy of the demo run with a synthetic gallery of N people x 5 images written as
``enroll`` writes it (embeddings drawn around random centres, as wide as the network's
output): the search over the gallery after the model is loaded (median of 50), a whole
``siamese.probe`` (decode, embed, search), the first probe after the gallery changed
(reading it and extending the rule), and the memory.

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
from siamese.scoring import rules

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
            "stranger_label": ds["stranger_label"], "threshold": trained["threshold"], "enrolled_k": rules.ENROLLED_K,
            "seconds": time.monotonic() - started,
        })
        for person in people:
            siamese.unenroll(run, person)
    return rows


def latency(people_counts: list[int], work: Path, images: int = 5, repeats: int = 50) -> list[dict]:
    """A copy of the demo run with a synthetic gallery of N people x ``images`` written as
    enroll writes it: the search over the gallery and a whole ``siamese.probe`` after the
    model is loaded, the first probe after the gallery changed, and the memory."""
    import siamese
    from siamese.data.folders import decode_image
    from siamese.gallery.store import Enrolled, EnrolledPerson, write_enrolled

    probe_file = sorted((ROOT / "sample_data" / "thermal_faces" / "test" / "person_01").iterdir())[0]
    rng = np.random.default_rng(0)
    rows = []
    for n in people_counts:
        run_dir = work / "latency" / f"demo-{n}"
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.copytree(ROOT / "sample_data" / "demo_run", run_dir)
        run = siamese.load_run(run_dir)
        query = run.embed(decode_image(probe_file, run.input_shape, run.pixels)[None])  # loads the model
        dimension = query.shape[1]
        centres = rng.normal(0, 1, (n, dimension)).astype(np.float32)
        embeddings = (np.repeat(centres, images, axis=0) + rng.normal(0, 0.1, (n * images, dimension))).astype(np.float32)
        people = tuple(EnrolledPerson(f"p{i:05d}", "2026-12-04T00:00:00+00:00", ("synthetic",) * images,
                                      tuple(f"gallery/p{i:05d}/{j:03d}.png" for j in range(images))) for i in range(n))
        write_enrolled(run_dir, run.class_names, Enrolled(people, embeddings, np.repeat(np.arange(n), images)))
        tracemalloc.start()
        started = time.perf_counter()
        siamese.probe(run, probe_file)  # reads the gallery and extends the rule once
        first = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        scorer = run.scorer()
        times, whole = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            int(scorer.class_distances(query).argmin())
            times.append(time.perf_counter() - started)
        for _ in range(10):
            started = time.perf_counter()
            result = siamese.probe(run, probe_file)
            whole.append(time.perf_counter() - started)
        assert result.nearest_class == "person_01"
        rows.append({
            "people": n, "images": n * images, "dimension": dimension, "rule": scorer.describe(),
            "search_ms_median": 1000 * float(np.median(times)), "search_ms_p95": 1000 * float(np.percentile(times, 95)),
            "probe_ms_median": 1000 * float(np.median(whole)), "first_probe_ms": 1000 * first,
            "points_mb": scorer.points.nbytes / 2**20, "stored_mb": (run_dir / "gallery.npz").stat().st_size / 2**20,
            "peak_first_probe_mb": peak / 2**20, "load_average": os.getloadavg()[0],
        })
        print(f"gallery of {n:,} people x {images}: search {rows[-1]['search_ms_median']:.1f} ms (p95 {rows[-1]['search_ms_p95']:.1f}), "
              f"whole probe {rows[-1]['probe_ms_median']:.1f} ms, first probe {rows[-1]['first_probe_ms']:.0f} ms, "
              f"points {rows[-1]['points_mb']:.1f} MB, load average {rows[-1]['load_average']:.1f}", flush=True)
        shutil.rmtree(run_dir)
    return rows


def print_tables(results: dict) -> None:
    print("| data | trained / enrolled | images per enrolled | trained identified | trained falsely rejected | "
          "enrolled identified | enrolled falsely rejected | enrolled misidentified | strangers rejected |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results["generalisation"]:
        print(f"| {row['dataset']} (seed {row['seed']}) | {row['trained_people']} / {row['enrolled_people']} | {row['shots']} | "
              f"{row['trained_identified']:.1%} | {row['trained_false_reject']:.1%} | {row['enrolled_identified']:.1%} | "
              f"{row['enrolled_false_reject']:.1%} | {row['enrolled_misidentified']:.1%} | {row['strangers_rejected']:.1%} ({row['stranger_label']}) |")
    print("\n| people x 5 images | search (median, p95) | whole probe (median) | first probe after a change | points in memory | "
          "peak of the first probe | gallery.npz | load average |")
    print("|---|---|---|---|---|---|---|---|")
    for row in results["latency"]:
        print(f"| {row['people']:,} | {row['search_ms_median']:.1f} ms, {row['search_ms_p95']:.1f} ms | {row['probe_ms_median']:.1f} ms | "
              f"{row['first_probe_ms']:.0f} ms | {row['points_mb']:.0f} MB | {row['peak_first_probe_mb']:.0f} MB | {row['stored_mb']:.0f} MB | "
              f"{row['load_average']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/siamese-gallery"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--datasets", nargs="+", default=["thermal", "digits"], choices=list(EPOCHS))
    parser.add_argument("--latency-people", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--latency-only", action="store_true", help="only the latency table")
    parser.add_argument("--enrolled-k", type=int, default=rules.ENROLLED_K,
                        help="knn: an enrolled person's distance is the mean of their K nearest reference images (default: the rule's own)")
    args = parser.parse_args()
    rules.ENROLLED_K = args.enrolled_k  # read by extend_scorer each time the gallery changes
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args.out.mkdir(parents=True, exist_ok=True)
    found = {} if args.latency_only else datasets(args.out, args.datasets)
    results = {"generalisation": [], "latency": []}
    for seed in [] if args.latency_only else args.seeds:
        for name in args.datasets:
            if name not in found:
                print(f"{name}: not available (install the Debian package dataset-fashion-mnist)", flush=True)
                continue
            rows = generalisation(name, found[name], seed, args.out)
            results["generalisation"].extend(rows)
            print(f"{name} seed {seed}: " + "; ".join(f"{r['shots']} images: enrolled identified {r['enrolled_identified']:.1%}" for r in rows)
                  + f" ({rows[-1]['seconds']:.0f} s)", flush=True)
    results["latency"] = latency(args.latency_people, args.out)
    (args.out / "gallery.json").write_text(json.dumps(results, indent=1))
    print_tables(results)


if __name__ == "__main__":
    main()
