"""A run's gallery on disk: the people enrolled after training, read back and checked.

``gallery.json`` lists the enrolled people (name, when, where each reference image came
from and its copy in the run folder) and the trained classes it was made for;
``gallery.npz`` holds their reference embeddings (plain arrays, never pickled), one row
per image in the order the JSON lists them. Both are written atomically under the run's
lock by ``siamese.gallery.enroll``. A run without these files has a gallery of its
trained classes only, so runs made before galleries work unchanged.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from siamese.errors import SiameseError
from siamese.limits import MAX_ARRAY_FILE_BYTES
from siamese.runs.atomic_files import atomic_write, write_json
from siamese.runs.layout import GALLERY_EMBEDDINGS_FILE, GALLERY_FILE, now
from siamese.runs.schema import Invalid, read_json_object
from siamese.scoring.metrics import UNKNOWN

GALLERY_FORMAT = 1
MAX_NAME = 100  # characters in a person's name
REMOVE = f"remove {GALLERY_FILE} and {GALLERY_EMBEDDINGS_FILE} from the run folder and enroll the people again"
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class EnrolledPerson:
    """One person enrolled after training.

    Attributes:
        name: the name the gallery identifies them by.
        enrolled: when (UTC, ISO 8601).
        sources: where each reference image came from (relative to the run folder when
            it lies inside it, else absolute; ``upload:NAME`` for an uploaded file).
        copies: each image's copy in the run folder, relative to it.
    """

    name: str
    enrolled: str
    sources: tuple[str, ...]
    copies: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "enrolled": self.enrolled, "images": [{"source": s, "copy": c} for s, c in zip(self.sources, self.copies)]}


@dataclass(frozen=True)
class Enrolled:
    """The enrolled people and their reference embeddings (M, D), one label (person index) per row."""

    people: tuple[EnrolledPerson, ...] = ()
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.people]

    def person(self, name: str) -> EnrolledPerson | None:
        return next((p for p in self.people if p.name == name), None)

    def without(self, name: str) -> Enrolled:
        """The gallery with one person removed (rows and labels renumbered)."""
        index = self.names.index(name)
        keep = self.labels != index
        labels = self.labels[keep]
        return Enrolled(tuple(p for p in self.people if p.name != name), self.embeddings[keep], labels - (labels > index))

    def plus(self, people: list[EnrolledPerson], embeddings: list[np.ndarray]) -> Enrolled:
        """The gallery with more people, each with their embeddings (n_i, D)."""
        rows = [self.embeddings] if len(self.labels) else []
        labels = [self.labels]
        for i, emb in enumerate(embeddings):
            rows.append(np.asarray(emb, np.float32))
            labels.append(np.full(len(emb), len(self.people) + i, np.int64))
        return Enrolled((*self.people, *people), np.concatenate(rows).astype(np.float32), np.concatenate(labels).astype(np.int64))


def name_problem(name: Any, trained: Collection[str], enrolled: Collection[str]) -> str | None:
    """Why ``name`` cannot be a new person's name (a sentence's start), or None when it can."""
    if not isinstance(name, str) or not name.strip():
        return "a person's name is empty"
    if name != name.strip():
        return f"name {name!r} starts or ends with a space"
    if len(name) > MAX_NAME:
        return f"name {name[:20]!r}... is {len(name)} characters long, more than {MAX_NAME}"
    if _BAD_NAME.search(name) or name.startswith("."):
        return f"name {name!r} holds a slash, a control character or a leading dot"
    if name.lower() == UNKNOWN:
        return f"name {name!r} is the label of a rejected probe"
    if name in trained:
        return f"name {name!r} is a class the run was trained on"
    if name in enrolled:
        return f"name {name!r} is already enrolled"
    return None


def _check(ok: bool, path: Path, field_name: str, problem: str) -> None:
    if not ok:
        raise Invalid(f"{path} field {field_name} {problem}; {REMOVE}")


def _validate(record: dict[str, Any], path: Path, run_dir: Path, trained: list[str]) -> tuple[EnrolledPerson, ...]:
    _check(record.get("format_version") == GALLERY_FORMAT, path, "format_version", f"is {record.get('format_version')!r}, not {GALLERY_FORMAT}")
    _check(record.get("trained") == trained, path, "trained", "does not list the run's classes (the gallery was made for another run)")
    people = record.get("people")
    _check(isinstance(people, list), path, "people", "is not a list of people")
    found: list[EnrolledPerson] = []
    trained_names, seen = set(trained), set()
    for i, person in enumerate(people):
        where = f"people[{i}]"
        _check(isinstance(person, dict), path, where, "is not an object")
        name = person.get("name")
        problem = name_problem(name, trained_names, seen)
        _check(problem is None, path, f"{where}.name", f"is not a usable name ({problem})")
        _check(isinstance(person.get("enrolled"), str), path, f"{where}.enrolled", "is not a time")
        images = person.get("images")
        _check(isinstance(images, list) and len(images) >= 1, path, f"{where}.images", "is not a list of one or more images")
        for j, image in enumerate(images):
            ok = isinstance(image, dict) and isinstance(image.get("source"), str) and isinstance(image.get("copy"), str)
            _check(ok, path, f"{where}.images[{j}]", "lacks its source or copy")
            copy = PurePosixPath(image["copy"])
            _check(not copy.is_absolute() and ".." not in copy.parts, path, f"{where}.images[{j}].copy", "points outside the run folder")
        seen.add(name)
        found.append(EnrolledPerson(name, person["enrolled"], tuple(im["source"] for im in images), tuple(im["copy"] for im in images)))
    return tuple(found)


def _arrays(path: Path, counts: list[int], dimension: int | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_ARRAY_FILE_BYTES:
            raise Invalid(f"{path} unpacks to {unpacked:,} bytes, more than the limit of {MAX_ARRAY_FILE_BYTES:,}; {REMOVE}")
        with np.load(path, allow_pickle=False) as npz:
            embeddings, labels = npz["embeddings"], npz["labels"]
    except FileNotFoundError:
        raise Invalid(f"{path} is missing while {GALLERY_FILE} lists enrolled people; {REMOVE}") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise Invalid(f"{path} cannot be read as plain arrays embeddings and labels ({exc.__class__.__name__}); {REMOVE}") from None
    n = sum(counts)
    _check(embeddings.ndim == 2 and embeddings.dtype.kind == "f" and len(embeddings) == n, path, "embeddings",
           f"has shape {list(embeddings.shape)}, not {n} rows (one per image {GALLERY_FILE} lists)")
    _check(dimension is None or embeddings.shape[1] == dimension, path, "embeddings", f"has {embeddings.shape[1]} values per row, not {dimension}")
    _check(bool(np.isfinite(embeddings).all()), path, "embeddings", "holds NaN or infinite values")
    expected = np.repeat(np.arange(len(counts)), counts)
    _check(labels.ndim == 1 and labels.dtype.kind in "iu" and np.array_equal(labels, expected), path, "labels",
           f"does not give each of the {len(counts)} people in {GALLERY_FILE} their images in order")
    return embeddings.astype(np.float32), labels.astype(np.int64)


def stamp(run_dir: Path) -> tuple[int, int] | None:
    """When the gallery last changed (the JSON's mtime and size), or None without one."""
    try:
        info = (Path(run_dir) / GALLERY_FILE).stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def read_enrolled(run_dir: Path, trained: list[str], dimension: int | None = None) -> Enrolled:
    """The people enrolled in a run, checked against its trained classes; none without a gallery file.

    Raises:
        SiameseError: naming gallery.json or gallery.npz and the bad field.
    """
    run_dir = Path(run_dir)
    path = run_dir / GALLERY_FILE
    for _attempt in range(3):  # a writer may replace the pair between our two reads: read again
        if not path.exists():
            return Enrolled()
        before = stamp(run_dir)
        people = _validate(read_json_object(path, REMOVE), path, run_dir, trained)
        if not people:
            return Enrolled()
        try:
            embeddings, labels = _arrays(run_dir / GALLERY_EMBEDDINGS_FILE, [len(p.copies) for p in people], dimension)
        except SiameseError:
            if stamp(run_dir) != before:
                continue
            raise
        return Enrolled(people, embeddings, labels)
    raise SiameseError(f"{path} keeps changing while it is read; wait until enrolling has finished and try again")


def write_enrolled(run_dir: Path, trained: list[str], enrolled: Enrolled) -> None:
    """Write gallery.npz, then gallery.json (each atomically); the caller holds the run's lock."""
    run_dir = Path(run_dir)
    dimension = enrolled.embeddings.shape[1] if len(enrolled.labels) else 0
    embeddings = enrolled.embeddings if len(enrolled.labels) else np.zeros((0, dimension), np.float32)
    atomic_write(run_dir / GALLERY_EMBEDDINGS_FILE,
                 lambda tmp: np.savez(tmp, embeddings=embeddings.astype(np.float32), labels=enrolled.labels.astype(np.int64)), suffix=".npz")
    record = {"format_version": GALLERY_FORMAT, "updated": now(), "trained": list(trained), "people": [p.to_json() for p in enrolled.people]}
    write_json(run_dir / GALLERY_FILE, json.loads(json.dumps(record)))
