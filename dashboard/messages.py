"""Messages from the package, told in the dashboard's words: an error's remedy (``siamese.errors.Remedy``)
worded with pickers and buttons instead of command-line options, and paths relative to their
root instead of the server's absolute ones."""

from __future__ import annotations

import roots

from siamese.errors import REPRESENT, SET, TRAIN, SiameseError

# How the dashboard words each remedy (the command line's words: siamese.errors.CLI_WORDS).
DASHBOARD_WORDS: dict[tuple[str, str | None], str] = {
    (REPRESENT, None): "choose its representatives first (the Choose representatives button)",
    (TRAIN, None): "train one on the Train page",
    (SET, "input_shape"): "give an Input shape (H,W,C such as {value}) on the Train page",
    (SET, "method"): "choose the embedding-space {value} as the Representative method on the Embeddings page",
    (SET, "out"): "choose another run name",
    (SET, "unknown"): "choose that folder as the Unknown set on the Evaluate page",
}
# Characters around a path in a sentence that are not part of it.
OPENERS, CLOSERS = "'\"`(", "'\"`),;.:"


def _relative(word: str) -> str:
    """``word`` with an absolute path in it shown relative to its root (``roots.display_path``)."""
    start = len(word) - len(word.lstrip(OPENERS))
    end = len(word.rstrip(CLOSERS))
    path = word[start:end]
    if not path.startswith("/") or end <= start:
        return word
    return word[:start] + roots.display_path(path) + word[end:]


def relative_paths(text: str) -> str:
    """``text`` with every absolute path (a word that starts with a slash) shown relative to its root."""
    return " ".join(_relative(word) for word in text.split(" "))


def user_message(message: str | Exception) -> str:
    """An error (or a recorded error's text) as the dashboard says it: its remedy in the
    dashboard's words and every absolute path relative to its root."""
    if isinstance(message, SiameseError) and message.remedy is not None:
        text = f"{message.problem}; {message.remedy.worded(DASHBOARD_WORDS)}"
    else:
        text = str(message)
    return relative_paths(text)


def upload_message(message: str | Exception, name: str) -> str:
    """An upload's error in one plain sentence that names the file: an unreadable one is
    told what to upload instead, with no decoder's exception text."""
    text = str(message)
    if "cannot be read as an image" in text:
        return f"{name} is not an image the dashboard can read (PNG, JPEG, BMP or TIFF); choose another file."
    return user_message(text.replace("the uploaded file", name))
