"""How many threads one model call uses: ``$CODEINTEL_EMBED_THREADS``, else the CPUs this process
may run on. Read by every CPU runtime that sizes its own thread pool (ONNX Runtime, OpenVINO,
e5's OpenMP engine); a Ray actor sets the variable to its share before its model loads."""

from __future__ import annotations

import os

from python_ext.errors import ConfigError

THREADS_ENV = "CODEINTEL_EMBED_THREADS"


def embed_threads() -> int:
    """Threads for one model call: ``$CODEINTEL_EMBED_THREADS``, else the CPUs this process may run on."""
    env = os.environ.get(THREADS_ENV)
    if env:
        try:
            n = int(env)
        except ValueError as exc:
            raise ConfigError(f"{THREADS_ENV} must be a positive integer, got {env!r}") from exc
        if n < 1:
            raise ConfigError(f"{THREADS_ENV} must be a positive integer, got {env!r}")
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
