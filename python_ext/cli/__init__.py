"""The ``indexctl`` command line: one Typer app, one sub-module per command group.

Each command is a thin wrapper: it parses flags, calls one documented library function and
renders the result through :mod:`python_ext.cli._output`. Known library errors become an
``Error: …`` line on stderr and a meaningful exit code (see :mod:`python_ext.errors`);
``INDEXCTL_DEBUG=1`` shows the full traceback instead.
"""

from __future__ import annotations

import os
import sys

import typer

from python_ext.cli import catalog as _catalog
from python_ext.cli import eval as _eval
from python_ext.cli import facts as _facts
from python_ext.cli import index as _index
from python_ext.cli import ingest as _ingest
from python_ext.cli import pipeline as _pipeline
from python_ext.cli import report as _report
from python_ext.cli import search as _search
from python_ext.errors import IndexctlError

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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (known errors print ``Error: …`` and exit non-zero)."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        # standalone mode: Typer/Click print usage errors themselves and exit with code 2.
        app(args=argv, prog_name="indexctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except IndexctlError as exc:
        if os.environ.get("INDEXCTL_DEBUG"):
            raise
        from python_ext.cli._output import print_error

        print_error(exc)
        return exc.exit_code
    except Exception as exc:
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            # a click-style usage error raised from command code (plain click or Typer's copy)
            exc.show()
            return exc.exit_code
        if os.environ.get("INDEXCTL_DEBUG"):
            raise
        print(f"Error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        print("Run again with INDEXCTL_DEBUG=1 for the full traceback.", file=sys.stderr)
        return 1
    return 0


def run() -> None:
    """Console-script entry point (``indexctl``)."""
    sys.exit(main())
