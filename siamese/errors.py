"""User-facing errors: what went wrong and where, with a remedy each surface words its own way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The remedies, machine-readable: an action and, for "set", the setting to change.
SET, REPRESENT, TRAIN = "set", "represent", "train"
# The settings a remedy may name (the command line's option, the dashboard's picker).
SETTINGS = ("input_shape", "method", "out", "unknown")

# How the command line words each remedy (the package's own messages use these words,
# so str(error) is the line the command line prints). {value} is the remedy's value.
CLI_WORDS: dict[tuple[str, str | None], str] = {
    (REPRESENT, None): "run `python -m siamese represent {value}` first",
    (TRAIN, None): "train one with `python -m siamese train DATA --out {value}`",
    (SET, "input_shape"): "give an input shape (--input-shape H,W,C such as {value})",
    (SET, "method"): "use --method {value}",
    (SET, "out"): "choose another --out",
    (SET, "unknown"): "move them to the unknown set (--unknown)",
}
CLI_WORDS_WITHOUT_VALUE = {(TRAIN, None): "train one with `python -m siamese train`", (REPRESENT, None): "run `python -m siamese represent` first"}


@dataclass(frozen=True)
class Remedy:
    """What the user can do about an error: an ``action`` (``SET``, ``REPRESENT``, ``TRAIN``),
    the ``setting`` it changes (one of ``SETTINGS``) and a ``value`` to try or act on.

    ``before`` and ``after`` are words every surface shares around its own wording of the
    remedy (e.g. ``before="add images or "``, ``after=" so no run is overwritten"``).
    """

    action: str
    setting: str | None = None
    value: str | None = None
    before: str = ""
    after: str = ""

    def __post_init__(self):
        if self.action not in (SET, REPRESENT, TRAIN) or (self.setting is not None and self.setting not in SETTINGS):
            raise ValueError(f"unknown remedy {self.action!r} {self.setting!r}")

    def worded(self, words: Mapping[tuple[str, str | None], str], without_value: Mapping[tuple[str, str | None], str] | None = None) -> str:
        """The remedy in one surface's ``words`` (keyed by (action, setting); ``without_value`` when there is no value)."""
        key = (self.action, self.setting)
        template = (without_value or {}).get(key) if self.value is None else None
        text = (template or words[key]).format(value=self.value)
        return f"{self.before}{text}{self.after}"


class SiameseError(Exception):
    """A problem with the user's input (path, file, option value or run).

    ``problem`` says what is wrong and where; ``remedy`` (a ``Remedy``, optional) what to
    do about it, which each surface words its own way: ``str(error)`` is the command
    line's one line (printed before exit status 2), the dashboard words the remedy with
    its pickers and buttons. Never raised for programming errors.
    """

    def __init__(self, problem: str, remedy: Remedy | None = None):
        self.problem, self.remedy = problem, remedy
        super().__init__(problem if remedy is None else f"{problem}; {remedy.worded(CLI_WORDS, CLI_WORDS_WITHOUT_VALUE)}")

    def __reduce__(self):
        return (type(self), (self.problem, self.remedy))


def refusal(problem: str, what_to_do: str | Remedy | None) -> SiameseError:
    """``problem`` with what to do: a ``Remedy`` each surface words, or words every surface shares."""
    if what_to_do is None or isinstance(what_to_do, Remedy):
        return SiameseError(problem, what_to_do)
    return SiameseError(f"{problem}; {what_to_do}")


# The operating system's errors a user can act on (a full disk, a quota, a read-only disk, no
# permission), by errno name: each surface says them in one sentence instead of a traceback.
USER_OS_ERRORS = ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM")


def os_error_sentence(exc: OSError) -> str | None:
    """One sentence for an OSError the user can act on (see ``USER_OS_ERRORS``); None for any other."""
    import errno

    if exc.errno not in {getattr(errno, name) for name in USER_OS_ERRORS if hasattr(errno, name)}:
        return None
    name = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG):
        return (f"the disk is full (or the user's quota is used up) while writing{name or ' a file'}; "
                "free some space, or write to a disk with room, and try again")
    if exc.errno == errno.EROFS:
        return f"{name.strip() or 'a file'} is on a read-only disk; write to another folder"
    return f"permission denied for{name or ' a file'}; give this user permission to it, or use another path"
