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
from collections.abc import Callable, Iterator
from typing import Protocol

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


class RichReporter:
    """Rich progress bars on stderr; silent when ``enabled`` is False."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and sys.stderr is not None

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

        columns = [
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=self.console, transient=False) as bar:
            # descriptions carry repository and file names: data, never rich markup
            task_id = bar.add_task(escape(description), total=total)

            def advance(n: int = 1) -> None:
                bar.advance(task_id, n)

            yield advance

    def log(self, message: str) -> None:
        if self.enabled:
            self.console.print(message, highlight=False, markup=False)
