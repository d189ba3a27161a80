"""The command line: python -m siamese COMMAND ...; errors exit with status 2 and one line."""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from siamese import arguments, cli_gallery
from siamese.data.split import split_dataset
from siamese.data.thermal_pixels import READBACK_PALETTES, UNITS
from siamese.errors import SiameseError, os_error_sentence
from siamese.maps.representatives import METHODS, represent
from siamese.runs.h5_import import import_h5
from siamese.runs.output_files import check_output_file, spreadsheet_safe, write_output_file
from siamese.runs.schema import paths_outside
from siamese.runs.store import load_run
from siamese.sample.dataset import FORMATS, write_sample_dataset
from siamese.scoring.compare_runs import SETTINGS, compare_runs
from siamese.scoring.evaluation import THRESHOLD_SOURCES, evaluate
from siamese.scoring.neighbours import nearest_training_images, training_set
from siamese.scoring.probe import probe
from siamese.scoring.raw_pixel_baseline import raw_pixel_accuracy
from siamese.scoring.rules import RULES
from siamese.training.config import DEFAULT_LEARNING_RATE, LOSS_LEARNING_RATES, LOSSES, PRECISIONS, USER_SETTINGS, TrainConfig
from siamese.training.single_process import STRATEGIES, make_strategy, train
from siamese.workers.supervisor import train_on_workers
from siamese.workers.worker import DEFAULT_TIMEOUT

