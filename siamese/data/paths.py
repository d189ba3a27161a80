"""Whether one path lies inside another (or is it), with ``..`` and symbolic links resolved."""

from __future__ import annotations

import os
from pathlib import Path


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``folder`` or lies somewhere under it, both resolved first (a path
    that cannot be resolved, a symbolic link loop, lies nowhere)."""
    try:
        path, folder = Path(path).resolve(), Path(folder).resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a link loop, later versions OSError
        return False
    return path == folder or folder in path.parents
