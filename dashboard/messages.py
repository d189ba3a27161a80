"""Messages from the package, told in the dashboard's words: pickers and buttons instead of
command-line options, and paths relative to their root instead of the server's absolute ones."""

from __future__ import annotations

import re

import roots

# What the package says for the command line, and what the dashboard says instead.
CLI_ADVICE = [
    (re.compile(r"move them to the unknown set \(--unknown\)"), "choose that folder as the Unknown set on the Evaluate page"),
    (re.compile(r"run `python -m siamese represent[^`]*` first"), "choose its representatives first (the Choose representatives button)"),
    (re.compile(r"train one with `python -m siamese train[^`]*`"), "train one on the Train page"),
    (re.compile(r"pass --input-shape H,W,C"), "give an Input shape (H,W,C) on the Train page"),
    (re.compile(r"use --method medoid"), "choose the embedding-space medoid as the Representative method on the Embeddings page"),
    (re.compile(r"choose another --out"), "choose another run name"),
    (re.compile(r"\s*\(see --help\)"), ""),
]
# An absolute path in a message: from a slash at the start or after a space, quote or bracket,
# up to the next space, quote, bracket or comma.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~/])/[^\s'\"`(),;]+")


def _relative(match: re.Match[str]) -> str:
    text = match.group(0)
    trailing = len(text) - len(text.rstrip(".:"))  # a sentence's full stop or colon is not part of the path
    path = text[: len(text) - trailing] if trailing else text
    return roots.display_path(path) + text[len(path):]


def user_message(message: str | Exception) -> str:
    """``message`` (an error's text) with dashboard advice for command-line advice and with
    every absolute path shown relative to its root (``roots.display_path``)."""
    text = str(message)
    for pattern, replacement in CLI_ADVICE:
        text = pattern.sub(replacement, text)
    return ABSOLUTE_PATH.sub(_relative, text)


def upload_message(message: str | Exception, name: str) -> str:
    """An upload's error in one plain sentence that names the file: an unreadable one is
    told what to upload instead, with no decoder's exception text."""
    text = str(message)
    if "cannot be read as an image" in text:
        return f"{name} is not an image the dashboard can read (PNG, JPEG, BMP or TIFF); choose another file."
    return user_message(text.replace("the uploaded file", name))
