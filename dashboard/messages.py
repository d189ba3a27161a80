"""Messages from the package, told in the dashboard's words: an error's remedy (``siamese.errors.Remedy``)
worded with pickers and buttons instead of command-line options, and paths relative to their
root instead of the server's absolute ones."""

from __future__ import annotations

import re

import pandas as pd
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


# Markdown (and Streamlit's directives, LaTeX and GitHub autolinks) in text the user controls:
# class, file, folder and run names. Escaped with a backslash, each shows as itself.
ALWAYS_ESCAPED = re.compile(r"([\\`*\[\]<>!$~|#&@{}])")
EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # intraword ones never emphasise
LINE_START = re.compile(r"^(\s*\d*)((?<!\d)[-+]|(?<=\d)[.)](?=\s|$))")  # a list item or a rule (---)
AUTOLINK = re.compile(r"(?i)(://|www\.)")
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def plain(text: object) -> str:
    """User-controlled ``text`` made safe to put into Markdown (st.markdown, alerts, captions,
    labels): it shows as written, never as an image, a link, emphasis, code or a new block."""
    text = CONTROL.sub(" ", str(text))
    text = ALWAYS_ESCAPED.sub(r"\\\1", text)
    text = EDGE_UNDERSCORE.sub(r"\\_", text)
    text = AUTOLINK.sub(lambda m: {"://": r":\/\/"}.get(m.group(1), m.group(1)[:3] + r"\."), text)
    return LINE_START.sub(r"\1\\\2", text)


def code(text: object) -> str:
    """User-controlled ``text`` (a path) as a Markdown code span, whatever backticks it holds."""
    text = CONTROL.sub(" ", str(text))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain_frame(frame: pd.DataFrame, values: bool = True) -> pd.DataFrame:
    """``frame`` for st.table, which renders Markdown in every cell: its index, column names and
    (with ``values``) its text cells made ``plain``."""
    def shown(label: object) -> object:
        return plain(label) if isinstance(label, str) else label
    frame = frame.rename(index=shown, columns=shown)
    return frame.map(shown) if values else frame


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
    dashboard's words and every absolute path relative to its root; Markdown-safe (``plain``),
    since it names the user's files."""
    if isinstance(message, SiameseError) and message.remedy is not None:
        text = f"{message.problem}; {message.remedy.worded(DASHBOARD_WORDS)}"
    else:
        text = str(message)
    return plain(relative_paths(text))


def upload_message(message: str | Exception, name: str) -> str:
    """An upload's error in one plain sentence that names the file: an unreadable one is
    told what to upload instead, with no decoder's exception text; Markdown-safe like ``user_message``."""
    text = str(message)
    if "cannot be read as an image" in text:
        return f"{plain(name)} is not an image the dashboard can read (PNG, JPEG, BMP or TIFF); choose another file."
    return user_message(text.replace("the uploaded file", name))
