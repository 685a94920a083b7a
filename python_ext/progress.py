"""Progress reporting for long library operations.

Library functions accept an optional ``progress`` argument implementing :class:`Reporter`;
they default to :data:`NULL_PROGRESS`, which does nothing, so library callers pay nothing.
The CLI passes :class:`RichReporter`, which draws rich progress bars on **stderr** (stdout
stays parseable for ``--json``).

Usage inside a library function::

    with progress.task("embedding", total=len(batches)) as advance:
        for batch in batches:
            ...
            advance(1)
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

Advance = Callable[[int], None]


class Reporter(Protocol):
    """Something that can show the progress of named tasks."""

    def task(self, description: str, total: int | None = None) -> contextlib.AbstractContextManager[Advance]:
        """Open a task; the yielded callable advances it by n units."""
        ...

    def log(self, message: str) -> None:
        """Show a one-line message (warnings, hints) without disturbing bars."""
        ...


class NullReporter:
    """A reporter that shows nothing (the library default)."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda n=1: None

    def log(self, message: str) -> None:
        return None


NULL_PROGRESS: Reporter = NullReporter()


def _rate_column() -> Any:
    """A rich column with the items per second of a task (``12.3/s``), from rich's estimate."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("      –/s", style="progress.data.speed")
            return Text(f"{speed:7.1f}/s", style="progress.data.speed")

    return RateColumn()


class RichReporter:
    """Rich progress bars on stderr; silent when ``enabled`` is False.

    Tasks opened while another is open share its display, so stages that run at the same time
    (chunking and embedding in the ingest pipeline) show one bar each, with their own rates,
    and may be advanced from other threads.
    """

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and sys.stderr is not None
        self._bar: Any = None
        self._open = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        if not self.enabled:
            yield lambda n=1: None
            return
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with self._lock:
            if self._bar is None:
                columns = [
                    SpinnerColumn(),
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    _rate_column(),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                ]
                self._bar = Progress(*columns, console=self.console, transient=False)
                self._bar.start()
            bar = self._bar
            self._open += 1
            # descriptions carry repository and file names: data, never rich markup
            task_id = bar.add_task(escape(description), total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task_id, n)

        try:
            yield advance
        finally:
            with self._lock:
                task = bar.tasks[[t.id for t in bar.tasks].index(task_id)]
                if task.total is None:  # an open-ended task ends as done
                    bar.update(task_id, total=task.completed)
                bar.stop_task(task_id)
                self._open -= 1
                if self._open == 0:
                    bar.stop()
                    self._bar = None

    def log(self, message: str) -> None:
        if self.enabled:
            self.console.print(message, highlight=False, markup=False)
