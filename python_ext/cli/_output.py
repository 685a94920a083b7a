"""All CLI rendering: human tables by default, ``--json`` documents, ``--nl`` rows.

Results go to stdout; progress, warnings and errors go to stderr so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from python_ext.errors import IndexctlError
from python_ext.progress import RichReporter

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)  # error lines are never hard-wrapped


def reporter(quiet: bool = False, machine_output: bool = False) -> RichReporter:
    """The progress reporter for a command (bars on stderr unless quiet)."""
    return RichReporter(enabled=not quiet)


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def to_json(obj: Any) -> str:
    """Serialize ``obj`` as JSON (dataclasses via ``to_dict``, paths as strings)."""
    return json.dumps(obj, default=_default, ensure_ascii=False)


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(to_json(obj) + "\n")
    sys.stdout.flush()


def print_nl(rows: Iterable[Mapping[str, Any]]) -> None:
    """Print newline-delimited JSON, one row per line."""
    for row in rows:
        sys.stdout.write(to_json(row) + "\n")
    sys.stdout.flush()


def print_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print rows as a rich table on stdout (``(no rows)`` when empty)."""
    if not rows:
        stdout.print("(no rows)")
        return
    cols = list(columns or rows[0].keys())
    table = Table(title=Text(title) if title is not None else None)
    for col in cols:
        table.add_column(Text(str(col)), overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(col)) for col in cols])
    stdout.print(table)


def _cell(value: Any) -> Text:
    """One table cell as plain text: values are data (repository text, query text, SQL
    results), never rich markup, so ``[link=…]`` or ``[/b]`` print as written."""
    if value is None:
        return Text("")
    if isinstance(value, float):
        return Text(f"{value:.4f}")
    return Text(str(value))


def emit(
    rows: Sequence[Mapping[str, Any]],
    *,
    as_json: bool = False,
    as_nl: bool = False,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Render a list of rows in the chosen format (``[]`` for empty JSON)."""
    if as_json:
        print_json(list(rows))
    elif as_nl:
        print_nl(rows)
    else:
        print_table(rows, columns=columns, title=title)


def print_summary(summary: Mapping[str, Any], *, as_json: bool = False, title: str | None = None) -> None:
    """Render a key/value summary (a two-column table, or one JSON object)."""
    if as_json:
        print_json(dict(summary))
        return
    table = Table(title=Text(title) if title is not None else None, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in summary.items():
        table.add_row(
            Text(str(key)), _cell(value) if not isinstance(value, (dict, list)) else Text(to_json(value))
        )
    stdout.print(table)


def error_document(exc: BaseException, exit_code: int) -> dict[str, Any]:
    """The JSON form of an error (what ``--json`` commands print on stdout when they fail)."""
    fmt = getattr(exc, "format_message", None)  # Click errors: "Invalid value for '--keep': …"
    message = fmt() if callable(fmt) else (getattr(exc, "message", None) or str(exc))
    return {
        "error": {
            "type": type(exc).__name__,
            "message": message,
            "hint": getattr(exc, "hint", None),
            "exit_code": exit_code,
        }
    }


def print_error(exc: IndexctlError, *, as_json: bool = False) -> None:
    """Print a known error as ``Error: …`` (+ hint) on stderr; with ``as_json`` also as one
    JSON document on stdout. Messages name files, symbols and queries: printed verbatim."""
    if as_json:
        print_json(error_document(exc, exc.exit_code))
    stderr.print(f"[bold red]Error:[/] {escape(exc.message)}", highlight=False)
    if exc.hint:
        stderr.print(Text(f"Hint: {exc.hint}"), highlight=False)
    stderr.print("Run again with INDEXCTL_DEBUG=1 for the full traceback.", style="dim", highlight=False)


def warn(message: str) -> None:
    """Print a warning on stderr (the message is printed verbatim, never as markup)."""
    stderr.print(f"[yellow]Warning:[/] {escape(message)}", highlight=False)
