"""The ``indexctl`` command line: one Typer app, one sub-module per command group.

Each command is a thin wrapper: it parses flags, calls one documented library function and
renders the result through :mod:`python_ext.cli._output`. Known library errors become an
``Error: …`` line on stderr and a meaningful exit code (see :mod:`python_ext.errors`);
``INDEXCTL_DEBUG=1`` shows the full traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Annotated, Any

import typer

from python_ext.cli import catalog as _catalog
from python_ext.cli import eval as _eval
from python_ext.cli import facts as _facts
from python_ext.cli import index as _index
from python_ext.cli import ingest as _ingest
from python_ext.cli import pipeline as _pipeline
from python_ext.cli import report as _report
from python_ext.cli import search as _search
from python_ext.errors import IndexctlError, IndexctlWarning

app = typer.Typer(
    name="indexctl",
    help="Build, tune, evaluate and catalog code-search indexes (codeintel catalog).",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (_ingest, _facts, _index, _search, _eval, _catalog, _report, _pipeline):
    _module.register(app)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_version_callback,
            help="Print the version of indexctl (and of DuckDB, dbt-core, FAISS, Python) and exit.",
        ),
    ] = False,
) -> None:
    """Build, tune, evaluate and catalog code-search indexes (codeintel catalog)."""


def version_text() -> str:
    """``indexctl X.Y.Z (duckdb …, dbt-core …, faiss …, python …)``; cheap (no FAISS import)."""
    from importlib import metadata

    from python_ext import __version__

    parts = []
    for label, dist in (("duckdb", "duckdb"), ("dbt-core", "dbt-core"), ("faiss", "faiss-cpu")):
        try:
            parts.append(f"{label} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            if dist == "faiss-cpu":
                with contextlib.suppress(metadata.PackageNotFoundError):
                    parts.append(f"faiss {metadata.version('faiss-gpu')}")
    parts.append(f"python {sys.version.split()[0]}")
    return f"indexctl {__version__} ({', '.join(parts)})"


def _wants_json(argv: list[str]) -> bool:
    words = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in words


def _show_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    from python_ext.cli._output import warn

    warn(str(message))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code.

    Known errors print ``Error: …`` (+ hint) on stderr and exit with their code (1 error,
    2 usage, 3 a check found problems); with ``--json`` the error is also printed on stdout as
    one JSON document ``{"error": {"type", "message", "hint", "exit_code"}}``. Usage errors
    (unknown flags, bad values) exit 2 everywhere. Library warnings
    (:class:`~python_ext.errors.IndexctlWarning`) print as ``Warning: …`` on stderr.
    """
    import click

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(args)
    with warnings.catch_warnings():
        warnings.simplefilter("always", IndexctlWarning)
        previous = warnings.showwarning
        warnings.showwarning = _show_warning  # type: ignore[assignment]
        try:
            return _invoke(args, as_json, click)
        finally:
            warnings.showwarning = previous


def _invoke(args: list[str], as_json: bool, click: Any) -> int:
    from python_ext.cli._output import error_document, print_error, print_json

    try:
        rv = app(args=args, prog_name="indexctl", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        print("Aborted.", file=sys.stderr)
        return 130
    except click.ClickException as exc:  # usage errors (exit 2) and other Click errors
        if as_json:
            print_json(error_document(exc, exc.exit_code))
        exc.show()
        return exc.exit_code
    except IndexctlError as exc:
        if os.environ.get("INDEXCTL_DEBUG"):
            raise
        print_error(exc, as_json=as_json)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            # a click-style usage error raised from command code (Typer's own copy of Click)
            if as_json:
                print_json(error_document(exc, exc.exit_code))
            exc.show()
            return int(exc.exit_code)
        if os.environ.get("INDEXCTL_DEBUG"):
            raise
        if as_json:
            print_json(error_document(exc, 1))
        print(f"Error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        print("Run again with INDEXCTL_DEBUG=1 for the full traceback.", file=sys.stderr)
        return 1
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script entry point (``indexctl``)."""
    sys.exit(main())
