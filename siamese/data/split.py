"""Copying a folder-per-class dataset into train/ and test/ folders: stratified, seeded, never moving a file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from siamese.data.folders import refuse_inside_dataset, scan_folder
from siamese.errors import SiameseError


def split_dataset(
    data: str | os.PathLike[str], out: str | os.PathLike[str], test_fraction: float = 0.2, seed: int = 0
) -> dict[str, dict[str, int]]:
    """Copy a dataset into ``out/train/<class>/`` and ``out/test/<class>/``, stratified and seeded.

    Per class, round(n * test_fraction) images (at least one when n >= 2, and never all
    of them) are copied to test, the rest to train. Nothing in ``data`` is moved or
    changed; ``out`` must be new or empty and must not lie inside ``data``.

    Returns:
        Per class, how many images went to train and to test.
    """
    if not 0 < test_fraction < 1:
        raise SiameseError(f"test fraction {test_fraction} is not valid; use a number between 0 and 1 such as 0.2")
    listing = scan_folder(data)
    out = Path(out)
    refuse_inside_dataset(out, listing.root, "output folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SiameseError(f"output folder {out} already exists and is not empty; choose a new folder so nothing is overwritten")
    rng = np.random.default_rng(seed)
    counts: dict[str, dict[str, int]] = {}
    for c, name in enumerate(listing.class_names):
        files = [listing.paths[i] for i in np.flatnonzero(listing.labels == c)]
        order = rng.permutation(len(files))
        n_test = 0 if len(files) < 2 else min(max(int(round(len(files) * test_fraction)), 1), len(files) - 1)
        test = set(order[:n_test].tolist())
        for i, f in enumerate(files):
            target = out / ("test" if i in test else "train") / name / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        counts[name] = {"train": len(files) - n_test, "test": n_test}
    return counts
