"""Silencing what C libraries write straight to a file descriptor (FAISS's on-disk code prints
to stdout, Ray's C++ core announces its log level on stderr), so ``--json`` output and the
terminal stay clean. Python-level errors still raise."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silenced(fd: int) -> Iterator[None]:
    """Point ``fd`` (1: stdout, 2: stderr) at ``/dev/null`` for the duration, then restore it."""
    stream = sys.stdout if fd == 1 else sys.stderr if fd == 2 else None
    if stream is not None:
        stream.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), fd)
        yield
    finally:
        if stream is not None:
            stream.flush()
        os.dup2(saved, fd)
        os.close(saved)
