"""User-facing errors: one sentence that says what is wrong, where, and what to do."""

from __future__ import annotations


class SiameseError(Exception):
    """A problem with the user's input (path, file, option value or run).

    The command line prints its message as one line and exits with status 2; the
    dashboard shows it on the page. Never raised for programming errors.
    """
