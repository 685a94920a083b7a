"""One writer at a time per data root: an advisory ``flock`` on ``<data root>/.lock``.

Every command that writes a data root (ingest, facts, index build/tune/publish/rollback/gc/
export-idmap, eval queries/run/import-run, catalog refresh, the pipeline) holds this lock while
it writes; a second writer fails at once with :class:`~python_ext.errors.DataRootLockedError`
naming the holder (its pid, command and start time, which the holder writes into the file).
Readers (search, ``index versions``/``info``, ``catalog query``/``status``/``test``/``docs``,
hydration) never take it, so they are never blocked.

The lock is an ``fcntl.flock`` on an open file: the kernel releases it when the holder exits,
however it exits (even ``kill -9``), so a stale ``.lock`` file never blocks anyone — its text is
only a description of the last holder. The lock is re-entrant inside one thread (the pipeline
holds it and calls ingest, build … which take it again); another thread or process is
refused. Plain ``dbt build`` does not take it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from python_ext.config import DataRoot, resolve_data_root
from python_ext.errors import DataRootLockedError

LOCK_FILE = ".lock"

_held: dict[tuple[str, int], tuple[int, int]] = {}  # (lock path, thread) -> (fd, depth)
_guard = threading.RLock()
#: (lock path, thread) -> folders the writer created for its data root (deepest first)
_created: dict[tuple[str, int], list[Path]] = {}


def _missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    out: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        out.append(folder)
        folder = folder.parent
    return out


def _remove_if_untouched(lock: Path, created: list[Path]) -> None:
    """Remove the lock file and the folders a writer created when it wrote nothing else: a
    refused command (a missing repository, a bad flag) leaves no data root behind."""
    if not created or any(p.name != lock.name for p in lock.parent.iterdir()):
        return
    with contextlib.suppress(OSError):
        lock.unlink()
        for folder in created:
            folder.rmdir()


F = TypeVar("F", bound=Callable[..., Any])


def process_alive(pid: int) -> bool:
    """True when a process with this pid exists (this process included; one owned by another
    user counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_path(root: str | os.PathLike[str] | DataRoot) -> Path:
    """``<data root>/.lock`` (``root`` a :class:`~python_ext.config.DataRoot` or its path)."""
    return (root.root if isinstance(root, DataRoot) else Path(root)) / LOCK_FILE


def lock_holder(root: str | os.PathLike[str] | DataRoot) -> str | None:
    """The description the current (or last) holder wrote into the lock file, if any."""
    try:
        text = lock_path(root).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or None


@contextlib.contextmanager
def writer_lock(root: str | os.PathLike[str] | DataRoot, command: str) -> Iterator[None]:
    """Hold the data root's writer lock for the ``with`` block (re-entrant in one thread).

    :param root: the data root (a :class:`~python_ext.config.DataRoot` or a path); created if
        missing, since the writer is about to write into it.
    :param command: what is writing, for the message another writer gets (``"index build"``).
    :raises DataRootLockedError: another process holds the lock.
    """
    path = lock_path(root)
    key = (str(path), threading.get_ident())
    with _guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
        else:
            created = _missing_dirs(path.parent)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = lock_holder(root) or "another process"
                raise DataRootLockedError(
                    f"{path.parent} is being written by another process ({holder}); `{command}` "
                    "did not start",
                    hint="wait for it to finish and run the command again (the lock is released "
                    "when that process exits; readers such as search and catalog query are not blocked)",
                ) from None
            except BaseException:
                os.close(fd)
                raise
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            argv = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
            text = f"pid {os.getpid()}: {command} (since {stamp}; {argv})\n"
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode("utf-8", errors="replace"), 0)
            _held[key] = (fd, 1)
            _created[key] = created
    try:
        yield
    finally:
        with _guard:
            fd, depth = _held[key]
            if depth > 1:
                _held[key] = (fd, depth - 1)
            else:
                del _held[key]
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                created = _created.pop(key, [])
                with contextlib.suppress(OSError):
                    _remove_if_untouched(path, created)  # while the flock is still held
                os.close(fd)  # closing the descriptor releases the flock


def writes_data_root(
    command: str, *, when: Callable[[dict[str, Any]], bool] | None = None
) -> Callable[[F], F]:
    """Decorator: run a library function that writes a data root under :func:`writer_lock`.

    The decorated function's first argument is the data root (``DataRootLike``: a
    :class:`~python_ext.config.DataRoot`, a path, or None for the default), as everywhere.

    :param command: names the writer in the message another writer gets.
    :param when: given the keyword arguments, whether this call writes (default: always), e.g.
        ``lambda kw: kw.get("write", True)``.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if when is not None and not when(kwargs):
                return fn(*args, **kwargs)
            root = resolve_data_root(args[0] if args else kwargs.get("data_root"))
            with writer_lock(root.root, command):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
