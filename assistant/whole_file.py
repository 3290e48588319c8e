"""Arrays kept on disk are written whole or not at all: a temporary file in the same folder, renamed over the
target, so a process reading the folder never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def save_arrays(path: Path, **arrays: object) -> bool:
    """Write `arrays` to `path` as an .npz file; False (and nothing left behind) when the disk refuses."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npz")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return False
    return True
