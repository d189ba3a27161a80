"""Enrolling and removing people in a run's gallery, without training: the network measures a
distance, so a new person needs only the embeddings of a few reference images.

Everything is checked before anything is written (the name, every image), then the
reference images are copied into the run folder and the gallery files replaced
atomically, under the run's lock. No trained weight changes and nothing outside the run
folder is written: the images' own folders are only read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siamese.data.folders import HIDDEN_FILE, IMAGE_SUFFIXES, decode_image, scan_folder
from siamese.data.paths import inside
from siamese.errors import REPRESENT, Remedy, SiameseError
from siamese.gallery.store import EnrolledPerson, name_problem, read_enrolled, write_enrolled
from siamese.runs.atomic_files import atomic_write
from siamese.runs.layout import GALLERY_IMAGES, now
from siamese.runs.locks import REPRESENT_LOCK, exclusive, remove_leftovers

TRAINED, ENROLLED = "trained", "enrolled"
# An image given as (file name, bytes): an upload, never written anywhere but the run folder.
Upload = tuple[str, bytes]
BUSY = "wait until its representatives or gallery are written, then try again"


@dataclass(frozen=True)
class Person:
    """One person in a run's gallery: a trained class or someone enrolled later.

    Attributes:
        name: the name probes are identified by.
        kind: ``trained`` or ``enrolled``.
        n_images: reference images (a trained class: its training images; None before represent).
        enrolled: when they were enrolled (None for a trained class).
        images: image files to show for them (enrolled: the copies in the run folder;
            trained: the representatives' copies, else training images).
        sources: where an enrolled person's images came from.
    """

    name: str
    kind: str
    n_images: int | None
    enrolled: str | None
    images: tuple[Path, ...]
    sources: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "n_images": self.n_images, "enrolled": self.enrolled, "sources": list(self.sources)}


def _source_text(run_dir: Path, image: str | os.PathLike[str] | Upload) -> str:
    """Where an image came from: relative to the run folder when it lies beside it (as run.json
    records the training folder), else absolute; ``upload:NAME`` for an upload."""
    if isinstance(image, tuple):
        return f"upload:{image[0]}"
    path, run_dir = Path(image).resolve(), run_dir.resolve()
    return os.path.relpath(path, run_dir) if inside(path, run_dir.parent) else str(path)


def _read(image: str | os.PathLike[str] | Upload) -> tuple[bytes, str]:
    """The image's bytes and the suffix its copy keeps."""
    if isinstance(image, tuple):
        name, data = image
        suffix = Path(name).suffix.lower()
        return data, suffix if suffix in IMAGE_SUFFIXES else ".png"
    try:
        return Path(image).read_bytes(), Path(image).suffix.lower()
    except OSError as exc:
        raise SiameseError(f"image {image} cannot be read ({exc.strerror}); give an image file you can read") from None


def _embed_person(run, name: str, images: Sequence[str | os.PathLike[str] | Upload]) -> tuple[np.ndarray, list[tuple[bytes, str]]]:
    """Every image decoded as the run reads its own, then embedded; an unreadable one stops it all."""
    if len(images) < 1:
        raise SiameseError(f"no image was given for {name!r}; give at least one image of the person")
    decoded, raw = [], []
    for image in images:
        try:
            source = image[1] if isinstance(image, tuple) else image
            decoded.append(decode_image(source, run.input_shape, run.pixels))
        except SiameseError as exc:
            if isinstance(image, tuple):
                raise SiameseError(str(exc).replace("the uploaded file", f"the uploaded file {image[0]}", 1)) from None
            raise
        raw.append(_read(image))
    return run.embed(np.stack(decoded)), raw


def _check_run(run) -> None:
    if not run.has_representatives:
        raise SiameseError(f"run {run.path} has no representatives yet, so it has no threshold to identify enrolled people with",
                           Remedy(REPRESENT, value=str(run.path)))


def _check_names(run, names: Sequence[str], refusal: Callable[[str, str], str]) -> None:
    """Refuse the first name that clashes or is not usable, worded by ``refusal(name, problem)``."""
    taken = list(run.enrolled().names)
    for name in names:
        problem = name_problem(name, run.class_names, taken)
        if problem:
            raise SiameseError(refusal(name, problem))
        taken.append(name)


def enroll_many(run, people: dict[str, Sequence[str | os.PathLike[str] | Upload]]) -> list[EnrolledPerson]:
    """Enroll several people at once (name -> images); all are checked before any is written.

    Raises:
        SiameseError: a name clashes or is not usable, a person has no image, an image
            cannot be read, or another process is writing the run; nothing is written then.
    """
    _check_run(run)
    _check_names(run, people, lambda name, problem: f"{problem}; choose another name")
    embedded = {name: _embed_person(run, name, images) for name, images in people.items()}
    run_dir = Path(run.path)
    with exclusive(run_dir, REPRESENT_LOCK, BUSY):
        if run.status != "running":
            remove_leftovers(run_dir)
        current = read_enrolled(run_dir, run.class_names, run.embedding_dimension)
        clash = [name for name in people if name in current.names]
        if clash:
            raise SiameseError(f"name {clash[0]!r} was enrolled by another process meanwhile; choose another name")
        added, written = [], []
        try:
            for name, images in people.items():
                folder = run_dir / GALLERY_IMAGES / name
                if folder.exists():
                    shutil.rmtree(folder)  # left by an enrollment that was killed before its gallery was written
                folder.mkdir(parents=True)
                written.append(folder)
                copies = []
                for i, (data, suffix) in enumerate(embedded[name][1]):
                    copy = folder / f"{i + 1:03d}{suffix}"
                    atomic_write(copy, lambda tmp, data=data: tmp.write_bytes(data), suffix=suffix)
                    copies.append(str(copy.relative_to(run_dir)))
                added.append(EnrolledPerson(name, now(), tuple(_source_text(run_dir, im) for im in images), tuple(copies)))
            write_enrolled(run_dir, run.class_names, current.plus(added, [embedded[p.name][0] for p in added]))
        except BaseException:
            for folder in written:
                shutil.rmtree(folder, ignore_errors=True)
            raise
    run.forget_scorers()
    return added


def enroll(run, name: str, images: Sequence[str | os.PathLike[str] | Upload]) -> EnrolledPerson:
    """Enroll one person from their reference images (files, or (file name, bytes) uploads).

    No trained weight changes; the images are copied into the run folder
    (``gallery/NAME/``) and their embeddings added to ``gallery.npz``.
    """
    return enroll_many(run, {name: list(images)})[0]


def enroll_folder(run, folder: str | os.PathLike[str]) -> list[EnrolledPerson]:
    """Enroll every person in ``folder`` (one sub-folder of images per person)."""
    listing = scan_folder(folder)
    # Hidden files (.DS_Store, Thumbs.db, ._ copies) are the system's, not a person's images:
    # left out as training leaves them out. Anything else left out refuses the whole folder.
    refused = [s for s in listing.skipped if s.reason != HIDDEN_FILE]
    if refused:
        first = refused[0]
        raise SiameseError(f"{first.path} cannot be enrolled ({first.reason}); remove it from {folder} or fix it, then try again")
    _check_run(run)
    # The names come from the sub-folders, so a clash says which sub-folder to rename.
    _check_names(run, listing.class_names, lambda name, problem: f"{problem} (the sub-folder {Path(folder) / name}); rename that sub-folder, or choose a folder without it")
    people: dict[str, list[Path]] = {name: [] for name in listing.class_names}
    for path, label in zip(listing.paths, listing.labels):
        people[listing.class_names[label]].append(path)
    return enroll_many(run, people)


def unenroll(run, name: str) -> None:
    """Remove an enrolled person from the gallery (their copies in the run folder too)."""
    if name in run.class_names:
        raise SiameseError(f"{name!r} is a class the run was trained on; only enrolled people can be removed (training again leaves a class out)")
    run_dir = Path(run.path)
    with exclusive(run_dir, REPRESENT_LOCK, BUSY):
        current = read_enrolled(run_dir, run.class_names, run.embedding_dimension)
        if name not in current.names:
            listed = ", ".join(current.names[:5]) or "nobody yet"
            raise SiameseError(f"{name!r} is not enrolled in run {run.path} (enrolled: {listed}); check the name")
        write_enrolled(run_dir, run.class_names, current.without(name))
        folder = run_dir / GALLERY_IMAGES / name
        if folder.is_dir() and inside(folder.resolve(), (run_dir / GALLERY_IMAGES).resolve()):
            shutil.rmtree(folder, ignore_errors=True)
    run.forget_scorers()


def gallery(run) -> list[Person]:
    """Everyone a probe can be identified as: the trained classes, then the enrolled people."""
    counts: dict[str, int] = {}
    files: dict[str, list[Path]] = {}
    if run.has_representatives:
        table = run.training_map()
        counts = {str(k): int(v) for k, v in table["class"].astype(str).value_counts().items()}
        record = run.representatives()
        root = (run.path / record["data"]).resolve()
        for item in record["items"]:
            copy = item.get("copy")
            files.setdefault(str(item["class"]), []).append(run.path / copy if copy else root / item["file"])
        for name, group in pd.DataFrame({"file": table["file"], "class": table["class"].astype(str)}).groupby("class"):
            files.setdefault(name, []).extend(root / f for f in group["file"].head(3))
    people = [Person(name, TRAINED, counts.get(name) if counts else None, None, tuple(files.get(name, ())[:3])) for name in run.class_names]
    for person in run.enrolled().people:
        people.append(Person(person.name, ENROLLED, len(person.copies), person.enrolled, tuple(run.path / c for c in person.copies), person.sources))
    return people

