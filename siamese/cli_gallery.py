"""The command line's gallery commands: enroll, unenroll and gallery (registered by ``siamese.cli``)."""

from __future__ import annotations

import json
from pathlib import Path

from siamese.errors import SiameseError
from siamese.gallery.enroll import ENROLLED, enroll, enroll_folder, unenroll
from siamese.runs.store import load_run


def add_commands(sub) -> None:
    """Add enroll, unenroll and gallery to the command line's sub-parsers."""
    p = sub.add_parser("enroll", help="add people to a run's gallery from a few images each, without training")
    p.add_argument("run_dir", type=Path)
    p.add_argument("name", nargs="?", help="the person's name (with IMAGE ...)")
    p.add_argument("images", nargs="*", type=Path, metavar="IMAGE", help="the person's reference images")
    p.add_argument("--folder", type=Path, help="a folder with one sub-folder of images per person (named after the person)")

    p = sub.add_parser("unenroll", help="remove an enrolled person from a run's gallery")
    p.add_argument("run_dir", type=Path)
    p.add_argument("name")

    p = sub.add_parser("gallery", help="list a run's gallery: trained classes and enrolled people")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--json", action="store_true")


def cmd_enroll(args) -> None:
    if args.folder is not None:
        if args.name is not None or args.images:
            raise SiameseError("give either NAME IMAGE ... or --folder DIR, not both")
        run = load_run(args.run_dir)
        people = enroll_folder(run, args.folder)
    else:
        if args.name is None:
            raise SiameseError("give a name and at least one image (enroll RUN NAME IMAGE ...), or --folder DIR")
        run = load_run(args.run_dir)
        people = [enroll(run, args.name, args.images)]
    for person in people:
        print(f"enrolled {person.name} in {run.path} from {len(person.copies)} image{'s' if len(person.copies) != 1 else ''}")
    print(f"the gallery holds {len(run.identities)} people ({len(run.class_names)} trained, {len(run.enrolled().people)} enrolled); no weight changed")


def cmd_unenroll(args) -> None:
    run = load_run(args.run_dir)
    unenroll(run, args.name)
    print(f"removed {args.name} from the gallery of {run.path}; {len(run.enrolled().people)} enrolled people remain")


def cmd_gallery(args) -> None:
    people = load_run(args.run_dir).gallery()
    if args.json:
        print(json.dumps([p.to_json() for p in people], indent=2))
        return
    width = max(len(p.name) for p in people)
    for p in people:
        count = "?" if p.n_images is None else str(p.n_images)
        when = f"  enrolled {p.enrolled}" if p.kind == ENROLLED else ""
        print(f"{p.name:<{width}}  {p.kind:<8}  {count:>5} images{when}")
    enrolled = sum(p.kind == ENROLLED for p in people)
    print(f"{len(people)} people: {len(people) - enrolled} trained, {enrolled} enrolled")


COMMANDS = {"enroll": cmd_enroll, "unenroll": cmd_unenroll, "gallery": cmd_gallery}