# The defaults of `train` and `represent` are TrainConfig's and represent()'s own, read
# from them so the command line cannot drift (tests/test_cli.py checks it).
TRAIN_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
REPRESENT_DEFAULTS = {name: p.default for name, p in inspect.signature(represent).parameters.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = arguments.Parser(prog="python -m siamese", description="Siamese networks for identifying thermal faces.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=arguments.Parser)

    p = sub.add_parser("sample-data", help="generate the synthetic thermal face dataset")
    p.add_argument("out", type=Path)
    p.add_argument("--identities", type=arguments.positive_int, default=16, help="known identities (train and test)")
    p.add_argument("--per-identity", type=arguments.positive_int, default=30, help="images per known identity")
    p.add_argument("--unknown-identities", type=arguments.count, default=6, help="identities only in unknown/")
    p.add_argument("--unknown-per-identity", type=arguments.positive_int, default=10)
    p.add_argument("--test-fraction", type=arguments.number, default=0.2)
    p.add_argument("--seed", type=arguments.seed, default=0)
    p.add_argument("--near-twins", type=arguments.count, default=0,
                   help="strangers that closely resemble known people (unknown/twin_01 ...; twin i copies identity i)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="agc-png",
                   help="agc-png: 8-bit automatic-gain PNG (default); centikelvin-png: 16-bit PNG of 0.01 K; celsius-npy: float32 .npy of degrees C; "
                        "ironbow-png: the 8-bit image coloured with the ironbow palette")
    p.add_argument("--hot-objects", type=arguments.number, default=0.0, metavar="FRACTION",
                   help="share of test and unknown images that also show a cup of tea at 60 C in a bottom corner")

    p = sub.add_parser("split", help="copy a dataset into train/ and test/ (never moves)")
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--test-fraction", type=arguments.number, default=0.2)
    p.add_argument("--seed", type=arguments.seed, default=0)

    # Each option's dest is its TrainConfig field; cmd_train passes them on by name.
    d = TRAIN_DEFAULTS
    p = sub.add_parser("train", help="train a siamese network into a run folder")
    p.add_argument("train_dir", type=Path)
    p.add_argument("--out", type=Path, required=True, help="the new run folder, e.g. runs/demo")
    p.add_argument("--epochs", type=arguments.positive_int, default=d["epochs"])
    p.add_argument("--batch-size", type=arguments.positive_int, default=d["batch_size"])
    p.add_argument("--loss", choices=LOSSES, default=d["loss"],
                   help="training objective (default %(default)s): contrastive (random pairs, the original method), triplet (batch-all triplets in class-balanced batches), "
                        "contrastive-triplet (on class-balanced batches, the contrastive loss over every two images plus the batch-all triplet loss), "
                        "supcon (the supervised contrastive loss on class-balanced batches, embeddings on the unit sphere; --margin does not apply), "
                        "cosface or arcface (a margin-based softmax over the training classes with a cosine or an angular margin, embeddings on the unit sphere; "
                        "--margin does not apply); docs/objectives.md")
    p.add_argument("--margin", type=arguments.number, default=d["margin"])
    p.add_argument("--lr", dest="learning_rate", type=arguments.number, default=d["learning_rate"],
                   help=f"Adam learning rate (default {DEFAULT_LEARNING_RATE}, {LOSS_LEARNING_RATES['supcon']} for supcon; the original used 0.0008 at batch 5; see README)")
    p.add_argument("--input-shape", type=arguments.shape, default=d["input_shape"], help="H,W,C; default: the first image's")
    p.add_argument("--val-dir", type=Path, default=d["val_dir"])
    p.add_argument("--precision", choices=PRECISIONS, default=d["precision"],
                   help="auto: mixed bfloat16 where the CPU has native bfloat16 (twice as fast), else float32")
    p.add_argument("--validation-split", type=arguments.number, default=d["validation_split"], help="fraction of train held out for validation")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=d["augment"],
                   help="vary training pairs (mirror, shift, gain, ambient offset, sensor noise)")
    p.add_argument("--calibration-split", type=arguments.number, default=d["calibration_split"],
                   help="fraction of each class (of 3 or more images) held out, never trained on, to calibrate the threshold; 0 turns it off")
    p.add_argument("--unit", choices=UNITS, default=d["unit"],
                   help="what the values of 16-bit PNG/TIFF, float TIFF and .npy frames are; counts (default): no temperature, each frame stretched over its own range")
    p.add_argument("--window", type=arguments.window, default=d["window"], metavar="LOW:HIGH",
                   help="degrees Celsius mapped to the network's 0..1 for every image, e.g. 28:38 for faces (needs --unit)")
    p.add_argument("--palette", choices=READBACK_PALETTES, default=d["palette"],
                   help="read 8-bit colour exports back through this palette to one value per pixel (auto: detect it)")
    p.add_argument("--seed", type=arguments.seed, default=d["seed"])
    p.add_argument("--strategy", choices=STRATEGIES, default=None,
                   help="train on tf.distribute: mirrored = every GPU (or logical CPU) of this machine; "
                        "multiworker = several machines, each started with --workers and --worker-index (or its own TF_CONFIG); worker 0 writes the run")
    p.add_argument("--workers", default=None, metavar="HOST:PORT,...",
                   help="every worker's address, the same list on each machine; implies --strategy multiworker (see README)")
    p.add_argument("--worker-index", type=arguments.count, default=None, help="this machine's position in --workers; 0 writes the run")
    p.add_argument("--worker-timeout", type=arguments.number, default=DEFAULT_TIMEOUT,
                   help="seconds a worker waits for the others (to join, or during an epoch) before it gives up with status 2")
    p.add_argument("--represent", action="store_true",
                   help="once training completes, choose representatives and calibrate the threshold (as `represent RUN_DIR` with its defaults)")

    # Each option's dest is its parameter of represent(); cmd_represent passes them on by name.
    d = REPRESENT_DEFAULTS
    p = sub.add_parser("represent", help="choose and record class representatives")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--strict", action="store_true", help="refuse a run that failed (killed or crashed) instead of warning")
    p.add_argument("--data", dest="data_dir", type=Path, default=d["data_dir"], help="default: the run's training data")
    p.add_argument("--method", choices=METHODS, default=d["method"])
    p.add_argument("--per-class", type=arguments.positive_int, default=d["per_class"], help="representatives per class; a class is scored by the nearest")
    p.add_argument("--perplexity", type=arguments.number, default=d["perplexity"])
    p.add_argument("--seed", type=arguments.seed, default=d["seed"])
    p.add_argument("--rule", choices=RULES, default=d["rule"],
                   help="how a class is scored: medoid (nearest representative), centroid, knn (k nearest training images), mahalanobis")
    p.add_argument("--k", type=arguments.positive_int, default=d["k"], help="neighbours for --rule knn")
    p.add_argument("--target-frr", type=arguments.number, default=d["target_frr"], help="share of held-out known images the threshold may reject")
    p.add_argument("--calibrate", dest="calibrate_dir", type=Path, default=d["calibrate_dir"],
                   help="a folder of known images (the run's classes) to calibrate on instead of the held-out share")
    p.add_argument("--per-class-threshold", action="store_true", default=d["per_class_threshold"],
                   help="give each class its own calibrated threshold (shrunk toward the global one)")

    p = sub.add_parser("evaluate", help="identify test images and reject unknown ones")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--strict", action="store_true", help="refuse a run that failed (killed or crashed) instead of warning")
    p.add_argument("test_dir", type=Path)
    p.add_argument("--unknown", type=Path, default=None, help="images of people never trained on")
    p.add_argument("--threshold", type=arguments.number, default=None, help="default: the run's own (calibrated) threshold")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--compare-rules", action="store_true", help="also score with every rule at its own calibrated threshold (JSON key rules)")
    p.add_argument("--csv", type=Path, default=None, help="write the per-image table to this CSV file")
    p.add_argument("--force", action="store_true", help="replace the --csv file when it exists")

    p = sub.add_parser("compare", help="two or more runs side by side: settings and numbers on the same images")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR", help="the runs; differences are against the first")
    p.add_argument("--test", type=Path, required=True, help="test images of classes every run was trained on")
    p.add_argument("--unknown", type=Path, default=None, help="images of people none of the runs trained on")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("probe", help="identify one image")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--strict", action="store_true", help="refuse a run that failed (killed or crashed) instead of warning")
    p.add_argument("image", type=Path)
    p.add_argument("--threshold", type=arguments.number, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--neighbours", type=int, default=None, metavar="K",
                   help="also list the K training images nearest to the probe (JSON key neighbours)")

    p = sub.add_parser("import-h5", help="make a run from a model saved by the original scripts (.h5)")
    p.add_argument("h5", type=Path)
    p.add_argument("train_dir", type=Path, help="the data it was trained on (classes, and images for represent)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--input-shape", type=arguments.shape, default=[60, 80, 3])

    p = sub.add_parser("baseline", help="accuracy of the nearest class medoid in raw pixel space")
    p.add_argument("train_dir", type=Path)
    p.add_argument("test_dir", type=Path)
    p.add_argument("--json", action="store_true")
    cli_gallery.add_commands(sub)
    return parser


def _print_json(data) -> None:
    print(json.dumps(data, indent=2))


def cmd_sample_data(args) -> None:
    counts = write_sample_dataset(
        args.out, identities=args.identities, per_identity=args.per_identity,
        unknown_identities=args.unknown_identities, unknown_per_identity=args.unknown_per_identity,
        test_fraction=args.test_fraction, seed=args.seed, near_twins=args.near_twins, fmt=args.fmt, hot_objects=args.hot_objects,
    )
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def cmd_split(args) -> None:
    counts = split_dataset(args.data, args.out, args.test_fraction, args.seed)
    n_train = sum(c["train"] for c in counts.values())
    n_test = sum(c["test"] for c in counts.values())
    print(f"copied {n_train} images to {args.out / 'train'} and {n_test} to {args.out / 'test'} ({len(counts)} classes); {args.data} is unchanged")


def cmd_train(args) -> None:
    settings = {name: getattr(args, name) for name in USER_SETTINGS}
    settings.update(train_dir=str(args.train_dir), val_dir=str(args.val_dir) if args.val_dir else None)
    config = TrainConfig(**settings)
    if args.workers or args.worker_index is not None or args.strategy == "multiworker":
        if args.strategy == "mirrored":
            raise SiameseError("--workers trains with --strategy multiworker; leave out --strategy mirrored")
        then = (lambda: _print_represented(load_run(args.out), represent(load_run(args.out)))) if args.represent else None
        raise SystemExit(train_on_workers(args.argv, config, args.out, args.workers, args.worker_index, args.worker_timeout, verbose=2,
                                          then=then))
    run = train(config, args.out, verbose=1 if sys.stderr.isatty() else 2, strategy=make_strategy(args.strategy))
    m = run.metrics
    print(f"run {run.path}: {run.status}, {run.info['epochs_done']} epochs, best epoch {m.get('best_epoch')}, "
          f"loss {m.get('loss', float('nan')):.4f}, pair accuracy {m.get('pair_accuracy', float('nan')):.3f}")
    if run.status == "cancelled":
        raise SystemExit(130)
    if args.represent and run.status == "complete":
        _print_represented(run, represent(run))


def _usable_run(args):
    """The run of ``args.run_dir``; a failed run is refused without a model or with --strict, else warned about."""
    run = load_run(args.run_dir)
    if run.has_representatives:
        try:
            for problem in paths_outside(run.path, run.train_dir, run.representatives()):
                logging.getLogger("siamese").warning("%s %s", run.path / "representatives.json", problem)
        except SiameseError:
            pass  # a damaged record is refused, with its own sentence, by whatever reads it next
    if run.status != "failed":
        return run
    reason = run.error or "no reason recorded"
    if not run.has_model:
        raise SiameseError(f"run {run.path} failed before its first epoch ended ({reason}) and has no model; train it again")
    if args.strict:
        raise SiameseError(f"run {run.path} failed ({reason}); train it again, or leave out --strict to use the model of its last finished epoch")
    logging.getLogger("siamese").warning("run %s failed (%s); using the model of its last finished epoch (--strict refuses it)", run.path, reason)
    return run


def cmd_represent(args) -> None:
    run = _usable_run(args)
    _print_represented(run, represent(run, **{name: getattr(args, name) for name in REPRESENT_DEFAULTS if name != "run"}))


def _print_represented(run, record) -> None:
    print(f"recorded {len(record['items'])} representatives ({record['method']}, {record['per_class']} per class) "
          f"from {record['n_images']} images in {run.path}; rule {record['rule']}; threshold {record['suggested_threshold']:.4f} "
          f"({record['threshold_criterion']})")


def cmd_evaluate(args) -> None:
    run = _usable_run(args)
    if args.csv:  # checked before the work: never inside a dataset, over a link, a device or (without --force) a file
        check_output_file(args.csv, [args.test_dir, args.unknown, run.train_dir], args.force)
    result = evaluate(run, args.test_dir, args.unknown, args.threshold, compare_rules=args.compare_rules)
    if args.csv:
        write_output_file(args.csv, lambda tmp: spreadsheet_safe(result.table()).to_csv(tmp, index=False))
    metrics = result.metrics()
    if args.compare_rules:
        metrics["rules"] = result.rule_table().to_dict(orient="records")
    if args.json:
        _print_json(metrics)
        return
    source = THRESHOLD_SOURCES.get(metrics["threshold_source"], metrics["threshold_source"])
    target = f", set for {metrics['calibration_frr']:.0%} known rejected" if metrics["calibration_frr"] is not None else ""
    print(f"{metrics['n_test']} test images, rule {metrics['rule']}, threshold {metrics['threshold']:.4f} ({source}{target})")
    print(f"accuracy (nearest class right): {metrics['accuracy']:.4f}")
    print(f"identified rate (right and below threshold): {metrics['identified_rate']:.4f}")
    for kind, rates in metrics.get("by_kind", {}).items():
        if rates["n_test"]:
            print(f"  {kind} people ({rates['n_test']} images): identified {rates['identified_rate']:.4f}, "
                  f"falsely rejected {rates['false_reject_rate']:.4f}")
    if "rejection_rate" in metrics:
        print(f"{metrics['n_unknown']} unknown images: rejection rate {metrics['rejection_rate']:.4f}, "
              f"AUROC {metrics['auroc_unknown']:.4f}, EER {metrics['eer']:.4f} at threshold {metrics['eer_threshold']:.4f}")
        print("open-set identification rate at false-alarm rate " + ", ".join(f"{k}: {v:.4f}" for k, v in metrics["dir_at_far"].items()))
    print("identification rate at rank 1-5 (CMC): " + ", ".join(f"{v:.4f}" for v in metrics["cmc"]))
    if args.compare_rules:
        print(result.rule_table().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(result.confusion().to_string())


def _shown_path(path: Path) -> str:
    """A path relative to the working folder when it lies inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cmd_compare(args) -> None:
    result = compare_runs(args.runs, args.test, args.unknown, show_path=_shown_path, strict=True)
    if args.json:
        _print_json(result.to_json())
        return
    first = result.metrics[result.labels[0]]
    unknown = f"; unknown set {args.unknown}: {first['n_unknown']} images" if args.unknown else ""
    print(f"test set {args.test}: {first['n_test']} images{unknown}")
    differing = set(result.differing_settings())
    settings = result.settings_table()
    settings.index = [("* " if key in differing else "  ") + name for key, name in SETTINGS]
    print("\nsettings (* differs between the runs)")
    print(settings.to_string())
    text, best = result.display_metrics()
    text = text.where(~best, text + " *")
    print("\nnumbers on the same images, each run at its own threshold (after the first run: the difference from it; * best)")
    print(text.to_string())


def cmd_probe(args) -> None:
    if args.neighbours is not None and args.neighbours < 1:
        raise SiameseError(f"--neighbours {args.neighbours} is not valid; use 1 or more")
    run = _usable_run(args)
    result = probe(run, args.image, args.threshold)
    near = nearest_training_images(training_set(run), result.embedding, args.neighbours) if args.neighbours else None
    if args.json:
        _print_json(result.to_json() | ({"neighbours": [n.to_json() for n in near]} if near is not None else {}))
        return
    if result.accepted:
        print(f"{args.image}: identified as {result.nearest_class} (distance {result.distance:.4f} < threshold {result.threshold:.4f})")
    else:
        print(f"{args.image}: unknown person (nearest {result.nearest_class} at {result.distance:.4f} >= threshold {result.threshold:.4f})")
    for rank, n in enumerate(near or [], start=1):
        print(f"  neighbour {rank}: {n.class_name} {n.file} at {n.distance:.4f}")


def cmd_import_h5(args) -> None:
    run = import_h5(args.h5, args.out, args.train_dir, tuple(args.input_shape))
    print(f"imported {args.h5} into run {run.path} ({len(run.class_names)} classes); next: python -m siamese represent {run.path}")


def cmd_baseline(args) -> None:
    accuracy = raw_pixel_accuracy(args.train_dir, args.test_dir)
    if args.json:
        _print_json({"raw_pixel_accuracy": accuracy})
    else:
        print(f"raw-pixel nearest-medoid accuracy: {accuracy:.4f}")


COMMANDS = {
    "sample-data": cmd_sample_data, "split": cmd_split, "train": cmd_train, "represent": cmd_represent,
    "evaluate": cmd_evaluate, "compare": cmd_compare, "probe": cmd_probe, "baseline": cmd_baseline, "import-h5": cmd_import_h5,
    **cli_gallery.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 2 bad input, 130 interrupted)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger = logging.getLogger("siamese")
    # Warnings go to stderr as "warning: ..." while the command runs; the logger is given back
    # as it was, so an in-process caller (tests, a notebook) keeps its own logging afterwards.
    before = logger.handlers[:], logger.level, logger.propagate
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        return _run(argv)
    finally:
        logger.handlers[:], logger.propagate = before[0], before[2]
        logger.setLevel(before[1])


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # `train --workers` starts itself again with them
        COMMANDS[args.command](args)
    except SiameseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a full disk, a quota, a read-only disk, no permission: one sentence, not a traceback
        sentence = os_error_sentence(exc)
        if sentence is None:
            raise
        print(f"error: {sentence}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    return 0
